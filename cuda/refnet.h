/*
 * refnet.h: mlv-refnet's parts (a program of its own, not part of libmlv).
 *
 * The model is a two-layer perceptron, in -> hidden (ReLU) -> classes,
 * trained with softmax cross-entropy and plain minibatch SGD.  Its
 * parameters live in one array, in this order:
 *
 *	fc1.weight [hidden][features], fc1.bias [hidden],
 *	fc2.weight [classes][hidden],  fc2.bias [classes]
 *
 * Reduction order (what makes a run deterministic): a batch of B samples
 * is cut into chunks of refnet_chunk_size(B) consecutive samples; the
 * gradient of a chunk is the sum of its samples' gradients in order,
 * starting from 0; the batch's gradient is the sum of its chunks'
 * gradients in chunk order, starting from 0; then w -= (lr / B) * g.
 * The CPU threads and the CUDA kernels both compute exactly that, so the
 * thread count does not change a bit, and neither does the device.
 */
#ifndef REFNET_H
#define REFNET_H

#include <stddef.h>
#include <stdint.h>

#define REFNET_MAX_DIM 65536		/* features, hidden, classes */
#define REFNET_MAX_SAMPLES (1 << 26)
#define REFNET_MAX_PARAMS ((size_t)1 << 28)
#define REFNET_MAX_CHUNKS 32

struct refnet_opts {
	uint64_t seed;
	int seed_given;			/* from --seed or MLV_SEED */
	const char *seed_from;		/* "--seed", "MLV_SEED" or "default" */
	int epochs, hidden, batch, samples, features, classes;
	int samples_given, features_given, classes_given;
	float lr;
	int threads;			/* CPU worker threads */
	int cuda;			/* --device cuda */
	int cuda_index;			/* cuda:N */
	int nondeterministic;
	int quiet;
	const char *data;		/* -d FILE, or NULL: synthetic */
	const char *out;		/* -o FILE */
};

struct refnet_data {
	int n, features, classes;
	float *x;			/* n rows of features floats */
	int32_t *y;			/* n labels, 0 <= y < classes */
};

struct refnet_model {
	int features, hidden, classes;
	size_t nparams;
	size_t off_w1, off_b1, off_w2, off_b2;
	float *params;
};

/* One epoch's per-sample results, in the order the samples were seen. */
struct refnet_epoch {
	float *loss;
	unsigned char *correct;
};

/* refnet.c */
void refnet_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void refnet_info(const struct refnet_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int refnet_chunk_size(int batch);
void refnet_shuffle(int32_t *perm, int n, uint64_t seed, int epoch);
int refnet_report_epoch(const struct refnet_opts *o, int epoch, int n,
			const struct refnet_epoch *ep);

/* refnet-data.c: 0 or -1 after refnet_error() */
int refnet_data_synthetic(struct refnet_data *out, const struct refnet_opts *o);
int refnet_data_load(struct refnet_data *out, const char *path, int classes);
void refnet_data_release(struct refnet_data *d);

/* refnet-model.c */
int refnet_model_init(struct refnet_model *m, int features, int hidden, int classes,
		      uint64_t seed);
void refnet_model_release(struct refnet_model *m);
int refnet_model_save(const struct refnet_model *m, const struct refnet_opts *o,
		      const char *data_kind, int samples);

/* refnet-cpu.c: trains m in place; 0 or -1 after refnet_error() */
int refnet_train_cpu(struct refnet_model *m, const struct refnet_data *d,
		     const struct refnet_opts *o);

/* refnet-cuda.c: 0, -1 after refnet_error() */
int refnet_train_cuda(struct refnet_model *m, const struct refnet_data *d,
		      const struct refnet_opts *o);
/* The architectures of the embedded kernels ("sm_75 ... compute_90"), or NULL. */
const char *refnet_cuda_archs(void);

#endif
