/*
 * GPU leases: which run may use which device (mlv/lease.h explains the
 * files and the rules; lease-files.c handles the files themselves).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/config.h"
#include "mlv/error.h"
#include "mlv/lease.h"
#include "mlv/tempfile.h"
#include "run/lease-priv.h"

#define WAIT_MIN_MS 20
#define WAIT_MAX_MS 250

/* ---- the request ---------------------------------------------------- */

/* A UUID as NVML spells them: "GPU-...", "MIG-..." (letters, digits, '-', '/'). */
static int uuid_like(const char *s, size_t len)
{
	if (len < 5 || len >= sizeof(((struct mlv_gpu *)0)->uuid) ||
	    (strncmp(s, "GPU-", 4) && strncmp(s, "MIG-", 4)))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '-' || s[i] == '/' || s[i] == '_' || (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	return 1;
}

static int bad_spec(const char *spec, const char *why)
{
	return mlv_error_set(MLV_EINVALID, "bad --gpus '%s': %s (want a count, 'all', "
			     "indices such as '0,2' or 'device=1', or GPU UUIDs)", spec, why);
}

int mlv_lease_request_parse(struct mlv_lease_request *out, const char *spec)
{
	const char *p = spec, *list;
	uint64_t n;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!*spec)
		return bad_spec(spec, "empty");
	if (strlen(spec) > 64 * 1024)
		return bad_spec("...", "too long");
	if (!strcmp(spec, "all")) {
		out->kind = MLV_LEASE_ALL;
		goto done;
	}
	if (lease_all_digits(spec, strlen(spec))) {
		if (mlv_parse_decimal(&n, spec, strlen(spec)) < 0 || n > MLV_LEASE_MAX_GPUS)
			return bad_spec(spec, "not a count");
		out->kind = n ? MLV_LEASE_COUNT : MLV_LEASE_NONE;
		out->count = (unsigned)n;
		goto done;
	}
	list = !strncmp(spec, "device=", 7) ? spec + 7 : spec;
	if (list == spec && !strchr(spec, ',') && !uuid_like(spec, strlen(spec)))
		return bad_spec(spec, "not a count, an index list or a UUID");
	out->kind = MLV_LEASE_LIST;
	for (p = list;; p++) {
		size_t len = strcspn(p, ",");

		if (!len) {
			ret = bad_spec(spec, "an empty entry");
			goto done;
		}
		if (lease_all_digits(p, len)) {
			if (mlv_parse_decimal(&n, p, len) < 0 || n >= MLV_LEASE_MAX_GPUS) {
				ret = bad_spec(spec, "an index out of range");
				goto done;
			}
		} else if (!uuid_like(p, len)) {
			ret = mlv_error_set(MLV_EINVALID, "bad --gpus '%s': '%.*s' is neither an "
					    "index nor a GPU UUID", spec, (int)len, p);
			goto done;
		}
		for (unsigned i = 0; i < out->nr_names; i++)
			if (strlen(out->names[i]) == len && !memcmp(out->names[i], p, len)) {
				ret = mlv_error_set(MLV_EINVALID, "bad --gpus '%s': '%.*s' is named "
						    "twice", spec, (int)len, p);
				goto done;
			}
		if (out->nr_names >= MLV_LEASE_MAX_GPUS) {
			ret = bad_spec(spec, "too many devices");
			goto done;
		}
		out->names = mlv_realloc(out->names, (out->nr_names + 1) * sizeof(*out->names));
		out->names[out->nr_names++] = mlv_strndup(p, len);
		p += len;
		if (!*p)
			break;
	}
done:
	if (ret < 0)
		mlv_lease_request_release(out);
	else
		out->spec = mlv_strdup(spec);
	return ret;
}

void mlv_lease_request_release(struct mlv_lease_request *req)
{
	for (unsigned i = 0; i < req->nr_names; i++)
		free(req->names[i]);
	free(req->names);
	free(req->spec);
	memset(req, 0, sizeof(*req));
}

/* ---- configuration -------------------------------------------------- */

static int config_get(struct mlv_repo *r, const char *key, char **out)
{
	int ret;

	ret = mlv_config_get_local(r, key, out);
	if (ret == MLV_ENOTFOUND)
		return 0;
	return ret < 0 ? ret : 1;
}

int mlv_lease_config_read(struct mlv_lease_config *out, struct mlv_repo *r)
{
	char *v = NULL;
	uint64_t n;
	int ret;

	memset(out, 0, sizeof(*out));
	out->slots = 1;
	if ((ret = config_get(r, "run.lockDir", &v)) < 0)
		goto done;
	if (ret) {
		size_t len = strlen(v);

		while (len > 1 && v[len - 1] == '/')
			v[--len] = '\0';
		if (v[0] != '/' || len >= 4000) {
			ret = mlv_error_set(MLV_EINVALID, "run.lockDir '%s' is not an absolute path", v);
			goto done;
		}
		out->dir = v;
		v = NULL;
	}
	if ((ret = config_get(r, "run.gpuSlots", &v)) < 0)
		goto done;
	if (ret) {
		if (mlv_parse_decimal(&n, v, strlen(v)) < 0 || !n || n > MLV_LEASE_MAX_SLOTS) {
			ret = mlv_error_set(MLV_EINVALID, "run.gpuSlots '%s' is not a number from 1 to %d",
					    v, MLV_LEASE_MAX_SLOTS);
			goto done;
		}
		out->slots = (unsigned)n;
	}
	ret = 0;
done:
	free(v);
	if (!out->dir)
		out->dir = mlv_strdup(MLV_LEASE_DEFAULT_DIR);
	if (ret < 0)
		mlv_lease_config_release(out);
	return ret;
}

void mlv_lease_config_release(struct mlv_lease_config *c)
{
	free(c->dir);
	c->dir = NULL;
}

/* ---- the queue ------------------------------------------------------ */

/*
 * The live waiters older than ticket `mine` (0: all of them), removing
 * tickets whose waiter died where we may.  Called under acquire.lock.
 */
static int waiters_before(struct mlv_lease_holder **out, unsigned *nr, int dirfd, const char *dir,
			  unsigned long long mine, unsigned long long *max_seq)
{
	struct lease_ticket *t;
	size_t n;
	unsigned count = 0;
	int ret;

	if (out)
		*out = NULL;
	*nr = 0;
	if ((ret = lease_tickets_list(&t, &n, dirfd, dir)) < 0)
		return ret;
	if (max_seq)
		*max_seq = n ? t[n - 1].seq : 0;
	for (size_t i = 0; i < n && (!mine || t[i].seq < mine); i++) {
		struct mlv_lease_holder h;

		if ((ret = lease_probe(dirfd, dir, t[i].name, &h)) < 0) {
			/* a ticket someone else planted badly is no waiter */
			mlv_error_clear();
			continue;
		}
		if (!ret) {
			unlinkat(dirfd, t[i].name, 0); /* EPERM for another user's: harmless */
			continue;
		}
		if (out) {
			*out = mlv_realloc(*out, (count + 1) * sizeof(**out));
			h.ticket = count + 1;
			(*out)[count] = h;
		}
		count++;
	}
	free(t);
	*nr = count;
	return 0;
}

/* ---- taking devices ------------------------------------------------- */

struct attempt {
	const struct mlv_gpu_inventory *inv;
	const struct mlv_lease_config *cfg;
	const char *dir;
	int dirfd;
	unsigned *want;      /* inventory positions asked for (LIST/ALL), or every device (COUNT) */
	unsigned nr_want;
	unsigned count;      /* how many to take */
	int any;             /* COUNT: any `count` of want[] */
	/* the result */
	unsigned *taken, *slots;
	int *fds;
	unsigned nr_taken;
};

/* Try each slot of device `g`: *fd the lowest free one (or -1), *nfree how many are free. */
static int try_device(struct attempt *a, const struct mlv_gpu *g, int *fd, unsigned *slot,
		      unsigned *nfree)
{
	char name[160];
	int ret = 0;

	*fd = -1;
	*nfree = 0;
	for (unsigned s = 0; s < a->cfg->slots; s++) {
		int f, writable;

		lease_slot_name(name, sizeof(name), g, s);
		if ((ret = lease_open_file(&f, a->dirfd, a->dir, name, 1, 0666, &writable)) < 0)
			break;
		if (flock(f, LOCK_EX | LOCK_NB) < 0) {
			close(f);
			if (errno == EWOULDBLOCK)
				continue;
			ret = mlv_error_set_errno(MLV_EIO, "cannot lock '%s/%s'", a->dir, name);
			break;
		}
		(*nfree)++;
		if (*fd < 0) {
			*fd = f;
			*slot = s;
		} else {
			close(f);
		}
	}
	if (ret < 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

static void attempt_drop(struct attempt *a)
{
	for (unsigned i = 0; i < a->nr_taken; i++)
		close(a->fds[i]);
	a->nr_taken = 0;
}

/* 1 when every device was taken, 0 when some are busy (nothing held), <0 on error. */
static int attempt_take(struct attempt *a)
{
	int *fd = mlv_calloc(a->nr_want, sizeof(*fd));
	unsigned *slot = mlv_calloc(a->nr_want, sizeof(*slot));
	unsigned *nfree = mlv_calloc(a->nr_want, sizeof(*nfree));
	int ret = 0;

	a->nr_taken = 0;
	for (unsigned i = 0; i < a->nr_want; i++)
		fd[i] = -1;
	for (unsigned i = 0; i < a->nr_want; i++) {
		if ((ret = try_device(a, &a->inv->gpus[a->want[i]], &fd[i], &slot[i], &nfree[i])) < 0)
			goto done;
		if (!a->any && fd[i] < 0)
			goto done; /* one busy device is enough to fail */
	}
	/* devices nobody uses first, then shared ones; index order in each pass */
	for (int pass = a->any ? 0 : 1; pass < 2; pass++)
		for (unsigned i = 0; i < a->nr_want && a->nr_taken < a->count; i++) {
			if (fd[i] < 0 || (!pass && nfree[i] < a->cfg->slots))
				continue;
			a->taken[a->nr_taken] = a->want[i];
			a->slots[a->nr_taken] = slot[i];
			a->fds[a->nr_taken++] = fd[i];
			fd[i] = -1;
		}
	if (a->nr_taken == a->count) {
		/* the lease in inventory order */
		for (unsigned i = 1; i < a->nr_taken; i++)
			for (unsigned j = i; j > 0 && a->taken[j - 1] > a->taken[j]; j--) {
				unsigned t = a->taken[j], s = a->slots[j];
				int f = a->fds[j];

				a->taken[j] = a->taken[j - 1];
				a->slots[j] = a->slots[j - 1];
				a->fds[j] = a->fds[j - 1];
				a->taken[j - 1] = t;
				a->slots[j - 1] = s;
				a->fds[j - 1] = f;
			}
		ret = 1;
	}
done:
	for (unsigned i = 0; i < a->nr_want; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	if (ret != 1)
		attempt_drop(a);
	free(fd);
	free(slot);
	free(nfree);
	return ret;
}

/* Why the attempt failed: the holders of each busy device, and the waiters ahead. */
static void busy_message(struct mlv_buf *b, struct attempt *a, unsigned long long mine)
{
	struct mlv_lease_holder *w = NULL;
	unsigned nw = 0, busy = 0, free_nr = 0;
	char name[160];

	for (unsigned i = 0; i < a->nr_want; i++) {
		const struct mlv_gpu *g = &a->inv->gpus[a->want[i]];
		size_t mark = b->len;
		unsigned held = 0;

		mlv_buf_addf(b, "%sGPU %u (%s) is leased by ", busy ? "; " : "", g->index, g->uuid);
		for (unsigned s = 0; s < a->cfg->slots; s++) {
			struct mlv_lease_holder h;
			int ret;

			lease_slot_name(name, sizeof(name), g, s);
			if ((ret = lease_probe(a->dirfd, a->dir, name, &h)) < 0)
				mlv_error_clear();
			if (ret <= 0)
				break;
			if (held++)
				mlv_buf_adds(b, " and ");
			lease_holder_describe(b, &h);
		}
		if (held == a->cfg->slots) {
			busy++;
		} else {
			mlv_buf_setlen(b, mark);
			free_nr++;
		}
	}
	if (a->any)
		mlv_buf_addf(b, "%s%u of %u GPU%s free", busy ? "; " : "", free_nr, a->nr_want,
			     a->nr_want == 1 ? "" : "s");
	if (!waiters_before(&w, &nw, a->dirfd, a->dir, mine, NULL) && nw) {
		mlv_buf_addf(b, "; %u run%s wait%s ahead, first ", nw, nw == 1 ? "" : "s",
			     nw == 1 ? "s" : "");
		lease_holder_describe(b, &w[0]);
	}
	mlv_error_clear();
	free(w);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Resolve the request to inventory positions. */
static int resolve(struct attempt *a, const struct mlv_lease_request *req)
{
	const struct mlv_gpu_inventory *inv = a->inv;

	if (req->kind == MLV_LEASE_COUNT && req->count > inv->nr)
		return mlv_error_set(MLV_ENOTFOUND, "--gpus %s: asked for %u GPUs, this machine has %u",
				     req->spec, req->count, inv->nr);
	if (req->kind != MLV_LEASE_LIST) {
		a->want = mlv_calloc(inv->nr, sizeof(*a->want));
		for (unsigned i = 0; i < inv->nr; i++)
			a->want[i] = i;
		a->nr_want = inv->nr;
		a->any = req->kind == MLV_LEASE_COUNT;
		a->count = a->any ? req->count : inv->nr;
		return 0;
	}
	a->want = mlv_calloc(req->nr_names, sizeof(*a->want));
	for (unsigned k = 0; k < req->nr_names; k++) {
		const char *name = req->names[k];
		unsigned i;

		for (i = 0; i < inv->nr; i++)
			if (lease_all_digits(name, strlen(name)) ? inv->gpus[i].index == strtoul(name, NULL, 10)
							    : !strcmp(inv->gpus[i].uuid, name))
				break;
		if (i == inv->nr)
			return mlv_error_set(MLV_ENOTFOUND, "--gpus %s: no GPU %s on this machine "
					     "(see 'mlv gpus')", req->spec, name);
		for (unsigned j = 0; j < a->nr_want; j++)
			if (a->want[j] == i)
				return mlv_error_set(MLV_EINVALID, "--gpus %s: GPU %u is named twice",
						     req->spec, inv->gpus[i].index);
		a->want[a->nr_want++] = i;
	}
	a->count = a->nr_want;
	return 0;
}

static int lock_acquire_file(int *out, struct attempt *a, const struct mlv_lease_options *opts)
{
	int writable, ret;

	if ((ret = lease_open_file(out, a->dirfd, a->dir, LEASE_ACQUIRE_NAME, 1, 0644, &writable)) < 0)
		return ret;
	if (lease_flock(*out, LOCK_EX, opts) < 0) {
		ret = errno == EINTR ? mlv_error_set(MLV_ECONFLICT, "interrupted while taking GPUs")
				     : mlv_error_set_errno(MLV_EIO, "cannot lock '%s/%s'", a->dir,
							   LEASE_ACQUIRE_NAME);
		close(*out);
		*out = -1;
	}
	return ret;
}

static int ticket_create(struct mlv_tempfile **tmp, int *fd, unsigned long long *seq,
			 struct attempt *a, unsigned long long last, const struct lease_self *me,
			 const struct mlv_lease_options *opts, const char *spec)
{
	char name[40];
	int ret = 0;

	*seq = last + 1;
	snprintf(name, sizeof(name), LEASE_TICKET_PREFIX "%0*llu", LEASE_TICKET_DIGITS, *seq);
	*fd = openat(a->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (*fd < 0)
		return mlv_error_set_errno(MLV_EIO, "cannot create '%s/%s'", a->dir, name);
	*tmp = mlv_tempfile_register(a->dirfd, name);
	if (fchmod(*fd, 0644) < 0 || flock(*fd, LOCK_EX | LOCK_NB) < 0)
		ret = mlv_error_set_errno(MLV_EIO, "cannot lock '%s/%s'", a->dir, name);
	else
		ret = lease_record_write(*fd, me, opts->run_id, spec, name);
	if (ret < 0) {
		mlv_tempfile_remove(*tmp);
		*tmp = NULL;
		close(*fd);
		*fd = -1;
	}
	return ret;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL); /* a signal cuts it short: the caller looks again */
}

int mlv_lease_acquire(struct mlv_lease **out, const struct mlv_gpu_inventory *inv,
		      const struct mlv_lease_request *req, const struct mlv_lease_config *cfg,
		      const struct mlv_lease_options *opts)
{
	static const struct mlv_lease_options defaults = MLV_LEASE_OPTIONS_INIT;
	struct attempt a = { 0 };
	struct mlv_lease *l;
	struct mlv_tempfile *ticket = NULL;
	struct mlv_buf why = MLV_BUF_INIT;
	unsigned long long mine = 0, last;
	struct lease_self me;
	int ret = 0, lockfd = -1, ticketfd = -1, taken = 0;
	long long deadline = -1;
	long backoff = WAIT_MIN_MS;

	if (!opts)
		opts = &defaults;
	*out = NULL;
	l = mlv_calloc(1, sizeof(*l));
	l->spec = mlv_strdup(req->spec ? req->spec : "");
	l->dir = mlv_strdup(cfg->dir);
	if (req->kind == MLV_LEASE_NONE)
		goto done;
	if (!inv->nr) {
		ret = mlv_error_set(MLV_ENOTFOUND, "no GPU: %s", *inv->why ? inv->why : "none found");
		goto done;
	}
	a.inv = inv;
	a.cfg = cfg;
	a.dir = cfg->dir;
	a.dirfd = -1;
	if ((ret = resolve(&a, req)) < 0 || (ret = lease_open_dir(&a.dirfd, cfg->dir, 1)) < 0)
		goto done;
	a.taken = mlv_calloc(a.count, sizeof(*a.taken));
	a.slots = mlv_calloc(a.count, sizeof(*a.slots));
	a.fds = mlv_calloc(a.count, sizeof(*a.fds));
	lease_self_fill(&me, time(NULL));
	if (opts->wait && opts->timeout_ms >= 0)
		deadline = now_ms() + opts->timeout_ms;

	for (;;) {
		unsigned ahead;
		int stop;

		if ((ret = lock_acquire_file(&lockfd, &a, opts)) < 0)
			goto done;
		if ((ret = waiters_before(NULL, &ahead, a.dirfd, a.dir, mine, &last)) < 0)
			goto done;
		if (!ahead && (ret = attempt_take(&a)) != 0) {
			if (ret > 0)
				taken = 1;
			goto done;
		}
		stop = !opts->wait || (deadline >= 0 && now_ms() >= deadline) ||
		       (opts->interrupted && opts->interrupted(opts->payload));
		if (stop) {
			busy_message(&why, &a, mine);
			ret = mlv_error_set(MLV_ECONFLICT, "%s (--gpus %s): %s",
					    !opts->wait ? "GPUs busy" :
					    deadline >= 0 && now_ms() >= deadline ? "gave up waiting for GPUs" :
					    "interrupted while waiting for GPUs", req->spec, why.ptr);
			goto done;
		}
		if (!ticket && (ret = ticket_create(&ticket, &ticketfd, &mine, &a, last, &me, opts,
						    req->spec)) < 0)
			goto done;
		close(lockfd);
		lockfd = -1;
		{
			long ms = backoff;

			if (deadline >= 0 && deadline - now_ms() < ms)
				ms = (long)(deadline - now_ms()) > 0 ? (long)(deadline - now_ms()) : 0;
			sleep_ms(ms);
		}
		backoff = backoff * 2 > WAIT_MAX_MS ? WAIT_MAX_MS : backoff * 2;
	}
done:
	if (ticket)
		mlv_tempfile_remove(ticket); /* unlinked while still locked */
	if (ticketfd >= 0)
		close(ticketfd);
	if (taken) {
		l->gpus = mlv_calloc(a.nr_taken, sizeof(*l->gpus));
		l->slots = mlv_calloc(a.nr_taken, sizeof(*l->slots));
		l->fds = mlv_calloc(a.nr_taken, sizeof(*l->fds));
		for (unsigned i = 0; i < a.nr_taken; i++) {
			l->gpus[i] = inv->gpus[a.taken[i]];
			l->slots[i] = a.slots[i];
			l->fds[i] = a.fds[i];
		}
		l->nr = a.nr_taken;
		a.nr_taken = 0;
		l->since = time(NULL);
		/* named before acquire.lock goes, so that no probe sees a nameless holder */
		ret = mlv_lease_set_run(l, opts->run_id);
	}
	if (lockfd >= 0)
		close(lockfd);
	attempt_drop(&a);
	if (a.dirfd >= 0)
		close(a.dirfd);
	free(a.want);
	free(a.taken);
	free(a.slots);
	free(a.fds);
	mlv_buf_release(&why);
	if (ret < 0) {
		struct mlv_error_state es;

		mlv_error_state_capture(&es, ret);
		mlv_lease_release(l);
		return mlv_error_state_restore(&es);
	}
	*out = l;
	return 0;
}

int mlv_lease_set_run(struct mlv_lease *l, const char *run_id)
{
	struct lease_self me;
	char name[160];

	lease_self_fill(&me, (time_t)l->since);
	for (unsigned i = 0; i < l->nr; i++) {
		int ret;

		lease_slot_name(name, sizeof(name), &l->gpus[i], l->slots[i]);
		if ((ret = lease_record_write(l->fds[i], &me, run_id, l->spec, name)) < 0 &&
		    mlv_error_last_code() != MLV_EIO)
			return ret;
		/* a lock file another user made read-only: the lease holds, unnamed */
		mlv_error_clear();
	}
	return 0;
}

char *mlv_lease_cuda_visible(const struct mlv_lease *l)
{
	struct mlv_buf b = MLV_BUF_INIT;

	for (unsigned i = 0; l && i < l->nr; i++)
		if (*l->gpus[i].uuid)
			mlv_buf_addf(&b, "%s%s", i ? "," : "", l->gpus[i].uuid);
		else
			mlv_buf_addf(&b, "%s%u", i ? "," : "", l->gpus[i].index);
	return mlv_buf_detach(&b, NULL);
}

json_t *mlv_lease_record(const struct mlv_lease *l)
{
	json_t *o = json_object(), *models = json_array(), *uuids = json_array();
	json_t *indices = json_array(), *slots = json_array();

	for (unsigned i = 0; i < l->nr; i++) {
		json_array_append_new(models, json_string(l->gpus[i].name));
		json_array_append_new(uuids, json_string(l->gpus[i].uuid));
		json_array_append_new(indices, json_integer(l->gpus[i].index));
		json_array_append_new(slots, json_integer(l->slots[i]));
	}
	json_object_set_new(o, "count", json_integer(l->nr));
	json_object_set_new(o, "models", models);
	json_object_set_new(o, "uuids", uuids);
	json_object_set_new(o, "indices", indices);
	json_object_set_new(o, "slots", slots);
	json_object_set_new(o, "lease", json_string(l->spec ? l->spec : ""));
	return o;
}

void mlv_lease_release(struct mlv_lease *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->nr; i++) {
		/*
		 * A record left behind would be ignored anyway (the lock tells);
		 * a read-only lock file had none written.
		 */
		if (ftruncate(l->fds[i], 0) < 0) {
		}
		close(l->fds[i]);
	}
	free(l->gpus);
	free(l->slots);
	free(l->fds);
	free(l->spec);
	free(l->dir);
	free(l);
}

/* ---- for `mlv gpus` -------------------------------------------------- */

/* The acquire lock, so that a probe never makes an attempt fail; -1 when the directory is missing. */
static int probe_begin(int *dirfd, int *lockfd, const struct mlv_lease_config *cfg)
{
	int ret, writable;

	*lockfd = -1;
	if ((ret = lease_open_dir(dirfd, cfg->dir, 0)) < 0 || *dirfd < 0)
		return ret;
	if ((ret = lease_open_file(lockfd, *dirfd, cfg->dir, LEASE_ACQUIRE_NAME, 0, 0, &writable)) < 0)
		goto fail;
	if (*lockfd >= 0 && lease_flock(*lockfd, LOCK_EX, NULL) < 0) {
		ret = mlv_error_set_errno(MLV_EIO, "cannot lock '%s/%s'", cfg->dir, LEASE_ACQUIRE_NAME);
		goto fail;
	}
	return 0;
fail:
	if (*lockfd >= 0)
		close(*lockfd);
	close(*dirfd);
	*dirfd = *lockfd = -1;
	return ret;
}

int mlv_lease_holders(struct mlv_lease_holder **out, unsigned *nr,
		      const struct mlv_lease_config *cfg, const struct mlv_gpu *gpu)
{
	char prefix[160], name[160];
	struct dirent *de;
	DIR *d = NULL;
	int dirfd, lockfd, fd, ret;
	unsigned alloc = 0;

	*out = NULL;
	*nr = 0;
	if ((ret = probe_begin(&dirfd, &lockfd, cfg)) < 0 || dirfd < 0)
		return ret;
	lease_slot_name(prefix, sizeof(prefix), gpu, 0);
	prefix[strlen(prefix) - 1] = '\0'; /* "gpu.<uuid>." */
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		ret = mlv_error_set_errno(MLV_EIO, "cannot read '%s'", cfg->dir);
		goto done;
	}
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		struct mlv_lease_holder h;
		uint64_t slot;

		if (strncmp(s, prefix, strlen(prefix)))
			continue;
		s += strlen(prefix);
		if (mlv_parse_decimal(&slot, s, strlen(s)) < 0 || slot >= 1024)
			continue;
		lease_slot_name(name, sizeof(name), gpu, (unsigned)slot);
		if (strcmp(name, de->d_name))
			continue;
		if ((ret = lease_probe(dirfd, cfg->dir, name, &h)) < 0)
			goto done;
		if (!ret)
			continue;
		h.slot = (unsigned)slot;
		MLV_ALLOC_GROW(*out, *nr + 1, alloc);
		(*out)[(*nr)++] = h;
	}
	ret = 0;
	/* by slot, as readdir() has no order */
	for (unsigned i = 1; i < *nr; i++)
		for (unsigned j = i; j > 0 && (*out)[j - 1].slot > (*out)[j].slot; j--) {
			struct mlv_lease_holder t = (*out)[j];

			(*out)[j] = (*out)[j - 1];
			(*out)[j - 1] = t;
		}
done:
	if (d)
		closedir(d);
	if (lockfd >= 0)
		close(lockfd);
	close(dirfd);
	if (ret < 0) {
		free(*out);
		*out = NULL;
		*nr = 0;
	}
	return ret;
}

int mlv_lease_waiters(struct mlv_lease_holder **out, unsigned *nr,
		      const struct mlv_lease_config *cfg)
{
	int dirfd, lockfd, ret;

	*out = NULL;
	*nr = 0;
	if ((ret = probe_begin(&dirfd, &lockfd, cfg)) < 0 || dirfd < 0)
		return ret;
	ret = waiters_before(out, nr, dirfd, cfg->dir, 0, NULL);
	if (lockfd >= 0)
		close(lockfd);
	close(dirfd);
	return ret;
}
