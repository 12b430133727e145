#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "builtin.h"
#include "mlv/hooks.h"

/* 1 when every hook of mlv's is installed and the merge driver registered. */
static int hooks_complete(struct mlv_repo *r)
{
	struct mlv_hooks_status st;
	int ok = 0;

	if (mlv_hooks_status(&st, r) < 0) {
		mlv_error_clear();
		return 0;
	}
	ok = st.driver && st.attr;
	for (int i = 0; i < MLV_HOOKS_NR; i++)
		if (st.hooks[i].state != MLV_HOOK_INSTALLED && st.hooks[i].state != MLV_HOOK_CHAINED)
			ok = 0;
	mlv_hooks_status_release(&st);
	return ok;
}

static json_t *install_hooks(struct mlv_repo *r, int quiet, int json)
{
	struct mlv_hooks_result res;
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	json_t *o = NULL;

	if (len <= 0 || (size_t)len >= sizeof(exe) - 1)
		len = snprintf(exe, sizeof(exe), "mlv");
	exe[len] = '\0';
	if (mlv_hooks_install(&res, r, exe) < 0) {
		mlv_hooks_result_release(&res);
		die_lib();
	}
	if (json) {
		o = json_object();
		json_object_set_new(o, "dir", json_text(res.dir));
		for (int i = 0; i < MLV_HOOKS_NR; i++)
			json_object_set_new(o, mlv_hook_names[i],
					    json_string(mlv_hook_action_name(res.hooks[i])));
	} else if (!quiet) {
		for (int i = 0; i < MLV_HOOKS_NR; i++)
			if (res.hooks[i] == MLV_HOOK_CHAIN)
				printf("Installed mlv's %s hook (the existing one runs first, as %s%s)\n",
				       mlv_hook_names[i], mlv_hook_names[i], MLV_HOOK_CHAIN_SUFFIX);
		printf("Installed mlv's git hooks in %s and its merge driver for *.mlv\n", res.dir);
	}
	mlv_hooks_result_release(&res);
	return o;
}

int cmd_init(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv init [-q] [--hooks] [--json]", NULL };
	int quiet = 0, json = 0, hooks = 0, created = 0;
	const struct option opts[] = {
		OPT_BOOL_F('q', "quiet", &quiet, "print nothing"),
		OPT_BOOL_F(0, "hooks", &hooks, "also install mlv's git hooks and merge driver"),
		OPT_BOOL_F(0, "json", &json, "print one JSON object: what was created and where"),
		OPT_END_F,
	};
	struct mlv_repo *r = ctx->repo;
	json_t *hooks_json = NULL;

	if (parse_options(argc, argv, opts, usage))
		usage_with_options(usage, opts);
	if (mlv_repo_init(r, &created) < 0)
		die_lib();
	if (!json && !quiet)
		printf("%s mlv repository in %s/.mlv\n",
		       created ? "Initialized empty" : "Reinitialized existing", r->top);
	if (hooks)
		hooks_json = install_hooks(r, quiet, json);
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "created", json_boolean(created));
		json_object_set_new(o, "config", json_text(r->mlvdir));
		json_object_set_new(o, "store", json_text(r->storedir));
		json_object_set_new(o, "worktree_state", json_text(r->wtdir));
		json_object_set_new(o, "hooks", hooks_json ? hooks_json : json_null());
		json_emit(o);
	} else if (!quiet && !hooks && !hooks_complete(r)) {
		hint("run 'mlv hooks install' (or 'mlv init --hooks') so that git checkout, merge and");
		hint("commit keep the data in step with the pointers (mlv-hooks(1))");
	}
	return 0;
}
