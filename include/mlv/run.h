#ifndef MLV_RUN_H
#define MLV_RUN_H

/* mlv-layer: run */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "buf.h"
#include "runs.h"

struct mlv_repo;

/*
 * Recorded runs (mlv-run(1), mlv-formats(5) RUNS).
 *
 * mlv_run_execute() runs a command in a work tree and records it: the
 * command, its seed, parameters, the git state with the uncommitted diff,
 * inputs and outputs by id, metrics, logs, the environment, the GPUs it
 * leased and how it ended.  The record is a git commit on
 * refs/mlv/runs/<id> (see issue8's design: run.json, env.json,
 * diff.patch, logs/, metrics/, inputs/, outputs/).
 */

/* Called with each user-facing warning (tracing unavailable, a malformed metrics line ...). */
typedef void (*mlv_run_warn_fn)(void *ctx, const char *msg);

struct mlv_run_opts {
	const char *const *argv;      /* the command; argv[0] searched in PATH */
	const char *cwd;              /* where to run it, relative to the work tree top ("" = top) */
	const char *name;             /* --name, or NULL */
	int have_seed;                /* seed given; otherwise a fresh random one */
	uint32_t seed;
	int deterministic;            /* --deterministic */
	const char *const *params;    /* -p "key=value" */
	size_t nparams;
	const char *const *param_files; /* -P params.yaml|.json, repo-relative */
	size_t nparam_files;
	const char *const *inputs;    /* -d, repo-relative paths */
	size_t ninputs;
	const char *const *outputs;   /* -o, repo-relative paths (files or directories) */
	size_t noutputs;
	const char *const *metric_files; /* -M, repo-relative */
	size_t nmetric_files;
	const char *metrics_from;     /* --metrics-from REGEX, or NULL */
	const char *gpus;             /* --gpus spec, or NULL */
	int wait;                     /* --wait: queue for the GPUs */
	int wait_seconds;             /* --wait=SECONDS; -1: no limit */
	int no_trace;                 /* --no-trace */
	const char *const *env_vars;  /* --env-var NAME */
	size_t nenv_vars;
	const char *reproduces;       /* the run id this one reproduces, or NULL */
	int quiet;                    /* do not copy the command's output to mlv's stdout/stderr */
	int stdout_to_stderr;         /* copy the command's stdout to mlv's stderr (--json) */
	mlv_run_warn_fn warn;
	void *warn_ctx;
};

struct mlv_run_outcome {
	char id[MLV_RUN_ID_SIZE];
	int code;         /* what `mlv run` exits with (env(1) rules: status, 128+N, 126, 127) */
	json_t *record;   /* run.json as stored (owned; released by mlv_run_outcome_release) */
};

/*
 * Run and record.  Returns 0 when the run was recorded -- whatever the
 * command's own status (out->code) -- and <0 when mlv itself failed
 * (nothing recorded, or recorded as "error"; out->code is then 125, or
 * 126/127 when the command could not be started, which is recorded too).
 */
int mlv_run_execute(struct mlv_repo *r, const struct mlv_run_opts *o, struct mlv_run_outcome *out);
void mlv_run_outcome_release(struct mlv_run_outcome *out);

/*
 * The uncommitted state of the work tree against HEAD, as a git patch
 * (binary files included; untracked files that git does not ignore
 * included as new files, except those larger than MLV_RUN_DIFF_FILE_MAX
 * or named like credentials (.env, *.pem, id_rsa ...): their names, and
 * why, are appended to `skipped`).  Empty `out` when clean.
 */
#define MLV_RUN_DIFF_FILE_MAX (1u << 20)
int mlv_run_worktree_diff(struct mlv_repo *r, struct mlv_buf *out, struct mlv_buf *skipped);
/* Apply such a patch to the work tree of `r` (which is at the patch's base commit). */
int mlv_run_apply_diff(struct mlv_repo *r, const void *patch, size_t len);

#pragma GCC visibility pop

#endif
