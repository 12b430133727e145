#!/bin/sh

test_description='bounded work on hostile trees

A small pointer may name a tree whose subtrees are shared: 41 levels of
two entries naming the same tree below is 2^42 files.  fsck, fsck
--repair, ls and checkout fail at once with an error naming it.'

. "$(dirname "$0")"/test-lib.sh

MAKE_DAG="$MLV_BUILD_DIR/t/unit/bin/t-tree"

test_lazy_prereq DAG_HELPER 'test -x "$MAKE_DAG"'
test_lazy_prereq TIMEOUT 'timeout 10 true'

test_expect_success DAG_HELPER 'setup: a pointer to a DAG of 2^42 files' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	echo ordinary >repo/ok.txt &&
	mlv -C repo add ok.txt &&
	top=$("$MAKE_DAG" make-dag "$TRASH_DIRECTORY/repo/.git/mlv" 41) &&
	cat >repo/huge.mlv <<-EOF &&
	version 1
	oid sha256:$top
	size 21990232555520
	kind data
	type dir
	files 4398046511104
	EOF
	echo "$top" >top &&
	test $(test_file_size repo/huge.mlv) -lt 200
'

test_expect_success DAG_HELPER,TIMEOUT 'fsck reports the tree at once' '
	test_expect_code 1 timeout 60 mlv -C repo fsck >out &&
	test_grep "^tree: huge: .*$(cat top).*more than" out
'

test_expect_success DAG_HELPER,TIMEOUT 'fsck --repair too' '
	test_expect_code 1 timeout 60 mlv -C repo fsck --repair >out &&
	test_grep "^tree: huge: " out
'

test_expect_success DAG_HELPER,TIMEOUT 'ls and checkout fail at once naming it' '
	test_expect_code 128 timeout 60 mlv -C repo ls huge >out 2>err &&
	test_grep "huge.*more than" err &&
	test_must_fail timeout 60 mlv -C repo checkout huge 2>err &&
	test_grep "huge" err &&
	test_path_is_missing repo/huge
'

test_done
