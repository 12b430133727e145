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

/* `s` as JSON spells a number: no leading zero, no '+', digits after '.' and 'e'. */
static int json_number_text(const char *s)
{
	const char *p = s + (*s == '-');

	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return 0;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		p += *p == '+' || *p == '-';
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return !*p;
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
	    s[len - 1] <= '9' && !strpbrk(s, "xXiInN") && json_number_text(s)) {
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
		/* An integer too large for 64 bits stays text: no digit is lost. */
		if (!*end && !errno && isfinite(d) && (strchr(s, '.') || strpbrk(s, "eE"))) {
			j = json_real(d);
			goto done;
		}
	}
	j = json_stringn(v, len); /* NULL when not UTF-8: the caller refuses it */
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
		json_t *v = run_param_value(eq + 1, strlen(eq + 1));
		int err = 0;

		if (!v || json_object_set_new(params, key, v))
			err = mlv_error_set(MLV_EINVALID, "-p '%s': not valid UTF-8", arg);
		free(key);
		return err;
	}
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
/*
 * A block list read so far becomes its key's value, as the text a flow
 * list would have: "[64, 32]", each item as it was written.
 */
static void flush_list(json_t *params, struct mlv_buf *list, int *open, const char *key)
{
	if (!*open)
		return;
	mlv_buf_addch(list, ']');
	json_object_set_new(params, key, json_string(list->ptr));
	mlv_buf_reset(list);
	*open = 0;
}

static int params_yaml(json_t *params, const char *buf, size_t len, const char *path)
{
	size_t indent[YAML_DEPTH_MAX], keylen[YAML_DEPTH_MAX], depth = 0, lineno = 0;
	char prefix[YAML_DEPTH_MAX * (PARAM_KEY_MAX + 1)], list_key[sizeof(prefix)];
	const char *p = buf, *end = buf + len;
	struct mlv_buf list = MLV_BUF_INIT;
	int in_list = 0;
	int open_key = 0; /* the key at depth - 1 has no value or child yet */
	int err = 0;

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
		if (line[ind] == '-' && (ind + 1 == n || line[ind + 1] == ' ' || line[ind + 1] == '\r')) {
			/* "- item" of a block list under the last key */
			const char *item = line + ind + 1;
			size_t ilen = n - ind - 1;
			json_t *v;

			if (!in_list && (!open_key || indent[depth - 1] > ind)) {
				err = mlv_error_set(MLV_EINVALID, "%s:%zu: a list item without its key",
						    path, lineno);
				goto done;
			}
			if (!in_list) {
				memcpy(list_key, prefix, keylen[depth - 1]);
				list_key[keylen[depth - 1]] = '\0';
				mlv_buf_addch(&list, '[');
				in_list = 1;
				depth--; /* the key holds a list, not a mapping */
				open_key = 0;
			}
			trim(&item, &ilen);
			if (ilen && (memchr(item, ':', ilen) || *item == '-' || *item == '[')) {
				err = mlv_error_set(MLV_EINVALID, "%s:%zu: only lists of plain values are "
						    "read", path, lineno);
				goto done;
			}
			if (!(v = run_param_value(item, ilen))) {
				err = mlv_error_set(MLV_EINVALID, "%s:%zu: not valid UTF-8", path, lineno);
				goto done;
			}
			json_decref(v);
			if (list.len > 1)
				mlv_buf_adds(&list, ", ");
			mlv_buf_add(&list, item, ilen);
			continue;
		}
		flush_list(params, &list, &in_list, list_key);
		colon = memchr(line + ind, ':', n - ind);
		if (!colon || line[ind] == '-') {
			err = mlv_error_set(MLV_EINVALID, "%s:%zu: expected '<key>: <value>'", path,
					    lineno);
			goto done;
		}
		while (depth && indent[depth - 1] >= ind)
			depth--;
		open_key = 0;
		klen = (size_t)(colon - line - ind);
		{
			const char *k = line + ind;

			trim(&k, &klen);
			if (!key_ok(k, klen) || depth == YAML_DEPTH_MAX) {
				err = mlv_error_set(MLV_EINVALID, "%s:%zu: bad key", path, lineno);
				goto done;
			}
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
		if (!vlen) { /* a mapping or a block list follows */
			indent[depth] = ind;
			keylen[depth] = plen;
			depth++;
			open_key = 1;
			continue;
		}
		{
			json_t *v = run_param_value(val, vlen);

			if (!v || json_object_set_new(params, prefix, v)) {
				err = mlv_error_set(MLV_EINVALID, "%s:%zu: not valid UTF-8", path,
						    lineno);
				goto done;
			}
		}
	}
	flush_list(params, &list, &in_list, list_key);
done:
	mlv_buf_release(&list);
	return err;
}

static int flatten_json(json_t *params, json_t *v, struct mlv_buf *key, int depth,
			const char *path)
{
	const char *k;
	json_t *e;

	if (json_is_array(v)) {
		/* A list is a parameter too ([64, 32]): kept as its JSON text. */
		char *text = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17));

		json_object_set_new(params, key->ptr, json_string(text ? text : "[]"));
		free(text);
		return 0;
	}
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
