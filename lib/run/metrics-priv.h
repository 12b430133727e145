#ifndef MLV_METRICS_PRIV_H
#define MLV_METRICS_PRIV_H

/*
 * The JSON reader behind mlv/metrics.h: one object (a JSON line, a -M
 * file), strictly as RFC 8259 has it plus NaN, Infinity and -Infinity,
 * flattened into name/value pairs as it is read.  Hand-written because
 * a generic DOM (Jansson) per line is several times slower than the
 * ingestion rate a run needs, and cannot read Python's NaN.
 */
#include <stddef.h>
#include <stdint.h>
#include "mlv/buf.h"

struct mjson_pair {
	size_t name_off, name_len;  /* in names */
	const char *text;           /* the number as written (a JSON number), or NULL (NaN, +-Infinity) */
	size_t text_len;
	double value;
};

struct mjson {
	int line_mode;              /* a top-level "step" is the record's step */
	struct mlv_buf names;       /* the flattened names, one after another */
	struct mlv_buf prefix;      /* "a.b." while inside {"a": {"b": ... */
	struct mlv_buf key;         /* a key with escapes, decoded */
	struct mjson_pair *pairs;
	size_t nr, alloc;
	int64_t step;               /* MLV_METRICS_NO_STEP when none */
	size_t err_off;             /* where the error is, from the start */
	char err[160];
};

void mjson_init(struct mjson *p, int line_mode);
void mjson_release(struct mjson *p);
/* 0 and the pairs, or -1 with err/err_off set.  s[len] need not be readable. */
int mjson_parse(struct mjson *p, const char *s, size_t len);

/*
 * The double a number's text stands for, as strtod() in the C locale
 * reads it (exactly rounded), with a fast path for the common short
 * decimal.  The text must be a whole number as strtod accepts it.
 */
double mjson_strtod(const char *s, size_t len);
/*
 * A number as strtod() in the C locale reads it, which must be all of
 * s[0..len) (".5", "+1", "nan" too): 0, or -1.
 */
int mjson_text_number(double *out, const char *s, size_t len);
/* Length of the JSON number at s (at most len bytes), 0 when none. */
size_t mjson_number_len(const char *s, size_t len);

/* Append `s` as the inside of a JSON string (quotes not included). */
void mjson_escape(struct mlv_buf *out, const char *s, size_t len);
/* The shortest "%.{15,16,17}g" that reads back as `v` (finite v), into buf of 32. */
void mjson_format_double(char *buf, size_t size, double v);

#endif
