/*
 * Verify the pointers of a work tree against the store (the part of
 * mlv fsck that reads pointer files).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mlv/tree.h"
#include "mlv/worktree.h"

struct verify {
	struct mlv_store *s;
	mlv_fsck_report_fn report;
	void *ctx;
};

static void missing(struct verify *v, const char *path, const struct mlv_oid *id)
{
	char detail[160];

	snprintf(detail, sizeof(detail), "object %s is not (completely) in the store",
		 mlv_oid_hex(id));
	v->report(v->ctx, "missing", path, detail);
}

static int check_entry(void *ctx, const char *path, const struct mlv_tree_entry *e)
{
	struct verify *v = ctx;
	int ret = mlv_store_has_blob(v->s, &e->oid);

	if (ret == 0)
		missing(v, path, &e->oid);
	return ret < 0 ? ret : 0;
}

static int check_dir(struct verify *v, const struct mlv_artifact *a)
{
	uint64_t files = 0;
	char detail[160];

	if (mlv_tree_count(v->s, &a->ptr.oid, a->path, MLV_TREE_VISIT_MAX, &files) < 0) {
		v->report(v->ctx, "tree", a->path, mlv_error_last());
	} else if (files != a->ptr.files) {
		snprintf(detail, sizeof(detail), "its tree holds %" PRIu64 " files, its pointer says %"
			 PRIu64, files, a->ptr.files);
		v->report(v->ctx, "tree", a->path, detail);
	} else if (mlv_tree_walk(v->s, &a->ptr.oid, a->path, check_entry, v) < 0) {
		v->report(v->ctx, "corrupt", a->path, mlv_error_last());
	}
	mlv_error_clear();
	return 0;
}

int mlv_worktree_verify(struct mlv_repo *r, mlv_fsck_report_fn report, void *ctx)
{
	struct mlv_artifact_list list = { 0 };
	struct verify v = { NULL, report, ctx };
	int ret;

	if ((ret = mlv_repo_store(&v.s, r)) < 0 ||
	    (ret = mlv_artifacts_find_at(&list, r->topfd, NULL, 0)) < 0)
		goto done;
	for (size_t i = 0; i < list.nr && !ret; i++) {
		const struct mlv_artifact *a = &list.items[i];
		int have;

		if (a->error) {
			report(ctx, "pointer", a->pointer, a->error);
			continue;
		}
		have = a->ptr.type == MLV_PTYPE_DIR ? mlv_store_has(v.s, &a->ptr.oid) :
						       mlv_store_has_blob(v.s, &a->ptr.oid);
		if (have < 0)
			ret = have;
		else if (!have)
			missing(&v, a->path, &a->ptr.oid);
		else if (a->ptr.type == MLV_PTYPE_DIR)
			ret = check_dir(&v, a);
	}
done:
	mlv_artifact_list_release(&list);
	return ret;
}
