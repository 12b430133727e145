#!/bin/sh

test_description='mlv status: tracked paths against pointers, store and git'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p data/a/b &&
	echo one >data/a/one &&
	echo two >data/a/b/two &&
	echo three >data/three &&
	generate_file model.bin 2M model &&
	mlv add data model.bin &&
	git add -A && test_tick && git commit -q -m v1
'

test_expect_success 'a clean work tree' '
	mlv status >out &&
	grep "nothing to report: 2 tracked paths" out &&
	mlv status --exit-code
'

test_expect_success 'files added, deleted and modified inside a tracked directory' '
	echo new >data/a/new &&
	rm data/three &&
	echo changed >data/a/b/two &&
	test_expect_code 1 mlv status --exit-code >out &&
	cat >expect <<-\EOF &&
	modified:     data
	    modified:   data/a/b/two
	    added:      data/a/new
	    deleted:    data/three
	EOF
	test_cmp expect out
'

test_expect_success 'status --json' '
	mlv status --json >json &&
	grep "\"state\":\"modified\"" json &&
	grep "{\"path\":\"data/a/new\",\"change\":\"added\"}" json &&
	grep "\"clean\":false" json
'

test_expect_success 'paths are shown relative to the current directory' '
	(cd data/a && mlv status) >out &&
	grep "added: *new$" out &&
	grep "deleted: *../three$" out
'

test_expect_success 'a whole subdirectory added and removed' '
	mlv checkout --force &&
	mkdir data/c && echo x >data/c/x && echo y >data/c/y &&
	mv data/a/b data/b-moved-out &&
	mlv status >out &&
	grep "added: *data/c/x" out &&
	grep "added: *data/c/y" out &&
	grep "deleted: *data/a/b/two" out &&
	rm -rf data/c && mv data/b-moved-out data/a/b &&
	mlv status --exit-code
'

test_expect_success 'a deleted tracked file' '
	mv model.bin ../model.bin &&
	test_expect_code 1 mlv status --exit-code >out &&
	grep "^deleted: *model.bin" out &&
	mv ../model.bin model.bin
'

test_expect_success 'a file where a directory was tracked' '
	mv data ../data-saved &&
	echo oops >data &&
	mlv status >out &&
	grep "^typechange: *data" out &&
	rm data && mv ../data-saved data
'

test_expect_success 'an uncommitted pointer' '
	echo more >>data/three &&
	mlv add data &&
	mlv status >out &&
	! grep "^modified" out &&
	grep "^uncommitted: *data.mlv" out &&
	git commit -q -am v2 &&
	mlv status --exit-code
'

test_expect_success 'a pointer whose object is not in the store' '
	git clone -q . ../clone &&
	cp -R data model.bin ../clone/ &&
	(cd ../clone && mlv init -q && mlv status) >out &&
	grep "^not in store: *data" out &&
	grep "^not in store: *model.bin" out
'

test_expect_success 'status of one path' '
	echo x >>data/three &&
	mlv status model.bin >out &&
	grep "nothing to report: 1 tracked path" out &&
	mlv status data.mlv >out &&
	grep "^modified: *data" out
'

test_expect_success 'status of an untracked path fails' '
	test_expect_code 128 mlv status nosuch 2>err &&
	grep "nosuch" err
'

test_expect_success 'status after a content change is a stat walk the second time' '
	mlv status >/dev/null &&
	for db in $(find .mlv .git -name "*.db")
	do
		sqlite3 "$db" "SELECT count(*) FROM statcache WHERE path = '"'"'data/three'"'"'" \
			2>/dev/null
	done >n &&
	test "$(cat n)" = 1
'

test_done
