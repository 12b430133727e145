# t/test-lib.sh: the shell test library for mlv, in the style of git's.
#
# A test script sources this file and then calls test_expect_success
# (and friends) once per test, finishing with test_done:
#
#	#!/bin/sh
#	test_description='what this script covers'
#	. "$(dirname "$0")"/test-lib.sh
#
#	test_expect_success 'init creates .mlv' '
#		test_create_repo repo &&
#		mlv -C repo init &&
#		test_path_is_dir repo/.mlv
#	'
#
#	test_done
#
# The script prints TAP on stdout for prove(1).  See t/README for the
# options and the helper functions; each helper is documented where it is
# defined below.
#
# This file is sourced by /bin/sh, which is dash on Debian: keep it POSIX
# (no "local", no arrays, no [[ ]], no $'...', no "function").

# ---------------------------------------------------------------------------
# Where things are.

# $0 is the test script (sourcing does not change it).  TEST_DIRECTORY may
# be preset by a caller that runs a script living elsewhere (t0000 runs
# sub-scripts in its trash directory), but only if it really holds us.
if test -z "$TEST_DIRECTORY" || ! test -f "$TEST_DIRECTORY/test-lib.sh"
then
	TEST_DIRECTORY=$(cd "$(dirname "$0")" && pwd -P) || exit 1
fi
TEST_DIRECTORY=$(cd "$TEST_DIRECTORY" && pwd -P) || exit 1
if test -z "$TEST_OUTPUT_DIRECTORY"
then
	TEST_OUTPUT_DIRECTORY=$TEST_DIRECTORY
fi
TEST_OUTPUT_DIRECTORY=$(cd "$TEST_OUTPUT_DIRECTORY" && pwd -P) || exit 1

TEST_NAME=$(basename "$0" .sh)
TEST_NUMBER=${TEST_NAME%%-*}
TEST_RESULTS_DIR=$TEST_OUTPUT_DIRECTORY/test-results
TRASH_DIRECTORY=$TEST_OUTPUT_DIRECTORY/trash-$TEST_NAME

# ---------------------------------------------------------------------------
# Options: from the command line ("prove t/t0001-init.sh :: -v" passes
# them too) and from $TEST_OPTS ("make test TEST_OPTS=-v").

verbose=
trace=
immediate=
debug=
help=
for test_opt_ in $TEST_OPTS "$@"
do
	case "$test_opt_" in
	-v|--verbose)
		verbose=t ;;
	-x|--trace)
		# Tracing is useless without seeing it.
		trace=t
		verbose=t ;;
	-i|--immediate)
		immediate=t ;;
	-d|--debug)
		debug=t ;;
	-h|--help)
		help=t ;;
	*)
		echo "error: unknown test option '$test_opt_'" >&2
		exit 1 ;;
	esac
done

if test -n "$help"
then
	printf '%s\n' "$test_description"
	cat <<-\EOF

	options (also read from $TEST_OPTS):
	  -v, --verbose     show each test's body and output
	  -x, --trace       trace each test's commands (set -x); implies -v
	  -i, --immediate   stop at the first failing test, before its cleanup
	  -d, --debug       keep the trash directory; run test_debug commands
	EOF
	exit 0
fi

# ---------------------------------------------------------------------------
# File descriptors.
#
#   1  TAP output (the script's stdout)
#   2  the script's stderr: diagnostics of failed tests go here, because
#      prove shows a test's stderr even when it is not verbose
#   3  a test body's stdout, 4 its stderr: the terminal with -v, otherwise
#      the per-test log in test-results/ (shown when the test fails)
#   5, 6, 7  the original stdout, stdin and stderr (for test_pause)
#
# With -v under prove (which sets HARNESS_ACTIVE), body output goes to
# stderr: on stdout, a line such as "ok 1" printed by a command would be
# read as TAP.

exec 5>&1 6<&0 7>&2
if test -n "$verbose" && test -n "$HARNESS_ACTIVE"
then
	exec 3>&2 4>&2
elif test -n "$verbose"
then
	exec 3>&1 4>&2
else
	exec 3>/dev/null 4>/dev/null
fi

say () {
	printf '%s\n' "$*"
}

# An error in the test script itself (wrong arguments to a helper, ...).
BUG () {
	echo >&7 "BUG in test script: $*"
	exit 1
}

# ---------------------------------------------------------------------------
# A known environment.  Nothing from the user's shell may change what mlv
# or git does under test: locale, time zone, identity, configuration.

LANG=C
LC_ALL=C
TZ=UTC
PAGER=cat
EDITOR=:
TERM=dumb
NO_COLOR=1
export LANG LC_ALL TZ PAGER EDITOR TERM NO_COLOR
unset LANGUAGE VISUAL EMAIL CDPATH GREP_OPTIONS COLUMNS LINES \
	CLICOLOR CLICOLOR_FORCE FORCE_COLOR

# Every GIT_* and MLV_* variable, except the ones that configure the test
# suite itself (MLV_TEST_*, MLV_SKIP_TESTS, and MLV_SANITIZE which the
# Makefile exports).
for test_var_ in $(env | sed -n \
	-e 's/^\(GIT_[A-Za-z0-9_]*\)=.*/\1/p' \
	-e 's/^\(MLV_[A-Za-z0-9_]*\)=.*/\1/p')
do
	case "$test_var_" in
	MLV_TEST_*|MLV_SANITIZE|MLV_SKIP_TESTS)
		;;
	*)
		unset "$test_var_" ;;
	esac
done

GIT_AUTHOR_NAME='A U Thor'
GIT_AUTHOR_EMAIL=author@example.com
GIT_COMMITTER_NAME='C O Mitter'
GIT_COMMITTER_EMAIL=committer@example.com
GIT_CONFIG_NOSYSTEM=1
GIT_ATTR_NOSYSTEM=1
# The trash directories live inside mlv's own checkout: repository
# discovery (git's and mlv's) must never climb out of them into it, or a
# test whose repository is missing would commit to the project.
GIT_CEILING_DIRECTORIES=$TEST_OUTPUT_DIRECTORY
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL \
	GIT_CONFIG_NOSYSTEM GIT_ATTR_NOSYSTEM GIT_CEILING_DIRECTORIES

# Commit dates are fixed from the start (git's test epoch, 2005-04-07), so
# the same commits made twice have the same ids; test_tick moves them on.
test_tick=1112911933
test_tick () {
	test_tick=$(($test_tick + 60))
	GIT_COMMITTER_DATE="$test_tick +0000"
	GIT_AUTHOR_DATE="$test_tick +0000"
	export GIT_COMMITTER_DATE GIT_AUTHOR_DATE
}
test_tick

# Make sanitizer findings fatal and visible: abort (exit status > 128, which
# test_must_fail reports as a crash) rather than exit 1, which would pass
# for an expected failure.  Settings from the environment win.
ASAN_OPTIONS="detect_leaks=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS

# ---------------------------------------------------------------------------
# The binary under test.  Tests call plain "mlv"; it must be the one just
# built, never one installed elsewhere on $PATH.  MLV_TEST_INSTALLED=DIR
# tests DIR/mlv instead (an installed copy).  MLV_BUILD_DIR is the
# repository root, where "make" leaves ./mlv (set here, after the MLV_*
# clean-up above, which removes a value inherited from a calling script).

MLV_BUILD_DIR=$(cd "$TEST_DIRECTORY/.." && pwd -P) || exit 1
if test -n "$MLV_TEST_INSTALLED"
then
	MLV_BINARY=$MLV_TEST_INSTALLED/mlv
else
	MLV_BINARY=$MLV_BUILD_DIR/mlv
fi
if ! test -x "$MLV_BINARY"
then
	say "Bail out! $MLV_BINARY is not built: run 'make' in $MLV_BUILD_DIR first"
	exit 1
fi
export MLV_BUILD_DIR MLV_BINARY

# A private bin directory per script (scripts run in parallel), outside the
# trash directory so that tests see only what they create there.
mkdir -p "$TEST_RESULTS_DIR" || exit 1
MLV_TEST_BIN=$TEST_RESULTS_DIR/$TEST_NAME.bin
test_log_=$TEST_RESULTS_DIR/$TEST_NAME.log
rm -rf "$MLV_TEST_BIN" &&
mkdir "$MLV_TEST_BIN" &&
ln -s "$MLV_BINARY" "$MLV_TEST_BIN/mlv" || exit 1
# The reference trainer (mlv-refnet(1)), for tests of runs.
if test -x "$MLV_BUILD_DIR/mlv-refnet"
then
	ln -s "$MLV_BUILD_DIR/mlv-refnet" "$MLV_TEST_BIN/mlv-refnet" || exit 1
fi
PATH=$MLV_TEST_BIN:$PATH
export PATH

# ---------------------------------------------------------------------------
# Exit handling: leaving any other way than through test_done (a stray
# "exit", a syntax error, a BUG) is a failure, never a silent pass.

MLV_EXIT_OK=
test_die_ () {
	test_die_code_=$?
	if test -n "$MLV_EXIT_OK"
	then
		exit $test_die_code_
	fi
	echo >&7 "FATAL: $TEST_NAME: unexpected exit with code $test_die_code_ (trash kept in $TRASH_DIRECTORY)"
	exit 1
}
trap 'test_die_' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------------------
# The trash directory.

# Unmount anything a test mounted below $1 (a failed test may leave a
# tmpfs behind), deepest first; only root can have mounted anything.
test_unmount_below_ () {
	test "$(id -u)" = 0 && test -r /proc/self/mounts || return 0
	awk -v dir="$1/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts |
	sort -r |
	while read -r test_mnt_
	do
		umount "$test_mnt_" 2>/dev/null || umount -l "$test_mnt_"
	done
}

# --one-file-system: never delete through a mount (a bind mount of real
# data) that a test failed to remove.  Tests may leave read-only
# directories behind, hence the chmod on the slow path.
test_remove_dir_ () {
	test -e "$1" || return 0
	test_unmount_below_ "$1"
	rm -rf --one-file-system "$1" 2>/dev/null && return 0
	chmod -R u+rwx "$1" 2>/dev/null
	rm -rf --one-file-system "$1"
}

test_remove_dir_ "$TRASH_DIRECTORY" || {
	say "Bail out! cannot remove old trash directory $TRASH_DIRECTORY"
	MLV_EXIT_OK=t
	exit 1
}
HOME=$TRASH_DIRECTORY/home
XDG_CONFIG_HOME=$HOME/.config
XDG_CACHE_HOME=$HOME/.cache
XDG_DATA_HOME=$HOME/.local/share
XDG_STATE_HOME=$HOME/.local/state
export HOME XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME XDG_STATE_HOME
mkdir -p "$HOME" "$XDG_CONFIG_HOME" || {
	say "Bail out! cannot create trash directory $TRASH_DIRECTORY"
	MLV_EXIT_OK=t
	exit 1
}
cat >"$HOME/.gitconfig" <<-\EOF
[user]
	name = A U Thor
	email = author@example.com
[init]
	defaultBranch = main
[advice]
	detachedHead = false
EOF
cd -P "$TRASH_DIRECTORY" || exit 1

# ---------------------------------------------------------------------------
# Prerequisites.  A test (or test_have_prereq) names them comma-separated;
# "!NAME" requires NAME to be missing.  Lazy ones are evaluated once, on
# first use, in a scratch directory inside a subshell.

test_satisfied_prereq_=" "
test_lazily_testable_prereq_=" "
test_lazily_tested_prereq_=" "

test_check_prereq_name_ () {
	case "$1" in
	''|*[!A-Za-z0-9_]*)
		BUG "bad prerequisite name '$1'" ;;
	esac
}

# test_set_prereq NAME: declare NAME available.
test_set_prereq () {
	test $# = 1 || BUG "not 1 parameter to test_set_prereq"
	test_check_prereq_name_ "$1"
	test_satisfied_prereq_="$test_satisfied_prereq_$1 "
}

# test_lazy_prereq NAME 'script': NAME is available if the script
# succeeds.  The script runs in an empty scratch directory, in a subshell
# (so it may cd and set variables freely).
test_lazy_prereq () {
	test $# = 2 || BUG "not 2 parameters to test_lazy_prereq"
	test_check_prereq_name_ "$1"
	test_lazily_testable_prereq_="$test_lazily_testable_prereq_$1 "
	eval "test_prereq_lazy_$1=\$2"
}

test_run_lazy_prereq_ () {
	test_prereq_dir_=$TRASH_DIRECTORY/prereq-test-dir-$1
	say >&3 "checking prerequisite: $1"
	mkdir -p "$test_prereq_dir_" &&
	(
		cd "$test_prereq_dir_" &&
		eval "$2"
	) </dev/null >&3 2>&4
	test_prereq_ret_=$?
	test_remove_dir_ "$test_prereq_dir_"
	if test $test_prereq_ret_ = 0
	then
		say >&3 "prerequisite $1 ok"
	else
		say >&3 "prerequisite $1 not satisfied"
	fi
	return $test_prereq_ret_
}

# test_have_prereq LIST: true if every prerequisite in the comma-separated
# LIST holds.  Sets $missing_prereq to the ones that do not.
test_have_prereq () {
	test $# = 1 || BUG "not 1 parameter to test_have_prereq"
	test_save_IFS_=$IFS
	IFS=,
	set -- $1
	IFS=$test_save_IFS_

	test_total_prereq_=0
	test_ok_prereq_=0
	missing_prereq=
	for test_prereq_
	do
		case "$test_prereq_" in
		!*)
			test_negative_prereq_=t
			test_prereq_=${test_prereq_#!} ;;
		*)
			test_negative_prereq_= ;;
		esac
		test_check_prereq_name_ "$test_prereq_"

		case "$test_lazily_tested_prereq_" in
		*" $test_prereq_ "*)
			;;
		*)
			case "$test_lazily_testable_prereq_" in
			*" $test_prereq_ "*)
				eval "test_prereq_script_=\$test_prereq_lazy_$test_prereq_"
				if test_run_lazy_prereq_ "$test_prereq_" "$test_prereq_script_"
				then
					test_set_prereq "$test_prereq_"
				fi
				test_lazily_tested_prereq_="$test_lazily_tested_prereq_$test_prereq_ "
			esac ;;
		esac

		test_total_prereq_=$(($test_total_prereq_ + 1))
		case "$test_satisfied_prereq_" in
		*" $test_prereq_ "*)
			test_prereq_have_=t ;;
		*)
			test_prereq_have_= ;;
		esac
		# Satisfied and wanted, or missing and "!".
		case "$test_prereq_have_,$test_negative_prereq_" in
		t,|,t)
			test_ok_prereq_=$(($test_ok_prereq_ + 1)) ;;
		*)
			test -z "$test_negative_prereq_" ||
				test_prereq_="!$test_prereq_"
			missing_prereq="${missing_prereq:+$missing_prereq,}$test_prereq_" ;;
		esac
	done
	test $test_total_prereq_ = $test_ok_prereq_
}

# Built-in prerequisites.
test_lazy_prereq ROOT '
	test "$(id -u)" = 0
'
test_lazy_prereq NOT_ROOT '
	test "$(id -u)" != 0
'
# Built with SANITIZE=1 (the Makefile exports MLV_SANITIZE): skip what the
# sanitizers make too slow or cannot run under (huge files, setrlimit).
test_lazy_prereq SANITIZE '
	test -n "$MLV_SANITIZE"
'
# Long-running tests, only with MLV_TEST_LONG set.
test_lazy_prereq EXPENSIVE '
	test -n "$MLV_TEST_LONG"
'
test_lazy_prereq GPU '
	nvidia-smi -L >out 2>&1 &&
	grep "^GPU " out
'
test_lazy_prereq SYMLINKS '
	ln -s target link &&
	test -h link
'
# Root, and allowed to mount (not in an unprivileged container): try it.
test_lazy_prereq TMPFS_MOUNT '
	test "$(id -u)" = 0 &&
	mkdir mnt &&
	mount -t tmpfs -o size=1m tmpfs mnt &&
	umount mnt
'
# strace can deliver a signal when a command enters a system call.
test_lazy_prereq STRACE_INJECT '
	strace -f -o /dev/null -e trace=unlinkat -e inject=unlinkat:signal=KILL:when=1 \
		rm -f nosuch
	test $? = 137
'

# killed_at SYSCALL N CMD...: run CMD, killed with SIGKILL when it enters
# SYSCALL for the Nth time (a kill -9 at an exact moment, the same on
# every machine).  CMD's own status when it finished before.
killed_at () {
	killed_sc_=$1 killed_n_=$2 &&
	shift 2 &&
	ASAN_OPTIONS=detect_leaks=0 strace -f -o /dev/null -e trace="$killed_sc_" \
		-e inject="$killed_sc_":signal=KILL:when="$killed_n_" "$@"
}

# ---------------------------------------------------------------------------
# Running tests.

test_count=0
test_success=0
test_failure=0
test_fixed=0
test_broken=0
test_skipped=0
trace_level_=0

want_trace_ () {
	test -n "$trace"
}

test_fail_117_ () {
	return 117
}

# Run $1 in the current shell (no subshell: variables set by one test are
# seen by later ones), stdin from /dev/null, output to fds 3 and 4.  The
# status is that of the body's last command.
test_eval_inner_ () {
	# Nothing may follow "$1": the body's status is eval's status.
	eval "
		want_trace_ && trace_level_=\$((\$trace_level_ + 1)) && set -x
		$1"
}

test_eval_ () {
	test_eval_inner_ "$1" </dev/null >&3 2>&4
	# Once "set -x" is on, turning it off is traced too; hide that.
	{
		test_eval_ret_=$?
		if want_trace_
		then
			test 1 = $trace_level_ && set +x
			trace_level_=$(($trace_level_ - 1))
		fi
	} 2>/dev/null
	if want_trace_ && test $test_eval_ret_ != 0
	then
		say >&4 "error: last command exited with \$?=$test_eval_ret_"
	fi
	return $test_eval_ret_
}

# A broken &&-chain makes a test ignore failures.  Evaluating the body
# after a command that fails with 117 must therefore run nothing and give
# 117; anything else means some command is not chained.
test_chain_lint_ () {
	test "${MLV_TEST_CHAIN_LINT:-1}" = 0 && return 0
	eval "test_fail_117_ && $1" </dev/null >/dev/null 2>&1
	test $? = 117 && return 0
	say >&7 "error: bug in the test script: broken &&-chain or run-away HERE-DOC in test $TEST_NAME.$test_count '$2':"
	printf '%s\n' "$1" >&7
	BUG "broken &&-chain"
}

test_run_ () {
	test_cleanup=:
	test_chain_lint_ "$1" "$2"
	test_eval_ "$1"
	eval_ret=$?
	# With --immediate a failing test stops before its cleanup, so that
	# the trash directory shows the state it failed in.
	if test -z "$immediate" || test $eval_ret = 0
	then
		if test "$test_cleanup" != :
		then
			test_eval_ "$test_cleanup"
		fi
	fi
	return $eval_ret
}

test_start_ () {
	test_count=$(($test_count + 1))
	if test -z "$verbose"
	then
		exec 3>"$test_log_" 4>&3
	fi
}

test_finish_ () {
	if test -n "$verbose"
	then
		echo >&3 ""
	else
		exec 3>/dev/null 4>/dev/null
	fi
}

# test_skip_ TITLE: true (and the test is reported skipped) when the test
# must not run, for a missing prerequisite or because MLV_SKIP_TESTS
# lists it ("t0001.3 t0002.*").
test_skip_ () {
	test_skip_reason_=
	for test_skip_pat_ in $MLV_SKIP_TESTS
	do
		case "$TEST_NUMBER.$test_count" in
		$test_skip_pat_)
			test_skip_reason_="MLV_SKIP_TESTS"
			break ;;
		esac
	done
	if test -z "$test_skip_reason_" && test -n "$test_prereq" &&
	   ! test_have_prereq "$test_prereq"
	then
		test_skip_reason_="missing $missing_prereq"
	fi
	test -n "$test_skip_reason_" || return 1
	test_skipped=$(($test_skipped + 1))
	say >&3 "skipping test: $1"
	say "ok $test_count # skip $1 ($test_skip_reason_)"
	return 0
}

test_ok_ () {
	test_success=$(($test_success + 1))
	say "ok $test_count - $1"
}

# Report a failed test: "not ok" on stdout, and on stderr the body and its
# output as "#" lines, so that a CI log shows why without a rerun.
test_failure_ () {
	test_failure=$(($test_failure + 1))
	say "not ok $test_count - $1"
	{
		say "# failed test $TEST_NAME.$test_count '$1' (exit status $eval_ret):"
		printf '%s\n' "$2" | sed -e 's/^/#	/'
		if test -z "$verbose" && test -s "$test_log_"
		then
			test_log_lines_=$(wc -l <"$test_log_")
			if test $test_log_lines_ -gt 200
			then
				say "# output (last 200 of $test_log_lines_ lines):"
			else
				say "# output:"
			fi
			tail -n 200 "$test_log_" | sed -e 's/^/# | /'
		fi
	} >&7
	if test -n "$immediate"
	then
		say "# stopped at the first failure (--immediate); trash directory kept: $TRASH_DIRECTORY" >&7
		say "1..$test_count"
		MLV_EXIT_OK=t
		exit 1
	fi
}

test_read_body_ () {
	# A body of "-" is read from stdin (a here-doc), which spares the
	# quoting of a body that contains single quotes.
	if test "x$1" = "x-"
	then
		test_body_=$(cat)
	else
		test_body_=$1
	fi
}

# test_expect_success [PREREQ] 'title' 'body'
#	The test passes when the body's last command (an &&-chain) succeeds.
test_expect_success () {
	test "$#" = 3 && { test_prereq=$1; shift; } || test_prereq=
	test "$#" = 2 || BUG "not 2 or 3 parameters to test_expect_success"
	test_read_body_ "$2"
	test_start_
	if ! test_skip_ "$1"
	then
		test -z "$verbose" ||
			say >&3 "expecting success of $TEST_NUMBER.$test_count '$1': $test_body_"
		if test_run_ "$test_body_" "$1"
		then
			test_ok_ "$1"
		else
			test_failure_ "$1" "$test_body_"
		fi
	fi
	test_finish_
}

# test_expect_failure [PREREQ] 'title' 'body'
#	A known bug: reported as a TODO, which does not fail the script.
#	When the body starts to pass, the TODO is reported as fixed.
test_expect_failure () {
	test "$#" = 3 && { test_prereq=$1; shift; } || test_prereq=
	test "$#" = 2 || BUG "not 2 or 3 parameters to test_expect_failure"
	test_read_body_ "$2"
	test_start_
	if ! test_skip_ "$1"
	then
		test -z "$verbose" ||
			say >&3 "checking known breakage of $TEST_NUMBER.$test_count '$1': $test_body_"
		# --immediate must not stop at an expected failure.
		test_save_immediate_=$immediate
		immediate=
		if test_run_ "$test_body_" "$1"
		then
			test_fixed=$(($test_fixed + 1))
			say "ok $test_count - $1 # TODO known breakage vanished"
		else
			test_broken=$(($test_broken + 1))
			say "not ok $test_count - $1 # TODO known breakage"
		fi
		immediate=$test_save_immediate_
	fi
	test_finish_
}

# test_when_finished 'cleanup': run cleanup after the current test, even
# when it fails (except with --immediate).  Several run last-first; a
# failing cleanup fails the test.  Must be called from the test body
# itself, not a subshell (where it would be lost).
test_when_finished () {
	# $$ is the main shell's pid even in a subshell; a child's $PPID is not.
	sh -c 'echo $PPID' >"$TEST_RESULTS_DIR/$TEST_NAME.ppid" &&
	read test_ppid_ <"$TEST_RESULTS_DIR/$TEST_NAME.ppid" || return 1
	test "$test_ppid_" = "$$" ||
		BUG "test_when_finished does nothing in a subshell"
	test_cleanup="{ $*
		} && (exit \"\$eval_ret\"); eval_ret=\$?; $test_cleanup"
}

# test_done: finish the script.  Prints the plan and a summary, removes the
# trash directory if everything passed (unless --debug), and exits
# non-zero if any test failed.  With skip_all='reason' set and no test
# run, the whole script is reported skipped.
test_done () {
	MLV_EXIT_OK=t
	if test "$test_fixed" != 0
	then
		say "# $test_fixed known breakage(s) vanished; please update test(s)"
	fi
	if test "$test_broken" != 0
	then
		say "# still have $test_broken known breakage(s)"
	fi
	test_remaining_=$(($test_count - $test_broken - $test_fixed - $test_skipped))

	if test "$test_failure" != 0
	then
		say "# failed $test_failure among $test_count test(s)"
		say "1..$test_count"
		say >&7 "# $TEST_NAME: trash directory kept: $TRASH_DIRECTORY"
		exit 1
	fi

	if test $test_count = 0 && test -n "$skip_all"
	then
		say "1..0 # SKIP $skip_all"
	else
		if test $test_remaining_ -gt 0
		then
			say "# passed all $test_remaining_ test(s)"
		fi
		say "1..$test_count"
	fi

	cd "$TEST_OUTPUT_DIRECTORY" || exit 1
	if test -z "$debug"
	then
		if ! test_remove_dir_ "$TRASH_DIRECTORY"
		then
			say >&7 "error: tests passed but the trash directory $TRASH_DIRECTORY could not be removed"
			exit 1
		fi
		# test-results/ itself stays: scripts running in parallel
		# share it.
		rm -rf "$MLV_TEST_BIN" "$test_log_" \
			"$TEST_RESULTS_DIR/$TEST_NAME.ppid"
	fi
	exit 0
}

# ---------------------------------------------------------------------------
# Helpers for test bodies.  Diagnostics go to fd 4 (the body's stderr
# before any redirection the test makes), so that a test capturing a
# command's stderr does not capture them too.

# test_must_fail [ok=sigpipe,success] CMD ARGS...
#	CMD must fail in a controlled way: exit 1..128 or 129 (usage), as
#	mlv does.  A success, a death by signal (> 129, which is also how a
#	sanitizer reports), or 127 for a command that does not exist is an
#	error.  ok=sigpipe accepts death by SIGPIPE, ok=success a success.
#	Use it for mlv only; for other commands write "! cmd".
#
#	The redirections on the function: fd 7 is the caller's stderr (which
#	may be "2>err"), for the command; the function's own stderr is fd 4,
#	so that -x traces of its internals do not land in the caller's file.
test_must_fail () {
	case "$1" in
	ok=*)
		test_must_fail_ok_=,${1#ok=},
		shift ;;
	*)
		test_must_fail_ok_= ;;
	esac
	"$@" 2>&7
	test_exit_code_=$?
	if test $test_exit_code_ = 0
	then
		case "$test_must_fail_ok_" in
		*,success,*)
			return 0 ;;
		esac
		say >&4 "test_must_fail: command succeeded: $*"
		return 1
	elif test $test_exit_code_ = 141
	then
		case "$test_must_fail_ok_" in
		*,sigpipe,*)
			return 0 ;;
		esac
		say >&4 "test_must_fail: died by SIGPIPE: $*"
		return 1
	elif test $test_exit_code_ -gt 129
	then
		say >&4 "test_must_fail: died by signal $(($test_exit_code_ - 128)) (exit $test_exit_code_): $*"
		return 1
	elif test $test_exit_code_ = 127 && ! command -v "$1" >/dev/null 2>&1
	then
		say >&4 "test_must_fail: command not found: $*"
		return 1
	fi
	return 0
} 7>&2 2>&4

# test_might_fail CMD ARGS...: like test_must_fail, but success is fine too.
test_might_fail () {
	test_must_fail ok=success "$@"
}

# test_expect_code N CMD ARGS...: CMD must exit with status N exactly.
test_expect_code () {
	test $# -ge 2 || BUG "not enough parameters to test_expect_code"
	test_want_code_=$1
	shift
	"$@" 2>&7
	test_exit_code_=$?
	test $test_exit_code_ = "$test_want_code_" && return 0
	say >&4 "test_expect_code: command exited with $test_exit_code_, we wanted $test_want_code_: $*"
	return 1
} 7>&2 2>&4

# test_cmp EXPECTED ACTUAL: the files must be equal; shows a diff if not.
test_cmp () {
	test $# = 2 || BUG "not 2 parameters to test_cmp"
	test -e "$1" || BUG "test_cmp: '$1' does not exist"
	test -e "$2" || BUG "test_cmp: '$2' does not exist"
	diff -u "$1" "$2"
}

# test_cmp_bin EXPECTED ACTUAL: the same for binary files.
test_cmp_bin () {
	test $# = 2 || BUG "not 2 parameters to test_cmp_bin"
	cmp "$1" "$2"
}

# test_must_be_empty FILE: FILE exists and is empty; shows it if not.
test_must_be_empty () {
	test $# = 1 || BUG "not 1 parameter to test_must_be_empty"
	test_path_is_file "$1" || return 1
	if test -s "$1"
	then
		say "'$1' is not empty, it contains:"
		cat "$1"
		return 1
	fi
}

# test_path_is_file PATH, test_path_is_dir PATH, test_path_exists PATH,
# test_path_is_symlink PATH, test_path_is_executable PATH,
# test_path_is_missing PATH: like test -f/-d/-e/-h/-x/! -e, saying why.
test_path_is_file () {
	test $# = 1 || BUG "not 1 parameter to test_path_is_file"
	test -f "$1" && return 0
	say "File '$1' doesn't exist"
	test_show_path_ "$1"
	return 1
}

test_path_is_dir () {
	test $# = 1 || BUG "not 1 parameter to test_path_is_dir"
	test -d "$1" && return 0
	say "Directory '$1' doesn't exist"
	test_show_path_ "$1"
	return 1
}

test_path_exists () {
	test $# = 1 || BUG "not 1 parameter to test_path_exists"
	test -e "$1" && return 0
	say "Path '$1' doesn't exist"
	return 1
}

test_path_is_symlink () {
	test $# = 1 || BUG "not 1 parameter to test_path_is_symlink"
	test -h "$1" && return 0
	say "Symbolic link '$1' doesn't exist"
	test_show_path_ "$1"
	return 1
}

test_path_is_executable () {
	test $# = 1 || BUG "not 1 parameter to test_path_is_executable"
	test -f "$1" && test -x "$1" && return 0
	say "'$1' is not an executable file"
	test_show_path_ "$1"
	return 1
}

test_path_is_missing () {
	test $# = 1 || BUG "not 1 parameter to test_path_is_missing"
	test -e "$1" || test -h "$1" || return 0
	say "Path '$1' exists:"
	ls -ld "$1"
	if test -d "$1"
	then
		ls -a "$1"
	fi
	return 1
}

test_show_path_ () {
	if test -e "$1" || test -h "$1"
	then
		say "(it is:)"
		ls -ld "$1"
	fi
}

# test_line_count OP N FILE: the number of lines in FILE compares with N
# (OP is one of test's: = -lt -ge ...).
test_line_count () {
	test $# = 3 || BUG "not 3 parameters to test_line_count"
	test_lines_=$(wc -l <"$3") || return 1
	if ! test $test_lines_ "$1" "$2"
	then
		say "test_line_count: line count for $3 !$1 $2 (it is $test_lines_):"
		cat "$3"
		return 1
	fi
}

# test_grep [!] [GREP-OPTIONS] PATTERN FILE: like grep (or "! grep"), but
# shows FILE when it does not match as wanted.
test_grep () {
	eval "test_grep_file_=\${$#}"
	if test "x$1" = "x!"
	then
		test $# -ge 3 || BUG "too few parameters to test_grep"
		shift
		test -f "$test_grep_file_" || BUG "test_grep: no file '$test_grep_file_'"
		! grep "$@" && return 0
		say >&4 "error: '! grep $*' did find a match in:"
	else
		test $# -ge 2 || BUG "too few parameters to test_grep"
		test -f "$test_grep_file_" || BUG "test_grep: no file '$test_grep_file_'"
		grep "$@" && return 0
		say >&4 "error: 'grep $*' didn't find a match in:"
	fi
	if test -s "$test_grep_file_"
	then
		cat >&4 "$test_grep_file_"
	else
		say >&4 "<file '$test_grep_file_' is empty>"
	fi
	return 1
}

# test_write_lines LINES...: one argument per line on stdout.
test_write_lines () {
	printf '%s\n' "$@"
}

# test_seq [FIRST] LAST: the integers from FIRST (default 1) to LAST.
test_seq () {
	case $# in
	1)	set 1 "$1" ;;
	2)	;;
	*)	BUG "not 1 or 2 parameters to test_seq" ;;
	esac
	test_seq_i_=$1
	while test $test_seq_i_ -le "$2"
	do
		echo $test_seq_i_
		test_seq_i_=$(($test_seq_i_ + 1))
	done
}

# test_file_size FILE: its size in bytes on stdout.
test_file_size () {
	test $# = 1 || BUG "not 1 parameter to test_file_size"
	test_size_=$(wc -c <"$1") || return 1
	echo $(($test_size_))
}

# write_script FILE [INTERPRETER] <<-\EOF ... EOF: write an executable
# script (default interpreter /bin/sh) from stdin.
write_script () {
	{
		echo "#!${2-/bin/sh}" &&
		cat
	} >"$1" &&
	chmod +x "$1"
}

# test_create_repo DIR: a new, empty git repository (made by git, not by
# mlv) on branch main.
test_create_repo () {
	test $# = 1 || BUG "not 1 parameter to test_create_repo"
	git init -q "$1"
}

# test_commit [-C DIR] [--no-tag] MESSAGE [FILE [CONTENTS [TAG]]]: write
# CONTENTS (default MESSAGE) to FILE (default MESSAGE.t), commit it after
# a test_tick, and tag the commit TAG (default MESSAGE).
test_commit () {
	test_commit_dir_=
	test_commit_notag_=
	while test $# != 0
	do
		case "$1" in
		-C)
			test_commit_dir_=$2
			shift ;;
		--no-tag)
			test_commit_notag_=t ;;
		*)
			break ;;
		esac
		shift
	done
	test $# -ge 1 || BUG "no message given to test_commit"
	test_commit_file_=${2:-"$1.t"}
	echo "${3-$1}" >"${test_commit_dir_:+$test_commit_dir_/}$test_commit_file_" &&
	git ${test_commit_dir_:+-C "$test_commit_dir_"} add -- "$test_commit_file_" &&
	test_tick &&
	git ${test_commit_dir_:+-C "$test_commit_dir_"} commit -q -m "$1" &&
	if test -z "$test_commit_notag_"
	then
		git ${test_commit_dir_:+-C "$test_commit_dir_"} tag "${4:-$1}"
	fi
}

# generate_file PATH SIZE [SEED]: write SIZE bytes (a number, or with a
# K, M or G suffix for KiB, MiB, GiB) of deterministic pseudo-random data
# to PATH.  The same SEED (default: PATH) gives the same bytes on every
# machine: the AES-128-CTR keystream under the key made of the first 16
# bytes of SHA-256(SEED), IV zero.  About 1 GiB/s.
generate_file () {
	test $# = 2 || test $# = 3 || BUG "not 2 or 3 parameters to generate_file"
	case "$2" in
	*K)	test_gen_size_=$((${2%K} * 1024)) ;;
	*M)	test_gen_size_=$((${2%M} * 1024 * 1024)) ;;
	*G)	test_gen_size_=$((${2%G} * 1024 * 1024 * 1024)) ;;
	*[!0-9]*|'')
		BUG "generate_file: bad size '$2'" ;;
	*)	test_gen_size_=$2 ;;
	esac
	test_gen_key_=$(printf '%s' "${3-$1}" | sha256sum | cut -c1-32) || return 1
	openssl enc -aes-128-ctr -nosalt -K "$test_gen_key_" \
		-iv 00000000000000000000000000000000 -in /dev/zero 2>/dev/null |
	head -c "$test_gen_size_" >"$1" || return 1
	# The pipeline's status is head's: check that openssl delivered.
	test "$(test_file_size "$1")" = "$test_gen_size_" || {
		say >&4 "generate_file: could not generate $test_gen_size_ bytes (is openssl installed?)"
		return 1
	}
}

# ---------------------------------------------------------------------------
# Debugging.

# test_debug 'commands': run them only with --debug.
test_debug () {
	test -z "$debug" || eval "$1"
}

# test_pause: stop the test and open a shell in its current directory, on
# the terminal, with the test's environment; continue when it exits.
# Only for debugging, never commit a call.
test_pause () {
	if test -n "$HARNESS_ACTIVE"
	then
		BUG "test_pause cannot be used under prove; run the script directly with -v"
	fi
	"${SHELL:-/bin/sh}" <&6 >&5 2>&7
}

# debug CMD ARGS...: run CMD under gdb, on the terminal.
debug () {
	gdb -args "$@" <&6 >&5 2>&7
}
