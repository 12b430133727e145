#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/gitignore.h"
#include "tap.h"

static struct mlv_buf dir = MLV_BUF_INIT, gi = MLV_BUF_INIT;

static void put(const char *content)
{
	if (mlv_write_file_atomic(gi.ptr, content, strlen(content), 0644, 0) < 0)
		tap_diag("cannot write %s: %s", gi.ptr, mlv_error_last());
}

/* The .gitignore's content, or "<missing>". */
static const char *get(void)
{
	static struct mlv_buf b = MLV_BUF_INIT;

	mlv_buf_reset(&b);
	if (mlv_read_file(&b, gi.ptr, 1 << 20) < 0) {
		mlv_buf_reset(&b);
		mlv_buf_adds(&b, "<missing>");
	}
	return b.ptr;
}

static void pattern(const char *name, const char *want)
{
	struct mlv_buf b = MLV_BUF_INIT;

	is_int(mlv_gitignore_pattern(&b, name), 0, "pattern for '%s'", name);
	is_str(b.ptr, want, "pattern for '%s' is '%s'", name, want);
	mlv_buf_release(&b);
}

static void test_pattern(void)
{
	struct mlv_buf b = MLV_BUF_INIT;

	pattern("data", "/data");
	pattern("#x", "/#x");
	pattern("!x", "/!x");
	pattern("a*b?[c]\\d", "/a\\*b\\?\\[c]\\\\d");
	pattern("sp ace  ", "/sp ace\\ \\ ");
	pattern(" ", "/\\ ");
	pattern("a\rb", "/a\rb");
	pattern("a\tb", "/a\tb");

	is_int(mlv_gitignore_pattern(&b, "a\nb"), MLV_EINVALID, "newline in name refused");
	ok(strstr(mlv_error_last(), "newline") != NULL, "message says newline");
	is_int(mlv_gitignore_pattern(&b, "a\r"), MLV_EINVALID, "final CR refused");
	is_int(mlv_gitignore_pattern(&b, ""), MLV_EINVALID, "empty name refused");
	is_int(mlv_gitignore_pattern(&b, ".."), MLV_EINVALID, "'..' refused");
	is_int(mlv_gitignore_pattern(&b, "a/b"), MLV_EINVALID, "'a/b' refused");
	is_int((long long)b.len, 0, "output unchanged on refusal");
	mlv_buf_release(&b);
}

/* The .gitignore of directory `path` (absolute), through the fd-based API. */
static int gi_update(const char *path, const char *name, int add)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = add ? mlv_gitignore_add_at(fd, "", name) : mlv_gitignore_remove_at(fd, "", name);
	close(fd);
	return ret;
}

static int gi_add(const char *path, const char *name)
{
	return gi_update(path, name, 1);
}

static int gi_remove(const char *path, const char *name)
{
	return gi_update(path, name, 0);
}

static void test_add_remove(void)
{
	struct stat st;

	is_int(gi_remove(dir.ptr, "x"), 0, "remove from missing file");
	is_str(get(), "<missing>", "remove does not create the file");

	is_int(gi_add(dir.ptr, "train"), 0, "add creates the file");
	is_str(get(), "/train\n", "new file content");
	ok(!stat(gi.ptr, &st) && (st.st_mode & 0777) == 0644, "new file is 0644");
	is_int(gi_add(dir.ptr, "train"), 0, "add again");
	is_str(get(), "/train\n", "add is idempotent");

	put("# comment\r\n\n  odd line \n*.o\n!keep\n/other");
	is_int(gi_add(dir.ptr, "train"), 0, "add to existing file");
	is_str(get(), "# comment\r\n\n  odd line \n*.o\n!keep\n/other\n/train\n",
	       "other lines kept byte for byte, final newline added");
	is_int(gi_remove(dir.ptr, "train"), 0, "remove");
	is_str(get(), "# comment\r\n\n  odd line \n*.o\n!keep\n/other\n", "removed exactly that line");
	is_int(gi_remove(dir.ptr, "train"), 0, "remove again");
	is_str(get(), "# comment\r\n\n  odd line \n*.o\n!keep\n/other\n", "remove is idempotent");
	is_int(gi_remove(dir.ptr, "other"), 0, "remove a line mlv did not write");
	is_str(get(), "# comment\r\n\n  odd line \n*.o\n!keep\n", "it is gone");

	/* Lines that merely look alike are not touched. */
	put("train\n/train/\n/train \n/trains\n/train\r\n/x\n/train");
	is_int(gi_add(dir.ptr, "train"), 0, "add when present with CRLF");
	is_str(get(), "train\n/train/\n/train \n/trains\n/train\r\n/x\n/train",
	       "present line (CRLF or unterminated) means no write");
	is_int(gi_remove(dir.ptr, "train"), 0, "remove all copies");
	is_str(get(), "train\n/train/\n/train \n/trains\n/x\n", "only exact lines removed");

	put("/a*\n");
	is_int(gi_add(dir.ptr, "a*"), 0, "add name with '*'");
	is_str(get(), "/a*\n/a\\*\n", "escaped line added beside the glob");
	is_int(gi_remove(dir.ptr, "a*"), 0, "remove name with '*'");
	is_str(get(), "/a*\n", "the glob line stays");

	put("/only\n");
	is_int(gi_remove(dir.ptr, "only"), 0, "remove the last line");
	is_str(get(), "<missing>", "a file left empty is removed");
	put("");
	is_int(gi_add(dir.ptr, "a\nb"), MLV_EINVALID, "add refuses newline");
	is_str(get(), "", "nothing written on refusal");

	chmod(gi.ptr, 0600);
	is_int(gi_add(dir.ptr, "m"), 0, "add to a 0600 file");
	ok(!stat(gi.ptr, &st) && (st.st_mode & 0777) == 0600, "permission bits kept");
}

static void test_refusals(void)
{
	struct mlv_buf target = MLV_BUF_INIT;

	mlv_buf_addf(&target, "%s/elsewhere", dir.ptr);
	mlv_write_file_atomic(target.ptr, "secret\n", 7, 0644, 0);
	unlink(gi.ptr);
	ok(!symlink(target.ptr, gi.ptr), "make .gitignore a symlink");
	is_int(gi_add(dir.ptr, "x"), MLV_EINVALID, "add refuses a symlinked .gitignore");
	ok(strstr(mlv_error_last(), "symbolic link") != NULL, "message says symbolic link");
	is_int(gi_remove(dir.ptr, "x"), MLV_EINVALID, "remove refuses it too");
	is_str(get(), "secret\n", "link target untouched");
	unlink(gi.ptr);

	ok(!mkdir(gi.ptr, 0755), "make .gitignore a directory");
	is_int(gi_add(dir.ptr, "x"), MLV_EINVALID, "add refuses a non-file");
	rmdir(gi.ptr);
	mlv_buf_release(&target);
}

/* Concurrent edits by several processes never lose a line: the lock serialises them. */
static void test_concurrent(void)
{
	enum { N = 8, ROUNDS = 10 };
	pid_t pids[N];
	int failed = 0;
	size_t lines = 0;
	const char *content;

	unlink(gi.ptr);
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			for (int k = 0; k < ROUNDS; k++) {
				char name[32];

				snprintf(name, sizeof(name), "p%d-%d", i, k);
				if (gi_add(dir.ptr, name) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < N; i++) {
		int status;

		if (pids[i] < 0 || waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			failed++;
	}
	is_int(failed, 0, "%d processes adding %d lines each all succeed", N, ROUNDS);
	content = get();
	for (const char *p = content; *p; p++)
		lines += *p == '\n';
	is_int((long long)lines, N * ROUNDS, "no line is lost");
}

/* The _at variants: a directory below a directory fd, never through a symlink. */
static void test_at(void)
{
	struct mlv_buf sub = MLV_BUF_INIT, file = MLV_BUF_INIT, link = MLV_BUF_INIT;
	int fd = open(dir.ptr, O_RDONLY | O_DIRECTORY);

	mlv_buf_addf(&sub, "%s/at", dir.ptr);
	mlv_buf_addf(&file, "%s/at/.gitignore", dir.ptr);
	mlv_buf_addf(&link, "%s/atlink", dir.ptr);
	mkdir(sub.ptr, 0755);
	is_int(mlv_gitignore_add_at(fd, "at", "x"), 0, "add_at below a directory fd");
	ok(access(file.ptr, F_OK) == 0, "at/.gitignore written");
	is_int(mlv_gitignore_remove_at(fd, "at", "x"), 0, "remove_at");
	ok(!symlink("at", link.ptr), "make a symlinked directory");
	ok(mlv_gitignore_add_at(fd, "atlink", "y") < 0, "add_at refuses a symlinked directory");
	close(fd);
	mlv_buf_release(&sub);
	mlv_buf_release(&file);
	mlv_buf_release(&link);
}

/* 1 when `git check-ignore` says `name` in `d` is ignored, 0 when not, -1 on error. */
static int git_ignores(const char *d, const char *name)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execlp("git", "git", "-C", d, "check-ignore", "-q", "--no-index", "--", name,
		       (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status) == 0 ? 1 : WEXITSTATUS(status) == 1 ? 0 : -1;
}

/* Does git itself read our patterns as matching exactly the one name? */
static void test_with_git(void)
{
	static const char *const names[][2] = {
		{ "a*", "ab" }, { "q?", "qx" }, { "[ab]", "a" }, { "back\\slash", "backslash" },
		{ "sp ", "sp" }, { "#hash", "hash" }, { "!bang", "bang" }, { "plain", "plainer" },
	};
	struct mlv_buf repo = MLV_BUF_INIT, cmd = MLV_BUF_INIT;

	mlv_buf_addf(&repo, "%s/repo", dir.ptr);
	mlv_buf_addf(&cmd, "git init -q '%s' 2>/dev/null", repo.ptr);
	if (system(cmd.ptr) != 0) {
		tap_skip("git not available");
		goto done;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		is_int(gi_add(repo.ptr, names[i][0]), 0, "add '%s'", names[i][0]);
		is_int(git_ignores(repo.ptr, names[i][0]), 1, "git ignores '%s'", names[i][0]);
		is_int(git_ignores(repo.ptr, names[i][1]), 0, "git does not ignore '%s'",
		       names[i][1]);
	}
done:
	mlv_buf_release(&repo);
	mlv_buf_release(&cmd);
}

int main(void)
{
	mlv_buf_adds(&dir, tap_tmpdir());
	mlv_buf_addf(&gi, "%s/.gitignore", dir.ptr);
	test_pattern();
	test_add_remove();
	test_refusals();
	test_concurrent();
	test_at();
	test_with_git();
	mlv_buf_release(&dir);
	mlv_buf_release(&gi);
	return tap_done();
}
