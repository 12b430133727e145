/*
 * Older versions of an artifact: the forgotten `mlv checkout` after `git checkout`.
 */
#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/history.h"

struct search {
	struct mlv_repo *r;
	const char *pointer;
	const struct mlv_oid *id;
	git_oid *seen_blobs; /* pointer blobs already parsed */
	size_t nr_seen, alloc_seen;
	git_oid *seen_commits;
	size_t nr_commits, alloc_commits;
	git_commit *found;
};

static int seen(git_oid **v, size_t *nr, size_t *alloc, const git_oid *id)
{
	for (size_t i = 0; i < *nr; i++)
		if (git_oid_equal(&(*v)[i], id))
			return 1;
	MLV_ALLOC_GROW(*v, *nr + 1, *alloc);
	git_oid_cpy(&(*v)[(*nr)++], id);
	return 0;
}

/* 1 when commit `cid` names the version sought, 0 when not (or unreadable). */
static int look(struct search *s, const git_oid *cid)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	uint64_t size;
	int found = 0;

	if (seen(&s->seen_commits, &s->nr_commits, &s->alloc_commits, cid))
		return 0;
	if (git_commit_lookup(&c, s->r->git, cid) < 0 || git_commit_tree(&tree, c) < 0 ||
	    git_tree_entry_bypath(&e, tree, s->pointer) < 0 ||
	    git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    seen(&s->seen_blobs, &s->nr_seen, &s->alloc_seen, git_tree_entry_id(e)) ||
	    mlv_git_pointer_blob(&blob, &size, s->r->git, git_tree_entry_id(e)) < 0)
		goto done;
	if (blob) {
		struct mlv_pointer p;

		mlv_pointer_init(&p);
		if (!mlv_pointer_parse(&p, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
				       s->pointer))
			found = !mlv_oid_cmp(&p.oid, s->id);
		mlv_pointer_release(&p);
	}
done:
	git_error_clear();
	mlv_error_clear();
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	if (found)
		s->found = c;
	else
		git_commit_free(c);
	return found;
}

int mlv_history_find_version(struct mlv_repo *r, const char *pointer, const struct mlv_oid *id,
			     struct git_commit **commit)
{
	struct search s = { r, pointer, id, NULL, 0, 0, NULL, 0, 0, NULL };
	git_reflog *log = NULL;
	git_oid head;
	size_t budget = MLV_VERSION_SEARCH_MAX;

	if (commit)
		*commit = NULL;
	/* The commits checked out before this one, newest first. */
	if (!git_reflog_read(&log, r->git, "HEAD")) {
		size_t n = git_reflog_entrycount(log);

		for (size_t i = 0; i < n && budget && !s.found; i++, budget--)
			look(&s, git_reflog_entry_id_new(git_reflog_entry_byindex(log, i)));
		git_reflog_free(log);
	}
	/* Then HEAD's own history, along first parents. */
	if (!s.found && !git_reference_name_to_id(&head, r->git, "HEAD")) {
		git_commit *c = NULL, *parent;

		if (!git_commit_lookup(&c, r->git, &head)) {
			while (budget-- && !s.found && git_commit_parentcount(c) &&
			       !git_commit_parent(&parent, c, 0)) {
				git_commit_free(c);
				c = parent;
				look(&s, git_commit_id(c));
			}
			git_commit_free(c);
		}
	}
	git_error_clear();
	free(s.seen_blobs);
	free(s.seen_commits);
	if (!s.found)
		return 0;
	if (commit)
		*commit = s.found;
	else
		git_commit_free(s.found);
	return 1;
}

int mlv_history_forgotten(struct mlv_repo *r, const struct mlv_artifact *a,
			  struct git_commit **commit)
{
	struct mlv_store *store;
	struct mlv_oid id;
	int ret;

	if (commit)
		*commit = NULL;
	if (a->error || a->within || (ret = mlv_repo_store(&store, r)) < 0)
		return 0;
	ret = mlv_hash_path_cached(&id, store, r->topfd, a->path);
	if (ret <= 0 || !mlv_oid_cmp(&id, &a->ptr.oid) || mlv_store_has(store, &id) != 1) {
		mlv_error_clear();
		return ret < 0 ? ret : 0;
	}
	return mlv_history_find_version(r, a->pointer, &id, commit);
}
