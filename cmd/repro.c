/*
 * mlv repro: do a recorded run again and say whether, and by how much,
 * its outputs differ (the work is in lib/run/repro.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "mlv/quote.h"
#include "mlv/repro.h"
#include "mlv/runs.h"
#include "mlv/tensordiff.h"

static const char *const repro_usage[] = {
	"mlv repro [--verify] [--keep] [-q] [--json] <run>",
	NULL,
};

/* Tensors listed per output in text; --json lists all. */
#define TENSORS_SHOWN 20

static void put_text(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static const char *short_oid(const struct mlv_oid *oid, int has)
{
	static char buf[4][32];
	static int k;
	char *b = buf[k++ & 3];

	if (!has)
		return "-";
	snprintf(b, 32, "sha256:%.12s", mlv_oid_hex(oid));
	return b;
}

static json_t *oid_json(const struct mlv_oid *oid, int has)
{
	return has ? json_sprintf("sha256:%s", mlv_oid_hex(oid)) : json_null();
}

static void print_shape(const struct mlv_tensor_cmp *c, int side)
{
	size_t k;

	putchar('[');
	for (k = 0; k < c->ndim[side]; k++)
		printf("%s%llu", k ? ", " : "", (unsigned long long)c->shape[side][k]);
	putchar(']');
}

static void print_tensors(const char *indent, const struct mlv_tensordiff *td, const char *error)
{
	size_t i, shown = 0;

	if (error) {
		printf("%scannot compare tensors: ", indent);
		put_text(error);
		putchar('\n');
		return;
	}
	if (!td->differing_tensors && td->metadata_differs)
		printf("%severy tensor is equal; the metadata differs\n", indent);
	else if (!td->differing_tensors)
		printf("%severy tensor is equal (the files differ in layout or header)\n", indent);
	for (i = 0; i < td->nr && shown < TENSORS_SHOWN; i++) {
		const struct mlv_tensor_cmp *c = &td->items[i];

		if (c->status == MLV_TENSOR_EQUAL)
			continue;
		shown++;
		printf("%stensor ", indent);
		put_text(c->name);
		switch (c->status) {
		case MLV_TENSOR_ONLY_A:
			printf(": only in the original\n");
			continue;
		case MLV_TENSOR_ONLY_B:
			printf(": only in the repro\n");
			continue;
		case MLV_TENSOR_SHAPE:
			printf(": shape %s ", c->dtype[0]);
			print_shape(c, 0);
			printf(" -> %s ", c->dtype[1]);
			print_shape(c, 1);
			putchar('\n');
			continue;
		default:
			break;
		}
		if (c->status == MLV_TENSOR_DTYPE)
			printf(" (dtype %s -> %s)", c->dtype[0], c->dtype[1]);
		if (!c->elements) {
			printf(": not compared\n");
			continue;
		}
		printf(": %llu of %llu elements differ", (unsigned long long)c->differing,
		       (unsigned long long)c->elements);
		if (c->measured && c->differing > c->nonfinite)
			printf(", max abs %.6g, max rel %.6g (element %llu)", c->max_abs, c->max_rel,
			       (unsigned long long)c->max_abs_index);
		if (c->nonfinite)
			printf(", %llu with NaN or inf", (unsigned long long)c->nonfinite);
		putchar('\n');
	}
	if (td->differing_tensors > shown)
		printf("%s... and %zu more tensors\n", indent, td->differing_tensors - shown);
}

static const char *change_name(int kind)
{
	switch (kind) {
	case 'A': return "only in the repro";
	case 'D': return "only in the original";
	case 'T': return "type changed";
	default: return "differs";
	}
}

static void print_value(const json_t *v)
{
	if (json_is_real(v))
		printf("%.17g", json_real_value(v));
	else if (json_is_integer(v))
		printf("%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		put_text(json_string_value(v));
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "true" : "false", stdout);
	else
		fputs("-", stdout);
}

static void print_text(const struct mlv_repro_result *res, int verified)
{
	size_t i, k, width = 6;
	json_t *d;

	printf("repro of run %s as run %s\n", res->orig_id, *res->new_id ? res->new_id : "(none)");
	if (res->worktree) {
		fputs("worktree kept: ", stdout);
		put_text(res->worktree);
		putchar('\n');
	}
	for (i = 0; i < res->nr_outputs; i++)
		if (strlen(res->outputs[i].path) > width)
			width = strlen(res->outputs[i].path);
	if (width > 60)
		width = 60;
	if (res->nr_outputs)
		printf("%-*s  %-19s  %-19s  %s\n", (int)width, "output", "original", "now", "match");
	for (i = 0; i < res->nr_outputs; i++) {
		const struct mlv_repro_output *o = &res->outputs[i];
		size_t len = strlen(o->path);

		put_text(o->path);
		printf("%*s  %-19s  %-19s  %s\n", len < width ? (int)(width - len) : 0, "",
		       short_oid(&o->orig, o->has_orig), short_oid(&o->now, o->has_now),
		       o->match ? "yes" : "NO");
		if (o->has_tensors)
			print_tensors("    ", &o->tensors, o->tensor_error);
		else if (o->tensor_error && !o->nr_files) {
			fputs("    cannot compare: ", stdout);
			put_text(o->tensor_error);
			putchar('\n');
		}
		for (k = 0; k < o->nr_files; k++) {
			const struct mlv_repro_file *f = &o->files[k];

			fputs("    ", stdout);
			put_text(f->path);
			printf(": %s\n", change_name(f->kind));
			if (f->has_tensors)
				print_tensors("        ", &f->tensors, f->tensor_error);
		}
		if (o->files_omitted)
			printf("    ... and %llu more files\n", (unsigned long long)o->files_omitted);
	}
	if (!res->nr_outputs)
		printf("the run recorded no outputs\n");
	if (json_array_size(res->metrics_diff)) {
		printf("final metrics that differ:\n");
		json_array_foreach(res->metrics_diff, i, d) {
			fputs("    ", stdout);
			put_text(json_string_value(json_object_get(d, "name")) ?: "?");
			fputs(": ", stdout);
			print_value(json_object_get(d, "old"));
			fputs(" -> ", stdout);
			print_value(json_object_get(d, "new"));
			if (json_is_number(json_object_get(d, "change"))) {
				printf(" (%+.6g", json_number_value(json_object_get(d, "change")));
				if (json_is_number(json_object_get(d, "relative")))
					printf(", %+.3g%%",
					       100 * json_number_value(json_object_get(d, "relative")));
				putchar(')');
			}
			putchar('\n');
		}
	}
	if (!res->env_same) {
		printf("environment differs:\n");
		if (!res->env_diff || !json_array_size(res->env_diff))
			printf("    (the hashes differ; the manifests could not be compared)\n");
		json_array_foreach(res->env_diff, i, d) {
			fputs("    ", stdout);
			put_text(json_string_value(json_object_get(d, "component")) ?: "?");
			fputs(": ", stdout);
			print_value(json_object_get(d, "a"));
			fputs(" -> ", stdout);
			print_value(json_object_get(d, "b"));
			putchar('\n');
		}
	}
	if (res->code != res->orig_code)
		printf("exit code %d, the original's %d\n", res->code, res->orig_code);
	if (verified)
		printf("reproduced: %s\n", res->nr_outputs ? "every output is bit-identical"
							   : "the same exit code and final metrics");
	else if (res->mismatches)
		printf("not reproduced: %zu of %zu outputs differ\n", res->mismatches, res->nr_outputs);
	else
		printf("not reproduced\n");
}

static json_t *files_json(const struct mlv_repro_output *o)
{
	json_t *a = json_array();
	size_t k;

	for (k = 0; k < o->nr_files; k++) {
		const struct mlv_repro_file *f = &o->files[k];
		json_t *j = json_object();
		char kind[2] = { (char)f->kind, 0 };

		json_object_set_new(j, "path", json_text(f->path));
		json_object_set_new(j, "change", json_string(kind));
		json_object_set_new(j, "original", oid_json(&f->orig, f->kind != 'A'));
		json_object_set_new(j, "now", oid_json(&f->now, f->kind != 'D'));
		json_object_set_new(j, "tensors", f->has_tensors && !f->tensor_error
							  ? mlv_tensordiff_json(&f->tensors, 1, json_text)
							  : json_null());
		json_object_set_new(j, "tensor_error",
				    f->tensor_error ? json_text(f->tensor_error) : json_null());
		json_array_append_new(a, j);
	}
	return a;
}

static void print_json(const struct mlv_repro_result *res, int verified)
{
	json_t *o = json_object(), *outs = json_array();
	size_t i;

	json_object_set_new(o, "run", json_string(res->orig_id));
	json_object_set_new(o, "repro", *res->new_id ? json_string(res->new_id) : json_null());
	json_object_set_new(o, "worktree", res->worktree ? json_text(res->worktree) : json_null());
	json_object_set_new(o, "verified", json_boolean(verified));
	json_object_set_new(o, "code", json_integer(res->code));
	json_object_set_new(o, "original_code", json_integer(res->orig_code));
	json_object_set_new(o, "mismatches", json_integer((json_int_t)res->mismatches));
	for (i = 0; i < res->nr_outputs; i++) {
		const struct mlv_repro_output *out = &res->outputs[i];
		json_t *j = json_object();

		json_object_set_new(j, "path", json_text(out->path));
		json_object_set_new(j, "type", json_string(out->type_dir ? "dir" : "file"));
		json_object_set_new(j, "original", oid_json(&out->orig, out->has_orig));
		json_object_set_new(j, "now", oid_json(&out->now, out->has_now));
		json_object_set_new(j, "match", json_boolean(out->match));
		json_object_set_new(j, "tensors", out->has_tensors && !out->tensor_error
							  ? mlv_tensordiff_json(&out->tensors, 1, json_text)
							  : json_null());
		json_object_set_new(j, "tensor_error",
				    out->tensor_error ? json_text(out->tensor_error) : json_null());
		if (out->type_dir) {
			json_object_set_new(j, "files", files_json(out));
			json_object_set_new(j, "files_omitted", json_integer((json_int_t)out->files_omitted));
		}
		json_array_append_new(outs, j);
	}
	json_object_set_new(o, "outputs", outs);
	json_object_set_new(o, "metrics", res->metrics_diff ? json_incref(res->metrics_diff)
							    : json_array());
	json_object_set_new(o, "env_same", json_boolean(res->env_same));
	json_object_set_new(o, "env_diff", res->env_diff ? json_incref(res->env_diff) : json_null());
	json_object_set_new(o, "inputs", json_pack("{s:I, s:I}", "checked_out",
						   (json_int_t)res->inputs_checked_out, "bytes",
						   (json_int_t)res->input_bytes));
	json_emit(o);
}

static void warn_msg(void *data, const char *msg)
{
	warning("%s", msg);
}

static void warn_run(void *data, const char *what, const char *why)
{
	warning("%s: %s", what, why);
}

/*
 * Say what is about to run, always: a run may have come from anyone
 * through git fetch, and repro runs the command it recorded.
 */
static void started(void *data, const char *orig, const char *worktree)
{
	struct mlv_ctx *ctx = data;
	struct mlv_buf cmd = MLV_BUF_INIT;
	json_t *run = NULL, *v;
	char id[MLV_RUN_ID_SIZE];
	size_t i;

	if (!mlv_runs_resolve(ctx->repo, orig, id, &run)) {
		json_array_foreach(json_object_get(run, "argv"), i, v) {
			if (i)
				mlv_buf_addch(&cmd, ' ');
			mlv_sq_quote(&cmd, json_string_value(v) ? json_string_value(v) : "");
		}
		fprintf(stderr, "mlv repro: running %s again in %s\n", orig, worktree);
		fprintf(stderr, "mlv repro: command: %s (recorded by %s on %s)\n", cmd.ptr,
			text_show(json_string_value(json_object_get(run, "user"))),
			text_show(json_string_value(json_object_get(run, "host"))));
	}
	mlv_error_clear();
	json_decref(run);
	mlv_buf_release(&cmd);
}

int cmd_repro(int argc, const char **argv, struct mlv_ctx *ctx)
{
	struct mlv_repro_opts o;
	struct mlv_repro_result res;
	int verify = 0, keep = 0, quiet = 0, json = 0, verified, ret;
	const struct option opts[] = {
		OPT_BOOL_F(0, "verify", &verify, "exit 1 unless every output is bit-identical"),
		OPT_BOOL_F(0, "keep", &keep, "keep the temporary worktree"),
		OPT_BOOL_F('q', "quiet", &quiet, "do not copy the command's output to the terminal"),
		OPT_BOOL_F(0, "json", &json, "print one JSON object"),
		OPT_END_F,
	};

	argc = parse_options(argc, argv, opts, repro_usage);
	if (argc != 1)
		usage_with_options(repro_usage, opts);
	mlv_runs_set_warn(warn_run, NULL);
	memset(&o, 0, sizeof(o));
	o.spec = argv[0];
	o.keep = keep;
	o.quiet = quiet;
	o.stdout_to_stderr = json;
	o.warn = warn_msg;
	o.started = started;
	o.started_ctx = ctx;
	ret = mlv_repro(ctx->repo, &o, &res);
	if (ret < 0) {
		if (*res.new_id)
			error("the repro was recorded as run %s", res.new_id);
		mlv_repro_result_release(&res);
		die_lib();
	}
	verified = mlv_repro_verified(&res);
	if (json)
		print_json(&res, verified);
	else
		print_text(&res, verified);
	mlv_repro_result_release(&res);
	return verify && !verified ? 1 : 0;
}
