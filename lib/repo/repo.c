/*
 * The repository handle: a git work tree, its git directories, and where
 * mlv keeps its files (mlv-formats(5), LAYOUT):
 *
 *	<top>/.mlv/config              committed configuration
 *	$GIT_COMMON_DIR/mlv/packs/     the store, shared by every worktree
 *	$GIT_COMMON_DIR/mlv/index.db
 *	$GIT_DIR/mlv/statcache.db      this worktree's stat cache
 *	$GIT_DIR/mlv/tmp/              this worktree's temporary files
 *
 * Nothing here changes the process's working directory or depends on it
 * after discovery: every path is opened from a directory fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/fileio.h"
#include "mlv/fs.h"
#include "mlv/lock.h"
#include "mlv/tempfile.h"
#include "mlv/repo.h"
#include "repo/migrate.h"

int mlv_git_error(int code, const char *what)
{
	const git_error *e = git_error_last();

	return mlv_error_set(code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/* `path` without its trailing slashes, resolved; NULL with the error set. */
static char *resolve(const char *path, const char *what)
{
	char *r = realpath(path, NULL);

	if (!r)
		mlv_error_set_errno(MLV_EIO, "cannot resolve %s '%s'", what, path);
	return r;
}

/* 1 when directories `a` (may be NULL) and `b` are the same directory. */
static int same_dir(const char *a, const char *b)
{
	struct stat sa, sb;

	return a && !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * Open the git repository: like git, from the environment (GIT_DIR,
 * GIT_WORK_TREE, GIT_CEILING_DIRECTORIES, GIT_COMMON_DIR...) when
 * `start` is NULL, else by discovery from `start`.  libgit2 leaves
 * GIT_WORK_TREE to its caller.
 */
static int open_git(git_repository **out, const char *start)
{
	const char *wt = getenv("GIT_WORK_TREE"), *gd = getenv("GIT_DIR");
	int rc;

	if (start)
		return git_repository_open_ext(out, start, 0, NULL);
	if (!wt || !*wt)
		return git_repository_open_ext(out, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	if (gd && *gd)
		rc = git_repository_open_ext(out, gd, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	else
		rc = git_repository_open_ext(out, ".", 0, getenv("GIT_CEILING_DIRECTORIES"));
	/* libgit2 1.5 leaks its buffer when asked to set the work tree it has: ask only for a new one. */
	if (!rc && !same_dir(git_repository_workdir(*out), wt) &&
	    (rc = git_repository_set_workdir(*out, wt, 0)) < 0) {
		git_repository_free(*out);
		*out = NULL;
	}
	return rc;
}

int mlv_repo_check_own(struct mlv_repo *r, const char *path, int want_dir)
{
	struct stat st;
	int ret = mlv_fs_lstat(r->topfd, path, &st);

	if (ret == MLV_ENOTFOUND) {
		mlv_error_clear();
		return 0;
	}
	if (ret < 0)
		return ret;
	if (S_ISLNK(st.st_mode))
		return mlv_error_set(MLV_EINVALID,
				     "'%s/%s' is a symbolic link: mlv never follows one where it keeps its own files",
				     r->top, path);
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return mlv_error_set(MLV_EINVALID, "'%s/%s' is not a %s", r->top, path,
				     want_dir ? "directory" : "regular file");
	return 1;
}

static int is_dir(const char *path)
{
	struct stat st;

	return !lstat(path, &st) && S_ISDIR(st.st_mode);
}

static int open_repo(struct mlv_repo **out, const char *start, int bare_ok)
{
	struct mlv_repo *r = mlv_calloc(1, sizeof(*r));
	char cwd[PATH_MAX], *here = NULL;
	const char *wd;
	size_t toplen;
	int ret;

	*out = NULL;
	r->topfd = -1;
	r->tmpfd = -1;
	r->gitdirfd = -1;
	git_libgit2_init();
	if (start) {
		if (!(here = resolve(start, "directory"))) {
			ret = mlv_error_last_code();
			goto fail;
		}
	} else if (!getcwd(cwd, sizeof(cwd))) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot get the current directory");
		goto fail;
	} else {
		here = mlv_strdup(cwd);
	}
	if (open_git(&r->git, start ? here : NULL) < 0) {
		const git_error *e = git_error_last();

		if (getenv("GIT_DIR") && *getenv("GIT_DIR") && !start)
			ret = mlv_error_set(MLV_ENOTFOUND, "not a git repository: GIT_DIR='%s': %s",
					    getenv("GIT_DIR"), e && e->message ? e->message : "");
		else
			ret = mlv_error_set(MLV_ENOTFOUND,
					    "not a git repository (or any of the parent directories)");
		goto fail;
	}
	wd = git_repository_workdir(r->git);
	if (!wd && !bare_ok) {
		ret = mlv_error_set(MLV_ENOTFOUND, "this operation must be run in a work tree");
		goto fail;
	}
	if (!wd) {
		/* Bare: history and the store only; no work tree, no .mlv. */
		if (!(r->gitdir = resolve(git_repository_path(r->git), "git directory")) ||
		    !(r->commondir = resolve(git_repository_commondir(r->git),
					     "git common directory"))) {
			ret = mlv_error_last_code();
			goto fail;
		}
		r->gitdirfd = open(r->gitdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r->gitdirfd < 0) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot open '%s'", r->gitdir);
			goto fail;
		}
		r->prefix = mlv_strdup("");
		r->storedir = mlv_xstrfmt("%s/mlv", r->commondir);
		r->wtdir = mlv_xstrfmt("%s/mlv", r->gitdir);
		r->initialized = is_dir(r->storedir);
		free(here);
		*out = r;
		return 0;
	}
	if (!(r->top = resolve(wd, "work tree")) ||
	    !(r->gitdir = resolve(git_repository_path(r->git), "git directory")) ||
	    !(r->commondir = resolve(git_repository_commondir(r->git), "git common directory"))) {
		ret = mlv_error_last_code();
		goto fail;
	}
	r->topfd = open(r->top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->topfd < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot open '%s'", r->top);
		goto fail;
	}
	r->gitdirfd = open(r->gitdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->gitdirfd < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot open '%s'", r->gitdir);
		goto fail;
	}
	toplen = strlen(r->top);
	if (!strcmp(r->top, "/"))
		toplen = 0;
	if (!strncmp(here, r->top, toplen) && (here[toplen] == '/' || !here[toplen]))
		r->prefix = mlv_strdup(here[toplen] ? here + toplen + 1 : "");
	else
		r->prefix = mlv_strdup("");
	r->mlvdir = mlv_xstrfmt("%s/.mlv", toplen ? r->top : "");
	r->storedir = mlv_xstrfmt("%s/mlv", r->commondir);
	r->wtdir = mlv_xstrfmt("%s/mlv", r->gitdir);
	if ((ret = mlv_repo_check_own(r, ".mlv", 1)) < 0 || (ret > 0 && (ret = mlv_repo_check_own(r, ".mlv/config", 0)) < 0))
		goto fail;
	r->initialized = (mlv_fs_exists(r->topfd, ".mlv") > 0) || is_dir(r->storedir);
	mlv_error_clear();
	free(here);
	*out = r;
	return 0;
fail:
	free(here);
	{
		struct mlv_error_state es;

		mlv_error_state_capture(&es, ret);
		mlv_repo_free(r);
		return mlv_error_state_restore(&es);
	}
}

int mlv_repo_discover(struct mlv_repo **out)
{
	return open_repo(out, NULL, 0);
}

int mlv_repo_discover_bare(struct mlv_repo **out)
{
	return open_repo(out, NULL, 1);
}

int mlv_repo_open(struct mlv_repo **out, const char *path)
{
	return open_repo(out, path, 0);
}

void mlv_repo_free(struct mlv_repo *r)
{
	if (!r)
		return;
	mlv_store_free(r->store);
	git_repository_free(r->git);
	if (r->topfd >= 0)
		close(r->topfd);
	if (r->tmpfd >= 0)
		close(r->tmpfd);
	if (r->gitdirfd >= 0)
		close(r->gitdirfd);
	free(r->top);
	free(r->prefix);
	free(r->mlvdir);
	free(r->gitdir);
	free(r->commondir);
	free(r->storedir);
	free(r->wtdir);
	free(r);
}

static const char default_config[] =
	"# mlv configuration (git-config syntax); committed with the project.\n"
	"[core]\n"
	"\tformatVersion = 1\n";

static const char default_gitignore[] =
	"# The store and other local state live in git's own directory ($GIT_DIR/mlv).\n"
	"/config.local\n";

static int write_if_missing(struct mlv_repo *r, const char *path, const char *content,
			    int *created)
{
	struct mlv_lock lk = MLV_LOCK_INIT;
	int ret = mlv_fs_exists(r->topfd, path);

	if (ret != 0)
		return ret < 0 ? ret : 0;
	if ((ret = mlv_lock_acquire(&lk, r->topfd, path, MLV_LOCK_TIMEOUT_MS)) < 0)
		return ret;
	/* Someone may have written it while we waited. */
	if ((ret = mlv_fs_exists(r->topfd, path)) != 0) {
		mlv_lock_release(&lk);
		return ret < 0 ? ret : 0;
	}
	if ((ret = mlv_lock_write(&lk, content, strlen(content))) < 0) {
		mlv_lock_release(&lk);
		return ret;
	}
	*created = 1;
	return mlv_lock_commit(&lk, 0644, 1);
}

/* `name` in `dirfd` (shown as `display`) must not be a symlink. */
static int not_a_link(int dirfd, const char *name, const char *display)
{
	struct stat st;

	if (!fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode))
		return mlv_error_set(MLV_EINVALID,
				     "'%s' is a symbolic link: mlv never follows one where it keeps its own files",
				     display);
	return 0;
}

/* $GIT_DIR/mlv, made if needed, never through a symlink. */
static int make_wtdir(struct mlv_repo *r)
{
	int ret = not_a_link(r->gitdirfd, "mlv", r->wtdir);

	if (ret < 0)
		return ret;
	ret = mlv_fs_mkdirs(r->gitdirfd, "mlv");

	if (ret < 0)
		return mlv_error_wrap(ret, "cannot create '%s'", r->wtdir);
	return 0;
}

static int open_store(struct mlv_repo *r, unsigned flags)
{
	int ret, cfd = open(r->commondir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (cfd < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot open '%s'", r->commondir);
	ret = not_a_link(cfd, "mlv", r->storedir);
	close(cfd);
	/* A bare repository has no old layout to move. */
	if (ret < 0 || (r->topfd >= 0 && (ret = mlv_repo_migrate(r)) < 0) ||
	    (ret = make_wtdir(r)) < 0)
		return ret;
	return mlv_store_open_ext(&r->store, r->storedir, r->wtdir, flags);
}

int mlv_repo_init(struct mlv_repo *r, int *created)
{
	int made = 0, ret;

	if ((ret = mlv_repo_check_own(r, ".mlv", 1)) < 0)
		return ret;
	if (!ret) {
		if ((ret = mlv_fs_mkdirs(r->topfd, ".mlv")) < 0)
			return ret;
		made = 1;
	}
	if ((ret = write_if_missing(r, ".mlv/config", default_config, &made)) < 0 ||
	    (ret = write_if_missing(r, ".mlv/.gitignore", default_gitignore, &made)) < 0)
		return ret;
	/* A store of the old layout is not new: it moves. */
	if (!is_dir(r->storedir) && mlv_fs_exists(r->topfd, ".mlv/index.db") <= 0 &&
	    mlv_fs_exists(r->topfd, ".mlv/store") <= 0)
		made = 1;
	mlv_error_clear();
	if (!r->store && (ret = open_store(r, 0)) < 0)
		return ret;
	r->initialized = 1;
	if (created)
		*created = made;
	return 0;
}

int mlv_repo_store_ext(struct mlv_store **out, struct mlv_repo *r, unsigned flags)
{
	int ret;

	if (!r->store) {
		if (!r->initialized && !r->top)
			return mlv_error_set(MLV_ENOTFOUND, "not an mlv repository: '%s' is missing",
					     r->storedir);
		if (!r->initialized)
			return mlv_error_set(MLV_ENOTFOUND, "not an mlv repository: '%s/.mlv' is missing",
					     r->top);
		if ((ret = open_store(r, flags)) < 0)
			return ret;
	}
	*out = r->store;
	return 0;
}

int mlv_repo_store(struct mlv_store **out, struct mlv_repo *r)
{
	return mlv_repo_store_ext(out, r, 0);
}

int mlv_repo_git_tracks(struct mlv_repo *r, const char *path, int prefix_match)
{
	git_index *idx = NULL;
	int ret = 0;

	if (git_repository_index(&idx, r->git) < 0)
		return mlv_git_error(MLV_ERROR, "cannot read the git index");
	if (git_index_get_bypath(idx, path, 0)) {
		ret = 1;
	} else if (prefix_match) {
		struct mlv_buf dir = MLV_BUF_INIT;
		size_t pos;

		mlv_buf_addf(&dir, "%s/", path);
		if (!git_index_find_prefix(&pos, idx, dir.ptr)) {
			const git_index_entry *e = git_index_get_byindex(idx, pos);

			ret = e && !strncmp(e->path, dir.ptr, dir.len);
		}
		mlv_buf_release(&dir);
	}
	git_index_free(idx);
	return ret;
}

int mlv_repo_git_committed(struct mlv_repo *r, const char *path)
{
	unsigned int flags = 0;

	if (git_status_file(&flags, r->git, path) < 0) {
		git_error_clear();
		return 0;
	}
	return flags == GIT_STATUS_CURRENT;
}

int mlv_repo_tmpdir(struct mlv_repo *r, int *fd, dev_t *dev)
{
	struct stat st;
	int ret;

	if (r->tmpfd < 0) {
		int tfd;

		if ((ret = make_wtdir(r)) < 0 || (ret = mlv_fs_mkdirs(r->gitdirfd, "mlv/tmp")) < 0)
			return ret;
		if ((tfd = mlv_fs_open(r->gitdirfd, "mlv/tmp", O_RDONLY | O_DIRECTORY, 0)) < 0)
			return mlv_error_wrap(tfd, "cannot open '%s/tmp'", r->wtdir);
		if (fstat(tfd, &st) < 0) {
			close(tfd);
			return mlv_error_set_errno(MLV_EIO, "cannot stat mlv's temporary directory");
		}
		if (mlv_tempfile_clean_stale(tfd, "") < 0)
			mlv_error_clear();
		r->tmpfd = tfd;
		r->tmpdev = st.st_dev;
	}
	*fd = r->tmpfd;
	if (dev)
		*dev = r->tmpdev;
	return 0;
}
