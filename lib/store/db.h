#ifndef MLV_DB_H
#define MLV_DB_H

#include <sqlite3.h>
#include <stdint.h>

/*
 * The one SQLite layer of the store.  Only this file and the modules that
 * own a table (index.c: objects and packs; statcache.c: statcache) call
 * sqlite3_*; everyone else goes through those modules.
 *
 * A database is opened without following a symlink (SQLITE_OPEN_NOFOLLOW,
 * and the file itself is checked first), in WAL mode with a busy timeout,
 * and migrated to the owner's schema: migrations[i] brings user_version
 * from i to i + 1, in one transaction.  Each connection prepares the
 * owner's statements once (by index into `sql`) and keeps them.
 *
 * Errors name the file; SQLITE_CORRUPT and SQLITE_NOTADB become
 * MLV_ECORRUPT with the schema's hint (what the user can run).
 */
struct mlv_db_schema {
	const char *what;                /* "index", "stat cache": in messages */
	const char *hint;                /* set with MLV_ECORRUPT, or NULL */
	const char *const *migrations;
	int nmigrations;
	const char *const *sql;
	int nsql;
};

struct mlv_db {
	sqlite3 *db;
	char *path;
	const struct mlv_db_schema *schema;
	sqlite3_stmt **stmt;
	int created; /* the file was new or empty (user_version was 0) */
};

/*
 * Open (creating) `path`.  MLV_EINVALID when it is a symlink, MLV_ECORRUPT
 * when it is not a database or is shorter than its header says (and no
 * write-ahead log explains it), MLV_EUNSUPPORTED for a newer schema.
 */
int mlv_db_open(struct mlv_db **out, const char *path, const struct mlv_db_schema *schema);
void mlv_db_free(struct mlv_db *db);

/* The cached statement `which`, reset with bindings cleared; NULL with the error set. */
sqlite3_stmt *mlv_db_stmt(struct mlv_db *db, int which);
/* Step: 1 a row (the statement stays active), 0 done, <0 error (both reset the statement). */
int mlv_db_step(struct mlv_db *db, sqlite3_stmt *st, const char *what);
/* Step a statement that returns no rows, then reset it. */
int mlv_db_run(struct mlv_db *db, sqlite3_stmt *st, const char *what);
void mlv_db_reset(sqlite3_stmt *st);
/* Set the error for a failed SQLite call; returns the MLV_E* code. */
int mlv_db_error(struct mlv_db *db, int rc, const char *what);
int mlv_db_exec(struct mlv_db *db, const char *sql);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback keeps the first error). */
int mlv_db_begin(struct mlv_db *db);
int mlv_db_commit(struct mlv_db *db);
void mlv_db_rollback(struct mlv_db *db);
int mlv_db_in_transaction(struct mlv_db *db);
/* PRAGMA quick_check: `fn` gets each problem; returns 0 or <0 when it cannot run. */
int mlv_db_quick_check(struct mlv_db *db, void (*fn)(void *ctx, const char *msg), void *ctx);

#endif
