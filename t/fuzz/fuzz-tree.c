/*
 * libFuzzer target for the tree object parser (see t/fuzz/README).
 *
 * The encoding is canonical, so any input the strict parser accepts must
 * re-encode to exactly the same bytes; every entry must be found by name.
 * Entry names go through the one path gate: mlv_name_valid() agrees with
 * mlv_path_component_valid() on any bytes, and no accepted entry has a
 * name that the gate (or the slow reference in reference.h) refuses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/path.h"
#include "mlv/tree.h"
#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every NUL-separated piece of the input, as a name, gets the same answer from both. */
static void check_name_gate(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	if (mlv_name_valid((const char *)data, size) != mlv_path_component_valid((const char *)data, size))
		abort();
	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);

		if (mlv_name_valid(p, len) != mlv_path_component_valid(p, len) ||
		    (mlv_name_valid(p, len) && ref_component_bad(p, len)))
			abort();
		if (!nul)
			break;
		p = nul + 1;
	}
}

/* An accepted entry's name passes every form of the path gate. */
static void check_entry_name(const char *name)
{
	size_t len = strlen(name);

	if (!mlv_name_valid(name, len) || !mlv_path_component_valid(name, len) ||
	    !mlv_path_valid(name) || mlv_path_check(name, 0, "fuzz") || ref_component_bad(name, len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlv_tree t = MLV_TREE_INIT, u = MLV_TREE_INIT;
	struct mlv_buf b = MLV_BUF_INIT;
	int ret;

	check_name_gate(data, size);
	ret = mlv_tree_parse(&t, data, size, "fuzz");
	if (ret) {
		if (ret != MLV_EINVALID || !strstr(mlv_error_last(), "fuzz") || t.nr || t.entries)
			abort();
		goto done;
	}
	if (mlv_tree_encode(&b, &t) || b.len != size || memcmp(b.ptr, data, size))
		abort();
	for (size_t i = 0; i < t.nr; i++) {
		check_entry_name(t.entries[i].name);
		if (mlv_tree_find(&t, t.entries[i].name) != &t.entries[i])
			abort();
	}
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
