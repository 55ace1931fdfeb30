#!/usr/bin/env bats
# rl import / images / rmi / image inspect: a rootfs (tar, gzip, zstd, a
# directory, stdin) becomes a one-layer image kept as localhost/NAME:TAG.

load helpers

setup_file() {
	rl_setup_file
}

# Every test starts without images or containers.
setup() {
	rl rm -af >/dev/null 2>&1 || true
	rl rmi -af >/dev/null 2>&1 || true
}

# inspect_field IMAGE PYEXPR: evaluate PYEXPR on the single inspect object `i`.
inspect_field() {
	rl image inspect "$1" | python3 -c '
import json, sys
data = json.load(sys.stdin)
assert isinstance(data, list) and len(data) == 1, "want a one-element JSON array"
i = data[0]
print(eval(sys.argv[1]))' "$2"
}

@test "import a tar prints the image id and lists localhost/NAME latest" {
	run_rl import "$RL_FIXTURES/busybox.tar" bb
	assert_status 0
	[ "${#lines[@]}" -eq 1 ] || { show; fail "import must print one line (the id) on stdout"; }
	assert_match '^(sha256:)?[0-9a-f]{64}$'
	local id=${output#sha256:}

	run_rl images
	assert_status 0
	assert_match '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$' "${lines[0]}"
	[ "${#lines[@]}" -eq 2 ] || { show; fail "want a header and one image"; }
	assert_match "^localhost/bb +latest +${id:0:12} " "${lines[1]}"

	run_rl images -q
	assert_status 0
	assert_output "${id:0:12}"
}

@test "images with an empty store prints only the header" {
	run_rl images
	assert_status 0
	assert_match '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$'
	run_rl images -q
	assert_status 0
	assert_output ""
}

@test "import NAME:TAG and a fully qualified name keep their names" {
	run_rl import "$RL_FIXTURES/busybox.tar" bb:v1
	assert_status 0
	run_rl import "$RL_FIXTURES/busybox.tar" example.org/team/tool:2.0
	assert_status 0
	run_rl images
	assert_status 0
	assert_match '(^|'$'\n'')localhost/bb +v1 +[0-9a-f]{12} '
	assert_match '(^|'$'\n'')example\.org/team/tool +2\.0 +[0-9a-f]{12} '
	run_rl run --rm bb:v1 cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
}

@test "import without a name gives an untagged image" {
	run_rl import "$RL_FIXTURES/busybox.tar"
	assert_status 0
	local id=${output#sha256:}
	run_rl images
	assert_status 0
	assert_match "^<none> +<none> +${id:0:12} " "${lines[1]}"
	# It is still usable by id.
	run_rl run --rm "${id:0:12}" cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
}

@test "image inspect: JSON array with Id, RepoTags, layers (diff_id = sha256 of the tar), Created, History" {
	run_rl import "$RL_FIXTURES/busybox.tar" bb
	assert_status 0
	local id=${output#sha256:}

	run inspect_field bb 'i["Id"].removeprefix("sha256:")'
	assert_status 0
	assert_output "$id"
	run inspect_field bb 'i["RepoTags"]'
	assert_output "['localhost/bb:latest']"
	run inspect_field bb 'i["RootFS"]["Type"]'
	assert_output "layers"
	run inspect_field bb 'i["RootFS"]["Layers"]'
	assert_output "['$(busybox_diff_id)']"
	run inspect_field bb 'isinstance(i["Config"], dict)'
	assert_output "True"
	local arch
	case "$(uname -m)" in
	x86_64) arch=amd64 ;;
	aarch64) arch=arm64 ;;
	*) arch=$(uname -m) ;;
	esac
	run inspect_field bb 'i["Os"], i["Architecture"]'
	assert_output "('linux', '$arch')"
	run inspect_field bb 'len(i["History"]) >= 1'
	assert_output "True"
	# RFC 3339, as in an OCI image config.
	run inspect_field bb 'i["Created"]'
	assert_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}'

	# The same image by id, by full name, and by a name with the tag.
	run inspect_field "${id:0:12}" 'i["RepoTags"]'
	assert_output "['localhost/bb:latest']"
	run inspect_field localhost/bb:latest 'i["Id"].removeprefix("sha256:")'
	assert_output "$id"
	run inspect_field bb:latest 'i["Id"].removeprefix("sha256:")'
	assert_output "$id"
}

@test "image inspect of a missing image fails" {
	run_rl image inspect nosuchimage
	[ "$status" -ne 0 ] || { show; fail "expected failure"; }
	[ -n "$stderr" ] || fail "expected an error message"
}

@test "import gzip and zstd tarballs: same layer digest as the plain tar" {
	run_rl import "$RL_FIXTURES/busybox.tar.gz" bbgz
	assert_status 0
	run_rl import "$RL_FIXTURES/busybox.tar.zst" bbzst
	assert_status 0
	run inspect_field bbgz 'i["RootFS"]["Layers"]'
	assert_output "['$(busybox_diff_id)']"
	run inspect_field bbzst 'i["RootFS"]["Layers"]'
	assert_output "['$(busybox_diff_id)']"
	run_rl run --rm bbgz cat /etc/rl-fixture
	assert_output "rl-test-busybox"
	run_rl run --rm bbzst cat /etc/rl-fixture
	assert_output "rl-test-busybox"
}

@test "import from stdin with -" {
	run_rl import - bbstdin <"$RL_FIXTURES/busybox.tar"
	assert_status 0
	assert_match '^(sha256:)?[0-9a-f]{64}$'
	run inspect_field bbstdin 'i["RootFS"]["Layers"]'
	assert_output "['$(busybox_diff_id)']"
	# Compressed input on stdin is recognised by its content.
	run_rl import - bbstdinzst <"$RL_FIXTURES/busybox.tar.zst"
	assert_status 0
	run_rl run --rm bbstdinzst cat /etc/rl-fixture
	assert_output "rl-test-busybox"
}

@test "import a directory" {
	run_rl import "$RL_FIXTURES/rootfs" bbdir
	assert_status 0
	assert_match '^(sha256:)?[0-9a-f]{64}$'
	run inspect_field bbdir 'len(i["RootFS"]["Layers"])'
	assert_output "1"
	run_rl run --rm bbdir sh -c 'cat /etc/rl-fixture; readlink /bin/sh; ls /usr/bin/wc'
	assert_status 0
	assert_output "rl-test-busybox
/bin/busybox
/usr/bin/wc"
}

@test "import failures: missing file, not a tarball; no image is left" {
	run_rl import /nonexistent/rootfs.tar bad
	assert_rl_error
	assert_output ""
	echo "this is not a tar archive" >"$BATS_TEST_TMPDIR/junk.tar"
	run_rl import "$BATS_TEST_TMPDIR/junk.tar" bad
	assert_rl_error
	head -c 100000 "$RL_FIXTURES/busybox.tar" >"$BATS_TEST_TMPDIR/truncated.tar"
	run_rl import "$BATS_TEST_TMPDIR/truncated.tar" bad
	assert_rl_error
	run_rl images -q
	assert_output ""
}

@test "import again under the same name moves the name to the new image" {
	run_rl import "$RL_FIXTURES/busybox.tar" bb
	local first=${output#sha256:}
	run_rl import "$RL_FIXTURES/busybox.tar.gz" bb
	assert_status 0
	local second=${output#sha256:}
	run inspect_field bb 'i["Id"].removeprefix("sha256:")'
	assert_output "$second"
	run_rl images
	local n
	n=$(grep -c '^localhost/bb ' <<<"$output")
	[ "$n" -eq 1 ] || { show; fail "localhost/bb must be listed once"; }
	[ "$first" = "$second" ] || assert_match "^<none> +<none> +${first:0:12} " "$(grep "${first:0:12}" <<<"$output")"
}

@test "rmi removes by name and by id; rmi -a removes all" {
	import_busybox one >/dev/null
	local two
	two=$(import_busybox two)
	two=${two#sha256:}
	import_busybox three >/dev/null

	run_rl rmi one
	assert_status 0
	run_rl image inspect one
	[ "$status" -ne 0 ] || fail "one still exists"

	run_rl rmi "${two:0:12}"
	assert_status 0
	run_rl image inspect two
	[ "$status" -ne 0 ] || fail "two still exists"

	import_busybox four >/dev/null
	run_rl rmi -a
	assert_status 0
	run_rl images -q
	assert_output ""
}

@test "rmi of a missing image fails" {
	run_rl rmi nosuchimage
	[ "$status" -ne 0 ] || { show; fail "expected failure"; }
	[[ ${stderr_lines[-1]} == "rl: "* ]] || { show; fail "expected an rl: error line"; }
}

@test "rmi refuses an image used by a container unless -f" {
	import_busybox bb >/dev/null
	run_rl run --name user1 bb true
	assert_status 0
	run_rl rmi bb
	[ "$status" -ne 0 ] || { show; fail "rmi of an image in use must fail"; }
	[[ ${stderr_lines[-1]} == "rl: "* ]] || { show; fail "expected an rl: error line"; }
	run_rl image inspect bb
	assert_status 0

	run_rl rmi -f bb
	assert_status 0
	run_rl image inspect bb
	[ "$status" -ne 0 ] || fail "bb still exists after rmi -f"
	# Whatever rmi -f did with the container, the store stays consistent.
	run_rl rm -af
	assert_status 0
	run_rl ps -aq
	assert_output ""
}

@test "a short name runs the local image with no network (localhost/bb, bb, bb:latest, id)" {
	local id
	id=$(import_busybox bb)
	id=${id#sha256:}
	local ref
	for ref in bb bb:latest localhost/bb localhost/bb:latest "${id:0:12}" "$id"; do
		run_rl run --rm --network none "$ref" cat /etc/rl-fixture
		assert_status 0
		assert_output "rl-test-busybox"
	done
}

@test "concurrent imports of the same tarball all succeed" {
	local i pids=()
	for i in 1 2 3 4; do
		rl import "$RL_FIXTURES/busybox.tar" "par$i" >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "import $((i + 1)) failed: $(cat "$BATS_TEST_TMPDIR/out$((i + 1))")"
	done
	for i in 1 2 3 4; do
		run_rl run --rm "par$i" cat /etc/rl-fixture
		assert_status 0
		assert_output "rl-test-busybox"
	done
	run_rl images
	[ "$(grep -c '^localhost/par[1-4] ' <<<"$output")" -eq 4 ] || { show; fail "want 4 images"; }
}
