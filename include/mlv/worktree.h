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
	/*
	 * Set when the pointer could not be read or parsed, or when `path`
	 * fails the path gate (mlv_path_check(path, 1, ...)): such a bad
	 * pointer is reported and never deleted, written or renamed through.
	 */
	char *error;
	int conflicted; /* the pointer holds git merge-conflict markers (error is set) */
	/*
	 * NULL for the whole artifact; when a path named a file or directory
	 * inside this tracked directory, that path (repo-relative).
	 */
	char *within;
};

struct mlv_artifact_list {
	struct mlv_artifact *items;
	size_t nr, alloc;
};

void mlv_artifact_list_release(struct mlv_artifact_list *l);
/* Sort by path; drop repeats, and parts of a directory that is also named whole. */
void mlv_artifact_list_sort(struct mlv_artifact_list *l);

/*
 * Find artifacts below the work tree `topfd` (a repository's r->topfd):
 * with no `paths`, every pointer file in the work tree; otherwise each
 * path names an artifact (its data path or its pointer file) or a
 * directory to search below ("dir/" searches only below it, even when
 * "dir" is itself tracked).  A path matching nothing is MLV_ENOTFOUND
 * naming it.  Results are sorted by path.  Never through a symlink:
 * pointer files in symlinked directories are not searched, and a named
 * path beyond a symlink is MLV_EINVALID.  A path inside a tracked
 * directory (on disk or not) yields that directory's artifact with
 * `within` set to the path.  Directories named .git, .mlv (or any
 * spelling the path gate refuses) are not searched.
 */
int mlv_artifacts_find_at(struct mlv_artifact_list *out, int topfd, const char *const *paths,
			  size_t n);

/*
 * Fill `a` from pointer file `pointer` below `topfd`: path gate, read,
 * parse.  On failure (also returned) a->error says why and, for git
 * conflict markers, a->conflicted is set.  Release `a` with the list.
 */
int mlv_artifact_load(struct mlv_artifact *a, int topfd, const char *pointer);

/*
 * The same for a pointer's bytes read from elsewhere (a git blob): path
 * gate, at most MLV_POINTER_MAX bytes, parse.
 */
int mlv_artifact_load_buf(struct mlv_artifact *a, const char *pointer, const void *data,
			  size_t len);
/*
 * `a` for a pointer that cannot be read (`why`, error `code`): the path
 * gate's verdict on its name comes first, then `why`.
 */
int mlv_artifact_load_bad(struct mlv_artifact *a, const char *pointer, int code, const char *why);

/* What to tell the user about a bad pointer (empty when a->error is NULL). */
void mlv_artifact_hint(struct mlv_buf *out, const struct mlv_artifact *a);

/*
 * The artifact that `path` is or lies inside, below `topfd`: the longest
 * leading part of `path` (`path` itself too, when `self`) with a pointer
 * file beside it.  1 and `out` set to that data path, or 0; <0 when the
 * way there leads through a symlink.
 */
int mlv_artifact_containing_at(struct mlv_buf *out, int topfd, const char *path, int self);

/*
 * The one artifact `path` names (its data path or its pointer file), as
 * the only item of `out`.  MLV_ENOTFOUND "'<path>' is not tracked by mlv"
 * (or naming the tracked directory it lies inside) otherwise.  The
 * artifact may be a bad pointer (a->error set).
 */
int mlv_artifact_find_one(struct mlv_artifact_list *out, int topfd, const char *path);

/*
 * What a repo-relative `path` names in the stored data: a tracked file or
 * directory, or a file or directory inside a tracked directory (found by
 * descending its trees).  `artifact` holds the artifact (a valid pointer),
 * `mode` is an MLV_MODE_* value (MLV_MODE_DIR for a tree).  MLV_ENOTFOUND
 * naming `path` when mlv cannot place it; the artifact's error when its
 * pointer is bad (`artifact` then holds it, for mlv_artifact_hint()).
 * The caller releases `out` with mlv_resolved_release() either way.
 */
struct mlv_resolved {
	struct mlv_artifact_list artifact;
	struct mlv_oid oid;
	uint32_t mode;
	uint64_t size;
};
int mlv_artifact_resolve(struct mlv_resolved *out, struct mlv_repo *r, const char *path);
/*
 * The second half of mlv_artifact_resolve(), for callers that found the
 * artifact elsewhere (a revision): `out->artifact` holds the one artifact
 * `path` names; check its pointer and descend its trees to `path`.
 */
int mlv_resolved_descend(struct mlv_resolved *out, struct mlv_repo *r, const char *path);
void mlv_resolved_release(struct mlv_resolved *res);

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
 *
 * Each pointer file `<path>.mlv` is locked (mlv/lock.h) from before its
 * path is read until the new pointer is written through the lock;
 * MLV_EEXISTS (nothing changed) when it exists and is not a pointer (a
 * file with git conflict markers is replaced).  .gitignore is edited
 * under its lock.  Every symlink inside a directory is stored as a link
 * with its target text; with `dereference` MLV_DEREF_YES, what it points
 * to is stored instead (a dangling link or a loop is an error naming the
 * link), and the pointer says so ("dereference yes") so that status and
 * later adds do the same.  Sizes are the bytes read; a file that changes
 * while it is read is refused (MLV_ECONFLICT "changed while reading").
 */
enum mlv_add_deref {
	MLV_DEREF_KEEP = 0, /* as the existing pointer says (no for a new one) */
	MLV_DEREF_YES,
	MLV_DEREF_NO,
};
struct mlv_add_opts {
	enum mlv_kind kind;
	int kind_given;
	int jobs;
	enum mlv_add_deref dereference;
};
int mlv_add(struct mlv_repo *r, const char *const *paths, size_t n, const struct mlv_add_opts *o,
	    const struct mlv_wt_callbacks *cb, struct mlv_add_result **out, size_t *nr);
void mlv_add_results_free(struct mlv_add_result *res, size_t nr);
/* 1 when pointer `p` was added with symlinks followed ("dereference yes"). */
int mlv_add_dereferenced(const struct mlv_pointer *p);

enum mlv_status_state {
	MLV_ST_CLEAN = 0,
	MLV_ST_MODIFIED = 1 << 0,  /* content differs from the pointer */
	MLV_ST_MISSING = 1 << 1,   /* the data path does not exist */
	MLV_ST_NOT_STORED = 1 << 2, /* the pointer's object is not in the local store */
	MLV_ST_UNCOMMITTED = 1 << 3, /* the pointer file differs from git's HEAD */
	MLV_ST_BAD_POINTER = 1 << 4, /* the pointer could not be read */
	MLV_ST_TYPE = 1 << 5,      /* a file where a directory was tracked, or the reverse */
	MLV_ST_CONFLICT = 1 << 6,  /* the pointer holds git merge-conflict markers */
};

/*
 * Compute the state of one artifact; inner changes go to cb->change.
 * With a->within (a path inside the tracked directory), only that part is
 * compared, and a path that is neither stored nor on disk is MLV_ENOTFOUND.
 * A bad pointer is MLV_ST_BAD_POINTER (with MLV_ST_CONFLICT and
 * MLV_ST_UNCOMMITTED for git conflict markers), never an error.
 */
int mlv_status_artifact(struct mlv_repo *r, const struct mlv_artifact *a,
			const struct mlv_wt_callbacks *cb, unsigned *state);

/*
 * Make the work tree match the pointers of `list` (an item with `within`
 * set restores only that file or subtree of its tracked directory).
 *
 * Plan, verify, then write: every object the checkout needs is resolved
 * and checked first (present, of the right type and size, recipes
 * complete, symlink targets readable and bounded, trees within limits).
 * Each missing object and each bad pointer or object is recorded in
 * out->problems, all of them, not only the first; then, without
 * `allow_missing`, nothing is written (MLV_ENOTFOUND when only objects
 * are missing, else MLV_EINVALID).  With `allow_missing`, what can be
 * restored is, and 0 is returned with the problems listed.  An artifact
 * with a bad pointer or a bad object is never acted on.
 *
 * Files whose content already matches are not rewritten.  Without
 * `force`, refuses (changing nothing, MLV_ECONFLICT) when a file to be
 * replaced or removed holds bytes that are not in the store; each such
 * file is passed to cb->change with 'C' and listed in out->conflicts.
 * Entries mlv does not track (special files, nested .git, live temporary
 * files) are left alone; temporary files of processes that died are
 * removed.  A file that was not there is written unnamed (O_TMPFILE) and
 * linked in when complete; one that replaces another goes to a temporary
 * file in mlv's own directory (or beside the target when that is on
 * another file system), registered for removal on signals, and renamed
 * into place; nothing is ever written, removed or renamed through a
 * symlink.  While an artifact's data is written, the lock of its pointer
 * file is held (mlv/lock.h).
 */
struct mlv_checkout_opts {
	int force;
	int allow_missing;
};

struct mlv_checkout_problem {
	char *artifact;       /* the artifact's data path */
	char *path;           /* the file or directory concerned */
	char *message;        /* what is wrong, naming the path and object */
	int missing;          /* 1: an object is not (completely) in the store */
	int has_oid;
	struct mlv_oid oid;   /* the object concerned, when has_oid */
};

struct mlv_checkout_result {
	uint64_t written, removed, bytes;
	struct mlv_checkout_problem *problems;
	size_t nr_problems, alloc_problems;
	char **conflicts;     /* files with local changes (nothing was written) */
	size_t nr_conflicts, alloc_conflicts;
};

/* `out` is initialised by the call; release it whatever was returned. */
int mlv_worktree_checkout(struct mlv_repo *r, const struct mlv_artifact_list *list,
			  const struct mlv_checkout_opts *o, const struct mlv_wt_callbacks *cb,
			  struct mlv_checkout_result *out);
void mlv_checkout_result_release(struct mlv_checkout_result *res);

/*
 * Stop tracking artifact `a`: remove its pointer (by the lock protocol,
 * only when it still parses as the pointer `a` holds), its .gitignore
 * entry and its stat cache rows, and (unless `keep`) its data.
 *
 * Only what mlv tracks is deleted: the files, symlinks and directories
 * that the stored tree lists, never anything else inside the directory
 * (a nested .git, FIFOs, files added since); each entry left in place is
 * passed to cb->change with 'U', and a directory that is not empty then
 * stays.  Before anything is deleted, every file's content must be in the
 * store and its stored copy must read back intact; otherwise each such
 * file goes to cb->change with 'C' and, without `force`, nothing changes
 * (MLV_ECONFLICT, or MLV_ECORRUPT for a damaged stored copy).  A bad
 * pointer (a->error) is always refused.  `left` (nullable) receives the
 * number of entries left in place.
 */
int mlv_rm(struct mlv_repo *r, const struct mlv_artifact *a, int keep, int force,
	   const struct mlv_wt_callbacks *cb, size_t *left);

/*
 * The data of artifact `a` whose pointer file git has already removed
 * (a branch switch): delete what mlv_rm() would, by the same rules (only
 * what the stored tree lists, only when every file's content reads back
 * intact from the store, else MLV_ECONFLICT or MLV_ECORRUPT and nothing
 * deleted), with the pointer's lock held and the pointer still absent
 * (MLV_ECONFLICT when it exists again).  .gitignore is git's: untouched.
 */
int mlv_rm_gone(struct mlv_repo *r, const struct mlv_artifact *a,
		const struct mlv_wt_callbacks *cb, size_t *left);

/*
 * Move artifact `a` to `dst` (a repo-relative path that must not exist):
 * its data, its pointer (written through its lock; both pointer files are
 * locked), its .gitignore entries and its stat cache rows.  Every path is
 * resolved from r->topfd without following a symlink.
 */
int mlv_mv(struct mlv_repo *r, const struct mlv_artifact *a, const char *dst);

/*
 * Compute the id a path would get when added, storing nothing: a blob id
 * for a file, a tree id for a directory.  Uses the stat cache when `store`
 * is not NULL.
 */
int mlv_hash_path(struct mlv_oid *out, uint64_t *size, uint64_t *files, struct mlv_store *store,
		  const char *path, const struct mlv_wt_callbacks *cb);
/*
 * The id of `path` below `topfd` from the stat cache alone, reading no
 * file's content: 1 and `out` set when the cache vouches for every file,
 * 0 when it does not (or `path` does not exist), <0 on error.
 */
int mlv_hash_path_cached(struct mlv_oid *out, struct mlv_store *store, int topfd, const char *path);
/*
 * The same for `path` below directory `dirfd` (never through a symlink,
 * mlv/fs.h; "" is `dirfd` itself), following the symlinks inside a
 * directory when `dereference` (as mlv add --dereference).  `store`'s stat
 * cache is keyed by the paths as given: pass it only with a repository's
 * r->topfd and repo-relative paths.
 */
int mlv_hash_path_at(struct mlv_oid *out, uint64_t *size, uint64_t *files,
		     struct mlv_store *store, int dirfd, const char *path, int dereference,
		     const struct mlv_wt_callbacks *cb);

/*
 * Verify every pointer of the work tree against the store: bad pointers,
 * objects missing down to the last file of a tracked directory, trees
 * whose file count is not the pointer's.  A tracked directory is counted
 * before it is walked, so a hostile tree (too deep, too many entries,
 * 2^41 files through shared subtrees) is one problem found at once.
 * Each problem goes to `report`; <0 only when the check itself failed.
 */
int mlv_worktree_verify(struct mlv_repo *r, mlv_fsck_report_fn report, void *ctx);

#pragma GCC visibility pop

#endif
