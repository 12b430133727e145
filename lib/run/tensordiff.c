/*
 * Tensor files compared tensor by tensor (mlv/tensordiff.h); parsing is
 * in tensorfile.c.
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
#include "run/tensor-priv.h"

/* Bytes compared with memcmp before looking at single elements. */
#define BLOCK_BYTES (64u * 1024)

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
	if ((ret = tensor_file_parse(&fa, a, alen, name_a)) || (ret = tensor_file_parse(&fb, b, blen, name_b)))
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
	tensor_file_release(&fa);
	tensor_file_release(&fb);
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
