#ifndef MLV_POINTER_H
#define MLV_POINTER_H

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
 *
 * Keys are [a-z][a-z0-9_-]*, each at most once; one space separates key
 * and value; lines end in "\n".  Unknown keys are kept verbatim and written
 * back.  The whole file is at most MLV_POINTER_MAX bytes.
 */
#define MLV_POINTER_MAX 4096
#define MLV_POINTER_SUFFIX ".mlv"

enum mlv_kind { MLV_KIND_DATA = 0, MLV_KIND_MODEL, MLV_KIND_METRIC };
enum mlv_ptype { MLV_PTYPE_FILE = 0, MLV_PTYPE_DIR };

struct mlv_pointer {
	struct mlv_oid oid;
	uint64_t size;
	uint64_t files; /* directories: number of files (and symlinks) inside */
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
/* Read and parse the file at `path` (at most MLV_POINTER_MAX bytes). */
int mlv_pointer_read(struct mlv_pointer *out, const char *path);
void mlv_pointer_format(struct mlv_buf *out, const struct mlv_pointer *p);
/* Atomic write: temporary file, fsync, rename. */
int mlv_pointer_write(const char *path, const struct mlv_pointer *p);

const char *mlv_kind_name(enum mlv_kind k);
/* 0 and `out` set, or MLV_EINVALID. */
int mlv_kind_parse(enum mlv_kind *out, const char *s);

#endif
