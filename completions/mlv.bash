# bash completion for mlv.
#
# Source this file, or install it as
# /usr/share/bash-completion/completions/mlv.  Commands, options and option
# values all come from the mlv binary ("mlv __complete"), so they always
# match the mlv that runs.

# Set __mlv_command to the command word before the cursor; fail when there
# is none yet.  Global options and the value of -C are skipped.
__mlv_find_command ()
{
	local i=1 w
	__mlv_command=
	while [ "$i" -lt "$COMP_CWORD" ]; do
		w=${COMP_WORDS[i]}
		case $w in
		-C)	i=$((i + 1)) ;;
		-*)	;;
		*)	__mlv_command=$w; return 0 ;;
		esac
		i=$((i + 1))
	done
	return 1
}

# __mlv_value_reply OPTS_LINES OPTION VALUE-PREFIX REPLY-PREFIX
# Complete the value of OPTION ("--name=") from the choices the binary
# gave; fall back to file names when it has none.
__mlv_value_reply ()
{
	local lines=$1 opt=$2 val=$3 pre=$4 line name choices c tab=$'\t'
	while IFS= read -r line; do
		name=${line%%"$tab"*}
		[ "$name" = "$opt" ] || continue
		choices=
		case $line in
		*"$tab"*"$tab"*) choices=${line#*"$tab"*"$tab"} ;;
		esac
		if [ -n "$choices" ]; then
			for c in $choices; do
				case $c in
				"$val"*) COMPREPLY+=("$pre$c") ;;
				esac
			done
		else
			compopt -o default 2>/dev/null
			COMPREPLY=()
		fi
		return 0
	done <<EOF_MLV
$lines
EOF_MLV
	return 1
}

_mlv ()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev= prev2= mlv=${COMP_WORDS[0]:-mlv} lines line name tab=$'\t'
	[ "$COMP_CWORD" -ge 1 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	[ "$COMP_CWORD" -ge 2 ] && prev2=${COMP_WORDS[COMP_CWORD - 2]}
	COMPREPLY=()

	if ! __mlv_find_command; then
		# The value of the global -C is a directory.
		if [ "$prev" = "-C" ]; then
			compopt -o dirnames 2>/dev/null
			COMPREPLY=($(compgen -d -- "$cur"))
			return 0
		fi
		case $cur in
		-*)	return 0 ;;
		esac
		COMPREPLY=($(compgen -W "$(command "$mlv" __complete 2>/dev/null | cut -f1)" -- "$cur"))
		return 0
	fi

	if [ "$__mlv_command" = help ]; then
		COMPREPLY=($(compgen -W "$(command "$mlv" __complete 2>/dev/null | cut -f1)" -- "$cur"))
		return 0
	fi

	lines=$(command "$mlv" __complete "$__mlv_command" 2>/dev/null)

	# "--opt=value": bash splits the word at "=" when COMP_WORDBREAKS
	# holds it, giving "--opt" "=" "value".
	if [ "$cur" = "=" ] && [ "${prev#--}" != "$prev" ]; then
		__mlv_value_reply "$lines" "$prev=" "" "" && return 0
	elif [ "$prev" = "=" ] && [ "${prev2#--}" != "$prev2" ]; then
		__mlv_value_reply "$lines" "$prev2=" "$cur" "" && return 0
	fi
	case $cur in
	--*=*)
		local pre=
		# Without "=" in COMP_WORDBREAKS the whole word is replaced.
		case $COMP_WORDBREAKS in
		*=*)	;;
		*)	pre=${cur%%=*}= ;;
		esac
		__mlv_value_reply "$lines" "${cur%%=*}=" "${cur#*=}" "$pre"
		return 0
		;;
	-*)
		while IFS= read -r line; do
			name=${line%%"$tab"*}
			case $name in
			"$cur"*) COMPREPLY+=("$name") ;;
			esac
		done <<EOF_MLV
$lines
EOF_MLV
		# No space after "--opt=": its value follows.
		case ${COMPREPLY[*]} in
		*=*) [ "${#COMPREPLY[@]}" = 1 ] && compopt -o nospace 2>/dev/null ;;
		esac
		return 0
		;;
	esac

	# "--opt value": the value of an option that takes one.
	case $prev in
	--*)
		__mlv_value_reply "$lines" "$prev=" "$cur" "" && return 0
		;;
	esac

	# Otherwise: file names (the "-o default" fallback).
	return 0
}

complete -o bashdefault -o default -F _mlv mlv
