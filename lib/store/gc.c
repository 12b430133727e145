#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/storegc.h"
#include "mlv/tree.h"
#include "store/store-priv.h"

/*
 * mlv gc, the store's half (mlv/storegc.h): mark from the roots, sweep,
 * repack.  The order of the sweep is what makes a kill -9 harmless:
 *
 *   1. live records of mostly dead packs are copied into new temporary
 *      packs (each record verified as it is read), which are sealed and
 *      fsynced, renamed into packs/, the directory fsynced, and read back
 *      in full;
 *   2. one transaction, committed with synchronous=FULL: the new packs'
 *      rows, the live objects' rows moved to them, the rows of the packs
 *      that go (and of their objects);
 *   3. the old pack files are removed, the directory fsynced.
 *
 * Killed in 1: temporary packs, removed by the next command.  Between 1
 * and 2: new packs nobody indexed, which the next command indexes (their
 * objects keep their old rows) and the next gc removes.  Between 2 and 3:
 * old packs without rows, which the next command indexes again (their
 * dead objects come back, young, for another grace period).  Never a row
 * without its record, never a live object without a row.
 */

/* ---- a set of object ids (open addressing; ids are uniform hashes) ---- */

struct mlv_oidset {
	struct mlv_oid *slots;
	unsigned char *used;
	size_t cap, nr;
};

static size_t oid_hash(const struct mlv_oid *id)
{
	size_t h;

	memcpy(&h, id->id, sizeof(h));
	return h;
}

struct mlv_oidset *mlv_oidset_new(void)
{
	struct mlv_oidset *set = mlv_calloc(1, sizeof(*set));

	set->cap = 1024;
	set->slots = mlv_calloc(set->cap, sizeof(*set->slots));
	set->used = mlv_calloc(set->cap, 1);
	return set;
}

void mlv_oidset_free(struct mlv_oidset *set)
{
	if (!set)
		return;
	free(set->slots);
	free(set->used);
	free(set);
}

static size_t oidset_find(const struct mlv_oidset *set, const struct mlv_oid *id)
{
	size_t i = oid_hash(id) & (set->cap - 1);

	while (set->used[i] && memcmp(set->slots[i].id, id->id, MLV_OID_RAWSZ))
		i = (i + 1) & (set->cap - 1);
	return i;
}

int mlv_oidset_has(const struct mlv_oidset *set, const struct mlv_oid *id)
{
	return set->used[oidset_find(set, id)];
}

int mlv_oidset_add(struct mlv_oidset *set, const struct mlv_oid *id)
{
	size_t i;

	if (2 * (set->nr + 1) > set->cap) {
		struct mlv_oidset bigger;

		bigger.cap = set->cap * 2;
		bigger.nr = 0;
		bigger.slots = mlv_calloc(bigger.cap, sizeof(*bigger.slots));
		bigger.used = mlv_calloc(bigger.cap, 1);
		for (size_t k = 0; k < set->cap; k++) {
			if (set->used[k]) {
				size_t j = oidset_find(&bigger, &set->slots[k]);

				bigger.slots[j] = set->slots[k];
				bigger.used[j] = 1;
			}
		}
		free(set->slots);
		free(set->used);
		set->slots = bigger.slots;
		set->used = bigger.used;
		set->cap = bigger.cap;
	}
	i = oidset_find(set, id);
	if (set->used[i])
		return 0;
	set->slots[i] = *id;
	set->used[i] = 1;
	set->nr++;
	return 1;
}

size_t mlv_oidset_count(const struct mlv_oidset *set)
{
	return set->nr;
}

/* ---- who holds the store ---- */

int mlv_store_lock_held(int fd, int byte)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = byte;
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot test a lock");
	return fl.l_type != F_UNLCK;
}

/* "mlv add big" from /proc/<pid>/cmdline, bounded. */
static void add_cmdline(struct mlv_buf *out, const char *pid)
{
	char path[300], buf[160];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && !buf[n - 1])
		n--;
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = ' ';
	buf[n] = '\0';
	mlv_buf_addf(out, " (%s)", buf);
}

void mlv_store_lock_holders(struct mlv_buf *out, int fd)
{
	struct stat want;
	struct dirent *de;
	char self[32];
	DIR *proc;

	mlv_buf_reset(out);
	if (fstat(fd, &want) < 0 || !(proc = opendir("/proc")))
		return;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	while ((de = readdir(proc)) && out->len < 512) {
		struct dirent *fe;
		char path[300];
		DIR *fds;
		int dfd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || !strcmp(de->d_name, self))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		if (!(fds = opendir(path)))
			continue;
		dfd = dirfd(fds);
		while ((fe = readdir(fds))) {
			struct stat st;

			if (fe->d_name[0] == '.' || fstatat(dfd, fe->d_name, &st, 0) < 0)
				continue;
			if (st.st_dev == want.st_dev && st.st_ino == want.st_ino) {
				mlv_buf_addf(out, "%sprocess %s", out->len ? ", " : "", de->d_name);
				add_cmdline(out, de->d_name);
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

int mlv_store_gc_lock(struct mlv_store *s, int wait_ms,
		      void (*waiting)(void *ctx, const char *who), void *ctx)
{
	struct mlv_buf who = MLV_BUF_INIT;
	int ret = mlv_store_lock(s, MLV_STORE_LOCK_GC, F_WRLCK, 0);

	if (ret) {
		if (ret > 0) {
			mlv_store_lock_holders(&who, s->lockfd);
			ret = mlv_error_set(MLV_ECONFLICT, "another mlv gc is running on '%s'%s%s",
					    s->dir, who.len ? ": " : "", who.len ? who.ptr : "");
		}
		goto done;
	}
	ret = mlv_store_lock(s, MLV_STORE_LOCK_OPEN, F_WRLCK, 0);
	if (ret > 0) {
		mlv_store_lock_holders(&who, s->lockfd);
		if (waiting)
			waiting(ctx, who.len ? who.ptr : "other mlv processes");
		ret = mlv_store_lock(s, MLV_STORE_LOCK_OPEN, F_WRLCK, wait_ms);
	}
	if (ret > 0) {
		mlv_store_lock_holders(&who, s->lockfd);
		ret = mlv_error_set(MLV_ECONFLICT,
				    "the store '%s' is in use by %s: gc needs it to itself",
				    s->dir, who.len ? who.ptr : "another mlv process");
		mlv_error_set_hint("run 'mlv gc' again when the other mlv commands have finished");
	}
	if (ret) {
		mlv_store_lock(s, MLV_STORE_LOCK_GC, F_UNLCK, 0);
		goto done;
	}
	/* Every pack in packs/ is indexed (or damaged, which fsck reports). */
	if ((ret = mlv_store_heal(s)) < 0)
		mlv_store_gc_unlock(s);
done:
	mlv_buf_release(&who);
	return ret;
}

void mlv_store_gc_unlock(struct mlv_store *s)
{
	mlv_store_lock(s, MLV_STORE_LOCK_OPEN, F_RDLCK, MLV_STORE_LOCK_WAIT_MS);
	mlv_store_lock(s, MLV_STORE_LOCK_GC, F_UNLCK, 0);
}

/* ---- stat caches ---- */

/*
 * Read only, beside whoever has it open (SQLite's WAL allows it); the
 * statcache table belongs to statcache.c, which never runs here on
 * another worktree's cache.
 */
int mlv_store_gc_statcache_roots(struct mlv_oidset *roots, const char *path, int topfd)
{
	const char *slash = strrchr(path, '/');
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	struct stat sb;
	int rc;

	if (slash && slash != path) {
		char *dir = mlv_strndup(path, (size_t)(slash - path));

		rc = lstat(dir, &sb);
		free(dir);
		if (rc < 0)
			return 0;
		if (!S_ISDIR(sb.st_mode))
			return mlv_error_set(MLV_EINVALID,
					     "'%s': its directory is a symbolic link or not a directory: "
					     "mlv never follows one where it keeps its own files", path);
	}
	if (lstat(path, &sb) < 0)
		return 0;
	if (!S_ISREG(sb.st_mode))
		return mlv_error_set(MLV_EINVALID,
				     "'%s' is a symbolic link or not a file: mlv never follows one where it keeps its own files",
				     path);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc == SQLITE_OK)
		sqlite3_busy_timeout(db, 5000);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT oid, path, size, mtime_ns, ino FROM statcache", -1,
					&st, NULL);
	while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		struct mlv_oid id;

		if (sqlite3_column_bytes(st, 0) != MLV_OID_RAWSZ)
			continue;
		memcpy(id.id, sqlite3_column_blob(st, 0), MLV_OID_RAWSZ);
		if (topfd >= 0) {
			const char *p = (const char *)sqlite3_column_text(st, 1);

			/* Only a stat here, never data: what is beyond a symlink is not read. */
			if (!p || !*p || fstatat(topfd, p, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
			    (uint64_t)sb.st_size != (uint64_t)sqlite3_column_int64(st, 2) ||
			    mlv_store_mtime_ns(&sb) != sqlite3_column_int64(st, 3) ||
			    (uint64_t)sb.st_ino != (uint64_t)sqlite3_column_int64(st, 4))
				continue;
		}
		mlv_oidset_add(roots, &id);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return 0;
}

/* ---- mark ---- */

struct gc_obj {
	struct mlv_pack_entry e;
	int64_t pack_id;
	int64_t used_ns;
	size_t pack;   /* index into g->packs, or SIZE_MAX when the row has no pack */
	unsigned live : 1;
	unsigned young : 1;
};

enum { KEEP = 0, REMOVE, REPACK };

struct gc_pack {
	int64_t id;
	char *name;
	uint64_t size;
	int64_t time_ns;
	uint64_t nobj, nlive, live_bytes;
	int action;
};

struct gc {
	struct mlv_store *s;
	const struct mlv_store_gc_opts *o;
	struct mlv_store_gc_stats *st;
	struct gc_obj *objs;
	size_t nobj, alloc;
	size_t *map; /* open addressing over objs: index + 1, 0 empty */
	size_t mapcap;
	struct gc_pack *packs;
	size_t npacks, packs_alloc;
	size_t *work;
	size_t nwork, work_alloc;
	struct mlv_buf buf;
	struct mlv_tree tree;
};

static int add_pack_row(void *ctx, const struct mlv_index_pack_times *p)
{
	struct gc *g = ctx;
	struct gc_pack *gp;

	MLV_ALLOC_GROW(g->packs, g->npacks + 1, g->packs_alloc);
	gp = &g->packs[g->npacks++];
	memset(gp, 0, sizeof(*gp));
	gp->id = p->id;
	gp->name = mlv_strdup(p->name);
	gp->size = p->size;
	gp->time_ns = p->added_ns > p->mtime_ns ? p->added_ns : p->mtime_ns;
	return 0;
}

static size_t find_pack(struct gc *g, int64_t id)
{
	size_t lo = 0, hi = g->npacks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->packs[mid].id == id)
			return mid;
		if (g->packs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

static int add_object_row(void *ctx, int64_t pack_id, const struct mlv_pack_entry *e, int64_t used_ns)
{
	struct gc *g = ctx;
	struct gc_obj *o;

	MLV_ALLOC_GROW(g->objs, g->nobj + 1, g->alloc);
	o = &g->objs[g->nobj++];
	memset(o, 0, sizeof(*o));
	o->e = *e;
	o->pack_id = pack_id;
	o->used_ns = used_ns;
	o->pack = find_pack(g, pack_id);
	return 0;
}

static void build_map(struct gc *g)
{
	g->mapcap = 1024;
	while (g->mapcap < 2 * g->nobj + 2)
		g->mapcap *= 2;
	g->map = mlv_calloc(g->mapcap, sizeof(*g->map));
	for (size_t i = 0; i < g->nobj; i++) {
		size_t k = oid_hash(&g->objs[i].e.id) & (g->mapcap - 1);

		while (g->map[k])
			k = (k + 1) & (g->mapcap - 1);
		g->map[k] = i + 1;
	}
}

static struct gc_obj *find_obj(struct gc *g, const struct mlv_oid *id)
{
	size_t k = oid_hash(id) & (g->mapcap - 1);

	for (; g->map[k]; k = (k + 1) & (g->mapcap - 1)) {
		struct gc_obj *o = &g->objs[g->map[k] - 1];

		if (!memcmp(o->e.id.id, id->id, MLV_OID_RAWSZ))
			return o;
	}
	return NULL;
}

static void mark(struct gc *g, struct gc_obj *o)
{
	if (!o || o->live)
		return;
	o->live = 1;
	if (o->e.type == MLV_OBJ_TREE || o->e.type == MLV_OBJ_RECIPE) {
		MLV_ALLOC_GROW(g->work, g->nwork + 1, g->work_alloc);
		g->work[g->nwork++] = (size_t)(o - g->objs);
	}
}

/* Read the record of `o`, verified; MLV_ECORRUPT naming it when it cannot be. */
static int read_obj(struct gc *g, struct gc_obj *o)
{
	const struct mlv_pack_file *pf;
	struct mlv_pack_entry hdr;
	int ret;

	if (o->pack == SIZE_MAX)
		return mlv_error_set(MLV_ECORRUPT, "%s %s: its pack (id %lld) is not in the index",
				     mlv_store_name(g->s, (enum mlv_object_type)o->e.type),
				     mlv_oid_hex(&o->e.id), (long long)o->pack_id);
	if ((ret = mlv_store_pack_get(g->s, o->pack_id, g->packs[o->pack].name, &pf)) ||
	    (ret = mlv_pack_read_record(&g->s->rd, pf, o->e.offset, &o->e.id,
					mlv_pack_type_max(o->e.type), &g->buf, &hdr)))
		return ret;
	if (hdr.type != o->e.type || hdr.comp != o->e.comp || hdr.stored_len != o->e.stored_len)
		return mlv_error_set(MLV_ECORRUPT,
				     "pack '%s': object %s: the record does not match its index row",
				     pf->name, mlv_oid_hex(&o->e.id));
	return 0;
}

/* Mark what a tree or recipe names. */
static int expand(struct gc *g, struct gc_obj *o)
{
	char hex[MLV_OID_HEXSZ + 1];
	int ret;

	if ((ret = read_obj(g, o)))
		goto fail;
	if (o->e.type == MLV_OBJ_TREE) {
		mlv_oid_tohex(hex, &o->e.id);
		if ((ret = mlv_tree_parse(&g->tree, g->buf.ptr, g->buf.len, hex)))
			goto fail;
		for (size_t i = 0; i < g->tree.nr; i++)
			mark(g, find_obj(g, &g->tree.entries[i].oid));
	} else {
		const unsigned char *p = (const unsigned char *)g->buf.ptr + MLV_RECIPE_MAGIC_LEN;
		size_t nr = (g->buf.len - MLV_RECIPE_MAGIC_LEN) / MLV_RECIPE_ENTRY_SIZE;

		/* mlv_pack_read_record() checked the recipe's layout. */
		for (size_t i = 0; i < nr; i++, p += MLV_RECIPE_ENTRY_SIZE) {
			struct mlv_oid cid;

			memcpy(cid.id, p + 8, MLV_OID_RAWSZ);
			mark(g, find_obj(g, &cid));
		}
	}
	return 0;
fail:
	mlv_error_wrap(ret, "cannot read %s %s, which gc must keep with what it names",
		       mlv_store_name(g->s, (enum mlv_object_type)o->e.type), mlv_oid_hex(&o->e.id));
	mlv_error_set_hint("run 'mlv fsck'; nothing was removed");
	return ret;
}

static int mark_all(struct gc *g, const struct mlv_oidset *roots)
{
	int ret;

	for (size_t i = 0; i < roots->cap; i++)
		if (roots->used[i])
			mark(g, find_obj(g, &roots->slots[i]));
	for (size_t i = 0; i < g->nobj; i++) {
		struct gc_obj *o = &g->objs[i];
		int64_t t = o->used_ns;

		if (o->pack != SIZE_MAX && g->packs[o->pack].time_ns > t)
			t = g->packs[o->pack].time_ns;
		if (t >= g->o->expire_ns && !o->live) {
			o->young = 1;
			mark(g, o);
		}
	}
	while (g->nwork) {
		struct gc_obj *o = &g->objs[g->work[--g->nwork]];

		if ((ret = expand(g, o)))
			return ret;
	}
	return 0;
}

/* ---- sweep ---- */

static uint64_t record_bytes(const struct gc_obj *o)
{
	return MLV_PACK_REC_HDR_SIZE + o->e.stored_len;
}

static void plan(struct gc *g)
{
	unsigned pct = g->o->repack_percent ? g->o->repack_percent : 50;

	for (size_t i = 0; i < g->nobj; i++) {
		struct gc_obj *o = &g->objs[i];

		if (o->live) {
			g->st->objects_live++;
			if (o->young)
				g->st->objects_young++;
		}
		if (o->pack == SIZE_MAX)
			continue;
		g->packs[o->pack].nobj++;
		if (o->live) {
			g->packs[o->pack].nlive++;
			g->packs[o->pack].live_bytes += record_bytes(o);
		}
	}
	for (size_t i = 0; i < g->npacks; i++) {
		struct gc_pack *p = &g->packs[i];
		uint64_t live = MLV_PACK_HDR_SIZE + p->live_bytes +
				p->nlive * MLV_PACK_IDX_ENTRY_SIZE + MLV_PACK_FOOTER_SIZE;

		g->st->bytes_before += p->size;
		if (!p->nlive)
			p->action = REMOVE;
		else if (p->nlive < p->nobj && live < p->size &&
			 (p->size - live) * 100 > (uint64_t)pct * p->size)
			p->action = REPACK;
	}
	for (size_t i = 0; i < g->nobj; i++) {
		struct gc_obj *o = &g->objs[i];

		if (o->live || o->pack == SIZE_MAX)
			continue;
		if (g->packs[o->pack].action == KEEP) {
			g->st->objects_left++;
			continue;
		}
		g->st->objects_removed++;
		if (g->o->item)
			g->o->item(g->o->ctx, MLV_GC_OBJECT, mlv_oid_hex(&o->e.id),
				   (enum mlv_object_type)o->e.type, o->e.raw_len);
	}
}

static int cmp_offset(const void *a, const void *b, void *ctx)
{
	const struct gc_obj *objs = ctx;
	const struct gc_obj *x = &objs[*(const size_t *)a], *y = &objs[*(const size_t *)b];

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->e.offset < y->e.offset ? -1 : x->e.offset > y->e.offset;
}

struct written {
	struct mlv_pack_writer **pw;
	char (*names)[MLV_PACK_NAME_MAX];
	size_t nr, alloc, names_alloc;
};

static int seal(struct written *w, struct mlv_pack_writer **cur)
{
	int ret;

	if (!*cur)
		return 0;
	if ((ret = mlv_pack_writer_seal(*cur)))
		return ret;
	MLV_ALLOC_GROW(w->pw, w->nr + 1, w->alloc);
	w->pw[w->nr++] = *cur;
	*cur = NULL;
	return 0;
}

/* Step 1: copy the live records of the packs to repack into new packs, durable. */
static int copy_live(struct gc *g, struct written *w)
{
	struct mlv_pack_writer *cur = NULL;
	size_t *order = NULL, n = 0;
	int ret = 0;

	order = mlv_calloc(g->nobj ? g->nobj : 1, sizeof(*order));
	for (size_t i = 0; i < g->nobj; i++)
		if (g->objs[i].live && g->objs[i].pack != SIZE_MAX &&
		    g->packs[g->objs[i].pack].action == REPACK)
			order[n++] = i;
	qsort_r(order, n, sizeof(*order), cmp_offset, g->objs);
	for (size_t i = 0; i < n; i++) {
		struct gc_obj *o = &g->objs[order[i]];
		const void *stored;

		if ((ret = read_obj(g, o))) {
			mlv_error_wrap(ret, "cannot copy live %s %s",
				       mlv_store_name(g->s, (enum mlv_object_type)o->e.type),
				       mlv_oid_hex(&o->e.id));
			mlv_error_set_hint("run 'mlv fsck'; nothing was removed");
			goto done;
		}
		/* The reader left the stored (compressed) bytes in its scratch buffer. */
		stored = o->e.comp == MLV_COMP_RAW ? g->buf.ptr : g->s->rd.scratch.ptr;
		if (!cur && (ret = mlv_pack_writer_open(&cur, g->s->packfd, g->s->packdir)))
			goto done;
		if ((ret = mlv_pack_writer_add(cur, &o->e.id, o->e.type, o->e.comp, stored,
					       (size_t)o->e.stored_len, o->e.raw_len)))
			goto done;
		if (mlv_pack_writer_size(cur) >= MLV_PACK_ROLLOVER && (ret = seal(w, &cur)))
			goto done;
	}
	ret = seal(w, &cur);
done:
	mlv_pack_writer_free(cur);
	free(order);
	return ret;
}

/* Read a published pack back in full: checksum, name, every record. */
static int verify_new(struct gc *g, const char *name, size_t want_nr)
{
	struct mlv_pack_file pf = { .fd = -1 };
	struct mlv_pack_entry *e = NULL;
	struct mlv_oid sum;
	size_t nr = 0;
	int ret;

	if ((ret = mlv_store_pack_open(g->s, name, &pf)) ||
	    (ret = mlv_pack_read_index(&pf, &e, &nr, &sum)))
		goto done;
	if (nr != want_nr || strncmp(name + 5, mlv_oid_hex(&sum), MLV_OID_HEXSZ)) {
		ret = mlv_error_set(MLV_ECORRUPT, "pack '%s' does not read back as written", name);
		goto done;
	}
	for (size_t i = 0; i < nr && !ret; i++)
		ret = mlv_pack_read_record(&g->s->rd, &pf, e[i].offset, &e[i].id,
					   mlv_pack_type_max(e[i].type), &g->buf, NULL);
done:
	if (pf.fd >= 0)
		close(pf.fd);
	free(e);
	return ret;
}

/* Step 2: one durable transaction. */
static int move_rows(struct gc *g, struct written *w)
{
	struct mlv_index *ix = g->s->ix;
	struct mlv_error_state es;
	int ret;

	int64_t *fresh = mlv_calloc(w->nr ? w->nr : 1, sizeof(*fresh));

	if ((ret = mlv_index_durable(ix)) || (ret = mlv_index_begin(ix))) {
		free(fresh);
		return ret;
	}
	for (size_t i = 0; i < w->nr; i++) {
		const struct mlv_pack_entry *e;
		int64_t pack_id;
		size_t nr;

		e = mlv_pack_writer_entries(w->pw[i], &nr);
		if ((ret = mlv_index_add_pack(ix, w->names[i], mlv_pack_writer_size(w->pw[i]), nr,
					      mlv_pack_writer_mtime_ns(w->pw[i]), &pack_id)) ||
		    (ret = mlv_index_set_pack_signature(ix, pack_id, mlv_pack_writer_size(w->pw[i]),
							mlv_pack_writer_mtime_ns(w->pw[i]))))
			goto done;
		fresh[i] = pack_id;
		for (size_t k = 0; k < nr; k++) {
			struct gc_obj *o = find_obj(g, &e[k].id);

			if (o && (ret = mlv_index_relocate_object(ix, o->pack_id, pack_id, &e[k])))
				goto done;
		}
	}
	for (size_t i = 0; i < g->npacks; i++) {
		int keep = g->packs[i].action == KEEP;

		/*
		 * A pack written now may have the name (and row) of one that
		 * goes: the same records, left by a gc killed before its
		 * commit and indexed since.  Its rows now name it: it stays.
		 */
		for (size_t k = 0; k < w->nr; k++)
			keep |= fresh[k] == g->packs[i].id;
		if (!keep && (ret = mlv_index_delete_pack(ix, g->packs[i].id)))
			goto done;
	}
	ret = mlv_index_commit(ix);
done:
	free(fresh);
	mlv_error_state_capture(&es, ret);
	if (ret)
		mlv_index_rollback(ix);
	return mlv_error_state_restore(&es);
}

static int sweep(struct gc *g)
{
	struct written w = { NULL };
	int ret = 0, any = 0;

	for (size_t i = 0; i < g->npacks; i++)
		any |= g->packs[i].action != KEEP;
	if (!any)
		return 0;
	if ((ret = copy_live(g, &w)))
		goto done;
	w.names = mlv_calloc(w.nr ? w.nr : 1, sizeof(*w.names));
	for (size_t i = 0; i < w.nr; i++)
		if ((ret = mlv_pack_writer_publish(w.pw[i], w.names[i])))
			goto done;
	if (w.nr && fsync(g->s->packfd) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot fsync '%s'", g->s->packdir);
		goto done;
	}
	for (size_t i = 0; i < w.nr; i++) {
		size_t nr;

		mlv_pack_writer_entries(w.pw[i], &nr);
		/* A pack of the same records has the same name: drop a cached fd of the old file. */
		mlv_store_pack_forget(g->s, w.names[i]);
		if ((ret = verify_new(g, w.names[i], nr)))
			goto done;
	}
	if ((ret = move_rows(g, &w)))
		goto done;
	/* Step 3: the files that no row names any more. */
	for (size_t i = 0; i < g->npacks; i++) {
		struct gc_pack *p = &g->packs[i];
		int fresh = 0;

		if (p->action == KEEP)
			continue;
		for (size_t k = 0; k < w.nr; k++)
			fresh |= !strcmp(w.names[k], p->name);
		mlv_store_pack_forget(g->s, p->name);
		if (!fresh && unlinkat(g->s->packfd, p->name, 0) < 0 && errno != ENOENT) {
			ret = mlv_error_set_errno(MLV_EIO, "cannot remove pack '%s/%s'", g->s->packdir,
						  p->name);
			goto done;
		}
	}
	if (fsync(g->s->packfd) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot fsync '%s'", g->s->packdir);
done:
	for (size_t i = 0; i < w.nr; i++) {
		if (!ret && g->o->item)
			g->o->item(g->o->ctx, MLV_GC_PACK_WRITTEN, w.names[i], 0,
				   mlv_pack_writer_size(w.pw[i]));
		g->st->packs_written += !ret;
		g->st->bytes_after += ret ? 0 : mlv_pack_writer_size(w.pw[i]);
		mlv_pack_writer_free(w.pw[i]);
	}
	free(w.pw);
	free(w.names);
	return ret;
}

/* What the new packs would weigh (a dry run writes none). */
static uint64_t estimate_written(struct gc *g, uint64_t *npacks)
{
	uint64_t total = 0, cur = 0, n = 0;

	for (size_t i = 0; i < g->nobj; i++) {
		struct gc_obj *o = &g->objs[i];

		if (!o->live || o->pack == SIZE_MAX || g->packs[o->pack].action != REPACK)
			continue;
		if (!cur)
			cur = MLV_PACK_HDR_SIZE + MLV_PACK_FOOTER_SIZE, n++;
		cur += record_bytes(o) + MLV_PACK_IDX_ENTRY_SIZE;
		if (cur >= MLV_PACK_ROLLOVER)
			total += cur, cur = 0;
	}
	*npacks = n;
	return total + cur;
}

int mlv_store_gc(struct mlv_store *s, const struct mlv_oidset *roots,
		 const struct mlv_store_gc_opts *o, struct mlv_store_gc_stats *stats)
{
	struct gc g;
	int ret;

	memset(&g, 0, sizeof(g));
	memset(stats, 0, sizeof(*stats));
	g.s = s;
	g.o = o;
	g.st = stats;
	mlv_buf_init(&g.buf, 0);
	mlv_tree_release(&g.tree);
	if ((ret = mlv_index_for_each_pack_times(s->ix, add_pack_row, &g)) ||
	    (ret = mlv_index_for_each_object_used(s->ix, add_object_row, &g)))
		goto done;
	stats->objects = g.nobj;
	stats->packs = g.npacks;
	build_map(&g);
	if ((ret = mark_all(&g, roots)))
		goto done;
	plan(&g);
	for (size_t i = 0; i < g.npacks; i++) {
		struct gc_pack *p = &g.packs[i];

		if (p->action == KEEP) {
			stats->bytes_after += p->size;
			continue;
		}
		if (p->action == REMOVE)
			stats->packs_removed++;
		else
			stats->packs_repacked++;
		if (o->item)
			o->item(o->ctx, p->action == REMOVE ? MLV_GC_PACK_REMOVED : MLV_GC_PACK_REPACKED,
				p->name, 0, p->size);
	}
	if (o->dry_run) {
		stats->bytes_after += estimate_written(&g, &stats->packs_written);
	} else if ((ret = sweep(&g))) {
		goto done;
	}
	stats->bytes_freed = stats->bytes_before > stats->bytes_after ?
				     stats->bytes_before - stats->bytes_after : 0;
done:
	for (size_t i = 0; i < g.npacks; i++)
		free(g.packs[i].name);
	free(g.packs);
	free(g.objs);
	free(g.map);
	free(g.work);
	mlv_buf_release(&g.buf);
	mlv_tree_release(&g.tree);
	return ret;
}
