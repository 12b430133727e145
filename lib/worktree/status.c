#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "mlv/worktree.h"
#include "worktree/scan.h"

int mlv_status_artifact(struct mlv_repo *r, const struct mlv_artifact *a,
			const struct mlv_wt_callbacks *cb, unsigned *state)
{
	struct mlv_store *store;
	struct stat st;
	struct mlv_oid id;
	uint64_t size = 0, files = 0;
	struct scan s;
	int ret, stored;

	*state = 0;
	if (a->error) {
		*state = MLV_ST_BAD_POINTER;
		return 0;
	}
	if ((ret = mlv_repo_store(&store, r)) < 0)
		return ret;
	if (!mlv_repo_git_committed(r, a->pointer))
		*state |= MLV_ST_UNCOMMITTED;
	stored = a->ptr.type == MLV_PTYPE_DIR ? mlv_store_has(store, &a->ptr.oid) :
						mlv_store_has_blob(store, &a->ptr.oid);
	if (stored < 0)
		return stored;
	if (!stored)
		*state |= MLV_ST_NOT_STORED;
	if (lstat(a->path, &st) < 0) {
		if (errno != ENOENT)
			return mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", a->path);
		*state |= MLV_ST_MISSING;
		return 0;
	}
	if (S_ISDIR(st.st_mode) != (a->ptr.type == MLV_PTYPE_DIR) ||
	    (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))) {
		*state |= MLV_ST_TYPE | MLV_ST_MODIFIED;
		return 0;
	}
	scan_init(&s, r->topfd, store, NULL, cb);
	s.artifact = a->path;
	if (S_ISDIR(st.st_mode)) {
		scan_prefetch(&s, a->path, scan_default_threads());
		s.diff = stored;
		ret = scan_dir(&s, a->path, a->path, stored ? &a->ptr.oid : NULL, &id, &size, &files);
	} else {
		ret = scan_file(&s, a->path, &st, &id);
	}
	if (!ret && mlv_oid_cmp(&id, &a->ptr.oid))
		*state |= MLV_ST_MODIFIED;
	/* Remember what we hashed, so the next status is a stat walk. */
	if (!ret && s.nr_updates && scan_flush_cache(&s) < 0)
		mlv_error_clear();
	scan_release(&s);
	return ret;
}
