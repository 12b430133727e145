#ifndef MLV_RUNS_PRIV_H
#define MLV_RUNS_PRIV_H

/*
 * Shared by runref.c (refs, commits, live directories) and runsdb.c (the
 * query cache).  Nothing here is exported from libmlv.
 */
#include <jansson.h>
#include "mlv/buf.h"
#include "mlv/repo.h"
#include "mlv/runs.h"

/* A ref below refs/mlv/runs/: `name` is what follows the prefix (hostile bytes). */
struct runs_ref {
	char *name;
	char hex[65];
};

struct runs_ref_list {
	struct runs_ref *v;
	size_t nr, alloc;
};

/*
 * Every ref below refs/mlv/runs/, sorted by name: loose ones (read from
 * files whose names are valid ids, opened without following symlinks)
 * over packed ones.  Loose names that are not ids are listed with an
 * empty `hex` (never opened); symbolic refs and subdirectories too.
 */
/*
 * `known` (nullable) saves reading loose ref files that did not change: a
 * file whose ctime is before `trust_before_ns` (the time of the previous
 * listing, less a margin) and whose name `known` gives a commit for is
 * taken to name that commit.  ctime cannot be set back by any tool, and
 * git replaces a ref by renaming a new file over it.
 */
typedef const char *(*runs_known_fn)(void *ctx, const char *name);
int runs_refs_list(struct mlv_repo *r, struct runs_ref_list *out, runs_known_fn known,
		   void *known_ctx, int64_t trust_before_ns);
void runs_ref_list_release(struct runs_ref_list *l);

/*
 * What changes whenever a ref below refs/mlv/runs/ changes: size, mtime
 * and inode of packed-refs and of the directory refs/mlv/runs.  `racy`
 * is set when one of them changed too recently to trust a later match.
 */
void runs_refs_signature(struct mlv_repo *r, struct mlv_buf *sig, int *racy);

/* run.json of commit `hex` for run `id`, validated (MLV_EINVALID with the reason). */
int runs_read_commit(struct mlv_repo *r, const char *id, const char *hex, json_t **run);

/* Ids of the live directories (valid names only; others are warned about). */
int runs_live_ids(struct mlv_repo *r, char ***ids, size_t *n);

/* Pass a warning to the callback; `what` is made printable first. */
void runs_warn(const char *what, const char *why);

/* A number as short as it reads back exactly ("0.01", "4", "1e-05"). */
void runs_fmt_num(char out[40], double v);

#endif
