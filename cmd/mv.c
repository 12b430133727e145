#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builtin.h"
#include "mlv/path.h"
#include "mlv/worktree.h"

int cmd_mv(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv mv [-q] <src> <dst>", NULL };
	int quiet = 0, n;
	const struct option opts[] = {
		OPT_BOOL_F('q', "quiet", &quiet, "print nothing but errors"),
		OPT_END_F,
	};
	struct mlv_artifact_list list = { 0 };
	char *dst;
	struct stat st;

	n = parse_options(argc, argv, opts, usage);
	if (n != 2)
		usage_with_options(usage, opts);
	dst = path_arg(ctx, argv[1]);
	if (find_artifact(ctx, &list, argv[0]) < 0)
		exit(128);
	/* Like mv(1): into an existing directory that is not itself tracked. */
	if (!*dst || (!lstat(dst, &st) && S_ISDIR(st.st_mode))) {
		char *into = mlv_xstrfmt("%s%s%s", dst, *dst ? "/" : "",
					 mlv_path_basename(list.items[0].path));

		free(dst);
		dst = into;
	}
	if (mlv_mv(ctx->repo, &list.items[0], dst) < 0)
		die_lib();
	if (!quiet)
		printf("moved %s to %s\n", path_show(ctx, list.items[0].path), path_show(ctx, dst));
	mlv_artifact_list_release(&list);
	free(dst);
	return 0;
}
