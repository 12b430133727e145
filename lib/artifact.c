#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlv/path.h"
#include "mlv/worktree.h"
#include "scan.h"

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

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Find pointer files below directory `dir` ("" = top), skipping tracked directories. */
static int find_below(struct mlv_artifact_list *l, const char *dir)
{
	DIR *d = opendir(*dir ? dir : ".");
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	struct mlv_buf p = MLV_BUF_INIT;
	int ret = 0;

	if (!d)
		return mlv_error_set_errno(MLV_EIO, "cannot open directory '%s'", *dir ? dir : ".");
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, ".git") || !strcmp(de->d_name, ".mlv"))
			continue;
		MLV_ALLOC_GROW(names, n + 1, alloc);
		names[n++] = mlv_strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && !ret; i++) {
		size_t len = strlen(names[i]);
		struct stat st;

		mlv_buf_reset(&p);
		if (*dir)
			mlv_buf_addf(&p, "%s/", dir);
		mlv_buf_adds(&p, names[i]);
		if (lstat(p.ptr, &st) < 0)
			continue;
		if (S_ISREG(st.st_mode) && has_suffix(names[i], len)) {
			add_artifact(l, p.ptr);
		} else if (S_ISDIR(st.st_mode)) {
			struct stat pst;

			mlv_buf_adds(&p, MLV_POINTER_SUFFIX);
			if (!lstat(p.ptr, &pst) && S_ISREG(pst.st_mode))
				continue; /* a tracked directory: its content is data */
			mlv_buf_setlen(&p, p.len - suffix_len);
			ret = find_below(l, p.ptr);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	mlv_buf_release(&p);
	return ret;
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

int mlv_tree_walk(struct mlv_store *s, const struct mlv_oid *tree, const char *base,
		  mlv_tree_walk_fn fn, void *ctx)
{
	struct mlv_buf raw = MLV_BUF_INIT, p = MLV_BUF_INIT;
	struct mlv_tree t = MLV_TREE_INIT;
	enum mlv_object_type type;
	int ret;

	ret = mlv_store_read(s, tree, &raw, &type, MLV_OBJECT_META_MAX);
	if (!ret && type != MLV_OBJ_TREE)
		ret = mlv_error_set(MLV_ECORRUPT, "object %s (for '%s') is not a tree",
				    mlv_oid_hex(tree), base);
	if (!ret)
		ret = mlv_tree_parse(&t, raw.ptr, raw.len, base);
	for (size_t i = 0; !ret && i < t.nr; i++) {
		const struct mlv_tree_entry *e = &t.entries[i];

		mlv_buf_reset(&p);
		if (*base)
			mlv_buf_addf(&p, "%s/", base);
		mlv_buf_adds(&p, e->name);
		if (e->mode == MLV_MODE_DIR)
			ret = mlv_tree_walk(s, &e->oid, p.ptr, fn, ctx);
		else
			ret = fn(ctx, p.ptr, e);
	}
	mlv_tree_release(&t);
	mlv_buf_release(&raw);
	mlv_buf_release(&p);
	return ret;
}

int mlv_hash_path(struct mlv_oid *out, uint64_t *size, uint64_t *files, struct mlv_store *store,
		  const char *path, const struct mlv_wt_callbacks *cb)
{
	struct scan s;
	struct stat st;
	int ret;

	if (lstat(path, &st) < 0)
		return mlv_error_set_errno(errno == ENOENT ? MLV_ENOTFOUND : MLV_EIO,
					   "cannot stat '%s'", path);
	scan_init(&s, store, NULL, cb);
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
