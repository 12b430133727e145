#include <git2.h>
#include <string.h>
#include <sys/stat.h>

#include "mlv/error.h"
#include "mlv/fs.h"
#include "mlv/repo.h"
#include "mlv/run.h"

/*
 * The uncommitted state of a work tree, as one git patch, and its
 * application to another work tree at the same commit (mlv repro).
 *
 * The patch holds what git would see: changes to tracked files, staged or
 * not, and untracked files git does not ignore, with their content
 * (binary ones as git binary patches).  Files mlv tracks are ignored by
 * git, so data never lands here -- their pointers do.
 */

#define DIFF_FLAGS (GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS | \
		    GIT_DIFF_SHOW_UNTRACKED_CONTENT | GIT_DIFF_SHOW_BINARY | \
		    GIT_DIFF_INCLUDE_TYPECHANGE)

static int append_line(const git_diff_delta *delta, const git_diff_hunk *hunk,
		       const git_diff_line *line, void *payload)
{
	struct mlv_buf *out = payload;

	if (line->origin == GIT_DIFF_LINE_CONTEXT || line->origin == GIT_DIFF_LINE_ADDITION ||
	    line->origin == GIT_DIFF_LINE_DELETION)
		mlv_buf_add(out, &line->origin, 1);
	mlv_buf_add(out, line->content, line->content_len);
	return 0;
}

/*
 * Untracked files that a run's patch leaves out: larger than
 * MLV_RUN_DIFF_FILE_MAX (data that is not tracked yet, not source), or
 * named like a file of credentials.
 */
static int secret_name(const char *path)
{
	static const char *const exact[] = {
		".env", ".netrc", ".pgpass", ".npmrc", ".pypirc", "id_rsa", "id_dsa",
		"id_ecdsa", "id_ed25519", "credentials", ".git-credentials", NULL,
	};
	static const char *const suffix[] = { ".pem", ".key", ".p12", ".pfx", ".kdbx", NULL };
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	for (size_t i = 0; exact[i]; i++)
		if (!strcmp(base, exact[i]))
			return 1;
	if (!strncmp(base, ".env.", 5) || !strncmp(base, "id_rsa", 6) || strstr(base, "secret"))
		return 1;
	for (size_t i = 0; suffix[i]; i++) {
		size_t e = strlen(suffix[i]);

		if (n > e && !strcmp(base + n - e, suffix[i]))
			return 1;
	}
	return 0;
}

struct diff_filter {
	struct mlv_repo *r;
	struct mlv_buf *skipped;
};

static int leave_out(const git_diff *diff, const git_diff_delta *d, const char *pathspec,
		     void *payload)
{
	struct diff_filter *f = payload;
	const char *path = d->new_file.path;
	struct stat st;
	const char *why = NULL;

	if (d->status != GIT_DELTA_UNTRACKED)
		return 0;
	if (secret_name(path))
		why = "named like credentials";
	else if (!mlv_fs_lstat(f->r->topfd, path, &st) && S_ISREG(st.st_mode) &&
		 (uint64_t)st.st_size > MLV_RUN_DIFF_FILE_MAX)
		why = "larger than 1 MiB";
	mlv_error_clear();
	if (!why)
		return 0;
	mlv_buf_addf(f->skipped, "%s%s (%s)", f->skipped->len ? ", " : "", path, why);
	return 1;
}

int mlv_run_worktree_diff(struct mlv_repo *r, struct mlv_buf *out, struct mlv_buf *skipped)
{
	struct diff_filter filter = { r, skipped };
	git_diff_options opts;
	git_object *head = NULL;
	git_tree *tree = NULL;
	git_diff *diff = NULL;
	int err = 0;

	mlv_buf_setlen(out, 0);
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	if (!git_revparse_single(&head, r->git, "HEAD^{tree}"))
		tree = (git_tree *)head;
	else
		git_error_clear(); /* unborn: everything is new */
	opts.flags = DIFF_FLAGS;
	opts.notify_cb = leave_out;
	opts.payload = &filter;
	if (git_diff_tree_to_workdir_with_index(&diff, r->git, tree, &opts) < 0) {
		err = mlv_git_error(MLV_EIO, "cannot diff the work tree against HEAD");
		goto done;
	}
	if (git_diff_print(diff, GIT_DIFF_FORMAT_PATCH, append_line, out) < 0)
		err = mlv_git_error(MLV_EIO, "cannot format the work tree's diff");
done:
	git_diff_free(diff);
	git_object_free(head);
	return err;
}

int mlv_run_apply_diff(struct mlv_repo *r, const void *patch, size_t len)
{
	git_diff *diff = NULL;
	int err = 0;

	if (!len)
		return 0;
	if (git_diff_from_buffer(&diff, patch, len) < 0)
		return mlv_git_error(MLV_EINVALID, "cannot read the run's diff.patch");
	if (git_apply(r->git, diff, GIT_APPLY_LOCATION_WORKDIR, NULL) < 0)
		err = mlv_git_error(MLV_ECONFLICT, "cannot apply the run's diff.patch");
	git_diff_free(diff);
	return err;
}
