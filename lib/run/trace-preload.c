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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/proc.h"
#include "run/proc-trace.h"
#include "run/trace-shm.h"

#define PRELOAD_NAME "mlv-trace.so"

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
		 * before its runtime; the user's own setting (after) wins.
		 */
		mlv_buf_addf(&b, "ASAN_OPTIONS=verify_asan_link_order=0%s%s",
			     asan && *asan ? ":" : "", asan ? asan : "");
		pl->own[3] = pl->envp[k++] = mlv_buf_detach(&b, NULL);
	}
	pl->so = realpath(so, NULL);
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

size_t proc_preload_files(struct proc_preload *pl, struct proc_preload_file **out, size_t *lost)
{
	struct trace_shm_head *h = pl->area;
	struct proc_preload_file *v = NULL;
	size_t nr = 0, alloc = 0;
	struct strmap raw = { 0 };
	struct resolver r;
	uint64_t used = __atomic_load_n(&h->used, __ATOMIC_ACQUIRE), off = TRACE_SHM_HEAD;
	char key[PATH_MAX + 2];

	memset(&r, 0, sizeof(r));

	*out = NULL;
	*lost += __atomic_load_n(&h->overflow, __ATOMIC_RELAXED);
	if (used > pl->size)
		used = pl->size;
	while (off + 24 <= used) {
		const char *base = (const char *)pl->area + off;
		uint64_t w = __atomic_load_n((const uint64_t *)base, __ATOMIC_ACQUIRE);
		const struct trace_rec *rec = (const struct trace_rec *)base;
		size_t len = TRACE_REC_LEN(w), plen;
		unsigned kind = TRACE_REC_KIND(w);
		int found;
		size_t i;

		if (!TRACE_REC_OK(w) || len < 24 || len % 8 || off + len > used ||
		    (kind != TRACE_REC_FOLLOW && kind != TRACE_REC_NAME) ||
		    !memchr(rec->path, '\0', len - 16)) {
			off += 8; /* not (yet) a record */
			continue;
		}
		off += len;
		plen = strlen(rec->path);
		if (rec->path[0] != '/' || plen >= PATH_MAX)
			continue;
		/* One entry per kind and path as recorded (by any process). */
		key[0] = (char)('0' + kind);
		memcpy(key + 1, rec->path, plen + 1);
		i = strmap_slot(&raw, key, &found);
		if (found) {
			v[raw.vals[i]].flags |= TRACE_REC_FLAGS(w);
			if (rec->ns < v[raw.vals[i]].ns)
				v[raw.vals[i]].ns = rec->ns;
			continue;
		}
		MLV_ALLOC_GROW(v, nr + 1, alloc);
		v[nr].path = mlv_strdup(key);
		v[nr].flags = TRACE_REC_FLAGS(w);
		v[nr].ns = rec->ns;
		raw.keys[i] = v[nr].path;
		raw.vals[i] = nr;
		raw.nr++;
		nr++;
	}
	strmap_release(&raw, 0);

	for (size_t i = 0; i < nr; i++) {
		char *key_path = v[i].path;
		char *real = resolve(&r, key_path + 1, (unsigned)(key_path[0] - '0'));

		free(key_path);
		if (!real)
			++*lost;
		v[i].path = real;
	}
	for (size_t i = 0; i < r.nr_real; i++)
		free(r.real[i]);
	free(r.real);
	strmap_release(&r.dirs, 1);

	/* Drop the unresolved, then in the order of the calls. */
	{
		size_t k = 0;

		for (size_t i = 0; i < nr; i++)
			if (v[i].path)
				v[k++] = v[i];
		nr = k;
	}
	qsort(v, nr, sizeof(*v), by_ns);
	*out = v;
	return nr;
}
