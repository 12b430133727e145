#ifndef MLV_RUN_TRACE_SHM_H
#define MLV_RUN_TRACE_SHM_H

/*
 * The record area shared by mlv (lib/run/trace-preload.c) and the
 * interposer it preloads into traced programs (preload/): one
 * memfd, created by mlv, mapped MAP_SHARED by every process of the tree.
 * Self-contained (libc only): the interposer includes it too.
 *
 * The first TRACE_SHM_HEAD bytes are a struct trace_shm_head; records
 * follow, 8-byte aligned.  A writer reserves space with an atomic add on
 * `used`, writes the body, then publishes the record by storing its first
 * word (magic, length, flags) with release order.  A reader skips, 8 bytes
 * at a time, a word that is not a record head (a writer killed between its
 * reservation and its publication): a record head's first byte is NUL,
 * which no path byte is, and what follows a path's NUL in its record is
 * more NULs, so no word inside a record looks like a head.
 *
 * Only successful calls are recorded.  The interposer passes the cookie
 * (two 64-bit words) as the 5th and 6th arguments of the system calls it
 * makes and records, and the seccomp filter lets such calls through
 * without stopping in the tracer; every other call of the list stops.
 */
#include <stdint.h>

#define TRACE_SHM_MAGIC 0x6563617274766c6dULL /* "mlvtrace" */
#define TRACE_SHM_HEAD 4096
#define TRACE_SHM_SIZE (256ULL << 20)         /* virtual: pages are touched as used */
#define TRACE_SHM_SLACK (1ULL << 20)          /* no cookie once less than this is left */

/* The environment of a traced program. */
#define TRACE_ENV_SHM "MLV_TRACE_SHM"         /* /proc/<mlv pid>/fd/<memfd> */
#define TRACE_ENV_COOKIE "MLV_TRACE_COOKIE"   /* 32 hex digits */

struct trace_shm_head {
	uint64_t magic;
	uint64_t cookie[2];
	uint64_t size;          /* of the whole area */
	uint64_t used;          /* bytes reserved, from 0 (the head included) */
	uint64_t overflow;      /* records that did not fit (calls let through unrecorded) */
};

/* Record head: the first 64-bit word of a record. */
#define TRACE_REC_MAGIC 0x4d4c5600u           /* bytes 00 'V' 'L' 'M' (little-endian) */
#define TRACE_REC_WORD(len, kind, flags) \
	((uint64_t)TRACE_REC_MAGIC | (uint64_t)(len) << 32 | (uint64_t)(kind) << 48 | \
	 (uint64_t)(flags) << 56)
#define TRACE_REC_OK(w) ((uint32_t)(w) == TRACE_REC_MAGIC)
#define TRACE_REC_LEN(w) ((uint32_t)((w) >> 32) & 0xffff)
#define TRACE_REC_KIND(w) ((unsigned)((w) >> 48) & 0xff)
#define TRACE_REC_FLAGS(w) ((unsigned)((w) >> 56) & 0xff)

/* Kinds: how mlv resolves the (absolute, lexical) path. */
#define TRACE_REC_FOLLOW 1 /* the file opened or truncated: every component resolved */
#define TRACE_REC_NAME 2   /* a new name (rename, link): the last component kept */

/*
 * A record: head word, CLOCK_MONOTONIC nanoseconds after the call
 * returned, the path and its NUL, NUL padding to 8 bytes.
 */
struct trace_rec {
	uint64_t head;
	uint64_t ns;
	char path[];
};
#define TRACE_REC_SIZE(pathlen) ((16 + (pathlen) + 1 + 7) & ~(uint64_t)7)

#endif
