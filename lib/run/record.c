#include <git2.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/repo.h"
#include "mlv/run.h"
#include "run/run-priv.h"

/*
 * A stored run is a git commit on refs/mlv/runs/<id> (mlv-formats(5),
 * RUNS): run.json, env.json, diff.patch, and copies of the pointers of
 * everything the run names in the store -- its inputs, outputs, logs and
 * series -- so that whatever keeps the ref keeps the data (mlv gc, git
 * push of the refs under refs/mlv).
 */

char *run_json_dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_REAL_PRECISION(17));
	struct mlv_buf b;

	if (!s)
		return NULL;
	mlv_buf_init(&b, strlen(s) + 2);
	mlv_buf_adds(&b, s);
	mlv_buf_addch(&b, '\n');
	free(s);
	return mlv_buf_detach(&b, NULL);
}

static int add_blob(git_index *idx, git_repository *repo, const char *path, const void *data,
		    size_t len)
{
	git_index_entry e;

	memset(&e, 0, sizeof(e));
	if (git_blob_create_from_buffer(&e.id, repo, data, len) < 0)
		return mlv_git_error(MLV_EIO, "cannot write a run's blob");
	e.mode = GIT_FILEMODE_BLOB;
	e.path = path;
	e.file_size = (uint32_t)len;
	if (git_index_add(idx, &e) < 0)
		return mlv_git_error(MLV_EINVALID, "cannot add a run's file");
	return 0;
}

static int add_json(git_index *idx, git_repository *repo, const char *path, const json_t *j)
{
	char *s = run_json_dump(j);
	int err;

	if (!s)
		return mlv_error_set(MLV_EINVALID, "cannot encode %s", path);
	err = add_blob(idx, repo, path, s, strlen(s));
	free(s);
	return err;
}

static git_signature *signature(git_repository *repo)
{
	git_signature *sig = NULL;
	struct passwd *pw;
	char host[256], email[600];

	if (!git_signature_default(&sig, repo))
		return sig;
	git_error_clear();
	pw = getpwuid(getuid());
	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(email, sizeof(email), "%s@%s", pw ? pw->pw_name : "mlv", host);
	if (git_signature_now(&sig, pw && *pw->pw_name ? pw->pw_name : "mlv", email) < 0) {
		git_error_clear();
		return NULL;
	}
	return sig;
}

int run_record_commit(struct mlv_repo *r, const char *id, const struct run_files *f,
		      const git_oid *parent_id, const char *message, git_oid *out)
{
	git_index *idx = NULL;
	git_commit *parent = NULL;
	git_tree *tree = NULL;
	git_reference *ref = NULL;
	git_signature *sig = NULL;
	git_oid tree_id;
	struct mlv_buf b = { 0 };
	char refname[128];
	int err;

	if (!mlv_run_id_valid(id))
		return mlv_error_set(MLV_EINVALID, "'%s' is not a run id", id);
	if (git_index_new(&idx) < 0)
		return mlv_git_error(MLV_EIO, "cannot make a run's tree");
	if ((err = add_json(idx, r->git, "run.json", f->run)) ||
	    (err = add_json(idx, r->git, "env.json", f->env)))
		goto done;
	if (f->diff && f->diff->len &&
	    (err = add_blob(idx, r->git, "diff.patch", f->diff->ptr, f->diff->len)))
		goto done;
	for (size_t i = 0; i < f->npointers; i++) {
		mlv_buf_setlen(&b, 0);
		mlv_pointer_format(&b, &f->pointers[i].ptr);
		if ((err = add_blob(idx, r->git, f->pointers[i].tree_path, b.ptr, b.len)))
			goto done;
	}
	if (git_index_write_tree_to(&tree_id, idx, r->git) < 0 ||
	    git_tree_lookup(&tree, r->git, &tree_id) < 0) {
		err = mlv_git_error(MLV_EIO, "cannot write a run's tree");
		goto done;
	}
	if (parent_id && git_commit_lookup(&parent, r->git, parent_id) < 0) {
		err = mlv_git_error(MLV_ENOTFOUND, "cannot read the run's commit");
		goto done;
	}
	if (!(sig = signature(r->git))) {
		err = mlv_error_set(MLV_ERROR, "cannot make a signature for the run's commit");
		goto done;
	}
	if (git_commit_create(out, r->git, NULL, sig, sig, NULL, message, tree, parent ? 1 : 0,
			      (const git_commit **)&parent) < 0) {
		err = mlv_git_error(MLV_EIO, "cannot write the run's commit");
		goto done;
	}
	snprintf(refname, sizeof(refname), "refs/mlv/runs/%s", id);
	if (git_reference_create(&ref, r->git, refname, out, 0, "mlv run") < 0)
		err = mlv_git_error(MLV_EIO, refname);
done:
	mlv_buf_release(&b);
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(tree);
	git_commit_free(parent);
	git_index_free(idx);
	return err;
}
