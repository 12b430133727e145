/*
 * mlv's git hooks and the merge driver's registration (mlv/hooks.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/fs.h"
#include "mlv/history.h"
#include "mlv/hooks.h"
#include "mlv/lock.h"
#include "mlv/path.h"
#include "mlv/quote.h"

const char *const mlv_hook_names[MLV_HOOKS_NR] = { "post-checkout", "post-merge", "pre-commit" };

/* What each hook does, for the comment in its script. */
static const char *const hook_what[MLV_HOOKS_NR] = {
	"after git checkout or switch, make the data match the pointers (mlv checkout)",
	"after git merge or pull, make the data match the pointers (mlv checkout)",
	"refuse to commit a pointer whose data is not in mlv's store",
};

/* What to tell the user when the script cannot find mlv at all. */
static const char *const hook_nomlv_hint[MLV_HOOKS_NR] = {
	"git's checkout is complete; install mlv, then run 'mlv checkout'",
	"git's merge is complete; install mlv, then run 'mlv checkout'",
	"install mlv, or commit without the check: git commit --no-verify",
};

#define HOOK_SHEBANG "#!/bin/sh\n"
#define HOOK_READ_MAX (64 * 1024)
#define ATTR_READ_MAX (1024 * 1024)
#define ATTR_FILE ".gitattributes"
#define DRIVER_NAME "mlv: three-way merge of pointer files and tracked directories"

const char *mlv_hook_state_name(enum mlv_hook_state s)
{
	switch (s) {
	case MLV_HOOK_ABSENT: return "not installed";
	case MLV_HOOK_INSTALLED: return "installed";
	case MLV_HOOK_CHAINED: return "chained";
	case MLV_HOOK_FOREIGN: return "foreign";
	}
	return "unknown";
}

const char *mlv_hook_action_name(enum mlv_hook_action a)
{
	switch (a) {
	case MLV_HOOK_KEPT: return "unchanged";
	case MLV_HOOK_WROTE: return "installed";
	case MLV_HOOK_CHAIN: return "chained";
	case MLV_HOOK_REMOVED: return "removed";
	case MLV_HOOK_RESTORED: return "restored";
	case MLV_HOOK_LEFT: return "left";
	}
	return "unknown";
}

/* Quoted for sh only when it needs to be, so that git config stays readable. */
static void sh_word(struct mlv_buf *out, const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-@") ==
			  strlen(s))
		mlv_buf_adds(out, s);
	else
		mlv_sq_quote_raw(out, s);
}

static void hook_script(struct mlv_buf *out, int i, const char *mlv_path)
{
	const char *name = mlv_hook_names[i];

	mlv_buf_reset(out);
	mlv_buf_adds(out, HOOK_SHEBANG MLV_HOOK_MARKER "\n");
	mlv_buf_addf(out,
		     "# %s: %s.\n"
		     "# Written by 'mlv hooks install'; 'mlv hooks uninstall' removes it and puts\n"
		     "# back the hook it replaced (%s" MLV_HOOK_CHAIN_SUFFIX "), which runs first.\n"
		     "# Delete the marker line above to keep your own edits: mlv then leaves\n"
		     "# this file alone.\n",
		     name, hook_what[i], name);
	mlv_buf_adds(out,
		     "if test -x \"$0" MLV_HOOK_CHAIN_SUFFIX "\"\n"
		     "then\n"
		     "\t\"$0" MLV_HOOK_CHAIN_SUFFIX "\" \"$@\" || exit\n"
		     "fi\n"
		     "mlv=");
	mlv_sq_quote_raw(out, mlv_path);
	mlv_buf_adds(out, "\ntest -x \"$mlv\" || mlv=$(command -v mlv) || {\n"
			  "\techo >&2 \"error: mlv's ");
	mlv_buf_adds(out, name);
	mlv_buf_adds(out, " hook cannot find mlv: \\\"$mlv\\\" is gone and there is no mlv on PATH\"\n"
			  "\techo >&2 \"hint: ");
	mlv_buf_adds(out, hook_nomlv_hint[i]);
	mlv_buf_addf(out, "\"\n"
			  "\texit 1\n"
			  "}\n"
			  "exec \"$mlv\" hooks run %s \"$@\"\n",
		     name);
}

int mlv_hooks_dir(char **out, struct mlv_repo *r)
{
	git_config *cfg = NULL;
	git_buf b = { 0 };
	int rc;

	*out = NULL;
	if (git_repository_config_snapshot(&cfg, r->git) < 0)
		return mlv_git_error(MLV_ERROR, "cannot read git's config");
	rc = git_config_get_path(&b, cfg, "core.hooksPath");
	if (!rc && b.size) {
		if (b.ptr[0] == '/')
			*out = mlv_strdup(b.ptr);
		else
			*out = mlv_xstrfmt("%s/%s", r->top, b.ptr);
	} else if (rc < 0 && rc != GIT_ENOTFOUND) {
		git_config_free(cfg);
		return mlv_git_error(MLV_EINVALID, "cannot read core.hooksPath");
	} else {
		*out = mlv_xstrfmt("%s/hooks", r->commondir);
	}
	git_error_clear();
	git_buf_dispose(&b);
	git_config_free(cfg);
	/* A trailing slash would show in every message. */
	for (size_t n = strlen(*out); n > 1 && (*out)[n - 1] == '/'; n--)
		(*out)[n - 1] = '\0';
	return 0;
}

/* mkdir -p of an absolute path (the hooks directory may be anywhere git is told). */
static int mkdirs_abs(const char *path)
{
	char *p = mlv_strdup(path);
	int ret = 0;

	for (char *s = p + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0777) < 0 && errno != EEXIST) {
				ret = mlv_error_set_errno(MLV_EIO, "cannot create '%s'", p);
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return ret;
}

/*
 * Whether the hooks directory `dir` (absolute) lies in the work tree: 1
 * with its path below the top in `rel` ("" for the top itself), or 0 when
 * it lies outside it, or in .git (the path gate refuses that), where it
 * is followed as git follows it.  "." and empty components are dropped,
 * and ".." is taken textually while it stays above the top (a canonical
 * path); ".." below the top would go wherever a symlink there leads:
 * MLV_EINVALID.
 */
static int hooks_below_top(struct mlv_buf *rel, struct mlv_repo *r, const char *dir)
{
	struct mlv_buf norm = MLV_BUF_INIT;
	size_t n = r->top ? strlen(r->top) : 0;
	const char *p = dir;
	int ret = 0;

	mlv_buf_reset(rel);
	if (!r->top || r->topfd < 0 || n < 2 || *dir != '/')
		return 0;
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);

		if ((len == 1 && *p == '.') || !len) {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			char *slash;

			if (norm.len > n && !strncmp(norm.ptr, r->top, n) && norm.ptr[n] == '/') {
				ret = mlv_error_set(MLV_EINVALID,
						    "the hooks directory '%s' goes up ('..') inside the work "
						    "tree, where a symbolic link could lead anywhere: set "
						    "core.hooksPath without '..'", dir);
				goto done;
			}
			slash = strrchr(norm.ptr, '/');
			mlv_buf_setlen(&norm, slash ? (size_t)(slash - norm.ptr) : 0);
		} else {
			mlv_buf_addch(&norm, '/');
			mlv_buf_add(&norm, p, len);
		}
		p = *end ? end + 1 : end;
	}
	if (norm.len < n || strncmp(norm.ptr, r->top, n) || (norm.ptr[n] && norm.ptr[n] != '/'))
		goto done;
	if (!norm.ptr[n]) {
		ret = 1;
	} else if (mlv_path_valid(norm.ptr + n + 1)) {
		mlv_buf_adds(rel, norm.ptr + n + 1);
		ret = 1;
	}
done:
	mlv_buf_release(&norm);
	return ret;
}

/*
 * Open the hooks directory (with `create`, make it first when missing).
 * In the work tree it is reached from the top without following any
 * symlink, so that a symlink committed to git cannot send mlv's writes
 * elsewhere; outside it, it is followed like git follows it (the user
 * chose where the hooks are).  MLV_ENOTFOUND when it is missing.
 */
static int open_hooks_dir(int *fd, struct mlv_repo *r, const char *dir, int create)
{
	struct mlv_buf rel = MLV_BUF_INIT;
	int ret;

	*fd = -1;
	if ((ret = hooks_below_top(&rel, r, dir)) < 0)
		goto done;
	if (ret) {
		ret = mlv_fs_open(r->topfd, rel.ptr, O_RDONLY | O_DIRECTORY, 0);
		if (ret == MLV_ENOTFOUND && create) {
			mlv_error_clear();
			if ((ret = mlv_fs_mkdirs(r->topfd, rel.ptr)) == 0)
				ret = mlv_fs_open(r->topfd, rel.ptr, O_RDONLY | O_DIRECTORY, 0);
		}
		if (ret >= 0) {
			*fd = ret;
			ret = 0;
		} else if (ret != MLV_ENOTFOUND || create) {
			mlv_error_wrap(ret, "hooks directory '%s'", dir);
		}
		goto done;
	}
	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd >= 0) {
		ret = 0;
		goto done;
	}
	if (errno == ENOENT && !create) {
		ret = mlv_error_set(MLV_ENOTFOUND, "no hooks directory '%s'", dir);
		goto done;
	}
	if (errno != ENOENT) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot open the hooks directory '%s'", dir);
		goto done;
	}
	if ((ret = mkdirs_abs(dir)) < 0)
		goto done;
	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = *fd < 0 ? mlv_error_set_errno(MLV_EIO, "cannot open the hooks directory '%s'", dir) : 0;
done:
	mlv_buf_release(&rel);
	return ret;
}

/*
 * What is at hook `name` in `dfd`: its state (ignoring chaining), whether
 * it is executable, and (when it is a regular file) the content.
 */
static int classify(int dfd, const char *dir, const char *name, enum mlv_hook_state *state,
		    int *exec, struct mlv_buf *content)
{
	struct stat st;
	int ret = mlv_fs_lstat(dfd, name, &st);
	size_t n = strlen(HOOK_SHEBANG MLV_HOOK_MARKER "\n");

	mlv_buf_reset(content);
	*exec = 0;
	if (ret == MLV_ENOTFOUND) {
		mlv_error_clear();
		*state = MLV_HOOK_ABSENT;
		return 0;
	}
	if (ret < 0)
		return mlv_error_wrap(ret, "hook '%s/%s'", dir, name);
	*exec = !!(st.st_mode & 0111);
	*state = MLV_HOOK_FOREIGN;
	if (!S_ISREG(st.st_mode))
		return 0;
	{
		int fd = mlv_fs_open(dfd, name, O_RDONLY, 0);
		ssize_t got = 1;

		if (fd < 0)
			return mlv_error_wrap(fd, "cannot read hook '%s/%s'", dir, name);
		mlv_buf_grow(content, HOOK_READ_MAX);
		while (content->len < HOOK_READ_MAX && got > 0) {
			got = read(fd, content->ptr + content->len, HOOK_READ_MAX - content->len);
			if (got < 0 && errno == EINTR)
				got = 1;
			else if (got > 0)
				mlv_buf_setlen(content, content->len + (size_t)got);
		}
		ret = got < 0 ? mlv_error_set_errno(MLV_EIO, "cannot read hook '%s/%s'", dir, name) : 0;
		close(fd);
		if (ret < 0)
			return ret;
	}
	if (content->len >= n && !memcmp(content->ptr, HOOK_SHEBANG MLV_HOOK_MARKER "\n", n))
		*state = MLV_HOOK_INSTALLED;
	return 0;
}

static char *chain_name(const char *name)
{
	return mlv_xstrfmt("%s" MLV_HOOK_CHAIN_SUFFIX, name);
}

/* 1 when `name` exists in `dfd` (a dangling symlink too), 0 when not, <0 on error. */
static int exists_in(int dfd, const char *name)
{
	return mlv_fs_exists(dfd, name);
}

/* merge.mlv.driver of the repository's own config (malloc'd), or NULL. */
static char *driver_config(struct mlv_repo *r)
{
	git_config *cfg = NULL;
	git_buf b = { 0 };
	char *v = NULL;

	if (git_repository_config_snapshot(&cfg, r->git) < 0) {
		git_error_clear();
		return NULL;
	}
	if (!git_config_get_string_buf(&b, cfg, "merge.mlv.driver"))
		v = mlv_strdup(b.ptr);
	git_error_clear();
	git_buf_dispose(&b);
	git_config_free(cfg);
	return v;
}

static int is_attr_line(const char *s, size_t len)
{
	size_t n = strlen(MLV_HOOKS_ATTR_LINE);

	if (len && s[len - 1] == '\r')
		len--;
	return len == n && !memcmp(s, MLV_HOOKS_ATTR_LINE, n);
}

/* 1 when `content` holds the attribute line. */
static int has_attr_line(const struct mlv_buf *content)
{
	const char *p = content->ptr, *end = content->ptr + content->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (is_attr_line(p, len))
			return 1;
		p += len + 1;
	}
	return 0;
}

int mlv_hooks_status(struct mlv_hooks_status *out, struct mlv_repo *r)
{
	struct mlv_buf content = MLV_BUF_INIT;
	const char *val = NULL;
	int dfd = -1, ret;

	memset(out, 0, sizeof(*out));
	if ((ret = mlv_hooks_dir(&out->dir, r)) < 0)
		return ret;
	ret = open_hooks_dir(&dfd, r, out->dir, 0);
	for (int i = 0; i < MLV_HOOKS_NR; i++) {
		struct mlv_hook_info *h = &out->hooks[i];
		char *chained;

		h->name = mlv_hook_names[i];
		if (ret == MLV_ENOTFOUND)
			continue;
		if (ret < 0 || (ret = classify(dfd, out->dir, h->name, &h->state, &h->executable,
					       &content)) < 0)
			goto done;
		chained = chain_name(h->name);
		ret = exists_in(dfd, chained);
		free(chained);
		if (ret < 0)
			goto done;
		h->has_chained = ret;
		if (h->state == MLV_HOOK_INSTALLED && h->has_chained)
			h->state = MLV_HOOK_CHAINED;
	}
	if (ret == MLV_ENOTFOUND)
		mlv_error_clear();
	ret = 0;
	out->driver = driver_config(r);
	if (!git_attr_get(&val, r->git, 0, "x.mlv", "merge") && val &&
	    git_attr_value(val) == GIT_ATTR_VALUE_STRING && !strcmp(val, "mlv"))
		out->attr = 1;
	git_error_clear();
	{
		int rr = mlv_fs_read_file(&content, r->topfd, ATTR_FILE, ATTR_READ_MAX);

		if (!rr)
			out->attr_line = has_attr_line(&content);
		else
			mlv_error_clear();
	}
done:
	if (dfd >= 0)
		close(dfd);
	mlv_buf_release(&content);
	return ret;
}

void mlv_hooks_status_release(struct mlv_hooks_status *st)
{
	if (!st)
		return;
	free(st->dir);
	free(st->driver);
	memset(st, 0, sizeof(*st));
}

void mlv_hooks_result_release(struct mlv_hooks_result *res)
{
	if (!res)
		return;
	free(res->dir);
	for (int i = 0; i < MLV_HOOKS_NR; i++)
		free(res->warnings[i]);
	free(res->attr_warning);
	memset(res, 0, sizeof(*res));
}

/* Take the lock of each of mlv's hooks in `dfd`; on failure the caller releases those taken. */
static int lock_hooks(struct mlv_lock *locks, int dfd, const char *dir)
{
	for (int i = 0; i < MLV_HOOKS_NR; i++) {
		int ret = mlv_lock_acquire(&locks[i], dfd, mlv_hook_names[i], MLV_LOCK_TIMEOUT_MS);

		if (ret < 0)
			return mlv_error_wrap(ret, "hooks directory '%s'", dir);
	}
	return 0;
}

static void unlock_hooks(struct mlv_lock *locks)
{
	for (int i = 0; i < MLV_HOOKS_NR; i++)
		mlv_lock_release(&locks[i]);
}

/* Write `script` as hook `name` through its lock `l`; with `chain`, move what is there aside first. */
static int write_hook(struct mlv_lock *l, int dfd, const char *dir, const char *name,
		      const struct mlv_buf *script, int chain)
{
	int ret;

	if ((ret = mlv_lock_write(l, script->ptr, script->len)) < 0)
		return ret;
	if (chain) {
		char *to = chain_name(name);

		ret = mlv_fs_rename(dfd, name, to, 1);
		if (ret < 0)
			mlv_error_wrap(ret, "cannot move hook '%s/%s' to '%s'", dir, name, to);
		free(to);
		if (ret < 0)
			return ret;
	}
	return mlv_lock_commit(l, 0755, 1);
}

/* An edit of the top-level .gitattributes, worked out under its lock. */
struct attr_edit {
	struct mlv_lock lock;
	struct mlv_buf content; /* the new content */
	mode_t mode;
	int action;             /* 0: nothing to do; 1: write `content`; 2: remove the file */
};
#define ATTR_EDIT_INIT { MLV_LOCK_INIT, MLV_BUF_INIT, 0644, 0 }

/*
 * Work out the .gitattributes edit (`add` the line, or remove it), taking
 * the file's lock, held until attr_apply() or attr_release().  Only a
 * regular file is edited: anything else there -- a symlink committed to
 * git may point anywhere -- is MLV_EUNSUPPORTED, with nothing changed.
 */
static int attr_prepare(struct attr_edit *e, struct mlv_repo *r, int add)
{
	struct mlv_buf old = MLV_BUF_INIT;
	struct stat st;
	int ret, exists;

	ret = mlv_fs_lstat(r->topfd, ATTR_FILE, &st);
	if (ret == MLV_ENOTFOUND) {
		mlv_error_clear();
		if (!add)
			return 0;
	} else if (ret < 0) {
		return mlv_error_wrap(ret, "cannot edit '%s/" ATTR_FILE "'", r->top);
	} else if (!S_ISREG(st.st_mode)) {
		return mlv_error_set(MLV_EUNSUPPORTED,
				     "'%s/" ATTR_FILE "' is %s, not a file mlv edits%s", r->top,
				     S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file",
				     add ? " (nothing was changed)" : ": left alone");
	}
	if ((ret = mlv_lock_acquire(&e->lock, r->topfd, ATTR_FILE, MLV_LOCK_TIMEOUT_MS)) < 0)
		goto done;
	/* Under the lock: opened without following a symlink, whatever came meanwhile. */
	ret = mlv_fs_read_file(&old, r->topfd, ATTR_FILE, ATTR_READ_MAX);
	exists = ret != MLV_ENOTFOUND;
	if (!exists) {
		mlv_error_clear();
		ret = 0;
	} else if (ret < 0) {
		mlv_error_wrap(ret, "cannot edit '%s/" ATTR_FILE "'", r->top);
		goto done;
	} else if (!mlv_fs_lstat(r->topfd, ATTR_FILE, &st)) {
		e->mode = st.st_mode & 07777;
	}
	if (add) {
		if (has_attr_line(&old))
			goto done;
		mlv_buf_add(&e->content, old.ptr, old.len);
		if (e->content.len && e->content.ptr[e->content.len - 1] != '\n')
			mlv_buf_addch(&e->content, '\n');
		mlv_buf_adds(&e->content, MLV_HOOKS_ATTR_LINE "\n");
		e->action = 1;
	} else if (exists) {
		const char *p = old.ptr, *end = old.ptr + old.len;
		int removed = 0, other = 0;

		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);

			if (is_attr_line(p, nl ? len - 1 : len)) {
				removed = 1;
			} else {
				mlv_buf_add(&e->content, p, len);
				for (size_t k = 0; k < len; k++)
					if (!strchr(" \t\r\n", p[k]))
						other = 1;
			}
			p += len;
		}
		/* Nothing but mlv's line was there: the file goes as it came. */
		if (removed)
			e->action = other ? 1 : 2;
	}
done:
	mlv_buf_release(&old);
	return ret;
}

static void attr_release(struct attr_edit *e)
{
	mlv_lock_release(&e->lock);
	mlv_buf_release(&e->content);
}

static int attr_apply(struct attr_edit *e, struct mlv_repo *r, int *changed)
{
	int ret = 0;

	*changed = 0;
	if (e->action == 1) {
		if ((ret = mlv_lock_write(&e->lock, e->content.ptr, e->content.len)) < 0 ||
		    (ret = mlv_lock_commit(&e->lock, e->mode, 1)) < 0)
			goto done;
		*changed = 1;
	} else if (e->action == 2) {
		if ((ret = mlv_fs_unlink(r->topfd, ATTR_FILE, 0)) < 0)
			goto done;
		*changed = 1;
	}
done:
	attr_release(e);
	return ret;
}

/* An edit of merge.mlv.* in the repository's own config, made under its lock. */
struct config_edit {
	git_config *cfg;
	git_transaction *tx;
	int committed;
};

static int local_config(git_config **out, struct mlv_repo *r)
{
	git_config *cfg = NULL;
	int rc;

	*out = NULL;
	if (git_repository_config(&cfg, r->git) < 0)
		return mlv_git_error(MLV_ERROR, "cannot read git's config");
	rc = git_config_open_level(out, cfg, GIT_CONFIG_LEVEL_LOCAL);
	git_config_free(cfg);
	if (rc < 0)
		return mlv_git_error(MLV_ERROR, "cannot open the repository's git config");
	return 0;
}

static int config_lock(struct config_edit *c, struct mlv_repo *r)
{
	int rc;

	if (c->tx)
		return 0;
	if ((rc = git_config_lock(&c->tx, c->cfg)) < 0) {
		c->tx = NULL;
		if (rc != GIT_ELOCKED)
			return mlv_git_error(MLV_ECONFLICT, "cannot lock the repository's git config");
		git_error_clear();
		return mlv_error_set(MLV_ECONFLICT,
				     "cannot lock the repository's git config: '%sconfig.lock' exists "
				     "(is git running? if not, remove it)",
				     git_repository_commondir(r->git));
	}
	return 0;
}

/* Set `name` to `value` (under the lock, taken first) unless it already is; 1 when changed. */
static int config_set(struct config_edit *c, struct mlv_repo *r, const char *name,
		      const char *value)
{
	git_buf b = { 0 };
	int same = !git_config_get_string_buf(&b, c->cfg, name) && !strcmp(b.ptr, value), ret;

	git_buf_dispose(&b);
	git_error_clear();
	if (same)
		return 0;
	if ((ret = config_lock(c, r)) < 0)
		return ret;
	if (git_config_set_string(c->cfg, name, value) < 0)
		return mlv_git_error(MLV_EIO, "cannot write git config");
	return 1;
}

/*
 * Work out the merge driver's config: registered for `mlv_path`, or
 * removed when it is NULL.  The config stays locked until config_apply()
 * or config_release(); `changed` says whether it will change.
 */
static int config_prepare(struct config_edit *c, struct mlv_repo *r, const char *mlv_path,
			  int *changed)
{
	static const char *const names[] = { "merge.mlv.driver", "merge.mlv.name" };
	struct mlv_buf driver = MLV_BUF_INIT;
	int ret, a = 0, b = 0;

	*changed = 0;
	if ((ret = local_config(&c->cfg, r)) < 0)
		return ret;
	if (!mlv_path) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !ret; i++) {
			git_config_entry *e = NULL;

			if (git_config_get_entry(&e, c->cfg, names[i]) < 0) {
				git_error_clear();
				continue;
			}
			git_config_entry_free(e);
			if ((ret = config_lock(c, r)) < 0)
				break;
			if (git_config_delete_entry(c->cfg, names[i]) < 0)
				ret = mlv_git_error(MLV_EIO, "cannot remove merge.mlv from git config");
			else
				*changed = 1;
		}
		return ret;
	}
	{
		/* git expands %O, %A... in the command line, and %% to %. */
		struct mlv_buf word = MLV_BUF_INIT;

		sh_word(&word, mlv_path);
		for (size_t i = 0; i < word.len; i++) {
			if (word.ptr[i] == '%')
				mlv_buf_addch(&driver, '%');
			mlv_buf_addch(&driver, word.ptr[i]);
		}
		mlv_buf_release(&word);
	}
	mlv_buf_adds(&driver, " merge-driver %O %A %B %P");
	if ((a = config_set(c, r, "merge.mlv.name", DRIVER_NAME)) < 0 ||
	    (b = config_set(c, r, "merge.mlv.driver", driver.ptr)) < 0)
		ret = a < 0 ? a : b;
	else
		*changed = a || b;
	mlv_buf_release(&driver);
	return ret;
}

static void config_release(struct config_edit *c)
{
	if (c->tx) {
		/*
		 * Unlocks, dropping what was not committed; an uncommitted
		 * transaction frees the config with it (libgit2 1.5).
		 */
		git_transaction_free(c->tx);
		if (!c->committed)
			c->cfg = NULL;
	}
	git_config_free(c->cfg);
	c->tx = NULL;
	c->cfg = NULL;
}

static int config_apply(struct config_edit *c)
{
	int ret = 0;

	if (c->tx) {
		if (git_transaction_commit(c->tx) < 0)
			ret = mlv_git_error(MLV_EIO, "cannot write git config");
		c->committed = 1;
	}
	config_release(c);
	return ret;
}

int mlv_hooks_install(struct mlv_hooks_result *out, struct mlv_repo *r, const char *mlv_path)
{
	struct mlv_buf content = MLV_BUF_INIT, script = MLV_BUF_INIT;
	struct mlv_lock locks[MLV_HOOKS_NR];
	struct attr_edit attr = ATTR_EDIT_INIT;
	struct config_edit cfg = { NULL, NULL, 0 };
	enum mlv_hook_state state[MLV_HOOKS_NR];
	int exec[MLV_HOOKS_NR], keep[MLV_HOOKS_NR] = { 0 }, dfd = -1, ret;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < MLV_HOOKS_NR; i++)
		locks[i] = (struct mlv_lock)MLV_LOCK_INIT;
	/*
	 * Everything that can refuse is checked, and every lock taken, before
	 * the first write: a refusal changes nothing.
	 */
	if ((ret = mlv_hooks_dir(&out->dir, r)) < 0 || (ret = attr_prepare(&attr, r, 1)) < 0 ||
	    (ret = config_prepare(&cfg, r, mlv_path, &out->config_changed)) < 0)
		goto done;
	ret = open_hooks_dir(&dfd, r, out->dir, 0);
	if (ret == MLV_ENOTFOUND) {
		/* No hooks to check: the directory is made now. */
		mlv_error_clear();
		ret = open_hooks_dir(&dfd, r, out->dir, 1);
	}
	if (ret < 0 || (ret = lock_hooks(locks, dfd, out->dir)) < 0)
		goto done;
	for (int i = 0; i < MLV_HOOKS_NR; i++) {
		const char *name = mlv_hook_names[i];
		char *chained;

		if ((ret = classify(dfd, out->dir, name, &state[i], &exec[i], &content)) < 0)
			goto done;
		if (state[i] == MLV_HOOK_INSTALLED && exec[i]) {
			hook_script(&script, i, mlv_path);
			keep[i] = content.len == script.len &&
				  !memcmp(content.ptr, script.ptr, script.len);
		}
		if (state[i] != MLV_HOOK_FOREIGN)
			continue;
		chained = chain_name(name);
		ret = exists_in(dfd, chained);
		if (ret > 0)
			ret = mlv_error_set(MLV_EEXISTS,
					    "cannot chain hook '%s/%s': '%s' exists too; nothing was changed",
					    out->dir, name, chained);
		free(chained);
		if (ret < 0)
			goto done;
	}
	for (int i = 0; i < MLV_HOOKS_NR; i++) {
		if (keep[i]) {
			out->hooks[i] = MLV_HOOK_KEPT;
			mlv_lock_release(&locks[i]);
			continue;
		}
		hook_script(&script, i, mlv_path);
		if ((ret = write_hook(&locks[i], dfd, out->dir, mlv_hook_names[i], &script,
				      state[i] == MLV_HOOK_FOREIGN)) < 0)
			goto done;
		out->hooks[i] = state[i] == MLV_HOOK_FOREIGN ? MLV_HOOK_CHAIN : MLV_HOOK_WROTE;
	}
	if ((ret = config_apply(&cfg)) < 0 || (ret = attr_apply(&attr, r, &out->attr_changed)) < 0)
		goto done;
done:
	unlock_hooks(locks);
	config_release(&cfg);
	attr_release(&attr);
	if (dfd >= 0)
		close(dfd);
	mlv_buf_release(&content);
	mlv_buf_release(&script);
	return ret;
}

/* Remove mlv's hook `name` (its lock `l` held) and put back what it chained. */
static int remove_hook(struct mlv_lock *l, int dfd, const char *dir, const char *name, int ours,
		       enum mlv_hook_action *action)
{
	char *chained = chain_name(name);
	int ret = 0, has;

	if (ours && (ret = mlv_fs_unlink(dfd, name, 0)) < 0)
		goto done;
	*action = ours ? MLV_HOOK_REMOVED : MLV_HOOK_KEPT;
	if ((has = exists_in(dfd, chained)) < 0) {
		ret = has;
		goto done;
	}
	if (has) {
		if ((ret = mlv_fs_rename(dfd, chained, name, 1)) < 0) {
			mlv_error_wrap(ret, "cannot put back hook '%s/%s'", dir, chained);
			goto done;
		}
		*action = MLV_HOOK_RESTORED;
	}
done:
	mlv_lock_release(l);
	free(chained);
	return ret;
}

int mlv_hooks_uninstall(struct mlv_hooks_result *out, struct mlv_repo *r)
{
	struct mlv_buf content = MLV_BUF_INIT;
	struct mlv_lock locks[MLV_HOOKS_NR];
	struct attr_edit attr = ATTR_EDIT_INIT;
	struct config_edit cfg = { NULL, NULL, 0 };
	int dfd = -1, ret;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < MLV_HOOKS_NR; i++)
		locks[i] = (struct mlv_lock)MLV_LOCK_INIT;
	if ((ret = mlv_hooks_dir(&out->dir, r)) < 0)
		goto done;
	/* As install: every check and every lock before the first change. */
	ret = attr_prepare(&attr, r, 0);
	if (ret == MLV_EUNSUPPORTED) {
		out->attr_warning = mlv_strdup(mlv_error_last());
		mlv_error_clear();
		ret = 0;
	}
	if (ret < 0 || (ret = config_prepare(&cfg, r, NULL, &out->config_changed)) < 0)
		goto done;
	ret = open_hooks_dir(&dfd, r, out->dir, 0);
	if (ret == MLV_ENOTFOUND) {
		mlv_error_clear();
		ret = 0;
	} else if (ret < 0 || (ret = lock_hooks(locks, dfd, out->dir)) < 0) {
		goto done;
	}
	for (int i = 0; dfd >= 0 && i < MLV_HOOKS_NR; i++) {
		const char *name = mlv_hook_names[i];
		enum mlv_hook_state state;
		char *chained;
		int x, has;

		if ((ret = classify(dfd, out->dir, name, &state, &x, &content)) < 0)
			goto done;
		if (state != MLV_HOOK_FOREIGN) {
			if ((ret = remove_hook(&locks[i], dfd, out->dir, name,
					       state == MLV_HOOK_INSTALLED, &out->hooks[i])) < 0)
				goto done;
			continue;
		}
		chained = chain_name(name);
		has = exists_in(dfd, chained);
		/* Ours once (it chained a hook, or it runs mlv's hook command), edited since. */
		if (has > 0 || memmem(content.ptr, content.len, " hooks run ", 11)) {
			out->hooks[i] = MLV_HOOK_LEFT;
			out->warnings[i] = mlv_xstrfmt(
				"'%s/%s' has no '" MLV_HOOK_MARKER "' line (edited since it was installed?): "
				"left alone%s%s%s",
				out->dir, name, has > 0 ? ", and '" : "", has > 0 ? chained : "",
				has > 0 ? "' with it" : "");
		}
		free(chained);
	}
	if ((ret = config_apply(&cfg)) < 0 || (ret = attr_apply(&attr, r, &out->attr_changed)) < 0)
		goto done;
done:
	unlock_hooks(locks);
	config_release(&cfg);
	attr_release(&attr);
	if (dfd >= 0)
		close(dfd);
	mlv_buf_release(&content);
	return ret;
}

/* ---------------------------------------------------------------------
 * The pre-commit check.
 */

struct dir_check {
	struct mlv_store *s;
	char *first;          /* the first file whose object is missing or damaged */
	uint64_t missing;
};

static int check_entry(void *ctx, const char *path, const struct mlv_tree_entry *e)
{
	struct dir_check *d = ctx;
	int ret = mlv_tree_entry_check(d->s, e, path);

	if (!ret)
		return 0;
	if (ret != MLV_ENOTFOUND && ret != MLV_ECORRUPT)
		return ret;
	if (!d->missing++)
		d->first = mlv_xstrfmt("'%s' (sha256:%s)", path, mlv_oid_hex(&e->oid));
	mlv_error_clear();
	return 0;
}

/*
 * Is the content pointer `p` names in the store?  0 when it is, 1 with
 * `msg` set when it is not, <0 when the check failed.
 */
static int content_missing(struct mlv_store *s, const struct mlv_pointer *p, const char *pointer,
			   const char *path, char **msg)
{
	int ret;

	*msg = NULL;
	if (p->type == MLV_PTYPE_FILE) {
		ret = mlv_store_check_blob(s, &p->oid);
		if (!ret)
			return 0;
		if (ret != MLV_ENOTFOUND && ret != MLV_ECORRUPT && ret != MLV_EINVALID)
			return ret;
		*msg = mlv_xstrfmt("'%s' names sha256:%s for '%s', which is not in the store%s%s",
				   pointer, mlv_oid_hex(&p->oid), path,
				   ret == MLV_ENOTFOUND ? "" : ": ",
				   ret == MLV_ENOTFOUND ? "" : mlv_error_last());
		mlv_error_clear();
		return 1;
	}
	ret = mlv_store_has(s, &p->oid);
	if (ret < 0)
		return ret;
	if (!ret) {
		*msg = mlv_xstrfmt("'%s' names directory tree sha256:%s for '%s', which is not in the store",
				   pointer, mlv_oid_hex(&p->oid), path);
		return 1;
	}
	{
		struct dir_check d = { s, NULL, 0 };

		ret = mlv_tree_walk(s, &p->oid, path, check_entry, &d);
		if (ret == MLV_ENOTFOUND || ret == MLV_ECORRUPT || ret == MLV_EINVALID) {
			*msg = mlv_xstrfmt("'%s': the data of '%s' is not in the store in full: %s",
					   pointer, path, mlv_error_last());
			mlv_error_clear();
			ret = 1;
		} else if (!ret && d.missing) {
			*msg = mlv_xstrfmt("'%s': %llu file%s of '%s' %s not in the store, the first "
					   "%s",
					   pointer, (unsigned long long)d.missing,
					   d.missing == 1 ? "" : "s", path,
					   d.missing == 1 ? "is" : "are", d.first);
			ret = 1;
		}
		free(d.first);
	}
	return ret;
}

static int check_staged_one(struct mlv_repo *r, struct mlv_store *s, const git_index_entry *e,
			    mlv_staged_problem_fn fn, void *ctx)
{
	struct mlv_staged_problem pr = { e->path, "", NULL, 0, 0, 0 };
	struct mlv_pointer p;
	git_blob *blob = NULL;
	uint64_t blob_size;
	char *path = mlv_strndup(e->path, strlen(e->path) - strlen(MLV_POINTER_SUFFIX));
	char *msg = NULL;
	int ret = 0;

	mlv_pointer_init(&p);
	if ((e->mode & 0170000) != 0100000) {
		msg = mlv_xstrfmt("'%s' is staged as %s, not as a pointer file", e->path,
				  (e->mode & 0170000) == 0120000 ? "a symbolic link" :
				  (e->mode & 0170000) == 0160000 ? "a submodule" : "something else");
		pr.bad_pointer = 1;
		goto report;
	}
	if (mlv_path_check(path, 1, e->path) < 0) {
		msg = mlv_strdup(mlv_error_last());
		mlv_error_clear();
		pr.bad_pointer = 1;
		goto report;
	}
	pr.path = path;
	if (mlv_git_pointer_blob(&blob, &blob_size, r->git, &e->id) < 0) {
		ret = mlv_git_error(MLV_ECORRUPT, "cannot read the staged pointer");
		mlv_error_wrap(ret, "'%s'", e->path);
		goto done;
	}
	if (!blob) {
		msg = mlv_xstrfmt("'%s' is staged with %llu bytes: larger than a pointer file can be",
				  e->path, (unsigned long long)blob_size);
		pr.bad_pointer = 1;
		goto report;
	}
	if (mlv_pointer_parse(&p, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
			      e->path) < 0) {
		msg = mlv_xstrfmt("the staged '%s' is not a valid pointer: %s", e->path,
				  mlv_error_last());
		mlv_error_clear();
		pr.bad_pointer = 1;
		goto report;
	}
	if ((ret = content_missing(s, &p, e->path, path, &msg)) <= 0)
		goto done;
	ret = 0;
	{
		/* Is the missing content in the work tree, ready for 'mlv add'? */
		struct mlv_oid have;
		uint64_t size, files;
		struct stat st;

		if (!mlv_fs_lstat(r->topfd, path, &st) &&
		    !mlv_hash_path_at(&have, &size, &files, s, r->topfd, path,
				      mlv_add_dereferenced(&p), NULL)) {
			if (!mlv_oid_cmp(&have, &p.oid))
				pr.in_worktree = 1;
			else
				pr.worktree_differs = 1;
		}
		mlv_error_clear();
	}
report:
	pr.message = msg;
	fn(ctx, &pr);
done:
	free(msg);
	free(path);
	git_blob_free(blob);
	mlv_pointer_release(&p);
	return ret;
}

int mlv_hooks_check_staged(struct mlv_repo *r, mlv_staged_problem_fn fn, void *ctx, size_t *checked)
{
	const char *env = getenv("GIT_INDEX_FILE");
	git_index *idx = NULL;
	git_object *head = NULL;
	git_tree *tree = NULL;
	struct mlv_store *s;
	size_t n, sfx = strlen(MLV_POINTER_SUFFIX);
	int ret, rc;

	*checked = 0;
	if ((ret = mlv_repo_store(&s, r)) < 0)
		return ret;
	/* git hands its hooks the index being committed (commit -a, commit <path>) in GIT_INDEX_FILE. */
	rc = env && *env ? git_index_open(&idx, env) : git_repository_index(&idx, r->git);
	if (rc < 0)
		return mlv_git_error(MLV_ERROR, "cannot read git's index");
	rc = git_revparse_single(&head, r->git, "HEAD^{tree}");
	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) {
		git_error_clear();
	} else if (rc < 0) {
		ret = mlv_git_error(MLV_ERROR, "cannot read HEAD");
		goto done;
	} else {
		tree = (git_tree *)head;
	}
	n = git_index_entrycount(idx);
	for (size_t i = 0; i < n && !ret; i++) {
		const git_index_entry *e = git_index_get_byindex(idx, i);
		git_tree_entry *te = NULL;
		size_t len;

		if (!e || git_index_entry_stage(e) != 0 ||
		    (e->flags_extended & GIT_INDEX_ENTRY_INTENT_TO_ADD))
			continue;
		len = strlen(e->path);
		if (len <= sfx || strcmp(e->path + len - sfx, MLV_POINTER_SUFFIX))
			continue;
		if (tree && !git_tree_entry_bypath(&te, tree, e->path)) {
			int same = git_oid_equal(git_tree_entry_id(te), &e->id) &&
				   (uint32_t)git_tree_entry_filemode(te) == e->mode;

			git_tree_entry_free(te);
			if (same)
				continue;
		}
		git_error_clear();
		(*checked)++;
		ret = check_staged_one(r, s, e, fn, ctx);
	}
done:
	git_tree_free(tree);
	git_index_free(idx);
	return ret;
}
