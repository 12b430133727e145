/*
 * Reading stored trees: load one, walk one recursively.
 */
#include <stdlib.h>
#include <string.h>

#include "mlv/store.h"
#include "mlv/tree.h"

int mlv_tree_load(struct mlv_store *s, const struct mlv_oid *id, const char *what,
		  struct mlv_tree *out)
{
	struct mlv_buf raw = MLV_BUF_INIT;
	enum mlv_object_type type;
	int ret = mlv_store_read(s, id, &raw, &type, MLV_OBJECT_META_MAX);

	if (!ret && type != MLV_OBJ_TREE)
		ret = mlv_error_set(MLV_ECORRUPT, "object %s (for '%s') is not a tree",
				    mlv_oid_hex(id), what);
	if (!ret)
		ret = mlv_tree_parse(out, raw.ptr, raw.len, what);
	mlv_buf_release(&raw);
	return ret;
}

int mlv_tree_walk(struct mlv_store *s, const struct mlv_oid *tree, const char *base,
		  mlv_tree_walk_fn fn, void *ctx)
{
	struct mlv_buf p = MLV_BUF_INIT;
	struct mlv_tree t = MLV_TREE_INIT;
	int ret = mlv_tree_load(s, tree, base, &t);

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
	mlv_buf_release(&p);
	return ret;
}
