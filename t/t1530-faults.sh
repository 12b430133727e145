#!/bin/sh

test_description='faults: a full disk, kill -9, concurrent processes, local changes'

. "$(dirname "$0")"/test-lib.sh

# fsck_ok DIR: fsck passes, or passes after --repair.
fsck_ok () {
	mlv -C "$1" fsck >fsck.out 2>&1 || {
		cat fsck.out &&
		test_might_fail mlv -C "$1" fsck --repair &&
		mlv -C "$1" fsck
	}
}

# pointers_ok DIR: every pointer in DIR parses and names content that the
# store can produce (files: the bytes hash to the oid; directories: a file
# inside can be read, and fsck has walked the whole tree).
pointers_ok () {
	mlv -C "$1" status >status.out &&
	test_grep ! "bad pointer" status.out &&
	for p in $(cd "$1" && ls *.mlv 2>/dev/null)
	do
		path=${p%.mlv} &&
		oid=$(sed -n "s/^oid sha256://p" "$1/$p") &&
		if grep -qx "type file" "$1/$p"
		then
			mlv -C "$1" cat "$path" >cat.out &&
			echo "$oid  -" >expect.sum &&
			sha256sum <cat.out >actual.sum &&
			test_cmp expect.sum actual.sum
		else
			mlv -C "$1" cat "sha256:$oid" >tree.out &&
			test -s tree.out &&
			mlv -C "$1" cat "$path/f1" >/dev/null
		fi || return 1
	done
}

# make_files DIR COUNT: COUNT small files f1..fCOUNT in DIR.
make_files () {
	mkdir -p "$1" &&
	make_files_i_=1 &&
	while test $make_files_i_ -le "$2"
	do
		echo "file $make_files_i_ of $1" >"$1/f$make_files_i_" || return 1
		make_files_i_=$(($make_files_i_ + 1))
	done
}

test_expect_success TMPFS_MOUNT 'a full disk during add: clear error, nothing half-written' '
	mkdir small &&
	mount -t tmpfs -o size=8m tmpfs small &&
	test_when_finished "umount small" &&
	test_create_repo small/repo &&
	mlv -C small/repo init -q &&
	generate_file small/repo/data.bin 3M full &&
	cp small/repo/data.bin full.orig &&
	avail=$(df -k --output=avail small | tail -n 1) &&
	test "$avail" -gt 2048 &&
	dd if=/dev/zero of=small/filler bs=1024 count=$(($avail - 1024)) 2>/dev/null &&
	test_expect_code 128 mlv -C small/repo add data.bin >out 2>err &&
	test_grep -i "no space left" err &&
	test_grep -E "^(error|fatal): " err &&
	test_path_is_missing small/repo/data.bin.mlv &&
	ls -A small/repo/.git/mlv/packs >packs &&
	test_must_be_empty packs &&
	mlv -C small/repo fsck &&
	rm small/filler &&
	mlv -C small/repo add data.bin &&
	test_path_is_file small/repo/data.bin.mlv &&
	mlv -C small/repo fsck &&
	rm small/repo/data.bin &&
	mlv -C small/repo checkout &&
	test_cmp_bin full.orig small/repo/data.bin
'

test_expect_success TMPFS_MOUNT 'a full disk during checkout: clear error, no temporary file left' '
	mkdir small2 &&
	mount -t tmpfs -o size=8m tmpfs small2 &&
	test_when_finished "umount small2" &&
	test_create_repo small2/repo &&
	mlv -C small2/repo init -q &&
	generate_file small2/repo/data.bin 3M full2 &&
	cp small2/repo/data.bin full2.orig &&
	mlv -C small2/repo add data.bin &&
	rm small2/repo/data.bin &&
	avail=$(df -k --output=avail small2 | tail -n 1) &&
	dd if=/dev/zero of=small2/filler bs=1024 count=$(($avail - 1024)) 2>/dev/null &&
	test_expect_code 128 mlv -C small2/repo checkout 2>err &&
	test_grep -i "no space left" err &&
	test_grep "data.bin" err &&
	test_path_is_missing small2/repo/data.bin &&
	find small2/repo -name "*.mlvtmp" >temps &&
	test_must_be_empty temps &&
	rm small2/filler &&
	mlv -C small2/repo checkout &&
	test_cmp_bin full2.orig small2/repo/data.bin
'

test_expect_success 'setup for kill -9: 2000 small files and a 40 MiB file' '
	test_create_repo kill &&
	mlv -C kill init -q &&
	make_files kill/many 2000 &&
	generate_file kill/big.bin 40M big
'

# mutate_kill_data I: new content, so that every add has work to do.
mutate_kill_data () {
	generate_file head.bin 1M "head $1" &&
	dd if=head.bin of=kill/big.bin bs=1M conv=notrunc 2>/dev/null &&
	echo "round $1" >kill/many/f$(($1 * 97 + 1))
}

test_expect_success 'a first add, timed' '
	mlv -C kill add many big.bin &&
	mutate_kill_data 0 &&
	start=$(date +%s%N) &&
	mlv -C kill add many big.bin &&
	end=$(date +%s%N) &&
	add_ms=$(( ($end - $start) / 1000000 )) &&
	echo "an add takes $add_ms ms"
'

# The delays spread from 0 to 1.3 times the duration of an add, so that
# the kills land before, during and after the commit.
test_expect_success 'kill -9 of add at 20 moments leaves a store that fsck passes or repairs' '
	killed=0 &&
	for i in $(test_seq 20)
	do
		mutate_kill_data $i &&
		delay=$(( ($add_ms * 13 * $i) / 200 )) &&
		{ mlv -C kill add many big.bin >/dev/null 2>&1 & } &&
		pid=$! &&
		sleep $(($delay / 1000)).$(printf %03d $(($delay % 1000))) &&
		if kill -9 $pid 2>/dev/null
		then
			killed=$(($killed + 1))
		fi &&
		{ wait $pid || :; } &&
		fsck_ok kill &&
		pointers_ok kill || return 1
	done &&
	echo "killed $killed of 20 adds" &&
	test $killed -ge 1
'

test_expect_success 'after the kills, add succeeds and status is clean' '
	mlv -C kill add many big.bin &&
	mlv -C kill fsck &&
	mlv -C kill status >out &&
	sed -e "/^uncommitted: *big.bin.mlv$/d" -e "/^uncommitted: *many.mlv$/d" out >dirty &&
	test_must_be_empty dirty &&
	cp kill/big.bin big.saved &&
	rm -r kill/many kill/big.bin &&
	mlv -C kill checkout &&
	test_cmp_bin big.saved kill/big.bin &&
	test $(ls kill/many | wc -l) = 2000
'

test_expect_success 'setup for concurrency: two datasets' '
	test_create_repo conc &&
	mlv -C conc init -q &&
	make_files conc/one 1000 &&
	generate_file conc/one/big.bin 20M one &&
	make_files conc/two 1000 &&
	generate_file conc/two/big.bin 20M two &&
	cp -R conc/one one.orig &&
	cp -R conc/two two.orig
'

test_expect_success 'two adds at once on different paths both succeed' '
	{ mlv -C conc add one >out1 2>err1 & } &&
	pid1=$! &&
	{ mlv -C conc add two >out2 2>err2 & } &&
	pid2=$! &&
	wait $pid1 &&
	wait $pid2 &&
	test_grep "added one" out1 &&
	test_grep "added two" out2 &&
	mlv -C conc fsck &&
	rm -r conc/one conc/two &&
	mlv -C conc checkout &&
	diff -r one.orig conc/one &&
	diff -r two.orig conc/two
'

test_expect_success 'status while add runs never crashes' '
	runs=0 &&
	for round in 1 2 3
	do
		generate_file conc/one/big.bin 20M "one $round" &&
		echo "round $round" >conc/one/f$round &&
		{ mlv -C conc add one >/dev/null 2>&1 & } &&
		pid=$! &&
		while kill -0 $pid 2>/dev/null
		do
			mlv -C conc status >/dev/null 2>status.err
			rc=$?
			case $rc in
			0|1)
				;;
			*)
				echo "status exited $rc while add ran:" &&
				cat status.err &&
				{ wait $pid || :; } &&
				return 1 ;;
			esac
			runs=$(($runs + 1))
		done &&
		wait $pid || return 1
	done &&
	echo "status ran $runs times" &&
	mlv -C conc fsck &&
	cp -R conc/one one.new &&
	rm -r conc/one conc/two &&
	mlv -C conc checkout &&
	diff -r one.new conc/one &&
	diff -r two.orig conc/two
'

test_expect_success 'setup for local changes' '
	test_create_repo local &&
	mlv -C local init -q &&
	generate_file local/model.bin 2M model &&
	make_files local/data 10 &&
	mlv -C local add model.bin data &&
	cp local/model.bin model.orig &&
	cp -R local/data data.orig
'

test_expect_success 'checkout refuses to overwrite a modified tracked file' '
	generate_file local/model.bin 2M edited &&
	cp local/model.bin model.edited &&
	test_expect_code 1 mlv -C local checkout 2>err &&
	test_grep "^error: .*model.bin" err &&
	test_grep "^hint: " err &&
	test_cmp_bin model.edited local/model.bin &&
	test_expect_code 1 mlv -C local checkout model.bin 2>err &&
	test_cmp_bin model.edited local/model.bin &&
	mlv -C local checkout --force &&
	test_cmp_bin model.orig local/model.bin
'

test_expect_success 'checkout refuses to overwrite a modified file in a tracked directory' '
	echo "my change" >>local/data/f3 &&
	cp local/data/f3 f3.edited &&
	test_expect_code 1 mlv -C local checkout 2>err &&
	test_grep "^error: .*data/f3" err &&
	test_grep "^hint: " err &&
	test_cmp f3.edited local/data/f3 &&
	mlv -C local checkout --force data &&
	diff -r data.orig local/data
'

test_expect_success 'checkout refuses to remove an untracked file in a tracked directory' '
	echo "precious" >local/data/new.txt &&
	mkdir local/data/newdir &&
	echo "also precious" >local/data/newdir/x &&
	test_expect_code 1 mlv -C local checkout 2>err &&
	test_grep "^error: .*data/new.txt" err &&
	test_grep "^error: .*data/newdir/x" err &&
	test_grep "^hint: " err &&
	echo precious >expect &&
	test_cmp expect local/data/new.txt &&
	echo "also precious" >expect &&
	test_cmp expect local/data/newdir/x &&
	mlv -C local checkout --force &&
	diff -r data.orig local/data
'

test_expect_success 'a refused checkout changes nothing at all' '
	rm local/data/f1 &&
	echo "edit" >>local/data/f2 &&
	cp -R local/data data.before &&
	test_expect_code 1 mlv -C local checkout 2>err &&
	diff -r data.before local/data &&
	test_path_is_missing local/data/f1 &&
	mlv -C local checkout --force &&
	diff -r data.orig local/data
'

test_done
