#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/oid.h"

static const char hexdigits[] = "0123456789abcdef";

void mlv_oid_tohex(char out[MLV_OID_HEXSZ + 1], const struct mlv_oid *oid)
{
	for (int i = 0; i < MLV_OID_RAWSZ; i++) {
		out[2 * i] = hexdigits[oid->id[i] >> 4];
		out[2 * i + 1] = hexdigits[oid->id[i] & 15];
	}
	out[MLV_OID_HEXSZ] = '\0';
}

const char *mlv_oid_hex(const struct mlv_oid *oid)
{
	static __thread char bufs[4][MLV_OID_HEXSZ + 1];
	static __thread int n;

	n = (n + 1) & 3;
	mlv_oid_tohex(bufs[n], oid);
	return bufs[n];
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int mlv_oid_fromhex(struct mlv_oid *out, const char *hex, size_t len)
{
	if (len != MLV_OID_HEXSZ)
		return MLV_EINVALID;
	for (int i = 0; i < MLV_OID_RAWSZ; i++) {
		int hi = hexval((unsigned char)hex[2 * i]);
		int lo = hexval((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return MLV_EINVALID;
		out->id[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int mlv_oid_cmp(const struct mlv_oid *a, const struct mlv_oid *b)
{
	return memcmp(a->id, b->id, MLV_OID_RAWSZ);
}

static const EVP_MD *sha256(void)
{
	static const EVP_MD *md;

	if (!md)
		md = EVP_sha256();
	return md;
}

int mlv_hash_init(struct mlv_hash *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || !EVP_DigestInit_ex(ctx, sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		h->ctx = NULL;
		return mlv_error_set(MLV_ERROR, "cannot initialise SHA-256");
	}
	h->ctx = ctx;
	return 0;
}

void mlv_hash_update(struct mlv_hash *h, const void *data, size_t len)
{
	if (!EVP_DigestUpdate(h->ctx, data, len))
		abort();
}

void mlv_hash_final(struct mlv_oid *out, struct mlv_hash *h)
{
	unsigned int n = 0;

	if (!EVP_DigestFinal_ex(h->ctx, out->id, &n) || n != MLV_OID_RAWSZ ||
	    !EVP_DigestInit_ex(h->ctx, sha256(), NULL))
		abort();
}

void mlv_hash_release(struct mlv_hash *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void mlv_hash_buf(struct mlv_oid *out, const void *data, size_t len)
{
	unsigned int n = 0;

	if (!EVP_Digest(data, len, out->id, &n, sha256(), NULL) || n != MLV_OID_RAWSZ)
		abort();
}
