#include <string.h>
#include <strings.h>

#include "mlv/error.h"
#include "mlv/path.h"

/*
 * ".git" and ".mlv" are refused in any letter case: on case-insensitive
 * file systems ".GIT" is the same directory.
 */
static int reserved_component(const char *c, size_t len)
{
	return len == 4 && (!strncasecmp(c, ".git", 4) || !strncasecmp(c, ".mlv", 4));
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

	if (!path || !*path)
		return 0;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!len || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.') || reserved_component(p, len))
			return 0;
		if (!slash)
			return 1;
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
