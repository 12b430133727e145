#!/bin/sh
# Metrics ingestion from $MLV_METRICS: N JSON lines of 3 points each
# ({"step": i, "loss": ..., "acc": ..., "val": {"loss": ...}}), fed to the
# accumulator of mlv/metrics.h in 64 KiB chunks (as `mlv run` reads the
# file) with the normalized series written to a file, against Jansson
# parsing each line and flattening its numbers (no series written), in the
# same run.  A small driver is compiled against libmlv.a by this script.
# Then end to end: `mlv run` of a command that appends the whole file to
# $MLV_METRICS, whose run is stored with its series, against `mlv run --
# true` (both wall time, best of the runs).
#
#   bench/metrics.sh                 1,000,000 lines (3,000,000 points)
#   MLV_BENCH_METRICS_LINES=200000 bench/metrics.sh
#
# Target (issue 8): >= 500,000 points/s.
#
#   MLV_BENCH_DIR    work directory (default bench/work)
#   MLV_BENCH_RUNS   runs of each, the best is shown (default 3)
set -eu

. "$(dirname "$0")/lib.sh"
cd "$top"
N=${MLV_BENCH_METRICS_LINES:-1000000}
RUNS=${MLV_BENCH_RUNS:-3}
work=${MLV_BENCH_DIR:-$top/bench/work}/metrics
mkdir -p "$work"
export LC_ALL=C

if [ ! -f libmlv.a ]; then
	echo "bench/metrics.sh: build first (make)" >&2
	exit 1
fi

data=$work/metrics-$N.jsonl
if [ ! -f "$data" ]; then
	# Deterministic: values from a linear congruential sequence, printed
	# with up to 17 significant digits as Python's json.dumps does.
	awk -v n="$N" 'BEGIN {
		x = 12345
		for (i = 0; i < n; i++) {
			x = (x * 1103515245 + 12345) % 2147483648; l = x / 2147483648 * 3
			x = (x * 1103515245 + 12345) % 2147483648; a = x / 2147483648
			x = (x * 1103515245 + 12345) % 2147483648; v = x / 2147483648 * 2
			printf "{\"step\": %d, \"loss\": %.17g, \"acc\": %.6f, \"val\": {\"loss\": %.4f}}\n", i, l, a, v
		}
	}' >"$data.tmp"
	mv "$data.tmp" "$data"
fi

cat >"$work/driver.c" <<'EOF'
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "mlv/metrics.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t count(json_t *o)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	json_object_foreach(o, k, v) {
		if (json_is_object(v))
			n += count(v);
		else if (json_is_number(v) && strcmp(k, "step"))
			n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	int fd = open(argv[2], O_RDONLY);
	struct stat st;
	char *buf;
	double t0, t1;
	size_t off, points = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return 1;
	buf = malloc(st.st_size);
	if (read(fd, buf, st.st_size) != st.st_size)
		return 1;
	if (!strcmp(argv[1], "mlv")) {
		struct mlv_metrics *m;
		struct mlv_metrics_opts o = MLV_METRICS_OPTS_INIT;

		o.series_fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0666);
		t0 = now();
		mlv_metrics_new(&m, &o);
		for (off = 0; off < (size_t)st.st_size; off += 65536) {
			size_t n = st.st_size - off < 65536 ? st.st_size - off : 65536;

			mlv_metrics_feed_json(m, buf + off, n, now() - t0);
		}
		if (mlv_metrics_finish(m, now() - t0) < 0)
			return 1;
		json_decref(mlv_metrics_summary(m));
		t1 = now();
		points = mlv_metrics_points(m);
		if (mlv_metrics_errors(m))
			return 1;
		mlv_metrics_free(m);
	} else {
		char *p = buf, *end = buf + st.st_size;

		t0 = now();
		while (p < end) {
			char *nl = memchr(p, '\n', end - p);
			json_t *o = json_loadb(p, nl - p, 0, NULL);

			if (!o)
				return 1;
			points += count(o);
			json_decref(o);
			p = nl + 1;
		}
		t1 = now();
	}
	printf("%zu %.6f\n", points, t1 - t0);
	return 0;
}
EOF
cc -O2 -Iinclude $(pkg-config --cflags jansson) -o "$work/driver" "$work/driver.c" libmlv.a \
	$(pkg-config --libs libgit2 sqlite3 libzstd libcrypto jansson) -lm -pthread

best() {
	b=
	i=0
	while [ $i -lt "$RUNS" ]; do
		r=$("$work/driver" "$@")
		s=${r#* }
		if [ -z "$b" ] || awk -v a="$s" -v b="${b#* }" 'BEGIN { exit !(a < b) }'; then
			b=$r
		fi
		i=$((i + 1))
	done
	echo "$b"
}

mlv=$(best mlv "$data" "$work/series.jsonl")
jan=$(best jansson "$data")
bytes=$(wc -c <"$data")
echo "metrics ingestion: $N lines, ${mlv%% *} points, $bytes bytes (best of $RUNS)"
echo "$mlv $jan" | awk '{
	printf "  mlv accumulator (series written): %.3f s  %.0f points/s  (target >= 500000)\n", $2, $1 / $2
	printf "  Jansson per line (reference)    : %.3f s  %.0f points/s\n", $4, $3 / $4
	printf "  ratio: mlv is %.2fx Jansson\n", $4 / $2
}'

# End to end through mlv run.
repo=$work/repo
rm -rf "$repo"
bench_git_env "$work"
mkdir -p "$work/home" "$repo"
git init -q "$repo"
(cd "$repo" && git commit -q --allow-empty -m init && "$MLV" init -q)
wall() {
	b=
	i=0
	while [ $i -lt "$RUNS" ]; do
		(cd "$repo" && /usr/bin/time -f "%e" -o "$work/time" "$MLV" run -q -- "$@" >/dev/null 2>&1)
		s=$(tail -n 1 "$work/time")
		if [ -z "$b" ] || awk -v a="$s" -v b="$b" 'BEGIN { exit !(a < b) }'; then
			b=$s
		fi
		i=$((i + 1))
	done
	echo "$b"
}
if [ -x /usr/bin/time ] && [ -x "$MLV" ]; then
	full=$(wall sh -c "cat '$data' >>\"\$MLV_METRICS\"")
	empty=$(wall true)
	echo "$full $empty ${mlv%% *}" | awk '{
		printf "  mlv run appending them to $MLV_METRICS: %.2f s, mlv run -- true: %.2f s\n", $1, $2
		printf "  end to end (ingest, live file, store the series, record): %.0f points/s\n", $3 / ($1 - $2)
	}'
fi
