/*
 * GPUs through NVML, loaded at run time (mlv/gpu.h).
 */
#include <errno.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/gpu.h"

/* The few NVML types used, as its ABI defines them. */
typedef int nvml_return;
typedef void *nvml_device;
struct nvml_memory {
	unsigned long long total, free, used;
};
struct nvml_pci_info {
	char bus_id_legacy[16];
	unsigned int domain, bus, device, pci_device_id, pci_subsystem_id;
	char bus_id[32];
};
struct nvml_utilization {
	unsigned int gpu, memory;
};

struct nvml {
	void *dl;
	nvml_return (*init)(void);
	nvml_return (*shutdown)(void);
	const char *(*error_string)(nvml_return);
	nvml_return (*count)(unsigned int *);
	nvml_return (*handle)(unsigned int, nvml_device *);
	nvml_return (*name)(nvml_device, char *, unsigned int);
	nvml_return (*uuid)(nvml_device, char *, unsigned int);
	nvml_return (*memory)(nvml_device, struct nvml_memory *);
	nvml_return (*pci)(nvml_device, struct nvml_pci_info *);
	nvml_return (*cc)(nvml_device, int *, int *);
	nvml_return (*util)(nvml_device, struct nvml_utilization *);
	nvml_return (*driver)(char *, unsigned int);
	nvml_return (*cuda)(int *);
};

static void *sym(struct nvml *n, const char *name, const char *fallback)
{
	void *p = dlsym(n->dl, name);

	return p || !fallback ? p : dlsym(n->dl, fallback);
}

/* 0 with the library loaded; -1 with inv->why set. */
static int nvml_load(struct nvml *n, struct mlv_gpu_inventory *inv)
{
	const char *lib = getenv("MLV_NVML_LIBRARY");

	memset(n, 0, sizeof(*n));
	n->dl = dlopen(lib && *lib ? lib : "libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!n->dl) {
		snprintf(inv->why, sizeof(inv->why), "no NVML library (%s)", dlerror());
		return -1;
	}
	*(void **)&n->init = sym(n, "nvmlInit_v2", "nvmlInit");
	*(void **)&n->shutdown = sym(n, "nvmlShutdown", NULL);
	*(void **)&n->error_string = sym(n, "nvmlErrorString", NULL);
	*(void **)&n->count = sym(n, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
	*(void **)&n->handle = sym(n, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
	*(void **)&n->name = sym(n, "nvmlDeviceGetName", NULL);
	*(void **)&n->uuid = sym(n, "nvmlDeviceGetUUID", NULL);
	*(void **)&n->memory = sym(n, "nvmlDeviceGetMemoryInfo", NULL);
	*(void **)&n->pci = sym(n, "nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2");
	*(void **)&n->cc = sym(n, "nvmlDeviceGetCudaComputeCapability", NULL);
	*(void **)&n->util = sym(n, "nvmlDeviceGetUtilizationRates", NULL);
	*(void **)&n->driver = sym(n, "nvmlSystemGetDriverVersion", NULL);
	*(void **)&n->cuda = sym(n, "nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion");
	if (!n->init || !n->shutdown || !n->count || !n->handle) {
		snprintf(inv->why, sizeof(inv->why), "the NVML library lacks its basic functions");
		dlclose(n->dl);
		n->dl = NULL;
		return -1;
	}
	return 0;
}

static void from_nvml(struct mlv_gpu_inventory *inv)
{
	struct nvml n;
	unsigned int count = 0;
	nvml_return rc;

	if (nvml_load(&n, inv) < 0)
		return;
	if ((rc = n.init()) != 0) {
		snprintf(inv->why, sizeof(inv->why), "NVML cannot start: %s",
			 n.error_string ? n.error_string(rc) : "error");
		goto done;
	}
	if (n.driver && n.driver(inv->driver, sizeof(inv->driver)) != 0)
		inv->driver[0] = '\0';
	if (n.cuda && n.cuda(&inv->cuda_version) != 0)
		inv->cuda_version = 0;
	if ((rc = n.count(&count)) != 0 || !count) {
		snprintf(inv->why, sizeof(inv->why), "NVML finds no GPU%s%s", rc ? ": " : "",
			 rc && n.error_string ? n.error_string(rc) : "");
		count = 0;
	}
	inv->gpus = count ? mlv_calloc(count, sizeof(*inv->gpus)) : NULL;
	for (unsigned int i = 0; i < count; i++) {
		struct mlv_gpu *g = &inv->gpus[inv->nr];
		struct nvml_memory mem;
		struct nvml_pci_info pci;
		struct nvml_utilization u;
		nvml_device d;

		if (n.handle(i, &d) != 0)
			continue;
		g->index = i;
		g->utilization = -1;
		if (n.name && n.name(d, g->name, sizeof(g->name)) != 0)
			g->name[0] = '\0';
		if (n.uuid && n.uuid(d, g->uuid, sizeof(g->uuid)) != 0)
			g->uuid[0] = '\0';
		if (n.memory && n.memory(d, &mem) == 0) {
			g->memory_total = mem.total;
			g->memory_used = mem.used;
		}
		if (n.pci && n.pci(d, &pci) == 0) {
			pci.bus_id[sizeof(pci.bus_id) - 1] = '\0';
			snprintf(g->pci_bus_id, sizeof(g->pci_bus_id), "%s", pci.bus_id);
		}
		if (n.cc && n.cc(d, &g->cc_major, &g->cc_minor) != 0)
			g->cc_major = g->cc_minor = 0;
		if (n.util && n.util(d, &u) == 0)
			g->utilization = (int)u.gpu;
		inv->nr++;
	}
	snprintf(inv->source, sizeof(inv->source), "nvml");
	n.shutdown();
done:
	dlclose(n.dl);
}

/* One "<uuid>,<name>,<MiB>[,<cc>[,<bus id>]]" entry of MLV_GPU_INVENTORY. */
static int parse_entry(struct mlv_gpu *g, const char *s, size_t len, unsigned index)
{
	char buf[512], *field[5] = { NULL }, *p, *end;
	int n = 0;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (p = buf; n < 5; n++) {
		field[n] = p;
		if (!(p = strchr(p, ',')))
			break;
		*p++ = '\0';
	}
	if (p || n < 2 || !*field[0] || !*field[1] || strlen(field[0]) >= sizeof(g->uuid) ||
	    strlen(field[1]) >= sizeof(g->name))
		return -1;
	memset(g, 0, sizeof(*g));
	g->index = index;
	g->utilization = -1;
	memcpy(g->uuid, field[0], strlen(field[0]) + 1);
	memcpy(g->name, field[1], strlen(field[1]) + 1);
	if (field[2][0] < '0' || field[2][0] > '9')
		return -1; /* no sign, no blank */
	errno = 0;
	g->memory_total = strtoull(field[2], &end, 10);
	if (end == field[2] || *end || errno || g->memory_total > (UINT64_MAX >> 20))
		return -1;
	g->memory_total <<= 20;
	if (field[3] && *field[3] && sscanf(field[3], "%d.%d", &g->cc_major, &g->cc_minor) != 2)
		return -1;
	if (field[4]) {
		if (strlen(field[4]) >= sizeof(g->pci_bus_id))
			return -1;
		memcpy(g->pci_bus_id, field[4], strlen(field[4]) + 1);
	}
	return 0;
}

static int from_env(struct mlv_gpu_inventory *inv, const char *spec)
{
	const char *p = spec;
	unsigned n = *spec ? 1 : 0;

	for (const char *q = spec; *q; q++)
		n += *q == ';';
	if (n > 4096)
		return mlv_error_set(MLV_EINVALID, "MLV_GPU_INVENTORY: more than 4096 GPUs");
	inv->gpus = n ? mlv_calloc(n, sizeof(*inv->gpus)) : NULL;
	snprintf(inv->source, sizeof(inv->source), "MLV_GPU_INVENTORY");
	while (n && *p) {
		size_t len = strcspn(p, ";");

		if (parse_entry(&inv->gpus[inv->nr], p, len, inv->nr) < 0)
			return mlv_error_set(MLV_EINVALID, "MLV_GPU_INVENTORY: bad entry '%.*s' (want "
					     "<uuid>,<name>,<memory MiB>[,<major.minor>[,<PCI bus id>]])",
					     (int)len, p);
		for (unsigned i = 0; i < inv->nr; i++)
			if (!strcmp(inv->gpus[i].uuid, inv->gpus[inv->nr].uuid))
				return mlv_error_set(MLV_EINVALID, "MLV_GPU_INVENTORY: GPU %s is "
						     "listed twice", inv->gpus[i].uuid);
		inv->nr++;
		p += len + (p[len] == ';');
	}
	if (!inv->nr)
		snprintf(inv->why, sizeof(inv->why), "MLV_GPU_INVENTORY names no GPU");
	return 0;
}

int mlv_gpu_inventory(struct mlv_gpu_inventory *inv)
{
	const char *spec = getenv("MLV_GPU_INVENTORY");
	int ret;

	memset(inv, 0, sizeof(*inv));
	snprintf(inv->source, sizeof(inv->source), "none");
	if (spec) {
		if ((ret = from_env(inv, spec)) < 0)
			mlv_gpu_inventory_release(inv);
		return ret;
	}
	from_nvml(inv);
	return 0;
}

void mlv_gpu_inventory_release(struct mlv_gpu_inventory *inv)
{
	free(inv->gpus);
	inv->gpus = NULL;
	inv->nr = 0;
}
