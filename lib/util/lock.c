/*
 * git-style lock files with a record lock that names the holder
 * (mlv/lock.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/fs.h"
#include "mlv/lock.h"
#include "mlv/tempfile.h"

/* A lock file this young without a record lock may be in its first microseconds. */
#define FRESH_NS 2000000000LL

/*
 * Two record locks: a POSIX lock on byte 0 names the holding process to
 * others (F_GETLK reports its pid), and an open-file-description lock on
 * byte 1 also excludes other threads and lock attempts of this process.
 * Both vanish when the holder dies.
 */
static void lock_range(struct flock *fl, off_t byte)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = F_WRLCK;
	fl->l_whence = SEEK_SET;
	fl->l_start = byte;
	fl->l_len = 1;
}

static int record_lock(int fd)
{
	struct flock fl;

	lock_range(&fl, 1);
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return -1;
	lock_range(&fl, 0);
	return fcntl(fd, F_SETLK, &fl);
}

/*
 * Who holds the existing lock file `name`: its pid (>0), 0 when nobody
 * does and it is old enough to be a dead process's, -1 when it vanished
 * or is too young to judge.
 */
static long holder(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	struct flock fl;
	struct stat st;
	long pid = -1;

	if (fd < 0)
		return -1;
	lock_range(&fl, 1);
	if (fcntl(fd, F_OFD_GETLK, &fl) == 0) {
		if (fl.l_type != F_UNLCK) {
			lock_range(&fl, 0);
			if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0)
				pid = (long)fl.l_pid;
			else
				pid = (long)getpid(); /* another thread or lock of ours */
		} else if (fstat(fd, &st) == 0) {
			struct timespec now;
			long long age;

			clock_gettime(CLOCK_REALTIME, &now);
			age = (now.tv_sec - st.st_mtim.tv_sec) * 1000000000LL +
			      (now.tv_nsec - st.st_mtim.tv_nsec);
			pid = age > FRESH_NS ? 0 : -1;
		}
	}
	close(fd);
	return pid;
}

int mlv_lock_acquire(struct mlv_lock *l, int dirfd, const char *path, int timeout_ms)
{
	const char *base;
	char *name = NULL;
	long waited_ms = 0, pid = -1;
	int ret = 0;

	l->fd = -1;
	l->tmp = NULL;
	l->path = mlv_strdup(path);
	l->base = NULL;
	if ((l->dirfd = mlv_fs_open_parent(dirfd, path, 0, &base)) < 0) {
		ret = l->dirfd;
		l->dirfd = -1;
		goto fail;
	}
	l->base = mlv_strdup(base);
	name = mlv_xstrfmt("%s%s", base, MLV_LOCK_SUFFIX);
	for (;;) {
		struct timespec ts = { 0, 20 * 1000000L };

		l->tmp = mlv_tempfile_register(l->dirfd, name);
		l->fd = openat(l->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			       0666);
		if (l->fd >= 0) {
			if (record_lock(l->fd) < 0 && errno != ENOLCK && errno != EINVAL) {
				ret = mlv_error_set_errno(MLV_EIO, "cannot lock '%s%s'", path,
							  MLV_LOCK_SUFFIX);
				goto fail;
			}
			free(name);
			return 0;
		}
		mlv_tempfile_forget(l->tmp);
		l->tmp = NULL;
		if (errno != EEXIST) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot create '%s%s'", path,
						  MLV_LOCK_SUFFIX);
			goto fail;
		}
		pid = holder(l->dirfd, name);
		if (pid == 0) {
			/* Left by a process that died: take it over. */
			unlinkat(l->dirfd, name, 0);
			continue;
		}
		if (waited_ms >= timeout_ms)
			break;
		nanosleep(&ts, NULL);
		waited_ms += 20;
	}
	if (pid > 0)
		ret = mlv_error_set(MLV_ECONFLICT, "'%s%s' is held by process %ld; another mlv "
				    "command is changing '%s'", path, MLV_LOCK_SUFFIX, pid, path);
	else
		ret = mlv_error_set(MLV_ECONFLICT, "'%s%s' exists; another mlv command is changing "
				    "'%s'", path, MLV_LOCK_SUFFIX, path);
fail:
	free(name);
	mlv_lock_release(l);
	return ret;
}

int mlv_lock_write(struct mlv_lock *l, const void *data, size_t len)
{
	return mlv_write_all(l->fd, data, len, l->path);
}

int mlv_lock_commit(struct mlv_lock *l, mode_t mode, int durable)
{
	int ret = 0;

	if (fchmod(l->fd, mode) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot chmod '%s%s'", l->path, MLV_LOCK_SUFFIX);
	if (!ret && durable && fsync(l->fd) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot fsync '%s%s'", l->path, MLV_LOCK_SUFFIX);
	if (!ret)
		ret = mlv_tempfile_rename(l->tmp, l->dirfd, l->base, l->path);
	if (!ret) {
		l->tmp = NULL;
		if (durable && fsync(l->dirfd) < 0 && errno != EINVAL)
			ret = mlv_error_set_errno(MLV_EIO, "cannot fsync the directory of '%s'",
						  l->path);
	}
	mlv_lock_release(l);
	return ret;
}

void mlv_lock_release(struct mlv_lock *l)
{
	/* Remove the lock file while we still hold the record lock. */
	mlv_tempfile_remove(l->tmp);
	l->tmp = NULL;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	if (l->dirfd >= 0)
		close(l->dirfd);
	l->dirfd = -1;
	free(l->path);
	free(l->base);
	l->path = l->base = NULL;
}

int mlv_lock_clean_stale(int dirfd, const char *path)
{
	const char *base;
	char *name;
	int fd, ret = 0;

	if ((fd = mlv_fs_open_parent(dirfd, path, 0, &base)) < 0)
		return fd;
	name = mlv_xstrfmt("%s%s", base, MLV_LOCK_SUFFIX);
	if (holder(fd, name) == 0 && unlinkat(fd, name, 0) == 0)
		ret = 1;
	free(name);
	close(fd);
	return ret;
}
