#ifndef MLV_BUF_H
#define MLV_BUF_H

#pragma GCC visibility push(default)

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

/*
 * A growable byte buffer, always NUL-terminated, never NULL (git's strbuf).
 *
 * `ptr` points at a static empty string until the first growth, so a fresh
 * buffer can be printed or compared without checks.  Allocation failure
 * aborts the process (as git's xmalloc does): there is no sane recovery.
 *
 * Use MLV_BUF_INIT or mlv_buf_init() before use and mlv_buf_release() after;
 * release leaves the buffer re-usable as if freshly initialised.
 */
struct mlv_buf {
	char *ptr;
	size_t len;
	size_t alloc;
};

extern char mlv_buf__empty[];
#define MLV_BUF_INIT { mlv_buf__empty, 0, 0 }

void mlv_buf_init(struct mlv_buf *b, size_t hint);
void mlv_buf_release(struct mlv_buf *b);
/* Make room for `extra` more bytes plus the terminating NUL. */
void mlv_buf_grow(struct mlv_buf *b, size_t extra);
void mlv_buf_setlen(struct mlv_buf *b, size_t len);
static inline void mlv_buf_reset(struct mlv_buf *b) { mlv_buf_setlen(b, 0); }
void mlv_buf_add(struct mlv_buf *b, const void *data, size_t len);
void mlv_buf_adds(struct mlv_buf *b, const char *s);
void mlv_buf_addch(struct mlv_buf *b, int c);
void mlv_buf_addf(struct mlv_buf *b, const char *fmt, ...) MLV_PRINTF(2, 3);
void mlv_buf_vaddf(struct mlv_buf *b, const char *fmt, va_list ap);
/* Hand the allocation to the caller (free() it); the buffer is re-initialised. */
char *mlv_buf_detach(struct mlv_buf *b, size_t *len_out);

/*
 * Parse `len` bytes of strict decimal: digits only, no sign, no leading
 * zero (but "0"), at most INT64_MAX.  0 and `out` set, or -1.
 */
int mlv_parse_decimal(uint64_t *out, const char *s, size_t len);

/* Allocation helpers that abort on failure. */
void *mlv_malloc(size_t n);
void *mlv_calloc(size_t nmemb, size_t size);
void *mlv_realloc(void *p, size_t n);
char *mlv_strdup(const char *s);
char *mlv_strndup(const char *s, size_t n);
/* printf into a fresh allocation. */
char *mlv_xstrfmt(const char *fmt, ...) MLV_PRINTF(1, 2);

/* Grow array `x` (with `alloc` slots) to hold at least `nr` elements. */
#define MLV_ALLOC_GROW(x, nr, alloc)                                          \
	do {                                                                  \
		if ((nr) > (alloc)) {                                         \
			(alloc) = (alloc) * 2 + 16 > (nr) ? (alloc) * 2 + 16 : (nr); \
			(x) = mlv_realloc((x), (alloc) * sizeof(*(x)));       \
		}                                                             \
	} while (0)

#pragma GCC visibility pop

#endif
