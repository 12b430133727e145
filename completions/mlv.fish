# fish completion for mlv.  Put this file in ~/.config/fish/completions/.
# Commands, options and option values all come from the mlv binary
# ("mlv __complete"), so they always match the mlv that runs.

# The command word before the cursor, skipping global options and the
# value of -C; fails when there is none yet.
function __mlv_command
    set -l toks (commandline -opc)
    set -e toks[1]
    set -l skip 0
    for t in $toks
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case -C
                set skip 1
            case '-*'
            case '*'
                echo $t
                return 0
        end
    end
    return 1
end

# The choices of option $argv[2] ("--name=") of command $argv[1]; fails
# when the option takes no value or has no choices.
function __mlv_choices
    set -l bin (commandline -opc)[1]
    for line in (command $bin __complete $argv[1] 2>/dev/null)
        set -l f (string split \t -- $line)
        if test "$f[1]" = "$argv[2]"
            set -q f[3]; or return 1
            string split ' ' -- $f[3]
            return 0
        end
    end
    return 1
end

function __mlv_complete
    set -l toks (commandline -opc)
    set -l bin $toks[1]
    set -l cur (commandline -ct)
    set -l cmd (__mlv_command)

    if test -z "$cmd"
        if test "$toks[-1]" = -C
            __fish_complete_directories $cur
            return
        end
        string match -q -- '-*' $cur; and return
        command $bin __complete 2>/dev/null
        return
    end
    if test "$cmd" = help
        command $bin __complete 2>/dev/null
        return
    end

    # --opt=value
    if string match -qr -- '^--[^=]+=' $cur
        set -l opt (string replace -r '=.*' '=' -- $cur)
        set -l val (string replace -r '^[^=]*=' '' -- $cur)
        set -l choices (__mlv_choices $cmd $opt)
        if test $status -eq 0
            printf '%s\n' $opt$choices
        else
            __fish_complete_path $val | string replace -r '^' $opt
        end
        return
    end

    # --opt value, for an option that takes one
    if not string match -q -- '-*' $cur; and string match -q -- '--*' $toks[-1]
        set -l choices (__mlv_choices $cmd $toks[-1]=)
        if test $status -eq 0
            printf '%s\n' $choices
            return
        end
    end

    if string match -q -- '-*' $cur
        command $bin __complete $cmd 2>/dev/null | string replace -r '^([^\t]*\t[^\t]*).*' '$1'
        return
    end

    __fish_complete_path $cur
end

complete -c mlv -f -a '(__mlv_complete)'
