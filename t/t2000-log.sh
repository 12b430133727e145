#!/bin/sh

test_description='mlv log: the commits that changed an artifact'

. "$(dirname "$0")"/test-lib.sh

# Commit what mlv wrote, with a fixed date.
commit () {
	test_tick &&
	git add -A &&
	git commit -q -m "$1"
}

test_expect_success 'setup: a file and a directory, changed over several commits' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	commit init &&
	echo one >data.bin &&
	mlv add data.bin &&
	commit "first data" &&
	echo "two two" >data.bin &&
	mlv add data.bin &&
	commit "second data" &&
	echo readme >README &&
	commit "unrelated" &&
	mkdir -p sub/ds &&
	echo 1 >sub/ds/a &&
	echo 2 >sub/ds/b &&
	mlv add sub/ds &&
	commit "dataset" &&
	echo 3 >sub/ds/c &&
	echo 11 >sub/ds/a &&
	rm sub/ds/b &&
	mlv add sub/ds &&
	commit "dataset v2" &&
	echo "three three three" >data.bin &&
	mlv add data.bin &&
	commit "third data"
'

test_expect_success 'log of a file lists the commits that changed it, newest first' '
	mlv log data.bin >out &&
	grep "^commit " out >commits &&
	test_line_count = 3 commits &&
	git log --format="commit %H" -- data.bin.mlv >expect &&
	test_cmp expect commits &&
	grep "^    third data$" out &&
	grep "^Author: A U Thor <author@example.com>$" out &&
	grep "^Date:   2005-04-07 " out &&
	grep "^    modified data.bin  [0-9a-f]\{12\}  18 B (+10 B)$" out &&
	grep "^    modified data.bin  [0-9a-f]\{12\}  8 B (+4 B)$" out &&
	grep "^    added    data.bin  [0-9a-f]\{12\}  4 B$" out &&
	! grep unrelated out
'

test_expect_success 'the id shown is the one the pointer names' '
	id=$(sed -n "s/^oid sha256:\(.\{12\}\).*/\1/p" data.bin.mlv) &&
	mlv log -n 1 data.bin >out &&
	grep "  $id  " out
'

test_expect_success 'the pointer path and a path relative to a subdirectory work' '
	mlv log data.bin.mlv >by-pointer &&
	mlv log data.bin >by-data &&
	test_cmp by-data by-pointer &&
	(cd sub && mlv log ds >../sub-out) &&
	grep "^    modified ds  [0-9a-f]\{12\}  5 B (+1 B)  2 files$" sub-out &&
	grep "^    added    ds  .*  2 files$" sub-out
'

test_expect_success '-n limits the number of commits' '
	mlv log -n 2 data.bin >out &&
	grep -c "^commit " out >n &&
	echo 2 >expect &&
	test_cmp expect n &&
	mlv log -n 0 data.bin >out &&
	test_must_be_empty out
'

test_expect_success '--stat lists the files a commit changed in a directory' '
	mlv log --stat sub/ds >out &&
	grep "^        M sub/ds/a$" out &&
	grep "^        D sub/ds/b$" out &&
	grep "^        A sub/ds/c$" out &&
	grep "^        1 added, 1 deleted, 1 modified, 0 renamed$" out &&
	grep "^        2 added, 0 deleted, 0 modified, 0 renamed$" out
'

test_expect_success '--json is one object with an entry per commit' '
	mlv log --json data.bin >json &&
	test_line_count = 1 json &&
	python3 - <<-\PY
	import json
	o = json.load(open("json"))
	assert o["path"] == "data.bin" and o["rev"] == "HEAD", o
	e = o["entries"]
	assert len(e) == 3, e
	assert [x["subject"] for x in e] == ["third data", "second data", "first data"]
	a = e[0]["artifacts"][0]
	assert a["status"] == "modified" and a["size"] == 18 and a["size_change"] == 10, a
	assert a["old"]["size"] == 8 and a["oid"].startswith("sha256:"), a
	assert e[0]["author"] == {"name": "A U Thor", "email": "author@example.com"}
	assert e[2]["artifacts"][0]["status"] == "added" and "old" not in e[2]["artifacts"][0]
	assert e[0]["date"].startswith("2005-04-07T") and isinstance(e[0]["time"], int)
	PY
'

test_expect_success '--json --stat carries the files' '
	mlv log --json --stat -n 1 sub/ds >json &&
	python3 - <<-\PY
	import json
	a = json.load(open("json"))["entries"][0]["artifacts"][0]
	s = a["stat"]
	assert (s["added"], s["deleted"], s["modified"]) == (1, 1, 1), s
	assert sorted(f["path"] for f in s["files"]) == ["sub/ds/a", "sub/ds/b", "sub/ds/c"], s
	PY
'

test_expect_success 'without a path: every commit that changed a pointer' '
	mlv log >out &&
	grep "^commit " out >commits &&
	test_line_count = 5 commits &&
	git log --format="commit %H" -- "*.mlv" >expect &&
	test_cmp expect commits &&
	! grep unrelated out
'

test_expect_success 'a directory of the tree lists the artifacts below it' '
	mlv log sub >out &&
	grep -c "^commit " out >n &&
	echo 2 >expect &&
	test_cmp expect n &&
	! grep data.bin out
'

test_expect_success 'a revision starts the walk there' '
	mlv log HEAD~1 data.bin >out &&
	grep -c "^commit " out >n &&
	echo 2 >expect &&
	test_cmp expect n &&
	mlv log HEAD~1 -- data.bin >out2 &&
	test_cmp out out2 &&
	! grep "third data" out
'

test_expect_success 'an artifact that is gone from the work tree still has its log' '
	git rm -q data.bin.mlv &&
	commit "drop data" &&
	rm -f data.bin &&
	mlv log -- data.bin >out &&
	grep "^    deleted  data.bin  was 18 B$" out &&
	grep -c "^commit " out >n &&
	echo 4 >expect &&
	test_cmp expect n
'

test_expect_success 'an unknown revision is fatal' '
	test_expect_code 128 mlv log no-such-rev -- data.bin 2>err &&
	grep "^fatal: unknown revision .no-such-rev." err
'

test_expect_success 'a path that never had a pointer is fatal' '
	test_expect_code 128 mlv log -- nothing.bin 2>err &&
	grep "^fatal: .nothing.bin. has no pointer in the history of HEAD" err &&
	test_expect_code 128 mlv log HEAD~4 -- sub/ds 2>err &&
	grep "^fatal: .sub/ds. has no pointer in the history of HEAD~4" err
'

test_expect_success 'a revision that is also a file name is ambiguous' '
	git branch README &&
	test_expect_code 128 mlv log README 2>err &&
	grep "ambiguous argument" err &&
	git branch -D README
'

test_expect_success 'usage errors' '
	test_expect_code 129 mlv log --follow 2>err &&
	test_expect_code 129 mlv log a b c 2>err &&
	test_expect_code 129 mlv log --no-such-option 2>err
'

test_expect_success 'an unborn branch says there are no commits' '
	test_create_repo ../empty &&
	(
		cd ../empty &&
		mlv init -q &&
		test_expect_code 128 mlv log 2>err &&
		grep "no commits yet" err
	)
'

test_done
