/*
 * mlv env [--json] [-v] [--no-cache] [--env-var <name>]... [--] [<command>...]
 * mlv env diff [--json] [--all] [--files] <a> <b>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "mlv/envinfo.h"
#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/runs.h"

static const char *const env_usage[] = {
	"mlv env [--json] [-v] [--no-cache] [--env-var <name>]... [--] [<command>...]",
	"mlv env diff [--json] [--all] [--files] <a> <b>",
	NULL,
};

/* Text from a manifest, safe for a terminal: control characters become '?'. */
static void put_safe(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		putchar(c < 0x20 || c == 0x7f ? '?' : c);
	}
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "?";
}

static void label(const char *l)
{
	printf("%-10s ", l);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The member names of `o`, sorted (the caller frees the array). */
static const char **sorted_keys(const json_t *o, size_t *n)
{
	const char **keys = mlv_calloc(json_object_size(o) + 1, sizeof(*keys));
	const char *k;
	json_t *v;

	*n = 0;
	json_object_foreach((json_t *)o, k, v)
		keys[(*n)++] = k;
	qsort(keys, *n, sizeof(*keys), cmp_str);
	return keys;
}

static void print_vars(const char *l, const json_t *vars)
{
	size_t n;
	const char **keys = sorted_keys(vars, &n);

	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_object_get(vars, keys[i]);

		label(i ? "" : l);
		put_safe(keys[i]);
		if (json_is_string(v)) {
			putchar('=');
			put_safe(json_string_value(v));
		} else {
			fputs(" (not set)", stdout);
		}
		putchar('\n');
	}
	free(keys);
}

static void print_gpus(const json_t *g)
{
	const json_t *models = json_object_get(g, "models"), *cc = json_object_get(g, "compute_capabilities");
	const json_t *mem = json_object_get(g, "memory");
	size_t i;

	label("gpus");
	if (!json_array_size(models)) {
		fputs("none", stdout);
		if (json_is_string(json_object_get(g, "why"))) {
			fputs(": ", stdout);
			put_safe(str(g, "why"));
		}
		putchar('\n');
		return;
	}
	for (i = 0; i < json_array_size(models); i++) {
		const json_t *c = json_array_get(cc, i);

		if (i)
			label("");
		printf("%zu: ", i);
		put_safe(json_string_value(json_array_get(models, i)) ?
			 json_string_value(json_array_get(models, i)) : "?");
		if (json_is_string(c)) {
			fputs(", compute capability ", stdout);
			put_safe(json_string_value(c));
		}
		if (json_is_integer(json_array_get(mem, i)))
			printf(", %s", human_size((uint64_t)json_integer_value(json_array_get(mem, i))));
		putchar('\n');
	}
	label("");
	fputs("driver ", stdout);
	put_safe(json_is_string(json_object_get(g, "driver")) ? str(g, "driver") : "unknown");
	fputs(", CUDA ", stdout);
	put_safe(json_is_string(json_object_get(g, "cuda_version")) ? str(g, "cuda_version") : "unknown");
	putchar('\n');
}

static void print_manifest(const json_t *m, int verbose)
{
	const json_t *os = json_object_get(m, "os"), *k = json_object_get(m, "kernel");
	const json_t *libc = json_object_get(m, "libc"), *cpu = json_object_get(m, "cpu");
	const json_t *py = json_object_get(m, "python"), *locks = json_object_get(m, "lockfiles");
	size_t n;

	label("hash");
	printf("%s\n", str(m, "hash"));
	label("host");
	put_safe(str(m, "host"));
	putchar('\n');
	label("os");
	if (json_is_object(os)) {
		put_safe(json_is_string(json_object_get(os, "pretty_name")) ? str(os, "pretty_name") :
			 str(os, "id"));
		if (json_is_string(json_object_get(os, "id"))) {
			fputs(" (", stdout);
			put_safe(str(os, "id"));
			if (json_is_string(json_object_get(os, "version_id"))) {
				putchar(' ');
				put_safe(str(os, "version_id"));
			}
			putchar(')');
		}
	} else {
		fputs("unknown", stdout);
	}
	putchar('\n');
	label("kernel");
	put_safe(str(k, "name"));
	putchar(' ');
	put_safe(str(k, "release"));
	putchar(' ');
	put_safe(str(k, "machine"));
	putchar('\n');
	label("libc");
	if (json_is_object(libc)) {
		put_safe(str(libc, "name"));
		putchar(' ');
		put_safe(str(libc, "version"));
	} else {
		fputs("unknown", stdout);
	}
	putchar('\n');
	label("cpu");
	put_safe(json_is_string(json_object_get(cpu, "model")) ? str(cpu, "model") : "unknown");
	printf(" (%lld logical, %lld usable)\n",
	       (long long)json_integer_value(json_object_get(cpu, "count")),
	       (long long)json_integer_value(json_object_get(cpu, "usable")));
	print_gpus(json_object_get(m, "gpus"));
	label("python");
	if (!json_is_object(py)) {
		fputs("none (the command is not a Python interpreter)\n", stdout);
	} else if (json_is_string(json_object_get(py, "error"))) {
		put_safe(str(py, "executable"));
		fputs(": ", stdout);
		put_safe(str(py, "error"));
		putchar('\n');
	} else {
		const json_t *pk = json_object_get(py, "packages");

		put_safe(str(py, "implementation"));
		putchar(' ');
		put_safe(str(py, "version"));
		fputs(" at ", stdout);
		put_safe(str(py, "executable"));
		fputs(" (", stdout);
		put_safe(str(py, "via"));
		printf("), %zu distribution%s\n", json_object_size(pk),
		       json_object_size(pk) == 1 ? "" : "s");
		if (verbose) {
			const char **keys = sorted_keys(pk, &n);

			for (size_t i = 0; i < n; i++) {
				label("");
				put_safe(keys[i]);
				putchar(' ');
				put_safe(json_string_value(json_object_get(pk, keys[i])) ?
					 json_string_value(json_object_get(pk, keys[i])) : "?");
				putchar('\n');
			}
			free(keys);
		}
	}
	{
		const char **keys = sorted_keys(locks, &n);

		if (!n) {
			label("lockfiles");
			fputs("none\n", stdout);
		}
		for (size_t i = 0; i < n; i++) {
			label(i ? "" : "lockfiles");
			put_safe(keys[i]);
			putchar(' ');
			put_safe(json_string_value(json_object_get(locks, keys[i])) ?
				 json_string_value(json_object_get(locks, keys[i])) : "?");
			putchar('\n');
		}
		free(keys);
	}
	if (!json_object_size(json_object_get(m, "vars"))) {
		label("vars");
		fputs("none\n", stdout);
	}
	print_vars("vars", json_object_get(m, "vars"));
	print_vars("seed vars", json_object_get(m, "seed_vars"));
}

static int show(struct mlv_ctx *ctx, int argc, const char **argv)
{
	struct opt_list vars = { 0 };
	int json = 0, verbose = 0, no_cache = 0, all = 0, files = 0, n;
	const struct option opts[] = {
		OPT_BOOL_F(0, "json", &json, "print the manifest as one JSON object"),
		OPT_BOOL_F('v', "verbose", &verbose, "list the Python distributions"),
		OPT_BOOL_F(0, "no-cache", &no_cache, "neither read nor write the Python cache"),
		OPT_LIST_F(0, "env-var", &vars, "<name>", "record this variable too"),
		OPT_BOOL_F(0, "all", &all, "with diff: also list volatile differences"),
		OPT_BOOL_F(0, "files", &files, "with diff: compare two env.json files"),
		OPT_END_F,
	};
	struct mlv_env_opts o = MLV_ENV_OPTS_INIT;
	json_t *m;

	n = parse_options_stop(argc, argv, opts, env_usage);
	if (all || files)
		usage_error(env_usage, opts, "--%s is an option of 'mlv env diff'",
			    all ? "all" : "files");
	argv[n] = NULL;
	o.argv = n ? argv : NULL;
	o.repo = ctx->repo;
	o.extra_vars = vars.v;
	o.nextra_vars = vars.n;
	o.flags = no_cache ? MLV_ENV_NO_CACHE : 0;
	if (mlv_env_manifest(&m, &o) < 0)
		die_lib();
	if (json)
		json_emit(m);
	else {
		print_manifest(m, verbose);
		json_decref(m);
	}
	free(vars.v);
	return 0;
}

/* env.json of `spec`: a file with --files, else a stored run. */
static json_t *load(struct mlv_ctx *ctx, const char *spec, int files)
{
	struct mlv_buf text = MLV_BUF_INIT, what = MLV_BUF_INIT;
	char id[MLV_RUN_ID_SIZE];
	json_t *m = NULL;

	if (files) {
		mlv_buf_adds(&what, spec);
		if (mlv_read_file(&text, spec, MLV_ENV_JSON_MAX) < 0)
			die_lib();
	} else {
		if (!ctx->repo)
			die("not in a git repository: name two files with --files");
		if (mlv_runs_resolve(ctx->repo, spec, id, NULL) < 0)
			die_lib();
		mlv_buf_addf(&what, "run %s: env.json", id);
		if (mlv_run_read_file(ctx->repo, id, "env.json", &text) < 0)
			die_lib();
	}
	if (mlv_env_parse(&m, text.ptr, text.len, what.ptr) < 0)
		die_lib();
	mlv_buf_release(&text);
	mlv_buf_release(&what);
	return m;
}

static void print_value(const json_t *v)
{
	char *s;

	if (!v || json_is_null(v)) {
		fputs("(none)", stdout);
		return;
	}
	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	put_safe(s ? s : "?");
	free(s);
}

static int diff(struct mlv_ctx *ctx, int argc, const char **argv)
{
	int json = 0, all = 0, files = 0, n, differ = 0;
	const struct option opts[] = {
		OPT_BOOL_F(0, "json", &json, "print one JSON object"),
		OPT_BOOL_F(0, "all", &all, "also list volatile differences (host, GPU UUIDs, paths)"),
		OPT_BOOL_F(0, "files", &files, "compare two env.json files instead of two runs"),
		OPT_END_F,
	};
	json_t *a, *b, *d, *e;
	char ha[MLV_ENV_HASH_HEXSZ + 1], hb[MLV_ENV_HASH_HEXSZ + 1];
	size_t i;

	n = parse_options(argc, argv, opts, env_usage);
	if (n != 2)
		usage_error(env_usage, opts, "name two %s", files ? "files" : "runs");
	a = load(ctx, argv[0], files);
	b = load(ctx, argv[1], files);
	if (mlv_env_hash(ha, a) < 0 || mlv_env_hash(hb, b) < 0 ||
	    mlv_env_diff(&d, a, b, all ? MLV_ENV_DIFF_VOLATILE : 0) < 0)
		die_lib();
	json_array_foreach(d, i, e)
		if (!json_is_true(json_object_get(e, "volatile")))
			differ = 1;
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "a", json_text(argv[0]));
		json_object_set_new(o, "b", json_text(argv[1]));
		json_object_set_new(o, "hash_a", json_string(ha));
		json_object_set_new(o, "hash_b", json_string(hb));
		json_object_set_new(o, "same", json_boolean(!differ));
		json_object_set(o, "differences", d);
		json_emit(o);
	} else {
		if (!differ)
			printf("same environment (hash %s)\n", ha);
		else
			printf("environment hash %.12s -> %.12s\n", ha, hb);
		json_array_foreach(d, i, e) {
			put_safe(str(e, "component"));
			fputs(": ", stdout);
			print_value(json_object_get(e, "a"));
			fputs(" -> ", stdout);
			print_value(json_object_get(e, "b"));
			if (json_is_true(json_object_get(e, "volatile")))
				fputs(" (volatile)", stdout);
			putchar('\n');
		}
	}
	json_decref(d);
	json_decref(a);
	json_decref(b);
	return differ;
}

int cmd_env(int argc, const char **argv, struct mlv_ctx *ctx)
{
	if (argc > 1 && !strcmp(argv[1], "diff"))
		return diff(ctx, argc - 1, argv + 1);
	return show(ctx, argc, argv);
}
