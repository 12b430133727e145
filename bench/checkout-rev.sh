#!/bin/sh
# mlv checkout <rev> switching a tracked directory of N small files between
# two versions that differ in 1% of the files, against a fresh checkout of
# the whole directory, in the same run.  Uses the repository bench/diff.sh
# makes (generated on first use).
#
#   bench/checkout-rev.sh                          100,000 files
#   MLV_BENCH_DIFF_FILES=10000 bench/checkout-rev.sh
#
# Target (issue 7): the switch rewrites only the changed 1% (counted from
# --json), and is >= 10x faster than a fresh checkout.
#
#   MLV              the mlv binary (default ./mlv)
#   MLV_BENCH_DIR    work directory (default bench/work)
#   MLV_BENCH_RUNS   rounds (default 5)
set -eu

. "$(dirname "$0")/lib.sh"
cd "$top"
export MLV
N=${MLV_BENCH_DIFF_FILES:-100000}
RUNS=${MLV_BENCH_RUNS:-5}
base=${MLV_BENCH_DIR:-$top/bench/work}
src=$base/diff-$N/repo
work=$base/checkout-rev-$N

if [ "$(cat "$base/diff-$N/.stamp" 2>/dev/null)" != "$N spread" ]; then
	echo "bench/checkout-rev.sh: making the data with bench/diff.sh..." >&2
	MLV_BENCH_RUNS=2 "$top/bench/diff.sh" >/dev/null
fi
rm -rf "$work" && mkdir -p "$work"
git clone -q "$src" "$work/repo"
cp -a "$src/.git/mlv" "$work/repo/.git/mlv"
cd "$work/repo"
"$MLV" init -q
"$MLV" checkout -q

now() { date +%s%N; }
switch_ns=0 fresh_ns=0 written=
for i in $(seq "$RUNS"); do
	s=$(now); "$MLV" checkout --json v1 >"$work/to-v1.json"; e=$(now)
	switch_ns=$((switch_ns + e - s))
	s=$(now); "$MLV" checkout --json v2 >"$work/to-v2.json"; e=$(now)
	switch_ns=$((switch_ns + e - s))
	written="$written $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["written"])' "$work/to-v1.json")"
	rm -rf data
	s=$(now); "$MLV" checkout -q; e=$(now)
	fresh_ns=$((fresh_ns + e - s))
done
switch=$(awk -v t="$switch_ns" -v n="$RUNS" 'BEGIN { printf "%.3f", t / 2 / n / 1e9 }')
fresh=$(awk -v t="$fresh_ns" -v n="$RUNS" 'BEGIN { printf "%.3f", t / n / 1e9 }')
echo "| $N files, 1% changed | time (s) | files written |"
echo "|---|---|---|"
echo "| mlv checkout v1 <-> v2 (switch, mean) | $switch | $(echo $written | tr ' ' '\n' | sort -u | tr '\n' ' ')|"
echo "| mlv checkout into an empty directory (fresh) | $fresh | $N |"
echo
awk -v s="$switch" -v f="$fresh" 'BEGIN {
	printf "fresh / switch = %.1fx (target >= 10x: %s)\n", f / s, (f / s >= 10) ? "met" : "NOT met" }'
test "$(echo $written | tr ' ' '\n' | sort -u)" = "$((N / 100))"
