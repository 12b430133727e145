#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "mlv/worktree.h"

int cmd_rm(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv rm [--keep] [-f | --force] [-q] [--] <path>...",
		NULL,
	};
	int keep = 0, force = 0, quiet = 0, n, ret = 0;
	const struct option opts[] = {
		OPT_BOOL_F(0, "keep", &keep, "keep the data in the work tree, only stop tracking it"),
		OPT_BOOL_F('f', "force", &force, "remove data even if its content is not in the store"),
		OPT_BOOL_F('q', "quiet", &quiet, "print nothing but errors"),
		OPT_END_F,
	};

	n = parse_options(argc, argv, opts, usage);
	if (!n)
		usage_error(usage, opts, "no path given");
	for (int i = 0; i < n; i++) {
		struct mlv_artifact_list list = { 0 };
		if (find_artifact(ctx, &list, argv[i]) < 0) {
			ret = -1;
		} else if (mlv_rm(ctx->repo, &list.items[0], keep, force) < 0) {
			ret = error_lib();
			if (mlv_error_last_code() == MLV_ECONFLICT)
				hint("use 'mlv add' to store it, --keep to leave it, or --force to delete it");
		} else if (!quiet) {
			printf("%s %s\n", keep ? "untracked" : "removed",
			       path_show(ctx, list.items[0].path));
		}
		mlv_artifact_list_release(&list);
	}
	return ret ? 128 : 0;
}
