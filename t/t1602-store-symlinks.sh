#!/bin/sh

test_description='no symlink where mlv keeps its own files

A clone may carry symlinks where mlv keeps its files (committed .mlv,
.mlv/config, an old-layout .mlv/store or .mlv/index.db), and a local
.git/mlv, its packs or its index.db may be symlinks too.  Each is an
error naming it; nothing outside the repository is written.'

. "$(dirname "$0")"/test-lib.sh

# listing: a checksum of every file and link that is not the repository
# under test (the upstream and the "outside" its symlinks point to).
listing () {
	find outside upstream \( -type f -o -type l \) -print | sort |
	while read f
	do
		if test -h "$f"
		then
			echo "$f -> $(readlink "$f")"
		else
			sha256sum "$f"
		fi
	done
}

test_expect_success 'setup: an upstream with symlinks to outside committed in .mlv' '
	mkdir -p outside/store/packs &&
	echo "precious" >outside/index.db &&
	echo "precious" >outside/store/packs/keep &&
	test_create_repo upstream &&
	mkdir upstream/.mlv &&
	printf "[core]\n\tformatVersion = 1\n" >upstream/.mlv/config &&
	ln -s ../../outside/store upstream/.mlv/store &&
	ln -s ../../outside/index.db upstream/.mlv/index.db &&
	echo data >upstream/file &&
	(cd upstream && git add .mlv file && git commit -q -m hostile) &&
	git clone -q upstream clone &&
	test_path_is_symlink clone/.mlv/store &&
	listing >listing.before
'

test_expect_success 'every command refuses, naming the symlink, and writes nothing outside' '
	for cmd in "init" "add file" "status" "checkout" "fsck" "fsck --repair" "ls"
	do
		test_expect_code 128 mlv -C clone $cmd 2>err || return 1
		test_grep "\.mlv/\(store\|index.db\).*symbolic link" err || return 1
	done &&
	listing >listing.after &&
	test_cmp listing.before listing.after
'

test_expect_success 'a symlinked .mlv or .mlv/config is an error naming it' '
	test_create_repo r1 &&
	ln -s ../outside r1/.mlv &&
	test_expect_code 128 mlv -C r1 init 2>err &&
	test_grep "r1/.mlv.*symbolic link" err &&
	test_create_repo r2 &&
	mkdir r2/.mlv &&
	ln -s ../../outside/index.db r2/.mlv/config &&
	test_expect_code 128 mlv -C r2 init 2>err &&
	test_grep "r2/.mlv/config.*symbolic link" err &&
	listing >listing.after &&
	test_cmp listing.before listing.after
'

test_expect_success 'symlinked packs or index.db in .git/mlv are errors naming them' '
	test_create_repo r3 &&
	mlv -C r3 init -q &&
	echo x >r3/x &&
	rm -rf r3/.git/mlv/packs &&
	ln -s "$TRASH_DIRECTORY/outside/store/packs" r3/.git/mlv/packs &&
	test_expect_code 128 mlv -C r3 add x 2>err &&
	test_grep "mlv/packs.*symbolic link" err &&
	rm r3/.git/mlv/packs && mkdir r3/.git/mlv/packs &&
	rm -f r3/.git/mlv/index.db* &&
	ln -s "$TRASH_DIRECTORY/outside/index.db" r3/.git/mlv/index.db &&
	test_expect_code 128 mlv -C r3 add x 2>err &&
	test_grep "index.db.*symbolic link" err &&
	listing >listing.after &&
	test_cmp listing.before listing.after
'

test_done
