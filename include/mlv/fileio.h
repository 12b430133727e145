#ifndef MLV_FILEIO_H
#define MLV_FILEIO_H

#pragma GCC visibility push(default)

#include <stddef.h>
#include <sys/types.h>
#include "buf.h"

/* Read all of `fd` (or the file at `path`), refusing more than `max` bytes. */
int mlv_read_fd(struct mlv_buf *out, int fd, size_t max, const char *path_for_errors);
int mlv_read_file(struct mlv_buf *out, const char *path, size_t max);

/* write(2) all of `len`, retrying short writes and EINTR. */
int mlv_write_all(int fd, const void *data, size_t len, const char *path_for_errors);

/*
 * Replace `path` atomically: write a temporary file beside it, fsync (when
 * `durable`), rename over `path`, fsync the directory (when `durable`).
 * Never writes through a symlink at `path`: the rename replaces the link.
 */
int mlv_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, int durable);

int mlv_fsync_dir(const char *dir);

#pragma GCC visibility pop

#endif
