/*
 * Paths below a directory fd, never following a symlink (see mlv/fs.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/fs.h"

static int no_openat2; /* the kernel (or a seccomp filter) refused it once */

/*
 * Which leading component of `path` is not a plain directory: its error,
 * or 0 when they all are.
 */
static int beyond(int dirfd, const char *path)
{
	struct mlv_buf b = MLV_BUF_INIT;
	int ret = 0;

	for (const char *s = strchr(path, '/'); s && !ret; s = strchr(s + 1, '/')) {
		struct stat st;

		mlv_buf_reset(&b);
		mlv_buf_add(&b, path, (size_t)(s - path));
		if (fstatat(dirfd, b.ptr, &st, AT_SYMLINK_NOFOLLOW) < 0)
			ret = mlv_error_set_errno(errno == ENOENT ? MLV_ENOTFOUND : MLV_EIO,
						  "cannot stat '%s'", b.ptr);
		else if (S_ISLNK(st.st_mode))
			ret = mlv_error_set(MLV_EINVALID, "'%s' is beyond a symbolic link ('%s')",
					    path, b.ptr);
		else if (!S_ISDIR(st.st_mode))
			ret = mlv_error_set(MLV_EINVALID, "'%s' is beyond '%s', which is not a directory",
					    path, b.ptr);
	}
	mlv_buf_release(&b);
	return ret;
}

/* The error for a failed open of `path` (errno set by the call). */
static int open_error(int dirfd, const char *path)
{
	int e = errno, ret;
	struct stat st;

	if (e == ENOENT)
		return mlv_error_set_errno(MLV_ENOTFOUND, "cannot open '%s'", path);
	if (e != ENOTDIR && e != ELOOP && e != EXDEV) {
		errno = e;
		return mlv_error_set_errno(MLV_EIO, "cannot open '%s'", path);
	}
	if ((ret = beyond(dirfd, path)) < 0)
		return ret;
	/* The leading directories are fine: the last component is at fault. */
	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return mlv_error_set(MLV_EINVALID, "'%s' is a symbolic link", path);
	if (e == ENOTDIR)
		return mlv_error_set(MLV_EINVALID, "'%s' is not a directory", path);
	errno = e;
	return mlv_error_set_errno(MLV_EINVALID, "cannot open '%s'", path);
}

static int resolve_open(int dirfd, const char *path, int flags, mode_t mode)
{
	if (!no_openat2) {
		struct open_how how;
		long fd;

		memset(&how, 0, sizeof(how));
		how.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC);
		how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
			return (int)fd;
		no_openat2 = 1;
	}
	/* Walk one component at a time. */
	{
		const char *p = path, *slash;
		int fd = dirfd, next;

		while ((slash = strchr(p, '/'))) {
			char *comp = mlv_strndup(p, (size_t)(slash - p));

			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			free(comp);
			if (fd != dirfd)
				close(fd);
			if (next < 0)
				return -1;
			fd = next;
			p = slash + 1;
		}
		next = openat(fd, *p ? p : ".", flags | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd != dirfd) {
			int e = errno;

			close(fd);
			errno = e;
		}
		return next;
	}
}

int mlv_fs_open(int dirfd, const char *path, int flags, mode_t mode)
{
	int fd;

	if (!*path)
		fd = openat(dirfd, ".", flags | O_CLOEXEC, mode);
	else if (!strchr(path, '/'))
		fd = openat(dirfd, path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	else
		fd = resolve_open(dirfd, path, flags, mode);
	if (fd < 0)
		return open_error(dirfd, path);
	return fd;
}

static int open_dir(int dirfd, const char *dir, int create)
{
	int fd = mlv_fs_open(dirfd, dir, O_RDONLY | O_DIRECTORY, 0);
	int ret;

	if (fd >= 0 || fd != MLV_ENOTFOUND || !create)
		return fd;
	if ((ret = mlv_fs_mkdirs(dirfd, dir)) < 0)
		return ret;
	return mlv_fs_open(dirfd, dir, O_RDONLY | O_DIRECTORY, 0);
}

int mlv_fs_open_parent(int dirfd, const char *path, int create, const char **base)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (!slash) {
		*base = path;
		fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? mlv_error_set_errno(MLV_EIO, "cannot duplicate a directory fd") : fd;
	}
	*base = slash + 1;
	dir = mlv_strndup(path, (size_t)(slash - path));
	fd = open_dir(dirfd, dir, create);
	free(dir);
	if (fd == MLV_EINVALID && !strstr(mlv_error_last(), path))
		fd = mlv_error_wrap(fd, "'%s'", path);
	return fd;
}

/* A name too long for the file system cannot exist: not found, as git says. */
static int stat_error(const char *path)
{
	return mlv_error_set_errno(errno == ENOENT || errno == ENAMETOOLONG ? MLV_ENOTFOUND : MLV_EIO,
				   "cannot stat '%s'", path);
}

int mlv_fs_lstat(int dirfd, const char *path, struct stat *st)
{
	const char *base;
	int fd, ret = 0;

	if (!*path || !strchr(path, '/')) {
		if (fstatat(dirfd, *path ? path : ".", st, AT_SYMLINK_NOFOLLOW) == 0)
			return 0;
		return stat_error(path);
	}
	if ((fd = mlv_fs_open_parent(dirfd, path, 0, &base)) < 0)
		return fd;
	if (fstatat(fd, base, st, AT_SYMLINK_NOFOLLOW) < 0)
		ret = stat_error(path);
	close(fd);
	return ret;
}

int mlv_fs_exists(int dirfd, const char *path)
{
	struct stat st;
	int ret = mlv_fs_lstat(dirfd, path, &st);

	if (ret == MLV_ENOTFOUND) {
		mlv_error_clear();
		return 0;
	}
	return ret < 0 ? ret : 1;
}

int mlv_fs_unlink(int dirfd, const char *path, int dir)
{
	const char *base;
	int fd = mlv_fs_open_parent(dirfd, path, 0, &base), ret = 0;

	if (fd == MLV_ENOTFOUND) {
		mlv_error_clear();
		return 0;
	}
	if (fd < 0)
		return fd;
	if (unlinkat(fd, base, dir ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT)
		ret = mlv_error_set_errno(MLV_EIO, "cannot remove '%s'", path);
	close(fd);
	return ret;
}

int mlv_fs_rename(int dirfd, const char *from, const char *to, int noreplace)
{
	const char *fbase, *tbase;
	int ffd = -1, tfd = -1, ret = 0;

	if ((ffd = mlv_fs_open_parent(dirfd, from, 0, &fbase)) < 0)
		return ffd;
	if ((tfd = mlv_fs_open_parent(dirfd, to, 0, &tbase)) < 0) {
		ret = tfd;
		goto done;
	}
	if (renameat2(ffd, fbase, tfd, tbase, noreplace ? RENAME_NOREPLACE : 0) < 0) {
		if (noreplace && errno == EEXIST)
			ret = mlv_error_set(MLV_EEXISTS, "'%s' already exists", to);
		else
			ret = mlv_error_set_errno(errno == ENOENT ? MLV_ENOTFOUND : MLV_EIO,
						  "cannot rename '%s' to '%s'", from, to);
	}
done:
	if (ffd >= 0)
		close(ffd);
	if (tfd >= 0)
		close(tfd);
	return ret;
}

int mlv_fs_mkdirs(int dirfd, const char *path)
{
	const char *p = path;
	int fd = dirfd, ret = 0;

	while (*p && !ret) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		char *comp = mlv_strndup(p, len);
		int next;

		if (mkdirat(fd, comp, 0777) < 0 && errno != EEXIST) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot create directory '%.*s'",
						  (int)(p - path + len), path);
		} else {
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0) {
				if (errno == ENOTDIR || errno == ELOOP)
					ret = mlv_error_set(MLV_EINVALID, "cannot create directory '%.*s': "
							    "something that is not a directory is in the way",
							    (int)(p - path + len), path);
				else
					ret = mlv_error_set_errno(MLV_EIO, "cannot open '%.*s'",
								  (int)(p - path + len), path);
			} else {
				if (fd != dirfd)
					close(fd);
				fd = next;
			}
		}
		free(comp);
		p += len;
		while (*p == '/')
			p++;
	}
	if (fd != dirfd)
		close(fd);
	return ret;
}

int mlv_fs_read_file(struct mlv_buf *out, int dirfd, const char *path, size_t max)
{
	struct stat st;
	int fd = mlv_fs_open(dirfd, path, O_RDONLY | O_NONBLOCK, 0), ret;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", path);
	else if (!S_ISREG(st.st_mode))
		ret = mlv_error_set(MLV_EINVALID, "'%s' is not a regular file", path);
	else
		ret = mlv_read_fd(out, fd, max, path);
	close(fd);
	return ret;
}

int mlv_fs_readlink(struct mlv_buf *out, int dirfd, const char *path, size_t max)
{
	const char *base;
	int fd = mlv_fs_open_parent(dirfd, path, 0, &base), ret = 0;
	ssize_t n;

	if (fd < 0)
		return fd;
	mlv_buf_reset(out);
	mlv_buf_grow(out, max + 1);
	n = readlinkat(fd, base, out->ptr, max + 1);
	if (n < 0)
		ret = mlv_error_set_errno(errno == EINVAL ? MLV_EINVALID :
					  errno == ENOENT ? MLV_ENOTFOUND : MLV_EIO,
					  "cannot read symbolic link '%s'", path);
	else if ((size_t)n > max)
		ret = mlv_error_set(MLV_EINVALID, "symbolic link '%s' is longer than %zu bytes",
				    path, max);
	else
		mlv_buf_setlen(out, (size_t)n);
	close(fd);
	return ret;
}

/* Empty directory `fd` (named `path` in messages) without following links. */
static int empty_dir(int fd, const char *path, int depth)
{
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (depth > 4096)
		return mlv_error_set(MLV_EINVALID, "'%s' is nested too deeply", path);
	if (!(d = fdopendir(fd))) {
		close(fd);
		return mlv_error_set_errno(MLV_EIO, "cannot read directory '%s'", path);
	}
	while (!ret && (errno = 0, de = readdir(d))) {
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot remove '%s/%s'", path, de->d_name);
			break;
		}
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot open '%s/%s'", path, de->d_name);
		} else {
			char *subpath = mlv_xstrfmt("%s/%s", path, de->d_name);

			ret = empty_dir(sub, subpath, depth + 1);
			if (!ret && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
				ret = mlv_error_set_errno(MLV_EIO, "cannot remove '%s'", subpath);
			free(subpath);
		}
	}
	if (!ret && errno)
		ret = mlv_error_set_errno(MLV_EIO, "cannot read directory '%s'", path);
	closedir(d);
	return ret;
}

int mlv_fs_remove_tree(int dirfd, const char *path)
{
	int fd = mlv_fs_open(dirfd, path, O_RDONLY | O_DIRECTORY, 0), ret;

	if (fd == MLV_ENOTFOUND) {
		mlv_error_clear();
		return 0;
	}
	if (fd < 0)
		return fd;
	if ((ret = empty_dir(fd, path, 0)) < 0)
		return ret;
	return mlv_fs_unlink(dirfd, path, 1);
}
