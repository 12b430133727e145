#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/tensordiff.h"
#include "tap.h"

/* A safetensors file: 8-byte length, `header` as given, then `data`. */
static void st_make(struct mlv_buf *out, const char *header, const void *data, size_t len)
{
	size_t n = strlen(header);
	unsigned char h[8];
	int i;

	for (i = 0; i < 8; i++)
		h[i] = (unsigned char)((uint64_t)n >> (8 * i));
	mlv_buf_reset(out);
	mlv_buf_add(out, h, 8);
	mlv_buf_add(out, header, n);
	mlv_buf_add(out, data, len);
}

/* A .npy file of version `major` with dict `dict` and data. */
static void npy_make(struct mlv_buf *out, int major, const char *dict, const void *data,
		     size_t len)
{
	size_t n = strlen(dict), pre = major == 1 ? 10 : 12, total = pre + n + 1, pad, i;
	unsigned char h[12] = { 0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0 };

	pad = (64 - total % 64) % 64;
	n += pad + 1;
	if (major == 1) {
		h[8] = (unsigned char)n;
		h[9] = (unsigned char)(n >> 8);
	} else {
		for (i = 0; i < 4; i++)
			h[8 + i] = (unsigned char)(n >> (8 * i));
	}
	mlv_buf_reset(out);
	mlv_buf_add(out, h, pre);
	mlv_buf_adds(out, dict);
	for (i = 0; i < pad; i++)
		mlv_buf_addch(out, ' ');
	mlv_buf_addch(out, '\n');
	mlv_buf_add(out, data, len);
}

static int diff(struct mlv_tensordiff *d, const struct mlv_buf *a, const struct mlv_buf *b)
{
	return mlv_tensordiff_buf(d, a->ptr, a->len, "a", b->ptr, b->len, "b");
}

static const struct mlv_tensor_cmp *find(const struct mlv_tensordiff *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nr; i++)
		if (!strcmp(d->items[i].name, name))
			return &d->items[i];
	return NULL;
}

#define ST2 "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}," \
	    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}"

static void test_safetensors_values(void)
{
	struct mlv_buf a = MLV_BUF_INIT, b = MLV_BUF_INIT;
	struct mlv_tensordiff d;
	const struct mlv_tensor_cmp *c;
	float x[6] = { 1, 2, 3, 4, 5, 6 }, y[6] = { 1, 2, 3.5f, 4, 5, 6 };

	st_make(&a, ST2, x, sizeof(x));
	st_make(&b, ST2, x, sizeof(x));
	is_int(diff(&d, &a, &b), 0, "identical safetensors compare");
	is_int(d.format, MLV_TENSOR_FORMAT_SAFETENSORS, "format detected");
	is_int(d.nr, 2, "two tensors");
	is_int(d.differing_tensors, 0, "none differs");
	ok(d.nr == 2 && !strcmp(d.items[0].name, "b") && !strcmp(d.items[1].name, "w"),
	   "sorted by name");
	mlv_tensordiff_release(&d);

	st_make(&b, ST2, y, sizeof(y));
	is_int(diff(&d, &a, &b), 0, "one changed element");
	c = find(&d, "w");
	ok(c && c->status == MLV_TENSOR_VALUES, "w differs in values");
	if (c) {
		is_int(c->elements, 4, "4 elements compared");
		is_int(c->differing, 1, "1 differs");
		ok(c->max_abs == 0.5, "max_abs 0.5 (%g)", c->max_abs);
		ok(fabs(c->max_rel - 0.5 / 3.5) < 1e-12, "max_rel |a-b|/max(|a|,|b|) (%g)", c->max_rel);
		is_int(c->max_abs_index, 2, "index of the largest difference");
		ok(c->measured, "measured");
	}
	c = find(&d, "b");
	ok(c && c->status == MLV_TENSOR_EQUAL, "b equal");
	is_int(d.differing_tensors, 1, "one tensor differs");
	mlv_tensordiff_release(&d);
	mlv_buf_release(&a);
	mlv_buf_release(&b);
}

static void test_safetensors_structure(void)
{
	struct mlv_buf a = MLV_BUF_INIT, b = MLV_BUF_INIT;
	struct mlv_tensordiff d;
	const struct mlv_tensor_cmp *c;
	float x[6] = { 1, 2, 3, 4, 5, 6 };
	double x64[4] = { 1, 2, 3, 4 };

	st_make(&a, ST2, x, sizeof(x));
	st_make(&b,
		"{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
		"\"c\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
		"\"__metadata__\":{\"format\":\"pt\"}}",
		x, sizeof(x));
	is_int(diff(&d, &a, &b), 0, "different structures compare");
	c = find(&d, "w");
	ok(c && c->status == MLV_TENSOR_SHAPE, "shape mismatch");
	ok(c && c->ndim[0] == 2 && c->ndim[1] == 1 && c->shape[1][0] == 4, "both shapes kept");
	c = find(&d, "b");
	ok(c && c->status == MLV_TENSOR_ONLY_A, "only in a");
	c = find(&d, "c");
	ok(c && c->status == MLV_TENSOR_ONLY_B && !c->dtype[0][0], "only in b");
	ok(d.metadata_differs, "metadata differs");
	is_int(d.differing_tensors, 3, "three differing tensors");
	mlv_tensordiff_release(&d);

	/* Same values in another dtype. */
	st_make(&a, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", x, 16);
	st_make(&b, "{\"w\":{\"dtype\":\"F64\",\"shape\":[4],\"data_offsets\":[0,32]}}", x64, 32);
	is_int(diff(&d, &a, &b), 0, "F32 against F64");
	c = find(&d, "w");
	ok(c && c->status == MLV_TENSOR_DTYPE && c->differing == 0 && c->elements == 4,
	   "dtype differs, values equal");
	mlv_tensordiff_release(&d);
	x64[3] = 4.25;
	st_make(&b, "{\"w\":{\"dtype\":\"F64\",\"shape\":[4],\"data_offsets\":[0,32]}}", x64, 32);
	is_int(diff(&d, &a, &b), 0, "F32 against F64, one value changed");
	c = find(&d, "w");
	ok(c && c->status == MLV_TENSOR_DTYPE && c->differing == 1 && c->max_abs == 0.25,
	   "value difference across dtypes");
	mlv_tensordiff_release(&d);
	mlv_buf_release(&a);
	mlv_buf_release(&b);
}

#define ST1(dt, n, bytes)                                                             \
	"{\"t\":{\"dtype\":\"" dt "\",\"shape\":[" #n "],\"data_offsets\":[0," #bytes "]}}"

static void test_nonfinite(void)
{
	struct mlv_buf a = MLV_BUF_INIT, b = MLV_BUF_INIT;
	struct mlv_tensordiff d;
	const struct mlv_tensor_cmp *c;
	float x[4] = { NAN, 1.0f, 0.0f, INFINITY }, y[4] = { NAN, NAN, -0.0f, INFINITY };

	st_make(&a, ST1("F32", 4, 16), x, sizeof(x));
	st_make(&b, ST1("F32", 4, 16), y, sizeof(y));
	is_int(diff(&d, &a, &b), 0, "NaNs and zeros compare");
	c = find(&d, "t");
	if (ok(c != NULL, "tensor t")) {
		is_int(c->differing, 2, "the same NaN and the same inf are equal; 1/NaN and 0/-0 differ");
		is_int(c->nonfinite, 1, "NaN against 1 counted apart");
		ok(c->max_abs == 0 && c->max_rel == 0, "-0 against 0: differs by 0");
		is_int(c->max_abs_index, 2, "index of -0");
	}
	mlv_tensordiff_release(&d);
	mlv_buf_release(&a);
	mlv_buf_release(&b);
}

static void test_small_types(void)
{
	struct mlv_buf a = MLV_BUF_INIT, b = MLV_BUF_INIT;
	struct mlv_tensordiff d;
	const struct mlv_tensor_cmp *c;
	uint16_t h1[3] = { 0x3c00, 0x4000, 0x0001 }, h2[3] = { 0x3c00, 0x4200, 0x0002 };
	uint16_t bf1[2] = { 0x3f80, 0x4000 }, bf2[2] = { 0x3f80, 0x4040 };
	uint8_t e1[2] = { 0x38, 0x40 }, e2[2] = { 0x38, 0x48 };
	int64_t i1[2] = { INT64_MAX, 5 }, i2[2] = { INT64_MIN, 5 };

	st_make(&a, ST1("F16", 3, 6), h1, 6);
	st_make(&b, ST1("F16", 3, 6), h2, 6);
	is_int(diff(&d, &a, &b), 0, "F16");
	c = find(&d, "t");
	ok(c && c->differing == 2 && c->max_abs == 1.0 && c->max_rel == 0.5,
	   "F16: 2 against 3, and a subnormal (%g, %g)", c ? c->max_abs : -1, c ? c->max_rel : -1);
	mlv_tensordiff_release(&d);

	st_make(&a, ST1("BF16", 2, 4), bf1, 4);
	st_make(&b, ST1("BF16", 2, 4), bf2, 4);
	is_int(diff(&d, &a, &b), 0, "BF16");
	c = find(&d, "t");
	ok(c && c->differing == 1 && c->max_abs == 1.0 && c->max_abs_index == 1, "BF16: 2 against 3");
	mlv_tensordiff_release(&d);

	st_make(&a, ST1("F8_E4M3", 2, 2), e1, 2);
	st_make(&b, ST1("F8_E4M3", 2, 2), e2, 2);
	is_int(diff(&d, &a, &b), 0, "F8_E4M3");
	c = find(&d, "t");
	ok(c && c->differing == 1 && c->max_abs == 2.0, "F8_E4M3: 2 against 4");
	mlv_tensordiff_release(&d);

	st_make(&a, ST1("I64", 2, 16), i1, 16);
	st_make(&b, ST1("I64", 2, 16), i2, 16);
	is_int(diff(&d, &a, &b), 0, "I64");
	c = find(&d, "t");
	ok(c && c->differing == 1 && c->max_abs == ldexp(1, 64) && c->max_rel == ldexp(1, 64) / ldexp(1, 63),
	   "I64 extremes subtracted exactly");
	mlv_tensordiff_release(&d);
	mlv_buf_release(&a);
	mlv_buf_release(&b);
}

static void reject_st(const char *header, const void *data, size_t len, const char *needle,
		      const char *title)
{
	struct mlv_buf a = MLV_BUF_INIT;
	struct mlv_tensordiff d;
	int ret;

	st_make(&a, header, data, len);
	mlv_error_clear();
	ret = mlv_tensordiff_buf(&d, a.ptr, a.len, "bad.safetensors", a.ptr, a.len, "b");
	is_int(ret, MLV_EINVALID, "%s: rejected", title);
	if (!ok(strstr(mlv_error_last(), "bad.safetensors") && strstr(mlv_error_last(), needle),
		"%s: message says '%s'", title, needle))
		tap_diag("message: %s", mlv_error_last());
	ok(d.nr == 0 && !d.items, "%s: nothing returned", title);
	mlv_buf_release(&a);
}

static void test_hostile_safetensors(void)
{
	char zeros[64] = { 0 };
	struct mlv_buf big = MLV_BUF_INIT, a = MLV_BUF_INIT;
	struct mlv_tensordiff d;
	size_t i;
	int ret;

	reject_st(ST1("F32", 4, 16), zeros, 8, "beyond", "offsets beyond the file");
	reject_st(ST1("F32", 3, 16), zeros, 16, "size other", "shape and offsets disagree");
	reject_st("{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
		  "\"data_offsets\":[0,16]}}",
		  zeros, 16, "size other", "shape that overflows");
	reject_st("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", zeros, 0,
		  "bad shape", "negative dimension");
	reject_st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", zeros, 16,
		  "bad data_offsets", "end before begin");
	reject_st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", zeros, 16,
		  "bad data_offsets", "one offset");
	reject_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
		  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
		  zeros, 16, "overlap", "overlapping tensors");
	reject_st("{\"t\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", zeros, 1,
		  "unknown dtype", "unknown dtype");
	reject_st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		  "\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
		  zeros, 4, "duplicate", "duplicate names");
	reject_st("[1,2]", zeros, 0, "not an object", "header not an object");
	reject_st("{\"t\":[]}", zeros, 0, "not an object", "tensor not an object");
	reject_st("{\"t\":{\"dtype\":\"F32\"}}", zeros, 0, "lacks", "tensor without shape");
	reject_st("{\"a\":[[[[[[1]]]]]]}", zeros, 0, "nested", "deep nesting");
	reject_st("{\"__metadata__\":[1]}", zeros, 0, "__metadata__", "metadata not an object");
	reject_st("{\"t\":", zeros, 0, "header", "truncated JSON");

	/* More values than allowed: refused before Jansson builds them. */
	mlv_buf_adds(&big, "{\"t\":{\"dtype\":\"F32\",\"shape\":[");
	for (i = 0; i < MLV_TENSOR_JSON_VALUES_MAX + 10; i++)
		mlv_buf_adds(&big, i ? ",1" : "1");
	mlv_buf_adds(&big, "],\"data_offsets\":[0,4]}}");
	reject_st(big.ptr, zeros, 4, "more than", "too many values");
	mlv_buf_release(&big);

	/* The header length itself. */
	mlv_buf_add(&a, "\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10);
	mlv_error_clear();
	ret = mlv_tensordiff_buf(&d, a.ptr, a.len, "len.safetensors", a.ptr, a.len, "b");
	ok(ret == MLV_EINVALID && strstr(mlv_error_last(), "header of"),
	   "huge header length refused (%s)", mlv_error_last());
	mlv_buf_reset(&a);
	mlv_buf_add(&a, "\x40\x00\x00\x00\x00\x00\x00\x00{}", 10);
	ret = mlv_tensordiff_buf(&d, a.ptr, a.len, "len.safetensors", a.ptr, a.len, "b");
	ok(ret == MLV_EINVALID && strstr(mlv_error_last(), "beyond the end"),
	   "header length beyond the file refused (%s)", mlv_error_last());
	ret = mlv_tensordiff_buf(&d, "abc", 3, "x.bin", "abc", 3, "y.bin");
	ok(ret == MLV_EINVALID && strstr(mlv_error_last(), "not a safetensors or .npy"),
	   "unknown format refused");
	ret = mlv_tensordiff_buf(&d, "abc", 3, "x.safetensors", "abc", 3, "y.safetensors");
	ok(ret == MLV_EINVALID && strstr(mlv_error_last(), "too short"), "short file refused");

	/* An empty file with no tensors is fine. */
	st_make(&a, "{}", NULL, 0);
	is_int(mlv_tensordiff_buf(&d, a.ptr, a.len, "e", a.ptr, a.len, "f"), 0, "no tensors");
	is_int(d.nr, 0, "nothing compared");
	mlv_tensordiff_release(&d);
	mlv_buf_release(&a);
}

static void test_npy(void)
{
	struct mlv_buf a = MLV_BUF_INIT, b = MLV_BUF_INIT;
	struct mlv_tensordiff d;
	const struct mlv_tensor_cmp *c;
	double x[6] = { 1, 2, 3, 4, 5, 6 }, y[6] = { 1, 2, 3, 4, 5, 8 };
	/* the same matrix [[1,2,3],[4,5,6]] in Fortran order */
	double xf[6] = { 1, 4, 2, 5, 3, 6 };
	unsigned char be[48];
	int64_t i1[3] = { 1, -2, 3 }, i2[3] = { 1, 2, 3 };
	size_t i, k;

	npy_make(&a, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", x, 48);
	npy_make(&b, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", y, 48);
	is_int(diff(&d, &a, &b), 0, ".npy v1 against v2");
	is_int(d.format, MLV_TENSOR_FORMAT_NPY, "npy format");
	c = find(&d, "array");
	ok(c && c->status == MLV_TENSOR_VALUES && c->differing == 1 && c->max_abs == 2 &&
		   c->max_abs_index == 5 && c->max_rel == 0.25,
	   "one element of a .npy array");
	mlv_tensordiff_release(&d);

	npy_make(&b, 3, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", xf, 48);
	is_int(diff(&d, &a, &b), 0, "C order against Fortran order (v3 header)");
	c = find(&d, "array");
	ok(c && c->status == MLV_TENSOR_EQUAL && c->elements == 6, "same elements at each index");
	mlv_tensordiff_release(&d);
	xf[1] = 4.5; /* element [1][0] */
	npy_make(&b, 3, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", xf, 48);
	is_int(diff(&d, &a, &b), 0, "Fortran order, one element changed");
	c = find(&d, "array");
	ok(c && c->differing == 1 && c->max_abs_index == 3, "C index of the Fortran element");
	mlv_tensordiff_release(&d);
	npy_make(&a, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", xf, 48);
	xf[1] = 4;
	npy_make(&b, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", xf, 48);
	is_int(diff(&d, &a, &b), 0, "both Fortran order");
	c = find(&d, "array");
	ok(c && c->differing == 1 && c->max_abs_index == 3, "C index from Fortran storage");
	mlv_tensordiff_release(&d);

	/* Big-endian against little-endian. */
	for (i = 0; i < 6; i++)
		for (k = 0; k < 8; k++)
			be[i * 8 + k] = ((unsigned char *)&x[i])[7 - k];
	npy_make(&a, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", x, 48);
	npy_make(&b, 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (6,), }", be, 48);
	is_int(diff(&d, &a, &b), 0, "little against big endian");
	c = find(&d, "array");
	ok(c && c->status == MLV_TENSOR_DTYPE && c->differing == 0, "values equal across byte orders");
	mlv_tensordiff_release(&d);

	npy_make(&a, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", i1, 24);
	npy_make(&b, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", i2, 24);
	is_int(diff(&d, &a, &b), 0, "<i8");
	c = find(&d, "array");
	ok(c && c->differing == 1 && c->max_abs == 4 && c->max_rel == 2, "<i8: -2 against 2");
	mlv_tensordiff_release(&d);

	npy_make(&a, 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (), }", "\x00\x3c", 2);
	npy_make(&b, 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (), }", "\x00\x40", 2);
	is_int(diff(&d, &a, &b), 0, "<f2 scalars");
	c = find(&d, "array");
	ok(c && c->differing == 1 && c->max_abs == 1 && c->ndim[0] == 0, "scalar 1 against 2");
	mlv_tensordiff_release(&d);

	npy_make(&a, 1, "{'descr': '|S3', 'fortran_order': False, 'shape': (2,), }", "abcdef", 6);
	npy_make(&b, 1, "{'descr': '|S3', 'fortran_order': False, 'shape': (2,), }", "abcdeg", 6);
	is_int(diff(&d, &a, &b), 0, "byte strings");
	c = find(&d, "array");
	ok(c && c->differing == 1 && !c->measured, "counted, not measured");
	mlv_tensordiff_release(&d);
	mlv_buf_release(&a);
	mlv_buf_release(&b);
}

static void reject_npy(int major, const char *dict, size_t datalen, int code, const char *needle,
		       const char *title)
{
	struct mlv_buf a = MLV_BUF_INIT;
	struct mlv_tensordiff d;
	char zeros[64] = { 0 };
	int ret;

	npy_make(&a, major, dict, zeros, datalen);
	mlv_error_clear();
	ret = mlv_tensordiff_buf(&d, a.ptr, a.len, "bad.npy", a.ptr, a.len, "b");
	is_int(ret, code, "%s: rejected", title);
	if (!ok(strstr(mlv_error_last(), "bad.npy") && strstr(mlv_error_last(), needle),
		"%s: message says '%s'", title, needle))
		tap_diag("message: %s", mlv_error_last());
	mlv_buf_release(&a);
}

static void test_hostile_npy(void)
{
	struct mlv_buf a = MLV_BUF_INIT;
	struct mlv_tensordiff d;
	int ret;

	reject_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8, MLV_EINVALID,
		   "needs 12", "short data");
	reject_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 16, MLV_EINVALID,
		   "needs 12", "trailing data");
	reject_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
		   0, MLV_EINVALID, "too large", "overflowing shape");
	reject_npy(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", 8,
		   MLV_EUNSUPPORTED, "dtype", "pickled objects");
	reject_npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4,
		   MLV_EUNSUPPORTED, "structured", "structured dtype");
	reject_npy(1, "{'descr': '<f4', 'shape': (1,), }", 4, MLV_EINVALID, "malformed",
		   "missing fortran_order");
	reject_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4,
		   MLV_EINVALID, "malformed", "unknown key");
	reject_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4,
		   MLV_EINVALID, "malformed", "negative dimension");
	reject_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", 4,
		   MLV_EINVALID, "malformed", "junk after the dict");
	reject_npy(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}", 4, MLV_EINVALID,
		   "malformed", "bad boolean");

	mlv_buf_add(&a, "\x93NUMPY\x01\x00\xff\xff{", 11);
	ret = mlv_tensordiff_buf(&d, a.ptr, a.len, "len.npy", a.ptr, a.len, "b");
	ok(ret == MLV_EINVALID && strstr(mlv_error_last(), "beyond"), "header length beyond the file");
	mlv_buf_reset(&a);
	mlv_buf_add(&a, "\x93NUMPY\x04\x00\x00\x00{}", 12);
	ret = mlv_tensordiff_buf(&d, a.ptr, a.len, "v4.npy", a.ptr, a.len, "b");
	ok(ret == MLV_EUNSUPPORTED && strstr(mlv_error_last(), "version 4.0"), "version 4 refused");
	mlv_buf_release(&a);
}

static void test_mixed_formats(void)
{
	struct mlv_buf a = MLV_BUF_INIT, b = MLV_BUF_INIT;
	struct mlv_tensordiff d;
	float x[1] = { 1 };

	st_make(&a, ST1("F32", 1, 4), x, 4);
	npy_make(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", x, 4);
	ok(diff(&d, &a, &b) == MLV_EINVALID && strstr(mlv_error_last(), "npy"),
	   "safetensors against .npy refused");
	mlv_buf_release(&a);
	mlv_buf_release(&b);
}

static int write_tmp(const char *name, const struct mlv_buf *b)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tap_tmpdir(), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || mlv_write_all(fd, b->ptr, b->len, path))
		return -1;
	return fd;
}

static void test_fd_blocks(void)
{
	struct mlv_buf a = MLV_BUF_INIT, b = MLV_BUF_INIT, hdr = MLV_BUF_INIT;
	struct mlv_tensordiff d;
	const struct mlv_tensor_cmp *c;
	size_t n = 1000003, i;
	float *x = calloc(n, sizeof(float));
	int fa, fb, fe;

	for (i = 0; i < n; i++)
		x[i] = (float)i;
	mlv_buf_addf(&hdr, "{\"big\":{\"dtype\":\"F32\",\"shape\":[%zu],\"data_offsets\":[0,%zu]}}",
		     n, n * 4);
	st_make(&a, hdr.ptr, x, n * 4);
	x[n - 2] += 3;
	x[70000] -= 1;
	st_make(&b, hdr.ptr, x, n * 4);
	fa = write_tmp("a.safetensors", &a);
	fb = write_tmp("b.safetensors", &b);
	ok(fa >= 0 && fb >= 0, "files written");
	is_int(mlv_tensordiff_fd(&d, fa, "a.safetensors", fb, "b.safetensors"), 0,
	       "files compared through mappings");
	c = find(&d, "big");
	ok(c && c->elements == n && c->differing == 2 && c->max_abs == 3 &&
		   c->max_abs_index == n - 2,
	   "two differences among a million elements, across blocks");
	mlv_tensordiff_release(&d);

	mlv_buf_reset(&a);
	fe = write_tmp("empty.safetensors", &a);
	ok(mlv_tensordiff_fd(&d, fe, "empty.safetensors", fb, "b.safetensors") == MLV_EINVALID &&
		   strstr(mlv_error_last(), "empty.safetensors"),
	   "empty file refused, named");
	close(fa);
	close(fb);
	close(fe);
	free(x);
	mlv_buf_release(&a);
	mlv_buf_release(&b);
	mlv_buf_release(&hdr);
}

static void test_json(void)
{
	struct mlv_buf a = MLV_BUF_INIT, b = MLV_BUF_INIT;
	struct mlv_tensordiff d;
	float x[6] = { 1, 2, 3, 4, 5, 6 }, y[6] = { 1, 2, 3.5f, 4, 5, NAN };
	json_t *j, *t;

	st_make(&a, ST2, x, sizeof(x));
	st_make(&b, ST2, y, sizeof(y));
	is_int(diff(&d, &a, &b), 0, "compare for JSON");
	j = mlv_tensordiff_json(&d, 1, NULL);
	ok(j && json_array_size(json_object_get(j, "tensors")) == 2, "both differing tensors listed");
	t = json_array_get(json_object_get(j, "tensors"), 0);
	ok(t && !strcmp(json_string_value(json_object_get(t, "name")), "b") &&
		   json_integer_value(json_object_get(t, "nonfinite")) == 1 &&
		   json_is_null(json_object_get(t, "max_abs_index")),
	   "b: one nonfinite difference, no index");
	t = json_array_get(json_object_get(j, "tensors"), 1);
	ok(t && json_real_value(json_object_get(t, "max_abs")) == 0.5 &&
		   !strcmp(json_string_value(json_object_get(t, "status")), "values"),
	   "w: max_abs 0.5");
	json_decref(j);
	mlv_tensordiff_release(&d);
	mlv_buf_release(&a);
	mlv_buf_release(&b);
}

int main(void)
{
	test_safetensors_values();
	test_safetensors_structure();
	test_nonfinite();
	test_small_types();
	test_hostile_safetensors();
	test_npy();
	test_hostile_npy();
	test_mixed_formats();
	test_fd_blocks();
	test_json();
	return tap_done();
}
