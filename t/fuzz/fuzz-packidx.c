/*
 * libFuzzer target for the pack trailer and index parser,
 * mlv_pack_read_index(), and the record reader mlv_pack_read_record()
 * (see t/fuzz/README and the layout in lib/store/pack.h).
 *
 * Input: one control byte, then the pack file.  With bit 0 of the control
 * byte set, the footer's SHA-256 is recomputed over what the footer claims
 * is the index (when that range lies in the file), so that the fuzzer gets
 * past the checksum; otherwise the bytes are used as they are.
 *
 * The pack is written to a memfd and opened as a pack would be.  The index
 * is either refused with MLV_ECORRUPT/MLV_EUNSUPPORTED naming the pack and
 * returning nothing, or every entry it returns is sane: known type and
 * compression, sizes within the type's limit, its record (header and
 * payload) entirely between the pack header and the index, the index and
 * footer filling the rest of the file exactly, ids strictly sorted, and the
 * checksum the one computed here.  Reading a record either fails cleanly or
 * yields exactly raw_len bytes that hash to the id (chunks, trees) or form
 * a well-formed recipe.  The records are read once through the index, and
 * once walked from the pack header as fsck's salvage does for a damaged
 * pack (no index: each header says where the next record starts).
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/oid.h"
#include "mlv/store.h"
#include "store/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PACK_NAME "pack-fuzz.mlvpack"
#define MAX_RECORDS_READ 8
#define MAX_RECORDS_WALKED 16

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void sha256(unsigned char out[32], const void *a, size_t alen, const void *b, size_t blen,
		   const void *c, size_t clen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) || !EVP_DigestUpdate(ctx, a, alen) ||
	    !EVP_DigestUpdate(ctx, b, blen) || !EVP_DigestUpdate(ctx, c, clen) ||
	    !EVP_DigestFinal_ex(ctx, out, NULL))
		abort();
	EVP_MD_CTX_free(ctx);
}

/*
 * Where the footer says the index is, if that range is inside the file
 * (independently of the parser's own check).
 */
static int claimed_index(const unsigned char *p, size_t size, uint64_t *idx_off, uint64_t *count)
{
	const unsigned char *foot;

	if (size < MLV_PACK_HDR_SIZE + MLV_PACK_FOOTER_SIZE)
		return 0;
	foot = p + size - MLV_PACK_FOOTER_SIZE;
	*idx_off = be64(foot);
	*count = be64(foot + 8);
	if (*idx_off < MLV_PACK_HDR_SIZE || *idx_off > size - MLV_PACK_FOOTER_SIZE)
		return 0;
	return *count == (size - MLV_PACK_FOOTER_SIZE - *idx_off) / MLV_PACK_IDX_ENTRY_SIZE &&
	       (size - MLV_PACK_FOOTER_SIZE - *idx_off) % MLV_PACK_IDX_ENTRY_SIZE == 0;
}

static int is_error_for_pack(int ret, int code1, int code2)
{
	return (ret == code1 || ret == code2) && strstr(mlv_error_last(), PACK_NAME);
}

/*
 * Read one record and check what comes back; 0 and its header in *hdr_out,
 * or the error.
 */
static int check_record(struct mlv_pack_reader *rd, const struct mlv_pack_file *pf, uint64_t off,
			const struct mlv_pack_entry *want, struct mlv_pack_entry *hdr_out)
{
	struct mlv_buf out = MLV_BUF_INIT;
	struct mlv_pack_entry hdr;
	uint64_t max = want ? mlv_pack_type_max(want->type) : MLV_OBJECT_META_MAX;
	int ret;

	memset(&hdr, 0, sizeof(hdr));
	ret = mlv_pack_read_record(rd, pf, off, want ? &want->id : NULL, max, &out, &hdr);
	if (ret) {
		/* EINVALID: larger than `max`, names the object instead of the pack. */
		if (ret != MLV_ECORRUPT && ret != MLV_EINVALID)
			abort();
		if (ret == MLV_ECORRUPT && !strstr(mlv_error_last(), PACK_NAME))
			abort();
		goto done;
	}
	if (hdr.offset != off || out.len != hdr.raw_len || hdr.raw_len > max ||
	    off < MLV_PACK_HDR_SIZE || off + MLV_PACK_REC_HDR_SIZE + hdr.stored_len > pf->size ||
	    (want && mlv_oid_cmp(&want->id, &hdr.id)))
		abort();
	if (hdr.type == MLV_OBJ_RECIPE) {
		if (mlv_recipe_check(out.ptr, out.len, NULL, NULL, "fuzz"))
			abort();
	} else {
		unsigned char sum[32];

		sha256(sum, out.ptr, out.len, "", 0, "", 0);
		if (memcmp(sum, hdr.id.id, 32))
			abort();
	}
	/* What salvage copies: the stored bytes of a compressed record stay in scratch. */
	if (hdr.comp == MLV_COMP_ZSTD && rd->scratch.alloc < hdr.stored_len)
		abort();
	*hdr_out = hdr;
done:
	mlv_buf_release(&out);
	return ret;
}

/* Walk the records from the pack header up to `stop`, as fsck's salvage does. */
static void walk_records(struct mlv_pack_reader *rd, const struct mlv_pack_file *pf, uint64_t stop)
{
	uint64_t off = MLV_PACK_HDR_SIZE;

	for (int n = 0; n < MAX_RECORDS_WALKED && off < stop && stop - off >= MLV_PACK_REC_HDR_SIZE; n++) {
		unsigned char raw[MLV_PACK_REC_HDR_SIZE];
		struct mlv_pack_entry h;

		if (!check_record(rd, pf, off, NULL, &h)) {
			off += MLV_PACK_REC_HDR_SIZE + h.stored_len;
			continue;
		}
		if (pread(pf->fd, raw, sizeof(raw), (off_t)off) != (ssize_t)sizeof(raw) ||
		    mlv_pack_rechdr_decode(&h, raw, pf->name, off) ||
		    h.stored_len > stop - off - MLV_PACK_REC_HDR_SIZE)
			break;
		off += MLV_PACK_REC_HDR_SIZE + h.stored_len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlv_pack_file pf = { .fd = -1, .name = PACK_NAME };
	static struct mlv_pack_entry unset;
	struct mlv_pack_entry *e = &unset; /* the parser must reset it */
	struct mlv_pack_reader rd;
	struct mlv_oid sum;
	unsigned char *p = NULL, want_sum[32];
	uint64_t idx_off = 0, count = 0;
	size_t nr = 7;
	int ctl, claimed, ret;

	if (!size)
		return 0;
	ctl = data[0];
	data++;
	size--;
	p = malloc(size ? size : 1);
	if (!p)
		abort();
	memcpy(p, data, size);
	claimed = claimed_index(p, size, &idx_off, &count);
	if (claimed && (ctl & 1))
		sha256(p + size - 32, p, MLV_PACK_HDR_SIZE, p + idx_off,
		       (size_t)count * MLV_PACK_IDX_ENTRY_SIZE, p + size - MLV_PACK_FOOTER_SIZE, 24);

	pf.fd = memfd_create("fuzz-pack", MFD_CLOEXEC);
	if (pf.fd < 0 || (size && write(pf.fd, p, size) != (ssize_t)size))
		abort();
	pf.size = size;
	if (mlv_pack_reader_init(&rd))
		abort();

	ret = mlv_pack_read_index(&pf, &e, &nr, &sum);
	if (ret) {
		if (!is_error_for_pack(ret, MLV_ECORRUPT, MLV_EUNSUPPORTED) || e || nr)
			abort();
		goto records;
	}

	/* Accepted: the trailer is where the footer says, and its checksum is right. */
	if (!claimed || nr != count || size < MLV_PACK_HDR_SIZE + MLV_PACK_FOOTER_SIZE ||
	    memcmp(p, MLV_PACK_MAGIC, 8) || be64(p + 8) >> 32 != MLV_PACK_VERSION ||
	    memcmp(p + size - MLV_PACK_FOOTER_SIZE + 16, MLV_PACK_IDX_MAGIC, 8) || (nr && !e))
		abort();
	sha256(want_sum, p, MLV_PACK_HDR_SIZE, p + idx_off, (size_t)count * MLV_PACK_IDX_ENTRY_SIZE,
	       p + size - MLV_PACK_FOOTER_SIZE, 24);
	if (memcmp(want_sum, sum.id, 32) || memcmp(want_sum, p + size - 32, 32))
		abort();
	for (size_t i = 0; i < nr; i++) {
		const struct mlv_pack_entry *x = &e[i];
		uint64_t max = mlv_pack_type_max(x->type);

		/* Each record lies after the pack header and ends before the index. */
		if (x->offset < MLV_PACK_HDR_SIZE || x->offset > idx_off ||
		    idx_off - x->offset < MLV_PACK_REC_HDR_SIZE ||
		    x->stored_len > idx_off - x->offset - MLV_PACK_REC_HDR_SIZE)
			abort();
		if (!max || x->raw_len > max ||
		    (x->comp == MLV_COMP_RAW ? x->stored_len != x->raw_len :
		     x->comp != MLV_COMP_ZSTD || !x->stored_len || x->stored_len > x->raw_len))
			abort();
		if (i && mlv_oid_cmp(&e[i - 1].id, &x->id) >= 0)
			abort();
		/* The entry is the index's bytes, decoded. */
		if (memcmp(x->id.id, p + idx_off + i * MLV_PACK_IDX_ENTRY_SIZE, 32) ||
		    x->offset != be64(p + idx_off + i * MLV_PACK_IDX_ENTRY_SIZE + 32))
			abort();
	}
	for (size_t i = 0; i < nr && i < MAX_RECORDS_READ; i++) {
		struct mlv_pack_entry h;

		check_record(&rd, &pf, e[i].offset, &e[i], &h);
	}

records:
	walk_records(&rd, &pf, ret ? size : idx_off);

	mlv_pack_reader_release(&rd);
	free(e);
	close(pf.fd);
	free(p);
	return 0;
}
