/*
 * mlv hash: the id a path would get, storing nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "mlv/worktree.h"
#include "worktree/scan.h"

int mlv_hash_path(struct mlv_oid *out, uint64_t *size, uint64_t *files, struct mlv_store *store,
		  const char *path, const struct mlv_wt_callbacks *cb)
{
	struct scan s;
	struct stat st;
	int ret;

	if (lstat(path, &st) < 0)
		return mlv_error_set_errno(errno == ENOENT ? MLV_ENOTFOUND : MLV_EIO,
					   "cannot stat '%s'", path);
	scan_init(&s, AT_FDCWD, store, NULL, cb);
	if (S_ISDIR(st.st_mode)) {
		scan_prefetch(&s, path, scan_default_threads());
		ret = scan_dir(&s, path, path, NULL, out, size, files);
	} else if (S_ISREG(st.st_mode)) {
		ret = scan_file(&s, path, &st, out);
		*size = (uint64_t)st.st_size;
		*files = 1;
	} else {
		ret = mlv_error_set(MLV_EINVALID, "'%s' is not a regular file or directory", path);
	}
	scan_release(&s);
	return ret;
}
