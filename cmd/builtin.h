#ifndef MLV_BUILTIN_H
#define MLV_BUILTIN_H

#include <jansson.h>
#include <stdint.h>
#include "mlv/repo.h"
#include "parse-options.h"

/*
 * Everything a command needs from the dispatcher.  `repo` is set for
 * commands that run inside a repository (and the process has changed
 * directory to its top); `progress` is 1 when progress may be shown.
 */
struct mlv_ctx {
	struct mlv_repo *repo;
	int progress;
};

/*
 * Adding a command (the checklist):
 *   1. cmd/<name>.c exporting only cmd_<name>(), with its usage and option table;
 *   2. an entry in commands[] in cmd/mlv.c;
 *   3. man/mlv-<name>.1 whose SYNOPSIS matches `mlv <name> -h`;
 *   4. tests in t/ (t0002-docs.sh checks 3 and completion automatically).
 */
int cmd_add(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_cat(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_checkout(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_diff(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_env(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_fsck(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_gc(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_gpus(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_hash(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_help(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_hooks(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_init(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_lineage(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_log(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_ls(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_merge_driver(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_metrics(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_mv(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_repro(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_rm(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_run(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_runs(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_status(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_version(int argc, const char **argv, struct mlv_ctx *ctx);
int cmd_complete(int argc, const char **argv, struct mlv_ctx *ctx);

/* Messages (cmd/output.c).  die*() exit 128; error() returns -1. */
/*
 * What die() and die_lib() exit with: 128, or 125 in a command that runs
 * another one (`mlv run`), whose own statuses follow env(1).
 */
extern int die_status;
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* "fatal: <mlv_error_last()>", exit 128. */
void die_lib(void) __attribute__((noreturn));
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "error: <mlv_error_last()>"; returns -1. */
int error_lib(void);
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "1.5 MiB" style sizes for humans. */
const char *human_size(uint64_t bytes);

/*
 * --json output: each command builds one object with Jansson and prints it
 * with json_emit() (one line, keys in insertion order; takes the
 * reference).  Strings that come from file names go through json_text():
 * a byte that is not valid UTF-8 becomes the four characters \xNN and a
 * backslash becomes two, so that every name reads back unambiguously.
 */
json_t *json_text(const char *s);
int json_validate_utf8(const char *s, size_t n);
void json_emit(json_t *obj);

/* Progress on stderr, only when ctx->progress; throttled. */
struct progress;
struct progress *progress_start(struct mlv_ctx *ctx, const char *title);
void progress_update(struct progress *p, uint64_t count, uint64_t bytes);
void progress_stop(struct progress *p);

/* Repository-relative path for a command-line argument; dies on a bad one. */
char *path_arg(struct mlv_ctx *ctx, const char *arg);
/*
 * The artifacts named by command-line paths (all of them when `n` is 0);
 * dies on a bad path or one that matches nothing.
 */
struct mlv_artifact_list;
void find_artifacts(struct mlv_ctx *ctx, struct mlv_artifact_list *out, int n, const char **argv);
/*
 * The one artifact a command-line path names (its data path or its
 * pointer file), in `out`; -1 with an error naming `arg` when it names none.
 */
int find_artifact(struct mlv_ctx *ctx, struct mlv_artifact_list *out, const char *arg);
/* "error: <why>" and "hint: <what to do>" for an artifact whose pointer is bad. */
struct mlv_artifact;
void report_bad_artifact(const struct mlv_artifact *a);

/*
 * Whether operand `arg` (the first) is a revision, as git decides: with
 * `dashdash` (parse_options_dashdash()) 0 it is a path, above 0 a
 * revision; with no "--", a revision when git resolves it to a commit and
 * no file or pointer of that name exists (dies "ambiguous argument" when
 * both hold).
 */
int arg_is_rev(struct mlv_ctx *ctx, const char *arg, int dashdash);

/*
 * When the data of artifact `a` is an older version of it (what its
 * pointer named at a commit checked out before, or earlier in HEAD's
 * history: the `mlv checkout` forgotten after `git checkout`), that
 * commit as "<short hash> (<subject>)"; NULL when not (or not known from
 * the stat cache alone).  The caller frees it.
 */
char *forgotten_checkout(struct mlv_ctx *ctx, const struct mlv_artifact *a);

/* `path` (repo-relative) shown relative to where the user stands. */
const char *path_show(struct mlv_ctx *ctx, const char *path);
/*
 * Any text from a file, a record or a command's output, safe for a
 * terminal: quoted with C escapes when it holds a control character, a
 * quote or a backslash (four rotating buffers, like path_show()).
 */
const char *text_show(const char *s);

/*
 * `path` (repo-relative) relative to where the user stands, quoted for sh
 * (mlv_sq_quote()): the way to put a name into a command a hint shows, so
 * that pasting it runs that command whatever the name holds.  The last
 * four results stay valid.
 */
const char *path_sh(struct mlv_ctx *ctx, const char *path);

#endif
