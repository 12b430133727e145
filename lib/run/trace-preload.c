/*
 * The fast path of tracing (mlv/proc.h): mlv-trace.so preloaded into the
 * traced programs records the calls it makes itself into an area shared
 * with mlv (run/trace-shm.h), and the seccomp filter lets those calls
 * through without a ptrace stop.  This file finds the library, makes the
 * area, the cookie and the child's environment, and at the end reads the
 * records back and resolves their paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/proc.h"
#include "run/proc-trace.h"
#include "run/trace-shm.h"

#define PRELOAD_NAME "mlv-trace.so"

static struct collector *collector_new(void);
static void collector_free(struct collector *c);

static int usable_path(const char *p)
{
	/* ld.so splits LD_PRELOAD at spaces and colons. */
	return p[0] == '/' && !strpbrk(p, " :\t\n") && access(p, R_OK) == 0;
}

/* The interposer: $MLV_TRACE_PRELOAD ("" for none), else beside mlv, else ../lib/mlv/. */
static char *find_preload(void)
{
	const char *env = getenv("MLV_TRACE_PRELOAD");
	char exe[PATH_MAX], *slash;
	struct mlv_buf b = MLV_BUF_INIT;
	ssize_t n;

	if (env)
		return *env && usable_path(env) ? mlv_strdup(env) : NULL;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || n >= (ssize_t)sizeof(exe) - 1)
		return NULL;
	exe[n] = '\0';
	if (!(slash = strrchr(exe, '/')))
		return NULL;
	*slash = '\0';
	mlv_buf_addf(&b, "%s/" PRELOAD_NAME, exe);
	if (usable_path(b.ptr))
		return mlv_buf_detach(&b, NULL);
	mlv_buf_reset(&b);
	mlv_buf_addf(&b, "%s/../lib/mlv/" PRELOAD_NAME, exe);
	if (usable_path(b.ptr))
		return mlv_buf_detach(&b, NULL);
	mlv_buf_release(&b);
	return NULL;
}

static int env_is(const char *e, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(e, name, n) && e[n] == '=';
}

struct proc_preload *proc_preload_new(char *const *envp)
{
	struct proc_preload *pl;
	struct trace_shm_head *h;
	char *so = find_preload();
	const char *user = NULL, *asan = NULL;
	size_t n = 0, k = 0;
	void *area;
	int fd;

	if (!so)
		return NULL;
	pl = mlv_calloc(1, sizeof(*pl));
	pl->memfd = -1;
	do {
		if (getrandom(pl->cookie, sizeof(pl->cookie), 0) != sizeof(pl->cookie))
			goto fail;
	} while (!(uint32_t)pl->cookie[0] || !(pl->cookie[0] >> 32) ||
		 !(uint32_t)pl->cookie[1] || !(pl->cookie[1] >> 32));
	if ((fd = memfd_create("mlv-trace", MFD_CLOEXEC)) < 0)
		goto fail;
	pl->memfd = fd;
	if (fd < 3) {
		/* Never on 0, 1, 2: the child's dup2 targets. */
		int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);

		close(fd);
		if ((pl->memfd = hi) < 0)
			goto fail;
	}
	if (ftruncate(pl->memfd, TRACE_SHM_SIZE) < 0)
		goto fail;
	area = mmap(NULL, TRACE_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, pl->memfd, 0);
	if (area == MAP_FAILED)
		goto fail;
	pl->area = area;
	pl->size = TRACE_SHM_SIZE;
	h = area;
	h->magic = TRACE_SHM_MAGIC;
	h->cookie[0] = pl->cookie[0];
	h->cookie[1] = pl->cookie[1];
	h->size = TRACE_SHM_SIZE;
	h->used = TRACE_SHM_HEAD;

	/* The child's environment: the library after the user's own preloads. */
	for (char *const *e = envp; e && *e; e++)
		n++;
	pl->envp = mlv_calloc(n + 5, sizeof(char *));
	for (char *const *e = envp; e && *e; e++) {
		if (env_is(*e, "LD_PRELOAD")) {
			user = *e + strlen("LD_PRELOAD=");
			continue;
		}
		if (env_is(*e, "ASAN_OPTIONS")) {
			asan = *e + strlen("ASAN_OPTIONS=");
			continue;
		}
		if (env_is(*e, TRACE_ENV_SHM) || env_is(*e, TRACE_ENV_COOKIE))
			continue;
		pl->envp[k++] = *e;
	}
	{
		struct mlv_buf b = MLV_BUF_INIT;

		if (user && *user)
			mlv_buf_addf(&b, "LD_PRELOAD=%s:%s", user, so);
		else
			mlv_buf_addf(&b, "LD_PRELOAD=%s", so);
		pl->own[0] = pl->envp[k++] = mlv_buf_detach(&b, NULL);
		mlv_buf_addf(&b, TRACE_ENV_SHM "=/proc/%d/fd/%d", (int)getpid(), pl->memfd);
		pl->own[1] = pl->envp[k++] = mlv_buf_detach(&b, NULL);
		mlv_buf_addf(&b, TRACE_ENV_COOKIE "=%016llx%016llx",
			     (unsigned long long)pl->cookie[0], (unsigned long long)pl->cookie[1]);
		pl->own[2] = pl->envp[k++] = mlv_buf_detach(&b, NULL);
		/*
		 * AddressSanitizer refuses to start when a library is loaded
		 * before its runtime; the user's own setting (after) wins --
		 * but for LeakSanitizer, which cannot work in a traced process
		 * and would fail it at exit: off, last.
		 */
		mlv_buf_addf(&b, "ASAN_OPTIONS=verify_asan_link_order=0%s%s:detect_leaks=0",
			     asan && *asan ? ":" : "", asan ? asan : "");
		pl->own[3] = pl->envp[k++] = mlv_buf_detach(&b, NULL);
	}
	pl->so = realpath(so, NULL);
	pl->col = collector_new();
	free(so);
	return pl;
fail:
	free(so);
	proc_preload_free(pl);
	return NULL;
}

void proc_preload_free(struct proc_preload *pl)
{
	if (!pl)
		return;
	collector_free(pl->col);
	if (pl->area)
		munmap(pl->area, pl->size);
	if (pl->memfd >= 0)
		close(pl->memfd);
	for (int i = 0; i < 4; i++)
		free(pl->own[i]);
	free(pl->so);
	free(pl->envp);
	free(pl);
}

/* --- reading the records back --- */

/* A string -> index map. */
struct strmap {
	char **keys;
	size_t *vals;
	size_t cap, nr;
};

static uint64_t hash_str(const char *s, unsigned salt)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ salt;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h ^ (h >> 31);
}

static void strmap_grow(struct strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	char **keys = mlv_calloc(cap, sizeof(*keys));
	size_t *vals = mlv_calloc(cap, sizeof(*vals));

	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->keys[i])
			continue;
		for (j = hash_str(m->keys[i], 0) & (cap - 1); keys[j]; j = (j + 1) & (cap - 1))
			;
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
}

/* The slot of key: *found says whether it is there (else the slot to fill). */
static size_t strmap_slot(struct strmap *m, const char *key, int *found)
{
	size_t i;

	if ((m->nr + 1) * 2 > m->cap)
		strmap_grow(m);
	for (i = hash_str(key, 0) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (!strcmp(m->keys[i], key)) {
			*found = 1;
			return i;
		}
	}
	*found = 0;
	return i;
}

static void strmap_release(struct strmap *m, int free_keys)
{
	if (free_keys)
		for (size_t i = 0; i < m->cap; i++)
			free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* The lexical form of an absolute path: no ".", "..", "//". */
static char *lexical(const char *p)
{
	size_t len = strlen(p), n = 0;
	char *out = mlv_malloc(len + 2);

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
		if (cl == 2 && s[0] == '.' && s[1] == '.') {
			while (n && out[n - 1] != '/')
				n--;
			if (n)
				n--;
		} else if (!(cl == 1 && s[0] == '.')) {
			out[n++] = '/';
			memcpy(out + n, s, cl);
			n += cl;
		}
		s = e;
	}
	if (!n)
		out[n++] = '/';
	out[n] = '\0';
	return out;
}

struct resolver {
	struct strmap dirs; /* directory as recorded -> index in real */
	char **real;        /* its real path, NULL when it is gone */
	size_t nr_real, alloc_real;
};

static const char *real_dir(struct resolver *r, const char *dir)
{
	int found;
	size_t i = strmap_slot(&r->dirs, dir, &found);

	if (found)
		return r->real[r->dirs.vals[i]];
	MLV_ALLOC_GROW(r->real, r->nr_real + 1, r->alloc_real);
	r->real[r->nr_real] = realpath(dir, NULL);
	r->dirs.keys[i] = mlv_strdup(dir);
	r->dirs.vals[i] = r->nr_real;
	r->dirs.nr++;
	return r->real[r->nr_real++];
}

/*
 * The real path of a recorded one: its directory resolved (cached), the
 * last component followed for an open (when it is a symlink) and kept
 * for a new name; lexical when the directory is gone.
 */
static char *resolve(struct resolver *r, const char *path, unsigned kind)
{
	const char *last = strrchr(path, '/'), *rdir;
	struct mlv_buf b = MLV_BUF_INIT;
	char *dir, *real;
	struct stat st;

	if (!last)
		return NULL;
	last++;
	if (!*last || !strcmp(last, ".") || !strcmp(last, "..")) {
		if (kind == TRACE_REC_FOLLOW && (real = realpath(path, NULL)))
			return real;
		return lexical(path);
	}
	dir = last - 1 == path ? mlv_strdup("/") : mlv_strndup(path, (size_t)(last - 1 - path));
	rdir = real_dir(r, dir);
	free(dir);
	if (!rdir)
		return lexical(path);
	mlv_buf_adds(&b, rdir);
	if (b.len > 1)
		mlv_buf_addch(&b, '/');
	mlv_buf_adds(&b, last);
	if (kind == TRACE_REC_FOLLOW && lstat(b.ptr, &st) == 0 && S_ISLNK(st.st_mode) &&
	    (real = realpath(b.ptr, NULL))) {
		mlv_buf_release(&b);
		return real;
	}
	return mlv_buf_detach(&b, NULL);
}

static int by_ns(const void *a, const void *b)
{
	const struct proc_preload_file *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	return 0;
}

/*
 * The collector: a thread that reads and resolves the records while the
 * command runs (every 20 ms), so that little is left when it is waited
 * for; the last pass is made by proc_preload_files().
 */
struct collector {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int running, stop;
	uint64_t off;              /* the next record to read */
	uint64_t stuck_off;        /* an unpublished record seen there... */
	unsigned stuck;            /* ...in this many passes */
	struct proc_preload_file *v;
	size_t nr, alloc;
	struct strmap paths;       /* resolved path -> index in v (keys are v's) */
	uint64_t *raw;             /* hashes of the records as written (kind, path) */
	size_t *raw_idx;
	size_t raw_cap, raw_nr;
	struct resolver r;
	size_t lost;
};

static size_t *raw_slot(struct collector *c, uint64_t h, int *found)
{
	size_t i;

	if ((c->raw_nr + 1) * 2 > c->raw_cap) {
		size_t cap = c->raw_cap ? c->raw_cap * 2 : 1024;
		uint64_t *raw = mlv_calloc(cap, sizeof(*raw));
		size_t *idx = mlv_calloc(cap, sizeof(*idx));

		for (i = 0; i < c->raw_cap; i++) {
			size_t j;

			if (!c->raw[i])
				continue;
			for (j = c->raw[i] & (cap - 1); raw[j]; j = (j + 1) & (cap - 1))
				;
			raw[j] = c->raw[i];
			idx[j] = c->raw_idx[i];
		}
		free(c->raw);
		free(c->raw_idx);
		c->raw = raw;
		c->raw_idx = idx;
		c->raw_cap = cap;
	}
	for (i = h & (c->raw_cap - 1); c->raw[i]; i = (i + 1) & (c->raw_cap - 1)) {
		if (c->raw[i] == h) {
			*found = 1;
			return &c->raw_idx[i];
		}
	}
	c->raw[i] = h;
	c->raw_nr++;
	*found = 0;
	return &c->raw_idx[i];
}

static void add_record(struct collector *c, const struct trace_rec *rec, unsigned kind, unsigned flags)
{
	uint64_t h = hash_str(rec->path, kind) | 1;
	size_t *idx, i;
	char *real;
	int found;

	/* The same name again (another process): only the flags. */
	idx = raw_slot(c, h, &found);
	if (found) {
		c->v[*idx].flags |= flags;
		return;
	}
	if (!(real = resolve(&c->r, rec->path, kind))) {
		c->lost++;
		*idx = SIZE_MAX;
		return;
	}
	i = strmap_slot(&c->paths, real, &found);
	if (found) {
		free(real);
		*idx = c->paths.vals[i];
		c->v[*idx].flags |= flags;
		return;
	}
	MLV_ALLOC_GROW(c->v, c->nr + 1, c->alloc);
	c->v[c->nr].path = real;
	c->v[c->nr].flags = flags;
	c->v[c->nr].ns = rec->ns;
	c->paths.keys[i] = real;
	c->paths.vals[i] = c->nr;
	c->paths.nr++;
	*idx = c->nr++;
}

/* Read what was published since the last pass; `final`: skip unpublished records. */
static void collect(struct proc_preload *pl, struct collector *c, int final)
{
	const struct trace_shm_head *h = pl->area;
	uint64_t used = __atomic_load_n(&h->used, __ATOMIC_ACQUIRE);

	if (used > pl->size)
		used = pl->size;
	if (c->off < TRACE_SHM_HEAD)
		c->off = TRACE_SHM_HEAD;
	while (c->off + 24 <= used) {
		const char *base = (const char *)pl->area + c->off;
		uint64_t w = __atomic_load_n((const uint64_t *)base, __ATOMIC_ACQUIRE);
		const struct trace_rec *rec = (const struct trace_rec *)base;
		size_t len = TRACE_REC_LEN(w);
		unsigned kind = TRACE_REC_KIND(w);

		if (!TRACE_REC_OK(w) || len < 24 || len % 8 || c->off + len > used ||
		    (kind != TRACE_REC_FOLLOW && kind != TRACE_REC_NAME) ||
		    !memchr(rec->path, '\0', len - 16)) {
			/* Not yet published, or its writer died before it was. */
			if (!final && (c->stuck_off != c->off || ++c->stuck < 50)) {
				if (c->stuck_off != c->off)
					c->stuck = 0;
				c->stuck_off = c->off;
				return;
			}
			c->off += 8;
			continue;
		}
		c->off += len;
		if (rec->path[0] == '/' && strlen(rec->path) < PATH_MAX)
			add_record(c, rec, kind, TRACE_REC_FLAGS(w));
	}
}

static void *collector_main(void *arg)
{
	struct proc_preload *pl = arg;
	struct collector *c = pl->col;

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		struct timespec ts;

		collect(pl, c, 0);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (!c->stop)
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

void proc_preload_started(struct proc_preload *pl)
{
	struct collector *c = pl->col;
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	c->running = !pthread_create(&c->thread, NULL, collector_main, pl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void collector_stop(struct collector *c)
{
	if (!c->running)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	c->running = 0;
}

static struct collector *collector_new(void)
{
	struct collector *c = mlv_calloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	return c;
}

static void collector_free(struct collector *c)
{
	if (!c)
		return;
	collector_stop(c);
	for (size_t i = 0; i < c->nr; i++)
		free(c->v[i].path);
	free(c->v);
	strmap_release(&c->paths, 0);
	free(c->raw);
	free(c->raw_idx);
	for (size_t i = 0; i < c->r.nr_real; i++)
		free(c->r.real[i]);
	free(c->r.real);
	strmap_release(&c->r.dirs, 1);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

size_t proc_preload_files(struct proc_preload *pl, struct proc_preload_file **out, size_t *lost)
{
	struct collector *c = pl->col;
	struct proc_preload_file *v;

	collector_stop(c);
	collect(pl, c, 1);
	*lost += c->lost + __atomic_load_n(&((struct trace_shm_head *)pl->area)->overflow,
					   __ATOMIC_RELAXED);
	*out = NULL;
	if (!c->nr)
		return 0;
	v = mlv_calloc(c->nr, sizeof(*v));
	for (size_t i = 0; i < c->nr; i++) {
		v[i] = c->v[i];
		v[i].path = mlv_strdup(c->v[i].path);
	}
	/* In the order of the calls (the processes' records interleave). */
	qsort(v, c->nr, sizeof(*v), by_ns);
	*out = v;
	return c->nr;
}
