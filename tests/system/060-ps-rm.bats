#!/usr/bin/env bats
# rl ps / rm / --rm / --name, and what is left when rl itself is killed.

load helpers

setup() {
	rl rm -af >/dev/null 2>&1 || true
}

PS_HEADER='^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +NAMES$'

@test "ps with no containers prints the header; -q prints nothing" {
	run_rl ps
	assert_status 0
	assert_match "$PS_HEADER"
	run_rl ps -a
	assert_output "$(rl ps)"
	run_rl ps -aq
	assert_status 0
	assert_output ""
}

@test "an exited container: only in ps -a, with its status and name" {
	run_rl run --name exited3 bb sh -c 'exit 3'
	assert_status 3
	run_rl ps
	assert_status 0
	[ "${#lines[@]}" -eq 1 ] || { show; fail "ps without -a lists exited containers"; }
	run_rl ps -a
	assert_status 0
	assert_match "$PS_HEADER" "${lines[0]}"
	[ "${#lines[@]}" -eq 2 ] || { show; fail "want one container"; }
	assert_match '^[0-9a-f]{12} +localhost/bb:latest +.*Exited \(3\).* +exited3$' "${lines[1]}"
	local id=${lines[1]:0:12}
	run_rl ps -aq
	assert_output "$id"
}

@test "a running container: ps shows it Up, ps -q its id" {
	rl_bg "$BATS_TEST_TMPDIR/out" run --name runner bb sh -c 'trap "exit 0" TERM; echo ready; sleep 60 & wait'
	wait_for "$BATS_TEST_TMPDIR/out" '^ready$'
	run_rl ps
	assert_status 0
	[ "${#lines[@]}" -eq 2 ] || { show; fail "want one running container"; }
	assert_match '^[0-9a-f]{12} +localhost/bb:latest +.* +Up .* +runner$' "${lines[1]}"
	local id=${lines[1]:0:12}
	run_rl ps -q
	assert_output "$id"
	# A running container is not removed without -f.
	run_rl rm runner
	[ "$status" -ne 0 ] || { show; fail "rm of a running container must fail without -f"; }
	run_rl ps -q
	assert_output "$id"
	# -f stops it, removes it, and its rl returns.
	run_rl rm -f runner
	assert_status 0
	wait_bg
	run_rl ps -aq
	assert_output ""
	wait_gone 'sleep 60'
}

@test "ps while containers start: Created or Up, never taken for killed; each ends Exited (0)" {
	# Between its record and its live state a starting container has
	# neither: ps must not write it down as killed (Exited (137)).
	local i
	(for i in $(seq 1 15); do rl run --name st$i bb sleep 0.1 >/dev/null 2>&1 || echo "run $i: $?"; done) \
		>"$BATS_TEST_TMPDIR/runs" &
	local pid=$! n=0
	while kill -0 "$pid" 2>/dev/null; do
		rl ps -a --format '{{.Names}} {{.Status}}' >>"$BATS_TEST_TMPDIR/seen" 2>&1
		n=$((n + 1))
	done
	wait "$pid"
	run cat "$BATS_TEST_TMPDIR/runs"
	assert_output ""
	[ "$n" -ge 10 ] || fail "only $n looks while 15 containers ran"
	run grep -Ev '^st[0-9]+ (Created|Up .*|Exited \(0\) .*)$' "$BATS_TEST_TMPDIR/seen"
	[ "$status" -eq 1 ] || { show; fail "ps saw a starting container as something else"; }
	run_rl ps -a --format '{{.Names}} {{.Status}}'
	[ "${#lines[@]}" -eq 15 ] || { show; fail "want 15 containers"; }
	run grep -Evc '^st[0-9]+ Exited \(0\) ' <<<"$output"
	assert_output 0
}

@test "rm -f of a container while it starts: it ends, nothing is left running" {
	# rm -f as soon as the name exists: mostly before the container's live
	# state, when there is nothing to signal yet; the starting rl sees the
	# stop and ends it.
	local i n
	for i in 1 2 3 4 5 6 7 8 9; do
		"$RL" run --name rs$i bb sleep 30$i >/dev/null 2>&1 3>&- &
		for ((n = 0; n < 500; n++)); do
			"$RL" rm -f rs$i >/dev/null 2>&1 && break
		done
		[ "$n" -lt 500 ] || fail "rm -f rs$i never found it"
	done
	wait_gone '^sleep 30[1-9]$' 10 || fail "containers outlived their rm -f"
	run_rl ps -aq
	assert_output ""
}

@test "rm by name, by id, several at once; rm -a" {
	rl run --name a1 bb true
	rl run --name a2 bb true
	rl run --name a3 bb true
	rl run --name a4 bb true
	local id2
	id2=$(rl ps -a | awk '$NF == "a2" { print $1 }')
	[ -n "$id2" ] || fail "a2 not listed"
	run_rl rm a1
	assert_status 0
	run_rl rm "$id2"
	assert_status 0
	run_rl ps -a
	refute_match ' a1$| a2$'
	assert_match ' a3$'
	run_rl rm -a
	assert_status 0
	run_rl ps -aq
	assert_output ""
}

@test "rm of a missing container fails" {
	run_rl rm no-such-container
	[ "$status" -ne 0 ] || { show; fail "expected failure"; }
	[[ ${stderr_lines[-1]} == "rl: "* ]] || { show; fail "expected an rl: error line"; }
}

@test "--rm removes the container at exit, whatever its status" {
	run_rl run --rm --name gone bb sh -c 'exit 4'
	assert_status 4
	run_rl ps -aq
	assert_output ""
	# The name is free again.
	run_rl run --rm --name gone bb true
	assert_status 0
}

@test "--rm: when rl returns the container is gone; its files, of other ids too, go just after" {
	run_rl run --rm --name bg bb sh -c 'mkdir -p /d/e && touch /d/e/f && chown -R 1:1 /d && chmod 000 /d/e /d'
	assert_status 0
	run_rl ps -aq
	assert_output ""
	# The record went with rl; a child of rl's deletes the files after it.
	run ls -A "$(rl_store)/containers"
	assert_output ""
	wait_removals || fail "the removed container's files stay in tmp/"
	wait_gone "run --rm --name bg" || fail "the removing child lives on"
	run_rl run --rm --name bg bb true
	assert_status 0
}

@test "a removal cut short (tmp/rm-*) is finished by the next --rm, and by image commands" {
	local s
	s=$(rl_store)
	mkdir -p "$s/tmp/rm-0123abcd/upper/d" && touch "$s/tmp/rm-0123abcd/upper/d/f"
	chmod 000 "$s/tmp/rm-0123abcd/upper/d"
	rl run --rm bb true
	wait_removals || fail "tmp/rm-0123abcd left behind"
	mkdir -p "$s/tmp/rm-4567ef/upper"
	rl rmi no-such-image >/dev/null 2>&1 || true
	[ ! -e "$s/tmp/rm-4567ef" ] || fail "rmi's gc left tmp/rm-4567ef"
}

@test "--name must be unique" {
	private_runtime_dir
	run_rl run --name twice bb true
	assert_status 0
	local before
	before=$(ls -A "$XDG_RUNTIME_DIR/rl/containers")
	run_rl run --name twice bb true
	assert_rl_error
	assert_match 'twice' "${stderr_lines[-1]}"
	run_rl ps -a
	[ "$(grep -c ' twice$' <<<"$output")" -eq 1 ] || { show; fail "want one container named twice"; }
	# The refused run leaves nothing in the runroot either (the ports it
	# bound were written there before the name was found taken).
	run ls -A "$XDG_RUNTIME_DIR/rl/containers"
	assert_output "$before"
}

@test "generated names and ids are unique" {
	local i
	for i in 1 2 3 4 5; do
		rl run bb true
	done
	run_rl ps -a
	assert_status 0
	[ "${#lines[@]}" -eq 6 ] || { show; fail "want 5 containers"; }
	[ "$(tail -n +2 <<<"$output" | awk '{ print $1 }' | sort -u | wc -l)" -eq 5 ] || fail "ids not unique"
	[ "$(tail -n +2 <<<"$output" | awk '{ print $NF }' | sort -u | wc -l)" -eq 5 ] || fail "names not unique"
}

# kill_rl_test DRIVER: kill -9 the rl of a running container; then ps -a
# shows it (exited, or still up if its processes live on), rm -f cleans up,
# and no process or mount is left.
kill_rl_test() {
	local marker="rl-kill9-$1-$$"
	rl_bg "$BATS_TEST_TMPDIR/out" run --name k9 ${1:+--storage-driver "$1"} bb sh -c "echo ready; sleep 120; : $marker"
	wait_for "$BATS_TEST_TMPDIR/out" '^ready$'
	kill -KILL "$RL_BG_PID"
	wait "$RL_BG_PID" 2>/dev/null || true

	run_rl ps -a
	assert_status 0
	assert_match '(^|'$'\n'')[0-9a-f]{12} +localhost/bb:latest .*(Exited|Up).* +k9$'
	run_rl rm -f k9
	assert_status 0
	run_rl ps -aq
	assert_output ""
	wait_gone "$marker"
	wait_gone "$RL_TEST_DIR/data"
	# Kernel mounts of the container lived in its own mount namespace;
	# none may have reached the caller's.
	if grep -F "$RL_TEST_DIR" /proc/self/mountinfo; then
		fail "mounts left in the caller's namespace"
	fi
}

@test "kill -9 of rl: rm -f cleans up, nothing left (overlay)" {
	kill_rl_test ""
}

@test "kill -9 of rl: rm -f cleans up, nothing left (fuse-overlayfs)" {
	kill_rl_test fuse-overlayfs
}

@test "kill -9 of rl, then ps -a shows it exited once its processes are gone" {
	local marker="rl-kill9-wait-$$"
	rl_bg "$BATS_TEST_TMPDIR/out" run --name k9b bb sh -c "echo ready; sleep 120; : $marker"
	wait_for "$BATS_TEST_TMPDIR/out" '^ready$'
	kill -KILL "$RL_BG_PID"
	wait "$RL_BG_PID" 2>/dev/null || true
	# If the container outlived its rl, end it from outside, as an admin
	# would; rl must notice on its next look.
	pkill -KILL -u "$(id -u)" -f "^sh -c echo ready; sleep 120; : $marker" || true
	wait_gone "$marker"
	run_rl ps
	assert_status 0
	refute_match ' k9b$'
	run_rl ps -a
	assert_match ' +Exited .* +k9b$'
	run_rl rm k9b
	assert_status 0
}
