#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "builtin.h"
#include "mlv/fileio.h"
#include "mlv/fs.h"
#include "mlv/history.h"
#include "mlv/path.h"
#include "mlv/tree.h"
#include "mlv/worktree.h"

static int is_hex_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n >= 8 && n <= MLV_OID_HEXSZ && !s[n];
}

static int to_stdout(void *ctx, const void *data, size_t len)
{
	return mlv_write_all(1, data, len, "standard output");
}

static int print_tree(struct mlv_store *s, const struct mlv_oid *id)
{
	struct mlv_tree t = MLV_TREE_INIT;
	int ret = mlv_tree_load(s, id, mlv_oid_hex(id), &t);

	for (size_t i = 0; !ret && i < t.nr; i++) {
		const struct mlv_tree_entry *e = &t.entries[i];

		printf("%06o %s %s %llu\t%s\n", e->mode, e->mode == MLV_MODE_DIR ? "tree" : "blob",
		       mlv_oid_hex(&e->oid), (unsigned long long)e->size, e->name);
	}
	mlv_tree_release(&t);
	return ret;
}

/*
 * What `path` names (at revision `rev`, or in the work tree when NULL): a
 * tracked file, or a file inside a tracked directory.
 */
static void resolve_path(struct mlv_ctx *ctx, const char *rev, const char *path,
			 struct mlv_oid *out)
{
	struct mlv_resolved res;
	struct git_tree *tree = NULL;
	int ret;

	if (rev && mlv_rev_tree(&tree, ctx->repo, rev) < 0)
		die_lib();
	ret = rev ? mlv_rev_resolve(&res, ctx->repo, tree, rev, path) :
		    mlv_artifact_resolve(&res, ctx->repo, path);
	git_tree_free(tree);
	if (ret < 0) {
		if (res.artifact.nr == 1 && res.artifact.items[0].error) {
			struct mlv_buf h = MLV_BUF_INIT;

			error("%s", res.artifact.items[0].error);
			mlv_artifact_hint(&h, &res.artifact.items[0]);
			if (h.len)
				hint("%s", h.ptr);
			exit(128);
		}
		die_lib();
	}
	*out = res.oid;
	mlv_resolved_release(&res);
}

/*
 * "<rev>:<path>" as git spells it: the path is relative to the top, or to
 * the current directory when it starts with "./" or "../".  0 when `arg`
 * is not of that form (or what precedes the colon is no revision).
 */
static int split_rev_path(struct mlv_ctx *ctx, const char *arg, char **rev, char **path)
{
	const char *colon = strchr(arg, ':');
	struct git_commit *c;
	struct mlv_buf b = MLV_BUF_INIT;
	const char *p;

	if (!colon || colon == arg)
		return 0;
	*rev = mlv_strndup(arg, (size_t)(colon - arg));
	if (mlv_rev_commit(&c, ctx->repo, *rev) < 0) {
		/* A path with a colon in it, or an unknown revision when no such path. */
		char *msg = mlv_strdup(mlv_error_last());
		int is_path = 0;

		if (ctx->repo->topfd >= 0 &&
		    mlv_path_from_arg(&b, ctx->repo->top, ctx->repo->prefix, arg) == 0) {
			struct mlv_buf in = MLV_BUF_INIT;

			is_path = mlv_fs_exists(ctx->repo->topfd, b.ptr) > 0 ||
				  mlv_artifact_containing_at(&in, ctx->repo->topfd, b.ptr, 1) > 0;
			mlv_buf_release(&in);
		}
		mlv_buf_release(&b);
		mlv_error_clear();
		if (is_path) {
			free(msg);
			free(*rev);
			return 0;
		}
		die("%s", msg);
	}
	git_commit_free(c);
	p = colon + 1;
	if (ctx->repo->topfd < 0 || (strncmp(p, "./", 2) && strncmp(p, "../", 3) &&
				     strcmp(p, ".") && strcmp(p, ".."))) {
		/* Relative to the top, as git reads "<rev>:<path>". */
		mlv_buf_adds(&b, p);
		while (b.len && b.ptr[b.len - 1] == '/')
			mlv_buf_setlen(&b, b.len - 1);
		if (b.len && mlv_path_check(b.ptr, 0, "bad path") < 0)
			die_lib();
		*path = mlv_buf_detach(&b, NULL);
	} else {
		*path = path_arg(ctx, p);
	}
	return 1;
}

int cmd_cat(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv cat <id>|<path>|<rev>:<path>", NULL };
	const struct option opts[] = { OPT_END_F };
	struct mlv_object_info info;
	struct mlv_store *s;
	struct mlv_oid id;
	const char *arg;
	int n, ret;

	n = parse_options(argc, argv, opts, usage);
	if (n != 1)
		usage_with_options(usage, opts);
	arg = argv[0];
	if (!strncmp(arg, "sha256:", 7))
		arg += 7;
	if (mlv_repo_store(&s, ctx->repo) < 0)
		die_lib();
	if (is_hex_id(arg) && (ret = mlv_store_resolve_prefix(s, &id, arg)) != MLV_ENOTFOUND) {
		if (ret < 0)
			die_lib();
	} else if (arg != argv[0]) {
		die("object '%s' not found", argv[0]);
	} else {
		char *rev = NULL, *path = NULL;

		if (!split_rev_path(ctx, arg, &rev, &path)) {
			if (ctx->repo->topfd < 0)
				die("'%s': a path needs a work tree; name a revision ('<rev>:%s')",
				    arg, arg);
			path = path_arg(ctx, arg);
		}
		resolve_path(ctx, rev, path, &id);
		free(rev);
		free(path);
	}
	if (mlv_store_info(s, &id, &info) < 0)
		die_lib();
	if (info.type == MLV_OBJ_TREE)
		ret = print_tree(s, &id);
	else if (fflush(stdout) == 0)
		ret = mlv_store_read_blob(s, &id, to_stdout, NULL);
	if (ret < 0)
		die_lib();
	return 0;
}
