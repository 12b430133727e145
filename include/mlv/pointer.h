#ifndef MLV_POINTER_H
#define MLV_POINTER_H

#pragma GCC visibility push(default)

#include <stdint.h>
#include "buf.h"
#include "oid.h"

/*
 * Pointer files: `<path>.mlv`, committed to git, naming the content of a
 * tracked file or directory.  A strict line format (mlv-formats(5)):
 *
 *	version 1
 *	oid sha256:<64 hex>
 *	size <bytes>
 *	kind data|model|metric
 *	type file|dir
 *	files <count>              (directories only)
 *	exec yes                   (files only, when executable)
 *
 * Keys are [a-z][a-z0-9_-]*, each at most once; one space separates key
 * and value; values are non-empty, without leading or trailing spaces;
 * lines end in "\n" (no CR) and hold at most MLV_POINTER_LINE_MAX bytes
 * before it; no NUL or other control byte but tab appears anywhere.  Sizes
 * and counts are decimal without sign or leading zeros, at most INT64_MAX.
 * Unknown keys are kept verbatim and written back after the known ones.
 * The whole file is at most MLV_POINTER_MAX bytes.
 */
#define MLV_POINTER_MAX 4096
#define MLV_POINTER_LINE_MAX 1024
#define MLV_POINTER_SUFFIX ".mlv"

enum mlv_kind { MLV_KIND_DATA = 0, MLV_KIND_MODEL, MLV_KIND_METRIC };
enum mlv_ptype { MLV_PTYPE_FILE = 0, MLV_PTYPE_DIR };

struct mlv_pointer {
	struct mlv_oid oid;
	uint64_t size;
	uint64_t files; /* directories: number of files (and symlinks) inside */
	int exec;       /* files: the executable bit is set ("exec yes") */
	enum mlv_kind kind;
	enum mlv_ptype type;
	struct mlv_buf extra; /* unknown "key value\n" lines, verbatim, in order */
};

void mlv_pointer_init(struct mlv_pointer *p);
void mlv_pointer_release(struct mlv_pointer *p);

/*
 * Parse `len` bytes.  `name` is used in messages, which name the file and
 * line ("data/x.mlv:3: ...").  MLV_EINVALID or MLV_EUNSUPPORTED on any
 * deviation; `out` must be initialised and is left released on failure.
 */
int mlv_pointer_parse(struct mlv_pointer *out, const char *data, size_t len, const char *name);
/*
 * Read and parse the pointer file `path` below directory `dirfd` (at most
 * MLV_POINTER_MAX bytes), never through a symlink (mlv/fs.h): a symlink
 * anywhere on the way is MLV_EINVALID.  MLV_ENOTFOUND when it does not
 * exist.
 */
int mlv_pointer_read_at(struct mlv_pointer *out, int dirfd, const char *path);

/*
 * 1 when `len` bytes hold a line that is one of git's merge-conflict
 * markers ("<<<<<<< ", "||||||| ", "=======", ">>>>>>> "), else 0.
 * mlv_pointer_parse() refuses such a file with MLV_EINVALID "merge
 * conflict in <name>" before looking at its keys.
 */
int mlv_pointer_conflicted(const char *data, size_t len);
/*
 * Append the canonical form to `out`: version, oid, size, kind, type,
 * files (directories only), then the unknown lines of `extra` in order.
 */
void mlv_pointer_format(struct mlv_buf *out, const struct mlv_pointer *p);
/*
 * Write pointer file `path` below `dirfd` by the lock protocol
 * (mlv/lock.h): take `path`.lock (never through a symlink), write, fsync,
 * rename into place, mode 0644.  MLV_ECONFLICT naming the holder when
 * another process has the lock; MLV_EINVALID (nothing written) when the
 * formatted pointer would not parse back, e.g. a size above INT64_MAX or
 * a malformed `extra`.
 */
int mlv_pointer_write_at(int dirfd, const char *path, const struct mlv_pointer *p);
/*
 * Write `p` into lock `l`, already held by the caller, and commit it.
 * The lock is released either way.
 */
struct mlv_lock;
int mlv_pointer_write_locked(struct mlv_lock *l, const struct mlv_pointer *p);

/* "data", "model", "metric"; "unknown" for any other value. */
const char *mlv_kind_name(enum mlv_kind k);
/* 0 and `out` set, or MLV_EINVALID. */
int mlv_kind_parse(enum mlv_kind *out, const char *s);

#pragma GCC visibility pop

#endif
