#!/bin/sh

test_description='mlv hooks and hints against a hostile tree: symlinks on the way to the hooks
directory and to .gitattributes, refusals that change nothing, file names in hints'

. "$(dirname "$0")"/test-lib.sh

HOOKS="post-checkout post-merge pre-commit"

# nothing_installed: no hook, no merge driver config, no .gitattributes line, no lock left.
nothing_installed () {
	for h in $HOOKS
	do
		test_path_is_missing .git/hooks/$h &&
		test_path_is_missing .git/hooks/$h.lock || return 1
	done &&
	test_must_fail git config --get-regexp "^merge\.mlv\." &&
	test_path_is_missing .gitattributes.lock &&
	test_path_is_missing .git/config.lock
}

# The file a pasted hostile name would create.
PWNED='${HOME}x'
hostile="a'\$(touch $PWNED)'b"

test_expect_success 'setup: a hooks directory committed as a symlink out of the work tree' '
	mkdir outside &&
	test_create_repo repo &&
	(
		cd repo &&
		mlv init -q &&
		ln -s ../outside .husky &&
		git add -A && test_tick && git commit -q -m base
	)
'

test_expect_success 'core.hooksPath through a committed symlink: install refuses, writes nothing' '
	(
		cd repo &&
		git config core.hooksPath .husky &&
		test_expect_code 128 mlv hooks install 2>err &&
		test_grep "^fatal: hooks directory .*/repo/.husky.: .\.husky. is a symbolic link" err &&
		git config --unset core.hooksPath &&
		nothing_installed
	) &&
	test -z "$(ls -A outside)"
'

test_expect_success 'a symlink among the leading directories (husky: .husky/_) is named too' '
	(
		cd repo &&
		for p in .husky/_ ./.husky/_ "$(pwd)/.husky/_" ../repo/.husky/_
		do
			git config core.hooksPath "$p" &&
			test_expect_code 128 mlv hooks install 2>err &&
			test_grep "^fatal: .*\.husky/_. is beyond a symbolic link (.\.husky.)" err &&
			test_expect_code 128 mlv hooks status 2>err &&
			test_grep "beyond a symbolic link (.\.husky.)" err &&
			test_expect_code 128 mlv hooks uninstall 2>err &&
			test_grep "beyond a symbolic link (.\.husky.)" err || return 1
		done &&
		git config --unset core.hooksPath &&
		nothing_installed
	) &&
	test -z "$(ls -A outside)"
'

test_expect_success 'status and uninstall do not follow it either' '
	echo "#!/bin/sh" >outside/pre-commit &&
	chmod +x outside/pre-commit &&
	(
		cd repo &&
		git config core.hooksPath .husky &&
		test_expect_code 128 mlv hooks status 2>err &&
		test_grep "symbolic link" err &&
		test_expect_code 128 mlv hooks uninstall 2>err &&
		test_grep "symbolic link" err &&
		git config --unset core.hooksPath
	) &&
	test_path_is_executable outside/pre-commit &&
	rm outside/pre-commit
'

test_expect_success '".." below the top of the work tree is refused' '
	(
		cd repo &&
		git config core.hooksPath sub/../hooks &&
		test_expect_code 128 mlv hooks install 2>err &&
		test_grep "goes up (.\.\..) inside the work tree" err &&
		git config --unset core.hooksPath &&
		nothing_installed
	)
'

test_expect_success 'a hooks directory in the work tree is made and used, without symlinks' '
	(
		cd repo &&
		git config core.hooksPath ./hk/_ &&
		mlv hooks install >out &&
		for h in $HOOKS
		do
			test_path_is_executable hk/_/$h || return 1
		done &&
		test_grep "^installed .*/hk/_/pre-commit$" out &&
		mlv hooks status >out &&
		test_grep "^pre-commit  *installed$" out &&
		mlv hooks uninstall >out &&
		test_path_is_missing hk/_/pre-commit &&
		git config --unset core.hooksPath &&
		rm -rf hk .gitattributes
	)
'

test_expect_success 'outside the work tree the hooks directory is followed, as git follows it' '
	mkdir real &&
	ln -s real linked &&
	(
		cd repo &&
		git config core.hooksPath "$TRASH_DIRECTORY/linked" &&
		mlv hooks install >out &&
		mlv hooks uninstall >out &&
		git config --unset core.hooksPath &&
		rm -f .gitattributes
	) &&
	test -z "$(ls -A real)"
'

test_expect_success 'setup: .gitattributes committed as a symlink out of the work tree' '
	echo "*.txt text" >attrs &&
	test_create_repo attr &&
	(
		cd attr &&
		mlv init -q &&
		ln -s ../attrs .gitattributes &&
		git add -A && test_tick && git commit -q -m base
	)
'

test_expect_success 'install refuses a symlinked .gitattributes before writing anything' '
	(
		cd attr &&
		test_expect_code 128 mlv hooks install 2>err &&
		test_grep "^fatal: .*/attr/.gitattributes. is a symbolic link, not a file mlv edits (nothing was changed)" err &&
		nothing_installed &&
		test_path_is_symlink .gitattributes
	) &&
	echo "*.txt text" >expect &&
	test_cmp expect attrs
'

test_expect_success 'install refuses while git holds the config lock, changing nothing' '
	(
		cd attr &&
		rm .gitattributes &&
		>.git/config.lock &&
		test_expect_code 128 mlv hooks install 2>err &&
		test_grep "^fatal: cannot lock the repository.s git config: .*config.lock. exists" err &&
		rm .git/config.lock &&
		nothing_installed &&
		test_path_is_missing .gitattributes
	)
'

test_expect_success 'a hook that cannot be chained: nothing changed, config and attributes too' '
	(
		cd attr &&
		printf "#!/bin/sh\nexit 0\n" >.git/hooks/post-merge &&
		chmod +x .git/hooks/post-merge &&
		cp .git/hooks/post-merge .git/hooks/post-merge.pre-mlv &&
		test_expect_code 128 mlv hooks install 2>err &&
		test_grep "cannot chain hook" err &&
		test_path_is_missing .git/hooks/pre-commit &&
		test_must_fail git config merge.mlv.driver &&
		test_path_is_missing .gitattributes &&
		rm .git/hooks/post-merge .git/hooks/post-merge.pre-mlv
	)
'

test_expect_success 'uninstall leaves a symlinked .gitattributes alone, with a warning' '
	(
		cd attr &&
		mlv hooks install &&
		test_path_is_executable .git/hooks/pre-commit &&
		rm .gitattributes &&
		ln -s ../attrs .gitattributes &&
		mlv hooks uninstall >out 2>err &&
		test_grep "^warning: .*gitattributes. is a symbolic link, not a file mlv edits: left alone" err &&
		test_path_is_missing .git/hooks/pre-commit &&
		test_must_fail git config merge.mlv.driver &&
		test_path_is_symlink .gitattributes &&
		mlv hooks uninstall --json >out.json &&
		jq -e ".warnings | length == 1" out.json
	) &&
	test_cmp expect attrs
'

# paste FILE SED-EXPRESSION: run in sh the command a hint shows (what the expression keeps).
paste () {
	sed -n "$2" "$1" >cmd &&
	test_line_count = 1 cmd &&
	cat cmd &&
	sh ./cmd
}

test_expect_success 'setup: a hostile name, in conflict after a merge' '
	test_create_repo names &&
	(
		cd names &&
		mlv init -q &&
		echo base >"$hostile" &&
		mlv add -q -- "$hostile" &&
		git add -A && test_tick && git commit -q -m base &&
		git checkout -q -b other &&
		echo theirs >"$hostile" &&
		mlv add -q -- "$hostile" &&
		git add -A && test_tick && git commit -q -m theirs &&
		git checkout -q - &&
		echo ours >"$hostile" &&
		mlv add -q -- "$hostile" &&
		git add -A && test_tick && git commit -q -m ours &&
		test_must_fail git merge -q other &&
		grep "^<<<<<<< " "$hostile.mlv"
	)
'

test_expect_success 'the conflict hint pasted into sh resolves it and runs nothing else' '
	(
		cd names &&
		test_expect_code 1 mlv ls >out 2>err &&
		paste err "s/^hint: .*e\.g\. \(git checkout --ours -- .*\) or git checkout --theirs .*/\1/p" &&
		test_path_is_missing "$HOME"x &&
		! grep "^<<<<<<< " "$hostile.mlv" &&
		paste err "s/^hint: .* then \(git add -- .*\) and \(mlv checkout -- .*\)$/\1 \&\& \2/p" &&
		test_path_is_missing "$HOME"x &&
		echo ours >expect &&
		test_cmp expect "$hostile" &&
		test_tick && git commit -q --no-edit
	)
'

test_expect_success 'the forgotten-checkout hint of mlv add, pasted, runs nothing else' '
	(
		cd names &&
		git checkout -q other &&
		test_must_fail mlv status --exit-code >out &&
		mlv add -- "$hostile" 2>err &&
		test_grep "^warning: .* holds the version its pointer named at" err &&
		paste err "s/^hint: .*undo with: \(git checkout -- .*\)$/\1/p" &&
		test_path_is_missing "$HOME"x &&
		echo theirs >expect &&
		test_cmp expect "$hostile"
	)
'

test_expect_success 'the tracked-by-git hint of mlv add, pasted, runs nothing else' '
	(
		cd names &&
		echo plain >"$hostile.txt" &&
		git add -- "$hostile.txt" &&
		test_expect_code 128 mlv add -- "$hostile.txt" 2>err &&
		paste err "s/^hint: stop tracking it in git first: //p" &&
		test_path_is_missing "$HOME"x &&
		test -z "$(git ls-files -- "$hostile.txt")" &&
		rm -- "$hostile.txt"
	)
'

test_expect_success 'pre-commit hints, pasted, run nothing else; none mentions mlv fetch' '
	(
		cd names &&
		mlv hooks install >/dev/null 2>&1 &&
		echo junk >"b$hostile.mlv" &&
		git add -- "b$hostile.mlv" &&
		test_must_fail git commit -q -m bad 2>err &&
		test_grep ! "mlv fetch" err &&
		rm -- "b$hostile.mlv" &&
		paste err "s/^hint: fix or unstage it: //p" &&
		test_path_is_missing "$HOME"x &&
		test -z "$(git diff --cached --name-only)"
	)
'

test_expect_success 'the missing-data hints of pre-commit, pasted, run nothing else' '
	(
		cd names &&
		echo new >"c$hostile" &&
		mlv add -q -- "c$hostile" &&
		git add -- "c$hostile.mlv" &&
		oid=$(sed -n "s/^oid sha256://p" "c$hostile.mlv") &&
		sqlite3 "$(git rev-parse --git-common-dir)/mlv/index.db" \
			"DELETE FROM objects WHERE oid = x'"'"'$oid'"'"'" &&
		test_must_fail git commit -q -m missing 2>err &&
		paste err "s/^hint: the data is in the work tree: store it with \(mlv add -- .*\), then commit again$/\1/p" &&
		test_path_is_missing "$HOME"x &&
		git commit -q -m stored &&
		echo newer >"c$hostile" &&
		mlv add -q -- "c$hostile" &&
		git add -- "c$hostile.mlv" &&
		oid=$(sed -n "s/^oid sha256://p" "c$hostile.mlv") &&
		sqlite3 "$(git rev-parse --git-common-dir)/mlv/index.db" \
			"DELETE FROM objects WHERE oid = x'"'"'$oid'"'"'" &&
		rm -- "c$hostile" &&
		test_must_fail git commit -q -m missing 2>err &&
		test_grep "^hint: the data is missing from this store: add it from a clone that has it" err &&
		test_grep ! "mlv fetch" err &&
		# (post-checkout would fail on the data missing from the work tree)
		mlv hooks uninstall >/dev/null &&
		paste err "s/^hint: the data is missing from this store: .*unstage the pointer: //p" &&
		test_path_is_missing "$HOME"x &&
		test -z "$(git diff --cached --name-only)"
	)
'

test_expect_success 'a name with control characters stays on one line of the hint' '
	(
		cd names &&
		name=$(printf "c\033d\te") &&
		echo junk >"$name.mlv" &&
		test_expect_code 1 mlv ls -- "$name" >out 2>err &&
		test_grep "^hint: .*git rm -- .c.\$.\\\\033..d.\$.\\\\011..e\.mlv.$" err &&
		grep "^hint:" err >hints &&
		test_line_count = 1 hints &&
		! grep "$(printf "\033")" hints &&
		rm -- "$name.mlv"
	)
'

test_done
