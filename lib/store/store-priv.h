#ifndef MLV_STORE_PRIV_H
#define MLV_STORE_PRIV_H

#include <dirent.h>

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
	char *lockpath; /* <dir>/index.lck */
	char *sclockpath; /* beside the stat cache: statcache.lck */
	int dirfd;      /* <dir>, opened without following a symlink */
	int lockfd;     /* <dir>/index.lck (see mlv_store_lock()) */
	int sclockfd;   /* statcache.lck, or -1 */
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
 * Only while no other process has the index open (MLV_STORE_LOCK_OPEN):
 * MLV_ECONFLICT otherwise, and nothing is moved.
 */
int mlv_store_index_reset(struct mlv_store *s);

/*
 * Who may do what to the files of the store.  A database file that another
 * process holds open is never removed, renamed or replaced under it, and a
 * pack between its rename into packs/ and the commit of its rows is never
 * mistaken for an orphan.  Two open-file-description locks (fcntl(2)
 * F_OFD_SETLK: no close() elsewhere in the process drops them) on bytes of
 * a lock file that is never removed:
 *
 *   <dir>/index.lck, byte MLV_STORE_LOCK_OPEN: shared by every store
 *	handle for its whole life; exclusive only to remove or move aside
 *	index.db (fsck --repair, a rebuild by migration).
 *   <dir>/index.lck, byte MLV_STORE_LOCK_PUBLISH: shared by a writer from
 *	the rename of its first pack until its rows are committed (writers
 *	do not exclude each other); exclusive for a look at the packs and
 *	the index with no publication half done.
 *   statcache.lck (beside statcache.db), byte MLV_STORE_LOCK_OPEN: the
 *	same as the index's, for the stat cache.
 */
#define MLV_STORE_LOCK_OPEN 0
#define MLV_STORE_LOCK_PUBLISH 1
/* How long a lock is waited for before the caller is told it is busy. */
#define MLV_STORE_LOCK_WAIT_MS 10000
/* For the index to oneself: others may hold it for as long as they run. */
#define MLV_STORE_ALONE_WAIT_MS 2000
/*
 * Set lock `type` (F_RDLCK, F_WRLCK, F_UNLCK) on `byte` of the lock file
 * open on `fd` (`path` for messages), waiting up to `wait_ms`: 0 done,
 * 1 busy (no error set), <0 error.
 */
int mlv_store_lock_fd(int fd, const char *path, int byte, short type, int wait_ms);
int mlv_store_lock(struct mlv_store *s, int byte, short type, int wait_ms);
/* Open (creating) lock file `name` in `dirfd` (`path` for messages), never through a symlink. */
int mlv_store_lock_open(int dirfd, const char *name, const char *path);

/*
 * Put right what a killed writer left (lib/store/heal.c): abandoned
 * temporary packs are removed, packs in packs/ that the index does not
 * name and that no live writer is publishing are verified and indexed.
 * Cheap when there is nothing to do: one readdir of packs/, one query.
 */
int mlv_store_heal(struct mlv_store *s);

/*
 * For gc (index.c): every object row with its used_ns; every pack row
 * with the times gc's grace period counts from; move the row of `e->id`
 * to `to_pack` only while it still names `from_pack` (its used_ns kept);
 * make every later commit of this connection durable (synchronous FULL)
 * before files it no longer names are removed.
 */
int mlv_index_for_each_object_used(struct mlv_index *ix,
				   int (*fn)(void *ctx, int64_t pack_id, const struct mlv_pack_entry *e,
					     int64_t used_ns),
				   void *ctx);
struct mlv_index_pack_times {
	int64_t id;
	const char *name;
	uint64_t size;
	int64_t added_ns, mtime_ns;
};
int mlv_index_for_each_pack_times(struct mlv_index *ix,
				  int (*fn)(void *ctx, const struct mlv_index_pack_times *p),
				  void *ctx);
int mlv_index_relocate_object(struct mlv_index *ix, int64_t from_pack, int64_t to_pack,
			      const struct mlv_pack_entry *e);
int mlv_index_durable(struct mlv_index *ix);

/*
 * Byte MLV_STORE_LOCK_GC of index.lck: held exclusively by mlv gc for its
 * whole run (one gc at a time).  A process opening the store while gc
 * holds MLV_STORE_LOCK_OPEN exclusively keeps waiting as long as this
 * byte is held: gc ends, and the command then runs.
 */
#define MLV_STORE_LOCK_GC 2
/* 1 when another open file description holds `byte` of the lock file open on `fd`. */
int mlv_store_lock_held(int fd, int byte);
/*
 * Describe the processes (other than this one) that have the lock file
 * open on `fd` open: "process 123 (mlv add big)", comma separated, into
 * `out` (empty when none can be seen).  From /proc; best effort.
 */
void mlv_store_lock_holders(struct mlv_buf *out, int fd);

void mlv_statcache_mem_free(struct mlv_statcache_mem *m);
/* Open s->sc_db (s->scpath) under s->sclockpath; a damaged cache is started again. */
int mlv_statcache_open(struct mlv_store *s);

/*
 * A listing of packs/ from its start, on a descriptor of its own (closedir()
 * it); NULL with the error set.
 */
DIR *mlv_store_packs_dir(struct mlv_store *s);

#endif
