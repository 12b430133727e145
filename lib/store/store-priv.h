#ifndef MLV_STORE_PRIV_H
#define MLV_STORE_PRIV_H

#include "mlv/store.h"
#include "store/index.h"
#include "store/pack.h"

/* Private to the store's files: store.c, writer.c, statcache.c, fsck.c. */

#define MLV_PACK_FD_CACHE 16

struct mlv_pack_fd {
	int64_t pack_id; /* 0: free slot */
	unsigned long used;
	struct mlv_pack_file pf;
};

struct mlv_statcache_mem;

struct mlv_store {
	char *mlvdir;
	char *packdir;
	char *dbpath;
	struct mlv_index *ix;
	struct mlv_pack_fd fds[MLV_PACK_FD_CACHE];
	unsigned long tick;
	struct mlv_pack_reader rd;
	struct mlv_hash blob_hash;
	struct mlv_buf chunk_buf;
	struct mlv_buf recipe_buf;
	struct mlv_statcache_mem *sc;
};

/* Open (or reuse) the pack `name`; the result stays valid until the next call. */
int mlv_store_pack_get(struct mlv_store *s, int64_t pack_id, const char *name,
		       const struct mlv_pack_file **out);
/* Close every cached pack fd (before fsck rewrites packs). */
void mlv_store_pack_close_all(struct mlv_store *s);
void mlv_statcache_mem_free(struct mlv_statcache_mem *m);

#endif
