#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/dirlist.h"
#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/fs.h"

#define DIRLIST_MAX_THREADS 16

static int dent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

/* List the directory open on `fd` (consumed); `path` names it in messages. */
static int read_fd(int fd, const char *path, struct dent **out, size_t *nr)
{
	DIR *d = fdopendir(fd);
	struct dent *v = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	int dfd, ret = 0;

	*out = NULL;
	*nr = 0;
	if (!d) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot open directory '%s'", path);
		close(fd);
		return ret;
	}
	dfd = dirfd(d);
	while ((errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		MLV_ALLOC_GROW(v, n + 1, alloc);
		if (fstatat(dfd, de->d_name, &v[n].st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* vanished while we looked */
		v[n].name = mlv_strdup(de->d_name);
		n++;
	}
	if (errno)
		ret = mlv_error_set_errno(MLV_EIO, "cannot read directory '%s'", path);
	closedir(d);
	if (ret < 0) {
		dents_free(v, n);
		return ret;
	}
	if (n)
		qsort(v, n, sizeof(*v), dent_cmp);
	*out = v;
	*nr = n;
	return 0;
}

int dents_read_at(int dirfd, const char *path, struct dent **out, size_t *nr)
{
	int fd = mlv_fs_open(dirfd, path, O_RDONLY | O_DIRECTORY, 0);

	*out = NULL;
	*nr = 0;
	if (fd < 0)
		return fd;
	return read_fd(fd, path, out, nr);
}

int dents_read_fd(int fd, const char *path, struct dent **out, size_t *nr)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	*out = NULL;
	*nr = 0;
	if (dup < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot open directory '%s'", path);
	/* The duplicate shares the offset: start from the beginning. */
	if (lseek(dup, 0, SEEK_SET) < 0) {
		close(dup);
		return mlv_error_set_errno(MLV_EIO, "cannot read directory '%s'", path);
	}
	return read_fd(dup, path, out, nr);
}

const struct dent *dents_find(const struct dent *v, size_t n, const char *name)
{
	struct dent key;

	key.name = (char *)name;
	return n ? bsearch(&key, v, n, sizeof(*v), dent_cmp) : NULL;
}

void dents_free(struct dent *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

struct listing {
	char *path;
	struct dent *ents;
	size_t nr;
};

struct dirlist {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char **queue; /* directories still to list */
	size_t queued, queue_alloc;
	int busy;     /* workers listing a directory right now */
	struct listing *done;
	size_t nr_done, done_alloc;
	/* After loading: an open-addressing table over `done`. */
	size_t *table;
	size_t table_size;
	pthread_t tids[DIRLIST_MAX_THREADS];
	int nr_tids;
	int dirfd; /* paths are relative to it (owned) */
};

static uint64_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void *worker(void *arg)
{
	struct dirlist *l = arg;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		struct listing one;
		struct mlv_buf sub = MLV_BUF_INIT;
		char *path;

		while (!l->queued && l->busy)
			pthread_cond_wait(&l->cond, &l->lock);
		if (!l->queued)
			break;
		path = l->queue[--l->queued];
		l->busy++;
		pthread_mutex_unlock(&l->lock);

		one.path = path;
		/* A directory that cannot be read is left out: the caller reads it again and reports. */
		if (dents_read_at(l->dirfd, path, &one.ents, &one.nr) < 0) {
			mlv_error_clear();
			free(path);
			pthread_mutex_lock(&l->lock);
			l->busy--;
			pthread_cond_broadcast(&l->cond);
			continue;
		}

		pthread_mutex_lock(&l->lock);
		for (size_t i = 0; i < one.nr; i++) {
			if (!S_ISDIR(one.ents[i].st.st_mode))
				continue;
			mlv_buf_reset(&sub);
			mlv_buf_adds(&sub, path);
			if (*path)
				mlv_buf_addch(&sub, '/');
			mlv_buf_adds(&sub, one.ents[i].name);
			MLV_ALLOC_GROW(l->queue, l->queued + 1, l->queue_alloc);
			l->queue[l->queued++] = mlv_buf_detach(&sub, NULL);
		}
		MLV_ALLOC_GROW(l->done, l->nr_done + 1, l->done_alloc);
		l->done[l->nr_done++] = one;
		l->busy--;
		pthread_cond_broadcast(&l->cond);
		mlv_buf_release(&sub);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

static int start(struct dirlist **out, int dirfd, const char *root, int threads)
{
	struct dirlist *l = mlv_calloc(1, sizeof(*l));

	if (threads < 1)
		threads = 1;
	if (threads > DIRLIST_MAX_THREADS)
		threads = DIRLIST_MAX_THREADS;
	l->dirfd = dirfd;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	MLV_ALLOC_GROW(l->queue, 1, l->queue_alloc);
	l->queue[l->queued++] = mlv_strdup(root);
	for (int i = 0; i < threads; i++)
		if (!pthread_create(&l->tids[l->nr_tids], NULL, worker, l))
			l->nr_tids++;
	*out = l;
	return 0;
}

int dirlist_start_at(struct dirlist **out, int dirfd, const char *root, int threads)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);

	*out = NULL;
	if (fd < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot duplicate a directory fd");
	return start(out, fd, root, threads);
}

static void finish(struct dirlist *l)
{
	if (l->table)
		return;
	/* Help with what is left, then wait for the others. */
	worker(l);
	for (int i = 0; i < l->nr_tids; i++)
		pthread_join(l->tids[i], NULL);
	l->nr_tids = 0;
	l->table_size = 16;
	while (l->table_size < l->nr_done * 2)
		l->table_size *= 2;
	l->table = mlv_malloc(l->table_size * sizeof(*l->table));
	for (size_t i = 0; i < l->table_size; i++)
		l->table[i] = SIZE_MAX;
	for (size_t i = 0; i < l->nr_done; i++) {
		size_t k = hash_path(l->done[i].path) & (l->table_size - 1);

		while (l->table[k] != SIZE_MAX)
			k = (k + 1) & (l->table_size - 1);
		l->table[k] = i;
	}
}

int dirlist_take(struct dirlist *l, const char *path, struct dent **ents, size_t *nr)
{
	size_t k;

	finish(l);
	k = hash_path(path) & (l->table_size - 1);
	*ents = NULL;
	*nr = 0;
	for (; l->table[k] != SIZE_MAX; k = (k + 1) & (l->table_size - 1)) {
		struct listing *one = &l->done[l->table[k]];

		if (strcmp(one->path, path))
			continue;
		*ents = one->ents;
		*nr = one->nr;
		one->ents = NULL;
		one->nr = 0;
		return 1;
	}
	return 0;
}

void dirlist_free(struct dirlist *l)
{
	if (!l)
		return;
	finish(l);
	for (size_t i = 0; i < l->nr_done; i++) {
		free(l->done[i].path);
		dents_free(l->done[i].ents, l->done[i].nr);
	}
	for (size_t i = 0; i < l->queued; i++)
		free(l->queue[i]);
	free(l->queue);
	free(l->done);
	free(l->table);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	if (l->dirfd >= 0)
		close(l->dirfd);
	free(l);
}
