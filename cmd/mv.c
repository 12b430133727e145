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
	char *src, *dst;
	struct stat st;
	const char *one[1];

	n = parse_options(argc, argv, opts, usage);
	if (n != 2)
		usage_with_options(usage, opts);
	src = path_arg(ctx, argv[0]);
	dst = path_arg(ctx, argv[1]);
	one[0] = src;
	if (mlv_artifacts_find(&list, one, 1) < 0 || list.nr != 1 ||
	    (strcmp(list.items[0].path, src) && strcmp(list.items[0].pointer, src)))
		die("'%s' is not tracked by mlv", argv[0]);
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
	free(src);
	free(dst);
	return 0;
}
