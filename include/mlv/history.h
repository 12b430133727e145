#ifndef MLV_HISTORY_H
#define MLV_HISTORY_H

/* mlv-layer: history */
#pragma GCC visibility push(default)

#include "worktree.h"

/*
 * Pointer files as git stores them: the artifacts of any revision.
 *
 * Everything here reads git's objects through libgit2 (r->git) and never
 * the work tree, so it works in a bare repository too (r->topfd < 0).
 * A pointer found in a git tree goes through the same gate as one on
 * disk: its path must pass mlv_path_check(), it must be a regular blob
 * (mode 100644 or 100755; a symlink or submodule named *.mlv is a bad
 * pointer) of at most MLV_POINTER_MAX bytes, and it must parse.  A bad
 * one is an artifact with `error` set, never a failure of the whole call.
 */
/*
 * Git trees come from other people too: a walk of one (looking for the
 * pointers of a revision, or for the pointers two commits changed)
 * visits at most MLV_GIT_TREE_VISIT_MAX entries -- a subtree reached by
 * several paths counts each time -- and fails with MLV_EINVALID beyond.
 */
#define MLV_GIT_TREE_VISIT_MAX (1u << 22)

struct git_commit;
struct git_tree;
struct git_blob;
struct git_oid;
struct git_repository;

/*
 * git_blob_lookup() for a pointer blob, sized from the object's header
 * first, so that a huge blob committed under a *.mlv name is never read:
 * 0 and `*out` NULL with `*size` set when it holds more than
 * MLV_POINTER_MAX bytes, 0 and the blob otherwise; <0 (libgit2's error
 * state set) when git does not have it.
 */
int mlv_git_pointer_blob(struct git_blob **out, uint64_t *size, struct git_repository *git,
			 const struct git_oid *id);

/*
 * Resolve `rev` as git rev-parse does (a branch, tag, HEAD~3, a short
 * hash, ...) and peel it to a commit.  MLV_ENOTFOUND "unknown revision
 * '<rev>'" when git cannot; MLV_EINVALID when it names something that is
 * not a commit.  The caller frees `*out` with git_commit_free().
 */
int mlv_rev_commit(struct git_commit **out, struct mlv_repo *r, const char *rev);

/* The same, down to the commit's root tree (git_tree_free()). */
int mlv_rev_tree(struct git_tree **out, struct mlv_repo *r, const char *rev);

/*
 * Fill `a` from the pointer blob `pointer` (a repo-relative path ending in
 * ".mlv") of git tree `tree`.  MLV_ENOTFOUND (a untouched) when the tree
 * has no such entry; otherwise 0, or the error of a bad pointer (then
 * a->error says why, as mlv_artifact_load() does for a file).
 */
int mlv_rev_artifact_load(struct mlv_artifact *a, struct mlv_repo *r, struct git_tree *tree,
			  const char *pointer);

/*
 * The artifacts of git tree `tree`, as mlv_artifacts_find_at() finds them
 * in the work tree: with no `paths` every pointer in the tree; otherwise
 * each path names an artifact (data path or pointer), a directory to
 * search below, or a path inside a tracked directory (`within` set).  A
 * path matching nothing is MLV_ENOTFOUND naming it and `rev_name`.
 * Sorted by path; bad pointers are included with `error` set.
 */
int mlv_rev_artifacts(struct mlv_artifact_list *out, struct mlv_repo *r, struct git_tree *tree,
		      const char *rev_name, const char *const *paths, size_t n);

/*
 * What `path` names at a revision (mlv_artifact_resolve() for a git
 * tree): a tracked file or directory, or a file or directory inside one.
 */
int mlv_rev_resolve(struct mlv_resolved *out, struct mlv_repo *r, struct git_tree *tree,
		    const char *rev_name, const char *path);

/*
 * mlv checkout <rev> [<path>...]: make the artifacts (pointer files and
 * data) of the work tree what they were at `rev`, without moving HEAD.
 * With no `paths`, every artifact; otherwise those the paths name at
 * `rev` or in the work tree (a path inside a tracked directory restores
 * only that part of the data and leaves the pointer alone).
 *
 * Plan, verify, then write: the data of `rev` is checked out first by
 * mlv_worktree_checkout() (which verifies every object before it writes,
 * and rewrites only files that differ); then the pointer files that
 * differ are written, with their .gitignore lines; then artifacts that
 * have a pointer in the work tree but none at `rev` are removed by
 * mlv_rm(), which deletes only data whose content reads back intact from
 * the store.  One whose data is not safely stored is kept, named in
 * `kept` (and to cb->warn).  A bad pointer, at `rev` or in the work
 * tree, is a problem reported in out->co and never acted on.
 */
struct mlv_checkout_rev_result {
	struct mlv_checkout_result co;
	size_t pointers;         /* pointer files written */
	size_t removed;          /* artifacts removed */
	char **kept;             /* artifacts not at `rev` whose data was kept */
	size_t nr_kept, alloc_kept;
};
int mlv_checkout_rev(struct mlv_repo *r, const char *rev, const char *const *paths, size_t n,
		     const struct mlv_checkout_opts *o, const struct mlv_wt_callbacks *cb,
		     struct mlv_checkout_rev_result *out);
void mlv_checkout_rev_result_release(struct mlv_checkout_rev_result *res);

/*
 * After git itself moved the pointer files (a branch switch, a merge):
 * the data of each artifact that `old_rev` has and whose pointer file git
 * removed from the work tree is removed by mlv_rm_gone() -- only what the
 * old tree lists, only when it reads back intact from the store.  Data
 * that cannot go safely is kept and named to cb->warn.  `removed` and
 * `kept` (nullable) count them.
 */
int mlv_checkout_drop_gone(struct mlv_repo *r, const char *old_rev,
			   const struct mlv_wt_callbacks *cb, size_t *removed, size_t *kept);

/*
 * The forgotten checkout: whether content `id` is an older version of the
 * artifact whose pointer is `pointer` -- what that pointer named in a
 * commit of HEAD's reflog (the commits checked out before, newest first)
 * or of HEAD's first-parent history.  At most MLV_VERSION_SEARCH_MAX
 * commits are looked at, each pointer blob parsed once.  1 and `commit`
 * (nullable) set to the newest such commit (git_commit_free()), 0 when
 * none, <0 on error.  A bad pointer in history is passed over.
 */
#define MLV_VERSION_SEARCH_MAX 1000
int mlv_history_find_version(struct mlv_repo *r, const char *pointer, const struct mlv_oid *id,
			     struct git_commit **commit);

/*
 * The same question for the data at `path` in the work tree, answered
 * from the stat cache alone (nothing is read): 1 when every file of
 * artifact `a` is vouched for by the cache, its content differs from
 * a->ptr and is an older version in the store; `commit` as above.
 */
int mlv_history_forgotten(struct mlv_repo *r, const struct mlv_artifact *a,
			  struct git_commit **commit);

#pragma GCC visibility pop

#endif
