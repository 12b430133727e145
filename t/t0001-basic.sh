#!/bin/sh

test_description='mlv: version, help, usage errors, repository discovery, -C'

. "$(dirname "$0")"/test-lib.sh

# A directory outside any git repository (the trash directory is usually
# inside the mlv source tree, which is one).
test_lazy_prereq OUTSIDE_GIT '
	d=$(mktemp -d) &&
	! git -C "$d" rev-parse --git-dir >/dev/null 2>&1
	r=$?
	rm -rf "$d"
	exit $r
'

test_lazy_prereq DEV_FULL 'test -c /dev/full'

# Set $outside to a new directory outside git, removed after the test.
make_outside () {
	outside=$(mktemp -d) &&
	test_when_finished "rm -rf \"$outside\""
}

test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	mlv __complete | cut -f1 >commands
'

test_expect_success 'mlv version and mlv --version' '
	mlv version >out &&
	grep "^mlv version [0-9][^ ]*$" out &&
	test_line_count = 1 out &&
	mlv --version >out2 &&
	test_cmp out out2 &&
	mlv -C repo --version >out2 &&
	test_cmp out out2
'

test_expect_success 'mlv -h lists the commands on stdout' '
	mlv -h >out 2>err &&
	test_must_be_empty err &&
	grep "^usage: mlv " out &&
	while read -r cmd
	do
		grep "^   $cmd " out >/dev/null || return 1
	done <commands
'

test_expect_success 'mlv help lists every command' '
	mlv help >out &&
	mlv -h >expect &&
	test_cmp expect out &&
	while read -r cmd
	do
		grep "^   $cmd  *[A-Z]" out >/dev/null || return 1
	done <commands
'

test_expect_success 'mlv without a command is a usage error' '
	test_expect_code 129 mlv >out 2>err &&
	test_must_be_empty out &&
	test_grep "^usage: mlv " err
'

test_expect_success 'an unknown command is a usage error' '
	test_expect_code 129 mlv frobnicate >out 2>err &&
	test_must_be_empty out &&
	test_grep "^error: .*frobnicate" err
'

test_expect_success 'mlv help of an unknown command fails' '
	test_must_fail mlv help frobnicate 2>err &&
	test_grep "frobnicate" err
'

test_expect_success 'an unknown global option is a usage error' '
	test_expect_code 129 mlv --frobnicate version >out 2>err &&
	test_must_be_empty out &&
	test_grep "^error: unknown option .--frobnicate" err
'

test_expect_success 'an unknown command option is a usage error' '
	test_expect_code 129 mlv version --frobnicate 2>err &&
	test_grep "^error: unknown option .--frobnicate" err &&
	test_grep "^usage: mlv version" err &&
	test_expect_code 129 mlv -C repo status --frobnicate 2>err &&
	test_grep "^error: unknown option" err &&
	test_expect_code 129 mlv -C repo add -Z x 2>err &&
	test_grep "^error: unknown switch" err
'

test_expect_success 'an invalid option value is a usage error' '
	echo x >repo/x &&
	test_expect_code 129 mlv -C repo add --kind=weights x 2>err &&
	test_grep "invalid value .weights" err &&
	test_path_is_missing repo/x.mlv
'

test_expect_success 'mlv add -h prints the usage on stdout and exits 129' '
	test_expect_code 129 mlv add -h >out 2>err &&
	test_must_be_empty err &&
	test_grep "^usage: mlv add " out &&
	test_grep "^    --kind <kind>" out
'

test_expect_success '-h of every command exits 129 with usage on stdout' '
	while read -r cmd
	do
		test_expect_code 129 mlv "$cmd" -h >out 2>err &&
		test_must_be_empty err &&
		grep "^usage: mlv $cmd" out >/dev/null || return 1
	done <commands
'

test_expect_success OUTSIDE_GIT 'commands outside a git repository fail with a hint' '
	make_outside &&
	echo x >"$outside/f" &&
	for cmd in status "add f" ls checkout fsck
	do
		test_expect_code 128 mlv -C "$outside" $cmd >out 2>err &&
		test_must_be_empty out &&
		test_grep "^fatal: not a git repository" err &&
		test_grep "^hint: " err || return 1
	done &&
	test_path_is_missing "$outside/f.mlv"
'

test_expect_success OUTSIDE_GIT 'init outside a git repository fails with a hint' '
	make_outside &&
	test_expect_code 128 mlv -C "$outside" init 2>err &&
	test_grep "^fatal: " err &&
	test_grep "^hint: .*git init" err &&
	test_path_is_missing "$outside/.mlv"
'

test_expect_success OUTSIDE_GIT 'version, help, hash and -h work outside a repository' '
	make_outside &&
	echo hello >"$outside/f" &&
	mlv -C "$outside" version &&
	mlv -C "$outside" help >/dev/null &&
	mlv -C "$outside" hash f >out &&
	test_grep "  f$" out &&
	test_expect_code 129 mlv -C "$outside" status -h >out &&
	test_grep "^usage: mlv status" out
'

test_expect_success 'commands in a git repository without mlv init fail with a hint' '
	test_create_repo plain &&
	test_expect_code 128 mlv -C plain status 2>err &&
	test_grep "^fatal: not an mlv repository" err &&
	test_grep "^hint: .*mlv init" err
'

test_expect_success 'mlv init creates .mlv and running it again is harmless' '
	test_create_repo again &&
	(
		cd again &&
		mlv init >out &&
		test_grep "^Initialized empty mlv repository in .*/again/.mlv$" out &&
		test_path_is_file .mlv/config &&
		test_path_is_file .mlv/.gitignore &&
		cp .mlv/config config.before &&
		echo data >f &&
		mlv add -q f &&
		mlv init >out &&
		test_grep "^Reinitialized existing mlv repository" out &&
		test_cmp config.before .mlv/config &&
		mlv status >out &&
		test_grep "^uncommitted:  f.mlv$" out &&
		mlv init -q >out &&
		test_must_be_empty out
	)
'

test_expect_success 'mlv init in a subdirectory creates .mlv at the top' '
	test_create_repo sub &&
	mkdir -p sub/a/b &&
	mlv -C sub/a/b init -q &&
	test_path_is_dir sub/.mlv &&
	test_path_is_missing sub/a/b/.mlv
'

test_expect_success '-C runs in another directory' '
	echo content >repo/data &&
	mlv -C repo add -q data &&
	test_path_is_file repo/data.mlv &&
	mlv -C repo ls >out &&
	test_grep "  data$" out &&
	mkdir -p repo/d &&
	test_expect_code 1 mlv -C repo -C d status --exit-code ../data >out &&
	test_grep "^uncommitted:  \.\./data\.mlv$" out &&
	mlv -C repo/d ls ../data >out &&
	test_grep "  \.\./data$" out
'

test_expect_success '-C with a missing directory is fatal' '
	test_expect_code 128 mlv -C nowhere version 2>err &&
	test_grep "^fatal: cannot change to .nowhere" err &&
	test_expect_code 129 mlv -C 2>err &&
	test_grep "^error: -C requires a directory" err
'

test_expect_success DEV_FULL 'a failed write to stdout is fatal' '
	test_expect_code 128 mlv version >/dev/full 2>err &&
	test_grep "^fatal: unable to write" err &&
	test_expect_code 128 mlv -C repo ls >/dev/full 2>err &&
	test_grep "^fatal: unable to write" err
'

test_expect_success 'a closed stdout becomes /dev/null, as in git' '
	mlv version >&- 2>err &&
	test_must_be_empty err &&
	mlv -C repo init -q &&
	mlv -C repo status >&- 2>err &&
	test_must_be_empty err &&
	# Nothing mlv opened landed on descriptor 1.
	(cd repo && mlv fsck)
'

test_done
