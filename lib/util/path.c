#include <string.h>

#include "mlv/error.h"
#include "mlv/path.h"

/*
 * Skip a Unicode code point that HFS+ ignores when it compares names
 * (git's is_hfs_dotgit): U+200C..U+200F, U+202A..U+202E, U+206A..U+206F
 * and U+FEFF, in UTF-8.  Returns its length, or 0.
 */
static size_t hfs_ignorable(const unsigned char *c, size_t len)
{
	if (len < 3)
		return 0;
	if (c[0] == 0xe2 && c[1] == 0x80 && ((c[2] >= 0x8c && c[2] <= 0x8f) ||
					     (c[2] >= 0xaa && c[2] <= 0xae)))
		return 3;
	if (c[0] == 0xe2 && c[1] == 0x81 && c[2] >= 0xaa && c[2] <= 0xaf)
		return 3;
	if (c[0] == 0xef && c[1] == 0xbb && c[2] == 0xbf)
		return 3;
	return 0;
}

/*
 * Is component `c` a spelling of ".git" or ".mlv" that some file system
 * would map onto the real one?  Any letter case (case-insensitive file
 * systems); HFS+ ignorable code points anywhere; trailing spaces and dots,
 * or an NTFS alternate stream (".git::$INDEX_ALLOCATION") after it; the
 * NTFS short names "GIT~1" and "MLV~1".  As git's verify_path.
 */
static int reserved_component(const char *c, size_t len)
{
	char folded[8];
	size_t n = 0, i = 0;

	while (i < len && c[i] != ':') {
		size_t skip = hfs_ignorable((const unsigned char *)c + i, len - i);
		char ch = c[i];

		if (skip) {
			i += skip;
			continue;
		}
		i++;
		if (n >= 5 && (ch == ' ' || ch == '.'))
			continue; /* NTFS drops trailing spaces and dots: checked below */
		if (n == sizeof(folded))
			return 0; /* longer than any reserved spelling */
		folded[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	/* NTFS drops trailing spaces and dots; ":stream" is the file itself. */
	while (n > 4 && (folded[n - 1] == ' ' || folded[n - 1] == '.'))
		n--;
	if (n == 4 && (!memcmp(folded, ".git", 4) || !memcmp(folded, ".mlv", 4)))
		return 1;
	if (n == 5 && (!memcmp(folded, "git~1", 5) || !memcmp(folded, "mlv~1", 5)))
		return 1;
	return 0;
}

int mlv_path_component_valid(const char *c, size_t len)
{
	if (!len || len > MLV_NAME_MAX || memchr(c, '/', len) || memchr(c, '\0', len))
		return 0;
	if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
		return 0;
	return !reserved_component(c, len);
}

/*
 * Append the components of `src` to the normalised path in `out`,
 * resolving "." and ".." textually.  -1 when ".." climbs above the start.
 */
static int push_components(struct mlv_buf *out, const char *src)
{
	const char *p = src;

	while (*p) {
		const char *c = p;
		size_t len;

		while (*p && *p != '/')
			p++;
		len = (size_t)(p - c);
		while (*p == '/')
			p++;
		if (!len || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			char *slash;

			if (!out->len)
				return -1;
			slash = memrchr(out->ptr, '/', out->len);
			mlv_buf_setlen(out, slash ? (size_t)(slash - out->ptr) : 0);
			continue;
		}
		if (out->len)
			mlv_buf_addch(out, '/');
		mlv_buf_add(out, c, len);
	}
	return 0;
}

static int check_reserved(const char *path, const char *arg)
{
	const char *p = path;

	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (reserved_component(p, len))
			return mlv_error_set(MLV_EINVALID, "'%s' is inside '%.*s', which mlv "
					     "never touches", arg, (int)len, p);
		if (len > MLV_NAME_MAX || (size_t)(p - path) + len > MLV_PATH_MAX)
			return mlv_error_set(MLV_EINVALID, "'%s' is too long", arg);
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

int mlv_path_from_arg(struct mlv_buf *out, const char *top, const char *prefix, const char *arg)
{
	struct mlv_buf abs = MLV_BUF_INIT, ntop = MLV_BUF_INIT;
	int ret = 0;

	mlv_buf_reset(out);
	if (!*arg) {
		ret = mlv_error_set(MLV_EINVALID, "empty path");
		goto done;
	}

	if (arg[0] == '/') {
		/* Compare whole components with the (normalised) top. */
		if (!top || top[0] != '/' || push_components(&ntop, top) < 0 ||
		    push_components(&abs, arg) < 0) {
			ret = mlv_error_set(MLV_EINVALID, "'%s' is outside repository", arg);
			goto done;
		}
		if (!ntop.len) {
			mlv_buf_add(out, abs.ptr, abs.len);
		} else if (abs.len == ntop.len && !memcmp(abs.ptr, ntop.ptr, ntop.len)) {
			/* the top itself: "" */
		} else if (abs.len > ntop.len && !memcmp(abs.ptr, ntop.ptr, ntop.len) &&
			   abs.ptr[ntop.len] == '/') {
			mlv_buf_add(out, abs.ptr + ntop.len + 1, abs.len - ntop.len - 1);
		} else {
			ret = mlv_error_set(MLV_EINVALID, "'%s' is outside repository at '%s'",
					    arg, top);
			goto done;
		}
	} else if ((prefix && push_components(out, prefix) < 0) ||
		   push_components(out, arg) < 0) {
		ret = mlv_error_set(MLV_EINVALID, "'%s' is outside repository", arg);
		goto done;
	}

	ret = check_reserved(out->ptr, arg);
done:
	if (ret)
		mlv_buf_reset(out);
	mlv_buf_release(&abs);
	mlv_buf_release(&ntop);
	return ret;
}

int mlv_path_valid(const char *path)
{
	const char *p = path;

	if (!path || !*path || strlen(path) > MLV_PATH_MAX)
		return 0;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!mlv_path_component_valid(p, len))
			return 0;
		if (!slash)
			return 1;
		p = slash + 1;
	}
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !memcmp(s + n - m, suffix, m);
}

/*
 * Names beside which mlv keeps files of its own, so that a tracked path
 * with them would be taken for one: pointer files ("x.mlv"), their locks
 * ("x.mlv.lock"), the .gitignore mlv edits and its lock, and temporary
 * files.
 */
static int reserved_artifact_name(const char *base)
{
	return ends_with(base, ".mlv") || ends_with(base, ".mlv.lock") ||
	       !strcmp(base, ".gitignore") || !strcmp(base, ".gitignore.lock") ||
	       !strncmp(base, ".mlv-tmp-", 9);
}

int mlv_path_check(const char *path, int artifact, const char *what)
{
	const char *p = path, *base = mlv_path_basename(path);
	size_t total = strlen(path);

	if (!*path)
		return mlv_error_set(MLV_EINVALID, "%s: empty path", what);
	if (artifact && reserved_artifact_name(base))
		return mlv_error_set(MLV_EINVALID, "%s: '%s' cannot be tracked: mlv uses names like "
				     "'%s' for its own files", what, path, base);
	/* Its data path is listed in .gitignore, one pattern per line. */
	if (artifact && *base && (strchr(base, '\n') || base[strlen(base) - 1] == '\r'))
		return mlv_error_set(MLV_EINVALID, "%s: '%s' cannot be tracked: a name with a "
				     "newline or a final carriage return cannot be listed in "
				     ".gitignore", what, path);
	if (total > MLV_PATH_MAX || (artifact && strlen(base) > MLV_ARTIFACT_NAME_MAX))
		return mlv_error_set(MLV_EINVALID, "%s: path '%.64s...' is too long (%zu bytes; "
				     "at most %d, and %d for the last component of a tracked path)",
				     what, path, total, MLV_PATH_MAX, MLV_ARTIFACT_NAME_MAX);
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!mlv_path_component_valid(p, len)) {
			if (len > MLV_NAME_MAX)
				return mlv_error_set(MLV_EINVALID, "%s: a component of '%.64s...' is "
						     "longer than %d bytes", what, path, MLV_NAME_MAX);
			return mlv_error_set(MLV_EINVALID, "%s: invalid path '%s' (component "
					     "'%.*s': empty, '.', '..', or a name of .git or .mlv)",
					     what, path, (int)len, p);
		}
		if (!slash)
			return 0;
		p = slash + 1;
	}
}

/* Length of the leading components that `a` and `b` share. */
static size_t common_dir_len(const char *a, const char *b)
{
	size_t i = 0, last = 0;

	for (;; i++) {
		int ea = a[i] == '\0' || a[i] == '/';
		int eb = b[i] == '\0' || b[i] == '/';

		if (ea && eb) {
			last = i;
			if (!a[i] || !b[i])
				return last;
			continue;
		}
		if (ea || eb || a[i] != b[i])
			return last;
	}
}

void mlv_path_relative(struct mlv_buf *out, const char *path, const char *prefix)
{
	size_t common;
	const char *up, *rest;

	mlv_buf_reset(out);
	if (!prefix || !*prefix) {
		mlv_buf_adds(out, *path ? path : ".");
		return;
	}
	common = common_dir_len(path, prefix);

	/* One ".." for each component of `prefix` beyond the common part. */
	up = prefix + common;
	while (*up == '/')
		up++;
	while (*up) {
		if (out->len)
			mlv_buf_addch(out, '/');
		mlv_buf_adds(out, "..");
		up = strchr(up, '/');
		if (!up)
			break;
		up++;
	}

	rest = path + common;
	while (*rest == '/')
		rest++;
	if (*rest) {
		if (out->len)
			mlv_buf_addch(out, '/');
		mlv_buf_adds(out, rest);
	}
	if (!out->len)
		mlv_buf_adds(out, ".");
}

void mlv_path_dirname(struct mlv_buf *out, const char *path)
{
	const char *slash = strrchr(path, '/');

	mlv_buf_reset(out);
	if (slash)
		mlv_buf_add(out, path, (size_t)(slash - path));
}

const char *mlv_path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}
