#!/usr/bin/env bats
# rl run: exit statuses, standard streams, environment, working directory,
# entrypoint, hostname; behaving as Podman/Docker do.

load helpers

# ---------------------------------------------------------------- exit status

@test "exit status is the command's" {
	run_rl run --rm bb true
	assert_status 0
	assert_output ""
	run_rl run --rm bb false
	assert_status 1
	run_rl run --rm bb sh -c 'exit 3'
	assert_status 3
	run_rl run --rm bb sh -c 'exit 255'
	assert_status 255
}

@test "a status of 128+N from the command passes through" {
	# The inner shell dies of SIGKILL; the outer one reports 137.
	run_rl run --rm bb sh -c 'sh -c "kill -9 \$\$"; exit $?'
	assert_status 137
}

@test "command not found is 127" {
	run_rl -127 run --rm bb /nonexistent/command
	assert_status 127
	[ -n "$stderr" ] || fail "expected a message on stderr"
	run_rl -127 run --rm bb no-such-command-anywhere
	assert_status 127
}

@test "a file that cannot be executed is 126" {
	run_rl run --rm bb /etc/passwd
	assert_status 126
	[ -n "$stderr" ] || fail "expected a message on stderr"
	run_rl run --rm bb /etc
	assert_status 126
}

@test "rl's own failures are 125: bad image, bad option, no command" {
	run_rl run --rm localhost/rl-no-such-image:latest true
	assert_rl_error
	run_rl run --rm 'Not:A:Valid:Reference' true
	assert_rl_error
	run_rl run --rm --no-such-option bb true
	assert_rl_error
	run_rl run --rm --network bogus bb true
	assert_rl_error
	run_rl run --rm --storage-driver bogus bb true
	assert_rl_error
	run_rl run
	assert_rl_error
	run_rl no-such-rl-command
	assert_rl_error
}

@test "an image without Cmd or Entrypoint and no command given fails clearly" {
	# `rl import` makes an image with no Cmd, as `podman import` does.
	run_rl run --rm bb
	assert_rl_error
	assert_output ""
}

@test "a failed run leaves no container behind (--rm or not)" {
	run_rl run --rm localhost/rl-no-such-image:latest true
	run_rl -127 run --rm bb /nonexistent
	run_rl run --rm bb sh -c 'exit 7'
	run_rl ps -aq
	assert_output ""
}

# ---------------------------------------------------------------- streams

@test "stdout and stderr go straight to the caller (no copying in between)" {
	# The container's fd 1 is the very pipe rl's stdout is.
	run bash -c 'readlink /proc/self/fd/1; "$RL" run --rm bb readlink /proc/self/fd/1' </dev/null
	assert_status 0
	[ "${#lines[@]}" -eq 2 ] || fail "want two lines: $output"
	assert_match '^pipe:\[[0-9]+\]$' "${lines[0]}"
	[ "${lines[0]}" = "${lines[1]}" ] || fail "container stdout is not the caller's pipe: $output"

	run_rl run --rm bb sh -c 'echo to-out; echo to-err >&2'
	assert_status 0
	assert_output "to-out"
	[ "${stderr_lines[-1]}" = "to-err" ] || { show; fail "stderr must end with to-err"; }
}

@test "-i streams stdin: echo x | rl run -i img cat" {
	run bash -c 'echo x | "$RL" run -i --rm bb cat'
	assert_status 0
	assert_output "x"
	# Straight through: the container's fd 0 is the caller's pipe.
	run bash -c 'echo | { readlink /proc/self/fd/0; "$RL" run -i --rm bb readlink /proc/self/fd/0; }'
	assert_status 0
	[ "${#lines[@]}" -eq 2 ] && [ "${lines[0]}" = "${lines[1]}" ] || fail "container stdin is not the caller's pipe: $output"
}

@test "-i streams a large input intact" {
	head -c 20000000 /dev/urandom >"$BATS_TEST_TMPDIR/blob"
	local want
	want=$(sha256sum <"$BATS_TEST_TMPDIR/blob" | cut -d' ' -f1)
	run bash -c '"$RL" run -i --rm bb sha256sum <"$1"' _ "$BATS_TEST_TMPDIR/blob"
	assert_status 0
	assert_match "^$want "
	run bash -c '"$RL" run --rm bb head -c 20000000 /dev/zero | wc -c'
	assert_output "20000000"
}

@test "without -i the container's stdin is empty" {
	run bash -c 'echo x | "$RL" run --rm bb cat'
	assert_status 0
	assert_output ""
	run bash -c 'echo x | "$RL" run --rm bb sh -c "read line; echo status=\$?"'
	assert_status 0
	assert_output "status=1"
}

@test "-t without a terminal on stdin fails at once with 125, creating nothing" {
	run_rl run -t --rm bb true </dev/null
	assert_rl_error
	assert_match 'terminal|tty|TTY' "${stderr_lines[-1]}"
	run_rl run -it --name nottty bb true </dev/null
	assert_rl_error
	run_rl ps -aq
	assert_output ""
}

# ---------------------------------------------------------------- environment

@test "default environment: PATH, HOME, HOSTNAME; nothing leaks from the caller" {
	export RL_LEAK_CHECK=leaked
	run_rl run --rm bb sh -c 'echo "$PATH"; echo "$HOME"; echo "${RL_LEAK_CHECK-unset}"; [ "$HOSTNAME" = "$(hostname)" ] && echo hostname-ok'
	assert_status 0
	assert_output "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
/root
unset
hostname-ok"
}

@test "-e/--env VAR=value, -e VAR from the caller, -e VAR unset in the caller" {
	export FROM_CALLER="caller value"
	unset NOT_IN_CALLER
	run_rl run --rm -e A=1 --env B="two words" -e FROM_CALLER -e NOT_IN_CALLER -e EMPTY= --env=C=x=y \
		bb sh -c 'echo "$A|$B|$FROM_CALLER|${NOT_IN_CALLER-unset}|${EMPTY-unset}|$C"'
	assert_status 0
	assert_output "1|two words|caller value|unset||x=y"
}

@test "-e overrides the defaults" {
	run_rl run --rm -e PATH=/bin -e HOME=/tmp bb sh -c 'echo "$PATH $HOME"'
	assert_status 0
	assert_output "/bin /tmp"
}

@test "--env-file: comments, blank lines, VAR from the caller, empty values" {
	cat >"$BATS_TEST_TMPDIR/env" <<-'EOF'
		# a comment
		A=1

		B=two words
		FROM_CALLER
		EMPTY=
		C=x=y
	EOF
	export FROM_CALLER=fc
	run_rl run --rm --env-file "$BATS_TEST_TMPDIR/env" bb sh -c 'echo "$A|$B|$FROM_CALLER|${EMPTY-unset}|$C"'
	assert_status 0
	assert_output "1|two words|fc||x=y"
	# -e given after --env-file wins.
	run_rl run --rm --env-file "$BATS_TEST_TMPDIR/env" -e A=2 bb sh -c 'echo "$A"'
	assert_output "2"
	run_rl run --rm --env-file /nonexistent/env bb true
	assert_rl_error
}

# ---------------------------------------------------------------- workdir, entrypoint

@test "working directory: / by default, -w and --workdir" {
	run_rl run --rm bb pwd
	assert_status 0
	assert_output "/"
	run_rl run --rm -w /tmp bb pwd
	assert_output "/tmp"
	run_rl run --rm --workdir /home/bob bb pwd
	assert_output "/home/bob"
	run_rl run --rm --workdir=/usr/bin bb sh -c 'pwd; ls wc'
	assert_output "/usr/bin
wc"
}

@test "--entrypoint replaces the entrypoint; the command becomes its arguments" {
	run_rl run --rm --entrypoint /bin/echo bb hello world
	assert_status 0
	assert_output "hello world"
	run_rl run --rm --entrypoint echo bb
	assert_status 0
	assert_output ""
	run_rl run --rm --entrypoint=cat bb /etc/rl-fixture
	assert_output "rl-test-busybox"
	run_rl -127 run --rm --entrypoint /nonexistent bb
	assert_status 127
}

@test "arguments reach the command unchanged" {
	run_rl run --rm bb sh -c 'for a in "$@"; do echo "[$a]"; done' sh 'a b' '' '*' '$HOME' "it's"
	assert_status 0
	assert_output '[a b]
[]
[*]
[$HOME]
[it'"'"'s]'
	# Options after the image belong to the command, not to rl.
	run_rl run --rm bb sh -c 'for a; do echo "[$a]"; done' sh --rm -t -e x
	assert_output "[--rm]
[-t]
[-e]
[x]"
}

# ---------------------------------------------------------------- hostname

@test "hostname: the short container id by default, -h/--hostname sets it" {
	run_rl run --name hn bb sh -c 'hostname; cat /etc/hostname'
	assert_status 0
	assert_match '^[0-9a-f]{12}$' "${lines[0]}"
	[ "${lines[0]}" = "${lines[1]}" ] || fail "/etc/hostname differs: $output"
	[ "${lines[0]}" != "$(hostname)" ] || fail "container has the host's hostname"
	local h=${lines[0]}
	run_rl ps -a
	assert_match "(^|"$'\n'")$h +localhost/bb:latest .* hn$"
	run_rl rm hn
	assert_status 0

	run_rl run --rm -h myhost bb sh -c 'hostname; cat /etc/hostname; echo "$HOSTNAME"'
	assert_status 0
	assert_output "myhost
myhost
myhost"
	run_rl run --rm --hostname=other.example bb hostname
	assert_output "other.example"
}

@test "/etc/hostname, /etc/hosts and /etc/resolv.conf are present" {
	run_rl run --rm -h myhost bb sh -c 'for f in /etc/hostname /etc/hosts /etc/resolv.conf; do test -f $f && echo $f; done; grep -c localhost /etc/hosts'
	assert_status 0
	assert_line "/etc/hostname"
	assert_line "/etc/hosts"
	assert_line "/etc/resolv.conf"
	[ "${lines[-1]}" -ge 1 ] || fail "/etc/hosts has no localhost"
}
