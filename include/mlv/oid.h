#ifndef MLV_OID_H
#define MLV_OID_H

#pragma GCC visibility push(default)

#include <stddef.h>
#include <stdint.h>

/*
 * Object ids: the SHA-256 of an object's raw bytes (a recipe is stored
 * under the id of the blob it describes).  Shown as 64 lowercase hex digits,
 * written "sha256:<hex>" in files.
 */
#define MLV_OID_RAWSZ 32
#define MLV_OID_HEXSZ 64

struct mlv_oid {
	unsigned char id[MLV_OID_RAWSZ];
};

/* Writes 64 hex digits and a NUL into `out`. */
void mlv_oid_tohex(char out[MLV_OID_HEXSZ + 1], const struct mlv_oid *oid);
/* Exactly 64 lowercase hex digits, nothing else; MLV_EINVALID otherwise (no message set). */
int mlv_oid_fromhex(struct mlv_oid *out, const char *hex, size_t len);
int mlv_oid_cmp(const struct mlv_oid *a, const struct mlv_oid *b);
/* Hex of `oid` in one of four rotating static buffers: for messages only. */
const char *mlv_oid_hex(const struct mlv_oid *oid);

/*
 * Streaming SHA-256 (OpenSSL EVP, SHA-NI where the CPU has it).
 * A context must be released with mlv_hash_release() even after final.
 */
struct mlv_hash {
	void *ctx;
};
int mlv_hash_init(struct mlv_hash *h);
void mlv_hash_update(struct mlv_hash *h, const void *data, size_t len);
/* Finishes, writes the digest, and re-initialises `h` for another message. */
void mlv_hash_final(struct mlv_oid *out, struct mlv_hash *h);
void mlv_hash_release(struct mlv_hash *h);
/* One-shot hash of a buffer. */
void mlv_hash_buf(struct mlv_oid *out, const void *data, size_t len);

#pragma GCC visibility pop

#endif
