#ifndef MLV_GC_H
#define MLV_GC_H

/* mlv-layer: history */
#pragma GCC visibility push(default)

#include <stdint.h>
#include "storegc.h"
#include "worktree.h"

/*
 * mlv gc: what is reachable, and the whole collection.
 *
 * Reachable (the roots handed to mlv_store_gc(), which adds what trees and
 * recipes name) is the object of every pointer file found in:
 *
 *  - the tree of every commit reachable from any ref (refs/heads,
 *    refs/tags, refs/remotes, refs/mlv/..., any other ref, a tag naming a
 *    tree), from HEAD and the HEAD of every linked worktree, and from
 *    every reflog entry (old and new ids) of those refs and HEADs;
 *  - git's index of every worktree (every stage, so a conflicted merge
 *    keeps both sides);
 *  - the work tree of every worktree (its pointer files on disk);
 *  - the stat cache of every worktree.
 *
 * A pointer is a regular blob named *.mlv; one that does not parse is
 * skipped with a warning naming the commit (or index) and the path.
 * Commits that are not there (a shallow clone) end the walk there.  Each
 * git tree, each pointer blob and each commit is read once.
 */
struct mlv_gc_reach_stats {
	uint64_t worktrees;
	uint64_t tips;          /* ref targets, HEADs and reflog ids */
	uint64_t commits;
	uint64_t commits_missing; /* parents a shallow clone does not have */
	uint64_t trees;
	uint64_t pointers;      /* distinct pointer blobs read */
	uint64_t bad_pointers;
	uint64_t roots;         /* distinct object ids named */
};

typedef void (*mlv_gc_warn_fn)(void *ctx, const char *msg);

int mlv_gc_roots(struct mlv_repo *r, struct mlv_oidset *roots, mlv_gc_warn_fn warn, void *ctx,
		 struct mlv_gc_reach_stats *stats);

/*
 * The grace period: objects used at or after `*expire_ns` are kept.
 * `value` as git spells gc.pruneExpire: "now" or "0" (no grace), "never"
 * (keep everything), a number of seconds, or "<n>.<unit>[.ago]" /
 * "<n> <unit>[ ago]" with unit second, minute, hour, day, week, month (30
 * days) or year (365 days), singular or plural.  MLV_EINVALID naming
 * `value` otherwise.
 */
#define MLV_GC_GRACE_DEFAULT "14.days"
int mlv_gc_parse_grace(int64_t *expire_ns, const char *value, int64_t now_ns);

/* Config gc.grace (mlv/config.h), or MLV_GC_GRACE_DEFAULT. */
int mlv_gc_expiry(struct mlv_repo *r, int64_t now_ns, int64_t *expire_ns);

struct mlv_gc_opts {
	int dry_run;
	int64_t expire_ns;
	int lock_wait_ms;          /* for the other mlv processes to finish (0: 10 s) */
	mlv_gc_warn_fn warn;       /* a bad pointer, a missing worktree */
	void (*waiting)(void *ctx, const char *who);
	mlv_gc_item_fn item;       /* what goes (mlv/storegc.h) */
	void *ctx;
};

struct mlv_gc_result {
	struct mlv_gc_reach_stats reach;
	struct mlv_store_gc_stats store;
};

/*
 * Collect the store of `r`: take it to oneself (mlv_store_gc_lock(); not
 * for a dry run), compute what is reachable then -- so that an mlv add
 * that ran before has its pointer written and one that runs after waits
 * -- and remove the rest that is older than the grace period.
 */
int mlv_gc(struct mlv_repo *r, const struct mlv_gc_opts *o, struct mlv_gc_result *out);

#pragma GCC visibility pop

#endif
