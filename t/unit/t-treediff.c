#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/store.h"
#include "mlv/tree.h"
#include "mlv/treediff.h"
#include "tap.h"

static struct mlv_store *s;
static struct mlv_store_writer *w;

static struct mlv_oid oid_of(int n)
{
	struct mlv_oid o;

	memset(o.id, n, sizeof(o.id));
	return o;
}

/*
 * A tree from a spec: entries separated by spaces, each
 * "<kind>:<name>:<n>" with kind f (file, id oid_of(n), size n), x
 * (executable), l (symlink), d (directory whose id is trees[n]).
 */
static struct mlv_oid trees[128];

static struct mlv_oid mk(const char *spec)
{
	struct mlv_tree t = MLV_TREE_INIT;
	struct mlv_buf b = MLV_BUF_INIT;
	struct mlv_oid id;
	char *copy = mlv_strdup(spec), *save = NULL;

	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char kind = tok[0], *name = tok + 2, *num = strrchr(tok, ':');
		int n;
		struct mlv_oid o;

		*num++ = '\0';
		n = atoi(num);
		o = kind == 'd' ? trees[n] : oid_of(n);
		mlv_tree_add(&t, name,
			     kind == 'f' ? MLV_MODE_FILE : kind == 'x' ? MLV_MODE_EXEC :
			     kind == 'l' ? MLV_MODE_LINK : MLV_MODE_DIR,
			     kind == 'd' ? 0 : (uint64_t)n, &o);
	}
	mlv_tree_sort(&t);
	if (mlv_tree_encode(&b, &t) || mlv_store_writer_put_tree(w, &id, b.ptr, b.len))
		tap_diag("mk %s: %s", spec, mlv_error_last());
	mlv_tree_release(&t);
	mlv_buf_release(&b);
	free(copy);
	return id;
}

static int collect(void *ctx, const struct mlv_tree_change *c)
{
	struct mlv_buf *out = ctx;

	if (c->kind == 'R')
		mlv_buf_addf(out, "R %s>%s;", c->old_path, c->path);
	else
		mlv_buf_addf(out, "%c %s;", c->kind, c->path);
	return 0;
}

static int diff(struct mlv_buf *out, const struct mlv_oid *a, const struct mlv_oid *b,
		const char *base, unsigned flags, const char *within, uint64_t limit)
{
	struct mlv_tree_diff_opts o = MLV_TREE_DIFF_OPTS_INIT;

	o.flags = flags;
	o.within = within;
	o.limit = limit;
	if (mlv_store_writer_commit(w))
		tap_diag("commit: %s", mlv_error_last());
	mlv_buf_reset(out);
	mlv_error_clear();
	return mlv_tree_diff_ext(s, a, b, base, &o, collect, out);
}

static void check(const struct mlv_oid *a, const struct mlv_oid *b, const char *base,
		  unsigned flags, const char *within, const char *want, const char *title)
{
	struct mlv_buf out = MLV_BUF_INIT;
	int ret = diff(&out, a, b, base, flags, within, 0);

	if (!is_int(ret, 0, "%s: succeeds", title))
		tap_diag("error: %s", mlv_error_last());
	is_str(out.len ? out.ptr : "", want, "%s", title);
	mlv_buf_release(&out);
}

static void test_basic(void)
{
	struct mlv_oid absent = oid_of(0xee), a, b;

	/* Same id on both sides: nothing is read (the id is not even stored). */
	check(&absent, &absent, "data", 0, NULL, "", "equal ids read nothing");
	check(NULL, NULL, "data", 0, NULL, "", "two empty sides");

	trees[1] = mk("f:one:1 f:two:2");
	trees[2] = mk("f:one:1 f:two:3 f:three:4");
	/* An unchanged subtree whose object is absent: it must be skipped unread. */
	trees[3] = absent;
	a = mk("d:sub:1 d:same:3 f:keep:5 f:gone:6 f:exe:7 f:link:8");
	b = mk("d:sub:2 d:same:3 f:keep:5 x:exe:7 l:link:8 f:new:9");
	check(&a, &b, "data", 0, NULL,
	      "M data/exe;D data/gone;T data/link;A data/new;A data/sub/three;M data/sub/two;",
	      "added, deleted, modified, exec bit, type; unchanged subtree skipped");
	check(&a, &b, "", 0, NULL,
	      "M exe;D gone;T link;A new;A sub/three;M sub/two;", "empty base");
	check(NULL, &trees[1], "d", 0, NULL, "A d/one;A d/two;", "old side empty: all added");
	check(&trees[1], NULL, "d", 0, NULL, "D d/one;D d/two;", "new side empty: all deleted");
	check(&a, &b, "data", 0, "sub", "A data/sub/three;M data/sub/two;", "within a directory");
	check(&a, &b, "data", 0, "sub/three", "A data/sub/three;", "within a file");
	check(&a, &b, "data", 0, "nothing/here", "", "within a path that is not there");
}

static void test_renames(void)
{
	struct mlv_oid a, b;

	trees[10] = mk("f:x.bin:20 f:y.bin:21");
	trees[11] = mk("f:x.bin:20");
	a = mk("d:old:10 f:empty:0 f:dup1:30 f:dup2:30 f:c:40");
	trees[12] = mk("f:x.bin:20 f:z.bin:21");
	trees[16] = mk("f:c:40");
	b = mk("d:new:12 f:empty2:0 f:dupA:30 f:dupB:30 d:z:16");
	check(&a, &b, "", 0, NULL,
	      "R dup1>dupA;R dup2>dupB;D empty;A empty2;R old/x.bin>new/x.bin;R old/y.bin>new/z.bin;R c>z/c;",
	      "renames: same base name first, then path order; empty files never paired");
	check(&a, &b, "", MLV_TREE_DIFF_NO_RENAMES, NULL,
	      "D c;D dup1;D dup2;A dupA;A dupB;D empty;A empty2;A new/x.bin;A new/z.bin;D old/x.bin;D old/y.bin;A z/c;",
	      "NO_RENAMES");

	/* Same name in another directory wins over path order. */
	trees[13] = mk("f:b.txt:50");
	trees[14] = mk("f:a.txt:50");
	a = mk("d:p:13 d:q:14");
	trees[15] = mk("f:a.txt:50 f:b.txt:50");
	b = mk("d:r:15");
	check(&a, &b, "", 0, NULL, "R q/a.txt>r/a.txt;R p/b.txt>r/b.txt;",
	      "a rename keeps its base name when it can");

	/* A symlink and a file with the same id are not a rename. */
	a = mk("f:f:60");
	b = mk("l:g:60");
	check(&a, &b, "", 0, NULL, "D f;A g;", "file and symlink of one id are not paired");
}

static void test_file_dir(void)
{
	struct mlv_oid a, b;

	trees[20] = mk("f:in1:70 f:in2:71");
	a = mk("f:thing:72");
	b = mk("d:thing:20");
	check(&a, &b, "", MLV_TREE_DIFF_NO_RENAMES, NULL, "D thing;A thing/in1;A thing/in2;",
	      "a file that became a directory");
	check(&b, &a, "", MLV_TREE_DIFF_NO_RENAMES, NULL, "A thing;D thing/in1;D thing/in2;",
	      "a directory that became a file");
}

static void test_missing(void)
{
	struct mlv_oid absent = oid_of(0xab), a, b;
	struct mlv_buf out = MLV_BUF_INIT;
	int ret;

	trees[30] = absent;
	trees[31] = mk("f:k:80");
	a = mk("d:lost:31 f:z:81");
	b = mk("d:lost:30 f:z:82");
	ret = diff(&out, &a, &b, "ds", 0, NULL, 0);
	is_int(ret, MLV_ENOTFOUND, "a missing tree is an error");
	ok(strstr(mlv_error_last(), "ds/lost") && strstr(mlv_error_last(), mlv_oid_hex(&absent)),
	   "naming its path and id: %s", mlv_error_last());
	check(&a, &b, "ds", MLV_TREE_DIFF_MISSING_OK, NULL, "! ds/lost;M ds/z;",
	      "MISSING_OK: reported, the diff goes on");
	check(NULL, &absent, "ds", MLV_TREE_DIFF_MISSING_OK, NULL, "! ds;", "a missing root");
	ret = diff(&out, &absent, &a, "ds", 0, NULL, 0);
	is_int(ret, MLV_ENOTFOUND, "a missing root is an error: %s", mlv_error_last());
	/* A subtree only on one side that is missing. */
	a = mk("f:z:81");
	b = mk("d:lost:30 f:z:81");
	check(&a, &b, "ds", MLV_TREE_DIFF_MISSING_OK, NULL, "! ds/lost;",
	      "a missing subtree on one side");
	mlv_buf_release(&out);
}

static void test_bounds(void)
{
	struct mlv_buf out = MLV_BUF_INIT;
	struct mlv_oid a, b, cur_a, cur_b;
	char spec[64];
	int ret;

	/* 2^40 files through shared subtrees, on the new side only: fails at once. */
	trees[40] = mk("f:a:1 f:b:2");
	for (int i = 41; i < 83; i++) {
		snprintf(spec, sizeof(spec), "d:l:%d d:r:%d", i - 1, i - 1);
		trees[i] = mk(spec);
	}
	ret = diff(&out, NULL, &trees[82], "bomb", 0, NULL, 0);
	is_int(ret, MLV_EINVALID, "a one-sided tree bomb is refused: %s", mlv_error_last());
	ok(out.len == 0, "before anything is reported");

	/* On both sides: bounded by the limit. */
	trees[40] = mk("f:a:1 f:b:3");
	for (int i = 41; i < 60; i++) {
		snprintf(spec, sizeof(spec), "d:l:%d d:r:%d", i - 1, i - 1);
		trees[i] = mk(spec);
	}
	a = mk("f:a:1 f:b:2");
	trees[40] = a;
	for (int i = 41; i < 60; i++) {
		snprintf(spec, sizeof(spec), "d:l:%d d:r:%d", i - 1, i - 1);
		trees[i] = mk(spec);
	}
	cur_a = trees[59];
	trees[40] = mk("f:a:1 f:b:3");
	for (int i = 41; i < 60; i++) {
		snprintf(spec, sizeof(spec), "d:l:%d d:r:%d", i - 1, i - 1);
		trees[i] = mk(spec);
	}
	cur_b = trees[59];
	ret = diff(&out, &cur_a, &cur_b, "bomb", 0, NULL, 10000);
	is_int(ret, MLV_EINVALID, "a two-sided tree bomb stops at the limit: %s", mlv_error_last());
	ok(strstr(mlv_error_last(), "bomb") != NULL, "naming the tree");
	ok(out.len == 0, "nothing reported (renames gathered first)");

	/* Depth. */
	cur_a = mk("f:leaf:1");
	cur_b = mk("f:leaf:2");
	for (unsigned i = 0; i < MLV_TREE_DEPTH_MAX + 2; i++) {
		trees[0] = cur_a;
		cur_a = mk("d:d:0");
		trees[0] = cur_b;
		cur_b = mk("d:d:0");
	}
	ret = diff(&out, &cur_a, &cur_b, "deep", 0, NULL, 0);
	is_int(ret, MLV_EINVALID, "too deep: %s", mlv_error_last());
	ret = diff(&out, NULL, &cur_b, "deep", 0, NULL, 0);
	is_int(ret, MLV_EINVALID, "too deep on one side: %s", mlv_error_last());
	(void)b;
	mlv_buf_release(&out);
}

/* A DAG: `levels` levels of "l" and "r" naming the same tree, above `leaf`. */
static struct mlv_oid dag(const struct mlv_oid *leaf, int levels)
{
	char spec[64];

	trees[60] = *leaf;
	for (int i = 0; i < levels; i++) {
		snprintf(spec, sizeof(spec), "d:l:%d d:r:%d", 60 + i, 60 + i);
		trees[61 + i] = mk(spec);
	}
	return trees[60 + levels];
}

static void test_pair_count(void)
{
	struct mlv_buf out = MLV_BUF_INIT;
	struct mlv_oid la = mk("f:a:1 f:b:2"), lb = mk("f:a:1 f:b:3"), a, b, c, top_a, top_b;
	int ret;

	/* 3 levels: 2 entries at the leaves, 2 + twice the level below above: 30 visits. */
	a = dag(&la, 3);
	b = dag(&lb, 3);
	ret = diff(&out, &a, &b, "small", 0, NULL, 30);
	is_int(ret, 0, "a DAG pair visiting 30 entries, limit 30: %s", mlv_error_last());
	is_int((long long)(strchr(out.ptr, 'M') ? 1 : 0), 1, "reports the changes");
	ret = diff(&out, &a, &b, "small", 0, NULL, 29);
	is_int(ret, MLV_EINVALID, "limit 29: refused");
	ok(out.len == 0, "before anything is reported");
	ret = diff(&out, &a, &b, "small", MLV_TREE_DIFF_NO_RENAMES, NULL, 29);
	is_int(ret, MLV_EINVALID, "without renames too");
	ok(out.len == 0, "... still before anything is reported (counted first)");
	ok(strstr(mlv_error_last(), "small") && strstr(mlv_error_last(), mlv_oid_hex(&b)),
	   "the message names the tree and its id: %s", mlv_error_last());

	/* DAGs of 2^42 and 2^41 files, one level apart: every pair differs. */
	top_a = dag(&la, 41);
	top_b = dag(&la, 40);
	c = top_b;
	top_b = dag(&lb, 30);
	ret = diff(&out, &top_a, &c, "huge", MLV_TREE_DIFF_NO_RENAMES, NULL, 0);
	is_int(ret, MLV_EINVALID, "DAGs of depth 41 and 40 against each other: refused: %s",
	       mlv_error_last());
	ok(out.len == 0, "before anything is reported");
	a = dag(&la, 30);
	ret = diff(&out, &a, &top_b, "huge", 0, NULL, 0);
	is_int(ret, MLV_EINVALID, "2^31 files changed on both sides: refused");
	ok(out.len == 0, "before anything is reported");
	ret = diff(&out, &a, &top_b, "huge", MLV_TREE_DIFF_NO_RENAMES, "l/r", 0);
	is_int(ret, MLV_EINVALID, "within a path, what is below it counts");
	ok(out.len == 0, "before anything is reported");
	ret = diff(&out, &a, &top_b, "huge", MLV_TREE_DIFF_NO_RENAMES, "l/l/l/l/l/l/l/l/l/l/l/l/l/l/l/l/l/l/l/r", 0);
	is_int(ret, 0, "but deep enough within, it is small: %s", mlv_error_last());
	ok(out.len > 0, "and reported");

	/* A DAG on one side only, below a file on the other. */
	trees[0] = a;
	b = mk("d:x:0");
	c = mk("f:x:4");
	ret = diff(&out, &c, &b, "huge", MLV_TREE_DIFF_NO_RENAMES, NULL, 0);
	is_int(ret, MLV_EINVALID, "a one-sided DAG below a file: refused");
	ok(out.len == 0, "before anything is reported");
	ret = diff(&out, &a, &a, "huge", 0, NULL, 0);
	is_int(ret, 0, "the same DAG on both sides costs nothing");
	mlv_buf_release(&out);
}

static void test_rename_cap(void)
{
	struct mlv_tree_diff_opts o = MLV_TREE_DIFF_OPTS_INIT;
	struct mlv_buf out = MLV_BUF_INIT;
	struct mlv_oid a = mk("f:a:5 f:b:6 f:c:7"), b = mk("f:x:5 f:y:6 f:z:7");
	int skipped = -1;

	mlv_store_writer_commit(w);
	o.renames_skipped = &skipped;
	o.rename_limit = 6;
	is_int(mlv_tree_diff_ext(s, &a, &b, "", &o, collect, &out), 0, "6 changes, limit 6");
	is_str(out.ptr, "R a>x;R b>y;R c>z;", "renames detected");
	is_int(skipped, 0, "not skipped");
	mlv_buf_reset(&out);
	o.rename_limit = 5;
	is_int(mlv_tree_diff_ext(s, &a, &b, "", &o, collect, &out), 0, "6 changes, limit 5");
	is_str(out.ptr, "D a;D b;D c;A x;A y;A z;", "plain deletions and additions, in tree order");
	is_int(skipped, 1, "the caller is told");
	mlv_buf_release(&out);
}

static void test_stat(void)
{
	struct mlv_tree_diff_stat st;
	struct mlv_tree_change c;

	memset(&st, 0, sizeof(st));
	memset(&c, 0, sizeof(c));
	c.kind = 'A';
	c.new_size = 10;
	mlv_tree_diff_stat_add(&st, &c);
	c.kind = 'M';
	c.old_size = 4;
	mlv_tree_diff_stat_add(&st, &c);
	c.kind = 'R';
	c.old_size = 10;
	mlv_tree_diff_stat_add(&st, &c);
	c.kind = 'D';
	c.new_size = 0;
	c.old_size = 7;
	mlv_tree_diff_stat_add(&st, &c);
	ok(st.added == 1 && st.modified == 1 && st.renamed == 1 && st.deleted == 1,
	   "stat counts");
	is_int((long long)st.bytes_added, 20, "bytes added");
	is_int((long long)st.bytes_removed, 11, "bytes removed");
}

int main(void)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/store", tap_tmpdir());
	if (mlv_store_open(&s, dir) || mlv_store_writer_new(&w, s)) {
		tap_diag("store: %s", mlv_error_last());
		return 1;
	}
	test_basic();
	test_renames();
	test_file_dir();
	test_missing();
	test_bounds();
	test_pair_count();
	test_rename_cap();
	test_stat();
	mlv_store_writer_free(w);
	mlv_store_free(s);
	return tap_done();
}
