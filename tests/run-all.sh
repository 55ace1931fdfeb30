#!/bin/bash
# rl's one test command: installs what it needs, prepares the machine, builds
# rl twice (gcc with -Werror, clang in a clean copy), runs the C unit tests
# and the bats system tests, side by side, as an unprivileged user with a
# subuid range, as one without, and as root, then prints `N passed, N failed,
# N skipped` as its very last line.  Exit status is non-zero when anything failed.
#
#   sudo bash tests/run-all.sh
#
# Environment (all optional):
#   RL_TEST_USERS   which suites to run (default "rltest rlsingle root")
#   RL_SUITE_TIMEOUT  seconds allowed for one user's system suite (default 600;
#                   the suites run side by side, so this bounds them all)
#   RL_SUITES_SERIAL=1  run the users' suites one after the other
#   RL_SKIP_DEPS=1  do not run helpers/install-deps.sh
#   RL_SKIP_CLANG=1 skip the clang build
#   RL_BATS_FILTER  passed to bats --filter (a regex on test names)
#   RL_TEST_REGISTRY_ADDR, RL_TEST_TLS_REGISTRY_ADDR, RL_TEST_BAD_REGISTRY_ADDR
#                   where the plain (127.0.0.1:5000), TLS + basic auth
#                   (127.0.0.1:5443) and misbehaving (127.0.0.1:5001) test
#                   registries listen (tests/fixtures/registries.sh)
#
# It must stay well under CI's limit: every step that can hang runs under
# `timeout`, and a suite cut short counts its unreported tests as failed.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1

if [ "$(id -u)" -ne 0 ]; then
	echo "run-all: must run as root (it creates test users): sudo bash tests/run-all.sh" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

users=${RL_TEST_USERS:-rltest rlsingle root}
suite_timeout=${RL_SUITE_TIMEOUT:-600}
subid_user=rltest
single_user=rlsingle
subid_start=200000
subid_count=65536
registry_addr=${RL_TEST_REGISTRY_ADDR:-127.0.0.1:5000}
tls_registry_addr=${RL_TEST_TLS_REGISTRY_ADDR:-127.0.0.1:5443}
bad_registry_addr=${RL_TEST_BAD_REGISTRY_ADDR:-127.0.0.1:5001}
registry_user=rltest
registry_password=rltest-password

total_pass=0
total_fail=0
total_skip=0
summaries=()

# Logs outlive the run so that a failure can be read afterwards.
logdir=$(mktemp -d /tmp/rl-test-logs.XXXXXX)
chmod 0755 "$logdir"
rundir=$(mktemp -d /tmp/rl-test.XXXXXX)
chmod 0755 "$rundir"
registries_started=

cleanup() {
	# Stops the registries and takes the test CA out of the system store.
	if [ -n "$registries_started" ]; then
		bash "$repo/tests/fixtures/registries.sh" stop "$registries_dir" >/dev/null 2>&1
	fi
	# Root can remove what the test users' containers left owned by
	# subordinate ids.
	rm -rf "$rundir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '=== %s\n' "$*"; }

# record GROUP PASSED FAILED SKIPPED [NOTE]
record() {
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
	total_skip=$((total_skip + $4))
	summaries+=("$(printf '%-22s %4d passed, %4d failed, %4d skipped%s' "$1:" "$2" "$3" "$4" "${5:+  ($5)}")")
}

# check GROUP NAME COMMAND...: one pass/fail for a setup or build step,
# output to a log whose tail is shown on failure.
check() {
	local group=$1 name=$2 log
	shift 2
	log="$logdir/$group-$name.log"
	log=${log// /_}
	if "$@" >"$log" 2>&1; then
		record "$group $name" 1 0 0
		return 0
	fi
	echo "--- $group $name failed; last lines of $log:"
	tail -n 40 "$log" | sed 's/^/    /'
	record "$group $name" 0 1 0
	return 1
}

# ---------------------------------------------------------------- setup
say "dependencies"
if [ "${RL_SKIP_DEPS:-0}" != 1 ]; then
	check setup deps timeout 600 bash "$repo/helpers/install-deps.sh"
fi

say "test users"
# useradd may hand out a subordinate range by itself (login.defs); the
# ranges are written here explicitly so both modes are what they claim.
make_user() {
	local name=$1
	if ! id -u "$name" >/dev/null 2>&1; then
		useradd --create-home --shell /bin/bash \
			-K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$name" || return 1
	fi
	local home
	home=$(getent passwd "$name" | cut -d: -f6)
	mkdir -p "$home" && chown "$name:" "$home" && chmod 0755 "$home"
}
# drop_subids NAME: remove NAME's lines (by name or uid) from subuid/subgid.
drop_subids() {
	local name=$1 uid f
	uid=$(id -u "$name")
	for f in /etc/subuid /etc/subgid; do
		touch "$f"
		sed -i -e "/^$name:/d" -e "/^$uid:/d" "$f"
	done
}
setup_users() {
	make_user "$subid_user" && make_user "$single_user" || return 1
	drop_subids "$subid_user"
	drop_subids "$single_user"
	echo "$subid_user:$subid_start:$subid_count" >>/etc/subuid
	echo "$subid_user:$subid_start:$subid_count" >>/etc/subgid
	# newuidmap is what makes the range usable; without its setuid bit
	# the subuid suite would silently test the single-id mode.
	if ! [ -u /usr/bin/newuidmap ] || ! [ -u /usr/bin/newgidmap ]; then
		echo "newuidmap/newgidmap missing or not setuid (package uidmap)"
		return 1
	fi
}
check setup users setup_users

# rootless fuse-overlayfs opens /dev/fuse, rootless networking /dev/net/tun;
# some images ship them 0600.
for dev in /dev/fuse /dev/net/tun; do
	if [ -c "$dev" ] && [ "$(stat -c %a "$dev")" = 600 ]; then
		chmod 0666 "$dev"
	fi
done

# Root's podman (the root suite's interop tests, an earlier run) leaves
# /run/containers at 0700; skopeo and podman run by a user then fail on
# /run/containers/UID/auth.json with EACCES instead of "not there".  Let
# users traverse it; what podman keeps below stays 0700.
if [ -d /run/containers ]; then
	chmod 0711 /run/containers
fi

say "registries"
# Three loopback registries (tests/fixtures/registries.sh): plain HTTP on
# $registry_addr, TLS + htpasswd on $tls_registry_addr (its CA in the system
# store while the run lasts), and a misbehaving one on $bad_registry_addr;
# seeded once here with skopeo, read by every user's suite.  Tests that push
# use repository names of their own user, so the suites do not meet.
registries_dir="$rundir/registries"
start_registries() {
	RL_REGISTRY_ADDR=$registry_addr RL_TLS_REGISTRY_ADDR=$tls_registry_addr \
		RL_BAD_REGISTRY_ADDR=$bad_registry_addr \
		RL_REGISTRY_USER=$registry_user RL_REGISTRY_PASSWORD=$registry_password \
		timeout 300 bash "$repo/tests/fixtures/registries.sh" start "$registries_dir"
}
registries_ok=0
# Set before starting: a start that fails half way still has something to stop.
registries_started=1
check setup registries start_registries && registries_ok=1

# ---------------------------------------------------------------- build
say "build (gcc, -Werror)"
build_gcc() {
	autoreconf -fi &&
		./configure CFLAGS="-O2 -g -Werror" &&
		make -j2
}
rl_bin=
if check build gcc timeout 900 bash -c "$(declare -f build_gcc); build_gcc"; then
	for f in "$repo/rl" "$repo/src/rl"; do
		if [ -x "$f" ] && [ -f "$f" ]; then
			rl_bin=$f
			break
		fi
	done
	if [ -z "$rl_bin" ]; then
		echo "--- build succeeded but produced no ./rl (nor src/rl)"
		record "build rl-binary" 0 1 0
	fi
fi

# The clang build needs a clean source tree: automake refuses an
# out-of-tree build from a source directory that is itself configured, and
# the gcc build above just configured this one.
build_clang() {
	local src="$rundir/clang-src"
	mkdir -p "$src"
	if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		# Tracked files plus new, not-ignored ones: what a commit would hold.
		(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
			xargs -0 -r cp --parents -a -t "$src" 2>/dev/null) || true
	else
		cp -a "$repo/." "$src/"
		[ -f "$src/Makefile" ] && make -C "$src" distclean >/dev/null 2>&1
	fi
	cd "$src" &&
		autoreconf -fi &&
		mkdir build-clang && cd build-clang &&
		../configure CC=clang CFLAGS="-O2 -Werror" &&
		make -j2
}
if [ "${RL_SKIP_CLANG:-0}" != 1 ]; then
	say "build (clang, -Werror)"
	check build clang timeout 900 bash -c "repo=$(printf %q "$repo") rundir=$(printf %q "$rundir"); $(declare -f build_clang); build_clang"
fi

# ---------------------------------------------------------------- unit tests
if [ -n "$rl_bin" ]; then
	say "unit tests (make check)"
	unit_log="$logdir/unit.log"
	AM_COLOR_TESTS=no timeout 600 make -j2 check >"$unit_log" 2>&1
	unit_rc=$?
	# Automake's parallel test driver ends each directory's run with
	# "# TOTAL: / # PASS: / # SKIP: / # XFAIL: / # FAIL: / # XPASS: / # ERROR:".
	# Sum them over directories (a recursive build prints one block each).
	read -r u_pass u_fail u_skip u_blocks < <(awk '
		/^# PASS: /  { p += $3 }
		/^# XFAIL: / { p += $3 }
		/^# SKIP: /  { s += $3 }
		/^# FAIL: /  { f += $3 }
		/^# XPASS: / { f += $3 }
		/^# ERROR: / { f += $3 }
		/^# TOTAL: / { b++ }
		END { print p + 0, f + 0, s + 0, b + 0 }' "$unit_log")
	grep -E '^(FAIL|ERROR|XPASS):' "$unit_log" | sed 's/^/    /'
	note=
	if [ "$unit_rc" -ne 0 ] && [ "$u_fail" -eq 0 ]; then
		# make failed before or around the tests (a test program that
		# does not compile, a timeout): that is a failure too.
		u_fail=1
		note="make check exited $unit_rc"
		echo "--- make check failed; last lines of $unit_log:"
		tail -n 40 "$unit_log" | sed 's/^/    /'
	elif [ "$u_blocks" -eq 0 ]; then
		note="no automake test summary found"
	fi
	if [ "$u_fail" -gt 0 ]; then
		# The per-directory test-suite.log holds the failing tests' output.
		find "$repo" -name test-suite.log -newer "$logdir" 2>/dev/null | while read -r f; do
			grep -q '^FAIL\|^ERROR\|^XPASS' "$f" || continue
			echo "--- $f:"
			head -n 80 "$f" | sed 's/^/    /'
		done
	fi
	record "unit" "$u_pass" "$u_fail" "$u_skip" "$note"
fi

# ---------------------------------------------------------------- fixtures
say "fixtures"
fixtures="$rundir/fixtures"
make_fixtures() {
	local m="$repo/tests/fixtures/mkrootfs.sh"
	mkdir -p "$fixtures" &&
		# The builders too: tests that make images of their own (hostile
		# layers aimed at their own paths) find them at
		# $BATS_TEST_DIRNAME/../fixtures, as in the source tree.
		cp "$repo"/tests/fixtures/*.sh "$repo"/tests/fixtures/*.py "$fixtures/" &&
		bash "$m" --tar "$fixtures/busybox.tar" &&
		bash "$m" --tar "$fixtures/busybox.tar.gz" &&
		bash "$m" --tar "$fixtures/busybox.tar.zst" &&
		bash "$m" "$fixtures/rootfs" &&
		chmod -R a+rX "$fixtures"
}
fixtures_ok=0
check setup fixtures make_fixtures && fixtures_ok=1

# The checkout may sit under a path the test users cannot traverse (CI
# clones under root's home): give them copies in a world-readable place.
mkdir -p "$rundir/bin" "$rundir/system"
cp -a "$repo/tests/system/." "$rundir/system/"
# The docs and completion tests read these as they are in the source tree.
mkdir -p "$rundir/tests"
cp -a "$repo/completions" "$repo/docs" "$rundir/"
cp -a "$repo/tests/check-man.sh" "$rundir/tests/"
chmod -R a+rX "$rundir/system" "$rundir/completions" "$rundir/docs" "$rundir/tests"
if [ -n "$rl_bin" ]; then
	install -m 0755 "$rl_bin" "$rundir/bin/rl"
fi

# ---------------------------------------------------------------- system tests
system_count=$(bats --count "$rundir/system" 2>/dev/null || echo 0)

# start_suite USER: run the bats suite as USER in the background, its TAP
# to $logdir/system-USER.tap, then its exit status and seconds taken to
# .rc and .time beside it.  report_suite USER counts it afterwards.
start_suite() {
	local user=$1 home uid tap tmp
	tap="$logdir/system-$user.tap"
	if [ -z "$rl_bin" ] || [ "$fixtures_ok" -ne 1 ]; then
		echo "not run: no rl binary or fixtures" >"$tap.skip"
		return
	fi
	if ! id -u "$user" >/dev/null 2>&1; then
		echo "not run: no user $user" >"$tap.skip"
		return
	fi
	home=$(getent passwd "$user" | cut -d: -f6)
	uid=$(id -u "$user")
	# A private TMPDIR per user: rl's runtime fallback ($TMPDIR/rl-UID)
	# and every test store live under it, and root removes it at the end.
	tmp="$rundir/tmp-$user"
	mkdir -p "$tmp" && chown "$user:" "$tmp" && chmod 0700 "$tmp"
	say "system tests as $user (uid $uid)"
	local filter=()
	[ -n "${RL_BATS_FILTER:-}" ] && filter=(--filter "$RL_BATS_FILTER")
	# Without registries the image tests skip, saying so.
	local registry_env=()
	if [ "$registries_ok" -eq 1 ]; then
		registry_env=(RL_TEST_REGISTRY="$registry_addr"
			RL_TEST_TLS_REGISTRY="$tls_registry_addr"
			RL_TEST_BAD_REGISTRY="$bad_registry_addr"
			RL_TEST_REGISTRY_USER="$registry_user"
			RL_TEST_REGISTRY_PASSWORD="$registry_password"
			RL_TEST_CA="$registries_dir/ca.crt"
			RL_TEST_OCI="$registries_dir/oci"
			RL_TEST_REGISTRY_LOG="$registries_dir/plain.log")
	fi
	# env -i: no XDG_RUNTIME_DIR, no systemd session, nothing of root's
	# environment; that is the situation rl must cope with.  Signals start
	# at their defaults whatever CI's caller ignored (a background job
	# ignores SIGINT and SIGQUIT).
	(
		local t0=$SECONDS
		cd "$rundir" && timeout -k 10 "$suite_timeout" \
		runuser -u "$user" -- env -i --default-signal \
		HOME="$home" USER="$user" LOGNAME="$user" SHELL=/bin/bash \
		PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
		LANG=C.UTF-8 TMPDIR="$tmp" \
		RL="$rundir/bin/rl" RL_FIXTURES="$fixtures" \
		"${registry_env[@]}" \
		bats --tap "${filter[@]}" "$rundir/system" >"$tap" 2>&1
		echo $? >"$tap.rc"
		echo $((SECONDS - t0)) >"$tap.time"
	) &
}

# report_suite USER: count what USER's suite wrote, and check that it left
# nothing behind.
report_suite() {
	local user=$1 uid tap
	tap="$logdir/system-$user.tap"
	if [ -f "$tap.skip" ]; then
		record "system $user" 0 "$system_count" 0 "$(cat "$tap.skip")"
		return
	fi
	uid=$(id -u "$user")
	local rc planned pass fail skip note=
	rc=$(cat "$tap.rc" 2>/dev/null || echo 1)
	planned=$(sed -n 's/^1\.\.\([0-9]\+\)$/\1/p' "$tap" | head -n1)
	pass=$(grep -cE '^ok [0-9]+' "$tap")
	skip=$(grep -cE '^ok [0-9]+ .*# [sS][kK][iI][pP]' "$tap")
	fail=$(grep -cE '^not ok [0-9]+' "$tap")
	pass=$((pass - skip))
	# Failed tests with bats' diagnostics (the "# " lines after them); past
	# the first 30 failures only their names, to keep CI's log readable.
	awk '/^not ok /{show=1; n=0; f++; print "    " $0; next}
	     /^ok /{show=0}
	     show && /^#/ && n < 25 && f <= 30 {print "      " $0; n++}' "$tap"
	if [ -n "$planned" ] && [ $((pass + skip + fail)) -lt "$planned" ]; then
		note="$((planned - pass - skip - fail)) not run, rc $rc"
		fail=$((planned - pass - skip))
	elif [ -z "$planned" ]; then
		note="bats did not start, rc $rc"
		tail -n 20 "$tap" | sed 's/^/    /'
		fail=$((fail > 0 ? fail : (system_count > 0 ? system_count : 1)))
	elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		note="bats exited $rc"
		fail=1
	fi
	[ "$rc" -eq 124 ] && note="timed out after ${suite_timeout}s; $note"
	note="$(cat "$tap.time" 2>/dev/null)s${note:+, $note}"
	record "system $user" "$pass" "$fail" "$skip" "$note"

	# Nothing may outlive a suite: no processes of the test user (rl
	# keeps no daemon; containers die with their rl), no mounts in the
	# test area of the host's mount namespace.
	local left
	if [ "$user" != root ]; then
		# Zombies are left out: this machine's PID 1 reaps orphans late.
		left=$(ps -u "$uid" -o pid=,stat=,args= 2>/dev/null | awk '$2 !~ /^Z/')
		if [ -n "$left" ]; then
			echo "--- processes left behind by $user:"
			printf '%s\n' "$left" | sed 's/^/    /'
			record "leftovers $user" 0 1 0 "processes left"
			printf '%s\n' "$left" | awk '{ print $1 }' | xargs -r kill -KILL 2>/dev/null
		fi
	fi
	# Also any process, of any user, still working on this run's stores
	# (a fuse-overlayfs left mounted names its layer paths).
	left=$(pgrep -a -f "$rundir/tmp-$user/" 2>/dev/null)
	if [ -n "$left" ]; then
		echo "--- processes still using $user's test stores:"
		printf '%s\n' "$left" | sed 's/^/    /'
		record "leftovers $user" 0 1 0 "processes left"
		pgrep -f "$rundir/tmp-$user/" | xargs -r kill -KILL 2>/dev/null
	fi
	mounts_left "$rundir/tmp-$user/" "leftovers $user"
}

# mounts_left DIR GROUP: a failure of GROUP for each mount of the host's
# namespace below DIR, which is then unmounted.
mounts_left() {
	grep -q " $1" /proc/self/mountinfo || return 0
	echo "--- mounts left behind in $1:"
	grep " $1" /proc/self/mountinfo | sed 's/^/    /'
	record "$2" 0 1 0 "mounts left"
	grep " $1" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
}

# The suites run side by side: each keeps one core less than half busy
# (rl, bats and the test tools mostly wait on each other), and each user
# has a store, a TMPDIR and registry repositories of its own.
for u in $users; do
	start_suite "$u"
	[ -n "${RL_SUITES_SERIAL:-}" ] && wait
done
wait
for u in $users; do
	say "system tests as $u: results"
	report_suite "$u"
done
mounts_left "$rundir/" leftovers

# ---------------------------------------------------------------- summary
echo
say "summary (logs in $logdir)"
for s in "${summaries[@]}"; do
	echo "  $s"
done
# CI reads this, and only this, as the result: it must be the last line.
if [ "$total_skip" -gt 0 ]; then
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "$total_pass passed, $total_fail failed"
fi
[ "$total_fail" -eq 0 ]
