#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlv/path.h"
#include "mlv/worktree.h"
#include "util/dirlist.h"

static const size_t suffix_len = sizeof(MLV_POINTER_SUFFIX) - 1;

void mlv_artifact_list_release(struct mlv_artifact_list *l)
{
	for (size_t i = 0; i < l->nr; i++) {
		free(l->items[i].path);
		free(l->items[i].pointer);
		free(l->items[i].error);
		mlv_pointer_release(&l->items[i].ptr);
	}
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

static int has_suffix(const char *s, size_t len)
{
	return len > suffix_len && !memcmp(s + len - suffix_len, MLV_POINTER_SUFFIX, suffix_len);
}

static void add_artifact(struct mlv_artifact_list *l, const char *pointer)
{
	struct mlv_artifact *a;

	for (size_t i = 0; i < l->nr; i++)
		if (!strcmp(l->items[i].pointer, pointer))
			return;
	MLV_ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	a = &l->items[l->nr++];
	memset(a, 0, sizeof(*a));
	a->pointer = mlv_strdup(pointer);
	a->path = mlv_strndup(pointer, strlen(pointer) - suffix_len);
	mlv_pointer_init(&a->ptr);
	if (mlv_pointer_read(&a->ptr, pointer) < 0)
		a->error = mlv_strdup(mlv_error_last());
}

/* Find pointer files below directory `dir` ("" = top), skipping tracked directories. */
static int find_below(struct mlv_artifact_list *l, const char *dir)
{
	struct mlv_buf p = MLV_BUF_INIT;
	struct dent *ents;
	size_t n;
	int ret = dents_read(*dir ? dir : ".", &ents, &n);

	for (size_t i = 0; i < n && !ret; i++) {
		const struct dent *d = &ents[i], *ptr;

		if (!strcmp(d->name, ".git") || !strcmp(d->name, ".mlv"))
			continue;
		mlv_buf_reset(&p);
		if (*dir)
			mlv_buf_addf(&p, "%s/", dir);
		mlv_buf_adds(&p, d->name);
		if (S_ISREG(d->st.st_mode) && has_suffix(d->name, strlen(d->name))) {
			add_artifact(l, p.ptr);
		} else if (S_ISDIR(d->st.st_mode)) {
			char *pointer = mlv_xstrfmt("%s%s", d->name, MLV_POINTER_SUFFIX);

			ptr = dents_find(ents, n, pointer);
			free(pointer);
			/* A tracked directory: its content is data. */
			if (!ptr || !S_ISREG(ptr->st.st_mode))
				ret = find_below(l, p.ptr);
		}
	}
	dents_free(ents, n);
	mlv_buf_release(&p);
	return ret;
}

int mlv_artifact_containing(struct mlv_buf *out, const char *path, int self)
{
	size_t end = self ? strlen(path) : 0;

	if (!self) {
		const char *slash = strrchr(path, '/');

		end = slash ? (size_t)(slash - path) : 0;
	}
	while (end) {
		struct stat st;

		mlv_buf_reset(out);
		mlv_buf_add(out, path, end);
		mlv_buf_adds(out, MLV_POINTER_SUFFIX);
		if (!lstat(out->ptr, &st) && S_ISREG(st.st_mode)) {
			mlv_buf_setlen(out, end);
			return 1;
		}
		while (end && path[--end] != '/')
			;
	}
	mlv_buf_reset(out);
	return 0;
}

int mlv_path_check_parents(const char *path)
{
	struct mlv_buf p = MLV_BUF_INIT;
	int ret = 0;

	for (const char *s = strchr(path, '/'); s && !ret; s = strchr(s + 1, '/')) {
		struct stat st;

		mlv_buf_reset(&p);
		mlv_buf_add(&p, path, (size_t)(s - path));
		if (lstat(p.ptr, &st) < 0)
			break;
		if (S_ISLNK(st.st_mode))
			ret = mlv_error_set(MLV_EINVALID, "'%s' is beyond a symbolic link ('%s')",
					    path, p.ptr);
	}
	mlv_buf_release(&p);
	return ret;
}

static int artifact_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mlv_artifact *)a)->path, ((const struct mlv_artifact *)b)->path);
}

int mlv_artifacts_find(struct mlv_artifact_list *out, const char *const *paths, size_t n)
{
	struct mlv_buf p = MLV_BUF_INIT;
	int ret = 0;

	if (!n)
		ret = find_below(out, "");
	for (size_t i = 0; i < n && !ret; i++) {
		const char *path = paths[i];
		size_t len = strlen(path);
		struct stat st;

		mlv_buf_reset(&p);
		if (len && path[len - 1] == '/') {
			/* "dir/": only what is below the directory. */
			mlv_buf_add(&p, path, len - 1);
			if (!lstat(p.ptr, &st) && S_ISDIR(st.st_mode))
				ret = find_below(out, p.ptr);
			continue;
		}
		mlv_buf_addf(&p, "%s%s", path, MLV_POINTER_SUFFIX);
		if (*path && !lstat(p.ptr, &st) && S_ISREG(st.st_mode))
			add_artifact(out, p.ptr);
		else if (has_suffix(path, len) && !lstat(path, &st) && S_ISREG(st.st_mode))
			add_artifact(out, path);
		else if ((!*path || !lstat(path, &st)) && (!*path || S_ISDIR(st.st_mode)))
			ret = find_below(out, path);
		else
			ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv", *path ? path : ".");
	}
	mlv_buf_release(&p);
	if (out->nr)
		qsort(out->items, out->nr, sizeof(*out->items), artifact_cmp);
	return ret;
}

