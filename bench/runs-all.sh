#!/bin/sh
# The benchmarks of runs (mlv run, tracing, metrics, mlv runs, repro, env,
# leases), one after the other.  Every script makes its own data
# deterministically and prints its figures against its reference.
#
#   bench/runs-all.sh
#   MLV_BENCH_SCALE=small bench/runs-all.sh    a quick pass
#
#   MLV              the mlv binary (default ./mlv)
#   MLV_BENCH_DIR    work directory (default bench/work)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ "${MLV_BENCH_SCALE:-full}" = small ]; then
	export MLV_BENCH_TRACE_FILES=${MLV_BENCH_TRACE_FILES:-10000}
	export MLV_BENCH_METRICS_LINES=${MLV_BENCH_METRICS_LINES:-200000}
	export MLV_BENCH_RUNS_N=${MLV_BENCH_RUNS_N:-1000}
fi

status=0
run() {
	echo
	echo "### $*"
	echo
	"$@" || status=1
}

run "$here/run-overhead.sh" 50
run "$here/trace.sh"
run "$here/metrics.sh"
run "$here/runs.sh"
run "$here/repro.sh"
run "$here/env.sh"
run "$here/lease.sh" 30
exit $status
