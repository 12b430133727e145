#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "mlv/fs.h"
#include "mlv/lock.h"
#include "mlv/pointer.h"

/*
 * Pointer files come from other people through git: every byte is checked,
 * and a message names the file and the line at fault.
 */

#define OID_PREFIX "sha256:"
#define OID_PREFIX_LEN (sizeof(OID_PREFIX) - 1)

static const char *const kind_names[] = { "data", "model", "metric" };

const char *mlv_kind_name(enum mlv_kind k)
{
	if ((unsigned)k >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "unknown";
	return kind_names[k];
}

int mlv_kind_parse(enum mlv_kind *out, const char *s)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (!strcmp(s, kind_names[i])) {
			*out = (enum mlv_kind)i;
			return 0;
		}
	}
	return MLV_EINVALID;
}

void mlv_pointer_init(struct mlv_pointer *p)
{
	memset(p, 0, sizeof(*p));
	mlv_buf_init(&p->extra, 0);
}

void mlv_pointer_release(struct mlv_pointer *p)
{
	if (!p)
		return;
	mlv_buf_release(&p->extra);
	mlv_pointer_init(p);
}

/* Bit for each known key, to catch duplicates and missing keys. */
enum {
	SEEN_VERSION = 1 << 0,
	SEEN_OID = 1 << 1,
	SEEN_SIZE = 1 << 2,
	SEEN_KIND = 1 << 3,
	SEEN_TYPE = 1 << 4,
	SEEN_FILES = 1 << 5,
	SEEN_EXEC = 1 << 6,
};

static const struct {
	const char *key;
	unsigned bit;
} known_keys[] = {
	{ "version", SEEN_VERSION },
	{ "oid", SEEN_OID },
	{ "size", SEEN_SIZE },
	{ "kind", SEEN_KIND },
	{ "type", SEEN_TYPE },
	{ "files", SEEN_FILES },
	{ "exec", SEEN_EXEC },
};

struct parser {
	const char *name;
	size_t lineno;
};

static int perr(const struct parser *p, int code, const char *fmt, ...) MLV_PRINTF(3, 4);

static int perr(const struct parser *p, int code, const char *fmt, ...)
{
	struct mlv_buf msg = MLV_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	mlv_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	mlv_error_set(code, "%s:%zu: %s", p->name, p->lineno, msg.ptr);
	mlv_buf_release(&msg);
	return code;
}

static int valid_key(const char *k, size_t len)
{
	if (!len || k[0] < 'a' || k[0] > 'z')
		return 0;
	for (size_t i = 1; i < len; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Has `key` already appeared among the unknown keys in `extra`? */
static int extra_has_key(const struct mlv_buf *extra, const char *key, size_t klen)
{
	const char *p = extra->ptr, *end = extra->ptr + extra->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *sp = memchr(p, ' ', (size_t)(nl - p));

		if ((size_t)(sp - p) == klen && !memcmp(p, key, klen))
			return 1;
		p = nl + 1;
	}
	return 0;
}

static int is_value(const char *k, size_t klen, const char *s)
{
	return strlen(s) == klen && !memcmp(k, s, klen);
}

static int parse_known(struct parser *ps, struct mlv_pointer *out, unsigned bit,
		       const char *v, size_t vlen)
{
	switch (bit) {
	case SEEN_VERSION:
		return perr(ps, MLV_EINVALID, "'version' must be the first line");
	case SEEN_OID:
		if (vlen < OID_PREFIX_LEN || memcmp(v, OID_PREFIX, OID_PREFIX_LEN))
			return perr(ps, MLV_EINVALID, "oid must start with '" OID_PREFIX "'");
		if (mlv_oid_fromhex(&out->oid, v + OID_PREFIX_LEN, vlen - OID_PREFIX_LEN) < 0)
			return perr(ps, MLV_EINVALID,
				    "oid must be '" OID_PREFIX "' and 64 lowercase hex digits");
		return 0;
	case SEEN_SIZE:
		if (mlv_parse_decimal(&out->size, v, vlen) < 0)
			return perr(ps, MLV_EINVALID, "invalid size '%.*s'", (int)vlen, v);
		return 0;
	case SEEN_FILES:
		if (mlv_parse_decimal(&out->files, v, vlen) < 0)
			return perr(ps, MLV_EINVALID, "invalid file count '%.*s'", (int)vlen, v);
		return 0;
	case SEEN_KIND:
		for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
			if (is_value(v, vlen, kind_names[i])) {
				out->kind = (enum mlv_kind)i;
				return 0;
			}
		}
		return perr(ps, MLV_EINVALID, "unknown kind '%.*s' (expected data, model or metric)",
			    (int)vlen, v);
	case SEEN_EXEC:
		if (!is_value(v, vlen, "yes"))
			return perr(ps, MLV_EINVALID, "invalid exec '%.*s' (the only value is yes)",
				    (int)vlen, v);
		out->exec = 1;
		return 0;
	case SEEN_TYPE:
		if (is_value(v, vlen, "file"))
			out->type = MLV_PTYPE_FILE;
		else if (is_value(v, vlen, "dir"))
			out->type = MLV_PTYPE_DIR;
		else
			return perr(ps, MLV_EINVALID, "unknown type '%.*s' (expected file or dir)",
				    (int)vlen, v);
		return 0;
	}
	return perr(ps, MLV_ERROR, "internal error: unhandled key");
}

/* The first line: exactly "version 1"; a larger number is a newer format. */
static int parse_version(struct parser *ps, const char *line, size_t len)
{
	static const char want[] = "version ";
	size_t wlen = sizeof(want) - 1;
	uint64_t v;

	if (len < wlen || memcmp(line, want, wlen))
		return perr(ps, MLV_EINVALID, "not a pointer file: first line must be 'version 1'");
	if (mlv_parse_decimal(&v, line + wlen, len - wlen) < 0 || v == 0)
		return perr(ps, MLV_EINVALID, "invalid version '%.*s'",
			    (int)(len - wlen), line + wlen);
	if (v > 1)
		return perr(ps, MLV_EUNSUPPORTED,
			    "unsupported pointer version %" PRIu64 " (this mlv reads version 1)", v);
	return 0;
}

static int parse_line(struct parser *ps, struct mlv_pointer *out, unsigned *seen,
		      const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);
	const char *v;
	size_t klen, vlen;

	if (!len)
		return perr(ps, MLV_EINVALID, "empty line");
	if (!sp)
		return perr(ps, MLV_EINVALID, "expected 'key value'");
	klen = (size_t)(sp - line);
	v = sp + 1;
	vlen = len - klen - 1;
	if (!valid_key(line, klen))
		return perr(ps, MLV_EINVALID, "invalid key '%.*s'", (int)klen, line);
	if (!vlen)
		return perr(ps, MLV_EINVALID, "empty value for '%.*s'", (int)klen, line);
	if (v[0] == ' ' || v[vlen - 1] == ' ')
		return perr(ps, MLV_EINVALID, "stray space in value of '%.*s'", (int)klen, line);

	for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++) {
		unsigned bit = known_keys[i].bit;

		if (!is_value(line, klen, known_keys[i].key))
			continue;
		if (*seen & bit)
			return perr(ps, MLV_EINVALID, "duplicate key '%s'", known_keys[i].key);
		*seen |= bit;
		return parse_known(ps, out, bit, v, vlen);
	}

	if (extra_has_key(&out->extra, line, klen))
		return perr(ps, MLV_EINVALID, "duplicate key '%.*s'", (int)klen, line);
	mlv_buf_add(&out->extra, line, len);
	mlv_buf_addch(&out->extra, '\n');
	return 0;
}

/* Bytes that may never appear: NUL, CR and the other control characters but tab. */
static int bad_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f;
}

/* Is the line of `len` bytes at `p` one of git's conflict markers? */
static int conflict_marker(const char *p, size_t len)
{
	static const char *const marks[] = { "<<<<<<<", "|||||||", "=======", ">>>>>>>" };

	if (len < 7)
		return 0;
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (!memcmp(p, marks[i], 7) && (len == 7 || p[7] == ' '))
			return 1;
	return 0;
}

int mlv_pointer_conflicted(const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t linelen = (size_t)((nl ? nl : end) - p);

		if (linelen && p[linelen - 1] == '\r')
			linelen--;
		if (conflict_marker(p, linelen))
			return 1;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

int mlv_pointer_parse(struct mlv_pointer *out, const char *data, size_t len, const char *name)
{
	struct parser ps = { name ? name : "<pointer>", 1 };
	const char *p = data, *end = data + len;
	unsigned seen = 0;
	int ret = 0;

	mlv_pointer_release(out);

	if (len > MLV_POINTER_MAX) {
		ret = mlv_error_set(MLV_EINVALID, "%s: pointer file is larger than %d bytes",
				    ps.name, MLV_POINTER_MAX);
		goto done;
	}
	if (!len) {
		ret = perr(&ps, MLV_EINVALID, "empty pointer file");
		goto done;
	}
	if (mlv_pointer_conflicted(data, len)) {
		ret = mlv_error_set(MLV_EINVALID, "merge conflict in %s", ps.name);
		goto done;
	}

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t linelen = (size_t)((nl ? nl : end) - p);

		for (size_t i = 0; i < linelen; i++) {
			unsigned char c = (unsigned char)p[i];

			if (!bad_byte(c))
				continue;
			if (c == '\0')
				ret = perr(&ps, MLV_EINVALID, "NUL byte in pointer file");
			else if (c == '\r')
				ret = perr(&ps, MLV_EINVALID, "carriage return (CRLF line ending?)");
			else
				ret = perr(&ps, MLV_EINVALID, "control character 0x%02x", c);
			goto done;
		}
		if (linelen > MLV_POINTER_LINE_MAX) {
			ret = perr(&ps, MLV_EINVALID, "line longer than %d bytes",
				   MLV_POINTER_LINE_MAX);
			goto done;
		}
		if (!nl) {
			ret = perr(&ps, MLV_EINVALID, "missing newline at end of file");
			goto done;
		}
		if (ps.lineno == 1) {
			ret = parse_version(&ps, p, linelen);
			seen |= SEEN_VERSION;
		} else {
			ret = parse_line(&ps, out, &seen, p, linelen);
		}
		if (ret)
			goto done;
		p = nl + 1;
		ps.lineno++;
	}

	/* Messages about the whole file point at the last line. */
	ps.lineno--;
	for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++) {
		if (known_keys[i].bit == SEEN_FILES || known_keys[i].bit == SEEN_EXEC ||
		    (seen & known_keys[i].bit))
			continue;
		ret = perr(&ps, MLV_EINVALID, "missing required key '%s'", known_keys[i].key);
		goto done;
	}
	if (out->type == MLV_PTYPE_DIR && !(seen & SEEN_FILES))
		ret = perr(&ps, MLV_EINVALID, "missing required key 'files' for a directory");
	else if (out->type == MLV_PTYPE_FILE && (seen & SEEN_FILES))
		ret = perr(&ps, MLV_EINVALID, "key 'files' is only allowed for directories");
	else if (out->type == MLV_PTYPE_DIR && (seen & SEEN_EXEC))
		ret = perr(&ps, MLV_EINVALID, "key 'exec' is only allowed for files");

done:
	if (ret)
		mlv_pointer_release(out);
	return ret;
}

int mlv_pointer_read_at(struct mlv_pointer *out, int dirfd, const char *path)
{
	struct mlv_buf b = MLV_BUF_INIT;
	int ret;

	ret = mlv_fs_read_file(&b, dirfd, path, MLV_POINTER_MAX);
	if (!ret)
		ret = mlv_pointer_parse(out, b.ptr, b.len, path);
	else
		mlv_pointer_release(out);
	mlv_buf_release(&b);
	return ret;
}

void mlv_pointer_format(struct mlv_buf *out, const struct mlv_pointer *p)
{
	mlv_buf_adds(out, "version 1\n");
	mlv_buf_addf(out, "oid " OID_PREFIX "%s\n", mlv_oid_hex(&p->oid));
	mlv_buf_addf(out, "size %" PRIu64 "\n", p->size);
	mlv_buf_addf(out, "kind %s\n", mlv_kind_name(p->kind));
	mlv_buf_addf(out, "type %s\n", p->type == MLV_PTYPE_DIR ? "dir" : "file");
	if (p->type == MLV_PTYPE_DIR)
		mlv_buf_addf(out, "files %" PRIu64 "\n", p->files);
	else if (p->exec)
		mlv_buf_adds(out, "exec yes\n");
	mlv_buf_add(out, p->extra.ptr, p->extra.len);
}

/* The canonical bytes of `p` in `out`, or MLV_EINVALID if they would not parse back. */
static int format_checked(struct mlv_buf *out, const struct mlv_pointer *p, const char *path)
{
	struct mlv_pointer check;
	int ret;

	/* Never write a pointer that mlv itself would refuse to read. */
	mlv_pointer_format(out, p);
	mlv_pointer_init(&check);
	ret = mlv_pointer_parse(&check, out->ptr, out->len, path);
	mlv_pointer_release(&check);
	if (ret)
		ret = mlv_error_wrap(MLV_EINVALID, "refusing to write invalid pointer");
	return ret;
}

int mlv_pointer_write_locked(struct mlv_lock *l, const struct mlv_pointer *p)
{
	struct mlv_buf b = MLV_BUF_INIT;
	int ret = format_checked(&b, p, l->path);

	if (!ret)
		ret = mlv_lock_write(l, b.ptr, b.len);
	if (!ret)
		ret = mlv_lock_commit(l, 0644, 1);
	else
		mlv_lock_release(l);
	mlv_buf_release(&b);
	return ret;
}

int mlv_pointer_write_at(int dirfd, const char *path, const struct mlv_pointer *p)
{
	struct mlv_lock l = MLV_LOCK_INIT;
	int ret = mlv_lock_acquire(&l, dirfd, path, MLV_LOCK_TIMEOUT_MS);

	return ret < 0 ? ret : mlv_pointer_write_locked(&l, p);
}
