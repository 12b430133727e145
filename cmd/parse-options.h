#ifndef MLV_PARSE_OPTIONS_H
#define MLV_PARSE_OPTIONS_H

/*
 * One option table per command drives parsing, `-h` output and shell
 * completion (`mlv __complete`), so the three can never disagree.
 */
enum opt_type {
	OPT_END = 0,
	OPT_BOOL,   /* int *: set to 1 (0 with --no-<name>) */
	OPT_STRING, /* const char **: takes an argument */
	OPT_INT,    /* int *: takes a non-negative decimal argument */
	OPT_LIST,   /* struct opt_list *: takes an argument, repeatable, all kept in order */
	OPT_OPTARG, /* const char **: an argument only as --name=<value>; "" without one */
};

/* What OPT_LIST collects (the strings are argv's; `v` is freed by the command, or not). */
struct opt_list {
	const char **v;
	size_t n;
};

struct option {
	enum opt_type type;
	int short_name;
	const char *long_name;
	void *value;
	const char *argh;    /* argument placeholder shown in help: "<kind>" */
	const char *help;
	const char *choices; /* space-separated values for completion, or NULL */
};

#define OPT_BOOL_F(s, l, v, h) { OPT_BOOL, (s), (l), (v), NULL, (h), NULL }
#define OPT_STRING_F(s, l, v, a, h) { OPT_STRING, (s), (l), (v), (a), (h), NULL }
#define OPT_CHOICE_F(s, l, v, a, h, c) { OPT_STRING, (s), (l), (v), (a), (h), (c) }
#define OPT_INT_F(s, l, v, a, h) { OPT_INT, (s), (l), (v), (a), (h), NULL }
#define OPT_LIST_F(s, l, v, a, h) { OPT_LIST, (s), (l), (v), (a), (h), NULL }
#define OPT_OPTARG_F(l, v, a, h) { OPT_OPTARG, 0, (l), (v), (a), (h), NULL }
#define OPT_END_F { OPT_END, 0, NULL, NULL, NULL, NULL, NULL }

/*
 * Parse `argv` (argv[0] is the command name).  Options may come before or
 * after operands; "--" ends options.  Returns the number of operands left
 * in argv[0..n-1].  "-h"/"--help" prints usage to stdout and exits 129;
 * an unknown option prints the error and usage to stderr and exits 129.
 * The hidden "--mlv-complete" (used by `mlv __complete`) prints the
 * option table for completion and exits 0.
 */
int parse_options(int argc, const char **argv, const struct option *opts,
		  const char *const *usage);
/*
 * The same; `*dashdash` is the number of operands before "--", or -1 when
 * there was none (to tell "<rev> -- <path>" from "<path>").
 */
int parse_options_dashdash(int argc, const char **argv, const struct option *opts,
			   const char *const *usage, int *dashdash);

/*
 * The same for commands that run another command (`mlv run`): options
 * end at "--" or at the first operand, so the command's own options pass
 * through untouched.
 */
int parse_options_stop(int argc, const char **argv, const struct option *opts,
		       const char *const *usage);

/* Print "usage: ..." and the option list to stderr and exit 129. */
void usage_with_options(const char *const *usage, const struct option *opts)
	__attribute__((noreturn));
/* "error: <msg>" then the usage, exit 129. */
void usage_error(const char *const *usage, const struct option *opts, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#endif
