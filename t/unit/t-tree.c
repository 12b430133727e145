#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlv/error.h"
#include "mlv/store.h"
#include "mlv/tree.h"
#include "tap.h"

#define HDR "mlvtree 1\n"
#define HDR_LEN (sizeof(HDR) - 1)

static struct mlv_oid oid_of(int n)
{
	struct mlv_oid o;

	memset(o.id, n, sizeof(o.id));
	return o;
}

/* Append one raw entry "<mode> <size> <name>\0<id>" with a name of `nlen` bytes. */
static void raw_entry(struct mlv_buf *b, const char *mode, const char *size, const char *name,
		      size_t nlen, int id)
{
	struct mlv_oid o = oid_of(id);

	mlv_buf_addf(b, "%s %s ", mode, size);
	mlv_buf_add(b, name, nlen);
	mlv_buf_addch(b, '\0');
	mlv_buf_add(b, o.id, sizeof(o.id));
}

static void reject(const struct mlv_buf *b, const char *needle, const char *title)
{
	struct mlv_tree t = MLV_TREE_INIT;
	int ret;

	mlv_error_clear();
	ret = mlv_tree_parse(&t, b->ptr, b->len, "sha256:feed");
	is_int(ret, MLV_EINVALID, "%s: rejected", title);
	if (!ok(strstr(mlv_error_last(), "sha256:feed") && strstr(mlv_error_last(), needle),
		"%s: message names the tree and says '%s'", title, needle))
		tap_diag("message: %s", mlv_error_last());
	ok(t.nr == 0 && t.entries == NULL, "%s: output left empty", title);
	mlv_tree_release(&t);
}

static void test_names(void)
{
	char nul[] = { 'a', '\0', 'b' };
	char longname[MLV_NAME_MAX + 2];

	memset(longname, 'n', sizeof(longname));
	ok(mlv_name_valid("a", 1), "name 'a' valid");
	ok(mlv_name_valid("...", 3), "name '...' valid");
	ok(mlv_name_valid(".hidden", 7), "name '.hidden' valid");
	ok(mlv_name_valid("new\nline", 8), "name with newline valid");
	ok(mlv_name_valid(longname, MLV_NAME_MAX), "name of MLV_NAME_MAX bytes valid");
	ok(!mlv_name_valid(longname, MLV_NAME_MAX + 1), "name longer than MLV_NAME_MAX invalid");
	ok(!mlv_name_valid("", 0), "empty name invalid");
	ok(!mlv_name_valid(".", 1), "'.' invalid");
	ok(!mlv_name_valid("..", 2), "'..' invalid");
	ok(!mlv_name_valid("a/b", 3), "'a/b' invalid");
	ok(!mlv_name_valid("/", 1), "'/' invalid");
	ok(!mlv_name_valid(nul, sizeof(nul)), "name with NUL invalid");
}

static void test_roundtrip(void)
{
	struct mlv_tree t = MLV_TREE_INIT, u = MLV_TREE_INIT;
	struct mlv_buf b = MLV_BUF_INIT, c = MLV_BUF_INIT, want = MLV_BUF_INIT;
	struct mlv_oid o1 = oid_of(1), o2 = oid_of(2), o3 = oid_of(3), o4 = oid_of(4);

	/* Added out of order; "\xff" sorts last, "a" before "a.txt" before "b". */
	mlv_tree_add(&t, "b", MLV_MODE_DIR, 9223372036854775807ull, &o1);
	mlv_tree_add(&t, "\xff", MLV_MODE_LINK, 5, &o2);
	mlv_tree_add(&t, "a.txt", MLV_MODE_EXEC, 0, &o3);
	mlv_tree_add(&t, "a", MLV_MODE_FILE, 10, &o4);
	is_int(mlv_tree_encode(&b, &t), MLV_EINVALID, "encode refuses unsorted entries");
	is_int((long long)b.len, 0, "failed encode leaves the buffer unchanged");
	mlv_tree_sort(&t);
	is_str(t.entries[0].name, "a", "sorted[0]");
	is_str(t.entries[1].name, "a.txt", "sorted[1]");
	is_str(t.entries[2].name, "b", "sorted[2]");
	is_str(t.entries[3].name, "\xff", "sorted[3] (bytes compare unsigned)");
	is_int(mlv_tree_encode(&b, &t), 0, "encode");

	mlv_buf_adds(&want, HDR);
	raw_entry(&want, "100644", "10", "a", 1, 4);
	raw_entry(&want, "100755", "0", "a.txt", 5, 3);
	raw_entry(&want, "40000", "9223372036854775807", "b", 1, 1);
	raw_entry(&want, "120000", "5", "\xff", 1, 2);
	ok(b.len == want.len && !memcmp(b.ptr, want.ptr, b.len), "encoding is byte-exact");

	is_int(mlv_tree_parse(&u, b.ptr, b.len, "t"), 0, "parse");
	is_int((long long)u.nr, 4, "entry count");
	for (size_t i = 0; i < u.nr && i < t.nr; i++)
		ok(!strcmp(u.entries[i].name, t.entries[i].name) &&
		   u.entries[i].mode == t.entries[i].mode &&
		   u.entries[i].size == t.entries[i].size &&
		   !mlv_oid_cmp(&u.entries[i].oid, &t.entries[i].oid), "entry %zu round-trips", i);
	is_int(mlv_tree_encode(&c, &u), 0, "re-encode");
	ok(b.len == c.len && !memcmp(b.ptr, c.ptr, b.len), "re-encoding identical");

	ok(mlv_tree_find(&u, "a.txt") == &u.entries[1], "find a.txt");
	ok(mlv_tree_find(&u, "\xff") == &u.entries[3], "find last");
	ok(mlv_tree_find(&u, "a") == &u.entries[0], "find first");
	ok(mlv_tree_find(&u, "a.tx") == NULL, "find absent");
	ok(mlv_tree_find(&u, "c") == NULL, "find after last");

	/* Empty tree, and parse into a used tree. */
	mlv_tree_release(&t);
	mlv_buf_reset(&b);
	is_int(mlv_tree_encode(&b, &t), 0, "encode empty tree");
	is_str(b.ptr, HDR, "empty tree is just the header");
	is_int(mlv_tree_parse(&u, b.ptr, b.len, "t"), 0, "parse empty tree into used tree");
	is_int((long long)u.nr, 0, "no entries");
	ok(mlv_tree_find(&u, "a") == NULL, "find in empty tree");

	/* Encode refuses what parse would refuse. */
	mlv_tree_add(&t, "a", MLV_MODE_FILE, 1, &o1);
	mlv_tree_add(&t, "a", MLV_MODE_FILE, 1, &o1);
	is_int(mlv_tree_encode(&b, &t), MLV_EINVALID, "encode refuses duplicates");
	ok(strstr(mlv_error_last(), "duplicate") != NULL, "message says duplicate");
	mlv_tree_release(&t);
	mlv_tree_add(&t, "..", MLV_MODE_FILE, 1, &o1);
	is_int(mlv_tree_encode(&b, &t), MLV_EINVALID, "encode refuses '..'");
	mlv_tree_release(&t);
	mlv_tree_add(&t, "x/y", MLV_MODE_FILE, 1, &o1);
	is_int(mlv_tree_encode(&b, &t), MLV_EINVALID, "encode refuses 'x/y'");
	mlv_tree_release(&t);
	mlv_tree_add(&t, "x", 0100664, 1, &o1);
	is_int(mlv_tree_encode(&b, &t), MLV_EINVALID, "encode refuses mode 100664");
	mlv_tree_release(&t);
	mlv_tree_add(&t, "x", MLV_MODE_FILE, (uint64_t)INT64_MAX + 1, &o1);
	is_int(mlv_tree_encode(&b, &t), MLV_EINVALID, "encode refuses size >= 2^63");
	is_str(b.ptr, HDR, "buffer unchanged after refusals");

	mlv_tree_release(&t);
	mlv_tree_release(&t);
	mlv_tree_release(&u);
	mlv_buf_release(&b);
	mlv_buf_release(&c);
	mlv_buf_release(&want);
}

static void test_hostile(void)
{
	struct mlv_buf b = MLV_BUF_INIT;
	char longname[MLV_NAME_MAX + 1];

#define START() (mlv_buf_reset(&b), mlv_buf_adds(&b, HDR))

	mlv_buf_reset(&b);
	reject(&b, "bad header", "empty data");
	mlv_buf_adds(&b, "mlvtree 2\n");
	reject(&b, "bad header", "version 2 header");
	mlv_buf_reset(&b);
	mlv_buf_adds(&b, "mlvtree 1");
	reject(&b, "bad header", "header without newline");

	START();
	raw_entry(&b, "100644", "1", "a", 1, 1);
	raw_entry(&b, "100644", "1", "a", 1, 2);
	reject(&b, "entry 1 at offset 53: duplicate name", "duplicate names");

	START();
	raw_entry(&b, "100644", "1", "b", 1, 1);
	raw_entry(&b, "100644", "1", "a", 1, 2);
	reject(&b, "entry 1", "unsorted names");
	ok(strstr(mlv_error_last(), "not sorted") != NULL, "message says not sorted");

	START();
	raw_entry(&b, "100644", "1", "ab", 2, 1);
	raw_entry(&b, "100644", "1", "a", 1, 2);
	reject(&b, "not sorted", "prefix after longer name");

	START();
	raw_entry(&b, "100644", "1", "\xff", 1, 1);
	raw_entry(&b, "100644", "1", "a", 1, 2);
	reject(&b, "not sorted", "high byte before 'a' (signed compare bug)");

	START();
	raw_entry(&b, "100664", "1", "a", 1, 1);
	reject(&b, "entry 0 at offset 10: invalid mode", "mode 100664");
	START();
	raw_entry(&b, "040000", "1", "a", 1, 1);
	reject(&b, "invalid mode", "mode 040000 (leading zero)");
	START();
	raw_entry(&b, "10064", "1", "a", 1, 1);
	reject(&b, "invalid mode", "mode prefix 10064");
	START();
	raw_entry(&b, "1006440", "1", "a", 1, 1);
	reject(&b, "invalid mode", "mode 1006440");

	START();
	raw_entry(&b, "100644", "01", "a", 1, 1);
	reject(&b, "invalid size", "size with leading zero");
	START();
	raw_entry(&b, "100644", "+1", "a", 1, 1);
	reject(&b, "invalid size", "size with sign");
	START();
	raw_entry(&b, "100644", "", "a", 1, 1);
	reject(&b, "invalid size", "empty size");
	START();
	raw_entry(&b, "100644", "9223372036854775808", "a", 1, 1);
	reject(&b, "invalid size", "size 2^63");
	START();
	raw_entry(&b, "100644", "18446744073709551616", "a", 1, 1);
	reject(&b, "invalid size", "size 2^64 (overflow)");

	START();
	raw_entry(&b, "100644", "1", "..", 2, 1);
	reject(&b, "invalid name", "name '..'");
	START();
	raw_entry(&b, "100644", "1", ".", 1, 1);
	reject(&b, "invalid name", "name '.'");
	START();
	raw_entry(&b, "100644", "1", "a/b", 3, 1);
	reject(&b, "invalid name", "name 'a/b'");
	START();
	raw_entry(&b, "100644", "1", "", 0, 1);
	reject(&b, "invalid name", "empty name");
	memset(longname, 'n', sizeof(longname));
	START();
	raw_entry(&b, "100644", "1", longname, sizeof(longname), 1);
	reject(&b, "invalid name", "name longer than MLV_NAME_MAX");

	/*
	 * A name "a\0b" cannot be told from name "a" followed by garbage:
	 * the id then swallows "b", and 1 byte is left over.
	 */
	START();
	raw_entry(&b, "100644", "1", "a\0b", 3, 1);
	reject(&b, "truncated entry", "name with NUL");

	START();
	raw_entry(&b, "100644", "1", "a", 1, 1);
	mlv_buf_setlen(&b, b.len - 1);
	reject(&b, "entry 0", "id one byte short");
	ok(strstr(mlv_error_last(), "truncated") != NULL, "message says truncated");

	START();
	raw_entry(&b, "100644", "1", "a", 1, 1);
	raw_entry(&b, "100644", "1", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 52, 1);
	mlv_buf_setlen(&b, b.len - 1);
	reject(&b, "entry 1 at offset 53: truncated id", "second id one byte short");

	START();
	mlv_buf_add(&b, "100644 1 abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz", 61);
	reject(&b, "name not terminated", "name without NUL");

	START();
	raw_entry(&b, "100644", "1", "a", 1, 1);
	mlv_buf_adds(&b, "x");
	reject(&b, "entry 1 at offset 53: truncated entry", "one byte of trailing garbage");

	START();
	raw_entry(&b, "100644", "1", "a", 1, 1);
	mlv_buf_add(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
		    "\0\0\0\0\0\0\0\0", 44);
	reject(&b, "entry 1 at offset 53: invalid mode", "trailing zero bytes");

	START();
	mlv_buf_add(&b, "100644  1 a", 11);
	mlv_buf_add(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 33);
	reject(&b, "invalid size", "two spaces after mode");

#undef START
	mlv_buf_release(&b);
}

/*
 * A DAG of `depth` levels: the bottom tree holds two files, each level
 * above two entries naming the same tree below, so the top names
 * 2^depth files in depth + 1 small objects.  The writer must be committed.
 */
static int make_dag(struct mlv_store *s, unsigned depth, struct mlv_oid *top)
{
	struct mlv_store_writer *w;
	struct mlv_oid blob, id;
	struct mlv_buf enc = MLV_BUF_INIT;
	int ret;

	if ((ret = mlv_store_writer_new(&w, s)))
		return ret;
	if ((ret = mlv_store_writer_put_buf(w, &blob, "leaf\n", 5)))
		goto done;
	for (unsigned level = 0; level <= depth && !ret; level++) {
		struct mlv_tree t = MLV_TREE_INIT;
		uint32_t mode = level ? MLV_MODE_DIR : MLV_MODE_FILE;
		const struct mlv_oid *child = level ? &id : &blob;
		uint64_t size = level < 50 ? 5ull << level : 0;

		mlv_tree_add(&t, "a", mode, size, child);
		mlv_tree_add(&t, "b", mode, size, child);
		mlv_buf_reset(&enc);
		if (!(ret = mlv_tree_encode(&enc, &t)))
			ret = mlv_store_writer_put_tree(w, &id, enc.ptr, enc.len);
		mlv_tree_release(&t);
	}
	if (!ret)
		ret = mlv_store_writer_commit(w);
	if (!ret)
		*top = id;
done:
	mlv_buf_release(&enc);
	mlv_store_writer_free(w);
	return ret;
}

static int count_file(void *ctx, const char *path, const struct mlv_tree_entry *e)
{
	(*(uint64_t *)ctx)++;
	return 0;
}

static void test_dag(void)
{
	char dir[4096];
	struct mlv_store *s = NULL;
	struct mlv_oid top, small;
	uint64_t files = 0, seen = 0;
	time_t t0;

	snprintf(dir, sizeof(dir), "%s/store", tap_tmpdir());
	if (mlv_store_open(&s, dir)) {
		ok(0, "open store: %s", mlv_error_last());
		return;
	}
	is_int(make_dag(s, 4, &small), 0, "a DAG of 4 levels");
	is_int(mlv_tree_count(s, &small, "small", 1000, &files), 0, "counted");
	is_int(files, 32, "2^5 files through shared subtrees");
	is_int(mlv_tree_walk(s, &small, "small", count_file, &seen), 0, "walked");
	is_int(seen, 32, "the walk reaches every file each time");
	/* Entries visited: 2 at the bottom, 2 + twice the level below above: 62. */
	is_int(mlv_tree_count(s, &small, "small", 62, &files), 0, "62 entries visited: at the limit");
	is_int(mlv_tree_count(s, &small, "small", 61, &files), MLV_EINVALID, "61: over the limit");

	is_int(make_dag(s, 41, &top), 0, "a DAG of 41 levels (2^42 files)");
	t0 = time(NULL);
	is_int(mlv_tree_count(s, &top, "data", MLV_TREE_VISIT_MAX, &files), MLV_EINVALID,
	       "counting it fails");
	ok(strstr(mlv_error_last(), "'data'") && strstr(mlv_error_last(), mlv_oid_hex(&top)),
	   "naming the tree and its id: %s", mlv_error_last());
	seen = 0;
	is_int(mlv_tree_walk(s, &top, "data", count_file, &seen), MLV_EINVALID,
	       "walking it fails");
	is_int(seen, 0, "before visiting a single file");
	ok(time(NULL) - t0 < 30, "at once");

	is_int(make_dag(s, MLV_TREE_DEPTH_MAX + 1, &top), 0, "a chain deeper than the limit");
	is_int(mlv_tree_count(s, &top, "deep", MLV_TREE_VISIT_MAX, &files), MLV_EINVALID,
	       "too deep: %s", mlv_error_last());
	mlv_store_free(s);
}

static void test_entries_limit(void)
{
	struct mlv_tree t = MLV_TREE_INIT;
	struct mlv_buf b = MLV_BUF_INIT;
	struct mlv_oid id = oid_of(1);

	/* Encoding refuses without looking at the entries. */
	t.nr = (size_t)MLV_TREE_ENTRIES_MAX + 1;
	is_int(mlv_tree_encode(&b, &t), MLV_EINVALID, "more entries than a tree may hold");
	t.nr = 0;
	mlv_tree_add(&t, "x", MLV_MODE_FILE, 1, &id);
	is_int(mlv_tree_encode(&b, &t), 0, "one entry is fine");
	mlv_tree_release(&t);
	mlv_buf_release(&b);
}

/*
 * Also a helper for the shell tests: "t-tree make-dag <store dir> <depth>"
 * writes such a DAG into a store and prints the top tree's id.
 */
int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "make-dag")) {
		struct mlv_store *s;
		struct mlv_oid top;

		if (mlv_store_open(&s, argv[2]) || make_dag(s, (unsigned)atoi(argv[3]), &top)) {
			fprintf(stderr, "make-dag: %s\n", mlv_error_last());
			return 1;
		}
		printf("%s\n", mlv_oid_hex(&top));
		mlv_store_free(s);
		return 0;
	}
	test_names();
	test_roundtrip();
	test_hostile();
	test_dag();
	test_entries_limit();
	return tap_done();
}
