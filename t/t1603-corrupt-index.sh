#!/bin/sh

test_description='a damaged index.db

A garbage, truncated or zero-length index makes every command fail with an
error naming the file and a hint; fsck reports it; fsck --repair moves it
aside and rebuilds it from the packs.'

. "$(dirname "$0")"/test-lib.sh

INDEX=repo/.git/mlv/index.db

test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	generate_file repo/model.bin 5M model &&
	cp repo/model.bin model.orig &&
	mkdir repo/data &&
	for i in $(test_seq 200)
	do
		echo "file $i" >repo/data/f$i || return 1
	done &&
	mlv -C repo add model.bin data &&
	(cd repo && git add .mlv .gitignore model.bin.mlv data.mlv && git commit -q -m data) &&
	test $(test_file_size $INDEX) -gt 16384 &&
	cp -a repo/.git/mlv pristine
'

# damaged KIND: garbage, truncated or empty
damage () {
	rm -rf repo/.git/mlv && cp -a pristine repo/.git/mlv &&
	case "$1" in
	garbage) printf "%s\n" "this is not an SQLite database at all, not even close, no" >$INDEX ;;
	truncated) truncate -s 4096 $INDEX ;;
	empty) : >$INDEX ;;
	esac
}

for kind in garbage truncated
do
	test_expect_success "$kind index: commands fail naming it, with a hint" '
		damage '$kind' &&
		for cmd in status "add model.bin" checkout ls "cat model.bin"
		do
			test_expect_code 128 mlv -C repo $cmd >out 2>err || return 1
			test_grep "^fatal: .*\.git/mlv/index.db" err || return 1
			test_grep "^hint: run .mlv fsck --repair." err || return 1
		done
	'

	test_expect_success "$kind index: fsck reports it" '
		test_expect_code 1 mlv -C repo fsck >out 2>err &&
		test_grep "^index: " out &&
		test_grep "^hint: " err &&
		test_expect_code 1 mlv -C repo fsck --json >out 2>err &&
		jq -e ".problems[0].kind == \"index\" and .remaining == 1" out
	'

	test_expect_success "$kind index: fsck --repair rebuilds it from the packs" '
		mlv -C repo fsck --repair --json >out &&
		jq -e ".remaining == 0 and .repaired >= 1" out &&
		jq -e "[.problems[] | select(.kind == \"index\")] | length == 1" out &&
		mlv -C repo fsck &&
		rm -rf repo/model.bin repo/data &&
		mlv -C repo checkout &&
		test_cmp_bin model.orig repo/model.bin &&
		test "$(cat repo/data/f200)" = "file 200" &&
		mlv -C repo status --exit-code
	'
done

test_expect_success 'a damaged index is moved aside, not deleted' '
	damage garbage &&
	mlv -C repo fsck --repair >out &&
	test_grep "moved aside" out &&
	ls repo/.git/mlv/index.db.broken-* >aside &&
	test_line_count = 1 aside
'

test_expect_success 'a garbage stat cache is only a cache: started afresh' '
	rm -rf repo/.git/mlv && cp -a pristine repo/.git/mlv &&
	echo garbage >repo/.git/mlv/statcache.db &&
	mlv -C repo status --exit-code
'

test_done
