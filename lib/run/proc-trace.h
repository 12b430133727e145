#ifndef MLV_RUN_PROC_TRACE_H
#define MLV_RUN_PROC_TRACE_H

/*
 * Private to lib/run/proc.c and lib/run/trace.c: the process being run,
 * what its child needs before the exec, and the tracer thread.
 */
#include <linux/filter.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "mlv/proc.h"

/* Messages the child writes on a pipe before its exec: {kind, errno}. */
enum proc_msg_kind {
	PROC_MSG_EXEC = 1,     /* the exec failed (fatal: the child exits 127) */
	PROC_MSG_SETUP = 2,    /* dup2/fchdir failed (fatal: the child exits 125) */
	PROC_MSG_SECCOMP = 3,  /* the seccomp filter could not be installed (setup pipe) */
};
struct proc_msg {
	int kind;
	int err;
};

/* The seccomp filter's largest size (trace.c). */
#define PROC_FILTER_MAX 48

/* Everything the child uses, prepared before the fork (no allocation after it). */
struct proc_spawn {
	char *const *argv;
	char *const *envp;
	char *const *envp_traced; /* the environment once the filter is in place (the preload) */
	struct sock_filter filter[PROC_FILTER_MAX];
	unsigned short filter_len;
	char **sh_argv;        /* "/bin/sh", <file>, argv[1..]: the ENOEXEC fallback */
	const char *path;      /* the PATH to search */
	int fds[3];
	int dirfd;
	int status_w;          /* exec/setup failures, O_CLOEXEC: EOF means exec'd */
	int release_r;         /* tracing: 'y' (seized: install the filter) or 'n' */
	int setup_w;           /* tracing: a PROC_MSG_SECCOMP failure */
};

struct proc_tracer;
struct collector;

/* The fast path (trace-preload.c): mlv-trace.so, its shared area and cookie. */
struct proc_preload {
	int memfd;
	void *area;
	size_t size;
	uint64_t cookie[2];
	char **envp;           /* the child's environment (the caller's strings, and own[]) */
	char *own[4];
	char *so;              /* the library's real path: no file of the run's */
	struct collector *col; /* reads the records while the command runs */
};

struct proc_preload_file {
	char *path;            /* absolute, resolved */
	unsigned flags;        /* MLV_TRACE_* */
	uint64_t ns;           /* CLOCK_MONOTONIC of the first call */
};

/*
 * Before the fork: the area, the cookie and the child's environment
 * (envp with the library added to LD_PRELOAD); NULL when the library is
 * not found or the area cannot be made (then tracing is ptrace only).
 */
struct proc_preload *proc_preload_new(char *const *envp);
void proc_preload_free(struct proc_preload *pl);

/* After the fork: start reading the records as they come. */
void proc_preload_started(struct proc_preload *pl);

/*
 * The files recorded by the library, one per path, resolved, in call
 * order (free each path and the array); *lost counts what was lost.
 */
size_t proc_preload_files(struct proc_preload *pl, struct proc_preload_file **out, size_t *lost);

struct mlv_proc {
	volatile pid_t pid;    /* read by mlv_proc_kill() in signal handlers */
	int pidfd;
	int reaped;
	int status;
	struct rusage ru;
	struct proc_tracer *tr; /* NULL when not traced */
	struct proc_preload *pl; /* the fast path; NULL when none */
	enum mlv_trace_mode trace_mode;
	char trace_why[256];
};

/*
 * Before the fork: the filter into s.  With a cookie, a call with the
 * cookie in its 5th and 6th arguments (the preloaded library's) is let
 * through; without, every call of the list stops.
 */
void proc_trace_build_filter(struct proc_spawn *s, const uint64_t *cookie);

/* In the child: install s's seccomp filter; 0 or the errno.  Async-signal-safe. */
int proc_trace_install_filter(const struct proc_spawn *s);

/* The child: never returns.  Runs only async-signal-safe code. */
void proc_child(const struct proc_spawn *s) __attribute__((noreturn));

/*
 * Start the tracer thread, which forks the child (its tracer must be its
 * parent thread) and seizes it.  On return p->pid is set (<= 0 with the
 * errno of fork in *fork_errno when it failed).  `release_w` and
 * `setup_r` pass to the tracer (closed on failure).  -1 when the thread
 * cannot be started (p->trace_why says so; nothing was forked).
 */
int proc_trace_start(struct mlv_proc *p, const struct proc_spawn *s,
		     int release_w, int setup_r, int *fork_errno);

/* Wait (block = 1) or check whether the child was reaped: then fill p->status and p->ru. */
int proc_trace_wait(struct mlv_proc *p, int block);

/* The trace mode into res, and with `files` a copy of the files seen so far. */
void proc_trace_result(struct mlv_proc *p, struct mlv_proc_result *res, int files);

/* Kill the remaining tracees, join the thread, free. */
void proc_trace_stop(struct mlv_proc *p);

#endif
