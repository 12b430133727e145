/*
 * Three-way merge of stored trees (mlv/treemerge.h).
 *
 * Entries are compared by mode and id only: two identical versions decide
 * an entry without reading anything below it.  Only a directory changed
 * differently on both sides is loaded and merged entry by entry, so the
 * work is proportional to what changed, not to the size of the dataset.
 * A directory pointer also needs its file count, which a tree does not
 * record: it is kept as a difference from ours, computed where the result
 * leaves ours (a subtree taken from theirs is diffed against ours' version
 * of it, reading only the parts that differ).
 */
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/path.h"
#include "mlv/store.h"
#include "mlv/tree.h"
#include "mlv/treemerge.h"

/*
 * Subtrees are shared by id, so a small hostile tree can name the same
 * subtree at 2^40 paths: every merge (and file count) of a triple of ids
 * is remembered, so each distinct one is computed once, and reaching it
 * again costs its entries against the visit limit without reading it.
 */
enum memo_kind { MEMO_MERGE = 1, MEMO_DIFF = 2, MEMO_COUNT = 3 };

struct memo {
	int kind;
	unsigned char have[3];
	struct mlv_oid key[3];
	struct mlv_oid oid;
	uint64_t size;
	int64_t delta;
	size_t nr;
	uint64_t visits;
	unsigned height;     /* levels below it that were entered */
	size_t cstart, cend; /* its conflicts in the list, recorded below ... */
	size_t prefix_len;   /* ... a path this long */
	uint64_t found;      /* its conflicts, listed or not (past the cap) */
};

struct merger {
	struct memo *memo;
	unsigned char *used;
	size_t memo_nr, memo_cap;
	struct mlv_store *s;
	struct mlv_store_writer *w;
	enum mlv_merge_favor favor;
	const char *what;
	const struct mlv_oid *root;
	uint64_t visits;
	unsigned deepest; /* the deepest level entered so far */
	struct mlv_merge_conflicts *conflicts;
	uint64_t found;      /* conflicts found: listed, and omitted past the cap */
	struct mlv_buf path; /* below the root, "" at the root */
};

static size_t memo_hash(int kind, const struct mlv_oid *k[3])
{
	uint64_t h = (uint64_t)kind * 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < 3; i++) {
		uint64_t x = 0;

		if (k[i])
			memcpy(&x, k[i]->id, sizeof(x));
		h = (h ^ x) * 0x100000001b3ull + (uint64_t)i;
	}
	return (size_t)h;
}

static int memo_match(const struct memo *e, int kind, const struct mlv_oid *k[3])
{
	if (e->kind != kind)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (!e->have[i] != !k[i])
			return 0;
		if (k[i] && mlv_oid_cmp(&e->key[i], k[i]))
			return 0;
	}
	return 1;
}

static struct memo *memo_find(struct merger *m, int kind, const struct mlv_oid *k[3])
{
	if (!m->memo_cap)
		return NULL;
	for (size_t i = memo_hash(kind, k) & (m->memo_cap - 1); m->used[i];
	     i = (i + 1) & (m->memo_cap - 1))
		if (memo_match(&m->memo[i], kind, k))
			return &m->memo[i];
	return NULL;
}

static void memo_put(struct merger *m, const struct memo *e);

static void memo_grow(struct merger *m)
{
	struct memo *old = m->memo;
	unsigned char *old_used = m->used;
	size_t old_cap = m->memo_cap;

	m->memo_cap = old_cap ? old_cap * 2 : 256;
	m->memo = mlv_malloc(m->memo_cap * sizeof(*m->memo));
	m->used = mlv_calloc(m->memo_cap, 1);
	m->memo_nr = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old_used[i])
			memo_put(m, &old[i]);
	free(old);
	free(old_used);
}

static void memo_put(struct merger *m, const struct memo *e)
{
	const struct mlv_oid *k[3];
	size_t i;

	if ((m->memo_nr + 1) * 2 > m->memo_cap)
		memo_grow(m);
	for (int j = 0; j < 3; j++)
		k[j] = e->have[j] ? &e->key[j] : NULL;
	for (i = memo_hash(e->kind, k) & (m->memo_cap - 1); m->used[i];
	     i = (i + 1) & (m->memo_cap - 1))
		;
	m->used[i] = 1;
	m->memo[i] = *e;
	m->memo_nr++;
}

static void memo_key(struct memo *e, int kind, const struct mlv_oid *k[3])
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	for (int i = 0; i < 3; i++) {
		e->have[i] = !!k[i];
		if (k[i])
			e->key[i] = *k[i];
	}
}

/*
 * The conflicts of a remembered merge again, below the current path.  A
 * shared subtree's conflicts come once for each path it is reached at:
 * the list stops at MLV_MERGE_CONFLICTS_MAX, the rest only counted.
 */
static void replay_conflicts(struct merger *m, const struct memo *e)
{
	struct mlv_merge_conflicts *c = m->conflicts;
	uint64_t listed = 0;

	m->found += e->found;
	for (size_t i = e->cstart; i < e->cend && c->nr < MLV_MERGE_CONFLICTS_MAX; i++) {
		struct mlv_merge_conflict x = c->items[i];
		const char *rest = x.path + e->prefix_len;
		struct mlv_buf p = MLV_BUF_INIT;

		mlv_buf_add(&p, m->path.ptr ? m->path.ptr : "", m->path.len);
		if (!p.len && *rest == '/')
			rest++;
		mlv_buf_adds(&p, rest);
		x.path = mlv_buf_detach(&p, NULL);
		MLV_ALLOC_GROW(c->items, c->nr + 1, c->alloc);
		c->items[c->nr++] = x;
		listed++;
	}
	c->omitted += e->found - listed;
}

void mlv_merge_conflicts_release(struct mlv_merge_conflicts *c)
{
	for (size_t i = 0; i < c->nr; i++)
		free(c->items[i].path);
	free(c->items);
	c->items = NULL;
	c->nr = c->alloc = 0;
	c->omitted = 0;
}

void mlv_tree_merge_result_release(struct mlv_tree_merge_result *r)
{
	mlv_merge_conflicts_release(&r->conflicts);
}

const char *mlv_merge_change_name(enum mlv_merge_change c)
{
	switch (c) {
	case MLV_MERGE_ADDED:
		return "added";
	case MLV_MERGE_DELETED:
		return "deleted";
	case MLV_MERGE_MODIFIED:
		return "modified";
	case MLV_MERGE_TYPECHANGE:
		return "type change";
	default:
		return "unchanged";
	}
}

/* The path of the current entry for messages: "<what>/<path>". */
static const char *show(struct merger *m, struct mlv_buf *tmp)
{
	mlv_buf_reset(tmp);
	mlv_buf_adds(tmp, m->what);
	if (m->path.len) {
		if (tmp->len)
			mlv_buf_addch(tmp, '/');
		mlv_buf_add(tmp, m->path.ptr, m->path.len);
	}
	return tmp->ptr ? tmp->ptr : "";
}

static int same(const struct mlv_tree_entry *a, const struct mlv_tree_entry *b)
{
	if (!a || !b)
		return !a && !b;
	return a->mode == b->mode && !mlv_oid_cmp(&a->oid, &b->oid);
}

static int is_dir(const struct mlv_tree_entry *e)
{
	return e && e->mode == MLV_MODE_DIR;
}

static int type_of(uint32_t mode)
{
	return mode == MLV_MODE_DIR ? 2 : mode == MLV_MODE_LINK ? 1 : 0;
}

static enum mlv_merge_change change(const struct mlv_tree_entry *b, const struct mlv_tree_entry *x)
{
	if (same(b, x))
		return MLV_MERGE_UNCHANGED;
	if (!b)
		return MLV_MERGE_ADDED;
	if (!x)
		return MLV_MERGE_DELETED;
	if (type_of(b->mode) != type_of(x->mode))
		return MLV_MERGE_TYPECHANGE;
	return MLV_MERGE_MODIFIED;
}

static void version(struct mlv_merge_version *v, const struct mlv_tree_entry *e)
{
	memset(v, 0, sizeof(*v));
	if (e) {
		v->mode = e->mode;
		v->size = e->size;
		v->oid = e->oid;
	}
}

static int visit(struct merger *m, uint64_t n)
{
	if (n > MLV_TREE_VISIT_MAX - m->visits) {
		struct mlv_buf tmp = MLV_BUF_INIT;
		int ret = mlv_error_set(MLV_EINVALID,
					"merging tree '%s' (%s) visits more than %llu entries (shared subtrees count each time they are reached)",
					show(m, &tmp), mlv_oid_hex(m->root),
					(unsigned long long)MLV_TREE_VISIT_MAX);

		mlv_buf_release(&tmp);
		return ret;
	}
	m->visits += n;
	return 0;
}

/* Load the tree `id` of `side` at the current path; NULL is an empty tree. */
static int load(struct merger *m, const struct mlv_oid *id, const char *side, struct mlv_tree *out)
{
	struct mlv_buf tmp = MLV_BUF_INIT;
	int ret;

	if (!id)
		return 0;
	ret = mlv_store_has(m->s, id);
	if (ret == 0)
		ret = mlv_error_set(MLV_ENOTFOUND, "tree %s ('%s' in %s) is not in the store",
				    mlv_oid_hex(id), show(m, &tmp), side);
	else if (ret > 0)
		ret = mlv_tree_load(m->s, id, show(m, &tmp), out);
	if (!ret)
		ret = visit(m, out->nr);
	mlv_buf_release(&tmp);
	return ret;
}

/* Files (non-directory entries) at or below entry `e`: 0, 1 or its tree's count. */
static int files_of(struct merger *m, const struct mlv_tree_entry *e, uint64_t *out)
{
	const struct mlv_oid *k[3] = { e ? &e->oid : NULL, NULL, NULL };
	struct mlv_buf tmp = MLV_BUF_INIT;
	struct memo me, *hit;
	int ret = 0;

	*out = !e ? 0 : !is_dir(e) ? 1 : 0;
	if (!is_dir(e))
		return 0;
	if ((hit = memo_find(m, MEMO_COUNT, k))) {
		*out = (uint64_t)hit->delta;
		return visit(m, *out);
	}
	ret = mlv_tree_count(m->s, &e->oid, show(m, &tmp), MLV_TREE_VISIT_MAX - m->visits, out);
	mlv_buf_release(&tmp);
	if (!ret)
		ret = visit(m, *out);
	if (!ret) {
		memo_key(&me, MEMO_COUNT, k);
		me.delta = (int64_t)*out;
		memo_put(m, &me);
	}
	return ret;
}

static int diff_count(struct merger *m, const struct mlv_oid *a, const struct mlv_oid *b,
		      unsigned depth, int64_t *delta);

/* Files below `to` minus files below `from` (the same path, two versions). */
static int count_replace(struct merger *m, const struct mlv_tree_entry *from,
			 const struct mlv_tree_entry *to, unsigned depth, int64_t *delta)
{
	uint64_t nf, nt;
	int ret;

	if (same(from, to))
		return 0;
	if (is_dir(from) && is_dir(to))
		return diff_count(m, &from->oid, &to->oid, depth, delta);
	if ((ret = files_of(m, from, &nf)) || (ret = files_of(m, to, &nt)))
		return ret;
	*delta += (int64_t)nt - (int64_t)nf;
	return 0;
}

static int too_deep(struct merger *m)
{
	struct mlv_buf tmp = MLV_BUF_INIT;
	int ret = mlv_error_set(MLV_EINVALID, "tree %s ('%s') is deeper than %u levels at '%.128s...'",
				mlv_oid_hex(m->root), m->what, MLV_TREE_DEPTH_MAX, show(m, &tmp));

	mlv_buf_release(&tmp);
	return ret;
}

static int push_name(struct merger *m, const char *name, size_t *saved)
{
	*saved = m->path.len;
	if (m->path.len)
		mlv_buf_addch(&m->path, '/');
	mlv_buf_adds(&m->path, name);
	if (m->path.len + strlen(m->what) + 1 > MLV_PATH_MAX) {
		int ret = mlv_error_set(MLV_EINVALID, "tree '%s': path '%.64s...' is too long",
					m->what, m->path.ptr);

		mlv_buf_setlen(&m->path, *saved);
		return ret;
	}
	return 0;
}

/* The smallest name among the current entries of three sorted trees. */
static const char *next_name(const struct mlv_tree *t[3], const size_t pos[3])
{
	const char *best = NULL;

	for (int k = 0; k < 3; k++)
		if (pos[k] < t[k]->nr && (!best || strcmp(t[k]->entries[pos[k]].name, best) < 0))
			best = t[k]->entries[pos[k]].name;
	return best;
}

/* Take the entry at `name` of each tree that has it. */
static void take_current(const struct mlv_tree *t[3], size_t pos[3], const char *name,
			 const struct mlv_tree_entry *e[3])
{
	for (int k = 0; k < 3; k++) {
		e[k] = NULL;
		if (pos[k] < t[k]->nr && !strcmp(t[k]->entries[pos[k]].name, name))
			e[k] = &t[k]->entries[pos[k]++];
	}
}

static int diff_count_1(struct merger *m, const struct mlv_oid *a, const struct mlv_oid *b,
			unsigned depth, int64_t *delta)
{
	struct mlv_tree ta = MLV_TREE_INIT, tb = MLV_TREE_INIT, none = MLV_TREE_INIT;
	const struct mlv_tree *t[3] = { &ta, &tb, &none };
	size_t pos[3] = { 0, 0, 0 };
	const char *name;
	int ret;

	if ((ret = load(m, a, "ours", &ta)) || (ret = load(m, b, "theirs", &tb)))
		goto done;
	while (!ret && (name = next_name(t, pos))) {
		const struct mlv_tree_entry *e[3];
		size_t saved;

		take_current(t, pos, name, e);
		if (same(e[0], e[1]))
			continue;
		if ((ret = push_name(m, name, &saved)))
			break;
		ret = count_replace(m, e[0], e[1], depth + 1, delta);
		mlv_buf_setlen(&m->path, saved);
	}
done:
	mlv_tree_release(&ta);
	mlv_tree_release(&tb);
	return ret;
}

/* Theirs' object for the current path must be in the store. */
static int check_present(struct merger *m, const struct mlv_tree_entry *e)
{
	struct mlv_buf tmp = MLV_BUF_INIT;
	int ret = is_dir(e) ? mlv_store_has(m->s, &e->oid) : mlv_store_has_blob(m->s, &e->oid);

	if (ret == 0)
		ret = mlv_error_set(MLV_ENOTFOUND, "%s %s ('%s' in theirs) is not in the store",
				    is_dir(e) ? "tree" : "object", mlv_oid_hex(&e->oid),
				    show(m, &tmp));
	mlv_buf_release(&tmp);
	return ret < 0 ? ret : 0;
}

static int add_size(struct merger *m, uint64_t *size, uint64_t add)
{
	if (add > (uint64_t)INT64_MAX - *size) {
		struct mlv_buf tmp = MLV_BUF_INIT;
		int ret = mlv_error_set(MLV_EINVALID, "merged tree '%s' would hold more than %lld bytes",
					show(m, &tmp), (long long)INT64_MAX);

		mlv_buf_release(&tmp);
		return ret;
	}
	*size += add;
	return 0;
}

static int merge_trees(struct merger *m, const struct mlv_oid *b, const struct mlv_oid *o,
		       const struct mlv_oid *t, unsigned depth, struct mlv_oid *out,
		       uint64_t *size, int64_t *delta, size_t *nr);

/* Take theirs' version `e` (NULL: delete) where ours had `o`. */
static int take_theirs(struct merger *m, struct mlv_tree *out, uint64_t *size, int64_t *delta,
		       const struct mlv_tree_entry *o, const struct mlv_tree_entry *e,
		       unsigned depth)
{
	int ret;

	if (!e)
		return count_replace(m, o, NULL, depth, delta);
	if ((ret = check_present(m, e)) || (ret = count_replace(m, o, e, depth, delta)) ||
	    (ret = add_size(m, size, e->size)))
		return ret;
	mlv_tree_add(out, e->name, e->mode, e->size, &e->oid);
	return 0;
}

static int take(struct merger *m, struct mlv_tree *out, uint64_t *size,
		const struct mlv_tree_entry *e)
{
	int ret;

	if (!e)
		return 0;
	if ((ret = add_size(m, size, e->size)))
		return ret;
	mlv_tree_add(out, e->name, e->mode, e->size, &e->oid);
	return 0;
}

static void record(struct merger *m, const struct mlv_tree_entry *b, const struct mlv_tree_entry *o,
		   const struct mlv_tree_entry *t)
{
	struct mlv_merge_conflicts *c = m->conflicts;
	struct mlv_merge_conflict *x;

	m->found++;
	if (c->nr >= MLV_MERGE_CONFLICTS_MAX) {
		c->omitted++;
		return;
	}
	MLV_ALLOC_GROW(c->items, c->nr + 1, c->alloc);
	x = &c->items[c->nr++];
	x->path = mlv_strndup(m->path.ptr ? m->path.ptr : "", m->path.len);
	x->ours = change(b, o);
	x->theirs = change(b, t);
	version(&x->base_v, b);
	version(&x->ours_v, o);
	version(&x->theirs_v, t);
}

static int merge_entry(struct merger *m, const char *name, const struct mlv_tree_entry *b,
		       const struct mlv_tree_entry *o, const struct mlv_tree_entry *t,
		       unsigned depth, struct mlv_tree *out, uint64_t *size, int64_t *delta)
{
	struct mlv_oid id;
	uint64_t sub_size = 0;
	size_t sub_nr = 0;
	int ret;

	if (same(o, t) || same(b, t))
		return take(m, out, size, o);
	if (same(b, o))
		return take_theirs(m, out, size, delta, o, t, depth);
	/* Changed two different ways. */
	if ((is_dir(o) && is_dir(t)) || (is_dir(b) && (is_dir(o) || !o) && (is_dir(t) || !t))) {
		ret = merge_trees(m, is_dir(b) ? &b->oid : NULL, o ? &o->oid : NULL,
				  t ? &t->oid : NULL, depth + 1, &id, &sub_size, delta, &sub_nr);
		if (ret)
			return ret;
		/* Deleted on one side, and nothing of the other's is left. */
		if ((!o || !t) && !sub_nr)
			return 0;
		if ((ret = add_size(m, size, sub_size)))
			return ret;
		mlv_tree_add(out, name, MLV_MODE_DIR, sub_size, &id);
		return 0;
	}
	record(m, b, o, t);
	if (m->favor == MLV_MERGE_FAVOR_THEIRS)
		return take_theirs(m, out, size, delta, o, t, depth);
	return take(m, out, size, o);
}

static int merge_trees_1(struct merger *m, const struct mlv_oid *b, const struct mlv_oid *o,
			 const struct mlv_oid *t, unsigned depth, struct mlv_oid *out,
			 uint64_t *size, int64_t *delta, size_t *nr)
{
	struct mlv_tree tb = MLV_TREE_INIT, to = MLV_TREE_INIT, tt = MLV_TREE_INIT;
	struct mlv_tree res = MLV_TREE_INIT;
	const struct mlv_tree *trees[3] = { &tb, &to, &tt };
	struct mlv_buf enc = MLV_BUF_INIT;
	size_t pos[3] = { 0, 0, 0 };
	const char *name;
	int ret;

	*size = 0;
	if ((ret = load(m, b, "base", &tb)) || (ret = load(m, o, "ours", &to)) ||
	    (ret = load(m, t, "theirs", &tt)))
		goto done;
	while (!ret && (name = next_name(trees, pos))) {
		const struct mlv_tree_entry *e[3];
		size_t saved;

		take_current(trees, pos, name, e);
		if ((ret = push_name(m, name, &saved)))
			break;
		ret = merge_entry(m, name, e[0], e[1], e[2], depth, &res, size, delta);
		mlv_buf_setlen(&m->path, saved);
	}
	if (ret)
		goto done;
	*nr = res.nr;
	if ((ret = mlv_tree_encode(&enc, &res)))
		goto done;
	ret = mlv_store_writer_put_tree(m->w, out, enc.ptr, enc.len);
done:
	mlv_tree_release(&tb);
	mlv_tree_release(&to);
	mlv_tree_release(&tt);
	mlv_tree_release(&res);
	mlv_buf_release(&enc);
	return ret;
}

/*
 * Enter level `depth` for the triple `k` (MEMO_MERGE or MEMO_DIFF): a
 * remembered result is replayed (1), or the caller computes it (0) and
 * calls leave().
 */
static int enter(struct merger *m, int kind, const struct mlv_oid *k[3], unsigned depth,
		 struct memo *me)
{
	const struct memo *hit = memo_find(m, kind, k);
	int ret;

	if (hit) {
		*me = *hit;
		if (depth + me->height > MLV_TREE_DEPTH_MAX)
			return too_deep(m);
		if ((ret = visit(m, me->visits)))
			return ret;
		if (depth + me->height > m->deepest)
			m->deepest = depth + me->height;
		replay_conflicts(m, me);
		return 1;
	}
	if (depth > MLV_TREE_DEPTH_MAX)
		return too_deep(m);
	memo_key(me, kind, k);
	me->visits = m->visits;      /* for now: where it started */
	me->height = m->deepest;     /* for now: the deepest level before it */
	me->cstart = m->conflicts->nr;
	me->found = m->found;        /* for now: conflicts before it */
	me->prefix_len = m->path.len;
	m->deepest = depth;
	return 0;
}

static void leave(struct merger *m, struct memo *me, unsigned depth)
{
	unsigned before = me->height;

	me->visits = m->visits - me->visits;
	me->height = m->deepest - depth;
	me->cend = m->conflicts->nr;
	me->found = m->found - me->found;
	memo_put(m, me);
	if (before > m->deepest)
		m->deepest = before;
}

static int diff_count(struct merger *m, const struct mlv_oid *a, const struct mlv_oid *b,
		      unsigned depth, int64_t *delta)
{
	const struct mlv_oid *k[3] = { a, b, NULL };
	struct memo me;
	int64_t d = 0;
	int ret = enter(m, MEMO_DIFF, k, depth, &me);

	if (ret == 1) {
		*delta += me.delta;
		return 0;
	}
	if (ret || (ret = diff_count_1(m, a, b, depth, &d)))
		return ret;
	me.delta = d;
	leave(m, &me, depth);
	*delta += d;
	return 0;
}

static int merge_trees(struct merger *m, const struct mlv_oid *b, const struct mlv_oid *o,
		       const struct mlv_oid *t, unsigned depth, struct mlv_oid *out,
		       uint64_t *size, int64_t *delta, size_t *nr)
{
	const struct mlv_oid *k[3] = { b, o, t };
	struct memo me;
	int64_t d = 0;
	int ret = enter(m, MEMO_MERGE, k, depth, &me);

	if (ret == 1) {
		*out = me.oid;
		*size = me.size;
		*nr = me.nr;
		*delta += me.delta;
		return 0;
	}
	if (ret || (ret = merge_trees_1(m, b, o, t, depth, out, size, &d, nr)))
		return ret;
	me.oid = *out;
	me.size = *size;
	me.nr = *nr;
	me.delta = d;
	leave(m, &me, depth);
	*delta += d;
	return 0;
}

int mlv_tree_merge(struct mlv_store *s, struct mlv_store_writer *w, const struct mlv_oid *base,
		   const struct mlv_oid *ours, const struct mlv_oid *theirs, const char *what,
		   enum mlv_merge_favor favor, struct mlv_tree_merge_result *out)
{
	struct merger m;
	size_t nr = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!ours || !theirs)
		return mlv_error_set(MLV_EINVALID, "merging '%s': ours and theirs must be trees",
				     what ? what : "");
	memset(&m, 0, sizeof(m));
	m.s = s;
	m.w = w;
	m.favor = favor;
	m.what = what ? what : "";
	m.root = ours;
	m.conflicts = &out->conflicts;
	mlv_buf_init(&m.path, 0);
	ret = merge_trees(&m, base, ours, theirs, 1, &out->oid, &out->size, &out->files_delta,
			  &nr);
	mlv_buf_release(&m.path);
	free(m.memo);
	free(m.used);
	return ret;
}
