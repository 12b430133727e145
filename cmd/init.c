#include <stdio.h>

#include "builtin.h"

int cmd_init(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv init [-q]", NULL };
	int quiet = 0, created = 0;
	const struct option opts[] = {
		OPT_BOOL_F('q', "quiet", &quiet, "print nothing"),
		OPT_END_F,
	};

	if (parse_options(argc, argv, opts, usage))
		usage_with_options(usage, opts);
	if (mlv_repo_init(ctx->repo, &created) < 0)
		die_lib();
	if (!quiet)
		printf("%s mlv repository in %s/.mlv\n",
		       created ? "Initialized empty" : "Reinitialized existing", ctx->repo->top);
	return 0;
}
