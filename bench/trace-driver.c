/*
 * bench/trace.sh's driver: run a command through mlv_proc_start(),
 * traced or not, and print its wall time and the files the trace saw.
 *
 *	trace-driver [--trace] <command>...
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "mlv/error.h"
#include "mlv/proc.h"

int main(int argc, char **argv)
{
	struct mlv_proc_opts o = MLV_PROC_OPTS_INIT;
	struct mlv_proc_result res;
	struct mlv_proc *p;
	struct timespec a, b;
	int i = 1;

	if (i < argc && !strcmp(argv[i], "--trace")) {
		o.trace = 1;
		i++;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: trace-driver [--trace] <command>...\n");
		return 129;
	}
	o.argv = argv + i;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (mlv_proc_start(&p, &o, NULL) < 0) {
		fprintf(stderr, "error: %s\n", mlv_error_last());
		return 125;
	}
	if (mlv_proc_wait(p, &res) < 0) {
		fprintf(stderr, "error: %s\n", mlv_error_last());
		return 125;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.6f %zu %s\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, res.nr_files,
	       res.trace_mode == MLV_TRACE_MODE_UNAVAILABLE ? res.trace_why : "");
	i = mlv_proc_exit_code(res.status);
	mlv_proc_result_release(&res);
	mlv_proc_free(p);
	return i;
}
