/*
 * refnet-kernels.cu: mlv-refnet's CUDA kernels, compiled by nvcc into a
 * fatbin that the program embeds and loads through the driver API at run
 * time (refnet-cuda.c).  Built with -fmad=false: every product is rounded
 * before it is added, as on the CPU (refnet-math.h).
 *
 * One batch is four launches (deterministic) or five (nondeterministic):
 * hidden layer, output layer with softmax, hidden-layer gradient, then
 * the parameters' gradients and the update.  The deterministic gradient
 * kernel gives each parameter one thread that sums the batch in exactly
 * the CPU's order (refnet.h); the nondeterministic one adds every
 * sample's contribution with atomicAdd, in whatever order the hardware
 * serves them.
 */
#include <stdint.h>
#include "refnet-math.h"

#define GRID_STRIDE(i, n) \
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)(n); \
	     i += (size_t)gridDim.x * blockDim.x)

/* h[s][j] = relu(b1[j] + sum_k w1[j][k] x[s][k]) */
extern "C" __global__ void refnet_hidden(const float *x, const int *perm, int pos0, int bs,
					 int nf, int nh, const float *w1, const float *b1,
					 float *h)
{
	GRID_STRIDE(idx, (size_t)bs * nh) {
		int s = (int)(idx / nh), j = (int)(idx % nh);
		const float *xr = x + (size_t)perm[pos0 + s] * nf;
		const float *wr = w1 + (size_t)j * nf;
		float a = b1[j];

		for (int k = 0; k < nf; k++)
			a += wr[k] * xr[k];
		h[idx] = a > 0.0f ? a : 0.0f;
	}
}

/*
 * Per sample: logits, softmax, dz = p - onehot(y), the loss and whether
 * the arg max is right.  dz doubles as the logits' and exponentials'
 * storage.
 */
extern "C" __global__ void refnet_output(const int *y, const int *perm, int pos0, int bs,
					 int nh, int nc, const float *w2, const float *b2,
					 const float *h, float *dz, float *loss,
					 unsigned char *correct)
{
	GRID_STRIDE(s, bs) {
		const float *hr = h + s * nh;
		float *z = dz + s * nc;
		int label = y[perm[pos0 + s]], best = 0;
		float mx, ssum, zy;

		for (int c = 0; c < nc; c++) {
			const float *wr = w2 + (size_t)c * nh;
			float a = b2[c];

			for (int j = 0; j < nh; j++)
				a += wr[j] * hr[j];
			z[c] = a;
			if (a > z[best])
				best = c;
		}
		mx = z[best];
		zy = z[label] - mx;
		ssum = 0.0f;
		for (int c = 0; c < nc; c++) {
			z[c] = (float)refnet_exp((double)(z[c] - mx));
			ssum += z[c];
		}
		loss[pos0 + s] = (float)(refnet_log((double)ssum) - (double)zy);
		correct[pos0 + s] = best == label;
		for (int c = 0; c < nc; c++)
			z[c] = z[c] / ssum - (c == label ? 1.0f : 0.0f);
	}
}

/* dh[s][j] = h[s][j] > 0 ? sum_c w2[c][j] dz[s][c] : 0 */
extern "C" __global__ void refnet_dhidden(int bs, int nh, int nc, const float *w2,
					  const float *h, const float *dz, float *dh)
{
	GRID_STRIDE(idx, (size_t)bs * nh) {
		int s = (int)(idx / nh), j = (int)(idx % nh);
		float a = 0.0f;

		for (int c = 0; c < nc; c++)
			a += w2[(size_t)c * nh + j] * dz[(size_t)s * nc + c];
		dh[idx] = h[idx] > 0.0f ? a : 0.0f;
	}
}

struct shape {
	int nf, nh, nc;
	size_t off_b1, off_w2, off_b2, np;
};

/* Sample s's contribution to the gradient of parameter e. */
__device__ __forceinline__ float contribution(const struct shape *sh, size_t e, int s,
					      const float *x, const int *perm, int pos0,
					      const float *h, const float *dh, const float *dz)
{
	if (e < sh->off_b1) {
		size_t j = e / sh->nf, k = e % sh->nf;

		return dh[(size_t)s * sh->nh + j] * x[(size_t)perm[pos0 + s] * sh->nf + k];
	}
	if (e < sh->off_w2)
		return dh[(size_t)s * sh->nh + (e - sh->off_b1)];
	if (e < sh->off_b2) {
		size_t c = (e - sh->off_w2) / sh->nh, j = (e - sh->off_w2) % sh->nh;

		return dz[(size_t)s * sh->nc + c] * h[(size_t)s * sh->nh + j];
	}
	return dz[(size_t)s * sh->nc + (e - sh->off_b2)];
}

/*
 * Deterministic: one thread per parameter sums the chunks in order, each
 * chunk's samples in order, from 0; then w -= scale * g.  No other
 * thread reads the parameters during this kernel.
 */
extern "C" __global__ void refnet_grad(struct shape sh, const float *x, const int *perm,
				       int pos0, int bs, int chunk, const float *h,
				       const float *dh, const float *dz, float *params,
				       float scale)
{
	GRID_STRIDE(e, sh.np) {
		float g = 0.0f;

		for (int c0 = 0; c0 < bs; c0 += chunk) {
			int c1 = c0 + chunk < bs ? c0 + chunk : bs;
			float part = 0.0f;

			for (int s = c0; s < c1; s++)
				part += contribution(&sh, e, s, x, perm, pos0, h, dh, dz);
			g += part;
		}
		params[e] -= scale * g;
	}
}

/* Nondeterministic: every (sample, parameter) pair adds into g at once. */
extern "C" __global__ void refnet_grad_atomic(struct shape sh, const float *x, const int *perm,
					      int pos0, int bs, const float *h, const float *dh,
					      const float *dz, float *g)
{
	GRID_STRIDE(idx, (size_t)bs * sh.np) {
		size_t e = idx % sh.np;
		int s = (int)(idx / sh.np);
		float v = contribution(&sh, e, s, x, perm, pos0, h, dh, dz);

		if (v != 0.0f)
			atomicAdd(&g[e], v);
	}
}

extern "C" __global__ void refnet_apply(size_t np, float *params, float *g, float scale)
{
	GRID_STRIDE(e, np) {
		params[e] -= scale * g[e];
		g[e] = 0.0f;
	}
}
