#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/metrics.h"
#include "tap.h"

/* An accumulator writing its series to a temporary file, with its warnings collected. */
struct acc {
	struct mlv_metrics *m;
	struct mlv_buf warnings;
	int nr_warnings;
	int fd;
	char path[256];
};

static void collect(void *data, const char *msg)
{
	struct acc *a = data;

	mlv_buf_adds(&a->warnings, msg);
	mlv_buf_addch(&a->warnings, '\n');
	a->nr_warnings++;
}

static void acc_start(struct acc *a, const char *name)
{
	struct mlv_metrics_opts o = MLV_METRICS_OPTS_INIT;

	memset(a, 0, sizeof(*a));
	mlv_buf_init(&a->warnings, 0);
	snprintf(a->path, sizeof(a->path), "%s/%s.jsonl", tap_tmpdir(), name);
	a->fd = open(a->path, O_RDWR | O_CREAT | O_TRUNC, 0666);
	o.warn = collect;
	o.warn_data = a;
	o.series_fd = a->fd;
	if (mlv_metrics_new(&a->m, &o) < 0)
		abort();
}

/* The series written so far. */
static char *acc_series(struct acc *a)
{
	static char buf[1 << 16];
	ssize_t n = pread(a->fd, buf, sizeof(buf) - 1, 0);

	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void acc_end(struct acc *a)
{
	mlv_metrics_free(a->m);
	mlv_buf_release(&a->warnings);
	close(a->fd);
}

static char *summary_text(struct acc *a)
{
	json_t *s = mlv_metrics_summary(a->m);
	char *text = json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));

	json_decref(s);
	return text;
}

static void feed(struct acc *a, const char *s)
{
	mlv_metrics_feed_json(a->m, s, strlen(s), 1.5);
}

static void test_chunks(void)
{
	static const char input[] =
		"{\"step\": 1, \"loss\": 0.5}\n"
		"{\"step\": 2, \"loss\": 0.25, \"acc\": 0.8}\n"
		"{\"loss\": 0.125}";
	static const char want[] =
		"{\"t\":1.500000,\"step\":1,\"m\":{\"loss\":0.5}}\n"
		"{\"t\":1.500000,\"step\":2,\"m\":{\"loss\":0.25,\"acc\":0.8}}\n"
		"{\"t\":2.000000,\"step\":null,\"m\":{\"loss\":0.125}}\n";
	size_t chunk;

	for (chunk = 1; chunk <= 7; chunk += 3) {
		struct acc a;
		size_t i;
		char *sum;

		acc_start(&a, "chunks");
		for (i = 0; i < sizeof(input) - 1; i += chunk) {
			size_t n = sizeof(input) - 1 - i < chunk ? sizeof(input) - 1 - i : chunk;

			mlv_metrics_feed_json(a.m, input + i, n, 1.5);
			if (i + n < sizeof(input) - 1 && i + n > 30 && i < 30)
				ok(strstr(acc_series(&a), "\"step\":1") != NULL,
				   "chunk %zu: a complete line is written at once", chunk);
		}
		is_int(mlv_metrics_records(a.m), 2, "chunk %zu: the last line waits for finish", chunk);
		is_int(mlv_metrics_finish(a.m, 2.0), 0, "chunk %zu: finish", chunk);
		is_str(acc_series(&a), want, "chunk %zu: series", chunk);
		is_int(mlv_metrics_points(a.m), 4, "chunk %zu: points", chunk);
		sum = summary_text(&a);
		is_str(sum, "{\"errors\":0,\"final\":{\"acc\":0.80000000000000004,\"loss\":0.125},"
		       "\"series\":{\"acc\":{\"first\":0.80000000000000004,\"last\":0.80000000000000004,"
		       "\"last_step\":2,\"max\":0.80000000000000004,\"min\":0.80000000000000004,"
		       "\"nonfinite\":0,\"points\":1},\"loss\":{\"first\":0.5,\"last\":0.125,"
		       "\"last_step\":2,\"max\":0.5,\"min\":0.125,\"nonfinite\":0,\"points\":3}},"
		       "\"sources\":[\"$MLV_METRICS\"]}", "chunk %zu: summary", chunk);
		free(sum);
		is_int(a.nr_warnings, 0, "chunk %zu: no warning", chunk);
		acc_end(&a);
	}
}

static void test_malformed(void)
{
	struct acc a;

	acc_start(&a, "malformed");
	feed(&a, "{\"a\": 1}\n"
		 "{\"a\": 2,, \"b\": 3}\n"
		 "[1, 2]\n"
		 "\n"
		 "{\"a\": \"text\", \"b\": true, \"c\": null, \"d\": [1, {\"e\": 2}], \"f\": 4}\n"
		 "not json\n"
		 "{\"a\": 5} trailing\n"
		 "{\"step\": -1, \"a\": 6}\n"
		 "{\"step\": \"7\", \"a\": 6}\n"
		 "{\"step\": null, \"a\": 7}\n"
		 "{\"a\": 01}\n"
		 "{\"a\": \"\\x\"}\n"
		 "{\"a\": \"\xff\"}\n"
		 "{\"\": 1}\n"
		 "{\"a\": 8}\n");
	mlv_metrics_finish(a.m, 3);
	is_int(mlv_metrics_errors(a.m), 10, "ten malformed lines counted");
	ok(strstr(a.warnings.ptr, "$MLV_METRICS:2: expected a name in quotes, found ','") != NULL,
	   "bad JSON named with its line");
	ok(strstr(a.warnings.ptr, "$MLV_METRICS:3: not a JSON object") != NULL, "an array");
	ok(strstr(a.warnings.ptr, "$MLV_METRICS:6: ") != NULL, "line 6");
	ok(strstr(a.warnings.ptr, "$MLV_METRICS:7: 't' after the object") != NULL, "trailing garbage");
	ok(strstr(a.warnings.ptr, "$MLV_METRICS:8: \"step\" is not a non-negative integer") != NULL,
	   "negative step");
	ok(strstr(a.warnings.ptr, "$MLV_METRICS:9: \"step\" is not") != NULL, "string step");
	ok(strstr(a.warnings.ptr, "$MLV_METRICS:11: ") != NULL, "leading zero");
	ok(strstr(a.warnings.ptr, "$MLV_METRICS:12: bad escape") != NULL, "bad escape");
	ok(strstr(a.warnings.ptr, "$MLV_METRICS:13: invalid UTF-8") != NULL, "bad UTF-8");
	ok(strstr(a.warnings.ptr, "$MLV_METRICS:14: empty metric name") != NULL, "empty name");
	is_str(acc_series(&a),
	       "{\"t\":1.500000,\"step\":null,\"m\":{\"a\":1}}\n"
	       "{\"t\":1.500000,\"step\":null,\"m\":{\"f\":4}}\n"
	       "{\"t\":1.500000,\"step\":null,\"m\":{\"a\":7}}\n"
	       "{\"t\":1.500000,\"step\":null,\"m\":{\"a\":8}}\n",
	       "the good lines are ingested, non-numbers passed over");
	acc_end(&a);
}

static void test_warn_limit(void)
{
	struct acc a;
	int i;

	acc_start(&a, "limit");
	for (i = 0; i < 150; i++)
		feed(&a, "{bad\n");
	feed(&a, "{\"ok\": 1}\n");
	is_int(mlv_metrics_errors(a.m), 150, "every bad line counted");
	is_int(a.nr_warnings, MLV_METRICS_WARN_MAX + 1, "warnings stop after the limit");
	ok(strstr(a.warnings.ptr, "further malformed metrics are not shown") != NULL, "said once");
	is_int(mlv_metrics_points(a.m), 1, "the good line still counts");
	acc_end(&a);
}

static void test_long_line(void)
{
	struct acc a;
	char *chunk = malloc(4096);
	size_t sent = 0;

	acc_start(&a, "long");
	feed(&a, "{\"a\": 1}\n{\"pad\": \"");
	memset(chunk, 'x', 4096);
	while (sent <= MLV_METRICS_LINE_MAX + 8192) {
		mlv_metrics_feed_json(a.m, chunk, 4096, 1.5);
		sent += 4096;
	}
	feed(&a, "\"}\n{\"a\": 2}\n{bad\n");
	mlv_metrics_finish(a.m, 2);
	ok(strstr(a.warnings.ptr, "$MLV_METRICS:2: line longer than 1048576 bytes, skipped") != NULL,
	   "an over-long line is reported");
	ok(strstr(a.warnings.ptr, "$MLV_METRICS:4: ") != NULL, "lines after it keep their numbers");
	is_int(a.nr_warnings, 2, "reported once");
	is_int(mlv_metrics_points(a.m), 2, "the lines around it are ingested");

	/* one chunk holding a whole over-long line */
	{
		struct acc b;
		size_t n = MLV_METRICS_LINE_MAX + 100;
		char *big = malloc(n + 32);

		acc_start(&b, "long1");
		memset(big, ' ', n);
		memcpy(big + n, "\n{\"z\": 3}\n", 10);
		mlv_metrics_feed_json(b.m, big, n + 10, 1);
		is_int(mlv_metrics_errors(b.m), 1, "in one chunk: reported");
		is_int(mlv_metrics_points(b.m), 1, "in one chunk: the next line is ingested");
		acc_end(&b);
		free(big);
	}
	/* exactly at the limit is fine */
	{
		struct acc b;
		size_t n = MLV_METRICS_LINE_MAX;
		char *big = malloc(n + 32);

		acc_start(&b, "long2");
		memset(big, ' ', n);
		memcpy(big, "{\"z\": 3}", 8);
		big[n] = '\n';
		mlv_metrics_feed_json(b.m, big, n / 2, 1);
		mlv_metrics_feed_json(b.m, big + n / 2, n + 1 - n / 2, 1);
		is_int(mlv_metrics_errors(b.m), 0, "a line of exactly the limit is no error");
		is_int(mlv_metrics_points(b.m), 1, "and it is read");
		acc_end(&b);
		free(big);
	}
	free(chunk);
	acc_end(&a);
}

static void test_nan_nested_crlf(void)
{
	struct acc a;
	char *sum;
	json_t *s, *loss;

	acc_start(&a, "nan");
	feed(&a, "{\"loss\": NaN, \"val\": {\"loss\": 0.2, \"deep\": {\"x\": 1}}, \"inf\": Infinity}\r\n"
		 "{\"loss\": 1.5, \"inf\": -Infinity, \"big\": 1e999}\r\n"
		 "{\"loss\": NaN}\r\n");
	mlv_metrics_finish(a.m, 2);
	is_int(a.nr_warnings, 0, "NaN, Infinity and CRLF are accepted");
	is_str(acc_series(&a),
	       "{\"t\":1.500000,\"step\":null,\"m\":{\"loss\":null,\"val.loss\":0.2,\"val.deep.x\":1,"
	       "\"inf\":null}}\n"
	       "{\"t\":1.500000,\"step\":null,\"m\":{\"loss\":1.5,\"inf\":null,\"big\":null}}\n"
	       "{\"t\":1.500000,\"step\":null,\"m\":{\"loss\":null}}\n",
	       "non-finite values are null in the series; nested names flattened");
	s = mlv_metrics_summary(a.m);
	loss = json_object_get(json_object_get(s, "series"), "loss");
	is_int(json_integer_value(json_object_get(loss, "nonfinite")), 2, "NaNs counted");
	ok(json_is_null(json_object_get(loss, "first")), "first NaN is null");
	ok(json_is_null(json_object_get(loss, "last")), "last NaN is null");
	ok(json_real_value(json_object_get(loss, "min")) == 1.5, "min over finite values");
	ok(json_is_null(json_object_get(json_object_get(s, "final"), "loss")), "final NaN is null");
	ok(json_is_null(json_object_get(json_object_get(json_object_get(s, "series"), "inf"), "min")),
	   "no finite value: min null");
	json_decref(s);
	sum = summary_text(&a);
	ok(strstr(sum, "\"val.deep.x\":{") != NULL, "nested name in the summary");
	free(sum);
	acc_end(&a);
}

static void test_exact(void)
{
	struct acc a;
	json_t *s, *fin;

	acc_start(&a, "exact");
	feed(&a, "{\"a\": 0.1, \"b\": 1e-300, \"c\": 12345678901234567890, \"d\": 2.5E+3, "
		 "\"e\": -0.30000000000000004, \"f\": 9007199254740993, "
		 "\"g\": 0.1000000000000000055511151231257827}\n");
	is_str(acc_series(&a),
	       "{\"t\":1.500000,\"step\":null,\"m\":{\"a\":0.1,\"b\":1e-300,\"c\":12345678901234567890,"
	       "\"d\":2.5E+3,\"e\":-0.30000000000000004,\"f\":9007199254740993,"
	       "\"g\":0.1000000000000000055511151231257827}}\n",
	       "numbers are written as they came");
	s = mlv_metrics_summary(a.m);
	fin = json_object_get(s, "final");
	ok(json_number_value(json_object_get(fin, "a")) == 0.1, "0.1 exact");
	ok(json_number_value(json_object_get(fin, "b")) == 1e-300, "1e-300 exact");
	ok(json_number_value(json_object_get(fin, "c")) == 12345678901234567890.0, "big integer");
	ok(json_is_integer(json_object_get(fin, "d")) &&
	   json_integer_value(json_object_get(fin, "d")) == 2500, "integral value as an integer");
	ok(json_number_value(json_object_get(fin, "e")) == -0.30000000000000004, "17 digits");
	ok(json_number_value(json_object_get(fin, "f")) == 9007199254740992.0,
	   "beyond 2^53: the nearest double");
	ok(json_number_value(json_object_get(fin, "g")) == 0.1, "long mantissa");
	json_decref(s);
	acc_end(&a);
}

/* The fast path against strtod over many generated numbers. */
static void test_strtod(void)
{
	unsigned seed = 12345, i, bad = 0;

	for (i = 0; i < 200000; i++) {
		char text[64], line[96];
		double want, got;
		json_t *o = NULL;
		int n;

		seed = seed * 1103515245 + 12345;
		switch (i % 4) {
		case 0:
			n = snprintf(text, sizeof(text), "%u.%u", seed % 100000, (seed >> 8) % 100000);
			break;
		case 1:
			n = snprintf(text, sizeof(text), "0.%08u", seed % 100000000);
			break;
		case 2:
			n = snprintf(text, sizeof(text), "-%u%u.%u", seed, seed >> 3, seed % 7);
			break;
		default:
			n = snprintf(text, sizeof(text), "%.17g", (double)seed / 3.0e7);
			break;
		}
		want = strtod(text, NULL);
		snprintf(line, sizeof(line), "{\"v\": %.*s}", n, text);
		if (mlv_metrics_flatten(&o, line, strlen(line), "gen") < 0) {
			bad++;
			continue;
		}
		got = json_number_value(json_object_get(o, "v"));
		if (got != want) {
			if (bad++ < 5)
				tap_diag("%s: %.17g, strtod %.17g", text, got, want);
		}
		json_decref(o);
	}
	is_int(bad, 0, "200000 numbers read as strtod reads them");
}

static void test_regex(void)
{
	struct acc a;
	static const char out[] =
		"Epoch 1/10\n"
		"epoch 1 loss=0.5000 acc=0.8 lr=1e-3\n"
		"noise=1\n"
		"epoch 2 loss=0.2500, acc=95.5% step=20 time=12:30 x=2ms y=.5\r"
		"epoch 3 loss=nan\r\n"
		"epoch 4 loss=0.1";

	acc_start(&a, "regex");
	is_int(mlv_metrics_feed_stdout(a.m, out, sizeof(out) - 1, 1), 0, "no regex: nothing");
	is_int(mlv_metrics_points(a.m), 0, "no regex: no point");
	is_int(mlv_metrics_set_regex(a.m, "loss="), 0, "regex set");
	mlv_metrics_feed_stdout(a.m, out, 20, 1);
	mlv_metrics_feed_stdout(a.m, out + 20, sizeof(out) - 1 - 20, 1);
	mlv_metrics_finish(a.m, 2);
	is_str(acc_series(&a),
	       "{\"t\":1.000000,\"step\":null,\"m\":{\"loss\":0.5000,\"acc\":0.8,\"lr\":1e-3}}\n"
	       "{\"t\":1.000000,\"step\":20,\"m\":{\"loss\":0.2500,\"acc\":95.5,\"y\":0.5}}\n"
	       "{\"t\":1.000000,\"step\":null,\"m\":{\"loss\":null}}\n"
	       "{\"t\":2.000000,\"step\":null,\"m\":{\"loss\":0.1}}\n",
	       "name=value pairs of the selected lines");
	acc_end(&a);

	acc_start(&a, "keras");
	mlv_metrics_set_regex(a.m, " - loss");
	mlv_metrics_feed_stdout(a.m, "32/32 [====] - 0s 2ms/step - loss: 0.6931 - accuracy: 0.5000\n",
				61, 1);
	is_str(acc_series(&a),
	       "{\"t\":1.000000,\"step\":null,\"m\":{\"loss\":0.6931,\"accuracy\":0.5000}}\n",
	       "name: value pairs");
	acc_end(&a);

	acc_start(&a, "groups");
	is_int(mlv_metrics_set_regex(a.m, "([a-z_]+)=([^ ]*)"), 0, "two groups");
	mlv_metrics_feed_stdout(a.m, "a=1 b=x c=3\nskip\nd=4e2\n", 24, 1);
	is_str(acc_series(&a),
	       "{\"t\":1.000000,\"step\":null,\"m\":{\"a\":1,\"c\":3}}\n"
	       "{\"t\":1.000000,\"step\":null,\"m\":{\"d\":4e2}}\n",
	       "each match a point");
	ok(strstr(a.warnings.ptr, "stdout:1: 'x' is not a number") != NULL,
	   "a value that is no number");
	is_int(mlv_metrics_errors(a.m), 1, "counted");
	acc_end(&a);

	acc_start(&a, "badre");
	is_int(mlv_metrics_set_regex(a.m, "(a"), MLV_EINVALID, "bad regex");
	ok(strstr(mlv_error_last(), "bad regex '(a'") != NULL, "named: %s", mlv_error_last());
	is_int(mlv_metrics_set_regex(a.m, "(a)=1"), MLV_EINVALID, "one group");
	ok(strstr(mlv_error_last(), "has 1 groups") != NULL, "says why: %s", mlv_error_last());
	acc_end(&a);
}

static void write_file(const char *name, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tap_tmpdir(), name);
	f = fopen(path, "w");
	fputs(content, f);
	fclose(f);
}

static void test_final_file(void)
{
	struct acc a;
	int dirfd = open(tap_tmpdir(), O_RDONLY | O_DIRECTORY);
	char *sum;
	char target[512];

	write_file("metrics.json", "{\n  \"acc\": 0.9,\n  \"val\": {\"loss\": 0.25, \"f1\": NaN},\n"
		   "  \"name\": \"x\", \"list\": [1, 2]\n}\n");
	write_file("bad.json", "{\n  \"acc\": 0.9,\n  \"val\": {\"loss\": }\n}\n");
	snprintf(target, sizeof(target), "%s/metrics.json", tap_tmpdir());
	{
		char link[512];

		snprintf(link, sizeof(link), "%s/link.json", tap_tmpdir());
		if (symlink(target, link) < 0)
			tap_diag("symlink: %s", strerror(errno));
	}

	acc_start(&a, "final");
	feed(&a, "{\"loss\": 0.5, \"epoch\": 3}\n");
	mlv_metrics_point(a.m, "sys.cpu", 97.5, MLV_METRICS_NO_STEP, 2);
	sum = summary_text(&a);
	ok(strstr(sum, "\"final\":{\"epoch\":3,\"loss\":0.5}") != NULL,
	   "without -M: last values, system samples left out: %s", sum);
	ok(strstr(sum, "\"sources\":[\"$MLV_METRICS\",\"system\"]") != NULL, "sources");
	ok(strstr(sum, "\"sys.cpu\":{\"first\":97.5") != NULL, "the system series is kept");
	free(sum);

	is_int(mlv_metrics_final_file(a.m, dirfd, "link.json"), MLV_EINVALID,
	       "a symlink is not followed");
	is_int(mlv_metrics_final_file(a.m, dirfd, "missing.json"), MLV_ENOTFOUND, "missing");
	is_int(mlv_metrics_final_file(a.m, dirfd, "bad.json"), MLV_EINVALID, "malformed");
	is_str(mlv_error_last(), "bad.json:3: expected a value, found '}'", "named with its line");
	is_int(mlv_metrics_final_file(a.m, dirfd, "metrics.json"), 0, "read");
	sum = summary_text(&a);
	ok(strstr(sum, "\"final\":{\"acc\":0.90000000000000002,\"val.f1\":null,\"val.loss\":0.25}") !=
	   NULL, "with -M: its metrics, flattened: %s", sum);
	ok(strstr(sum, "\"sources\":[\"$MLV_METRICS\",\"-M metrics.json\",\"system\"]") != NULL,
	   "-M among the sources");
	ok(strstr(sum, "\"errors\":1") != NULL, "the bad file counted");
	free(sum);
	acc_end(&a);
	close(dirfd);
}

static void test_point_and_fd(void)
{
	struct acc a;
	int p[2];

	acc_start(&a, "point");
	is_int(mlv_metrics_point(a.m, "", 1, 0, 1), MLV_EINVALID, "empty name");
	is_int(mlv_metrics_point(a.m, "gpu0.util", 55, 7, 2.25), 0, "a point");
	is_int(mlv_metrics_point(a.m, "gpu0.util", NAN, MLV_METRICS_NO_STEP, 4.0000004), 0, "NaN");
	is_str(acc_series(&a),
	       "{\"t\":2.250000,\"step\":7,\"m\":{\"gpu0.util\":55}}\n"
	       "{\"t\":4.000000,\"step\":null,\"m\":{\"gpu0.util\":null}}\n",
	       "one line a point");
	if (pipe(p) < 0)
		abort();
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	if (write(p[1], "{\"x\": 1}\n{\"x\"", 13) != 13)
		abort();
	is_int(mlv_metrics_feed_fd(a.m, p[0], 5), 13, "feed_fd reads what is there");
	is_int(mlv_metrics_feed_fd(a.m, p[0], 5), 0, "and nothing more");
	if (write(p[1], ": 2}", 4) != 4)
		abort();
	close(p[1]);
	is_int(mlv_metrics_feed_fd(a.m, p[0], 6), 4, "to end of file");
	mlv_metrics_finish(a.m, 7);
	ok(strstr(acc_series(&a), "\"m\":{\"x\":2}") != NULL, "the last line at finish");
	close(p[0]);
	acc_end(&a);

	/* a write that fails is remembered, not fatal */
	{
		struct mlv_metrics *m;
		struct mlv_metrics_opts o = MLV_METRICS_OPTS_INIT;
		int fd = open("/dev/full", O_WRONLY);

		o.series_fd = fd;
		mlv_metrics_new(&m, &o);
		mlv_metrics_feed_json(m, "{\"a\": 1}\n", 9, 1);
		mlv_metrics_feed_json(m, "{\"a\": 2}\n", 9, 1);
		is_int(mlv_metrics_points(m), 2, "ingestion goes on after a failed write");
		is_int(mlv_metrics_finish(m, 2), MLV_EIO, "finish reports the failed write");
		ok(strstr(mlv_error_last(), "cannot write the metrics series") != NULL, "%s",
		   mlv_error_last());
		mlv_metrics_free(m);
		close(fd);
	}
}

static void test_flatten_diff(void)
{
	json_t *a, *b, *d;
	char *text;

	is_int(mlv_metrics_flatten(&a, "{\"acc\": 0.5, \"loss\": 2, \"only_a\": 1, \"same\": 3, "
				   "\"n\": NaN}", 57, "a.json"), 0, "flatten a");
	is_int(mlv_metrics_flatten(&b, "{\"acc\": 0.75, \"loss\": 1, \"only_b\": 1, \"same\": 3, "
				   "\"n\": 1}", 56, "b.json"), 0, "flatten b");
	d = mlv_metrics_diff(a, b, 0);
	text = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
	is_str(text,
	       "[{\"name\":\"acc\",\"old\":0.5,\"new\":0.75,\"only\":null,\"change\":0.25,"
	       "\"relative\":0.5},"
	       "{\"name\":\"loss\",\"old\":2,\"new\":1,\"only\":null,\"change\":-1,\"relative\":-0.5},"
	       "{\"name\":\"n\",\"old\":null,\"new\":1,\"only\":null,\"change\":null,"
	       "\"relative\":null},"
	       "{\"name\":\"only_a\",\"old\":1,\"new\":null,\"only\":\"old\",\"change\":null,"
	       "\"relative\":null},"
	       "{\"name\":\"only_b\",\"old\":null,\"new\":1,\"only\":\"new\",\"change\":null,"
	       "\"relative\":null}]",
	       "diff: changed and one-sided names, sorted");
	free(text);
	json_decref(d);
	d = mlv_metrics_diff(a, NULL, 1);
	is_int(json_array_size(d), 5, "all, against nothing");
	json_decref(d);
	json_decref(a);
	json_decref(b);
	is_int(mlv_metrics_flatten(&a, "[1]", 3, "x.json"), MLV_EINVALID, "not an object");
	is_str(mlv_error_last(), "x.json:1: not a JSON object", "says so");
	is_int(mlv_metrics_flatten(&a, "{\"a\": 1", 7, "x.json"), MLV_EINVALID, "cut short");
	{
		char deep[200];
		int i, n = 0;

		for (i = 0; i < 40; i++)
			n += snprintf(deep + n, sizeof(deep) - (size_t)n, "{\"a\":");
		is_int(mlv_metrics_flatten(&a, deep, (size_t)n, "deep"), MLV_EINVALID, "too deep");
		ok(strstr(mlv_error_last(), "nested deeper than 32 levels") != NULL, "%s",
		   mlv_error_last());
	}
}

int main(void)
{
	test_chunks();
	test_malformed();
	test_warn_limit();
	test_long_line();
	test_nan_nested_crlf();
	test_exact();
	test_strtod();
	test_regex();
	test_final_file();
	test_point_and_fd();
	test_flatten_diff();
	return tap_done();
}
