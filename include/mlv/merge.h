#ifndef MLV_MERGE_H
#define MLV_MERGE_H

/* mlv-layer: history */
#pragma GCC visibility push(default)

#include "pointer.h"
#include "repo.h"
#include "treemerge.h"

/*
 * Three-way merge of pointer files: what `mlv merge-driver` does for git,
 * and what `mlv checkout --ours/--theirs` does after a conflict.
 *
 * A side that left the pointer as the base had it (same oid, type, exec
 * bit, kind and unknown keys) gives way to the other; two sides that
 * agree give that version.  Otherwise each part merges on its own:
 *
 *	data     the same id, or one side unchanged: that id.  Directories on
 *	         both sides: their trees merge (mlv/treemerge.h), with the
 *	         base's tree when the base was a directory too, else as
 *	         added on both sides.  Anything else (a file changed two
 *	         ways, a file on one side and a directory on the other) is a
 *	         conflict of the whole artifact (conflict path "").
 *	kind     one side unchanged: the other; changed two ways: a conflict.
 *	unknown  the same, for the unknown key lines as a whole.
 *
 * The merged pointer's size is the merged tree's, its file count ours'
 * plus the merge's files_delta (so a wrong count in ours' pointer stays
 * wrong; fsck finds it).
 */
struct mlv_pointer_merge {
	struct mlv_pointer result; /* the merged pointer; ours' data where conflicted */
	/*
	 * Conflicts in the data: paths relative to the artifact ("" for the
	 * artifact itself, e.g. a single file changed on both sides).
	 */
	struct mlv_merge_conflicts conflicts;
	/* NULL, or why the kind or the unknown keys conflict (a sentence). */
	char *meta_conflict;
	int wrote_tree; /* a merged tree was written with the writer */
};
void mlv_pointer_merge_init(struct mlv_pointer_merge *m);
void mlv_pointer_merge_release(struct mlv_pointer_merge *m);
/* 1 when anything conflicted (data or metadata). */
int mlv_pointer_merge_conflicted(const struct mlv_pointer_merge *m);

/*
 * Merge `ours` and `theirs` (`base` may be NULL: added on both sides).
 * `path` is the artifact's data path ("data/images"), for messages.
 * Merged trees are written with `w`, which the caller commits.  With a
 * favor other than MLV_MERGE_FAVOR_NONE, every conflict (data and
 * metadata) is resolved by taking that side's version, and the others'
 * changes are kept.  0 (conflicts or not), or an MLV_E* code: a tree
 * missing from the store is MLV_ENOTFOUND naming it, with a hint.
 */
int mlv_merge_pointers(struct mlv_store *s, struct mlv_store_writer *w,
		       const struct mlv_pointer *base, const struct mlv_pointer *ours,
		       const struct mlv_pointer *theirs, const char *path,
		       enum mlv_merge_favor favor, struct mlv_pointer_merge *out);

/*
 * Resolve a conflicted pointer file after `git merge` (or rebase,
 * cherry-pick, ...): read its stages 1 (base, may be missing), 2 (ours)
 * and 3 (theirs) from git's index, parse them strictly, merge them again
 * with conflicts taking `favor`'s side (MLV_MERGE_FAVOR_OURS or
 * _THEIRS), so that the changes of both sides that did not conflict are
 * kept, store the merged trees, and write the pointer file `pointer`
 * (repo-relative, ending in ".mlv") in the work tree with
 * mlv_pointer_write_at(r->topfd, ...).  `out` (initialised by the
 * caller, nullable) receives the pointer written.  Git's index is not
 * changed: `git add` the pointer to mark it resolved.  The data is not
 * checked out either: run the usual checkout of the artifact after.
 *
 * MLV_ENOTFOUND "'<pointer>' is not in conflict" when the index holds no
 * conflict for it; MLV_ENOTFOUND "'<pointer>' was deleted by <side>"
 * when the favored side has no such pointer (nothing written: remove it
 * with `git rm`); MLV_EINVALID naming the stage for a malformed pointer;
 * MLV_ENOTFOUND naming the object for data missing from the store.
 */
int mlv_merge_resolve(struct mlv_repo *r, const char *pointer, enum mlv_merge_favor favor,
		      struct mlv_pointer *out);

#pragma GCC visibility pop

#endif
