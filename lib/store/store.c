#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/fileio.h"
#include "store/store-priv.h"

int mlv_store_open(struct mlv_store **out, const char *mlvdir)
{
	struct mlv_store *s = mlv_calloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	s->mlvdir = mlv_strdup(mlvdir);
	s->packdir = mlv_xstrfmt("%s/store/packs", mlvdir);
	s->dbpath = mlv_xstrfmt("%s/index.db", mlvdir);
	mlv_buf_init(&s->chunk_buf, 0);
	mlv_buf_init(&s->recipe_buf, 0);
	if ((ret = mlv_pack_reader_init(&s->rd)) || (ret = mlv_hash_init(&s->blob_hash)))
		goto done;
	if ((ret = mlv_mkdir_p(s->packdir, 0777)))
		goto done;
	if ((ret = mlv_index_open(&s->ix, s->dbpath)))
		goto done;
done:
	if (ret)
		mlv_store_free(s);
	else
		*out = s;
	return ret;
}

void mlv_store_pack_close_all(struct mlv_store *s)
{
	for (int i = 0; i < MLV_PACK_FD_CACHE; i++) {
		if (s->fds[i].pack_id)
			close(s->fds[i].pf.fd);
		s->fds[i].pack_id = 0;
	}
}

void mlv_store_free(struct mlv_store *s)
{
	if (!s)
		return;
	mlv_store_pack_close_all(s);
	mlv_index_free(s->ix);
	mlv_pack_reader_release(&s->rd);
	mlv_hash_release(&s->blob_hash);
	mlv_buf_release(&s->chunk_buf);
	mlv_buf_release(&s->recipe_buf);
	mlv_statcache_mem_free(s->sc);
	free(s->mlvdir);
	free(s->packdir);
	free(s->dbpath);
	free(s);
}

const char *mlv_store_name(struct mlv_store *s, enum mlv_object_type t)
{
	switch (t) {
	case MLV_OBJ_CHUNK:
		return "chunk";
	case MLV_OBJ_RECIPE:
		return "recipe";
	case MLV_OBJ_TREE:
		return "tree";
	}
	return "unknown";
}

int mlv_store_pack_get(struct mlv_store *s, int64_t pack_id, const char *name,
		       const struct mlv_pack_file **out)
{
	struct mlv_pack_fd *slot = NULL;
	struct stat st;
	char *path;
	int fd;

	for (int i = 0; i < MLV_PACK_FD_CACHE; i++) {
		struct mlv_pack_fd *p = &s->fds[i];

		if (p->pack_id == pack_id && !strcmp(p->pf.name, name)) {
			p->used = ++s->tick;
			*out = &p->pf;
			return 0;
		}
		if (!slot || !p->pack_id || (slot->pack_id && p->used < slot->used))
			slot = p;
	}
	if (!mlv_pack_name_valid(name))
		return mlv_error_set(MLV_ECORRUPT, "index '%s': bad pack name '%s'", s->dbpath, name);
	path = mlv_xstrfmt("%s/%s", s->packdir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int ret = mlv_error_set_errno(errno == ENOENT ? MLV_ECORRUPT : MLV_EIO,
					      "cannot open pack '%s'", path);

		free(path);
		return ret;
	}
	free(path);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return mlv_error_set_errno(MLV_EIO, "cannot stat pack '%s'", name);
	}
	if (slot->pack_id)
		close(slot->pf.fd);
	slot->pack_id = pack_id;
	slot->used = ++s->tick;
	slot->pf.fd = fd;
	slot->pf.size = (uint64_t)st.st_size;
	snprintf(slot->pf.name, sizeof(slot->pf.name), "%s", name);
	*out = &slot->pf;
	return 0;
}

int mlv_store_has(struct mlv_store *s, const struct mlv_oid *id)
{
	return mlv_index_has(s->ix, id);
}

static int lookup(struct mlv_store *s, const struct mlv_oid *id, struct mlv_index_obj *obj)
{
	int ret = mlv_index_lookup(s->ix, id, obj);

	if (ret < 0)
		return ret;
	if (!ret)
		return mlv_error_set(MLV_ENOTFOUND, "object %s not found", mlv_oid_hex(id));
	if (!obj->pack[0])
		return mlv_error_set(MLV_ECORRUPT, "object %s: its pack (id %lld) is not in the index",
				     mlv_oid_hex(id), (long long)obj->pack_id);
	return 0;
}

int mlv_store_info(struct mlv_store *s, const struct mlv_oid *id, struct mlv_object_info *out)
{
	struct mlv_index_obj obj;
	int ret = lookup(s, id, &obj);

	if (ret)
		return ret;
	out->type = (enum mlv_object_type)obj.type;
	out->size = obj.raw_len;
	out->stored_size = obj.stored_len;
	snprintf(out->pack, sizeof(out->pack), "%s", obj.pack);
	out->offset = obj.offset;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int mlv_store_resolve_prefix(struct mlv_store *s, struct mlv_oid *out, const char *hex)
{
	unsigned char lo[MLV_OID_RAWSZ], hi[MLV_OID_RAWSZ];
	size_t len = strlen(hex);
	struct mlv_oid found[2];
	sqlite3_stmt *st;
	int n = 0, rc;

	if (len < 8 || len > MLV_OID_HEXSZ)
		return mlv_error_set(MLV_EINVALID, "'%s' is not an object id prefix (8 to 64 hex digits)",
				     hex);
	memset(lo, 0, sizeof(lo));
	memset(hi, 0xff, sizeof(hi));
	for (size_t i = 0; i < len; i++) {
		int v = hexval((unsigned char)hex[i]);

		if (v < 0)
			return mlv_error_set(MLV_EINVALID, "'%s' is not an object id prefix", hex);
		if (i & 1) {
			lo[i / 2] = (unsigned char)((lo[i / 2] & 0xf0) | v);
			hi[i / 2] = (unsigned char)((hi[i / 2] & 0xf0) | v);
		} else {
			lo[i / 2] = (unsigned char)(v << 4);
			hi[i / 2] = (unsigned char)(v << 4 | 0xf);
		}
	}
	if (!(st = mlv_index_stmt(s->ix, MLV_SQL_OBJ_PREFIX)))
		return mlv_error_last_code();
	sqlite3_bind_blob(st, 1, lo, sizeof(lo), SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, hi, sizeof(hi), SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 2) {
		if (sqlite3_column_bytes(st, 0) != MLV_OID_RAWSZ)
			continue;
		memcpy(found[n++].id, sqlite3_column_blob(st, 0), MLV_OID_RAWSZ);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return mlv_index_error(s->ix, rc, "cannot look up object prefix");
	if (!n)
		return mlv_error_set(MLV_ENOTFOUND, "no object matches '%s'", hex);
	if (n > 1)
		return mlv_error_set(MLV_EAMBIGUOUS, "object id prefix '%s' is ambiguous", hex);
	*out = found[0];
	return 0;
}

static int read_record(struct mlv_store *s, const struct mlv_oid *id, struct mlv_buf *out,
		       int *type_out, uint64_t max)
{
	const struct mlv_pack_file *pf;
	struct mlv_index_obj obj;
	struct mlv_pack_entry hdr;
	int ret;

	if ((ret = lookup(s, id, &obj)))
		return ret;
	if (obj.raw_len > max)
		return mlv_error_set(MLV_EINVALID, "object %s is larger than %llu bytes",
				     mlv_oid_hex(id), (unsigned long long)max);
	if ((ret = mlv_store_pack_get(s, obj.pack_id, obj.pack, &pf)) ||
	    (ret = mlv_pack_read_record(&s->rd, pf, obj.offset, id, max, out, &hdr))) {
		/* Every read error names the object as well as the pack. */
		if (!strstr(mlv_error_last(), mlv_oid_hex(id)))
			mlv_error_wrap(ret, "object %s", mlv_oid_hex(id));
		return ret;
	}
	if (type_out)
		*type_out = hdr.type;
	return 0;
}

int mlv_store_read(struct mlv_store *s, const struct mlv_oid *id, struct mlv_buf *out,
		   enum mlv_object_type *type_out, uint64_t max)
{
	int type, ret = read_record(s, id, out, &type, max);

	if (!ret && type_out)
		*type_out = (enum mlv_object_type)type;
	return ret;
}

int mlv_store_has_blob(struct mlv_store *s, const struct mlv_oid *id)
{
	struct mlv_index_obj obj;
	const unsigned char *p;
	size_t nr;
	int type, ret;

	if ((ret = lookup(s, id, &obj)))
		return ret == MLV_ENOTFOUND ? (mlv_error_clear(), 0) : ret;
	if (obj.type != MLV_OBJ_RECIPE)
		return obj.type == MLV_OBJ_CHUNK;
	/* A recipe that cannot be read leaves the blob incomplete, not the caller failed. */
	if (read_record(s, id, &s->recipe_buf, &type, MLV_OBJECT_META_MAX)) {
		mlv_error_clear();
		return 0;
	}
	nr = (s->recipe_buf.len - MLV_RECIPE_MAGIC_LEN) / MLV_RECIPE_ENTRY_SIZE;
	p = (const unsigned char *)s->recipe_buf.ptr + MLV_RECIPE_MAGIC_LEN;
	for (size_t i = 0; i < nr; i++, p += MLV_RECIPE_ENTRY_SIZE) {
		struct mlv_oid cid;

		memcpy(cid.id, p + 8, MLV_OID_RAWSZ);
		if ((ret = mlv_store_has(s, &cid)) <= 0)
			return ret;
	}
	return 1;
}

int mlv_store_read_blob(struct mlv_store *s, const struct mlv_oid *id, mlv_sink_fn sink, void *ctx)
{
	struct mlv_index_obj obj;
	struct mlv_oid got;
	const unsigned char *p;
	size_t nr;
	int type, ret;

	if ((ret = lookup(s, id, &obj)))
		return ret;
	if (obj.type == MLV_OBJ_CHUNK) {
		if ((ret = read_record(s, id, &s->chunk_buf, &type, MLV_CHUNK_MAX)))
			return ret;
		return sink(ctx, s->chunk_buf.ptr, s->chunk_buf.len);
	}
	if (obj.type != MLV_OBJ_RECIPE)
		return mlv_error_set(MLV_EINVALID, "object %s is a %s, not a blob", mlv_oid_hex(id),
				     mlv_store_name(s, (enum mlv_object_type)obj.type));
	if ((ret = read_record(s, id, &s->recipe_buf, &type, MLV_OBJECT_META_MAX)))
		goto done;
	if (type != MLV_OBJ_RECIPE) {
		ret = mlv_error_set(MLV_ECORRUPT, "pack '%s': object %s is not a recipe", obj.pack,
				    mlv_oid_hex(id));
		goto done;
	}
	nr = (s->recipe_buf.len - MLV_RECIPE_MAGIC_LEN) / MLV_RECIPE_ENTRY_SIZE;
	p = (const unsigned char *)s->recipe_buf.ptr + MLV_RECIPE_MAGIC_LEN;
	for (size_t i = 0; i < nr; i++, p += MLV_RECIPE_ENTRY_SIZE) {
		uint64_t len = mlv_get_be64(p);
		struct mlv_oid cid;

		memcpy(cid.id, p + 8, MLV_OID_RAWSZ);
		if ((ret = read_record(s, &cid, &s->chunk_buf, &type, MLV_CHUNK_MAX))) {
			mlv_error_wrap(ret, "blob %s", mlv_oid_hex(id));
			goto done;
		}
		if (type != MLV_OBJ_CHUNK || s->chunk_buf.len != len) {
			ret = mlv_error_set(MLV_ECORRUPT,
					    "pack '%s': recipe %s: chunk %zu (%s) does not match",
					    obj.pack, mlv_oid_hex(id), i, mlv_oid_hex(&cid));
			goto done;
		}
		mlv_hash_update(&s->blob_hash, s->chunk_buf.ptr, s->chunk_buf.len);
		if ((ret = sink(ctx, s->chunk_buf.ptr, s->chunk_buf.len)))
			goto done;
	}
	mlv_hash_final(&got, &s->blob_hash);
	if (mlv_oid_cmp(&got, id))
		ret = mlv_error_set(MLV_ECORRUPT,
				    "pack '%s': blob %s is corrupt: its content hashes to %s",
				    obj.pack, mlv_oid_hex(id), mlv_oid_hex(&got));
	return ret;
done:
	/* Reset the running hash for the next blob. */
	mlv_hash_final(&got, &s->blob_hash);
	return ret;
}
