/*
 * libFuzzer target for the tree object parser (see t/fuzz/README).
 *
 * The encoding is canonical, so any input the strict parser accepts must
 * re-encode to exactly the same bytes; every entry must be found by name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlv_tree t = MLV_TREE_INIT, u = MLV_TREE_INIT;
	struct mlv_buf b = MLV_BUF_INIT;
	int ret;

	ret = mlv_tree_parse(&t, data, size, "fuzz");
	if (ret) {
		if (ret != MLV_EINVALID || !strstr(mlv_error_last(), "fuzz") || t.nr || t.entries)
			abort();
		goto done;
	}
	if (mlv_tree_encode(&b, &t) || b.len != size || memcmp(b.ptr, data, size))
		abort();
	for (size_t i = 0; i < t.nr; i++)
		if (mlv_tree_find(&t, t.entries[i].name) != &t.entries[i])
			abort();
	/* Sorting an already sorted tree changes nothing. */
	mlv_tree_sort(&t);
	mlv_buf_reset(&b);
	if (mlv_tree_encode(&b, &t) || b.len != size || memcmp(b.ptr, data, size) ||
	    mlv_tree_parse(&u, b.ptr, b.len, "fuzz") || u.nr != t.nr)
		abort();
done:
	mlv_tree_release(&t);
	mlv_tree_release(&u);
	mlv_buf_release(&b);
	return 0;
}
