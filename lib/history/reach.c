#include <errno.h>
#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlv/config.h"
#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/history.h"
#include "mlv/gc.h"

/*
 * What mlv gc keeps (mlv/gc.h).  Git's objects are hostile input: every
 * pointer blob is bounded and parsed strictly, trees are walked with an
 * explicit stack (no recursion depth to exhaust) and each distinct tree,
 * commit and pointer blob is visited once, so a history that shares
 * subtrees costs what its distinct objects cost.
 */

struct reach {
	struct mlv_repo *r;
	struct mlv_oidset *roots;
	struct mlv_oidset *commits, *trees, *blobs; /* git ids, zero-padded */
	git_oid *stack;
	size_t nstack, stack_alloc;
	mlv_gc_warn_fn warn;
	void *ctx;
	struct mlv_gc_reach_stats *st;
	int shallow; /* commits may be missing beyond the shallow boundary */
	int err;     /* the first failure to read history: gc must remove nothing */
};

/*
 * Git could not read something it should have: remember the first such
 * failure (with libgit2's reason), so that gc stops before it removes
 * anything -- an unreadable tree would otherwise hide what it names.
 */
static void fail(struct reach *R, const char *what, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1];
	const git_error *e = git_error_last();

	if (!R->err) {
		git_oid_tostr(hex, sizeof(hex), id);
		R->err = mlv_error_set(MLV_ECORRUPT, "cannot read %s %s: %s; gc removes nothing "
				       "while history cannot be read", what, hex,
				       e && e->message ? e->message : "unknown error");
		mlv_error_set_hint("run 'git fsck' to find what is damaged");
	}
	git_error_clear();
}

static void warnf(struct reach *R, const char *fmt, ...) MLV_PRINTF(2, 3);
static void warnf(struct reach *R, const char *fmt, ...)
{
	struct mlv_buf b = MLV_BUF_INIT;
	va_list ap;

	if (!R->warn)
		return;
	va_start(ap, fmt);
	mlv_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	R->warn(R->ctx, b.ptr);
	mlv_buf_release(&b);
}

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown error";
}

/* 1 when `id` is new to `set`. */
static int seen(struct mlv_oidset *set, const git_oid *id)
{
	struct mlv_oid k;

	memset(&k, 0, sizeof(k));
	memcpy(k.id, id->id, GIT_OID_RAWSZ < MLV_OID_RAWSZ ? GIT_OID_RAWSZ : MLV_OID_RAWSZ);
	return !mlv_oidset_add(set, &k);
}

static int ends_with_mlv(const char *name)
{
	size_t n = strlen(name), k = strlen(MLV_POINTER_SUFFIX);

	return n > k && !strcmp(name + n - k, MLV_POINTER_SUFFIX);
}

/* A pointer blob found at `path` of `where` (a commit or an index). */
static void pointer_blob(struct reach *R, git_repository *repo, const git_oid *id,
			 const char *where, const char *path)
{
	struct mlv_pointer p;
	git_blob *blob = NULL;
	uint64_t size;
	int rc;

	if (seen(R->blobs, id))
		return;
	if ((rc = mlv_git_pointer_blob(&blob, &size, repo, id)) < 0) {
		fail(R, "pointer blob", id);
		return;
	}
	R->st->pointers++;
	mlv_pointer_init(&p);
	if (!blob) {
		R->st->bad_pointers++;
		warnf(R, "skipping bad pointer '%s' in %s: larger than %u bytes", path, where,
		      MLV_POINTER_MAX);
	} else if (mlv_pointer_parse(&p, git_blob_rawcontent(blob), (size_t)size, path) < 0) {
		R->st->bad_pointers++;
		warnf(R, "skipping bad pointer '%s' in %s: %s", path, where, mlv_error_last());
		mlv_error_clear();
	} else {
		mlv_oidset_add(R->roots, &p.oid);
		mlv_pointer_release(&p);
	}
	git_blob_free(blob);
}

struct tree_item {
	git_oid id;
	char *path; /* "" at the root, else "dir/" */
};

/* Every pointer below git tree `root`; each tree once. */
static void walk_tree(struct reach *R, git_repository *repo, const git_oid *root,
		      const char *where)
{
	struct tree_item *stack = NULL;
	size_t n = 0, alloc = 0;
	struct mlv_buf path = MLV_BUF_INIT;

	if (seen(R->trees, root))
		return;
	MLV_ALLOC_GROW(stack, n + 1, alloc);
	stack[n].id = *root;
	stack[n++].path = mlv_strdup("");
	while (n) {
		struct tree_item it = stack[--n];
		git_tree *tree = NULL;

		if (git_tree_lookup(&tree, repo, &it.id)) {
			fail(R, "tree", &it.id);
			free(it.path);
			continue;
		}
		R->st->trees++;
		for (size_t i = 0, cnt = git_tree_entrycount(tree); i < cnt; i++) {
			const git_tree_entry *e = git_tree_entry_byindex(tree, i);
			const char *name = git_tree_entry_name(e);
			git_filemode_t mode = git_tree_entry_filemode(e);

			mlv_buf_reset(&path);
			mlv_buf_addf(&path, "%s%s", it.path, name);
			if (mode == GIT_FILEMODE_TREE) {
				if (seen(R->trees, git_tree_entry_id(e)))
					continue;
				mlv_buf_addch(&path, '/');
				MLV_ALLOC_GROW(stack, n + 1, alloc);
				stack[n].id = *git_tree_entry_id(e);
				stack[n++].path = mlv_strdup(path.ptr);
			} else if ((mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE) &&
				   ends_with_mlv(name)) {
				pointer_blob(R, repo, git_tree_entry_id(e), where, path.ptr);
			}
		}
		git_tree_free(tree);
		free(it.path);
	}
	free(stack);
	mlv_buf_release(&path);
}

/* A ref target, HEAD or reflog id: a commit to walk, a tag to peel, a tree to walk. */
static void add_tip(struct reach *R, git_repository *repo, const git_oid *id, int reflog)
{
	git_object *obj = NULL;
	int rc;

	if (git_oid_is_zero(id))
		return;
	R->st->tips++;
	for (int depth = 0; depth < 64; depth++) {
		git_object *next = NULL;
		git_object_t type;

		if (!obj && (rc = git_object_lookup(&obj, repo, id, GIT_OBJECT_ANY))) {
			/* A reflog may remember what git itself has pruned since. */
			if (reflog && rc == GIT_ENOTFOUND)
				git_error_clear();
			else
				fail(R, "the object of a ref", id);
			return;
		}
		type = git_object_type(obj);
		if (type == GIT_OBJECT_COMMIT) {
			if (!seen(R->commits, git_object_id(obj))) {
				MLV_ALLOC_GROW(R->stack, R->nstack + 1, R->stack_alloc);
				R->stack[R->nstack++] = *git_object_id(obj);
			}
			break;
		}
		if (type == GIT_OBJECT_TREE) {
			char hex[GIT_OID_HEXSZ + 1];
			char where[GIT_OID_HEXSZ + 16];

			git_oid_tostr(hex, sizeof(hex), git_object_id(obj));
			snprintf(where, sizeof(where), "tree %s", hex);
			walk_tree(R, repo, git_object_id(obj), where);
			break;
		}
		if (type != GIT_OBJECT_TAG)
			break;
		if (git_tag_target(&next, (git_tag *)obj)) {
			fail(R, "the target of tag", git_object_id(obj));
			break;
		}
		git_object_free(obj);
		obj = next;
	}
	git_object_free(obj);
}

static void add_reflog(struct reach *R, git_repository *repo, const char *name)
{
	git_reflog *log = NULL;

	if (git_reflog_read(&log, repo, name)) {
		if (!R->err)
			R->err = mlv_error_set(MLV_ECORRUPT, "cannot read the reflog of '%s': %s; gc "
					       "removes nothing while history cannot be read", name,
					       git_msg());
		git_error_clear();
		return;
	}
	for (size_t i = 0, n = git_reflog_entrycount(log); i < n; i++) {
		const git_reflog_entry *e = git_reflog_entry_byindex(log, i);

		add_tip(R, repo, git_reflog_entry_id_old(e), 1);
		add_tip(R, repo, git_reflog_entry_id_new(e), 1);
	}
	git_reflog_free(log);
}

/* Every ref with its reflog, and HEAD with its reflog. */
static int add_refs(struct reach *R, git_repository *repo)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	git_oid head;
	int rc;

	if (git_reference_iterator_new(&it, repo))
		return mlv_error_set(MLV_ERROR, "cannot list the refs of '%s': %s",
				     git_repository_path(repo), git_msg());
	while (!(rc = git_reference_next(&ref, it))) {
		if (git_reference_type(ref) == GIT_REFERENCE_DIRECT)
			add_tip(R, repo, git_reference_target(ref), 0);
		add_reflog(R, repo, git_reference_name(ref));
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (rc != GIT_ITEROVER)
		return mlv_error_set(MLV_ERROR, "cannot list the refs of '%s': %s",
				     git_repository_path(repo), git_msg());
	if (!git_reference_name_to_id(&head, repo, "HEAD"))
		add_tip(R, repo, &head, 0);
	git_error_clear();
	add_reflog(R, repo, "HEAD");
	return 0;
}

static void walk_commits(struct reach *R, git_repository *repo)
{
	while (R->nstack) {
		git_oid id = R->stack[--R->nstack];
		char hex[GIT_OID_HEXSZ + 1];
		char where[GIT_OID_HEXSZ + 16];
		git_commit *c = NULL;
		int rc;

		if ((rc = git_commit_lookup(&c, repo, &id))) {
			/* Beyond a shallow clone's boundary: history that is not there. */
			if (rc == GIT_ENOTFOUND && R->shallow) {
				git_error_clear();
				R->st->commits_missing++;
			} else {
				fail(R, "commit", &id);
			}
			continue;
		}
		R->st->commits++;
		git_oid_tostr(hex, sizeof(hex), &id);
		snprintf(where, sizeof(where), "commit %s", hex);
		walk_tree(R, repo, git_commit_tree_id(c), where);
		for (unsigned i = 0, n = git_commit_parentcount(c); i < n; i++) {
			const git_oid *p = git_commit_parent_id(c, i);

			if (p && !seen(R->commits, p)) {
				MLV_ALLOC_GROW(R->stack, R->nstack + 1, R->stack_alloc);
				R->stack[R->nstack++] = *p;
			}
		}
		git_commit_free(c);
	}
}

/* The pointers staged in a worktree's index, every stage. */
static void add_index(struct reach *R, git_repository *repo, const char *wt)
{
	git_index *ix = NULL;
	char where[512];

	if (git_repository_is_bare(repo))
		return;
	if (git_repository_index(&ix, repo)) {
		if (!R->err)
			R->err = mlv_error_set(MLV_ECORRUPT, "cannot read the index of %s: %s; gc "
					       "removes nothing while it cannot be read", wt, git_msg());
		git_error_clear();
		return;
	}
	snprintf(where, sizeof(where), "the index of %s", wt);
	for (size_t i = 0, n = git_index_entrycount(ix); i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(ix, i);

		if (e && (e->mode == GIT_FILEMODE_BLOB || e->mode == GIT_FILEMODE_BLOB_EXECUTABLE) &&
		    ends_with_mlv(e->path))
			pointer_blob(R, repo, &e->id, where, e->path);
	}
	git_index_free(ix);
}

/* The pointer files on disk in the work tree open on `topfd`. */
static int add_worktree_files(struct reach *R, int topfd, const char *wt)
{
	struct mlv_artifact_list list = { NULL };
	int ret = mlv_artifacts_find_at(&list, topfd, NULL, 0);

	if (ret < 0) {
		mlv_error_wrap(ret, "cannot list the pointers of worktree '%s'", wt);
		return ret;
	}
	for (size_t i = 0; i < list.nr; i++) {
		if (list.items[i].error) {
			R->st->bad_pointers++;
			warnf(R, "skipping bad pointer '%s' in worktree '%s': %s", list.items[i].pointer,
			      wt, list.items[i].error);
			continue;
		}
		mlv_oidset_add(R->roots, &list.items[i].ptr.oid);
	}
	mlv_artifact_list_release(&list);
	return 0;
}

static int add_statcache(struct reach *R, const char *gitdir, int topfd)
{
	char *path = mlv_xstrfmt("%s/mlv/statcache.db", gitdir);
	int ret = mlv_store_gc_statcache_roots(R->roots, path, topfd);

	free(path);
	return ret;
}

/*
 * One worktree other than ours: HEAD, refs, reflogs, index, stat cache,
 * and the pointer files of its work tree.  A work tree that is gone is
 * warned about (what git keeps of it still counts); one that is locked
 * (git worktree lock: on a disk not mounted now) is an error, since its
 * pointers may name data nothing else does.
 */
static int add_other_worktree(struct reach *R, git_repository *repo, const char *gitdir,
			      const char *workdir, int locked, const char *name)
{
	int ret, fd;

	R->st->worktrees++;
	if ((ret = add_refs(R, repo)))
		return ret;
	add_index(R, repo, name);
	fd = workdir ? open(workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	/* A cache whose work tree is gone vouches for nothing there: keep all it names. */
	if ((ret = add_statcache(R, gitdir, fd)) < 0)
		goto done;
	if (!workdir)
		return 0;
	if (fd < 0) {
		if (locked) {
			ret = mlv_error_set_errno(MLV_ENOTFOUND,
						  "linked worktree '%s' is locked and its work tree '%s' cannot be read: "
						  "its pointers may name data nothing else does",
						  name, workdir);
			mlv_error_set_hint("mount it, or run 'git worktree unlock %s' and 'git worktree prune'",
					   name);
			return ret;
		}
		warnf(R, "worktree '%s': its work tree '%s' is gone; keeping what its HEAD, index and stat cache name",
		      name, workdir);
		return 0;
	}
	ret = add_worktree_files(R, fd, workdir);
done:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* A loose ref file or HEAD: "ref: <name>" (resolved in `repo`) or an id. */
static void raw_ref(struct reach *R, git_repository *repo, const char *path)
{
	struct mlv_buf b = MLV_BUF_INIT;
	git_oid id;

	if (mlv_read_file(&b, path, 4096) < 0) {
		mlv_error_clear();
		goto done;
	}
	while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == '\r'))
		mlv_buf_setlen(&b, b.len - 1);
	if (!strncmp(b.ptr, "ref: ", 5)) {
		if (!git_reference_name_to_id(&id, repo, b.ptr + 5))
			add_tip(R, repo, &id, 0);
		git_error_clear();
	} else if (b.len == GIT_OID_HEXSZ && !git_oid_fromstrn(&id, b.ptr, b.len)) {
		add_tip(R, repo, &id, 0);
	}
done:
	mlv_buf_release(&b);
}

/* A reflog file: both ids of every line. */
static void raw_reflog(struct reach *R, git_repository *repo, const char *path)
{
	struct mlv_buf b = MLV_BUF_INIT;
	const char *p, *end;

	if (mlv_read_file(&b, path, (size_t)1 << 30) < 0) {
		mlv_error_clear();
		goto done;
	}
	for (p = b.ptr, end = b.ptr + b.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		git_oid id;

		if (len > 2 * GIT_OID_HEXSZ + 1 && p[GIT_OID_HEXSZ] == ' ') {
			if (!git_oid_fromstrn(&id, p, GIT_OID_HEXSZ))
				add_tip(R, repo, &id, 1);
			if (!git_oid_fromstrn(&id, p + GIT_OID_HEXSZ + 1, GIT_OID_HEXSZ))
				add_tip(R, repo, &id, 1);
		}
		git_error_clear();
		p += len + 1;
	}
done:
	mlv_buf_release(&b);
}

/* Every file below directory `dir` (refs/ or logs/), as refs or reflogs; bounded depth. */
static void raw_tree(struct reach *R, git_repository *repo, const char *dir, int logs, int depth)
{
	DIR *d;
	struct dirent *de;

	if (depth > 32 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		struct stat st;
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = mlv_xstrfmt("%s/%s", dir, de->d_name);
		if (!lstat(path, &st)) {
			if (S_ISDIR(st.st_mode))
				raw_tree(R, repo, path, logs, depth + 1);
			else if (S_ISREG(st.st_mode) && logs)
				raw_reflog(R, repo, path);
			else if (S_ISREG(st.st_mode))
				raw_ref(R, repo, path);
		}
		free(path);
	}
	closedir(d);
}

/*
 * A linked worktree's own git directory, read as files: its HEAD, its
 * per-worktree refs (refs/worktree, refs/bisect: libgit2 does not list
 * them), its reflogs and its index -- so that what it holds is kept even
 * when its work tree was moved or deleted and libgit2 cannot open it.
 */
static int add_worktree_dir(struct reach *R, git_repository *main, const char *dir,
			    const char *name)
{
	char *path = mlv_xstrfmt("%s/HEAD", dir);
	git_index *ix = NULL;
	char where[512];
	int ret = 0;

	raw_ref(R, main, path);
	free(path);
	path = mlv_xstrfmt("%s/refs", dir);
	raw_tree(R, main, path, 0, 0);
	free(path);
	path = mlv_xstrfmt("%s/logs", dir);
	raw_tree(R, main, path, 1, 0);
	free(path);
	path = mlv_xstrfmt("%s/index", dir);
	if (!access(path, F_OK)) {
		if (git_index_open(&ix, path) < 0) {
			ret = mlv_error_set(MLV_ECORRUPT, "cannot read the index of worktree '%s' "
					    "(%s): %s; gc removes nothing while it cannot be read",
					    name, path, git_msg());
			git_error_clear();
		} else {
			snprintf(where, sizeof(where), "the index of worktree %s", name);
			for (size_t i = 0, n = git_index_entrycount(ix); i < n; i++) {
				const git_index_entry *e = git_index_get_byindex(ix, i);

				if (e && (e->mode == GIT_FILEMODE_BLOB ||
					  e->mode == GIT_FILEMODE_BLOB_EXECUTABLE) &&
				    ends_with_mlv(e->path))
					pointer_blob(R, main, &e->id, where, e->path);
			}
			git_index_free(ix);
		}
	}
	free(path);
	return ret;
}

/* Every directory of $GIT_COMMON_DIR/worktrees, whatever git_worktree_list() says of it. */
static int add_worktree_dirs(struct reach *R, git_repository *main)
{
	char *top = mlv_xstrfmt("%s/worktrees", R->r->commondir);
	DIR *d = opendir(top);
	struct dirent *de;
	int ret = 0;

	while (d && !ret && (de = readdir(d))) {
		char *dir;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		dir = mlv_xstrfmt("%s/%s", top, de->d_name);
		if (!lstat(dir, &st) && S_ISDIR(st.st_mode))
			ret = add_worktree_dir(R, main, dir, de->d_name);
		free(dir);
	}
	if (d)
		closedir(d);
	free(top);
	return ret;
}

static int add_linked(struct reach *R, git_repository *main)
{
	git_strarray names = { NULL, 0 };
	int ret = 0;

	if (git_worktree_list(&names, main)) {
		git_error_clear();
		return 0;
	}
	for (size_t i = 0; i < names.count && !ret; i++) {
		const char *name = names.strings[i];
		git_worktree *wt = NULL;
		git_repository *repo = NULL;
		char *gitdir = mlv_xstrfmt("%s/worktrees/%s", R->r->commondir, name);
		char *real = realpath(gitdir, NULL);
		char *ours = realpath(R->r->gitdir, NULL);

		if (real && ours && !strcmp(real, ours)) {
			/* Our own worktree: done by the caller. */
		} else if (git_worktree_lookup(&wt, main, name) ||
			   git_repository_open_from_worktree(&repo, wt)) {
			char *why = mlv_strdup(git_msg());

			git_error_clear();
			if (wt && git_worktree_is_locked(NULL, wt) > 0) {
				ret = mlv_error_set(MLV_ENOTFOUND,
						    "linked worktree '%s' is locked and cannot be opened: "
						    "its pointers may name data nothing else does", name);
				mlv_error_set_hint("mount it, or run 'git worktree unlock %s' and 'git worktree prune'",
						   name);
			} else {
				/* Its HEAD, refs, reflogs and index: add_worktree_dirs(). */
				warnf(R, "worktree '%s' cannot be opened (%s); keeping what its HEAD, "
				      "refs, reflogs, index and stat cache name", name, why);
				ret = add_statcache(R, gitdir, -1);
			}
			free(why);
			git_error_clear();
		} else {
			ret = add_other_worktree(R, repo, gitdir, git_worktree_path(wt),
						 git_worktree_is_locked(NULL, wt) > 0, name);
		}
		git_error_clear();
		git_repository_free(repo);
		git_worktree_free(wt);
		free(real);
		free(ours);
		free(gitdir);
	}
	git_strarray_dispose(&names);
	return ret;
}

int mlv_gc_roots(struct mlv_repo *r, struct mlv_oidset *roots, mlv_gc_warn_fn warn, void *ctx,
		 struct mlv_gc_reach_stats *stats)
{
	struct reach R;
	git_repository *main = NULL;
	int ret;

	memset(stats, 0, sizeof(*stats));
	memset(&R, 0, sizeof(R));
	R.r = r;
	R.roots = roots;
	R.commits = mlv_oidset_new();
	R.trees = mlv_oidset_new();
	R.blobs = mlv_oidset_new();
	R.warn = warn;
	R.ctx = ctx;
	R.st = stats;
	R.shallow = git_repository_is_shallow(r->git) == 1;

	/* This worktree. */
	stats->worktrees++;
	if ((ret = add_refs(&R, r->git)))
		goto done;
	add_index(&R, r->git, r->topfd >= 0 ? r->top : r->gitdir);
	if ((ret = add_statcache(&R, r->gitdir, r->topfd)) < 0)
		goto done;
	if (r->topfd >= 0 && (ret = add_worktree_files(&R, r->topfd, r->top)) < 0)
		goto done;

	/* The main worktree, when this is a linked one, then every linked one. */
	if (git_repository_is_worktree(r->git)) {
		if (git_repository_open_ext(&main, r->commondir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)) {
			ret = mlv_error_set(MLV_ERROR, "cannot open the main repository '%s': %s",
					    r->commondir, git_msg());
			goto done;
		}
		ret = add_other_worktree(&R, main, r->commondir,
					 git_repository_is_bare(main) ? NULL :
									git_repository_workdir(main),
					 0, "main");
		if (ret)
			goto done;
	}
	if ((ret = add_linked(&R, main ? main : r->git)) ||
	    (ret = add_worktree_dirs(&R, main ? main : r->git)))
		goto done;

	walk_commits(&R, r->git);
	stats->roots = mlv_oidset_count(roots);
	if (R.err)
		ret = R.err;
done:
	git_error_clear();
	git_repository_free(main);
	mlv_oidset_free(R.commits);
	mlv_oidset_free(R.trees);
	mlv_oidset_free(R.blobs);
	free(R.stack);
	return ret;
}

static int parse_unit(const char *u, size_t len, int64_t *secs)
{
	static const struct {
		const char *name;
		int64_t secs;
	} units[] = {
		{ "second", 1 }, { "minute", 60 }, { "hour", 3600 }, { "day", 86400 },
		{ "week", 7 * 86400 }, { "month", 30 * 86400 }, { "year", 365 * 86400 },
	};

	if (len > 1 && u[len - 1] == 's')
		len--;
	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
		if (strlen(units[i].name) == len && !strncmp(units[i].name, u, len)) {
			*secs = units[i].secs;
			return 0;
		}
	}
	return -1;
}

int mlv_gc_parse_grace(int64_t *expire_ns, const char *value, int64_t now_ns)
{
	const char *p = value, *unit;
	uint64_t n = 0;
	int64_t secs = 1;
	size_t len;

	if (!strcmp(value, "now")) {
		*expire_ns = now_ns;
		return 0;
	}
	if (!strcmp(value, "never")) {
		*expire_ns = INT64_MIN;
		return 0;
	}
	while (*p >= '0' && *p <= '9')
		p++;
	if (p == value || p - value > 9 || mlv_parse_decimal(&n, value, (size_t)(p - value)) < 0)
		goto bad;
	if (*p) {
		if (*p != '.' && *p != ' ')
			goto bad;
		unit = ++p;
		while (*p && *p != '.' && *p != ' ')
			p++;
		len = (size_t)(p - unit);
		if (parse_unit(unit, len, &secs) < 0)
			goto bad;
		if (*p && strcmp(p, ".ago") && strcmp(p, " ago"))
			goto bad;
	}
	/* Longer than the clock can count back: nothing expires. */
	if (n > (uint64_t)(INT64_MAX / secs / 1000000000) ||
	    now_ns < INT64_MIN + (int64_t)n * secs * 1000000000) {
		*expire_ns = INT64_MIN;
		return 0;
	}
	*expire_ns = now_ns - (int64_t)n * secs * 1000000000;
	return 0;
bad:
	return mlv_error_set(MLV_EINVALID,
			     "bad gc.grace '%s': use 'now', 'never', seconds, or <n>.<unit> "
			     "(seconds, minutes, hours, days, weeks, months, years)", value);
}

int mlv_gc_expiry(struct mlv_repo *r, int64_t now_ns, int64_t *expire_ns)
{
	char *value = NULL;
	int ret = mlv_config_get(r, "gc.grace", &value);

	if (ret == MLV_ENOTFOUND)
		return mlv_gc_parse_grace(expire_ns, MLV_GC_GRACE_DEFAULT, now_ns);
	if (ret < 0)
		return ret;
	ret = mlv_gc_parse_grace(expire_ns, value, now_ns);
	free(value);
	return ret;
}

/* What a file or a directory tree of git's looks like now (stat data only), appended to `fp`. */
static void fingerprint_path(struct mlv_buf *fp, const char *path, int depth)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) < 0) {
		mlv_buf_addf(fp, "%s -\n", path);
		return;
	}
	mlv_buf_addf(fp, "%s %llu %lld.%09ld %llu\n", path, (unsigned long long)st.st_size,
		     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		     (unsigned long long)st.st_ino);
	if (!S_ISDIR(st.st_mode) || depth > 32 || !(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		char *sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = mlv_xstrfmt("%s/%s", path, de->d_name);
		fingerprint_path(fp, sub, depth + 1);
		free(sub);
	}
	closedir(d);
}

/*
 * The refs, reflogs, HEADs and indexes of every worktree, by their stat
 * data: git changes them without mlv's lock (git stash moves a pointer
 * from the work tree into a ref), so reachability is computed again when
 * they changed while it was being computed.
 */
static void fingerprint(struct mlv_repo *r, struct mlv_buf *fp)
{
	static const char *const names[] = { "HEAD", "packed-refs", "index", "refs", "logs" };
	char *wts = mlv_xstrfmt("%s/worktrees", r->commondir);
	DIR *d;
	struct dirent *de;

	mlv_buf_reset(fp);
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		char *path = mlv_xstrfmt("%s/%s", r->commondir, names[i]);

		fingerprint_path(fp, path, 0);
		free(path);
	}
	if ((d = opendir(wts))) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
				char *path = mlv_xstrfmt("%s/%s/%s", wts, de->d_name, names[i]);

				fingerprint_path(fp, path, 0);
				free(path);
			}
		}
		closedir(d);
	}
	free(wts);
}

/* Attempts at reading the roots while git keeps changing its refs. */
#define GC_MARK_TRIES 5

int mlv_gc(struct mlv_repo *r, const struct mlv_gc_opts *o, struct mlv_gc_result *out)
{
	struct mlv_store_gc_opts so;
	struct mlv_oidset *roots = NULL;
	struct mlv_store *s;
	int ret, locked = 0;

	memset(out, 0, sizeof(*out));
	if ((ret = mlv_repo_store(&s, r)) < 0)
		return ret;
	if (!o->dry_run) {
		if ((ret = mlv_store_gc_lock(s, o->lock_wait_ms ? o->lock_wait_ms : 10000,
					     o->waiting, o->ctx)))
			return ret;
		locked = 1;
	}
	/* After the lock: an add that finished has written its pointer. */
	for (int tries = 0;; tries++) {
		struct mlv_buf before = MLV_BUF_INIT, after = MLV_BUF_INIT;
		int same;

		fingerprint(r, &before);
		roots = mlv_oidset_new();
		ret = mlv_gc_roots(r, roots, o->warn, o->ctx, &out->reach);
		fingerprint(r, &after);
		same = before.len == after.len && !memcmp(before.ptr, after.ptr, before.len);
		mlv_buf_release(&before);
		mlv_buf_release(&after);
		if (ret)
			goto done;
		if (same)
			break;
		mlv_oidset_free(roots);
		roots = NULL;
		if (tries + 1 == GC_MARK_TRIES) {
			ret = mlv_error_set(MLV_ECONFLICT, "git's refs and index changed every time "
					    "gc read them (%d times): nothing was removed",
					    GC_MARK_TRIES);
			mlv_error_set_hint("run 'mlv gc' again when git is idle");
			goto done;
		}
	}
	memset(&so, 0, sizeof(so));
	so.expire_ns = o->expire_ns;
	so.dry_run = o->dry_run;
	so.item = o->item;
	so.ctx = o->ctx;
	ret = mlv_store_gc(s, roots, &so, &out->store);
done:
	if (locked) {
		struct mlv_error_state es;

		mlv_error_state_capture(&es, ret);
		mlv_store_gc_unlock(s);
		ret = mlv_error_state_restore(&es);
	}
	mlv_oidset_free(roots);
	return ret;
}
