#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mlv/gpu.h"
#include "mlv/metrics.h"
#include "mlv/proc.h"
#include "run/run-priv.h"

/*
 * While a run goes: copy the command's stdout and stderr to mlv's own and
 * to the live directory's logs, feed stdout and $MLV_METRICS to the
 * metrics, and sample the process tree (CPU, memory) and the GPUs every
 * few seconds.  Ends when the command has exited and its pipes are
 * closed -- or, when a daemon it left behind keeps them open, shortly
 * after the command's exit.
 */

#define PUMP_CHUNK (64u * 1024)
#define SAMPLE_MS 2000
#define METRICS_POLL_MS 200
#define DRAIN_MS 1000 /* after the command exits, for output still in flight */

double run_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* CPU ticks and resident pages of every process in group `pgid`. */
static void group_usage(pid_t pgid, unsigned long long *ticks, unsigned long long *rss_pages)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	*ticks = *rss_pages = 0;
	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[64], buf[1024], *p;
		unsigned long long ut, st, rss;
		int fd, pgrp;
		ssize_t n;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* pid (comm) state ppid pgrp ...: comm may hold anything, so from the last ')'. */
		if (!(p = strrchr(buf, ')')))
			continue;
		if (sscanf(p + 2, "%*c %*d %d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d "
			   "%*d %*d %*d %*d %*u %*u %llu", &pgrp, &ut, &st, &rss) != 4 ||
		    pgrp != pgid)
			continue;
		*ticks += ut + st;
		*rss_pages += rss;
	}
	closedir(d);
}

static void sample(struct run_pump *P, double t)
{
	static long hz, page;
	unsigned long long ticks, pages;

	if (!hz) {
		hz = sysconf(_SC_CLK_TCK);
		page = sysconf(_SC_PAGESIZE);
	}
	group_usage(P->pgid, &ticks, &pages);
	if (P->last_sample > 0 && t > P->last_sample && ticks >= P->last_ticks)
		mlv_metrics_point(P->metrics, "sys.cpu",
				  (double)(ticks - P->last_ticks) / (double)hz /
				  (t - P->last_sample) * 100.0, MLV_METRICS_NO_STEP, t);
	mlv_metrics_point(P->metrics, "sys.rss", (double)pages * (double)page, MLV_METRICS_NO_STEP,
			  t);
	P->last_ticks = ticks;
	P->last_sample = t;
	if (P->ngpus) {
		struct mlv_gpu_inventory inv;

		if (!mlv_gpu_inventory(&inv)) {
			for (unsigned i = 0; i < inv.nr; i++) {
				char name[64];

				for (size_t k = 0; k < P->ngpus; k++) {
					if (strcmp(inv.gpus[i].uuid, P->gpu_uuids[k]))
						continue;
					if (inv.gpus[i].utilization >= 0) {
						snprintf(name, sizeof(name), "gpu%zu.util", k);
						mlv_metrics_point(P->metrics, name,
								  inv.gpus[i].utilization,
								  MLV_METRICS_NO_STEP, t);
					}
					snprintf(name, sizeof(name), "gpu%zu.mem", k);
					mlv_metrics_point(P->metrics, name,
							  (double)inv.gpus[i].memory_used,
							  MLV_METRICS_NO_STEP, t);
				}
			}
			mlv_gpu_inventory_release(&inv);
		}
	}
}

static void pipe_data(struct run_pump *P, int which, const char *buf, size_t n, double t)
{
	if (P->echo_fd[which] >= 0 && !P->echo_failed[which] &&
	    write_all(P->echo_fd[which], buf, n))
		P->echo_failed[which] = 1; /* a closed terminal must not stop the run */
	if (P->log_fd[which] >= 0 && !P->log_error && write_all(P->log_fd[which], buf, n))
		P->log_error = errno ? errno : EIO;
	P->log_bytes[which] += n;
	if (which == 0)
		mlv_metrics_feed_stdout(P->metrics, buf, n, t);
}

int run_pump(struct run_pump *P)
{
	char *buf = mlv_malloc(PUMP_CHUNK);
	double next_sample = P->t0 + SAMPLE_MS / 1000.0, next_metrics = 0, exited_at = 0;
	int open_pipes = (P->pipe_fd[0] >= 0) + (P->pipe_fd[1] >= 0);

	for (;;) {
		struct pollfd pfd[3];
		int n = 0, timeout = METRICS_POLL_MS, exited;
		double now;

		for (int i = 0; i < 2; i++)
			if (P->pipe_fd[i] >= 0) {
				pfd[n].fd = P->pipe_fd[i];
				pfd[n].events = POLLIN;
				pfd[n++].revents = 0;
			}
		exited = exited_at > 0 || mlv_proc_try_wait(P->proc, &P->result) == 1;
		if (exited && !exited_at)
			exited_at = run_clock();
		if (exited && (!open_pipes || run_clock() - exited_at > DRAIN_MS / 1000.0))
			break;
		if (!exited && mlv_proc_pidfd(P->proc) >= 0) {
			pfd[n].fd = mlv_proc_pidfd(P->proc);
			pfd[n].events = POLLIN;
			pfd[n++].revents = 0;
		} else if (!exited) {
			timeout = 50; /* no pidfd: look again soon */
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		now = run_clock();
		for (int i = 0; i < 2; i++) {
			ssize_t got;

			if (P->pipe_fd[i] < 0)
				continue;
			got = read(P->pipe_fd[i], buf, PUMP_CHUNK);
			if (got > 0) {
				pipe_data(P, i, buf, (size_t)got, now - P->t0);
			} else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(P->pipe_fd[i]);
				P->pipe_fd[i] = -1;
				open_pipes--;
			}
		}
		if (now >= next_metrics) {
			if (P->metrics_in >= 0)
				mlv_metrics_feed_fd(P->metrics, P->metrics_in, now - P->t0);
			next_metrics = now + METRICS_POLL_MS / 1000.0;
		}
		if (now >= next_sample && !exited) {
			sample(P, now - P->t0);
			next_sample = now + SAMPLE_MS / 1000.0;
		}
	}
	free(buf);
	if (P->metrics_in >= 0)
		mlv_metrics_feed_fd(P->metrics, P->metrics_in, run_clock() - P->t0);
	return mlv_proc_wait(P->proc, &P->result);
}
