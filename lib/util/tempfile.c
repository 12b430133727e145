/*
 * Temporary files removed at exit and on fatal signals (mlv/tempfile.h).
 *
 * The registry is a list that a signal handler walks: entries are linked
 * in and out with signals blocked and under a mutex (add is threaded), and
 * an entry's name and directory fd never change while it is linked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "mlv/error.h"
#include "mlv/buf.h"
#include "mlv/tempfile.h"

struct mlv_tempfile {
	struct mlv_tempfile *next;
	volatile sig_atomic_t active;
	int dirfd;
	char *name;
};

static struct mlv_tempfile *volatile registry;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long counter;

static void block(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
	pthread_mutex_lock(&registry_lock);
}

static void unblock(const sigset_t *old)
{
	pthread_mutex_unlock(&registry_lock);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

static struct mlv_tempfile *link_new(int dirfd, const char *name)
{
	struct mlv_tempfile *t = mlv_calloc(1, sizeof(*t));
	sigset_t old;

	t->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	t->name = mlv_strdup(name);
	t->active = 1;
	block(&old);
	t->next = registry;
	registry = t;
	unblock(&old);
	return t;
}

static void unlink_free(struct mlv_tempfile *t)
{
	sigset_t old;

	block(&old);
	for (struct mlv_tempfile *volatile *p = &registry; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	unblock(&old);
	if (t->dirfd >= 0)
		close(t->dirfd);
	free(t->name);
	free(t);
}

int mlv_tempfile_create(struct mlv_tempfile **out, int *fd, int dirfd, const char *prefix,
			mode_t mode)
{
	struct mlv_buf name = MLV_BUF_INIT;
	int tries = 0;

	*out = NULL;
	*fd = -1;
	for (;;) {
		unsigned int rnd = 0;
		unsigned long n;
		sigset_t old;

		block(&old);
		n = ++counter;
		unblock(&old);
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
			rnd = (unsigned int)n * 2654435761u;
		mlv_buf_reset(&name);
		mlv_buf_addf(&name, "%s%ld-%lu-%08x", prefix, (long)getpid(), n, rnd);
		/* Registered first, so that no signal can leave it behind. */
		*out = link_new(dirfd, name.ptr);
		*fd = openat(dirfd, name.ptr, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (*fd >= 0)
			break;
		unlink_free(*out);
		*out = NULL;
		if (errno != EEXIST || ++tries > 100) {
			int ret = mlv_error_set_errno(MLV_EIO, "cannot create temporary file '%s'",
						      name.ptr);

			mlv_buf_release(&name);
			return ret;
		}
	}
	mlv_buf_release(&name);
	return 0;
}

struct mlv_tempfile *mlv_tempfile_register(int dirfd, const char *name)
{
	return link_new(dirfd, name);
}

const char *mlv_tempfile_name(const struct mlv_tempfile *t)
{
	return t->name;
}

int mlv_tempfile_rename(struct mlv_tempfile *t, int todirfd, const char *base, const char *display)
{
	if (renameat(t->dirfd, t->name, todirfd, base) < 0)
		return mlv_error_set_errno(errno == EXDEV ? MLV_EUNSUPPORTED : MLV_EIO,
					   "cannot rename a temporary file to '%s'", display);
	unlink_free(t);
	return 0;
}

void mlv_tempfile_remove(struct mlv_tempfile *t)
{
	if (!t)
		return;
	t->active = 0;
	unlinkat(t->dirfd, t->name, 0);
	unlink_free(t);
}

void mlv_tempfile_forget(struct mlv_tempfile *t)
{
	if (t)
		unlink_free(t);
}

void mlv_tempfile_cleanup_all(void)
{
	for (struct mlv_tempfile *t = registry; t; t = t->next)
		if (t->active)
			unlinkat(t->dirfd, t->name, 0);
}

static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };

static void on_signal(int sig)
{
	int e = errno;

	mlv_tempfile_cleanup_all();
	signal(sig, SIG_DFL);
	errno = e;
	raise(sig);
}

static void on_exit_cleanup(void)
{
	mlv_tempfile_cleanup_all();
}

void mlv_sigchain_install(void)
{
	static int installed;

	if (installed)
		return;
	installed = 1;
	atexit(on_exit_cleanup);
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		struct sigaction sa, old;

		/* A signal the caller ignores (nohup) stays ignored. */
		if (sigaction(fatal_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(fatal_signals[i], &sa, NULL);
	}
}

/*
 * The pid in `rest`, what follows the prefix of a name this file makes:
 * exactly "<pid>-[l]<n>-<8 hex digits>".  0 when `rest` is not such a name.
 */
static long temp_name_pid(const char *rest)
{
	const char *p = rest;
	long pid = 0;
	int i;

	for (i = 0; *p >= '0' && *p <= '9' && i < 10; i++, p++)
		pid = pid * 10 + (*p - '0');
	if (!i || *p++ != '-')
		return 0;
	if (*p == 'l')
		p++;
	for (i = 0; *p >= '0' && *p <= '9' && i < 20; i++)
		p++;
	if (!i || *p++ != '-')
		return 0;
	for (i = 0; i < 8; i++, p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return *p ? 0 : pid;
}

static int owner_alive(long pid)
{
	if (pid == (long)getpid())
		return 1;
	return !(kill((pid_t)pid, 0) < 0 && errno == ESRCH);
}

int mlv_tempfile_clean_stale(int dirfd, const char *prefix)
{
	size_t plen = strlen(prefix);
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), removed = 0;
	struct dirent *de;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return mlv_error_set_errno(MLV_EIO, "cannot list a temporary directory");
	}
	while ((de = readdir(d))) {
		long pid;

		if (strncmp(de->d_name, prefix, plen) || !(pid = temp_name_pid(de->d_name + plen)) ||
		    owner_alive(pid))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

int mlv_tempfile_is_temp_name(const char *name)
{
	return !strncmp(name, MLV_TEMP_PREFIX, sizeof(MLV_TEMP_PREFIX) - 1) &&
	       temp_name_pid(name + sizeof(MLV_TEMP_PREFIX) - 1) > 0;
}
