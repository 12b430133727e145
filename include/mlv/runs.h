#ifndef MLV_RUNS_H
#define MLV_RUNS_H

/* mlv-layer: run */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "buf.h"
#include "oid.h"
#include "pointer.h"
#include "repo.h"
#include "store.h"

/*
 * Reading stored runs (mlv-runs(1), mlv-formats(5) RUNS).
 *
 * A stored run is a git commit on refs/mlv/runs/<id> whose tree holds
 * run.json, env.json, diff.patch (when dirty), logs/std{out,err}.mlv,
 * metrics/series.mlv, inputs/<path>.mlv and outputs/<path>.mlv.  A run
 * still going has a live directory $GIT_COMMON_DIR/mlv/runs/live/<id>/
 * (run.json, stdout.log, stderr.log, metrics.jsonl) instead.
 *
 * Everything read from refs and commits is hostile: a ref whose name is
 * not a valid run id is skipped (and named to the warning callback), never
 * used as a path; run.json must be a JSON object of at most
 * MLV_RUN_JSON_MAX bytes whose "id" is the ref's id and whose fields have
 * the types of format 1 (mlv_run_record_check()); a run that fails is
 * skipped with a warning naming the ref and the reason.
 *
 * Listing and queries go through a cache, $GIT_COMMON_DIR/mlv/runs.db
 * (SQLite, WAL): it records the (ref, commit) pairs it was built from and
 * the state of packed-refs and refs/mlv/runs/ (size, mtime, inode), so
 * that when nothing changed no ref and no commit is read.  When they
 * changed (a new run, a fetch from another clone, pack-refs), the ref list
 * is compared with the recorded pairs and only new or moved refs have
 * their run.json read.  A cache that is missing, corrupt, of another
 * schema or a symlink is rebuilt from the refs: deleting it loses nothing.
 */

/* "YYYYMMDD-HHMMSS-xxxxxxxx": UTC start time and 8 lowercase hex digits. */
#define MLV_RUN_ID_LEN 24
#define MLV_RUN_ID_SIZE (MLV_RUN_ID_LEN + 1)
#define MLV_RUN_REF_PREFIX "refs/mlv/runs/"

/* Largest run.json (stored or live) accepted. */
#define MLV_RUN_JSON_MAX (16u * 1024 * 1024)
/* Largest file mlv_run_read_file() returns (diff.patch may be big). */
#define MLV_RUN_FILE_MAX (256u * 1024 * 1024)

/* 1 when `s` (NUL-terminated) is a syntactically valid run id, else 0. */
int mlv_run_id_valid(const char *s);

/*
 * Warnings met while reading runs (a skipped ref, a bad live directory):
 * `what` names the ref or directory, `why` the reason.  Process-wide; NULL
 * (the default) drops them.  lib/ never prints: a command sets this.
 */
typedef void (*mlv_runs_warn_fn)(void *ctx, const char *what, const char *why);
void mlv_runs_set_warn(mlv_runs_warn_fn fn, void *ctx);

/*
 * Check a parsed run.json (format 1) for the fields readers use: an
 * object; "format" 1; "id" a valid id equal to `id` (when not NULL);
 * "start" a string; "status" an object whose "state" is a string; and,
 * when present and not null, "name" a string, "argv" an array of strings,
 * "params" an object of scalars, "metrics" an object whose "final" is an
 * object of scalars, "inputs"/"outputs" arrays of objects with a string
 * "path" and an "oid" of the form "sha256:<64 hex>", "seed" an integer,
 * "duration" a number, "git" an object, "env" an object with a string
 * "hash".  MLV_EINVALID with a message naming the field otherwise.
 */
int mlv_run_record_check(const json_t *run, const char *id);

/*
 * Resolve `spec` to a run: a full id, a unique prefix (>= 4 characters)
 * of an id, a unique prefix (>= 4) of an id's 8-hex part, or a name (the
 * latest run with that name).  A spec that matches several runs in
 * these ways is MLV_EAMBIGUOUS with a message listing the candidates; none
 * is MLV_ENOTFOUND "no run '<spec>'".  `id` receives the id; `run`
 * (nullable) the validated run.json (json_decref() it).  Only stored
 * runs; mlv_runs_resolve_ext() with MLV_RUNS_LIVE also finds live ones.
 * Keeps the cache in step with the refs first.
 */
int mlv_runs_resolve(struct mlv_repo *r, const char *spec, char id[MLV_RUN_ID_SIZE],
		     json_t **run);

#define MLV_RUNS_LIVE 1u /* also live runs (the live record; `*live` set to 1) */
int mlv_runs_resolve_ext(struct mlv_repo *r, const char *spec, unsigned flags,
			 char id[MLV_RUN_ID_SIZE], json_t **run, int *live);

/* The latest run (stored, or with MLV_RUNS_LIVE live too); MLV_ENOTFOUND when none. */
int mlv_runs_latest(struct mlv_repo *r, unsigned flags, char id[MLV_RUN_ID_SIZE], json_t **run,
		    int *live);

/*
 * Read the stored run `id` (a valid id) from its ref: the validated
 * run.json, and the commit the ref names (40 or 64 hex, nullable).
 * MLV_ENOTFOUND when there is no such ref.  Does not use the cache.
 */
int mlv_run_load(struct mlv_repo *r, const char *id, json_t **run, char commit_hex[65]);

/*
 * The content of `file` (a path in the run's tree: "run.json",
 * "env.json", "diff.patch", "logs/stdout.mlv", ...) of stored run `id`,
 * appended to `out`.  MLV_ENOTFOUND when the run or the file does not
 * exist; MLV_EINVALID when it is not a blob or holds more than
 * MLV_RUN_FILE_MAX bytes (checked from the object header before reading).
 */
int mlv_run_read_file(struct mlv_repo *r, const char *id, const char *file, struct mlv_buf *out);

/*
 * The pointer `file` ("logs/stdout.mlv", "logs/stderr.mlv",
 * "metrics/series.mlv", "outputs/<path>.mlv", ...) of stored run `id`,
 * parsed strictly (mlv_pointer_parse()).  `out` must be initialised.
 */
int mlv_run_read_pointer(struct mlv_repo *r, const char *id, const char *file,
			 struct mlv_pointer *out);

/*
 * Stream the content that pointer `file` of run `id` names from the mlv
 * store to `sink` (memory bounded by one chunk, every chunk verified):
 * for a 1 GB log.  MLV_ENOTFOUND when the pointer or its object is absent.
 */
int mlv_run_stream(struct mlv_repo *r, const char *id, const char *file, mlv_sink_fn sink,
		   void *ctx);

/*
 * Tell the cache about a run just stored (the ref refs/mlv/runs/<id> now
 * names `commit_hex`, whose run.json is `run`), so that the next listing
 * need not read it: call it only after the ref was written.  Best effort:
 * a record that fails mlv_run_record_check(), or a cache that cannot be
 * opened, is left for the next listing; returns 0 then too.
 */
int mlv_runs_note(struct mlv_repo *r, const char *id, const char *commit_hex, const json_t *run);

/*
 * Live runs.  The directory of run `id` (r->storedir/runs/live/<id>),
 * allocated; and its state: "running" while the pid in its run.json is
 * alive (or the run is on another host), "crashed" when the pid is dead
 * on this host.
 */
char *mlv_run_live_dir(struct mlv_repo *r, const char *id);
/* 0 with `run` (the live run.json) and `state` ("running"/"crashed"); MLV_ENOTFOUND when none. */
int mlv_run_live_load(struct mlv_repo *r, const char *id, json_t **run, const char **state);

/*
 * A query: where expressions (AND-ed) "KEY OP VALUE" with OP one of
 * = != < <= > >= ~ and KEY one of params.<k>, metrics.<k> (final
 * metrics), name, state (or status), exit, code, signal, seed, commit,
 * branch, dirty, start, end, duration, env, host, user, id, reproduces,
 * deterministic, command, cwd, gpus, peak_rss.  A VALUE that is a number
 * compares numerically with numeric values; with = and != it also
 * compares as text with text values, while < <= > >= match numeric
 * values only.  Any other VALUE compares as text (quotes around it are
 * removed).  `~` matches a glob when VALUE holds one of *?[ and a
 * substring otherwise (a number as SQLite writes it).  A run lacking KEY
 * matches no expression about it.  `sort` is "[-]KEY" ('-': descending; runs lacking
 * KEY come last), NULL for newest first.  `limit` 0: all.  With `live`,
 * live runs (state running or crashed) are included.
 */
struct mlv_runs_query {
	const char *const *where;
	size_t nwhere;
	const char *sort;
	size_t limit;
	int live;
	int records; /* fill `record` of each row (--json) */
};

struct mlv_run_row {
	char id[MLV_RUN_ID_SIZE];
	char *name;       /* NULL when none */
	char *state;      /* ok failed interrupted error running crashed */
	char *start;      /* ISO 8601, as recorded */
	double duration;  /* seconds; < 0 unknown */
	int has_exit;
	long long exit_code;
	int live;
	json_t *params;   /* object, owned by the row */
	json_t *metrics;  /* final metrics, object, owned by the row */
	json_t *record;   /* the whole run.json when asked, else NULL */
};

struct mlv_run_list {
	struct mlv_run_row *rows;
	size_t nr, alloc;
	size_t total; /* runs matching before `limit` */
};

/*
 * Run `q` (after bringing the cache in step with the refs).  MLV_EINVALID
 * naming the expression for a malformed where or sort.
 */
int mlv_runs_query(struct mlv_repo *r, const struct mlv_runs_query *q, struct mlv_run_list *out);
void mlv_run_list_release(struct mlv_run_list *l);

/* Parse one where expression (for early usage checks); 0 or MLV_EINVALID with a message. */
int mlv_runs_where_check(const char *expr);

/*
 * Stored runs that produced (outputs) or consumed (inputs) the object
 * `oid`: `fn` gets each run's id and the artifact path, newest run first.
 * A non-zero return from `fn` stops and is returned.
 */
typedef int (*mlv_runs_io_fn)(void *ctx, const char *id, const char *path);
int mlv_runs_by_output(struct mlv_repo *r, const struct mlv_oid *oid, mlv_runs_io_fn fn,
		       void *ctx);
int mlv_runs_by_input(struct mlv_repo *r, const struct mlv_oid *oid, mlv_runs_io_fn fn,
		      void *ctx);

/*
 * Bring the cache in step with the refs now (mlv_runs_query() and
 * mlv_runs_resolve() do it themselves).  `stats` (nullable): how many
 * runs it read, dropped, and skipped as bad.
 */
struct mlv_runs_sync_stats {
	size_t read, dropped, skipped, total;
	int fast; /* nothing changed: no ref was read */
	int rebuilt; /* the cache was created or rebuilt */
};
int mlv_runs_sync(struct mlv_repo *r, struct mlv_runs_sync_stats *stats);

#pragma GCC visibility pop

#endif
