#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/tempfile.h"
#include "store/pack.h"

#define WBUF_SIZE (1u << 20)

#define WRITEBACK_STEP (8u << 20)

struct mlv_pack_writer {
	int fd;
	int sealed, published;
	int dirfd;     /* the packs directory (not owned) */
	char *dir;     /* its path, for messages */
	char *tmpname; /* in dirfd */
	char *tmppath; /* for messages */
	struct mlv_tempfile *tmp; /* registered until published or removed */
	int64_t mtime_ns;
	uint64_t size; /* bytes written or buffered */
	uint64_t flushed; /* bytes handed to writeback so far */
	unsigned char *wbuf;
	size_t wlen;
	struct mlv_pack_entry *entries;
	size_t nr, alloc;
	struct mlv_oid checksum;
};

uint64_t mlv_pack_type_max(int type)
{
	switch (type) {
	case MLV_OBJ_CHUNK:
		return MLV_CHUNK_MAX;
	case MLV_OBJ_RECIPE:
	case MLV_OBJ_TREE:
		return MLV_OBJECT_META_MAX;
	}
	return 0;
}

int mlv_pack_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len != 5 + MLV_OID_HEXSZ + 8 || memcmp(name, "pack-", 5) ||
	    strcmp(name + 5 + MLV_OID_HEXSZ, ".mlvpack"))
		return 0;
	for (size_t i = 5; i < 5 + MLV_OID_HEXSZ; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return 1;
}

void mlv_pack_rechdr_encode(unsigned char out[MLV_PACK_REC_HDR_SIZE], const struct mlv_pack_entry *e)
{
	out[0] = e->type;
	out[1] = e->comp;
	out[2] = out[3] = 0;
	mlv_put_be64(out + 4, e->stored_len);
	mlv_put_be64(out + 12, e->raw_len);
	memcpy(out + 20, e->id.id, MLV_OID_RAWSZ);
}

static int check_entry(const struct mlv_pack_entry *e, const char *pack, uint64_t offset)
{
	uint64_t max = mlv_pack_type_max(e->type);

	if (!max)
		return mlv_error_set(MLV_ECORRUPT, "pack '%s': record at offset %llu: unknown type %u",
				     pack, (unsigned long long)offset, e->type);
	if (e->comp != MLV_COMP_RAW && e->comp != MLV_COMP_ZSTD)
		return mlv_error_set(MLV_ECORRUPT,
				     "pack '%s': record at offset %llu: unknown compression %u",
				     pack, (unsigned long long)offset, e->comp);
	if (e->raw_len > max)
		return mlv_error_set(MLV_ECORRUPT,
				     "pack '%s': record at offset %llu: size %llu exceeds the limit",
				     pack, (unsigned long long)offset, (unsigned long long)e->raw_len);
	if (e->comp == MLV_COMP_RAW ? e->stored_len != e->raw_len : e->stored_len > e->raw_len ||
								    !e->stored_len)
		return mlv_error_set(MLV_ECORRUPT,
				     "pack '%s': record at offset %llu: bad stored length %llu",
				     pack, (unsigned long long)offset,
				     (unsigned long long)e->stored_len);
	return 0;
}

int mlv_pack_rechdr_decode(struct mlv_pack_entry *e, const unsigned char in[MLV_PACK_REC_HDR_SIZE],
			   const char *pack, uint64_t offset)
{
	e->type = in[0];
	e->comp = in[1];
	if (in[2] || in[3])
		return mlv_error_set(MLV_ECORRUPT, "pack '%s': record at offset %llu: bad header",
				     pack, (unsigned long long)offset);
	e->stored_len = mlv_get_be64(in + 4);
	e->raw_len = mlv_get_be64(in + 12);
	memcpy(e->id.id, in + 20, MLV_OID_RAWSZ);
	return check_entry(e, pack, offset);
}

/* Writing. */

static int wflush(struct mlv_pack_writer *pw)
{
	int ret = 0;

	if (pw->wlen)
		ret = mlv_write_all(pw->fd, pw->wbuf, pw->wlen, pw->tmppath);
	pw->wlen = 0;
	return ret;
}

static int wadd(struct mlv_pack_writer *pw, const void *data, size_t len)
{
	int ret;

	if (len > WBUF_SIZE - pw->wlen) {
		if ((ret = wflush(pw)))
			return ret;
		if (len >= WBUF_SIZE / 2)
			return mlv_write_all(pw->fd, data, len, pw->tmppath);
	}
	memcpy(pw->wbuf + pw->wlen, data, len);
	pw->wlen += len;
	return 0;
}

/* Create "tmp-pack-XXXXXX" in `dirfd` (O_EXCL, never through a symlink). */
static int create_temp(struct mlv_pack_writer *pw)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	for (int tries = 0; tries < 100; tries++) {
		unsigned char rnd[6];
		char name[16];
		sigset_t all, old;
		int err;

		if (getentropy(rnd, sizeof(rnd)) < 0)
			return mlv_error_set_errno(MLV_EIO, "cannot get random bytes");
		memcpy(name, "tmp-pack-", 9);
		for (int i = 0; i < 6; i++)
			name[9 + i] = chars[rnd[i] % (sizeof(chars) - 1)];
		name[15] = '\0';
		/*
		 * Registered before any signal can arrive: removed on SIGINT,
		 * SIGTERM...; after a kill -9, by the next command.
		 */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		pw->fd = openat(pw->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				0444);
		err = errno;
		if (pw->fd >= 0)
			pw->tmp = mlv_tempfile_register(pw->dirfd, name);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (pw->fd >= 0) {
			pw->tmpname = mlv_strdup(name);
			pw->tmppath = mlv_xstrfmt("%s/%s", pw->dir, name);
			return 0;
		}
		errno = err;
		if (errno != EEXIST)
			break;
	}
	return mlv_error_set_errno(MLV_EIO, "cannot create temporary pack in '%s'", pw->dir);
}

int mlv_pack_temp_abandoned(int dirfd, const char *name, int remove)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), ret = 0;
	struct stat st, now;

	if (fd < 0)
		return 0;
	/* A writer holds its temporary pack locked for as long as it lives. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto done;
	/* Still this name (not renamed into place meanwhile, nor replaced)? */
	if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) < 0 || now.st_ino != st.st_ino ||
	    now.st_dev != st.st_dev)
		goto done;
	/*
	 * An empty one may be between its creation and its lock: only one
	 * left empty for a while is abandoned.
	 */
	if (!st.st_size && time(NULL) - st.st_mtim.tv_sec < MLV_PACK_TEMP_GRACE_S)
		goto done;
	ret = 1;
	if (remove && unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		ret = mlv_error_set_errno(MLV_EIO, "cannot remove temporary pack '%s'", name);
done:
	close(fd);
	return ret;
}

int mlv_pack_writer_open(struct mlv_pack_writer **out, int dirfd, const char *dir)
{
	struct mlv_pack_writer *pw = mlv_calloc(1, sizeof(*pw));
	unsigned char hdr[MLV_PACK_HDR_SIZE];
	int ret;

	pw->fd = -1;
	pw->dirfd = dirfd;
	pw->dir = mlv_strdup(dir);
	if ((ret = create_temp(pw)))
		goto done;
	if (flock(pw->fd, LOCK_EX | LOCK_NB) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot lock '%s'", pw->tmppath);
		goto done;
	}
	/*
	 * Written at once, not buffered: a temporary pack that is not empty
	 * was locked by its writer first (see mlv_pack_temp_abandoned()).
	 */
	pw->wbuf = mlv_malloc(WBUF_SIZE);
	memcpy(hdr, MLV_PACK_MAGIC, 8);
	mlv_put_be32(hdr + 8, MLV_PACK_VERSION);
	mlv_put_be32(hdr + 12, 0);
	ret = mlv_write_all(pw->fd, hdr, sizeof(hdr), pw->tmppath);
	pw->size = sizeof(hdr);
done:
	if (ret) {
		mlv_pack_writer_free(pw);
		pw = NULL;
	}
	*out = pw;
	return ret;
}

int mlv_pack_writer_add(struct mlv_pack_writer *pw, const struct mlv_oid *id, int type, int comp,
			const void *stored, size_t stored_len, uint64_t raw_len)
{
	unsigned char hdr[MLV_PACK_REC_HDR_SIZE];
	struct mlv_pack_entry *e;
	int ret;

	if (pw->sealed)
		return mlv_error_set(MLV_ERROR, "pack '%s' is already sealed", pw->tmppath);
	MLV_ALLOC_GROW(pw->entries, pw->nr + 1, pw->alloc);
	e = &pw->entries[pw->nr];
	e->id = *id;
	e->offset = pw->size;
	e->stored_len = stored_len;
	e->raw_len = raw_len;
	e->type = (uint8_t)type;
	e->comp = (uint8_t)comp;
	mlv_pack_rechdr_encode(hdr, e);
	if ((ret = wadd(pw, hdr, sizeof(hdr))) || (ret = wadd(pw, stored, stored_len)))
		return mlv_error_wrap(ret, "pack '%s'", pw->tmppath);
	pw->size += sizeof(hdr) + stored_len;
	/*
	 * Start writeback of what is written every WRITEBACK_STEP bytes: the
	 * kernel then never throttles us on a mountain of dirty pages, and
	 * the fsync at the end has little left to do.
	 */
	if (pw->size - pw->wlen - pw->flushed >= WRITEBACK_STEP) {
		uint64_t upto = pw->size - pw->wlen;

		sync_file_range(pw->fd, (off_t)pw->flushed, (off_t)(upto - pw->flushed),
				SYNC_FILE_RANGE_WRITE);
		pw->flushed = upto;
	}
	pw->nr++;
	return 0;
}

uint64_t mlv_pack_writer_size(const struct mlv_pack_writer *pw)
{
	return pw->size;
}

size_t mlv_pack_writer_count(const struct mlv_pack_writer *pw)
{
	return pw->nr;
}

const struct mlv_pack_entry *mlv_pack_writer_entries(const struct mlv_pack_writer *pw, size_t *nr)
{
	*nr = pw->nr;
	return pw->entries;
}

static int entry_cmp(const void *a, const void *b)
{
	return mlv_oid_cmp(&((const struct mlv_pack_entry *)a)->id,
			   &((const struct mlv_pack_entry *)b)->id);
}

static void encode_idx(unsigned char *p, const struct mlv_pack_entry *e)
{
	memcpy(p, e->id.id, MLV_OID_RAWSZ);
	mlv_put_be64(p + 32, e->offset);
	mlv_put_be64(p + 40, e->stored_len);
	mlv_put_be64(p + 48, e->raw_len);
	p[56] = e->type;
	p[57] = e->comp;
	memset(p + 58, 0, 6);
}

int mlv_pack_writer_seal(struct mlv_pack_writer *pw)
{
	unsigned char hdr[MLV_PACK_HDR_SIZE], ent[MLV_PACK_IDX_ENTRY_SIZE], foot[MLV_PACK_FOOTER_SIZE];
	struct mlv_hash h = { NULL };
	uint64_t idx_off = pw->size;
	int ret;

	if (pw->sealed)
		return 0;
	if ((ret = mlv_hash_init(&h)))
		return ret;
	if (pw->nr)
		qsort(pw->entries, pw->nr, sizeof(*pw->entries), entry_cmp);
	memcpy(hdr, MLV_PACK_MAGIC, 8);
	mlv_put_be32(hdr + 8, MLV_PACK_VERSION);
	mlv_put_be32(hdr + 12, 0);
	mlv_hash_update(&h, hdr, sizeof(hdr));
	for (size_t i = 0; i < pw->nr; i++) {
		encode_idx(ent, &pw->entries[i]);
		mlv_hash_update(&h, ent, sizeof(ent));
		if ((ret = wadd(pw, ent, sizeof(ent))))
			goto done;
	}
	mlv_put_be64(foot, idx_off);
	mlv_put_be64(foot + 8, pw->nr);
	memcpy(foot + 16, MLV_PACK_IDX_MAGIC, 8);
	mlv_hash_update(&h, foot, 24);
	mlv_hash_final(&pw->checksum, &h);
	memcpy(foot + 24, pw->checksum.id, MLV_OID_RAWSZ);
	if ((ret = wadd(pw, foot, sizeof(foot))) || (ret = wflush(pw)))
		goto done;
	pw->size += (uint64_t)pw->nr * MLV_PACK_IDX_ENTRY_SIZE + sizeof(foot);
	if (fsync(pw->fd) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot fsync '%s'", pw->tmppath);
		goto done;
	}
	{
		struct stat st;

		if (fstat(pw->fd, &st) < 0) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", pw->tmppath);
			goto done;
		}
		pw->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	}
	pw->sealed = 1;
done:
	mlv_hash_release(&h);
	if (ret)
		mlv_error_wrap(ret, "pack '%s'", pw->tmppath);
	return ret;
}

int mlv_pack_writer_publish(struct mlv_pack_writer *pw, char name_out[MLV_PACK_NAME_MAX])
{
	if (!pw->sealed)
		return mlv_error_set(MLV_ERROR, "pack '%s' is not sealed", pw->tmppath);
	snprintf(name_out, MLV_PACK_NAME_MAX, "pack-%s.mlvpack", mlv_oid_hex(&pw->checksum));
	if (pw->published)
		return 0;
	if (renameat(pw->dirfd, pw->tmpname, pw->dirfd, name_out) < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot rename '%s' to '%s/%s'", pw->tmppath,
					   pw->dir, name_out);
	pw->published = 1;
	mlv_tempfile_forget(pw->tmp);
	pw->tmp = NULL;
	return 0;
}

int64_t mlv_pack_writer_mtime_ns(const struct mlv_pack_writer *pw)
{
	return pw->mtime_ns;
}

void mlv_pack_writer_free(struct mlv_pack_writer *pw)
{
	if (!pw)
		return;
	if (pw->tmp)
		mlv_tempfile_remove(pw->tmp);
	else if (pw->tmpname && !pw->published)
		unlinkat(pw->dirfd, pw->tmpname, 0);
	if (pw->fd >= 0)
		close(pw->fd);
	free(pw->wbuf);
	free(pw->entries);
	free(pw->tmpname);
	free(pw->tmppath);
	free(pw->dir);
	free(pw);
}

/* Reading. */

static int pread_all(int fd, void *buf, size_t len, uint64_t off, const char *name)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mlv_error_set_errno(MLV_EIO, "cannot read pack '%s'", name);
		}
		if (!n)
			return mlv_error_set(MLV_ECORRUPT, "pack '%s': unexpected end of file at %llu",
					     name, (unsigned long long)off);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int mlv_pack_read_index(const struct mlv_pack_file *pf, struct mlv_pack_entry **entries_out,
			size_t *nr_out, struct mlv_oid *checksum_out)
{
	unsigned char hdr[MLV_PACK_HDR_SIZE], foot[MLV_PACK_FOOTER_SIZE];
	struct mlv_pack_entry *entries = NULL;
	unsigned char *idx = NULL;
	struct mlv_hash h = { NULL };
	struct mlv_oid sum;
	uint64_t idx_off, count;
	const char *name = pf->name;
	int ret;

	*entries_out = NULL;
	*nr_out = 0;
	if (pf->size < MLV_PACK_HDR_SIZE + MLV_PACK_FOOTER_SIZE)
		return mlv_error_set(MLV_ECORRUPT, "pack '%s': too short (%llu bytes)", name,
				     (unsigned long long)pf->size);
	if ((ret = pread_all(pf->fd, hdr, sizeof(hdr), 0, name)))
		return ret;
	if (memcmp(hdr, MLV_PACK_MAGIC, 8))
		return mlv_error_set(MLV_ECORRUPT, "pack '%s': bad magic", name);
	if (mlv_get_be32(hdr + 8) != MLV_PACK_VERSION)
		return mlv_error_set(MLV_EUNSUPPORTED, "pack '%s': unsupported version %u", name,
				     mlv_get_be32(hdr + 8));
	if ((ret = pread_all(pf->fd, foot, sizeof(foot), pf->size - sizeof(foot), name)))
		return ret;
	if (memcmp(foot + 16, MLV_PACK_IDX_MAGIC, 8))
		return mlv_error_set(MLV_ECORRUPT, "pack '%s': no index at the end (truncated?)", name);
	idx_off = mlv_get_be64(foot);
	count = mlv_get_be64(foot + 8);
	if (idx_off < MLV_PACK_HDR_SIZE || idx_off > pf->size - sizeof(foot) ||
	    count > (pf->size - sizeof(foot) - idx_off) / MLV_PACK_IDX_ENTRY_SIZE ||
	    idx_off + count * MLV_PACK_IDX_ENTRY_SIZE != pf->size - sizeof(foot))
		return mlv_error_set(MLV_ECORRUPT, "pack '%s': bad index position", name);
	if ((ret = mlv_hash_init(&h)))
		return ret;
	idx = mlv_malloc(count * MLV_PACK_IDX_ENTRY_SIZE + 1);
	if ((ret = pread_all(pf->fd, idx, count * MLV_PACK_IDX_ENTRY_SIZE, idx_off, name)))
		goto done;
	mlv_hash_update(&h, hdr, sizeof(hdr));
	mlv_hash_update(&h, idx, count * MLV_PACK_IDX_ENTRY_SIZE);
	mlv_hash_update(&h, foot, 24);
	mlv_hash_final(&sum, &h);
	if (memcmp(sum.id, foot + 24, MLV_OID_RAWSZ)) {
		ret = mlv_error_set(MLV_ECORRUPT, "pack '%s': checksum mismatch", name);
		goto done;
	}
	entries = mlv_calloc(count ? count : 1, sizeof(*entries));
	for (uint64_t i = 0; i < count; i++) {
		const unsigned char *p = idx + i * MLV_PACK_IDX_ENTRY_SIZE;
		struct mlv_pack_entry *e = &entries[i];

		memcpy(e->id.id, p, MLV_OID_RAWSZ);
		e->offset = mlv_get_be64(p + 32);
		e->stored_len = mlv_get_be64(p + 40);
		e->raw_len = mlv_get_be64(p + 48);
		e->type = p[56];
		e->comp = p[57];
		if ((ret = check_entry(e, name, e->offset)))
			goto done;
		if (e->offset < MLV_PACK_HDR_SIZE || e->offset > idx_off ||
		    e->stored_len > idx_off - e->offset ||
		    idx_off - e->offset - e->stored_len < MLV_PACK_REC_HDR_SIZE) {
			ret = mlv_error_set(MLV_ECORRUPT, "pack '%s': index entry %llu out of bounds",
					    name, (unsigned long long)i);
			goto done;
		}
		if (i && mlv_oid_cmp(&entries[i - 1].id, &e->id) >= 0) {
			ret = mlv_error_set(MLV_ECORRUPT, "pack '%s': index not sorted", name);
			goto done;
		}
	}
	*entries_out = entries;
	entries = NULL;
	*nr_out = (size_t)count;
	if (checksum_out)
		*checksum_out = sum;
done:
	mlv_hash_release(&h);
	free(idx);
	free(entries);
	return ret;
}

int mlv_pack_reader_init(struct mlv_pack_reader *r)
{
	mlv_buf_init(&r->scratch, 0);
	r->dctx = ZSTD_createDCtx();
	if (!r->dctx)
		return mlv_error_set(MLV_ERROR, "cannot create zstd context");
	return mlv_hash_init(&r->hash);
}

void mlv_pack_reader_release(struct mlv_pack_reader *r)
{
	ZSTD_freeDCtx(r->dctx);
	r->dctx = NULL;
	mlv_hash_release(&r->hash);
	mlv_buf_release(&r->scratch);
}

int mlv_recipe_check(const void *data, size_t len, size_t *nr_out, uint64_t *size_out,
		     const char *what)
{
	const unsigned char *p = data;
	uint64_t total = 0;
	size_t nr;

	if (len < MLV_RECIPE_MAGIC_LEN || memcmp(p, MLV_RECIPE_MAGIC, MLV_RECIPE_MAGIC_LEN) ||
	    (len - MLV_RECIPE_MAGIC_LEN) % MLV_RECIPE_ENTRY_SIZE)
		return mlv_error_set(MLV_ECORRUPT, "%s: malformed recipe", what);
	nr = (len - MLV_RECIPE_MAGIC_LEN) / MLV_RECIPE_ENTRY_SIZE;
	if (nr < 2)
		return mlv_error_set(MLV_ECORRUPT, "%s: recipe with %zu chunk(s)", what, nr);
	for (size_t i = 0; i < nr; i++) {
		uint64_t l = mlv_get_be64(p + MLV_RECIPE_MAGIC_LEN + i * MLV_RECIPE_ENTRY_SIZE);

		if (!l || l > MLV_CHUNK_MAX)
			return mlv_error_set(MLV_ECORRUPT, "%s: recipe entry %zu has bad length %llu",
					     what, i, (unsigned long long)l);
		total += l;
	}
	if (nr_out)
		*nr_out = nr;
	if (size_out)
		*size_out = total;
	return 0;
}

int mlv_pack_read_record(struct mlv_pack_reader *r, const struct mlv_pack_file *pf, uint64_t offset,
			 const struct mlv_oid *want, uint64_t max, struct mlv_buf *out,
			 struct mlv_pack_entry *hdr_out)
{
	unsigned char hdr[MLV_PACK_REC_HDR_SIZE];
	struct mlv_pack_entry e;
	const char *name = pf->name;
	uint64_t data_off;
	int ret;

	mlv_buf_reset(out);
	if (offset < MLV_PACK_HDR_SIZE || offset > pf->size ||
	    pf->size - offset < MLV_PACK_REC_HDR_SIZE)
		return mlv_error_set(MLV_ECORRUPT, "pack '%s': record offset %llu out of bounds",
				     name, (unsigned long long)offset);
	if ((ret = pread_all(pf->fd, hdr, sizeof(hdr), offset, name)) ||
	    (ret = mlv_pack_rechdr_decode(&e, hdr, name, offset)))
		return ret;
	e.offset = offset;
	if (hdr_out)
		*hdr_out = e;
	if (want && mlv_oid_cmp(want, &e.id))
		return mlv_error_set(MLV_ECORRUPT,
				     "pack '%s': record at offset %llu holds %s, not object %s",
				     name, (unsigned long long)offset, mlv_oid_hex(&e.id),
				     mlv_oid_hex(want));
	data_off = offset + MLV_PACK_REC_HDR_SIZE;
	if (e.stored_len > pf->size - data_off)
		return mlv_error_set(MLV_ECORRUPT,
				     "pack '%s': object %s at offset %llu runs past the end of the pack",
				     name, mlv_oid_hex(&e.id), (unsigned long long)offset);
	if (e.raw_len > max)
		return mlv_error_set(MLV_EINVALID, "object %s is larger than %llu bytes",
				     mlv_oid_hex(&e.id), (unsigned long long)max);
	mlv_buf_grow(out, (size_t)e.raw_len);
	if (e.comp == MLV_COMP_RAW) {
		if ((ret = pread_all(pf->fd, out->ptr, (size_t)e.raw_len, data_off, name)))
			return ret;
	} else {
		size_t n;

		mlv_buf_reset(&r->scratch);
		mlv_buf_grow(&r->scratch, (size_t)e.stored_len);
		if ((ret = pread_all(pf->fd, r->scratch.ptr, (size_t)e.stored_len, data_off, name)))
			return ret;
		n = ZSTD_decompressDCtx(r->dctx, out->ptr, (size_t)e.raw_len, r->scratch.ptr,
					(size_t)e.stored_len);
		if (ZSTD_isError(n) || n != e.raw_len)
			return mlv_error_set(MLV_ECORRUPT,
					     "pack '%s': object %s at offset %llu: cannot decompress%s%s",
					     name, mlv_oid_hex(&e.id), (unsigned long long)offset,
					     ZSTD_isError(n) ? ": " : "",
					     ZSTD_isError(n) ? ZSTD_getErrorName(n) : "");
	}
	mlv_buf_setlen(out, (size_t)e.raw_len);
	if (e.type == MLV_OBJ_RECIPE) {
		char what[MLV_PACK_NAME_MAX + 120];

		snprintf(what, sizeof(what), "pack '%s': object %s", name, mlv_oid_hex(&e.id));
		return mlv_recipe_check(out->ptr, out->len, NULL, NULL, what);
	} else {
		struct mlv_oid got;

		mlv_hash_update(&r->hash, out->ptr, out->len);
		mlv_hash_final(&got, &r->hash);
		if (mlv_oid_cmp(&got, &e.id))
			return mlv_error_set(MLV_ECORRUPT,
					     "pack '%s': object %s at offset %llu is corrupt (content hashes to %s)",
					     name, mlv_oid_hex(&e.id), (unsigned long long)offset,
					     mlv_oid_hex(&got));
	}
	return 0;
}

int mlv_pack_record_equals(struct mlv_pack_reader *r, const struct mlv_pack_file *pf,
			   const struct mlv_pack_entry *want, const void *data, size_t len)
{
	unsigned char hdr[MLV_PACK_REC_HDR_SIZE];
	struct mlv_pack_entry e;
	const char *name = pf->name;
	uint64_t off = want->offset, data_off;
	int ret;

	if (off < MLV_PACK_HDR_SIZE || off > pf->size || pf->size - off < MLV_PACK_REC_HDR_SIZE)
		return mlv_error_set(MLV_ECORRUPT, "pack '%s': record offset %llu out of bounds",
				     name, (unsigned long long)off), 0;
	if ((ret = pread_all(pf->fd, hdr, sizeof(hdr), off, name)))
		return ret == MLV_ECORRUPT ? 0 : ret;
	if (mlv_pack_rechdr_decode(&e, hdr, name, off))
		return 0;
	data_off = off + MLV_PACK_REC_HDR_SIZE;
	if (mlv_oid_cmp(&e.id, &want->id) || e.type != want->type || e.raw_len != len ||
	    e.stored_len > pf->size - data_off)
		return mlv_error_set(MLV_ECORRUPT, "pack '%s': record at offset %llu does not hold %s",
				     name, (unsigned long long)off, mlv_oid_hex(&want->id)), 0;
	mlv_buf_reset(&r->scratch);
	mlv_buf_grow(&r->scratch, (size_t)e.stored_len + (size_t)e.raw_len);
	if ((ret = pread_all(pf->fd, r->scratch.ptr, (size_t)e.stored_len, data_off, name)))
		return ret == MLV_ECORRUPT ? 0 : ret;
	if (e.comp == MLV_COMP_RAW) {
		if (memcmp(r->scratch.ptr, data, len))
			return mlv_error_set(MLV_ECORRUPT, "pack '%s': object %s is corrupt", name,
					     mlv_oid_hex(&e.id)), 0;
	} else {
		char *raw = r->scratch.ptr + e.stored_len;
		size_t n = ZSTD_decompressDCtx(r->dctx, raw, (size_t)e.raw_len, r->scratch.ptr,
					       (size_t)e.stored_len);

		if (ZSTD_isError(n) || n != len || memcmp(raw, data, len))
			return mlv_error_set(MLV_ECORRUPT, "pack '%s': object %s is corrupt", name,
					     mlv_oid_hex(&e.id)), 0;
	}
	return 1;
}
