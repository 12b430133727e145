/*
 * What a path names: one artifact, or a file or directory inside a
 * tracked directory (found by descending its stored trees).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/repo.h"
#include "mlv/tree.h"
#include "mlv/worktree.h"

int mlv_artifact_find_one(struct mlv_artifact_list *out, int topfd, const char *path)
{
	const char *one[] = { path };
	int ret = mlv_artifacts_find_at(out, topfd, one, 1);
	const struct mlv_artifact *a = out->nr == 1 ? &out->items[0] : NULL;

	if (ret == MLV_ENOTFOUND || (!ret && !out->nr))
		ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv", *path ? path : ".");
	else if (!ret && a && a->within)
		ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv: it is inside tracked "
				    "directory '%s'", path, a->path);
	else if (!ret && (!a || (strcmp(a->path, path) && strcmp(a->pointer, path))))
		ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv", *path ? path : ".");
	if (ret < 0)
		mlv_artifact_list_release(out);
	return ret;
}

void mlv_resolved_release(struct mlv_resolved *res)
{
	mlv_artifact_list_release(&res->artifact);
	memset(&res->oid, 0, sizeof(res->oid));
	res->mode = 0;
	res->size = 0;
}

/* The pointer's object must be what its type says: a tree for a directory, a blob for a file. */
static int check_type(struct mlv_repo *r, const struct mlv_artifact *a)
{
	struct mlv_object_info info;
	struct mlv_store *s;
	int ret, dir = a->ptr.type == MLV_PTYPE_DIR;

	if ((ret = mlv_repo_store(&s, r)) < 0)
		return ret;
	if ((ret = mlv_store_info(s, &a->ptr.oid, &info)) == MLV_ENOTFOUND) {
		mlv_error_clear(); /* missing: the read names it */
		return 0;
	}
	if (ret < 0)
		return ret;
	if (dir != (info.type == MLV_OBJ_TREE))
		return mlv_error_set(MLV_ECORRUPT, "%s: object %s is a %s, but the pointer says %s",
				     a->pointer, mlv_oid_hex(&a->ptr.oid),
				     info.type == MLV_OBJ_TREE ? "tree" : "blob",
				     dir ? "dir" : "file");
	if (!dir && info.type == MLV_OBJ_CHUNK && info.size != a->ptr.size)
		return mlv_error_set(MLV_ECORRUPT, "%s: object %s holds %" PRIu64 " bytes, but the "
				     "pointer says %" PRIu64, a->pointer, mlv_oid_hex(&a->ptr.oid),
				     info.size, a->ptr.size);
	return 0;
}

int mlv_artifact_resolve(struct mlv_resolved *out, struct mlv_repo *r, const char *path)
{
	int ret;

	memset(out, 0, sizeof(*out));
	{
		const char *one[] = { path };

		ret = mlv_artifacts_find_at(&out->artifact, r->topfd, one, 1);
	}
	if (ret == MLV_ENOTFOUND || (!ret && out->artifact.nr != 1))
		return mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv", *path ? path : ".");
	if (ret < 0)
		return ret;
	return mlv_resolved_descend(out, r, path);
}

int mlv_resolved_descend(struct mlv_resolved *out, struct mlv_repo *r, const char *path)
{
	const struct mlv_artifact *a = &out->artifact.items[0];
	struct mlv_buf sofar = MLV_BUF_INIT;
	struct mlv_store *s = NULL;
	const char *rest;
	int ret = 0;

	if (!a->within && strcmp(a->path, path) && strcmp(a->pointer, path)) {
		ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv", path);
		goto done;
	}
	if (a->error) {
		ret = mlv_error_set(MLV_EINVALID, "%s", a->error);
		goto done;
	}
	out->oid = a->ptr.oid;
	out->mode = a->ptr.type == MLV_PTYPE_DIR ? MLV_MODE_DIR :
		    a->ptr.exec ? MLV_MODE_EXEC : MLV_MODE_FILE;
	out->size = a->ptr.size;
	if (!a->within) {
		ret = check_type(r, a);
		goto done;
	}
	if (out->mode != MLV_MODE_DIR) {
		ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv ('%s' is a file)",
				    path, a->path);
		goto done;
	}
	if ((ret = mlv_repo_store(&s, r)) < 0)
		goto done;
	/* Down the trees, one component at a time. */
	rest = a->within + strlen(a->path) + 1;
	mlv_buf_adds(&sofar, a->path);
	while (*rest && !ret) {
		struct mlv_tree t = MLV_TREE_INIT;
		const struct mlv_tree_entry *e = NULL;
		size_t n = strcspn(rest, "/");
		char *name = mlv_strndup(rest, n);

		if (out->mode != MLV_MODE_DIR)
			ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv ('%s' is "
					    "not a directory in '%s')", path, sofar.ptr, a->pointer);
		else if (!(ret = mlv_tree_load(s, &out->oid, sofar.ptr, &t)) &&
			 !(e = mlv_tree_find(&t, name)))
			ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv (not in "
					    "tracked directory '%s')", path, a->path);
		if (e) {
			out->oid = e->oid;
			out->mode = e->mode;
			out->size = e->size;
		}
		mlv_buf_addf(&sofar, "/%s", name);
		free(name);
		mlv_tree_release(&t);
		rest += n + (rest[n] == '/');
	}
done:
	mlv_buf_release(&sofar);
	return ret;
}
