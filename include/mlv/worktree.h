#ifndef MLV_WORKTREE_H
#define MLV_WORKTREE_H

#pragma GCC visibility push(default)

#include <stdint.h>
#include "pointer.h"
#include "repo.h"
#include "tree.h"

/*
 * Operations on tracked paths ("artifacts"): a file or directory `path`
 * whose pointer file `path.mlv` sits beside it.  All paths are relative to
 * the top of the work tree (the current directory after
 * mlv_repo_discover()).
 */

struct mlv_artifact {
	char *path;    /* the data path */
	char *pointer; /* path + ".mlv" */
	struct mlv_pointer ptr;
	char *error;   /* set when the pointer could not be read or parsed */
};

struct mlv_artifact_list {
	struct mlv_artifact *items;
	size_t nr, alloc;
};

void mlv_artifact_list_release(struct mlv_artifact_list *l);

/*
 * Find artifacts: with no `paths`, every pointer file in the work tree;
 * otherwise each path names an artifact (its data path or its pointer
 * file) or a directory to search below ("dir/" searches only below it,
 * even when "dir" is itself tracked).  A path matching nothing is
 * MLV_ENOTFOUND naming it.  Results are sorted by path.
 */
int mlv_artifacts_find(struct mlv_artifact_list *out, const char *const *paths, size_t n);

/*
 * The artifact that `path` is or lies inside: the longest leading part of
 * `path` (`path` itself too, when `self`) with a pointer file beside it.
 * 1 and `out` set to that data path, or 0.
 */
int mlv_artifact_containing(struct mlv_buf *out, const char *path, int self);

/*
 * Refuse (MLV_EINVALID, git's "beyond a symbolic link") a path whose
 * leading directories include a symlink: it could lead out of the work
 * tree.  Missing components are fine.
 */
int mlv_path_check_parents(const char *path);

/* Callbacks shared by the operations below; any may be NULL. */
struct mlv_wt_callbacks {
	void (*warn)(void *ctx, const char *msg);
	void (*progress)(void *ctx, uint64_t files, uint64_t bytes);
	/* A file inside a tracked directory: 'A'dded, 'D'eleted, 'M'odified, 'T'ype changed. */
	void (*change)(void *ctx, const char *artifact, const char *file, int what);
	void *ctx;
};

struct mlv_add_result {
	char *path;
	struct mlv_pointer ptr;
	int unchanged; /* pointer already said this and the data was stored */
};

/*
 * Track `paths` (repo-relative): store their content, write pointer files
 * and .gitignore entries.  The pointer is written only after the objects
 * it names are durable.  `kind_given` 0 keeps an existing pointer's kind
 * (or "data" for a new one).  Results, one per path, are appended to `out`
 * (an array of `*nr` results the caller frees with mlv_add_results_free()).
 */
struct mlv_add_opts {
	enum mlv_kind kind;
	int kind_given;
	int jobs;
};
int mlv_add(struct mlv_repo *r, const char *const *paths, size_t n, const struct mlv_add_opts *o,
	    const struct mlv_wt_callbacks *cb, struct mlv_add_result **out, size_t *nr);
void mlv_add_results_free(struct mlv_add_result *res, size_t nr);

enum mlv_status_state {
	MLV_ST_CLEAN = 0,
	MLV_ST_MODIFIED = 1 << 0,  /* content differs from the pointer */
	MLV_ST_MISSING = 1 << 1,   /* the data path does not exist */
	MLV_ST_NOT_STORED = 1 << 2, /* the pointer's object is not in the local store */
	MLV_ST_UNCOMMITTED = 1 << 3, /* the pointer file differs from git's HEAD */
	MLV_ST_BAD_POINTER = 1 << 4, /* the pointer could not be read */
	MLV_ST_TYPE = 1 << 5,      /* a file where a directory was tracked, or the reverse */
};

/* Compute the state of one artifact; inner changes go to cb->change. */
int mlv_status_artifact(struct mlv_repo *r, const struct mlv_artifact *a,
			const struct mlv_wt_callbacks *cb, unsigned *state);

/*
 * Make the work tree match the pointers of `list`.  Files whose content
 * already matches are not rewritten.  Without `force`, refuses (changing
 * nothing, MLV_ECONFLICT) when a file to be replaced or removed holds
 * bytes that are not in the store; each such file is passed to
 * cb->change with 'C' first.  Files are written to a temporary name and
 * renamed, never through a symlink.
 */
struct mlv_checkout_stats {
	uint64_t written, removed, bytes;
};
int mlv_checkout(struct mlv_repo *r, const struct mlv_artifact_list *list, int force,
		 const struct mlv_wt_callbacks *cb, struct mlv_checkout_stats *stats);

/*
 * Stop tracking artifact `a`: remove its pointer, its .gitignore entry and
 * its stat cache rows, and (unless `keep`) its data.  Without `force`,
 * refuses (MLV_ECONFLICT) to delete data whose content is not in the store.
 */
int mlv_rm(struct mlv_repo *r, const struct mlv_artifact *a, int keep, int force);

/*
 * Move artifact `a` to `dst` (a repo-relative path that must not exist):
 * its data, its pointer and its .gitignore entries.
 */
int mlv_mv(struct mlv_repo *r, const struct mlv_artifact *a, const char *dst);

/*
 * Compute the id a path would get when added, storing nothing: a blob id
 * for a file, a tree id for a directory.  Uses the stat cache when `store`
 * is not NULL.
 */
int mlv_hash_path(struct mlv_oid *out, uint64_t *size, uint64_t *files, struct mlv_store *store,
		  const char *path, const struct mlv_wt_callbacks *cb);

#pragma GCC visibility pop

#endif
