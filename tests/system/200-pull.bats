#!/usr/bin/env bats
# rl pull from the loopback registries (issue 3): each seeded fixture
# (one layer, whiteouts, an index with two platforms, zstd, uncompressed,
# Docker v2s2), digests, -q and the one progress line, layer sharing,
# retries, run --pull=never|missing|always, and malformed references
# refused before any network traffic.
#
# The plain registry speaks HTTP, which rl only uses with --tls-verify=false
# (or rl.conf, see 240-config.bats): every pull here says so.

# bats' run sets status, output, lines, stderr and stderr_lines.
# shellcheck disable=SC2154

load helpers

setup_file() {
	rl_setup_file
	need_registries
	# The first command with a store says which id map it uses; get that
	# line out of the way so stderr below is the pull's alone.
	rl_prime_store
}

setup() {
	rl rm -af >/dev/null 2>&1 || true
	rl rmi -af >/dev/null 2>&1 || true
}

# inspect_field IMAGE PYEXPR: evaluate PYEXPR on the single inspect object `i`.
inspect_field() {
	rl image inspect "$1" | python3 -c '
import json, sys
i = json.load(sys.stdin)[0]
print(eval(sys.argv[1]))' "$2"
}

# platform_config LAYOUT ARCH: the config digest (= image id) of ARCH's
# manifest in the index LAYOUT.
platform_config() {
	python3 - "$RL_TEST_OCI/$1" "$2" <<'PY'
import json, os, sys
lay, arch = sys.argv[1], sys.argv[2]
blob = lambda d: json.load(open(os.path.join(lay, "blobs", d.replace(":", "/"))))
index = blob(json.load(open(os.path.join(lay, "index.json")))["manifests"][0]["digest"])
for m in index["manifests"]:
    if m["platform"]["architecture"] == arch:
        print(blob(m["digest"])["config"]["digest"])
PY
}

# With a fresh store (for layers that must really be downloaded).
fresh_store() {
	export XDG_DATA_HOME="$BATS_TEST_TMPDIR/data"
	mkdir -p "$XDG_DATA_HOME"
	rl_prime_store
}

teardown() {
	# Per-test stores hold layers owned by subordinate ids: rl removes them.
	if [ "$XDG_DATA_HOME" = "$BATS_TEST_TMPDIR/data" ]; then
		rl rmi -af >/dev/null 2>&1 || true
	fi
}

@test "pull: the id on stdout, one progress line on stderr (not a terminal), then listed and run" {
	run_rl pull --tls-verify=false "$(reg busybox)"
	assert_status 0
	assert_id
	local id=${output#sha256:}
	# The image id is the config's digest, as for every OCI tool.
	[ "sha256:$id" = "$(oci_digest busybox config)" ] || fail "id $id is not the config digest $(oci_digest busybox config)"
	[ "${#stderr_lines[@]}" -eq 1 ] || { show; fail "want exactly one progress line on stderr when not a terminal"; }

	run_rl images
	assert_status 0
	assert_match "(^|"$'\n'")$RL_TEST_REGISTRY/rl-test/busybox +latest +${id:0:12} "
	run_rl run --rm "$(reg busybox)" cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
}

@test "on a terminal: progress per layer, naming each layer" {
	fresh_store
	run_pty --timeout 30 -- "$RL" pull --tls-verify=false "$(reg multi)"
	assert_status 0
	local i d
	for i in 0 1 2; do
		d=$(oci_digest multi "layer$i")
		d=${d#sha256:}
		[[ $output == *"${d:0:12}"* ]] || { show; fail "layer ${d:0:12} not in the terminal output"; }
	done
}

@test "pull -q prints only the id, nothing on stderr" {
	run_rl pull -q --tls-verify=false "$(reg busybox):1.0"
	assert_status 0
	assert_id
	[ "${output#sha256:}" = "$(oci_digest busybox config | cut -d: -f2)" ] || fail "wrong id"
	[ -z "$stderr" ] || { show; fail "pull -q must print nothing on stderr"; }
}

@test "pull by digest: NAME@sha256:... and NAME:TAG@sha256:..." {
	local digest
	digest=$(oci_digest busybox manifest)
	run_rl pull -q --tls-verify=false "$(reg busybox)@$digest"
	assert_status 0
	assert_id
	run_rl pull -q --tls-verify=false "$(reg busybox):1.0@$digest"
	assert_status 0
	assert_id
	run_rl run --rm "$(reg busybox)@$digest" cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
	run inspect_field "$(reg busybox)@$digest" '"'"$(reg busybox)@$digest"'" in i["RepoDigests"]'
	assert_output "True"
}

@test "pull of a digest the registry does not have: one line, exit 125, store unchanged" {
	store_snapshot "$BATS_TEST_TMPDIR/before"
	run_rl pull --tls-verify=false "$(reg busybox)@sha256:$(printf '0%.0s' {1..64})"
	assert_one_line_error
	assert_match "$RL_TEST_REGISTRY" "$stderr"
	assert_store_unchanged "$BATS_TEST_TMPDIR/before"
}

@test "pull of a missing repository or tag names it; exit 125" {
	run_rl pull --tls-verify=false "$RL_TEST_REGISTRY/rl-test/no-such-image"
	assert_one_line_error
	assert_match "rl-test/no-such-image" "$stderr"
	run_rl pull --tls-verify=false "$(reg busybox):no-such-tag"
	assert_one_line_error
	assert_match "no-such-tag" "$stderr"
}

@test "plain HTTP only with --tls-verify=false (or rl.conf): the default refuses it" {
	store_snapshot "$BATS_TEST_TMPDIR/before"
	run_rl pull "$(reg busybox)"
	assert_one_line_error
	assert_match "$RL_TEST_REGISTRY" "$stderr"
	assert_store_unchanged "$BATS_TEST_TMPDIR/before"
	# --tls-verify=true is the default, said explicitly.
	run_rl pull --tls-verify=true "$(reg busybox)"
	assert_one_line_error
}

@test "multi-layer image: whiteouts delete base files, opaque dirs hide lower contents (every driver)" {
	run_rl pull -q --tls-verify=false "$(reg multi)"
	assert_status 0
	run inspect_field "$(reg multi)" 'len(i["RootFS"]["Layers"])'
	assert_output "3"
	local driver
	for driver in overlay fuse-overlayfs vfs; do
		run_rl --storage-driver "$driver" run --rm "$(reg multi)" sh -c \
			'cat /etc/rl-layer2; ls -A /opt/data; ls -A /opt; test -e /etc/rl-fixture && echo present || echo absent; test -e /opt/gone && echo gone-present || echo gone-absent'
		assert_status 0
		# ls -A: no whiteout or opaque marker is visible either.
		assert_output "layer2
c
data
keep
absent
gone-absent"
	done
}

@test "an OCI index: the host's platform by default" {
	local arch
	arch=$(host_arch)
	run_rl pull -q --tls-verify=false "$(reg index)"
	assert_status 0
	assert_id
	[ "${output#sha256:}" = "$(platform_config index "$arch" | cut -d: -f2)" ] || fail "not the $arch image"
	run_rl run --rm "$(reg index)" cat /etc/rl-platform
	assert_status 0
	assert_output "$arch"
	run inspect_field "$(reg index)" 'i["Os"] + "/" + i["Architecture"]'
	assert_output "linux/$arch"
}

@test "--platform picks the other manifest of an OCI index and of a Docker manifest list" {
	local other=arm64
	[ "$(host_arch)" = arm64 ] && other=amd64
	local repo
	for repo in index index-v2s2; do
		run_rl pull -q --tls-verify=false --platform "linux/$other" "$(reg "$repo")"
		assert_status 0
		assert_id
		[ "${output#sha256:}" = "$(platform_config index "$other" | cut -d: -f2)" ] ||
			fail "$repo: not the $other image"
		run inspect_field "$(reg "$repo")" 'i["Architecture"]'
		assert_output "$other"
	done
	# The marker layer says which one was unpacked (the binaries are the
	# host's either way, so it runs).
	run_rl run --rm "$(reg index)" cat /etc/rl-platform
	assert_status 0
	assert_output "$other"
}

@test "--platform with no match: one line listing the platforms there are; nothing stored" {
	store_snapshot "$BATS_TEST_TMPDIR/before"
	run_rl pull --tls-verify=false --platform linux/s390x "$(reg index)"
	assert_one_line_error
	assert_match "linux/s390x" "$stderr"
	assert_match "linux/amd64" "$stderr"
	assert_match "linux/arm64" "$stderr"
	assert_store_unchanged "$BATS_TEST_TMPDIR/before"
	# A malformed platform is refused as such.
	run_rl pull --tls-verify=false --platform 'linux' "$(reg index)"
	assert_one_line_error
}

@test "a Docker v2 schema 2 image" {
	run_rl pull -q --tls-verify=false "$(reg busybox-v2s2)"
	assert_status 0
	assert_id
	run_rl run --rm "$(reg busybox-v2s2)" cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
}

@test "a zstd layer and an uncompressed layer: same diff_id as the busybox tar" {
	fresh_store
	local img
	for img in zstd plain; do
		run_rl pull -q --tls-verify=false "$(reg $img)"
		assert_status 0
		run inspect_field "$(reg $img)" 'i["RootFS"]["Layers"]'
		assert_output "['$(busybox_diff_id)']"
		run_rl run --rm "$(reg $img)" cat /etc/rl-fixture
		assert_status 0
		assert_output "rl-test-busybox"
		rl rmi -af >/dev/null
	done
}

@test "layer sharing: an image with the same base downloads only its new layer; a second pull downloads nothing" {
	fresh_store
	bad_ns_new
	local base
	base=$(oci_digest busybox layer0)
	run_rl pull -q --tls-verify=false "$(bad_ref good/busybox)"
	assert_status 0
	run_rl pull -q --tls-verify=false "$(bad_ref good/second)"
	assert_status 0
	run bad_count "/blobs/$base"
	assert_output "1"
	# Both run, and second has its own layer.
	run_rl run --rm "$(bad_ref good/second)" cat /etc/rl-fixture /etc/rl-second
	assert_status 0
	assert_output "rl-test-busybox
second"
	# Pulling again: the manifest is asked for, no layer is fetched.
	bad_ns_new
	run_rl pull -q --tls-verify=false "$(bad_ref good/second)"
	assert_status 0
	run bad_count /manifests/latest
	assert_output "1"
	run bad_count "/blobs/$base"
	assert_output "0"
	run bad_count "/blobs/$(oci_digest second layer1)"
	assert_output "0"
}

@test "layers are downloaded in parallel" {
	fresh_store
	bad_ns_new
	# slow/ sends each blob in pieces: multi's three layers overlap in time
	# only when they are fetched at once.
	run_rl pull -q --tls-verify=false "$(bad_ref slow/multi)"
	assert_status 0
	run bad_count maxinflight:
	[ "$output" -ge 2 ] || fail "at most $output blob(s) were downloaded at a time"
}

@test "pull -a/--all-tags pulls every tag of the repository" {
	run_rl pull -q --tls-verify=false --all-tags "$(reg busybox)"
	assert_status 0
	run_rl images
	assert_status 0
	assert_match "(^|"$'\n'")$RL_TEST_REGISTRY/rl-test/busybox +latest "
	assert_match "(^|"$'\n'")$RL_TEST_REGISTRY/rl-test/busybox +1\.0 "
	rl rmi -af >/dev/null
	run_rl pull -q --tls-verify=false -a "$(reg busybox)"
	assert_status 0
	run_rl image exists "$(reg busybox):1.0"
	assert_status 0
	# A tag with --all-tags is a contradiction.
	run_rl pull --tls-verify=false -a "$(reg busybox):1.0"
	assert_one_line_error
}

@test "transient 5xx answers are retried: the pull succeeds" {
	fresh_store
	bad_ns_new
	run_rl pull -q --tls-verify=false "$(bad_ref flaky/busybox)"
	assert_status 0
	assert_id
	# The manifest failed once, each blob twice: all asked for again.
	run bad_count /manifests/latest
	[ "$output" -ge 2 ] || fail "the manifest was asked for $output times"
	run bad_count "/blobs/$(oci_digest busybox layer0)"
	assert_output "3"
	run_rl run --rm "$(bad_ref flaky/busybox)" cat /etc/rl-fixture
	assert_output "rl-test-busybox"
}

@test "run --pull=never: a missing image fails with no traffic" {
	bad_ns_new
	run_rl run --rm --pull=never --tls-verify=false "$(bad_ref good/busybox)" true
	assert_rl_error
	run bad_count /v2/
	assert_output "0"
}

@test "run --pull=missing (the default) pulls once; --pull=always asks the registry again" {
	fresh_store
	bad_ns_new
	local img layer
	img=$(bad_ref good/busybox)
	layer=/blobs/$(oci_digest busybox layer0)
	run_rl run --rm --tls-verify=false "$img" cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
	run bad_count /manifests/latest
	assert_output "1"
	run_rl run --rm --pull=missing --tls-verify=false "$img" true
	assert_status 0
	run_rl run --rm --tls-verify=false "$img" true
	assert_status 0
	run bad_count /manifests/latest
	assert_output "1"
	run_rl run --rm --pull=never "$img" true
	assert_status 0
	run_rl run --rm --pull=always --tls-verify=false "$img" cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
	# HEAD or GET: the registry was asked again, but the layer was fetched once.
	run bad_count /manifests/latest
	[ "$output" -ge 2 ] || fail "--pull=always did not ask the registry"
	run bad_count "$layer"
	assert_output "1"
	run_rl run --rm --pull=sometimes "$img" true
	assert_rl_error
}

@test "malformed references are refused with the reason, before any network traffic" {
	bad_ns_new
	local before
	before=$(bad_stats "s['proxied'] + s['connects']")
	local long
	long=$(printf 'a%.0s' {1..256})
	local ref
	# Every one names the bad registry or goes through it as a proxy, so any
	# request at all would show in its counters.
	local b="$RL_TEST_BAD_REGISTRY/$BAD_NS"
	for ref in "$b/Upper/case" "$b/a//b" "$b/x:" "$b/x:bad/tag" "$b/x@sha256:abc" \
		"$b/x:t@sha256:$(printf 'z%.0s' {1..64})" "$b/x@md5:d41d8cd98f00b204e9800998ecf8427e" \
		"$b/-x" "$b/x_/y" "$b/$long" \
		":tag" "Upper" "a b" "x:$(printf 't%.0s' {1..129})" ""; do
		run --separate-stderr env http_proxy="http://$RL_TEST_BAD_REGISTRY" \
			https_proxy="http://$RL_TEST_BAD_REGISTRY" HTTPS_PROXY="http://$RL_TEST_BAD_REGISTRY" \
			"$RL" pull --tls-verify=false "$ref"
		assert_one_line_error
		[ -z "$ref" ] || [[ $stderr == *"$ref"* ]] || [[ $ref == *"$long"* ]] ||
			{ show; fail "the error must quote the reference \`$ref\`"; }
	done
	run bad_count /
	assert_output "0"
	# Nothing went through the proxy either (others may use it meanwhile,
	# which can only hide a failure, never make one).
	run bad_stats "s['proxied'] + s['connects']"
	assert_output "$before"
}

@test "a registry that does not answer: one line naming it, exit 125, in bounded time" {
	store_snapshot "$BATS_TEST_TMPDIR/before"
	# Port 1 on loopback: connection refused, every time.
	run_rl pull --tls-verify=false 127.0.0.1:1/rl-test/busybox
	assert_one_line_error
	assert_match "127\.0\.0\.1:1" "$stderr"
	assert_store_unchanged "$BATS_TEST_TMPDIR/before"
}

@test "pulled images are named by their full reference; inspect shows RepoTags and RepoDigests" {
	run_rl pull -q --tls-verify=false "$(reg busybox)"
	assert_status 0
	run inspect_field "$(reg busybox)" 'i["RepoTags"]'
	assert_output "['$(reg busybox):latest']"
	run inspect_field "$(reg busybox)" 'i["RepoDigests"]'
	assert_output "['$(reg busybox)@$(oci_digest busybox manifest)']"
}
