/*
 * libFuzzer target for the pointer file parser (see t/fuzz/README).
 *
 * Any input either fails with a message naming the file, or parses into a
 * pointer whose canonical form parses back to the same pointer and formats
 * to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/pointer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const struct mlv_pointer *a, const struct mlv_pointer *b)
{
	return !mlv_oid_cmp(&a->oid, &b->oid) && a->size == b->size && a->files == b->files &&
	       a->kind == b->kind && a->type == b->type && a->extra.len == b->extra.len &&
	       !memcmp(a->extra.ptr, b->extra.ptr, a->extra.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlv_pointer p, q;
	struct mlv_buf a = MLV_BUF_INIT, b = MLV_BUF_INIT;
	int ret;

	mlv_pointer_init(&p);
	mlv_pointer_init(&q);
	ret = mlv_pointer_parse(&p, (const char *)data, size, "fuzz.mlv");
	if (ret) {
		if ((ret != MLV_EINVALID && ret != MLV_EUNSUPPORTED) ||
		    strncmp(mlv_error_last(), "fuzz.mlv:", 9) || p.extra.len)
			abort();
		goto done;
	}
	mlv_pointer_format(&a, &p);
	if (a.len > MLV_POINTER_MAX || mlv_pointer_parse(&q, a.ptr, a.len, "fuzz.mlv") || !same(&p, &q))
		abort();
	mlv_pointer_format(&b, &q);
	if (a.len != b.len || memcmp(a.ptr, b.ptr, a.len))
		abort();
done:
	mlv_pointer_release(&p);
	mlv_pointer_release(&q);
	mlv_buf_release(&a);
	mlv_buf_release(&b);
	return 0;
}
