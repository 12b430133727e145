/*
 * mlv: the command table and dispatcher.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "mlv/tempfile.h"

enum {
	NEED_NOTHING = 0,
	NEED_GIT = 1, /* a git work tree (chdir to its top) */
	NEED_MLV = 2, /* ...with .mlv initialised */
	MAYBE_GIT = 4, /* a work tree if there is one */
	BARE_OK = 8, /* ...or a bare repository (repo->topfd < 0; history only) */
};

struct cmd_struct {
	const char *name;
	int (*fn)(int, const char **, struct mlv_ctx *);
	unsigned flags;
	const char *summary;
};

/* Keep sorted; see the checklist in builtin.h. */
static const struct cmd_struct commands[] = {
	{ "add", cmd_add, NEED_GIT | NEED_MLV, "Track files and directories in the store" },
	{ "cat", cmd_cat, NEED_GIT | NEED_MLV | BARE_OK, "Write the content of an object or tracked file" },
	{ "checkout", cmd_checkout, NEED_GIT | NEED_MLV, "Make the worktree match the pointer files" },
	{ "diff", cmd_diff, NEED_GIT | NEED_MLV | BARE_OK, "Show artifacts and files that differ between revisions" },
	{ "env", cmd_env, MAYBE_GIT, "Show the environment a run would record, or compare two runs" },
	{ "fsck", cmd_fsck, NEED_GIT | NEED_MLV, "Verify the store, the index and the pointers" },
	{ "gc", cmd_gc, NEED_GIT | NEED_MLV | BARE_OK, "Remove stored data that nothing can reach" },
	{ "gpus", cmd_gpus, NEED_NOTHING, "List the GPUs of this machine" },
	{ "hash", cmd_hash, MAYBE_GIT, "Print the ids of files without storing them" },
	{ "help", cmd_help, NEED_NOTHING, "Show help for mlv or one of its commands" },
	{ "hooks", cmd_hooks, NEED_GIT, "Install, remove or show mlv's git hooks" },
	{ "init", cmd_init, NEED_GIT, "Create the mlv store in a git repository" },
	{ "lineage", cmd_lineage, NEED_GIT | NEED_MLV | BARE_OK, "Show the runs, inputs and commits that produced an artifact" },
	{ "log", cmd_log, NEED_GIT | NEED_MLV | BARE_OK, "Show the commits that changed an artifact" },
	{ "ls", cmd_ls, NEED_GIT | NEED_MLV | BARE_OK, "List tracked artifacts or the files of one" },
	{ "merge-driver", cmd_merge_driver, NEED_GIT | NEED_MLV, "Merge pointer files three ways (run by git)" },
	{ "metrics", cmd_metrics, NEED_GIT | NEED_MLV | BARE_OK, "Show and compare metrics of revisions and runs" },
	{ "mv", cmd_mv, NEED_GIT | NEED_MLV, "Move a tracked artifact and its pointer" },
	{ "repro", cmd_repro, NEED_GIT | NEED_MLV, "Run a recorded run again and compare its outputs" },
	{ "rm", cmd_rm, NEED_GIT | NEED_MLV, "Stop tracking an artifact" },
	{ "run", cmd_run, NEED_GIT | NEED_MLV, "Run a command and record what it read, wrote and measured" },
	{ "runs", cmd_runs, NEED_GIT | NEED_MLV | BARE_OK, "List, show and compare recorded runs" },
	{ "status", cmd_status, NEED_GIT | NEED_MLV, "Show tracked paths that differ" },
	{ "version", cmd_version, NEED_NOTHING, "Print the version of mlv" },
};

static const char *const mlv_usage[] = {
	"mlv [--version] [-C <path>] [--[no-]progress] <command> [<args>]",
	NULL,
};

static const struct cmd_struct *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void list_commands(FILE *f)
{
	fprintf(f, "usage: %s\n\nThe commands are:\n", mlv_usage[0]);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "   %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nSee 'mlv help <command>' or 'mlv <command> -h' for details.\n");
}

int cmd_help(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv help [<command>]", NULL };
	static const struct option opts[] = { OPT_END_F };
	int n = parse_options(argc, argv, opts, usage);
	char page[64];

	if (n == 0) {
		list_commands(stdout);
		return 0;
	}
	if (n > 1)
		usage_with_options(usage, opts);
	if (!find_command(argv[0]))
		die("'%s' is not an mlv command; see 'mlv help'", argv[0]);
	snprintf(page, sizeof(page), "mlv-%s", argv[0]);
	fflush(stdout);
	{
		/* Run from a build tree, the pages sit beside the binary. */
		char exe[4096];
		ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		char *slash;

		if (len > 0 && (exe[len] = '\0', slash = strrchr(exe, '/'))) {
			char *local = mlv_xstrfmt("%.*s/man/%s.1", (int)(slash - exe), exe, page);

			if (!access(local, R_OK))
				execlp("man", "man", "-l", local, (char *)NULL);
			free(local);
		}
	}
	execlp("man", "man", page, (char *)NULL);
	/* No man(1): fall back to the command's own usage. */
	{
		const char *sub[] = { argv[0], "-h", NULL };
		const struct cmd_struct *c = find_command(argv[0]);

		c->fn(2, sub, ctx);
	}
	return 0;
}

int cmd_version(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv version", NULL };
	static const struct option opts[] = { OPT_END_F };

	if (parse_options(argc, argv, opts, usage))
		usage_with_options(usage, opts);
	printf("mlv version %s\n", MLV_VERSION);
	return 0;
}

/*
 * Completion support for the scripts in completions/:
 *   mlv __complete            commands, "name<TAB>summary" per line
 *   mlv __complete <command>  its options, "--name[=]<TAB>help[<TAB>choices]"
 */
int cmd_complete(int argc, const char **argv, struct mlv_ctx *ctx)
{
	const struct cmd_struct *c;

	if (argc < 2) {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			printf("%s\t%s\n", commands[i].name, commands[i].summary);
		return 0;
	}
	c = find_command(argv[1]);
	if (!c)
		return 1;
	{
		const char *sub[] = { c->name, "--mlv-complete", NULL };

		return c->fn(2, sub, ctx);
	}
}

static int check_stdout(void)
{
	if (fflush(stdout) || ferror(stdout)) {
		if (errno == EPIPE)
			return 0;
		fprintf(stderr, "fatal: unable to write to standard output: %s\n", strerror(errno));
		return 128;
	}
	return 0;
}

int main(int argc, const char **argv)
{
	struct mlv_ctx ctx = { NULL, 0 };
	const struct cmd_struct *c;
	int i, ret, fd;

	/* A closed 0, 1 or 2 would be handed to the next file we open. */
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	/* Temporary and lock files go with us on Ctrl-C, kill and exit. */
	mlv_sigchain_install();
	ctx.progress = isatty(2);

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--version")) {
			a = "version";
			break;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			list_commands(stdout);
			return 0;
		} else if (!strcmp(a, "-C")) {
			if (++i >= argc) {
				fprintf(stderr, "error: -C requires a directory\n");
				list_commands(stderr);
				return 129;
			}
			if (chdir(argv[i]) < 0)
				die("cannot change to '%s': %s", argv[i], strerror(errno));
		} else if (!strcmp(a, "--progress")) {
			ctx.progress = 1;
		} else if (!strcmp(a, "--no-progress")) {
			ctx.progress = 0;
		} else {
			fprintf(stderr, "error: unknown option '%s'\n", a);
			list_commands(stderr);
			return 129;
		}
	}
	if (i >= argc) {
		list_commands(stderr);
		return 129;
	}
	if (!strcmp(argv[i], "--version"))
		argv[i] = "version";
	if (!strcmp(argv[i], "__complete")) {
		ret = cmd_complete(argc - i, argv + i, &ctx);
		return check_stdout() ? 128 : ret;
	}
	c = find_command(argv[i]);
	if (!c) {
		fprintf(stderr, "error: '%s' is not an mlv command; see 'mlv help'\n", argv[i]);
		return 129;
	}
	if (c->flags & (NEED_GIT | MAYBE_GIT)) {
		int h = 0;

		/* Found as git finds it: GIT_DIR, GIT_WORK_TREE, GIT_CEILING_DIRECTORIES. */

		/* Let -h work anywhere, as git does. */
		for (int k = i + 1; k < argc; k++)
			if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help") ||
			    !strcmp(argv[k], "--mlv-complete"))
				h = 1;
			else if (!strcmp(argv[k], "--"))
				break;
		if (!h && ((c->flags & BARE_OK) ? mlv_repo_discover_bare(&ctx.repo) :
			   mlv_repo_discover(&ctx.repo)) < 0 && (c->flags & NEED_GIT)) {
			fprintf(stderr, "fatal: %s\n", mlv_error_last());
			if ((c->flags & NEED_MLV || !strcmp(c->name, "init")) &&
			    !strstr(mlv_error_last(), "work tree"))
				fprintf(stderr, "hint: run 'git init' first, then 'mlv init'\n");
			return 128;
		}
		/* A bare repository's history is readable without a store (log). */
		if (!h && ctx.repo && (c->flags & NEED_MLV) && !ctx.repo->initialized &&
		    ctx.repo->topfd >= 0) {
			if (ctx.repo->top)
				fprintf(stderr, "fatal: not an mlv repository: '%s/.mlv' is missing\n",
					ctx.repo->top);
			else
				fprintf(stderr, "fatal: not an mlv repository: '%s' is missing\n",
					ctx.repo->storedir);
			fprintf(stderr, "hint: run 'mlv init' at the top of the work tree\n");
			mlv_repo_free(ctx.repo);
			return 128;
		}
		/* The store opens (and an old layout moves) once, here; fsck repairs what fails. */
		if (!h && ctx.repo && (c->flags & NEED_MLV) && ctx.repo->initialized &&
		    strcmp(c->name, "fsck")) {
			struct mlv_store *s;

			if (mlv_repo_store(&s, ctx.repo) < 0)
				die_lib();
		}
	}
	ret = c->fn(argc - i, argv + i, &ctx);
	mlv_repo_free(ctx.repo);
	if (ret < 0)
		ret = 128;
	return check_stdout() ? 128 : ret;
}
