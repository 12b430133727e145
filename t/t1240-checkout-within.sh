#!/bin/sh

test_description='mlv checkout of a path inside a tracked directory, and pointer locks'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p data/train/sub data/test &&
	echo one >data/train/one &&
	echo deep >data/train/sub/file &&
	echo other >data/train/sub/other &&
	echo t >data/test/t &&
	echo m >model.bin &&
	mlv add -q data model.bin &&
	git add -A && test_tick && git commit -q -m data &&
	cp -r data ../data.orig
'

test_expect_success 'one file inside a tracked directory, nothing else' '
	echo "my edit" >data/train/one &&
	rm data/train/sub/file &&
	mlv checkout data/train/sub/file &&
	test_cmp ../data.orig/train/sub/file data/train/sub/file &&
	echo "my edit" >expect &&
	test_cmp expect data/train/one
'

test_expect_success 'one subtree, with its missing parents' '
	rm -rf data/train/sub &&
	echo gone >data/test/t &&
	mlv checkout data/train/sub &&
	diff -r ../data.orig/train/sub data/train/sub &&
	echo gone >expect &&
	test_cmp expect data/test/t &&
	rm -rf data/train &&
	mlv checkout data/train/sub/other &&
	test_cmp ../data.orig/train/sub/other data/train/sub/other &&
	test_path_is_missing data/train/one
'

test_expect_success 'from a subdirectory, with local changes refused' '
	(cd data && mlv checkout train/one) &&
	test_cmp ../data.orig/train/one data/train/one &&
	echo "local" >data/train/one &&
	(cd data/train && test_expect_code 1 mlv checkout one 2>../../../err) &&
	test_grep "data/train/one" ../err &&
	(cd data/train && mlv checkout --force one) &&
	test_cmp ../data.orig/train/one data/train/one
'

test_expect_success 'a path mlv cannot place is an error' '
	test_expect_code 128 mlv checkout data/train/nosuch 2>../err &&
	test_grep "data/train/nosuch" ../err &&
	test_expect_code 128 mlv checkout data/train/one/below 2>../err &&
	test_grep "data/train/one/below" ../err
'

test_expect_success 'a file where a directory of the path should be is refused' '
	rm -rf data/train/sub && echo file >data/train/sub &&
	test_expect_code 128 mlv checkout data/train/sub/file 2>../err &&
	test_grep "data/train/sub.* not a directory" ../err &&
	echo file >expect &&
	test_cmp expect data/train/sub &&
	mlv checkout --force data &&
	diff -r ../data.orig data
'

# hold_lock FILE: hold FILE.lock as mlv does, in a process that lives until
# ../release exists; its pid goes to ../holder.
hold_lock () {
	rm -f ../release ../held &&
	python3 - "$1.lock" <<-\EOF &
	import fcntl, os, sys, time
	fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
	fcntl.lockf(fd, fcntl.LOCK_EX)
	open("../held", "w").close()
	while not os.path.exists("../release"):
	    time.sleep(0.05)
	os.unlink(sys.argv[1])
	EOF
	echo $! >../holder &&
	while ! test -f ../held; do sleep 0.05; done
}

release_lock () {
	touch ../release &&
	{ wait $(cat ../holder) 2>/dev/null; :; }
}

test_expect_success 'checkout waits for the lock of the pointer, and writes nothing without it' '
	rm -rf data &&
	hold_lock data.mlv &&
	test_when_finished release_lock &&
	test_expect_code 128 mlv checkout data 2>../err &&
	test_grep "data.mlv.lock.* held by process $(cat ../holder)" ../err &&
	test_path_is_missing data &&
	release_lock &&
	mlv checkout data &&
	diff -r ../data.orig data
'

test_expect_success 'add and checkout of one artifact at once: add never sees half the data' '
	mkdir -p big &&
	for i in $(test_seq 600); do echo "big $i" >big/f$i || return 1; done &&
	mlv add -q big &&
	git add -A && test_tick && git commit -q -m big &&
	cp big.mlv ../big.mlv.orig &&
	for round in 1 2 3; do
		rm -rf big &&
		{ mlv checkout -q big & } &&
		pid=$! &&
		while kill -0 $pid 2>/dev/null; do
			{ mlv add -q big 2>>../add-err || :; }
		done &&
		wait $pid &&
		test_cmp ../big.mlv.orig big.mlv &&
		mlv status --exit-code big || return 1
	done
'

test_done
