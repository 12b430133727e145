#!/bin/sh

test_description='pointer files whose names fail the path gate are bad pointers for every command'

. "$(dirname "$0")"/test-lib.sh

# Everything below top/ (the repository and what lies beside it): names,
# types and checksums.  mlv's SQLite files and git's index may change, nothing else.
snapshot () {
	(
		cd top &&
		find . -name '*.db' -prune -o -name '*.db-*' -prune -o -path ./repo/.git/index -prune -o -print |
		LC_ALL=C sort |
		while IFS= read -r f
		do
			if test -h "$f"
			then
				printf "%s link %s\n" "$f" "$(readlink "$f")"
			elif test -f "$f"
			then
				printf "%s file %s\n" "$f" "$(cksum <"$f")"
			else
				printf "%s other\n" "$f"
			fi || exit 1
		done
	)
}

test_expect_success 'setup' '
	mkdir top &&
	test_create_repo top/repo &&
	mlv -C top/repo init -q &&
	mkdir -p top/repo/d top/repo/sub top/beside &&
	echo one >top/repo/d/config &&
	echo "[core] fsmonitor = evil" >top/repo/d/HEAD &&
	generate_file top/repo/good.bin 10K good &&
	echo precious >top/beside/precious &&
	mlv -C top/repo add d good.bin &&
	git -C top/repo add -A &&
	git -C top/repo commit -q -m good &&
	cp top/repo/d.mlv dir-pointer &&
	cp top/repo/good.bin.mlv file-pointer
'

# run_all POINTER: every command against the hostile pointer POINTER (a
# copy of a valid pointer), none of which may change anything.
run_all () {
	p=$1 &&
	a=${p%.mlv} &&
	snapshot >before &&
	mlv -C top/repo status >out 2>&1 ;
	test_grep -F -e "$p" out &&
	test_expect_code 1 mlv -C top/repo ls >out 2>err &&
	test_grep "bad pointer" out &&
	test_grep -F -e "$p" err &&
	test_expect_code 1 mlv -C top/repo ls --json >out &&
	jq -e --arg p "$p" ".artifacts[] | select(.pointer == \$p) | .error" out &&
	test_must_fail mlv -C top/repo checkout &&
	test_must_fail mlv -C top/repo checkout --force &&
	test_must_fail mlv -C top/repo rm -f -- "$p" &&
	test_must_fail mlv -C top/repo rm --keep -f -- "$p" &&
	test_must_fail mlv -C top/repo mv -- "$p" moved &&
	test_path_is_missing top/repo/moved &&
	test_expect_code 1 mlv -C top/repo fsck >out &&
	test_grep -F -e "$p" out &&
	test_must_fail mlv -C top/repo add -- "$a" &&
	test_must_fail mlv -C top/repo add -- "$p" &&
	{ mlv -C top/repo status --json >out; test $? -le 1; } &&
	jq -e . out >/dev/null &&
	{ mlv -C top/repo hash -- "$a" >/dev/null 2>&1; test $? -le 128; } &&
	{ mlv -C top/repo fsck --repair >/dev/null 2>&1; test $? -le 1; } &&
	if test "$a" != . && test "$a" != .git && test "$a" != .mlv
	then
		test_must_fail mlv -C top/repo rm -f -- "$a" &&
		test_must_fail mlv -C top/repo cat -- "$a" &&
		test_must_fail mlv -C top/repo checkout --force -- "$a"
	fi &&
	snapshot >after &&
	test_cmp before after
}

for name in ..mlv .git.mlv .GIT.mlv sub/.git.mlv .mlv.mlv ".git .mlv" git~1.mlv \
	".Git.mlv" "sub/.MLV.mlv" "sub/GIT~1.mlv" ".git..mlv" ".Mlv.mlv" \
	".git::stream.mlv" ".git. . .mlv"
do
	test_expect_success "a directory pointer named '$name'" '
		cp dir-pointer "top/repo/$name" &&
		test_when_finished "rm -f \"top/repo/$name\"" &&
		run_all "$name" &&
		test_path_is_missing top/repo/sub/.git &&
		test_path_is_file top/repo/.git/HEAD
	'
	test_expect_success "a file pointer named '$name'" '
		cp file-pointer "top/repo/$name" &&
		test_when_finished "rm -f \"top/repo/$name\"" &&
		run_all "$name"
	'
done

test_expect_success 'a pointer name too long for its lock file is a bad pointer' '
	long=$(printf "%0250d" 0) &&
	cp file-pointer "top/repo/$long.mlv" &&
	test_when_finished "rm -f \"top/repo/$long.mlv\"" &&
	test_expect_code 1 mlv -C top/repo ls >out 2>err &&
	test_grep "too long" err &&
	run_all "$long.mlv"
'

test_expect_success 'the HFS+ spelling .g<U+200C>it is a bad pointer' '
	name=$(printf ".g\342\200\214it.mlv") &&
	cp dir-pointer "top/repo/$name" &&
	test_when_finished "rm -f \"top/repo/$name\"" &&
	run_all "$name"
'

test_expect_success 'the good artifacts are still intact' '
	mlv -C top/repo fsck &&
	mlv -C top/repo status >out &&
	test_grep ! "bad pointer" out
'

test_expect_success SYMLINKS 'pointer files through a symlinked directory are not artifacts' '
	mkdir top/outside &&
	echo data >top/outside/x &&
	cp file-pointer top/outside/x.mlv &&
	ln -s ../outside top/repo/linked &&
	test_when_finished "rm -f top/repo/linked" &&
	snapshot >before &&
	mlv -C top/repo ls >out &&
	test_grep ! linked out &&
	test_must_fail mlv -C top/repo ls linked/x 2>err &&
	test_grep "symbolic link" err &&
	test_must_fail mlv -C top/repo rm -f linked/x 2>err &&
	test_grep "symbolic link" err &&
	test_must_fail mlv -C top/repo rm --keep -f linked/x.mlv &&
	test_must_fail mlv -C top/repo mv linked/x y &&
	test_must_fail mlv -C top/repo cat linked/x &&
	test_must_fail mlv -C top/repo checkout --force linked/x &&
	mlv -C top/repo checkout --force &&
	snapshot >after &&
	test_cmp before after
'

test_done
