#ifndef MLV_RUN_PRIV_H
#define MLV_RUN_PRIV_H

#include <git2.h>
#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "mlv/buf.h"
#include "mlv/gpu.h"
#include "mlv/pointer.h"
#include "mlv/proc.h"
#include "mlv/runs.h"

struct mlv_repo;
struct mlv_lease;
struct mlv_metrics;

/* A pointer to keep in a run's tree, e.g. "outputs/model.safetensors.mlv". */
struct run_pointer {
	char *tree_path;
	struct mlv_pointer ptr;
};

struct run_files {
	json_t *run;                 /* run.json */
	json_t *env;                 /* env.json */
	const struct mlv_buf *diff;  /* diff.patch; absent when empty */
	const struct run_pointer *pointers;
	size_t npointers;
};

/* The canonical bytes of a record: sorted keys, exact reals, a final newline. */
char *run_json_dump(const json_t *j);

/*
 * Write the run's commit (parent: `parent`, nullable) and create
 * refs/mlv/runs/<id>, which must not exist yet.
 */
int run_record_commit(struct mlv_repo *r, const char *id, const struct run_files *f,
		      const git_oid *parent, const char *message, git_oid *out);

/* Parameters (params.c): one value as JSON reads it, else a string. */
json_t *run_param_value(const char *v, size_t len);
int run_params_add_arg(json_t *params, const char *arg);
int run_params_add_file(json_t *params, int topfd, const char *path);

/* The run being made (run.c), shared with runio.c. */
struct envv {
	char **v;
	size_t n, alloc;
};

struct run {
	struct mlv_repo *r;
	const struct mlv_run_opts *o;
	char id[MLV_RUN_ID_SIZE];
	uint32_t seed;
	struct timespec start_ts;
	double t0;
	json_t *rec, *params, *env;
	struct mlv_buf diff;
	git_oid head;
	int have_head;
	char *branch;
	char *live;    /* the live directory, absolute */
	int livefd;
	struct envv envp;
	struct mlv_gpu_inventory inv;
	int have_inv;
	struct mlv_lease *lease;
	struct mlv_metrics *metrics;
	struct run_pointer *ptrs;
	size_t nptrs, aptrs;
	json_t *inputs, *outputs;
	char *top_real;
};

void run_warnf(struct run *R, const char *fmt, ...) MLV_PRINTF(2, 3);
/* Keep a copy of pointer `p` in the run's tree at `dir`/`path`.mlv. */
void run_keep_pointer(struct run *R, const char *dir, const char *path,
		      const struct mlv_pointer *p);
/* Inputs and outputs (runio.c): declared and traced; outputs stored when `ok`. */
int run_inputs_outputs(struct run *R, const struct mlv_proc_result *res, int ok);
/* Store the live directory's logs (and series) and keep their pointers. */
int run_store_logs(struct run *R, json_t *logs, int series);

/* The pump (pump.c): the command's output and metrics while it runs. */
struct run_pump {
	struct mlv_proc *proc;
	pid_t pgid;
	double t0;              /* run_clock() at the start */
	int pipe_fd[2];         /* the read ends of the command's stdout, stderr (non-blocking) */
	int echo_fd[2];         /* where to copy them (mlv's 1, 2), -1: nowhere */
	int echo_failed[2];
	int log_fd[2];          /* the live directory's stdout.log, stderr.log */
	int log_error;          /* errno of the first failed log write */
	uint64_t log_bytes[2];
	int metrics_in;         /* the $MLV_METRICS file, -1 when none */
	struct mlv_metrics *metrics;
	char **gpu_uuids;       /* the GPUs to sample */
	size_t ngpus;
	double last_sample;
	unsigned long long last_ticks;
	struct mlv_proc_result result;
};
double run_clock(void);
/* Pump until the command has exited and its output is drained; then wait for it. */
int run_pump(struct run_pump *P);

#endif
