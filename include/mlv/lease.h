#ifndef MLV_LEASE_H
#define MLV_LEASE_H

/* mlv-layer: run */
#pragma GCC visibility push(default)

#include <jansson.h>
#include <sys/types.h>
#include "gpu.h"

struct mlv_repo;

/*
 * GPU leases: which run may use which device of this machine.
 *
 * A lease is an flock(2) LOCK_EX held on a per-device lock file in a
 * machine-wide directory (config run.lockDir, default
 * MLV_LEASE_DEFAULT_DIR), on a descriptor kept open for the lease's whole
 * life.  The kernel drops the lock when the process ends however it ends,
 * so a crashed run never leaks a lease; the file's content (who holds it)
 * is only believed while the lock is held.
 *
 *	<dir>/gpu.<uuid>.<slot>   one per device and slot (run.gpuSlots = K:
 *	                          slots 0..K-1, so K leases may share a device);
 *	                          holds the holder's record while locked
 *	<dir>/wait.<20 digits>    a waiter's ticket (--wait), locked by it
 *	<dir>/acquire.lock        held for the few system calls of one attempt:
 *	                          taking N devices is all or nothing, and a
 *	                          probe never makes another attempt fail
 *
 * <uuid> is the device UUID with every byte outside [A-Za-z0-9_-] made
 * '_' ("index-<i>" for a device whose UUID NVML did not give).  Files are opened with O_NOFOLLOW from the directory's fd; a
 * symlink, a non-regular file or a file with several links in the
 * directory is an error naming it.  The directory is created mode 1777
 * (sticky, like /tmp) so that every user of the machine shares it; one
 * that is a symlink, not a directory, or writable by group or others
 * without the sticky bit is refused.  Lock files are made mode 0666 so
 * that the next user can lock them too.
 *
 * Waiting (--wait) is first come, first served: a waiter draws a ticket
 * and only the oldest live ticket tries to take devices; a request that
 * does not wait also fails while older waiters queue.  Waiters poll
 * (a few times a second, never a busy loop).  A ticket is registered as a
 * temporary file (mlv/tempfile.h): a signal removes it, and a ticket whose
 * waiter died is recognised by its lock and ignored or removed.
 *
 * The lease's descriptors are close-on-exec: the lease lives as long as
 * the process that took it (`mlv run`, which waits for its command), not
 * as long as whatever the command leaves behind.
 */
#define MLV_LEASE_DEFAULT_DIR "/tmp/mlv-gpu-locks"
#define MLV_LEASE_MAX_SLOTS 64
#define MLV_LEASE_MAX_GPUS 4096

/* What --gpus asked for. */
enum mlv_lease_kind {
	MLV_LEASE_NONE,  /* "0": no GPU; the command sees none (CUDA_VISIBLE_DEVICES="") */
	MLV_LEASE_COUNT, /* "N": any N devices */
	MLV_LEASE_ALL,   /* "all": every device of the inventory */
	MLV_LEASE_LIST,  /* "0,2", "device=1", "GPU-<uuid>[,...]": these devices */
};

struct mlv_lease_request {
	enum mlv_lease_kind kind;
	unsigned count;  /* MLV_LEASE_COUNT */
	char **names;    /* MLV_LEASE_LIST: index ("2") or UUID, as given */
	unsigned nr_names;
	char *spec;      /* the spec as given, for messages and run.json */
};

/*
 * Parse a --gpus spec: "N" (a count; "0" means none), "all", a list of
 * indices with at least one comma ("0,2"), "device=<i>[,<i>...]" (one
 * index alone), or UUIDs ("GPU-...", "MIG-...", mixed with indices).
 * MLV_EINVALID naming the spec; a device named twice is an error.
 */
int mlv_lease_request_parse(struct mlv_lease_request *out, const char *spec);
void mlv_lease_request_release(struct mlv_lease_request *req);

/* The machine-wide settings. */
struct mlv_lease_config {
	char *dir;      /* run.lockDir, absolute; MLV_LEASE_DEFAULT_DIR when unset */
	unsigned slots; /* run.gpuSlots, 1..MLV_LEASE_MAX_SLOTS; 1 when unset */
};

/*
 * Read run.lockDir and run.gpuSlots through mlv_config_get(); with `r`
 * NULL (outside a repository) from git's user and system configuration
 * (mlv.run.lockDir, mlv.run.gpuSlots).  MLV_EINVALID for a relative
 * directory or a bad slot count, naming the key.
 */
int mlv_lease_config_read(struct mlv_lease_config *out, struct mlv_repo *r);
void mlv_lease_config_release(struct mlv_lease_config *c);

/* Who holds (or waits for) a device, as it wrote itself into its file. */
struct mlv_lease_holder {
	char run_id[64];   /* "" when the holder did not say */
	long pid;          /* 0 when unknown */
	char user[64];
	char host[128];
	char since[40];    /* UTC, "2026-11-26T06:05:12Z"; "" when unknown */
	char request[64];  /* the --gpus spec it asked for */
	unsigned slot;     /* holders: the slot of the device */
	unsigned ticket;   /* waiters: position in the queue, 1 = next */
};

struct mlv_lease_options {
	int wait;            /* queue when busy instead of failing at once */
	int timeout_ms;      /* with wait: give up after this long; <0: never */
	const char *run_id;  /* written into the holder record; NULL is fine */
	/* polled while waiting (and after EINTR): nonzero stops the wait */
	int (*interrupted)(void *payload);
	void *payload;
};
#define MLV_LEASE_OPTIONS_INIT { 0, -1, NULL, NULL, NULL }

struct mlv_lease {
	struct mlv_gpu *gpus; /* the leased devices, in inventory order (copies) */
	unsigned *slots;      /* the slot taken on each */
	unsigned nr;          /* 0 for MLV_LEASE_NONE */
	char *spec;           /* the request as given */
	/* private */
	int *fds;
	char *dir;
	long long since;
};

/*
 * Take the devices `req` asks for among `inv`, under `cfg`.  A count
 * prefers devices nobody uses, then free slots of shared ones, in index
 * order.  Nothing is held unless everything was taken.
 *
 *   MLV_ENOTFOUND  no GPU ("no GPU: <inv->why>"), an index or UUID not in
 *                  the inventory, more devices asked for than exist
 *   MLV_ECONFLICT  busy (without wait, or when the timeout passed, or
 *                  when interrupted): names each busy device's holders,
 *                  "GPU 1 (GPU-...) is leased by run <id> (pid N, user
 *                  alice on gpu01, since ...)", and waiters ahead
 *   MLV_EINVALID / MLV_EIO  the lock directory or a file in it, named
 *
 * MLV_LEASE_NONE succeeds with an empty lease, GPU or not.
 */
int mlv_lease_acquire(struct mlv_lease **out, const struct mlv_gpu_inventory *inv,
		      const struct mlv_lease_request *req, const struct mlv_lease_config *cfg,
		      const struct mlv_lease_options *opts);

/* Rewrite the holder records with `run_id` (known only after the lease was taken). */
int mlv_lease_set_run(struct mlv_lease *l, const char *run_id);

/*
 * CUDA_VISIBLE_DEVICES for the command: the leased UUIDs joined by ','
 * ("" for none: the command sees no GPU; a device without a UUID by its
 * index).  Set CUDA_DEVICE_ORDER=PCI_BUS_ID
 * beside it.  The caller frees the string.
 */
char *mlv_lease_cuda_visible(const struct mlv_lease *l);

/*
 * run.json "gpus": {"count": n, "models": [names], "uuids": [...],
 * "lease": spec, "indices": [...], "slots": [...]}.  New reference.
 */
json_t *mlv_lease_record(const struct mlv_lease *l);

/* Give the devices back (truncating the holder records) and free.  NULL is fine. */
void mlv_lease_release(struct mlv_lease *l);

/*
 * The live holders of `gpu` (any slot present in the directory), and the
 * live waiters of the machine (in queue order), for `mlv gpus`.  A record
 * whose lock is not held (its process died) is no holder.  A missing
 * directory means none.  The caller frees *out.
 */
int mlv_lease_holders(struct mlv_lease_holder **out, unsigned *nr,
		      const struct mlv_lease_config *cfg, const struct mlv_gpu *gpu);
int mlv_lease_waiters(struct mlv_lease_holder **out, unsigned *nr,
		      const struct mlv_lease_config *cfg);

#pragma GCC visibility pop

#endif
