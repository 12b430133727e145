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

int cmd_checkout(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv checkout [-f | --force] [-q] [--json] [--] [<path>...]",
		NULL,
	};
	int force = 0, quiet = 0, json = 0, n, ret = 0;
	const struct option opts[] = {
		OPT_BOOL_F('f', "force", &force, "overwrite local changes"),
		OPT_BOOL_F('q', "quiet", &quiet, "print nothing but errors"),
		OPT_BOOL_F(0, "json", &json, "print what was done as JSON"),
		OPT_END_F,
	};
	struct mlv_wt_callbacks cb = { NULL, on_progress, on_change, NULL };
	struct mlv_artifact_list list = { 0 };
	struct mlv_checkout_stats stats;

	n = parse_options(argc, argv, opts, usage);
	find_artifacts(ctx, &list, n, argv);
	cb.ctx = progress_start(ctx, "Checking out");
	ret = mlv_checkout(ctx->repo, &list, force, &cb, &stats);
	progress_stop(cb.ctx);
	if (ret == MLV_ECONFLICT) {
		error_lib();
		hint("nothing was changed; use --force to overwrite them, or 'mlv add' to keep them");
		ret = 1;
	} else if (ret < 0) {
		error_lib();
		ret = 128;
	} else if (json) {
		printf("{\"written\":%llu,\"removed\":%llu,\"bytes\":%llu}\n",
		       (unsigned long long)stats.written, (unsigned long long)stats.removed,
		       (unsigned long long)stats.bytes);
	} else if (!quiet && (stats.written || stats.removed)) {
		printf("Updated %llu file%s (%s), removed %llu\n", (unsigned long long)stats.written,
		       stats.written == 1 ? "" : "s", human_size(stats.bytes),
		       (unsigned long long)stats.removed);
	}
	mlv_artifact_list_release(&list);
	return ret;
}
