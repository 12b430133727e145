#ifndef MLV_TREEMERGE_H
#define MLV_TREEMERGE_H

/* mlv-layer: store */
#pragma GCC visibility push(default)

#include <stdint.h>
#include "oid.h"
#include "store.h"

/*
 * Three-way merge of stored trees: the versions of a tracked directory at
 * the merge base and on the two sides of a git merge.
 *
 * The walk goes down the three trees side by side, entries by name bytes,
 * and looks at an entry only where its versions differ: where two of the
 * three are identical (same mode and id), the result is decided without
 * reading anything below it -- unchanged on one side takes the other
 * side's version whole; changed the same way on both takes it once.  Only
 * a directory changed differently on both sides is read and merged entry
 * by entry.  A directory deleted on one side and changed on the other is
 * merged against an empty tree (the deletions the other side did not
 * touch go through, its changes there conflict with the deletion), and
 * left out when nothing remains in it.
 *
 * An entry (file, executable, symlink or directory) changed two
 * different ways is a conflict:
 *
 *	both modified        both sides changed it, to different ids or modes
 *	added/added          both sides added it, with different content
 *	modify/delete        one side deleted it, the other changed it
 *	type change          a file on one side, a directory (or a symlink)
 *	                     on the other, where the base had something else
 *
 * With MLV_MERGE_FAVOR_NONE each conflict is reported and the result
 * holds ours' version there (the result is then only for inspection);
 * with MLV_MERGE_FAVOR_OURS or _THEIRS, the conflicts are still reported
 * but resolved by taking that side's version of each conflicting entry
 * (a deletion included), while every change that did not conflict, of
 * either side, is kept.
 *
 * The merged trees are written with `w` (the caller commits it, or frees
 * it to drop them).  Each directory entry's size is the total bytes below
 * it, as mlv add writes it.  Every object the result takes from theirs
 * (where it differs from ours) must be in the store: MLV_ENOTFOUND
 * otherwise, naming the path, the side and the object.  A tree object
 * that must be read and is not in the store is MLV_ENOTFOUND "tree <id>
 * ('<path>' in <side>) is not in the store".
 *
 * Trees are hostile input: depth is bounded by MLV_TREE_DEPTH_MAX, and
 * the entries compared in the whole merge (files counted below a
 * subtree whose count is needed, see files_delta) by MLV_TREE_VISIT_MAX
 * (MLV_EINVALID naming the tree).
 */
enum mlv_merge_favor {
	MLV_MERGE_FAVOR_NONE = 0,
	MLV_MERGE_FAVOR_OURS,
	MLV_MERGE_FAVOR_THEIRS,
};

/* What one side did to an entry, compared with the base. */
enum mlv_merge_change {
	MLV_MERGE_UNCHANGED = 0,
	MLV_MERGE_ADDED,
	MLV_MERGE_DELETED,
	MLV_MERGE_MODIFIED,
	MLV_MERGE_TYPECHANGE, /* file, symlink and directory are the types */
};

struct mlv_merge_version {
	uint32_t mode; /* MLV_MODE_*, 0 when that side has no entry there */
	uint64_t size;
	struct mlv_oid oid;
};

struct mlv_merge_conflict {
	char *path; /* below the merged tree's root ("cat/001.jpg"), "" for the root itself */
	enum mlv_merge_change ours, theirs;
	struct mlv_merge_version base_v, ours_v, theirs_v;
};

/*
 * The conflicts, in tree order.  A subtree shared by several entries
 * (the same id at several paths) has its conflicts listed at each path,
 * so a small hostile tree can name millions: the list holds the first
 * MLV_MERGE_CONFLICTS_MAX, and `omitted` counts the ones found after
 * them (a caller lists the items, then says "... and <omitted> more
 * conflicts").
 */
struct mlv_merge_conflicts {
	struct mlv_merge_conflict *items;
	size_t nr, alloc;
	uint64_t omitted;
};
#define MLV_MERGE_CONFLICTS_INIT { NULL, 0, 0, 0 }
#define MLV_MERGE_CONFLICTS_MAX ((size_t)100000)
void mlv_merge_conflicts_release(struct mlv_merge_conflicts *c);

/* "modified", "added", "deleted", "type change", "unchanged". */
const char *mlv_merge_change_name(enum mlv_merge_change c);

struct mlv_tree_merge_result {
	struct mlv_oid oid; /* the merged tree (written with `w`) */
	uint64_t size;      /* total bytes of the files below it */
	/*
	 * Files (non-directory entries) in the merged tree minus those in
	 * ours: computed from the parts that differ only (a subtree taken
	 * from theirs is diffed against ours' version, reading only where
	 * they differ; one new on a side is counted with mlv_tree_count()).
	 * A directory pointer's `files` is ours' count plus this.
	 */
	int64_t files_delta;
	struct mlv_merge_conflicts conflicts;
};
#define MLV_TREE_MERGE_RESULT_INIT { { { 0 } }, 0, 0, MLV_MERGE_CONFLICTS_INIT }
void mlv_tree_merge_result_release(struct mlv_tree_merge_result *r);

/*
 * Merge trees `base`, `ours` and `theirs` (`base` may be NULL: no common
 * version, so that every entry present on both sides was added on both;
 * `ours` and `theirs` must be trees).  `what` names the merged directory
 * in messages (e.g. "data").  0 and `out` filled (conflicts included);
 * an MLV_E* code with a message otherwise (then `out` holds nothing to
 * use, but must still be released).
 */
int mlv_tree_merge(struct mlv_store *s, struct mlv_store_writer *w, const struct mlv_oid *base,
		   const struct mlv_oid *ours, const struct mlv_oid *theirs, const char *what,
		   enum mlv_merge_favor favor, struct mlv_tree_merge_result *out);

#pragma GCC visibility pop

#endif
