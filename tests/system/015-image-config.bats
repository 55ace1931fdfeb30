#!/usr/bin/env bats
# The image config made with `rl import --change` (Env, Entrypoint, Cmd,
# WorkingDir, User, ...) and how `rl run` honours it, as Docker does: the
# arguments replace Cmd, --entrypoint replaces Entrypoint and clears Cmd,
# -e / -w / -u override Env / WorkingDir / User.

load helpers

setup_file() {
	rl_setup_file
	local tar="$RL_FIXTURES/busybox.tar"
	# Cmd alone, shell form.
	rl import -c 'CMD echo cmd-shell "$0"' "$tar" cmdshell >/dev/null
	# Cmd alone, JSON form.
	rl import -c 'CMD ["echo", "cmd", "json"]' "$tar" cmdjson >/dev/null
	# Entrypoint + Cmd.
	rl import -c 'ENTRYPOINT ["echo", "ep"]' -c 'CMD ["default", "args"]' "$tar" epcmd >/dev/null
	# Env, WorkingDir (relative continues the previous one), User.
	rl import -c 'ENV GREETING=hello NAME="two words"' -c 'ENV LEGACY a b c' \
		-c 'WORKDIR /home' -c 'WORKDIR bob' -c 'USER bob' \
		-c 'CMD ["sh", "-c", "echo \"$GREETING|$NAME|$LEGACY\"; pwd; echo $HOME"]' \
		-m 'made by 015' "$tar" envimg >/dev/null
	# Everything else Podman's --change knows, with the `=` separator too.
	rl import -c 'EXPOSE 80 53/udp' -c 'LABEL org.example.a=1 "b c"=d' -c 'VOLUME ["/data"]' \
		-c 'STOPSIGNAL=SIGINT' -c 'USER=1000:1000' "$tar" misc >/dev/null
}

# config IMAGE PYEXPR: evaluate PYEXPR on the inspect object's Config `c`.
config() {
	rl image inspect "$1" | python3 -c '
import json, sys
i = json.load(sys.stdin)[0]
c = i["Config"]
print(eval(sys.argv[1]))' "$2"
}

@test "import --change writes the instructions into the image config" {
	run config cmdshell 'c["Cmd"]'
	assert_output "['/bin/sh', '-c', 'echo cmd-shell \"\$0\"']"
	run config cmdjson 'c["Cmd"]'
	assert_output "['echo', 'cmd', 'json']"
	run config epcmd '(c["Entrypoint"], c["Cmd"])'
	assert_output "(['echo', 'ep'], ['default', 'args'])"
	run config envimg '(c["Env"][1:], c["WorkingDir"], c["User"])'
	assert_output "(['GREETING=hello', 'NAME=two words', 'LEGACY=a b c'], '/home/bob', 'bob')"
	run config misc '(sorted(c["ExposedPorts"]), c["Labels"], c["Volumes"], c["StopSignal"], c["User"])'
	assert_output "(['53/udp', '80/tcp'], {'org.example.a': '1', 'b c': 'd'}, {'/data': {}}, 'SIGINT', '1000:1000')"
}

@test "import --message is the history comment" {
	run rl image inspect envimg
	assert_status 0
	run python3 -c 'import json,sys; h=json.load(sys.stdin)[0]["History"]; print(h[-1]["comment"])' <<<"$output"
	assert_output "made by 015"
}

@test "bad --change instructions are refused with one line and no image" {
	local tar="$RL_FIXTURES/busybox.tar" before
	before=$(rl images -q | wc -l)
	run_rl import -c 'ONBUILD RUN true' "$tar" bad
	assert_rl_error
	assert_match "ONBUILD is not supported" "$stderr"
	run_rl import -c 'RUN true' "$tar" bad
	assert_rl_error
	assert_match "unknown instruction .RUN." "$stderr"
	run_rl import -c 'CMD ["sh", 1]' "$tar" bad
	assert_rl_error
	run_rl import -c 'ENV A="unterminated' "$tar" bad
	assert_rl_error
	run_rl import -c 'EXPOSE 70000' "$tar" bad
	assert_rl_error
	run_rl import -c 'STOPSIGNAL SIGNOPE' "$tar" bad
	assert_rl_error
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line: $stderr"
	[ "$(rl images -q | wc -l)" -eq "$before" ] || fail "a refused import left an image"
}

@test "the image's Cmd runs when no command is given; arguments replace it" {
	run_rl run --rm cmdshell
	assert_status 0
	assert_output "cmd-shell /bin/sh"
	run_rl run --rm cmdjson
	assert_status 0
	assert_output "cmd json"
	run_rl run --rm cmdjson echo replaced
	assert_status 0
	assert_output "replaced"
}

@test "Entrypoint and Cmd are concatenated; arguments replace only Cmd" {
	run_rl run --rm epcmd
	assert_status 0
	assert_output "ep default args"
	run_rl run --rm epcmd mine too
	assert_status 0
	assert_output "ep mine too"
}

@test "--entrypoint replaces Entrypoint and clears Cmd" {
	run_rl run --rm --entrypoint /bin/echo epcmd
	assert_status 0
	assert_output ""
	run_rl run --rm --entrypoint /bin/echo epcmd given
	assert_status 0
	assert_output "given"
	# JSON form of --entrypoint, and "" clears it: the arguments alone run.
	run_rl run --rm --entrypoint '["echo","j"]' epcmd x
	assert_status 0
	assert_output "j x"
	run_rl run --rm --entrypoint '' epcmd echo plain
	assert_status 0
	assert_output "plain"
}

@test "Env, WorkingDir and User of the image apply" {
	run_rl run --rm envimg
	assert_status 0
	assert_output "hello|two words|a b c
/home/bob
/home/bob"
	run_rl run --rm envimg env
	assert_status 0
	assert_line "GREETING=hello"
	assert_line "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

@test "the image's User is bob (uid 1000) when ids can change" {
	need_mode subuid root
	run_rl run --rm envimg id -u
	assert_status 0
	assert_output "1000"
	run_rl run --rm misc sh -c 'id -u; id -g'
	assert_status 0
	assert_output "1000
1000"
}

@test "-e overrides the image's Env, -w its WorkingDir, -u its User" {
	run_rl run --rm -e GREETING=bye -e NEW=1 envimg sh -c 'echo "$GREETING|$NAME|$NEW"'
	assert_status 0
	assert_output "bye|two words|1"
	run_rl run --rm -w /tmp envimg pwd
	assert_status 0
	assert_output "/tmp"
	run_rl run --rm -u root envimg sh -c 'echo $HOME; pwd'
	assert_status 0
	assert_output "/root
/home/bob"
	if [ "$RL_IDMODE" != single ]; then
		run_rl run --rm -u 0 envimg id -u
		assert_status 0
		assert_output "0"
	fi
}
