#ifndef MLV_METRICS_H
#define MLV_METRICS_H

/* mlv-layer: run */
#pragma GCC visibility push(default)

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Metrics of a run, with no code change in the program that makes them.
 *
 * An accumulator is fed, while the run goes, from four sources:
 *
 *   - "$MLV_METRICS": bytes of a JSON-lines stream the command appends to
 *     (mlv_metrics_feed_json(), or mlv_metrics_feed_fd() on the file),
 *     in chunks of any size: an incomplete last line waits for the next
 *     chunk, and mlv_metrics_finish() takes one with no newline.  Each
 *     line is one JSON object; nested objects are flattened with '.'
 *     ({"val": {"loss": 0.2}} is "val.loss"); a number is a point; the
 *     key "step" (a non-negative integer) is the record's step, not a
 *     metric; strings, booleans, null and arrays are passed over without
 *     complaint.  NaN, Infinity and -Infinity (what Python's json.dumps
 *     writes) are accepted as values.  An empty line, or a line of
 *     blanks, is nothing; a CR before the newline is dropped.  A line
 *     that is not JSON, not an object, nested deeper than
 *     MLV_METRICS_DEPTH_MAX, with a bad "step", a name longer than
 *     MLV_METRICS_NAME_MAX, or longer than MLV_METRICS_LINE_MAX bytes (its
 *     bytes are skipped up to the next newline, never kept) is an error:
 *     reported to `warn` as "<source>:<line>: <what>", counted, skipped;
 *     the lines around it are ingested.
 *
 *   - "stdout": the command's standard output, only with a regex
 *     (mlv_metrics_set_regex(), `mlv run --metrics-from`): see there.
 *
 *   - "system": single points (mlv_metrics_point()), e.g. sys.cpu.
 *
 *   - "-M <path>": a final metrics file (mlv_metrics_final_file()).
 *
 * Values are doubles (strtod: a number reads back bit for bit; an
 * integer beyond 2^53 is the nearest double).  The normalized series
 * keeps each number as the text it was written in, when that text is a
 * JSON number, so nothing is rounded twice.
 *
 * Every function may be called from any thread: an accumulator has its
 * own lock (a sampler thread may add points while another pumps pipes).
 */

#define MLV_METRICS_LINE_MAX (1u << 20)       /* bytes of one JSON line */
#define MLV_METRICS_NAME_MAX 256              /* bytes of a flattened name */
#define MLV_METRICS_DEPTH_MAX 32              /* nesting of objects and arrays */
#define MLV_METRICS_SERIES_MAX 10000          /* distinct names; points of more are dropped (reported once) */
#define MLV_METRICS_FILE_MAX (16u << 20)      /* bytes of a -M file or of a tracked metric file */
#define MLV_METRICS_WARN_MAX 100              /* messages passed to warn; then one "further ... not shown" */

#define MLV_METRICS_NO_STEP (-1)

struct mlv_metrics;

struct mlv_metrics_opts {
	/* Told about each malformed line (after MLV_METRICS_WARN_MAX, once more, then quiet). */
	void (*warn)(void *data, const char *msg);
	void *warn_data;
	/* How the JSON-lines stream is named in messages; NULL: "$MLV_METRICS". */
	const char *json_source;
	/*
	 * Where the normalized series goes, as it is ingested (both
	 * optional, -1 for none): `series_fd` (the file that becomes the
	 * stored series) and `live_fd` (the live run directory's
	 * metrics.jsonl).  Whole lines are written at the end of each feed
	 * call, never part of one.  A failed write is remembered and
	 * returned by mlv_metrics_finish() (feeding goes on; the other fd
	 * is still written).  The accumulator does not close them.
	 *
	 * The format (mlv-formats(5), METRICS SERIES): one JSON object per
	 * line, keys in this order:
	 *   {"t":1.250000,"step":10,"m":{"loss":0.31,"acc":0.8}}
	 * "t" seconds since the run started (6 decimals), "step" an integer
	 * or null, "m" the flattened name/value pairs of one record (one
	 * JSON line, one stdout line, one sample); a NaN or infinite value
	 * is null there.
	 */
	int series_fd;
	int live_fd;
};
#define MLV_METRICS_OPTS_INIT { NULL, NULL, NULL, -1, -1 }

int mlv_metrics_new(struct mlv_metrics **out, const struct mlv_metrics_opts *o);
void mlv_metrics_free(struct mlv_metrics *m);

/*
 * `len` bytes of the JSON-lines stream, read `t` seconds after the run
 * started.  Malformed lines are not failures; <0 only for a failed write
 * of the series (also remembered for mlv_metrics_finish()).
 */
int mlv_metrics_feed_json(struct mlv_metrics *m, const char *buf, size_t len, double t);

/*
 * Read what is new in the JSON-lines file open on `fd` (from the fd's
 * offset to end of file; non-blocking fds stop at EAGAIN) and feed it.
 * The number of bytes read (0: nothing new), or <0 (MLV_EIO) when read
 * fails.  Call it on a timer and once more before mlv_metrics_finish().
 */
long long mlv_metrics_feed_fd(struct mlv_metrics *m, int fd, double t);

/*
 * Pick metrics out of stdout lines (`mlv run --metrics-from REGEX`),
 * `regex` a POSIX extended regular expression.  Lines end at '\n' or
 * '\r' (a progress bar redrawn with CRs is several lines); lines longer
 * than MLV_METRICS_LINE_MAX are passed over.
 *
 *   - With no parenthesized group, the regex selects lines; each
 *     `name=value` or `name: value` in a selected line is a point, name
 *     [A-Za-z_][A-Za-z0-9_.\/-]*, value a number (as strtod reads it, nan
 *     and inf too) ending the word (followed by the end of the line,
 *     blank or one of ,;)]}|).  A pair named "step" is the step.
 *     `print(f"epoch {e} loss={l:.4f} acc={a}")` with
 *     --metrics-from 'loss=' gives loss and acc.
 *   - With two groups, every match in the line is a point: group 1 the
 *     name, group 2 the value ('([a-z_]+)=([-0-9.e]+)'); a value that is
 *     not a number is a malformed line ("stdout:<line>: ...").
 *
 * MLV_EINVALID (the regex error named) for a bad regex or another
 * number of groups.
 */
int mlv_metrics_set_regex(struct mlv_metrics *m, const char *regex);

/* `len` bytes of the command's stdout; nothing happens without a regex. */
int mlv_metrics_feed_stdout(struct mlv_metrics *m, const char *buf, size_t len, double t);

/*
 * One point of source "system": `step` >= 0 or MLV_METRICS_NO_STEP.
 * MLV_EINVALID for an empty or too long name.
 */
int mlv_metrics_point(struct mlv_metrics *m, const char *name, double value, int64_t step,
		      double t);

/*
 * The final metrics (-M): the JSON object in file `path` below `dirfd`
 * (read with mlv_fs_read_file(), never through a symlink, at most
 * MLV_METRICS_FILE_MAX bytes), flattened as a JSON line is (NaN too,
 * strings and arrays passed over).  They replace the last values of the
 * series as the run's "final"; with several files, a name in a later one
 * wins.  MLV_ENOTFOUND when it does not exist;
 * MLV_EINVALID "<path>:<line>: <what>" when it is not such an object.
 */
int mlv_metrics_final_file(struct mlv_metrics *m, int dirfd, const char *path);

/*
 * End of input: the last JSON line without a newline is ingested (a last
 * stdout line too), the series written out.  The first write error, or 0.
 */
int mlv_metrics_finish(struct mlv_metrics *m, double t);

/*
 * run.json's "metrics" (a new reference):
 *   {"final": {name: value}, "series": {name: {"points", "first", "last",
 *    "min", "max", "last_step", "nonfinite"}}, "sources": [...],
 *    "errors": N}
 * "final" is the -M file's metrics when one was read, else the last value
 * of each series not of source "system"; "sources" those that gave at
 * least one point, in the order "$MLV_METRICS", "stdout", "-M <path>"
 * (one for each file read), "system"; "errors" the malformed lines
 * skipped (and -M files that are not a JSON object).  NaN and
 * infinities are null (JSON has none) and counted in "nonfinite";
 * "min"/"max" are over the finite values (null when none); "last_step"
 * null when no point had a step.  A value that is an integer of at most
 * 2^53 in magnitude is a JSON integer, any other a real.
 */
json_t *mlv_metrics_summary(struct mlv_metrics *m);

/* Counts so far: points ingested, records written, malformed lines. */
uint64_t mlv_metrics_points(struct mlv_metrics *m);
uint64_t mlv_metrics_records(struct mlv_metrics *m);
uint64_t mlv_metrics_errors(struct mlv_metrics *m);

/*
 * A metrics document (a tracked metric file's content, a -M file) as one
 * flat object {name: number or null}: `buf` must be one JSON object
 * (NaN/Infinity accepted, kept as null), nested keys joined with '.',
 * non-numbers passed over.  `source` names it in the error:
 * MLV_EINVALID "<source>:<line>: <what>".  A new reference in `*out`.
 */
int mlv_metrics_flatten(json_t **out, const char *buf, size_t len, const char *source);

/*
 * Compare two flat metric objects (as mlv_metrics_flatten() gives; either
 * may be NULL = empty), for `mlv metrics diff` and repro: an array sorted
 * by name of {"name", "old", "new", "only", "change", "relative"} for
 * every name in either, where "old"/"new" are null on the side that lacks
 * it (or for NaN), "only" is "old" or "new" when one side lacks it (else
 * null), "change" new - old and "relative" (new - old) / |old| (null when either
 * is missing or not finite, or old is 0).  With `all` 0, names whose
 * values are equal are left out.
 */
json_t *mlv_metrics_diff(const json_t *old, const json_t *new, int all);

#pragma GCC visibility pop

#endif
