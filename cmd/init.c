#include <stdio.h>

#include "builtin.h"

int cmd_init(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv init [-q] [--json]", NULL };
	int quiet = 0, json = 0, created = 0;
	const struct option opts[] = {
		OPT_BOOL_F('q', "quiet", &quiet, "print nothing"),
		OPT_BOOL_F(0, "json", &json, "print one JSON object: what was created and where"),
		OPT_END_F,
	};
	struct mlv_repo *r = ctx->repo;

	if (parse_options(argc, argv, opts, usage))
		usage_with_options(usage, opts);
	if (mlv_repo_init(r, &created) < 0)
		die_lib();
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "created", json_boolean(created));
		json_object_set_new(o, "config", json_text(r->mlvdir));
		json_object_set_new(o, "store", json_text(r->storedir));
		json_object_set_new(o, "worktree_state", json_text(r->wtdir));
		json_emit(o);
	} else if (!quiet) {
		printf("%s mlv repository in %s/.mlv\n",
		       created ? "Initialized empty" : "Reinitialized existing", r->top);
	}
	return 0;
}
