#!/bin/sh

test_description='pre-commit hook: no commit of a pointer whose data is not in the store'

. "$(dirname "$0")"/test-lib.sh

index_db () {
	echo "$(git rev-parse --git-common-dir)/mlv/index.db"
}

# forget_object HEX: drop the object's row from the index, as if it were lost.
forget_object () {
	sqlite3 "$(index_db)" "DELETE FROM objects WHERE oid = x'$1'"
}

oid_of () {
	sed -n "s/^oid sha256://p" "$1"
}

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q --hooks &&
	mkdir -p data/sub &&
	echo a >data/a && echo d >data/sub/d &&
	echo m1 >model.bin &&
	mlv add -q data model.bin &&
	git add -A && test_tick && git commit -q -m v1 &&
	cp "$(index_db)" ../index.good
'

test_expect_success 'a pointer whose data is stored commits' '
	echo m2 >model.bin &&
	mlv add -q model.bin &&
	git add model.bin.mlv &&
	git commit -q -m m2 &&
	cp "$(index_db)" ../index.good
'

test_expect_success 'data removed from the store, still in the work tree: refused, mlv add named' '
	echo m3 >model.bin &&
	mlv add -q model.bin &&
	git add model.bin.mlv &&
	forget_object "$(oid_of model.bin.mlv)" &&
	test_must_fail git commit -q -m m3 2>err &&
	test_grep "^error: .model.bin.mlv. names sha256:$(oid_of model.bin.mlv) for .model.bin., which is not in the store" err &&
	test_grep "^hint: the data is in the work tree: store it with mlv add -- .model.bin., then commit again" err &&
	test_grep "^error: commit refused by mlv.s pre-commit hook: 1 staged pointer" err &&
	test_grep "^hint: .*git commit --no-verify" err &&
	test "$(git log -1 --format=%s)" = m2 &&
	mlv add -q model.bin &&
	git commit -q -m m3 &&
	test "$(git log -1 --format=%s)" = m3
'

test_expect_success 'data missing from the store and the work tree: refused, said to be missing' '
	echo m4 >model.bin &&
	mlv add -q model.bin &&
	git add model.bin.mlv &&
	forget_object "$(oid_of model.bin.mlv)" &&
	rm model.bin &&
	test_must_fail git commit -q -m m4 2>err &&
	test_grep "^error: .model.bin.mlv. names sha256:.*not in the store" err &&
	test_grep "^hint: the data is missing from this store: .*git restore --staged -- .model.bin.mlv." err &&
	echo other >model.bin &&
	test_must_fail git commit -q -m m4 2>err &&
	test_grep "^hint: the data is missing from this store, and .model.bin. holds other content: mlv add -- .model.bin. && git add -- .model.bin.mlv." err &&
	git restore --staged model.bin.mlv &&
	cp ../index.good "$(index_db)" &&
	rm model.bin &&
	git checkout -q -- model.bin.mlv &&
	echo m3 >expect &&
	test_cmp expect model.bin
'

test_expect_success 'git commit -a and git commit <path> are checked (GIT_INDEX_FILE)' '
	echo m5 >model.bin &&
	mlv add -q model.bin &&
	forget_object "$(oid_of model.bin.mlv)" &&
	test_must_fail git commit -q -a -m m5 2>err &&
	test_grep "model.bin.mlv" err &&
	test_must_fail git commit -q -m m5 model.bin.mlv 2>err &&
	test_grep "model.bin.mlv" err &&
	test "$(git log -1 --format=%s)" = m3 &&
	mlv add -q model.bin &&
	git commit -q -a -m m5
'

test_expect_success 'a file of a tracked directory missing from the store is named' '
	echo e >data/sub/e &&
	mlv add -q data &&
	git add data.mlv &&
	forget_object "$(sha256sum data/sub/e | cut -c1-64)" &&
	test_must_fail git commit -q -m dir 2>err &&
	test_grep "^error: .data.mlv.: 1 file of .data. is not in the store, the first .data/sub/e. (sha256:" err &&
	test_grep "^hint: the data is in the work tree: store it with mlv add -- .data." err &&
	mlv add -q data &&
	git commit -q -m dir
'

test_expect_success 'a pointer unchanged since HEAD is not checked' '
	cp "$(index_db)" ../index.good &&
	forget_object "$(oid_of model.bin.mlv)" &&
	echo readme >README &&
	git add README &&
	git commit -q -m readme &&
	cp ../index.good "$(index_db)"
'

test_expect_success 'an invalid pointer is refused' '
	printf "version 1\nnonsense\n" >bad.mlv &&
	git add bad.mlv &&
	test_must_fail git commit -q -m bad 2>err &&
	test_grep "^error: the staged .bad.mlv. is not a valid pointer" err &&
	test_grep "^hint: fix or unstage it: git restore --staged -- .bad.mlv." err &&
	git rm -q --cached bad.mlv &&
	rm bad.mlv
'

test_expect_success 'a pointer with conflict markers is refused' '
	cp model.bin.mlv ../model.ptr &&
	{ echo "<<<<<<< ours" && cat ../model.ptr && echo "=======" && echo ">>>>>>> theirs"; } >model.bin.mlv &&
	git add model.bin.mlv &&
	test_must_fail git commit -q -m conflict 2>err &&
	test_grep "merge conflict" err &&
	cp ../model.ptr model.bin.mlv &&
	git add model.bin.mlv
'

test_expect_success 'a symlink named *.mlv is refused' '
	ln -s model.bin.mlv link.mlv &&
	git add link.mlv &&
	test_must_fail git commit -q -m link 2>err &&
	test_grep "^error: .link.mlv. is staged as a symbolic link, not as a pointer file" err &&
	git rm -q --cached link.mlv &&
	rm link.mlv
'

test_expect_success 'a hostile pointer name is refused' '
	mkdir -p evil &&
	cp model.bin.mlv "evil/.git.mlv" &&
	git add -f "evil/.git.mlv" &&
	test_must_fail git commit -q -m evil 2>err &&
	test_grep "^error: .*evil/.git" err &&
	git rm -q --cached "evil/.git.mlv" &&
	rm -r evil
'

test_expect_success 'the very first commit (no HEAD) is checked' '
	test_create_repo ../first &&
	(
		cd ../first &&
		mlv init -q --hooks &&
		echo x >x &&
		mlv add -q x &&
		git add -A &&
		forget_object "$(oid_of x.mlv)" &&
		test_must_fail git commit -q -m first 2>err &&
		test_grep "x.mlv" err &&
		mlv add -q x &&
		git commit -q -m first
	)
'

test_expect_success 'from a subdirectory, with GIT_DIR set, and in a linked worktree' '
	echo m6 >model.bin &&
	mlv add -q model.bin &&
	git add model.bin.mlv &&
	forget_object "$(oid_of model.bin.mlv)" &&
	(
		cd data/sub &&
		test_must_fail git commit -q -m m6 2>err &&
		test_grep "model.bin.mlv" err &&
		test_must_fail env GIT_DIR=../../.git GIT_WORK_TREE=../.. git commit -q -m m6 2>err &&
		test_grep "model.bin.mlv" err &&
		GIT_DIR=../../.git test_must_fail ../../.git/hooks/pre-commit 2>err &&
		test_grep "model.bin.mlv" err
	) &&
	mlv add -q model.bin &&
	git commit -q -m m6 &&
	git worktree add -q ../wt &&
	(
		cd ../wt &&
		echo w >w &&
		mlv add -q w &&
		git add w.mlv &&
		forget_object "$(oid_of w.mlv)" &&
		test_must_fail git commit -q -m w 2>err &&
		test_grep "^error: .w.mlv. names" err &&
		mlv add -q w &&
		git commit -q -m w
	)
'

test_expect_success 'git commit --no-verify skips the check' '
	echo m7 >model.bin &&
	mlv add -q model.bin &&
	forget_object "$(oid_of model.bin.mlv)" &&
	git commit -q --no-verify -a -m m7 &&
	test "$(git log -1 --format=%s)" = m7
'

test_done
