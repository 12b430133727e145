#!/bin/sh

test_description='mlv gc beside a running mlv add loses nothing

gc takes the store to itself before it looks for what is reachable: an
add that is running is waited for (its pointer is then written and seen),
and an add that starts while gc runs waits for gc to end.'

. "$(dirname "$0")"/test-lib.sh

test_lazy_prereq PYTHON3 'python3 -c "import fcntl, os, signal, struct"'

oid_of () {
	sed -n 's/^oid sha256:/sha256:/p' "$1"
}

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	git config mlv.gc.grace 0 &&
	echo base >base &&
	mlv add -q base &&
	git add -A &&
	git commit -q -m base &&
	generate_file big 400M big &&
	generate_file junk 100K junk &&
	mlv add -q junk &&
	rm junk junk.mlv
'

# add_in_background FILE: start "mlv add FILE"; wait until it writes its pack.
add_in_background () {
	mlv add -q "$1" 2>add.err &
	add_pid=$! &&
	n=0 &&
	while ! ls .git/mlv/packs | grep -q "^tmp-pack-"
	do
		n=$(($n + 1)) &&
		test $n -lt 3000 &&
		kill -0 $add_pid || return 1
		sleep 0.01
	done
}

test_expect_success 'gc during a large add waits for it and keeps what it added' '
	add_in_background big &&
	mlv gc --json >json 2>err &&
	wait $add_pid &&
	test_grep "Waiting for process $add_pid (.*mlv add -q big)" err &&
	test_grep "\"objects_removed\":1" json &&
	test_path_is_file big.mlv &&
	mlv cat big >big.out &&
	test_cmp_bin big big.out &&
	rm big.out &&
	mlv fsck
'

# hold_like_gc SECONDS: hold index.lck as a running gc does (byte 0 and
# byte 2 exclusively; F_OFD_SETLK is 37) for SECONDS, in $holder.
hold_like_gc () {
	rm -f locked &&
	python3 -c "import fcntl, os, struct, sys, time
fd = os.open('.git/mlv/index.lck', os.O_RDWR)
for byte in (2, 0):
    fcntl.fcntl(fd, 37, struct.pack('hhqqi', fcntl.F_WRLCK, 0, byte, 1, 0))
open('locked', 'w').close()
time.sleep(float(sys.argv[1]))" "$1" &
	holder=$! &&
	n=0 &&
	while ! test -f locked
	do
		n=$(($n + 1)) &&
		test $n -lt 600 &&
		kill -0 $holder || return 1
		sleep 0.05
	done
}

test_expect_success PYTHON3 'an add that starts while gc runs waits for gc to end, then works' '
	git add big.mlv .gitignore &&
	git commit -q -m big &&
	echo during-gc >late &&
	hold_like_gc 12 &&
	mlv add -q late &&
	! kill -0 $holder 2>/dev/null &&
	test "$(mlv cat late)" = during-gc &&
	mlv gc &&
	test "$(mlv cat late)" = during-gc &&
	mlv fsck
'

test_done
