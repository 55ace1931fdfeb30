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
#   RL_TEST_REGISTRY, RL_TEST_TLS_REGISTRY, RL_TEST_BAD_REGISTRY, ...
#                 the loopback registries run-all.sh starts and seeds (see
#                 "registries" below); image tests skip without them
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

# ---------------------------------------------------------------- registries
#
# run-all.sh starts three loopback registries (tests/fixtures/registries.sh)
# and seeds them with skopeo before the suites run:
#   RL_TEST_REGISTRY      plain HTTP, anonymous (127.0.0.1:5000)
#   RL_TEST_TLS_REGISTRY  TLS (CA in the system store, file $RL_TEST_CA) and
#                         htpasswd basic auth (127.0.0.1:5443)
#   RL_TEST_BAD_REGISTRY  tests/fixtures/badregistry.py (127.0.0.1:5001)
#   RL_TEST_REGISTRY_USER / RL_TEST_REGISTRY_PASSWORD  the credentials
#   RL_TEST_OCI           the seeded OCI layouts (tests/fixtures/mkimages.py)
#   RL_TEST_REGISTRY_LOG  the plain registry's access log (what a push sent)
# Seeded repositories: rl-test/{busybox,multi,index,zstd,plain,second},
# rl-test/busybox:1.0, rl-test/busybox-v2s2, rl-test/index-v2s2, busybox and
# library/busybox (see tests/fixtures/seed-registry.sh).

# need_registries: skip (saying why) when run without run-all.sh's registries.
need_registries() {
	if [ -z "${RL_TEST_REGISTRY:-}" ] || [ -z "${RL_TEST_TLS_REGISTRY:-}" ] ||
		[ -z "${RL_TEST_BAD_REGISTRY:-}" ] || [ -z "${RL_TEST_OCI:-}" ]; then
		skip "no test registries (run tests/run-all.sh, or tests/fixtures/registries.sh start DIR and source DIR/env)"
	fi
}

# The seeded repository NAME on the plain registry, e.g. reg busybox ->
# 127.0.0.1:5000/rl-test/busybox.
reg() {
	echo "$RL_TEST_REGISTRY/rl-test/$1"
}

# A repository of this user's own on the plain registry, for pushes: the
# three suites push under different names and never see each other's.
user_repo() {
	echo "$RL_TEST_REGISTRY/rl-push-$(id -un)/$1"
}

# bad_stats PYEXPR: evaluate PYEXPR on the bad registry's counters `s`
# (see badregistry.py: s["requests"][PATH], s["tokens"], ...).
bad_stats() {
	curl -fsS "http://$RL_TEST_BAD_REGISTRY/_stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

bad_reset() {
	curl -fsS -o /dev/null "http://$RL_TEST_BAD_REGISTRY/_reset"
}

# The bad registry serves every repository under any namespace ns-WORD/ as
# well; a test that counts requests takes a namespace of its own
# (bad_ns_new), so that nothing else using the registry at the same time
# (another suite, a person) disturbs its counts or the flaky state.
bad_ns_new() {
	BAD_NS="ns-$(id -u)-$$-$RANDOM$RANDOM"
}

# bad_ref REPO: REPO (e.g. good/busybox) in this test's namespace.
bad_ref() {
	echo "$RL_TEST_BAD_REGISTRY/$BAD_NS/$1"
}

# bad_count TEXT...: requests of this test's namespace whose counter key
# (see badregistry.py) contains every TEXT.
bad_count() {
	curl -fsS "http://$RL_TEST_BAD_REGISTRY/_stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)["requests"]
want = sys.argv[1:]
print(sum(n for p, n in s.items() if all(w in p for w in want)))' "$BAD_NS" "$@"
}

# oci_digest LAYOUT [WHAT]: from a seeded layout, the digest of the
# manifest "latest" names (WHAT=manifest, default), of its config
# (WHAT=config) or of its layer N (WHAT=layerN, from 0).
oci_digest() {
	python3 - "$RL_TEST_OCI/$1" "${2:-manifest}" <<'PY'
import json, os, sys
lay, what = sys.argv[1], sys.argv[2]
top = json.load(open(os.path.join(lay, "index.json")))["manifests"][0]["digest"]
if what == "manifest":
    print(top)
    sys.exit()
m = json.load(open(os.path.join(lay, "blobs", top.replace(":", "/"))))
print(m["config"]["digest"] if what == "config" else m["layers"][int(what[5:])]["digest"])
PY
}

# host_arch: the host's architecture as OCI names it.
host_arch() {
	case "$(uname -m)" in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	*) uname -m ;;
	esac
}

# ---------------------------------------------------------------- the store

# The store directory of the current test file.
rl_store() {
	echo "$XDG_DATA_HOME/rl"
}

# wait_removals [SECONDS]: wait until the store's tmp/ holds no rm-* entry:
# the files of a --rm container, deleted by a child of its rl's after rl
# returned (design.md).
wait_removals() {
	local limit=${1:-10} i
	for ((i = 0; i < limit * 50; i++)); do
		compgen -G "$(rl_store)/tmp/rm-*" >/dev/null || return 0
		sleep 0.02
	done
	echo "wait_removals: still there: $(ls -A "$(rl_store)/tmp")" >&2
	return 1
}

# store_snapshot FILE: what a failed command must leave as it found it:
# images.json's bytes, the names in layers/ and blobs/sha256/, and tmp/'s
# contents (which must be empty between commands).
store_snapshot() {
	local s
	s=$(rl_store)
	wait_removals || true
	{
		echo "images.json $(sha256sum <"$s/images.json" 2>/dev/null | cut -d' ' -f1)"
		(cd "$s" 2>/dev/null && ls -A layers blobs/sha256 tmp 2>/dev/null)
	} >"$1"
}

# assert_store_unchanged FILE: the store is as store_snapshot saw it, and
# its tmp/ is empty.
assert_store_unchanged() {
	local now="$BATS_TEST_TMPDIR/snapshot.now"
	store_snapshot "$now"
	if ! diff -u "$1" "$now" >&2; then
		fail "the store changed (see the diff above)"
		return 1
	fi
	local left
	left=$(ls -A "$(rl_store)/tmp" 2>/dev/null)
	[ -z "$left" ] || fail "tmp/ of the store is not empty: $left"
}

# assert_one_line_error: a failure in the form design.md promises: status
# 125, exactly one line on stderr, starting "rl: ".
assert_one_line_error() {
	assert_rl_error
	[ "${#stderr_lines[@]}" -eq 1 ] || { show >&2; fail "expected exactly one line on stderr"; }
}

# assert_id: stdout is exactly one image id (64 hex, sha256: allowed).
assert_id() {
	[ "${#lines[@]}" -eq 1 ] || { show >&2; fail "expected one line (the image id) on stdout"; }
	assert_match '^(sha256:)?[0-9a-f]{64}$'
}

# private_runtime_dir: a fresh XDG_RUNTIME_DIR for this test (the suite runs
# without one), where rl login keeps containers/auth.json.
private_runtime_dir() {
	export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
	mkdir -p "$XDG_RUNTIME_DIR"
	chmod 0700 "$XDG_RUNTIME_DIR"
}

# ---------------------------------------------------------------- podman (interop)

# podman_setup: a private podman (own store, runroot, XDG_RUNTIME_DIR) for
# interop tests; sets PODMAN_OK=1 when it can import the busybox fixture and
# read a file of it as this user, else PODMAN_WHY to the reason.  Files are
# read through `podman image mount` rather than `podman run`: crun refuses
# hybrid cgroup layouts, and the image is what the interop tests are about.
# Call from setup_file; podman_teardown from teardown_file.
podman_setup() {
	PODMAN_OK=0
	PODMAN_WHY=
	if ! command -v podman >/dev/null; then
		PODMAN_WHY="podman is not installed"
		export PODMAN_OK PODMAN_WHY
		return 0
	fi
	# Podman refuses a runroot path longer than 50 characters.
	PODMAN_RUNROOT=$(mktemp -d /tmp/rlpod.XXXXXX)
	PODMAN_ROOT="$RL_TEST_DIR/podman"
	# Its pause process and runtime files go here, not in rl's runroot.
	PODMAN_XDG="$RL_TEST_DIR/podman-run"
	mkdir -p "$PODMAN_ROOT" "$PODMAN_XDG"
	chmod 0700 "$PODMAN_XDG"
	export PODMAN_RUNROOT PODMAN_ROOT PODMAN_XDG
	local out
	if ! out=$(podman_cmd import "$RL_FIXTURES/busybox.tar" localhost/podman-probe 2>&1) ||
		! out=$(podman_cat localhost/podman-probe /etc/rl-fixture 2>&1) ||
		[ "$out" != rl-test-busybox ]; then
		PODMAN_WHY="podman does not work for $(id -un): $(tail -n1 <<<"$out")"
	else
		podman_cmd rmi -f localhost/podman-probe >/dev/null 2>&1
		PODMAN_OK=1
	fi
	export PODMAN_OK PODMAN_WHY
}

podman_cmd() {
	XDG_RUNTIME_DIR="$PODMAN_XDG" podman --root "$PODMAN_ROOT" --runroot "$PODMAN_RUNROOT" \
		--storage-driver overlay --cgroup-manager cgroupfs --events-backend file "$@"
}

# podman_cat IMAGE FILE: FILE of podman's IMAGE on stdout (inside podman's
# user namespace, where its layers are readable).
podman_cat() {
	local p inner
	p="podman --root $PODMAN_ROOT --runroot $PODMAN_RUNROOT --storage-driver overlay"
	inner="m=\$($p image mount '$1') && cat \"\$m$2\"; s=\$?; $p image unmount '$1' >/dev/null 2>&1; exit \$s"
	if [ "$(id -u)" -eq 0 ]; then
		XDG_RUNTIME_DIR="$PODMAN_XDG" sh -c "$inner" 2>/dev/null
	else
		XDG_RUNTIME_DIR="$PODMAN_XDG" $p unshare sh -c "$inner" 2>/dev/null
	fi
}

need_podman() {
	[ "${PODMAN_OK:-0}" = 1 ] || skip "${PODMAN_WHY:-podman_setup not called}"
}

podman_teardown() {
	[ -n "${PODMAN_RUNROOT:-}" ] || return 0
	podman_cmd rmi -af >/dev/null 2>&1 || true
	# Rootless podman leaves a pause process holding its user namespace.
	local pause
	pause=$(cat "$PODMAN_XDG/libpod/tmp/pause.pid" 2>/dev/null) && kill "$pause" 2>/dev/null
	# Its store holds files of subordinate ids: only its namespace removes them.
	podman_cmd unshare rm -rf "$PODMAN_ROOT" >/dev/null 2>&1 || true
	pause=$(cat "$PODMAN_XDG/libpod/tmp/pause.pid" 2>/dev/null) && kill "$pause" 2>/dev/null
	# As root, podman's overlay driver bind-mounts its directory onto
	# itself in the host's namespace: undo that, deepest first.
	if [ "$(id -u)" -eq 0 ]; then
		awk -v r="$PODMAN_ROOT" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
			while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
		rm -rf "$PODMAN_ROOT" 2>/dev/null
	fi
	rm -rf "$PODMAN_RUNROOT" 2>/dev/null || true
}

# rl_prime_store: make rl say its one-time identity-map notice now, in the
# current store (XDG_DATA_HOME), so that the stderr of the command under
# test is that command's alone.  rl says it on the first run or pull with a
# store: this imports a tiny image (no busybox, so no layer a later pull
# could reuse), runs a command it does not have (127, after the notice) and
# removes it again.
rl_prime_store() {
	local tar="$BATS_RUN_TMPDIR/rl-prime.tar"
	if [ ! -f "$tar" ]; then
		python3 - "$tar.tmp" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name, uid in (("prime-root", 0), ("prime-user", 1000)):
        ti = tarfile.TarInfo(name)
        ti.size, ti.uid, ti.gid, ti.mtime = 6, uid, uid, 1672531200
        t.addfile(ti, io.BytesIO(b"prime\n"))
PY
		mv -f "$tar.tmp" "$tar"
	fi
	# bats runs this under set -e: the run is meant to fail.
	rl import "$tar" localhost/rl-prime >/dev/null 2>&1 || true
	rl run --rm --network none localhost/rl-prime /prime-root >/dev/null 2>&1 || true
	rl rmi -f localhost/rl-prime >/dev/null 2>&1 || true
}
