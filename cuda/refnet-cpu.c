/*
 * refnet-cpu.c: training on the CPU with POSIX threads.
 *
 * Deterministic: each chunk of a batch (refnet.h) has its own gradient
 * buffer; thread t computes chunks t, t + T, ...; after a barrier, each
 * thread sums a fixed slice of the parameters over the chunks in chunk
 * order and updates it.  No value depends on T.
 *
 * Nondeterministic: threads claim chunks from a shared counter and add
 * each finished chunk's gradient into one shared buffer with atomic
 * compare-and-swap additions, element by element, as they come: the
 * order of the float additions, and so the rounding, follows the threads'
 * timing.  (With one thread there is no race.)
 */
#include "refnet.h"
#include "refnet-math.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct cpu_train {
	struct refnet_model *m;
	const struct refnet_data *d;
	const struct refnet_opts *o;
	int threads, chunk;
	int32_t *perm;
	struct refnet_epoch ep;
	float **part;			/* [chunks][nparams], deterministic */
	_Atomic float *shared;		/* [nparams], nondeterministic */
	atomic_int next_chunk;
	pthread_barrier_t barrier;
	atomic_int failed;
};

struct worker {
	struct cpu_train *t;
	int id;
	float *scratch;			/* h, z, dz, dh */
	float *local;			/* a chunk's gradient, nondeterministic */
	pthread_t thread;
};

/*
 * Samples [pos0, pos1) of the epoch: their gradients added to g in order;
 * their loss and whether each was right into the epoch's arrays.
 */
static void chunk_gradient(struct cpu_train *t, float *scratch, float *g, int pos0, int pos1)
{
	const struct refnet_model *m = t->m;
	const int nf = m->features, nh = m->hidden, nc = m->classes;
	const float *w1 = m->params + m->off_w1, *b1 = m->params + m->off_b1;
	const float *w2 = m->params + m->off_w2, *b2 = m->params + m->off_b2;
	float *gw1 = g + m->off_w1, *gb1 = g + m->off_b1;
	float *gw2 = g + m->off_w2, *gb2 = g + m->off_b2;
	float *h = scratch, *z = h + nh, *dz = z + nc, *dh = dz + nc;
	int pos, j, k, c;

	for (pos = pos0; pos < pos1; pos++) {
		int i = t->perm[pos], y = t->d->y[i], best = 0;
		const float *x = t->d->x + (size_t)i * (size_t)nf;
		float mx, ssum;

		for (j = 0; j < nh; j++) {
			const float *wr = w1 + (size_t)j * (size_t)nf;
			float a = b1[j];

			for (k = 0; k < nf; k++)
				a += wr[k] * x[k];
			h[j] = a > 0.0f ? a : 0.0f;
		}
		for (c = 0; c < nc; c++) {
			const float *wr = w2 + (size_t)c * (size_t)nh;
			float a = b2[c];

			for (j = 0; j < nh; j++)
				a += wr[j] * h[j];
			z[c] = a;
			if (a > z[best])
				best = c;
		}
		mx = z[best];
		ssum = 0.0f;
		for (c = 0; c < nc; c++) {
			dz[c] = (float)refnet_exp((double)(z[c] - mx));
			ssum += dz[c];
		}
		t->ep.loss[pos] = (float)(refnet_log((double)ssum) - (double)(z[y] - mx));
		t->ep.correct[pos] = best == y;
		for (c = 0; c < nc; c++)
			dz[c] = dz[c] / ssum - (c == y ? 1.0f : 0.0f);

		/* fc2; a product with h[j] == 0 adds nothing (see the note in refnet.h) */
		for (c = 0; c < nc; c++) {
			float *gr = gw2 + (size_t)c * (size_t)nh;

			for (j = 0; j < nh; j++)
				if (h[j] != 0.0f)
					gr[j] += dz[c] * h[j];
			gb2[c] += dz[c];
		}
		for (j = 0; j < nh; j++) {
			float a = 0.0f;

			if (h[j] > 0.0f)
				for (c = 0; c < nc; c++)
					a += w2[(size_t)c * (size_t)nh + j] * dz[c];
			dh[j] = h[j] > 0.0f ? a : 0.0f;
		}
		for (j = 0; j < nh; j++) {
			float *gr = gw1 + (size_t)j * (size_t)nf;

			if (dh[j] == 0.0f)
				continue;
			for (k = 0; k < nf; k++)
				gr[k] += dh[j] * x[k];
			gb1[j] += dh[j];
		}
	}
}

static void atomic_add(_Atomic float *p, float v)
{
	float old = atomic_load_explicit(p, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(p, &old, old + v, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct cpu_train *t = w->t;
	struct refnet_model *m = t->m;
	const int n = t->d->n, batch = t->o->batch, T = t->threads;
	const size_t np = m->nparams;
	const size_t lo = np * (size_t)w->id / (size_t)T;
	const size_t hi = np * (size_t)(w->id + 1) / (size_t)T;
	int epoch, pos0;

	for (epoch = 1; epoch <= t->o->epochs; epoch++) {
		if (!w->id)
			refnet_shuffle(t->perm, n, t->o->seed, epoch);
		pthread_barrier_wait(&t->barrier);

		for (pos0 = 0; pos0 < n; pos0 += batch) {
			int bs = n - pos0 < batch ? n - pos0 : batch;
			int nchunks = (bs + t->chunk - 1) / t->chunk;
			float scale = t->o->lr / (float)bs;
			int c;
			size_t e;

			if (!t->o->nondeterministic) {
				for (c = w->id; c < nchunks; c += T) {
					int p0 = pos0 + c * t->chunk;
					int p1 = p0 + t->chunk < pos0 + bs ? p0 + t->chunk : pos0 + bs;

					memset(t->part[c], 0, np * sizeof(float));
					chunk_gradient(t, w->scratch, t->part[c], p0, p1);
				}
				pthread_barrier_wait(&t->barrier);
				for (e = lo; e < hi; e++) {
					float g = 0.0f;

					for (c = 0; c < nchunks; c++)
						g += t->part[c][e];
					m->params[e] -= scale * g;
				}
			} else {
				while ((c = atomic_fetch_add(&t->next_chunk, 1)) < nchunks) {
					int p0 = pos0 + c * t->chunk;
					int p1 = p0 + t->chunk < pos0 + bs ? p0 + t->chunk : pos0 + bs;

					memset(w->local, 0, np * sizeof(float));
					chunk_gradient(t, w->scratch, w->local, p0, p1);
					for (e = 0; e < np; e++)
						if (w->local[e] != 0.0f)
							atomic_add(&t->shared[e], w->local[e]);
				}
				pthread_barrier_wait(&t->barrier);
				if (!w->id)
					atomic_store(&t->next_chunk, 0);
				for (e = lo; e < hi; e++) {
					float g = atomic_load_explicit(&t->shared[e],
								       memory_order_relaxed);

					m->params[e] -= scale * g;
					atomic_store_explicit(&t->shared[e], 0.0f,
							      memory_order_relaxed);
				}
			}
			pthread_barrier_wait(&t->barrier);
		}
		if (!w->id && refnet_report_epoch(t->o, epoch, n, &t->ep) < 0) {
			atomic_store(&t->failed, 1);
		}
		pthread_barrier_wait(&t->barrier);
		if (atomic_load(&t->failed))
			break;
	}
	return NULL;
}

int refnet_train_cpu(struct refnet_model *m, const struct refnet_data *d,
		     const struct refnet_opts *o)
{
	struct cpu_train t;
	struct worker *w = NULL;
	size_t np = m->nparams, scratch = (size_t)(2 * m->hidden + 2 * m->classes);
	int i, started = 0, ret = -1, maxchunks;

	memset(&t, 0, sizeof(t));
	t.m = m;
	t.d = d;
	t.o = o;
	t.chunk = refnet_chunk_size(o->batch);
	maxchunks = (o->batch + t.chunk - 1) / t.chunk;
	t.threads = o->threads;
	atomic_init(&t.next_chunk, 0);
	atomic_init(&t.failed, 0);

	t.perm = malloc((size_t)d->n * sizeof(*t.perm));
	t.ep.loss = malloc((size_t)d->n * sizeof(float));
	t.ep.correct = malloc((size_t)d->n);
	w = calloc((size_t)t.threads, sizeof(*w));
	if (!t.perm || !t.ep.loss || !t.ep.correct || !w)
		goto oom;
	if (!o->nondeterministic) {
		t.part = calloc((size_t)maxchunks, sizeof(*t.part));
		if (!t.part)
			goto oom;
		for (i = 0; i < maxchunks; i++)
			if (!(t.part[i] = malloc(np * sizeof(float))))
				goto oom;
	} else {
		t.shared = malloc(np * sizeof(*t.shared));
		if (!t.shared)
			goto oom;
		for (size_t e = 0; e < np; e++)
			atomic_init(&t.shared[e], 0.0f);
	}
	for (i = 0; i < t.threads; i++) {
		w[i].t = &t;
		w[i].id = i;
		w[i].scratch = malloc(scratch * sizeof(float));
		if (!w[i].scratch)
			goto oom;
		if (o->nondeterministic && !(w[i].local = malloc(np * sizeof(float))))
			goto oom;
	}
	if (pthread_barrier_init(&t.barrier, NULL, (unsigned)t.threads)) {
		refnet_error("cannot make a thread barrier");
		goto done;
	}
	for (i = 1; i < t.threads; i++) {
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i])) {
			refnet_error("cannot start thread %d of %d", i + 1, t.threads);
			/* the barrier counts them all: there is no recovering */
			abort();
		}
		started++;
	}
	worker_main(&w[0]);
	for (i = 1; i <= started; i++)
		pthread_join(w[i].thread, NULL);
	pthread_barrier_destroy(&t.barrier);
	ret = atomic_load(&t.failed) ? -1 : 0;
	goto done;
oom:
	refnet_error("out of memory for training");
done:
	if (w)
		for (i = 0; i < t.threads; i++) {
			free(w[i].scratch);
			free(w[i].local);
		}
	free(w);
	if (t.part)
		for (i = 0; i < maxchunks; i++)
			free(t.part[i]);
	free(t.part);
	free(t.shared);
	free(t.perm);
	free(t.ep.loss);
	free(t.ep.correct);
	return ret;
}
