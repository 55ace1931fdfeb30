#!/usr/bin/env bats
# rl.conf (issue 3, format in rl.conf(5)): search registries for short
# names, aliases, mirrors tried in order and then the registry, plain HTTP
# only for registries named insecure, the default platform; the file at
# $XDG_CONFIG_HOME/rl/rl.conf, RL_CONFIG or --config; strict parsing.
# Together with the mirror for docker.io this covers every form of the
# reference grammar offline: alpine, alpine:tag, library/alpine,
# docker.io/library/alpine, host:port/ns/name:tag, name@sha256:...

# bats' run sets status, output, lines, stderr and stderr_lines.
# shellcheck disable=SC2154

load helpers

setup_file() {
	rl_setup_file
	need_registries
	rl_prime_store
}

setup() {
	rl rmi -af >/dev/null 2>&1 || true
	CONF="$XDG_CONFIG_HOME/rl/rl.conf"
	mkdir -p "$(dirname "$CONF")"
	rm -f "$CONF"
	unset RL_CONFIG
	bad_ns_new
}

# bad_path_count PATH: how often the bad registry saw PATH, in any namespace
# or none (for names rl.conf makes, which cannot carry a test's namespace;
# compare before and after: others can only add).
bad_path_count() {
	bad_stats "s['requests'].get('$1', 0)"
}

teardown() {
	rm -f "$CONF"
}

# conf TEXT...: write the user's rl.conf, one line per argument.
conf() {
	printf '%s\n' "$@" >"$CONF"
}

# insecure HOST...: the lines that allow plain HTTP to each HOST.
insecure() {
	local h
	for h in "$@"; do
		printf '[registry "%s"]\ninsecure = true\n' "$h"
	done
}

# repos: the REPOSITORY:TAG of every image, sorted.
repos() {
	rl images | awk 'NR > 1 { print $1 ":" $2 }' | sort
}

@test "short names use the search registries: NAME, NAME:TAG, NS/NAME:TAG, NAME@DIGEST" {
	conf "[registries]" "search = $RL_TEST_REGISTRY" "$(insecure "$RL_TEST_REGISTRY")"
	run_rl pull -q busybox
	assert_status 0
	assert_id
	run_rl pull -q busybox:latest
	assert_status 0
	run_rl pull -q rl-test/busybox:1.0
	assert_status 0
	run_rl pull -q "rl-test/busybox@$(oci_digest busybox manifest)"
	assert_status 0
	run repos
	assert_line "$RL_TEST_REGISTRY/busybox:latest"
	assert_line "$RL_TEST_REGISTRY/rl-test/busybox:1.0"
	# The short name now finds the local image: no traffic for run.
	run_rl run --rm --pull=never busybox cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
}

@test "search registries are tried in order: a registry without the image is passed over" {
	conf "[registries]" "search = $RL_TEST_BAD_REGISTRY, $RL_TEST_REGISTRY" \
		"$(insecure "$RL_TEST_BAD_REGISTRY" "$RL_TEST_REGISTRY")"
	local before
	before=$(bad_path_count /v2/busybox/manifests/latest)
	run_rl pull -q busybox
	assert_status 0
	run bad_path_count /v2/busybox/manifests/latest
	[ "$output" -gt "$before" ] || fail "the first search registry was not asked"
	run repos
	assert_output "$RL_TEST_REGISTRY/busybox:latest"
	# Not found anywhere: one line that names what was tried.
	run_rl pull -q no-such-image
	assert_one_line_error
	assert_match "no-such-image" "$stderr"
}

@test "aliases: the alias's registry and path, the given tag winning" {
	conf "[aliases]" "mybox = $RL_TEST_REGISTRY/rl-test/busybox" "$(insecure "$RL_TEST_REGISTRY")"
	run_rl pull -q mybox
	assert_status 0
	run_rl pull -q mybox:1.0
	assert_status 0
	run repos
	assert_output "$RL_TEST_REGISTRY/rl-test/busybox:1.0
$RL_TEST_REGISTRY/rl-test/busybox:latest"
}

@test "a mirror for docker.io: alpine-style short names pull offline (busybox, library/busybox, docker.io/library/busybox)" {
	conf "[registry \"docker.io\"]" "mirrors = $RL_TEST_REGISTRY" "$(insecure "$RL_TEST_REGISTRY")"
	local ref
	for ref in busybox busybox:latest library/busybox docker.io/library/busybox docker.io/library/busybox:latest \
		index.docker.io/library/busybox; do
		run_rl pull -q "$ref"
		assert_status 0
		assert_id
	done
	run repos
	assert_output "docker.io/library/busybox:latest"
}

@test "mirrors are tried in order, then the registry itself" {
	# registry.invalid never resolves: the image can only come from a mirror.
	conf "[registry \"registry.invalid\"]" "mirrors = 127.0.0.1:1, $RL_TEST_BAD_REGISTRY, $RL_TEST_REGISTRY" \
		"$(insecure 127.0.0.1:1 "$RL_TEST_BAD_REGISTRY" "$RL_TEST_REGISTRY")"
	local before
	before=$(bad_path_count /v2/library/busybox/manifests/latest)
	run_rl pull -q registry.invalid/library/busybox
	assert_status 0
	run bad_path_count /v2/library/busybox/manifests/latest
	[ "$output" -gt "$before" ] || fail "the second mirror was not asked"
	run repos
	assert_output "registry.invalid/library/busybox:latest"

	# Mirrors that fail: the registry itself is the last resort.
	rl rmi -af >/dev/null
	conf "[registry \"$RL_TEST_REGISTRY\"]" "mirrors = 127.0.0.1:1, $RL_TEST_BAD_REGISTRY" "insecure = true" \
		"$(insecure 127.0.0.1:1 "$RL_TEST_BAD_REGISTRY")"
	before=$(bad_path_count /v2/rl-test/multi/manifests/latest)
	run_rl pull -q "$(reg multi)"
	assert_status 0
	run bad_path_count /v2/rl-test/multi/manifests/latest
	[ "$output" -gt "$before" ] || fail "the second mirror was not asked"
	run repos
	assert_output "$(reg multi):latest"
}

@test "plain HTTP only for the registries rl.conf names insecure" {
	conf "$(insecure "$RL_TEST_REGISTRY")"
	run_rl pull -q "$(reg busybox)"
	assert_status 0
	run_rl pull -q "$(bad_ref good/busybox)"
	assert_one_line_error
	assert_match "$RL_TEST_BAD_REGISTRY" "$stderr"
	# insecure = false is the default, said explicitly.
	conf "[registry \"$RL_TEST_REGISTRY\"]" "insecure = false"
	run_rl pull -q "$(reg second)"
	assert_one_line_error
}

@test "RL_CONFIG and --config name another file, which replaces the user's" {
	conf "[registries]" "search = $RL_TEST_BAD_REGISTRY"
	local other="$BATS_TEST_TMPDIR/other.conf"
	printf '%s\n' "[registries]" "search = $RL_TEST_REGISTRY" "$(insecure "$RL_TEST_REGISTRY")" >"$other"
	run env RL_CONFIG="$other" "$RL" pull -q rl-test/busybox
	assert_status 0
	run_rl --config "$other" pull -q rl-test/second
	assert_status 0
	run repos
	assert_output "$RL_TEST_REGISTRY/rl-test/busybox:latest
$RL_TEST_REGISTRY/rl-test/second:latest"
	# A file named explicitly must exist.
	run_rl --config "$BATS_TEST_TMPDIR/missing.conf" pull -q rl-test/busybox
	assert_one_line_error
	assert_match "missing\.conf" "$stderr"
	run --separate-stderr env RL_CONFIG="$BATS_TEST_TMPDIR/missing.conf" "$RL" pull -q rl-test/busybox
	assert_one_line_error
}

@test "[platform] default picks the platform of an index" {
	local other=arm64
	[ "$(host_arch)" = arm64 ] && other=amd64
	conf "[platform]" "default = linux/$other" "$(insecure "$RL_TEST_REGISTRY")"
	run_rl pull -q "$(reg index)"
	assert_status 0
	run bash -c "'$RL' image inspect '$(reg index)' | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"Architecture\"])'"
	assert_output "$other"
	# --platform wins over the file.
	rl rmi -af >/dev/null
	run_rl pull -q --platform "linux/$(host_arch)" "$(reg index)"
	assert_status 0
	run_rl run --rm "$(reg index)" cat /etc/rl-platform
	assert_output "$(host_arch)"
}

@test "a bad rl.conf is one line naming FILE:LINE, for every command that reads it" {
	conf "[registries]" "search = $RL_TEST_REGISTRY" "colour = blue"
	run_rl pull -q busybox
	assert_one_line_error
	assert_match "rl\.conf:3" "$stderr"
	conf "[nonsense]"
	run_rl pull -q busybox
	assert_one_line_error
	assert_match "rl\.conf:1" "$stderr"
	conf "[registry \"docker.io\"]" "insecure = maybe"
	run_rl pull -q busybox
	assert_one_line_error
	assert_match "rl\.conf:2" "$stderr"
	conf "[aliases]" "mybox = busybox"
	run_rl pull -q mybox
	assert_one_line_error
	assert_match "rl\.conf:2" "$stderr"
}

@test "the system-wide /etc/rl/rl.conf is read; the user's file wins key by key" {
	need_mode root
	[ ! -e /etc/rl/rl.conf ] || skip "/etc/rl/rl.conf exists on this machine; not touching it"
	mkdir -p /etc/rl
	printf '%s\n' "[registries]" "search = $RL_TEST_BAD_REGISTRY" "[aliases]" "sysbox = $RL_TEST_REGISTRY/rl-test/second" \
		"$(insecure "$RL_TEST_REGISTRY")" >/etc/rl/rl.conf
	conf "[registries]" "search = $RL_TEST_REGISTRY"
	run_rl pull -q sysbox
	local s1=$status
	run_rl pull -q rl-test/busybox
	local s2=$status
	rm -f /etc/rl/rl.conf
	rmdir /etc/rl 2>/dev/null || true
	[ "$s1" -eq 0 ] || fail "the system file's alias was not used"
	[ "$s2" -eq 0 ] || fail "the user's search did not replace the system's"
	run repos
	assert_output "$RL_TEST_REGISTRY/rl-test/busybox:latest
$RL_TEST_REGISTRY/rl-test/second:latest"
}

@test "http_proxy is honoured for plain-HTTP registries; no_proxy bypasses it" {
	# The bad registry is its own proxy here: what it forwards is counted
	# under proxied:URL, in this test's namespace.
	run env http_proxy="http://$RL_TEST_BAD_REGISTRY" "$RL" pull -q --tls-verify=false "$(bad_ref good/busybox)"
	assert_status 0
	run bad_count proxied:http:// /manifests/
	[ "$output" -ge 1 ] || fail "nothing went through the proxy"
	rl rmi -af >/dev/null
	run env http_proxy=http://127.0.0.1:1 no_proxy=127.0.0.1 "$RL" pull -q --tls-verify=false "$(reg busybox)"
	assert_status 0
}
