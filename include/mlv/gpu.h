#ifndef MLV_GPU_H
#define MLV_GPU_H

/* mlv-layer: run */
#pragma GCC visibility push(default)

#include <stdint.h>

/*
 * The GPUs of this machine, for runs and their environment manifests.
 *
 * Read through NVML (libnvidia-ml.so.1), loaded with dlopen() at run time
 * so that one binary runs on machines with and without a GPU: without
 * the library, or when NVML finds no device, the inventory is empty and
 * `why` says so -- never an error.
 *
 * MLV_GPU_INVENTORY, when set, describes the inventory instead of NVML
 * (tests, containers that hide the devices): entries separated by ';',
 * each "<uuid>,<name>,<memory MiB>[,<compute capability>[,<PCI bus id>]]",
 * in index order; "" means no GPU.
 */
struct mlv_gpu {
	unsigned index;
	char uuid[96];
	char name[96];
	char pci_bus_id[32];    /* "00000000:3B:00.0", or "" */
	int cc_major, cc_minor; /* compute capability, 0 when unknown */
	uint64_t memory_total;  /* bytes */
	uint64_t memory_used;   /* bytes; 0 when unknown */
	int utilization;        /* percent, -1 when unknown */
};

struct mlv_gpu_inventory {
	struct mlv_gpu *gpus;
	unsigned nr;
	char driver[80];        /* driver version, or "" */
	int cuda_version;       /* e.g. 13000 for CUDA 13.0; 0 when unknown */
	char source[32];        /* "nvml", "MLV_GPU_INVENTORY" or "none" */
	char why[256];          /* with no GPU: why not (no NVML library, ...) */
};

/* 0 with `inv` filled (possibly empty); MLV_EINVALID for a malformed MLV_GPU_INVENTORY. */
int mlv_gpu_inventory(struct mlv_gpu_inventory *inv);
void mlv_gpu_inventory_release(struct mlv_gpu_inventory *inv);

#pragma GCC visibility pop

#endif
