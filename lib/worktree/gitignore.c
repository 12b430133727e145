#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/gitignore.h"
#include "mlv/lock.h"
#include "mlv/tree.h"

int mlv_gitignore_pattern(struct mlv_buf *out, const char *name)
{
	size_t len = strlen(name), trail = len;

	if (!mlv_name_valid(name, len))
		return mlv_error_set(MLV_EINVALID, "invalid file name '%s'", name);
	if (strchr(name, '\n') || name[len - 1] == '\r')
		return mlv_error_set(MLV_EINVALID, "'%s': a name with a newline or a final "
				     "carriage return cannot be listed in .gitignore", name);

	/* git trims unescaped trailing spaces from patterns. */
	while (trail && name[trail - 1] == ' ')
		trail--;
	mlv_buf_addch(out, '/');
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c == '*' || c == '?' || c == '[' || c == '\\' || (c == ' ' && i >= trail))
			mlv_buf_addch(out, '\\');
		mlv_buf_addch(out, c);
	}
	return 0;
}

static void gitignore_path(struct mlv_buf *out, const char *dir)
{
	if (dir && *dir && strcmp(dir, ".")) {
		mlv_buf_adds(out, dir);
		if (out->ptr[out->len - 1] != '/')
			mlv_buf_addch(out, '/');
	}
	mlv_buf_adds(out, ".gitignore");
}

/*
 * Read the .gitignore `base` of directory `dirfd` (named `path` in
 * messages) into `out`, never through a symlink.  *mode is its permission
 * bits, or 0644 when it does not exist (and *exists is 0).
 */
static int load(struct mlv_buf *out, mode_t *mode, int *exists, int dirfd, const char *base,
		const char *path)
{
	struct stat st;
	int fd, ret;

	*exists = 0;
	*mode = 0644;
	fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return mlv_error_set(MLV_EINVALID, "refusing to edit '%s': it is a "
					     "symbolic link", path);
		return mlv_error_set_errno(MLV_EIO, "cannot open '%s'", path);
	}
	if (fstat(fd, &st) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = mlv_error_set(MLV_EINVALID, "refusing to edit '%s': not a regular file",
				    path);
		goto done;
	}
	*exists = 1;
	*mode = st.st_mode & 07777;
	ret = mlv_read_fd(out, fd, MLV_GITIGNORE_MAX, path);
done:
	close(fd);
	return ret;
}

/* Is [s, s + len) the line `pat`, possibly with a CR before its newline? */
static int is_line(const char *s, size_t len, const struct mlv_buf *pat)
{
	if (len == pat->len + 1 && s[pat->len] == '\r')
		len--;
	return len == pat->len && !memcmp(s, pat->ptr, len);
}

/*
 * Copy `in` to `out` without the lines equal to `pat`; returns how many
 * were dropped.
 */
static size_t filter_lines(struct mlv_buf *out, const struct mlv_buf *in,
			   const struct mlv_buf *pat)
{
	const char *p = in->ptr, *end = in->ptr + in->len;
	size_t dropped = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;

		if (is_line(p, (size_t)((nl ? nl : end) - p), pat))
			dropped++;
		else
			mlv_buf_add(out, p, (size_t)(next - p));
		p = next;
	}
	return dropped;
}

/*
 * Add (`add`) or remove the "/<name>" line of the .gitignore in `dir`
 * below `dirfd`: read, change and replace it while holding its lock, so
 * that concurrent edits never lose a line.
 */
static int update(int dirfd, const char *dir, const char *name, int add)
{
	struct mlv_buf path = MLV_BUF_INIT, pat = MLV_BUF_INIT;
	struct mlv_buf content = MLV_BUF_INIT, rest = MLV_BUF_INIT;
	struct mlv_lock lock = MLV_LOCK_INIT;
	mode_t mode;
	int exists, found, ret;

	if ((ret = mlv_gitignore_pattern(&pat, name)) < 0)
		goto done;
	gitignore_path(&path, dir);
	if ((ret = mlv_lock_acquire(&lock, dirfd, path.ptr, MLV_LOCK_TIMEOUT_MS)) < 0)
		goto done;
	if ((ret = load(&content, &mode, &exists, lock.dirfd, lock.base, path.ptr)) < 0 ||
	    (!add && !exists))
		goto done;
	found = filter_lines(&rest, &content, &pat);
	if (add == !!found)
		goto done; /* already as wanted */
	if (add) {
		if (content.len && content.ptr[content.len - 1] != '\n')
			mlv_buf_addch(&content, '\n');
		mlv_buf_add(&content, pat.ptr, pat.len);
		mlv_buf_addch(&content, '\n');
		ret = mlv_lock_write(&lock, content.ptr, content.len);
	} else if (!rest.len) {
		/* Nothing but mlv's line was left: the file goes, as git removes what it wrote. */
		if (unlinkat(lock.dirfd, lock.base, 0) < 0 && errno != ENOENT)
			ret = mlv_error_set_errno(MLV_EIO, "cannot remove '%s'", path.ptr);
		goto done;
	} else {
		ret = mlv_lock_write(&lock, rest.ptr, rest.len);
	}
	if (!ret)
		ret = mlv_lock_commit(&lock, mode, 1);
done:
	mlv_lock_release(&lock);
	mlv_buf_release(&path);
	mlv_buf_release(&pat);
	mlv_buf_release(&content);
	mlv_buf_release(&rest);
	return ret;
}

int mlv_gitignore_add_at(int dirfd, const char *dir, const char *name)
{
	return update(dirfd, dir, name, 1);
}

int mlv_gitignore_remove_at(int dirfd, const char *dir, const char *name)
{
	return update(dirfd, dir, name, 0);
}
