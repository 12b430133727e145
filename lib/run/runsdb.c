/*
 * The query cache of stored runs, $GIT_COMMON_DIR/mlv/runs.db (this
 * module owns it and its statements).
 *
 *	runs(n, id, commit_hex, name, state, start, duration, exit, params,
 *	     metrics, record)      one row per stored run: the columns a
 *	                           listing shows, and run.json (compact)
 *	                           (n: the row number, for kv and io)
 *	kv(n, key, num, str)       every queryable value of a run: params.<k>,
 *	                           metrics.<k> (final), name, state, seed, ...:
 *	                           numbers in num, text in str, booleans in both
 *	io(oid, output, n, path)   inputs (output 0) and outputs (1) by id
 *	skipped(ref, commit_hex, why)  refs that are not readable runs
 *	meta(key, value)           "sig": the refs' signature it matches
 *
 * The cache is in step with the refs when it holds exactly one row (in
 * runs or skipped) per ref below refs/mlv/runs/, for the commit the ref
 * names.  mlv_runs_sync() checks the signature of packed-refs and of the
 * loose ref directory first; only when it changed are the refs listed
 * and compared, and only new or moved refs are read.
 *
 * It is only a cache: a file SQLite cannot read, of another schema or
 * whose contents do not parse is removed and built again from the refs --
 * but only by a process that has it to itself (every connection holds a
 * shared flock on runs.lck): beside other processes this one uses a
 * private in-memory cache instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/runs.h"
#include "run/runs-priv.h"
#include "store/db.h"

enum {
	SQL_META_GET,
	SQL_META_SET,
	SQL_RUN_PAIRS,
	SQL_SKIP_PAIRS,
	SQL_RUN_DEL,
	SQL_KV_DEL,
	SQL_IO_DEL,
	SQL_RUN_INS,
	SQL_KV_INS,
	SQL_IO_INS,
	SQL_SKIP_DEL,
	SQL_SKIP_INS,
	SQL_SKIP_ALL,
	SQL_BY_ID,
	SQL_PREFIX,
	SQL_HEX,
	SQL_NAME,
	SQL_LATEST,
	SQL_IO_FIND,
	SQL_LRUN_INS,
	SQL_LKV_INS,
	SQL__COUNT
};

#define RUN_COLS "(id, commit_hex, name, state, start, duration, exit, params, metrics, record)"
#define RUN_VALS " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"

static const char *const sql_text[SQL__COUNT] = {
	[SQL_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[SQL_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
			 " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[SQL_RUN_PAIRS] = "SELECT id, commit_hex FROM runs ORDER BY id",
	[SQL_SKIP_PAIRS] = "SELECT ref, commit_hex FROM skipped ORDER BY ref",
	[SQL_RUN_DEL] = "DELETE FROM runs WHERE id = ?1",
	[SQL_KV_DEL] = "DELETE FROM kv WHERE n IN (SELECT n FROM runs WHERE id = ?1)",
	[SQL_IO_DEL] = "DELETE FROM io WHERE n IN (SELECT n FROM runs WHERE id = ?1)",
	[SQL_RUN_INS] = "INSERT INTO runs " RUN_COLS RUN_VALS,
	[SQL_KV_INS] = "INSERT INTO kv (n, key, num, str) VALUES (?1, ?2, ?3, ?4)"
		       " ON CONFLICT (n, key) DO NOTHING",
	[SQL_IO_INS] = "INSERT INTO io (oid, output, n, path) VALUES (?1, ?2, ?3, ?4)",
	[SQL_SKIP_DEL] = "DELETE FROM skipped WHERE ref = ?1",
	[SQL_SKIP_INS] = "INSERT INTO skipped (ref, commit_hex, why) VALUES (?1, ?2, ?3)",
	[SQL_SKIP_ALL] = "SELECT ref, why FROM skipped ORDER BY ref",
	[SQL_BY_ID] = "SELECT id FROM runs WHERE id = ?1",
	[SQL_PREFIX] = "SELECT id, name FROM runs WHERE id >= ?1 AND id < ?2 ORDER BY id DESC"
		       " LIMIT 11",
	[SQL_HEX] = "SELECT id, name FROM runs WHERE substr(id, 17, ?2) = ?1 ORDER BY id DESC"
		    " LIMIT 11",
	[SQL_NAME] = "SELECT id, name FROM runs WHERE name = ?1 ORDER BY id DESC LIMIT 1",
	[SQL_LATEST] = "SELECT id FROM runs ORDER BY id DESC LIMIT 1",
	[SQL_IO_FIND] = "SELECT r.id, io.path FROM io JOIN runs r ON r.n = io.n"
			" WHERE io.oid = ?1 AND io.output = ?2 ORDER BY r.id DESC, io.path",
	[SQL_LRUN_INS] = "INSERT INTO temp.lruns (n, id, commit_hex, name, state, start, duration,"
			 " exit, params, metrics, record)"
			 " VALUES (?11, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SQL_LKV_INS] = "INSERT INTO temp.lkv (n, key, num, str) VALUES (?1, ?2, ?3, ?4)",
};

static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE runs ("
	" n INTEGER PRIMARY KEY,"
	" id TEXT UNIQUE NOT NULL,"
	" commit_hex TEXT NOT NULL,"
	" name TEXT,"
	" state TEXT NOT NULL,"
	" start TEXT,"
	" duration REAL,"
	" exit INTEGER,"
	" params TEXT NOT NULL,"
	" metrics TEXT NOT NULL,"
	" record TEXT NOT NULL);"
	"CREATE INDEX runs_name ON runs (name, id);"
	"CREATE TABLE kv ("
	" n INTEGER NOT NULL,"
	" key TEXT NOT NULL,"
	" num REAL,"
	" str TEXT,"
	" PRIMARY KEY (n, key)) WITHOUT ROWID;"
	"CREATE TABLE io ("
	" oid TEXT NOT NULL,"
	" output INTEGER NOT NULL,"
	" n INTEGER NOT NULL,"
	" path TEXT NOT NULL);"
	"CREATE INDEX io_oid ON io (oid, output);"
	"CREATE INDEX io_n ON io (n);"
	"CREATE TABLE skipped ("
	" ref TEXT PRIMARY KEY NOT NULL,"
	" commit_hex TEXT NOT NULL,"
	" why TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;",
	/* 2: comparing with the refs reads (id, commit) without the records */
	"CREATE INDEX runs_pairs ON runs (id, commit_hex);",
};

static const struct mlv_db_schema schema = {
	"run cache",
	NULL,
	migrations,
	(int)(sizeof(migrations) / sizeof(*migrations)),
	sql_text,
	SQL__COUNT,
};

/* Loose ref files changed this close to the previous listing are read again. */
#define RACY_MARGIN_NS (2ll * 1000000000)

struct cache {
	struct mlv_repo *r;
	struct mlv_db *db;
	int lockfd;
	int bad;        /* an error came from the cache itself: rebuild and retry */
	int live_ready; /* temp tables for live runs exist */
	int has_live;   /* ... and hold rows */
	int synced;
};

/* Any failure of the cache's own SQL marks it bad (a hostile or damaged file). */
#define DB(c, call)                                                                        \
	do {                                                                               \
		if ((ret = (call)) < 0) {                                                  \
			(c)->bad = 1;                                                      \
			goto done;                                                         \
		}                                                                          \
	} while (0)

static sqlite3_stmt *stmt(struct cache *c, int which)
{
	sqlite3_stmt *st = mlv_db_stmt(c->db, which);

	if (!st)
		c->bad = 1;
	return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void remove_db_files(const char *path)
{
	static const char *const suffixes[] = { "-wal", "-shm", "" };

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		char *p = mlv_xstrfmt("%s%s", path, suffixes[i]);

		unlink(p);
		free(p);
	}
}

static void cache_close(struct cache *c)
{
	mlv_db_free(c->db);
	c->db = NULL;
	if (c->lockfd >= 0)
		close(c->lockfd);
	c->lockfd = -1;
	c->live_ready = c->has_live = c->synced = 0;
}

/*
 * Open runs.db; `fresh`: remove it first (when this process has it to
 * itself) because it proved bad.  Where the store's directory does not
 * exist (a clone that only fetched runs) or the file cannot be had, the
 * cache lives in memory for this process.
 */
static int cache_open(struct cache *c, struct mlv_repo *r, int fresh)
{
	char *path = NULL, *lock = NULL;
	struct stat st;
	int ret;

	c->r = r;
	c->bad = 0;
	c->lockfd = -1;
	if (stat(r->storedir, &st) < 0 || !S_ISDIR(st.st_mode))
		goto memory;
	path = mlv_xstrfmt("%s/runs.db", r->storedir);
	lock = mlv_xstrfmt("%s/runs.lck", r->storedir);
	c->lockfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (c->lockfd < 0)
		goto memory;
	if (fresh) {
		if (flock(c->lockfd, LOCK_EX | LOCK_NB) < 0)
			goto memory;
		remove_db_files(path);
	}
	if (flock(c->lockfd, LOCK_SH) < 0)
		goto memory;
	ret = mlv_db_open(&c->db, path, &schema);
	if (ret == MLV_ECORRUPT || ret == MLV_EINVALID || ret == MLV_EUNSUPPORTED) {
		if (flock(c->lockfd, LOCK_EX | LOCK_NB) < 0)
			goto memory;
		remove_db_files(path);
		flock(c->lockfd, LOCK_SH);
		ret = mlv_db_open(&c->db, path, &schema);
	}
	if (!ret)
		goto done;
memory:
	if (c->lockfd >= 0)
		close(c->lockfd);
	c->lockfd = -1;
	mlv_error_clear();
	ret = mlv_db_open(&c->db, ":memory:", &schema);
done:
	free(path);
	free(lock);
	return ret;
}

/*
 * What a record puts in the cache.
 */
/*
 * One value: text in `str`, a number in `num` (text only when it is not
 * a finite number), a boolean in both (1/0 and "true"/"false").
 */
static int kv_put(struct cache *c, int which, sqlite3_int64 n, const char *key, const json_t *v)
{
	sqlite3_stmt *st;
	char num[40];
	int ret;

	if (!(st = stmt(c, which)))
		return MLV_ERROR;
	sqlite3_bind_int64(st, 1, n);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
	if (json_is_string(v)) {
		sqlite3_bind_null(st, 3);
		sqlite3_bind_text(st, 4, json_string_value(v), -1, SQLITE_TRANSIENT);
	} else if (json_is_integer(v)) {
		sqlite3_bind_double(st, 3, (double)json_integer_value(v));
	} else if (json_is_real(v)) {
		double d = json_real_value(v);

		if (isfinite(d)) {
			sqlite3_bind_double(st, 3, d);
		} else {
			runs_fmt_num(num, d);
			sqlite3_bind_text(st, 4, num, -1, SQLITE_TRANSIENT);
		}
	} else if (json_is_boolean(v)) {
		sqlite3_bind_double(st, 3, json_is_true(v));
		sqlite3_bind_text(st, 4, json_is_true(v) ? "true" : "false", -1, SQLITE_STATIC);
	} else {
		return 0;
	}
	if ((ret = mlv_db_run(c->db, st, "cannot record a run")) < 0)
		c->bad = 1;
	return ret;
}

static int kv_object(struct cache *c, int which, sqlite3_int64 n, const char *prefix,
		     const json_t *o)
{
	struct mlv_buf key = MLV_BUF_INIT;
	const char *k;
	json_t *v;
	int ret = 0;

	if (!json_is_object(o))
		return 0;
	json_object_foreach((json_t *)o, k, v) {
		mlv_buf_reset(&key);
		mlv_buf_addf(&key, "%s.%s", prefix, k);
		if ((ret = kv_put(c, which, n, key.ptr, v)))
			break;
	}
	mlv_buf_release(&key);
	return ret;
}

static const json_t *get2(const json_t *o, const char *a, const char *b)
{
	return json_object_get(json_object_get(o, a), b);
}

static int io_rows(struct cache *c, sqlite3_int64 n, const json_t *a, int output)
{
	size_t i;
	const json_t *e;
	int ret;

	if (!json_is_array(a))
		return 0;
	json_array_foreach(a, i, e) {
		const json_t *p = json_object_get(e, "path"), *o = json_object_get(e, "oid");
		sqlite3_stmt *st;

		if (!json_is_string(p) || !json_is_string(o))
			continue;
		if (!(st = stmt(c, SQL_IO_INS)))
			return MLV_ERROR;
		sqlite3_bind_text(st, 1, json_string_value(o), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, output);
		sqlite3_bind_int64(st, 3, n);
		sqlite3_bind_text(st, 4, json_string_value(p), -1, SQLITE_TRANSIENT);
		if ((ret = mlv_db_run(c->db, st, "cannot record a run")) < 0) {
			c->bad = 1;
			return ret;
		}
	}
	return 0;
}

static char *dump_object(const json_t *o)
{
	char *s = json_is_object(o) ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;

	return s ? s : mlv_strdup("{}");
}

/*
 * Put run `id` (`run`, validated for a stored run) in the cache; a
 * non-zero `live` (negative, so that it never meets a stored run's) puts
 * it in the temporary tables of live runs instead, as that row number.
 */
static int record_put(struct cache *c, const char *id, const char *hex, const json_t *run,
		      const char *state, sqlite3_int64 live)
{
	static const char *const plain[] = { "name", "seed", "start", "end", "duration", "host",
					     "user", "reproduces", "deterministic", "cwd",
					     "peak_rss" };
	int kvw = live ? SQL_LKV_INS : SQL_KV_INS;
	const json_t *status = json_object_get(run, "status"), *v;
	char *params = NULL, *metrics = NULL, *record = NULL;
	struct mlv_buf cmd = MLV_BUF_INIT;
	json_t *tmp;
	sqlite3_stmt *st;
	sqlite3_int64 n;
	size_t i;
	int ret = 0;

	if (!state)
		state = json_string_value(json_object_get(status, "state"));
	params = dump_object(json_object_get(run, "params"));
	metrics = dump_object(get2(run, "metrics", "final"));
	record = json_dumps(run, JSON_COMPACT | JSON_REAL_PRECISION(17));
	if (!record) {
		ret = mlv_error_set(MLV_EINVALID, "run %s: run.json cannot be written back", id);
		goto done;
	}
	if (!(st = stmt(c, live ? SQL_LRUN_INS : SQL_RUN_INS))) {
		ret = MLV_ERROR;
		goto done;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, hex, -1, SQLITE_TRANSIENT);
	v = json_object_get(run, "name");
	bind_text(st, 3, json_is_string(v) ? json_string_value(v) : NULL);
	bind_text(st, 4, state ? state : "unknown");
	v = json_object_get(run, "start");
	bind_text(st, 5, json_is_string(v) ? json_string_value(v) : NULL);
	v = json_object_get(run, "duration");
	if (json_is_number(v))
		sqlite3_bind_double(st, 6, json_number_value(v));
	v = json_object_get(status, "exit");
	if (json_is_integer(v))
		sqlite3_bind_int64(st, 7, (sqlite3_int64)json_integer_value(v));
	sqlite3_bind_text(st, 8, params, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 9, metrics, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 10, record, -1, SQLITE_TRANSIENT);
	if (live)
		sqlite3_bind_int64(st, 11, live);
	DB(c, mlv_db_run(c->db, st, "cannot record a run"));
	n = live ? live : sqlite3_last_insert_rowid(c->db->db);

	tmp = json_string(id);
	ret = kv_put(c, kvw, n, "id", tmp);
	json_decref(tmp);
	if (ret)
		goto done;
	tmp = json_string(state ? state : "unknown");
	ret = kv_put(c, kvw, n, "state", tmp);
	json_decref(tmp);
	if (ret)
		goto done;
	for (i = 0; i < sizeof(plain) / sizeof(*plain); i++)
		if ((ret = kv_put(c, kvw, n, plain[i], json_object_get(run, plain[i]))))
			goto done;
	if ((ret = kv_put(c, kvw, n, "exit", json_object_get(status, "exit"))) ||
	    (ret = kv_put(c, kvw, n, "code", json_object_get(status, "code"))) ||
	    (ret = kv_put(c, kvw, n, "signal", json_object_get(status, "signal"))) ||
	    (ret = kv_put(c, kvw, n, "commit", get2(run, "git", "commit"))) ||
	    (ret = kv_put(c, kvw, n, "branch", get2(run, "git", "branch"))) ||
	    (ret = kv_put(c, kvw, n, "dirty", get2(run, "git", "dirty"))) ||
	    (ret = kv_put(c, kvw, n, "env", get2(run, "env", "hash"))) ||
	    (ret = kv_put(c, kvw, n, "gpus", get2(run, "gpus", "count"))))
		goto done;
	v = json_object_get(run, "argv");
	if (json_is_array(v)) {
		json_array_foreach(v, i, tmp) {
			if (!json_is_string(tmp))
				continue;
			if (cmd.len)
				mlv_buf_addch(&cmd, ' ');
			mlv_buf_adds(&cmd, json_string_value(tmp));
		}
		tmp = json_string(cmd.ptr);
		ret = tmp ? kv_put(c, kvw, n, "command", tmp) : 0;
		json_decref(tmp);
		if (ret)
			goto done;
	}
	if ((ret = kv_object(c, kvw, n, "params", json_object_get(run, "params"))) ||
	    (ret = kv_object(c, kvw, n, "metrics", get2(run, "metrics", "final"))))
		goto done;
	if (!live && ((ret = io_rows(c, n, json_object_get(run, "inputs"), 0)) ||
		      (ret = io_rows(c, n, json_object_get(run, "outputs"), 1))))
		goto done;
done:
	mlv_buf_release(&cmd);
	free(params);
	free(metrics);
	free(record);
	return ret;
}

static int run_forget(struct cache *c, const char *id)
{
	static const int which[] = { SQL_KV_DEL, SQL_IO_DEL, SQL_RUN_DEL };
	int ret = 0;

	for (size_t i = 0; i < 3; i++) {
		sqlite3_stmt *st = stmt(c, which[i]);

		if (!st)
			return MLV_ERROR;
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		DB(c, mlv_db_run(c->db, st, "cannot drop a run"));
	}
done:
	return ret;
}

static int skip_put(struct cache *c, const char *ref, const char *hex, const char *why)
{
	sqlite3_stmt *st;
	int ret;

	if (!(st = stmt(c, SQL_SKIP_DEL)))
		return MLV_ERROR;
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
	DB(c, mlv_db_run(c->db, st, "cannot record a bad ref"));
	if (!(st = stmt(c, SQL_SKIP_INS)))
		return MLV_ERROR;
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, hex, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, why, -1, SQLITE_TRANSIENT);
	DB(c, mlv_db_run(c->db, st, "cannot record a bad ref"));
done:
	return ret;
}

static int meta_get(struct cache *c, const char *key, struct mlv_buf *out)
{
	sqlite3_stmt *st = stmt(c, SQL_META_GET);
	int ret;

	if (!st)
		return MLV_ERROR;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	DB(c, mlv_db_step(c->db, st, "cannot read the cache"));
	if (ret > 0) {
		const char *v = (const char *)sqlite3_column_text(st, 0);

		mlv_buf_adds(out, v ? v : "");
		mlv_db_reset(st);
	}
	ret = 0;
done:
	return ret;
}

static int meta_set(struct cache *c, const char *key, const char *value)
{
	sqlite3_stmt *st = stmt(c, SQL_META_SET);
	int ret;

	if (!st)
		return MLV_ERROR;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	DB(c, mlv_db_run(c->db, st, "cannot write the cache"));
done:
	return ret;
}

/* (name, commit) pairs the cache holds, sorted by name. */
struct pair {
	char *name;
	char *hex;
	int seen;
};

struct pairs {
	struct pair *v;
	size_t nr, alloc;
};

static void pairs_release(struct pairs *p)
{
	for (size_t i = 0; i < p->nr; i++) {
		free(p->v[i].name);
		free(p->v[i].hex);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static int pairs_load(struct cache *c, int which, struct pairs *out)
{
	sqlite3_stmt *st = stmt(c, which);
	int ret;

	if (!st)
		return MLV_ERROR;
	for (;;) {
		const char *n, *h;

		DB(c, mlv_db_step(c->db, st, "cannot read the cache"));
		if (!ret)
			break;
		n = (const char *)sqlite3_column_text(st, 0);
		h = (const char *)sqlite3_column_text(st, 1);
		if (!n || !h) {
			mlv_db_reset(st);
			c->bad = 1;
			ret = mlv_error_set(MLV_ECORRUPT, "run cache: a row without a name");
			goto done;
		}
		MLV_ALLOC_GROW(out->v, out->nr + 1, out->alloc);
		out->v[out->nr].name = mlv_strdup(n);
		out->v[out->nr].hex = mlv_strdup(h);
		out->v[out->nr++].seen = 0;
	}
done:
	return ret;
}

static int pair_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct pair *)elem)->name);
}

static struct pair *pairs_find(struct pairs *p, const char *name)
{
	return p->nr ? bsearch(name, p->v, p->nr, sizeof(*p->v), pair_cmp) : NULL;
}

/* For runs_refs_list(): the commit the cache holds for a ref name. */
static const char *known_hex(void *ctx, const char *name)
{
	struct pair *p = pairs_find(ctx, name);

	return p ? p->hex : NULL;
}

static int report_skipped(struct cache *c)
{
	sqlite3_stmt *st = stmt(c, SQL_SKIP_ALL);
	int ret;

	if (!st)
		return MLV_ERROR;
	for (;;) {
		char what[300];
		const char *ref, *why;

		DB(c, mlv_db_step(c->db, st, "cannot read the cache"));
		if (!ret)
			break;
		ref = (const char *)sqlite3_column_text(st, 0);
		why = (const char *)sqlite3_column_text(st, 1);
		snprintf(what, sizeof(what), MLV_RUN_REF_PREFIX "%s", ref ? ref : "");
		runs_warn(what, why ? why : "");
	}
done:
	return ret;
}

static int do_sync(struct cache *c, struct mlv_runs_sync_stats *stats)
{
	struct mlv_buf sig = MLV_BUF_INIT, old = MLV_BUF_INIT, listed = MLV_BUF_INIT;
	struct runs_ref_list refs = { 0 };
	int64_t trust_ns = 0, now_ns;
	uint64_t trust;
	char nowbuf[32];
	struct pairs runs = { 0 }, skipped = { 0 };
	struct mlv_repo *r = c->r;
	int racy, ret, began = 0;
	size_t i;

	memset(stats, 0, sizeof(*stats));
	runs_refs_signature(r, &sig, &racy);
	if ((ret = meta_get(c, "sig", &old)))
		goto done;
	if (!racy && old.len && !strcmp(old.ptr, sig.ptr)) {
		stats->fast = 1;
		goto report;
	}
	/* a rebuild writes tens of MB in one transaction: keep it in memory until commit */
	DB(c, mlv_db_exec(c->db, "PRAGMA cache_size = -262144"));
	DB(c, mlv_db_begin(c->db));
	began = 1;
	if ((ret = pairs_load(c, SQL_RUN_PAIRS, &runs)) ||
	    (ret = pairs_load(c, SQL_SKIP_PAIRS, &skipped)) ||
	    (ret = meta_get(c, "listed", &listed)))
		goto done;
	if (listed.len && !mlv_parse_decimal(&trust, listed.ptr, listed.len))
		trust_ns = (int64_t)trust - RACY_MARGIN_NS;
	now_ns = mlv_now_ns();
	if ((ret = runs_refs_list(r, &refs, trust_ns > 0 ? known_hex : NULL, &runs, trust_ns)))
		goto done;
	stats->rebuilt = !runs.nr && !skipped.nr;
	for (i = 0; i < refs.nr; i++) {
		const struct runs_ref *e = &refs.v[i];
		struct pair *p = pairs_find(&runs, e->name), *s = pairs_find(&skipped, e->name);
		json_t *run = NULL;
		const char *why = NULL;
		sqlite3_stmt *st;

		if (p && *e->hex && !strcmp(p->hex, e->hex)) {
			p->seen = 1;
			stats->total++;
			continue;
		}
		if (s && !strcmp(s->hex, e->hex)) {
			s->seen = 1;
			stats->skipped++;
			continue;
		}
		/* new, or moved: whatever the cache said about this name goes */
		if (p) {
			p->seen = 1;
			if ((ret = run_forget(c, e->name)))
				goto done;
		}
		if (s) {
			s->seen = 1;
			if (!(st = stmt(c, SQL_SKIP_DEL))) {
				ret = MLV_ERROR;
				goto done;
			}
			sqlite3_bind_text(st, 1, e->name, -1, SQLITE_TRANSIENT);
			DB(c, mlv_db_run(c->db, st, "cannot write the cache"));
		}
		if (!mlv_run_id_valid(e->name))
			why = "not a run id";
		else if (!*e->hex)
			why = "not a ref to an object (a symlink, a directory or a symbolic ref)";
		else if (runs_read_commit(r, e->name, e->hex, &run))
			why = mlv_error_last();
		if (why) {
			char *w = mlv_xstrfmt("%s", why);

			mlv_error_clear();
			ret = skip_put(c, e->name, e->hex, w);
			free(w);
			if (ret)
				goto done;
			stats->skipped++;
			continue;
		}
		ret = record_put(c, e->name, e->hex, run, NULL, 0);
		json_decref(run);
		if (ret)
			goto done;
		stats->read++;
		stats->total++;
	}
	/* what the cache holds for refs that are gone */
	for (i = 0; i < runs.nr; i++) {
		if (runs.v[i].seen)
			continue;
		if ((ret = run_forget(c, runs.v[i].name)))
			goto done;
		stats->dropped++;
	}
	for (i = 0; i < skipped.nr; i++) {
		sqlite3_stmt *st;

		if (skipped.v[i].seen)
			continue;
		if (!(st = stmt(c, SQL_SKIP_DEL))) {
			ret = MLV_ERROR;
			goto done;
		}
		sqlite3_bind_text(st, 1, skipped.v[i].name, -1, SQLITE_TRANSIENT);
		DB(c, mlv_db_run(c->db, st, "cannot write the cache"));
	}
	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now_ns);
	if ((ret = meta_set(c, "sig", racy ? "" : sig.ptr)) ||
	    (ret = meta_set(c, "listed", nowbuf)))
		goto done;
	DB(c, mlv_db_commit(c->db));
	began = 0;
report:
	ret = report_skipped(c);
done:
	if (began)
		mlv_db_rollback(c->db);
	runs_ref_list_release(&refs);
	pairs_release(&runs);
	pairs_release(&skipped);
	mlv_buf_release(&sig);
	mlv_buf_release(&old);
	mlv_buf_release(&listed);
	return ret;
}

/*
 * Open the cache, bring it in step with the refs, and run `fn` on it; a
 * cache that fails on its own account is built again once.
 */
typedef int (*cache_fn)(struct cache *c, void *arg);

static int with_cache(struct mlv_repo *r, int sync, struct mlv_runs_sync_stats *stats,
		      cache_fn fn, void *arg)
{
	struct mlv_runs_sync_stats dummy;
	struct cache c = { 0 };
	int ret;

	if (!stats)
		stats = &dummy;
	for (int attempt = 0;; attempt++) {
		c.lockfd = -1;
		if ((ret = cache_open(&c, r, attempt > 0)))
			break;
		if ((!sync || !(ret = do_sync(&c, stats))) && fn)
			ret = fn(&c, arg);
		if (!ret || !c.bad || attempt)
			break;
		cache_close(&c);
		mlv_error_clear();
	}
	cache_close(&c);
	return ret;
}

int mlv_runs_sync(struct mlv_repo *r, struct mlv_runs_sync_stats *stats)
{
	return with_cache(r, 1, stats, NULL, NULL);
}

struct note_arg {
	const char *id, *hex;
	const json_t *run;
};

static int note_fn(struct cache *c, void *arg)
{
	struct note_arg *a = arg;
	sqlite3_stmt *st;
	int ret;

	DB(c, mlv_db_begin(c->db));
	if ((ret = run_forget(c, a->id)))
		goto done;
	if (!(st = stmt(c, SQL_SKIP_DEL))) {
		ret = MLV_ERROR;
		goto done;
	}
	sqlite3_bind_text(st, 1, a->id, -1, SQLITE_TRANSIENT);
	DB(c, mlv_db_run(c->db, st, "cannot write the cache"));
	if ((ret = record_put(c, a->id, a->hex, a->run, NULL, 0)))
		goto done;
	DB(c, mlv_db_commit(c->db));
done:
	if (ret)
		mlv_db_rollback(c->db);
	return ret;
}

int mlv_runs_note(struct mlv_repo *r, const char *id, const char *commit_hex, const json_t *run)
{
	struct note_arg a = { id, commit_hex, run };

	if (!mlv_run_id_valid(id) || mlv_run_record_check(run, id)) {
		mlv_error_clear();
		return 0;
	}
	if (with_cache(r, 0, NULL, note_fn, &a))
		mlv_error_clear();
	return 0;
}

/*
 * Live runs go to temporary tables of this connection, lruns and lkv,
 * shaped as runs and kv, so that one query covers both.
 */
static int live_fill(struct cache *c)
{
	char **ids = NULL;
	size_t n = 0, i;
	int ret;

	if (c->live_ready)
		return 0;
	DB(c, mlv_db_exec(c->db, "CREATE TEMP TABLE IF NOT EXISTS lruns AS SELECT * FROM main.runs WHERE 0;"
				 "CREATE TEMP TABLE IF NOT EXISTS lkv AS SELECT * FROM main.kv WHERE 0;"
				 "DELETE FROM temp.lruns; DELETE FROM temp.lkv;"));
	c->live_ready = 1;
	if ((ret = runs_live_ids(c->r, &ids, &n)))
		goto done;
	for (i = 0; i < n; i++) {
		const char *state = NULL;
		sqlite3_stmt *st;
		json_t *run = NULL;

		/* finished: its ref is the truth */
		if (!(st = stmt(c, SQL_BY_ID))) {
			ret = MLV_ERROR;
			goto done;
		}
		sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_TRANSIENT);
		DB(c, mlv_db_step(c->db, st, "cannot read the cache"));
		if (ret > 0) {
			mlv_db_reset(st);
			continue;
		}
		if (mlv_run_live_load(c->r, ids[i], &run, &state)) {
			char what[80];

			snprintf(what, sizeof(what), "runs/live/%s", ids[i]);
			runs_warn(what, mlv_error_last());
			mlv_error_clear();
			continue;
		}
		ret = record_put(c, ids[i], "", run, state, -(sqlite3_int64)(i + 1));
		json_decref(run);
		if (ret)
			goto done;
		c->has_live = 1;
	}
done:
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return ret;
}

/*
 * Where expressions.
 */
enum where_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_MATCH };

struct where {
	char *key; /* the kv key */
	enum where_op op;
	char *value;
	int numeric;
	double num;
};

static const char *const plain_keys[] = {
	"id", "name", "state", "exit", "code", "signal", "seed", "commit", "branch", "dirty",
	"start", "end", "duration", "env", "host", "user", "reproduces", "deterministic",
	"command", "cwd", "gpus", "peak_rss",
};

/* The kv key for a user's key, or NULL when there is none. */
static char *key_for(const char *k, size_t len)
{
	if (len == 6 && !memcmp(k, "status", 6))
		return mlv_strdup("state");
	if ((len > 7 && !memcmp(k, "params.", 7)) || (len > 8 && !memcmp(k, "metrics.", 8)))
		return mlv_strndup(k, len);
	for (size_t i = 0; i < sizeof(plain_keys) / sizeof(*plain_keys); i++)
		if (strlen(plain_keys[i]) == len && !memcmp(plain_keys[i], k, len))
			return mlv_strndup(k, len);
	return NULL;
}

static int parse_number(double *out, const char *s)
{
	char *end;

	if (!*s || strchr(" \t", *s))
		return -1;
	errno = 0;
	*out = strtod(s, &end);
	if (*end || errno || !isfinite(*out))
		return -1;
	/* "nan", "inf", hex floats are text */
	for (; *s; s++)
		if (!strchr("0123456789+-.eE", *s))
			return -1;
	return 0;
}

static void where_release(struct where *w)
{
	free(w->key);
	free(w->value);
}

static int where_parse(struct where *w, const char *expr)
{
	const char *p = expr, *k, *v, *e;
	size_t klen;

	memset(w, 0, sizeof(*w));
	while (*p == ' ' || *p == '\t')
		p++;
	k = p;
	while (*p && !strchr("=!<>~ \t", *p))
		p++;
	klen = (size_t)(p - k);
	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '!' && p[1] == '=')
		w->op = OP_NE, p += 2;
	else if (p[0] == '<' && p[1] == '=')
		w->op = OP_LE, p += 2;
	else if (p[0] == '>' && p[1] == '=')
		w->op = OP_GE, p += 2;
	else if (p[0] == '=' && p[1] == '=')
		w->op = OP_EQ, p += 2;
	else if (*p == '=')
		w->op = OP_EQ, p++;
	else if (*p == '<')
		w->op = OP_LT, p++;
	else if (*p == '>')
		w->op = OP_GT, p++;
	else if (*p == '~')
		w->op = OP_MATCH, p++;
	else
		return mlv_error_set(MLV_EINVALID,
				     "bad expression '%s': expected KEY OP VALUE with OP one of = != < <= > >= ~",
				     expr);
	if (!klen)
		return mlv_error_set(MLV_EINVALID, "bad expression '%s': no key", expr);
	if (!(w->key = key_for(k, klen)))
		return mlv_error_set(MLV_EINVALID,
				     "bad expression '%s': unknown key '%.*s' (params.<name>, metrics.<name>, name, state, exit, seed, commit, branch, start, duration, env, ...)",
				     expr, (int)klen, k);
	while (*p == ' ' || *p == '\t')
		p++;
	v = p;
	e = p + strlen(p);
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e - v >= 2 && (*v == '\'' || *v == '"') && e[-1] == *v)
		v++, e--;
	w->value = mlv_strndup(v, (size_t)(e - v));
	w->numeric = w->op != OP_MATCH && !parse_number(&w->num, w->value);
	return 0;
}

int mlv_runs_where_check(const char *expr)
{
	struct where w;
	int ret = where_parse(&w, expr);

	where_release(&w);
	return ret;
}

/* Bound values of a built query, in order. */
struct binds {
	struct {
		int is_num;
		double num;
		char *text;
	} *v;
	size_t nr, alloc;
};

static void bind_add_text(struct binds *b, const char *s)
{
	MLV_ALLOC_GROW(b->v, b->nr + 1, b->alloc);
	b->v[b->nr].is_num = 0;
	b->v[b->nr++].text = mlv_strdup(s);
}

static void bind_add_num(struct binds *b, double d)
{
	MLV_ALLOC_GROW(b->v, b->nr + 1, b->alloc);
	b->v[b->nr].is_num = 1;
	b->v[b->nr].num = d;
	b->v[b->nr++].text = NULL;
}

static void binds_release(struct binds *b)
{
	for (size_t i = 0; i < b->nr; i++)
		free(b->v[i].text);
	free(b->v);
}

static const char *sql_op(enum where_op op)
{
	static const char *const ops[] = { "=", "<>", "<", "<=", ">", ">=" };

	return ops[op];
}

static int has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static void where_sql(struct mlv_buf *sql, struct binds *b, const struct where *w,
		      const char *kv)
{
	mlv_buf_addf(sql, " AND EXISTS (SELECT 1 FROM %s k WHERE k.n = r.n AND k.key = ?", kv);
	bind_add_text(b, w->key);
	if (w->op == OP_MATCH) {
		/* a number matches as SQLite writes it */
		if (has_glob(w->value))
			mlv_buf_adds(sql, " AND coalesce(k.str, CAST(k.num AS TEXT)) GLOB ?)");
		else
			mlv_buf_adds(sql, " AND instr(coalesce(k.str, CAST(k.num AS TEXT)), ?) > 0)");
		bind_add_text(b, w->value);
	} else if (w->numeric && w->op != OP_EQ && w->op != OP_NE) {
		/* an order between a number and text means nothing */
		mlv_buf_addf(sql, " AND k.num IS NOT NULL AND k.num %s ?)", sql_op(w->op));
		bind_add_num(b, w->num);
	} else if (w->numeric) {
		mlv_buf_addf(sql, " AND ((k.num IS NOT NULL AND k.num %s ?) OR"
				  " (k.num IS NULL AND k.str %s ?)))",
			     sql_op(w->op), sql_op(w->op));
		bind_add_num(b, w->num);
		bind_add_text(b, w->value);
	} else {
		mlv_buf_addf(sql, " AND k.str %s ?)", sql_op(w->op));
		bind_add_text(b, w->value);
	}
}

static void row_release(struct mlv_run_row *row)
{
	free(row->name);
	free(row->state);
	free(row->start);
	json_decref(row->params);
	json_decref(row->metrics);
	json_decref(row->record);
}

void mlv_run_list_release(struct mlv_run_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		row_release(&l->rows[i]);
	free(l->rows);
	memset(l, 0, sizeof(*l));
}

static char *col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? mlv_strdup(s) : NULL;
}

static json_t *col_json(sqlite3_stmt *st, int i, int object)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	json_t *j;

	if (!s)
		return NULL;
	j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	if (j && object && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

struct query_arg {
	const struct mlv_runs_query *q;
	struct mlv_run_list *out;
};

static int query_fn(struct cache *c, void *arg)
{
	struct query_arg *a = arg;
	const struct mlv_runs_query *q = a->q;
	struct mlv_buf sql = MLV_BUF_INIT;
	struct binds b = { 0 };
	struct where *w = mlv_calloc(q->nwhere + 1, sizeof(*w));
	const char *R = "main.runs", *K = "main.kv";
	char *sortkey = NULL;
	int desc = 0, ret = 0, rc;
	sqlite3_stmt *st = NULL;
	size_t i;

	for (i = 0; i < q->nwhere; i++)
		if ((ret = where_parse(&w[i], q->where[i])))
			goto done;
	if (q->sort && *q->sort) {
		const char *s = q->sort;

		if (*s == '-' || *s == '+')
			desc = *s++ == '-';
		if (!(sortkey = key_for(s, strlen(s)))) {
			ret = mlv_error_set(MLV_EINVALID, "bad sort key '%s'", q->sort);
			goto done;
		}
	}
	if (q->live) {
		if ((ret = live_fill(c)))
			goto done;
		if (c->has_live) {
			R = "(SELECT * FROM main.runs UNION ALL SELECT * FROM temp.lruns)";
			K = "(SELECT * FROM main.kv UNION ALL SELECT * FROM temp.lkv)";
		}
	}
	mlv_buf_addf(&sql, "SELECT r.id, r.name, r.state, r.start, r.duration, r.exit, r.params,"
			   " r.metrics, %s, r.commit_hex = '' FROM %s r",
		     q->records ? "r.record" : "NULL", R);
	if (sortkey) {
		mlv_buf_addf(&sql, " LEFT JOIN %s s ON s.n = r.n AND s.key = ?", K);
		bind_add_text(&b, sortkey);
	}
	mlv_buf_adds(&sql, " WHERE 1");
	for (i = 0; i < q->nwhere; i++)
		where_sql(&sql, &b, &w[i], K);
	if (sortkey)
		mlv_buf_addf(&sql, " ORDER BY s.n IS NULL, s.num IS NULL, s.num %s, s.str %s,"
				   " r.id DESC", desc ? "DESC" : "ASC", desc ? "DESC" : "ASC");
	else
		mlv_buf_adds(&sql, " ORDER BY r.id DESC");
	rc = sqlite3_prepare_v2(c->db->db, sql.ptr, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		c->bad = 1;
		ret = mlv_db_error(c->db, rc, "cannot query");
		goto done;
	}
	for (i = 0; i < b.nr; i++) {
		if (b.v[i].is_num)
			sqlite3_bind_double(st, (int)i + 1, b.v[i].num);
		else
			sqlite3_bind_text(st, (int)i + 1, b.v[i].text, -1, SQLITE_STATIC);
	}
	for (;;) {
		struct mlv_run_row *row;
		const char *id;

		DB(c, mlv_db_step(c->db, st, "cannot query"));
		if (!ret)
			break;
		a->out->total++;
		if (q->limit && a->out->nr >= q->limit)
			continue;
		id = (const char *)sqlite3_column_text(st, 0);
		if (!id || !mlv_run_id_valid(id)) {
			c->bad = 1;
			ret = mlv_error_set(MLV_ECORRUPT, "run cache: a row with a bad id");
			goto done;
		}
		MLV_ALLOC_GROW(a->out->rows, a->out->nr + 1, a->out->alloc);
		row = &a->out->rows[a->out->nr++];
		memset(row, 0, sizeof(*row));
		memcpy(row->id, id, MLV_RUN_ID_SIZE);
		row->name = col_text(st, 1);
		row->state = col_text(st, 2);
		row->start = col_text(st, 3);
		row->duration = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 :
				sqlite3_column_double(st, 4);
		row->has_exit = sqlite3_column_type(st, 5) != SQLITE_NULL;
		row->exit_code = sqlite3_column_int64(st, 5);
		row->params = col_json(st, 6, 1);
		row->metrics = col_json(st, 7, 1);
		row->live = sqlite3_column_int(st, 9);
		if (q->records)
			row->record = col_json(st, 8, 1);
		if (!row->state || !row->params || !row->metrics || (q->records && !row->record)) {
			c->bad = 1;
			ret = mlv_error_set(MLV_ECORRUPT, "run cache: run %s does not parse", id);
			goto done;
		}
	}
	ret = 0;
done:
	if (ret) {
		mlv_run_list_release(a->out);
	}
	sqlite3_finalize(st);
	for (i = 0; i < q->nwhere; i++)
		where_release(&w[i]);
	free(w);
	free(sortkey);
	binds_release(&b);
	mlv_buf_release(&sql);
	return ret;
}

int mlv_runs_query(struct mlv_repo *r, const struct mlv_runs_query *q, struct mlv_run_list *out)
{
	struct query_arg a = { q, out };

	memset(out, 0, sizeof(*out));
	/* usage errors before any work */
	for (size_t i = 0; i < q->nwhere; i++) {
		int ret = mlv_runs_where_check(q->where[i]);

		if (ret)
			return ret;
	}
	return with_cache(r, 1, NULL, query_fn, &a);
}

/*
 * Resolving a run's name on the command line.
 */
struct cand {
	char id[MLV_RUN_ID_SIZE];
	char *name;
	int live;
};

struct cands {
	struct cand v[24];
	size_t nr;
};

static void cand_add(struct cands *cs, const char *id, const char *name, int live)
{
	if (!id || !mlv_run_id_valid(id))
		return;
	for (size_t i = 0; i < cs->nr; i++)
		if (!strcmp(cs->v[i].id, id))
			return;
	if (cs->nr == sizeof(cs->v) / sizeof(*cs->v))
		return;
	memcpy(cs->v[cs->nr].id, id, MLV_RUN_ID_SIZE);
	cs->v[cs->nr].name = name ? mlv_strdup(name) : NULL;
	cs->v[cs->nr++].live = live;
}

static int cands_from(struct cache *c, struct cands *cs, int which, const char *a,
		      const char *b, int n)
{
	sqlite3_stmt *st = stmt(c, which);
	int ret;

	if (!st)
		return MLV_ERROR;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
	else if (n)
		sqlite3_bind_int(st, 2, n);
	for (;;) {
		DB(c, mlv_db_step(c->db, st, "cannot read the cache"));
		if (!ret)
			break;
		cand_add(cs, (const char *)sqlite3_column_text(st, 0),
			 sqlite3_column_count(st) > 1 ? (const char *)sqlite3_column_text(st, 1) :
							NULL,
			 0);
	}
done:
	return ret;
}

static int all_of(const char *s, const char *set)
{
	return s[strspn(s, set)] == '\0';
}

struct resolve_arg {
	const char *spec;
	unsigned flags;
	struct cands cs;
	int latest;
};

static int resolve_fn(struct cache *c, void *arg)
{
	struct resolve_arg *a = arg;
	const char *spec = a->spec;
	size_t len = strlen(spec);
	char **ids = NULL;
	size_t n = 0, i;
	int ret = 0;

	if (a->latest) {
		if ((ret = cands_from(c, &a->cs, SQL_LATEST, "", NULL, 0)))
			goto done;
	} else if (mlv_run_id_valid(spec)) {
		if ((ret = cands_from(c, &a->cs, SQL_BY_ID, spec, NULL, 0)))
			goto done;
	} else {
		if (len >= 4 && len < MLV_RUN_ID_LEN && all_of(spec, "0123456789-abcdef")) {
			char *hi = mlv_strdup(spec);

			hi[len - 1]++;
			ret = cands_from(c, &a->cs, SQL_PREFIX, spec, hi, 0);
			free(hi);
			if (ret)
				goto done;
		}
		if (len >= 4 && len <= 8 && all_of(spec, "0123456789abcdef") &&
		    (ret = cands_from(c, &a->cs, SQL_HEX, spec, NULL, (int)len)))
			goto done;
		if ((ret = cands_from(c, &a->cs, SQL_NAME, spec, NULL, 0)))
			goto done;
	}
	if (!(a->flags & MLV_RUNS_LIVE))
		goto done;
	if ((ret = runs_live_ids(c->r, &ids, &n)))
		goto done;
	for (i = 0; i < n; i++) {
		const char *id = ids[i];
		json_t *run = NULL, *nm;
		int match = a->latest || !strcmp(id, spec) ||
			    (len >= 4 && !strncmp(id, spec, len)) ||
			    (len >= 4 && len <= 8 && !strncmp(id + 16, spec, len));

		if (!match && mlv_run_id_valid(spec))
			continue;
		if (mlv_run_live_load(c->r, id, &run, NULL)) {
			mlv_error_clear();
			continue;
		}
		nm = json_object_get(run, "name");
		if (!match && json_is_string(nm) && !strcmp(json_string_value(nm), spec))
			match = 1;
		if (match)
			cand_add(&a->cs, id, json_is_string(nm) ? json_string_value(nm) : NULL, 1);
		json_decref(run);
	}
done:
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return ret;
}

static int cand_newer(const void *x, const void *y)
{
	return -strcmp(((const struct cand *)x)->id, ((const struct cand *)y)->id);
}

static int resolve(struct mlv_repo *r, const char *spec, unsigned flags, int latest,
		   char id[MLV_RUN_ID_SIZE], json_t **run, int *live)
{
	struct resolve_arg a = { spec, flags, { .nr = 0 }, latest };
	struct cand *pick = NULL;
	int ret, is_live = 0;
	size_t i;

	if (run)
		*run = NULL;
	if (live)
		*live = 0;
	if ((ret = with_cache(r, 1, NULL, resolve_fn, &a)))
		goto done;
	if (a.cs.nr > 1)
		qsort(a.cs.v, a.cs.nr, sizeof(*a.cs.v), cand_newer);
	if (latest) {
		/* the newest: a live run and a stored one of the same id are one run */
		if (a.cs.nr)
			pick = &a.cs.v[0];
		for (i = 1; pick && i < a.cs.nr; i++)
			if (!strcmp(a.cs.v[i].id, pick->id) && !a.cs.v[i].live)
				pick = &a.cs.v[i];
	} else if (a.cs.nr == 1) {
		pick = &a.cs.v[0];
	} else if (a.cs.nr > 1) {
		/* a name: the latest run of that name, if all candidates share it */
		int same = 1;

		for (i = 0; i < a.cs.nr; i++)
			if (!a.cs.v[i].name || strcmp(a.cs.v[i].name, spec))
				same = 0;
		if (same) {
			pick = &a.cs.v[0];
		} else {
			struct mlv_buf msg = MLV_BUF_INIT;

			for (i = 0; i < a.cs.nr && i < 10; i++) {
				mlv_buf_addf(&msg, "\n  %s", a.cs.v[i].id);
				if (a.cs.v[i].name)
					mlv_buf_addf(&msg, " (%s)", a.cs.v[i].name);
			}
			if (a.cs.nr > 10)
				mlv_buf_adds(&msg, "\n  ...");
			ret = mlv_error_set(MLV_EAMBIGUOUS, "run '%s' is ambiguous; candidates:%s",
					    spec, msg.ptr);
			mlv_buf_release(&msg);
			goto done;
		}
	}
	if (!pick) {
		ret = latest ? mlv_error_set(MLV_ENOTFOUND, "no runs recorded yet") :
			       mlv_error_set(MLV_ENOTFOUND, "no run '%s'", spec);
		goto done;
	}
	memcpy(id, pick->id, MLV_RUN_ID_SIZE);
	is_live = pick->live;
	if (live)
		*live = is_live;
	if (run)
		ret = is_live ? mlv_run_live_load(r, id, run, NULL) : mlv_run_load(r, id, run, NULL);
done:
	for (i = 0; i < a.cs.nr; i++)
		free(a.cs.v[i].name);
	return ret;
}

int mlv_runs_resolve_ext(struct mlv_repo *r, const char *spec, unsigned flags,
			 char id[MLV_RUN_ID_SIZE], json_t **run, int *live)
{
	if (!*spec)
		return mlv_error_set(MLV_EINVALID, "empty run name");
	return resolve(r, spec, flags, 0, id, run, live);
}

int mlv_runs_resolve(struct mlv_repo *r, const char *spec, char id[MLV_RUN_ID_SIZE],
		     json_t **run)
{
	return mlv_runs_resolve_ext(r, spec, 0, id, run, NULL);
}

int mlv_runs_latest(struct mlv_repo *r, unsigned flags, char id[MLV_RUN_ID_SIZE], json_t **run,
		    int *live)
{
	return resolve(r, "", flags, 1, id, run, live);
}

/*
 * Lineage.
 */
struct io_arg {
	const struct mlv_oid *oid;
	int output;
	mlv_runs_io_fn fn;
	void *ctx;
};

static int io_fn(struct cache *c, void *arg)
{
	struct io_arg *a = arg;
	sqlite3_stmt *st = stmt(c, SQL_IO_FIND);
	char key[7 + MLV_OID_HEXSZ + 1];
	int ret;

	if (!st)
		return MLV_ERROR;
	memcpy(key, "sha256:", 7);
	mlv_oid_tohex(key + 7, a->oid);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, a->output);
	for (;;) {
		char id[MLV_RUN_ID_SIZE];
		const char *s, *p;
		char *path;

		DB(c, mlv_db_step(c->db, st, "cannot read the cache"));
		if (!ret)
			break;
		s = (const char *)sqlite3_column_text(st, 0);
		p = (const char *)sqlite3_column_text(st, 1);
		if (!s || !p || !mlv_run_id_valid(s)) {
			mlv_db_reset(st);
			c->bad = 1;
			ret = mlv_error_set(MLV_ECORRUPT, "run cache: a bad row in io");
			goto done;
		}
		memcpy(id, s, MLV_RUN_ID_SIZE);
		path = mlv_strdup(p);
		ret = a->fn(a->ctx, id, path);
		free(path);
		if (ret) {
			mlv_db_reset(st);
			goto done;
		}
	}
done:
	return ret;
}

int mlv_runs_by_output(struct mlv_repo *r, const struct mlv_oid *oid, mlv_runs_io_fn fn,
		       void *ctx)
{
	struct io_arg a = { oid, 1, fn, ctx };

	return with_cache(r, 1, NULL, io_fn, &a);
}

int mlv_runs_by_input(struct mlv_repo *r, const struct mlv_oid *oid, mlv_runs_io_fn fn,
		      void *ctx)
{
	struct io_arg a = { oid, 0, fn, ctx };

	return with_cache(r, 1, NULL, io_fn, &a);
}
