#ifndef MLV_ENVINFO_H
#define MLV_ENVINFO_H

/* mlv-layer: run */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <jansson.h>

struct mlv_repo;
struct mlv_gpu_inventory;

/*
 * The environment manifest of a run (env.json, mlv-env(1), mlv-formats(5)):
 * what, besides the code, the data and the seed, can change a result.
 *
 * Format 1 is one JSON object:
 *
 *   "format"     1
 *   "hash"       SHA-256 hex of the hashed part (below)
 *   "host"       host name                                    (volatile)
 *   "os"         {"id", "version_id", "pretty_name"} from /etc/os-release (null when absent)
 *   "kernel"     {"name", "release", "machine"} (uname)
 *   "libc"       {"name": "glibc", "version"}, or null
 *   "cpu"        {"model", "count" (online logical CPUs), "usable" (affinity)}
 *   "gpus"       {"count", "models" [], "compute_capabilities" ["9.0"...], "memory" [bytes...],
 *                 "driver" (or null), "cuda_version" ("13.0" or null),
 *                 "uuids" [], "pci_bus_ids" [], "source", "why"}  (the last four volatile)
 *                the devices the command can see: the inventory filtered by the
 *                CUDA_VISIBLE_DEVICES of `envp` (indices or UUIDs)
 *   "python"     null when the command is not a Python interpreter, else
 *                {"executable", "prefix", "base_prefix" (volatile: paths),
 *                 "via" ("direct", "venv", "pyenv", "env", "shebang"; volatile),
 *                 "implementation", "version", "packages": {normalized name: version}};
 *                when the interpreter cannot be asked, "error" (volatile) and nulls
 *   "lockfiles"  {repo-relative path: "sha256:<hex>"} of lock and requirement files at the
 *                top of the work tree and in the command's directory ({} outside a repo)
 *   "vars"       {name: value} of the allow-listed variables of `envp` and the extra names;
 *                a value whose name looks like a credential (mlv_env_name_is_secret()) or
 *                that holds a URL with a password is "<redacted>"
 *   "seed_vars"  {name: value} of the seed variables (mlv_env_is_seed_var()) whose value is
 *                MLV_SEED's: the seed is recorded in run.json, so they are volatile here
 *
 * The hash covers everything but the volatile members: "hash", "host",
 * "seed_vars", gpus.uuids, gpus.pci_bus_ids, gpus.source, gpus.why,
 * python.executable, python.prefix, python.base_prefix, python.via,
 * python.error; and in
 * vars.CUDA_VISIBLE_DEVICES and vars.NVIDIA_VISIBLE_DEVICES each element
 * that is a GPU or MIG UUID counts as "GPU-*" / "MIG-*" (which device a
 * lease gave is volatile, how many is not).  The hashed part is printed as
 * Jansson's JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17) and
 * hashed with SHA-256.
 */

#define MLV_ENV_FORMAT 1
#define MLV_ENV_HASH_HEXSZ 64
/* Largest env.json accepted from a file or a stored run. */
#define MLV_ENV_JSON_MAX (64u * 1024 * 1024)

struct mlv_env_opts {
	/*
	 * The command (NULL-terminated; NULL or empty: no command, no
	 * python part).  argv[0] is searched in `envp`'s PATH as execvp does,
	 * or taken relative to `cwd` when it holds a '/'.
	 */
	const char *const *argv;
	/* The environment the command gets (NULL-terminated); NULL: this process's environ. */
	const char *const *envp;
	/* The work tree (lock files, the cache in $GIT_COMMON_DIR/mlv/cache); NULL outside one. */
	struct mlv_repo *repo;
	/*
	 * The command's directory relative to the work tree top ("" = top;
	 * NULL = r->prefix); with no repo, an absolute path or NULL (the
	 * current directory).
	 */
	const char *cwd;
	/* Extra variable names to record (--env-var NAME); credentials stay redacted. */
	const char *const *extra_vars;
	size_t nextra_vars;
	/* The GPU inventory when the caller has it already (nullable: read it here). */
	const struct mlv_gpu_inventory *gpus;
	unsigned flags;
};

#define MLV_ENV_OPTS_INIT { 0 }

#define MLV_ENV_NO_CACHE 1u /* neither read nor write the Python cache (it is still correct) */

/*
 * Build the manifest for `o` into `*out` (a new object, "hash" filled).
 * Nothing from the system is trusted: files are read with bounds, a
 * broken or hostile cache is ignored and rewritten (atomically), a Python
 * interpreter that cannot be asked is recorded with "error" instead of
 * packages.  Fails only for a malformed MLV_GPU_INVENTORY, or when memory
 * or the repository fails.
 */
int mlv_env_manifest(json_t **out, const struct mlv_env_opts *o);

/*
 * The hash of `manifest` (any format-1 object: the "hash" member is left
 * out, as are the volatile members) into `out` (64 hex digits and a NUL).
 */
int mlv_env_hash(char out[MLV_ENV_HASH_HEXSZ + 1], const json_t *manifest);

/*
 * The differences between manifests `a` and `b`: a new array in `*out`
 * of {"component": "vars.CUDA_VISIBLE_DEVICES", "a": value or null,
 * "b": value or null, "volatile": false}, sorted by component.  A
 * component is the dotted path of an object member whose values differ
 * (arrays are compared whole: "gpus.models"); a member missing on one
 * side is null there.  Volatile members are left out unless
 * MLV_ENV_DIFF_VOLATILE, then listed with "volatile": true.  An empty
 * array when the hashed parts are equal (and, with the flag, all of it).
 */
#define MLV_ENV_DIFF_VOLATILE 1u
int mlv_env_diff(json_t **out, const json_t *a, const json_t *b, unsigned flags);

/*
 * Parse env.json text (at most MLV_ENV_JSON_MAX bytes) into an object;
 * `what` names it in errors ("run <id>", a file name).  MLV_EINVALID when
 * it is not a JSON object with "format" 1.
 */
int mlv_env_parse(json_t **out, const char *text, size_t len, const char *what);

/*
 * 1 when a variable of this name is recorded by default: names starting
 * with CUDA_, CUBLAS_, CUBLASLT_, CUDNN_, NCCL_, OMP_, KMP_, MKL_,
 * OPENBLAS_, BLIS_, GOMP_, DNNL_, ONEDNN_, PYTHON, TF_ (not Terraform's
 * TF_VAR_, TF_CLI_, TF_TOKEN_, TF_LOG...), TORCH_, PYTORCH_,
 * TORCHINDUCTOR_, XLA_, JAX_, HF_, TRANSFORMERS_, TOKENIZERS_, PL_,
 * ROCM_, HIP_, HSA_, and NVIDIA_VISIBLE_DEVICES, NVIDIA_TF32_OVERRIDE,
 * LD_LIBRARY_PATH, LD_PRELOAD, MLV_SEED, LANG, LC_ALL, LC_NUMERIC,
 * LC_COLLATE, LC_CTYPE, TZ.
 */
int mlv_env_var_allowed(const char *name);

/*
 * 1 when the name looks like it holds a credential, case-insensitively,
 * with '_', '-' and '.' separating words (digits ending a word aside: TOKEN2):
 * a word TOKEN or TOKENS or ending in them
 * (HFTOKEN; not TOKENIZERS), containing SECRET, PASSW, PASSPHRASE,
 * CREDENTIAL, COOKIE, SESSION or PRIVATE, a word KEY or ending in KEY
 * (API_KEY, APIKEY; not KEYBOARD), KEYS, CREDS, CRED, PAT, DSN, PWD, PW (not the
 * shell's PWD and OLDPWD), a word
 * beginning or ending in AUTH (AUTH, AUTHORIZATION, OAUTH; so also
 * AUTHOR), SIGNATURE, SALT.
 */
int mlv_env_name_is_secret(const char *name);

/* 1 when `value` holds a URL with a user part: "scheme://user:password@", "scheme://token@". */
int mlv_env_value_is_secret(const char *value);

/*
 * 1 for the variables a run exports its seed in: MLV_SEED, PYTHONHASHSEED
 * and PL_GLOBAL_SEED (PyTorch Lightning's seed_everything()).
 */
int mlv_env_is_seed_var(const char *name);

#pragma GCC visibility pop

#endif
