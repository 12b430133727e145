#!/bin/sh

test_description='a store of the old layout moves into git'"'"'s directory

Older mlv kept .mlv/store/packs and .mlv/index.db in the work tree.  Any
command moves them to $GIT_COMMON_DIR/mlv, resumably: packs one by one,
then the index; an index that may be half made is rebuilt from the packs.'

. "$(dirname "$0")"/test-lib.sh

# old_layout DIR: turn DIR's store into the old layout by hand, from the
# files of the current one.
old_layout () {
	mkdir -p "$1/.mlv/store" &&
	mv "$1/.git/mlv/packs" "$1/.mlv/store/packs" &&
	mv "$1/.git/mlv/index.db" "$1/.mlv/index.db" &&
	rm -rf "$1/.git/mlv" &&
	mkdir -p "$1/.mlv/tmp"
}

# restored DIR: every tracked file comes back from the store, and fsck is clean.
restored () {
	rm -rf "$1/model.bin" "$1/data" &&
	mlv -C "$1" checkout &&
	test_cmp_bin model.orig "$1/model.bin" &&
	test "$(cat "$1/data/one")" = one &&
	mlv -C "$1" status --exit-code &&
	mlv -C "$1" fsck &&
	test_path_is_missing "$1/.mlv/store" &&
	test_path_is_missing "$1/.mlv/index.db" &&
	test_path_is_missing "$1/.mlv/tmp"
}

test_expect_success 'setup: a repository with two packs' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	generate_file repo/model.bin 6M model &&
	cp repo/model.bin model.orig &&
	mkdir repo/data &&
	echo one >repo/data/one &&
	mlv -C repo add model.bin &&
	mlv -C repo add data &&
	(cd repo && git add .mlv .gitignore model.bin.mlv data.mlv && git commit -q -m data) &&
	ls repo/.git/mlv/packs >packs &&
	test_line_count = 2 packs &&
	cp -a repo pristine
'

test_expect_success 'any command moves the old layout' '
	old_layout repo &&
	test_path_is_missing repo/.git/mlv &&
	mlv -C repo status --exit-code &&
	test_path_is_dir repo/.git/mlv/packs &&
	ls repo/.git/mlv/packs >moved &&
	test_cmp packs moved &&
	restored repo
'

test_expect_success 'mlv init moves it too' '
	rm -rf repo && cp -a pristine repo &&
	old_layout repo &&
	mlv -C repo init >out &&
	test_grep "Reinitialized existing" out &&
	restored repo
'

test_expect_success 'interrupted after one pack: the rest moves on the next run' '
	rm -rf repo && cp -a pristine repo &&
	old_layout repo &&
	mkdir -p repo/.git/mlv/packs &&
	first=$(sed -n 1p packs) &&
	mv repo/.mlv/store/packs/$first repo/.git/mlv/packs/ &&
	restored repo &&
	ls repo/.git/mlv/packs >moved &&
	test_cmp packs moved
'

test_expect_success 'interrupted while the index was made: rebuilt, not trusted' '
	rm -rf repo && cp -a pristine repo &&
	old_layout repo &&
	mkdir -p repo/.git/mlv &&
	mv repo/.mlv/store/packs repo/.git/mlv/packs &&
	echo "half a database" >repo/.git/mlv/index.db &&
	restored repo
'

test_expect_success 'a pack already at the new place is not copied twice' '
	rm -rf repo && cp -a pristine repo &&
	old_layout repo &&
	mkdir -p repo/.git/mlv/packs &&
	cp -p repo/.mlv/store/packs/* repo/.git/mlv/packs/ &&
	restored repo &&
	ls repo/.git/mlv/packs >moved &&
	test_cmp packs moved
'

test_lazy_prereq SHM_OTHER_FS '
	test -d /dev/shm && test -w /dev/shm &&
	test "$(stat -c %d /dev/shm)" != "$(stat -c %d .)"
'

test_expect_success SHM_OTHER_FS 'across file systems: packs copied, index rebuilt' '
	gitdir=$(mktemp -d /dev/shm/mlv-t1601-XXXXXX) &&
	test_when_finished "rm -rf \"$gitdir\"" &&
	rm -rf sep && mkdir sep &&
	git init -q --separate-git-dir "$gitdir/git" sep &&
	cp model.orig sep/model.bin && mkdir sep/data && echo one >sep/data/one &&
	mlv -C sep init -q && mlv -C sep add model.bin data &&
	(cd sep && git add .mlv .gitignore model.bin.mlv data.mlv && git commit -q -m data) &&
	ls "$gitdir/git/mlv/packs" >sep-packs &&
	mkdir -p sep/.mlv/store &&
	cp -p -R "$gitdir/git/mlv/packs" sep/.mlv/store/packs &&
	cp "$gitdir/git/mlv/index.db" sep/.mlv/index.db &&
	rm -rf "$gitdir/git/mlv" &&
	restored sep &&
	ls "$gitdir/git/mlv/packs" >moved &&
	test_cmp sep-packs moved
'

test_expect_success 'a symlink at .mlv/store is refused, nothing written through it' '
	rm -rf repo && cp -a pristine repo &&
	old_layout repo &&
	mv repo/.mlv/store outside-store &&
	ln -s ../../outside-store repo/.mlv/store &&
	(cd outside-store && find . -type f | sort | xargs sha256sum) >before &&
	test_expect_code 128 mlv -C repo status 2>err &&
	test_grep "\.mlv/store.*symbolic link" err &&
	test_grep "^hint: " err &&
	(cd outside-store && find . -type f | sort | xargs sha256sum) >after &&
	test_cmp before after
'

test_done
