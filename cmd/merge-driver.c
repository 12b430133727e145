/*
 * mlv merge-driver: git's merge driver for pointer files.
 *
 *	[merge "mlv"]
 *		driver = mlv merge-driver %O %A %B %P
 *	.gitattributes:  *.mlv merge=mlv
 *
 * Git writes the base, ours and theirs versions of a pointer file to
 * temporary files and expects the result in the second (%A), with exit 0
 * for a clean merge and non-zero for a conflict.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "mlv/fileio.h"
#include "mlv/merge.h"
#include "mlv/tree.h"

struct side {
	const char *file; /* git's temporary file */
	const char *name; /* "ours", ... */
	struct mlv_buf raw;
	struct mlv_pointer p;
	int present;
};

/* Read one of git's temporary files: a regular file of at most MLV_POINTER_MAX bytes. */
static int read_side(struct side *sd, int may_be_missing)
{
	int fd = open(sd->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int ret;

	if (fd < 0) {
		if (errno == ENOENT && may_be_missing)
			return 0;
		return error("cannot open %s's version '%s': %s", sd->name, sd->file,
			     strerror(errno));
	}
	ret = mlv_read_fd(&sd->raw, fd, MLV_POINTER_MAX, sd->file);
	close(fd);
	if (ret < 0)
		return error("%s's version: %s", sd->name, mlv_error_last());
	return 0;
}

static int parse_side(struct side *sd, const char *pointer)
{
	struct mlv_buf what = MLV_BUF_INIT;
	int ret;

	mlv_buf_addf(&what, "%s (%s)", pointer, sd->name);
	ret = mlv_pointer_parse(&sd->p, sd->raw.ptr ? sd->raw.ptr : "", sd->raw.len, what.ptr);
	mlv_buf_release(&what);
	if (ret < 0)
		return error_lib();
	sd->present = 1;
	return 0;
}

static const char *type_name(uint32_t mode)
{
	switch (mode) {
	case 0:
		return "deleted";
	case MLV_MODE_DIR:
		return "a directory";
	case MLV_MODE_LINK:
		return "a symlink";
	default:
		return "a file";
	}
}

static void print_conflict(struct mlv_ctx *ctx, const char *data, const struct mlv_merge_conflict *c)
{
	struct mlv_buf p = MLV_BUF_INIT;
	const char *show;

	mlv_buf_adds(&p, data);
	if (*c->path) {
		mlv_buf_addch(&p, '/');
		mlv_buf_adds(&p, c->path);
	}
	show = path_show(ctx, p.ptr);
	if (c->ours == MLV_MERGE_DELETED || c->theirs == MLV_MERGE_DELETED) {
		int ours_gone = c->ours == MLV_MERGE_DELETED;

		fprintf(stderr, "CONFLICT (modify/delete): %s deleted in %s and %s in %s\n", show,
			ours_gone ? "ours" : "theirs",
			mlv_merge_change_name(ours_gone ? c->theirs : c->ours),
			ours_gone ? "theirs" : "ours");
	} else if (c->ours == MLV_MERGE_TYPECHANGE || c->theirs == MLV_MERGE_TYPECHANGE ||
		   (c->ours_v.mode == MLV_MODE_DIR) != (c->theirs_v.mode == MLV_MODE_DIR) ||
		   (c->ours_v.mode == MLV_MODE_LINK) != (c->theirs_v.mode == MLV_MODE_LINK)) {
		fprintf(stderr, "CONFLICT (%s): %s is %s in ours and %s in theirs\n",
			c->ours == MLV_MERGE_ADDED ? "add/add" : "type change", show,
			type_name(c->ours_v.mode), type_name(c->theirs_v.mode));
	} else if (c->ours == MLV_MERGE_ADDED) {
		fprintf(stderr, "CONFLICT (add/add): %s added on both sides with different content\n",
			show);
	} else {
		fprintf(stderr, "CONFLICT (content): %s changed on both sides\n", show);
	}
	mlv_buf_release(&p);
}

/* Git's conflict markers around both versions, as git writes a text conflict. */
static int write_conflict(const char *file, const struct side *ours, const struct side *theirs)
{
	struct mlv_buf out = MLV_BUF_INIT;
	int ret;

	mlv_buf_adds(&out, "<<<<<<< ours\n");
	mlv_buf_add(&out, ours->raw.ptr, ours->raw.len);
	mlv_buf_adds(&out, "=======\n");
	mlv_buf_add(&out, theirs->raw.ptr, theirs->raw.len);
	mlv_buf_adds(&out, ">>>>>>> theirs\n");
	ret = mlv_write_file_atomic(file, out.ptr, out.len, 0644, 1);
	mlv_buf_release(&out);
	return ret;
}

static void side_init(struct side *sd, const char *file, const char *name)
{
	memset(sd, 0, sizeof(*sd));
	sd->file = file;
	sd->name = name;
	mlv_buf_init(&sd->raw, 0);
	mlv_pointer_init(&sd->p);
}

static void release_side(struct side *sd)
{
	mlv_buf_release(&sd->raw);
	mlv_pointer_release(&sd->p);
}

int cmd_merge_driver(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = {
		"mlv merge-driver <base> <ours> <theirs> [<path>]",
		NULL,
	};
	const struct option opts[] = { OPT_END_F };
	struct side base, ours, theirs;
	struct mlv_store_writer *w = NULL;
	struct mlv_pointer_merge m;
	struct mlv_store *s;
	struct mlv_buf data = MLV_BUF_INIT, out = MLV_BUF_INIT;
	const char *pointer;
	size_t sl = sizeof(MLV_POINTER_SUFFIX) - 1, len;
	int n, ret = 0;

	n = parse_options(argc, argv, opts, usage);
	if (n != 3 && n != 4)
		usage_with_options(usage, opts);
	side_init(&base, argv[0], "base");
	side_init(&ours, argv[1], "ours");
	side_init(&theirs, argv[2], "theirs");
	pointer = n == 4 ? argv[3] : argv[1];
	len = strlen(pointer);
	if (len > sl && !strcmp(pointer + len - sl, MLV_POINTER_SUFFIX))
		mlv_buf_add(&data, pointer, len - sl);
	else
		mlv_buf_adds(&data, pointer);
	mlv_pointer_merge_init(&m);

	if (read_side(&base, 1) < 0 || read_side(&ours, 0) < 0 || read_side(&theirs, 0) < 0)
		goto fatal;
	/*
	 * No base (added on both sides) is an empty file.  A base holding
	 * conflict markers is git's virtual base of a criss-cross merge whose
	 * own merge conflicted: there is no common version either.
	 */
	if (base.raw.len && !mlv_pointer_conflicted(base.raw.ptr, base.raw.len) &&
	    parse_side(&base, pointer) < 0)
		goto fatal;
	if (parse_side(&ours, pointer) < 0 || parse_side(&theirs, pointer) < 0)
		goto fatal;

	if (mlv_repo_store(&s, ctx->repo) < 0 || mlv_store_writer_new(&w, s) < 0)
		die_lib();
	if (mlv_merge_pointers(s, w, base.present ? &base.p : NULL, &ours.p, &theirs.p, data.ptr,
			       MLV_MERGE_FAVOR_NONE, &m) < 0) {
		error("%s: %s", path_show(ctx, pointer), mlv_error_last());
		if (*mlv_error_last_hint())
			hint("%s", mlv_error_last_hint());
		else if (mlv_error_last_code() == MLV_ENOTFOUND)
			hint("both sides' data must be in this store to merge them: fetch it (or "
			     "'mlv add' it on the branch that made it), then merge again");
		goto fatal;
	}

	if (mlv_pointer_merge_conflicted(&m)) {
		for (size_t i = 0; i < m.conflicts.nr; i++)
			print_conflict(ctx, data.ptr, &m.conflicts.items[i]);
		if (m.conflicts.omitted)
			fprintf(stderr, "CONFLICT (content): and %llu more conflicts in %s (not listed)\n",
				(unsigned long long)m.conflicts.omitted, path_show(ctx, data.ptr));
		if (m.meta_conflict)
			fprintf(stderr, "CONFLICT (pointer): %s\n", m.meta_conflict);
		if (write_conflict(ours.file, &ours, &theirs) < 0)
			die_lib();
		hint("take one side's version of what conflicts, keeping the rest of both, with "
		     "mlv checkout --ours -- %s (or --theirs), then git add -- %s",
		     path_sh(ctx, data.ptr), path_sh(ctx, pointer));
		ret = 1;
		goto done;
	}
	if (m.wrote_tree && mlv_store_writer_commit(w) < 0)
		die_lib();
	mlv_pointer_format(&out, &m.result);
	if (mlv_write_file_atomic(ours.file, out.ptr, out.len, 0644, 1) < 0)
		die_lib();
	goto done;
fatal:
	ret = 128;
done:
	mlv_store_writer_free(w);
	mlv_pointer_merge_release(&m);
	release_side(&base);
	release_side(&ours);
	release_side(&theirs);
	mlv_buf_release(&data);
	mlv_buf_release(&out);
	return ret;
}
