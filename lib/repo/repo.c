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
#include "mlv/tempfile.h"
#include "mlv/repo.h"

static int git_err(int code, const char *what)
{
	const git_error *e = git_error_last();

	return mlv_error_set(code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

int mlv_repo_discover(struct mlv_repo **out)
{
	struct mlv_repo *r = mlv_calloc(1, sizeof(*r));
	char cwd[PATH_MAX], *top = NULL;
	const char *wd;
	size_t toplen;
	struct stat st;
	int ret;

	*out = NULL;
	r->topfd = -1;
	r->tmpfd = -1;
	git_libgit2_init();
	if (!getcwd(cwd, sizeof(cwd))) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot get the current directory");
		goto fail;
	}
	/* Like git, discovery does not climb into GIT_CEILING_DIRECTORIES. */
	if (git_repository_open_ext(&r->git, cwd, 0, getenv("GIT_CEILING_DIRECTORIES")) < 0) {
		ret = mlv_error_set(MLV_ENOTFOUND, "not a git repository (or any of the parent directories)");
		goto fail;
	}
	wd = git_repository_workdir(r->git);
	if (!wd) {
		ret = mlv_error_set(MLV_ENOTFOUND, "this operation must be run in a work tree");
		goto fail;
	}
	top = realpath(wd, NULL);
	if (!top) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot resolve '%s'", wd);
		goto fail;
	}
	r->top = top;
	r->topfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->topfd < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot open '%s'", top);
		goto fail;
	}
	toplen = strlen(top);
	if (!strcmp(top, "/"))
		toplen = 0;
	if (!strncmp(cwd, top, toplen) && (cwd[toplen] == '/' || !cwd[toplen]))
		r->prefix = mlv_strdup(cwd[toplen] ? cwd + toplen + 1 : "");
	else
		r->prefix = mlv_strdup("");
	if (chdir(top) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot change to '%s'", top);
		goto fail;
	}
	r->mlvdir = mlv_xstrfmt("%s/.mlv", toplen ? top : "");
	r->initialized = !lstat(".mlv", &st) && S_ISDIR(st.st_mode);
	*out = r;
	return 0;
fail:
	mlv_repo_free(r);
	return ret;
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
	free(r->top);
	free(r->prefix);
	free(r->mlvdir);
	free(r);
}

static const char default_config[] =
	"# mlv configuration (git-config syntax); committed with the project.\n"
	"[core]\n"
	"\tformatVersion = 1\n";

static const char default_gitignore[] =
	"# Local state of mlv: never committed.\n"
	"/index.db\n"
	"/index.db-*\n"
	"/store/\n"
	"/config.local\n"
	"/tmp/\n";

static int write_if_missing(const char *path, const char *content, int *created)
{
	struct stat st;

	if (!lstat(path, &st))
		return 0;
	if (errno != ENOENT)
		return mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", path);
	*created = 1;
	return mlv_write_file_atomic(path, content, strlen(content), 0644, 1);
}

int mlv_repo_init(struct mlv_repo *r, int *created)
{
	struct stat st;
	int made = 0, ret;

	if (!lstat(".mlv", &st) && !S_ISDIR(st.st_mode))
		return mlv_error_set(MLV_EEXISTS, "'.mlv' exists and is not a directory");
	if (mkdir(".mlv", 0777) == 0)
		made = 1;
	else if (errno != EEXIST)
		return mlv_error_set_errno(MLV_EIO, "cannot create '.mlv'");
	if ((ret = write_if_missing(".mlv/config", default_config, &made)) < 0 ||
	    (ret = write_if_missing(".mlv/.gitignore", default_gitignore, &made)) < 0)
		return ret;
	if (!r->store && (ret = mlv_store_open(&r->store, r->mlvdir)) < 0)
		return ret;
	r->initialized = 1;
	if (created)
		*created = made;
	return 0;
}

int mlv_repo_store(struct mlv_store **out, struct mlv_repo *r)
{
	int ret;

	if (!r->store) {
		if (!r->initialized)
			return mlv_error_set(MLV_ENOTFOUND, "not an mlv repository: '%s/.mlv' is missing",
					     r->top);
		if ((ret = mlv_store_open(&r->store, r->mlvdir)) < 0)
			return ret;
	}
	*out = r->store;
	return 0;
}

int mlv_repo_git_tracks(struct mlv_repo *r, const char *path, int prefix_match)
{
	git_index *idx = NULL;
	int ret = 0;

	if (git_repository_index(&idx, r->git) < 0)
		return git_err(MLV_ERROR, "cannot read the git index");
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

		if ((ret = mlv_fs_mkdirs(r->topfd, ".mlv/tmp")) < 0)
			return ret;
		if ((tfd = mlv_fs_open(r->topfd, ".mlv/tmp", O_RDONLY | O_DIRECTORY, 0)) < 0)
			return tfd;
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
