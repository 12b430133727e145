#ifndef MLV_PROC_H
#define MLV_PROC_H

/* mlv-layer: run */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The process layer of `mlv run`: start a command, forward signals to it,
 * wait for it, and optionally trace which files its whole process tree
 * opens.
 *
 *	struct mlv_proc_opts o = MLV_PROC_OPTS_INIT;
 *	struct mlv_proc *p;
 *	struct mlv_proc_result res;
 *	int exec_errno;
 *
 *	o.argv = argv; o.envp = envp; o.fd_out = out_pipe; o.trace = 1;
 *	if ((ret = mlv_proc_start(&p, &o, &exec_errno)) < 0)
 *		exit_code = mlv_proc_start_exit_code(ret);   (127, 126 or 125)
 *	... pump pipes; a signal handler calls mlv_proc_kill(p, sig) ...
 *	mlv_proc_wait(p, &res);
 *	... res.status, res.peak_rss, res.files ...
 *	mlv_proc_result_release(&res);
 *	mlv_proc_free(p);
 *
 * The command runs in its own process group (its pgid is its pid) with
 * the given environment, fds and directory.  In the child, before the
 * exec: every signal with a handler is reset to SIG_DFL and the signal
 * mask is emptied; signals that are ignored stay ignored (as nohup(1)
 * relies on), so a caller must not ignore a signal the command should
 * get.  Every other fd of the caller is expected to be O_CLOEXEC.
 *
 * Tracing (opts.trace): a seccomp filter makes only open, openat, openat2,
 * creat, rename, renameat, renameat2, truncate, link and linkat stop in a
 * ptrace tracer (a thread of the calling process), which follows every
 * thread and fork/vfork/clone child and every exec'd program of the tree.
 * Only calls that succeed are recorded, as absolute real paths: an open
 * as the path of the fd it returned; a rename or link as its new name
 * (directory resolved, last component not followed); truncate as its
 * file.  32-bit (i386, x32) system calls on x86_64 are not traced.
 *
 * Where tracing is not possible (ptrace refused by a container's seccomp
 * policy or kernel.yama.ptrace_scope, mlv itself being traced, no seccomp
 * filters), the command runs untraced and the result's trace_why says
 * why.  A traced setuid program runs without its privileges unless the
 * caller is root (the kernel ignores set-user-ID bits under ptrace and
 * seccomp's no_new_privs).
 *
 * While a traced command runs, its descendants inherit a filter that
 * needs the tracer: descendants still running when the command itself has
 * exited are followed (their opens recorded) until mlv_proc_free(), which
 * kills them with SIGKILL -- they could not run on without the tracer.
 *
 * The calling process must not wait for children with waitpid(-1, ...)
 * or wait(2) from another thread while a proc is running: it would reap
 * the command (or the tracer's events).  Wait for specific pids only.
 * While tracing, every stop of a tracee sends the process a SIGCHLD
 * (thousands a second): leave SIGCHLD at SIG_DFL, or give its handler
 * SA_NOCLDSTOP, and learn the command's exit from mlv_proc_pidfd().  The
 * tracees are killed if mlv dies (PTRACE_O_EXITKILL).
 *
 * The fast path: when mlv-trace.so is found ($MLV_TRACE_PRELOAD, "" for
 * none; else beside the running binary, else ../lib/mlv/ from there), it
 * is added to the command's LD_PRELOAD (after the user's own) with
 * MLV_TRACE_SHM and MLV_TRACE_COOKIE.  It wraps libc's open family,
 * fopen, opendir, creat, truncate, rename/renameat and link, makes the
 * system call itself with a 128-bit cookie in the 5th and 6th argument
 * registers, and records successful calls into a memory area shared with
 * mlv; the filter lets a call carrying the cookie through without a stop.
 * Everything else (libc's internal opens, raw system calls, static or Go
 * programs, programs whose LD_PRELOAD was removed, renameat2, linkat)
 * still stops in the tracer.  The library's paths are made absolute with
 * the working directory the library saw (kept across chdir/fchdir) and
 * resolved by mlv when the command is waited for.  Records of a process
 * are in the shared area as soon as the call returns: a process killed
 * by a signal loses none.
 *
 * Cost: each call the library does not make stops twice (at the seccomp
 * stop and at its exit), two round trips to the tracer thread; calls it
 * makes cost a path join and, for a path not yet seen by that process, a
 * record; calls not in the list above run at full speed.
 * bench/trace.sh measures it.
 */

struct mlv_proc;

struct mlv_proc_opts {
	char *const *argv;     /* argv[0] searched in envp's PATH as execvp(3) does */
	char *const *envp;     /* the command's environment; NULL: the caller's */
	int fd_in, fd_out, fd_err; /* the command's 0, 1, 2; -1: inherit the caller's */
	int dirfd;             /* the command's working directory; -1: the caller's */
	int trace;             /* 1: trace file opens of the whole tree */
};
#define MLV_PROC_OPTS_INIT { NULL, NULL, -1, -1, -1, -1, 0 }

/* What a traced file was opened for (OR-ed over all opens of the path). */
#define MLV_TRACE_READ  0x1   /* opened for reading */
#define MLV_TRACE_WRITE 0x2   /* opened for writing, created, truncated, renamed or linked to */
#define MLV_TRACE_DIR   0x4   /* opened with O_DIRECTORY (e.g. listed) */

struct mlv_trace_file {
	char *path;            /* absolute, symlinks resolved */
	unsigned flags;        /* MLV_TRACE_* */
};

enum mlv_trace_mode {
	MLV_TRACE_MODE_OFF = 0,         /* not asked for */
	MLV_TRACE_MODE_PTRACE = 1,      /* traced */
	MLV_TRACE_MODE_UNAVAILABLE = 2, /* asked for, not possible: see trace_why */
};

struct mlv_proc_result {
	int status;            /* the wait status (WIFEXITED, WTERMSIG, ...) */
	uint64_t peak_rss;     /* bytes: the largest single process of the tree that was waited for */
	double user_time;      /* CPU seconds of the tree that was waited for */
	double system_time;
	enum mlv_trace_mode trace_mode;
	char trace_why[256];   /* with MLV_TRACE_MODE_UNAVAILABLE: why; else "" */
	struct mlv_trace_file *files; /* in first-seen order, one entry per path */
	size_t nr_files;
	size_t trace_lost;     /* paths that could not be resolved (fd gone, too long, ...) */
	size_t trace_preloaded; /* paths recorded by mlv-trace.so (the fast path); 0: ptrace only */
};

/*
 * Start the command.  0 with *out running (or already exited).  When it
 * cannot be started, *out is NULL, mlv's error names argv[0], and:
 *   MLV_ENOTFOUND    the program is not found (ENOENT, ENOTDIR): exit 127
 *   MLV_EUNSUPPORTED it cannot be executed (EACCES, ENOEXEC, EISDIR...): 126
 *   MLV_EIO, MLV_EINVALID  fork/pipe/dup2/fchdir failed, bad opts: 125
 * with *exec_errno (may be NULL) the errno of the failed exec, 0 when the
 * failure was not the exec's.
 */
int mlv_proc_start(struct mlv_proc **out, const struct mlv_proc_opts *opts, int *exec_errno);

/* The exit code env(1) would use for a failed mlv_proc_start(): 127, 126 or 125. */
int mlv_proc_start_exit_code(int ret);

/* The command's pid (also its process group id).  Never blocks. */
pid_t mlv_proc_pid(const struct mlv_proc *p);

/*
 * A pidfd (O_CLOEXEC, owned by p: do not close) that polls readable once
 * the command has exited, for a caller's poll loop; -1 when the kernel
 * has no pidfd_open (before Linux 5.3).
 */
int mlv_proc_pidfd(const struct mlv_proc *p);

/*
 * Send `sig` to the command's process group.  Async-signal-safe: a signal
 * handler may call it (p must stay alive).  Returns 0, or -1 with errno.
 */
int mlv_proc_kill(const struct mlv_proc *p, int sig);

/*
 * Wait for the command to exit and fill *res (release it with
 * mlv_proc_result_release()); a second call leaks the first's files.
 * Returns < 0 only for a failure of wait itself.
 *
 * mlv_proc_try_wait() does not block: 1 when the command has exited, with
 * the figures of *res filled but no files (nr_files 0, nothing to
 * release): call mlv_proc_wait() for them; 0 when it still runs.
 */
int mlv_proc_wait(struct mlv_proc *p, struct mlv_proc_result *res);
int mlv_proc_try_wait(struct mlv_proc *p, struct mlv_proc_result *res);
void mlv_proc_result_release(struct mlv_proc_result *res);

/*
 * Release p.  A command still running is killed (SIGKILL to its group)
 * and waited for; traced descendants still running are killed.
 */
void mlv_proc_free(struct mlv_proc *p);

/*
 * Who a pid is: its start time (clock ticks after boot, /proc/<pid>/stat)
 * and this boot's id (/proc/sys/kernel/random/boot_id), so that a record
 * naming a process is not fooled by the pid's reuse after it died or
 * after a reboot.  0, or -1 when it cannot be read (no such process).
 */
int mlv_proc_starttime(pid_t pid, unsigned long long *out);
int mlv_boot_id(char out[64]);

/* The exit code for a wait status as env(1) gives it: the status, or 128+N for signal N. */
int mlv_proc_exit_code(int status);

#pragma GCC visibility pop

#endif
