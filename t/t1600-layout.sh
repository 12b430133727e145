#!/bin/sh

test_description='the store lives in git'"'"'s own directory

The packs and the index live in $GIT_COMMON_DIR/mlv (out of reach of
"git clean -fdx", shared by linked worktrees), the stat cache and
temporary files in $GIT_DIR/mlv; the work tree keeps only .mlv/config.
The repository is found as git finds it (GIT_DIR, GIT_WORK_TREE,
GIT_CEILING_DIRECTORIES), so git hooks can run mlv.'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'init puts the store in .git/mlv' '
	test_create_repo repo &&
	mlv -C repo init --json >out &&
	jq -e ".created == true and (.store | endswith(\"/.git/mlv\"))" out &&
	test_path_is_dir repo/.git/mlv/packs &&
	test_path_is_file repo/.git/mlv/index.db &&
	test_path_is_file repo/.git/mlv/statcache.db &&
	test_path_is_file repo/.mlv/config &&
	test_path_is_missing repo/.mlv/store &&
	test_path_is_missing repo/.mlv/index.db &&
	ls -A repo/.mlv >entries &&
	test_write_lines .gitignore config >expect &&
	test_cmp expect entries &&
	mlv -C repo init --json >out &&
	jq -e ".created == false" out
'

test_expect_success 'setup: tracked data, committed' '
	generate_file repo/model.bin 5M model &&
	mkdir -p repo/data/sub &&
	echo one >repo/data/one &&
	echo two >repo/data/sub/two &&
	cp repo/model.bin model.orig &&
	(cd repo && mlv add model.bin data &&
	 git add .mlv .gitignore model.bin.mlv data.mlv &&
	 git commit -q -m data)
'

test_expect_success 'git clean -fdx, then mlv checkout restores everything' '
	(cd repo && git clean -q -fdx) &&
	test_path_is_missing repo/model.bin &&
	test_path_is_missing repo/data &&
	test_path_is_dir repo/.git/mlv/packs &&
	mlv -C repo checkout &&
	test_cmp_bin model.orig repo/model.bin &&
	test "$(cat repo/data/sub/two)" = two &&
	mlv -C repo status --exit-code &&
	mlv -C repo fsck
'

test_expect_success 'an uncommitted .mlv removed by git clean: the store still answers' '
	test_create_repo bare-config &&
	mlv -C bare-config init -q &&
	echo x >bare-config/x &&
	mlv -C bare-config add x &&
	(cd bare-config && git add x.mlv .gitignore && git commit -q -m x &&
	 git clean -q -fdx) &&
	test_path_is_missing bare-config/.mlv &&
	mlv -C bare-config checkout &&
	test "$(cat bare-config/x)" = x
'

test_expect_success 'a linked worktree shares the store, with its own stat cache' '
	(cd repo && git worktree add -q ../wt) &&
	test_path_is_dir repo/.git/worktrees/wt &&
	mlv -C wt checkout &&
	test_cmp_bin model.orig wt/model.bin &&
	test_path_is_file repo/.git/worktrees/wt/mlv/statcache.db &&
	test_path_is_missing wt/.mlv/store &&
	echo three >wt/data/three &&
	(cd wt && mlv add data && git add data.mlv && git commit -q -m three) &&
	(cd repo && git merge -q wt) &&
	mlv -C repo checkout &&
	test "$(cat repo/data/three)" = three &&
	mlv -C repo status --exit-code &&
	mlv -C wt status --exit-code &&
	ls repo/.git/mlv/packs >packs &&
	test_path_is_missing repo/.git/worktrees/wt/mlv/packs
'

test_expect_success 'GIT_DIR set, in a subdirectory: paths are still relative to where we are' '
	mkdir -p repo/notes/sub &&
	(cd repo/notes/sub &&
	 GIT_DIR="$TRASH_DIRECTORY/repo/.git" mlv status --exit-code &&
	 echo new >new.txt &&
	 GIT_DIR="$TRASH_DIRECTORY/repo/.git" mlv add new.txt) &&
	test_path_is_file repo/notes/sub/new.txt.mlv &&
	grep -x /new.txt repo/notes/sub/.gitignore
'

test_expect_success 'GIT_DIR and GIT_WORK_TREE from outside the work tree' '
	mkdir elsewhere &&
	(cd elsewhere &&
	 GIT_DIR="$TRASH_DIRECTORY/repo/.git" GIT_WORK_TREE="$TRASH_DIRECTORY/repo" \
		mlv ls >../ls.out) &&
	test_grep "model.bin" ls.out
'

test_expect_success 'GIT_CEILING_DIRECTORIES stops the search' '
	(cd repo/data &&
	 GIT_CEILING_DIRECTORIES="$TRASH_DIRECTORY/repo" test_expect_code 128 mlv status 2>../../err) &&
	test_grep "not a git repository" err
'

test_expect_success 'a post-checkout hook runs mlv, in a linked worktree too' '
	write_script repo/.git/hooks/post-checkout <<-\EOF &&
	mlv checkout -q 2>>"$TRASH_DIRECTORY/hook.err" || mlv checkout 2>>"$TRASH_DIRECTORY/hook.err"
	EOF
	(cd wt && git checkout -q -b older HEAD~1) &&
	test_path_is_missing wt/data/three &&
	(cd wt && git checkout -q -) &&
	test "$(cat wt/data/three)" = three
'

test_expect_success 'a symlink at .git/mlv is an error naming it' '
	test_create_repo linked &&
	mkdir outside &&
	ln -s "$TRASH_DIRECTORY/outside" linked/.git/mlv &&
	test_expect_code 128 mlv -C linked init 2>err &&
	test_grep "linked/.git/mlv.*symbolic link" err &&
	ls -A outside >out &&
	test_must_be_empty out
'

test_expect_success 'GIT_DIR alone acts on the repository'"'"'s own work tree, never the current directory' '
	git init -q gdonly &&
	mlv -C gdonly init -q &&
	echo data >gdonly/f &&
	mlv -C gdonly add f &&
	mkdir gd-outside &&
	(
		cd gd-outside &&
		GIT_DIR=../gdonly/.git mlv status >../gd-status &&
		GIT_DIR=../gdonly/.git mlv checkout
	) &&
	test_grep "f" gd-status &&
	ls -A gd-outside >listing &&
	test_must_be_empty listing
'

test_done
