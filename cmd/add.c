#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "builtin.h"
#include "mlv/fs.h"
#include "mlv/pointer.h"
#include "mlv/worktree.h"

static void on_warn(void *ctx, const char *msg)
{
	warning("%s", msg);
}

static void on_progress(void *ctx, uint64_t files, uint64_t bytes)
{
	progress_update(ctx, files, bytes);
}

/* Does `path` name a pointer file (a regular file "<data>.mlv")? */
static int is_pointer_file(struct mlv_ctx *ctx, const char *path)
{
	size_t len = strlen(path), slen = strlen(MLV_POINTER_SUFFIX);
	struct stat st;

	if (len <= slen || strcmp(path + len - slen, MLV_POINTER_SUFFIX))
		return 0;
	if (mlv_fs_lstat(ctx->repo->topfd, path, &st) < 0) {
		mlv_error_clear();
		return 0;
	}
	return S_ISREG(st.st_mode);
}

int cmd_add(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv add [--kind <kind>] [--dereference] [-j <n>] [-q] [--json] [--] <path>...",
		NULL,
	};
	const char *kind = NULL;
	int jobs = 0, quiet = 0, json = 0, deref = -1;
	const struct option opts[] = {
		OPT_CHOICE_F(0, "kind", &kind, "<kind>", "what the path holds: data, model or metric",
			     "data model metric"),
		OPT_BOOL_F(0, "dereference", &deref,
			   "store what symlinks inside a directory point to, not the links"),
		OPT_INT_F('j', "jobs", &jobs, "<n>", "threads listing directories (default: the number of cores)"),
		OPT_BOOL_F('q', "quiet", &quiet, "print nothing but errors"),
		OPT_BOOL_F(0, "json", &json, "print the new pointers as JSON"),
		OPT_END_F,
	};
	struct mlv_add_opts o = { 0 };
	struct mlv_wt_callbacks cb = { on_warn, on_progress, NULL, NULL };
	struct mlv_add_result *res = NULL;
	size_t nres = 0;
	json_t *list = NULL;
	struct mlv_buf ptr = MLV_BUF_INIT;
	char **paths;
	int n, ret = 0;

	n = parse_options(argc, argv, opts, usage);
	if (!n)
		usage_error(usage, opts, "nothing specified, nothing added");
	if (kind) {
		mlv_kind_parse(&o.kind, kind);
		o.kind_given = 1;
	}
	o.jobs = jobs;
	o.dereference = deref < 0 ? MLV_DEREF_KEEP : deref ? MLV_DEREF_YES : MLV_DEREF_NO;
	paths = mlv_calloc((size_t)n, sizeof(*paths));
	for (int i = 0; i < n; i++) {
		paths[i] = path_arg(ctx, argv[i]);
		if (!*paths[i])
			die("'%s': cannot track the top of the work tree", argv[i]);
		for (int k = 0; k < i; k++)
			if (!strcmp(paths[k], paths[i]))
				die("'%s' given twice", argv[i]);
		if (is_pointer_file(ctx, paths[i])) {
			char *data = mlv_strndup(paths[i], strlen(paths[i]) - strlen(MLV_POINTER_SUFFIX));

			error("'%s' is a pointer file", path_show(ctx, paths[i]));
			hint("to store new content, name the data path: mlv add -- %s",
			     path_sh(ctx, data));
			free(data);
			ret = 128;
			goto done;
		}
		if (mlv_repo_git_tracks(ctx->repo, paths[i], 1) == 1) {
			error("'%s' is tracked by git", path_show(ctx, paths[i]));
			hint("stop tracking it in git first: git rm -r --cached -- %s",
			     path_sh(ctx, paths[i]));
			ret = 128;
			goto done;
		}
	}
	/* Recording another branch's data as a new version is the trap to warn about. */
	for (int i = 0; i < n; i++) {
		struct mlv_artifact_list one = { 0 };
		char *at;

		if (mlv_artifact_find_one(&one, ctx->repo->topfd, paths[i]) < 0 || one.items[0].within ||
		    one.items[0].error) {
			mlv_error_clear();
			mlv_artifact_list_release(&one);
			continue;
		}
		if ((at = forgotten_checkout(ctx, &one.items[0]))) {
			warning("'%s' holds the version its pointer named at %s, not the one it "
				"names now; recording it as a new version", path_show(ctx, paths[i]), at);
			hint("if 'mlv checkout' was forgotten after 'git checkout', undo with: "
			     "git checkout -- %s && mlv checkout -- %s",
			     path_sh(ctx, one.items[0].pointer), path_sh(ctx, paths[i]));
			free(at);
		}
		mlv_artifact_list_release(&one);
	}
	cb.ctx = progress_start(ctx, "Adding");
	if (mlv_add(ctx->repo, (const char *const *)paths, (size_t)n, &o, &cb, &res, &nres) < 0) {
		progress_stop(cb.ctx);
		error_lib();
		if (*mlv_error_last_hint())
			hint("%s", mlv_error_last_hint());
		ret = 128;
		goto done;
	}
	progress_stop(cb.ctx);
	if (json)
		list = json_array();
	for (size_t i = 0; i < nres; i++) {
		const struct mlv_add_result *r = &res[i];
		const struct mlv_pointer *p = &r->ptr;

		if (json) {
			json_t *a = json_object();

			json_object_set_new(a, "path", json_text(r->path));
			mlv_buf_reset(&ptr);
			mlv_buf_addf(&ptr, "%s%s", r->path, MLV_POINTER_SUFFIX);
			json_object_set_new(a, "pointer", json_text(ptr.ptr));
			json_object_set_new(a, "oid", json_sprintf("sha256:%s", mlv_oid_hex(&p->oid)));
			json_object_set_new(a, "size", json_integer((json_int_t)p->size));
			json_object_set_new(a, "kind", json_string(mlv_kind_name(p->kind)));
			json_object_set_new(a, "type", json_string(p->type == MLV_PTYPE_DIR ? "dir" : "file"));
			if (p->type == MLV_PTYPE_DIR) {
				json_object_set_new(a, "files", json_integer((json_int_t)p->files));
				json_object_set_new(a, "dereference",
						    json_boolean(mlv_add_dereferenced(p)));
			}
			json_object_set_new(a, "changed", json_boolean(!r->unchanged));
			json_array_append_new(list, a);
		} else if (!quiet && !r->unchanged) {
			if (p->type == MLV_PTYPE_DIR)
				printf("added %s (%s, %llu files, %s)\n", path_show(ctx, r->path),
				       mlv_kind_name(p->kind), (unsigned long long)p->files,
				       human_size(p->size));
			else
				printf("added %s (%s, %s)\n", path_show(ctx, r->path),
				       mlv_kind_name(p->kind), human_size(p->size));
		}
	}
	if (json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "artifacts", list);
		json_emit(obj);
	}
done:
	mlv_buf_release(&ptr);
	mlv_add_results_free(res, nres);
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return ret;
}
