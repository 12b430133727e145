#ifndef MLV_LEASE_PRIV_H
#define MLV_LEASE_PRIV_H

/*
 * The files of the GPU lock directory (lease-files.c), for the lease
 * policy (lease.c): opening them safely, holder records, probes, tickets.
 * mlv/lease.h describes the directory.
 */
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "mlv/buf.h"
#include "mlv/lease.h"

#define LEASE_ACQUIRE_NAME "acquire.lock"
#define LEASE_TICKET_PREFIX "wait."
#define LEASE_TICKET_DIGITS 20
#define LEASE_SLOT_PREFIX "gpu."
#define LEASE_RECORD_MAX 4096

/* Who this process is, for its records. */
struct lease_self {
	char user[64];
	char host[128];
	char since[40];
	long pid;
};

/* A waiter's ticket, "wait.<seq>". */
struct lease_ticket {
	unsigned long long seq;
	char name[40];
};

/* 1 when the `len` (> 0) bytes of `s` are all decimal digits. */
int lease_all_digits(const char *s, size_t len);

/*
 * Open the lock directory `dir`; with `create`, make it (mode 1777) when
 * missing.  Without, a missing directory is 0 with *out = -1.  Refuses a
 * symlink, a non-directory, a directory writable by others without the
 * sticky bit.
 */
int lease_open_dir(int *out, const char *dir, int create);

/*
 * Open `name` in the lock directory `dirfd` (`dir` for messages), never
 * through a symlink, never blocking on a FIFO, refusing anything but a
 * regular file with one link.  For writing where allowed (*writable);
 * O_RDONLY is enough for flock().  With `create`, make it (mode `mode`);
 * else a missing file is 0 with *out = -1.
 */
int lease_open_file(int *out, int dirfd, const char *dir, const char *name, int create,
		    mode_t mode, int *writable);

/* flock() retried on EINTR unless opts->interrupted says stop (then -1, errno EINTR). */
int lease_flock(int fd, int op, const struct mlv_lease_options *opts);

/* "gpu.<uuid>.<slot>" for device `g` (by index when it has no UUID). */
void lease_slot_name(char *buf, size_t size, const struct mlv_gpu *g, unsigned slot);

void lease_self_fill(struct lease_self *s, time_t since);
/* Replace the content of `fd` with the record of `s`; `what` names the file. */
int lease_record_write(int fd, const struct lease_self *s, const char *run_id,
		       const char *request, const char *what);
/* What the holder of `fd` wrote; an unreadable record leaves the fields empty. */
void lease_record_read(int fd, struct mlv_lease_holder *h);

/*
 * Whether someone holds `name` (1, its record in *h) or not (0), tested
 * with a lock on a new open file description.  A missing file is free.
 */
int lease_probe(int dirfd, const char *dir, const char *name, struct mlv_lease_holder *h);

/* "run <id> (pid N, user U on H, since S)" */
void lease_holder_describe(struct mlv_buf *b, const struct mlv_lease_holder *h);

/* The tickets of the directory, oldest first; the caller frees *out. */
int lease_tickets_list(struct lease_ticket **out, size_t *nr, int dirfd, const char *dir);

#endif
