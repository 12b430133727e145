#!/bin/sh

test_description='data stored twice is not trusted blindly

After a byte flips in a pack, adding the same data again must not reuse
the damaged copy, whether the file is read again or the stat cache
vouches for it; status and checkout are then right.  Reused objects get
their timestamp refreshed.'

. "$(dirname "$0")"/test-lib.sh

test_lazy_prereq SQLITE3 'sqlite3 -version'

STORE=repo/.git/mlv

# flip_byte FILE OFFSET: change the byte at OFFSET (to its value + 1).
flip_byte () {
	flip_old_=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d " ") &&
	test -n "$flip_old_" &&
	chmod u+w "$1" &&
	printf "\\$(printf %03o $(( (flip_old_ + 1) % 256 )))" |
	dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# damage: the store as after setup, with a byte of big.bin flipped.
damage () {
	rm -rf $STORE && cp -a pristine $STORE &&
	pack=$(ls -S $STORE/packs/pack-* | sed -n 1p) &&
	size=$(test_file_size $pack) &&
	flip_byte $pack $(($size / 2))
}

# right: status is clean and a checkout from the store gives the bytes back.
right () {
	mlv -C repo status --exit-code &&
	rm repo/big.bin &&
	mlv -C repo checkout &&
	test_cmp_bin big.orig repo/big.bin &&
	mlv -C repo status --exit-code
}

test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	generate_file repo/big.bin 6M big &&
	cp repo/big.bin big.orig &&
	echo small >repo/small.txt &&
	mlv -C repo add big.bin small.txt &&
	(cd repo && git add .mlv .gitignore big.bin.mlv small.txt.mlv && git commit -q -m data) &&
	mlv -C repo status --exit-code &&
	cp -a $STORE pristine
'

test_expect_success 'a damaged copy is not "stored": status says so' '
	damage &&
	test_expect_code 1 mlv -C repo status --exit-code >out &&
	test_grep "big.bin" out
'

test_expect_success 'add through the stat cache does not reuse the damaged copy' '
	damage &&
	mlv -C repo add big.bin &&
	right &&
	test_expect_code 1 mlv -C repo fsck >out &&
	test_grep "^corrupt: " out &&
	mlv -C repo fsck --repair >out &&
	mlv -C repo fsck &&
	right
'

test_expect_success 'add that reads the file again does not reuse it either' '
	damage &&
	touch repo/big.bin &&
	mlv -C repo add big.bin &&
	right
'

test_expect_success SQLITE3 'reusing an intact object refreshes its timestamp' '
	rm -rf $STORE && cp -a pristine $STORE &&
	sqlite3 $STORE/index.db "SELECT max(used_ns) FROM objects" >before &&
	touch repo/big.bin &&
	mlv -C repo add big.bin &&
	sqlite3 $STORE/index.db "SELECT max(used_ns) FROM objects" >after &&
	test $(cat after) -gt $(cat before) &&
	ls $STORE/packs >packs-after &&
	ls pristine/packs >packs-before &&
	test_cmp packs-before packs-after
'

test_done
