/*
 * mlv diff [<rev-a> [<rev-b>]] [--stat|--name-status|--json] [--exit-code] [--] [<path>...]
 *
 * Artifacts added, removed and modified between two sides, and inside a
 * tracked directory the files added, removed, modified and renamed,
 * computed from stored trees (mlv_tree_diff()), reading no file data.
 *
 * The sides: <rev-a> (default HEAD) and <rev-b>, or the work tree when
 * there is no <rev-b>.  The work tree side of an artifact is its pointer
 * file and, when the data on disk no longer matches that pointer (changes
 * not yet recorded with mlv add), the data: the artifact is then marked
 * "unsaved", its id and size are those the data would get, and the files
 * of a directory that differ from its pointer (as mlv status finds them)
 * are folded into the files listed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <git2.h>

#include "builtin.h"
#include "mlv/error.h"
#include "mlv/fs.h"
#include "mlv/history.h"
#include "mlv/treediff.h"
#include "mlv/worktree.h"

/* One file inside a tracked directory that differs. */
struct fchange {
	int kind; /* 'A', 'D', 'M', 'T', 'R', '!' */
	char *path, *old_path;
	int old_known, new_known; /* sizes and ids known */
	uint64_t old_size, new_size;
	struct mlv_oid old_oid, new_oid;
	int touched;
	int dropped;
	int from_disk; /* new side from the work tree: size known, id not */
};

struct fchanges {
	struct fchange *v;
	size_t nr, alloc;
};

/* What one side holds for an artifact. */
struct desc {
	int present;
	const char *error; /* a bad pointer */
	enum mlv_ptype type;
	enum mlv_kind kind;
	struct mlv_oid oid;
	uint64_t size, files;
	int exec;
	int unsaved; /* the work tree's data, not its pointer */
};

struct adiff {
	const char *path, *pointer, *within;
	int kind; /* 'A', 'D', 'M', 'T' */
	int bad;  /* a side has a bad pointer */
	struct desc old, new;
	struct fchanges files;
	struct mlv_tree_diff_stat st;
};

struct side {
	const char *rev;     /* as given; NULL for the work tree */
	struct git_tree *tree;
	char commit[GIT_OID_HEXSZ + 1];
	int unborn;          /* HEAD of a repository without commits: no artifacts */
	struct mlv_artifact_list list;
};

static void fchange_add(struct fchanges *l, int kind, const char *path, const char *old_path)
{
	struct fchange *f;

	MLV_ALLOC_GROW(l->v, l->nr + 1, l->alloc);
	f = &l->v[l->nr++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->path = mlv_strdup(path);
	f->old_path = old_path ? mlv_strdup(old_path) : NULL;
}

static void fchanges_release(struct fchanges *l)
{
	for (size_t i = 0; i < l->nr; i++) {
		free(l->v[i].path);
		free(l->v[i].old_path);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int on_tree_change(void *ctx, const struct mlv_tree_change *c)
{
	struct fchanges *l = ctx;
	struct fchange *f;

	fchange_add(l, c->kind, c->path, c->kind == 'R' ? c->old_path : NULL);
	f = &l->v[l->nr - 1];
	f->old_known = !!c->old_mode;
	f->new_known = !!c->new_mode;
	f->old_size = c->old_size;
	f->new_size = c->new_size;
	f->old_oid = c->old_oid;
	f->new_oid = c->new_oid;
	return 0;
}

/* Work tree: the files that differ from the pointer, as mlv status finds them. */
struct wt_changes {
	char **path;
	int *what;
	size_t nr, alloc, alloc2;
};

static void on_status_change(void *ctx, const char *artifact, const char *file, int what)
{
	struct wt_changes *w = ctx;

	MLV_ALLOC_GROW(w->path, w->nr + 1, w->alloc);
	MLV_ALLOC_GROW(w->what, w->nr + 1, w->alloc2);
	w->path[w->nr] = mlv_strdup(file);
	w->what[w->nr++] = what;
}

static void on_warn(void *ctx, const char *msg)
{
	/* Special files inside a directory are status's business. */
}

static int cmp_fchange(const void *a, const void *b)
{
	const struct fchange *x = a, *y = b;

	return strcmp(x->path, y->path);
}

/* In the first `nr` changes of `l`, sorted by path. */
static struct fchange *find_fchange(struct fchanges *l, size_t nr, const char *path)
{
	struct fchange key;

	if (!nr)
		return NULL;
	key.path = (char *)path;
	return bsearch(&key, l->v, nr, sizeof(*l->v), cmp_fchange);
}

static void disk_size(struct mlv_ctx *ctx, struct fchange *f)
{
	struct stat st;

	if (mlv_fs_lstat(ctx->repo->topfd, f->path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		f->new_size = (uint64_t)st.st_size;
		f->new_known = 1;
		f->from_disk = 1;
		memset(&f->new_oid, 0, sizeof(f->new_oid));
	}
	mlv_error_clear();
}

/*
 * Fold the work tree's changes (relative to the pointer's tree) into the
 * changes between the old side and that tree.  A rename whose either end
 * the work tree touched is shown as its deletion and addition.
 */
static void compose(struct mlv_ctx *ctx, struct fchanges *l, struct wt_changes *w)
{
	struct fchanges x = { 0 };

	/* Expand renames into linked halves. */
	for (size_t i = 0; i < l->nr; i++) {
		struct fchange *f = &l->v[i];

		if (f->kind == 'R') {
			size_t d = x.nr;

			fchange_add(&x, 'D', f->old_path, NULL);
			x.v[d].old_known = 1;
			x.v[d].old_size = f->old_size;
			x.v[d].old_oid = f->old_oid;
			fchange_add(&x, 'A', f->path, NULL);
			x.v[d + 1].new_known = 1;
			x.v[d + 1].new_size = f->new_size;
			x.v[d + 1].new_oid = f->new_oid;
		} else {
			MLV_ALLOC_GROW(x.v, x.nr + 1, x.alloc);
			x.v[x.nr] = *f;
			x.v[x.nr].path = mlv_strdup(f->path);
			x.v[x.nr++].old_path = NULL;
		}
	}
	fchanges_release(l);
	if (x.nr)
		qsort(x.v, x.nr, sizeof(*x.v), cmp_fchange);
	{
		size_t sorted = x.nr;

		for (size_t i = 0; i < w->nr; i++) {
			struct fchange *f = find_fchange(&x, sorted, w->path[i]);
			int L = w->what[i];

			if (!f) {
				/* Unchanged since the old side: the work tree's letter holds. */
				fchange_add(&x, L, w->path[i], NULL);
				if (L != 'D')
					disk_size(ctx, &x.v[x.nr - 1]);
				continue;
			}
			f->touched = 1;
			if (f->kind == 'A')
				f->dropped = L == 'D';
			else if (f->kind == 'D')
				f->kind = 'M';
			else if (L == 'D')
				f->kind = 'D';
			else if (L == 'T')
				f->kind = 'T';
			if (!f->dropped && f->kind != 'D')
				disk_size(ctx, f);
			if (f->kind == 'D') {
				f->new_known = 0;
				f->new_size = 0;
			}
		}
	}
	if (x.nr)
		qsort(x.v, x.nr, sizeof(*x.v), cmp_fchange);
	*l = x;
}

/* Pair renames again among the halves the work tree left alone. */
static void repair_renames(struct fchanges *l, const struct fchanges *orig_renames)
{
	for (size_t i = 0; i < orig_renames->nr; i++) {
		const struct fchange *r = &orig_renames->v[i];
		struct fchange *d = find_fchange(l, l->nr, r->old_path);
		struct fchange *a = find_fchange(l, l->nr, r->path);

		if (!d || !a || d->touched || a->touched || d->kind != 'D' || a->kind != 'A')
			continue;
		d->dropped = 1;
		a->kind = 'R';
		a->old_path = mlv_strdup(r->old_path);
		a->old_known = 1;
		a->old_size = d->old_size;
		a->old_oid = d->old_oid;
	}
}

static void desc_from(struct desc *d, const struct mlv_artifact *a)
{
	memset(d, 0, sizeof(*d));
	if (!a)
		return;
	d->present = 1;
	if (a->error) {
		d->error = a->error;
		return;
	}
	d->type = a->ptr.type;
	d->kind = a->ptr.kind;
	d->oid = a->ptr.oid;
	d->size = a->ptr.size;
	d->files = a->ptr.files;
	d->exec = a->ptr.exec;
}

static const char *side_name(const struct side *s)
{
	return s->rev ? s->rev : "the work tree";
}

/* The inner files of a directory artifact present (and valid) on both sides. */
static void tree_changes(struct mlv_ctx *ctx, struct adiff *d, const struct mlv_oid *new_tree)
{
	struct mlv_tree_diff_opts o = MLV_TREE_DIFF_OPTS_INIT;
	struct mlv_store *s;
	size_t plen = strlen(d->path);
	int skipped = 0;

	if (mlv_repo_store(&s, ctx->repo) < 0)
		die_lib();
	o.flags = MLV_TREE_DIFF_MISSING_OK;
	o.renames_skipped = &skipped;
	if (d->within && strlen(d->within) > plen)
		o.within = d->within + plen + 1;
	if (mlv_oid_cmp(&d->old.oid, new_tree) &&
	    mlv_tree_diff_ext(s, &d->old.oid, new_tree, d->path, &o, on_tree_change, &d->files) < 0)
		die_lib();
	if (skipped)
		warning("%s: rename detection skipped: more than %zu changes", path_show(ctx, d->path),
			MLV_TREE_DIFF_RENAME_MAX);
}

static void wt_changes_release(struct wt_changes *w)
{
	for (size_t i = 0; i < w->nr; i++)
		free(w->path[i]);
	free(w->path);
	free(w->what);
	memset(w, 0, sizeof(*w));
}

/* The work tree's data where it differs from pointer `b`: the new side becomes the data. */
static void worktree_data(struct mlv_ctx *ctx, struct adiff *d, const struct mlv_artifact *b,
			  struct wt_changes *w)
{
	struct mlv_wt_callbacks cb = { on_warn, NULL, on_status_change, w };
	struct mlv_store *s;
	unsigned st;
	struct stat sb;

	if (mlv_status_artifact(ctx->repo, b, &cb, &st) < 0)
		die_lib();
	if (st & MLV_ST_MISSING) {
		d->new.present = 0;
		d->new.unsaved = 1;
		return;
	}
	if (!(st & (MLV_ST_MODIFIED | MLV_ST_TYPE)))
		return;
	d->new.unsaved = 1;
	if (d->within)
		return; /* only the files inside count */
	if (mlv_repo_store(&s, ctx->repo) < 0)
		die_lib();
	if (mlv_fs_lstat(ctx->repo->topfd, b->path, &sb) < 0)
		die_lib();
	d->new.type = S_ISDIR(sb.st_mode) ? MLV_PTYPE_DIR : MLV_PTYPE_FILE;
	d->new.exec = !S_ISDIR(sb.st_mode) && (sb.st_mode & 0100);
	if (mlv_hash_path_at(&d->new.oid, &d->new.size, &d->new.files, s, ctx->repo->topfd,
			     b->path, mlv_add_dereferenced(&b->ptr), NULL) < 0)
		die_lib();
}

/* Compare the two sides of one artifact; 1 when they differ. */
static int diff_artifact(struct mlv_ctx *ctx, struct adiff *d, const struct mlv_artifact *a,
			 const struct mlv_artifact *b, const struct side *sa, const struct side *sb)
{
	struct wt_changes w = { 0 };
	size_t nfiles = 0;
	int ret = 1;

	desc_from(&d->old, a);
	desc_from(&d->new, b);
	if (a && a->error)
		error("%s (at %s)", a->error, side_name(sa));
	if (b && b->error)
		error("%s (in %s)", b->error, side_name(sb));
	if (!sb->rev && b && !b->error)
		worktree_data(ctx, d, b, &w);
	if (d->old.error || d->new.error) {
		d->bad = 1;
		if (d->old.error && d->new.error && !strcmp(d->old.error, d->new.error))
			ret = 0;
		else
			d->kind = !d->old.present ? 'A' : !d->new.present ? 'D' : 'M';
		goto done;
	}
	if (!d->old.present && !d->new.present) {
		ret = 0;
		goto done;
	}
	if (!d->old.present || !d->new.present) {
		d->kind = d->old.present ? 'D' : 'A';
		goto done;
	}
	if (d->old.type != d->new.type) {
		d->kind = 'T';
		goto done;
	}
	if (d->old.type == MLV_PTYPE_DIR && b->ptr.type == MLV_PTYPE_DIR) {
		tree_changes(ctx, d, &b->ptr.oid);
		if (d->files.nr)
			qsort(d->files.v, d->files.nr, sizeof(*d->files.v), cmp_fchange);
		if (d->new.unsaved) {
			struct fchanges renames = { 0 };

			for (size_t i = 0; i < d->files.nr; i++)
				if (d->files.v[i].kind == 'R')
					fchange_add(&renames, 'R', d->files.v[i].path,
						    d->files.v[i].old_path);
			compose(ctx, &d->files, &w);
			repair_renames(&d->files, &renames);
			fchanges_release(&renames);
		}
		for (size_t i = 0; i < d->files.nr; i++) {
			const struct fchange *f = &d->files.v[i];
			struct mlv_tree_change c;

			if (f->dropped)
				continue;
			nfiles++;
			memset(&c, 0, sizeof(c));
			c.kind = f->kind;
			c.old_size = f->old_size;
			c.new_size = f->new_size;
			mlv_tree_diff_stat_add(&d->st, &c);
		}
		if (d->within) {
			ret = nfiles > 0;
			if (ret)
				d->kind = 'M';
			goto done;
		}
	}
	if (!mlv_oid_cmp(&d->old.oid, &d->new.oid) && d->old.exec == d->new.exec &&
	    d->old.kind == d->new.kind) {
		ret = 0;
		goto done;
	}
	d->kind = 'M';
done:
	wt_changes_release(&w);
	return ret;
}

/* Output. */

static const char *kind_word(int kind)
{
	switch (kind) {
	case 'A': return "added";
	case 'D': return "deleted";
	case 'M': return "modified";
	case 'T': return "typechange";
	case 'R': return "renamed";
	default: return "missing";
	}
}

static const char *desc_size(const struct desc *d)
{
	static char buf[2][64];
	static int k;
	char *b = buf[k++ & 1];

	if (d->type == MLV_PTYPE_DIR)
		snprintf(b, 64, "%s, %llu file%s", human_size(d->size), (unsigned long long)d->files,
			 d->files == 1 ? "" : "s");
	else
		snprintf(b, 64, "%s", human_size(d->size));
	return b;
}

static void print_human(struct mlv_ctx *ctx, const struct adiff *d)
{
	const char *w = kind_word(d->kind);
	const char *unsaved = d->new.unsaved ? " [unsaved]" : "";

	printf("%s:%*s%s", w, (int)(11 - strlen(w)), "", path_show(ctx, d->path));
	if (d->bad)
		printf(" (bad pointer)%s\n", unsaved);
	else if (d->kind == 'A')
		printf(" (%s)%s\n", desc_size(&d->new), unsaved);
	else if (d->kind == 'D')
		printf(" (%s)%s\n", desc_size(&d->old), unsaved);
	else if (d->kind == 'T')
		printf(" (%s -> %s)%s\n", d->old.type == MLV_PTYPE_DIR ? "directory" : "file",
		       d->new.type == MLV_PTYPE_DIR ? "directory" : "file", unsaved);
	else if (d->within)
		printf("%s\n", unsaved);
	else
		printf(" (%s -> %s)%s\n", desc_size(&d->old), desc_size(&d->new), unsaved);
	for (size_t i = 0; i < d->files.nr; i++) {
		const struct fchange *f = &d->files.v[i];
		const char *fw = kind_word(f->kind);

		if (f->dropped)
			continue;
		if (f->kind == 'R') {
			/* path_show() has one buffer: print the halves apart. */
			printf("    %s:%*s%s", fw, (int)(11 - strlen(fw)), "",
			       path_show(ctx, f->old_path));
			printf(" -> %s\n", path_show(ctx, f->path));
		} else if (f->kind == '!') {
			printf("    %s:%*s%s (tree %s is not in the store)\n", fw,
			       (int)(11 - strlen(fw)), "", path_show(ctx, f->path),
			       mlv_oid_hex(f->old_known ? &f->old_oid : &f->new_oid));
		} else {
			printf("    %s:%*s%s\n", fw, (int)(11 - strlen(fw)), "", path_show(ctx, f->path));
		}
	}
}

static void print_name_status(struct mlv_ctx *ctx, const struct adiff *d)
{
	size_t shown = 0;

	for (size_t i = 0; i < d->files.nr; i++) {
		const struct fchange *f = &d->files.v[i];

		if (f->dropped || f->kind == '!')
			continue;
		shown++;
		if (f->kind == 'R') {
			printf("R\t%s", path_show(ctx, f->old_path));
			printf("\t%s\n", path_show(ctx, f->path));
		} else {
			printf("%c\t%s\n", f->kind, path_show(ctx, f->path));
		}
	}
	if (!shown)
		printf("%c\t%s\n", d->kind, path_show(ctx, d->path));
}

static void signed_size(char *out, size_t len, uint64_t from, uint64_t to)
{
	if (to >= from)
		snprintf(out, len, "+%s", human_size(to - from));
	else
		snprintf(out, len, "-%s", human_size(from - to));
}

static void print_stat(struct mlv_ctx *ctx, const struct adiff *d)
{
	char delta[64];
	uint64_t from = d->old.present ? d->old.size : 0, to = d->new.present ? d->new.size : 0;

	printf(" %s |", path_show(ctx, d->path));
	if (d->bad) {
		printf(" bad pointer\n");
		return;
	}
	if (d->old.type == MLV_PTYPE_DIR && d->new.type == MLV_PTYPE_DIR && d->kind == 'M') {
		printf(" %llu added, %llu deleted, %llu modified, %llu renamed",
		       (unsigned long long)d->st.added, (unsigned long long)d->st.deleted,
		       (unsigned long long)d->st.modified, (unsigned long long)d->st.renamed);
		if (d->st.missing)
			printf(", %llu missing", (unsigned long long)d->st.missing);
		printf(" |");
	} else if (d->kind == 'A' && d->new.type == MLV_PTYPE_DIR) {
		printf(" %llu added |", (unsigned long long)d->new.files);
	} else if (d->kind == 'D' && d->old.type == MLV_PTYPE_DIR) {
		printf(" %llu deleted |", (unsigned long long)d->old.files);
	}
	if (d->within) {
		printf("\n");
		return;
	}
	signed_size(delta, sizeof(delta), from, to);
	printf(" %s", human_size(from));
	printf(" -> %s (%s)%s\n", human_size(to), delta, d->new.unsaved ? " [unsaved]" : "");
}

static json_t *desc_json(const struct desc *d)
{
	json_t *o;

	if (!d->present)
		return json_null();
	o = json_object();
	if (d->error) {
		json_object_set_new(o, "error", json_text(d->error));
		return o;
	}
	json_object_set_new(o, "oid", json_sprintf("sha256:%s", mlv_oid_hex(&d->oid)));
	json_object_set_new(o, "size", json_integer((json_int_t)d->size));
	json_object_set_new(o, "type", json_string(d->type == MLV_PTYPE_DIR ? "dir" : "file"));
	json_object_set_new(o, "kind", json_string(mlv_kind_name(d->kind)));
	if (d->type == MLV_PTYPE_DIR)
		json_object_set_new(o, "files", json_integer((json_int_t)d->files));
	if (d->unsaved)
		json_object_set_new(o, "unsaved", json_true());
	return o;
}

static json_t *adiff_json(const struct adiff *d)
{
	json_t *o = json_object(), *files = json_array();

	json_object_set_new(o, "path", json_text(d->path));
	json_object_set_new(o, "pointer", json_text(d->pointer));
	if (d->within)
		json_object_set_new(o, "within", json_text(d->within));
	json_object_set_new(o, "status", json_string(kind_word(d->kind)));
	json_object_set_new(o, "old", desc_json(&d->old));
	json_object_set_new(o, "new", desc_json(&d->new));
	for (size_t i = 0; i < d->files.nr; i++) {
		const struct fchange *f = &d->files.v[i];
		json_t *j;

		if (f->dropped)
			continue;
		j = json_object();
		json_object_set_new(j, "status", json_string(kind_word(f->kind)));
		json_object_set_new(j, "path", json_text(f->path));
		if (f->kind == 'R')
			json_object_set_new(j, "old_path", json_text(f->old_path));
		if (f->kind == '!') {
			json_object_set_new(j, "tree", json_sprintf("sha256:%s",
				mlv_oid_hex(f->old_known ? &f->old_oid : &f->new_oid)));
		} else {
			if (f->old_known) {
				json_object_set_new(j, "old_size", json_integer((json_int_t)f->old_size));
				json_object_set_new(j, "old_oid",
						    json_sprintf("sha256:%s", mlv_oid_hex(&f->old_oid)));
			}
			if (f->new_known) {
				json_object_set_new(j, "new_size", json_integer((json_int_t)f->new_size));
				/* Files of the work tree that differ from the pointer are not hashed. */
				if (!f->from_disk)
					json_object_set_new(j, "new_oid", json_sprintf("sha256:%s",
							    mlv_oid_hex(&f->new_oid)));
			}
		}
		json_array_append_new(files, j);
	}
	json_object_set_new(o, "files", files);
	if (d->old.type == MLV_PTYPE_DIR || d->new.type == MLV_PTYPE_DIR) {
		json_t *st = json_object();

		json_object_set_new(st, "added", json_integer((json_int_t)d->st.added));
		json_object_set_new(st, "deleted", json_integer((json_int_t)d->st.deleted));
		json_object_set_new(st, "modified", json_integer((json_int_t)d->st.modified));
		json_object_set_new(st, "renamed", json_integer((json_int_t)d->st.renamed));
		json_object_set_new(st, "missing", json_integer((json_int_t)d->st.missing));
		json_object_set(o, "stat", st);
		json_decref(st);
	}
	return o;
}

static json_t *side_json(const struct side *s)
{
	json_t *o = json_object();

	if (s->rev) {
		json_object_set_new(o, "rev", json_text(s->rev));
		json_object_set_new(o, "commit", s->unborn ? json_null() : json_string(s->commit));
	} else {
		json_object_set_new(o, "worktree", json_true());
	}
	return o;
}

/* Sides and artifacts. */

static void side_open(struct mlv_ctx *ctx, struct side *s, const char *rev, int implicit)
{
	struct git_commit *c;

	s->rev = rev;
	if (!rev)
		return;
	if (mlv_rev_commit(&c, ctx->repo, rev) < 0) {
		/* HEAD of a repository with no commit yet: nothing on that side. */
		if (implicit && git_repository_head_unborn(ctx->repo->git) == 1) {
			s->unborn = 1;
			mlv_error_clear();
			return;
		}
		die_lib();
	}
	git_oid_tostr(s->commit, sizeof(s->commit), git_commit_id(c));
	git_commit_free(c);
	if (mlv_rev_tree(&s->tree, ctx->repo, rev) < 0)
		die_lib();
}

static void list_append(struct mlv_artifact_list *to, struct mlv_artifact_list *from)
{
	for (size_t k = 0; k < from->nr; k++) {
		MLV_ALLOC_GROW(to->items, to->nr + 1, to->alloc);
		to->items[to->nr++] = from->items[k];
	}
	free(from->items);
	memset(from, 0, sizeof(*from));
}

/* The artifacts `path` (NULL: all) names on side `s`; 0, or MLV_ENOTFOUND when none. */
static int side_find(struct mlv_ctx *ctx, struct side *s, const char *path)
{
	struct mlv_artifact_list l = { 0 };
	const char *const *paths = path ? &path : NULL;
	int ret;

	if (s->unborn)
		return path ? MLV_ENOTFOUND : 0;
	if (s->rev)
		ret = mlv_rev_artifacts(&l, ctx->repo, s->tree, s->rev, paths, path ? 1 : 0);
	else
		ret = mlv_artifacts_find_at(&l, ctx->repo->topfd, paths, path ? 1 : 0);
	if (ret == MLV_ENOTFOUND && path) {
		mlv_artifact_list_release(&l);
		return ret;
	}
	if (ret < 0)
		die_lib();
	if (path && !l.nr)
		return MLV_ENOTFOUND;
	list_append(&s->list, &l);
	return 0;
}

static int cmp_artifact(const void *pa, const void *pb)
{
	const struct mlv_artifact *a = pa, *b = pb;
	int c = strcmp(a->path, b->path);

	/* The whole artifact before a part of it. */
	if (!c)
		c = (a->within != NULL) - (b->within != NULL);
	return c;
}

/* Sort, and keep one item per artifact: the whole one when both were named. */
static void side_settle(struct side *s)
{
	struct mlv_artifact_list *l = &s->list, dups = { 0 };
	size_t out = 0;

	if (l->nr)
		qsort(l->items, l->nr, sizeof(*l->items), cmp_artifact);
	for (size_t i = 0; i < l->nr; i++) {
		struct mlv_artifact *keep = out ? &l->items[out - 1] : NULL;

		if (!keep || strcmp(keep->path, l->items[i].path)) {
			l->items[out++] = l->items[i];
			continue;
		}
		/* Two parts of one directory: the whole of it. */
		if (keep->within && strcmp(keep->within, l->items[i].within)) {
			free(keep->within);
			keep->within = NULL;
		}
		MLV_ALLOC_GROW(dups.items, dups.nr + 1, dups.alloc);
		dups.items[dups.nr++] = l->items[i];
	}
	l->nr = out;
	mlv_artifact_list_release(&dups);
}

int cmd_diff(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv diff [<rev-a> [<rev-b>]] [--stat|--name-status|--json] [--exit-code] [--] [<path>...]",
		NULL,
	};
	int stat = 0, name_status = 0, json = 0, exit_code = 0, dashdash, n, nrev = 0;
	size_t bad = 0;
	const struct option opts[] = {
		OPT_BOOL_F(0, "stat", &stat, "show per artifact the files added, deleted, modified and the size change"),
		OPT_BOOL_F(0, "name-status", &name_status, "show only the status letter and path of each change"),
		OPT_BOOL_F(0, "json", &json, "print the differences as one JSON object"),
		OPT_BOOL_F(0, "exit-code", &exit_code, "exit with 1 when there are differences"),
		OPT_END_F,
	};
	struct side sa = { 0 }, sb = { 0 };
	const char *rev[2] = { NULL, NULL };
	char **paths;
	size_t np, ia = 0, ib = 0, changed = 0;
	json_t *arts = NULL;

	n = parse_options_dashdash(argc, argv, opts, usage, &dashdash);
	if (stat + name_status + json > 1) {
		error("--stat, --name-status and --json cannot be used together");
		usage_with_options(usage, opts);
	}
	if (dashdash > 2) {
		error("at most two revisions may come before '--'");
		usage_with_options(usage, opts);
	}
	while (nrev < 2 && nrev < n &&
	       (dashdash >= 0 ? nrev < dashdash : arg_is_rev(ctx, argv[nrev], -1)))
		nrev++;
	for (int i = 0; i < nrev; i++)
		rev[i] = argv[i];
	if (ctx->repo->topfd < 0 && nrev < 2)
		die("this operation must be run in a work tree (or give two revisions)");
	side_open(ctx, &sa, rev[0] ? rev[0] : "HEAD", !rev[0]);
	side_open(ctx, &sb, rev[1], 0);

	np = (size_t)(n - nrev);
	paths = mlv_calloc(np + 1, sizeof(*paths));
	for (size_t i = 0; i < np; i++)
		paths[i] = path_arg(ctx, argv[nrev + (int)i]);
	if (!np) {
		side_find(ctx, &sa, NULL);
		side_find(ctx, &sb, NULL);
	}
	for (size_t i = 0; i < np; i++) {
		int ra = side_find(ctx, &sa, paths[i]), rb = side_find(ctx, &sb, paths[i]);

		if (ra && rb) {
			if (nrev == 0 && dashdash < 0 && i == 0)
				die("ambiguous argument '%s': unknown revision or path not in the work tree\n"
				    "Use '--' to separate paths from revisions, like this:\n"
				    "'mlv diff [<revision>...] -- [<file>...]'", argv[nrev]);
			die("'%s' names no tracked path in %s or %s", argv[nrev + (int)i],
			    side_name(&sa), side_name(&sb));
		}
	}
	side_settle(&sa);
	side_settle(&sb);

	if (json)
		arts = json_array();
	while (ia < sa.list.nr || ib < sb.list.nr) {
		struct mlv_artifact *a = ia < sa.list.nr ? &sa.list.items[ia] : NULL;
		struct mlv_artifact *b = ib < sb.list.nr ? &sb.list.items[ib] : NULL;
		int c = !a ? 1 : !b ? -1 : strcmp(a->path, b->path);
		struct adiff d;

		if (c <= 0)
			ia++;
		else
			a = NULL;
		if (c >= 0)
			ib++;
		else
			b = NULL;
		memset(&d, 0, sizeof(d));
		d.path = a ? a->path : b->path;
		d.pointer = a ? a->pointer : b->pointer;
		d.within = a && a->within ? a->within : b && b->within ? b->within : NULL;
		if (a && b && (!a->within || !b->within))
			d.within = NULL;
		if (diff_artifact(ctx, &d, a, b, &sa, &sb)) {
			changed++;
			bad += d.bad;
			if (json)
				json_array_append_new(arts, adiff_json(&d));
			else if (stat)
				print_stat(ctx, &d);
			else if (name_status)
				print_name_status(ctx, &d);
			else
				print_human(ctx, &d);
		}
		fchanges_release(&d.files);
	}
	if (json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "old", side_json(&sa));
		json_object_set_new(obj, "new", side_json(&sb));
		json_object_set_new(obj, "artifacts", arts);
		json_object_set_new(obj, "differences", json_boolean(changed > 0));
		json_emit(obj);
	} else if (stat && changed) {
		printf(" %zu artifact%s changed\n", changed, changed == 1 ? "" : "s");
	}
	for (size_t i = 0; i < np; i++)
		free(paths[i]);
	free(paths);
	mlv_artifact_list_release(&sa.list);
	mlv_artifact_list_release(&sb.list);
	git_tree_free(sa.tree);
	git_tree_free(sb.tree);
	return (exit_code && changed) || bad ? 1 : 0;
}
