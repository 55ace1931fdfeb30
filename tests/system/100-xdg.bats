#!/usr/bin/env bats
# Where rl keeps things (XDG), with and without XDG_RUNTIME_DIR, and several
# rl processes of one user at once.

load helpers

@test "the store is \$XDG_DATA_HOME/rl" {
	[ -d "$XDG_DATA_HOME/rl" ] || fail "no $XDG_DATA_HOME/rl after import"
	run_rl images
	assert_match '(^|'$'\n'')localhost/bb +latest '
}

@test "without XDG_DATA_HOME the store is ~/.local/share/rl" {
	local home="$BATS_TEST_TMPDIR/home"
	mkdir -p "$home"
	run --separate-stderr env -u XDG_DATA_HOME -u XDG_CONFIG_HOME -u XDG_CACHE_HOME HOME="$home" "$RL" import "$RL_FIXTURES/busybox.tar" homebb
	assert_status 0
	[ -d "$home/.local/share/rl" ] || fail "no store under HOME"
	run --separate-stderr env -u XDG_DATA_HOME -u XDG_CONFIG_HOME -u XDG_CACHE_HOME HOME="$home" "$RL" run --rm homebb cat /etc/rl-fixture
	assert_status 0
	assert_output "rl-test-busybox"
	# It is a different store from this file's.
	run_rl image inspect homebb
	[ "$status" -ne 0 ] || fail "homebb visible in the XDG_DATA_HOME store"
	env -u XDG_DATA_HOME HOME="$home" "$RL" rmi -af >/dev/null 2>&1 || true
}

@test "XDG_RUNTIME_DIR unset: a private runtime directory under TMPDIR (mode 0700)" {
	[ -z "${XDG_RUNTIME_DIR:-}" ] || fail "the suite must run without XDG_RUNTIME_DIR"
	local fifo="$BATS_TEST_TMPDIR/fifo" out="$BATS_TEST_TMPDIR/out"
	mkfifo "$fifo"
	env --default-signal "$RL" run -i --rm bb sh -c 'echo ready; read x' <"$fifo" >"$out" 2>&1 &
	RL_BG_PID=$!
	exec 9>"$fifo"
	wait_for "$out" '^ready$'
	# While a container runs, its live state is somewhere private.
	local dir="$TMPDIR/rl-$(id -u)"
	[ -d "$dir" ] || fail "no runtime directory $dir"
	[ "$(stat -c %a:%u "$dir")" = "700:$(id -u)" ] || fail "$dir is $(stat -c %a:%u "$dir")"
	echo go >&9
	exec 9>&-
	wait_bg
	assert_status 0
}

@test "XDG_RUNTIME_DIR set: rl uses it" {
	local rt="$BATS_TEST_TMPDIR/runtime"
	mkdir -m 0700 "$rt"
	XDG_RUNTIME_DIR="$rt" run --separate-stderr "$RL" run --rm bb echo ok
	assert_status 0
	assert_output "ok"
	XDG_RUNTIME_DIR="$rt" run --separate-stderr "$RL" ps -a
	assert_status 0
}

@test "ps and rm work the same with and without XDG_RUNTIME_DIR" {
	run_rl run --name rt-a bb true
	assert_status 0
	local rt="$BATS_TEST_TMPDIR/runtime"
	mkdir -m 0700 "$rt"
	XDG_RUNTIME_DIR="$rt" run --separate-stderr "$RL" ps -a
	assert_status 0
	assert_match ' rt-a$'
	XDG_RUNTIME_DIR="$rt" run --separate-stderr "$RL" rm rt-a
	assert_status 0
	run_rl ps -aq
	assert_output ""
}

@test "several rl run at once (a job array)" {
	local i pids=()
	for i in 1 2 3 4 5 6; do
		rl run --rm bb sh -c "echo $i >/tmp/n; cat /tmp/n" >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || fail "run $((i + 1)) failed: $(cat "$BATS_TEST_TMPDIR/out$((i + 1))")"
	done
	for i in 1 2 3 4 5 6; do
		[ "$(tail -n1 "$BATS_TEST_TMPDIR/out$i")" = "$i" ] || fail "run $i printed: $(cat "$BATS_TEST_TMPDIR/out$i")"
	done
	run_rl ps -aq
	assert_output ""
}

@test "a run takes well under a second" {
	# The start-up budget is tens of milliseconds; a generous bound here
	# only catches something badly wrong (a timeout, a sleep, a copy).
	rl run --rm bb true
	local start end
	start=$(date +%s%N)
	rl run --rm bb true
	end=$(date +%s%N)
	local ms=$(((end - start) / 1000000))
	[ "$ms" -lt 1000 ] || fail "rl run took ${ms} ms"
}
