#ifndef MLV_TENSORDIFF_H
#define MLV_TENSORDIFF_H

/* mlv-layer: run */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/*
 * Compare two tensor files tensor by tensor: safetensors (any number of
 * named tensors) or NumPy .npy (one array, named "array").  For `mlv repro`,
 * so that a user can tell nondeterministic noise from a real change.
 *
 * Both files are hostile input.  A safetensors file is an 8-byte
 * little-endian header length N (at most MLV_TENSOR_HEADER_MAX), N bytes of
 * JSON ({"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets":
 * [begin, end]}, ..., "__metadata__": {...}}) and the data; the header is
 * scanned before it is parsed (nesting at most 4 deep, at most
 * MLV_TENSOR_JSON_VALUES_MAX values), every shape has at most
 * MLV_TENSOR_NDIM_MAX dimensions, its element count times the element size
 * must equal end - begin without overflow, every range must lie inside the
 * data and no two may overlap.  A .npy file is the magic "\x93NUMPY", a
 * version (1.0, 2.0 or 3.0), a header length (2 bytes in version 1, 4
 * after, at most MLV_TENSOR_HEADER_MAX) and a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)}; the data must
 * be exactly the array's size.  Anything else is MLV_EINVALID naming the
 * file (MLV_EUNSUPPORTED for another .npy version, a structured dtype or
 * pickled objects).  Memory is bounded by the header, never by the data.
 *
 * Data is never copied: a file is mapped read-only and compared in blocks
 * (memcmp first; element by element only inside a block that differs), so
 * two 10 GB files compare at the speed of reading them.
 *
 * Element types: safetensors F64 F32 F16 BF16 F8_E4M3 F8_E5M2 I64 I32 I16
 * I8 U64 U32 U16 U8 BOOL; .npy f2 f4 f8 i1..i8 u1..u8 b1 in either byte
 * order ('<', '>', '|', '=').  A type without numeric meaning to mlv
 * (complex, strings, other safetensors types) is compared byte by byte:
 * differing elements are counted, differences are not measured
 * (`measured` 0).
 *
 * What "differ" means:
 *  - Two tensors of the same dtype and shape: an element differs when its
 *    bytes differ (so -0.0 against 0.0 differs, with absolute difference 0;
 *    a NaN against the same NaN does not).
 *  - The same shape and different numeric dtypes: the values are compared
 *    (as exact integers or as doubles); two NaNs are equal.
 *  - Different shapes: not compared element-wise (MLV_TENSOR_SHAPE).
 *  - A Fortran-ordered array against a C-ordered one of the same shape is
 *    compared element by element at the same index.
 *
 * For differing elements whose values are both finite: absolute
 * difference |a - b|; relative difference |a - b| / max(|a|, |b|) (0 when
 * both are zero; at most 2).  max_abs and max_rel are the largest of
 * these (0 when none).  A differing pair where either side is NaN or
 * infinite is counted in `nonfinite` (and in `differing`) and left out of
 * the maxima.  Integers are subtracted exactly, then shown as doubles.
 */

#define MLV_TENSOR_HEADER_MAX (16u * 1024 * 1024)
#define MLV_TENSOR_JSON_VALUES_MAX 2000000u
#define MLV_TENSOR_NDIM_MAX 64

enum mlv_tensor_format {
	MLV_TENSOR_FORMAT_UNKNOWN = 0,
	MLV_TENSOR_FORMAT_SAFETENSORS,
	MLV_TENSOR_FORMAT_NPY,
};

/* "safetensors", "npy", "unknown". */
const char *mlv_tensor_format_name(enum mlv_tensor_format f);

/*
 * What the first bytes of a file (and its name, nullable) say it is: a
 * .npy file by its magic; a safetensors file by its header length (it
 * must fit in `file_size`) followed by '{'.  The name decides only when
 * the bytes do not: "*.safetensors", "*.npy".
 */
enum mlv_tensor_format mlv_tensor_format_detect(const void *head, size_t len, uint64_t file_size,
						const char *name);

enum mlv_tensor_status {
	MLV_TENSOR_EQUAL = 0,  /* same dtype and shape, every element's bytes equal */
	MLV_TENSOR_VALUES,     /* same shape, some elements differ */
	MLV_TENSOR_DTYPE,      /* same shape, different dtype, values compared (may all be equal) */
	MLV_TENSOR_SHAPE,      /* different shapes: not compared */
	MLV_TENSOR_ONLY_A,     /* only in the first file */
	MLV_TENSOR_ONLY_B,     /* only in the second file */
};

/* "equal", "values", "dtype", "shape", "only-a", "only-b". */
const char *mlv_tensor_status_name(enum mlv_tensor_status s);

struct mlv_tensor_cmp {
	char *name;                /* raw bytes of the name (may hold any byte but NUL) */
	enum mlv_tensor_status status;
	char dtype[2][16];         /* as the file spells it ("F32", "<f4"); "" when absent */
	size_t ndim[2];
	uint64_t *shape[2];        /* NULL when absent or scalar */
	uint64_t elements;         /* elements compared (0 when not compared) */
	uint64_t differing;        /* of those, how many differ */
	uint64_t nonfinite;        /* differing pairs with a NaN or an infinity */
	double max_abs, max_rel;
	uint64_t max_abs_index;    /* flat (C order) index of max_abs, when differing > nonfinite */
	int measured;              /* 1 when differences were measured (numeric dtypes) */
};

struct mlv_tensordiff {
	enum mlv_tensor_format format;
	struct mlv_tensor_cmp *items; /* sorted by name (bytewise) */
	size_t nr;
	size_t differing_tensors;     /* items whose status is not MLV_TENSOR_EQUAL */
	int metadata_differs;         /* safetensors "__metadata__" objects differ */
};

/*
 * Compare two files open for reading (regular files; mapped read-only
 * and unmapped again).  `name_a`/`name_b` are used in messages and to
 * detect the format.  0 and `out` filled (release it); MLV_EINVALID when
 * either file is not a well-formed tensor file or their formats differ
 * (MLV_EUNSUPPORTED: see above); MLV_EIO when one cannot be read.  On
 * failure `out` is left empty.
 */
int mlv_tensordiff_fd(struct mlv_tensordiff *out, int fd_a, const char *name_a, int fd_b,
		      const char *name_b);

/* The same for two buffers in memory. */
int mlv_tensordiff_buf(struct mlv_tensordiff *out, const void *a, size_t alen,
		       const char *name_a, const void *b, size_t blen, const char *name_b);

void mlv_tensordiff_release(struct mlv_tensordiff *d);

/*
 * The comparison as JSON: {"format": "safetensors", "differing_tensors": N,
 * "metadata_differs": false, "tensors": [{"name", "status", "dtype": [a, b],
 * "shape": [[...], [...]] (null for a side without it), "elements",
 * "differing", "nonfinite", "max_abs", "max_rel", "max_abs_index"}]}; only
 * the tensors that are not equal when `only_differing`.  Names are passed
 * through `text` (nullable: json_string, which refuses invalid UTF-8 by
 * returning NULL; the CLI passes its json_text()).
 */
json_t *mlv_tensordiff_json(const struct mlv_tensordiff *d, int only_differing,
			    json_t *(*text)(const char *s));

#pragma GCC visibility pop

#endif
