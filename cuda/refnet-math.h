/*
 * refnet-math.h: the arithmetic that mlv-refnet's CPU code and its CUDA
 * kernels share, so that both compute the same bits.
 *
 * Only IEEE-754 basic operations (+ - * /, conversions) are used: the
 * C library's expf()/logf() and CUDA's __expf() differ between versions
 * and machines, so exp and log are computed here from a polynomial.  The
 * build turns multiply-add contraction off (-ffp-contract=off for the C
 * compiler, -fmad=false for nvcc), so every product is rounded before it
 * is added, on every machine.
 */
#ifndef REFNET_MATH_H
#define REFNET_MATH_H

#include <stdint.h>

#ifdef __CUDACC__
#define REFNET_HD __host__ __device__ __forceinline__
#else
#include <string.h>
#define REFNET_HD static inline
#endif

/* 2^n as a double, for -1022 <= n <= 1023: built from its bits, exact. */
REFNET_HD double refnet_pow2(int n)
{
	uint64_t bits = (uint64_t)(n + 1023) << 52;
#ifdef __CUDACC__
	return __longlong_as_double((long long)bits);
#else
	double d;
	memcpy(&d, &bits, sizeof(d));
	return d;
#endif
}

/*
 * e^x for x <= 0 (the argument of a softmax after subtracting the
 * maximum), accurate to a few units in the last place of a double, far
 * below the float it is rounded to.  Below -100 the result is 0.
 */
REFNET_HD double refnet_exp(double x)
{
	const double log2e = 1.4426950408889634;
	const double ln2_hi = 6.93147180369123816490e-01;
	const double ln2_lo = 1.90821492927058770002e-10;
	double n, r, p;
	int i;

	if (!(x > -100.0))
		return 0.0;
	if (x > 0.0)
		x = 0.0;
	/* n = round(x / ln 2), |r| <= ln2 / 2 */
	n = x * log2e;
	n = n < 0.0 ? (double)(int64_t)(n - 0.5) : (double)(int64_t)(n + 0.5);
	r = (x - n * ln2_hi) - n * ln2_lo;
	/* Taylor to degree 13: the error is below 2^-60 for |r| <= 0.35 */
	p = 1.0;
	for (i = 13; i >= 1; i--)
		p = 1.0 + p * r / (double)i;
	return p * refnet_pow2((int)n);
}

/* ln(x) for x >= 1 (the sum of a softmax's exponentials); for the loss. */
REFNET_HD double refnet_log(double x)
{
	const double ln2 = 0.69314718055994530942;
	const double sqrt2 = 1.41421356237309504880;
	double t, t2, s, term;
	int e = 0, i;

	if (!(x >= 1.0))
		return 0.0;
	if (x > 1e300)
		return 690.0;
	/* x = m * 2^e with sqrt(2)/2 <= m < sqrt(2) */
	while (x >= 2.0) {
		x *= 0.5;
		e++;
	}
	if (x >= sqrt2) {
		x *= 0.5;
		e++;
	}
	/* ln(m) = 2 atanh(t), t = (m - 1) / (m + 1), |t| < 0.172 */
	t = (x - 1.0) / (x + 1.0);
	t2 = t * t;
	s = 0.0;
	term = t;
	for (i = 1; i <= 29; i += 2) {
		s = s + term / (double)i;
		term = term * t2;
	}
	return (double)e * ln2 + 2.0 * s;
}

/*
 * The counter-based generator (splitmix64's finaliser): the random number
 * at index i of a stream is a pure function of (seed, stream, i), so the
 * data and the initial weights are the same on every machine and in any
 * order of computation.
 */
REFNET_HD uint64_t refnet_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

REFNET_HD uint64_t refnet_rand(uint64_t seed, uint64_t stream, uint64_t i)
{
	uint64_t key = refnet_mix64(seed + 0x9e3779b97f4a7c15ULL * (stream + 1));
	return refnet_mix64(key + 0x9e3779b97f4a7c15ULL * (i + 1));
}

/* A float uniform in [0, 1) from the top 24 bits: exact. */
REFNET_HD float refnet_uniform(uint64_t r)
{
	return (float)(r >> 40) * (1.0f / 16777216.0f);
}

#endif
