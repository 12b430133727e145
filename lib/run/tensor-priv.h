#ifndef MLV_RUN_TENSOR_PRIV_H
#define MLV_RUN_TENSOR_PRIV_H

/*
 * Tensor files read for mlv/tensordiff.h: tensorfile.c parses a
 * safetensors or .npy file (bounded, strict) into the list of its tensors,
 * each pointing into the caller's bytes; tensordiff.c compares two.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mlv/tensordiff.h"

enum dkind {
	DK_BYTES = 0, /* no numeric meaning: compared byte by byte */
	DK_FLOAT,     /* IEEE binary32/binary64 */
	DK_F16,
	DK_BF16,
	DK_F8E4M3,
	DK_F8E5M2,
	DK_INT,
	DK_UINT,
	DK_BOOL,
};

struct dtype {
	enum dkind kind;
	unsigned size;
	int big; /* big-endian */
};

struct tensor {
	char *name;
	char dtype_name[16];
	struct dtype t;
	size_t ndim;
	uint64_t *shape;
	uint64_t count;
	const unsigned char *data;
	uint64_t nbytes;
	uint64_t begin; /* safetensors: offset in the data section */
	int fortran;
};

struct tfile {
	const char *name;
	enum mlv_tensor_format format;
	struct tensor *t;
	size_t nr, alloc;
	json_t *metadata;
};

/*
 * Parse `len` bytes (kept by the caller while `f` is used) named `name`
 * (nullable; messages, and the format when the bytes do not say it).
 * MLV_EINVALID or MLV_EUNSUPPORTED naming the file; release `f` either way.
 */
int tensor_file_parse(struct tfile *f, const void *data, size_t len, const char *name);
void tensor_file_release(struct tfile *f);

#endif
