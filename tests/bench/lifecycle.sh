#!/bin/bash
# Detached-container benchmark (not part of CI), issue 5: the same busybox
# image, the same unprivileged user, N rounds of
#
#   run -d IMG sleep 1000      exec CTR true      rm -f CTR
#
# for rl and for podman (kernel overlay, cgroupfs, no network, `rm -f -t 0`
# so that neither waits for a stop timeout), the median of each step, and
# the resident memory of rl's monitor against podman's conmon.
# Targets: each step at least 10 times faster than podman; monitor RSS
# below conmon's.
#
#   sudo bash tests/bench/lifecycle.sh [-n ROUNDS] [RL_BINARY]
set -euo pipefail

rounds=20
while getopts n: opt; do
	case "$opt" in
	n) rounds=$OPTARG ;;
	*)
		echo "usage: $0 [-n ROUNDS] [RL_BINARY]" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"

if [ "$(id -u)" -eq 0 ] && [ "${RL_BENCH_AS_USER:-}" != 1 ]; then
	bench_as_root "${BASH_SOURCE[0]}" "${1:-$here/../../rl}" -n "$rounds"
	exit $?
fi

rl_bin=${1:?rl binary}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rl-bench-user.XXXXXX")
podman_runroot=$(mktemp -d /tmp/rlbp.XXXXXX)
podman_args=(--root "$tmp/podman/root" --runroot "$podman_runroot"
	--storage-driver overlay --cgroup-manager cgroupfs --events-backend file)
pm() { podman "${podman_args[@]}" "$@"; }
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	pm rm -af -t 0 >/dev/null 2>&1 || true
	pm rmi -af >/dev/null 2>&1 || true
	XDG_DATA_HOME="$tmp/rl-data" "$rl_bin" rm -af >/dev/null 2>&1 || true
	XDG_DATA_HOME="$tmp/rl-data" "$rl_bin" rmi -af >/dev/null 2>&1 || true
	bench_podman_cleanup
	unshare --map-root-user --map-auto rm -rf "$tmp" "$podman_runroot" 2>/dev/null ||
		rm -rf "$tmp" "$podman_runroot" 2>/dev/null
	return 0
}
trap cleanup EXIT
bench_podman_mark

# The clock from bash itself: `$(date ...)` forks and execs, which costs
# 5 ms on a VM with shadow page tables and would be counted in every step.
now_us() { printf -v "$1" '%s' "${EPOCHREALTIME//[.,]/}"; }

echo "lifecycle: user $(id -un), $rounds rounds, $(nproc) cores, kernel $(uname -r)"
bash "${RL_BENCH_MKROOTFS:-$here/../fixtures/mkrootfs.sh}" --tar "$tmp/busybox.tar"

declare -A med
# round TOOL: one run -d / exec / rm -f, times appended to $tmp/TOOL-STEP.
round() {
	local tool=$1 t0 t1 id
	local -a run exec rm
	if [ "$tool" = rl ]; then
		run=("$rl_bin" run -d --network none bb sleep 1000)
		exec=("$rl_bin" exec)
		rm=("$rl_bin" rm -f)
	else
		run=(podman "${podman_args[@]}" run -d --network none localhost/rlbench sleep 1000)
		exec=(podman "${podman_args[@]}" exec)
		rm=(podman "${podman_args[@]}" rm -f -t 0)
	fi
	now_us t0
	id=$("${run[@]}")
	now_us t1
	echo $(((t1 - t0))) >>"$tmp/$tool-run"
	now_us t0
	"${exec[@]}" "$id" true
	now_us t1
	echo $(((t1 - t0))) >>"$tmp/$tool-exec"
	if [ ! -s "$tmp/$tool-rss" ]; then
		if [ "$tool" = rl ]; then
			pid=$(sed -n 's/^monitor=//p' "${XDG_RUNTIME_DIR}/rl/containers/$id/state" 2>/dev/null ||
				sed -n 's/^monitor=//p' "$TMPDIR/rl-$(id -u)/containers/$id/state")
		else
			pid=$(podman "${podman_args[@]}" inspect --format '{{.State.ConmonPid}}' "$id" 2>/dev/null ||
				pgrep -n -u "$(id -u)" conmon)
		fi
		[ -n "$pid" ] && awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" >"$tmp/$tool-rss"
	fi
	now_us t0
	"${rm[@]}" "$id" >/dev/null
	now_us t1
	echo $(((t1 - t0))) >>"$tmp/$tool-rm"
}

export XDG_DATA_HOME="$tmp/rl-data" XDG_CONFIG_HOME="$tmp/rl-config" XDG_CACHE_HOME="$tmp/rl-cache"
"$rl_bin" import "$tmp/busybox.tar" bb >/dev/null
tools=(rl)
if command -v podman >/dev/null && pm import "$tmp/busybox.tar" localhost/rlbench >/dev/null 2>"$tmp/pm.err" &&
	pm run --rm --network none localhost/rlbench true >/dev/null 2>>"$tmp/pm.err"; then
	tools+=(podman)
else
	echo "podman: skipped: $(head -c 300 "$tmp/pm.err" | tr '\n' ' ')"
fi
# Interleaved, so that a slow phase of the machine hits both alike.
round rl >/dev/null
for ((i = 0; i < rounds; i++)); do
	for t in "${tools[@]}"; do round "$t" >/dev/null; done
done

echo
printf '%-8s %10s %10s %10s %14s\n' tool "run -d ms" "exec ms" "rm -f ms" "monitor RSS kB"
for t in "${tools[@]}"; do
	for s in run exec rm; do
		med[$t-$s]=$(awk '{print $1 / 1000}' "$tmp/$t-$s" | median)
	done
	printf '%-8s %10s %10s %10s %14s\n' "$t" "${med[$t-run]}" "${med[$t-exec]}" "${med[$t-rm]}" \
		"$(cat "$tmp/$t-rss" 2>/dev/null || echo -)"
done
if [ -n "${med[podman-run]:-}" ]; then
	echo
	for s in run exec rm; do
		awk -v p="${med[podman-$s]}" -v r="${med[rl-$s]}" -v s="$s" \
			'BEGIN { printf "podman / rl, %-5s = %6.1f (target >= 10): %s\n", s, p / r, (p / r >= 10) ? "met" : "NOT met" }'
	done
	printf 'monitor RSS: rl %s kB, conmon %s kB\n' "$(cat "$tmp/rl-rss")" "$(cat "$tmp/podman-rss")"
fi
