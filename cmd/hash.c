#include <stdio.h>
#include <stdlib.h>

#include "builtin.h"
#include "mlv/path.h"
#include "mlv/worktree.h"

int cmd_hash(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv hash [--json] [--] <path>...", NULL };
	int json = 0, n, ret = 0;
	const struct option opts[] = {
		OPT_BOOL_F(0, "json", &json, "print the ids as JSON"),
		OPT_END_F,
	};
	struct mlv_store *store = NULL;

	n = parse_options(argc, argv, opts, usage);
	if (!n)
		usage_error(usage, opts, "no path given");
	/* Outside a repository argv paths are used as they are. */
	if (ctx->repo && ctx->repo->initialized && mlv_repo_store(&store, ctx->repo) < 0)
		store = NULL;
	if (json)
		putchar('[');
	for (int i = 0; i < n; i++) {
		struct mlv_oid id;
		uint64_t size, files;
		struct mlv_buf rel = MLV_BUF_INIT;
		const char *path = argv[i];
		struct mlv_store *cache = NULL;

		/*
		 * Inside a repository we run from its top: a path inside it
		 * becomes repo-relative (and may use the stat cache), one
		 * outside it absolute.
		 */
		if (ctx->repo) {
			if (!mlv_path_from_arg(&rel, ctx->repo->top, ctx->repo->prefix, argv[i])) {
				cache = store;
				if (!rel.len)
					mlv_buf_adds(&rel, ".");
			} else if (argv[i][0] != '/') {
				mlv_buf_reset(&rel);
				mlv_buf_addf(&rel, "%s/%s%s%s", ctx->repo->top, ctx->repo->prefix,
					     *ctx->repo->prefix ? "/" : "", argv[i]);
			} else {
				mlv_buf_reset(&rel);
				mlv_buf_adds(&rel, argv[i]);
			}
			path = rel.ptr;
		}
		if (mlv_hash_path(&id, &size, &files, cache, path, NULL) < 0) {
			ret = error_lib();
		} else if (json) {
			printf("%s{\"path\":", i ? "," : "");
			json_put_string(argv[i]);
			printf(",\"oid\":\"sha256:%s\",\"size\":%llu,\"files\":%llu}", mlv_oid_hex(&id),
			       (unsigned long long)size, (unsigned long long)files);
		} else {
			printf("%s  %s\n", mlv_oid_hex(&id), argv[i]);
		}
		mlv_buf_release(&rel);
	}
	if (json)
		puts("]");
	return ret < 0 ? 128 : 0;
}
