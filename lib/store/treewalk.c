/*
 * Reading stored trees: load one, count one, walk one recursively.
 *
 * Trees come from other people, and subtrees are shared by id: a tree of
 * a few hundred bytes can name 2^41 files.  Counting remembers the counts
 * of every distinct subtree it has read, so it reads each once and fails
 * as soon as the total passes the limit; walking counts first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/path.h"
#include "mlv/store.h"
#include "mlv/tree.h"
#include "store/pack.h"

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

struct memo_entry {
	struct mlv_oid id;
	uint64_t visits, files;
};

struct counter {
	struct mlv_store *s;
	const char *what;
	const struct mlv_oid *root;
	uint64_t limit;
	struct memo_entry *slots;
	unsigned char *used;
	size_t nr, cap;
};

static size_t memo_slot(const struct mlv_oid *id, size_t cap)
{
	uint64_t h;

	memcpy(&h, id->id, sizeof(h));
	return (size_t)(h & (cap - 1));
}

static const struct memo_entry *memo_find(const struct counter *c, const struct mlv_oid *id)
{
	if (!c->cap)
		return NULL;
	for (size_t i = memo_slot(id, c->cap); c->used[i]; i = (i + 1) & (c->cap - 1))
		if (!mlv_oid_cmp(&c->slots[i].id, id))
			return &c->slots[i];
	return NULL;
}

static void memo_add(struct counter *c, const struct memo_entry *e)
{
	size_t i;

	if ((c->nr + 1) * 2 > c->cap) {
		struct counter big = *c;

		big.cap = c->cap ? c->cap * 2 : 256;
		big.nr = 0;
		big.slots = mlv_malloc(big.cap * sizeof(*big.slots));
		big.used = mlv_calloc(big.cap, 1);
		for (size_t k = 0; k < c->cap; k++)
			if (c->used[k])
				memo_add(&big, &c->slots[k]);
		free(c->slots);
		free(c->used);
		c->slots = big.slots;
		c->used = big.used;
		c->cap = big.cap;
		c->nr = big.nr;
	}
	for (i = memo_slot(&e->id, c->cap); c->used[i]; i = (i + 1) & (c->cap - 1))
		;
	c->used[i] = 1;
	c->slots[i] = *e;
	c->nr++;
}

static int too_many(const struct counter *c)
{
	return mlv_error_set(MLV_EINVALID,
			     "tree '%s' (%s) holds more than %llu entries (shared subtrees count each time they are reached)",
			     c->what, mlv_oid_hex(c->root), (unsigned long long)c->limit);
}

static int too_deep(const char *what, const struct mlv_oid *root)
{
	return mlv_error_set(MLV_EINVALID, "tree '%s' (%s) is deeper than %u levels", what,
			     mlv_oid_hex(root), MLV_TREE_DEPTH_MAX);
}

static int count_tree(struct counter *c, const struct mlv_oid *id, unsigned depth,
		      struct memo_entry *out)
{
	const struct memo_entry *m = memo_find(c, id);
	struct mlv_tree t = MLV_TREE_INIT;
	struct memo_entry me;
	int ret;

	if (m) {
		*out = *m;
		return 0;
	}
	if (depth > MLV_TREE_DEPTH_MAX)
		return too_deep(c->what, c->root);
	if ((ret = mlv_tree_load(c->s, id, c->what, &t)))
		return ret;
	me.id = *id;
	me.visits = me.files = 0;
	for (size_t i = 0; i < t.nr; i++) {
		const struct mlv_tree_entry *e = &t.entries[i];

		me.visits++;
		if (e->mode == MLV_MODE_DIR) {
			struct memo_entry sub;

			if ((ret = count_tree(c, &e->oid, depth + 1, &sub)))
				goto done;
			/* Each term is at most `limit`: no overflow before the check. */
			me.visits += sub.visits;
			me.files += sub.files;
		} else {
			me.files++;
		}
		if (me.visits > c->limit) {
			ret = too_many(c);
			goto done;
		}
	}
	memo_add(c, &me);
	*out = me;
done:
	mlv_tree_release(&t);
	return ret;
}

int mlv_tree_count(struct mlv_store *s, const struct mlv_oid *id, const char *what,
		   uint64_t limit, uint64_t *files_out)
{
	struct counter c = { s, what ? what : "", id, limit, NULL, NULL, 0, 0 };
	struct memo_entry total;
	int ret;

	if (c.limit > (1ull << 62))
		c.limit = 1ull << 62;
	ret = count_tree(&c, id, 1, &total);
	free(c.slots);
	free(c.used);
	if (!ret && files_out)
		*files_out = total.files;
	return ret;
}

static int walk(struct mlv_store *s, const struct mlv_oid *tree, const char *base,
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
		if (p.len > MLV_PATH_MAX)
			ret = mlv_error_set(MLV_EINVALID, "tree '%s': path '%.64s...' is too long (%zu bytes)",
					    base, p.ptr, p.len);
		else if (e->mode == MLV_MODE_DIR)
			ret = walk(s, &e->oid, p.ptr, fn, ctx);
		else
			ret = fn(ctx, p.ptr, e);
	}
	mlv_tree_release(&t);
	mlv_buf_release(&p);
	return ret;
}

int mlv_tree_walk(struct mlv_store *s, const struct mlv_oid *tree, const char *base,
		  mlv_tree_walk_fn fn, void *ctx)
{
	int ret = mlv_tree_count(s, tree, base, MLV_TREE_VISIT_MAX, NULL);

	return ret ? ret : walk(s, tree, base, fn, ctx);
}

/* A blob's length: a chunk's, or the total of its recipe's chunks. */
static int blob_size(struct mlv_store *s, const struct mlv_oid *id, const struct mlv_object_info *info,
		     const char *path, uint64_t *out)
{
	struct mlv_buf raw = MLV_BUF_INIT;
	char what[MLV_PATH_MAX + 96];
	int ret;

	if (info->type == MLV_OBJ_CHUNK) {
		*out = info->size;
		return 0;
	}
	snprintf(what, sizeof(what), "object %s for '%s'", mlv_oid_hex(id), path);
	if (!(ret = mlv_store_read(s, id, &raw, NULL, MLV_OBJECT_META_MAX)))
		ret = mlv_recipe_check(raw.ptr, raw.len, NULL, out, what);
	mlv_buf_release(&raw);
	return ret;
}

struct target {
	struct mlv_buf buf;
	int too_long;
};

static int take_target(void *ctx, const void *data, size_t len)
{
	struct target *t = ctx;

	if (len > MLV_LINK_TARGET_MAX - t->buf.len) {
		t->too_long = 1;
		return 1;
	}
	mlv_buf_add(&t->buf, data, len);
	return 0;
}

int mlv_tree_entry_check(struct mlv_store *s, const struct mlv_tree_entry *e, const char *path)
{
	struct mlv_object_info info;
	const char *hex = mlv_oid_hex(&e->oid);
	uint64_t have;
	int ret = mlv_store_info(s, &e->oid, &info);

	if (ret)
		return ret;
	if (e->mode == MLV_MODE_DIR) {
		if (info.type != MLV_OBJ_TREE)
			return mlv_error_set(MLV_ECORRUPT, "object %s for directory '%s' is a %s, not a tree",
					     hex, path, mlv_store_name(s, info.type));
		return 0;
	}
	if (info.type != MLV_OBJ_CHUNK && info.type != MLV_OBJ_RECIPE)
		return mlv_error_set(MLV_ECORRUPT, "object %s for '%s' is a %s, not a %s", hex, path,
				     mlv_store_name(s, info.type),
				     e->mode == MLV_MODE_LINK ? "symlink target" : "file");
	if (e->mode == MLV_MODE_LINK) {
		struct target t = { MLV_BUF_INIT, 0 };

		ret = mlv_store_read_blob(s, &e->oid, take_target, &t);
		if (t.too_long)
			ret = mlv_error_set(MLV_ECORRUPT,
					    "symlink '%s': its target (object %s) is longer than %d bytes",
					    path, hex, MLV_LINK_TARGET_MAX);
		else if (!ret && !t.buf.len)
			ret = mlv_error_set(MLV_ECORRUPT, "symlink '%s': its target (object %s) is empty",
					    path, hex);
		else if (!ret && memchr(t.buf.ptr, '\0', t.buf.len))
			ret = mlv_error_set(MLV_ECORRUPT,
					    "symlink '%s': its target (object %s) holds a NUL byte", path,
					    hex);
		mlv_buf_release(&t.buf);
		return ret;
	}
	if ((ret = blob_size(s, &e->oid, &info, path, &have)))
		return ret;
	if (have != e->size)
		return mlv_error_set(MLV_ECORRUPT, "object %s for '%s' holds %llu bytes, but %llu were recorded",
				     hex, path, (unsigned long long)have, (unsigned long long)e->size);
	return 0;
}
