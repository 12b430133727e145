#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <git2.h>

#include "builtin.h"
#include "mlv/buf.h"
#include "mlv/fs.h"
#include "mlv/history.h"
#include "mlv/path.h"
#include "mlv/worktree.h"

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int die_status = 128;

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("fatal: ", fmt, ap);
	va_end(ap);
	exit(die_status);
}

/* The library's hint for its last error, if it gave one. */
static void lib_hint(void)
{
	if (*mlv_error_last_hint())
		hint("%s", mlv_error_last_hint());
}

static void report(const char *prefix, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(prefix, fmt, ap);
	va_end(ap);
}

void die_lib(void)
{
	report("fatal: ", "%s", mlv_error_last());
	lib_hint();
	exit(die_status);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("error: ", fmt, ap);
	va_end(ap);
	return -1;
}

int error_lib(void)
{
	error("%s", mlv_error_last());
	lib_hint();
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("warning: ", fmt, ap);
	va_end(ap);
}

void hint(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("hint: ", fmt, ap);
	va_end(ap);
}

const char *human_size(uint64_t n)
{
	static char bufs[4][32];
	static int k;
	static const char *units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	char *b = bufs[k++ & 3];
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(b, 32, "%llu B", (unsigned long long)n);
		return b;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(b, 32, "%.1f %s", v, units[u]);
	return b;
}

/* Length of the valid UTF-8 sequence at `p` (at most `n` bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

json_t *json_text(const char *s)
{
	struct mlv_buf b = MLV_BUF_INIT;
	size_t n = strlen(s);
	json_t *j;

	if (json_validate_utf8(s, n) && !strchr(s, '\\'))
		return json_stringn(s, n);
	/* "\\xNN" for a byte that is not UTF-8; "\\\\" for a backslash, so the two never meet. */
	for (size_t i = 0; i < n;) {
		size_t len = utf8_len((const unsigned char *)s + i, n - i);

		if (len == 1 && s[i] == '\\') {
			mlv_buf_adds(&b, "\\\\");
			i++;
		} else if (len) {
			mlv_buf_add(&b, s + i, len);
			i += len;
		} else {
			mlv_buf_addf(&b, "\\x%02x", (unsigned char)s[i]);
			i++;
		}
	}
	j = json_stringn(b.ptr, b.len);
	mlv_buf_release(&b);
	return j;
}

int json_validate_utf8(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = utf8_len((const unsigned char *)s + i, n - i);

		if (!len)
			return 0;
		i += len;
	}
	return 1;
}

void json_emit(json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (!text)
		die("out of memory formatting JSON");
	puts(text);
	free(text);
	json_decref(obj);
}

struct progress {
	const char *title;
	uint64_t count, bytes;
	struct timespec last;
	int shown;
};

struct progress *progress_start(struct mlv_ctx *ctx, const char *title)
{
	struct progress *p;

	if (!ctx->progress)
		return NULL;
	p = mlv_calloc(1, sizeof(*p));
	p->title = title;
	clock_gettime(CLOCK_MONOTONIC, &p->last);
	return p;
}

static void progress_show(struct progress *p, const char *end)
{
	fprintf(stderr, "\r%s: %llu files, %s%s", p->title, (unsigned long long)p->count,
		human_size(p->bytes), end);
	p->shown = 1;
}

void progress_update(struct progress *p, uint64_t count, uint64_t bytes)
{
	struct timespec now;

	if (!p)
		return;
	p->count = count;
	p->bytes = bytes;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - p->last.tv_sec) * 1000000000L + (now.tv_nsec - p->last.tv_nsec) < 100000000L)
		return;
	p->last = now;
	progress_show(p, "\033[K");
}

void progress_stop(struct progress *p)
{
	if (!p)
		return;
	if (p->shown)
		progress_show(p, ", done.\033[K\n");
	free(p);
}

char *path_arg(struct mlv_ctx *ctx, const char *arg)
{
	struct mlv_buf b = MLV_BUF_INIT;

	if (ctx->repo->topfd < 0) {
		/* A bare repository: paths are relative to the top of the history's trees. */
		mlv_buf_adds(&b, arg);
		while (b.len && b.ptr[b.len - 1] == '/')
			mlv_buf_setlen(&b, b.len - 1);
		if (b.len && !strcmp(b.ptr, "."))
			mlv_buf_reset(&b);
		if (b.len && mlv_path_check(b.ptr, 0, "bad path") < 0)
			die_lib();
		return mlv_buf_detach(&b, NULL);
	}
	if (mlv_path_from_arg(&b, ctx->repo->top, ctx->repo->prefix, arg) < 0)
		die_lib();
	return mlv_buf_detach(&b, NULL);
}

/*
 * Quote a name for a human line as git does: when it holds a control
 * character, a double quote or a backslash, write it in double quotes
 * with C escapes, so that no name can forge a line of output.
 */
static void quote_name(struct mlv_buf *b)
{
	struct mlv_buf q = MLV_BUF_INIT;
	int need = 0;

	for (size_t i = 0; i < b->len && !need; i++) {
		unsigned char c = (unsigned char)b->ptr[i];

		need = c < 0x20 || c == 0x7f || c == '"' || c == '\\';
	}
	if (!need)
		return;
	mlv_buf_addch(&q, '"');
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->ptr[i];

		switch (c) {
		case '\n': mlv_buf_adds(&q, "\\n"); break;
		case '\t': mlv_buf_adds(&q, "\\t"); break;
		case '"': mlv_buf_adds(&q, "\\\""); break;
		case '\\': mlv_buf_adds(&q, "\\\\"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				mlv_buf_addf(&q, "\\%03o", c);
			else
				mlv_buf_addch(&q, (char)c);
		}
	}
	mlv_buf_addch(&q, '"');
	mlv_buf_reset(b);
	mlv_buf_add(b, q.ptr, q.len);
	mlv_buf_release(&q);
}

const char *path_show(struct mlv_ctx *ctx, const char *path)
{
	static struct mlv_buf bufs[4];
	static int k;
	struct mlv_buf *b = &bufs[k++ & 3];

	mlv_buf_reset(b);
	mlv_path_relative(b, path, ctx->repo->prefix);
	quote_name(b);
	return b->ptr;
}

const char *text_show(const char *s)
{
	static struct mlv_buf bufs[4];
	static int k;
	struct mlv_buf *b = &bufs[k++ & 3];

	mlv_buf_reset(b);
	mlv_buf_adds(b, s ? s : "");
	quote_name(b);
	return b->ptr;
}

void find_artifacts(struct mlv_ctx *ctx, struct mlv_artifact_list *out, int n, const char **argv)
{
	char **paths = mlv_calloc((size_t)n + 1, sizeof(*paths));
	int ret;

	for (int i = 0; i < n; i++)
		paths[i] = path_arg(ctx, argv[i]);
	ret = mlv_artifacts_find_at(out, ctx->repo->topfd, (const char *const *)paths, (size_t)n);
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	if (ret < 0)
		die_lib();
}

int find_artifact(struct mlv_ctx *ctx, struct mlv_artifact_list *out, const char *arg)
{
	char *path = path_arg(ctx, arg);
	int ret = mlv_artifact_find_one(out, ctx->repo->topfd, path);

	if (ret < 0)
		error_lib();
	free(path);
	return ret < 0 ? -1 : 0;
}

void report_bad_artifact(const struct mlv_artifact *a)
{
	struct mlv_buf h = MLV_BUF_INIT;

	error("%s", a->error);
	mlv_artifact_hint(&h, a);
	if (h.len)
		hint("%s", h.ptr);
	mlv_buf_release(&h);
}

int arg_is_rev(struct mlv_ctx *ctx, const char *arg, int dashdash)
{
	struct git_commit *c;
	struct mlv_buf p = MLV_BUF_INIT;
	int rev, path = 0;

	if (dashdash == 0)
		return 0;
	if (dashdash > 0)
		return 1;
	rev = mlv_rev_commit(&c, ctx->repo, arg) == 0;
	if (rev)
		git_commit_free(c);
	mlv_error_clear();
	if (ctx->repo->topfd < 0)
		return rev;
	/* As git: a name that is both a revision and a path must be told apart with "--". */
	if (mlv_path_from_arg(&p, ctx->repo->top, ctx->repo->prefix, arg) == 0) {
		struct mlv_buf ptr = MLV_BUF_INIT;

		mlv_buf_addf(&ptr, "%s%s", p.ptr, MLV_POINTER_SUFFIX);
		path = !*p.ptr || mlv_fs_exists(ctx->repo->topfd, p.ptr) > 0 ||
		       mlv_fs_exists(ctx->repo->topfd, ptr.ptr) > 0;
		mlv_buf_release(&ptr);
	}
	mlv_error_clear();
	mlv_buf_release(&p);
	/* HEAD~1 in a shallow clone, main^2 of a repository without merges: say what it is. */
	if (!rev && !path && strpbrk(arg, "~^@"))
		die("unknown revision '%s' (and no such path in the work tree)", arg);
	if (rev && path)
		die("ambiguous argument '%s': both revision and filename\n"
		    "Use '--' to separate paths from revisions, like this:\n"
		    "'mlv <command> [<revision>...] -- [<file>...]'", arg);
	return rev;
}

char *forgotten_checkout(struct mlv_ctx *ctx, const struct mlv_artifact *a)
{
	struct git_commit *c;
	char hex[GIT_OID_HEXSZ + 1];
	const char *summary;
	char *out;

	if (mlv_history_forgotten(ctx->repo, a, &c) <= 0) {
		mlv_error_clear();
		return NULL;
	}
	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	summary = git_commit_summary(c);
	out = mlv_xstrfmt("%.7s (%s)", hex, summary ? summary : "");
	git_commit_free(c);
	return out;
}

#include "mlv/quote.h"

const char *path_sh(struct mlv_ctx *ctx, const char *path)
{
	static struct mlv_buf bufs[4];
	static int k;
	struct mlv_buf *b = &bufs[k++ & 3];
	struct mlv_buf rel = MLV_BUF_INIT;

	mlv_buf_reset(b);
	mlv_path_relative(&rel, path, ctx->repo->prefix);
	mlv_sq_quote(b, rel.ptr);
	mlv_buf_release(&rel);
	return b->ptr;
}
