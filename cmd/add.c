#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "mlv/pointer.h"
#include "mlv/worktree.h"

static void on_warn(void *ctx, const char *msg)
{
	warning("%s", msg);
}

static void on_progress(void *ctx, uint64_t files, uint64_t bytes)
{
	progress_update(ctx, files, bytes);
}

int cmd_add(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv add [--kind <kind>] [-j <n>] [-q] [--json] [--] <path>...",
		NULL,
	};
	const char *kind = NULL;
	int jobs = 0, quiet = 0, json = 0;
	const struct option opts[] = {
		OPT_CHOICE_F(0, "kind", &kind, "<kind>", "what the path holds: data, model or metric",
			     "data model metric"),
		OPT_INT_F('j', "jobs", &jobs, "<n>", "threads listing directories (default: the number of cores)"),
		OPT_BOOL_F('q', "quiet", &quiet, "print nothing but errors"),
		OPT_BOOL_F(0, "json", &json, "print the new pointers as JSON"),
		OPT_END_F,
	};
	struct mlv_add_opts o = { 0 };
	struct mlv_wt_callbacks cb = { on_warn, on_progress, NULL, NULL };
	struct mlv_add_result *res = NULL;
	size_t nres = 0;
	char **paths;
	int n, ret = 0;

	n = parse_options(argc, argv, opts, usage);
	if (!n)
		usage_error(usage, opts, "nothing specified, nothing added");
	if (kind) {
		mlv_kind_parse(&o.kind, kind);
		o.kind_given = 1;
	}
	o.jobs = jobs;
	paths = mlv_calloc((size_t)n, sizeof(*paths));
	for (int i = 0; i < n; i++) {
		paths[i] = path_arg(ctx, argv[i]);
		if (!*paths[i])
			die("'%s': cannot track the top of the work tree", argv[i]);
		for (int k = 0; k < i; k++)
			if (!strcmp(paths[k], paths[i]))
				die("'%s' given twice", argv[i]);
		if (mlv_repo_git_tracks(ctx->repo, paths[i], 1) == 1) {
			error("'%s' is tracked by git", path_show(ctx, paths[i]));
			hint("stop tracking it in git first: git rm -r --cached '%s'",
			     path_show(ctx, paths[i]));
			ret = 128;
			goto done;
		}
	}
	cb.ctx = progress_start(ctx, "Adding");
	if (mlv_add(ctx->repo, (const char *const *)paths, (size_t)n, &o, &cb, &res, &nres) < 0) {
		progress_stop(cb.ctx);
		error_lib();
		ret = 128;
		goto done;
	}
	progress_stop(cb.ctx);
	if (json)
		fputs("[", stdout);
	for (size_t i = 0; i < nres; i++) {
		const struct mlv_add_result *r = &res[i];
		const struct mlv_pointer *p = &r->ptr;

		if (json) {
			printf("%s{\"path\":", i ? "," : "");
			json_put_string(r->path);
			printf(",\"oid\":\"sha256:%s\",\"size\":%llu,\"kind\":\"%s\",\"type\":\"%s\"",
			       mlv_oid_hex(&p->oid), (unsigned long long)p->size, mlv_kind_name(p->kind),
			       p->type == MLV_PTYPE_DIR ? "dir" : "file");
			if (p->type == MLV_PTYPE_DIR)
				printf(",\"files\":%llu", (unsigned long long)p->files);
			printf(",\"changed\":%s}", r->unchanged ? "false" : "true");
		} else if (!quiet && !r->unchanged) {
			if (p->type == MLV_PTYPE_DIR)
				printf("added %s (%s, %llu files, %s)\n", path_show(ctx, r->path),
				       mlv_kind_name(p->kind), (unsigned long long)p->files,
				       human_size(p->size));
			else
				printf("added %s (%s, %s)\n", path_show(ctx, r->path),
				       mlv_kind_name(p->kind), human_size(p->size));
		}
	}
	if (json)
		puts("]");
done:
	mlv_add_results_free(res, nres);
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return ret;
}
