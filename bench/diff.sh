#!/bin/sh
# mlv diff between two versions of a tracked directory of N small files
# with 1% of them changed, against `git diff --stat` of the same two
# versions committed straight into git, in the same run.
#
#   bench/diff.sh                          100,000 files
#   MLV_BENCH_DIFF_FILES=10000 bench/diff.sh
#
# Target (issue 7): mlv diff v1 v2 <= 0.3 s, reading no file data: the
# files opened are listed with strace, and any under the work tree's data
# (or anything but git's objects, mlv's index.db and packs) is reported.
#
# Data: N files of ~64 bytes in 100 directories (data/dNN/fNNNNNN, file i
# in directory i % 100), text made from the file number; v2 rewrites 1% of
# them, spread over every directory (files whose int(i / 100) % 100 is 7),
# so that every directory's tree differs and is read: the diff cannot
# skip a subtree, the least favourable case for it.
#
#   MLV              the mlv binary (default ./mlv)
#   MLV_BENCH_DIR    work directory (default bench/work)
#   MLV_BENCH_RUNS   hyperfine runs (default 10)
set -eu

. "$(dirname "$0")/lib.sh"
cd "$top"
N=${MLV_BENCH_DIFF_FILES:-100000}
RUNS=${MLV_BENCH_RUNS:-10}
work=${MLV_BENCH_DIR:-$top/bench/work}/diff-$N
repo=$work/repo
ref=$work/git

bench_git_env "$work"

# write_files DIR VERSION: the N files; VERSION 2 changes 1%.
write_files() {
	awk -v n="$N" -v dir="$1" -v ver="$2" 'BEGIN {
		for (i = 0; i < n; i++) {
			d = sprintf("%s/d%02d", dir, i % 100)
			if (i < 100)
				system("mkdir -p " d)
			f = sprintf("%s/f%06d", d, i)
			v = (ver == 2 && int(i / 100) % 100 == 7) ? "v2" : "v1"
			printf "file %d version %s %08x %08x\n", i, v,
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
	(cd "$repo" && "$MLV" init -q)
	echo "bench/diff.sh: writing $N files..." >&2
	write_files "$repo/data" 1
	(cd "$repo" && "$MLV" add data >/dev/null && git add -A && git commit -q -m v1 && git tag v1)
	cp -r "$repo/data" "$ref/data"
	(cd "$ref" && git add -A && git commit -q -m v1 && git tag v1)
	write_files "$repo/data" 2
	(cd "$repo" && "$MLV" add data >/dev/null && git add -A && git commit -q -m v2 && git tag v2)
	rm -rf "$ref/data" && cp -r "$repo/data" "$ref/data"
	(cd "$ref" && git add -A && git commit -q -m v2 && git tag v2 && git gc -q)
	echo "$N spread" >"$work/.stamp"
}

if [ "$(cat "$work/.stamp" 2>/dev/null)" != "$N spread" ]; then
	gen
fi

cd "$repo"
changed=$("$MLV" diff --name-status v1 v2 | grep -c '^M	')
want=$((N / 100))
test "$changed" = "$want" || {
	echo "bench/diff.sh: mlv diff listed $changed modified files, expected $want" >&2
	exit 1
}
(cd "$ref" && test "$(git diff --name-status v1 v2 | grep -c '^M	')" = "$want")

# Which files does mlv open?  Everything but system files, git's objects
# and refs, and mlv's store counts as data read.
strace -f -qq -e trace=openat,open -o "$work/strace.out" "$MLV" diff v1 v2 >/dev/null
opens=$(grep -c 'open' "$work/strace.out" || true)
grep -o '"[^"]*"' "$work/strace.out" | tr -d '"' | sort -u >"$work/opened"
grep -v -e '^/usr/' -e '^/lib' -e '^/etc/' -e '^/proc/' -e '^/sys/' -e '^/dev/' \
	-e '/\.git/objects' -e '/\.git/refs' -e '/\.git/packed-refs' -e '/\.git/HEAD' \
	-e '/\.git/config' -e '/\.git/mlv/' -e '/\.git/info' -e '/\.git$' -e '/\.git/commondir' \
	-e '/\.mlv/config' -e '/\.mlv$' -e '/home/' -e '/\.gitconfig' "$work/opened" \
	>"$work/opened-other" || true
# Paths are opened from the work tree's directory fd: relative ones count too.
data_opens=$(grep -c -E "(^|/)data(/|\$)" "$work/opened-other" || true)

if command -v hyperfine >/dev/null 2>&1; then
	hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/hyperfine.json" \
		-n mlv "$MLV diff v1 v2" -n "mlv --stat" "$MLV diff --stat v1 v2" \
		-n git "git -C $ref diff --stat v1 v2" >&2
	eval "$(python3 - "$work/hyperfine.json" <<-\EOF
	import json, sys
	r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
	print("t_mlv=%.4f t_stat=%.4f t_git=%.4f" % (r["mlv"], r["mlv --stat"], r["git"]))
	EOF
	)"
else
	t() {
		s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N)
		echo "$e - $s" | bc
	}
	t_mlv=$(t "$MLV" diff v1 v2)
	t_stat=$(t "$MLV" diff --stat v1 v2)
	t_git=$(t git -C "$ref" diff --stat v1 v2)
fi

echo "| $N files, 1% changed | time (s) | vs git diff --stat |"
echo "|---|---|---|"
awk -v m="$t_mlv" -v s="$t_stat" -v g="$t_git" 'BEGIN {
	printf "| mlv diff v1 v2 | %.3f | %.2fx |\n", m, m / g
	printf "| mlv diff --stat v1 v2 | %.3f | %.2fx |\n", s, s / g
	printf "| git diff --stat v1 v2 (data in git) | %.3f | 1.00x |\n", g
}'
echo
echo "target: mlv diff <= 0.3 s: $(awk -v m="$t_mlv" 'BEGIN { print (m <= 0.3) ? "met" : "NOT met" }')"
echo "open/openat calls by mlv diff: $opens; files under data/ opened: $data_opens"
echo "files opened outside system, git objects/refs and the store ($work/opened-other):"
sed 's/^/    /' "$work/opened-other"
test "$data_opens" = 0
