#ifndef MLV_PATH_H
#define MLV_PATH_H

#include "buf.h"

/*
 * Repository-relative paths: '/'-separated, no leading or trailing '/',
 * no empty, "." or ".." components, no ".git" or ".mlv" component.
 */

/*
 * Turn a command-line path (relative to the current directory `prefix`,
 * itself repo-relative, "" at the top) into a normalised repo-relative path
 * in `out`.  Absolute paths are accepted when they lie inside `top` (the
 * work tree's absolute path).  MLV_EINVALID naming `arg` when it leaves the
 * repository or names something inside .git or .mlv.  Resolves "." and ".."
 * textually, like git does for pathspecs.  The top itself yields "".
 */
int mlv_path_from_arg(struct mlv_buf *out, const char *top, const char *prefix, const char *arg);

/* 1 when `path` is a valid repo-relative path as defined above. */
int mlv_path_valid(const char *path);

/* Express repo-relative `path` relative to `prefix` (for output, like git). */
void mlv_path_relative(struct mlv_buf *out, const char *path, const char *prefix);

/* Directory part ("" at the top) and last component of a repo-relative path. */
void mlv_path_dirname(struct mlv_buf *out, const char *path);
const char *mlv_path_basename(const char *path);

#endif
