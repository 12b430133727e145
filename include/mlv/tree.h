#ifndef MLV_TREE_H
#define MLV_TREE_H

#pragma GCC visibility push(default)

#include <stdint.h>
#include "buf.h"
#include "oid.h"
#include "path.h"

/*
 * Tree objects: one per tracked directory, a canonical listing of its
 * entries sorted by name bytes (mlv-formats(5)):
 *
 *	"mlvtree 1\n"
 *	then per entry: <mode octal> SP <size decimal> SP <name> NUL <32-byte id>
 *
 * A subdirectory's id is its own tree's id and its size the total bytes of
 * the files below it.  A symlink's id is the blob of its target string.
 */
#define MLV_MODE_FILE 0100644u
#define MLV_MODE_EXEC 0100755u
#define MLV_MODE_LINK 0120000u
#define MLV_MODE_DIR  0040000u

/*
 * Most entries one tree object may hold: parsing and encoding refuse more
 * (MLV_EINVALID).  Walks have their own limits (mlv/store.h).
 */
#define MLV_TREE_ENTRIES_MAX (1u << 22)


struct mlv_tree_entry {
	char *name;
	uint32_t mode;
	uint64_t size;
	struct mlv_oid oid;
};

struct mlv_tree {
	struct mlv_tree_entry *entries;
	size_t nr, alloc;
};

#define MLV_TREE_INIT { NULL, 0, 0 }
void mlv_tree_release(struct mlv_tree *t);

/* Append an entry (name copied). Does not check or sort. */
void mlv_tree_add(struct mlv_tree *t, const char *name, uint32_t mode, uint64_t size,
		  const struct mlv_oid *oid);
/* Sort entries by name bytes. */
void mlv_tree_sort(struct mlv_tree *t);
/*
 * Append the encoding of a sorted tree to `out`.  MLV_EINVALID (and `out`
 * unchanged) if names are not valid entry names (mlv_name_valid()),
 * duplicated, or unsorted, or a mode or size could not be parsed back.
 */
int mlv_tree_encode(struct mlv_buf *out, const struct mlv_tree *t);
/*
 * Parse an encoded tree strictly: header, at most MLV_TREE_ENTRIES_MAX
 * entries, known modes, sizes without leading zeros that fit in 63 bits, names valid and strictly increasing
 * (so no duplicates), each id complete, nothing after the last entry.
 * `what` names the object in messages ("corrupt tree <what>: entry 3 at
 * offset 120: invalid name").  `out` must be initialised; its previous
 * entries are released, and on failure it is left empty.
 */
int mlv_tree_parse(struct mlv_tree *out, const void *data, size_t len, const char *what);
/* The tree mode of what lstat(2) described: link, directory, executable or plain file. */
struct stat;
uint32_t mlv_tree_mode(const struct stat *st);

/* Binary search by name; NULL if absent. */
const struct mlv_tree_entry *mlv_tree_find(const struct mlv_tree *t, const char *name);

/*
 * A valid entry name: a valid path component (mlv/path.h: a tree could
 * otherwise plant a repository in the work tree).  Newlines and other
 * bytes are allowed: they are valid file names.
 */
int mlv_name_valid(const char *name, size_t len);

#pragma GCC visibility pop

#endif
