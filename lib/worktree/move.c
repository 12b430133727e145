#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/gitignore.h"
#include "mlv/path.h"
#include "mlv/worktree.h"

static int remove_tree(const char *path)
{
	struct stat st;
	int ret = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		struct mlv_buf sub = MLV_BUF_INIT;

		if (!d)
			return mlv_error_set_errno(MLV_EIO, "cannot open directory '%s'", path);
		while (!ret && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			mlv_buf_reset(&sub);
			mlv_buf_addf(&sub, "%s/%s", path, de->d_name);
			ret = remove_tree(sub.ptr);
		}
		closedir(d);
		mlv_buf_release(&sub);
		if (!ret && rmdir(path) < 0)
			ret = mlv_error_set_errno(MLV_EIO, "cannot remove directory '%s'", path);
		return ret;
	}
	if (unlink(path) < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot remove '%s'", path);
	return 0;
}

/* Drop the pointer and .gitignore entry; the stat cache rows go, or move to `moved_to`. */
static int untrack(struct mlv_repo *r, const struct mlv_artifact *a, const char *moved_to)
{
	struct mlv_buf dir = MLV_BUF_INIT;
	struct mlv_store *s;
	int ret;

	if (unlink(a->pointer) < 0 && errno != ENOENT)
		return mlv_error_set_errno(MLV_EIO, "cannot remove '%s'", a->pointer);
	mlv_path_dirname(&dir, a->path);
	ret = mlv_gitignore_remove(dir.len ? dir.ptr : ".", mlv_path_basename(a->path));
	mlv_buf_release(&dir);
	if (ret < 0 && ret != MLV_ENOTFOUND)
		return ret;
	if ((ret = mlv_repo_store(&s, r)) < 0)
		return ret;
	if ((ret = mlv_statcache_begin(s)) < 0)
		return ret;
	if (moved_to)
		ret = mlv_statcache_rename(s, a->path, moved_to);
	else
		ret = mlv_statcache_delete(s, a->path);
	return mlv_statcache_end(s, ret == 0) < 0 && !ret ? -1 : ret;
}

int mlv_rm(struct mlv_repo *r, const struct mlv_artifact *a, int keep, int force)
{
	unsigned state = 0;
	struct stat st;
	int ret;

	if (a->error && !force)
		return mlv_error_set(MLV_EINVALID, "%s", a->error);
	if ((ret = mlv_path_check_parents(a->path)) < 0)
		return ret;
	if (!keep && !force && !lstat(a->path, &st)) {
		if ((ret = mlv_status_artifact(r, a, NULL, &state)) < 0)
			return ret;
		if (state & (MLV_ST_MODIFIED | MLV_ST_NOT_STORED | MLV_ST_TYPE))
			return mlv_error_set(MLV_ECONFLICT, "'%s' has content that is not in the store",
					     a->path);
	}
	if (!keep && (ret = remove_tree(a->path)) < 0)
		return ret;
	return untrack(r, a, NULL);
}

int mlv_mv(struct mlv_repo *r, const struct mlv_artifact *a, const char *dst)
{
	struct mlv_buf dptr = MLV_BUF_INIT, dir = MLV_BUF_INIT;
	struct stat st;
	int ret = 0, have_data;

	if (a->error)
		return mlv_error_set(MLV_EINVALID, "%s", a->error);
	if (!*dst || !strcmp(dst, a->path))
		return mlv_error_set(MLV_EINVALID, "cannot move '%s' to '%s'", a->path, *dst ? dst : ".");
	mlv_buf_addf(&dptr, "%s%s", dst, MLV_POINTER_SUFFIX);
	if (!lstat(dst, &st) || !lstat(dptr.ptr, &st)) {
		ret = mlv_error_set(MLV_EEXISTS, "destination '%s' exists", dst);
		goto done;
	}
	if ((ret = mlv_path_check_parents(dst)) < 0)
		goto done;
	if (strchr(dst, '\n')) {
		ret = mlv_error_set(MLV_EINVALID, "'%s': a tracked path cannot contain a newline", dst);
		goto done;
	}
	if (!strncmp(dst, a->path, strlen(a->path)) && dst[strlen(a->path)] == '/') {
		ret = mlv_error_set(MLV_EINVALID, "cannot move '%s' into itself", a->path);
		goto done;
	}
	if (mlv_artifact_containing(&dir, dst, 0)) {
		ret = mlv_error_set(MLV_EINVALID, "'%s' is inside a tracked directory", dst);
		goto done;
	}
	mlv_buf_reset(&dir);
	mlv_path_dirname(&dir, dst);
	if (dir.len && (lstat(dir.ptr, &st) < 0 || !S_ISDIR(st.st_mode))) {
		ret = mlv_error_set(MLV_ENOTFOUND, "destination directory '%s' does not exist", dir.ptr);
		goto done;
	}
	have_data = !lstat(a->path, &st);
	if (have_data && rename(a->path, dst) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot move '%s' to '%s'", a->path, dst);
		goto done;
	}
	if ((ret = mlv_pointer_write(dptr.ptr, &a->ptr)) < 0 ||
	    (ret = mlv_gitignore_add(dir.len ? dir.ptr : ".", mlv_path_basename(dst))) < 0)
		goto done;
	ret = untrack(r, a, dst);
done:
	mlv_buf_release(&dptr);
	mlv_buf_release(&dir);
	return ret;
}
