#!/bin/sh

test_description='hooks: data of artifacts another branch does not track is removed, safely'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: a branch with one more artifact, hooks installed' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	echo m >model.bin && mlv add -q model.bin &&
	git add -A && test_tick && git commit -q -m base &&
	mlv hooks install >/dev/null &&
	git checkout -q -b more &&
	mkdir extra && echo e >extra/e && echo f >extra/f &&
	echo x >x.bin &&
	mlv add -q extra x.bin &&
	git add -A && test_tick && git commit -q -m more
'

test_expect_success 'git checkout of a branch without them removes their data' '
	git checkout -q - 2>err &&
	test_path_is_missing extra &&
	test_path_is_missing x.bin &&
	grep "removed the data of 2 artifacts" err &&
	echo m >expect && test_cmp expect model.bin &&
	git checkout -q more &&
	echo e >expect && test_cmp expect extra/e &&
	echo x >expect && test_cmp expect x.bin
'

test_expect_success 'local changes and untracked files stay' '
	echo "my edit" >x.bin &&
	echo untracked >extra/new &&
	git checkout -q - 2>err &&
	grep "warning: kept .x.bin." err &&
	echo "my edit" >expect && test_cmp expect x.bin &&
	echo untracked >expect && test_cmp expect extra/new &&
	test_path_is_missing extra/e &&
	rm -rf x.bin extra
'

test_expect_success 'git merge that deletes an artifact removes its data' '
	git checkout -q more &&
	git checkout -q -b drop &&
	git rm -q x.bin.mlv && test_tick && git commit -q -m drop &&
	git checkout -q more 2>/dev/null &&
	echo x >expect && test_cmp expect x.bin &&
	git merge -q drop 2>err &&
	test_path_is_missing x.bin &&
	echo e >expect && test_cmp expect extra/e
'
test_done
