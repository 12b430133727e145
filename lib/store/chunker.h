#ifndef MLV_CHUNKER_H
#define MLV_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

/*
 * FastCDC content-defined chunking (Xia et al., "FastCDC: a Fast and
 * Efficient Content-Defined Chunking Approach for Data Deduplication",
 * USENIX ATC 2016) with a gear rolling hash, normalized chunking (a harder
 * mask before the average size, an easier one after it) and cut-point
 * skipping (no hashing in the first MLV_CHUNK_MIN bytes of a chunk).
 * Sizes are MLV_CHUNK_MIN/AVG/MAX from mlv/store.h.
 *
 * The chunker is a streaming state machine: feed it consecutive pieces of
 * a stream with mlv_chunker_next(); it returns where the current chunk
 * ends.  The boundaries depend only on the bytes, never on how the stream
 * was cut into pieces.
 */
struct mlv_chunker {
	uint64_t hash;
	uint64_t pos; /* bytes of the current chunk seen so far */
};

void mlv_chunker_init(struct mlv_chunker *c);

/*
 * Scan `len` bytes that continue the current chunk.  Returns the number
 * of bytes up to and including the end of the chunk when a boundary falls
 * inside `data` (the chunker is then reset for the next chunk), or `len`
 * with *cut == 0 when the chunk goes on.
 */
size_t mlv_chunker_next(struct mlv_chunker *c, const unsigned char *data, size_t len, int *cut);

/* Boundaries of a whole buffer: calls `fn` with each chunk in order. */
int mlv_chunker_split(const void *data, size_t len,
		      int (*fn)(void *ctx, const unsigned char *chunk, size_t len), void *ctx);

/* The gear table (for tests and documentation). */
extern const uint64_t *mlv_chunker_gear(void);

#endif
