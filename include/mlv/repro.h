#ifndef MLV_REPRO_H
#define MLV_REPRO_H

/* mlv-layer: run */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "oid.h"
#include "run.h"
#include "runs.h"
#include "tensordiff.h"

struct mlv_repo;

/*
 * Doing a recorded run again (mlv-repro(1)).
 *
 * mlv_repro() makes a temporary linked worktree of the repository at the
 * run's git commit, detached (git_worktree_add() through a short-lived
 * branch "mlv-repro-<token>", which is deleted once HEAD is detached), in
 * $GIT_COMMON_DIR/mlv/repro/<token>/; applies the run's diff.patch; writes
 * the run's copies of its input pointers (inputs/<path>.mlv of the run's
 * tree) there and checks out their data from the shared store, so the
 * inputs are what the run read, whatever the work tree holds now; then
 * runs the same command in the same directory with the same seed,
 * determinism flag, parameters, declared inputs and outputs, metric
 * sources, environment variable names and GPU request (run.json
 * "options") through mlv_run_execute(), recorded as a run that
 * `reproduces` the original.  Every output of the original is declared
 * (-o), so an output found by tracing then is looked for now even where
 * tracing is not permitted.
 *
 * While it works, <token>.lock beside the worktree is held with flock():
 * a repro that was killed leaves a worktree whose lock is free, and the
 * next mlv_repro() (or mlv_repro_clean_stale()) removes it -- its
 * directory, git's administrative directory and the branch.  With `keep`
 * the worktree stays (a normal linked worktree, `git worktree remove
 * --force <path>` removes it) and is never taken for a leftover.
 */

/* How one output compares. */
struct mlv_repro_file; /* a file of a directory output whose ids differ */

struct mlv_repro_output {
	char *path;             /* repo-relative */
	int type_dir;           /* the original is a directory */
	int has_orig, has_now;  /* the original recorded it; the repro wrote it */
	struct mlv_oid orig, now;
	int match;              /* has_orig && has_now && ids equal */
	/*
	 * For a file that differs and is a safetensors or .npy file (by its
	 * content or its name): the comparison, or why there is none.
	 */
	int has_tensors;
	struct mlv_tensordiff tensors;
	char *tensor_error;
	/* For a directory that differs: its files that differ, at most MLV_REPRO_FILES_MAX. */
	struct mlv_repro_file *files;
	size_t nr_files;
	uint64_t files_omitted;
};

#define MLV_REPRO_FILES_MAX 1000

struct mlv_repro_file {
	char *path;             /* repo-relative */
	int kind;               /* 'A' only now, 'D' only in the original, 'M', 'T' */
	struct mlv_oid orig, now;
	int has_tensors;
	struct mlv_tensordiff tensors;
	char *tensor_error;
};

struct mlv_repro_opts {
	const char *spec;    /* the run to do again (mlv_runs_resolve()) */
	int keep;            /* leave the worktree */
	int quiet;           /* do not copy the command's output to mlv's */
	int stdout_to_stderr; /* copy the command's stdout to mlv's stderr (for --json) */
	mlv_run_warn_fn warn;
	void *warn_ctx;
	/* Called once the worktree is ready, before the command starts (nullable). */
	void (*started)(void *ctx, const char *orig_id, const char *worktree);
	void *started_ctx;
};

struct mlv_repro_result {
	char orig_id[MLV_RUN_ID_SIZE];
	char new_id[MLV_RUN_ID_SIZE]; /* "" when nothing was recorded */
	json_t *orig;          /* the original's run.json */
	json_t *now;           /* the repro's run.json (NULL when not recorded) */
	int code;              /* the repro's exit code (env(1) rules) */
	int orig_code;         /* the original's status.code (-1 unknown) */
	char *worktree;        /* where it ran; still there only with `keep` */
	struct mlv_repro_output *outputs; /* the original's outputs, then new ones, by path */
	size_t nr_outputs;
	size_t mismatches;     /* outputs that are not bit-identical (either side missing counts) */
	/*
	 * Final metrics that differ (mlv_metrics_diff() of "metrics.final",
	 * system series "sys.*" and "gpu<N>.*" left out): an array.
	 */
	json_t *metrics_diff;
	int env_same;          /* the environment hashes are equal */
	json_t *env_diff;      /* mlv_env_diff() of the two env.json when not (NULL if unreadable) */
	size_t inputs_checked_out;
	uint64_t input_bytes;
};

/*
 * Do run `o->spec` again and compare.  0 when the repro ran and was
 * recorded -- whatever the command did (see `code`, `mismatches`);
 * <0 when mlv failed before or while running it (the run unknown, its
 * commit unreadable, the diff not applying, an input missing from the
 * store, ...), with a message naming what.  `out` is filled as far as
 * it got; release it either way.
 */
int mlv_repro(struct mlv_repo *r, const struct mlv_repro_opts *o, struct mlv_repro_result *out);
void mlv_repro_result_release(struct mlv_repro_result *res);

/*
 * 1 when the repro reproduced the run: it was recorded, exited with the
 * original's code, and every output is bit-identical.
 */
int mlv_repro_verified(const struct mlv_repro_result *res);

/*
 * Remove what killed repros left: worktrees in $GIT_COMMON_DIR/mlv/repro/
 * whose lock is free, their administrative directories and branches.
 * `removed` (nullable) counts them.
 */
int mlv_repro_clean_stale(struct mlv_repo *r, size_t *removed);

#pragma GCC visibility pop

#endif
