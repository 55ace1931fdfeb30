# Shared helpers for rl's system tests; every .bats file starts with
# `load helpers`.
#
# The suite is run three times by tests/run-all.sh: as a user with a
# subuid/subgid range, as one without, and as root.  Tests that only make
# sense in one identity mode check $RL_IDMODE and skip otherwise.
#
# Environment:
#   RL            absolute path of the rl binary under test (required)
#   RL_FIXTURES   directory made by run-all.sh with busybox.tar, .tar.gz,
#                 .tar.zst (tests/fixtures/mkrootfs.sh --tar) and rootfs/
#                 (mkrootfs.sh DIR); made on the fly when unset
#   RL_TEST_IDMODE  force the expected identity mode: subuid|single|root
#                 (default: root if uid 0, subuid if /etc/subuid has a range
#                 for the user, single otherwise)
#   RL_TIMEOUT    seconds one rl command may take before it is killed (30)
#   RL_TEST_REGISTRY  host:port of a plain-HTTP registry run-all.sh starts
#                 (127.0.0.1:5000), for the pull tests of later issues
#
# Each test file gets a fresh store: setup_file points XDG_DATA_HOME,
# XDG_CONFIG_HOME, XDG_CACHE_HOME and TMPDIR into a new directory and unsets
# XDG_RUNTIME_DIR, as in a `su` session without systemd.

# lines, stderr_lines, status, output are set by bats' run.
# shellcheck disable=SC2154
bats_require_minimum_version 1.5.0

: "${RL:?RL must be the absolute path of the rl binary}"
RL_TIMEOUT=${RL_TIMEOUT:-30}

# rl ARGS...: the binary under test, killed if it hangs.  --foreground keeps
# rl in the test's process group, as when a person runs it.
rl() {
	timeout --foreground -k 5 "$RL_TIMEOUT" "$RL" "$@"
}

# run_rl [-N|!] ARGS...: bats' run on rl with stdout in $output/$lines and
# stderr in $stderr/$stderr_lines, so that notices on stderr never mix with
# what a container printed.
run_rl() {
	local check=()
	case "${1:-}" in -[0-9]* | !) check=("$1") && shift ;; esac
	run "${check[@]}" --separate-stderr rl "$@"
}

# ---------------------------------------------------------------- assertions

fail() {
	printf '%s\n' "$@" >&2
	return 1
}

# show: what the last `run` produced, for failure messages.
show() {
	printf 'status: %s\n' "${status:-}"
	printf '%s\n' "${output:-}" | sed 's/^/stdout| /'
	printf '%s\n' "${stderr:-}" | sed 's/^/stderr| /'
}

assert_status() {
	[ "$status" -eq "$1" ] || { show >&2; fail "expected status $1, got $status"; }
}

assert_output() {
	[ "$output" = "$1" ] || { show >&2; fail "expected stdout:" "$1"; }
}

# assert_line TEXT: some line of stdout is exactly TEXT.
assert_line() {
	local l
	for l in "${lines[@]}"; do
		[ "$l" = "$1" ] && return 0
	done
	show >&2
	fail "expected a line: $1"
}

refute_line() {
	local l
	for l in "${lines[@]}"; do
		if [ "$l" = "$1" ]; then
			show >&2
			fail "unexpected line: $1"
		fi
	done
}

# assert_match REGEX [TEXT]: TEXT (default stdout) matches the extended regex.
assert_match() {
	local text=${2-$output}
	[[ $text =~ $1 ]] || { show >&2; fail "expected a match for /$1/ in:" "$text"; }
}

refute_match() {
	local text=${2-$output}
	if [[ $text =~ $1 ]]; then
		show >&2
		fail "unexpected match for /$1/ in:" "$text"
	fi
}

# assert_rl_error: rl itself failed the way design.md says: status 125 and a
# last stderr line "rl: ...".
assert_rl_error() {
	assert_status 125
	local last=${stderr_lines[${#stderr_lines[@]} - 1]:-}
	[[ $last == "rl: "* ]] || { show >&2; fail "expected the last stderr line to start with 'rl: '"; }
}

# ---------------------------------------------------------------- identity

# rl_idmode: the identity mode rl is expected to choose for this user.
rl_idmode() {
	if [ -n "${RL_TEST_IDMODE:-}" ]; then
		echo "$RL_TEST_IDMODE"
	elif [ "$(id -u)" -eq 0 ]; then
		echo root
	elif [ -n "$(subid_range /etc/subuid)" ] && [ -n "$(subid_range /etc/subgid)" ]; then
		echo subuid
	else
		echo single
	fi
}

# subid_range FILE: "START COUNT" of the caller's first range in FILE.
subid_range() {
	local name uid
	name=$(id -un)
	uid=$(id -u)
	awk -F: -v n="$name" -v u="$uid" '($1 == n || $1 == u) && $3 > 0 { print $2, $3; exit }' "$1" 2>/dev/null
}

need_mode() {
	local m
	for m in "$@"; do
		[ "$RL_IDMODE" = "$m" ] && return 0
	done
	skip "only in identity mode(s) $*; this run is $RL_IDMODE"
}

# ---------------------------------------------------------------- fixtures

# rl_fixtures: make sure $RL_FIXTURES holds the busybox tarballs and rootfs.
rl_fixtures() {
	if [ -n "${RL_FIXTURES:-}" ] && [ -f "$RL_FIXTURES/busybox.tar" ]; then
		return 0
	fi
	# Run by hand without run-all.sh: build them once for this bats run.
	RL_FIXTURES="$BATS_RUN_TMPDIR/fixtures"
	export RL_FIXTURES
	if [ ! -f "$RL_FIXTURES/busybox.tar.zst" ]; then
		local m="$BATS_TEST_DIRNAME/../fixtures/mkrootfs.sh"
		mkdir -p "$RL_FIXTURES"
		bash "$m" --tar "$RL_FIXTURES/busybox.tar" &&
			bash "$m" --tar "$RL_FIXTURES/busybox.tar.gz" &&
			bash "$m" --tar "$RL_FIXTURES/busybox.tar.zst" &&
			bash "$m" "$RL_FIXTURES/rootfs"
	fi
}

# import_busybox [NAME]: import the busybox fixture as NAME (default bb).
import_busybox() {
	local name=${1:-bb} out
	out=$(rl import "$RL_FIXTURES/busybox.tar" "$name") || {
		echo "import_busybox: rl import failed for $name" >&2
		return 1
	}
	printf '%s\n' "$out" | tail -n1
}

# The layer digest rl must record for the busybox fixture: the sha256 of the
# uncompressed tar (the same for .tar, .tar.gz, .tar.zst and stdin).
busybox_diff_id() {
	echo "sha256:$(sha256sum <"$RL_FIXTURES/busybox.tar" | cut -d' ' -f1)"
}

# ---------------------------------------------------------------- per file

# rl_setup_file: a fresh, private store for this test file.
rl_setup_file() {
	rl_fixtures || return 1
	RL_TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rl-bats.XXXXXX")
	chmod 0700 "$RL_TEST_DIR"
	mkdir -p "$RL_TEST_DIR"/{data,config,cache,tmp,work}
	export RL_TEST_DIR
	export XDG_DATA_HOME="$RL_TEST_DIR/data"
	export XDG_CONFIG_HOME="$RL_TEST_DIR/config"
	export XDG_CACHE_HOME="$RL_TEST_DIR/cache"
	# rl's runtime fallback is $TMPDIR/rl-$UID: per file, so that no state
	# of one file's containers is seen by the next.
	export TMPDIR="$RL_TEST_DIR/tmp"
	unset XDG_RUNTIME_DIR
	RL_IDMODE=$(rl_idmode)
	export RL_IDMODE
}

rl_teardown_file() {
	[ -n "${RL_TEST_DIR:-}" ] && [ -d "$RL_TEST_DIR" ] || return 0
	# rl removes what it made as subordinate ids (layers, upper dirs);
	# plain rm could not.  Whatever is left is root's to clean (run-all.sh).
	rl rm -af >/dev/null 2>&1 || true
	rl rmi -af >/dev/null 2>&1 || true
	chmod -R u+rwX "$RL_TEST_DIR" 2>/dev/null || true
	rm -rf "$RL_TEST_DIR" 2>/dev/null && return 0
	# Left over as subordinate ids (a bug of rl's, or a test cut short):
	# a namespace with the same map can remove them.
	unshare --map-root-user --map-auto rm -rf "$RL_TEST_DIR" 2>/dev/null || true
}

# Defaults; a file that needs more defines its own and calls these.
setup_file() {
	rl_setup_file
	import_busybox bb >/dev/null
}

teardown_file() {
	rl_teardown_file
}

# ---------------------------------------------------------------- processes

# rl_bg OUTFILE ARGS...: start rl ARGS in the background, all output to
# OUTFILE, stdin from /dev/null, with default signal dispositions (a
# non-interactive shell starts background jobs with SIGINT ignored, which a
# person's rl never has).  Sets RL_BG_PID.
rl_bg() {
	local out=$1
	shift
	env --default-signal "$RL" "$@" >"$out" 2>&1 </dev/null &
	RL_BG_PID=$!
}

# wait_for FILE REGEX [SECONDS]: wait until FILE has a line matching REGEX;
# give up early when the rl started by rl_bg has exited.
wait_for() {
	local file=$1 re=$2 limit=${3:-10} i
	for ((i = 0; i < limit * 50; i++)); do
		grep -qE -- "$re" "$file" 2>/dev/null && return 0
		if [ -n "${RL_BG_PID:-}" ] && ! kill -0 "$RL_BG_PID" 2>/dev/null; then
			grep -qE -- "$re" "$file" 2>/dev/null && return 0
			echo "wait_for: rl exited before /$re/ appeared in $file; it has:" >&2
			sed 's/^/#   /' "$file" >&2
			return 1
		fi
		sleep 0.02
	done
	echo "wait_for: no /$re/ in $file after ${limit}s; it has:" >&2
	sed 's/^/#   /' "$file" >&2
	return 1
}

# wait_bg [SECONDS]: wait for the rl started by rl_bg, set $status to its
# exit status; kill it and fail if it does not end in time.
wait_bg() {
	local limit=${1:-15} i
	for ((i = 0; i < limit * 50; i++)); do
		kill -0 "$RL_BG_PID" 2>/dev/null || break
		sleep 0.02
	done
	if kill -0 "$RL_BG_PID" 2>/dev/null; then
		kill -KILL "$RL_BG_PID" 2>/dev/null
		wait "$RL_BG_PID" 2>/dev/null
		fail "rl (pid $RL_BG_PID) still running after ${limit}s"
		return 1
	fi
	status=0
	wait "$RL_BG_PID" || status=$?
}

# wait_gone PATTERN [SECONDS]: wait until no process of this user has a
# command line matching PATTERN (pgrep -f).
wait_gone() {
	local pat=$1 limit=${2:-5} i
	for ((i = 0; i < limit * 50; i++)); do
		pgrep -u "$(id -u)" -f -- "$pat" >/dev/null || return 0
		sleep 0.02
	done
	echo "wait_gone: still running:" >&2
	pgrep -a -u "$(id -u)" -f -- "$pat" >&2
	return 1
}

# ---------------------------------------------------------------- terminal

# run_pty [pty.py options and steps] -- COMMAND...: run COMMAND on a real
# pseudo-terminal (see pty.py); its status is COMMAND's, or 253 on a
# timeout, 254 when the terminal was not restored.
run_pty() {
	run --separate-stderr python3 "$BATS_TEST_DIRNAME/pty.py" "$@"
}
