/*
 * mlv-refnet: the reference trainer (mlv-refnet(1)).
 *
 * A small program whose runs mlv records and reproduces: it trains a
 * two-layer perceptron on data made from the seed (or read from a file)
 * and writes the weights as safetensors.  Deterministic by default, on
 * the CPU with any number of threads and on a CUDA GPU; with
 * --nondeterministic its reductions depend on thread timing, like most
 * GPU training, so that a reproduction can be seen to fail.
 *
 * Exit status: 0 trained and saved, 1 failed (data, output, CUDA
 * unavailable), 2 usage error.
 */
#include "refnet.h"
#include "refnet-math.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MLV_VERSION
#define MLV_VERSION "unknown"
#endif

static const char usage_text[] =
	"usage: mlv-refnet [--seed <n>] [--epochs <n>] [--hidden <n>] [--lr <x>]\n"
	"                  [--batch <n>] [--samples <n>] [--features <n>] [--classes <n>]\n"
	"                  [-d <file>] [--threads <n>] [--device cpu|cuda[:<n>]]\n"
	"                  [--nondeterministic] [-o <file>] [-q]\n"
	"   or: mlv-refnet --version\n";

static const char options_text[] =
	"\n"
	"    --seed <n>            the seed (default: $MLV_SEED, else 0)\n"
	"    --epochs <n>          passes over the data (default 5)\n"
	"    --hidden <n>          hidden units (default 64)\n"
	"    --lr <x>              learning rate of SGD (default 0.1)\n"
	"    --batch <n>           samples per step (default 64)\n"
	"    --samples <n>         synthetic samples (default 4096)\n"
	"    --features <n>        synthetic features (default 32)\n"
	"    --classes <n>         classes (default 10; with -d: the largest label + 1)\n"
	"    -d, --data <file>     train on a .npy or CSV file: one row per sample, label last\n"
	"    --threads <n>         CPU threads (default: the CPUs available, at most 8)\n"
	"    --device <dev>        cpu (default), cuda or cuda:<n>\n"
	"    --nondeterministic    reductions in the order threads finish (results vary)\n"
	"    -o, --output <file>   where to write the weights (default model.safetensors)\n"
	"    -q, --quiet           no progress lines\n"
	"    -h, --help            this help\n"
	"    --version             the version, and the CUDA architectures built in\n";

void refnet_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("mlv-refnet: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void refnet_info(const struct refnet_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o->quiet)
		return;
	fputs("mlv-refnet: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mlv-refnet: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(usage_text, stderr);
	exit(2);
}

/* A decimal number with nothing around it, in [min, max]. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int int_arg(const char *opt, const char *s, int min, int max)
{
	uint64_t v;

	if (parse_u64(s, (uint64_t)max, &v) < 0 || v < (uint64_t)min)
		usage_error("%s: expected a whole number from %d to %d, got '%s'",
			    opt, min, max, s);
	return (int)v;
}

static float lr_arg(const char *s)
{
	char *end;
	float v;

	errno = 0;
	v = strtof(s, &end);
	if (!*s || *end || errno || !isfinite(v) || !(v > 0.0f) || v > 100.0f)
		usage_error("--lr: expected a number above 0 and at most 100, got '%s'", s);
	return v;
}

static int default_threads(void)
{
	cpu_set_t set;
	int n = 1;

	if (!sched_getaffinity(0, sizeof(set), &set))
		n = CPU_COUNT(&set);
	if (n < 1)
		n = 1;
	return n > 8 ? 8 : n;
}

int refnet_chunk_size(int batch)
{
	int k = (batch + REFNET_MAX_CHUNKS - 1) / REFNET_MAX_CHUNKS;

	return k < 8 ? 8 : k;
}

void refnet_shuffle(int32_t *perm, int n, uint64_t seed, int epoch)
{
	uint64_t stream = ((uint64_t)4 << 32) | (uint32_t)epoch;
	int i;

	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = n - 1; i > 0; i--) {
		uint64_t r = refnet_rand(seed, stream, (uint64_t)i);
		int j = (int)(((unsigned __int128)r * (uint64_t)(i + 1)) >> 64);
		int32_t t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
}

static int metrics_fd = -1;
static const char *metrics_path;

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void json_number(char *buf, size_t size, double v)
{
	if (isfinite(v))
		snprintf(buf, size, "%.17g", v);
	else
		snprintf(buf, size, "null");
}

int refnet_report_epoch(const struct refnet_opts *o, int epoch, int n,
			const struct refnet_epoch *ep)
{
	double sum = 0.0, loss, acc;
	long correct = 0;
	char line[256], lossbuf[40], accbuf[40];
	int i, len;

	/* in the order the samples were seen: the same on every device */
	for (i = 0; i < n; i++) {
		sum += (double)ep->loss[i];
		correct += ep->correct[i];
	}
	loss = sum / n;
	acc = (double)correct / n;

	if (!o->quiet) {
		printf("epoch %d loss=%.6f acc=%.4f\n", epoch, loss, acc);
		fflush(stdout);
	}
	if (metrics_fd >= 0) {
		json_number(lossbuf, sizeof(lossbuf), loss);
		json_number(accbuf, sizeof(accbuf), acc);
		len = snprintf(line, sizeof(line), "{\"step\": %d, \"loss\": %s, \"acc\": %s}\n",
			       epoch, lossbuf, accbuf);
		if (len < 0 || (size_t)len >= sizeof(line) ||
		    write_all(metrics_fd, line, (size_t)len) < 0) {
			refnet_error("cannot write to '%s' (MLV_METRICS): %s", metrics_path,
				     strerror(errno));
			return -1;
		}
	}
	return 0;
}

enum {
	OPT_SEED = 256, OPT_EPOCHS, OPT_HIDDEN, OPT_LR, OPT_BATCH, OPT_SAMPLES,
	OPT_FEATURES, OPT_CLASSES, OPT_THREADS, OPT_DEVICE, OPT_NONDET, OPT_VERSION,
};

static const struct option long_options[] = {
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "epochs", required_argument, NULL, OPT_EPOCHS },
	{ "hidden", required_argument, NULL, OPT_HIDDEN },
	{ "lr", required_argument, NULL, OPT_LR },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "samples", required_argument, NULL, OPT_SAMPLES },
	{ "features", required_argument, NULL, OPT_FEATURES },
	{ "classes", required_argument, NULL, OPT_CLASSES },
	{ "data", required_argument, NULL, 'd' },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "nondeterministic", no_argument, NULL, OPT_NONDET },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void parse_device(struct refnet_opts *o, const char *s)
{
	if (!strcmp(s, "cpu")) {
		o->cuda = 0;
	} else if (!strcmp(s, "cuda")) {
		o->cuda = 1;
		o->cuda_index = 0;
	} else if (!strncmp(s, "cuda:", 5)) {
		o->cuda = 1;
		o->cuda_index = int_arg("--device cuda:<n>", s + 5, 0, 1023);
	} else {
		usage_error("--device: expected cpu, cuda or cuda:<n>, got '%s'", s);
	}
}

static void parse_options(struct refnet_opts *o, int argc, char **argv)
{
	const char *env;
	int c;

	memset(o, 0, sizeof(*o));
	o->epochs = 5;
	o->hidden = 64;
	o->batch = 64;
	o->samples = 4096;
	o->features = 32;
	o->classes = 10;
	o->lr = 0.1f;
	o->threads = 0;
	o->out = "model.safetensors";

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:o:qh", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_SEED:
			if (parse_u64(optarg, UINT64_MAX, &o->seed) < 0)
				usage_error("--seed: expected a whole number from 0 to %llu, got '%s'",
					    (unsigned long long)UINT64_MAX, optarg);
			o->seed_given = 1;
			o->seed_from = "--seed";
			break;
		case OPT_EPOCHS:
			o->epochs = int_arg("--epochs", optarg, 1, 1000000);
			break;
		case OPT_HIDDEN:
			o->hidden = int_arg("--hidden", optarg, 1, REFNET_MAX_DIM);
			break;
		case OPT_LR:
			o->lr = lr_arg(optarg);
			break;
		case OPT_BATCH:
			o->batch = int_arg("--batch", optarg, 1, 65536);
			break;
		case OPT_SAMPLES:
			o->samples = int_arg("--samples", optarg, 1, REFNET_MAX_SAMPLES);
			o->samples_given = 1;
			break;
		case OPT_FEATURES:
			o->features = int_arg("--features", optarg, 1, REFNET_MAX_DIM);
			o->features_given = 1;
			break;
		case OPT_CLASSES:
			o->classes = int_arg("--classes", optarg, 2, REFNET_MAX_DIM);
			o->classes_given = 1;
			break;
		case 'd':
			if (!*optarg)
				usage_error("-d: empty file name");
			o->data = optarg;
			break;
		case OPT_THREADS:
			o->threads = int_arg("--threads", optarg, 1, 256);
			break;
		case OPT_DEVICE:
			parse_device(o, optarg);
			break;
		case OPT_NONDET:
			o->nondeterministic = 1;
			break;
		case 'o':
			if (!*optarg)
				usage_error("-o: empty file name");
			o->out = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(options_text, stdout);
			exit(0);
		case OPT_VERSION:
			printf("mlv-refnet %s\n", MLV_VERSION);
			if (refnet_cuda_archs())
				printf("cuda kernels: %s\n", refnet_cuda_archs());
			else
				printf("cuda kernels: none (built without nvcc)\n");
			exit(0);
		case ':':
			usage_error("%s needs a value", argv[optind - 1]);
		default:
			if (optopt && optopt < 256)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->data && (o->samples_given || o->features_given))
		usage_error("--samples and --features describe synthetic data: not with -d");

	if (!o->seed_given && (env = getenv("MLV_SEED"))) {
		if (parse_u64(env, UINT64_MAX, &o->seed) < 0)
			usage_error("MLV_SEED: expected a whole number from 0 to %llu, got '%s'",
				    (unsigned long long)UINT64_MAX, env);
		o->seed_given = 1;
		o->seed_from = "MLV_SEED";
	}
	if (!o->seed_given)
		o->seed_from = "default";
	if (!o->threads) {
		o->threads = default_threads();
		/* a race needs two runners, even on one CPU */
		if (o->nondeterministic && o->threads < 2)
			o->threads = 2;
	}
}

static int open_metrics(void)
{
	const char *path = getenv("MLV_METRICS");

	if (!path || !*path)
		return 0;
	metrics_path = path;
	metrics_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (metrics_fd < 0) {
		refnet_error("cannot open '%s' (MLV_METRICS): %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct refnet_opts o;
	struct refnet_data d = { 0 };
	struct refnet_model m = { 0 };
	int ret = 1;

	parse_options(&o, argc, argv);

	if (o.data) {
		if (refnet_data_load(&d, o.data, o.classes_given ? o.classes : 0) < 0)
			goto done;
	} else if (refnet_data_synthetic(&d, &o) < 0) {
		goto done;
	}
	if (refnet_model_init(&m, d.features, o.hidden, d.classes, o.seed) < 0)
		goto done;
	if (open_metrics() < 0)
		goto done;

	refnet_info(&o, "seed %llu (%s), %s data: %d samples, %d features, %d classes",
		    (unsigned long long)o.seed, o.seed_from, o.data ? "file" : "synthetic",
		    d.n, d.features, d.classes);
	if (o.cuda) {
		if (refnet_train_cuda(&m, &d, &o) < 0)
			goto done;
	} else {
		refnet_info(&o, "device cpu, %d thread%s, %s", o.threads,
			    o.threads == 1 ? "" : "s",
			    o.nondeterministic ? "nondeterministic" : "deterministic");
		if (o.nondeterministic && o.threads == 1)
			refnet_info(&o, "hint: with one thread there is no race: the result is the deterministic one");
		if (refnet_train_cpu(&m, &d, &o) < 0)
			goto done;
	}
	if (refnet_model_save(&m, &o, o.data ? "file" : "synthetic", d.n) < 0)
		goto done;
	refnet_info(&o, "wrote %s", o.out);
	ret = 0;
done:
	if (metrics_fd >= 0 && close(metrics_fd) < 0 && !ret) {
		refnet_error("cannot write to '%s' (MLV_METRICS): %s", metrics_path,
			     strerror(errno));
		ret = 1;
	}
	if (fflush(stdout) || ferror(stdout)) {
		if (!ret)
			refnet_error("cannot write to stdout");
		ret = 1;
	}
	refnet_model_release(&m);
	refnet_data_release(&d);
	return ret;
}
