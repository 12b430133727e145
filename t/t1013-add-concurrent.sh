#!/bin/sh

test_description='mlv add: locks, concurrent adds, temporary files never recorded'

. "$(dirname "$0")"/test-lib.sh

# The store holds something before the concurrent adds start (an empty
# index beside a pack that another add is still indexing is a separate
# matter of the store).
test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	echo seed >repo/seed &&
	mlv -C repo add seed &&
	git -C repo add -A && git -C repo commit -q -m init
'

test_expect_success '8 concurrent adds in one directory keep all 8 .gitignore lines' '
	mkdir -p repo/d &&
	for i in 1 2 3 4 5 6 7 8
	do
		echo "data $i" >repo/d/f$i || return 1
	done &&
	for i in 1 2 3 4 5 6 7 8
	do
		mlv -C repo add d/f$i >out.$i 2>err.$i &
	done &&
	wait &&
	for i in 1 2 3 4 5 6 7 8
	do
		test_grep -x "/f$i" repo/d/.gitignore &&
		test_path_is_file repo/d/f$i.mlv || return 1
	done &&
	test_line_count = 8 repo/d/.gitignore &&
	test_path_is_missing repo/d/.gitignore.lock
'

# hold_lock FILE: a live process holds FILE (a lock file) as mlv does (an
# O_EXCL file with a POSIX record lock), until release_lock.
hold_lock () {
	rm -f ready
	python3 -c "
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
fcntl.lockf(fd, fcntl.LOCK_EX)
open('ready', 'w').close()
time.sleep(120)
" "$1" &
	lock_pid=$!
	while ! test -f ready
	do
		sleep 0.1
	done
}

release_lock () {
	kill $lock_pid 2>/dev/null
	wait $lock_pid 2>/dev/null
	rm -f "$1"
	return 0
}

test_expect_success 'add waits for the lock of the pointer file, then names its holder' '
	echo new >repo/locked &&
	test_when_finished "release_lock repo/locked.mlv.lock" &&
	hold_lock repo/locked.mlv.lock &&
	test_expect_code 128 mlv -C repo add locked 2>err &&
	test_grep "locked.mlv.lock.*held by process $lock_pid" err &&
	test_path_is_missing repo/locked.mlv &&
	test_grep ! locked repo/.gitignore
'

test_expect_success 'a .gitignore edit waits for its lock too' '
	test_when_finished "release_lock repo/.gitignore.lock" &&
	hold_lock repo/.gitignore.lock &&
	test_expect_code 128 mlv -C repo add locked 2>err &&
	test_grep ".gitignore.lock.*held by process $lock_pid" err &&
	test_path_is_missing repo/locked.mlv
'

test_expect_success 'temporary files of mlv are never recorded by add, status or hash' '
	mkdir -p repo/t/sub &&
	echo a >repo/t/a &&
	echo b >repo/t/sub/b &&
	mlv -C repo hash t >clean.id &&
	echo half >repo/t/.mlv-tmp-12345-1-0abcdef1 &&
	echo half >repo/t/sub/.mlv-tmp-999-l2-deadbeef &&
	mlv -C repo add t 2>err &&
	test_must_be_empty err &&
	test_grep -x "files 2" repo/t.mlv &&
	grep "^oid sha256:$(cut -d" " -f1 clean.id)$" repo/t.mlv &&
	mlv -C repo hash t >with-tmp.id &&
	test_cmp clean.id with-tmp.id &&
	mlv -C repo status t >out &&
	test_grep ! "mlv-tmp" out &&
	test_grep ! -E "added|modified|deleted" out
'

test_expect_success 'add while a checkout of the same directory runs records no temporary file' '
	mkdir -p repo/big &&
	generate_file repo/big/a 32M a &&
	generate_file repo/big/b 32M b &&
	for i in 1 2 3 4 5 6 7 8 9 10
	do
		echo "small $i" >repo/big/s$i || return 1
	done &&
	mlv -C repo add big &&
	git -C repo add -A && git -C repo commit -q -m big &&
	for round in 1 2 3
	do
		rm -rf repo/big &&
		{ mlv -C repo checkout big >/dev/null 2>checkout.err & } &&
		{ mlv -C repo add big >/dev/null 2>add.err; add=$?; } &&
		wait &&
		mlv -C repo cat "$(sed -n "s/^oid //p" repo/big.mlv)" >tree &&
		test_grep ! -E "mlv-tmp|mlvtmp" tree &&
		if test $add = 0
		then
			# What add recorded is the complete data.
			test_grep -x "files 12" repo/big.mlv &&
			git -C repo diff --exit-code big.mlv
		else
			test_grep -E "held by process|changed while reading|No such file|cannot" add.err
		fi || return 1
	done
'

test_done
