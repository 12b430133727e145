#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "store/chunker.h"
#include "store/store-priv.h"

/*
 * The writer splits work between the caller's thread and one worker:
 *
 *   caller: read(2), FastCDC, SHA-256 of the whole file (the blob id)
 *   worker: SHA-256 of each chunk, dedup, zstd, appending to the pack
 *
 * A file larger than HASHER_MIN moves the SHA-256 of the whole file to a
 * second background thread (the hasher), which reads the same chunk
 * buffers in order: the caller is then left with read(2) and FastCDC,
 * and the three threads share the cores.  A job's buffer is released by
 * whichever of the two threads finishes with it last.
 *
 * Chunks travel in jobs through a FIFO bounded by INFLIGHT_MAX bytes of
 * buffers.  put_fd() returns as soon as its last chunk is queued: the job
 * carrying the last chunk names the blob, and the worker writes the recipe
 * when it gets there.  Errors of the worker are sticky and returned by the
 * next call.
 */
#define INFLIGHT_MAX (32u << 20)
#define READ_SIZE (256u << 10)
#define PROBE_SIZE (64u << 10)
#define FREE_BUFS 4
#define ZSTD_LEVEL 1
#define HASHER_MIN (8u << 20)
/* Store raw unless compression saves at least 1/32 (about 3%). */
#define WORTH_IT(stored, raw) ((stored) <= (raw) - (raw) / 32)

enum {
	J_FIRST = 1,     /* first chunk of a blob */
	J_LAST = 2,      /* last job of a blob: `blob` is set */
	J_KNOWN_ID = 4,  /* `id` is set: no need to hash */
	J_NODATA = 8,    /* no chunk: just finish the blob */
	J_TREE = 16,
};

struct job {
	struct job *next;
	struct job *hnext; /* in the hasher's queue */
	int refs;          /* queues still holding the job */
	unsigned flags;
	unsigned char *data;
	size_t len, alloc;
	struct mlv_oid id;
	struct mlv_oid blob;
};

/* The ids written to this writer's uncommitted packs. */
struct oidset {
	struct mlv_oid *slots;
	unsigned char *used;
	size_t nr, cap;
};

struct mlv_store_writer {
	struct mlv_store *s;

	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv_work;   /* worker waits for jobs */
	pthread_cond_t cv_caller; /* caller waits for room or for idle */
	struct job *head, *tail;
	size_t inflight;
	int busy, stop;
	unsigned char *freebufs[FREE_BUFS];
	int nfree;
	int err;
	char errmsg[1024];
	uint64_t bytes_written;

	/* caller side */
	struct mlv_hash chash;

	/* hasher side: the whole-file SHA-256 of large files */
	pthread_t hthread;
	int hstarted, hstop, hready;
	pthread_cond_t cv_hash;
	struct job *hhead, *htail;
	struct mlv_hash fhash;
	struct mlv_oid fblob;

	/* worker side */
	struct mlv_index *wix;
	struct mlv_pack_reader wrd;
	struct mlv_pack_file wpf; /* the last pack read to compare a stored copy */
	int64_t wpf_id;           /* 0: none open */
	struct mlv_hash whash;
	ZSTD_CCtx *cctx;
	unsigned char *cbuf;
	size_t cbuf_size;
	struct mlv_buf recipe;
	size_t file_chunks;
	struct mlv_pack_writer *cur;
	struct mlv_pack_writer **sealed;
	size_t nsealed, sealed_alloc;
	struct oidset set;     /* written to this writer's packs */
	struct oidset reused;  /* found intact in the store: used_ns refreshed on commit */
	struct oidset replace; /* written again because the stored copy is bad */
};

static size_t oid_slot(const struct mlv_oid *id, size_t cap)
{
	uint64_t h;

	memcpy(&h, id->id, sizeof(h));
	return (size_t)(h & (cap - 1));
}

static int oidset_has(const struct oidset *set, const struct mlv_oid *id)
{
	if (!set->cap)
		return 0;
	for (size_t i = oid_slot(id, set->cap); set->used[i]; i = (i + 1) & (set->cap - 1))
		if (!mlv_oid_cmp(&set->slots[i], id))
			return 1;
	return 0;
}

static void oidset_add(struct oidset *set, const struct mlv_oid *id)
{
	size_t i;

	if ((set->nr + 1) * 2 > set->cap) {
		struct oidset big;

		big.cap = set->cap ? set->cap * 2 : 1024;
		big.nr = 0;
		big.slots = mlv_malloc(big.cap * sizeof(*big.slots));
		big.used = mlv_calloc(big.cap, 1);
		for (size_t j = 0; j < set->cap; j++)
			if (set->used[j])
				oidset_add(&big, &set->slots[j]);
		free(set->slots);
		free(set->used);
		*set = big;
	}
	for (i = oid_slot(id, set->cap); set->used[i]; i = (i + 1) & (set->cap - 1))
		if (!mlv_oid_cmp(&set->slots[i], id))
			return;
	set->used[i] = 1;
	set->slots[i] = *id;
	set->nr++;
}

static void oidset_clear(struct oidset *set)
{
	free(set->slots);
	free(set->used);
	memset(set, 0, sizeof(*set));
}

/* Worker side. */

static void set_worker_error(struct mlv_store_writer *w, int code)
{
	pthread_mutex_lock(&w->mu);
	if (!w->err) {
		w->err = code;
		snprintf(w->errmsg, sizeof(w->errmsg), "%s", mlv_error_last());
	}
	pthread_mutex_unlock(&w->mu);
}

static int seal_current(struct mlv_store_writer *w)
{
	int ret;

	if (!w->cur)
		return 0;
	if (!mlv_pack_writer_count(w->cur)) {
		mlv_pack_writer_free(w->cur);
		w->cur = NULL;
		return 0;
	}
	if ((ret = mlv_pack_writer_seal(w->cur)))
		return ret;
	MLV_ALLOC_GROW(w->sealed, w->nsealed + 1, w->sealed_alloc);
	w->sealed[w->nsealed++] = w->cur;
	w->cur = NULL;
	return 0;
}

/*
 * Is `id` already stored, in a record that holds exactly these bytes?
 * Reading the stored copy back (and decompressing it) costs less than
 * writing it again, and a copy damaged since it was written must not
 * stand for new data: then the object is written again and its index row
 * moves to the new record on commit.  1 reuse, 0 write, <0 error.
 */
static int present_intact(struct mlv_store_writer *w, int type, const struct mlv_oid *id,
			  const unsigned char *data, size_t len)
{
	struct mlv_index_obj obj;
	struct mlv_pack_entry want;
	int ret = mlv_index_lookup(w->wix, id, &obj);

	if (ret <= 0)
		return ret;
	if (oidset_has(&w->reused, id))
		return 1;
	if (!obj.pack[0] || obj.type != type)
		goto replace;
	if (w->wpf_id != obj.pack_id || strcmp(w->wpf.name, obj.pack)) {
		if (w->wpf_id)
			close(w->wpf.fd);
		w->wpf_id = 0;
		if ((ret = mlv_store_pack_open(w->s, obj.pack, &w->wpf))) {
			if (ret == MLV_EIO)
				return ret;
			mlv_error_clear();
			goto replace;
		}
		w->wpf_id = obj.pack_id;
	}
	want.id = *id;
	want.offset = obj.offset;
	want.type = (uint8_t)type;
	if ((ret = mlv_pack_record_equals(&w->wrd, &w->wpf, &want, data, len)) < 0)
		return ret;
	if (ret) {
		oidset_add(&w->reused, id);
		return 1;
	}
	mlv_error_clear();
replace:
	oidset_add(&w->replace, id);
	return 0;
}

static int store_object(struct mlv_store_writer *w, int type, const struct mlv_oid *id,
			const unsigned char *data, size_t len)
{
	const void *stored = data;
	size_t stored_len = len;
	int comp = MLV_COMP_RAW, ret;

	if (oidset_has(&w->set, id))
		return 0;
	if ((ret = present_intact(w, type, id, data, len)))
		return ret < 0 ? ret : 0;

	if (len >= 64) {
		int worth = 1;

		if (len >= 2 * PROBE_SIZE) {
			size_t r = ZSTD_compressCCtx(w->cctx, w->cbuf, w->cbuf_size,
						     data + len / 2 - PROBE_SIZE / 2, PROBE_SIZE, 1);

			worth = !ZSTD_isError(r) && WORTH_IT(r, PROBE_SIZE);
		}
		if (worth) {
			size_t bound = ZSTD_compressBound(len), r;

			if (bound > w->cbuf_size) {
				free(w->cbuf);
				w->cbuf_size = bound;
				w->cbuf = mlv_malloc(bound);
			}
			r = ZSTD_compressCCtx(w->cctx, w->cbuf, w->cbuf_size, data, len, ZSTD_LEVEL);
			if (!ZSTD_isError(r) && WORTH_IT(r, len)) {
				stored = w->cbuf;
				stored_len = r;
				comp = MLV_COMP_ZSTD;
			}
		}
	}
	if (!w->cur && (ret = mlv_pack_writer_open(&w->cur, w->s->packfd, w->s->packdir)))
		return ret;
	if ((ret = mlv_pack_writer_add(w->cur, id, type, comp, stored, stored_len, len)))
		return ret;
	oidset_add(&w->set, id);
	__atomic_add_fetch(&w->bytes_written, MLV_PACK_REC_HDR_SIZE + stored_len, __ATOMIC_RELAXED);
	if (w->cbuf_size > 2 * ZSTD_compressBound(MLV_CHUNK_MAX)) {
		free(w->cbuf);
		w->cbuf_size = ZSTD_compressBound(MLV_CHUNK_MAX);
		w->cbuf = mlv_malloc(w->cbuf_size);
	}
	if (mlv_pack_writer_size(w->cur) >= MLV_PACK_ROLLOVER)
		return seal_current(w);
	return 0;
}

static int finish_blob(struct mlv_store_writer *w, const struct mlv_oid *blob)
{
	size_t n = w->file_chunks;

	w->file_chunks = 0;
	if (n < 2)
		return 0;
	return store_object(w, MLV_OBJ_RECIPE, blob, (unsigned char *)w->recipe.ptr, w->recipe.len);
}

static int run_job(struct mlv_store_writer *w, struct job *j)
{
	struct mlv_oid id;
	int ret;

	if (j->flags & J_NODATA)
		return finish_blob(w, &j->blob);
	if (j->flags & J_KNOWN_ID) {
		id = j->id;
	} else {
		mlv_hash_update(&w->whash, j->data, j->len);
		mlv_hash_final(&id, &w->whash);
	}
	if (j->flags & J_TREE)
		return store_object(w, MLV_OBJ_TREE, &id, j->data, j->len);
	if (j->flags & J_FIRST) {
		mlv_buf_reset(&w->recipe);
		mlv_buf_add(&w->recipe, MLV_RECIPE_MAGIC, MLV_RECIPE_MAGIC_LEN);
		w->file_chunks = 0;
	}
	{
		unsigned char ent[MLV_RECIPE_ENTRY_SIZE];

		mlv_put_be64(ent, j->len);
		memcpy(ent + 8, id.id, MLV_OID_RAWSZ);
		mlv_buf_add(&w->recipe, ent, sizeof(ent));
		w->file_chunks++;
	}
	if ((ret = store_object(w, MLV_OBJ_CHUNK, &id, j->data, j->len)))
		return ret;
	if (j->flags & J_LAST)
		return finish_blob(w, &j->blob);
	return 0;
}

/* Called with the mutex held. */
static void release_buf(struct mlv_store_writer *w, unsigned char *buf, size_t alloc)
{
	if (alloc == MLV_CHUNK_MAX && w->nfree < FREE_BUFS)
		w->freebufs[w->nfree++] = buf;
	else
		free(buf);
}

/* Called with the mutex held: one queue is done with `j`. */
static void release_job(struct mlv_store_writer *w, struct job *j)
{
	if (--j->refs > 0)
		return;
	w->inflight -= j->alloc;
	release_buf(w, j->data, j->alloc);
	free(j);
	pthread_cond_broadcast(&w->cv_caller);
}

/*
 * The hasher: feeds the chunks of a large file to the whole-file hash in
 * order.  A job without data ends the file: the id is published in fblob.
 */
static void *hasher_main(void *arg)
{
	struct mlv_store_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct job *j;

		while (!w->hhead && !w->hstop)
			pthread_cond_wait(&w->cv_hash, &w->mu);
		if (!w->hhead)
			break;
		j = w->hhead;
		w->hhead = j->hnext;
		if (!w->hhead)
			w->htail = NULL;
		pthread_mutex_unlock(&w->mu);

		if (j->data)
			mlv_hash_update(&w->fhash, j->data, j->len);
		else
			mlv_hash_final(&w->fblob, &w->fhash);

		pthread_mutex_lock(&w->mu);
		if (j->data) {
			release_job(w, j);
		} else {
			free(j);
			w->hready = 1;
			pthread_cond_broadcast(&w->cv_caller);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Called with the mutex held. */
static void hasher_push(struct mlv_store_writer *w, struct job *j)
{
	j->hnext = NULL;
	if (w->htail)
		w->htail->hnext = j;
	else
		w->hhead = j;
	w->htail = j;
	pthread_cond_signal(&w->cv_hash);
}

static void *worker_main(void *arg)
{
	struct mlv_store_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct job *j;
		int failed;

		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cv_work, &w->mu);
		if (!w->head)
			break;
		j = w->head;
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		w->busy = 1;
		failed = w->err;
		pthread_mutex_unlock(&w->mu);

		if (!failed) {
			int ret = run_job(w, j);

			if (ret)
				set_worker_error(w, ret);
		}

		pthread_mutex_lock(&w->mu);
		w->busy = 0;
		release_job(w, j);
		pthread_cond_broadcast(&w->cv_caller);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Caller side. */

static int check_error(struct mlv_store_writer *w)
{
	int ret;

	pthread_mutex_lock(&w->mu);
	ret = w->err;
	if (ret)
		mlv_error_set(ret, "%s", w->errmsg);
	pthread_mutex_unlock(&w->mu);
	return ret;
}

static unsigned char *get_buf(struct mlv_store_writer *w, size_t size)
{
	unsigned char *p = NULL;

	if (size == MLV_CHUNK_MAX) {
		pthread_mutex_lock(&w->mu);
		if (w->nfree)
			p = w->freebufs[--w->nfree];
		pthread_mutex_unlock(&w->mu);
	}
	return p ? p : mlv_malloc(size ? size : 1);
}

/* Queue a job for the worker and, with `hash`, for the hasher too. */
static void submit_to(struct mlv_store_writer *w, unsigned flags, unsigned char *data, size_t len,
		      size_t alloc, const struct mlv_oid *id, const struct mlv_oid *blob, int hash)
{
	struct job *j = mlv_calloc(1, sizeof(*j));

	j->flags = flags;
	j->data = data;
	j->len = len;
	j->alloc = alloc;
	if (id)
		j->id = *id;
	if (blob)
		j->blob = *blob;
	j->refs = hash ? 2 : 1;
	pthread_mutex_lock(&w->mu);
	while (w->inflight && w->inflight + alloc > INFLIGHT_MAX)
		pthread_cond_wait(&w->cv_caller, &w->mu);
	w->inflight += alloc;
	if (hash)
		hasher_push(w, j);
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_signal(&w->cv_work);
	pthread_mutex_unlock(&w->mu);
}

static void submit(struct mlv_store_writer *w, unsigned flags, unsigned char *data, size_t len,
		   size_t alloc, const struct mlv_oid *id, const struct mlv_oid *blob)
{
	submit_to(w, flags, data, len, alloc, id, blob, 0);
}

/* The hasher's id for the file whose chunks it was given. */
static void hasher_finish(struct mlv_store_writer *w, struct mlv_oid *out)
{
	struct job *end = mlv_calloc(1, sizeof(*end));

	pthread_mutex_lock(&w->mu);
	w->hready = 0;
	hasher_push(w, end);
	while (!w->hready)
		pthread_cond_wait(&w->cv_caller, &w->mu);
	*out = w->fblob;
	pthread_mutex_unlock(&w->mu);
}

static void drain(struct mlv_store_writer *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->head || w->busy)
		pthread_cond_wait(&w->cv_caller, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

struct source {
	int fd;
	const unsigned char *data;
	size_t len, pos;
	const char *path;
};

static ssize_t source_read(struct source *src, void *dst, size_t n)
{
	if (src->fd < 0) {
		if (n > src->len - src->pos)
			n = src->len - src->pos;
		if (n)
			memcpy(dst, src->data + src->pos, n);
		src->pos += n;
		return (ssize_t)n;
	}
	for (;;) {
		ssize_t r = read(src->fd, dst, n);

		if (r >= 0 || errno != EINTR)
			return r;
	}
}

static int put_stream(struct mlv_store_writer *w, struct mlv_oid *id_out, uint64_t *size_out,
		      struct source *src, uint64_t hint)
{
	struct mlv_chunker c;
	struct mlv_oid blob;
	size_t cap = hint < MLV_CHUNK_MAX ? (size_t)hint + 1 : MLV_CHUNK_MAX;
	unsigned char *buf;
	size_t len = 0, nchunks = 0;
	uint64_t total = 0;
	int ret, split = w->hstarted && hint >= HASHER_MIN;

	if ((ret = check_error(w)))
		return ret;
	mlv_chunker_init(&c);
	buf = get_buf(w, cap);
	for (;;) {
		size_t want, pos;
		ssize_t n;

		if (len == cap) {
			/* The file grew since fstat(): up to a whole chunk. */
			size_t ncap = cap < READ_SIZE / 2 ? READ_SIZE : cap * 2;
			unsigned char *nbuf;

			if (ncap > MLV_CHUNK_MAX)
				ncap = MLV_CHUNK_MAX;
			nbuf = get_buf(w, ncap);

			memcpy(nbuf, buf, len);
			free(buf);
			buf = nbuf;
			cap = ncap;
		}
		want = cap - len < READ_SIZE ? cap - len : READ_SIZE;
		n = source_read(src, buf + len, want);
		if (n < 0) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot read '%s'", src->path);
			free(buf);
			if (split && nchunks)
				hasher_finish(w, &blob);
			mlv_hash_final(&blob, &w->chash);
			return ret;
		}
		if (!n)
			break;
		if (!split)
			mlv_hash_update(&w->chash, buf + len, (size_t)n);
		total += (uint64_t)n;
		pos = len;
		len += (size_t)n;
		while (pos < len) {
			unsigned char *nbuf;
			int cut;

			pos += mlv_chunker_next(&c, buf + pos, len - pos, &cut);
			if (!cut)
				break;
			nbuf = get_buf(w, MLV_CHUNK_MAX);
			memcpy(nbuf, buf + pos, len - pos);
			submit_to(w, nchunks ? 0 : J_FIRST, buf, pos, cap, NULL, NULL, split);
			nchunks++;
			buf = nbuf;
			cap = MLV_CHUNK_MAX;
			len -= pos;
			pos = 0;
		}
	}
	if (split && !nchunks) {
		/* Shorter than it looked: one chunk, hashed here. */
		mlv_hash_update(&w->chash, buf, len);
		split = 0;
	}
	if (split) {
		if (len)
			submit_to(w, 0, buf, len, cap, NULL, NULL, 1);
		else
			free(buf);
		hasher_finish(w, &blob);
		submit(w, J_LAST | J_NODATA, NULL, 0, 0, NULL, &blob);
	} else {
		mlv_hash_final(&blob, &w->chash);
		if (!nchunks)
			submit(w, J_FIRST | J_LAST | J_KNOWN_ID, buf, len, cap, &blob, &blob);
		else if (len)
			submit(w, J_LAST, buf, len, cap, NULL, &blob);
		else
			submit(w, J_LAST | J_NODATA, buf, 0, cap, NULL, &blob);
	}
	if (id_out)
		*id_out = blob;
	if (size_out)
		*size_out = total;
	return 0;
}

int mlv_store_writer_put_fd(struct mlv_store_writer *w, struct mlv_oid *id_out,
			    uint64_t *size_out, int fd, const char *path_for_errors)
{
	struct source src = { fd, NULL, 0, 0, path_for_errors ? path_for_errors : "(fd)" };
	uint64_t hint = MLV_CHUNK_MAX;
	struct stat st;

	if (!fstat(fd, &st) && S_ISREG(st.st_mode)) {
		off_t cur = lseek(fd, 0, SEEK_CUR);

		if (cur >= 0 && cur <= st.st_size)
			hint = (uint64_t)(st.st_size - cur);
	}
	return put_stream(w, id_out, size_out, &src, hint);
}

int mlv_store_writer_put_buf(struct mlv_store_writer *w, struct mlv_oid *id_out,
			     const void *data, size_t len)
{
	struct source src = { -1, data, len, 0, "(buffer)" };

	return put_stream(w, id_out, NULL, &src, len);
}

int mlv_store_writer_put_tree(struct mlv_store_writer *w, struct mlv_oid *id_out,
			      const void *data, size_t len)
{
	unsigned char *copy;
	struct mlv_oid id;
	int ret;

	if ((ret = check_error(w)))
		return ret;
	if (len > MLV_OBJECT_META_MAX)
		return mlv_error_set(MLV_EINVALID, "tree of %zu bytes is larger than the limit", len);
	mlv_hash_update(&w->chash, data, len);
	mlv_hash_final(&id, &w->chash);
	copy = mlv_malloc(len ? len : 1);
	if (len)
		memcpy(copy, data, len);
	submit(w, J_TREE | J_KNOWN_ID, copy, len, len ? len : 1, &id, NULL);
	if (id_out)
		*id_out = id;
	return 0;
}

uint64_t mlv_store_writer_bytes_written(struct mlv_store_writer *w)
{
	return __atomic_load_n(&w->bytes_written, __ATOMIC_RELAXED);
}

static void drop_packs(struct mlv_store_writer *w)
{
	for (size_t i = 0; i < w->nsealed; i++)
		mlv_pack_writer_free(w->sealed[i]);
	w->nsealed = 0;
	mlv_pack_writer_free(w->cur);
	w->cur = NULL;
	oidset_clear(&w->set);
	oidset_clear(&w->reused);
	oidset_clear(&w->replace);
}

/*
 * One transaction: the new packs and their objects, and the used_ns of
 * the objects that were reused.  The stat cache lives in its own
 * database: a batch open there is not affected.
 */
/*
 * Read record `e` back from the sealed pack `name` and check it (header,
 * id, size, hash), before an index row moves to it.
 */
static int verify_written(struct mlv_store_writer *w, const char *name,
			  const struct mlv_pack_entry *e)
{
	struct mlv_buf raw = MLV_BUF_INIT;
	struct mlv_pack_file pf;
	int ret;

	if ((ret = mlv_store_pack_open(w->s, name, &pf)))
		return ret;
	ret = mlv_pack_read_record(&w->wrd, &pf, e->offset, &e->id, e->raw_len, &raw, NULL);
	close(pf.fd);
	mlv_buf_release(&raw);
	return ret;
}

static int index_packs(struct mlv_store_writer *w, char (*names)[MLV_PACK_NAME_MAX])
{
	struct mlv_index *ix = w->s->ix;
	struct mlv_error_state es;
	int64_t now = mlv_now_ns();
	int ret;

	if ((ret = mlv_index_begin(ix)))
		return ret;
	for (size_t i = 0; i < w->nsealed; i++) {
		const struct mlv_pack_entry *e;
		int64_t pack_id;
		size_t nr;

		e = mlv_pack_writer_entries(w->sealed[i], &nr);
		if ((ret = mlv_index_add_pack(ix, names[i], mlv_pack_writer_size(w->sealed[i]), nr,
					      mlv_pack_writer_mtime_ns(w->sealed[i]), &pack_id)) ||
		    /* The same name again: a twin that replaced a damaged file. */
		    (ret = mlv_index_set_pack_signature(ix, pack_id, mlv_pack_writer_size(w->sealed[i]),
							mlv_pack_writer_mtime_ns(w->sealed[i]))))
			goto done;
		for (size_t k = 0; k < nr; k++) {
			/*
			 * A copy we just wrote replaces one found bad, once it
			 * reads back intact; others never move a row.
			 */
			if (oidset_has(&w->replace, &e[k].id)) {
				if (!(ret = verify_written(w, names[i], &e[k])))
					ret = mlv_index_move_object(ix, pack_id, &e[k]);
			} else {
				ret = mlv_index_add_object(ix, pack_id, &e[k]);
			}
			if (ret)
				goto done;
		}
	}
	for (size_t i = 0; i < w->reused.cap; i++)
		if (w->reused.used[i] &&
		    (ret = mlv_index_touch_object(ix, &w->reused.slots[i], now)))
			goto done;
	ret = mlv_index_commit(ix);
done:
	mlv_error_state_capture(&es, ret);
	if (ret)
		mlv_index_rollback(ix);
	return mlv_error_state_restore(&es);
}

int mlv_store_writer_commit(struct mlv_store_writer *w)
{
	char (*names)[MLV_PACK_NAME_MAX] = NULL;
	int ret, publishing = 0;

	drain(w);
	if ((ret = check_error(w)))
		return ret;
	if ((ret = seal_current(w)))
		goto done;
	if (!w->nsealed && !w->reused.nr)
		goto done;
	/*
	 * From the first rename until the rows are committed, a pack is in
	 * packs/ and not in the index: say so (see index_lost() in store.c).
	 */
	if (w->nsealed) {
		if ((ret = mlv_store_lock(w->s, MLV_STORE_LOCK_PUBLISH, F_RDLCK,
					  MLV_STORE_LOCK_WAIT_MS))) {
			if (ret > 0)
				ret = mlv_error_set(MLV_EIO, "cannot lock '%s': another mlv process holds it",
						    w->s->lockpath);
			goto done;
		}
		publishing = 1;
	}
	names = mlv_calloc(w->nsealed ? w->nsealed : 1, sizeof(*names));
	for (size_t i = 0; i < w->nsealed; i++)
		if ((ret = mlv_pack_writer_publish(w->sealed[i], names[i])))
			goto done;
	if (w->nsealed && fsync(w->s->packfd) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot fsync '%s'", w->s->packdir);
		goto done;
	}
	/*
	 * A pack of the same records has the same name: one rewritten to
	 * replace a damaged copy takes its place, so a cached fd would read
	 * the old file.
	 */
	for (size_t i = 0; i < w->nsealed; i++)
		mlv_store_pack_forget(w->s, names[i]);
	if ((ret = index_packs(w, names)))
		goto done;
	drop_packs(w);
done:
	if (publishing)
		mlv_store_lock(w->s, MLV_STORE_LOCK_PUBLISH, F_UNLCK, 0);
	free(names);
	if (ret) {
		pthread_mutex_lock(&w->mu);
		if (!w->err) {
			w->err = ret;
			snprintf(w->errmsg, sizeof(w->errmsg), "%s", mlv_error_last());
		}
		pthread_mutex_unlock(&w->mu);
	}
	return ret;
}

int mlv_store_writer_new(struct mlv_store_writer **out, struct mlv_store *s)
{
	struct mlv_store_writer *w = mlv_calloc(1, sizeof(*w));
	int ret;

	*out = NULL;
	w->s = s;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv_work, NULL);
	pthread_cond_init(&w->cv_caller, NULL);
	pthread_cond_init(&w->cv_hash, NULL);
	mlv_buf_init(&w->recipe, 0);
	if ((ret = mlv_hash_init(&w->chash)) || (ret = mlv_hash_init(&w->whash)) ||
	    (ret = mlv_hash_init(&w->fhash)))
		goto done;
	if ((ret = mlv_index_open(&w->wix, s->dbpath, NULL)) || (ret = mlv_pack_reader_init(&w->wrd)))
		goto done;
	if (!(w->cctx = ZSTD_createCCtx())) {
		ret = mlv_error_set(MLV_ERROR, "cannot create zstd context");
		goto done;
	}
	w->cbuf_size = ZSTD_compressBound(MLV_CHUNK_MAX);
	w->cbuf = mlv_malloc(w->cbuf_size);
	if ((ret = pthread_create(&w->thread, NULL, worker_main, w))) {
		errno = ret;
		ret = mlv_error_set_errno(MLV_ERROR, "cannot start writer thread");
		goto done;
	}
	w->started = 1;
	/* Without a hasher, large files are hashed by the caller: slower, not wrong. */
	w->hstarted = !pthread_create(&w->hthread, NULL, hasher_main, w);
done:
	if (ret)
		mlv_store_writer_free(w);
	else
		*out = w;
	return ret;
}

void mlv_store_writer_free(struct mlv_store_writer *w)
{
	if (!w)
		return;
	if (w->hstarted) {
		/* The hasher finishes its queue, releasing its share of each job. */
		pthread_mutex_lock(&w->mu);
		w->hstop = 1;
		pthread_cond_signal(&w->cv_hash);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->hthread, NULL);
	}
	pthread_mutex_lock(&w->mu);
	while (w->head) {
		struct job *j = w->head;

		w->head = j->next;
		w->inflight -= j->alloc;
		free(j->data);
		free(j);
	}
	w->tail = NULL;
	w->stop = 1;
	pthread_cond_signal(&w->cv_work);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	drop_packs(w);
	for (int i = 0; i < w->nfree; i++)
		free(w->freebufs[i]);
	free(w->sealed);
	mlv_index_free(w->wix);
	if (w->wpf_id)
		close(w->wpf.fd);
	mlv_pack_reader_release(&w->wrd);
	ZSTD_freeCCtx(w->cctx);
	free(w->cbuf);
	mlv_buf_release(&w->recipe);
	mlv_hash_release(&w->chash);
	mlv_hash_release(&w->whash);
	mlv_hash_release(&w->fhash);
	pthread_cond_destroy(&w->cv_hash);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv_work);
	pthread_cond_destroy(&w->cv_caller);
	free(w);
}

int mlv_blob_hash_fd(struct mlv_oid *out, uint64_t *size_out, int fd, const char *path_for_errors)
{
	struct mlv_hash h;
	unsigned char *buf;
	uint64_t total = 0;
	int ret;

	if ((ret = mlv_hash_init(&h)))
		return ret;
	buf = mlv_malloc(READ_SIZE);
	for (;;) {
		ssize_t n = read(fd, buf, READ_SIZE);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = mlv_error_set_errno(MLV_EIO, "cannot read '%s'",
						  path_for_errors ? path_for_errors : "(fd)");
			goto done;
		}
		if (!n)
			break;
		mlv_hash_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	mlv_hash_final(out, &h);
	if (size_out)
		*size_out = total;
done:
	free(buf);
	mlv_hash_release(&h);
	return ret;
}
