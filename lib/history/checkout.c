/*
 * mlv checkout <rev>: the artifacts of a revision into the work tree.
 */
#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/fs.h"
#include "mlv/gitignore.h"
#include "mlv/history.h"
#include "mlv/path.h"

void mlv_checkout_rev_result_release(struct mlv_checkout_rev_result *res)
{
	mlv_checkout_result_release(&res->co);
	for (size_t i = 0; i < res->nr_kept; i++)
		free(res->kept[i]);
	free(res->kept);
	memset(res, 0, sizeof(*res));
}

/* The artifacts `paths` name in the work tree; a path naming none there is fine. */
static int find_current(struct mlv_artifact_list *out, struct mlv_repo *r,
			const char *const *paths, size_t n)
{
	int ret = 0;

	if (!n)
		return mlv_artifacts_find_at(out, r->topfd, NULL, 0);
	for (size_t i = 0; i < n && !ret; i++) {
		struct mlv_artifact_list one = { 0 };

		ret = mlv_artifacts_find_at(&one, r->topfd, &paths[i], 1);
		if (ret == MLV_ENOTFOUND) {
			mlv_error_clear();
			ret = 0;
		}
		for (size_t k = 0; k < one.nr; k++) {
			MLV_ALLOC_GROW(out->items, out->nr + 1, out->alloc);
			out->items[out->nr++] = one.items[k];
		}
		free(one.items);
	}
	mlv_artifact_list_sort(out);
	return ret;
}

/* The whole artifact `path` in `l` (sorted by path, a whole artifact before its parts). */
static const struct mlv_artifact *find_path(const struct mlv_artifact_list *l, const char *path)
{
	size_t lo = 0, hi = l->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(l->items[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < l->nr && !strcmp(l->items[lo].path, path) && !l->items[lo].within)
		return &l->items[lo];
	return NULL;
}

/*
 * 1 when git's object database holds the pointer file's exact bytes (it
 * came from a commit, or was staged): removing it loses nothing that git
 * cannot give back.  0 for a pointer only mlv add wrote.
 */
static int pointer_in_git(struct mlv_repo *r, const char *pointer)
{
	struct mlv_buf b = MLV_BUF_INIT;
	git_odb *odb = NULL;
	git_oid id;
	int ret;

	if ((ret = mlv_fs_read_file(&b, r->topfd, pointer, MLV_POINTER_MAX)) < 0)
		goto done;
	if (git_repository_odb(&odb, r->git) < 0 ||
	    git_odb_hash(&id, b.ptr, b.len, GIT_OBJECT_BLOB) < 0) {
		ret = mlv_git_error(MLV_ERROR, pointer);
		goto done;
	}
	ret = git_odb_exists(odb, &id) ? 1 : 0;
done:
	git_odb_free(odb);
	mlv_buf_release(&b);
	return ret;
}

/*
 * Remove the empty directories from the parent of `path` up towards the
 * top, as git does when the last file of a directory goes.
 */
static void remove_empty_dirs(struct mlv_repo *r, const char *path)
{
	struct mlv_buf dir = MLV_BUF_INIT;

	mlv_path_dirname(&dir, path);
	while (dir.len && strcmp(dir.ptr, ".")) {
		struct mlv_buf up = MLV_BUF_INIT;

		if (mlv_fs_unlink(r->topfd, dir.ptr, 1) < 0) {
			mlv_error_clear(); /* not empty, or not ours: it stays */
			mlv_buf_release(&up);
			break;
		}
		mlv_path_dirname(&up, dir.ptr);
		mlv_buf_release(&dir);
		dir = up;
	}
	mlv_buf_release(&dir);
}

static int same_pointer(const struct mlv_pointer *a, const struct mlv_pointer *b)
{
	struct mlv_buf x = MLV_BUF_INIT, y = MLV_BUF_INIT;
	int same;

	mlv_pointer_format(&x, a);
	mlv_pointer_format(&y, b);
	same = x.len == y.len && !memcmp(x.ptr, y.ptr, x.len);
	mlv_buf_release(&x);
	mlv_buf_release(&y);
	return same;
}

static int write_pointer(struct mlv_repo *r, const struct mlv_artifact *a)
{
	struct mlv_buf dir = MLV_BUF_INIT;
	int ret;

	/* .gitignore first, as add does: should the pointer fail, the data stays ignored. */
	mlv_path_dirname(&dir, a->path);
	ret = mlv_gitignore_add_at(r->topfd, dir.ptr, mlv_path_basename(a->path));
	mlv_buf_release(&dir);
	if (!ret)
		ret = mlv_pointer_write_at(r->topfd, a->pointer, &a->ptr);
	return ret;
}

static void warn(const struct mlv_wt_callbacks *cb, const char *msg)
{
	if (cb && cb->warn)
		cb->warn(cb->ctx, msg);
}

int mlv_checkout_rev(struct mlv_repo *r, const char *rev, const char *const *paths, size_t n,
		     const struct mlv_checkout_opts *o, const struct mlv_wt_callbacks *cb,
		     struct mlv_checkout_rev_result *out)
{
	struct mlv_artifact_list target = { 0 }, current = { 0 };
	git_tree *tree = NULL;
	int ret, status;

	memset(out, 0, sizeof(*out));
	if ((ret = mlv_rev_tree(&tree, r, rev)) < 0)
		return ret;
	if (!n)
		ret = mlv_rev_artifacts(&target, r, tree, rev, NULL, 0);
	for (size_t i = 0; i < n && !ret; i++) {
		struct mlv_artifact_list one = { 0 }, here = { 0 };

		/* A path not at `rev` is fine when the work tree has it: it goes. */
		ret = mlv_rev_artifacts(&one, r, tree, rev, &paths[i], 1);
		if (ret == MLV_ENOTFOUND && !mlv_artifacts_find_at(&here, r->topfd, &paths[i], 1))
			ret = 0;
		else if (ret == MLV_ENOTFOUND)
			ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv in '%s' "
					    "nor in the work tree", *paths[i] ? paths[i] : ".", rev);
		for (size_t k = 0; k < one.nr; k++) {
			MLV_ALLOC_GROW(target.items, target.nr + 1, target.alloc);
			target.items[target.nr++] = one.items[k];
		}
		free(one.items);
		mlv_artifact_list_release(&here);
	}
	mlv_artifact_list_sort(&target);
	if (ret < 0 || (ret = find_current(&current, r, paths, n)) < 0)
		goto done;

	/* 1. The data, verified in full before anything is written. */
	status = mlv_worktree_checkout(r, &target, o, cb, &out->co);
	if (status < 0) {
		ret = status;
		goto done;
	}

	/* 2. The pointer files that differ (never for a part of a directory). */
	for (size_t i = 0; i < target.nr; i++) {
		const struct mlv_artifact *a = &target.items[i], *cur;

		if (a->error || a->within)
			continue;
		cur = find_path(&current, a->path);
		if (cur && !cur->error && same_pointer(&cur->ptr, &a->ptr))
			continue;
		if ((ret = write_pointer(r, a)) < 0)
			goto done;
		out->pointers++;
	}

	/* 3. Artifacts the revision does not have: removed when safely stored. */
	for (size_t i = 0; i < current.nr; i++) {
		const struct mlv_artifact *a = &current.items[i];
		int rm;

		if (a->within || find_path(&target, a->path))
			continue;
		if (a->error) {
			char *msg = mlv_xstrfmt("kept '%s': its pointer is bad (%s)", a->path, a->error);

			warn(cb, msg);
			free(msg);
			goto keep;
		}
		/* As git leaves untracked files: only a pointer git holds is ours to remove. */
		if (pointer_in_git(r, a->pointer) != 1) {
			char *msg = mlv_xstrfmt("kept '%s' (not in '%s'): its pointer was never "
						"committed or staged", a->path, rev);

			mlv_error_clear();
			warn(cb, msg);
			free(msg);
			goto keep;
		}
		rm = mlv_rm(r, a, 0, 0, NULL, NULL);
		if (!rm) {
			out->removed++;
			remove_empty_dirs(r, a->path);
			continue;
		}
		{
			char *msg = mlv_xstrfmt("kept '%s' (not in '%s'): %s", a->path, rev,
						mlv_error_last());

			warn(cb, msg);
			free(msg);
			mlv_error_clear();
		}
keep:
		MLV_ALLOC_GROW(out->kept, out->nr_kept + 1, out->alloc_kept);
		out->kept[out->nr_kept++] = mlv_strdup(a->path);
	}
	ret = status;
done:
	mlv_artifact_list_release(&target);
	mlv_artifact_list_release(&current);
	git_tree_free(tree);
	return ret;
}

int mlv_checkout_drop_gone(struct mlv_repo *r, const char *old_rev,
			   const struct mlv_wt_callbacks *cb, size_t *removed, size_t *kept)
{
	struct mlv_artifact_list old = { 0 };
	git_tree *tree = NULL;
	size_t nr_removed = 0, nr_kept = 0;
	int ret;

	if ((ret = mlv_rev_tree(&tree, r, old_rev)) < 0 ||
	    (ret = mlv_rev_artifacts(&old, r, tree, old_rev, NULL, 0)) < 0)
		goto done;
	for (size_t i = 0; i < old.nr; i++) {
		const struct mlv_artifact *a = &old.items[i];
		struct mlv_buf in = MLV_BUF_INIT;
		int skip;

		/* Still tracked here (itself, or inside another artifact), or already gone. */
		skip = a->error || mlv_fs_exists(r->topfd, a->pointer) != 0 ||
		       mlv_fs_exists(r->topfd, a->path) <= 0 ||
		       mlv_artifact_containing_at(&in, r->topfd, a->path, 0) != 0;
		mlv_buf_release(&in);
		if (skip) {
			mlv_error_clear();
			continue;
		}
		if (!mlv_rm_gone(r, a, NULL, NULL)) {
			nr_removed++;
			continue;
		}
		{
			char *msg = mlv_xstrfmt("kept '%s' (no longer tracked): %s", a->path,
						mlv_error_last());

			warn(cb, msg);
			free(msg);
			mlv_error_clear();
		}
		nr_kept++;
	}
done:
	if (removed)
		*removed = nr_removed;
	if (kept)
		*kept = nr_kept;
	mlv_artifact_list_release(&old);
	git_tree_free(tree);
	return ret;
}
