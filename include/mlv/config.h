#ifndef MLV_CONFIG_H
#define MLV_CONFIG_H

/* mlv-layer: repo */
#pragma GCC visibility push(default)

#include "repo.h"

/*
 * mlv's settings, in git-config syntax.  `key` is "<section>.<name>"
 * ("gc.grace"); it is looked up, the first one found winning, in:
 *
 *	git's configuration, as `mlv.<key>` (the repository's, the user's,
 *	    the system's, as git reads them)
 *	<top>/.mlv/config.local     this machine's settings, not committed
 *	<top>/.mlv/config           the project's settings, committed
 *
 * A file of .mlv that is a symbolic link (or .mlv itself) is refused
 * (MLV_EINVALID naming it), never read through.  `*out` is a string the
 * caller frees.  MLV_ENOTFOUND (no message set) when no file sets it.
 */
int mlv_config_get(struct mlv_repo *r, const char *key, char **out);
/*
 * The same without the committed .mlv/config: for settings of the machine
 * (where GPU leases are kept) that a cloned repository must not choose.
 * `r` may be NULL outside a repository: then git's user and system
 * configuration only.
 */
int mlv_config_get_local(struct mlv_repo *r, const char *key, char **out);

#pragma GCC visibility pop

#endif
