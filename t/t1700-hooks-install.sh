#!/bin/sh

test_description='mlv hooks install, uninstall, status: chaining, core.hooksPath, the merge driver'

. "$(dirname "$0")"/test-lib.sh

HOOKS="post-checkout post-merge pre-commit"

test_expect_success 'setup' '
	test_create_repo repo &&
	(cd repo && mlv init -q)
'

test_expect_success 'status before install: nothing installed' '
	(
		cd repo &&
		mlv hooks status >out &&
		test_grep "^hooks directory: .*/repo/.git/hooks$" out &&
		test_grep "^post-checkout  *not installed$" out &&
		test_grep "^pre-commit  *not installed$" out &&
		test_grep "^merge driver  *not registered$" out &&
		mlv hooks status --json >json &&
		test_grep "\"post-merge\":{\"state\":\"not installed\"" json &&
		test_grep "\"registered\":false" json
	)
'

test_expect_success 'install writes three marked, executable hooks and the merge driver' '
	(
		cd repo &&
		mlv hooks install >out &&
		for h in $HOOKS
		do
			test_path_is_executable .git/hooks/$h &&
			test "$(sed -n 2p .git/hooks/$h)" = "# mlv hook v1" &&
			test_grep "hooks run $h" .git/hooks/$h &&
			test_grep "^mlv=.*/mlv.$" .git/hooks/$h &&
			test_grep "^installed .*/.git/hooks/$h$" out || return 1
		done &&
		test "$(git config merge.mlv.driver)" = "$MLV_BINARY merge-driver %O %A %B %P" &&
		git config merge.mlv.name >/dev/null &&
		echo "*.mlv merge=mlv" >expect &&
		test_cmp expect .gitattributes &&
		test "$(git check-attr merge -- x/y.mlv)" = "x/y.mlv: merge: mlv" &&
		mlv hooks status >out &&
		test_grep "^post-checkout  *installed$" out &&
		test_grep "^merge driver  *registered (" out
	)
'

test_expect_success 'installing twice changes nothing' '
	(
		cd repo &&
		cp .git/hooks/pre-commit ../pre-commit.before &&
		cp .gitattributes ../attr.before &&
		mlv hooks install >out &&
		test_grep "already installed" out &&
		test_cmp ../pre-commit.before .git/hooks/pre-commit &&
		test_cmp ../attr.before .gitattributes &&
		mlv hooks install --json >json &&
		test_grep "\"pre-commit\":\"unchanged\"" json &&
		test_grep "\"config_changed\":false" json &&
		test_grep "\"attributes_changed\":false" json &&
		ls .git/hooks >list &&
		! grep pre-mlv list &&
		! grep "\.lock$" list
	)
'

test_expect_success 'uninstall removes the hooks, the config and the line it added' '
	(
		cd repo &&
		mlv hooks uninstall >out &&
		for h in $HOOKS
		do
			test_path_is_missing .git/hooks/$h || return 1
		done &&
		test_must_fail git config merge.mlv.driver &&
		test_must_fail git config merge.mlv.name &&
		test_path_is_missing .gitattributes &&
		mlv hooks uninstall >out &&
		test_grep "not installed" out
	)
'

test_expect_success 'an existing hook is chained: moved aside, run first, put back by uninstall' '
	(
		cd repo &&
		write_script .git/hooks/pre-commit <<-\EOF &&
		echo mine
		EOF
		cp .git/hooks/pre-commit ../mine &&
		mlv hooks install >out &&
		test_grep "pre-commit.pre-mlv, run first" out &&
		test_cmp ../mine .git/hooks/pre-commit.pre-mlv &&
		test "$(sed -n 2p .git/hooks/pre-commit)" = "# mlv hook v1" &&
		mlv hooks status >out &&
		test_grep "^pre-commit  *chained (runs pre-commit.pre-mlv first)$" out &&
		mlv hooks status --json >json &&
		test_grep "\"pre-commit\":{\"state\":\"chained\",\"chained\":true" json &&
		mlv hooks install >out &&
		test_cmp ../mine .git/hooks/pre-commit.pre-mlv &&
		mlv hooks uninstall >out &&
		test_grep "put back pre-commit.pre-mlv" out &&
		test_cmp ../mine .git/hooks/pre-commit &&
		test_path_is_missing .git/hooks/pre-commit.pre-mlv &&
		mlv hooks status >out &&
		test_grep "^pre-commit  *foreign hook present" out
	)
'

test_expect_success 'a symlinked hook is moved as the link' '
	(
		cd repo &&
		rm .git/hooks/pre-commit &&
		mkdir -p tools &&
		write_script tools/pc <<-\EOF &&
		echo linked
		EOF
		ln -s ../../tools/pc .git/hooks/pre-commit &&
		mlv hooks install &&
		test_path_is_symlink .git/hooks/pre-commit.pre-mlv &&
		test "$(readlink .git/hooks/pre-commit.pre-mlv)" = ../../tools/pc &&
		mlv hooks uninstall &&
		test_path_is_symlink .git/hooks/pre-commit &&
		test "$(readlink .git/hooks/pre-commit)" = ../../tools/pc &&
		rm .git/hooks/pre-commit
	)
'

test_expect_success 'a hook edited after install (marker gone) is left alone with a warning' '
	(
		cd repo &&
		write_script .git/hooks/post-merge <<-\EOF &&
		echo theirs
		EOF
		mlv hooks install &&
		sed -e "/^# mlv hook v1$/d" .git/hooks/post-merge >edited &&
		cat edited >.git/hooks/post-merge &&
		mlv hooks status >out &&
		test_grep "^post-merge  *foreign hook present" out &&
		mlv hooks uninstall >out 2>err &&
		test_grep "^warning: .*post-merge. has no .# mlv hook v1. line.*left alone" err &&
		test_cmp edited .git/hooks/post-merge &&
		test_path_is_file .git/hooks/post-merge.pre-mlv &&
		test_path_is_missing .git/hooks/pre-commit &&
		test_path_is_missing .git/hooks/post-checkout &&
		mlv hooks uninstall --json >json &&
		test_grep "\"post-merge\":\"left\"" json &&
		test_grep "\"warnings\":\\[\".*post-merge" json
	)
'

test_expect_success 'a foreign hook with a .pre-mlv beside it cannot be chained: nothing changes' '
	(
		cd repo &&
		ls .git/hooks >before &&
		test_expect_code 128 mlv hooks install 2>err &&
		test_grep "^fatal: cannot chain hook .*post-merge.: .post-merge.pre-mlv. exists too; nothing was changed" err &&
		ls .git/hooks >after &&
		test_cmp before after &&
		test_path_is_missing .gitattributes &&
		test_must_fail git config merge.mlv.driver &&
		rm .git/hooks/post-merge .git/hooks/post-merge.pre-mlv
	)
'

test_expect_success 'a hook mlv moved aside comes back even when mlv'"'"'s hook is gone' '
	(
		cd repo &&
		write_script .git/hooks/post-checkout <<-\EOF &&
		echo pc
		EOF
		cp .git/hooks/post-checkout ../pc &&
		mlv hooks install &&
		rm .git/hooks/post-checkout &&
		mlv hooks status >out &&
		test_grep "^post-checkout  *not installed (a hook mlv moved aside is left: post-checkout.pre-mlv)" out &&
		mlv hooks uninstall &&
		test_cmp ../pc .git/hooks/post-checkout &&
		rm .git/hooks/post-checkout
	)
'

test_expect_success '.gitattributes: appended to, and only mlv'"'"'s line removed' '
	(
		cd repo &&
		printf "*.bin binary\n*.txt text" >.gitattributes &&
		mlv hooks install &&
		printf "*.bin binary\n*.txt text\n*.mlv merge=mlv\n" >expect &&
		test_cmp expect .gitattributes &&
		echo "*.csv diff" >>.gitattributes &&
		mlv hooks uninstall &&
		printf "*.bin binary\n*.txt text\n*.csv diff\n" >expect &&
		test_cmp expect .gitattributes &&
		rm .gitattributes
	)
'

test_expect_success 'a line that is there already is not added twice' '
	(
		cd repo &&
		printf "*.mlv merge=mlv\r\n" >.gitattributes &&
		cp .gitattributes ../attr &&
		mlv hooks install --json >json &&
		test_grep "\"attributes_changed\":false" json &&
		test_cmp ../attr .gitattributes &&
		mlv hooks uninstall &&
		rm -f .gitattributes
	)
'

test_expect_success '.gitattributes is never written through a symlink' '
	(
		cd repo &&
		echo "*.x binary" >../outside &&
		ln -s ../outside .gitattributes &&
		test_expect_code 128 mlv hooks install 2>err &&
		test_grep "^fatal: .*gitattributes" err &&
		echo "*.x binary" >expect &&
		test_cmp expect ../outside &&
		test_path_is_symlink .gitattributes &&
		test_path_is_missing .gitattributes.lock &&
		rm .gitattributes &&
		mlv hooks uninstall
	)
'

test_expect_success 'merge driver status: config without the attribute is not registered' '
	(
		cd repo &&
		mlv hooks install &&
		rm .gitattributes &&
		mlv hooks status >out &&
		test_grep "^merge driver  *not registered: .*merge=mlv" out &&
		mlv hooks status --json >json &&
		test_grep "\"registered\":false,\"driver\":\".*merge-driver %O %A %B %P\",\"attributes\":false" json &&
		mlv hooks uninstall
	)
'

test_expect_success 'core.hooksPath, relative: taken from the top of the work tree' '
	(
		cd repo &&
		mkdir -p sub &&
		git config core.hooksPath my-hooks &&
		(cd sub && mlv hooks install) &&
		for h in $HOOKS
		do
			test_path_is_executable my-hooks/$h &&
			test_path_is_missing .git/hooks/$h &&
			test_path_is_missing sub/my-hooks/$h || return 1
		done &&
		mlv hooks status >out &&
		test_grep "^hooks directory: .*/repo/my-hooks$" out &&
		test_grep "^pre-commit  *installed$" out &&
		mlv hooks uninstall &&
		test_path_is_missing my-hooks/pre-commit
	)
'

test_expect_success 'core.hooksPath, absolute and with ~/' '
	(
		cd repo &&
		git config core.hooksPath "$TRASH_DIRECTORY/abs-hooks/" &&
		mlv hooks install &&
		test_path_is_executable "$TRASH_DIRECTORY/abs-hooks/post-merge" &&
		mlv hooks uninstall &&
		git config core.hooksPath "~/home-hooks" &&
		mlv hooks install &&
		test_path_is_executable "$HOME/home-hooks/post-merge" &&
		mlv hooks uninstall &&
		git config --unset core.hooksPath
	)
'

test_expect_success 'linked worktrees: the hooks go to the common directory' '
	(
		cd repo &&
		test_commit first &&
		git worktree add -q ../wt &&
		cd ../wt &&
		mlv hooks install &&
		test_path_is_executable ../repo/.git/hooks/post-checkout &&
		test_path_is_missing "$(git rev-parse --git-dir)/hooks/post-checkout" &&
		mlv hooks status >out &&
		test_grep "^hooks directory: .*/repo/.git/hooks$" out &&
		git config merge.mlv.driver &&
		test_path_is_file .gitattributes &&
		mlv hooks uninstall
	)
'

test_expect_success 'the hooks directory is created when it is missing' '
	test_create_repo bare-hooks &&
	(
		cd bare-hooks &&
		rm -rf .git/hooks &&
		mlv hooks install &&
		test_path_is_executable .git/hooks/pre-commit
	)
'

test_expect_success 'mlv init --hooks installs them; plain init hints at them' '
	test_create_repo fresh &&
	(
		cd fresh &&
		mlv init >out 2>err &&
		test_grep "^hint: run .mlv hooks install." err &&
		mlv init --hooks >out 2>err &&
		test_grep "^Installed mlv.s git hooks in .*/fresh/.git/hooks" out &&
		test_path_is_executable .git/hooks/post-checkout &&
		git config merge.mlv.driver &&
		mlv init >out 2>err &&
		test_must_be_empty err &&
		mlv init -q 2>err &&
		test_must_be_empty err
	) &&
	test_create_repo fresh2 &&
	(
		cd fresh2 &&
		write_script .git/hooks/post-merge <<-\EOF &&
		echo theirs
		EOF
		mlv init --hooks --json >json &&
		test_grep "\"hooks\":{\"dir\":\".*\",\"post-checkout\":\"installed\",\"post-merge\":\"chained\"" json &&
		test_path_is_file .git/hooks/post-merge.pre-mlv &&
		mlv init -q --hooks >out &&
		test_must_be_empty out
	)
'

test_expect_success 'an mlv binary at an odd path: quoted in the hooks and the driver' '
	odd="$TRASH_DIRECTORY/odd dir/it'"'"'s 100%" &&
	mkdir -p "$odd" &&
	cp "$MLV_BINARY" "$odd/mlv" &&
	test_create_repo oddrepo &&
	(
		cd oddrepo &&
		"$odd/mlv" init -q --hooks &&
		driver=$(git config merge.mlv.driver) &&
		eval "set -- $(echo "$driver" | sed -e "s/%%/%/g")" &&
		test "$1" = "$odd/mlv" &&
		test "$2" = merge-driver &&
		test "$3" = "%O" &&
		test "$6" = "%P" &&
		mlv=$(sed -n "s/^mlv=//p" .git/hooks/pre-commit) &&
		eval "m=$mlv" &&
		test "$m" = "$odd/mlv" &&
		git commit -q --allow-empty -m empty &&
		echo x >x && "$odd/mlv" add -q x && git add x.mlv &&
		git commit -q -m x
	)
'

test_expect_success 'usage errors' '
	(
		cd repo &&
		test_expect_code 129 mlv hooks 2>err &&
		test_expect_code 129 mlv hooks frob 2>err &&
		test_grep "unknown subcommand" err &&
		test_expect_code 129 mlv hooks install extra 2>err &&
		test_expect_code 129 mlv hooks run 2>err &&
		test_expect_code 128 mlv hooks run pre-push 2>err &&
		test_grep "not one of mlv.s hooks" err
	)
'

test_done
