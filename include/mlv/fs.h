#ifndef MLV_FS_H
#define MLV_FS_H

#pragma GCC visibility push(default)

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "buf.h"

/*
 * The one way libmlv touches the work tree: every path is relative to a
 * directory fd (a repository's `topfd`) and is resolved one component at
 * a time without following any symlink and without leaving that
 * directory (openat2 with RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH, or an
 * openat(O_NOFOLLOW | O_DIRECTORY) walk where the kernel lacks it).
 *
 * A symlink, or something that is not a directory, among the leading
 * components of a path is MLV_EINVALID "'<path>' is beyond a symbolic
 * link ('<component>')"; a missing component is MLV_ENOTFOUND.  The last
 * component is never followed either: opening a symlink fails (ELOOP,
 * reported as MLV_EINVALID) and lstat/unlink/rename act on the link.
 *
 * `path` is repo-relative: no leading '/', no "." or ".." components
 * (callers pass it through the path gate first).  "" names `dirfd` itself.
 */

/* Open `path` (flags as open(2); O_NOFOLLOW and O_CLOEXEC are added).  An fd, or <0. */
int mlv_fs_open(int dirfd, const char *path, int flags, mode_t mode);

/*
 * Open the directory holding `path` and point `*base` at its last
 * component (inside `path`).  With `create`, missing leading directories
 * are made (mode 0777 & ~umask).  An fd the caller closes, or <0.
 */
int mlv_fs_open_parent(int dirfd, const char *path, int create, const char **base);

/* lstat(2) of `path`; MLV_ENOTFOUND when it (or a parent) does not exist. */
int mlv_fs_lstat(int dirfd, const char *path, struct stat *st);

/* 1 when `path` exists (as anything, a dangling symlink too), 0 when not, <0 on error. */
int mlv_fs_exists(int dirfd, const char *path);

/* Remove a file or symlink (`dir` 0) or an empty directory (`dir` 1).  Missing is not an error. */
int mlv_fs_unlink(int dirfd, const char *path, int dir);

/* rename(2) between two paths below `dirfd`; with `noreplace`, MLV_EEXISTS if `to` exists. */
int mlv_fs_rename(int dirfd, const char *from, const char *to, int noreplace);

/* mkdir -p below `dirfd`; existing directories are fine, anything else in the way is not. */
int mlv_fs_mkdirs(int dirfd, const char *path);

/* Read all of `path` (a regular file, at most `max` bytes) into `out`. */
int mlv_fs_read_file(struct mlv_buf *out, int dirfd, const char *path, size_t max);

/*
 * Read the target of symlink `path` into `out` (at most `max` bytes;
 * MLV_EINVALID when longer, or when it is not a symlink).
 */
int mlv_fs_readlink(struct mlv_buf *out, int dirfd, const char *path, size_t max);

/*
 * Remove what is below directory `path` and the directory itself, never
 * following a symlink (a symlink is removed, not its target).
 */
int mlv_fs_remove_tree(int dirfd, const char *path);

#pragma GCC visibility pop

#endif
