/*
 * Which Python interpreter a command runs (see envinfo-priv.h): the
 * command searched in its PATH as execvp() does, then followed through
 * env(1), a script's "#!" line and pyenv shims (resolved as pyenv does,
 * without running it) to a binary named like an interpreter.  Nothing is
 * executed here; files are read with bounds (a "#!" line, a version file).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/fileio.h"
#include "run/envinfo-priv.h"

#define PY_DEPTH_MAX 8             /* env, shebang, shim hops */
#define PY_HEAD_MAX 1024           /* bytes of a script read for "#!" or a shim */
#define PY_PATH_ENTRIES_MAX 1024   /* PATH entries searched */
#define PY_VERSION_FILE_MAX 4096
#define PY_DIR_DEPTH_MAX 256       /* parents searched for .python-version */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int is_exec_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !faccessat(AT_FDCWD, path, X_OK, AT_EACCESS);
}

static void join(struct mlv_buf *out, const char *dir, size_t dirlen, const char *name)
{
	mlv_buf_reset(out);
	mlv_buf_add(out, dir, dirlen);
	if (!out->len || out->ptr[out->len - 1] != '/')
		mlv_buf_addch(out, '/');
	mlv_buf_adds(out, name);
}

/*
 * Where execvp() would find `name`: with a '/', relative to `cwd`;
 * else the first executable file in PATH (an empty entry is `cwd`),
 * skipping directory `skip` (a shim directory).  0 with `out` set, or -1.
 */
static int search_path(struct mlv_buf *out, const char *name, const char *const *envp,
		       const char *cwd, const char *skip)
{
	const char *path = env_lookup(envp, "PATH"), *s;
	struct mlv_buf dir = MLV_BUF_INIT;
	int n = 0, ret = -1;

	if (!*name)
		return -1;
	if (strchr(name, '/')) {
		if (*name == '/') {
			mlv_buf_reset(out);
			mlv_buf_adds(out, name);
		} else {
			join(out, cwd, strlen(cwd), name);
		}
		return is_exec_file(out->ptr) ? 0 : -1;
	}
	if (!path)
		path = "/bin:/usr/bin"; /* glibc's execvp() default */
	for (s = path; n++ < PY_PATH_ENTRIES_MAX; s++) {
		const char *e = strchrnul(s, ':');

		mlv_buf_reset(&dir);
		if (e == s)
			mlv_buf_adds(&dir, cwd);
		else if (*s != '/')
			join(&dir, cwd, strlen(cwd), ""), mlv_buf_add(&dir, s, (size_t)(e - s));
		else
			mlv_buf_add(&dir, s, (size_t)(e - s));
		while (dir.len > 1 && dir.ptr[dir.len - 1] == '/')
			mlv_buf_setlen(&dir, dir.len - 1);
		if (!skip || strcmp(dir.ptr, skip)) {
			join(out, dir.ptr, dir.len, name);
			if (is_exec_file(out->ptr)) {
				ret = 0;
				break;
			}
		}
		if (!*e)
			break;
		s = e;
	}
	mlv_buf_release(&dir);
	return ret;
}

/* python, python3, python3.12, python3.13t, pypy3.10: not python3-config. */
static int is_python_name(const char *base)
{
	const char *s;

	if (!strncmp(base, "python", 6))
		s = base + 6;
	else if (!strncmp(base, "pypy", 4))
		s = base + 4;
	else
		return 0;
	while (*s && (('0' <= *s && *s <= '9') || *s == '.'))
		s++;
	for (int n = 0; *s; s++, n++)
		if (n >= 3 || *s < 'a' || *s > 'z')
			return 0;
	return 1;
}

int py_read_head_fd(struct mlv_buf *out, int fd, size_t max)
{
	struct stat st;
	ssize_t n;

	mlv_buf_reset(out);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	mlv_buf_grow(out, max);
	do
		n = read(fd, out->ptr, max);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return -1;
	mlv_buf_setlen(out, (size_t)n);
	return 0;
}

/* The first bytes of `path` (a regular file), NUL-terminated. */
static int read_head(struct mlv_buf *out, const char *path)
{
	return py_read_head_fd(out, open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), PY_HEAD_MAX);
}

/* Split `s` (a "#!" line or env -S string) at blanks into `words` (at most `max`). */
static size_t split_words(char *s, char **words, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		while (*s == ' ' || *s == '\t')
			*s++ = '\0';
		if (!*s)
			break;
		words[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	return n;
}

/* Python's options before the script: those that change sys.path, into `flags`. */
static void python_flags(struct mlv_buf *flags, const char *const *args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *a = args[i];

		if (a[0] != '-' || !a[1] || a[1] == '-')
			return;
		for (const char *c = a + 1; *c; c++) {
			if (strchr(PY_PATH_FLAGS, *c) && !memchr(flags->ptr, *c, flags->len))
				mlv_buf_addch(flags, *c);
			else if (*c == 'c' || *c == 'm')
				return;
			else if (*c == 'W' || *c == 'X' || *c == 'Q') {
				if (!c[1])
					i++; /* its argument */
				break;
			}
		}
	}
}

/* Skip env(1)'s options and NAME=VALUE words; the index of the command, or n. */
static size_t skip_env_args(const char *const *args, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *a = args[i];

		if (!strcmp(a, "--"))
			return i + 1;
		if (!strcmp(a, "-u") || !strcmp(a, "-C") || !strcmp(a, "--unset") ||
		    !strcmp(a, "--chdir") || !strcmp(a, "-S") || !strcmp(a, "--split-string"))
			i += 2;
		else if (a[0] == '-' && a[1])
			i++;
		else if (strchr(a, '=') && a[0] != '=')
			i++;
		else
			return i;
	}
	return n;
}

/* 1 when the first `len` bytes of `path` name a directory. */
static int is_dir(const char *path, size_t len)
{
	char *p = mlv_strndup(path, len);
	struct stat st;
	int ret = !stat(p, &st) && S_ISDIR(st.st_mode);

	free(p);
	return ret;
}

/* Read a pyenv version file: its versions, blank-separated, '#' comments left out. */
static int read_version_file(struct mlv_buf *out, const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ret;
	struct stat st;
	struct mlv_buf raw = MLV_BUF_INIT;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PY_VERSION_FILE_MAX) {
		close(fd);
		return -1;
	}
	ret = mlv_read_fd(&raw, fd, PY_VERSION_FILE_MAX, path) < 0 ? -1 : 0;
	close(fd);
	mlv_buf_reset(out);
	for (char *line = raw.ptr, *end; !ret && *line; line = end) {
		end = strchrnul(line, '\n');
		if (*line != '#') {
			if (out->len)
				mlv_buf_addch(out, ':');
			mlv_buf_add(out, line, (size_t)(end - line));
		}
		if (*end)
			end++;
	}
	mlv_buf_release(&raw);
	return ret;
}

/*
 * The interpreter a pyenv shim `shim` (in directory `shimdir`) runs, as
 * pyenv picks it: PYENV_VERSION, else .python-version in the command's
 * directory or a parent (PYENV_DIR instead of it when set), else
 * $PYENV_ROOT/version, else "system"; each name of the list in turn is
 * $PYENV_ROOT/versions/<name>/bin/<program>, or for "system" the program
 * further down PATH.  -1 when none of the named versions is installed
 * under that exact name (pyenv may accept a prefix: ask the shim).
 */
static int resolve_shim(struct mlv_buf *out, const char *shimdir, const char *program,
			const char *const *envp, const char *cwd)
{
	struct mlv_buf root = MLV_BUF_INIT, versions = MLV_BUF_INIT, p = MLV_BUF_INIT;
	const char *v = env_lookup(envp, "PYENV_VERSION"), *slash = strrchr(shimdir, '/');
	int ret = -1;

	if (!slash)
		return -1;
	mlv_buf_add(&root, shimdir, (size_t)(slash - shimdir));
	if (v && *v) {
		mlv_buf_adds(&versions, v);
	} else {
		const char *dir = env_lookup(envp, "PYENV_DIR");
		int found = 0;

		mlv_buf_adds(&p, dir && *dir == '/' ? dir : cwd);
		for (int depth = 0; depth < PY_DIR_DEPTH_MAX && !found; depth++) {
			size_t len = p.len;
			char *s;

			mlv_buf_adds(&p, len > 1 ? "/.python-version" : ".python-version");
			found = !read_version_file(&versions, p.ptr);
			mlv_buf_setlen(&p, len);
			s = strrchr(p.ptr, '/');
			if (!s || len <= 1)
				break;
			mlv_buf_setlen(&p, s == p.ptr ? 1 : (size_t)(s - p.ptr));
		}
		if (!found) {
			join(&p, root.ptr, root.len, "version");
			if (read_version_file(&versions, p.ptr) < 0 || !versions.len)
				mlv_buf_adds(&versions, "system");
		}
	}
	/* Each version of the list in turn, as pyenv tries them for the program. */
	for (char *s = versions.ptr, *e; ret < 0 && s; s = e) {
		e = strchr(s, ':');
		if (e)
			*e++ = '\0';
		if (!*s || strchr(s, '/') || !strcmp(s, "..") || !strcmp(s, "."))
			break;
		if (!strcmp(s, "system")) {
			ret = search_path(out, program, envp, cwd, shimdir);
			continue;
		}
		mlv_buf_reset(out);
		mlv_buf_addf(out, "%s/versions/%s/bin/%s", root.ptr, s, program);
		if (is_exec_file(out->ptr))
			ret = 0;
		else if (!is_dir(out->ptr, root.len + 10 + strlen(s)))
			break; /* not installed under that name (a prefix pyenv resolves?): ask the shim */
	}
	mlv_buf_release(&root);
	mlv_buf_release(&versions);
	mlv_buf_release(&p);
	return ret;
}

/* 1 when the script head `head` of `path` is a pyenv shim. */
static int is_pyenv_shim(const struct mlv_buf *head, const char *path)
{
	return memmem(head->ptr, head->len, "pyenv", 5) && memmem(head->ptr, head->len, "exec", 4) &&
	       strstr(path, "/shims/");
}

/*
 * Follow the command to the interpreter: 1 with `t` set when it is one,
 * 0 when it is not Python.
 */
int env_find_python(struct py_target *t, const struct env_python_req *req)
{
	const char *const *args = req->argv + 1;
	size_t nargs = 0;
	struct mlv_buf head = MLV_BUF_INIT, next = MLV_BUF_INIT, shimdir = MLV_BUF_INIT;
	int ret = 0, depth;

	while (args[nargs])
		nargs++;
	mlv_buf_adds(&next, req->argv[0]);
	t->via = "direct";
	for (depth = 0; depth < PY_DEPTH_MAX; depth++) {
		char *words[16], *nl;
		size_t nw, i = 0;

		if (search_path(&t->path, next.ptr, req->envp, req->cwd, NULL) < 0)
			goto done;
		if (!strcmp(base_name(t->path.ptr), "env")) {
			i = skip_env_args(args, nargs);
			if (i >= nargs)
				goto done;
			t->via_env = 1;
			mlv_buf_reset(&next);
			mlv_buf_adds(&next, args[i]);
			args += i + 1, nargs -= i + 1;
			continue;
		}
		if (read_head(&head, t->path.ptr) < 0 || head.len < 2 || memcmp(head.ptr, "#!", 2))
			break; /* a binary: Python by its name? */
		if (is_pyenv_shim(&head, t->path.ptr)) {
			const char *program = base_name(t->path.ptr);

			if (!is_python_name(program))
				goto done;
			mlv_buf_add(&shimdir, t->path.ptr, (size_t)(program - 1 - t->path.ptr));
			mlv_buf_reset(&next);
			mlv_buf_adds(&next, program);
			t->via = "pyenv";
			if (resolve_shim(&t->path, shimdir.ptr, next.ptr, req->envp, req->cwd) < 0) {
				join(&t->path, shimdir.ptr, shimdir.len, next.ptr);
				t->unresolved_shim = 1;
			}
			break;
		}
		/* A script: the "#!" interpreter runs it, with the line's words as its options. */
		nl = memchr(head.ptr, '\n', head.len);
		if (!nl)
			goto done;
		*nl = '\0';
		nw = split_words(head.ptr + 2, words, sizeof(words) / sizeof(*words));
		if (!nw)
			goto done;
		if (!strcmp(base_name(words[0]), "env")) {
			for (i = 1; i < nw && (words[i][0] == '-' || strchr(words[i], '=')); i++)
				;
			if (i >= nw)
				goto done;
		}
		python_flags(&t->flags, (const char *const *)words + i + 1, nw - i - 1);
		mlv_buf_reset(&next);
		mlv_buf_adds(&next, words[i]);
		t->via = "shebang";
		args = NULL, nargs = 0; /* the script's own arguments */
	}
	if (depth >= PY_DEPTH_MAX || !t->path.len)
		goto done;
	if (!t->unresolved_shim) {
		char *real = realpath(t->path.ptr, NULL);

		ret = is_python_name(base_name(t->path.ptr)) || (real && is_python_name(base_name(real)));
		free(real);
	} else {
		ret = 1;
	}
	if (ret && args)
		python_flags(&t->flags, args, nargs);
done:
	mlv_buf_release(&head);
	mlv_buf_release(&next);
	mlv_buf_release(&shimdir);
	return ret;
}
