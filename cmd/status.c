#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "mlv/history.h"
#include "mlv/worktree.h"

struct change {
	char *path;
	int what;
};

struct changes {
	struct change *v;
	size_t nr, alloc;
};

static void on_change(void *ctx, const char *artifact, const char *file, int what)
{
	struct changes *c = ctx;

	MLV_ALLOC_GROW(c->v, c->nr + 1, c->alloc);
	c->v[c->nr].path = mlv_strdup(file);
	c->v[c->nr++].what = what;
}

static void on_warn(void *ctx, const char *msg)
{
	/* Status reports differences, not skipped special files. */
}

static const char *change_name(int what)
{
	switch (what) {
	case 'A': return "added";
	case 'D': return "deleted";
	case 'M': return "modified";
	default: return "typechange";
	}
}

static const char *state_word(unsigned st)
{
	if (st & MLV_ST_CONFLICT)
		return "conflicted";
	if (st & MLV_ST_BAD_POINTER)
		return "bad pointer";
	if (st & MLV_ST_MISSING)
		return "deleted";
	if (st & MLV_ST_TYPE)
		return "typechange";
	if (st & MLV_ST_MODIFIED)
		return "modified";
	return NULL;
}

static json_t *artifact_json(const struct mlv_artifact *a, unsigned st, const struct changes *c,
			     const char *older)
{
	json_t *o = json_object(), *changes = json_array();

	json_object_set_new(o, "path", json_text(a->path));
	json_object_set_new(o, "pointer", json_text(a->pointer));
	if (a->within)
		json_object_set_new(o, "within", json_text(a->within));
	json_object_set_new(o, "state", json_string(state_word(st) ? state_word(st) : "clean"));
	if (a->error)
		json_object_set_new(o, "error", json_text(a->error));
	else
		json_object_set_new(o, "oid", json_sprintf("sha256:%s", mlv_oid_hex(&a->ptr.oid)));
	json_object_set_new(o, "in_store",
			    json_boolean(!(st & (MLV_ST_NOT_STORED | MLV_ST_BAD_POINTER))));
	json_object_set_new(o, "committed", json_boolean(!(st & MLV_ST_UNCOMMITTED)));
	json_object_set_new(o, "older_version", older ? json_text(older) : json_null());
	for (size_t i = 0; i < c->nr; i++) {
		json_t *ch = json_object();

		json_object_set_new(ch, "path", json_text(c->v[i].path));
		json_object_set_new(ch, "change", json_string(change_name(c->v[i].what)));
		json_array_append_new(changes, ch);
	}
	json_object_set_new(o, "changes", changes);
	return o;
}

/*
 * The artifacts the command-line paths name (all when there are none).
 * A path that names no tracked path, nor any inside it, is an error: a
 * status that checked nothing must not look like a clean one.
 */
static void find(struct mlv_ctx *ctx, struct mlv_artifact_list *out, int n, const char **argv)
{
	if (!n) {
		find_artifacts(ctx, out, 0, argv);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct mlv_artifact_list one = { 0 };

		find_artifacts(ctx, &one, 1, argv + i);
		if (!one.nr)
			die("'%s' is not tracked by mlv and holds no tracked path", argv[i]);
		for (size_t k = 0; k < one.nr; k++) {
			MLV_ALLOC_GROW(out->items, out->nr + 1, out->alloc);
			out->items[out->nr++] = one.items[k];
		}
		free(one.items);
	}
}

int cmd_status(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv status [--json] [--exit-code] [--] [<path>...]",
		NULL,
	};
	int json = 0, exit_code = 0, dirty = 0, conflicts = 0, forgotten = 0, n;
	char *older;
	const struct option opts[] = {
		OPT_BOOL_F(0, "json", &json, "print the status as JSON"),
		OPT_BOOL_F(0, "exit-code", &exit_code, "exit with 1 when anything differs"),
		OPT_END_F,
	};
	struct mlv_artifact_list list = { 0 };
	json_t *arts = NULL;

	n = parse_options(argc, argv, opts, usage);
	find(ctx, &list, n, argv);
	if (json)
		arts = json_array();
	for (size_t i = 0; i < list.nr; i++) {
		const struct mlv_artifact *a = &list.items[i];
		struct changes c = { 0 };
		struct mlv_wt_callbacks cb = { on_warn, NULL, on_change, &c };
		unsigned st;
		const char *word;

		if (mlv_status_artifact(ctx->repo, a, &cb, &st) < 0)
			die_lib();
		if (st)
			dirty = 1;
		if (st & MLV_ST_CONFLICT)
			conflicts++;
		word = state_word(st);
		older = NULL;
		if ((st & MLV_ST_MODIFIED) && !(st & (MLV_ST_TYPE | MLV_ST_MISSING)) &&
		    (older = forgotten_checkout(ctx, a)))
			forgotten++;
		if (json) {
			json_array_append_new(arts, artifact_json(a, st, &c, older));
		} else {
			if (st & MLV_ST_CONFLICT)
				printf("%-14s%s\n", "conflicted:", path_show(ctx, a->pointer));
			else if (word && a->error)
				printf("%-14s%s\n", "bad pointer:", a->error);
			else if (word && older)
				printf("%s:%*s%s (the version of %s)\n", word, (int)(13 - strlen(word)),
				       "", path_show(ctx, a->path), older);
			else if (word)
				printf("%s:%*s%s\n", word, (int)(13 - strlen(word)), "",
				       path_show(ctx, a->path));
			for (size_t k = 0; k < c.nr; k++)
				printf("    %s:%*s%s\n", change_name(c.v[k].what),
				       (int)(11 - strlen(change_name(c.v[k].what))), "",
				       path_show(ctx, c.v[k].path));
			if (st & MLV_ST_NOT_STORED && !(st & MLV_ST_BAD_POINTER))
				printf("not in store: %s\n", path_show(ctx, a->path));
			if (st & MLV_ST_UNCOMMITTED && !(st & MLV_ST_CONFLICT))
				printf("uncommitted:  %s\n", path_show(ctx, a->pointer));
		}
		for (size_t k = 0; k < c.nr; k++)
			free(c.v[k].path);
		free(c.v);
		free(older);
	}
	if (json) {
		json_t *obj = json_object();

		json_object_set_new(obj, "artifacts", arts);
		json_object_set_new(obj, "clean", json_boolean(!dirty));
		json_emit(obj);
	} else if (!dirty) {
		printf("nothing to report: %zu tracked path%s match%s the pointers\n", list.nr,
		       list.nr == 1 ? "" : "s", list.nr == 1 ? "es" : "");
	}
	if (forgotten)
		hint("the data of %d artifact%s is what %s pointer named at another commit (was "
		     "'mlv checkout' forgotten after 'git checkout'?); run 'mlv checkout' to get "
		     "what the pointers name, not 'mlv add'", forgotten, forgotten == 1 ? "" : "s",
		     forgotten == 1 ? "its" : "their");
	if (conflicts)
		hint("resolve the conflict%s in git (e.g. 'git checkout --ours|--theirs -- "
		     "<file>.mlv', then 'git add'), then run 'mlv checkout'",
		     conflicts == 1 ? "" : "s");
	mlv_artifact_list_release(&list);
	return exit_code && dirty ? 1 : 0;
}
