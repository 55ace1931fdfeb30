#!/usr/bin/env bats
# Signals: SIGINT/SIGTERM/SIGHUP sent to rl reach the container; a command
# killed by signal N gives 128+N; --init runs a reaping, forwarding PID 1.

load helpers

# forward_test SIG: rl gets SIG, the container's shell (which traps it)
# says so and exits 42.
forward_test() {
	local sig=$1 out="$BATS_TEST_TMPDIR/out"
	rl_bg "$out" run --rm bb sh -c "trap 'echo got-$sig; exit 42' $sig; echo ready; sleep 60 & wait"
	wait_for "$out" '^ready$'
	kill -s "$sig" "$RL_BG_PID"
	wait_bg
	assert_status 42
	run cat "$out"
	assert_line "got-$sig"
}

@test "SIGTERM to rl reaches the container" {
	forward_test TERM
}

@test "SIGINT to rl reaches the container" {
	forward_test INT
}

@test "SIGHUP to rl reaches the container" {
	forward_test HUP
}

@test "SIGUSR1 to rl reaches the container" {
	forward_test USR1
}

@test "a container killed by SIGKILL from outside gives 137" {
	local marker="rl-sigkill-$$" out="$BATS_TEST_TMPDIR/out" pid
	rl_bg "$out" run --rm bb sh -c "echo ready; sleep 60; : $marker"
	wait_for "$out" '^ready$'
	# The container's PID 1 as the host sees it: its command line
	# starts with sh (rl's own carries the marker too).
	pid=$(pgrep -u "$(id -u)" -f "^sh -c echo ready; sleep 60; : $marker")
	[ -n "$pid" ] || fail "container process not found"
	kill -KILL $pid
	wait_bg
	assert_status 137
}

@test "a signal without a handler does not kill PID 1 (kernel rule), rl waits" {
	# PID 1 of a namespace ignores signals it has no handler for; SIGTERM
	# to rl is forwarded, ignored, and the container ends by itself.
	local out="$BATS_TEST_TMPDIR/out"
	rl_bg "$out" run --rm bb sh -c 'echo ready; sleep 1; echo finished'
	wait_for "$out" '^ready$'
	kill -TERM "$RL_BG_PID"
	wait_bg
	assert_status 0
	run cat "$out"
	assert_line finished
}

@test "--init: the command is not PID 1, the init is" {
	run_rl run --rm --init bb sh -c 'echo $$; cd /proc && echo [0-9]*'
	assert_status 0
	assert_output "2
1 2"
}

@test "--init passes the exit status and 128+N for a signal" {
	run_rl run --rm --init bb sh -c 'exit 3'
	assert_status 3
	run_rl run --rm --init bb sh -c 'kill -9 $$'
	assert_status 137
	run_rl run --rm --init bb sh -c 'kill -TERM $$'
	assert_status 143
}

@test "--init forwards SIGTERM: a command without a handler dies of it (143)" {
	local out="$BATS_TEST_TMPDIR/out"
	rl_bg "$out" run --rm --init bb sh -c 'echo ready; sleep 60'
	wait_for "$out" '^ready$'
	kill -TERM "$RL_BG_PID"
	wait_bg
	assert_status 143
	wait_gone 'sleep 60'
}

@test "--init reaps orphaned zombies" {
	run_rl run --rm --init bb sh -c '
		sh -c "sleep 0.2 & exit 0"
		sleep 0.6
		ps -o stat,comm | grep -c "^Z" || true'
	assert_status 0
	assert_output "0"
}

@test "the command's signal dispositions start at their defaults" {
	# Neither what rl ignores or blocks for itself nor what its caller
	# ignored may leak into the container: a batch script's `rl run ... &`
	# starts rl with SIGINT and SIGQUIT ignored, and a shell cannot trap a
	# signal that was ignored when it started, so forwarding would be
	# useless.  SigIgn and SigBlk are bitmasks.  grep runs directly, not
	# from `sh -c`: busybox sh itself leaves SIGQUIT ignored for the
	# command it execs, in or out of a container.
	local init
	for init in "" --init; do
		run --separate-stderr env --ignore-signal=INT,QUIT,HUP,TERM,USR1,PIPE "$RL" run --rm $init bb grep -E "^Sig(Ign|Blk):" /proc/self/status
		assert_status 0
		assert_output "SigBlk:	0000000000000000
SigIgn:	0000000000000000"
	done
}
