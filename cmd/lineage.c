/*
 * mlv lineage: from an artifact (or a run) back through the runs that
 * produced it, their inputs, and the runs that produced those.
 *
 * The graph is gathered first (depth first, each run and each object id
 * visited once, so a cycle ends where it closes), then printed as a
 * tree, one JSON object or Graphviz.
 */
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "mlv/history.h"
#include "mlv/path.h"
#include "mlv/runs.h"
#include "mlv/worktree.h"

/* Bounds on what one lineage gathers (history from others is hostile). */
#define LINEAGE_DEPTH_MAX 64
#define LINEAGE_RUNS_MAX 2000
#define LINEAGE_ARTIFACTS_MAX 20000

static const char *const lineage_usage[] = {
	"mlv lineage [--json | --dot] <path | rev:path | sha256:id | run>",
	NULL,
};

struct lin_edge {
	size_t to;  /* index into the other array */
	char *path; /* the path under which the run read or wrote it */
};

struct lin_artifact {
	struct mlv_oid oid;
	char *path;           /* the first path it was met under */
	struct lin_edge *producers; /* runs that wrote it */
	size_t nr_producers, alloc_producers;
	int explored;
};

struct lin_run {
	char id[MLV_RUN_ID_SIZE];
	json_t *rec;
	struct lin_edge *inputs; /* artifacts it read */
	size_t nr_inputs, alloc_inputs;
};

struct lineage {
	struct mlv_repo *r;
	struct lin_artifact *arts;
	size_t nr_arts, alloc_arts;
	struct lin_run *runs;
	size_t nr_runs, alloc_runs;
	int truncated;
	/* the target */
	int target_is_run;
	size_t target;
	const char *rev;
};

static void lineage_release(struct lineage *l)
{
	size_t i, k;

	for (i = 0; i < l->nr_arts; i++) {
		for (k = 0; k < l->arts[i].nr_producers; k++)
			free(l->arts[i].producers[k].path);
		free(l->arts[i].producers);
		free(l->arts[i].path);
	}
	for (i = 0; i < l->nr_runs; i++) {
		for (k = 0; k < l->runs[i].nr_inputs; k++)
			free(l->runs[i].inputs[k].path);
		free(l->runs[i].inputs);
		json_decref(l->runs[i].rec);
	}
	free(l->arts);
	free(l->runs);
}

/* A line of text never carries a control byte to the terminal. */
static void put_text(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static const char *rec_str(const json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

static const char *git_commit_of(const json_t *rec)
{
	return json_string_value(json_object_get(json_object_get(rec, "git"), "commit"));
}

static const char *env_hash_of(const json_t *rec)
{
	return json_string_value(json_object_get(json_object_get(rec, "env"), "hash"));
}

static const char *state_of(const json_t *rec)
{
	const char *s = json_string_value(json_object_get(json_object_get(rec, "status"), "state"));

	return s ? s : "unknown";
}

static ssize_t find_artifact_idx(struct lineage *l, const struct mlv_oid *oid)
{
	size_t i;

	for (i = 0; i < l->nr_arts; i++)
		if (!mlv_oid_cmp(&l->arts[i].oid, oid))
			return (ssize_t)i;
	return -1;
}

static ssize_t find_run_idx(struct lineage *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->nr_runs; i++)
		if (!strcmp(l->runs[i].id, id))
			return (ssize_t)i;
	return -1;
}

static ssize_t explore_artifact(struct lineage *l, const struct mlv_oid *oid, const char *path,
				int depth);

/* Add run `id` and what it read; its index, or -1 when the bounds were reached. */
static ssize_t explore_run(struct lineage *l, const char *id, int depth)
{
	struct lin_run *run;
	json_t *rec = NULL, *inputs, *in;
	char commit[65];
	ssize_t idx = find_run_idx(l, id);
	size_t i, n;

	if (idx >= 0)
		return idx;
	if (l->nr_runs >= LINEAGE_RUNS_MAX || depth > LINEAGE_DEPTH_MAX) {
		l->truncated = 1;
		return -1;
	}
	if (mlv_run_load(l->r, id, &rec, commit) < 0) {
		warning("run %s: %s", id, mlv_error_last());
		return -1;
	}
	MLV_ALLOC_GROW(l->runs, l->nr_runs + 1, l->alloc_runs);
	idx = (ssize_t)l->nr_runs++;
	run = &l->runs[idx];
	memset(run, 0, sizeof(*run));
	snprintf(run->id, sizeof(run->id), "%s", id);
	run->rec = rec;
	inputs = json_object_get(rec, "inputs");
	n = json_array_size(inputs);
	for (i = 0; i < n; i++) {
		const char *ip, *hex;
		struct mlv_oid oid;
		ssize_t a;

		in = json_array_get(inputs, i);
		ip = rec_str(in, "path");
		hex = rec_str(in, "oid");
		/* mlv_run_record_check() vouched for these; stay strict anyway */
		if (!ip || !hex || strncmp(hex, "sha256:", 7) ||
		    mlv_oid_fromhex(&oid, hex + 7, strlen(hex + 7)) < 0)
			continue;
		a = explore_artifact(l, &oid, ip, depth + 1);
		if (a < 0)
			continue;
		run = &l->runs[idx]; /* the array may have moved */
		MLV_ALLOC_GROW(run->inputs, run->nr_inputs + 1, run->alloc_inputs);
		run->inputs[run->nr_inputs].to = (size_t)a;
		run->inputs[run->nr_inputs++].path = mlv_strdup(ip);
	}
	return idx;
}

struct producer_list {
	char (*ids)[MLV_RUN_ID_SIZE];
	char **paths;
	size_t nr, alloc, alloc_paths;
};

static int collect_producer(void *data, const char *id, const char *path)
{
	struct producer_list *p = data;

	if (p->nr >= LINEAGE_RUNS_MAX)
		return 0;
	MLV_ALLOC_GROW(p->ids, p->nr + 1, p->alloc);
	MLV_ALLOC_GROW(p->paths, p->nr + 1, p->alloc_paths);
	snprintf(p->ids[p->nr], MLV_RUN_ID_SIZE, "%s", id);
	p->paths[p->nr++] = mlv_strdup(path ? path : "");
	return 0;
}

static ssize_t explore_artifact(struct lineage *l, const struct mlv_oid *oid, const char *path,
				int depth)
{
	struct producer_list prod = { NULL, NULL, 0, 0, 0 };
	struct lin_artifact *a;
	ssize_t idx = find_artifact_idx(l, oid);
	size_t i;

	if (idx >= 0 && l->arts[idx].explored)
		return idx;
	if (idx < 0) {
		if (l->nr_arts >= LINEAGE_ARTIFACTS_MAX) {
			l->truncated = 1;
			return -1;
		}
		MLV_ALLOC_GROW(l->arts, l->nr_arts + 1, l->alloc_arts);
		idx = (ssize_t)l->nr_arts++;
		a = &l->arts[idx];
		memset(a, 0, sizeof(*a));
		a->oid = *oid;
		a->path = mlv_strdup(path ? path : "");
	}
	l->arts[idx].explored = 1;
	if (depth > LINEAGE_DEPTH_MAX) {
		l->truncated = 1;
		return idx;
	}
	if (mlv_runs_by_output(l->r, oid, collect_producer, &prod) < 0)
		die_lib();
	for (i = 0; i < prod.nr; i++) {
		ssize_t run = explore_run(l, prod.ids[i], depth + 1);

		if (run >= 0) {
			a = &l->arts[idx];
			MLV_ALLOC_GROW(a->producers, a->nr_producers + 1, a->alloc_producers);
			a->producers[a->nr_producers].to = (size_t)run;
			a->producers[a->nr_producers++].path = prod.paths[i];
			prod.paths[i] = NULL;
		}
		free(prod.paths[i]);
	}
	free(prod.ids);
	free(prod.paths);
	return idx;
}

/*
 * The artifact `arg` names: "sha256:<hex>" (a prefix of 8 or more digits
 * is looked up in the store), "<rev>:<path>", or a tracked path (a file
 * inside a tracked directory names that file).  1 when it names one
 * (`oid`, `path` set), 0 when it does not look like one, dies on errors.
 */
static int resolve_artifact(struct mlv_ctx *ctx, struct lineage *l, const char *arg,
			    struct mlv_oid *oid, char **path, struct mlv_oid *whole, char **whole_path)
{
	struct mlv_resolved res;
	struct git_tree *tree = NULL;
	const char *colon;
	int ret;

	memset(&res, 0, sizeof(res));
	if (!strncmp(arg, "sha256:", 7)) {
		const char *hex = arg + 7;
		struct mlv_store *s;

		if (mlv_oid_fromhex(oid, hex, strlen(hex)) == 0) {
			*path = NULL;
			*whole = *oid;
			return 1;
		}
		if (strlen(hex) < 8 || strspn(hex, "0123456789abcdef") != strlen(hex))
			die("'%s' is not an object id", arg);
		if (mlv_repo_store(&s, ctx->repo) < 0 || mlv_store_resolve_prefix(s, oid, hex) < 0)
			die_lib();
		*path = NULL;
		*whole = *oid;
		return 1;
	}
	colon = strchr(arg, ':');
	if (colon && colon != arg) {
		char *rev = mlv_strndup(arg, (size_t)(colon - arg));

		if (mlv_rev_tree(&tree, ctx->repo, rev) == 0) {
			const char *p = colon + 1;

			while (*p == '/')
				p++;
			if (!*p || mlv_path_check(p, 0, "bad path") < 0)
				die("'%s': %s", arg, *p ? mlv_error_last() : "no path after the revision");
			ret = mlv_rev_resolve(&res, ctx->repo, tree, rev, p);
			git_tree_free(tree);
			if (ret < 0)
				die_lib();
			*oid = res.oid;
			*whole = res.artifact.nr ? res.artifact.items[0].ptr.oid : res.oid;
			*path = mlv_strdup(p);
			*whole_path = mlv_strdup(res.artifact.nr ? res.artifact.items[0].path : p);
			l->rev = arg;
			free(rev);
			mlv_resolved_release(&res);
			return 1;
		}
		free(rev);
	}
	if (ctx->repo->topfd < 0)
		return 0;
	*path = path_arg(ctx, arg);
	ret = mlv_artifact_resolve(&res, ctx->repo, *path);
	if (ret == MLV_ENOTFOUND) {
		mlv_resolved_release(&res);
		free(*path);
		*path = NULL;
		return 0;
	}
	if (ret < 0) {
		if (res.artifact.nr && res.artifact.items[0].error)
			report_bad_artifact(&res.artifact.items[0]);
		die_lib();
	}
	*oid = res.oid;
	*whole = res.artifact.items[0].ptr.oid;
	*whole_path = mlv_strdup(res.artifact.items[0].path);
	if (res.artifact.items[0].within == NULL && strcmp(*path, res.artifact.items[0].path)) {
		/* the pointer file was named: show the data path */
		free(*path);
		*path = mlv_strdup(res.artifact.items[0].path);
	}
	mlv_resolved_release(&res);
	return 1;
}

/* Text */

static void print_artifact(struct lineage *l, size_t ai, const char *path, struct mlv_buf *indent,
			   int last, int top, unsigned char *shown_runs);

static void print_run(struct lineage *l, size_t ri, struct mlv_buf *indent, int last,
		      unsigned char *shown_runs)
{
	struct lin_run *run = &l->runs[ri];
	const json_t *rec = run->rec;
	const char *name = rec_str(rec, "name"), *commit = git_commit_of(rec);
	const char *env = env_hash_of(rec), *repro = rec_str(rec, "reproduces");
	json_t *seed = json_object_get(rec, "seed"), *argv = json_object_get(rec, "argv"), *v;
	size_t base = indent->len, i;

	fputs(indent->ptr, stdout);
	fputs(last ? "`-- " : "|-- ", stdout);
	printf("run %s", run->id);
	if (name) {
		fputs(" (", stdout);
		put_text(name);
		putchar(')');
	}
	printf(": %s", state_of(rec));
	if (shown_runs[ri]) {
		fputs(", shown above\n", stdout);
		return;
	}
	shown_runs[ri] = 1;
	putchar('\n');
	mlv_buf_adds(indent, last ? "    " : "|   ");
	fputs(indent->ptr, stdout);
	printf("commit %.12s%s", commit ? commit : "(none)",
	       json_is_true(json_object_get(json_object_get(rec, "git"), "dirty")) ? " (dirty)" : "");
	if (json_is_integer(seed))
		printf(", seed %lld", (long long)json_integer_value(seed));
	printf(", env %.12s", env ? env : "(unknown)");
	if (repro)
		printf(", reproduces %s", repro);
	putchar('\n');
	fputs(indent->ptr, stdout);
	fputs("command:", stdout);
	json_array_foreach(argv, i, v) {
		putchar(' ');
		put_text(json_string_value(v) ? json_string_value(v) : "?");
	}
	putchar('\n');
	if (!run->nr_inputs) {
		fputs(indent->ptr, stdout);
		fputs("no recorded inputs\n", stdout);
	}
	for (i = 0; i < run->nr_inputs; i++)
		print_artifact(l, run->inputs[i].to, run->inputs[i].path, indent,
			       i + 1 == run->nr_inputs, 0, shown_runs);
	mlv_buf_setlen(indent, base);
}

static void print_artifact(struct lineage *l, size_t ai, const char *path, struct mlv_buf *indent,
			   int last, int top, unsigned char *shown_runs)
{
	struct lin_artifact *a = &l->arts[ai];
	size_t base = indent->len, i;

	fputs(indent->ptr, stdout);
	if (!top)
		fputs(last ? "`-- " : "|-- ", stdout);
	if (path && *path) {
		put_text(path);
		putchar(' ');
	}
	printf("sha256:%.12s", mlv_oid_hex(&a->oid));
	if (!a->nr_producers) {
		fputs(": not produced by a recorded run\n", stdout);
		return;
	}
	putchar('\n');
	if (!top)
		mlv_buf_adds(indent, last ? "    " : "|   ");
	for (i = 0; i < a->nr_producers; i++)
		print_run(l, a->producers[i].to, indent, i + 1 == a->nr_producers, shown_runs);
	mlv_buf_setlen(indent, base);
}

static void print_text(struct lineage *l)
{
	struct mlv_buf indent = MLV_BUF_INIT;
	unsigned char *shown = mlv_calloc(l->nr_runs + 1, 1);

	if (l->target_is_run) {
		print_run(l, l->target, &indent, 1, shown);
	} else {
		struct lin_artifact *a = &l->arts[l->target];

		print_artifact(l, l->target, l->rev ? l->rev : a->path, &indent, 1, 1, shown);
	}
	if (l->truncated)
		printf("(lineage cut at %d levels, %d runs or %d artifacts)\n", LINEAGE_DEPTH_MAX,
		       LINEAGE_RUNS_MAX, LINEAGE_ARTIFACTS_MAX);
	free(shown);
	mlv_buf_release(&indent);
}

/* JSON */

static json_t *oid_json(const struct mlv_oid *oid)
{
	return json_sprintf("sha256:%s", mlv_oid_hex(oid));
}

static json_t *copy_or_null(const json_t *v)
{
	return v ? json_deep_copy(v) : json_null();
}

static json_t *run_json(struct lineage *l, struct lin_run *run)
{
	json_t *o = json_object(), *rec = run->rec, *git = json_object_get(rec, "git");
	json_t *ins = json_array(), *outs = json_array(), *v;
	const char *s;
	size_t i;

	json_object_set_new(o, "id", json_string(run->id));
	s = rec_str(rec, "name");
	json_object_set_new(o, "name", s ? json_text(s) : json_null());
	json_object_set_new(o, "state", json_string(state_of(rec)));
	json_object_set_new(o, "argv", copy_or_null(json_object_get(rec, "argv")));
	json_object_set_new(o, "cwd", copy_or_null(json_object_get(rec, "cwd")));
	json_object_set_new(o, "commit", copy_or_null(json_object_get(git, "commit")));
	json_object_set_new(o, "branch", copy_or_null(json_object_get(git, "branch")));
	json_object_set_new(o, "dirty", json_boolean(json_is_true(json_object_get(git, "dirty"))));
	json_object_set_new(o, "seed", copy_or_null(json_object_get(rec, "seed")));
	json_object_set_new(o, "deterministic",
			    json_boolean(json_is_true(json_object_get(rec, "deterministic"))));
	s = env_hash_of(rec);
	json_object_set_new(o, "env_hash", s ? json_string(s) : json_null());
	json_object_set_new(o, "start", copy_or_null(json_object_get(rec, "start")));
	json_object_set_new(o, "reproduces", copy_or_null(json_object_get(rec, "reproduces")));
	for (i = 0; i < run->nr_inputs; i++) {
		json_t *in = json_object();

		json_object_set_new(in, "path", json_text(run->inputs[i].path));
		json_object_set_new(in, "oid", oid_json(&l->arts[run->inputs[i].to].oid));
		json_array_append_new(ins, in);
	}
	json_array_foreach(json_object_get(rec, "outputs"), i, v) {
		json_t *out = json_object();

		s = rec_str(v, "path");
		json_object_set_new(out, "path", s ? json_text(s) : json_null());
		json_object_set_new(out, "oid", copy_or_null(json_object_get(v, "oid")));
		json_array_append_new(outs, out);
	}
	json_object_set_new(o, "inputs", ins);
	json_object_set_new(o, "outputs", outs);
	return o;
}

static void print_json(struct lineage *l)
{
	json_t *o = json_object(), *target = json_object(), *runs = json_array(), *arts = json_array();
	size_t i, k;

	if (l->target_is_run) {
		json_object_set_new(target, "kind", json_string("run"));
		json_object_set_new(target, "run", json_string(l->runs[l->target].id));
	} else {
		struct lin_artifact *a = &l->arts[l->target];

		json_object_set_new(target, "kind", json_string("artifact"));
		json_object_set_new(target, "path", *a->path ? json_text(a->path) : json_null());
		json_object_set_new(target, "rev", l->rev ? json_text(l->rev) : json_null());
		json_object_set_new(target, "oid", oid_json(&a->oid));
	}
	for (i = 0; i < l->nr_arts; i++) {
		json_t *a = json_object(), *prod = json_array();

		json_object_set_new(a, "oid", oid_json(&l->arts[i].oid));
		json_object_set_new(a, "path", json_text(l->arts[i].path));
		for (k = 0; k < l->arts[i].nr_producers; k++)
			json_array_append_new(prod, json_string(l->runs[l->arts[i].producers[k].to].id));
		json_object_set_new(a, "produced_by", prod);
		json_array_append_new(arts, a);
	}
	for (i = 0; i < l->nr_runs; i++)
		json_array_append_new(runs, run_json(l, &l->runs[i]));
	json_object_set_new(o, "target", target);
	json_object_set_new(o, "artifacts", arts);
	json_object_set_new(o, "runs", runs);
	json_object_set_new(o, "truncated", json_boolean(l->truncated));
	json_emit(o);
}

/* Graphviz */

/* `s` inside a DOT double-quoted string: quotes and backslashes escaped, no control byte. */
static void dot_text(struct mlv_buf *b, const char *s)
{
	int utf8 = json_validate_utf8(s, strlen(s));

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			mlv_buf_addch(b, '\\');
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
			c = '?';
		mlv_buf_addch(b, (char)c);
	}
}

static void print_dot(struct lineage *l)
{
	struct mlv_buf b = MLV_BUF_INIT;
	size_t i, k;

	mlv_buf_adds(&b, "digraph lineage {\n\trankdir=LR;\n\tnode [fontname=\"monospace\"];\n");
	for (i = 0; i < l->nr_arts; i++) {
		struct lin_artifact *a = &l->arts[i];

		mlv_buf_addf(&b, "\t\"sha256:%s\" [shape=box, label=\"", mlv_oid_hex(&a->oid));
		if (*a->path) {
			dot_text(&b, a->path);
			mlv_buf_adds(&b, "\\n");
		}
		mlv_buf_addf(&b, "sha256:%.12s\"%s];\n", mlv_oid_hex(&a->oid),
			     !l->target_is_run && i == l->target ? ", style=bold" : "");
	}
	for (i = 0; i < l->nr_runs; i++) {
		struct lin_run *run = &l->runs[i];
		const char *name = rec_str(run->rec, "name"), *commit = git_commit_of(run->rec);
		const char *env = env_hash_of(run->rec);
		json_t *seed = json_object_get(run->rec, "seed");

		mlv_buf_addf(&b, "\t\"run:%s\" [shape=ellipse, label=\"run %s", run->id, run->id);
		if (name) {
			mlv_buf_adds(&b, "\\n");
			dot_text(&b, name);
		}
		mlv_buf_addf(&b, "\\ncommit %.12s", commit ? commit : "(none)");
		if (json_is_integer(seed))
			mlv_buf_addf(&b, " seed %lld", (long long)json_integer_value(seed));
		mlv_buf_addf(&b, "\\nenv %.12s\"%s];\n", env ? env : "(unknown)",
			     l->target_is_run && i == l->target ? ", style=bold" : "");
	}
	for (i = 0; i < l->nr_runs; i++)
		for (k = 0; k < l->runs[i].nr_inputs; k++) {
			mlv_buf_addf(&b, "\t\"sha256:%s\" -> \"run:%s\" [label=\"",
				     mlv_oid_hex(&l->arts[l->runs[i].inputs[k].to].oid), l->runs[i].id);
			dot_text(&b, l->runs[i].inputs[k].path);
			mlv_buf_adds(&b, "\"];\n");
		}
	for (i = 0; i < l->nr_arts; i++)
		for (k = 0; k < l->arts[i].nr_producers; k++) {
			mlv_buf_addf(&b, "\t\"run:%s\" -> \"sha256:%s\" [label=\"",
				     l->runs[l->arts[i].producers[k].to].id, mlv_oid_hex(&l->arts[i].oid));
			dot_text(&b, l->arts[i].producers[k].path);
			mlv_buf_adds(&b, "\"];\n");
		}
	mlv_buf_adds(&b, "}\n");
	fwrite(b.ptr, 1, b.len, stdout);
	mlv_buf_release(&b);
}

static void warn_run(void *data, const char *what, const char *why)
{
	warning("%s: %s", what, why);
}

int cmd_lineage(int argc, const char **argv, struct mlv_ctx *ctx)
{
	int json = 0, dot = 0, ret;
	struct lineage l;
	struct mlv_oid oid, whole;
	char *path = NULL, *whole_path = NULL, id[MLV_RUN_ID_SIZE];
	const struct option opts[] = {
		OPT_BOOL_F(0, "json", &json, "print one JSON object"),
		OPT_BOOL_F(0, "dot", &dot, "print a Graphviz graph"),
		OPT_END_F,
	};

	argc = parse_options(argc, argv, opts, lineage_usage);
	if (argc != 1)
		usage_with_options(lineage_usage, opts);
	if (json && dot)
		usage_error(lineage_usage, opts, "--json and --dot cannot be used together");
	mlv_runs_set_warn(warn_run, NULL);
	memset(&l, 0, sizeof(l));
	l.r = ctx->repo;
	if (resolve_artifact(ctx, &l, argv[0], &oid, &path, &whole, &whole_path)) {
		ssize_t idx = explore_artifact(&l, &oid, path, 0);

		/* A file inside a tracked directory that no run wrote: the directory's runs. */
		if (idx == 0 && !l.arts[0].nr_producers && mlv_oid_cmp(&oid, &whole)) {
			lineage_release(&l);
			memset(&l, 0, sizeof(l));
			l.r = ctx->repo;
			idx = explore_artifact(&l, &whole, whole_path, 0);
			l.rev = NULL;
		}
		l.target = (size_t)idx;
	} else {
		ret = mlv_runs_resolve(ctx->repo, argv[0], id, NULL);
		if (ret == MLV_ENOTFOUND)
			die("'%s' is neither a tracked path nor a run", argv[0]);
		if (ret < 0)
			die_lib();
		l.target_is_run = 1;
		if (explore_run(&l, id, 0) < 0)
			die("cannot read run %s", id);
		l.target = 0;
	}
	if (json)
		print_json(&l);
	else if (dot)
		print_dot(&l);
	else
		print_text(&l);
	free(path);
	free(whole_path);
	lineage_release(&l);
	return 0;
}
