#ifndef MLV_INDEX_H
#define MLV_INDEX_H

#include <stdint.h>

#include "mlv/oid.h"
#include "store/db.h"
#include "store/pack.h"

/*
 * The SQLite index, $GIT_COMMON_DIR/mlv/index.db: the objects and packs
 * tables (schema in mlv-formats(5)).  This module owns their statements;
 * one struct mlv_index is one connection, used by one thread at a time.
 * To change the schema, append a step to migrations[] in index.c.
 */
struct mlv_index {
	struct mlv_db *db;
	char *path;
};

/* `created_out` (nullable): the index was new or empty. */
int mlv_index_open(struct mlv_index **out, const char *path, int *created_out);
void mlv_index_free(struct mlv_index *ix);

/* Transactions (BEGIN IMMEDIATE / COMMIT / ROLLBACK). */
int mlv_index_begin(struct mlv_index *ix);
int mlv_index_commit(struct mlv_index *ix);
void mlv_index_rollback(struct mlv_index *ix);
int mlv_index_in_transaction(struct mlv_index *ix);

struct mlv_index_obj {
	int64_t pack_id;
	char pack[MLV_PACK_NAME_MAX]; /* "" when the pack row is missing */
	uint64_t offset, stored_len, raw_len;
	int type, comp;
	/* the pack's row: when it was indexed, its size and mtime then (0: unknown) */
	int64_t pack_added_ns, pack_mtime_ns;
	uint64_t pack_size;
};

/* 1 and `out` filled when found, 0 when not, <0 on error. */
int mlv_index_lookup(struct mlv_index *ix, const struct mlv_oid *id, struct mlv_index_obj *out);
int mlv_index_has(struct mlv_index *ix, const struct mlv_oid *id);

/*
 * Up to two ids in [lo, hi] (raw bytes); `*nr_out` says how many.
 */
int mlv_index_prefix(struct mlv_index *ix, const unsigned char *lo, const unsigned char *hi,
		     struct mlv_oid out[2], int *nr_out);

/*
 * Record a published pack (inside a transaction the caller holds).
 * `mtime_ns` is the pack file's mtime as written (its signature, with
 * `size`: a pack whose file changed since is verified before it is
 * trusted).
 */
int mlv_index_add_pack(struct mlv_index *ix, const char *name, uint64_t size, uint64_t count,
		       int64_t mtime_ns, int64_t *id_out);
/* 1 and `id_out` (nullable) set when pack `name` has a row, 0 when not, <0 error. */
int mlv_index_find_pack(struct mlv_index *ix, const char *name, int64_t *id_out);
/* Record the signature of a pack verified intact (fsck). */
int mlv_index_set_pack_signature(struct mlv_index *ix, int64_t pack_id, uint64_t size,
				 int64_t mtime_ns);
/*
 * Index an object in a pack.  mlv_index_add_object() never moves an
 * existing row (an object stays where it was found first);
 * mlv_index_move_object() does, and is only for a copy the caller has
 * read back and verified, replacing a row whose copy is bad or gone.
 */
int mlv_index_add_object(struct mlv_index *ix, int64_t pack_id, const struct mlv_pack_entry *e);
int mlv_index_move_object(struct mlv_index *ix, int64_t pack_id, const struct mlv_pack_entry *e);
/* The object was reused by add: its used_ns becomes `now_ns` (gc's grace period). */
int mlv_index_touch_object(struct mlv_index *ix, const struct mlv_oid *id, int64_t now_ns);
int mlv_index_delete_object_at(struct mlv_index *ix, const struct mlv_oid *id, int64_t pack_id);
/* Delete a pack's row and all the object rows pointing at it. */
int mlv_index_delete_pack(struct mlv_index *ix, int64_t pack_id);

/* Every pack row, in id order; a non-zero return from `fn` stops and is returned. */
struct mlv_index_pack {
	int64_t id;
	const char *name;
	uint64_t size;
};
int mlv_index_for_each_pack(struct mlv_index *ix,
			    int (*fn)(void *ctx, const struct mlv_index_pack *p), void *ctx);
/* Every object row (`e->offset` etc. from the row; pack id separately). */
int mlv_index_for_each_object(struct mlv_index *ix,
			      int (*fn)(void *ctx, int64_t pack_id, const struct mlv_pack_entry *e),
			      void *ctx);

int mlv_index_quick_check(struct mlv_index *ix, void (*fn)(void *ctx, const char *msg), void *ctx);

#endif
