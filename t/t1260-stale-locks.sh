#!/bin/sh

test_description='lock and temporary files left by a killed mlv go away; a live holder'"'"'s, and user files that look alike, stay'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	mkdir repo/d &&
	echo a >repo/d/a &&
	mlv -C repo add d/a &&
	git -C repo add -A &&
	git -C repo commit -q -m a
'

test_expect_success 'pointer locks nobody holds are removed by the next scan' '
	cp repo/d/a.mlv repo/d/a.mlv.lock &&
	touch -d "1 hour ago" repo/d/a.mlv.lock &&
	mlv -C repo status >out &&
	test_path_is_missing repo/d/a.mlv.lock &&
	git -C repo status --porcelain >porcelain &&
	test_must_be_empty porcelain
'

test_expect_success 'a fresh lock file is left: its owner may be starting' '
	cp repo/d/a.mlv repo/d/a.mlv.lock &&
	mlv -C repo status >out &&
	test_path_is_file repo/d/a.mlv.lock &&
	rm repo/d/a.mlv.lock
'

# Hold the lock the way mlv does (an open-file-description lock on byte 1).
test_lazy_prereq OFD_LOCKS '
	python3 -c "import fcntl, struct"
'

test_expect_success OFD_LOCKS 'a lock a live process holds is never removed' '
	cp repo/d/a.mlv repo/d/a.mlv.lock &&
	touch -d "1 hour ago" repo/d/a.mlv.lock &&
	cat >hold.py <<-\EOF &&
	import fcntl, os, struct, sys, time
	fd = os.open(sys.argv[1], os.O_RDWR)
	F_OFD_SETLK = 37
	fcntl.fcntl(fd, F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 1, 1, 0))
	open(sys.argv[2], "w").close()
	time.sleep(60)
	EOF
	{ python3 hold.py repo/d/a.mlv.lock held >/dev/null 2>&1 & } &&
	pid=$! &&
	test_when_finished "kill $pid" &&
	for i in $(test_seq 100)
	do
		test -f held && break
		sleep 0.1
	done &&
	test_path_is_file held &&
	mlv -C repo status >out &&
	test_path_is_file repo/d/a.mlv.lock &&
	echo b >repo/d/a &&
	test_must_fail mlv -C repo add d/a 2>err &&
	test_grep "a.mlv.lock" err
'

test_expect_success 'checkout leaves a file that only looks like a temporary one' '
	mkdir repo/t &&
	echo t >repo/t/t &&
	mlv -C repo add t &&
	echo mine >repo/t/.mlv-tmp-99999999-1-abc &&
	test_must_fail mlv -C repo checkout t 2>err &&
	test_grep "t/.mlv-tmp-99999999-1-abc" err &&
	test_path_is_file repo/t/.mlv-tmp-99999999-1-abc &&
	mlv -C repo add t &&
	mlv -C repo ls t >out &&
	test_grep ".mlv-tmp-99999999-1-abc" out
'

test_expect_success 'names mlv keeps beside a tracked path cannot be tracked' '
	for name in x.mlv.lock .gitignore.lock
	do
		echo data >"repo/$name" &&
		test_must_fail mlv -C repo add "$name" 2>err &&
		test_grep "its own files" err &&
		test_path_is_missing "repo/$name.mlv" || return 1
	done &&
	touch -d "1 hour ago" repo/x.mlv.lock &&
	mlv -C repo status >out &&
	echo data >expect &&
	test_cmp expect repo/x.mlv.lock &&
	echo "a user file that looks like a lock" >repo/d/a.mlv.lock &&
	touch -d "1 hour ago" repo/d/a.mlv.lock &&
	mlv -C repo status >out &&
	test_path_is_file repo/d/a.mlv.lock &&
	rm repo/d/a.mlv.lock repo/x.mlv.lock
'

test_done
