#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/fs.h"
#include "run/run-priv.h"

/*
 * A run's parameters: `-p key=value` and the files of `-P`, as one flat
 * object of dotted keys.  A value reads as JSON would (a number, true,
 * false or null) and is a string otherwise, so `lr=0.01` compares as a
 * number in `mlv runs --where` and `opt=adam` as text.
 */

#define PARAMS_FILE_MAX (1u << 20)
#define PARAM_KEY_MAX 256

static int key_ok(const char *k, size_t len)
{
	if (!len || len > PARAM_KEY_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)k[i];

		if (c < 0x21 || c == 0x7f || c == '=')
			return 0;
	}
	return 1;
}

json_t *run_param_value(const char *v, size_t len)
{
	char *s = mlv_strndup(v, len), *end;
	json_t *j = NULL;
	double d;

	if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null")) {
		j = !strcmp(s, "null") ? json_null() : json_boolean(*s == 't');
		goto done;
	}
	/* Only what JSON calls a number: no hex, inf, nan, leading '+' or '.'. */
	if (len && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && s[len - 1] >= '0' &&
	    s[len - 1] <= '9' && !strpbrk(s, "xXiInN")) {
		errno = 0;
		if (!strchr(s, '.') && !strpbrk(s, "eE")) {
			long long ll = strtoll(s, &end, 10);

			if (!*end && !errno) {
				j = json_integer(ll);
				goto done;
			}
		}
		errno = 0;
		d = strtod(s, &end);
		if (!*end && !errno && isfinite(d)) {
			j = json_real(d);
			goto done;
		}
	}
	j = json_stringn(v, len);
	if (!j) /* not UTF-8 */
		j = json_null();
done:
	free(s);
	return j;
}

int run_params_add_arg(json_t *params, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (!eq || !key_ok(arg, (size_t)(eq - arg)))
		return mlv_error_set(MLV_EINVALID, "-p '%s': expected <key>=<value>", arg);
	{
		char *key = mlv_strndup(arg, (size_t)(eq - arg));

		json_object_set_new(params, key, run_param_value(eq + 1, strlen(eq + 1)));
		free(key);
	}
	return 0;
}

/* Trim blanks at both ends; strip one pair of matching quotes. */
static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\r'))
		(*len)--;
	if (*len >= 2 && (**s == '"' || **s == '\'') && (*s)[*len - 1] == **s) {
		(*s)++;
		*len -= 2;
	}
}

/*
 * The YAML that parameter files use: "key: value" lines, nesting by
 * indentation, '#' comments.  Lists, anchors and multi-line values are
 * not read: a value of "[1, 2]" is the string "[1, 2]".
 */
#define YAML_DEPTH_MAX 32
static int params_yaml(json_t *params, const char *buf, size_t len, const char *path)
{
	size_t indent[YAML_DEPTH_MAX], keylen[YAML_DEPTH_MAX], depth = 0, lineno = 0;
	char prefix[YAML_DEPTH_MAX * (PARAM_KEY_MAX + 1)];
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *line = p, *colon, *val;
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), ind = 0, klen, vlen, plen;

		p = nl ? nl + 1 : end;
		lineno++;
		while (ind < n && line[ind] == ' ')
			ind++;
		if (ind == n || line[ind] == '#' || line[ind] == '\r' ||
		    (n - ind >= 3 && !memcmp(line + ind, "---", 3)))
			continue;
		colon = memchr(line + ind, ':', n - ind);
		if (!colon || line[ind] == '-')
			return mlv_error_set(MLV_EINVALID, "%s:%zu: expected '<key>: <value>' "
					     "(lists are not read)", path, lineno);
		while (depth && indent[depth - 1] >= ind)
			depth--;
		klen = (size_t)(colon - line - ind);
		{
			const char *k = line + ind;

			trim(&k, &klen);
			if (!key_ok(k, klen) || depth == YAML_DEPTH_MAX)
				return mlv_error_set(MLV_EINVALID, "%s:%zu: bad key", path, lineno);
			plen = depth ? keylen[depth - 1] : 0;
			if (plen)
				prefix[plen++] = '.';
			memcpy(prefix + plen, k, klen);
			plen += klen;
			prefix[plen] = '\0';
		}
		val = colon + 1;
		vlen = (size_t)(line + n - val);
		{
			const char *hash = NULL;

			for (size_t i = 0; i < vlen; i++)
				if (val[i] == '#' && (!i || val[i - 1] == ' ')) {
					hash = val + i;
					break;
				}
			if (hash)
				vlen = (size_t)(hash - val);
		}
		trim(&val, &vlen);
		if (!vlen) { /* a mapping follows */
			indent[depth] = ind;
			keylen[depth] = plen;
			depth++;
			continue;
		}
		json_object_set_new(params, prefix, run_param_value(val, vlen));
	}
	return 0;
}

static int flatten_json(json_t *params, json_t *v, struct mlv_buf *key, int depth,
			const char *path)
{
	const char *k;
	json_t *e;

	if (!json_is_object(v)) {
		json_object_set(params, key->ptr, v);
		return 0;
	}
	if (depth >= YAML_DEPTH_MAX)
		return mlv_error_set(MLV_EINVALID, "%s: nested deeper than %d", path, YAML_DEPTH_MAX);
	json_object_foreach(v, k, e) {
		size_t len = key->len;
		int err;

		if (len)
			mlv_buf_addch(key, '.');
		mlv_buf_adds(key, k);
		if (!key_ok(key->ptr, key->len))
			return mlv_error_set(MLV_EINVALID, "%s: bad key '%s'", path, key->ptr);
		err = flatten_json(params, e, key, depth + 1, path);
		mlv_buf_setlen(key, len);
		if (err)
			return err;
	}
	return 0;
}

int run_params_add_file(json_t *params, int topfd, const char *path)
{
	struct mlv_buf b = { 0 };
	size_t n = strlen(path);
	int err;

	if ((err = mlv_fs_read_file(&b, topfd, path, PARAMS_FILE_MAX)))
		return mlv_error_wrap(err, "-P %s", path);
	if (n > 5 && !strcmp(path + n - 5, ".json")) {
		json_error_t je;
		json_t *j = json_loadb(b.ptr, b.len, JSON_REJECT_DUPLICATES, &je);
		struct mlv_buf key = { 0 };

		if (!j || !json_is_object(j)) {
			err = mlv_error_set(MLV_EINVALID, "%s:%d: %s", path, je.line,
					    j ? "not a JSON object" : je.text);
		} else {
			mlv_buf_init(&key, 64);
			err = flatten_json(params, j, &key, 0, path);
			mlv_buf_release(&key);
		}
		json_decref(j);
	} else {
		err = params_yaml(params, b.ptr, b.len, path);
	}
	mlv_buf_release(&b);
	return err;
}
