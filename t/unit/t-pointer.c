#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/lock.h"
#include "mlv/pointer.h"
#include "tap.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define OIDL "oid sha256:" HEX "\n"
#define FILE_PTR "version 1\n" OIDL "size 1234\nkind data\ntype file\n"
#define DIR_PTR "version 1\n" OIDL "size 99\nkind model\ntype dir\nfiles 7\n"

static int parse(struct mlv_pointer *p, const char *data, size_t len)
{
	return mlv_pointer_parse(p, data, len, "data/x.mlv");
}

/*
 * Parse `data` (of `len` bytes), expect failure with `code` and a message
 * starting with "data/x.mlv:<line>: " and containing `needle`.
 */
static void reject_len(const char *data, size_t len, int code, int line, const char *needle,
		       const char *title)
{
	struct mlv_pointer p;
	char prefix[64];
	int ret;

	mlv_pointer_init(&p);
	mlv_error_clear();
	ret = parse(&p, data, len);
	is_int(ret, code, "%s: rejected", title);
	if (line > 0) {
		snprintf(prefix, sizeof(prefix), "data/x.mlv:%d: ", line);
		if (!ok(!strncmp(mlv_error_last(), prefix, strlen(prefix)),
			"%s: message names file and line %d", title, line))
			tap_diag("message: %s", mlv_error_last());
	} else {
		ok(strstr(mlv_error_last(), "data/x.mlv") != NULL, "%s: message names file", title);
	}
	if (!ok(strstr(mlv_error_last(), needle) != NULL, "%s: message says '%s'", title, needle))
		tap_diag("message: %s", mlv_error_last());
	ok(p.extra.len == 0, "%s: output left released", title);
	mlv_pointer_release(&p);
}

static void reject(const char *data, int code, int line, const char *needle, const char *title)
{
	reject_len(data, strlen(data), code, line, needle, title);
}

static void test_roundtrip(void)
{
	struct mlv_pointer p;
	struct mlv_buf b = MLV_BUF_INIT;

	mlv_pointer_init(&p);
	is_int(parse(&p, FILE_PTR, strlen(FILE_PTR)), 0, "file pointer parses");
	is_str(mlv_oid_hex(&p.oid), HEX, "oid");
	is_int((long long)p.size, 1234, "size");
	is_int(p.kind, MLV_KIND_DATA, "kind");
	is_int(p.type, MLV_PTYPE_FILE, "type");
	mlv_pointer_format(&b, &p);
	is_str(b.ptr, FILE_PTR, "file pointer formats back identically");

	mlv_buf_reset(&b);
	is_int(parse(&p, DIR_PTR, strlen(DIR_PTR)), 0, "dir pointer parses (reusing struct)");
	is_int((long long)p.files, 7, "files");
	is_int(p.kind, MLV_KIND_MODEL, "kind model");
	is_int(p.type, MLV_PTYPE_DIR, "type dir");
	mlv_pointer_format(&b, &p);
	is_str(b.ptr, DIR_PTR, "dir pointer formats back identically");

	/* Unknown keys: kept verbatim, in order, after the known keys. */
	{
		const char *in = "version 1\nzeta some value\n" OIDL "size 0\nalpha x  y\t!\n"
				 "kind metric\ntype file\nsource-url https://e.x/a?b=c\n";
		const char *want = "version 1\n" OIDL "size 0\nkind metric\ntype file\n"
				   "zeta some value\nalpha x  y\t!\nsource-url https://e.x/a?b=c\n";

		mlv_buf_reset(&b);
		is_int(parse(&p, in, strlen(in)), 0, "unknown keys accepted");
		is_str(p.extra.ptr, "zeta some value\nalpha x  y\t!\nsource-url https://e.x/a?b=c\n",
		       "unknown lines kept verbatim in order");
		mlv_pointer_format(&b, &p);
		is_str(b.ptr, want, "canonical order on format");
	}

	/* Largest legal size. */
	{
		const char *in = "version 1\n" OIDL "size 9223372036854775807\nkind data\ntype file\n";

		is_int(parse(&p, in, strlen(in)), 0, "size INT64_MAX accepted");
		ok(p.size == 9223372036854775807ull, "size INT64_MAX value");
	}

	mlv_pointer_release(&p);
	mlv_pointer_release(&p);
	mlv_buf_release(&b);
}

static void test_hostile(void)
{
	char big[MLV_POINTER_MAX + 64];
	char line[2048];

	reject("", MLV_EINVALID, 1, "empty", "empty file");
	reject("version 2\n" OIDL "size 1\nkind data\ntype file\n", MLV_EUNSUPPORTED, 1,
	       "unsupported pointer version", "version 2");
	reject("version 0\n" OIDL "size 1\nkind data\ntype file\n", MLV_EINVALID, 1,
	       "version", "version 0");
	reject("version 01\n" OIDL "size 1\nkind data\ntype file\n", MLV_EINVALID, 1,
	       "version", "version 01");
	reject("version one\n" OIDL "size 1\nkind data\ntype file\n", MLV_EINVALID, 1,
	       "version", "version one");
	reject(OIDL "version 1\nsize 1\nkind data\ntype file\n", MLV_EINVALID, 1,
	       "version 1", "version not first");
	reject("# comment\n" FILE_PTR, MLV_EINVALID, 1, "version 1", "comment first");
	reject("version 1\nversion 1\n" OIDL "size 1\nkind data\ntype file\n", MLV_EINVALID, 2,
	       "duplicate key 'version'", "version twice");
	reject("version  1\n" OIDL "size 1\nkind data\ntype file\n", MLV_EINVALID, 1,
	       "version", "two spaces after version");

	reject("version 1\noid sha256:" HEX "0\nsize 1\nkind data\ntype file\n", MLV_EINVALID, 2,
	       "64 lowercase hex", "oid 65 hex");
	reject("version 1\noid sha256:0123\nsize 1\nkind data\ntype file\n", MLV_EINVALID, 2,
	       "64 lowercase hex", "oid short");
	reject("version 1\noid sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n"
	       "size 1\nkind data\ntype file\n", MLV_EINVALID, 2, "64 lowercase hex", "uppercase hex");
	reject("version 1\noid sha256:0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef\n"
	       "size 1\nkind data\ntype file\n", MLV_EINVALID, 2, "64 lowercase hex", "non-hex digit");
	reject("version 1\noid sha1:0123456789abcdef0123456789abcdef01234567\n"
	       "size 1\nkind data\ntype file\n", MLV_EINVALID, 2, "sha256:", "sha1 oid");
	reject("version 1\noid " HEX "\nsize 1\nkind data\ntype file\n", MLV_EINVALID, 2,
	       "sha256:", "oid without prefix");

	reject("version 1\nsize 1\nkind data\ntype file\n", MLV_EINVALID, 4,
	       "missing required key 'oid'", "missing oid");
	reject("version 1\n" OIDL "kind data\ntype file\n", MLV_EINVALID, 4,
	       "missing required key 'size'", "missing size");
	reject("version 1\n" OIDL "size 1\ntype file\n", MLV_EINVALID, 4,
	       "missing required key 'kind'", "missing kind");
	reject("version 1\n" OIDL "size 1\nkind data\n", MLV_EINVALID, 4,
	       "missing required key 'type'", "missing type");
	reject("version 1\n" OIDL "size 1\nkind data\ntype dir\n", MLV_EINVALID, 5,
	       "'files'", "dir without files");
	reject(FILE_PTR "files 3\n", MLV_EINVALID, 6, "only allowed for directories",
	       "files on a file");

	reject("version 1\n" OIDL OIDL "size 1\nkind data\ntype file\n", MLV_EINVALID, 3,
	       "duplicate key 'oid'", "duplicate oid");
	reject(FILE_PTR "size 1\n", MLV_EINVALID, 6, "duplicate key 'size'", "duplicate size");
	reject(FILE_PTR "foo a\nbar b\nfoo c\n", MLV_EINVALID, 8, "duplicate key 'foo'",
	       "duplicate unknown key");

	reject(FILE_PTR "Foo bar\n", MLV_EINVALID, 6, "invalid key", "uppercase key");
	reject(FILE_PTR "1foo bar\n", MLV_EINVALID, 6, "invalid key", "key starting with digit");
	reject(FILE_PTR "fo.o bar\n", MLV_EINVALID, 6, "invalid key", "key with dot");
	reject(FILE_PTR " foo bar\n", MLV_EINVALID, 6, "invalid key", "leading space");
	reject(FILE_PTR "foo\n", MLV_EINVALID, 6, "key value", "key without value");
	reject(FILE_PTR "foo \n", MLV_EINVALID, 6, "empty value", "empty value");
	reject(FILE_PTR "foo  bar\n", MLV_EINVALID, 6, "stray space", "two spaces");
	reject(FILE_PTR "foo bar \n", MLV_EINVALID, 6, "stray space", "trailing space");
	reject(FILE_PTR "\n", MLV_EINVALID, 6, "empty line", "empty line");
	reject("version 1\n" OIDL "size \nkind data\ntype file\n", MLV_EINVALID, 3,
	       "empty value", "empty size");

	reject("version 1\n" OIDL "size 01\nkind data\ntype file\n", MLV_EINVALID, 3,
	       "invalid size", "size leading zero");
	reject("version 1\n" OIDL "size +1\nkind data\ntype file\n", MLV_EINVALID, 3,
	       "invalid size", "size plus sign");
	reject("version 1\n" OIDL "size -1\nkind data\ntype file\n", MLV_EINVALID, 3,
	       "invalid size", "size minus sign");
	reject("version 1\n" OIDL "size 1e3\nkind data\ntype file\n", MLV_EINVALID, 3,
	       "invalid size", "size exponent");
	reject("version 1\n" OIDL "size 0x10\nkind data\ntype file\n", MLV_EINVALID, 3,
	       "invalid size", "size hex");
	reject("version 1\n" OIDL "size 9223372036854775808\nkind data\ntype file\n",
	       MLV_EINVALID, 3, "invalid size", "size INT64_MAX+1");
	reject("version 1\n" OIDL "size 18446744073709551616\nkind data\ntype file\n",
	       MLV_EINVALID, 3, "invalid size", "size 2^64 (overflow)");
	reject("version 1\n" OIDL "size 99999999999999999999999999\nkind data\ntype file\n",
	       MLV_EINVALID, 3, "invalid size", "size absurd");
	reject("version 1\n" OIDL "size 1\nkind data\ntype dir\nfiles 007\n", MLV_EINVALID, 6,
	       "invalid file count", "files leading zeros");

	reject("version 1\n" OIDL "size 1\nkind dataset\ntype file\n", MLV_EINVALID, 4,
	       "unknown kind", "unknown kind");
	reject("version 1\n" OIDL "size 1\nkind data\ntype symlink\n", MLV_EINVALID, 5,
	       "unknown type", "unknown type");

	reject("version 1\n" OIDL "size 1\nkind data\ntype file", MLV_EINVALID, 5,
	       "missing newline", "no final newline");
	reject("version 1\r\n" OIDL "size 1\nkind data\ntype file\n", MLV_EINVALID, 1,
	       "carriage return", "CRLF on line 1");
	reject("version 1\n" OIDL "size 1\r\nkind data\ntype file\n", MLV_EINVALID, 3,
	       "carriage return", "CRLF on line 3");
	reject_len("version 1\n" OIDL "size 1\nkind da\0ta\ntype file\n",
		   strlen("version 1\n" OIDL "size 1\nkind data\ntype file\n") + 1,
		   MLV_EINVALID, 4, "NUL", "NUL byte in a value");
	reject_len(FILE_PTR "\0", strlen(FILE_PTR) + 1, MLV_EINVALID, 6, "NUL",
		   "NUL byte after last line");
	reject(FILE_PTR "foo a\033[2Jb\n", MLV_EINVALID, 6, "control character",
	       "escape sequence in value");

	/* Overlong line: 1025 bytes before the newline; 1024 is fine. */
	{
		struct mlv_pointer p;
		size_t n;

		n = (size_t)snprintf(line, sizeof(line), "%s", FILE_PTR "note ");
		memset(line + n, 'x', MLV_POINTER_LINE_MAX - (n - strlen(FILE_PTR)));
		n += MLV_POINTER_LINE_MAX - (n - strlen(FILE_PTR));
		line[n++] = '\n';
		line[n] = '\0';
		mlv_pointer_init(&p);
		is_int(parse(&p, line, n), 0, "line of exactly %d bytes accepted",
		       MLV_POINTER_LINE_MAX);
		mlv_pointer_release(&p);
		line[n - 1] = 'x';
		line[n++] = '\n';
		line[n] = '\0';
		reject(line, MLV_EINVALID, 6, "line longer than", "overlong line");
	}

	/* Whole file too large, made only of well-formed lines. */
	{
		size_t n = (size_t)snprintf(big, sizeof(big), "%s", FILE_PTR);
		int k = 0;

		while (n + 16 < sizeof(big))
			n += (size_t)snprintf(big + n, sizeof(big) - n, "k%d v\n", k++);
		reject(big, MLV_EINVALID, 0, "larger than", "file above MLV_POINTER_MAX");
	}
}

static void test_kind(void)
{
	enum mlv_kind k = MLV_KIND_DATA;

	is_int(mlv_kind_parse(&k, "metric"), 0, "kind_parse metric");
	is_int(k, MLV_KIND_METRIC, "kind_parse value");
	is_int(mlv_kind_parse(&k, "Data"), MLV_EINVALID, "kind_parse is case-sensitive");
	is_int(mlv_kind_parse(&k, ""), MLV_EINVALID, "kind_parse empty");
	is_str(mlv_kind_name(MLV_KIND_MODEL), "model", "kind_name model");
	is_str(mlv_kind_name((enum mlv_kind)42), "unknown", "kind_name out of range");
}

static void test_files(void)
{
	const char *dir = tap_tmpdir();
	struct mlv_buf path = MLV_BUF_INIT, link = MLV_BUF_INIT, got = MLV_BUF_INIT;
	struct mlv_pointer p, q;
	struct stat st;
	int dfd;

	mlv_pointer_init(&p);
	mlv_pointer_init(&q);
	mlv_buf_addf(&path, "%s/x.mlv", dir);
	mlv_buf_addf(&link, "%s/target", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(dfd >= 0, "open the test directory");

	is_int(mlv_pointer_read_at(&q, dfd, "x.mlv"), MLV_ENOTFOUND, "read of a missing file");
	is_int(parse(&p, DIR_PTR "origin someone\n", strlen(DIR_PTR "origin someone\n")), 0,
	       "parse for write");
	is_int(mlv_pointer_write_at(dfd, "x.mlv", &p), 0, "write");
	is_int(mlv_read_file(&got, path.ptr, 1 << 20), 0, "read back raw");
	is_str(got.ptr, DIR_PTR "origin someone\n", "written bytes are canonical");
	ok(!stat(path.ptr, &st) && (st.st_mode & 0777) == 0644, "mode 0644");
	is_int(mlv_pointer_read_at(&q, dfd, "x.mlv"), 0, "mlv_pointer_read_at");
	ok(!mlv_oid_cmp(&p.oid, &q.oid) && p.size == q.size && p.files == q.files &&
	   p.kind == q.kind && p.type == q.type && !strcmp(p.extra.ptr, q.extra.ptr),
	   "read equals written");

	/* A symlink at the path is replaced, not written through. */
	unlink(path.ptr);
	ok(!symlink(link.ptr, path.ptr), "make symlink");
	is_int(mlv_pointer_write_at(dfd, "x.mlv", &p), 0, "write over symlink");
	ok(!lstat(path.ptr, &st) && S_ISREG(st.st_mode), "symlink replaced by a file");
	ok(lstat(link.ptr, &st) < 0, "link target not created");

	/* Refuses to write what it could not read. */
	p.size = (uint64_t)INT64_MAX + 1;
	is_int(mlv_pointer_write_at(dfd, "x.mlv", &p), MLV_EINVALID, "write refuses size > INT64_MAX");
	p.size = 1;
	mlv_buf_adds(&p.extra, "Bad key\n");
	is_int(mlv_pointer_write_at(dfd, "x.mlv", &p), MLV_EINVALID, "write refuses malformed extra");
	is_int(mlv_pointer_read_at(&q, dfd, "x.mlv"), 0, "file still readable after refusals");
	is_int((long long)q.size, 99, "file unchanged after refusals");

	/* Hostile file on disk: the message names the path. */
	mlv_write_file_atomic(path.ptr, "version 1\nsize x\n", 17, 0644, 0);
	is_int(mlv_pointer_read_at(&q, dfd, "x.mlv"), MLV_EINVALID, "read rejects bad file");
	ok(strstr(mlv_error_last(), "x.mlv:2: ") != NULL, "read error names path and line");

	mlv_pointer_release(&p);
	mlv_pointer_release(&q);
	if (dfd >= 0)
		close(dfd);
	mlv_buf_release(&path);
	mlv_buf_release(&link);
	mlv_buf_release(&got);
}

/* git's conflict markers: "merge conflict in <file>", not "invalid key '<<<<<<<'". */
static void conflicted(const char *data, const char *title)
{
	struct mlv_pointer p;

	mlv_pointer_init(&p);
	mlv_error_clear();
	ok(mlv_pointer_conflicted(data, strlen(data)), "%s: markers seen", title);
	is_int(parse(&p, data, strlen(data)), MLV_EINVALID, "%s: rejected", title);
	if (!is_str(mlv_error_last(), "merge conflict in data/x.mlv", "%s: message", title))
		tap_diag("message: %s", mlv_error_last());
	mlv_pointer_release(&p);
}

static void test_conflicts(void)
{
	conflicted("version 1\n<<<<<<< HEAD\n" OIDL "size 1\n=======\n" OIDL "size 2\n"
		   ">>>>>>> theirs\nkind data\ntype file\n", "two-way conflict");
	conflicted("<<<<<<< ours\nversion 1\n" OIDL "size 1\nkind data\ntype file\n||||||| base\n"
		   "=======\n>>>>>>> b\n", "diff3 conflict at the first line");
	conflicted(FILE_PTR "=======\n", "a lone separator");
	conflicted(FILE_PTR ">>>>>>>\n", "a bare end marker");
	conflicted("version 1\r\n<<<<<<< HEAD\r\n", "CRLF markers");
	ok(!mlv_pointer_conflicted(FILE_PTR, strlen(FILE_PTR)), "a valid pointer has no markers");
	ok(!mlv_pointer_conflicted(FILE_PTR "note <<<<<<< x\n", strlen(FILE_PTR) + 15),
	   "markers inside a value are not markers");
	ok(!mlv_pointer_conflicted("<<<<<<<<\n", 9), "eight '<' are not a marker");
}

/* Reading and writing below a directory fd: no symlink followed, writes by the lock. */
static void test_at(void)
{
	const char *dir = tap_tmpdir();
	struct mlv_buf sub = MLV_BUF_INIT, got = MLV_BUF_INIT;
	struct mlv_pointer p, q;
	struct mlv_lock l = MLV_LOCK_INIT;
	struct stat st;
	int dfd;

	mlv_pointer_init(&p);
	mlv_pointer_init(&q);
	mlv_buf_addf(&sub, "%s/at", dir);
	ok(!mkdir(sub.ptr, 0777), "make directory");
	dfd = open(sub.ptr, O_RDONLY | O_DIRECTORY);
	ok(dfd >= 0, "open directory");
	ok(!mkdirat(dfd, "d", 0777) && !mkdirat(dfd, "real", 0777), "make d and real");
	ok(!symlinkat("real", dfd, "link"), "make link -> real");

	is_int(parse(&p, FILE_PTR, strlen(FILE_PTR)), 0, "parse");
	is_int(mlv_pointer_write_at(dfd, "d/x.mlv", &p), 0, "write_at");
	ok(fstatat(dfd, "d/x.mlv.lock", &st, 0) < 0, "no lock file left");
	is_int(mlv_pointer_read_at(&q, dfd, "d/x.mlv"), 0, "read_at");
	is_int((long long)q.size, 1234, "read_at reads what write_at wrote");
	is_int(mlv_pointer_read_at(&q, dfd, "d/none.mlv"), MLV_ENOTFOUND, "read_at of a missing file");

	/* Never through a symlinked directory, neither way. */
	is_int(mlv_pointer_write_at(dfd, "link/x.mlv", &p), MLV_EINVALID, "write_at refuses a link");
	ok(fstatat(dfd, "real/x.mlv", &st, 0) < 0, "nothing written through the link");
	ok(!linkat(dfd, "d/x.mlv", dfd, "real/x.mlv", 0), "a pointer in real/");
	is_int(mlv_pointer_read_at(&q, dfd, "link/x.mlv"), MLV_EINVALID, "read_at refuses a link");
	ok(strstr(mlv_error_last(), "symbolic link") != NULL, "message says symbolic link");
	ok(!symlinkat("d/x.mlv", dfd, "y.mlv"), "a pointer file that is a symlink");
	ok(mlv_pointer_read_at(&q, dfd, "y.mlv") < 0, "read_at refuses a symlinked file");

	/* Writing into a lock the caller holds. */
	is_int(mlv_lock_acquire(&l, dfd, "d/x.mlv", 0), 0, "take the lock");
	p.size = 5;
	is_int(mlv_pointer_write_locked(&l, &p), 0, "write_locked");
	ok(fstatat(dfd, "d/x.mlv.lock", &st, 0) < 0, "lock released");
	is_int(mlv_pointer_read_at(&q, dfd, "d/x.mlv"), 0, "read back");
	is_int((long long)q.size, 5, "write_locked wrote");
	is_int(mlv_lock_acquire(&l, dfd, "d/x.mlv", 0), 0, "take the lock again");
	p.size = (uint64_t)INT64_MAX + 1;
	is_int(mlv_pointer_write_locked(&l, &p), MLV_EINVALID, "write_locked refuses a bad pointer");
	ok(fstatat(dfd, "d/x.mlv.lock", &st, 0) < 0, "lock released after a refusal");
	is_int(mlv_pointer_read_at(&q, dfd, "d/x.mlv"), 0, "pointer still readable");
	is_int((long long)q.size, 5, "pointer unchanged");

	mlv_buf_release(&sub);
	mlv_buf_release(&got);
	mlv_pointer_release(&p);
	mlv_pointer_release(&q);
	close(dfd);
}

static void test_exec(void)
{
	struct mlv_pointer p;
	struct mlv_buf b = MLV_BUF_INIT;

	mlv_pointer_init(&p);
	is_int(parse(&p, FILE_PTR "exec yes\n", strlen(FILE_PTR "exec yes\n")), 0,
	       "exec yes on a file");
	ok(p.exec == 1 && p.extra.len == 0, "exec is a known key, not an extra line");
	mlv_pointer_format(&b, &p);
	is_str(b.ptr, FILE_PTR "exec yes\n", "exec is written back after type");
	is_int(parse(&p, FILE_PTR, strlen(FILE_PTR)), 0, "no exec line");
	ok(p.exec == 0, "means not executable");
	mlv_buf_reset(&b);
	mlv_pointer_format(&b, &p);
	is_str(b.ptr, FILE_PTR, "and none is written");
	mlv_pointer_release(&p);
	mlv_buf_release(&b);
	reject(FILE_PTR "exec no\n", MLV_EINVALID, 6, "invalid exec", "exec no");
	reject(FILE_PTR "exec yes\nexec yes\n", MLV_EINVALID, 7, "duplicate key", "exec twice");
	reject(DIR_PTR "exec yes\n", MLV_EINVALID, 7, "only allowed for files", "exec on a dir");
}

int main(void)
{
	test_conflicts();
	test_at();
	test_roundtrip();
	test_hostile();
	test_kind();
	test_files();
	test_exec();
	return tap_done();
}
