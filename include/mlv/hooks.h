#ifndef MLV_HOOKS_H
#define MLV_HOOKS_H

/* mlv-layer: history */
#pragma GCC visibility push(default)

#include "worktree.h"

/*
 * mlv's git hooks and merge driver (mlv-hooks(1)).
 *
 * The hooks live where git looks for them: core.hooksPath when it is set
 * (a relative value is relative to the top of the work tree, as git takes
 * it), else $GIT_COMMON_DIR/hooks, shared by every linked worktree.  Each
 * is a small sh script whose second line is MLV_HOOK_MARKER; a hook that
 * was there before is moved aside to "<hook>.pre-mlv" and run first by
 * mlv's script, which stops with its status when it fails.  A hook
 * without the marker is somebody else's: it is never overwritten or
 * removed.
 *
 * The merge driver is registered in the repository's own git config
 * (merge.mlv.name, merge.mlv.driver) and by the line MLV_HOOKS_ATTR_LINE
 * in the top-level .gitattributes, edited under its lock and never
 * through a symlink.
 */
#define MLV_HOOK_MARKER "# mlv hook v1"
#define MLV_HOOK_CHAIN_SUFFIX ".pre-mlv"
#define MLV_HOOKS_ATTR_LINE "*.mlv merge=mlv"
#define MLV_HOOKS_NR 3

/* "post-checkout", "post-merge", "pre-commit": the hooks mlv installs. */
extern const char *const mlv_hook_names[MLV_HOOKS_NR];

enum mlv_hook_state {
	MLV_HOOK_ABSENT = 0,  /* no hook */
	MLV_HOOK_INSTALLED,   /* mlv's hook */
	MLV_HOOK_CHAINED,     /* mlv's hook, running <hook>.pre-mlv first */
	MLV_HOOK_FOREIGN,     /* a hook without mlv's marker (somebody else's, or edited) */
};

/* "not installed", "installed", "chained", "foreign". */
const char *mlv_hook_state_name(enum mlv_hook_state s);

struct mlv_hook_info {
	const char *name;     /* one of mlv_hook_names */
	enum mlv_hook_state state;
	int has_chained;      /* <hook>.pre-mlv exists */
	int executable;       /* the hook file is executable (git skips it otherwise) */
};

struct mlv_hooks_status {
	char *dir;            /* the hooks directory, absolute */
	struct mlv_hook_info hooks[MLV_HOOKS_NR];
	char *driver;         /* merge.mlv.driver, or NULL */
	int attr;             /* *.mlv files merge with "mlv" (git's attributes say so) */
	int attr_line;        /* the top-level .gitattributes holds MLV_HOOKS_ATTR_LINE */
};

/* The hooks directory as git finds it (absolute, malloc'd). */
int mlv_hooks_dir(char **out, struct mlv_repo *r);

int mlv_hooks_status(struct mlv_hooks_status *out, struct mlv_repo *r);
void mlv_hooks_status_release(struct mlv_hooks_status *st);

/* What install or uninstall did to one hook (or to the merge driver). */
enum mlv_hook_action {
	MLV_HOOK_KEPT = 0,    /* nothing to do: already as wanted */
	MLV_HOOK_WROTE,       /* mlv's hook written (new, or updated) */
	MLV_HOOK_CHAIN,       /* an existing hook moved to <hook>.pre-mlv, mlv's written */
	MLV_HOOK_REMOVED,     /* mlv's hook removed */
	MLV_HOOK_RESTORED,    /* mlv's hook removed, <hook>.pre-mlv put back */
	MLV_HOOK_LEFT,        /* a hook without the marker, left alone (see `warning`) */
};

/* "unchanged", "installed", "chained", "removed", "restored", "left". */
const char *mlv_hook_action_name(enum mlv_hook_action a);

struct mlv_hooks_result {
	char *dir;
	enum mlv_hook_action hooks[MLV_HOOKS_NR];
	char *warnings[MLV_HOOKS_NR]; /* why a hook was left alone, or NULL */
	int config_changed;   /* merge.mlv.* written (install) or removed (uninstall) */
	int attr_changed;     /* the .gitattributes line added or removed */
	char *attr_warning;   /* uninstall: why .gitattributes was left alone, or NULL */
};

void mlv_hooks_result_release(struct mlv_hooks_result *res);

/*
 * Install the hooks and register the merge driver.  `mlv_path` is the
 * absolute path of the mlv binary the scripts and the driver run (they
 * fall back to "mlv" on PATH when it is gone).  Installing twice changes
 * nothing.  Everything is checked before anything is written: a hook
 * without the marker whose "<hook>.pre-mlv" also exists cannot be
 * chained, and is MLV_EEXISTS naming both, with nothing changed.
 */
int mlv_hooks_install(struct mlv_hooks_result *out, struct mlv_repo *r, const char *mlv_path);

/*
 * Remove mlv's hooks (those with the marker), putting back each
 * "<hook>.pre-mlv"; a hook without the marker is left alone with a
 * warning in out->warnings (and its .pre-mlv with it).  Removes the merge
 * driver's config section and the .gitattributes line (the file too, when
 * nothing else is left in it).
 */
int mlv_hooks_uninstall(struct mlv_hooks_result *out, struct mlv_repo *r);

/*
 * The pre-commit check: each pointer (*.mlv, stage 0) in git's index --
 * the file GIT_INDEX_FILE names when set, as git passes it to hooks --
 * that is new or changed relative to HEAD must name content that is in
 * the store in full (every file of a tracked directory).  Each one that
 * does not goes to `fn`; <0 only when the check itself failed.
 */
struct mlv_staged_problem {
	const char *pointer;  /* the pointer's path in the index */
	const char *path;     /* its data path ("" when the name fails the path gate) */
	const char *message;  /* what is wrong, naming the path (and object) */
	int bad_pointer;      /* the staged pointer is not a valid pointer */
	int in_worktree;      /* the work tree holds exactly the missing content */
	int worktree_differs; /* the work tree holds other content at `path` */
};
typedef void (*mlv_staged_problem_fn)(void *ctx, const struct mlv_staged_problem *p);
int mlv_hooks_check_staged(struct mlv_repo *r, mlv_staged_problem_fn fn, void *ctx,
			   size_t *checked);

#pragma GCC visibility pop

#endif
