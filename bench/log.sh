#!/bin/sh
# mlv log of one artifact over N commits that each change it, against
# `git log --format=%H -- <pointer>` on the same repository, in the same run.
#
#   bench/log.sh                 10,000 commits
#   MLV_BENCH_LOG_COMMITS=50000 bench/log.sh
#
# Target (issue 7): mlv log <= 2 x git log.  The repository is written with
# git fast-import: each commit changes data.bin.mlv (a valid pointer, see
# mlv-formats(5) POINTER FILES) and, every 10th, an unrelated file in a
# subdirectory, so that the walk sees trees of more than one level.  The
# objects the pointers name are not in the store: log does not read them.
#
#   MLV              the mlv binary (default ./mlv)
#   MLV_BENCH_DIR    work directory (default bench/work)
#   MLV_BENCH_RUNS   hyperfine runs (default 10)
set -eu

. "$(dirname "$0")/lib.sh"
cd "$top"
N=${MLV_BENCH_LOG_COMMITS:-10000}
RUNS=${MLV_BENCH_RUNS:-10}
work=${MLV_BENCH_DIR:-$top/bench/work}/log-$N
repo=$work/repo

bench_git_env "$work"

gen() {
	rm -rf "$work"
	mkdir -p "$work/home" "$repo"
	git init -q -b main "$repo"
	(cd "$repo" && "$MLV" init -q)
	# The pointers and the commit stream, deterministically (a hash of the
	# commit number stands for the object id).
	awk -v n="$N" '
	function data(s) { printf "data %d\n%s\n", length(s), s }
	BEGIN {
		t = 1700000000
		for (i = 1; i <= n; i++) {
			h = ""
			for (k = 1; k <= 8; k++)
				h = h sprintf("%08x", (i * 2654435761 + k * 40503) % 4294967296)
			ptr = "version 1\noid sha256:" h "\nsize " (1000 + i) "\nkind data\ntype file\n"
			print "commit refs/heads/main"
			print "mark :" i
			printf "author A U Thor <author@example.com> %d +0000\n", t + i
			printf "committer C O Mitter <committer@example.com> %d +0000\n", t + i
			data("step " i)
			if (i > 1) print "from :" (i - 1)
			print "M 100644 inline data.bin.mlv"
			data(ptr)
			if (i % 10 == 0) {
				print "M 100644 inline src/notes/n.txt"
				data("note " i)
			}
		}
	}' | (cd "$repo" && git fast-import --quiet)
	(cd "$repo" && git reset -q --hard main && git gc -q)
	echo "$N" >"$work/.stamp"
}

if [ "$(cat "$work/.stamp" 2>/dev/null)" != "$N" ]; then
	echo "bench/log.sh: writing $N commits..." >&2
	gen
fi

cd "$repo"
test "$("$MLV" log data.bin | grep -c '^commit ')" = "$N" || {
	echo "bench/log.sh: mlv log did not list $N commits" >&2
	exit 1
}

# The target compares with the first git command; the others say what the
# difference is made of: git reads parents and root trees from its
# commit-graph (written by gc) without inflating commits, which libgit2
# 1.5 cannot, and mlv prints author, date and subject of every commit.
g1="git log --format=%H -- data.bin.mlv"
g2="git -c core.commitGraph=false log --format=%H -- data.bin.mlv"
g3="git log --format=%H%x09%an%x09%ad%x09%s -- data.bin.mlv"
m1="$MLV log data.bin"
m2="$MLV log --json data.bin"

if command -v hyperfine >/dev/null 2>&1; then
	hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/hyperfine.json" \
		-n mlv "$m1" -n "mlv --json" "$m2" -n git "$g1" -n "git, no commit-graph" "$g2" \
		-n "git, author date subject" "$g3" >&2
	python3 - "$work/hyperfine.json" "$N" <<'EOF'
import json, sys
r = {x["command"]: (x["median"], x["user"] + x["system"]) for x in json.load(open(sys.argv[1]))["results"]}
print("| %s commits | median (s) | cpu (s) | mlv / this (median) | mlv / this (cpu) |" % sys.argv[2])
print("|---|---|---|---|---|")
m = r["mlv"]
for k in ("mlv", "mlv --json", "git", "git, no commit-graph", "git, author date subject"):
    print("| %s | %.3f | %.3f | %.2f | %.2f |" % (k, r[k][0], r[k][1], m[0] / r[k][0], m[1] / r[k][1]))
print("\ntarget: mlv / git <= 2 (row 'git')")
EOF
else
	t() {
		s=$(date +%s.%N)
		i=0
		while [ $i -lt "$RUNS" ]; do $1 >/dev/null; i=$((i + 1)); done
		e=$(date +%s.%N)
		echo "($e - $s) / $RUNS" | bc -l
	}
	m=$(t "$m1")
	echo "| $N commits | mean (s) | mlv / this |"
	echo "|---|---|---|"
	for c in "$m1" "$g1" "$g2" "$g3"; do
		x=$(t "$c")
		printf '| %s | %.3f | %.2f |\n' "$c" "$x" "$(echo "$m / $x" | bc -l)"
	done
	echo "target: mlv / git <= 2 (row '$g1')"
fi
