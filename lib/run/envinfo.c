/*
 * The environment manifest of a run (mlv/envinfo.h): the system, the GPUs,
 * lock files and variables; Python in pyfind.c and pyenv.c, the hash and
 * diff in envdiff.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#include "mlv/buf.h"
#include "mlv/envinfo.h"
#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/fs.h"
#include "mlv/gpu.h"
#include "mlv/oid.h"
#include "mlv/repo.h"
#include "run/envinfo-priv.h"

extern char **environ;

#define ENV_OS_RELEASE_MAX (64u * 1024)
#define ENV_CPUINFO_MAX (64u * 1024)
#define ENV_LOCKFILE_MAX (64u * 1024 * 1024)
#define ENV_DIRENTS_MAX 100000
#define ENV_LOCKFILES_MAX 256
#define ENV_NAME_MAX 256
#define ENV_VALUE_MAX (64u * 1024)
#define ENV_REDACTED "<redacted>"

/* ---------- strings and names ---------- */

const char *env_lookup(const char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

json_t *env_json_str(const char *s, size_t n)
{
	struct mlv_buf b = MLV_BUF_INIT;
	json_t *j;

	if (!memchr(s, '\0', n) && !memchr(s, '\\', n) && (j = json_stringn(s, n)))
		return j;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
			     (c & 0xf8) == 0xf0 ? 4 : 0;
		json_t *probe = len > 1 && i + len <= n ? json_stringn(s + i, len) : NULL;

		if (c == '\\') {
			mlv_buf_adds(&b, "\\\\");
			i++;
		} else if (c && len == 1) {
			mlv_buf_addch(&b, (char)c);
			i++;
		} else if (probe) {
			mlv_buf_add(&b, s + i, len);
			i += len;
		} else {
			mlv_buf_addf(&b, "\\x%02x", c);
			i++;
		}
		json_decref(probe);
	}
	j = json_stringn(b.ptr, b.len);
	mlv_buf_release(&b);
	return j ? j : json_string("");
}

static int utf8_ok(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);

	json_decref(j);
	return !!j;
}

static const char *const allowed_prefixes[] = {
	"CUDA_", "CUBLAS_", "CUBLASLT_", "CUDNN_", "NCCL_", "OMP_", "KMP_", "MKL_",
	"OPENBLAS_", "BLIS_", "GOMP_", "DNNL_", "ONEDNN_", "PYTHON", "TF_", "TORCH_", "PYTORCH_",
	"TORCHINDUCTOR_", "XLA_", "JAX_", "HF_", "TRANSFORMERS_", "TOKENIZERS_", "PL_", "ROCM_",
	"HIP_", "HSA_", NULL,
};

static const char *const allowed_names[] = {
	"NVIDIA_VISIBLE_DEVICES", "NVIDIA_TF32_OVERRIDE", "LD_LIBRARY_PATH", "LD_PRELOAD", "MLV_SEED", "LANG", "LC_ALL", "LC_NUMERIC", "LC_COLLATE",
	"LC_CTYPE", "TZ", NULL,
};

/* Terraform's TF_ variables are not TensorFlow's: its inputs may hold anything. */
static const char *const denied_prefixes[] = {
	"TF_VAR_", "TF_CLI_", "TF_TOKEN_", "TF_LOG", "TF_DATA_DIR", "TF_WORKSPACE",
	"TF_IN_AUTOMATION", "TF_INPUT", "TF_PLUGIN_", "TF_REGISTRY_", "TF_STATE", NULL,
};

int mlv_env_var_allowed(const char *name)
{
	for (const char *const *p = denied_prefixes; *p; p++)
		if (!strncmp(name, *p, strlen(*p)))
			return 0;
	for (const char *const *p = allowed_prefixes; *p; p++)
		if (!strncmp(name, *p, strlen(*p)) && name[strlen(*p)])
			return 1;
	for (const char *const *p = allowed_names; *p; p++)
		if (!strcmp(name, *p))
			return 1;
	return 0;
}

static int word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && !strncasecmp(w, s, n);
}

static int word_ends(const char *w, size_t n, const char *s)
{
	size_t l = strlen(s);

	return n >= l && !strncasecmp(w + n - l, s, l);
}

static int word_starts(const char *w, size_t n, const char *s)
{
	size_t l = strlen(s);

	return n >= l && !strncasecmp(w, s, l);
}

static int word_has(const char *w, size_t n, const char *s)
{
	size_t l = strlen(s);

	for (size_t i = 0; i + l <= n; i++)
		if (!strncasecmp(w + i, s, l))
			return 1;
	return 0;
}

int mlv_env_name_is_secret(const char *name)
{
	static const char *const has[] = {
		"SECRET", "PASSW", "PASSPHRASE", "CREDENTIAL", "COOKIE", "SESSION", "PRIVATE", NULL,
	};
	static const char *const whole[] = {
		"KEYS", "CREDS", "CRED", "PAT", "DSN", "SIGNATURE", "SALT", "PWD", "PW", NULL,
	};
	const char *w = name;

	if (!strcmp(name, "PWD") || !strcmp(name, "OLDPWD")) /* the shell's directories */
		return 0;
	while (*w) {
		size_t n = strcspn(w, "_-."), all = n;

		/* TOKEN2, KEY_V2's "V2" aside: a version number ends no word's meaning */
		while (n > 1 && w[n - 1] >= '0' && w[n - 1] <= '9')
			n--;
		for (const char *const *p = has; *p; p++)
			if (word_has(w, n, *p))
				return 1;
		for (const char *const *p = whole; *p; p++)
			if (word_is(w, n, *p))
				return 1;
		if (word_ends(w, n, "TOKEN") || word_ends(w, n, "TOKENS") || word_ends(w, n, "KEY") ||
		    word_starts(w, n, "AUTH") || word_ends(w, n, "AUTH"))
			return 1;
		w += all;
		if (*w)
			w++;
	}
	return 0;
}

int mlv_env_value_is_secret(const char *value)
{
	for (const char *s = strstr(value, "://"); s; s = strstr(s + 3, "://")) {
		const char *user = s + 3;
		size_t auth = strcspn(user, "/?#@ \t");

		/* "scheme://user:password@host", or a token alone: "https://<token>@host" */
		if (user[auth] == '@' && auth)
			return 1;
	}
	return 0;
}

int mlv_env_is_seed_var(const char *name)
{
	return !strcmp(name, "MLV_SEED") || !strcmp(name, "PYTHONHASHSEED") ||
	       !strcmp(name, "PL_GLOBAL_SEED");
}

/* ---------- the system ---------- */

/* A small regular file of the system (following symlinks: /etc/os-release is one). */
static int read_small(struct mlv_buf *out, const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ret;
	struct stat st;

	mlv_buf_reset(out);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode))) {
		close(fd);
		return -1;
	}
	/* /proc files claim size 0: read a bounded head of anything. */
	mlv_buf_grow(out, max);
	ret = 0;
	while (out->len < max) {
		ssize_t n = read(fd, out->ptr + out->len, max - out->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -1 : 0;
			break;
		}
		mlv_buf_setlen(out, out->len + (size_t)n);
	}
	close(fd);
	return ret;
}

/* The value of os-release's `key`: shell quoting undone, into `out`; 0 or -1. */
static int os_release_get(struct mlv_buf *out, const struct mlv_buf *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = text->ptr, *e; *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, '\n');
		if ((size_t)(e - p) <= kl || strncmp(p, key, kl) || p[kl] != '=')
			continue;
		mlv_buf_reset(out);
		p += kl + 1;
		if (*p == '"' || *p == '\'') {
			char q = *p++;

			for (; p < e && *p != q; p++) {
				if (q == '"' && *p == '\\' && p + 1 < e && strchr("\"\\$`", p[1]))
					p++;
				mlv_buf_addch(out, *p);
			}
		} else {
			mlv_buf_add(out, p, (size_t)(e - p));
		}
		return 0;
	}
	return -1;
}

static json_t *os_json(void)
{
	static const char *const keys[][2] = {
		{ "ID", "id" }, { "VERSION_ID", "version_id" }, { "PRETTY_NAME", "pretty_name" },
	};
	struct mlv_buf text = MLV_BUF_INIT, v = MLV_BUF_INIT;
	json_t *o;

	if (read_small(&text, "/etc/os-release", ENV_OS_RELEASE_MAX) < 0 &&
	    read_small(&text, "/usr/lib/os-release", ENV_OS_RELEASE_MAX) < 0) {
		mlv_buf_release(&text);
		return json_null();
	}
	o = json_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		json_object_set_new(o, keys[i][1], os_release_get(&v, &text, keys[i][0]) < 0 ?
				    json_null() : env_json_str(v.ptr, v.len));
	mlv_buf_release(&text);
	mlv_buf_release(&v);
	return o;
}

static json_t *kernel_json(void)
{
	struct utsname u;
	json_t *o = json_object();

	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	json_object_set_new(o, "name", env_json_str(u.sysname, strnlen(u.sysname, sizeof(u.sysname))));
	json_object_set_new(o, "release", env_json_str(u.release, strnlen(u.release, sizeof(u.release))));
	json_object_set_new(o, "machine", env_json_str(u.machine, strnlen(u.machine, sizeof(u.machine))));
	return o;
}

static json_t *libc_json(void)
{
#ifdef __GLIBC__
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string("glibc"));
	json_object_set_new(o, "version", json_string(gnu_get_libc_version()));
	return o;
#else
	return json_null();
#endif
}

static json_t *cpu_json(void)
{
	static const char *const model_keys[] = { "model name", "cpu model", "Hardware", "uarch", NULL };
	struct mlv_buf text = MLV_BUF_INIT;
	json_t *o = json_object(), *model = NULL;
	cpu_set_t *set = CPU_ALLOC(4096);
	size_t setsize = CPU_ALLOC_SIZE(4096);
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (!read_small(&text, "/proc/cpuinfo", ENV_CPUINFO_MAX))
		for (const char *const *k = model_keys; *k && !model; k++) {
			size_t kl = strlen(*k);

			for (const char *p = text.ptr, *e; *p && !model; p = *e ? e + 1 : e) {
				const char *c;

				e = strchrnul(p, '\n');
				if (strncmp(p, *k, kl) || !(c = memchr(p, ':', (size_t)(e - p))))
					continue;
				for (c++; c < e && (*c == ' ' || *c == '\t'); c++)
					;
				model = env_json_str(c, (size_t)(e - c));
			}
		}
	json_object_set_new(o, "model", model ? model : json_null());
	json_object_set_new(o, "count", n > 0 ? json_integer(n) : json_null());
	if (set && !sched_getaffinity(0, setsize, set))
		json_object_set_new(o, "usable", json_integer(CPU_COUNT_S(setsize, set)));
	else
		json_object_set_new(o, "usable", json_null());
	if (set)
		CPU_FREE(set);
	mlv_buf_release(&text);
	return o;
}

/*
 * Which of `inv`'s devices a command with this CUDA_VISIBLE_DEVICES sees,
 * as CUDA reads it: indices or UUID prefixes, the list ending at the
 * first that names nothing; unset: all; a MIG device: all (its parent
 * is not known here).
 */
static size_t visible_gpus(const struct mlv_gpu_inventory *inv, const char *cvd, unsigned *idx)
{
	size_t nr = 0;

	if (!cvd) {
		for (unsigned i = 0; i < inv->nr; i++)
			idx[nr++] = i;
		return nr;
	}
	if (strstr(cvd, "MIG-"))
		return visible_gpus(inv, NULL, idx);
	for (const char *s = cvd, *e; *s && nr < inv->nr; s = *e ? e + 1 : e) {
		size_t len;
		int found = -1;

		e = strchrnul(s, ',');
		while (s < e && *s == ' ')
			s++;
		len = (size_t)(e - s);
		while (len && s[len - 1] == ' ')
			len--;
		if (!len)
			break;
		if (strspn(s, "0123456789") == len) {
			unsigned long v = strtoul(s, NULL, 10);

			if (len < 10 && v < inv->nr)
				found = (int)v;
		} else {
			for (unsigned i = 0; i < inv->nr; i++) {
				const char *u = inv->gpus[i].uuid;

				if (!strncmp(s, "GPU-", 4) ? !strncmp(u, s, len) :
				    (!strncmp(u, "GPU-", 4) && !strncmp(u + 4, s, len))) {
					if (found >= 0) {
						found = -1; /* ambiguous */
						break;
					}
					found = (int)i;
				}
			}
		}
		if (found < 0)
			break;
		for (size_t k = 0; k < nr; k++)
			if (idx[k] == (unsigned)found)
				found = -1;
		if (found < 0)
			break;
		idx[nr++] = (unsigned)found;
	}
	return nr;
}

static json_t *gpus_json(const struct mlv_gpu_inventory *inv, const char *const *envp)
{
	json_t *o = json_object(), *models = json_array(), *cc = json_array(), *mem = json_array();
	json_t *uuids = json_array(), *pci = json_array();
	unsigned *idx = mlv_calloc(inv->nr + 1, sizeof(*idx));
	size_t nr = visible_gpus(inv, env_lookup(envp, "CUDA_VISIBLE_DEVICES"), idx);

	for (size_t k = 0; k < nr; k++) {
		const struct mlv_gpu *g = &inv->gpus[idx[k]];

		json_array_append_new(models, env_json_str(g->name, strnlen(g->name, sizeof(g->name))));
		json_array_append_new(cc, g->cc_major ? json_sprintf("%d.%d", g->cc_major, g->cc_minor) :
				      json_null());
		json_array_append_new(mem, json_integer((json_int_t)g->memory_total));
		json_array_append_new(uuids, env_json_str(g->uuid, strnlen(g->uuid, sizeof(g->uuid))));
		json_array_append_new(pci, *g->pci_bus_id ?
				      env_json_str(g->pci_bus_id, strnlen(g->pci_bus_id,
									  sizeof(g->pci_bus_id))) :
				      json_null());
	}
	json_object_set_new(o, "count", json_integer((json_int_t)nr));
	json_object_set_new(o, "models", models);
	json_object_set_new(o, "compute_capabilities", cc);
	json_object_set_new(o, "memory", mem);
	json_object_set_new(o, "driver", *inv->driver ?
			    env_json_str(inv->driver, strnlen(inv->driver, sizeof(inv->driver))) :
			    json_null());
	json_object_set_new(o, "cuda_version", inv->cuda_version ?
			    json_sprintf("%d.%d", inv->cuda_version / 1000,
					 inv->cuda_version % 1000 / 10) : json_null());
	json_object_set_new(o, "uuids", uuids);
	json_object_set_new(o, "pci_bus_ids", pci);
	json_object_set_new(o, "source", json_string(inv->source));
	json_object_set_new(o, "why", nr ? json_null() :
			    env_json_str(inv->why, strnlen(inv->why, sizeof(inv->why))));
	free(idx);
	return o;
}

/* ---------- lock files ---------- */

static const char *const lockfile_names[] = {
	"poetry.lock", "uv.lock", "Pipfile", "Pipfile.lock", "pdm.lock", "pixi.lock", "pixi.toml",
	"environment.yml", "environment.yaml", "conda-lock.yml", "conda-lock.yaml", "pyproject.toml",
	"setup.cfg", "setup.py", "package.json", "package-lock.json", "yarn.lock",
	"pnpm-lock.yaml", "Cargo.lock", "go.sum", "Gemfile.lock", "renv.lock", "Manifest.toml",
	".python-version", ".tool-versions", NULL,
};

static int has_suffix(const char *s, const char *suf)
{
	size_t l = strlen(s), n = strlen(suf);

	return l >= n && !strcmp(s + l - n, suf);
}

/* requirements*.txt, requirements*.in, constraints*.txt, environment*.yml, or one of the names. */
static int is_lockfile_name(const char *n)
{
	for (const char *const *p = lockfile_names; *p; p++)
		if (!strcmp(n, *p))
			return 1;
	if (!strncmp(n, "requirements", 12))
		return has_suffix(n, ".txt") || has_suffix(n, ".in");
	if (!strncmp(n, "constraints", 11))
		return has_suffix(n, ".txt");
	if (!strncmp(n, "environment", 11))
		return has_suffix(n, ".yml") || has_suffix(n, ".yaml");
	return 0;
}

/* "sha256:<hex>" of regular file `name` in `dirfd` (no symlink), or NULL. */
static json_t *file_id(int dirfd, const char *name)
{
	int fd = mlv_fs_open(dirfd, name, O_RDONLY | O_NONBLOCK, 0);
	struct mlv_hash h;
	struct mlv_oid oid;
	struct stat st;
	char buf[65536], hex[MLV_OID_HEXSZ + 1];
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ENV_LOCKFILE_MAX ||
	    mlv_hash_init(&h) < 0) {
		close(fd);
		return NULL;
	}
	for (off_t total = 0;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (total += n) > ENV_LOCKFILE_MAX)
			break;
		mlv_hash_update(&h, buf, (size_t)n);
	}
	close(fd);
	mlv_hash_final(&oid, &h);
	mlv_hash_release(&h);
	if (n != 0)
		return NULL;
	mlv_oid_tohex(hex, &oid);
	return json_sprintf("sha256:%s", hex);
}

/*
 * The lock files in directory `rel` of the work tree (and in its
 * requirements/ directory when `top_level`), by repo-relative path.
 */
static void lockfiles_in(json_t *out, int topfd, const char *rel, int top_level)
{
	int fd = mlv_fs_open(topfd, rel, O_RDONLY | O_DIRECTORY, 0);
	struct mlv_buf path = MLV_BUF_INIT;
	struct dirent *de;
	size_t seen = 0;
	DIR *dir;

	if (fd < 0)
		return;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	while (seen++ < ENV_DIRENTS_MAX && json_object_size(out) < ENV_LOCKFILES_MAX &&
	       (de = readdir(dir))) {
		int sub = top_level && !strcmp(de->d_name, "requirements");
		json_t *id;

		if (!sub && !is_lockfile_name(de->d_name) &&
		    !(!top_level && (has_suffix(de->d_name, ".txt") || has_suffix(de->d_name, ".in"))))
			continue;
		mlv_buf_reset(&path);
		if (*rel)
			mlv_buf_addf(&path, "%s/", rel);
		mlv_buf_adds(&path, de->d_name);
		if (!utf8_ok(path.ptr, path.len) || json_object_get(out, path.ptr))
			continue; /* not UTF-8 (no JSON member name), or seen */
		if (sub) {
			struct stat st;

			if (!fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) &&
			    S_ISDIR(st.st_mode))
				lockfiles_in(out, topfd, path.ptr, 0);
			continue;
		}
		if ((id = file_id(dirfd(dir), de->d_name)))
			json_object_set_new(out, path.ptr, id);
	}
	closedir(dir);
	mlv_buf_release(&path);
}

static json_t *lockfiles_json(struct mlv_repo *r, const char *cwd)
{
	json_t *o = json_object();
	struct mlv_buf rel = MLV_BUF_INIT;

	if (!r || r->topfd < 0)
		return o;
	lockfiles_in(o, r->topfd, "", 1);
	mlv_buf_adds(&rel, cwd ? cwd : "");
	while (rel.len && rel.ptr[rel.len - 1] == '/')
		mlv_buf_setlen(&rel, rel.len - 1);
	if (rel.len && rel.ptr[0] != '/' && strcmp(rel.ptr, "."))
		lockfiles_in(o, r->topfd, rel.ptr, 1);
	mlv_buf_release(&rel);
	return o;
}

/* ---------- variables ---------- */

static int is_extra(const struct mlv_env_opts *o, const char *name, size_t n)
{
	for (size_t i = 0; i < o->nextra_vars; i++)
		if (strlen(o->extra_vars[i]) == n && !strncmp(o->extra_vars[i], name, n))
			return 1;
	return 0;
}

/* "vars" and "seed_vars": allow-listed and extra variables, credentials redacted. */
static void vars_json(json_t *m, const struct mlv_env_opts *o, const char *const *envp)
{
	json_t *vars = json_object(), *seeds = json_object();
	const char *seed = env_lookup(envp, "MLV_SEED");
	struct mlv_buf name = MLV_BUF_INIT;

	for (const char *const *e = envp; e && *e; e++) {
		const char *eq = strchr(*e, '='), *val;
		size_t n = eq ? (size_t)(eq - *e) : 0, vl;
		json_t *v, *into;

		if (!n || n > ENV_NAME_MAX || !utf8_ok(*e, n))
			continue;
		mlv_buf_reset(&name);
		mlv_buf_add(&name, *e, n);
		if (!mlv_env_var_allowed(name.ptr) && !is_extra(o, *e, n))
			continue;
		if (json_object_get(vars, name.ptr) || json_object_get(seeds, name.ptr))
			continue; /* the first one is what getenv() gives */
		val = eq + 1;
		vl = strnlen(val, ENV_VALUE_MAX);
		into = mlv_env_is_seed_var(name.ptr) && seed &&
		       (!strcmp(name.ptr, "MLV_SEED") || !strcmp(val, seed)) ? seeds : vars;
		if (mlv_env_name_is_secret(name.ptr) || mlv_env_value_is_secret(val))
			v = json_string(ENV_REDACTED);
		else
			v = env_json_str(val, vl);
		json_object_set_new(into, name.ptr, v);
	}
	/* An extra name that is not set is recorded as such. */
	for (size_t i = 0; i < o->nextra_vars; i++) {
		const char *x = o->extra_vars[i];

		if (*x && strlen(x) <= ENV_NAME_MAX && utf8_ok(x, strlen(x)) && !strchr(x, '=') &&
		    !json_object_get(vars, x) && !json_object_get(seeds, x))
			json_object_set_new(vars, x, json_null());
	}
	json_object_set_new(m, "vars", vars);
	json_object_set_new(m, "seed_vars", seeds);
	mlv_buf_release(&name);
}

/* ---------- the manifest ---------- */

/* mlv's cache directory for this repository (or the user's), made when missing; NULL if none. */
static char *cache_dir(struct mlv_repo *r)
{
	struct mlv_buf b = MLV_BUF_INIT;
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (r && r->initialized && r->storedir) {
		mlv_buf_addf(&b, "%s/cache", r->storedir);
		if (!mkdir(b.ptr, 0777) || errno == EEXIST)
			return mlv_buf_detach(&b, NULL);
		mlv_buf_reset(&b); /* no store yet (a fresh clone): the user's cache */
	}
	if (xdg && *xdg == '/')
		mlv_buf_adds(&b, xdg);
	else if (home && *home == '/')
		mlv_buf_addf(&b, "%s/.cache", home);
	else
		return NULL;
	if (mkdir(b.ptr, 0700) < 0 && errno != EEXIST) {
		mlv_buf_release(&b);
		return NULL;
	}
	mlv_buf_adds(&b, "/mlv");
	if (mkdir(b.ptr, 0700) < 0 && errno != EEXIST) {
		mlv_buf_release(&b);
		return NULL;
	}
	return mlv_buf_detach(&b, NULL);
}

int mlv_env_manifest(json_t **out, const struct mlv_env_opts *o)
{
	const char *const *envp = o->envp ? o->envp : (const char *const *)environ;
	struct mlv_gpu_inventory own;
	const struct mlv_gpu_inventory *inv = o->gpus;
	struct env_python_req req = { 0 };
	struct mlv_buf cwd = MLV_BUF_INIT;
	const char *rel = NULL;
	char host[256] = "", hash[MLV_ENV_HASH_HEXSZ + 1];
	json_t *m;
	int ret;

	*out = NULL;
	if (!inv) {
		if ((ret = mlv_gpu_inventory(&own)) < 0)
			return ret;
		inv = &own;
	}
	m = json_object();
	json_object_set_new(m, "format", json_integer(MLV_ENV_FORMAT));
	json_object_set_new(m, "hash", json_null());
	if (gethostname(host, sizeof(host) - 1) < 0)
		*host = '\0';
	json_object_set_new(m, "host", env_json_str(host, strnlen(host, sizeof(host))));
	json_object_set_new(m, "os", os_json());
	json_object_set_new(m, "kernel", kernel_json());
	json_object_set_new(m, "libc", libc_json());
	json_object_set_new(m, "cpu", cpu_json());
	json_object_set_new(m, "gpus", gpus_json(inv, envp));

	if (o->repo && o->repo->top) {
		rel = o->cwd ? o->cwd : o->repo->prefix ? o->repo->prefix : "";
		mlv_buf_adds(&cwd, o->repo->top);
		if (*rel)
			mlv_buf_addf(&cwd, "/%s", rel);
	} else if (o->cwd && *o->cwd == '/') {
		mlv_buf_adds(&cwd, o->cwd);
	} else {
		char *here = getcwd(NULL, 0);

		mlv_buf_adds(&cwd, here ? here : "/");
		free(here);
	}
	req.argv = o->argv;
	req.envp = envp;
	req.cwd = cwd.ptr;
	req.cachedir = (o->flags & MLV_ENV_NO_CACHE) || !o->argv || !o->argv[0] ? NULL :
		       cache_dir(o->repo);
	req.no_cache = !!(o->flags & MLV_ENV_NO_CACHE);
	json_object_set_new(m, "python", env_python(&req));
	free((char *)req.cachedir);

	json_object_set_new(m, "lockfiles", lockfiles_json(o->repo, rel));
	vars_json(m, o, envp);

	if ((ret = mlv_env_hash(hash, m)) < 0) {
		json_decref(m);
		goto done;
	}
	json_object_set_new(m, "hash", json_string(hash));
	*out = m;
done:
	if (inv == &own)
		mlv_gpu_inventory_release(&own);
	mlv_buf_release(&cwd);
	return ret;
}
