/*
 * mlv metrics show|diff: the metric files tracked with `mlv add --kind
 * metric` at revisions and in the work tree, and runs' final metrics.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "builtin.h"
#include "mlv/fs.h"
#include "mlv/history.h"
#include "mlv/metrics.h"
#include "mlv/runs.h"
#include "mlv/store.h"
#include "mlv/worktree.h"

static const char *const metrics_usage[] = {
	"mlv metrics show [--json] [<rev>|<run>]",
	"mlv metrics diff [--md | --json] [--all] [<a> [<b>]]",
	NULL,
};

struct mfile {
	char *path;
	json_t *metrics;  /* flat {name: number or null}, NULL when unreadable */
	char *error;
};

/* One side: a revision, the work tree, or a run. */
struct side {
	char *label;      /* what a table calls it: the revision as given, "work tree", the run id */
	char *rev;        /* the revision, or NULL */
	char run[MLV_RUN_ID_SIZE];
	struct mfile *files;
	size_t nr, alloc;
	int errors;
};

static void side_release(struct side *s)
{
	size_t i;

	for (i = 0; i < s->nr; i++) {
		free(s->files[i].path);
		json_decref(s->files[i].metrics);
		free(s->files[i].error);
	}
	free(s->files);
	free(s->label);
	free(s->rev);
}

static void side_add(struct side *s, const char *path, json_t *metrics, const char *err)
{
	struct mfile *f;

	MLV_ALLOC_GROW(s->files, s->nr + 1, s->alloc);
	f = &s->files[s->nr++];
	f->path = mlv_strdup(path);
	f->metrics = metrics;
	f->error = err ? mlv_strdup(err) : NULL;
	if (err)
		s->errors++;
}

struct bounded {
	struct mlv_buf *buf;
	const char *path;
};

static int to_buf(void *ctx, const void *data, size_t len)
{
	struct bounded *b = ctx;

	if (b->buf->len + len > MLV_METRICS_FILE_MAX)
		return mlv_error_set(MLV_EINVALID, "'%s' is larger than %u bytes", b->path,
				     MLV_METRICS_FILE_MAX);
	mlv_buf_add(b->buf, data, len);
	return 0;
}

/* The content of tracked file `a` from the store, into `out`. */
static int read_stored(struct mlv_ctx *ctx, const struct mlv_artifact *a, struct mlv_buf *out)
{
	struct mlv_store *s;
	struct bounded b = { out, a->path };

	if (a->ptr.size > MLV_METRICS_FILE_MAX)
		return mlv_error_set(MLV_EINVALID, "'%s' is larger than %u bytes", a->path,
				     MLV_METRICS_FILE_MAX);
	if (mlv_repo_store(&s, ctx->repo) < 0)
		return -1;
	return mlv_store_read_blob(s, &a->ptr.oid, to_buf, &b);
}

/* The metric artifacts of a list (a revision's, or the work tree's when `worktree`). */
static void add_artifacts(struct mlv_ctx *ctx, struct side *s, struct mlv_artifact_list *l,
			  int worktree)
{
	size_t i;

	for (i = 0; i < l->nr; i++) {
		const struct mlv_artifact *a = &l->items[i];
		struct mlv_buf buf = MLV_BUF_INIT;
		json_t *m = NULL;
		int ret;

		if (a->error || a->ptr.kind != MLV_KIND_METRIC)
			continue;
		if (a->ptr.type == MLV_PTYPE_DIR) {
			char *why = mlv_xstrfmt("'%s' is a directory: metrics are read from "
						"JSON files", a->path);

			side_add(s, a->path, NULL, why);
			free(why);
			continue;
		}
		ret = MLV_ENOTFOUND;
		if (worktree)
			ret = mlv_fs_read_file(&buf, ctx->repo->topfd, a->path, MLV_METRICS_FILE_MAX);
		if (ret == MLV_ENOTFOUND) {
			mlv_buf_reset(&buf);
			ret = read_stored(ctx, a, &buf);
		}
		if (!ret)
			ret = mlv_metrics_flatten(&m, buf.ptr, buf.len, a->path);
		side_add(s, a->path, ret ? NULL : m, ret ? mlv_error_last() : NULL);
		mlv_buf_release(&buf);
	}
}

static void load_rev(struct mlv_ctx *ctx, struct side *s, const char *rev)
{
	struct mlv_artifact_list l = { 0 };
	struct git_tree *tree = NULL;

	if (mlv_rev_tree(&tree, ctx->repo, rev) < 0 ||
	    mlv_rev_artifacts(&l, ctx->repo, tree, rev, NULL, 0) < 0)
		die_lib();
	s->rev = mlv_strdup(rev);
	s->label = mlv_strdup(rev);
	add_artifacts(ctx, s, &l, 0);
	mlv_artifact_list_release(&l);
	git_tree_free(tree);
}

static void load_worktree(struct mlv_ctx *ctx, struct side *s)
{
	struct mlv_artifact_list l = { 0 };

	if (mlv_artifacts_find_at(&l, ctx->repo->topfd, NULL, 0) < 0)
		die_lib();
	s->label = mlv_strdup("work tree");
	add_artifacts(ctx, s, &l, 1);
	mlv_artifact_list_release(&l);
}

/* A run's final metrics, under the path of its -M file when it had one. */
static void load_run(struct mlv_ctx *ctx, struct side *s, const char *spec)
{
	json_t *run = NULL, *metrics, *final, *sources, *v;
	const char *path = "final";
	size_t i;

	if (mlv_runs_resolve(ctx->repo, spec, s->run, &run) < 0)
		die_lib();
	s->label = mlv_strdup(s->run);
	metrics = json_object_get(run, "metrics");
	final = json_object_get(metrics, "final");
	sources = json_object_get(metrics, "sources");
	json_array_foreach(sources, i, v)
		if (json_is_string(v) && !strncmp(json_string_value(v), "-M ", 3))
			path = json_string_value(v) + 3;
	side_add(s, path, json_is_object(final) ? json_deep_copy(final) : json_object(), NULL);
	json_decref(run);
}

/*
 * What an operand names: "run:<spec>" or a full run id is a run; else a
 * revision when git resolves it; else a run (an id prefix, a name).
 * NULL is the work tree (HEAD in a bare repository).
 */
static void load_side(struct mlv_ctx *ctx, struct side *s, const char *arg)
{
	struct git_commit *c;

	memset(s, 0, sizeof(*s));
	if (!arg) {
		if (ctx->repo->topfd < 0)
			load_rev(ctx, s, "HEAD");
		else
			load_worktree(ctx, s);
		return;
	}
	if (!strncmp(arg, "run:", 4)) {
		load_run(ctx, s, arg + 4);
		return;
	}
	if (mlv_run_id_valid(arg)) {
		load_run(ctx, s, arg);
		return;
	}
	if (mlv_rev_commit(&c, ctx->repo, arg) == 0) {
		git_commit_free(c);
		load_rev(ctx, s, arg);
		return;
	}
	{
		char *git_msg = mlv_strdup(mlv_error_last());
		int ret = mlv_runs_resolve(ctx->repo, arg, s->run, NULL);

		if (ret == MLV_ENOTFOUND)
			die("'%s' is neither a revision nor a run (%s)", arg, git_msg);
		free(git_msg);
		if (ret < 0)
			die_lib();
		load_run(ctx, s, s->run);
	}
}

static void report_errors(const struct side *s)
{
	size_t i;

	for (i = 0; i < s->nr; i++)
		if (s->files[i].error)
			error("%s", s->files[i].error);
}

/* A number as it reads back exactly (the shortest of %.15g, %.16g, %.17g). */
static const char *fmt_value(const json_t *v, char *buf, size_t size)
{
	double d;
	int prec;

	if (!v)
		return "-";
	if (json_is_integer(v)) {
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (!json_is_number(v))
		return "null";
	d = json_number_value(v);
	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return buf;
}

static const char *fmt_change(const json_t *row, char *buf, size_t size)
{
	const json_t *change = json_object_get(row, "change");
	const json_t *rel = json_object_get(row, "relative");
	int n;

	if (!json_is_number(change))
		return "-";
	n = snprintf(buf, size, "%+.6g", json_number_value(change));
	if (json_is_number(rel) && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, " (%+.2f%%)", json_number_value(rel) * 100);
	return buf;
}

/* Rows of text, printed with columns padded to the widest cell. */
struct table {
	char **cells;
	size_t nr, alloc, cols;
};

static void table_add(struct table *t, const char *s)
{
	MLV_ALLOC_GROW(t->cells, t->nr + 1, t->alloc);
	t->cells[t->nr++] = mlv_strdup(text_show(s));
}

static void table_print(struct table *t)
{
	size_t width[8] = { 0 }, i;

	for (i = 0; i < t->nr; i++) {
		size_t w = strlen(t->cells[i]);

		if (w > width[i % t->cols])
			width[i % t->cols] = w;
	}
	for (i = 0; i < t->nr; i++) {
		int last = i % t->cols == t->cols - 1;

		if (last)
			printf("%s\n", t->cells[i]);
		else
			printf("%-*s  ", (int)width[i % t->cols], t->cells[i]);
		free(t->cells[i]);
	}
	free(t->cells);
}

static json_t *side_json(const struct side *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "label", json_text(s->label));
	json_object_set_new(o, "rev", s->rev ? json_text(s->rev) : json_null());
	json_object_set_new(o, "run", s->run[0] ? json_string(s->run) : json_null());
	return o;
}

static json_t *errors_json(const struct side *s, json_t *arr, const char *which)
{
	size_t i;

	for (i = 0; i < s->nr; i++) {
		json_t *e;

		if (!s->files[i].error)
			continue;
		e = json_object();
		if (which)
			json_object_set_new(e, "side", json_string(which));
		json_object_set_new(e, "path", json_text(s->files[i].path));
		json_object_set_new(e, "error", json_text(s->files[i].error));
		json_array_append_new(arr, e);
	}
	return arr;
}

static int do_show(struct mlv_ctx *ctx, int n, const char **argv, int json)
{
	struct side s;
	size_t i;

	load_side(ctx, &s, n ? argv[0] : NULL);
	if (json) {
		json_t *o = side_json(&s), *files = json_object();

		for (i = 0; i < s.nr; i++)
			if (s.files[i].metrics)
				json_object_set(files, s.files[i].path, s.files[i].metrics);
		json_object_set_new(o, "metrics", files);
		json_object_set_new(o, "errors", errors_json(&s, json_array(), NULL));
		json_emit(o);
	} else {
		struct table t = { NULL, 0, 0, 3 };

		table_add(&t, "Path");
		table_add(&t, "Metric");
		table_add(&t, "Value");
		for (i = 0; i < s.nr; i++) {
			const char *key;
			json_t *v;
			char num[40];

			json_object_foreach(s.files[i].metrics, key, v) {
				table_add(&t, s.files[i].path);
				table_add(&t, key);
				table_add(&t, fmt_value(v, num, sizeof(num)));
			}
		}
		if (t.nr > 3)
			table_print(&t);
		else
			free(t.cells[0]), free(t.cells[1]), free(t.cells[2]), free(t.cells);
		report_errors(&s);
	}
	i = (size_t)s.errors;
	side_release(&s);
	return i ? 1 : 0;
}

/* Append the rows of mlv_metrics_diff() for one pair of files, with their path. */
static void diff_pair(json_t *rows, const char *path, const json_t *a, const json_t *b, int all)
{
	json_t *d = mlv_metrics_diff(a, b, all), *row;
	size_t i;

	json_array_foreach(d, i, row) {
		json_t *r = json_object();

		json_object_set_new(r, "path", json_text(path));
		json_object_update(r, row);
		json_array_append_new(rows, r);
	}
	json_decref(d);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct mfile *)a)->path, ((const struct mfile *)b)->path);
}

/*
 * The rows of the whole diff: files matched by path; when each side has
 * exactly one file, those two whatever their paths (a run against the
 * metrics file of a commit).
 */
static json_t *diff_sides(struct side *a, struct side *b, int all)
{
	json_t *rows = json_array();
	size_t i = 0, j = 0;

	if (a->nr == 1 && b->nr == 1) {
		char *path = strcmp(a->files[0].path, b->files[0].path) ?
			mlv_xstrfmt("%s -> %s", a->files[0].path, b->files[0].path) :
			mlv_strdup(b->files[0].path);

		if (a->files[0].metrics && b->files[0].metrics)
			diff_pair(rows, path, a->files[0].metrics, b->files[0].metrics, all);
		free(path);
		return rows;
	}
	if (a->nr)
		qsort(a->files, a->nr, sizeof(*a->files), cmp_path);
	if (b->nr)
		qsort(b->files, b->nr, sizeof(*b->files), cmp_path);
	while (i < a->nr || j < b->nr) {
		int c = i >= a->nr ? 1 : j >= b->nr ? -1 : strcmp(a->files[i].path, b->files[j].path);
		struct mfile *x = c <= 0 ? &a->files[i] : NULL, *y = c >= 0 ? &b->files[j] : NULL;

		if ((!x || !x->error) && (!y || !y->error))
			diff_pair(rows, x ? x->path : y->path, x ? x->metrics : NULL,
				  y ? y->metrics : NULL, all);
		i += c <= 0;
		j += c >= 0;
	}
	return rows;
}

static int only_in(const json_t *row, const char *side)
{
	const json_t *only = json_object_get(row, "only");

	return json_is_string(only) && !strcmp(json_string_value(only), side);
}

static void md_cell(const char *s)
{
	for (s = text_show(s); *s; s++) {
		if (*s == '|' || *s == '\\' || *s == '`' || *s == '*' || *s == '_' || *s == '<')
			putchar('\\');
		putchar(*s == '\n' ? ' ' : *s);
	}
}

static int do_diff(struct mlv_ctx *ctx, int n, const char **argv, int json, int md, int all)
{
	struct side a, b;
	json_t *rows, *row;
	size_t i;
	int errors;

	if (n < 2 && ctx->repo->topfd < 0)
		die("there is no work tree here: name two revisions or runs");
	load_side(ctx, &a, n ? argv[0] : "HEAD");
	load_side(ctx, &b, n == 2 ? argv[1] : NULL);
	rows = diff_sides(&a, &b, all);
	errors = a.errors + b.errors;
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "old", side_json(&a));
		json_object_set_new(o, "new", side_json(&b));
		json_object_set(o, "diff", rows);
		json_object_set_new(o, "errors", errors_json(&b, errors_json(&a, json_array(), "old"),
							     "new"));
		json_emit(o);
	} else if (md) {
		char x[40], y[40], c[80];

		printf("| Path | Metric | ");
		md_cell(a.label);
		printf(" | ");
		md_cell(b.label);
		printf(" | Change |\n|---|---|---:|---:|---:|\n");
		json_array_foreach(rows, i, row) {
			printf("| ");
			md_cell(json_string_value(json_object_get(row, "path")));
			printf(" | ");
			md_cell(json_string_value(json_object_get(row, "name")));
			printf(" | %s | %s | %s |\n",
			       fmt_value(only_in(row, "new") ? NULL : json_object_get(row, "old"),
					 x, sizeof(x)),
			       fmt_value(only_in(row, "old") ? NULL : json_object_get(row, "new"),
					 y, sizeof(y)),
			       fmt_change(row, c, sizeof(c)));
		}
	} else if (json_array_size(rows)) {
		struct table t = { NULL, 0, 0, 5 };
		char x[40], y[40], c[80];

		table_add(&t, "Path");
		table_add(&t, "Metric");
		table_add(&t, a.label);
		table_add(&t, b.label);
		table_add(&t, "Change");
		json_array_foreach(rows, i, row) {
			const json_t *old = json_object_get(row, "old");
			const json_t *new = json_object_get(row, "new");

			table_add(&t, json_string_value(json_object_get(row, "path")));
			table_add(&t, json_string_value(json_object_get(row, "name")));
			/* a side without the metric shows "-", a NaN "null" */
			table_add(&t, fmt_value(only_in(row, "new") ? NULL : old, x, sizeof(x)));
			table_add(&t, fmt_value(only_in(row, "old") ? NULL : new, y, sizeof(y)));
			table_add(&t, fmt_change(row, c, sizeof(c)));
		}
		table_print(&t);
	}
	if (!json) {
		report_errors(&a);
		report_errors(&b);
	}
	json_decref(rows);
	side_release(&a);
	side_release(&b);
	return errors ? 1 : 0;
}

int cmd_metrics(int argc, const char **argv, struct mlv_ctx *ctx)
{
	int json = 0, md = 0, all = 0, n;
	const struct option opts[] = {
		OPT_BOOL_F(0, "json", &json, "print one JSON object"),
		OPT_BOOL_F(0, "md", &md, "diff: a Markdown table (for a pull request)"),
		OPT_BOOL_F(0, "all", &all, "diff: also the metrics that did not change"),
		OPT_END_F,
	};
	const char *sub;

	n = parse_options(argc, argv, opts, metrics_usage);
	if (n < 1)
		usage_with_options(metrics_usage, opts);
	sub = argv[0];
	if (!strcmp(sub, "show")) {
		if (md || all)
			usage_error(metrics_usage, opts, "--md and --all go with 'mlv metrics diff'");
		if (n > 2)
			usage_error(metrics_usage, opts, "'mlv metrics show' takes one revision or run");
		return do_show(ctx, n - 1, argv + 1, json);
	}
	if (!strcmp(sub, "diff")) {
		if (n > 3)
			usage_error(metrics_usage, opts,
				    "'mlv metrics diff' takes at most two revisions or runs");
		if (json && md)
			usage_error(metrics_usage, opts, "--md and --json cannot be used together");
		return do_diff(ctx, n - 1, argv + 1, json, md, all);
	}
	usage_error(metrics_usage, opts, "unknown subcommand '%s'", sub);
}
