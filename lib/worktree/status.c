#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/fs.h"
#include "mlv/worktree.h"
#include "worktree/scan.h"

/*
 * The entry that `rel` (a path inside the tree `root`, named `base` in
 * messages) has in the stored tree: 1 and `mode`, `oid` set, or 0 when the
 * stored tree has no such entry.
 */
static int stored_entry(struct mlv_store *store, const struct mlv_oid *root, const char *base,
			const char *rel, uint32_t *mode, struct mlv_oid *oid)
{
	struct mlv_buf what = MLV_BUF_INIT;
	struct mlv_tree t = MLV_TREE_INIT;
	struct mlv_oid cur = *root;
	int ret = 0;

	mlv_buf_adds(&what, base);
	for (const char *p = rel; *p;) {
		size_t len = strcspn(p, "/");
		const char *comp = p;
		const struct mlv_tree_entry *e;
		char *name = mlv_strndup(p, len);

		if ((ret = mlv_tree_load(store, &cur, what.ptr, &t)) < 0) {
			free(name);
			break;
		}
		e = mlv_tree_find(&t, name);
		free(name);
		p += len;
		if (*p == '/')
			p++;
		/* Missing, or a file where the path goes on below it. */
		if (!e || (*p && e->mode != MLV_MODE_DIR)) {
			ret = 0;
			break;
		}
		cur = e->oid;
		*mode = e->mode;
		*oid = e->oid;
		mlv_buf_addf(&what, "/%.*s", (int)len, comp);
		ret = 1;
	}
	mlv_tree_release(&t);
	mlv_buf_release(&what);
	return ret;
}

static void report(const struct mlv_wt_callbacks *cb, const char *artifact, const char *path,
		   int what)
{
	if (cb && cb->change)
		cb->change(cb->ctx, artifact, path, what);
}

/*
 * The state of a->within, a file or directory inside tracked directory
 * a->path (which exists), against the stored tree.
 */
static int status_within(struct scan *s, const struct mlv_artifact *a, unsigned *state)
{
	const char *rel = a->within + strlen(a->path) + 1;
	struct mlv_oid stored, id;
	uint32_t mode = 0;
	uint64_t size, files;
	struct stat st;
	int found, exists, ret;

	if (a->ptr.type != MLV_PTYPE_DIR)
		return mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv ('%s' is a tracked "
				     "file)", a->within, a->path);
	if ((found = stored_entry(s->store, &a->ptr.oid, a->path, rel, &mode, &stored)) < 0)
		return found;
	ret = mlv_fs_lstat(s->topfd, a->within, &st);
	if (ret == MLV_ENOTFOUND || (ret == MLV_EINVALID && found)) {
		/* Gone, or a file now stands where a directory on its way was. */
		mlv_error_clear();
		exists = 0;
	} else if (ret < 0) {
		return ret;
	} else {
		exists = 1;
		if (S_ISLNK(st.st_mode) && s->dereference) {
			const char *base;
			int fd = mlv_fs_open_parent(s->topfd, a->within, 0, &base);

			if (fd < 0)
				return fd;
			ret = fstatat(fd, base, &st, 0);
			close(fd);
			if (ret < 0)
				return mlv_error_set_errno(MLV_EIO, "cannot follow symbolic link '%s'",
							   a->within);
		}
		if (scan_untrackable(a->path, a->within, mlv_path_basename(a->within), &st))
			exists = 0;
	}
	if (!found && !exists)
		return mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv: tracked directory "
				     "'%s' has no such file", a->within, a->path);
	s->diff = 1;
	if (!exists) {
		*state |= MLV_ST_MODIFIED;
		if (mode == MLV_MODE_DIR)
			return scan_report_tree(s, &stored, a->within, 'D');
		report(s->cb, a->path, a->within, 'D');
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (found && mode != MLV_MODE_DIR)
			report(s->cb, a->path, a->within, 'T');
		scan_prefetch(s, a->within, scan_default_threads());
		ret = scan_dir(s, a->path, a->within, found && mode == MLV_MODE_DIR ? &stored : NULL,
			       &id, &size, &files);
		if (!ret && (!found || mode != MLV_MODE_DIR || mlv_oid_cmp(&id, &stored)))
			*state |= MLV_ST_MODIFIED;
		return ret;
	}
	if (found && mode == MLV_MODE_DIR) {
		*state |= MLV_ST_MODIFIED;
		report(s->cb, a->path, a->within, 'T');
		return 0;
	}
	if ((ret = scan_file(s, a->within, &st, &id)) < 0)
		return ret;
	if (!found)
		report(s->cb, a->path, a->within, 'A');
	else if (mlv_oid_cmp(&id, &stored) || mode != mlv_tree_mode(&st))
		report(s->cb, a->path, a->within, 'M');
	else
		return 0;
	*state |= MLV_ST_MODIFIED;
	return 0;
}

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
		/* A conflict is never committed, whatever git's HEAD holds. */
		if (a->conflicted)
			*state |= MLV_ST_CONFLICT | MLV_ST_UNCOMMITTED;
		else if (mlv_repo_git_committed(r, a->pointer) != 1)
			*state |= MLV_ST_UNCOMMITTED;
		return 0;
	}
	if ((ret = mlv_repo_store(&store, r)) < 0)
		return ret;
	if (mlv_repo_git_committed(r, a->pointer) != 1)
		*state |= MLV_ST_UNCOMMITTED;
	stored = a->ptr.type == MLV_PTYPE_DIR ? mlv_store_has(store, &a->ptr.oid) :
						mlv_store_has_blob(store, &a->ptr.oid);
	if (stored < 0)
		return stored;
	if (!stored)
		*state |= MLV_ST_NOT_STORED;
	if ((ret = mlv_fs_lstat(r->topfd, a->path, &st)) < 0) {
		if (ret != MLV_ENOTFOUND)
			return ret;
		mlv_error_clear();
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
	s.dereference = mlv_add_dereferenced(&a->ptr);
	if (a->within) {
		/* Without the stored tree there is nothing to compare the part with. */
		ret = stored ? status_within(&s, a, state) : 0;
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		scan_prefetch(&s, a->path, scan_default_threads());
		s.diff = stored;
		ret = scan_dir(&s, a->path, a->path, stored ? &a->ptr.oid : NULL, &id, &size, &files);
	} else {
		ret = scan_file(&s, a->path, &st, &id);
		/* A file that gained or lost its executable bit changed, as in git. */
		if (!ret && !!(st.st_mode & 0111) != !!a->ptr.exec)
			*state |= MLV_ST_MODIFIED;
	}
	if (!ret && mlv_oid_cmp(&id, &a->ptr.oid))
		*state |= MLV_ST_MODIFIED;
done:
	/* Remember what we hashed, so the next status is a stat walk. */
	if (!ret && s.nr_updates && scan_flush_cache(&s) < 0)
		mlv_error_clear();
	scan_release(&s);
	return ret;
}
