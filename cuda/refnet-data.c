/*
 * refnet-data.c: mlv-refnet's data: made from the seed, or read from a
 * .npy or CSV file (mlv-refnet(1), DATA FILES).
 */
#include "refnet.h"
#include "refnet-math.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ELEMENTS ((size_t)1 << 28)	/* floats of data in memory */
#define MAX_FILE_SIZE ((size_t)1 << 32)
#define TEACHER_HIDDEN 16

void refnet_data_release(struct refnet_data *d)
{
	free(d->x);
	free(d->y);
	memset(d, 0, sizeof(*d));
}

static int data_alloc(struct refnet_data *d, size_t n, size_t features, const char *what)
{
	if (!n || !features || n > REFNET_MAX_SAMPLES || features > REFNET_MAX_DIM ||
	    n * features > MAX_ELEMENTS) {
		refnet_error("%s: %zu samples of %zu features: too large (at most %zu values)",
			     what, n, features, MAX_ELEMENTS);
		return -1;
	}
	d->x = malloc(n * features * sizeof(float));
	d->y = malloc(n * sizeof(int32_t));
	if (!d->x || !d->y) {
		refnet_error("%s: out of memory", what);
		refnet_data_release(d);
		return -1;
	}
	d->n = (int)n;
	d->features = (int)features;
	return 0;
}

/*
 * Inputs: roughly normal (a sum of four uniforms), unit variance.
 * Labels: the arg max of a random ReLU teacher network, so that the
 * classes are separable by the student but not linearly.
 */
int refnet_data_synthetic(struct refnet_data *out, const struct refnet_opts *o)
{
	int n = o->samples, nf = o->features, nc = o->classes;
	float *tw = NULL, *tv = NULL;
	int i, k, t, c, ret = -1;

	if (data_alloc(out, (size_t)n, (size_t)nf, "synthetic data") < 0)
		return -1;
	out->classes = nc;
	tw = malloc((size_t)TEACHER_HIDDEN * (size_t)nf * sizeof(float));
	tv = malloc((size_t)nc * TEACHER_HIDDEN * sizeof(float));
	if (!tw || !tv) {
		refnet_error("synthetic data: out of memory");
		goto done;
	}
	for (i = 0; i < TEACHER_HIDDEN * nf; i++)
		tw[i] = 2.0f * refnet_uniform(refnet_rand(o->seed, 1, (uint64_t)i)) - 1.0f;
	for (i = 0; i < nc * TEACHER_HIDDEN; i++)
		tv[i] = 2.0f * refnet_uniform(refnet_rand(o->seed, 2, (uint64_t)i)) - 1.0f;

	for (i = 0; i < n; i++) {
		float *x = out->x + (size_t)i * (size_t)nf;
		float th[TEACHER_HIDDEN], best = 0.0f;
		int label = 0;

		for (k = 0; k < nf; k++) {
			uint64_t idx = ((uint64_t)i * (uint64_t)nf + (uint64_t)k) * 4;
			float s = 0.0f;
			int q;

			for (q = 0; q < 4; q++)
				s += refnet_uniform(refnet_rand(o->seed, 3, idx + (uint64_t)q));
			x[k] = (s - 2.0f) * 1.7320508f;
		}
		for (t = 0; t < TEACHER_HIDDEN; t++) {
			float a = 0.0f;

			for (k = 0; k < nf; k++)
				a += tw[t * nf + k] * x[k];
			th[t] = a > 0.0f ? a : 0.0f;
		}
		for (c = 0; c < nc; c++) {
			float s = 0.0f;

			for (t = 0; t < TEACHER_HIDDEN; t++)
				s += tv[c * TEACHER_HIDDEN + t] * th[t];
			if (!c || s > best) {
				best = s;
				label = c;
			}
		}
		out->y[i] = label;
	}
	ret = 0;
done:
	free(tw);
	free(tv);
	if (ret < 0)
		refnet_data_release(out);
	return ret;
}

static int read_file(const char *path, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		refnet_error("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		refnet_error("'%s' is not a regular file", path);
		goto fail;
	}
	if ((uint64_t)st.st_size > MAX_FILE_SIZE) {
		refnet_error("'%s': too large (%lld bytes)", path, (long long)st.st_size);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		refnet_error("'%s': out of memory", path);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			refnet_error("cannot read '%s': %s", path, strerror(errno));
			goto fail;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	*out = buf;
	*len = got;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

/* Labels, from the last column: whole numbers below REFNET_MAX_DIM. */
static int label_ok(float v)
{
	return v >= 0.0f && v < (float)REFNET_MAX_DIM && v == floorf(v);
}

static int finish_labels(struct refnet_data *d, int classes, const char *path)
{
	int i, max = 0;

	for (i = 0; i < d->n; i++)
		if (d->y[i] > max)
			max = d->y[i];
	if (classes) {
		if (max >= classes) {
			refnet_error("%s: label %d is not below --classes %d", path, max, classes);
			return -1;
		}
		d->classes = classes;
	} else {
		d->classes = max + 1 < 2 ? 2 : max + 1;
	}
	return 0;
}

/* The value of key 'name' in a .npy header, or NULL. */
static const char *npy_key(const char *hdr, const char *name)
{
	const char *p = strstr(hdr, name);

	if (!p)
		return NULL;
	p += strlen(name);
	while (*p == ' ')
		p++;
	if (*p++ != ':')
		return NULL;
	while (*p == ' ')
		p++;
	return p;
}

static int npy_dim(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;

	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > ((uint64_t)1 << 40))
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	while (*p == ' ')
		p++;
	*pp = p;
	*out = v;
	return 0;
}

static int load_npy(struct refnet_data *d, const char *path, const unsigned char *buf,
		    size_t len, int classes)
{
	size_t hlen, start, width, i, j;
	uint64_t rows, cols;
	char hdr[4096];
	const char *p;
	int is_f8;

	if (len < 10 || (buf[6] != 1 && buf[6] != 2 && buf[6] != 3))
		goto bad;
	if (buf[6] == 1) {
		hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
		start = 10;
	} else {
		if (len < 12)
			goto bad;
		hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
			(size_t)buf[11] << 24;
		start = 12;
	}
	if (hlen >= sizeof(hdr) || hlen > len - start)
		goto bad;
	memcpy(hdr, buf + start, hlen);
	hdr[hlen] = '\0';
	start += hlen;

	if (!(p = npy_key(hdr, "'descr'")))
		goto bad;
	if (!strncmp(p, "'<f4'", 5)) {
		is_f8 = 0;
	} else if (!strncmp(p, "'<f8'", 5)) {
		is_f8 = 1;
	} else {
		refnet_error("%s: unsupported .npy dtype (float32 or float64 little-endian, '<f4' or '<f8')",
			     path);
		return -1;
	}
	if (!(p = npy_key(hdr, "'fortran_order'")) || strncmp(p, "False", 5)) {
		refnet_error("%s: a .npy array in Fortran order is not supported", path);
		return -1;
	}
	/* "(rows, cols)", or "(rows, cols,)" */
	p = npy_key(hdr, "'shape'");
	if (!p || *p++ != '(' || npy_dim(&p, &rows) < 0 || *p++ != ',' ||
	    npy_dim(&p, &cols) < 0 || (*p == ',' && *++p == ' ' && *++p != ')') ||
	    *p != ')') {
		refnet_error("%s: expected a 2-dimensional .npy array (samples, features + 1)", path);
		return -1;
	}
	if (cols < 2 || rows < 1) {
		refnet_error("%s: %llu x %llu: need a row and at least one feature and the label",
			     path, (unsigned long long)rows, (unsigned long long)cols);
		return -1;
	}
	if (rows > REFNET_MAX_SAMPLES || cols - 1 > REFNET_MAX_DIM) {
		refnet_error("%s: %llu x %llu: too large", path, (unsigned long long)rows,
			     (unsigned long long)cols);
		return -1;
	}
	width = is_f8 ? 8 : 4;
	if (len - start != rows * cols * width) {
		refnet_error("%s: %zu bytes of data where shape (%llu, %llu) needs %llu",
			     path, len - start, (unsigned long long)rows,
			     (unsigned long long)cols,
			     (unsigned long long)(rows * cols * width));
		return -1;
	}
	if (data_alloc(d, (size_t)rows, (size_t)cols - 1, path) < 0)
		return -1;
	for (i = 0; i < rows; i++) {
		for (j = 0; j < cols; j++) {
			const unsigned char *q = buf + start + (i * cols + j) * width;
			float v;

			if (is_f8) {
				uint64_t bits = 0;
				double dv;
				int b;

				for (b = 7; b >= 0; b--)
					bits = bits << 8 | q[b];
				memcpy(&dv, &bits, sizeof(dv));
				v = (float)dv;
			} else {
				uint32_t bits = (uint32_t)q[0] | (uint32_t)q[1] << 8 |
					(uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;

				memcpy(&v, &bits, sizeof(v));
			}
			if (!isfinite(v)) {
				refnet_error("%s: row %zu, column %zu: not a finite float", path,
					     i + 1, j + 1);
				goto fail;
			}
			if (j + 1 == cols) {
				if (!label_ok(v)) {
					refnet_error("%s: row %zu: label %g is not a whole number from 0 to %d",
						     path, i + 1, (double)v, REFNET_MAX_DIM - 1);
					goto fail;
				}
				d->y[i] = (int32_t)v;
			} else {
				d->x[i * (cols - 1) + j] = v;
			}
		}
	}
	if (finish_labels(d, classes, path) < 0)
		goto fail;
	return 0;
bad:
	refnet_error("%s: not a valid .npy file", path);
	return -1;
fail:
	refnet_data_release(d);
	return -1;
}

/* One CSV field: a float, blanks around it allowed. */
static int csv_field(const char **pp, float *out)
{
	const char *p = *pp;
	char *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == ',' || *p == '\n' || *p == '\r')
		return -1;
	errno = 0;
	*out = strtof(p, &end);
	if (end == p || errno == ERANGE || !isfinite(*out))
		return -1;
	p = end;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != ',' && *p != '\n' && *p != '\r' && *p)
		return -1;
	*pp = p;
	return 0;
}

/* A header line: not one of its fields is a number. */
static int csv_is_header(const char *line)
{
	const char *p = line;

	for (;;) {
		const char *q = p;
		float v;

		if (!csv_field(&q, &v))
			return 0;
		while (*p && *p != ',' && *p != '\n')
			p++;
		if (*p != ',')
			return 1;
		p++;
	}
}

static int load_csv(struct refnet_data *d, const char *path, const char *buf, int classes)
{
	float *x = NULL;
	int32_t *y = NULL;
	size_t nrows = 0, alloc = 0, cols = 0, lineno = 0;
	const char *p = buf;
	int header_ok = 1;

	while (*p) {
		const char *line = p, *eol = strchr(p, '\n');
		const char *q;
		size_t n = 0;

		lineno++;
		p = eol ? eol + 1 : line + strlen(line);
		q = line;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '#' || *q == '\n' || *q == '\r' || !*q)
			continue;
		/* count the fields */
		for (n = 1, q = line; q < p; q++)
			if (*q == ',')
				n++;
		if (!cols) {
			if (header_ok && csv_is_header(line)) {
				header_ok = 0;
				continue;	/* a header line */
			}
			if (n < 2 || n - 1 > REFNET_MAX_DIM) {
				refnet_error("%s:%zu: %zu fields: need features and a label (at most %d features)",
					     path, lineno, n, REFNET_MAX_DIM);
				goto fail;
			}
			cols = n;
		}
		header_ok = 0;
		if (n != cols) {
			refnet_error("%s:%zu: expected %zu fields, found %zu", path, lineno, cols, n);
			goto fail;
		}
		if (nrows == alloc) {
			size_t na = alloc ? alloc * 2 : 256;
			float *nx;
			int32_t *ny;

			if (na > REFNET_MAX_SAMPLES || na * (cols - 1) > MAX_ELEMENTS * 2) {
				refnet_error("%s:%zu: too many rows", path, lineno);
				goto fail;
			}
			nx = realloc(x, na * (cols - 1) * sizeof(float));
			if (!nx) {
				refnet_error("%s: out of memory", path);
				goto fail;
			}
			x = nx;
			ny = realloc(y, na * sizeof(int32_t));
			if (!ny) {
				refnet_error("%s: out of memory", path);
				goto fail;
			}
			y = ny;
			alloc = na;
		}
		q = line;
		for (size_t j = 0; j < cols; j++) {
			float v;

			if ((j && *q++ != ',') || csv_field(&q, &v) < 0) {
				refnet_error("%s:%zu: field %zu: not a finite number", path, lineno,
					     j + 1);
				goto fail;
			}
			if (j + 1 < cols) {
				x[nrows * (cols - 1) + j] = v;
			} else if (label_ok(v)) {
				y[nrows] = (int32_t)v;
			} else {
				refnet_error("%s:%zu: label %g is not a whole number from 0 to %d",
					     path, lineno, (double)v, REFNET_MAX_DIM - 1);
				goto fail;
			}
		}
		nrows++;
	}
	if (!nrows) {
		refnet_error("%s: no data rows", path);
		goto fail;
	}
	if (nrows * (cols - 1) > MAX_ELEMENTS) {
		refnet_error("%s: too large (at most %zu values)", path, MAX_ELEMENTS);
		goto fail;
	}
	d->x = x;
	d->y = y;
	d->n = (int)nrows;
	d->features = (int)(cols - 1);
	if (finish_labels(d, classes, path) < 0) {
		refnet_data_release(d);
		return -1;
	}
	return 0;
fail:
	free(x);
	free(y);
	memset(d, 0, sizeof(*d));
	return -1;
}

int refnet_data_load(struct refnet_data *out, const char *path, int classes)
{
	const char *nul;
	char *buf;
	size_t len;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (read_file(path, &buf, &len) < 0)
		return -1;
	if (len >= 6 && !memcmp(buf, "\x93NUMPY", 6))
		ret = load_npy(out, path, (const unsigned char *)buf, len, classes);
	else if ((nul = memchr(buf, '\0', len)))
		refnet_error("%s: a NUL byte at offset %zu: neither .npy nor CSV", path,
			     (size_t)(nul - buf));
	else
		ret = load_csv(out, path, buf, classes);
	free(buf);
	return ret;
}
