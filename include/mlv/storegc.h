#ifndef MLV_STOREGC_H
#define MLV_STOREGC_H

/* mlv-layer: store */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <stdint.h>
#include "oid.h"
#include "store.h"

/*
 * Garbage collection of the store: what the store itself knows.  Which
 * objects are wanted (pointers in git history, work trees, indexes) is
 * decided above (mlv/gc.h); here the named objects are expanded (trees to
 * their entries, recipes to their chunks), everything else that is older
 * than the grace period is dropped, and packs are removed or repacked.
 */

/* A set of object ids. */
struct mlv_oidset;
struct mlv_oidset *mlv_oidset_new(void);
void mlv_oidset_free(struct mlv_oidset *set);
/* 1 when `id` was added, 0 when it was already there. */
int mlv_oidset_add(struct mlv_oidset *set, const struct mlv_oid *id);
int mlv_oidset_has(const struct mlv_oidset *set, const struct mlv_oid *id);
size_t mlv_oidset_count(const struct mlv_oidset *set);

/*
 * Take the store to oneself for gc: byte 2 of index.lck exclusively (one
 * gc at a time: MLV_ECONFLICT naming the other gc's process at once),
 * then the open lock exclusively, waiting up to `wait_ms` for the other
 * mlv processes that have the store open to finish (`waiting`, nullable,
 * is told once whom it waits for); MLV_ECONFLICT naming them when they do
 * not.  While it is held, every other process that opens the store waits
 * for gc to end instead of failing after its usual wait.  Then what a
 * killed writer left is healed (mlv_store_open()), so that every pack
 * that is there is indexed.  mlv_store_gc_unlock() shares the store again.
 */
int mlv_store_gc_lock(struct mlv_store *s, int wait_ms,
		      void (*waiting)(void *ctx, const char *who), void *ctx);
void mlv_store_gc_unlock(struct mlv_store *s);

/*
 * Add the object ids that stat cache `path` (a worktree's
 * $GIT_DIR/mlv/statcache.db) vouches for to `roots`: with `topfd` (that
 * worktree's top directory, or -1 for every entry), only the entries
 * whose file is still there with the size, mtime and inode recorded (a
 * file since removed or changed no longer holds that content).  Read
 * only, never through a symlink (`path` nor its directory).  A missing or
 * unreadable cache adds nothing (it is only a cache): 0; <0 only for a
 * symlink.
 */
int mlv_store_gc_statcache_roots(struct mlv_oidset *roots, const char *path, int topfd);

/* What gc reports, one call per pack or object (nullable). */
enum mlv_gc_item {
	MLV_GC_OBJECT = 1, /* an object removed (dry run: that would be) */
	MLV_GC_PACK_REMOVED,
	MLV_GC_PACK_REPACKED,
	MLV_GC_PACK_WRITTEN,
};
typedef void (*mlv_gc_item_fn)(void *ctx, enum mlv_gc_item what, const char *name,
			       enum mlv_object_type type, uint64_t bytes);

struct mlv_store_gc_opts {
	/* Objects used (written or reused by add) at or after this time are kept. */
	int64_t expire_ns;
	int dry_run;
	/* Repack a pack when more than this percentage of its bytes is dead (0: 50). */
	unsigned repack_percent;
	mlv_gc_item_fn item;
	void *ctx;
};

struct mlv_store_gc_stats {
	uint64_t objects;          /* rows in the index */
	uint64_t objects_live;     /* reachable from the roots */
	uint64_t objects_young;    /* kept only by the grace period */
	uint64_t objects_removed;
	uint64_t objects_left;     /* unreachable, left in packs that are mostly live */
	uint64_t packs;
	uint64_t packs_removed;    /* every object dead */
	uint64_t packs_repacked;   /* mostly dead: live records copied, pack removed */
	uint64_t packs_written;
	uint64_t bytes_before;     /* pack bytes before */
	uint64_t bytes_after;
	uint64_t bytes_freed;
};

/*
 * Collect the store: keep the objects of `roots` and everything they name
 * (an id not in the store is ignored), and every object younger than
 * o->expire_ns with what it names.  Packs whose indexed objects are all
 * unreachable are removed; packs mostly unreachable are repacked: their
 * live records are copied (each verified as it is read) into new packs,
 * which are sealed, fsynced, renamed and read back before index rows move
 * to them.  Index rows go in one durable transaction before the files
 * they named are removed, so that a kill at any moment leaves a store
 * that fsck passes, with every live object indexed (a pack left without
 * rows is indexed again by the next command, mlv_store_open()).
 *
 * A tree or recipe that must be expanded and cannot be read is
 * MLV_ECORRUPT naming it before anything is removed.  With o->dry_run
 * nothing changes and the stats say what would go.  The caller holds
 * mlv_store_gc_lock() (except for a dry run).
 */
int mlv_store_gc(struct mlv_store *s, const struct mlv_oidset *roots,
		 const struct mlv_store_gc_opts *o, struct mlv_store_gc_stats *stats);

#pragma GCC visibility pop

#endif
