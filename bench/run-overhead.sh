#!/bin/sh
# What `mlv run -- true` costs beyond running `true`: N runs of each, in
# the same repository, and the difference per run (target: <= 10 ms).
#
#   bench/run-overhead.sh [N]     (default 50)
#   MLV_BENCH_DIR                 work directory (default a temporary one)
set -eu
. "$(dirname "$0")"/lib.sh

n=${1:-50}
work=${MLV_BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
bench_git_env "$work"
repo=$work/run-overhead
rm -rf "$repo"
git init -q "$repo"
cd "$repo"
"$MLV" init -q
echo 'print(1)' >train.py
git add -A && git commit -q -m init

now() { date +%s.%N; }
loop() {
	t0=$(now)
	i=0
	while [ $i -lt "$n" ]; do "$@" >/dev/null 2>&1; i=$((i + 1)); done
	t1=$(now)
	echo "$t0 $t1 $n" | awk '{ printf "%.3f", ($2 - $1) * 1000 / $3 }'
}

# Warm up: the first run makes the query cache and the store's index.
"$MLV" run -q -- true 2>/dev/null
base=$(loop /bin/true)
traced=$(loop "$MLV" run -q -- /bin/true)
untraced=$(loop "$MLV" run -q --no-trace -- /bin/true)
printf 'true directly:             %8.2f ms per run\n' "$base"
printf 'mlv run -- true:           %8.2f ms per run (+%.2f ms)\n' "$traced" \
	"$(echo "$traced $base" | awk '{ print $1 - $2 }')"
printf 'mlv run --no-trace -- true:%8.2f ms per run (+%.2f ms)\n' "$untraced" \
	"$(echo "$untraced $base" | awk '{ print $1 - $2 }')"
echo "runs recorded: $(git for-each-ref refs/mlv/runs | wc -l)"
[ -n "${MLV_BENCH_DIR:-}" ] || rm -rf "$work"
