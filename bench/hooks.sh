#!/bin/bash
#
# The post-checkout hook when no pointer changed, against a no-op
# `mlv status` on the same repository (target: at most 1.2 times).
#
#   bench/hooks.sh [<artifacts> [<files>]]     (default 100 and 10,000)
#
#   MLV=<path>            the mlv binary (default ./mlv of this checkout)
#   MLV_BENCH_DIR=<dir>   work directory (default bench/work)
#
# The repository holds <artifacts> tracked files and one tracked directory
# of <files> files, committed; branch "same" differs from main only in a
# file that is not tracked by mlv.  Measured, in the same run:
#
#   status      mlv status                      (a stat walk, nothing to do)
#   hook        .git/hooks/post-checkout <old> <new> 1, run as git runs it
#   git+hook    git checkout same / main, hooks installed
#   git alone   the same with core.hooksPath=/dev/null
#
# hyperfine when it is installed (mean of its runs), else the median of
# $runs runs timed with date +%s%N.  Prints a table and the ratio.

set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
MLV=${MLV:-$top/mlv}
case "$MLV" in /*) ;; *) MLV=$(pwd)/$MLV ;; esac
[ -x "$MLV" ] || { echo "hooks.sh: $MLV not built; run make" >&2; exit 1; }
nart=${1:-100}
nfiles=${2:-10000}
runs=${RUNS:-15}

mkdir -p "${MLV_BENCH_DIR:-$here/work}"
W=$(cd "${MLV_BENCH_DIR:-$here/work}" && pwd)/hooks
rm -rf "$W"
mkdir -p "$W"
trap 'rm -rf "$W"' EXIT
R=$W/repo

echo "hooks.sh: making $nart artifacts and a directory of $nfiles files in $R" >&2
git init -q -b main "$R"
cd "$R"
git config user.name bench
git config user.email bench@example.com
"$MLV" init -q
mkdir -p art dir
for ((i = 0; i < nart; i++)); do
	printf 'artifact %d\n%0512d\n' "$i" "$i" >"art/a$i.bin"
done
for ((d = 0; d < 100; d++)); do
	mkdir -p "dir/d$d"
done
for ((i = 0; i < nfiles; i++)); do
	printf 'file %d\n%0256d\n' "$i" "$i" >"dir/d$((i % 100))/f$i"
done
"$MLV" add -q art/*.bin dir
git add -A
git commit -q -m data
git checkout -q -b same
echo "not data" >README
git add README
git commit -q -m readme
git checkout -q main
"$MLV" hooks install >/dev/null
"$MLV" status >/dev/null
old=$(git rev-parse main)
new=$(git rev-parse same)

# Nothing may change: the hook must print nothing and leave the data alone.
out=$(.git/hooks/post-checkout "$old" "$new" 1 2>&1)
[ -z "$out" ] || { echo "hooks.sh: the hook printed: $out" >&2; exit 1; }

export MLV R old new
cmd_status="$MLV status"
cmd_hook=".git/hooks/post-checkout $old $new 1"
cmd_git="git checkout -q same && git checkout -q main"
cmd_nohook="git -c core.hooksPath=/dev/null checkout -q same && git -c core.hooksPath=/dev/null checkout -q main"

median_ms() {
	local cmd=$1 t0 t1
	for ((k = 0; k < runs; k++)); do
		t0=$(date +%s%N)
		bash -c "$cmd" >/dev/null 2>&1
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000))
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] / 1000 }'
}

if command -v hyperfine >/dev/null; then
	how="hyperfine, mean"
	hyperfine -N -w 3 -r "$runs" --export-json "$W/h.json" \
		-n status "$cmd_status" -n hook "$cmd_hook" >&2 2>/dev/null ||
	hyperfine -w 3 -r "$runs" --export-json "$W/h.json" \
		-n status "$cmd_status" -n hook "$cmd_hook" >&2
	hyperfine -w 2 -r "$runs" --export-json "$W/g.json" \
		-n git+hook "$cmd_git" -n "git alone" "$cmd_nohook" >&2
	read -r t_status t_hook < <(python3 -c '
import json, sys
r = {x["command"]: x["mean"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
print("%.2f %.2f" % (r["status"], r["hook"]))' "$W/h.json")
	read -r t_git t_nohook < <(python3 -c '
import json, sys
r = {x["command"]: x["mean"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
print("%.2f %.2f" % (r["git+hook"], r["git alone"]))' "$W/g.json")
else
	how="median of $runs"
	for c in "$cmd_status" "$cmd_hook"; do bash -c "$c" >/dev/null 2>&1; done
	t_status=$(median_ms "$cmd_status")
	t_hook=$(median_ms "$cmd_hook")
	t_git=$(median_ms "$cmd_git")
	t_nohook=$(median_ms "$cmd_nohook")
fi

# The data is still what main's pointers say.
"$MLV" status --exit-code >/dev/null || { echo "hooks.sh: status is not clean" >&2; exit 1; }

ratio=$(awk -v a="$t_hook" -v b="$t_status" 'BEGIN { printf "%.2f", a / b }')
git_ratio=$(awk -v a="$t_git" -v b="$t_nohook" 'BEGIN { printf "%.2f", a / b }')
echo "## post-checkout hook, no pointer changed ($nart artifacts + a directory of $nfiles files; $how)"
echo
echo "| what | ms |"
echo "|---|---|"
echo "| mlv status (no-op) | $t_status |"
echo "| post-checkout hook | $t_hook |"
echo "| git checkout there and back, hooks installed | $t_git |"
echo "| git checkout there and back, no hooks | $t_nohook |"
echo
echo "hook / status: ${ratio}x (target <= 1.2x); git checkout with / without hooks: ${git_ratio}x"
