/*
 * mlv gpus: the GPUs of this machine.
 */
#include <stdio.h>

#include <stdlib.h>

#include "builtin.h"
#include "mlv/gpu.h"
#include "mlv/lease.h"
#include "mlv/repo.h"

static json_t *holder_json(const struct mlv_lease_holder *h, int waiter)
{
	json_t *o = json_object();

	json_object_set_new(o, "run", *h->run_id ? json_text(h->run_id) : json_null());
	json_object_set_new(o, "pid", h->pid ? json_integer(h->pid) : json_null());
	json_object_set_new(o, "user", *h->user ? json_text(h->user) : json_null());
	json_object_set_new(o, "host", *h->host ? json_text(h->host) : json_null());
	json_object_set_new(o, "since", *h->since ? json_text(h->since) : json_null());
	json_object_set_new(o, "request", *h->request ? json_text(h->request) : json_null());
	if (waiter)
		json_object_set_new(o, "position", json_integer(h->ticket));
	else
		json_object_set_new(o, "slot", json_integer(h->slot));
	return o;
}

static void holder_print(const char *what, const struct mlv_lease_holder *h)
{
	printf("   %s ", what);
	if (*h->run_id)
		printf("run %s", h->run_id);
	else
		printf("a process");
	if (h->pid)
		printf(", pid %ld", h->pid);
	printf(", user %s", *h->user ? h->user : "unknown");
	if (*h->host)
		printf(" on %s", h->host);
	if (*h->since)
		printf(", since %s", h->since);
	if (*h->request)
		printf(", --gpus %s", h->request);
	putchar('\n');
}

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
	struct mlv_lease_config cfg;
	struct mlv_lease_holder **holders, *waiters = NULL;
	unsigned *nr_holders, nr_waiters = 0;
	struct mlv_repo *r = ctx->repo, *own = NULL;

	if (parse_options(argc, argv, opts, usage))
		usage_with_options(usage, opts);
	if (mlv_gpu_inventory(&inv) < 0)
		die_lib();
	/* run.lockDir and run.gpuSlots as the repository here sees them, if there is one */
	if (!r && !mlv_repo_discover(&own))
		r = own;
	mlv_error_clear();
	if (mlv_lease_config_read(&cfg, r) < 0)
		die_lib();
	holders = mlv_calloc(inv.nr + 1, sizeof(*holders));
	nr_holders = mlv_calloc(inv.nr + 1, sizeof(*nr_holders));
	for (unsigned i = 0; i < inv.nr; i++)
		if (mlv_lease_holders(&holders[i], &nr_holders[i], &cfg, &inv.gpus[i]) < 0)
			die_lib();
	if (inv.nr && mlv_lease_waiters(&waiters, &nr_waiters, &cfg) < 0)
		die_lib();
	if (json) {
		json_t *out = json_object(), *list = json_array(), *wl = json_array();

		json_object_set_new(out, "source", json_string(inv.source));
		json_object_set_new(out, "driver", *inv.driver ? json_text(inv.driver) : json_null());
		json_object_set_new(out, "cuda", inv.cuda_version ?
				    json_sprintf("%d.%d", inv.cuda_version / 1000,
						 inv.cuda_version % 1000 / 10) : json_null());
		for (unsigned i = 0; i < inv.nr; i++) {
			json_t *g = gpu_json(&inv.gpus[i]), *hl = json_array();

			for (unsigned k = 0; k < nr_holders[i]; k++)
				json_array_append_new(hl, holder_json(&holders[i][k], 0));
			json_object_set_new(g, "holders", hl);
			json_array_append_new(list, g);
		}
		for (unsigned k = 0; k < nr_waiters; k++)
			json_array_append_new(wl, holder_json(&waiters[k], 1));
		json_object_set_new(out, "gpus", list);
		json_object_set_new(out, "waiting", wl);
		json_object_set_new(out, "lock_dir", json_text(cfg.dir));
		json_object_set_new(out, "slots", json_integer(cfg.slots));
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
			for (unsigned k = 0; k < nr_holders[i]; k++)
				holder_print("leased by", &holders[i][k]);
		}
		for (unsigned k = 0; k < nr_waiters; k++)
			holder_print("waiting:", &waiters[k]);
	}
	for (unsigned i = 0; i < inv.nr; i++)
		free(holders[i]);
	free(holders);
	free(nr_holders);
	free(waiters);
	mlv_lease_config_release(&cfg);
	mlv_gpu_inventory_release(&inv);
	mlv_repo_free(own);
	return 0;
}
