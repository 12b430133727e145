#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "store/store-priv.h"

/* Make and open directory `name` in `dirfd` without following a symlink. */
static int open_own_dir(int dirfd, const char *name, const char *display)
{
	int fd;

	if (mkdirat(dirfd, name, 0777) < 0 && errno != EEXIST)
		return mlv_error_set_errno(MLV_EIO, "cannot create '%s'", display);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == ELOOP || errno == ENOTDIR) {
		struct stat st;

		if (!fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode))
			return mlv_error_set(MLV_EINVALID,
					     "'%s' is a symbolic link: mlv never follows one where it keeps its own files",
					     display);
		return mlv_error_set(MLV_EINVALID, "'%s' is not a directory", display);
	}
	return mlv_error_set_errno(MLV_EIO, "cannot open '%s'", display);
}

static int split_dir(const char *dir, char **parent, const char **base)
{
	const char *slash = strrchr(dir, '/');

	if (!*dir || (slash && !slash[1]))
		return mlv_error_set(MLV_EINVALID, "bad store directory '%s'", dir);
	if (!slash) {
		*parent = mlv_strdup(".");
		*base = dir;
		return 0;
	}
	*parent = slash == dir ? mlv_strdup("/") : mlv_strndup(dir, (size_t)(slash - dir));
	*base = slash + 1;
	return 0;
}

int mlv_store_lock_open(int dirfd, const char *name, const char *path)
{
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);

	if (fd >= 0)
		return fd;
	if (errno == ELOOP)
		return mlv_error_set(MLV_EINVALID,
				     "'%s' is a symbolic link: mlv never follows one where it keeps its own files",
				     path);
	return mlv_error_set_errno(MLV_EIO, "cannot open lock file '%s'", path);
}

int mlv_store_lock_fd(int fd, const char *path, int byte, short type, int wait_ms)
{
	struct flock fl;
	unsigned delay_us = 1000;
	int64_t deadline = mlv_now_ns() + (int64_t)wait_ms * 1000000;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = byte;
	fl.l_len = 1;
	for (;;) {
		if (!fcntl(fd, F_OFD_SETLK, &fl))
			return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return mlv_error_set_errno(MLV_EIO, "cannot lock '%s'", path);
		if (mlv_now_ns() >= deadline)
			return 1;
		usleep(delay_us);
		if (delay_us < 20000)
			delay_us *= 2;
	}
}

int mlv_store_lock(struct mlv_store *s, int byte, short type, int wait_ms)
{
	return mlv_store_lock_fd(s->lockfd, s->lockpath, byte, type, wait_ms);
}

DIR *mlv_store_packs_dir(struct mlv_store *s)
{
	int fd = dup(s->packfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d) {
		mlv_error_set_errno(MLV_EIO, "cannot read '%s'", s->packdir);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* The dup shares the offset: start from the first entry. */
	rewinddir(d);
	return d;
}

/* Does the packs directory hold at least one pack? */
static int has_packs(struct mlv_store *s)
{
	DIR *d = mlv_store_packs_dir(s);
	struct dirent *de;
	int found = 0;

	if (!d)
		return mlv_error_last_code();
	while (!found && (de = readdir(d)))
		found = mlv_pack_name_valid(de->d_name);
	closedir(d);
	return found;
}

static void remove_index_files(struct mlv_store *s, const char *aside)
{
	static const char *const suffixes[] = { "-wal", "-shm", "" };

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		char *from = mlv_xstrfmt("index.db%s", suffixes[i]);

		if (aside) {
			char *to = mlv_xstrfmt("%s%s", aside, suffixes[i]);

			renameat(s->dirfd, from, s->dirfd, to);
			free(to);
		} else {
			unlinkat(s->dirfd, from, 0);
		}
		free(from);
	}
}

/* Take the index's open lock exclusively: nobody else has index.db open. */
static int lock_index_alone(struct mlv_store *s, const char *doing)
{
	int ret = mlv_store_lock(s, MLV_STORE_LOCK_OPEN, F_WRLCK, MLV_STORE_ALONE_WAIT_MS);

	if (ret <= 0)
		return ret;
	ret = mlv_error_set(MLV_ECONFLICT,
			    "index '%s' is open in another mlv process: it is %s only when no other one uses it",
			    s->dbpath, doing);
	mlv_error_set_hint("run the command again when the other mlv commands have finished");
	return ret;
}

/* Back to sharing the index with other processes; the first error wins. */
static int unlock_index_alone(struct mlv_store *s, int ret)
{
	int r = mlv_store_lock(s, MLV_STORE_LOCK_OPEN, F_RDLCK, MLV_STORE_LOCK_WAIT_MS);

	if (ret)
		return ret;
	if (r > 0)
		r = mlv_error_set(MLV_EIO, "cannot lock '%s'", s->lockpath);
	return r;
}

int mlv_store_index_reset(struct mlv_store *s)
{
	char aside[64];
	int ret;

	if ((ret = lock_index_alone(s, "moved aside")))
		return ret;
	mlv_index_free(s->ix);
	s->ix = NULL;
	snprintf(aside, sizeof(aside), "index.db.broken-%lld", (long long)mlv_now_ns());
	remove_index_files(s, aside);
	free(s->index_aside);
	s->index_aside = mlv_xstrfmt("%s/%s", s->dir, aside);
	if (fsync(s->dirfd) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot fsync '%s'", s->dir);
	else
		ret = mlv_index_open(&s->ix, s->dbpath, NULL);
	return unlock_index_alone(s, ret);
}

static int stop_at_first(void *ctx, const struct mlv_index_pack *p)
{
	return 1;
}

/* 1 when the index has a pack row, 0 when none, <0 error. */
static int index_knows_a_pack(struct mlv_store *s)
{
	return mlv_index_for_each_pack(s->ix, stop_at_first, NULL);
}

/*
 * An index that knows no pack while packs exist was lost (emptied,
 * truncated to nothing) -- or a writer has renamed its first packs into
 * place and not yet committed their rows.  Only a look with no
 * publication half done (MLV_STORE_LOCK_PUBLISH held exclusively) tells
 * them apart; a lock held by writers for the whole wait means they are
 * busy filling the index, which is then not lost.  1 lost, 0 not, <0 error.
 */
static int index_lost(struct mlv_store *s)
{
	int ret = index_knows_a_pack(s);

	if (ret)
		return ret < 0 ? ret : 0;
	if ((ret = has_packs(s)) <= 0)
		return ret;
	if ((ret = mlv_store_lock(s, MLV_STORE_LOCK_PUBLISH, F_WRLCK, MLV_STORE_LOCK_WAIT_MS)))
		return ret < 0 ? ret : 0;
	ret = index_knows_a_pack(s);
	if (!ret)
		ret = has_packs(s);
	else if (ret > 0)
		ret = 0;
	mlv_store_lock(s, MLV_STORE_LOCK_PUBLISH, F_UNLCK, 0);
	return ret;
}

static int open_index(struct mlv_store *s)
{
	int ret;

	if (s->flags & MLV_STORE_FRESH) {
		if ((ret = lock_index_alone(s, "removed")))
			return ret;
		remove_index_files(s, NULL);
		ret = mlv_index_open(&s->ix, s->dbpath, NULL);
		if ((ret = unlock_index_alone(s, ret)))
			return ret;
		s->index_fresh = 1;
		return 0;
	}
	ret = mlv_index_open(&s->ix, s->dbpath, NULL);
	/*
	 * The index can always be rebuilt from the packs: a pack left
	 * unindexed by a writer that died (even the first, which leaves the
	 * index empty) is indexed here rather than refused.  A rebuild
	 * (fsck --repair) does it itself, and reports it.  A store this
	 * process may not write is only read.
	 */
	if (!ret && !(s->flags & MLV_STORE_REBUILD) && mlv_store_heal(s) < 0)
		mlv_error_clear();
	if (!ret && (ret = index_lost(s)) > 0) {
		/* Packs without an index: the index was lost, not never made. */
		if (s->flags & MLV_STORE_REBUILD) {
			s->index_fresh = 1;
			return 0;
		}
		mlv_index_free(s->ix);
		s->ix = NULL;
		ret = mlv_error_set(MLV_ECORRUPT, "index '%s' is empty but the store holds packs",
				    s->dbpath);
		mlv_error_set_hint("run 'mlv fsck --repair'");
	}
	if (ret == MLV_ECORRUPT && (s->flags & MLV_STORE_REBUILD)) {
		mlv_error_clear();
		ret = mlv_store_index_reset(s);
		s->index_fresh = 1;
	}
	return ret < 0 ? ret : 0;
}

int mlv_store_open_ext(struct mlv_store **out, const char *dir, const char *wtdir,
		       unsigned flags)
{
	struct mlv_store *s = mlv_calloc(1, sizeof(*s));
	const char *base = NULL;
	char *parent = NULL;
	int pfd = -1, ret;

	*out = NULL;
	s->dirfd = s->packfd = s->lockfd = s->sclockfd = -1;
	s->flags = flags;
	s->dir = mlv_strdup(dir);
	s->lockpath = mlv_xstrfmt("%s/index.lck", dir);
	s->sclockpath = mlv_xstrfmt("%s/statcache.lck", wtdir ? wtdir : dir);
	s->packdir = mlv_xstrfmt("%s/packs", dir);
	s->dbpath = mlv_xstrfmt("%s/index.db", dir);
	s->scpath = mlv_xstrfmt("%s/statcache.db", wtdir ? wtdir : dir);
	mlv_buf_init(&s->chunk_buf, 0);
	mlv_buf_init(&s->recipe_buf, 0);
	if ((ret = mlv_pack_reader_init(&s->rd)) || (ret = mlv_hash_init(&s->blob_hash)))
		goto done;
	if ((ret = split_dir(dir, &parent, &base)))
		goto done;
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot open '%s'", parent);
		goto done;
	}
	if ((ret = s->dirfd = open_own_dir(pfd, base, s->dir)) < 0 ||
	    (ret = s->packfd = open_own_dir(s->dirfd, "packs", s->packdir)) < 0)
		goto done;
	if ((ret = s->lockfd = mlv_store_lock_open(s->dirfd, "index.lck", s->lockpath)) < 0)
		goto done;
	/*
	 * Whoever moves the index aside holds this exclusively, briefly; mlv
	 * gc holds it for as long as it runs, and is waited for.
	 */
	while ((ret = mlv_store_lock(s, MLV_STORE_LOCK_OPEN, F_RDLCK, MLV_STORE_LOCK_WAIT_MS)) > 0 &&
	       mlv_store_lock_held(s->lockfd, MLV_STORE_LOCK_GC) > 0)
		;
	if (ret) {
		if (ret > 0) {
			struct mlv_buf who = MLV_BUF_INIT;

			mlv_store_lock_holders(&who, s->lockfd);
			ret = mlv_error_set(MLV_EIO, "cannot lock '%s': %s holds it", s->lockpath,
					    who.len ? who.ptr : "another mlv process");
			mlv_buf_release(&who);
		}
		goto done;
	}
	if ((ret = open_index(s)) || (ret = mlv_statcache_open(s)))
		goto done;
done:
	if (pfd >= 0)
		close(pfd);
	free(parent);
	if (ret < 0) {
		struct mlv_error_state es;

		mlv_error_state_capture(&es, ret);
		mlv_store_free(s);
		return mlv_error_state_restore(&es);
	}
	*out = s;
	return 0;
}

int mlv_store_open(struct mlv_store **out, const char *dir)
{
	return mlv_store_open_ext(out, dir, NULL, 0);
}

const char *mlv_store_index_path(struct mlv_store *s)
{
	return s->dbpath;
}

const char *mlv_store_index_moved_aside(struct mlv_store *s)
{
	return s->index_aside;
}

int mlv_store_index_rebuilding(struct mlv_store *s)
{
	return s->index_fresh;
}

void mlv_store_pack_close_all(struct mlv_store *s)
{
	for (int i = 0; i < MLV_PACK_FD_CACHE; i++) {
		if (s->fds[i].pack_id)
			close(s->fds[i].pf.fd);
		s->fds[i].pack_id = 0;
	}
	s->ntrust = 0;
}

void mlv_store_pack_forget(struct mlv_store *s, const char *name)
{
	for (int i = 0; i < MLV_PACK_FD_CACHE; i++) {
		if (s->fds[i].pack_id && !strcmp(s->fds[i].pf.name, name)) {
			close(s->fds[i].pf.fd);
			s->fds[i].pack_id = 0;
		}
	}
	s->ntrust = 0;
}

void mlv_store_free(struct mlv_store *s)
{
	if (!s)
		return;
	mlv_store_pack_close_all(s);
	mlv_index_free(s->ix);
	mlv_db_free(s->sc_db);
	mlv_pack_reader_release(&s->rd);
	mlv_hash_release(&s->blob_hash);
	mlv_buf_release(&s->chunk_buf);
	mlv_buf_release(&s->recipe_buf);
	mlv_statcache_mem_free(s->sc);
	if (s->packfd >= 0)
		close(s->packfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	/* Last: the locks say the databases above were open. */
	if (s->sclockfd >= 0)
		close(s->sclockfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	free(s->lockpath);
	free(s->sclockpath);
	free(s->trust);
	free(s->index_aside);
	free(s->dir);
	free(s->packdir);
	free(s->dbpath);
	free(s->scpath);
	free(s);
}

const char *mlv_store_name(struct mlv_store *s, enum mlv_object_type t)
{
	switch (t) {
	case MLV_OBJ_CHUNK:
		return "chunk";
	case MLV_OBJ_RECIPE:
		return "recipe";
	case MLV_OBJ_TREE:
		return "tree";
	}
	return "unknown";
}

int64_t mlv_store_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

int mlv_store_pack_open(struct mlv_store *s, const char *name, struct mlv_pack_file *out)
{
	struct stat st;
	int fd;

	if (!mlv_pack_name_valid(name))
		return mlv_error_set(MLV_ECORRUPT, "index '%s': bad pack name '%s'", s->dbpath, name);
	fd = openat(s->packfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mlv_error_set_errno(errno == ENOENT ? MLV_ECORRUPT :
					   errno == ELOOP ? MLV_EINVALID : MLV_EIO,
					   "cannot open pack '%s/%s'", s->packdir, name);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mlv_error_set_errno(MLV_EIO, "pack '%s' is not a regular file", name);
	}
	out->fd = fd;
	out->size = (uint64_t)st.st_size;
	snprintf(out->name, sizeof(out->name), "%s", name);
	return 0;
}

int mlv_store_pack_get(struct mlv_store *s, int64_t pack_id, const char *name,
		       const struct mlv_pack_file **out)
{
	struct mlv_pack_fd *slot = NULL;
	struct mlv_pack_file pf;
	int ret;

	for (int i = 0; i < MLV_PACK_FD_CACHE; i++) {
		struct mlv_pack_fd *p = &s->fds[i];

		if (p->pack_id == pack_id && !strcmp(p->pf.name, name)) {
			p->used = ++s->tick;
			*out = &p->pf;
			return 0;
		}
		if (!slot || !p->pack_id || (slot->pack_id && p->used < slot->used))
			slot = p;
	}
	if ((ret = mlv_store_pack_open(s, name, &pf)))
		return ret;
	if (slot->pack_id)
		close(slot->pf.fd);
	slot->pack_id = pack_id;
	slot->used = ++s->tick;
	slot->pf = pf;
	*out = &slot->pf;
	return 0;
}

/*
 * Is the pack holding `obj` still the file that was indexed?  Its
 * signature (size and mtime when it was written, recorded in the packs
 * table) must match; rows of an older index without a signature require
 * that the file was not modified after it was indexed.  The answer is
 * kept per pack for the life of the handle: packs are immutable.
 * 1 trusted, 0 not (the caller verifies), <0 error.
 */
static int pack_trusted(struct mlv_store *s, const struct mlv_index_obj *obj)
{
	struct mlv_pack_trust *t;
	struct stat st;
	int trusted;

	for (size_t i = 0; i < s->ntrust; i++)
		if (s->trust[i].pack_id == obj->pack_id)
			return s->trust[i].trusted;
	if (fstatat(s->packfd, obj->pack, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		trusted = 0;
	else if (obj->pack_mtime_ns)
		trusted = mlv_store_mtime_ns(&st) == obj->pack_mtime_ns &&
			  (uint64_t)st.st_size == obj->pack_size;
	else
		trusted = mlv_store_mtime_ns(&st) <= obj->pack_added_ns &&
			  (uint64_t)st.st_size == obj->pack_size;
	MLV_ALLOC_GROW(s->trust, s->ntrust + 1, s->trust_alloc);
	t = &s->trust[s->ntrust++];
	t->pack_id = obj->pack_id;
	t->trusted = trusted;
	return trusted;
}

int mlv_store_has(struct mlv_store *s, const struct mlv_oid *id)
{
	return mlv_index_has(s->ix, id);
}

static int lookup(struct mlv_store *s, const struct mlv_oid *id, struct mlv_index_obj *obj)
{
	int ret = mlv_index_lookup(s->ix, id, obj);

	if (ret < 0)
		return ret;
	if (!ret)
		return mlv_error_set(MLV_ENOTFOUND, "object %s not found", mlv_oid_hex(id));
	if (!obj->pack[0])
		return mlv_error_set(MLV_ECORRUPT, "object %s: its pack (id %lld) is not in the index",
				     mlv_oid_hex(id), (long long)obj->pack_id);
	return 0;
}

int mlv_store_info(struct mlv_store *s, const struct mlv_oid *id, struct mlv_object_info *out)
{
	struct mlv_index_obj obj;
	int ret = lookup(s, id, &obj);

	if (ret)
		return ret;
	out->type = (enum mlv_object_type)obj.type;
	out->size = obj.raw_len;
	out->stored_size = obj.stored_len;
	snprintf(out->pack, sizeof(out->pack), "%s", obj.pack);
	out->offset = obj.offset;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int mlv_store_resolve_prefix(struct mlv_store *s, struct mlv_oid *out, const char *hex)
{
	unsigned char lo[MLV_OID_RAWSZ], hi[MLV_OID_RAWSZ];
	size_t len = strlen(hex);
	struct mlv_oid found[2];
	int n = 0, ret;

	if (len < 8 || len > MLV_OID_HEXSZ)
		return mlv_error_set(MLV_EINVALID, "'%s' is not an object id prefix (8 to 64 hex digits)",
				     hex);
	memset(lo, 0, sizeof(lo));
	memset(hi, 0xff, sizeof(hi));
	for (size_t i = 0; i < len; i++) {
		int v = hexval((unsigned char)hex[i]);

		if (v < 0)
			return mlv_error_set(MLV_EINVALID, "'%s' is not an object id prefix", hex);
		if (i & 1) {
			lo[i / 2] = (unsigned char)((lo[i / 2] & 0xf0) | v);
			hi[i / 2] = (unsigned char)((hi[i / 2] & 0xf0) | v);
		} else {
			lo[i / 2] = (unsigned char)(v << 4);
			hi[i / 2] = (unsigned char)(v << 4 | 0xf);
		}
	}
	if ((ret = mlv_index_prefix(s->ix, lo, hi, found, &n)))
		return ret;
	if (!n)
		return mlv_error_set(MLV_ENOTFOUND, "no object matches '%s'", hex);
	if (n > 1)
		return mlv_error_set(MLV_EAMBIGUOUS, "object id prefix '%s' is ambiguous", hex);
	*out = found[0];
	return 0;
}

static int read_record(struct mlv_store *s, const struct mlv_oid *id, struct mlv_buf *out,
		       int *type_out, uint64_t max)
{
	const struct mlv_pack_file *pf;
	struct mlv_index_obj obj;
	struct mlv_pack_entry hdr;
	int ret;

	if ((ret = lookup(s, id, &obj)))
		return ret;
	if (obj.raw_len > max)
		return mlv_error_set(MLV_EINVALID, "object %s is larger than %llu bytes",
				     mlv_oid_hex(id), (unsigned long long)max);
	if ((ret = mlv_store_pack_get(s, obj.pack_id, obj.pack, &pf)) ||
	    (ret = mlv_pack_read_record(&s->rd, pf, obj.offset, id, max, out, &hdr))) {
		/* Every read error names the object as well as the pack. */
		if (!strstr(mlv_error_last(), mlv_oid_hex(id)))
			mlv_error_wrap(ret, "object %s", mlv_oid_hex(id));
		return ret;
	}
	/*
	 * The record's own header, verified with its content, says what it
	 * is; callers walk a recipe by its layout, so a row that calls
	 * another record a recipe must never reach them.
	 */
	if (hdr.type != obj.type) {
		mlv_buf_reset(out);
		return mlv_error_set(MLV_ECORRUPT,
				     "pack '%s': object %s is a %s, but the index says it is a %s",
				     obj.pack, mlv_oid_hex(id),
				     mlv_store_name(s, (enum mlv_object_type)hdr.type),
				     mlv_store_name(s, (enum mlv_object_type)obj.type));
	}
	if (type_out)
		*type_out = hdr.type;
	return 0;
}

int mlv_store_read(struct mlv_store *s, const struct mlv_oid *id, struct mlv_buf *out,
		   enum mlv_object_type *type_out, uint64_t max)
{
	int type, ret = read_record(s, id, out, &type, max);

	if (!ret && type_out)
		*type_out = (enum mlv_object_type)type;
	return ret;
}

static int sink_none(void *ctx, const void *data, size_t len)
{
	return 0;
}

int mlv_store_verify_blob(struct mlv_store *s, const struct mlv_oid *id)
{
	int ret = mlv_store_read_blob(s, id, sink_none, NULL);

	if (ret && !strstr(mlv_error_last(), mlv_oid_hex(id)))
		mlv_error_wrap(ret, "blob %s", mlv_oid_hex(id));
	return ret;
}

int mlv_store_check_blob(struct mlv_store *s, const struct mlv_oid *id)
{
	struct mlv_index_obj obj;
	const unsigned char *p;
	size_t nr;
	int type, ret;

	if ((ret = lookup(s, id, &obj)))
		return ret;
	if (obj.type != MLV_OBJ_RECIPE && obj.type != MLV_OBJ_CHUNK)
		return mlv_error_set(MLV_EINVALID, "object %s is a %s, not a blob", mlv_oid_hex(id),
				     mlv_store_name(s, (enum mlv_object_type)obj.type));
	/* A pack that changed since it was indexed: read it all (below too). */
	if ((ret = pack_trusted(s, &obj)) <= 0)
		return ret < 0 ? ret : mlv_store_verify_blob(s, id);
	if (obj.type == MLV_OBJ_CHUNK)
		return 0;
	if ((ret = read_record(s, id, &s->recipe_buf, &type, MLV_OBJECT_META_MAX)))
		return ret;
	/* read_record() checked the type against the row, the pack reader the layout. */
	if (type != MLV_OBJ_RECIPE || s->recipe_buf.len < MLV_RECIPE_MAGIC_LEN)
		return mlv_error_set(MLV_ECORRUPT, "pack '%s': object %s is not a recipe", obj.pack,
				     mlv_oid_hex(id));
	nr = (s->recipe_buf.len - MLV_RECIPE_MAGIC_LEN) / MLV_RECIPE_ENTRY_SIZE;
	p = (const unsigned char *)s->recipe_buf.ptr + MLV_RECIPE_MAGIC_LEN;
	for (size_t i = 0; i < nr; i++, p += MLV_RECIPE_ENTRY_SIZE) {
		struct mlv_index_obj cobj;
		struct mlv_oid cid;

		memcpy(cid.id, p + 8, MLV_OID_RAWSZ);
		if ((ret = mlv_index_lookup(s->ix, &cid, &cobj)) < 0)
			return ret;
		if (!ret || !cobj.pack[0])
			return mlv_error_set(MLV_ENOTFOUND, "blob %s: chunk %zu (%s) is not in the store",
					     mlv_oid_hex(id), i, mlv_oid_hex(&cid));
		if ((ret = pack_trusted(s, &cobj)) <= 0)
			return ret < 0 ? ret : mlv_store_verify_blob(s, id);
	}
	return 0;
}

int mlv_store_has_blob(struct mlv_store *s, const struct mlv_oid *id)
{
	int ret = mlv_store_check_blob(s, id);

	if (ret == MLV_ENOTFOUND || ret == MLV_ECORRUPT || ret == MLV_EINVALID)
		return 0;
	return ret < 0 ? ret : 1;
}

int mlv_store_read_blob(struct mlv_store *s, const struct mlv_oid *id, mlv_sink_fn sink, void *ctx)
{
	struct mlv_index_obj obj;
	struct mlv_oid got;
	const unsigned char *p;
	size_t nr;
	int type, ret;

	if ((ret = lookup(s, id, &obj)))
		return ret;
	if (obj.type == MLV_OBJ_CHUNK) {
		if ((ret = read_record(s, id, &s->chunk_buf, &type, MLV_CHUNK_MAX)))
			return ret;
		return sink(ctx, s->chunk_buf.ptr, s->chunk_buf.len);
	}
	if (obj.type != MLV_OBJ_RECIPE)
		return mlv_error_set(MLV_EINVALID, "object %s is a %s, not a blob", mlv_oid_hex(id),
				     mlv_store_name(s, (enum mlv_object_type)obj.type));
	if ((ret = read_record(s, id, &s->recipe_buf, &type, MLV_OBJECT_META_MAX)))
		goto done;
	if (type != MLV_OBJ_RECIPE || s->recipe_buf.len < MLV_RECIPE_MAGIC_LEN) {
		ret = mlv_error_set(MLV_ECORRUPT, "pack '%s': object %s is not a recipe", obj.pack,
				    mlv_oid_hex(id));
		goto done;
	}
	nr = (s->recipe_buf.len - MLV_RECIPE_MAGIC_LEN) / MLV_RECIPE_ENTRY_SIZE;
	p = (const unsigned char *)s->recipe_buf.ptr + MLV_RECIPE_MAGIC_LEN;
	for (size_t i = 0; i < nr; i++, p += MLV_RECIPE_ENTRY_SIZE) {
		uint64_t len = mlv_get_be64(p);
		struct mlv_oid cid;

		memcpy(cid.id, p + 8, MLV_OID_RAWSZ);
		if ((ret = read_record(s, &cid, &s->chunk_buf, &type, MLV_CHUNK_MAX))) {
			mlv_error_wrap(ret, "blob %s", mlv_oid_hex(id));
			goto done;
		}
		if (type != MLV_OBJ_CHUNK || s->chunk_buf.len != len) {
			ret = mlv_error_set(MLV_ECORRUPT,
					    "pack '%s': recipe %s: chunk %zu (%s) does not match",
					    obj.pack, mlv_oid_hex(id), i, mlv_oid_hex(&cid));
			goto done;
		}
		mlv_hash_update(&s->blob_hash, s->chunk_buf.ptr, s->chunk_buf.len);
		if ((ret = sink(ctx, s->chunk_buf.ptr, s->chunk_buf.len)))
			goto done;
	}
	mlv_hash_final(&got, &s->blob_hash);
	if (mlv_oid_cmp(&got, id))
		ret = mlv_error_set(MLV_ECORRUPT,
				    "pack '%s': blob %s is corrupt: its content hashes to %s",
				    obj.pack, mlv_oid_hex(id), mlv_oid_hex(&got));
	return ret;
done:
	/* Reset the running hash for the next blob. */
	mlv_hash_final(&got, &s->blob_hash);
	return ret;
}
