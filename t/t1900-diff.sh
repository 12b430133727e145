#!/bin/sh

test_description='mlv diff: artifacts and the files inside them, between revisions and the work tree'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: two versions of a dataset and a model' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	printf "%s\n" actual expect err json out >>.git/info/exclude &&
	mkdir -p data/sub &&
	for i in 1 2 3 4; do echo "v1 $i" >data/f$i || return 1; done &&
	echo deep >data/sub/deep &&
	echo model1 >model.bin &&
	mlv add data model.bin >/dev/null &&
	git add -A && test_tick && git commit -q -m v1 && git tag v1 &&
	echo v2 >data/f1 &&
	rm data/f2 &&
	mkdir data/moved && mv data/f3 data/moved/f3 &&
	echo new >data/sub/new &&
	echo model-2 >model.bin &&
	mlv add data model.bin >/dev/null &&
	git add -A && test_tick && git commit -q -m v2 && git tag v2
'

test_expect_success 'two revisions: artifacts and the files inside, with a rename' '
	mlv diff v1 v2 >actual &&
	cat >expect <<-\EOF &&
	modified:   data (25 B, 5 files -> 22 B, 5 files)
	    modified:   data/f1
	    deleted:    data/f2
	    renamed:    data/f3 -> data/moved/f3
	    added:      data/sub/new
	modified:   model.bin (7 B -> 8 B)
	EOF
	test_cmp expect actual
'

test_expect_success '--name-status' '
	mlv diff --name-status v1 v2 >actual &&
	printf "M\tdata/f1\nD\tdata/f2\nR\tdata/f3\tdata/moved/f3\nA\tdata/sub/new\nM\tmodel.bin\n" >expect &&
	test_cmp expect actual
'

test_expect_success '--stat' '
	mlv diff --stat v1 v2 >actual &&
	cat >expect <<-\EOF &&
	 data | 1 added, 1 deleted, 1 modified, 1 renamed | 25 B -> 22 B (-3 B)
	 model.bin | 7 B -> 8 B (+1 B)
	 2 artifacts changed
	EOF
	test_cmp expect actual
'

test_expect_success '--json is one object' '
	mlv diff --json v1 v2 >json &&
	test_line_count = 1 json &&
	grep "^{\"old\":{\"rev\":\"v1\",\"commit\":\"$(git rev-parse v1)\"}" json &&
	grep "\"status\":\"renamed\",\"path\":\"data/moved/f3\",\"old_path\":\"data/f3\"" json &&
	grep "\"stat\":{\"added\":1,\"deleted\":1,\"modified\":1,\"renamed\":1,\"missing\":0}" json &&
	grep "\"differences\":true}$" json &&
	mlv diff --json v2 v2 >json &&
	grep "\"artifacts\":\[\],\"differences\":false}$" json
'

test_expect_success '--exit-code' '
	test_expect_code 1 mlv diff --exit-code v1 v2 >/dev/null &&
	mlv diff --exit-code v2 v2 >out &&
	test_must_be_empty out &&
	mlv diff --exit-code >out &&
	test_must_be_empty out
'

test_expect_success 'output formats exclude each other' '
	test_expect_code 129 mlv diff --stat --json v1 v2
'

test_expect_success 'an unknown revision is fatal' '
	test_expect_code 128 mlv diff nosuch -- 2>err &&
	grep "unknown revision .nosuch." err &&
	test_expect_code 128 mlv diff v1 nosuch -- 2>err &&
	grep "unknown revision .nosuch." err &&
	test_expect_code 128 mlv diff nosuch 2>err &&
	grep "ambiguous argument .nosuch.: unknown revision or path" err
'

test_expect_success 'an unknown path is fatal' '
	test_expect_code 128 mlv diff v1 v2 -- nothere 2>err &&
	grep "nothere" err
'

test_expect_success 'paths limit the diff: data path, pointer, a path inside' '
	mlv diff --name-status v1 v2 -- model.bin >actual &&
	printf "M\tmodel.bin\n" >expect &&
	test_cmp expect actual &&
	mlv diff --name-status v1 v2 -- data.mlv >actual &&
	printf "M\tdata/f1\nD\tdata/f2\nR\tdata/f3\tdata/moved/f3\nA\tdata/sub/new\n" >expect &&
	test_cmp expect actual &&
	mlv diff --name-status v1 v2 -- data/sub >actual &&
	printf "A\tdata/sub/new\n" >expect &&
	test_cmp expect actual &&
	mlv diff --name-status v1 v2 -- data/sub model.bin >actual &&
	printf "A\tdata/sub/new\nM\tmodel.bin\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'one revision: against the work tree' '
	mlv diff --name-status v2 >actual &&
	test_must_be_empty actual &&
	mlv diff --name-status v1 >actual &&
	printf "M\tdata/f1\nD\tdata/f2\nR\tdata/f3\tdata/moved/f3\nA\tdata/sub/new\nM\tmodel.bin\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'HEAD against unsaved data in the work tree' '
	test_when_finished "mlv checkout -f >/dev/null" &&
	echo changed >data/f4 &&
	rm data/sub/deep &&
	echo brand-new >data/sub/fresh &&
	mlv diff >actual &&
	cat >expect <<-\EOF &&
	modified:   data (22 B, 5 files -> 30 B, 5 files) [unsaved]
	    modified:   data/f4
	    deleted:    data/sub/deep
	    added:      data/sub/fresh
	EOF
	test_cmp expect actual &&
	mlv diff --name-status v1 >actual &&
	printf "M\tdata/f1\nD\tdata/f2\nM\tdata/f4\nR\tdata/f3\tdata/moved/f3\nD\tdata/sub/deep\nA\tdata/sub/fresh\nA\tdata/sub/new\nM\tmodel.bin\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'work tree: a change recorded by add but not committed' '
	test_when_finished "git checkout -q -- data.mlv && mlv checkout -f >/dev/null" &&
	echo again >data/f4 &&
	mlv add data >/dev/null &&
	mlv diff --name-status >actual &&
	printf "M\tdata/f4\n" >expect &&
	test_cmp expect actual &&
	rm -r data/moved &&
	mlv diff --name-status >actual &&
	printf "M\tdata/f4\nD\tdata/moved/f3\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'a deleted data path and a new artifact in the work tree' '
	test_when_finished "rm -f extra extra.mlv && mlv checkout -f >/dev/null" &&
	rm model.bin &&
	echo extra >extra &&
	mlv add extra >/dev/null &&
	mlv diff >actual &&
	cat >expect <<-\EOF &&
	added:      extra (6 B)
	deleted:    model.bin (8 B) [unsaved]
	EOF
	test_cmp expect actual
'

test_expect_success 'a tracked directory that became a file' '
	git checkout -q -b typechange &&
	rm -rf data data.mlv &&
	echo "now a file" >data &&
	mlv add data >/dev/null &&
	git add -A && test_tick && git commit -q -m "data is a file" && git tag v3 &&
	mlv diff --name-status v2 v3 >actual &&
	printf "T\tdata\n" >expect &&
	test_cmp expect actual &&
	mlv diff v2 v3 >actual &&
	grep "^typechange: data (directory -> file)" actual &&
	git checkout -q main &&
	mlv checkout -f >/dev/null
'

test_expect_success 'a pointer whose tree is not in the store is reported as missing' '
	git checkout -q -b missing v2 &&
	test_when_finished "git checkout -q -f main && mlv checkout -f >/dev/null" &&
	cat >data.mlv <<-\EOF &&
	version 1
	oid sha256:1111111111111111111111111111111111111111111111111111111111111111
	size 22
	kind data
	type dir
	files 5
	EOF
	cat >model.bin.mlv <<-\EOF &&
	version 1
	oid sha256:2222222222222222222222222222222222222222222222222222222222222222
	size 9
	kind data
	type file
	EOF
	git add data.mlv model.bin.mlv && test_tick && git commit -q -m "not stored" &&
	mlv diff v2 HEAD >actual 2>err &&
	grep "^    missing:    data (tree 1111111111111111111111111111111111111111111111111111111111111111 is not in the store)" actual &&
	grep "^modified:   model.bin (8 B -> 9 B)" actual &&
	mlv diff --json v2 HEAD >json &&
	grep "\"status\":\"missing\",\"path\":\"data\",\"tree\":\"sha256:1111" json
'

test_expect_success 'a malformed pointer in one revision is named and the diff goes on' '
	git checkout -q -b bad v2 &&
	test_when_finished "git checkout -q -f main && mlv checkout -f >/dev/null" &&
	echo "this is not a pointer" >model.bin.mlv &&
	echo v4 >data/f1 &&
	mlv add data >/dev/null &&
	git add data.mlv model.bin.mlv && test_tick && git commit -q -m "bad pointer" &&
	test_expect_code 1 mlv diff --name-status v2 HEAD >actual 2>err &&
	grep "^error: .*model.bin.mlv" err &&
	printf "M\tdata/f1\nM\tmodel.bin\n" >expect &&
	test_cmp expect actual &&
	test_expect_code 1 mlv diff v2 HEAD >actual 2>err &&
	grep "^modified:   model.bin (bad pointer)" actual
'

test_expect_success 'detached HEAD' '
	git checkout -q --detach v1 &&
	test_when_finished "git checkout -q main && mlv checkout -f >/dev/null" &&
	mlv checkout -f >/dev/null &&
	mlv diff --exit-code >out &&
	test_must_be_empty out &&
	mlv diff --name-status v2 >actual &&
	printf "M\tdata/f1\nA\tdata/f2\nR\tdata/moved/f3\tdata/f3\nD\tdata/sub/new\nM\tmodel.bin\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'a repository without commits: HEAD is empty' '
	test_create_repo ../fresh &&
	(
		cd ../fresh &&
		mlv init -q &&
		echo x >file &&
		mlv add file >/dev/null &&
		mlv diff --name-status >actual &&
		printf "A\tfile\n" >expect &&
		test_cmp expect actual
	)
'

test_expect_success 'a bare repository with two revisions' '
	git clone -q --bare . ../bare.git &&
	cp -r "$(git rev-parse --git-common-dir)/mlv" ../bare.git/mlv &&
	(
		cd ../bare.git &&
		mlv diff --name-status v1 v2 >actual &&
		printf "M\tdata/f1\nD\tdata/f2\nR\tdata/f3\tdata/moved/f3\nA\tdata/sub/new\nM\tmodel.bin\n" >expect &&
		test_cmp expect actual
	)
'

test_done
