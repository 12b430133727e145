#ifndef MLV_TAP_H
#define MLV_TAP_H

/*
 * A minimal TAP producer for the C unit tests (run by prove).
 *
 *	int main(void)
 *	{
 *		ok(1 + 1 == 2, "addition");
 *		is_int(f(), 0, "f succeeds");
 *		return tap_done();
 *	}
 *
 * tap_done() prints the plan and returns non-zero if anything failed.
 */
#include <stddef.h>

int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int tap_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int tap_is_str(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void tap_skip(const char *reason);
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tap_done(void);
/* A fresh empty directory for this test program (removed by tap_done on success). */
const char *tap_tmpdir(void);

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

#endif
