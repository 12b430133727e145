#ifndef MLV_PATH_H
#define MLV_PATH_H

#pragma GCC visibility push(default)

#include "buf.h"

/*
 * The one path gate.  Every path libmlv derives -- from a command-line
 * argument, a pointer file's name, a tree entry -- is a repo-relative path:
 * '/'-separated, no leading or trailing '/', each component 1..NAME_MAX
 * bytes, none empty, "." or "..", and none a spelling of ".git" or ".mlv"
 * that any file system would map onto the real one (any letter case; HFS+
 * ignorable code points; NTFS trailing spaces and dots, alternate streams
 * and 8.3 short names), as strict as git's verify_path.  A whole path is
 * at most MLV_PATH_MAX bytes, and the last component of a tracked path at
 * most MLV_ARTIFACT_NAME_MAX, so that every name mlv derives from it
 * ("<name>.mlv", "<name>.mlv.lock") still fits in NAME_MAX.  A tracked
 * path may not end in a name mlv uses for its own files beside it:
 * "*.mlv", "*.mlv.lock", ".gitignore", ".gitignore.lock", ".mlv-tmp-*".
 *
 * Functions that fill a `struct mlv_buf` replace its contents.
 */
#define MLV_NAME_MAX 255
#define MLV_ARTIFACT_NAME_MAX (MLV_NAME_MAX - 9)
#define MLV_PATH_MAX 4000

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

/* 1 when `len` bytes at `c` are a valid path component, else 0. */
int mlv_path_component_valid(const char *c, size_t len);

/*
 * 0 when `path` is valid (with `artifact`, also as a tracked path: short
 * enough for its pointer and lock names, not a name mlv keeps for itself,
 * and a last component without a newline or a final carriage return, so
 * that .gitignore can list it); else MLV_EINVALID with a
 * message that starts with `what` (the file or argument it came from).
 */
int mlv_path_check(const char *path, int artifact, const char *what);

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
