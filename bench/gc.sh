#!/bin/sh
# mlv gc on a store of 10 versions of a tracked directory of N small files
# (1% changed per version) plus unreachable garbage, against git gc on the
# same 10 commits of the same files committed straight into git, in the
# same run.
#
#   bench/gc.sh                            100,000 files
#   MLV_BENCH_GC_FILES=10000 bench/gc.sh   a quick run
#
# Target (issue 7): mlv gc <= 2 x git gc.
#
# Data: N files of ~64 bytes in 100 directories (data/dNN/fNNNNNN, file i
# in directory i % 100), text made from the file number and the version;
# version v rewrites the files whose int(i / 100) % 100 is v (1%, spread
# over every directory, so every directory's tree changes).  Garbage: a
# directory of N/100 files and a 4 MiB file, added and forgotten.  gc runs
# with gc.grace=now (git gc with --prune=now), each run on a fresh copy.
#
#   MLV              the mlv binary (default ./mlv)
#   MLV_BENCH_DIR    work directory (default bench/work)
#   MLV_BENCH_RUNS   runs of each (default 3; the best is kept)
set -eu

. "$(dirname "$0")/lib.sh"
cd "$top"
N=${MLV_BENCH_GC_FILES:-100000}
RUNS=${MLV_BENCH_RUNS:-3}
VERSIONS=10
work=${MLV_BENCH_DIR:-$top/bench/work}/gc-$N
repo=$work/repo
ref=$work/git

bench_git_env "$work"

# write_files DIR VERSION: the N files as of VERSION (1..10).
write_files() {
	awk -v n="$N" -v dir="$1" -v ver="$2" 'BEGIN {
		for (i = 0; i < n; i++) {
			d = sprintf("%s/d%02d", dir, i % 100)
			if (i < 100)
				system("mkdir -p " d)
			b = int(i / 100) % 100
			v = (b >= 1 && b <= ver) ? b : 0
			f = sprintf("%s/f%06d", d, i)
			printf "file %d version %d %08x %08x\n", i, v,
				(i * 2654435761) % 4294967296, (i * 40503) % 65536 >f
			close(f)
		}
	}'
}

gen() {
	rm -rf "$work"
	mkdir -p "$work/home" "$repo" "$ref"
	git init -q -b main "$repo"
	git init -q -b main "$ref"
	(cd "$repo" && "$MLV" init -q && git config mlv.gc.grace now)
	echo "bench/gc.sh: $VERSIONS versions of $N files..." >&2
	v=1
	while [ $v -le $VERSIONS ]; do
		write_files "$repo/data" $v
		(cd "$repo" && "$MLV" add -q data && git add -A && git commit -q -m "v$v")
		rm -rf "$ref/data" && cp -r "$repo/data" "$ref/data"
		(cd "$ref" && git add -A && git commit -q -m "v$v")
		v=$((v + 1))
	done
	# Garbage in both: stored, then forgotten (git: loose unreachable blobs).
	mkdir -p "$repo/junk"
	awk -v n=$((N / 100)) -v dir="$repo/junk" 'BEGIN {
		for (i = 0; i < n; i++) { f = sprintf("%s/j%06d", dir, i); print "junk", i >f; close(f) } }'
	head -c 4194304 /dev/zero | tr '\0' 'x' >"$repo/junk/big"
	cp -r "$repo/junk" "$ref/junk"
	(cd "$repo" && "$MLV" add -q junk && rm -rf junk junk.mlv)
	(cd "$ref" && find junk -type f | git hash-object -w --stdin-paths >/dev/null && rm -rf junk)
	echo "$N $VERSIONS" >"$work/.stamp"
}

if [ "$(cat "$work/.stamp" 2>/dev/null)" != "$N $VERSIONS" ]; then
	gen
fi

now() { date +%s.%N; }

# best_of CMD...: the best wall time of $RUNS runs, each on fresh copies.
best=
run_mlv() {
	rm -rf "$work/run" && cp -a "$repo" "$work/run"
	sync
	t0=$(now)
	(cd "$work/run" && "$MLV" gc --json >"$work/mlv-gc.json")
	t1=$(now)
	echo "$t1 - $t0" | bc
}
run_git() {
	rm -rf "$work/run" && cp -a "$ref" "$work/run"
	sync
	t0=$(now)
	(cd "$work/run" && git gc -q --prune=now)
	t1=$(now)
	echo "$t1 - $t0" | bc
}
best_of() {
	best=
	i=0
	while [ $i -lt "$RUNS" ]; do
		t=$("$@")
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
		i=$((i + 1))
	done
}

best_of run_mlv
mlv_t=$best
best_of run_git
git_t=$best
rm -rf "$work/run"

echo "mlv gc: $(cat "$work/mlv-gc.json")"
printf 'gc of %d versions of %d files: mlv gc %.3f s, git gc %.3f s, ratio %.2f (target <= 2)\n' \
	"$VERSIONS" "$N" "$mlv_t" "$git_t" "$(echo "$mlv_t / $git_t" | bc -l)"
