#ifndef MLV_REPO_H
#define MLV_REPO_H

#pragma GCC visibility push(default)

#include <sys/types.h>
#include "store.h"

/*
 * A git work tree and where mlv keeps its files (mlv-formats(5), LAYOUT):
 *
 *	<top>/.mlv/config              git-config syntax, committed
 *	<top>/.mlv/.gitignore          keeps config.local out of git
 *	$GIT_COMMON_DIR/mlv/packs/     pack files        } the store, shared by
 *	$GIT_COMMON_DIR/mlv/index.db   SQLite index      } every linked worktree
 *	$GIT_DIR/mlv/statcache.db      this worktree's stat cache
 *	$GIT_DIR/mlv/tmp/              this worktree's temporary files
 *
 * The store is git's business: `git clean -fdx` cannot reach it.  A
 * repository of the old layout (.mlv/store/packs, .mlv/index.db) is moved
 * to this one by the first command that opens its store.
 *
 * A handle never changes the process's working directory: paths are
 * opened from `topfd` (work tree) or the git directories, so one process
 * may hold several repositories or worktrees.  `prefix` says where the
 * discovery started, relative to `top` ("" at the top or outside it).
 */
struct git_repository;

struct mlv_repo {
	struct git_repository *git;
	char *top;    /* absolute path of the work tree, no trailing '/' */
	int topfd;    /* the work tree's top directory (O_DIRECTORY); every path is opened from it */
	char *prefix; /* the starting directory relative to top */
	char *mlvdir; /* absolute path of .mlv (committed configuration) */
	int initialized; /* .mlv or the store exists */
	int tmpfd;       /* mlv_repo_tmpdir(), -1 until used */
	dev_t tmpdev;
	struct mlv_store *store;
	char *gitdir;    /* $GIT_DIR, absolute (a linked worktree's own directory) */
	char *commondir; /* $GIT_COMMON_DIR, absolute */
	char *storedir;  /* $GIT_COMMON_DIR/mlv */
	char *wtdir;     /* $GIT_DIR/mlv */
	int gitdirfd;    /* $GIT_DIR (O_DIRECTORY) */
};

/*
 * Find the git work tree as git does: from GIT_DIR, GIT_WORK_TREE,
 * GIT_COMMON_DIR and the current directory, not climbing into
 * GIT_CEILING_DIRECTORIES.  MLV_ENOTFOUND outside a work tree or in a
 * bare repository; MLV_EINVALID when `.mlv` or `.mlv/config` is a symlink.
 * The current directory is only read (for `prefix`), never changed.
 */
int mlv_repo_discover(struct mlv_repo **out);
/*
 * The same, but a bare repository is fine too: then `top` and `mlvdir`
 * are NULL and `topfd` is -1 (only history and the store can be read),
 * and `initialized` says whether the store exists.
 */
int mlv_repo_discover_bare(struct mlv_repo **out);
/* The same for the work tree containing directory `path`, ignoring the environment. */
int mlv_repo_open(struct mlv_repo **out, const char *path);
void mlv_repo_free(struct mlv_repo *r);

/*
 * The directory fd (owned by `r`) of mlv's own temporary directory,
 * $GIT_DIR/mlv/tmp, where data is written before it is renamed into the
 * work tree; created on first use, and files left there by processes that
 * died are removed then.  `dev` is its st_dev: a rename works only within
 * one file system (a linked worktree or a separate git directory may live
 * on another: then write beside the target, mlv/tempfile.h).
 */
int mlv_repo_tmpdir(struct mlv_repo *r, int *fd, dev_t *dev);

/*
 * Create .mlv (config, .gitignore) and the store.  Harmless when they
 * exist; moves an old layout.  `created` (nullable): something was new.
 */
int mlv_repo_init(struct mlv_repo *r, int *created);

/*
 * The store, opened on first use (after moving an old layout).
 * MLV_ENOTFOUND (with hint) if not initialised; MLV_ECORRUPT with the hint
 * "run 'mlv fsck --repair'" (mlv_error_last_hint()) for a damaged index.
 * The _ext form passes `flags` (MLV_STORE_REBUILD) to mlv_store_open_ext().
 */
int mlv_repo_store(struct mlv_store **out, struct mlv_repo *r);
int mlv_repo_store_ext(struct mlv_store **out, struct mlv_repo *r, unsigned flags);

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

/*
 * Set the error state from libgit2's last error: "<what>: <libgit2's
 * message>", with mlv error code `code`; returns `code`.
 */
int mlv_git_error(int code, const char *what);

#pragma GCC visibility pop

#endif
