#ifndef MLV_LOG_H
#define MLV_LOG_H

/* mlv-layer: history */
#pragma GCC visibility push(default)

#include <stdint.h>
#include "worktree.h"

/*
 * The history of artifacts: the commits that changed their pointer files.
 *
 * mlv_log() walks the first-parent chain from a revision (what `git log
 * --first-parent` shows) and compares each commit's pointer blobs with its
 * parent's, reading only git objects (it works in a bare repository).
 * Only pointers whose blob changed are read and parsed, so a walk over
 * commits that do not touch the artifact costs a comparison of tree ids.
 * Entries are passed to a callback as they are found, newest first.
 *
 * Everything read from history is hostile input: each pointer goes through
 * the path gate, must be a regular blob of at most MLV_POINTER_MAX bytes
 * and must parse.  A bad one is a change with `error` set (the message
 * names the commit and the pointer path), never a failure of the walk.
 */

enum mlv_log_what {
	MLV_LOG_ADDED = 'A',
	MLV_LOG_MODIFIED = 'M',
	MLV_LOG_DELETED = 'D',
	/* --follow: the pointer was moved here from `old_path` in this commit */
	MLV_LOG_RENAMED = 'R',
	/*
	 * The commit is a shallow boundary (its parent is not in the
	 * repository): the artifact is there, whether this commit changed it
	 * is unknown.
	 */
	MLV_LOG_PRESENT = '=',
};

/* One artifact changed by one commit. */
struct mlv_log_change {
	int what;             /* enum mlv_log_what */
	const char *path;     /* the data path (for 'D', the one removed) */
	const char *old_path; /* the data path in the parent ('R'), else NULL */
	/* The pointer at this commit: NULL for 'D' and for a bad pointer (`error` says why). */
	const struct mlv_pointer *ptr;
	const char *error;
	/* The pointer in the parent: NULL for 'A', '=' and a bad one (`old_error`). */
	const struct mlv_pointer *old;
	const char *old_error;
};

struct mlv_log_entry {
	char commit[41];   /* hex */
	const char *author_name;
	const char *author_email;
	int64_t author_time;    /* seconds since the epoch */
	int author_offset;      /* the author's time zone, minutes east of UTC */
	const char *subject;    /* first paragraph of the message, on one line */
	/* The artifacts this commit changed, sorted by path; nr >= 1. */
	const struct mlv_log_change *changes;
	size_t nr;
	/*
	 * Set when this commit is a shallow boundary: history before it is not
	 * in the repository (the walk ends here).
	 */
	int shallow;
};

/*
 * Called for each entry (valid during the call only), and once more with
 * `nr` 0 and `shallow` 1 when the walk reaches a shallow boundary where
 * the artifact is absent.  Return 0 to go on, >0 to stop the walk (then
 * mlv_log() returns 0), <0 to abort it (mlv_log() returns that code).
 */
typedef int (*mlv_log_fn)(void *ctx, const struct mlv_log_entry *e);

struct mlv_log_opts {
	const char *rev;  /* where the walk starts; NULL is HEAD */
	/*
	 * A repo-relative path: the data path or the pointer path of one
	 * artifact (which need not exist in the work tree, nor at `rev`), or
	 * a directory of git's tree (every artifact below it).  NULL or ""
	 * means every artifact.
	 */
	const char *path;
	/*
	 * One artifact only: when its pointer appears in a commit in which a
	 * pointer naming the same object (or the same pointer blob) went away,
	 * report a rename and go on with the old path.
	 */
	int follow;
};

/*
 * Walk the history as described above.  MLV_ENOTFOUND "unknown revision
 * '<rev>'" (or "no commits yet" for an unborn HEAD) before any callback;
 * MLV_ENOTFOUND "'<path>' has no pointer in the history of <rev>" after the
 * walk when one artifact was asked for and no commit on the way ever had
 * its pointer (nor its directory).  Errors reading git objects other than
 * a missing parent (reported as a boundary) end the walk with their code.
 */
int mlv_log(struct mlv_repo *r, const struct mlv_log_opts *o, mlv_log_fn fn, void *ctx);

#pragma GCC visibility pop

#endif
