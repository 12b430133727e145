/*
 * refnet-cuda.c: training on a CUDA GPU through the driver API.
 *
 * libcuda.so.1 is opened with dlopen() and its few functions looked up
 * with dlsym(), and the kernels (refnet-kernels.cu) are a fatbin embedded
 * in this program: nothing links against CUDA, so the same binary runs on
 * a machine without a GPU and says why --device cuda cannot work there.
 * CUDA_VISIBLE_DEVICES is honoured by the driver itself.
 */
#include "refnet.h"
#include "refnet-math.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef REFNET_HAVE_CUDA

const char *refnet_cuda_archs(void)
{
	return NULL;
}

int refnet_train_cuda(struct refnet_model *m, const struct refnet_data *d,
		      const struct refnet_opts *o)
{
	refnet_error("--device cuda: this mlv-refnet was built without CUDA kernels "
		     "(no nvcc at build time); use --device cpu");
	return -1;
}

#else

/* The fatbin, placed here by the assembler. */
extern const unsigned char refnet_fatbin[] __attribute__((visibility("hidden")));
__asm__(".pushsection .rodata\n"
	".balign 64\n"
	".globl refnet_fatbin\n"
	".hidden refnet_fatbin\n"
	".type refnet_fatbin, @object\n"
	"refnet_fatbin:\n"
	".incbin \"" REFNET_FATBIN "\"\n"
	".byte 0\n"
	".popsection\n");

const char *refnet_cuda_archs(void)
{
	return REFNET_CUDA_ARCHS;
}

/* The driver API's types and constants, as cuda.h declares them. */
typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef unsigned long long CUdeviceptr;
typedef struct { char bytes[16]; } CUuuid;

#define CUDA_SUCCESS 0
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR 76

static struct {
	CUresult (*Init)(unsigned);
	CUresult (*DriverGetVersion)(int *);
	CUresult (*DeviceGetCount)(int *);
	CUresult (*DeviceGet)(CUdevice *, int);
	CUresult (*DeviceGetName)(char *, int, CUdevice);
	CUresult (*DeviceGetAttribute)(int *, int, CUdevice);
	CUresult (*DeviceGetUuid)(CUuuid *, CUdevice);
	CUresult (*DevicePrimaryCtxRetain)(CUcontext *, CUdevice);
	CUresult (*DevicePrimaryCtxRelease)(CUdevice);
	CUresult (*CtxSetCurrent)(CUcontext);
	CUresult (*CtxSynchronize)(void);
	CUresult (*ModuleLoadData)(CUmodule *, const void *);
	CUresult (*ModuleUnload)(CUmodule);
	CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
	CUresult (*MemAlloc)(CUdeviceptr *, size_t);
	CUresult (*MemFree)(CUdeviceptr);
	CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
	CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
	CUresult (*MemsetD32)(CUdeviceptr, unsigned, size_t);
	CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
				 unsigned, unsigned, CUstream, void **, void **);
	CUresult (*GetErrorName)(CUresult, const char **);
	CUresult (*GetErrorString)(CUresult, const char **);
} cu;

static const struct {
	const char *name;
	size_t offset;
	int optional;
} symbols[] = {
#define SYM(field, name, opt) { name, offsetof(__typeof__(cu), field), opt }
	SYM(Init, "cuInit", 0),
	SYM(DriverGetVersion, "cuDriverGetVersion", 0),
	SYM(DeviceGetCount, "cuDeviceGetCount", 0),
	SYM(DeviceGet, "cuDeviceGet", 0),
	SYM(DeviceGetName, "cuDeviceGetName", 0),
	SYM(DeviceGetAttribute, "cuDeviceGetAttribute", 0),
	SYM(DeviceGetUuid, "cuDeviceGetUuid_v2", 1),
	SYM(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", 0),
	SYM(DevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", 0),
	SYM(CtxSetCurrent, "cuCtxSetCurrent", 0),
	SYM(CtxSynchronize, "cuCtxSynchronize", 0),
	SYM(ModuleLoadData, "cuModuleLoadData", 0),
	SYM(ModuleUnload, "cuModuleUnload", 0),
	SYM(ModuleGetFunction, "cuModuleGetFunction", 0),
	SYM(MemAlloc, "cuMemAlloc_v2", 0),
	SYM(MemFree, "cuMemFree_v2", 0),
	SYM(MemcpyHtoD, "cuMemcpyHtoD_v2", 0),
	SYM(MemcpyDtoH, "cuMemcpyDtoH_v2", 0),
	SYM(MemsetD32, "cuMemsetD32_v2", 0),
	SYM(LaunchKernel, "cuLaunchKernel", 0),
	SYM(GetErrorName, "cuGetErrorName", 0),
	SYM(GetErrorString, "cuGetErrorString", 0),
#undef SYM
};

/* Must match struct shape in refnet-kernels.cu. */
struct shape {
	int nf, nh, nc;
	size_t off_b1, off_w2, off_b2, np;
};

static int cu_failed(CUresult r, const char *what)
{
	const char *name = NULL, *text = NULL;

	if (r == CUDA_SUCCESS)
		return 0;
	if (cu.GetErrorName)
		cu.GetErrorName(r, &name);
	if (cu.GetErrorString)
		cu.GetErrorString(r, &text);
	refnet_error("--device cuda: %s: %s (%d): %s", what, name ? name : "CUDA error", r,
		     text ? text : "unknown error");
	return 1;
}

static int load_driver(void)
{
	const char *lib = getenv("MLV_REFNET_LIBCUDA");
	void *h;
	size_t i;

	if (!lib || !*lib)
		lib = "libcuda.so.1";
	h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		refnet_error("--device cuda: no CUDA driver: %s", dlerror());
		return -1;
	}
	for (i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		void *f = dlsym(h, symbols[i].name);

		if (!f && !symbols[i].optional) {
			refnet_error("--device cuda: the CUDA driver %s has no %s: too old", lib,
				     symbols[i].name);
			return -1;
		}
		memcpy((char *)&cu + symbols[i].offset, &f, sizeof(f));
	}
	return 0;
}

static unsigned blocks_for(size_t n)
{
	size_t b = (n + 255) / 256;

	if (!b)
		b = 1;
	return b > 65535 ? 65535 : (unsigned)b;
}

static int launch(CUfunction f, size_t n, void **args, const char *name)
{
	return cu_failed(cu.LaunchKernel(f, blocks_for(n), 1, 1, 256, 1, 1, 0, NULL, args, NULL),
			 name) ? -1 : 0;
}

struct gpu {
	CUdevice dev;
	CUcontext ctx;
	CUmodule mod;
	CUfunction hidden, output, dhidden, grad, grad_atomic, apply;
	CUdeviceptr x, y, perm, params, h, dh, dz, g, loss, correct;
};

static int gpu_open(struct gpu *gp, const struct refnet_opts *o)
{
	char name[256] = "";
	int count = 0, driver = 0, major = 0, minor = 0;
	char uuid[64] = "";
	CUuuid u;
	CUresult r;

	if (load_driver() < 0)
		return -1;
	r = cu.Init(0);
	if (r != CUDA_SUCCESS) {
		cu_failed(r, "no usable CUDA device (cuInit)");
		return -1;
	}
	if (cu_failed(cu.DeviceGetCount(&count), "cuDeviceGetCount"))
		return -1;
	if (o->cuda_index >= count) {
		refnet_error("--device cuda:%d: there %s %d CUDA device%s (CUDA_VISIBLE_DEVICES=%s)",
			     o->cuda_index, count == 1 ? "is" : "are", count,
			     count == 1 ? "" : "s",
			     getenv("CUDA_VISIBLE_DEVICES") ? getenv("CUDA_VISIBLE_DEVICES")
							     : "(unset)");
		return -1;
	}
	if (cu_failed(cu.DeviceGet(&gp->dev, o->cuda_index), "cuDeviceGet") ||
	    cu_failed(cu.DeviceGetName(name, (int)sizeof(name) - 1, gp->dev), "cuDeviceGetName") ||
	    cu_failed(cu.DeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
					    gp->dev), "cuDeviceGetAttribute") ||
	    cu_failed(cu.DeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
					    gp->dev), "cuDeviceGetAttribute"))
		return -1;
	cu.DriverGetVersion(&driver);
	if (cu.DeviceGetUuid && cu.DeviceGetUuid(&u, gp->dev) == CUDA_SUCCESS) {
		const unsigned char *b = (const unsigned char *)u.bytes;

		snprintf(uuid, sizeof(uuid),
			 ", GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
			 b[12], b[13], b[14], b[15]);
	}
	/* the device line is printed even with -q: which GPU ran matters */
	fprintf(stderr, "mlv-refnet: device cuda:%d: %s (sm_%d%d%s), driver CUDA %d.%d, %s\n",
		o->cuda_index, name, major, minor, uuid, driver / 1000, driver % 1000 / 10,
		o->nondeterministic ? "nondeterministic (atomic adds)" : "deterministic");

	if (cu_failed(cu.DevicePrimaryCtxRetain(&gp->ctx, gp->dev), "cuDevicePrimaryCtxRetain"))
		return -1;
	if (cu_failed(cu.CtxSetCurrent(gp->ctx), "cuCtxSetCurrent"))
		return -1;
	r = cu.ModuleLoadData(&gp->mod, refnet_fatbin);
	if (r != CUDA_SUCCESS) {
		cu_failed(r, "loading the kernels (built for " REFNET_CUDA_ARCHS ")");
		return -1;
	}
	if (cu_failed(cu.ModuleGetFunction(&gp->hidden, gp->mod, "refnet_hidden"), "refnet_hidden") ||
	    cu_failed(cu.ModuleGetFunction(&gp->output, gp->mod, "refnet_output"), "refnet_output") ||
	    cu_failed(cu.ModuleGetFunction(&gp->dhidden, gp->mod, "refnet_dhidden"), "refnet_dhidden") ||
	    cu_failed(cu.ModuleGetFunction(&gp->grad, gp->mod, "refnet_grad"), "refnet_grad") ||
	    cu_failed(cu.ModuleGetFunction(&gp->grad_atomic, gp->mod, "refnet_grad_atomic"),
		      "refnet_grad_atomic") ||
	    cu_failed(cu.ModuleGetFunction(&gp->apply, gp->mod, "refnet_apply"), "refnet_apply"))
		return -1;
	return 0;
}

static int gpu_alloc(CUdeviceptr *out, size_t bytes, const char *what)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "allocating %zu bytes for %s", bytes, what);
	return cu_failed(cu.MemAlloc(out, bytes ? bytes : 4), msg) ? -1 : 0;
}

static void gpu_close(struct gpu *gp)
{
	CUdeviceptr *p[] = { &gp->x, &gp->y, &gp->perm, &gp->params, &gp->h, &gp->dh, &gp->dz,
			     &gp->g, &gp->loss, &gp->correct };
	size_t i;

	if (!gp->ctx)
		return;
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		if (*p[i])
			cu.MemFree(*p[i]);
	if (gp->mod)
		cu.ModuleUnload(gp->mod);
	cu.DevicePrimaryCtxRelease(gp->dev);
}

int refnet_train_cuda(struct refnet_model *m, const struct refnet_data *d,
		      const struct refnet_opts *o)
{
	struct gpu gp;
	struct shape sh;
	struct refnet_epoch ep = { NULL, NULL };
	int32_t *perm = NULL;
	const int n = d->n, batch = o->batch, chunk = refnet_chunk_size(o->batch);
	const int nf = m->features, nh = m->hidden, nc = m->classes;
	const size_t np = m->nparams;
	int epoch, ret = -1;

	memset(&gp, 0, sizeof(gp));
	sh.nf = nf;
	sh.nh = nh;
	sh.nc = nc;
	sh.off_b1 = m->off_b1;
	sh.off_w2 = m->off_w2;
	sh.off_b2 = m->off_b2;
	sh.np = np;

	perm = malloc((size_t)n * sizeof(*perm));
	ep.loss = malloc((size_t)n * sizeof(float));
	ep.correct = malloc((size_t)n);
	if (!perm || !ep.loss || !ep.correct) {
		refnet_error("out of memory for training");
		goto done;
	}
	if (gpu_open(&gp, o) < 0)
		goto done;
	if (gpu_alloc(&gp.x, (size_t)n * (size_t)nf * sizeof(float), "the data") < 0 ||
	    gpu_alloc(&gp.y, (size_t)n * sizeof(int32_t), "the labels") < 0 ||
	    gpu_alloc(&gp.perm, (size_t)n * sizeof(int32_t), "the order") < 0 ||
	    gpu_alloc(&gp.params, np * sizeof(float), "the parameters") < 0 ||
	    gpu_alloc(&gp.h, (size_t)batch * (size_t)nh * sizeof(float), "activations") < 0 ||
	    gpu_alloc(&gp.dh, (size_t)batch * (size_t)nh * sizeof(float), "gradients") < 0 ||
	    gpu_alloc(&gp.dz, (size_t)batch * (size_t)nc * sizeof(float), "gradients") < 0 ||
	    gpu_alloc(&gp.g, np * sizeof(float), "gradients") < 0 ||
	    gpu_alloc(&gp.loss, (size_t)n * sizeof(float), "losses") < 0 ||
	    gpu_alloc(&gp.correct, (size_t)n, "accuracies") < 0)
		goto done;
	if (cu_failed(cu.MemcpyHtoD(gp.x, d->x, (size_t)n * (size_t)nf * sizeof(float)),
		      "copying the data") ||
	    cu_failed(cu.MemcpyHtoD(gp.y, d->y, (size_t)n * sizeof(int32_t)), "copying the labels") ||
	    cu_failed(cu.MemcpyHtoD(gp.params, m->params, np * sizeof(float)),
		      "copying the parameters") ||
	    cu_failed(cu.MemsetD32(gp.g, 0, np), "clearing the gradients"))
		goto done;

	for (epoch = 1; epoch <= o->epochs; epoch++) {
		int pos0;

		refnet_shuffle(perm, n, o->seed, epoch);
		if (cu_failed(cu.MemcpyHtoD(gp.perm, perm, (size_t)n * sizeof(int32_t)),
			      "copying the order"))
			goto done;
		for (pos0 = 0; pos0 < n; pos0 += batch) {
			int bs = n - pos0 < batch ? n - pos0 : batch;
			float scale = o->lr / (float)bs;
			CUdeviceptr w1 = gp.params + m->off_w1 * sizeof(float);
			CUdeviceptr b1 = gp.params + m->off_b1 * sizeof(float);
			CUdeviceptr w2 = gp.params + m->off_w2 * sizeof(float);
			CUdeviceptr b2 = gp.params + m->off_b2 * sizeof(float);
			void *a_hidden[] = { &gp.x, &gp.perm, &pos0, &bs, (void *)&nf, (void *)&nh,
					     &w1, &b1, &gp.h };
			void *a_output[] = { &gp.y, &gp.perm, &pos0, &bs, (void *)&nh, (void *)&nc,
					     &w2, &b2, &gp.h, &gp.dz, &gp.loss, &gp.correct };
			void *a_dhidden[] = { &bs, (void *)&nh, (void *)&nc, &w2, &gp.h, &gp.dz,
					      &gp.dh };
			void *a_grad[] = { &sh, &gp.x, &gp.perm, &pos0, &bs, (void *)&chunk, &gp.h,
					   &gp.dh, &gp.dz, &gp.params, &scale };
			void *a_atomic[] = { &sh, &gp.x, &gp.perm, &pos0, &bs, &gp.h, &gp.dh, &gp.dz,
					     &gp.g };
			void *a_apply[] = { (void *)&np, &gp.params, &gp.g, &scale };

			if (launch(gp.hidden, (size_t)bs * (size_t)nh, a_hidden, "refnet_hidden") < 0 ||
			    launch(gp.output, (size_t)bs, a_output, "refnet_output") < 0 ||
			    launch(gp.dhidden, (size_t)bs * (size_t)nh, a_dhidden, "refnet_dhidden") < 0)
				goto done;
			if (!o->nondeterministic) {
				if (launch(gp.grad, np, a_grad, "refnet_grad") < 0)
					goto done;
			} else if (launch(gp.grad_atomic, (size_t)bs * np, a_atomic,
					  "refnet_grad_atomic") < 0 ||
				   launch(gp.apply, np, a_apply, "refnet_apply") < 0) {
				goto done;
			}
		}
		if (cu_failed(cu.CtxSynchronize(), "running the kernels") ||
		    cu_failed(cu.MemcpyDtoH(ep.loss, gp.loss, (size_t)n * sizeof(float)),
			      "copying the losses") ||
		    cu_failed(cu.MemcpyDtoH(ep.correct, gp.correct, (size_t)n),
			      "copying the accuracies"))
			goto done;
		if (refnet_report_epoch(o, epoch, n, &ep) < 0)
			goto done;
	}
	if (cu_failed(cu.MemcpyDtoH(m->params, gp.params, np * sizeof(float)),
		      "copying the parameters back"))
		goto done;
	ret = 0;
done:
	gpu_close(&gp);
	free(perm);
	free(ep.loss);
	free(ep.correct);
	return ret;
}

#endif
