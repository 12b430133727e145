#ifndef MLV_STORE_PRIV_H
#define MLV_STORE_PRIV_H

#include "mlv/store.h"
#include "store/db.h"
#include "store/index.h"
#include "store/pack.h"

/* Private to the store's files: store.c, writer.c, statcache.c, fsck.c. */

#define MLV_PACK_FD_CACHE 16

struct mlv_pack_fd {
	int64_t pack_id; /* 0: free slot */
	unsigned long used;
	struct mlv_pack_file pf;
};

/* Whether a pack's file is still what was indexed (see pack_trusted() in store.c). */
struct mlv_pack_trust {
	int64_t pack_id;
	int trusted;
};

struct mlv_statcache_mem;

struct mlv_store {
	char *dir;      /* $GIT_COMMON_DIR/mlv */
	char *packdir;  /* <dir>/packs */
	char *dbpath;   /* <dir>/index.db */
	char *scpath;   /* $GIT_DIR/mlv/statcache.db */
	int dirfd;      /* <dir>, opened without following a symlink */
	int packfd;     /* <dir>/packs, likewise */
	unsigned flags;
	struct mlv_index *ix;
	struct mlv_db *sc_db;
	char *index_aside; /* where a damaged index was moved (MLV_STORE_REBUILD) */
	int index_fresh;   /* the index was started afresh: fsck --repair fills it */
	struct mlv_pack_fd fds[MLV_PACK_FD_CACHE];
	unsigned long tick;
	struct mlv_pack_trust *trust;
	size_t ntrust, trust_alloc;
	struct mlv_pack_reader rd;
	struct mlv_hash blob_hash;
	struct mlv_buf chunk_buf;
	struct mlv_buf recipe_buf;
	struct mlv_statcache_mem *sc;
};

/* Open (or reuse) the pack `name`; the result stays valid until the next call. */
int mlv_store_pack_get(struct mlv_store *s, int64_t pack_id, const char *name,
		       const struct mlv_pack_file **out);
/* Open a pack file read-only, never through a symlink; an fd or <0. */
int mlv_store_pack_open(struct mlv_store *s, const char *name, struct mlv_pack_file *out);
/* Close the cached fd of pack `name` (replaced by a new file of that name); forget trust. */
void mlv_store_pack_forget(struct mlv_store *s, const char *name);
/* Close every cached pack fd (before fsck rewrites packs); forget trust. */
void mlv_store_pack_close_all(struct mlv_store *s);
/* The pack file's mtime in nanoseconds (its signature, with the size). */
int64_t mlv_store_mtime_ns(const struct stat *st);
/*
 * Move a damaged index.db (and its -wal, -shm) aside to
 * index.db.broken-<ns> and open an empty one; s->index_aside names it.
 */
int mlv_store_index_reset(struct mlv_store *s);

void mlv_statcache_mem_free(struct mlv_statcache_mem *m);
int mlv_statcache_open(struct mlv_db **out, const char *path);

#endif
