#!/usr/bin/env bats
# Storage drivers: the container's root filesystem is the image plus its own
# writes, whichever driver is forced (kernel overlay, fuse-overlayfs, a flat
# copy), and a second container always sees the pristine image.

load helpers

# root_fstype: the file system type of / as the container sees it.
ROOT_FSTYPE='awk "\$2 == \"/\" { t = \$3 } END { print t }" /proc/mounts'

# check_driver DRIVER FSTYPE-REGEX [NOT-REGEX]: the whole contract for one
# driver.
check_driver() {
	local driver=$1 fstype=$2 not=${3:-} name="drv-$1"

	# It is the driver asked for.
	run_rl run --rm --storage-driver "$driver" bb sh -c "$ROOT_FSTYPE"
	assert_status 0
	assert_match "$fstype"
	[ -z "$not" ] || refute_match "$not"

	# Writes, deletions (whiteouts), new and replaced directories.
	run_rl run --name "$name" --storage-driver "$driver" bb sh -c '
		echo changed >/etc/rl-fixture
		rm /usr/bin/wc
		mkdir /newdir && echo new >/newdir/f
		rm -rf /home/bob && mkdir /home/bob && ls -A /home/bob | wc -l
		mv /usr/sbin /usr/sbin2 && test -L /usr/sbin2/chroot && echo renamed
		cat /etc/rl-fixture /newdir/f
		test -e /usr/bin/wc || echo wc-gone
		test -e /usr/sbin || echo sbin-gone'
	assert_status 0
	assert_output "0
renamed
changed
new
wc-gone
sbin-gone"

	# The next container, any driver, sees the image as it was.
	local d
	for d in "$driver" ""; do
		run_rl run --rm ${d:+--storage-driver "$d"} bb sh -c '
			cat /etc/rl-fixture
			test -e /usr/bin/wc && echo wc-here
			test -e /newdir || echo no-newdir
			ls /home/bob >/dev/null && echo bob-here
			test -d /usr/sbin && echo sbin-here'
		assert_status 0
		assert_output "rl-test-busybox
wc-here
no-newdir
bob-here
sbin-here"
	done

	# Removing the container removes its writes with it.
	run_rl rm "$name"
	assert_status 0
	run_rl ps -aq
	assert_output ""
}

# check_driver_chown DRIVER: owners other than root survive copy-up.
check_driver_chown() {
	need_mode subuid root
	run_rl run --rm --storage-driver "$1" bb sh -c '
		stat -c %u:%g /home/bob
		chown 1000:1000 /etc/rl-fixture && stat -c %u:%g /etc/rl-fixture
		echo appended >>/etc/rl-fixture && cat /etc/rl-fixture
		chown -R 1000:50 /usr/local && stat -c %u:%g /usr/local/bin'
	assert_status 0
	assert_output "1000:1000
1000:1000
rl-test-busybox
appended
1000:50"
}

@test "default driver is the kernel's overlay" {
	run_rl run --rm bb sh -c "$ROOT_FSTYPE"
	assert_status 0
	assert_output "overlay"
}

@test "--storage-driver overlay" {
	check_driver overlay '^overlay$'
}

@test "--storage-driver overlay: chown and copy-up" {
	check_driver_chown overlay
}

@test "--storage-driver fuse-overlayfs" {
	check_driver fuse-overlayfs '^fuse'
}

@test "--storage-driver fuse-overlayfs: chown and copy-up" {
	check_driver_chown fuse-overlayfs
}

@test "--storage-driver fuse-overlayfs leaves no fuse-overlayfs process behind" {
	run_rl run --rm --storage-driver fuse-overlayfs bb true
	assert_status 0
	wait_gone "fuse-overlayfs.*$RL_TEST_DIR"
}

@test "--storage-driver vfs" {
	check_driver vfs '^[a-z0-9]+$' 'overlay|fuse'
}

@test "--storage-driver vfs: chown and copy" {
	check_driver_chown vfs
}

@test "containers of different drivers side by side" {
	run_rl run --name side-overlay --storage-driver overlay bb sh -c 'echo o >/tmp/mark'
	assert_status 0
	run_rl run --name side-fuse --storage-driver fuse-overlayfs bb sh -c 'echo f >/tmp/mark'
	assert_status 0
	run_rl run --name side-vfs --storage-driver vfs bb sh -c 'echo v >/tmp/mark'
	assert_status 0
	run_rl ps -a
	assert_status 0
	[ "$(grep -cE ' side-(overlay|fuse|vfs)$' <<<"$output")" -eq 3 ] || { show; fail "want three containers"; }
	run_rl rm side-overlay side-fuse side-vfs
	assert_status 0
	run_rl ps -aq
	assert_output ""
}
