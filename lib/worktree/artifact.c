/*
 * Finding pointer files.  Every path is opened from the work tree's
 * directory fd without following a symlink (mlv/fs.h): a pointer file
 * reached through a symlinked directory is not an artifact, and a pointer
 * whose artifact path fails the path gate is a bad pointer that no
 * command deletes, writes or renames through.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/fs.h"
#include "mlv/lock.h"
#include "mlv/path.h"
#include "mlv/quote.h"
#include "mlv/worktree.h"
#include "util/dirlist.h"

static const size_t suffix_len = sizeof(MLV_POINTER_SUFFIX) - 1;

/* Directories below the top deeper than this are not searched for pointers. */
#define FIND_DEPTH_MAX (MLV_PATH_MAX / 2)

static void artifact_release(struct mlv_artifact *a)
{
	free(a->path);
	free(a->pointer);
	free(a->error);
	free(a->within);
	mlv_pointer_release(&a->ptr);
}

void mlv_artifact_list_release(struct mlv_artifact_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		artifact_release(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

static int has_suffix(const char *s, size_t len)
{
	return len > suffix_len && !memcmp(s + len - suffix_len, MLV_POINTER_SUFFIX, suffix_len);
}

/* Path gate and name checks; `a` holds the names afterwards either way. */
static int artifact_start(struct mlv_artifact *a, const char *pointer)
{
	char *what;
	int ret;

	memset(a, 0, sizeof(*a));
	mlv_pointer_init(&a->ptr);
	a->pointer = mlv_strdup(pointer);
	a->path = mlv_strndup(pointer, has_suffix(pointer, strlen(pointer)) ?
				       strlen(pointer) - suffix_len : strlen(pointer));
	what = mlv_xstrfmt("bad pointer file name '%s'", pointer);
	ret = mlv_path_check(a->path, 1, what);
	free(what);
	if (!ret && !has_suffix(pointer, strlen(pointer)))
		ret = mlv_error_set(MLV_EINVALID, "'%s' is not a pointer file name", pointer);
	return ret;
}

static int artifact_finish(struct mlv_artifact *a, int ret, const char *data, size_t len)
{
	if (!ret) {
		ret = mlv_pointer_parse(&a->ptr, data, len, a->pointer);
		if (ret < 0 && mlv_pointer_conflicted(data, len))
			a->conflicted = 1;
	}
	if (ret < 0)
		a->error = mlv_strdup(mlv_error_last());
	return ret;
}

int mlv_artifact_load(struct mlv_artifact *a, int topfd, const char *pointer)
{
	struct mlv_buf b = MLV_BUF_INIT;
	int ret = artifact_start(a, pointer);

	if (!ret)
		ret = mlv_fs_read_file(&b, topfd, pointer, MLV_POINTER_MAX);
	ret = artifact_finish(a, ret, b.ptr, b.len);
	mlv_buf_release(&b);
	return ret;
}

int mlv_artifact_load_bad(struct mlv_artifact *a, const char *pointer, int code, const char *why)
{
	int ret = artifact_start(a, pointer);

	if (!ret)
		ret = mlv_error_set(code, "%s", why);
	a->error = mlv_strdup(mlv_error_last());
	return ret;
}

int mlv_artifact_load_buf(struct mlv_artifact *a, const char *pointer, const void *data,
			  size_t len)
{
	int ret = artifact_start(a, pointer);

	if (!ret && len > MLV_POINTER_MAX)
		ret = mlv_error_set(MLV_EINVALID, "'%s' is larger than %u bytes: not a pointer file",
				    pointer, MLV_POINTER_MAX);
	return artifact_finish(a, ret, data, len);
}

void mlv_artifact_hint(struct mlv_buf *out, const struct mlv_artifact *a)
{
	/* Names quoted for sh: the commands shown may be pasted, whatever the names hold. */
	struct mlv_buf ptr = MLV_BUF_INIT, path = MLV_BUF_INIT;

	mlv_buf_reset(out);
	mlv_sq_quote(&ptr, a->pointer);
	mlv_sq_quote(&path, a->path);
	if (a->conflicted)
		mlv_buf_addf(out, "resolve the conflict with git, e.g. git checkout --ours -- %s "
			     "or git checkout --theirs -- %s (or edit it), then git add -- %s "
			     "and mlv checkout -- %s", ptr.ptr, ptr.ptr, ptr.ptr, path.ptr);
	else if (a->error)
		mlv_buf_addf(out, "%s is not a pointer mlv can use: fix it, or remove it with "
			     "git rm -- %s", ptr.ptr, ptr.ptr);
	mlv_buf_release(&ptr);
	mlv_buf_release(&path);
}

static struct mlv_artifact *add_artifact(struct mlv_artifact_list *l, int topfd,
					 const char *pointer)
{
	struct mlv_artifact *a;

	MLV_ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	a = &l->items[l->nr++];
	mlv_artifact_load(a, topfd, pointer);
	return a;
}

/* List directory `dir` ("" = the top) below `topfd`, sorted, never through a symlink. */
static int list_at(int topfd, const char *dir, struct dent **out, size_t *nr)
{
	return dents_read_at(topfd, dir, out, nr);
}

/*
 * Find pointer files below directory `dir` ("" = top), skipping tracked
 * directories, .git, .mlv and every other name the path gate refuses for
 * a directory (a nested repository is not ours to search).
 */
/* "<name>.mlv.lock": the lock of a pointer file. */
static int is_pointer_lock_name(const char *name, size_t len)
{
	static const char pointer_lock[] = MLV_POINTER_SUFFIX MLV_LOCK_SUFFIX;
	size_t plen = sizeof(pointer_lock) - 1;

	return len > plen && !memcmp(name + len - plen, pointer_lock, plen);
}

/*
 * Remove the pointer lock `lock` if a killed mlv left it: nobody holds it,
 * and it holds nothing or a pointer (what mlv writes there), so that a
 * user's own file of that name is never taken for one.
 */
static void clean_pointer_lock(int topfd, const char *lock)
{
	struct mlv_buf b = MLV_BUF_INIT, target = MLV_BUF_INIT;
	struct mlv_pointer ptr;

	mlv_pointer_init(&ptr);
	mlv_buf_add(&target, lock, strlen(lock) - strlen(MLV_LOCK_SUFFIX));
	if (mlv_fs_read_file(&b, topfd, lock, MLV_POINTER_MAX) == 0 &&
	    (!b.len || mlv_pointer_parse(&ptr, b.ptr, b.len, lock) == 0))
		mlv_lock_clean_stale(topfd, target.ptr);
	mlv_error_clear();
	mlv_pointer_release(&ptr);
	mlv_buf_release(&b);
	mlv_buf_release(&target);
}

static int find_below(struct mlv_artifact_list *l, int topfd, const char *dir, int depth)
{
	struct mlv_buf p = MLV_BUF_INIT;
	struct dent *ents;
	size_t n;
	int ret;

	if (depth > FIND_DEPTH_MAX)
		return 0;
	if ((ret = list_at(topfd, dir, &ents, &n)) < 0)
		return ret;
	for (size_t i = 0; i < n && !ret; i++) {
		const struct dent *d = &ents[i], *ptr;
		size_t len = strlen(d->name);

		mlv_buf_reset(&p);
		if (*dir)
			mlv_buf_addf(&p, "%s/", dir);
		mlv_buf_adds(&p, d->name);
		if (S_ISREG(d->st.st_mode) && has_suffix(d->name, len)) {
			add_artifact(l, topfd, p.ptr);
		} else if (S_ISREG(d->st.st_mode) && is_pointer_lock_name(d->name, len)) {
			/* A killed mlv's lock: gone once its owner is (kill -9 leaves it). */
			clean_pointer_lock(topfd, p.ptr);
		} else if (S_ISDIR(d->st.st_mode) && mlv_path_component_valid(d->name, len) &&
			   p.len <= MLV_PATH_MAX) {
			char *pointer = mlv_xstrfmt("%s%s", d->name, MLV_POINTER_SUFFIX);

			ptr = dents_find(ents, n, pointer);
			free(pointer);
			/* A tracked directory: its content is data. */
			if (!ptr || !S_ISREG(ptr->st.st_mode))
				ret = find_below(l, topfd, p.ptr, depth + 1);
		}
	}
	dents_free(ents, n);
	mlv_buf_release(&p);
	return ret;
}

/* 1 when `path` (below `topfd`) is a regular file, 0 when not; <0 when a parent is a symlink. */
static int is_regular(int topfd, const char *path)
{
	struct stat st;
	int ret = mlv_fs_lstat(topfd, path, &st);

	if (ret == MLV_ENOTFOUND) {
		mlv_error_clear();
		return 0;
	}
	if (ret == MLV_EINVALID && strstr(mlv_error_last(), "not a directory")) {
		mlv_error_clear();
		return 0;
	}
	return ret < 0 ? ret : S_ISREG(st.st_mode);
}

int mlv_artifact_containing_at(struct mlv_buf *out, int topfd, const char *path, int self)
{
	size_t end = self ? strlen(path) : 0;
	int ret = 0;

	if (!self) {
		const char *slash = strrchr(path, '/');

		end = slash ? (size_t)(slash - path) : 0;
	}
	while (end) {
		const char *base = memrchr(path, '/', end);
		size_t blen = base ? end - (size_t)(base - path) - 1 : end;

		mlv_buf_reset(out);
		mlv_buf_add(out, path, end);
		mlv_buf_adds(out, MLV_POINTER_SUFFIX);
		/* A name too long to have a pointer beside it is not an artifact. */
		if (blen <= MLV_ARTIFACT_NAME_MAX && (ret = is_regular(topfd, out->ptr)) != 0)
			break;
		while (end && path[--end] != '/')
			;
	}
	if (ret == 1) {
		mlv_buf_setlen(out, end);
		return 1;
	}
	mlv_buf_reset(out);
	return ret;
}

static int artifact_cmp(const void *va, const void *vb)
{
	const struct mlv_artifact *a = va, *b = vb;
	int c = strcmp(a->path, b->path);

	if (c)
		return c;
	if (!a->within || !b->within)
		return !!a->within - !!b->within;
	return strcmp(a->within, b->within);
}

void mlv_artifact_list_sort(struct mlv_artifact_list *l)
{
	size_t kept = 0;

	if (!l->nr)
		return;
	qsort(l->items, l->nr, sizeof(*l->items), artifact_cmp);
	for (size_t i = 0; i < l->nr; i++) {
		struct mlv_artifact *a = &l->items[i], *prev = kept ? &l->items[kept - 1] : NULL;

		if (prev && !strcmp(prev->pointer, a->pointer) &&
		    (!prev->within || (a->within && !strcmp(prev->within, a->within)))) {
			artifact_release(a);
			continue;
		}
		if (kept != i)
			l->items[kept] = *a;
		kept++;
	}
	l->nr = kept;
}

static int find_one(struct mlv_artifact_list *out, int topfd, const char *path)
{
	struct mlv_buf p = MLV_BUF_INIT;
	size_t len = strlen(path);
	struct stat st;
	int ret;

	if (!*path)
		return find_below(out, topfd, "", 0);
	if (path[len - 1] == '/') {
		/* "dir/": only what is below the directory. */
		mlv_buf_add(&p, path, len - 1);
		ret = mlv_fs_lstat(topfd, p.ptr, &st);
		if (!ret && !S_ISDIR(st.st_mode))
			ret = mlv_error_set(MLV_EINVALID, "'%s' is not a directory", p.ptr);
		else if (ret == MLV_ENOTFOUND)
			ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv", path);
		if (!ret)
			ret = find_below(out, topfd, p.ptr, 0);
		goto done;
	}
	mlv_buf_addf(&p, "%s%s", path, MLV_POINTER_SUFFIX);
	if ((ret = is_regular(topfd, p.ptr)) != 0) {
		if (ret > 0) {
			add_artifact(out, topfd, p.ptr);
			ret = 0;
		}
		goto done;
	}
	if (has_suffix(path, len) && (ret = is_regular(topfd, path)) != 0) {
		if (ret > 0) {
			add_artifact(out, topfd, path);
			ret = 0;
		}
		goto done;
	}
	/* A file or directory inside a tracked directory, on disk or not. */
	if ((ret = mlv_artifact_containing_at(&p, topfd, path, 0)) != 0) {
		if (ret > 0) {
			mlv_buf_adds(&p, MLV_POINTER_SUFFIX);
			add_artifact(out, topfd, p.ptr)->within = mlv_strdup(path);
			ret = 0;
		}
		goto done;
	}
	ret = mlv_fs_lstat(topfd, path, &st);
	if (!ret && S_ISDIR(st.st_mode))
		ret = find_below(out, topfd, path, 0);
	else if (!ret || ret == MLV_ENOTFOUND)
		ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv", path);
done:
	mlv_buf_release(&p);
	return ret;
}

int mlv_artifacts_find_at(struct mlv_artifact_list *out, int topfd, const char *const *paths,
			  size_t n)
{
	int ret = 0;

	if (!n)
		ret = find_below(out, topfd, "", 0);
	for (size_t i = 0; i < n && !ret; i++)
		ret = find_one(out, topfd, paths[i]);
	mlv_artifact_list_sort(out);
	return ret;
}

