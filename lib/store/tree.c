#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mlv/error.h"
#include "mlv/path.h"
#include "mlv/tree.h"

/*
 * Trees arrive from remotes and packs: the parser trusts no length, and
 * accepts exactly one encoding per tree, so that equal trees always have
 * equal ids.
 */

static const char header[] = "mlvtree 1\n";
#define HEADER_LEN (sizeof(header) - 1)

/* Smallest entry: "40000 0 x\0" and 32 id bytes. */
#define MIN_ENTRY_LEN (5 + 1 + 1 + 1 + 1 + 1 + MLV_OID_RAWSZ)

static const struct {
	const char *str;
	uint32_t mode;
} modes[] = {
	{ "100644", MLV_MODE_FILE },
	{ "100755", MLV_MODE_EXEC },
	{ "120000", MLV_MODE_LINK },
	{ "40000", MLV_MODE_DIR },
};
#define NR_MODES (sizeof(modes) / sizeof(modes[0]))

static const char *mode_str(uint32_t mode)
{
	for (size_t i = 0; i < NR_MODES; i++)
		if (modes[i].mode == mode)
			return modes[i].str;
	return NULL;
}

int mlv_name_valid(const char *name, size_t len)
{
	return name && mlv_path_component_valid(name, len);
}

void mlv_tree_release(struct mlv_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nr; i++)
		free(t->entries[i].name);
	free(t->entries);
	t->entries = NULL;
	t->nr = t->alloc = 0;
}

static void add_entry(struct mlv_tree *t, char *name, uint32_t mode, uint64_t size,
		      const struct mlv_oid *oid)
{
	struct mlv_tree_entry *e;

	MLV_ALLOC_GROW(t->entries, t->nr + 1, t->alloc);
	e = &t->entries[t->nr++];
	e->name = name;
	e->mode = mode;
	e->size = size;
	e->oid = *oid;
}

void mlv_tree_add(struct mlv_tree *t, const char *name, uint32_t mode, uint64_t size,
		  const struct mlv_oid *oid)
{
	add_entry(t, mlv_strdup(name), mode, size, oid);
}

/* strcmp() compares as unsigned char: the same order as memcmp() on names. */
static int entry_cmp(const void *a, const void *b)
{
	const struct mlv_tree_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

void mlv_tree_sort(struct mlv_tree *t)
{
	if (t->nr > 1)
		qsort(t->entries, t->nr, sizeof(*t->entries), entry_cmp);
}

const struct mlv_tree_entry *mlv_tree_find(const struct mlv_tree *t, const char *name)
{
	size_t lo = 0, hi = t->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, t->entries[mid].name);

		if (!c)
			return &t->entries[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int mlv_tree_encode(struct mlv_buf *out, const struct mlv_tree *t)
{
	size_t start = out->len;

	if (t->nr > MLV_TREE_ENTRIES_MAX)
		return mlv_error_set(MLV_EINVALID, "a directory of %zu entries is more than a tree may hold (%u)",
				     t->nr, MLV_TREE_ENTRIES_MAX);
	mlv_buf_add(out, header, HEADER_LEN);
	for (size_t i = 0; i < t->nr; i++) {
		const struct mlv_tree_entry *e = &t->entries[i];
		const char *m = mode_str(e->mode);
		size_t nlen = strlen(e->name);

		if (!mlv_name_valid(e->name, nlen)) {
			mlv_error_set(MLV_EINVALID, "tree entry %zu: invalid name '%s'", i, e->name);
			goto fail;
		}
		if (!m) {
			mlv_error_set(MLV_EINVALID, "tree entry '%s': invalid mode %o", e->name,
				      (unsigned)e->mode);
			goto fail;
		}
		if (e->size > (uint64_t)INT64_MAX) {
			mlv_error_set(MLV_EINVALID, "tree entry '%s': size %" PRIu64 " too large",
				      e->name, e->size);
			goto fail;
		}
		if (i && strcmp(t->entries[i - 1].name, e->name) >= 0) {
			mlv_error_set(MLV_EINVALID, "tree entry '%s': %s", e->name,
				      strcmp(t->entries[i - 1].name, e->name) ?
				      "entries not sorted" : "duplicate name");
			goto fail;
		}
		mlv_buf_addf(out, "%s %" PRIu64 " ", m, e->size);
		mlv_buf_add(out, e->name, nlen + 1);
		mlv_buf_add(out, e->oid.id, MLV_OID_RAWSZ);
	}
	return 0;
fail:
	mlv_buf_setlen(out, start);
	return MLV_EINVALID;
}

static int bad(const char *what, size_t idx, size_t off, const char *why)
{
	return mlv_error_set(MLV_EINVALID, "corrupt tree %s: entry %zu at offset %zu: %s",
			     what, idx, off, why);
}

int mlv_tree_parse(struct mlv_tree *out, const void *data, size_t len, const char *what)
{
	const char *buf = data, *p, *end = buf + len;
	const char *prev = NULL;
	size_t prevlen = 0, idx = 0;
	int ret = 0;

	mlv_tree_release(out);
	if (!what)
		what = "<tree>";
	if (len < HEADER_LEN || memcmp(buf, header, HEADER_LEN))
		return mlv_error_set(MLV_EINVALID, "corrupt tree %s: bad header", what);

	for (p = buf + HEADER_LEN; p < end; idx++) {
		size_t off = (size_t)(p - buf), rest = (size_t)(end - p);
		const char *sp, *nul, *sz, *name;
		uint32_t mode = 0;
		uint64_t size;
		size_t nlen, i;
		struct mlv_oid oid;

		if (idx >= MLV_TREE_ENTRIES_MAX) {
			ret = bad(what, idx, off, "more entries than a tree may hold");
			goto done;
		}
		/* Also bounds the number of entries by the data length. */
		if (rest < MIN_ENTRY_LEN) {
			ret = bad(what, idx, off, "truncated entry");
			goto done;
		}
		sp = memchr(p, ' ', rest < 7 ? rest : 7);
		for (i = 0; sp && i < NR_MODES; i++) {
			if (strlen(modes[i].str) == (size_t)(sp - p) &&
			    !memcmp(p, modes[i].str, (size_t)(sp - p))) {
				mode = modes[i].mode;
				break;
			}
		}
		if (!sp || i == NR_MODES) {
			ret = bad(what, idx, off, "invalid mode");
			goto done;
		}
		sz = sp + 1;
		sp = memchr(sz, ' ', (size_t)(end - sz) < 20 ? (size_t)(end - sz) : 20);
		if (!sp || mlv_parse_decimal(&size, sz, (size_t)(sp - sz)) < 0) {
			ret = bad(what, idx, off, "invalid size");
			goto done;
		}
		name = sp + 1;
		nul = memchr(name, '\0', (size_t)(end - name));
		if (!nul) {
			ret = bad(what, idx, off, "name not terminated");
			goto done;
		}
		nlen = (size_t)(nul - name);
		if (!mlv_name_valid(name, nlen)) {
			ret = bad(what, idx, off, "invalid name");
			goto done;
		}
		if ((size_t)(end - (nul + 1)) < MLV_OID_RAWSZ) {
			ret = bad(what, idx, off, "truncated id");
			goto done;
		}
		if (prev) {
			int c = memcmp(prev, name, prevlen < nlen ? prevlen : nlen);

			if (!c && prevlen == nlen) {
				ret = bad(what, idx, off, "duplicate name");
				goto done;
			}
			if (c > 0 || (!c && prevlen > nlen)) {
				ret = bad(what, idx, off, "entries not sorted");
				goto done;
			}
		}
		memcpy(oid.id, nul + 1, MLV_OID_RAWSZ);
		add_entry(out, mlv_strndup(name, nlen), mode, size, &oid);
		prev = name;
		prevlen = nlen;
		p = nul + 1 + MLV_OID_RAWSZ;
	}
done:
	if (ret)
		mlv_tree_release(out);
	return ret;
}

uint32_t mlv_tree_mode(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return MLV_MODE_LINK;
	if (S_ISDIR(st->st_mode))
		return MLV_MODE_DIR;
	return (st->st_mode & 0111) ? MLV_MODE_EXEC : MLV_MODE_FILE;
}
