#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/store.h"
#include "store/index.h"
#include "store/pack.h"
#include "tap.h"
#include <sqlite3.h>
#include <time.h>

static void fill_random(unsigned char *p, size_t len, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 32);
	}
}

static int sink_buf(void *ctx, const void *data, size_t len)
{
	mlv_buf_add(ctx, data, len);
	return 0;
}

static int read_back(struct mlv_store *s, const struct mlv_oid *id, struct mlv_buf *out)
{
	mlv_buf_reset(out);
	return mlv_store_read_blob(s, id, sink_buf, out);
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ret;

	if (fd < 0)
		return -1;
	ret = mlv_write_all(fd, data, len, path);
	close(fd);
	return ret;
}

static uint64_t packs_size(const char *dir, int *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t total = 0;

	*count = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[4096];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!stat(path, &st)) {
			total += (uint64_t)st.st_size;
			(*count)++;
		}
	}
	closedir(d);
	return total;
}

/* Path of the only pack holding `id`. */
static void pack_path(char *out, size_t n, const char *mlvdir, struct mlv_store *s,
		      const struct mlv_oid *id, uint64_t *offset)
{
	struct mlv_object_info info;

	memset(&info, 0, sizeof(info));
	mlv_store_info(s, id, &info);
	{
		struct mlv_buf b = MLV_BUF_INIT;

		mlv_buf_addf(&b, "%s/packs/%s", mlvdir, info.pack);
		if (b.len < n)
			memcpy(out, b.ptr, b.len + 1);
		mlv_buf_release(&b);
	}
	if (offset)
		*offset = info.offset;
}

static void flip_byte(const char *path, uint64_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char c = 0;

	if (fd < 0)
		return;
	if (pread(fd, &c, 1, (off_t)off) == 1) {
		c ^= 0x55;
		if (pwrite(fd, &c, 1, (off_t)off) != 1)
			tap_diag("pwrite failed");
	}
	close(fd);
}

struct problems {
	int n;
	char kinds[512];
};

static void report(void *ctx, const char *kind, const char *what, const char *detail)
{
	struct problems *p = ctx;
	size_t l = strlen(p->kinds);

	p->n++;
	snprintf(p->kinds + l, sizeof(p->kinds) - l, "%s%s", l ? "," : "", kind);
	tap_diag("fsck: %s %s: %s", kind, what, detail);
}

static int fsck(struct mlv_store *s, int repair, struct problems *p)
{
	struct mlv_fsck_stats st;

	memset(p, 0, sizeof(*p));
	return mlv_store_fsck(s, repair, report, p, &st);
}

static void test_roundtrip(struct mlv_store *s, const char *dir)
{
	struct mlv_store_writer *w = NULL;
	struct mlv_buf got = MLV_BUF_INIT;
	size_t big = 20u << 20;
	unsigned char *data = malloc(big);
	struct mlv_oid id_empty, id_small, id_min, id_big, id_fd, id_tree, expect;
	struct mlv_object_info info;
	enum mlv_object_type type;
	uint64_t size = 0;
	char path[4096];
	int fd;

	fill_random(data, big, 1);
	is_int(mlv_store_writer_new(&w, s), 0, "writer_new");
	is_int(mlv_store_writer_put_buf(w, &id_empty, "", 0), 0, "put empty buffer");
	is_int(mlv_store_writer_put_buf(w, &id_small, "hello\n", 6), 0, "put small buffer");
	is_int(mlv_store_writer_put_buf(w, &id_min, data, MLV_CHUNK_MIN), 0, "put MIN-byte buffer");
	is_int(mlv_store_writer_put_buf(w, &id_big, data, big), 0, "put 20 MiB buffer");
	is_int(mlv_store_writer_put_tree(w, &id_tree, "mlvtree 1\n", 10), 0, "put tree");
	mlv_hash_buf(&expect, data, big);
	ok(!mlv_oid_cmp(&expect, &id_big), "blob id is the SHA-256 of the content");
	mlv_hash_buf(&expect, "", 0);
	ok(!mlv_oid_cmp(&expect, &id_empty), "empty blob id is SHA-256 of nothing");
	is_int(mlv_store_has(s, &id_big), 0, "not visible before commit");
	is_int(mlv_store_writer_commit(w), 0, "commit: %s", mlv_error_last());
	is_int(mlv_store_has(s, &id_big), 1, "visible after commit");

	is_int(read_back(s, &id_empty, &got), 0, "read empty");
	is_int(got.len, 0, "empty is empty");
	is_int(read_back(s, &id_small, &got), 0, "read small");
	ok(got.len == 6 && !memcmp(got.ptr, "hello\n", 6), "small round trip");
	is_int(read_back(s, &id_min, &got), 0, "read MIN");
	ok(got.len == MLV_CHUNK_MIN && !memcmp(got.ptr, data, got.len), "MIN round trip");
	is_int(read_back(s, &id_big, &got), 0, "read big: %s", mlv_error_last());
	ok(got.len == big && !memcmp(got.ptr, data, big), "20 MiB round trip");
	is_int(mlv_store_info(s, &id_big, &info), 0, "info big");
	is_int(info.type, MLV_OBJ_RECIPE, "a multi-chunk blob is a recipe");
	is_int(mlv_store_info(s, &id_small, &info), 0, "info small");
	is_int(info.type, MLV_OBJ_CHUNK, "a small blob is a chunk");
	is_int(mlv_store_read(s, &id_tree, &got, &type, 1024), 0, "read tree");
	ok(type == MLV_OBJ_TREE && got.len == 10 && !memcmp(got.ptr, "mlvtree 1\n", 10), "tree round trip");
	is_int(mlv_store_read(s, &id_big, &got, NULL, 10), MLV_EINVALID, "read refuses > max");
	is_int(read_back(s, &id_tree, &got), MLV_EINVALID, "read_blob refuses a tree");

	/* fd round trip, and dedup: the same content again writes no bytes. */
	snprintf(path, sizeof(path), "%s/file.bin", dir);
	write_file(path, data + 12345, big - 3u * 1024 * 1024);
	fd = open(path, O_RDONLY);
	is_int(mlv_store_writer_put_fd(w, &id_fd, &size, fd, path), 0, "put_fd");
	close(fd);
	is_int(size, big - 3u * 1024 * 1024, "put_fd size");
	is_int(mlv_store_writer_commit(w), 0, "commit fd");
	{
		uint64_t before = mlv_store_writer_bytes_written(w);
		int npacks0, npacks1;
		uint64_t sz0;
		char pdir[4096];
		struct mlv_oid again;

		snprintf(pdir, sizeof(pdir), "%s/mlv/packs", dir);
		sz0 = packs_size(pdir, &npacks0);
		fd = open(path, O_RDONLY);
		is_int(mlv_store_writer_put_fd(w, &again, NULL, fd, path), 0, "put_fd again");
		close(fd);
		is_int(mlv_store_writer_put_buf(w, NULL, data, big), 0, "put big buffer again");
		is_int(mlv_store_writer_commit(w), 0, "commit again");
		ok(!mlv_oid_cmp(&again, &id_fd), "same id");
		is_int(mlv_store_writer_bytes_written(w), before, "dedup: no new bytes written");
		ok(packs_size(pdir, &npacks1) == sz0 && npacks1 == npacks0, "dedup: no new pack");
	}
	is_int(read_back(s, &id_fd, &got), 0, "read fd blob");
	ok(got.len == size && !memcmp(got.ptr, data + 12345, size), "fd round trip");

	/* Shifted content shares most chunks. */
	{
		uint64_t before = mlv_store_writer_bytes_written(w);

		memmove(data + 1000, data, big - 1000);
		fill_random(data, 1000, 99);
		is_int(mlv_store_writer_put_buf(w, NULL, data, big), 0, "put shifted");
		is_int(mlv_store_writer_commit(w), 0, "commit shifted");
		ok(mlv_store_writer_bytes_written(w) - before < 3u * MLV_CHUNK_MAX,
		   "inserting at the front stores only a few new chunks (%llu bytes)",
		   (unsigned long long)(mlv_store_writer_bytes_written(w) - before));
	}

	/* Uncommitted writes vanish with the writer. */
	{
		struct mlv_oid lost;

		fill_random(data, 1000, 1234);
		mlv_store_writer_put_buf(w, &lost, data, 1000);
		mlv_store_writer_free(w);
		w = NULL;
		is_int(mlv_store_has(s, &lost), 0, "uncommitted object not stored");
	}
	mlv_store_writer_free(w);
	mlv_buf_release(&got);
	free(data);
}

/* Two strings whose ids share their first 32 bits (birthday search). */
static void find_collision(char a[32], char b[32])
{
	size_t cap = 1u << 20;
	uint32_t *keys = calloc(cap, sizeof(*keys));
	uint32_t *vals = calloc(cap, sizeof(*vals));

	for (uint32_t i = 1;; i++) {
		struct mlv_oid id;
		char s[32];
		uint32_t k;
		size_t h;

		snprintf(s, sizeof(s), "collide %u", i);
		mlv_hash_buf(&id, s, strlen(s));
		k = (uint32_t)id.id[0] << 24 | (uint32_t)id.id[1] << 16 | (uint32_t)id.id[2] << 8 | id.id[3];
		for (h = k & (cap - 1); vals[h] && keys[h] != k; h = (h + 1) & (cap - 1))
			;
		if (vals[h]) {
			snprintf(a, 32, "collide %u", vals[h]);
			snprintf(b, 32, "%s", s);
			break;
		}
		keys[h] = k;
		vals[h] = i;
	}
	free(keys);
	free(vals);
}

static void test_prefix(struct mlv_store *s)
{
	struct mlv_store_writer *w;
	struct mlv_oid ids[2], found;
	char hex[MLV_OID_HEXSZ + 1], a[32], b[32];

	find_collision(a, b);
	mlv_store_writer_new(&w, s);
	mlv_store_writer_put_buf(w, &ids[0], a, strlen(a));
	mlv_store_writer_put_buf(w, &ids[1], b, strlen(b));
	is_int(mlv_store_writer_commit(w), 0, "commit two objects with a common 8-digit prefix");
	mlv_store_writer_free(w);
	ok(!memcmp(ids[0].id, ids[1].id, 4) && mlv_oid_cmp(&ids[0], &ids[1]), "ids share 4 bytes");
	mlv_oid_tohex(hex, &ids[0]);
	hex[8] = '\0';
	is_int(mlv_store_resolve_prefix(s, &found, hex), MLV_EAMBIGUOUS, "8-digit prefix is ambiguous");
	ok(strstr(mlv_error_last(), hex) != NULL, "message names the prefix");
	mlv_oid_tohex(hex, &ids[1]);
	hex[20] = '\0';
	is_int(mlv_store_resolve_prefix(s, &found, hex), 0, "20-digit prefix is unique");
	ok(!mlv_oid_cmp(&found, &ids[1]), "prefix resolves to the right object");
	hex[19] = '\0';
	is_int(mlv_store_resolve_prefix(s, &found, hex), 0, "odd-length prefix works");
	ok(!mlv_oid_cmp(&found, &ids[1]), "odd-length prefix resolves to the right object");
	mlv_oid_tohex(hex, &ids[0]);
	is_int(mlv_store_resolve_prefix(s, &found, hex), 0, "full id resolves");
	hex[7] = '\0';
	is_int(mlv_store_resolve_prefix(s, &found, hex), MLV_EINVALID, "7 digits is too short");
	is_int(mlv_store_resolve_prefix(s, &found, "zzzzzzzz"), MLV_EINVALID, "non-hex refused");
	is_int(mlv_store_resolve_prefix(s, &found, "0123456789abcdef0123456789abcdef"), MLV_ENOTFOUND,
	       "unknown prefix not found");
}

static void test_corrupt_read(struct mlv_store *s, const char *mlvdir)
{
	struct mlv_store_writer *w;
	struct mlv_buf got = MLV_BUF_INIT;
	size_t len = MLV_CHUNK_MIN;
	unsigned char *data = malloc(len);
	struct mlv_oid id;
	char path[4096], hex[MLV_OID_HEXSZ + 1];
	uint64_t off;
	struct problems p;

	fill_random(data, len, 77);
	mlv_store_writer_new(&w, s);
	mlv_store_writer_put_buf(w, &id, data, len);
	is_int(mlv_store_writer_commit(w), 0, "commit random chunk");
	mlv_store_writer_free(w);
	pack_path(path, sizeof(path), mlvdir, s, &id, &off);
	flip_byte(path, off + 52 + 1000);
	is_int(read_back(s, &id, &got), MLV_ECORRUPT, "flipped byte: read_blob fails");
	mlv_oid_tohex(hex, &id);
	ok(strstr(mlv_error_last(), hex) && strstr(mlv_error_last(), "pack-"),
	   "message names object and pack: %s", mlv_error_last());
	ok(fsck(s, 0, &p) > 0 && strstr(p.kinds, "corrupt"), "fsck reports the corrupt object");
	mlv_buf_release(&got);
	free(data);
}

static void test_statcache(struct mlv_store *s, const char *dir)
{
	struct mlv_stat st, other;
	struct mlv_oid id, got;
	struct stat sb;
	char path[4096];
	int64_t now;

	snprintf(path, sizeof(path), "%s/sc", dir);
	write_file(path, "x", 1);
	stat(path, &sb);
	mlv_stat_from(&st, &sb);
	mlv_hash_buf(&id, "x", 1);
	now = mlv_now_ns();
	ok(st.mtime_ns <= now, "mtime not in the future");

	is_int(mlv_statcache_begin(s), 0, "statcache begin");
	is_int(mlv_statcache_put(s, "a/b", &st, &id, st.mtime_ns), 0, "put racy entry");
	is_int(mlv_statcache_put(s, "a/c", &st, &id, st.mtime_ns + 1), 0, "put clean entry");
	is_int(mlv_statcache_put(s, "a/c/d", &st, &id, st.mtime_ns + 1), 0, "put nested entry");
	is_int(mlv_statcache_put(s, "a.x", &st, &id, st.mtime_ns + 1), 0, "put sibling entry");
	is_int(mlv_statcache_end(s, 1), 0, "statcache end");

	is_int(mlv_statcache_lookup(s, "a/b", &st, &got), 0, "racy entry (mtime == recorded) not trusted");
	is_int(mlv_statcache_lookup(s, "a/c", &st, &got), 1, "clean entry trusted");
	ok(!mlv_oid_cmp(&got, &id), "clean entry gives the id");
	other = st;
	other.size++;
	is_int(mlv_statcache_lookup(s, "a/c", &other, &got), 0, "size change not trusted");
	other = st;
	other.ino++;
	is_int(mlv_statcache_lookup(s, "a/c", &other, &got), 0, "inode change not trusted");
	other = st;
	other.ctime_ns++;
	is_int(mlv_statcache_lookup(s, "a/c", &other, &got), 0, "ctime change not trusted");
	is_int(mlv_statcache_lookup(s, "nope", &st, &got), 0, "unknown path");

	is_int(mlv_statcache_load_prefix(s, "a"), 0, "load prefix");
	is_int(mlv_statcache_lookup(s, "a/c", &st, &got), 1, "in-memory: clean entry trusted");
	is_int(mlv_statcache_lookup(s, "a/b", &st, &got), 0, "in-memory: racy entry not trusted");
	is_int(mlv_statcache_lookup(s, "a.x", &st, &got), 1, "outside the loaded prefix still found");

	is_int(mlv_statcache_begin(s), 0, "begin");
	is_int(mlv_statcache_delete(s, "a/c"), 0, "delete subtree");
	is_int(mlv_statcache_end(s, 0), 0, "roll back");
	is_int(mlv_statcache_lookup(s, "a/c/d", &st, &got), 1, "rollback kept the entry");
	is_int(mlv_statcache_delete(s, "a/c"), 0, "delete subtree");
	is_int(mlv_statcache_lookup(s, "a/c/d", &st, &got), 0, "nested entry deleted");
	is_int(mlv_statcache_lookup(s, "a/c", &st, &got), 0, "entry deleted");
	is_int(mlv_statcache_lookup(s, "a.x", &st, &got), 1, "sibling kept");
}

static void test_repair_corrupt(struct mlv_store *s)
{
	struct problems p;
	int r = fsck(s, 1, &p);

	ok(r > 0 && strstr(p.kinds, "corrupt") && strstr(p.kinds, "missing"),
	   "repair salvages the pack; the corrupt object stays missing (%d)", r);
	is_int(fsck(s, 0, &p), 0, "after repair, fsck is clean (%s)", p.kinds);
}

static void test_truncated(struct mlv_store *s, const char *mlvdir)
{
	struct mlv_store_writer *w;
	struct mlv_buf got = MLV_BUF_INIT;
	unsigned char *data = malloc(MLV_CHUNK_MIN);
	struct mlv_oid ids[3];
	uint64_t off[3], last = 0;
	char path[4096];
	struct problems p;
	int r, li = 0;

	mlv_store_writer_new(&w, s);
	for (int i = 0; i < 3; i++) {
		fill_random(data, MLV_CHUNK_MIN, 500 + 2 * (uint64_t)i);
		mlv_store_writer_put_buf(w, &ids[i], data, MLV_CHUNK_MIN);
	}
	is_int(mlv_store_writer_commit(w), 0, "commit three chunks");
	mlv_store_writer_free(w);
	for (int i = 0; i < 3; i++) {
		pack_path(path, sizeof(path), mlvdir, s, &ids[i], &off[i]);
		if (off[i] > last) {
			last = off[i];
			li = i;
		}
	}
	ok(!truncate(path, (off_t)(last + 100)), "truncate the pack inside its last record");
	r = fsck(s, 0, &p);
	ok(r > 0 && strstr(p.kinds, "truncated") && strstr(p.kinds, "dangling"),
	   "fsck reports a truncated pack and dangling rows (%s)", p.kinds);
	r = fsck(s, 1, &p);
	is_int(r, 1, "repair leaves one problem: the lost object");
	ok(strstr(p.kinds, "missing") != NULL, "lost object reported missing");
	for (int i = 0; i < 3; i++) {
		if (i == li) {
			is_int(mlv_store_has(s, &ids[i]), 0, "lost object no longer indexed");
			continue;
		}
		is_int(read_back(s, &ids[i], &got), 0, "intact record %d salvaged: %s", i,
		       mlv_error_last());
		fill_random(data, MLV_CHUNK_MIN, 500 + 2 * (uint64_t)i);
		ok(got.len == MLV_CHUNK_MIN && !memcmp(got.ptr, data, got.len), "salvaged content %d", i);
	}
	ok(access(path, F_OK) != 0, "broken pack removed");
	is_int(fsck(s, 0, &p), 0, "clean after salvage (%s)", p.kinds);
	mlv_buf_release(&got);
	free(data);
}

static int copy_file(const char *from, const char *to)
{
	struct mlv_buf b = MLV_BUF_INIT;
	int ret = mlv_read_file(&b, from, 1u << 30);

	if (!ret)
		ret = write_file(to, b.ptr, b.len);
	mlv_buf_release(&b);
	return ret;
}

static void test_orphan_dangling_temp(struct mlv_store *s, const char *dir, const char *mlvdir)
{
	struct mlv_store_writer *w;
	struct mlv_store *s2 = NULL;
	struct mlv_buf got = MLV_BUF_INIT;
	struct mlv_object_info info;
	struct mlv_oid id;
	char mlvdir2[1024], from[4096], to[4400], tmp[4400];
	struct problems p;

	mlv_store_writer_new(&w, s);
	mlv_store_writer_put_buf(w, &id, "orphan me", 9);
	is_int(mlv_store_writer_commit(w), 0, "commit");
	mlv_store_writer_free(w);
	mlv_store_info(s, &id, &info);
	pack_path(from, sizeof(from), mlvdir, s, &id, NULL);

	snprintf(mlvdir2, sizeof(mlvdir2), "%s/mlv2", dir);
	is_int(mlv_store_open(&s2, mlvdir2), 0, "open second store");
	snprintf(to, sizeof(to), "%s/packs/%.100s", mlvdir2, info.pack);
	is_int(copy_file(from, to), 0, "copy a pack into it");
	snprintf(tmp, sizeof(tmp), "%s/packs/tmp-pack-Zx3Yq1", mlvdir2);
	write_file(tmp, "MLVPACK", 7);
	ok(fsck(s2, 0, &p) == 2 && strstr(p.kinds, "orphan") && strstr(p.kinds, "temp"),
	   "fsck reports the orphan pack and the temp file (%s)", p.kinds);
	is_int(mlv_store_has(s2, &id), 0, "orphan's object not indexed yet");
	is_int(fsck(s2, 1, &p), 0, "repair fixes both");
	ok(access(tmp, F_OK) != 0, "temp file removed");
	is_int(read_back(s2, &id, &got), 0, "orphan's object readable after repair");
	ok(got.len == 9 && !memcmp(got.ptr, "orphan me", 9), "orphan's object content");
	is_int(fsck(s2, 0, &p), 0, "clean");

	unlink(to);
	ok(fsck(s2, 0, &p) > 0 && strstr(p.kinds, "dangling"), "missing pack: dangling rows");
	is_int(read_back(s2, &id, &got), MLV_ECORRUPT, "reading an object of a missing pack fails");
	is_int(fsck(s2, 1, &p), 0, "repair drops the dangling rows");
	is_int(mlv_store_has(s2, &id), 0, "object gone from the index");
	is_int(fsck(s2, 0, &p), 0, "clean");
	mlv_store_free(s2);
	mlv_buf_release(&got);
}


/* A store of its own below the test directory. */
static struct mlv_store *open_at(const char *dir, const char *name, char *path, size_t n)
{
	struct mlv_store *s = NULL;

	snprintf(path, n, "%s/%s", dir, name);
	if (mlv_store_open(&s, path))
		tap_diag("open %s: %s", path, mlv_error_last());
	return s;
}

static int put_commit(struct mlv_store *s, const void *data, size_t len, struct mlv_oid *id)
{
	struct mlv_store_writer *w;
	int ret = mlv_store_writer_new(&w, s);

	if (!ret && !(ret = mlv_store_writer_put_buf(w, id, data, len)))
		ret = mlv_store_writer_commit(w);
	mlv_store_writer_free(w);
	return ret;
}

/*
 * Finding 7: a byte flips in a pack, then the same data is added again.
 * The writer must not trust the damaged copy: it writes a new record and
 * the index row moves there.  A fresh handle (the trust of a pack is kept
 * per handle) sees the changed pack and verifies before saying "stored".
 */
static void test_reuse_verifies(const char *dir)
{
	char sdir[4096], path[4400];
	size_t len = MLV_CHUNK_MIN;
	unsigned char *data = malloc(len);
	struct mlv_object_info before, after;
	struct mlv_store *s = open_at(dir, "reuse", sdir, sizeof(sdir)), *s2 = NULL;
	struct mlv_buf got = MLV_BUF_INIT;
	struct mlv_oid id;
	uint64_t off;

	if (!s)
		return;
	fill_random(data, len, 4242);
	is_int(put_commit(s, data, len, &id), 0, "store a chunk");
	is_int(mlv_store_has_blob(s, &id), 1, "stored, intact");
	mlv_store_info(s, &id, &before);
	pack_path(path, sizeof(path), sdir, s, &id, &off);
	/* A later change: a new mtime even on a file system with coarse timestamps. */
	usleep(20000);
	flip_byte(path, off + 52 + 100);

	is_int(mlv_store_open(&s2, sdir), 0, "a new handle");
	is_int(mlv_store_has_blob(s2, &id), 0, "the changed pack is verified: not stored");
	ok(strstr(mlv_error_last(), "pack-") && strstr(mlv_error_last(), mlv_oid_hex(&id)),
	   "why names object and pack: %s", mlv_error_last());
	is_int(mlv_store_check_blob(s2, &id), MLV_ECORRUPT, "check_blob says corrupt");
	is_int(mlv_store_verify_blob(s2, &id), MLV_ECORRUPT, "verify_blob says corrupt");

	{
		struct mlv_store_writer *w;
		struct mlv_oid other;

		/* With another object, so that the new pack has another name. */
		mlv_store_writer_new(&w, s2);
		mlv_store_writer_put_buf(w, &other, "a companion", 11);
		mlv_store_writer_put_buf(w, &id, data, len);
		is_int(mlv_store_writer_commit(w), 0, "add the same data again");
		mlv_store_writer_free(w);
	}
	mlv_store_info(s2, &id, &after);
	ok(strcmp(before.pack, after.pack), "the index row moved to a new pack");
	is_int(read_back(s2, &id, &got), 0, "and reads back: %s", mlv_error_last());
	ok(got.len == len && !memcmp(got.ptr, data, len), "the right bytes");
	is_int(mlv_store_verify_blob(s2, &id), 0, "verify_blob: intact");
	/* Alone, the new pack is the old one's twin: it replaces the damaged file. */
	flip_byte(path, off + 52 + 100);
	is_int(put_commit(s, data, len, &id), 0, "the same data alone");
	is_int(mlv_store_verify_blob(s, &id), 0, "intact too");
	{
		struct mlv_oid nope;

		memset(&nope, 0x42, sizeof(nope));
		is_int(mlv_store_verify_blob(s2, &nope), MLV_ENOTFOUND, "verify_blob: not found");
		ok(strstr(mlv_error_last(), mlv_oid_hex(&nope)) != NULL, "naming it");
	}
	mlv_store_free(s2);
	mlv_store_free(s);
	mlv_buf_release(&got);
	free(data);
}

/*
 * Finding 12: an orphan pack holding a recipe that names other chunks
 * under an existing blob's id must not take over that blob's index row.
 */
static void test_orphan_cannot_take_over(const char *dir)
{
	char sdir[4096], name[MLV_PACK_NAME_MAX];
	size_t len = 6u << 20;
	unsigned char *data = malloc(len), *other = malloc(len);
	struct mlv_store *s = open_at(dir, "takeover", sdir, sizeof(sdir));
	struct mlv_object_info before, after;
	struct mlv_buf rec = MLV_BUF_INIT, got = MLV_BUF_INIT;
	struct mlv_pack_writer *pw = NULL;
	struct mlv_oid blob, fake;
	enum mlv_object_type type;
	struct problems p;
	char packs[4400];
	int dfd;

	if (!s)
		return;
	fill_random(data, len, 7);
	fill_random(other, len, 8);
	is_int(put_commit(s, data, len, &blob), 0, "a multi-chunk blob");
	is_int(put_commit(s, other, len, &fake), 0, "another one");
	mlv_store_info(s, &blob, &before);
	is_int(before.type, MLV_OBJ_RECIPE, "stored as a recipe");
	/* The other blob's recipe, filed under the first blob's id. */
	is_int(mlv_store_read(s, &fake, &rec, &type, MLV_OBJECT_META_MAX), 0, "read a recipe");
	snprintf(packs, sizeof(packs), "%s/packs", sdir);
	dfd = open(packs, O_RDONLY | O_DIRECTORY);
	ok(dfd >= 0 && !mlv_pack_writer_open(&pw, dfd, packs) &&
	   !mlv_pack_writer_add(pw, &blob, MLV_OBJ_RECIPE, MLV_COMP_RAW, rec.ptr, rec.len, rec.len) &&
	   !mlv_pack_writer_seal(pw) && !mlv_pack_writer_publish(pw, name),
	   "an orphan pack with a lying recipe");
	mlv_pack_writer_free(pw);
	ok(fsck(s, 1, &p) >= 0 && strstr(p.kinds, "orphan"), "fsck --repair indexes the orphan");
	mlv_store_info(s, &blob, &after);
	is_str(after.pack, before.pack, "the blob's row did not move");
	is_int(read_back(s, &blob, &got), 0, "the blob still reads");
	ok(got.len == len && !memcmp(got.ptr, data, len), "with its own content");
	if (dfd >= 0)
		close(dfd);
	mlv_store_free(s);
	mlv_buf_release(&rec);
	mlv_buf_release(&got);
	free(data);
	free(other);
}

/* A recipe whose chunks are intact but reassemble to something else. */
static void test_fsck_reassembles(const char *dir)
{
	char sdir[4096], packs[4400], name[MLV_PACK_NAME_MAX];
	size_t len = 6u << 20;
	unsigned char *data = malloc(len);
	struct mlv_store *s = open_at(dir, "reassemble", sdir, sizeof(sdir));
	struct mlv_buf rec = MLV_BUF_INIT;
	struct mlv_pack_writer *pw = NULL;
	struct mlv_oid blob, liar;
	struct problems p;
	int dfd;

	if (!s)
		return;
	fill_random(data, len, 9);
	is_int(put_commit(s, data, len, &blob), 0, "a multi-chunk blob");
	is_int(mlv_store_read(s, &blob, &rec, NULL, MLV_OBJECT_META_MAX), 0, "its recipe");
	/* Its chunks in another order, filed as a blob that does not exist. */
	{
		unsigned char tmp[MLV_RECIPE_ENTRY_SIZE];
		unsigned char *e = (unsigned char *)rec.ptr + MLV_RECIPE_MAGIC_LEN;

		memcpy(tmp, e, sizeof(tmp));
		memmove(e, e + MLV_RECIPE_ENTRY_SIZE, MLV_RECIPE_ENTRY_SIZE);
		memcpy(e + MLV_RECIPE_ENTRY_SIZE, tmp, sizeof(tmp));
	}
	memset(&liar, 0x5a, sizeof(liar));
	snprintf(packs, sizeof(packs), "%s/packs", sdir);
	dfd = open(packs, O_RDONLY | O_DIRECTORY);
	ok(dfd >= 0 && !mlv_pack_writer_open(&pw, dfd, packs) &&
	   !mlv_pack_writer_add(pw, &liar, MLV_OBJ_RECIPE, MLV_COMP_RAW, rec.ptr, rec.len, rec.len) &&
	   !mlv_pack_writer_seal(pw) && !mlv_pack_writer_publish(pw, name),
	   "a pack with a recipe that reassembles to the wrong content");
	mlv_pack_writer_free(pw);
	ok(fsck(s, 1, &p) >= 0 && strstr(p.kinds, "corrupt"),
	   "fsck reassembles the recipe and finds it wrong (%s)", p.kinds);
	is_int(mlv_store_has(s, &liar), 0, "repair drops the lying recipe");
	is_int(fsck(s, 0, &p), 0, "clean afterwards (%s)", p.kinds);
	if (dfd >= 0)
		close(dfd);
	mlv_store_free(s);
	mlv_buf_release(&rec);
	free(data);
}

static int exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		tap_diag("sqlite %s: %s", path, sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc;
}

/* An index made by the first version of mlv is migrated when opened. */
static void test_schema_v1(const char *dir)
{
	char sdir[4096], db[4400], v1[4400], sql[9000];
	struct mlv_store *s = open_at(dir, "v1", sdir, sizeof(sdir));
	struct mlv_buf got = MLV_BUF_INIT;
	struct mlv_oid id;

	if (!s)
		return;
	is_int(put_commit(s, "version one", 11, &id), 0, "an object");
	mlv_store_free(s);
	snprintf(db, sizeof(db), "%s/index.db", sdir);
	snprintf(v1, sizeof(v1), "%s/v1.db", sdir);
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE packs (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
		 " size INTEGER NOT NULL, objects INTEGER NOT NULL, added_ns INTEGER NOT NULL);"
		 "CREATE TABLE objects (oid BLOB PRIMARY KEY, pack INTEGER NOT NULL,"
		 " offset INTEGER NOT NULL, stored_len INTEGER NOT NULL, raw_len INTEGER NOT NULL,"
		 " type INTEGER NOT NULL, comp INTEGER NOT NULL) WITHOUT ROWID;"
		 "CREATE TABLE statcache (path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
		 " mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL,"
		 " dev INTEGER NOT NULL, mode INTEGER NOT NULL, oid BLOB NOT NULL,"
		 " recorded_ns INTEGER NOT NULL) WITHOUT ROWID;"
		 "ATTACH '%s' AS new;"
		 "INSERT INTO packs SELECT id, name, size, objects, added_ns FROM new.packs;"
		 "INSERT INTO objects SELECT oid, pack, offset, stored_len, raw_len, type, comp"
		 " FROM new.objects;"
		 "PRAGMA user_version = 1;", db);
	is_int(exec_sql(v1, sql), SQLITE_OK, "a version 1 index");
	ok(!rename(v1, db), "in place of the current one");
	is_int(mlv_store_open(&s, sdir), 0, "opens (migrating): %s", mlv_error_last());
	if (!s)
		return;
	is_int(read_back(s, &id, &got), 0, "its object reads");
	ok(got.len == 11 && !memcmp(got.ptr, "version one", 11), "with its content");
	is_int(mlv_store_has_blob(s, &id), 1, "a pack without a signature is trusted by its age");
	mlv_store_free(s);
	is_int(exec_sql(db, "SELECT used_ns FROM objects; SELECT mtime_ns FROM packs;"
			    "SELECT 1 FROM sqlite_master WHERE name = 'objects_pack';"), SQLITE_OK,
	       "version 2 columns and index exist");
	is_int(exec_sql(db, "SELECT name FROM sqlite_master WHERE name = 'statcache'"
			    " AND NOT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'objects_pack')"), SQLITE_OK,
	       "schema readable");
	{
		sqlite3 *h;
		sqlite3_stmt *st;
		int gone = 0;

		if (sqlite3_open(db, &h) == SQLITE_OK &&
		    sqlite3_prepare_v2(h, "SELECT count(*) FROM sqlite_master WHERE name = 'statcache'", -1,
				       &st, NULL) == SQLITE_OK) {
			gone = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0;
			sqlite3_finalize(st);
		}
		sqlite3_close(h);
		ok(gone, "the stat cache table is gone from the index");
	}
	mlv_buf_release(&got);
}

/* Finding 13: a damaged index is an error naming it; REBUILD starts afresh. */
static void test_corrupt_index(const char *dir)
{
	static const char *const kinds[] = { "garbage", "truncated", "empty" };
	char sdir[4096], db[4400];

	for (size_t k = 0; k < 3; k++) {
		struct mlv_store *s = open_at(dir, kinds[k], sdir, sizeof(sdir));
		struct mlv_buf got = MLV_BUF_INIT;
		struct mlv_oid id[50];
		struct problems p;
		struct stat st;
		int fd, ret;

		if (!s)
			continue;
		/* Enough rows for a database of several pages. */
		for (int i = 0; i < 50; i++) {
			char b[64];

			snprintf(b, sizeof(b), "object %d of the %s index", i, kinds[k]);
			put_commit(s, b, strlen(b), &id[i]);
		}
		mlv_store_free(s);
		snprintf(db, sizeof(db), "%s/index.db", sdir);
		stat(db, &st);
		if (k == 0) {
			fd = open(db, O_WRONLY | O_TRUNC);
			ok(write(fd, "this is not a database, not at all; just text that goes on and on and on and on and on and on and on and on\n", 108) == 108, "garbage index");
			close(fd);
		} else {
			ok(st.st_size > 8192 && !truncate(db, k == 1 ? 4096 : 0), "%s index (%lld bytes before)",
			   kinds[k], (long long)st.st_size);
		}
		ret = mlv_store_open(&s, sdir);
		if (k == 2) {
			/* Empty while packs exist and nobody publishes: rebuilt from the packs. */
			is_int(ret, 0, "empty: open rebuilds it: %s", ret ? mlv_error_last() : "");
			for (int i = 0; i < 50 && !ret; i++)
				if (read_back(s, &id[i], &got))
					break;
			if (!ret)
				is_int(read_back(s, &id[49], &got), 0, "every object is back");
			if (!ret)
				mlv_store_free(s);
			mlv_buf_release(&got);
			continue;
		}
		is_int(ret, MLV_ECORRUPT, "%s: open fails: %s", kinds[k], mlv_error_last());
		ok(strstr(mlv_error_last(), db) != NULL, "naming the file");
		is_str(mlv_error_last_hint(), "run 'mlv fsck --repair'", "with the hint");
		if (!ret)
			mlv_store_free(s);
		is_int(mlv_store_open_ext(&s, sdir, NULL, MLV_STORE_REBUILD), 0, "%s: REBUILD opens", kinds[k]);
		if (!s)
			continue;
		is_int(mlv_store_index_rebuilding(s), 1, "afresh");
		ok(!mlv_store_index_moved_aside(s) == (k == 2), "moved aside unless empty");
		is_int(fsck(s, 1, &p), 0, "fsck --repair fills it (%s)", p.kinds);
		for (int i = 0; i < 50; i++)
			if (read_back(s, &id[i], &got))
				break;
		is_int(read_back(s, &id[49], &got), 0, "every object is back");
		mlv_store_free(s);
		is_int(mlv_store_open(&s, sdir), 0, "and opens normally again");
		mlv_store_free(s);
		mlv_buf_release(&got);
	}
}

/* First error wins: cleanup that fails does not replace the message. */
static void test_error_state(void)
{
	struct mlv_error_state es;

	mlv_error_set(MLV_ECORRUPT, "the first error");
	mlv_error_set_hint("do this");
	is_int(mlv_error_state_capture(&es, MLV_ECORRUPT), MLV_ECORRUPT, "capture returns the code");
	mlv_error_set(MLV_EIO, "cleanup failed too");
	is_int(mlv_error_state_restore(&es), MLV_ECORRUPT, "restore returns the first code");
	is_str(mlv_error_last(), "the first error", "and the first message");
	is_str(mlv_error_last_hint(), "do this", "and its hint");
	is_int(mlv_error_last_code(), MLV_ECORRUPT, "and code");
	mlv_error_state_capture(&es, 0);
	mlv_error_set(MLV_EIO, "later");
	is_int(mlv_error_state_restore(&es), 0, "nothing captured: 0");
	mlv_error_clear();
}

/* No symlink where the store keeps its files. */
static void test_symlinks(const char *dir)
{
	char sdir[4096], target[4096], link[4400];
	struct mlv_store *s = NULL;

	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	mkdir(target, 0777);
	snprintf(sdir, sizeof(sdir), "%s/linked", dir);
	ok(!symlink(target, sdir), "store directory is a symlink");
	is_int(mlv_store_open(&s, sdir), MLV_EINVALID, "refused: %s", mlv_error_last());
	ok(strstr(mlv_error_last(), sdir) != NULL, "naming it");
	unlink(sdir);
	mkdir(sdir, 0777);
	snprintf(link, sizeof(link), "%s/packs", sdir);
	ok(!symlink(target, link), "packs is a symlink");
	is_int(mlv_store_open(&s, sdir), MLV_EINVALID, "refused: %s", mlv_error_last());
	unlink(link);
	snprintf(link, sizeof(link), "%s/index.db", sdir);
	snprintf(target, sizeof(target), "%s/elsewhere/x.db", dir);
	ok(!symlink(target, link), "index.db is a symlink");
	is_int(mlv_store_open(&s, sdir), MLV_EINVALID, "refused: %s", mlv_error_last());
	ok(access(target, F_OK) != 0, "nothing created through it");
	mlv_store_free(s);
}

/*
 * Rebuilding an index from packs, in name order: a pack whose recipe
 * names chunks of a pack that sorts after it is still indexed, and its
 * blob is complete.
 */
static void test_rebuild_order(const char *dir)
{
	size_t len = 6u << 20;
	unsigned char *data = malloc(len + (1u << 20));
	int found = 0;

	fill_random(data, len + (1u << 20), 31);
	for (int attempt = 0; attempt < 40 && !found; attempt++) {
		char sdir[4096], name[64], db[4400];
		struct mlv_store *s;
		struct mlv_object_info i1, i2;
		struct mlv_oid a, b;
		struct problems p;

		snprintf(name, sizeof(name), "order%d", attempt);
		if (!(s = open_at(dir, name, sdir, sizeof(sdir))))
			break;
		/* The same start, a different tail: the second pack holds only the new chunks. */
		data[len] = (unsigned char)attempt;
		put_commit(s, data, len, &a);
		put_commit(s, data, len + (1u << 20), &b);
		mlv_store_info(s, &a, &i1);
		mlv_store_info(s, &b, &i2);
		mlv_store_free(s);
		if (strcmp(i2.pack, i1.pack) >= 0)
			continue;
		found = 1;
		snprintf(db, sizeof(db), "%s/index.db", sdir);
		ok(!truncate(db, 0), "lose the index of a store whose second pack sorts first");
		is_int(mlv_store_open_ext(&s, sdir, NULL, MLV_STORE_REBUILD), 0, "open to rebuild");
		if (!s)
			break;
		is_int(fsck(s, 1, &p), 0, "rebuilt clean (%s)", p.kinds);
		is_int(mlv_store_has_blob(s, &b), 1, "the blob whose chunks sort later is complete");
		is_int(mlv_store_verify_blob(s, &b), 0, "and intact");
		mlv_store_free(s);
	}
	ok(found, "found a pair of packs in that order");
	free(data);
}

/*
 * Whether another process could take SQLite's exclusive lock on `db` (the
 * one a closing connection takes to learn that it is the last, before it
 * checkpoints and deletes the write-ahead log): 1 when a lock of this
 * process stands in the way, 0 when nothing does.
 */
static int db_lock_held(const char *db)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		struct flock fl;
		int fd = open(db, O_RDWR);

		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = 0x40000002; /* SQLite's shared range: PENDING_BYTE + 2 */
		fl.l_len = 510;
		if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0)
			_exit(2);
		_exit(fl.l_type == F_UNLCK ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * The root of the lost commits of an add run beside a status: opening a
 * second connection to index.db (the writer's) opened and closed the file
 * outside SQLite, which dropped every POSIX lock of the process on it.
 * Another process closing its connection then found itself alone and
 * deleted the write-ahead log under the writer.
 */
static void test_locks_survive_second_connection(const char *dir)
{
	char sdir[4096], db[4400], wal[4400];
	struct mlv_store *s = open_at(dir, "locks", sdir, sizeof(sdir)), *s2 = NULL;
	struct mlv_store_writer *w = NULL;
	struct mlv_oid id;
	struct stat st;

	if (!s)
		return;
	snprintf(db, sizeof(db), "%s/index.db", sdir);
	snprintf(wal, sizeof(wal), "%s/index.db-wal", sdir);
	is_int(put_commit(s, "an object", 9, &id), 0, "an object");
	is_int(db_lock_held(db), 1, "an open store holds its lock on index.db");
	is_int(mlv_store_writer_new(&w, s), 0, "a writer opens its own connection");
	is_int(db_lock_held(db), 1, "the lock is still held with the writer open");
	is_int(mlv_store_open(&s2, sdir), 0, "a second handle in the same process");
	mlv_store_free(s2);
	is_int(db_lock_held(db), 1, "and still held after it closed");
	{
		/* What a status in another process does: open, read, close. */
		pid_t pid = fork();
		int status = 0;

		if (pid == 0) {
			sqlite3 *h;

			if (sqlite3_open(db, &h) != SQLITE_OK ||
			    sqlite3_exec(h, "SELECT count(*) FROM objects", NULL, NULL, NULL) != SQLITE_OK)
				_exit(1);
			_exit(sqlite3_close(h) == SQLITE_OK ? 0 : 1);
		}
		ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		   !WEXITSTATUS(status), "another process opened and closed the index");
	}
	ok(!stat(wal, &st), "the write-ahead log of the live handle was not deleted");
	is_int(mlv_store_writer_put_buf(w, &id, "written after", 13), 0, "the writer writes");
	is_int(mlv_store_writer_commit(w), 0, "and commits");
	mlv_store_writer_free(w);
	mlv_store_free(s);
	is_int(mlv_store_open(&s, sdir), 0, "reopened");
	if (s)
		is_int(mlv_store_has(s, &id), 1, "the commit is in the index");
	mlv_store_free(s);
}

/*
 * A writer between the rename of its first pack and the commit of its
 * rows: an index that knows no pack beside it is not lost.
 */
static void test_publish_in_flight(const char *dir)
{
	char sdir[4096], packs[4400], lck[4400], name[MLV_PACK_NAME_MAX];
	struct mlv_store *s = open_at(dir, "inflight", sdir, sizeof(sdir));
	struct mlv_oid id;
	int pipefd[2], status = 0;
	char c = 0;
	pid_t pid;

	if (!s)
		return;
	mlv_store_free(s);
	snprintf(packs, sizeof(packs), "%s/packs", sdir);
	snprintf(lck, sizeof(lck), "%s/index.lck", sdir);
	if (pipe(pipefd))
		return;
	pid = fork();
	if (pid == 0) {
		struct mlv_pack_writer *pw = NULL;
		const struct mlv_pack_entry *e;
		struct mlv_index *ix = NULL;
		struct flock fl;
		char db[4400];
		int64_t pack_id;
		size_t nr;
		int dfd = open(packs, O_RDONLY | O_DIRECTORY), lfd = open(lck, O_RDWR);

		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_RDLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = 1; /* MLV_STORE_LOCK_PUBLISH */
		fl.l_len = 1;
		mlv_hash_buf(&id, "in flight", 9);
		if (dfd < 0 || lfd < 0 || fcntl(lfd, F_OFD_SETLK, &fl) ||
		    mlv_pack_writer_open(&pw, dfd, packs) ||
		    mlv_pack_writer_add(pw, &id, MLV_OBJ_CHUNK, MLV_COMP_RAW, "in flight", 9, 9) ||
		    mlv_pack_writer_seal(pw) || mlv_pack_writer_publish(pw, name))
			_exit(1);
		if (write(pipefd[1], "p", 1) != 1)
			_exit(1);
		/* Whoever looks now must wait for the rows. */
		usleep(300000);
		snprintf(db, sizeof(db), "%s/index.db", sdir);
		e = mlv_pack_writer_entries(pw, &nr);
		if (mlv_index_open(&ix, db, NULL) || mlv_index_begin(ix) ||
		    mlv_index_add_pack(ix, name, mlv_pack_writer_size(pw), nr,
				       mlv_pack_writer_mtime_ns(pw), &pack_id) ||
		    mlv_index_add_object(ix, pack_id, &e[0]) || mlv_index_commit(ix))
			_exit(1);
		mlv_index_free(ix);
		_exit(0);
	}
	close(pipefd[1]);
	ok(pid > 0 && read(pipefd[0], &c, 1) == 1, "another process published a pack");
	close(pipefd[0]);
	is_int(mlv_store_open(&s, sdir), 0, "the store opens: %s", mlv_error_last());
	mlv_hash_buf(&id, "in flight", 9);
	if (s)
		is_int(mlv_store_has(s, &id), 1, "and has the pack's object");
	mlv_store_free(s);
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	   "the publisher finished");
}

/* The index is moved aside or removed only while no other handle has it. */
static void test_reset_waits_for_others(const char *dir)
{
	char sdir[4096], db[4400];
	struct mlv_store *s = open_at(dir, "alone", sdir, sizeof(sdir)), *s2 = NULL;
	struct mlv_oid id;
	struct stat before, after;

	if (!s)
		return;
	is_int(put_commit(s, "keep me", 7, &id), 0, "an object");
	snprintf(db, sizeof(db), "%s/index.db", sdir);
	stat(db, &before);
	is_int(mlv_store_open_ext(&s2, sdir, NULL, MLV_STORE_REBUILD | MLV_STORE_FRESH),
	       MLV_ECONFLICT, "no fresh index while another handle has it: %s", mlv_error_last());
	ok(!stat(db, &after) && after.st_ino == before.st_ino, "index.db left alone");
	is_int(mlv_store_has(s, &id), 1, "the other handle still finds its object");
	mlv_store_free(s2);
	mlv_store_free(s);
	is_int(mlv_store_open_ext(&s2, sdir, NULL, MLV_STORE_REBUILD | MLV_STORE_FRESH), 0,
	       "alone, it is started afresh");
	if (s2)
		is_int(mlv_store_index_rebuilding(s2), 1, "for a rebuild");
	mlv_store_free(s2);
}

/*
 * A stat cache that looks damaged is never removed while another process
 * has it open (it holds statcache.lck shared, as this test does here).
 */
static void test_statcache_shared(const char *dir)
{
	char sdir[4096], sc[4400], lck[4400], garbage[200];
	struct mlv_store *s = open_at(dir, "shared-sc", sdir, sizeof(sdir));
	struct mlv_stat st;
	struct mlv_oid id, got;
	struct flock fl;
	struct stat fst;
	int lfd;

	if (!s)
		return;
	mlv_store_free(s);
	memset(&st, 0, sizeof(st));
	st.size = 3;
	st.mtime_ns = 1000;
	mlv_hash_buf(&id, "abc", 3);
	snprintf(sc, sizeof(sc), "%s/statcache.db", sdir);
	snprintf(lck, sizeof(lck), "%s/statcache.lck", sdir);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 1;
	lfd = open(lck, O_RDWR);
	ok(lfd >= 0 && !fcntl(lfd, F_OFD_SETLK, &fl), "another user of the stat cache");
	memset(garbage, 'x', sizeof(garbage));
	ok(!write_file(sc, garbage, sizeof(garbage)), "statcache.db is garbage");
	is_int(mlv_store_open(&s, sdir), 0, "the store opens: %s", mlv_error_last());
	ok(!stat(sc, &fst) && fst.st_size == (off_t)sizeof(garbage),
	   "the damaged file was left to the other user");
	if (s) {
		is_int(mlv_statcache_put(s, "f", &st, &id, 2000), 0, "without a cache, a put does nothing");
		is_int(mlv_statcache_lookup(s, "f", &st, &got), 0, "and a lookup misses");
	}
	mlv_store_free(s);
	if (lfd >= 0)
		close(lfd);
	is_int(mlv_store_open(&s, sdir), 0, "alone, the cache is started again");
	if (s) {
		is_int(mlv_statcache_put(s, "f", &st, &id, 2000), 0, "put");
		is_int(mlv_statcache_lookup(s, "f", &st, &got), 1, "found");
	}
	mlv_store_free(s);
}

/*
 * An index row that calls a 10-byte tree a recipe: the recipe walk must
 * not run over the record (it used to compute a huge entry count).
 */
static void test_type_mismatch(const char *dir)
{
	char sdir[4096], db[4400], sql[512];
	struct mlv_store *s = open_at(dir, "typemismatch", sdir, sizeof(sdir));
	struct mlv_store_writer *w = NULL;
	struct mlv_buf got = MLV_BUF_INIT;
	struct mlv_oid tree;
	struct problems p;

	if (!s)
		return;
	ok(!mlv_store_writer_new(&w, s) && !mlv_store_writer_put_tree(w, &tree, "mlvtree 1\n", 10) &&
	   !mlv_store_writer_commit(w), "a 10-byte tree");
	mlv_store_writer_free(w);
	snprintf(db, sizeof(db), "%s/index.db", sdir);
	snprintf(sql, sizeof(sql), "UPDATE objects SET type = %d WHERE oid = x'%s'", MLV_OBJ_RECIPE,
		 mlv_oid_hex(&tree));
	is_int(exec_sql(db, sql), SQLITE_OK, "its row says recipe");
	is_int(mlv_store_check_blob(s, &tree), MLV_ECORRUPT, "check_blob: %s", mlv_error_last());
	ok(strstr(mlv_error_last(), "is a tree, but the index says it is a recipe") != NULL,
	   "naming what the record is");
	is_int(mlv_store_has_blob(s, &tree), 0, "has_blob: absent");
	is_int(read_back(s, &tree, &got), MLV_ECORRUPT, "read_blob refuses it");
	ok(fsck(s, 0, &p) > 0 && strstr(p.kinds, "dangling"), "fsck reports the row (%s)", p.kinds);
	is_int(fsck(s, 1, &p), 0, "fsck --repair mends it (%s)", p.kinds);
	is_int(mlv_store_check_blob(s, &tree), MLV_EINVALID, "now a tree again: %s", mlv_error_last());
	is_int(fsck(s, 0, &p), 0, "clean");
	mlv_store_free(s);
	mlv_buf_release(&got);
}

int main(void)
{
	const char *dir = tap_tmpdir();
	char mlvdir[4096];
	struct mlv_store *s = NULL;

	snprintf(mlvdir, sizeof(mlvdir), "%s/mlv", dir);
	is_int(mlv_store_open(&s, mlvdir), 0, "open store: %s", mlv_error_last());
	if (!s)
		return tap_done();
	test_roundtrip(s, dir);
	test_prefix(s);
	test_statcache(s, dir);
	{
		struct problems p;

		is_int(fsck(s, 0, &p), 0, "fsck of a healthy store is clean");
	}
	test_corrupt_read(s, mlvdir);
	test_repair_corrupt(s);
	test_truncated(s, mlvdir);
	test_orphan_dangling_temp(s, dir, mlvdir);
	mlv_store_free(s);
	test_reuse_verifies(dir);
	test_orphan_cannot_take_over(dir);
	test_fsck_reassembles(dir);
	test_schema_v1(dir);
	test_corrupt_index(dir);
	test_error_state();
	test_symlinks(dir);
	test_rebuild_order(dir);
	test_locks_survive_second_connection(dir);
	test_publish_in_flight(dir);
	test_reset_waits_for_others(dir);
	test_statcache_shared(dir);
	test_type_mismatch(dir);
	return tap_done();
}
