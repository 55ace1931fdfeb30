# bash completion for rl.
#
# All the knowledge lives in rl itself: `rl __complete line WORDS... CUR`
# prints the candidates for the word being typed (from the same tables as
# `rl COMMAND --help`, and images/containers from the store), possibly
# ending with a directive line:  :file  :dir  :none
# Works with or without the bash-completion package.

_rl() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local -a words=()
	local i w joined_cur

	# bash splits `--opt=value` and `name:tag` at `=` and `:`
	# (COMP_WORDBREAKS); glue the pieces back so rl sees the words as typed.
	for ((i = 1; i <= COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ ${#words[@]} -gt 0 && ($w == [=:] || ${COMP_WORDS[i - 1]} == [=:]) && $i -gt 1 ]]; then
			words[-1]+=$w
		else
			words+=("$w")
		fi
	done
	joined_cur=${words[-1]}
	# What bash will replace is only the last piece: candidates lose the
	# part before it.
	[[ $cur == [=:] ]] && cur=
	local prefix=${joined_cur%"$cur"}

	local out directive=
	out=$("${1:-rl}" __complete line "${words[@]}" 2>/dev/null) || return 0
	local -a cands=()
	while IFS= read -r w; do
		case $w in
		:file | :dir | :none) directive=$w ;;
		"") ;;
		*) cands+=("$w") ;;
		esac
	done <<<"$out"

	COMPREPLY=()
	for w in "${cands[@]}"; do
		# rl prints an option's values without the `--opt=` before them.
		[[ $w == "$prefix"* ]] && w=${w#"$prefix"}
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
	case $directive in
	:file)
		compopt -o filenames 2>/dev/null
		while IFS= read -r w; do COMPREPLY+=("$w"); done < <(compgen -f -- "$cur")
		;;
	:dir)
		compopt -o filenames 2>/dev/null
		while IFS= read -r w; do COMPREPLY+=("$w"); done < <(compgen -d -- "$cur")
		;;
	esac
	return 0
}

complete -F _rl rl
