#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/fs.h"
#include "mlv/proc.h"
#include "mlv/repo.h"
#include "mlv/run.h"
#include "mlv/store.h"
#include "mlv/worktree.h"
#include "run/run-priv.h"

/*
 * A run's inputs and outputs (mlv-run(1)): what was declared with -d and
 * -o, and the tracked artifacts the traced command read or wrote; the
 * outputs of a successful run stored as by mlv add; and the run's logs
 * and series stored, with copies of every pointer kept for its tree.
 */

static void wt_warn(void *ctx, const char *msg)
{
	run_warnf(ctx, "%s", msg);
}

/* A copy of `p` to keep in the run's tree at `dir`/`path`.mlv. */
void run_keep_pointer(struct run *R, const char *dir, const char *path,
			 const struct mlv_pointer *p)
{
	struct run_pointer *rp;

	if (R->nptrs == R->aptrs) {
		R->aptrs = R->aptrs ? 2 * R->aptrs : 8;
		R->ptrs = mlv_realloc(R->ptrs, R->aptrs * sizeof(*R->ptrs));
	}
	rp = &R->ptrs[R->nptrs++];
	rp->tree_path = mlv_xstrfmt("%s/%s%s", dir, path, MLV_POINTER_SUFFIX);
	mlv_pointer_init(&rp->ptr);
	rp->ptr.oid = p->oid;
	rp->ptr.size = p->size;
	rp->ptr.files = p->files;
	rp->ptr.exec = p->exec;
	rp->ptr.kind = p->kind;
	rp->ptr.type = p->type;
}

static json_t *io_entry(const char *path, const struct mlv_pointer *p, const char *how)
{
	char hex[MLV_OID_HEXSZ + 1];
	json_t *o = json_object();

	mlv_oid_tohex(hex, &p->oid);
	json_object_set_new(o, "path", json_string(path));
	json_object_set_new(o, "oid", json_sprintf("sha256:%s", hex));
	json_object_set_new(o, "size", json_integer((json_int_t)p->size));
	json_object_set_new(o, "kind", json_string(mlv_kind_name(p->kind)));
	json_object_set_new(o, "type", json_string(p->type == MLV_PTYPE_DIR ? "dir" : "file"));
	json_object_set_new(o, "how", json_string(how));
	return o;
}

static int io_has(const json_t *list, const char *path)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "path")), path))
			return 1;
	return 0;
}

/* Record input `path` (an artifact) unless it is there already. */
static int add_input(struct run *R, const char *path, const char *how, int strict)
{
	struct mlv_artifact_list l = { 0 };
	struct mlv_artifact *a;
	unsigned state = 0;
	int err;

	if (io_has(R->inputs, path))
		return 0;
	if ((err = mlv_artifact_find_one(&l, R->r->topfd, path))) {
		if (strict)
			mlv_error_set_hint("an input given with -d must be tracked: "
					   "run 'mlv add %s' first", path);
		goto done;
	}
	a = &l.items[0];
	if (a->error) {
		err = mlv_error_set(MLV_EINVALID, "input %s: %s", a->path, a->error);
		goto done;
	}
	if (!mlv_status_artifact(R->r, a, NULL, &state) &&
	    (state & (MLV_ST_MODIFIED | MLV_ST_MISSING | MLV_ST_TYPE)))
		run_warnf(R, "input %s differs from its pointer; the run records the version "
		      "'mlv add' stored last", a->path);
	json_array_append_new(R->inputs, io_entry(a->path, &a->ptr, how));
	run_keep_pointer(R, "inputs", a->path, &a->ptr);
done:
	mlv_artifact_list_release(&l);
	return err;
}

/* `abs` (a real path the command opened) as a path of the work tree, or NULL. */
static const char *worktree_path(struct run *R, const char *abs)
{
	size_t n = strlen(R->top_real);
	const char *rel;

	if (strncmp(abs, R->top_real, n) || abs[n] != '/')
		return NULL;
	rel = abs + n + 1;
	if (!strncmp(rel, ".git", 4) && (rel[4] == '/' || !rel[4]))
		return NULL;
	if (!strncmp(rel, ".mlv", 4) && (rel[4] == '/' || !rel[4]))
		return NULL;
	n = strlen(rel);
	if (n >= 4 && !strcmp(rel + n - 4, MLV_POINTER_SUFFIX))
		return NULL;
	return rel;
}

/* The artifact the work tree path `rel` is or lies in, into `out`: 1, or 0 when none. */
static int artifact_of(struct run *R, const char *rel, struct mlv_buf *out)
{
	int ret = mlv_artifact_containing_at(out, R->r->topfd, rel, 1);

	if (ret < 0)
		mlv_error_clear();
	return ret > 0;
}

static enum mlv_kind output_kind(const struct mlv_run_opts *o, const char *path)
{
	static const char *const model_ext[] = {
		".safetensors", ".pt", ".pth", ".ckpt", ".bin", ".onnx", ".h5", ".keras",
		".gguf", ".pkl", ".joblib", ".npz", ".tflite", ".mlmodel", NULL,
	};
	size_t n = strlen(path);

	for (size_t i = 0; i < o->nmetric_files; i++)
		if (!strcmp(o->metric_files[i], path))
			return MLV_KIND_METRIC;
	for (size_t i = 0; model_ext[i]; i++) {
		size_t e = strlen(model_ext[i]);

		if (n > e && !strcmp(path + n - e, model_ext[i]))
			return MLV_KIND_MODEL;
	}
	return MLV_KIND_DATA;
}

static int add_outputs(struct run *R, char **paths, const char **hows, size_t n)
{
	static const enum mlv_kind kinds[] = { MLV_KIND_DATA, MLV_KIND_MODEL, MLV_KIND_METRIC };
	struct mlv_wt_callbacks cb = { .warn = wt_warn, .ctx = R };
	const char **batch = mlv_calloc(n + 1, sizeof(*batch));
	int err = 0;

	for (size_t k = 0; k < 3 && !err; k++) {
		struct mlv_add_opts ao = { .kind = kinds[k], .kind_given = 0 };
		struct mlv_add_result *res = NULL;
		size_t nb = 0, nr = 0;

		for (size_t i = 0; i < n; i++)
			if (output_kind(R->o, paths[i]) == kinds[k])
				batch[nb++] = paths[i];
		if (!nb)
			continue;
		/* A new pointer gets the kind; an existing one keeps its own. */
		for (size_t i = 0; i < nb; i++) {
			struct mlv_pointer p;
			char *ptr = mlv_xstrfmt("%s%s", batch[i], MLV_POINTER_SUFFIX);

			mlv_pointer_init(&p);
			if (mlv_pointer_read_at(&p, R->r->topfd, ptr) == MLV_ENOTFOUND)
				ao.kind_given = 1;
			mlv_error_clear();
			mlv_pointer_release(&p);
			free(ptr);
		}
		if ((err = mlv_add(R->r, batch, nb, &ao, &cb, &res, &nr)))
			err = mlv_error_wrap(err, "cannot store the run's outputs");
		for (size_t i = 0; i < nr; i++) {
			const char *how = "declared";

			for (size_t j = 0; j < n; j++)
				if (!strcmp(paths[j], res[i].path))
					how = hows[j];
			json_array_append_new(R->outputs, io_entry(res[i].path, &res[i].ptr, how));
			run_keep_pointer(R, "outputs", res[i].path, &res[i].ptr);
		}
		mlv_add_results_free(res, nr);
	}
	free(batch);
	return err;
}

/* Inputs and outputs: what was declared, and what tracing saw. */
int run_inputs_outputs(struct run *R, const struct mlv_proc_result *res, int ok)
{
	struct mlv_buf art = { 0 };
	char **out = NULL;
	const char **how = NULL;
	size_t nout = 0, aout = 0;
	int err = 0;

#define PUSH_OUT(p, h) do { \
		if (nout == aout) { \
			aout = aout ? 2 * aout : 8; \
			out = mlv_realloc(out, aout * sizeof(*out)); \
			how = mlv_realloc(how, aout * sizeof(*how)); \
		} \
		out[nout] = mlv_strdup(p); \
		how[nout++] = (h); \
	} while (0)

	for (size_t i = 0; i < R->o->noutputs; i++) {
		int e = mlv_fs_exists(R->r->topfd, R->o->outputs[i]);

		if (e > 0)
			PUSH_OUT(R->o->outputs[i], "declared");
		else if (ok)
			run_warnf(R, "output %s was not written", R->o->outputs[i]);
		mlv_error_clear();
	}
	for (size_t i = 0; i < res->nr_files; i++) {
		const char *rel;
		int dup = 0;

		if (!(res->files[i].flags & MLV_TRACE_WRITE) ||
		    !(rel = worktree_path(R, res->files[i].path)) || !artifact_of(R, rel, &art))
			continue;
		for (size_t j = 0; j < nout && !dup; j++) {
			size_t n = strlen(out[j]);

			dup = !strncmp(out[j], art.ptr, n) && (!art.ptr[n] || art.ptr[n] == '/');
		}
		if (!dup)
			PUSH_OUT(art.ptr, "traced");
	}
	if (ok && nout)
		err = add_outputs(R, out, how, nout);
	else if (nout)
		run_warnf(R, "the run did not succeed: its outputs are not stored");
	for (size_t i = 0; i < R->o->ninputs && !err; i++)
		err = add_input(R, R->o->inputs[i], "declared", 1);
	for (size_t i = 0; i < res->nr_files && !err; i++) {
		const char *rel;

		if (!(res->files[i].flags & MLV_TRACE_READ) || (res->files[i].flags & MLV_TRACE_DIR) ||
		    !(rel = worktree_path(R, res->files[i].path)) || !artifact_of(R, rel, &art) ||
		    io_has(R->outputs, art.ptr))
			continue;
		if (add_input(R, art.ptr, "traced", 0)) {
			run_warnf(R, "input %s: %s", art.ptr, mlv_error_last());
			mlv_error_clear();
		}
	}
#undef PUSH_OUT
	for (size_t i = 0; i < nout; i++)
		free(out[i]);
	free(out);
	free(how);
	mlv_buf_release(&art);
	return err;
}

/*
 * Store a file of the live directory; keep its pointer in the run's tree.
 * A small file whose content the store has already (an empty log) costs
 * no write: the writer, and its fsync, is made only when needed.
 */
#define SMALL_LOG (64u * 1024)
static int store_live_file(struct run *R, struct mlv_store *s, struct mlv_store_writer **w,
			   const char *name, const char *tree_dir, const char *tree_name,
			   json_t *logs)
{
	struct mlv_pointer p;
	struct stat st;
	int fd = openat(R->livefd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), err = 0, have = 0;

	if (fd < 0 || fstat(fd, &st)) {
		err = mlv_error_set_errno(MLV_EIO, "cannot open %s/%s", R->live, name);
		goto done;
	}
	mlv_pointer_init(&p);
	if (st.st_size <= SMALL_LOG) {
		if ((err = mlv_blob_hash_fd(&p.oid, &p.size, fd, name)))
			goto done;
		have = mlv_store_has_blob(s, &p.oid) > 0;
		mlv_error_clear();
		if (!have && lseek(fd, 0, SEEK_SET)) {
			err = mlv_error_set_errno(MLV_EIO, "cannot read %s/%s", R->live, name);
			goto done;
		}
	}
	if (!have && ((!*w && (err = mlv_store_writer_new(w, s))) ||
		      (err = mlv_store_writer_put_fd(*w, &p.oid, &p.size, fd, name))))
		goto done;
	p.kind = MLV_KIND_DATA;
	p.type = MLV_PTYPE_FILE;
	run_keep_pointer(R, tree_dir, tree_name, &p);
	if (logs) {
		char hex[MLV_OID_HEXSZ + 1];
		json_t *o = json_object();

		mlv_oid_tohex(hex, &p.oid);
		json_object_set_new(o, "oid", json_sprintf("sha256:%s", hex));
		json_object_set_new(o, "size", json_integer((json_int_t)p.size));
		json_object_set_new(logs, tree_name, o);
	}
done:
	if (fd >= 0)
		close(fd);
	return err;
}

int run_store_logs(struct run *R, json_t *logs, int series)
{
	struct mlv_store *s;
	struct mlv_store_writer *w = NULL;
	int err;

	if ((err = mlv_repo_store(&s, R->r)))
		return err;
	if (!(err = store_live_file(R, s, &w, "stdout.log", "logs", "stdout", logs)) &&
	    !(err = store_live_file(R, s, &w, "stderr.log", "logs", "stderr", logs)) && series)
		err = store_live_file(R, s, &w, "metrics.jsonl", "metrics", "series", NULL);
	if (!err && w)
		err = mlv_store_writer_commit(w);
	mlv_store_writer_free(w);
	return err;
}
