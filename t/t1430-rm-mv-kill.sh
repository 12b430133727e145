#!/bin/sh

test_description='kill -9 at every unlink and rename of mlv rm and mlv mv: nothing is lost'

. "$(dirname "$0")"/test-lib.sh

# recovered: fsck passes, and checkout gives back every tracked path's data.
recovered () {
	mlv fsck &&
	mlv checkout &&
	mlv status >status.out &&
	! grep -E "^ *(modified|deleted|missing|bad pointer)" status.out
}

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p data/sub &&
	for i in 1 2 3 4 5; do echo $i >data/f$i && echo s$i >data/sub/s$i || return 1; done &&
	generate_file model.bin 300K model &&
	mlv add data model.bin &&
	git add -A &&
	git commit -q -m data &&
	cp -r data ../data.orig &&
	cp model.bin ../model.orig
'

# restore: back to the committed state before the next kill.
restore () {
	rm -f data.mlv.lock model.bin.mlv.lock moved.mlv.lock moved.bin.mlv.lock .gitignore.lock &&
	rm -rf moved moved.bin moved.mlv moved.bin.mlv &&
	git checkout -q -- . &&
	mlv checkout --force &&
	cmp model.bin ../model.orig &&
	diff -r data ../data.orig
}

for n in 1 2 3 4 5 6 8 10 12 14 16
do
	test_expect_success STRACE_INJECT "kill -9 at unlink $n of rm of a directory" '
		test_when_finished restore &&
		{ killed_at unlinkat '$n' mlv rm data >/dev/null; status=$?; } &&
		case $status in 0|137) ;; *) false ;; esac &&
		recovered &&
		if test -f data.mlv
		then
			diff -r data ../data.orig
		else
			case $status in 0) ;; *) test_path_is_missing data/f1 ;; esac
		fi
	'
done

for n in 1 2 3
do
	test_expect_success STRACE_INJECT "kill -9 at unlink $n of rm of a file" '
		test_when_finished restore &&
		{ killed_at unlinkat '$n' mlv rm model.bin >/dev/null; status=$?; } &&
		case $status in 0|137) ;; *) false ;; esac &&
		recovered &&
		if test -f model.bin.mlv
		then
			cmp model.bin ../model.orig
		fi
	'
done

for sc in renameat2 unlinkat
do
	for n in 1 2 3 4 5
	do
		test_expect_success STRACE_INJECT "kill -9 at $sc $n of mv of a directory" '
			test_when_finished restore &&
			{ killed_at '$sc' '$n' mlv mv data moved >/dev/null; status=$?; } &&
			case $status in 0|137) ;; *) false ;; esac &&
			recovered &&
			if test -f data.mlv
			then
				diff -r data ../data.orig
			fi &&
			if test -f moved.mlv
			then
				diff -r moved ../data.orig
			fi &&
			{ test -f data.mlv || test -f moved.mlv; }
		'
		test_expect_success STRACE_INJECT "kill -9 at $sc $n of mv of a file" '
			test_when_finished restore &&
			{ killed_at '$sc' '$n' mlv mv model.bin moved.bin >/dev/null; status=$?; } &&
			case $status in 0|137) ;; *) false ;; esac &&
			recovered &&
			if test -f model.bin.mlv
			then
				cmp model.bin ../model.orig
			fi &&
			if test -f moved.bin.mlv
			then
				cmp moved.bin ../model.orig
			fi &&
			{ test -f model.bin.mlv || test -f moved.bin.mlv; }
		'
	done
done

test_done
