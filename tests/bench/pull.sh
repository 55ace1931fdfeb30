#!/bin/bash
# Pull benchmark (not part of CI): the same loopback registry, the same
# unprivileged user with a subuid range, a fresh store for every run, median
# of N runs of
#
#   rl       rl pull --tls-verify=false REG/bench/IMG
#   podman   podman pull --tls-verify=false REG/bench/IMG
#   skopeo   skopeo copy docker://REG/bench/IMG oci:DIR   (no unpacking)
#   gunzip   gzip -dc LAYER | tar -x, for each layer of IMG (the floor for
#            the unpacking part: same bytes, no network, no digests)
#
# for two images: small (the busybox fixture, one ~1 MB layer) and big
# (three layers, ~150 MiB: two of random data, one of text).  Reported: the
# median wall time, its ratio to rl's, the median CPU time (user + system,
# children included) and CPU milliseconds per MB of compressed layers.
# Targets (issue 3): podman/rl >= 2 on the big image; rl's CPU per MB within
# 1.5 times gunzip's.
#
#   sudo bash tests/bench/pull.sh [-n RUNS] [-m BIG_MIB] [RL_BINARY]
#
# As root it installs the peers, starts its own registry on 127.0.0.1:5002
# (RL_BENCH_REGISTRY), builds and pushes the images, and re-runs itself as
# the bench user (RL_BENCH_USER, default rltest); as a user it only
# measures.  A peer that is missing or fails is skipped with a note.
#
# The set-up functions are called through measure's argument and the
# cleanups by traps, which shellcheck cannot see.
# shellcheck disable=SC2317
set -euo pipefail

runs=5
big_mib=150
while getopts n:m: opt; do
	case "$opt" in
	n) runs=$OPTARG ;;
	m) big_mib=$OPTARG ;;
	*)
		echo "usage: $0 [-n RUNS] [-m BIG_MIB] [RL_BINARY]" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
((runs >= 5)) || { echo "pull: at least 5 runs for a median worth quoting" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
bench_user=${RL_BENCH_USER:-rltest}
registry=${RL_BENCH_REGISTRY:-127.0.0.1:5002}

# ---------------------------------------------------------------- as root
if [ "$(id -u)" -eq 0 ] && [ "${RL_BENCH_AS_USER:-}" != 1 ]; then
	rl_bin=${1:-$repo/rl}
	[ -x "$rl_bin" ] || { echo "pull: no rl binary at $rl_bin (build it first)" >&2; exit 1; }
	bash "$repo/helpers/install-deps.sh" --bench

	if ! id -u "$bench_user" >/dev/null 2>&1; then
		useradd --create-home --shell /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$bench_user"
	fi
	for f in /etc/subuid /etc/subgid; do
		grep -q "^$bench_user:" "$f" 2>/dev/null || echo "$bench_user:200000:65536" >>"$f"
	done
	uid=$(id -u "$bench_user")
	home=$(getent passwd "$bench_user" | cut -d: -f6)
	# Podman wants a runtime directory; without a systemd session there
	# is none, so make the one it would use.
	xdg_run="/tmp/podman-run-$uid"
	mkdir -p "$xdg_run" && chown "$bench_user:" "$xdg_run" && chmod 0700 "$xdg_run"

	work=$(mktemp -d /tmp/rl-pullbench.XXXXXX)
	chmod 0755 "$work"
	registry_pid=
	root_cleanup() {
		[ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null
		rm -rf "$work"
	}
	trap root_cleanup EXIT

	echo "pull: building the images (big: $big_mib MiB)"
	bash "$repo/tests/fixtures/mkrootfs.sh" --tar "$work/busybox.tar"
	python3 "$repo/tests/fixtures/mkimages.py" --busybox-tar "$work/busybox.tar" --out "$work/oci" \
		--big-mb "$big_mib" busybox big >/dev/null

	if curl -fsS -o /dev/null "http://$registry/v2/" 2>/dev/null; then
		echo "pull: something already answers on $registry; set RL_BENCH_REGISTRY to a free address" >&2
		exit 1
	fi
	mkdir -p "$work/registry"
	cat >"$work/registry/config.yml" <<-EOF
		version: 0.1
		log:
		  level: error
		  accesslog:
		    disabled: true
		storage:
		  filesystem:
		    rootdirectory: $work/registry/data
		http:
		  addr: $registry
	EOF
	docker-registry serve "$work/registry/config.yml" >"$work/registry.log" 2>&1 &
	registry_pid=$!
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://$registry/v2/" 2>/dev/null && break
		sleep 0.1
	done
	skopeo copy --quiet --dest-tls-verify=false "oci:$work/oci/busybox:latest" "docker://$registry/bench/small:latest"
	skopeo copy --quiet --dest-tls-verify=false "oci:$work/oci/big:latest" "docker://$registry/bench/big:latest"

	mkdir -p "$work/tmp" && chown "$bench_user:" "$work/tmp"
	install -m 0755 "$rl_bin" "$work/rl"
	install -m 0755 "$here/pull.sh" "$work/pull.sh"
	chmod -R a+rX "$work/oci"
	cd "$work"
	runuser -u "$bench_user" -- env -i HOME="$home" USER="$bench_user" LOGNAME="$bench_user" \
		PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 \
		XDG_RUNTIME_DIR="$xdg_run" TMPDIR="$work/tmp" RL_BENCH_AS_USER=1 \
		RL_BENCH_REGISTRY="$registry" RL_BENCH_OCI="$work/oci" \
		bash "$work/pull.sh" -n "$runs" -m "$big_mib" "$work/rl"
	exit $?
fi

# ---------------------------------------------------------------- as the user
rl_bin=${1:-$repo/rl}
oci=${RL_BENCH_OCI:?RL_BENCH_OCI: the OCI layouts pushed to the registry (run as root)}
[ -x "$rl_bin" ] || { echo "pull: no rl binary at $rl_bin" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "pull: /usr/bin/time missing (package time)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rl-pullbench-user.XXXXXX")
pause_file=${XDG_RUNTIME_DIR:-/nonexistent}/libpod/tmp/pause.pid
pause_alive() {
	local pid
	pid=$(cat "$pause_file" 2>/dev/null) && kill -0 "$pid" 2>/dev/null && echo "$pid"
}
pause_before=$(pause_alive || true)
# Podman refuses a runroot path longer than 50 characters.
podman_runroot=$(mktemp -d /tmp/rlpb.XXXXXX)
cleanup() {
	local pause
	pause=$(pause_alive || true)
	[ -n "$pause" ] && [ "$pause" != "$pause_before" ] && kill "$pause" 2>/dev/null
	# Stores hold files owned by subordinate ids: only a namespace with the
	# same mapping can remove them.
	unshare --map-root-user --map-auto rm -rf "$tmp" "$podman_runroot" 2>/dev/null ||
		rm -rf "$tmp" "$podman_runroot" 2>/dev/null
	return 0
}
trap cleanup EXIT

# fresh DIR: an empty directory (whatever the last run left, removed).
fresh() {
	unshare --map-root-user --map-auto rm -rf "$1" 2>/dev/null || rm -rf "$1"
	mkdir -p "$1"
}

# timed OUTVAR COMMAND...: run COMMAND once; "WALL CPU" seconds into OUTVAR
# (wall from the clock in ns; CPU = user + system of COMMAND and the children
# it waited for, from GNU time), or return 1 (its stderr in $tmp/last.err).
timed() {
	local var=$1 out t0 t1
	shift
	t0=$(date +%s%N)
	if ! out=$(/usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null); then
		printf '%s\n' "$out" >"$tmp/last.err"
		return 1
	fi
	t1=$(date +%s%N)
	printf -v "$var" '%s' "$(tail -n1 <<<"$out" | awk -v w=$(((t1 - t0) / 1000)) '{ printf "%.3f %.3f", w / 1e6, $1 + $2 }')"
}

median() {
	sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m }'
}

declare -A wall cpu note

# measure KEY SETUP-FN COMMAND...: $runs runs, SETUP-FN before each (not timed).
measure() {
	local key=$1 setup=$2 i r walls=() cpus=()
	shift 2
	for ((i = 0; i < runs; i++)); do
		"$setup"
		if ! timed r "$@"; then
			note[$key]="skipped: fails: $(head -c 200 "$tmp/last.err" | tr '\n' ' ')"
			return
		fi
		walls+=("${r% *}")
		cpus+=("${r#* }")
	done
	wall[$key]=$(printf '%s\n' "${walls[@]}" | median)
	cpu[$key]=$(printf '%s\n' "${cpus[@]}" | median)
}

# The compressed size in MB (10^6) and the layer files of image $1.
layers_of() {
	python3 - "$oci/$1" <<'PY'
import json, os, sys
d = sys.argv[1]
top = json.load(open(os.path.join(d, "index.json")))["manifests"][0]["digest"]
m = json.load(open(os.path.join(d, "blobs", top.replace(":", "/"))))
for l in m["layers"]:
    print(os.path.join(d, "blobs", l["digest"].replace(":", "/")))
PY
}

export XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache"
podman_args=(--root "$tmp/podman" --runroot "$podman_runroot" --storage-driver overlay
	--cgroup-manager cgroupfs --events-backend file)

rl_setup() { fresh "$tmp/rl-data"; }
podman_setup() {
	podman "${podman_args[@]}" unshare rm -rf "$tmp/podman" 2>/dev/null || true
	fresh "$tmp/podman"
}
skopeo_setup() { fresh "$tmp/skopeo"; }
gunzip_setup() { fresh "$tmp/gunzip"; }

echo "pull: user $(id -un) (uid $(id -u)), $runs runs each, $(nproc) cores, kernel $(uname -r), registry $registry"
images=(small big)
tools=(rl podman skopeo gunzip)
declare -A mb
for img in "${images[@]}"; do
	layout=busybox
	[ "$img" = big ] && layout=big
	mapfile -t files < <(layers_of "$layout")
	mb[$img]=$(du -cb "${files[@]}" | tail -n1 | awk '{ printf "%.2f", $1 / 1e6 }')
	ref="$registry/bench/$img:latest"
	echo "pull: $img: ${#files[@]} layer(s), ${mb[$img]} MB compressed"

	measure "rl $img" rl_setup \
		env XDG_DATA_HOME="$tmp/rl-data" "$rl_bin" pull -q --tls-verify=false "$ref"
	if command -v podman >/dev/null; then
		measure "podman $img" podman_setup podman "${podman_args[@]}" pull -q --tls-verify=false "$ref"
	else
		note["podman $img"]="skipped: not installed"
	fi
	measure "skopeo $img" skopeo_setup skopeo copy --quiet --src-tls-verify=false "docker://$ref" "oci:$tmp/skopeo:x"
	# Inside a user namespace, as the others unpack: owners map, no errors.
	# shellcheck disable=SC2016  # expanded by the inner bash
	script='for f in "$@"; do gzip -dc "$f" | tar -x --no-same-owner -C "$D" || exit 1; done'
	measure "gunzip $img" gunzip_setup env D="$tmp/gunzip" unshare --map-root-user --map-auto \
		bash -c "$script" gunzip "${files[@]}"
done

# ---------------------------------------------------------------- report
echo
printf '%-7s %-7s %10s %8s %10s %10s  %s\n' image tool "wall s" "x rl" "cpu s" "cpu ms/MB" notes
for img in "${images[@]}"; do
	for t in "${tools[@]}"; do
		k="$t $img"
		if [ -n "${wall[$k]:-}" ]; then
			ratio=-
			[ -n "${wall[rl $img]:-}" ] && ratio=$(awk -v a="${wall[$k]}" -v b="${wall[rl $img]}" 'BEGIN { printf "%.2f", a / b }')
			per=$(awk -v c="${cpu[$k]}" -v m="${mb[$img]}" 'BEGIN { printf "%.1f", c * 1000 / m }')
			printf '%-7s %-7s %10s %8s %10s %10s\n' "$img" "$t" "${wall[$k]}" "$ratio" "${cpu[$k]}" "$per"
		else
			printf '%-7s %-7s %10s %8s %10s %10s  %s\n' "$img" "$t" - - - - "${note[$k]:-}"
		fi
	done
done
echo
if [ -n "${wall[rl big]:-}" ] && [ -n "${wall[podman big]:-}" ]; then
	awk -v p="${wall[podman big]}" -v r="${wall[rl big]}" \
		'BEGIN { printf "big: podman / rl = %.2f (target >= 2): %s\n", p / r, (p / r >= 2) ? "met" : "NOT met" }'
fi
if [ -n "${cpu[rl big]:-}" ] && [ -n "${cpu[gunzip big]:-}" ]; then
	awk -v r="${cpu[rl big]}" -v g="${cpu[gunzip big]}" \
		'BEGIN { printf "big: rl cpu / gunzip cpu = %.2f (target <= 1.5): %s\n", r / g, (r / g <= 1.5) ? "met" : "NOT met" }'
fi
exit 0
