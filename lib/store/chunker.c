#include <pthread.h>
#include <string.h>

#include "mlv/store.h"
#include "store/chunker.h"

/*
 * Normalized chunking, level 2: before MLV_CHUNK_AVG a cut needs 22 zero
 * bits (4x rarer than 1/AVG), after it 18 (4x likelier), which narrows
 * the size distribution around the average.  The mask takes the hash's
 * top bits: with h = (h << 1) + gear[byte], bit k depends on the last
 * k + 1 bytes, so the top bits see the whole 64-byte window.
 */
#define MASK_S (~0ULL << (64 - 22))
#define MASK_L (~0ULL << (64 - 18))

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

/* splitmix64 from a fixed seed: the table is part of the format. */
static void gear_init(void)
{
	uint64_t x = 0x6d6c7620636463ULL; /* "mlv cdc" */

	for (int i = 0; i < 256; i++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		gear[i] = z ^ (z >> 31);
	}
}

const uint64_t *mlv_chunker_gear(void)
{
	pthread_once(&gear_once, gear_init);
	return gear;
}

void mlv_chunker_init(struct mlv_chunker *c)
{
	pthread_once(&gear_once, gear_init);
	c->hash = 0;
	c->pos = 0;
}

/* Scan data[i..end) with `mask`; returns the index after the cut or `end`. */
static inline size_t scan(uint64_t *hp, const unsigned char *data, size_t i, size_t end,
			  uint64_t mask, int *found)
{
	uint64_t h = *hp;

	for (; i < end; i++) {
		h = (h << 1) + gear[data[i]];
		if (!(h & mask)) {
			*found = 1;
			i++;
			break;
		}
	}
	*hp = h;
	return i;
}

size_t mlv_chunker_next(struct mlv_chunker *c, const unsigned char *data, size_t len, int *cut)
{
	size_t i = 0;
	int found = 0;

	*cut = 0;
	if (c->pos < MLV_CHUNK_MIN) {
		uint64_t skip = MLV_CHUNK_MIN - c->pos;

		if (skip >= len) {
			c->pos += len;
			return len;
		}
		i = (size_t)skip;
		c->pos = MLV_CHUNK_MIN;
	}
	if (c->pos < MLV_CHUNK_AVG) {
		uint64_t room = MLV_CHUNK_AVG - c->pos;
		size_t end = len - i > room ? i + (size_t)room : len;
		size_t j = scan(&c->hash, data, i, end, MASK_S, &found);

		c->pos += j - i;
		i = j;
		if (found || i == len)
			goto out;
	}
	{
		uint64_t room = MLV_CHUNK_MAX - c->pos;
		size_t end = len - i > room ? i + (size_t)room : len;
		size_t j = scan(&c->hash, data, i, end, MASK_L, &found);

		c->pos += j - i;
		i = j;
		if (c->pos == MLV_CHUNK_MAX)
			found = 1;
	}
out:
	if (found) {
		*cut = 1;
		c->hash = 0;
		c->pos = 0;
	}
	return i;
}

int mlv_chunker_split(const void *data, size_t len,
		      int (*fn)(void *ctx, const unsigned char *chunk, size_t len), void *ctx)
{
	const unsigned char *p = data;
	struct mlv_chunker c;
	size_t start = 0, i = 0;
	int ret;

	mlv_chunker_init(&c);
	while (i < len) {
		int cut;

		i += mlv_chunker_next(&c, p + i, len - i, &cut);
		if (cut) {
			if ((ret = fn(ctx, p + start, i - start)))
				return ret;
			start = i;
		}
	}
	if (start < len || !len)
		return fn(ctx, p + start, len - start);
	return 0;
}
