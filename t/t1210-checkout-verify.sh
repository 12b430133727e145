#!/bin/sh

test_description='mlv checkout: plan, verify every object, then write'

. "$(dirname "$0")"/test-lib.sh

# index_db: the path of the store's index (wherever the repository keeps it).
index_db () {
	find .git .mlv -name index.db -type f 2>/dev/null | head -n 1
}

# forget_object HEX: drop the object's row from the index, as if it were lost.
forget_object () {
	sqlite3 "$(index_db)" "DELETE FROM objects WHERE oid = x'$1'" &&
	test "$(sqlite3 "$(index_db)" "SELECT count(*) FROM objects WHERE oid = x'$1'")" = 0
}

blob_of () {
	sha256sum "$1" | cut -c1-64
}

# snapshot: everything in the work tree but .git, with contents and modes.
snapshot () {
	find . -path ./.git -prune -o -path ./.mlv -prune -o -print | LC_ALL=C sort |
	while read -r f
	do
		if test -h "$f"
		then
			echo "$f -> $(readlink "$f")"
		elif test -f "$f"
		then
			echo "$f $(ls -l "$f" | cut -c1-10) $(blob_of "$f")"
		else
			echo "$f/"
		fi
	done
}

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p data/sub other &&
	echo a >data/a && echo b >data/b && echo c >data/c && echo d >data/sub/d &&
	echo x >other/x && echo y >other/y &&
	generate_file model.bin 3M model &&
	mlv add data other model.bin &&
	git add -A && test_tick && git commit -q -m data &&
	for f in data/a data/b data/c data/sub/d other/x other/y; do
		cp "$f" "../$(echo $f | tr / _)" || return 1
	done &&
	cp model.bin ../model.bin &&
	cp "$(index_db)" ../index.db.good
'

restore_index () {
	cp ../index.db.good "$(index_db)"
}

test_expect_success 'every missing object is named, and nothing is written' '
	test_when_finished restore_index &&
	forget_object $(blob_of data/a) &&
	forget_object $(blob_of data/sub/d) &&
	forget_object $(blob_of other/x) &&
	rm -rf data other model.bin &&
	snapshot >../before &&
	test_expect_code 128 mlv checkout 2>../err &&
	test_grep "data/a.* not in the store" ../err &&
	test_grep "data/sub/d.* not in the store" ../err &&
	test_grep "other/x.* not in the store" ../err &&
	test_grep "3 objects are missing" ../err &&
	test_grep "^hint: .*--allow-missing" ../err &&
	snapshot >../after &&
	test_cmp ../before ../after &&
	test_path_is_missing data &&
	test_path_is_missing model.bin
'

test_expect_success '--allow-missing restores the rest and exits 1' '
	test_when_finished restore_index &&
	forget_object $(blob_of ../data_a) &&
	forget_object $(blob_of ../other_x) &&
	test_expect_code 1 mlv checkout --allow-missing >out 2>err &&
	test_grep "data/a.* not in the store" err &&
	test_grep "other/x.* not in the store" err &&
	test_path_is_missing data/a &&
	test_path_is_missing other/x &&
	test_cmp ../data_b data/b &&
	test_cmp ../data_sub_d data/sub/d &&
	test_cmp ../other_y other/y &&
	test_cmp_bin ../model.bin model.bin
'

test_expect_success '--json lists the problems' '
	test_when_finished restore_index &&
	mlv checkout &&
	forget_object $(blob_of ../data_a) &&
	rm -rf data &&
	test_expect_code 1 mlv checkout --allow-missing --json >out 2>err &&
	test_line_count = 1 out &&
	python3 -c "
import json, sys
o = json.load(open(\"out\"))
p = o[\"problems\"]
assert len(p) == 1, p
assert p[0][\"path\"] == \"data/a\" and p[0][\"artifact\"] == \"data\", p
assert p[0][\"missing\"] is True and p[0][\"object\"].startswith(\"sha256:\"), p
assert o[\"written\"] == 3 and o[\"conflicts\"] == [], o
" &&
	restore_index &&
	mlv checkout &&
	test_cmp ../data_a data/a
'

test_expect_success 'a recipe with a chunk missing is incomplete' '
	test_when_finished restore_index &&
	chunk=$(sqlite3 "$(index_db)" "SELECT lower(hex(oid)) FROM objects WHERE type = 1 AND raw_len > 100000 LIMIT 1") &&
	test -n "$chunk" &&
	forget_object $chunk &&
	rm -rf data model.bin &&
	test_expect_code 128 mlv checkout 2>err &&
	test_grep "model.bin.* incomplete" err &&
	test_path_is_missing data &&
	test_path_is_missing model.bin &&
	restore_index &&
	mlv checkout &&
	test_cmp_bin ../model.bin model.bin
'

# Artifacts are written in path order: "data" would be written before a
# bad "model.bin" was found, were every object not checked first.
test_expect_success 'a file pointer naming a tree: nothing is written' '
	test_when_finished "git checkout -q -- model.bin.mlv" &&
	tree=$(sed -n "s/^oid //p" data.mlv) &&
	sed "s/^oid .*/oid $tree/" model.bin.mlv >tmp && mv tmp model.bin.mlv &&
	rm -rf data model.bin &&
	test_expect_code 128 mlv checkout 2>err &&
	test_grep "model.bin.* is a tree, not a file" err &&
	test_path_is_missing data &&
	test_path_is_missing model.bin
'

test_expect_success 'a directory pointer naming a blob: nothing is written' '
	test_when_finished "git checkout -q -- other.mlv" &&
	blob=$(sed -n "s/^oid //p" model.bin.mlv) &&
	sed "s/^oid .*/oid $blob/" other.mlv >tmp && mv tmp other.mlv &&
	rm -rf other &&
	test_expect_code 128 mlv checkout 2>err &&
	test_grep "other.* not a tree" err &&
	test_path_is_missing data &&
	test_path_is_missing other
'

test_expect_success 'a size that does not match the object: nothing is written' '
	test_when_finished "git checkout -q -- model.bin.mlv" &&
	sed "s/^size .*/size 5/" model.bin.mlv >tmp && mv tmp model.bin.mlv &&
	test_expect_code 128 mlv checkout 2>err &&
	test_grep "model.bin.* holds 3145728 bytes, but 5 were recorded" err &&
	test_path_is_missing data &&
	test_path_is_missing model.bin
'

test_expect_success 'a tree holding more files than its pointer says is refused' '
	test_when_finished "git checkout -q -- data.mlv" &&
	sed "s/^files .*/files 2/" data.mlv >tmp && mv tmp data.mlv &&
	test_expect_code 128 mlv checkout 2>err &&
	test_grep "data.mlv" err &&
	test_path_is_missing data &&
	test_path_is_missing model.bin
'

test_expect_success 'a merge-conflicted pointer is named and never acted on' '
	test_when_finished "git checkout -q -- data.mlv" &&
	mlv checkout && rm -rf other model.bin &&
	echo precious >data/a &&
	{
		echo "<<<<<<< HEAD" && cat data.mlv && echo "=======" &&
		sed "s/^size .*/size 1/" data.mlv && echo ">>>>>>> theirs"
	} >tmp && mv tmp data.mlv &&
	test_expect_code 128 mlv checkout 2>err &&
	test_grep "data.mlv" err &&
	test_path_is_missing other &&
	test_expect_code 1 mlv checkout --force --allow-missing 2>err &&
	test_grep "data.mlv" err &&
	test_cmp ../other_x other/x &&
	test_cmp_bin ../model.bin model.bin &&
	echo precious >expect &&
	test_cmp expect data/a
'

test_done
