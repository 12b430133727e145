/*
 * Reading stored runs from their refs and commits, and live runs from
 * their directories.  Everything here is hostile input: ref names are
 * checked before they are used at all (and never as a path unless they
 * are valid ids), objects are sized from their headers before they are
 * read, run.json is parsed strictly and its fields type-checked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <git2.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/fs.h"
#include "mlv/pointer.h"
#include "mlv/proc.h"
#include "mlv/repo.h"
#include "mlv/runs.h"
#include "mlv/store.h"
#include "run/runs-priv.h"

/* A loose ref file is "<hex>\n"; anything longer is not one. */
#define LOOSE_REF_MAX 256
/* packed-refs of a repository with millions of tags is still read. */
#define PACKED_REFS_MAX (1ull << 32)
/* A signature is racy when a stat'ed time is this close to now. */
#define RACY_NS (2ll * 1000000000)

static mlv_runs_warn_fn warn_fn;
static void *warn_ctx;

void mlv_runs_set_warn(mlv_runs_warn_fn fn, void *ctx)
{
	warn_fn = fn;
	warn_ctx = ctx;
}

void runs_warn(const char *what, const char *why)
{
	char buf[300];
	size_t i;

	if (!warn_fn)
		return;
	for (i = 0; what[i] && i < sizeof(buf) - 4; i++) {
		unsigned char c = (unsigned char)what[i];

		buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (what[i])
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = '\0';
	warn_fn(warn_ctx, buf, why);
}

static int is_hexlow(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

int mlv_run_id_valid(const char *s)
{
	/* YYYYMMDD-HHMMSS-xxxxxxxx */
	for (int i = 0; i < MLV_RUN_ID_LEN; i++) {
		int c = (unsigned char)s[i];

		if (i == 8 || i == 15) {
			if (c != '-')
				return 0;
		} else if (i < 15) {
			if (!is_digit(c))
				return 0;
		} else if (!is_hexlow(c)) {
			return 0;
		}
	}
	return s[MLV_RUN_ID_LEN] == '\0';
}

void runs_fmt_num(char out[40], double v)
{
	if (!isfinite(v)) {
		snprintf(out, 40, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(out, 40, "%.0f", v);
		return;
	}
	for (int p = 15; p <= 17; p++) {
		snprintf(out, 40, "%.*g", p, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/*
 * The record check.
 */
static int bad(const char *field, const char *what)
{
	return mlv_error_set(MLV_EINVALID, "run.json: \"%s\" %s", field, what);
}

/* NULL or JSON null counts as absent. */
static const json_t *opt(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_null(v) ? NULL : v;
}

static int check_scalars(const json_t *o, const char *field)
{
	const char *k;
	const json_t *v;

	if (!json_is_object(o))
		return bad(field, "is not an object");
	json_object_foreach((json_t *)o, k, v) {
		if (!*k)
			return bad(field, "has an empty key");
		if (!json_is_number(v) && !json_is_string(v) && !json_is_boolean(v) &&
		    !json_is_null(v))
			return mlv_error_set(MLV_EINVALID, "run.json: \"%s.%s\" is not a scalar",
					     field, k);
	}
	return 0;
}

static int check_io(const json_t *a, const char *field)
{
	size_t i;
	const json_t *e;

	if (!json_is_array(a))
		return bad(field, "is not an array");
	json_array_foreach(a, i, e) {
		const json_t *p = json_object_get(e, "path"), *o = json_object_get(e, "oid");
		const char *s;
		struct mlv_oid oid;

		if (!json_is_object(e) || !json_is_string(p) || !*json_string_value(p))
			return mlv_error_set(MLV_EINVALID, "run.json: \"%s\"[%zu] has no path",
					     field, i);
		s = json_is_string(o) ? json_string_value(o) : "";
		if (strncmp(s, "sha256:", 7) || mlv_oid_fromhex(&oid, s + 7, strlen(s + 7)))
			return mlv_error_set(MLV_EINVALID, "run.json: \"%s\"[%zu] has a bad oid",
					     field, i);
	}
	return 0;
}

int mlv_run_record_check(const json_t *run, const char *id)
{
	const json_t *v, *st;
	size_t i;
	int ret;

	if (!json_is_object(run))
		return mlv_error_set(MLV_EINVALID, "run.json is not a JSON object");
	v = json_object_get(run, "format");
	if (!json_is_integer(v))
		return bad("format", "is missing");
	if (json_integer_value(v) != 1)
		return mlv_error_set(MLV_EUNSUPPORTED, "run.json: format %lld is not supported",
				     (long long)json_integer_value(v));
	v = json_object_get(run, "id");
	if (!json_is_string(v) || !mlv_run_id_valid(json_string_value(v)))
		return bad("id", "is missing or not a run id");
	if (id && strcmp(json_string_value(v), id))
		return mlv_error_set(MLV_EINVALID, "run.json: \"id\" is %s, not %s",
				     json_string_value(v), id);
	if (!json_is_string(json_object_get(run, "start")))
		return bad("start", "is missing or not a string");
	st = json_object_get(run, "status");
	if (!json_is_object(st) || !json_is_string(json_object_get(st, "state")))
		return bad("status.state", "is missing or not a string");
	if ((v = opt(st, "exit")) && !json_is_integer(v))
		return bad("status.exit", "is not an integer");
	if ((v = opt(st, "code")) && !json_is_integer(v))
		return bad("status.code", "is not an integer");
	if ((v = opt(st, "signal")) && !json_is_integer(v))
		return bad("status.signal", "is not an integer");
	if ((v = opt(run, "name")) && !json_is_string(v))
		return bad("name", "is not a string");
	if ((v = opt(run, "argv"))) {
		const json_t *a;

		if (!json_is_array(v))
			return bad("argv", "is not an array");
		json_array_foreach(v, i, a)
			if (!json_is_string(a))
				return bad("argv", "holds a value that is not a string");
	}
	if ((v = opt(run, "params")) && (ret = check_scalars(v, "params")))
		return ret;
	if ((v = opt(run, "metrics"))) {
		if (!json_is_object(v))
			return bad("metrics", "is not an object");
		if ((v = opt(v, "final")) && (ret = check_scalars(v, "metrics.final")))
			return ret;
	}
	if ((v = opt(run, "inputs")) && (ret = check_io(v, "inputs")))
		return ret;
	if ((v = opt(run, "outputs")) && (ret = check_io(v, "outputs")))
		return ret;
	if ((v = opt(run, "seed")) && !json_is_integer(v))
		return bad("seed", "is not an integer");
	if ((v = opt(run, "duration")) && !json_is_number(v))
		return bad("duration", "is not a number");
	for (i = 0; i < 6; i++) {
		static const char *const strs[] = { "end", "host", "user", "cwd", "reproduces",
						    "mlv_version" };

		if ((v = opt(run, strs[i])) && !json_is_string(v))
			return bad(strs[i], "is not a string");
	}
	if ((v = opt(run, "git"))) {
		const json_t *c;

		if (!json_is_object(v))
			return bad("git", "is not an object");
		if ((c = opt(v, "commit")) && !json_is_string(c))
			return bad("git.commit", "is not a string");
		if ((c = opt(v, "branch")) && !json_is_string(c))
			return bad("git.branch", "is not a string");
	}
	if ((v = opt(run, "env"))) {
		if (!json_is_object(v))
			return bad("env", "is not an object");
		if ((v = opt(v, "hash")) && !json_is_string(v))
			return bad("env.hash", "is not a string");
	}
	return 0;
}

static int parse_record(json_t **out, const char *data, size_t len, const char *id,
			const char *what)
{
	json_error_t jerr;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	int ret;

	*out = NULL;
	if (!j)
		return mlv_error_set(MLV_EINVALID, "%s: run.json:%d: %s", what, jerr.line,
				     jerr.text);
	if ((ret = mlv_run_record_check(j, id))) {
		json_decref(j);
		return mlv_error_wrap(ret, "%s", what);
	}
	*out = j;
	return 0;
}

/*
 * Objects of a run's commit.
 */
static int lookup_commit(git_commit **out, struct mlv_repo *r, const char *id, const char *hex)
{
	git_object *obj = NULL;
	git_object_t type;
	git_oid oid;
	char what[80];

	*out = NULL;
	if (strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstrn(&oid, hex, GIT_OID_HEXSZ))
		return mlv_error_set(MLV_EINVALID, "run %s: its ref names a bad object id", id);
	snprintf(what, sizeof(what), "run %s: cannot read commit %s", id, hex);
	if (git_object_lookup(&obj, r->git, &oid, GIT_OBJECT_ANY))
		return mlv_git_error(MLV_ENOTFOUND, what);
	type = git_object_type(obj);
	if (type != GIT_OBJECT_COMMIT) {
		git_object_free(obj);
		return mlv_error_set(MLV_EINVALID, "run %s: its ref names a %s, not a commit", id,
				     git_object_type2string(type));
	}
	*out = (git_commit *)obj;
	return 0;
}

/*
 * The blob at `file` in the tree of commit `hex`, at most `max` bytes
 * (sized from the object header first, so a huge blob is never loaded).
 */
static int read_tree_file(struct mlv_repo *r, const char *id, const char *hex, const char *file,
			  size_t max, struct mlv_buf *out)
{
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_odb *odb = NULL;
	git_blob *blob = NULL;
	git_object_t type;
	size_t size;
	char what[128];
	int ret;

	if ((ret = lookup_commit(&commit, r, id, hex)))
		return ret;
	snprintf(what, sizeof(what), "run %s: cannot read the tree of %s", id, hex);
	if (git_commit_tree(&tree, commit)) {
		ret = mlv_git_error(MLV_ECORRUPT, what);
		goto done;
	}
	if (git_tree_entry_bypath(&e, tree, file)) {
		ret = mlv_error_set(MLV_ENOTFOUND, "run %s has no %s", id, file);
		goto done;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    (git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB &&
	     git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB_EXECUTABLE)) {
		ret = mlv_error_set(MLV_EINVALID, "run %s: %s is not a file", id, file);
		goto done;
	}
	snprintf(what, sizeof(what), "run %s: cannot read %s", id, file);
	if (git_repository_odb(&odb, r->git) ||
	    git_odb_read_header(&size, &type, odb, git_tree_entry_id(e))) {
		ret = mlv_git_error(MLV_ECORRUPT, what);
		goto done;
	}
	if (type != GIT_OBJECT_BLOB) {
		ret = mlv_error_set(MLV_ECORRUPT, "run %s: %s is not a blob", id, file);
		goto done;
	}
	if (size > max) {
		ret = mlv_error_set(MLV_EINVALID, "run %s: %s holds %zu bytes, more than %zu",
				    id, file, size, max);
		goto done;
	}
	if (git_blob_lookup(&blob, r->git, git_tree_entry_id(e))) {
		ret = mlv_git_error(MLV_ECORRUPT, what);
		goto done;
	}
	mlv_buf_add(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	ret = 0;
done:
	git_blob_free(blob);
	git_odb_free(odb);
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(commit);
	return ret;
}

int runs_read_commit(struct mlv_repo *r, const char *id, const char *hex, json_t **run)
{
	struct mlv_buf b = MLV_BUF_INIT;
	char what[80];
	int ret;

	*run = NULL;
	if ((ret = read_tree_file(r, id, hex, "run.json", MLV_RUN_JSON_MAX, &b)))
		goto done;
	snprintf(what, sizeof(what), "run %s", id);
	ret = parse_record(run, b.ptr, b.len, id, what);
done:
	mlv_buf_release(&b);
	return ret;
}

/* The commit refs/mlv/runs/<id> names. */
static int ref_target(struct mlv_repo *r, const char *id, char hex[65])
{
	char name[sizeof(MLV_RUN_REF_PREFIX) + MLV_RUN_ID_SIZE];
	git_oid oid;
	int err;

	if (!mlv_run_id_valid(id))
		return mlv_error_set(MLV_EINVALID, "'%s' is not a run id", id);
	snprintf(name, sizeof(name), MLV_RUN_REF_PREFIX "%s", id);
	err = git_reference_name_to_id(&oid, r->git, name);
	if (err == GIT_ENOTFOUND)
		return mlv_error_set(MLV_ENOTFOUND, "no run '%s'", id);
	if (err)
		return mlv_git_error(MLV_ERROR, name);
	git_oid_tostr(hex, 65, &oid);
	return 0;
}

int mlv_run_load(struct mlv_repo *r, const char *id, json_t **run, char commit_hex[65])
{
	char hex[65];
	int ret;

	if (run)
		*run = NULL;
	if ((ret = ref_target(r, id, hex)))
		return ret;
	if (commit_hex)
		memcpy(commit_hex, hex, sizeof(hex));
	if (!run)
		return 0;
	return runs_read_commit(r, id, hex, run);
}

int mlv_run_read_file(struct mlv_repo *r, const char *id, const char *file, struct mlv_buf *out)
{
	char hex[65];
	int ret;

	if ((ret = ref_target(r, id, hex)))
		return ret;
	return read_tree_file(r, id, hex, file, MLV_RUN_FILE_MAX, out);
}

int mlv_run_read_pointer(struct mlv_repo *r, const char *id, const char *file,
			 struct mlv_pointer *out)
{
	struct mlv_buf b = MLV_BUF_INIT;
	char hex[65], what[256];
	int ret;

	if ((ret = ref_target(r, id, hex)) ||
	    (ret = read_tree_file(r, id, hex, file, MLV_POINTER_MAX, &b)))
		goto done;
	snprintf(what, sizeof(what), "run %s: %s", id, file);
	ret = mlv_pointer_parse(out, b.ptr, b.len, what);
done:
	mlv_buf_release(&b);
	return ret;
}

int mlv_run_stream(struct mlv_repo *r, const char *id, const char *file, mlv_sink_fn sink,
		   void *ctx)
{
	struct mlv_pointer p;
	struct mlv_store *s;
	int ret;

	mlv_pointer_init(&p);
	if ((ret = mlv_run_read_pointer(r, id, file, &p)))
		goto done;
	if (p.type != MLV_PTYPE_FILE) {
		ret = mlv_error_set(MLV_EINVALID, "run %s: %s names a directory", id, file);
		goto done;
	}
	if ((ret = mlv_repo_store(&s, r)))
		goto done;
	ret = mlv_store_read_blob(s, &p.oid, sink, ctx);
done:
	mlv_pointer_release(&p);
	return ret;
}

/*
 * Listing refs/mlv/runs/ without libgit2: libgit2 would read and validate
 * every loose ref, and would not say why one is bad.
 */
static void ref_add(struct runs_ref_list *l, const char *name, size_t len, const char *hex)
{
	struct runs_ref *e;

	MLV_ALLOC_GROW(l->v, l->nr + 1, l->alloc);
	e = &l->v[l->nr++];
	e->name = mlv_strndup(name, len);
	snprintf(e->hex, sizeof(e->hex), "%s", hex);
}

static int hexline(const char *p, size_t len, char hex[65])
{
	size_t n = 0;

	while (n < len && n < 64 && is_hexlow((unsigned char)p[n]))
		n++;
	if (n != 40 && n != 64)
		return -1;
	memcpy(hex, p, n);
	hex[n] = '\0';
	return (int)n;
}

static int read_packed(struct mlv_repo *r, struct runs_ref_list *l)
{
	static const char pfx[] = MLV_RUN_REF_PREFIX;
	char *path = mlv_xstrfmt("%s/packed-refs", r->commondir);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	const char *p, *end;
	void *map = NULL;
	int ret = 0;

	if (fd < 0) {
		if (errno != ENOENT)
			ret = mlv_error_set_errno(MLV_EIO, "cannot open '%s'", path);
		goto done;
	}
	if (fstat(fd, &st) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode) || !st.st_size || (uint64_t)st.st_size > PACKED_REFS_MAX)
		goto done;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		map = NULL;
		ret = mlv_error_set_errno(MLV_EIO, "cannot read '%s'", path);
		goto done;
	}
	for (p = map, end = p + st.st_size; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		char hex[65];
		int n = hexline(p, (size_t)(eol - p), hex);

		/* "<hex> refs/mlv/runs/<name>" */
		if (n > 0 && eol - p > n + 1 + (long)sizeof(pfx) - 1 && p[n] == ' ' &&
		    !memcmp(p + n + 1, pfx, sizeof(pfx) - 1)) {
			const char *name = p + n + sizeof(pfx);
			size_t len = (size_t)(eol - name);

			if (len && name[len - 1] == '\r')
				len--;
			ref_add(l, name, len, hex);
		}
		p = eol + 1;
	}
done:
	if (map)
		munmap(map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

static int open_runs_refdir(struct mlv_repo *r)
{
	int cfd = open(r->commondir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;

	if (cfd < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot open '%s'", r->commondir);
	fd = mlv_fs_open(cfd, "refs/mlv/runs", O_RDONLY | O_DIRECTORY, 0);
	close(cfd);
	return fd;
}

static int read_loose(struct mlv_repo *r, struct runs_ref_list *l, runs_known_fn known,
		      void *known_ctx, int64_t trust_before_ns)
{
	int dfd = open_runs_refdir(r);
	struct dirent *de;
	DIR *dir;

	if (dfd == MLV_EINVALID) {
		/* a symlink on the way: its refs are not ours to follow */
		runs_warn("refs/mlv/runs", mlv_error_last());
		mlv_error_clear();
		return 0;
	}
	if (dfd < 0)
		return dfd == MLV_ENOTFOUND ? 0 : dfd;
	if (!(dir = fdopendir(dfd))) {
		close(dfd);
		return mlv_error_set_errno(MLV_EIO, "cannot read refs/mlv/runs");
	}
	while ((de = readdir(dir))) {
		const char *name = de->d_name;
		size_t len = strlen(name);
		char buf[LOOSE_REF_MAX + 1], hex[65] = "";
		ssize_t n;
		int fd;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		/* git's own lock files while it updates a ref */
		if (len > 5 && !strcmp(name + len - 5, ".lock"))
			continue;
		if (!mlv_run_id_valid(name)) {
			ref_add(l, name, len, "");
			continue;
		}
		if (known && de->d_type == DT_REG) {
			const char *hex_known = known(known_ctx, name);
			struct stat st;

			if (hex_known &&
			    !fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) &&
			    S_ISREG(st.st_mode) &&
			    (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec <
				    trust_before_ns) {
				ref_add(l, name, len, hex_known);
				continue;
			}
		}
		fd = openat(dirfd(dir), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			/* a subdirectory, a symlink: listed as bad */
			ref_add(l, name, len, "");
			continue;
		}
		n = read(fd, buf, LOOSE_REF_MAX);
		close(fd);
		if (n > 0) {
			int h = hexline(buf, (size_t)n, hex);

			if (h < 0 || (h < n && buf[h] != '\n'))
				hex[0] = '\0';
		}
		ref_add(l, name, len, hex);
	}
	closedir(dir);
	return 0;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct runs_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c;
}

int runs_refs_list(struct mlv_repo *r, struct runs_ref_list *out, runs_known_fn known,
		   void *known_ctx, int64_t trust_before_ns)
{
	struct runs_ref_list packed = { 0 }, loose = { 0 };
	size_t i = 0, j = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = read_packed(r, &packed)) || (ret = read_loose(r, &loose, known, known_ctx, trust_before_ns)))
		goto done;
	if (packed.nr > 1)
		qsort(packed.v, packed.nr, sizeof(*packed.v), ref_cmp);
	if (loose.nr > 1)
		qsort(loose.v, loose.nr, sizeof(*loose.v), ref_cmp);
	/* a loose ref wins over a packed one of the same name */
	while (i < packed.nr || j < loose.nr) {
		int c = i == packed.nr ? 1 : j == loose.nr ? -1 :
			strcmp(packed.v[i].name, loose.v[j].name);
		struct runs_ref *e = c < 0 ? &packed.v[i++] : &loose.v[j++];

		if (!c) {
			free(packed.v[i].name);
			packed.v[i++].name = NULL;
		}
		MLV_ALLOC_GROW(out->v, out->nr + 1, out->alloc);
		out->v[out->nr++] = *e;
		e->name = NULL;
	}
done:
	runs_ref_list_release(&packed);
	runs_ref_list_release(&loose);
	return ret;
}

void runs_ref_list_release(struct runs_ref_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void sig_add(struct mlv_buf *sig, const char *tag, const char *path, int64_t now,
		    int *racy)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		mlv_buf_addf(sig, "%s:-;", tag);
		return;
	}
	int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	int64_t ct = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;

	mlv_buf_addf(sig, "%s:%llu:%llu:%lld:%lld:%o;", tag, (unsigned long long)st.st_ino,
		     (unsigned long long)st.st_size, (long long)mt, (long long)ct,
		     (unsigned)st.st_mode);
	if (mt > now - RACY_NS || ct > now - RACY_NS)
		*racy = 1;
}

void runs_refs_signature(struct mlv_repo *r, struct mlv_buf *sig, int *racy)
{
	int64_t now = mlv_now_ns();
	char *p;

	*racy = 0;
	p = mlv_xstrfmt("%s/packed-refs", r->commondir);
	sig_add(sig, "packed", p, now, racy);
	free(p);
	p = mlv_xstrfmt("%s/refs/mlv/runs", r->commondir);
	sig_add(sig, "loose", p, now, racy);
	free(p);
	/* a repository on reftable: no cheap signature, always compare */
	p = mlv_xstrfmt("%s/reftable", r->commondir);
	if (!access(p, F_OK))
		*racy = 1;
	free(p);
}

/*
 * Live runs.
 */
char *mlv_run_live_dir(struct mlv_repo *r, const char *id)
{
	return mlv_xstrfmt("%s/runs/live/%s", r->storedir, id);
}

static int open_live_dir(struct mlv_repo *r)
{
	int sfd = open(r->storedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;

	if (sfd < 0)
		return errno == ENOENT ? MLV_ENOTFOUND :
			mlv_error_set_errno(MLV_EIO, "cannot open '%s'", r->storedir);
	fd = mlv_fs_open(sfd, "runs/live", O_RDONLY | O_DIRECTORY, 0);
	close(sfd);
	return fd;
}

static const char *live_state(const json_t *run)
{
	const json_t *pid = json_object_get(run, "pid"), *host = json_object_get(run, "host");
	char me[256];

	if (!json_is_integer(pid) || json_integer_value(pid) <= 0 ||
	    json_integer_value(pid) > 0x7fffffff)
		return "running";
	if (json_is_string(host)) {
		if (gethostname(me, sizeof(me)) < 0)
			return "running";
		me[sizeof(me) - 1] = '\0';
		if (strcmp(me, json_string_value(host)))
			return "running";
	}
	if (kill((pid_t)json_integer_value(pid), 0) < 0 && errno == ESRCH)
		return "crashed";
	/* The pid is alive: is it still that process, in this boot? */
	{
		const json_t *start = json_object_get(run, "pid_start");
		const json_t *boot = json_object_get(run, "boot_id");
		unsigned long long now;
		char id[64];

		if (json_is_string(boot) && !mlv_boot_id(id) && strcmp(id, json_string_value(boot)))
			return "crashed";
		if (json_is_integer(start) &&
		    !mlv_proc_starttime((pid_t)json_integer_value(pid), &now) &&
		    now != (unsigned long long)json_integer_value(start))
			return "crashed";
	}
	return "running";
}

int mlv_run_live_load(struct mlv_repo *r, const char *id, json_t **run, const char **state)
{
	struct mlv_buf b = MLV_BUF_INIT, path = MLV_BUF_INIT;
	json_error_t jerr;
	json_t *j = NULL, *v;
	int dfd, ret;

	*run = NULL;
	if (!mlv_run_id_valid(id))
		return mlv_error_set(MLV_EINVALID, "'%s' is not a run id", id);
	if ((dfd = open_live_dir(r)) < 0)
		return dfd == MLV_ENOTFOUND ?
			mlv_error_set(MLV_ENOTFOUND, "no live run '%s'", id) : dfd;
	mlv_buf_addf(&path, "%s/run.json", id);
	ret = mlv_fs_read_file(&b, dfd, path.ptr, MLV_RUN_JSON_MAX);
	close(dfd);
	if (ret) {
		if (ret == MLV_ENOTFOUND)
			mlv_error_set(MLV_ENOTFOUND, "no live run '%s'", id);
		goto done;
	}
	if (!(j = json_loadb(b.ptr, b.len, JSON_REJECT_DUPLICATES, &jerr))) {
		ret = mlv_error_set(MLV_EINVALID, "live run %s: run.json:%d: %s", id, jerr.line,
				    jerr.text);
		goto done;
	}
	v = json_object_get(j, "id");
	if (!json_is_object(j) || !json_is_string(v) || strcmp(json_string_value(v), id)) {
		ret = mlv_error_set(MLV_EINVALID, "live run %s: run.json does not name it", id);
		goto done;
	}
	if (state)
		*state = live_state(j);
	*run = j;
	j = NULL;
done:
	json_decref(j);
	mlv_buf_release(&b);
	mlv_buf_release(&path);
	return ret;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int runs_live_ids(struct mlv_repo *r, char ***ids, size_t *n)
{
	int dfd = open_live_dir(r);
	struct dirent *de;
	size_t alloc = 0;
	DIR *dir;

	*ids = NULL;
	*n = 0;
	if (dfd < 0)
		return dfd == MLV_ENOTFOUND ? 0 : dfd;
	if (!(dir = fdopendir(dfd))) {
		close(dfd);
		return mlv_error_set_errno(MLV_EIO, "cannot read '%s/runs/live'", r->storedir);
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (!mlv_run_id_valid(de->d_name)) {
			char what[300];

			snprintf(what, sizeof(what), "runs/live/%s", de->d_name);
			runs_warn(what, "not a run id");
			continue;
		}
		MLV_ALLOC_GROW(*ids, *n + 1, alloc);
		(*ids)[(*n)++] = mlv_strdup(de->d_name);
	}
	closedir(dir);
	if (*n)
		qsort(*ids, *n, sizeof(**ids), str_cmp);
	return 0;
}
