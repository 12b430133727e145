#ifndef MLV_SCAN_H
#define MLV_SCAN_H

/*
 * Walking a tracked path in the work tree: ids for files (from the stat
 * cache, or by reading them), tree objects for directories, and optionally
 * a diff against a stored tree.  Shared by add (with a writer), status and
 * hash (without).
 */
#include <sys/stat.h>

#include "util/dirlist.h"
#include "mlv/store.h"
#include "mlv/tree.h"
#include "mlv/worktree.h"

struct scan_cache_update {
	char *path;
	struct mlv_stat st;
	struct mlv_oid id;
	int64_t recorded_ns;
};

struct scan {
	int topfd;                       /* paths are relative to this directory */
	struct mlv_store *store;         /* stat cache and stored trees; may be NULL */
	struct mlv_store_writer *writer; /* NULL: compute ids without storing */
	const struct mlv_wt_callbacks *cb;
	const char *artifact;            /* reported with changes */
	int diff;                        /* report changes to cb->change */
	struct dirlist *prefetch;        /* directory listings made in advance, or NULL */

	struct scan_cache_update *updates;
	size_t nr_updates, alloc_updates;
	uint64_t files, bytes;

	/*
	 * Store what symlinks point to instead of the links (add
	 * --dereference).  The directories being walked, to catch a link
	 * that leads back to one of them.
	 */
	int dereference;
	/*
	 * Ids from the stat cache only: a file the cache does not vouch for
	 * is not read, and the scan fails with MLV_ENOTFOUND (no message).
	 */
	int cached_only;
	struct scan_dirid { dev_t dev; ino_t ino; } *walking;
	size_t depth, alloc_walking;
};

/* Deepest directory nesting a scan walks (each level costs a descriptor). */
#define SCAN_MAX_DEPTH 512

void scan_init(struct scan *s, int topfd, struct mlv_store *store, struct mlv_store_writer *w,
	       const struct mlv_wt_callbacks *cb);
void scan_release(struct scan *s);

/*
 * Why the entry `name` at `path` inside tracked directory `root` is not
 * tracked (special files, names like .git, mlv's own temporary files), or
 * NULL when it is.  Every symlink is tracked, wherever it points.  add
 * skips such entries, and checkout leaves them be.  `root` and `path` are
 * no longer used.
 */
const char *scan_untrackable(const char *root, const char *path, const char *name,
			     const struct stat *st);

/*
 * The blob id of a regular file or symlink at `path` (below s->topfd,
 * never through a symlink), described by `st` (its lstat, or with
 * s->dereference and a symlink, the stat of what it points to).
 */
int scan_file(struct scan *s, const char *path, const struct stat *st, struct mlv_oid *out);

/*
 * The same, with the size of what was hashed in `size` (0 for a symlink).
 * A regular file that changes while it is read (size, mtime or ctime
 * differ before and after, or the bytes read are not its size) is read
 * again once, then refused: MLV_ECONFLICT "'<path>' changed while reading".
 */
int scan_file_size(struct scan *s, const char *path, const struct stat *st,
		   struct mlv_oid *out, uint64_t *size);


/*
 * The tree id of directory `path` (below s->topfd, never through a
 * symlink; "" is s->topfd itself).  With s->diff, changes against `stored`
 * (NULL: everything counts as added) are reported.  `root` is the
 * artifact's own path.  Entries named MLV_TEMP_PREFIX... are never
 * recorded; other untrackable entries are skipped with a warning.
 */
int scan_dir(struct scan *s, const char *root, const char *path, const struct mlv_oid *stored,
	     struct mlv_oid *out, uint64_t *size, uint64_t *files);

/*
 * Prepare to walk directory `root`: list it and everything below it with
 * `threads` background threads (1: no listing in advance), and load its
 * stat cache entries meanwhile.  scan_release() frees the listings.
 */
void scan_prefetch(struct scan *s, const char *root, int threads);

/* Threads worth using: the online CPUs, at most 8. */
int scan_default_threads(void);

/* Write the collected stat cache updates in one transaction. */
int scan_flush_cache(struct scan *s);

/* Report every file of stored tree `tree` under `path` as change `what`. */
int scan_report_tree(struct scan *s, const struct mlv_oid *tree, const char *path, int what);

#endif
