#!/bin/bash
# Install everything needed to build, run and test rl on Debian 12 (bookworm)
# and its derivatives.  Safe to run again: apt-get skips what is installed,
# and the package index is refreshed only when a package is actually missing.
#
#   helpers/install-deps.sh           build + runtime + test dependencies
#   helpers/install-deps.sh --bench   also the peers of tests/bench/startup.sh
set -euo pipefail

usage() {
	echo "usage: $0 [--bench]" >&2
	exit 2
}

bench=0
for arg in "$@"; do
	case "$arg" in
	--bench) bench=1 ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done

packages=(
	# build
	autoconf automake libtool pkg-config make gcc clang
	libseccomp-dev libcap-dev libfuse3-dev libslirp-dev libyajl-dev
	# slirp.pc requires glib-2.0, which libslirp-dev does not pull in
	libglib2.0-dev
	libcurl4-openssl-dev libssl-dev libarchive-dev zlib1g-dev libzstd-dev
	# man pages (docs/man/*.md) are turned into roff by go-md2man
	go-md2man
	# run: fuse-overlayfs is the second storage driver, uidmap brings the
	# setuid newuidmap/newgidmap used for subordinate id ranges
	fuse-overlayfs fuse3 uidmap
	# test: busybox-static is the fixture image, docker-registry a local
	# registry for the pull tests, skopeo pushes fixtures into it; openssl
	# and apache2-utils (htpasswd) make the TLS + basic-auth registry, whose
	# CA update-ca-certificates installs; podman is the peer of the
	# save/load and push/pull interop tests
	busybox-static bats tmux zstd python3 curl docker-registry skopeo
	# completion tests drive real shells through tmux
	zsh fish
	openssl ca-certificates apache2-utils podman
	# the seccomp tests build a static probe, also as a 32-bit program
	gcc-multilib
)
if ((bench)); then
	# time gives /usr/bin/time -f %M for rl's peak RSS
	packages+=(crun bubblewrap slirp4netns hyperfine time)
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "install-deps: not root and no sudo; install as root: ${packages[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi

# dpkg-query tells what is installed without touching the network, so a
# machine that already has everything needs neither root nor the mirror.
missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#packages[@]} packages present"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
apt_get=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# Refresh the index only when it is absent or older than a day, or when an
# install fails on it (a stale index names package versions the mirror no
# longer serves).
lists=/var/lib/apt/lists
if [ -z "$(find "$lists" -maxdepth 1 -name '*Packages*' -mtime -1 -print -quit 2>/dev/null)" ]; then
	"${apt_get[@]}" update
fi
if ! "${apt_get[@]}" install --no-install-recommends "${missing[@]}"; then
	"${apt_get[@]}" update
	"${apt_get[@]}" install --no-install-recommends "${missing[@]}"
fi

# Debian's docker-registry package starts a system service on install; the
# tests run their own instance on 127.0.0.1:5000, so the packaged one (which
# listens on :5000 on all addresses) must not hold the port.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
	"${sudo[@]}" systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
