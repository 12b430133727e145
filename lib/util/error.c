#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mlv/error.h"

#define MSG_MAX 1024

static __thread char msg[MSG_MAX];
static __thread int last_code;

static int vset(int code, const char *suffix, const char *fmt, va_list ap)
{
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);

	if (n < 0)
		msg[0] = '\0';
	if (suffix && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", suffix);
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
	char old[MSG_MAX];
	va_list ap;

	memcpy(old, msg, sizeof(old));
	va_start(ap, fmt);
	vset(code, old[0] ? old : NULL, fmt, ap);
	va_end(ap);
	return code;
}

const char *mlv_error_last(void)
{
	return msg;
}

int mlv_error_last_code(void)
{
	return last_code;
}

void mlv_error_clear(void)
{
	msg[0] = '\0';
	last_code = 0;
}
