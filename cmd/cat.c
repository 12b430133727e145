#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "mlv/fileio.h"
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

/* What `path` names: a tracked file, or a file inside a tracked directory. */
static void resolve_path(struct mlv_ctx *ctx, const char *path, struct mlv_oid *out)
{
	struct mlv_resolved res;

	if (mlv_artifact_resolve(&res, ctx->repo, path) < 0) {
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

int cmd_cat(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv cat <id>|<path>", NULL };
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
		char *path = path_arg(ctx, argv[0]);

		resolve_path(ctx, path, &id);
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
