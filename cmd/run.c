/*
 * mlv run: run a command and record it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "mlv/run.h"

/* Warnings may quote the command's output: never raw to the terminal. */
static void run_warn(void *ctx, const char *msg)
{
	struct mlv_buf b = MLV_BUF_INIT;

	for (const char *p = msg; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f)
			mlv_buf_addf(&b, "\\%03o", c);
		else
			mlv_buf_addch(&b, (char)c);
	}
	warning("%s", b.ptr ? b.ptr : "");
	mlv_buf_release(&b);
}

static char **repo_paths(struct mlv_ctx *ctx, const struct opt_list *l)
{
	char **v = calloc(l->n + 1, sizeof(*v));

	if (!v)
		die("out of memory");
	for (size_t i = 0; i < l->n; i++)
		v[i] = path_arg(ctx, l->v[i]);
	return v;
}

static void free_paths(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int parse_seed(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!*s || *s == '-' || *end || errno || v > 0xffffffffULL)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static void report(const struct mlv_run_outcome *out, int json)
{
	const json_t *st = json_object_get(out->record, "status");
	const char *state = json_string_value(json_object_get(st, "state"));
	double duration = json_number_value(json_object_get(out->record, "duration"));

	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "id", json_text(out->id));
		json_object_set_new(o, "code", json_integer(out->code));
		json_object_set(o, "run", out->record);
		json_emit(o);
		return;
	}
	fprintf(stderr, "mlv: run %s %s (exit %d, %.1fs)\n", out->id, state ? state : "recorded",
		out->code, duration);
}

int cmd_run(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv run [--name <name>] [--seed <n>] [--deterministic] [-p <key>=<value>]... "
		"[-P <file>]... [-d <path>]... [-o <path>]... [-M <file>]... "
		"[--metrics-from <regex>] [--gpus <spec> [--wait[=<seconds>]]] [--no-trace] "
		"[--env-var <name>]... [-q] [--json] [--] <command> [<arg>...]",
		NULL,
	};
	const char *name = NULL, *seed = NULL, *metrics_from = NULL, *gpus = NULL, *wait = NULL;
	struct opt_list params = { 0 }, param_files = { 0 }, inputs = { 0 }, outputs = { 0 };
	struct opt_list metric_files = { 0 }, env_vars = { 0 };
	int deterministic = 0, no_trace = 0, quiet = 0, json = 0, n;
	const struct option opts[] = {
		OPT_STRING_F(0, "name", &name, "<name>", "a name for the run"),
		OPT_STRING_F(0, "seed", &seed, "<n>", "the seed (0 to 4294967295); default: a random one"),
		OPT_BOOL_F(0, "deterministic", &deterministic,
			   "set what GPU frameworks need for deterministic kernels"),
		OPT_LIST_F('p', "param", &params, "<key>=<value>", "record a parameter"),
		OPT_LIST_F('P', "params-file", &param_files, "<file>",
			   "record the parameters of a YAML or JSON file"),
		OPT_LIST_F('d', "input", &inputs, "<path>", "declare a tracked input"),
		OPT_LIST_F('o', "output", &outputs, "<path>", "declare an output to store and track"),
		OPT_LIST_F('M', "metrics", &metric_files, "<file>", "read final metrics from a JSON file"),
		OPT_STRING_F(0, "metrics-from", &metrics_from, "<regex>",
			     "pick metrics out of the command's stdout lines"),
		OPT_STRING_F(0, "gpus", &gpus, "<spec>", "lease GPUs: a count, all, indices or UUIDs"),
		OPT_OPTARG_F("wait", &wait, "<seconds>", "wait for busy GPUs (in arrival order)"),
		OPT_BOOL_F(0, "no-trace", &no_trace, "do not trace the files the command opens"),
		OPT_LIST_F(0, "env-var", &env_vars, "<name>", "record this environment variable too"),
		OPT_BOOL_F('q', "quiet", &quiet, "do not copy the command's output to the terminal"),
		OPT_BOOL_F(0, "json", &json, "print the run record as one JSON object"),
		OPT_END_F,
	};
	struct mlv_run_opts o = { 0 };
	struct mlv_run_outcome out;
	char **in_paths, **out_paths, **metric_paths, **param_paths;
	int ret;

	die_status = 125;
	n = parse_options_stop(argc, argv, opts, usage);
	if (!n)
		usage_error(usage, opts, "no command to run");
	if (wait && !gpus)
		usage_error(usage, opts, "--wait is for --gpus");
	if (seed && parse_seed(seed, &o.seed))
		usage_error(usage, opts, "--seed expects a number from 0 to 4294967295, not '%s'",
			    seed);
	o.have_seed = seed != NULL;
	if (wait && *wait) {
		char *end;
		long w;

		errno = 0;
		w = strtol(wait, &end, 10);
		if (*end || w < 0 || w > 100000000 || errno)
			usage_error(usage, opts, "--wait expects seconds, not '%s'", wait);
		o.wait_seconds = (int)w;
	} else {
		o.wait_seconds = -1;
	}
	in_paths = repo_paths(ctx, &inputs);
	out_paths = repo_paths(ctx, &outputs);
	metric_paths = repo_paths(ctx, &metric_files);
	param_paths = repo_paths(ctx, &param_files);
	o.argv = argv;
	o.cwd = ctx->repo->prefix;
	o.name = name;
	o.deterministic = deterministic;
	o.params = params.v;
	o.nparams = params.n;
	o.param_files = (const char *const *)param_paths;
	o.nparam_files = param_files.n;
	o.inputs = (const char *const *)in_paths;
	o.ninputs = inputs.n;
	o.outputs = (const char *const *)out_paths;
	o.noutputs = outputs.n;
	o.metric_files = (const char *const *)metric_paths;
	o.nmetric_files = metric_files.n;
	o.metrics_from = metrics_from;
	o.gpus = gpus;
	o.wait = wait != NULL;
	o.no_trace = no_trace;
	o.env_vars = env_vars.v;
	o.nenv_vars = env_vars.n;
	o.quiet = quiet;
	o.stdout_to_stderr = json;
	o.warn = run_warn;

	if (mlv_run_execute(ctx->repo, &o, &out) < 0) {
		error_lib();
		if (*out.id && out.record)
			report(&out, json);
		ret = out.code;
	} else {
		report(&out, json);
		ret = out.code;
	}
	mlv_run_outcome_release(&out);
	free_paths(in_paths, inputs.n);
	free_paths(out_paths, outputs.n);
	free_paths(metric_paths, metric_files.n);
	free_paths(param_paths, param_files.n);
	free(params.v);
	free(param_files.v);
	free(inputs.v);
	free(outputs.v);
	free(metric_files.v);
	free(env_vars.v);
	return ret;
}
