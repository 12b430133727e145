#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlv/gitignore.h"
#include "mlv/path.h"
#include "mlv/worktree.h"
#include "worktree/scan.h"

void mlv_add_results_free(struct mlv_add_result *res, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(res[i].path);
		mlv_pointer_release(&res[i].ptr);
	}
	free(res);
}

/* Refuse paths that mlv cannot or must not track. */
static int check_path(const char *path, struct stat *st)
{
	struct mlv_buf p = MLV_BUF_INIT;
	size_t len = strlen(path);
	struct mlv_artifact_list inner = { 0 };
	int ret = 0;

	if (!*path)
		return mlv_error_set(MLV_EINVALID, "cannot track the top of the work tree");
	if ((ret = mlv_path_check_parents(path)) < 0)
		return ret;
	if (lstat(path, st) < 0)
		return mlv_error_set_errno(errno == ENOENT ? MLV_ENOTFOUND : MLV_EIO,
					   "cannot add '%s'", path);
	if (S_ISLNK(st->st_mode))
		return mlv_error_set(MLV_EINVALID, "'%s' is a symlink; add its target instead", path);
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return mlv_error_set(MLV_EINVALID, "'%s' is not a regular file or directory", path);
	if (S_ISREG(st->st_mode) && len > 4 && !strcmp(path + len - 4, MLV_POINTER_SUFFIX))
		return mlv_error_set(MLV_EINVALID, "'%s' is a pointer file; add the data path instead",
				     path);
	if (strchr(path, '\n'))
		return mlv_error_set(MLV_EINVALID,
				     "'%s': a tracked path cannot contain a newline (it could not be "
				     "listed in .gitignore)", path);
	if (mlv_artifact_containing(&p, path, 0))
		ret = mlv_error_set(MLV_EINVALID, "'%s' is inside tracked directory '%s'", path, p.ptr);
	if (!ret && S_ISDIR(st->st_mode)) {
		const char *one[] = { path };

		/* With a pointer beside it, the directory is its own artifact: look inside. */
		mlv_buf_reset(&p);
		mlv_buf_addf(&p, "%s/", path);
		one[0] = p.ptr;
		ret = mlv_artifacts_find(&inner, one, 1);
		if (!ret && inner.nr)
			ret = mlv_error_set(MLV_EINVALID, "'%s' contains tracked path '%s'; "
					    "remove it with 'mlv rm --keep' first", path, inner.items[0].path);
		mlv_artifact_list_release(&inner);
	}
	mlv_buf_release(&p);
	return ret;
}

static int same_pointer(const struct mlv_pointer *a, const struct mlv_pointer *b)
{
	return !mlv_oid_cmp(&a->oid, &b->oid) && a->size == b->size && a->kind == b->kind &&
	       a->type == b->type && a->files == b->files;
}

static int write_pointer(struct mlv_add_result *res)
{
	struct mlv_buf ptr = MLV_BUF_INIT, dir = MLV_BUF_INIT;
	int ret;

	mlv_buf_addf(&ptr, "%s%s", res->path, MLV_POINTER_SUFFIX);
	ret = res->unchanged ? 0 : mlv_pointer_write(ptr.ptr, &res->ptr);
	if (!ret) {
		mlv_path_dirname(&dir, res->path);
		ret = mlv_gitignore_add(dir.len ? dir.ptr : ".", mlv_path_basename(res->path));
	}
	mlv_buf_release(&ptr);
	mlv_buf_release(&dir);
	return ret;
}

int mlv_add(struct mlv_repo *r, const char *const *paths, size_t n, const struct mlv_add_opts *o,
	    const struct mlv_wt_callbacks *cb, struct mlv_add_result **out, size_t *nr)
{
	struct mlv_add_result *res = mlv_calloc(n ? n : 1, sizeof(*res));
	struct mlv_store_writer *w = NULL;
	struct mlv_store *store;
	struct scan s;
	int ret;
	size_t i;

	*out = NULL;
	*nr = 0;
	if ((ret = mlv_repo_store(&store, r)) < 0)
		goto fail_early;
	for (i = 0; i < n; i++)
		mlv_pointer_init(&res[i].ptr);
	for (i = 0; i < n; i++) {
		struct stat st;

		res[i].path = mlv_strdup(paths[i]);
		if ((ret = check_path(paths[i], &st)) < 0)
			goto fail_early;
	}
	if ((ret = mlv_store_writer_new(&w, store)) < 0)
		goto fail_early;
	scan_init(&s, r->topfd, store, w, cb);
	for (i = 0; i < n; i++) {
		struct mlv_add_result *a = &res[i];
		struct mlv_pointer old;
		struct mlv_buf ptrpath = MLV_BUF_INIT;
		struct stat st;
		int had_old;

		mlv_buf_addf(&ptrpath, "%s%s", a->path, MLV_POINTER_SUFFIX);
		mlv_pointer_init(&old);
		had_old = !mlv_pointer_read(&old, ptrpath.ptr);
		mlv_buf_release(&ptrpath);
		if (lstat(a->path, &st) < 0) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", a->path);
		} else if (S_ISDIR(st.st_mode)) {
			a->ptr.type = MLV_PTYPE_DIR;
			scan_prefetch(&s, a->path, o->jobs > 0 ? o->jobs : scan_default_threads());
			ret = scan_dir(&s, a->path, a->path, NULL, &a->ptr.oid, &a->ptr.size,
				       &a->ptr.files);
		} else {
			a->ptr.type = MLV_PTYPE_FILE;
			a->ptr.size = (uint64_t)st.st_size;
			ret = scan_file(&s, a->path, &st, &a->ptr.oid);
			s.files++;
			s.bytes += a->ptr.size;
		}
		a->ptr.kind = o->kind_given ? o->kind : had_old ? old.kind : MLV_KIND_DATA;
		if (had_old) {
			mlv_buf_add(&a->ptr.extra, old.extra.ptr, old.extra.len);
			a->unchanged = same_pointer(&old, &a->ptr);
		}
		mlv_pointer_release(&old);
		if (ret < 0)
			goto fail;
	}
	/* Objects first, durable; only then the pointers that name them. */
	if ((ret = mlv_store_writer_commit(w)) < 0)
		goto fail;
	for (i = 0; i < n; i++)
		if ((ret = write_pointer(&res[i])) < 0)
			goto fail;
	ret = scan_flush_cache(&s);
fail:
	scan_release(&s);
	mlv_store_writer_free(w);
	if (ret < 0) {
		mlv_add_results_free(res, n);
		return ret;
	}
	*out = res;
	*nr = n;
	return 0;
fail_early:
	mlv_add_results_free(res, n);
	return ret;
}
