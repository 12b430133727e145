#ifndef MLV_STORE_H
#define MLV_STORE_H

#pragma GCC visibility push(default)

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "buf.h"
#include "oid.h"

/*
 * The content-addressed store (mlv-formats(5)), in git's own directory:
 *
 *	$GIT_COMMON_DIR/mlv/packs/         pack files      shared by every
 *	$GIT_COMMON_DIR/mlv/index.db       SQLite index    linked worktree
 *	$GIT_COMMON_DIR/mlv/index.lck      its lock file
 *	$GIT_DIR/mlv/statcache.db          the stat cache of one worktree
 *	$GIT_DIR/mlv/statcache.lck         its lock file
 *
 * The databases are only ever opened by SQLite (never open()ed and
 * closed beside it, which would drop SQLite's locks in this process).
 * The lock files are never removed; each open handle holds a shared
 * record lock on them, so that no process removes or moves aside a
 * database that another one has open, and a writer holds one from the
 * rename of its packs until their rows are committed.
 *
 * No file or directory of the store is ever opened through a symlink: one
 * there is an error naming it.
 *
 * Object types.  A blob (a file's content) is stored either as a single
 * chunk (blob id == chunk id) or, when it has more than one chunk, as a
 * recipe stored under the blob's id listing its chunks in order.
 */
enum mlv_object_type {
	MLV_OBJ_CHUNK = 1,
	MLV_OBJ_RECIPE = 2,
	MLV_OBJ_TREE = 3,
};

/* FastCDC parameters (bytes). */
#define MLV_CHUNK_MIN (256u * 1024)
#define MLV_CHUNK_AVG (1024u * 1024)
#define MLV_CHUNK_MAX (4u * 1024 * 1024)

/* Largest tree or recipe object accepted (reading or writing). */
#define MLV_OBJECT_META_MAX (256u * 1024 * 1024)

struct mlv_store;

/*
 * Open the store in `dir` (packs/ and index.db, created if missing) with
 * the stat cache in `wtdir` (NULL: `dir`; it must exist).  The index is
 * SQLite in WAL mode with a busy timeout, so several processes may open
 * one store at once.
 *
 * Opening heals what a killed writer left (without MLV_STORE_REBUILD):
 * temporary packs whose writer died are removed, and packs in packs/ that
 * the index does not name and that no live writer is publishing are
 * verified in full and indexed -- so an index left empty by the first
 * add of a store, or emptied, is rebuilt from the packs.  This costs one
 * readdir of packs/ and one query when there is nothing to do.
 *
 * A damaged index.db (garbage, truncated, or empty while the only packs
 * are damaged) is MLV_ECORRUPT naming it, with the hint
 * "run 'mlv fsck --repair'" (mlv_error_last_hint()).  With
 * MLV_STORE_REBUILD it is moved aside instead (mlv_store_index_moved_aside()
 * says where) and an empty index is opened, for mlv_store_fsck() with
 * `repair` to fill from the packs.
 */
#define MLV_STORE_REBUILD 1u
/*
 * With MLV_STORE_REBUILD: remove index.db whatever it holds and start it
 * empty (a rebuild that must not trust what an interrupted one left).
 *
 * An index.db is only ever removed or moved aside while no other process
 * has the store open (every handle holds a shared lock on index.lck in
 * `dir` for its life): otherwise MLV_ECONFLICT, after waiting a while for
 * the others to finish, and nothing is removed.
 */
#define MLV_STORE_FRESH 2u
int mlv_store_open(struct mlv_store **out, const char *dir);
int mlv_store_open_ext(struct mlv_store **out, const char *dir, const char *wtdir,
		       unsigned flags);
void mlv_store_free(struct mlv_store *s);

/*
 * For messages: the index's path; where a damaged one was moved (NULL:
 * none); whether MLV_STORE_REBUILD started it afresh (damaged, or empty
 * while packs exist), so that only mlv_store_fsck() with `repair` fills it.
 */
const char *mlv_store_index_path(struct mlv_store *s);
const char *mlv_store_index_moved_aside(struct mlv_store *s);
int mlv_store_index_rebuilding(struct mlv_store *s);

const char *mlv_store_name(struct mlv_store *s, enum mlv_object_type t);

struct mlv_object_info {
	enum mlv_object_type type;
	uint64_t size;        /* raw size of the stored record */
	uint64_t stored_size; /* bytes in the pack (compressed or raw) */
	char pack[128];       /* pack file name */
	uint64_t offset;      /* record offset inside the pack */
};

/* 1 if present in the index, 0 if not, <0 on error. */
int mlv_store_has(struct mlv_store *s, const struct mlv_oid *id);
/*
 * 1 when blob `id` can be read in full: a chunk, or a recipe whose chunks
 * are all present (after a repair, a recipe may have lost a chunk).
 * 0 when not, <0 on error.
 *
 * This is the stat cache's fast path (a file the cache vouches for is not
 * read again), so it stays cheap and still honest: an object whose pack
 * file is no longer the file that was indexed (its size or mtime differ
 * from the signature recorded in the packs table) is read and verified in
 * full first, and a copy that fails counts as absent (0), so that add
 * stores the data again.  Packs are never rewritten in place, so the
 * check costs one fstatat() per pack per process.  When it returns 0,
 * mlv_error_last() says why (the missing chunk, or the pack at fault).
 */
int mlv_store_has_blob(struct mlv_store *s, const struct mlv_oid *id);
/*
 * The same check with the reason as the result: 0 when blob `id` can be
 * read in full; MLV_ENOTFOUND (the object or one of its chunks is not
 * indexed), MLV_ECORRUPT (a changed pack's copy fails verification,
 * naming object and pack) or MLV_EINVALID (not a blob), with a message.
 * For planners that must say why (checkout).
 */
int mlv_store_check_blob(struct mlv_store *s, const struct mlv_oid *id);

/*
 * Read all of blob `id` and check every hash: each chunk against its id,
 * the whole content against `id`.  0 when intact; MLV_ECORRUPT or
 * MLV_ENOTFOUND with a message naming the object (and pack).  For
 * commands about to delete data (rm): the store must hold a good copy.
 */
int mlv_store_verify_blob(struct mlv_store *s, const struct mlv_oid *id);

/* MLV_ENOTFOUND if absent. */
int mlv_store_info(struct mlv_store *s, const struct mlv_oid *id, struct mlv_object_info *out);

/*
 * Resolve a hex prefix (8..64 digits) to a full id.  MLV_ENOTFOUND or
 * MLV_EAMBIGUOUS (with a message naming the prefix).
 */
int mlv_store_resolve_prefix(struct mlv_store *s, struct mlv_oid *out, const char *hex);

/*
 * Read one record whole (a chunk, a tree, or a recipe's bytes), verified:
 * chunks and trees must hash to their id.  `type_out` may be NULL.
 * Refuses records larger than `max` bytes with MLV_EINVALID.
 */
int mlv_store_read(struct mlv_store *s, const struct mlv_oid *id, struct mlv_buf *out,
		   enum mlv_object_type *type_out, uint64_t max);

/*
 * Stream a blob's content (a chunk, or a recipe's chunks in order) to
 * `sink`.  Every chunk is verified before it is passed on, and the whole
 * content is checked against `id` at the end (MLV_ECORRUPT naming the
 * object and pack otherwise).  A non-zero return from `sink` stops the
 * stream and is returned.  Memory stays bounded by one chunk.
 */
typedef int (*mlv_sink_fn)(void *ctx, const void *data, size_t len);
int mlv_store_read_blob(struct mlv_store *s, const struct mlv_oid *id, mlv_sink_fn sink, void *ctx);

/*
 * Writing.  A writer appends new objects to a private temporary pack and,
 * on commit, seals it (index + checksum), fsyncs it, renames it into place
 * and only then records its objects in the index in one transaction.
 * Objects already in the store (or already written by this writer) are not
 * written twice, but the stored copy is compared with the data first
 * (read, decompressed, compared byte for byte): a copy that differs or
 * cannot be read is written again and its index row moves to the new
 * record.  A reused object's used_ns (the objects table) is set to the
 * time of the commit, in the commit's transaction: gc's grace period
 * counts from there.  Until commit returns 0 nothing written is visible to
 * other processes, and a crash leaves only a temporary file that fsck
 * removes.
 *
 * A writer uses one background thread: hashing of chunks, compression and
 * pack writes overlap with the caller's reading and chunking.  Errors from
 * the background thread are returned by the next call (or by commit).
 */
struct mlv_store_writer;

int mlv_store_writer_new(struct mlv_store_writer **out, struct mlv_store *s);

/*
 * Store the content of the file open on `fd` (read from its current
 * position to EOF) as a blob; `id_out` and `size_out` (nullable) receive
 * its id and length.  The blob is durable only after commit.
 */
int mlv_store_writer_put_fd(struct mlv_store_writer *w, struct mlv_oid *id_out,
			    uint64_t *size_out, int fd, const char *path_for_errors);

/* Store a buffer as a blob (chunked the same way as a file). */
int mlv_store_writer_put_buf(struct mlv_store_writer *w, struct mlv_oid *id_out,
			     const void *data, size_t len);

/* Store a tree object (already encoded); its id is its SHA-256. */
int mlv_store_writer_put_tree(struct mlv_store_writer *w, struct mlv_oid *id_out,
			      const void *data, size_t len);

/* Seal and index everything written so far.  The writer may be used again. */
int mlv_store_writer_commit(struct mlv_store_writer *w);

/* Drop whatever was not committed, stop the thread, free.  NULL is fine. */
void mlv_store_writer_free(struct mlv_store_writer *w);

/* Bytes written to packs by this writer (after compression), for reports. */
uint64_t mlv_store_writer_bytes_written(struct mlv_store_writer *w);

/*
 * Hash a file's content exactly as the writer would, without storing:
 * the blob id is the SHA-256 of the whole content.
 */
int mlv_blob_hash_fd(struct mlv_oid *out, uint64_t *size_out, int fd, const char *path_for_errors);

/*
 * The worktree stat cache ($GIT_DIR/mlv/statcache.db: each linked
 * worktree has its own).  An entry says that the file at `path` (relative
 * to the top of the work tree) had content `id` when it had these stat
 * fields.  mlv_statcache_lookup() applies the racy-timestamp rule: an entry
 * whose mtime is not older than the moment it was recorded is not trusted.
 *
 * It is only a cache: a damaged file is started afresh by a process that
 * has it to itself; beside another process that has it open, the store
 * works without one (lookups miss, updates do nothing).
 */
struct mlv_stat {
	uint64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint64_t ino;
	uint64_t dev;
	uint32_t mode;
};
void mlv_stat_from(struct mlv_stat *out, const struct stat *st);

/* 1 and `id_out` set when the cache vouches for the file; 0 when not. */
int mlv_statcache_lookup(struct mlv_store *s, const char *path, const struct mlv_stat *st,
			 struct mlv_oid *id_out);

/*
 * Optional: load the entries for `prefix` and everything below `prefix/`
 * ("" = all) into memory, so that the following lookups under it are a
 * binary search instead of a query.  Any put, delete or rolled-back batch
 * drops the loaded copy (lookups then query the index again).
 */
int mlv_statcache_load_prefix(struct mlv_store *s, const char *prefix);

/*
 * Batched updates: begin, then any number of put/delete, then end.  Entries
 * put between begin and end share one transaction.  `recorded_ns` is the
 * clock reading taken before the file's content was read (or written).
 */
int mlv_statcache_begin(struct mlv_store *s);
int mlv_statcache_put(struct mlv_store *s, const char *path, const struct mlv_stat *st,
		      const struct mlv_oid *id, int64_t recorded_ns);
/* Delete `path` and everything below `path/`. */
int mlv_statcache_delete(struct mlv_store *s, const char *path);
/*
 * Entries of `from` and below it now belong to `to` (after a rename(2),
 * which keeps the stat fields of everything inside a directory).
 */
int mlv_statcache_rename(struct mlv_store *s, const char *from, const char *to);
int mlv_statcache_end(struct mlv_store *s, int commit);

/* Nanoseconds of CLOCK_REALTIME, comparable with st_mtim. */
int64_t mlv_now_ns(void);

/*
 * Verify the store.  Each problem is passed to `report` (kind is a short
 * word: "corrupt", "missing", "orphan", "truncated", "dangling", "temp",
 * "index"; `what` names the object or pack).  With `repair`, orphan packs
 * are indexed, index rows that point nowhere are dropped, readable records
 * of damaged packs are salvaged into a new pack, and temporary packs left
 * by killed processes are removed.  Returns the number of problems found
 * that remain after repair (0 = clean), or <0 on error.
 */
struct mlv_fsck_stats {
	uint64_t packs;
	uint64_t objects;
	uint64_t problems;
	uint64_t repaired;
};
typedef void (*mlv_fsck_report_fn)(void *ctx, const char *kind, const char *what, const char *detail);
int mlv_store_fsck(struct mlv_store *s, int repair, mlv_fsck_report_fn report, void *ctx,
		   struct mlv_fsck_stats *stats);

struct mlv_tree;
struct mlv_tree_entry;

/*
 * Read and parse tree object `id` (MLV_ECORRUPT when it is another kind
 * of object).  `what` names it in messages: the directory it stands for.
 */
int mlv_tree_load(struct mlv_store *s, const struct mlv_oid *id, const char *what,
		  struct mlv_tree *out);

/*
 * Trees come from other people: work on them is bounded.  A tree deeper
 * than MLV_TREE_DEPTH_MAX levels, a tree object with more than
 * MLV_TREE_ENTRIES_MAX entries, or a walk that would visit more than
 * MLV_TREE_VISIT_MAX entries (a subtree shared by several entries counts
 * each time it is reached) is MLV_EINVALID naming the tree.
 */
#define MLV_TREE_DEPTH_MAX 1024u
#define MLV_TREE_VISIT_MAX (1ull << 28)

/*
 * Count what a walk of tree `id` would visit without walking it: each
 * distinct subtree is read once and its counts remembered, so a small
 * object naming 2^41 files (a DAG of shared subtrees) fails at once.
 * `files_out` (nullable) receives the number of non-directory entries.
 * MLV_EINVALID "tree <what> (<id>) holds more than <limit> entries" when
 * the entries visited (files and directories) exceed `limit`; the depth
 * limit applies too.  `what` names the tree in messages (its path).
 */
int mlv_tree_count(struct mlv_store *s, const struct mlv_oid *id, const char *what,
		   uint64_t limit, uint64_t *files_out);

/*
 * Walk a stored tree recursively: `fn` gets each file's path below `base`.
 * The tree is counted first (mlv_tree_count() with MLV_TREE_VISIT_MAX),
 * so a hostile tree fails before `fn` is called at all.
 */
typedef int (*mlv_tree_walk_fn)(void *ctx, const char *path, const struct mlv_tree_entry *e);
int mlv_tree_walk(struct mlv_store *s, const struct mlv_oid *tree, const char *base,
		  mlv_tree_walk_fn fn, void *ctx);

/*
 * Check one entry of a stored tree against the store, as checkout does
 * before it writes anything: a file's object is a blob (a chunk, or a
 * recipe) of exactly the entry's size; a symlink's is a blob of 1 to
 * MLV_LINK_TARGET_MAX bytes without a NUL byte; a directory's is a tree.
 * `path` names the entry in messages.  0 when it holds; MLV_ENOTFOUND
 * when the object is not in the store; MLV_ECORRUPT with a message naming
 * `path` and the object when it does not hold (or cannot be read back).
 */
#define MLV_LINK_TARGET_MAX 4095
int mlv_tree_entry_check(struct mlv_store *s, const struct mlv_tree_entry *e, const char *path);

#pragma GCC visibility pop

#endif
