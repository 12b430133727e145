#ifndef MLV_INDEX_H
#define MLV_INDEX_H

#include <sqlite3.h>
#include <stdint.h>

#include "mlv/oid.h"
#include "store/pack.h"

/*
 * The SQLite index, <mlvdir>/index.db (schema in mlv-formats(5)).  One
 * struct mlv_index is one connection, used by one thread at a time.
 * Statements are prepared once per connection and cached.  To change the
 * schema, append a step to migrations[] in index.c: user_version counts
 * the steps applied.
 */
enum mlv_sql {
	MLV_SQL_OBJ_LOOKUP,
	MLV_SQL_OBJ_HAS,
	MLV_SQL_OBJ_INSERT,
	MLV_SQL_OBJ_PREFIX,
	MLV_SQL_OBJ_DELETE,
	MLV_SQL_OBJ_ALL,
	MLV_SQL_PACK_INSERT,
	MLV_SQL_PACK_ID,
	MLV_SQL_PACK_ALL,
	MLV_SQL_PACK_DELETE,
	MLV_SQL_OBJ_DELETE_PACK,
	MLV_SQL_OBJ_DELETE_AT,
	MLV_SQL_STAT_LOOKUP,
	MLV_SQL_STAT_PUT,
	MLV_SQL_STAT_DELETE,
	MLV_SQL_STAT_PREFIX,
	MLV_SQL_STAT_RENAME,
	MLV_SQL__COUNT
};

struct mlv_index {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[MLV_SQL__COUNT];
};

int mlv_index_open(struct mlv_index **out, const char *path);
void mlv_index_free(struct mlv_index *ix);

/* The cached statement, reset and with bindings cleared; NULL with the error set on failure. */
sqlite3_stmt *mlv_index_stmt(struct mlv_index *ix, enum mlv_sql which);
/* Set the error message for a failed SQLite call; returns an MLV_E* code. */
int mlv_index_error(struct mlv_index *ix, int rc, const char *what);
int mlv_index_exec(struct mlv_index *ix, const char *sql);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int mlv_index_begin(struct mlv_index *ix);
int mlv_index_commit(struct mlv_index *ix);
void mlv_index_rollback(struct mlv_index *ix);
int mlv_index_in_transaction(struct mlv_index *ix);

struct mlv_index_obj {
	int64_t pack_id;
	char pack[MLV_PACK_NAME_MAX]; /* "" when the pack row is missing */
	uint64_t offset, stored_len, raw_len;
	int type, comp;
};

/* 1 and `out` filled when found, 0 when not, <0 on error. */
int mlv_index_lookup(struct mlv_index *ix, const struct mlv_oid *id, struct mlv_index_obj *out);
int mlv_index_has(struct mlv_index *ix, const struct mlv_oid *id);

/* Record a published pack and its objects (inside a transaction the caller holds). */
int mlv_index_add_pack(struct mlv_index *ix, const char *name, uint64_t size, uint64_t count,
		       int64_t *id_out);
int mlv_index_add_object(struct mlv_index *ix, int64_t pack_id, const struct mlv_pack_entry *e);

#endif
