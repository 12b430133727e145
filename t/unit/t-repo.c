/*
 * Repository handles: one process holds several (two repositories, two
 * worktrees of one) without changing directory, and each finds its store
 * where mlv-formats(5) says.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/repo.h"
#include "mlv/store.h"
#include "tap.h"

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

static int is_dir(const char *path)
{
	struct stat st;

	return !lstat(path, &st) && S_ISDIR(st.st_mode);
}

static int put(struct mlv_store *s, const char *text, struct mlv_oid *id)
{
	struct mlv_store_writer *w;
	int ret = mlv_store_writer_new(&w, s);

	if (!ret && !(ret = mlv_store_writer_put_buf(w, id, text, strlen(text))))
		ret = mlv_store_writer_commit(w);
	mlv_store_writer_free(w);
	return ret;
}

static void test_two_repositories(const char *dir)
{
	char a[4096], b[4096], sub[4200], path[4400], cwd[4096], cwd2[4096];
	struct mlv_repo *ra = NULL, *rb = NULL;
	struct mlv_store *sa, *sb;
	struct mlv_oid ia, ib;
	int fd;

	snprintf(a, sizeof(a), "%s/one", dir);
	snprintf(b, sizeof(b), "%s/two", dir);
	ok(!sh("git init -q '%s' && git init -q '%s'", a, b), "two git repositories");
	snprintf(sub, sizeof(sub), "%s/deep/er", a);
	ok(!sh("mkdir -p '%s'%s", sub, ""), "a subdirectory");
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';

	is_int(mlv_repo_open(&ra, sub), 0, "open the first from its subdirectory: %s", mlv_error_last());
	is_int(mlv_repo_open(&rb, b), 0, "open the second");
	if (!ra || !rb)
		goto done;
	is_str(ra->prefix, "deep/er", "prefix of the first");
	is_str(rb->prefix, "", "prefix of the second");
	ok(getcwd(cwd2, sizeof(cwd2)) && !strcmp(cwd, cwd2), "the current directory did not change");
	is_int(ra->initialized, 0, "not initialised yet");
	is_int(mlv_repo_init(ra, NULL), 0, "init the first: %s", mlv_error_last());
	is_int(mlv_repo_init(rb, NULL), 0, "init the second");
	snprintf(path, sizeof(path), "%s/.git/mlv/packs", a);
	ok(is_dir(path), "the store is in .git/mlv");
	snprintf(path, sizeof(path), "%s/.mlv/config", a);
	ok(!access(path, F_OK), ".mlv/config in the work tree");
	snprintf(path, sizeof(path), "%s/.mlv/store", a);
	ok(access(path, F_OK), "no store in the work tree");

	is_int(mlv_repo_store(&sa, ra), 0, "first store");
	is_int(mlv_repo_store(&sb, rb), 0, "second store");
	is_int(put(sa, "only in one", &ia), 0, "write to the first");
	is_int(put(sb, "only in two", &ib), 0, "write to the second");
	is_int(mlv_store_has(sa, &ia), 1, "the first has its object");
	is_int(mlv_store_has(sa, &ib), 0, "not the second's");
	is_int(mlv_store_has(sb, &ib), 1, "the second has its object");
	is_int(mlv_store_has(sb, &ia), 0, "not the first's");

	/* Each handle's temporary directory is its own worktree's. */
	{
		int ta, tb;

		is_int(mlv_repo_tmpdir(ra, &ta, NULL), 0, "first tmpdir");
		is_int(mlv_repo_tmpdir(rb, &tb, NULL), 0, "second tmpdir");
		snprintf(path, sizeof(path), "%s/.git/mlv/tmp", a);
		ok(is_dir(path), "in $GIT_DIR/mlv/tmp");
		fd = openat(ta, "probe", O_CREAT | O_WRONLY, 0644);
		ok(fd >= 0, "usable");
		if (fd >= 0)
			close(fd);
		snprintf(path, sizeof(path), "%s/.git/mlv/tmp/probe", b);
		ok(access(path, F_OK), "and not the other's");
		unlinkat(ta, "probe", 0);
	}
done:
	mlv_repo_free(ra);
	mlv_repo_free(rb);
}

static void test_worktrees(const char *dir)
{
	char main_[4096], wt[4096], path[4400];
	struct mlv_repo *rm = NULL, *rw = NULL;
	struct mlv_store *sm, *sw;
	struct mlv_oid id, got;
	struct mlv_stat st = { 1, 1, 1, 1, 1, 0100644 };

	snprintf(main_, sizeof(main_), "%s/main", dir);
	snprintf(wt, sizeof(wt), "%s/linked", dir);
	ok(!sh("git init -q '%s' && git -C '%s' commit -q --allow-empty -m init", main_, main_),
	   "a repository with a commit");
	ok(!sh("git -C '%s' worktree add -q '%s' 2>/dev/null", main_, wt), "a linked worktree");
	is_int(mlv_repo_open(&rm, main_), 0, "open the main worktree");
	is_int(mlv_repo_open(&rw, wt), 0, "open the linked one: %s", mlv_error_last());
	if (!rm || !rw)
		goto done;
	ok(strcmp(rm->gitdir, rw->gitdir) && !strcmp(rm->commondir, rw->commondir),
	   "different git directories, one common directory");
	is_str(rw->storedir, rm->storedir, "one store");
	is_int(mlv_repo_init(rm, NULL), 0, "init in the main worktree");
	is_int(mlv_repo_init(rw, NULL), 0, "init in the linked one");
	is_int(mlv_repo_store(&sm, rm), 0, "main's store");
	is_int(mlv_repo_store(&sw, rw), 0, "linked's store");
	is_int(put(sm, "shared", &id), 0, "write in the main worktree");
	is_int(mlv_store_has_blob(sw, &id), 1, "the linked worktree sees it");

	is_int(mlv_statcache_begin(sm), 0, "stat cache batch");
	is_int(mlv_statcache_put(sm, "f", &st, &id, 10), 0, "an entry in the main worktree");
	is_int(mlv_statcache_end(sm, 1), 0, "committed");
	is_int(mlv_statcache_lookup(sm, "f", &st, &got), 1, "the main worktree vouches");
	is_int(mlv_statcache_lookup(sw, "f", &st, &got), 0, "the linked one has its own cache");
	snprintf(path, sizeof(path), "%s/.git/worktrees/linked/mlv/statcache.db", main_);
	ok(!access(path, F_OK), "in its own $GIT_DIR/mlv");
done:
	mlv_repo_free(rm);
	mlv_repo_free(rw);
}

static void test_discover_env(const char *dir)
{
	char top[4096], sub[4200], gitdir[4200], cwd[4096];
	struct mlv_repo *r = NULL;

	snprintf(top, sizeof(top), "%s/env", dir);
	snprintf(sub, sizeof(sub), "%s/a/b", top);
	snprintf(gitdir, sizeof(gitdir), "%s/.git", top);
	ok(!sh("git init -q '%s' && mkdir -p '%s'", top, sub), "a repository");
	if (!getcwd(cwd, sizeof(cwd)) || chdir(sub))
		return;
	setenv("GIT_DIR", gitdir, 1);
	is_int(mlv_repo_discover(&r), 0, "GIT_DIR from a subdirectory, as in a hook");
	if (r) {
		is_str(r->prefix, "a/b", "the prefix is where we stand");
		mlv_repo_free(r);
		r = NULL;
	}
	setenv("GIT_WORK_TREE", top, 1);
	is_int(mlv_repo_discover(&r), 0, "GIT_DIR and GIT_WORK_TREE");
	if (r) {
		is_str(r->prefix, "a/b", "prefix");
		mlv_repo_free(r);
		r = NULL;
	}
	unsetenv("GIT_WORK_TREE");
	unsetenv("GIT_DIR");
	setenv("GIT_CEILING_DIRECTORIES", top, 1);
	is_int(mlv_repo_discover(&r), MLV_ENOTFOUND, "not above GIT_CEILING_DIRECTORIES");
	mlv_repo_free(r);
	unsetenv("GIT_CEILING_DIRECTORIES");
	if (chdir(cwd))
		tap_diag("cannot go back");
}

int main(void)
{
	const char *dir = tap_tmpdir();

	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "t", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "t", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
	test_two_repositories(dir);
	test_worktrees(dir);
	test_discover_env(dir);
	return tap_done();
}
