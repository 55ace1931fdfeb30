#!/bin/bash
# Try rl on a fresh machine: build it if needed, make a small local image
# from Debian's busybox-static, and start a shell in a container.  Needs no
# network beyond the package installs, and no root except for those.
#
#   bash helpers/quickstart.sh          (as a normal user or root)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# Install only when something is missing; install-deps.sh checks cheaply
# and asks for sudo only then.
bash helpers/install-deps.sh

# Rebuild when there is no binary or any build input is newer than it.
stale=0
if [ ! -x ./rl ]; then
	stale=1
elif [ -n "$(find src configure.ac Makefile.am -newer ./rl -print -quit 2>/dev/null)" ]; then
	stale=1
fi
if ((stale)); then
	echo "quickstart: building rl"
	if [ ! -x ./configure ] || [ configure.ac -nt ./configure ]; then
		autoreconf -fi
	fi
	[ -f Makefile ] || ./configure
	make -j2
fi

# The image is made once; `image inspect` fails when it is absent (or was
# removed), and only then is it imported again.
if ! ./rl image inspect bb >/dev/null 2>&1; then
	echo "quickstart: importing a busybox image as bb"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/rl-quickstart.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	bash tests/fixtures/mkrootfs.sh --tar "$tmp/busybox.tar"
	./rl import "$tmp/busybox.tar" bb
	rm -rf "$tmp"
	trap - EXIT
fi

if [ ! -t 0 ]; then
	echo "quickstart: stdin is not a terminal; try: ./rl run --rm bb echo hello" >&2
	exec ./rl run --rm bb echo "hello from rl"
fi
echo "quickstart: starting a shell in a container (exit to leave)"
exec ./rl run -it --rm bb sh
