#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/store.h"
#include "store/index.h"
#include "store/store-priv.h"

enum {
	SQL_OBJ_LOOKUP,
	SQL_OBJ_HAS,
	SQL_OBJ_INSERT,
	SQL_OBJ_MOVE,
	SQL_OBJ_TOUCH,
	SQL_OBJ_PREFIX,
	SQL_OBJ_ALL,
	SQL_OBJ_DELETE_AT,
	SQL_OBJ_DELETE_PACK,
	SQL_PACK_INSERT,
	SQL_PACK_ID,
	SQL_PACK_ALL,
	SQL_PACK_DELETE,
	SQL_PACK_SIGNATURE,
	SQL_PACK_ALL_TIMES,
	SQL_OBJ_RELOCATE,
	SQL__COUNT
};

static const char *const sql_text[SQL__COUNT] = {
	[SQL_OBJ_LOOKUP] =
		"SELECT o.pack, p.name, o.offset, o.stored_len, o.raw_len, o.type, o.comp,"
		" p.added_ns, p.mtime_ns, p.size"
		" FROM objects o LEFT JOIN packs p ON p.id = o.pack WHERE o.oid = ?1",
	[SQL_OBJ_HAS] = "SELECT 1 FROM objects WHERE oid = ?1",
	[SQL_OBJ_INSERT] =
		"INSERT OR IGNORE INTO objects"
		" (oid, pack, offset, stored_len, raw_len, type, comp, used_ns)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[SQL_OBJ_MOVE] =
		"UPDATE objects SET pack = ?2, offset = ?3, stored_len = ?4, raw_len = ?5,"
		" type = ?6, comp = ?7, used_ns = ?8 WHERE oid = ?1",
	[SQL_OBJ_TOUCH] = "UPDATE objects SET used_ns = ?2 WHERE oid = ?1 AND used_ns < ?2",
	[SQL_OBJ_PREFIX] = "SELECT oid FROM objects WHERE oid >= ?1 AND oid <= ?2 LIMIT 2",
	[SQL_OBJ_ALL] =
		"SELECT oid, pack, offset, stored_len, raw_len, type, comp, used_ns FROM objects",
	[SQL_OBJ_DELETE_AT] = "DELETE FROM objects WHERE oid = ?1 AND pack = ?2",
	[SQL_OBJ_DELETE_PACK] = "DELETE FROM objects WHERE pack = ?1",
	[SQL_PACK_INSERT] =
		"INSERT OR IGNORE INTO packs (name, size, objects, added_ns, mtime_ns)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	[SQL_PACK_ID] = "SELECT id FROM packs WHERE name = ?1",
	[SQL_PACK_ALL] = "SELECT id, name, size FROM packs ORDER BY id",
	[SQL_PACK_DELETE] = "DELETE FROM packs WHERE id = ?1",
	[SQL_PACK_SIGNATURE] = "UPDATE packs SET size = ?2, mtime_ns = ?3 WHERE id = ?1",
	[SQL_PACK_ALL_TIMES] = "SELECT id, name, size, added_ns, mtime_ns FROM packs ORDER BY id",
	[SQL_OBJ_RELOCATE] =
		"UPDATE objects SET pack = ?2, offset = ?3, stored_len = ?4, raw_len = ?5,"
		" type = ?6, comp = ?7 WHERE oid = ?1 AND pack = ?8",
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
	/*
	 * 2: rows of a pack found without a scan; when add last used an
	 * object; each pack's signature; the stat cache moves to each
	 * worktree's own statcache.db.
	 */
	"CREATE INDEX objects_pack ON objects (pack);"
	"ALTER TABLE objects ADD COLUMN used_ns INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE packs ADD COLUMN mtime_ns INTEGER NOT NULL DEFAULT 0;"
	"DROP TABLE statcache;",
};

static const struct mlv_db_schema schema = {
	"index",
	"run 'mlv fsck --repair'",
	migrations,
	(int)(sizeof(migrations) / sizeof(*migrations)),
	sql_text,
	SQL__COUNT,
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int mlv_index_open(struct mlv_index **out, const char *path, int *created_out)
{
	struct mlv_index *ix;
	struct mlv_db *db;
	int ret = mlv_db_open(&db, path, &schema);

	*out = NULL;
	if (ret)
		return ret;
	ix = mlv_calloc(1, sizeof(*ix));
	ix->db = db;
	ix->path = mlv_strdup(path);
	if (created_out)
		*created_out = db->created;
	*out = ix;
	return 0;
}

void mlv_index_free(struct mlv_index *ix)
{
	if (!ix)
		return;
	mlv_db_free(ix->db);
	free(ix->path);
	free(ix);
}

int mlv_index_begin(struct mlv_index *ix)
{
	return mlv_db_begin(ix->db);
}

int mlv_index_commit(struct mlv_index *ix)
{
	return mlv_db_commit(ix->db);
}

void mlv_index_rollback(struct mlv_index *ix)
{
	mlv_db_rollback(ix->db);
}

int mlv_index_in_transaction(struct mlv_index *ix)
{
	return mlv_db_in_transaction(ix->db);
}

int mlv_index_quick_check(struct mlv_index *ix, void (*fn)(void *ctx, const char *msg), void *ctx)
{
	return mlv_db_quick_check(ix->db, fn, ctx);
}

int mlv_index_lookup(struct mlv_index *ix, const struct mlv_oid *id, struct mlv_index_obj *out)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_OBJ_LOOKUP);
	int ret;

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_blob(st, 1, id->id, MLV_OID_RAWSZ, SQLITE_STATIC);
	if ((ret = mlv_db_step(ix->db, st, "cannot look up object")) <= 0)
		return ret;
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
	out->pack_added_ns = sqlite3_column_int64(st, 7);
	out->pack_mtime_ns = sqlite3_column_int64(st, 8);
	out->pack_size = (uint64_t)sqlite3_column_int64(st, 9);
	mlv_db_reset(st);
	return 1;
}

int mlv_index_has(struct mlv_index *ix, const struct mlv_oid *id)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_OBJ_HAS);
	int ret;

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_blob(st, 1, id->id, MLV_OID_RAWSZ, SQLITE_STATIC);
	ret = mlv_db_step(ix->db, st, "cannot look up object");
	mlv_db_reset(st);
	return ret;
}

int mlv_index_prefix(struct mlv_index *ix, const unsigned char *lo, const unsigned char *hi,
		     struct mlv_oid out[2], int *nr_out)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_OBJ_PREFIX);
	int n = 0, ret;

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_blob(st, 1, lo, MLV_OID_RAWSZ, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, hi, MLV_OID_RAWSZ, SQLITE_STATIC);
	while ((ret = mlv_db_step(ix->db, st, "cannot look up object prefix")) > 0) {
		if (n < 2 && sqlite3_column_bytes(st, 0) == MLV_OID_RAWSZ)
			memcpy(out[n++].id, sqlite3_column_blob(st, 0), MLV_OID_RAWSZ);
	}
	*nr_out = n;
	return ret;
}

int mlv_index_add_pack(struct mlv_index *ix, const char *name, uint64_t size, uint64_t count,
		       int64_t mtime_ns, int64_t *id_out)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_PACK_INSERT);
	int ret;

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)count);
	sqlite3_bind_int64(st, 4, now_ns());
	sqlite3_bind_int64(st, 5, mtime_ns);
	if ((ret = mlv_db_run(ix->db, st, "cannot record pack")))
		return ret;
	if (!(st = mlv_db_stmt(ix->db, SQL_PACK_ID)))
		return mlv_error_last_code();
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	ret = mlv_db_step(ix->db, st, "cannot record pack");
	if (ret <= 0)
		return ret ? ret : mlv_error_set(MLV_ERROR, "index '%s': pack '%s' vanished",
						 ix->path, name);
	*id_out = sqlite3_column_int64(st, 0);
	mlv_db_reset(st);
	return 0;
}

int mlv_index_find_pack(struct mlv_index *ix, const char *name, int64_t *id_out)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_PACK_ID);
	int ret;

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((ret = mlv_db_step(ix->db, st, "cannot look up pack")) <= 0)
		return ret;
	if (id_out)
		*id_out = sqlite3_column_int64(st, 0);
	mlv_db_reset(st);
	return 1;
}

int mlv_index_set_pack_signature(struct mlv_index *ix, int64_t pack_id, uint64_t size,
				 int64_t mtime_ns)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_PACK_SIGNATURE);

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_int64(st, 1, pack_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
	sqlite3_bind_int64(st, 3, mtime_ns);
	return mlv_db_run(ix->db, st, "cannot record pack");
}

static int put_object(struct mlv_index *ix, int which, int64_t pack_id,
		      const struct mlv_pack_entry *e)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, which);

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_blob(st, 1, e->id.id, MLV_OID_RAWSZ, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, pack_id);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)e->offset);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)e->stored_len);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)e->raw_len);
	sqlite3_bind_int(st, 6, e->type);
	sqlite3_bind_int(st, 7, e->comp);
	sqlite3_bind_int64(st, 8, now_ns());
	return mlv_db_run(ix->db, st, "cannot record object");
}

int mlv_index_add_object(struct mlv_index *ix, int64_t pack_id, const struct mlv_pack_entry *e)
{
	return put_object(ix, SQL_OBJ_INSERT, pack_id, e);
}

int mlv_index_move_object(struct mlv_index *ix, int64_t pack_id, const struct mlv_pack_entry *e)
{
	int ret = put_object(ix, SQL_OBJ_INSERT, pack_id, e);

	return ret ? ret : put_object(ix, SQL_OBJ_MOVE, pack_id, e);
}

int mlv_index_touch_object(struct mlv_index *ix, const struct mlv_oid *id, int64_t when_ns)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_OBJ_TOUCH);

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_blob(st, 1, id->id, MLV_OID_RAWSZ, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, when_ns);
	return mlv_db_run(ix->db, st, "cannot update object");
}

int mlv_index_delete_object_at(struct mlv_index *ix, const struct mlv_oid *id, int64_t pack_id)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_OBJ_DELETE_AT);

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_blob(st, 1, id->id, MLV_OID_RAWSZ, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, pack_id);
	return mlv_db_run(ix->db, st, "cannot delete row");
}

int mlv_index_delete_pack(struct mlv_index *ix, int64_t pack_id)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_OBJ_DELETE_PACK);
	int ret;

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_int64(st, 1, pack_id);
	if ((ret = mlv_db_run(ix->db, st, "cannot delete rows")))
		return ret;
	if (!(st = mlv_db_stmt(ix->db, SQL_PACK_DELETE)))
		return mlv_error_last_code();
	sqlite3_bind_int64(st, 1, pack_id);
	return mlv_db_run(ix->db, st, "cannot delete pack row");
}

int mlv_index_for_each_pack(struct mlv_index *ix,
			    int (*fn)(void *ctx, const struct mlv_index_pack *p), void *ctx)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_PACK_ALL);
	int ret;

	if (!st)
		return mlv_error_last_code();
	while ((ret = mlv_db_step(ix->db, st, "cannot list packs")) > 0) {
		struct mlv_index_pack p;
		const char *name = (const char *)sqlite3_column_text(st, 1);

		p.id = sqlite3_column_int64(st, 0);
		p.name = name ? name : "";
		p.size = (uint64_t)sqlite3_column_int64(st, 2);
		if ((ret = fn(ctx, &p))) {
			mlv_db_reset(st);
			return ret;
		}
	}
	return ret;
}

/* An object row (id, pack, offset, stored, raw, type, comp, ...) as a pack entry. */
static void row_entry(sqlite3_stmt *st, struct mlv_pack_entry *e)
{
	memcpy(e->id.id, sqlite3_column_blob(st, 0), MLV_OID_RAWSZ);
	e->offset = (uint64_t)sqlite3_column_int64(st, 2);
	e->stored_len = (uint64_t)sqlite3_column_int64(st, 3);
	e->raw_len = (uint64_t)sqlite3_column_int64(st, 4);
	e->type = (uint8_t)sqlite3_column_int(st, 5);
	e->comp = (uint8_t)sqlite3_column_int(st, 6);
}

/* Every object row, to `fn`, or with its used_ns to `fn_used`. */
static int each_object(struct mlv_index *ix,
		       int (*fn)(void *ctx, int64_t pack_id, const struct mlv_pack_entry *e),
		       int (*fn_used)(void *ctx, int64_t pack_id, const struct mlv_pack_entry *e,
				      int64_t used_ns),
		       void *ctx)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_OBJ_ALL);
	int ret;

	if (!st)
		return mlv_error_last_code();
	while ((ret = mlv_db_step(ix->db, st, "cannot list objects")) > 0) {
		struct mlv_pack_entry e;
		int64_t pack = sqlite3_column_int64(st, 1);

		if (sqlite3_column_bytes(st, 0) != MLV_OID_RAWSZ)
			continue;
		row_entry(st, &e);
		if ((ret = fn_used ? fn_used(ctx, pack, &e, sqlite3_column_int64(st, 7)) :
				     fn(ctx, pack, &e))) {
			mlv_db_reset(st);
			return ret;
		}
	}
	return ret;
}

int mlv_index_for_each_object(struct mlv_index *ix,
			      int (*fn)(void *ctx, int64_t pack_id, const struct mlv_pack_entry *e),
			      void *ctx)
{
	return each_object(ix, fn, NULL, ctx);
}

int mlv_index_for_each_object_used(struct mlv_index *ix,
				   int (*fn)(void *ctx, int64_t pack_id, const struct mlv_pack_entry *e,
					     int64_t used_ns),
				   void *ctx)
{
	return each_object(ix, NULL, fn, ctx);
}

int mlv_index_for_each_pack_times(struct mlv_index *ix,
				  int (*fn)(void *ctx, const struct mlv_index_pack_times *p),
				  void *ctx)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_PACK_ALL_TIMES);
	int ret;

	if (!st)
		return mlv_error_last_code();
	while ((ret = mlv_db_step(ix->db, st, "cannot list packs")) > 0) {
		struct mlv_index_pack_times p;
		const char *name = (const char *)sqlite3_column_text(st, 1);

		p.id = sqlite3_column_int64(st, 0);
		p.name = name ? name : "";
		p.size = (uint64_t)sqlite3_column_int64(st, 2);
		p.added_ns = sqlite3_column_int64(st, 3);
		p.mtime_ns = sqlite3_column_int64(st, 4);
		if ((ret = fn(ctx, &p))) {
			mlv_db_reset(st);
			return ret;
		}
	}
	return ret;
}

int mlv_index_relocate_object(struct mlv_index *ix, int64_t from_pack, int64_t to_pack,
			      const struct mlv_pack_entry *e)
{
	sqlite3_stmt *st = mlv_db_stmt(ix->db, SQL_OBJ_RELOCATE);

	if (!st)
		return mlv_error_last_code();
	sqlite3_bind_blob(st, 1, e->id.id, MLV_OID_RAWSZ, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, to_pack);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)e->offset);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)e->stored_len);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)e->raw_len);
	sqlite3_bind_int(st, 6, e->type);
	sqlite3_bind_int(st, 7, e->comp);
	sqlite3_bind_int64(st, 8, from_pack);
	return mlv_db_run(ix->db, st, "cannot move object");
}

int mlv_index_durable(struct mlv_index *ix)
{
	return mlv_db_exec(ix->db, "PRAGMA synchronous = FULL");
}
