/*
 * mlv checkout, first half: find out what must change, and check every
 * object that will be needed before anything is touched.  Problems with
 * objects (missing, of the wrong type or size, trees beyond the limits)
 * are collected, all of them, rather than stopping at the first; an
 * artifact with a bad pointer or object gets no action at all.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/fs.h"
#include "mlv/path.h"
#include "mlv/tempfile.h"
#include "worktree/checkout.h"

/* The documented recipe encoding (mlv-formats(5)). */
#define RECIPE_MAGIC "mlvrecipe 1\n"
#define RECIPE_MAGIC_LEN (sizeof(RECIPE_MAGIC) - 1)
#define RECIPE_ENTRY_LEN (8 + MLV_OID_RAWSZ)

static struct checkout_action *add_action(struct checkout_plan *p, enum checkout_op op,
					  const char *path, const struct mlv_oid *id,
					  uint32_t mode, uint64_t size)
{
	struct checkout_action *a;

	MLV_ALLOC_GROW(p->acts, p->nr + 1, p->alloc);
	a = &p->acts[p->nr++];
	memset(a, 0, sizeof(*a));
	a->op = op;
	a->path = mlv_strdup(path);
	if (id)
		a->id = *id;
	a->mode = mode;
	a->size = size;
	a->art = p->art;
	return a;
}

static void problem(struct checkout_plan *p, int missing, const char *path,
		    const struct mlv_oid *id, const char *fmt, ...) MLV_PRINTF(5, 6);
static void problem(struct checkout_plan *p, int missing, const char *path,
		    const struct mlv_oid *id, const char *fmt, ...)
{
	struct mlv_checkout_result *res = p->res;
	struct mlv_checkout_problem *pr;
	struct mlv_buf b = MLV_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	mlv_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	MLV_ALLOC_GROW(res->problems, res->nr_problems + 1, res->alloc_problems);
	pr = &res->problems[res->nr_problems++];
	memset(pr, 0, sizeof(*pr));
	pr->artifact = mlv_strdup(p->a->path);
	pr->path = mlv_strdup(path);
	pr->message = mlv_buf_detach(&b, NULL);
	pr->missing = missing;
	if (id) {
		pr->has_oid = 1;
		pr->oid = *id;
	}
	if (missing) {
		p->missing++;
	} else {
		p->bad = 1;
		p->bad_total++;
	}
}

/* A problem whose message is the library's last error. */
static void problem_last(struct checkout_plan *p, const char *path, const struct mlv_oid *id)
{
	char *msg = mlv_strdup(mlv_error_last());

	mlv_error_clear();
	problem(p, 0, path, id, "%s", msg);
	free(msg);
}

static void conflict(struct checkout_plan *p, const char *path)
{
	struct mlv_checkout_result *res = p->res;

	MLV_ALLOC_GROW(res->conflicts, res->nr_conflicts + 1, res->alloc_conflicts);
	res->conflicts[res->nr_conflicts++] = mlv_strdup(path);
	if (p->cb && p->cb->change)
		p->cb->change(p->cb->ctx, p->a->path, path, 'C');
}

/*
 * Count one entry reached for the artifact; 0 and a problem (which stops
 * the walk) once it asks for more than any pointer may.
 */
static int visit(struct checkout_plan *p, const char *path, int file)
{
	if (p->stop)
		return 0;
	p->visited++;
	p->files += !!file;
	if (p->visited > CHECKOUT_ENTRIES_MAX) {
		problem(p, 0, p->a->path, &p->a->ptr.oid, "the tree of '%s' has more than %llu "
			"entries (shared subtrees counted each time); refusing to check it out",
			p->a->path, CHECKOUT_ENTRIES_MAX);
		p->stop = 1;
		return 0;
	}
	if (p->count_files && p->files > p->a->ptr.files) {
		problem(p, 0, p->a->path, &p->a->ptr.oid, "the tree of '%s' holds more than the "
			"%llu files its pointer '%s' says", p->a->path,
			(unsigned long long)p->a->ptr.files, p->a->pointer);
		p->stop = 1;
		return 0;
	}
	if (strlen(path) > MLV_PATH_MAX) {
		problem(p, 0, path, NULL, "'%.64s...' in '%s' is longer than %d bytes", path,
			p->a->path, MLV_PATH_MAX);
		return 0;
	}
	return 1;
}

/* The blob's length according to its recipe; 1 when known, 0 after a problem. */
static int recipe_size(struct checkout_plan *p, const char *path, const struct mlv_oid *id,
		       uint64_t *size)
{
	struct mlv_buf raw = MLV_BUF_INIT;
	enum mlv_object_type type;
	const unsigned char *e;
	size_t n;
	int ret = mlv_store_read(p->store, id, &raw, &type, MLV_OBJECT_META_MAX);

	*size = 0;
	if (ret < 0) {
		problem_last(p, path, id);
		goto done;
	}
	n = raw.len - RECIPE_MAGIC_LEN;
	if (raw.len < RECIPE_MAGIC_LEN || memcmp(raw.ptr, RECIPE_MAGIC, RECIPE_MAGIC_LEN) ||
	    n % RECIPE_ENTRY_LEN) {
		problem(p, 0, path, id, "recipe %s for '%s' is corrupt", mlv_oid_hex(id), path);
		goto done;
	}
	e = (const unsigned char *)raw.ptr + RECIPE_MAGIC_LEN;
	for (size_t i = 0; i < n / RECIPE_ENTRY_LEN; i++, e += RECIPE_ENTRY_LEN) {
		uint64_t len = 0;

		for (int k = 0; k < 8; k++)
			len = (len << 8) | e[k];
		if (len > MLV_CHUNK_MAX) {
			problem(p, 0, path, id, "recipe %s for '%s' is corrupt", mlv_oid_hex(id),
				path);
			goto done;
		}
		*size += len;
	}
	ret = 1;
done:
	mlv_buf_release(&raw);
	return ret > 0;
}

/* A symlink's target, read and checked; 1 and `*target` set, or 0 after a problem. */
static int read_target(struct checkout_plan *p, const char *path, const struct mlv_oid *id,
		       uint64_t len, char **target)
{
	struct mlv_buf raw = MLV_BUF_INIT;
	int ret = 0;

	if (!len || len > CHECKOUT_LINK_MAX) {
		problem(p, 0, path, id, "symlink '%s': its target (object %s) is %llu bytes long",
			path, mlv_oid_hex(id), (unsigned long long)len);
		return 0;
	}
	if (mlv_store_read(p->store, id, &raw, NULL, CHECKOUT_LINK_MAX) < 0)
		problem_last(p, path, id);
	else if (memchr(raw.ptr, '\0', raw.len))
		problem(p, 0, path, id, "symlink '%s': its target (object %s) holds a NUL byte",
			path, mlv_oid_hex(id));
	else
		ret = 1;
	if (ret)
		*target = mlv_buf_detach(&raw, NULL);
	mlv_buf_release(&raw);
	return ret;
}

/*
 * Is blob `id` there, complete, of `size` bytes (files) or a bounded
 * target (symlinks, read into `*target`)?  1 when it may be written,
 * 0 after a problem, <0 on an error that stops the checkout.
 */
static int check_blob(struct checkout_plan *p, const char *path, const struct mlv_oid *id,
		      uint32_t mode, uint64_t size, char **target)
{
	struct mlv_object_info info;
	uint64_t have;
	int ret = mlv_store_info(p->store, id, &info);

	*target = NULL;
	if (ret == MLV_ENOTFOUND) {
		mlv_error_clear();
		problem(p, 1, path, id, "object %s for '%s' is not in the store", mlv_oid_hex(id),
			path);
		return 0;
	}
	if (ret < 0)
		return ret;
	if (info.type != MLV_OBJ_CHUNK && info.type != MLV_OBJ_RECIPE) {
		problem(p, 0, path, id, "object %s for '%s' is a %s, not a %s", mlv_oid_hex(id), path,
			mlv_store_name(p->store, info.type),
			mode == MLV_MODE_LINK ? "symlink target" : "file");
		return 0;
	}
	if (info.type == MLV_OBJ_RECIPE) {
		if ((ret = mlv_store_has_blob(p->store, id)) < 0)
			return ret;
		if (!ret) {
			problem(p, 1, path, id, "object %s for '%s' is incomplete: chunks of it are "
				"not in the store", mlv_oid_hex(id), path);
			return 0;
		}
		if (mode == MLV_MODE_LINK)
			return read_target(p, path, id, UINT64_MAX, target);
		if (!recipe_size(p, path, id, &have))
			return 0;
	} else {
		if (mode == MLV_MODE_LINK)
			return read_target(p, path, id, info.size, target);
		have = info.size;
	}
	if (have != size) {
		problem(p, 0, path, id, "object %s for '%s' holds %llu bytes, but %llu were recorded",
			mlv_oid_hex(id), path, (unsigned long long)have, (unsigned long long)size);
		return 0;
	}
	return 1;
}

/* Load tree `id` for directory `path`: 1, 0 after a problem, <0 on error. */
static int check_tree(struct checkout_plan *p, const char *path, const struct mlv_oid *id,
		      struct mlv_tree *t)
{
	struct mlv_object_info info;
	int ret = mlv_store_info(p->store, id, &info);

	if (ret == MLV_ENOTFOUND) {
		mlv_error_clear();
		problem(p, 1, path, id, "tree %s for '%s' is not in the store", mlv_oid_hex(id), path);
		return 0;
	}
	if (ret < 0)
		return ret;
	if (info.type != MLV_OBJ_TREE) {
		problem(p, 0, path, id, "object %s for '%s' is a %s, not a tree", mlv_oid_hex(id),
			path, mlv_store_name(p->store, info.type));
		return 0;
	}
	if (mlv_tree_load(p->store, id, path, t) < 0) {
		problem_last(p, path, id);
		return 0;
	}
	return 1;
}

/* List directory `path` below the work tree, sorted, never through a symlink. */
static int list_dir(struct checkout_plan *p, const char *path, struct dent **out, size_t *nr)
{
	return dents_read_at(p->repo->topfd, path, out, nr);
}

/*
 * May the file at `path` be replaced or removed?  Yes with --force, or when
 * its bytes are in the store (they can be checked out again).  `same` is
 * set when it already holds `want`.
 */
static int file_replaceable(struct checkout_plan *p, const char *path, const struct stat *st,
			    const struct mlv_oid *want, int *same)
{
	struct mlv_oid id;
	int ret;

	*same = 0;
	if (!S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode))
		return p->opts->force;
	if ((ret = scan_file(&p->scan, path, st, &id)) < 0)
		return ret;
	if (want && !mlv_oid_cmp(&id, want)) {
		*same = 1;
		return 1;
	}
	if (p->opts->force)
		return 1;
	return mlv_store_has_blob(p->store, &id);
}

static int plan_remove(struct checkout_plan *p, const char *path, const struct stat *st);

/*
 * An entry met inside a tracked directory that mlv leaves alone: what add
 * does not track, and temporary files (those of dead processes go).
 */
static int left_alone(struct checkout_plan *p, const char *dir, const char *path,
		      const struct dent *d, int *temp_seen)
{
	if (mlv_tempfile_is_temp_name(d->name)) {
		if (!*temp_seen)
			add_action(p, CK_CLEAN_TEMP, dir, NULL, 0, 0);
		*temp_seen = 1;
		return 1;
	}
	return scan_untrackable(p->a->path, path, d->name, &d->st) != NULL;
}

static int plan_remove_dir(struct checkout_plan *p, const char *path)
{
	struct mlv_buf sub = MLV_BUF_INIT;
	struct dent *ents;
	size_t n;
	int temp_seen = 0, ret = list_dir(p, path, &ents, &n);

	for (size_t i = 0; !ret && i < n; i++) {
		mlv_buf_reset(&sub);
		mlv_buf_addf(&sub, "%s/%s", path, ents[i].name);
		if (!left_alone(p, path, sub.ptr, &ents[i], &temp_seen))
			ret = plan_remove(p, sub.ptr, &ents[i].st);
	}
	if (!ret)
		add_action(p, CK_RMDIR, path, NULL, 0, 0);
	dents_free(ents, n);
	mlv_buf_release(&sub);
	return ret;
}

/* Plan removal of whatever is at `path` (described by `st`). */
static int plan_remove(struct checkout_plan *p, const char *path, const struct stat *st)
{
	int same, ret;

	if (S_ISDIR(st->st_mode))
		return plan_remove_dir(p, path);
	if ((ret = file_replaceable(p, path, st, NULL, &same)) < 0)
		return ret;
	if (!ret)
		conflict(p, path);
	else
		add_action(p, CK_REMOVE, path, NULL, 0, 0);
	return 0;
}

/* Write a file or symlink that is not on disk (or is about to be removed). */
static int plan_write(struct checkout_plan *p, const char *path, const struct mlv_oid *id,
		      uint32_t mode, uint64_t size, int fresh)
{
	char *target = NULL;
	int ret = check_blob(p, path, id, mode, size, &target);

	if (ret > 0) {
		struct checkout_action *a = add_action(p, CK_WRITE, path, id, mode, size);

		a->target = target;
		a->fresh = fresh;
	}
	return ret < 0 ? ret : 0;
}

/* Create `path` as tree `t` (already loaded); nothing is on disk there. */
static int plan_new_tree(struct checkout_plan *p, const char *path, const struct mlv_tree *t)
{
	struct mlv_buf sub = MLV_BUF_INIT;
	int ret = 0;

	add_action(p, CK_MKDIR, path, NULL, 0, 0);
	for (size_t i = 0; !ret && !p->stop && i < t->nr; i++) {
		const struct mlv_tree_entry *e = &t->entries[i];

		mlv_buf_reset(&sub);
		mlv_buf_addf(&sub, "%s/%s", path, e->name);
		if (!visit(p, sub.ptr, e->mode != MLV_MODE_DIR))
			continue;
		if (e->mode == MLV_MODE_DIR) {
			struct mlv_tree st = MLV_TREE_INIT;

			if ((ret = check_tree(p, sub.ptr, &e->oid, &st)) > 0)
				ret = plan_new_tree(p, sub.ptr, &st);
			mlv_tree_release(&st);
		} else {
			ret = plan_write(p, sub.ptr, &e->oid, e->mode, e->size, 1);
		}
	}
	mlv_buf_release(&sub);
	return ret < 0 ? ret : 0;
}

static int plan_entry(struct checkout_plan *p, const char *path, const struct mlv_oid *id,
		      uint32_t mode, uint64_t size, const struct stat *st);

/* Make directory `path` (a directory on disk) match tree `t`. */
static int plan_dir(struct checkout_plan *p, const char *path, const struct mlv_tree *t)
{
	struct mlv_buf sub = MLV_BUF_INIT;
	struct dent *ents = NULL;
	size_t n = 0, i = 0, j = 0;
	int temp_seen = 0, ret;

	if ((ret = list_dir(p, path, &ents, &n)) < 0)
		goto done;
	while (!ret && !p->stop && (i < n || j < t->nr)) {
		int c = i >= n ? 1 : j >= t->nr ? -1 : strcmp(ents[i].name, t->entries[j].name);

		mlv_buf_reset(&sub);
		mlv_buf_addf(&sub, "%s/%s", path, c <= 0 ? ents[i].name : t->entries[j].name);
		if (c < 0) {
			/* Only in the work tree: it goes, if nothing is lost. */
			if (!left_alone(p, path, sub.ptr, &ents[i], &temp_seen))
				ret = plan_remove(p, sub.ptr, &ents[i].st);
			i++;
			continue;
		}
		if (visit(p, sub.ptr, t->entries[j].mode != MLV_MODE_DIR))
			ret = plan_entry(p, sub.ptr, &t->entries[j].oid, t->entries[j].mode,
					 t->entries[j].size, c == 0 ? &ents[i].st : NULL);
		i += c == 0;
		j++;
	}
done:
	dents_free(ents, n);
	mlv_buf_release(&sub);
	return ret;
}

/* Make `path` hold the entry (id, mode); `st` describes what is there, NULL for nothing. */
static int plan_entry(struct checkout_plan *p, const char *path, const struct mlv_oid *id,
		      uint32_t mode, uint64_t size, const struct stat *st)
{
	int same = 0, ret;

	if (mode == MLV_MODE_DIR) {
		struct mlv_tree t = MLV_TREE_INIT;

		/* The new tree is checked before anything in its way is planned away. */
		if ((ret = check_tree(p, path, id, &t)) > 0) {
			if (st && S_ISDIR(st->st_mode)) {
				ret = plan_dir(p, path, &t);
			} else {
				if (!st || !(ret = plan_remove(p, path, st)))
					ret = plan_new_tree(p, path, &t);
			}
		}
		mlv_tree_release(&t);
		return ret < 0 ? ret : 0;
	}
	if (!st)
		return plan_write(p, path, id, mode, size, 1);
	if (S_ISDIR(st->st_mode)) {
		char *target = NULL;

		if ((ret = check_blob(p, path, id, mode, size, &target)) <= 0)
			return ret;
		if ((ret = plan_remove_dir(p, path)) < 0) {
			free(target);
			return ret;
		}
		add_action(p, CK_WRITE, path, id, mode, size)->target = target;
		return 0;
	}
	if ((ret = file_replaceable(p, path, st, id, &same)) < 0)
		return ret;
	if (same && (mode == MLV_MODE_LINK) == !!S_ISLNK(st->st_mode) &&
	    (mode == MLV_MODE_LINK || !!(st->st_mode & 0100) == (mode == MLV_MODE_EXEC)))
		return 0;
	if (!ret) {
		conflict(p, path);
		return 0;
	}
	return plan_write(p, path, id, mode, size, 0);
}

/*
 * Find what `within` names in the trees of directory artifact `a`: 1 and
 * (id, mode, size) set, or 0 after a problem.
 */
static int resolve_within(struct checkout_plan *p, const char *within, struct mlv_oid *id,
			  uint32_t *mode, uint64_t *size)
{
	const struct mlv_artifact *a = p->a;
	struct mlv_buf sofar = MLV_BUF_INIT;
	const char *rest = within + strlen(a->path) + 1;
	int ret = 1;

	*id = a->ptr.oid;
	*mode = a->ptr.type == MLV_PTYPE_DIR ? MLV_MODE_DIR :
		a->ptr.exec ? MLV_MODE_EXEC : MLV_MODE_FILE;
	*size = a->ptr.size;
	mlv_buf_adds(&sofar, a->path);
	while (*rest && ret > 0) {
		size_t len = strcspn(rest, "/");
		struct mlv_tree t = MLV_TREE_INIT;
		const struct mlv_tree_entry *e;
		char *name = mlv_strndup(rest, len);

		if (*mode != MLV_MODE_DIR) {
			problem(p, 0, within, NULL, "'%s' is not tracked by mlv: '%s' is a tracked "
				"file, not a directory", within, sofar.ptr);
			ret = 0;
		} else if ((ret = check_tree(p, sofar.ptr, id, &t)) > 0) {
			if (!(e = mlv_tree_find(&t, name))) {
				problem(p, 0, within, NULL, "'%s' is not tracked by mlv: tracked "
					"directory '%s' holds no '%s'", within, a->path,
					within + strlen(a->path) + 1);
				ret = 0;
			} else {
				*id = e->oid;
				*mode = e->mode;
				*size = e->size;
			}
		}
		mlv_tree_release(&t);
		free(name);
		mlv_buf_addch(&sofar, '/');
		mlv_buf_add(&sofar, rest, len);
		rest += len;
		if (*rest == '/')
			rest++;
	}
	mlv_buf_release(&sofar);
	return ret;
}

/*
 * What is on disk at `path`: 1 and `st` set, 0 when nothing is, 0 after a
 * problem (`*bad` set) when the way there is not plain directories.
 */
static int on_disk(struct checkout_plan *p, const char *path, struct stat *st, int *bad)
{
	int ret = mlv_fs_lstat(p->repo->topfd, path, st);

	*bad = 0;
	if (ret == MLV_ENOTFOUND) {
		mlv_error_clear();
		return 0;
	}
	if (ret == MLV_EINVALID) {
		problem_last(p, path, NULL);
		*bad = 1;
		return 0;
	}
	return ret < 0 ? ret : 1;
}

/* The directories from the artifact down to `within` must be directories or missing. */
static int check_way(struct checkout_plan *p, const char *within)
{
	size_t start = strlen(p->a->path);
	struct mlv_buf b = MLV_BUF_INIT;
	int ret = 1;

	for (const char *s = within + start; s && ret > 0; s = strchr(s + 1, '/')) {
		struct stat st;
		int bad;

		mlv_buf_reset(&b);
		mlv_buf_add(&b, within, (size_t)(s - within));
		if ((ret = on_disk(p, b.ptr, &st, &bad)) < 0 || bad)
			break;
		if (!ret)
			ret = 2; /* missing: so is everything below */
		else if (!S_ISDIR(st.st_mode))
			problem(p, 0, within, NULL, "cannot check out '%s': '%s' is not a directory "
				"(check out '%s' to replace it)", within, b.ptr, p->a->path);
		else
			continue;
		break;
	}
	mlv_buf_release(&b);
	if (ret < 0)
		return ret;
	return !p->bad;
}

/*
 * A hostile tree (a DAG of shared subtrees naming 2^41 files) fails here
 * at once, before the walk: 1 to go on, 0 after a problem.  Missing
 * subtrees are left for the walk, which names each of them.
 */
static int count_tree(struct checkout_plan *p, const char *path, const struct mlv_oid *id)
{
	uint64_t files = 0;
	int ret = mlv_tree_count(p->store, id, path, CHECKOUT_ENTRIES_MAX, &files);

	if (ret == MLV_EINVALID) {
		problem_last(p, path, id);
		return 0;
	}
	if (ret < 0)
		mlv_error_clear();
	else if (p->count_files && files > p->a->ptr.files)
		problem(p, 0, p->a->path, &p->a->ptr.oid, "the tree of '%s' holds %llu files, "
			"more than the %llu its pointer '%s' says", p->a->path,
			(unsigned long long)files, (unsigned long long)p->a->ptr.files,
			p->a->pointer);
	return !p->bad;
}

static void drop_actions(struct checkout_plan *p, size_t from)
{
	for (size_t i = from; i < p->nr; i++) {
		free(p->acts[i].path);
		free(p->acts[i].target);
	}
	p->nr = from;
}

int checkout_plan_artifact(struct checkout_plan *p, const struct mlv_artifact_list *list,
			   size_t i)
{
	const struct mlv_artifact *a = &list->items[i];
	const char *path = a->within ? a->within : a->path;
	size_t first = p->nr;
	struct mlv_oid id;
	uint32_t mode;
	uint64_t size;
	struct stat st;
	int bad = 0, ret = 0;

	p->a = a;
	p->art = i;
	p->bad = p->stop = 0;
	p->visited = p->files = 0;
	p->count_files = !a->within && a->ptr.type == MLV_PTYPE_DIR;
	/* A part of a directory that is named whole, or inside another part: already done. */
	for (size_t k = 0; a->within && k < i; k++) {
		const struct mlv_artifact *o = &list->items[k];
		size_t len = o->within ? strlen(o->within) : 0;

		if (!strcmp(o->pointer, a->pointer) &&
		    (!o->within || (!strncmp(o->within, a->within, len) &&
				    (!a->within[len] || a->within[len] == '/'))))
			return 0;
	}
	if (a->error) {
		problem(p, 0, a->path, NULL, "%s", a->error);
		return 0;
	}
	if (mlv_path_check(a->path, 1, a->pointer) < 0) {
		problem_last(p, a->path, NULL);
		return 0;
	}
	if (a->within) {
		if ((ret = check_way(p, a->within)) <= 0 ||
		    !resolve_within(p, a->within, &id, &mode, &size))
			goto done;
	} else {
		id = a->ptr.oid;
		mode = a->ptr.type == MLV_PTYPE_DIR ? MLV_MODE_DIR :
		       a->ptr.exec ? MLV_MODE_EXEC : MLV_MODE_FILE;
		size = a->ptr.size;
		if (mode == MLV_MODE_DIR && p->a->ptr.files > CHECKOUT_ENTRIES_MAX) {
			problem(p, 0, a->path, &id, "'%s' says it holds %llu files, more than %llu; "
				"refusing to check it out", a->pointer,
				(unsigned long long)a->ptr.files, CHECKOUT_ENTRIES_MAX);
			goto done;
		}
	}
	if (mode == MLV_MODE_DIR && (ret = count_tree(p, path, &id)) <= 0)
		goto done;
	if ((ret = on_disk(p, path, &st, &bad)) < 0 || bad)
		goto done;
	if (ret && S_ISDIR(st.st_mode) && mode == MLV_MODE_DIR)
		scan_prefetch(&p->scan, path, 1);
	ret = plan_entry(p, path, &id, mode, size, ret ? &st : NULL);
done:
	if (p->bad)
		drop_actions(p, first);
	return ret < 0 ? ret : 0;
}

void checkout_plan_release(struct checkout_plan *p)
{
	drop_actions(p, 0);
	free(p->acts);
	p->acts = NULL;
	p->alloc = 0;
	scan_release(&p->scan);
}
