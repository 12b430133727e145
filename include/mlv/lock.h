#ifndef MLV_LOCK_H
#define MLV_LOCK_H

#pragma GCC visibility push(default)

#include <sys/types.h>
#include "buf.h"

/*
 * git-style lock files: to change `path`, create `path.lock` with O_EXCL,
 * write the new content into it, then rename it over `path` (commit) or
 * remove it (release).  Whoever holds `path.lock` owns `path`; every
 * process that edits a shared file (.gitignore, pointer files) goes
 * through here.
 *
 * The holder also keeps a POSIX record lock on the lock file, so a lock
 * file left by a process that died is recognised and taken over, and a
 * live holder is named by its pid.  A busy lock is retried for up to
 * `timeout_ms`, then MLV_ECONFLICT "'<path>.lock' is held by process N".
 * The lock file is registered as a temporary file (mlv/tempfile.h): a
 * signal removes it.
 */
#define MLV_LOCK_SUFFIX ".lock"
#define MLV_LOCK_TIMEOUT_MS 5000

struct mlv_tempfile;

struct mlv_lock {
	char *path;        /* what is locked, for messages */
	int dirfd;         /* its directory, owned */
	char *base;        /* its name in dirfd */
	int fd;            /* the lock file, open for writing */
	struct mlv_tempfile *tmp;
};

#define MLV_LOCK_INIT { NULL, -1, NULL, -1, NULL }

/* Lock `path` (relative to `dirfd`, never through a symlink). */
int mlv_lock_acquire(struct mlv_lock *l, int dirfd, const char *path, int timeout_ms);

/*
 * Replace `path` with what was written to l->fd: set `mode`, fsync (when
 * `durable`), rename, fsync the directory.  The lock is released either way.
 */
int mlv_lock_commit(struct mlv_lock *l, mode_t mode, int durable);

/* Write `len` bytes to the lock file. */
int mlv_lock_write(struct mlv_lock *l, const void *data, size_t len);

/*
 * Remove `path`.lock if it was left by a process that died (1), else leave
 * it (0): what the next lock of `path` would do anyway, for lock files
 * that would otherwise show up in `git status` until then.  The caller
 * makes sure the file is one mlv wrote.
 */
int mlv_lock_clean_stale(int dirfd, const char *path);

/* Give the lock up without changing `path`.  Safe on an unlocked or released lock. */
void mlv_lock_release(struct mlv_lock *l);

#pragma GCC visibility pop

#endif
