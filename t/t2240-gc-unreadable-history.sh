#!/bin/sh

test_description='gc removes nothing when history cannot be read, and a long grace keeps all'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: an object only an old commit names' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir sub && dd if=/dev/urandom bs=1k count=64 2>/dev/null >sub/big.bin &&
	mlv add -q sub/big.bin &&
	git add -A && test_tick && git commit -q -m big &&
	git rm -q sub/big.bin.mlv && test_tick && git commit -q -m gone &&
	git config mlv.gc.grace now &&
	mlv gc --dry-run --json >out.json &&
	jq -e ".objects_removed == 0" out.json
'

test_expect_success 'a damaged tree in history: gc stops, names it, removes nothing' '
	tree=$(git rev-parse HEAD~1:sub) &&
	obj=.git/objects/$(echo $tree | cut -c1-2)/$(echo $tree | cut -c3-) &&
	test_path_is_file $obj &&
	ls .git/mlv/packs >packs.before &&
	cp $obj ../tree.good &&
	chmod u+w $obj && echo garbage >$obj &&
	test_expect_code 128 mlv gc 2>err &&
	grep "cannot read tree $tree" err &&
	grep "removes nothing" err &&
	ls .git/mlv/packs >packs.after &&
	test_cmp packs.before packs.after &&
	cp ../tree.good $obj
'

test_expect_success 'a grace longer than the clock can count keeps everything young' '
	git config mlv.gc.grace 999999999.years &&
	echo young >young.bin && mlv add -q young.bin && mlv rm -q young.bin &&
	rm -f young.bin &&
	mlv gc --dry-run --json >out.json &&
	jq -e ".objects_removed == 0" out.json &&
	git config mlv.gc.grace now &&
	mlv gc --dry-run --json >out.json &&
	jq -e ".objects_removed > 0" out.json
'
test_expect_success 'a linked worktree moved away: its HEAD and index still keep their data' '
	git worktree add -q --detach ../wt &&
	(
		cd ../wt &&
		dd if=/dev/urandom bs=1k count=32 2>/dev/null >c &&
		mlv add -q c && git add -A && test_tick && git commit -q -m "only here" &&
		dd if=/dev/urandom bs=1k count=32 2>/dev/null >s &&
		mlv add -q s && git add s.mlv &&
		mlv hash c s | cut -d" " -f1 >../wt-ids &&
		rm -f c s
	) &&
	git reflog expire --expire=now --all &&
	mv ../wt ../wt-moved &&
	mlv gc 2>err &&
	grep "worktree .wt. cannot be opened" err &&
	while read id
	do
		mlv cat $id >/dev/null || return 1
	done <../wt-ids &&
	git worktree repair ../wt-moved
'

test_expect_success 'per-worktree refs of a linked worktree keep their data' '
	git worktree add -q --detach ../wt2 &&
	(
		cd ../wt2 &&
		dd if=/dev/urandom bs=1k count=32 2>/dev/null >k &&
		mlv add -q k && git add -A && test_tick && git commit -q -m keep &&
		mlv hash k | cut -d" " -f1 >../k-id &&
		git update-ref refs/worktree/keep HEAD &&
		git checkout -q --detach HEAD~1 &&
		rm -f k k.mlv
	) &&
	git reflog expire --expire=now --all &&
	(cd ../wt2 && git reflog expire --expire=now --all) &&
	mlv gc &&
	mlv cat $(cat ../k-id) >/dev/null
'

test_done
