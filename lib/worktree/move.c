/*
 * mlv rm and mlv mv.  Every path is resolved from the work tree's
 * directory fd without following a symlink (mlv/fs.h); pointer files are
 * changed only while their lock is held (mlv/lock.h); rm deletes only
 * what the stored tree lists, after checking that the store holds an
 * intact copy of it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/fs.h"
#include "mlv/gitignore.h"
#include "mlv/lock.h"
#include "mlv/path.h"
#include "mlv/tree.h"
#include "mlv/worktree.h"

static int same_pointer(const struct mlv_pointer *a, const struct mlv_pointer *b)
{
	return !mlv_oid_cmp(&a->oid, &b->oid) && a->size == b->size && a->kind == b->kind &&
	       a->type == b->type && a->files == b->files;
}

/*
 * Lock `a`'s pointer file and read it again under the lock: it must still
 * be a valid pointer saying what `a` says (a file that does not parse as
 * a pointer is never deleted or replaced).  `cur` receives it.
 */
static int lock_pointer(struct mlv_lock *l, struct mlv_pointer *cur, struct mlv_repo *r,
			const struct mlv_artifact *a)
{
	int ret;

	if (a->error)
		return mlv_error_set(MLV_EINVALID, "%s", a->error);
	if ((ret = mlv_path_check(a->path, 1, a->pointer)) < 0)
		return ret;
	if ((ret = mlv_lock_acquire(l, r->topfd, a->pointer, MLV_LOCK_TIMEOUT_MS)) < 0)
		return ret;
	ret = mlv_pointer_read_at(cur, r->topfd, a->pointer);
	if (!ret && !same_pointer(cur, &a->ptr))
		ret = mlv_error_set(MLV_ECONFLICT, "'%s' changed while mlv was reading it",
				    a->pointer);
	if (ret < 0)
		mlv_lock_release(l);
	return ret;
}

/* Delete the pointer file held by `l` (the lock protocol), then release the lock. */
static int delete_locked(struct mlv_lock *l, struct mlv_repo *r, const char *pointer)
{
	int ret = mlv_fs_unlink(r->topfd, pointer, 0);

	if (!ret && fsync(l->dirfd) < 0 && errno != EINVAL)
		ret = mlv_error_set_errno(MLV_EIO, "cannot fsync the directory of '%s'", pointer);
	mlv_lock_release(l);
	return ret;
}

static int gitignore_edit(struct mlv_repo *r, const char *path, int add)
{
	struct mlv_buf dir = MLV_BUF_INIT;
	int ret;

	mlv_path_dirname(&dir, path);
	if (add)
		ret = mlv_gitignore_add_at(r->topfd, dir.ptr, mlv_path_basename(path));
	else
		ret = mlv_gitignore_remove_at(r->topfd, dir.ptr, mlv_path_basename(path));
	mlv_buf_release(&dir);
	if (ret == MLV_ENOTFOUND && !add) {
		mlv_error_clear();
		ret = 0;
	}
	return ret;
}

/* The stat cache rows of `path` go, or move to `moved_to`. */
static int statcache_drop(struct mlv_store *s, const char *path, const char *moved_to)
{
	int ret;

	if ((ret = mlv_statcache_begin(s)) < 0)
		return ret;
	if (moved_to)
		ret = mlv_statcache_rename(s, path, moved_to);
	else
		ret = mlv_statcache_delete(s, path);
	return mlv_statcache_end(s, ret == 0) < 0 && !ret ? -1 : ret;
}

/* What rm will delete, decided before the first byte goes. */
struct rm_plan {
	struct mlv_repo *r;
	struct mlv_store *s;
	const struct mlv_artifact *a;
	const struct mlv_wt_callbacks *cb;
	int force;
	char **files; /* files and symlinks */
	size_t nr_files, alloc_files;
	char **dirs; /* directories, each after everything below it */
	size_t nr_dirs, alloc_dirs;
	size_t conflicts, corrupt, left;
	char *corrupt_msg;
};

static void plan_release(struct rm_plan *p)
{
	for (size_t i = 0; i < p->nr_files; i++)
		free(p->files[i]);
	for (size_t i = 0; i < p->nr_dirs; i++)
		free(p->dirs[i]);
	free(p->files);
	free(p->dirs);
	free(p->corrupt_msg);
}

static void note(struct rm_plan *p, const char *path, int what)
{
	if (p->cb && p->cb->change)
		p->cb->change(p->cb->ctx, p->a->path, path, what);
}

static void leave(struct rm_plan *p, const char *path)
{
	p->left++;
	note(p, path, 'U');
}

/* The blob id of what is at `name` in `dfd` (a file's content or a link's target). */
static int disk_id(struct rm_plan *p, int dfd, const char *name, const char *path,
		   const struct stat *st, struct mlv_oid *id)
{
	struct mlv_stat ms;
	uint64_t size;
	int fd, ret;

	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX + 1];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target));

		if (n < 0 || (size_t)n >= sizeof(target))
			return mlv_error_set_errno(MLV_EIO, "cannot read symbolic link '%s'", path);
		mlv_hash_buf(id, target, (size_t)n);
		return 0;
	}
	mlv_stat_from(&ms, st);
	if ((ret = mlv_statcache_lookup(p->s, path, &ms, id)) != 0)
		return ret < 0 ? ret : 0;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot open '%s'", path);
	ret = mlv_blob_hash_fd(id, &size, fd, path);
	close(fd);
	return ret;
}

/*
 * A file or symlink mlv tracks at `path`: delete it if its content is in
 * the store and the stored copy is intact (or with --force).
 */
static int plan_file(struct rm_plan *p, int dfd, const char *name, const char *path,
		     const struct stat *st)
{
	struct mlv_oid id;
	int ret;

	if (!p->force) {
		if ((ret = disk_id(p, dfd, name, path, st, &id)) < 0)
			return ret;
		/* Present, then read back in full: a damaged copy is not a copy. */
		if ((ret = mlv_store_has(p->s, &id)) < 0)
			return ret;
		if (!ret) {
			p->conflicts++;
			note(p, path, 'C');
			return 0;
		}
		if ((ret = mlv_store_verify_blob(p->s, &id)) < 0) {
			if (ret != MLV_ECORRUPT && ret != MLV_ENOTFOUND && ret != MLV_EINVALID)
				return ret;
			if (!p->corrupt_msg)
				p->corrupt_msg = mlv_strdup(mlv_error_last());
			p->corrupt++;
			note(p, path, 'C');
			return 0;
		}
	}
	MLV_ALLOC_GROW(p->files, p->nr_files + 1, p->alloc_files);
	p->files[p->nr_files++] = mlv_strdup(path);
	return 0;
}

/* The names in directory `dfd`, sorted (the fd stays open). */
static int read_names(int dfd, const char *path, char ***out, size_t *nr)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	char **v = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	DIR *d;
	int ret = 0;

	*out = NULL;
	*nr = 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return mlv_error_set_errno(MLV_EIO, "cannot read directory '%s'", path);
	}
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		MLV_ALLOC_GROW(v, n + 1, alloc);
		v[n++] = mlv_strdup(de->d_name);
	}
	if (errno)
		ret = mlv_error_set_errno(MLV_EIO, "cannot read directory '%s'", path);
	closedir(d);
	*out = v;
	*nr = n;
	return ret;
}

static int plan_dir(struct rm_plan *p, const char *path, const struct mlv_oid *tree, int depth)
{
	struct mlv_tree t = MLV_TREE_INIT;
	struct mlv_buf sub = MLV_BUF_INIT;
	char **names = NULL;
	size_t n = 0;
	int dfd, ret;

	if (depth > MLV_PATH_MAX / 2)
		return mlv_error_set(MLV_EINVALID, "'%s' is nested too deeply", path);
	if ((dfd = mlv_fs_open(p->r->topfd, path, O_RDONLY | O_DIRECTORY, 0)) < 0)
		return dfd;
	if ((ret = mlv_tree_load(p->s, tree, path, &t)) < 0 ||
	    (ret = read_names(dfd, path, &names, &n)) < 0)
		goto done;
	for (size_t i = 0; i < n && !ret; i++) {
		const struct mlv_tree_entry *e = mlv_tree_find(&t, names[i]);
		struct stat st;

		mlv_buf_reset(&sub);
		mlv_buf_addf(&sub, "%s/%s", path, names[i]);
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				ret = mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", sub.ptr);
			continue;
		}
		if (!e) {
			leave(p, sub.ptr); /* not in the stored tree: not ours */
		} else if (e->mode == MLV_MODE_DIR) {
			if (S_ISDIR(st.st_mode))
				ret = plan_dir(p, sub.ptr, &e->oid, depth + 1);
			else
				leave(p, sub.ptr);
		} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
			ret = plan_file(p, dfd, names[i], sub.ptr, &st);
		} else {
			leave(p, sub.ptr); /* a FIFO, socket or directory where a file was */
		}
	}
	if (!ret) {
		MLV_ALLOC_GROW(p->dirs, p->nr_dirs + 1, p->alloc_dirs);
		p->dirs[p->nr_dirs++] = mlv_strdup(path);
	}
done:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	mlv_tree_release(&t);
	mlv_buf_release(&sub);
	close(dfd);
	return ret;
}

static int plan_artifact(struct rm_plan *p, const struct mlv_pointer *ptr)
{
	const char *base;
	struct stat st;
	int dfd, ret = mlv_fs_lstat(p->r->topfd, p->a->path, &st);

	if (ret == MLV_ENOTFOUND) {
		mlv_error_clear();
		return 0;
	}
	if (ret < 0)
		return ret;
	if (ptr->type == MLV_PTYPE_DIR && S_ISDIR(st.st_mode))
		return plan_dir(p, p->a->path, &ptr->oid, 0);
	if (ptr->type == MLV_PTYPE_DIR || !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
		leave(p, p->a->path);
		return 0;
	}
	if ((dfd = mlv_fs_open_parent(p->r->topfd, p->a->path, 0, &base)) < 0)
		return dfd;
	ret = plan_file(p, dfd, base, p->a->path, &st);
	close(dfd);
	return ret;
}

static int rmdir_if_empty(struct rm_plan *p, const char *path)
{
	const char *base;
	int fd = mlv_fs_open_parent(p->r->topfd, path, 0, &base), ret = 0;

	if (fd < 0)
		return fd;
	if (unlinkat(fd, base, AT_REMOVEDIR) < 0 && errno != ENOENT &&
	    errno != ENOTEMPTY && errno != EEXIST)
		ret = mlv_error_set_errno(MLV_EIO, "cannot remove directory '%s'", path);
	close(fd);
	return ret;
}

static int plan_execute(struct rm_plan *p)
{
	int ret = 0;

	for (size_t i = 0; i < p->nr_files && !ret; i++)
		ret = mlv_fs_unlink(p->r->topfd, p->files[i], 0);
	for (size_t i = 0; i < p->nr_dirs && !ret; i++)
		ret = rmdir_if_empty(p, p->dirs[i]);
	return ret;
}

static int pointer_copy(struct mlv_pointer *out, const struct mlv_pointer *p, const char *name)
{
	struct mlv_buf b = MLV_BUF_INIT;
	int ret;

	mlv_pointer_format(&b, p);
	ret = mlv_pointer_parse(out, b.ptr, b.len, name);
	mlv_buf_release(&b);
	return ret;
}

/*
 * `gone`: git has already removed the pointer file; it must still be
 * absent under its lock, and the data is checked against a->ptr.
 */
static int rm_artifact(struct mlv_repo *r, const struct mlv_artifact *a, int keep, int force,
		       const struct mlv_wt_callbacks *cb, size_t *left, int gone)
{
	struct mlv_lock l = MLV_LOCK_INIT;
	struct mlv_pointer cur;
	struct rm_plan p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.r = r;
	p.a = a;
	p.cb = cb;
	p.force = force;
	mlv_pointer_init(&cur);
	if (left)
		*left = 0;
	if (gone) {
		if (a->error)
			ret = mlv_error_set(MLV_EINVALID, "%s", a->error);
		else if (!(ret = mlv_path_check(a->path, 1, a->pointer)))
			ret = mlv_lock_acquire(&l, r->topfd, a->pointer, MLV_LOCK_TIMEOUT_MS);
		if (!ret && (ret = mlv_fs_exists(r->topfd, a->pointer)) > 0)
			ret = mlv_error_set(MLV_ECONFLICT, "'%s' exists again", a->pointer);
		if (ret < 0)
			goto done;
		ret = pointer_copy(&cur, &a->ptr, a->pointer);
	} else {
		ret = lock_pointer(&l, &cur, r, a);
	}
	if (ret < 0 || (ret = mlv_repo_store(&p.s, r)) < 0)
		goto done;
	if (!keep) {
		if ((ret = mlv_statcache_load_prefix(p.s, a->path)) < 0 ||
		    (ret = plan_artifact(&p, &cur)) < 0)
			goto done;
		if (p.corrupt) {
			ret = mlv_error_set(MLV_ECORRUPT, "'%s': the stored copy of %zu file%s is "
					    "damaged (%s); refusing to delete the only good copy",
					    a->path, p.corrupt, p.corrupt == 1 ? "" : "s",
					    p.corrupt_msg);
			goto done;
		}
		if (p.conflicts) {
			ret = mlv_error_set(MLV_ECONFLICT, "'%s' has content that is not in the store "
					    "(%zu file%s)", a->path, p.conflicts,
					    p.conflicts == 1 ? "" : "s");
			goto done;
		}
		/* The pointer stays until the data is gone: a crash leaves it restorable. */
		if ((ret = plan_execute(&p)) < 0)
			goto done;
	}
	/* Git owns .gitignore when it removed the pointer itself. */
	if (!gone && ((ret = delete_locked(&l, r, a->pointer)) < 0 ||
		      (ret = gitignore_edit(r, a->path, 0)) < 0))
		goto done;
	ret = statcache_drop(p.s, a->path, NULL);
done:
	if (left)
		*left = p.left;
	mlv_lock_release(&l);
	mlv_pointer_release(&cur);
	plan_release(&p);
	return ret;
}

int mlv_rm(struct mlv_repo *r, const struct mlv_artifact *a, int keep, int force,
	   const struct mlv_wt_callbacks *cb, size_t *left)
{
	return rm_artifact(r, a, keep, force, cb, left, 0);
}

int mlv_rm_gone(struct mlv_repo *r, const struct mlv_artifact *a,
		const struct mlv_wt_callbacks *cb, size_t *left)
{
	return rm_artifact(r, a, 0, 0, cb, left, 1);
}

int mlv_mv(struct mlv_repo *r, const struct mlv_artifact *a, const char *dst)
{
	struct mlv_lock src_lock = MLV_LOCK_INIT, dst_lock = MLV_LOCK_INIT;
	struct mlv_buf dptr = MLV_BUF_INIT, dir = MLV_BUF_INIT;
	struct mlv_pointer cur;
	struct mlv_store *s;
	struct stat st;
	size_t srclen = strlen(a->path);
	int ret = 0, have_data, moved = 0, ignored = 0;

	mlv_pointer_init(&cur);
	if (a->error)
		return mlv_error_set(MLV_EINVALID, "%s", a->error);
	if (!*dst || !strcmp(dst, a->path))
		return mlv_error_set(MLV_EINVALID, "cannot move '%s' to '%s'", a->path, *dst ? dst : ".");
	if ((ret = mlv_path_check(a->path, 1, a->pointer)) < 0 ||
	    (ret = mlv_path_check(dst, 1, "destination")) < 0)
		return ret;
	if (strchr(dst, '\n'))
		return mlv_error_set(MLV_EINVALID, "'%s': a tracked path cannot contain a newline", dst);
	if (!strncmp(dst, a->path, srclen) && dst[srclen] == '/')
		return mlv_error_set(MLV_EINVALID, "cannot move '%s' into itself", a->path);
	mlv_buf_addf(&dptr, "%s%s", dst, MLV_POINTER_SUFFIX);

	if ((ret = mlv_artifact_containing_at(&dir, r->topfd, dst, 0)) != 0) {
		if (ret > 0)
			ret = mlv_error_set(MLV_EINVALID, "'%s' is inside a tracked directory", dst);
		goto done;
	}
	mlv_path_dirname(&dir, dst);
	if (dir.len && ((ret = mlv_fs_lstat(r->topfd, dir.ptr, &st)) < 0 || !S_ISDIR(st.st_mode))) {
		if (ret == MLV_ENOTFOUND)
			ret = mlv_error_set(MLV_ENOTFOUND, "destination directory '%s' does not exist",
					    dir.ptr);
		else if (!ret && S_ISLNK(st.st_mode))
			ret = mlv_error_set(MLV_EINVALID, "'%s' is beyond a symbolic link ('%s')",
					    dst, dir.ptr);
		else if (!ret)
			ret = mlv_error_set(MLV_EINVALID, "destination '%s' is not a directory",
					    dir.ptr);
		goto done;
	}
	/* The source, never through a symlink (its parents may not be one either). */
	ret = mlv_fs_lstat(r->topfd, a->path, &st);
	if (ret < 0 && ret != MLV_ENOTFOUND)
		goto done;
	have_data = !ret;
	mlv_error_clear();
	if ((ret = mlv_fs_exists(r->topfd, dst)) != 0 ||
	    (ret = mlv_fs_exists(r->topfd, dptr.ptr)) != 0) {
		if (ret > 0)
			ret = mlv_error_set(MLV_EEXISTS, "destination '%s' exists", dst);
		goto done;
	}

	if ((ret = lock_pointer(&src_lock, &cur, r, a)) < 0 ||
	    (ret = mlv_lock_acquire(&dst_lock, r->topfd, dptr.ptr, MLV_LOCK_TIMEOUT_MS)) < 0)
		goto done;
	if ((ret = mlv_fs_exists(r->topfd, dptr.ptr)) != 0) {
		if (ret > 0)
			ret = mlv_error_set(MLV_EEXISTS, "destination '%s' exists", dptr.ptr);
		goto done;
	}
	/*
	 * Ignore the new name before data appears there; write the new
	 * pointer after the data moved, and drop the old one last.  A crash
	 * in between leaves both pointers (or the old one with its data
	 * gone): 'mlv checkout' restores either, nothing is lost.
	 */
	if ((ret = gitignore_edit(r, dst, 1)) < 0)
		goto done;
	ignored = 1;
	if (have_data && (ret = mlv_fs_rename(r->topfd, a->path, dst, 1)) < 0)
		goto done;
	moved = have_data;
	if ((ret = mlv_pointer_write_locked(&dst_lock, &cur)) < 0)
		goto done;
	moved = ignored = 0;
	if ((ret = delete_locked(&src_lock, r, a->pointer)) < 0 ||
	    (ret = gitignore_edit(r, a->path, 0)) < 0 ||
	    (ret = mlv_repo_store(&s, r)) < 0)
		goto done;
	ret = statcache_drop(s, a->path, dst);
done:
	if (moved || ignored) {
		/* Undo, keeping the first error. */
		struct mlv_error_state es;

		mlv_error_state_capture(&es, ret);
		if (moved)
			mlv_fs_rename(r->topfd, dst, a->path, 1);
		if (ignored)
			gitignore_edit(r, dst, 0);
		ret = mlv_error_state_restore(&es);
	}
	mlv_lock_release(&dst_lock);
	mlv_lock_release(&src_lock);
	mlv_pointer_release(&cur);
	mlv_buf_release(&dptr);
	mlv_buf_release(&dir);
	return ret;
}
