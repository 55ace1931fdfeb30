# Shared by the benchmarks (not CI): the machine preparation they need as
# root, and running the rest of a script as the bench user.
#
# bench_as_root SCRIPT RL_BINARY ARGS...: as root, install the peers, make
# the bench user (with a subuid range, as podman needs), open /dev/net/tun
# and /dev/fuse, mount crun's hugetlb hierarchy for the run, give the user
# a runtime directory, copy SCRIPT, rl and the fixture builder where the
# user can read them, and run `SCRIPT ARGS... RL` as the user with
# RL_BENCH_AS_USER=1.  Undoes the mount and removes the copies at exit.

bench_user=${RL_BENCH_USER:-rltest}

bench_as_root() {
	local script=$1 rl_bin=$2
	shift 2
	local here repo
	here=$(cd "$(dirname "$script")" && pwd)
	repo=$(cd "$here/../.." && pwd)
	[ -x "$rl_bin" ] || { echo "bench: no rl binary at $rl_bin (build it first)" >&2; exit 1; }
	bash "$repo/helpers/install-deps.sh" --bench

	if ! id -u "$bench_user" >/dev/null 2>&1; then
		useradd --create-home --shell /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$bench_user"
	fi
	local f dev
	for f in /etc/subuid /etc/subgid; do
		grep -q "^$bench_user:" "$f" 2>/dev/null || echo "$bench_user:200000:65536" >>"$f"
	done
	# Podman's rootless network setup opens /dev/net/tun; fuse-overlayfs
	# needs /dev/fuse.
	for dev in /dev/net/tun /dev/fuse; do
		[ -c "$dev" ] && [ "$(stat -c %a "$dev")" = 600 ] && chmod 0666 "$dev"
	done
	# crun 1.8.1 refuses every container on this hybrid layout (v1
	# controllers, cgroup2 at /sys/fs/cgroup/unified) until hugetlb is
	# mounted as a v1 hierarchy.  For the benchmark only: unmounted at exit.
	bench_hugetlb_mounted=
	if [ -d /sys/fs/cgroup/unified ] && ! mountpoint -q /sys/fs/cgroup/hugetlb 2>/dev/null; then
		if mkdir -p /sys/fs/cgroup/hugetlb 2>/dev/null &&
			mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb 2>/dev/null; then
			bench_hugetlb_mounted=1
		else
			echo "bench: could not mount the hugetlb hierarchy; crun may refuse" >&2
		fi
	fi
	local uid home rundir
	uid=$(id -u "$bench_user")
	home=$(getent passwd "$bench_user" | cut -d: -f6)
	# Podman wants a runtime directory; without a systemd session there is
	# none, so make the one it would use.
	rundir="/tmp/podman-run-$uid"
	mkdir -p "$rundir" && chown "$bench_user:" "$rundir" && chmod 0700 "$rundir"
	bench_work=$(mktemp -d /tmp/rl-bench.XXXXXX)
	trap bench_root_cleanup EXIT
	chmod 0755 "$bench_work"
	mkdir -p "$bench_work/tmp" && chown "$bench_user:" "$bench_work/tmp"
	install -m 0755 "$rl_bin" "$bench_work/rl"
	install -m 0755 "$script" "$bench_work/bench.sh"
	install -m 0644 "$here/lib.sh" "$bench_work/lib.sh"
	install -m 0755 "$repo/tests/fixtures/mkrootfs.sh" "$bench_work/mkrootfs.sh"
	cd "$bench_work" || exit 1
	runuser -u "$bench_user" -- env -i HOME="$home" USER="$bench_user" LOGNAME="$bench_user" \
		PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 \
		XDG_RUNTIME_DIR="$rundir" TMPDIR="$bench_work/tmp" RL_BENCH_AS_USER=1 \
		RL_BENCH_MKROOTFS="$bench_work/mkrootfs.sh" \
		bash "$bench_work/bench.sh" "$@" "$bench_work/rl"
}

# shellcheck disable=SC2317  # called by the trap
bench_root_cleanup() {
	rm -rf "$bench_work"
	if [ -n "${bench_hugetlb_mounted:-}" ]; then
		umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb 2>/dev/null
	fi
}

# median: the median of the numbers on stdin, one a line.
median() {
	sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) exit 1; m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f\n", m }'
}

# Rootless podman leaves a "pause" process holding its user namespace (and,
# after `run -d`, `podman container cleanup` processes that conmon starts):
# bench_podman_mark before using podman, bench_podman_cleanup at the end ends
# what this run started, so that nothing of the bench user stays behind.
bench_pause_pid() {
	local pid
	pid=$(cat "${XDG_RUNTIME_DIR:-/nonexistent}/libpod/tmp/pause.pid" 2>/dev/null) &&
		kill -0 "$pid" 2>/dev/null && echo "$pid"
}
bench_podman_mark() {
	bench_pause_before=$(bench_pause_pid || true)
	bench_podman_t0=$(date +%s)
}
bench_podman_cleanup() {
	local pause
	pause=$(bench_pause_pid || true)
	[ -n "$pause" ] && [ "$pause" != "${bench_pause_before:-}" ] && kill "$pause" 2>/dev/null
	# podman processes of this user started during this run (cleanups)
	local pid age ran=$(($(date +%s) - ${bench_podman_t0:-0}))
	for pid in $(pgrep -u "$(id -u)" -x podman 2>/dev/null); do
		age=$(ps -o etimes= -p "$pid" 2>/dev/null) || continue
		[ "${age// /}" -le "$ran" ] && kill "$pid" 2>/dev/null
	done
	return 0
}
