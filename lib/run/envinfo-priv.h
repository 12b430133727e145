#ifndef MLV_ENVINFO_PRIV_H
#define MLV_ENVINFO_PRIV_H

#include <jansson.h>
#include <stddef.h>

#include "mlv/buf.h"

/* Private to envinfo.c and pyenv.c. */

/* The value of `name` in `envp` (the first one, as getenv() finds it), or NULL. */
const char *env_lookup(const char *const *envp, const char *name);

/* A JSON string of `n` bytes; bytes that are not UTF-8 (or NUL) become "\xNN", '\\' "\\\\". */
json_t *env_json_str(const char *s, size_t n);

struct env_python_req {
	const char *const *argv; /* the command (not empty) */
	const char *const *envp;
	const char *cwd;         /* absolute: where the command runs */
	const char *cachedir;    /* the cache directory (absolute, exists), or NULL */
	int no_cache;
};

/* The Python command line flags that change sys.path. */
#define PY_PATH_FLAGS "IEsSP"

/* The interpreter a command runs (pyfind.c). */
struct py_target {
	struct mlv_buf path;  /* the interpreter as invoked, absolute */
	struct mlv_buf flags; /* of PY_PATH_FLAGS, each once */
	const char *via;      /* "direct", "venv", "pyenv", "env", "shebang" */
	int via_env;          /* reached through env(1) */
	int unresolved_shim;  /* a pyenv shim whose version is not a directory: ask the shim */
};

/*
 * Follow the command of `req` to the interpreter: 1 with `t` filled (its
 * buffers initialised by the caller) when it is a Python interpreter, 0
 * when it is not.
 */
int env_find_python(struct py_target *t, const struct env_python_req *req);

/*
 * The "python" member of the manifest: json_null() when the command is
 * not a Python interpreter, an object otherwise (with "error" when the
 * interpreter could not be asked).  Never NULL.
 */
json_t *env_python(const struct env_python_req *req);

/*
 * The first `max` bytes of the regular file open on `fd` (closed here;
 * -1 is a failure) into `out`: 0, or -1 when it is not a regular file or
 * cannot be read.
 */
int py_read_head_fd(struct mlv_buf *out, int fd, size_t max);

#endif
