/*
 * mlv repro: a recorded run done again in a temporary linked worktree,
 * and its outputs compared with the original's (mlv/repro.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/envinfo.h"
#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/fs.h"
#include "mlv/metrics.h"
#include "mlv/path.h"
#include "mlv/pointer.h"
#include "mlv/repo.h"
#include "mlv/repro.h"
#include "mlv/run.h"
#include "mlv/runs.h"
#include "mlv/store.h"
#include "mlv/tensordiff.h"
#include "mlv/tree.h"
#include "mlv/treediff.h"
#include "mlv/worktree.h"

#define REPRO_DIR "repro"
#define REPRO_BRANCH_PREFIX "mlv-repro-"
#define TOKEN_LEN 8

/* The temporary worktree. */
struct repro_wt {
	char token[TOKEN_LEN + 1];
	char name[sizeof(REPRO_BRANCH_PREFIX) + TOKEN_LEN];
	char *path;     /* absolute */
	int dirfd;      /* $GIT_COMMON_DIR/mlv/repro */
	int lockfd;
	int made;       /* git knows the worktree */
	struct mlv_repo *repo;
};

static int is_token(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return n == TOKEN_LEN;
}

static int open_repro_dir(struct mlv_repo *r)
{
	int sfd, fd;

	sfd = open(r->storedir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot open '%s'", r->storedir);
	if (mlv_fs_mkdirs(sfd, REPRO_DIR) < 0) {
		close(sfd);
		return MLV_EIO;
	}
	fd = mlv_fs_open(sfd, REPRO_DIR, O_RDONLY | O_DIRECTORY, 0);
	close(sfd);
	return fd;
}

/* Remove everything git and mlv keep for the worktree named by `token`. */
static int remove_worktree(struct mlv_repo *r, int dirfd, const char *token)
{
	char name[sizeof(REPRO_BRANCH_PREFIX) + TOKEN_LEN];
	git_worktree *wt = NULL;
	git_reference *branch = NULL;
	git_worktree_prune_options popts;
	int err = 0;

	snprintf(name, sizeof(name), REPRO_BRANCH_PREFIX "%s", token);
	if (mlv_fs_exists(dirfd, token) > 0 && (err = mlv_fs_remove_tree(dirfd, token)) < 0)
		return err;
	if (!git_worktree_lookup(&wt, r->git, name)) {
		git_worktree_prune_options_init(&popts, GIT_WORKTREE_PRUNE_OPTIONS_VERSION);
		popts.flags = GIT_WORKTREE_PRUNE_VALID | GIT_WORKTREE_PRUNE_LOCKED;
		if (git_worktree_prune(wt, &popts) < 0)
			err = mlv_git_error(MLV_EIO, "cannot prune the worktree of a repro");
		git_worktree_free(wt);
	}
	git_error_clear();
	if (!git_branch_lookup(&branch, r->git, name, GIT_BRANCH_LOCAL)) {
		if (git_reference_delete(branch) < 0 && !err)
			err = mlv_git_error(MLV_EIO, "cannot delete branch " REPRO_BRANCH_PREFIX "*");
		git_reference_free(branch);
	}
	git_error_clear();
	return err;
}

int mlv_repro_clean_stale(struct mlv_repo *r, size_t *removed)
{
	DIR *d;
	struct dirent *e;
	int dirfd, fd, ret = 0;
	size_t n = 0;

	if (removed)
		*removed = 0;
	if ((dirfd = open_repro_dir(r)) < 0)
		return dirfd;
	fd = dup(dirfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		close(dirfd);
		return mlv_error_set_errno(MLV_EIO, "cannot list %s/" REPRO_DIR, r->storedir);
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char token[TOKEN_LEN + 1];
		int lfd;

		if (len != TOKEN_LEN + 5 || !is_token(e->d_name, TOKEN_LEN) ||
		    (strcmp(e->d_name + TOKEN_LEN, ".lock") && strcmp(e->d_name + TOKEN_LEN, ".new")))
			continue;
		lfd = openat(dirfd, e->d_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (lfd < 0)
			continue;
		if (flock(lfd, LOCK_EX | LOCK_NB)) {
			close(lfd); /* a repro at work */
			continue;
		}
		memcpy(token, e->d_name, TOKEN_LEN);
		token[TOKEN_LEN] = '\0';
		if (!strcmp(e->d_name + TOKEN_LEN, ".lock")) {
			ret = remove_worktree(r, dirfd, token);
			if (ret < 0) {
				close(lfd);
				break;
			}
			n++;
		}
		unlinkat(dirfd, e->d_name, 0);
		close(lfd);
	}
	closedir(d);
	close(dirfd);
	if (removed)
		*removed = n;
	return ret;
}

/*
 * The lock first, then the worktree: a lock file under a name no cleaner
 * takes (".new") is locked and only then renamed to "<token>.lock".
 */
static int wt_lock(struct repro_wt *w, struct mlv_repo *r)
{
	unsigned char rnd[TOKEN_LEN / 2];
	char tmp[TOKEN_LEN + 8], lock[TOKEN_LEN + 8], pid[32];
	int i, len;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return mlv_error_set_errno(MLV_EIO, "cannot make a repro's name");
	for (i = 0; i < TOKEN_LEN / 2; i++)
		snprintf(w->token + 2 * i, 3, "%02x", rnd[i]);
	snprintf(w->name, sizeof(w->name), REPRO_BRANCH_PREFIX "%s", w->token);
	w->path = mlv_xstrfmt("%s/" REPRO_DIR "/%s", r->storedir, w->token);
	if ((w->dirfd = open_repro_dir(r)) < 0)
		return w->dirfd;
	snprintf(tmp, sizeof(tmp), "%s.new", w->token);
	snprintf(lock, sizeof(lock), "%s.lock", w->token);
	w->lockfd = openat(w->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (w->lockfd < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot create %s/" REPRO_DIR "/%s", r->storedir,
					   tmp);
	if (flock(w->lockfd, LOCK_EX) ||
	    renameat(w->dirfd, tmp, w->dirfd, lock)) {
		unlinkat(w->dirfd, tmp, 0);
		return mlv_error_set_errno(MLV_EIO, "cannot lock %s/" REPRO_DIR "/%s", r->storedir,
					   lock);
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	/* The pid is for people; the flock is what counts. */
	(void)!write(w->lockfd, pid, (size_t)len);
	return 0;
}

/* git worktree add --detach <path> <commit>, through a branch deleted at once. */
static int wt_add(struct repro_wt *w, struct mlv_repo *r, const char *commit_hex)
{
	git_worktree_add_options opts;
	git_reference *branch = NULL;
	git_repository *wrepo = NULL;
	git_worktree *wt = NULL;
	git_commit *commit = NULL;
	git_oid id;
	int err = 0;

	if (git_oid_fromstr(&id, commit_hex) < 0 || git_commit_lookup(&commit, r->git, &id) < 0)
		return mlv_git_error(MLV_ENOTFOUND, commit_hex);
	if (git_branch_create(&branch, r->git, w->name, commit, 0) < 0) {
		err = mlv_git_error(MLV_EIO, "cannot create a branch for the repro's worktree");
		goto done;
	}
	git_worktree_add_options_init(&opts, GIT_WORKTREE_ADD_OPTIONS_VERSION);
	opts.ref = branch;
	opts.checkout_options.checkout_strategy = GIT_CHECKOUT_FORCE;
	if (git_worktree_add(&wt, r->git, w->name, w->path, &opts) < 0) {
		err = mlv_git_error(MLV_EIO, "cannot add the repro's worktree");
		goto done;
	}
	w->made = 1;
	if (git_repository_open_from_worktree(&wrepo, wt) < 0 ||
	    git_repository_set_head_detached(wrepo, &id) < 0) {
		err = mlv_git_error(MLV_EIO, "cannot detach the repro's worktree");
		goto done;
	}
	if (git_reference_delete(branch) < 0)
		err = mlv_git_error(MLV_EIO, "cannot delete the repro's branch");
done:
	git_repository_free(wrepo);
	git_worktree_free(wt);
	git_reference_free(branch);
	git_commit_free(commit);
	return err;
}

static int wt_create(struct repro_wt *w, struct mlv_repo *r, const char *commit_hex)
{
	int err;

	if ((err = wt_lock(w, r)) || (err = wt_add(w, r, commit_hex)))
		return err;
	if ((err = mlv_repo_open(&w->repo, w->path)) < 0)
		return mlv_error_wrap(err, "repro worktree %s", w->path);
	return 0;
}

/* Remove it (or, with `keep`, leave it and its name free of the lock). */
static int wt_finish(struct repro_wt *w, struct mlv_repo *r, int keep)
{
	char lock[TOKEN_LEN + 8];
	int err = 0;

	mlv_repo_free(w->repo);
	w->repo = NULL;
	if (w->dirfd < 0)
		return 0;
	if (w->lockfd >= 0) {
		if (!keep && w->token[0])
			err = remove_worktree(r, w->dirfd, w->token);
		snprintf(lock, sizeof(lock), "%s.lock", w->token);
		if (!err)
			unlinkat(w->dirfd, lock, 0);
		close(w->lockfd);
		w->lockfd = -1;
	}
	close(w->dirfd);
	w->dirfd = -1;
	return err;
}

/* Record helpers */

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int parse_oid(struct mlv_oid *out, const char *s)
{
	if (!s || strncmp(s, "sha256:", 7))
		return -1;
	return mlv_oid_fromhex(out, s + 7, strlen(s + 7)) < 0 ? -1 : 0;
}

/* Inputs: the run's pointer copies, written into the worktree, their data checked out. */
static int checkout_inputs(struct mlv_repo *r, struct repro_wt *w, const char *id, const json_t *rec,
			   const struct mlv_repro_opts *o, struct mlv_repro_result *out)
{
	struct mlv_artifact_list list = { NULL, 0, 0 };
	struct mlv_checkout_opts copts = { 1, 0 };
	struct mlv_checkout_result cres;
	struct mlv_buf file = MLV_BUF_INIT, pointer = MLV_BUF_INIT;
	json_t *inputs = json_object_get(rec, "inputs"), *in;
	size_t i;
	int err = 0;

	memset(&cres, 0, sizeof(cres));
	json_array_foreach(inputs, i, in) {
		const char *path = jstr(in, "path");
		struct mlv_pointer ptr;
		struct mlv_artifact *a;

		if (!path || mlv_path_check(path, 1, "run input") < 0) {
			err = mlv_error_wrap(MLV_EINVALID, "run %s", id);
			goto done;
		}
		mlv_buf_reset(&file);
		mlv_buf_addf(&file, "inputs/%s" MLV_POINTER_SUFFIX, path);
		mlv_pointer_init(&ptr);
		err = mlv_run_read_pointer(r, id, file.ptr, &ptr);
		if (err == MLV_ENOTFOUND) {
			mlv_pointer_release(&ptr);
			if (o->warn) {
				mlv_buf_reset(&pointer);
				mlv_buf_addf(&pointer,
					     "run %s keeps no pointer for its input '%s': left as the commit has it",
					     id, path);
				o->warn(o->warn_ctx, pointer.ptr);
			}
			err = 0;
			continue;
		}
		if (err < 0) {
			mlv_pointer_release(&ptr);
			goto done;
		}
		mlv_buf_reset(&pointer);
		mlv_buf_addf(&pointer, "%s" MLV_POINTER_SUFFIX, path);
		if (strchr(path, '/')) {
			char *parent = mlv_strndup(path, (size_t)(strrchr(path, '/') - path));

			err = mlv_fs_mkdirs(w->repo->topfd, parent);
			free(parent);
		}
		if (!err)
			err = mlv_pointer_write_at(w->repo->topfd, pointer.ptr, &ptr);
		mlv_pointer_release(&ptr);
		if (err < 0)
			goto done;
		MLV_ALLOC_GROW(list.items, list.nr + 1, list.alloc);
		a = &list.items[list.nr++];
		memset(a, 0, sizeof(*a));
		if ((err = mlv_artifact_load(a, w->repo->topfd, pointer.ptr)) < 0)
			goto done;
	}
	if (!list.nr)
		goto done;
	err = mlv_worktree_checkout(w->repo, &list, &copts, NULL, &cres);
	if (err < 0) {
		if (cres.nr_problems)
			err = mlv_error_set(err, "input %s of run %s: %s", cres.problems[0].artifact, id,
					    cres.problems[0].message);
		goto done;
	}
	out->inputs_checked_out = list.nr;
	out->input_bytes = cres.bytes;
done:
	mlv_checkout_result_release(&cres);
	mlv_artifact_list_release(&list);
	mlv_buf_release(&file);
	mlv_buf_release(&pointer);
	return err;
}

/* Strings of a JSON array (borrowed), NULL-terminated. */
static const char **str_array(const json_t *arr, size_t *n)
{
	const char **v = mlv_calloc(json_array_size(arr) + 1, sizeof(*v));
	size_t i, k = 0;
	json_t *e;

	json_array_foreach(arr, i, e)
		if (json_is_string(e))
			v[k++] = json_string_value(e);
	*n = k;
	return v;
}

static int execute(struct mlv_repo *r, struct repro_wt *w, const char *id, const json_t *rec,
		   const struct mlv_repro_opts *o, struct mlv_run_outcome *outcome)
{
	struct mlv_run_opts ro;
	const json_t *options = json_object_get(rec, "options"), *params = json_object_get(rec, "params");
	const json_t *v;
	const char **argv, **pfiles, **mfiles, **envv, **inputs, **outputs, *key;
	char **pstr;
	size_t n, i, k;
	int err;

	memset(&ro, 0, sizeof(ro));
	argv = str_array(json_object_get(rec, "argv"), &n);
	if (!n || n != json_array_size(json_object_get(rec, "argv"))) {
		free(argv);
		return mlv_error_set(MLV_EINVALID, "run %s: no command recorded", id);
	}
	ro.argv = argv;
	ro.cwd = jstr(rec, "cwd") ? jstr(rec, "cwd") : "";
	ro.have_seed = json_is_integer(json_object_get(rec, "seed"));
	ro.seed = (uint32_t)json_integer_value(json_object_get(rec, "seed"));
	ro.deterministic = json_is_true(json_object_get(rec, "deterministic"));
	pstr = mlv_calloc(json_object_size(params) + 1, sizeof(*pstr));
	k = 0;
	json_object_foreach((json_t *)params, key, v) {
		char *text = json_is_string(v) ? mlv_strdup(json_string_value(v))
					       : json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));

		if (text)
			pstr[k++] = mlv_xstrfmt("%s=%s", key, text);
		free(text);
	}
	ro.params = (const char *const *)pstr;
	ro.nparams = k;
	pfiles = str_array(json_object_get(options, "param_files"), &ro.nparam_files);
	ro.param_files = pfiles;
	mfiles = str_array(json_object_get(options, "metric_files"), &ro.nmetric_files);
	ro.metric_files = mfiles;
	envv = str_array(json_object_get(options, "env_vars"), &ro.nenv_vars);
	ro.env_vars = envv;
	ro.metrics_from = jstr(options, "metrics_from");
	ro.gpus = jstr(options, "gpus");
	ro.wait = json_is_true(json_object_get(options, "wait"));
	ro.wait_seconds = -1;
	ro.no_trace = json_is_false(json_object_get(options, "trace"));
	/* The declared inputs: as "options" lists them, else those recorded as declared. */
	if (json_is_array(json_object_get(options, "inputs"))) {
		inputs = str_array(json_object_get(options, "inputs"), &ro.ninputs);
	} else {
		inputs = mlv_calloc(json_array_size(json_object_get(rec, "inputs")) + 1,
				    sizeof(*inputs));
		json_array_foreach(json_object_get(rec, "inputs"), i, v)
			if (jstr(v, "path") && !strcmp(jstr(v, "how") ? jstr(v, "how") : "declared",
						       "declared"))
				inputs[ro.ninputs++] = jstr(v, "path");
	}
	ro.inputs = inputs;
	/* Every output it declared or wrote. */
	outputs = mlv_calloc(json_array_size(json_object_get(rec, "outputs")) +
				     json_array_size(json_object_get(options, "outputs")) + 1,
			     sizeof(*outputs));
	json_array_foreach(json_object_get(options, "outputs"), i, v)
		if (json_is_string(v))
			outputs[ro.noutputs++] = json_string_value(v);
	json_array_foreach(json_object_get(rec, "outputs"), i, v) {
		const char *p = jstr(v, "path");

		for (k = 0; p && k < ro.noutputs; k++)
			if (!strcmp(outputs[k], p))
				break;
		if (p && k == ro.noutputs)
			outputs[ro.noutputs++] = p;
	}
	ro.outputs = outputs;
	/* git keeps no empty directory: the one it ran in may be missing. */
	if (*ro.cwd && (mlv_path_check(ro.cwd, 0, "run directory") < 0 ||
			mlv_fs_mkdirs(w->repo->topfd, ro.cwd) < 0)) {
		err = mlv_error_wrap(MLV_EINVALID, "run %s", id);
		goto done;
	}
	ro.reproduces = id;
	ro.quiet = o->quiet;
	ro.stdout_to_stderr = o->stdout_to_stderr;
	ro.warn = o->warn;
	ro.warn_ctx = o->warn_ctx;
	err = mlv_run_execute(w->repo, &ro, outcome);
done:
	for (i = 0; i < ro.nparams; i++)
		free(pstr[i]);
	free(pstr);
	free(argv);
	free(pfiles);
	free(mfiles);
	free(envv);
	free(inputs);
	free(outputs);
	return err;
}

/* Comparison */

struct blob_sink {
	int fd;
	const char *what;
};

static int blob_write(void *data, const void *buf, size_t len)
{
	struct blob_sink *s = data;

	return mlv_write_all(s->fd, buf, len, s->what);
}

/* A file holding blob `oid` from the store, unnamed in mlv's temporary directory; or <0. */
static int blob_file(struct mlv_repo *r, const struct mlv_oid *oid, const char *what)
{
	struct mlv_store *s;
	struct blob_sink sink;
	dev_t dev;
	int tmpfd, fd, err;

	if ((err = mlv_repo_store(&s, r)) < 0 || (err = mlv_repo_tmpdir(r, &tmpfd, &dev)) < 0)
		return err;
	fd = openat(tmpfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot make a temporary file for %s", what);
	sink.fd = fd;
	sink.what = what;
	if ((err = mlv_store_read_blob(s, oid, blob_write, &sink)) < 0) {
		close(fd);
		return err;
	}
	return fd;
}

/*
 * When the new file at `path` of the worktree is a tensor file: compare it
 * with blob `orig`.  `*has` 1 with `td` or `*why` set; 0 when not a tensor file.
 */
static void compare_tensors(struct mlv_repo *r, struct repro_wt *w, const char *path,
			    const struct mlv_oid *orig, int *has, struct mlv_tensordiff *td,
			    char **why)
{
	unsigned char head[16];
	struct stat st;
	ssize_t n;
	int nfd, ofd;

	*has = 0;
	nfd = mlv_fs_open(w->repo->topfd, path, O_RDONLY, 0);
	if (nfd < 0 || fstat(nfd, &st) || !S_ISREG(st.st_mode)) {
		if (nfd >= 0)
			close(nfd);
		return;
	}
	n = pread(nfd, head, sizeof(head), 0);
	if (mlv_tensor_format_detect(head, n > 0 ? (size_t)n : 0, (uint64_t)st.st_size, path) ==
	    MLV_TENSOR_FORMAT_UNKNOWN) {
		close(nfd);
		return;
	}
	*has = 1;
	ofd = blob_file(r, orig, path);
	if (ofd < 0 || mlv_tensordiff_fd(td, ofd, "the original", nfd, "the repro") < 0)
		*why = mlv_strdup(mlv_error_last());
	if (ofd >= 0)
		close(ofd);
	close(nfd);
}

struct dir_ctx {
	struct mlv_repo *r;
	struct repro_wt *w;
	struct mlv_repro_output *out;
};

static int dir_change(void *data, const struct mlv_tree_change *c)
{
	struct dir_ctx *d = data;
	struct mlv_repro_output *o = d->out;
	struct mlv_repro_file *f;

	if (c->kind == '!')
		return 0;
	if (o->nr_files >= MLV_REPRO_FILES_MAX) {
		o->files_omitted++;
		return 0;
	}
	o->files = mlv_realloc(o->files, (o->nr_files + 1) * sizeof(*o->files));
	f = &o->files[o->nr_files++];
	memset(f, 0, sizeof(*f));
	f->path = mlv_strdup(c->path);
	f->kind = c->kind;
	f->orig = c->old_oid;
	f->now = c->new_oid;
	if (c->kind == 'M' && c->old_mode != MLV_MODE_LINK && c->new_mode != MLV_MODE_LINK)
		compare_tensors(d->r, d->w, c->path, &c->old_oid, &f->has_tensors, &f->tensors,
				&f->tensor_error);
	return 0;
}

static struct mlv_repro_output *output_for(struct mlv_repro_result *res, const char *path)
{
	struct mlv_repro_output *o;
	size_t i;

	for (i = 0; i < res->nr_outputs; i++)
		if (!strcmp(res->outputs[i].path, path))
			return &res->outputs[i];
	res->outputs = mlv_realloc(res->outputs, (res->nr_outputs + 1) * sizeof(*res->outputs));
	o = &res->outputs[res->nr_outputs++];
	memset(o, 0, sizeof(*o));
	o->path = mlv_strdup(path);
	return o;
}

static void compare_outputs(struct mlv_repo *r, struct repro_wt *w, struct mlv_repro_result *res)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(res->orig, "outputs"), i, v) {
		struct mlv_repro_output *o;
		struct mlv_oid oid;

		if (!jstr(v, "path") || parse_oid(&oid, jstr(v, "oid")))
			continue;
		o = output_for(res, jstr(v, "path"));
		o->has_orig = 1;
		o->orig = oid;
		o->type_dir = jstr(v, "type") && !strcmp(jstr(v, "type"), "dir");
	}
	json_array_foreach(json_object_get(res->now, "outputs"), i, v) {
		struct mlv_repro_output *o;
		struct mlv_oid oid;

		if (!jstr(v, "path") || parse_oid(&oid, jstr(v, "oid")))
			continue;
		o = output_for(res, jstr(v, "path"));
		o->has_now = 1;
		o->now = oid;
		if (!o->has_orig)
			o->type_dir = jstr(v, "type") && !strcmp(jstr(v, "type"), "dir");
	}
	for (i = 0; i < res->nr_outputs; i++) {
		struct mlv_repro_output *o = &res->outputs[i];

		o->match = o->has_orig && o->has_now && !mlv_oid_cmp(&o->orig, &o->now);
		if (o->match)
			continue;
		res->mismatches++;
		if (!o->has_orig || !o->has_now)
			continue;
		if (o->type_dir) {
			struct mlv_tree_diff_opts dopts = MLV_TREE_DIFF_OPTS_INIT;
			struct dir_ctx d = { r, w, o };
			struct mlv_store *s;

			dopts.flags = MLV_TREE_DIFF_NO_RENAMES | MLV_TREE_DIFF_MISSING_OK;
			if (mlv_repo_store(&s, r) < 0 ||
			    mlv_tree_diff_ext(s, &o->orig, &o->now, o->path, &dopts, dir_change, &d) < 0)
				o->tensor_error = mlv_strdup(mlv_error_last());
		} else {
			compare_tensors(r, w, o->path, &o->orig, &o->has_tensors, &o->tensors,
					&o->tensor_error);
		}
	}
}

/* System series ("sys.*", "gpu<N>.*") are not results. */
static int system_metric(const char *name)
{
	const char *p;

	if (!strncmp(name, "sys.", 4))
		return 1;
	if (strncmp(name, "gpu", 3))
		return 0;
	for (p = name + 3; *p >= '0' && *p <= '9'; p++)
		;
	return p > name + 3 && *p == '.';
}

static json_t *result_metrics(const json_t *rec)
{
	json_t *final = json_object_get(json_object_get(rec, "metrics"), "final"), *o = json_object();
	const char *key;
	json_t *v;

	json_object_foreach(final, key, v)
		if (!system_metric(key))
			json_object_set(o, key, v);
	return o;
}

static void compare_env(struct mlv_repo *r, struct mlv_repro_result *res)
{
	const char *a = jstr(json_object_get(res->orig, "env"), "hash");
	const char *b = jstr(json_object_get(res->now, "env"), "hash");
	struct mlv_buf ta = MLV_BUF_INIT, tb = MLV_BUF_INIT;
	json_t *ea = NULL, *eb = NULL;

	res->env_same = a && b && !strcmp(a, b);
	if (res->env_same)
		return;
	if (!mlv_run_read_file(r, res->orig_id, "env.json", &ta) &&
	    !mlv_run_read_file(r, res->new_id, "env.json", &tb) &&
	    !mlv_env_parse(&ea, ta.ptr, ta.len, res->orig_id) &&
	    !mlv_env_parse(&eb, tb.ptr, tb.len, res->new_id) &&
	    mlv_env_diff(&res->env_diff, ea, eb, 0) < 0)
		res->env_diff = NULL;
	json_decref(ea);
	json_decref(eb);
	mlv_buf_release(&ta);
	mlv_buf_release(&tb);
}

int mlv_repro_verified(const struct mlv_repro_result *res)
{
	if (!res->now || res->mismatches || res->code != res->orig_code)
		return 0;
	/* A run without outputs is checked by its final metrics. */
	return res->nr_outputs || !json_array_size(res->metrics_diff);
}

int mlv_repro(struct mlv_repo *r, const struct mlv_repro_opts *o, struct mlv_repro_result *out)
{
	struct repro_wt w;
	struct mlv_run_outcome outcome;
	struct mlv_buf patch = MLV_BUF_INIT;
	struct mlv_error_state es;
	json_t *code, *ma, *mb;
	const char *commit;
	int err;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	memset(&outcome, 0, sizeof(outcome));
	w.dirfd = w.lockfd = -1;
	out->orig_code = -1;
	if ((err = mlv_runs_resolve(r, o->spec, out->orig_id, &out->orig)) < 0)
		return err;
	code = json_object_get(json_object_get(out->orig, "status"), "code");
	if (json_is_integer(code))
		out->orig_code = (int)json_integer_value(code);
	commit = jstr(json_object_get(out->orig, "git"), "commit");
	if (!commit)
		return mlv_error_set(MLV_EUNSUPPORTED,
				     "run %s started on an unborn branch: there is no commit to do it again at",
				     out->orig_id);
	if ((err = mlv_repro_clean_stale(r, NULL)) < 0)
		return err;
	err = mlv_run_read_file(r, out->orig_id, "diff.patch", &patch);
	if (err == MLV_ENOTFOUND)
		err = 0;
	if (err < 0)
		goto done;
	if ((err = wt_create(&w, r, commit)) < 0)
		goto done;
	out->worktree = mlv_strdup(w.path);
	if (patch.len && (err = mlv_run_apply_diff(w.repo, patch.ptr, patch.len)) < 0) {
		err = mlv_error_wrap(err, "run %s", out->orig_id);
		goto done;
	}
	if ((err = checkout_inputs(r, &w, out->orig_id, out->orig, o, out)) < 0)
		goto done;
	if (o->started)
		o->started(o->started_ctx, out->orig_id, w.path);
	err = execute(r, &w, out->orig_id, out->orig, o, &outcome);
	out->code = outcome.code;
	if (outcome.record) {
		out->now = json_incref(outcome.record);
		snprintf(out->new_id, sizeof(out->new_id), "%s", outcome.id);
	}
	if (err < 0 || !out->now)
		goto done;
	compare_outputs(r, &w, out);
	ma = result_metrics(out->orig);
	mb = result_metrics(out->now);
	out->metrics_diff = mlv_metrics_diff(ma, mb, 0);
	json_decref(ma);
	json_decref(mb);
	compare_env(r, out);
done:
	mlv_error_state_capture(&es, err);
	mlv_run_outcome_release(&outcome);
	mlv_buf_release(&patch);
	err = wt_finish(&w, r, o->keep);
	if (!o->keep) {
		free(out->worktree);
		out->worktree = NULL;
	}
	free(w.path);
	if (es.code)
		return mlv_error_state_restore(&es);
	return err;
}

static void file_release(struct mlv_repro_file *f)
{
	free(f->path);
	mlv_tensordiff_release(&f->tensors);
	free(f->tensor_error);
}

void mlv_repro_result_release(struct mlv_repro_result *res)
{
	size_t i, k;

	if (!res)
		return;
	for (i = 0; i < res->nr_outputs; i++) {
		struct mlv_repro_output *o = &res->outputs[i];

		free(o->path);
		mlv_tensordiff_release(&o->tensors);
		free(o->tensor_error);
		for (k = 0; k < o->nr_files; k++)
			file_release(&o->files[k]);
		free(o->files);
	}
	free(res->outputs);
	json_decref(res->orig);
	json_decref(res->now);
	json_decref(res->metrics_diff);
	json_decref(res->env_diff);
	free(res->worktree);
	memset(res, 0, sizeof(*res));
}
