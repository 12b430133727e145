#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/buf.h"
#include "parse-options.h"

#define HELP_COLUMN 26

static void print_usage(FILE *f, const char *const *usage, const struct option *opts)
{
	for (int i = 0; usage[i]; i++)
		fprintf(f, "%s %s\n", i ? "   or:" : "usage:", usage[i]);
	if (opts[0].type != OPT_END)
		fputc('\n', f);
	for (const struct option *o = opts; o->type != OPT_END; o++) {
		struct mlv_buf b = MLV_BUF_INIT;

		mlv_buf_adds(&b, "    ");
		if (o->short_name)
			mlv_buf_addf(&b, "-%c", o->short_name);
		if (o->short_name && o->long_name)
			mlv_buf_adds(&b, ", ");
		if (o->long_name)
			mlv_buf_addf(&b, "--%s", o->long_name);
		if (o->type == OPT_OPTARG)
			mlv_buf_addf(&b, "[=%s]", o->argh ? o->argh : "<value>");
		else if (o->type != OPT_BOOL)
			mlv_buf_addf(&b, " %s", o->argh ? o->argh : "<value>");
		if (b.len + 2 > HELP_COLUMN)
			fprintf(f, "%s\n%*s%s\n", b.ptr, HELP_COLUMN, "", o->help);
		else
			fprintf(f, "%-*s%s\n", HELP_COLUMN, b.ptr, o->help);
		mlv_buf_release(&b);
	}
}

void usage_with_options(const char *const *usage, const struct option *opts)
{
	print_usage(stderr, usage, opts);
	exit(129);
}

void usage_error(const char *const *usage, const struct option *opts, const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_with_options(usage, opts);
}

static void print_completion(const struct option *opts)
{
	for (const struct option *o = opts; o->type != OPT_END; o++) {
		if (o->long_name)
			printf("--%s%s", o->long_name, o->type == OPT_BOOL ? "" : "=");
		else
			printf("-%c", o->short_name);
		printf("\t%s", o->help);
		if (o->choices)
			printf("\t%s", o->choices);
		putchar('\n');
	}
	exit(0);
}

static int set_value(const struct option *o, const char *arg, const char *const *usage,
		     const struct option *opts, const char *shown)
{
	if (o->type == OPT_STRING) {
		if (o->choices) {
			size_t n = strlen(arg);
			const char *c = o->choices;
			int found = 0;

			while (*c && !found) {
				size_t w = strcspn(c, " ");

				found = n && w == n && !memcmp(c, arg, n);
				c += w;
				c += *c == ' ';
			}
			if (!found)
				usage_error(usage, opts, "invalid value '%s' for %s (expected one of: %s)",
					    arg, shown, o->choices);
		}
		*(const char **)o->value = arg;
	} else if (o->type == OPT_OPTARG) {
		*(const char **)o->value = arg;
	} else if (o->type == OPT_LIST) {
		struct opt_list *l = o->value;

		l->v = mlv_realloc(l->v, (l->n + 2) * sizeof(*l->v));
		l->v[l->n++] = arg;
		l->v[l->n] = NULL;
	} else if (o->type == OPT_INT) {
		char *end;
		long v = strtol(arg, &end, 10);

		if (!*arg || *end || v < 0 || v > 1000000)
			usage_error(usage, opts, "%s expects a non-negative number, not '%s'", shown, arg);
		*(int *)o->value = (int)v;
	}
	return 0;
}

static int parse(int argc, const char **argv, const struct option *opts,
		 const char *const *usage, int *dashdash, int stop);

int parse_options(int argc, const char **argv, const struct option *opts,
		  const char *const *usage)
{
	return parse(argc, argv, opts, usage, NULL, 0);
}

int parse_options_dashdash(int argc, const char **argv, const struct option *opts,
			   const char *const *usage, int *dashdash)
{
	return parse(argc, argv, opts, usage, dashdash, 0);
}

int parse_options_stop(int argc, const char **argv, const struct option *opts,
		       const char *const *usage)
{
	return parse(argc, argv, opts, usage, NULL, 1);
}

static int parse(int argc, const char **argv, const struct option *opts,
		 const char *const *usage, int *dashdash, int stop)
{
	int nargs = 0, i;

	if (dashdash)
		*dashdash = -1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct option *o;

		if (!strcmp(a, "--")) {
			if (dashdash)
				*dashdash = nargs;
			i++;
			break;
		}
		if (a[0] != '-' || !a[1]) {
			if (stop)
				break;
			argv[nargs++] = a;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_usage(stdout, usage, opts);
			exit(129);
		}
		if (!strcmp(a, "--mlv-complete"))
			print_completion(opts);
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			int negated = 0;

			for (o = opts; o->type != OPT_END; o++) {
				if (!o->long_name)
					continue;
				if (strlen(o->long_name) == len && !memcmp(o->long_name, name, len))
					break;
				if (o->type == OPT_BOOL && len == strlen(o->long_name) + 3 &&
				    !memcmp(name, "no-", 3) && !memcmp(name + 3, o->long_name, len - 3)) {
					negated = 1;
					break;
				}
			}
			if (o->type == OPT_END)
				usage_error(usage, opts, "unknown option '%s'", a);
			if (o->type == OPT_BOOL) {
				if (eq)
					usage_error(usage, opts, "option '--%s' takes no value", o->long_name);
				*(int *)o->value = !negated;
				continue;
			}
			if (eq) {
				set_value(o, eq + 1, usage, opts, a);
			} else if (o->type == OPT_OPTARG) {
				set_value(o, "", usage, opts, a);
			} else {
				if (i + 1 >= argc)
					usage_error(usage, opts, "option '%s' requires a value", a);
				set_value(o, argv[++i], usage, opts, a);
			}
			continue;
		}
		/* A cluster of short options: -fj4, -j 4. */
		for (const char *p = a + 1; *p; p++) {
			char shown[3] = { '-', *p, '\0' };

			for (o = opts; o->type != OPT_END; o++)
				if (o->short_name == *p)
					break;
			if (o->type == OPT_END)
				usage_error(usage, opts, "unknown switch '%c'", *p);
			if (o->type == OPT_BOOL) {
				*(int *)o->value = 1;
				continue;
			}
			if (o->type == OPT_OPTARG) {
				set_value(o, "", usage, opts, shown);
				continue;
			}
			if (p[1]) {
				set_value(o, p + 1, usage, opts, shown);
			} else {
				if (i + 1 >= argc)
					usage_error(usage, opts, "switch '%c' requires a value", *p);
				set_value(o, argv[++i], usage, opts, shown);
			}
			break;
		}
	}
	for (; i < argc; i++)
		argv[nargs++] = argv[i];
	argv[nargs] = NULL;
	return nargs;
}
