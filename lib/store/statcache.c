#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mlv/error.h"
#include "store/store-priv.h"

/*
 * The stat cache is per worktree: the statcache table of its own SQLite
 * file, $GIT_DIR/mlv/statcache.db (this module owns it and its
 * statements).  Lookups go through a cached prepared statement;
 * mlv_statcache_load_prefix() can load a subtree into memory first, after
 * which lookups under it are a binary search.  It is only a cache: a
 * damaged file is removed and started afresh (see mlv_statcache_open()),
 * and while s->sc_db is NULL every lookup misses and every update is a
 * no-op.
 */
enum {
	SQL_STAT_LOOKUP,
	SQL_STAT_PUT,
	SQL_STAT_DELETE,
	SQL_STAT_PREFIX,
	SQL_STAT_RENAME,
	SQL_STAT__COUNT
};

static const char *const sql_text[SQL_STAT__COUNT] = {
	[SQL_STAT_LOOKUP] =
		"SELECT size, mtime_ns, ctime_ns, ino, dev, mode, oid, recorded_ns"
		" FROM statcache WHERE path = ?1",
	/*
	 * A work-tree file's stat data and the id just computed from its
	 * bytes: the path's entry is updated in place (this cache vouches
	 * for files, never for store records, so nothing moves to a copy).
	 */
	[SQL_STAT_PUT] =
		"INSERT INTO statcache"
		" (path, size, mtime_ns, ctime_ns, ino, dev, mode, oid, recorded_ns)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
		" ON CONFLICT (path) DO UPDATE SET size = excluded.size,"
		" mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, ino = excluded.ino,"
		" dev = excluded.dev, mode = excluded.mode, oid = excluded.oid,"
		" recorded_ns = excluded.recorded_ns",
	[SQL_STAT_DELETE] =
		"DELETE FROM statcache WHERE path = ?1 OR (path > ?2 AND path < ?3)",
	[SQL_STAT_PREFIX] =
		"SELECT path, size, mtime_ns, ctime_ns, ino, dev, mode, oid, recorded_ns"
		" FROM statcache WHERE ?1 = '' OR (path >= ?1 AND path < ?2) ORDER BY path",
	[SQL_STAT_RENAME] =
		"UPDATE statcache SET path = ?4 || substr(path, ?5)"
		" WHERE path = ?1 OR (path > ?2 AND path < ?3)",
};

static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE statcache ("
	" path TEXT PRIMARY KEY,"
	" size INTEGER NOT NULL,"
	" mtime_ns INTEGER NOT NULL,"
	" ctime_ns INTEGER NOT NULL,"
	" ino INTEGER NOT NULL,"
	" dev INTEGER NOT NULL,"
	" mode INTEGER NOT NULL,"
	" oid BLOB NOT NULL,"
	" recorded_ns INTEGER NOT NULL) WITHOUT ROWID;",
};

static const struct mlv_db_schema schema = {
	"stat cache",
	NULL,
	migrations,
	(int)(sizeof(migrations) / sizeof(*migrations)),
	sql_text,
	SQL_STAT__COUNT,
};

static void remove_db_files(const char *path)
{
	static const char *const suffixes[] = { "-wal", "-shm", "" };

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		char *p = mlv_xstrfmt("%s%s", path, suffixes[i]);

		unlink(p);
		free(p);
	}
}

/*
 * A cache that cannot be read is worth nothing: it is started again, but
 * only by a process that has it to itself (the open lock, exclusive),
 * never under another one that has it open -- its writes would go to a
 * deleted file.  When others hold it, this process works without a stat
 * cache (every file is read) and leaves the file to the last one.
 */
int mlv_statcache_open(struct mlv_store *s)
{
	int ret;

	if ((ret = s->sclockfd = mlv_store_lock_open(AT_FDCWD, s->sclockpath, s->sclockpath)) < 0)
		return ret;
	if ((ret = mlv_store_lock_fd(s->sclockfd, s->sclockpath, MLV_STORE_LOCK_OPEN, F_RDLCK,
				     MLV_STORE_LOCK_WAIT_MS))) {
		if (ret > 0)
			ret = mlv_error_set(MLV_EIO, "cannot lock '%s': another mlv process holds it",
					    s->sclockpath);
		return ret;
	}
	ret = mlv_db_open(&s->sc_db, s->scpath, &schema);
	if (ret != MLV_ECORRUPT)
		return ret;
	if ((ret = mlv_store_lock_fd(s->sclockfd, s->sclockpath, MLV_STORE_LOCK_OPEN, F_WRLCK, 0))) {
		if (ret < 0)
			return ret;
		mlv_error_clear();
		return 0;
	}
	remove_db_files(s->scpath);
	ret = mlv_db_open(&s->sc_db, s->scpath, &schema);
	{
		int r = mlv_store_lock_fd(s->sclockfd, s->sclockpath, MLV_STORE_LOCK_OPEN, F_RDLCK,
					  MLV_STORE_LOCK_WAIT_MS);

		if (!ret && r)
			ret = r < 0 ? r : mlv_error_set(MLV_EIO, "cannot lock '%s'", s->sclockpath);
	}
	return ret;
}

struct sc_entry {
	char *path;
	struct mlv_stat st;
	struct mlv_oid oid;
	int64_t recorded_ns;
};

struct mlv_statcache_mem {
	char *prefix; /* "" = everything */
	struct sc_entry *e;
	size_t nr, alloc;
};

void mlv_statcache_mem_free(struct mlv_statcache_mem *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nr; i++)
		free(m->e[i].path);
	free(m->e);
	free(m->prefix);
	free(m);
}

static void drop_mem(struct mlv_store *s)
{
	mlv_statcache_mem_free(s->sc);
	s->sc = NULL;
}

void mlv_stat_from(struct mlv_stat *out, const struct stat *st)
{
	out->size = (uint64_t)st->st_size;
	out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	out->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	out->ino = (uint64_t)st->st_ino;
	out->dev = (uint64_t)st->st_dev;
	out->mode = (uint32_t)st->st_mode;
}

int64_t mlv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int vouches(const struct mlv_stat *a, const struct mlv_stat *b, int64_t recorded_ns)
{
	return a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns &&
	       a->ino == b->ino && a->dev == b->dev && a->mode == b->mode &&
	       a->mtime_ns < recorded_ns;
}

static void row_stat(sqlite3_stmt *st, int col, struct mlv_stat *out)
{
	out->size = (uint64_t)sqlite3_column_int64(st, col);
	out->mtime_ns = sqlite3_column_int64(st, col + 1);
	out->ctime_ns = sqlite3_column_int64(st, col + 2);
	out->ino = (uint64_t)sqlite3_column_int64(st, col + 3);
	out->dev = (uint64_t)sqlite3_column_int64(st, col + 4);
	out->mode = (uint32_t)sqlite3_column_int64(st, col + 5);
}

static int under_prefix(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);

	if (!n)
		return 1;
	return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

static int entry_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct sc_entry *)elem)->path);
}

int mlv_statcache_lookup(struct mlv_store *s, const char *path, const struct mlv_stat *st,
			 struct mlv_oid *id_out)
{
	struct mlv_stat cached;
	sqlite3_stmt *q;
	int64_t recorded;
	int rc, ret = 0;

	if (s->sc && under_prefix(s->sc->prefix, path)) {
		const struct sc_entry *e = s->sc->nr ?
			bsearch(path, s->sc->e, s->sc->nr, sizeof(*e), entry_cmp) : NULL;

		if (!e || !vouches(st, &e->st, e->recorded_ns))
			return 0;
		*id_out = e->oid;
		return 1;
	}
	if (!s->sc_db)
		return 0;
	if (!(q = mlv_db_stmt(s->sc_db, SQL_STAT_LOOKUP)))
		return mlv_error_last_code();
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	rc = mlv_db_step(s->sc_db, q, "cannot read the stat cache");
	if (rc <= 0)
		return rc;
	row_stat(q, 0, &cached);
	recorded = sqlite3_column_int64(q, 7);
	if (sqlite3_column_bytes(q, 6) == MLV_OID_RAWSZ && vouches(st, &cached, recorded)) {
		memcpy(id_out->id, sqlite3_column_blob(q, 6), MLV_OID_RAWSZ);
		ret = 1;
	}
	mlv_db_reset(q);
	return ret;
}

/* The smallest string greater than every "<prefix>/..." path: "<prefix>0". */
static char *subtree_end(const char *prefix, char last)
{
	return mlv_xstrfmt("%s%c", prefix, last);
}

int mlv_statcache_load_prefix(struct mlv_store *s, const char *prefix)
{
	struct mlv_statcache_mem *m = mlv_calloc(1, sizeof(*m));
	char *lo = NULL, *hi = NULL;
	sqlite3_stmt *q;
	int rc, ret = 0;

	drop_mem(s);
	if (!s->sc_db) {
		free(m);
		return 0;
	}
	m->prefix = mlv_strdup(prefix);
	lo = mlv_strdup(prefix);
	hi = subtree_end(prefix, '0');
	if (!(q = mlv_db_stmt(s->sc_db, SQL_STAT_PREFIX))) {
		ret = mlv_error_last_code();
		goto done;
	}
	sqlite3_bind_text(q, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, hi, -1, SQLITE_STATIC);
	while ((rc = mlv_db_step(s->sc_db, q, "cannot read the stat cache")) > 0) {
		const char *path = (const char *)sqlite3_column_text(q, 0);
		struct sc_entry *e;

		if (!path || !under_prefix(prefix, path) ||
		    sqlite3_column_bytes(q, 7) != MLV_OID_RAWSZ)
			continue;
		MLV_ALLOC_GROW(m->e, m->nr + 1, m->alloc);
		e = &m->e[m->nr++];
		e->path = mlv_strdup(path);
		row_stat(q, 1, &e->st);
		memcpy(e->oid.id, sqlite3_column_blob(q, 7), MLV_OID_RAWSZ);
		e->recorded_ns = sqlite3_column_int64(q, 8);
	}
	ret = rc;
done:
	free(lo);
	free(hi);
	if (ret) {
		mlv_statcache_mem_free(m);
		return ret;
	}
	/* SQLite's order is memcmp order; bsearch uses strcmp, which agrees. */
	s->sc = m;
	return 0;
}

int mlv_statcache_begin(struct mlv_store *s)
{
	return s->sc_db ? mlv_db_begin(s->sc_db) : 0;
}

int mlv_statcache_end(struct mlv_store *s, int commit)
{
	if (!s->sc_db || !mlv_db_in_transaction(s->sc_db))
		return 0;
	if (commit)
		return mlv_db_commit(s->sc_db);
	mlv_db_rollback(s->sc_db);
	drop_mem(s);
	return 0;
}

int mlv_statcache_put(struct mlv_store *s, const char *path, const struct mlv_stat *st,
		      const struct mlv_oid *id, int64_t recorded_ns)
{
	sqlite3_stmt *q;

	drop_mem(s);
	if (!s->sc_db)
		return 0;
	if (!(q = mlv_db_stmt(s->sc_db, SQL_STAT_PUT)))
		return mlv_error_last_code();
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)st->size);
	sqlite3_bind_int64(q, 3, st->mtime_ns);
	sqlite3_bind_int64(q, 4, st->ctime_ns);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)st->ino);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)st->dev);
	sqlite3_bind_int64(q, 7, st->mode);
	sqlite3_bind_blob(q, 8, id->id, MLV_OID_RAWSZ, SQLITE_STATIC);
	sqlite3_bind_int64(q, 9, recorded_ns);
	return mlv_db_run(s->sc_db, q, "cannot update the stat cache");
}

/*
 * Run `sql` over `path` and everything below it (?1 to ?3); a rename adds
 * the new path and where the old prefix ends (?4, ?5).
 */
static int subtree_update(struct mlv_store *s, int sql, const char *path, const char *to)
{
	char *lo = mlv_xstrfmt("%s/", path), *hi = subtree_end(path, '0');
	sqlite3_stmt *q;
	int ret = 0;

	drop_mem(s);
	if (!s->sc_db)
		goto done;
	if (!(q = mlv_db_stmt(s->sc_db, sql))) {
		ret = mlv_error_last_code();
		goto done;
	}
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, hi, -1, SQLITE_STATIC);
	if (to) {
		sqlite3_bind_text(q, 4, to, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 5, (sqlite3_int64)strlen(path) + 1);
	}
	ret = mlv_db_run(s->sc_db, q, "cannot update the stat cache");
done:
	free(lo);
	free(hi);
	return ret;
}

int mlv_statcache_delete(struct mlv_store *s, const char *path)
{
	return subtree_update(s, SQL_STAT_DELETE, path, NULL);
}

int mlv_statcache_rename(struct mlv_store *s, const char *from, const char *to)
{
	/* Entries left at the destination describe files the rename replaced. */
	int ret = subtree_update(s, SQL_STAT_DELETE, to, NULL);

	return ret ? ret : subtree_update(s, SQL_STAT_RENAME, from, to);
}
