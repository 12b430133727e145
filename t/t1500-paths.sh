#!/bin/sh

test_description='mlv add and checkout: bad paths, special files and symlinks'

. "$(dirname "$0")"/test-lib.sh

# The pointer files anywhere below the trash directory (inside and outside
# the repository), so that a refusal can be shown to leave none behind.
list_pointers () {
	find . -name .git -prune -o -type f -name "*.mlv" -print | sort
}

# add_refused CODE PATTERN ARG...: "mlv add ARG..." in repo exits CODE with
# an error or fatal message containing PATTERN, and no pointer appears.
add_refused () {
	add_refused_code_=$1
	add_refused_pat_=$2
	shift 2
	list_pointers >pointers.before &&
	test_expect_code "$add_refused_code_" mlv -C repo add "$@" 2>err &&
	test_grep -E "^(fatal|error): " err &&
	test_grep -F -e "$add_refused_pat_" err &&
	list_pointers >pointers.after &&
	test_cmp pointers.before pointers.after
}

test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	mkdir -p repo/data/sub repo/outer/in repo/plain &&
	echo a >repo/data/a &&
	echo s >repo/data/sub/s &&
	echo in >repo/outer/in/x &&
	echo p >repo/plain/p &&
	mlv -C repo add data outer/in &&
	test_commit -C repo --no-tag in-git tracked.txt &&
	echo outside >outside.bin
'

test_expect_success 'a relative path outside the repository is refused' '
	add_refused 128 "../outside.bin" ../outside.bin &&
	test_grep "outside" err &&
	test_path_is_missing outside.bin.mlv
'

test_expect_success 'an absolute path outside the repository is refused' '
	add_refused 128 "$TRASH_DIRECTORY/outside.bin" "$TRASH_DIRECTORY/outside.bin" &&
	test_grep "outside repository" err &&
	test_path_is_missing outside.bin.mlv
'

test_expect_success 'paths inside .git are refused' '
	add_refused 128 ".git/config" .git/config &&
	add_refused 128 "plain/../.git/HEAD" plain/../.git/HEAD &&
	add_refused 128 ".GIT/config" .GIT/config &&
	add_refused 128 "'\''.git'\''" .git
'

test_expect_success 'paths inside .mlv are refused' '
	add_refused 128 ".mlv/config" .mlv/config &&
	add_refused 128 "'\''.mlv'\''" .mlv &&
	test_path_is_missing repo/.mlv.mlv &&
	test_path_is_missing repo/.mlv/config.mlv
'

test_expect_success '.. components that escape the repository are refused' '
	add_refused 128 "plain/../../outside.bin" plain/../../outside.bin &&
	add_refused 128 "../repo/../outside.bin" ../repo/../outside.bin
'

test_expect_success '.. components that stay inside are resolved' '
	mlv -C repo add plain/../plain/p >out &&
	test_grep "added plain/p" out &&
	test_path_is_file repo/plain/p.mlv &&
	mlv -C repo rm --keep plain/p &&
	test_path_is_missing repo/plain/p.mlv
'

test_expect_success 'a path tracked by git is refused with a hint' '
	add_refused 128 "tracked.txt" tracked.txt &&
	test_grep "^hint:.*git rm" err &&
	test_path_is_missing repo/tracked.txt.mlv
'

test_expect_success 'a nonexistent path is named' '
	add_refused 128 "no/such/file" no/such/file &&
	test_path_is_missing repo/no
'

test_expect_success 'the top of the work tree is refused' '
	add_refused 128 "top of the work tree" . &&
	add_refused 128 "top of the work tree" "$TRASH_DIRECTORY/repo" &&
	list_pointers >pointers.before &&
	(cd repo/plain && test_expect_code 128 mlv add ..) 2>err &&
	test_grep "top of the work tree" err &&
	list_pointers >pointers.after &&
	test_cmp pointers.before pointers.after
'

test_expect_success 'an empty path is refused' '
	add_refused 128 "empty path" ""
'

test_expect_success 'a pointer file itself is refused' '
	cp repo/data.mlv data.mlv.saved &&
	add_refused 128 "'\''data.mlv'\'' is a pointer file" data.mlv &&
	test_path_is_missing repo/data.mlv.mlv &&
	test_cmp data.mlv.saved repo/data.mlv
'

test_expect_success 'a path inside a tracked directory is refused' '
	add_refused 128 "'\''data/sub/s'\'' is inside tracked directory '\''data'\''" data/sub/s &&
	add_refused 128 "'\''data/sub'\''" data/sub &&
	test_path_is_missing repo/data/sub.mlv &&
	test_path_is_missing repo/data/sub/s.mlv
'

test_expect_success 'a directory containing a tracked path is refused' '
	add_refused 128 "'\''outer'\'' contains tracked path '\''outer/in'\''" outer &&
	test_path_is_missing repo/outer.mlv
'

test_expect_success 'a failing argument stops the whole add' '
	echo q >repo/plain/q &&
	add_refused 128 "nosuch" plain/q nosuch &&
	test_path_is_missing repo/plain/q.mlv
'

# "outlink" is a symlink to a directory outside the repository: the textual
# path is inside, the file is not (git says "beyond a symbolic link").
test_expect_success 'a path through a symlink to a directory outside is refused' '
	mkdir -p ext &&
	echo data >ext/f &&
	ln -s "$TRASH_DIRECTORY/ext" repo/outlink &&
	test_when_finished "rm -f repo/outlink ext/f.mlv ext/.gitignore" &&
	add_refused 128 "outlink" outlink/f &&
	test_path_is_missing ext/f.mlv &&
	test_path_is_missing ext/.gitignore
'

test_expect_success 'a name with a newline inside a tracked directory round-trips' '
	mkdir repo/nl &&
	printf "line one\nline two\n" >"repo/nl/a
b" &&
	echo plain >repo/nl/c &&
	mlv -C repo add nl &&
	test_grep -x "files 2" repo/nl.mlv &&
	cp "repo/nl/a
b" nl.saved &&
	rm -r repo/nl &&
	mlv -C repo checkout nl &&
	test_cmp_bin nl.saved "repo/nl/a
b" &&
	ls repo/nl >listing &&
	test_line_count = 3 listing &&
	mlv -C repo status nl >out &&
	test_grep ! -E "modified|deleted|added|typechange" out
'

test_expect_success 'a tracked path with a newline is refused' '
	mkdir repo/nl2 &&
	echo x >"repo/nl2/x
y" &&
	add_refused 128 "newline" "nl2/x
y" &&
	test_path_is_missing "repo/nl2/x
y.mlv" &&
	test_path_is_missing repo/nl2/.gitignore
'

test_lazy_prereq UNIX_SOCKET '
	python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.bind(\"sock\")" &&
	test -S sock
'

test_expect_success 'a FIFO inside a directory is skipped with a warning' '
	mkdir repo/special &&
	echo regular >repo/special/regular &&
	mkfifo repo/special/fifo &&
	mlv -C repo add special >out 2>err &&
	test_grep "added special (data, 1 files" out &&
	test_grep "^warning: .*special/fifo" err &&
	test_grep -x "files 1" repo/special.mlv
'

test_expect_success UNIX_SOCKET 'a unix socket inside a directory is skipped with a warning' '
	python3 -c "import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" \
		repo/special/sock &&
	test -S repo/special/sock &&
	echo more >repo/special/more &&
	mlv -C repo add special >out 2>err &&
	test_grep "added special (data, 2 files" out &&
	test_grep "^warning: .*special/sock" err &&
	test_grep "^warning: .*special/fifo" err
'

test_expect_success 'a FIFO given directly is refused' '
	mkfifo repo/fifo &&
	add_refused 128 "fifo" fifo &&
	rm repo/fifo
'

# Every symlink is stored as a link with its target string, wherever it
# points, as git and tar do: safe because mlv never follows one when it
# writes.
test_expect_success SYMLINKS 'symlinks inside a tracked directory are stored, wherever they point' '
	mkdir -p repo/links/sub &&
	echo target >repo/links/sub/t &&
	ln -s sub/t repo/links/rel &&
	ln -s ../t repo/links/sub/up &&
	ln -s ./sub repo/links/dirlink &&
	ln -s ../../outside.bin repo/links/out &&
	ln -s ../links/sub/t repo/links/outin &&
	ln -s "$TRASH_DIRECTORY/outside.bin" repo/links/abs &&
	ln -s /etc/passwd repo/links/abs2 &&
	mlv -C repo add links >out 2>err &&
	test_grep "added links (data, 8 files" out &&
	test_must_be_empty err
'

test_expect_success SYMLINKS 'stored symlinks are checked out as symlinks with the same target' '
	rm -r repo/links &&
	mlv -C repo checkout links &&
	for l in rel sub/up dirlink out outin abs abs2
	do
		test_path_is_symlink repo/links/$l || return 1
	done &&
	test "$(readlink repo/links/rel)" = sub/t &&
	test "$(readlink repo/links/sub/up)" = ../t &&
	test "$(readlink repo/links/dirlink)" = ./sub &&
	test "$(readlink repo/links/out)" = ../../outside.bin &&
	test "$(readlink repo/links/outin)" = ../links/sub/t &&
	test "$(readlink repo/links/abs)" = "$TRASH_DIRECTORY/outside.bin" &&
	test "$(readlink repo/links/abs2)" = /etc/passwd &&
	test_path_is_file repo/links/sub/t &&
	mlv -C repo status links >st &&
	test_grep ! -E "modified|missing|added|deleted" st
'

# "dot" -> "." keeps the link inside, but "esc" climbs through it: textually
# dot/dot/dot/../../.. is the directory itself, in fact three levels above.
# Stored as a link, it is recreated as one and never written through.
test_expect_success SYMLINKS 'a symlink escaping through another symlink is stored, never followed' '
	mkdir repo/chain &&
	echo c >repo/chain/c &&
	ln -s . repo/chain/dot &&
	ln -s dot/dot/dot/../../.. repo/chain/esc &&
	test_when_finished "rm -rf repo/chain repo/chain.mlv" &&
	mlv -C repo add chain 2>err &&
	test_must_be_empty err &&
	rm -r repo/chain &&
	mlv -C repo checkout chain &&
	test "$(readlink repo/chain/esc)" = dot/dot/dot/../../.. &&
	test "$(readlink repo/chain/dot)" = .
'

test_expect_success SYMLINKS 'checkout --force never writes through a symlinked subdirectory' '
	mkdir -p victim &&
	echo precious >victim/s &&
	echo keep >victim/keep &&
	(cd victim && find . -exec ls -ld {} + | sort && cat s keep) >victim.before &&
	rm -r repo/data/sub &&
	ln -s "$TRASH_DIRECTORY/victim" repo/data/sub &&
	test_expect_code 1 mlv -C repo checkout 2>err &&
	test_grep "data/sub" err &&
	test_path_is_symlink repo/data/sub &&
	mlv -C repo checkout --force &&
	(cd victim && find . -exec ls -ld {} + | sort && cat s keep) >victim.after &&
	test_cmp victim.before victim.after &&
	test_path_is_dir repo/data/sub &&
	! test -h repo/data/sub &&
	echo s >expect &&
	test_cmp expect repo/data/sub/s
'

test_expect_success SYMLINKS 'checkout --force never writes through a symlinked tracked directory' '
	(cd victim && find . -exec ls -ld {} + | sort && cat s keep) >victim.before &&
	rm -r repo/data &&
	ln -s "$TRASH_DIRECTORY/victim" repo/data &&
	mlv -C repo checkout --force data &&
	(cd victim && find . -exec ls -ld {} + | sort && cat s keep) >victim.after &&
	test_cmp victim.before victim.after &&
	! test -h repo/data &&
	test_path_is_file repo/data/a &&
	test_path_is_file repo/data/sub/s
'

# The parent of a tracked directory replaced by a symlink to a directory
# outside: checkout must neither write nor remove anything there.
test_expect_success SYMLINKS 'checkout --force removes nothing through a symlinked parent' '
	mkdir -p repo/p/ds &&
	echo z >repo/p/ds/z &&
	mlv -C repo add p/ds &&
	mkdir -p ext2 &&
	mv repo/p/ds repo/p/ds.mlv ext2/ &&
	rm -r repo/p &&
	ln -s "$TRASH_DIRECTORY/ext2" repo/p &&
	test_when_finished "rm -f repo/p" &&
	rm ext2/ds/z &&
	echo precious >ext2/ds/aaa &&
	(cd ext2 && find . -exec ls -ld {} + | sort && cat ds/aaa) >ext2.before &&
	test_must_fail mlv -C repo checkout --force p/ds 2>err &&
	test_grep "p/ds" err &&
	(cd ext2 && find . -exec ls -ld {} + | sort && cat ds/aaa) >ext2.after &&
	test_cmp ext2.before ext2.after
'

test_done
