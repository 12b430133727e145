/*
 * The metrics accumulator of a run (mlv/metrics.h): JSON lines, stdout
 * lines through a regex, system samples and a final file, summarized for
 * run.json and written out as the normalized series.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/fs.h"
#include "mlv/metrics.h"
#include "run/metrics-priv.h"

enum source { SRC_JSON, SRC_STDOUT, SRC_FILE, SRC_SYSTEM, SRC_NR };

struct series {
	char *name;
	size_t name_len;
	uint64_t hash;
	enum source source;
	uint64_t points, nonfinite;
	double first, last, min, max;
	int has_finite;
	int64_t last_step;
};

/* A stream cut into lines: what is left of an incomplete one. */
struct lines {
	struct mlv_buf partial;
	int skipping;       /* inside an over-long line: drop up to the newline */
	uint64_t lineno;    /* lines completed */
};

struct out_fd {
	int fd;
	int failed;
};

struct mlv_metrics {
	pthread_mutex_t lock;
	void (*warn)(void *data, const char *msg);
	void *warn_data;
	char *json_source;

	struct mjson parser;
	struct lines json, text;

	regex_t re;
	int has_re;
	size_t re_groups;
	struct mlv_buf line;        /* a stdout line, NUL-terminated for regexec() */
	struct mlv_buf tnames;      /* names picked from a stdout line */
	struct mjson_pair *tpairs;
	size_t tnr, talloc;

	struct series *series;
	size_t nr_series, alloc_series;
	uint32_t *table;            /* open addressing: index + 1, 0 empty */
	size_t table_size;
	int dropped;

	uint64_t points, records, errors, shown;
	int used[SRC_NR];
	json_t *final;              /* from the -M files */
	char **final_paths;
	size_t nr_final, alloc_final;

	struct mlv_buf out;
	struct out_fd fds[2];
	int write_error;
	char write_msg[MLV_ERROR_MSG_MAX];
};

/* Write what is in m->out to each fd that has not failed. */
static int flush_out(struct mlv_metrics *m)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		struct out_fd *f = &m->fds[i];
		const char *p = m->out.ptr;
		size_t left = m->out.len;

		if (f->fd < 0 || f->failed)
			continue;
		while (left) {
			ssize_t n = write(f->fd, p, left);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				f->failed = 1;
				if (!m->write_error) {
					m->write_error = mlv_error_set_errno(MLV_EIO,
						"cannot write the metrics series%s",
						i ? " (live)" : "");
					snprintf(m->write_msg, sizeof(m->write_msg), "%s",
						 mlv_error_last());
				}
				break;
			}
			p += n;
			left -= (size_t)n;
		}
	}
	mlv_buf_reset(&m->out);
	return m->write_error;
}

static void report(struct mlv_metrics *m, const char *fmt, ...) MLV_PRINTF(2, 3);
static void report(struct mlv_metrics *m, const char *fmt, ...)
{
	struct mlv_buf msg = MLV_BUF_INIT;
	va_list ap;

	m->errors++;
	if (!m->warn || m->shown > MLV_METRICS_WARN_MAX)
		return;
	if (m->shown++ == MLV_METRICS_WARN_MAX) {
		m->warn(m->warn_data, "further malformed metrics are not shown");
		return;
	}
	va_start(ap, fmt);
	mlv_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	m->warn(m->warn_data, msg.ptr);
	mlv_buf_release(&msg);
}

int mlv_metrics_new(struct mlv_metrics **out, const struct mlv_metrics_opts *o)
{
	struct mlv_metrics *m = mlv_calloc(1, sizeof(*m));
	struct mlv_metrics_opts def = MLV_METRICS_OPTS_INIT;

	if (!o)
		o = &def;
	pthread_mutex_init(&m->lock, NULL);
	m->warn = o->warn;
	m->warn_data = o->warn_data;
	m->json_source = mlv_strdup(o->json_source ? o->json_source : "$MLV_METRICS");
	mjson_init(&m->parser, 1);
	mlv_buf_init(&m->json.partial, 0);
	mlv_buf_init(&m->text.partial, 0);
	mlv_buf_init(&m->line, 0);
	mlv_buf_init(&m->tnames, 0);
	mlv_buf_init(&m->out, 0);
	m->fds[0].fd = o->series_fd;
	m->fds[1].fd = o->live_fd;
	*out = m;
	return 0;
}

void mlv_metrics_free(struct mlv_metrics *m)
{
	size_t i;

	if (!m)
		return;
	mjson_release(&m->parser);
	mlv_buf_release(&m->json.partial);
	mlv_buf_release(&m->text.partial);
	mlv_buf_release(&m->line);
	mlv_buf_release(&m->tnames);
	mlv_buf_release(&m->out);
	free(m->tpairs);
	if (m->has_re)
		regfree(&m->re);
	for (i = 0; i < m->nr_series; i++)
		free(m->series[i].name);
	free(m->series);
	free(m->table);
	json_decref(m->final);
	for (i = 0; i < m->nr_final; i++)
		free(m->final_paths[i]);
	free(m->final_paths);
	free(m->json_source);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static uint64_t name_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void table_grow(struct mlv_metrics *m)
{
	size_t size = m->table_size ? m->table_size * 2 : 64, i;

	free(m->table);
	m->table = mlv_calloc(size, sizeof(*m->table));
	m->table_size = size;
	for (i = 0; i < m->nr_series; i++) {
		size_t at = m->series[i].hash & (size - 1);

		while (m->table[at])
			at = (at + 1) & (size - 1);
		m->table[at] = (uint32_t)(i + 1);
	}
}

/* The series of `name`, made if new; NULL when there are too many. */
static struct series *series_get(struct mlv_metrics *m, const char *name, size_t len,
				 enum source src)
{
	uint64_t h = name_hash(name, len);
	size_t at;
	struct series *s;

	if (m->table_size) {
		for (at = h & (m->table_size - 1); m->table[at]; at = (at + 1) & (m->table_size - 1)) {
			s = &m->series[m->table[at] - 1];
			if (s->hash == h && s->name_len == len && !memcmp(s->name, name, len))
				return s;
		}
	}
	if (m->nr_series >= MLV_METRICS_SERIES_MAX) {
		if (!m->dropped) {
			m->dropped = 1;
			if (m->warn)
				m->warn(m->warn_data, "more than 10000 metric names: the points of "
					"further names are dropped");
		}
		return NULL;
	}
	if ((m->nr_series + 1) * 2 > m->table_size)
		table_grow(m);
	MLV_ALLOC_GROW(m->series, m->nr_series + 1, m->alloc_series);
	s = &m->series[m->nr_series];
	memset(s, 0, sizeof(*s));
	s->name = mlv_strndup(name, len);
	s->name_len = len;
	s->hash = h;
	s->source = src;
	s->last_step = MLV_METRICS_NO_STEP;
	for (at = h & (m->table_size - 1); m->table[at]; at = (at + 1) & (m->table_size - 1))
		;
	m->table[at] = (uint32_t)(++m->nr_series);
	return s;
}

static void add_uint(struct mlv_buf *b, uint64_t v)
{
	char d[24];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mlv_buf_add(b, d + i, sizeof(d) - i);
}

static void add_time(struct mlv_buf *b, double t)
{
	uint64_t us = t > 0 && t < 1e12 ? (uint64_t)llround(t * 1e6) : 0;
	char frac[7];
	uint64_t f = us % 1000000;
	int i;

	add_uint(b, us / 1000000);
	frac[0] = '.';
	for (i = 6; i >= 1; i--) {
		frac[i] = (char)('0' + f % 10);
		f /= 10;
	}
	mlv_buf_add(b, frac, 7);
}

/*
 * One record: update the series of each pair and write one line of the
 * normalized series.  Names are in `names` (pairs' offsets).
 */
static void ingest(struct mlv_metrics *m, enum source src, const struct mlv_buf *names,
		   const struct mjson_pair *pairs, size_t nr, int64_t step, double t)
{
	size_t i, kept = 0, start = m->out.len;

	for (i = 0; i < nr; i++) {
		const struct mjson_pair *p = &pairs[i];
		const char *name = names->ptr + p->name_off;
		struct series *s = series_get(m, name, p->name_len, src);
		double v = p->value;
		int finite = isfinite(v);

		if (!s)
			continue;
		if (!kept++) {
			mlv_buf_adds(&m->out, "{\"t\":");
			add_time(&m->out, t);
			mlv_buf_adds(&m->out, ",\"step\":");
			if (step >= 0)
				add_uint(&m->out, (uint64_t)step);
			else
				mlv_buf_adds(&m->out, "null");
			mlv_buf_adds(&m->out, ",\"m\":{\"");
		} else {
			mlv_buf_adds(&m->out, ",\"");
		}
		mjson_escape(&m->out, name, p->name_len);
		mlv_buf_add(&m->out, "\":", 2);
		if (!finite) {
			mlv_buf_adds(&m->out, "null");
		} else if (p->text) {
			mlv_buf_add(&m->out, p->text, p->text_len);
		} else {
			char num[40];

			mjson_format_double(num, sizeof(num), v);
			mlv_buf_adds(&m->out, num);
		}

		if (!s->points++)
			s->first = v;
		s->last = v;
		if (!finite) {
			s->nonfinite++;
		} else if (!s->has_finite) {
			s->has_finite = 1;
			s->min = s->max = v;
		} else {
			if (v < s->min)
				s->min = v;
			if (v > s->max)
				s->max = v;
		}
		if (step >= 0)
			s->last_step = step;
	}
	if (kept) {
		mlv_buf_add(&m->out, "}}\n", 3);
		m->points += kept;
		m->records++;
		m->used[src] = 1;
	} else {
		mlv_buf_setlen(&m->out, start);
	}
	if (m->out.len >= (1u << 18))
		flush_out(m);
}

static void json_line(struct mlv_metrics *m, const char *s, size_t len, double t)
{
	size_t i;

	if (len && s[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			break;
	if (i == len)
		return;
	if (mjson_parse(&m->parser, s, len) < 0) {
		report(m, "%s:%llu: %s (column %zu)", m->json_source,
		       (unsigned long long)m->json.lineno + 1, m->parser.err, m->parser.err_off + 1);
		return;
	}
	ingest(m, SRC_JSON, &m->parser.names, m->parser.pairs, m->parser.nr, m->parser.step, t);
}

static void text_line(struct mlv_metrics *m, const char *s, size_t len, double t);

/*
 * Cut `buf` into lines for `fn`.  JSON lines end at '\n' only (lineno
 * counts them); stdout lines at '\n' or '\r'.  An over-long line is
 * dropped as it comes, reported for JSON.
 */
static void feed_lines(struct mlv_metrics *m, struct lines *l, int text, const char *buf,
		       size_t len, double t)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl;
		size_t n;

		if (text) {
			for (nl = p; nl < end && *nl != '\n' && *nl != '\r'; nl++)
				;
			if (nl == end)
				nl = NULL;
		} else {
			nl = memchr(p, '\n', (size_t)(end - p));
		}
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (l->skipping) {
			/* the rest of an over-long line */
		} else if (l->partial.len + n > MLV_METRICS_LINE_MAX) {
			if (!text)
				report(m, "%s:%llu: line longer than %u bytes, skipped",
				       m->json_source, (unsigned long long)l->lineno + 1,
				       MLV_METRICS_LINE_MAX);
			l->skipping = 1;
			mlv_buf_release(&l->partial);
		} else if (!nl) {
			mlv_buf_add(&l->partial, p, n);
		} else {
			const char *line = p;
			size_t line_len = n;

			if (l->partial.len) {
				mlv_buf_add(&l->partial, p, n);
				line = l->partial.ptr;
				line_len = l->partial.len;
			}
			if (text)
				text_line(m, line, line_len, t);
			else
				json_line(m, line, line_len, t);
			if (*nl == '\n')
				l->lineno++;
			mlv_buf_reset(&l->partial);
		}
		if (!nl)
			break;
		if (l->skipping) {
			l->skipping = 0;
			if (*nl == '\n')
				l->lineno++;
		}
		p = nl + 1;
	}
}

int mlv_metrics_feed_json(struct mlv_metrics *m, const char *buf, size_t len, double t)
{
	int ret;

	pthread_mutex_lock(&m->lock);
	feed_lines(m, &m->json, 0, buf, len, t);
	ret = flush_out(m);
	pthread_mutex_unlock(&m->lock);
	return ret;
}

long long mlv_metrics_feed_fd(struct mlv_metrics *m, int fd, double t)
{
	char buf[65536];
	long long total = 0;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return mlv_error_set_errno(MLV_EIO, "cannot read %s", m->json_source);
		if (!n)
			break;
		mlv_metrics_feed_json(m, buf, (size_t)n, t);
		total += n;
	}
	return total;
}

int mlv_metrics_set_regex(struct mlv_metrics *m, const char *regex)
{
	regex_t re;
	int r = regcomp(&re, regex, REG_EXTENDED);

	if (r) {
		char msg[256];

		regerror(r, &re, msg, sizeof(msg));
		return mlv_error_set(MLV_EINVALID, "bad regex '%s': %s", regex, msg);
	}
	if (re.re_nsub != 0 && re.re_nsub != 2) {
		regfree(&re);
		return mlv_error_set(MLV_EINVALID, "regex '%s' has %zu groups: it needs none "
				     "(name=value pairs of the lines it matches) or two (name "
				     "and value)", regex, (size_t)re.re_nsub);
	}
	pthread_mutex_lock(&m->lock);
	if (m->has_re)
		regfree(&m->re);
	m->re = re;
	m->has_re = 1;
	m->re_groups = re.re_nsub;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '/' || c == '-';
}

/* A number as strtod reads it (no hex), exactly s[0..len). */
static int text_number(double *v, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == 'x' || s[i] == 'X' || s[i] == ' ' || s[i] == '(')
			return -1;
	return mjson_text_number(v, s, len);
}

static void text_pair(struct mlv_metrics *m, const char *name, size_t name_len,
		      const char *val, size_t val_len, int64_t *step)
{
	struct mjson_pair *p;
	double v;

	if (text_number(&v, val, val_len) < 0 || name_len > MLV_METRICS_NAME_MAX || !name_len)
		return;
	if (name_len == 4 && !memcmp(name, "step", 4)) {
		if (v >= 0 && v == floor(v) && v <= 9007199254740992.0)
			*step = (int64_t)v;
		return;
	}
	MLV_ALLOC_GROW(m->tpairs, m->tnr + 1, m->talloc);
	p = &m->tpairs[m->tnr++];
	p->name_off = m->tnames.len;
	p->name_len = name_len;
	mlv_buf_add(&m->tnames, name, name_len);
	p->value = v;
	p->text = mjson_number_len(val, val_len) == val_len && isfinite(v) ? val : NULL;
	p->text_len = val_len;
}

static int ends_value(char c)
{
	return !c || c == ' ' || c == '\t' || c == ',' || c == ';' || c == ')' || c == ']' ||
	       c == '}' || c == '|' || c == '%';
}

/* Every name=value and name: value of a line (NUL-terminated). */
static void scan_pairs(struct mlv_metrics *m, const char *s, size_t len, int64_t *step)
{
	size_t i;

	for (i = 1; i < len; i++) {
		size_t name_end = i, start, v, e;

		if (s[i] != '=' && s[i] != ':')
			continue;
		while (name_end > 0 && s[name_end - 1] == ' ')
			name_end--;
		start = name_end;
		while (start > 0 && is_name_char(s[start - 1]))
			start--;
		while (start < name_end && !((s[start] >= 'a' && s[start] <= 'z') ||
					     (s[start] >= 'A' && s[start] <= 'Z') || s[start] == '_'))
			start++;
		if (start == name_end)
			continue;
		v = i + 1;
		while (v < len && (s[v] == ' ' || s[v] == '\t'))
			v++;
		for (e = v; e < len && !ends_value(s[e]); e++)
			;
		if (e == v || (e < len && !ends_value(s[e])))
			continue;
		text_pair(m, s + start, name_end - start, s + v, e - v, step);
		i = e;
	}
}

static void text_line(struct mlv_metrics *m, const char *s, size_t len, double t)
{
	int64_t step = MLV_METRICS_NO_STEP;
	regmatch_t match[3];

	if (!len)
		return;
	mlv_buf_reset(&m->line);
	mlv_buf_add(&m->line, s, len);
	s = m->line.ptr;
	m->tnr = 0;
	mlv_buf_reset(&m->tnames);
	if (!m->re_groups) {
		if (regexec(&m->re, s, 0, NULL, 0))
			return;
		scan_pairs(m, s, len, &step);
	} else {
		size_t off = 0;
		int flags = 0;

		while (off <= len && !regexec(&m->re, s + off, 3, match, flags)) {
			const char *name = s + off + match[1].rm_so;
			const char *val = s + off + match[2].rm_so;
			size_t name_len = match[1].rm_so < 0 ? 0 :
				(size_t)(match[1].rm_eo - match[1].rm_so);
			size_t val_len = match[2].rm_so < 0 ? 0 :
				(size_t)(match[2].rm_eo - match[2].rm_so);
			double v;

			if (match[2].rm_so < 0 || text_number(&v, val, val_len) < 0) {
				report(m, "stdout:%llu: '%.*s' is not a number",
				       (unsigned long long)m->text.lineno + 1,
				       (int)(val_len > 64 ? 64 : val_len), match[2].rm_so < 0 ? "" : val);
			} else if (!name_len) {
				report(m, "stdout:%llu: empty metric name",
				       (unsigned long long)m->text.lineno + 1);
			} else {
				text_pair(m, name, name_len, val, val_len, &step);
			}
			off += match[0].rm_eo > 0 ? (size_t)match[0].rm_eo : 1;
			flags = REG_NOTBOL;
		}
	}
	ingest(m, SRC_STDOUT, &m->tnames, m->tpairs, m->tnr, step, t);
}

int mlv_metrics_feed_stdout(struct mlv_metrics *m, const char *buf, size_t len, double t)
{
	int ret;

	if (!m->has_re)
		return 0;
	pthread_mutex_lock(&m->lock);
	feed_lines(m, &m->text, 1, buf, len, t);
	ret = flush_out(m);
	pthread_mutex_unlock(&m->lock);
	return ret;
}

int mlv_metrics_point(struct mlv_metrics *m, const char *name, double value, int64_t step,
		      double t)
{
	struct mlv_buf names = MLV_BUF_INIT;
	struct mjson_pair p;
	size_t len = strlen(name);
	int ret;

	if (!len || len > MLV_METRICS_NAME_MAX)
		return mlv_error_set(MLV_EINVALID, "bad metric name '%.300s'", name);
	mlv_buf_add(&names, name, len);
	p.name_off = 0;
	p.name_len = len;
	p.value = value;
	p.text = NULL;
	p.text_len = 0;
	pthread_mutex_lock(&m->lock);
	ingest(m, SRC_SYSTEM, &names, &p, 1, step < 0 ? MLV_METRICS_NO_STEP : step, t);
	ret = flush_out(m);
	pthread_mutex_unlock(&m->lock);
	mlv_buf_release(&names);
	return ret;
}

/* 1-based line of byte `off` in `buf`. */
static size_t line_of(const char *buf, size_t len, size_t off)
{
	size_t line = 1, i;

	for (i = 0; i < off && i < len; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

static json_t *number_json(double v)
{
	if (!isfinite(v))
		return json_null();
	if (v == floor(v) && fabs(v) <= 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static int flatten(json_t **out, struct mjson *p, const char *buf, size_t len,
		   const char *source)
{
	json_t *obj;
	size_t i;

	*out = NULL;
	if (mjson_parse(p, buf, len) < 0)
		return mlv_error_set(MLV_EINVALID, "%s:%zu: %s", source,
				     line_of(buf, len, p->err_off), p->err);
	obj = json_object();
	for (i = 0; i < p->nr; i++) {
		char *name = mlv_strndup(p->names.ptr + p->pairs[i].name_off, p->pairs[i].name_len);

		json_object_set_new(obj, name, number_json(p->pairs[i].value));
		free(name);
	}
	*out = obj;
	return 0;
}

int mlv_metrics_flatten(json_t **out, const char *buf, size_t len, const char *source)
{
	struct mjson p;
	int ret;

	mjson_init(&p, 0);
	ret = flatten(out, &p, buf, len, source);
	mjson_release(&p);
	return ret;
}

int mlv_metrics_final_file(struct mlv_metrics *m, int dirfd, const char *path)
{
	struct mlv_buf buf = MLV_BUF_INIT;
	json_t *obj = NULL;
	int ret, malformed = 0;

	ret = mlv_fs_read_file(&buf, dirfd, path, MLV_METRICS_FILE_MAX);
	if (!ret) {
		ret = mlv_metrics_flatten(&obj, buf.ptr, buf.len, path);
		malformed = ret < 0;
	}
	pthread_mutex_lock(&m->lock);
	if (malformed)
		m->errors++;
	if (!ret) {
		if (!m->final)
			m->final = json_object();
		json_object_update(m->final, obj);
		json_decref(obj);
		MLV_ALLOC_GROW(m->final_paths, m->nr_final + 1, m->alloc_final);
		m->final_paths[m->nr_final++] = mlv_strdup(path);
	}
	pthread_mutex_unlock(&m->lock);
	mlv_buf_release(&buf);
	return ret;
}

int mlv_metrics_finish(struct mlv_metrics *m, double t)
{
	int ret;

	pthread_mutex_lock(&m->lock);
	if (m->json.partial.len && !m->json.skipping)
		json_line(m, m->json.partial.ptr, m->json.partial.len, t);
	mlv_buf_release(&m->json.partial);
	m->json.skipping = 0;
	if (m->has_re && m->text.partial.len && !m->text.skipping)
		text_line(m, m->text.partial.ptr, m->text.partial.len, t);
	mlv_buf_release(&m->text.partial);
	m->text.skipping = 0;
	flush_out(m);
	ret = m->write_error;
	if (ret)
		mlv_error_set(ret, "%s", m->write_msg);
	pthread_mutex_unlock(&m->lock);
	return ret;
}

json_t *mlv_metrics_summary(struct mlv_metrics *m)
{
	json_t *res = json_object(), *final, *series = json_object(), *sources = json_array();
	size_t i;

	pthread_mutex_lock(&m->lock);
	if (m->final) {
		final = json_deep_copy(m->final);
	} else {
		final = json_object();
		for (i = 0; i < m->nr_series; i++)
			if (m->series[i].source != SRC_SYSTEM)
				json_object_set_new(final, m->series[i].name,
						    number_json(m->series[i].last));
	}
	for (i = 0; i < m->nr_series; i++) {
		const struct series *s = &m->series[i];
		json_t *o = json_object();

		json_object_set_new(o, "points", json_integer((json_int_t)s->points));
		json_object_set_new(o, "first", number_json(s->first));
		json_object_set_new(o, "last", number_json(s->last));
		json_object_set_new(o, "min", s->has_finite ? number_json(s->min) : json_null());
		json_object_set_new(o, "max", s->has_finite ? number_json(s->max) : json_null());
		json_object_set_new(o, "last_step", s->last_step >= 0 ?
				    json_integer((json_int_t)s->last_step) : json_null());
		json_object_set_new(o, "nonfinite", json_integer((json_int_t)s->nonfinite));
		json_object_set_new(series, s->name, o);
	}
	if (m->used[SRC_JSON])
		json_array_append_new(sources, json_string("$MLV_METRICS"));
	if (m->used[SRC_STDOUT])
		json_array_append_new(sources, json_string("stdout"));
	for (i = 0; i < m->nr_final; i++) {
		char *s = mlv_xstrfmt("-M %s", m->final_paths[i]);

		json_array_append_new(sources, json_string(s));
		free(s);
	}
	if (m->used[SRC_SYSTEM])
		json_array_append_new(sources, json_string("system"));
	json_object_set_new(res, "final", final);
	json_object_set_new(res, "series", series);
	json_object_set_new(res, "sources", sources);
	json_object_set_new(res, "errors", json_integer((json_int_t)m->errors));
	pthread_mutex_unlock(&m->lock);
	return res;
}

uint64_t mlv_metrics_points(struct mlv_metrics *m)
{
	uint64_t n;

	pthread_mutex_lock(&m->lock);
	n = m->points;
	pthread_mutex_unlock(&m->lock);
	return n;
}

uint64_t mlv_metrics_records(struct mlv_metrics *m)
{
	uint64_t n;

	pthread_mutex_lock(&m->lock);
	n = m->records;
	pthread_mutex_unlock(&m->lock);
	return n;
}

uint64_t mlv_metrics_errors(struct mlv_metrics *m)
{
	uint64_t n;

	pthread_mutex_lock(&m->lock);
	n = m->errors;
	pthread_mutex_unlock(&m->lock);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int same_value(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return !a && !b;
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_is_null(a) && json_is_null(b);
}

json_t *mlv_metrics_diff(const json_t *old, const json_t *new, int all)
{
	const char **names = NULL, *key;
	size_t nr = 0, alloc = 0, i;
	json_t *res = json_array(), *v;

	if (json_is_object(old))
		json_object_foreach((json_t *)old, key, v) {
			MLV_ALLOC_GROW(names, nr + 1, alloc);
			names[nr++] = key;
		}
	if (json_is_object(new))
		json_object_foreach((json_t *)new, key, v) {
			if (json_is_object(old) && json_object_get(old, key))
				continue;
			MLV_ALLOC_GROW(names, nr + 1, alloc);
			names[nr++] = key;
		}
	if (nr)
		qsort(names, nr, sizeof(*names), cmp_str);
	for (i = 0; i < nr; i++) {
		json_t *a = json_is_object(old) ? json_object_get(old, names[i]) : NULL;
		json_t *b = json_is_object(new) ? json_object_get(new, names[i]) : NULL;
		json_t *row;

		if (a && !json_is_number(a))
			a = json_null();
		if (b && !json_is_number(b))
			b = json_null();
		if (!all && same_value(a, b))
			continue;
		row = json_object();
		json_object_set_new(row, "name", json_string(names[i]));
		json_object_set(row, "old", a ? a : json_null());
		json_object_set(row, "new", b ? b : json_null());
		json_object_set_new(row, "only", !a ? json_string("new") : !b ? json_string("old") :
				    json_null());
		if (a && b && json_is_number(a) && json_is_number(b)) {
			double x = json_number_value(a), y = json_number_value(b);

			json_object_set_new(row, "change", number_json(y - x));
			json_object_set_new(row, "relative", x != 0 && isfinite((y - x) / fabs(x)) ?
					    json_real((y - x) / fabs(x)) : json_null());
		} else {
			json_object_set_new(row, "change", json_null());
			json_object_set_new(row, "relative", json_null());
		}
		json_array_append_new(res, row);
	}
	free(names);
	return res;
}
