#!/bin/sh

test_description='mlv status: paths inside tracked directories, paths it cannot place, conflicted pointers'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p data/train/sub data/test untracked &&
	echo a >data/train/a &&
	echo b >data/train/sub/b &&
	echo c >data/train/sub/c &&
	echo t >data/test/t &&
	echo u >untracked/u &&
	mlv add data &&
	git add -A && test_tick && git commit -q -m v1
'

test_expect_success 'a clean file and subtree inside a tracked directory' '
	mlv status --exit-code data/train/sub/b &&
	mlv status --exit-code data/train/sub &&
	mlv status --exit-code data/train
'

test_expect_success 'a modified file inside a tracked directory fails --exit-code' '
	echo changed >data/train/sub/b &&
	test_expect_code 1 mlv status --exit-code data/train/sub/b >out &&
	cat >expect <<-\EOF &&
	modified:     data
	    modified:   data/train/sub/b
	EOF
	test_cmp expect out &&
	test_expect_code 1 mlv status --exit-code data/train/sub >out &&
	test_cmp expect out &&
	test_expect_code 1 mlv status --exit-code data/train >out &&
	test_cmp expect out
'

test_expect_success 'only the named part is compared' '
	mlv status --exit-code data/test &&
	mlv status --exit-code data/train/sub/c &&
	mlv status --exit-code data/train/a
'

test_expect_success 'added and deleted files inside a subtree' '
	echo new >data/train/sub/new &&
	rm data/train/sub/c &&
	test_expect_code 1 mlv status --exit-code data/train/sub >out &&
	test_grep "added: *data/train/sub/new" out &&
	test_grep "deleted: *data/train/sub/c" out &&
	test_expect_code 1 mlv status --exit-code data/train/sub/c >out &&
	test_grep "deleted: *data/train/sub/c" out &&
	test_expect_code 1 mlv status --exit-code data/train/sub/new >out &&
	test_grep "added: *data/train/sub/new" out
'

test_expect_success 'status --json of a part names it' '
	mlv status --json data/train/sub/b >json &&
	test_grep "\"within\":\"data/train/sub/b\"" json &&
	test_grep "\"state\":\"modified\"" json &&
	test_grep "{\"path\":\"data/train/sub/b\",\"change\":\"modified\"}" json &&
	test_grep "\"clean\":false" json
'

test_expect_success 'from a subdirectory' '
	(cd data/train && test_expect_code 1 mlv status --exit-code sub/b) >out &&
	test_grep "modified: *sub/b" out
'

test_expect_success 'a path mlv cannot place is an error, never a clean exit' '
	test_expect_code 128 mlv status --exit-code data/train/nosuch 2>err &&
	test_grep "data/train/nosuch" err &&
	test_expect_code 128 mlv status data/train/sub/nosuch/deeper 2>err &&
	test_grep "nosuch" err &&
	test_expect_code 128 mlv status --exit-code untracked 2>err &&
	test_grep "untracked" err &&
	test_expect_code 128 mlv status --exit-code untracked/u 2>err &&
	test_grep "untracked/u" err
'

test_expect_success 'setup a merge conflict in a pointer' '
	git checkout -q -f &&
	mlv checkout --force &&
	git checkout -q -b other &&
	echo other >data/train/a &&
	mlv add data &&
	git commit -q -am other &&
	git checkout -q - &&
	mlv checkout --force &&
	echo mine >data/train/a &&
	mlv add data &&
	git commit -q -am mine &&
	test_must_fail git merge -q other &&
	test_grep "^<<<<<<< " data.mlv
'

test_expect_success 'a conflicted pointer shows as conflicted, with a hint' '
	test_expect_code 1 mlv status --exit-code >out 2>err &&
	test_grep "^conflicted: *data.mlv" out &&
	test_grep ! "^uncommitted" out &&
	test_grep "^hint: .*resolve the conflict.*mlv checkout" err
'

test_expect_success 'status --json: conflicted, never committed' '
	mlv status --json >json &&
	test_grep "\"state\":\"conflicted\"" json &&
	test_grep "\"committed\":false" json &&
	test_grep "\"clean\":false" json
'

test_done
