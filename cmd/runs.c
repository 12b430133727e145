/*
 * mlv runs [--where <expr>]... [--sort [-]<key>] [-n <count>] [--json]
 * mlv runs show [<run>] [--json] [--follow]
 * mlv runs log [<run>] [--stderr]
 * mlv runs diff <run-a> <run-b> [--json] [--exit-code]
 * mlv runs compare <run>... [--metrics <names>] [--md|--json]
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builtin.h"
#include "mlv/error.h"
#include "mlv/fs.h"
#include "mlv/quote.h"
#include "mlv/runs.h"

static const char *const runs_usage[] = {
	"mlv runs [--where <expr>]... [--sort [-]<key>] [-n <count>] [--json]",
	"mlv runs show [<run>] [--json] [--follow]",
	"mlv runs log [<run>] [--stderr]",
	"mlv runs diff <run-a> <run-b> [--json] [--exit-code]",
	"mlv runs compare <run>... [--metrics <names>] [--md|--json]",
	NULL,
};

/* Columns of params and metrics a listing shows at most. */
#define LIST_PARAMS 3
#define LIST_METRICS 3
/* How often --follow looks at the live directory. */
#define FOLLOW_POLL_MS 100
/* How long --follow waits for the ref after the live directory went. */
#define FOLLOW_REF_WAIT_MS 10000

static void warn_cb(void *ctx, const char *what, const char *why)
{
	warning("ignoring %s: %s", what, why);
}

/* A value from a record, safe for a terminal: control characters become '?'. */
static void add_safe(struct mlv_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		mlv_buf_addch(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

static void fmt_num(struct mlv_buf *b, double v)
{
	char tmp[40];

	if (!isfinite(v)) {
		mlv_buf_adds(b, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		mlv_buf_addf(b, "%.0f", v);
		return;
	}
	for (int p = 15; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*g", p, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	mlv_buf_adds(b, tmp);
}

/* A scalar as a person reads it; "-" for none. */
static void fmt_value(struct mlv_buf *b, const json_t *v)
{
	if (json_is_string(v))
		add_safe(b, json_string_value(v));
	else if (json_is_integer(v))
		mlv_buf_addf(b, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		fmt_num(b, json_real_value(v));
	else if (json_is_true(v))
		mlv_buf_adds(b, "true");
	else if (json_is_false(v))
		mlv_buf_adds(b, "false");
	else if (!v || json_is_null(v))
		mlv_buf_adds(b, "-");
	else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		add_safe(b, s ? s : "?");
		free(s);
	}
}

static const char *value_str(const json_t *v)
{
	static struct mlv_buf bufs[4];
	static int which;
	struct mlv_buf *b = &bufs[which++ % 4];

	mlv_buf_reset(b);
	fmt_value(b, v);
	return b->ptr;
}

static void fmt_duration(struct mlv_buf *b, double d)
{
	if (d < 0)
		mlv_buf_adds(b, "-");
	else if (d < 60)
		mlv_buf_addf(b, "%.1fs", d);
	else if (d < 3600)
		mlv_buf_addf(b, "%dm%02ds", (int)(d / 60), (int)fmod(d, 60));
	else
		mlv_buf_addf(b, "%dh%02dm", (int)(d / 3600), (int)fmod(d / 60, 60));
}

/* "2026-11-26T06:05:12.123Z" -> "2026-11-26 06:05:12" */
static void fmt_start(struct mlv_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= 19 && s[10] == 'T') {
		mlv_buf_add(b, s, 10);
		mlv_buf_addch(b, ' ');
		mlv_buf_add(b, s + 11, 8);
	} else {
		add_safe(b, s ? s : "-");
	}
}

static const json_t *get2(const json_t *o, const char *a, const char *b)
{
	return json_object_get(json_object_get(o, a), b);
}

/* ---------------------------------------------------------------------
 * mlv runs: the listing.
 */

struct colkey {
	const char *key;
	size_t count;
};

static int colkey_cmp(const void *a, const void *b)
{
	const struct colkey *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

/*
 * The params (or metrics) keys to show: those the query names first,
 * then the most common, at most `max`.
 */
static size_t pick_columns(const struct mlv_run_list *l, int metrics, const char **named,
			   size_t nnamed, const char **out, size_t max)
{
	struct colkey *keys = NULL;
	size_t nr = 0, alloc = 0, n = 0, i;
	const char *prefix = metrics ? "metrics." : "params.";

	for (i = 0; i < nnamed && n < max; i++) {
		if (strncmp(named[i], prefix, strlen(prefix)))
			continue;
		out[n++] = named[i] + strlen(prefix);
	}
	for (i = 0; i < l->nr; i++) {
		const char *k;
		json_t *v;

		json_object_foreach(metrics ? l->rows[i].metrics : l->rows[i].params, k, v) {
			size_t j;

			for (j = 0; j < nr && strcmp(keys[j].key, k); j++)
				;
			if (j == nr) {
				if (nr >= 256)
					continue;
				MLV_ALLOC_GROW(keys, nr + 1, alloc);
				keys[nr].key = k;
				keys[nr++].count = 0;
			}
			keys[j].count++;
		}
	}
	if (nr)
		qsort(keys, nr, sizeof(*keys), colkey_cmp);
	for (i = 0; i < nr && n < max; i++) {
		size_t j;

		for (j = 0; j < n && strcmp(out[j], keys[i].key); j++)
			;
		if (j == n)
			out[n++] = keys[i].key;
	}
	free(keys);
	return n;
}

struct table {
	size_t ncols, nrows;
	char **cells; /* nrows x ncols, row 0 the header */
	int *right;   /* right-aligned columns */
};

static void table_init(struct table *t, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->right = mlv_calloc(ncols, sizeof(*t->right));
}

static void table_row(struct table *t, char **cells)
{
	t->cells = mlv_realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*t->cells));
	memcpy(t->cells + t->nrows * t->ncols, cells, t->ncols * sizeof(*cells));
	t->nrows++;
}

static size_t width_of(const char *s)
{
	size_t w = 0;

	/* UTF-8 continuation bytes take no column */
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void table_print(struct table *t, int md)
{
	size_t *w = mlv_calloc(t->ncols, sizeof(*w)), r, c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t x = width_of(t->cells[r * t->ncols + c]);

			if (x > w[c])
				w[c] = x;
		}
	for (r = 0; r < t->nrows; r++) {
		struct mlv_buf line = MLV_BUF_INIT;

		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t pad = w[c] - width_of(s);

			if (md) {
				mlv_buf_adds(&line, c ? " " : "| ");
				for (; *s; s++) {
					if (*s == '|')
						mlv_buf_addch(&line, '\\');
					mlv_buf_addch(&line, *s);
				}
				mlv_buf_adds(&line, " |");
				continue;
			}
			if (c)
				mlv_buf_adds(&line, "  ");
			if (t->right[c])
				while (pad--)
					mlv_buf_addch(&line, ' ');
			mlv_buf_adds(&line, s);
			if (!t->right[c] && c + 1 < t->ncols)
				while (pad--)
					mlv_buf_addch(&line, ' ');
		}
		puts(line.ptr);
		if (md && r == 0) {
			mlv_buf_reset(&line);
			for (c = 0; c < t->ncols; c++)
				mlv_buf_adds(&line, t->right[c] ? "|---:" : "|---");
			mlv_buf_adds(&line, "|");
			puts(line.ptr);
		}
		mlv_buf_release(&line);
	}
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(t->cells);
	free(t->right);
	free(w);
}

static char *cell_value(const json_t *v)
{
	return mlv_strdup(value_str(v));
}

/* The row's record (a reference), with a live run's state in it. */
static json_t *row_json(const struct mlv_run_row *row)
{
	json_t *rec = json_incref(row->record);

	if (row->live) {
		json_t *st = json_object_get(rec, "status");

		if (!json_is_object(st))
			json_object_set_new(rec, "status", st = json_object());
		json_object_set_new(st, "state", json_string(row->state));
	}
	return rec;
}

static int do_list(struct mlv_ctx *ctx, struct opt_list *where, const char *sort, int limit,
		   int json)
{
	struct mlv_runs_query q = { 0 };
	struct mlv_run_list l;
	const char *named[64], *pcols[LIST_PARAMS], *mcols[LIST_METRICS];
	size_t nnamed = 0, np, nm, i, c;
	struct table t;

	q.where = where->v;
	q.nwhere = where->n;
	q.sort = sort;
	q.limit = limit > 0 ? (size_t)limit : 0;
	q.live = 1;
	q.records = json;
	if (mlv_runs_query(ctx->repo, &q, &l))
		die_lib();
	if (json) {
		json_t *o = json_object(), *a = json_array();

		for (i = 0; i < l.nr; i++)
			json_array_append_new(a, row_json(&l.rows[i]));
		json_object_set_new(o, "runs", a);
		json_object_set_new(o, "total", json_integer((json_int_t)l.total));
		json_emit(o);
		mlv_run_list_release(&l);
		return 0;
	}
	if (sort && (*sort == '-' || *sort == '+'))
		named[nnamed++] = sort + 1;
	else if (sort)
		named[nnamed++] = sort;
	for (i = 0; i < where->n && nnamed < 64; i++) {
		const char *e = where->v[i];
		size_t k = strcspn(e, "=!<>~ \t");

		named[nnamed++] = mlv_strndup(e + strspn(e, " \t"), k - strspn(e, " \t"));
	}
	np = pick_columns(&l, 0, named, nnamed, pcols, LIST_PARAMS);
	nm = pick_columns(&l, 1, named, nnamed, mcols, LIST_METRICS);
	table_init(&t, 5 + np + nm);
	t.right[4] = 1;
	{
		char *hdr[5 + LIST_PARAMS + LIST_METRICS];

		hdr[0] = mlv_strdup("ID");
		hdr[1] = mlv_strdup("NAME");
		hdr[2] = mlv_strdup("STATE");
		hdr[3] = mlv_strdup("START");
		hdr[4] = mlv_strdup("DURATION");
		for (c = 0; c < np; c++) {
			struct mlv_buf b = MLV_BUF_INIT;

			add_safe(&b, pcols[c]);
			hdr[5 + c] = mlv_buf_detach(&b, NULL);
			t.right[5 + c] = 1;
		}
		for (c = 0; c < nm; c++) {
			struct mlv_buf b = MLV_BUF_INIT;

			add_safe(&b, mcols[c]);
			hdr[5 + np + c] = mlv_buf_detach(&b, NULL);
			t.right[5 + np + c] = 1;
		}
		if (l.nr)
			table_row(&t, hdr);
		else
			for (c = 0; c < 5 + np + nm; c++)
				free(hdr[c]);
	}
	for (i = 0; i < l.nr; i++) {
		const struct mlv_run_row *row = &l.rows[i];
		char *cells[5 + LIST_PARAMS + LIST_METRICS];
		struct mlv_buf b = MLV_BUF_INIT;

		cells[0] = mlv_strdup(row->id);
		add_safe(&b, row->name ? row->name : "-");
		cells[1] = mlv_buf_detach(&b, NULL);
		add_safe(&b, row->state);
		if (row->has_exit && row->exit_code)
			mlv_buf_addf(&b, " (%lld)", row->exit_code);
		cells[2] = mlv_buf_detach(&b, NULL);
		fmt_start(&b, row->start);
		cells[3] = mlv_buf_detach(&b, NULL);
		fmt_duration(&b, row->duration);
		cells[4] = mlv_buf_detach(&b, NULL);
		for (c = 0; c < np; c++)
			cells[5 + c] = cell_value(json_object_get(row->params, pcols[c]));
		for (c = 0; c < nm; c++)
			cells[5 + np + c] = cell_value(json_object_get(row->metrics, mcols[c]));
		table_row(&t, cells);
	}
	table_print(&t, 0);
	for (i = sort ? 1 : 0; i < nnamed; i++)
		free((char *)named[i]);
	mlv_run_list_release(&l);
	return 0;
}

/* ---------------------------------------------------------------------
 * mlv runs show
 */

static void resolve_or_die(struct mlv_ctx *ctx, const char *spec, unsigned flags,
			   char id[MLV_RUN_ID_SIZE], json_t **run, int *live)
{
	int ret = spec ? mlv_runs_resolve_ext(ctx->repo, spec, flags, id, run, live) :
			 mlv_runs_latest(ctx->repo, flags, id, run, live);

	if (ret)
		die_lib();
}

static void show_line(const char *label, const char *value)
{
	printf("%-10s %s\n", label, value);
}

static void show_scalars(const char *title, const json_t *o)
{
	const char *k;
	json_t *v;
	size_t w = 0;

	if (!json_is_object(o) || !json_object_size(o))
		return;
	printf("%s:\n", title);
	json_object_foreach((json_t *)o, k, v)
		if (strlen(k) > w)
			w = strlen(k);
	json_object_foreach((json_t *)o, k, v) {
		struct mlv_buf b = MLV_BUF_INIT;

		add_safe(&b, k);
		printf("  %-*s  %s\n", (int)w, b.ptr, value_str(v));
		mlv_buf_release(&b);
	}
}

static void show_io(const char *title, const json_t *a)
{
	size_t i;
	json_t *e;

	if (!json_is_array(a) || !json_array_size(a))
		return;
	printf("%s:\n", title);
	json_array_foreach(a, i, e) {
		struct mlv_buf b = MLV_BUF_INIT;
		const json_t *how = json_object_get(e, "how");

		mlv_buf_adds(&b, "  ");
		fmt_value(&b, json_object_get(e, "path"));
		mlv_buf_adds(&b, "  ");
		fmt_value(&b, json_object_get(e, "oid"));
		if (json_is_integer(json_object_get(e, "size")))
			mlv_buf_addf(&b, "  %s",
				     human_size((uint64_t)json_integer_value(json_object_get(e, "size"))));
		if (json_is_string(how)) {
			mlv_buf_adds(&b, "  (");
			add_safe(&b, json_string_value(how));
			mlv_buf_adds(&b, ")");
		}
		puts(b.ptr);
		mlv_buf_release(&b);
	}
}

static void show_text(const char *id, const json_t *run, const char *state, int live)
{
	const json_t *v, *st = json_object_get(run, "status"), *git = json_object_get(run, "git");
	struct mlv_buf b = MLV_BUF_INIT;
	size_t i;

	mlv_buf_addf(&b, "run %s", id);
	if (json_is_string(v = json_object_get(run, "name"))) {
		mlv_buf_adds(&b, " (");
		add_safe(&b, json_string_value(v));
		mlv_buf_adds(&b, ")");
	}
	puts(b.ptr);
	mlv_buf_reset(&b);
	add_safe(&b, state);
	if (json_is_integer(v = json_object_get(st, "exit")))
		mlv_buf_addf(&b, ", exit %lld", (long long)json_integer_value(v));
	if (json_is_integer(v = json_object_get(st, "signal")))
		mlv_buf_addf(&b, ", signal %lld", (long long)json_integer_value(v));
	show_line("state:", b.ptr);
	if (json_is_array(v = json_object_get(run, "argv"))) {
		json_t *a;

		mlv_buf_reset(&b);
		json_array_foreach(v, i, a) {
			const char *arg = json_string_value(a);

			if (i)
				mlv_buf_addch(&b, ' ');
			/* as a shell reads it back */
			if (arg && (!*arg || arg[strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
							  "abcdefghijklmnopqrstuvwxyz"
							  "0123456789_./=:,+-@%")]))
				mlv_sq_quote(&b, arg);
			else
				fmt_value(&b, a);
		}
		show_line("command:", b.ptr);
	}
	if (json_is_string(v = json_object_get(run, "cwd")) && *json_string_value(v))
		show_line("directory:", value_str(v));
	if (json_is_object(git)) {
		mlv_buf_reset(&b);
		fmt_value(&b, json_object_get(git, "commit"));
		if (json_is_string(v = json_object_get(git, "branch"))) {
			mlv_buf_adds(&b, " on ");
			add_safe(&b, json_string_value(v));
		}
		if (json_is_true(json_object_get(git, "dirty")))
			mlv_buf_adds(&b, " (dirty: diff.patch stored)");
		show_line("commit:", b.ptr);
	}
	mlv_buf_reset(&b);
	fmt_start(&b, json_string_value(json_object_get(run, "start")));
	mlv_buf_adds(&b, " UTC");
	show_line("start:", b.ptr);
	if (json_is_number(v = json_object_get(run, "duration"))) {
		mlv_buf_reset(&b);
		fmt_duration(&b, json_number_value(v));
		show_line("duration:", b.ptr);
	}
	if (json_is_integer(v = json_object_get(run, "seed"))) {
		mlv_buf_reset(&b);
		mlv_buf_addf(&b, "%lld", (long long)json_integer_value(v));
		if (json_is_true(json_object_get(run, "deterministic")))
			mlv_buf_adds(&b, " (deterministic)");
		show_line("seed:", b.ptr);
	}
	if (json_is_string(v = json_object_get(run, "host"))) {
		mlv_buf_reset(&b);
		if (json_is_string(json_object_get(run, "user"))) {
			add_safe(&b, json_string_value(json_object_get(run, "user")));
			mlv_buf_addch(&b, '@');
		}
		add_safe(&b, json_string_value(v));
		if (live && json_is_integer(json_object_get(run, "pid")))
			mlv_buf_addf(&b, " (pid %lld)",
				     (long long)json_integer_value(json_object_get(run, "pid")));
		show_line("host:", b.ptr);
	}
	if (json_is_string(v = get2(run, "env", "hash")))
		show_line("env:", value_str(v));
	if (json_is_integer(v = get2(run, "gpus", "count")) && json_integer_value(v) > 0) {
		const json_t *models = get2(run, "gpus", "models"), *m;

		mlv_buf_reset(&b);
		mlv_buf_addf(&b, "%lld", (long long)json_integer_value(v));
		json_array_foreach(models, i, m) {
			mlv_buf_adds(&b, i ? ", " : " (");
			fmt_value(&b, m);
		}
		if (json_array_size(models))
			mlv_buf_addch(&b, ')');
		show_line("gpus:", b.ptr);
	}
	if (json_is_integer(v = json_object_get(run, "peak_rss")))
		show_line("peak rss:", human_size((uint64_t)json_integer_value(v)));
	if (json_is_string(v = get2(run, "trace", "mode"))) {
		mlv_buf_reset(&b);
		add_safe(&b, json_string_value(v));
		if (json_is_string(get2(run, "trace", "why"))) {
			mlv_buf_adds(&b, " (");
			add_safe(&b, json_string_value(get2(run, "trace", "why")));
			mlv_buf_adds(&b, ")");
		}
		show_line("trace:", b.ptr);
	}
	if (json_is_string(v = json_object_get(run, "reproduces")))
		show_line("reproduces:", value_str(v));
	show_scalars("params", json_object_get(run, "params"));
	show_scalars("metrics", get2(run, "metrics", "final"));
	show_io("inputs", json_object_get(run, "inputs"));
	show_io("outputs", json_object_get(run, "outputs"));
	mlv_buf_release(&b);
}

static const char *run_state(const json_t *run, const char *live_state)
{
	const json_t *s = get2(run, "status", "state");

	if (live_state)
		return live_state;
	return json_is_string(s) ? json_string_value(s) : "unknown";
}

static void show_json(const char *id, json_t *run, const char *state, int live,
		      const char *commit)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "state", json_text(state));
	json_object_set_new(o, "live", json_boolean(live));
	json_object_set_new(o, "commit", commit ? json_string(commit) : json_null());
	json_object_set_new(o, "run", json_incref(run));
	json_emit(o);
}

/*
 * --follow: tail the live directory's files as they grow, until it goes
 * (the run is stored: show its final status) or its process is dead.
 */
struct tail {
	const char *name;
	int fd;
	FILE *to;
	int metrics;
	struct mlv_buf partial;
};

static void print_metrics_line(const char *line, size_t len)
{
	json_t *j = json_loadb(line, len, 0, NULL), *m, *v;
	struct mlv_buf b = MLV_BUF_INIT;
	const char *k;

	if (!json_is_object(j) || !json_is_object(m = json_object_get(j, "m"))) {
		json_decref(j);
		return;
	}
	mlv_buf_adds(&b, "metrics:");
	if (json_is_integer(v = json_object_get(j, "step")))
		mlv_buf_addf(&b, " step=%lld", (long long)json_integer_value(v));
	json_object_foreach(m, k, v) {
		mlv_buf_addch(&b, ' ');
		add_safe(&b, k);
		mlv_buf_addch(&b, '=');
		fmt_value(&b, v);
	}
	puts(b.ptr);
	mlv_buf_release(&b);
	json_decref(j);
}

/* Read what was appended; 1 when something was. */
static int tail_pump(struct tail *t, int dirfd)
{
	char buf[65536];
	ssize_t n;
	int any = 0;

	if (t->fd < 0) {
		t->fd = openat(dirfd, t->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (t->fd < 0)
			return 0;
	}
	while ((n = read(t->fd, buf, sizeof(buf))) > 0) {
		any = 1;
		if (!t->metrics) {
			fwrite(buf, 1, (size_t)n, t->to);
			continue;
		}
		mlv_buf_add(&t->partial, buf, (size_t)n);
		for (;;) {
			char *nl = memchr(t->partial.ptr, '\n', t->partial.len);
			size_t len;

			if (!nl)
				break;
			len = (size_t)(nl - t->partial.ptr);
			print_metrics_line(t->partial.ptr, len);
			memmove(t->partial.ptr, nl + 1, t->partial.len - len - 1);
			mlv_buf_setlen(&t->partial, t->partial.len - len - 1);
		}
		/* a line longer than any metrics line is dropped */
		if (t->partial.len > (1u << 20))
			mlv_buf_reset(&t->partial);
	}
	fflush(t->to);
	return any;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int do_follow(struct mlv_ctx *ctx, const char *id, json_t *run, int live)
{
	struct tail tails[] = {
		{ "stdout.log", -1, stdout, 0, MLV_BUF_INIT },
		{ "stderr.log", -1, stderr, 0, MLV_BUF_INIT },
		{ "metrics.jsonl", -1, stdout, 1, MLV_BUF_INIT },
	};
	char *dir = mlv_run_live_dir(ctx->repo, id);
	json_t *stored = NULL;
	const char *state = NULL;
	struct stat st;
	int dfd, waited = 0, ret = 0;
	size_t i;

	if (!live) {
		show_text(id, run, run_state(run, NULL), 0);
		free(dir);
		return 0;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	for (;;) {
		int gone = dfd < 0 || fstat(dfd, &st) < 0 || st.st_nlink == 0;

		for (i = 0; dfd >= 0 && i < 3; i++)
			tail_pump(&tails[i], dfd);
		if (gone)
			break;
		/* a process that died without a word */
		if (!mlv_run_live_load(ctx->repo, id, &stored, &state)) {
			json_decref(stored);
			stored = NULL;
			if (!strcmp(state, "crashed")) {
				for (i = 0; i < 3; i++)
					tail_pump(&tails[i], dfd);
				break;
			}
		} else {
			mlv_error_clear();
			state = NULL;
			/* the directory went between our looks */
			if (access(dir, F_OK) < 0)
				continue;
		}
		sleep_ms(FOLLOW_POLL_MS);
	}
	for (i = 0; i < 3; i++) {
		if (tails[i].fd >= 0)
			close(tails[i].fd);
		mlv_buf_release(&tails[i].partial);
	}
	if (dfd >= 0)
		close(dfd);
	if (state && !strcmp(state, "crashed")) {
		printf("run %s crashed: its process is gone and it was never stored\n", id);
		free(dir);
		return 1;
	}
	/* the ref is written before the live directory goes */
	while (mlv_run_load(ctx->repo, id, &stored, NULL)) {
		if (mlv_error_last_code() != MLV_ENOTFOUND || waited >= FOLLOW_REF_WAIT_MS)
			die_lib();
		mlv_error_clear();
		sleep_ms(FOLLOW_POLL_MS);
		waited += FOLLOW_POLL_MS;
	}
	{
		const json_t *s = json_object_get(stored, "status"), *v;
		struct mlv_buf b = MLV_BUF_INIT;

		mlv_buf_addf(&b, "run %s: ", id);
		add_safe(&b, run_state(stored, NULL));
		if (json_is_integer(v = json_object_get(s, "exit")))
			mlv_buf_addf(&b, ", exit %lld", (long long)json_integer_value(v));
		if (json_is_integer(v = json_object_get(s, "signal")))
			mlv_buf_addf(&b, ", signal %lld", (long long)json_integer_value(v));
		if (json_is_number(v = json_object_get(stored, "duration"))) {
			mlv_buf_adds(&b, " in ");
			fmt_duration(&b, json_number_value(v));
		}
		puts(b.ptr);
		mlv_buf_release(&b);
		show_scalars("metrics", get2(stored, "metrics", "final"));
		if (strcmp(run_state(stored, NULL), "ok"))
			ret = 1;
	}
	json_decref(stored);
	free(dir);
	return ret;
}

static int do_show(struct mlv_ctx *ctx, const char *spec, int json, int follow)
{
	char id[MLV_RUN_ID_SIZE], commit[65];
	const char *state = NULL;
	json_t *run = NULL;
	int live = 0, ret = 0;

	resolve_or_die(ctx, spec, MLV_RUNS_LIVE, id, &run, &live);
	if (live) {
		/* again, for its state */
		json_decref(run);
		run = NULL;
		if (mlv_run_live_load(ctx->repo, id, &run, &state) < 0) {
			/* stored meanwhile */
			mlv_error_clear();
			live = 0;
			if (mlv_run_load(ctx->repo, id, &run, NULL))
				die_lib();
		}
	}
	if (follow) {
		ret = do_follow(ctx, id, run, live);
	} else if (json) {
		show_json(id, run, run_state(run, state), live,
			  !live && !mlv_run_load(ctx->repo, id, NULL, commit) ? commit : NULL);
	} else {
		show_text(id, run, run_state(run, state), live);
	}
	json_decref(run);
	return ret;
}

/* ---------------------------------------------------------------------
 * mlv runs log
 */

static int sink_stdout(void *ctx, const void *data, size_t len)
{
	if (fwrite(data, 1, len, stdout) != len)
		return mlv_error_set_errno(MLV_EIO, "cannot write to standard output");
	return 0;
}

static int do_log(struct mlv_ctx *ctx, const char *spec, int err)
{
	char id[MLV_RUN_ID_SIZE];
	int live = 0;

	resolve_or_die(ctx, spec, MLV_RUNS_LIVE, id, NULL, &live);
	if (live) {
		char *dir = mlv_run_live_dir(ctx->repo, id);
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), fd;
		char buf[65536];
		ssize_t n;

		free(dir);
		fd = dfd < 0 ? -1 : openat(dfd, err ? "stderr.log" : "stdout.log",
					   O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd >= 0)
			close(dfd);
		if (fd < 0) {
			/* stored meanwhile */
			live = 0;
		} else {
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				if (sink_stdout(NULL, buf, (size_t)n))
					die_lib();
			close(fd);
			return 0;
		}
	}
	if (mlv_run_stream(ctx->repo, id, err ? "logs/stderr.mlv" : "logs/stdout.mlv",
			   sink_stdout, NULL))
		die_lib();
	return 0;
}

/* ---------------------------------------------------------------------
 * mlv runs diff
 */

struct differ {
	int json;
	json_t *out; /* array of {"what", "a", "b"} */
	size_t n;
};

static int json_same(const json_t *a, const json_t *b)
{
	if (!a || json_is_null(a))
		return !b || json_is_null(b);
	if (!b)
		return 0;
	/* 1 and 1.0 are one number */
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_equal((json_t *)a, (json_t *)b);
}

static void differ_add(struct differ *d, const char *what, const json_t *a, const json_t *b)
{
	if (json_same(a, b))
		return;
	d->n++;
	if (d->json) {
		json_t *e = json_object();

		json_object_set_new(e, "what", json_text(what));
		json_object_set_new(e, "a", a ? json_deep_copy(a) : json_null());
		json_object_set_new(e, "b", b ? json_deep_copy(b) : json_null());
		json_array_append_new(d->out, e);
	} else {
		struct mlv_buf w = MLV_BUF_INIT;

		add_safe(&w, what);
		printf("%s: %s -> %s\n", w.ptr, value_str(a), value_str(b));
		mlv_buf_release(&w);
	}
}

static void differ_objects(struct differ *d, const char *prefix, const json_t *a,
			   const json_t *b)
{
	struct mlv_buf what = MLV_BUF_INIT;
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)a, k, v) {
		mlv_buf_reset(&what);
		mlv_buf_addf(&what, "%s.%s", prefix, k);
		differ_add(d, what.ptr, v, json_object_get(b, k));
	}
	json_object_foreach((json_t *)b, k, v) {
		if (json_object_get(a, k))
			continue;
		mlv_buf_reset(&what);
		mlv_buf_addf(&what, "%s.%s", prefix, k);
		differ_add(d, what.ptr, NULL, v);
	}
	mlv_buf_release(&what);
}

/* Inputs or outputs by path: their oids. */
static json_t *io_by_path(const json_t *a)
{
	json_t *o = json_object(), *e;
	size_t i;

	json_array_foreach(a, i, e) {
		const json_t *p = json_object_get(e, "path"), *oid = json_object_get(e, "oid");

		if (json_is_string(p))
			json_object_set(o, json_string_value(p), oid ? (json_t *)oid : json_null());
	}
	return o;
}

static int do_diff(struct mlv_ctx *ctx, const char *sa, const char *sb, int json, int exit_code)
{
	static const char *const top[] = { "name", "cwd", "seed", "deterministic", "reproduces" };
	char ida[MLV_RUN_ID_SIZE], idb[MLV_RUN_ID_SIZE];
	json_t *a = NULL, *b = NULL, *ia, *ib;
	struct differ d = { json, json ? json_array() : NULL, 0 };
	size_t i;

	resolve_or_die(ctx, sa, 0, ida, &a, NULL);
	resolve_or_die(ctx, sb, 0, idb, &b, NULL);
	differ_add(&d, "argv", json_object_get(a, "argv"), json_object_get(b, "argv"));
	for (i = 0; i < sizeof(top) / sizeof(*top); i++)
		differ_add(&d, top[i], json_object_get(a, top[i]), json_object_get(b, top[i]));
	differ_add(&d, "commit", get2(a, "git", "commit"), get2(b, "git", "commit"));
	differ_add(&d, "branch", get2(a, "git", "branch"), get2(b, "git", "branch"));
	differ_add(&d, "dirty", get2(a, "git", "dirty"), get2(b, "git", "dirty"));
	differ_add(&d, "env", get2(a, "env", "hash"), get2(b, "env", "hash"));
	differ_add(&d, "gpus", get2(a, "gpus", "count"), get2(b, "gpus", "count"));
	differ_add(&d, "state", get2(a, "status", "state"), get2(b, "status", "state"));
	differ_add(&d, "exit", get2(a, "status", "exit"), get2(b, "status", "exit"));
	differ_objects(&d, "params", json_object_get(a, "params"), json_object_get(b, "params"));
	differ_objects(&d, "metrics", get2(a, "metrics", "final"), get2(b, "metrics", "final"));
	ia = io_by_path(json_object_get(a, "inputs"));
	ib = io_by_path(json_object_get(b, "inputs"));
	differ_objects(&d, "inputs", ia, ib);
	json_decref(ia);
	json_decref(ib);
	ia = io_by_path(json_object_get(a, "outputs"));
	ib = io_by_path(json_object_get(b, "outputs"));
	differ_objects(&d, "outputs", ia, ib);
	json_decref(ia);
	json_decref(ib);
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "a", json_string(ida));
		json_object_set_new(o, "b", json_string(idb));
		json_object_set_new(o, "differences", d.out);
		json_emit(o);
	}
	json_decref(a);
	json_decref(b);
	return exit_code && d.n ? 1 : 0;
}

/* ---------------------------------------------------------------------
 * mlv runs compare
 */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int do_compare(struct mlv_ctx *ctx, int n, const char **specs, const char *metrics,
		      int md, int json)
{
	json_t **runs = mlv_calloc((size_t)n, sizeof(*runs));
	char (*ids)[MLV_RUN_ID_SIZE] = mlv_calloc((size_t)n, sizeof(*ids));
	json_t *pkeys = json_object(), *mkeys = json_object();
	const char *k;
	json_t *v;
	struct table t;
	size_t np, nm, c;
	const char **pk, **mk;
	int i;

	for (i = 0; i < n; i++)
		resolve_or_die(ctx, specs[i], 0, ids[i], &runs[i], NULL);
	/* params: those that differ (all of them for one run) */
	for (i = 0; i < n; i++)
		json_object_foreach(json_object_get(runs[i], "params"), k, v)
			json_object_set_new(pkeys, k, json_true());
	json_object_foreach(pkeys, k, v) {
		int differ = n == 1;

		for (i = 1; i < n && !differ; i++)
			differ = !json_same(get2(runs[0], "params", k), get2(runs[i], "params", k));
		if (!differ)
			json_object_set_new(pkeys, k, json_false());
	}
	if (metrics) {
		const char *p = metrics;

		while (*p) {
			size_t len = strcspn(p, ",");

			if (len) {
				char *name = mlv_strndup(p, len);

				json_object_set_new(mkeys, name, json_true());
				free(name);
			}
			p += len + (p[len] == ',');
		}
	} else {
		for (i = 0; i < n; i++)
			json_object_foreach((json_t *)get2(runs[i], "metrics", "final"), k, v)
				json_object_set_new(mkeys, k, json_true());
	}
	pk = mlv_calloc(json_object_size(pkeys) + 1, sizeof(*pk));
	mk = mlv_calloc(json_object_size(mkeys) + 1, sizeof(*mk));
	np = nm = 0;
	json_object_foreach(pkeys, k, v)
		if (json_is_true(v))
			pk[np++] = k;
	json_object_foreach(mkeys, k, v)
		mk[nm++] = k;
	/* in name order, but --metrics in the order given */
	qsort(pk, np, sizeof(*pk), cmp_str);
	if (!metrics)
		qsort(mk, nm, sizeof(*mk), cmp_str);
	if (json) {
		json_t *o = json_object(), *a = json_array(), *pl = json_array(), *ml = json_array();

		for (c = 0; c < np; c++)
			json_array_append_new(pl, json_string(pk[c]));
		for (c = 0; c < nm; c++)
			json_array_append_new(ml, json_string(mk[c]));
		for (i = 0; i < n; i++) {
			json_t *r = json_object(), *p = json_object(), *m = json_object();
			const json_t *x;

			json_object_set_new(r, "id", json_string(ids[i]));
			x = json_object_get(runs[i], "name");
			json_object_set_new(r, "name", x ? json_deep_copy(x) : json_null());
			json_object_set_new(r, "state", json_deep_copy(get2(runs[i], "status", "state")));
			for (c = 0; c < np; c++)
				json_object_set_new(p, pk[c], (x = get2(runs[i], "params", pk[c])) ?
							      json_deep_copy(x) : json_null());
			for (c = 0; c < nm; c++)
				json_object_set_new(m, mk[c],
						    (x = json_object_get(get2(runs[i], "metrics", "final"),
									 mk[c])) ?
							    json_deep_copy(x) : json_null());
			json_object_set_new(r, "params", p);
			json_object_set_new(r, "metrics", m);
			json_array_append_new(a, r);
		}
		json_object_set_new(o, "params", pl);
		json_object_set_new(o, "metrics", ml);
		json_object_set_new(o, "runs", a);
		json_emit(o);
		goto done;
	}
	table_init(&t, 3 + np + nm);
	{
		char **hdr = mlv_calloc(3 + np + nm, sizeof(*hdr));

		hdr[0] = mlv_strdup("run");
		hdr[1] = mlv_strdup("name");
		hdr[2] = mlv_strdup("state");
		for (c = 0; c < np; c++) {
			struct mlv_buf b = MLV_BUF_INIT;

			add_safe(&b, pk[c]);
			hdr[3 + c] = mlv_buf_detach(&b, NULL);
			t.right[3 + c] = 1;
		}
		for (c = 0; c < nm; c++) {
			struct mlv_buf b = MLV_BUF_INIT;

			add_safe(&b, mk[c]);
			hdr[3 + np + c] = mlv_buf_detach(&b, NULL);
			t.right[3 + np + c] = 1;
		}
		table_row(&t, hdr);
		free(hdr);
	}
	for (i = 0; i < n; i++) {
		char **cells = mlv_calloc(3 + np + nm, sizeof(*cells));

		cells[0] = mlv_strdup(ids[i]);
		cells[1] = cell_value(json_object_get(runs[i], "name"));
		cells[2] = cell_value(get2(runs[i], "status", "state"));
		for (c = 0; c < np; c++)
			cells[3 + c] = cell_value(get2(runs[i], "params", pk[c]));
		for (c = 0; c < nm; c++)
			cells[3 + np + c] = cell_value(json_object_get(get2(runs[i], "metrics", "final"),
								       mk[c]));
		table_row(&t, cells);
		free(cells);
	}
	table_print(&t, md);
done:
	free(pk);
	free(mk);
	json_decref(pkeys);
	json_decref(mkeys);
	for (i = 0; i < n; i++)
		json_decref(runs[i]);
	free(runs);
	free(ids);
	return 0;
}

int cmd_runs(int argc, const char **argv, struct mlv_ctx *ctx)
{
	struct opt_list where = { 0 };
	const char *sort = NULL, *metrics = NULL, *sub = NULL;
	int limit = 0, json = 0, follow = 0, err = 0, md = 0, exit_code = 0, n, ret;
	const struct option opts[] = {
		OPT_LIST_F(0, "where", &where, "<expr>",
			   "only runs where KEY OP VALUE holds (repeatable, all must hold)"),
		OPT_STRING_F(0, "sort", &sort, "[-]<key>", "sort by a key ('-': descending)"),
		OPT_INT_F('n', NULL, &limit, "<count>", "show at most <count> runs"),
		OPT_BOOL_F(0, "json", &json, "print one JSON object"),
		OPT_BOOL_F(0, "follow", &follow, "show: print a live run's output and metrics as they come"),
		OPT_BOOL_F(0, "stderr", &err, "log: the saved standard error instead of standard output"),
		OPT_STRING_F(0, "metrics", &metrics, "<names>", "compare: the metrics to show (comma-separated)"),
		OPT_BOOL_F(0, "md", &md, "compare: a GitHub Markdown table"),
		OPT_BOOL_F(0, "exit-code", &exit_code, "diff: exit with 1 when the runs differ"),
		OPT_END_F,
	};

	mlv_runs_set_warn(warn_cb, NULL);
	n = parse_options(argc, argv, opts, runs_usage);
	if (n > 0 && (!strcmp(argv[0], "show") || !strcmp(argv[0], "log") ||
		      !strcmp(argv[0], "diff") || !strcmp(argv[0], "compare"))) {
		sub = argv[0];
		argv++;
		n--;
	}
	if (!sub) {
		if (n)
			usage_error(runs_usage, opts, "unknown subcommand '%s'", argv[0]);
		if (follow || err || metrics || md || exit_code)
			usage_error(runs_usage, opts, "that option is not for the listing");
		ret = do_list(ctx, &where, sort, limit, json);
		goto done;
	}
	if (where.n || sort || limit)
		usage_error(runs_usage, opts, "--where, --sort and -n are for the listing");
	if (!strcmp(sub, "show")) {
		if (n > 1)
			usage_error(runs_usage, opts, "'mlv runs show' takes one run");
		if (err || metrics || md || exit_code || (json && follow))
			usage_error(runs_usage, opts, "that option is not for 'mlv runs show'");
		ret = do_show(ctx, n ? argv[0] : NULL, json, follow);
	} else if (!strcmp(sub, "log")) {
		if (n > 1)
			usage_error(runs_usage, opts, "'mlv runs log' takes one run");
		if (json || follow || metrics || md || exit_code)
			usage_error(runs_usage, opts, "that option is not for 'mlv runs log'");
		ret = do_log(ctx, n ? argv[0] : NULL, err);
	} else if (!strcmp(sub, "diff")) {
		if (n != 2)
			usage_error(runs_usage, opts, "'mlv runs diff' takes two runs");
		if (follow || err || metrics || md)
			usage_error(runs_usage, opts, "that option is not for 'mlv runs diff'");
		ret = do_diff(ctx, argv[0], argv[1], json, exit_code);
	} else {
		if (n < 1)
			usage_error(runs_usage, opts, "'mlv runs compare' needs at least one run");
		if (follow || err || exit_code || (md && json))
			usage_error(runs_usage, opts, "that option is not for 'mlv runs compare'");
		ret = do_compare(ctx, n, argv, metrics, md, json);
	}
done:
	free(where.v);
	return ret;
}
