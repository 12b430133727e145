#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "mlv/worktree.h"

struct report {
	json_t *problems; /* with --json; else printed as found */
	uint64_t count;
	uint64_t repaired;
};

static void on_problem(void *ctx, const char *kind, const char *what, const char *detail)
{
	struct report *r = ctx;

	if (strcmp(kind, "repaired"))
		r->count++;
	if (r->problems) {
		json_t *p = json_object();

		json_object_set_new(p, "kind", json_string(kind));
		json_object_set_new(p, "what", json_text(what));
		json_object_set_new(p, "detail", json_text(detail ? detail : ""));
		json_array_append_new(r->problems, p);
	} else {
		printf("%s: %s%s%s\n", kind, what, detail && *detail ? ": " : "", detail ? detail : "");
	}
}

static void emit(struct report *r, struct mlv_store *s, const struct mlv_fsck_stats *stats,
		 uint64_t remaining)
{
	json_t *o = json_object();

	json_object_set_new(o, "problems", r->problems);
	r->problems = NULL;
	json_object_set_new(o, "packs", json_integer((json_int_t)stats->packs));
	json_object_set_new(o, "objects", json_integer((json_int_t)stats->objects));
	json_object_set_new(o, "repaired", json_integer((json_int_t)(stats->repaired + r->repaired)));
	json_object_set_new(o, "remaining", json_integer((json_int_t)remaining));
	if (s)
		json_object_set_new(o, "index", json_text(mlv_store_index_path(s)));
	json_emit(o);
}

int cmd_fsck(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv fsck [--repair] [--json]", NULL };
	int repair = 0, json = 0, ret;
	const struct option opts[] = {
		OPT_BOOL_F(0, "repair", &repair, "fix what can be fixed: rebuild a damaged index, re-index packs, drop dangling rows, salvage damaged packs"),
		OPT_BOOL_F(0, "json", &json, "print one JSON object: the problems and a summary"),
		OPT_END_F,
	};
	struct mlv_fsck_stats stats = { 0 };
	struct report r = { 0 };
	struct mlv_store *s;
	uint64_t remaining;

	if (parse_options(argc, argv, opts, usage))
		usage_with_options(usage, opts);
	if (json)
		r.problems = json_array();
	ret = mlv_repo_store_ext(&s, ctx->repo, repair ? MLV_STORE_REBUILD : 0);
	if (ret == MLV_ECORRUPT) {
		/* A damaged index is a problem fsck finds, and --repair fixes. */
		on_problem(&r, "index", ctx->repo->storedir, mlv_error_last());
		if (json)
			emit(&r, NULL, &stats, r.count);
		hint("run 'mlv fsck --repair' to rebuild the index from the packs");
		return 1;
	}
	if (ret < 0) {
		json_decref(r.problems);
		die_lib();
	}
	if (mlv_store_index_rebuilding(s)) {
		const char *aside = mlv_store_index_moved_aside(s);
		char *detail = aside ? mlv_xstrfmt("damaged: moved aside to '%s'", aside) :
				       mlv_xstrfmt("empty while the store holds packs");

		on_problem(&r, "index", mlv_store_index_path(s), detail);
		free(detail);
		on_problem(&r, "repaired", mlv_store_index_path(s), "rebuilt from the packs");
		r.repaired++;
	}
	ret = mlv_store_fsck(s, repair, on_problem, &r, &stats);
	if (ret < 0) {
		json_decref(r.problems);
		die_lib();
	}
	if (mlv_worktree_verify(ctx->repo, on_problem, &r) < 0)
		die_lib();
	/* The store's own count of what remains, plus the pointers' problems. */
	remaining = r.count > stats.repaired + r.repaired ? r.count - stats.repaired - r.repaired : 0;
	if (json)
		emit(&r, s, &stats, remaining);
	else if (!remaining)
		fprintf(stderr, "checked %llu pack%s, %llu objects: ok%s\n",
			(unsigned long long)stats.packs, stats.packs == 1 ? "" : "s",
			(unsigned long long)stats.objects,
			stats.repaired || r.repaired ? " (after repair)" : "");
	return remaining ? 1 : 0;
}
