#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mlv/error.h"

#define MSG_MAX MLV_ERROR_MSG_MAX

static __thread char msg[MSG_MAX];
static __thread char hint[MLV_ERROR_HINT_MAX];
static __thread int last_code;

static int vset(int code, const char *suffix, const char *fmt, va_list ap)
{
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);

	if (n < 0)
		msg[0] = '\0';
	if (suffix && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", suffix);
	hint[0] = '\0';
	last_code = code;
	return code;
}

int mlv_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(code, NULL, fmt, ap);
	va_end(ap);
	return code;
}

int mlv_error_set_errno(int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vset(code, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
	return code;
}

int mlv_error_wrap(int code, const char *fmt, ...)
{
	char old[MSG_MAX], oldhint[MLV_ERROR_HINT_MAX];
	va_list ap;

	memcpy(old, msg, sizeof(old));
	memcpy(oldhint, hint, sizeof(oldhint));
	va_start(ap, fmt);
	vset(code, old[0] ? old : NULL, fmt, ap);
	va_end(ap);
	/* Wrapping adds context; the fix is still the same one. */
	memcpy(hint, oldhint, sizeof(hint));
	return code;
}

void mlv_error_set_hint(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(hint, sizeof(hint), fmt, ap) < 0)
		hint[0] = '\0';
	va_end(ap);
}

const char *mlv_error_last(void)
{
	return msg;
}

const char *mlv_error_last_hint(void)
{
	return hint;
}

int mlv_error_last_code(void)
{
	return last_code;
}

void mlv_error_clear(void)
{
	msg[0] = '\0';
	hint[0] = '\0';
	last_code = 0;
}

int mlv_error_state_capture(struct mlv_error_state *st, int code)
{
	st->code = code < 0 ? code : 0;
	st->msg[0] = st->hint[0] = '\0';
	if (code < 0) {
		memcpy(st->msg, msg, sizeof(st->msg));
		memcpy(st->hint, hint, sizeof(st->hint));
	}
	return code;
}

int mlv_error_state_restore(struct mlv_error_state *st)
{
	if (st->code < 0) {
		memcpy(msg, st->msg, sizeof(msg));
		memcpy(hint, st->hint, sizeof(hint));
		last_code = st->code;
	}
	return st->code;
}
