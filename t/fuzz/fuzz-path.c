/*
 * libFuzzer target for the one path gate, include/mlv/path.h (see
 * t/fuzz/README).
 *
 * Input: one control byte, then up to three NUL-separated strings: a path
 * or command-line argument, a prefix (the current directory inside the
 * work tree) and a top (the work tree's absolute path).  Control bit 0
 * passes a NULL prefix, bit 1 a NULL top.
 *
 * Checked: a path that mlv_path_valid() or mlv_path_check() accepts never
 * has an empty, ".", ".." or .git/.mlv-spelled component (reference.h, an
 * independent slow check) and stays within MLV_NAME_MAX/MLV_PATH_MAX (and
 * MLV_ARTIFACT_NAME_MAX for a tracked path); the three functions agree;
 * mlv_path_from_arg() yields "" or a valid path, the same one a separate
 * textual resolver computes here, or fails with MLV_EINVALID and an empty
 * result; mlv_path_relative() results resolve back to the path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/path.h"
#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Components of a path, resolved textually. */
struct comps {
	const char **p;
	size_t *len;
	size_t nr;
};

/* Push the components of `s`, resolving "." and ".."; 0 when ".." climbs above the start. */
static int resolve(struct comps *c, const char *s)
{
	while (*s) {
		size_t n = 0;

		while (s[n] && s[n] != '/')
			n++;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (!c->nr)
				return 0;
			c->nr--;
		} else if (n && !(n == 1 && s[0] == '.')) {
			c->p[c->nr] = s;
			c->len[c->nr++] = n;
		}
		s += n;
		if (*s)
			s++;
	}
	return 1;
}

static void join(struct mlv_buf *out, const struct comps *c, size_t from)
{
	mlv_buf_reset(out);
	for (size_t i = from; i < c->nr; i++) {
		if (i > from)
			mlv_buf_addch(out, '/');
		mlv_buf_add(out, c->p[i], c->len[i]);
	}
}

/*
 * What mlv_path_from_arg() must answer, before the gate: 1 and the path in
 * `out`, or 0 when `arg` is empty or leaves the repository.
 */
static int reference_from_arg(struct mlv_buf *out, const char *top, const char *prefix,
			      const char *arg, size_t cap)
{
	struct comps a = { NULL, NULL, 0 }, t = { NULL, NULL, 0 };
	int ok = 0;

	a.p = calloc(cap, sizeof(*a.p));
	a.len = calloc(cap, sizeof(*a.len));
	t.p = calloc(cap, sizeof(*t.p));
	t.len = calloc(cap, sizeof(*t.len));
	if (!a.p || !a.len || !t.p || !t.len)
		abort();
	if (!*arg)
		goto done;
	if (arg[0] == '/') {
		size_t i;

		if (!top || top[0] != '/' || !resolve(&t, top) || !resolve(&a, arg) || a.nr < t.nr)
			goto done;
		for (i = 0; i < t.nr; i++)
			if (a.len[i] != t.len[i] || memcmp(a.p[i], t.p[i], a.len[i]))
				goto done;
		join(out, &a, t.nr);
	} else {
		if ((prefix && !resolve(&a, prefix)) || !resolve(&a, arg))
			goto done;
		join(out, &a, 0);
	}
	ok = 1;
done:
	free(a.p);
	free(a.len);
	free(t.p);
	free(t.len);
	return ok;
}

/* A refusal from mlv_path_check() is MLV_EINVALID with a message naming `what`. */
static int gate_check(const char *path, int artifact)
{
	int ret = mlv_path_check(path, artifact, "fuzz");

	if (ret && (ret != MLV_EINVALID || strncmp(mlv_error_last(), "fuzz: ", 6)))
		abort();
	return !ret;
}

/* mlv_path_valid() and mlv_path_check() on one string. */
static void check_gate(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t base_len = strlen(slash ? slash + 1 : path);
	int valid = mlv_path_valid(path);
	int ok = gate_check(path, 0), ok_artifact = gate_check(path, 1);

	if (valid != ok || ok_artifact != (ok && base_len <= MLV_ARTIFACT_NAME_MAX))
		abort();
	if (valid && (ref_path_bad(path) || strlen(path) > MLV_PATH_MAX))
		abort();
}

/* `path` and `prefix` valid (or "" for the top): relative, then back. */
static void check_relative(const char *path, const char *prefix)
{
	struct mlv_buf rel = MLV_BUF_INIT, back = MLV_BUF_INIT, dir = MLV_BUF_INIT;
	const char *base;

	mlv_path_relative(&rel, path, prefix);
	if (mlv_path_from_arg(&back, NULL, prefix, rel.ptr) || strcmp(back.ptr, path))
		abort();
	mlv_path_dirname(&dir, path);
	base = mlv_path_basename(path);
	if (*path && (strchr(base, '/') || dir.len + !!dir.len + strlen(base) != strlen(path) ||
		      memcmp(dir.ptr, path, dir.len) || strcmp(path + strlen(path) - strlen(base), base)))
		abort();
	mlv_buf_release(&rel);
	mlv_buf_release(&back);
	mlv_buf_release(&dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlv_buf out = MLV_BUF_INIT, want = MLV_BUF_INIT;
	const char *field[3] = { "", "", "" }, *top, *prefix, *arg;
	char *s;
	size_t nf = 0;
	int ctl, ret, ok;

	if (!size)
		return 0;
	ctl = data[0];
	s = malloc(size);
	if (!s)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	for (char *p = s; nf < 3 && p <= s + size - 1; ) {
		field[nf++] = p;
		p += strlen(p) + 1;
	}
	arg = field[0];
	prefix = (ctl & 1) ? NULL : field[1];
	top = (ctl & 2) ? NULL : field[2];

	for (size_t i = 0; i < nf; i++)
		check_gate(field[i]);

	ok = reference_from_arg(&want, top, prefix, arg, size + 1);
	ret = mlv_path_from_arg(&out, top, prefix, arg);
	if (ret) {
		if (ret != MLV_EINVALID || out.len)
			abort();
		/* Refused: it left the repository or the resolved path fails the gate. */
		if (ok && (!want.len || mlv_path_valid(want.ptr)))
			abort();
	} else {
		if (!ok || strcmp(out.ptr, want.ptr) || strlen(out.ptr) != out.len)
			abort();
		if (out.len && (!mlv_path_valid(out.ptr) || ref_path_bad(out.ptr)))
			abort();
	}

	if (mlv_path_valid(arg) && (!*field[1] || mlv_path_valid(field[1])))
		check_relative(arg, field[1]);

	mlv_buf_release(&out);
	mlv_buf_release(&want);
	free(s);
	return 0;
}
