/*
 * The commits that changed artifacts (mlv/log.h).
 *
 * The walk follows first parents by hand rather than through
 * git_revwalk: on a first-parent walk the order is the chain itself (what
 * git's topological and date orders both give), and following the chain
 * lets a shallow boundary or a missing parent end the walk with a report
 * instead of an error (libgit2 before 1.7 does not read .git/shallow).
 *
 * One artifact: each commit's pointer entry is found by descending the
 * path's directories, stopping as soon as a tree id equals the child
 * commit's at the same level (then everything below is the same too), so
 * a commit that did not touch the artifact costs one or two tree lookups.
 * A pointer blob is read and parsed only when it differs from the
 * neighbour's, once per version.
 */
#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/history.h"
#include "mlv/log.h"
#include "mlv/path.h"
#include "mlv/repo.h"

#define SHALLOW_FILE_MAX (64u << 20)
#define SUFFIX_LEN (sizeof(MLV_POINTER_SUFFIX) - 1)

/* A pointer blob as one commit has it, parsed on demand. */
struct pblob {
	git_oid id;
	git_filemode_t mode;
	int parsed;
	int bad;
	struct mlv_pointer ptr;
	struct mlv_buf err;
};

/* One commit as the one-artifact walk sees it. */
struct side {
	git_commit *commit;
	git_oid root;
	size_t found;  /* components found along the path; the pointer is there when found == n */
	git_oid *ids;  /* per component: the id of the entry found */
	struct pblob b; /* the pointer (id, mode copied from ids[n-1] when found == n) */
};

struct walk {
	struct mlv_repo *r;
	git_repository *git;
	const struct mlv_log_opts *o;
	mlv_log_fn fn;
	void *ctx;
	git_oid *shallow; /* sorted */
	size_t shallow_nr;
	/* one artifact */
	char *data;      /* its data path */
	char *pointer;   /* data + ".mlv" */
	char **comp;     /* components of `pointer` */
	size_t n;
	/* scratch */
	struct mlv_buf name;
	struct mlv_buf path;
	struct mlv_buf tmp;
	size_t visits;   /* tree entries seen by the current diff_commits() */
	int stopped;
};

static int oid_cmp_qsort(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* The commits a shallow clone has without their parents ($GIT_COMMON_DIR/shallow). */
static int load_shallow(struct walk *w)
{
	struct mlv_buf b = MLV_BUF_INIT;
	char *file;
	size_t alloc = 0;
	int ret;

	if (!git_repository_is_shallow(w->git))
		return 0;
	file = mlv_xstrfmt("%s/shallow", git_repository_commondir(w->git));
	ret = mlv_read_file(&b, file, SHALLOW_FILE_MAX);
	free(file);
	if (ret == MLV_ENOTFOUND)
		ret = 0;
	for (size_t i = 0; !ret && i + GIT_OID_HEXSZ <= b.len;) {
		const char *line = b.ptr + i;
		const char *nl = memchr(line, '\n', b.len - i);
		size_t len = nl ? (size_t)(nl - line) : b.len - i;

		if (len == GIT_OID_HEXSZ) {
			if (w->shallow_nr == alloc) {
				alloc = alloc ? 2 * alloc : 16;
				w->shallow = mlv_realloc(w->shallow, alloc * sizeof(*w->shallow));
			}
			if (!git_oid_fromstrn(&w->shallow[w->shallow_nr], line, len))
				w->shallow_nr++;
		}
		i += len + 1;
	}
	mlv_buf_release(&b);
	if (w->shallow_nr)
		qsort(w->shallow, w->shallow_nr, sizeof(*w->shallow), oid_cmp_qsort);
	return ret;
}

static int is_shallow(struct walk *w, const git_oid *id)
{
	return w->shallow_nr &&
	       bsearch(id, w->shallow, w->shallow_nr, sizeof(*w->shallow), oid_cmp_qsort) != NULL;
}

static int resolve_start(git_commit **out, struct walk *w, const char *rev)
{
	if (!rev && git_repository_head_unborn(w->git) == 1)
		return mlv_error_set(MLV_ENOTFOUND, "no commits yet: HEAD points to an unborn branch");
	return mlv_rev_commit(out, w->r, rev ? rev : "HEAD");
}

/*
 * The first parent of `c`: 0 and `*out` set; 0 and NULL at a root;
 * 1 (and NULL) when history stops here: a shallow boundary or a missing
 * parent (then `*missing` is set).
 */
static int first_parent(git_commit **out, struct walk *w, git_commit *c, int *missing)
{
	int rc;

	*out = NULL;
	*missing = 0;
	if (is_shallow(w, git_commit_id(c)))
		return 1;
	if (!git_commit_parentcount(c))
		return 0;
	rc = git_commit_parent(out, c, 0);
	if (rc == GIT_ENOTFOUND) {
		*missing = 1;
		return 1;
	}
	if (rc < 0)
		return mlv_git_error(MLV_ERROR, git_oid_tostr_s(git_commit_id(c)));
	return 0;
}

static void pblob_reset(struct pblob *b)
{
	mlv_pointer_release(&b->ptr);
	mlv_buf_reset(&b->err);
	b->parsed = 0;
	b->bad = 0;
}

static void pblob_release(struct pblob *b)
{
	mlv_pointer_release(&b->ptr);
	mlv_buf_release(&b->err);
}

/*
 * Read and parse a pointer blob once.  Whatever is wrong with it (mode,
 * size, content, a missing object) becomes b->err, which names the
 * commit and pointer path as "<commit>:<pointer>".
 */
static void pblob_parse(struct walk *w, struct pblob *b, git_commit *c, const char *pointer)
{
	git_blob *blob = NULL;
	uint64_t size;
	char hex[13];
	int rc;

	if (b->parsed)
		return;
	b->parsed = 1;
	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	mlv_buf_reset(&w->name);
	mlv_buf_addf(&w->name, "%s:%s", hex, pointer);
	if (b->mode != GIT_FILEMODE_BLOB && b->mode != GIT_FILEMODE_BLOB_EXECUTABLE) {
		mlv_buf_addf(&b->err, "%s: not a regular file (mode %06o)", w->name.ptr,
			     (unsigned)b->mode);
		goto bad;
	}
	mlv_buf_reset(&w->tmp);
	mlv_buf_add(&w->tmp, pointer, strlen(pointer) - SUFFIX_LEN);
	if (mlv_path_check(w->tmp.ptr, 1, w->name.ptr) < 0) {
		mlv_buf_adds(&b->err, mlv_error_last());
		goto bad;
	}
	rc = mlv_git_pointer_blob(&blob, &size, w->git, &b->id);
	if (rc < 0) {
		const git_error *e = git_error_last();

		mlv_buf_addf(&b->err, "%s: cannot read blob %s: %s", w->name.ptr,
			     git_oid_tostr_s(&b->id), e && e->message ? e->message : "not found");
		goto bad;
	}
	if (!blob) {
		mlv_buf_addf(&b->err, "%s: too large for a pointer file (%llu bytes)", w->name.ptr,
			     (unsigned long long)size);
		goto bad;
	}
	mlv_pointer_init(&b->ptr);
	if (mlv_pointer_parse(&b->ptr, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
			      w->name.ptr) < 0) {
		mlv_buf_adds(&b->err, mlv_error_last());
		goto bad;
	}
	git_blob_free(blob);
	return;
bad:
	git_blob_free(blob);
	b->bad = 1;
}

static void fill_entry(struct mlv_log_entry *e, git_commit *c)
{
	const git_signature *a = git_commit_author(c);
	const char *subject = git_commit_summary(c);

	memset(e, 0, sizeof(*e));
	git_oid_tostr(e->commit, sizeof(e->commit), git_commit_id(c));
	e->author_name = a && a->name ? a->name : "";
	e->author_email = a && a->email ? a->email : "";
	e->author_time = a ? (int64_t)a->when.time : 0;
	e->author_offset = a ? a->when.offset : 0;
	e->subject = subject ? subject : "";
}

static int emit(struct walk *w, const struct mlv_log_entry *e)
{
	int ret = w->fn(w->ctx, e);

	if (ret > 0) {
		w->stopped = 1;
		return 1;
	}
	return ret;
}

/* The notice that history stops at `c`, where nothing is to be reported. */
static int emit_stop(struct walk *w, git_commit *c, int missing)
{
	struct mlv_log_entry e;

	fill_entry(&e, c);
	e.shallow = missing ? 2 : 1;
	return emit(w, &e);
}

/* ---- the tree difference, for every artifact (or those below a directory) ---- */

struct item {
	char *path; /* data path */
	int has_new, has_old;
	struct pblob nb, ob;
};

struct items {
	struct item *v;
	size_t nr, alloc;
};

static void items_clear(struct items *l)
{
	for (size_t i = 0; i < l->nr; i++) {
		free(l->v[i].path);
		pblob_release(&l->v[i].nb);
		pblob_release(&l->v[i].ob);
	}
	l->nr = 0;
}

static int is_pointer_entry(const git_tree_entry *e)
{
	const char *name = git_tree_entry_name(e);
	size_t len = strlen(name);

	return git_tree_entry_type(e) != GIT_OBJECT_TREE && len > SUFFIX_LEN &&
	       !memcmp(name + len - SUFFIX_LEN, MLV_POINTER_SUFFIX, SUFFIX_LEN);
}

static void add_item(struct items *l, const struct mlv_buf *path, const git_tree_entry *ne,
		     const git_tree_entry *oe)
{
	struct item *it;

	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 8;
		l->v = mlv_realloc(l->v, l->alloc * sizeof(*l->v));
	}
	it = &l->v[l->nr++];
	memset(it, 0, sizeof(*it));
	it->path = mlv_strndup(path->ptr, path->len - SUFFIX_LEN);
	mlv_pointer_init(&it->nb.ptr);
	mlv_pointer_init(&it->ob.ptr);
	mlv_buf_init(&it->nb.err, 0);
	mlv_buf_init(&it->ob.err, 0);
	if (ne) {
		it->has_new = 1;
		git_oid_cpy(&it->nb.id, git_tree_entry_id(ne));
		it->nb.mode = git_tree_entry_filemode(ne);
	}
	if (oe) {
		it->has_old = 1;
		git_oid_cpy(&it->ob.id, git_tree_entry_id(oe));
		it->ob.mode = git_tree_entry_filemode(oe);
	}
}

static int diff_trees(struct walk *w, struct items *out, git_tree *a, git_tree *b,
		      struct mlv_buf *base);

/* Entry `ne` (new side) and `oe` (old side) of one name differ. */
static int diff_entry(struct walk *w, struct items *out, const git_tree_entry *ne,
		      const git_tree_entry *oe, struct mlv_buf *base)
{
	const char *name = git_tree_entry_name(ne ? ne : oe);
	int nt = ne && git_tree_entry_type(ne) == GIT_OBJECT_TREE;
	int ot = oe && git_tree_entry_type(oe) == GIT_OBJECT_TREE;
	size_t len = base->len;
	int ret = 0;

	mlv_buf_adds(base, name);
	/* Nothing deeper than the longest valid path can hold a pointer mlv would read. */
	if (base->len > MLV_PATH_MAX)
		goto done;
	/* As everywhere: directories named .git, .mlv (any spelling) are not searched. */
	if ((nt || ot) && !mlv_path_component_valid(name, strlen(name)))
		nt = ot = 0;
	if (nt || ot) {
		git_tree *ta = NULL, *tb = NULL;

		mlv_buf_addch(base, '/');
		if (nt && (ret = git_tree_lookup(&ta, w->git, git_tree_entry_id(ne))) < 0)
			ret = mlv_git_error(MLV_ERROR, base->ptr);
		if (!ret && ot && (ret = git_tree_lookup(&tb, w->git, git_tree_entry_id(oe))) < 0)
			ret = mlv_git_error(MLV_ERROR, base->ptr);
		if (!ret)
			ret = diff_trees(w, out, ta, tb, base);
		git_tree_free(ta);
		git_tree_free(tb);
		mlv_buf_setlen(base, len + strlen(name));
	}
	if (!ret && ((ne && !nt && is_pointer_entry(ne)) || (oe && !ot && is_pointer_entry(oe))))
		add_item(out, base, ne && !nt && is_pointer_entry(ne) ? ne : NULL,
			 oe && !ot && is_pointer_entry(oe) ? oe : NULL);
done:
	mlv_buf_setlen(base, len);
	return ret;
}

/* Pointer blobs that differ between trees `a` (new) and `b` (old); either may be NULL. */
static int diff_trees(struct walk *w, struct items *out, git_tree *a, git_tree *b,
		      struct mlv_buf *base)
{
	size_t na = a ? git_tree_entrycount(a) : 0, nb = b ? git_tree_entrycount(b) : 0;
	int ret = 0;

	if (a && b && !git_oid_cmp(git_tree_id(a), git_tree_id(b)))
		return 0;
	if ((w->visits += na + nb) > MLV_GIT_TREE_VISIT_MAX)
		return mlv_error_set(MLV_EINVALID, "git trees of '%s' hold more than %u entries "
				     "(subtrees reached by several paths count each time): refusing "
				     "to compare them", base->len ? base->ptr : "/",
				     MLV_GIT_TREE_VISIT_MAX);
	for (size_t i = 0; !ret && i < na; i++) {
		const git_tree_entry *ea = git_tree_entry_byindex(a, i);
		const git_tree_entry *eb = b ? git_tree_entry_byname(b, git_tree_entry_name(ea)) : NULL;

		if (eb && !git_oid_cmp(git_tree_entry_id(ea), git_tree_entry_id(eb)) &&
		    git_tree_entry_filemode(ea) == git_tree_entry_filemode(eb))
			continue;
		ret = diff_entry(w, out, ea, eb, base);
	}
	for (size_t i = 0; !ret && i < nb; i++) {
		const git_tree_entry *eb = git_tree_entry_byindex(b, i);

		if (a && git_tree_entry_byname(a, git_tree_entry_name(eb)))
			continue;
		ret = diff_entry(w, out, NULL, eb, base);
	}
	return ret;
}

/* The tree at directory `dir` ("" for the root) of commit `c`, or NULL. */
static int dir_tree(git_tree **out, struct walk *w, git_commit *c, const char *dir)
{
	git_tree *root = NULL;
	git_tree_entry *e = NULL;
	int rc;

	*out = NULL;
	if (!c)
		return 0;
	rc = git_commit_tree(&root, c);
	if (rc < 0)
		return mlv_git_error(MLV_ERROR, git_oid_tostr_s(git_commit_id(c)));
	if (!*dir) {
		*out = root;
		return 0;
	}
	rc = git_tree_entry_bypath(&e, root, dir);
	if (!rc && git_tree_entry_type(e) == GIT_OBJECT_TREE)
		rc = git_tree_lookup(out, w->git, git_tree_entry_id(e));
	else if (rc == GIT_ENOTFOUND)
		rc = 0;
	git_tree_entry_free(e);
	git_tree_free(root);
	return rc < 0 ? mlv_git_error(MLV_ERROR, dir) : 0;
}

/* The pointers that differ between commit `c` and `parent` (NULL: none) below `dir`. */
static int diff_commits(struct items *out, struct walk *w, git_commit *c, git_commit *parent,
			const char *dir)
{
	git_tree *a = NULL, *b = NULL;
	int ret;

	items_clear(out);
	w->visits = 0;
	if (parent && !git_oid_cmp(git_commit_tree_id(c), git_commit_tree_id(parent)))
		return 0;
	ret = dir_tree(&a, w, c, dir);
	if (!ret)
		ret = dir_tree(&b, w, parent, dir);
	mlv_buf_reset(&w->path);
	if (*dir)
		mlv_buf_addf(&w->path, "%s/", dir);
	if (!ret && (a || b))
		ret = diff_trees(w, out, a, b, &w->path);
	git_tree_free(a);
	git_tree_free(b);
	return ret;
}

static int item_cmp(const void *x, const void *y)
{
	return strcmp(((const struct item *)x)->path, ((const struct item *)y)->path);
}

static void fill_change(struct walk *w, struct mlv_log_change *ch, struct item *it,
			git_commit *c, git_commit *parent, int boundary)
{
	char *pointer = mlv_xstrfmt("%s%s", it->path, MLV_POINTER_SUFFIX);

	memset(ch, 0, sizeof(*ch));
	ch->path = it->path;
	if (it->has_new) {
		pblob_parse(w, &it->nb, c, pointer);
		ch->ptr = it->nb.bad ? NULL : &it->nb.ptr;
		ch->error = it->nb.bad ? it->nb.err.ptr : NULL;
	}
	if (it->has_old) {
		pblob_parse(w, &it->ob, parent, pointer);
		ch->old = it->ob.bad ? NULL : &it->ob.ptr;
		ch->old_error = it->ob.bad ? it->ob.err.ptr : NULL;
	}
	ch->what = !it->has_old ? (boundary ? MLV_LOG_PRESENT : MLV_LOG_ADDED) :
		   !it->has_new ? MLV_LOG_DELETED : MLV_LOG_MODIFIED;
	free(pointer);
}

/* Every artifact below directory `dir` ("" for all). */
static int walk_all(struct walk *w, git_commit *start, const char *dir)
{
	struct items items = { 0 };
	struct mlv_log_change *changes = NULL;
	size_t changes_alloc = 0;
	git_commit *c = start, *parent = NULL;
	int ret = 0;

	git_commit_dup(&c, start);
	while (!ret && c) {
		int missing = 0, stop = first_parent(&parent, w, c, &missing);
		struct mlv_log_entry e;

		if (stop < 0) {
			ret = stop;
			break;
		}
		ret = diff_commits(&items, w, c, parent, dir);
		if (ret < 0)
			break;
		if (items.nr) {
			qsort(items.v, items.nr, sizeof(*items.v), item_cmp);
			if (items.nr > changes_alloc) {
				changes_alloc = items.nr;
				changes = mlv_realloc(changes, changes_alloc * sizeof(*changes));
			}
			for (size_t i = 0; i < items.nr; i++)
				fill_change(w, &changes[i], &items.v[i], c, parent, stop);
			fill_entry(&e, c);
			e.changes = changes;
			e.nr = items.nr;
			e.shallow = stop ? (missing ? 2 : 1) : 0;
			ret = emit(w, &e);
		} else if (stop) {
			ret = emit_stop(w, c, missing);
		}
		git_commit_free(c);
		c = parent;
		parent = NULL;
	}
	git_commit_free(c);
	git_commit_free(parent);
	items_clear(&items);
	free(items.v);
	free(changes);
	return ret < 0 ? ret : 0;
}

/* ---- one artifact ---- */

static int set_path(struct walk *w, const char *data)
{
	const char *p, *slash;
	size_t k = 0;

	for (size_t i = 0; i < w->n; i++)
		free(w->comp[i]);
	free(w->comp);
	free(w->data);
	free(w->pointer);
	w->data = mlv_strdup(data);
	w->pointer = mlv_xstrfmt("%s%s", data, MLV_POINTER_SUFFIX);
	w->n = 1;
	for (p = w->pointer; *p; p++)
		w->n += *p == '/';
	w->comp = mlv_calloc(w->n, sizeof(*w->comp));
	for (p = w->pointer; (slash = strchr(p, '/')); p = slash + 1)
		w->comp[k++] = mlv_strndup(p, (size_t)(slash - p));
	w->comp[k] = mlv_strdup(p);
	return 0;
}

static void side_init(struct side *s, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->ids = mlv_calloc(n, sizeof(*s->ids));
	mlv_pointer_init(&s->b.ptr);
	mlv_buf_init(&s->b.err, 0);
}

static void side_release(struct side *s)
{
	git_commit_free(s->commit);
	s->commit = NULL;
	free(s->ids);
	s->ids = NULL;
	pblob_release(&s->b);
}

static int side_present(const struct walk *w, const struct side *s)
{
	return s->found == w->n;
}

/*
 * Find the pointer in commit `c` (taking it into `s`), reusing what
 * `prev` (the child commit, same path, or NULL) found wherever the tree
 * ids agree.
 */
static int side_load(struct walk *w, struct side *s, git_commit *c, const struct side *prev)
{
	git_tree *tree = NULL;
	int ret = 0;

	git_commit_free(s->commit);
	s->commit = c;
	pblob_reset(&s->b);
	git_oid_cpy(&s->root, git_commit_tree_id(c));
	s->found = 0;
	if (prev && !git_oid_cmp(&s->root, &prev->root)) {
		s->found = prev->found;
		memcpy(s->ids, prev->ids, prev->found * sizeof(*s->ids));
		s->b.mode = prev->b.mode;
		goto done;
	}
	if (git_tree_lookup(&tree, w->git, &s->root) < 0)
		return mlv_git_error(MLV_ERROR, git_oid_tostr_s(git_commit_id(c)));
	for (size_t k = 0; k < w->n; k++) {
		const git_tree_entry *e = git_tree_entry_byname(tree, w->comp[k]);
		git_tree *sub = NULL;

		if (!e)
			break;
		git_oid_cpy(&s->ids[k], git_tree_entry_id(e));
		s->found = k + 1;
		if (k == w->n - 1) {
			s->b.mode = git_tree_entry_filemode(e);
			break;
		}
		if (prev && prev->found > k && !git_oid_cmp(&s->ids[k], &prev->ids[k])) {
			s->found = prev->found;
			memcpy(s->ids + k + 1, prev->ids + k + 1,
			       (prev->found - k - 1) * sizeof(*s->ids));
			s->b.mode = prev->b.mode;
			break;
		}
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
			break; /* a file where a directory of the path should be: no pointer */
		if (git_tree_lookup(&sub, w->git, &s->ids[k]) < 0) {
			ret = mlv_git_error(MLV_ERROR, w->pointer);
			break;
		}
		git_tree_free(tree);
		tree = sub;
	}
	git_tree_free(tree);
done:
	/* A tree named like the pointer is no pointer. */
	if (s->found == w->n && s->b.mode == GIT_FILEMODE_TREE)
		s->found--;
	if (side_present(w, s))
		git_oid_cpy(&s->b.id, &s->ids[w->n - 1]);
	return ret;
}

static int side_same(const struct walk *w, const struct side *a, const struct side *b)
{
	if (side_present(w, a) != side_present(w, b))
		return 0;
	return !side_present(w, a) ||
	       (!git_oid_cmp(&a->b.id, &b->b.id) && a->b.mode == b->b.mode);
}

/*
 * --follow: the pointer of `cur` appeared in its commit.  Find a pointer
 * of the parent that went away in the same commit and names the same
 * object (or is the same blob); 1 and `*from` (its data path) when found.
 */
static int find_rename(struct walk *w, struct side *cur, git_commit *parent, char **from)
{
	struct items items = { 0 };
	int ret = diff_commits(&items, w, cur->commit, parent, "");
	struct item *hit = NULL;

	*from = NULL;
	for (size_t i = 0; !ret && i < items.nr && !hit; i++)
		if (!items.v[i].has_new && items.v[i].has_old &&
		    !git_oid_cmp(&items.v[i].ob.id, &cur->b.id))
			hit = &items.v[i];
	if (!ret && !hit) {
		pblob_parse(w, &cur->b, cur->commit, w->pointer);
		for (size_t i = 0; !cur->b.bad && i < items.nr && !hit; i++) {
			struct item *it = &items.v[i];
			char *pointer;

			if (it->has_new || !it->has_old)
				continue;
			pointer = mlv_xstrfmt("%s%s", it->path, MLV_POINTER_SUFFIX);
			pblob_parse(w, &it->ob, parent, pointer);
			free(pointer);
			if (!it->ob.bad && !mlv_oid_cmp(&it->ob.ptr.oid, &cur->b.ptr.oid) &&
			    it->ob.ptr.type == cur->b.ptr.type)
				hit = it;
		}
	}
	if (hit) {
		*from = hit->path;
		hit->path = NULL;
		ret = 1;
	}
	items_clear(&items);
	free(items.v);
	return ret;
}

static int emit_one(struct walk *w, struct side *cur, struct side *next, int what,
		    const char *old_path, int shallow)
{
	struct mlv_log_change ch = { 0 };
	struct mlv_log_entry e;

	ch.what = what;
	ch.path = w->data;
	ch.old_path = old_path;
	if (what != MLV_LOG_DELETED) {
		pblob_parse(w, &cur->b, cur->commit, w->pointer);
		ch.ptr = cur->b.bad ? NULL : &cur->b.ptr;
		ch.error = cur->b.bad ? cur->b.err.ptr : NULL;
	}
	if (what == MLV_LOG_MODIFIED || what == MLV_LOG_DELETED || what == MLV_LOG_RENAMED) {
		char *pointer = old_path ? mlv_xstrfmt("%s%s", old_path, MLV_POINTER_SUFFIX) : NULL;

		pblob_parse(w, &next->b, next->commit, pointer ? pointer : w->pointer);
		free(pointer);
		ch.old = next->b.bad ? NULL : &next->b.ptr;
		ch.old_error = next->b.bad ? next->b.err.ptr : NULL;
	}
	fill_entry(&e, cur->commit);
	e.changes = &ch;
	e.nr = 1;
	e.shallow = shallow;
	return emit(w, &e);
}

static int walk_one(struct walk *w, git_commit *start, int *seen)
{
	struct side sides[2], *cur = &sides[0], *next = &sides[1];
	int ret;

	side_init(cur, w->n);
	side_init(next, w->n);
	git_commit_dup(&start, start);
	ret = side_load(w, cur, start, NULL);
	while (!ret) {
		git_commit *parent;
		int missing, stop = first_parent(&parent, w, cur->commit, &missing);
		char *from = NULL;

		*seen |= side_present(w, cur);
		if (stop < 0) {
			ret = stop;
			break;
		}
		if (!parent) {
			if (side_present(w, cur))
				ret = emit_one(w, cur, NULL, stop ? MLV_LOG_PRESENT : MLV_LOG_ADDED,
					       NULL, stop ? (missing ? 2 : 1) : 0);
			else if (stop)
				ret = emit_stop(w, cur->commit, missing);
			break;
		}
		ret = side_load(w, next, parent, cur);
		if (ret < 0)
			break;
		if (!side_same(w, cur, next)) {
			if (side_present(w, cur) && side_present(w, next))
				ret = emit_one(w, cur, next, MLV_LOG_MODIFIED, NULL, 0);
			else if (side_present(w, next))
				ret = emit_one(w, cur, next, MLV_LOG_DELETED, NULL, 0);
			else if (w->o->follow && (ret = find_rename(w, cur, parent, &from)) > 0) {
				char *to = mlv_strdup(w->data);

				/* Read under its own name before the path changes. */
				pblob_parse(w, &cur->b, cur->commit, w->pointer);

				/* The parent's side, for the old path, from scratch. */
				pblob_reset(&next->b);
				set_path(w, from);
				free(next->ids);
				next->ids = mlv_calloc(w->n, sizeof(*next->ids));
				git_commit_dup(&parent, parent);
				ret = side_load(w, next, parent, NULL);
				if (!ret) {
					/* Report it under the new name, with the old one beside it. */
					char *old = w->data;

					w->data = to;
					ret = emit_one(w, cur, next, MLV_LOG_RENAMED, old, 0);
					w->data = old;
				}
				free(to);
				free(from);
				free(cur->ids);
				cur->ids = mlv_calloc(w->n, sizeof(*cur->ids));
			} else if (!ret) {
				ret = emit_one(w, cur, next, MLV_LOG_ADDED, NULL, 0);
			}
		}
		if (ret)
			break;
		{
			struct side *t = cur;

			cur = next;
			next = t;
		}
	}
	side_release(&sides[0]);
	side_release(&sides[1]);
	return ret < 0 ? ret : 0;
}

int mlv_log(struct mlv_repo *r, const struct mlv_log_opts *o, mlv_log_fn fn, void *ctx)
{
	struct walk w = { .r = r, .git = r->git, .o = o, .fn = fn, .ctx = ctx };
	const char *path = o->path ? o->path : "";
	git_commit *start = NULL;
	git_tree *root = NULL;
	git_tree_entry *e = NULL;
	int ret, seen = 0, single;
	char *data = NULL;

	mlv_buf_init(&w.name, 0);
	mlv_buf_init(&w.path, 0);
	mlv_buf_init(&w.tmp, 0);
	ret = resolve_start(&start, &w, o->rev);
	if (!ret)
		ret = load_shallow(&w);
	if (ret < 0)
		goto done;
	if (!*path) {
		ret = walk_all(&w, start, "");
		goto done;
	}
	{
		size_t len = strlen(path);

		single = len > SUFFIX_LEN && !strcmp(path + len - SUFFIX_LEN, MLV_POINTER_SUFFIX);
		data = single ? mlv_strndup(path, len - SUFFIX_LEN) : mlv_strdup(path);
	}
	if (!single) {
		/* A directory of git's tree (and no pointer of that name) means every artifact below it. */
		char *pointer = mlv_xstrfmt("%s%s", data, MLV_POINTER_SUFFIX);

		if ((ret = git_commit_tree(&root, start)) < 0) {
			free(pointer);
			ret = mlv_git_error(MLV_ERROR, o->rev ? o->rev : "HEAD");
			goto done;
		}
		single = git_tree_entry_bypath(&e, root, pointer) == 0;
		git_tree_entry_free(e);
		e = NULL;
		free(pointer);
		if (!single && !git_tree_entry_bypath(&e, root, data) &&
		    git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			if ((ret = mlv_path_check(data, 0, data)) < 0)
				goto done;
			ret = walk_all(&w, start, data);
			goto done;
		}
		single = 1;
	}
	if ((ret = mlv_path_check(data, 1, data)) < 0)
		goto done;
	set_path(&w, data);
	ret = walk_one(&w, start, &seen);
	if (!ret && !seen && !w.stopped)
		ret = mlv_error_set(MLV_ENOTFOUND, "'%s' has no pointer in the history of %s", data,
				    o->rev ? o->rev : "HEAD");
done:
	git_tree_entry_free(e);
	git_tree_free(root);
	git_commit_free(start);
	for (size_t i = 0; i < w.n; i++)
		free(w.comp[i]);
	free(w.comp);
	free(w.data);
	free(w.pointer);
	free(w.shallow);
	free(data);
	mlv_buf_release(&w.name);
	mlv_buf_release(&w.path);
	mlv_buf_release(&w.tmp);
	return ret;
}
