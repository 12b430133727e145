#ifndef MLV_TREEDIFF_H
#define MLV_TREEDIFF_H

/* mlv-layer: store */
#pragma GCC visibility push(default)

#include <stdint.h>
#include "oid.h"
#include "store.h"

/*
 * Diff two stored trees (the trees of a tracked directory at two
 * versions), reading tree objects only, never file data.
 *
 * The walk descends both trees side by side, entries by name bytes, and
 * enters a subdirectory only when its ids differ on the two sides: an
 * unchanged subtree is skipped without being read, so diffing two
 * versions of a million-file dataset that differ in a few files reads the
 * trees on those files' paths and nothing else.
 *
 * Changes are reported for files (regular, executable and symlinks), not
 * for directories: a directory that appears or disappears shows as its
 * files added or removed (an empty directory shows as nothing), and a file
 * replaced by a directory (or the reverse) is the file removed and the
 * directory's files added, as git shows it.
 *
 *	'A'  added          only the new side (old_mode 0)
 *	'D'  deleted        only the old side (new_mode 0)
 *	'M'  modified       both sides, ids or executable bit differ
 *	'T'  type changed   a file became a symlink or the reverse
 *	'R'  renamed        a file deleted at old_path and one with the same
 *	                    id (and both symlinks, or both files) added at
 *	                    path; the mode may differ.  Empty files are never
 *	                    paired.  Pairing is deterministic: within each
 *	                    id, deletions and additions with the same base
 *	                    name pair first, then the rest in path order.
 *	'!'  missing        a tree object that is not in the store (only
 *	                    with MLV_TREE_DIFF_MISSING_OK): path is the
 *	                    directory, old_oid or new_oid (the side whose
 *	                    mode is MLV_MODE_DIR) names the object, and
 *	                    nothing below it is reported.
 *
 * Paths are `base` (may be "" or NULL) joined with the path inside the
 * trees by "/".  Changes come in tree order (depth first, entries by
 * name bytes); a rename comes where its new path does.
 *
 * Trees are hostile input: depth is bounded by MLV_TREE_DEPTH_MAX and
 * the entries visited (compared on both sides, or below a subtree present
 * on one side only; a subtree shared by several entries counts each time
 * it is reached) by opts->limit (default MLV_TREE_VISIT_MAX).  What the
 * walk would visit is counted first without walking it (each distinct
 * pair of old and new subtree ids is read and counted once, so a small
 * tree naming 2^40 files through shared subtrees is refused at once), and
 * passing a bound is MLV_EINVALID naming the tree ("diff of tree '<base>'
 * (<id>): more than <limit> entries to compare"), before the callback
 * sees anything.  Trees read by the count are kept for the walk (up to
 * about a million entries), so it reads nothing twice.  A tree
 * object not in the store is, without MLV_TREE_DIFF_MISSING_OK,
 * MLV_ENOTFOUND "tree <id> for '<path>' is not in the store"; a damaged
 * one is MLV_ECORRUPT naming it.
 */
struct mlv_tree_change {
	int kind;             /* 'A', 'D', 'M', 'T', 'R', '!' */
	const char *path;     /* the new path (the old one for 'D') */
	const char *old_path; /* 'R': the path it had; otherwise == path */
	uint32_t old_mode, new_mode; /* MLV_MODE_*, 0 for the side without it */
	uint64_t old_size, new_size; /* 0 for the side without it */
	struct mlv_oid old_oid, new_oid; /* zero for the side without it */
};

/* Non-zero stops the diff and is returned by it. */
typedef int (*mlv_tree_diff_fn)(void *ctx, const struct mlv_tree_change *c);

#define MLV_TREE_DIFF_NO_RENAMES 1u  /* report renames as 'D' and 'A' */
#define MLV_TREE_DIFF_MISSING_OK 2u  /* a missing tree is a '!' change, not an error */

struct mlv_tree_diff_opts {
	unsigned flags;      /* MLV_TREE_DIFF_* */
	/*
	 * NULL or "": everything.  Otherwise a path relative to the trees'
	 * root: only changes at or below it are reported, and only the
	 * subtrees on the way to it are read.
	 */
	const char *within;
	uint64_t limit;      /* most entries visited; 0: MLV_TREE_VISIT_MAX */
	/*
	 * Rename detection gathers the changes before pairing them: at most
	 * this many (0: MLV_TREE_DIFF_RENAME_MAX).  Past it the diff goes on
	 * without renames -- the changes gathered, then the rest, come in tree
	 * order as with MLV_TREE_DIFF_NO_RENAMES -- and, when not NULL,
	 * *renames_skipped is set to 1 (it is set to 0 otherwise), so that
	 * the caller can say so ("rename detection skipped: more than N
	 * changes").
	 */
	size_t rename_limit;
	int *renames_skipped;
};
#define MLV_TREE_DIFF_OPTS_INIT { 0, NULL, 0, 0, NULL }
#define MLV_TREE_DIFF_RENAME_MAX ((size_t)1 << 20)

/*
 * Diff tree `old_tree` against `new_tree` (either may be NULL: an empty
 * tree, so that every file of the other is added or deleted).  Equal ids
 * report nothing and read nothing.  Returns 0, a callback's non-zero
 * value, or an MLV_E* code with a message.
 */
int mlv_tree_diff(struct mlv_store *s, const struct mlv_oid *old_tree,
		  const struct mlv_oid *new_tree, const char *base, mlv_tree_diff_fn fn, void *ctx);
int mlv_tree_diff_ext(struct mlv_store *s, const struct mlv_oid *old_tree,
		      const struct mlv_oid *new_tree, const char *base,
		      const struct mlv_tree_diff_opts *opts, mlv_tree_diff_fn fn, void *ctx);

/*
 * Totals of a diff, for `diff --stat` and `log --stat`: add each change
 * with mlv_tree_diff_stat_add().  A rename counts in `renamed` only;
 * `bytes_added`/`bytes_removed` sum the sizes that appear and disappear
 * (a modified file adds its new size and removes its old one; a rename
 * whose size is unchanged adds nothing).
 */
struct mlv_tree_diff_stat {
	uint64_t added, deleted, modified, renamed, missing;
	uint64_t bytes_added, bytes_removed;
};
void mlv_tree_diff_stat_add(struct mlv_tree_diff_stat *st, const struct mlv_tree_change *c);

#pragma GCC visibility pop

#endif
