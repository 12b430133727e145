/*
 * Tracing the files a command's process tree opens (mlv/proc.h): a
 * seccomp filter stops only the system calls that name a file to open,
 * rename, link or truncate; a ptrace tracer thread follows every thread,
 * child and exec of the tree and records the calls that succeed.
 *
 * The tracer thread forks the command (ptrace requests must come from
 * the tracer thread), seizes it while it waits on the release pipe, then
 * lets it install the filter and exec.  For each stopped call it reads
 * the arguments (PTRACE_GET_SYSCALL_INFO, or the registers on kernels
 * before 5.3), lets the call run to its exit (PTRACE_SYSCALL), and on
 * success resolves the path: an open by the link /proc/<tid>/fd/<ret>,
 * a rename, link or truncate by its name against the directory fd or
 * the working directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/proc.h"
#include "run/proc-trace.h"

#if defined(__x86_64__)
#define TRACE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TRACE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#include <asm/ptrace.h>
#include <elf.h>
#else
#define TRACE_NO_ARCH 1
#define TRACE_AUDIT_ARCH 0
#endif

/* System call numbers this architecture may lack: -1 matches none. */
#ifdef __NR_open
#define NR_OPEN __NR_open
#else
#define NR_OPEN -1
#endif
#ifdef __NR_creat
#define NR_CREAT __NR_creat
#else
#define NR_CREAT -1
#endif
#ifdef __NR_rename
#define NR_RENAME __NR_rename
#else
#define NR_RENAME -1
#endif
#ifdef __NR_link
#define NR_LINK __NR_link
#else
#define NR_LINK -1
#endif
#ifdef __NR_renameat
#define NR_RENAMEAT __NR_renameat
#else
#define NR_RENAMEAT -1
#endif
#ifdef __NR_openat2
#define NR_OPENAT2 __NR_openat2
#else
#define NR_OPENAT2 437 /* the same on every architecture */
#endif

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#ifndef O_PATH
#define O_PATH 010000000
#endif

/* --- the filter --- */

#ifndef TRACE_NO_ARCH

#define ALLOW ((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW))
#define TRACE ((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE))
/* Jump from statement `at` to `to` when the accumulator equals k. */
#define JEQ_TO(k, at, to) ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(k), \
							 (uint8_t)((to) - (at) - 1), 0))
#define LOAD(off) ((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off)))

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO 0
#define ARG_HI 4
#else
#define ARG_LO 4
#define ARG_HI 0
#endif
#define ARG_WORD(i, half) (offsetof(struct seccomp_data, args) + 8 * (i) + (half))

/*
 *	arch other than ours                       -> allow
 *	x32 (nr | 0x40000000)                      -> allow (not traced)
 *	renameat2, linkat (flags in the 5th)       -> trace
 *	open creat rename link truncate openat openat2 renameat:
 *	    5th and 6th arguments == the cookie    -> allow (the preload recorded it)
 *	    else                                   -> trace
 *	anything else                              -> allow
 */
void proc_trace_build_filter(struct proc_spawn *s, const uint64_t *cookie)
{
	static const int always[] = { __NR_renameat2, __NR_linkat };
	static const int cookied[] = { NR_OPEN, NR_CREAT, NR_RENAME, NR_LINK, __NR_truncate,
				       __NR_openat, NR_OPENAT2, NR_RENAMEAT };
	const size_t na = sizeof(always) / sizeof(always[0]), nc = sizeof(cookied) / sizeof(cookied[0]);
	const size_t allow = 5 + na + nc, check = allow + 1, trace = cookie ? check + 9 : check;
	struct sock_filter *f = s->filter;
	size_t n = 0;

	f[n++] = LOAD(offsetof(struct seccomp_data, arch));
	f[n] = JEQ_TO(TRACE_AUDIT_ARCH, n, n + 2), n++;
	f[n++] = ALLOW;
	f[n++] = LOAD(offsetof(struct seccomp_data, nr));
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000,
					    (uint8_t)(allow - n - 1), 0), n++;
	for (size_t i = 0; i < na; i++, n++)
		f[n] = JEQ_TO(always[i], n, trace);
	for (size_t i = 0; i < nc; i++, n++)
		f[n] = JEQ_TO(cookied[i], n, cookie ? check : trace);
	f[n++] = ALLOW;
	if (cookie) {
		for (int k = 0; k < 4; k++) {
			uint64_t c = cookie[k / 2];
			uint32_t word = k % 2 ? (uint32_t)(c >> 32) : (uint32_t)c;

			f[n++] = LOAD(ARG_WORD(4 + k / 2, k % 2 ? ARG_HI : ARG_LO));
			/* Equal: on to the next word; else to TRACE. */
			f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, word, 0,
							    (uint8_t)(trace - n - 1)), n++;
		}
		f[n++] = ALLOW;
	}
	f[n++] = TRACE;
	s->filter_len = (unsigned short)n;
}

#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif

/*
 * A filter makes the kernel turn on the speculative store bypass
 * mitigation for the task (spec_store_bypass_disable=seccomp), which
 * slows the whole program down: it guards against code the filter
 * sandboxes, and this filter sandboxes nothing.  Kernels before 4.17
 * have no such flag: the prctl then.
 */
static int install(struct sock_fprog *prog)
{
#ifdef SYS_seccomp
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, prog) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0);
}

int proc_trace_install_filter(const struct proc_spawn *s)
{
	struct sock_fprog prog = {
		.len = s->filter_len,
		.filter = (struct sock_filter *)s->filter,
	};

	if (!s->filter_len)
		return ENOSYS;
	/* Without CAP_SYS_ADMIN a filter needs no_new_privs (set-user-ID bits then ignored). */
	if (install(&prog) == 0)
		return 0;
	if (errno != EACCES)
		return errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errno;
	if (install(&prog) < 0)
		return errno;
	return 0;
}

#else

void proc_trace_build_filter(struct proc_spawn *s, const uint64_t *cookie)
{
	s->filter_len = 0;
}

int proc_trace_install_filter(const struct proc_spawn *s)
{
	return ENOSYS;
}

#endif

/* --- reading a stopped tracee --- */

struct sysargs {
	long nr;
	uint64_t args[6];
};

static int info_broken; /* PTRACE_GET_SYSCALL_INFO missing (kernel < 5.3) */

#if defined(__x86_64__)
#include <sys/user.h>
static int regs_entry(pid_t tid, struct sysargs *sa)
{
	struct user_regs_struct r;

	if (ptrace(PTRACE_GETREGS, tid, 0, &r) < 0)
		return -1;
	sa->nr = (long)r.orig_rax;
	sa->args[0] = r.rdi;
	sa->args[1] = r.rsi;
	sa->args[2] = r.rdx;
	sa->args[3] = r.r10;
	sa->args[4] = r.r8;
	sa->args[5] = r.r9;
	return 0;
}

static int regs_exit(pid_t tid, long *ret)
{
	struct user_regs_struct r;

	if (ptrace(PTRACE_GETREGS, tid, 0, &r) < 0)
		return -1;
	*ret = (long)r.rax;
	return 0;
}
#elif defined(__aarch64__)
static int regs_get(pid_t tid, struct user_pt_regs *r)
{
	struct iovec iov = { r, sizeof(*r) };

	return ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0 ? -1 : 0;
}

static int regs_entry(pid_t tid, struct sysargs *sa)
{
	struct user_pt_regs r;

	if (regs_get(tid, &r) < 0)
		return -1;
	sa->nr = (long)r.regs[8];
	for (int i = 0; i < 6; i++)
		sa->args[i] = r.regs[i];
	return 0;
}

static int regs_exit(pid_t tid, long *ret)
{
	struct user_pt_regs r;

	if (regs_get(tid, &r) < 0)
		return -1;
	*ret = (long)r.regs[0];
	return 0;
}
#else
static int regs_entry(pid_t tid, struct sysargs *sa)
{
	return -1;
}

static int regs_exit(pid_t tid, long *ret)
{
	return -1;
}
#endif

#ifdef PTRACE_GET_SYSCALL_INFO
/* The kernel's struct ptrace_syscall_info, as far as used here. */
struct trace_syscall_info {
	uint8_t op;
	uint8_t pad[3];
	uint32_t arch;
	uint64_t instruction_pointer;
	uint64_t stack_pointer;
	union {
		struct {
			uint64_t nr;
			uint64_t args[6];
		} entry;
		struct {
			int64_t rval;
			uint8_t is_error;
		} exit;
		struct {
			uint64_t nr;
			uint64_t args[6];
			uint32_t ret_data;
		} seccomp;
	} u;
};
#endif

static int get_entry(pid_t tid, struct sysargs *sa)
{
#ifdef PTRACE_GET_SYSCALL_INFO
	if (!info_broken) {
		struct trace_syscall_info si;

		memset(&si, 0, sizeof(si));
		if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof(si), &si) > 0) {
			if (si.op != 3 /* PTRACE_SYSCALL_INFO_SECCOMP */ || si.arch != TRACE_AUDIT_ARCH)
				return -1;
			sa->nr = (long)si.u.seccomp.nr;
			memcpy(sa->args, si.u.seccomp.args, sizeof(sa->args));
			return 0;
		}
		if (errno != EIO && errno != EINVAL)
			return -1;
		info_broken = 1;
	}
#endif
	return regs_entry(tid, sa);
}

/* 1 with *ret at a syscall-exit-stop, 0 at another stop, -1 on failure. */
static int get_exit(pid_t tid, long *ret)
{
#ifdef PTRACE_GET_SYSCALL_INFO
	if (!info_broken) {
		struct trace_syscall_info si;

		memset(&si, 0, sizeof(si));
		if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof(si), &si) <= 0)
			return -1;
		if (si.op != 2 /* PTRACE_SYSCALL_INFO_EXIT */)
			return 0;
		*ret = (long)si.u.exit.rval;
		return 1;
	}
#endif
	return regs_exit(tid, ret) < 0 ? -1 : 1;
}

/* Read `len` bytes at `addr` of the tracee. */
static int peek(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	size_t done = 0;

	if (process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)len)
		return 0;
	/* process_vm_readv refused (seccomp policy, old kernel): word by word. */
	while (done < len) {
		long w;
		size_t n = len - done < sizeof(w) ? len - done : sizeof(w);

		errno = 0;
		w = ptrace(PTRACE_PEEKDATA, tid, (void *)(uintptr_t)(addr + done), NULL);
		if (w == -1 && errno)
			return -1;
		memcpy((char *)buf + done, &w, n);
		done += n;
	}
	return 0;
}

/* A NUL-terminated string of the tracee into buf (at most size - 1 bytes). */
static int peek_string(pid_t tid, uint64_t addr, char *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		/* Never across a page: the next one may be unmapped. */
		size_t chunk = 4096 - ((addr + got) & 4095);

		if (chunk > size - got)
			chunk = size - got;
		if (peek(tid, addr + got, buf + got, chunk) < 0)
			return -1;
		if (memchr(buf + got, 0, chunk))
			return 0;
		got += chunk;
	}
	return -1;
}

/* --- the tracees --- */

enum pending {
	PEND_NONE,
	PEND_OPEN,   /* the path of the returned fd */
	PEND_NAME,   /* a new name: directory resolved, last component kept */
	PEND_FOLLOW, /* a name to resolve entirely */
};

struct tracee {
	pid_t tid;          /* 0: free, -1: deleted */
	enum pending pending;
	unsigned flags;
	int dirfd;
	char *name;
};

struct tracee_table {
	struct tracee *v;
	size_t cap, used; /* used counts deleted slots too */
	size_t live;
};

struct file_table {
	struct mlv_trace_file *v;
	uint64_t *ns;    /* CLOCK_MONOTONIC of each path's first call */
	size_t nr, alloc;
	uint32_t *slots; /* index + 1; 0 is empty */
	size_t cap;
};

struct proc_tracer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mlv_proc *p;
	const struct proc_spawn *spawn; /* until forked */
	int release_w, setup_r;
	int forked, main_done, stop, main_exec_seen, thread_started;
	int fork_errno;
	pid_t main;
	struct tracee_table tracees; /* under lock (mlv_proc_free kills them) */
	struct file_table files;     /* under lock */
	size_t lost;
};

static uint32_t hash_tid(pid_t tid)
{
	return (uint32_t)tid * 2654435761u;
}

static struct tracee *tracee_find(struct tracee_table *t, pid_t tid)
{
	size_t mask = t->cap - 1;

	if (!t->cap)
		return NULL;
	for (size_t i = hash_tid(tid) & mask;; i = (i + 1) & mask) {
		if (t->v[i].tid == tid)
			return &t->v[i];
		if (t->v[i].tid == 0)
			return NULL;
	}
}

static void tracee_rehash(struct tracee_table *t, size_t cap)
{
	struct tracee *old = t->v;
	size_t oldcap = t->cap;

	t->v = mlv_calloc(cap, sizeof(*t->v));
	t->cap = cap;
	t->used = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].tid > 0) {
			size_t j = hash_tid(old[i].tid) & (cap - 1);

			while (t->v[j].tid)
				j = (j + 1) & (cap - 1);
			t->v[j] = old[i];
			t->used++;
		}
	}
	free(old);
}

static struct tracee *tracee_add(struct tracee_table *t, pid_t tid)
{
	struct tracee *e = tracee_find(t, tid);
	size_t i;

	if (e)
		return e;
	if ((t->used + 1) * 2 > t->cap)
		tracee_rehash(t, t->live * 4 > 64 ? t->live * 4 : 64);
	for (i = hash_tid(tid) & (t->cap - 1); t->v[i].tid > 0; i = (i + 1) & (t->cap - 1))
		;
	if (t->v[i].tid == 0)
		t->used++;
	e = &t->v[i];
	memset(e, 0, sizeof(*e));
	e->tid = tid;
	t->live++;
	return e;
}

static void tracee_clear(struct tracee *e)
{
	free(e->name);
	e->name = NULL;
	e->pending = PEND_NONE;
}

static void tracee_del(struct tracee_table *t, pid_t tid)
{
	struct tracee *e = tracee_find(t, tid);

	if (!e)
		return;
	tracee_clear(e);
	e->tid = -1;
	t->live--;
}

static void tracee_table_release(struct tracee_table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->v[i].tid > 0)
			tracee_clear(&t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* --- the files seen --- */

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void file_record(struct file_table *f, const char *path, unsigned flags, uint64_t ns)
{
	uint32_t h = hash_str(path);
	size_t i;

	if ((f->nr + 1) * 2 > f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;

		free(f->slots);
		f->slots = mlv_calloc(cap, sizeof(*f->slots));
		f->cap = cap;
		for (size_t k = 0; k < f->nr; k++) {
			for (i = hash_str(f->v[k].path) & (cap - 1); f->slots[i]; i = (i + 1) & (cap - 1))
				;
			f->slots[i] = k + 1;
		}
	}
	for (i = h & (f->cap - 1); f->slots[i]; i = (i + 1) & (f->cap - 1)) {
		struct mlv_trace_file *e = &f->v[f->slots[i] - 1];

		if (!strcmp(e->path, path)) {
			e->flags |= flags;
			return;
		}
	}
	if (f->nr == f->alloc) {
		f->alloc = f->alloc ? f->alloc * 2 : 64;
		f->v = mlv_realloc(f->v, f->alloc * sizeof(*f->v));
		f->ns = mlv_realloc(f->ns, f->alloc * sizeof(*f->ns));
	}
	f->v[f->nr].path = mlv_strdup(path);
	f->v[f->nr].flags = flags;
	f->ns[f->nr] = ns;
	f->slots[i] = ++f->nr;
}

static void file_table_release(struct file_table *f)
{
	for (size_t i = 0; i < f->nr; i++)
		free(f->v[i].path);
	free(f->v);
	free(f->ns);
	free(f->slots);
	memset(f, 0, sizeof(*f));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void record(struct proc_tracer *tr, const char *path, unsigned flags)
{
	uint64_t ns = now_ns();

	pthread_mutex_lock(&tr->lock);
	file_record(&tr->files, path, flags, ns);
	pthread_mutex_unlock(&tr->lock);
}

/* --- the system calls --- */

static unsigned open_flags(uint64_t fl)
{
	unsigned flags = 0;

	switch (fl & O_ACCMODE) {
	case O_RDONLY:
		flags = MLV_TRACE_READ;
		break;
	case O_WRONLY:
		flags = MLV_TRACE_WRITE;
		break;
	default:
		flags = MLV_TRACE_READ | MLV_TRACE_WRITE;
		break;
	}
	if (fl & (O_CREAT | O_TRUNC))
		flags |= MLV_TRACE_WRITE;
	if (fl & O_DIRECTORY)
		flags |= MLV_TRACE_DIR;
	return flags;
}

/* At the seccomp stop: what to learn at the exit.  PEND_NONE: nothing. */
static void on_entry(struct proc_tracer *tr, struct tracee *t)
{
	struct sysargs sa;
	uint64_t fl = 0, name = 0;
	char buf[PATH_MAX];
	int dirfd = AT_FDCWD;

	tracee_clear(t);
	if (get_entry(t->tid, &sa) < 0)
		return;
	switch (sa.nr) {
#ifdef __NR_open
	case __NR_open:
		fl = sa.args[1];
		goto open;
#endif
#ifdef __NR_creat
	case __NR_creat:
		fl = O_WRONLY | O_CREAT | O_TRUNC;
		goto open;
#endif
	case __NR_openat:
		fl = sa.args[2];
		goto open;
	case NR_OPENAT2:
		/* struct open_how starts with its u64 flags. */
		if (sa.args[3] < sizeof(uint64_t) || peek(t->tid, sa.args[2], &fl, sizeof(fl)) < 0)
			fl = O_RDONLY;
		goto open;
#ifdef __NR_rename
	case __NR_rename:
		name = sa.args[1];
		goto rename;
#endif
#ifdef __NR_link
	case __NR_link:
		name = sa.args[1];
		goto rename;
#endif
#ifdef __NR_renameat
	case __NR_renameat:
#endif
	case __NR_renameat2:
	case __NR_linkat:
		dirfd = (int)sa.args[2];
		name = sa.args[3];
		goto rename;
	case __NR_truncate:
		name = sa.args[0];
		if (peek_string(t->tid, name, buf, sizeof(buf)) < 0)
			goto lost;
		t->name = mlv_strdup(buf);
		t->pending = PEND_FOLLOW;
		t->flags = MLV_TRACE_WRITE;
		return;
	default:
		return;
	}
open:
	if (fl & O_PATH)
		return;
	t->pending = PEND_OPEN;
	t->flags = open_flags(fl);
	return;
rename:
	if (peek_string(t->tid, name, buf, sizeof(buf)) < 0)
		goto lost;
	t->name = mlv_strdup(buf);
	t->dirfd = dirfd;
	t->pending = PEND_NAME;
	t->flags = MLV_TRACE_WRITE;
	return;
lost:
	/* Counted only if the call succeeds: learn it at the exit. */
	t->pending = PEND_NAME;
	t->flags = 0;
}

/* The directory a name is relative to, as a path through /proc. */
static void name_base(struct mlv_buf *b, pid_t tid, int dirfd, const char *name)
{
	if (name[0] == '/')
		return;
	if (dirfd == AT_FDCWD)
		mlv_buf_addf(b, "/proc/%d/cwd/", (int)tid);
	else
		mlv_buf_addf(b, "/proc/%d/fd/%d/", (int)tid, dirfd);
}

static int resolve_name(struct proc_tracer *tr, struct tracee *t)
{
	struct mlv_buf b = MLV_BUF_INIT;
	char *name = t->name, *real = NULL, *last;
	size_t len = strlen(name);
	int ret = -1;

	if (!len)
		goto done;
	name_base(&b, t->tid, t->dirfd, name);
	if (t->pending == PEND_FOLLOW) {
		mlv_buf_adds(&b, name);
		if (!(real = realpath(b.ptr, NULL)))
			goto done;
		record(tr, real, t->flags);
		ret = 0;
		goto done;
	}
	while (len > 1 && name[len - 1] == '/')
		name[--len] = '\0';
	last = strrchr(name, '/');
	if (last) {
		mlv_buf_add(&b, name, last - name);
		if (last == name)
			mlv_buf_addch(&b, '/');
		last++;
	} else {
		mlv_buf_addch(&b, '.');
		last = name;
	}
	if (!*last || !strcmp(last, ".") || !strcmp(last, ".."))
		goto done;
	if (!(real = realpath(b.ptr, NULL)))
		goto done;
	mlv_buf_reset(&b);
	mlv_buf_adds(&b, real);
	if (b.len > 1)
		mlv_buf_addch(&b, '/');
	mlv_buf_adds(&b, last);
	record(tr, b.ptr, t->flags);
	ret = 0;
done:
	free(real);
	mlv_buf_release(&b);
	return ret;
}

static void on_exit_stop(struct proc_tracer *tr, struct tracee *t, long ret)
{
	if (ret < 0)
		return;
	if (t->pending == PEND_OPEN) {
		char link[64], buf[PATH_MAX];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/fd/%ld", (int)t->tid, ret);
		n = readlink(link, buf, sizeof(buf) - 1);
		if (n <= 0 || (size_t)n >= sizeof(buf) - 1) {
			tr->lost++;
			return;
		}
		buf[n] = '\0';
		/* pipe:[...], anon_inode:..., an O_TMPFILE or a file already removed */
		if (buf[0] != '/' || (n > 10 && !strcmp(buf + n - 10, " (deleted)")))
			return;
		record(tr, buf, t->flags);
		return;
	}
	if (!t->name || !t->flags || resolve_name(tr, t) < 0)
		tr->lost++;
}

/* --- the thread --- */

static void resume(struct proc_tracer *tr, struct tracee *t, pid_t tid, int sig)
{
	int req = t && t->pending != PEND_NONE ? PTRACE_SYSCALL : PTRACE_CONT;

	/* ESRCH: killed meanwhile (SIGKILL); its exit comes through wait4. */
	ptrace(req, tid, 0, (void *)(long)sig);
}

/* The child's setup message, if any, once it has exec'd (its end is closed then). */
static void check_setup(struct proc_tracer *tr)
{
	struct proc_msg m;
	ssize_t n;

	do
		n = read(tr->setup_r, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	if (n == sizeof(m) && m.kind == PROC_MSG_SECCOMP) {
		struct mlv_proc *p = tr->p;

		ptrace(PTRACE_DETACH, tr->main, 0, 0);
		pthread_mutex_lock(&tr->lock);
		p->trace_mode = MLV_TRACE_MODE_UNAVAILABLE;
		snprintf(p->trace_why, sizeof(p->trace_why),
			 "seccomp filters are not available: %s", strerror(m.err));
		pthread_mutex_unlock(&tr->lock);
		return;
	}
	ptrace(PTRACE_CONT, tr->main, 0, 0);
}

static struct tracee *tracee_get(struct proc_tracer *tr, pid_t tid)
{
	struct tracee *t;

	pthread_mutex_lock(&tr->lock);
	t = tracee_add(&tr->tracees, tid);
	if (tr->stop)
		kill(tid, SIGKILL);
	pthread_mutex_unlock(&tr->lock);
	return t;
}

static void on_stop(struct proc_tracer *tr, pid_t tid, int st)
{
	int sig = WSTOPSIG(st);
	unsigned event = (unsigned)st >> 16;
	struct tracee *t = tracee_get(tr, tid);
	unsigned long msg = 0;
	long ret;

	switch (event) {
	case PTRACE_EVENT_SECCOMP:
		on_entry(tr, t);
		resume(tr, t, tid, 0);
		return;
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE:
		if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg) == 0 && msg) {
			tracee_get(tr, (pid_t)msg);
			t = tracee_get(tr, tid); /* the table may have moved */
		}
		resume(tr, t, tid, 0);
		return;
	case PTRACE_EVENT_EXEC:
		/* A thread that exec'd took the group leader's id: its old one is gone. */
		if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg) == 0 && (pid_t)msg != tid) {
			pthread_mutex_lock(&tr->lock);
			tracee_del(&tr->tracees, (pid_t)msg);
			pthread_mutex_unlock(&tr->lock);
		}
		tracee_clear(t);
		if (tid == tr->main && !tr->main_exec_seen) {
			tr->main_exec_seen = 1;
			check_setup(tr);
			return;
		}
		resume(tr, t, tid, 0);
		return;
	case PTRACE_EVENT_STOP:
		/* A group-stop stays stopped until SIGCONT; else a new tracee's first stop. */
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			ptrace(PTRACE_LISTEN, tid, 0, 0);
		else
			resume(tr, t, tid, 0);
		return;
	case 0:
		if (sig == (SIGTRAP | 0x80)) {
			int r = get_exit(tid, &ret);

			if (r > 0 && t->pending != PEND_NONE) {
				on_exit_stop(tr, t, ret);
				tracee_clear(t);
			} else if (r <= 0) {
				tracee_clear(t);
			}
			resume(tr, t, tid, 0);
			return;
		}
		/* A signal for the tracee: deliver it. */
		resume(tr, t, tid, sig);
		return;
	default:
		resume(tr, t, tid, 0);
		return;
	}
}

static void why_ptrace(struct mlv_proc *p, int err)
{
	char buf[64];
	int fd, scope = -1;
	long tracer = 0;
	FILE *f;

	if ((fd = open("/proc/sys/kernel/yama/ptrace_scope", O_RDONLY | O_CLOEXEC)) >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		if (n > 0) {
			buf[n] = '\0';
			scope = atoi(buf);
		}
		close(fd);
	}
	if ((f = fopen("/proc/self/status", "re"))) {
		char line[256];

		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "TracerPid:", 10))
				tracer = strtol(line + 10, NULL, 10);
		fclose(f);
	}
	if (tracer > 0)
		snprintf(p->trace_why, sizeof(p->trace_why),
			 "ptrace: %s (mlv is itself traced by process %ld)", strerror(err), tracer);
	else if (scope >= 2)
		snprintf(p->trace_why, sizeof(p->trace_why),
			 "ptrace: %s (kernel.yama.ptrace_scope is %d)", strerror(err), scope);
	else
		snprintf(p->trace_why, sizeof(p->trace_why),
			 "ptrace: %s (refused by a security policy, e.g. a container's seccomp profile)",
			 strerror(err));
}

#define TRACE_OPTIONS (PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | \
		       PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL | \
		       PTRACE_O_TRACESYSGOOD)

static void *tracer_main(void *arg)
{
	struct proc_tracer *tr = arg;
	struct mlv_proc *p = tr->p;
	pid_t pid;
	char c = 'n';
	int done = 0;

	pid = fork();
	if (pid == 0)
		proc_child(tr->spawn);
	pthread_mutex_lock(&tr->lock);
	tr->fork_errno = errno;
	if (pid > 0) {
		setpgid(pid, pid);
		tr->main = pid;
		p->pid = pid;
	}
	tr->forked = 1;
	tr->spawn = NULL;
	pthread_cond_broadcast(&tr->cond);
	pthread_mutex_unlock(&tr->lock);
	if (pid < 0) {
		close(tr->release_w);
		tr->release_w = -1;
		return NULL;
	}

#ifndef TRACE_NO_ARCH
	if (ptrace(PTRACE_SEIZE, pid, 0, (void *)(long)TRACE_OPTIONS) == 0) {
		c = 'y';
		tracee_get(tr, pid);
	} else {
		int e = errno;

		pthread_mutex_lock(&tr->lock);
		p->trace_mode = MLV_TRACE_MODE_UNAVAILABLE;
		why_ptrace(p, e);
		pthread_mutex_unlock(&tr->lock);
	}
#else
	pthread_mutex_lock(&tr->lock);
	p->trace_mode = MLV_TRACE_MODE_UNAVAILABLE;
	snprintf(p->trace_why, sizeof(p->trace_why), "tracing is not supported on this architecture");
	pthread_mutex_unlock(&tr->lock);
#endif
	while (write(tr->release_w, &c, 1) < 0 && errno == EINTR)
		;
	close(tr->release_w);
	tr->release_w = -1;

	while (!done) {
		struct rusage ru;
		int st;
		pid_t w = wait4(-1, &st, __WALL | __WNOTHREAD, &ru);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: every tracee and the child are gone */
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			pthread_mutex_lock(&tr->lock);
			tracee_del(&tr->tracees, w);
			if (w == pid) {
				p->status = st;
				p->ru = ru;
				tr->main_done = 1;
				pthread_cond_broadcast(&tr->cond);
			}
			pthread_mutex_unlock(&tr->lock);
			continue;
		}
		if (WIFSTOPPED(st))
			on_stop(tr, w, st);
	}

	pthread_mutex_lock(&tr->lock);
	if (!tr->main_done) {
		/* wait4 failed otherwise than ECHILD: never leave the caller waiting. */
		p->status = 125 << 8;
		tr->main_done = 1;
		pthread_cond_broadcast(&tr->cond);
	}
	pthread_mutex_unlock(&tr->lock);
	return NULL;
}

int proc_trace_start(struct mlv_proc *p, const struct proc_spawn *s,
		     int release_w, int setup_r, int *fork_errno)
{
	struct proc_tracer *tr = mlv_calloc(1, sizeof(*tr));
	sigset_t all, old;
	int err;

	pthread_mutex_init(&tr->lock, NULL);
	pthread_cond_init(&tr->cond, NULL);
	tr->p = p;
	tr->spawn = s;
	tr->release_w = release_w;
	tr->setup_r = setup_r;
	fcntl(setup_r, F_SETFL, O_NONBLOCK);
	p->trace_mode = MLV_TRACE_MODE_PTRACE;

	/* The thread (and the child, until it resets them) blocks every signal. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&tr->thread, NULL, tracer_main, tr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		close(release_w);
		close(setup_r);
		pthread_mutex_destroy(&tr->lock);
		pthread_cond_destroy(&tr->cond);
		free(tr);
		p->trace_mode = MLV_TRACE_MODE_UNAVAILABLE;
		snprintf(p->trace_why, sizeof(p->trace_why), "cannot start the tracer thread: %s",
			 strerror(err));
		return -1;
	}
	p->tr = tr;
	pthread_mutex_lock(&tr->lock);
	while (!tr->forked)
		pthread_cond_wait(&tr->cond, &tr->lock);
	*fork_errno = tr->fork_errno;
	pthread_mutex_unlock(&tr->lock);
	return 0;
}

int proc_trace_wait(struct mlv_proc *p, int block)
{
	struct proc_tracer *tr = p->tr;
	int done;

	pthread_mutex_lock(&tr->lock);
	while (block && !tr->main_done)
		pthread_cond_wait(&tr->cond, &tr->lock);
	done = tr->main_done;
	pthread_mutex_unlock(&tr->lock);
	if (done)
		p->reaped = 1;
	return done;
}

void proc_trace_result(struct mlv_proc *p, struct mlv_proc_result *res, int files)
{
	struct proc_tracer *tr = p->tr;
	struct file_table all;
	struct proc_preload_file *pf = NULL;
	size_t npf = 0, lost, i, j;
	int merge;

	memset(&all, 0, sizeof(all));

	pthread_mutex_lock(&tr->lock);
	res->trace_mode = p->trace_mode;
	memcpy(res->trace_why, p->trace_why, sizeof(res->trace_why));
	lost = tr->lost;
	merge = files && p->trace_mode == MLV_TRACE_MODE_PTRACE;
	/* The tracer's files in the order seen (their first calls' times increase). */
	for (i = 0; merge && i < tr->files.nr; i++) {
		/* The dynamic loader opening mlv-trace.so: mlv's, not the run's. */
		if (p->pl && p->pl->so && !strcmp(tr->files.v[i].path, p->pl->so))
			continue;
		file_record(&all, tr->files.v[i].path, tr->files.v[i].flags, tr->files.ns[i]);
	}
	pthread_mutex_unlock(&tr->lock);

	if (merge && p->pl)
		npf = proc_preload_files(p->pl, &pf, &lost);
	res->trace_preloaded = npf;
	if (npf) {
		/* Both lists by time: one list in call order, one entry per path. */
		struct file_table m;

		memset(&m, 0, sizeof(m));

		for (i = j = 0; i < all.nr || j < npf;) {
			if (j == npf || (i < all.nr && all.ns[i] <= pf[j].ns)) {
				file_record(&m, all.v[i].path, all.v[i].flags, all.ns[i]);
				i++;
			} else {
				file_record(&m, pf[j].path, pf[j].flags, pf[j].ns);
				j++;
			}
		}
		file_table_release(&all);
		all = m;
		for (j = 0; j < npf; j++)
			free(pf[j].path);
	}
	free(pf);
	if (all.nr) {
		/* The table's paths move to the result. */
		res->files = all.v;
		res->nr_files = all.nr;
		all.v = NULL;
		all.nr = 0;
	}
	file_table_release(&all);
	res->trace_lost = lost;
}

void proc_trace_stop(struct mlv_proc *p)
{
	struct proc_tracer *tr = p->tr;

	pthread_mutex_lock(&tr->lock);
	tr->stop = 1;
	for (size_t i = 0; i < tr->tracees.cap; i++)
		if (tr->tracees.v[i].tid > 0)
			kill(tr->tracees.v[i].tid, SIGKILL);
	pthread_mutex_unlock(&tr->lock);
	pthread_join(tr->thread, NULL);
	if (tr->setup_r >= 0)
		close(tr->setup_r);
	tracee_table_release(&tr->tracees);
	file_table_release(&tr->files);
	pthread_mutex_destroy(&tr->lock);
	pthread_cond_destroy(&tr->cond);
	free(tr);
	p->tr = NULL;
}
