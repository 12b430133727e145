#!/bin/sh

test_description='hostile pointer files from other people: refused with file and line, nothing written'

. "$(dirname "$0")"/test-lib.sh

# The work tree without .git and .mlv: names, types, sizes and content.
snapshot () {
	(
		cd repo &&
		find . -path ./.git -prune -o -path ./.mlv -prune -o -print | sort |
		while read -r f
		do
			if test -h "$f"
			then
				printf "%s link %s\n" "$f" "$(readlink "$f")"
			elif test -f "$f"
			then
				printf "%s file %s\n" "$f" "$(cksum <"$f")"
			else
				printf "%s dir\n" "$f"
			fi || exit 1
		done
	)
}

# commit_hostile: commit repo/hostile.mlv as someone else would.
commit_hostile () {
	git -C repo add hostile.mlv &&
	test_tick &&
	GIT_AUTHOR_NAME=Mallory GIT_AUTHOR_EMAIL=mallory@example.com \
		git -C repo commit -q -m "hostile pointer"
}

# cleanup_hostile: whatever a test left, back to the good state.
cleanup_hostile () {
	rm -f repo/hostile.mlv &&
	git -C repo add -A &&
	test_tick &&
	git -C repo commit -q --allow-empty -m cleanup &&
	mlv -C repo checkout --force
}

# check_hostile LINE PATTERN: with repo/hostile.mlv committed, status says
# "bad pointer" naming hostile.mlv:LINE, checkout fails naming it and
# writes nothing (good.bin, deleted first, stays deleted), fsck exits 1
# naming it.  The pointer is removed again at the end.
check_hostile () {
	check_line_=$1
	check_pat_=$2
	test_when_finished cleanup_hostile &&
	commit_hostile &&
	rm repo/good.bin &&
	mlv -C repo status >out &&
	test_grep "^bad pointer: *hostile.mlv:$check_line_: " out &&
	test_grep -F -e "$check_pat_" out &&
	snapshot >before &&
	test_expect_code 128 mlv -C repo checkout 2>err &&
	test_grep "hostile.mlv:$check_line_: " err &&
	test_grep -F -e "$check_pat_" err &&
	test_expect_code 128 mlv -C repo checkout hostile 2>err &&
	test_grep "hostile.mlv:$check_line_: " err &&
	snapshot >after &&
	test_cmp before after &&
	test_path_is_missing repo/good.bin &&
	test_path_is_missing repo/hostile &&
	test_expect_code 1 mlv -C repo fsck >out 2>err &&
	test_grep "hostile.mlv:$check_line_: " out &&
	git -C repo rm -q hostile.mlv &&
	git -C repo commit -q -m "drop hostile pointer" &&
	mlv -C repo checkout &&
	test_cmp_bin good.orig repo/good.bin &&
	mlv -C repo fsck
}

test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	generate_file repo/good.bin 100K good &&
	cp repo/good.bin good.orig &&
	mkdir repo/dir &&
	echo one >repo/dir/one &&
	mlv -C repo add good.bin dir &&
	git -C repo add -A &&
	git -C repo commit -q -m good &&
	GOOD=$(sha256sum good.orig | cut -d" " -f1) &&
	TREE=$(sed -n "s/^oid sha256://p" repo/dir.mlv) &&
	mlv -C repo fsck
'

test_expect_success 'first line is not a version' '
	printf "oid sha256:%s\nversion 1\nsize 1\nkind data\ntype file\n" $GOOD >repo/hostile.mlv &&
	check_hostile 1 "first line must be"
'

test_expect_success 'a malformed version' '
	printf "version 1.0\noid sha256:%s\nsize 1\nkind data\ntype file\n" $GOOD >repo/hostile.mlv &&
	check_hostile 1 "invalid version"
'

test_expect_success 'version 2 is not supported' '
	printf "version 2\noid sha256:%s\nsize 1\nkind data\ntype file\n" $GOOD >repo/hostile.mlv &&
	check_hostile 1 "unsupported pointer version 2"
'

test_expect_success 'an oid of 63 hex digits' '
	short=$(echo $GOOD | cut -c1-63) &&
	printf "version 1\noid sha256:%s\nsize 1\nkind data\ntype file\n" $short >repo/hostile.mlv &&
	check_hostile 2 "64 lowercase hex"
'

test_expect_success 'an oid that is not hex' '
	printf "version 1\noid sha256:%s\nsize 1\nkind data\ntype file\n" \
		"$(echo $GOOD | cut -c1-62)zz" >repo/hostile.mlv &&
	check_hostile 2 "64 lowercase hex"
'

test_expect_success 'an oid without sha256: prefix' '
	printf "version 1\noid %s\nsize 1\nkind data\ntype file\n" $GOOD >repo/hostile.mlv &&
	check_hostile 2 "sha256:"
'

test_expect_success 'an oid in uppercase hex' '
	upper=$(echo $GOOD | tr a-f A-F) &&
	printf "version 1\noid sha256:%s\nsize 102400\nkind data\ntype file\n" $upper >repo/hostile.mlv &&
	check_hostile 2 "64 lowercase hex"
'

test_expect_success 'a missing key' '
	printf "version 1\noid sha256:%s\nsize 102400\ntype file\n" $GOOD >repo/hostile.mlv &&
	check_hostile 4 "missing required key '\''kind'\''"
'

test_expect_success 'a directory without files' '
	printf "version 1\noid sha256:%s\nsize 4\nkind data\ntype dir\n" $TREE >repo/hostile.mlv &&
	check_hostile 5 "missing required key '\''files'\''"
'

test_expect_success 'a duplicate key' '
	printf "version 1\noid sha256:%s\nsize 102400\nsize 102400\nkind data\ntype file\n" \
		$GOOD >repo/hostile.mlv &&
	check_hostile 4 "duplicate key '\''size'\''"
'

test_expect_success 'a duplicate unknown key' '
	printf "version 1\noid sha256:%s\nsize 102400\nkind data\ntype file\nx-a 1\nx-a 2\n" \
		$GOOD >repo/hostile.mlv &&
	check_hostile 7 "duplicate key '\''x-a'\''"
'

test_expect_success 'an absurd size' '
	printf "version 1\noid sha256:%s\nsize 99999999999999999999\nkind data\ntype file\n" \
		$GOOD >repo/hostile.mlv &&
	check_hostile 3 "invalid size"
'

test_expect_success 'a negative size and a size with a leading zero' '
	printf "version 1\noid sha256:%s\nsize -1\nkind data\ntype file\n" $GOOD >repo/hostile.mlv &&
	check_hostile 3 "invalid size" &&
	printf "version 1\noid sha256:%s\nsize 0102400\nkind data\ntype file\n" $GOOD >repo/hostile.mlv &&
	check_hostile 3 "invalid size"
'

test_expect_success 'a line longer than the line limit' '
	long=$(printf "%02000d" 0) &&
	printf "version 1\noid sha256:%s\nsize 102400\nkind data\ntype file\nnote %s\n" \
		$GOOD "$long" >repo/hostile.mlv &&
	check_hostile 6 "line longer than"
'

# A 5000-byte line makes the file larger than any pointer may be: refused
# as a whole before any line is read, so the message names the file only.
test_expect_success 'a 5000-byte line' '
	long=$(printf "%05000d" 0) &&
	printf "version 1\noid sha256:%s\nsize 102400\nkind data\ntype file\nnote %s\n" \
		$GOOD "$long" >repo/hostile.mlv &&
	test_when_finished cleanup_hostile &&
	commit_hostile &&
	rm repo/good.bin &&
	mlv -C repo status >out &&
	test_grep "^bad pointer: .*hostile.mlv.* larger than" out &&
	snapshot >before &&
	test_expect_code 128 mlv -C repo checkout 2>err &&
	test_grep "hostile.mlv.* larger than" err &&
	snapshot >after &&
	test_cmp before after &&
	test_expect_code 1 mlv -C repo fsck >out &&
	test_grep "hostile.mlv" out &&
	git -C repo rm -q hostile.mlv &&
	git -C repo commit -q -m "drop hostile pointer" &&
	mlv -C repo checkout &&
	test_cmp_bin good.orig repo/good.bin
'

test_expect_success 'a NUL byte' '
	printf "version 1\noid sha256:%s\nsize 10\0000\nkind data\ntype file\n" $GOOD >repo/hostile.mlv &&
	test "$(test_file_size repo/hostile.mlv)" = 116 &&
	check_hostile 3 "NUL byte"
'

test_expect_success 'CRLF line endings' '
	printf "version 1\r\noid sha256:%s\r\nsize 102400\r\nkind data\r\ntype file\r\n" \
		$GOOD >repo/hostile.mlv &&
	check_hostile 1 "carriage return"
'

test_expect_success 'a control character' '
	printf "version 1\noid sha256:%s\nsize 102400\nkind data\ntype file\nnote \033[2J\n" \
		$GOOD >repo/hostile.mlv &&
	check_hostile 6 "control character"
'

test_expect_success 'no newline at the end' '
	printf "version 1\noid sha256:%s\nsize 102400\nkind data\ntype file" $GOOD >repo/hostile.mlv &&
	check_hostile 5 "missing newline"
'

test_expect_success 'an empty pointer file' '
	>repo/hostile.mlv &&
	check_hostile 1 "empty pointer file"
'

test_expect_success 'an unknown kind and an unknown type' '
	printf "version 1\noid sha256:%s\nsize 102400\nkind weights\ntype file\n" $GOOD >repo/hostile.mlv &&
	check_hostile 4 "unknown kind" &&
	printf "version 1\noid sha256:%s\nsize 102400\nkind data\ntype link\n" $GOOD >repo/hostile.mlv &&
	check_hostile 5 "unknown type"
'

test_expect_success 'files on a file' '
	printf "version 1\noid sha256:%s\nsize 102400\nkind data\ntype file\nfiles 3\n" \
		$GOOD >repo/hostile.mlv &&
	check_hostile 6 "only allowed for directories"
'

test_expect_success 'unknown keys are accepted and kept by a later add' '
	test_when_finished cleanup_hostile &&
	printf "version 1\noid sha256:%s\nsize 102400\nkind model\ntype file\nx-origin lab-42\nnote trained by someone else\n" \
		$GOOD >repo/good.bin.mlv &&
	git -C repo add good.bin.mlv &&
	git -C repo commit -q -m "pointer with unknown keys" &&
	mlv -C repo status >out &&
	test_grep ! "bad pointer" out &&
	rm repo/good.bin &&
	mlv -C repo checkout &&
	test_cmp_bin good.orig repo/good.bin &&
	mlv -C repo fsck &&
	generate_file repo/good.bin 50K changed &&
	mlv -C repo add good.bin &&
	id=$(sha256sum repo/good.bin | cut -d" " -f1) &&
	cat >expect <<-EOF &&
	version 1
	oid sha256:$id
	size 51200
	kind model
	type file
	x-origin lab-42
	note trained by someone else
	EOF
	test_cmp expect repo/good.bin.mlv &&
	git -C repo checkout -q good.bin.mlv &&
	mlv -C repo checkout --force &&
	test_cmp_bin good.orig repo/good.bin
'

test_expect_success 'a file pointer naming a tree' '
	test_when_finished cleanup_hostile &&
	printf "version 1\noid sha256:%s\nsize 4\nkind data\ntype file\n" $TREE >repo/hostile.mlv &&
	commit_hostile &&
	snapshot >before &&
	test_expect_code 128 mlv -C repo checkout hostile 2>err &&
	test_grep "hostile" err &&
	snapshot >after &&
	test_cmp before after &&
	git -C repo rm -q hostile.mlv &&
	git -C repo commit -q -m "drop hostile pointer"
'

test_expect_success 'a directory pointer naming a blob' '
	test_when_finished cleanup_hostile &&
	printf "version 1\noid sha256:%s\nsize 102400\nkind data\ntype dir\nfiles 1\n" \
		$GOOD >repo/hostile.mlv &&
	commit_hostile &&
	snapshot >before &&
	test_expect_code 128 mlv -C repo checkout hostile 2>err &&
	test_grep "not a tree" err &&
	snapshot >after &&
	test_cmp before after &&
	test_expect_code 1 mlv -C repo fsck >out &&
	test_grep "hostile" out &&
	git -C repo rm -q hostile.mlv &&
	git -C repo commit -q -m "drop hostile pointer"
'

test_expect_success SYMLINKS 'a pointer file that is a symlink is not followed' '
	printf "version 1\noid sha256:%s\nsize 102400\nkind data\ntype file\n" $GOOD >evil.mlv &&
	ln -s "$TRASH_DIRECTORY/evil.mlv" repo/evil.mlv &&
	test_when_finished "rm -f repo/evil.mlv" &&
	mlv -C repo checkout &&
	test_path_is_missing repo/evil &&
	mlv -C repo status >out &&
	test_grep ! evil out
'

# Trees cannot be crafted by hand here (they live inside packs); the parser
# is tested on hostile trees by the unit tests.
test_expect_success 'hostile trees are covered by the unit tests' '
	test_path_is_file "$TEST_DIRECTORY/unit/t-tree.c" &&
	grep "test_hostile" "$TEST_DIRECTORY/unit/t-tree.c"
'

test_done
