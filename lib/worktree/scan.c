#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlv/fileio.h"
#include "mlv/fs.h"
#include "mlv/path.h"
#include "mlv/tempfile.h"
#include "worktree/scan.h"

/* The longest symlink target mlv stores (Linux allows PATH_MAX - 1). */
#define LINK_TARGET_MAX 4095

void scan_init(struct scan *s, int topfd, struct mlv_store *store, struct mlv_store_writer *w,
	       const struct mlv_wt_callbacks *cb)
{
	memset(s, 0, sizeof(*s));
	s->topfd = topfd;
	s->store = store;
	s->writer = w;
	s->cb = cb;
}

void scan_release(struct scan *s)
{
	for (size_t i = 0; i < s->nr_updates; i++)
		free(s->updates[i].path);
	free(s->updates);
	s->updates = NULL;
	s->nr_updates = s->alloc_updates = 0;
	dirlist_free(s->prefetch);
	s->prefetch = NULL;
	free(s->walking);
	s->walking = NULL;
	s->depth = s->alloc_walking = 0;
}

void scan_prefetch(struct scan *s, const char *root, int threads)
{
	dirlist_free(s->prefetch);
	s->prefetch = NULL;
	if (threads > 1 && dirlist_start_at(&s->prefetch, s->topfd, root, threads) < 0)
		mlv_error_clear(); /* each directory is then read when it is reached */
	/* While the listing runs: one query for the directory, not one per file. */
	if (s->store && mlv_statcache_load_prefix(s->store, root) < 0)
		mlv_error_clear();
}

int scan_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

static void warn(struct scan *s, const char *fmt, ...) MLV_PRINTF(2, 3);
static void warn(struct scan *s, const char *fmt, ...)
{
	struct mlv_buf b = MLV_BUF_INIT;
	va_list ap;

	if (!s->cb || !s->cb->warn)
		return;
	va_start(ap, fmt);
	mlv_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	s->cb->warn(s->cb->ctx, b.ptr);
	mlv_buf_release(&b);
}

static void change(struct scan *s, const char *path, int what)
{
	if (s->diff && s->cb && s->cb->change)
		s->cb->change(s->cb->ctx, s->artifact, path, what);
}

static void remember(struct scan *s, const char *path, const struct stat *st,
		     const struct mlv_oid *id, int64_t recorded)
{
	struct scan_cache_update *u;

	MLV_ALLOC_GROW(s->updates, s->nr_updates + 1, s->alloc_updates);
	u = &s->updates[s->nr_updates++];
	u->path = mlv_strdup(path);
	mlv_stat_from(&u->st, st);
	u->id = *id;
	u->recorded_ns = recorded;
}

int scan_flush_cache(struct scan *s)
{
	int ret;

	if (!s->store || !s->nr_updates)
		return 0;
	if ((ret = mlv_statcache_begin(s->store)) < 0)
		return ret;
	for (size_t i = 0; i < s->nr_updates; i++) {
		struct scan_cache_update *u = &s->updates[i];

		ret = mlv_statcache_put(s->store, u->path, &u->st, &u->id, u->recorded_ns);
		if (ret < 0)
			break;
	}
	return mlv_statcache_end(s->store, ret == 0) < 0 && !ret ? -1 : ret;
}

/* Did the file change between two fstat()s? */
static int changed(const struct stat *a, const struct stat *b)
{
	return a->st_size != b->st_size || a->st_ino != b->st_ino ||
	       a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
	       a->st_ctim.tv_sec != b->st_ctim.tv_sec || a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}

/*
 * Hash (and with a writer, store) the regular file `name` in `dirfd`
 * (`path` for the cache and messages).  What is recorded is what was read:
 * the size is the bytes hashed, and a file that changes while it is read
 * is read once more, then refused.
 */
static int hash_regular(struct scan *s, int dirfd, const char *name, const char *path,
			const struct stat *st, int follow, struct mlv_oid *out, uint64_t *size)
{
	struct mlv_stat ms;
	struct stat before, after;
	int64_t recorded = 0;
	int fd, ret = 0, tries;

	mlv_stat_from(&ms, st);
	if (s->store && mlv_statcache_lookup(s->store, path, &ms, out) == 1) {
		*size = (uint64_t)st->st_size;
		if (!s->writer)
			return 0;
		/* Stored in full, chunks and all: nothing to read. */
		ret = mlv_store_has_blob(s->store, out);
		if (ret < 0)
			return ret;
		if (ret == 1)
			return 0;
	}
	if (s->cached_only)
		return MLV_ENOTFOUND;
	fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return mlv_error_set_errno(errno == ENOENT ? MLV_ENOTFOUND : MLV_EIO,
					   "cannot open '%s'", path);
	for (tries = 0; tries < 2; tries++) {
		if (fstat(fd, &before) < 0) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", path);
			break;
		}
		if (!S_ISREG(before.st_mode)) {
			ret = mlv_error_set(MLV_ECONFLICT, "'%s' changed while reading: it is no "
					    "longer a regular file", path);
			break;
		}
		if (tries && lseek(fd, 0, SEEK_SET) < 0) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot read '%s'", path);
			break;
		}
		recorded = mlv_now_ns();
		if (s->writer)
			ret = mlv_store_writer_put_fd(s->writer, out, size, fd, path);
		else
			ret = mlv_blob_hash_fd(out, size, fd, path);
		if (ret < 0)
			break;
		if (fstat(fd, &after) < 0) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", path);
			break;
		}
		if (!changed(&before, &after) && *size == (uint64_t)after.st_size)
			break;
		ret = mlv_error_set(MLV_ECONFLICT, "'%s' changed while reading", path);
	}
	close(fd);
	if (ret < 0)
		return ret;
	remember(s, path, &after, out, recorded);
	return 0;
}

/* The target of symlink `name` in `dirfd`, hashed (and stored) as a blob. */
static int hash_link(struct scan *s, int dirfd, const char *name, const char *path,
		     struct mlv_oid *out)
{
	char target[LINK_TARGET_MAX + 1];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target));

	if (n < 0)
		return mlv_error_set_errno(errno == ENOENT ? MLV_ENOTFOUND : MLV_EIO,
					   "cannot read symbolic link '%s'", path);
	if ((size_t)n > LINK_TARGET_MAX)
		return mlv_error_set(MLV_EINVALID, "symbolic link '%s' has a target longer than %d "
				     "bytes", path, LINK_TARGET_MAX);
	if (s->writer)
		return mlv_store_writer_put_buf(s->writer, out, target, (size_t)n);
	mlv_hash_buf(out, target, (size_t)n);
	return 0;
}

/* Entry `name` of `dirfd`: a regular file, or a symlink (followed when `follow`). */
static int scan_entry(struct scan *s, int dirfd, const char *name, const char *path,
		      const struct stat *st, int follow, struct mlv_oid *out, uint64_t *size)
{
	*size = 0;
	if (S_ISREG(st->st_mode))
		return hash_regular(s, dirfd, name, path, st, follow, out, size);
	if (S_ISLNK(st->st_mode))
		return hash_link(s, dirfd, name, path, out);
	return mlv_error_set(MLV_EINVALID, "'%s' is not a regular file or symlink", path);
}

const char *scan_untrackable(const char *root, const char *path, const char *name,
			     const struct stat *st)
{
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode))
		return "not a regular file, directory or symlink";
	if (mlv_tempfile_is_temp_name(name))
		return "a temporary file of mlv";
	if (!mlv_name_valid(name, strlen(name)))
		return "this name cannot be tracked";
	return NULL;
}

int scan_file_size(struct scan *s, const char *path, const struct stat *st,
		   struct mlv_oid *out, uint64_t *size)
{
	const char *base;
	int dirfd = mlv_fs_open_parent(s->topfd, path, 0, &base), ret;

	*size = 0;
	if (dirfd < 0)
		return dirfd;
	ret = scan_entry(s, dirfd, base, path, st, 0, out, size);
	close(dirfd);
	return ret;
}

int scan_file(struct scan *s, const char *path, const struct stat *st, struct mlv_oid *out)
{
	uint64_t size;

	return scan_file_size(s, path, st, out, &size);
}

struct report_ctx {
	struct scan *s;
	int what;
};

static int report_one(void *ctx, const char *path, const struct mlv_tree_entry *e)
{
	struct report_ctx *rc = ctx;

	change(rc->s, path, rc->what);
	return 0;
}

int scan_report_tree(struct scan *s, const struct mlv_oid *tree, const char *path, int what)
{
	struct report_ctx rc = { s, what };

	if (!s->diff)
		return 0;
	return mlv_tree_walk(s->store, tree, path, report_one, &rc);
}

/* `path` joined with `name` ("" is the top: no slash). */
static void join(struct mlv_buf *out, size_t len, const char *name)
{
	mlv_buf_setlen(out, len);
	if (len)
		mlv_buf_addch(out, '/');
	mlv_buf_adds(out, name);
}

/* Report the entries of `old` before `name` (all of them: NULL) as deleted. */
static int report_deleted(struct scan *s, const struct mlv_tree *old, size_t *j,
			  const char *path, const char *name)
{
	struct mlv_buf gone = MLV_BUF_INIT;
	int ret = 0;

	for (; !ret && *j < old->nr && (!name || strcmp(old->entries[*j].name, name) < 0); (*j)++) {
		mlv_buf_reset(&gone);
		mlv_buf_adds(&gone, path);
		join(&gone, gone.len, old->entries[*j].name);
		if (old->entries[*j].mode == MLV_MODE_DIR)
			ret = scan_report_tree(s, &old->entries[*j].oid, gone.ptr, 'D');
		else
			change(s, gone.ptr, 'D');
	}
	mlv_buf_release(&gone);
	return ret;
}

/*
 * With --dereference, what entry `name` of `dirfd` points to: a dangling
 * link or a loop is an error naming the link.
 */
static int follow_link(int dirfd, const char *name, const char *path, struct stat *st)
{
	if (fstatat(dirfd, name, st, 0) == 0)
		return 0;
	if (errno == ENOENT)
		return mlv_error_set(MLV_ENOTFOUND, "'%s' is a dangling symbolic link (--dereference)",
				     path);
	if (errno == ELOOP)
		return mlv_error_set(MLV_EINVALID, "'%s' is a symbolic link loop (--dereference)",
				     path);
	return mlv_error_set_errno(MLV_EIO, "cannot follow symbolic link '%s'", path);
}

/* Enter directory `dfd`: refuse a walk too deep, or (following links) a loop. */
static int enter(struct scan *s, int dfd, const char *path)
{
	struct stat st;

	if (s->depth >= SCAN_MAX_DEPTH)
		return mlv_error_set(MLV_EINVALID, "'%s' is nested more than %d directories deep",
				     path, SCAN_MAX_DEPTH);
	if (fstat(dfd, &st) < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", path);
	for (size_t i = 0; s->dereference && i < s->depth; i++)
		if (s->walking[i].dev == st.st_dev && s->walking[i].ino == st.st_ino)
			return mlv_error_set(MLV_EINVALID, "'%s' leads back to a directory above it "
					     "(a symbolic link loop, --dereference)", path);
	MLV_ALLOC_GROW(s->walking, s->depth + 1, s->alloc_walking);
	s->walking[s->depth].dev = st.st_dev;
	s->walking[s->depth].ino = st.st_ino;
	s->depth++;
	return 0;
}

static int dir_fd(struct scan *s, int dfd, const char *root, const char *path, int via_link,
		  const struct mlv_oid *stored, struct mlv_oid *out, uint64_t *size,
		  uint64_t *files)
{
	struct mlv_tree tree = MLV_TREE_INIT, old = MLV_TREE_INIT;
	struct mlv_buf sub = MLV_BUF_INIT, enc = MLV_BUF_INIT;
	struct dent *ents = NULL;
	size_t nents = 0, j = 0, pathlen;
	int ret = 0, diff = s->diff;

	*size = *files = 0;
	if ((ret = enter(s, dfd, path)) < 0)
		return ret;
	if (diff && stored && (ret = mlv_tree_load(s->store, stored, path, &old)) < 0)
		goto done;
	mlv_buf_adds(&sub, path);
	pathlen = sub.len;
	/* Below a followed link nothing was listed in advance (the lister never follows). */
	if ((via_link || !s->prefetch || !dirlist_take(s->prefetch, path, &ents, &nents)) &&
	    (ret = dents_read_fd(dfd, path, &ents, &nents)) < 0)
		goto done;
	for (size_t i = 0; i < nents; i++) {
		struct dent *d = &ents[i];
		const struct mlv_tree_entry *prev = NULL;
		struct stat st = d->st;
		struct mlv_oid id;
		uint64_t esize = 0, efiles = 0;
		uint32_t mode;
		int follow = 0;
		const char *why;

		join(&sub, pathlen, d->name);
		if (mlv_tempfile_is_temp_name(d->name))
			continue; /* never recorded, never reported */
		if (S_ISLNK(st.st_mode) && s->dereference) {
			if ((ret = follow_link(dfd, d->name, sub.ptr, &st)) < 0)
				goto done;
			follow = 1;
		}
		if ((why = scan_untrackable(root, sub.ptr, d->name, &st))) {
			warn(s, "skipping '%s': %s", sub.ptr, why);
			continue;
		}
		if (sub.len > MLV_PATH_MAX) {
			ret = mlv_error_set(MLV_EINVALID, "'%.64s...' is longer than %d bytes and "
					    "could not be checked out", sub.ptr, MLV_PATH_MAX);
			goto done;
		}
		mode = mlv_tree_mode(&st);
		if (diff) {
			/* Entries only in the stored tree were deleted. */
			if ((ret = report_deleted(s, &old, &j, path, d->name)) < 0)
				goto done;
			if (j < old.nr && !strcmp(old.entries[j].name, d->name))
				prev = &old.entries[j++];
		}
		if (S_ISDIR(st.st_mode)) {
			int saved = s->diff;
			const struct mlv_oid *psub = prev && prev->mode == MLV_MODE_DIR ? &prev->oid : NULL;
			int subfd = openat(dfd, d->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
					   (follow ? 0 : O_NOFOLLOW));

			if (subfd < 0) {
				ret = mlv_error_set_errno(errno == ENOENT ? MLV_ENOTFOUND : MLV_EIO,
							  "cannot open directory '%s'", sub.ptr);
				goto done;
			}
			if (diff && prev && prev->mode != MLV_MODE_DIR)
				change(s, sub.ptr, 'T');
			s->diff = diff && (!prev || psub);
			ret = dir_fd(s, subfd, root, sub.ptr, via_link || follow, psub, &id, &esize,
				     &efiles);
			s->diff = saved;
			close(subfd);
			if (ret < 0)
				goto done;
		} else {
			if ((ret = scan_entry(s, dfd, d->name, sub.ptr, &st, follow, &id, &esize)) < 0)
				goto done;
			efiles = 1;
			s->files++;
			s->bytes += esize;
			if (s->cb && s->cb->progress)
				s->cb->progress(s->cb->ctx, s->files, s->bytes);
			if (diff) {
				if (!prev)
					change(s, sub.ptr, 'A');
				else if (prev->mode == MLV_MODE_DIR)
					change(s, sub.ptr, 'T');
				else if (mlv_oid_cmp(&prev->oid, &id) || prev->mode != mode)
					change(s, sub.ptr, 'M');
			}
		}
		mlv_tree_add(&tree, d->name, mode, esize, &id);
		*size += esize;
		*files += efiles;
	}
	if (diff && (ret = report_deleted(s, &old, &j, path, NULL)) < 0)
		goto done;
	if ((ret = mlv_tree_encode(&enc, &tree)) < 0)
		goto done;
	if (s->writer)
		ret = mlv_store_writer_put_tree(s->writer, out, enc.ptr, enc.len);
	else
		mlv_hash_buf(out, enc.ptr, enc.len);
done:
	s->depth--;
	dents_free(ents, nents);
	mlv_tree_release(&tree);
	mlv_tree_release(&old);
	mlv_buf_release(&sub);
	mlv_buf_release(&enc);
	return ret;
}

int scan_dir(struct scan *s, const char *root, const char *path, const struct mlv_oid *stored,
	     struct mlv_oid *out, uint64_t *size, uint64_t *files)
{
	int fd = mlv_fs_open(s->topfd, path, O_RDONLY | O_DIRECTORY, 0), ret;

	*size = *files = 0;
	if (fd < 0)
		return fd;
	ret = dir_fd(s, fd, root, path, 0, stored, out, size, files);
	close(fd);
	return ret;
}
