/*
 * GPU leases (lib/run/lease.c): processes that take leases at once.
 *
 * Run with arguments, it is a helper for the shell tests instead:
 *
 *	t-lease hold <lock dir> <slots> <spec> <run id|-> [<wait ms>]
 *
 * takes the lease on the inventory of MLV_GPU_INVENTORY, prints
 * "held <CUDA_VISIBLE_DEVICES>" (or "error: <message>" and exits 1), and
 * holds it until killed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mlv/buf.h"
#include "mlv/error.h"
#include "mlv/lease.h"
#include "mlv/tempfile.h"
#include "tap.h"

static struct mlv_gpu gpus[3];
static struct mlv_gpu_inventory inv3, inv2, inv1, none;
static char dir[4096];

static void setup(void)
{
	static const char *const uuids[] = { "GPU-aaaa-1111", "GPU-bbbb-2222", "GPU-cccc-3333" };

	for (unsigned i = 0; i < 3; i++) {
		gpus[i].index = i;
		snprintf(gpus[i].uuid, sizeof(gpus[i].uuid), "%s", uuids[i]);
		snprintf(gpus[i].name, sizeof(gpus[i].name), "Fake GPU %u", i);
		gpus[i].utilization = -1;
	}
	inv3.gpus = inv2.gpus = inv1.gpus = gpus;
	inv3.nr = 3;
	inv2.nr = 2;
	inv1.nr = 1;
	snprintf(none.why, sizeof(none.why), "no NVML library (test)");
	snprintf(dir, sizeof(dir), "%s/locks", tap_tmpdir());
}

static struct mlv_lease_config config(unsigned slots)
{
	struct mlv_lease_config c = { dir, slots };

	return c;
}

/* ---- helper processes ------------------------------------------------ */

struct child {
	pid_t pid;
	int res;  /* its result line */
	int ctl;  /* closing it ends the child */
};

struct spec {
	const struct mlv_gpu_inventory *inv;
	const char *req;
	unsigned slots;
	int wait, timeout_ms;
	const char *run_id;
	int go;   /* a pipe to wait on before taking the lease, or -1 */
};

static void child_main(const struct spec *s, int res, int ctl)
{
	struct mlv_lease_config c = config(s->slots);
	struct mlv_lease_options o = MLV_LEASE_OPTIONS_INIT;
	struct mlv_lease_request req;
	struct mlv_lease *l;
	char buf[2048], c1;
	int n;

	mlv_sigchain_install();
	if (s->go >= 0 && read(s->go, &c1, 1) < 0)
		_exit(3);
	o.wait = s->wait;
	o.timeout_ms = s->timeout_ms;
	o.run_id = s->run_id;
	if (mlv_lease_request_parse(&req, s->req) < 0 ||
	    mlv_lease_acquire(&l, s->inv, &req, &c, &o) < 0) {
		n = snprintf(buf, sizeof(buf), "err %d %s\n", mlv_error_last_code(), mlv_error_last());
		if (write(res, buf, (size_t)n) < 0)
			_exit(3);
		_exit(1);
	}
	{
		char *vis = mlv_lease_cuda_visible(l);

		n = snprintf(buf, sizeof(buf), "ok %s\n", vis);
		free(vis);
	}
	if (write(res, buf, (size_t)n) < 0)
		_exit(3);
	while (read(ctl, &c1, 1) > 0)
		;
	mlv_lease_release(l);
	mlv_lease_request_release(&req);
	_exit(0);
}

static struct child spawn(const struct spec *s)
{
	struct child c;
	int res[2], ctl[2];

	if (pipe(res) < 0 || pipe(ctl) < 0)
		abort();
	fflush(stdout);
	c.pid = fork();
	if (c.pid < 0)
		abort();
	if (!c.pid) {
		/* nothing of the parent's: its pipes to other children, its leases */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != res[1] && fd != ctl[0] && fd != s->go)
				close(fd);
		child_main(s, res[1], ctl[0]);
	}
	close(res[1]);
	close(ctl[0]);
	c.res = res[0];
	c.ctl = ctl[1];
	return c;
}

/* Its result line ("ok <uuids>" or "err <code> <message>"), without the newline. */
static const char *result(struct child *c, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = read(c->res, buf + n, 1);

		if (r <= 0 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return buf;
}

static int end(struct child *c)
{
	int status = 0;

	close(c->ctl);
	close(c->res);
	waitpid(c->pid, &status, 0);
	return status;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait (up to 20 s) until `n` runs queue. */
static int waiters_reach(unsigned n)
{
	struct mlv_lease_config c = config(1);

	for (int i = 0; i < 2000; i++) {
		struct mlv_lease_holder *w;
		unsigned nr;

		if (mlv_lease_waiters(&w, &nr, &c) < 0)
			return 0;
		free(w);
		if (nr == n)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

static int count_files(const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

static int acquire(struct mlv_lease **l, const struct mlv_gpu_inventory *inv, const char *spec,
		   unsigned slots, const struct mlv_lease_options *o)
{
	struct mlv_lease_config c = config(slots);
	struct mlv_lease_request req;
	int ret;

	*l = NULL;
	if ((ret = mlv_lease_request_parse(&req, spec)) < 0)
		return ret;
	ret = mlv_lease_acquire(l, inv, &req, &c, o);
	mlv_lease_request_release(&req);
	return ret;
}

/* ---- the tests -------------------------------------------------------- */

static void test_parse(void)
{
	static const struct {
		const char *spec;
		int ok;
		enum mlv_lease_kind kind;
		unsigned n;
	} cases[] = {
		{ "1", 1, MLV_LEASE_COUNT, 1 },
		{ "12", 1, MLV_LEASE_COUNT, 12 },
		{ "0", 1, MLV_LEASE_NONE, 0 },
		{ "all", 1, MLV_LEASE_ALL, 0 },
		{ "0,2", 1, MLV_LEASE_LIST, 2 },
		{ "device=1", 1, MLV_LEASE_LIST, 1 },
		{ "device=1,0", 1, MLV_LEASE_LIST, 2 },
		{ "GPU-aaaa-1111", 1, MLV_LEASE_LIST, 1 },
		{ "GPU-aaaa-1111,2", 1, MLV_LEASE_LIST, 2 },
		{ "MIG-GPU-aaaa/1/0", 1, MLV_LEASE_LIST, 1 },
		{ "", 0, 0, 0 },
		{ "-1", 0, 0, 0 },
		{ "01", 0, 0, 0 },
		{ "1,", 0, 0, 0 },
		{ ",1", 0, 0, 0 },
		{ "0,,1", 0, 0, 0 },
		{ "1,1", 0, 0, 0 },
		{ "ALL", 0, 0, 0 },
		{ "device=", 0, 0, 0 },
		{ "gpu0", 0, 0, 0 },
		{ "GPU-a a", 0, 0, 0 },
		{ "1,GPU-x;rm", 0, 0, 0 },
		{ "99999", 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mlv_lease_request r;
		int ret = mlv_lease_request_parse(&r, cases[i].spec);

		if (!cases[i].ok) {
			ok(ret == MLV_EINVALID && strstr(mlv_error_last(), "--gpus"),
			   "parse '%s' fails: %s", cases[i].spec, mlv_error_last());
			continue;
		}
		ok(!ret && r.kind == cases[i].kind &&
		   (r.kind == MLV_LEASE_LIST ? r.nr_names : r.count) == cases[i].n &&
		   !strcmp(r.spec, cases[i].spec), "parse '%s'", cases[i].spec);
		mlv_lease_request_release(&r);
	}
}

static void test_no_gpu(void)
{
	struct mlv_lease *l;
	char *vis;

	ok(acquire(&l, &none, "1", 1, NULL) == MLV_ENOTFOUND &&
	   !strcmp(mlv_error_last(), "no GPU: no NVML library (test)"), "no GPU: %s",
	   mlv_error_last());
	ok(acquire(&l, &none, "all", 1, NULL) == MLV_ENOTFOUND, "no GPU, all: an error");
	ok(!acquire(&l, &none, "0", 1, NULL) && l && l->nr == 0, "--gpus 0 without a GPU: none");
	vis = mlv_lease_cuda_visible(l);
	is_str(vis, "", "--gpus 0: CUDA_VISIBLE_DEVICES is empty");
	free(vis);
	mlv_lease_release(l);
	ok(!acquire(&l, &inv2, "0", 1, NULL) && l->nr == 0, "--gpus 0 with GPUs: none");
	mlv_lease_release(l);
}

static void test_lists(void)
{
	struct mlv_lease *l;
	char *vis;
	json_t *rec;

	ok(!acquire(&l, &inv3, "2,0", 1, NULL) && l->nr == 2, "0,2 taken");
	vis = mlv_lease_cuda_visible(l);
	is_str(vis, "GPU-aaaa-1111,GPU-cccc-3333", "in inventory order, by UUID");
	free(vis);
	for (unsigned i = 0; i < l->nr; i++)
		ok(fcntl(l->fds[i], F_GETFD) & FD_CLOEXEC, "lease fd %u is close-on-exec", i);
	rec = mlv_lease_record(l);
	ok(json_integer_value(json_object_get(rec, "count")) == 2 &&
	   !strcmp(json_string_value(json_array_get(json_object_get(rec, "models"), 1)),
		   "Fake GPU 2") &&
	   !strcmp(json_string_value(json_object_get(rec, "lease")), "2,0"), "record for run.json");
	json_decref(rec);
	mlv_lease_release(l);

	ok(!acquire(&l, &inv3, "device=1", 1, NULL) && l->nr == 1 && l->gpus[0].index == 1,
	   "device=1 is index 1");
	mlv_lease_release(l);
	ok(!acquire(&l, &inv3, "GPU-cccc-3333", 1, NULL) && l->nr == 1 && l->gpus[0].index == 2,
	   "by UUID");
	mlv_lease_release(l);
	ok(!acquire(&l, &inv3, "all", 1, NULL) && l->nr == 3, "all");
	mlv_lease_release(l);
	ok(acquire(&l, &inv3, "5,0", 1, NULL) == MLV_ENOTFOUND &&
	   strstr(mlv_error_last(), "no GPU 5"), "unknown index: %s", mlv_error_last());
	ok(acquire(&l, &inv3, "GPU-zzzz", 1, NULL) == MLV_ENOTFOUND &&
	   strstr(mlv_error_last(), "GPU-zzzz"), "unknown UUID: %s", mlv_error_last());
	ok(acquire(&l, &inv3, "GPU-aaaa-1111,0", 1, NULL) == MLV_EINVALID &&
	   strstr(mlv_error_last(), "twice"), "one device twice: %s", mlv_error_last());
	ok(acquire(&l, &inv3, "4", 1, NULL) == MLV_ENOTFOUND &&
	   strstr(mlv_error_last(), "this machine has 3"), "more than exist: %s",
	   mlv_error_last());
}

static void test_no_uuid(void)
{
	struct mlv_gpu g = { 0 };
	struct mlv_gpu_inventory inv = { 0 };
	struct mlv_lease *l;
	struct stat st;
	char path[4200], *vis;

	g.index = 0;
	snprintf(g.name, sizeof(g.name), "No UUID");
	inv.gpus = &g;
	inv.nr = 1;
	ok(!acquire(&l, &inv, "1", 1, NULL) && l->nr == 1, "a device without a UUID");
	vis = mlv_lease_cuda_visible(l);
	is_str(vis, "0", "named by its index in CUDA_VISIBLE_DEVICES");
	free(vis);
	snprintf(path, sizeof(path), "%s/gpu.index-0.0", dir);
	ok(!lstat(path, &st), "and in its lock file name");
	mlv_lease_release(l);
}

static void test_directory(void)
{
	struct stat st;
	char path[4200];

	ok(!stat(dir, &st) && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 01777,
	   "the lock directory is made mode 1777");
	snprintf(path, sizeof(path), "%s/gpu.GPU-aaaa-1111.0", dir);
	ok(!stat(path, &st) && (st.st_mode & 0777) == 0666, "lock files are mode 0666");
}

static void test_two_at_once(void)
{
	struct spec s = { &inv2, "1", 1, 0, -1, "run-A", -1 };
	struct child a, b;
	char ra[256], rb[256];
	int go[2];
	struct mlv_lease *l;
	struct mlv_lease_holder *h;
	unsigned nr;
	struct mlv_lease_config c = config(1);
	struct mlv_lease_options o = MLV_LEASE_OPTIONS_INIT;

	if (pipe(go) < 0)
		abort();
	s.go = go[0];
	a = spawn(&s);
	s.run_id = "run-B";
	b = spawn(&s);
	close(go[0]);
	if (write(go[1], "go", 2) != 2) /* both start now */
		abort();
	close(go[1]);
	result(&a, ra, sizeof(ra));
	result(&b, rb, sizeof(rb));
	ok(!strncmp(ra, "ok GPU-", 7) && !strncmp(rb, "ok GPU-", 7) && strcmp(ra, rb),
	   "two at once get different devices: '%s', '%s'", ra, rb);

	ok(acquire(&l, &inv2, "1", 1, NULL) == MLV_ECONFLICT &&
	   strstr(mlv_error_last(), "GPUs busy") && strstr(mlv_error_last(), "run run-A (pid ") &&
	   strstr(mlv_error_last(), "run run-B (pid "), "a third fails at once naming both: %s",
	   mlv_error_last());
	ok(acquire(&l, &inv2, "device=1", 1, NULL) == MLV_ECONFLICT &&
	   strstr(mlv_error_last(), "GPU 1 (GPU-bbbb-2222) is leased by run run-"),
	   "a busy named device: %s", mlv_error_last());

	o.wait = 1;
	o.timeout_ms = 100;
	ok(acquire(&l, &inv2, "1", 1, &o) == MLV_ECONFLICT &&
	   strstr(mlv_error_last(), "gave up waiting") && strstr(mlv_error_last(), "run run-A"),
	   "waiting gives up after its timeout naming the holders: %s", mlv_error_last());
	is_int(count_files("wait."), 0, "no ticket left after the timeout");

	ok(!mlv_lease_holders(&h, &nr, &c, &gpus[0]) && nr == 1 && h[0].pid > 0 &&
	   !strncmp(h[0].run_id, "run-", 4) && !strcmp(h[0].request, "1") && h[0].since[0],
	   "holders of GPU 0: %s pid %ld", nr ? h[0].run_id : "-", nr ? h[0].pid : 0);
	free(h);

	/* a holder killed: its record stays in the file, the lock says it is gone */
	kill(a.pid, SIGKILL);
	end(&a);
	{
		unsigned busy = 0, held = 0;

		for (unsigned i = 0; i < 2; i++) {
			ok(!mlv_lease_holders(&h, &nr, &c, &gpus[i]), "holders of GPU %u", i);
			held += nr;
			busy |= nr ? 1u << i : 0;
			free(h);
		}
		is_int(held, 1, "the killed holder is no holder");
		ok(!acquire(&l, &inv2, "1", 1, NULL) && l->nr == 1 &&
		   l->gpus[0].index == (busy == 1 ? 1u : 0u), "its device is free again");
	}
	ok(!mlv_lease_set_run(l, "run-C") && !mlv_lease_holders(&h, &nr, &c, &l->gpus[0]) &&
	   nr == 1 && !strcmp(h[0].run_id, "run-C") && h[0].pid == (long)getpid(),
	   "set_run names the run");
	free(h);
	mlv_lease_release(l);
	end(&b);
}

static void test_fifo(void)
{
	struct spec s = { &inv2, "device=0", 1, 0, -1, "H1", -1 };
	struct child h1, h2, w1, w2, w3;
	char buf[1024];
	struct mlv_lease *l;
	struct mlv_lease_holder *w;
	unsigned nr;
	struct mlv_lease_config c = config(1);

	h1 = spawn(&s);
	result(&h1, buf, sizeof(buf));
	s.req = "device=1";
	s.run_id = "H2";
	h2 = spawn(&s);
	result(&h2, buf, sizeof(buf));
	ok(!strcmp(buf, "ok GPU-bbbb-2222"), "both devices held");

	s.req = "2";
	s.run_id = "W1";
	s.wait = 1;
	w1 = spawn(&s);
	ok(waiters_reach(1), "W1 (2 GPUs) queues");
	ok(!mlv_lease_waiters(&w, &nr, &c) && nr == 1 && !strcmp(w[0].run_id, "W1") &&
	   w[0].ticket == 1 && !strcmp(w[0].request, "2"), "the waiter is listed");
	free(w);

	end(&h1); /* GPU 0 free, but W1 needs two */
	ok(acquire(&l, &inv2, "1", 1, NULL) == MLV_ECONFLICT &&
	   strstr(mlv_error_last(), "1 run waits ahead, first run W1"),
	   "no queue jumping without --wait: %s", mlv_error_last());
	s.req = "1";
	s.run_id = "W2";
	s.timeout_ms = 300;
	w2 = spawn(&s);
	result(&w2, buf, sizeof(buf));
	ok(strstr(buf, "gave up waiting") && strstr(buf, "first run W1"),
	   "a later waiter stays behind W1 though a device is free: %s", buf);
	end(&w2);

	s.req = "device=0";
	s.run_id = "W3";
	s.timeout_ms = -1;
	w3 = spawn(&s);
	ok(waiters_reach(2), "W3 queues behind W1");
	end(&h2);
	result(&w1, buf, sizeof(buf));
	ok(!strcmp(buf, "ok GPU-aaaa-1111,GPU-bbbb-2222"), "W1 gets both once free: %s", buf);
	end(&w1);
	result(&w3, buf, sizeof(buf));
	ok(!strcmp(buf, "ok GPU-aaaa-1111"), "then W3: %s", buf);
	end(&w3);
	is_int(count_files("wait."), 0, "no ticket left");
}

static void test_signal_while_waiting(void)
{
	struct spec s = { &inv1, "1", 1, 1, -1, "W", -1 };
	struct mlv_lease *l;
	struct child w;
	int status;

	ok(!acquire(&l, &inv1, "1", 1, NULL), "GPU 0 held here");
	w = spawn(&s);
	ok(waiters_reach(1) && count_files("wait.") == 1, "a waiter queues with a ticket");
	kill(w.pid, SIGINT);
	status = end(&w);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "Ctrl-C ends the waiter");
	is_int(count_files("wait."), 0, "Ctrl-C while waiting leaves no ticket");
	mlv_lease_release(l);
}

static int stop_now(void *payload)
{
	return ++*(int *)payload > 1;
}

static void test_interrupted(void)
{
	struct mlv_lease *l, *l2;
	struct mlv_lease_options o = MLV_LEASE_OPTIONS_INIT;
	int calls = 0;

	ok(!acquire(&l, &inv1, "1", 1, NULL), "GPU 0 held here");
	o.wait = 1;
	o.interrupted = stop_now;
	o.payload = &calls;
	ok(acquire(&l2, &inv1, "1", 1, &o) == MLV_ECONFLICT &&
	   strstr(mlv_error_last(), "interrupted while waiting"), "interrupted: %s",
	   mlv_error_last());
	is_int(count_files("wait."), 0, "no ticket left");
	mlv_lease_release(l);
	ok(!acquire(&l, &inv1, "1", 1, NULL), "the device is free after release");
	mlv_lease_release(l);
}

static void test_slots(void)
{
	struct spec s = { &inv1, "1", 2, 0, -1, "S1", -1 };
	struct child a, b;
	char ra[256], rb[256];
	struct mlv_lease *l;
	struct mlv_lease_holder *h;
	unsigned nr;
	struct mlv_lease_config c = config(2);

	a = spawn(&s);
	result(&a, ra, sizeof(ra));
	s.run_id = "S2";
	b = spawn(&s);
	result(&b, rb, sizeof(rb));
	ok(!strcmp(ra, "ok GPU-aaaa-1111") && !strcmp(ra, rb), "two slots share one device");
	ok(acquire(&l, &inv1, "1", 2, NULL) == MLV_ECONFLICT &&
	   strstr(mlv_error_last(), "run S1") && strstr(mlv_error_last(), "run S2"),
	   "a third fails naming both: %s", mlv_error_last());
	ok(!mlv_lease_holders(&h, &nr, &c, &gpus[0]) && nr == 2 && h[0].slot == 0 &&
	   h[1].slot == 1, "two holders, slots 0 and 1");
	free(h);
	end(&a);
	end(&b);

	/* with room elsewhere, a device nobody uses comes first */
	ok(!acquire(&l, &inv2, "1", 2, NULL) && l->gpus[0].index == 0, "first on GPU 0");
	{
		struct mlv_lease *l2;

		ok(!acquire(&l2, &inv2, "1", 2, NULL) && l2->gpus[0].index == 1,
		   "the next on idle GPU 1, not the free slot of GPU 0");
		mlv_lease_release(l2);
	}
	mlv_lease_release(l);
}

static void test_hostile(void)
{
	struct mlv_lease *l;
	char path[4200], other[4200];
	struct mlv_lease_config c;
	int fd;

	snprintf(path, sizeof(path), "%s/gpu.GPU-aaaa-1111.0", dir);
	unlink(path);
	ok(!symlink("/etc/passwd", path), "a symlink planted as a lock file");
	ok(acquire(&l, &inv1, "1", 1, NULL) == MLV_EINVALID &&
	   strstr(mlv_error_last(), "gpu.GPU-aaaa-1111.0' is a symbolic link"), "refused: %s",
	   mlv_error_last());
	unlink(path);
	ok(!mkfifo(path, 0666), "a FIFO planted as a lock file");
	ok(acquire(&l, &inv1, "1", 1, NULL) == MLV_EINVALID &&
	   strstr(mlv_error_last(), "is not a regular file"), "refused, no hang: %s",
	   mlv_error_last());
	unlink(path);
	snprintf(other, sizeof(other), "%s/victim", tap_tmpdir());
	fd = open(other, O_WRONLY | O_CREAT, 0644);
	close(fd);
	ok(!link(other, path), "a hard link planted as a lock file");
	ok(acquire(&l, &inv1, "1", 1, NULL) == MLV_EINVALID &&
	   strstr(mlv_error_last(), "links"), "refused: %s", mlv_error_last());
	unlink(path);
	ok(!acquire(&l, &inv1, "1", 1, NULL), "a clean directory works again");
	mlv_lease_release(l);

	snprintf(path, sizeof(path), "%s/link", tap_tmpdir());
	ok(!symlink(dir, path), "a lock directory that is a symlink");
	c.dir = path;
	c.slots = 1;
	{
		struct mlv_lease_request r;

		mlv_lease_request_parse(&r, "1");
		ok(mlv_lease_acquire(&l, &inv1, &r, &c, NULL) == MLV_EINVALID &&
		   strstr(mlv_error_last(), "is a symbolic link"), "refused: %s", mlv_error_last());
		snprintf(path, sizeof(path), "%s/open", tap_tmpdir());
		mkdir(path, 0777);
		chmod(path, 0777);
		ok(mlv_lease_acquire(&l, &inv1, &r, &c, NULL) == MLV_EINVALID &&
		   strstr(mlv_error_last(), "without the sticky bit"),
		   "writable by all, no sticky bit: %s", mlv_error_last());
		chmod(path, 01777);
		ok(!mlv_lease_acquire(&l, &inv1, &r, &c, NULL), "with the sticky bit: fine");
		mlv_lease_release(l);
		mlv_lease_request_release(&r);
	}
}

/* The helper for the shell tests. */
static int hold(int argc, char **argv)
{
	struct mlv_gpu_inventory inv;
	struct mlv_lease_config c;
	struct mlv_lease_options o = MLV_LEASE_OPTIONS_INIT;
	struct mlv_lease_request r;
	struct mlv_lease *l;
	char *vis;

	if (argc < 6)
		return 2;
	mlv_sigchain_install();
	c.dir = argv[2];
	c.slots = (unsigned)atoi(argv[3]);
	o.run_id = strcmp(argv[5], "-") ? argv[5] : NULL;
	if (argc > 6) {
		o.wait = 1;
		o.timeout_ms = atoi(argv[6]);
	}
	memset(&r, 0, sizeof(r));
	if (mlv_gpu_inventory(&inv) < 0)
		return 1;
	if (mlv_lease_request_parse(&r, argv[4]) < 0 ||
	    mlv_lease_acquire(&l, &inv, &r, &c, &o) < 0) {
		printf("error: %s\n", mlv_error_last());
		fflush(stdout);
		mlv_lease_request_release(&r);
		mlv_gpu_inventory_release(&inv);
		return 1;
	}
	vis = mlv_lease_cuda_visible(l);
	printf("held %s\n", vis);
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "hold"))
		return hold(argc, argv);
	setup();
	test_parse();
	test_no_gpu();
	test_lists();
	test_directory();
	test_no_uuid();
	test_two_at_once();
	test_fifo();
	test_signal_while_waiting();
	test_interrupted();
	test_slots();
	test_hostile();
	return tap_done();
}
