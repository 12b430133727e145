#!/bin/sh

test_description='pointer files with git merge-conflict markers'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: a merge that conflicts in data.mlv' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	git add -A && git commit -q -m base &&
	git branch other &&
	echo ours >data && mlv add data && git add -A && git commit -q -m ours &&
	git checkout -q other &&
	echo theirs >data.theirs && mv data.theirs data &&
	mlv add data && git add -A && git commit -q -m theirs &&
	git checkout -q main &&
	mlv checkout --force &&
	test_must_fail git merge -q other &&
	grep "^<<<<<<< " data.mlv
'

test_expect_success 'ls shows the conflicted pointer, with the error and a hint' '
	test_expect_code 1 mlv ls >out 2>err &&
	test_grep "conflicted *data$" out &&
	test_grep "^error: merge conflict in data.mlv$" err &&
	test_grep "^hint: .*git checkout --ours -- .data.mlv." err &&
	test_grep ! "invalid key" err
'

test_expect_success 'ls --json marks it conflicted' '
	test_expect_code 1 mlv ls --json >out &&
	jq -e ".artifacts[0].path == \"data\" and .artifacts[0].conflicted == true and
	       (.artifacts[0].error | test(\"merge conflict in data.mlv\"))" out
'

test_expect_success 'ls, cat, rm and mv name the conflict and change nothing' '
	cp data.mlv conflicted.saved &&
	test_must_fail mlv ls data 2>err &&
	test_grep "merge conflict in data.mlv" err &&
	test_must_fail mlv cat data 2>err &&
	test_grep "merge conflict in data.mlv" err &&
	test_grep "^hint: " err &&
	test_must_fail mlv rm --force data 2>err &&
	test_grep "merge conflict in data.mlv" err &&
	test_must_fail mlv rm --keep --force data.mlv 2>err &&
	test_must_fail mlv mv data elsewhere 2>err &&
	test_grep "merge conflict in data.mlv" err &&
	test_cmp conflicted.saved data.mlv &&
	test_path_is_missing elsewhere.mlv
'

test_expect_success 'resolving with git makes it an artifact again' '
	git checkout --theirs -- data.mlv &&
	git add data.mlv &&
	mlv ls >out &&
	test_grep "data$" out &&
	mlv checkout --force data &&
	echo theirs >expect &&
	test_cmp expect data
'

test_done
