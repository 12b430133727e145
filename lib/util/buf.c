#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/buf.h"

char mlv_buf__empty[1];

static void oom(size_t n)
{
	fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
	abort();
}

void *mlv_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *mlv_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *mlv_realloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

char *mlv_strndup(const char *s, size_t n)
{
	char *p = mlv_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *mlv_strdup(const char *s)
{
	return mlv_strndup(s, strlen(s));
}

char *mlv_xstrfmt(const char *fmt, ...)
{
	struct mlv_buf b = MLV_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	mlv_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return mlv_buf_detach(&b, NULL);
}

void mlv_buf_init(struct mlv_buf *b, size_t hint)
{
	b->ptr = mlv_buf__empty;
	b->len = b->alloc = 0;
	if (hint)
		mlv_buf_grow(b, hint);
}

void mlv_buf_release(struct mlv_buf *b)
{
	if (b->alloc)
		free(b->ptr);
	mlv_buf_init(b, 0);
}

void mlv_buf_grow(struct mlv_buf *b, size_t extra)
{
	size_t need;

	if (extra > SIZE_MAX - b->len - 1)
		oom(SIZE_MAX);
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return;
	if (!b->alloc)
		b->ptr = NULL;
	b->alloc = b->alloc * 3 / 2 > need ? b->alloc * 3 / 2 : need;
	if (b->alloc < 64)
		b->alloc = 64;
	b->ptr = mlv_realloc(b->ptr, b->alloc);
	if (b->len == 0)
		b->ptr[0] = '\0';
}

void mlv_buf_setlen(struct mlv_buf *b, size_t len)
{
	if (!b->alloc) {
		if (len)
			abort();
		return;
	}
	if (len >= b->alloc)
		abort();
	b->len = len;
	b->ptr[len] = '\0';
}

void mlv_buf_add(struct mlv_buf *b, const void *data, size_t len)
{
	if (!len)
		return;
	mlv_buf_grow(b, len);
	memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
}

void mlv_buf_adds(struct mlv_buf *b, const char *s)
{
	mlv_buf_add(b, s, strlen(s));
}

void mlv_buf_addch(struct mlv_buf *b, int c)
{
	char ch = (char)c;

	mlv_buf_add(b, &ch, 1);
}

void mlv_buf_vaddf(struct mlv_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	mlv_buf_grow(b, (size_t)n);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void mlv_buf_addf(struct mlv_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mlv_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

char *mlv_buf_detach(struct mlv_buf *b, size_t *len_out)
{
	char *p;

	if (!b->alloc)
		mlv_buf_grow(b, 0);
	p = b->ptr;
	if (len_out)
		*len_out = b->len;
	mlv_buf_init(b, 0);
	return p;
}

int mlv_parse_decimal(uint64_t *out, const char *s, size_t len)
{
	uint64_t v = 0;

	if (!len || len > 19 || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	/* 19 digits cannot overflow uint64_t, but can exceed INT64_MAX. */
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*out = v;
	return 0;
}
