#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "mlv/tree.h"
#include "mlv/worktree.h"

struct ls_ctx {
	struct mlv_ctx *ctx;
	int json;
	size_t count;
};

static const char *mode_type(uint32_t mode)
{
	return mode == MLV_MODE_LINK ? "link" : mode == MLV_MODE_EXEC ? "exec" : "file";
}

static int print_file(void *data, const char *path, const struct mlv_tree_entry *e)
{
	struct ls_ctx *l = data;

	if (l->json) {
		printf("%s{\"path\":", l->count ? "," : "");
		json_put_string(path);
		printf(",\"type\":\"%s\",\"size\":%llu,\"oid\":\"sha256:%s\"}", mode_type(e->mode),
		       (unsigned long long)e->size, mlv_oid_hex(&e->oid));
	} else {
		printf("%-4s %10s  %.12s  %s\n", mode_type(e->mode), human_size(e->size),
		       mlv_oid_hex(&e->oid), path_show(l->ctx, path));
	}
	l->count++;
	return 0;
}

static void print_artifact(struct ls_ctx *l, const struct mlv_artifact *a)
{
	const struct mlv_pointer *p = &a->ptr;
	int dir = p->type == MLV_PTYPE_DIR;

	if (a->error) {
		error("%s", a->error);
		return;
	}
	if (l->json) {
		printf("%s{\"path\":", l->count ? "," : "");
		json_put_string(a->path);
		printf(",\"kind\":\"%s\",\"type\":\"%s\",\"size\":%llu,\"oid\":\"sha256:%s\"",
		       mlv_kind_name(p->kind), dir ? "dir" : "file", (unsigned long long)p->size,
		       mlv_oid_hex(&p->oid));
		printf(",\"files\":%llu}", (unsigned long long)(dir ? p->files : 1));
	} else {
		printf("%-6s %-4s %10s %8llu  %.12s  %s\n", mlv_kind_name(p->kind), dir ? "dir" : "file",
		       human_size(p->size), (unsigned long long)(dir ? p->files : 1),
		       mlv_oid_hex(&p->oid), path_show(l->ctx, a->path));
	}
	l->count++;
}

int cmd_ls(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv ls [--json] [<path>]", NULL };
	int json = 0, n;
	const struct option opts[] = {
		OPT_BOOL_F(0, "json", &json, "print the listing as JSON"),
		OPT_END_F,
	};
	struct mlv_artifact_list list = { 0 };
	struct ls_ctx l = { ctx, 0, 0 };
	char *path = NULL;
	int listing_dir = 0, ret = 0;

	n = parse_options(argc, argv, opts, usage);
	if (n > 1)
		usage_with_options(usage, opts);
	l.json = json;
	if (n)
		path = path_arg(ctx, argv[0]);
	if (mlv_artifacts_find(&list, (const char *const *)&path, path ? 1 : 0) < 0)
		die_lib();
	/* A single tracked directory named on the command line: list its files. */
	if (path && list.nr == 1 && !list.items[0].error &&
	    list.items[0].ptr.type == MLV_PTYPE_DIR &&
	    (!strcmp(list.items[0].path, path) || !strcmp(list.items[0].pointer, path)))
		listing_dir = 1;
	if (json)
		fputs(listing_dir ? "{\"files\":[" : "{\"artifacts\":[", stdout);
	if (listing_dir) {
		struct mlv_store *s;

		if (mlv_repo_store(&s, ctx->repo) < 0 ||
		    mlv_tree_walk(s, &list.items[0].ptr.oid, list.items[0].path, print_file, &l) < 0) {
			fflush(stdout);
			ret = error_lib();
		}
	} else {
		for (size_t i = 0; i < list.nr; i++)
			print_artifact(&l, &list.items[i]);
	}
	if (json)
		puts("]}");
	mlv_artifact_list_release(&list);
	free(path);
	return ret < 0 ? 128 : 0;
}
