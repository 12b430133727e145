#ifndef MLV_PATH_H
#define MLV_PATH_H

#pragma GCC visibility push(default)

#include "buf.h"

/*
 * Repository-relative paths: '/'-separated, no leading or trailing '/',
 * no empty, "." or ".." components, no ".git" or ".mlv" component (in any
 * letter case: case-insensitive file systems would map ".GIT" to ".git").
 *
 * Functions that fill a `struct mlv_buf` replace its contents.
 */

/*
 * Turn a command-line path (relative to the current directory `prefix`,
 * itself repo-relative, "" at the top) into a normalised repo-relative path
 * in `out`.  Absolute paths are accepted when they lie inside `top` (the
 * work tree's absolute path).  MLV_EINVALID naming `arg` when it leaves the
 * repository or names something inside .git or .mlv, or when `arg` is "".
 * Resolves "." and ".." textually, like git does for pathspecs (symlinks
 * are not followed: "link/.." is the directory holding "link"); repeated
 * and trailing slashes are dropped.  The top itself yields "".  `out` is
 * left empty on failure.
 */
int mlv_path_from_arg(struct mlv_buf *out, const char *top, const char *prefix, const char *arg);

/*
 * 1 when `path` is a valid repo-relative path as defined above, else 0.
 * "" (the top) is not a valid path to a file.
 */
int mlv_path_valid(const char *path);

/*
 * Express repo-relative `path` relative to `prefix` (for output, like git):
 * "a/b/c" under "a/x" is "../b/c"; a path equal to `prefix` is ".".  Both
 * arguments must be normalised; "" stands for the top.
 */
void mlv_path_relative(struct mlv_buf *out, const char *path, const char *prefix);

/* Directory part ("" at the top) and last component of a repo-relative path. */
void mlv_path_dirname(struct mlv_buf *out, const char *path);
const char *mlv_path_basename(const char *path);

#pragma GCC visibility pop

#endif
