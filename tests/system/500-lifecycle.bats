#!/usr/bin/env bats
# Detached containers and their lifecycle without a daemon: run -d, create,
# start, stop, kill, restart, wait, attach, --restart, and what is left after
# a kill -9 of the monitor or a reboot (the runtime directory gone).

load helpers

setup_file() {
	rl_setup_file
	import_busybox bb >/dev/null
	# An image whose STOPSIGNAL is USR1.
	rl import --change 'STOPSIGNAL USR1' "$RL_FIXTURES/busybox.tar" bbusr1 >/dev/null
}

teardown_file() {
	rl_teardown_file
}

setup() {
	rl rm -af >/dev/null 2>&1 || true
}

# state NAME: Created, Up or Exited, from rl ps -a.
state() {
	rl ps -a | awk -v n="$1" '$NF == n { for (i = 1; i <= NF; i++) if ($i ~ /^(Created|Up|Exited)$/) { print $i; exit } }'
}

# wait_state NAME STATE [SECONDS]
wait_state() {
	local i
	for ((i = 0; i < ${3:-10} * 20; i++)); do
		[ "$(state "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	rl ps -a >&2
	fail "$1 is not $2 after ${3:-10}s"
}

# ctr_id NAME: the full id
ctr_id() {
	rl inspect --format '{{.Id}}' "$1"
}

# ctr_dir NAME: the store's directory of container NAME
ctr_dir() {
	echo "$XDG_DATA_HOME/rl/containers/$(ctr_id "$1")"
}

# monitor_of NAME: the pid of its monitor, from the runtime state file
monitor_of() {
	sed -n 's/^monitor=//p' "$TMPDIR/rl-$(id -u)/containers/$(ctr_id "$1")/state"
}

@test "run -d prints the full id and returns while the container runs" {
	run_rl run -d --name d1 bb sleep 1000
	assert_status 0
	assert_match '^[0-9a-f]{64}$'
	local id=$output
	run_rl ps -q --no-trunc
	assert_output "$id"
	[ "$(state d1)" = Up ]
	run_rl stop -t 0 d1
	assert_status 0
	assert_output d1
	[ "$(state d1)" = Exited ]
}

@test "a detached container survives the shell that started it and its terminal" {
	# The launching shell runs on a pty that closes when it exits (SIGHUP to
	# its session); the container must go on.
	run_pty --timeout 20 -- bash -c "\"$RL\" run -d --name survivor bb sleep 1000 >/dev/null; echo launched"
	assert_status 0
	assert_line launched
	sleep 0.5
	[ "$(state survivor)" = Up ] || { rl ps -a; fail "the container did not survive its shell"; }
	rl rm -f survivor >/dev/null
}

@test "create, then start: Created, Up, Exited with the command's status" {
	run_rl create --name c1 bb sh -c 'echo hello; exit 3'
	assert_status 0
	assert_match '^[0-9a-f]{64}$'
	[ "$(state c1)" = Created ]
	run_rl start c1
	assert_status 0
	assert_output c1
	run_rl wait c1
	assert_status 0
	assert_output 3
	[ "$(state c1)" = Exited ]
	# Started again: same container, same command.
	run_rl start c1
	assert_status 0
	run_rl wait c1
	assert_output 3
	run_rl ps -aq
	[ "${#lines[@]}" -eq 1 ] || { show; fail "start made another container"; }
}

@test "create keeps every option: env, workdir, user, hostname, labels" {
	rl create --name opts -e FOO=bar -w /tmp -u 1:1 -h myhost -l a=b bb \
		sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g) $(hostname)"' >/dev/null
	run_rl start -a opts
	assert_status 0
	if [ "$RL_IDMODE" = single ]; then
		assert_output "bar /tmp 0:0 myhost"
	else
		assert_output "bar /tmp 1:1 myhost"
	fi
}

@test "start -a: attached, output here, the container's exit status" {
	rl create --name sa bb sh -c 'echo out; echo err >&2; exit 4' >/dev/null
	run_rl start -a sa
	assert_status 4
	assert_output out
	[ "$stderr" = err ] || { show; fail "stderr not kept apart"; }
}

@test "start -ai: stdin reaches a container created with -i" {
	rl create -i --name sai bb cat >/dev/null
	run bash -c "echo through | \"$RL\" start -ai sai"
	assert_status 0
	assert_output through
}

@test "stop: PID 1 gets SIGTERM and its handler runs" {
	rl run -d --name term bb sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done' >/dev/null
	run_rl stop term
	assert_status 0
	run_rl wait term
	assert_output 7
	grep -q 'stdout F got-term' "$(ctr_dir term)/ctr.log" || { cat "$(ctr_dir term)/ctr.log"; fail "no got-term in the log"; }
}

@test "stop of a container that ignores SIGTERM takes the timeout, then kills" {
	rl run -d --name stubborn bb sh -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null
	local t0=$SECONDS
	run_rl stop -t 2 stubborn
	assert_status 0
	local took=$((SECONDS - t0))
	[ "$took" -ge 1 ] || fail "stop returned after ${took}s, before the timeout"
	[ "$took" -le 12 ] || fail "stop took ${took}s"
	run_rl wait stubborn
	assert_output 137
}

@test "stop uses --stop-signal, else the image's STOPSIGNAL" {
	rl run -d --name ssig --stop-signal HUP bb sh -c 'trap "exit 11" HUP; while :; do sleep 0.1; done' >/dev/null
	rl stop -t 5 ssig >/dev/null
	run_rl wait ssig
	assert_output 11
	rl run -d --name isig bbusr1 sh -c 'trap "exit 12" USR1; while :; do sleep 0.1; done' >/dev/null
	rl stop -t 5 isig >/dev/null
	run_rl wait isig
	assert_output 12
}

@test "stop of a stopped container is fine; of an unknown one an error" {
	rl create --name never bb true >/dev/null
	run_rl stop never
	assert_status 0
	assert_output never
	run_rl stop no-such-container
	assert_status 125
	assert_match 'no-such-container' "$stderr"
}

@test "kill: the signal given (default KILL); a stopped container is an error" {
	rl run -d --name k1 bb sh -c 'trap "exit 9" USR2; while :; do sleep 0.1; done' >/dev/null
	run_rl kill -s USR2 k1
	assert_status 0
	assert_output k1
	run_rl wait k1
	assert_output 9
	run_rl kill k1
	assert_status 125
	assert_match 'not running' "$stderr"
	rl run -d --name k2 bb sleep 1000 >/dev/null
	rl kill k2 >/dev/null
	run_rl wait k2
	assert_output 137
	run_rl kill -s NOSUCH k2
	assert_status 125
	assert_match 'unknown signal' "$stderr"
}

@test "restart: stopped and started again" {
	rl run -d --name rs bb sh -c 'echo run; trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null
	run_rl restart -t 5 rs
	assert_status 0
	assert_output rs
	[ "$(state rs)" = Up ]
	[ "$(grep -c 'stdout F run' "$(ctr_dir rs)/ctr.log")" -eq 2 ] || fail "not run twice"
	rl stop rs >/dev/null
}

@test "--restart=on-failure:2 runs the command three times, then it stays exited" {
	rl run -d --name onf --restart on-failure:2 bb sh -c 'echo try; exit 5' >/dev/null
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(state onf)" = Exited ] && [ "$(grep -c 'F try' "$(ctr_dir onf)/ctr.log")" -eq 3 ] && break
		sleep 0.1
	done
	[ "$(grep -c 'F try' "$(ctr_dir onf)/ctr.log")" -eq 3 ] || { cat "$(ctr_dir onf)/ctr.log"; fail "want 3 runs"; }
	sleep 1
	[ "$(grep -c 'F try' "$(ctr_dir onf)/ctr.log")" -eq 3 ] || fail "restarted past the limit"
	run_rl wait onf
	assert_output 5
	# on-failure does not restart a success
	rl run -d --name onok --restart on-failure bb sh -c 'echo ok' >/dev/null
	run_rl wait onok
	assert_output 0
	sleep 0.5
	[ "$(grep -c 'F ok' "$(ctr_dir onok)/ctr.log")" -eq 1 ] || fail "restarted a success"
}

@test "--restart=always restarts until rl stop; stop is not undone" {
	rl run -d --name alw --restart always bb sh -c 'echo up; sleep 0.2; exit 1' >/dev/null
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'F up' "$(ctr_dir alw)/ctr.log")" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(grep -c 'F up' "$(ctr_dir alw)/ctr.log")" -ge 2 ] || fail "not restarted"
	run_rl stop -t 2 alw
	assert_status 0
	wait_state alw Exited
	local n
	n=$(grep -c 'F up' "$(ctr_dir alw)/ctr.log")
	sleep 1.5
	[ "$(grep -c 'F up' "$(ctr_dir alw)/ctr.log")" -eq "$n" ] || fail "restarted after rl stop"
	[ "$(state alw)" = Exited ]
	run_rl run --rm --restart always bb true
	assert_status 125
	assert_match 'cannot be used together' "$stderr"
	run_rl run --restart sometimes bb true
	assert_status 125
	assert_match 'unknown policy' "$stderr"
}

@test "kill -9 of the monitor: the container ends, ps says exited, rm and start work" {
	rl run -d --name km bb sleep 1000 >/dev/null
	local m
	m=$(monitor_of km)
	[ -n "$m" ] && kill -0 "$m" || fail "no monitor pid"
	kill -9 "$m"
	wait_gone 'sleep 1000' 10
	wait_state km Exited
	run_rl start km
	assert_status 0
	[ "$(state km)" = Up ]
	m=$(monitor_of km)
	kill -9 "$m"
	wait_gone 'sleep 1000' 10
	run_rl rm km
	assert_status 0
	run_rl ps -aq
	assert_output ""
}

@test "after a reboot (runtime directory gone) the container is exited and starts again" {
	rl run -d --name rb bb sleep 1000 >/dev/null
	rl kill rb >/dev/null
	rl wait rb >/dev/null
	# A reboot: no process, the runtime directory (a tmpfs) empty, the
	# exit record never written for a container that was running.
	rm -f "$(ctr_dir rb)/state.json"
	rm -rf "$TMPDIR/rl-$(id -u)/containers"
	[ "$(state rb)" = Exited ]
	run_rl start rb
	assert_status 0
	[ "$(state rb)" = Up ]
	rl rm -f rb >/dev/null
}

@test "attach to a detached -it shell: type, see, detach with ctrl-p ctrl-q, attach again, exit" {
	rl run -dit --name ash bb sh >/dev/null
	run_pty --timeout 20 --sleep 0.3 --send 'echo hi-$((6*7))\r' --expect 'hi-42' --send '\x10\x11' -- "$RL" attach ash
	assert_status 0
	[ "$(state ash)" = Up ] || fail "detaching stopped the container"
	run_pty --timeout 20 --sleep 0.3 --send 'exit 5\r' -- "$RL" attach ash
	assert_status 5
	wait_state ash Exited
}

@test "attach to a -i container: stdin in, output out, end of input ends it" {
	rl run -di --name acat bb sh -c 'cat; echo done >&2' >/dev/null
	run --separate-stderr bash -c "printf 'line1\nline2\n' | \"$RL\" attach acat"
	assert_status 0
	assert_output "$(printf 'line1\nline2')"
	[ "$stderr" = done ] || { show; fail "stderr"; }
	run_rl attach acat
	assert_status 125
	assert_match 'stopped container' "$stderr"
}

@test "attach refuses a container run in the foreground, and a -t one without a terminal" {
	rl_bg "$BATS_TEST_TMPDIR/out" run --name fg bb sh -c 'echo ready; sleep 1000'
	wait_for "$BATS_TEST_TMPDIR/out" ready
	run_rl attach fg
	assert_status 125
	assert_match 'foreground' "$stderr"
	rl rm -f fg >/dev/null
	wait_bg
	rl run -dt --name tt bb sleep 1000 >/dev/null
	run_rl attach tt </dev/null
	assert_status 125
	assert_match 'TTY' "$stderr"
	rl rm -f tt >/dev/null
}

@test "--cidfile: the id written; an existing file refused before anything is made" {
	run_rl run -d --cidfile "$BATS_TEST_TMPDIR/cid" --name cid bb sleep 1000
	assert_status 0
	[ "$(cat "$BATS_TEST_TMPDIR/cid")" = "$output" ] || fail "cidfile holds $(cat "$BATS_TEST_TMPDIR/cid")"
	run_rl run -d --cidfile "$BATS_TEST_TMPDIR/cid" --name cid2 bb sleep 1000
	assert_status 125
	assert_match 'cidfile' "$stderr"
	run_rl ps -aq
	[ "${#lines[@]}" -eq 1 ] || { show; fail "a container was made"; }
}

@test "run -d --rm: removed when it exits" {
	rl run -d --rm --name gone bb sh -c 'sleep 0.3' >/dev/null
	local i
	for ((i = 0; i < 100; i++)); do
		[ -z "$(rl ps -aq)" ] && break
		sleep 0.1
	done
	run_rl ps -aq
	assert_output ""
}

@test "run -d of a command that cannot run: its status, nothing running" {
	run_rl -127 run -d --name bad bb /no/such/thing
	assert_match 'no such file' "$stderr"
	[ "$(state bad)" = Exited ]
	run_rl ps -q
	assert_output ""
}

@test "pause and unpause say why they cannot work here" {
	rl run -d --name p bb sleep 1000 >/dev/null
	run_rl pause p
	assert_status 125
	assert_match 'cgroup' "$stderr"
	run_rl unpause p
	assert_status 125
	rl rm -f p >/dev/null
}

@test "20 detached containers at once: all listed, all removed, nothing left" {
	local i pids=()
	for i in $(seq 1 20); do
		"$RL" run -d --name "many$i" bb sleep 1000 >/dev/null 2>"$BATS_TEST_TMPDIR/err$i" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || fail "a run -d failed: $(cat "$BATS_TEST_TMPDIR"/err*)"
	done
	run_rl ps -q
	[ "${#lines[@]}" -eq 20 ] || { show; fail "want 20 running"; }
	run_rl rm -f $(rl ps -q)
	assert_status 0
	run_rl ps -aq
	assert_output ""
	wait_gone 'sleep 1000' 10
	# No monitor left, and no mount of the store in any namespace we can see.
	! pgrep -u "$(id -u)" -f -- 'run -d --name many' || fail "monitors left"
	! grep -l "$XDG_DATA_HOME" /proc/[0-9]*/mountinfo 2>/dev/null | grep -v self || fail "mounts left"
}

@test "the detached monitor is small and idle" {
	# Without a network: the monitor alone (conmon's job); with slirp it
	# also carries the network stack (libslirp and GLib), what Podman runs
	# as slirp4netns beside conmon.
	rl run -d --network none --name idle bb sleep 1000 >/dev/null
	rl run -d --name idlenet bb sleep 1000 >/dev/null
	local m rss t1 t2
	m=$(monitor_of idle)
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$m/status")
	[ "$rss" -lt 1024 ] || fail "monitor RSS ${rss} kB, want under 1 MB"
	t1=$(awk '{print $14 + $15}' "/proc/$m/stat")
	sleep 1
	t2=$(awk '{print $14 + $15}' "/proc/$m/stat")
	[ $((t2 - t1)) -le 1 ] || fail "monitor used $((t2 - t1)) ticks while idle"
	m=$(monitor_of idlenet)
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$m/status")
	[ "$rss" -lt 2048 ] || fail "monitor with slirp: RSS ${rss} kB, want under 2 MB"
	rl rm -f idle idlenet >/dev/null
}

@test "--init: rl stop's SIGTERM reaches a command that has no handler, at once" {
	rl run -d --init --name withinit bb sleep 1000 >/dev/null
	local t0=$SECONDS
	run_rl stop -t 20 withinit
	assert_status 0
	[ $((SECONDS - t0)) -lt 10 ] || fail "stop waited for the timeout: the signal did not reach sleep"
	run_rl wait withinit
	assert_output 143
}

@test "a record whose starting rl lives is Created; plain rm refuses it; with that rl gone it was killed (137)" {
	run_rl run --name stt bb true
	assert_status 0
	local d sp start
	d=$(ctr_dir stt)
	rm -f "$d/state.json"
	# A live process stands in for the rl that is starting it.
	sleep 60 &
	sp=$!
	start=$(awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$sp/stat")
	python3 - "$d/config.json" "$sp" "$start" <<'EOF'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["Starter"], c["StarterStart"] = int(sys.argv[2]), int(sys.argv[3])
json.dump(c, open(path, "w"))
EOF
	run_rl ps -a --format '{{.Names}} {{.Status}}'
	assert_output "stt Created"
	run_rl rm stt
	[ "$status" -ne 0 ] || fail "rm of a container being started must fail without -f"
	assert_match "is starting: use .rl rm -f." "$stderr"
	kill "$sp"
	wait "$sp" || true
	run_rl ps -a --format '{{.Names}} {{.Status}}'
	assert_match '^stt Exited \(137\) '
	run_rl rm stt
	assert_status 0
}

@test "a damaged record (truncated config.json, state.json): one line each, rm still removes it" {
	rl create --name dmg1 bb true >/dev/null
	rl run --name dmg2 bb true
	printf '{"Id":"x' >"$(ctr_dir dmg1)/config.json"
	printf '{"Exit' >"$(ctr_dir dmg2)/state.json"
	run_rl start dmg1
	assert_status 125
	assert_match 'config.json' "$stderr"
	run_rl ps -a
	assert_status 0
	[ "$(grep -c 'rl rm' <<<"$stderr")" -eq 2 ] || { show; fail "want one line per damaged container"; }
	run_rl rm dmg1 dmg2
	assert_status 0
	run_rl ps -aq
	assert_output ""
	[ -z "$(ls "$XDG_DATA_HOME/rl/names")" ] || fail "names left: $(ls "$XDG_DATA_HOME/rl/names")"
}

@test "rl stop during a restart's back-off returns at once, and it stays stopped" {
	rl run -d --name backoff --restart always bb false >/dev/null
	# 0.1, 0.2, 0.4, 0.8 s of back-off: by now it waits 1.6 s or more.
	sleep 2
	local t0=$SECONDS
	run_rl stop -t 1 backoff
	assert_status 0
	[ $((SECONDS - t0)) -le 2 ] || fail "stop took $((SECONDS - t0))s"
	wait_state backoff Exited 3
	sleep 1
	[ "$(state backoff)" = Exited ] || fail "restarted after stop"
}

@test "between restarts ps says Restarting with the last exit, inspect too" {
	rl run -d --name rsing --restart always bb sh -c 'exit 3' >/dev/null
	local i seen=
	for ((i = 0; i < 100; i++)); do
		rl ps | grep -q 'Restarting (3)' && { seen=1; break; }
		sleep 0.05
	done
	[ -n "$seen" ] || { rl ps -a; fail "never shown as Restarting (3)"; }
	# inspect agrees, while it is still between runs
	for ((i = 0; i < 100; i++)); do
		[ "$(rl inspect --format '{{.State.Status}} {{.State.Restarting}}' rsing)" = "restarting true" ] && break
		sleep 0.05
	done
	[ "$(rl inspect --format '{{.State.Status}} {{.State.Restarting}}' rsing)" = "restarting true" ] ||
		fail "inspect: $(rl inspect --format '{{.State.Status}} {{.State.Restarting}}' rsing)"
	rl stop -t 1 rsing >/dev/null
}
