#!/bin/bash
# Container start-up benchmark (not part of CI): the same busybox image, the
# same unprivileged user with a subuid range, median of N runs of `true`
# (timed in four rounds of every tool in turn, against the machine's drift) in
#
#   rl        rl run --rm --network none bb true
#   podman    podman --storage-driver overlay run --rm --network none IMG true
#   crun      crun run on an equivalent rootless bundle
#   bwrap     bwrap --unshare-all on the unpacked rootfs
#   floor     unshare -Urmnpiu --fork chroot ROOTFS true
#
# and rl's peak RSS.  Targets (issue 2): podman/rl >= 20, rl/floor <= 3.
#
#   sudo bash tests/bench/startup.sh [-n RUNS] [RL_BINARY]
#
# As root it prepares the machine (packages, the bench user, /dev/net/tun,
# crun's hugetlb hierarchy) and re-runs itself as that user; as a user it
# only measures.  A peer that is missing or fails is skipped with a note.
set -euo pipefail

runs=30
while getopts n: opt; do
	case "$opt" in
	n) runs=$OPTARG ;;
	*)
		echo "usage: $0 [-n RUNS] [RL_BINARY]" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
((runs >= 20)) || { echo "startup: at least 20 runs for a median worth quoting" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"

# ---------------------------------------------------------------- as root
# Prepares the machine (lib.sh) and re-runs this script as the bench user.
if [ "$(id -u)" -eq 0 ] && [ "${RL_BENCH_AS_USER:-}" != 1 ]; then
	bench_as_root "${BASH_SOURCE[0]}" "${1:-$repo/rl}" -n "$runs"
	exit $?
fi

# ---------------------------------------------------------------- as the user
rl_bin=${1:-$repo/rl}
mkrootfs=${RL_BENCH_MKROOTFS:-$repo/tests/fixtures/mkrootfs.sh}
[ -x "$rl_bin" ] || { echo "startup: no rl binary at $rl_bin" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rl-bench-user.XXXXXX")
bench_podman_mark
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	[ -n "${podman_ok:-}" ] && podman_cmd rmi -af >/dev/null 2>&1
	[ -n "${rl_ok:-}" ] && XDG_DATA_HOME="$tmp/rl-data" "$rl_bin" rmi -af >/dev/null 2>&1
	bench_podman_cleanup
	# Layers hold files owned by subordinate ids, which only a namespace
	# with the same mapping can remove.
	unshare --map-root-user --map-auto rm -rf "$tmp" ${podman_runroot:+"$podman_runroot"} 2>/dev/null ||
		rm -rf "$tmp" ${podman_runroot:+"$podman_runroot"} 2>/dev/null
	return 0
}
trap cleanup EXIT

echo "startup: user $(id -un) (uid $(id -u)), $runs runs each, $(nproc) cores, kernel $(uname -r)"
bash "$mkrootfs" --tar "$tmp/busybox.tar"
bash "$mkrootfs" "$tmp/rootfs"

declare -A median rss note
order=(rl podman crun bwrap floor)

# The tools are timed in rounds, each round a share of the runs of every
# tool in turn: this machine's speed drifts by a fifth within minutes,
# and podman alone takes a quarter of a minute, so timing each tool's runs
# in one go would compare rl with podman at different speeds.  Each round
# starts after a pause (what the tool before left to the kernel, network
# namespaces to clean up above all, is done by then) and three untimed
# runs, as a tool's runs in one go would.
rounds=4
declare -A cmd envs

# measure NAME COMMAND...: checks that COMMAND runs (with the variables
# of bench_env), then queues it for the timed rounds.
bench_env=()
measure() {
	local name=$1
	shift
	if ! env "${bench_env[@]}" "$@" >/dev/null 2>"$tmp/$name.err"; then
		note[$name]="skipped: fails: $(head -c 200 "$tmp/$name.err" | tr '\n' ' ')"
		return
	fi
	cmd[$name]=$(printf '%q ' "$@")
	envs[$name]=$(printf '%q ' "${bench_env[@]}")
	: >"$tmp/$name.times"
}

# time_round NAME N: N more timed runs of NAME's command (after a pause
# and three untimed), their wall times in us appended to $tmp/NAME.times.
time_round() (
	local name=$1 n=$2 i t0 t1
	[ -n "${envs[$name]// /}" ] && eval "export ${envs[$name]}"
	sleep 1
	if command -v hyperfine >/dev/null; then
		# -N: no intermediate shell, so only the command itself is timed.
		hyperfine -N --style none --warmup 3 --runs "$n" --export-json "$tmp/$name.json" "${cmd[$name]}" \
			>/dev/null 2>&1 || exit 1
		python3 -c 'import json,sys; [print(round(t * 1e6)) for t in json.load(open(sys.argv[1]))["results"][0]["times"]]' \
			"$tmp/$name.json" >>"$tmp/$name.times"
	else
		for ((i = 0; i < 3; i++)); do eval "${cmd[$name]}" >/dev/null 2>&1; done
		for ((i = 0; i < n; i++)); do
			t0=${EPOCHREALTIME//[.,]/}
			eval "${cmd[$name]}" >/dev/null 2>&1
			t1=${EPOCHREALTIME//[.,]/}
			echo $((t1 - t0)) >>"$tmp/$name.times"
		done
	fi
)

# --- rl
export XDG_DATA_HOME="$tmp/rl-data" XDG_CONFIG_HOME="$tmp/rl-config" XDG_CACHE_HOME="$tmp/rl-cache"
if "$rl_bin" import "$tmp/busybox.tar" bb >/dev/null 2>"$tmp/rl-import.err"; then
	rl_ok=1
	bench_env=(XDG_DATA_HOME="$XDG_DATA_HOME" XDG_CONFIG_HOME="$XDG_CONFIG_HOME" XDG_CACHE_HOME="$XDG_CACHE_HOME")
	measure rl "$rl_bin" run --rm --network none bb true
	bench_env=()
	# Peak RSS of rl itself (GNU time's %M, KiB), the largest of a few runs.
	if [ -x /usr/bin/time ] && [ -n "${cmd[rl]:-}" ]; then
		max=0
		for _ in 1 2 3 4 5; do
			kb=$(/usr/bin/time -f %M "$rl_bin" run --rm --network none bb true 2>&1 >/dev/null | tail -n1) || true
			[[ $kb =~ ^[0-9]+$ ]] && ((kb > max)) && max=$kb
		done
		rss[rl]=$max
	fi
else
	note[rl]="skipped: import failed: $(head -c 200 "$tmp/rl-import.err")"
fi
unset XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME

# --- podman: its own store in the temp dir, kernel overlay (Debian's podman
# otherwise falls back to vfs), no systemd (cgroupfs, file events).
# Podman refuses a runroot path longer than 50 characters.
podman_runroot=$(mktemp -d /tmp/rlbp.XXXXXX)
podman_args=(--root "$tmp/podman/root" --runroot "$podman_runroot"
	--storage-driver overlay --cgroup-manager cgroupfs --events-backend file)
podman_cmd() {
	podman "${podman_args[@]}" "$@"
}
if ! command -v podman >/dev/null; then
	note[podman]="skipped: not installed (helpers/install-deps.sh --bench)"
elif podman_cmd import "$tmp/busybox.tar" localhost/rlbench >/dev/null 2>"$tmp/podman-import.err"; then
	podman_ok=1
	measure podman podman "${podman_args[@]}" run --rm --network none localhost/rlbench true
else
	note[podman]="skipped: import failed: $(head -c 200 "$tmp/podman-import.err" | tr '\n' ' ')"
fi

# --- crun: a rootless bundle on the unpacked rootfs, a fresh id per run.
if ! command -v crun >/dev/null; then
	note[crun]="skipped: not installed"
else
	mkdir -p "$tmp/bundle" "$tmp/crun-state"
	(cd "$tmp/bundle" && crun spec --rootless)
	python3 - "$tmp/bundle/config.json" "$tmp/rootfs" <<'PY'
import json, sys
path, rootfs = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c["root"] = {"path": rootfs, "readonly": True}
c["process"]["args"] = ["true"]
c["process"]["terminal"] = False
json.dump(c, open(path, "w"), indent=1)
PY
	# crun run needs a unique container id each time; a tiny wrapper
	# gives one without a shell in the timed path mattering much (the
	# same wrapper cost is measured once for the floor below).
	cat >"$tmp/crun-run" <<EOF
#!/bin/sh
exec crun --root "$tmp/crun-state" run --bundle "$tmp/bundle" "b\$\$"
EOF
	chmod +x "$tmp/crun-run"
	measure crun "$tmp/crun-run"
fi

# --- bwrap
if command -v bwrap >/dev/null; then
	measure bwrap bwrap --unshare-all --bind "$tmp/rootfs" / --proc /proc --dev /dev true
else
	note[bwrap]="skipped: not installed"
fi

# --- the floor: namespaces and chroot, nothing else.
measure floor unshare -Urmnpiu --fork chroot "$tmp/rootfs" true

# ---------------------------------------------------------------- timing
per_round=$(((runs + rounds - 1) / rounds))
for ((r = 0; r < rounds; r++)); do
	for n in "${order[@]}"; do
		[ -n "${cmd[$n]:-}" ] || continue
		time_round "$n" "$per_round" || {
			note[$n]="skipped: timing failed"
			unset "cmd[$n]"
		}
	done
done
for n in "${order[@]}"; do
	[ -n "${cmd[$n]:-}" ] || continue
	median[$n]=$(awk '{ print $1 / 1000 }' "$tmp/$n.times" | median)
done

# ---------------------------------------------------------------- report
echo
echo "($((per_round * rounds)) runs each, in $rounds rounds of every tool in turn)"
printf '%-8s %12s %12s  %s\n' name "median ms" "x rl" "notes"
for n in "${order[@]}"; do
	if [ -n "${median[$n]:-}" ]; then
		ratio=-
		[ -n "${median[rl]:-}" ] && ratio=$(awk -v a="${median[$n]}" -v b="${median[rl]}" 'BEGIN { printf "%.2f", a / b }')
		extra=
		[ "$n" = crun ] && extra="(includes /bin/sh exec for a fresh id)"
		printf '%-8s %12s %12s  %s\n' "$n" "${median[$n]}" "$ratio" "$extra"
	else
		printf '%-8s %12s %12s  %s\n' "$n" - - "${note[$n]:-}"
	fi
done
if [ -n "${rss[rl]:-}" ]; then
	echo
	echo "rl peak RSS: ${rss[rl]} KiB"
fi
if [ -n "${median[rl]:-}" ]; then
	echo
	[ -n "${median[podman]:-}" ] && awk -v p="${median[podman]}" -v r="${median[rl]}" \
		'BEGIN { printf "podman / rl = %.1f (target >= 20): %s\n", p / r, (p / r >= 20) ? "met" : "NOT met" }'
	[ -n "${median[floor]:-}" ] && awk -v f="${median[floor]}" -v r="${median[rl]}" \
		'BEGIN { printf "rl / floor  = %.2f (target <= 3): %s\n", r / f, (r / f <= 3) ? "met" : "NOT met" }'
fi
exit 0
