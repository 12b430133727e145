#!/bin/sh

test_description='merges of datasets: resolving conflicts with --ours/--theirs, bad pointers, missing data'

. "$(dirname "$0")"/test-lib.sh

key () {
	sed -n "s/^$2 //p" "$1"
}

branch_from_base () {
	git checkout -q -b "$1" base &&
	mlv checkout --force >/dev/null
}

commit_data () {
	mlv add data >/dev/null &&
	git add -A &&
	test_tick &&
	git commit -q -m "$1"
}

test_expect_success 'setup: a dataset changed two ways on two branches' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	git config merge.mlv.driver "\"$MLV_BINARY\" merge-driver %O %A %B %P" &&
	echo "*.mlv merge=mlv" >.gitattributes &&
	test_write_lines "*.ptr" expect err out O A B >.git/info/exclude &&
	mkdir -p data/cat data/dog &&
	for i in 1 2 3; do
		echo "cat $i" >data/cat/$i &&
		echo "dog $i" >data/dog/$i || return 1
	done &&
	mlv add data &&
	git add -A && test_tick && git commit -q -m base &&
	git tag base &&
	branch_from_base left &&
	echo "cat 1 left" >data/cat/1 &&
	echo "dog 1 left" >data/dog/1 &&
	rm data/cat/3 &&
	commit_data left &&
	branch_from_base right &&
	echo "cat 1 right" >data/cat/1 &&
	echo "dog 2 right" >data/dog/2 &&
	echo "dog 4 right" >data/dog/4 &&
	commit_data right
'

test_expect_success 'the merge conflicts on cat/1 only' '
	git checkout -q left && mlv checkout --force >/dev/null &&
	test_must_fail git merge --no-edit right 2>err &&
	test_grep "CONFLICT (content): data/cat/1 changed on both sides" err &&
	test $(grep -c "^CONFLICT (" err) = 1
'

test_expect_success 'checkout --theirs takes theirs there and keeps both sides elsewhere' '
	mlv checkout --theirs data 2>err &&
	test_grep "Resolved .data.mlv." err &&
	mlv checkout --force data &&
	echo "cat 1 right" >expect && test_cmp expect data/cat/1 &&
	echo "dog 1 left" >expect && test_cmp expect data/dog/1 &&
	echo "dog 2 right" >expect && test_cmp expect data/dog/2 &&
	echo "dog 4 right" >expect && test_cmp expect data/dog/4 &&
	test_path_is_missing data/cat/3 &&
	test "$(key data.mlv files)" = "$(find data -type f | wc -l)" &&
	test "$(key data.mlv size)" = "$(cat $(find data -type f) | wc -c)" &&
	mlv fsck
'

test_expect_success 'checkout --ours takes ours there, and can be run again' '
	mlv checkout --ours data.mlv &&
	mlv checkout --force data &&
	echo "cat 1 left" >expect && test_cmp expect data/cat/1 &&
	echo "dog 2 right" >expect && test_cmp expect data/dog/2 &&
	test_path_is_missing data/cat/3 &&
	git add data.mlv &&
	git commit -q --no-edit &&
	mlv status --exit-code &&
	mlv fsck
'

test_expect_success 'checkout --ours on a pointer that is not in conflict fails' '
	test_must_fail mlv checkout --ours data 2>err &&
	test_grep "not in conflict" err
'

test_expect_success 'a malformed pointer on one side: an error naming it, nothing lost' '
	branch_from_base bad &&
	printf "version 1\noid sha256:zz\nsize 1\nkind data\ntype dir\nfiles 1\n" >data.mlv &&
	git commit -q -am "bad pointer" &&
	git show bad:data.mlv >bad.ptr &&
	git checkout -q right && mlv checkout --force >/dev/null &&
	cp data.mlv ours.ptr &&
	test_must_fail git merge --no-edit bad 2>err &&
	test_grep "data.mlv (theirs)" err &&
	test_grep "^error: " err &&
	test_cmp ours.ptr data.mlv &&
	git show :2:data.mlv >stage2 && test_cmp ours.ptr stage2 &&
	git show :3:data.mlv >stage3 && test_cmp bad.ptr stage3 &&
	rm stage2 stage3 &&
	test_must_fail mlv checkout --theirs data 2>err &&
	test_grep "data.mlv (theirs)" err &&
	test_cmp ours.ptr data.mlv &&
	git merge --abort
'

test_expect_success 'the driver by hand: hostile versions are refused, the result untouched' '
	git show base:data.mlv >O &&
	git show left:data.mlv >A &&
	cp A ours.ptr &&
	printf "<<<<<<< ours\n" >B &&
	test_expect_code 128 mlv merge-driver O A B data.mlv 2>err &&
	test_grep "merge conflict in data.mlv (theirs)" err &&
	test_cmp ours.ptr A &&
	{ cat ours.ptr && test_seq 600 | sed "s/^/x-/;s/$/ 0123456789/"; } >B &&
	test_expect_code 128 mlv merge-driver O A B data.mlv 2>err &&
	test_grep "theirs" err &&
	test_cmp ours.ptr A &&
	printf "version 1\r\n" >B &&
	test_expect_code 128 mlv merge-driver O A B data.mlv 2>err &&
	test_grep "data.mlv (theirs)" err &&
	test_cmp ours.ptr A &&
	test_expect_code 128 mlv merge-driver O A nonexistent data.mlv 2>err &&
	test_grep "nonexistent" err &&
	test_cmp ours.ptr A &&
	test_expect_code 129 mlv merge-driver O A 2>err
'

test_expect_success 'a conflict-marked base (criss-cross) counts as no base' '
	printf "<<<<<<< ours\n=======\n>>>>>>> theirs\n" >O &&
	git show left:data.mlv >A &&
	git show right:data.mlv >B &&
	test_expect_code 1 mlv merge-driver O A B data.mlv 2>err &&
	test_grep "CONFLICT (add/add)" err
'

test_expect_success 'setup: the other branch made in a clone whose data this store lacks' '
	git checkout -q -f left && mlv checkout --force >/dev/null &&
	git clone -q . ../clone &&
	(
		cd ../clone &&
		git checkout -q -b remote-change base &&
		rm -rf data && mkdir -p data/cat data/dog data/new &&
		for i in 1 2 3; do
			echo "cat $i" >data/cat/$i &&
			echo "dog $i" >data/dog/$i || return 1
		done &&
		echo "only in the clone" >data/new/x &&
		mlv add data >/dev/null &&
		git commit -q -am "remote change"
	) &&
	git fetch -q ../clone remote-change:remote-change
'

test_expect_success 'objects missing from the store: a clear error and a hint' '
	cp data.mlv ours.ptr &&
	test_must_fail git merge --no-edit remote-change 2>err &&
	test_grep "error: data.mlv: tree [0-9a-f]* (.data. in theirs) is not in the store" err &&
	test_grep "^hint: .*fetch" err &&
	test_cmp ours.ptr data.mlv &&
	test_must_fail mlv checkout --theirs data 2>err &&
	test_grep "not in the store" err &&
	test_cmp ours.ptr data.mlv &&
	git merge --abort
'

test_expect_success 'once the data is in the store, the same merge succeeds' '
	mv data ../data.left &&
	cp -r ../clone/data data &&
	mlv add data >/dev/null &&
	rm -rf data && mv ../data.left data &&
	git checkout -q -- data.mlv &&
	git merge -q --no-edit remote-change &&
	mlv checkout --force &&
	echo "only in the clone" >expect && test_cmp expect data/new/x &&
	echo "cat 1 left" >expect && test_cmp expect data/cat/1 &&
	test "$(key data.mlv files)" = "$(find data -type f | wc -l)" &&
	mlv fsck
'

test_done
