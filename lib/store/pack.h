#ifndef MLV_PACK_H
#define MLV_PACK_H

#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include "mlv/buf.h"
#include "mlv/oid.h"
#include "mlv/store.h"

/*
 * Pack files (mlv-formats(5)).  All integers big-endian.
 *
 *	header   "MLVPACK\0", u32 version (1), u32 reserved (0)       16 bytes
 *	records  u8 type, u8 compression (0 raw, 1 zstd), u16 reserved,
 *	         u64 stored_len, u64 raw_len, 32-byte id               52 bytes
 *	         then stored_len bytes of payload
 *	index    per record, sorted by id: 32-byte id, u64 offset (of the
 *	         record header), u64 stored_len, u64 raw_len, u8 type,
 *	         u8 compression, 6 reserved bytes                      64 bytes each
 *	footer   u64 index offset, u64 count, "MLVPIDX\0",
 *	         32-byte SHA-256 of header + index + the footer's first 24 bytes
 *
 * The checksum binds every record's id, position and lengths; each
 * payload is bound by its id (a chunk or tree hashes to it, a recipe's
 * chunks hash to the blob id), so a pack is verified by its checksum plus
 * its records.  Hashing only the metadata keeps sealing free of a second
 * SHA-256 pass over the data.  The file is named pack-<hex checksum>.mlvpack.
 */
#define MLV_PACK_MAGIC "MLVPACK\0"
#define MLV_PACK_IDX_MAGIC "MLVPIDX\0"
#define MLV_PACK_VERSION 1
#define MLV_PACK_HDR_SIZE 16
#define MLV_PACK_REC_HDR_SIZE 52
#define MLV_PACK_IDX_ENTRY_SIZE 64
#define MLV_PACK_FOOTER_SIZE 56
#define MLV_PACK_ROLLOVER (1ULL << 30)
#define MLV_PACK_NAME_MAX 128

enum mlv_comp {
	MLV_COMP_RAW = 0,
	MLV_COMP_ZSTD = 1,
};

/* Recipes: "mlvrecipe 1\n" then per chunk u64 length + 32-byte id. */
#define MLV_RECIPE_MAGIC "mlvrecipe 1\n"
#define MLV_RECIPE_MAGIC_LEN 12
#define MLV_RECIPE_ENTRY_SIZE 40

struct mlv_pack_entry {
	struct mlv_oid id;
	uint64_t offset;
	uint64_t stored_len;
	uint64_t raw_len;
	uint8_t type;
	uint8_t comp;
};

static inline void mlv_put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static inline uint64_t mlv_get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void mlv_put_be32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static inline uint32_t mlv_get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void mlv_pack_rechdr_encode(unsigned char out[MLV_PACK_REC_HDR_SIZE], const struct mlv_pack_entry *e);
/* Decode and check a record header (type, compression, length bounds); `e->offset` is left alone. */
int mlv_pack_rechdr_decode(struct mlv_pack_entry *e, const unsigned char in[MLV_PACK_REC_HDR_SIZE],
			   const char *pack, uint64_t offset);

/* Largest raw size a record of `type` may have. */
uint64_t mlv_pack_type_max(int type);

/* Is `name` a well-formed pack file name ("pack-<64 hex>.mlvpack")? */
int mlv_pack_name_valid(const char *name);

/*
 * A pack being written: a temporary file "tmp-pack-XXXXXX" in the packs
 * directory `dirfd` (`dir` is its path, for messages; the fd must stay
 * open while the writer lives), held under an exclusive flock(2) until it
 * is published or aborted so that fsck leaves it alone.
 */
struct mlv_pack_writer;

int mlv_pack_writer_open(struct mlv_pack_writer **out, int dirfd, const char *dir);

/*
 * Was temporary pack `name` in `dirfd` left by a writer that died?  Its
 * writer holds it under flock(2) from creation (the header is written
 * right after the lock is taken) until it is renamed or removed, so one
 * that can be locked and is not empty (or has been empty for
 * MLV_PACK_TEMP_GRACE_S seconds) is abandoned.  With `remove` it is
 * removed, under that lock.  1 abandoned, 0 in use or gone, <0 error.
 */
#define MLV_PACK_TEMP_PREFIX "tmp-pack-"
#define MLV_PACK_TEMP_GRACE_S 60
int mlv_pack_temp_abandoned(int dirfd, const char *name, int remove);
/* Append a record; `stored` holds `stored_len` bytes (compressed or raw). */
int mlv_pack_writer_add(struct mlv_pack_writer *pw, const struct mlv_oid *id, int type, int comp,
			const void *stored, size_t stored_len, uint64_t raw_len);
uint64_t mlv_pack_writer_size(const struct mlv_pack_writer *pw);
size_t mlv_pack_writer_count(const struct mlv_pack_writer *pw);
/* Write the index, footer and checksum and fsync; still under its temporary name. */
int mlv_pack_writer_seal(struct mlv_pack_writer *pw);
/*
 * Rename a sealed pack to its final name (no directory fsync: the caller
 * does one for all packs it publishes).  `name_out` receives the file
 * name, the entries stay readable with mlv_pack_writer_entries().
 */
int mlv_pack_writer_publish(struct mlv_pack_writer *pw, char name_out[MLV_PACK_NAME_MAX]);
const struct mlv_pack_entry *mlv_pack_writer_entries(const struct mlv_pack_writer *pw, size_t *nr);
/* The sealed file's mtime (its signature in the index, with its size). */
int64_t mlv_pack_writer_mtime_ns(const struct mlv_pack_writer *pw);
/* Close; an unpublished file is removed.  NULL is fine. */
void mlv_pack_writer_free(struct mlv_pack_writer *pw);

/*
 * Reading.  `name` is the file name used in messages, `size` its length
 * (packs are immutable once published).
 */
struct mlv_pack_file {
	int fd;
	uint64_t size;
	char name[MLV_PACK_NAME_MAX];
};

/*
 * Check header, footer, checksum and index of a pack, returning its
 * entries (malloc'd, sorted by id) and checksum.  MLV_ECORRUPT or
 * MLV_EUNSUPPORTED with a message naming the pack.
 */
int mlv_pack_read_index(const struct mlv_pack_file *pf, struct mlv_pack_entry **entries_out,
			size_t *nr_out, struct mlv_oid *checksum_out);

/* Per-thread scratch for reading records. */
struct mlv_pack_reader {
	ZSTD_DCtx *dctx;
	struct mlv_hash hash;
	struct mlv_buf scratch;
};
int mlv_pack_reader_init(struct mlv_pack_reader *r);
void mlv_pack_reader_release(struct mlv_pack_reader *r);

/*
 * Read the record at `offset` into `out` (raw bytes), checked: header
 * sane and within the pack, id equal to `want` (when not NULL),
 * decompresses to exactly raw_len, chunks and trees hash to their id,
 * recipes well formed.  Refuses raw sizes above `max` with MLV_EINVALID.
 * `hdr_out` (nullable) receives the record header.
 */
int mlv_pack_read_record(struct mlv_pack_reader *r, const struct mlv_pack_file *pf, uint64_t offset,
			 const struct mlv_oid *want, uint64_t max, struct mlv_buf *out,
			 struct mlv_pack_entry *hdr_out);

/*
 * Does the record at `offset` (indexed as `want`) hold exactly `data`?
 * Its header must name the same id, type and raw length, and its payload
 * (decompressed when needed) must equal `data` byte for byte, which needs
 * no hashing: `data` is known to hash to the id.  1 equal, 0 different
 * or unreadable (the message says why), <0 on an I/O error.
 */
int mlv_pack_record_equals(struct mlv_pack_reader *r, const struct mlv_pack_file *pf,
			   const struct mlv_pack_entry *want, const void *data, size_t len);

/* Check a recipe's structure; returns the number of chunks and total size. */
int mlv_recipe_check(const void *data, size_t len, size_t *nr_out, uint64_t *size_out,
		     const char *what);

#endif
