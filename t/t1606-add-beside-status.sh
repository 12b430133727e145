#!/bin/sh

test_description='add and status at once in one repository

An add that runs while status runs must end with everything it wrote in
the index.  It once did not: opening the writer'"'"'s second connection to
index.db made the add process drop its SQLite lock on the file, so that a
status closing its own connection believed it was the last user and
deleted the write-ahead log under the add, whose commit then went to a
deleted file.  fsck said "orphan: pack-... is not in the index" and the
pointer named an object the store did not have.  Nothing here depends on
timing: each round checks what it can whatever the interleaving was.'

. "$(dirname "$0")"/test-lib.sh

ROUNDS=5

test_lazy_prereq PROC_FD '
	test -d /proc/$$/fd
'

test_expect_success 'setup: a repository with one small dataset added' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	mkdir repo/one repo/two &&
	for i in $(test_seq 50)
	do
		echo "file $i" >repo/two/f$i || return 1
	done &&
	mlv -C repo add two >/dev/null &&
	mlv -C repo fsck
'

# note_deleted PID: append to "deleted" each index.db file (the database,
# its write-ahead log, its shared memory) that process PID has open
# through a name that was deleted.
note_deleted () {
	ls -l /proc/$1/fd 2>/dev/null | grep "index\.db.*(deleted)" >>deleted
	return 0
}

# index_fds PID: how many descriptors process PID has open on index.db
# (two once add has opened its writer: the store's and the writer's).
index_fds () {
	ls -l /proc/$1/fd 2>/dev/null | grep -c "/index\.db$"
}

# status_ok RC FILE: status exits 0 (clean) or 1 (differences), nothing else.
status_ok () {
	case $1 in
	0|1)
		;;
	*)
		echo "status exited $1:" &&
		cat "$2" &&
		return 1 ;;
	esac
}

test_expect_success 'add beside status: each round fsck-clean, the data readable' '
	: >deleted &&
	for round in $(test_seq $ROUNDS)
	do
		generate_file repo/one/big.bin 48M "round $round" &&
		echo "round $round" >repo/one/f$round &&
		cp repo/one/big.bin expect.bin &&
		{ mlv -C repo add one >add.out 2>add.err & } &&
		pid=$! &&
		if test_have_prereq PROC_FD
		then
			# Once add has its writer, a status alone beside it.
			while kill -0 $pid 2>/dev/null && test "$(index_fds $pid)" -lt 2
			do
				:
			done &&
			mlv -C repo status two >/dev/null 2>status.err
			status_ok $? status.err || { wait $pid; return 1; }
			note_deleted $pid
		fi &&
		bg= &&
		n=0 &&
		while kill -0 $pid 2>/dev/null
		do
			# A quick status (it closes while add runs) ...
			mlv -C repo status two >/dev/null 2>status.err
			status_ok $? status.err || { wait $pid; return 1; }
			if test_have_prereq PROC_FD
			then
				note_deleted $pid
			fi &&
			# ... and a slow one, which may hold the index when add closes.
			n=$(($n + 1)) &&
			{ mlv -C repo status >/dev/null 2>bg$n.err & } &&
			bg="$bg $!:$n" || { wait $pid; return 1; }
		done &&
		wait $pid || { cat add.err; return 1; }
		for b in $bg
		do
			wait ${b%:*}
			status_ok $? bg${b#*:}.err || return 1
		done &&
		test_grep "added one" add.out &&
		test_must_be_empty deleted &&
		mlv -C repo fsck >fsck.out 2>&1 || { echo "round $round:" && cat fsck.out && return 1; }
		mlv -C repo cat one/big.bin >actual.bin &&
		test_cmp_bin expect.bin actual.bin &&
		echo "round $round: $n status runs beside add" || return 1
	done
'

test_expect_success 'after the rounds, status sees one as added and unchanged' '
	mlv -C repo status >out &&
	test_grep ! "modified" out &&
	rm -r repo/one &&
	mlv -C repo checkout &&
	test_cmp_bin expect.bin repo/one/big.bin
'

test_done
