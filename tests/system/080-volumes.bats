#!/usr/bin/env bats
# Volumes and mounts: -v/--volume HOST:CTR[:ro|rw], --mount type=bind|tmpfs,
# --tmpfs.

load helpers

setup() {
	VOL="$BATS_TEST_TMPDIR/vol"
	mkdir -p "$VOL"
	echo from-host >"$VOL/hostfile"
}

# fstype_of PATH: shell snippet printing the type and options of the last
# mount at PATH inside the container.
fstype_of() {
	echo "awk '\$2 == \"$1\" { t = \$3 \" \" \$4 } END { print t }' /proc/mounts"
}

@test "-v HOST:CTR: read and write both ways" {
	run_rl run --rm -v "$VOL:/data" bb sh -c 'cat /data/hostfile; echo from-ctr >/data/ctrfile'
	assert_status 0
	assert_output "from-host"
	[ "$(cat "$VOL/ctrfile")" = from-ctr ] || fail "container's write did not reach the host"
}

@test "-v HOST:CTR:rw and :ro" {
	run_rl run --rm --volume "$VOL:/data:rw" bb sh -c 'echo rw >/data/rwfile && echo ok'
	assert_status 0
	assert_output "ok"
	run_rl run --rm -v "$VOL:/data:ro" bb sh -c 'cat /data/hostfile; echo x 2>/dev/null >/data/rofile || echo refused'
	assert_status 0
	assert_output "from-host
refused"
	[ ! -e "$VOL/rofile" ] || fail "wrote through a read-only volume"
	# Read-only must hold even for container root trying to remount it
	# (rl drops CAP_SYS_ADMIN as Podman does, or locks the mount).
	run_rl run --rm -v "$VOL:/data:ro" bb sh -c 'mount -o remount,bind,rw /data 2>/dev/null; echo x >/data/rofile 2>/dev/null; test -e /data/rofile && echo escaped'
	refute_line escaped
	[ ! -e "$VOL/rofile" ] || fail "wrote through a read-only volume after remount"
}

@test "-v of a single file" {
	run_rl run --rm -v "$VOL/hostfile:/etc/injected:ro" bb cat /etc/injected
	assert_status 0
	assert_output "from-host"
}

@test "-v target that is not in the image is created; the image stays unchanged" {
	run_rl run --rm -v "$VOL:/new/deep/dir" bb cat /new/deep/dir/hostfile
	assert_status 0
	assert_output "from-host"
	run_rl run --rm bb sh -c 'test -e /new || echo no-new'
	assert_output "no-new"
}

@test "-v over a directory of the image hides its contents" {
	run_rl run --rm -v "$VOL:/home/bob" bb ls -A /home/bob
	assert_status 0
	assert_output "hostfile"
}

@test "several volumes, and a volume under another" {
	mkdir -p "$BATS_TEST_TMPDIR/two"
	echo two >"$BATS_TEST_TMPDIR/two/f"
	run_rl run --rm -v "$VOL:/a" -v "$BATS_TEST_TMPDIR/two:/a/sub" bb sh -c 'cat /a/hostfile /a/sub/f'
	assert_status 0
	assert_output "from-host
two"
}

@test "a missing host path is an error" {
	run_rl run --rm --mount "type=bind,source=$BATS_TEST_TMPDIR/missing,target=/data" bb true
	assert_rl_error
	run_rl run --rm -v "$VOL:relative/target" bb true
	assert_rl_error
}

@test "--mount type=bind with source/target, src/dst, readonly" {
	run_rl run --rm --mount "type=bind,source=$VOL,target=/data" bb sh -c 'cat /data/hostfile; echo m >/data/mfile'
	assert_status 0
	assert_output "from-host"
	[ -f "$VOL/mfile" ] || fail "write through --mount did not reach the host"
	run_rl run --rm --mount "type=bind,src=$VOL,dst=/data,readonly" bb sh -c 'echo x 2>/dev/null >/data/x || echo refused'
	assert_output "refused"
	run_rl run --rm --mount "type=bind,source=$VOL,destination=/data,ro=true" bb sh -c 'echo x 2>/dev/null >/data/x || echo refused'
	assert_output "refused"
	run_rl run --rm --mount "type=nosuch,target=/data" bb true
	assert_rl_error
}

@test "--mount type=tmpfs and --tmpfs" {
	run_rl run --rm --mount type=tmpfs,target=/scratch bb sh -c "$(fstype_of /scratch); touch /scratch/x && echo writable"
	assert_status 0
	assert_match '^tmpfs rw'
	assert_line "writable"
	run_rl run --rm --tmpfs /scratch bb sh -c "$(fstype_of /scratch)"
	assert_status 0
	assert_match '^tmpfs rw'
	run_rl run --rm --tmpfs /scratch:size=1m,mode=0700 bb sh -c "$(fstype_of /scratch); stat -c %a /scratch"
	assert_status 0
	assert_match '^tmpfs rw.*size=1024k'
	assert_line "700"
	run_rl run --rm --mount type=tmpfs,destination=/scratch,tmpfs-size=2m bb sh -c "$(fstype_of /scratch)"
	assert_match '^tmpfs rw.*size=2048k'
}

@test "--tmpfs over an image directory starts empty; contents vanish with the container" {
	run_rl run --rm --tmpfs /etc bb sh -c 'ls -A /etc | grep -c rl-fixture || true'
	assert_status 0
	assert_output "0"
	run_rl run --rm bb cat /etc/rl-fixture
	assert_output "rl-test-busybox"
}

@test "volumes leave nothing mounted on the host" {
	run_rl run --rm -v "$VOL:/data" --tmpfs /scratch bb true
	assert_status 0
	if grep -F "$VOL" /proc/self/mountinfo; then
		fail "volume still mounted on the host"
	fi
	[ "$(cat "$VOL/hostfile")" = from-host ] || fail "host file changed"
}

@test "volumes work with every storage driver" {
	local d
	for d in overlay fuse-overlayfs vfs; do
		run_rl run --rm --storage-driver "$d" -v "$VOL:/data" bb sh -c "cat /data/hostfile; echo $d >/data/by-$d"
		assert_status 0
		assert_output "from-host"
		[ "$(cat "$VOL/by-$d")" = "$d" ] || fail "$d: write did not reach the host"
	done
}
