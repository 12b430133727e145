#ifndef MLV_WORKTREE_CHECKOUT_H
#define MLV_WORKTREE_CHECKOUT_H

/*
 * mlv checkout, private to checkout.c (carrying a plan out) and
 * checkout-plan.c (making and verifying it).
 */
#include <stdint.h>

#include "mlv/store.h"
#include "mlv/worktree.h"
#include "worktree/scan.h"

/*
 * Upper bounds on the work one pointer may ask for, each a clear error
 * naming the pointer: entries visited (a shared subtree counts each time
 * it is reached; the store's limit), and the bytes of a
 * symlink's target.  Paths are bounded by MLV_PATH_MAX, which bounds the
 * depth too.
 */
#define CHECKOUT_ENTRIES_MAX ((unsigned long long)MLV_TREE_VISIT_MAX)
#define CHECKOUT_LINK_MAX 4095

enum checkout_op {
	CK_WRITE,      /* a regular file or symlink from the store */
	CK_REMOVE,     /* a file or symlink */
	CK_RMDIR,      /* a directory, if it is empty by then */
	CK_MKDIR,
	CK_CLEAN_TEMP, /* temporary files of dead processes in directory `path` */
};

struct checkout_action {
	enum checkout_op op;
	char *path;
	struct mlv_oid id;
	uint32_t mode;
	uint64_t size;
	size_t art;    /* index of the artifact in the list */
	char *target;  /* CK_WRITE of a symlink: its target, read while verifying */
	int fresh;     /* CK_WRITE: nothing was there when planned */
};

struct checkout_plan {
	struct mlv_repo *repo;
	struct mlv_store *store;
	struct scan scan; /* hash-only scan for files already on disk */
	const struct mlv_wt_callbacks *cb;
	const struct mlv_checkout_opts *opts;
	struct mlv_checkout_result *res;

	struct checkout_action *acts;
	size_t nr, alloc;

	/* The artifact being planned. */
	const struct mlv_artifact *a;
	size_t art;
	int bad;          /* it has a bad pointer or object: none of its actions run */
	int stop;         /* it asks for too much: stop walking it */
	uint64_t visited; /* entries visited for it */
	uint64_t files;   /* files and symlinks among them */
	int count_files;  /* hold `files` to what its pointer says */
	size_t missing, bad_total;
};

/* Plan item `i` of `list` (problems and conflicts go to p->res). */
int checkout_plan_artifact(struct checkout_plan *p, const struct mlv_artifact_list *list,
			   size_t i);

void checkout_plan_release(struct checkout_plan *p);

#endif
