#!/bin/sh

test_description='the test library itself

Checks that test-lib.sh reports passes, failures, skips and known
breakages correctly, and that its helpers and environment behave, so that
the other scripts can be trusted.  Uses no mlv functionality.'

. "$(dirname "$0")"/test-lib.sh

# run_sub_test_lib_test NAME 'description' [OPTIONS...] <<-\EOF
#	(test script body)
# EOF
#
# Write NAME/NAME.sh sourcing test-lib.sh followed by the body on stdin,
# and run it with its trash directory inside NAME/ and $SUB_TEST_OPTS as
# its TEST_OPTS.  Its stdout, stderr
# and exit status end up in NAME/out, NAME/err and NAME/exit-code.
run_sub_test_lib_test () {
	sub_name=$1
	sub_descr=$2
	shift 2
	mkdir "$sub_name" &&
	{
		printf '#!/bin/sh\n' &&
		printf "test_description='%s'\n" "$sub_descr" &&
		printf '. "$TEST_DIRECTORY"/test-lib.sh\n' &&
		cat
	} >"$sub_name/$sub_name.sh" &&
	chmod +x "$sub_name/$sub_name.sh" &&
	(
		cd "$sub_name" &&
		# Our own options must not change what the sub-script prints.
		TEST_OPTS=${SUB_TEST_OPTS-} &&
		export TEST_OPTS &&
		unset MLV_SKIP_TESTS HARNESS_ACTIVE
		# (No $(...) on the next line: with -x its trace would land in err.)
		sub_dir=$(pwd)
		TEST_DIRECTORY=$TEST_DIRECTORY TEST_OUTPUT_DIRECTORY=$sub_dir \
			./"$sub_name.sh" "$@" >out 2>err
		echo $? >exit-code
	)
}

# check_sub_test_lib_test NAME EXIT-CODE <<-\EOF
#	> expected TAP output
# EOF
#
# The expected lines start with "> " (kept from here-doc tab stripping).
check_sub_test_lib_test () {
	echo "$2" >"$1/expect-exit-code" &&
	sed -e 's/^> //' >"$1/expect" &&
	test_cmp "$1/expect" "$1/out" &&
	test_cmp "$1/expect-exit-code" "$1/exit-code"
}

test_expect_success 'a passing test passes' '
	true
'

test_expect_success 'variables set in a test are seen by later tests' '
	set_in_earlier_test=yes
'

test_expect_success 'no subshell between tests' '
	test "$set_in_earlier_test" = yes
'

test_expect_success 'a body may be read from a here-doc' - <<-\EOF
	echo 'single quotes' >quoted &&
	test_write_lines "single quotes" >expect &&
	test_cmp expect quoted
EOF

test_expect_success 'test_must_fail accepts exit 1, 128 and 129' '
	test_must_fail sh -c "exit 1" &&
	test_must_fail sh -c "exit 2" &&
	test_must_fail sh -c "exit 128" &&
	test_must_fail sh -c "exit 129"
'

test_expect_success 'test_must_fail rejects success' '
	! test_must_fail true 2>err &&
	test_must_be_empty err
'

test_expect_success 'test_must_fail rejects death by a signal' '
	! test_must_fail sh -c "kill -SEGV \$\$" &&
	! test_must_fail sh -c "kill -ABRT \$\$" &&
	! test_must_fail sh -c "exit 134" &&
	! test_must_fail sh -c "kill -PIPE \$\$" &&
	test_must_fail ok=sigpipe sh -c "kill -PIPE \$\$"
'

test_expect_success 'test_must_fail rejects a command that does not exist' '
	! test_must_fail no-such-command-anywhere
'

test_expect_success 'test_must_fail: ok=success, test_might_fail' '
	test_must_fail ok=success true &&
	test_might_fail true &&
	test_might_fail false &&
	! test_might_fail sh -c "kill -SEGV \$\$"
'

test_expect_success 'test_must_fail leaves stderr to the caller' '
	test_must_fail sh -c "echo oops >&2; exit 1" 2>err &&
	echo oops >expect &&
	test_cmp expect err
'

test_expect_success 'test_expect_code' '
	test_expect_code 1 false &&
	test_expect_code 0 true &&
	test_expect_code 3 sh -c "exit 3" &&
	! test_expect_code 1 true &&
	! test_expect_code 2 sh -c "exit 3"
'

test_expect_success 'test_cmp detects differences' '
	test_write_lines a b c >one &&
	test_write_lines a b c >two &&
	test_write_lines a B c >three &&
	test_cmp one two &&
	! test_cmp one three >diff &&
	test_grep "^-b" diff &&
	test_grep "^+B" diff
'

test_expect_success 'test_must_be_empty' '
	: >empty &&
	echo x >full &&
	test_must_be_empty empty &&
	! test_must_be_empty full &&
	! test_must_be_empty no-such-file
'

test_expect_success 'path helpers' '
	mkdir dir &&
	echo x >file &&
	test_path_is_file file &&
	test_path_is_dir dir &&
	test_path_exists file &&
	test_path_is_missing nothing &&
	! test_path_is_file dir &&
	! test_path_is_dir file &&
	! test_path_is_missing file &&
	! test_path_exists nothing
'

test_expect_success SYMLINKS 'path helpers and dangling symlinks' '
	ln -s nowhere dangling &&
	test_path_is_symlink dangling &&
	! test_path_is_missing dangling
'

test_expect_success 'test_line_count' '
	test_write_lines 1 2 3 >lines &&
	test_line_count = 3 lines &&
	test_line_count -gt 2 lines &&
	! test_line_count = 2 lines
'

test_expect_success 'test_grep' '
	echo needle >haystack &&
	test_grep needle haystack &&
	test_grep ! straw haystack &&
	! test_grep straw haystack 2>/dev/null &&
	! test_grep ! needle haystack
'

test_expect_success 'test_seq, test_write_lines, write_script, test_file_size' '
	test_seq 3 >seq &&
	test_write_lines 1 2 3 >expect &&
	test_cmp expect seq &&
	test_seq 4 5 >seq &&
	test_write_lines 4 5 >expect &&
	test_cmp expect seq &&
	write_script script.sh <<-\EOF &&
	echo "from the script: $1"
	EOF
	./script.sh arg >actual &&
	echo "from the script: arg" >expect &&
	test_cmp expect actual &&
	printf 12345 >five &&
	test "$(test_file_size five)" = 5
'

test_expect_success 'generate_file is deterministic' '
	generate_file a 100000 seed1 &&
	generate_file b 100000 seed1 &&
	generate_file c 100000 seed2 &&
	test "$(test_file_size a)" = 100000 &&
	test_cmp_bin a b &&
	! test_cmp_bin a c >/dev/null &&
	generate_file short 1000 seed1 &&
	head -c 1000 a >a-prefix &&
	test_cmp_bin a-prefix short &&
	generate_file zero 0 seed1 &&
	test_must_be_empty zero
'

# The bytes are part of the interface: tests may record expected ids.
test_expect_success 'generate_file gives the documented bytes' '
	generate_file k 1K mlv &&
	sha256sum k >actual &&
	echo "28ebf747e85db645b4e884c549b4c7ffbe83ed0a13764806c3da24ce0e944e9d  k" >expect &&
	test_cmp expect actual
'

test_expect_success 'generate_file makes 64 MiB quickly' '
	generate_file big 64M seed &&
	test "$(test_file_size big)" = 67108864 &&
	rm big
'

test_expect_success 'test_when_finished runs after the test, last first' '
	test_when_finished "echo first >>order" &&
	test_when_finished "echo second >>order" &&
	test_path_is_missing order
'

test_expect_success '... and has run' '
	test_write_lines second first >expect &&
	test_cmp expect order
'

test_set_prereq HAVEIT
haveit=no
test_expect_success HAVEIT 'a test with a satisfied prerequisite runs' '
	haveit=yes
'

donthaveit=no
test_expect_success DONTHAVEIT 'a test with a missing prerequisite is skipped' '
	donthaveit=yes
'

negated=no
test_expect_success '!DONTHAVEIT' 'a negated missing prerequisite runs' '
	negated=yes
'

test_expect_success 'prerequisites decided which tests ran' '
	test $haveit = yes &&
	test $donthaveit = no &&
	test $negated = yes &&
	test_have_prereq HAVEIT &&
	test_have_prereq HAVEIT,!DONTHAVEIT &&
	! test_have_prereq HAVEIT,DONTHAVEIT &&
	test "$missing_prereq" = DONTHAVEIT
'

lazy_runs=0
test_lazy_prereq LAZY_TRUE '
	echo ran >>"$TRASH_DIRECTORY/lazy-ran" &&
	pwd >"$TRASH_DIRECTORY/lazy-pwd" &&
	cd / &&
	lazy_var=set
'
test_lazy_prereq LAZY_FALSE 'false'

test_expect_success LAZY_TRUE 'a lazy prerequisite that holds' '
	test_have_prereq LAZY_TRUE &&
	test_line_count = 1 "$TRASH_DIRECTORY/lazy-ran"
'

test_expect_success 'lazy prerequisites run once, in a scratch dir, in a subshell' '
	test_have_prereq LAZY_TRUE &&
	test_line_count = 1 "$TRASH_DIRECTORY/lazy-ran" &&
	test "$(pwd)" = "$TRASH_DIRECTORY" &&
	test -z "$lazy_var" &&
	echo "$TRASH_DIRECTORY/prereq-test-dir-LAZY_TRUE" >expect &&
	test_cmp expect "$TRASH_DIRECTORY/lazy-pwd" &&
	test_path_is_missing "$TRASH_DIRECTORY/prereq-test-dir-LAZY_TRUE"
'

lazy_false=no
test_expect_success LAZY_FALSE 'a lazy prerequisite that fails skips' '
	lazy_false=yes
'

test_expect_success 'built-in prerequisites' '
	test $lazy_false = no &&
	if test "$(id -u)" = 0
	then
		test_have_prereq ROOT &&
		! test_have_prereq NOT_ROOT
	else
		test_have_prereq NOT_ROOT &&
		! test_have_prereq ROOT
	fi &&
	if test -n "$MLV_SANITIZE"
	then
		test_have_prereq SANITIZE
	else
		! test_have_prereq SANITIZE
	fi &&
	if nvidia-smi -L >/dev/null 2>&1
	then
		test_have_prereq GPU
	else
		! test_have_prereq GPU
	fi
'

test_expect_success TMPFS_MOUNT 'TMPFS_MOUNT means mounting works' '
	mkdir mnt &&
	mount -t tmpfs -o size=1m tmpfs mnt &&
	umount mnt
'

test_expect_success 'the trash directory is the current directory' '
	test "$(pwd -P)" = "$TRASH_DIRECTORY" &&
	test "$(basename "$TRASH_DIRECTORY")" = trash-t0000-test-lib &&
	test "$(dirname "$TRASH_DIRECTORY")" = "$TEST_OUTPUT_DIRECTORY" &&
	case "$TRASH_DIRECTORY" in
	/*) true ;;
	*) false ;;
	esac
'

test_expect_success 'HOME and the environment are fixed' '
	test "$HOME" = "$TRASH_DIRECTORY/home" &&
	test_path_is_dir "$HOME" &&
	test "$XDG_CONFIG_HOME" = "$HOME/.config" &&
	test "$LANG" = C &&
	test "$LC_ALL" = C &&
	test "$TZ" = UTC &&
	test "$NO_COLOR" = 1 &&
	test "$GIT_CONFIG_NOSYSTEM" = 1 &&
	test "$(git config --global init.defaultBranch)" = main &&
	test "$(git config user.name)" = "A U Thor"
'

test_expect_success 'mlv is the built binary' '
	test "$MLV_BUILD_DIR" = "$(cd "$TEST_DIRECTORY/.." && pwd -P)" &&
	mlv_on_path=$(command -v mlv) &&
	test "$(readlink -f "$mlv_on_path")" = "$(readlink -f "$MLV_BINARY")" &&
	if test -z "$MLV_TEST_INSTALLED"
	then
		test "$MLV_BINARY" = "$MLV_BUILD_DIR/mlv"
	fi
'

test_expect_success 'the same commit made twice has the same id' '
	test_create_repo repo1 &&
	test_create_repo repo2 &&
	test "$(git -C repo1 symbolic-ref HEAD)" = refs/heads/main &&
	echo content >repo1/file &&
	echo content >repo2/file &&
	git -C repo1 add file &&
	git -C repo2 add file &&
	git -C repo1 commit -q -m message &&
	git -C repo2 commit -q -m message &&
	git -C repo1 rev-parse HEAD >id1 &&
	git -C repo2 rev-parse HEAD >id2 &&
	test_cmp id1 id2 &&
	git -C repo1 log -1 --format="%an <%ae> %ad|%cn <%ce> %cd" --date=raw >actual &&
	echo "A U Thor <author@example.com> $test_tick +0000|C O Mitter <committer@example.com> $test_tick +0000" >expect &&
	test_cmp expect actual
'

test_expect_success 'test_tick moves the dates on' '
	before=$test_tick &&
	test_tick &&
	test $test_tick = $(($before + 60)) &&
	test "$GIT_AUTHOR_DATE" = "$test_tick +0000" &&
	test "$GIT_COMMITTER_DATE" = "$test_tick +0000"
'

test_expect_success 'test_commit' '
	test_create_repo "with space" &&
	test_commit -C "with space" first &&
	test_commit -C "with space" --no-tag second file.txt contents &&
	git -C "with space" rev-parse -q --verify first &&
	test_must_fail git -C "with space" rev-parse -q --verify second &&
	echo contents >expect &&
	test_cmp expect "with space/file.txt" &&
	git -C "with space" log --format=%s >actual &&
	test_write_lines second first >expect &&
	test_cmp expect actual
'

# ----------------------------------------------------------------------
# Whole scripts, run as sub-scripts, to see what they report.

test_expect_success 'pass, fail, known breakage, skip: TAP output' '
	run_sub_test_lib_test mixed "mixed results" <<-\EOF &&
	test_expect_success "passing test" "true"
	test_expect_success "failing test" "
		echo this-is-the-output &&
		echo to-stderr >&2 &&
		false
	"
	test_expect_failure "known breakage" "false"
	test_expect_failure "fixed breakage" "true"
	test_expect_success MISSING "skipped test" "true"
	test_done
	EOF
	check_sub_test_lib_test mixed 1 <<-\EOF &&
	> ok 1 - passing test
	> not ok 2 - failing test
	> not ok 3 - known breakage # TODO known breakage
	> ok 4 - fixed breakage # TODO known breakage vanished
	> ok 5 # skip skipped test (missing MISSING)
	> # 1 known breakage(s) vanished; please update test(s)
	> # still have 1 known breakage(s)
	> # failed 1 among 5 test(s)
	> 1..5
	EOF
	test_grep "^# failed test mixed.2 .failing test. (exit status 1):" mixed/err &&
	test_grep "^#	 *echo this-is-the-output" mixed/err &&
	test_grep "^# | this-is-the-output" mixed/err &&
	test_grep "^# | to-stderr" mixed/err &&
	test_grep ! "# | .*known breakage" mixed/err &&
	test_path_is_dir mixed/trash-mixed &&
	test_path_is_file mixed/test-results/mixed.log
'

test_expect_success 'all passing: exit 0, trash directory removed' '
	run_sub_test_lib_test passing "all pass" <<-\EOF &&
	test_expect_success "one" "echo quiet-output && : >file"
	test_expect_success "two" "test_path_is_file file"
	test_done
	EOF
	check_sub_test_lib_test passing 0 <<-\EOF &&
	> ok 1 - one
	> ok 2 - two
	> # passed all 2 test(s)
	> 1..2
	EOF
	test_must_be_empty passing/err &&
	test_path_is_missing passing/trash-passing &&
	test_path_is_missing passing/test-results/passing.log &&
	test_path_is_missing passing/test-results/passing.bin
'

test_expect_success '--debug keeps the trash directory' '
	run_sub_test_lib_test debugging "debug" --debug <<-\EOF &&
	test_expect_success "one" ": >file"
	test_done
	EOF
	check_sub_test_lib_test debugging 0 <<-\EOF &&
	> ok 1 - one
	> # passed all 1 test(s)
	> 1..1
	EOF
	test_path_is_file debugging/trash-debugging/file
'

test_expect_success 'skip_all skips the whole script' '
	run_sub_test_lib_test skipping "skip all" <<-\EOF &&
	skip_all="no frobnicator here"
	test_done
	EOF
	check_sub_test_lib_test skipping 0 <<-\EOF
	> 1..0 # SKIP no frobnicator here
	EOF
'

test_expect_success 'failing test_when_finished fails the test; runs on failure' '
	run_sub_test_lib_test cleanup "cleanup" <<-\EOF &&
	test_expect_success "cleanup fails" "
		test_when_finished false &&
		true
	"
	test_expect_success "test fails" "
		test_when_finished \"echo cleaned >cleaned\" &&
		false
	"
	test_expect_success "cleanup ran" "
		test_path_is_file cleaned
	"
	test_done
	EOF
	check_sub_test_lib_test cleanup 1 <<-\EOF
	> not ok 1 - cleanup fails
	> not ok 2 - test fails
	> ok 3 - cleanup ran
	> # failed 2 among 3 test(s)
	> 1..3
	EOF
'

test_expect_success 'test_when_finished in a subshell is a bug' '
	run_sub_test_lib_test subshell "subshell" <<-\EOF &&
	test_expect_success "in a subshell" "
		(test_when_finished true)
	"
	test_done
	EOF
	check_sub_test_lib_test subshell 1 <<-\EOF &&
	> not ok 1 - in a subshell
	> # failed 1 among 1 test(s)
	> 1..1
	EOF
	test_grep "BUG.*test_when_finished does nothing in a subshell" subshell/err
'

test_expect_success '--immediate stops at the first failure' '
	run_sub_test_lib_test immediate "immediate" -i <<-\EOF &&
	test_expect_success "fails" "
		test_when_finished \": >cleaned\" &&
		false
	"
	test_expect_success "never run" "true"
	test_done
	EOF
	check_sub_test_lib_test immediate 1 <<-\EOF &&
	> not ok 1 - fails
	> 1..1
	EOF
	test_path_is_missing immediate/trash-immediate/cleaned
'

test_expect_success '--verbose shows the output of passing tests' '
	run_sub_test_lib_test verbose "verbose" -v <<-\EOF &&
	test_expect_success "talks" "echo visible-output"
	test_done
	EOF
	test_grep "^visible-output" verbose/out &&
	test_grep "^ok 1 - talks" verbose/out &&
	SUB_TEST_OPTS=--verbose &&
	run_sub_test_lib_test verbose-env "verbose from TEST_OPTS" <<-\EOF &&
	test_expect_success "talks" "echo visible-too"
	test_done
	EOF
	unset SUB_TEST_OPTS &&
	test_grep "^visible-too" verbose-env/out &&
	run_sub_test_lib_test quiet "not verbose" <<-\EOF &&
	test_expect_success "talks" "echo not-visible"
	test_done
	EOF
	test_grep ! "not-visible" quiet/out
'

test_expect_success 'a broken &&-chain is a bug' '
	run_sub_test_lib_test chain "chain" <<-\EOF &&
	test_expect_success "broken" "
		echo one
		echo two
	"
	test_done
	EOF
	test_grep "broken &&-chain" chain/err &&
	test_grep ! "^ok" chain/out &&
	test $(cat chain/exit-code) != 0
'

test_expect_success 'an unexpected exit fails the script' '
	run_sub_test_lib_test early "early exit" <<-\EOF &&
	test_expect_success "one" "true"
	exit 0
	EOF
	test_grep "FATAL: early: unexpected exit" early/err &&
	test $(cat early/exit-code) != 0
'

test_expect_success 'GIT_* and MLV_* from the environment do not leak' '
	mkdir leak-repo &&
	(
		GIT_DIR=$TRASH_DIRECTORY/leak-repo &&
		GIT_AUTHOR_NAME=Someone &&
		MLV_DIR=/elsewhere &&
		MLV_TEST_KEEP=kept &&
		export GIT_DIR GIT_AUTHOR_NAME MLV_DIR MLV_TEST_KEEP &&
		run_sub_test_lib_test leak "no leaks"
	) <<-\EOF &&
	test_expect_success "clean environment" "
		test -z \"\$GIT_DIR\" &&
		test -z \"\$MLV_DIR\" &&
		test \"\$MLV_TEST_KEEP\" = kept &&
		test \"\$GIT_AUTHOR_NAME\" = \"A U Thor\"
	"
	test_done
	EOF
	check_sub_test_lib_test leak 0 <<-\EOF
	> ok 1 - clean environment
	> # passed all 1 test(s)
	> 1..1
	EOF
'

test_expect_success 'MLV_SKIP_TESTS skips single tests' '
	mkdir skip-one &&
	write_script skip-one/skip-one.sh <<-\EOF &&
	test_description="skip one"
	. "$TEST_DIRECTORY"/test-lib.sh
	test_expect_success "one" "true"
	test_expect_success "two" "false"
	test_done
	EOF
	(
		cd skip-one &&
		TEST_DIRECTORY=$TEST_DIRECTORY \
		TEST_OUTPUT_DIRECTORY=$TRASH_DIRECTORY/skip-one \
		MLV_SKIP_TESTS="skip.2" ./skip-one.sh >out 2>err
	) &&
	test_grep "^ok 2 # skip two (MLV_SKIP_TESTS)" skip-one/out
'

test_done
