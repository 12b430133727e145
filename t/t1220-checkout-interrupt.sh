#!/bin/sh

test_description='mlv checkout: killed at any moment, it leaves no temporary file behind'

. "$(dirname "$0")"/test-lib.sh

# mlv_tmp_files: files in mlv's own temporary directory, wherever it is.
mlv_tmp_files () {
	for d in $(find .git .mlv -type d -name tmp 2>/dev/null)
	do
		find "$d" -type f
	done
}

# no_temp_in_worktree: nothing named like a temporary file outside .git.
no_temp_in_worktree () {
	find . -path ./.git -prune -o \( -name ".mlv-tmp-*" -o -name "*.mlvtmp" \) -print >../temps &&
	test_must_be_empty ../temps
}

test_expect_success 'setup: a large tracked directory' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p big &&
	for d in 0 1 2 3 4 5 6 7 8 9; do
		mkdir big/d$d &&
		for i in $(test_seq 150); do
			echo "file $d $i" >big/d$d/f$i || return 1
		done || return 1
	done &&
	for i in 1 2 3 4 5 6 7 8; do
		generate_file big/blob$i 2M blob$i || return 1
	done &&
	mlv add -q big &&
	git add -A && test_tick && git commit -q -m big &&
	cp -r big ../big.orig
'

# interrupted SIGNAL DELAY: start a checkout of the whole directory, send
# SIGNAL after DELAY seconds, then check what is left.
interrupted () {
	rm -rf big &&
	{ mlv checkout -q & } &&
	pid=$! &&
	sleep $2 &&
	{ kill -$1 $pid 2>/dev/null || :; } &&
	{ wait $pid; :; } &&
	no_temp_in_worktree &&
	if test $1 != KILL
	then
		mlv_tmp_files >../left &&
		test_must_be_empty ../left &&
		test_path_is_missing big.mlv.lock
	fi &&
	mlv checkout -q &&
	diff -r ../big.orig big &&
	mlv_tmp_files >../left &&
	test_must_be_empty ../left &&
	git status --porcelain >../gitstatus &&
	test_must_be_empty ../gitstatus &&
	mlv status --exit-code
}

for delay in 0.05 0.2 0.5 1
do
	test_expect_success "kill -9 after ${delay}s" "
		interrupted KILL $delay
	"
done

for sig in INT TERM
do
	for delay in 0.1 0.4
	do
		test_expect_success "SIG$sig after ${delay}s" "
			interrupted $sig $delay
		"
	done
done

test_expect_success 'a temporary file of a dead process in a tracked directory is removed' '
	dead=$(sh -c "echo \$\$") &&
	echo half >big/d3/.mlv-tmp-$dead-1-deadbeef &&
	mlv checkout >../out 2>../err &&
	test_must_be_empty ../err &&
	test_path_is_missing big/d3/.mlv-tmp-$dead-1-deadbeef &&
	mlv status --exit-code &&
	git status --porcelain >../gitstatus &&
	test_must_be_empty ../gitstatus
'

test_expect_success 'one of a live process is left alone and is not a local change' '
	echo half >big/d4/.mlv-tmp-$$-1-deadbeef &&
	test_when_finished "rm -f big/d4/.mlv-tmp-$$-1-deadbeef" &&
	rm big/d4/f1 &&
	mlv checkout 2>../err &&
	test_must_be_empty ../err &&
	test_path_is_file big/d4/f1 &&
	test_path_is_file big/d4/.mlv-tmp-$$-1-deadbeef &&
	rm -rf big/d4 &&
	mkdir big/d4 &&
	echo half >big/d4/.mlv-tmp-$$-1-deadbeef &&
	mlv checkout --force 2>../err &&
	test_must_be_empty ../err &&
	diff -r -x ".mlv-tmp-*" ../big.orig big
'

# The tracked directory on another file system than mlv's own temporary
# directory: temporary files are made beside their targets, and those a
# killed process leaves are removed by the next checkout.
test_expect_success TMPFS_MOUNT 'on another file system: kill -9, then checkout cleans up' '
	rm -rf big &&
	mkdir big &&
	mount -t tmpfs -o size=64m tmpfs big &&
	test_when_finished "umount big" &&
	mlv checkout -q &&
	diff -r ../big.orig big &&
	for d in big/d*; do
		for f in $d/f*; do echo changed >$f || return 1; done || return 1
	done &&
	for i in 1 2 3 4; do
		{ mlv checkout -q --force & } &&
		pid=$! &&
		sleep 0.$i &&
		{ kill -KILL $pid 2>/dev/null || :; } &&
		{ wait $pid; :; } || return 1
	done &&
	mlv checkout -q --force &&
	no_temp_in_worktree &&
	diff -r ../big.orig big &&
	git status --porcelain >../gitstatus &&
	test_must_be_empty ../gitstatus &&
	mlv status --exit-code &&
	dead=$(sh -c "echo \$\$") &&
	echo half >big/d1/.mlv-tmp-$dead-7-00000000 &&
	echo changed >big/d2/f1 &&
	mlv checkout -q --force &&
	no_temp_in_worktree &&
	diff -r ../big.orig big
'

test_done
