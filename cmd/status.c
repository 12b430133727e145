#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
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

static void print_json(struct mlv_ctx *ctx, const struct mlv_artifact *a, unsigned st,
		       const struct changes *c, int first)
{
	printf("%s{\"path\":", first ? "" : ",");
	json_put_string(a->path);
	printf(",\"pointer\":");
	json_put_string(a->pointer);
	printf(",\"state\":\"%s\"", state_word(st) ? state_word(st) : "clean");
	if (a->error) {
		printf(",\"error\":");
		json_put_string(a->error);
	} else {
		printf(",\"oid\":\"sha256:%s\"", mlv_oid_hex(&a->ptr.oid));
	}
	printf(",\"in_store\":%s,\"committed\":%s,\"changes\":[",
	       st & (MLV_ST_NOT_STORED | MLV_ST_BAD_POINTER) ? "false" : "true",
	       st & MLV_ST_UNCOMMITTED ? "false" : "true");
	for (size_t i = 0; i < c->nr; i++) {
		printf("%s{\"path\":", i ? "," : "");
		json_put_string(c->v[i].path);
		printf(",\"change\":\"%s\"}", change_name(c->v[i].what));
	}
	printf("]}");
}

int cmd_status(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv status [--json] [--exit-code] [--] [<path>...]",
		NULL,
	};
	int json = 0, exit_code = 0, dirty = 0, n;
	const struct option opts[] = {
		OPT_BOOL_F(0, "json", &json, "print the status as JSON"),
		OPT_BOOL_F(0, "exit-code", &exit_code, "exit with 1 when anything differs"),
		OPT_END_F,
	};
	struct mlv_artifact_list list = { 0 };

	n = parse_options(argc, argv, opts, usage);
	find_artifacts(ctx, &list, n, argv);
	if (json)
		printf("{\"artifacts\":[");
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
		word = state_word(st);
		if (json) {
			print_json(ctx, a, st, &c, i == 0);
		} else {
			if (word && a->error)
				printf("%-14s%s\n", "bad pointer:", a->error);
			else if (word)
				printf("%s:%*s%s\n", word, (int)(13 - strlen(word)), "",
				       path_show(ctx, a->path));
			for (size_t k = 0; k < c.nr; k++)
				printf("    %s:%*s%s\n", change_name(c.v[k].what),
				       (int)(11 - strlen(change_name(c.v[k].what))), "",
				       path_show(ctx, c.v[k].path));
			if (st & MLV_ST_NOT_STORED && !(st & MLV_ST_BAD_POINTER))
				printf("not in store: %s\n", path_show(ctx, a->path));
			if (st & MLV_ST_UNCOMMITTED)
				printf("uncommitted:  %s\n", path_show(ctx, a->pointer));
		}
		for (size_t k = 0; k < c.nr; k++)
			free(c.v[k].path);
		free(c.v);
	}
	if (json)
		printf("],\"clean\":%s}\n", dirty ? "false" : "true");
	else if (!dirty)
		printf("nothing to report: %zu tracked path%s match%s the pointers\n", list.nr,
		       list.nr == 1 ? "" : "s", list.nr == 1 ? "es" : "");
	mlv_artifact_list_release(&list);
	return exit_code && dirty ? 1 : 0;
}
