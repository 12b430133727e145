#!/bin/sh

test_description='mlv add: every symlink stored as a link, --dereference, exec bit, empty directories, long names'

. "$(dirname "$0")"/test-lib.sh

# tree_of ARTIFACT: the stored listing of the artifact's top tree.
tree_of () {
	mlv -C repo cat "$(sed -n "s/^oid //p" "repo/$1.mlv")"
}

# no_changes ARTIFACT: status reports nothing for it but, maybe, an
# uncommitted pointer.
no_changes () {
	mlv -C repo status "$1" >status.out &&
	test_grep ! -E "^ *(modified|added|deleted|typechange|not in store|bad pointer)" status.out
}

test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	echo outside >outside.bin
'

test_expect_success SYMLINKS 'every symlink is stored with its target, wherever it points' '
	mkdir -p repo/links/sub &&
	echo target >repo/links/sub/t &&
	ln -s sub/t repo/links/rel &&
	ln -s ../../outside.bin repo/links/out &&
	ln -s "$TRASH_DIRECTORY/outside.bin" repo/links/abs &&
	ln -s /etc/passwd repo/links/abs2 &&
	ln -s nowhere repo/links/dangling &&
	ln -s . repo/links/dot &&
	ln -s dot/dot/../../.. repo/links/esc &&
	mlv -C repo add links >out 2>err &&
	test_must_be_empty err &&
	test_grep "added links (data, 8 files" out &&
	tree_of links >tree &&
	test_grep "^120000 blob .*	abs$" tree &&
	test_grep "^120000 blob .*	abs2$" tree &&
	test_grep "^120000 blob .*	out$" tree &&
	test_grep "^120000 blob .*	dangling$" tree &&
	test_grep "^120000 blob .*	esc$" tree &&
	mlv -C repo cat links/abs >target &&
	printf "%s" "$TRASH_DIRECTORY/outside.bin" >expect &&
	test_cmp expect target &&
	mlv -C repo cat links/esc >target &&
	printf "%s" "dot/dot/../../.." >expect &&
	test_cmp expect target &&
	no_changes links
'

test_expect_success SYMLINKS 'nothing is read through a link' '
	# The link target changes; the stored link does not.
	echo changed >outside.bin &&
	no_changes links &&
	mlv -C repo hash links >hash &&
	grep "^$(sed -n "s/^oid sha256://p" repo/links.mlv)  links$" hash
'

test_expect_success 'the executable bit and empty directories are recorded' '
	mkdir -p repo/modes/empty repo/modes/sub/deeper/empty2 &&
	printf "#!/bin/sh\n" >repo/modes/run.sh &&
	chmod 755 repo/modes/run.sh &&
	echo plain >repo/modes/plain &&
	mlv -C repo add modes &&
	test_grep -x "files 2" repo/modes.mlv &&
	tree_of modes >tree &&
	test_grep "^100755 blob .*	run.sh$" tree &&
	test_grep "^100644 blob .*	plain$" tree &&
	test_grep "^040000 tree .* 0	empty$" tree &&
	mlv -C repo cat "$(sed -n "s/^040000 tree \([0-9a-f]*\) .*	sub$/\1/p" tree)" >sub &&
	test_grep "^040000 tree .*	deeper$" sub
'

test_expect_success 'a changed executable bit is a modification' '
	chmod 644 repo/modes/run.sh &&
	test_expect_code 1 no_changes modes >out &&
	test_grep "modified: *modes/run.sh" out &&
	chmod 755 repo/modes/run.sh &&
	no_changes modes
'

test_expect_success 'names of 255 bytes and deep paths are stored' '
	name=$(printf "%0255d" 7) &&
	comp=$(printf "%0200d" 1) &&
	mkdir -p repo/long &&
	echo long >repo/long/$name &&
	deep=repo/long/$comp/$comp/$comp/$comp/$comp/$comp/$comp/$comp/$comp/$comp/$comp/$comp &&
	deep=$deep/$comp/$comp/$comp/$comp/$comp/$comp/$comp &&
	mkdir -p $deep &&
	echo deep >$deep/f &&
	mlv -C repo add long &&
	test_grep -x "files 2" repo/long.mlv &&
	tree_of long >tree &&
	test_grep "^100644 blob .*	$name$" tree &&
	mlv -C repo cat ${deep#repo/}/f >out &&
	echo deep >expect &&
	test_cmp expect out
'

test_expect_success 'a path longer than mlv can check out is refused' '
	comp=$(printf "%0200d" 2) &&
	deep=repo/toolong/$comp/$comp/$comp/$comp/$comp/$comp/$comp/$comp/$comp/$comp &&
	deep=$deep/$comp/$comp/$comp/$comp/$comp/$comp/$comp/$comp/$comp/$comp &&
	mkdir -p $deep &&
	echo x >$deep/f &&
	test_expect_code 128 mlv -C repo add toolong 2>err &&
	test_grep "longer than 4000 bytes" err &&
	test_path_is_missing repo/toolong.mlv
'

# A Hugging Face hub cache: snapshots/<rev>/ holds only links into ../../blobs/.
test_expect_success SYMLINKS 'setup a Hugging Face cache snapshot' '
	hf=repo/hub/models--org--name &&
	mkdir -p $hf/blobs $hf/refs $hf/snapshots/abc123/sub &&
	echo "{\"model_type\": \"tiny\"}" >$hf/blobs/1111 &&
	generate_file $hf/blobs/2222 300K weights &&
	echo abc123 >$hf/refs/main &&
	ln -s ../../blobs/1111 $hf/snapshots/abc123/config.json &&
	ln -s ../../../blobs/2222 $hf/snapshots/abc123/sub/model.safetensors
'

test_expect_success SYMLINKS 'without --dereference a snapshot is stored as its links' '
	mlv -C repo hash hub/models--org--name/snapshots/abc123 >links.id &&
	mlv -C repo hash --dereference hub/models--org--name/snapshots/abc123 >files.id &&
	! test_cmp links.id files.id
'

test_expect_success SYMLINKS 'add --dereference stores what the links point to' '
	snap=hub/models--org--name/snapshots/abc123 &&
	mlv -C repo add --dereference $snap >out &&
	test_grep "added $snap (data, 2 files" out &&
	test_grep -x "dereference yes" repo/$snap.mlv &&
	test_grep -x "size $((300 * 1024 + 23))" repo/$snap.mlv &&
	tree_of $snap >tree &&
	test_grep "^100644 blob .* 23	config.json$" tree &&
	test_grep "^040000 tree .*	sub$" tree &&
	mlv -C repo cat $snap/sub/model.safetensors >out &&
	test_cmp_bin repo/hub/models--org--name/blobs/2222 out &&
	grep "^$(sed -n "s/^oid sha256://p" repo/$snap.mlv) " files.id &&
	no_changes $snap &&
	mlv -C repo add --json $snap >json &&
	test_grep "\"dereference\":true" json &&
	test_grep "\"changed\":false" json
'

test_expect_success SYMLINKS 'a re-add keeps --dereference, --no-dereference drops it' '
	snap=hub/models--org--name/snapshots/abc123 &&
	mlv -C repo add $snap >out &&
	test_must_be_empty out &&
	test_grep -x "dereference yes" repo/$snap.mlv &&
	mlv -C repo add --no-dereference $snap &&
	test_grep ! dereference repo/$snap.mlv &&
	tree_of $snap >tree &&
	test_grep "^120000 blob .*	config.json$" tree
'

test_expect_success SYMLINKS '--dereference: a dangling link is an error naming it' '
	mkdir -p repo/dang &&
	echo ok >repo/dang/ok &&
	ln -s missing repo/dang/broken &&
	test_expect_code 128 mlv -C repo add --dereference dang 2>err &&
	test_grep "dang/broken.*dangling" err &&
	test_path_is_missing repo/dang.mlv
'

test_expect_success SYMLINKS '--dereference: link loops are errors naming the link' '
	mkdir -p repo/loop1 repo/loop2/sub &&
	ln -s b repo/loop1/a &&
	ln -s a repo/loop1/b &&
	test_expect_code 128 mlv -C repo add --dereference loop1 2>err &&
	test_grep "loop1/a.*loop" err &&
	test_path_is_missing repo/loop1.mlv &&
	ln -s .. repo/loop2/sub/up &&
	test_expect_code 128 mlv -C repo add --dereference loop2 2>err &&
	test_grep "loop2/sub/up.*loop" err &&
	test_path_is_missing repo/loop2.mlv
'

test_expect_success 'the scan does not depend on the current directory' '
	mkdir -p repo/cwd/a &&
	echo x >repo/cwd/a/x &&
	(cd repo/cwd/a && mlv add ..) &&
	test_grep -x "files 1" repo/cwd.mlv
'

test_done
