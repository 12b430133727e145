#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/fileio.h"

int mlv_read_fd(struct mlv_buf *out, int fd, size_t max, const char *path)
{
	for (;;) {
		ssize_t n;

		mlv_buf_grow(out, 8192);
		n = read(fd, out->ptr + out->len, out->alloc - out->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mlv_error_set_errno(MLV_EIO, "cannot read '%s'", path);
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->ptr[out->len] = '\0';
		if (out->len > max)
			return mlv_error_set(MLV_EINVALID, "'%s' is larger than %zu bytes", path, max);
	}
	return 0;
}

int mlv_read_file(struct mlv_buf *out, const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return mlv_error_set_errno(errno == ENOENT ? MLV_ENOTFOUND : MLV_EIO,
					   "cannot open '%s'", path);
	ret = mlv_read_fd(out, fd, max, path);
	close(fd);
	return ret;
}

int mlv_write_all(int fd, const void *data, size_t len, const char *path)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mlv_error_set_errno(MLV_EIO, "cannot write '%s'", path);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int mlv_fsync_dir(const char *dir)
{
	int fd = open(*dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot open directory '%s'", dir);
	if (fsync(fd) < 0 && errno != EINVAL)
		ret = mlv_error_set_errno(MLV_EIO, "cannot fsync directory '%s'", dir);
	close(fd);
	return ret;
}

int mlv_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, int durable)
{
	struct mlv_buf tmp = MLV_BUF_INIT;
	const char *slash = strrchr(path, '/');
	int fd, ret;

	mlv_buf_addf(&tmp, "%s.tmp-XXXXXX", path);
	fd = mkostemp(tmp.ptr, O_CLOEXEC);
	if (fd < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot create temporary file for '%s'", path);
		goto done;
	}
	ret = mlv_write_all(fd, data, len, tmp.ptr);
	if (!ret && fchmod(fd, mode) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot chmod '%s'", tmp.ptr);
	if (!ret && durable && fsync(fd) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot fsync '%s'", tmp.ptr);
	if (close(fd) < 0 && !ret)
		ret = mlv_error_set_errno(MLV_EIO, "cannot close '%s'", tmp.ptr);
	if (!ret && rename(tmp.ptr, path) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot rename '%s' to '%s'", tmp.ptr, path);
	if (ret) {
		unlink(tmp.ptr);
		goto done;
	}
	if (durable) {
		struct mlv_buf dir = MLV_BUF_INIT;

		if (slash)
			mlv_buf_add(&dir, path, (size_t)(slash - path));
		else
			mlv_buf_adds(&dir, ".");
		ret = mlv_fsync_dir(dir.ptr);
		mlv_buf_release(&dir);
	}
done:
	mlv_buf_release(&tmp);
	return ret;
}
