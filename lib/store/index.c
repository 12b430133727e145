#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/store.h"
#include "store/index.h"

static const char *const sql_text[MLV_SQL__COUNT] = {
	[MLV_SQL_OBJ_LOOKUP] =
		"SELECT o.pack, p.name, o.offset, o.stored_len, o.raw_len, o.type, o.comp"
		" FROM objects o LEFT JOIN packs p ON p.id = o.pack WHERE o.oid = ?1",
	[MLV_SQL_OBJ_HAS] = "SELECT 1 FROM objects WHERE oid = ?1",
	[MLV_SQL_OBJ_INSERT] =
		"INSERT OR REPLACE INTO objects (oid, pack, offset, stored_len, raw_len, type, comp)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[MLV_SQL_OBJ_PREFIX] = "SELECT oid FROM objects WHERE oid >= ?1 AND oid <= ?2 LIMIT 2",
	[MLV_SQL_OBJ_DELETE] = "DELETE FROM objects WHERE oid = ?1",
	[MLV_SQL_OBJ_ALL] =
		"SELECT oid, pack, offset, stored_len, raw_len, type, comp FROM objects",
	[MLV_SQL_PACK_INSERT] =
		"INSERT OR IGNORE INTO packs (name, size, objects, added_ns) VALUES (?1, ?2, ?3, ?4)",
	[MLV_SQL_PACK_ID] = "SELECT id FROM packs WHERE name = ?1",
	[MLV_SQL_PACK_ALL] = "SELECT id, name, size FROM packs ORDER BY id",
	[MLV_SQL_PACK_DELETE] = "DELETE FROM packs WHERE id = ?1",
	[MLV_SQL_OBJ_DELETE_PACK] = "DELETE FROM objects WHERE pack = ?1",
	[MLV_SQL_OBJ_DELETE_AT] = "DELETE FROM objects WHERE oid = ?1 AND pack = ?2",
	[MLV_SQL_STAT_LOOKUP] =
		"SELECT size, mtime_ns, ctime_ns, ino, dev, mode, oid, recorded_ns"
		" FROM statcache WHERE path = ?1",
	[MLV_SQL_STAT_PUT] =
		"INSERT OR REPLACE INTO statcache"
		" (path, size, mtime_ns, ctime_ns, ino, dev, mode, oid, recorded_ns)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[MLV_SQL_STAT_DELETE] =
		"DELETE FROM statcache WHERE path = ?1 OR (path > ?2 AND path < ?3)",
	[MLV_SQL_STAT_PREFIX] =
		"SELECT path, size, mtime_ns, ctime_ns, ino, dev, mode, oid, recorded_ns"
		" FROM statcache WHERE ?1 = '' OR (path >= ?1 AND path < ?2) ORDER BY path",
	[MLV_SQL_STAT_RENAME] =
		"UPDATE OR REPLACE statcache SET path = ?4 || substr(path, ?5)"
		" WHERE path = ?1 OR (path > ?2 AND path < ?3)",
};

/* Schema steps; user_version = number of steps applied. */
static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE packs ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" size INTEGER NOT NULL,"
	" objects INTEGER NOT NULL,"
	" added_ns INTEGER NOT NULL);"
	"CREATE TABLE objects ("
	" oid BLOB PRIMARY KEY,"
	" pack INTEGER NOT NULL,"
	" offset INTEGER NOT NULL,"
	" stored_len INTEGER NOT NULL,"
	" raw_len INTEGER NOT NULL,"
	" type INTEGER NOT NULL,"
	" comp INTEGER NOT NULL) WITHOUT ROWID;"
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
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(*migrations)))

int mlv_index_error(struct mlv_index *ix, int rc, const char *what)
{
	int code = MLV_ERROR;

	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = MLV_ECORRUPT;
		break;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = MLV_EIO;
		break;
	}
	return mlv_error_set(code, "index '%s': %s: %s", ix->path, what,
			     ix->db ? sqlite3_errmsg(ix->db) : sqlite3_errstr(rc));
}

int mlv_index_exec(struct mlv_index *ix, const char *sql)
{
	int rc = sqlite3_exec(ix->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return mlv_index_error(ix, rc, sql);
	return 0;
}

sqlite3_stmt *mlv_index_stmt(struct mlv_index *ix, enum mlv_sql which)
{
	sqlite3_stmt *st = ix->stmt[which];

	if (!st) {
		int rc = sqlite3_prepare_v3(ix->db, sql_text[which], -1, SQLITE_PREPARE_PERSISTENT,
					    &st, NULL);

		if (rc != SQLITE_OK) {
			mlv_index_error(ix, rc, "cannot prepare statement");
			return NULL;
		}
		ix->stmt[which] = st;
	} else {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return st;
}

int mlv_index_begin(struct mlv_index *ix)
{
	return mlv_index_exec(ix, "BEGIN IMMEDIATE");
}

int mlv_index_commit(struct mlv_index *ix)
{
	return mlv_index_exec(ix, "COMMIT");
}

void mlv_index_rollback(struct mlv_index *ix)
{
	if (!sqlite3_get_autocommit(ix->db))
		sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
}

int mlv_index_in_transaction(struct mlv_index *ix)
{
	return !sqlite3_get_autocommit(ix->db);
}

static int user_version(struct mlv_index *ix, int *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return mlv_index_error(ix, rc, "cannot read schema version");
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return mlv_index_error(ix, rc, "cannot read schema version");
	}
	*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int migrate(struct mlv_index *ix)
{
	char sql[64];
	int v, ret;

	if ((ret = user_version(ix, &v)))
		return ret;
	if (v == SCHEMA_VERSION)
		return 0;
	if ((ret = mlv_index_begin(ix)))
		return ret;
	/* Another process may have migrated while we waited for the lock. */
	if ((ret = user_version(ix, &v)))
		goto done;
	if (v > SCHEMA_VERSION) {
		ret = mlv_error_set(MLV_EUNSUPPORTED,
				    "index '%s': schema version %d is newer than this mlv supports (%d)",
				    ix->path, v, SCHEMA_VERSION);
		goto done;
	}
	for (; v < SCHEMA_VERSION; v++)
		if ((ret = mlv_index_exec(ix, migrations[v])))
			goto done;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	if ((ret = mlv_index_exec(ix, sql)))
		goto done;
	ret = mlv_index_commit(ix);
done:
	if (ret)
		mlv_index_rollback(ix);
	return ret;
}

int mlv_index_open(struct mlv_index **out, const char *path)
{
	struct mlv_index *ix = mlv_calloc(1, sizeof(*ix));
	int rc, ret;

	ix->path = mlv_strdup(path);
	rc = sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		ret = mlv_index_error(ix, rc, "cannot open");
		goto done;
	}
	sqlite3_busy_timeout(ix->db, 10000);
	if ((ret = mlv_index_exec(ix, "PRAGMA journal_mode = WAL")) ||
	    (ret = mlv_index_exec(ix, "PRAGMA synchronous = NORMAL")) ||
	    (ret = migrate(ix)))
		goto done;
done:
	if (ret) {
		mlv_index_free(ix);
		ix = NULL;
	}
	*out = ix;
	return ret;
}

void mlv_index_free(struct mlv_index *ix)
{
	if (!ix)
		return;
	for (int i = 0; i < MLV_SQL__COUNT; i++)
		sqlite3_finalize(ix->stmt[i]);
	sqlite3_close(ix->db);
	free(ix->path);
	free(ix);
}

int mlv_index_lookup(struct mlv_index *ix, const struct mlv_oid *id, struct mlv_index_obj *out)
{
	sqlite3_stmt *st = mlv_index_stmt(ix, MLV_SQL_OBJ_LOOKUP);
	int rc;

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_blob(st, 1, id->id, MLV_OID_RAWSZ, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		int ret = mlv_index_error(ix, rc, "cannot look up object");

		sqlite3_reset(st);
		return ret;
	}
	out->pack_id = sqlite3_column_int64(st, 0);
	out->pack[0] = '\0';
	if (sqlite3_column_type(st, 1) == SQLITE_TEXT) {
		const char *n = (const char *)sqlite3_column_text(st, 1);

		snprintf(out->pack, sizeof(out->pack), "%s", n ? n : "");
	}
	out->offset = (uint64_t)sqlite3_column_int64(st, 2);
	out->stored_len = (uint64_t)sqlite3_column_int64(st, 3);
	out->raw_len = (uint64_t)sqlite3_column_int64(st, 4);
	out->type = sqlite3_column_int(st, 5);
	out->comp = sqlite3_column_int(st, 6);
	sqlite3_reset(st);
	return 1;
}

int mlv_index_has(struct mlv_index *ix, const struct mlv_oid *id)
{
	sqlite3_stmt *st = mlv_index_stmt(ix, MLV_SQL_OBJ_HAS);
	int rc;

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_blob(st, 1, id->id, MLV_OID_RAWSZ, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return mlv_index_error(ix, rc, "cannot look up object");
}

int mlv_index_add_pack(struct mlv_index *ix, const char *name, uint64_t size, uint64_t count,
		       int64_t *id_out)
{
	sqlite3_stmt *st = mlv_index_stmt(ix, MLV_SQL_PACK_INSERT);
	struct timespec ts;
	int rc;

	if (!st)
		return mlv_error_last_code();
	clock_gettime(CLOCK_REALTIME, &ts);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)count);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)ts.tv_sec * 1000000000 + ts.tv_nsec);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return mlv_index_error(ix, rc, "cannot record pack");
	if (!(st = mlv_index_stmt(ix, MLV_SQL_PACK_ID)))
		return mlv_error_last_code();
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return mlv_index_error(ix, rc, "cannot record pack");
	}
	*id_out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int mlv_index_add_object(struct mlv_index *ix, int64_t pack_id, const struct mlv_pack_entry *e)
{
	sqlite3_stmt *st = mlv_index_stmt(ix, MLV_SQL_OBJ_INSERT);
	int rc;

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_blob(st, 1, e->id.id, MLV_OID_RAWSZ, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, pack_id);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)e->offset);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)e->stored_len);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)e->raw_len);
	sqlite3_bind_int(st, 6, e->type);
	sqlite3_bind_int(st, 7, e->comp);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return mlv_index_error(ix, rc, "cannot record object");
	return 0;
}
