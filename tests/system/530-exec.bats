#!/usr/bin/env bats
# rl exec: a process in a running container with its PID 1's namespaces and
# confinement (seccomp, capabilities, user rules), its environment, user
# and working directory, exit statuses, stdio, -it through a real pty,
# signals; rl top: the container's processes.

load helpers

# start_ctr NAME RUN-OPTIONS... -- CMD...: `rl run --name NAME` in the
# background (all output to a file, fd 3 closed so that bats does not wait
# for it), until `rl ps` shows it running.
start_ctr() {
	local name=$1 i
	shift
	env --default-signal "$RL" run --name "$name" "$@" \
		>"$RL_TEST_DIR/$name.out" 2>&1 </dev/null 3>&- &
	for ((i = 0; i < 500; i++)); do
		rl ps 2>/dev/null | grep -q " $name\$" && return 0
		sleep 0.02
	done
	echo "container $name did not start; its output:" >&2
	cat "$RL_TEST_DIR/$name.out" >&2
	return 1
}

setup_file() {
	rl_setup_file
	import_busybox bb >/dev/null
	start_ctr c --hostname exectest -e FOO=ctr -e KEEP=kept -w /tmp bb sleep 1000
}

teardown_file() {
	rl_teardown_file
}

@test "exec sees the container's files, hostname and pid namespace (PID 1 is its command)" {
	run_rl exec c sh -c 'echo made-by-exec >/tmp/exec-file'
	assert_status 0
	run_rl exec c cat /tmp/exec-file
	assert_status 0
	assert_output made-by-exec
	# Not the host's file system: the host has no such file.
	[ ! -e /tmp/exec-file ] || fail "the file was written on the host"
	run_rl exec c hostname
	assert_output exectest
	run_rl exec c ps -o pid,args
	assert_status 0
	assert_match '(^|'$'\n'')[[:space:]]*1 sleep 1000'
	# Every namespace is PID 1's.
	run_rl exec c sh -c 'for n in user mnt pid uts ipc net cgroup; do
		[ "$(readlink /proc/self/ns/$n)" = "$(readlink /proc/1/ns/$n)" ] && echo "$n same" || echo "$n differs"; done'
	assert_status 0
	assert_output "user same
mnt same
pid same
uts same
ipc same
net same
cgroup same"
}

@test "environment: the container's, with exec's -e and --env-file on top" {
	printf 'FROMFILE=file\nBAR=file\n' >"$BATS_TEST_TMPDIR/envfile"
	run_rl exec -e BAR=exec -e FOO=over --env-file "$BATS_TEST_TMPDIR/envfile" c \
		sh -c 'echo "$FOO $KEEP $BAR $FROMFILE $HOSTNAME $HOME $PATH"'
	assert_status 0
	assert_output "over kept exec file exectest /root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	run_rl exec c sh -c 'echo "$FOO ${BAR-unset} ${TERM-noterm}"'
	assert_output "ctr unset noterm"
}

@test "-u: the user (a subordinate id, or root in the single-id map); -w and the container's workdir" {
	run_rl exec c id -u
	assert_output 0
	run_rl exec -u bob c sh -c 'id -u; id -g; echo "$HOME"'
	assert_status 0
	if [ "$RL_IDMODE" = single ]; then
		# One id: the container's root stays root, as with rl run -u.
		assert_output "0
0
/home/bob"
	else
		assert_output "1000
1000
/home/bob"
	fi
	run_rl exec -u nosuchuser c true
	assert_rl_error
	[[ $stderr == *nosuchuser* ]] || fail "stderr: $stderr"
	run_rl exec c pwd
	assert_output /tmp
	run_rl exec -w /etc c pwd
	assert_output /etc
	run_rl exec -w /nonexistent c pwd
	assert_rl_error
}

@test "exit status: the command's, 128+N on a signal, 126, 127" {
	run_rl exec c sh -c 'exit 7'
	assert_status 7
	run_rl exec c sh -c 'kill -TERM $$'
	assert_status 143
	run_rl -127 exec c nosuchcommand
	[[ $stderr == *nosuchcommand* ]] || fail "stderr: $stderr"
	run_rl -126 exec c /etc/passwd
	assert_status 126
}

@test "refused on a stopped or unknown container (125)" {
	run_rl run --name stopped bb true
	assert_status 0
	run_rl exec stopped true
	assert_rl_error
	[[ $stderr == *"container stopped is not running"* ]] || fail "stderr: $stderr"
	run_rl top stopped
	assert_rl_error
	[[ $stderr == *"not running"* ]] || fail "stderr: $stderr"
	run_rl exec nosuchctr true
	assert_rl_error
	run_rl exec c
	assert_rl_error
	run_rl rm stopped
	assert_status 0
}

@test "the same seccomp filter as run: no new user namespace, no mount" {
	run_rl exec c sh -c '
		unshare -U true 2>&1 && echo unshare-U-worked
		unshare -m true 2>&1 && echo unshare-m-worked
		mount -t tmpfs none /tmp 2>&1 && echo mount-worked
		true'
	assert_status 0
	refute_match worked
	assert_match "Operation not permitted"
	# The same as rl run's own process.
	run_rl run --rm bb sh -c 'unshare -U true 2>&1; echo $?'
	local in_run=$output
	run_rl exec c sh -c 'unshare -U true 2>&1; echo $?'
	[ "$output" = "$in_run" ] || fail "exec: '$output', run: '$in_run'"
}

@test "capabilities: the container's set (CapEff, CapBnd as PID 1's); none for another user; --privileged all" {
	run_rl exec c sh -c 'grep -E "^Cap(Eff|Bnd|Prm)" /proc/self/status; grep -E "^Cap(Eff|Bnd|Prm)" /proc/1/status'
	assert_status 0
	[ "${#lines[@]}" -eq 6 ] || fail "$output"
	[ "${lines[0]}" = "${lines[3]}" ] && [ "${lines[1]}" = "${lines[4]}" ] && [ "${lines[2]}" = "${lines[5]}" ] ||
		fail "exec's capabilities differ from PID 1's: $output"
	[ "${lines[2]}" != "$(printf 'CapEff:\t0000000000000000')" ] || fail "no capabilities at all: $output"
	if [ "$RL_IDMODE" != single ]; then
		run_rl exec -u bob c grep ^CapEff /proc/self/status
		assert_output "$(printf 'CapEff:\t0000000000000000')"
	fi
	run_rl exec --privileged c sh -c 'grep ^CapEff /proc/self/status; grep ^CapEff /proc/1/status'
	assert_status 0
	[ "${lines[0]}" != "${lines[1]}" ] || fail "--privileged gave no more: $output"
	# Every capability of the kernel: cap_last_cap + 1 bits.
	local last want
	last=$(cat /proc/sys/kernel/cap_last_cap)
	want=$(printf 'CapEff:\t%016x' $(((1 << (last + 1)) - 1)))
	[ "${lines[0]}" = "$want" ] || fail "--privileged: ${lines[0]}, want $want"
}

@test "a container with CAP_SYS_ADMIN (PID 1 in a nested user namespace): exec joins it" {
	start_ctr sa --cap-add SYS_ADMIN bb sleep 1000
	run_rl exec sa sh -c 'for n in user mnt pid uts ipc net cgroup; do
		[ "$(readlink /proc/self/ns/$n)" = "$(readlink /proc/1/ns/$n)" ] && echo "$n same"; done
		grep ^CapEff /proc/self/status; grep ^CapEff /proc/1/status'
	assert_status 0
	[ "${#lines[@]}" -eq 9 ] || fail "$output"
	[ "${lines[6]}" = "cgroup same" ] || fail "$output"
	[ "${lines[7]}" = "${lines[8]}" ] || fail "capabilities differ: $output"
	run_rl exec sa ps -o pid,args
	assert_match '(^|'$'\n'')[[:space:]]*1 sleep 1000'
	run_rl exec sa sh -c 'mount -t tmpfs none /tmp && echo mounted'
	assert_output mounted
	run_rl rm -f sa
	assert_status 0
}

@test "stdio: without -i stdin is /dev/null, with -i the caller's; output goes straight through" {
	run --separate-stderr bash -c 'echo from-caller | timeout 30 "$RL" exec c cat; echo "status $?"'
	assert_output "status 0"
	run --separate-stderr bash -c 'echo from-caller | timeout 30 "$RL" exec -i c cat; echo "status $?"'
	assert_output "from-caller
status 0"
	run_rl exec c sh -c 'echo out; echo err >&2'
	assert_output out
	[ "$stderr" = err ] || fail "stderr: $stderr"
}

@test "-it through a real pty: type 'echo hi; exit 3', see hi, status 3, terminal restored" {
	run_pty --timeout 20 --expect '[#$] ' --send 'echo hi; exit 3\r' -- "$RL" exec -it c sh
	assert_status 3
	assert_line "hi"
	run_pty --timeout 20 --size 33x101 -- "$RL" exec -t c sh -c 'tty; stty size; echo "$TERM"'
	assert_status 0
	[ "${#lines[@]}" -eq 3 ] || fail "$output"
	assert_match '^/dev/pts/[0-9]+'
	[ "${lines[1]}" = "33 101" ] && [ "${lines[2]}" = xterm ] || fail "$output"
}

@test "-it: a window resize reaches the process (SIGWINCH)" {
	run_pty --timeout 20 --size 24x80 --expect '^ready' --resize 40x120 -- \
		"$RL" exec -it c sh -c 'trap "stty size; exit 0" WINCH; stty size; echo ready; while :; do sleep 0.05; done'
	assert_status 0
	assert_output "24 80
ready
40 120"
}

@test "-t without a terminal on stdin fails at once; -t with -d is refused" {
	run_rl exec -t c true </dev/null
	assert_rl_error
	[[ $stderr == *"not a TTY"* ]] || fail "stderr: $stderr"
	run_rl exec -dt c true
	assert_rl_error
}

@test "signals to rl exec reach the process" {
	local out="$BATS_TEST_TMPDIR/out"
	rl_bg "$out" exec c sh -c 'trap "echo got-term; exit 5" TERM; echo ready; while :; do sleep 0.1; done'
	wait_for "$out" '^ready$'
	kill -TERM "$RL_BG_PID"
	wait_bg
	assert_status 5
	run cat "$out"
	assert_line got-term
}

@test "-d: returns at once, the process runs on; top shows it" {
	run_rl exec -d c sleep 777
	assert_status 0
	assert_output ""
	run_rl top c
	assert_status 0
	assert_match 'sleep 777'
	run_rl exec c sh -c 'kill $(pidof sleep | tr " " "\n" | while read p; do [ "$p" != 1 ] && echo $p; done)'
	assert_status 0
}

@test "top: USER PID PPID %CPU ELAPSED TTY TIME COMMAND, PID 1 is the container's command" {
	run_rl top c
	assert_status 0
	assert_match '^USER +PID +PPID +%CPU +ELAPSED +TTY +TIME +COMMAND'
	assert_match $'\n''root +1 +0 +[0-9.]+ +[0-9hms.]+ +\? +[0-9hms.]+ +sleep 1000'
	# Only the container's processes.
	refute_match 'bats'
	run_rl top c -o pid,args
	assert_status 0
	assert_match '(^|'$'\n'')[[:space:]]*1 sleep 1000'
	assert_match 'ps -o pid,args'
}

@test "--init container (PID 1 is rl's init) and --network host: exec and top work" {
	start_ctr ini --init bb sleep 1000
	run_rl exec ini sh -c 'echo "$(readlink /proc/self/ns/pid) $(readlink /proc/self/ns/mnt)"; ps -o pid,ppid,args'
	assert_status 0
	assert_match $'\n''[[:space:]]*2[[:space:]]+1 sleep 1000'
	run_rl exec ini sh -c 'exit 4'
	assert_status 4
	run_rl top ini
	assert_status 0
	assert_match $'\n''root +1 +0 .*'$'\n''root +2 +1 .*sleep 1000'
	run_rl rm -f ini
	assert_status 0

	start_ctr hn --network host bb sleep 1000
	run_rl exec hn readlink /proc/self/ns/net
	assert_status 0
	assert_output "$(readlink /proc/self/ns/net)"
	run_rl exec c readlink /proc/self/ns/net
	[ "$output" != "$(readlink /proc/self/ns/net)" ] || fail "c has the host's network namespace"
	run_rl rm -f hn
	assert_status 0
}
