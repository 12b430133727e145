#!/bin/sh

test_description='the store heals what a killed writer left: orphan packs, an empty index, temporary packs

A kill -9 between the rename of a pack into packs/ and the commit of its
rows left an orphan: fsck failed, and after the first add of a new store
every command refused with "index is empty but the store holds packs".
Ctrl-C or SIGTERM during add left tmp-pack-* files of hundreds of MB that
only fsck --repair removed.  Now the next command indexes a verified
orphan (no live writer is publishing it), an index that knows no pack is
rebuilt from the packs, and temporary packs are removed on a signal or,
after a kill -9, by the next command.'

. "$(dirname "$0")"/test-lib.sh

# healed DIR FILE: after one ordinary command, fsck passes, and FILE can be
# added (again) and read back.
healed () {
	mlv -C "$1" status >status.out &&
	mlv -C "$1" fsck &&
	ls "$1"/.git/mlv/packs >packs &&
	test_grep ! "^tmp-pack-" packs &&
	mlv -C "$1" add -q "$2" &&
	mlv -C "$1" cat "$2" >cat.out &&
	test_cmp "$1/$2" cat.out &&
	mlv -C "$1" fsck
}

for sc in fsync renameat fdatasync
do
	for n in 1 2 3 4
	do
		test_expect_success STRACE_INJECT "kill -9 at $sc $n of the first add" '
			rm -rf first &&
			test_create_repo first &&
			mlv -C first init -q &&
			generate_file first/c 600K c$n &&
			{ killed_at '$sc' '$n' mlv -C first add -q c || :; } &&
			healed first c
		'

		test_expect_success STRACE_INJECT "kill -9 at $sc $n of a later add" '
			rm -rf later &&
			test_create_repo later &&
			mlv -C later init -q &&
			echo one >later/a &&
			mlv -C later add -q a &&
			generate_file later/c 600K d$n &&
			{ killed_at '$sc' '$n' mlv -C later add -q c || :; } &&
			healed later c &&
			test "$(mlv -C later cat a)" = one
		'
	done
done

test_expect_success 'an empty index beside packs is rebuilt from them' '
	rm -rf empty &&
	test_create_repo empty &&
	mlv -C empty init -q &&
	generate_file empty/big 3M big &&
	cp empty/big big.orig &&
	mlv -C empty add -q big &&
	rm -f empty/.git/mlv/index.db-wal empty/.git/mlv/index.db-shm &&
	: >empty/.git/mlv/index.db &&
	mlv -C empty status &&
	mlv -C empty fsck &&
	rm empty/big &&
	mlv -C empty checkout &&
	test_cmp_bin big.orig empty/big
'

test_expect_success 'a damaged orphan is not indexed: fsck names it' '
	rm -rf dmg &&
	test_create_repo dmg &&
	mlv -C dmg init -q &&
	echo x >dmg/x &&
	mlv -C dmg add -q x &&
	p=$(ls dmg/.git/mlv/packs/pack-*) &&
	rm -rf dmg/.git/mlv/index.db* &&
	chmod u+w $p &&
	printf "\377" | dd of=$p bs=1 seek=$(($(test_file_size $p) - 1)) conv=notrunc 2>/dev/null &&
	test_expect_code 128 mlv -C dmg status 2>err &&
	test_grep "is empty but the store holds packs" err &&
	test_expect_code 1 mlv -C dmg fsck &&
	mlv -C dmg fsck --repair >out &&
	test_grep "salvaged" out &&
	mlv -C dmg fsck &&
	test "$(mlv -C dmg cat x)" = x
'

test_lazy_prereq PYTHON3 'python3 -c "import signal, os"'

# add_in_background DIR FILE: start "mlv add FILE", wait until its temporary
# pack exists.  A background job starts with SIGINT ignored: set it back.
add_in_background () {
	(cd "$1" && exec python3 -c "import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])" mlv add -q "$2") &
	add_pid=$! &&
	n=0 &&
	while ! ls "$1"/.git/mlv/packs | grep -q "^tmp-pack-"
	do
		n=$(($n + 1)) &&
		test $n -lt 3000 &&
		kill -0 $add_pid || return 1
		sleep 0.01
	done
}

for sig in INT TERM
do
	test_expect_success PYTHON3 "SIG$sig during a large add leaves no temporary pack" '
		rm -rf sig &&
		test_create_repo sig &&
		mlv -C sig init -q &&
		generate_file sig/huge 400M huge &&
		add_in_background sig huge &&
		kill -'$sig' $add_pid &&
		{ wait $add_pid 2>/dev/null || :; } &&
		ls sig/.git/mlv/packs >packs &&
		test_grep ! "^tmp-pack-" packs &&
		mlv -C sig fsck
	'
done

test_expect_success PYTHON3 'kill -9 during a large add: the next command removes the temporary pack' '
	rm -rf k9 &&
	test_create_repo k9 &&
	mlv -C k9 init -q &&
	generate_file k9/huge 400M huge &&
	add_in_background k9 huge &&
	kill -KILL $add_pid &&
	{ wait $add_pid 2>/dev/null || :; } &&
	ls k9/.git/mlv/packs >packs &&
	test_grep "^tmp-pack-" packs &&
	mlv -C k9 status &&
	ls k9/.git/mlv/packs >packs &&
	test_grep ! "^tmp-pack-" packs &&
	mlv -C k9 fsck &&
	rm k9/huge
'

test_done
