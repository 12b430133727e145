#!/bin/sh

test_description='mlv add: never overwrite a file that is not a pointer; pointer files named by mistake'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	echo data >repo/data &&
	mlv -C repo add data &&
	git -C repo add -A && git -C repo commit -q -m data &&
	echo video >repo/clip
'

test_expect_success 'add refuses when <path>.mlv exists and is not a pointer' '
	echo "precious real data" >repo/clip.mlv &&
	cp repo/clip.mlv saved &&
	cp repo/.gitignore gitignore.before &&
	test_expect_code 128 mlv -C repo add clip 2>err &&
	test_grep "clip.mlv.*not a pointer" err &&
	test_cmp saved repo/clip.mlv &&
	test_cmp gitignore.before repo/.gitignore &&
	test_path_is_missing repo/clip.mlv.lock
'

test_expect_success 'a directory or a symlink named <path>.mlv is refused too' '
	rm repo/clip.mlv &&
	mkdir repo/clip.mlv &&
	test_expect_code 128 mlv -C repo add clip 2>err &&
	test_grep "clip.mlv" err &&
	test_path_is_dir repo/clip.mlv &&
	rmdir repo/clip.mlv &&
	ln -s saved repo/clip.mlv &&
	test_expect_code 128 mlv -C repo add clip 2>err &&
	test_grep "clip.mlv" err &&
	test_path_is_symlink repo/clip.mlv &&
	rm repo/clip.mlv
'

test_expect_success 'a pointer with git conflict markers is replaced' '
	id=$(printf "%064d" 0) &&
	cat >repo/clip.mlv <<-EOF &&
	version 1
	<<<<<<< HEAD
	oid sha256:$id
	=======
	oid sha256:$id
	>>>>>>> other
	size 6
	kind model
	type file
	EOF
	mlv -C repo add clip &&
	test_grep -x "oid sha256:$(sha256sum repo/clip | cut -d" " -f1)" repo/clip.mlv &&
	test_grep ! "<<<<<<<" repo/clip.mlv
'

test_expect_success 'add of a pointer file says to name the data path, not git rm --cached' '
	test_expect_code 128 mlv -C repo add data.mlv 2>err &&
	test_grep "data.mlv.* pointer file" err &&
	test_grep "^hint: .*mlv add -- .data.$" err &&
	test_grep ! "rm --cached" err &&
	git -C repo ls-files --error-unmatch data.mlv
'

test_expect_success 'from a subdirectory, the hint names the path as the user does' '
	mkdir -p repo/sub &&
	echo s >repo/sub/s &&
	mlv -C repo add sub/s &&
	(cd repo/sub && test_expect_code 128 mlv add s.mlv 2>../../err) &&
	test_grep "^hint: .*mlv add -- .s.$" err
'

test_done
