#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builtin.h"
#include "mlv/fs.h"
#include "mlv/path.h"
#include "mlv/worktree.h"

int cmd_mv(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv mv [-q] [--json] <src> <dst>", NULL };
	int quiet = 0, json = 0, n;
	const struct option opts[] = {
		OPT_BOOL_F('q', "quiet", &quiet, "print nothing but errors"),
		OPT_BOOL_F(0, "json", &json, "print what was done as JSON"),
		OPT_END_F,
	};
	struct mlv_artifact_list list = { 0 };
	const struct mlv_artifact *a;
	int ret = 128;
	char *dst;
	struct stat st;

	n = parse_options(argc, argv, opts, usage);
	if (n != 2)
		usage_with_options(usage, opts);
	dst = path_arg(ctx, argv[1]);
	if (find_artifact(ctx, &list, argv[0]) < 0)
		goto done;
	a = &list.items[0];
	if (a->error) {
		report_bad_artifact(a);
		goto done;
	}
	/* Like mv(1): into an existing directory that is not itself tracked. */
	if (!*dst || (!mlv_fs_lstat(ctx->repo->topfd, dst, &st) && S_ISDIR(st.st_mode))) {
		char *into = mlv_xstrfmt("%s%s%s", dst, *dst ? "/" : "",
					 mlv_path_basename(a->path));

		free(dst);
		dst = into;
	}
	mlv_error_clear();
	if (mlv_mv(ctx->repo, a, dst) < 0) {
		error_lib();
		goto done;
	}
	if (json) {
		json_t *out = json_object();

		json_object_set_new(out, "from", json_text(a->path));
		json_object_set_new(out, "to", json_text(dst));
		json_emit(out);
	} else if (!quiet) {
		printf("moved %s to %s\n", path_show(ctx, a->path), path_show(ctx, dst));
	}
	ret = 0;
done:
	mlv_artifact_list_release(&list);
	free(dst);
	return ret;
}
