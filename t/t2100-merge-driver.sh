#!/bin/sh

test_description='mlv merge-driver: three-way merges of tracked directories, run by git merge'

. "$(dirname "$0")"/test-lib.sh

# The pointer's value of key $2 in file $1.
key () {
	sed -n "s/^$2 //p" "$1"
}

# Start branch $1 from the tag base, with the data checked out.
branch_from_base () {
	git checkout -q -b "$1" base &&
	mlv checkout --force >/dev/null
}

# Commit the data as it is now on the current branch.
commit_data () {
	mlv add data >/dev/null &&
	git add -A &&
	test_tick &&
	git commit -q -m "$1"
}

test_expect_success 'setup: a dataset, a model, the driver registered by hand' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	git config merge.mlv.driver "\"$MLV_BINARY\" merge-driver %O %A %B %P" &&
	test_write_lines "*.ptr" expect err out stages hash files driver O A B B2 A.saved \
		>.git/info/exclude &&
	echo "*.mlv merge=mlv" >.gitattributes &&
	mkdir -p data/cat data/dog data/a/b/c data/keep &&
	for i in 001 002 003; do
		echo "cat $i" >data/cat/$i.jpg &&
		echo "dog $i" >data/dog/$i.jpg || return 1
	done &&
	echo x1 >data/a/b/c/x1 && echo x2 >data/a/b/c/x2 && echo y >data/a/y &&
	echo model v1 >model.bin &&
	mlv add data model.bin &&
	git add -A && test_tick && git commit -q -m base &&
	git tag base
'

test_expect_success 'different files changed on two branches merge cleanly' '
	branch_from_base left &&
	echo "cat 001 left" >data/cat/001.jpg &&
	commit_data left &&
	branch_from_base right &&
	echo "dog 001 right" >data/dog/001.jpg &&
	echo "dog 004 right" >data/dog/004.jpg &&
	rm data/a/y &&
	commit_data right &&
	git checkout -q left && mlv checkout --force >/dev/null &&
	git merge -q --no-edit right 2>err &&
	test_grep ! CONFLICT err &&
	git diff --quiet HEAD -- data.mlv &&
	for b in base HEAD^1 HEAD^2; do
		git show $b:data.mlv >side.ptr &&
		! test "$(key side.ptr oid)" = "$(key data.mlv oid)" || return 1
	done
'

test_expect_success 'the merged pointer has both changes, its size and count' '
	mlv checkout --force &&
	echo "cat 001 left" >expect && test_cmp expect data/cat/001.jpg &&
	echo "dog 001 right" >expect && test_cmp expect data/dog/001.jpg &&
	echo "dog 004 right" >expect && test_cmp expect data/dog/004.jpg &&
	test_path_is_missing data/a/y &&
	echo x1 >expect && test_cmp expect data/a/b/c/x1 &&
	test "$(key data.mlv files)" = "$(find data -type f | wc -l)" &&
	test "$(key data.mlv size)" = "$(cat $(find data -type f) | wc -c)" &&
	test_path_is_dir data/keep &&
	mlv status --exit-code &&
	mlv fsck &&
	mlv hash data >hash &&
	grep "^$(key data.mlv oid | sed s/sha256://)  data$" hash
'

test_expect_success 'nested subdirectories changed on both sides: the merge recurses' '
	branch_from_base nest-left &&
	echo "x1 left" >data/a/b/c/x1 &&
	commit_data nest-left &&
	branch_from_base nest-right &&
	echo "x2 right" >data/a/b/c/x2 &&
	mkdir data/a/b/d && echo new >data/a/b/d/new &&
	commit_data nest-right &&
	git checkout -q nest-left && mlv checkout --force >/dev/null &&
	git merge -q --no-edit nest-right &&
	mlv checkout --force &&
	echo "x1 left" >expect && test_cmp expect data/a/b/c/x1 &&
	echo "x2 right" >expect && test_cmp expect data/a/b/c/x2 &&
	echo new >expect && test_cmp expect data/a/b/d/new &&
	test "$(key data.mlv files)" = "$(find data -type f | wc -l)" &&
	mlv fsck
'

test_expect_success 'the same file changed two ways conflicts, naming the file' '
	branch_from_base both-left &&
	echo "cat 002 left" >data/cat/002.jpg &&
	echo "dog 003 left" >data/dog/003.jpg &&
	commit_data both-left &&
	branch_from_base both-right &&
	echo "cat 002 right" >data/cat/002.jpg &&
	commit_data both-right &&
	git checkout -q both-left && mlv checkout --force >/dev/null &&
	git show HEAD:data.mlv >ours.ptr &&
	git show both-right:data.mlv >theirs.ptr &&
	test_must_fail git merge --no-edit both-right >out 2>err &&
	test_grep "CONFLICT (content): data/cat/002.jpg changed on both sides" err &&
	test_grep ! "dog/003" err &&
	test_grep "^hint: .*mlv checkout --ours -- .data. (or --theirs), then git add -- .data.mlv.$" err &&
	test_grep "CONFLICT.*data.mlv" out &&
	git ls-files -u data.mlv >stages &&
	test_line_count = 3 stages
'

test_expect_success 'the conflicted pointer holds both versions between markers' '
	{
		echo "<<<<<<< ours" &&
		cat ours.ptr &&
		echo "=======" &&
		cat theirs.ptr &&
		echo ">>>>>>> theirs"
	} >expect &&
	test_cmp expect data.mlv
'

test_expect_success 'mlv status says conflicted' '
	test_expect_code 1 mlv status --exit-code >out 2>err &&
	test_grep "conflicted: *data.mlv" out &&
	test_grep "^hint: resolve" err
'

test_expect_success 'resolving with git leaves a clean tree' '
	git checkout --theirs -- data.mlv &&
	git add data.mlv &&
	git commit -q --no-edit &&
	mlv checkout --force &&
	echo "cat 002 right" >expect && test_cmp expect data/cat/002.jpg &&
	mlv status --exit-code
'

test_expect_success 'a file added on both sides with different content conflicts (add/add)' '
	branch_from_base add-left &&
	echo "left" >data/cat/new.jpg &&
	echo "left only" >data/cat/left.jpg &&
	commit_data add-left &&
	branch_from_base add-right &&
	echo "right" >data/cat/new.jpg &&
	commit_data add-right &&
	git checkout -q add-left && mlv checkout --force >/dev/null &&
	test_must_fail git merge --no-edit add-right 2>err &&
	test_grep "CONFLICT (add/add): data/cat/new.jpg added on both sides with different content" err &&
	git merge --abort
'

test_expect_success 'a file added on both sides with the same content merges' '
	branch_from_base same-left &&
	echo "same" >data/cat/same.jpg &&
	echo "left" >data/dog/left.jpg &&
	commit_data same-left &&
	branch_from_base same-right &&
	echo "same" >data/cat/same.jpg &&
	commit_data same-right &&
	git checkout -q same-left && mlv checkout --force >/dev/null &&
	git merge -q --no-edit same-right &&
	mlv checkout --force &&
	test "$(key data.mlv files)" = "$(find data -type f | wc -l)" &&
	mlv fsck
'

test_expect_success 'a file deleted on one side and modified on the other conflicts' '
	branch_from_base md-left &&
	echo "dog 002 left" >data/dog/002.jpg &&
	commit_data md-left &&
	branch_from_base md-right &&
	rm data/dog/002.jpg &&
	commit_data md-right &&
	git checkout -q md-left && mlv checkout --force >/dev/null &&
	test_must_fail git merge --no-edit md-right 2>err &&
	test_grep "CONFLICT (modify/delete): data/dog/002.jpg deleted in theirs and modified in ours" err &&
	git merge --abort &&
	git checkout -q md-right && mlv checkout --force >/dev/null &&
	test_must_fail git merge --no-edit md-left 2>err &&
	test_grep "CONFLICT (modify/delete): data/dog/002.jpg deleted in ours and modified in theirs" err &&
	git merge --abort
'

test_expect_success 'a directory deleted on one side, a file added in it on the other: merges' '
	branch_from_base dd-left &&
	rm -r data/dog &&
	commit_data dd-left &&
	branch_from_base dd-right &&
	echo "dog 009" >data/dog/009.jpg &&
	commit_data dd-right &&
	git checkout -q dd-left && mlv checkout --force >/dev/null &&
	git merge -q --no-edit dd-right &&
	mlv checkout --force &&
	find data/dog -type f >files &&
	echo data/dog/009.jpg >expect &&
	test_cmp expect files &&
	mlv fsck
'

test_expect_success 'a file turned into a directory on one side, modified on the other, conflicts' '
	branch_from_base tc-left &&
	echo "cat 003 left" >data/cat/003.jpg &&
	commit_data tc-left &&
	branch_from_base tc-right &&
	rm data/cat/003.jpg && mkdir data/cat/003.jpg && echo inner >data/cat/003.jpg/inner &&
	commit_data tc-right &&
	git checkout -q tc-left && mlv checkout --force >/dev/null &&
	test_must_fail git merge --no-edit tc-right 2>err &&
	test_grep "CONFLICT (type change): data/cat/003.jpg is a file in ours and a directory in theirs" err &&
	git merge --abort
'

test_expect_success 'a file turned into a directory on one side only merges' '
	branch_from_base tc1-left &&
	echo "cat 001 left" >data/cat/001.jpg &&
	commit_data tc1-left &&
	git checkout -q tc1-left && mlv checkout --force >/dev/null &&
	git merge -q --no-edit tc-right &&
	mlv checkout --force &&
	echo inner >expect && test_cmp expect data/cat/003.jpg/inner &&
	echo "cat 001 left" >expect && test_cmp expect data/cat/001.jpg &&
	test "$(key data.mlv files)" = "$(find data -type f | wc -l)" &&
	mlv fsck
'

test_expect_success 'a single-file artifact changed on both sides conflicts' '
	git checkout -q -b model-left base && mlv checkout --force >/dev/null &&
	echo model left >model.bin && mlv add model.bin >/dev/null &&
	git commit -q -am model-left &&
	git checkout -q -b model-right base && mlv checkout --force >/dev/null &&
	echo model right >model.bin && mlv add model.bin >/dev/null &&
	git commit -q -am model-right &&
	test_must_fail git merge --no-edit model-left 2>err &&
	test_grep "CONFLICT (content): model.bin changed on both sides" err &&
	test_expect_code 1 mlv status --exit-code >out &&
	test_grep "conflicted: *model.bin.mlv" out &&
	git merge --abort
'

test_expect_success 'a single-file artifact changed on one side merges' '
	git checkout -q model-right && mlv checkout --force >/dev/null &&
	git merge -q --no-edit left &&
	mlv checkout --force &&
	echo model right >expect && test_cmp expect model.bin &&
	echo "cat 001 left" >expect && test_cmp expect data/cat/001.jpg
'

test_expect_success 'the driver run by hand: one side unchanged takes the other' '
	git show base:model.bin.mlv >O &&
	cp O A &&
	git show model-left:model.bin.mlv >B &&
	mlv merge-driver O A B model.bin.mlv &&
	test_cmp B A &&
	git show base:data.mlv >O &&
	git show left^1:data.mlv >A &&
	cp A A.saved &&
	cp O B &&
	mlv merge-driver O A B data.mlv &&
	test_cmp A.saved A
'

test_expect_success 'the driver run by hand: no base (added on both sides)' '
	: >O &&
	git show left^1:data.mlv >A &&
	git show right:data.mlv >B &&
	test_expect_code 1 mlv merge-driver O A B data.mlv 2>err &&
	test_grep "CONFLICT (add/add): data/dog/001.jpg added on both sides" err &&
	test_grep "^<<<<<<< ours$" A &&
	rm O &&
	git show left^1:data.mlv >A &&
	test_expect_code 1 mlv merge-driver O A B data.mlv
'

test_expect_success 'kind changed on one side merges, on both sides conflicts' '
	git show base:model.bin.mlv >O &&
	sed "s/^kind data/kind model/" O >A &&
	git show model-left:model.bin.mlv >B &&
	mlv merge-driver O A B model.bin.mlv &&
	test "$(key A kind)" = model &&
	test "$(key A oid)" = "$(key B oid)" &&
	sed "s/^kind data/kind metric/" B >B2 &&
	sed "s/^kind data/kind model/" O >A &&
	test_expect_code 1 mlv merge-driver O A B2 model.bin.mlv 2>err &&
	test_grep "CONFLICT (pointer): .model.bin. is of kind model in ours and metric in theirs" err
'

test_expect_success 'merge with mlv hooks install' '
	git checkout -q -f left && mlv checkout --force >/dev/null &&
	git config --unset merge.mlv.driver &&
	mlv hooks install >/dev/null &&
	git config merge.mlv.driver >driver &&
	test_grep "merge-driver %O %A %B %P" driver &&
	git checkout -q -b hooks-left base && mlv checkout --force >/dev/null &&
	echo "cat 003 hooks" >data/cat/003.jpg && commit_data hooks-left &&
	git checkout -q -b hooks-right base && mlv checkout --force >/dev/null &&
	echo "dog 003 hooks" >data/dog/003.jpg && commit_data hooks-right &&
	git merge -q --no-edit hooks-left &&
	echo "cat 003 hooks" >expect && test_cmp expect data/cat/003.jpg &&
	echo "dog 003 hooks" >expect && test_cmp expect data/dog/003.jpg &&
	mlv status --exit-code &&
	mlv fsck
'

test_done
