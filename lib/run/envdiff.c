/*
 * The hash of an environment manifest, the diff of two, and reading one
 * back (mlv/envinfo.h).  Manifests read from history are hostile: only
 * their shape is relied on, never their size or depth beyond Jansson's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/buf.h"
#include "mlv/envinfo.h"
#include "mlv/error.h"
#include "mlv/oid.h"

/* Members left out of the hash: "a" or "a.b". */
static const char *const volatile_members[] = {
	"hash", "host", "seed_vars", "gpus.uuids", "gpus.pci_bus_ids", "gpus.source", "gpus.why",
	"python.executable", "python.prefix", "python.base_prefix", "python.via", "python.error",
	NULL,
};

/* In these variables each GPU or MIG UUID counts as "GPU-*" / "MIG-*". */
static json_t *mask_uuids(const char *v)
{
	struct mlv_buf b = MLV_BUF_INIT;
	json_t *j;

	for (const char *s = v, *e; ; s = e + 1) {
		e = strchrnul(s, ',');
		if (s != v)
			mlv_buf_addch(&b, ',');
		if (!strncmp(s, "GPU-", 4) || !strncmp(s, "MIG-", 4))
			mlv_buf_add(&b, s, 4), mlv_buf_addch(&b, '*');
		else
			mlv_buf_add(&b, s, (size_t)(e - s));
		if (!*e)
			break;
	}
	j = json_stringn(b.ptr, b.len);
	mlv_buf_release(&b);
	return j ? j : json_string("");
}

/* A copy of `m` without its volatile members: what the hash covers. */
static json_t *hashed_part(const json_t *m)
{
	json_t *c = json_deep_copy(m), *vars;

	if (!c)
		return NULL;
	for (const char *const *p = volatile_members; *p; p++) {
		const char *dot = strchr(*p, '.');

		if (!dot) {
			json_object_del(c, *p);
		} else {
			char top[32];
			json_t *sub;

			snprintf(top, sizeof(top), "%.*s", (int)(dot - *p), *p);
			sub = json_object_get(c, top);
			if (json_is_object(sub))
				json_object_del(sub, dot + 1);
		}
	}
	vars = json_object_get(c, "vars");
	if (json_is_object(vars)) {
		static const char *const masked[] = { "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES" };

		for (size_t i = 0; i < 2; i++) {
			json_t *v = json_object_get(vars, masked[i]);

			if (json_is_string(v))
				json_object_set_new(vars, masked[i], mask_uuids(json_string_value(v)));
		}
	}
	return c;
}

int mlv_env_hash(char out[MLV_ENV_HASH_HEXSZ + 1], const json_t *manifest)
{
	json_t *c;
	char *text;
	struct mlv_oid oid;

	if (!json_is_object(manifest))
		return mlv_error_set(MLV_EINVALID, "environment manifest is not a JSON object");
	c = hashed_part(manifest);
	text = c ? json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(c);
	if (!text)
		return mlv_error_set(MLV_ERROR, "cannot print the environment manifest");
	mlv_hash_buf(&oid, text, strlen(text));
	free(text);
	mlv_oid_tohex(out, &oid);
	return 0;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void diff_walk(json_t *out, struct mlv_buf *path, const json_t *a, const json_t *b, int depth)
{
	if (json_is_object(a) && json_is_object(b) && depth < 16) {
		const char **keys = mlv_calloc(json_object_size(a) + json_object_size(b) + 1,
					       sizeof(*keys));
		size_t n = 0, len = path->len;
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)a, k, v)
			keys[n++] = k;
		json_object_foreach((json_t *)b, k, v)
			if (!json_object_get(a, k))
				keys[n++] = k;
		qsort(keys, n, sizeof(*keys), cmp_keys);
		for (size_t i = 0; i < n; i++) {
			if (!depth && !strcmp(keys[i], "hash"))
				continue;
			if (len)
				mlv_buf_addch(path, '.');
			mlv_buf_adds(path, keys[i]);
			diff_walk(out, path, json_object_get(a, keys[i]), json_object_get(b, keys[i]),
				  depth + 1);
			mlv_buf_setlen(path, len);
		}
		free(keys);
		return;
	}
	if ((a || b) && !(a && b && json_equal((json_t *)a, (json_t *)b))) {
		json_t *d = json_object();

		json_object_set_new(d, "component", json_stringn(path->ptr, path->len));
		json_object_set_new(d, "a", a ? json_deep_copy(a) : json_null());
		json_object_set_new(d, "b", b ? json_deep_copy(b) : json_null());
		json_object_set_new(d, "volatile", json_false());
		json_array_append_new(out, d);
	}
}

static int cmp_component(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "component")),
		      json_string_value(json_object_get(*(json_t *const *)b, "component")));
}

int mlv_env_diff(json_t **out, const json_t *a, const json_t *b, unsigned flags)
{
	json_t *ha, *hb, *res = json_array(), *all, *d;
	struct mlv_buf path = MLV_BUF_INIT;
	size_t i, n;
	json_t **items;

	*out = NULL;
	if (!json_is_object(a) || !json_is_object(b)) {
		json_decref(res);
		return mlv_error_set(MLV_EINVALID, "environment manifest is not a JSON object");
	}
	ha = hashed_part(a);
	hb = hashed_part(b);
	diff_walk(res, &path, ha, hb, 0);
	json_decref(ha);
	json_decref(hb);
	if (flags & MLV_ENV_DIFF_VOLATILE) {
		all = json_array();
		diff_walk(all, &path, a, b, 0);
		json_array_foreach(all, i, d) {
			const char *c = json_string_value(json_object_get(d, "component"));
			size_t j;
			json_t *e;
			int seen = 0;

			json_array_foreach(res, j, e)
				if (!strcmp(c, json_string_value(json_object_get(e, "component"))))
					seen = 1;
			if (!seen) {
				json_object_set_new(d, "volatile", json_true());
				json_array_append(res, d);
			}
		}
		json_decref(all);
	}
	/* Sorted by component, the masked values shown as they are. */
	n = json_array_size(res);
	items = mlv_calloc(n + 1, sizeof(*items));
	for (i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(res, i));
	qsort(items, n, sizeof(*items), cmp_component);
	json_array_clear(res);
	for (i = 0; i < n; i++) {
		const char *c = json_string_value(json_object_get(items[i], "component"));

		if (!strcmp(c, "vars.CUDA_VISIBLE_DEVICES") || !strcmp(c, "vars.NVIDIA_VISIBLE_DEVICES")) {
			const char *name = c + 5;
			json_t *va = json_object_get(json_object_get(a, "vars"), name);
			json_t *vb = json_object_get(json_object_get(b, "vars"), name);

			json_object_set_new(items[i], "a", va ? json_deep_copy(va) : json_null());
			json_object_set_new(items[i], "b", vb ? json_deep_copy(vb) : json_null());
		}
		json_array_append_new(res, items[i]);
	}
	free(items);
	mlv_buf_release(&path);
	*out = res;
	return 0;
}

int mlv_env_parse(json_t **out, const char *text, size_t len, const char *what)
{
	json_error_t jerr;
	json_t *o;

	*out = NULL;
	if (len > MLV_ENV_JSON_MAX)
		return mlv_error_set(MLV_EINVALID, "%s: environment manifest larger than %u bytes",
				     what, MLV_ENV_JSON_MAX);
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return mlv_error_set(MLV_EINVALID, "%s: not JSON: %s (line %d)", what, jerr.text,
				     jerr.line);
	if (!json_is_object(o) || !json_is_integer(json_object_get(o, "format")) ||
	    json_integer_value(json_object_get(o, "format")) != MLV_ENV_FORMAT) {
		json_decref(o);
		return mlv_error_set(MLV_EINVALID, "%s: not an environment manifest of format %d",
				     what, MLV_ENV_FORMAT);
	}
	*out = o;
	return 0;
}
