/*
 * mlv log: the commits that changed artifacts, newest first, printed as
 * they are found (--json gathers them into one object).
 */
#include <git2.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builtin.h"
#include "mlv/log.h"
#include "mlv/treediff.h"

struct log_state {
	struct mlv_ctx *ctx;
	int max;       /* -n, or -1 */
	int shown;
	int stat;
	int problems;  /* a bad pointer or a missing tree was shown */
	json_t *entries; /* --json */
	json_t *stops;   /* --json: where history stops */
};

static const char *what_name(int what)
{
	switch (what) {
	case MLV_LOG_ADDED: return "added";
	case MLV_LOG_MODIFIED: return "modified";
	case MLV_LOG_DELETED: return "deleted";
	case MLV_LOG_RENAMED: return "renamed";
	case MLV_LOG_PRESENT: return "present";
	}
	return "unknown";
}

/* "2005-04-07 15:13:13 -0700" (iso 0) or "2005-04-07T15:13:13-07:00" (iso 1), in the author's zone. */
static const char *format_date(int64_t t, int offset, int iso)
{
	static char buf[64];
	time_t local = (time_t)(t + (int64_t)offset * 60);
	int off = offset < 0 ? -offset : offset;
	struct tm tm;
	size_t n;

	if (!gmtime_r(&local, &tm))
		memset(&tm, 0, sizeof(tm));
	n = strftime(buf, sizeof(buf), iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, iso ? "%c%02d:%02d" : " %c%02d%02d",
		 offset < 0 ? '-' : '+', off / 60, off % 60);
	return buf;
}

/* "+1.5 MiB", "-512 B", "+0 B" */
static const char *size_delta(uint64_t from, uint64_t to)
{
	static char buf[48];

	snprintf(buf, sizeof(buf), "%c%s", to >= from ? '+' : '-',
		 human_size(to >= from ? to - from : from - to));
	return buf;
}

/* Subjects are printed as git prints them, except that no control byte reaches the terminal. */
static void put_subject(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

struct stat_ctx {
	struct log_state *st;
	struct mlv_tree_diff_stat sum;
	json_t *files; /* --json */
};

static int stat_change(void *data, const struct mlv_tree_change *c)
{
	struct stat_ctx *sc = data;
	struct mlv_ctx *ctx = sc->st->ctx;

	mlv_tree_diff_stat_add(&sc->sum, c);
	if (sc->files) {
		json_t *o = json_object();
		char k[2] = { (char)c->kind, 0 };

		json_object_set_new(o, "status", json_string(k));
		json_object_set_new(o, "path", json_text(c->path));
		if (c->kind == 'R')
			json_object_set_new(o, "old_path", json_text(c->old_path));
		json_array_append_new(sc->files, o);
	} else if (c->kind == '!') {
		printf("        ! %s (tree not in the store)\n", path_show(ctx, c->path));
	} else if (c->kind == 'R') {
		printf("        R %s -> %s\n", path_show(ctx, c->old_path), path_show(ctx, c->path));
	} else {
		printf("        %c %s\n", c->kind, path_show(ctx, c->path));
	}
	return 0;
}

/*
 * --stat for a directory: the files its commit added, removed, modified
 * and renamed, from the stored trees; trees not in the store are said to
 * be missing, never an error.
 */
static void show_stat(struct log_state *st, const struct mlv_log_change *ch, json_t *jo)
{
	struct mlv_tree_diff_opts opts = MLV_TREE_DIFF_OPTS_INIT;
	struct stat_ctx sc = { .st = st };
	struct mlv_store *s;
	int dir_new = ch->ptr && ch->ptr->type == MLV_PTYPE_DIR;
	int dir_old = ch->old && ch->old->type == MLV_PTYPE_DIR;
	int ret, skipped = 0;

	if ((!dir_new && !dir_old) || (ch->what == MLV_LOG_PRESENT))
		return;
	if (mlv_repo_store(&s, st->ctx->repo) < 0)
		die_lib();
	opts.flags = MLV_TREE_DIFF_MISSING_OK;
	opts.renames_skipped = &skipped;
	if (jo)
		sc.files = json_array();
	ret = mlv_tree_diff_ext(s, dir_old ? &ch->old->oid : NULL, dir_new ? &ch->ptr->oid : NULL,
				ch->path, &opts, stat_change, &sc);
	if (skipped)
		warning("%s: rename detection skipped: more than %zu changes", ch->path,
			MLV_TREE_DIFF_RENAME_MAX);
	if (ret < 0) {
		st->problems = 1;
		if (jo)
			json_object_set_new(jo, "stat_error", json_text(mlv_error_last()));
		else
			printf("        (%s)\n", mlv_error_last());
		json_decref(sc.files);
		return;
	}
	if (sc.sum.missing)
		st->problems = 1;
	if (jo) {
		json_t *o = json_object();

		json_object_set_new(o, "added", json_integer((json_int_t)sc.sum.added));
		json_object_set_new(o, "deleted", json_integer((json_int_t)sc.sum.deleted));
		json_object_set_new(o, "modified", json_integer((json_int_t)sc.sum.modified));
		json_object_set_new(o, "renamed", json_integer((json_int_t)sc.sum.renamed));
		json_object_set_new(o, "missing_trees", json_integer((json_int_t)sc.sum.missing));
		json_object_set_new(o, "files", sc.files);
		json_object_set_new(jo, "stat", o);
		return;
	}
	printf("        %" PRIu64 " added, %" PRIu64 " deleted, %" PRIu64 " modified, %" PRIu64
	       " renamed", sc.sum.added, sc.sum.deleted, sc.sum.modified, sc.sum.renamed);
	if (sc.sum.missing)
		printf("; %" PRIu64 " tree%s not in the store", sc.sum.missing,
		       sc.sum.missing == 1 ? "" : "s");
	putchar('\n');
}

static void print_change(struct log_state *st, const struct mlv_log_change *ch)
{
	struct mlv_ctx *ctx = st->ctx;
	const struct mlv_pointer *p = ch->ptr, *o = ch->old;

	printf("    %-8s %s", what_name(ch->what), path_show(ctx, ch->path));
	if (ch->what == MLV_LOG_RENAMED)
		printf(" (from %s)", path_show(ctx, ch->old_path));
	if (ch->what == MLV_LOG_DELETED) {
		if (o)
			printf("  was %s", human_size(o->size));
		putchar('\n');
		return;
	}
	if (!p) {
		printf("  bad pointer\n");
		return;
	}
	printf("  %.12s  %s", mlv_oid_hex(&p->oid), human_size(p->size));
	if (o)
		printf(" (%s)", size_delta(o->size, p->size));
	if (p->type == MLV_PTYPE_DIR) {
		printf("  %" PRIu64 " files", p->files);
		if (o && o->type == MLV_PTYPE_DIR && o->files != p->files)
			printf(" (%c%" PRIu64 ")", o->files > p->files ? '-' : '+',
			       o->files > p->files ? o->files - p->files : p->files - o->files);
	}
	putchar('\n');
	if (st->stat)
		show_stat(st, ch, NULL);
}

static json_t *pointer_json(const struct mlv_pointer *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "oid", json_pack("s+", "sha256:", mlv_oid_hex(&p->oid)));
	json_object_set_new(o, "kind", json_string(mlv_kind_name(p->kind)));
	json_object_set_new(o, "type", json_string(p->type == MLV_PTYPE_DIR ? "dir" : "file"));
	json_object_set_new(o, "size", json_integer((json_int_t)p->size));
	json_object_set_new(o, "files",
			    json_integer((json_int_t)(p->type == MLV_PTYPE_DIR ? p->files : 1)));
	return o;
}

static json_t *change_json(struct log_state *st, const struct mlv_log_change *ch)
{
	json_t *o = json_object();

	json_object_set_new(o, "status", json_string(what_name(ch->what)));
	json_object_set_new(o, "path", json_text(ch->path));
	if (ch->old_path)
		json_object_set_new(o, "old_path", json_text(ch->old_path));
	if (ch->ptr) {
		json_object_update_new(o, pointer_json(ch->ptr));
		if (ch->old)
			json_object_set_new(o, "size_change",
					    json_integer((json_int_t)ch->ptr->size -
							 (json_int_t)ch->old->size));
	}
	if (ch->error)
		json_object_set_new(o, "error", json_text(ch->error));
	if (ch->old)
		json_object_set_new(o, "old", pointer_json(ch->old));
	if (ch->old_error)
		json_object_set_new(o, "old_error", json_text(ch->old_error));
	if (st->stat && (ch->ptr || ch->old))
		show_stat(st, ch, o);
	return o;
}

static void show_stop(struct log_state *st, const struct mlv_log_entry *e)
{
	const char *why = e->shallow == 1 ? "shallow" : "missing";

	if (st->stops) {
		json_t *o = json_object();

		json_object_set_new(o, "commit", json_string(e->commit));
		json_object_set_new(o, "reason", json_string(why));
		json_object_set_new(st->stops, "history_stops", o);
		return;
	}
	if (e->shallow == 1)
		printf("history stops at %.12s: a shallow boundary (earlier commits are not in this clone)\n",
		       e->commit);
	else
		printf("history stops at %.12s: its parent commit is missing from the repository\n",
		       e->commit);
}

static int show_entry(void *data, const struct mlv_log_entry *e)
{
	struct log_state *st = data;

	if (!e->nr) {
		show_stop(st, e);
		return 0;
	}
	if (st->max >= 0 && st->shown >= st->max)
		return 1;
	st->shown++;
	for (size_t i = 0; i < e->nr; i++)
		if (e->changes[i].error) {
			error("%s", e->changes[i].error);
			st->problems = 1;
		}
	if (st->entries) {
		json_t *o = json_object(), *a = json_array(), *au = json_object();

		json_object_set_new(o, "commit", json_string(e->commit));
		json_object_set_new(au, "name", json_text(e->author_name));
		json_object_set_new(au, "email", json_text(e->author_email));
		json_object_set_new(o, "author", au);
		json_object_set_new(o, "date", json_string(format_date(e->author_time,
								       e->author_offset, 1)));
		json_object_set_new(o, "time", json_integer((json_int_t)e->author_time));
		json_object_set_new(o, "subject", json_text(e->subject));
		for (size_t i = 0; i < e->nr; i++)
			json_array_append_new(a, change_json(st, &e->changes[i]));
		json_object_set_new(o, "artifacts", a);
		json_array_append_new(st->entries, o);
	} else {
		if (st->shown > 1)
			putchar('\n');
		printf("commit %s\n", e->commit);
		printf("Author: ");
		put_subject(e->author_name);
		printf(" <");
		put_subject(e->author_email);
		printf(">\nDate:   %s\n\n    ", format_date(e->author_time, e->author_offset, 0));
		put_subject(e->subject);
		printf("\n\n");
		for (size_t i = 0; i < e->nr; i++)
			print_change(st, &e->changes[i]);
	}
	if (e->shallow)
		show_stop(st, e);
	return st->max >= 0 && st->shown >= st->max;
}

int cmd_log(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv log [-n <count>] [--json] [--stat] [--follow] [<rev>] [--] [<path>]", NULL
	};
	int max = -1, json = 0, stat = 0, follow = 0, dashdash, n, ret;
	const struct option opts[] = {
		OPT_INT_F('n', "max-count", &max, "<count>", "show at most <count> commits"),
		OPT_BOOL_F(0, "json", &json, "print one JSON object"),
		OPT_BOOL_F(0, "stat", &stat, "list the files each commit changed in tracked directories"),
		OPT_BOOL_F(0, "follow", &follow, "continue through renames of the artifact"),
		OPT_END_F
	};
	struct mlv_log_opts lo = { 0 };
	struct log_state st = { .ctx = ctx };
	char *path = NULL;
	json_t *out = NULL;

	n = parse_options_dashdash(argc, argv, opts, usage, &dashdash);
	if (n > 2 || (dashdash > 1) || (n == 2 && dashdash == 0))
		usage_with_options(usage, opts);
	if (n == 2 || (n == 1 && arg_is_rev(ctx, argv[0], dashdash))) {
		lo.rev = argv[0];
		argv++;
		n--;
	}
	if (n == 1)
		lo.path = path = path_arg(ctx, argv[0]);
	if (follow && (!path || !*path))
		usage_error(usage, opts, "--follow needs one artifact's path");
	lo.follow = follow;
	st.max = max;
	st.stat = stat;
	if (json) {
		out = json_object();
		st.entries = json_array();
		st.stops = out;
		json_object_set_new(out, "rev", json_text(lo.rev ? lo.rev : "HEAD"));
		json_object_set_new(out, "path", path && *path ? json_text(path) : json_null());
	}
	/*
	 * The walk reads each commit, tree and pointer blob once: libgit2's
	 * object cache would only grow, and re-hashing every object read
	 * (which git itself leaves to fsck) costs a quarter of the walk.
	 */
	git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	ret = mlv_log(ctx->repo, &lo, show_entry, &st);
	if (ret < 0) {
		json_decref(out);
		json_decref(st.entries);
		die_lib();
	}
	if (json) {
		json_object_set_new(out, "entries", st.entries);
		json_emit(out);
	}
	free(path);
	return st.problems ? 1 : 0;
}
