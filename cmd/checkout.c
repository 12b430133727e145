#include <stdio.h>
#include <stdlib.h>

#include "builtin.h"
#include "mlv/worktree.h"

static void on_change(void *ctx, const char *artifact, const char *file, int what)
{
	if (what == 'C')
		fprintf(stderr, "error: '%s' has local changes that are not in the store\n", file);
}

static void on_progress(void *ctx, uint64_t files, uint64_t bytes)
{
	progress_update(ctx, files, bytes);
}

static json_t *json_result(const struct mlv_checkout_result *res)
{
	json_t *out = json_object(), *problems = json_array(), *conflicts = json_array();

	json_object_set_new(out, "written", json_integer((json_int_t)res->written));
	json_object_set_new(out, "removed", json_integer((json_int_t)res->removed));
	json_object_set_new(out, "bytes", json_integer((json_int_t)res->bytes));
	for (size_t i = 0; i < res->nr_conflicts; i++)
		json_array_append_new(conflicts, json_text(res->conflicts[i]));
	json_object_set_new(out, "conflicts", conflicts);
	for (size_t i = 0; i < res->nr_problems; i++) {
		const struct mlv_checkout_problem *pr = &res->problems[i];
		json_t *o = json_object();

		json_object_set_new(o, "artifact", json_text(pr->artifact));
		json_object_set_new(o, "path", json_text(pr->path));
		json_object_set_new(o, "missing", json_boolean(pr->missing));
		if (pr->has_oid) {
			char *id = mlv_xstrfmt("sha256:%s", mlv_oid_hex(&pr->oid));

			json_object_set_new(o, "object", json_string(id));
			free(id);
		} else {
			json_object_set_new(o, "object", json_null());
		}
		json_object_set_new(o, "message", json_text(pr->message));
		json_array_append_new(problems, o);
	}
	json_object_set_new(out, "problems", problems);
	return out;
}

int cmd_checkout(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv checkout [-f | --force] [--allow-missing] [-q] [--json] [--] [<path>...]",
		NULL,
	};
	int force = 0, allow_missing = 0, quiet = 0, json = 0, n, ret = 0;
	const struct option opts[] = {
		OPT_BOOL_F('f', "force", &force, "overwrite local changes"),
		OPT_BOOL_F(0, "allow-missing", &allow_missing,
			   "check out what is in the store, skip what is missing (exit 1)"),
		OPT_BOOL_F('q', "quiet", &quiet, "print nothing but errors"),
		OPT_BOOL_F(0, "json", &json, "print what was done as JSON"),
		OPT_END_F,
	};
	struct mlv_wt_callbacks cb = { NULL, on_progress, on_change, NULL };
	struct mlv_artifact_list list = { 0 };
	struct mlv_checkout_opts o = { 0, 0 };
	struct mlv_checkout_result res;

	n = parse_options(argc, argv, opts, usage);
	o.force = force;
	o.allow_missing = allow_missing;
	find_artifacts(ctx, &list, n, argv);
	cb.ctx = progress_start(ctx, "Checking out");
	ret = mlv_worktree_checkout(ctx->repo, &list, &o, &cb, &res);
	progress_stop(cb.ctx);
	for (size_t i = 0; i < res.nr_problems; i++)
		error("%s", res.problems[i].message);
	if (ret == MLV_ECONFLICT && res.nr_conflicts) {
		error_lib();
		hint("nothing was changed; use --force to overwrite them, or 'mlv add' to keep them");
		ret = 1;
	} else if (ret < 0) {
		error_lib();
		if (res.nr_problems)
			hint("use --allow-missing to check out the rest");
		ret = 128;
	} else if (res.nr_problems) {
		error("%zu path%s could not be checked out", res.nr_problems,
		      res.nr_problems == 1 ? "" : "s");
		ret = 1;
	}
	if (json && (ret == 0 || ret == 1 || res.nr_problems))
		json_emit(json_result(&res));
	else if (!json && !quiet && (res.written || res.removed))
		printf("Updated %llu file%s (%s), removed %llu\n", (unsigned long long)res.written,
		       res.written == 1 ? "" : "s", human_size(res.bytes),
		       (unsigned long long)res.removed);
	mlv_checkout_result_release(&res);
	mlv_artifact_list_release(&list);
	return ret;
}
