/*
 * mlv checkout: plan every change and verify every object first
 * (checkout-plan.c), refuse if anything would lose bytes that are not in
 * the store, then carry the plan out.
 *
 * Carrying it out never follows a symlink: each action opens the
 * directory that holds its path from the work tree's fd (kept open across
 * consecutive actions in one directory) and works on names inside it with
 * *at() calls.  Data goes to a registered temporary file in mlv's own
 * directory (beside the target when that is on another file system) and
 * is renamed into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/fileio.h"
#include "mlv/fs.h"
#include "mlv/lock.h"
#include "mlv/path.h"
#include "mlv/tempfile.h"
#include "worktree/checkout.h"

struct exec {
	struct checkout_plan *p;
	const struct mlv_artifact_list *list;
	struct scan *cache;     /* stat cache rows of what was written */

	int tmpfd;              /* mlv's temporary directory, -1 if unusable */
	dev_t tmpdev;

	char *dir;              /* the directory of the last action, or NULL */
	int dirfd;
	int beside;             /* temporary files go into dirfd itself */
	int no_tmpfile;         /* O_TMPFILE and linkat() do not work here */

	struct mlv_lock lock;   /* the pointer lock of the artifact being written */
	const char *locked;     /* its pointer path, or NULL */
	unsigned long seq;
};

static void close_dir(struct exec *x)
{
	if (x->dirfd >= 0)
		close(x->dirfd);
	x->dirfd = -1;
	free(x->dir);
	x->dir = NULL;
}

/* Open the directory holding `path` (made when missing); `*base` is its last component. */
static int open_dir(struct exec *x, const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;
	struct stat st;
	int fd;

	*base = slash ? slash + 1 : path;
	if (x->dir && strlen(x->dir) == len && !memcmp(x->dir, path, len))
		return 0;
	close_dir(x);
	if ((fd = mlv_fs_open_parent(x->p->repo->topfd, path, 1, base)) < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return mlv_error_set_errno(MLV_EIO, "cannot stat the directory of '%s'", path);
	}
	x->dirfd = fd;
	x->dir = mlv_strndup(path, len);
	x->beside = x->tmpfd < 0 || st.st_dev != x->tmpdev;
	return 0;
}

struct fd_sink {
	int fd;
	const char *path;
};

static int write_sink(void *ctx, const void *data, size_t len)
{
	struct fd_sink *s = ctx;

	return mlv_write_all(s->fd, data, len, s->path);
}

/*
 * A file that is not there yet is written as an unnamed file in its
 * directory (O_TMPFILE) and linked in when complete: no name to clean up
 * if the process dies, whatever the signal.  1 when done; 0 to fall back
 * to a named temporary file (not supported here, or a name appeared).
 */
static int write_unnamed(struct exec *x, const struct checkout_action *a, const char *base)
{
	char proc[64];
	struct fd_sink sink;
	int fd, ret;

	if (x->no_tmpfile)
		return 0;
	fd = openat(x->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC,
		    a->mode == MLV_MODE_EXEC ? 0777 : 0666);
	if (fd < 0) {
		x->no_tmpfile = 1;
		return 0;
	}
	sink.fd = fd;
	sink.path = a->path;
	ret = mlv_store_read_blob(x->p->store, &a->id, write_sink, &sink);
	if (!ret) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, x->dirfd, base, AT_SYMLINK_FOLLOW) == 0)
			ret = 1;
		else if (errno != EEXIST)
			x->no_tmpfile = 1;
	}
	if (close(fd) < 0 && ret >= 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot write '%s'", a->path);
	return ret;
}

static int write_regular(struct exec *x, const struct checkout_action *a, const char *base)
{
	struct mlv_tempfile *t = NULL;
	struct fd_sink sink;
	int fd = -1, ret;

	ret = mlv_tempfile_create(&t, &fd, x->beside ? x->dirfd : x->tmpfd,
				  x->beside ? MLV_TEMP_PREFIX : "",
				  a->mode == MLV_MODE_EXEC ? 0777 : 0666);
	if (ret < 0)
		return ret;
	sink.fd = fd;
	sink.path = a->path;
	ret = mlv_store_read_blob(x->p->store, &a->id, write_sink, &sink);
	if (close(fd) < 0 && !ret)
		ret = mlv_error_set_errno(MLV_EIO, "cannot write '%s'", a->path);
	if (!ret)
		ret = mlv_tempfile_rename(t, x->dirfd, base, a->path);
	if (ret == MLV_EUNSUPPORTED && !x->beside) {
		/* Another file system after all (a bind mount): write beside it. */
		mlv_error_clear();
		mlv_tempfile_remove(t);
		x->beside = 1;
		return write_regular(x, a, base);
	}
	if (ret < 0)
		mlv_tempfile_remove(t);
	return ret;
}

static int write_link(struct exec *x, const struct checkout_action *a, const char *base)
{
	int dfd = x->beside ? x->dirfd : x->tmpfd;
	struct mlv_buf name = MLV_BUF_INIT;
	struct mlv_tempfile *t = NULL;
	int ret = 0;

	for (int tries = 0;; tries++) {
		unsigned int rnd = 0;

		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
			rnd = (unsigned int)x->seq * 2654435761u;
		mlv_buf_reset(&name);
		mlv_buf_addf(&name, "%s%ld-l%lu-%08x", x->beside ? MLV_TEMP_PREFIX : "",
			     (long)getpid(), ++x->seq, rnd);
		/* Registered first, so that no signal can leave it behind. */
		t = mlv_tempfile_register(dfd, name.ptr);
		if (symlinkat(a->target, dfd, name.ptr) == 0)
			break;
		mlv_tempfile_forget(t);
		t = NULL;
		if (errno != EEXIST || tries > 100) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot create symlink '%s'", a->path);
			goto done;
		}
	}
	ret = mlv_tempfile_rename(t, x->dirfd, base, a->path);
	if (ret == MLV_EUNSUPPORTED && !x->beside) {
		mlv_error_clear();
		mlv_tempfile_remove(t);
		x->beside = 1;
		ret = write_link(x, a, base);
	} else if (ret < 0) {
		mlv_tempfile_remove(t);
	}
done:
	mlv_buf_release(&name);
	return ret;
}

static void remember(struct exec *x, const char *path, const struct stat *st,
		     const struct mlv_oid *id, int64_t recorded)
{
	struct scan *c = x->cache;
	struct scan_cache_update *u;

	MLV_ALLOC_GROW(c->updates, c->nr_updates + 1, c->alloc_updates);
	u = &c->updates[c->nr_updates++];
	u->path = mlv_strdup(path);
	mlv_stat_from(&u->st, st);
	u->id = *id;
	u->recorded_ns = recorded;
}

static int do_write(struct exec *x, const struct checkout_action *a, const char *base)
{
	int64_t recorded = mlv_now_ns();
	struct stat st;
	int ret;

	if (a->mode == MLV_MODE_LINK)
		ret = write_link(x, a, base);
	else if (!a->fresh || !(ret = write_unnamed(x, a, base)))
		ret = write_regular(x, a, base);
	if (ret > 0)
		ret = 0;
	if (ret < 0)
		return mlv_error_wrap(ret, "cannot check out '%s'", a->path);
	if (a->mode != MLV_MODE_LINK && !fstatat(x->dirfd, base, &st, AT_SYMLINK_NOFOLLOW) &&
	    S_ISREG(st.st_mode))
		remember(x, a->path, &st, &a->id, recorded);
	return 0;
}

static int do_mkdir(struct exec *x, const char *path, const char *base)
{
	struct stat st;

	if (mkdirat(x->dirfd, base, 0777) == 0)
		return 0;
	if (errno == EEXIST && !fstatat(x->dirfd, base, &st, AT_SYMLINK_NOFOLLOW) &&
	    S_ISDIR(st.st_mode))
		return 0;
	if (errno == EEXIST)
		return mlv_error_set(MLV_EINVALID, "cannot create directory '%s': something that is "
				     "not a directory is in the way", path);
	return mlv_error_set_errno(MLV_EIO, "cannot create directory '%s'", path);
}

static int clean_temp(struct exec *x, const char *dir)
{
	int fd = mlv_fs_open(x->p->repo->topfd, dir, O_RDONLY | O_DIRECTORY, 0);

	if (fd < 0 || mlv_tempfile_clean_stale(fd, MLV_TEMP_PREFIX) < 0)
		mlv_error_clear(); /* what stays is left alone, as before */
	if (fd >= 0)
		close(fd);
	return 0;
}

/* Hold the lock of the pointer of the artifact `a` belongs to. */
static int lock_for(struct exec *x, const struct checkout_action *a)
{
	const char *pointer = x->list->items[a->art].pointer;
	int ret;

	if (x->locked && !strcmp(x->locked, pointer))
		return 0;
	if (x->locked)
		mlv_lock_release(&x->lock);
	x->locked = NULL;
	ret = mlv_lock_acquire(&x->lock, x->p->repo->topfd, pointer, MLV_LOCK_TIMEOUT_MS);
	if (ret == MLV_ENOTFOUND && strchr(pointer, '/')) {
		/* An artifact of a revision in a directory the work tree lacks: make it now. */
		struct mlv_buf dir = MLV_BUF_INIT;

		mlv_error_clear();
		mlv_path_dirname(&dir, pointer);
		ret = mlv_fs_mkdirs(x->p->repo->topfd, dir.ptr);
		mlv_buf_release(&dir);
		if (!ret)
			ret = mlv_lock_acquire(&x->lock, x->p->repo->topfd, pointer,
					       MLV_LOCK_TIMEOUT_MS);
	}
	if (ret < 0)
		return ret;
	x->locked = pointer;
	return 0;
}

static int execute_one(struct exec *x, const struct checkout_action *a)
{
	struct mlv_checkout_result *res = x->p->res;
	const char *base;
	int ret;

	if ((ret = lock_for(x, a)) < 0)
		return ret;
	if (a->op == CK_CLEAN_TEMP)
		return clean_temp(x, a->path);
	if ((ret = open_dir(x, a->path, &base)) < 0)
		return ret;
	switch (a->op) {
	case CK_WRITE:
		if ((ret = do_write(x, a, base)) < 0)
			return ret;
		res->written++;
		res->bytes += a->size;
		if (x->p->cb && x->p->cb->progress)
			x->p->cb->progress(x->p->cb->ctx, res->written, res->bytes);
		break;
	case CK_REMOVE:
		if (unlinkat(x->dirfd, base, 0) < 0 && errno != ENOENT)
			return mlv_error_set_errno(MLV_EIO, "cannot remove '%s'", a->path);
		res->removed++;
		break;
	case CK_RMDIR:
		/* Not empty: it holds something mlv leaves alone. */
		if (unlinkat(x->dirfd, base, AT_REMOVEDIR) < 0 && errno != ENOENT &&
		    errno != ENOTEMPTY && errno != EEXIST)
			return mlv_error_set_errno(MLV_EIO, "cannot remove directory '%s'", a->path);
		close_dir(x);
		break;
	case CK_MKDIR:
		if ((ret = do_mkdir(x, a->path, base)) < 0)
			return ret;
		close_dir(x);
		break;
	case CK_CLEAN_TEMP:
		break;
	}
	return 0;
}

static int execute(struct checkout_plan *p, const struct mlv_artifact_list *list,
		   struct scan *cache)
{
	struct exec x;
	int ret = 0;

	memset(&x, 0, sizeof(x));
	x.p = p;
	x.list = list;
	x.cache = cache;
	x.dirfd = -1;
	x.tmpfd = -1;
	x.lock.fd = x.lock.dirfd = -1;
	if (p->nr && mlv_repo_tmpdir(p->repo, &x.tmpfd, &x.tmpdev) < 0) {
		mlv_error_clear(); /* then every file is written beside its target */
		x.tmpfd = -1;
	}
	for (size_t i = 0; i < p->nr && !ret; i++)
		ret = execute_one(&x, &p->acts[i]);
	close_dir(&x);
	if (x.locked)
		mlv_lock_release(&x.lock);
	return ret;
}

void mlv_checkout_result_release(struct mlv_checkout_result *res)
{
	for (size_t i = 0; i < res->nr_problems; i++) {
		free(res->problems[i].artifact);
		free(res->problems[i].path);
		free(res->problems[i].message);
	}
	free(res->problems);
	for (size_t i = 0; i < res->nr_conflicts; i++)
		free(res->conflicts[i]);
	free(res->conflicts);
	memset(res, 0, sizeof(*res));
}

int mlv_worktree_checkout(struct mlv_repo *r, const struct mlv_artifact_list *list,
			  const struct mlv_checkout_opts *o, const struct mlv_wt_callbacks *cb,
			  struct mlv_checkout_result *out)
{
	struct checkout_plan p;
	struct scan cache;
	int ret = 0, flushed;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	p.repo = r;
	p.cb = cb;
	p.opts = o;
	p.res = out;
	if ((ret = mlv_repo_store(&p.store, r)) < 0)
		return ret;
	scan_init(&p.scan, r->topfd, p.store, NULL, NULL);
	scan_init(&cache, r->topfd, p.store, NULL, NULL);

	for (size_t i = 0; i < list->nr && !ret; i++)
		ret = checkout_plan_artifact(&p, list, i);
	if (!ret && out->nr_problems && !o->allow_missing) {
		size_t missing = p.missing;

		if (missing == out->nr_problems)
			ret = mlv_error_set(MLV_ENOTFOUND, "%zu object%s missing from the store; "
					    "nothing was changed", missing,
					    missing == 1 ? " is" : "s are");
		else
			ret = mlv_error_set(MLV_EINVALID, "%zu problem%s found; nothing was changed",
					    out->nr_problems, out->nr_problems == 1 ? "" : "s");
	}
	if (!ret && out->nr_conflicts)
		ret = mlv_error_set(MLV_ECONFLICT, "%zu local change%s would be overwritten",
				    out->nr_conflicts, out->nr_conflicts == 1 ? "" : "s");
	if (!ret)
		ret = scan_flush_cache(&p.scan);
	if (!ret) {
		/* Remember what was written even when a later write fails (first error wins). */
		ret = execute(&p, list, &cache);
		if (ret < 0) {
			char *msg = mlv_strdup(mlv_error_last());

			scan_flush_cache(&cache);
			mlv_error_set(ret, "%s", msg);
			free(msg);
		} else if ((flushed = scan_flush_cache(&cache)) < 0) {
			ret = flushed;
		}
	}
	checkout_plan_release(&p);
	scan_release(&cache);
	return ret;
}

