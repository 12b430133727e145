/*
 * Tensor files compared tensor by tensor (mlv/tensordiff.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/tensordiff.h"

#define SAFETENSORS_DEPTH_MAX 4
#define NPY_ITEMSIZE_MAX (1u << 20)
#define NPY_NAME "array"
/* Bytes compared with memcmp before looking at single elements. */
#define BLOCK_BYTES (64u * 1024)

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

static void tfile_release(struct tfile *f)
{
	size_t i;

	for (i = 0; i < f->nr; i++) {
		free(f->t[i].name);
		free(f->t[i].shape);
	}
	free(f->t);
	json_decref(f->metadata);
	memset(f, 0, sizeof(*f));
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

const char *mlv_tensor_format_name(enum mlv_tensor_format f)
{
	switch (f) {
	case MLV_TENSOR_FORMAT_SAFETENSORS:
		return "safetensors";
	case MLV_TENSOR_FORMAT_NPY:
		return "npy";
	default:
		return "unknown";
	}
}

const char *mlv_tensor_status_name(enum mlv_tensor_status s)
{
	switch (s) {
	case MLV_TENSOR_EQUAL:
		return "equal";
	case MLV_TENSOR_VALUES:
		return "values";
	case MLV_TENSOR_DTYPE:
		return "dtype";
	case MLV_TENSOR_SHAPE:
		return "shape";
	case MLV_TENSOR_ONLY_A:
		return "only-a";
	case MLV_TENSOR_ONLY_B:
		return "only-b";
	}
	return "unknown";
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n, m;

	if (!s)
		return 0;
	n = strlen(s);
	m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

enum mlv_tensor_format mlv_tensor_format_detect(const void *head, size_t len, uint64_t file_size,
						const char *name)
{
	const unsigned char *p = head;

	if (len >= 6 && !memcmp(p, "\x93NUMPY", 6))
		return MLV_TENSOR_FORMAT_NPY;
	if (len >= 9 && p[8] == '{') {
		uint64_t n = le64(p);

		if (n >= 2 && n <= MLV_TENSOR_HEADER_MAX && file_size >= 8 && n <= file_size - 8)
			return MLV_TENSOR_FORMAT_SAFETENSORS;
	}
	if (ends_with(name, ".safetensors"))
		return MLV_TENSOR_FORMAT_SAFETENSORS;
	if (ends_with(name, ".npy"))
		return MLV_TENSOR_FORMAT_NPY;
	return MLV_TENSOR_FORMAT_UNKNOWN;
}

/* count *= dim, and the byte size; -1 on overflow. */
static int shape_count(uint64_t *count, uint64_t *nbytes, const uint64_t *shape, size_t ndim,
		       unsigned itemsize)
{
	uint64_t c = 1;
	size_t i;

	for (i = 0; i < ndim; i++)
		if (__builtin_mul_overflow(c, shape[i], &c))
			return -1;
	if (__builtin_mul_overflow(c, (uint64_t)itemsize, nbytes) || *nbytes > INT64_MAX)
		return -1;
	*count = c;
	return 0;
}

static struct tensor *tfile_push(struct tfile *f)
{
	struct tensor *t;

	MLV_ALLOC_GROW(f->t, f->nr + 1, f->alloc);
	t = &f->t[f->nr++];
	memset(t, 0, sizeof(*t));
	return t;
}

/* safetensors */

static int safetensors_dtype(struct dtype *out, const char *s)
{
	static const struct {
		const char *name;
		enum dkind kind;
		unsigned size;
	} types[] = {
		{ "F64", DK_FLOAT, 8 },   { "F32", DK_FLOAT, 4 },   { "F16", DK_F16, 2 },
		{ "BF16", DK_BF16, 2 },   { "F8_E4M3", DK_F8E4M3, 1 }, { "F8_E5M2", DK_F8E5M2, 1 },
		{ "I64", DK_INT, 8 },     { "I32", DK_INT, 4 },     { "I16", DK_INT, 2 },
		{ "I8", DK_INT, 1 },      { "U64", DK_UINT, 8 },    { "U32", DK_UINT, 4 },
		{ "U16", DK_UINT, 2 },    { "U8", DK_UINT, 1 },     { "BOOL", DK_BOOL, 1 },
		/* known to the format, compared as bytes */
		{ "C64", DK_BYTES, 8 },   { "F8_E8M0", DK_BYTES, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(types[i].name, s)) {
			out->kind = types[i].kind;
			out->size = types[i].size;
			out->big = 0;
			return 0;
		}
	return -1;
}

/*
 * Before Jansson sees the header: nesting depth and a count of values, so
 * that a hostile header cannot make it allocate without bound.
 */
static int safetensors_prescan(const unsigned char *h, size_t n, const char *name)
{
	size_t i, values = 1;
	int depth = 0, in_string = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = h[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_string = 1;
			break;
		case '{':
		case '[':
			if (++depth > SAFETENSORS_DEPTH_MAX)
				return mlv_error_set(MLV_EINVALID,
						     "%s: safetensors header nested too deeply", name);
			values++;
			break;
		case '}':
		case ']':
			depth--;
			break;
		case ',':
			values++;
			break;
		}
		if (values > MLV_TENSOR_JSON_VALUES_MAX)
			return mlv_error_set(MLV_EINVALID,
					     "%s: safetensors header has more than %u values", name,
					     MLV_TENSOR_JSON_VALUES_MAX);
	}
	return 0;
}

/* A non-negative JSON integer. */
static int json_u64(uint64_t *out, json_t *v)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int cmp_begin(const void *a, const void *b)
{
	const struct tensor *x = *(const struct tensor *const *)a;
	const struct tensor *y = *(const struct tensor *const *)b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static int safetensors_entry(struct tfile *f, const char *key, json_t *v,
			     const unsigned char *data, uint64_t datalen)
{
	json_t *dt, *shape, *offs;
	struct tensor *t;
	uint64_t begin, end;
	size_t i;

	if (!json_is_object(v))
		return mlv_error_set(MLV_EINVALID, "%s: tensor '%s' is not an object", f->name, key);
	dt = json_object_get(v, "dtype");
	shape = json_object_get(v, "shape");
	offs = json_object_get(v, "data_offsets");
	if (!json_is_string(dt) || !json_is_array(shape) || !json_is_array(offs))
		return mlv_error_set(MLV_EINVALID,
				     "%s: tensor '%s' lacks dtype, shape or data_offsets", f->name, key);
	if (json_array_size(shape) > MLV_TENSOR_NDIM_MAX)
		return mlv_error_set(MLV_EINVALID, "%s: tensor '%s' has more than %d dimensions",
				     f->name, key, MLV_TENSOR_NDIM_MAX);
	if (json_array_size(offs) != 2 || json_u64(&begin, json_array_get(offs, 0)) ||
	    json_u64(&end, json_array_get(offs, 1)) || begin > end)
		return mlv_error_set(MLV_EINVALID, "%s: tensor '%s' has bad data_offsets", f->name,
				     key);
	if (end > datalen)
		return mlv_error_set(MLV_EINVALID,
				     "%s: tensor '%s' data_offsets [%llu, %llu] beyond the file's %llu data bytes",
				     f->name, key, (unsigned long long)begin, (unsigned long long)end,
				     (unsigned long long)datalen);
	t = tfile_push(f);
	t->name = mlv_strdup(key);
	snprintf(t->dtype_name, sizeof(t->dtype_name), "%s", json_string_value(dt));
	if (strlen(json_string_value(dt)) >= sizeof(t->dtype_name) ||
	    safetensors_dtype(&t->t, json_string_value(dt)))
		return mlv_error_set(MLV_EINVALID, "%s: tensor '%s' has an unknown dtype", f->name,
				     key);
	t->ndim = json_array_size(shape);
	t->shape = t->ndim ? mlv_calloc(t->ndim, sizeof(*t->shape)) : NULL;
	for (i = 0; i < t->ndim; i++)
		if (json_u64(&t->shape[i], json_array_get(shape, i)))
			return mlv_error_set(MLV_EINVALID, "%s: tensor '%s' has a bad shape",
					     f->name, key);
	if (shape_count(&t->count, &t->nbytes, t->shape, t->ndim, t->t.size) ||
	    t->nbytes != end - begin)
		return mlv_error_set(MLV_EINVALID,
				     "%s: tensor '%s': its shape and dtype make a size other than its data_offsets",
				     f->name, key);
	t->begin = begin;
	t->data = data + begin;
	return 0;
}

static int safetensors_parse(struct tfile *f, const unsigned char *p, size_t len)
{
	const unsigned char *data;
	uint64_t n, datalen;
	json_error_t jerr;
	json_t *root = NULL, *v;
	struct tensor **byoff = NULL;
	const char *key;
	size_t i;
	int ret = 0;

	if (len < 8)
		return mlv_error_set(MLV_EINVALID, "%s: too short for a safetensors file", f->name);
	n = le64(p);
	if (n > MLV_TENSOR_HEADER_MAX)
		return mlv_error_set(MLV_EINVALID,
				     "%s: safetensors header of %llu bytes (more than %u)", f->name,
				     (unsigned long long)n, MLV_TENSOR_HEADER_MAX);
	if (n > len - 8)
		return mlv_error_set(MLV_EINVALID,
				     "%s: safetensors header of %llu bytes beyond the end of the file",
				     f->name, (unsigned long long)n);
	if ((ret = safetensors_prescan(p + 8, n, f->name)))
		return ret;
	root = json_loadb((const char *)p + 8, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return mlv_error_set(MLV_EINVALID, "%s: safetensors header: %s", f->name, jerr.text);
	if (!json_is_object(root)) {
		ret = mlv_error_set(MLV_EINVALID, "%s: safetensors header is not an object", f->name);
		goto done;
	}
	data = p + 8 + n;
	datalen = len - 8 - n;
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "__metadata__")) {
			if (!json_is_object(v)) {
				ret = mlv_error_set(MLV_EINVALID,
						    "%s: safetensors __metadata__ is not an object",
						    f->name);
				goto done;
			}
			f->metadata = json_incref(v);
			continue;
		}
		if ((ret = safetensors_entry(f, key, v, data, datalen)))
			goto done;
	}
	/* No two tensors may share bytes. */
	if (f->nr > 1) {
		byoff = mlv_calloc(f->nr, sizeof(*byoff));
		for (i = 0; i < f->nr; i++)
			byoff[i] = &f->t[i];
		qsort(byoff, f->nr, sizeof(*byoff), cmp_begin);
		for (i = 1; i < f->nr; i++)
			if (byoff[i]->begin < byoff[i - 1]->begin + byoff[i - 1]->nbytes) {
				ret = mlv_error_set(MLV_EINVALID,
						    "%s: tensors '%s' and '%s' overlap", f->name,
						    byoff[i - 1]->name, byoff[i]->name);
				goto done;
			}
	}
done:
	free(byoff);
	json_decref(root);
	return ret;
}

/* NumPy .npy */

struct pyscan {
	const char *p, *end;
};

static void py_ws(struct pyscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int py_char(struct pyscan *s, char c)
{
	py_ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return 1;
	}
	return 0;
}

/* A quoted string without escapes (all numpy writes), into out. */
static int py_string(struct pyscan *s, char *out, size_t size)
{
	const char *start;
	char q;

	py_ws(s);
	if (s->p >= s->end || (*s->p != '\'' && *s->p != '"'))
		return -1;
	q = *s->p++;
	start = s->p;
	while (s->p < s->end && *s->p != q) {
		if (*s->p == '\\' || (unsigned char)*s->p < 0x20)
			return -1;
		s->p++;
	}
	if (s->p >= s->end || (size_t)(s->p - start) >= size)
		return -1;
	memcpy(out, start, s->p - start);
	out[s->p - start] = '\0';
	s->p++;
	return 0;
}

static int py_word(struct pyscan *s, const char *w)
{
	size_t n = strlen(w);

	py_ws(s);
	if ((size_t)(s->end - s->p) >= n && !memcmp(s->p, w, n)) {
		s->p += n;
		return 1;
	}
	return 0;
}

static int py_int(struct pyscan *s, uint64_t *out)
{
	const char *start;

	py_ws(s);
	start = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	if (s->p == start || mlv_parse_decimal(out, start, s->p - start))
		return -1;
	if (s->p < s->end && *s->p == 'L') /* Python 2 longs */
		s->p++;
	return 0;
}

static int npy_descr(struct dtype *out, const char *d)
{
	uint64_t n;
	const char *digits;
	size_t nd;
	char order = d[0], kind;

	if (!order || !strchr("<>|=", order) || !d[1])
		return -1;
	kind = d[1];
	digits = d + 2;
	nd = strspn(digits, "0123456789");
	if (!nd || mlv_parse_decimal(&n, digits, nd) || !n || n > NPY_ITEMSIZE_MAX)
		return -1;
	if (digits[nd]) {
		/* datetime64/timedelta64 units: "<M8[ns]" */
		size_t rest = strlen(digits + nd);

		if ((kind != 'M' && kind != 'm') || digits[nd] != '[' || digits[nd + rest - 1] != ']')
			return -1;
	}
	out->size = (unsigned)n;
	out->big = order == '>' || (order == '=' && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);
	switch (kind) {
	case 'f':
		if (n == 2)
			out->kind = DK_F16;
		else if (n == 4 || n == 8)
			out->kind = DK_FLOAT;
		else
			out->kind = DK_BYTES; /* long double */
		break;
	case 'i':
	case 'u':
		if (n != 1 && n != 2 && n != 4 && n != 8)
			return -1;
		out->kind = kind == 'i' ? DK_INT : DK_UINT;
		break;
	case 'b':
		if (n != 1)
			return -1;
		out->kind = DK_BOOL;
		break;
	case 'U':
		if (n > NPY_ITEMSIZE_MAX / 4)
			return -1;
		out->size = (unsigned)n * 4;
		out->kind = DK_BYTES;
		break;
	case 'c':
	case 'S':
	case 'a':
	case 'V':
	case 'M':
	case 'm':
		out->kind = DK_BYTES;
		break;
	default: /* 'O' (pickled objects) and anything else */
		return -1;
	}
	return 0;
}

static int npy_parse(struct tfile *f, const unsigned char *p, size_t len)
{
	struct pyscan s;
	struct tensor *t;
	uint64_t hlen, start, dims[MLV_TENSOR_NDIM_MAX];
	char key[32], descr[sizeof(((struct tensor *)0)->dtype_name)];
	int have_descr = 0, have_order = 0, have_shape = 0;
	size_t ndim = 0;

	if (len < 10 || memcmp(p, "\x93NUMPY", 6))
		return mlv_error_set(MLV_EINVALID, "%s: not a .npy file", f->name);
	if (p[7] != 0 || p[6] < 1 || p[6] > 3)
		return mlv_error_set(MLV_EUNSUPPORTED, "%s: .npy format version %u.%u", f->name,
				     p[6], p[7]);
	if (p[6] == 1) {
		hlen = (uint64_t)p[8] | (uint64_t)p[9] << 8;
		start = 10;
	} else {
		if (len < 12)
			return mlv_error_set(MLV_EINVALID, "%s: truncated .npy header", f->name);
		hlen = le32(p + 8);
		start = 12;
	}
	if (hlen > MLV_TENSOR_HEADER_MAX || hlen > len - start)
		return mlv_error_set(MLV_EINVALID, "%s: .npy header of %llu bytes beyond the file",
				     f->name, (unsigned long long)hlen);
	s.p = (const char *)p + start;
	s.end = s.p + hlen;
	t = tfile_push(f);
	t->name = mlv_strdup(NPY_NAME);
	if (!py_char(&s, '{'))
		goto bad;
	while (!py_char(&s, '}')) {
		if (py_string(&s, key, sizeof(key)) || !py_char(&s, ':'))
			goto bad;
		if (!strcmp(key, "descr") && !have_descr) {
			if (py_string(&s, descr, sizeof(descr)))
				return mlv_error_set(MLV_EUNSUPPORTED,
						     "%s: .npy dtype not supported (structured or too long)",
						     f->name);
			if (npy_descr(&t->t, descr))
				return mlv_error_set(MLV_EUNSUPPORTED, "%s: .npy dtype '%s'",
						     f->name, descr);
			memcpy(t->dtype_name, descr, sizeof(descr));
			have_descr = 1;
		} else if (!strcmp(key, "fortran_order") && !have_order) {
			if (py_word(&s, "True"))
				t->fortran = 1;
			else if (!py_word(&s, "False"))
				goto bad;
			have_order = 1;
		} else if (!strcmp(key, "shape") && !have_shape) {
			if (!py_char(&s, '('))
				goto bad;
			while (!py_char(&s, ')')) {
				if (ndim == MLV_TENSOR_NDIM_MAX)
					return mlv_error_set(MLV_EINVALID,
							     "%s: .npy shape of more than %d dimensions",
							     f->name, MLV_TENSOR_NDIM_MAX);
				if (py_int(&s, &dims[ndim++]))
					goto bad;
				if (!py_char(&s, ',')) {
					if (!py_char(&s, ')'))
						goto bad;
					break;
				}
			}
			have_shape = 1;
		} else {
			goto bad;
		}
		if (!py_char(&s, ',')) {
			if (!py_char(&s, '}'))
				goto bad;
			break;
		}
	}
	py_ws(&s);
	if (s.p != s.end || !have_descr || !have_order || !have_shape)
		goto bad;
	t->ndim = ndim;
	if (ndim) {
		t->shape = mlv_calloc(ndim, sizeof(*t->shape));
		memcpy(t->shape, dims, ndim * sizeof(*dims));
	}
	if (shape_count(&t->count, &t->nbytes, t->shape, t->ndim, t->t.size))
		return mlv_error_set(MLV_EINVALID, "%s: .npy shape too large", f->name);
	if (t->nbytes != len - start - hlen)
		return mlv_error_set(MLV_EINVALID,
				     "%s: .npy data of %llu bytes where its shape needs %llu", f->name,
				     (unsigned long long)(len - start - hlen),
				     (unsigned long long)t->nbytes);
	t->data = p + start + hlen;
	return 0;
bad:
	return mlv_error_set(MLV_EINVALID, "%s: malformed .npy header", f->name);
}

/* Values */

static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
	float f;

	if (exp == 0x1f) {
		bits = sign | 0x7f800000u | (mant << 13);
	} else if (exp) {
		bits = sign | ((exp + 112) << 23) | (mant << 13);
	} else if (mant) {
		/* subnormal: mant * 2^-24 */
		f = (float)mant * 5.9604644775390625e-8f;
		return sign ? -f : f;
	} else {
		bits = sign;
	}
	memcpy(&f, &bits, sizeof(f));
	return f;
}

static double f8e4m3_to_double(uint8_t b)
{
	int sign = b >> 7, exp = (b >> 3) & 0xf, mant = b & 7;
	double v;

	if (exp == 0xf && mant == 7)
		return NAN; /* the "fn" variant: no infinities */
	if (exp)
		v = ldexp(1.0 + mant / 8.0, exp - 7);
	else
		v = ldexp(mant / 8.0, -6);
	return sign ? -v : v;
}

struct value {
	int isint;
	__int128 i;
	double f;
};

static uint64_t load_bits(const unsigned char *p, const struct dtype *t)
{
	uint64_t v = 0;
	unsigned k;

	if (t->big)
		for (k = 0; k < t->size; k++)
			v = (v << 8) | p[k];
	else
		for (k = t->size; k-- > 0;)
			v = (v << 8) | p[k];
	return v;
}

/* Numeric value of the element at `p`; 0 for DK_BYTES (not called then). */
static void load_value(struct value *v, const unsigned char *p, const struct dtype *t)
{
	uint64_t bits = load_bits(p, t);
	uint32_t b32;
	float f32;

	v->isint = 0;
	switch (t->kind) {
	case DK_FLOAT:
		if (t->size == 4) {
			b32 = (uint32_t)bits;
			memcpy(&f32, &b32, 4);
			v->f = f32;
		} else {
			memcpy(&v->f, &bits, 8);
		}
		break;
	case DK_F16:
		v->f = half_to_float((uint16_t)bits);
		break;
	case DK_BF16:
		b32 = (uint32_t)bits << 16;
		memcpy(&f32, &b32, 4);
		v->f = f32;
		break;
	case DK_F8E5M2:
		v->f = half_to_float((uint16_t)(bits << 8));
		break;
	case DK_F8E4M3:
		v->f = f8e4m3_to_double((uint8_t)bits);
		break;
	case DK_INT:
		v->isint = 1;
		if (t->size < 8 && (bits >> (t->size * 8 - 1)) & 1)
			bits |= ~0ULL << (t->size * 8); /* sign-extend */
		v->i = (int64_t)bits;
		break;
	case DK_UINT:
	case DK_BOOL:
		v->isint = 1;
		v->i = bits;
		break;
	case DK_BYTES:
		v->f = 0;
		break;
	}
}

static double value_double(const struct value *v)
{
	return v->isint ? (double)v->i : v->f;
}

struct acc {
	struct mlv_tensor_cmp *c;
	uint64_t max_abs_off; /* element offset (storage order of a) of max_abs */
	int same_dtype;
	int numeric;
};

/* One pair of elements at storage offset `off` of a. */
static void cmp_element(struct acc *acc, const unsigned char *pa, const struct dtype *ta,
			const unsigned char *pb, const struct dtype *tb, uint64_t off)
{
	struct mlv_tensor_cmp *c = acc->c;
	struct value a, b;
	double da, db, absd, m, rel;

	if (acc->same_dtype && !memcmp(pa, pb, ta->size))
		return;
	if (!acc->numeric) {
		c->differing++;
		return;
	}
	load_value(&a, pa, ta);
	load_value(&b, pb, tb);
	if (a.isint && b.isint) {
		__int128 d = a.i - b.i, ma = a.i < 0 ? -a.i : a.i, mb = b.i < 0 ? -b.i : b.i;

		if (!d)
			return; /* equal values of different types */
		absd = (double)(d < 0 ? -d : d);
		m = (double)(ma > mb ? ma : mb);
	} else {
		da = value_double(&a);
		db = value_double(&b);
		if (!acc->same_dtype && (da == db || (isnan(da) && isnan(db))))
			return;
		if (!isfinite(da) || !isfinite(db)) {
			c->differing++;
			c->nonfinite++;
			return;
		}
		absd = fabs(da - db);
		m = fmax(fabs(da), fabs(db));
	}
	c->differing++;
	rel = m > 0 ? absd / m : 0;
	if (absd > c->max_abs || c->differing - c->nonfinite == 1) {
		c->max_abs = absd;
		acc->max_abs_off = off;
	}
	if (rel > c->max_rel)
		c->max_rel = rel;
}

/* Same dtype and storage order: blocks compared with memcmp first. */
static void cmp_contiguous(struct acc *acc, const struct tensor *x, const struct tensor *y)
{
	unsigned size = x->t.size;
	uint64_t per = BLOCK_BYTES / size ? BLOCK_BYTES / size : 1, i, j, n;

	for (i = 0; i < x->count; i += per) {
		const unsigned char *pa = x->data + i * size, *pb = y->data + i * size;

		n = x->count - i < per ? x->count - i : per;
		if (!memcmp(pa, pb, n * size))
			continue;
		for (j = 0; j < n; j++)
			cmp_element(acc, pa + j * size, &x->t, pb + j * size, &y->t, i + j);
	}
}

static void strides(uint64_t *out, const struct tensor *t)
{
	uint64_t s = 1;
	size_t k;

	if (t->fortran) {
		for (k = 0; k < t->ndim; k++) {
			out[k] = s;
			s *= t->shape[k];
		}
	} else {
		for (k = t->ndim; k-- > 0;) {
			out[k] = s;
			s *= t->shape[k];
		}
	}
}

/* Any two layouts of one shape: walk the C-order index, offsets by strides. */
static void cmp_strided(struct acc *acc, const struct tensor *x, const struct tensor *y)
{
	uint64_t sa[MLV_TENSOR_NDIM_MAX], sb[MLV_TENSOR_NDIM_MAX], idx[MLV_TENSOR_NDIM_MAX];
	uint64_t oa = 0, ob = 0, n;
	size_t k;

	strides(sa, x);
	strides(sb, y);
	memset(idx, 0, sizeof(idx));
	for (n = 0; n < x->count; n++) {
		cmp_element(acc, x->data + oa * x->t.size, &x->t, y->data + ob * y->t.size, &y->t, oa);
		for (k = x->ndim; k-- > 0;) {
			if (++idx[k] < x->shape[k]) {
				oa += sa[k];
				ob += sb[k];
				break;
			}
			oa -= sa[k] * (idx[k] - 1);
			ob -= sb[k] * (idx[k] - 1);
			idx[k] = 0;
		}
	}
}

/* The C-order flat index of storage offset `off` of `t`. */
static uint64_t c_index(const struct tensor *t, uint64_t off)
{
	uint64_t idx[MLV_TENSOR_NDIM_MAX], flat = 0;
	size_t k;

	if (!t->fortran || t->ndim < 2)
		return off;
	for (k = 0; k < t->ndim; k++) {
		idx[k] = t->shape[k] ? off % t->shape[k] : 0;
		off = t->shape[k] ? off / t->shape[k] : 0;
	}
	for (k = 0; k < t->ndim; k++)
		flat = flat * t->shape[k] + idx[k];
	return flat;
}

static int dtype_equal(const struct tensor *x, const struct tensor *y)
{
	return x->t.kind == y->t.kind && x->t.size == y->t.size &&
	       (x->t.big == y->t.big || x->t.size == 1) &&
	       (x->t.kind != DK_BYTES || !strcmp(x->dtype_name + 1, y->dtype_name + 1));
}

static void copy_side(struct mlv_tensor_cmp *c, int side, const struct tensor *t)
{
	snprintf(c->dtype[side], sizeof(c->dtype[side]), "%s", t->dtype_name);
	c->ndim[side] = t->ndim;
	if (t->ndim) {
		c->shape[side] = mlv_calloc(t->ndim, sizeof(uint64_t));
		memcpy(c->shape[side], t->shape, t->ndim * sizeof(uint64_t));
	}
}

static void cmp_pair(struct mlv_tensor_cmp *c, const struct tensor *x, const struct tensor *y)
{
	struct acc acc;

	copy_side(c, 0, x);
	copy_side(c, 1, y);
	if (x->ndim != y->ndim ||
	    (x->ndim && memcmp(x->shape, y->shape, x->ndim * sizeof(uint64_t)))) {
		c->status = MLV_TENSOR_SHAPE;
		return;
	}
	memset(&acc, 0, sizeof(acc));
	acc.c = c;
	acc.same_dtype = dtype_equal(x, y);
	acc.numeric = x->t.kind != DK_BYTES && y->t.kind != DK_BYTES;
	c->measured = acc.numeric;
	if (!acc.same_dtype && !acc.numeric) {
		c->status = MLV_TENSOR_DTYPE;
		return;
	}
	c->elements = x->count;
	if (acc.same_dtype && (x->fortran == y->fortran || x->ndim < 2))
		cmp_contiguous(&acc, x, y);
	else
		cmp_strided(&acc, x, y);
	if (c->differing > c->nonfinite)
		c->max_abs_index = c_index(x, acc.max_abs_off);
	if (!acc.same_dtype)
		c->status = MLV_TENSOR_DTYPE;
	else
		c->status = c->differing ? MLV_TENSOR_VALUES : MLV_TENSOR_EQUAL;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct tensor *)a)->name, ((const struct tensor *)b)->name);
}

static int tfile_parse(struct tfile *f, const void *data, size_t len, const char *name)
{
	memset(f, 0, sizeof(*f));
	f->name = name ? name : "(buffer)";
	f->format = mlv_tensor_format_detect(data, len, len, name);
	switch (f->format) {
	case MLV_TENSOR_FORMAT_SAFETENSORS:
		return safetensors_parse(f, data, len);
	case MLV_TENSOR_FORMAT_NPY:
		return npy_parse(f, data, len);
	default:
		return mlv_error_set(MLV_EINVALID, "%s: not a safetensors or .npy file", f->name);
	}
}

void mlv_tensordiff_release(struct mlv_tensordiff *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nr; i++) {
		free(d->items[i].name);
		free(d->items[i].shape[0]);
		free(d->items[i].shape[1]);
	}
	free(d->items);
	memset(d, 0, sizeof(*d));
}

int mlv_tensordiff_buf(struct mlv_tensordiff *out, const void *a, size_t alen,
		       const char *name_a, const void *b, size_t blen, const char *name_b)
{
	struct tfile fa, fb;
	size_t i = 0, j = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(&fb, 0, sizeof(fb));
	if ((ret = tfile_parse(&fa, a, alen, name_a)) || (ret = tfile_parse(&fb, b, blen, name_b)))
		goto done;
	if (fa.format != fb.format) {
		ret = mlv_error_set(MLV_EINVALID, "%s is a %s file and %s a %s file", fa.name,
				    mlv_tensor_format_name(fa.format), fb.name,
				    mlv_tensor_format_name(fb.format));
		goto done;
	}
	out->format = fa.format;
	if (fa.nr > 1)
		qsort(fa.t, fa.nr, sizeof(*fa.t), cmp_name);
	if (fb.nr > 1)
		qsort(fb.t, fb.nr, sizeof(*fb.t), cmp_name);
	out->items = mlv_calloc(fa.nr + fb.nr + 1, sizeof(*out->items));
	while (i < fa.nr || j < fb.nr) {
		struct mlv_tensor_cmp *c = &out->items[out->nr++];
		int k = i == fa.nr ? 1 : j == fb.nr ? -1 : strcmp(fa.t[i].name, fb.t[j].name);

		if (k < 0) {
			c->name = mlv_strdup(fa.t[i].name);
			c->status = MLV_TENSOR_ONLY_A;
			copy_side(c, 0, &fa.t[i++]);
		} else if (k > 0) {
			c->name = mlv_strdup(fb.t[j].name);
			c->status = MLV_TENSOR_ONLY_B;
			copy_side(c, 1, &fb.t[j++]);
		} else {
			c->name = mlv_strdup(fa.t[i].name);
			cmp_pair(c, &fa.t[i++], &fb.t[j++]);
		}
		if (c->status != MLV_TENSOR_EQUAL)
			out->differing_tensors++;
	}
	out->metadata_differs = (fa.metadata || fb.metadata) &&
				(!fa.metadata || !fb.metadata || !json_equal(fa.metadata, fb.metadata));
done:
	tfile_release(&fa);
	tfile_release(&fb);
	if (ret)
		mlv_tensordiff_release(out);
	return ret;
}

struct mapping {
	void *p;
	size_t len;
};

static int map_fd(struct mapping *m, int fd, const char *name)
{
	struct stat st;

	m->p = NULL;
	m->len = 0;
	if (fstat(fd, &st))
		return mlv_error_set_errno(MLV_EIO, "cannot stat %s", name);
	if (!S_ISREG(st.st_mode))
		return mlv_error_set(MLV_EINVALID, "%s is not a regular file", name);
	if ((uint64_t)st.st_size > SIZE_MAX)
		return mlv_error_set(MLV_EINVALID, "%s is too large to map", name);
	m->len = (size_t)st.st_size;
	if (!m->len)
		return 0;
	m->p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m->p == MAP_FAILED) {
		m->p = NULL;
		return mlv_error_set_errno(MLV_EIO, "cannot map %s", name);
	}
	madvise(m->p, m->len, MADV_SEQUENTIAL);
	return 0;
}

int mlv_tensordiff_fd(struct mlv_tensordiff *out, int fd_a, const char *name_a, int fd_b,
		      const char *name_b)
{
	struct mapping ma = { NULL, 0 }, mb = { NULL, 0 };
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = map_fd(&ma, fd_a, name_a ? name_a : "(a)")) ||
	    (ret = map_fd(&mb, fd_b, name_b ? name_b : "(b)")))
		goto done;
	ret = mlv_tensordiff_buf(out, ma.p ? ma.p : "", ma.len, name_a, mb.p ? mb.p : "", mb.len,
				 name_b);
done:
	if (ma.p)
		munmap(ma.p, ma.len);
	if (mb.p)
		munmap(mb.p, mb.len);
	return ret;
}

static json_t *shape_json(const struct mlv_tensor_cmp *c, int side)
{
	json_t *a;
	size_t k;

	if (!c->dtype[side][0])
		return json_null();
	a = json_array();
	for (k = 0; k < c->ndim[side]; k++)
		json_array_append_new(a, json_integer((json_int_t)c->shape[side][k]));
	return a;
}

static json_t *number_json(double d)
{
	return isfinite(d) ? json_real(d) : json_string(isnan(d) ? "nan" : "inf");
}

json_t *mlv_tensordiff_json(const struct mlv_tensordiff *d, int only_differing,
			    json_t *(*text)(const char *s))
{
	json_t *o = json_object(), *arr = json_array();
	size_t i;

	json_object_set_new(o, "format", json_string(mlv_tensor_format_name(d->format)));
	json_object_set_new(o, "differing_tensors", json_integer((json_int_t)d->differing_tensors));
	json_object_set_new(o, "metadata_differs", json_boolean(d->metadata_differs));
	for (i = 0; i < d->nr; i++) {
		const struct mlv_tensor_cmp *c = &d->items[i];
		json_t *t;

		if (only_differing && c->status == MLV_TENSOR_EQUAL)
			continue;
		t = json_object();
		json_object_set_new(t, "name", text ? text(c->name) : json_string(c->name));
		json_object_set_new(t, "status", json_string(mlv_tensor_status_name(c->status)));
		json_object_set_new(t, "dtype",
				    json_pack("[s?s?]", c->dtype[0][0] ? c->dtype[0] : NULL,
					      c->dtype[1][0] ? c->dtype[1] : NULL));
		json_object_set_new(t, "shape", json_pack("[oo]", shape_json(c, 0), shape_json(c, 1)));
		json_object_set_new(t, "elements", json_integer((json_int_t)c->elements));
		json_object_set_new(t, "differing", json_integer((json_int_t)c->differing));
		json_object_set_new(t, "nonfinite", json_integer((json_int_t)c->nonfinite));
		if (c->measured && c->elements) {
			json_object_set_new(t, "max_abs", number_json(c->max_abs));
			json_object_set_new(t, "max_rel", number_json(c->max_rel));
		} else {
			json_object_set_new(t, "max_abs", json_null());
			json_object_set_new(t, "max_rel", json_null());
		}
		json_object_set_new(t, "max_abs_index",
				    c->measured && c->differing > c->nonfinite
					    ? json_integer((json_int_t)c->max_abs_index)
					    : json_null());
		json_array_append_new(arr, t);
	}
	json_object_set_new(o, "tensors", arr);
	return o;
}
