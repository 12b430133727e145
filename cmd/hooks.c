/*
 * mlv hooks: install, remove or show mlv's git hooks and merge driver;
 * `mlv hooks run` is what the installed hook scripts call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "builtin.h"
#include "mlv/history.h"
#include "mlv/hooks.h"
#include "mlv/worktree.h"

static const char *const hooks_usage[] = {
	"mlv hooks install [--json]",
	"mlv hooks uninstall [--json]",
	"mlv hooks status [--json]",
	"mlv hooks run <hook> [<arg>...]",
	NULL,
};

/* The absolute path of this binary: what the hooks and the merge driver run. */
static char *self_path(void)
{
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (len <= 0 || (size_t)len >= sizeof(exe) - 1)
		return mlv_strdup("mlv");
	exe[len] = '\0';
	return mlv_strdup(exe);
}

static json_t *json_result(const struct mlv_hooks_result *res, int install)
{
	json_t *o = json_object(), *hooks = json_object(), *warnings = json_array();

	json_object_set_new(o, "dir", json_text(res->dir ? res->dir : ""));
	for (int i = 0; i < MLV_HOOKS_NR; i++) {
		json_object_set_new(hooks, mlv_hook_names[i],
				    json_string(mlv_hook_action_name(res->hooks[i])));
		if (res->warnings[i])
			json_array_append_new(warnings, json_text(res->warnings[i]));
	}
	if (res->attr_warning)
		json_array_append_new(warnings, json_text(res->attr_warning));
	json_object_set_new(o, "hooks", hooks);
	json_object_set_new(o, "merge_driver", json_string(install ? "registered" : "unregistered"));
	json_object_set_new(o, "config_changed", json_boolean(res->config_changed));
	json_object_set_new(o, "attributes_changed", json_boolean(res->attr_changed));
	json_object_set_new(o, "warnings", warnings);
	return o;
}

static void print_result(const struct mlv_hooks_result *res, int install)
{
	int changed = res->config_changed || res->attr_changed;

	for (int i = 0; i < MLV_HOOKS_NR; i++) {
		const char *name = mlv_hook_names[i];

		switch (res->hooks[i]) {
		case MLV_HOOK_KEPT:
			break;
		case MLV_HOOK_WROTE:
			printf("installed %s/%s\n", res->dir, name);
			changed = 1;
			break;
		case MLV_HOOK_CHAIN:
			printf("installed %s/%s (the hook that was there is now %s%s, run first)\n",
			       res->dir, name, name, MLV_HOOK_CHAIN_SUFFIX);
			changed = 1;
			break;
		case MLV_HOOK_REMOVED:
			printf("removed %s/%s\n", res->dir, name);
			changed = 1;
			break;
		case MLV_HOOK_RESTORED:
			printf("removed mlv's %s/%s and put back %s%s\n", res->dir, name, name,
			       MLV_HOOK_CHAIN_SUFFIX);
			changed = 1;
			break;
		case MLV_HOOK_LEFT:
			break;
		}
	}
	if (res->config_changed || res->attr_changed)
		printf("%s the merge driver for *.mlv (git config merge.mlv, .gitattributes)\n",
		       install ? "registered" : "unregistered");
	if (!changed)
		printf("mlv's hooks are %s in %s\n", install ? "already installed" : "not installed",
		       res->dir);
	for (int i = 0; i < MLV_HOOKS_NR; i++)
		if (res->warnings[i])
			warning("%s", res->warnings[i]);
	if (res->attr_warning)
		warning("%s", res->attr_warning);
}

static int do_install(struct mlv_ctx *ctx, int install, int json)
{
	struct mlv_hooks_result res;
	char *self = self_path();
	int ret;

	ret = install ? mlv_hooks_install(&res, ctx->repo, self) : mlv_hooks_uninstall(&res, ctx->repo);
	free(self);
	if (ret < 0) {
		mlv_hooks_result_release(&res);
		die_lib();
	}
	if (json)
		json_emit(json_result(&res, install));
	else
		print_result(&res, install);
	if (install && !json && res.attr_changed)
		hint("commit .gitattributes so that clones merge *.mlv files the same way");
	mlv_hooks_result_release(&res);
	return 0;
}

static const char *state_text(const struct mlv_hook_info *h)
{
	switch (h->state) {
	case MLV_HOOK_ABSENT:
		return h->has_chained ? "not installed (a hook mlv moved aside is left: " : "not installed";
	case MLV_HOOK_INSTALLED:
		return "installed";
	case MLV_HOOK_CHAINED:
		return "chained (runs ";
	case MLV_HOOK_FOREIGN:
		return "foreign hook present (not mlv's)";
	}
	return "unknown";
}

static int do_status(struct mlv_ctx *ctx, int json)
{
	struct mlv_hooks_status st;
	int registered;

	if (mlv_hooks_status(&st, ctx->repo) < 0)
		die_lib();
	registered = st.driver && st.attr;
	if (json) {
		json_t *o = json_object(), *hooks = json_object(), *md = json_object();

		json_object_set_new(o, "dir", json_text(st.dir));
		for (int i = 0; i < MLV_HOOKS_NR; i++) {
			json_t *h = json_object();

			json_object_set_new(h, "state",
					    json_string(mlv_hook_state_name(st.hooks[i].state)));
			json_object_set_new(h, "chained", json_boolean(st.hooks[i].has_chained));
			json_object_set_new(h, "executable", json_boolean(st.hooks[i].executable));
			json_object_set_new(hooks, st.hooks[i].name, h);
		}
		json_object_set_new(o, "hooks", hooks);
		json_object_set_new(md, "registered", json_boolean(registered));
		json_object_set_new(md, "driver", st.driver ? json_text(st.driver) : json_null());
		json_object_set_new(md, "attributes", json_boolean(st.attr));
		json_object_set_new(md, "gitattributes_line", json_boolean(st.attr_line));
		json_object_set_new(o, "merge_driver", md);
		json_emit(o);
	} else {
		printf("hooks directory: %s\n", st.dir);
		for (int i = 0; i < MLV_HOOKS_NR; i++) {
			const struct mlv_hook_info *h = &st.hooks[i];
			const char *t = state_text(h);
			int open = t[strlen(t) - 1] == ' ';

			printf("%-14s %s%s%s%s%s\n", h->name, t, open ? h->name : "",
			       open ? MLV_HOOK_CHAIN_SUFFIX : "",
			       open ? (h->state == MLV_HOOK_CHAINED ? " first)" : ")") : "",
			       h->state != MLV_HOOK_ABSENT && !h->executable ?
				       " [not executable: git skips it]" : "");
		}
		if (registered)
			printf("%-14s registered (%s)\n", "merge driver", st.driver);
		else if (st.driver)
			printf("%-14s not registered: *.mlv files do not have merge=mlv (.gitattributes)\n",
			       "merge driver");
		else if (st.attr)
			printf("%-14s not registered: merge.mlv.driver is not set in git config\n",
			       "merge driver");
		else
			printf("%-14s not registered\n", "merge driver");
	}
	mlv_hooks_status_release(&st);
	return 0;
}

/* ---------------------------------------------------------------------
 * What the hook scripts run.
 */

static void on_change(void *ctx, const char *artifact, const char *file, int what)
{
	if (what == 'C')
		error("'%s' has local changes that are not in the store", file);
}

static void report_done(const struct mlv_checkout_result *res)
{
	if (res->written)
		fprintf(stderr, "mlv: updated %llu file%s (%s)\n", (unsigned long long)res->written,
			res->written == 1 ? "" : "s", human_size(res->bytes));
	if (res->removed)
		fprintf(stderr, "mlv: removed %llu file%s\n", (unsigned long long)res->removed,
			res->removed == 1 ? "" : "s");
}

/*
 * After a file checkout (git checkout <rev> -- <path>, git restore), which
 * may have touched no pointer at all: each artifact on its own, and one
 * whose data has changes that are not in the store is left as it is, with
 * a warning, rather than failing git's command.
 */
static int checkout_each(struct mlv_repo *r, const struct mlv_artifact_list *all)
{
	struct mlv_checkout_opts o = { 0, 1 };
	struct mlv_checkout_result total = { 0 };

	for (size_t i = 0; i < all->nr; i++) {
		struct mlv_artifact_list one = { (struct mlv_artifact *)&all->items[i], 1, 1 };
		struct mlv_checkout_result res;
		int ret = mlv_worktree_checkout(r, &one, &o, NULL, &res);

		if (ret == MLV_ECONFLICT)
			for (size_t k = 0; k < res.nr_conflicts; k++)
				warning("'%s' has changes that are not in the store: left as it is",
					res.conflicts[k]);
		else if (ret < 0)
			warning("'%s': %s", all->items[i].path, mlv_error_last());
		for (size_t k = 0; k < res.nr_problems; k++)
			warning("%s", res.problems[k].message);
		total.written += res.written;
		total.removed += res.removed;
		total.bytes += res.bytes;
		mlv_checkout_result_release(&res);
	}
	report_done(&total);
	return 0;
}

static void on_warn(void *ctx, const char *msg)
{
	warning("%s", msg);
}

/*
 * post-checkout and post-merge: make the data match the pointers git has
 * just written, as `mlv checkout --allow-missing -q` does.  git's own work
 * is complete whatever happens here: say so, and what to run.
 */
static int run_checkout(struct mlv_ctx *ctx, const char *hook, int file_checkout,
			const char *old_rev)
{
	struct mlv_repo *r = ctx->repo;
	struct mlv_wt_callbacks cb = { NULL, NULL, on_change, NULL };
	struct mlv_checkout_opts o = { 0, 1 };
	struct mlv_artifact_list list = { 0 };
	struct mlv_checkout_result res;
	struct mlv_store *s;
	int ret;

	/* A hooks directory shared with repositories that do not use mlv. */
	if (!r->initialized)
		return 0;
	if (mlv_repo_store(&s, r) < 0 || mlv_artifacts_find_at(&list, r->topfd, NULL, 0) < 0) {
		error_lib();
		fprintf(stderr, "error: mlv's %s hook could not update the data (git's own work is complete)\n",
			hook);
		hint("run 'mlv checkout' once the problem is fixed");
		mlv_artifact_list_release(&list);
		return 1;
	}
	if (file_checkout)
		cb.change = NULL;
	ret = mlv_worktree_checkout(r, &list, &o, &cb, &res);
	if (file_checkout && ret == MLV_ECONFLICT) {
		mlv_checkout_result_release(&res);
		ret = checkout_each(r, &list);
		mlv_artifact_list_release(&list);
		return ret;
	}
	for (size_t i = 0; i < res.nr_problems; i++)
		error("%s", res.problems[i].message);
	if (ret < 0 || res.nr_problems) {
		int missing = 0;

		for (size_t i = 0; i < res.nr_problems; i++)
			missing += res.problems[i].missing;
		if (ret < 0)
			error_lib();
		fprintf(stderr, "error: mlv's %s hook could not update %s (git's own work is complete)\n",
			hook, ret < 0 ? "the data" : "all of the data");
		if (ret == MLV_ECONFLICT)
			hint("nothing was changed: keep those changes with 'mlv add <path>', or drop them "
			     "with 'mlv checkout --force'");
		else if (missing)
			hint("get the missing data into the store (add it from a clone that has it), "
			     "then run 'mlv checkout'");
		else
			hint("fix what is named above, then run 'mlv checkout'");
		ret = 1;
	} else {
		ret = 0;
		report_done(&res);
	}
	/* Data whose pointer git removed (another branch does not track it) goes too. */
	if (!file_checkout && old_rev && r->topfd >= 0) {
		struct mlv_wt_callbacks wcb = { on_warn, NULL, NULL, NULL };
		size_t removed = 0;
		struct git_commit *c;

		if (mlv_rev_commit(&c, r, old_rev) == 0) {
			git_commit_free(c);
			if (mlv_checkout_drop_gone(r, old_rev, &wcb, &removed, NULL) < 0)
				error_lib();
			if (removed)
				fprintf(stderr, "mlv: removed the data of %zu artifact%s no longer "
					"tracked\n", removed, removed == 1 ? "" : "s");
		}
		mlv_error_clear();
	}
	mlv_checkout_result_release(&res);
	mlv_artifact_list_release(&list);
	return ret;
}

struct staged_ctx {
	struct mlv_ctx *ctx;
	size_t problems;
};

static void on_staged_problem(void *vctx, const struct mlv_staged_problem *p)
{
	struct staged_ctx *sc = vctx;
	/* Names quoted for sh: the commands shown may be pasted, whatever the names hold. */
	const char *path = *p->path ? path_sh(sc->ctx, p->path) : "";
	const char *pointer = path_sh(sc->ctx, p->pointer);

	sc->problems++;
	error("%s", p->message);
	if (p->bad_pointer)
		hint("fix or unstage it: git restore --staged -- %s", pointer);
	else if (p->in_worktree)
		hint("the data is in the work tree: store it with mlv add -- %s, then commit again",
		     path);
	else if (p->worktree_differs)
		hint("the data is missing from this store, and %s holds other content: "
		     "mlv add -- %s && git add -- %s commits that instead", path, path, pointer);
	else
		hint("the data is missing from this store: add it from a clone that has it, or "
		     "unstage the pointer: git restore --staged -- %s", pointer);
}

static int run_pre_commit(struct mlv_ctx *ctx)
{
	struct staged_ctx sc = { ctx, 0 };
	size_t checked;

	if (!ctx->repo->initialized)
		return 0;
	if (mlv_hooks_check_staged(ctx->repo, on_staged_problem, &sc, &checked) < 0) {
		error_lib();
		fprintf(stderr, "error: mlv's pre-commit hook could not check the staged pointers\n");
		hint("to commit without the check: git commit --no-verify");
		return 1;
	}
	if (!sc.problems)
		return 0;
	fprintf(stderr, "error: commit refused by mlv's pre-commit hook: %zu staged pointer%s %s\n",
		sc.problems, sc.problems == 1 ? "" : "s",
		sc.problems == 1 ? "names data that is not in the store, or is not valid" :
				   "name data that is not in the store, or are not valid");
	hint("to commit anyway (nobody will be able to check the data out): git commit --no-verify");
	return 1;
}

static int do_run(struct mlv_ctx *ctx, int argc, const char **argv)
{
	const char *hook = argv[0];

	/* post-checkout <old> <new> <flag>: flag 0 is a checkout of files, not of a branch. */
	if (!strcmp(hook, "post-checkout"))
		return run_checkout(ctx, hook, argc >= 4 && !strcmp(argv[3], "0"),
				    argc >= 4 ? argv[1] : NULL);
	if (!strcmp(hook, "post-merge"))
		return run_checkout(ctx, hook, 0, "ORIG_HEAD");
	if (!strcmp(hook, "pre-commit"))
		return run_pre_commit(ctx);
	die("'%s' is not one of mlv's hooks (post-checkout, post-merge, pre-commit)", hook);
}

int cmd_hooks(int argc, const char **argv, struct mlv_ctx *ctx)
{
	int json = 0, n;
	const struct option opts[] = {
		OPT_BOOL_F(0, "json", &json, "print one JSON object"),
		OPT_END_F,
	};
	const char *sub;

	/* The hook's own arguments are git's, passed on untouched. */
	if (argc >= 3 && !strcmp(argv[1], "run") && ctx->repo)
		return do_run(ctx, argc - 2, argv + 2);
	n = parse_options(argc, argv, opts, hooks_usage);
	if (n < 1)
		usage_with_options(hooks_usage, opts);
	sub = argv[0];
	if (!strcmp(sub, "run"))
		usage_error(hooks_usage, opts, "'mlv hooks run' needs the name of a hook");
	if (n != 1)
		usage_error(hooks_usage, opts, "'mlv hooks %s' takes no arguments", sub);
	if (!strcmp(sub, "install"))
		return do_install(ctx, 1, json);
	if (!strcmp(sub, "uninstall"))
		return do_install(ctx, 0, json);
	if (!strcmp(sub, "status"))
		return do_status(ctx, json);
	usage_error(hooks_usage, opts, "unknown subcommand '%s'", sub);
}
