#!/usr/bin/env bats
# -t: a real pty from the container's devpts, the caller's terminal in raw
# mode and restored on every exit path, window size set and followed.
#
# pty.py runs rl on a fresh pseudo-terminal, types, and fails with 254 if
# the terminal's attributes differ after rl exits, 253 on a timeout.

load helpers

PROMPT='[#$] '

@test "interactive shell: type 'echo hi; exit 3', see hi, status 3, terminal restored" {
	run_pty --timeout 20 --expect "$PROMPT" --send 'echo hi; exit 3\r' -- "$RL" run -it --rm bb sh
	assert_status 3
	assert_line "hi"
	# Raw mode: only the container's terminal echoes what is typed; a
	# cooked outer terminal would echo it a second time.
	local n
	n=$(grep -o 'echo hi; exit 3' <<<"$output" | wc -l)
	[ "$n" -eq 1 ] || { show; fail "typed line echoed $n times"; }
	run_rl ps -aq
	assert_output ""
}

@test "-t: stdin, stdout, stderr are the container's pty; /dev/console exists; TERM" {
	run_pty --timeout 20 -- "$RL" run -t --rm bb sh -c 'tty; test -t 1 && test -t 2 && echo all-tty; test -c /dev/console && echo console; echo "$TERM"'
	assert_status 0
	assert_output "/dev/pts/0
all-tty
console
xterm"
}

@test "-t: /dev also has console and the pts are the container's own" {
	run_pty --timeout 20 -- "$RL" run -t --rm bb sh -c 'ls -A /dev | tr "\n" " "; echo; ls /dev/pts | tr "\n" " "'
	assert_status 0
	local want="console full mqueue null pts random shm tty urandom zero" e
	for e in $want; do
		[[ " ${lines[0]} " == *" $e "* ]] || fail "missing /dev/$e: ${lines[0]}"
	done
	for e in ${lines[0]}; do
		[[ " $want ptmx fd stdin stdout stderr " == *" $e "* ]] || fail "unexpected /dev/$e: ${lines[0]}"
	done
	# Only the container's own terminal: 0 (and ptmx), none of the host's.
	assert_match '^(0 ptmx |ptmx 0 |0 )$' "${lines[1]}"
}

@test "-t: the window size is the caller's" {
	run_pty --timeout 20 --size 33x101 -- "$RL" run -t --rm bb stty size
	assert_status 0
	assert_output "33 101"
}

@test "-t: a window resize reaches the container (SIGWINCH)" {
	run_pty --timeout 20 --size 24x80 --expect '^ready' --resize 40x120 -- \
		"$RL" run -it --rm bb sh -c 'trap "stty size; exit 0" WINCH; stty size; echo ready; while :; do sleep 0.05; done'
	assert_status 0
	assert_output "24 80
ready
40 120"
}

@test "-t: Ctrl-C goes to the container, not to rl" {
	run_pty --timeout 20 --expect '^ready' --send '\x03' -- \
		"$RL" run -it --rm bb sh -c 'trap "echo got-int; exit 5" INT; echo ready; while :; do sleep 0.05; done'
	assert_status 5
	# The container's terminal echoes ^C (ECHOCTL) just before.
	assert_match '(^|'$'\n''|\^C)got-int('$'\n''|$)'
}

@test "-t: Ctrl-D ends input; cat echoes what is typed" {
	run_pty --timeout 20 --expect '^ready' --send 'abc\r' --expect 'abc\r?\nabc' --send '\x04' -- \
		"$RL" run -it --rm bb sh -c 'echo ready; cat; echo done'
	assert_status 0
	assert_line "done"
}

@test "-t: all output is delivered before rl exits" {
	run_pty --timeout 20 -- "$RL" run -t --rm bb sh -c 'seq 1 3000; exit 4'
	assert_status 4
	[ "${#lines[@]}" -eq 3000 ] || fail "got ${#lines[@]} lines"
	assert_match '^1'$'\n''2'$'\n'
	[ "${lines[2999]}" = 3000 ] || fail "last line is ${lines[2999]}"
}

@test "-t: SIGTERM to rl reaches the container; terminal restored" {
	run_pty --timeout 20 --expect '^ready' --signal TERM -- \
		"$RL" run -it --rm bb sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.05; done'
	assert_status 7
	assert_line "got-term"
}

@test "-t: SIGHUP to rl (terminal gone) ends the session; terminal restored" {
	run_pty --timeout 20 --expect '^ready' --signal HUP -- \
		"$RL" run -it --rm bb sh -c 'trap "exit 9" HUP; echo ready; while :; do sleep 0.05; done'
	assert_status 9
}

@test "-t: errors restore the terminal too (127, 126, 125)" {
	run_pty --timeout 20 -- "$RL" run -it --rm bb /nonexistent
	assert_status 127
	run_pty --timeout 20 -- "$RL" run -it --rm bb /etc/passwd
	assert_status 126
	run_pty --timeout 20 -- "$RL" run -it --rm localhost/rl-no-such-image true
	assert_status 125
}

@test "-t: a command killed by a signal gives 128+N, terminal restored" {
	run_pty --timeout 20 -- "$RL" run -it --rm --init bb sh -c 'kill -9 $$'
	assert_status 137
}

@test "-i without -t under a terminal: input streams, the terminal is left alone" {
	# Without -t the container uses the caller's terminal as it is (no
	# raw mode, no copying): the typed line is echoed by the terminal.
	run_pty --timeout 20 --expect '^ready' --send 'line\r' -- \
		"$RL" run -i --rm bb sh -c 'echo ready; read l; echo "got $l"'
	assert_status 0
	assert_line "line"
	assert_line "got line"
}
