#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/tree.h"
#include "store/store-priv.h"

/*
 * fsck compares three things: the pack files on disk, what each pack says
 * about itself (header, index, checksum, every record), and the rows of
 * index.db.  Repairs only ever add information that a pack proves or drop
 * rows that point nowhere; a damaged pack is replaced by a new pack of its
 * readable records before it is removed.
 */

struct row {
	struct mlv_oid id;
	int64_t pack;
	uint64_t offset, stored_len, raw_len;
	int type, comp;
};

struct prow {
	int64_t id;
	char name[MLV_PACK_NAME_MAX];
	uint64_t size;
	int on_disk;
};

struct fsck {
	struct mlv_store *s;
	int repair;
	mlv_fsck_report_fn report;
	void *ctx;
	struct mlv_fsck_stats st;
	struct row *rows;
	size_t nrows, ralloc;
	struct prow *packs;
	size_t npacks, palloc;
	struct later {
		struct mlv_oid blob, chunk;
		size_t k;
	} *later;              /* recipe chunks not found while their pack was checked */
	size_t nlater, later_alloc;
	struct mlv_oid *bad;   /* objects reported corrupt or missing, sorted before use */
	size_t nbad, bad_alloc;
	char **intact; /* packs verified in full: their rows may be restored */
	size_t nintact, intact_alloc;
	int index_bad;
	struct mlv_pack_reader rd;
	struct mlv_buf buf;
};

static void problem(struct fsck *f, const char *kind, const char *what, const char *fmt, ...)
	MLV_PRINTF(4, 5);

static void problem(struct fsck *f, const char *kind, const char *what, const char *fmt, ...)
{
	char detail[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	f->st.problems++;
	if (f->report)
		f->report(f->ctx, kind, what, detail);
}

static void note_bad(struct fsck *f, const struct mlv_oid *id)
{
	MLV_ALLOC_GROW(f->bad, f->nbad + 1, f->bad_alloc);
	f->bad[f->nbad++] = *id;
}

static int oid_cmp_v(const void *a, const void *b)
{
	return mlv_oid_cmp(a, b);
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return mlv_oid_cmp(&x->id, &y->id);
}

static int load_pack(void *ctx, const struct mlv_index_pack *ip)
{
	struct fsck *f = ctx;
	struct prow *p;

	MLV_ALLOC_GROW(f->packs, f->npacks + 1, f->palloc);
	p = &f->packs[f->npacks++];
	p->id = ip->id;
	snprintf(p->name, sizeof(p->name), "%s", ip->name);
	p->size = ip->size;
	p->on_disk = 0;
	return 0;
}

static int load_row(void *ctx, int64_t pack_id, const struct mlv_pack_entry *e)
{
	struct fsck *f = ctx;
	struct row *r;

	MLV_ALLOC_GROW(f->rows, f->nrows + 1, f->ralloc);
	r = &f->rows[f->nrows++];
	r->id = e->id;
	r->pack = pack_id;
	r->offset = e->offset;
	r->stored_len = e->stored_len;
	r->raw_len = e->raw_len;
	r->type = e->type;
	r->comp = e->comp;
	return 0;
}

static int load_index(struct fsck *f)
{
	int ret;

	f->npacks = f->nrows = 0;
	if ((ret = mlv_index_for_each_pack(f->s->ix, load_pack, f)) ||
	    (ret = mlv_index_for_each_object(f->s->ix, load_row, f)))
		return ret;
	if (f->nrows)
		qsort(f->rows, f->nrows, sizeof(*f->rows), row_cmp);
	return 0;
}

static struct prow *find_pack_row(struct fsck *f, const char *name)
{
	for (size_t i = 0; i < f->npacks; i++)
		if (!strcmp(f->packs[i].name, name))
			return &f->packs[i];
	return NULL;
}

/* The rows of pack `id`: [*begin, *end). */
static void rows_of(struct fsck *f, int64_t id, size_t *begin, size_t *end)
{
	size_t lo = 0, hi = f->nrows;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->rows[mid].pack < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*begin = lo;
	while (lo < f->nrows && f->rows[lo].pack == id)
		lo++;
	*end = lo;
}

static void quick_problem(void *ctx, const char *msg)
{
	struct fsck *f = ctx;

	f->index_bad = 1;
	problem(f, "index", f->s->dbpath, "%s", msg);
}

/*
 * A damaged index is moved aside and started again empty: every pack is
 * then an orphan, verified and indexed from its own index below.
 */
static int check_quick(struct fsck *f)
{
	int ret = mlv_index_quick_check(f->s->ix, quick_problem, f);

	if (ret || !f->index_bad || !f->repair)
		return ret;
	if ((ret = mlv_store_index_reset(f->s)))
		return ret;
	f->st.repaired += f->st.problems;
	if (f->report) {
		char detail[PATH_MAX + 64];

		snprintf(detail, sizeof(detail), "moved aside to '%s', rebuilt from the packs",
			 mlv_store_index_moved_aside(f->s));
		f->report(f->ctx, "repaired", f->s->dbpath, detail);
	}
	return 0;
}

/*
 * Index a verified pack's entries (a transaction is open).  An object
 * already indexed elsewhere keeps its row: a row only moves when its own
 * copy is found bad (and then that pack is salvaged).
 */
static int index_entries(struct fsck *f, const char *name, uint64_t size, int64_t mtime_ns,
			 const struct mlv_pack_entry *e, size_t nr)
{
	int64_t pack_id;
	int ret;

	/* The name may have a row already: a twin of the pack that was salvaged. */
	if ((ret = mlv_index_add_pack(f->s->ix, name, size, nr, mtime_ns, &pack_id)) ||
	    (ret = mlv_index_set_pack_signature(f->s->ix, pack_id, size, mtime_ns)))
		return ret;
	for (size_t i = 0; i < nr; i++)
		if ((ret = mlv_index_add_object(f->s->ix, pack_id, &e[i])))
			return ret;
	return 0;
}

static int delete_pack_rows(struct fsck *f, int64_t pack_id)
{
	return mlv_index_delete_pack(f->s->ix, pack_id);
}

static int delete_row(struct fsck *f, const struct row *r)
{
	return mlv_index_delete_object_at(f->s->ix, &r->id, r->pack);
}

static int64_t pack_mtime(struct fsck *f, const char *name)
{
	struct stat st;

	if (fstatat(f->s->packfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return mlv_store_mtime_ns(&st);
}

static int fsync_packs(struct fsck *f)
{
	if (fsync(f->s->packfd) < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot fsync '%s'", f->s->packdir);
	return 0;
}

/* The ids copied by a salvage (open addressing; a pack may hold millions). */
struct idset {
	struct mlv_store *s;
	struct mlv_oid *v;
	unsigned char *used;
	size_t nr, cap;
};

static size_t idset_slot(const struct mlv_oid *id, size_t cap)
{
	size_t h;

	memcpy(&h, id->id, sizeof(h));
	return h & (cap - 1);
}

/* 1 when `id` was already there, 0 when added. */
static int idset_add(struct idset *set, const struct mlv_oid *id)
{
	size_t i;

	if (2 * (set->nr + 1) > set->cap) {
		struct idset big = { set->s, NULL, NULL, 0, set->cap ? 2 * set->cap : 1024 };

		big.v = mlv_calloc(big.cap, sizeof(*big.v) + 1);
		big.used = (unsigned char *)(big.v + big.cap);
		for (size_t k = 0; k < set->cap; k++)
			if (set->used[k])
				idset_add(&big, &set->v[k]);
		free(set->v);
		*set = big;
	}
	for (i = idset_slot(id, set->cap); set->used[i]; i = (i + 1) & (set->cap - 1))
		if (!mlv_oid_cmp(&set->v[i], id))
			return 1;
	set->used[i] = 1;
	set->v[i] = *id;
	set->nr++;
	return 0;
}

/*
 * Copy every readable record of a damaged pack into a new pack, index it
 * in place of the old one and remove the old file.
 */
static int salvage(struct fsck *f, const struct mlv_pack_file *pf, const struct prow *row,
		   uint64_t stop, size_t *saved_out, size_t *lost_out)
{
	size_t rb = 0, re = 0;
	struct mlv_pack_writer *pw = NULL;
	char name[MLV_PACK_NAME_MAX], *path = NULL;
	uint64_t off = MLV_PACK_HDR_SIZE;
	size_t saved = 0, lost = 0;
	struct idset ids = { NULL };
	int ret = 0;

	if ((ret = mlv_pack_writer_open(&pw, f->s->packfd, f->s->packdir)))
		return ret;
	ids.s = f->s;
	while (off < stop && stop - off >= MLV_PACK_REC_HDR_SIZE) {
		struct mlv_pack_entry e;
		const struct mlv_buf *stored;
		int r = mlv_pack_read_record(&f->rd, pf, off, NULL, MLV_OBJECT_META_MAX, &f->buf, &e);

		if (r && r != MLV_ECORRUPT)
			goto done_fail;
		if (r) {
			/* A sane header lets us skip a bad payload; otherwise stop. */
			unsigned char hdr[MLV_PACK_REC_HDR_SIZE];
			struct mlv_pack_entry h;

			if (pread(pf->fd, hdr, sizeof(hdr), (off_t)off) != (ssize_t)sizeof(hdr) ||
			    mlv_pack_rechdr_decode(&h, hdr, pf->name, off) ||
			    h.stored_len > stop - off - MLV_PACK_REC_HDR_SIZE)
				break;
			lost++;
			off += MLV_PACK_REC_HDR_SIZE + h.stored_len;
			continue;
		}
		off += MLV_PACK_REC_HDR_SIZE + e.stored_len;
		/* A second copy of an id would make the new pack's index unsorted, i.e. damaged. */
		if (idset_add(&ids, &e.id))
			continue;
		stored = e.comp == MLV_COMP_RAW ? &f->buf : &f->rd.scratch;
		if ((ret = mlv_pack_writer_add(pw, &e.id, e.type, e.comp, stored->ptr,
					       (size_t)e.stored_len, e.raw_len)))
			goto done;
		saved++;
	}
	if (saved && ((ret = mlv_pack_writer_seal(pw)) || (ret = mlv_pack_writer_publish(pw, name)) ||
		      (ret = fsync_packs(f))))
		goto done;
	if (row)
		rows_of(f, row->id, &rb, &re);
	for (size_t i = rb; i < re; i++) {
		const struct mlv_pack_entry *e;
		size_t nr, k;

		e = mlv_pack_writer_entries(pw, &nr);
		for (k = 0; k < nr && mlv_oid_cmp(&e[k].id, &f->rows[i].id); k++)
			;
		if (k == nr)
			problem(f, "missing", mlv_oid_hex(&f->rows[i].id),
				"object lost with the damaged pack '%s'", pf->name);
	}
	if ((ret = mlv_index_begin(f->s->ix)))
		goto done;
	if (row && (ret = delete_pack_rows(f, row->id)))
		goto rollback;
	if (saved) {
		const struct mlv_pack_entry *e;
		size_t nr;

		e = mlv_pack_writer_entries(pw, &nr);
		if ((ret = index_entries(f, name, mlv_pack_writer_size(pw),
					 mlv_pack_writer_mtime_ns(pw), e, nr)))
			goto rollback;
	}
	if ((ret = mlv_index_commit(f->s->ix)))
		goto rollback;
	mlv_store_pack_forget(f->s, pf->name);
	/*
	 * The records read back may make the very same pack again (only its
	 * checksum bytes were damaged): then the rename above replaced the
	 * damaged file, and the name now holds the good copy.
	 */
	if (saved && !strcmp(name, pf->name))
		goto done;
	path = mlv_xstrfmt("%s/%s", f->s->packdir, pf->name);
	if (unlinkat(f->s->packfd, pf->name, 0) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot remove '%s'", path);
	else
		ret = fsync_packs(f);
	goto done;
rollback:
	mlv_index_rollback(f->s->ix);
	goto done;
done_fail:
	ret = mlv_error_last_code();
done:
	mlv_pack_writer_free(pw);
	free(path);
	free(ids.v);
	*saved_out = saved;
	*lost_out = lost;
	return ret;
}

static int is_truncated(const struct mlv_pack_file *pf)
{
	unsigned char magic[8];

	if (pf->size < MLV_PACK_HDR_SIZE + MLV_PACK_FOOTER_SIZE)
		return 1;
	if (pread(pf->fd, magic, 8, (off_t)(pf->size - MLV_PACK_FOOTER_SIZE + 16)) != 8)
		return 1;
	return memcmp(magic, MLV_PACK_IDX_MAGIC, 8) != 0;
}

static const struct mlv_pack_entry *find_entry(const struct mlv_pack_entry *e, size_t nr,
					       const struct mlv_oid *id)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = mlv_oid_cmp(&e[mid].id, id);

		if (!c)
			return &e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Verify every record of a pack with a good index; returns the number of bad ones. */
static size_t verify_records(struct fsck *f, const struct mlv_pack_file *pf,
			     const struct mlv_pack_entry *e, size_t nr)
{
	size_t bad = 0;

	for (size_t i = 0; i < nr; i++) {
		struct mlv_pack_entry h;
		char what[MLV_OID_HEXSZ + 8];

		snprintf(what, sizeof(what), "%s", mlv_oid_hex(&e[i].id));
		if (mlv_pack_read_record(&f->rd, pf, e[i].offset, &e[i].id, mlv_pack_type_max(e[i].type),
					 &f->buf, &h)) {
			problem(f, "corrupt", what, "%s", mlv_error_last());
			note_bad(f, &e[i].id);
			bad++;
			continue;
		}
		if (h.type != e[i].type || h.comp != e[i].comp || h.stored_len != e[i].stored_len ||
		    h.raw_len != e[i].raw_len) {
			problem(f, "corrupt", what, "pack '%s': record header disagrees with the pack index",
				pf->name);
			bad++;
			continue;
		}
		if (h.type == MLV_OBJ_RECIPE) {
			const unsigned char *p = (const unsigned char *)f->buf.ptr + MLV_RECIPE_MAGIC_LEN;
			size_t n = (f->buf.len - MLV_RECIPE_MAGIC_LEN) / MLV_RECIPE_ENTRY_SIZE;

			for (size_t k = 0; k < n; k++, p += MLV_RECIPE_ENTRY_SIZE) {
				struct mlv_index_obj obj;
				const struct mlv_pack_entry *in_pack;
				struct mlv_oid cid;
				uint64_t len = mlv_get_be64(p);
				int r;

				memcpy(cid.id, p + 8, MLV_OID_RAWSZ);
				in_pack = find_entry(e, nr, &cid);
				if (in_pack) {
					obj.type = in_pack->type;
					obj.raw_len = in_pack->raw_len;
					r = 1;
				} else {
					r = mlv_index_lookup(f->s->ix, &cid, &obj);
				}
				if (r <= 0) {
					/* Perhaps in a pack not indexed yet: decided at the end. */
					struct later *l;

					MLV_ALLOC_GROW(f->later, f->nlater + 1, f->later_alloc);
					l = &f->later[f->nlater++];
					l->blob = e[i].id;
					l->chunk = cid;
					l->k = k;
				} else if (obj.type != MLV_OBJ_CHUNK || obj.raw_len != len) {
					problem(f, "corrupt", what,
						"pack '%s': recipe entry %zu (%s) does not match the stored chunk",
						pf->name, k, mlv_oid_hex(&cid));
				}
			}
		}
	}
	return bad;
}

/*
 * A pack the index did not know when it was loaded: a writer may have
 * renamed it into place and be about to commit its rows.  Look again
 * with no publication half done; an orphan is indexed under the same
 * lock, so that no writer indexes it at the same time.
 */
static int check_orphan(struct fsck *f, const char *name, const struct mlv_pack_file *pf,
			const struct mlv_pack_entry *e, size_t nr)
{
	struct mlv_error_state es;
	int ret = mlv_store_lock(f->s, MLV_STORE_LOCK_PUBLISH, F_WRLCK, MLV_STORE_LOCK_WAIT_MS);

	if (ret > 0)
		return mlv_error_set(MLV_EIO, "cannot lock '%s': writers keep publishing packs",
				     f->s->lockpath);
	if (ret < 0)
		return ret;
	if ((ret = mlv_index_find_pack(f->s->ix, name, NULL)) != 0) {
		ret = ret < 0 ? ret : 0;
		goto done;
	}
	problem(f, "orphan", name, "pack '%s' is not in the index", name);
	if (!f->repair || !e)
		goto done;
	if ((ret = mlv_index_begin(f->s->ix)))
		goto done;
	if ((ret = index_entries(f, name, pf->size, pack_mtime(f, name), e, nr)) ||
	    (ret = mlv_index_commit(f->s->ix))) {
		mlv_index_rollback(f->s->ix);
		goto done;
	}
	f->st.repaired++;
done:
	mlv_error_state_capture(&es, ret);
	mlv_store_lock(f->s, MLV_STORE_LOCK_PUBLISH, F_UNLCK, 0);
	return mlv_error_state_restore(&es);
}

static int check_pack(struct fsck *f, const char *name)
{
	struct mlv_pack_file pf = { .fd = -1 };
	struct mlv_pack_entry *e = NULL;
	struct prow *row = find_pack_row(f, name);
	struct mlv_oid sum;
	size_t nr = 0, bad = 0, b, end;
	uint64_t p0 = f->st.problems;
	int ret = 0, damaged = 0;

	if (row)
		row->on_disk = 1;
	if ((ret = mlv_store_pack_open(f->s, name, &pf)))
		goto done;
	f->st.packs++;

	if (mlv_pack_read_index(&pf, &e, &nr, &sum)) {
		int trunc = is_truncated(&pf);

		problem(f, trunc ? "truncated" : "corrupt", name, "%s", mlv_error_last());
		damaged = 1;
	} else if (strncmp(name + 5, mlv_oid_hex(&sum), MLV_OID_HEXSZ)) {
		problem(f, "corrupt", name, "pack '%s': name does not match its checksum", name);
	} else {
		f->st.objects += nr;
		bad = verify_records(f, &pf, e, nr);
		if (bad)
			damaged = 1;
		else if (f->st.problems == p0) {
			MLV_ALLOC_GROW(f->intact, f->nintact + 1, f->intact_alloc);
			f->intact[f->nintact++] = mlv_strdup(name);
		}
	}

	/* Index rows of this pack must point at its records. */
	if (row) {
		rows_of(f, row->id, &b, &end);
		for (size_t i = b; i < end; i++) {
			struct row *r = &f->rows[i];
			const struct mlv_pack_entry *pe = e ? find_entry(e, nr, &r->id) : NULL;
			int dangling;

			if (e)
				dangling = !pe || pe->offset != r->offset;
			else
				dangling = r->offset > pf.size ||
					   pf.size - r->offset < MLV_PACK_REC_HDR_SIZE + r->stored_len;
			if (!dangling && pe && pe->type != r->type) {
				/* Readers walk an object by the row's type: it must be the record's. */
				problem(f, "dangling", mlv_oid_hex(&r->id),
					"index row calls the %s at offset %llu of pack '%s' a %s",
					mlv_store_name(f->s, (enum mlv_object_type)pe->type),
					(unsigned long long)r->offset, name,
					mlv_store_name(f->s, (enum mlv_object_type)r->type));
			} else if (!dangling) {
				continue;
			} else {
				problem(f, "dangling", mlv_oid_hex(&r->id),
					"index row points to offset %llu of pack '%s', which does not hold it",
					(unsigned long long)r->offset, name);
			}
			if (f->repair && !damaged) {
				if ((ret = delete_row(f, r)))
					goto done;
				f->st.repaired++;
			}
		}
		/*
		 * Every record read back intact: the file is what was indexed,
		 * whatever its mtime says now (see mlv_store_has_blob()).
		 */
		if (!damaged && f->st.problems == p0 &&
		    (ret = mlv_index_set_pack_signature(f->s->ix, row->id, pf.size,
							pack_mtime(f, name))))
			goto done;
	}

	if (damaged && f->repair) {
		size_t saved, lost;
		uint64_t stop = pf.size;

		if (e && nr) {
			stop = MLV_PACK_HDR_SIZE;
			for (size_t i = 0; i < nr; i++)
				if (e[i].offset + MLV_PACK_REC_HDR_SIZE + e[i].stored_len > stop)
					stop = e[i].offset + MLV_PACK_REC_HDR_SIZE + e[i].stored_len;
		}
		/* The pack's own problems are repaired by salvaging; lost objects are not. */
		f->st.repaired += f->st.problems - p0;
		if ((ret = salvage(f, &pf, row, stop, &saved, &lost)))
			goto done;
		if (f->report) {
			char detail[128];

			snprintf(detail, sizeof(detail), "salvaged %zu records into a new pack, lost %zu",
				 saved, lost);
			f->report(f->ctx, "repaired", name, detail);
		}
	} else if (!row && !damaged) {
		ret = check_orphan(f, name, &pf, e, nr);
	}
done:
	if (pf.fd >= 0)
		close(pf.fd);
	free(e);
	return ret;
}

/*
 * Rows lost to a salvage or a dangling-row repair come back from the
 * packs that were verified in full, without moving any existing row.
 */
static int refill_rows(struct fsck *f)
{
	struct mlv_error_state es;
	int ret;

	if (!f->nintact)
		return 0;
	if ((ret = mlv_index_begin(f->s->ix)))
		return ret;
	for (size_t i = 0; i < f->nintact && !ret; i++) {
		struct mlv_pack_file pf = { .fd = -1 };
		struct mlv_pack_entry *e = NULL;
		size_t nr = 0;

		if (!(ret = mlv_store_pack_open(f->s, f->intact[i], &pf)) &&
		    !(ret = mlv_pack_read_index(&pf, &e, &nr, NULL)))
			ret = index_entries(f, f->intact[i], pf.size, pack_mtime(f, f->intact[i]), e,
					    nr);
		if (pf.fd >= 0)
			close(pf.fd);
		free(e);
	}
	if (!ret)
		ret = mlv_index_commit(f->s->ix);
	mlv_error_state_capture(&es, ret);
	if (ret)
		mlv_index_rollback(f->s->ix);
	return mlv_error_state_restore(&es);
}

/*
 * Chunks of a recipe may live in another pack, perhaps one indexed only
 * later in this run (an index being rebuilt): look for them once every
 * pack has been seen.
 */
static int check_later(struct fsck *f)
{
	for (size_t i = 0; i < f->nlater; i++) {
		const struct later *l = &f->later[i];
		struct mlv_index_obj obj;
		int r = mlv_index_lookup(f->s->ix, &l->chunk, &obj);

		if (r < 0)
			return r;
		if (r)
			continue;
		{
			char what[MLV_OID_HEXSZ + 1];

			snprintf(what, sizeof(what), "%s", mlv_oid_hex(&l->blob));
			problem(f, "missing", mlv_oid_hex(&l->chunk),
				"chunk %zu of blob %s is not in the store", l->k, what);
		}
		note_bad(f, &l->blob);
	}
	return 0;
}

static int collect_recipe(void *ctx, int64_t pack_id, const struct mlv_pack_entry *e)
{
	struct fsck *f = ctx;

	if (e->type == MLV_OBJ_RECIPE)
		load_row(f, pack_id, e);
	return 0;
}

/*
 * A recipe's chunks may each be intact and still reassemble to something
 * else than the blob it stands for: read every recipe's blob in full
 * (those with a chunk already reported bad are not reported twice).  A
 * recipe that lies is dropped by a repair: add stores the blob again.
 */
static int check_recipes(struct fsck *f)
{
	struct mlv_buf rec = MLV_BUF_INIT;
	int ret = 0;

	f->nrows = 0;
	mlv_store_pack_close_all(f->s);
	if (f->nbad)
		qsort(f->bad, f->nbad, sizeof(*f->bad), oid_cmp_v);
	if ((ret = mlv_index_for_each_object(f->s->ix, collect_recipe, f)))
		return ret;
	for (size_t i = 0; i < f->nrows; i++) {
		const struct row *r = &f->rows[i];
		char what[MLV_OID_HEXSZ + 1];
		int known = f->nbad && bsearch(&r->id, f->bad, f->nbad, sizeof(*f->bad), oid_cmp_v);

		if (!known && !mlv_store_read(f->s, &r->id, &rec, NULL, MLV_OBJECT_META_MAX)) {
			const unsigned char *p = (const unsigned char *)rec.ptr + MLV_RECIPE_MAGIC_LEN;
			size_t n = (rec.len - MLV_RECIPE_MAGIC_LEN) / MLV_RECIPE_ENTRY_SIZE;

			for (size_t k = 0; k < n && !known && f->nbad; k++, p += MLV_RECIPE_ENTRY_SIZE)
				known = !!bsearch(p + 8, f->bad, f->nbad, sizeof(*f->bad), oid_cmp_v);
		}
		mlv_error_clear();
		if (known)
			continue;
		ret = mlv_store_verify_blob(f->s, &r->id);
		if (ret == MLV_EIO)
			break;
		if (!ret)
			continue;
		snprintf(what, sizeof(what), "%s", mlv_oid_hex(&r->id));
		problem(f, ret == MLV_ENOTFOUND ? "missing" : "corrupt", what, "%s",
			mlv_error_last());
		mlv_error_clear();
		ret = 0;
		if (f->repair) {
			if ((ret = delete_row(f, r)))
				break;
			f->st.repaired++;
		}
	}
	mlv_buf_release(&rec);
	return ret;
}

static int collect_tree(void *ctx, int64_t pack_id, const struct mlv_pack_entry *e)
{
	struct fsck *f = ctx;

	if (e->type == MLV_OBJ_TREE)
		load_row(f, pack_id, e);
	return 0;
}

static int known_bad(struct fsck *f, const struct mlv_oid *id)
{
	return f->nbad && bsearch(id, f->bad, f->nbad, sizeof(*f->bad), oid_cmp_v);
}

/*
 * Every tree must be one that checkout accepts: each entry's object of
 * the right kind and size, symlink targets that can be links
 * (mlv_tree_entry_check(), which checkout's plan applies too).  Objects
 * that are not in the store are left to the pointer checks, which name
 * the paths; a tree cannot be repaired, only reported.
 */
static int check_trees(struct fsck *f)
{
	struct mlv_tree t = MLV_TREE_INIT;
	int ret = 0;

	f->nrows = 0;
	if ((ret = mlv_index_for_each_object(f->s->ix, collect_tree, f)))
		return ret;
	for (size_t i = 0; i < f->nrows && ret != MLV_EIO; i++) {
		char what[MLV_OID_HEXSZ + 1];

		if (known_bad(f, &f->rows[i].id))
			continue;
		snprintf(what, sizeof(what), "%s", mlv_oid_hex(&f->rows[i].id));
		if ((ret = mlv_tree_load(f->s, &f->rows[i].id, what, &t))) {
			if (ret != MLV_EIO)
				problem(f, "corrupt", what, "%s", mlv_error_last());
			continue;
		}
		for (size_t k = 0; k < t.nr && ret != MLV_EIO; k++) {
			const struct mlv_tree_entry *e = &t.entries[k];
			char *path;

			if (known_bad(f, &e->oid))
				continue;
			path = mlv_xstrfmt("tree %s: %s", what, e->name);
			ret = mlv_tree_entry_check(f->s, e, path);
			if (ret && ret != MLV_ENOTFOUND && ret != MLV_EIO)
				problem(f, "corrupt", what, "%s", mlv_error_last());
			free(path);
		}
	}
	mlv_tree_release(&t);
	if (ret != MLV_EIO) {
		mlv_error_clear();
		ret = 0;
	}
	return ret;
}

static int check_temp(struct fsck *f, const char *name)
{
	int ret = mlv_pack_temp_abandoned(f->s->packfd, name, f->repair);

	if (ret <= 0)
		return ret;
	problem(f, "temp", name, "temporary pack left by an interrupted writer");
	if (f->repair)
		f->st.repaired++;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mlv_store_fsck(struct mlv_store *s, int repair, mlv_fsck_report_fn report, void *ctx,
		   struct mlv_fsck_stats *stats)
{
	struct fsck f;
	char **names = NULL;
	size_t nnames = 0, alloc = 0;
	DIR *d = NULL;
	struct dirent *de;
	int ret;

	memset(&f, 0, sizeof(f));
	f.s = s;
	f.repair = repair;
	f.report = report;
	f.ctx = ctx;
	mlv_buf_init(&f.buf, 0);
	mlv_store_pack_close_all(s);
	if ((ret = mlv_pack_reader_init(&f.rd)))
		goto done;
	if (mlv_index_in_transaction(s->ix)) {
		ret = mlv_error_set(MLV_ERROR, "index '%s': fsck inside a transaction", s->dbpath);
		goto done;
	}
	if ((ret = check_quick(&f)) || (ret = load_index(&f)))
		goto done;

	if (!(d = mlv_store_packs_dir(s))) {
		ret = mlv_error_last_code();
		goto done;
	}
	while ((de = readdir(d))) {
		MLV_ALLOC_GROW(names, nnames + 1, alloc);
		names[nnames++] = mlv_strdup(de->d_name);
	}
	closedir(d);
	if (nnames)
		qsort(names, nnames, sizeof(*names), name_cmp);

	for (size_t i = 0; i < nnames; i++) {
		if (!strncmp(names[i], MLV_PACK_TEMP_PREFIX, sizeof(MLV_PACK_TEMP_PREFIX) - 1))
			ret = check_temp(&f, names[i]);
		else if (mlv_pack_name_valid(names[i]))
			ret = check_pack(&f, names[i]);
		if (ret)
			goto done;
	}

	/* Rows whose pack is gone. */
	for (size_t i = 0; i < f.npacks; i++) {
		struct prow *p = &f.packs[i];
		size_t b, end;

		if (p->on_disk)
			continue;
		rows_of(&f, p->id, &b, &end);
		problem(&f, "dangling", p->name, "pack is in the index (%zu objects) but missing",
			end - b);
		if (repair) {
			if ((ret = mlv_index_begin(s->ix)))
				goto done;
			if ((ret = delete_pack_rows(&f, p->id)) || (ret = mlv_index_commit(s->ix))) {
				mlv_index_rollback(s->ix);
				goto done;
			}
			f.st.repaired++;
		}
	}
	/* Rows whose pack row is gone. */
	for (size_t i = 0; i < f.nrows; i++) {
		int known = 0;

		for (size_t k = 0; k < f.npacks && !known; k++)
			known = f.packs[k].id == f.rows[i].pack;
		if (known)
			continue;
		problem(&f, "dangling", mlv_oid_hex(&f.rows[i].id), "index row points to unknown pack %lld",
			(long long)f.rows[i].pack);
		if (repair) {
			if ((ret = delete_row(&f, &f.rows[i])))
				goto done;
			f.st.repaired++;
		}
	}
	if ((repair && (ret = refill_rows(&f))) || (ret = check_later(&f)) ||
	    (ret = check_recipes(&f)) || (ret = check_trees(&f)))
		goto done;
	ret = (int)(f.st.problems - f.st.repaired);
	if (ret < 0)
		ret = 0;
done:
	/* Packs were renamed, replaced or removed: what comes next opens them afresh. */
	mlv_store_pack_close_all(s);
	if (stats)
		*stats = f.st;
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(f.rows);
	free(f.packs);
	free(f.bad);
	free(f.later);
	for (size_t i = 0; i < f.nintact; i++)
		free(f.intact[i]);
	free(f.intact);
	mlv_pack_reader_release(&f.rd);
	mlv_buf_release(&f.buf);
	return ret;
}
