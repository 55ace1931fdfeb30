#!/usr/bin/env bats
# Shell completion: real bash, zsh and fish load the scripts from the source
# tree and are driven through a pty (tmux), as a person would press TAB.

load helpers

# A wedged shell must not hold up the suite.
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-20}

# The scripts: next to tests/ in a checkout, next to system/ in run-all.sh's
# copy.
completions_dir() {
	local d
	for d in "$BATS_TEST_DIRNAME/../../completions" "$BATS_TEST_DIRNAME/../completions"; do
		[ -f "$d/rl.bash" ] && { (cd "$d" && pwd); return 0; }
	done
	return 1
}

setup_file() {
	rl_setup_file
	import_busybox bb >/dev/null
	rl tag bb alpha-image:v1 >/dev/null
	rl run --name ctr-one bb true >/dev/null
	rl run --name ctr-two bb true >/dev/null
	COMPL_DIR=$(completions_dir) || COMPL_DIR=
	export COMPL_DIR
	# rl on PATH as the shells find it.
	mkdir -p "$RL_TEST_DIR/bin"
	ln -sf "$RL" "$RL_TEST_DIR/bin/rl"
}

teardown_file() {
	rl_teardown_file
}

setup() {
	[ -n "$COMPL_DIR" ] || skip "completions/ not found next to the tests"
	command -v tmux >/dev/null || skip "tmux is not installed"
	TMUX_SOCK="rl-compl-$$-$BATS_TEST_NUMBER"
}

teardown() {
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
}

tm() {
	tmux -L "$TMUX_SOCK" "$@"
}

# wait_screen REGEX [SECONDS]: poll the pane until REGEX matches it.
wait_screen() {
	local re=$1 limit=${2:-8} i
	for ((i = 0; i < limit * 20; i++)); do
		if tm capture-pane -p -t s 2>/dev/null | grep -qE -e "$re"; then
			return 0
		fi
		sleep 0.05
	done
	echo "screen never matched /$re/; it shows:" >&2
	tm capture-pane -p -t s >&2 || true
	return 1
}

# start_shell NAME: the shell with only the test's environment and rl's
# completion loaded from the source tree, at a prompt "READY> ".
start_shell() {
	local sh=$1 cmd
	command -v "$sh" >/dev/null || skip "$sh is not installed"
	local envs=(env -i HOME="$RL_TEST_DIR" TERM=xterm LANG=C.UTF-8
		PATH="$RL_TEST_DIR/bin:/usr/bin:/bin"
		XDG_DATA_HOME="$XDG_DATA_HOME" XDG_CONFIG_HOME="$XDG_CONFIG_HOME"
		XDG_CACHE_HOME="$XDG_CACHE_HOME" TMPDIR="$TMPDIR")
	case $sh in
	bash)
		cmd="${envs[*]} bash --norc --noprofile"
		;;
	zsh)
		# A throwaway ZDOTDIR: no user or system rc changes what loads.
		mkdir -p "$RL_TEST_DIR/zdot"
		cat >"$RL_TEST_DIR/zdot/.zshrc" <<-ZRC
			fpath=("$COMPL_DIR" \$fpath)
			autoload -Uz compinit && compinit -u -d "$RL_TEST_DIR/zdot/.zcompdump"
			zstyle ':completion:*' list-rows-first true
			PS1='READY> '
		ZRC
		cmd="${envs[*]} ZDOTDIR=$RL_TEST_DIR/zdot zsh -i"
		;;
	fish)
		mkdir -p "$RL_TEST_DIR/fishcfg"
		cmd="${envs[*]} XDG_CONFIG_HOME=$RL_TEST_DIR/fishcfg fish --no-config -i"
		;;
	esac
	tm new-session -d -x 200 -y 50 -s s "$cmd"
	case $sh in
	bash)
		tm send-keys -t s "PS1='READY> '; source $COMPL_DIR/rl.bash" Enter
		;;
	fish)
		tm send-keys -t s "function fish_prompt; echo -n 'READY> '; end; source $COMPL_DIR/rl.fish" Enter
		;;
	esac
	wait_screen '^READY>$' 10
	tm send-keys -t s C-l
}

# tab_until REGEX: press TAB again until the screen shows REGEX (a shell
# inserts a common prefix on one TAB and lists the choices on a later one).
tab_until() {
	local i
	for i in 1 2 3 4; do
		wait_screen "$1" 1 2>/dev/null && return 0
		tm send-keys -t s Tab
	done
	wait_screen "$1" 2
}

# type_tab TEXT: type TEXT, press TAB (twice for a list where the shell
# wants it).
type_tab() {
	tm send-keys -t s -l "$1"
	tm send-keys -t s Tab
}

@test "bash: rl ru<TAB> completes run" {
	start_shell bash
	type_tab "rl ru"
	wait_screen 'READY> rl run$'
}

@test "bash: rl run --net<TAB> offers --network" {
	start_shell bash
	type_tab "rl run --netw"
	wait_screen 'READY> rl run --network$'
	tm send-keys -t s C-u
	type_tab "rl run --net"
	tab_until '--network'

}

@test "bash: rl rm <TAB> lists the containers" {
	start_shell bash
	type_tab "rl rm "
	tab_until 'ctr-one'
	wait_screen 'ctr-two'
}

@test "bash: rl run <TAB> lists the local images" {
	start_shell bash
	type_tab "rl run "
	tab_until 'alpha-image:v1'
	wait_screen '(^| )bb( |:|$)'
}

@test "bash: values and files after an option" {
	start_shell bash
	type_tab "rl run --network=h"
	wait_screen 'READY> rl run --network=host$'
	tm send-keys -t s C-u
	touch "$RL_TEST_DIR/envfile-xyz"
	type_tab "rl run --env-file $RL_TEST_DIR/envfile-x"
	wait_screen 'envfile-xyz$'
}

@test "zsh: rl ru<TAB> completes run" {
	start_shell zsh
	type_tab "rl ru"
	wait_screen 'READY> rl run$'
}

@test "zsh: rl run --net<TAB> offers --network" {
	start_shell zsh
	type_tab "rl run --netw"
	wait_screen 'READY> rl run --network$'
	tm send-keys -t s C-u
	type_tab "rl run --net"
	tab_until '--network'
}

@test "zsh: rl rm <TAB> lists the containers" {
	start_shell zsh
	type_tab "rl rm "
	tab_until 'ctr-one'
	wait_screen 'ctr-two'
}

@test "zsh: rl run <TAB> lists the local images" {
	start_shell zsh
	type_tab "rl run "
	tab_until 'alpha-image:v1'
}

@test "zsh: values and files after an option" {
	start_shell zsh
	type_tab "rl run --pull=alw"
	wait_screen 'READY> rl run --pull=always$'
	tm send-keys -t s C-u
	touch "$RL_TEST_DIR/envfile-xyz"
	type_tab "rl run --env-file $RL_TEST_DIR/envfile-x"
	wait_screen 'envfile-xyz$'
}

@test "fish: commands, options, containers and images" {
	start_shell fish
	type_tab "rl ru"
	wait_screen 'READY> rl run$'
	tm send-keys -t s C-u
	type_tab "rl run --netw"
	wait_screen 'READY> rl run --network$'
	tm send-keys -t s C-u
	type_tab "rl rm ctr-o"
	wait_screen 'READY> rl rm ctr-one$'
	tm send-keys -t s C-u
	type_tab "rl run alpha"
	wait_screen 'READY> rl run alpha-image:v1$'
	tm send-keys -t s C-u
	touch "$RL_TEST_DIR/envfile-xyz"
	type_tab "rl save -o $RL_TEST_DIR/envfile-x"
	wait_screen 'envfile-xyz$'
}
