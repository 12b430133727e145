/*
 * Start a command, forward signals to it, wait for it (mlv/proc.h).
 * The tracing of its file opens is in trace.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/proc.h"
#include "run/proc-trace.h"

extern char **environ;

/* --- the child: async-signal-safe only from here to the exec --- */

static void child_msg(int fd, int kind, int err)
{
	struct proc_msg m = { kind, err };
	ssize_t n;

	if (fd < 0)
		return;
	do
		n = write(fd, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
}

static int child_execve(const struct proc_spawn *s, const char *file)
{
	execve(file, s->argv, s->envp);
	if (errno == ENOEXEC) {
		/* As execvp(3): a file without a #! line is a shell script. */
		int e = errno;

		s->sh_argv[1] = (char *)file;
		execve("/bin/sh", s->sh_argv, s->envp);
		errno = e;
	}
	return errno;
}

/* execvp(3) against s->path: the errno of the failure. */
static int child_search(const struct proc_spawn *s)
{
	const char *file = s->argv[0], *p = s->path;
	size_t flen = strlen(file);
	int saw_eacces = 0, err = ENOENT;
	char buf[4096];

	if (!flen)
		return ENOENT;
	if (strchr(file, '/'))
		return child_execve(s, file);
	if (flen > 255)
		return ENAMETOOLONG;
	for (;;) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);

		if (dlen + flen + 2 <= sizeof(buf)) {
			size_t n = 0;

			/* An empty element is the current directory. */
			if (dlen) {
				memcpy(buf, p, dlen);
				n = dlen;
				buf[n++] = '/';
			}
			memcpy(buf + n, file, flen + 1);
			err = child_execve(s, buf);
			switch (err) {
			case EACCES:
				saw_eacces = 1;
				break;
			case ENOENT:
			case ENOTDIR:
			case ESTALE:
			case ENODEV:
			case ETIMEDOUT:
				break;
			default:
				return err;
			}
		}
		if (!end)
			break;
		p = end + 1;
	}
	return saw_eacces ? EACCES : ENOENT;
}

void proc_child(const struct proc_spawn *spawn)
{
	struct proc_spawn copy = *spawn, *s = &copy;
	int tmp[3] = { -1, -1, -1 };
	sigset_t none;

	/* mlv's handlers would run in the child: back to the defaults. */
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0)
			continue;
		if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(sig, &sa, NULL);
	}
	if (setpgid(0, 0) < 0)
		goto setup_failed;

	/* Move the given fds out of the way first: they may be 0, 1, 2 swapped. */
	for (int i = 0; i < 3; i++)
		if (s->fds[i] >= 0 && s->fds[i] != i &&
		    (tmp[i] = fcntl(s->fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
			goto setup_failed;
	for (int i = 0; i < 3; i++) {
		if (s->fds[i] < 0)
			continue;
		if (s->fds[i] == i) {
			if (fcntl(i, F_SETFD, 0) < 0)
				goto setup_failed;
		} else if (dup2(tmp[i], i) < 0) {
			goto setup_failed;
		}
	}
	/*
	 * The command's working directory: set here, in the forked child
	 * between fork and exec, the only place a program can be given one.
	 * The calling process's directory never changes.
	 */
	if (s->dirfd >= 0 && fchdir(s->dirfd) < 0)
		goto setup_failed;

	if (s->release_r >= 0) {
		char c = 'n';
		ssize_t n;

		do
			n = read(s->release_r, &c, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1 && c == 'y') {
			int err = proc_trace_install_filter(s);

			if (err)
				child_msg(s->setup_w, PROC_MSG_SECCOMP, err);
			else if (s->envp_traced)
				s->envp = s->envp_traced; /* with the preloaded library */
		}
	}

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	child_msg(s->status_w, PROC_MSG_EXEC, child_search(s));
	_exit(127);

setup_failed:
	child_msg(s->status_w, PROC_MSG_SETUP, errno);
	_exit(125);
}

/* --- the parent --- */

/* A pipe, O_CLOEXEC, neither end on 0, 1 or 2 (the child's dup2 targets). */
static int pipe_high(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot create a pipe");
	for (int i = 0; i < 2; i++) {
		if (fds[i] < 3) {
			int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);

			if (fd < 0) {
				mlv_error_set_errno(MLV_EIO, "cannot create a pipe");
				close(fds[0]);
				close(fds[1]);
				return MLV_EIO;
			}
			close(fds[i]);
			fds[i] = fd;
		}
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static const char *env_path(char *const *envp)
{
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, "PATH=", 5))
			return *envp + 5;
	return "/bin:/usr/bin"; /* confstr(_CS_PATH), as execvp(3) */
}

int mlv_proc_start_exit_code(int ret)
{
	if (ret == MLV_ENOTFOUND)
		return 127;
	if (ret == MLV_EUNSUPPORTED)
		return 126;
	return 125;
}

/* The child's messages until EOF: 0 when it exec'd. */
static int read_status(int fd, const char *name, int *exec_errno)
{
	struct proc_msg m;
	size_t got = 0;

	while (got < sizeof(m)) {
		ssize_t n = read(fd, (char *)&m + got, sizeof(m) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mlv_error_set_errno(MLV_EIO, "cannot start '%s': reading its status", name);
		if (n == 0)
			break;
		got += n;
	}
	if (!got)
		return 0;
	if (got < sizeof(m))
		return mlv_error_set(MLV_EIO, "cannot start '%s': it died before its exec", name);
	if (m.kind == PROC_MSG_EXEC) {
		if (exec_errno)
			*exec_errno = m.err;
		if (m.err == ENOENT || m.err == ENOTDIR)
			return mlv_error_set(MLV_ENOTFOUND, "cannot run '%s': %s", name, strerror(m.err));
		return mlv_error_set(MLV_EUNSUPPORTED, "cannot run '%s': %s", name, strerror(m.err));
	}
	return mlv_error_set(MLV_EIO, "cannot start '%s': %s", name, strerror(m.err));
}

int mlv_proc_start(struct mlv_proc **out, const struct mlv_proc_opts *o, int *exec_errno)
{
	struct proc_spawn s;
	struct mlv_proc *p = NULL;
	int status[2] = { -1, -1 }, release[2] = { -1, -1 }, setup[2] = { -1, -1 };
	size_t argc = 0;
	int ret = 0, fork_errno = 0, traced = 0;

	*out = NULL;
	if (exec_errno)
		*exec_errno = 0;
	if (!o->argv || !o->argv[0])
		return mlv_error_set(MLV_EINVALID, "no command to run");
	while (o->argv[argc])
		argc++;

	memset(&s, 0, sizeof(s));
	s.argv = o->argv;
	s.envp = o->envp ? o->envp : environ;
	s.path = env_path(s.envp);
	s.fds[0] = o->fd_in;
	s.fds[1] = o->fd_out;
	s.fds[2] = o->fd_err;
	s.dirfd = o->dirfd;
	s.release_r = s.setup_w = -1;
	s.sh_argv = mlv_calloc(argc + 2, sizeof(char *));
	s.sh_argv[0] = "/bin/sh";
	for (size_t i = 1; i < argc; i++)
		s.sh_argv[i + 1] = o->argv[i];

	p = mlv_calloc(1, sizeof(*p));
	p->pidfd = -1;
	if ((ret = pipe_high(status)) < 0)
		goto done;
	s.status_w = status[1];

	if (o->trace) {
		if ((ret = pipe_high(release)) < 0 || (ret = pipe_high(setup)) < 0)
			goto done;
		/* The fast path when mlv-trace.so is found; else every call stops in the tracer. */
		p->pl = proc_preload_new(s.envp);
		s.envp_traced = p->pl ? p->pl->envp : NULL;
		proc_trace_build_filter(&s, p->pl ? p->pl->cookie : NULL);
		s.release_r = release[0];
		s.setup_w = setup[1];
		/* The tracer owns release[1] and setup[0] from here. */
		traced = proc_trace_start(p, &s, release[1], setup[0], &fork_errno) == 0;
		release[1] = setup[0] = -1;
		if (traced && p->pl && p->pid > 0)
			proc_preload_started(p->pl);
		if (!traced) {
			close_fd(&release[0]);
			close_fd(&setup[1]);
			s.release_r = s.setup_w = -1;
		}
	}
	if (!traced) {
		sigset_t all, old;

		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		p->pid = fork();
		if (p->pid == 0)
			proc_child(&s);
		fork_errno = errno;
		if (p->pid > 0)
			setpgid(p->pid, p->pid);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	close_fd(&status[1]);
	close_fd(&release[0]);
	close_fd(&setup[1]);
	if (p->pid <= 0) {
		p->pid = 0;
		errno = fork_errno;
		ret = mlv_error_set_errno(MLV_EIO, "cannot start '%s'", o->argv[0]);
		goto done;
	}
#ifdef SYS_pidfd_open
	p->pidfd = syscall(SYS_pidfd_open, (int)p->pid, 0);
	if (p->pidfd < 0)
		p->pidfd = -1;
#endif
	ret = read_status(status[0], o->argv[0], exec_errno);

done:
	close_fd(&status[0]);
	close_fd(&status[1]);
	close_fd(&release[0]);
	close_fd(&release[1]);
	close_fd(&setup[0]);
	close_fd(&setup[1]);
	free(s.sh_argv);
	if (ret < 0) {
		struct mlv_error_state es;

		mlv_error_state_capture(&es, ret);
		mlv_proc_free(p);
		return mlv_error_state_restore(&es);
	}
	*out = p;
	return 0;
}

pid_t mlv_proc_pid(const struct mlv_proc *p)
{
	return p->pid;
}

int mlv_proc_pidfd(const struct mlv_proc *p)
{
	return p->pidfd;
}

int mlv_proc_kill(const struct mlv_proc *p, int sig)
{
	pid_t pid = p ? p->pid : 0;

	if (pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	return kill(-pid, sig);
}

int mlv_proc_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 125;
}

static double tv_seconds(const struct timeval *tv)
{
	return tv->tv_sec + tv->tv_usec / 1e6;
}

static int reap(struct mlv_proc *p, int block)
{
	int st;
	pid_t w;

	if (p->reaped)
		return 1;
	if (p->tr)
		return proc_trace_wait(p, block);
	do
		w = wait4(p->pid, &st, block ? 0 : WNOHANG, &p->ru);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot wait for process %d", (int)p->pid);
	if (w == 0)
		return 0;
	p->status = st;
	p->reaped = 1;
	return 1;
}

/* With `block`, wait and fill everything; else only the figures, no files. */
static int fill_result(struct mlv_proc *p, struct mlv_proc_result *res, int block)
{
	int ret;

	memset(res, 0, sizeof(*res));
	if (!p->pid)
		return mlv_error_set(MLV_EINVALID, "no process to wait for");
	if ((ret = reap(p, block)) <= 0)
		return ret;
	res->status = p->status;
	res->peak_rss = (uint64_t)p->ru.ru_maxrss * 1024;
	res->user_time = tv_seconds(&p->ru.ru_utime);
	res->system_time = tv_seconds(&p->ru.ru_stime);
	if (p->tr) {
		proc_trace_result(p, res, block);
	} else {
		res->trace_mode = p->trace_mode;
		memcpy(res->trace_why, p->trace_why, sizeof(res->trace_why));
	}
	return 1;
}

int mlv_proc_wait(struct mlv_proc *p, struct mlv_proc_result *res)
{
	int ret = fill_result(p, res, 1);

	return ret < 0 ? ret : 0;
}

int mlv_proc_try_wait(struct mlv_proc *p, struct mlv_proc_result *res)
{
	return fill_result(p, res, 0);
}

void mlv_proc_result_release(struct mlv_proc_result *res)
{
	for (size_t i = 0; i < res->nr_files; i++)
		free(res->files[i].path);
	free(res->files);
	res->files = NULL;
	res->nr_files = 0;
}

void mlv_proc_free(struct mlv_proc *p)
{
	if (!p)
		return;
	if (p->pid > 0 && !p->reaped) {
		if (reap(p, 0) == 0) {
			kill(-p->pid, SIGKILL);
			kill(p->pid, SIGKILL);
		}
		reap(p, 1);
	}
	if (p->tr)
		proc_trace_stop(p);
	proc_preload_free(p->pl);
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p);
}

int mlv_proc_starttime(pid_t pid, unsigned long long *out)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* after "pid (comm)", whatever comm holds: field 22 is the 20th after it */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
		   "%*d %*d %llu", out) != 1)
		return -1;
	return 0;
}

int mlv_boot_id(char out[64])
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, out, 63);
	close(fd);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}
