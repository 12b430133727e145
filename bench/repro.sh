#!/bin/sh
# `mlv repro --verify` of a run of the reference trainer against the run
# itself: target <= 1.1 x (the original `mlv run` + `mlv checkout` of its
# inputs).  The data (a CSV of SAMPLES rows, made by awk from a fixed
# seed) and the training are the same every time; each figure is the best
# of REPEAT.
#
#   bench/repro.sh [SAMPLES [EPOCHS [REPEAT]]]   (default 200000 5 3)
#   MLV_BENCH_DIR     work directory (default a temporary one)
#   REFNET            the trainer (default ./mlv-refnet of this checkout)
set -eu
. "$(dirname "$0")"/lib.sh

samples=${1:-200000}
epochs=${2:-5}
repeat=${3:-3}
REFNET=${REFNET:-$top/mlv-refnet}
[ -x "$REFNET" ] || { echo "bench/repro.sh: no $REFNET (run make)" >&2; exit 1; }
work=${MLV_BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
bench_git_env "$work"
repo=$work/repro
rm -rf "$repo"
git init -q "$repo"
cd "$repo"
"$MLV" init -q
cp "$REFNET" ./mlv-refnet
# 32 features and a label in 0..9, from a linear congruential generator.
awk -v n="$samples" 'BEGIN {
	s = 12345
	for (i = 0; i < n; i++) {
		line = ""
		for (j = 0; j < 32; j++) {
			s = (s * 1103515245 + 12345) % 2147483648
			line = line sprintf("%.4f,", s / 2147483648 - 0.5)
		}
		print line (i % 10)
	}
}' >data.csv
"$MLV" add -q data.csv
git add -A && git commit -q -m data

now() { date +%s.%N; }
# timed <command...>: its wall time in seconds.
timed() {
	t0=$(now)
	"$@" >/dev/null 2>&1
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.4f", $2 - $1 }'
}
min() { echo "$1 $2" | awk '{ print ($2 == "" || $1 < $2) ? $1 : $2 }'; }

train="./mlv-refnet -q -d data.csv --epochs $epochs --threads 4 -o model.safetensors"
checkout() { rm -f data.csv && "$MLV" checkout -q data.csv; }
# Interleaved, so that a busy moment of the machine hits each alike.
direct= original= inputs= repro=
i=0
while [ $i -lt "$repeat" ]; do
	direct=$(min "$(timed $train)" "$direct")
	original=$(min "$(timed "$MLV" run -q --name bench -d data.csv -o model.safetensors -- $train)" "$original")
	inputs=$(min "$(timed checkout)" "$inputs")
	repro=$(min "$(timed "$MLV" repro -q --verify bench)" "$repro")
	i=$((i + 1))
done
"$MLV" repro -q --verify bench >/dev/null   # and it did verify

size=$(wc -c <data.csv)
printf 'data:                       %d samples, %d bytes; %d epochs; best of %d\n' \
	"$samples" "$size" "$epochs" "$repeat"
printf 'mlv-refnet directly:        %8.3f s\n' "$direct"
printf 'mlv run (the original):     %8.3f s\n' "$original"
printf 'mlv checkout of its input:  %8.3f s\n' "$inputs"
printf 'mlv repro --verify:         %8.3f s\n' "$repro"
echo "$repro $original $inputs" |
	awk '{ printf "ratio repro / (run + input checkout): %.3f (target <= 1.1)\n", $1 / ($2 + $3) }'
[ -n "${MLV_BENCH_DIR:-}" ] || rm -rf "$work"
