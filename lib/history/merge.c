/*
 * Three-way merge of pointer files (mlv/merge.h): the merge driver's work,
 * and the resolution of a conflict from the stages in git's index.
 */
#include <git2.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/history.h"
#include "mlv/merge.h"
#include "mlv/path.h"
#include "mlv/tree.h"

void mlv_pointer_merge_init(struct mlv_pointer_merge *m)
{
	memset(m, 0, sizeof(*m));
	mlv_pointer_init(&m->result);
}

void mlv_pointer_merge_release(struct mlv_pointer_merge *m)
{
	mlv_pointer_release(&m->result);
	mlv_merge_conflicts_release(&m->conflicts);
	free(m->meta_conflict);
	m->meta_conflict = NULL;
}

int mlv_pointer_merge_conflicted(const struct mlv_pointer_merge *m)
{
	return m->conflicts.nr > 0 || m->meta_conflict;
}

/* The data a pointer names: type, id, exec bit (size and count follow from them). */
static int same_data(const struct mlv_pointer *a, const struct mlv_pointer *b)
{
	if (!a || !b)
		return !a && !b;
	return a->type == b->type && !mlv_oid_cmp(&a->oid, &b->oid) &&
	       (a->type == MLV_PTYPE_DIR || !a->exec == !b->exec);
}

static void take_data(struct mlv_pointer *out, const struct mlv_pointer *from)
{
	out->oid = from->oid;
	out->size = from->size;
	out->files = from->type == MLV_PTYPE_DIR ? from->files : 0;
	out->exec = from->type == MLV_PTYPE_FILE ? from->exec : 0;
	out->type = from->type;
}

static int same_extra(const struct mlv_pointer *a, const struct mlv_pointer *b)
{
	return a->extra.len == b->extra.len &&
	       (!a->extra.len || !memcmp(a->extra.ptr, b->extra.ptr, a->extra.len));
}

static uint32_t mode_of(const struct mlv_pointer *p)
{
	if (p->type == MLV_PTYPE_DIR)
		return MLV_MODE_DIR;
	return p->exec ? MLV_MODE_EXEC : MLV_MODE_FILE;
}

static void version_of(struct mlv_merge_version *v, const struct mlv_pointer *p)
{
	memset(v, 0, sizeof(*v));
	if (p) {
		v->mode = mode_of(p);
		v->size = p->size;
		v->oid = p->oid;
	}
}

static enum mlv_merge_change change_of(const struct mlv_pointer *b, const struct mlv_pointer *x)
{
	if (same_data(b, x))
		return MLV_MERGE_UNCHANGED;
	if (!b)
		return MLV_MERGE_ADDED;
	if (b->type != x->type)
		return MLV_MERGE_TYPECHANGE;
	return MLV_MERGE_MODIFIED;
}

/* The whole artifact conflicts: one entry with path "". */
static void record_root(struct mlv_pointer_merge *out, const struct mlv_pointer *b,
			const struct mlv_pointer *o, const struct mlv_pointer *t)
{
	struct mlv_merge_conflicts *c = &out->conflicts;
	struct mlv_merge_conflict *x;

	MLV_ALLOC_GROW(c->items, c->nr + 1, c->alloc);
	x = &c->items[c->nr++];
	x->path = mlv_strdup("");
	x->ours = change_of(b, o);
	x->theirs = change_of(b, t);
	version_of(&x->base_v, b);
	version_of(&x->ours_v, o);
	version_of(&x->theirs_v, t);
}

static void meta_conflict(struct mlv_pointer_merge *out, const char *fmt, ...)
	MLV_PRINTF(2, 3);
static void meta_conflict(struct mlv_pointer_merge *out, const char *fmt, ...)
{
	struct mlv_buf msg = MLV_BUF_INIT;
	va_list ap;

	if (out->meta_conflict) {
		mlv_buf_adds(&msg, out->meta_conflict);
		mlv_buf_adds(&msg, "; ");
		free(out->meta_conflict);
	}
	va_start(ap, fmt);
	mlv_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	out->meta_conflict = mlv_buf_detach(&msg, NULL);
}

static int merge_dirs(struct mlv_store *s, struct mlv_store_writer *w,
		      const struct mlv_pointer *base, const struct mlv_pointer *ours,
		      const struct mlv_pointer *theirs, const char *path,
		      enum mlv_merge_favor favor, struct mlv_pointer_merge *out)
{
	struct mlv_tree_merge_result res = MLV_TREE_MERGE_RESULT_INIT;
	const struct mlv_oid *b = base && base->type == MLV_PTYPE_DIR ? &base->oid : NULL;
	int64_t files;
	int ret = mlv_tree_merge(s, w, b, &ours->oid, &theirs->oid, path, favor, &res);

	if (ret)
		goto done;
	out->wrote_tree = 1;
	/* Steal the conflicts. */
	out->conflicts = res.conflicts;
	memset(&res.conflicts, 0, sizeof(res.conflicts));
	if (out->conflicts.nr && favor == MLV_MERGE_FAVOR_NONE) {
		take_data(&out->result, ours);
		goto done;
	}
	if (ours->files > (uint64_t)INT64_MAX ||
	    (files = (int64_t)ours->files + res.files_delta) < 0) {
		ret = mlv_error_set(MLV_EINVALID,
				    "'%s': ours' pointer says %llu files, which its tree does not hold",
				    path, (unsigned long long)ours->files);
		mlv_error_set_hint("run 'mlv fsck' on the branch that wrote it");
		goto done;
	}
	out->result.type = MLV_PTYPE_DIR;
	out->result.oid = res.oid;
	out->result.size = res.size;
	out->result.files = (uint64_t)files;
	out->result.exec = 0;
done:
	mlv_tree_merge_result_release(&res);
	return ret;
}

int mlv_merge_pointers(struct mlv_store *s, struct mlv_store_writer *w,
		       const struct mlv_pointer *base, const struct mlv_pointer *ours,
		       const struct mlv_pointer *theirs, const char *path,
		       enum mlv_merge_favor favor, struct mlv_pointer_merge *out)
{
	const struct mlv_pointer *pick = favor == MLV_MERGE_FAVOR_THEIRS ? theirs : ours;
	int ret = 0;

	/* Start from ours: its kind and unknown keys, unless merged below. */
	mlv_pointer_release(&out->result);
	mlv_pointer_init(&out->result);
	take_data(&out->result, ours);
	out->result.kind = ours->kind;
	mlv_buf_add(&out->result.extra, ours->extra.ptr, ours->extra.len);

	/* The data. */
	if (same_data(ours, theirs) || (base && same_data(base, theirs))) {
		/* ours */
	} else if (base && same_data(base, ours)) {
		take_data(&out->result, theirs);
	} else if (ours->type == MLV_PTYPE_DIR && theirs->type == MLV_PTYPE_DIR) {
		ret = merge_dirs(s, w, base, ours, theirs, path, favor, out);
	} else {
		record_root(out, base, ours, theirs);
		take_data(&out->result, pick);
	}
	if (ret)
		goto done;

	/* The kind. */
	if (ours->kind != theirs->kind && !(base && base->kind == theirs->kind)) {
		if (base && base->kind == ours->kind) {
			out->result.kind = theirs->kind;
		} else {
			meta_conflict(out, "'%s' is of kind %s in ours and %s in theirs", path,
				      mlv_kind_name(ours->kind), mlv_kind_name(theirs->kind));
			out->result.kind = pick->kind;
		}
	}
	/* The unknown keys, as a whole. */
	if (!same_extra(ours, theirs) && !(base && same_extra(base, theirs))) {
		const struct mlv_pointer *from = pick;

		if (base && same_extra(base, ours))
			from = theirs;
		else
			meta_conflict(out, "'%s': other keys of the pointer changed on both sides",
				      path);
		mlv_buf_reset(&out->result.extra);
		mlv_buf_add(&out->result.extra, from->extra.ptr, from->extra.len);
	}
done:
	return ret;
}

/* Read and parse the pointer blob of index entry `e` (stage `stage`, `side`). */
static int read_stage(struct mlv_pointer *out, struct mlv_repo *r, const git_index_entry *e,
		      const char *pointer, const char *side)
{
	struct mlv_buf name = MLV_BUF_INIT;
	git_blob *blob = NULL;
	uint64_t size;
	int ret = 0;

	mlv_buf_addf(&name, "%s (%s)", pointer, side);
	if (e->mode != GIT_FILEMODE_BLOB && e->mode != GIT_FILEMODE_BLOB_EXECUTABLE) {
		ret = mlv_error_set(MLV_EINVALID, "%s is not a regular file in git's index (mode %o)",
				    name.ptr, (unsigned)e->mode);
		goto done;
	}
	if (mlv_git_pointer_blob(&blob, &size, r->git, &e->id) < 0) {
		ret = mlv_git_error(MLV_ENOTFOUND, name.ptr);
		goto done;
	}
	if (!blob) {
		ret = mlv_error_set(MLV_EINVALID, "%s is larger than %d bytes: not a pointer file",
				    name.ptr, MLV_POINTER_MAX);
		goto done;
	}
	ret = mlv_pointer_parse(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
				name.ptr);
done:
	git_blob_free(blob);
	mlv_buf_release(&name);
	return ret;
}

int mlv_merge_resolve(struct mlv_repo *r, const char *pointer, enum mlv_merge_favor favor,
		      struct mlv_pointer *out)
{
	const char *side = favor == MLV_MERGE_FAVOR_THEIRS ? "theirs" : "ours";
	const git_index_entry *anc = NULL, *our = NULL, *their = NULL;
	struct mlv_pointer pb, po, pt;
	struct mlv_pointer_merge m;
	struct mlv_store_writer *w = NULL;
	struct mlv_error_state es;
	struct mlv_store *s;
	git_index *idx = NULL;
	size_t len = strlen(pointer), sl = sizeof(MLV_POINTER_SUFFIX) - 1;
	char *path = NULL;
	int ret;

	mlv_pointer_init(&pb);
	mlv_pointer_init(&po);
	mlv_pointer_init(&pt);
	mlv_pointer_merge_init(&m);
	if (favor != MLV_MERGE_FAVOR_OURS && favor != MLV_MERGE_FAVOR_THEIRS) {
		ret = mlv_error_set(MLV_EINVALID, "resolving '%s': choose ours or theirs", pointer);
		goto done;
	}
	if (len <= sl || strcmp(pointer + len - sl, MLV_POINTER_SUFFIX)) {
		ret = mlv_error_set(MLV_EINVALID, "'%s' is not a pointer file (*%s)", pointer,
				    MLV_POINTER_SUFFIX);
		goto done;
	}
	if ((ret = mlv_path_check(pointer, 0, pointer)))
		goto done;
	path = mlv_strndup(pointer, len - sl);
	if (git_repository_index(&idx, r->git) < 0 || git_index_read(idx, 0) < 0) {
		ret = mlv_git_error(MLV_EIO, "git's index");
		goto done;
	}
	if (git_index_conflict_get(&anc, &our, &their, idx, pointer) < 0) {
		ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not in conflict", pointer);
		goto done;
	}
	if (!(favor == MLV_MERGE_FAVOR_THEIRS ? their : our)) {
		ret = mlv_error_set(MLV_ENOTFOUND, "'%s' was deleted by %s", pointer, side);
		mlv_error_set_hint("remove it with 'git rm %s'", pointer);
		goto done;
	}
	if ((anc && (ret = read_stage(&pb, r, anc, pointer, "base"))) ||
	    (our && (ret = read_stage(&po, r, our, pointer, "ours"))) ||
	    (their && (ret = read_stage(&pt, r, their, pointer, "theirs"))))
		goto done;
	if (!our || !their) {
		/* Deleted on the other side: the favored side's pointer as it is. */
		const struct mlv_pointer *p = our ? &po : &pt;

		take_data(&m.result, p);
		m.result.kind = p->kind;
		mlv_buf_add(&m.result.extra, p->extra.ptr, p->extra.len);
	} else {
		if ((ret = mlv_repo_store(&s, r)) || (ret = mlv_store_writer_new(&w, s)))
			goto done;
		ret = mlv_merge_pointers(s, w, anc ? &pb : NULL, &po, &pt, path, favor, &m);
		if (ret == MLV_ENOTFOUND && !*mlv_error_last_hint())
			mlv_error_set_hint("bring that data into this store (fetch it, or 'mlv add' it "
					   "on the branch that made it), then resolve again");
		if (ret || (ret = mlv_store_writer_commit(w)))
			goto done;
	}
	if ((ret = mlv_pointer_write_at(r->topfd, pointer, &m.result)))
		goto done;
	if (out) {
		mlv_pointer_release(out);
		mlv_pointer_init(out);
		take_data(out, &m.result);
		out->kind = m.result.kind;
		mlv_buf_add(&out->extra, m.result.extra.ptr, m.result.extra.len);
	}
done:
	mlv_error_state_capture(&es, ret);
	mlv_store_writer_free(w);
	git_index_free(idx);
	mlv_pointer_merge_release(&m);
	mlv_pointer_release(&pb);
	mlv_pointer_release(&po);
	mlv_pointer_release(&pt);
	free(path);
	return mlv_error_state_restore(&es);
}
