#!/bin/sh
# What a GPU lease costs: `mlv run --gpus 1 -- true` against
# `mlv run -- true`, and `mlv gpus` with every device held, against
# flock(1) taking and dropping one lock file (the reference), on a fake
# inventory of 8 GPUs (MLV_GPU_INVENTORY) in a temporary lock directory.
#
#   bench/lease.sh [N]      (default 50)
#   MLV_BENCH_DIR           work directory (default a temporary one)
set -eu
. "$(dirname "$0")"/lib.sh

n=${1:-50}
work=${MLV_BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
bench_git_env "$work"
repo=$work/lease
rm -rf "$repo" "$work/locks"
git init -q "$repo"
cd "$repo"
"$MLV" init -q
git config mlv.run.lockDir "$work/locks"
git commit -q --allow-empty -m init
inv=
for i in 0 1 2 3 4 5 6 7; do inv="$inv${inv:+;}GPU-0000000$i-bench,Bench GPU,81920"; done
export MLV_GPU_INVENTORY="$inv"

now() { date +%s.%N; }
loop() {
	t0=$(now)
	i=0
	while [ $i -lt "$n" ]; do "$@" >/dev/null 2>&1; i=$((i + 1)); done
	t1=$(now)
	echo "$t0 $t1 $n" | awk '{ printf "%.3f", ($2 - $1) * 1000 / $3 }'
}

"$MLV" run -q --no-trace --gpus 1 -- true 2>/dev/null
touch "$work/flock-ref"
ref=$(loop flock "$work/flock-ref" true)
plain=$(loop "$MLV" run -q --no-trace -- true)
leased=$(loop "$MLV" run -q --no-trace --gpus 1 -- true)
all=$(loop "$MLV" run -q --no-trace --gpus all -- true)
printf 'flock(1) one lock file:         %8.2f ms per call\n' "$ref"
printf 'mlv run -- true:                %8.2f ms per run\n' "$plain"
printf 'mlv run --gpus 1 -- true:       %8.2f ms per run (+%.2f ms)\n' "$leased" \
	"$(echo "$leased $plain" | awk '{ print $1 - $2 }')"
printf 'mlv run --gpus all -- true:     %8.2f ms per run (+%.2f ms, 8 GPUs)\n' "$all" \
	"$(echo "$all $plain" | awk '{ print $1 - $2 }')"

# mlv gpus while a run holds all 8 devices and another waits
"$MLV" run -q --no-trace --gpus all -- sh -c "touch '$work/held'; while ! test -e '$work/go'; do sleep 0.05; done" &
while ! test -e "$work/held"; do sleep 0.02; done
"$MLV" run -q --no-trace --gpus 1 --wait -- true &
gpus=$(loop "$MLV" gpus)
printf 'mlv gpus, 8 held, 1 waiting:    %8.2f ms per call (%.1f x flock(1))\n' "$gpus" \
	"$(echo "$gpus $ref" | awk '{ print $1 / $2 }')"
touch "$work/go"
wait
[ -n "${MLV_BENCH_DIR:-}" ] || rm -rf "$work"
