/*
 * Diff of two stored trees (mlv/treediff.h).
 *
 * Both trees are read level by level, side by side; a subdirectory is
 * entered only when its ids differ, so unchanged subtrees cost nothing.
 * Work is bounded: depth by MLV_TREE_DEPTH_MAX, entries visited by a
 * limit.  Before anything is walked, what the walk would visit is counted
 * without walking it: by pairs of tree ids (old, new), each distinct pair
 * computed once and remembered, so that a small hostile tree naming 2^41
 * files through shared subtrees, on one side or on both, fails at once.
 * The trees the count parses are kept (up to a bound) for the walk, which
 * reads nothing twice.
 *
 * Renames need every deletion and addition before any can be reported:
 * then changes are gathered, paired, and passed on at the end -- up to a
 * bound, past which they are passed on as they come, without renames.
 */
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/path.h"
#include "mlv/store.h"
#include "mlv/tree.h"
#include "mlv/treediff.h"

/* Entries of parsed trees kept from the count for the walk. */
#define CACHE_ENTRIES_MAX (1u << 20)

struct rec {
	struct mlv_tree_change c;
	char *path, *old_path; /* owned; c.path and c.old_path point here */
	int dropped;           /* a deletion paired into a rename */
};

struct differ {
	struct mlv_store *s;
	unsigned flags;
	const char *within; /* relative to the root; NULL: everything */
	size_t within_len;
	size_t rel_off;     /* where the path inside the trees starts in a path */
	const char *what;   /* the root, for messages */
	const struct mlv_oid *old_root, *new_root;
	uint64_t limit, visits;
	mlv_tree_diff_fn fn;
	void *ctx;
	int gather;
	size_t gather_max;
	int *renames_skipped;
	struct rec *recs;
	size_t nr, alloc;
	/* The count: what the walk of a pair of trees visits, by ids. */
	struct cost *costs;
	size_t costs_nr, costs_cap;
	/* Trees parsed by the count, for the walk. */
	struct cached **trees;
	size_t trees_nr, trees_cap;
	uint64_t cached_entries;
};

struct cost {
	struct mlv_oid a, b; /* one side only: b is unused */
	unsigned char used, one_sided;
	unsigned height;     /* levels below it */
	uint64_t visits;
};

struct cached {
	struct mlv_oid id;
	struct mlv_tree t;
};

static int too_many(struct differ *d)
{
	const struct mlv_oid *root = d->new_root ? d->new_root : d->old_root;

	return mlv_error_set(MLV_EINVALID,
			     "diff of tree '%s' (%s): more than %llu entries to compare (shared subtrees count each time they are reached)",
			     d->what, root ? mlv_oid_hex(root) : "empty", (unsigned long long)d->limit);
}

static int visit(struct differ *d)
{
	return ++d->visits > d->limit ? too_many(d) : 0;
}

static void free_recs(struct differ *d)
{
	for (size_t k = 0; k < d->nr; k++) {
		free(d->recs[k].path);
		free(d->recs[k].old_path);
	}
	free(d->recs);
	d->recs = NULL;
	d->nr = d->alloc = 0;
}

/*
 * Too many changes to pair: pass on those gathered (in tree order, as
 * they would have come without rename detection) and the rest as they
 * come.
 */
static int stop_gathering(struct differ *d)
{
	int ret = 0;

	for (size_t k = 0; !ret && k < d->nr; k++)
		ret = d->fn(d->ctx, &d->recs[k].c);
	free_recs(d);
	d->gather = 0;
	if (d->renames_skipped)
		*d->renames_skipped = 1;
	return ret;
}

static int emit(struct differ *d, const struct mlv_tree_change *c)
{
	struct rec *r;
	int ret;

	if (d->gather && d->nr >= d->gather_max && (ret = stop_gathering(d)))
		return ret;
	if (!d->gather)
		return d->fn(d->ctx, c);
	MLV_ALLOC_GROW(d->recs, d->nr + 1, d->alloc);
	r = &d->recs[d->nr++];
	r->c = *c;
	r->path = mlv_strdup(c->path);
	r->old_path = NULL;
	r->dropped = 0;
	r->c.path = r->c.old_path = r->path;
	return 0;
}

/* Parsed trees kept for the walk, by id. */

static size_t oid_hash(const struct mlv_oid *id)
{
	size_t h;

	memcpy(&h, id->id, sizeof(h));
	return h;
}

static struct cached *cache_find(struct differ *d, const struct mlv_oid *id)
{
	if (!d->trees_cap)
		return NULL;
	for (size_t i = oid_hash(id) & (d->trees_cap - 1); d->trees[i];
	     i = (i + 1) & (d->trees_cap - 1))
		if (!mlv_oid_cmp(&d->trees[i]->id, id))
			return d->trees[i];
	return NULL;
}

static void cache_put(struct differ *d, struct cached *c)
{
	size_t i;

	if ((d->trees_nr + 1) * 2 > d->trees_cap) {
		struct cached **old = d->trees;
		size_t old_cap = d->trees_cap;

		d->trees_cap = old_cap ? old_cap * 2 : 64;
		d->trees = mlv_calloc(d->trees_cap, sizeof(*d->trees));
		d->trees_nr = 0;
		for (size_t k = 0; k < old_cap; k++)
			if (old[k])
				cache_put(d, old[k]);
		free(old);
	}
	for (i = oid_hash(&c->id) & (d->trees_cap - 1); d->trees[i]; i = (i + 1) & (d->trees_cap - 1))
		;
	d->trees[i] = c;
	d->trees_nr++;
}

/*
 * Tree `id` (directory `path`), parsed: the one kept, or read into `tmp`
 * and kept while the cache has room (the caller releases `tmp` either way).
 */
static int get_tree(struct differ *d, const struct mlv_oid *id, const char *path,
		    struct mlv_tree *tmp, const struct mlv_tree **out)
{
	struct cached *c = cache_find(d, id);
	int ret;

	if (c) {
		*out = &c->t;
		return 0;
	}
	if ((ret = mlv_tree_load(d->s, id, path, tmp)))
		return ret;
	*out = tmp;
	if (d->cached_entries + tmp->nr > CACHE_ENTRIES_MAX)
		return 0;
	c = mlv_malloc(sizeof(*c));
	c->id = *id;
	c->t = *tmp;
	memset(tmp, 0, sizeof(*tmp));
	d->cached_entries += c->t.nr;
	cache_put(d, c);
	*out = &c->t;
	return 0;
}

/* 1 when tree `id` is in the store (or kept), 0 when not, < 0 on error. */
static int present(struct differ *d, const struct mlv_oid *id)
{
	return cache_find(d, id) ? 1 : mlv_store_has(d->s, id);
}

static void free_cache(struct differ *d)
{
	for (size_t i = 0; i < d->trees_cap; i++) {
		if (d->trees[i]) {
			mlv_tree_release(&d->trees[i]->t);
			free(d->trees[i]);
		}
	}
	free(d->trees);
}

static void side(struct mlv_tree_change *c, int new_side, const struct mlv_tree_entry *e)
{
	if (new_side) {
		c->new_mode = e->mode;
		c->new_size = e->size;
		c->new_oid = e->oid;
	} else {
		c->old_mode = e->mode;
		c->old_size = e->size;
		c->old_oid = e->oid;
	}
}

static int missing(struct differ *d, const char *path, const struct mlv_oid *old_id,
		   const struct mlv_oid *new_id)
{
	struct mlv_tree_change c;

	memset(&c, 0, sizeof(c));
	if (!(d->flags & MLV_TREE_DIFF_MISSING_OK))
		return mlv_error_set(MLV_ENOTFOUND, "tree %s for '%s' is not in the store",
				     mlv_oid_hex(old_id ? old_id : new_id), path);
	c.kind = '!';
	c.path = c.old_path = path;
	if (old_id) {
		c.old_mode = MLV_MODE_DIR;
		c.old_oid = *old_id;
	}
	if (new_id) {
		c.new_mode = MLV_MODE_DIR;
		c.new_oid = *new_id;
	}
	return emit(d, &c);
}

/*
 * Load tree `id` standing for directory `path` (see get_tree()).  1 when
 * it is not in the store and that was reported as a '!' change.
 */
static int load(struct differ *d, const struct mlv_oid *id, const char *path,
		struct mlv_tree *tmp, const struct mlv_tree **t)
{
	int ret = present(d, id);

	if (ret < 0)
		return ret;
	if (!ret) {
		ret = missing(d, path, id, NULL);
		return ret ? ret : 1;
	}
	return get_tree(d, id, path, tmp, t);
}

/* Relevance of rel path `rel` to opts->within: 2 at or below it, 1 on the way, 0 neither. */
static int relevance(const struct differ *d, const char *rel)
{
	size_t rl = strlen(rel);

	if (rl >= d->within_len) {
		if (!memcmp(rel, d->within, d->within_len) &&
		    (rel[d->within_len] == '\0' || rel[d->within_len] == '/'))
			return 2;
		return 0;
	}
	return !memcmp(rel, d->within, rl) && d->within[rl] == '/';
}

static int join(struct differ *d, struct mlv_buf *p, const char *dir, const char *name)
{
	mlv_buf_reset(p);
	if (*dir)
		mlv_buf_addf(p, "%s/", dir);
	mlv_buf_adds(p, name);
	if (p->len > MLV_PATH_MAX)
		return mlv_error_set(MLV_EINVALID, "tree '%s': path '%.64s...' is too long (%zu bytes)",
				     d->what, p->ptr, p->len);
	return 0;
}

static int too_deep(struct differ *d)
{
	return mlv_error_set(MLV_EINVALID, "tree '%s' is deeper than %u levels", d->what,
			     MLV_TREE_DEPTH_MAX);
}

/* Every file below tree `id` (at `path`), added (new_side) or deleted. */
static int one_side(struct differ *d, const struct mlv_oid *id, const char *path, int new_side,
		    unsigned depth, int inside)
{
	struct mlv_tree tmp = MLV_TREE_INIT;
	const struct mlv_tree *t;
	struct mlv_buf p = MLV_BUF_INIT;
	int ret;

	if (depth > MLV_TREE_DEPTH_MAX)
		return too_deep(d);
	if ((ret = load(d, id, path, &tmp, &t)))
		return ret > 0 ? 0 : ret;
	for (size_t i = 0; !ret && i < t->nr; i++) {
		const struct mlv_tree_entry *e = &t->entries[i];
		int rel = 2;

		if ((ret = join(d, &p, path, e->name)))
			break;
		if (!inside && !(rel = relevance(d, p.ptr + d->rel_off)))
			continue;
		if ((ret = visit(d)))
			break;
		if (e->mode == MLV_MODE_DIR) {
			ret = one_side(d, &e->oid, p.ptr, new_side, depth + 1, rel == 2);
		} else if (rel == 2) {
			struct mlv_tree_change c;

			memset(&c, 0, sizeof(c));
			c.kind = new_side ? 'A' : 'D';
			c.path = c.old_path = p.ptr;
			side(&c, new_side, e);
			ret = emit(d, &c);
		}
	}
	mlv_tree_release(&tmp);
	mlv_buf_release(&p);
	return ret;
}

/*
 * One step of a walk of sorted trees `a` and `b` (`b` may be NULL) side
 * by side: the entry of each that comes next by name, NULL for the side
 * that has no entry of that name.
 */
static void next_pair(const struct mlv_tree *a, const struct mlv_tree *b, size_t *i, size_t *j,
		      const struct mlv_tree_entry **x, const struct mlv_tree_entry **y)
{
	int cmp;

	*x = *i < a->nr ? &a->entries[*i] : NULL;
	*y = b && *j < b->nr ? &b->entries[*j] : NULL;
	cmp = !*x ? 1 : !*y ? -1 : strcmp((*x)->name, (*y)->name);
	if (cmp <= 0)
		(*i)++;
	else
		*x = NULL;
	if (cmp >= 0)
		(*j)++;
	else
		*y = NULL;
}

static int both(struct differ *d, const struct mlv_oid *old_id, const struct mlv_oid *new_id,
		const char *path, unsigned depth, int inside)
{
	struct mlv_tree ta = MLV_TREE_INIT, tb = MLV_TREE_INIT;
	const struct mlv_tree *a, *b;
	struct mlv_buf p = MLV_BUF_INIT;
	size_t i = 0, j = 0;
	int ret, ra, rb;

	if (!mlv_oid_cmp(old_id, new_id))
		return 0;
	if (depth > MLV_TREE_DEPTH_MAX)
		return too_deep(d);
	ra = present(d, old_id);
	rb = present(d, new_id);
	if (ra < 0 || rb < 0)
		return ra < 0 ? ra : rb;
	if (!ra || !rb)
		return missing(d, path, ra ? NULL : old_id, rb ? NULL : new_id);
	if ((ret = get_tree(d, old_id, path, &ta, &a)) ||
	    (ret = get_tree(d, new_id, path, &tb, &b)))
		goto done;

	while (!ret && (i < a->nr || j < b->nr)) {
		const struct mlv_tree_entry *x, *y;
		int rel = 2;
		struct mlv_tree_change c;

		next_pair(a, b, &i, &j, &x, &y);
		if ((ret = join(d, &p, path, x ? x->name : y->name)))
			break;
		if (!inside && !(rel = relevance(d, p.ptr + d->rel_off)))
			continue;
		if ((ret = visit(d)))
			break;

		if (x && y && x->mode == MLV_MODE_DIR && y->mode == MLV_MODE_DIR) {
			ret = both(d, &x->oid, &y->oid, p.ptr, depth + 1, rel == 2);
			continue;
		}
		/* Files first, then the files of a directory on the other side. */
		memset(&c, 0, sizeof(c));
		c.path = c.old_path = p.ptr;
		if (x && x->mode != MLV_MODE_DIR)
			side(&c, 0, x);
		if (y && y->mode != MLV_MODE_DIR)
			side(&c, 1, y);
		if (c.old_mode && c.new_mode) {
			if ((c.old_mode == MLV_MODE_LINK) != (c.new_mode == MLV_MODE_LINK))
				c.kind = 'T';
			else if (mlv_oid_cmp(&c.old_oid, &c.new_oid) || c.old_mode != c.new_mode ||
				 c.old_size != c.new_size)
				c.kind = 'M';
		} else if (c.old_mode) {
			c.kind = 'D';
		} else if (c.new_mode) {
			c.kind = 'A';
		}
		if (c.kind && rel == 2 && (ret = emit(d, &c)))
			break;
		if (x && x->mode == MLV_MODE_DIR)
			ret = one_side(d, &x->oid, p.ptr, 0, depth + 1, rel == 2);
		else if (y && y->mode == MLV_MODE_DIR)
			ret = one_side(d, &y->oid, p.ptr, 1, depth + 1, rel == 2);
	}
done:
	mlv_tree_release(&ta);
	mlv_tree_release(&tb);
	mlv_buf_release(&p);
	return ret;
}

/*
 * The count: what the walk of the pair (old, new) visits, without walking
 * it.  Equal ids cost nothing; a pair of different trees costs its entries
 * (both sides merged by name) plus what each entry's subdirectories cost
 * -- a pair again when both sides have one, a subtree on one side only
 * otherwise (key (id, -)).  Each distinct pair is computed once and
 * remembered, with the levels below it for the depth bound, so the count
 * reads each distinct tree once whatever the walk would reach it at.
 * Below opts->within only (where every entry is visited) is a pair's
 * count the same wherever it is reached: only there is it remembered.
 */
static size_t cost_hash(const struct mlv_oid *a, const struct mlv_oid *b)
{
	size_t h = oid_hash(a) * 0x9e3779b97f4a7c15ull;

	return b ? (h ^ oid_hash(b)) * 0x100000001b3ull : h;
}

static int cost_match(const struct cost *e, const struct mlv_oid *a, const struct mlv_oid *b)
{
	return e->one_sided == !b && !mlv_oid_cmp(&e->a, a) && (!b || !mlv_oid_cmp(&e->b, b));
}

static struct cost *cost_find(struct differ *d, const struct mlv_oid *a, const struct mlv_oid *b)
{
	if (!d->costs_cap)
		return NULL;
	for (size_t i = cost_hash(a, b) & (d->costs_cap - 1); d->costs[i].used;
	     i = (i + 1) & (d->costs_cap - 1))
		if (cost_match(&d->costs[i], a, b))
			return &d->costs[i];
	return NULL;
}

static void cost_put(struct differ *d, const struct cost *e)
{
	size_t i;

	if ((d->costs_nr + 1) * 2 > d->costs_cap) {
		struct cost *old = d->costs;
		size_t old_cap = d->costs_cap;

		d->costs_cap = old_cap ? old_cap * 2 : 64;
		d->costs = mlv_calloc(d->costs_cap, sizeof(*d->costs));
		d->costs_nr = 0;
		for (size_t k = 0; k < old_cap; k++)
			if (old[k].used)
				cost_put(d, &old[k]);
		free(old);
	}
	for (i = cost_hash(&e->a, e->one_sided ? NULL : &e->b) & (d->costs_cap - 1);
	     d->costs[i].used; i = (i + 1) & (d->costs_cap - 1))
		;
	d->costs[i] = *e;
	d->costs[i].used = 1;
	d->costs_nr++;
}

static int cost(struct differ *d, const struct mlv_oid *old_id, const struct mlv_oid *new_id,
		const char *path, unsigned depth, int inside, uint64_t *visits, unsigned *height);

/* The pair (or one side) below entry x/y at `path`, added to *total. */
static int cost_below(struct differ *d, const struct mlv_tree_entry *x,
		      const struct mlv_tree_entry *y, const char *path, unsigned depth,
		      int inside, uint64_t *total, unsigned *height)
{
	const struct mlv_oid *a = x && x->mode == MLV_MODE_DIR ? &x->oid : NULL;
	const struct mlv_oid *b = y && y->mode == MLV_MODE_DIR ? &y->oid : NULL;
	uint64_t v = 0;
	unsigned h = 0;
	int ret;

	if (!a && !b)
		return 0;
	if (a && b)
		ret = cost(d, a, b, path, depth + 1, inside, &v, &h);
	else
		ret = cost(d, a ? a : b, NULL, path, depth + 1, inside, &v, &h);
	if (ret)
		return ret;
	*total += v;
	if (*total > d->limit)
		return too_many(d);
	if (h + 1 > *height)
		*height = h + 1;
	return 0;
}

/*
 * What the walk visits below `old_id` and `new_id` at `path` (new_id
 * NULL: old_id is a subtree on one side only, whichever).
 */
static int cost(struct differ *d, const struct mlv_oid *old_id, const struct mlv_oid *new_id,
		const char *path, unsigned depth, int inside, uint64_t *visits, unsigned *height)
{
	struct mlv_tree ta = MLV_TREE_INIT, tb = MLV_TREE_INIT;
	const struct mlv_tree *a = NULL, *b = NULL;
	struct mlv_buf p = MLV_BUF_INIT;
	struct cost *hit;
	uint64_t total = 0;
	unsigned levels = 0;
	size_t i = 0, j = 0;
	int ret, ra, rb = 1;

	*visits = 0;
	*height = 0;
	if (new_id && !mlv_oid_cmp(old_id, new_id))
		return 0;
	if (inside && (hit = cost_find(d, old_id, new_id))) {
		if (depth + hit->height > MLV_TREE_DEPTH_MAX)
			return too_deep(d);
		*visits = hit->visits;
		*height = hit->height;
		return 0;
	}
	if (depth > MLV_TREE_DEPTH_MAX)
		return too_deep(d);
	/* A missing tree is reported (or refused) by the walk, which goes no further. */
	ra = present(d, old_id);
	if (new_id && ra > 0)
		rb = present(d, new_id);
	if (ra <= 0 || rb <= 0)
		return ra < 0 ? ra : rb < 0 ? rb : 0;
	if ((ret = get_tree(d, old_id, path, &ta, &a)) ||
	    (new_id && (ret = get_tree(d, new_id, path, &tb, &b))))
		goto done;

	while (!ret && (i < a->nr || (b && j < b->nr))) {
		const struct mlv_tree_entry *x, *y;
		int rel = 2;

		next_pair(a, b, &i, &j, &x, &y);
		if (!inside || (x && x->mode == MLV_MODE_DIR) || (y && y->mode == MLV_MODE_DIR)) {
			if ((ret = join(d, &p, path, x ? x->name : y->name)))
				break;
			if (!inside && !(rel = relevance(d, p.ptr + d->rel_off)))
				continue;
		}
		if (++total > d->limit) {
			ret = too_many(d);
			break;
		}
		ret = cost_below(d, x, y, p.ptr, depth, rel == 2, &total, &levels);
	}
	if (!ret && inside) {
		struct cost e;

		memset(&e, 0, sizeof(e));
		e.a = *old_id;
		if (new_id)
			e.b = *new_id;
		e.one_sided = !new_id;
		e.height = levels;
		e.visits = total;
		cost_put(d, &e);
	}
	*visits = total;
	*height = levels;
done:
	mlv_tree_release(&ta);
	mlv_tree_release(&tb);
	mlv_buf_release(&p);
	return ret;
}

/* Renames: pairing deletions and additions of one id. */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int cmp_group(const struct rec *x, const struct rec *y)
{
	const struct mlv_oid *a = x->c.kind == 'D' ? &x->c.old_oid : &x->c.new_oid;
	const struct mlv_oid *b = y->c.kind == 'D' ? &y->c.old_oid : &y->c.new_oid;
	int la = (x->c.kind == 'D' ? x->c.old_mode : x->c.new_mode) == MLV_MODE_LINK;
	int lb = (y->c.kind == 'D' ? y->c.old_mode : y->c.new_mode) == MLV_MODE_LINK;
	int c = mlv_oid_cmp(a, b);

	return c ? c : la - lb;
}

/* qsort_r() comparisons of indexes into the records `recs`. */
static int cmp_by_group_name(const void *pa, const void *pb, void *recs)
{
	const struct rec *r = recs;
	const struct rec *x = &r[*(const size_t *)pa], *y = &r[*(const size_t *)pb];
	int c = cmp_group(x, y);

	if (!c)
		c = strcmp(base_name(x->path), base_name(y->path));
	return c ? c : strcmp(x->path, y->path);
}

static int cmp_by_path(const void *pa, const void *pb, void *recs)
{
	const struct rec *r = recs;

	return strcmp(r[*(const size_t *)pa].path, r[*(const size_t *)pb].path);
}

static void pair(struct differ *d, size_t del, size_t add)
{
	struct rec *x = &d->recs[del], *y = &d->recs[add];

	x->dropped = 1;
	y->c.kind = 'R';
	y->old_path = x->path;
	x->path = NULL;
	y->c.old_path = y->old_path;
	y->c.old_mode = x->c.old_mode;
	y->c.old_size = x->c.old_size;
	y->c.old_oid = x->c.old_oid;
}

static void pair_group(struct differ *d, size_t *dels, size_t nd, size_t *adds, size_t na,
		       unsigned char *used_d, unsigned char *used_a, size_t *tmp_d, size_t *tmp_a)
{
	size_t i = 0, j = 0, rd = 0, ra = 0;

	/* Same base name first (both lists are sorted by base name, then path). */
	while (i < nd && j < na) {
		int c = strcmp(base_name(d->recs[dels[i]].path), base_name(d->recs[adds[j]].path));

		if (!c) {
			used_d[i] = used_a[j] = 1;
			pair(d, dels[i++], adds[j++]);
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	for (i = 0; i < nd; i++)
		if (!used_d[i])
			tmp_d[rd++] = dels[i];
	for (j = 0; j < na; j++)
		if (!used_a[j])
			tmp_a[ra++] = adds[j];
	qsort_r(tmp_d, rd, sizeof(*tmp_d), cmp_by_path, d->recs);
	qsort_r(tmp_a, ra, sizeof(*tmp_a), cmp_by_path, d->recs);
	for (i = 0; i < rd && i < ra; i++)
		pair(d, tmp_d[i], tmp_a[i]);
}

static void find_renames(struct differ *d)
{
	size_t *dels = mlv_malloc((d->nr + 1) * sizeof(*dels));
	size_t *adds = mlv_malloc((d->nr + 1) * sizeof(*adds));
	size_t *tmp = mlv_malloc((d->nr + 1) * sizeof(*tmp) * 2);
	unsigned char *used = mlv_calloc(d->nr + 1, 2);
	size_t nd = 0, na = 0, i = 0, j = 0;

	for (size_t k = 0; k < d->nr; k++) {
		const struct mlv_tree_change *c = &d->recs[k].c;

		if (c->kind == 'D' && c->old_size)
			dels[nd++] = k;
		else if (c->kind == 'A' && c->new_size)
			adds[na++] = k;
	}
	qsort_r(dels, nd, sizeof(*dels), cmp_by_group_name, d->recs);
	qsort_r(adds, na, sizeof(*adds), cmp_by_group_name, d->recs);
	while (i < nd && j < na) {
		int c = cmp_group(&d->recs[dels[i]], &d->recs[adds[j]]);
		size_t ei = i, ej = j;

		if (c < 0) {
			i++;
			continue;
		}
		if (c > 0) {
			j++;
			continue;
		}
		while (ei < nd && !cmp_group(&d->recs[dels[ei]], &d->recs[dels[i]]))
			ei++;
		while (ej < na && !cmp_group(&d->recs[adds[ej]], &d->recs[adds[j]]))
			ej++;
		memset(used, 0, (d->nr + 1) * 2);
		pair_group(d, dels + i, ei - i, adds + j, ej - j, used, used + d->nr + 1, tmp,
			   tmp + d->nr + 1);
		i = ei;
		j = ej;
	}
	free(dels);
	free(adds);
	free(tmp);
	free(used);
}

int mlv_tree_diff_ext(struct mlv_store *s, const struct mlv_oid *old_tree,
		      const struct mlv_oid *new_tree, const char *base,
		      const struct mlv_tree_diff_opts *opts, mlv_tree_diff_fn fn, void *ctx)
{
	struct mlv_tree_diff_opts none = MLV_TREE_DIFF_OPTS_INIT;
	struct differ d;
	int ret = 0;

	if (!opts)
		opts = &none;
	if (!base)
		base = "";
	memset(&d, 0, sizeof(d));
	d.s = s;
	d.flags = opts->flags;
	d.within = opts->within && *opts->within ? opts->within : NULL;
	d.within_len = d.within ? strlen(d.within) : 0;
	d.rel_off = *base ? strlen(base) + 1 : 0;
	d.what = base;
	d.old_root = old_tree;
	d.new_root = new_tree;
	d.limit = opts->limit ? opts->limit : MLV_TREE_VISIT_MAX;
	d.fn = fn;
	d.ctx = ctx;
	d.gather = old_tree && new_tree && !(d.flags & MLV_TREE_DIFF_NO_RENAMES);
	d.gather_max = opts->rename_limit ? opts->rename_limit : MLV_TREE_DIFF_RENAME_MAX;
	d.renames_skipped = opts->renames_skipped;
	if (d.renames_skipped)
		*d.renames_skipped = 0;

	if (old_tree || new_tree) {
		uint64_t visits;
		unsigned height;

		/* Counted first: nothing is reported from a diff that cannot finish. */
		ret = cost(&d, old_tree ? old_tree : new_tree, old_tree ? new_tree : NULL, base, 1,
			   !d.within, &visits, &height);
		free(d.costs);
		d.costs = NULL;
		if (ret)
			goto done;
	}
	if (old_tree && new_tree)
		ret = both(&d, old_tree, new_tree, base, 1, !d.within);
	else if (old_tree || new_tree)
		ret = one_side(&d, old_tree ? old_tree : new_tree, base, !old_tree, 1, !d.within);

	if (!ret && d.gather) {
		find_renames(&d);
		for (size_t k = 0; !ret && k < d.nr; k++)
			if (!d.recs[k].dropped)
				ret = fn(ctx, &d.recs[k].c);
	}
done:
	free_recs(&d);
	free_cache(&d);
	return ret;
}

int mlv_tree_diff(struct mlv_store *s, const struct mlv_oid *old_tree,
		  const struct mlv_oid *new_tree, const char *base, mlv_tree_diff_fn fn, void *ctx)
{
	return mlv_tree_diff_ext(s, old_tree, new_tree, base, NULL, fn, ctx);
}

void mlv_tree_diff_stat_add(struct mlv_tree_diff_stat *st, const struct mlv_tree_change *c)
{
	switch (c->kind) {
	case 'A':
		st->added++;
		break;
	case 'D':
		st->deleted++;
		break;
	case 'M':
	case 'T':
		st->modified++;
		break;
	case 'R':
		st->renamed++;
		break;
	case '!':
		st->missing++;
		return;
	}
	if (c->kind == 'R' && c->old_size == c->new_size)
		return;
	st->bytes_added += c->new_size;
	st->bytes_removed += c->old_size;
}
