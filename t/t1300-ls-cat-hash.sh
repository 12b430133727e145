#!/bin/sh

test_description='mlv ls, mlv cat and mlv hash'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p data/sub &&
	echo alpha >data/a.txt &&
	echo beta >data/sub/b.txt &&
	ln -s a.txt data/link &&
	generate_file model.bin 5M model &&
	mlv add data &&
	mlv add --kind model model.bin
'

test_expect_success 'ls lists artifacts' '
	mlv ls >out &&
	test_line_count = 2 out &&
	grep "^data   dir .* 3  [0-9a-f]\{12\}  data$" out &&
	grep "^model  file  *5.0 MiB  *1  [0-9a-f]\{12\}  model.bin$" out
'

test_expect_success 'ls of a tracked directory lists its files' '
	mlv ls data >out &&
	test_line_count = 3 out &&
	grep "^file .* data/a.txt$" out &&
	grep "^link .* data/link$" out &&
	grep "^file .* data/sub/b.txt$" out
'

test_expect_success 'ls --json' '
	mlv ls --json >json &&
	grep "\"path\":\"model.bin\",\"kind\":\"model\",\"type\":\"file\",\"size\":5242880" json &&
	mlv ls --json data >json &&
	grep "\"path\":\"data/sub/b.txt\",\"type\":\"file\",\"size\":5" json
'

test_expect_success 'ls --json prints one object' '
	mlv ls --json >json &&
	jq -e ".artifacts | length == 2" json &&
	jq -e ".artifacts[0] | .path == \"data\" and .type == \"dir\" and .files == 3 and
	       (.oid | startswith(\"sha256:\"))" json &&
	mlv ls --json data/sub >json &&
	jq -e ".files == [{\"path\":\"data/sub/b.txt\",\"type\":\"file\",\"size\":5,
	       \"oid\":\"sha256:$(echo beta | sha256sum | cut -d" " -f1)\"}]" json
'

test_expect_success 'ls of a directory inside a tracked directory lists that subtree' '
	mlv ls data/sub >out &&
	test_line_count = 1 out &&
	grep "^file .* data/sub/b.txt$" out &&
	(cd data && mlv ls sub) >out &&
	grep " sub/b.txt$" out
'

test_expect_success 'ls of a file inside a tracked directory lists that file' '
	mlv ls data/sub/b.txt >out &&
	test_line_count = 1 out &&
	grep "^file .* data/sub/b.txt$" out &&
	mlv ls data/link >out &&
	grep "^link .* data/link$" out
'

test_expect_success 'ls inside a tracked directory works when the data is gone' '
	mv data ../data.saved &&
	test_when_finished "mv ../data.saved data" &&
	mlv ls data/sub >out &&
	grep "data/sub/b.txt$" out &&
	mlv cat data/sub/b.txt >out &&
	echo beta >expect &&
	test_cmp expect out
'

test_expect_success 'ls and cat of a path mlv cannot place are errors' '
	test_expect_code 128 mlv ls data/nosuch 2>err &&
	test_grep "data/nosuch" err &&
	test_expect_code 128 mlv ls data/sub/nosuch 2>err &&
	test_grep "data/sub/nosuch" err &&
	test_expect_code 128 mlv ls data/a.txt/x 2>err &&
	test_expect_code 128 mlv ls model.bin/x 2>err &&
	test_grep "model.bin/x" err &&
	test_expect_code 128 mlv cat data/a.txt/x 2>err &&
	test_expect_code 128 mlv ls nosuch 2>err &&
	test_grep "nosuch" err
'

test_expect_success 'cat of a directory inside a tracked directory prints its tree' '
	mlv cat data/sub >out &&
	grep "^100644 blob [0-9a-f]\{64\} 5	b.txt$" out
'

test_expect_success 'ls from a subdirectory' '
	(cd data && mlv ls ..) >out &&
	grep " \.\./model.bin$" out
'

test_expect_success 'cat a tracked file, a file inside a tracked directory, an id' '
	mlv cat model.bin >out && cmp model.bin out &&
	mlv cat data/sub/b.txt >out && echo beta >expect && test_cmp expect out &&
	id=$(sha256sum model.bin | cut -d" " -f1) &&
	mlv cat $id >out && cmp model.bin out &&
	mlv cat sha256:$id >out && cmp model.bin out &&
	mlv cat $(echo $id | cut -c1-10) >out && cmp model.bin out
'

test_expect_success 'cat works when the work tree copy is gone' '
	mv model.bin ../saved && mlv cat model.bin >out && cmp ../saved out && mv ../saved model.bin
'

test_expect_success 'cat of a tree prints a listing' '
	tree=$(sed -n "s/^oid sha256://p" data.mlv) &&
	mlv cat $tree >out &&
	grep "^100644 blob [0-9a-f]\{64\} 6	a.txt$" out &&
	grep "^120000 blob [0-9a-f]\{64\} 0	link$" out &&
	grep "^040000 tree [0-9a-f]\{64\} 5	sub$" out
'

test_expect_success 'cat of unknown things fails' '
	test_expect_code 128 mlv cat deadbeefdeadbeef 2>err &&
	grep "deadbeefdeadbeef" err &&
	test_expect_code 128 mlv cat data/nosuch 2>err &&
	grep "data/nosuch" err &&
	test_expect_code 128 mlv cat sha256:0123456789 2>err
'

test_expect_success 'hash prints ids without storing' '
	echo "fresh content" >fresh &&
	mlv hash fresh >out &&
	echo "$(sha256sum fresh | cut -d" " -f1)  fresh" >expect &&
	test_cmp expect out &&
	id=$(cut -d" " -f1 out) &&
	test_expect_code 128 mlv cat $id
'

test_expect_success 'hash of a directory is its tree id' '
	mlv hash data >out &&
	grep "^$(sed -n "s/^oid sha256://p" data.mlv)  data$" out &&
	mlv hash --json data >json &&
	grep "\"files\":3" json
'

test_expect_success 'hash works outside a repository' '
	(cd .. && echo hello >outside && mlv hash outside) >out &&
	grep "^$(printf "hello\n" | sha256sum | cut -d" " -f1)  outside$" out
'

test_expect_success 'hash of a missing file fails' '
	test_expect_code 128 mlv hash nosuch 2>err &&
	grep nosuch err
'

test_expect_success 'cat, ls and checkout of a 255-byte name inside a tracked directory' '
	name=$(printf "n%.0s" $(test_seq 255)) &&
	mkdir long &&
	echo long >"long/$name" &&
	mlv add long &&
	test "$(mlv cat "long/$name")" = long &&
	mlv ls "long/$name" >out &&
	test_grep "long/$name" out &&
	rm -r long &&
	mlv checkout "long/$name" &&
	test "$(cat "long/$name")" = long
'

test_expect_success 'cat refuses a pointer whose object is not what its type and size say' '
	echo hello >typed &&
	mlv add typed &&
	sed "s/^type file$/type dir\nfiles 1/" typed.mlv >asdir.mlv &&
	cp typed asdir &&
	test_must_fail mlv cat asdir 2>err &&
	test_grep "is a blob, but the pointer says dir" err &&
	sed "s/^size 6$/size 999/" typed.mlv >longer.mlv &&
	cp typed longer &&
	test_must_fail mlv cat longer 2>err &&
	test_grep "holds 6 bytes, but the pointer says 999" err &&
	rm asdir asdir.mlv longer longer.mlv
'

test_done
