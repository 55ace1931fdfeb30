#!/usr/bin/env bats
# Documentation and self-description: man pages agree with --help, `rl info`
# names the identity mode, `rl system check` names what is missing, and
# `rl __complete` neither waits for the store lock nor loads the heavy
# libraries.

load helpers

# Next to tests/ in a checkout, next to system/ in run-all.sh's copy.
src_file() {
	local d
	for d in "$BATS_TEST_DIRNAME/../.." "$BATS_TEST_DIRNAME/.."; do
		[ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	return 1
}

@test "every command has a man page that names every option of its --help" {
	local mandir check
	mandir=$(src_file docs/man) || skip "docs/man not found next to the tests"
	check=$(src_file tests/check-man.sh) || check=$(src_file check-man.sh) ||
		skip "check-man.sh not found"
	run bash "$check" "$RL" "$mandir"
	[ "$status" -eq 0 ] || { show; false; }
}

@test "rl info --format json parses and names the identity mode" {
	local want
	case $RL_IDMODE in
	subuid) want=subid ;;
	single) want=single ;;
	root) want=host ;;
	esac
	run_rl info --format json
	assert_status 0
	run python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
print(d["identity"]["mode"])
assert d["identity"]["why"]
assert d["storage"]["driver"] in ("overlay", "fuse-overlayfs", "vfs"), d["storage"]
assert d["storage"]["why"] and d["storage"]["filesystem"]
assert d["cgroup"]["version"] and d["kernel"] and d["version"]
' <<<"$output"
	[ "$status" -eq 0 ] || { show; false; }
	[ "$output" = "$want" ] || fail "identity mode $output, expected $want"
}

@test "rl info and rl system info say the same in text" {
	run_rl info
	assert_status 0
	assert_match "identity: +$(case $RL_IDMODE in subuid) echo subid ;; root) echo host ;; *) echo single ;; esac)"
	assert_match 'driver: +(overlay|fuse-overlayfs|vfs) \('
	assert_match 'store: +.* \(on [a-z0-9]+'
	run_rl system info
	assert_status 0
	assert_match 'cgroup: +(v1|v2|hybrid)'
}

@test "rl system check names the missing subuid range" {
	need_mode single
	run_rl system check
	[ "$status" -eq 1 ] || { show; fail "expected exit 1"; }
	assert_match 'no subuid range'
	assert_match "usermod --add-subuids [0-9]+-[0-9]+ --add-subgids [0-9]+-[0-9]+ $(id -un)"
}

@test "rl system check is quiet about ids with a range or as root" {
	need_mode subuid root
	run_rl system check
	refute_match 'subuid range'
	# exit 0 exactly when it found nothing
	if [ "$status" -eq 0 ]; then
		assert_match 'nothing is missing'
	else
		[ "$status" -eq 1 ] || { show; false; }
	fi
}

@test "rl __complete lists without the store lock and without the heavy libraries" {
	rl run --name lockless-ctr bb true
	# The store lock held, as during a long change.
	local lockfd
	exec {lockfd}>>"$XDG_DATA_HOME/rl/lock"
	flock -x "$lockfd"
	run timeout 5 "$RL" __complete line rm lockless
	exec {lockfd}>&-
	[ "$status" -eq 0 ] || { show; false; }
	[ "$output" = lockless-ctr ] || { show; false; }
	run timeout 5 "$RL" __complete line run b
	assert_line bb
	run env LD_DEBUG=files "$RL" __complete line run ''
	refute_match 'libarchive|libcrypto|libcurl'
}

@test "rl __complete: commands, options, values" {
	run_rl __complete commands
	assert_line run
	refute_line __complete
	run_rl __complete options run
	assert_line --network
	assert_line --cap-add
	run_rl __complete values run --pull
	assert_output "missing
always
never"
	run_rl __complete values save --output
	assert_output ":file"
}

@test "rl __complete containers --running lists only running ones" {
	local out="$BATS_TEST_TMPDIR/out"
	rl run --name stopped-ctr bb true
	# PID 1 ignores a signal it has no handler for: give it one.
	rl_bg "$out" run --rm --name live-ctr bb sh -c 'trap "exit 0" TERM; echo ready; sleep 30 & wait'
	wait_for "$out" '^ready$'
	run_rl __complete containers
	local all=("${lines[@]}")
	run_rl __complete containers --running
	kill -TERM "$RL_BG_PID" 2>/dev/null
	wait_bg 15 || true
	assert_line live-ctr
	refute_line stopped-ctr
	lines=("${all[@]}")
	assert_line live-ctr
	assert_line stopped-ctr
}
