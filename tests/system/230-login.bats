#!/usr/bin/env bats
# rl login / logout and authenticated pulls (issue 3): the TLS registry with
# htpasswd basic auth (its CA is in the system store, as a site CA would
# be), credentials in ${XDG_RUNTIME_DIR}/containers/auth.json (Podman's
# file, mode 0600) or ~/.docker/config.json, bearer tokens cached per scope,
# no credentials after a redirect to another host, and https_proxy.
#
# The suite runs without XDG_RUNTIME_DIR; every test here makes a private one.

# bats' run sets status, output, lines, stderr and stderr_lines.
# shellcheck disable=SC2154

load helpers

setup_file() {
	rl_setup_file
	need_registries
	rl_prime_store
}

setup() {
	private_runtime_dir
	rl rmi -af >/dev/null 2>&1 || true
	AUTH="$XDG_RUNTIME_DIR/containers/auth.json"
	PRIVATE="$RL_TEST_TLS_REGISTRY/rl-test/busybox"
}

# login_ok: log in to the TLS registry with the right password.
login_ok() {
	run_rl login -u "$RL_TEST_REGISTRY_USER" --password-stdin "$RL_TEST_TLS_REGISTRY" <<<"$RL_TEST_REGISTRY_PASSWORD"
	assert_status 0
}

# auth_entry FILE KEY: the decoded user:password of auths[KEY] in FILE.
auth_entry() {
	python3 -c '
import base64, json, sys
print(base64.b64decode(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"]).decode())' "$1" "$2"
}

@test "a private image needs a login: refused without, one line naming the registry" {
	store_snapshot "$BATS_TEST_TMPDIR/before"
	run_rl pull "$PRIVATE"
	assert_one_line_error
	assert_match "$RL_TEST_TLS_REGISTRY" "$stderr"
	assert_match "[Aa]uth|[Uu]nauthori[sz]ed|credentials|login" "$stderr"
	assert_store_unchanged "$BATS_TEST_TMPDIR/before"
}

@test "login writes auth.json (0600, Podman's format); the pull works over TLS with the system CA" {
	login_ok
	[ -f "$AUTH" ] || fail "no $AUTH"
	[ "$(stat -c %a "$AUTH")" = 600 ] || fail "$AUTH has mode $(stat -c %a "$AUTH"), want 600"
	run auth_entry "$AUTH" "$RL_TEST_TLS_REGISTRY"
	assert_output "$RL_TEST_REGISTRY_USER:$RL_TEST_REGISTRY_PASSWORD"
	run_rl pull -q "$PRIVATE"
	assert_status 0
	assert_id
	run_rl run --rm "$PRIVATE" cat /etc/rl-fixture
	assert_output "rl-test-busybox"
}

@test "login with a wrong password: one line, exit 125, nothing saved" {
	run_rl login -u "$RL_TEST_REGISTRY_USER" --password-stdin "$RL_TEST_TLS_REGISTRY" <<<"wrong-password"
	assert_one_line_error
	assert_match "$RL_TEST_TLS_REGISTRY" "$stderr"
	if [ -f "$AUTH" ]; then
		run python3 -c 'import json,sys; print(sys.argv[2] in json.load(open(sys.argv[1])).get("auths", {}))' "$AUTH" "$RL_TEST_TLS_REGISTRY"
		assert_output "False"
	fi
	# A user that does not exist, likewise.
	run_rl login -u nobody-here --password-stdin "$RL_TEST_TLS_REGISTRY" <<<"x"
	assert_one_line_error
}

@test "login keeps other entries of auth.json; logout removes only its own; logout --all empties it" {
	mkdir -p "$(dirname "$AUTH")"
	printf '{"auths":{"other.example:5000":{"auth":"%s"}},"credHelpers":{}}\n' "$(printf 'a:b' | base64)" >"$AUTH"
	chmod 0600 "$AUTH"
	login_ok
	run auth_entry "$AUTH" other.example:5000
	assert_output "a:b"
	run python3 -c 'import json,sys; print("credHelpers" in json.load(open(sys.argv[1])))' "$AUTH"
	assert_output "True"
	run_rl logout "$RL_TEST_TLS_REGISTRY"
	assert_status 0
	run python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))["auths"]))' "$AUTH"
	assert_output "['other.example:5000']"
	run_rl pull "$PRIVATE"
	assert_one_line_error
	# Logging out where not logged in is an error, as in Podman.
	run_rl logout "$RL_TEST_TLS_REGISTRY"
	assert_rl_error
	run_rl logout --all
	assert_status 0
	run python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("auths", {}))' "$AUTH"
	assert_output "{}"
}

@test "credentials from ~/.docker/config.json are used" {
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME/.docker"
	printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$RL_TEST_TLS_REGISTRY" \
		"$(printf '%s:%s' "$RL_TEST_REGISTRY_USER" "$RL_TEST_REGISTRY_PASSWORD" | base64 -w0)" >"$HOME/.docker/config.json"
	[ ! -e "$AUTH" ] || fail "auth.json exists already"
	run_rl pull -q "$PRIVATE"
	assert_status 0
	assert_id
}

@test "a corrupt auth.json is an error naming it" {
	mkdir -p "$(dirname "$AUTH")"
	echo '{"auths": {' >"$AUTH"
	run_rl pull "$PRIVATE"
	assert_one_line_error
	assert_match "auth\.json" "$stderr"
}

@test "login to a plain-HTTP registry needs --tls-verify=false" {
	run_rl login -u "$RL_TEST_REGISTRY_USER" --password-stdin "$RL_TEST_BAD_REGISTRY" <<<"$RL_TEST_REGISTRY_PASSWORD"
	assert_one_line_error
	run_rl login --tls-verify=false -u "$RL_TEST_REGISTRY_USER" --password-stdin "$RL_TEST_BAD_REGISTRY" <<<"$RL_TEST_REGISTRY_PASSWORD"
	assert_status 0
}

@test "basic auth: credentials are not sent to another host after a redirect" {
	bad_ns_new
	run_rl login --tls-verify=false -u "$RL_TEST_REGISTRY_USER" --password-stdin "$RL_TEST_BAD_REGISTRY" <<<"$RL_TEST_REGISTRY_PASSWORD"
	assert_status 0
	# private/busybox redirects every blob to localhost:PORT (another host
	# name), which counts requests that carry an Authorization header.
	run_rl pull -q --tls-verify=false "$(bad_ref private/busybox)"
	assert_status 0
	run bad_count /_redirect/
	assert_output "2"
	run bad_count auth:/_redirect/
	assert_output "0"
}

@test "bearer tokens: fetched from the realm, once per scope for the whole pull" {
	bad_ns_new
	run_rl pull -q --tls-verify=false "$(bad_ref token/busybox)"
	assert_status 0
	assert_id
	run bad_count "/_token?"
	assert_output "1"
}

@test "https_proxy is honoured (CONNECT through it), no_proxy bypasses it" {
	login_ok
	local before
	before=$(bad_stats "s['connects']")
	run env https_proxy="http://$RL_TEST_BAD_REGISTRY" "$RL" pull -q "$PRIVATE"
	assert_status 0
	run bad_stats "s['connects'] > $before"
	assert_output "True"
	rl rmi -af >/dev/null
	# A proxy that refuses everything, bypassed by no_proxy.
	run env https_proxy=http://127.0.0.1:1 no_proxy=127.0.0.1 "$RL" pull -q "$PRIVATE"
	assert_status 0
	# And without no_proxy that proxy is really used: the pull fails.
	rl rmi -af >/dev/null
	run --separate-stderr env https_proxy=http://127.0.0.1:1 "$RL" pull -q "$PRIVATE"
	assert_one_line_error
}

@test "--tls-verify=false on the TLS registry still sends the credentials and works" {
	login_ok
	run_rl pull -q --tls-verify=false "$PRIVATE"
	assert_status 0
}
