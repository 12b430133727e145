/*
 * mlv checkout: plan every change first, refuse if any would lose bytes
 * that are not in the store, then carry the plan out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/fileio.h"
#include "mlv/worktree.h"
#include "util/dirlist.h"
#include "worktree/scan.h"

enum op { OP_WRITE, OP_REMOVE, OP_RMDIR, OP_MKDIR };

struct action {
	enum op op;
	char *path;
	struct mlv_oid id;
	uint32_t mode;
	uint64_t size;
	const char *artifact; /* not owned */
};

struct plan {
	struct mlv_repo *repo;
	struct mlv_store *store;
	struct scan scan; /* hash-only scan for files already on disk */
	const struct mlv_wt_callbacks *cb;
	int force;
	struct action *acts;
	size_t nr, alloc;
	size_t conflicts;
	const char *artifact;
};

static void plan_add(struct plan *p, enum op op, const char *path, const struct mlv_oid *id,
		     uint32_t mode, uint64_t size)
{
	struct action *a;

	MLV_ALLOC_GROW(p->acts, p->nr + 1, p->alloc);
	a = &p->acts[p->nr++];
	a->op = op;
	a->path = mlv_strdup(path);
	if (id)
		a->id = *id;
	a->mode = mode;
	a->size = size;
	a->artifact = p->artifact;
}

static void conflict(struct plan *p, const char *path)
{
	p->conflicts++;
	if (p->cb && p->cb->change)
		p->cb->change(p->cb->ctx, p->artifact, path, 'C');
}

/*
 * May the file at `path` be replaced or removed?  Yes with --force, or when
 * its bytes are in the store (they can be checked out again).  `same` is
 * set when it already holds `want`.
 */
static int file_replaceable(struct plan *p, const char *path, const struct stat *st,
			    const struct mlv_oid *want, int *same)
{
	struct mlv_oid id;
	int ret;

	*same = 0;
	if (!S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode))
		return p->force;
	if ((ret = scan_file(&p->scan, path, st, &id)) < 0)
		return ret;
	if (want && !mlv_oid_cmp(&id, want)) {
		*same = 1;
		return 1;
	}
	if (p->force)
		return 1;
	ret = mlv_store_has(p->store, &id);
	return ret;
}

static int plan_tree_new(void *ctx, const char *path, const struct mlv_tree_entry *e)
{
	plan_add(ctx, OP_WRITE, path, &e->oid, e->mode, e->size);
	return 0;
}

static int plan_remove_dir(struct plan *p, const char *path);

/* Plan removal of whatever is at `path` (described by `st`). */
static int plan_remove(struct plan *p, const char *path, const struct stat *st)
{
	int same, ret;

	if (S_ISDIR(st->st_mode))
		return plan_remove_dir(p, path);
	ret = file_replaceable(p, path, st, NULL, &same);
	if (ret < 0)
		return ret;
	if (!ret)
		conflict(p, path);
	else
		plan_add(p, OP_REMOVE, path, NULL, 0, 0);
	return 0;
}

static int plan_remove_dir(struct plan *p, const char *path)
{
	struct dent *ents;
	size_t n;
	struct mlv_buf sub = MLV_BUF_INIT;
	int ret = dents_read(path, &ents, &n);

	for (size_t i = 0; !ret && i < n; i++) {
		mlv_buf_reset(&sub);
		mlv_buf_addf(&sub, "%s/%s", path, ents[i].name);
		/* What mlv does not track, it does not delete either. */
		if (!scan_untrackable(p->artifact, sub.ptr, ents[i].name, &ents[i].st))
			ret = plan_remove(p, sub.ptr, &ents[i].st);
	}
	if (!ret)
		plan_add(p, OP_RMDIR, path, NULL, 0, 0);
	dents_free(ents, n);
	mlv_buf_release(&sub);
	return ret;
}

static int plan_entry(struct plan *p, const char *path, const struct mlv_oid *id, uint32_t mode,
		      uint64_t size);

/* Make directory `path` (which exists as a directory) match tree `id`. */
static int plan_dir(struct plan *p, const char *path, const struct mlv_oid *id)
{
	struct mlv_tree t = MLV_TREE_INIT;
	struct mlv_buf sub = MLV_BUF_INIT;
	struct dent *ents = NULL;
	size_t n = 0, i = 0, j = 0;
	int ret;

	if ((ret = mlv_tree_load(p->store, id, path, &t)) < 0 || (ret = dents_read(path, &ents, &n)) < 0)
		goto done;
	while (!ret && (i < n || j < t.nr)) {
		int c = i >= n ? 1 : j >= t.nr ? -1 : strcmp(ents[i].name, t.entries[j].name);

		mlv_buf_reset(&sub);
		mlv_buf_addf(&sub, "%s/%s", path, c <= 0 ? ents[i].name : t.entries[j].name);
		if (c < 0) {
			/* Only in the work tree: it goes, if nothing is lost. */
			if (!scan_untrackable(p->artifact, sub.ptr, ents[i].name, &ents[i].st))
				ret = plan_remove(p, sub.ptr, &ents[i].st);
			i++;
		} else {
			const struct mlv_tree_entry *e = &t.entries[j];

			ret = plan_entry(p, sub.ptr, &e->oid, e->mode, e->size);
			i += c == 0;
			j++;
		}
	}
done:
	dents_free(ents, n);
	mlv_tree_release(&t);
	mlv_buf_release(&sub);
	return ret;
}

/* Make `path` hold the entry (id, mode). */
static int plan_entry(struct plan *p, const char *path, const struct mlv_oid *id, uint32_t mode,
		      uint64_t size)
{
	struct stat st;
	int same = 0, ret;

	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", path);
		if (mode != MLV_MODE_DIR) {
			plan_add(p, OP_WRITE, path, id, mode, size);
			return 0;
		}
		plan_add(p, OP_MKDIR, path, NULL, 0, 0);
		return mlv_tree_walk(p->store, id, path, plan_tree_new, p);
	}
	if (mode == MLV_MODE_DIR) {
		if (S_ISDIR(st.st_mode))
			return plan_dir(p, path, id);
		if ((ret = plan_remove(p, path, &st)) < 0)
			return ret;
		plan_add(p, OP_MKDIR, path, NULL, 0, 0);
		return mlv_tree_walk(p->store, id, path, plan_tree_new, p);
	}
	if (S_ISDIR(st.st_mode)) {
		if ((ret = plan_remove_dir(p, path)) < 0)
			return ret;
		plan_add(p, OP_WRITE, path, id, mode, size);
		return 0;
	}
	ret = file_replaceable(p, path, &st, id, &same);
	if (ret < 0)
		return ret;
	if (same && (mode == MLV_MODE_LINK) == !!S_ISLNK(st.st_mode) &&
	    (mode == MLV_MODE_LINK || !!(st.st_mode & 0100) == (mode == MLV_MODE_EXEC)))
		return 0;
	if (!ret)
		conflict(p, path);
	else
		plan_add(p, OP_WRITE, path, id, mode, size);
	return 0;
}

/* The parent directories of `path` must be real directories, never symlinks. */
static int safe_parents(const char *path)
{
	struct mlv_buf b = MLV_BUF_INIT;
	int ret = 0;

	for (const char *s = strchr(path, '/'); s && !ret; s = strchr(s + 1, '/')) {
		struct stat st;

		mlv_buf_reset(&b);
		mlv_buf_add(&b, path, (size_t)(s - path));
		if (lstat(b.ptr, &st) < 0) {
			if (errno != ENOENT || mkdir(b.ptr, 0777) < 0)
				ret = mlv_error_set_errno(MLV_EIO, "cannot create directory '%s'", b.ptr);
		} else if (!S_ISDIR(st.st_mode)) {
			ret = mlv_error_set(MLV_EINVALID, "refusing to write '%s': '%s' is not a directory%s",
					    path, b.ptr, S_ISLNK(st.st_mode) ? " (a symlink)" : "");
		}
	}
	mlv_buf_release(&b);
	return ret;
}

struct fd_sink {
	int fd;
	const char *path;
};

static int write_sink(void *ctx, const void *data, size_t len)
{
	struct fd_sink *s = ctx;

	return mlv_write_all(s->fd, data, len, s->path);
}

static int buf_sink(void *ctx, const void *data, size_t len)
{
	struct mlv_buf *b = ctx;

	if (b->len + len > 4096)
		return mlv_error_set(MLV_EINVALID, "symlink target longer than 4096 bytes");
	mlv_buf_add(b, data, len);
	return 0;
}

static int do_write(struct plan *p, const struct action *a, int64_t *recorded)
{
	struct mlv_buf tmp = MLV_BUF_INIT, target = MLV_BUF_INIT;
	const char *slash = strrchr(a->path, '/');
	int fd = -1, ret;

	if ((ret = safe_parents(a->path)) < 0)
		return ret;
	if (slash)
		mlv_buf_add(&tmp, a->path, (size_t)(slash - a->path + 1));
	mlv_buf_addf(&tmp, ".%s.%ld.mlvtmp", slash ? slash + 1 : a->path, (long)getpid());
	*recorded = mlv_now_ns();
	if (a->mode == MLV_MODE_LINK) {
		ret = mlv_store_read_blob(p->store, &a->id, buf_sink, &target);
		/* A stored target must stay inside, as add required. */
		if (!ret && (strlen(target.ptr) != target.len ||
			     !scan_link_inside(a->artifact, a->path, target.ptr)))
			ret = mlv_error_set(MLV_EINVALID, "refusing to create symlink '%s': target '%s' "
					    "leaves '%s'", a->path, target.ptr, a->artifact);
		unlink(tmp.ptr);
		if (!ret && symlink(target.ptr, tmp.ptr) < 0)
			ret = mlv_error_set_errno(MLV_EIO, "cannot create symlink '%s'", tmp.ptr);
	} else {
		struct fd_sink sink;

		fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  a->mode == MLV_MODE_EXEC ? 0777 : 0666);
		if (fd < 0 && errno == EEXIST && unlink(tmp.ptr) == 0)
			fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				  a->mode == MLV_MODE_EXEC ? 0777 : 0666);
		if (fd < 0) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot create '%s'", tmp.ptr);
			goto done;
		}
		sink.fd = fd;
		sink.path = a->path;
		ret = mlv_store_read_blob(p->store, &a->id, write_sink, &sink);
		if (close(fd) < 0 && !ret)
			ret = mlv_error_set_errno(MLV_EIO, "cannot write '%s'", a->path);
	}
	if (!ret && rename(tmp.ptr, a->path) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot rename '%s' to '%s'", tmp.ptr, a->path);
	if (ret)
		unlink(tmp.ptr);
done:
	if (ret < 0)
		mlv_error_wrap(ret, "cannot check out '%s'", a->path);
	mlv_buf_release(&tmp);
	mlv_buf_release(&target);
	return ret;
}

static int execute(struct plan *p, struct scan *cache, struct mlv_checkout_stats *stats)
{
	for (size_t i = 0; i < p->nr; i++) {
		const struct action *a = &p->acts[i];
		int64_t recorded = 0;
		struct stat st;
		int ret = 0;

		switch (a->op) {
		case OP_WRITE:
			if ((ret = do_write(p, a, &recorded)) < 0)
				return ret;
			if (!lstat(a->path, &st) && S_ISREG(st.st_mode)) {
				struct scan_cache_update *u;

				MLV_ALLOC_GROW(cache->updates, cache->nr_updates + 1, cache->alloc_updates);
				u = &cache->updates[cache->nr_updates++];
				u->path = mlv_strdup(a->path);
				mlv_stat_from(&u->st, &st);
				u->id = a->id;
				u->recorded_ns = recorded;
			}
			stats->written++;
			stats->bytes += a->size;
			if (p->cb && p->cb->progress)
				p->cb->progress(p->cb->ctx, stats->written, stats->bytes);
			break;
		case OP_REMOVE:
			if (unlink(a->path) < 0 && errno != ENOENT)
				return mlv_error_set_errno(MLV_EIO, "cannot remove '%s'", a->path);
			stats->removed++;
			break;
		case OP_RMDIR:
			/* Not empty: it holds something mlv leaves alone. */
			if (rmdir(a->path) < 0 && errno != ENOENT && errno != ENOTEMPTY &&
			    errno != EEXIST)
				return mlv_error_set_errno(MLV_EIO, "cannot remove directory '%s'", a->path);
			break;
		case OP_MKDIR:
			if ((ret = safe_parents(a->path)) < 0)
				return ret;
			if (mkdir(a->path, 0777) < 0 && errno != EEXIST)
				return mlv_error_set_errno(MLV_EIO, "cannot create directory '%s'", a->path);
			break;
		}
	}
	return 0;
}

static void plan_reset(struct plan *p)
{
	for (size_t i = 0; i < p->nr; i++)
		free(p->acts[i].path);
	p->nr = 0;
}

int mlv_checkout(struct mlv_repo *r, const struct mlv_artifact_list *list, int force,
		 const struct mlv_wt_callbacks *cb, struct mlv_checkout_stats *stats)
{
	struct plan p;
	struct scan cache;
	int ret = 0;

	memset(stats, 0, sizeof(*stats));
	memset(&p, 0, sizeof(p));
	p.repo = r;
	p.cb = cb;
	p.force = force;
	if ((ret = mlv_repo_store(&p.store, r)) < 0)
		return ret;
	scan_init(&p.scan, r->topfd, p.store, NULL, NULL);
	scan_init(&cache, r->topfd, p.store, NULL, NULL);

	/* Every object must be here before anything is touched. */
	for (size_t i = 0; i < list->nr && !ret; i++) {
		const struct mlv_artifact *a = &list->items[i];

		if (a->error)
			ret = mlv_error_set(MLV_EINVALID, "%s", a->error);
		else if ((ret = mlv_store_has(p.store, &a->ptr.oid)) == 0)
			ret = mlv_error_set(MLV_ENOTFOUND, "object %s for '%s' is not in the store",
					    mlv_oid_hex(&a->ptr.oid), a->path);
		else if (ret > 0)
			ret = 0;
	}
	for (size_t i = 0; i < list->nr && !ret; i++) {
		const struct mlv_artifact *a = &list->items[i];

		p.artifact = a->path;
		if ((ret = mlv_path_check_parents(a->path)) < 0)
			break;
		if (a->ptr.type == MLV_PTYPE_DIR)
			scan_prefetch(&p.scan, a->path, 1);
		ret = plan_entry(&p, a->path, &a->ptr.oid,
				 a->ptr.type == MLV_PTYPE_DIR ? MLV_MODE_DIR : MLV_MODE_FILE, a->ptr.size);
	}
	if (!ret && p.conflicts)
		ret = mlv_error_set(MLV_ECONFLICT, "%zu local change%s would be overwritten",
				    p.conflicts, p.conflicts == 1 ? "" : "s");
	if (!ret)
		ret = scan_flush_cache(&p.scan);
	if (!ret) {
		/* Remember what was written even when a later write fails. */
		int flushed;

		ret = execute(&p, &cache, stats);
		flushed = scan_flush_cache(&cache);
		if (!ret)
			ret = flushed;
	}
	plan_reset(&p);
	free(p.acts);
	scan_release(&p.scan);
	scan_release(&cache);
	return ret;
}
