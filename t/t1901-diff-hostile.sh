#!/bin/sh

test_description='mlv diff and mlv log --stat on hostile directory pointers

Two small pointers name trees whose subtrees are shared: 41 and 40 levels
of two entries "a" and "b" naming the same tree below (2^42 and 2^41
files).  Every level of one differs from the level of the other, so a diff
of the two would compare 2^42 entries, one at a time.  What a diff visits
is counted first, by pairs of tree ids, so diff --stat and log --stat
refuse at once with an error naming the tree, before reporting anything.'

. "$(dirname "$0")"/test-lib.sh

MAKE_DAG="$MLV_BUILD_DIR/t/unit/bin/t-tree"

test_lazy_prereq DAG_HELPER 'test -x "$MAKE_DAG"'
test_lazy_prereq TIMEOUT 'timeout 10 true'

# dag_pointer DEPTH: huge.mlv naming the DAG of DEPTH levels, committed.
dag_pointer() {
	top=$("$MAKE_DAG" make-dag "$TRASH_DIRECTORY/repo/.git/mlv" "$1") &&
	cat >huge.mlv <<-EOF &&
	version 1
	oid sha256:$top
	size 21990232555520
	kind data
	type dir
	files 4398046511104
	EOF
	git add huge.mlv &&
	test_tick &&
	git commit -q -m "depth $1" &&
	echo "$top" >../top-$1
}

test_expect_success DAG_HELPER 'setup: pointers to DAGs of depth 41 and 40' '
	test_create_repo repo &&
	(
		cd repo &&
		mlv init -q &&
		printf "%s\n" err out >>.git/info/exclude &&
		echo ordinary >ok.txt &&
		mlv add ok.txt >/dev/null &&
		git add -A &&
		git commit -q -m ordinary &&
		dag_pointer 41 &&
		dag_pointer 40 &&
		test $(test_file_size huge.mlv) -lt 200
	)
'

test_expect_success DAG_HELPER,TIMEOUT 'diff --stat of the two fails at once naming the tree' '
	test_expect_code 128 timeout 60 mlv -C repo diff --stat HEAD~1 HEAD >out 2>err &&
	test_grep "^fatal: diff of tree .huge. ($(cat top-40)): more than [0-9]* entries" err &&
	test_must_be_empty out
'

test_expect_success DAG_HELPER,TIMEOUT 'diff --name-status and plain diff too' '
	test_expect_code 128 timeout 60 mlv -C repo diff --name-status HEAD~1 HEAD >out 2>err &&
	test_grep "huge.*more than" err &&
	test_expect_code 128 timeout 60 mlv -C repo diff HEAD~1 HEAD >out 2>err &&
	test_grep "huge.*more than" err
'

test_expect_success DAG_HELPER,TIMEOUT 'log --stat shows the error for each commit, at once' '
	test_expect_code 1 timeout 60 mlv -C repo log --stat >out 2>err &&
	test_grep "depth 40" out &&
	test_grep "depth 41" out &&
	test_grep "^    modified huge " out &&
	test_grep "^    added    huge " out &&
	test_grep "(diff of tree .huge. ($(cat top-40)): more than [0-9]* entries" out &&
	test_grep "(diff of tree .huge. ($(cat top-41)): more than [0-9]* entries" out &&
	test_grep "ok.txt" out
'

test_expect_success DAG_HELPER,TIMEOUT 'log --stat of the pointer alone' '
	test_expect_code 1 timeout 60 mlv -C repo log --stat huge >out 2>err &&
	test_grep "more than" out &&
	test_grep ! "ok.txt" out
'

test_done
