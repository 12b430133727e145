#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <git2.h>

#include "builtin.h"
#include "mlv/history.h"
#include "mlv/merge.h"
#include "mlv/worktree.h"

static void on_change(void *ctx, const char *artifact, const char *file, int what)
{
	if (what == 'C')
		fprintf(stderr, "error: '%s' has local changes that are not in the store\n", file);
}

static void on_warn(void *ctx, const char *msg)
{
	warning("%s", msg);
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

/*
 * --ours/--theirs: merge each conflicted pointer again from git's index
 * stages, conflicts taking one side, and write it; the data follows by
 * the usual checkout.
 */
static void resolve_conflicts(struct mlv_ctx *ctx, int n, const char **argv,
			      enum mlv_merge_favor favor)
{
	for (int i = 0; i < n; i++) {
		struct mlv_artifact_list one = { 0 };
		const char *pointer;
		char *path = path_arg(ctx, argv[i]);

		if (mlv_artifact_find_one(&one, ctx->repo->topfd, path) < 0)
			die_lib();
		pointer = one.items[0].pointer;
		if (mlv_merge_resolve(ctx->repo, pointer, favor, NULL) < 0) {
			error_lib();
			if (*mlv_error_last_hint())
				hint("%s", mlv_error_last_hint());
			exit(128);
		}
		fprintf(stderr, "Resolved '%s' taking %s side where both changed; 'git add %s' "
			"to mark it resolved\n", path_show(ctx, pointer),
			favor == MLV_MERGE_FAVOR_OURS ? "our" : "their", path_show(ctx, pointer));
		mlv_artifact_list_release(&one);
		free(path);
	}
}

int cmd_checkout(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv checkout [-f | --force] [--allow-missing] [-q] [--json] [<rev>] [--] [<path>...]",
		"mlv checkout --ours [-q] [--json] [--] <path>...",
		"mlv checkout --theirs [-q] [--json] [--] <path>...",
		NULL,
	};
	int force = 0, allow_missing = 0, quiet = 0, json = 0, ours = 0, theirs = 0, n, dashdash;
	int ret = 0;
	const struct option opts[] = {
		OPT_BOOL_F('f', "force", &force, "overwrite local changes"),
		OPT_BOOL_F(0, "allow-missing", &allow_missing,
			   "check out what is in the store, skip what is missing (exit 1)"),
		OPT_BOOL_F('q', "quiet", &quiet, "print nothing but errors"),
		OPT_BOOL_F(0, "json", &json, "print what was done as JSON"),
		OPT_BOOL_F(0, "ours", &ours, "resolve a merge conflict, taking our side where both changed"),
		OPT_BOOL_F(0, "theirs", &theirs,
			   "resolve a merge conflict, taking their side where both changed"),
		OPT_END_F,
	};
	struct mlv_wt_callbacks cb = { on_warn, on_progress, on_change, NULL };
	struct mlv_artifact_list list = { 0 };
	struct mlv_checkout_opts o = { 0, 0 };
	struct mlv_checkout_rev_result rr;
	struct mlv_checkout_result *res = &rr.co;
	const char *rev = NULL;
	char **paths = NULL, *failure = NULL;

	memset(&rr, 0, sizeof(rr));
	n = parse_options_dashdash(argc, argv, opts, usage, &dashdash);
	o.force = force;
	o.allow_missing = allow_missing;
	if (ours || theirs) {
		if (ours && theirs)
			usage_error(usage, opts, "--ours and --theirs cannot be used together");
		if (!n)
			usage_error(usage, opts, "--%s needs the paths of conflicted artifacts",
				    ours ? "ours" : "theirs");
		resolve_conflicts(ctx, n, argv, ours ? MLV_MERGE_FAVOR_OURS : MLV_MERGE_FAVOR_THEIRS);
	} else if (n && arg_is_rev(ctx, argv[0], dashdash)) {
		if (dashdash > 1)
			usage_error(usage, opts, "only one revision may come before '--'");
		struct git_commit *c;

		rev = argv[0];
		if (mlv_rev_commit(&c, ctx->repo, rev) < 0)
			die_lib();
		git_commit_free(c);
		argv++;
		n--;
	}
	cb.ctx = progress_start(ctx, "Checking out");
	if (rev) {
		paths = mlv_calloc(n + 1, sizeof(*paths));
		for (int i = 0; i < n; i++)
			paths[i] = path_arg(ctx, argv[i]);
		ret = mlv_checkout_rev(ctx->repo, rev, (const char *const *)paths, (size_t)n, &o,
				       &cb, &rr);
	} else {
		find_artifacts(ctx, &list, n, argv);
		ret = mlv_worktree_checkout(ctx->repo, &list, &o, &cb, res);
	}
	progress_stop(cb.ctx);
	for (size_t i = 0; i < res->nr_problems; i++)
		error("%s", res->problems[i].message);
	if (ret == MLV_ECONFLICT && res->nr_conflicts) {
		error_lib();
		hint("nothing was changed; use --force to overwrite them, or 'mlv add' to keep them");
		ret = 1;
	} else if (ret < 0) {
		failure = mlv_strdup(mlv_error_last());
		error_lib();
		if (res->nr_problems && !allow_missing)
			hint("use --allow-missing to check out the rest");
		ret = 128;
	} else if (res->nr_problems) {
		error("%zu path%s could not be checked out", res->nr_problems,
		      res->nr_problems == 1 ? "" : "s");
		ret = 1;
	}
	if (json) {
		json_t *out = json_result(res);

		json_object_set_new(out, "error", failure ? json_text(failure) : json_null());
		if (rev) {
			json_t *kept = json_array();

			json_object_set_new(out, "rev", json_text(rev));
			json_object_set_new(out, "pointers", json_integer((json_int_t)rr.pointers));
			json_object_set_new(out, "artifacts_removed", json_integer((json_int_t)rr.removed));
			for (size_t i = 0; i < rr.nr_kept; i++)
				json_array_append_new(kept, json_text(rr.kept[i]));
			json_object_set_new(out, "kept", kept);
		}
		json_emit(out);
	} else if (!json && !quiet && (res->written || res->removed || rr.pointers || rr.removed)) {
		printf("Updated %llu file%s (%s), removed %llu", (unsigned long long)res->written,
		       res->written == 1 ? "" : "s", human_size(res->bytes),
		       (unsigned long long)res->removed);
		if (rev)
			printf("; %zu pointer%s from %s, %zu artifact%s removed", rr.pointers,
			       rr.pointers == 1 ? "" : "s", rev, rr.removed, rr.removed == 1 ? "" : "s");
		putchar('\n');
	}
	if (rev)
		mlv_checkout_rev_result_release(&rr);
	else
		mlv_checkout_result_release(res);
	mlv_artifact_list_release(&list);
	for (int i = 0; paths && i < n; i++)
		free(paths[i]);
	free(paths);
	free(failure);
	return ret;
}
