/*
 * Moving the store out of the work tree (mlv-formats(5), MIGRATION).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/fs.h"
#include "mlv/lock.h"
#include "mlv/store.h"
#include "repo/migrate.h"
#include "store/pack.h"

#define COPY_BUF (1u << 20)
#define COPY_TMP "tmp-pack-migrate"

struct migration {
	struct mlv_repo *r;
	int commonfd;   /* $GIT_COMMON_DIR */
	int storefd;    /* $GIT_COMMON_DIR/mlv */
	int newpacks;   /* $GIT_COMMON_DIR/mlv/packs */
	int oldpacks;   /* <top>/.mlv/store/packs, or -1 */
};

/* 1 when the old `path` exists, 0 when not; a symlink or odd type is an error. */
static int old_entry(struct mlv_repo *r, const char *path, int want_dir)
{
	int ret = mlv_repo_check_own(r, path, want_dir);

	if (ret == MLV_EINVALID)
		mlv_error_set_hint("remove '%s' (it is not mlv's): mlv keeps its store in '%s'",
				   path, r->storedir);
	return ret;
}

static int copy_fd(int from, int to, const char *what)
{
	char *buf = mlv_malloc(COPY_BUF);
	int ret = 0;

	for (;;) {
		ssize_t n = read(from, buf, COPY_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot read '%s'", what);
			break;
		}
		if (!n)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(to, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				ret = mlv_error_set_errno(MLV_EIO, "cannot write a copy of '%s'", what);
				goto done;
			}
			off += w;
		}
	}
done:
	free(buf);
	return ret;
}

/*
 * Across file systems: copy to a temporary name beside the target,
 * keeping the mtime (the pack's signature), fsync, rename, fsync the
 * directory; only then remove the original.
 */
static int copy_pack(struct migration *m, const char *name)
{
	char what[PATH_MAX];
	struct stat st;
	struct timespec times[2];
	int from = -1, to = -1, ret = 0;

	snprintf(what, sizeof(what), "%s/.mlv/store/packs/%s", m->r->top, name);
	from = openat(m->oldpacks, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (from < 0 || fstat(from, &st) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot open '%s'", what);
		goto done;
	}
	unlinkat(m->newpacks, COPY_TMP, 0);
	to = openat(m->newpacks, COPY_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0444);
	if (to < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot create '%s/packs/%s'", m->r->storedir,
					  COPY_TMP);
		goto done;
	}
	/* fsck leaves a locked temporary pack alone. */
	flock(to, LOCK_EX | LOCK_NB);
	if ((ret = copy_fd(from, to, what)))
		goto done;
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	if (futimens(to, times) < 0 || fsync(to) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot finish the copy of '%s'", what);
		goto done;
	}
	if (renameat(m->newpacks, COPY_TMP, m->newpacks, name) < 0 || fsync(m->newpacks) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot move the copy of '%s' into place", what);
		goto done;
	}
	if (unlinkat(m->oldpacks, name, 0) < 0 && errno != ENOENT)
		ret = mlv_error_set_errno(MLV_EIO, "cannot remove '%s'", what);
done:
	if (from >= 0)
		close(from);
	if (to >= 0)
		close(to);
	if (ret)
		unlinkat(m->newpacks, COPY_TMP, 0);
	return ret;
}

static int move_pack(struct migration *m, const char *name)
{
	struct stat st;

	/* Pack names are their checksums: one already there is the same pack. */
	if (!fstatat(m->newpacks, name, &st, AT_SYMLINK_NOFOLLOW)) {
		if (unlinkat(m->oldpacks, name, 0) < 0 && errno != ENOENT)
			return mlv_error_set_errno(MLV_EIO, "cannot remove '%s/.mlv/store/packs/%s'",
						   m->r->top, name);
		return 0;
	}
	if (!renameat(m->oldpacks, name, m->newpacks, name) || errno == ENOENT)
		return 0;
	if (errno == EXDEV)
		return copy_pack(m, name);
	return mlv_error_set_errno(MLV_EIO, "cannot move '%s/.mlv/store/packs/%s' to '%s/packs'",
				   m->r->top, name, m->r->storedir);
}

static int move_packs(struct migration *m)
{
	int fd, ret = 0;
	DIR *d;
	struct dirent *de;

	fd = dup(m->oldpacks);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return mlv_error_set_errno(MLV_EIO, "cannot read '%s/.mlv/store/packs'", m->r->top);
	}
	rewinddir(d);
	while (!ret && (de = readdir(d))) {
		if (mlv_pack_name_valid(de->d_name))
			ret = move_pack(m, de->d_name);
		else if (!strncmp(de->d_name, "tmp-pack-", 9)) {
			/* Left by a writer that died (a live one holds it locked). */
			int t = openat(m->oldpacks, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

			if (t >= 0 && !flock(t, LOCK_EX | LOCK_NB))
				unlinkat(m->oldpacks, de->d_name, 0);
			if (t >= 0)
				close(t);
		}
	}
	closedir(d);
	if (!ret && fsync(m->newpacks) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot fsync '%s/packs'", m->r->storedir);
	return ret;
}

static void unlink_index(int dirfd, const char *base)
{
	static const char *const suffixes[] = { "-shm", "-wal", "" };

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s%s", base, suffixes[i]);
		unlinkat(dirfd, name, 0);
	}
}

/* A rebuild from the packs, under the migration lock; then the old index goes. */
static int rebuild_index(struct migration *m, int olddirfd)
{
	struct mlv_store *s = NULL;
	int ret;

	/* What is there now goes, but only while no other process has it open. */
	if ((ret = mlv_fs_mkdirs(m->r->gitdirfd, "mlv")) < 0 ||
	    (ret = mlv_store_open_ext(&s, m->r->storedir, m->r->wtdir,
				      MLV_STORE_REBUILD | MLV_STORE_FRESH)) < 0)
		return ret;
	ret = mlv_store_fsck(s, 1, NULL, NULL, NULL);
	mlv_store_free(s);
	if (ret < 0)
		return ret;
	unlink_index(olddirfd, "index.db");
	return 0;
}

static int move_index(struct migration *m)
{
	struct stat st;
	int olddir, ret = 0, wal;

	if ((olddir = mlv_fs_open(m->r->topfd, ".mlv", O_RDONLY | O_DIRECTORY, 0)) < 0)
		return olddir;
	if ((wal = old_entry(m->r, ".mlv/index.db-wal", 0)) < 0 ||
	    (ret = old_entry(m->r, ".mlv/index.db-shm", 0)) < 0) {
		ret = wal < 0 ? wal : ret;
		goto done;
	}
	/*
	 * A new index next to an old one was made by an interrupted rebuild:
	 * never trusted, made again.
	 */
	if (!fstatat(m->storefd, "index.db", &st, AT_SYMLINK_NOFOLLOW)) {
		ret = rebuild_index(m, olddir);
		goto done;
	}
	unlinkat(olddir, "index.db-shm", 0);
	if (wal && renameat(olddir, "index.db-wal", m->storefd, "index.db-wal") < 0 &&
	    errno != ENOENT) {
		if (errno == EXDEV)
			ret = rebuild_index(m, olddir);
		else
			ret = mlv_error_set_errno(MLV_EIO, "cannot move '%s/.mlv/index.db-wal'",
						  m->r->top);
		goto done;
	}
	if (renameat(olddir, "index.db", m->storefd, "index.db") < 0 && errno != ENOENT) {
		if (errno == EXDEV)
			ret = rebuild_index(m, olddir);
		else
			ret = mlv_error_set_errno(MLV_EIO, "cannot move '%s/.mlv/index.db'", m->r->top);
		goto done;
	}
	if (fsync(m->storefd) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot fsync '%s'", m->r->storedir);
done:
	close(olddir);
	return ret;
}

static int run(struct migration *m)
{
	int ret;

	if ((ret = old_entry(m->r, ".mlv/store", 1)) < 0)
		return ret;
	if (ret && (ret = old_entry(m->r, ".mlv/store/packs", 1)) < 0)
		return ret;
	if (ret) {
		if ((m->oldpacks = mlv_fs_open(m->r->topfd, ".mlv/store/packs", O_RDONLY | O_DIRECTORY,
					       0)) < 0)
			return m->oldpacks;
		if ((ret = move_packs(m)))
			return ret;
	}
	if ((ret = old_entry(m->r, ".mlv/index.db", 0)) < 0 || (ret && (ret = move_index(m))))
		return ret;
	/* What is left of the old layout: empty directories and temporary files. */
	mlv_fs_unlink(m->r->topfd, ".mlv/store/packs", 1);
	mlv_fs_unlink(m->r->topfd, ".mlv/store", 1);
	if (mlv_fs_exists(m->r->topfd, ".mlv/tmp") > 0)
		mlv_fs_remove_tree(m->r->topfd, ".mlv/tmp");
	mlv_error_clear();
	return 0;
}

int mlv_repo_migrate(struct mlv_repo *r)
{
	struct migration m = { r, -1, -1, -1, -1 };
	struct mlv_lock lk = MLV_LOCK_INIT;
	int ret;

	if ((ret = old_entry(r, ".mlv/store", 1)) < 0)
		return ret;
	if (!ret && (ret = old_entry(r, ".mlv/index.db", 0)) <= 0)
		return ret;
	m.commonfd = open(r->commondir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m.commonfd < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot open '%s'", r->commondir);
	if ((ret = mlv_fs_mkdirs(m.commonfd, "mlv/packs")) < 0 ||
	    (ret = m.storefd = mlv_fs_open(m.commonfd, "mlv", O_RDONLY | O_DIRECTORY, 0)) < 0 ||
	    (ret = m.newpacks = mlv_fs_open(m.commonfd, "mlv/packs", O_RDONLY | O_DIRECTORY, 0)) < 0) {
		mlv_error_wrap(ret, "cannot create '%s'", r->storedir);
		goto done;
	}
	if ((ret = mlv_lock_acquire(&lk, m.storefd, "migrate", 60 * 1000)) < 0)
		goto done;
	/* Whoever held the lock may have finished the work. */
	ret = run(&m);
	{
		struct mlv_error_state es;

		mlv_error_state_capture(&es, ret);
		mlv_lock_release(&lk);
		mlv_error_state_restore(&es);
	}
done:
	if (m.oldpacks >= 0)
		close(m.oldpacks);
	if (m.newpacks >= 0)
		close(m.newpacks);
	if (m.storefd >= 0)
		close(m.storefd);
	close(m.commonfd);
	return ret < 0 ? ret : 0;
}
