#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/store.h"
#include "store/chunker.h"
#include "tap.h"

static void fill_random(unsigned char *p, size_t len, uint64_t seed)
{
	uint64_t x = seed;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 32);
	}
}

struct cuts {
	size_t *end;
	size_t nr, alloc, pos;
};

static int record(void *ctx, const unsigned char *chunk, size_t len)
{
	struct cuts *c = ctx;

	if (c->nr == c->alloc) {
		c->alloc = c->alloc * 2 + 16;
		c->end = realloc(c->end, c->alloc * sizeof(*c->end));
	}
	c->pos += len;
	c->end[c->nr++] = c->pos;
	return 0;
}

/* Feed `data` in pieces of varying size, returning the chunk ends. */
static struct cuts stream(const unsigned char *data, size_t len, size_t piece)
{
	struct cuts c = { NULL, 0, 0, 0 };
	struct mlv_chunker ch;
	size_t i = 0, start = 0, k = 0;

	mlv_chunker_init(&ch);
	while (i < len) {
		size_t n = piece ? piece + (k++ * 7919) % piece : len;
		size_t end = len - i < n ? len : i + n;

		while (i < end) {
			int cut;

			i += mlv_chunker_next(&ch, data + i, end - i, &cut);
			if (cut) {
				record(&c, data + start, i - start);
				start = i;
			}
		}
	}
	if (start < len)
		record(&c, data + start, len - start);
	return c;
}

static int same_cuts(const struct cuts *a, const struct cuts *b)
{
	return a->nr == b->nr && !memcmp(a->end, b->end, a->nr * sizeof(*a->end));
}

int main(void)
{
	size_t len = 20u << 20, shift = 100;
	unsigned char *data = malloc(len + shift);
	struct cuts whole = { NULL, 0, 0, 0 }, shifted = { NULL, 0, 0, 0 }, zeros = { NULL, 0, 0, 0 };
	int sizes_ok = 1;
	size_t shared = 0;

	fill_random(data + shift, len, 42);
	mlv_chunker_split(data + shift, len, record, &whole);
	ok(whole.nr >= 8 && whole.nr <= 60, "20 MiB splits into a plausible number of chunks (%zu)",
	   whole.nr);
	is_int(whole.end[whole.nr - 1], len, "chunks cover the whole buffer");
	for (size_t i = 0; i < whole.nr; i++) {
		size_t sz = whole.end[i] - (i ? whole.end[i - 1] : 0);

		if (sz > MLV_CHUNK_MAX || (i + 1 < whole.nr && sz < MLV_CHUNK_MIN))
			sizes_ok = 0;
	}
	ok(sizes_ok, "every chunk within [MIN, MAX] (the last may be shorter)");

	{
		size_t pieces[] = { 1000, 4097, 65536, 1u << 20, 5u << 20 };
		int all = 1;

		for (size_t p = 0; p < sizeof(pieces) / sizeof(*pieces); p++) {
			struct cuts c = stream(data + shift, len, pieces[p]);

			if (!same_cuts(&c, &whole)) {
				all = 0;
				tap_diag("piece size %zu gives different boundaries", pieces[p]);
			}
			free(c.end);
		}
		ok(all, "boundaries do not depend on how the stream is fed");
	}

	{
		struct cuts again = { NULL, 0, 0, 0 };

		mlv_chunker_split(data + shift, len, record, &again);
		ok(same_cuts(&again, &whole), "chunking is deterministic");
		free(again.end);
	}

	/* Insert bytes at the front: only the first chunk(s) change. */
	fill_random(data, shift, 7);
	mlv_chunker_split(data, len + shift, record, &shifted);
	for (size_t i = 0; i < shifted.nr; i++)
		for (size_t j = 0; j < whole.nr; j++)
			if (shifted.end[i] == whole.end[j] + shift)
				shared++;
	ok(shared + 2 >= whole.nr, "inserting %zu bytes at the front keeps %zu of %zu boundaries",
	   shift, shared, whole.nr);

	/* Constant data never matches the mask: cuts at MAX. */
	memset(data, 0, len);
	mlv_chunker_split(data, len, record, &zeros);
	ok(zeros.nr == 5 && zeros.end[0] == MLV_CHUNK_MAX, "zeros cut at MAX (%zu chunks)", zeros.nr);

	{
		struct cuts small = { NULL, 0, 0, 0 };

		fill_random(data, MLV_CHUNK_MIN, 3);
		mlv_chunker_split(data, MLV_CHUNK_MIN, record, &small);
		is_int(small.nr, 1, "exactly MIN bytes is one chunk");
		small.nr = 0;
		small.pos = 0;
		mlv_chunker_split(data, 0, record, &small);
		ok(small.nr == 1 && small.end[0] == 0, "empty input is one empty chunk");
		free(small.end);
	}

	{
		const uint64_t *g = mlv_chunker_gear();

		ok(g[0] != g[1] && g[0] && g[255], "gear table is initialised");
	}

	free(whole.end);
	free(shifted.end);
	free(zeros.end);
	free(data);
	return tap_done();
}
