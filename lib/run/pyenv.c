/*
 * The Python part of an environment manifest (mlv/envinfo.h): the
 * version of the interpreter a command runs (found by pyfind.c) and the
 * distributions it can import, read from their metadata files.
 *
 * Asking the interpreter for sys.path costs tens of milliseconds, reading
 * hundreds of METADATA files more; both are cached in one JSON file per
 * interpreter and environment (python-<key>.json in the cache directory),
 * valid while the interpreter, its pyvenv.cfg and every directory of
 * sys.path keep their identity and times.  The cache is only a cache: a
 * file that is not exactly what this code writes is ignored and replaced.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/fs.h"
#include "mlv/oid.h"
#include "mlv/tempfile.h"
#include "run/envinfo-priv.h"

#define PY_QUERY_OUT_MAX (4u << 20)
#define PY_QUERY_TIMEOUT_MS 30000
#define PY_SYSPATH_MAX 256         /* sys.path entries scanned */
#define PY_DIRENTS_MAX 1000000     /* entries read from one directory */
#define PY_DISTS_MAX 50000         /* distributions over all directories */
#define PY_META_MAX 16384          /* head of a METADATA / PKG-INFO read */
#define PY_CACHE_MAX (32u << 20)
#define PY_CACHE_FORMAT 1

/* What the interpreter is asked; prints one JSON object. */
static const char py_query[] =
	"import sys, json\n"
	"def ok(s):\n"
	"    try:\n"
	"        s.encode('utf-8'); return True\n"
	"    except Exception:\n"
	"        return False\n"
	"u = None\n"
	"try:\n"
	"    import site\n"
	"    if site.ENABLE_USER_SITE:\n"
	"        u = site.getusersitepackages()\n"
	"except Exception:\n"
	"    pass\n"
	"i = getattr(sys, 'implementation', None)\n"
	"sys.stdout.write(json.dumps({'executable': sys.executable,"
	" 'version': sys.version.split()[0],"
	" 'implementation': i.name if i else 'cpython',"
	" 'prefix': sys.prefix, 'base_prefix': getattr(sys, 'base_prefix', sys.prefix),"
	" 'path': [p for p in sys.path if ok(p)],"
	" 'user_site': u if u and ok(u) else None}))\n";

/* Variables of the command's environment the interpreter is asked with (they change sys.path). */
static const char *const py_query_vars[] = {
	"PATH", "HOME", "PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONUSERBASE",
	"PYTHONSAFEPATH", "PYTHONPLATLIBDIR", "PYENV_VERSION", "PYENV_ROOT", "PYENV_DIR",
	"LANG", "LC_ALL", "LC_CTYPE", NULL,
};


struct py_dir {
	char *path;
	int present; /* a directory when scanned */
	uint64_t dev, ino;
	int64_t mtime, ctime; /* nanoseconds */
	json_t *dists;        /* [[name, version], ...] */
};

struct py_info {
	json_t *interp; /* executable, version, implementation, prefix, base_prefix */
	json_t *user_site;
	struct py_dir *dirs;
	size_t nr, alloc;
};

static void py_info_release(struct py_info *pi)
{
	json_decref(pi->interp);
	json_decref(pi->user_site);
	for (size_t i = 0; i < pi->nr; i++) {
		free(pi->dirs[i].path);
		json_decref(pi->dirs[i].dists);
	}
	free(pi->dirs);
	memset(pi, 0, sizeof(*pi));
}

/* ---------- asking the interpreter ---------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Run `<interpreter> [-flags] -c <py_query>` in the command's directory
 * with the variables that shape sys.path, stdout into `out` (bounded),
 * killed after PY_QUERY_TIMEOUT_MS.
 */
static int run_query(struct mlv_buf *out, const struct py_target *t,
		     const struct env_python_req *req)
{
	posix_spawn_file_actions_t fa;
	char *argv[5], *envp[32], flagarg[8];
	struct mlv_buf envbuf[32];
	size_t ne = 0, nbuf;
	int pipefd[2] = { -1, -1 }, ret = 0, status = 0, spawned = 0;
	pid_t pid = -1;
	int64_t deadline;

	for (const char *const *v = py_query_vars; *v; v++) {
		const char *val = env_lookup(req->envp, *v);

		if (!val)
			continue;
		mlv_buf_init(&envbuf[ne], 0);
		mlv_buf_addf(&envbuf[ne], "%s=%s", *v, val);
		envp[ne] = envbuf[ne].ptr;
		ne++;
	}
	nbuf = ne;
	envp[ne++] = "PYTHONDONTWRITEBYTECODE=1";
	envp[ne++] = "PYTHONIOENCODING=utf-8";
	envp[ne] = NULL;
	argv[0] = t->path.ptr;
	if (t->flags.len) {
		snprintf(flagarg, sizeof(flagarg), "-%s", t->flags.ptr);
		argv[1] = flagarg, argv[2] = "-c", argv[3] = (char *)py_query, argv[4] = NULL;
	} else {
		argv[1] = "-c", argv[2] = (char *)py_query, argv[3] = NULL;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot make a pipe for '%s'", t->path.ptr);
		goto done;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addchdir_np(&fa, req->cwd);
	errno = posix_spawn(&pid, t->path.ptr, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	pipefd[1] = -1;
	if (errno) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot run '%s'", t->path.ptr);
		goto done;
	}
	spawned = 1;
	deadline = now_ms() + PY_QUERY_TIMEOUT_MS;
	for (;;) {
		struct pollfd pfd = { pipefd[0], POLLIN, 0 };
		int64_t left = deadline - now_ms();
		ssize_t n;
		int pr;

		if (left <= 0) {
			ret = mlv_error_set(MLV_EIO, "'%s' did not answer in %d s", t->path.ptr,
					    PY_QUERY_TIMEOUT_MS / 1000);
			break;
		}
		pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		mlv_buf_grow(out, 65536);
		n = read(pipefd[0], out->ptr + out->len, 65536);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot read from '%s'", t->path.ptr);
			break;
		}
		if (!n)
			break;
		mlv_buf_setlen(out, out->len + (size_t)n);
		if (out->len > PY_QUERY_OUT_MAX) {
			ret = mlv_error_set(MLV_EINVALID, "'%s' wrote more than %u bytes",
					    t->path.ptr, PY_QUERY_OUT_MAX);
			break;
		}
	}
done:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (spawned) {
		if (ret)
			kill(pid, SIGKILL);
		/* ECHILD: a SIGCHLD handler of the caller reaped it; the answer tells. */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!ret && !(WIFEXITED(status) && !WEXITSTATUS(status)))
			ret = mlv_error_set(MLV_EIO, "'%s' failed (%s %d)", t->path.ptr,
					    WIFEXITED(status) ? "exit" : "signal",
					    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	for (size_t i = 0; i < nbuf; i++)
		mlv_buf_release(&envbuf[i]);
	return ret;
}

static int is_str(const json_t *v, size_t max)
{
	return json_is_string(v) && json_string_length(v) <= max;
}

/* The interpreter's answer: interp fields, user_site and the sys.path directories. */
static int parse_query(struct py_info *pi, const struct mlv_buf *text, const char *what)
{
	static const char *const fields[] = {
		"executable", "version", "implementation", "prefix", "base_prefix", NULL,
	};
	json_error_t jerr;
	json_t *o = json_loadb(text->ptr, text->len, JSON_REJECT_DUPLICATES, &jerr), *path, *v;
	size_t i;
	int ret = 0;

	if (!json_is_object(o)) {
		ret = mlv_error_set(MLV_EINVALID, "'%s' answered no JSON object", what);
		goto done;
	}
	pi->interp = json_object();
	for (i = 0; fields[i]; i++) {
		v = json_object_get(o, fields[i]);
		if (!is_str(v, 4096)) {
			ret = mlv_error_set(MLV_EINVALID, "'%s' answered no '%s'", what, fields[i]);
			goto done;
		}
		json_object_set(pi->interp, fields[i], v);
	}
	v = json_object_get(o, "user_site");
	pi->user_site = is_str(v, 4096) ? json_incref(v) : json_null();
	path = json_object_get(o, "path");
	if (!json_is_array(path)) {
		ret = mlv_error_set(MLV_EINVALID, "'%s' answered no sys.path", what);
		goto done;
	}
	json_array_foreach(path, i, v) {
		const char *p = json_string_value(v);

		if (pi->nr >= PY_SYSPATH_MAX)
			break;
		if (!is_str(v, 4096) || *p != '/')
			continue; /* "" is the script's directory, not an install */
		MLV_ALLOC_GROW(pi->dirs, pi->nr + 1, pi->alloc);
		memset(&pi->dirs[pi->nr], 0, sizeof(*pi->dirs));
		pi->dirs[pi->nr++].path = mlv_strdup(p);
	}
done:
	json_decref(o);
	return ret;
}

/* ---------- reading the distributions ---------- */

static void stat_dir(struct py_dir *d)
{
	struct stat st;

	d->present = !stat(d->path, &st) && S_ISDIR(st.st_mode);
	d->dev = d->present ? (uint64_t)st.st_dev : 0;
	d->ino = d->present ? (uint64_t)st.st_ino : 0;
	d->mtime = d->present ? (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec : 0;
	d->ctime = d->present ? (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec : 0;
}

static int same_dir(const struct py_dir *a, const struct py_dir *b)
{
	return a->present == b->present && a->dev == b->dev && a->ino == b->ino &&
	       a->mtime == b->mtime && a->ctime == b->ctime;
}

/* PEP 503: lowercase, runs of '-', '_', '.' as one '-'.  0 when `s` is no distribution name. */
static int normalize_name(struct mlv_buf *out, const char *s, size_t n)
{
	mlv_buf_reset(out);
	if (!n || n > 200)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '-' || c == '_' || c == '.') {
			if (!out->len || out->ptr[out->len - 1] != '-')
				mlv_buf_addch(out, '-');
		} else if (('a' <= c && c <= 'z') || ('0' <= c && c <= '9')) {
			mlv_buf_addch(out, c);
		} else if ('A' <= c && c <= 'Z') {
			mlv_buf_addch(out, (char)(c - 'A' + 'a'));
		} else {
			return 0;
		}
	}
	return out->len && out->ptr[0] != '-';
}

static int valid_version(const char *s, size_t n)
{
	if (!n || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

/* "Name:" and "Version:" of a metadata file's header block (bounded head). */
static void parse_metadata(const char *buf, size_t len, const char **name, size_t *nlen,
			   const char **ver, size_t *vlen)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p)), *v;
		size_t l = (size_t)((e ? e : end) - p);

		if (l && p[l - 1] == '\r')
			l--;
		if (!l)
			break; /* the end of the headers */
		if (l > 5 && !strncasecmp(p, "Name:", 5))
			v = p + 5, *name = v, *nlen = l - 5;
		else if (l > 8 && !strncasecmp(p, "Version:", 8))
			v = p + 8, *ver = v, *vlen = l - 8;
		else
			v = NULL;
		if (v) {
			const char **s = v == *name ? name : ver;
			size_t *n = v == *name ? nlen : vlen;

			while (*n && (**s == ' ' || **s == '\t'))
				(*s)++, (*n)--;
			while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
				(*n)--;
		}
		if (*name && *ver)
			break;
		if (!e)
			break;
		p = e + 1;
	}
}

/* The head of `rel` below `dirfd` (no symlink followed), at most PY_META_MAX bytes. */
static int read_meta(struct mlv_buf *out, int dirfd, const char *rel)
{
	return py_read_head_fd(out, mlv_fs_open(dirfd, rel, O_RDONLY | O_NONBLOCK, 0), PY_META_MAX);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The distributions installed in directory `d`: *.dist-info/METADATA,
 * *.egg-info/PKG-INFO and *.egg-info files, by their Name and Version
 * headers (or the entry's name when they are missing).  Never recurses;
 * reads at most PY_DIRENTS_MAX entries and `*budget` distributions.
 */
static void scan_dir(struct py_dir *d, size_t *budget)
{
	int fd = open(d->path, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
	struct mlv_buf meta = MLV_BUF_INIT, rel = MLV_BUF_INIT, name = MLV_BUF_INIT;
	char **names = NULL;
	size_t nr = 0, alloc = 0, seen = 0;
	struct dirent *de;
	DIR *dir;

	json_decref(d->dists);
	d->dists = json_array();
	if (fd < 0)
		return;
	dir = fdopendir(dup(fd));
	while (dir && seen++ < PY_DIRENTS_MAX && nr < *budget && (de = readdir(dir))) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.' ||
		    !((l > 10 && !strcmp(de->d_name + l - 10, ".dist-info")) ||
		      (l > 9 && !strcmp(de->d_name + l - 9, ".egg-info"))))
			continue;
		MLV_ALLOC_GROW(names, nr + 1, alloc);
		names[nr++] = mlv_strdup(de->d_name);
	}
	if (dir)
		closedir(dir);
	if (nr)
		qsort(names, nr, sizeof(*names), cmp_str);
	*budget -= nr;
	for (size_t i = 0; i < nr; i++) {
		const char *ent = names[i], *n = NULL, *v = NULL, *dash;
		size_t l = strlen(ent), nl = 0, vl = 0;
		int dist_info = l > 10 && !strcmp(ent + l - 10, ".dist-info");
		size_t stem = l - (dist_info ? 10 : 9);
		struct stat st;

		mlv_buf_reset(&rel);
		mlv_buf_adds(&rel, ent);
		if (dist_info)
			mlv_buf_adds(&rel, "/METADATA");
		else if (!fstatat(fd, ent, &st, AT_SYMLINK_NOFOLLOW) && S_ISDIR(st.st_mode))
			mlv_buf_adds(&rel, "/PKG-INFO");
		if (!read_meta(&meta, fd, rel.ptr))
			parse_metadata(meta.ptr, meta.len, &n, &nl, &v, &vl);
		dash = memchr(ent, '-', stem);
		if (!n && dash)
			n = ent, nl = (size_t)(dash - ent);
		if (!v && dash) {
			const char *e = memchr(dash + 1, '-', stem - (size_t)(dash + 1 - ent));

			v = dash + 1, vl = (size_t)((e ? e : ent + stem) - v);
		}
		if (n && v && normalize_name(&name, n, nl) && valid_version(v, vl)) {
			json_t *pair = json_array();

			json_array_append_new(pair, json_string(name.ptr));
			json_array_append_new(pair, json_stringn(v, vl));
			json_array_append_new(d->dists, pair);
		}
		free(names[i]);
	}
	free(names);
	close(fd);
	mlv_buf_release(&meta);
	mlv_buf_release(&rel);
	mlv_buf_release(&name);
}

/* ---------- the cache ---------- */

static void key_add_stat(struct mlv_hash *h, const char *what, const char *path)
{
	struct stat st;
	char buf[256];
	int n;

	mlv_hash_update(h, what, strlen(what) + 1);
	mlv_hash_update(h, path, strlen(path) + 1);
	if (stat(path, &st) < 0)
		n = snprintf(buf, sizeof(buf), "none");
	else
		n = snprintf(buf, sizeof(buf), "%llu %llu %llu %lld.%09ld %lld.%09ld %o",
			     (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			     (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec,
			     st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
			     (unsigned)st.st_mode);
	mlv_hash_update(h, buf, (size_t)n + 1);
}

/*
 * What the cache file is named by: the interpreter as invoked, the file it
 * resolves to, its pyvenv.cfg, the flags and the variables that shape
 * sys.path.  Their values are hashed, never written.
 */
static int cache_key(char hex[MLV_OID_HEXSZ + 1], const struct py_target *t, const char *cfg,
		     const struct env_python_req *req)
{
	struct mlv_hash h;
	struct mlv_oid oid;
	char *real = realpath(t->path.ptr, NULL);

	if (mlv_hash_init(&h) < 0) {
		free(real);
		return -1;
	}
	mlv_hash_update(&h, "mlv python cache 1", 19);
	mlv_hash_update(&h, t->path.ptr, t->path.len + 1);
	key_add_stat(&h, "interpreter", real ? real : t->path.ptr);
	key_add_stat(&h, "pyvenv.cfg", cfg ? cfg : "");
	mlv_hash_update(&h, t->flags.ptr, t->flags.len + 1);
	for (const char *const *v = py_query_vars; *v; v++) {
		const char *val = env_lookup(req->envp, *v);

		mlv_hash_update(&h, *v, strlen(*v) + 1);
		mlv_hash_update(&h, val ? "=" : "-", 1);
		if (val)
			mlv_hash_update(&h, val, strlen(val) + 1);
	}
	mlv_hash_final(&oid, &h);
	mlv_hash_release(&h);
	mlv_oid_tohex(hex, &oid);
	free(real);
	return 0;
}

static int get_int(const json_t *o, const char *k, int64_t *out)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* A cache file exactly as cache_write() makes it, into `pi`; -1 for anything else. */
static int cache_parse(struct py_info *pi, const struct mlv_buf *text, const char *key)
{
	static const char *const fields[] = {
		"executable", "version", "implementation", "prefix", "base_prefix", NULL,
	};
	json_t *o = json_loadb(text->ptr, text->len, JSON_REJECT_DUPLICATES, NULL);
	json_t *interp, *dirs, *d, *v;
	struct mlv_buf norm = MLV_BUF_INIT;
	size_t i, j, total = 0;
	int ret = -1;

	if (!json_is_object(o) || json_integer_value(json_object_get(o, "format")) != PY_CACHE_FORMAT ||
	    !json_is_string(json_object_get(o, "key")) ||
	    strcmp(json_string_value(json_object_get(o, "key")), key))
		goto done;
	interp = json_object_get(o, "interp");
	if (!json_is_object(interp) || json_object_size(interp) != 5)
		goto done;
	for (i = 0; fields[i]; i++)
		if (!is_str(json_object_get(interp, fields[i]), 4096))
			goto done;
	v = json_object_get(o, "user_site");
	if (!json_is_null(v) && !is_str(v, 4096))
		goto done;
	dirs = json_object_get(o, "dirs");
	if (!json_is_array(dirs) || json_array_size(dirs) > PY_SYSPATH_MAX)
		goto done;
	pi->interp = json_incref(interp);
	pi->user_site = json_incref(v);
	json_array_foreach(dirs, i, d) {
		struct py_dir *pd;
		json_t *dists = json_object_get(d, "dists"), *pair;
		int64_t n;

		v = json_object_get(d, "path");
		if (!is_str(v, 4096) || *json_string_value(v) != '/' || !json_is_array(dists) ||
		    !json_is_boolean(json_object_get(d, "present")))
			goto done;
		MLV_ALLOC_GROW(pi->dirs, pi->nr + 1, pi->alloc);
		pd = &pi->dirs[pi->nr++];
		memset(pd, 0, sizeof(*pd));
		pd->path = mlv_strdup(json_string_value(v));
		pd->present = json_is_true(json_object_get(d, "present"));
		if (get_int(d, "dev", &n) < 0 || (pd->dev = (uint64_t)n, get_int(d, "ino", &n)) < 0 ||
		    (pd->ino = (uint64_t)n, get_int(d, "mtime", &pd->mtime)) < 0 ||
		    get_int(d, "ctime", &pd->ctime) < 0)
			goto done;
		total += json_array_size(dists);
		if (total > PY_DISTS_MAX)
			goto done;
		json_array_foreach(dists, j, pair) {
			json_t *name = json_array_get(pair, 0), *ver = json_array_get(pair, 1);

			if (!json_is_array(pair) || json_array_size(pair) != 2 || !is_str(name, 200) ||
			    !is_str(ver, 128) ||
			    !normalize_name(&norm, json_string_value(name), json_string_length(name)) ||
			    strcmp(norm.ptr, json_string_value(name)) ||
			    !valid_version(json_string_value(ver), json_string_length(ver)))
				goto done;
		}
		pd->dists = json_incref(dists);
	}
	ret = 0;
done:
	json_decref(o);
	mlv_buf_release(&norm);
	if (ret)
		py_info_release(pi);
	return ret;
}

static void cache_read(struct py_info *pi, int cachefd, const char *name, const char *key)
{
	struct mlv_buf text = MLV_BUF_INIT;

	if (!mlv_fs_read_file(&text, cachefd, name, PY_CACHE_MAX))
		cache_parse(pi, &text, key);
	mlv_buf_release(&text);
}

/* Replace the cache file atomically; failing to is no error (it is a cache). */
static void cache_write(const struct py_info *pi, int cachefd, const char *name, const char *key)
{
	json_t *o = json_object(), *dirs = json_array();
	struct mlv_tempfile *tf = NULL;
	char *text;
	int fd;

	json_object_set_new(o, "format", json_integer(PY_CACHE_FORMAT));
	json_object_set_new(o, "key", json_string(key));
	json_object_set(o, "interp", pi->interp);
	json_object_set(o, "user_site", pi->user_site);
	for (size_t i = 0; i < pi->nr; i++) {
		const struct py_dir *d = &pi->dirs[i];
		json_t *jd = json_object();

		json_object_set_new(jd, "path", json_string(d->path));
		json_object_set_new(jd, "present", json_boolean(d->present));
		json_object_set_new(jd, "dev", json_integer((json_int_t)d->dev));
		json_object_set_new(jd, "ino", json_integer((json_int_t)d->ino));
		json_object_set_new(jd, "mtime", json_integer(d->mtime));
		json_object_set_new(jd, "ctime", json_integer(d->ctime));
		json_object_set(jd, "dists", d->dists ? d->dists : json_array());
		json_array_append_new(dirs, jd);
	}
	json_object_set_new(o, "dirs", dirs);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return;
	if (!mlv_tempfile_create(&tf, &fd, cachefd, MLV_TEMP_PREFIX, 0644)) {
		int ret = mlv_write_all(fd, text, strlen(text), name);

		if (close(fd) < 0)
			ret = -1;
		if (ret || mlv_tempfile_rename(tf, cachefd, name, name) < 0)
			mlv_tempfile_remove(tf);
	}
	free(text);
}

/* ---------- the manifest's member ---------- */

/* The venv's pyvenv.cfg beside or above the interpreter as invoked, into `out`; 0 or -1. */
static int find_venv_cfg(struct mlv_buf *out, const char *interp)
{
	const char *slash = strrchr(interp, '/');
	struct stat st;

	for (int up = 0; slash && up < 2; up++) {
		mlv_buf_reset(out);
		mlv_buf_add(out, interp, (size_t)(slash - interp));
		mlv_buf_adds(out, "/pyvenv.cfg");
		if (!stat(out->ptr, &st) && S_ISREG(st.st_mode))
			return 0;
		while (slash > interp && *--slash != '/')
			;
		if (slash == interp)
			break;
	}
	return -1;
}

/* Whether `pi`'s directories (and the user site) are as they were when it was made. */
static int still_valid(const struct py_info *pi)
{
	int user_site_listed = 0;
	const char *us = json_string_value(pi->user_site);

	for (size_t i = 0; i < pi->nr; i++) {
		struct py_dir now = { .path = pi->dirs[i].path };

		stat_dir(&now);
		if (!same_dir(&now, &pi->dirs[i]))
			return 0;
		if (us && !strcmp(us, now.path))
			user_site_listed = 1;
	}
	if (us && !user_site_listed) {
		struct stat st;

		if (!stat(us, &st) && S_ISDIR(st.st_mode))
			return 0; /* made since: site adds it to sys.path now */
	}
	return 1;
}

static json_t *python_json(const struct py_info *pi, const char *via)
{
	json_t *o = json_object(), *pk = json_object();
	size_t j;
	json_t *pair;

	json_object_set(o, "executable", json_object_get(pi->interp, "executable"));
	json_object_set(o, "prefix", json_object_get(pi->interp, "prefix"));
	json_object_set(o, "base_prefix", json_object_get(pi->interp, "base_prefix"));
	json_object_set_new(o, "via", json_string(via));
	json_object_set(o, "implementation", json_object_get(pi->interp, "implementation"));
	json_object_set(o, "version", json_object_get(pi->interp, "version"));
	for (size_t i = 0; i < pi->nr; i++)
		json_array_foreach(pi->dirs[i].dists, j, pair) {
			const char *name = json_string_value(json_array_get(pair, 0));

			/* The first in sys.path order is the one imported. */
			if (!json_object_get(pk, name))
				json_object_set(pk, name, json_array_get(pair, 1));
		}
	json_object_set_new(o, "packages", pk);
	return o;
}

json_t *env_python(const struct env_python_req *req)
{
	struct py_target t = { MLV_BUF_INIT, MLV_BUF_INIT, NULL, 0, 0 };
	struct py_info cached = { 0 }, pi = { 0 };
	struct mlv_buf cfg = MLV_BUF_INIT, out = MLV_BUF_INIT;
	char key[MLV_OID_HEXSZ + 1], name[MLV_OID_HEXSZ + 16];
	const char *via;
	int cachefd = -1, have_cfg;
	json_t *res = NULL;

	if (!req->argv || !req->argv[0] || !env_find_python(&t, req)) {
		res = json_null();
		goto done;
	}
	have_cfg = !find_venv_cfg(&cfg, t.path.ptr);
	via = have_cfg ? "venv" : strcmp(t.via, "direct") ? t.via : t.via_env ? "env" : "direct";
	if (req->cachedir && !req->no_cache && !t.unresolved_shim &&
	    !cache_key(key, &t, have_cfg ? cfg.ptr : NULL, req)) {
		cachefd = open(req->cachedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		snprintf(name, sizeof(name), "python-%s.json", key);
		if (cachefd >= 0)
			cache_read(&cached, cachefd, name, key);
		if (cached.interp && still_valid(&cached)) {
			res = python_json(&cached, via);
			goto done;
		}
	}
	if (run_query(&out, &t, req) < 0 || parse_query(&pi, &out, t.path.ptr) < 0) {
		res = json_object();
		json_object_set_new(res, "executable", env_json_str(t.path.ptr, t.path.len));
		json_object_set_new(res, "prefix", json_null());
		json_object_set_new(res, "base_prefix", json_null());
		json_object_set_new(res, "via", json_string(via));
		json_object_set_new(res, "implementation", json_null());
		json_object_set_new(res, "version", json_null());
		json_object_set_new(res, "packages", json_null());
		json_object_set_new(res, "error", env_json_str(mlv_error_last(),
							       strlen(mlv_error_last())));
		goto done;
	}
	{
		size_t budget = PY_DISTS_MAX;

		for (size_t i = 0; i < pi.nr; i++) {
			struct py_dir *d = &pi.dirs[i];
			size_t k;

			stat_dir(d);
			for (k = 0; k < cached.nr; k++)
				if (!strcmp(cached.dirs[k].path, d->path) && same_dir(&cached.dirs[k], d))
					break;
			if (k < cached.nr && json_array_size(cached.dirs[k].dists) <= budget) {
				d->dists = json_incref(cached.dirs[k].dists);
				budget -= json_array_size(d->dists);
			} else if (d->present) {
				scan_dir(d, &budget);
			} else {
				d->dists = json_array();
			}
		}
	}
	if (cachefd >= 0)
		cache_write(&pi, cachefd, name, key);
	res = python_json(&pi, via);
done:
	if (cachefd >= 0)
		close(cachefd);
	py_info_release(&cached);
	py_info_release(&pi);
	mlv_buf_release(&t.path);
	mlv_buf_release(&t.flags);
	mlv_buf_release(&cfg);
	mlv_buf_release(&out);
	return res;
}
