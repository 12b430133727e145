#!/bin/sh
# The benchmarks of git history (issue: data at any revision, log, diff,
# merges, gc, hooks), one after the other, each comparing mlv with git in
# the same run.  Every script makes its own data deterministically.
#
#   bench/history.sh            full scale: 10,000 commits, 100,000 files
#   MLV_BENCH_SCALE=small bench/history.sh     1,000 commits, 10,000 files
#
#   MLV              the mlv binary (default ./mlv)
#   MLV_BENCH_DIR    work directory (default bench/work)
#
# Each script's table goes to stdout; progress to stderr.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ "${MLV_BENCH_SCALE:-full}" = small ]; then
	export MLV_BENCH_LOG_COMMITS=${MLV_BENCH_LOG_COMMITS:-1000}
	export MLV_BENCH_DIFF_FILES=${MLV_BENCH_DIFF_FILES:-10000}
	export MLV_BENCH_GC_FILES=${MLV_BENCH_GC_FILES:-10000}
	export MLV_BENCH_MERGE_FILES=${MLV_BENCH_MERGE_FILES:-10000}
	hooks_files=1000
else
	hooks_files=10000
fi

status=0
run() {
	echo
	echo "### $*"
	echo
	"$@" || { echo "($1 failed)"; status=1; }
}
run "$here/log.sh"
run "$here/diff.sh"
run "$here/checkout-rev.sh"
run "$here/hooks.sh" 100 "$hooks_files"
run "$here/gc.sh"
run "$here/merge.sh"
exit $status
