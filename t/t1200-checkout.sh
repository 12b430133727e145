#!/bin/sh

test_description='mlv checkout: the work tree follows the pointers'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: two versions committed' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p data/sub &&
	for i in 1 2 3 4 5 6; do echo "v1 $i" >data/f$i || return 1; done &&
	echo deep >data/sub/deep &&
	generate_file model.bin 6M v1 &&
	mlv add data model.bin &&
	git add -A && test_tick && git commit -q -m v1 &&
	cp -r data ../data-v1 && cp model.bin ../model-v1 &&
	echo "v2" >data/f1 &&
	rm data/f2 &&
	echo new >data/sub/new &&
	generate_file patch 1M v2 &&
	dd if=patch of=model.bin bs=1M seek=2 conv=notrunc status=none &&
	mlv add data model.bin &&
	git commit -q -am v2 &&
	cp -r data ../data-v2 && cp model.bin ../model-v2
'

test_expect_success 'checkout of the older commit restores v1' '
	git checkout -q HEAD~1 &&
	mlv checkout >out &&
	grep "^Updated" out &&
	diff -r ../data-v1 data &&
	cmp ../model-v1 model.bin &&
	mlv status --exit-code
'

test_expect_success 'checkout again rewrites nothing' '
	mlv checkout >out &&
	test_must_be_empty out &&
	mlv checkout --json >json &&
	grep "\"written\":0" json
'

test_expect_success 'only files that differ are rewritten' '
	ls -i data/f3 >before &&
	git checkout -q main &&
	mlv checkout >out &&
	grep "Updated 3 files" out &&
	ls -i data/f3 >after &&
	test_cmp before after &&
	diff -r ../data-v2 data &&
	cmp ../model-v2 model.bin
'

test_expect_success 'a deleted tracked path comes back' '
	rm -rf data model.bin &&
	mlv checkout &&
	diff -r ../data-v2 data &&
	cmp ../model-v2 model.bin
'

test_expect_success 'checkout of one path' '
	rm data/f3 model.bin &&
	mlv checkout data &&
	test_path_is_file data/f3 &&
	test_path_is_missing model.bin &&
	mlv checkout -- model.bin.mlv &&
	cmp ../model-v2 model.bin
'

test_expect_success 'a local modification is refused without --force' '
	echo "my edit" >>data/f3 &&
	cp data/f3 ../f3-edited &&
	git checkout -q HEAD~1 &&
	test_expect_code 1 mlv checkout 2>err &&
	grep "^error: .data/f3. has local changes" err &&
	grep "^hint:" err &&
	cmp ../f3-edited data/f3 &&
	cmp ../model-v2 model.bin
'

test_expect_success 'an untracked file inside a tracked directory is refused too' '
	git checkout -q main &&
	cp ../data-v2/f3 data/f3 &&
	echo precious >data/sub/untracked &&
	git checkout -q HEAD~1 &&
	test_expect_code 1 mlv checkout 2>err &&
	grep "data/sub/untracked" err &&
	test_path_is_file data/sub/untracked
'

test_expect_success 'bytes already in the store may be replaced' '
	rm data/sub/untracked &&
	mlv checkout &&
	diff -r ../data-v1 data
'

test_expect_success '--force overwrites local changes' '
	echo "my edit" >>data/f4 &&
	echo junk >data/junk &&
	mlv checkout --force &&
	diff -r ../data-v1 data
'

test_expect_success 'the executable bit is kept' '
	git checkout -q main && mlv checkout &&
	printf "#!/bin/sh\necho hi\n" >data/run.sh && chmod 755 data/run.sh &&
	mlv add data &&
	rm -rf data && mlv checkout &&
	test_path_is_executable data/run.sh &&
	chmod 644 data/run.sh &&
	mlv status >out && grep "modified: *data/run.sh" out &&
	mlv checkout &&
	test_path_is_executable data/run.sh
'

test_expect_success 'a directory where a file was tracked, and the reverse' '
	rm model.bin && mkdir model.bin && echo x >model.bin/x &&
	test_expect_code 1 mlv checkout model.bin &&
	mlv checkout --force model.bin &&
	cmp ../model-v2 model.bin &&
	rm -rf data && echo "not a dir" >data &&
	test_expect_code 1 mlv checkout data &&
	mlv checkout --force data &&
	test_path_is_dir data
'

test_expect_success 'a missing object fails before anything is written' '
	echo x >>data/f5 && mlv add data && cp data.mlv ../data.mlv.ok &&
	sed "s/^oid sha256:.*/oid sha256:$(printf %064d 0)/" ../data.mlv.ok >data.mlv &&
	test_expect_code 128 mlv checkout 2>err &&
	grep "not in the store" err &&
	cp ../data.mlv.ok data.mlv
'

test_expect_success 'what add skips, checkout leaves alone, even with --force' '
	mkdir -p data/nested/.git &&
	echo "[core]" >data/nested/.git/config &&
	mkfifo data/fifo &&
	python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\"data/sock\")" &&
	mlv status data >out &&
	! grep "nested\|fifo\|sock" out &&
	mlv checkout data &&
	mlv checkout --force data &&
	test_path_is_file data/nested/.git/config &&
	test -p data/fifo &&
	test -S data/sock &&
	rm -rf data/nested data/fifo data/sock
'

test_expect_success 'a tracked directory that is left holding untracked entries stays' '
	mkdir -p data/gone/.git &&
	echo "[core]" >data/gone/.git/config &&
	mkfifo data/gone/fifo &&
	mlv checkout --force data &&
	test_path_is_file data/gone/.git/config &&
	test -p data/gone/fifo &&
	rm -rf data/gone
'

test_expect_success 'checkout from a subdirectory' '
	rm data/f1 &&
	(cd data && mlv checkout .) &&
	test_path_is_file data/f1
'

test_done
