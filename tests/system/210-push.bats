#!/usr/bin/env bats
# rl push (issue 3): to the plain registry under this user's own
# repositories, read back by skopeo (an independent client), by podman where
# it runs for this user, and by rl itself into a fresh store; --format
# oci|v2s2; blobs the registry has are not uploaded again; the TLS registry
# needs a login.

# bats' run sets status, output, lines, stderr and stderr_lines.
# shellcheck disable=SC2154

load helpers

setup_file() {
	rl_setup_file
	need_registries
	rl_prime_store
	import_busybox bb >/dev/null
	podman_setup
}

teardown_file() {
	podman_teardown
	rl_teardown_file
}

teardown() {
	if [ "$XDG_DATA_HOME" = "$BATS_TEST_TMPDIR/data" ]; then
		rl rmi -af >/dev/null 2>&1 || true
	fi
}

# skopeo_json ARGS... PYEXPR: evaluate PYEXPR on `d`, the JSON skopeo
# inspect ARGS prints.
skopeo_json() {
	local expr=${*: -1}
	skopeo inspect "${@:1:$#-1}" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$expr"
}

# log_count REGEX: lines of the plain registry's access log matching REGEX.
log_count() {
	grep -cE -- "$1" "$RL_TEST_REGISTRY_LOG" || true
}

# decompress FILE: a layer blob (gzip, zstd or plain tar) on stdout.
decompress() {
	case "$(head -c 4 "$1" | od -An -tx1 | tr -d ' ')" in
	1f8b*) gzip -dc <"$1" ;;
	28b52ffd) zstd -dcq <"$1" ;;
	*) cat "$1" ;;
	esac
}

fresh_store() {
	export XDG_DATA_HOME="$BATS_TEST_TMPDIR/data"
	mkdir -p "$XDG_DATA_HOME"
	rl_prime_store
}

@test "push an imported image; skopeo reads it: the layer's diff_id and the config" {
	local dest
	dest=$(user_repo bb):v1
	run_rl push --tls-verify=false bb "$dest"
	assert_status 0
	run skopeo_json --tls-verify=false "docker://$dest" 'len(d["Layers"]), d["Os"], d["Architecture"]'
	assert_status 0
	assert_output "(1, 'linux', '$(host_arch)')"
	run skopeo_json --tls-verify=false --config "docker://$dest" 'd["rootfs"]["diff_ids"]'
	assert_output "['$(busybox_diff_id)']"
	# skopeo copies it out, and the layer holds the busybox tree.
	skopeo copy --quiet --src-tls-verify=false "docker://$dest" "oci:$BATS_TEST_TMPDIR/out:x"
	local layer
	layer=$(python3 -c '
import json, sys
d = sys.argv[1]
top = json.load(open(d + "/index.json"))["manifests"][0]["digest"]
m = json.load(open(d + "/blobs/" + top.replace(":", "/")))
print(m["layers"][0]["digest"].replace(":", "/"))' "$BATS_TEST_TMPDIR/out")
	run bash -c "$(declare -f decompress); decompress '$BATS_TEST_TMPDIR/out/blobs/$layer' | tar -xOf - --wildcards '*etc/rl-fixture'"
	assert_output "rl-test-busybox"
}

@test "push, then pull back into a fresh store: the same image id, and it runs" {
	local id dest
	dest=$(user_repo roundtrip)
	id=$(rl image inspect bb | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
	run_rl push --tls-verify=false bb "$dest"
	assert_status 0
	fresh_store
	run_rl pull -q --tls-verify=false "$dest"
	assert_status 0
	assert_id
	[ "${output#sha256:}" = "${id#sha256:}" ] || fail "pulled id $output, pushed ${id#sha256:}"
	run_rl run --rm "$dest" cat /etc/rl-fixture
	assert_output "rl-test-busybox"
}

@test "push --format oci and --format v2s2 write those manifest types" {
	run_rl push --tls-verify=false --format oci bb "$(user_repo fmt):oci"
	assert_status 0
	run_rl push --tls-verify=false --format v2s2 bb "$(user_repo fmt):v2s2"
	assert_status 0
	run bash -c "skopeo inspect --raw --tls-verify=false docker://$(user_repo fmt):oci | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"mediaType\"], d[\"config\"][\"mediaType\"])'"
	assert_output "application/vnd.oci.image.manifest.v1+json application/vnd.oci.image.config.v1+json"
	run bash -c "skopeo inspect --raw --tls-verify=false docker://$(user_repo fmt):v2s2 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"mediaType\"], d[\"config\"][\"mediaType\"], d[\"layers\"][0][\"mediaType\"])'"
	assert_output "application/vnd.docker.distribution.manifest.v2+json application/vnd.docker.container.image.v1+json application/vnd.docker.image.rootfs.diff.tar.gzip"
	run_rl push --tls-verify=false --format docker-v1 bb "$(user_repo fmt):bad"
	assert_rl_error
}

@test "push with DEST omitted uses the image's own name (after rl tag)" {
	local dest
	dest=$(user_repo tagged):1
	run_rl tag bb "$dest"
	assert_status 0
	run_rl push --tls-verify=false "$dest"
	assert_status 0
	run skopeo_json --tls-verify=false "docker://$dest" 'len(d["Layers"])'
	assert_output "1"
}

@test "a pulled multi-layer image pushed elsewhere keeps its whiteouts" {
	run_rl pull -q --tls-verify=false "$(reg multi)"
	assert_status 0
	run_rl push --tls-verify=false "$(reg multi)" "$(user_repo multi)"
	assert_status 0
	fresh_store
	run_rl pull -q --tls-verify=false "$(user_repo multi)"
	assert_status 0
	run_rl run --rm "$(user_repo multi)" sh -c 'ls /opt/data; test -e /etc/rl-fixture && echo present || echo absent'
	assert_status 0
	assert_output "c
absent"
}

@test "blobs the registry has are not uploaded again (same repository, and mounted across repositories)" {
	[ -f "${RL_TEST_REGISTRY_LOG:-}" ] || skip "no registry access log (RL_TEST_REGISTRY_LOG)"
	local repo
	repo=rl-push-$(id -un)/again
	run_rl push --tls-verify=false bb "$RL_TEST_REGISTRY/$repo"
	assert_status 0
	# Uploads (POST .../blobs/uploads/, then PATCH/PUT) or mounts (POST
	# ...?mount=): whatever the first push needed.
	local before
	before=$(log_count "\"(POST|PATCH|PUT) /v2/$repo/blobs/uploads/")
	run_rl push --tls-verify=false bb "$RL_TEST_REGISTRY/$repo"
	assert_status 0
	[ "$(log_count "\"(POST|PATCH|PUT) /v2/$repo/blobs/uploads/")" -eq "$before" ] ||
		fail "the second push to $repo uploaded or mounted blobs the repository has"

	# A pulled image pushed to another repository of the same registry: its
	# layer is mounted from the repository it came from, not uploaded.
	run_rl pull -q --tls-verify=false "$(reg busybox)"
	assert_status 0
	local layer mounted
	mounted=rl-push-$(id -un)/mounted
	layer=$(oci_digest busybox layer0)
	run_rl push --tls-verify=false "$(reg busybox)" "$RL_TEST_REGISTRY/$mounted"
	assert_status 0
	[ "$(log_count "\"PUT /v2/$mounted/blobs/uploads/[^ ]*digest=sha256%3A${layer#sha256:}")" -eq 0 ] ||
		fail "the busybox layer was uploaded instead of mounted"
	[ "$(log_count "\"POST /v2/$mounted/blobs/uploads/[^ ]*mount=sha256(%3A|:)${layer#sha256:}")" -ge 1 ] ||
		[ "$(log_count "\"HEAD /v2/$mounted/blobs/sha256:${layer#sha256:}")" -ge 1 ] ||
		fail "neither a mount nor a check of the layer"
	run skopeo_json --tls-verify=false "docker://$RL_TEST_REGISTRY/$mounted" 'd["Layers"]'
	assert_output "['$layer']"
}

@test "push of a missing image fails before any upload" {
	run_rl push --tls-verify=false nosuchimage "$(user_repo nosuch)"
	assert_one_line_error
	assert_match "nosuchimage" "$stderr"
	run skopeo inspect --tls-verify=false "docker://$(user_repo nosuch)"
	[ "$status" -ne 0 ] || fail "the push created the repository"
}

@test "push to the plain registry without --tls-verify=false is refused" {
	run_rl push bb "$(user_repo refused)"
	assert_one_line_error
	assert_match "$RL_TEST_REGISTRY" "$stderr"
}

@test "push to the TLS registry needs a login; with one, skopeo reads it back" {
	private_runtime_dir
	local dest
	dest="$RL_TEST_TLS_REGISTRY/rl-push-$(id -un)/bb"
	run_rl push bb "$dest"
	assert_one_line_error
	assert_match "$RL_TEST_TLS_REGISTRY" "$stderr"
	run_rl login -u "$RL_TEST_REGISTRY_USER" --password-stdin "$RL_TEST_TLS_REGISTRY" <<<"$RL_TEST_REGISTRY_PASSWORD"
	assert_status 0
	run_rl push bb "$dest"
	assert_status 0
	run skopeo_json --creds "$RL_TEST_REGISTRY_USER:$RL_TEST_REGISTRY_PASSWORD" "docker://$dest" 'len(d["Layers"])'
	assert_output "1"
}

@test "podman pulls and reads what rl pushed" {
	need_podman
	local dest
	dest=$(user_repo forpodman)
	run_rl push --tls-verify=false bb "$dest"
	assert_status 0
	run podman_cmd pull -q --tls-verify=false "$dest"
	assert_status 0
	run podman_cat "$dest" /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
}

@test "rl pulls and runs what podman pushed" {
	need_podman
	local dest
	dest=$(user_repo frompodman)
	podman_cmd import "$RL_FIXTURES/busybox.tar" localhost/frompodman >/dev/null
	podman_cmd push --tls-verify=false localhost/frompodman "$dest"
	fresh_store
	run_rl pull -q --tls-verify=false "$dest"
	assert_status 0
	run_rl run --rm "$dest" cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
}
