#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlv/fs.h"
#include "mlv/gitignore.h"
#include "mlv/lock.h"
#include "mlv/path.h"
#include "mlv/worktree.h"
#include "worktree/scan.h"

/* The pointer line that says links were followed (mlv add --dereference). */
#define DEREF_KEY "dereference"
#define DEREF_LINE DEREF_KEY " yes\n"

void mlv_add_results_free(struct mlv_add_result *res, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(res[i].path);
		mlv_pointer_release(&res[i].ptr);
	}
	free(res);
}

int mlv_add_dereferenced(const struct mlv_pointer *p)
{
	const char *s = p->extra.ptr, *end = s + p->extra.len;

	while (s && s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));

		if ((size_t)((nl ? nl : end) - s) == sizeof(DEREF_LINE) - 2 &&
		    !memcmp(s, DEREF_LINE, sizeof(DEREF_LINE) - 2))
			return 1;
		s = nl ? nl + 1 : end;
	}
	return 0;
}

/* Copy the unknown lines of `old` into `p`, with or without the dereference line. */
static void set_extra(struct mlv_pointer *p, const struct mlv_buf *old, int deref)
{
	const char *s = old->ptr, *end = s + old->len;

	mlv_buf_reset(&p->extra);
	while (s && s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *next = nl ? nl + 1 : end;

		if ((size_t)(end - s) < sizeof(DEREF_KEY) || memcmp(s, DEREF_KEY " ", sizeof(DEREF_KEY)))
			mlv_buf_add(&p->extra, s, (size_t)(next - s));
		s = next;
	}
	if (deref)
		mlv_buf_adds(&p->extra, DEREF_LINE);
}

/* Refuse paths that mlv cannot or must not track. */
static int check_path(int topfd, const char *path, struct stat *st)
{
	struct mlv_buf p = MLV_BUF_INIT;
	size_t len = strlen(path);
	struct mlv_artifact_list inner = { 0 };
	int ret = 0;

	if (!*path)
		return mlv_error_set(MLV_EINVALID, "cannot track the top of the work tree");
	if (strchr(path, '\n'))
		return mlv_error_set(MLV_EINVALID,
				     "'%s': a tracked path cannot contain a newline (it could not be "
				     "listed in .gitignore)", path);
	if ((ret = mlv_path_check(path, 1, "cannot add")) < 0)
		return ret;
	if ((ret = mlv_fs_lstat(topfd, path, st)) < 0)
		return ret == MLV_ENOTFOUND ? mlv_error_set(MLV_ENOTFOUND, "cannot add '%s': no such "
							    "file or directory", path) : ret;
	if (S_ISLNK(st->st_mode))
		return mlv_error_set(MLV_EINVALID, "'%s' is a symlink; add its target instead", path);
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return mlv_error_set(MLV_EINVALID, "'%s' is not a regular file or directory", path);
	if (S_ISREG(st->st_mode) && len > 4 && !strcmp(path + len - 4, MLV_POINTER_SUFFIX)) {
		ret = mlv_error_set(MLV_EINVALID, "'%s' is a pointer file; add the data path instead",
				    path);
		mlv_error_set_hint("to store new content, name the data path: mlv add '%.*s'",
				   (int)(len - 4), path);
		return ret;
	}
	ret = mlv_artifact_containing_at(&p, topfd, path, 0);
	if (ret > 0)
		ret = mlv_error_set(MLV_EINVALID, "'%s' is inside tracked directory '%s'", path, p.ptr);
	if (!ret && S_ISDIR(st->st_mode)) {
		const char *one[1];

		/* With a pointer beside it, the directory is its own artifact: look inside. */
		mlv_buf_reset(&p);
		mlv_buf_addf(&p, "%s/", path);
		one[0] = p.ptr;
		ret = mlv_artifacts_find_at(&inner, topfd, one, 1);
		if (!ret && inner.nr)
			ret = mlv_error_set(MLV_EINVALID, "'%s' contains tracked path '%s'; "
					    "remove it with 'mlv rm --keep' first", path, inner.items[0].path);
		mlv_artifact_list_release(&inner);
	}
	mlv_buf_release(&p);
	return ret;
}

/*
 * The pointer already at `<path>.mlv` (read under its lock): none, a
 * pointer (`old` filled, returns 1), or a file with git conflict markers
 * (replaced like a missing one).  Anything else is refused: it may be data.
 */
static int read_old(int topfd, const char *ptrpath, struct mlv_pointer *old)
{
	struct mlv_artifact a;
	int ret = mlv_fs_exists(topfd, ptrpath);

	if (ret <= 0)
		return ret;
	ret = mlv_artifact_load(&a, topfd, ptrpath);
	if (!ret) {
		mlv_pointer_release(old);
		*old = a.ptr;
		mlv_pointer_init(&a.ptr);
		ret = 1;
	} else if (a.conflicted) {
		ret = 0;
	} else {
		ret = mlv_error_set(MLV_EEXISTS, "'%s' exists and is not a pointer file mlv can "
				    "replace (%s); refusing to overwrite it", ptrpath, a.error);
		mlv_error_set_hint("move '%s' out of the way, or track the data under another name",
				   ptrpath);
	}
	free(a.path);
	free(a.pointer);
	free(a.error);
	free(a.within);
	mlv_pointer_release(&a.ptr);
	return ret;
}

static int same_pointer(const struct mlv_pointer *a, const struct mlv_pointer *b)
{
	return !mlv_oid_cmp(&a->oid, &b->oid) && a->size == b->size && a->kind == b->kind &&
	       a->exec == b->exec &&
	       a->type == b->type && a->files == b->files && a->extra.len == b->extra.len &&
	       (!a->extra.len || !memcmp(a->extra.ptr, b->extra.ptr, a->extra.len));
}

struct order {
	const char *path;
	size_t i;
};

static int cmp_order(const void *a, const void *b)
{
	return strcmp(((const struct order *)a)->path, ((const struct order *)b)->path);
}

struct pending {
	struct mlv_lock lock; /* of the pointer file, from before the scan until it is written */
	struct mlv_pointer old;
	int had_old;
};

/*
 * Lock every pointer file (in path order, so that two adds of the same
 * paths cannot wait on each other) and read what is there.
 */
static int lock_pointers(int topfd, struct mlv_add_result *res, struct pending *pend, size_t n)
{
	struct mlv_buf ptrpath = MLV_BUF_INIT;
	struct order *order = mlv_calloc(n ? n : 1, sizeof(*order));
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		order[i].path = res[i].path;
		order[i].i = i;
	}
	qsort(order, n, sizeof(*order), cmp_order);
	for (size_t k = 0; k < n && !ret; k++) {
		size_t i = order[k].i;
		struct pending *p = &pend[i];

		mlv_buf_reset(&ptrpath);
		mlv_buf_addf(&ptrpath, "%s%s", res[i].path, MLV_POINTER_SUFFIX);
		if ((ret = mlv_lock_acquire(&p->lock, topfd, ptrpath.ptr, MLV_LOCK_TIMEOUT_MS)) < 0)
			break;
		if ((ret = read_old(topfd, ptrpath.ptr, &p->old)) >= 0) {
			p->had_old = ret;
			ret = 0;
		}
	}
	free(order);
	mlv_buf_release(&ptrpath);
	return ret;
}

/*
 * The .gitignore line first: should the pointer then fail, git still
 * ignores the data (the safe side), and a refused .gitignore edit leaves
 * the pointer as it was.
 */
static int write_pointer(int topfd, struct mlv_add_result *res, struct pending *p)
{
	struct mlv_buf dir = MLV_BUF_INIT;
	int ret;

	mlv_path_dirname(&dir, res->path);
	ret = mlv_gitignore_add_at(topfd, dir.ptr, mlv_path_basename(res->path));
	mlv_buf_release(&dir);
	if (ret < 0)
		return ret;
	if (res->unchanged) {
		mlv_lock_release(&p->lock);
		return 0;
	}
	return mlv_pointer_write_locked(&p->lock, &res->ptr);
}

int mlv_add(struct mlv_repo *r, const char *const *paths, size_t n, const struct mlv_add_opts *o,
	    const struct mlv_wt_callbacks *cb, struct mlv_add_result **out, size_t *nr)
{
	struct mlv_add_result *res = mlv_calloc(n ? n : 1, sizeof(*res));
	struct pending *pend = mlv_calloc(n ? n : 1, sizeof(*pend));
	struct mlv_store_writer *w = NULL;
	struct mlv_store *store;
	struct scan s;
	int ret, scanning = 0;
	size_t i;

	*out = NULL;
	*nr = 0;
	for (i = 0; i < n; i++) {
		struct mlv_lock init = MLV_LOCK_INIT;

		mlv_pointer_init(&res[i].ptr);
		mlv_pointer_init(&pend[i].old);
		pend[i].lock = init;
		res[i].path = mlv_strdup(paths[i]);
	}
	if ((ret = mlv_repo_store(&store, r)) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		struct stat st;

		if ((ret = check_path(r->topfd, paths[i], &st)) < 0)
			goto done;
	}
	/* Nobody else writes these pointers (or checks their data out) until we are done. */
	if ((ret = lock_pointers(r->topfd, res, pend, n)) < 0)
		goto done;
	if ((ret = mlv_store_writer_new(&w, store)) < 0)
		goto done;
	scan_init(&s, r->topfd, store, w, cb);
	scanning = 1;
	for (i = 0; i < n; i++) {
		struct mlv_add_result *a = &res[i];
		struct pending *p = &pend[i];
		int deref = o->dereference == MLV_DEREF_KEEP ?
				    p->had_old && mlv_add_dereferenced(&p->old) :
				    o->dereference == MLV_DEREF_YES;
		struct stat st;

		s.dereference = deref;
		if ((ret = mlv_fs_lstat(r->topfd, a->path, &st)) < 0) {
			/* gone since it was checked */
		} else if (S_ISDIR(st.st_mode)) {
			a->ptr.type = MLV_PTYPE_DIR;
			scan_prefetch(&s, a->path, o->jobs > 0 ? o->jobs : scan_default_threads());
			ret = scan_dir(&s, a->path, a->path, NULL, &a->ptr.oid, &a->ptr.size,
				       &a->ptr.files);
		} else if (S_ISREG(st.st_mode)) {
			a->ptr.type = MLV_PTYPE_FILE;
			a->ptr.exec = !!(st.st_mode & 0111);
			ret = scan_file_size(&s, a->path, &st, &a->ptr.oid, &a->ptr.size);
			s.files++;
			s.bytes += a->ptr.size;
		} else {
			ret = mlv_error_set(MLV_ECONFLICT, "'%s' changed while reading: it is no longer "
					    "a regular file or directory", a->path);
		}
		if (ret < 0)
			goto done;
		a->ptr.kind = o->kind_given ? o->kind : p->had_old ? p->old.kind : MLV_KIND_DATA;
		set_extra(&a->ptr, &p->old.extra, deref && a->ptr.type == MLV_PTYPE_DIR);
		if (p->had_old)
			a->unchanged = same_pointer(&p->old, &a->ptr);
	}
	/* Objects first, durable; only then the pointers that name them. */
	if ((ret = mlv_store_writer_commit(w)) < 0)
		goto done;
	for (i = 0; i < n; i++)
		if ((ret = write_pointer(r->topfd, &res[i], &pend[i])) < 0)
			goto done;
	ret = scan_flush_cache(&s);
done:
	if (scanning)
		scan_release(&s);
	mlv_store_writer_free(w);
	for (i = 0; i < n; i++) {
		mlv_lock_release(&pend[i].lock);
		mlv_pointer_release(&pend[i].old);
	}
	free(pend);
	if (ret < 0) {
		mlv_add_results_free(res, n);
		return ret;
	}
	*out = res;
	*nr = n;
	return 0;
}
