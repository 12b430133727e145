#!/bin/sh

test_description='mlv mv never renames, writes or deletes through a symlink'

. "$(dirname "$0")"/test-lib.sh

# A listing of everything below DIR: names, types and checksums.
listing () {
	(cd "$1" && find . | LC_ALL=C sort | while IFS= read -r f
	do
		if test -h "$f"; then echo "$f link $(readlink "$f")"
		elif test -f "$f"; then echo "$f file $(cksum <"$f")"
		else echo "$f dir"; fi
	done)
}

test_expect_success SYMLINKS 'setup: proj is a symlink to a directory outside' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	mkdir -p outside/data &&
	echo secret >outside/data/f &&
	cp -r outside/data data-copy &&
	(cd repo && cp -r ../data-copy proj-data && mlv add proj-data) &&
	cp repo/proj-data.mlv outside/data.mlv &&
	echo /data >outside/.gitignore &&
	ln -s ../outside repo/proj
'

test_expect_success SYMLINKS 'mv proj/data x refuses and changes nothing outside' '
	listing outside >before &&
	test_must_fail mlv -C repo mv proj/data x 2>err &&
	test_grep "symbolic link" err &&
	test_must_fail mlv -C repo mv proj/data.mlv x &&
	listing outside >after &&
	test_cmp before after &&
	test_path_is_missing repo/x &&
	test_path_is_missing repo/x.mlv
'

test_expect_success SYMLINKS 'mv into a symlinked directory refuses' '
	listing outside >before &&
	test_must_fail mlv -C repo mv proj-data proj/moved 2>err &&
	test_grep "symbolic link" err &&
	listing outside >after &&
	test_cmp before after &&
	test_path_is_file repo/proj-data/f &&
	test_path_is_file repo/proj-data.mlv
'

test_expect_success SYMLINKS 'mv of data that is a symlink moves the link, not its target' '
	mv repo/proj-data repo/real &&
	ln -s real repo/proj-data &&
	mlv -C repo mv proj-data renamed &&
	test_path_is_symlink repo/renamed &&
	test_path_is_file repo/real/f &&
	test_path_is_file repo/renamed.mlv &&
	test_path_is_missing repo/proj-data.mlv
'

test_expect_success 'mv moves the pointer by its lock: no lock file is left' '
	echo y >repo/plain && mlv -C repo add plain &&
	mlv -C repo mv --json plain moved >out &&
	jq -e ".from == \"plain\" and .to == \"moved\"" out &&
	test_path_is_file repo/moved.mlv &&
	test_path_is_missing repo/plain.mlv &&
	test_path_is_missing repo/moved.mlv.lock &&
	test_path_is_missing repo/plain.mlv.lock &&
	grep -x /moved repo/.gitignore &&
	! grep -x /plain repo/.gitignore
'

test_done
