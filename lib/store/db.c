#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "store/db.h"

#define BUSY_TIMEOUT_MS 10000
#define SQLITE_HEADER_SIZE 100
/* Looks at a header that seems damaged before it is called so. */
#define HEADER_LOOKS 3

int mlv_db_error(struct mlv_db *db, int rc, const char *what)
{
	int code = MLV_ERROR;

	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = MLV_ECORRUPT;
		break;
	case SQLITE_CANTOPEN:
		code = rc == SQLITE_CANTOPEN_SYMLINK ? MLV_EINVALID : MLV_EIO;
		break;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = MLV_EIO;
		break;
	}
	mlv_error_set(code, "%s '%s': %s: %s", db->schema->what, db->path, what,
		      db->db ? sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
	if (code == MLV_ECORRUPT && db->schema->hint)
		mlv_error_set_hint("%s", db->schema->hint);
	return code;
}

static int corrupt(struct mlv_db *db, const char *why)
{
	int ret = mlv_error_set(MLV_ECORRUPT, "%s '%s' is corrupt: %s", db->schema->what, db->path,
				why);

	if (db->schema->hint)
		mlv_error_set_hint("%s", db->schema->hint);
	return ret;
}

int mlv_db_exec(struct mlv_db *db, const char *sql)
{
	int rc = sqlite3_exec(db->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return mlv_db_error(db, rc, sql);
	return 0;
}

sqlite3_stmt *mlv_db_stmt(struct mlv_db *db, int which)
{
	sqlite3_stmt *st = db->stmt[which];

	if (!st) {
		int rc = sqlite3_prepare_v3(db->db, db->schema->sql[which], -1,
					    SQLITE_PREPARE_PERSISTENT, &st, NULL);

		if (rc != SQLITE_OK) {
			mlv_db_error(db, rc, "cannot prepare statement");
			return NULL;
		}
		db->stmt[which] = st;
	} else {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return st;
}

void mlv_db_reset(sqlite3_stmt *st)
{
	if (st)
		sqlite3_reset(st);
}

int mlv_db_step(struct mlv_db *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	rc = mlv_db_error(db, rc, what);
	sqlite3_reset(st);
	return rc;
}

int mlv_db_run(struct mlv_db *db, sqlite3_stmt *st, const char *what)
{
	int ret = mlv_db_step(db, st, what);

	if (ret > 0) {
		sqlite3_reset(st);
		ret = 0;
	}
	return ret;
}

int mlv_db_begin(struct mlv_db *db)
{
	return mlv_db_exec(db, "BEGIN IMMEDIATE");
}

int mlv_db_commit(struct mlv_db *db)
{
	return mlv_db_exec(db, "COMMIT");
}

void mlv_db_rollback(struct mlv_db *db)
{
	if (db && db->db && !sqlite3_get_autocommit(db->db))
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

int mlv_db_in_transaction(struct mlv_db *db)
{
	return !sqlite3_get_autocommit(db->db);
}

int mlv_db_quick_check(struct mlv_db *db, void (*fn)(void *ctx, const char *msg), void *ctx)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db->db, "PRAGMA quick_check", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return mlv_db_error(db, rc, "cannot check");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 0);

		if (msg && strcmp(msg, "ok"))
			fn(ctx, msg);
	}
	if (rc != SQLITE_DONE) {
		char what[256];

		snprintf(what, sizeof(what), "quick_check failed: %s", sqlite3_errmsg(db->db));
		fn(ctx, what);
	}
	sqlite3_finalize(st);
	return 0;
}

static int user_version(struct mlv_db *db, int *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return mlv_db_error(db, rc, "cannot read schema version");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int ret = mlv_db_error(db, rc, "cannot read schema version");

		sqlite3_finalize(st);
		return ret;
	}
	*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int migrate(struct mlv_db *db)
{
	const struct mlv_db_schema *sc = db->schema;
	struct mlv_error_state es;
	char sql[64];
	int v, ret;

	if ((ret = user_version(db, &v)))
		return ret;
	if (v == sc->nmigrations)
		return 0;
	if ((ret = mlv_db_begin(db)))
		return ret;
	/* Another process may have migrated while we waited for the lock. */
	if ((ret = user_version(db, &v)))
		goto done;
	db->created = v == 0;
	if (v > sc->nmigrations) {
		ret = mlv_error_set(MLV_EUNSUPPORTED,
				    "%s '%s': schema version %d is newer than this mlv supports (%d)",
				    sc->what, db->path, v, sc->nmigrations);
		goto done;
	}
	for (; v < sc->nmigrations; v++)
		if ((ret = mlv_db_exec(db, sc->migrations[v])))
			goto done;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", sc->nmigrations);
	if ((ret = mlv_db_exec(db, sql)))
		goto done;
	ret = mlv_db_commit(db);
done:
	mlv_error_state_capture(&es, ret);
	if (ret)
		mlv_db_rollback(db);
	return mlv_error_state_restore(&es);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * A database file is only ever opened by SQLite.  Closing any descriptor
 * of a file drops every POSIX record lock the process holds on it
 * (fcntl(2)), SQLite's among them: after an open() and close() of
 * index.db beside a live connection, another process that closes its own
 * connection believes it is the last one, checkpoints, and deletes the
 * write-ahead log and shared memory under the live writer, whose commits
 * then go to a deleted file and are lost.  So the path is looked at with
 * lstat() only, and the header is read through SQLite's own descriptor.
 */
static int check_path(struct mlv_db *db)
{
	struct stat st;

	if (lstat(db->path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return mlv_error_set_errno(MLV_EIO, "cannot stat %s '%s'", db->schema->what,
					   db->path);
	}
	if (S_ISLNK(st.st_mode))
		return mlv_error_set(MLV_EINVALID,
				     "%s '%s' is a symbolic link: mlv never follows one where it keeps its own files",
				     db->schema->what, db->path);
	if (!S_ISREG(st.st_mode))
		return mlv_error_set(MLV_EINVALID, "%s '%s' is not a regular file", db->schema->what,
				     db->path);
	return 0;
}

/*
 * One look at the header: 0 fine, 1 damaged (`why` says how), <0 error.
 * The header is read before the size: a checkpoint extends the file
 * before it writes the page count that needs the room (and nothing here
 * ever shrinks a database), so a header read first never claims more
 * pages than the size read after it holds, unless the file is damaged.
 */
static int look_at_header(struct mlv_db *db, sqlite3_file *fp, char *why, size_t whysz)
{
	unsigned char hdr[SQLITE_HEADER_SIZE];
	sqlite3_int64 size = 0;
	struct stat wst;
	uint64_t page, pages;
	char *wal;
	int rc, wal_busy;

	if ((rc = fp->pMethods->xFileSize(fp, &size)) != SQLITE_OK)
		return mlv_db_error(db, rc, "cannot read its size");
	if (!size)
		return 0;
	rc = fp->pMethods->xRead(fp, hdr, (int)sizeof(hdr), 0);
	if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ)
		return mlv_db_error(db, rc, "cannot read its header");
	if ((rc = fp->pMethods->xFileSize(fp, &size)) != SQLITE_OK)
		return mlv_db_error(db, rc, "cannot read its size");
	/* A write-ahead log may hold pages not yet copied back: SQLite's business. */
	wal = mlv_xstrfmt("%s-wal", db->path);
	wal_busy = !lstat(wal, &wst) && wst.st_size > 0;
	free(wal);
	if (wal_busy)
		return 0;
	if (rc == SQLITE_IOERR_SHORT_READ || memcmp(hdr, "SQLite format 3", 16)) {
		snprintf(why, whysz, "%s", size < (sqlite3_int64)sizeof(hdr) ? "truncated header" :
					   "not an SQLite database");
		return 1;
	}
	page = (uint64_t)hdr[16] << 8 | hdr[17];
	if (page == 1)
		page = 65536;
	pages = be32(hdr + 28);
	/* The page count is valid when the change counter agrees (header offsets 24, 92). */
	if (pages && be32(hdr + 24) == be32(hdr + 92) && (uint64_t)size < page * pages) {
		snprintf(why, whysz, "truncated to %llu of %llu bytes", (unsigned long long)size,
			 (unsigned long long)(page * pages));
		return 1;
	}
	return 0;
}

/*
 * Not shorter than its header says.  SQLite would open a truncated
 * database and fail (or worse, answer "not found") on the first page
 * past the end.  Another process may be writing the file while we look:
 * a verdict of damage stands only when every look agrees.
 */
static int check_header(struct mlv_db *db)
{
	sqlite3_file *fp = NULL;
	char why[128];
	int ret = 0;

	if (sqlite3_file_control(db->db, "main", SQLITE_FCNTL_FILE_POINTER, &fp) != SQLITE_OK ||
	    !fp || !fp->pMethods)
		return 0;
	for (int i = 0; i < HEADER_LOOKS; i++) {
		if (i)
			usleep(10000u << i);
		if ((ret = look_at_header(db, fp, why, sizeof(why))) <= 0)
			return ret;
	}
	return corrupt(db, why);
}

int mlv_db_open(struct mlv_db **out, const char *path, const struct mlv_db_schema *schema)
{
	struct mlv_db *db = mlv_calloc(1, sizeof(*db));
	int rc, ret;

	db->path = mlv_strdup(path);
	db->schema = schema;
	db->stmt = mlv_calloc(schema->nsql ? (size_t)schema->nsql : 1, sizeof(*db->stmt));
	if ((ret = check_path(db)))
		goto done;
	rc = sqlite3_open_v2(path, &db->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		ret = mlv_db_error(db, rc, "cannot open");
		goto done;
	}
	sqlite3_busy_timeout(db->db, BUSY_TIMEOUT_MS);
	if ((ret = check_header(db)) ||
	    (ret = mlv_db_exec(db, "PRAGMA journal_mode = WAL")) ||
	    (ret = mlv_db_exec(db, "PRAGMA synchronous = NORMAL")) ||
	    (ret = migrate(db)))
		goto done;
done:
	if (ret) {
		mlv_db_free(db);
		db = NULL;
	}
	*out = db;
	return ret;
}

void mlv_db_free(struct mlv_db *db)
{
	if (!db)
		return;
	for (int i = 0; i < db->schema->nsql; i++)
		sqlite3_finalize(db->stmt[i]);
	free(db->stmt);
	sqlite3_close(db->db);
	free(db->path);
	free(db);
}
