/*
 * libFuzzer target for the pointer file parser (see t/fuzz/README).
 *
 * Any input either fails with a message naming the file (its line, or
 * "merge conflict in <file>" when a line starts with a git conflict
 * marker), or parses into a pointer whose canonical form parses back to
 * the same pointer and formats to the same bytes.  An input with a
 * conflict marker line never parses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/pointer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CONFLICT_MSG "merge conflict in fuzz.mlv"

/*
 * Does a line start with a git merge-conflict marker?  With `loose`, any
 * run of seven '<', '|', '=' or '>' counts; else only the markers git
 * writes ("<<<<<<< ", "||||||| ", "=======", ">>>>>>> ").
 */
static int has_marker(const uint8_t *data, size_t size, int loose)
{
	static const char *const markers[] = { "<<<<<<< ", "||||||| ", "=======", ">>>>>>> " };

	for (size_t i = 0; i < size; i++) {
		if (i && data[i - 1] != '\n')
			continue;
		for (size_t k = 0; k < 4; k++) {
			size_t n = loose ? 7 : strlen(markers[k]);

			if (size - i >= n && !memcmp(data + i, markers[k], n))
				return 1;
		}
	}
	return 0;
}

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
		if ((ret != MLV_EINVALID && ret != MLV_EUNSUPPORTED) || p.extra.len)
			abort();
		if (!strcmp(mlv_error_last(), CONFLICT_MSG) ? !has_marker(data, size, 1) :
		    strncmp(mlv_error_last(), "fuzz.mlv:", 9) != 0)
			abort();
		goto done;
	}
	if (has_marker(data, size, 0))
		abort();
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
