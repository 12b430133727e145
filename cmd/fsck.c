#include <stdio.h>
#include <stdlib.h>

#include "builtin.h"
#include "mlv/worktree.h"

struct report {
	int json;
	size_t count;
	size_t problems;
};

static void on_problem(void *ctx, const char *kind, const char *what, const char *detail)
{
	struct report *r = ctx;

	r->problems++;
	if (r->json) {
		printf("%s{\"kind\":\"%s\",\"what\":", r->count++ ? "," : "", kind);
		json_put_string(what);
		printf(",\"detail\":");
		json_put_string(detail ? detail : "");
		putchar('}');
	} else {
		printf("%s: %s%s%s\n", kind, what, detail && *detail ? ": " : "", detail ? detail : "");
	}
}

struct walk {
	struct mlv_store *s;
	struct report *r;
};

static void missing(struct report *r, const char *path, const struct mlv_oid *id)
{
	char detail[160];

	snprintf(detail, sizeof(detail), "object %s is not (completely) in the store",
		 mlv_oid_hex(id));
	on_problem(r, "missing", path, detail);
}

static int check_entry(void *ctx, const char *path, const struct mlv_tree_entry *e)
{
	struct walk *w = ctx;
	int ret = mlv_store_has_blob(w->s, &e->oid);

	if (ret == 0)
		missing(w->r, path, &e->oid);
	return ret < 0 ? ret : 0;
}

/* Every pointer must name objects that are here, down to the last file. */
static void check_pointers(struct mlv_ctx *ctx, struct mlv_store *s, struct report *r)
{
	struct mlv_artifact_list list = { 0 };
	struct walk w = { s, r };

	if (mlv_artifacts_find(&list, NULL, 0) < 0)
		die_lib();
	for (size_t i = 0; i < list.nr; i++) {
		const struct mlv_artifact *a = &list.items[i];
		int have;

		if (a->error) {
			on_problem(r, "pointer", a->pointer, a->error);
			continue;
		}
		have = a->ptr.type == MLV_PTYPE_DIR ? mlv_store_has(s, &a->ptr.oid) :
						       mlv_store_has_blob(s, &a->ptr.oid);
		if (have < 0)
			die_lib();
		if (!have)
			missing(r, a->path, &a->ptr.oid);
		else if (a->ptr.type == MLV_PTYPE_DIR &&
			   mlv_tree_walk(s, &a->ptr.oid, a->path, check_entry, &w) < 0) {
			on_problem(r, "corrupt", a->path, mlv_error_last());
		}
	}
	mlv_artifact_list_release(&list);
}

int cmd_fsck(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv fsck [--repair] [--json]", NULL };
	int repair = 0, json = 0, remaining;
	const struct option opts[] = {
		OPT_BOOL_F(0, "repair", &repair, "fix what can be fixed: re-index packs, drop dangling rows, salvage damaged packs"),
		OPT_BOOL_F(0, "json", &json, "print the problems as JSON"),
		OPT_END_F,
	};
	struct mlv_fsck_stats stats = { 0 };
	struct report r = { 0 };
	struct mlv_store *s;
	size_t before;

	if (parse_options(argc, argv, opts, usage))
		usage_with_options(usage, opts);
	r.json = json;
	if (mlv_repo_store(&s, ctx->repo) < 0)
		die_lib();
	if (json)
		printf("{\"problems\":[");
	remaining = mlv_store_fsck(s, repair, on_problem, &r, &stats);
	if (remaining < 0) {
		if (json)
			puts("]}");
		die_lib();
	}
	before = r.problems;
	check_pointers(ctx, s, &r);
	remaining += (int)(r.problems - before);
	if (json)
		printf("],\"packs\":%llu,\"objects\":%llu,\"repaired\":%llu,\"remaining\":%d}\n",
		       (unsigned long long)stats.packs, (unsigned long long)stats.objects,
		       (unsigned long long)stats.repaired, remaining);
	else if (!remaining)
		fprintf(stderr, "checked %llu pack%s, %llu objects: ok%s\n",
			(unsigned long long)stats.packs, stats.packs == 1 ? "" : "s",
			(unsigned long long)stats.objects, stats.repaired ? " (after repair)" : "");
	return remaining ? 1 : 0;
}
