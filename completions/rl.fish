# fish completion for rl.
#
# rl answers itself: `rl __complete line WORDS... CUR` prints the candidates
# for the word being typed (from the tables behind `rl COMMAND --help`, and
# images and containers from the store), possibly ending with a directive
# line:  :file  :dir  :none

function __rl_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l lines ($tokens[1] __complete line $tokens[2..-1] "$cur" 2>/dev/null)
    set -l prefix ''
    # `--opt=value` and `seccomp=FILE`: rl prints the part after the `=`.
    if string match -qr -- '^(--[^=]+=|seccomp=)' "$cur"
        set prefix (string match -r -- '^[^=]*=' "$cur")
    end
    for line in $lines
        switch $line
            case ':file'
                __fish_complete_path (string replace -- "$prefix" '' "$cur") | string replace -r -- '^' "$prefix"
            case ':dir'
                __fish_complete_directories (string replace -- "$prefix" '' "$cur") | string replace -r -- '^' "$prefix"
            case ':none' ''
            case '*'
                if string match -q -- '-*' "$line"; or test -z "$prefix"
                    echo $line
                else
                    echo $prefix$line
                end
        end
    end
end

complete -c rl -f -a '(__rl_complete)'
