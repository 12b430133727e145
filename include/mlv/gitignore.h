#ifndef MLV_GITIGNORE_H
#define MLV_GITIGNORE_H

#pragma GCC visibility push(default)

#include "buf.h"

/*
 * Keeping tracked paths out of git: `mlv add dir/name` lists "/name" in
 * "dir/.gitignore", so git sees the pointer file but never the data.
 *
 * Edits are line-exact: every other line of the file is kept byte for byte
 * (comments, blank lines, CRLF endings, a missing final newline on a line
 * mlv does not touch).  Each edit is a read-modify-write under the file's
 * lock (mlv/lock.h: ".gitignore.lock", waited for up to
 * MLV_LOCK_TIMEOUT_MS, then MLV_ECONFLICT naming the holder), so that
 * concurrent commands never lose each other's lines.  The file is
 * replaced atomically and durably through the lock, keeping its
 * permission bits; a new one is created 0644.
 *
 * A .gitignore that is a symbolic link is refused with MLV_EINVALID: git
 * does not read symlinked .gitignore files, reading through the link could
 * copy a file from outside the repository into it, and the atomic rename
 * would replace the link rather than write through it.
 */

/* Largest .gitignore mlv will edit. */
#define MLV_GITIGNORE_MAX (16u << 20)

/*
 * Append to `out` the .gitignore line (without its newline) that matches
 * exactly the entry `name` of the directory holding the .gitignore: "/"
 * followed by `name` with '*', '?', '[', '\\' and trailing spaces escaped
 * by a backslash (gitignore(5)).  '#' and '!' need no escape: the line
 * starts with '/'.  MLV_EINVALID (`out` unchanged) when `name` is not a
 * valid entry name (mlv_name_valid()), contains a newline, or ends in a
 * carriage return (git strips it): such names cannot be written in a
 * .gitignore.
 */
int mlv_gitignore_pattern(struct mlv_buf *out, const char *name);

/*
 * The same for the .gitignore in `dir` below directory `dirfd` (a
 * repository's r->topfd; `dir` repo-relative, "" for the top), reached
 * without following any symlink (mlv/fs.h).  Removing the last line
 * removes the file.
 */
int mlv_gitignore_add_at(int dirfd, const char *dir, const char *name);
int mlv_gitignore_remove_at(int dirfd, const char *dir, const char *name);

#pragma GCC visibility pop

#endif
