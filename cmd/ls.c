#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "builtin.h"
#include "mlv/history.h"
#include "mlv/tree.h"
#include "mlv/worktree.h"

struct ls_ctx {
	struct mlv_ctx *ctx;
	struct git_tree *tree; /* listing a revision: its tree, else NULL */
	const char *rev;
	json_t *items; /* --json: the array being filled, else NULL */
	size_t bad;    /* bad pointers listed */
};

static const char *mode_type(uint32_t mode)
{
	return mode == MLV_MODE_LINK ? "link" : mode == MLV_MODE_EXEC ? "exec" :
	       mode == MLV_MODE_DIR ? "dir" : "file";
}

static int print_file(void *data, const char *path, const struct mlv_tree_entry *e)
{
	struct ls_ctx *l = data;

	if (l->items) {
		json_t *o = json_object();

		json_object_set_new(o, "path", json_text(path));
		json_object_set_new(o, "type", json_string(mode_type(e->mode)));
		json_object_set_new(o, "size", json_integer((json_int_t)e->size));
		json_object_set_new(o, "oid", json_pack("s+", "sha256:", mlv_oid_hex(&e->oid)));
		json_array_append_new(l->items, o);
	} else {
		printf("%-4s %10s  %.12s  %s\n", mode_type(e->mode), human_size(e->size),
		       mlv_oid_hex(&e->oid), path_show(l->ctx, path));
	}
	return 0;
}

static void print_artifact(struct ls_ctx *l, const struct mlv_artifact *a)
{
	const struct mlv_pointer *p = &a->ptr;
	int dir = p->type == MLV_PTYPE_DIR;

	if (a->error) {
		/* Listed, never left out: a conflicted pointer is still an artifact. */
		l->bad++;
		report_bad_artifact(a);
		if (l->items) {
			json_t *o = json_object();

			json_object_set_new(o, "path", json_text(a->path));
			json_object_set_new(o, "pointer", json_text(a->pointer));
			json_object_set_new(o, "error", json_text(a->error));
			json_object_set_new(o, "conflicted", json_boolean(a->conflicted));
			json_array_append_new(l->items, o);
		} else {
			printf("%-6s %-4s %10s %8s  %-12s  %s\n", "-", "-", "-", "-",
			       a->conflicted ? "conflicted" : "bad pointer", path_show(l->ctx, a->path));
		}
		return;
	}
	if (l->items) {
		json_t *o = json_object();

		json_object_set_new(o, "path", json_text(a->path));
		json_object_set_new(o, "kind", json_string(mlv_kind_name(p->kind)));
		json_object_set_new(o, "type", json_string(dir ? "dir" : "file"));
		json_object_set_new(o, "size", json_integer((json_int_t)p->size));
		json_object_set_new(o, "oid", json_pack("s+", "sha256:", mlv_oid_hex(&p->oid)));
		json_object_set_new(o, "files", json_integer((json_int_t)(dir ? p->files : 1)));
		json_array_append_new(l->items, o);
	} else {
		printf("%-6s %-4s %10s %8llu  %.12s  %s\n", mlv_kind_name(p->kind), dir ? "dir" : "file",
		       human_size(p->size), (unsigned long long)(dir ? p->files : 1),
		       mlv_oid_hex(&p->oid), path_show(l->ctx, a->path));
	}
}

/*
 * `path` names a tracked directory, or a file or directory inside one:
 * list the files stored there.
 */
static int list_files(struct ls_ctx *l, const char *path)
{
	struct mlv_resolved res;
	struct mlv_store *s;
	const struct mlv_artifact *a;
	const char *base;
	int ret = l->tree ? mlv_rev_resolve(&res, l->ctx->repo, l->tree, l->rev, path) :
			    mlv_artifact_resolve(&res, l->ctx->repo, path);

	if (ret < 0) {
		if (res.artifact.nr == 1 && res.artifact.items[0].error)
			report_bad_artifact(&res.artifact.items[0]);
		else
			error_lib();
		goto done;
	}
	a = &res.artifact.items[0];
	base = a->within ? path : a->path;
	if (res.mode != MLV_MODE_DIR) {
		struct mlv_tree_entry e = { NULL, res.mode, res.size, res.oid };

		ret = print_file(l, base, &e);
	} else if ((ret = mlv_repo_store(&s, l->ctx->repo)) < 0 ||
		   (ret = mlv_tree_walk(s, &res.oid, base, print_file, l)) < 0) {
		fflush(stdout);
		error_lib();
	}
done:
	mlv_resolved_release(&res);
	return ret;
}

int cmd_ls(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv ls [--json] [<rev>] [--] [<path>]", NULL };
	int json = 0, n, dashdash;
	const struct option opts[] = {
		OPT_BOOL_F(0, "json", &json, "print the listing as JSON"),
		OPT_END_F,
	};
	struct mlv_artifact_list list = { 0 };
	struct ls_ctx l = { ctx, NULL, NULL, NULL, 0 };
	const struct mlv_artifact *one;
	char *path = NULL;
	int files = 0, ret = 0;

	n = parse_options_dashdash(argc, argv, opts, usage, &dashdash);
	if (n && arg_is_rev(ctx, argv[0], dashdash)) {
		l.rev = argv[0];
		if (mlv_rev_tree(&l.tree, ctx->repo, l.rev) < 0)
			die_lib();
		argv++;
		n--;
	} else if (ctx->repo->topfd < 0) {
		die("this operation needs a work tree; name a revision ('mlv ls HEAD')");
	}
	if (n > 1)
		usage_with_options(usage, opts);
	if (n)
		path = path_arg(ctx, argv[0]);
	if ((l.tree ? mlv_rev_artifacts(&list, ctx->repo, l.tree, l.rev,
					(const char *const *)&path, path ? 1 : 0) :
		      mlv_artifacts_find_at(&list, ctx->repo->topfd, (const char *const *)&path,
					    path ? 1 : 0)) < 0)
		die_lib();
	/*
	 * A tracked directory named on the command line, or a path inside
	 * one: list its files.  A tracked file is listed as an artifact.
	 */
	one = path && list.nr == 1 ? &list.items[0] : NULL;
	if (one && (one->within || (one->ptr.type == MLV_PTYPE_DIR && !one->error &&
				    (!strcmp(one->path, path) || !strcmp(one->pointer, path)))))
		files = 1;
	if (json)
		l.items = json_array();
	if (files) {
		ret = list_files(&l, path);
	} else {
		for (size_t i = 0; i < list.nr; i++)
			print_artifact(&l, &list.items[i]);
	}
	if (json && ret >= 0) {
		json_t *out = json_object();

		json_object_set_new(out, files ? "files" : "artifacts", l.items);
		json_emit(out);
	} else if (json) {
		json_decref(l.items);
	}
	mlv_artifact_list_release(&list);
	git_tree_free(l.tree);
	free(path);
	if (ret < 0)
		return 128;
	return l.bad ? 1 : 0;
}
