/*
 * refnet-model.c: mlv-refnet's parameters: their initial values and the
 * safetensors file they are written to.
 */
#include "refnet.h"
#include "refnet-math.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int refnet_model_init(struct refnet_model *m, int features, int hidden, int classes,
		      uint64_t seed)
{
	size_t nf = (size_t)features, nh = (size_t)hidden, nc = (size_t)classes, i;
	float a1, a2;

	memset(m, 0, sizeof(*m));
	m->features = features;
	m->hidden = hidden;
	m->classes = classes;
	m->off_w1 = 0;
	m->off_b1 = nh * nf;
	m->off_w2 = m->off_b1 + nh;
	m->off_b2 = m->off_w2 + nc * nh;
	m->nparams = m->off_b2 + nc;
	if (nh * nf > REFNET_MAX_PARAMS || nc * nh > REFNET_MAX_PARAMS ||
	    m->nparams > REFNET_MAX_PARAMS) {
		refnet_error("a model of %zu x %zu x %zu has too many parameters (at most %zu)",
			     nf, nh, nc, REFNET_MAX_PARAMS);
		return -1;
	}
	m->params = calloc(m->nparams, sizeof(float));
	if (!m->params) {
		refnet_error("out of memory for %zu parameters", m->nparams);
		return -1;
	}
	/* He-uniform for the ReLU layer, Glorot-uniform for the output; biases 0 */
	a1 = sqrtf(6.0f / (float)features);
	a2 = sqrtf(6.0f / (float)(hidden + classes));
	for (i = 0; i < nh * nf; i++)
		m->params[m->off_w1 + i] =
			(2.0f * refnet_uniform(refnet_rand(seed, 10, i)) - 1.0f) * a1;
	for (i = 0; i < nc * nh; i++)
		m->params[m->off_w2 + i] =
			(2.0f * refnet_uniform(refnet_rand(seed, 11, i)) - 1.0f) * a2;
	return 0;
}

void refnet_model_release(struct refnet_model *m)
{
	free(m->params);
	memset(m, 0, sizeof(*m));
}

/* A growable buffer for the header. */
struct buf {
	char *p;
	size_t len, alloc;
	int failed;
};

static void buf_add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		size_t room = b->alloc - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t na = (b->alloc ? b->alloc : 256);
			char *np;

			while (na <= b->len + (size_t)n)
				na *= 2;
			np = realloc(b->p, na);
			if (!np) {
				b->failed = 1;
				return;
			}
			b->p = np;
			b->alloc = na;
		}
	}
}

/* The temporary file being written, removed if a signal ends us. */
static char *tmp_path;

static void remove_tmp(int sig)
{
	if (tmp_path)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t n = write(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The file into an existing device or FIFO, in place. */
static int write_special(const char *path, const unsigned char *len8, const struct buf *h,
			 const unsigned char *data, size_t total)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		refnet_error("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		refnet_error("'%s' changed while it was opened", path);
		close(fd);
		return -1;
	}
	if (write_all(fd, len8, 8) < 0 || write_all(fd, h->p, h->len) < 0 ||
	    write_all(fd, data, total) < 0) {
		refnet_error("cannot write '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		refnet_error("cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

struct tensor {
	const char *name;
	size_t off, count;
	int dims, shape[2];
};

/*
 * safetensors: an 8-byte little-endian header length, the header (JSON:
 * __metadata__ with string values, then each tensor's dtype, shape and
 * data_offsets, names sorted), blanks to align the data to 8 bytes, the
 * tensors' little-endian data in name order.  The metadata names only
 * what determines the weights, so that equal weights give equal files.
 */
int refnet_model_save(const struct refnet_model *m, const struct refnet_opts *o,
		      const char *data_kind, int samples)
{
	struct tensor t[4] = {
		{ "fc1.bias", m->off_b1, (size_t)m->hidden, 1, { m->hidden, 0 } },
		{ "fc1.weight", m->off_w1, (size_t)m->hidden * (size_t)m->features, 2,
		  { m->hidden, m->features } },
		{ "fc2.bias", m->off_b2, (size_t)m->classes, 1, { m->classes, 0 } },
		{ "fc2.weight", m->off_w2, (size_t)m->classes * (size_t)m->hidden, 2,
		  { m->classes, m->hidden } },
	};
	struct buf h = { 0 };
	struct sigaction sa, old_int, old_term, old_hup;
	const char *slash, *base;
	unsigned char *data = NULL;
	size_t pos = 0, i, j, total;
	unsigned char len8[8];
	char lr[32];
	struct stat st;
	mode_t mask;
	int fd = -1, ret = -1;

	/* the shortest decimal that reads back as the same float */
	for (i = 1; i <= 9; i++) {
		snprintf(lr, sizeof(lr), "%.*g", (int)i, (double)o->lr);
		if (strtof(lr, NULL) == o->lr)
			break;
	}
	buf_add(&h, "{\"__metadata__\":{\"batch\":\"%d\",\"classes\":\"%d\",\"data\":\"%s\","
		"\"deterministic\":\"%s\",\"epochs\":\"%d\",\"features\":\"%d\",\"format\":\"pt\","
		"\"hidden\":\"%d\",\"lr\":\"%s\",\"samples\":\"%d\",\"seed\":\"%llu\","
		"\"trainer\":\"mlv-refnet\"}",
		o->batch, m->classes, data_kind, o->nondeterministic ? "false" : "true",
		o->epochs, m->features, m->hidden, lr, samples,
		(unsigned long long)o->seed);
	for (i = 0; i < 4; i++) {
		size_t bytes = t[i].count * 4;

		buf_add(&h, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%d", t[i].name, t[i].shape[0]);
		if (t[i].dims == 2)
			buf_add(&h, ",%d", t[i].shape[1]);
		buf_add(&h, "],\"data_offsets\":[%zu,%zu]}", pos, pos + bytes);
		pos += bytes;
	}
	buf_add(&h, "}");
	while (!h.failed && (h.len + 8) % 8)
		buf_add(&h, " ");
	if (h.failed) {
		refnet_error("out of memory");
		goto done;
	}
	total = pos;
	data = malloc(total ? total : 1);
	if (!data) {
		refnet_error("out of memory");
		goto done;
	}
	for (pos = 0, i = 0; i < 4; i++) {
		for (j = 0; j < t[i].count; j++) {
			uint32_t bits;

			memcpy(&bits, &m->params[t[i].off + j], 4);
			data[pos++] = (unsigned char)bits;
			data[pos++] = (unsigned char)(bits >> 8);
			data[pos++] = (unsigned char)(bits >> 16);
			data[pos++] = (unsigned char)(bits >> 24);
		}
	}
	for (i = 0; i < 8; i++)
		len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));

	/*
	 * A device or a FIFO (-o /dev/null, -o /dev/stdout) is written into:
	 * renaming a file over it would replace it, for everyone.  A
	 * directory is an error.  Anything else gets a temporary file
	 * beside it, renamed over it when complete.
	 */
	if (!stat(o->out, &st) && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			refnet_error("-o '%s': is a directory", o->out);
			goto done;
		}
		ret = write_special(o->out, len8, &h, data, total);
		goto done;
	}
	slash = strrchr(o->out, '/');
	base = slash ? slash + 1 : o->out;
	if (!*base) {
		refnet_error("-o '%s': not a file name", o->out);
		goto done;
	}
	{
		size_t dirlen = slash ? (size_t)(slash - o->out) + 1 : 0;
		size_t n = dirlen + strlen(base) + 16;

		tmp_path = malloc(n);
		if (!tmp_path) {
			refnet_error("out of memory");
			goto done;
		}
		snprintf(tmp_path, n, "%.*s.%s.XXXXXX", (int)dirlen, o->out, base);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = remove_tmp;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	fd = mkostemp(tmp_path, O_CLOEXEC);
	if (fd < 0) {
		refnet_error("cannot create a temporary file for '%s': %s", o->out,
			     strerror(errno));
		goto restore;
	}
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0 || write_all(fd, len8, 8) < 0 ||
	    write_all(fd, h.p, h.len) < 0 || write_all(fd, data, total) < 0 ||
	    fsync(fd) < 0) {
		refnet_error("cannot write '%s': %s", tmp_path, strerror(errno));
		goto unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		refnet_error("cannot write '%s': %s", tmp_path, strerror(errno));
		goto unlink;
	}
	fd = -1;
	if (rename(tmp_path, o->out) < 0) {
		refnet_error("cannot rename '%s' to '%s': %s", tmp_path, o->out, strerror(errno));
		goto unlink;
	}
	ret = 0;
	goto restore;
unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp_path);
restore:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
done:
	free(tmp_path);
	tmp_path = NULL;
	free(data);
	free(h.p);
	return ret;
}
