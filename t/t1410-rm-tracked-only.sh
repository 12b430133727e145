#!/bin/sh

test_description='mlv rm deletes only what mlv tracks, only when the store holds an intact copy'

. "$(dirname "$0")"/test-lib.sh

# flip_byte FILE OFFSET: change the byte at OFFSET (to its value + 1).
flip_byte () {
	flip_old_=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d " ") &&
	printf "\\$(printf %03o $(( (flip_old_ + 1) % 256 )))" |
	dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

test_lazy_prereq UNIX_SOCKET '
	python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.bind(\"sock\")" &&
	test -S sock
'

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p data/sub data/empty &&
	echo a >data/a &&
	echo b >data/sub/b &&
	ln -s a data/link &&
	mlv add data &&
	git add -A &&
	git commit -q -m data
'

test_expect_success 'rm leaves a nested .git, a FIFO and untracked files, and says so' '
	git init -q data/sub/nested &&
	echo mine >data/untracked &&
	mkfifo data/fifo &&
	mlv rm data >out &&
	test_grep "left data/sub/nested" out &&
	test_grep "left data/untracked" out &&
	test_grep "left data/fifo" out &&
	test_grep "removed data" out &&
	test_path_is_missing data.mlv &&
	test_path_is_missing data/a &&
	test_path_is_missing data/link &&
	test_path_is_missing data/sub/b &&
	test_path_is_missing data/empty &&
	test_path_is_file data/sub/nested/.git/HEAD &&
	test_path_is_file data/untracked &&
	test -p data/fifo &&
	! grep -x "/data" .gitignore
'

test_expect_success UNIX_SOCKET 'rm leaves a socket' '
	rm -rf data && git checkout -q data.mlv && mlv checkout &&
	python3 -c "import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" \
		data/sock &&
	mlv rm --json data >out &&
	jq -e ".removed == [\"data\"] and .left == [\"data/sock\"]" out &&
	test -S data/sock &&
	test_path_is_missing data/a
'

test_expect_success 'rm of a modified file refuses and deletes nothing' '
	rm -rf data && git checkout -q data.mlv && mlv checkout &&
	echo changed >data/sub/b &&
	test_expect_code 128 mlv rm data 2>err &&
	test_grep "data/sub/b" err &&
	test_grep "not in the store" err &&
	test_path_is_file data/a &&
	test_path_is_file data.mlv &&
	mlv rm --force data &&
	test_path_is_missing data
'

test_expect_success 'rm --keep --force does not delete a file that is not a pointer' '
	mkdir -p d &&
	echo real data >d/clip.mlv &&
	cp d/clip.mlv clip.saved &&
	echo clip >d/clip &&
	test_must_fail mlv rm --keep --force d/clip 2>err &&
	test_must_fail mlv rm --force d/clip.mlv 2>>err &&
	test_grep "d/clip.mlv" err &&
	test_cmp clip.saved d/clip.mlv &&
	test_path_is_file d/clip
'

test_expect_success 'rm refuses when the stored copy is damaged' '
	generate_file solo.bin 100K solo &&
	cp solo.bin solo.saved &&
	mlv add solo.bin &&
	pack=$(find .git .mlv -name "*.mlvpack" -newer clip.saved | head -n 1) &&
	test -n "$pack" &&
	size=$(test_file_size "$pack") &&
	chmod u+w "$pack" &&
	flip_byte "$pack" $(($size / 2)) &&
	test_expect_code 128 mlv rm solo.bin 2>err &&
	test_grep "only good copy" err &&
	test_cmp_bin solo.saved solo.bin &&
	test_path_is_file solo.bin.mlv
'

test_done
