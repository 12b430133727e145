/*
 * The environment manifest (lib/run/envinfo.c): the credential-name test,
 * the allow-list, the hash and what it leaves out, the diff, parsing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/envinfo.h"
#include "mlv/error.h"
#include "mlv/gpu.h"
#include "tap.h"

static void test_secret_names(void)
{
	static const char *const secret[] = {
		"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "GITHUB_TOKEN", "HFTOKEN", "TORCH_SOMETHING_TOKEN",
		"AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "API_KEY", "APIKEY",
		"OPENAI_API_KEY", "WANDB_API_KEY", "MY_PASSWORD", "PGPASSWORD", "DB_PASSWD",
		"GPG_PASSPHRASE", "GOOGLE_APPLICATION_CREDENTIALS", "SESSION_COOKIE", "PRIVATE_KEY_PATH",
		"SSH_AUTH_SOCK", "AUTHORIZATION", "OAUTH", "BASIC_AUTH", "NPM_CREDS", "GITLAB_PAT",
		"SENTRY_DSN", "hf_token", "Some.Secret.Value", "KEY", "SIGNATURE", "PW_SALT",
		"KAGGLE_KEY", "MY-API-KEYS", "HF_TOKENS", "HF_HUB_TOKEN2", "HF_PWD", "DB_PW",
		"API_KEY_V2", NULL,
	};
	static const char *const plain[] = {
		"TOKENIZERS_PARALLELISM", "CUDA_VISIBLE_DEVICES", "KEYBOARD_LAYOUT", "OMP_NUM_THREADS",
		"HF_HOME", "PATH", "PWD", "PYTHONHASHSEED", "TORCH_HOME", "MONKEYPATCH", "PASS_THROUGH",
		"LD_LIBRARY_PATH", "XLA_FLAGS", "", NULL,
	};

	for (const char *const *p = secret; *p; p++)
		ok(mlv_env_name_is_secret(*p), "'%s' looks like a credential", *p);
	for (const char *const *p = plain; *p; p++)
		ok(!mlv_env_name_is_secret(*p), "'%s' does not", *p);
	ok(mlv_env_value_is_secret("https://user:pw@host/x"), "a URL with a password");
	ok(mlv_env_value_is_secret("a s3://k:s@bucket b"), "inside a value");
	ok(mlv_env_value_is_secret("https://ghp_token@github.com/x"), "a URL with a token as its user");
	ok(!mlv_env_value_is_secret("https://host:8080/x"), "a port");
	ok(!mlv_env_value_is_secret("https://host/a:b@c"), "':' and '@' in the path");
	ok(!mlv_env_value_is_secret("plain"), "no URL");
}

static void test_allowed(void)
{
	static const char *const yes[] = {
		"CUDA_VISIBLE_DEVICES", "CUBLAS_WORKSPACE_CONFIG", "NCCL_ALGO", "OMP_NUM_THREADS",
		"MKL_NUM_THREADS", "PYTHONHASHSEED", "PYTHONPATH", "TF_DETERMINISTIC_OPS",
		"TORCH_HOME", "XLA_FLAGS", "HF_HOME", "LD_LIBRARY_PATH", "MLV_SEED", "LANG",
		"NVIDIA_TF32_OVERRIDE", "NVIDIA_VISIBLE_DEVICES", NULL,
	};
	static const char *const no[] = {
		"PATH", "HOME", "USER", "TF_VAR_password", "TF_CLI_ARGS", "MLV_METRICS", "MLV_RUN_ID",
		"CUDA_", "SHELL", "HOSTNAME", "NVIDIA_REQUIRE_CUDA", NULL,
	};

	for (const char *const *p = yes; *p; p++)
		ok(mlv_env_var_allowed(*p), "'%s' is recorded", *p);
	for (const char *const *p = no; *p; p++)
		ok(!mlv_env_var_allowed(*p), "'%s' is not", *p);
	ok(mlv_env_is_seed_var("MLV_SEED") && mlv_env_is_seed_var("PYTHONHASHSEED") &&
	   mlv_env_is_seed_var("PL_GLOBAL_SEED") && !mlv_env_is_seed_var("SEED"), "seed variables");
}

static json_t *sample(void)
{
	json_error_t e;

	return json_loads("{\"format\": 1, \"hash\": null, \"host\": \"a\","
			  " \"gpus\": {\"count\": 1, \"models\": [\"X\"], \"uuids\": [\"GPU-1\"],"
			  " \"pci_bus_ids\": [\"0:1\"], \"source\": \"nvml\", \"why\": null},"
			  " \"python\": {\"executable\": \"/a/python3\", \"prefix\": \"/a\","
			  " \"base_prefix\": \"/a\", \"via\": \"direct\", \"version\": \"3.12.1\","
			  " \"packages\": {\"numpy\": \"2.0\"}},"
			  " \"vars\": {\"CUDA_VISIBLE_DEVICES\": \"GPU-1\", \"OMP_NUM_THREADS\": \"4\"},"
			  " \"seed_vars\": {\"MLV_SEED\": \"1\"}, \"lockfiles\": {}}", 0, &e);
}

static void test_hash(void)
{
	json_t *a = sample(), *b = sample(), *d;
	char ha[65], hb[65];

	ok(a && b, "sample manifests parse");
	ok(!mlv_env_hash(ha, a) && strlen(ha) == 64, "a hash of 64 hex digits");
	json_object_set_new(b, "host", json_string("b"));
	json_object_set_new(b, "hash", json_string("whatever"));
	json_object_set_new(json_object_get(b, "seed_vars"), "MLV_SEED", json_string("2"));
	json_object_set_new(json_object_get(b, "gpus"), "uuids", json_string("GPU-2"));
	json_object_set_new(json_object_get(b, "gpus"), "source", json_string("MLV_GPU_INVENTORY"));
	json_object_set_new(json_object_get(b, "python"), "executable", json_string("/b/python3"));
	json_object_set_new(json_object_get(b, "python"), "via", json_string("venv"));
	json_object_set_new(json_object_get(b, "vars"), "CUDA_VISIBLE_DEVICES", json_string("GPU-2"));
	ok(!mlv_env_hash(hb, b), "hash of the volatile variant");
	is_str(hb, ha, "volatile members and GPU UUIDs do not change the hash");
	ok(!mlv_env_diff(&d, a, b, 0), "diff");
	is_int((long long)json_array_size(d), 0, "no difference outside the volatile members");
	json_decref(d);
	ok(!mlv_env_diff(&d, a, b, MLV_ENV_DIFF_VOLATILE), "diff with the volatile members");
	is_int((long long)json_array_size(d), 7, "seven volatile differences");
	is_str(json_string_value(json_object_get(json_array_get(d, 0), "component")), "gpus.source",
	       "sorted by component");
	ok(json_is_true(json_object_get(json_array_get(d, 0), "volatile")), "marked volatile");
	for (size_t i = 0; i < json_array_size(d); i++)
		if (!strcmp(json_string_value(json_object_get(json_array_get(d, i), "component")),
			    "vars.CUDA_VISIBLE_DEVICES"))
			is_str(json_string_value(json_object_get(json_array_get(d, i), "b")), "GPU-2",
			       "the device variable is shown as it is");
	json_decref(d);

	json_object_set_new(json_object_get(b, "vars"), "CUDA_VISIBLE_DEVICES", json_string("GPU-2,GPU-3"));
	ok(!mlv_env_hash(hb, b) && strcmp(ha, hb), "two devices instead of one change the hash");
	json_object_set_new(json_object_get(b, "vars"), "CUDA_VISIBLE_DEVICES", json_string("GPU-2"));
	json_object_set_new(json_object_get(json_object_get(b, "python"), "packages"), "numpy",
			    json_string("2.1"));
	json_object_set_new(json_object_get(b, "gpus"), "models", json_pack("[s]", "Y"));
	ok(!mlv_env_hash(hb, b) && strcmp(ha, hb), "a package version changes the hash");
	ok(!mlv_env_diff(&d, a, b, 0), "diff");
	is_int((long long)json_array_size(d), 2, "two differences");
	is_str(json_string_value(json_object_get(json_array_get(d, 0), "component")), "gpus.models",
	       "arrays are compared whole");
	is_str(json_string_value(json_object_get(json_array_get(d, 1), "component")),
	       "python.packages.numpy", "a package by name");
	is_str(json_string_value(json_object_get(json_array_get(d, 1), "a")), "2.0", "old value");
	is_str(json_string_value(json_object_get(json_array_get(d, 1), "b")), "2.1", "new value");
	json_decref(d);

	json_object_set_new(b, "python", json_null());
	ok(!mlv_env_diff(&d, a, b, 0) && json_array_size(d) == 2 &&
	   !strcmp(json_string_value(json_object_get(json_array_get(d, 1), "component")), "python"),
	   "a member that is null on one side is one component");
	json_decref(d);
	ok(mlv_env_hash(ha, json_null()) == MLV_EINVALID, "not an object");
	json_decref(a);
	json_decref(b);
}

static void test_parse(void)
{
	json_t *m;

	ok(!mlv_env_parse(&m, "{\"format\": 1}", 13, "x") && m, "format 1");
	json_decref(m);
	ok(mlv_env_parse(&m, "{\"format\": 2}", 13, "f.json") == MLV_EINVALID && !m, "format 2");
	ok(strstr(mlv_error_last(), "f.json") != NULL, "the error names it: %s", mlv_error_last());
	ok(mlv_env_parse(&m, "[]", 2, "x") == MLV_EINVALID, "not an object");
	ok(mlv_env_parse(&m, "{\"format\": 1, \"format\": 1}", 26, "x") == MLV_EINVALID,
	   "duplicate keys");
	ok(mlv_env_parse(&m, "{", 1, "x") == MLV_EINVALID, "not JSON");
}

static void test_manifest(void)
{
	struct mlv_gpu g[2];
	struct mlv_gpu_inventory inv;
	const char *envp[] = {
		"PATH=/usr/bin:/bin", "CUDA_VISIBLE_DEVICES=GPU-bbbb", "HF_TOKEN=s3cr3t",
		"OMP_NUM_THREADS=2", "OMP_NUM_THREADS=3", "MLV_SEED=7", "PYTHONHASHSEED=7",
		"NOT_LISTED=1", "NAMED=x", NULL,
	};
	const char *extra[] = { "NAMED", "MISSING" };
	const char *argv[] = { "true", NULL };
	struct mlv_env_opts o = MLV_ENV_OPTS_INIT;
	json_t *m, *vars;
	char h[65];

	memset(g, 0, sizeof(g));
	memset(&inv, 0, sizeof(inv));
	snprintf(g[0].uuid, sizeof(g[0].uuid), "GPU-aaaa");
	snprintf(g[0].name, sizeof(g[0].name), "A");
	snprintf(g[1].uuid, sizeof(g[1].uuid), "GPU-bbbb");
	snprintf(g[1].name, sizeof(g[1].name), "B");
	g[1].index = 1;
	g[1].cc_major = 9;
	g[1].memory_total = 1024;
	inv.gpus = g;
	inv.nr = 2;
	inv.cuda_version = 12040;
	snprintf(inv.driver, sizeof(inv.driver), "550.1");
	snprintf(inv.source, sizeof(inv.source), "nvml");
	o.argv = argv;
	o.envp = envp;
	o.extra_vars = extra;
	o.nextra_vars = 2;
	o.gpus = &inv;
	o.cwd = "/";
	if (mlv_env_manifest(&m, &o) < 0) {
		ok(0, "manifest: %s", mlv_error_last());
		return;
	}
	ok(json_is_object(m), "a manifest");
	ok(!mlv_env_hash(h, m) && !strcmp(h, json_string_value(json_object_get(m, "hash"))),
	   "its hash is the hash of its content");
	is_int(json_integer_value(json_object_get(json_object_get(m, "gpus"), "count")), 1,
	       "the one visible GPU");
	is_str(json_string_value(json_array_get(json_object_get(json_object_get(m, "gpus"), "models"), 0)),
	       "B", "by UUID");
	is_str(json_string_value(json_object_get(json_object_get(m, "gpus"), "cuda_version")), "12.4",
	       "CUDA version");
	vars = json_object_get(m, "vars");
	is_str(json_string_value(json_object_get(vars, "HF_TOKEN")), "<redacted>", "redacted");
	is_str(json_string_value(json_object_get(vars, "OMP_NUM_THREADS")), "2", "the first one wins");
	ok(!json_object_get(vars, "NOT_LISTED"), "not listed, not named: left out");
	is_str(json_string_value(json_object_get(vars, "NAMED")), "x", "named");
	ok(json_is_null(json_object_get(vars, "MISSING")), "named but unset: null");
	ok(!json_object_get(vars, "MLV_SEED") && !json_object_get(vars, "PYTHONHASHSEED"),
	   "seed variables apart");
	is_str(json_string_value(json_object_get(json_object_get(m, "seed_vars"), "PYTHONHASHSEED")),
	       "7", "in seed_vars");
	ok(json_is_null(json_object_get(m, "python")), "true is not Python");
	is_int((long long)json_object_size(json_object_get(m, "lockfiles")), 0, "no repository, no lock files");
	json_decref(m);
}

int main(void)
{
	test_secret_names();
	test_allowed();
	test_hash();
	test_parse();
	test_manifest();
	return tap_done();
}
