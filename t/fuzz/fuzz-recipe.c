/*
 * libFuzzer target for the recipe checker, mlv_recipe_check() (see
 * t/fuzz/README).
 *
 * A recipe is "mlvrecipe 1\n" then per chunk a u64 big-endian length and a
 * 32-byte id.  Any input either fails with MLV_ECORRUPT, a message naming
 * it and the outputs untouched, or is accepted with a chunk count and total
 * size that agree with the bytes: exactly the magic plus whole entries, at
 * least two chunks, each 1..MLV_CHUNK_MAX bytes, and the size their sum
 * (computed here without overflow).  The reader (lib/store/store.c) walks
 * an accepted recipe by those numbers, so they must be right.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/store.h"
#include "store/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when a correct checker must accept `data`; its count and size in *nr, *total. */
static int reference(const uint8_t *data, size_t size, size_t *nr, uint64_t *total)
{
	size_t n = 0;
	uint64_t sum = 0;

	if (size < 12 || memcmp(data, "mlvrecipe 1\n", 12))
		return 0;
	for (size_t off = 12; off < size; off += 40) {
		uint64_t len = 0;

		if (size - off < 40)
			return 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | data[off + i];
		if (!len || len > MLV_CHUNK_MAX)
			return 0;
		if (sum > UINT64_MAX - len)
			abort(); /* cannot happen: n * MLV_CHUNK_MAX is far below 2^64 */
		sum += len;
		n++;
	}
	if (n < 2)
		return 0;
	*nr = n;
	*total = sum;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t nr = 12345, want_nr = 0;
	uint64_t total = 67890, want_total = 0;
	int ret, ok;

	ok = reference(data, size, &want_nr, &want_total);
	ret = mlv_recipe_check(data, size, &nr, &total, "fuzz");
	if (ret) {
		if (ok || ret != MLV_ECORRUPT || strncmp(mlv_error_last(), "fuzz: ", 6) ||
		    nr != 12345 || total != 67890)
			abort();
		return 0;
	}
	if (!ok || nr != want_nr || total != want_total || nr < 2 ||
	    size != MLV_RECIPE_MAGIC_LEN + nr * MLV_RECIPE_ENTRY_SIZE ||
	    total < nr || total > (uint64_t)nr * MLV_CHUNK_MAX)
		abort();
	/* Outputs are optional. */
	if (mlv_recipe_check(data, size, NULL, NULL, "fuzz"))
		abort();
	return 0;
}
