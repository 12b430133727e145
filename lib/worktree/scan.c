#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlv/fileio.h"
#include "mlv/path.h"
#include "worktree/scan.h"

void scan_init(struct scan *s, int topfd, struct mlv_store *store, struct mlv_store_writer *w,
	       const struct mlv_wt_callbacks *cb)
{
	memset(s, 0, sizeof(*s));
	s->topfd = topfd;
	s->store = store;
	s->writer = w;
	s->cb = cb;
}

void scan_release(struct scan *s)
{
	for (size_t i = 0; i < s->nr_updates; i++)
		free(s->updates[i].path);
	free(s->updates);
	s->updates = NULL;
	s->nr_updates = s->alloc_updates = 0;
	dirlist_free(s->prefetch);
	s->prefetch = NULL;
}

void scan_prefetch(struct scan *s, const char *root, int threads)
{
	dirlist_free(s->prefetch);
	s->prefetch = NULL;
	if (threads > 1)
		dirlist_start(&s->prefetch, root, threads);
	/* While the listing runs: one query for the directory, not one per file. */
	if (s->store && mlv_statcache_load_prefix(s->store, root) < 0)
		mlv_error_clear();
}

int scan_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

static void warn(struct scan *s, const char *fmt, ...) MLV_PRINTF(2, 3);
static void warn(struct scan *s, const char *fmt, ...)
{
	struct mlv_buf b = MLV_BUF_INIT;
	va_list ap;

	if (!s->cb || !s->cb->warn)
		return;
	va_start(ap, fmt);
	mlv_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	s->cb->warn(s->cb->ctx, b.ptr);
	mlv_buf_release(&b);
}

static void change(struct scan *s, const char *path, int what)
{
	if (s->diff && s->cb && s->cb->change)
		s->cb->change(s->cb->ctx, s->artifact, path, what);
}

static void remember(struct scan *s, const char *path, const struct stat *st,
		     const struct mlv_oid *id, int64_t recorded)
{
	struct scan_cache_update *u;

	MLV_ALLOC_GROW(s->updates, s->nr_updates + 1, s->alloc_updates);
	u = &s->updates[s->nr_updates++];
	u->path = mlv_strdup(path);
	mlv_stat_from(&u->st, st);
	u->id = *id;
	u->recorded_ns = recorded;
}

int scan_flush_cache(struct scan *s)
{
	int ret;

	if (!s->store || !s->nr_updates)
		return 0;
	if ((ret = mlv_statcache_begin(s->store)) < 0)
		return ret;
	for (size_t i = 0; i < s->nr_updates; i++) {
		struct scan_cache_update *u = &s->updates[i];

		ret = mlv_statcache_put(s->store, u->path, &u->st, &u->id, u->recorded_ns);
		if (ret < 0)
			break;
	}
	return mlv_statcache_end(s->store, ret == 0) < 0 && !ret ? -1 : ret;
}

static int hash_regular(struct scan *s, const char *path, const struct stat *st, struct mlv_oid *out)
{
	struct mlv_stat ms;
	int64_t recorded;
	uint64_t size;
	int fd, ret;

	mlv_stat_from(&ms, st);
	if (s->store && mlv_statcache_lookup(s->store, path, &ms, out) == 1) {
		if (!s->writer)
			return 0;
		/* Stored in full, chunks and all: nothing to read. */
		ret = mlv_store_has_blob(s->store, out);
		if (ret < 0)
			return ret;
		if (ret == 1)
			return 0;
	}
	recorded = mlv_now_ns();
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot open '%s'", path);
	if (s->writer)
		ret = mlv_store_writer_put_fd(s->writer, out, &size, fd, path);
	else
		ret = mlv_blob_hash_fd(out, &size, fd, path);
	close(fd);
	if (ret < 0)
		return ret;
	if (size == (uint64_t)st->st_size)
		remember(s, path, st, out, recorded);
	return 0;
}

/*
 * A symlink is kept only when its target, resolved from the link's
 * directory, stays inside the tracked directory `root`.  Any ".." must
 * come first: "dot/../.." could climb out through another link named
 * "dot" however the text adds up, while with the ".."s first each step
 * down stays inside (through real directories, or through links that
 * were held to the same rule).
 */
int scan_link_inside(const char *root, const char *path, const char *target)
{
	size_t rootlen = strlen(root);
	const char *rel = path + rootlen + 1;
	int depth = 0, down = 0;

	if (target[0] == '/' || !target[0] || strncmp(path, root, rootlen) || path[rootlen] != '/')
		return 0;
	for (const char *p = rel; *p; p++)
		if (*p == '/')
			depth++;
	for (const char *p = target; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (down || --depth < 0)
				return 0;
		} else if (n && !(n == 1 && p[0] == '.')) {
			down = 1;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return 1;
}

const char *scan_untrackable(const char *root, const char *path, const char *name,
			     const struct stat *st)
{
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode))
		return "not a regular file, directory or symlink";
	if (!mlv_name_valid(name, strlen(name)))
		return "this name cannot be tracked";
	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlink(path, target, sizeof(target) - 1);

		if (n < 0)
			return "unreadable symlink";
		target[n] = '\0';
		if (!scan_link_inside(root, path, target))
			return "symlink whose target leaves the tracked directory";
	}
	return NULL;
}

int scan_file(struct scan *s, const char *path, const struct stat *st, struct mlv_oid *out)
{
	char target[4096];
	ssize_t n;

	if (S_ISREG(st->st_mode))
		return hash_regular(s, path, st, out);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot read link '%s'", path);
	if (s->writer)
		return mlv_store_writer_put_buf(s->writer, out, target, (size_t)n);
	mlv_hash_buf(out, target, (size_t)n);
	return 0;
}

struct report_ctx {
	struct scan *s;
	int what;
};

static int report_one(void *ctx, const char *path, const struct mlv_tree_entry *e)
{
	struct report_ctx *rc = ctx;

	change(rc->s, path, rc->what);
	return 0;
}

int scan_report_tree(struct scan *s, const struct mlv_oid *tree, const char *path, int what)
{
	struct report_ctx rc = { s, what };

	if (!s->diff)
		return 0;
	return mlv_tree_walk(s->store, tree, path, report_one, &rc);
}

static uint32_t entry_mode(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return MLV_MODE_LINK;
	if (S_ISDIR(st->st_mode))
		return MLV_MODE_DIR;
	return (st->st_mode & 0111) ? MLV_MODE_EXEC : MLV_MODE_FILE;
}

int scan_dir(struct scan *s, const char *root, const char *path, const struct mlv_oid *stored,
	     struct mlv_oid *out, uint64_t *size, uint64_t *files)
{
	struct mlv_tree tree = MLV_TREE_INIT, old = MLV_TREE_INIT;
	struct mlv_buf sub = MLV_BUF_INIT, enc = MLV_BUF_INIT;
	struct dent *ents = NULL;
	size_t nents = 0, j = 0, pathlen;
	int ret = 0, diff = s->diff;

	*size = *files = 0;
	if (diff && stored && (ret = mlv_tree_load(s->store, stored, path, &old)) < 0)
		goto done;
	mlv_buf_adds(&sub, path);
	pathlen = sub.len;
	if ((!s->prefetch || !dirlist_take(s->prefetch, path, &ents, &nents)) &&
	    (ret = dents_read(path, &ents, &nents)) < 0)
		goto done;
	for (size_t i = 0; i < nents; i++) {
		struct dent *d = &ents[i];
		const struct mlv_tree_entry *prev = NULL;
		struct mlv_oid id;
		uint64_t esize = 0, efiles = 0;
		uint32_t mode = entry_mode(&d->st);
		const char *why;

		mlv_buf_setlen(&sub, pathlen);
		mlv_buf_addch(&sub, '/');
		mlv_buf_adds(&sub, d->name);
		if ((why = scan_untrackable(root, sub.ptr, d->name, &d->st))) {
			warn(s, "skipping '%s': %s", sub.ptr, why);
			continue;
		}
		if (diff) {
			/* Entries only in the stored tree were deleted. */
			while (j < old.nr && strcmp(old.entries[j].name, d->name) < 0) {
				struct mlv_buf gone = MLV_BUF_INIT;

				mlv_buf_addf(&gone, "%s/%s", path, old.entries[j].name);
				if (old.entries[j].mode == MLV_MODE_DIR)
					ret = scan_report_tree(s, &old.entries[j].oid, gone.ptr, 'D');
				else
					change(s, gone.ptr, 'D');
				mlv_buf_release(&gone);
				if (ret < 0)
					goto done;
				j++;
			}
			if (j < old.nr && !strcmp(old.entries[j].name, d->name))
				prev = &old.entries[j++];
		}
		if (S_ISDIR(d->st.st_mode)) {
			int saved = s->diff;
			const struct mlv_oid *psub = prev && prev->mode == MLV_MODE_DIR ? &prev->oid : NULL;

			if (diff && prev && prev->mode != MLV_MODE_DIR)
				change(s, sub.ptr, 'T');
			s->diff = diff && (!prev || psub);
			ret = scan_dir(s, root, sub.ptr, psub, &id, &esize, &efiles);
			s->diff = saved;
			if (ret < 0)
				goto done;
		} else {
			if ((ret = scan_file(s, sub.ptr, &d->st, &id)) < 0)
				goto done;
			esize = S_ISREG(d->st.st_mode) ? (uint64_t)d->st.st_size : 0;
			efiles = 1;
			s->files++;
			s->bytes += esize;
			if (s->cb && s->cb->progress)
				s->cb->progress(s->cb->ctx, s->files, s->bytes);
			if (diff) {
				if (!prev)
					change(s, sub.ptr, 'A');
				else if (prev->mode == MLV_MODE_DIR)
					change(s, sub.ptr, 'T');
				else if (mlv_oid_cmp(&prev->oid, &id) || prev->mode != mode)
					change(s, sub.ptr, 'M');
			}
		}
		mlv_tree_add(&tree, d->name, mode, esize, &id);
		*size += esize;
		*files += efiles;
	}
	for (; diff && j < old.nr; j++) {
		mlv_buf_setlen(&sub, 0);
		mlv_buf_addf(&sub, "%s/%s", path, old.entries[j].name);
		if (old.entries[j].mode == MLV_MODE_DIR) {
			if ((ret = scan_report_tree(s, &old.entries[j].oid, sub.ptr, 'D')) < 0)
				goto done;
		} else {
			change(s, sub.ptr, 'D');
		}
	}
	if ((ret = mlv_tree_encode(&enc, &tree)) < 0)
		goto done;
	if (s->writer)
		ret = mlv_store_writer_put_tree(s->writer, out, enc.ptr, enc.len);
	else
		mlv_hash_buf(out, enc.ptr, enc.len);
done:
	dents_free(ents, nents);
	mlv_tree_release(&tree);
	mlv_tree_release(&old);
	mlv_buf_release(&sub);
	mlv_buf_release(&enc);
	return ret;
}
