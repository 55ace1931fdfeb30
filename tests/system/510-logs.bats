#!/usr/bin/env bats
# rl logs: a detached container's output from its CRI log (ctr.log), the two
# streams kept apart, -f to the container's end, --tail, -t, --since/--until,
# rotation (--log-opt max-size/max-file), a 100 MB log streamed, and logs
# written by hand (partial records, bad lines, rotated files).

load helpers

setup() {
	rl rm -af >/dev/null 2>&1 || true
	CTL="$BATS_TEST_TMPDIR/ctl"
	mkdir -p "$CTL"
	chmod 0755 "$CTL"
}

TS_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z'

# run_d ARGS...: rl run -d ARGS; sets CID to the container's full id.
run_d() {
	run_rl run -d "$@"
	assert_status 0
	[[ ${lines[-1]} =~ ^[0-9a-f]{64}$ ]] || { show; fail "run -d did not print an id"; }
	CID=${lines[-1]}
}

# wait_exited ID [SECONDS]: wait until the container no longer runs.
wait_exited() {
	local limit=${2:-30} i
	for ((i = 0; i < limit * 10; i++)); do
		rl ps -q --no-trunc | grep -q "^$1\$" || return 0
		sleep 0.1
	done
	fail "container $1 still runs after ${limit}s"
}

# wait_log CTR LINE [SECONDS]: wait until rl logs CTR prints LINE.
wait_log() {
	local limit=${3:-30} i
	for ((i = 0; i < limit * 20; i++)); do
		rl logs "$1" 2>/dev/null | grep -qxF -- "$2" && return 0
		sleep 0.05
	done
	fail "no line '$2' in the log of $1 after ${limit}s"
}

ctrdir() {
	echo "$(rl_store)/containers/$1"
}

# A container that prints what it is told and waits for $CTL/go: it can
# run through a volume the test controls.
WAIT_GO='while [ ! -e /ctl/go ]; do sleep 0.05; done'

@test "logs of an unknown container: one line, 125" {
	run_rl logs nosuchctr
	assert_rl_error
	[ "${#stderr_lines[@]}" -eq 1 ] || { show; fail "want one line"; }
	assert_match 'nosuchctr' "$stderr"
	run_rl logs
	assert_rl_error
	run_rl logs a b
	assert_rl_error
}

@test "bad --tail, --since and --until values are refused" {
	run_rl run --name fg1 bb true
	assert_status 0
	for a in "--tail x" "--tail -2" "--tail 1.5" "--since yesterday" "--since 10x" \
		"--until 2026-13-01" "--until 1h3" "--since 12."; do
		# shellcheck disable=SC2086
		run_rl logs $a fg1
		assert_rl_error
		[ "${#stderr_lines[@]}" -eq 1 ] || { show; fail "want one line for $a"; }
	done
}

@test "a foreground container keeps no log: nothing, status 0" {
	run_rl run --name fg2 bb sh -c 'echo shown-on-the-terminal'
	assert_status 0
	assert_output shown-on-the-terminal
	[ ! -e "$(ctrdir "$(rl ps -aq --no-trunc)")/ctr.log" ] || fail "a foreground run wrote a log"
	run_rl logs fg2
	assert_status 0
	assert_output ""
	[ -z "$stderr" ] || { show; fail "unexpected stderr"; }
	run_rl logs -f fg2
	assert_status 0
	assert_output ""
}

@test "stdout and stderr stay apart" {
	run_d --name both bb sh -c 'echo out; echo err >&2; echo out2; echo err2 >&2'
	wait_exited "$CID"
	run_rl logs both
	assert_status 0
	assert_output "out
out2"
	[ "$stderr" = "err
err2" ] || { show; fail "stderr of the container not on stderr"; }
	# By id prefix too.
	run_rl logs "${CID:0:12}"
	assert_status 0
	assert_output "out
out2"
	# The log file has both streams, in the CRI format.
	grep -qE "^$TS_RE stdout F out\$" "$(ctrdir "$CID")/ctr.log"
	grep -qE "^$TS_RE stderr F err2\$" "$(ctrdir "$CID")/ctr.log"
}

@test "-f follows a running container to its end, parts of lines at once" {
	local out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
	run_d --name follow -v "$CTL:/ctl" bb sh -c "echo first; printf 'prompt> '; $WAIT_GO; echo answered; echo bye >&2"
	# Like rl_bg, with the two streams in two files.
	env --default-signal "$RL" logs -f follow >"$out" 2>"$err" </dev/null &
	RL_BG_PID=$!
	wait_for "$out" '^first$'
	# A part of a line (no newline yet) is shown while the container waits.
	wait_for "$out" 'prompt> $'
	kill -0 "$RL_BG_PID" || fail "rl logs -f ended while the container runs"
	# A second follower from the last line on: the part being written.
	timeout -k 5 60 env --default-signal "$RL" logs -f --tail 1 follow \
		>"$out.2" 2>"$err.2" </dev/null &
	local tail_pid=$!
	wait_for "$out.2" 'prompt> $'
	touch "$CTL/go"
	wait_bg 30
	assert_status 0
	[ "$(cat "$out")" = "first
prompt> answered" ] || fail "rl logs -f printed: $(cat "$out")"
	[ "$(cat "$err")" = bye ] || fail "rl logs -f printed on stderr: $(cat "$err")"
	local tail_status=0
	wait "$tail_pid" || tail_status=$?
	[ "$tail_status" -eq 0 ] || fail "rl logs -f --tail 1 ended with $tail_status"
	[ "$(cat "$out.2")" = "prompt> answered" ] || fail "rl logs -f --tail 1 printed: $(cat "$out.2")"
	[ "$(cat "$err.2")" = bye ] || fail "rl logs -f --tail 1 printed on stderr: $(cat "$err.2")"
	# Once it has exited, -f prints the log and returns at once.
	run_rl logs -f follow
	assert_status 0
	assert_output "first
prompt> answered"
	[ "$stderr" = bye ] || { show; fail "stderr"; }
}

@test "--tail N, 0, all" {
	# e1 only once line10 is in the log: the monitor could otherwise read
	# the two pipes in either order.
	run_d --name tail -v "$CTL:/ctl" bb sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do echo line\$i; done; $WAIT_GO; echo e1 >&2"
	wait_log tail line10
	touch "$CTL/go"
	wait_exited "$CID"
	run_rl logs --tail 3 tail
	assert_status 0
	# The last three lines of the log: two of stdout, e1 on stderr.
	assert_output "line9
line10"
	[ "$stderr" = e1 ] || { show; fail "e1 is one of the last 3"; }
	run_rl logs -n 1 tail
	assert_output ""
	[ "$stderr" = e1 ] || { show; fail "e1 is the last line"; }
	run_rl logs --tail=4 tail 2>/dev/null
	assert_output "line8
line9
line10"
	run_rl logs --tail 0 tail
	assert_status 0
	assert_output ""
	[ -z "$stderr" ] || { show; fail "--tail 0 printed stderr"; }
	run_rl logs --tail all tail
	[ "${#lines[@]}" -eq 10 ] || { show; fail "want 10 lines"; }
	run_rl logs --tail 100 tail
	[ "${#lines[@]}" -eq 10 ] || { show; fail "want 10 lines"; }
}

@test "-t: each line begins with its RFC 3339 time" {
	local before after
	before=$(date -u +%Y-%m-%dT%H:%M:%S)
	run_d --name stamps bb sh -c 'echo out; echo err >&2; printf "in "; echo parts'
	wait_exited "$CID"
	after=$(date -u +%Y-%m-%dT%H:%M:%S.999999999Z)
	run_rl logs -t stamps
	assert_status 0
	[ "${#lines[@]}" -eq 2 ] || { show; fail "want 2 lines"; }
	assert_match "^$TS_RE out\$" "${lines[0]}"
	assert_match "^$TS_RE in parts\$" "${lines[1]}"
	assert_match "^$TS_RE err\$" "$stderr"
	# The times are the log's, within the run.
	local t=${lines[0]%% *}
	[[ ! $t < $before ]] && [[ ! $t > $after ]] || { show; fail "time $t not in [$before, $after]"; }
	grep -qF "$t stdout F out" "$(ctrdir "$CID")/ctr.log" || fail "not the log's time"
	run_rl logs --timestamps=false stamps
	assert_output "out
in parts"
}

@test "--since and --until: times, unix seconds and durations" {
	run_d --name since -v "$CTL:/ctl" bb sh -c "echo early; $WAIT_GO; echo late"
	wait_log since early
	# The log's clock is the host's: 'early' was written before T, 'late'
	# after it.
	sleep 0.05
	local t utc loc
	t=$(date +%s.%N)
	utc=$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%S.%NZ)
	loc=$(date -d "@$t" +%Y-%m-%dT%H:%M:%S.%N%:z)
	sleep 0.05
	touch "$CTL/go"
	wait_exited "$CID"
	for s in "$t" "$utc" "$loc"; do
		run_rl logs --since "$s" since
		assert_status 0
		assert_output late
		run_rl logs --until "$s" since
		assert_status 0
		assert_output early
	done
	run_rl logs --since 1h since
	assert_output "early
late"
	run_rl logs --since 1h30m --until 0s since
	assert_output "early
late"
	run_rl logs --until 1h since
	assert_output ""
	run_rl logs --since -1m since
	assert_output ""
	run_rl logs --since 0 since
	assert_output "early
late"
	run_rl logs --since 2000-01-01 --until 2100-01-01T00:00 since
	assert_output "early
late"
	# Filters apply to what --tail kept.
	run_rl logs --tail 1 --since 0 since
	assert_output late
	run_rl logs --tail 1 --until "$t" since
	assert_output ""
}

@test "a 100 MB log is streamed, and -f reads it all" {
	run_d --name big bb sh -c 'head -c 100000000 /dev/zero | tr "\0" x | fold -w 1000'
	# Following the container while it writes: every byte, once.
	local n
	n=$(rl logs -f big | wc -c)
	[ "$n" -eq 100099999 ] || fail "rl logs -f printed $n bytes, want 100099999"
	wait_exited "$CID"
	# Bounded memory: address space capped well below the log's size.
	n=$( (ulimit -v 60000 && rl logs big) | wc -c)
	[ "$n" -eq 100099999 ] || fail "rl logs printed $n bytes, want 100099999"
	run_rl logs --tail 2 big
	assert_status 0
	[ "${#lines[@]}" -eq 2 ] && [ "${#lines[1]}" -eq 1000 ] || { show | head -c 300; fail "--tail 2"; }
	n=$(rl logs --tail 2 big | wc -c)
	[ "$n" -eq 2001 ] || fail "--tail 2 printed $n bytes, want 2001 (the last line has no newline)"
}

@test "rotation: --log-opt max-size/max-file, followed without a loss" {
	# 2000 lines of 50 bytes in the log, 10k a file: about ten rotations.
	# Every 200 lines (about one file) the container waits until the
	# follower has shown them, so that it never falls two files behind
	# (which would lose lines by design) however loaded the machine is.
	run_d --name rot --log-opt max-size=10k --log-opt max-file=3 -v "$CTL:/ctl" bb sh -c \
		"echo ready; $WAIT_GO; i=0; while [ \$i -lt 2000 ]; do echo line-\$i; i=\$((i+1)); if [ \$((i % 200)) = 0 ]; then while [ ! -e /ctl/ack-\$i ]; do sleep 0.02; done; fi; done"
	rl_bg "$BATS_TEST_TMPDIR/out" logs -f rot
	wait_for "$BATS_TEST_TMPDIR/out" '^ready$'
	touch "$CTL/go"
	local k
	for ((k = 200; k <= 2000; k += 200)); do
		wait_for "$BATS_TEST_TMPDIR/out" "^line-$((k - 1))\$" 30
		touch "$CTL/ack-$k"
	done
	wait_bg 60
	assert_status 0
	{
		echo ready
		seq 0 1999 | sed 's/^/line-/'
	} >"$BATS_TEST_TMPDIR/want"
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out" >/dev/null ||
		fail "rl logs -f lost or repeated lines across rotations: $(diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out" | head -5)"
	local d
	d=$(ctrdir "$CID")
	[ -f "$d/ctr.log.1" ] && [ -f "$d/ctr.log.2" ] && [ ! -e "$d/ctr.log.3" ] ||
		fail "want ctr.log, .1, .2: $(ls "$d")"
	# Afterwards: the lines the three files keep, oldest first, to the last.
	run_rl logs rot
	assert_status 0
	[ "${lines[-1]}" = line-1999 ] || { show | tail -3; fail "last line"; }
	local first=${lines[0]#line-}
	[[ $first =~ ^[0-9]+$ ]] && [ "$first" -gt 0 ] || fail "first line ${lines[0]}: nothing rotated away"
	for ((k = 0; k < ${#lines[@]}; k++)); do
		[ "${lines[k]}" = "line-$((first + k))" ] || fail "line $k is ${lines[k]}, want line-$((first + k))"
	done
	run_rl logs --tail 3 rot
	assert_output "line-1997
line-1998
line-1999"
}

@test "rotation with max-file=1: ctr.log starts over, the last lines stay" {
	# Lines 0-99 fill more than 4k, so ctr.log has been emptied by the time
	# line 100 (written once they are in the log) is in it, at the latest
	# by that very write.
	run_d --name trunc --log-opt max-size=4k -v "$CTL:/ctl" bb sh -c \
		"i=0; while [ \$i -lt 200 ]; do [ \$i = 100 ] && { $WAIT_GO; }; echo line-\$i; i=\$((i+1)); done"
	wait_log trunc line-99
	touch "$CTL/go"
	wait_exited "$CID"
	[ ! -e "$(ctrdir "$CID")/ctr.log.1" ] || fail "max-file=1 kept an old file"
	run_rl logs trunc
	assert_status 0
	[ "${#lines[@]}" -gt 0 ] && [ "${lines[-1]}" = line-199 ] || { show | tail -3; fail "last line"; }
	local first=${lines[0]#line-} k
	[ "$first" -gt 0 ] || fail "ctr.log did not start over: first line ${lines[0]}"
	for ((k = 0; k < ${#lines[@]}; k++)); do
		[ "${lines[k]}" = "line-$((first + k))" ] || fail "line $k is ${lines[k]}, want line-$((first + k))"
	done
}

# A log written by hand into the record of an exited (foreground) container.
hand_log() {
	run_rl run --name "$1" bb true
	assert_status 0
	HAND=$(ctrdir "$(rl ps -aq --no-trunc)")
}

@test "hand-written log: parts joined per stream, bad lines skipped, rotated files in order" {
	hand_log hand
	cat >"$HAND/ctr.log.2" <<'EOF'
2026-11-27T10:00:00.000000001Z stdout F one
2026-11-27T10:00:01.000000000Z stdout P tw
EOF
	cat >"$HAND/ctr.log.1" <<'EOF'
2026-11-27T10:00:02.000000000Z stderr P e
2026-11-27T10:00:03.000000000Z stdout F o
this is not a record
2026-11-27T10:00:04Z stdout X bad tag
2026-11-27T10:00:04Z stdin F bad stream
2026-11-27T10:00:05.000000000Z stderr F rr
EOF
	printf '%s\n' '2026-11-27T11:00:06+01:00 stdout F three' \
		'2026-11-27T10:00:07.5Z stdout F  four with spaces ' >"$HAND/ctr.log"
	printf '2026-11-27T10:00:08Z stdout P tail-with' >>"$HAND/ctr.log"
	printf '2026-11-27T10:00:09Z stdout F torn' >>"$HAND/ctr.log"
	run_rl logs hand
	assert_status 0
	[ "$output" = "one
two
three
 four with spaces " ] || { show; fail "stdout"; }
	[ "$stderr" = err ] || { show; fail "stderr"; }
	run_rl logs -t hand
	assert_line "2026-11-27T10:00:00.000000001Z one"
	assert_line "2026-11-27T10:00:01.000000000Z two"
	assert_line "2026-11-27T10:00:06.000000000Z three"
	assert_line "2026-11-27T10:00:07.500000000Z  four with spaces "
	[ "$stderr" = "2026-11-27T10:00:02.000000000Z err" ] || { show; fail "stderr -t"; }
	# Lines count where they begin: "two" is the third last, "err" the second.
	run_rl logs --tail 2 hand
	assert_output "three
 four with spaces "
	[ -z "$stderr" ] || { show; fail "err is not in the last 2"; }
	run_rl logs --tail 3 hand
	assert_output "three
 four with spaces "
	[ "$stderr" = err ] || { show; fail "err is in the last 3"; }
	run_rl logs --tail 4 hand
	assert_output "two
three
 four with spaces "
	run_rl logs --since 2026-11-27T10:00:01Z --until 2026-11-27T10:00:06Z hand
	assert_output "two
three"
	[ "$stderr" = err ] || { show; fail "stderr with --since"; }
	# A file that is not a log at all: nothing, no error.
	head -c 3000 /dev/urandom >"$HAND/ctr.log"
	rm "$HAND/ctr.log.1" "$HAND/ctr.log.2"
	run_rl logs hand
	assert_status 0
}
