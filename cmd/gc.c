/*
 * mlv gc [--dry-run] [--json]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "mlv/gc.h"

struct gc_ui {
	int dry_run, json;
	uint64_t warnings;
};

static void on_warn(void *ctx, const char *msg)
{
	struct gc_ui *ui = ctx;

	ui->warnings++;
	warning("%s", msg);
}

static void on_waiting(void *ctx, const char *who)
{
	fprintf(stderr, "Waiting for %s to finish using the store...\n", who);
}

static void on_item(void *ctx, enum mlv_gc_item what, const char *name, enum mlv_object_type type,
		    uint64_t bytes)
{
	struct gc_ui *ui = ctx;
	const char *verb = ui->dry_run ? "would remove" : "removing";

	if (ui->json)
		return;
	switch (what) {
	case MLV_GC_OBJECT:
		/* Every object only when asked what would go; the packs say the rest. */
		if (ui->dry_run)
			printf("%s %s %s (%s)\n", verb, mlv_store_name(NULL, type), name, human_size(bytes));
		break;
	case MLV_GC_PACK_REMOVED:
		printf("%s pack %s (%s)\n", verb, name, human_size(bytes));
		break;
	case MLV_GC_PACK_REPACKED:
		printf("%s pack %s (%s, mostly unreachable)\n", ui->dry_run ? "would repack" : "repacking",
		       name, human_size(bytes));
		break;
	case MLV_GC_PACK_WRITTEN:
		printf("wrote pack %s (%s)\n", name, human_size(bytes));
		break;
	}
}

static void emit(const struct gc_ui *ui, const struct mlv_gc_result *res)
{
	const struct mlv_store_gc_stats *s = &res->store;
	json_t *o = json_object();

	json_object_set_new(o, "dry_run", json_boolean(ui->dry_run));
	json_object_set_new(o, "objects_removed", json_integer((json_int_t)s->objects_removed));
	json_object_set_new(o, "packs_removed", json_integer((json_int_t)s->packs_removed));
	json_object_set_new(o, "packs_repacked", json_integer((json_int_t)s->packs_repacked));
	json_object_set_new(o, "packs_written", json_integer((json_int_t)s->packs_written));
	json_object_set_new(o, "bytes_freed", json_integer((json_int_t)s->bytes_freed));
	json_object_set_new(o, "bytes_before", json_integer((json_int_t)s->bytes_before));
	json_object_set_new(o, "bytes_after", json_integer((json_int_t)s->bytes_after));
	json_object_set_new(o, "objects", json_integer((json_int_t)s->objects));
	json_object_set_new(o, "objects_reachable",
			    json_integer((json_int_t)(s->objects_live - s->objects_young)));
	json_object_set_new(o, "objects_young", json_integer((json_int_t)s->objects_young));
	json_object_set_new(o, "objects_left", json_integer((json_int_t)s->objects_left));
	json_object_set_new(o, "packs", json_integer((json_int_t)s->packs));
	json_object_set_new(o, "commits", json_integer((json_int_t)res->reach.commits));
	json_object_set_new(o, "worktrees", json_integer((json_int_t)res->reach.worktrees));
	json_object_set_new(o, "bad_pointers", json_integer((json_int_t)res->reach.bad_pointers));
	json_emit(o);
}

int cmd_gc(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv gc [--dry-run] [--json]", NULL };
	struct gc_ui ui = { 0 };
	const struct option opts[] = {
		OPT_BOOL_F(0, "dry-run", &ui.dry_run, "list what would be removed; change nothing"),
		OPT_BOOL_F(0, "json", &ui.json, "print one JSON object: what was removed and the bytes freed"),
		OPT_END_F,
	};
	struct mlv_gc_opts o;
	struct mlv_gc_result res;
	const struct mlv_store_gc_stats *s = &res.store;

	if (parse_options(argc, argv, opts, usage))
		usage_with_options(usage, opts);
	memset(&o, 0, sizeof(o));
	o.dry_run = ui.dry_run;
	o.warn = on_warn;
	o.waiting = on_waiting;
	o.item = on_item;
	o.ctx = &ui;
	if (mlv_gc_expiry(ctx->repo, mlv_now_ns(), &o.expire_ns) < 0)
		die_lib();
	if (mlv_gc(ctx->repo, &o, &res) < 0)
		die_lib();
	if (ui.json) {
		emit(&ui, &res);
		return 0;
	}
	printf("%s %llu object%s, %llu pack%s removed, %llu repacked, %s %s\n",
	       ui.dry_run ? "would remove" : "removed", (unsigned long long)s->objects_removed,
	       s->objects_removed == 1 ? "" : "s", (unsigned long long)s->packs_removed,
	       s->packs_removed == 1 ? "" : "s", (unsigned long long)s->packs_repacked,
	       human_size(s->bytes_freed), ui.dry_run ? "would be freed" : "freed");
	if (s->objects_left)
		printf("%llu unreachable object%s left in packs that are mostly reachable\n",
		       (unsigned long long)s->objects_left, s->objects_left == 1 ? "" : "s");
	return 0;
}
