#!/usr/bin/env bats
# rl save / rl load (issue 3): docker-archive (the default, as in Podman),
# oci-archive and oci-dir round trips; archives that skopeo and podman wrote
# load in rl, and rl's load in skopeo and podman; a hostile, truncated or
# lying archive fails like a pull would, leaving the store as it was.

# bats' run sets status, output, lines, stderr and stderr_lines.
# shellcheck disable=SC2154

load helpers

setup_file() {
	rl_setup_file
	rl_prime_store
	import_busybox bb >/dev/null
	BB_ID=$(rl image inspect bb | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"].removeprefix("sha256:"))')
	export BB_ID
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

# A store of this test's own, empty but for rl's first-run notice.
fresh_store() {
	export XDG_DATA_HOME="$BATS_TEST_TMPDIR/data"
	mkdir -p "$XDG_DATA_HOME"
	rl_prime_store
}

# image_id IMAGE: the id without "sha256:".
image_id() {
	rl image inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"].removeprefix("sha256:"))'
}

# assert_loaded NAME: after a load into a fresh store, NAME is bb (same id)
# and runs.
assert_loaded() {
	run image_id "$1"
	assert_status 0
	assert_output "$BB_ID"
	run_rl run --rm "$1" cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
}

@test "save (docker-archive by default) and load back: same id, same name" {
	local f="$BATS_TEST_TMPDIR/bb.tar"
	run_rl save -o "$f" bb
	assert_status 0
	assert_output ""
	# The docker-archive layout: manifest.json naming the tag.
	run bash -c "tar -xOf '$f' manifest.json | python3 -c 'import json,sys; m=json.load(sys.stdin); print(len(m), m[0][\"RepoTags\"], len(m[0][\"Layers\"]))'"
	assert_output "1 ['localhost/bb:latest'] 1"
	fresh_store
	run_rl load -i "$f"
	assert_status 0
	assert_line "Loaded image: localhost/bb:latest"
	assert_loaded localhost/bb:latest
}

@test "save --format oci-archive and load back; skopeo reads it" {
	local f="$BATS_TEST_TMPDIR/bb-oci.tar"
	run_rl save --format oci-archive -o "$f" bb
	assert_status 0
	run bash -c "tar -tf '$f' | sort | grep -E '^(\\./)?(oci-layout|index\\.json)$' | sed 's#^\\./##'"
	assert_output "index.json
oci-layout"
	run bash -c "skopeo inspect oci-archive:'$f' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"Layers\"]))'"
	assert_output "1"
	fresh_store
	run_rl load -i "$f"
	assert_status 0
	assert_loaded localhost/bb:latest
}

@test "save --format oci-dir and load the directory back; skopeo reads it" {
	local d="$BATS_TEST_TMPDIR/bb-dir"
	run_rl save --format oci-dir -o "$d" bb
	assert_status 0
	[ -f "$d/oci-layout" ] && [ -f "$d/index.json" ] && [ -d "$d/blobs/sha256" ] || fail "not an OCI layout: $(ls -R "$d")"
	run bash -c "skopeo inspect oci:'$d' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"Layers\"]))'"
	assert_output "1"
	fresh_store
	run_rl load -i "$d"
	assert_status 0
	assert_loaded localhost/bb:latest
}

@test "save to stdout and load from stdin" {
	local f="$BATS_TEST_TMPDIR/stdout.tar"
	rl save bb >"$f"
	[ -s "$f" ] || fail "save wrote nothing to stdout"
	fresh_store
	run_rl load <"$f"
	assert_status 0
	assert_loaded localhost/bb:latest
}

@test "several images in one docker-archive" {
	local f="$BATS_TEST_TMPDIR/two.tar"
	run_rl tag bb localhost/other:2
	assert_status 0
	run_rl save -o "$f" bb localhost/other:2
	assert_status 0
	rl untag bb localhost/other:2 >/dev/null 2>&1 || true
	fresh_store
	run_rl load -i "$f"
	assert_status 0
	assert_loaded localhost/bb:latest
	assert_loaded localhost/other:2
}

@test "archives skopeo wrote: docker-archive of a whiteout image, oci-archive of a zstd image" {
	need_registries
	skopeo copy --quiet "oci:$RL_TEST_OCI/multi:latest" "docker-archive:$BATS_TEST_TMPDIR/multi.tar:example.org/multi:1"
	skopeo copy --quiet "oci:$RL_TEST_OCI/zstd:latest" "oci-archive:$BATS_TEST_TMPDIR/zstd.tar:example.org/zstd:1"
	fresh_store
	run_rl load -i "$BATS_TEST_TMPDIR/multi.tar"
	assert_status 0
	run_rl run --rm example.org/multi:1 sh -c 'cat /etc/rl-layer2; ls /opt/data; test -e /etc/rl-fixture && echo present || echo absent'
	assert_status 0
	assert_output "layer2
c
absent"
	run_rl load -i "$BATS_TEST_TMPDIR/zstd.tar"
	assert_status 0
	run_rl images
	assert_match "example\.org/zstd +1 "
}

@test "save of a missing image fails and writes no file" {
	run_rl save -o "$BATS_TEST_TMPDIR/none.tar" nosuchimage
	assert_one_line_error
	assert_match "nosuchimage" "$stderr"
	[ ! -e "$BATS_TEST_TMPDIR/none.tar" ] || fail "a failed save left $BATS_TEST_TMPDIR/none.tar"
	run_rl save --format tarball -o "$BATS_TEST_TMPDIR/fmt.tar" bb
	assert_one_line_error
	[ ! -e "$BATS_TEST_TMPDIR/fmt.tar" ] || fail "a failed save left a file"
}

# mkarchive KIND OUT: a docker-archive of the busybox layer gone wrong:
#   escape   manifest.json names the layer "../../outside.tar"
#   dotdot   the layer tar has an entry ../rl-escape-near
#   digest   the config's diff_id does not match the layer
#   huge     manifest.json is 64 MiB of JSON
mkarchive() {
	python3 - "$1" "$2" "$RL_FIXTURES/busybox.tar" <<'PY'
import hashlib, io, json, sys, tarfile
kind, out, bb = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
layer = bb
if kind == "dotdot":
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
    ti = tarfile.TarInfo("../rl-escape-near"); data = b"escaped\n"; ti.size = len(data)
    t.addfile(ti, io.BytesIO(data)); t.close()
    layer = buf.getvalue()
diff = "sha256:" + hashlib.sha256(layer).hexdigest()
if kind == "digest":
    diff = "sha256:" + "0" * 64
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode()
chex = hashlib.sha256(config).hexdigest()
lname = "../../outside.tar" if kind == "escape" else "layer.tar"
manifest = [{"Config": chex + ".json", "RepoTags": ["localhost/evil:" + kind], "Layers": [lname]}]
if kind == "huge":
    manifest[0]["Pad"] = "x" * (64 * 1024 * 1024)
def add(t, name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "manifest.json", json.dumps(manifest).encode())
    add(t, chex + ".json", config)
    add(t, lname, layer)
PY
}

@test "hostile and lying archives fail to load and leave the store as it was" {
	fresh_store
	import_busybox keep >/dev/null
	store_snapshot "$BATS_TEST_TMPDIR/before"
	local kind
	for kind in escape dotdot digest huge; do
		mkarchive "$kind" "$BATS_TEST_TMPDIR/$kind.tar"
		run_rl load -i "$BATS_TEST_TMPDIR/$kind.tar"
		assert_one_line_error
		assert_store_unchanged "$BATS_TEST_TMPDIR/before"
	done
	[ -z "$(find "$BATS_TEST_TMPDIR" "$RL_TEST_DIR" -name rl-escape-near 2>/dev/null)" ] || fail "an entry escaped"
	# Truncated, and not an archive at all.
	rl save -o "$BATS_TEST_TMPDIR/good.tar" keep
	head -c "$(($(stat -c %s "$BATS_TEST_TMPDIR/good.tar") / 2))" "$BATS_TEST_TMPDIR/good.tar" >"$BATS_TEST_TMPDIR/half.tar"
	rl rmi -af >/dev/null
	import_busybox keep >/dev/null
	store_snapshot "$BATS_TEST_TMPDIR/before"
	run_rl load -i "$BATS_TEST_TMPDIR/half.tar"
	assert_one_line_error
	assert_store_unchanged "$BATS_TEST_TMPDIR/before"
	echo "not an archive" >"$BATS_TEST_TMPDIR/junk.tar"
	run_rl load -i "$BATS_TEST_TMPDIR/junk.tar"
	assert_one_line_error
	run_rl load -i "$BATS_TEST_TMPDIR/no-such-file.tar"
	assert_one_line_error
	assert_store_unchanged "$BATS_TEST_TMPDIR/before"
}

@test "podman loads and reads what rl saved (docker-archive and oci-archive)" {
	need_podman
	rl save -o "$BATS_TEST_TMPDIR/d.tar" bb
	rl save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" bb
	run podman_cmd load -i "$BATS_TEST_TMPDIR/d.tar"
	assert_status 0
	run podman_cat localhost/bb:latest /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
	podman_cmd rmi -af >/dev/null 2>&1
	run podman_cmd load -i "$BATS_TEST_TMPDIR/o.tar"
	assert_status 0
	run podman_cat "${BB_ID:0:12}" /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
}

@test "rl loads and runs what podman saved (docker-archive and oci-archive)" {
	need_podman
	podman_cmd import "$RL_FIXTURES/busybox.tar" localhost/frompodman:1 >/dev/null
	podman_cmd save -o "$BATS_TEST_TMPDIR/pd.tar" localhost/frompodman:1
	podman_cmd save --format oci-archive -o "$BATS_TEST_TMPDIR/po.tar" localhost/frompodman:1
	fresh_store
	run_rl load -i "$BATS_TEST_TMPDIR/pd.tar"
	assert_status 0
	run_rl run --rm localhost/frompodman:1 cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
	rl rmi -af >/dev/null
	run_rl load -i "$BATS_TEST_TMPDIR/po.tar"
	assert_status 0
	run_rl run --rm localhost/frompodman:1 cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
}
