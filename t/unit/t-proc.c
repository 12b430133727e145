/*
 * The process layer of mlv run (lib/run/proc.c, lib/run/trace.c): start,
 * exit codes, fds, directory, signals, and tracing file opens.
 *
 * Run with "--helper-threads <n> <dir>" it opens <dir>/t<i> from n
 * threads; with "--helper-vfork <file>" it reads <file> with cat(1)
 * started through vfork: programs for the tracer to follow.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/proc.h"
#include "tap.h"

extern char **environ;

static char tmp[1024];
static char self[PATH_MAX];
static int tmpfd;

/* --- helper programs --- */

static const char *helper_dir;

static void *open_in_thread(void *arg)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/t%ld", helper_dir, (long)(intptr_t)arg);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int helper_threads(int n, const char *dir)
{
	pthread_t th[64];

	helper_dir = dir;
	if (n > 64)
		n = 64;
	for (long i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, open_in_thread, (void *)(intptr_t)i))
			return 2;
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return 0;
}

static int helper_vfork(const char *file)
{
	char *argv[] = { "cat", (char *)file, NULL };
	int st;
	pid_t pid = vfork();

	if (pid == 0) {
		execvp("cat", argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return 2;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

/* The open(2) system call without the preload's cookie: only the tracer sees it. */
static int helper_raw(const char *file)
{
	long fd = syscall(SYS_openat, AT_FDCWD, file, O_RDONLY | O_CLOEXEC, 0, 0x1234L, 0x5678L);

	return fd < 0 ? 2 : 0;
}

/* A fork child that opens a file and exits without an exec. */
static int helper_fork(const char *file)
{
	int st, fd;
	pid_t pid = fork();

	if (pid == 0) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		_exit(fd < 0 ? 2 : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return 2;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

/* fopen, opendir, creat and truncate on <dir>/f-read, f-write, f-creat. */
static int helper_stdio(const char *dir)
{
	char path[PATH_MAX];
	FILE *f;
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "%s/f-read", dir);
	if (!(f = fopen(path, "re")) || fgetc(f) != 'r')
		return 2;
	fclose(f);
	snprintf(path, sizeof(path), "%s/f-write", dir);
	if (!(f = fopen(path, "w")) || fputs("w\n", f) < 0 || fclose(f))
		return 3;
	snprintf(path, sizeof(path), "%s/f-creat", dir);
	if ((fd = creat(path, 0644)) < 0)
		return 4;
	close(fd);
	if (truncate(path, 0) < 0)
		return 5;
	if (!(d = opendir(dir)))
		return 6;
	closedir(d);
	return 0;
}

/* --- tools --- */

static void put(const char *name, const char *content, mode_t mode)
{
	int fd = openat(tmpfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, content, strlen(content)) < 0)
		abort();
	close(fd);
	if (fchmodat(tmpfd, name, mode, 0) < 0)
		abort();
}

static char *at(const char *name)
{
	static char buf[16][1100];
	static int i;

	i = (i + 1) % 16;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
	return buf[i];
}

struct outcome {
	int ret, exec_errno;
	char out[4096];
	struct mlv_proc_result res;
};

/* Run argv to its end, stdout captured (stdin /dev/null unless fd_in given). */
static void run(struct outcome *oc, struct mlv_proc_opts *o)
{
	struct mlv_proc *p;
	int pfd[2];
	size_t len = 0;
	ssize_t n;

	memset(oc, 0, sizeof(*oc));
	if (pipe2(pfd, O_CLOEXEC) < 0)
		abort();
	o->fd_out = pfd[1];
	oc->ret = mlv_proc_start(&p, o, &oc->exec_errno);
	close(pfd[1]);
	while ((n = read(pfd[0], oc->out + len, sizeof(oc->out) - 1 - len)) > 0)
		len += n;
	oc->out[len] = '\0';
	close(pfd[0]);
	if (oc->ret < 0)
		return;
	if (mlv_proc_wait(p, &oc->res) < 0)
		oc->ret = -1000;
	mlv_proc_free(p);
}

static void run_argv(struct outcome *oc, int trace, char *const *argv)
{
	struct mlv_proc_opts o = MLV_PROC_OPTS_INIT;

	o.argv = argv;
	o.trace = trace;
	run(oc, &o);
}

static unsigned traced(const struct mlv_proc_result *res, const char *path)
{
	for (size_t i = 0; i < res->nr_files; i++)
		if (!strcmp(res->files[i].path, path))
			return res->files[i].flags | 0x100;
	return 0;
}

static void release(struct outcome *oc)
{
	mlv_proc_result_release(&oc->res);
}

/* --- starting and exit codes --- */

static void test_exit_codes(void)
{
	struct outcome oc;
	char *exit7[] = { "sh", "-c", "exit 7", NULL };
	char *term[] = { "sh", "-c", "kill -TERM $$", NULL };
	char *missing[] = { "mlv-no-such-command-here", NULL };
	char *notexec[] = { at("plain"), NULL };
	char *dir[] = { tmp, NULL };
	char *noshebang[] = { at("noshebang"), NULL };
	char *slash_missing[] = { at("nope/cmd"), NULL };

	run_argv(&oc, 0, exit7);
	is_int(oc.ret, 0, "sh starts");
	ok(WIFEXITED(oc.res.status) && WEXITSTATUS(oc.res.status) == 7, "its exit status passes through");
	is_int(mlv_proc_exit_code(oc.res.status), 7, "exit code 7");
	is_int(oc.res.trace_mode, MLV_TRACE_MODE_OFF, "not traced when not asked");
	release(&oc);

	run_argv(&oc, 0, term);
	ok(WIFSIGNALED(oc.res.status) && WTERMSIG(oc.res.status) == SIGTERM, "death by a signal is seen");
	is_int(mlv_proc_exit_code(oc.res.status), 128 + SIGTERM, "exit code 128+N");
	release(&oc);

	run_argv(&oc, 0, missing);
	is_int(oc.ret, MLV_ENOTFOUND, "a missing command is not found");
	is_int(oc.exec_errno, ENOENT, "...with ENOENT");
	is_int(mlv_proc_start_exit_code(oc.ret), 127, "...exit code 127");
	ok(strstr(mlv_error_last(), "mlv-no-such-command-here") != NULL, "the error names it: %s",
	   mlv_error_last());

	run_argv(&oc, 0, slash_missing);
	is_int(oc.ret, MLV_ENOTFOUND, "a path through a file is not found (ENOTDIR)");

	put("plain", "echo hi\n", 0644);
	run_argv(&oc, 0, notexec);
	is_int(oc.ret, MLV_EUNSUPPORTED, "a file without x bits cannot be executed");
	is_int(oc.exec_errno, EACCES, "...EACCES");
	is_int(mlv_proc_start_exit_code(oc.ret), 126, "...exit code 126");

	run_argv(&oc, 0, dir);
	is_int(oc.ret, MLV_EUNSUPPORTED, "a directory cannot be executed");
	is_int(mlv_proc_start_exit_code(oc.ret), 126, "...exit code 126");

	put("noshebang", "echo script; exit 3\n", 0755);
	run_argv(&oc, 0, noshebang);
	is_int(oc.ret, 0, "a script without #! runs through /bin/sh as execvp does");
	is_int(WEXITSTATUS(oc.res.status), 3, "...its status");
	is_str(oc.out, "script\n", "...its output");
	release(&oc);

	/* The same with tracing: failures are learned the same way. */
	run_argv(&oc, 1, missing);
	is_int(oc.ret, MLV_ENOTFOUND, "traced: a missing command is not found");
	run_argv(&oc, 1, notexec);
	is_int(oc.ret, MLV_EUNSUPPORTED, "traced: cannot execute");
	run_argv(&oc, 1, exit7);
	is_int(WEXITSTATUS(oc.res.status), 7, "traced: the exit status passes through");
	release(&oc);
}

static void test_env_path(void)
{
	struct outcome oc;
	struct mlv_proc_opts o = MLV_PROC_OPTS_INIT;
	char path[PATH_MAX + 8];
	char *tool[] = { "mlv-test-tool", "a b", NULL };
	char *sh[] = { "sh", "-c", "true", NULL };
	char *env[] = { path, "MLV_TEST_VAR=value", NULL };

	if (mkdirat(tmpfd, "bin", 0777) < 0 && errno != EEXIST)
		abort();
	put("bin/mlv-test-tool", "#!/bin/sh\necho \"$MLV_TEST_VAR:$1\"\nexit 42\n", 0755);
	snprintf(path, sizeof(path), "PATH=/nonexistent::%s", at("bin"));
	o.argv = tool;
	o.envp = env;
	run(&oc, &o);
	is_int(oc.ret, 0, "a command found in the given environment's PATH");
	is_int(WEXITSTATUS(oc.res.status), 42, "...ran");
	is_str(oc.out, "value:a b\n", "...with the given environment and argv");
	release(&oc);

	o.argv = sh;
	run(&oc, &o);
	is_int(oc.ret, MLV_ENOTFOUND, "mlv's own PATH is not searched");
}

static void test_fds_and_dir(void)
{
	struct outcome oc;
	struct mlv_proc_opts o = MLV_PROC_OPTS_INIT;
	char *echo[] = { "sh", "-c", "read x; echo \"out:$x\"; echo err >&2; pwd -P", NULL };
	char *sub = at("sub");
	char want[PATH_MAX + 32], err[64] = "";
	int in, errfd, dirfd;
	ssize_t n;

	if (mkdirat(tmpfd, "sub", 0777) < 0)
		abort();
	put("input", "line\n", 0644);
	in = openat(tmpfd, "input", O_RDONLY | O_CLOEXEC);
	errfd = openat(tmpfd, "err", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	dirfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	o.argv = echo;
	o.fd_in = in;
	o.fd_err = errfd;
	o.dirfd = dirfd;
	run(&oc, &o);
	snprintf(want, sizeof(want), "out:line\n%s\n", sub);
	is_str(oc.out, want, "stdin and stdout are wired; it runs in the directory fd");
	n = pread(errfd, err, sizeof(err) - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	is_str(err, "err\n", "stderr is wired");
	ok(fcntl(in, F_GETFD) == FD_CLOEXEC, "the caller's fds are left as they were");
	release(&oc);

	/* stdout and stderr given as each other's numbers: 1 -> 2 and 2 -> 1. */
	{
		int save1 = dup(1), save2 = dup(2), p1[2], p2[2];
		char *both[] = { "sh", "-c", "echo one; echo two >&2", NULL };
		struct mlv_proc *p;
		struct mlv_proc_result res;
		char b1[16] = "", b2[16] = "";

		if (pipe(p1) < 0 || pipe(p2) < 0 || dup2(p1[1], 1) < 0 || dup2(p2[1], 2) < 0)
			abort();
		close(p1[1]);
		close(p2[1]);
		o = (struct mlv_proc_opts)MLV_PROC_OPTS_INIT;
		o.argv = both;
		o.fd_out = 2;
		o.fd_err = 1;
		n = mlv_proc_start(&p, &o, NULL);
		if (n == 0) {
			mlv_proc_wait(p, &res);
			mlv_proc_free(p);
		}
		dup2(save1, 1);
		dup2(save2, 2);
		close(save1);
		close(save2);
		n = read(p2[0], b2, sizeof(b2) - 1);
		b2[n > 0 ? n : 0] = '\0';
		n = read(p1[0], b1, sizeof(b1) - 1);
		b1[n > 0 ? n : 0] = '\0';
		close(p1[0]);
		close(p2[0]);
		is_str(b2, "one\n", "swapped fds: stdout went to the caller's 2");
		is_str(b1, "two\n", "swapped fds: stderr went to the caller's 1");
	}
	close(in);
	close(errfd);
	close(dirfd);
}

/* Read from fd until `want` shows up (or EOF / 20 s). */
static int wait_for(int fd, const char *want)
{
	char buf[256];
	size_t len = 0;

	for (int i = 0; i < 200; i++) {
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pf, 1, 100) <= 0)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return 0;
		len += n;
		buf[len] = '\0';
		if (strstr(buf, want))
			return 1;
		if (len == sizeof(buf) - 1)
			len = 0;
	}
	return 0;
}

static int file_appears(const char *name)
{
	struct stat st;

	for (int i = 0; i < 200; i++) {
		if (fstatat(tmpfd, name, &st, 0) == 0 && st.st_size > 0)
			return 1;
		usleep(50000);
	}
	return 0;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *s;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	s = strrchr(buf, ')');
	return s && s[1] == ' ' ? s[2] : 0;
}

static void test_signals(int trace)
{
	struct mlv_proc_opts o = MLV_PROC_OPTS_INIT;
	struct mlv_proc_result res;
	struct mlv_proc *p;
	char script[PATH_MAX + 200];
	char *argv[] = { "sh", "-c", script, NULL };
	char marker[32];
	int pfd[2], ret;

	/* A grandchild in the group gets the forwarded signal. */
	snprintf(marker, sizeof(marker), "got-term-%d", trace);
	snprintf(script, sizeof(script),
		 "(trap 'echo got >%s; exit 0' TERM; echo ready; while :; do sleep 0.05; done) & wait",
		 at(marker));
	if (pipe2(pfd, O_CLOEXEC) < 0)
		abort();
	o.argv = argv;
	o.fd_out = pfd[1];
	o.fd_err = open("/dev/null", O_WRONLY | O_CLOEXEC);
	o.trace = trace;
	ret = mlv_proc_start(&p, &o, NULL);
	close(pfd[1]);
	is_int(ret, 0, "[trace=%d] started a shell with a background child", trace);
	if (ret < 0)
		return;
	ok(mlv_proc_pid(p) > 0 && getpgid(mlv_proc_pid(p)) == mlv_proc_pid(p),
	   "[trace=%d] it leads its own process group", trace);
	ok(wait_for(pfd[0], "ready"), "[trace=%d] the grandchild runs", trace);
	is_int(mlv_proc_try_wait(p, &res), 0, "[trace=%d] try_wait: still running", trace);
	is_int(mlv_proc_kill(p, SIGTERM), 0, "[trace=%d] SIGTERM forwarded to the group", trace);
	ok(file_appears(marker), "[trace=%d] the grandchild got it", trace);
	is_int(mlv_proc_wait(p, &res), 0, "[trace=%d] waited", trace);
	ok(WIFSIGNALED(res.status) && WTERMSIG(res.status) == SIGTERM,
	   "[trace=%d] the shell died of it", trace);
	if (mlv_proc_pidfd(p) >= 0) {
		struct pollfd pf = { mlv_proc_pidfd(p), POLLIN, 0 };

		is_int(poll(&pf, 1, 5000), 1, "[trace=%d] the pidfd polls readable", trace);
	}
	mlv_proc_result_release(&res);
	mlv_proc_free(p);
	close(pfd[0]);

	/* A trapped signal (re-injected by the tracer) and a stop/continue. */
	snprintf(script, sizeof(script),
		 "trap 'echo trapped; exit 3' USR1; echo ready; while :; do echo tick; sleep 0.05; done");
	if (pipe2(pfd, O_CLOEXEC) < 0)
		abort();
	o.fd_out = pfd[1];
	ret = mlv_proc_start(&p, &o, NULL);
	close(pfd[1]);
	if (ret < 0) {
		ok(0, "[trace=%d] start: %s", trace, mlv_error_last());
		return;
	}
	ok(wait_for(pfd[0], "ready"), "[trace=%d] the trapping shell runs", trace);
	mlv_proc_kill(p, SIGSTOP);
	{
		char buf[256];
		struct pollfd pf = { pfd[0], POLLIN, 0 };

		/* Drain what was on its way, then it must stay silent. */
		while (poll(&pf, 1, 200) > 0 && read(pfd[0], buf, sizeof(buf)) > 0)
			;
		is_int(poll(&pf, 1, 400), 0, "[trace=%d] SIGSTOP stops it: no more ticks", trace);
	}
	mlv_proc_kill(p, SIGCONT);
	mlv_proc_kill(p, SIGUSR1);
	ok(wait_for(pfd[0], "trapped"), "[trace=%d] after SIGCONT, SIGUSR1 reaches its trap", trace);
	mlv_proc_wait(p, &res);
	is_int(mlv_proc_exit_code(res.status), 3, "[trace=%d] the trap's exit status", trace);
	mlv_proc_result_release(&res);
	mlv_proc_free(p);
	close(pfd[0]);
	close(o.fd_err);
}

/* --- tracing --- */

static int trace_works(void)
{
	struct outcome oc;
	char *argv[] = { "true", NULL };
	int works;

	run_argv(&oc, 1, argv);
	works = oc.res.trace_mode == MLV_TRACE_MODE_PTRACE;
	if (!works)
		tap_diag("tracing unavailable here: %s", oc.res.trace_why);
	release(&oc);
	return works;
}

static void test_trace(void)
{
	struct outcome oc;
	char script[PATH_MAX * 2];
	char *sh[] = { "/bin/sh", "-c", script, NULL };
	char *threads[] = { self, "--helper-threads", "40", tmp, NULL };
	char vpath[1100];
	char *vf[] = { self, "--helper-vfork", vpath, NULL };
	unsigned f;

	put("in", "data\n", 0644);
	put("old", "x\n", 0644);
	put("vfile", "vdata\n", 0644);
	snprintf(vpath, sizeof(vpath), "%s", at("vfile"));
	if (mkdirat(tmpfd, "dest", 0777) < 0 && errno != EEXIST)
		abort();
	snprintf(script, sizeof(script),
		 "cat %s >/dev/null && echo out >%s && mv %s %s/renamed && "
		 "cat %s 2>/dev/null; ls %s >/dev/null; echo done",
		 at("in"), at("out"), at("old"), at("dest"), at("missing"), at("sub"));
	run_argv(&oc, 1, sh);
	is_int(oc.res.trace_mode, MLV_TRACE_MODE_PTRACE, "traced");
	is_str(oc.res.trace_why, "", "...with no reason given");
	is_str(oc.out, "done\n", "the traced command's output");
	f = traced(&oc.res, at("in"));
	ok(f == (0x100 | MLV_TRACE_READ), "a file read by a child of the child (cat) is seen, for reading (%#x)", f);
	f = traced(&oc.res, at("out"));
	ok(f & 0x100 && f & MLV_TRACE_WRITE && !(f & MLV_TRACE_READ), "a file written is seen (%#x)", f);
	ok(traced(&oc.res, at("dest/renamed")) & MLV_TRACE_WRITE, "a rename's destination is seen");
	ok(!traced(&oc.res, at("missing")), "a failed open is not recorded");
	ok(traced(&oc.res, at("sub")) & MLV_TRACE_DIR, "a directory listed is seen as one");
	ok(traced(&oc.res, "/bin/sh") || traced(&oc.res, "/usr/bin/sh") || oc.res.nr_files > 3,
	   "the libraries and programs opened are there too (%zu files)", oc.res.nr_files);
	{
		size_t dup = 0;

		for (size_t i = 0; i < oc.res.nr_files; i++)
			for (size_t j = i + 1; j < oc.res.nr_files; j++)
				dup += !strcmp(oc.res.files[i].path, oc.res.files[j].path);
		is_int(dup, 0, "one entry per path");
	}
	release(&oc);

	/* Relative names: against the directory fd, through a symlinked directory. */
	{
		struct mlv_proc_opts o = MLV_PROC_OPTS_INIT;
		char *rel[] = { "sh", "-c", "echo a >rel-a && mv rel-a rel-b && cat ../in >/dev/null && "
				"cat link/rel-b >/dev/null && truncate -s 0 rel-b", NULL };
		int dirfd = open(at("dest"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (symlinkat(".", dirfd, "link") < 0 && errno != EEXIST)
			abort();
		o.argv = rel;
		o.trace = 1;
		o.dirfd = dirfd;
		run(&oc, &o);
		close(dirfd);
		ok(traced(&oc.res, at("dest/rel-a")) & MLV_TRACE_WRITE, "a relative open in the directory fd");
		ok(traced(&oc.res, at("dest/rel-b")) & MLV_TRACE_READ, "a rename relative to the cwd, read through a symlink: one real path");
		ok(traced(&oc.res, at("in")) & MLV_TRACE_READ, "'..' resolved");
		ok(!traced(&oc.res, at("dest/link/rel-b")), "no path through the symlink");
		release(&oc);
	}

	for (int i = 0; i < 40; i++) {
		char name[16];

		snprintf(name, sizeof(name), "t%d", i);
		put(name, "t\n", 0644);
	}
	run_argv(&oc, 1, threads);
	is_int(WEXITSTATUS(oc.res.status), 0, "the threaded helper ran");
	{
		int seen = 0;

		for (int i = 0; i < 40; i++) {
			char name[16];

			snprintf(name, sizeof(name), "t%d", i);
			seen += !!(traced(&oc.res, at(name)) & MLV_TRACE_READ);
		}
		is_int(seen, 40, "files opened by 40 threads are all seen");
	}
	release(&oc);

	run_argv(&oc, 1, vf);
	is_str(oc.out, "vdata\n", "the vfork helper ran");
	ok(traced(&oc.res, at("vfile")) & MLV_TRACE_READ, "a file read by a vfork child is seen");
	release(&oc);

	if (access("/usr/bin/python3", X_OK) == 0 || access("/bin/python3", X_OK) == 0) {
		char *py[] = { "python3", "-c", script, NULL };
		char *envp[] = { "PATH=/usr/bin:/bin", NULL };
		struct mlv_proc_opts o = MLV_PROC_OPTS_INIT;

		put("pyfile", "py\n", 0644);
		snprintf(script, sizeof(script),
			 "import os, multiprocessing as mp\n"
			 "def w(p): return open(p).read()\n"
			 "if __name__ == '__main__':\n"
			 "  print(open('%s').read(), end='')\n"
			 "  with mp.get_context('fork').Pool(2) as pool: print(pool.map(w, ['%s'])[0], end='')\n"
			 "  os.rename('%s', '%s')\n",
			 at("pyfile"), at("vfile"), at("pyfile"), at("pydest"));
		o.argv = py;
		o.envp = envp;
		o.trace = 1;
		run(&oc, &o);
		is_str(oc.out, "py\nvdata\n", "python3 ran with a worker pool");
		ok(traced(&oc.res, at("pyfile")) & MLV_TRACE_READ, "a file python3 read is seen");
		ok(traced(&oc.res, at("vfile")) & MLV_TRACE_READ, "a file a python worker process read is seen");
		ok(traced(&oc.res, at("pydest")) & MLV_TRACE_WRITE, "python's os.rename destination is seen");
		release(&oc);
	} else {
		tap_skip("no python3 in /usr/bin or /bin");
	}

	/* A descendant outliving the command: the wait ends; free kills it. */
	{
		char *bg[] = { "sh", "-c", "sleep 300 & echo $!", NULL };
		struct mlv_proc_opts o = MLV_PROC_OPTS_INIT;
		struct mlv_proc_result res;
		struct mlv_proc *p;
		int pfd[2];
		char buf[32] = "";
		ssize_t n;
		pid_t bgpid;
		char st;

		if (pipe2(pfd, O_CLOEXEC) < 0)
			abort();
		o.argv = bg;
		o.fd_out = pfd[1];
		o.trace = 1;
		if (mlv_proc_start(&p, &o, NULL) < 0)
			abort();
		close(pfd[1]);
		n = read(pfd[0], buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		bgpid = atoi(buf);
		is_int(mlv_proc_wait(p, &res), 0, "the wait ends when the command exits, a descendant still running");
		ok(bgpid > 0 && proc_state(bgpid) && proc_state(bgpid) != 'Z', "the descendant runs on");
		mlv_proc_result_release(&res);
		mlv_proc_free(p);
		for (int i = 0; i < 100 && (st = proc_state(bgpid)) && st != 'Z'; i++)
			usleep(50000);
		st = proc_state(bgpid);
		ok(!st || st == 'Z', "mlv_proc_free killed it (state %c)", st ? st : '-');
		close(pfd[0]);
	}

	/* try_wait after the exit: the figures, no files; then wait: the files. */
	{
		char *c[] = { "sh", "-c", "cat \"$0\" >/dev/null; exit 4", at("in"), NULL };
		struct mlv_proc_opts o = MLV_PROC_OPTS_INIT;
		struct mlv_proc_result res;
		struct mlv_proc *p;
		int r = 0;

		o.argv = c;
		o.trace = 1;
		if (mlv_proc_start(&p, &o, NULL) < 0)
			abort();
		for (int i = 0; i < 400 && (r = mlv_proc_try_wait(p, &res)) == 0; i++)
			usleep(25000);
		is_int(r, 1, "try_wait sees the exit");
		is_int(mlv_proc_exit_code(res.status), 4, "...with the status");
		is_int(res.nr_files, 0, "...and no files");
		is_int(mlv_proc_wait(p, &res), 0, "wait after try_wait");
		is_int(mlv_proc_exit_code(res.status), 4, "...the same status");
		ok(traced(&res, at("in")) & MLV_TRACE_READ, "...and the files");
		mlv_proc_result_release(&res);
		mlv_proc_free(p);
	}

	/* Killed by SIGKILL while traced. */
	{
		char *k[] = { "sh", "-c", "kill -KILL $$", NULL };

		run_argv(&oc, 1, k);
		ok(WIFSIGNALED(oc.res.status) && WTERMSIG(oc.res.status) == SIGKILL, "traced: SIGKILL death");
		release(&oc);
	}

	/* A set-user-ID program still runs. */
	{
		struct stat st;

		if (stat("/usr/bin/mount", &st) == 0 && st.st_mode & S_ISUID) {
			char *m[] = { "/usr/bin/mount", "--version", NULL };

			run_argv(&oc, 1, m);
			ok(WIFEXITED(oc.res.status) && WEXITSTATUS(oc.res.status) == 0 &&
			   strstr(oc.out, "mount"), "traced: a set-user-ID program runs");
			release(&oc);
		} else {
			tap_skip("no set-user-ID /usr/bin/mount");
		}
	}
}

/* The fast path: mlv-trace.so beside the mlv binary (the top of the build). */
static void test_preload(void)
{
	char so[PATH_MAX], script[PATH_MAX * 2], *slash;
	char *sh[] = { "sh", "-c", script, NULL };
	struct outcome oc;
	unsigned f;

	snprintf(so, sizeof(so), "%s", self);
	for (int i = 0; i < 4 && (slash = strrchr(so, '/')); i++)
		*slash = '\0';
	if (strlen(so) + sizeof("/mlv-trace.so") > sizeof(so) || access(strcat(so, "/mlv-trace.so"), R_OK)) {
		tap_skip("no mlv-trace.so built beside the tests");
		return;
	}
	setenv("MLV_TRACE_PRELOAD", so, 1);

	/* Not traced: nothing preloaded. */
	snprintf(script, sizeof(script), "echo \"[$LD_PRELOAD]\"");
	run_argv(&oc, 0, sh);
	is_str(oc.out, "[]\n", "untraced: no LD_PRELOAD");
	release(&oc);

	tap_diag("tracing with the fast path (%s)", so);
	test_trace();

	put("p1", "p1\n", 0644);
	snprintf(script, sizeof(script), "cat %s && echo \"[$LD_PRELOAD]\"", at("p1"));
	run_argv(&oc, 1, sh);
	f = traced(&oc.res, at("p1"));
	ok(f == (0x100 | MLV_TRACE_READ), "fast path: a file cat read (%#x)", f);
	ok(oc.res.trace_preloaded > 0, "...recorded by the preloaded library (%zu files)", oc.res.trace_preloaded);
	ok(strstr(oc.out, "mlv-trace.so]") != NULL, "...which is in the command's LD_PRELOAD");
	ok(!traced(&oc.res, so), "...and not itself a file of the run");
	release(&oc);

	/* A raw system call with no cookie (or a wrong one): the tracer catches it. */
	{
		char *raw[] = { self, "--helper-raw", at("p1"), NULL };

		run_argv(&oc, 1, raw);
		is_int(mlv_proc_exit_code(oc.res.status), 0, "the raw-syscall helper ran");
		ok(traced(&oc.res, at("p1")) & MLV_TRACE_READ, "a raw openat without the cookie is seen (ptrace)");
		release(&oc);
	}

	/* A fork child that never execs. */
	{
		char *fk[] = { self, "--helper-fork", at("p1"), NULL };

		run_argv(&oc, 1, fk);
		is_int(mlv_proc_exit_code(oc.res.status), 0, "the fork helper ran");
		ok(traced(&oc.res, at("p1")) & MLV_TRACE_READ, "a file opened by a fork child (no exec) is seen");
		release(&oc);
	}

	/* fopen, creat, truncate, opendir. */
	{
		char *st[] = { self, "--helper-stdio", tmp, NULL };

		put("f-read", "r\n", 0644);
		run_argv(&oc, 1, st);
		is_int(mlv_proc_exit_code(oc.res.status), 0, "the stdio helper ran");
		f = traced(&oc.res, at("f-read"));
		ok(f == (0x100 | MLV_TRACE_READ), "fopen \"re\": read (%#x)", f);
		f = traced(&oc.res, at("f-write"));
		ok(f == (0x100 | MLV_TRACE_WRITE), "fopen \"w\": written (%#x)", f);
		ok(traced(&oc.res, at("f-creat")) & MLV_TRACE_WRITE, "creat and truncate: written");
		ok(traced(&oc.res, tmp) & MLV_TRACE_DIR, "opendir: a directory");
		ok(oc.res.trace_preloaded >= 4, "...through the fast path (%zu)", oc.res.trace_preloaded);
		release(&oc);
	}

	/* exec chains; a child whose LD_PRELOAD was removed is still traced. */
	put("p2", "p2\n", 0644);
	put("p3", "p3\n", 0644);
	snprintf(script, sizeof(script),
		 "exec sh -c 'cat %s >/dev/null && exec env -u LD_PRELOAD sh -c \"cat %s; echo [\\$LD_PRELOAD]\"'",
		 at("p2"), at("p3"));
	run_argv(&oc, 1, sh);
	is_str(oc.out, "p3\n[]\n", "an exec chain, LD_PRELOAD removed for the last one");
	ok(traced(&oc.res, at("p2")) & MLV_TRACE_READ, "a file read after two execs is seen");
	ok(traced(&oc.res, at("p3")) & MLV_TRACE_READ, "a file read by a program without the library is seen (ptrace)");
	release(&oc);

	/* The user's own LD_PRELOAD is kept, first. */
	{
		struct mlv_proc_opts o = MLV_PROC_OPTS_INIT;
		char *envp[] = { "PATH=/usr/bin:/bin", "LD_PRELOAD=libm.so.6", NULL };

		snprintf(script, sizeof(script), "cat %s >/dev/null; echo \"$LD_PRELOAD\"", at("p2"));
		o.argv = sh;
		o.envp = envp;
		o.trace = 1;
		run(&oc, &o);
		ok(!strncmp(oc.out, "libm.so.6:", 10) && strstr(oc.out, "/mlv-trace.so\n"),
		   "the user's LD_PRELOAD is kept, the library after it");
		ok(traced(&oc.res, at("p2")) & MLV_TRACE_READ, "...and the file is seen");
		ok(oc.res.trace_preloaded > 0, "...by the fast path");
		release(&oc);
	}

	/* Names relative to a changed working directory and to a directory fd. */
	if (access("/usr/bin/python3", X_OK) == 0 || access("/bin/python3", X_OK) == 0) {
		char *py[] = { "python3", "-c", script, NULL };

		put("dest/p4", "p4\n", 0644);
		put("dest/p5", "p5\n", 0644);
		snprintf(script, sizeof(script),
			 "import os\n"
			 "os.chdir('%s')\n"
			 "open('p4').read()\n"
			 "fd = os.open('%s', os.O_RDONLY)\n"
			 "os.close(os.open('p5', os.O_RDONLY, dir_fd=fd))\n"
			 "os.chdir('..')\n"
			 "open('new-out', 'w').write('x')\n"
			 "os.rename('new-out', 'dest/new-name')\n",
			 at("dest"), at("dest"));
		run_argv(&oc, 1, py);
		is_int(mlv_proc_exit_code(oc.res.status), 0, "python3 with chdir and dir_fd ran");
		ok(traced(&oc.res, at("dest/p4")) & MLV_TRACE_READ, "relative to a changed working directory");
		ok(traced(&oc.res, at("dest/p5")) & MLV_TRACE_READ, "relative to a directory fd");
		ok(traced(&oc.res, at("new-out")) & MLV_TRACE_WRITE, "written after a second chdir");
		ok(traced(&oc.res, at("dest/new-name")) & MLV_TRACE_WRITE, "renamed to");
		ok(oc.res.trace_preloaded >= 4, "...through the fast path (%zu)", oc.res.trace_preloaded);
		release(&oc);
	} else {
		tap_skip("no python3 in /usr/bin or /bin");
	}
}

/* Run a traced cat in a child process where `deny` is denied by a seccomp filter. */
enum deny { DENY_PTRACE, DENY_SECCOMP };

static void test_unavailable(enum deny deny)
{
	struct sock_filter ptrace_filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ptrace, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter seccomp_filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, 2),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
	};
	struct sock_fprog prog;
	struct {
		int ret, mode, status;
		size_t nr_files;
		char why[256], out[64];
	} r;
	int pfd[2];
	pid_t pid;

	if (deny == DENY_PTRACE) {
		prog.len = sizeof(ptrace_filter) / sizeof(ptrace_filter[0]);
		prog.filter = ptrace_filter;
	} else {
		prog.len = sizeof(seccomp_filter) / sizeof(seccomp_filter[0]);
		prog.filter = seccomp_filter;
	}
	memset(&r, 0, sizeof(r));
	if (pipe2(pfd, O_CLOEXEC) < 0)
		abort();
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct outcome oc;
		char *cat[] = { "cat", at("in"), NULL };

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
			_exit(3);
		run_argv(&oc, 1, cat);
		r.ret = oc.ret;
		r.mode = oc.res.trace_mode;
		r.status = oc.res.status;
		r.nr_files = oc.res.nr_files;
		snprintf(r.why, sizeof(r.why), "%s", oc.res.trace_why);
		memcpy(r.out, oc.out, sizeof(r.out) - 1);
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(4);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &r, sizeof(r)) != sizeof(r))
		r.ret = -999;
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	{
		const char *what = deny == DENY_PTRACE ? "ptrace" : "seccomp";

		is_int(r.ret, 0, "[%s denied] the command starts", what);
		is_int(r.mode, MLV_TRACE_MODE_UNAVAILABLE, "[%s denied] tracing is unavailable", what);
		ok(strstr(r.why, what) != NULL, "[%s denied] the reason says so: %s", what, r.why);
		is_str(r.out, "data\n", "[%s denied] the command still ran, its opens working", what);
		is_int(r.status, 0, "[%s denied] its status", what);
		is_int(r.nr_files, 0, "[%s denied] no files", what);
	}
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	int fds;
	ssize_t n;

	/* _exit: LeakSanitizer (SANITIZE=1) cannot work in a traced process. */
	if (argc == 4 && !strcmp(argv[1], "--helper-threads"))
		_exit(helper_threads(atoi(argv[2]), argv[3]));
	if (argc == 3 && !strcmp(argv[1], "--helper-vfork"))
		_exit(helper_vfork(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "--helper-raw"))
		_exit(helper_raw(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "--helper-fork"))
		_exit(helper_fork(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "--helper-stdio"))
		_exit(helper_stdio(argv[2]));

	if (!realpath(tap_tmpdir(), self) || strlen(self) >= sizeof(tmp))
		abort();
	memcpy(tmp, self, strlen(self) + 1);
	tmpfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (tmpfd < 0 || n <= 0)
		abort();
	self[n] = '\0';
	signal(SIGPIPE, SIG_DFL);
	fds = count_fds();

	test_exit_codes();
	test_env_path();
	test_fds_and_dir();
	test_signals(0);
	if (trace_works()) {
		test_signals(1);
		tap_diag("tracing with ptrace only");
		setenv("MLV_TRACE_PRELOAD", "", 1);
		test_trace();
		test_preload();
		test_unavailable(DENY_PTRACE);
		test_unavailable(DENY_SECCOMP);
	} else {
		tap_skip("tracing is not permitted here");
	}
	is_int(count_fds(), fds, "no fd left open");
	close(tmpfd);
	return tap_done();
}
