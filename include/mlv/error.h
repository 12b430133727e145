#ifndef MLV_ERROR_H
#define MLV_ERROR_H

#pragma GCC visibility push(default)

/*
 * Error reporting for libmlv.
 *
 * Every fallible function returns 0 on success or one of the negative
 * MLV_E* codes below, and sets a per-thread message that names the file,
 * object or argument at fault.  The library never prints and never exits;
 * the caller decides what to show.  The message stays valid until the next
 * failing call on the same thread.
 */

enum mlv_error_code {
	MLV_OK = 0,
	MLV_ERROR = -1,      /* anything not covered below */
	MLV_ENOTFOUND = -2,  /* object, path or repository does not exist */
	MLV_EEXISTS = -3,    /* would create something that already exists */
	MLV_EINVALID = -4,   /* malformed input: pointer, tree, pack, argument */
	MLV_ECORRUPT = -5,   /* stored data fails verification */
	MLV_EIO = -6,        /* a system call failed (disk full, permissions) */
	MLV_EAMBIGUOUS = -7, /* an id prefix matches more than one object */
	MLV_ECONFLICT = -8,  /* would overwrite a user's local changes */
	MLV_EUNSUPPORTED = -9, /* a format version or file type we do not handle */
};

#ifdef __GNUC__
#define MLV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MLV_PRINTF(f, a)
#endif

/* Set the message for this thread; returns `code` so callers can `return mlv_error_set(...)`. */
int mlv_error_set(int code, const char *fmt, ...) MLV_PRINTF(2, 3);

/* Like mlv_error_set(), appending ": <strerror(errno)>" for the current errno. */
int mlv_error_set_errno(int code, const char *fmt, ...) MLV_PRINTF(2, 3);

/* Prefix the current message with "<prefix>: "; returns `code`. */
int mlv_error_wrap(int code, const char *fmt, ...) MLV_PRINTF(2, 3);

/* The last message set on this thread, or "" if none.  Never NULL. */
const char *mlv_error_last(void);

/* The code that came with the last message, or 0. */
int mlv_error_last_code(void);

void mlv_error_clear(void);

/*
 * An optional hint for the user that goes with the current error (what to
 * run to fix it, without the "hint: " prefix), e.g. "run 'mlv fsck
 * --repair'".  Every mlv_error_set() clears it; set it after the error.
 * mlv_error_last_hint() is "" when there is none.
 */
void mlv_error_set_hint(const char *fmt, ...) MLV_PRINTF(1, 2);
const char *mlv_error_last_hint(void);

/*
 * First error wins: cleanup code that may fail (and set its own message)
 * runs between capture and restore, as libgit2's git_error_state_*:
 *
 *	done:
 *		mlv_error_state_capture(&es, ret);
 *		cleanup();
 *		return mlv_error_state_restore(&es);
 *
 * capture() returns `code` and keeps the message only when `code` is an
 * error; restore() puts the message back and returns the code (0 when
 * nothing was captured).
 */
#define MLV_ERROR_MSG_MAX 1024
#define MLV_ERROR_HINT_MAX 256
struct mlv_error_state {
	int code;
	char msg[MLV_ERROR_MSG_MAX];
	char hint[MLV_ERROR_HINT_MAX];
};
int mlv_error_state_capture(struct mlv_error_state *st, int code);
int mlv_error_state_restore(struct mlv_error_state *st);

#pragma GCC visibility pop

#endif
