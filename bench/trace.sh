#!/bin/sh
# The cost of tracing a command's file opens (mlv run's inputs and outputs
# found with no flags): the same command run through mlv_proc_start()
# untraced, traced (the fast path: mlv-trace.so preloaded, ptrace for the
# rest), traced with ptrace only (MLV_TRACE_PRELOAD=), side by side, and
# strace -f --seccomp-bpf (the ptrace technique) as the reference when it
# is installed.
#
#   bench/trace.sh                              100,000 files
#   MLV_BENCH_TRACE_FILES=10000 bench/trace.sh  a quick run
#
# Target (issue 8): traced <= 1.10 x untraced on a command that opens
# 100,000 small files.
#
# Data: N files of ~12 bytes ("file <i>\n") in N/1000 directories
# (dNNN/fNNNNNN, file i in directory i / 1000), written once and reused.
# Commands, none forking per file:
#   python   python3 walks the tree and reads every file (os.walk, open, read)
#   cat      find <dir> -type f -exec cat {} +  (a few cat processes)
# bench/trace-driver.c runs each (built here against libmlv.a) and prints
# its wall time; the best of RUNS is kept.
#
#   MLV_BENCH_DIR    work directory (default bench/work)
#   MLV_BENCH_RUNS   runs of each (default 3)
set -eu

. "$(dirname "$0")/lib.sh"
cd "$top"
N=${MLV_BENCH_TRACE_FILES:-100000}
RUNS=${MLV_BENCH_RUNS:-3}
work=${MLV_BENCH_DIR:-$top/bench/work}/trace-$N
data=$work/data
driver=$work/trace-driver
export LC_ALL=C

[ -f libmlv.a ] || make --no-print-directory libmlv.a >&2
[ -f mlv-trace.so ] || make --no-print-directory mlv-trace.so >&2
preload=$top/mlv-trace.so
mkdir -p "$work"
# shellcheck disable=SC2046
cc -O2 -Iinclude -D_GNU_SOURCE -pthread -o "$driver" bench/trace-driver.c libmlv.a \
	$(pkg-config --libs libgit2 sqlite3 libzstd libcrypto jansson 2>/dev/null) -lm

if [ "$(cat "$work/.stamp" 2>/dev/null)" != "$N" ]; then
	echo "writing $N files into $data" >&2
	rm -rf "$data" "$work/.stamp"
	mkdir -p "$data"
	awk -v n="$N" -v dir="$data" 'BEGIN {
		for (i = 0; i < n; i++) {
			if (i % 1000 == 0) {
				d = sprintf("%s/d%03d", dir, i / 1000)
				system("mkdir -p " d)
			}
			f = sprintf("%s/f%06d", d, i)
			printf "file %d\n", i > f
			close(f)
		}
	}'
	echo "$N" >"$work/.stamp"
fi

cat >"$work/read.py" <<'EOF'
import os, sys
n = 0
for root, dirs, files in os.walk(sys.argv[1]):
    dirs.sort()
    for f in sorted(files):
        with open(os.path.join(root, f), 'rb') as fh:
            n += len(fh.read())
print(n)
EOF

# best MODE CMD...: the best wall time of RUNS runs (MODE: plain, trace,
# ptrace, strace), and for trace the number of files the trace saw.
best() {
	mode=$1
	shift
	b=
	files=
	i=0
	while [ $i -lt "$RUNS" ]; do
		case $mode in
		plain)	t=$("$driver" "$@" 2>/dev/null | tail -n 1 | cut -d' ' -f1) ;;
		trace|ptrace)
			if [ "$mode" = trace ]; then
				line=$(MLV_TRACE_PRELOAD=$preload "$driver" --trace "$@" 2>/dev/null | tail -n 1)
			else
				line=$(MLV_TRACE_PRELOAD= "$driver" --trace "$@" 2>/dev/null | tail -n 1)
			fi
			t=${line%% *}
			files=$(echo "$line" | cut -d' ' -f2)
			why=$(echo "$line" | cut -d' ' -f3-)
			if [ -n "$why" ]; then
				echo "tracing unavailable: $why" >&2
				exit 1
			fi ;;
		strace)	t=$("$driver" strace -f --seccomp-bpf -qq -e trace=open,openat,openat2,creat,rename,renameat,renameat2,truncate,link,linkat \
				-o /dev/null "$@" 2>/dev/null | tail -n 1 | cut -d' ' -f1) ;;
		esac
		b=$(awk -v a="$t" -v b="$b" 'BEGIN { print (b == "" || a < b) ? a : b }')
		i=$((i + 1))
	done
	echo "$b $files"
}

have_strace=
if command -v strace >/dev/null 2>&1 && strace -f --seccomp-bpf -qq -o /dev/null true 2>/dev/null; then
	have_strace=1
fi

echo "# tracing overhead: $N small files, best of $RUNS ($(nproc) CPUs, $(uname -r))"
echo
echo "| command | untraced s | traced s | ratio | files seen | ptrace only s | ratio | strace s | strace ratio |"
echo "|---|---|---|---|---|---|---|---|---|"
row() {
	name=$1
	shift
	echo "$name: untraced" >&2
	plain=$(best plain "$@")
	plain=${plain% *}
	echo "$name: traced" >&2
	traced=$(best trace "$@")
	files=${traced#* }
	traced=${traced% *}
	echo "$name: traced, ptrace only" >&2
	pt=$(best ptrace "$@")
	pt=${pt% *}
	pr=$(awk -v a="$pt" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')
	st=- sr=-
	if [ -n "$have_strace" ]; then
		echo "$name: strace" >&2
		st=$(best strace "$@")
		st=${st% *}
		sr=$(awk -v a="$st" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')
	fi
	ratio=$(awk -v a="$traced" -v b="$plain" 'BEGIN { printf "%.2f", a / b }')
	echo "| $name | $plain | $traced | $ratio | $files | $pt | $pr | $st | $sr |"
}
# The interpreter itself, not a launcher (pyenv shim) that would add its own start-up.
py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
if [ -n "$py" ]; then
	row python "$py" "$work/read.py" "$data"
fi
row cat sh -c 'find "$1" -type f -exec cat {} + >/dev/null' sh "$data"
