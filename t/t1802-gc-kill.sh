#!/bin/sh

test_description='kill -9 of mlv gc at any moment: fsck passes, nothing reachable is lost

gc writes the new pack (durable, renamed, read back), then moves index rows
in one synchronous transaction, then removes the old packs.  A kill at
each write, fsync, rename and unlink of interest must leave a store that
fsck passes, from which every reachable artifact checks out; the next gc
finishes the job.'

. "$(dirname "$0")"/test-lib.sh

oid_of () {
	sed -n 's/^oid sha256://p' "$1"
}

test_expect_success 'setup: one pack to remove, one to repack' '
	test_create_repo pristine &&
	(
		cd pristine &&
		mlv init -q &&
		git config mlv.gc.grace 0 &&
		git checkout -q -b side &&
		echo side-data >s &&
		mlv add -q s &&
		git add -A &&
		git commit -q -m side &&
		git checkout -q main 2>/dev/null || git checkout -q -b main &&
		git checkout -q main &&
		rm -f s &&
		mkdir -p data/sub &&
		for i in 1 2 3 4; do echo $i >data/f$i && echo s$i >data/sub/s$i || return 1; done &&
		echo keep >keep &&
		generate_file big 2M big &&
		mlv add -q keep big data &&
		git add keep.mlv data.mlv .gitignore &&
		git commit -q -m keep &&
		rm big big.mlv &&
		generate_file junk 300K junk &&
		mlv add -q junk &&
		rm junk junk.mlv
	) &&
	side=$(git -C pristine show side:s.mlv | sed -n "s/^oid sha256://p") &&
	echo $side >side.oid &&
	cp -r pristine/data data.orig
'

# intact DIR: fsck passes and every reachable artifact reads back.
intact () {
	(
		cd "$1" &&
		mlv fsck &&
		rm -rf keep data &&
		mlv checkout &&
		test "$(cat keep)" = keep &&
		diff -r data ../data.orig &&
		test "$(mlv cat $(cat ../side.oid))" = side-data
	)
}

test_expect_success 'an uninterrupted gc removes one pack and repacks one' '
	rm -rf run && cp -a pristine run &&
	mlv -C run gc --json >json &&
	test_grep "\"packs_removed\":1" json &&
	test_grep "\"packs_repacked\":1" json &&
	intact run
'

# Each moment: a system call and which occurrence of it; those of gc's own
# files always happen, SQLite's may vary in number.
for moment in write:1 write:2 write:3 fsync:1 renameat:1 fsync:2 \
	unlinkat:1 unlinkat:2 fsync:3 pwrite64:1 pwrite64:8 fdatasync:1 fdatasync:2
do
	sc=${moment%:*} n=${moment#*:}
	test_expect_success STRACE_INJECT "kill -9 of gc at $sc $n" '
		rm -rf run && cp -a pristine run &&
		{ killed_at '$sc' '$n' mlv -C run gc >/dev/null 2>&1; rc=$?; } &&
		case '$sc' in
		write|fsync|renameat|unlinkat) test $rc = 137 ;;
		esac &&
		intact run &&
		mlv -C run gc &&
		intact run &&
		ls run/.git/mlv/packs | grep "^pack-" >packs.after &&
		test $(wc -l <packs.after) = 2
	'
done

test_lazy_prereq SQLITE3 'sqlite3 -version'

test_expect_success STRACE_INJECT,SQLITE3 'killed after the new pack is renamed: the next gc writes the same pack and keeps its rows' '
	rm -rf run && cp -a pristine run &&
	{ killed_at fsync 2 mlv -C run gc >/dev/null 2>&1; test $? = 137; } &&
	mlv -C run status >/dev/null &&
	mlv -C run gc >out &&
	sed -n "s/^wrote pack //p" out | cut -d" " -f1 >written &&
	test_grep "removing pack $(cat written)" out &&
	test_path_is_file run/.git/mlv/packs/$(cat written) &&
	n=$(sqlite3 run/.git/mlv/index.db "SELECT count(*) FROM objects o JOIN packs p ON p.id = o.pack WHERE p.name = '\''$(cat written)'\''") &&
	test "$n" -gt 0 &&
	intact run
'

test_done
