#!/bin/sh
# `git merge` of two branches that changed different files of a tracked
# directory of N small files, with mlv's merge driver (the pointer merges
# three ways in the store), against `git merge` of the same two branches
# with the files committed straight into git, in the same run.
#
#   bench/merge.sh                          100,000 files
#   MLV_BENCH_MERGE_FILES=10000 bench/merge.sh
#
# Data: N files of ~64 bytes in 100 directories (data/dNN/fNNNNNN); the
# left branch rewrites every 100th file (1%), the right branch another 1%,
# so every directory changed on both sides and is merged entry by entry.
# Only the merge is timed (not the data checkout after it).
#
#   MLV              the mlv binary (default ./mlv)
#   MLV_BENCH_DIR    work directory (default bench/work)
#   MLV_BENCH_RUNS   runs of each (default 5), the median is reported
set -eu

. "$(dirname "$0")/lib.sh"
cd "$top"
N=${MLV_BENCH_MERGE_FILES:-100000}
RUNS=${MLV_BENCH_RUNS:-5}
work=${MLV_BENCH_DIR:-$top/bench/work}/merge-$N
repo=$work/repo
ref=$work/git

bench_git_env "$work"

# write_files DIR WHICH: the N files; WHICH (0..99) rewrites every file
# whose number is WHICH modulo 100, -1 none.
write_files() {
	awk -v n="$N" -v dir="$1" -v which="$2" 'BEGIN {
		for (i = 0; i < n; i++) {
			d = sprintf("%s/d%02d", dir, i % 100)
			if (i < 100)
				system("mkdir -p " d)
			f = sprintf("%s/f%06d", d, i)
			if (which >= 0 && int(i / 100) % 100 != which)
				continue
			v = (which >= 0) ? "changed " which : "v1"
			printf "file %d version %s %08x\n", i, v, (i * 2654435761) % 4294967296 >f
			close(f)
		}
	}'
}

# commit_side REPO BRANCH WHICH ADD: branch from base, change, commit.
commit_side() {
	(
		cd "$1" &&
		git checkout -q -b "$2" base &&
		if test "$4" = mlv; then "$MLV" checkout --force >/dev/null; fi &&
		write_files data "$3" &&
		if test "$4" = mlv; then "$MLV" add data >/dev/null; fi &&
		git add -A && git commit -q -m "$2"
	)
}

gen() {
	rm -rf "$work"
	mkdir -p "$work/home" "$repo" "$ref"
	git init -q -b main "$repo"
	git init -q -b main "$ref"
	echo "bench/merge.sh: writing $N files..." >&2
	(
		cd "$repo" && "$MLV" init -q &&
		git config merge.mlv.driver "\"$MLV\" merge-driver %O %A %B %P" &&
		echo '*.mlv merge=mlv' >.gitattributes &&
		write_files data -1 && "$MLV" add data >/dev/null &&
		git add -A && git commit -q -m base && git tag base
	)
	(
		cd "$ref" && write_files data -1 && git add -A && git commit -q -m base && git tag base
	)
	commit_side "$repo" left 7 mlv
	commit_side "$repo" right 13 mlv
	commit_side "$ref" left 7 git
	commit_side "$ref" right 13 git
}

# median_merge REPO: seconds of `git merge right` on left, median of RUNS.
median_merge() {
	(
		cd "$1"
		git checkout -q -f --detach left
		i=0
		while test $i -lt "$RUNS"; do
			git reset -q --hard left
			s=$(date +%s.%N)
			git merge -q --no-edit right >/dev/null 2>&1
			e=$(date +%s.%N)
			echo "$s $e" | awk '{ printf "%.4f\n", $2 - $1 }'
			i=$((i + 1))
		done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
	)
}

gen
test "$(git -C "$repo" status --porcelain | wc -l)" -eq 0 || true
mlv_s=$(median_merge "$repo")
git -C "$repo" cat-file -p HEAD:data.mlv | grep -q "^files $N$" ||
	{ echo "bench/merge.sh: the merged pointer does not hold $N files" >&2; exit 1; }
git_s=$(median_merge "$ref")
git -C "$ref" diff --quiet HEAD^2 HEAD -- data/d00/f001300 ||
	{ echo "bench/merge.sh: git's merge lost the right side's change" >&2; exit 1; }
echo "| merge of $N files, 1% changed on each side | mlv (driver) ${mlv_s}s | git ${git_s}s | ratio $(echo "$mlv_s $git_s" | awk '{ printf "%.2f", $1 / $2 }') |"
