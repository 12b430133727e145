#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/error.h"
#include "store/store-priv.h"

/*
 * What a writer killed at the wrong moment leaves behind, put right by
 * the next process that opens the store (see mlv_store_heal()):
 *
 *  - a temporary pack whose writer died (kill -9: a signal removes it):
 *    removed;
 *  - a pack renamed into packs/ whose rows were never committed (killed
 *    between the rename and the commit): verified like fsck verifies an
 *    orphan (checksum, name, every record) and indexed.  An index that
 *    knows no pack at all while packs exist is the same case for every
 *    pack: it is rebuilt from them.
 *
 * The common case costs one readdir(3) of packs/ and one query of the
 * packs table.
 */

struct names {
	char **v;
	size_t nr, alloc;
};

static void names_release(struct names *n)
{
	for (size_t i = 0; i < n->nr; i++)
		free(n->v[i]);
	free(n->v);
	n->v = NULL;
	n->nr = n->alloc = 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_indexed(void *ctx, const struct mlv_index_pack *p)
{
	struct names *n = ctx;

	MLV_ALLOC_GROW(n->v, n->nr + 1, n->alloc);
	n->v[n->nr++] = mlv_strdup(p->name);
	return 0;
}

/* The packs in packs/ that the index does not name; abandoned temporary packs go. */
static int find_orphans(struct mlv_store *s, struct names *out)
{
	struct names indexed = { NULL };
	DIR *d = mlv_store_packs_dir(s);
	struct dirent *de;
	int ret = 0;

	if (!d)
		return mlv_error_last_code();
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, MLV_PACK_TEMP_PREFIX, sizeof(MLV_PACK_TEMP_PREFIX) - 1)) {
			/* Best effort: fsck names one that cannot be removed. */
			if (mlv_pack_temp_abandoned(s->packfd, de->d_name, 1) < 0)
				mlv_error_clear();
		} else if (mlv_pack_name_valid(de->d_name)) {
			MLV_ALLOC_GROW(out->v, out->nr + 1, out->alloc);
			out->v[out->nr++] = mlv_strdup(de->d_name);
		}
	}
	closedir(d);
	if (!out->nr)
		return 0;
	/* Listed after the directory: a pack committed in between is not taken for an orphan. */
	if ((ret = mlv_index_for_each_pack(s->ix, add_indexed, &indexed)) < 0)
		goto done;
	ret = 0;
	if (indexed.nr)
		qsort(indexed.v, indexed.nr, sizeof(*indexed.v), name_cmp);
	{
		size_t k = 0;

		for (size_t i = 0; i < out->nr; i++) {
			if (indexed.nr && bsearch(&out->v[i], indexed.v, indexed.nr,
						  sizeof(*indexed.v), name_cmp))
				free(out->v[i]);
			else
				out->v[k++] = out->v[i];
		}
		out->nr = k;
	}
done:
	names_release(&indexed);
	return ret;
}

/* Keep only the names that have no row (the publishing lock is held). */
static int still_orphans(struct mlv_store *s, struct names *n)
{
	size_t k = 0;
	int ret = 0;

	for (size_t i = 0; i < n->nr; i++) {
		if (!ret && (ret = mlv_index_find_pack(s->ix, n->v[i], NULL)) == 0) {
			n->v[k++] = n->v[i];
			continue;
		}
		free(n->v[i]);
	}
	n->nr = k;
	return ret < 0 ? ret : 0;
}

/*
 * Verify pack `name` in full, as fsck verifies an orphan: header, index
 * and checksum, the name is the checksum, every record reads back as its
 * index says.  0 and its entries when intact; MLV_ECORRUPT (or another
 * error) when not.
 */
static int verify_pack(struct mlv_store *s, const char *name, struct mlv_pack_file *pf,
		       struct mlv_pack_entry **e, size_t *nr, struct mlv_buf *buf)
{
	struct mlv_oid sum;
	int ret;

	if ((ret = mlv_store_pack_open(s, name, pf)) || (ret = mlv_pack_read_index(pf, e, nr, &sum)))
		return ret;
	if (strncmp(name + 5, mlv_oid_hex(&sum), MLV_OID_HEXSZ))
		return mlv_error_set(MLV_ECORRUPT, "pack '%s': name does not match its checksum", name);
	for (size_t i = 0; i < *nr; i++) {
		const struct mlv_pack_entry *x = &(*e)[i];
		struct mlv_pack_entry h;

		if ((ret = mlv_pack_read_record(&s->rd, pf, x->offset, &x->id,
						mlv_pack_type_max(x->type), buf, &h)))
			return ret;
		if (h.type != x->type || h.comp != x->comp || h.stored_len != x->stored_len ||
		    h.raw_len != x->raw_len)
			return mlv_error_set(MLV_ECORRUPT,
					     "pack '%s': record header disagrees with the pack index",
					     name);
	}
	return 0;
}

/* Index the verified packs (the publishing lock is held exclusively). */
static int index_verified(struct mlv_store *s, struct names *n, struct mlv_pack_entry **ents,
			  size_t *counts, uint64_t *sizes, int64_t *mtimes)
{
	struct mlv_error_state es;
	int ret;

	if ((ret = mlv_index_begin(s->ix)))
		return ret;
	for (size_t i = 0; i < n->nr && !ret; i++) {
		int64_t pack_id;

		if (!ents[i])
			continue;
		/* Committed meanwhile by a writer that was alive after all. */
		if ((ret = mlv_index_find_pack(s->ix, n->v[i], NULL)) != 0) {
			ret = ret < 0 ? ret : 0;
			continue;
		}
		if ((ret = mlv_index_add_pack(s->ix, n->v[i], sizes[i], counts[i], mtimes[i],
					      &pack_id)))
			break;
		/* An object indexed elsewhere keeps its row (mlv_index_add_object()). */
		for (size_t k = 0; k < counts[i] && !ret; k++)
			ret = mlv_index_add_object(s->ix, pack_id, &ents[i][k]);
	}
	if (!ret)
		ret = mlv_index_commit(s->ix);
	mlv_error_state_capture(&es, ret);
	if (ret)
		mlv_index_rollback(s->ix);
	return mlv_error_state_restore(&es);
}

int mlv_store_heal(struct mlv_store *s)
{
	struct names n = { NULL };
	struct mlv_pack_entry **ents = NULL;
	size_t *counts = NULL;
	uint64_t *sizes = NULL;
	int64_t *mtimes = NULL;
	struct mlv_buf buf = MLV_BUF_INIT;
	struct mlv_error_state es;
	int ret, locked = 0;

	if ((ret = find_orphans(s, &n)) || !n.nr)
		goto done;
	/*
	 * A writer between the rename of its packs and the commit of their
	 * rows holds the publishing lock: its packs are not orphans, and are
	 * not read here in vain.  Look again with no publication half done.
	 */
	if ((ret = mlv_store_lock(s, MLV_STORE_LOCK_PUBLISH, F_WRLCK, 0))) {
		ret = ret < 0 ? ret : 0;
		goto done;
	}
	ret = still_orphans(s, &n);
	mlv_store_lock(s, MLV_STORE_LOCK_PUBLISH, F_UNLCK, 0);
	if (ret || !n.nr)
		goto done;

	/* Packs never change once published: verified without holding up writers. */
	ents = mlv_calloc(n.nr, sizeof(*ents));
	counts = mlv_calloc(n.nr, sizeof(*counts));
	sizes = mlv_calloc(n.nr, sizeof(*sizes));
	mtimes = mlv_calloc(n.nr, sizeof(*mtimes));
	for (size_t i = 0; i < n.nr; i++) {
		struct mlv_pack_file pf = { .fd = -1 };
		struct stat st;
		int r = verify_pack(s, n.v[i], &pf, &ents[i], &counts[i], &buf);

		if (!r && !fstat(pf.fd, &st)) {
			sizes[i] = pf.size;
			mtimes[i] = mlv_store_mtime_ns(&st);
		} else {
			/* A damaged one is left for fsck to report and salvage. */
			free(ents[i]);
			ents[i] = NULL;
			mlv_error_clear();
			if (r == MLV_EIO) {
				ret = r;
				if (pf.fd >= 0)
					close(pf.fd);
				goto done;
			}
		}
		if (pf.fd >= 0)
			close(pf.fd);
	}
	if ((ret = mlv_store_lock(s, MLV_STORE_LOCK_PUBLISH, F_WRLCK, MLV_STORE_LOCK_WAIT_MS))) {
		ret = ret < 0 ? ret : 0;
		goto done;
	}
	locked = 1;
	ret = index_verified(s, &n, ents, counts, sizes, mtimes);
done:
	mlv_error_state_capture(&es, ret);
	if (locked)
		mlv_store_lock(s, MLV_STORE_LOCK_PUBLISH, F_UNLCK, 0);
	for (size_t i = 0; ents && i < n.nr; i++)
		free(ents[i]);
	free(ents);
	free(counts);
	free(sizes);
	free(mtimes);
	mlv_buf_release(&buf);
	names_release(&n);
	return mlv_error_state_restore(&es);
}
