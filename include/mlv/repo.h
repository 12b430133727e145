#ifndef MLV_REPO_H
#define MLV_REPO_H

#pragma GCC visibility push(default)

#include <sys/types.h>
#include "store.h"

/*
 * A git work tree with mlv's state in `<top>/.mlv`:
 *
 *	.mlv/config        git-config syntax, committed
 *	.mlv/.gitignore    keeps index.db, store/ and config.local out of git
 *	.mlv/index.db      SQLite index (objects, packs, stat cache)
 *	.mlv/store/packs/  pack files
 *
 * mlv_repo_discover() changes the process's working directory to `top`, as
 * git does; paths handled by libmlv are then relative to the top, and
 * `prefix` says where the user was ("" at the top, else "a/b").
 */
struct git_repository;

struct mlv_repo {
	struct git_repository *git;
	char *top;    /* absolute path of the work tree, no trailing '/' */
	int topfd;    /* the work tree's top directory (O_DIRECTORY); every path is opened from it */
	char *prefix; /* the original current directory relative to top */
	char *mlvdir; /* absolute path of .mlv */
	int initialized; /* .mlv exists */
	int tmpfd;       /* mlv_repo_tmpdir(), -1 until used */
	dev_t tmpdev;
	struct mlv_store *store;
};

/*
 * Find the git work tree containing the current directory and chdir to
 * its top.  MLV_ENOTFOUND (message with a hint) outside a work tree or in
 * a bare repository.
 */
int mlv_repo_discover(struct mlv_repo **out);
void mlv_repo_free(struct mlv_repo *r);

/*
 * The directory fd (owned by `r`) of mlv's own temporary directory, where
 * data is written before it is renamed into the work tree; created on
 * first use, and files left there by processes that died are removed
 * then.  `dev` is its st_dev: a rename works only within one file system.
 */
int mlv_repo_tmpdir(struct mlv_repo *r, int *fd, dev_t *dev);

/* Create .mlv (config, .gitignore, store, index).  Harmless when it exists. */
int mlv_repo_init(struct mlv_repo *r, int *created);

/* The store, opened on first use.  MLV_ENOTFOUND (with hint) if not initialised. */
int mlv_repo_store(struct mlv_store **out, struct mlv_repo *r);

/*
 * 1 when git tracks `path` (or, with `prefix_match`, anything below
 * `path/`) in its index, 0 when not, <0 on error.
 */
int mlv_repo_git_tracks(struct mlv_repo *r, const char *path, int prefix_match);

/*
 * 1 when the pointer file `path` matches what is committed at HEAD (and
 * the index agrees), 0 when it is new, modified or staged only.
 */
int mlv_repo_git_committed(struct mlv_repo *r, const char *path);

#pragma GCC visibility pop

#endif
