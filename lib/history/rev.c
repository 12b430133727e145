/*
 * The artifacts of a revision: pointer files read from git's trees.
 */
#include <git2.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/history.h"
#include "mlv/path.h"

static const size_t suffix_len = sizeof(MLV_POINTER_SUFFIX) - 1;

/* Directories deeper than this are not searched for pointers (as in the work tree). */
#define FIND_DEPTH_MAX (MLV_PATH_MAX / 2)

int mlv_git_pointer_blob(struct git_blob **out, uint64_t *size, struct git_repository *git,
			 const struct git_oid *id)
{
	git_odb *odb = NULL;
	git_object_t type;
	size_t len;
	int rc;

	*out = NULL;
	*size = 0;
	if ((rc = git_repository_odb(&odb, git)) < 0)
		return rc;
	rc = git_odb_read_header(&len, &type, odb, id);
	git_odb_free(odb);
	if (rc < 0)
		return rc;
	*size = len;
	if (len > MLV_POINTER_MAX)
		return 0;
	if ((rc = git_blob_lookup(out, git, id)) < 0)
		return rc;
	*size = (uint64_t)git_blob_rawsize(*out);
	return 0;
}

int mlv_rev_commit(struct git_commit **out, struct mlv_repo *r, const char *rev)
{
	git_object *obj = NULL, *peeled = NULL;
	int ret = 0;

	*out = NULL;
	if (!*rev || rev[0] == '-' || strchr(rev, '\n'))
		return mlv_error_set(MLV_ENOTFOUND, "unknown revision '%s'", rev);
	if (git_revparse_single(&obj, r->git, rev) < 0)
		return mlv_error_set(MLV_ENOTFOUND, "unknown revision '%s'", rev);
	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0)
		ret = mlv_error_set(MLV_EINVALID, "revision '%s' is a %s, not a commit", rev,
				    git_object_type2string(git_object_type(obj)));
	else
		*out = (git_commit *)peeled;
	git_object_free(obj);
	return ret;
}

int mlv_rev_tree(struct git_tree **out, struct mlv_repo *r, const char *rev)
{
	git_commit *c;
	int ret;

	*out = NULL;
	if ((ret = mlv_rev_commit(&c, r, rev)) < 0)
		return ret;
	if (git_commit_tree(out, c) < 0)
		ret = mlv_git_error(MLV_ENOTFOUND, rev);
	git_commit_free(c);
	return ret;
}

static int has_suffix(const char *s, size_t len)
{
	return len > suffix_len && !memcmp(s + len - suffix_len, MLV_POINTER_SUFFIX, suffix_len);
}

/* `a` for `pointer` whose entry cannot be used, for the reason just set (`err`). */
static int entry_error(struct mlv_artifact *a, const char *pointer, int err)
{
	char *why = mlv_strdup(mlv_error_last());
	int ret = mlv_artifact_load_bad(a, pointer, err, why);

	free(why);
	return ret;
}

/* Fill `a` from the blob of tree entry `e` found as `pointer`. */
static int load_entry(struct mlv_artifact *a, struct mlv_repo *r, const git_tree_entry *e,
		      const char *pointer)
{
	git_filemode_t mode = git_tree_entry_filemode(e);
	git_blob *blob = NULL;
	uint64_t size;
	int ret;

	if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE)
		return entry_error(a, pointer, mlv_error_set(MLV_EINVALID, "'%s' is not a regular "
							     "file in git (mode %06o)", pointer,
							     (unsigned)mode));
	if (mlv_git_pointer_blob(&blob, &size, r->git, git_tree_entry_id(e)) < 0) {
		/* A shallow or partial clone may lack it: the artifact is bad, the call is not. */
		return entry_error(a, pointer, mlv_git_error(MLV_ENOTFOUND, pointer));
	}
	if (!blob)
		return entry_error(a, pointer, mlv_error_set(MLV_EINVALID, "'%s' is larger than "
							     "%u bytes (%" PRIu64 "): not a "
							     "pointer file", pointer,
							     MLV_POINTER_MAX, size));
	ret = mlv_artifact_load_buf(a, pointer, git_blob_rawcontent(blob), (size_t)size);
	git_blob_free(blob);
	return ret;
}

int mlv_rev_artifact_load(struct mlv_artifact *a, struct mlv_repo *r, struct git_tree *tree,
			  const char *pointer)
{
	git_tree_entry *e = NULL;
	int ret;

	if (git_tree_entry_bypath(&e, tree, pointer) < 0) {
		git_error_clear();
		return mlv_error_set(MLV_ENOTFOUND, "'%s' is not in the revision", pointer);
	}
	ret = load_entry(a, r, e, pointer);
	git_tree_entry_free(e);
	return ret;
}

static struct mlv_artifact *append(struct mlv_artifact_list *l)
{
	MLV_ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	return &l->items[l->nr++];
}

/*
 * Every pointer below git tree `t`, which stands for directory `dir` ("" =
 * top).  `visits` counts the entries seen, against MLV_GIT_TREE_VISIT_MAX.
 */
static int find_below(struct mlv_artifact_list *l, struct mlv_repo *r, const git_tree *t,
		      const char *dir, int depth, size_t *visits)
{
	size_t n = git_tree_entrycount(t);
	int ret = 0;

	if (depth > FIND_DEPTH_MAX)
		return 0;
	if ((*visits += n) > MLV_GIT_TREE_VISIT_MAX)
		return mlv_error_set(MLV_EINVALID, "git tree '%s' holds more than %u entries "
				     "(subtrees reached by several paths count each time): refusing "
				     "to search it", *dir ? dir : "/", MLV_GIT_TREE_VISIT_MAX);
	for (size_t i = 0; i < n && !ret; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const char *name = git_tree_entry_name(e);
		size_t len = strlen(name);
		char *path;

		/* As in the work tree: .git, .mlv and other refused names are not searched. */
		if (!mlv_path_component_valid(name, len))
			continue;
		path = *dir ? mlv_xstrfmt("%s/%s", dir, name) : mlv_strdup(name);
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			git_tree *sub;

			if (git_tree_lookup(&sub, r->git, git_tree_entry_id(e)) < 0) {
				ret = mlv_git_error(MLV_ENOTFOUND, path);
			} else {
				ret = find_below(l, r, sub, path, depth + 1, visits);
				git_tree_free(sub);
			}
		} else if (has_suffix(name, len)) {
			load_entry(append(l), r, e, path);
		}
		free(path);
	}
	return ret;
}

/* The git tree at `path` of `tree`: 1 and *out, 0 when absent or not a tree. */
static int subtree(git_tree **out, struct mlv_repo *r, git_tree *tree, const char *path)
{
	git_tree_entry *e;
	int ret = 0;

	*out = NULL;
	if (!*path)
		return git_tree_dup(out, tree) < 0 ? mlv_git_error(MLV_ERROR, "tree") : 1;
	if (git_tree_entry_bypath(&e, tree, path) < 0) {
		git_error_clear();
		return 0;
	}
	if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
		ret = git_tree_lookup(out, r->git, git_tree_entry_id(e)) < 0 ?
			      mlv_git_error(MLV_ENOTFOUND, path) : 1;
	git_tree_entry_free(e);
	return ret;
}

/* A pointer entry `pointer` in `tree`: 1 (appended to `l`), 0 when absent. */
static int pointer_entry(struct mlv_artifact_list *l, struct mlv_repo *r, git_tree *tree,
			 const char *pointer)
{
	git_tree_entry *e;

	if (git_tree_entry_bypath(&e, tree, pointer) < 0) {
		git_error_clear();
		return 0;
	}
	if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
		git_tree_entry_free(e);
		return 0;
	}
	load_entry(append(l), r, e, pointer);
	git_tree_entry_free(e);
	return 1;
}

static int find_one(struct mlv_artifact_list *l, struct mlv_repo *r, git_tree *tree,
		    const char *rev_name, const char *path)
{
	struct mlv_buf p = MLV_BUF_INIT;
	size_t len = strlen(path), visits = 0;
	git_tree *sub = NULL;
	int ret;

	if (len && path[len - 1] == '/') {
		mlv_buf_add(&p, path, len - 1);
		if ((ret = subtree(&sub, r, tree, p.ptr)) > 0)
			ret = find_below(l, r, sub, p.ptr, 0, &visits);
		else if (!ret)
			ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv in '%s'",
					    path, rev_name);
		goto done;
	}
	if (len && !mlv_path_valid(path)) {
		ret = mlv_path_check(path, 0, "bad path");
		goto done;
	}
	mlv_buf_addf(&p, "%s%s", path, MLV_POINTER_SUFFIX);
	if (len && (pointer_entry(l, r, tree, p.ptr) ||
		    (has_suffix(path, len) && pointer_entry(l, r, tree, path)))) {
		ret = 0;
		goto done;
	}
	/* Inside a tracked directory: the longest leading part with a pointer. */
	for (size_t i = len; i > 0; i--) {
		if (path[i] != '/')
			continue;
		mlv_buf_reset(&p);
		mlv_buf_addf(&p, "%.*s%s", (int)i, path, MLV_POINTER_SUFFIX);
		if (pointer_entry(l, r, tree, p.ptr)) {
			l->items[l->nr - 1].within = mlv_strdup(path);
			ret = 0;
			goto done;
		}
	}
	if ((ret = subtree(&sub, r, tree, path)) > 0)
		ret = find_below(l, r, sub, path, 0, &visits);
	else if (!ret)
		ret = mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv in '%s'",
				    *path ? path : ".", rev_name);
done:
	git_tree_free(sub);
	mlv_buf_release(&p);
	return ret;
}

int mlv_rev_artifacts(struct mlv_artifact_list *out, struct mlv_repo *r, struct git_tree *tree,
		      const char *rev_name, const char *const *paths, size_t n)
{
	size_t visits = 0;
	int ret = 0;

	if (!n)
		ret = find_below(out, r, tree, "", 0, &visits);
	for (size_t i = 0; i < n && !ret; i++)
		ret = find_one(out, r, tree, rev_name, paths[i]);
	mlv_artifact_list_sort(out);
	return ret;
}

int mlv_rev_resolve(struct mlv_resolved *out, struct mlv_repo *r, struct git_tree *tree,
		    const char *rev_name, const char *path)
{
	const char *one[] = { path };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = mlv_rev_artifacts(&out->artifact, r, tree, rev_name, one, 1);
	if (ret == MLV_ENOTFOUND || (!ret && out->artifact.nr != 1))
		return mlv_error_set(MLV_ENOTFOUND, "'%s' is not tracked by mlv in '%s'",
				     *path ? path : ".", rev_name);
	if (ret < 0)
		return ret;
	return mlv_resolved_descend(out, r, path);
}
