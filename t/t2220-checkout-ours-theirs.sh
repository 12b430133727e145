#!/bin/sh

test_description='mlv checkout --ours/--theirs resolves a conflicted dataset merge'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: the same file changed two ways, other files one way each' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	git config merge.mlv.driver "\"$MLV_BINARY\" merge-driver %O %A %B %P" &&
	echo "*.mlv merge=mlv" >.gitattributes &&
	mkdir data && echo same >data/same && echo base >data/both &&
	echo l >data/left && echo r >data/right &&
	mlv add -q data &&
	git add -A && test_tick && git commit -q -m base && git tag base &&
	git checkout -q -b theirs &&
	echo "theirs" >data/both && echo "r2" >data/right &&
	mlv add -q data && git add -A && test_tick && git commit -q -m theirs &&
	git checkout -q - && mlv checkout -q &&
	echo "ours" >data/both && echo "l2" >data/left &&
	mlv add -q data && git add -A && test_tick && git commit -q -m ours &&
	test_must_fail git merge -q --no-edit theirs >out 2>err &&
	grep "data/both" err out &&
	mlv status >st 2>/dev/null && grep conflicted st
'

test_expect_success 'checkout --theirs keeps both sides changes, theirs where both changed' '
	mlv checkout --theirs data 2>err &&
	grep "Resolved .data.mlv. taking their side" err &&
	echo theirs >expect && test_cmp expect data/both &&
	echo l2 >expect && test_cmp expect data/left &&
	echo r2 >expect && test_cmp expect data/right &&
	echo same >expect && test_cmp expect data/same &&
	mlv status >st && ! grep conflicted st
'

test_expect_success 'checkout --ours after all (the index still holds the stages)' '
	mlv checkout --ours data &&
	echo ours >expect && test_cmp expect data/both &&
	echo r2 >expect && test_cmp expect data/right &&
	git add data.mlv && test_tick && git commit -q --no-edit &&
	mlv fsck >/dev/null
'

test_expect_success 'misuse: both, no paths, not in conflict' '
	test_expect_code 129 mlv checkout --ours --theirs data &&
	test_expect_code 129 mlv checkout --ours &&
	test_expect_code 128 mlv checkout --ours data 2>err &&
	grep "not in conflict" err
'
test_done
