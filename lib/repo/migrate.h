#ifndef MLV_REPO_MIGRATE_H
#define MLV_REPO_MIGRATE_H

#include "mlv/repo.h"

/*
 * Move a store of the old layout (<top>/.mlv/store/packs, .mlv/index.db)
 * to $GIT_COMMON_DIR/mlv, under the lock $GIT_COMMON_DIR/mlv/migrate.lock,
 * resumably: packs one at a time (rename, or copy + fsync + rename across
 * file systems), then the index (a rename; across file systems, or when
 * a new index is already there from an interrupted run, the index is
 * rebuilt from the packs instead, and the old one removed only after).
 * Every step can be interrupted and the next call carries on.  A symlink
 * at .mlv/store, .mlv/store/packs or .mlv/index.db is an error naming it:
 * nothing is read or written through it.  0 when done (or nothing to do).
 */
int mlv_repo_migrate(struct mlv_repo *r);

/*
 * Where mlv keeps its own files, `path` (below the work tree) must be a
 * directory (`want_dir`) or a regular file, never a symlink: 1 when it
 * is, 0 when it does not exist, else MLV_EINVALID naming it.
 */
int mlv_repo_check_own(struct mlv_repo *r, const char *path, int want_dir);

#endif
