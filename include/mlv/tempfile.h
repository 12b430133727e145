#ifndef MLV_TEMPFILE_H
#define MLV_TEMPFILE_H

#pragma GCC visibility push(default)

#include <sys/types.h>

/*
 * Temporary files that must not outlive the process: data being checked
 * out, lock files, packs being written.  Each is registered until it is
 * renamed into place or removed; mlv_tempfile_cleanup_all() removes the
 * rest, and mlv_sigchain_install() calls it on exit and on SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT and SIGPIPE before the signal takes its usual
 * course (as git's tempfile.c does).
 *
 * Names are exactly "<prefix><pid>-<n>-<8 hex digits>" so that a later
 * process can tell a file whose owner died (mlv_tempfile_clean_stale());
 * a name of any other shape is never taken for one.  A temporary file
 * that cannot live in mlv's own directory (another file system) is
 * created beside its target with the prefix MLV_TEMP_PREFIX, which no
 * scan ever records.
 */
#define MLV_TEMP_PREFIX ".mlv-tmp-"

struct mlv_tempfile;

/*
 * Create a new file (O_RDWR | O_EXCL, `mode` & ~umask) in directory
 * `dirfd` (duplicated: the caller may close its own).  `*fd` is its open
 * descriptor, which the caller closes.
 */
int mlv_tempfile_create(struct mlv_tempfile **out, int *fd, int dirfd, const char *prefix,
			mode_t mode);

/*
 * Register a file the caller created at `name` in `dirfd` (a lock file),
 * so that it is removed if the process dies.
 */
struct mlv_tempfile *mlv_tempfile_register(int dirfd, const char *name);

/* Its name inside its directory. */
const char *mlv_tempfile_name(const struct mlv_tempfile *t);

/*
 * Rename it to `base` in directory `todirfd` and forget it.  On failure
 * it stays registered (remove it).  `display` names the target in messages.
 */
int mlv_tempfile_rename(struct mlv_tempfile *t, int todirfd, const char *base,
			const char *display);

/* Remove the file and forget it.  NULL is fine. */
void mlv_tempfile_remove(struct mlv_tempfile *t);

/* Forget it without removing it (it was renamed by other means). */
void mlv_tempfile_forget(struct mlv_tempfile *t);

/* Remove every registered file; async-signal-safe. */
void mlv_tempfile_cleanup_all(void);

/* Call mlv_tempfile_cleanup_all() at exit and on fatal signals (once per process). */
void mlv_sigchain_install(void);

/*
 * Remove files in `dirfd` named "<prefix><pid>-..." whose process no
 * longer runs on this machine.  Returns how many were removed, or <0.
 */
int mlv_tempfile_clean_stale(int dirfd, const char *prefix);

/* 1 when `name` is exactly a temporary name made with MLV_TEMP_PREFIX. */
int mlv_tempfile_is_temp_name(const char *name);

#pragma GCC visibility pop

#endif
