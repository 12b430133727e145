#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlv/envinfo.h"
#include "mlv/error.h"
#include "mlv/fs.h"
#include "mlv/gpu.h"
#include "mlv/lease.h"
#include "mlv/metrics.h"
#include "mlv/proc.h"
#include "mlv/repo.h"
#include "mlv/run.h"
#include "mlv/runs.h"
#include "mlv/store.h"
#include "mlv/worktree.h"
#include "run/run-priv.h"

/*
 * mlv run (mlv-run(1)): plan, run, record.
 *
 * Everything that can be refused is checked before the command starts
 * (arguments, inputs, GPUs); the live directory says a run is going; the
 * command's output and metrics are pumped while it runs; then outputs are
 * stored, and the run is recorded as one commit on refs/mlv/runs/<id>,
 * whatever the command's fate -- a failed or interrupted run is a result
 * too.
 */

extern char **environ;

/* The run in progress, for the signal handler. */
static struct mlv_proc *volatile running;
static volatile sig_atomic_t interrupted;

static void forward_signal(int sig)
{
	interrupted = sig;
	if (running)
		mlv_proc_kill(running, sig);
}

static void ignore_signal(int sig)
{
}

static int lease_interrupted(void *payload)
{
	return interrupted != 0;
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))


static void envv_set(struct envv *e, const char *name, const char *value)
{
	size_t len = strlen(name);
	char *kv = mlv_xstrfmt("%s=%s", name, value);

	for (size_t i = 0; i < e->n; i++)
		if (!strncmp(e->v[i], name, len) && e->v[i][len] == '=') {
			free(e->v[i]);
			e->v[i] = kv;
			return;
		}
	if (e->n + 2 > e->alloc) {
		e->alloc = e->alloc ? 2 * e->alloc : 64;
		e->v = mlv_realloc(e->v, e->alloc * sizeof(*e->v));
	}
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

static const char *envv_get(const struct envv *e, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < e->n; i++)
		if (!strncmp(e->v[i], name, len) && e->v[i][len] == '=')
			return e->v[i] + len + 1;
	return NULL;
}

static void envv_release(struct envv *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
}

static int make_id(char id[MLV_RUN_ID_SIZE], uint32_t *seed_out, const struct timespec *now)
{
	uint32_t rnd[2];
	struct tm tm;
	char when[64], buf[128];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return mlv_error_set_errno(MLV_EIO, "cannot read random bytes");
	gmtime_r(&now->tv_sec, &tm);
	strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
	/* 3 hex digits of the second's fraction keep ids in time order, then 5 random. */
	snprintf(buf, sizeof(buf), "%s-%03x%05x", when,
		 (unsigned)((uint64_t)now->tv_nsec * 4096 / 1000000000), rnd[0] & 0xfffff);
	if (strlen(buf) != MLV_RUN_ID_LEN)
		return mlv_error_set(MLV_ERROR, "the clock gives no usable run id");
	memcpy(id, buf, MLV_RUN_ID_SIZE);
	*seed_out = rnd[1];
	return 0;
}

static json_t *iso_time(const struct timespec *ts)
{
	struct tm tm;
	char s[40];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	return json_sprintf("%s.%06ldZ", s, ts->tv_nsec / 1000);
}

static json_t *json_strv(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *s = json_string(v[i]);

		json_array_append_new(a, s ? s : json_null());
	}
	return a;
}

/* A string as JSON, or null when it is not UTF-8 (a path, a user name). */
static json_t *json_str_or_null(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

/* The variables a run sets for the command (mlv-run(1), ENVIRONMENT). */
static void set_run_env(struct envv *e, const struct mlv_run_opts *o, const char *id,
			uint32_t seed, const char *metrics_path)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", seed);
	envv_set(e, "MLV_RUN_ID", id);
	envv_set(e, "MLV_SEED", s);
	envv_set(e, "PYTHONHASHSEED", s);
	envv_set(e, "PL_GLOBAL_SEED", s);
	envv_set(e, "MLV_METRICS", metrics_path);
	if (!envv_get(e, "PYTHONUNBUFFERED"))
		envv_set(e, "PYTHONUNBUFFERED", "1"); /* output as it is printed */
	if (o->deterministic) {
		const char *ws = envv_get(e, "CUBLAS_WORKSPACE_CONFIG");
		const char *xla = envv_get(e, "XLA_FLAGS");

		if (!ws || (strcmp(ws, ":4096:8") && strcmp(ws, ":16:8")))
			envv_set(e, "CUBLAS_WORKSPACE_CONFIG", ":4096:8");
		envv_set(e, "TF_DETERMINISTIC_OPS", "1");
		envv_set(e, "TF_CUDNN_DETERMINISTIC", "1");
		if (!xla || !strstr(xla, "--xla_gpu_deterministic_ops=true")) {
			char *v = mlv_xstrfmt("%s%s--xla_gpu_deterministic_ops=true", xla ? xla : "",
					      xla && *xla ? " " : "");

			envv_set(e, "XLA_FLAGS", v);
			free(v);
		}
		envv_set(e, "NCCL_ALGO", "Ring");
		envv_set(e, "NCCL_PROTO", "Simple");
		envv_set(e, "NCCL_NVLS_ENABLE", "0");
		envv_set(e, "CUDA_DEVICE_ORDER", "PCI_BUS_ID");
	}
}


void run_warnf(struct run *R, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (R->o->warn)
		R->o->warn(R->o->warn_ctx, msg);
}

static void metrics_warn(void *data, const char *msg)
{
	run_warnf(data, "%s", msg);
}

static int git_state(struct run *R)
{
	git_reference *head = NULL;
	int err = 0;

	if (!git_repository_head(&head, R->r->git)) {
		const git_oid *id = git_reference_target(head);

		if (id) {
			git_oid_cpy(&R->head, id);
			R->have_head = 1;
		}
		if (git_reference_is_branch(head))
			R->branch = mlv_strdup(git_reference_shorthand(head));
	} else {
		git_error_clear();
		if (!git_repository_head_unborn(R->r->git)) /* detached and unreadable */
			err = mlv_git_error(MLV_ENOTFOUND, "cannot read HEAD");
		else if (!git_reference_lookup(&head, R->r->git, "HEAD") &&
			 git_reference_symbolic_target(head) &&
			 !strncmp(git_reference_symbolic_target(head), "refs/heads/", 11))
			R->branch = mlv_strdup(git_reference_symbolic_target(head) + 11);
		git_error_clear();
	}
	git_reference_free(head);
	if (!err) {
		struct mlv_buf skipped = MLV_BUF_INIT;

		err = mlv_run_worktree_diff(R->r, &R->diff, &skipped);
		if (!err && skipped.len)
			run_warnf(R, "the run's diff leaves out untracked %s; track data with "
				  "'mlv add', or ignore it in git", skipped.ptr);
		mlv_buf_release(&skipped);
	}
	return err;
}

static int write_live_record(struct run *R)
{
	char *s = run_json_dump(R->rec);
	int fd, err = 0;

	if (!s)
		return mlv_error_set(MLV_EINVALID, "cannot encode the live run record");
	fd = openat(R->livefd, "run.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		    O_NOFOLLOW, 0644);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s) ||
	    renameat(R->livefd, "run.json.tmp", R->livefd, "run.json"))
		err = mlv_error_set_errno(MLV_EIO, "cannot write %s/run.json", R->live);
	if (fd >= 0)
		close(fd);
	free(s);
	return err;
}

static int open_live(struct run *R)
{
	char *parent;
	int pfd, err;

	R->live = mlv_run_live_dir(R->r, R->id);
	parent = mlv_xstrfmt("%s/runs/live", R->r->storedir);
	pfd = open(R->r->storedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0) {
		err = mlv_error_set_errno(MLV_EIO, "cannot open %s", R->r->storedir);
		goto done;
	}
	if ((err = mlv_fs_mkdirs(pfd, "runs/live")))
		goto done;
	if (mkdirat(pfd, strchr(R->live + strlen(R->r->storedir), 'r'), 0755) ||
	    (R->livefd = openat(pfd, strchr(R->live + strlen(R->r->storedir), 'r'),
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		err = mlv_error_set_errno(MLV_EIO, "cannot make %s", R->live);
done:
	if (pfd >= 0)
		close(pfd);
	free(parent);
	return err;
}

static void remove_live(struct run *R)
{
	int pfd;
	char *dir = mlv_xstrfmt("%s/runs/live", R->r->storedir);

	pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd >= 0) {
		mlv_fs_remove_tree(pfd, R->id);
		close(pfd);
	}
	mlv_error_clear();
	free(dir);
}

static int open_live_file(struct run *R, const char *name, int flags)
{
	int fd = openat(R->livefd, name, flags | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0)
		mlv_error_set_errno(MLV_EIO, "cannot open %s/%s", R->live, name);
	return fd;
}

static json_t *gpus_record(struct run *R)
{
	json_t *g = json_object(), *models = json_array(), *uuids = json_array();
	json_t *env_gpus = json_object_get(R->env, "gpus");
	unsigned n = 0;

	if (R->lease) {
		for (unsigned i = 0; i < R->lease->nr; i++) {
			json_array_append_new(models, json_str_or_null(R->lease->gpus[i].name));
			json_array_append_new(uuids, json_str_or_null(R->lease->gpus[i].uuid));
		}
		n = R->lease->nr;
	} else if (env_gpus) {
		json_decref(models);
		json_decref(uuids);
		models = json_deep_copy(json_object_get(env_gpus, "models"));
		uuids = json_deep_copy(json_object_get(env_gpus, "uuids"));
		n = (unsigned)json_integer_value(json_object_get(env_gpus, "count"));
		if (!models)
			models = json_array();
		if (!uuids)
			uuids = json_array();
	}
	json_object_set_new(g, "count", json_integer(n));
	json_object_set_new(g, "models", models);
	json_object_set_new(g, "uuids", uuids);
	json_object_set_new(g, "lease", R->o->gpus ? json_string(R->o->gpus) : json_null());
	return g;
}

static int lease_gpus(struct run *R)
{
	struct mlv_lease_request req = { 0 };
	struct mlv_lease_config cfg = { 0 };
	struct mlv_lease_options lo = MLV_LEASE_OPTIONS_INIT;
	char *visible = NULL;
	int err;

	if ((err = mlv_lease_request_parse(&req, R->o->gpus)) ||
	    (err = mlv_lease_config_read(&cfg, R->r)))
		goto done;
	lo.wait = R->o->wait;
	lo.timeout_ms = R->o->wait_seconds < 0 || R->o->wait_seconds > INT_MAX / 1000 ? -1 :
			R->o->wait_seconds * 1000;
	lo.run_id = R->id;
	lo.interrupted = lease_interrupted;
	if ((err = mlv_lease_acquire(&R->lease, &R->inv, &req, &cfg, &lo)))
		goto done;
	visible = mlv_lease_cuda_visible(R->lease);
	envv_set(&R->envp, "CUDA_VISIBLE_DEVICES", visible ? visible : "");
	envv_set(&R->envp, "CUDA_DEVICE_ORDER", "PCI_BUS_ID");
done:
	free(visible);
	mlv_lease_config_release(&cfg);
	mlv_lease_request_release(&req);
	return err;
}

static json_t *options_record(const struct mlv_run_opts *o)
{
	json_t *j = json_object();

	json_object_set_new(j, "metrics_from", json_str_or_null(o->metrics_from));
	json_object_set_new(j, "metric_files", json_strv(o->metric_files, o->nmetric_files));
	json_object_set_new(j, "param_files", json_strv(o->param_files, o->nparam_files));
	json_object_set_new(j, "inputs", json_strv(o->inputs, o->ninputs));
	json_object_set_new(j, "outputs", json_strv(o->outputs, o->noutputs));
	json_object_set_new(j, "env_vars", json_strv(o->env_vars, o->nenv_vars));
	json_object_set_new(j, "gpus", json_str_or_null(o->gpus));
	json_object_set_new(j, "wait", json_boolean(o->wait));
	json_object_set_new(j, "trace", json_boolean(!o->no_trace));
	return j;
}

/* run.json's fields known before the command starts. */
static void record_start(struct run *R)
{
	const struct mlv_run_opts *o = R->o;
	struct passwd *pw = getpwuid(getuid());
	char host[256] = "", hex[GIT_OID_HEXSZ + 1];
	json_t *git = json_object();
	size_t argc = 0;

	while (o->argv[argc])
		argc++;
	gethostname(host, sizeof(host) - 1);
	R->rec = json_object();
	json_object_set_new(R->rec, "format", json_integer(1));
	json_object_set_new(R->rec, "id", json_string(R->id));
	json_object_set_new(R->rec, "name", json_str_or_null(o->name));
	json_object_set_new(R->rec, "argv", json_strv(o->argv, argc));
	json_object_set_new(R->rec, "cwd", json_str_or_null(o->cwd ? o->cwd : ""));
	json_object_set_new(R->rec, "user", json_str_or_null(pw ? pw->pw_name : NULL));
	json_object_set_new(R->rec, "host", json_str_or_null(host));
	json_object_set_new(R->rec, "mlv_version", json_string(MLV_VERSION));
	if (R->have_head) {
		git_oid_tostr(hex, sizeof(hex), &R->head);
		json_object_set_new(git, "commit", json_string(hex));
	} else {
		json_object_set_new(git, "commit", json_null());
	}
	json_object_set_new(git, "branch", json_str_or_null(R->branch));
	json_object_set_new(git, "dirty", json_boolean(R->diff.len > 0));
	json_object_set_new(R->rec, "git", git);
	json_object_set_new(R->rec, "seed", json_integer(R->seed));
	json_object_set_new(R->rec, "deterministic", json_boolean(o->deterministic));
	json_object_set_new(R->rec, "params", json_incref(R->params));
	json_object_set_new(R->rec, "start", iso_time(&R->start_ts));
	json_object_set_new(R->rec, "reproduces", json_str_or_null(o->reproduces));
	json_object_set_new(R->rec, "options", options_record(o));
	json_object_set_new(R->rec, "pid", json_integer(getpid()));
	{
		unsigned long long st;
		char boot[64];

		if (!mlv_proc_starttime(getpid(), &st))
			json_object_set_new(R->rec, "pid_start", json_integer((json_int_t)st));
		if (!mlv_boot_id(boot))
			json_object_set_new(R->rec, "boot_id", json_string(boot));
	}
	json_object_set_new(R->rec, "state", json_string("running"));
}

static void record_end(struct run *R, const struct mlv_proc_result *res, int started, int code,
		       const char *state)
{
	struct timespec end;
	json_t *st = json_object(), *trace = json_object();
	int exited = started && WIFEXITED(res->status), sig = started && WIFSIGNALED(res->status);

	clock_gettime(CLOCK_REALTIME, &end);
	json_object_del(R->rec, "pid");
	json_object_del(R->rec, "pid_start");
	json_object_del(R->rec, "boot_id");
	json_object_del(R->rec, "state");
	json_object_set_new(st, "state", json_string(state));
	json_object_set_new(st, "exit", exited ? json_integer(WEXITSTATUS(res->status)) : json_null());
	json_object_set_new(st, "signal", sig ? json_integer(WTERMSIG(res->status)) : json_null());
	json_object_set_new(st, "code", json_integer(code));
	json_object_set_new(R->rec, "status", st);
	json_object_set_new(R->rec, "end", iso_time(&end));
	json_object_set_new(R->rec, "duration", json_real(run_clock() - R->t0));
	json_object_set_new(R->rec, "peak_rss", json_integer(started ? (json_int_t)res->peak_rss : 0));
	json_object_set_new(trace, "mode", json_string(
		!started || res->trace_mode == MLV_TRACE_MODE_OFF ? "off" :
		res->trace_mode == MLV_TRACE_MODE_PTRACE ? "ptrace" : "unavailable"));
	json_object_set_new(trace, "why", started && *res->trace_why ?
			    json_str_or_null(res->trace_why) : json_null());
	json_object_set_new(R->rec, "trace", trace);
	json_object_set_new(R->rec, "inputs", json_incref(R->inputs));
	json_object_set_new(R->rec, "outputs", json_incref(R->outputs));
	json_object_set_new(R->rec, "gpus", gpus_record(R));
	{
		json_t *e = json_object();

		json_object_set(e, "hash", json_object_get(R->env, "hash"));
		json_object_set_new(R->rec, "env", e);
	}
}

/* A string run.json can hold: JSON has no way to write bytes that are not UTF-8. */
static int check_text(const char *what, const char *s)
{
	json_t *j;

	if (!s)
		return 0;
	if (!(j = json_string(s)))
		return mlv_error_set(MLV_EINVALID, "%s is not valid UTF-8: a run cannot record it",
				     what);
	json_decref(j);
	return 0;
}

static int check_texts(const char *what, const char *const *v, size_t n)
{
	char buf[64];
	int err = 0;

	for (size_t i = 0; v && (n ? i < n : v[i] != NULL) && !err; i++) {
		snprintf(buf, sizeof(buf), "%s[%zu]", what, i);
		err = check_text(n ? what : buf, v[i]);
	}
	return err;
}

/*
 * An output given with -o must be something mlv can store and track once
 * the command is done -- found out now, not after hours of training: a
 * valid tracked path, not beyond or at a symlink, not inside a tracked
 * directory, not a file git tracks.
 */
static int check_output(struct run *R, const char *path)
{
	struct mlv_buf in = MLV_BUF_INIT;
	struct stat st;
	int err, ret;

	if ((err = mlv_path_check(path, 1, "-o")))
		return err;
	err = mlv_fs_lstat(R->r->topfd, path, &st);
	if (!err && S_ISLNK(st.st_mode))
		return mlv_error_set(MLV_EINVALID, "-o %s is a symbolic link", path);
	if (err && err != MLV_ENOTFOUND)
		return mlv_error_wrap(err, "-o %s", path);
	mlv_error_clear();
	err = 0;
	ret = mlv_artifact_containing_at(&in, R->r->topfd, path, 0);
	if (ret > 0)
		err = mlv_error_set(MLV_EINVALID, "-o %s is inside the tracked directory %s: "
				    "give -o %s", path, in.ptr, in.ptr);
	else if (ret < 0)
		err = mlv_error_wrap(ret, "-o %s", path);
	mlv_buf_release(&in);
	if (!err && (ret = mlv_repo_git_tracks(R->r, path, 1)) != 0)
		err = ret < 0 ? ret : mlv_error_set(MLV_EINVALID, "-o %s is tracked by git; "
						    "mlv tracks only what git does not", path);
	return err;
}

static int prepare(struct run *R)
{
	const struct mlv_run_opts *o = R->o;
	struct mlv_env_opts eo = MLV_ENV_OPTS_INIT;
	int err;

	if ((err = check_texts("argv", o->argv, 0)) ||
	    (err = check_text("the directory", o->cwd)) ||
	    (err = check_text("--name", o->name)) ||
	    (err = check_text("--metrics-from", o->metrics_from)) ||
	    (err = check_text("--gpus", o->gpus)) ||
	    (err = check_texts("-d", o->inputs, o->ninputs)) ||
	    (err = check_texts("-o", o->outputs, o->noutputs)) ||
	    (err = check_texts("-M", o->metric_files, o->nmetric_files)) ||
	    (err = check_texts("-P", o->param_files, o->nparam_files)) ||
	    (err = check_texts("--env-var", o->env_vars, o->nenv_vars)))
		return err;
	for (size_t i = 0; i < o->noutputs; i++)
		if ((err = check_output(R, o->outputs[i])))
			return err;

	clock_gettime(CLOCK_REALTIME, &R->start_ts);
	R->t0 = run_clock();
	if ((err = make_id(R->id, &R->seed, &R->start_ts)))
		return err;
	if (o->have_seed)
		R->seed = o->seed;
	R->params = json_object();
	for (size_t i = 0; i < o->nparam_files; i++)
		if ((err = run_params_add_file(R->params, R->r->topfd, o->param_files[i])))
			return err;
	for (size_t i = 0; i < o->nparams; i++)
		if ((err = run_params_add_arg(R->params, o->params[i])))
			return err;
	/* Declared inputs must be tracked: refuse before anything runs. */
	for (size_t i = 0; i < o->ninputs; i++) {
		struct mlv_artifact_list l = { 0 };

		err = mlv_artifact_find_one(&l, R->r->topfd, o->inputs[i]);
		mlv_artifact_list_release(&l);
		if (err) {
			mlv_error_set_hint("an input given with -d must be tracked: "
					   "run 'mlv add %s' first", o->inputs[i]);
			return err;
		}
	}
	if ((err = git_state(R)))
		return err;
	if ((err = mlv_gpu_inventory(&R->inv)))
		return err;
	R->have_inv = 1;
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');

		if (eq) {
			char *name = mlv_strndup(*e, (size_t)(eq - *e));

			envv_set(&R->envp, name, eq + 1);
			free(name);
		}
	}
	if (o->gpus && (err = lease_gpus(R)))
		return err;
	if ((err = open_live(R)))
		return err;
	{
		char *mpath = mlv_xstrfmt("%s/metrics-in.jsonl", R->live);

		set_run_env(&R->envp, o, R->id, R->seed, mpath);
		free(mpath);
	}
	eo.argv = o->argv;
	eo.envp = (const char *const *)R->envp.v;
	eo.repo = R->r;
	eo.cwd = o->cwd ? o->cwd : "";
	eo.extra_vars = o->env_vars;
	eo.nextra_vars = o->nenv_vars;
	eo.gpus = &R->inv;
	if ((err = mlv_env_manifest(&R->env, &eo)))
		return err;
	R->inputs = json_array();
	R->outputs = json_array();
	record_start(R);
	return write_live_record(R);
}

static int cwd_fd(struct run *R)
{
	const char *cwd = R->o->cwd;
	int fd;

	if (!cwd || !*cwd)
		fd = openat(R->r->topfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else
		fd = mlv_fs_open(R->r->topfd, cwd, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 && !mlv_error_last_code())
		mlv_error_set_errno(MLV_EIO, "cannot open '%s'", cwd && *cwd ? cwd : R->r->top);
	return fd;
}

static void run_release(struct run *R)
{
	json_decref(R->rec);
	json_decref(R->params);
	json_decref(R->env);
	json_decref(R->inputs);
	json_decref(R->outputs);
	mlv_buf_release(&R->diff);
	free(R->branch);
	free(R->live);
	if (R->livefd >= 0)
		close(R->livefd);
	envv_release(&R->envp);
	if (R->have_inv)
		mlv_gpu_inventory_release(&R->inv);
	mlv_lease_release(R->lease);
	mlv_metrics_free(R->metrics);
	for (size_t i = 0; i < R->nptrs; i++) {
		free(R->ptrs[i].tree_path);
		mlv_pointer_release(&R->ptrs[i].ptr);
	}
	free(R->ptrs);
	free(R->top_real);
}

/* Store everything and write the ref. */
static int finish(struct run *R, const struct mlv_proc_result *res, int started, int code,
		  const char *state, uint64_t series)
{
	struct run_files f = { 0 };
	json_t *logs = json_object();
	git_oid commit;
	char hex[GIT_OID_HEXSZ + 1], *msg;
	int err;

	if ((err = run_store_logs(R, logs, series > 0))) {
		json_decref(logs);
		return err;
	}
	json_object_set_new(R->rec, "logs", logs);
	record_end(R, res, started, code, state);
	json_object_set_new(R->rec, "metrics", mlv_metrics_summary(R->metrics));
	f.run = R->rec;
	f.env = R->env;
	f.diff = &R->diff;
	f.pointers = R->ptrs;
	f.npointers = R->nptrs;
	{
		struct mlv_buf what = { 0 };

		if (R->o->name)
			mlv_buf_adds(&what, R->o->name);
		else
			for (size_t i = 0; R->o->argv[i] && what.len < 200; i++) {
				if (i)
					mlv_buf_addch(&what, ' ');
				mlv_buf_adds(&what, R->o->argv[i]);
			}
		msg = mlv_xstrfmt("mlv run %s: %s (%s)\n", R->id, what.ptr, state);
		mlv_buf_release(&what);
	}
	err = run_record_commit(R->r, R->id, &f, R->have_head ? &R->head : NULL, msg, &commit);
	free(msg);
	if (err)
		return err;
	git_oid_tostr(hex, sizeof(hex), &commit);
	mlv_runs_note(R->r, R->id, hex, R->rec);
	return 0;
}

static const char *end_state(const struct mlv_proc_result *res)
{
	if (interrupted)
		return "interrupted";
	if (WIFEXITED(res->status) && WEXITSTATUS(res->status) == 0)
		return "ok";
	return "failed";
}

int mlv_run_execute(struct mlv_repo *r, const struct mlv_run_opts *o, struct mlv_run_outcome *out)
{
	struct run R = { .r = r, .o = o, .livefd = -1 };
	struct run_pump P = { .pipe_fd = { -1, -1 }, .echo_fd = { -1, -1 }, .log_fd = { -1, -1 },
			      .metrics_in = -1 };
	struct mlv_metrics_opts mo = MLV_METRICS_OPTS_INIT;
	struct mlv_proc_opts po = MLV_PROC_OPTS_INIT;
	struct sigaction sa, old[NFORWARDED], pipe_sa, old_pipe;
	int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 }, devnull = -1, dirfd = -1;
	int err, started = 0, code = 125, exec_errno = 0, series_fd = -1;
	const char *state = "error";

	memset(out, 0, sizeof(*out));
	out->code = 125;
	if (!o->argv || !o->argv[0])
		return mlv_error_set(MLV_EINVALID, "no command to run");
	interrupted = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded[i], &sa, &old[i]);
	/*
	 * A reader of mlv's output that goes away (`mlv run ... | head`) must
	 * not kill the run: a handler, not SIG_IGN, so that the command still
	 * gets the default action for its own pipes.
	 */
	memset(&pipe_sa, 0, sizeof(pipe_sa));
	pipe_sa.sa_handler = ignore_signal;
	sigemptyset(&pipe_sa.sa_mask);
	sigaction(SIGPIPE, &pipe_sa, &old_pipe);

	if (!(R.top_real = realpath(r->top, NULL))) {
		err = mlv_error_set_errno(MLV_EIO, "cannot resolve %s", r->top);
		goto done;
	}
	if ((err = prepare(&R)))
		goto done;
	if ((series_fd = open_live_file(&R, "metrics.jsonl", O_WRONLY | O_CREAT | O_APPEND)) < 0 ||
	    (P.metrics_in = open_live_file(&R, "metrics-in.jsonl",
					   O_RDONLY | O_CREAT | O_NONBLOCK)) < 0 ||
	    (P.log_fd[0] = open_live_file(&R, "stdout.log", O_WRONLY | O_CREAT | O_APPEND)) < 0 ||
	    (P.log_fd[1] = open_live_file(&R, "stderr.log", O_WRONLY | O_CREAT | O_APPEND)) < 0) {
		err = MLV_EIO;
		goto done;
	}
	mo.warn = metrics_warn;
	mo.warn_data = &R;
	mo.series_fd = series_fd;
	if ((err = mlv_metrics_new(&R.metrics, &mo)) ||
	    (o->metrics_from && (err = mlv_metrics_set_regex(R.metrics, o->metrics_from))))
		goto done;
	if (pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC) ||
	    fcntl(out_pipe[0], F_SETFL, O_NONBLOCK) || fcntl(err_pipe[0], F_SETFL, O_NONBLOCK)) {
		err = mlv_error_set_errno(MLV_EIO, "cannot make pipes for the command");
		goto done;
	}
	if ((dirfd = cwd_fd(&R)) < 0) {
		err = mlv_error_last_code();
		goto done;
	}
	if (isatty(0) && (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		err = mlv_error_set_errno(MLV_EIO, "cannot open /dev/null");
		goto done;
	}
	po.argv = (char *const *)o->argv;
	po.envp = R.envp.v;
	po.fd_in = devnull;
	po.fd_out = out_pipe[1];
	po.fd_err = err_pipe[1];
	po.dirfd = dirfd;
	po.trace = !o->no_trace;
	if (interrupted) {
		err = mlv_error_set(MLV_ERROR, "interrupted");
		code = 128 + interrupted;
		goto done;
	}
	err = mlv_proc_start(&P.proc, &po, &exec_errno);
	close(out_pipe[1]);
	close(err_pipe[1]);
	out_pipe[1] = err_pipe[1] = -1;
	if (err) {
		/* Not found or not executable: a run too, recorded as such. */
		struct mlv_error_state es;
		struct mlv_proc_result none = { 0 };

		code = mlv_proc_start_exit_code(err);
		mlv_error_state_capture(&es, err);
		mlv_metrics_finish(R.metrics, run_clock() - R.t0);
		if (!finish(&R, &none, 0, code, "error", 0)) {
			remove_live(&R);
			memcpy(out->id, R.id, sizeof(out->id));
			out->record = json_incref(R.rec);
		}
		err = mlv_error_state_restore(&es);
		goto done;
	}
	started = 1;
	running = P.proc;
	if (interrupted) /* a signal that came before `running` was set */
		mlv_proc_kill(P.proc, interrupted);
	P.pgid = mlv_proc_pid(P.proc);
	P.t0 = R.t0;
	P.pipe_fd[0] = out_pipe[0];
	P.pipe_fd[1] = err_pipe[0];
	out_pipe[0] = err_pipe[0] = -1;
	P.echo_fd[0] = o->quiet ? -1 : o->stdout_to_stderr ? 2 : 1;
	P.echo_fd[1] = o->quiet ? -1 : 2;
	P.metrics = R.metrics;
	if (R.lease) {
		P.ngpus = R.lease->nr;
		P.gpu_uuids = mlv_calloc(P.ngpus + 1, sizeof(char *));
		for (size_t i = 0; i < P.ngpus; i++)
			P.gpu_uuids[i] = R.lease->gpus[i].uuid;
	} else {
		/* No lease: the GPUs the command can see, as the manifest lists them. */
		const json_t *uuids = json_object_get(json_object_get(R.env, "gpus"), "uuids");

		P.ngpus = json_array_size(uuids);
		P.gpu_uuids = mlv_calloc(P.ngpus + 1, sizeof(char *));
		for (size_t i = 0; i < P.ngpus; i++)
			P.gpu_uuids[i] = (char *)json_string_value(json_array_get(uuids, i));
		for (size_t i = 0; i < P.ngpus; i++)
			if (!P.gpu_uuids[i])
				P.ngpus = 0;
	}
	err = run_pump(&P);
	running = NULL;
	free(P.gpu_uuids);
	if (err)
		goto done;
	code = mlv_proc_exit_code(P.result.status);
	state = end_state(&P.result);
	if (P.result.trace_mode == MLV_TRACE_MODE_UNAVAILABLE)
		run_warnf(&R, "cannot trace the files the command opens (%s); recording only the "
		      "inputs and outputs given with -d and -o", P.result.trace_why);
	if (P.log_error)
		run_warnf(&R, "cannot save the command's output in %s: %s", R.live,
		      strerror(P.log_error));
	for (size_t i = 0; i < o->nmetric_files; i++) {
		if (mlv_metrics_final_file(R.metrics, r->topfd, o->metric_files[i]) < 0) {
			run_warnf(&R, "%s", mlv_error_last());
			mlv_error_clear();
		}
	}
	if (mlv_metrics_finish(R.metrics, run_clock() - R.t0) < 0) {
		run_warnf(&R, "%s", mlv_error_last());
		mlv_error_clear();
	}
	if ((err = run_inputs_outputs(&R, &P.result, !strcmp(state, "ok"))))
		goto done;
	if ((err = finish(&R, &P.result, 1, code, state, mlv_metrics_records(R.metrics))))
		goto done;
	remove_live(&R);
	memcpy(out->id, R.id, sizeof(out->id));
	out->record = json_incref(R.rec);
	out->code = code;
done:
	running = NULL;
	if (err && started)
		out->code = 125;
	else if (err)
		out->code = code;
	if (err && *R.id && !out->record)
		memcpy(out->id, R.id, sizeof(out->id));
	/*
	 * Nothing ran: no live directory stays behind to be taken for a
	 * crashed run.  When the command ran and recording failed, its
	 * output stays there for the user.
	 */
	if (err && R.livefd >= 0 && !out->record) {
		if (!started) {
			struct mlv_error_state es;

			mlv_error_state_capture(&es, err);
			remove_live(&R);
			err = mlv_error_state_restore(&es);
		} else
			mlv_error_set_hint("the command's output is kept in %s", R.live);
	}
	if (P.proc) {
		mlv_proc_result_release(&P.result);
		mlv_proc_free(P.proc);
	}
	for (int i = 0; i < 2; i++) {
		if (P.pipe_fd[i] >= 0)
			close(P.pipe_fd[i]);
		if (P.log_fd[i] >= 0)
			close(P.log_fd[i]);
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
	}
	if (P.metrics_in >= 0)
		close(P.metrics_in);
	if (series_fd >= 0)
		close(series_fd);
	if (devnull >= 0)
		close(devnull);
	if (dirfd >= 0)
		close(dirfd);
	run_release(&R);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded[i], &old[i], NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	return err;
}

void mlv_run_outcome_release(struct mlv_run_outcome *out)
{
	json_decref(out->record);
	out->record = NULL;
}
