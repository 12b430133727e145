#ifndef MLV_DIRLIST_H
#define MLV_DIRLIST_H

/*
 * Listing a whole directory tree with several threads.  On a warm cache a
 * walk of 100,000 files is nearly all lstat() work inside the kernel, so
 * it scales with cores (git's preload-index does the same); the sequential
 * walk that follows (hashing, tree building, diffing) then takes each
 * directory's entries from here instead of the file system.
 */
#include <stddef.h>
#include <sys/stat.h>

struct dent {
	char *name;
	struct stat st;
};

struct dirlist;

/*
 * Start listing `root` and every directory below it with `threads`
 * background threads; the caller may do other work meanwhile.  The first
 * dirlist_take() waits for (and helps) the listing to finish.  Paths are
 * opened from `dirfd` (duplicated), never through a symlink (mlv/fs.h).
 */
int dirlist_start_at(struct dirlist **out, int dirfd, const char *root, int threads);
/*
 * Hand over the sorted entries of directory `path` (exactly as it was
 * named below root); the caller frees them with dents_free().  Returns 1,
 * or 0 when `path` was not listed (or could not be read, or was taken).
 */
int dirlist_take(struct dirlist *l, const char *path, struct dent **ents, size_t *nr);
void dirlist_free(struct dirlist *l);

/*
 * List directory `path` below `dirfd`, opened without following any
 * symlink (mlv/fs.h), sorted by name (relative fstatat, no path walk).
 */
int dents_read_at(int dirfd, const char *path, struct dent **out, size_t *nr);
/* The same for the directory open on `fd` (not consumed); `path` names it in messages. */
int dents_read_fd(int fd, const char *path, struct dent **out, size_t *nr);
void dents_free(struct dent *v, size_t n);
/* The entry called `name` in a sorted listing, or NULL. */
const struct dent *dents_find(const struct dent *v, size_t n, const char *name);

#endif
