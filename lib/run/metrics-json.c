/*
 * A strict JSON reader that flattens one object into metric pairs
 * (metrics-priv.h).
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/metrics.h"
#include "run/metrics-priv.h"

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static double strtod_c(const char *s, char **end)
{
	pthread_once(&c_locale_once, c_locale_init);
	if (c_locale)
		return strtod_l(s, end, c_locale);
	return strtod(s, end);
}

static const double pow10_exact[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

double mjson_strtod(const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	uint64_t mant = 0;
	int digits = 0, exp10 = 0, neg = 0;
	char tmp[64], *e;

	/*
	 * Clinger's fast path: a mantissa below 2^53 and a power of ten that
	 * is itself exact make one correctly rounded multiplication or
	 * division.  Everything else goes to strtod.
	 */
	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	while (p < end && *p >= '0' && *p <= '9') {
		if (mant || *p != '0')
			digits++;
		mant = mant * 10 + (uint64_t)(*p++ - '0');
		if (digits > 15)
			goto slow;
	}
	if (p < end && *p == '.') {
		p++;
		while (p < end && *p >= '0' && *p <= '9') {
			if (mant || *p != '0')
				digits++;
			mant = mant * 10 + (uint64_t)(*p++ - '0');
			exp10--;
			if (digits > 15)
				goto slow;
		}
	}
	if (p < end && (*p == 'e' || *p == 'E'))
		goto slow;
	if (p != end || p == s + neg)
		goto slow;
	{
		double v = (double)mant;

		if (exp10 < -22)
			goto slow;
		v = exp10 < 0 ? v / pow10_exact[-exp10] : v;
		return neg ? -v : v;
	}
slow:
	if (len < sizeof(tmp)) {
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		return strtod_c(tmp, &e);
	} else {
		char *copy = mlv_strndup(s, len);
		double v = strtod_c(copy, &e);

		free(copy);
		return v;
	}
}

int mjson_text_number(double *out, const char *s, size_t len)
{
	char tmp[64], *end;

	if (!len || len >= sizeof(tmp))
		return -1;
	if (mjson_number_len(s, len) == len) {
		*out = mjson_strtod(s, len);
		return 0;
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*out = strtod_c(tmp, &end);
	return end == tmp + len ? 0 : -1;
}

size_t mjson_number_len(const char *s, size_t len)
{
	size_t i = 0;

	if (i < len && s[i] == '-')
		i++;
	if (i >= len)
		return 0;
	if (s[i] == '0')
		i++;
	else if (s[i] >= '1' && s[i] <= '9')
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < len && s[i] == '.') {
		size_t d = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t d;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		d = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	return i;
}

void mjson_format_double(char *buf, size_t size, double v)
{
	int prec;

	for (prec = 15; prec <= 17; prec++) {
		char *end;

		snprintf(buf, size, "%.*g", prec, v);
		if (strtod_c(buf, &end) == v)
			break;
	}
}

void mjson_escape(struct mlv_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		mlv_buf_add(out, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			mlv_buf_add(out, esc, 6);
			continue;
		}
		mlv_buf_add(out, esc, 2);
	}
	mlv_buf_add(out, s + run, len - run);
}

void mjson_init(struct mjson *p, int line_mode)
{
	memset(p, 0, sizeof(*p));
	p->line_mode = line_mode;
	mlv_buf_init(&p->names, 0);
	mlv_buf_init(&p->prefix, 0);
	mlv_buf_init(&p->key, 0);
	p->step = MLV_METRICS_NO_STEP;
}

void mjson_release(struct mjson *p)
{
	mlv_buf_release(&p->names);
	mlv_buf_release(&p->prefix);
	mlv_buf_release(&p->key);
	free(p->pairs);
	p->pairs = NULL;
	p->nr = p->alloc = 0;
}

struct cursor {
	const char *start, *s, *end;
};

static int fail(struct mjson *p, struct cursor *c, const char *fmt, const char *what)
{
	p->err_off = (size_t)(c->s - c->start);
	snprintf(p->err, sizeof(p->err), fmt, what);
	return -1;
}

static inline void skip_blanks(struct cursor *c)
{
	while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r'))
		c->s++;
}

static const char *describe(struct cursor *c)
{
	static __thread char what[16];

	if (c->s >= c->end)
		return "the end";
	if ((unsigned char)*c->s < 0x20 || (unsigned char)*c->s >= 0x7f)
		snprintf(what, sizeof(what), "byte 0x%02x", (unsigned char)*c->s);
	else
		snprintf(what, sizeof(what), "'%c'", *c->s);
	return what;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char h = s[i];

		v <<= 4;
		if (h >= '0' && h <= '9')
			v |= (unsigned)(h - '0');
		else if (h >= 'a' && h <= 'f')
			v |= (unsigned)(h - 'a' + 10);
		else if (h >= 'A' && h <= 'F')
			v |= (unsigned)(h - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void add_utf8(struct mlv_buf *b, unsigned cp)
{
	char u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		mlv_buf_add(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		mlv_buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		mlv_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		mlv_buf_add(b, u, 4);
	}
}

/* Length of the UTF-8 sequence at s (valid, shortest form, no surrogate), or 0. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (avail < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (avail < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * A string at c->s (the opening quote).  With `out`, its decoded bytes
 * go there and *raw, *raw_len point into the input when it had no escape
 * (out untouched then); without, it is only checked.
 */
static int read_string(struct mjson *p, struct cursor *c, struct mlv_buf *out,
		       const char **raw, size_t *raw_len)
{
	const char *s = ++c->s, *run;
	int escaped = 0;

	for (;;) {
		while (s < c->end && (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x80 &&
		       *s != '"' && *s != '\\')
			s++;
		if (s >= c->end) {
			c->s = s;
			return fail(p, c, "%s", "unterminated string");
		}
		if (*s == '"')
			break;
		if ((unsigned char)*s < 0x20) {
			c->s = s;
			return fail(p, c, "control character in a string%s", "");
		}
		if (*s == '\\') {
			escaped = 1;
			s += 2;
			if (s > c->end) {
				c->s = c->end;
				return fail(p, c, "%s", "unterminated string");
			}
			if (s[-1] == 'u') {
				if (c->end - s < 4) {
					c->s = s;
					return fail(p, c, "%s", "bad \\u escape");
				}
				s += 4;
			}
			continue;
		}
		{
			size_t n = utf8_len((const unsigned char *)s, (size_t)(c->end - s));

			if (!n) {
				c->s = s;
				return fail(p, c, "%s", "invalid UTF-8 in a string");
			}
			s += n;
		}
	}
	if (out && !escaped) {
		*raw = c->s;
		*raw_len = (size_t)(s - c->s);
	} else if (out) {
		const char *q = c->s;

		*raw = NULL;
		mlv_buf_reset(out);
		run = q;
		while (q < s) {
			unsigned cp, lo;

			if (*q != '\\') {
				q++;
				continue;
			}
			mlv_buf_add(out, run, (size_t)(q - run));
			switch (q[1]) {
			case '"': mlv_buf_addch(out, '"'); break;
			case '\\': mlv_buf_addch(out, '\\'); break;
			case '/': mlv_buf_addch(out, '/'); break;
			case 'b': mlv_buf_addch(out, '\b'); break;
			case 'f': mlv_buf_addch(out, '\f'); break;
			case 'n': mlv_buf_addch(out, '\n'); break;
			case 'r': mlv_buf_addch(out, '\r'); break;
			case 't': mlv_buf_addch(out, '\t'); break;
			case 'u':
				if (hex4(q + 2, &cp) < 0)
					goto bad_u;
				q += 4;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					goto bad_u;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (s - (q + 2) < 6 || q[2] != '\\' || q[3] != 'u' ||
					    hex4(q + 4, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
						goto bad_u;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					q += 6;
				}
				add_utf8(out, cp);
				break;
			default:
				c->s = q;
				return fail(p, c, "%s", "bad escape in a string");
			}
			q += 2;
			run = q;
			continue;
bad_u:
			c->s = q;
			return fail(p, c, "%s", "bad \\u escape");
		}
		mlv_buf_add(out, run, (size_t)(q - run));
	} else {
		/* Checked only: escapes still need to be well formed. */
		const char *q;

		for (q = c->s; q < s; q++) {
			unsigned cp;

			if (*q != '\\')
				continue;
			q++;
			if (*q == 'u') {
				if (hex4(q + 1, &cp) < 0) {
					c->s = q;
					return fail(p, c, "%s", "bad \\u escape");
				}
				q += 4;
			} else if (!strchr("\"\\/bfnrt", *q)) {
				c->s = q;
				return fail(p, c, "%s", "bad escape in a string");
			}
		}
	}
	c->s = s + 1;
	return 0;
}

static int literal(struct cursor *c, const char *word, size_t n)
{
	if ((size_t)(c->end - c->s) < n || memcmp(c->s, word, n))
		return 0;
	c->s += n;
	return 1;
}

/* A number or NaN/Infinity/-Infinity at c->s: 1 read, 0 not a number there, -1 bad. */
static int read_number(struct mjson *p, struct cursor *c, double *v, const char **text,
		       size_t *text_len)
{
	size_t n;

	if (literal(c, "NaN", 3)) {
		*v = NAN;
		*text = NULL;
		return 1;
	}
	if (literal(c, "Infinity", 8)) {
		*v = INFINITY;
		*text = NULL;
		return 1;
	}
	if (literal(c, "-Infinity", 9)) {
		*v = -INFINITY;
		*text = NULL;
		return 1;
	}
	if (c->s >= c->end || (*c->s != '-' && (*c->s < '0' || *c->s > '9')))
		return 0;
	n = mjson_number_len(c->s, (size_t)(c->end - c->s));
	if (!n)
		return fail(p, c, "%s", "malformed number");
	*text = c->s;
	*text_len = n;
	*v = mjson_strtod(c->s, n);
	c->s += n;
	if (!isfinite(*v)) {
		/* 1e999: JSON has no infinity, and no number is out of range for it */
		*text = NULL;
	}
	return 1;
}

static int skip_value(struct mjson *p, struct cursor *c, int depth);

static int add_pair(struct mjson *p, struct cursor *c, const char *key, size_t key_len,
		    double v, const char *text, size_t text_len)
{
	struct mjson_pair *pr;
	size_t len = p->prefix.len + key_len;

	if (len > MLV_METRICS_NAME_MAX)
		return fail(p, c, "metric name longer than %s bytes", "256");
	if (!len || memchr(key, '\0', key_len))
		return fail(p, c, "%s", len ? "metric name contains NUL" : "empty metric name");
	MLV_ALLOC_GROW(p->pairs, p->nr + 1, p->alloc);
	pr = &p->pairs[p->nr++];
	pr->name_off = p->names.len;
	pr->name_len = len;
	mlv_buf_add(&p->names, p->prefix.ptr, p->prefix.len);
	mlv_buf_add(&p->names, key, key_len);
	pr->value = v;
	pr->text = text;
	pr->text_len = text_len;
	return 0;
}

static int set_step(struct mjson *p, struct cursor *c, double v, const char *text)
{
	if (!text || v < 0 || v != floor(v) || v > 9007199254740992.0)
		return fail(p, c, "%s", "\"step\" is not a non-negative integer");
	p->step = (int64_t)v;
	return 0;
}

/* The members of an object (c->s just past '{'), names prefixed with p->prefix. */
static int read_object(struct mjson *p, struct cursor *c, int depth)
{
	if (depth > MLV_METRICS_DEPTH_MAX)
		return fail(p, c, "nested deeper than %s levels", "32");
	skip_blanks(c);
	if (c->s < c->end && *c->s == '}') {
		c->s++;
		return 0;
	}
	for (;;) {
		const char *key;
		size_t key_len;
		double v;
		const char *text = NULL;
		size_t text_len = 0;
		int r;

		skip_blanks(c);
		if (c->s >= c->end || *c->s != '"')
			return fail(p, c, "expected a name in quotes, found %s", describe(c));
		if (read_string(p, c, &p->key, &key, &key_len) < 0)
			return -1;
		if (!key) {
			key = p->key.ptr;
			key_len = p->key.len;
		}
		skip_blanks(c);
		if (c->s >= c->end || *c->s != ':')
			return fail(p, c, "expected ':', found %s", describe(c));
		c->s++;
		skip_blanks(c);
		r = c->s < c->end ? read_number(p, c, &v, &text, &text_len) : 0;
		if (r < 0)
			return -1;
		if (r > 0) {
			if (p->line_mode && depth == 1 && key_len == 4 && !memcmp(key, "step", 4)) {
				if (set_step(p, c, v, text) < 0)
					return -1;
			} else if (add_pair(p, c, key, key_len, v, text, text_len) < 0) {
				return -1;
			}
		} else if (c->s < c->end && *c->s == '{') {
			size_t plen = p->prefix.len;

			if (plen + key_len + 1 > MLV_METRICS_NAME_MAX)
				return fail(p, c, "metric name longer than %s bytes", "256");
			if (!key_len || memchr(key, '\0', key_len))
				return fail(p, c, "%s", key_len ? "metric name contains NUL" :
					    "empty metric name");
			mlv_buf_add(&p->prefix, key, key_len);
			mlv_buf_addch(&p->prefix, '.');
			c->s++;
			if (read_object(p, c, depth + 1) < 0)
				return -1;
			mlv_buf_setlen(&p->prefix, plen);
		} else if (p->line_mode && depth == 1 && key_len == 4 && !memcmp(key, "step", 4)) {
			if (!literal(c, "null", 4))
				return fail(p, c, "%s", "\"step\" is not a non-negative integer");
		} else if (skip_value(p, c, depth) < 0) {
			return -1;
		}
		skip_blanks(c);
		if (c->s < c->end && *c->s == ',') {
			c->s++;
			continue;
		}
		if (c->s < c->end && *c->s == '}') {
			c->s++;
			return 0;
		}
		return fail(p, c, "expected ',' or '}', found %s", describe(c));
	}
}

/* Any value, checked and passed over. */
static int skip_value(struct mjson *p, struct cursor *c, int depth)
{
	double v;
	const char *text;
	size_t text_len;
	int r;

	if (depth > MLV_METRICS_DEPTH_MAX)
		return fail(p, c, "nested deeper than %s levels", "32");
	if (c->s >= c->end)
		return fail(p, c, "expected a value, found %s", "the end");
	switch (*c->s) {
	case '"':
		return read_string(p, c, NULL, NULL, NULL);
	case '[':
		c->s++;
		skip_blanks(c);
		if (c->s < c->end && *c->s == ']') {
			c->s++;
			return 0;
		}
		for (;;) {
			skip_blanks(c);
			if (skip_value(p, c, depth + 1) < 0)
				return -1;
			skip_blanks(c);
			if (c->s < c->end && *c->s == ',') {
				c->s++;
				continue;
			}
			if (c->s < c->end && *c->s == ']') {
				c->s++;
				return 0;
			}
			return fail(p, c, "expected ',' or ']', found %s", describe(c));
		}
	case '{': {
		/* an object inside an array: checked, its numbers not kept */
		size_t nr = p->nr, names = p->names.len, plen = p->prefix.len;
		int64_t step = p->step;
		int line_mode = p->line_mode;

		c->s++;
		p->line_mode = 0;
		mlv_buf_addch(&p->prefix, 'x');
		r = read_object(p, c, depth + 1);
		p->line_mode = line_mode;
		p->nr = nr;
		p->step = step;
		mlv_buf_setlen(&p->names, names);
		mlv_buf_setlen(&p->prefix, plen);
		return r;
	}
	}
	if (literal(c, "true", 4) || literal(c, "false", 5) || literal(c, "null", 4))
		return 0;
	r = read_number(p, c, &v, &text, &text_len);
	if (r > 0)
		return 0;
	if (r < 0)
		return -1;
	return fail(p, c, "expected a value, found %s", describe(c));
}

int mjson_parse(struct mjson *p, const char *s, size_t len)
{
	struct cursor c = { s, s, s + len };

	p->nr = 0;
	mlv_buf_reset(&p->names);
	mlv_buf_reset(&p->prefix);
	p->step = MLV_METRICS_NO_STEP;
	p->err[0] = '\0';
	skip_blanks(&c);
	if (c.s >= c.end || *c.s != '{') {
		if (c.s < c.end && (*c.s == '[' || *c.s == '"' || *c.s == '-' ||
				    (*c.s >= '0' && *c.s <= '9') || *c.s == 't' || *c.s == 'f' ||
				    *c.s == 'n' || *c.s == 'N' || *c.s == 'I')) {
			const char *at = c.s;

			if (skip_value(p, &c, 1) == 0) {
				skip_blanks(&c);
				if (c.s == c.end) {
					c.s = at;
					return fail(p, &c, "%s", "not a JSON object");
				}
			}
			c.s = at;
		}
		return fail(p, &c, "expected '{', found %s", describe(&c));
	}
	c.s++;
	if (read_object(p, &c, 1) < 0)
		return -1;
	skip_blanks(&c);
	if (c.s != c.end)
		return fail(p, &c, "%s after the object", describe(&c));
	return 0;
}
