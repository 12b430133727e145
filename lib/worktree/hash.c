/*
 * mlv hash: the id a path would get, storing nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "mlv/fs.h"
#include "mlv/worktree.h"
#include "worktree/scan.h"

int mlv_hash_path_at(struct mlv_oid *out, uint64_t *size, uint64_t *files,
		     struct mlv_store *store, int dirfd, const char *path, int dereference,
		     const struct mlv_wt_callbacks *cb)
{
	struct scan s;
	struct stat st;
	int ret;

	*size = *files = 0;
	if ((ret = mlv_fs_lstat(dirfd, path, &st)) < 0)
		return ret;
	scan_init(&s, dirfd, store, NULL, cb);
	s.dereference = dereference;
	if (S_ISDIR(st.st_mode)) {
		scan_prefetch(&s, path, scan_default_threads());
		ret = scan_dir(&s, path, path, NULL, out, size, files);
	} else if (S_ISREG(st.st_mode)) {
		ret = scan_file_size(&s, path, &st, out, size);
		*files = 1;
	} else {
		ret = mlv_error_set(MLV_EINVALID, "'%s' is not a regular file or directory", path);
	}
	scan_release(&s);
	return ret;
}

int mlv_hash_path(struct mlv_oid *out, uint64_t *size, uint64_t *files, struct mlv_store *store,
		  const char *path, const struct mlv_wt_callbacks *cb)
{
	return mlv_hash_path_at(out, size, files, store, AT_FDCWD, path, 0, cb);
}

int mlv_hash_path_cached(struct mlv_oid *out, struct mlv_store *store, int topfd, const char *path)
{
	struct scan s;
	struct stat st;
	uint64_t size, files;
	int ret;

	if ((ret = mlv_fs_lstat(topfd, path, &st)) < 0)
		return ret == MLV_ENOTFOUND ? (mlv_error_clear(), 0) : ret;
	scan_init(&s, topfd, store, NULL, NULL);
	s.cached_only = 1;
	if (S_ISDIR(st.st_mode))
		ret = scan_dir(&s, path, path, NULL, out, &size, &files);
	else if (S_ISREG(st.st_mode))
		ret = scan_file_size(&s, path, &st, out, &size);
	else
		ret = MLV_ENOTFOUND;
	scan_release(&s);
	if (ret == MLV_ENOTFOUND) {
		mlv_error_clear();
		return 0;
	}
	return ret < 0 ? ret : 1;
}
