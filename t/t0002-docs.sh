#!/bin/sh

test_description='man pages and shell completion agree with the binary

Every command of "mlv __complete" has man/mlv-<command>.1, whose SYNOPSIS
is the usage that "mlv <command> -h" prints and whose OPTIONS name every
option of the command; every page renders without warnings; the bash
completion asks the binary for commands, options and option values.'

. "$(dirname "$0")"/test-lib.sh

MAN_DIR=$MLV_BUILD_DIR/man

test_lazy_prereq MAN 'man --version'
test_lazy_prereq BASH 'bash --version'
test_lazy_prereq FISH 'fish --version'

# The text of section $2 of page $1, roff escapes removed; with a third
# argument, without the macro lines.
page_section () {
	sed -n "/^\\.SH $2\$/,/^\\.SH /p" "$1" |
	sed -e '1d' -e '/^\.SH /d' |
	if test $# = 3
	then
		sed -e '/^\./d'
	else
		cat
	fi |
	sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\(lq/"/g' \
	    -e 's/\\(rq/"/g' -e 's/\\e/\\/g'
}

# The tags of the ".TP" entries of section $2 of page $1 (the line after
# each ".TP"), roff escapes removed: where options are documented.
page_tags () {
	page_section "$1" "$2" |
	sed -n -e '/^\.TP/{' -e 'n' -e 'p' -e '}'
}

# Does the text on stdin name option $1 as a word of its own ("--kind"
# matches "--kind <kind>" and "--kind=<kind>", not "--kinds")?
names_option () {
	grep -E -e "(^|[^-[:alnum:]])$1([^-[:alnum:]]|\$)" >/dev/null
}

# The options named by the "usage:" lines on stdin, sorted; "--[no-]name"
# names --name and --no-name.
usage_options () {
	sed -n -e 's/^usage: //p' -e 's/^   or: //p' |
	sed -e 's/--\[no-\]\([[:alnum:]-]*\)/--\1 --no-\1/g' |
	sed -e 's/[][|]/ /g' |
	tr ' ' '\n' |
	grep -E -e '^--?[[:alnum:]]' |
	sort -u
}

# The usage lines that "mlv $1 -h" prints.
usage_of () {
	test_expect_code 129 mlv "$1" -h >help.out 2>help.err &&
	test_must_be_empty help.err &&
	sed -n -e 's/^usage: //p' -e 's/^   or: //p' help.out
}

# Every option of command $1: the long ones from "mlv __complete", the
# short ones from the "-h" listing.
options_of () {
	mlv __complete "$1" >complete.out &&
	cut -f1 complete.out | sed -e 's/=$//' &&
	{ mlv "$1" -h || test $? = 129; } >help.out &&
	sed -n -e 's/^    \(-[^-, ]\)[, ].*/\1/p' -e 's/^    \(-[^-, ]\)$/\1/p' help.out
}

test_expect_success 'setup' '
	mlv __complete >complete &&
	cut -f1 complete >commands &&
	test_line_count -gt 5 commands
'

test_expect_success 'every command has a man page' '
	while read -r cmd
	do
		test_path_is_file "$MAN_DIR/mlv-$cmd.1" || return 1
	done <commands
'

test_expect_success 'every SYNOPSIS matches the usage of -h' '
	while read -r cmd
	do
		usage_of "$cmd" >expect &&
		test -s expect &&
		page_section "$MAN_DIR/mlv-$cmd.1" SYNOPSIS nomacros >actual &&
		test_cmp expect actual || return 1
	done <commands
'

test_expect_success 'every option has an entry under OPTIONS' '
	while read -r cmd
	do
		page_tags "$MAN_DIR/mlv-$cmd.1" OPTIONS >tags &&
		options_of "$cmd" >opts &&
		while read -r opt
		do
			names_option "$opt" <tags || {
				echo "mlv-$cmd.1 has no OPTIONS entry for $opt" &&
				return 1
			}
		done <opts || return 1
	done <commands
'

test_expect_success 'the option check finds what is missing' '
	page_tags "$MAN_DIR/mlv-add.1" OPTIONS >tags &&
	names_option --kind <tags &&
	names_option -j <tags &&
	! names_option --kin <tags &&
	! names_option --frobnicate <tags &&
	# Named in the text of another entry only: not documented.
	cat >broken.1 <<-\EOF &&
	.SH OPTIONS
	.TP
	.B \-\-json
	Print JSON; see \fB\-\-kind\fR.
	.SH SEE ALSO
	.TP
	.B \-\-kind
	EOF
	page_tags broken.1 OPTIONS >tags &&
	names_option --json <tags &&
	! names_option --kind <tags
'

test_expect_success 'every option in a usage line is in the option table' '
	while read -r cmd
	do
		options_of "$cmd" >opts &&
		{ mlv "$cmd" -h || test $? = 129; } >help.out &&
		usage_options <help.out >used &&
		while read -r opt
		do
			grep -x -e "$opt" opts >/dev/null || {
				echo "mlv $cmd -h shows $opt, which it does not take" &&
				return 1
			}
		done <used || return 1
	done <commands
'

test_expect_success 'mlv.1 has an entry for every global option of mlv -h' '
	mlv -h >help.out &&
	usage_options <help.out >opts &&
	grep -x -e -C opts &&
	grep -x -e --no-progress opts &&
	echo -h >>opts &&
	page_tags "$MAN_DIR/mlv.1" OPTIONS >tags &&
	while read -r opt
	do
		names_option "$opt" <tags || {
			echo "mlv.1 has no OPTIONS entry for $opt" &&
			return 1
		}
	done <opts
'

test_expect_success 'every page named under SEE ALSO exists' '
	for page in "$MAN_DIR"/*.[1-8]
	do
		page_section "$page" "SEE ALSO" >refs &&
		sed -n -e "s/^\\.BR \\(mlv[-a-z]*\\) (\\([1-8]\\)).*/\\1.\\2/p" refs >names &&
		while read -r name
		do
			test_path_is_file "$MAN_DIR/$name" || {
				echo "$page refers to missing $name" &&
				return 1
			}
		done <names || return 1
	done
'

test_expect_success 'mlv.1 has the usage of mlv -h and names every command' '
	mlv -h >help.out &&
	sed -n -e "s/^usage: //p" help.out >expect &&
	page_section "$MAN_DIR/mlv.1" SYNOPSIS nomacros >actual &&
	test_cmp expect actual &&
	page_section "$MAN_DIR/mlv.1" COMMANDS >cmds &&
	while read -r cmd
	do
		grep "mlv-$cmd (1)" cmds >/dev/null || grep "mlv-$cmd(1)" cmds >/dev/null || {
			echo "mlv.1 does not list $cmd" &&
			return 1
		}
	done <commands
'

test_expect_success MAN 'every page renders without warnings' '
	for page in "$MAN_DIR"/*.[1-8]
	do
		MANWIDTH=80 man --warnings -E UTF-8 -l "$page" >out 2>err &&
		test -s out &&
		test_must_be_empty err || return 1
	done
'

test_expect_success 'mlv help lists every command' '
	mlv help >out &&
	while read -r cmd
	do
		grep "^   $cmd " out >/dev/null || {
			echo "mlv help does not list $cmd" &&
			return 1
		}
	done <commands
'

test_expect_success BASH 'setup bash completion driver' '
	cat >complete.bash <<-\EOF &&
	. "$MLV_BUILD_DIR/completions/mlv.bash" || exit 1
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_mlv
	test ${#COMPREPLY[@]} = 0 || printf "%s\n" "${COMPREPLY[@]}"
	EOF
	bash complete.bash mlv ad >actual
'

test_expect_success BASH 'bash completes commands' '
	echo add >expect &&
	bash complete.bash mlv ad >actual &&
	test_cmp expect actual &&
	bash complete.bash mlv "" >actual &&
	test_cmp commands actual &&
	bash complete.bash mlv -C . st >actual &&
	echo status >expect &&
	test_cmp expect actual
'

test_expect_success BASH 'bash completes options' '
	echo --kind= >expect &&
	bash complete.bash mlv add --ki >actual &&
	test_cmp expect actual &&
	mlv __complete status | cut -f1 >expect &&
	bash complete.bash mlv status -- >actual &&
	test_cmp expect actual
'

test_expect_success BASH 'bash completes option values' '
	test_write_lines data model metric >expect &&
	bash complete.bash mlv add --kind= >actual &&
	test_cmp expect actual &&
	bash complete.bash mlv add --kind = >actual &&
	test_cmp expect actual &&
	bash complete.bash mlv add --kind "" >actual &&
	test_cmp expect actual &&
	test_write_lines model metric >expect &&
	bash complete.bash mlv add --kind = m >actual &&
	test_cmp expect actual
'

test_expect_success BASH 'bash completion leaves operands to file names' '
	bash complete.bash mlv add "" >actual &&
	test_must_be_empty actual
'

test_expect_success FISH 'fish completes commands, options and values' '
	cat >complete.fish <<-\EOF &&
	source $MLV_BUILD_DIR/completions/mlv.fish; or exit 1
	complete -C "$argv[1]" | string replace -r "\t.*" ""
	EOF
	echo add >expect &&
	fish complete.fish "mlv ad" >actual &&
	test_cmp expect actual &&
	echo --kind= >expect &&
	fish complete.fish "mlv add --ki" >actual &&
	test_cmp expect actual &&
	test_write_lines --kind=data --kind=metric --kind=model >expect &&
	fish complete.fish "mlv add --kind=" | sort >actual &&
	test_cmp expect actual &&
	test_write_lines metric model >expect &&
	fish complete.fish "mlv add --kind m" | sort >actual &&
	test_cmp expect actual &&
	mlv __complete status | cut -f1 | sort >expect &&
	fish complete.fish "mlv status --" | sort >actual &&
	test_cmp expect actual
'

test_expect_success MAN 'mlv help <command> shows the page from the build tree' '
	mlv help add >out &&
	test_grep "mlv-add - track files and directories" out
'

test_expect_success '-C without a directory is a usage error' '
	test_expect_code 129 mlv -C 2>err &&
	test_grep "requires a directory" err
'

test_done
