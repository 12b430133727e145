#!/bin/sh

test_description='post-checkout and post-merge hooks: git checkout, merge and pull move the data'

. "$(dirname "$0")"/test-lib.sh

index_db () {
	find .git -name index.db -type f 2>/dev/null | head -n 1
}

test_expect_success 'setup: two branches with different data' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p data/sub &&
	echo "a1" >data/a && echo "b1" >data/b && echo "d1" >data/sub/d &&
	echo "m1" >model.bin &&
	mlv add -q data model.bin &&
	git add -A && test_tick && git commit -q -m v1 &&
	git checkout -q -b two &&
	echo "a2" >data/a && echo new >data/sub/new && rm data/b &&
	echo "m2" >model.bin &&
	mlv add -q data model.bin &&
	git commit -q -am v2 &&
	cp -r data ../data-two && cp model.bin ../model-two &&
	git checkout -q main &&
	mlv checkout -q &&
	cp -r data ../data-main && cp model.bin ../model-main &&
	mlv hooks install >/dev/null
'

test_expect_success 'git checkout of a branch switches the data' '
	git checkout two 2>err &&
	test_grep "^mlv: updated 3 files" err &&
	diff -r ../data-two data &&
	test_cmp ../model-two model.bin &&
	mlv status --exit-code &&
	git switch main 2>err &&
	diff -r ../data-main data &&
	test_cmp ../model-main model.bin
'

test_expect_success 'nothing printed when no data changed' '
	git checkout -b same 2>err &&
	echo "Switched to a new branch '"'"'same'"'"'" >expect &&
	test_cmp expect err &&
	git checkout -q main 2>err &&
	test_must_be_empty err &&
	git branch -D same
'

test_expect_success 'detached HEAD and HEAD~1' '
	git checkout -q two &&
	git checkout -q HEAD~1 &&
	diff -r ../data-main data &&
	git checkout -q main
'

test_expect_success 'a file checkout of a pointer brings its data' '
	git checkout two -- model.bin.mlv 2>err &&
	test_cmp ../model-two model.bin &&
	diff -r ../data-main data &&
	git checkout HEAD -- model.bin.mlv &&
	test_cmp ../model-main model.bin
'

test_expect_success 'local changes not in the store: nothing overwritten, git done, clear message and hint' '
	echo precious >data/a &&
	test_expect_code 1 git checkout two 2>err &&
	test_grep "^error: .data/a. has local changes that are not in the store" err &&
	test_grep "^error: mlv.s post-checkout hook could not update the data (git.s own work is complete)" err &&
	test_grep "^hint: .*mlv add <path>.*mlv checkout --force" err &&
	test "$(git rev-parse --abbrev-ref HEAD)" = two &&
	test_cmp ../model-main model.bin &&
	echo precious >expect &&
	test_cmp expect data/a &&
	mlv add -q data &&
	git checkout -q -f HEAD -- data.mlv &&
	mlv checkout -q &&
	diff -r ../data-two data &&
	git checkout -q main
'

test_expect_success 'a file checkout leaves unsaved data alone with a warning, and succeeds' '
	echo notes >notes.txt && git add notes.txt && git commit -q -m notes &&
	echo unsaved >data/a &&
	echo scribble >notes.txt &&
	git checkout two -- model.bin.mlv 2>err &&
	test_grep "^warning: .data/a. has changes that are not in the store: left as it is" err &&
	test_cmp ../model-two model.bin &&
	git checkout -- notes.txt 2>err &&
	echo unsaved >expect &&
	test_cmp expect data/a &&
	git restore --staged model.bin.mlv 2>err &&
	git checkout -- model.bin.mlv 2>err &&
	test_cmp ../model-main model.bin &&
	test_cmp expect data/a &&
	mlv checkout -q -f &&
	diff -r ../data-main data
'

test_expect_success 'an object missing from the store: the rest is checked out, the missing one named' '
	cp "$(index_db)" ../index.good &&
	oid=$(git show two:model.bin.mlv | sed -n "s/^oid sha256://p") &&
	sqlite3 "$(index_db)" "DELETE FROM objects WHERE oid = x'"'"'$oid'"'"'" &&
	test_expect_code 1 git checkout two 2>err &&
	test_grep "^error: .*model.bin" err &&
	test_grep "^hint: get the missing data into the store" err &&
	diff -r ../data-two data &&
	cp ../index.good "$(index_db)" &&
	mlv checkout -q &&
	test_cmp ../model-two model.bin &&
	git checkout -q main
'

test_expect_success 'a chained hook that fails stops mlv'"'"'s hook' '
	write_script .git/hooks/post-checkout.pre-mlv <<-\EOF &&
	echo "chained $3" >>../chained.log
	exit 3
	EOF
	test_expect_code 1 git checkout -q two &&
	echo "chained 1" >expect &&
	test_cmp expect ../chained.log &&
	diff -r ../data-main data &&
	head=$(git rev-parse HEAD) &&
	test_expect_code 3 .git/hooks/post-checkout $head $head 1 &&
	diff -r ../data-main data &&
	rm .git/hooks/post-checkout.pre-mlv &&
	mlv checkout -q &&
	git checkout -q main &&
	diff -r ../data-main data
'

test_expect_success 'a chained hook that succeeds runs first, with git'"'"'s arguments' '
	write_script .git/hooks/post-checkout.pre-mlv <<-\EOF &&
	echo "chained $# $3" >../chained.log
	EOF
	git checkout -q two &&
	echo "chained 3 1" >expect &&
	test_cmp expect ../chained.log &&
	diff -r ../data-two data &&
	rm .git/hooks/post-checkout.pre-mlv &&
	git checkout -q main
'

test_expect_success 'git merge runs post-merge' '
	git checkout -q -b feature &&
	echo "m3" >model.bin &&
	mlv add -q model.bin &&
	git commit -q -am m3 &&
	cp model.bin ../model-three &&
	git checkout -q main &&
	test_cmp ../model-main model.bin &&
	git merge -q --no-edit feature 2>err &&
	test_cmp ../model-three model.bin &&
	git reset -q --hard HEAD~1 &&
	mlv checkout -q
'

test_expect_success 'git merge of two branches that changed different files: the registered driver merges, post-merge checks out' '
	test_create_repo ../merging &&
	(
		cd ../merging &&
		mlv init -q --hooks &&
		mkdir data &&
		echo a >data/a && echo b >data/b &&
		mlv add -q data &&
		git add -A && git commit -q -m base &&
		git checkout -q -b x &&
		echo a2 >data/a &&
		mlv add -q data && git commit -q -am x &&
		git checkout -q main &&
		echo b2 >data/b &&
		mlv add -q data && git commit -q -am main &&
		git merge -q --no-edit x 2>err &&
		echo a2 >expect && test_cmp expect data/a &&
		echo b2 >expect && test_cmp expect data/b &&
		mlv status --exit-code &&
		git diff --quiet HEAD
	)
'

test_expect_success 'git pull in a clone runs post-merge' '
	git clone -q . ../clone &&
	(
		cd ../clone &&
		mlv hooks install >/dev/null &&
		# No remotes yet: the clone gets a copy of the store.
		rm -rf .git/mlv &&
		cp -R ../repo/.git/mlv .git/mlv &&
		mlv checkout -q &&
		test_cmp ../model-main model.bin
	) &&
	git merge -q --no-edit feature &&
	(
		cd ../clone &&
		git pull -q 2>err &&
		test_cmp ../model-three model.bin &&
		mlv status --exit-code
	) &&
	git reset -q --hard HEAD~1 && mlv checkout -q
'

test_expect_success 'GIT_DIR and GIT_WORK_TREE set, run from a subdirectory' '
	top=$(pwd) &&
	(
		cd data/sub &&
		GIT_DIR=$top/.git GIT_WORK_TREE=$top git checkout -q two
	) &&
	diff -r ../data-two data &&
	test_path_is_missing data/sub/data &&
	git checkout -q main &&
	diff -r ../data-main data
'

test_expect_success 'the hook run by hand with a relative GIT_DIR from a subdirectory' '
	git checkout -q two &&
	git -c core.hooksPath=/dev/null checkout -q main -- data.mlv model.bin.mlv &&
	diff -r ../data-two data &&
	(
		cd data/sub &&
		GIT_DIR=../../.git ../../.git/hooks/post-checkout x y 1
	) &&
	diff -r ../data-main data &&
	test_path_is_missing data/sub/data &&
	git checkout -q -f main &&
	mlv checkout -q
'

test_expect_success 'git checkout from a subdirectory' '
	(
		cd data/sub &&
		git checkout -q two
	) &&
	diff -r ../data-two data &&
	(cd data && git checkout -q main) &&
	diff -r ../data-main data
'

test_expect_success 'linked worktrees: git worktree add checks the data out, checkouts there switch it' '
	git worktree add -q ../wt two &&
	diff -r ../data-two ../wt/data &&
	test_cmp ../model-two ../wt/model.bin &&
	(
		cd ../wt &&
		git checkout -q -b wt-main main &&
		test_cmp ../model-main model.bin
	) &&
	diff -r ../data-main data
'

test_expect_success 'core.hooksPath: the hooks installed there fire' '
	mlv hooks uninstall >/dev/null &&
	git config core.hooksPath .githooks &&
	mlv hooks install >/dev/null &&
	test_path_is_file .githooks/post-checkout &&
	git checkout -q two &&
	diff -r ../data-two data &&
	git checkout -q main &&
	diff -r ../data-main data &&
	mlv hooks uninstall >/dev/null &&
	git config --unset core.hooksPath &&
	mlv hooks install >/dev/null
'

test_expect_success 'a repository without mlv sharing the hooks: nothing happens' '
	test_create_repo ../plain &&
	(
		cd ../plain &&
		git config core.hooksPath "$TRASH_DIRECTORY/repo/.git/hooks" &&
		test_commit one &&
		git checkout -q -b x 2>err &&
		test_must_be_empty err &&
		test_path_is_missing .mlv
	)
'

test_expect_success 'the binary that installed the hooks is gone: mlv on PATH is used' '
	cp "$MLV_BINARY" ../mlv-copy &&
	(
		cd ../clone &&
		mlv hooks uninstall >/dev/null &&
		../mlv-copy hooks install >/dev/null &&
		test_grep "^mlv=.*/mlv-copy.$" .git/hooks/post-checkout &&
		rm ../mlv-copy &&
		git checkout -q -b other HEAD~1 &&
		test_cmp ../model-main model.bin
	)
'

test_expect_success 'no mlv at all: a clear message, git done' '
	(
		cd ../clone &&
		git checkout -q main &&
		mlv checkout -q &&
		gitdir=$(dirname "$(command -v git)") &&
		test_expect_code 1 env PATH="$gitdir:/usr/bin:/bin" git checkout -q other 2>err &&
		test_grep "^error: mlv.s post-checkout hook cannot find mlv" err &&
		test_grep "^hint: git.s checkout is complete; install mlv, then run .mlv checkout." err &&
		test "$(git rev-parse --abbrev-ref HEAD)" = other
	)
'

test_done
