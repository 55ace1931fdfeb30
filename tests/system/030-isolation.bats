#!/usr/bin/env bats
# What a container can see and do: its own namespaces, /proc, /dev, /sys,
# hostname, network; nothing of the host's files or processes.

load helpers

@test "the command is PID 1 and the only process in its /proc" {
	run_rl run --rm bb sh -c 'echo $$; cd /proc && echo [0-9]*'
	assert_status 0
	assert_output "1
1"
}

@test "host processes are invisible" {
	# This test's shell and bats itself are host processes with pids far
	# above what a fresh pid namespace hands out.
	local hostpid=$$ ppid=$PPID
	run_rl run --rm bb sh -c "test -e /proc/$hostpid && echo sees-$hostpid; test -e /proc/$ppid && echo sees-$ppid; ps -o pid >/tmp/ps; grep -cv PID /tmp/ps"
	assert_status 0
	# sh and ps itself: two processes.
	assert_output "2"
}

@test "every namespace is new (user, mnt, pid, uts, ipc, net, cgroup)" {
	# Root too gets a user namespace (with the identity map), see design.md.
	local nss="user mnt pid uts ipc net cgroup"
	local ns host
	local script=
	for ns in $nss; do
		script+="readlink /proc/self/ns/$ns;"
	done
	run_rl run --rm bb sh -c "$script"
	assert_status 0
	local i=0
	for ns in $nss; do
		host=$(readlink "/proc/self/ns/$ns")
		assert_match "^$ns:\[[0-9]+\]$" "${lines[$i]}"
		[ "${lines[$i]}" != "$host" ] || fail "$ns namespace is the host's: $host"
		i=$((i + 1))
	done
}

@test "cgroup namespace: the container sees itself at the root of every hierarchy" {
	# This machine has the hybrid layout (v1 controllers + cgroup2 at
	# /sys/fs/cgroup/unified): rl must run here whatever it does with cgroups.
	run_rl run --rm bb cat /proc/self/cgroup
	assert_status 0
	[ "${#lines[@]}" -ge 1 ] || fail "empty /proc/self/cgroup"
	local l
	for l in "${lines[@]}"; do
		assert_match ':/$' "$l"
	done
}

@test "own hostname; trying to change it does not touch the host's" {
	local before
	before=$(hostname)
	# Without CAP_SYS_ADMIN (Podman's default set) sethostname fails; with
	# it, only the container's UTS namespace changes.  Either is fine.
	run_rl run --rm bb sh -c 'hostname changed-inside 2>/dev/null; hostname'
	assert_status 0
	[ "$output" != "$before" ] || fail "container has the host's name"
	[ "$(hostname)" = "$before" ] || fail "host name changed to $(hostname)"
}

@test "host files are invisible: / is exactly the image's" {
	echo secret >"$BATS_TEST_TMPDIR/host-secret"
	run_rl run --rm bb sh -c "test -e '$BATS_TEST_TMPDIR/host-secret' && echo visible; test -e '$RL_TEST_DIR' && echo store-visible; ls -A /"
	assert_status 0
	assert_output "bin
dev
etc
home
linuxrc
proc
root
run
sbin
sys
tmp
usr
var"
}

@test "the old root is not reachable (no pivot_root leftovers, /proc/1/root is /)" {
	run_rl run --rm bb sh -c 'cat /proc/mounts | cut -d" " -f2 | sort -u'
	assert_status 0
	refute_match '(^|'$'\n'')/(oldroot|old_root|\.oldroot|mnt/old|\.pivot)'
	local l
	for l in "${lines[@]}"; do
		[[ $l == / || $l == /proc* || $l == /dev* || $l == /sys* || $l == /etc/* || $l == /run* || $l == /tmp* ]] ||
			fail "unexpected mount point $l in: $output"
	done
}

@test "mknod is refused" {
	# Device nodes cannot be made in a user namespace other than the
	# initial one, and rl uses one even when run by root.
	run_rl run --rm bb sh -c 'mknod /tmp/null c 1 3 2>/dev/null; echo $?; if test -e /tmp/null; then echo created; fi'
	assert_status 0
	[ "${lines[0]}" -ne 0 ] || fail "mknod succeeded: $output"
	refute_line "created"
}

@test "/dev holds only null zero full random urandom tty, pts shm mqueue (and the usual links)" {
	run_rl run --rm bb ls -A /dev
	assert_status 0
	local want="full mqueue null pts random shm tty urandom zero"
	local allowed=" $want ptmx fd stdin stdout stderr "
	local e
	for e in $want; do
		assert_line "$e"
	done
	for e in "${lines[@]}"; do
		[[ $allowed == *" $e "* ]] || fail "unexpected /dev/$e in: ${lines[*]}"
	done
	# No console without -t.
	refute_line console
}

@test "/dev nodes work: null, zero, full, urandom; /dev/shm writable" {
	run_rl run --rm bb sh -c '
		echo x >/dev/null && echo null-ok
		head -c 3 /dev/zero | od -An -tx1
		echo x 2>/dev/null >/dev/full || echo full-refuses
		head -c 16 /dev/urandom | wc -c
		head -c 16 /dev/random | wc -c
		touch /dev/shm/x && echo shm-ok
		test -c /dev/tty && echo tty-is-char
		test -d /dev/pts && echo pts-ok'
	assert_status 0
	assert_output "null-ok
 00 00 00
full-refuses
16
16
shm-ok
tty-is-char
pts-ok"
}

@test "/sys is read-only" {
	run_rl run --rm bb sh -c 'touch /sys/x 2>/dev/null && echo wrote; awk "\$2 == \"/sys\" { print \$4 }" /proc/mounts | cut -d, -f1'
	assert_status 0
	refute_line wrote
	[ "${#lines[@]}" -ge 1 ] || fail "/sys is not mounted"
	local l
	for l in "${lines[@]}"; do
		[ "$l" = ro ] || fail "/sys mounted $l: $output"
	done
}

@test "/proc is the container's own, mounted at /proc" {
	run_rl run --rm bb sh -c 'awk "\$2 == \"/proc\" { print \$3 }" /proc/mounts; readlink /proc/self/exe'
	assert_status 0
	assert_output "proc
/bin/busybox"
}

@test "--network none: only a loopback that is up" {
	local net
	for net in "--network none" "--network=none"; do
		# shellcheck disable=SC2086
		run_rl run --rm $net bb sh -c 'ls /sys/class/net; cat /sys/class/net/lo/flags; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
		assert_status 0
		assert_output "lo
0x9
lo"
	done
}

@test "--network host shares the host's network namespace" {
	run_rl run --rm --network host bb readlink /proc/self/ns/net
	assert_status 0
	assert_output "$(readlink /proc/self/ns/net)"
	run_rl run --rm --network=host bb test -f /etc/resolv.conf
	assert_status 0
}

@test "a write to the root filesystem does not reach the image" {
	run_rl run --rm bb sh -c 'echo changed >/etc/rl-fixture; rm /usr/bin/wc; touch /newfile; cat /etc/rl-fixture'
	assert_status 0
	assert_output "changed"
	run_rl run --rm bb sh -c 'cat /etc/rl-fixture; test -e /usr/bin/wc && echo wc; test -e /newfile || echo no-newfile'
	assert_status 0
	assert_output "rl-test-busybox
wc
no-newfile"
}

@test "a container's writes persist in that container only until it is removed" {
	# Two containers at once from one image do not see each other's writes.
	local fifo="$BATS_TEST_TMPDIR/fifo"
	mkfifo "$fifo"
	env --default-signal "$RL" run -i --rm bb sh -c 'echo one >/tmp/who; echo ready; read x; cat /tmp/who' <"$fifo" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	RL_BG_PID=$!
	exec 9>"$fifo"
	wait_for "$BATS_TEST_TMPDIR/out" '^ready$'
	run_rl run --rm bb sh -c 'cat /tmp/who 2>/dev/null || echo absent; echo two >/tmp/who'
	assert_output "absent"
	echo go >&9
	exec 9>&-
	wait_bg
	assert_status 0
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output "ready
one"
}
