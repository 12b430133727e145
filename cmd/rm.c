#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "mlv/worktree.h"

struct rm_ctx {
	struct mlv_ctx *ctx;
	json_t *left;    /* --json: entries left in place */
	json_t *refused; /* --json: files whose content is not safely stored */
	int quiet;
};

static void on_change(void *data, const char *artifact, const char *file, int what)
{
	struct rm_ctx *rc = data;

	if (what == 'C') {
		if (rc->refused)
			json_array_append_new(rc->refused, json_text(file));
		fprintf(stderr, "error: '%s' has content that is not safely in the store\n",
			path_show(rc->ctx, file));
	} else if (what == 'U') {
		if (rc->left)
			json_array_append_new(rc->left, json_text(file));
		else if (!rc->quiet)
			printf("left %s (not tracked by mlv)\n", path_show(rc->ctx, file));
	}
}

int cmd_rm(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv rm [--keep] [-f | --force] [-q] [--json] [--] <path>...",
		NULL,
	};
	int keep = 0, force = 0, quiet = 0, json = 0, n, ret = 0;
	const struct option opts[] = {
		OPT_BOOL_F(0, "keep", &keep, "keep the data in the work tree, only stop tracking it"),
		OPT_BOOL_F('f', "force", &force, "remove data even if its content is not in the store"),
		OPT_BOOL_F('q', "quiet", &quiet, "print nothing but errors"),
		OPT_BOOL_F(0, "json", &json, "print what was done as JSON"),
		OPT_END_F,
	};
	struct rm_ctx rc = { ctx, NULL, NULL, 0 };
	struct mlv_wt_callbacks cb = { NULL, NULL, on_change, &rc };
	json_t *out = NULL, *removed = NULL;

	n = parse_options(argc, argv, opts, usage);
	if (!n)
		usage_error(usage, opts, "no path given");
	rc.quiet = quiet;
	if (json) {
		out = json_object();
		removed = json_array();
		rc.left = json_array();
		rc.refused = json_array();
	}
	for (int i = 0; i < n; i++) {
		struct mlv_artifact_list list = { 0 };
		const struct mlv_artifact *a;
		size_t left = 0;

		if (find_artifact(ctx, &list, argv[i]) < 0) {
			ret = -1;
			continue;
		}
		a = &list.items[0];
		if (a->error) {
			report_bad_artifact(a);
			ret = -1;
		} else if (mlv_rm(ctx->repo, a, keep, force, &cb, &left) < 0) {
			int code = mlv_error_last_code();

			ret = error_lib();
			if (code == MLV_ECONFLICT && !strstr(mlv_error_last(), ".lock"))
				hint("nothing was deleted; use 'mlv add' to store it, --keep to leave it, "
				     "or --force to delete it");
			else if (code == MLV_ECORRUPT)
				hint("nothing was deleted; run 'mlv fsck', then 'mlv add' to store it again");
		} else {
			if (removed)
				json_array_append_new(removed, json_text(a->path));
			else if (!quiet)
				printf("%s %s\n", keep ? "untracked" : "removed", path_show(ctx, a->path));
		}
		mlv_artifact_list_release(&list);
	}
	if (out) {
		json_object_set_new(out, keep ? "untracked" : "removed", removed);
		json_object_set_new(out, "left", rc.left);
		json_object_set_new(out, "refused", rc.refused);
		json_emit(out);
	}
	return ret ? 128 : 0;
}
