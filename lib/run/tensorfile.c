/*
 * Tensor files: safetensors and NumPy .npy, parsed strictly and within
 * bounds (run/tensor-priv.h, mlv/tensordiff.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/tensordiff.h"
#include "run/tensor-priv.h"

#define SAFETENSORS_DEPTH_MAX 4
#define NPY_ITEMSIZE_MAX (1u << 20)
#define NPY_NAME "array"

void tensor_file_release(struct tfile *f)
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

int tensor_file_parse(struct tfile *f, const void *data, size_t len, const char *name)
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

