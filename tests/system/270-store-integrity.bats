#!/usr/bin/env bats
# The store stays whole: every blob an image's manifest names is in blobs/
# (also when a pull found the layer already there, from an import or from an
# image compressed otherwise), save and push refuse with one line, before
# writing anything, when one is missing anyway; a kill -9 of import or load
# at any moment leaves nothing that the next command writing to the store
# does not remove; push reads rl.conf from --config.

# bats' run sets status, output, lines, stderr and stderr_lines.
# shellcheck disable=SC2154

load helpers

setup_file() {
	rl_setup_file
	# A rootfs of about 100 MB that does not compress, so that an import
	# or a load takes long enough to be killed in the middle.
	local big="$RL_TEST_DIR/work/big"
	mkdir -p "$big/rootfs/data"
	cp -a "$RL_FIXTURES/rootfs/." "$big/rootfs/"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		head -c 10M /dev/urandom >"$big/rootfs/data/r$i"
	done
	tar -cf "$big/big.tar" -C "$big/rootfs" .
	rm -rf "$big/rootfs"
	rl_prime_store
}

teardown() {
	# Stores of this test may hold files of subordinate ids: rl removes them.
	local d
	for d in "$BATS_TEST_TMPDIR"/store-*; do
		[ -d "$d" ] || continue
		XDG_DATA_HOME=$d rl rmi -af >/dev/null 2>&1 || true
	done
}

# use_store NAME: a fresh store for this test.
use_store() {
	export XDG_DATA_HOME="$BATS_TEST_TMPDIR/store-$1"
	mkdir -p "$XDG_DATA_HOME"
	rl_prime_store
}

need_plain_registry() {
	[ -n "${RL_TEST_REGISTRY:-}" ] || skip "no test registry (RL_TEST_REGISTRY)"
}

# oci_busybox DIR LEVEL: an OCI layout of the busybox fixture whose layer
# blob is gzip at LEVEL (so its digest differs from rl's own blob of the
# same tar), with a config of its own.
oci_busybox() {
	python3 - "$RL_FIXTURES/busybox.tar" "$1" "$2" <<'PY'
import hashlib, json, os, sys, zlib
tar, out, level = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(tar, "rb").read()
c = zlib.compressobj(level, zlib.DEFLATED, 31)
gz = c.compress(data) + c.flush()
os.makedirs(out + "/blobs/sha256", exist_ok=True)
def blob(b):
    h = hashlib.sha256(b).hexdigest()
    open(out + "/blobs/sha256/" + h, "wb").write(b)
    return {"digest": "sha256:" + h, "size": len(b)}
cfg = json.dumps({"architecture": "amd64", "os": "linux",
                  "config": {"Cmd": ["sh"], "Labels": {"gzip-level": str(level)}},
                  "rootfs": {"type": "layers",
                             "diff_ids": ["sha256:" + hashlib.sha256(data).hexdigest()]}}).encode()
man = json.dumps({"schemaVersion": 2,
                  "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **blob(cfg)),
                  "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip",
                                  **blob(gz))]}).encode()
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
open(out + "/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [
    dict(mediaType="application/vnd.oci.image.manifest.v1+json", **blob(man))]}))
PY
}

# manifest_layer IMAGE: the layer digest of IMAGE's stored manifest.
manifest_layer() {
	local m
	m=$(rl image inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])')
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' \
		"$(rl_store)/blobs/sha256/${m#sha256:}"
}

# assert_store_consistent: images.json parses, and every image's config,
# manifest, manifest blobs and layers are in the store; tmp/ is empty.
assert_store_consistent() {
	python3 - "$(rl_store)" <<'PY' || fail "the store is not consistent"
import json, os, sys
s = sys.argv[1]
p = lambda *a: os.path.join(s, *a)
db = json.load(open(p("images.json"))) if os.path.exists(p("images.json")) else {"images": []}
bad = []
for img in db["images"]:
    m = img["manifest_digest"].split(":")[1]
    for h in (img["id"], m):
        if not os.path.isfile(p("blobs/sha256", h)):
            bad.append("blob " + h)
    man = json.load(open(p("blobs/sha256", m)))
    for d in [man["config"]] + man["layers"]:
        f = p("blobs/sha256", d["digest"].split(":")[1])
        if not os.path.isfile(f) or os.path.getsize(f) != d["size"]:
            bad.append("blob " + d["digest"])
    for c in img["chain_ids"]:
        if not os.path.isdir(p("layers", c)) or not os.path.isfile(p("layers", c + ".json")):
            bad.append("layer " + c)
if bad:
    sys.exit("missing: " + ", ".join(bad))
PY
	local left
	left=$(ls -A "$(rl_store)/tmp")
	[ -z "$left" ] || fail "tmp/ of the store is not empty: $left"
}

# kill_at SECONDS ARGS...: start rl ARGS, kill -9 it after SECONDS, and
# wait until it is gone (its user namespace children die with it).
kill_at() {
	local t=$1 pid
	shift
	"$RL" "$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$t"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	# A child dies on its parent's death signal, a moment later.
	sleep 0.3
}

# --------------------------------------------------------------- shared layers

@test "a pull of a layer the store has from an import fetches the blob its manifest names" {
	need_plain_registry
	use_store shared
	local src dest layer
	src=$(user_repo integrity-shared):1
	dest=$(user_repo integrity-copy):1
	oci_busybox "$BATS_TEST_TMPDIR/oci" 9
	skopeo copy -q --dest-tls-verify=false "oci:$BATS_TEST_TMPDIR/oci" "docker://$src"
	import_busybox bb >/dev/null

	run_rl pull -q --tls-verify=false "$src"
	assert_status 0
	layer=$(manifest_layer "$src")
	# Not rl's own gzip of the tar, and now in the store all the same.
	[ "$layer" != "$(manifest_layer bb)" ] || fail "the layer blobs should differ"
	[ -f "$(rl_store)/blobs/sha256/${layer#sha256:}" ] || fail "blob $layer is not in the store"
	# One layer directory for both images.
	[ "$(ls "$(rl_store)/layers" | grep -vc json)" -eq 1 ] || fail "the layer was unpacked twice"
	assert_store_consistent

	# Save in both formats; each loads into a fresh store.
	run_rl save -o "$BATS_TEST_TMPDIR/d.tar" "$src"
	assert_status 0
	run_rl save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" "$src"
	assert_status 0
	(
		use_store fresh
		rl load -q -i "$BATS_TEST_TMPDIR/d.tar"
		rl load -q -i "$BATS_TEST_TMPDIR/o.tar"
		rl image exists "$src"
		assert_store_consistent
	)

	# Push elsewhere: what the registry has matches the manifest, as an
	# independent client checks it blob by blob.
	run_rl push -q --tls-verify=false "$src" "$dest"
	assert_status 0
	skopeo copy -q --src-tls-verify=false "docker://$dest" "oci:$BATS_TEST_TMPDIR/back:x"
	[ "$(skopeo inspect --tls-verify=false --format '{{index .Layers 0}}' "docker://$dest")" = "$layer" ] ||
		fail "the pushed image does not name blob $layer"
}

@test "a blob deleted by hand: re-pulled alone, and save and push refuse with one line" {
	need_plain_registry
	use_store deleted
	local src layer
	src=$(user_repo integrity-deleted):1
	oci_busybox "$BATS_TEST_TMPDIR/oci" 8
	skopeo copy -q --dest-tls-verify=false "oci:$BATS_TEST_TMPDIR/oci" "docker://$src"
	rl pull -q --tls-verify=false "$src" >/dev/null
	layer=$(manifest_layer "$src")
	rm "$(rl_store)/blobs/sha256/${layer#sha256:}"

	# To stdout: nothing at all is written.
	run_rl save --format oci-archive "$src"
	assert_one_line_error
	[ -z "$output" ] || fail "save wrote ${#output} bytes before failing"
	[[ "$stderr" == *"blob $layer is missing from the store"* ]] || { show; fail "unexpected error"; }
	run_rl save -o "$BATS_TEST_TMPDIR/x.tar" "$src"
	assert_one_line_error
	[ ! -e "$BATS_TEST_TMPDIR/x.tar" ] || fail "a partial archive was left"
	run_rl push -q --tls-verify=false "$src" "$(user_repo integrity-never):1"
	assert_one_line_error
	[[ "$stderr" == *"blob $layer is missing from the store"* ]] || { show; fail "unexpected error"; }
	run skopeo inspect --tls-verify=false "docker://$(user_repo integrity-never):1"
	[ "$status" -ne 0 ] || fail "push sent a manifest"

	# The layer is there: a pull fetches only the blob, and all is well.
	run_rl pull --tls-verify=false "$src"
	assert_status 0
	[[ "$stderr" == *"(1 fetched"* ]] || { show; fail "the blob was not fetched"; }
	assert_store_consistent
	run_rl save -o "$BATS_TEST_TMPDIR/x.tar" "$src"
	assert_status 0
}

# --------------------------------------------------------------- kill -9

@test "kill -9 of an import at any moment: the next import succeeds and tmp/ ends empty" {
	use_store killimport
	local t
	for t in 0.05 0.2 0.5 1 2; do
		kill_at "$t" import "$RL_TEST_DIR/work/big/big.tar" big
	done
	run_rl import "$RL_TEST_DIR/work/big/big.tar" big
	assert_status 0
	assert_id
	assert_store_consistent
	rl image exists big
}

@test "kill -9 of a load at any moment: the next load succeeds and tmp/ ends empty" {
	use_store killload
	local t
	rl import "$RL_TEST_DIR/work/big/big.tar" big >/dev/null
	rl save -o "$BATS_TEST_TMPDIR/big-docker.tar" big
	rl rmi big >/dev/null
	for t in 0.05 0.3 1 2; do
		kill_at "$t" load -i "$BATS_TEST_TMPDIR/big-docker.tar"
	done
	run_rl load -i "$BATS_TEST_TMPDIR/big-docker.tar"
	assert_status 0
	assert_store_consistent
	rl image exists big
}

@test "what a killed import left is removed by rmi, prune, pull and load" {
	use_store others
	local cmd left
	import_busybox bb >/dev/null
	rl save -o "$BATS_TEST_TMPDIR/bb.tar" bb
	for cmd in "rmi -f localhost/nothing-here" "image prune -f" "load -q -i $BATS_TEST_TMPDIR/bb.tar" \
		"pull -q --tls-verify=false ${RL_TEST_REGISTRY:-127.0.0.1:1}/none/such:1"; do
		kill_at 1 import "$RL_TEST_DIR/work/big/big.tar" big
		left=$(ls -A "$(rl_store)/tmp")
		[ -n "$left" ] || skip "the import finished before it was killed"
		# shellcheck disable=SC2086
		rl $cmd >/dev/null 2>&1 || true
		left=$(ls -A "$(rl_store)/tmp")
		[ -z "$left" ] || fail "rl $cmd left tmp/ with: $left"
	done
	assert_store_consistent
}

# --------------------------------------------------------------- push --config

@test "push reads rl.conf from --config (insecure registry)" {
	need_plain_registry
	use_store config
	local conf="$BATS_TEST_TMPDIR/rl.conf" dest
	dest=$(user_repo integrity-config):1
	import_busybox bb >/dev/null
	printf '[registry "%s"]\ninsecure = true\n' "$RL_TEST_REGISTRY" >"$conf"
	# Without it, a plain-HTTP registry is refused.
	run_rl push -q bb "$dest"
	assert_one_line_error
	run_rl --config "$conf" push -q bb "$dest"
	assert_status 0
	skopeo inspect --tls-verify=false "docker://$dest" >/dev/null
}

# --------------------------------------------------------------- layer roots

@test "a layer whose tar gives its root directory to another id is committed" {
	use_store rootowner
	mkdir -p "$BATS_TEST_TMPDIR/r"
	echo hi >"$BATS_TEST_TMPDIR/r/f"
	tar --owner=1000 --group=1000 -cf "$BATS_TEST_TMPDIR/r.tar" -C "$BATS_TEST_TMPDIR/r" .
	run_rl import "$BATS_TEST_TMPDIR/r.tar" rootowner
	assert_status 0
	assert_id
	assert_store_consistent
	run_rl rmi rootowner
	assert_status 0
}
