#!/bin/sh

test_description='a damaged store: errors name the object and pack, fsck finds and repairs'

. "$(dirname "$0")"/test-lib.sh

test_lazy_prereq SQLITE3 'sqlite3 -version'

STORE=repo/.git/mlv
PACKS=$STORE/packs

# reset_store: the store and the work tree as they were after setup.
reset_store () {
	rm -rf $STORE repo/big.bin repo/ds &&
	cp -a mlv.pristine $STORE &&
	cp big.orig repo/big.bin &&
	cp -R ds.orig repo/ds
}

# flip_byte FILE OFFSET: change the byte at OFFSET (to its value + 1).
flip_byte () {
	flip_old_=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d " ") &&
	test -n "$flip_old_" &&
	chmod u+w "$1" &&
	printf "\\$(printf %03o $(( (flip_old_ + 1) % 256 )))" |
	dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null &&
	flip_new_=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d " ") &&
	test "$flip_new_" != "$flip_old_"
}

# is_prefix ORIGINAL PART: PART holds the first bytes of ORIGINAL (or nothing).
is_prefix () {
	is_prefix_n_=$(test_file_size "$2") &&
	head -c "$is_prefix_n_" "$1" >prefix &&
	test_cmp_bin prefix "$2"
}

# no_temp_files: nothing half-written is left in the work tree or packs.
no_temp_files () {
	find repo -name ".git" -prune -o \( -name "*.mlvtmp" -o -name "tmp-pack-*" \) -print >temps &&
	test_must_be_empty temps
}

# names_object FILE: FILE names an object id (64 hex), not only a pack.
names_object () {
	sed -e "s/pack-[0-9a-f]\{64\}//g" "$1" >stripped &&
	test_grep -E "[0-9a-f]{64}" stripped
}

# cat_and_checkout_fail PACK: "mlv cat big.bin" fails with exit 128
# naming PACK and "mlv checkout" fails with exit 128 naming the file;
# neither prints bytes that are not the file's nor writes anything.
# Leaves the messages in cat.err and checkout.err.
cat_and_checkout_fail () {
	test_expect_code 128 mlv -C repo cat big.bin >out 2>cat.err &&
	test_grep "^fatal: .*$1" cat.err &&
	is_prefix big.orig out &&
	rm -f repo/big.bin &&
	test_expect_code 128 mlv -C repo checkout 2>err &&
	test_grep "^error: " err &&
	test_path_is_missing repo/big.bin &&
	test_expect_code 128 mlv -C repo checkout big.bin 2>checkout.err &&
	test_grep "^error: .*big.bin" checkout.err &&
	test_path_is_missing repo/big.bin &&
	no_temp_files
}

test_expect_success 'setup: a multi-chunk file and a directory, in two packs' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	generate_file repo/big.bin 12M big &&
	mkdir -p repo/ds/sub &&
	for i in $(test_seq 20)
	do
		echo "row $i" >repo/ds/f$i || return 1
	done &&
	generate_file repo/ds/sub/mid.bin 300K mid &&
	for i in $(test_seq 4000)
	do
		echo "a compressible line number $i of text"
	done >repo/ds/text.txt &&
	mlv -C repo add big.bin &&
	mlv -C repo add ds &&
	git -C repo add -A &&
	git -C repo commit -q -m data &&
	cp repo/big.bin big.orig &&
	cp -R repo/ds ds.orig &&
	BIG=$(sha256sum big.orig | cut -d" " -f1) &&
	grep -x "oid sha256:$BIG" repo/big.bin.mlv &&
	ls $PACKS >packs &&
	test_line_count = 2 packs &&
	BIGPACK=$(ls -S $PACKS | sed -n 1p) &&
	DSPACK=$(ls -S $PACKS | sed -n 2p) &&
	test $(test_file_size $PACKS/$BIGPACK) -gt 12000000 &&
	mlv -C repo fsck &&
	cp -a $STORE mlv.pristine
'

test_expect_success 'truncated pack: cat and checkout fail naming the pack' '
	reset_store &&
	size=$(test_file_size $PACKS/$BIGPACK) &&
	chmod u+w $PACKS/$BIGPACK &&
	truncate -s $(($size / 2)) $PACKS/$BIGPACK &&
	cat_and_checkout_fail $BIGPACK
'

test_expect_success 'truncated pack: the errors name the object id' '
	names_object cat.err &&
	names_object checkout.err
'

# fsck reads the recipe of each tracked blob to see that all its chunks are
# there; a recipe that cannot be read must be reported, not end fsck with
# exit 128.
test_expect_success 'truncated pack: fsck exits 1 naming the pack' '
	test_expect_code 1 mlv -C repo fsck >out &&
	test_grep "^truncated: $BIGPACK" out &&
	test_grep ! "$DSPACK" out
'

test_expect_success 'truncated pack: repair keeps what is readable; the lost blob is reported' '
	test_expect_code 1 mlv -C repo fsck --repair >out &&
	test_grep "^repaired: $BIGPACK" out &&
	no_temp_files &&
	test_expect_code 1 mlv -C repo fsck >out &&
	echo "missing: big.bin: object $BIG is not (completely) in the store" >expect &&
	test_cmp expect out &&
	test_path_is_missing $PACKS/$BIGPACK &&
	mlv -C repo cat ds/sub/mid.bin >out &&
	test_cmp_bin ds.orig/sub/mid.bin out
'

test_expect_success 'truncated pack: adding the data again restores a clean fsck' '
	cp big.orig repo/big.bin &&
	mlv -C repo add big.bin &&
	mlv -C repo fsck &&
	mlv -C repo cat big.bin >out &&
	test_cmp_bin big.orig out
'

test_expect_success 'flipped byte: cat and checkout fail naming object and pack' '
	reset_store &&
	size=$(test_file_size $PACKS/$BIGPACK) &&
	flip_byte $PACKS/$BIGPACK $(($size / 2)) &&
	cat_and_checkout_fail $BIGPACK &&
	test_grep "is corrupt" cat.err &&
	names_object cat.err &&
	names_object checkout.err &&
	test $(test_file_size out) -lt $(test_file_size big.orig)
'

test_expect_success 'flipped byte: fsck exits 1 naming the object and the pack' '
	test_expect_code 1 mlv -C repo fsck >out &&
	test_grep "^corrupt: [0-9a-f]\{64\}: .*$BIGPACK" out &&
	test_grep ! "$DSPACK" out
'

test_expect_success 'flipped byte: repair salvages the rest; exactly the lost chunk is reported' '
	test_expect_code 1 mlv -C repo fsck --repair >out &&
	test_grep "^repaired: $BIGPACK: salvaged .* lost 1" out &&
	no_temp_files &&
	test_expect_code 1 mlv -C repo fsck >out &&
	test_line_count = 2 out &&
	test_grep "^missing: [0-9a-f]\{64\}: chunk [0-9]* of blob $BIG is not in the store" out &&
	test_grep -x "missing: big.bin: object $BIG is not (completely) in the store" out
'

test_expect_success 'flipped byte: adding a copy of the data restores a clean fsck' '
	cp big.orig repo/big.bin &&
	mlv -C repo add big.bin &&
	mlv -C repo fsck &&
	rm repo/big.bin &&
	mlv -C repo checkout &&
	test_cmp_bin big.orig repo/big.bin
'

# The file in the work tree is untouched, so the stat cache vouches for its
# id, and the blob (its recipe) is still indexed: add must still notice
# that a chunk is gone and store it again.
test_expect_success 'flipped byte: re-adding untouched data restores a clean fsck' '
	reset_store &&
	mlv -C repo add big.bin &&
	size=$(test_file_size $PACKS/$BIGPACK) &&
	flip_byte $PACKS/$BIGPACK $(($size / 2)) &&
	test_expect_code 1 mlv -C repo fsck --repair &&
	mlv -C repo add big.bin &&
	mlv -C repo fsck
'

test_expect_success 'flipped byte anywhere in the small pack: never wrong bytes' '
	reset_store &&
	size=$(test_file_size $PACKS/$DSPACK) &&
	for at in 20 $(($size / 3)) $(($size / 2)) $(($size - 300)) $(($size - 40))
	do
		reset_store &&
		flip_byte $PACKS/$DSPACK $at &&
		for f in f1 f7 f20 text.txt sub/mid.bin
		do
			if mlv -C repo cat ds/$f >out 2>err
			then
				test_cmp_bin ds.orig/$f out || return 1
			else
				test $? = 128 &&
				test_grep "$DSPACK" err &&
				is_prefix ds.orig/$f out || return 1
			fi
		done &&
		test_expect_code 1 mlv -C repo fsck >out &&
		test_grep "$DSPACK" out || return 1
	done
'

# A flipped bit of a zstd stream may land where it changes nothing; what
# must never happen is different bytes on stdout.  The frame magic at the
# start of the payload always counts.
test_expect_success SQLITE3 'flipped bytes in a compressed record: an error or the right bytes' '
	reset_store &&
	id=$(sha256sum ds.orig/text.txt | cut -d" " -f1) &&
	sqlite3 $STORE/index.db \
		"SELECT offset, stored_len, comp FROM objects WHERE oid = x'\''$id'\''" >row &&
	IFS="|" read offset stored comp <row &&
	test "$comp" = 1 &&
	failed=0 &&
	for at in 0 1 $(($stored / 4)) $(($stored / 2)) $(($stored * 3 / 4)) $(($stored - 1))
	do
		reset_store &&
		flip_byte $PACKS/$DSPACK $(($offset + 52 + $at)) &&
		if mlv -C repo cat ds/text.txt >out 2>err
		then
			test_cmp_bin ds.orig/text.txt out || return 1
		else
			test $? = 128 &&
			test_grep "$id" err &&
			test_grep "$DSPACK" err &&
			test_must_be_empty out &&
			failed=$(($failed + 1)) || return 1
		fi
	done &&
	test $failed -ge 2
'

test_expect_success 'deleted pack: cat and checkout fail naming the pack' '
	reset_store &&
	rm -f $PACKS/$BIGPACK &&
	cat_and_checkout_fail $BIGPACK
'

test_expect_success 'deleted pack: the errors name the object id' '
	names_object cat.err &&
	names_object checkout.err
'

test_expect_success 'deleted pack: fsck exits 1 naming the pack' '
	test_expect_code 1 mlv -C repo fsck >out &&
	test_grep "$BIGPACK" out &&
	test_grep "but missing" out
'

test_expect_success 'deleted pack: after repair only the lost blob is reported' '
	test_expect_code 1 mlv -C repo fsck --repair &&
	test_expect_code 1 mlv -C repo fsck >out &&
	echo "missing: big.bin: object $BIG is not (completely) in the store" >expect &&
	test_cmp expect out &&
	mlv -C repo status >out &&
	test_grep "not in store: big.bin" out &&
	mlv -C repo cat ds/f3 >out &&
	test_cmp ds.orig/f3 out
'

test_expect_success 'deleted pack: adding the data again restores a clean fsck' '
	cp big.orig repo/big.bin &&
	mlv -C repo add big.bin &&
	mlv -C repo fsck &&
	mlv -C repo cat big.bin >out &&
	test_cmp_bin big.orig out
'

test_expect_success SQLITE3 'index rows with wrong offsets: cat and checkout fail naming the pack' '
	reset_store &&
	sqlite3 $STORE/index.db "UPDATE objects SET offset = offset + 999999999" &&
	cat_and_checkout_fail $BIGPACK &&
	test_expect_code 128 mlv -C repo cat ds/f1 >out 2>err &&
	test_grep "$DSPACK" err &&
	test_must_be_empty out
'

test_expect_success SQLITE3 'index rows with wrong offsets: the errors name the object id' '
	names_object cat.err &&
	names_object checkout.err
'

test_expect_success SQLITE3 'index rows with wrong offsets: fsck exits 1 naming them' '
	test_expect_code 1 mlv -C repo fsck >out &&
	test_grep "^dangling: $BIG: .*$BIGPACK" out &&
	test_grep "$DSPACK" out
'

# The packs are intact: their own indexes say where every record is, so a
# repair can re-index them and lose nothing.
test_expect_success SQLITE3 'index rows with wrong offsets: repair re-indexes the intact packs' '
	test_expect_code 0 mlv -C repo fsck --repair &&
	mlv -C repo fsck &&
	mlv -C repo cat big.bin >out &&
	test_cmp_bin big.orig out
'

test_expect_success SQLITE3 'index rows with wrong offsets: re-adding after repair gives a clean fsck' '
	test_might_fail mlv -C repo fsck --repair &&
	cp big.orig repo/big.bin &&
	mlv -C repo add big.bin ds &&
	mlv -C repo fsck &&
	rm -r repo/big.bin repo/ds &&
	mlv -C repo checkout &&
	test_cmp_bin big.orig repo/big.bin &&
	diff -r ds.orig repo/ds
'

test_expect_success SQLITE3 'index rows pointing at another record are caught' '
	reset_store &&
	sqlite3 $STORE/index.db "UPDATE objects SET offset = (SELECT MIN(offset) FROM objects o2 WHERE o2.pack = objects.pack)" &&
	test_expect_code 128 mlv -C repo cat big.bin >out 2>err &&
	is_prefix big.orig out &&
	test_grep "$BIGPACK" err &&
	names_object err
'

test_expect_success SQLITE3 'index rows pointing at another record: fsck exits 1' '
	test_expect_code 1 mlv -C repo fsck >out &&
	test_grep "$BIGPACK" out
'

test_expect_success SQLITE3 'index rows pointing at another record: repair re-indexes' '
	test_might_fail mlv -C repo fsck --repair &&
	mlv -C repo fsck &&
	mlv -C repo cat big.bin >out &&
	test_cmp_bin big.orig out
'

# Before any repair: the data in the work tree is intact, so adding it
# again must store what the damaged pack lost, even though the stat cache
# vouches for the file.
test_expect_success 'truncated pack: re-adding untouched data before repair' '
	reset_store &&
	mlv -C repo add big.bin &&
	size=$(test_file_size $PACKS/$BIGPACK) &&
	chmod u+w $PACKS/$BIGPACK &&
	truncate -s $(($size / 2)) $PACKS/$BIGPACK &&
	mlv -C repo add big.bin &&
	mlv -C repo cat big.bin >out &&
	test_cmp_bin big.orig out
'

test_done
