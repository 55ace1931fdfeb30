#!/bin/bash
# Network benchmark (not part of CI): iperf3 through a published port,
# host -> container and container -> host (-R), the server in the container
# and the client on the host's 127.0.0.1, all at MTU 65520, for
#
#   rl           rl run -p (libslirp in rl's monitor)
#   slirp4netns  slirp4netns --mtu=65520 --disable-host-loopback and its
#                add_hostfwd (Podman's port_handler=slirp4netns)
#   pasta        pasta -m 65520 -t (Podman's --network pasta)
#
# in Gbit/s with the ratio rl/peer, then rl's start-up with and without the
# slirp network (`rl run --rm IMG true`, mean of hyperfine or of a loop).
# Target (issue 6): rl >= slirp4netns; start-up with slirp < 2x without.
#
#   bash tests/bench/net.sh [-t SECONDS] [RL_BINARY]
#
# Needs iperf3 on the host (Debian: iperf3; it is copied with its libraries
# into the test image), slirp4netns and passt for the peers (a peer that is
# missing or fails is skipped with a note).  Run it as the unprivileged user
# to measure.
set -euo pipefail

secs=5
while getopts t: opt; do
	case "$opt" in
	t) secs=$OPTARG ;;
	*)
		echo "usage: $0 [-t SECONDS] [RL_BINARY]" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
rl_bin=${1:-$repo/rl}
[ -x "$rl_bin" ] || { echo "net: no rl binary at $rl_bin" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "net: iperf3 is not installed (Debian: iperf3)" >&2; exit 1; }

work=$(mktemp -d /tmp/rlnet.XXXXXX)
bg_pids=()
cleanup() {
	"$rl_bin" rm -af >/dev/null 2>&1 || true
	"$rl_bin" rmi -af >/dev/null 2>&1 || true
	# The peers' processes (started here, in the background) and what they
	# started (iperf3 in their namespaces).
	local p
	for p in "${bg_pids[@]}"; do
		pkill -P "$p" 2>/dev/null || true
		kill "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
export XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache
export TMPDIR=$work/tmp
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$TMPDIR"

# The image: the busybox fixture plus iperf3 and every library it loads.
rootfs=$work/rootfs
bash "$repo/tests/fixtures/mkrootfs.sh" "$rootfs" >/dev/null
ip3=$(command -v iperf3)
for f in "$ip3" $(ldd "$ip3" | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }'); do
	[ -f "$f" ] || continue
	mkdir -p "$rootfs$(dirname "$f")"
	cp -L "$f" "$rootfs$f"
done
tar -C "$rootfs" -cf "$work/iperf.tar" .
"$rl_bin" import "$work/iperf.tar" iperf >/dev/null

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# gbits PORT [-R]: iperf3's receiver throughput in Gbit/s, the median of
# three runs (a loaded 2-core machine varies a lot from run to run).
gbits() {
	local i r out all=()
	for ((r = 0; r < 3; r++)); do
		for ((i = 0; i < 50; i++)); do
			out=$(iperf3 -c 127.0.0.1 -p "$1" -t "$secs" -J ${2:-} 2>/dev/null |
				python3 -c 'import json, sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' 2>/dev/null) && break
			sleep 0.2
		done
		[ -n "$out" ] && all+=("$out")
	done
	[ ${#all[@]} -gt 0 ] || return 1
	printf '%s\n' "${all[@]}" | sort -n | sed -n "$(((${#all[@]} + 1) / 2))p"
}

declare -A up down
measure() { # NAME START-COMMAND... (gets the port as $PORT)
	local name=$1 port
	shift
	port=$(free_port)
	if ! PORT=$port eval "$*" >"$work/$name.start" 2>&1; then
		echo "  $name: skipped: $(tail -n1 "$work/$name.start")"
		return 0
	fi
	up[$name]=$(gbits "$port" || echo "-")
	down[$name]=$(gbits "$port" -R || echo "-")
}

echo "iperf3 through a published port, median of 3 runs of $secs s, MTU 65520:"
measure rl '"$rl_bin" run -d --name ip3 -p 127.0.0.1:$PORT:5201 iperf iperf3 -s'

# The peers as Podman runs them (its slirp4netns port_handler=slirp4netns
# and pasta), started directly: the same programs and options, without
# Podman's own layers (which on some machines cannot run at all).
if command -v slirp4netns >/dev/null; then
	s4_start() {
		local pidf=$work/s4.pid
		unshare --user --map-root-user --net --fork sh -c "echo \$\$ >$pidf; exec iperf3 -s -p 5201" \
			>/dev/null 2>&1 &
		bg_pids+=($!)
		for ((i = 0; i < 50; i++)); do [ -s "$pidf" ] && break; sleep 0.1; done
		bg_pids+=("$(cat "$pidf")")
		slirp4netns --configure --mtu=65520 --disable-host-loopback --api-socket "$work/s4.api" \
			"$(cat "$pidf")" tap0 >"$work/s4.log" 2>&1 &
		bg_pids+=($!)
		for ((i = 0; i < 50; i++)); do [ -S "$work/s4.api" ] && break; sleep 0.1; done
		python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(json.dumps({"execute": "add_hostfwd", "arguments": {"proto": "tcp",
    "host_addr": "127.0.0.1", "host_port": int(sys.argv[2]), "guest_port": 5201}}).encode())
r = json.loads(s.recv(4096))
sys.exit("add_hostfwd: %s" % r if "error" in r else 0)' "$work/s4.api" "$PORT"
	}
	measure slirp4netns s4_start
else
	echo "  slirp4netns: skipped (not installed)"
fi
if command -v pasta >/dev/null; then
	measure pasta 'pasta --config-net -m 65520 -t 127.0.0.1/$PORT:5201 -u none -T none -U none -f -- iperf3 -s -p 5201 >"$work/pasta.log" 2>&1 & bg_pids+=($!)'
else
	echo "  pasta: skipped (not installed; Debian: passt)"
fi

printf '  %-12s %14s %14s\n' "" "host->ctr" "ctr->host"
for n in rl slirp4netns pasta; do
	[ -n "${up[$n]:-}" ] || continue
	printf '  %-12s %9s Gbit/s %9s Gbit/s' "$n" "${up[$n]}" "${down[$n]}"
	if [ "$n" != rl ] && [ "${up[$n]}" != - ] && [ "${up[rl]:-"-"}" != - ]; then
		printf '   rl/%s: %s, %s' "$n" \
			"$(python3 -c "print('%.2f' % (${up[rl]} / ${up[$n]}))")" \
			"$(python3 -c "print('%.2f' % (${down[rl]} / ${down[$n]}))")"
	fi
	echo
done

echo "start-up, rl run --rm iperf true:"
if command -v hyperfine >/dev/null; then
	hyperfine -N -w 5 -r 50 "$rl_bin run --rm --network none iperf true" "$rl_bin run --rm iperf true" |
		grep -E 'Benchmark|Time|faster'
else
	for net in none slirp; do
		t0=$(date +%s%N)
		for ((i = 0; i < 50; i++)); do "$rl_bin" run --rm --network "$net" iperf true; done
		echo "  --network $net: $(((($(date +%s%N) - t0) / 50000)))us per run"
	done
fi
