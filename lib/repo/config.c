#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/config.h"
#include "mlv/error.h"
#include "repo/migrate.h"

/* `key` from one git-config file of .mlv: 1 found, 0 not, <0 error. */
static int from_file(struct mlv_repo *r, const char *rel, const char *key, char **out)
{
	git_config *cfg = NULL;
	git_buf b = { 0 };
	char *path;
	int ret, rc;

	if (r->topfd < 0)
		return 0;
	if ((ret = mlv_repo_check_own(r, ".mlv", 1)) <= 0 ||
	    (ret = mlv_repo_check_own(r, rel, 0)) <= 0)
		return ret;
	path = mlv_xstrfmt("%s/%s", r->top, rel);
	rc = git_config_open_ondisk(&cfg, path);
	if (!rc)
		rc = git_config_get_string_buf(&b, cfg, key);
	if (!rc) {
		*out = mlv_strdup(b.ptr);
		ret = 1;
	} else if (rc == GIT_ENOTFOUND) {
		ret = 0;
	} else {
		const git_error *e = git_error_last();

		ret = mlv_error_set(MLV_EINVALID, "cannot read '%s': %s", path,
				    e && e->message ? e->message : "bad configuration file");
	}
	git_buf_dispose(&b);
	git_config_free(cfg);
	free(path);
	return ret;
}

/* `mlv.<key>` of a git configuration: 1 found, 0 not, <0 error. */
static int from_git(git_config *cfg, const char *key, char **out)
{
	git_buf b = { 0 };
	char *gkey = mlv_xstrfmt("mlv.%s", key);
	int ret = 0, rc;

	rc = git_config_get_string_buf(&b, cfg, gkey);
	if (!rc) {
		*out = mlv_strdup(b.ptr);
		ret = 1;
	} else if (rc != GIT_ENOTFOUND) {
		const git_error *e = git_error_last();

		ret = mlv_error_set(MLV_EINVALID, "cannot read git config '%s': %s", gkey,
				    e && e->message ? e->message : "bad value");
	}
	git_buf_dispose(&b);
	free(gkey);
	return ret;
}

static int config_get(struct mlv_repo *r, const char *key, char **out, int committed)
{
	git_config *cfg = NULL, *all = NULL;
	int ret = 0;

	*out = NULL;
	if (r && r->git) {
		if (!git_repository_config_snapshot(&cfg, r->git))
			ret = from_git(cfg, key, out);
	} else if (!r) {
		/* outside a repository: the user's and the system's */
		git_libgit2_init();
		if (!git_config_open_default(&all) && !git_config_snapshot(&cfg, all))
			ret = from_git(cfg, key, out);
		git_config_free(all);
		git_config_free(cfg);
		git_libgit2_shutdown();
		return ret < 0 ? ret : ret ? 0 : MLV_ENOTFOUND;
	}
	git_config_free(cfg);
	if (!ret)
		ret = from_file(r, ".mlv/config.local", key, out);
	if (!ret && committed)
		ret = from_file(r, ".mlv/config", key, out);
	if (ret < 0)
		return ret;
	return ret ? 0 : MLV_ENOTFOUND;
}

int mlv_config_get(struct mlv_repo *r, const char *key, char **out)
{
	return config_get(r, key, out, 1);
}

int mlv_config_get_local(struct mlv_repo *r, const char *key, char **out)
{
	return config_get(r, key, out, 0);
}
