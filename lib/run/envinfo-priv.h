#ifndef MLV_ENVINFO_PRIV_H
#define MLV_ENVINFO_PRIV_H

#include <jansson.h>
#include <stddef.h>

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

/*
 * The "python" member of the manifest: json_null() when the command is
 * not a Python interpreter, an object otherwise (with "error" when the
 * interpreter could not be asked).  Never NULL.
 */
json_t *env_python(const struct env_python_req *req);

#endif
