#!/bin/bash
# check-man.sh RL MANDIR: every command `rl --help` lists has a man page in
# MANDIR (go-md2man markdown), and every option `rl CMD --help` prints is
# in that page.  Prints one line per problem; exits 1 if there was one.
set -u
rl=${1:?usage: check-man.sh RL MANDIR}
mandir=${2:?usage: check-man.sh RL MANDIR}
problems=0

problem() {
	echo "$*"
	problems=$((problems + 1))
}

# section NAME: the entries of a help section (its left column).
section() {
	sed -n "/^$1:\$/,/^\$/p" | sed 1d | cut -c1-32
}

# check_page PAGE CMD...: the options of `rl CMD... --help` are in PAGE.
check_page() {
	local page=$1 opt
	shift
	if [ ! -f "$mandir/$page" ]; then
		problem "rl $*: no man page $mandir/$page"
		return
	fi
	for opt in $("$rl" "$@" --help | section Options | grep -oE -- '(^| )--?[a-zA-Z0-9][a-z0-9-]*' | tr -d ' '); do
		grep -qF -- "**$opt**" "$mandir/$page" ||
			problem "rl $*: option $opt is not in $page"
	done
}

# The page of an image subcommand that only stands for a top-level one.
image_page() {
	case $1 in
	ls | list) echo rl-images.1.md ;;
	rm) echo rl-rmi.1.md ;;
	load | push | save | tag | untag) echo "rl-$1.1.md" ;;
	*) echo "rl-image-$1.1.md" ;;
	esac
}

# The page of a container subcommand: most stand for a top-level one.
container_page() {
	case $1 in
	ls) echo rl-ps.1.md ;;
	prune) echo rl-container-prune.1.md ;;
	*) echo "rl-$1.1.md" ;;
	esac
}

for opt in $("$rl" --help | section 'Global options' | grep -oE -- '(^| )--?[a-zA-Z0-9][a-z0-9-]*' | tr -d ' '); do
	grep -qF -- "**$opt**" "$mandir/rl.1.md" || problem "rl: global option $opt is not in rl.1.md"
done
for cmd in $("$rl" --help | section Commands | awk '{print $1}'); do
	grep -qF -- "rl-$cmd" "$mandir/rl.1.md" || problem "rl $cmd: not listed in rl.1.md"
	case $cmd in
	container)
		[ -f "$mandir/rl-$cmd.1.md" ] || problem "rl $cmd: no man page $mandir/rl-$cmd.1.md"
		for sub in $("$rl" "$cmd" --help | section Commands | awk '{print $1}'); do
			grep -qF -- "**$sub**" "$mandir/rl-$cmd.1.md" ||
				problem "rl $cmd $sub: not listed in rl-$cmd.1.md"
			check_page "$(container_page "$sub")" "$cmd" "$sub"
		done
		;;
	image | system)
		[ -f "$mandir/rl-$cmd.1.md" ] || problem "rl $cmd: no man page $mandir/rl-$cmd.1.md"
		for sub in $("$rl" "$cmd" --help | section Commands | awk '{print $1}'); do
			if [ "$cmd" = image ]; then
				page=$(image_page "$sub")
			elif [ "$sub" = info ]; then
				page=rl-system-info.1.md
			else
				page="rl-$cmd-$sub.1.md"
			fi
			grep -qF -- "**$sub**" "$mandir/rl-$cmd.1.md" ||
				problem "rl $cmd $sub: not listed in rl-$cmd.1.md"
			check_page "$page" "$cmd" "$sub"
		done
		;;
	*) check_page "rl-$cmd.1.md" "$cmd" ;;
	esac
done
[ "$problems" -eq 0 ]
