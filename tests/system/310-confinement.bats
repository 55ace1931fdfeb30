#!/usr/bin/env bats
# Confinement beyond seccomp and capabilities: masked and read-only paths,
# --privileged, --read-only, --device, --ulimit, the cgroup limits that
# cannot be enforced here, hostile images whose /proc, /dev or /etc files
# are links or odd files, and what a container can see of rl (fds, exe).

load helpers

setup_file() {
	rl_setup_file
	import_busybox bb >/dev/null
}

teardown_file() {
	rl_teardown_file
}

# hostile_image NAME SETUP: the busybox rootfs changed by the shell code
# SETUP (run in the rootfs), imported as NAME.
hostile_image() {
	local dir="$RL_TEST_DIR/work/$1"
	rm -rf "$dir" && mkdir -p "$dir/root"
	tar -C "$dir/root" -xf "$RL_FIXTURES/busybox.tar"
	(cd "$dir/root" && eval "$2")
	tar --owner=0 --group=0 --numeric-owner -C "$dir/root" -cf "$dir/image.tar" .
	rl import "$dir/image.tar" "$1" >/dev/null
}

@test "masked paths are empty and read-only; read-only paths cannot be written" {
	run_rl run --rm bb sh -c '
		ls -A /proc/acpi /sys/firmware /proc/scsi 2>/dev/null | grep -v ":$" | grep . && echo LISTED
		[ -e /proc/keys ] && { [ -s /proc/keys ] && echo KEYS; cat /proc/keys; }
		[ -e /proc/timer_list ] && { [ -s /proc/timer_list ] && echo TIMERS; }
		echo x >/proc/sys/kernel/hostname 2>/dev/null && echo WROTE_SYS
		[ -e /proc/sysrq-trigger ] && echo h 2>/dev/null >/proc/sysrq-trigger && echo WROTE_SYSRQ
		touch /proc/acpi/x 2>/dev/null && echo WROTE_MASK
		umount /proc/acpi 2>/dev/null && echo UNMASKED
		umount /proc/sys 2>/dev/null && echo UNCOVERED
		grep -E " /proc/(acpi|sys) " /proc/self/mountinfo | cut -d" " -f5,6
		true'
	assert_status 0
	refute_match "LISTED|KEYS|TIMERS|WROTE|UNMASKED|UNCOVERED"
	assert_match "/proc/acpi ro,"
	assert_match "/proc/sys ro,"
}

@test "/proc/interrupts is not masked (as Podman)" {
	[ -r /proc/interrupts ] || skip "no /proc/interrupts here"
	run_rl run --rm bb sh -c 'head -n1 /proc/interrupts | grep -q CPU && echo shown'
	assert_status 0
	assert_output shown
}

@test "with --cap-add SYS_ADMIN, rl's read-only and masking mounts cannot be undone" {
	local vol="$RL_TEST_DIR/work/rovol"
	mkdir -p "$vol"
	run_rl run --rm --cap-add SYS_ADMIN --read-only -v "$vol:/vol:ro" bb sh -c '
		mount -o remount,bind,rw /proc/sys 2>/dev/null && echo REMOUNT_SYS
		umount /proc/acpi 2>/dev/null && echo UMOUNT_ACPI
		umount -l /proc/sys 2>/dev/null && echo UMOUNT_SYS
		mount -o remount,rw / 2>/dev/null && echo REMOUNT_ROOT
		mount -o remount,bind,rw /vol 2>/dev/null && echo REMOUNT_VOL
		touch /vol/x 2>/dev/null && echo WROTE_VOL
		mkdir -p /tmp/m && mount -t tmpfs t /tmp/m && echo new-mount-ok
		hostname other && hostname'
	assert_status 0
	refute_match "REMOUNT|UMOUNT|WROTE"
	# The nested namespace still lets it mount its own and name itself.
	assert_line new-mount-ok
	assert_line other
	[ ! -e "$vol/x" ] || fail "the :ro volume was written"
}

@test "--privileged: no masked paths, every capability of the namespace, no seccomp" {
	run_rl run --rm --privileged bb sh -c '
		grep -c -E " /(proc/acpi|sys/firmware|proc/sys) " /proc/self/mountinfo
		grep -E "^(CapEff|CapBnd|Seccomp):" /proc/self/status'
	assert_status 0
	assert_line 0
	# Single-id mode keeps its root emulation filter, whatever the profile.
	if [ "$RL_IDMODE" = single ]; then
		assert_line "Seccomp:	2"
	else
		assert_line "Seccomp:	0"
	fi
	local eff bnd
	eff=$(printf '%s\n' "$output" | awk '$1 == "CapEff:" { print $2 }')
	bnd=$(printf '%s\n' "$output" | awk '$1 == "CapBnd:" { print $2 }')
	[ "$eff" = "$bnd" ] || fail "CapEff $eff is not the whole bounding set $bnd"
	[ "$eff" != 00000000800405fb ] || fail "CapEff is still the default set"
}

@test "--privileged binds /dev/fuse and /dev/net/tun when the caller may use them" {
	local d want=()
	for d in /dev/fuse /dev/net/tun /dev/kvm; do
		[ -c "$d" ] && [ -r "$d" ] && [ -w "$d" ] && want+=("$d")
	done
	[ ${#want[@]} -gt 0 ] || skip "none of /dev/fuse, /dev/net/tun, /dev/kvm is usable here"
	run_rl run --rm --privileged bb sh -c 'for d in /dev/fuse /dev/net/tun /dev/kvm; do [ -c $d ] && echo $d; done; true'
	assert_status 0
	for d in "${want[@]}"; do
		assert_line "$d"
	done
	run_rl run --rm bb sh -c 'ls /dev/fuse /dev/net/tun /dev/kvm 2>/dev/null'
	assert_output ""
}

@test "--read-only: the root cannot be written; /tmp, /run, /var/tmp can" {
	run_rl run --rm --read-only bb sh -c '
		touch /x 2>/dev/null && echo WROTE_ROOT
		touch /tmp/a /run/a /var/tmp/a && echo scratch-ok
		mount -o remount,rw / 2>/dev/null && echo REMOUNTED
		true'
	assert_status 0
	assert_output scratch-ok
}

@test "--read-only-tmpfs=false: no tmpfs, /tmp is read-only too" {
	run_rl run --rm --read-only --read-only-tmpfs=false bb sh -c 'touch /tmp/a 2>/dev/null && echo WROTE; true'
	assert_status 0
	assert_output ""
}

@test "--read-only with a missing working directory: made before the root turns read-only" {
	run_rl run --rm --read-only -w /new/dir bb pwd
	assert_status 0
	assert_output /new/dir
}

@test "--device binds a host device, at another path too" {
	run_rl run --rm --device /dev/null:/dev/mynull --device /dev/zero bb sh -c '
		[ -c /dev/mynull ] && echo mynull; head -c 4 /dev/zero | wc -c'
	assert_status 0
	assert_line mynull
	assert_line 4
}

@test "--device: a missing device, a non-device or bad permissions is one line, status 125" {
	run_rl run --rm --device /dev/no-such-device bb true
	assert_rl_error
	assert_match "device \`/dev/no-such-device\`: No such file or directory" "$stderr"
	run_rl run --rm --device /etc/passwd bb true
	assert_rl_error
	assert_match "not a device" "$stderr"
	run_rl run --rm --device /dev/null:/dev/x:rwz bb true
	assert_rl_error
	run_rl run --rm --device relative bb true
	assert_rl_error
}

@test "--ulimit sets soft and hard limits; unknown names and raised hard limits are refused" {
	run_rl run --rm --ulimit nofile=100:200 --ulimit core=0 bb sh -c 'ulimit -n; ulimit -Hn; ulimit -c'
	assert_status 0
	assert_output "100
200
0"
	run_rl run --rm --ulimit nosuch=1 bb true
	assert_rl_error
	assert_match "unknown limit \`nosuch\`" "$stderr"
	run_rl run --rm --ulimit nofile=10:5 bb true
	assert_rl_error
	# Only the host's root could raise a hard limit.
	run_rl run --rm --ulimit nofile=100:999999999 bb true
	assert_rl_error
	assert_match "ulimit nofile" "$stderr"
}

@test "--memory, --pids-limit, --cpus: refused with the reason where they cannot be enforced" {
	local o
	for o in "--memory 64m" "--pids-limit 10" "--cpus 1.5"; do
		# shellcheck disable=SC2086
		run_rl run --rm $o bb true
		assert_rl_error
		assert_match "${o%% *}" "${stderr_lines[-1]}"
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line: $stderr"
	done
	if stat -f -c %T /sys/fs/cgroup | grep -q tmpfs; then
		run_rl run --rm --memory 64m bb true
		assert_match "cannot be enforced here: cgroup v2 with delegation is needed" "$stderr"
	fi
	run_rl run --rm --cpus nope bb true
	assert_rl_error
}

@test "a hostile image: /proc, /sys, /dev as links out, /etc files as links, a fifo, a directory" {
	hostile_image hostile '
		rm -rf proc sys dev
		ln -s / proc
		ln -s /etc sys
		ln -s ../../../../../etc dev
		rm -f etc/hosts etc/resolv.conf etc/hostname
		ln -s /etc/passwd etc/hosts
		mkfifo etc/resolv.conf
		mkdir etc/hostname'
	run_rl run --rm --hostname hh hostile sh -c '
		for p in /proc /sys /dev /dev/pts /etc/hosts /etc/resolv.conf /etc/hostname; do
			[ -L $p ] && echo "LINK $p"
		done
		[ -f /proc/self/status ] && echo proc-ok
		[ -c /dev/null ] && echo dev-ok
		[ -f /etc/hosts ] && [ -f /etc/resolv.conf ] && cat /etc/hostname
		grep -c "^root:" /etc/hosts'
	assert_status 1
	refute_match "LINK"
	assert_line proc-ok
	assert_line dev-ok
	assert_line hh
	assert_line 0
}

@test "a hostile image: a directory with content where /etc/hosts goes is hidden by rl's file" {
	# rl's layer of mount points sits above the image's: its empty
	# /etc/hosts covers whatever the image has there.
	hostile_image hostile2 'rm -f etc/hosts; mkdir -p etc/hosts/x'
	run_rl run --rm --hostname hh2 hostile2 sh -c '[ -f /etc/hosts ] && grep -c hh2 /etc/hosts'
	assert_status 0
	assert_output 1
}

@test "a hostile image: with an /etc rl's layer cannot stand for, a directory where /etc/hosts goes is one line" {
	# /etc of another mode: rl makes its mount points in the container.
	hostile_image hostile3 'chmod 0750 etc; rm -f etc/hosts; mkdir -p etc/hosts/x'
	run_rl run --rm hostile3 true
	assert_rl_error
	assert_match "/etc/hosts" "$stderr"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line: $stderr"
}

@test "rl's mount points do not land in the container's upper layer" {
	run_rl run --name mpcheck bb true
	assert_status 0
	local id
	id=$(rl inspect --format '{{.Id}}' mpcheck)
	[ -z "$(ls -A "$XDG_DATA_HOME/rl/containers/$id/upper")" ] ||
		fail "upper has: $(ls -AR "$XDG_DATA_HOME/rl/containers/$id/upper")"
	rl rm mpcheck >/dev/null
}

@test "a volume and a working directory through a link to /etc stay in the container" {
	hostile_image linked 'ln -s /etc data; ln -s /etc wd'
	local vol="$RL_TEST_DIR/work/vol" mark="rl-escape-$$-$RANDOM"
	mkdir -p "$vol" && echo inside >"$vol/f"
	run_rl run --rm -v "$vol:/data/$mark" -w "/wd/$mark-wd" linked sh -c "cat /etc/$mark/f; pwd"
	assert_status 0
	assert_line inside
	# The link was followed in the container's root: its /etc.
	assert_line "/etc/$mark-wd"
	[ ! -e "/etc/$mark" ] && [ ! -e "/etc/$mark-wd" ] || fail "a mount or directory landed in the host's /etc"
}

@test "no host fd reaches the container; its cwd is inside it" {
	# Read by a child while PID 1 (the shell) waits, so that no fd the
	# shell opens for a redirection or a pipe is counted.
	run_rl run --rm -w /tmp bb sh -c '(echo $(ls /proc/1/fd); readlink /proc/1/cwd) & wait'
	assert_status 0
	assert_output "0 1 2
/tmp"
	# The shell's fds, read from another process so that no pipe of a
	# command substitution is counted.
	# With --init, PID 1 is rl's init: not dumpable, so a user's container
	# may not even list its fds; where it may, only 0, 1 and 2 are there.
	run_rl run --rm --init bb sh -c 'ls /proc/1/fd 2>/dev/null >/tmp/fds; echo $(sort -n /tmp/fds)'
	assert_status 0
	[ "$output" = "0 1 2" ] || [ "$output" = "" ] || { show >&2; fail "PID 1 holds other fds"; }
}

@test "rl is not reachable from inside: every exe is the image's, /proc/1/exe cannot be written" {
	run_rl run --rm bb sh -c '
		for p in /proc/[0-9]*; do readlink $p/exe; done | sort -u
		echo x 2>/dev/null >/proc/1/exe && echo WROTE_EXE
		echo x 2>/dev/null >/proc/self/exe && echo WROTE_SELF
		ls -d /proc/[0-9]* | wc -l'
	assert_status 0
	refute_match "WROTE"
	assert_line /bin/busybox
	refute_match "/rl$"
	# The image's only program; rl's monitor is in the caller's pid namespace.
	[ "$(printf '%s\n' "$output" | grep -c ^/)" -eq 1 ] || fail "an exe other than busybox: $output"
}

@test "--init: PID 1 runs rl's code but holds no fd of rl's and cannot be opened" {
	run_rl run --rm --init --cap-add SYS_PTRACE bb sh -c '
		echo fds $(ls /proc/1/fd 2>/dev/null)
		ls /proc/1/fd/3/ 2>/dev/null && echo STORE
		cat /proc/1/exe 2>/dev/null | wc -c
		echo x 2>/dev/null >>/proc/1/exe && echo WROTE_EXE
		true'
	assert_status 0
	refute_match "STORE|WROTE"
	[[ $output == "fds 0 1 2"* || $output == "fds
"* ]] || { show >&2; fail "PID 1 holds other fds"; }
	assert_line 0
}
