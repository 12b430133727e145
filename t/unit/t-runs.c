/*
 * Stored runs: run ids, the record check, where expressions, and the
 * cache's answers for lineage (runs by output and input id) and after
 * mlv_runs_note().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/repo.h"
#include "mlv/runs.h"
#include "tap.h"

#define OUT_OID "3333333333333333333333333333333333333333333333333333333333333333"
#define IN_OID "1111111111111111111111111111111111111111111111111111111111111111"

static const char good[] =
	"{\"format\": 1, \"id\": \"20261126-060512-3f9a1c0d\", \"name\": \"base\","
	" \"argv\": [\"python3\", \"t.py\"], \"start\": \"2026-11-26T06:05:12.000000Z\","
	" \"status\": {\"state\": \"ok\", \"exit\": 0, \"signal\": null, \"code\": 0},"
	" \"params\": {\"lr\": 0.01, \"opt\": \"adam\", \"on\": true, \"none\": null},"
	" \"metrics\": {\"final\": {\"acc\": 0.9}},"
	" \"inputs\": [{\"path\": \"data\", \"oid\": \"sha256:" IN_OID "\"}],"
	" \"outputs\": [{\"path\": \"model.bin\", \"oid\": \"sha256:" OUT_OID "\"}],"
	" \"seed\": 7, \"duration\": 1.5, \"git\": {\"commit\": null, \"branch\": \"main\"},"
	" \"env\": {\"hash\": \"ab\"}}";

static json_t *parse(const char *s)
{
	return json_loads(s, 0, NULL);
}

/* `good` with one change made by jq-like surgery: set `key` (top level) to JSON `value`. */
static int check_with(const char *key, const char *value)
{
	json_t *j = parse(good), *v = value ? json_loads(value, JSON_DECODE_ANY, NULL) : NULL;
	int ret;

	if (v)
		json_object_set_new(j, key, v);
	else
		json_object_del(j, key);
	ret = mlv_run_record_check(j, "20261126-060512-3f9a1c0d");
	json_decref(j);
	return ret;
}

static void test_ids(void)
{
	ok(mlv_run_id_valid("20261126-060512-3f9a1c0d"), "a run id");
	ok(!mlv_run_id_valid("20261126-060512-3f9a1c0"), "one digit short");
	ok(!mlv_run_id_valid("20261126-060512-3f9a1c0d0"), "one too long");
	ok(!mlv_run_id_valid("20261126-060512-3F9A1C0D"), "upper case hex");
	ok(!mlv_run_id_valid("2026112a-060512-3f9a1c0d"), "a letter in the date");
	ok(!mlv_run_id_valid("20261126_060512-3f9a1c0d"), "another separator");
	ok(!mlv_run_id_valid("../../../../etc/passwd00"), "a path");
	ok(!mlv_run_id_valid(""), "empty");
}

static void test_record_check(void)
{
	json_t *j = parse(good);

	is_int(mlv_run_record_check(j, NULL), 0, "a good record: %s", mlv_error_last());
	is_int(mlv_run_record_check(j, "20261126-060512-3f9a1c0e"), MLV_EINVALID, "another id");
	json_decref(j);
	j = parse("[1]");
	is_int(mlv_run_record_check(j, NULL), MLV_EINVALID, "an array");
	json_decref(j);
	is_int(check_with("format", "2"), MLV_EUNSUPPORTED, "format 2");
	is_int(check_with("format", NULL), MLV_EINVALID, "no format");
	is_int(check_with("id", NULL), MLV_EINVALID, "no id");
	is_int(check_with("start", NULL), MLV_EINVALID, "no start");
	is_int(check_with("status", "{}"), MLV_EINVALID, "no state");
	is_int(check_with("status", "{\"state\": \"ok\", \"exit\": \"0\"}"), MLV_EINVALID,
	       "a string exit");
	is_int(check_with("name", "3"), MLV_EINVALID, "a number for a name");
	is_int(check_with("name", "null"), 0, "a null name");
	is_int(check_with("argv", "[\"a\", 1]"), MLV_EINVALID, "a number in argv");
	is_int(check_with("params", "{\"a\": [1]}"), MLV_EINVALID, "an array param");
	is_int(check_with("params", "{\"\": 1}"), MLV_EINVALID, "an empty param name");
	is_int(check_with("metrics", "{\"final\": {\"a\": {}}}"), MLV_EINVALID, "a nested metric");
	is_int(check_with("metrics", "[]"), MLV_EINVALID, "metrics an array");
	is_int(check_with("inputs", "[{\"path\": \"x\"}]"), MLV_EINVALID, "an input without oid");
	is_int(check_with("outputs", "[{\"path\": \"\", \"oid\": \"sha256:" OUT_OID "\"}]"),
	       MLV_EINVALID, "an output without a path");
	is_int(check_with("outputs", "[{\"path\": \"m\", \"oid\": \"" OUT_OID "\"}]"),
	       MLV_EINVALID, "an oid without sha256:");
	is_int(check_with("seed", "1.5"), MLV_EINVALID, "a real seed");
	is_int(check_with("duration", "\"1s\""), MLV_EINVALID, "a string duration");
	is_int(check_with("git", "{\"commit\": 5}"), MLV_EINVALID, "a number commit");
	is_int(check_with("env", "{\"hash\": 5}"), MLV_EINVALID, "a number env hash");
	is_int(check_with("host", "[]"), MLV_EINVALID, "an array host");
}

static void test_where(void)
{
	static const char *const good_exprs[] = {
		"params.lr>=0.01", "params.lr >= 0.01", "metrics.acc<1", "name=base",
		"name = 'a b'", "status=failed", "exit!=0", "command~train", "branch~feat*",
		"seed==7", "params.model.depth>2", "duration<=10", "env=abc",
	};
	static const char *const bad_exprs[] = {
		"params.lr", "=1", "bogus=1", "params.=1", "metrics.>1", "lr>=0.01", "name",
	};

	for (size_t i = 0; i < sizeof(good_exprs) / sizeof(*good_exprs); i++)
		is_int(mlv_runs_where_check(good_exprs[i]), 0, "where '%s': %s", good_exprs[i],
		       mlv_error_last());
	for (size_t i = 0; i < sizeof(bad_exprs) / sizeof(*bad_exprs); i++)
		is_int(mlv_runs_where_check(bad_exprs[i]), MLV_EINVALID, "where '%s' is refused",
		       bad_exprs[i]);
}

struct found {
	char ids[8][MLV_RUN_ID_SIZE];
	char paths[8][64];
	int n;
};

static int collect(void *ctx, const char *id, const char *path)
{
	struct found *f = ctx;

	if (f->n < 8) {
		snprintf(f->ids[f->n], sizeof(f->ids[0]), "%s", id);
		snprintf(f->paths[f->n], sizeof(f->paths[0]), "%s", path);
	}
	f->n++;
	return 0;
}

static int stop(void *ctx, const char *id, const char *path)
{
	return 42;
}

static int sh(const char *cmd)
{
	return system(cmd);
}

static void test_repo(void)
{
	const char *dir = tap_tmpdir();
	struct mlv_buf cmd = MLV_BUF_INIT, path = MLV_BUF_INIT;
	struct mlv_runs_query q = { 0 };
	struct mlv_run_list l;
	struct mlv_repo *r = NULL;
	struct mlv_oid out, in, none;
	struct found f = { 0 };
	char id[MLV_RUN_ID_SIZE];
	json_t *run = NULL;
	FILE *fp;

	mlv_buf_addf(&path, "%s/run.json", dir);
	fp = fopen(path.ptr, "w");
	fputs(good, fp);
	fclose(fp);
	/* a run by git plumbing, as mlv run stores one */
	mlv_buf_addf(&cmd,
		     "cd '%s' && git init -q repo && cd repo &&"
		     " b=$(git hash-object -w ../run.json) &&"
		     " t=$(printf '100644 blob %%s\\trun.json\\n' $b | git mktree) &&"
		     " c=$(git -c user.name=a -c user.email=a@b commit-tree -m run $t) &&"
		     " git update-ref refs/mlv/runs/20261126-060512-3f9a1c0d $c && mkdir -p .git/mlv",
		     dir);
	if (sh(cmd.ptr)) {
		tap_skip("git cannot make a repository here");
		goto done;
	}
	mlv_buf_reset(&path);
	mlv_buf_addf(&path, "%s/repo", dir);
	is_int(mlv_repo_open(&r, path.ptr), 0, "open the repository: %s", mlv_error_last());
	if (!r)
		goto done;
	mlv_oid_fromhex(&out, OUT_OID, 64);
	mlv_oid_fromhex(&in, IN_OID, 64);
	memset(&none, 0, sizeof(none));

	is_int(mlv_runs_by_output(r, &out, collect, &f), 0, "by output: %s", mlv_error_last());
	is_int(f.n, 1, "one run produced it");
	is_str(f.ids[0], "20261126-060512-3f9a1c0d", "the run");
	is_str(f.paths[0], "model.bin", "the path");
	f.n = 0;
	is_int(mlv_runs_by_input(r, &out, collect, &f), 0, "by input");
	is_int(f.n, 0, "no run read the output");
	is_int(mlv_runs_by_input(r, &in, collect, &f), 0, "by input");
	is_int(f.n, 1, "one run read the input");
	is_str(f.paths[0], "data", "its path");
	f.n = 0;
	is_int(mlv_runs_by_output(r, &none, collect, &f), 0, "an id nothing made");
	is_int(f.n, 0, "no run");
	is_int(mlv_runs_by_output(r, &out, stop, NULL), 42, "the callback stops the walk");

	is_int(mlv_runs_resolve(r, "3f9a", id, &run), 0, "resolve a hex prefix");
	is_str(id, "20261126-060512-3f9a1c0d", "the id");
	ok(json_is_object(run) && json_integer_value(json_object_get(run, "seed")) == 7,
	   "the record");
	json_decref(run);
	run = NULL;

	/* a run the cache is told about comes out of a query at once */
	run = parse(good);
	json_object_set_new(run, "id", json_string("20261127-000000-00000001"));
	json_object_set_new(run, "name", json_string("noted"));
	is_int(mlv_runs_note(r, "20261127-000000-00000001",
			     "0123456789012345678901234567890123456789", run),
	       0, "note a run");
	json_decref(run);
	run = NULL;
	{
		const char *w[] = { "name=noted" };

		q.where = w;
		q.nwhere = 1;
		is_int(mlv_runs_query(r, &q, &l), 0, "query: %s", mlv_error_last());
	}
	/* the ref does not exist: the next comparison with the refs drops it */
	ok(l.nr <= 1, "at most the noted run");
	mlv_run_list_release(&l);

	q.where = NULL;
	q.nwhere = 0;
	q.sort = "-bogus";
	is_int(mlv_runs_query(r, &q, &l), MLV_EINVALID, "a bad sort key");
	q.sort = "-params.lr";
	q.records = 1;
	is_int(mlv_runs_query(r, &q, &l), 0, "sort by a param");
	ok(l.nr >= 1 && l.rows[0].record && l.rows[0].params, "rows with their record");
	mlv_run_list_release(&l);
done:
	mlv_repo_free(r);
	mlv_buf_release(&cmd);
	mlv_buf_release(&path);
}

int main(void)
{
	test_ids();
	test_record_check();
	test_where();
	test_repo();
	return tap_done();
}
