/*
 * Three-way merge of stored trees (mlv/treemerge.h).
 *
 * Trees are built from specs: "a/b/file=content" is a file, "x*=content"
 * an executable, "a/empty/" an empty directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/store.h"
#include "mlv/tree.h"
#include "mlv/treemerge.h"
#include "tap.h"

static struct mlv_store *store;
static struct mlv_store_writer *writer;

static struct mlv_oid fake(int n)
{
	struct mlv_oid o;

	memset(o.id, 0, sizeof(o.id));
	o.id[0] = 0xee;
	o.id[1] = (unsigned char)n;
	return o;
}

/* Build the tree of every spec below `prefix` ("" or "dir/"). */
static void build(const char *const *specs, const char *prefix, struct mlv_oid *out,
		  uint64_t *size)
{
	struct mlv_tree t = MLV_TREE_INIT;
	struct mlv_buf enc = MLV_BUF_INIT;
	size_t pl = strlen(prefix);

	*size = 0;
	for (size_t i = 0; specs[i]; i++) {
		const char *rest = specs[i] + pl, *slash, *eq;
		char name[256];

		if (strncmp(specs[i], prefix, pl) || !*rest)
			continue; /* not below prefix, or the empty directory itself */
		eq = strchr(rest, '=');
		slash = strchr(rest, '/');
		if (slash && (!eq || slash < eq)) {
			char sub[512];
			struct mlv_oid id;
			uint64_t sz;

			snprintf(name, sizeof(name), "%.*s", (int)(slash - rest), rest);
			if (mlv_tree_find(&t, name))
				continue;
			/* Entries are added in spec order: keep it sorted by sorting at the end. */
			snprintf(sub, sizeof(sub), "%s%s/", prefix, name);
			build(specs, sub, &id, &sz);
			mlv_tree_add(&t, name, MLV_MODE_DIR, sz, &id);
			mlv_tree_sort(&t);
			*size += sz;
		} else {
			struct mlv_oid id;
			int exec = eq > rest && eq[-1] == '*';
			size_t len = strlen(eq + 1);

			snprintf(name, sizeof(name), "%.*s", (int)(eq - rest - exec), rest);
			if (mlv_store_writer_put_buf(writer, &id, eq + 1, len))
				tap_diag("put_buf: %s", mlv_error_last());
			mlv_tree_add(&t, name, exec ? MLV_MODE_EXEC : MLV_MODE_FILE, len, &id);
			mlv_tree_sort(&t);
			*size += len;
		}
	}
	if (mlv_tree_encode(&enc, &t) || mlv_store_writer_put_tree(writer, out, enc.ptr, enc.len))
		tap_diag("build: %s", mlv_error_last());
	mlv_tree_release(&t);
	mlv_buf_release(&enc);
}

static struct mlv_oid mk(const char *const *specs)
{
	struct mlv_oid id;
	uint64_t size;

	build(specs, "", &id, &size);
	if (mlv_store_writer_commit(writer))
		tap_diag("commit: %s", mlv_error_last());
	return id;
}

static uint64_t files(const struct mlv_oid *id)
{
	uint64_t n = 0;

	if (mlv_tree_count(store, id, "t", MLV_TREE_VISIT_MAX, &n))
		tap_diag("count: %s", mlv_error_last());
	return n;
}

static uint64_t total_size(const struct mlv_oid *id)
{
	struct mlv_tree t = MLV_TREE_INIT;
	uint64_t n = 0;

	if (mlv_tree_load(store, id, "t", &t))
		tap_diag("load: %s", mlv_error_last());
	for (size_t i = 0; i < t.nr; i++)
		n += t.entries[i].size;
	mlv_tree_release(&t);
	return n;
}

/*
 * Merge and check the result against the tree of `expect` (NULL: do not
 * compare), its size and file count, and the number of conflicts.
 */
static void check(const char *title, const struct mlv_oid *b, const struct mlv_oid *o,
		  const struct mlv_oid *t, enum mlv_merge_favor favor, const char *const *expect,
		  size_t nconflicts, struct mlv_tree_merge_result *res)
{
	int ret;

	mlv_tree_merge_result_release(res);
	ret = mlv_tree_merge(store, writer, b, o, t, "data", favor, res);
	if (!is_int(ret, 0, "%s: merges", title)) {
		tap_diag("%s", mlv_error_last());
		return;
	}
	is_int(mlv_store_writer_commit(writer), 0, "%s: trees stored", title);
	is_int(res->conflicts.nr, nconflicts, "%s: %zu conflicts", title, nconflicts);
	if (expect) {
		struct mlv_oid want = mk(expect);

		ok(!mlv_oid_cmp(&want, &res->oid), "%s: the expected tree", title);
	}
	is_int(res->size, total_size(&res->oid), "%s: size is the total below", title);
	is_int((long long)files(o) + res->files_delta, files(&res->oid),
	       "%s: ours' files + files_delta = the merged tree's files", title);
}

static void test_clean(void)
{
	struct mlv_tree_merge_result res = MLV_TREE_MERGE_RESULT_INIT;
	const char *base[] = { "cat/1=c1", "cat/2=c2", "dog/1=d1", "dog/2=d2", "top=t", NULL };
	const char *ours[] = { "cat/1=c1 ours", "cat/2=c2", "dog/1=d1", "dog/2=d2", "top=t",
			       "new-ours/x=x", NULL };
	const char *theirs[] = { "cat/1=c1", "cat/2=c2", "dog/1=d1", "dog/3=d3", "top=t2", NULL };
	const char *want[] = { "cat/1=c1 ours", "cat/2=c2", "dog/1=d1", "dog/3=d3", "top=t2",
			       "new-ours/x=x", NULL };
	struct mlv_oid b = mk(base), o = mk(ours), t = mk(theirs);

	check("different files", &b, &o, &t, MLV_MERGE_FAVOR_NONE, want, 0, &res);
	check("different files, swapped", &b, &t, &o, MLV_MERGE_FAVOR_NONE, want, 0, &res);
	check("ours unchanged", &b, &b, &t, MLV_MERGE_FAVOR_NONE, theirs, 0, &res);
	check("theirs unchanged", &b, &o, &b, MLV_MERGE_FAVOR_NONE, ours, 0, &res);
	check("the same change", &b, &o, &o, MLV_MERGE_FAVOR_NONE, ours, 0, &res);
	mlv_tree_merge_result_release(&res);
}

static void test_nested(void)
{
	struct mlv_tree_merge_result res = MLV_TREE_MERGE_RESULT_INIT;
	const char *base[] = { "a/b/c/1=1", "a/b/c/2=2", "a/b/d/3=3", "a/e/", NULL };
	const char *ours[] = { "a/b/c/1=1 ours", "a/b/c/2=2", "a/b/d/3=3", "a/e/", NULL };
	const char *theirs[] = { "a/b/c/1=1", "a/b/c/2=2 theirs", "a/b/d/4=4", "a/e/", NULL };
	const char *want[] = { "a/b/c/1=1 ours", "a/b/c/2=2 theirs", "a/b/d/4=4", "a/e/", NULL };
	struct mlv_oid b = mk(base), o = mk(ours), t = mk(theirs);

	check("nested", &b, &o, &t, MLV_MERGE_FAVOR_NONE, want, 0, &res);
	mlv_tree_merge_result_release(&res);
}

static void test_conflicts(void)
{
	struct mlv_tree_merge_result res = MLV_TREE_MERGE_RESULT_INIT;
	const char *base[] = { "d/1=1", "d/2=2", "d/3=3", "e/f=f", "g=g", NULL };
	const char *ours[] = { "d/1=1 ours", "d/2=2", "d/3=3 ours", "e/f/x=fx", "g=g ours",
			       "h=h ours", NULL };
	const char *theirs[] = { "d/1=1 theirs", "d/2=2 theirs", "e/f=f theirs", "h=h theirs",
				 NULL };
	const char *want_ours[] = { "d/1=1 ours", "d/2=2 theirs", "d/3=3 ours", "e/f/x=fx", "g=g ours",
				    "h=h ours", NULL };
	const char *want_theirs[] = { "d/1=1 theirs", "d/2=2 theirs", "e/f=f theirs",
				      "h=h theirs", NULL };
	struct mlv_oid b = mk(base), o = mk(ours), t = mk(theirs);
	const struct mlv_merge_conflict *c;

	check("conflicts", &b, &o, &t, MLV_MERGE_FAVOR_NONE, NULL, 5, &res);
	if (res.conflicts.nr == 5) {
		c = &res.conflicts.items[0];
		is_str(c->path, "d/1", "both modified: path");
		ok(c->ours == MLV_MERGE_MODIFIED && c->theirs == MLV_MERGE_MODIFIED,
		   "both modified: modified/modified");
		c = &res.conflicts.items[1];
		is_str(c->path, "d/3", "modify/delete: path");
		ok(c->ours == MLV_MERGE_MODIFIED && c->theirs == MLV_MERGE_DELETED,
		   "modify/delete: modified/deleted");
		ok(c->theirs_v.mode == 0 && c->ours_v.mode == MLV_MODE_FILE,
		   "modify/delete: theirs has no version");
		c = &res.conflicts.items[2];
		is_str(c->path, "e/f", "file/dir: path");
		ok(c->ours == MLV_MERGE_TYPECHANGE && c->theirs == MLV_MERGE_MODIFIED,
		   "file/dir: type change/modified");
		c = &res.conflicts.items[3];
		is_str(c->path, "g", "delete/modify: path");
		ok(c->ours == MLV_MERGE_MODIFIED && c->theirs == MLV_MERGE_DELETED,
		   "delete/modify: modified/deleted");
		c = &res.conflicts.items[4];
		is_str(c->path, "h", "add/add: path");
		ok(c->ours == MLV_MERGE_ADDED && c->theirs == MLV_MERGE_ADDED, "add/add: added/added");
		is_str(mlv_merge_change_name(c->ours), "added", "change names");
	}
	check("conflicts, ours", &b, &o, &t, MLV_MERGE_FAVOR_OURS, want_ours, 5, &res);
	check("conflicts, theirs", &b, &o, &t, MLV_MERGE_FAVOR_THEIRS, want_theirs, 5, &res);
	mlv_tree_merge_result_release(&res);
}

static void test_same_and_modes(void)
{
	struct mlv_tree_merge_result res = MLV_TREE_MERGE_RESULT_INIT;
	const char *ours[] = { "a=same", "b=x", NULL };
	const char *theirs[] = { "a=same", "b*=x", "c=c", NULL };
	const char *want[] = { "a=same", "b=x", "c=c", NULL };
	const char *base2[] = { "b=x", NULL };
	const char *ours2[] = { "b*=x", NULL };
	const char *theirs2[] = { "b=y", NULL };
	struct mlv_oid o = mk(ours), t = mk(theirs);
	struct mlv_oid b2 = mk(base2), o2 = mk(ours2), t2 = mk(theirs2);

	/* No base: added on both sides; the same content is no conflict. */
	check("add/add, no base", NULL, &o, &t, MLV_MERGE_FAVOR_OURS, want, 1, &res);
	if (res.conflicts.nr == 1)
		is_str(res.conflicts.items[0].path, "b", "a mode added two ways conflicts");
	check("exec bit vs content", &b2, &o2, &t2, MLV_MERGE_FAVOR_NONE, NULL, 1, &res);
	mlv_tree_merge_result_release(&res);
}

static void test_deleted_dir(void)
{
	struct mlv_tree_merge_result res = MLV_TREE_MERGE_RESULT_INIT;
	const char *base[] = { "d/1=1", "d/2=2", "d/3=3", "k=k", NULL };
	const char *ours[] = { "k=k", NULL };
	const char *theirs_mod[] = { "d/1=1 theirs", "d/2=2", "d/3=3", "k=k", NULL };
	const char *theirs_add[] = { "d/1=1", "d/2=2", "d/3=3", "d/4=4", "k=k", NULL };
	const char *want_theirs[] = { "d/1=1 theirs", "k=k", NULL };
	const char *want_add[] = { "d/4=4", "k=k", NULL };
	struct mlv_oid b = mk(base), o = mk(ours), tm = mk(theirs_mod), ta = mk(theirs_add);

	check("dir deleted vs file modified", &b, &o, &tm, MLV_MERGE_FAVOR_NONE, NULL, 1, &res);
	if (res.conflicts.nr == 1) {
		is_str(res.conflicts.items[0].path, "d/1", "the modified file conflicts");
		ok(res.conflicts.items[0].ours == MLV_MERGE_DELETED, "deleted in ours");
	}
	check("... resolved ours: the directory goes", &b, &o, &tm, MLV_MERGE_FAVOR_OURS, ours, 1,
	      &res);
	check("... resolved theirs: the other deletions stay", &b, &o, &tm,
	      MLV_MERGE_FAVOR_THEIRS, want_theirs, 1, &res);
	check("dir deleted vs file added", &b, &o, &ta, MLV_MERGE_FAVOR_NONE, want_add, 0, &res);
	check("... the other way round", &b, &ta, &o, MLV_MERGE_FAVOR_NONE, want_add, 0, &res);
	mlv_tree_merge_result_release(&res);
}

static void test_type_change_one_side(void)
{
	struct mlv_tree_merge_result res = MLV_TREE_MERGE_RESULT_INIT;
	const char *base[] = { "x=file", "y=y", NULL };
	const char *ours[] = { "x=file", "y=y ours", NULL };
	const char *theirs[] = { "x/1=1", "x/2=2", "x/3/4=4", "y=y", NULL };
	const char *want[] = { "x/1=1", "x/2=2", "x/3/4=4", "y=y ours", NULL };
	struct mlv_oid b = mk(base), o = mk(ours), t = mk(theirs);

	check("file -> dir on one side", &b, &o, &t, MLV_MERGE_FAVOR_NONE, want, 0, &res);
	check("dir -> file on one side", &t, &t, &o, MLV_MERGE_FAVOR_NONE, ours, 0, &res);
	mlv_tree_merge_result_release(&res);
}

/* Build a tree of raw entries (ids need not be in the store); commit later. */
static struct mlv_oid raw_tree_nc(const char *n1, uint32_t m1, const struct mlv_oid *o1,
			       const char *n2, uint32_t m2, const struct mlv_oid *o2)
{
	struct mlv_tree t = MLV_TREE_INIT;
	struct mlv_buf enc = MLV_BUF_INIT;
	struct mlv_oid id;

	mlv_tree_add(&t, n1, m1, 7, o1);
	if (n2)
		mlv_tree_add(&t, n2, m2, 7, o2);
	mlv_tree_sort(&t);
	mlv_tree_encode(&enc, &t);
	mlv_store_writer_put_tree(writer, &id, enc.ptr, enc.len);
	mlv_tree_release(&t);
	mlv_buf_release(&enc);
	return id;
}

static struct mlv_oid raw_tree(const char *n1, uint32_t m1, const struct mlv_oid *o1,
			       const char *n2, uint32_t m2, const struct mlv_oid *o2)
{
	struct mlv_oid id = raw_tree_nc(n1, m1, o1, n2, m2, o2);

	mlv_store_writer_commit(writer);
	return id;
}

static void test_not_read(void)
{
	struct mlv_tree_merge_result res = MLV_TREE_MERGE_RESULT_INIT;
	struct mlv_oid f1 = fake(1), f2 = fake(2), f3 = fake(3), blob, b, o, t;
	int ret;

	mlv_store_writer_put_buf(writer, &blob, "a", 1);
	mlv_store_writer_commit(writer);
	/* "big" is a subtree not in the store: identical on two sides, it is never read. */
	b = raw_tree("big", MLV_MODE_DIR, &f1, "z", MLV_MODE_FILE, &blob);
	o = raw_tree("big", MLV_MODE_DIR, &f1, NULL, 0, NULL);
	t = raw_tree("big", MLV_MODE_DIR, &f1, "y", MLV_MODE_FILE, &blob);
	ret = mlv_tree_merge(store, writer, &b, &o, &t, "data", MLV_MERGE_FAVOR_NONE, &res);
	is_int(ret, 0, "a subtree the same on all sides is not read: %s", mlv_error_last());
	mlv_tree_merge_result_release(&res);

	b = raw_tree("big", MLV_MODE_DIR, &f1, "z", MLV_MODE_FILE, &blob);
	o = raw_tree("big", MLV_MODE_DIR, &f2, NULL, 0, NULL);
	t = raw_tree("big", MLV_MODE_DIR, &f2, "y", MLV_MODE_FILE, &blob);
	ret = mlv_tree_merge(store, writer, &b, &o, &t, "data", MLV_MERGE_FAVOR_NONE, &res);
	is_int(ret, 0, "a subtree changed the same way on both sides is not read: %s",
	       mlv_error_last());
	mlv_tree_merge_result_release(&res);

	/* Theirs' new object must be in the store. */
	o = raw_tree("big", MLV_MODE_DIR, &f2, NULL, 0, NULL);
	t = raw_tree("big", MLV_MODE_DIR, &f2, "y", MLV_MODE_FILE, &f3);
	ret = mlv_tree_merge(store, writer, &b, &o, &t, "data", MLV_MERGE_FAVOR_NONE, &res);
	is_int(ret, MLV_ENOTFOUND, "theirs' object missing from the store");
	ok(strstr(mlv_error_last(), mlv_oid_hex(&f3)) && strstr(mlv_error_last(), "theirs") &&
	   strstr(mlv_error_last(), "data/y"), "the message names object, side and path: %s",
	   mlv_error_last());
	mlv_tree_merge_result_release(&res);

	/* A subtree changed on both sides must be read: missing is an error naming it. */
	b = raw_tree("big", MLV_MODE_DIR, &f1, NULL, 0, NULL);
	o = raw_tree("big", MLV_MODE_DIR, &f2, NULL, 0, NULL);
	t = raw_tree("big", MLV_MODE_DIR, &f3, NULL, 0, NULL);
	ret = mlv_tree_merge(store, writer, &b, &o, &t, "data", MLV_MERGE_FAVOR_NONE, &res);
	is_int(ret, MLV_ENOTFOUND, "a tree to merge missing from the store");
	ok(strstr(mlv_error_last(), mlv_oid_hex(&f1)) && strstr(mlv_error_last(), "base") &&
	   strstr(mlv_error_last(), "data/big"), "the message names tree, side and path: %s",
	   mlv_error_last());
	mlv_tree_merge_result_release(&res);
	mlv_store_writer_free(writer);
	mlv_store_writer_new(&writer, store);
}

/* A chain of `depth` directories "d" ending in files named by `leaf`. */
static struct mlv_oid chain(unsigned depth, const char *leaf)
{
	struct mlv_oid id, blob;

	mlv_store_writer_put_buf(writer, &blob, leaf, strlen(leaf));
	id = raw_tree_nc(leaf, MLV_MODE_FILE, &blob, NULL, 0, NULL);
	for (unsigned i = 0; i < depth; i++)
		id = raw_tree_nc("d", MLV_MODE_DIR, &id, NULL, 0, NULL);
	mlv_store_writer_commit(writer);
	return id;
}

static void test_bounds(void)
{
	struct mlv_tree_merge_result res = MLV_TREE_MERGE_RESULT_INIT;
	struct mlv_oid b = chain(MLV_TREE_DEPTH_MAX + 2, "b"), o = chain(MLV_TREE_DEPTH_MAX + 2, "o"),
		       t = chain(MLV_TREE_DEPTH_MAX + 2, "t");
	struct mlv_oid blob, lb, lo, lt;
	int ret;

	ret = mlv_tree_merge(store, writer, &b, &o, &t, "data", MLV_MERGE_FAVOR_NONE, &res);
	is_int(ret, MLV_EINVALID, "a tree deeper than MLV_TREE_DEPTH_MAX");
	ok(strstr(mlv_error_last(), "deeper"), "... says so: %s", mlv_error_last());
	mlv_tree_merge_result_release(&res);
	mlv_store_writer_free(writer);
	mlv_store_writer_new(&writer, store);

	/* Two entries naming the same subtree, 40 levels: 2^40 paths. */
	mlv_store_writer_put_buf(writer, &blob, "x", 1);
	lb = raw_tree_nc("b", MLV_MODE_FILE, &blob, NULL, 0, NULL);
	lo = raw_tree_nc("o", MLV_MODE_FILE, &blob, NULL, 0, NULL);
	lt = raw_tree_nc("t", MLV_MODE_FILE, &blob, NULL, 0, NULL);
	for (int i = 0; i < 40; i++) {
		lb = raw_tree_nc("l", MLV_MODE_DIR, &lb, "r", MLV_MODE_DIR, &lb);
		lo = raw_tree_nc("l", MLV_MODE_DIR, &lo, "r", MLV_MODE_DIR, &lo);
		lt = raw_tree_nc("l", MLV_MODE_DIR, &lt, "r", MLV_MODE_DIR, &lt);
	}
	mlv_store_writer_commit(writer);
	ret = mlv_tree_merge(store, writer, &lb, &lo, &lt, "data", MLV_MERGE_FAVOR_NONE, &res);
	is_int(ret, MLV_EINVALID, "a merge of 2^40 paths is refused, at once");
	ok(strstr(mlv_error_last(), "more than"), "... naming the limit: %s", mlv_error_last());
	mlv_tree_merge_result_release(&res);
	mlv_store_writer_free(writer);
	mlv_store_writer_new(&writer, store);
}

/* `levels` levels of "l" and "r" naming the same tree, above a file "f" holding `leaf`. */
static struct mlv_oid dag(unsigned levels, const char *leaf)
{
	struct mlv_oid id, blob;

	mlv_store_writer_put_buf(writer, &blob, leaf, strlen(leaf));
	id = raw_tree_nc("f", MLV_MODE_FILE, &blob, NULL, 0, NULL);
	for (unsigned i = 0; i < levels; i++)
		id = raw_tree_nc("l", MLV_MODE_DIR, &id, "r", MLV_MODE_DIR, &id);
	mlv_store_writer_commit(writer);
	return id;
}

static void test_conflict_cap(void)
{
	struct mlv_tree_merge_result res = MLV_TREE_MERGE_RESULT_INIT;
	struct mlv_oid b = dag(3, "base"), o = dag(3, "ours"), t = dag(3, "theirs");
	int ret;

	ret = mlv_tree_merge(store, writer, &b, &o, &t, "data", MLV_MERGE_FAVOR_NONE, &res);
	is_int(ret, 0, "a small DAG merges: %s", mlv_error_last());
	is_int((long long)res.conflicts.nr, 8, "its 8 conflicts are listed, once per path");
	is_int((long long)res.conflicts.omitted, 0, "none omitted");
	mlv_tree_merge_result_release(&res);

	/* 2^17 paths: more conflicts than are listed. */
	b = dag(17, "base");
	o = dag(17, "ours");
	t = dag(17, "theirs");
	ret = mlv_tree_merge(store, writer, &b, &o, &t, "data", MLV_MERGE_FAVOR_NONE, &res);
	is_int(ret, 0, "a DAG of 2^17 conflicting files merges: %s", mlv_error_last());
	is_int((long long)res.conflicts.nr, (long long)MLV_MERGE_CONFLICTS_MAX,
	       "the first MLV_MERGE_CONFLICTS_MAX are listed");
	is_int((long long)res.conflicts.omitted, (1ll << 17) - (long long)MLV_MERGE_CONFLICTS_MAX,
	       "the rest are counted");
	is_str(res.conflicts.items[0].path, "l/l/l/l/l/l/l/l/l/l/l/l/l/l/l/l/l/f", "in tree order");
	mlv_tree_merge_result_release(&res);
	is_int((long long)res.conflicts.omitted, 0, "released");

	ret = mlv_tree_merge(store, writer, &b, &o, &t, "data", MLV_MERGE_FAVOR_THEIRS, &res);
	is_int(ret, 0, "favouring theirs: %s", mlv_error_last());
	is_int((long long)(res.conflicts.nr + res.conflicts.omitted), 1ll << 17,
	       "conflicts still all counted");
	mlv_tree_merge_result_release(&res);
	mlv_store_writer_free(writer);
	mlv_store_writer_new(&writer, store);
}

int main(void)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/store", tap_tmpdir());
	if (mlv_store_open(&store, dir) || mlv_store_writer_new(&writer, store)) {
		tap_diag("open: %s", mlv_error_last());
		ok(0, "store opens");
		return tap_done();
	}
	test_clean();
	test_nested();
	test_conflicts();
	test_same_and_modes();
	test_deleted_dir();
	test_type_change_one_side();
	test_not_read();
	test_bounds();
	test_conflict_cap();
	mlv_store_writer_free(writer);
	mlv_store_free(store);
	return tap_done();
}
