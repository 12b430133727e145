#!/bin/sh

test_description='mlv gc keeps what anything can reach and removes the rest

Reachable: a pointer in any commit reachable from any ref or reflog
entry, in git'\''s index, in any worktree (and its stat cache), and
anything younger than gc.grace.  Each case sets up an object that only
one of them names, and an unreachable one that must go: gc ran.'

. "$(dirname "$0")"/test-lib.sh

# oid_of POINTER: the id the pointer file names.
oid_of () {
	sed -n 's/^oid sha256://p' "$1"
}

# present ID: the store can read blob ID whole.
present () {
	mlv cat "$1" >/dev/null
}

# garbage NAME: store a file, then forget it (pointer and data gone);
# its id in $garbage.
garbage () {
	generate_file "$1" 200K "$1" &&
	mlv add -q "$1" &&
	garbage=$(oid_of "$1.mlv") &&
	rm -f "$1" "$1.mlv" &&
	present $garbage
}

# fresh DIR: a repository with mlv, no grace period, one commit.
fresh () {
	cd "$TRASH_DIRECTORY" &&
	rm -rf "$1" &&
	test_create_repo "$1" &&
	cd "$1" &&
	mlv init -q &&
	git config mlv.gc.grace 0 &&
	echo base >base &&
	mlv add -q base &&
	git add -A &&
	git commit -q -m base
}

test_expect_success 'an object only on another branch (an old commit) is kept' '
	fresh branch &&
	git checkout -q -b side &&
	echo side-v1 >f &&
	mlv add -q f &&
	old=$(oid_of f.mlv) &&
	git add f.mlv .gitignore &&
	git commit -q -m side1 &&
	echo side-v2 >f &&
	mlv add -q f &&
	git add f.mlv &&
	git commit -q -m side2 &&
	git checkout -q main &&
	rm f &&
	garbage junk &&
	mlv gc >out &&
	test_grep "removed 1 object" out &&
	present $old &&
	test_must_fail present $garbage &&
	mlv fsck
'

test_expect_success 'an object only in a reflog entry is kept, until the reflog expires' '
	fresh reflog &&
	echo v1 >f &&
	mlv add -q f &&
	git add -A &&
	git commit -q -m v1 &&
	echo v2 >f &&
	mlv add -q f &&
	v2=$(oid_of f.mlv) &&
	git add -A &&
	git commit -q -m v2 &&
	git reset -q --hard HEAD~1 &&
	mlv checkout --force &&
	test "$(cat f)" = v1 &&
	garbage junk &&
	mlv gc &&
	present $v2 &&
	test_must_fail present $garbage &&
	git reflog expire --expire=now --all &&
	mlv gc &&
	test_must_fail present $v2 &&
	mlv fsck
'

test_expect_success 'an object only under refs/mlv/ is kept' '
	fresh mlvref &&
	echo run-output >r &&
	mlv add -q r &&
	run=$(oid_of r.mlv) &&
	git add -A &&
	git commit -q -m run &&
	git update-ref refs/mlv/runs/1 HEAD &&
	git reset -q --hard HEAD~1 &&
	git reflog expire --expire=now --all &&
	rm -f r &&
	mlv gc &&
	present $run &&
	git update-ref -d refs/mlv/runs/1 &&
	mlv gc &&
	test_must_fail present $run &&
	mlv fsck
'

test_expect_success 'an object only in another linked worktree (uncommitted) is kept' '
	fresh wtmain &&
	git worktree add -q ../wt-other &&
	(
		cd ../wt-other &&
		echo in-other-worktree >g &&
		mlv add -q g &&
		# The data changes: only the pointer names the stored content.
		echo changed >g
	) &&
	other=$(oid_of ../wt-other/g.mlv) &&
	garbage junk &&
	mlv gc &&
	present $other &&
	test_must_fail present $garbage &&
	mlv fsck &&
	(
		cd ../wt-other &&
		garbage junk2 &&
		mlv gc &&
		test_must_fail present $garbage &&
		mlv cat g.mlv >/dev/null &&
		test "$(mlv cat $other)" = in-other-worktree
	) &&
	test "$(mlv cat base)" = base
'

test_expect_success 'an object only in the git index (staged, not committed) is kept' '
	fresh staged &&
	echo staged >s &&
	mlv add -q s &&
	st=$(oid_of s.mlv) &&
	git add s.mlv &&
	echo changed >s &&
	rm s.mlv &&
	garbage junk &&
	mlv gc &&
	present $st &&
	test_must_fail present $garbage &&
	git rm -q --cached s.mlv &&
	mlv gc &&
	test_must_fail present $st &&
	mlv fsck
'

test_expect_success 'an object in the work tree (pointer, nothing committed) is kept' '
	fresh worktree &&
	echo uncommitted >u &&
	mlv add -q u &&
	u=$(oid_of u.mlv) &&
	echo edited >u &&
	mlv gc &&
	present $u
'

test_expect_success 'an object younger than the grace period is kept (default 14 days)' '
	fresh young &&
	git config --unset mlv.gc.grace &&
	garbage junk &&
	mlv gc --json >out &&
	test_grep "\"objects_removed\":0" out &&
	test_grep "\"objects_young\":1" out &&
	present $garbage &&
	echo "[gc] grace = 2.weeks.ago" >.mlv/config.local &&
	mlv gc &&
	present $garbage &&
	echo "[gc] grace = 1.hour" >.mlv/config.local &&
	mlv gc &&
	present $garbage &&
	echo "[gc] grace = now" >.mlv/config.local &&
	mlv gc >out &&
	test_grep "removed 1 object" out &&
	test_must_fail present $garbage &&
	mlv fsck
'

test_expect_success 'git config mlv.gc.grace wins over .mlv/config.local and .mlv/config' '
	fresh prio &&
	echo "[gc] grace = 0" >.mlv/config &&
	echo "[gc] grace = never" >.mlv/config.local &&
	garbage junk &&
	git config --unset mlv.gc.grace &&
	mlv gc &&
	present $garbage &&
	git config mlv.gc.grace 0 &&
	mlv gc &&
	test_must_fail present $garbage
'

test_expect_success 'a bad gc.grace is refused, nothing removed' '
	fresh badgrace &&
	git config mlv.gc.grace "soon" &&
	garbage junk &&
	test_expect_code 128 mlv gc 2>err &&
	test_grep "bad gc.grace .soon." err &&
	present $garbage
'

test_expect_success 'a symlinked .mlv/config.local is refused' '
	fresh symcfg &&
	git config --unset mlv.gc.grace &&
	echo "[gc] grace = 0" >../elsewhere &&
	ln -s ../../elsewhere .mlv/config.local &&
	test_expect_code 128 mlv gc 2>err &&
	test_grep "symbolic link" err
'

test_expect_success 'a malformed or hostile pointer in history is warned about and skipped' '
	fresh hostile &&
	printf "version 1\noid sha256:../../etc/passwd\nsize 1\n" >bad.mlv &&
	mkdir -p deep/er &&
	printf "\000\001garbage" >deep/er/evil.mlv &&
	git add -f bad.mlv deep &&
	git commit -q -m hostile &&
	c=$(git rev-parse HEAD) &&
	git rm -q -r bad.mlv deep &&
	git commit -q -m clean &&
	garbage junk &&
	mlv gc 2>err &&
	test_grep "warning: skipping bad pointer .bad.mlv. in commit $c" err &&
	test_grep "warning: skipping bad pointer .deep/er/evil.mlv. in commit $c" err &&
	test_must_fail present $garbage &&
	test "$(mlv cat base)" = base &&
	mlv fsck
'

test_expect_success '--dry-run lists what would go and changes nothing' '
	fresh dry &&
	garbage junk &&
	ls -l --time-style=full-iso .git/mlv/packs >before &&
	mlv gc --dry-run >out &&
	test_grep "would remove chunk $garbage" out &&
	test_grep "would remove pack pack-" out &&
	test_grep "would remove 1 object" out &&
	mlv gc --dry-run --json >json &&
	test_grep "\"dry_run\":true" json &&
	test_grep "\"objects_removed\":1" json &&
	test_grep "\"packs_removed\":1" json &&
	ls -l --time-style=full-iso .git/mlv/packs >after &&
	test_cmp before after &&
	present $garbage &&
	mlv gc --json >json &&
	test_grep "\"dry_run\":false" json &&
	test_grep "\"objects_removed\":1" json &&
	test_grep "\"bytes_freed\":[1-9]" json &&
	test_must_fail present $garbage
'

test_expect_success 'a mostly dead pack is repacked: live records move, the old pack goes' '
	fresh repack &&
	echo keep-me >keep &&
	generate_file big 2M big &&
	mlv add -q keep big &&
	test $(ls .git/mlv/packs | wc -l) = 2 &&
	k=$(oid_of keep.mlv) &&
	b=$(oid_of big.mlv) &&
	git add keep.mlv .gitignore &&
	git commit -q -m keep &&
	rm big big.mlv &&
	mlv gc --json >json &&
	test_grep "\"packs_repacked\":1" json &&
	test_grep "\"packs_written\":1" json &&
	test $(ls .git/mlv/packs | wc -l) = 2 &&
	test "$(mlv cat $k)" = keep-me &&
	test_must_fail present $b &&
	mlv fsck &&
	rm keep &&
	mlv checkout &&
	test "$(cat keep)" = keep-me
'

test_expect_success 'a mostly live pack is left alone; its dead objects are counted' '
	fresh mostly &&
	generate_file big 2M big &&
	echo small >small &&
	mlv add -q big small &&
	s=$(oid_of small.mlv) &&
	git add big.mlv .gitignore &&
	git commit -q -m big &&
	rm small small.mlv &&
	mlv gc --json >json &&
	test_grep "\"packs_repacked\":0" json &&
	test_grep "\"objects_left\":1" json &&
	present $s &&
	mlv fsck
'

test_expect_success 'tracked directories: trees and chunks of every version are kept' '
	fresh dirs &&
	mkdir -p data/sub &&
	for i in 1 2 3; do echo $i >data/f$i && echo s$i >data/sub/s$i || return 1; done &&
	generate_file data/sub/large 1500K large &&
	mlv add -q data &&
	git add -A && git commit -q -m d1 &&
	echo changed >data/f1 &&
	mlv add -q data &&
	git add -A && git commit -q -m d2 &&
	garbage junk &&
	mlv gc &&
	test_must_fail present $garbage &&
	mlv fsck &&
	git checkout -q HEAD~1 &&
	mlv checkout &&
	test "$(cat data/f1)" = 1 &&
	test "$(mlv cat data/sub/s2)" = s2 &&
	git checkout -q main &&
	mlv checkout &&
	test "$(cat data/f1)" = changed &&
	mlv fsck
'

test_expect_success 'a shallow clone: history that is not there is no error' '
	fresh deep &&
	for i in 1 2 3; do echo $i >f && mlv add -q f && git add -A && git commit -q -m $i || return 1; done &&
	cd .. &&
	rm -rf shallow &&
	git clone -q --depth 1 "file://$PWD/deep" shallow &&
	cd shallow &&
	mlv init -q &&
	git config mlv.gc.grace 0 &&
	echo here >h &&
	mlv add -q h &&
	mlv gc --json >json &&
	test_grep "\"objects_removed\":0" json &&
	present $(oid_of h.mlv)
'

# hold_gc_lock: hold byte 2 of index.lck exclusively, as a running gc
# does (F_OFD_SETLK is 37), in a background process $holder.
hold_gc_lock () {
	rm -f locked &&
	python3 -c "import fcntl, os, struct, time
fd = os.open('.git/mlv/index.lck', os.O_RDWR)
fcntl.fcntl(fd, 37, struct.pack('hhqqi', fcntl.F_WRLCK, 0, 2, 1, 0))
open('locked', 'w').close()
time.sleep(60)" &
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

test_lazy_prereq PYTHON3 'python3 -c "import fcntl, struct"'

test_expect_success PYTHON3 'gc refuses while another gc runs, naming it' '
	fresh twice &&
	hold_gc_lock &&
	test_expect_code 128 mlv gc 2>err &&
	kill $holder &&
	test_grep "another mlv gc is running" err &&
	test_grep "process $holder" err
'

test_done
