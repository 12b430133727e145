/*
 * The no-follow walker, lock files and temporary files (lib/util).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/fs.h"
#include "mlv/lock.h"
#include "mlv/tempfile.h"
#include "tap.h"

static int top, outside;

static void put(int dirfd, const char *path, const char *content)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, content, strlen(content)) < 0)
		abort();
	close(fd);
}

static int exists_at(int dirfd, const char *path)
{
	struct stat st;

	return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void setup(void)
{
	const char *tmp = tap_tmpdir();
	int base = open(tmp, O_RDONLY | O_DIRECTORY);

	if (base < 0 || mkdirat(base, "top", 0777) < 0 || mkdirat(base, "outside", 0777) < 0)
		abort();
	top = openat(base, "top", O_RDONLY | O_DIRECTORY);
	outside = openat(base, "outside", O_RDONLY | O_DIRECTORY);
	put(outside, "secret", "outside\n");
	if (mkdirat(top, "d", 0777) < 0 || symlinkat("../outside", top, "link") < 0 ||
	    symlinkat("../outside/secret", top, "d/file-link") < 0)
		abort();
	put(top, "d/f", "inside\n");
	close(base);
}

static void test_no_follow(void)
{
	struct mlv_buf b = MLV_BUF_INIT;
	struct stat st;
	const char *base;
	int fd;

	is_int(mlv_fs_read_file(&b, top, "d/f", 100), 0, "read a file below top");
	is_str(b.ptr, "inside\n", "its content");

	mlv_buf_reset(&b);
	is_int(mlv_fs_read_file(&b, top, "link/secret", 100), MLV_EINVALID,
	       "reading through a symlinked directory is refused");
	ok(strstr(mlv_error_last(), "beyond a symbolic link ('link')") != NULL,
	   "the message names the link: %s", mlv_error_last());
	is_int(mlv_fs_read_file(&b, top, "d/file-link", 100), MLV_EINVALID,
	       "a symlink as the last component is not followed");

	fd = mlv_fs_open(top, "link/new", O_WRONLY | O_CREAT, 0644);
	ok(fd < 0, "creating through a symlinked directory fails");
	ok(!exists_at(outside, "new"), "nothing was created outside");

	is_int(mlv_fs_unlink(top, "link/secret", 0), MLV_EINVALID, "unlink beyond a symlink refused");
	ok(exists_at(outside, "secret"), "the file outside is still there");
	is_int(mlv_fs_unlink(top, "d/file-link", 0), 0, "unlinking a symlink itself works");
	ok(exists_at(outside, "secret"), "...and leaves its target alone");

	is_int(mlv_fs_lstat(top, "link", &st), 0, "lstat of a symlink");
	ok(S_ISLNK(st.st_mode), "...says it is a symlink");
	is_int(mlv_fs_lstat(top, "link/secret", &st), MLV_EINVALID, "lstat beyond a symlink refused");
	is_int(mlv_fs_lstat(top, "d/missing", &st), MLV_ENOTFOUND, "lstat of a missing file");
	is_int(mlv_fs_lstat(top, "missing/x", &st), MLV_ENOTFOUND, "lstat below a missing dir");
	is_int(mlv_fs_exists(top, "link"), 1, "a symlink exists");
	is_int(mlv_fs_exists(top, "nope"), 0, "a missing name does not");

	is_int(mlv_fs_mkdirs(top, "link/deep/er"), MLV_EINVALID, "mkdirs through a symlink refused");
	ok(!exists_at(outside, "deep"), "nothing made outside");
	is_int(mlv_fs_mkdirs(top, "a/b/c"), 0, "mkdirs of a new path");
	is_int(mlv_fs_mkdirs(top, "a/b/c"), 0, "mkdirs again is fine");
	is_int(mlv_fs_mkdirs(top, "d/f/x"), MLV_EINVALID, "mkdirs through a file refused");

	fd = mlv_fs_open_parent(top, "a/b/c/name", 0, &base);
	ok(fd >= 0, "open_parent of an existing directory");
	is_str(base, "name", "base is the last component");
	if (fd >= 0)
		close(fd);
	fd = mlv_fs_open_parent(top, "n1/n2/name", 1, &base);
	ok(fd >= 0 && exists_at(top, "n1/n2"), "open_parent creates the leading directories");
	if (fd >= 0)
		close(fd);

	is_int(mlv_fs_rename(top, "d/f", "link/f", 0), MLV_EINVALID, "rename into a symlinked dir refused");
	ok(exists_at(top, "d/f"), "the source is still there");
	put(top, "a/g", "g\n");
	is_int(mlv_fs_rename(top, "a/g", "d/f", 1), MLV_EEXISTS, "rename without replacing refused");
	is_int(mlv_fs_rename(top, "a/g", "a/b/g", 1), 0, "rename to a new name");

	mlv_buf_reset(&b);
	is_int(mlv_fs_readlink(&b, top, "link", 100), 0, "readlink");
	is_str(b.ptr, "../outside", "its target");
	is_int(mlv_fs_readlink(&b, top, "link", 3), MLV_EINVALID, "a target longer than allowed");

	if (symlinkat("../../outside", top, "a/b/out") < 0)
		abort();
	is_int(mlv_fs_remove_tree(top, "a"), 0, "remove a tree holding a symlink");
	ok(!exists_at(top, "a"), "the tree is gone");
	ok(exists_at(outside, "secret"), "what the symlink pointed to is not");
	mlv_buf_release(&b);
}

static void test_lock(void)
{
	struct mlv_lock l = MLV_LOCK_INIT, l2 = MLV_LOCK_INIT;
	struct mlv_buf b = MLV_BUF_INIT;
	pid_t pid;
	int st;

	is_int(mlv_lock_acquire(&l, top, "d/f", 0), 0, "lock a file");
	ok(exists_at(top, "d/f.lock"), "the lock file exists");
	is_int(mlv_lock_acquire(&l2, top, "d/f", 100), MLV_ECONFLICT, "a second lock waits, then fails");
	ok(strstr(mlv_error_last(), "held by process") != NULL, "...naming the holder: %s",
	   mlv_error_last());
	is_int(mlv_lock_write(&l, "new\n", 4), 0, "write the new content");
	is_int(mlv_lock_commit(&l, 0644, 1), 0, "commit");
	ok(!exists_at(top, "d/f.lock"), "the lock file is gone");
	is_int(mlv_fs_read_file(&b, top, "d/f", 100), 0, "read the result");
	is_str(b.ptr, "new\n", "the file has the new content");

	is_int(mlv_lock_acquire(&l, top, "d/f", 0), 0, "lock again");
	mlv_lock_release(&l);
	ok(!exists_at(top, "d/f.lock"), "release removes the lock file");
	mlv_buf_reset(&b);
	mlv_fs_read_file(&b, top, "d/f", 100);
	is_str(b.ptr, "new\n", "release leaves the file alone");

	/* A lock left by a process that died is taken over. */
	pid = fork();
	if (pid == 0) {
		struct mlv_lock c = MLV_LOCK_INIT;

		if (mlv_lock_acquire(&c, top, "d/f", 0) < 0)
			_exit(1);
		kill(getpid(), SIGKILL);
		_exit(2);
	}
	waitpid(pid, &st, 0);
	ok(WIFSIGNALED(st) && exists_at(top, "d/f.lock"), "a killed holder leaves its lock file");
	{
		struct timespec old[2] = { { 1, 0 }, { 1, 0 } };

		/* Old enough not to be a lock in its first instants. */
		utimensat(top, "d/f.lock", old, AT_SYMLINK_NOFOLLOW);
	}
	is_int(mlv_lock_acquire(&l, top, "d/f", 0), 0, "a dead holder's lock is taken over");
	mlv_lock_release(&l);

	is_int(mlv_lock_acquire(&l, top, "link/secret", 0), MLV_EINVALID,
	       "no lock through a symlinked directory");
	ok(!exists_at(outside, "secret.lock"), "no lock file outside");
	mlv_buf_release(&b);
}

static void test_tempfile(void)
{
	struct mlv_tempfile *t;
	pid_t pid;
	int fd, st, p[2];
	char name[256] = "";

	is_int(mlv_tempfile_create(&t, &fd, top, "tmp-", 0600), 0, "create a temporary file");
	ok(exists_at(top, mlv_tempfile_name(t)), "it exists");
	close(fd);
	is_int(mlv_tempfile_rename(t, top, "renamed", "renamed"), 0, "rename it into place");
	ok(exists_at(top, "renamed"), "it is there");

	/* A signal removes the temporary files of the process it kills. */
	if (pipe(p) < 0)
		abort();
	pid = fork();
	if (pid == 0) {
		struct mlv_tempfile *c;
		int cfd;

		mlv_sigchain_install();
		if (mlv_tempfile_create(&c, &cfd, top, "tmp-", 0600) < 0)
			_exit(1);
		if (write(p[1], mlv_tempfile_name(c), strlen(mlv_tempfile_name(c)) + 1) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], name, sizeof(name) - 1) <= 0)
		abort();
	close(p[0]);
	ok(exists_at(top, name), "the child's temporary file exists");
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "the child died of SIGTERM");
	ok(!exists_at(top, name), "its temporary file went with it");

	/* SIGKILL cannot be caught: the next process cleans up. */
	pid = fork();
	if (pid == 0) {
		struct mlv_tempfile *c;
		int cfd;

		if (mlv_tempfile_create(&c, &cfd, top, "tmp-", 0600) < 0)
			_exit(1);
		kill(getpid(), SIGKILL);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	is_int(mlv_tempfile_clean_stale(top, "tmp-"), 1, "a dead process's temporary file is removed");
	is_int(mlv_tempfile_create(&t, &fd, top, "tmp-", 0600), 0, "create one of our own");
	is_int(mlv_tempfile_clean_stale(top, "tmp-"), 0, "our own is not stale");
	close(fd);
	mlv_tempfile_remove(t);
	ok(mlv_tempfile_is_temp_name(MLV_TEMP_PREFIX "123-1-0badcafe"), "temporary names are recognised");
	ok(mlv_tempfile_is_temp_name(MLV_TEMP_PREFIX "123-l7-0badcafe"), "...link ones too");
	ok(!mlv_tempfile_is_temp_name("data.bin"), "other names are not");
	ok(!mlv_tempfile_is_temp_name(MLV_TEMP_PREFIX "99999-1-abc"), "nor a user's file of another shape");
	ok(!mlv_tempfile_is_temp_name(MLV_TEMP_PREFIX "123-1-0badcafe.txt"), "nor one with more after it");
	{
		int fd2 = openat(top, MLV_TEMP_PREFIX "99999999-1-abc", O_WRONLY | O_CREAT, 0600);

		close(fd2);
		is_int(mlv_tempfile_clean_stale(top, MLV_TEMP_PREFIX), 0,
		       "a user's file that only starts like a temporary name is left");
		ok(exists_at(top, MLV_TEMP_PREFIX "99999999-1-abc"), "...and is still there");
	}
}

int main(void)
{
	setup();
	test_no_follow();
	test_lock();
	test_tempfile();
	return tap_done();
}
