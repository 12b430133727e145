/*
 * mlv gpus: the GPUs of this machine.
 */
#include <stdio.h>

#include "builtin.h"
#include "mlv/gpu.h"

static json_t *gpu_json(const struct mlv_gpu *g)
{
	json_t *o = json_object();

	json_object_set_new(o, "index", json_integer(g->index));
	json_object_set_new(o, "uuid", json_text(g->uuid));
	json_object_set_new(o, "name", json_text(g->name));
	json_object_set_new(o, "pci_bus_id", *g->pci_bus_id ? json_text(g->pci_bus_id) : json_null());
	if (g->cc_major)
		json_object_set_new(o, "compute_capability",
				    json_sprintf("%d.%d", g->cc_major, g->cc_minor));
	else
		json_object_set_new(o, "compute_capability", json_null());
	json_object_set_new(o, "memory_total", json_integer((json_int_t)g->memory_total));
	json_object_set_new(o, "memory_used", json_integer((json_int_t)g->memory_used));
	json_object_set_new(o, "utilization",
			    g->utilization >= 0 ? json_integer(g->utilization) : json_null());
	return o;
}

int cmd_gpus(int argc, const char **argv, struct mlv_ctx *ctx)
{
	static const char *const usage[] = { "mlv gpus [--json]", NULL };
	int json = 0;
	const struct option opts[] = {
		OPT_BOOL_F(0, "json", &json, "print one JSON object"),
		OPT_END_F,
	};
	struct mlv_gpu_inventory inv;

	if (parse_options(argc, argv, opts, usage))
		usage_with_options(usage, opts);
	if (mlv_gpu_inventory(&inv) < 0)
		die_lib();
	if (json) {
		json_t *out = json_object(), *list = json_array();

		json_object_set_new(out, "source", json_string(inv.source));
		json_object_set_new(out, "driver", *inv.driver ? json_text(inv.driver) : json_null());
		json_object_set_new(out, "cuda", inv.cuda_version ?
				    json_sprintf("%d.%d", inv.cuda_version / 1000,
						 inv.cuda_version % 1000 / 10) : json_null());
		for (unsigned i = 0; i < inv.nr; i++)
			json_array_append_new(list, gpu_json(&inv.gpus[i]));
		json_object_set_new(out, "gpus", list);
		json_object_set_new(out, "none", inv.nr ? json_null() : json_text(inv.why));
		json_emit(out);
	} else if (!inv.nr) {
		printf("no GPU: %s\n", inv.why);
	} else {
		if (*inv.driver || inv.cuda_version)
			printf("driver %s, CUDA %d.%d\n", *inv.driver ? inv.driver : "unknown",
			       inv.cuda_version / 1000, inv.cuda_version % 1000 / 10);
		for (unsigned i = 0; i < inv.nr; i++) {
			const struct mlv_gpu *g = &inv.gpus[i];
			char cc[16] = "-", util[16] = "-";

			if (g->cc_major)
				snprintf(cc, sizeof(cc), "sm_%d%d", g->cc_major, g->cc_minor);
			if (g->utilization >= 0)
				snprintf(util, sizeof(util), "%d%%", g->utilization);
			printf("%u  %-24s %-6s %10s  %10s used  %4s  %s  %s\n", g->index, g->name, cc,
			       human_size(g->memory_total), human_size(g->memory_used), util,
			       *g->pci_bus_id ? g->pci_bus_id : "-", g->uuid);
		}
	}
	mlv_gpu_inventory_release(&inv);
	return 0;
}
