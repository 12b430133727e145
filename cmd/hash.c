#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "mlv/path.h"
#include "mlv/worktree.h"

/*
 * A path outside the repository, as the user named it: the directory
 * itself (and "" below it), or the directory holding it and its name.
 * The user's own symlinks are followed here, as any command does with
 * its arguments; nothing below is.
 */
static int open_outside(const char *arg, struct mlv_buf *base)
{
	struct mlv_buf dir = MLV_BUF_INIT;
	const char *slash;
	int fd = open(arg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	mlv_buf_reset(base);
	if (fd >= 0)
		return fd;
	slash = strrchr(arg, '/');
	if (slash) {
		mlv_buf_add(&dir, arg, (size_t)(slash - arg));
		if (!dir.len)
			mlv_buf_adds(&dir, "/");
		mlv_buf_adds(base, slash + 1);
	} else {
		mlv_buf_adds(&dir, ".");
		mlv_buf_adds(base, arg);
	}
	fd = open(dir.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		mlv_error_set_errno(MLV_ENOTFOUND, "cannot open '%s'", arg);
	mlv_buf_release(&dir);
	return fd;
}

int cmd_hash(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv hash [--dereference] [--json] [--] <path>...",
		NULL,
	};
	int json = 0, deref = 0, n, ret = 0;
	const struct option opts[] = {
		OPT_BOOL_F(0, "dereference", &deref, "hash what symlinks inside a directory point to"),
		OPT_BOOL_F(0, "json", &json, "print the ids as JSON"),
		OPT_END_F,
	};
	struct mlv_store *store = NULL;
	json_t *list = NULL;

	n = parse_options(argc, argv, opts, usage);
	if (!n)
		usage_error(usage, opts, "no path given");
	/* Outside a repository argv paths are used as they are. */
	if (ctx->repo && ctx->repo->initialized && mlv_repo_store(&store, ctx->repo) < 0)
		store = NULL;
	if (json)
		list = json_array();
	for (int i = 0; i < n; i++) {
		struct mlv_oid id;
		uint64_t size, files;
		struct mlv_buf rel = MLV_BUF_INIT, abs = MLV_BUF_INIT;
		struct mlv_store *cache = NULL;
		int dirfd = -1, r;

		/*
		 * A path inside the repository is hashed from its top (and
		 * may use the stat cache); one outside it from where it is.
		 */
		if (ctx->repo && !mlv_path_from_arg(&rel, ctx->repo->top, ctx->repo->prefix, argv[i])) {
			cache = store;
			r = mlv_hash_path_at(&id, &size, &files, cache, ctx->repo->topfd, rel.ptr, deref,
					     NULL);
		} else {
			if (ctx->repo && argv[i][0] != '/')
				mlv_buf_addf(&abs, "%s/%s%s%s", ctx->repo->top, ctx->repo->prefix,
					     *ctx->repo->prefix ? "/" : "", argv[i]);
			else
				mlv_buf_adds(&abs, argv[i]);
			r = dirfd = open_outside(abs.ptr, &rel);
			if (dirfd >= 0)
				r = mlv_hash_path_at(&id, &size, &files, NULL, dirfd, rel.ptr, deref, NULL);
		}
		if (r < 0) {
			ret = error_lib();
		} else if (json) {
			json_t *o = json_object();

			json_object_set_new(o, "path", json_text(argv[i]));
			json_object_set_new(o, "oid", json_sprintf("sha256:%s", mlv_oid_hex(&id)));
			json_object_set_new(o, "size", json_integer((json_int_t)size));
			json_object_set_new(o, "files", json_integer((json_int_t)files));
			json_array_append_new(list, o);
		} else {
			printf("%s  %s\n", mlv_oid_hex(&id), argv[i]);
		}
		if (dirfd >= 0)
			close(dirfd);
		mlv_buf_release(&rel);
		mlv_buf_release(&abs);
	}
	if (json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "paths", list);
		json_object_set_new(obj, "ok", json_boolean(ret == 0));
		json_emit(obj);
	}
	return ret < 0 ? 128 : 0;
}
