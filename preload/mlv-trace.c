/*
 * mlv-trace.so: the fast path of `mlv run`'s tracing (mlv/proc.h),
 * preloaded (LD_PRELOAD) into the programs of a traced tree.
 *
 * It wraps the libc functions that open, create, rename, link or truncate
 * a file by name, makes the system call itself with the run's cookie in
 * two argument registers the call does not use (the 5th and 6th), and
 * records the call when it succeeded into the area mlv shares with every
 * process of the tree (lib/run/trace-shm.h).  The seccomp filter lets a call
 * with the cookie through without stopping in mlv's ptrace tracer; every
 * call this file does not make -- libc's internal opens, raw system
 * calls, static programs, a program without this library -- still stops
 * there and is recorded by the tracer.
 *
 * Whenever it cannot record a call (no area, a name it cannot make
 * absolute, /proc and /dev names, the area nearly full), it makes the
 * call without the cookie, for the tracer.  Paths are recorded as given,
 * made absolute with the working directory or the directory fd; mlv
 * resolves them.  Each process keeps a set of what it recorded, so a
 * file opened again costs nothing more.
 *
 * libc only, no allocation (mmap), no lock that can block: a wrapper may
 * run in a signal handler or in the child of a fork from a threaded
 * program.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../lib/run/trace-shm.h"

#define EXPORT __attribute__((visibility("default")))

#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif

static char *area;            /* the shared area; NULL: record nothing */
static struct trace_shm_head *head;
static uint64_t area_size;
static long cookie0, cookie1;

/* The one lock: taken with a try, never waited for. */
static int lock_word;

static int trylock(void)
{
	return !__atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE);
}

static void unlock(void)
{
	__atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
}

/* The working directory, cached under the lock; chdir/fchdir bump the generation. */
static uint64_t cwd_gen = 1;
static uint64_t cwd_cached_gen;
static char cwd[PATH_MAX];
static size_t cwd_len;

/* What this process recorded: a hash of kind and path -> flags, under the lock. */
struct seen {
	uint64_t h;
	uint64_t flags;
};
static struct seen *seen;
static size_t seen_cap, seen_nr;

/* --- the area --- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int parse_cookie(const char *s, uint64_t c[2])
{
	c[0] = c[1] = 0;
	for (int i = 0; i < 32; i++) {
		int v = hexval(s[i]);

		if (v < 0)
			return -1;
		c[i / 16] = c[i / 16] << 4 | (uint64_t)v;
	}
	return s[32] ? -1 : 0;
}

__attribute__((constructor)) static void trace_init(void)
{
	const char *path = getenv(TRACE_ENV_SHM), *ck = getenv(TRACE_ENV_COOKIE);
	struct trace_shm_head *h;
	uint64_t c[2];
	struct stat st;
	void *p;
	long fd;

	if (!path || !ck || parse_cookie(ck, c) < 0)
		return;
	/* With the cookie: mlv's own file is no input of the run. */
	fd = syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC, 0, (long)c[0], (long)c[1]);
	if (fd < 0)
		return;
	if (fstat((int)fd, &st) < 0 || (uint64_t)st.st_size < TRACE_SHM_HEAD + TRACE_SHM_SLACK) {
		close((int)fd);
		return;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	close((int)fd);
	if (p == MAP_FAILED)
		return;
	h = p;
	if (h->magic != TRACE_SHM_MAGIC || h->cookie[0] != c[0] || h->cookie[1] != c[1] ||
	    h->size != (uint64_t)st.st_size) {
		munmap(p, (size_t)st.st_size);
		return;
	}
	cookie0 = (long)c[0];
	cookie1 = (long)c[1];
	area_size = h->size;
	head = h;
	area = p;
}

static uint64_t hash_path(const char *s, unsigned kind)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ kind;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return h ? h : 1;
}

static void seen_grow(void)
{
	size_t cap = seen_cap ? seen_cap * 2 : 4096;
	struct seen *v = mmap(NULL, cap * sizeof(*v), PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (v == MAP_FAILED)
		return;
	for (size_t i = 0; i < seen_cap; i++) {
		size_t j;

		if (!seen[i].h)
			continue;
		for (j = seen[i].h & (cap - 1); v[j].h; j = (j + 1) & (cap - 1))
			;
		v[j] = seen[i];
	}
	if (seen)
		munmap(seen, seen_cap * sizeof(*seen));
	seen = v;
	seen_cap = cap;
}

/* 1 when this process recorded the path with these flags already. */
static int seen_before(const char *path, unsigned kind, unsigned flags)
{
	uint64_t h = hash_path(path, kind);
	int ret = 0;
	size_t i;

	if (!trylock())
		return 0;
	if ((seen_nr + 1) * 2 > seen_cap)
		seen_grow();
	if ((seen_nr + 1) * 2 > seen_cap)
		goto done;
	for (i = h & (seen_cap - 1); seen[i].h; i = (i + 1) & (seen_cap - 1)) {
		if (seen[i].h == h) {
			ret = (seen[i].flags | flags) == seen[i].flags;
			seen[i].flags |= flags;
			goto done;
		}
	}
	seen[i].h = h;
	seen[i].flags = flags;
	seen_nr++;
done:
	unlock();
	return ret;
}

static void record(const char *path, size_t len, unsigned kind, unsigned flags)
{
	uint64_t size = TRACE_REC_SIZE(len), off;
	struct trace_rec *r;
	struct timespec ts;
	int e = errno;

	if (seen_before(path, kind, flags))
		goto done;
	off = __atomic_fetch_add(&head->used, size, __ATOMIC_RELAXED);
	if (off < TRACE_SHM_HEAD || off + size > area_size) {
		__atomic_fetch_add(&head->overflow, 1, __ATOMIC_RELAXED);
		goto done;
	}
	r = (struct trace_rec *)(area + off);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	r->ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	memcpy(r->path, path, len + 1);
	__atomic_store_n(&r->head, TRACE_REC_WORD(size, kind, flags), __ATOMIC_RELEASE);
done:
	errno = e;
}

/* --- making a name absolute --- */

/* The working directory into buf (PATH_MAX): its length, 0 when unknown. */
static size_t get_cwd(char *buf)
{
	size_t n = 0;

	if (trylock()) {
		uint64_t gen = __atomic_load_n(&cwd_gen, __ATOMIC_ACQUIRE);

		if (gen != cwd_cached_gen) {
			cwd_len = 0;
			if (syscall(SYS_getcwd, cwd, sizeof(cwd)) > 0 && cwd[0] == '/') {
				cwd_len = strlen(cwd);
				cwd_cached_gen = gen;
			}
		}
		n = cwd_len;
		memcpy(buf, cwd, n + 1);
		unlock();
		return n;
	}
	if (syscall(SYS_getcwd, buf, PATH_MAX) <= 0 || buf[0] != '/')
		return 0;
	return strlen(buf);
}

static size_t fd_path(int fd, char *buf)
{
	char link[32] = "/proc/self/fd/", digits[12];
	size_t n = 0, at = strlen(link);
	ssize_t len;

	if (fd < 0)
		return 0;
	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) && n < sizeof(digits));
	while (n)
		link[at++] = digits[--n];
	link[at] = '\0';
	len = readlink(link, buf, PATH_MAX - 1);
	if (len <= 0 || len >= PATH_MAX - 1 || buf[0] != '/')
		return 0;
	buf[len] = '\0';
	if (len > 10 && !memcmp(buf + len - 10, " (deleted)", 10))
		return 0;
	return (size_t)len;
}

/* Names mlv could not resolve as the program saw them: for the tracer. */
static int excluded_prefix(const char *p)
{
	if (!strncmp(p, "/proc/", 6) || !strcmp(p, "/proc"))
		return 1;
	return !strncmp(p, "/dev/", 5) && strncmp(p, "/dev/shm/", 9);
}

static int excluded(const char *p, size_t len)
{
	char norm[PATH_MAX];
	size_t n = 0;

	if (excluded_prefix(p))
		return 1;
	if (!strstr(p, "//") && !strstr(p, "/."))
		return 0;
	/* The lexical form: no "/x/../proc/self". */
	for (const char *s = p; *s;) {
		const char *e;
		size_t cl;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		for (e = s; *e && *e != '/'; e++)
			;
		cl = (size_t)(e - s);
		if (cl == 1 && s[0] == '.') {
			;
		} else if (cl == 2 && s[0] == '.' && s[1] == '.') {
			while (n && norm[n - 1] != '/')
				n--;
			if (n)
				n--;
		} else {
			if (n + 1 + cl >= sizeof(norm))
				return 1;
			norm[n++] = '/';
			memcpy(norm + n, s, cl);
			n += cl;
		}
		s = e;
	}
	if (!n)
		norm[n++] = '/';
	norm[n] = '\0';
	(void)len;
	return excluded_prefix(norm);
}

/* The absolute name into abs (PATH_MAX): its length, 0 when it cannot be recorded. */
static size_t absolute(int dirfd, const char *path, char *abs)
{
	size_t plen, blen;

	if (!area || !path)
		return 0;
	if (__atomic_load_n(&head->used, __ATOMIC_RELAXED) > area_size - TRACE_SHM_SLACK)
		return 0;
	plen = strlen(path);
	if (!plen || plen >= PATH_MAX)
		return 0;
	if (path[0] == '/') {
		memcpy(abs, path, plen + 1);
		blen = plen;
		goto check;
	}
	blen = dirfd == AT_FDCWD ? get_cwd(abs) : fd_path(dirfd, abs);
	if (!blen || blen + 1 + plen >= PATH_MAX)
		return 0;
	if (blen > 1)
		abs[blen++] = '/';
	memcpy(abs + blen, path, plen + 1);
	blen += plen;
check:
	return excluded(abs, blen) ? 0 : blen;
}

/* --- the calls --- */

static unsigned open_flags(int fl)
{
	unsigned flags;

	switch (fl & O_ACCMODE) {
	case O_RDONLY:
		flags = 0x1; /* MLV_TRACE_READ */
		break;
	case O_WRONLY:
		flags = 0x2; /* MLV_TRACE_WRITE */
		break;
	default:
		flags = 0x3;
		break;
	}
	if (fl & (O_CREAT | O_TRUNC))
		flags |= 0x2;
	if (fl & O_DIRECTORY)
		flags |= 0x4; /* MLV_TRACE_DIR */
	return flags;
}

static int do_openat(int dirfd, const char *path, int fl, mode_t mode)
{
	char abs[PATH_MAX];
	size_t len = absolute(dirfd, path, abs);
	long fd;

	if (!len)
		return (int)syscall(SYS_openat, dirfd, path, fl, mode);
	fd = syscall(SYS_openat, dirfd, path, fl, mode, cookie0, cookie1);
	if (fd >= 0 && !(fl & O_PATH) && (fl & O_TMPFILE) != O_TMPFILE)
		record(abs, len, TRACE_REC_FOLLOW, open_flags(fl));
	return (int)fd;
}

static int needs_mode(int fl)
{
	return (fl & O_CREAT) || (fl & O_TMPFILE) == O_TMPFILE;
}

#define MODE_ARG(fl, mode) do { \
	if (needs_mode(fl)) { \
		va_list ap; \
		va_start(ap, fl); \
		mode = (mode_t)va_arg(ap, int); \
		va_end(ap); \
	} \
} while (0)

EXPORT int open(const char *path, int fl, ...)
{
	mode_t mode = 0;

	MODE_ARG(fl, mode);
	return do_openat(AT_FDCWD, path, fl, mode);
}

EXPORT int open64(const char *path, int fl, ...)
{
	mode_t mode = 0;

	MODE_ARG(fl, mode);
	return do_openat(AT_FDCWD, path, fl, mode);
}

EXPORT int openat(int dirfd, const char *path, int fl, ...)
{
	mode_t mode = 0;

	MODE_ARG(fl, mode);
	return do_openat(dirfd, path, fl, mode);
}

EXPORT int openat64(int dirfd, const char *path, int fl, ...)
{
	mode_t mode = 0;

	MODE_ARG(fl, mode);
	return do_openat(dirfd, path, fl, mode);
}

/* _FORTIFY_SOURCE's checked forms (no mode: O_CREAT without one is refused at compile time). */
int __open_2(const char *path, int fl);
int __open64_2(const char *path, int fl);
int __openat_2(int dirfd, const char *path, int fl);
int __openat64_2(int dirfd, const char *path, int fl);

EXPORT int __open_2(const char *path, int fl)
{
	return do_openat(AT_FDCWD, path, fl, 0);
}

EXPORT int __open64_2(const char *path, int fl)
{
	return do_openat(AT_FDCWD, path, fl, 0);
}

EXPORT int __openat_2(int dirfd, const char *path, int fl)
{
	return do_openat(dirfd, path, fl, 0);
}

EXPORT int __openat64_2(int dirfd, const char *path, int fl)
{
	return do_openat(dirfd, path, fl, 0);
}

EXPORT int creat(const char *path, mode_t mode)
{
	return do_openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

EXPORT int creat64(const char *path, mode_t mode)
{
	return do_openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

/* fopen's mode as open(2) flags; -1 for what only libc's fopen does (",ccs="). */
static int fopen_flags(const char *mode)
{
	int fl;

	switch (mode[0]) {
	case 'r':
		fl = O_RDONLY;
		break;
	case 'w':
		fl = O_WRONLY | O_CREAT | O_TRUNC;
		break;
	case 'a':
		fl = O_WRONLY | O_CREAT | O_APPEND;
		break;
	default:
		return -1;
	}
	for (const char *m = mode + 1; *m; m++) {
		switch (*m) {
		case '+':
			fl = (fl & ~O_ACCMODE) | O_RDWR;
			break;
		case 'x':
			fl |= O_EXCL;
			break;
		case 'e':
			fl |= O_CLOEXEC;
			break;
		case ',':
			return -1;
		default:
			break;
		}
	}
	return fl;
}

static FILE *do_fopen(const char *path, const char *mode, const char *real)
{
	int fl = area && mode ? fopen_flags(mode) : -1;
	FILE *f;
	int fd;

	if (fl < 0) {
		FILE *(*next)(const char *, const char *) =
			(FILE *(*)(const char *, const char *))dlsym(RTLD_NEXT, real);

		if (!next) {
			errno = ENOSYS;
			return NULL;
		}
		return next(path, mode);
	}
	fd = do_openat(AT_FDCWD, path, fl, 0666);
	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, mode))) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return f;
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	return do_fopen(path, mode, "fopen");
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return do_fopen(path, mode, "fopen64");
}

EXPORT DIR *opendir(const char *path)
{
	int fd = do_openat(AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC, 0);
	DIR *d;

	if (fd < 0)
		return NULL;
	if (!(d = fdopendir(fd))) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return d;
}

EXPORT int truncate(const char *path, off_t len)
{
	char abs[PATH_MAX];
	size_t n = absolute(AT_FDCWD, path, abs);
	long ret;

	if (!n)
		return (int)syscall(SYS_truncate, path, len);
	ret = syscall(SYS_truncate, path, len, 0, 0, cookie0, cookie1);
	if (ret == 0)
		record(abs, n, TRACE_REC_FOLLOW, 0x2);
	return (int)ret;
}

EXPORT int truncate64(const char *path, off_t len)
{
	return truncate(path, len);
}

/*
 * rename and link where the system call leaves two registers free
 * (renameat2 and linkat have flags in the 5th: for the tracer).
 */
#ifdef SYS_renameat
static int do_renameat(int olddir, const char *old, int newdir, const char *new)
{
	char abs[PATH_MAX];
	size_t n = absolute(newdir, new, abs);
	long ret;

	if (!n)
		return (int)syscall(SYS_renameat, olddir, old, newdir, new);
	ret = syscall(SYS_renameat, olddir, old, newdir, new, cookie0, cookie1);
	if (ret == 0)
		record(abs, n, TRACE_REC_NAME, 0x2);
	return (int)ret;
}

EXPORT int rename(const char *old, const char *new)
{
	return do_renameat(AT_FDCWD, old, AT_FDCWD, new);
}

EXPORT int renameat(int olddir, const char *old, int newdir, const char *new)
{
	return do_renameat(olddir, old, newdir, new);
}
#endif

#ifdef SYS_link
EXPORT int link(const char *old, const char *new)
{
	char abs[PATH_MAX];
	size_t n = absolute(AT_FDCWD, new, abs);
	long ret;

	if (!n)
		return (int)syscall(SYS_link, old, new);
	ret = syscall(SYS_link, old, new, 0, 0, cookie0, cookie1);
	if (ret == 0)
		record(abs, n, TRACE_REC_NAME, 0x2);
	return (int)ret;
}
#endif

/* The working directory changes: the cached one is stale. */
EXPORT int chdir(const char *path)
{
	long ret = syscall(SYS_chdir, path);

	__atomic_fetch_add(&cwd_gen, 1, __ATOMIC_RELEASE);
	return (int)ret;
}

EXPORT int fchdir(int fd)
{
	long ret = syscall(SYS_fchdir, fd);

	__atomic_fetch_add(&cwd_gen, 1, __ATOMIC_RELEASE);
	return (int)ret;
}
