/*
 * The files of the GPU lock directory: opened never through a symlink,
 * holder records, probes and tickets (run/lease-priv.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlv/error.h"
#include "run/lease-priv.h"

int lease_all_digits(const char *s, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}


/* ---- files of the lock directory ------------------------------------ */

/*
 * Open the lock directory; with `create`, make it (mode 1777) when
 * missing.  Without, a missing directory is 0 with *out = -1.
 */
int lease_open_dir(int *out, const char *dir, int create)
{
	struct stat st;
	int created = 0, fd;

	*out = -1;
	if (create) {
		if (!mkdir(dir, 01777))
			created = 1;
		else if (errno != EEXIST)
			return mlv_error_set_errno(MLV_EIO, "cannot create the GPU lock directory '%s'",
						   dir);
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !create)
			return 0;
		/* O_DIRECTORY | O_NOFOLLOW on a symlink: ENOTDIR, not ELOOP */
		if (errno == ELOOP || (errno == ENOTDIR && !lstat(dir, &st) && S_ISLNK(st.st_mode)))
			return mlv_error_set(MLV_EINVALID, "the GPU lock directory '%s' is a symbolic "
					     "link", dir);
		if (errno == ENOTDIR)
			return mlv_error_set(MLV_EINVALID, "the GPU lock directory '%s' is not a "
					     "directory", dir);
		return mlv_error_set_errno(MLV_EIO, "cannot open the GPU lock directory '%s'", dir);
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		return mlv_error_set_errno(MLV_EIO, "cannot stat '%s'", dir);
	}
	/* mkdir() applied the umask; the directory is for every user of the machine */
	if (created && st.st_uid == geteuid() && (st.st_mode & 07777) != 01777) {
		if (fchmod(fd, 01777) < 0) {
			close(fd);
			return mlv_error_set_errno(MLV_EIO, "cannot make '%s' mode 1777", dir);
		}
		st.st_mode = (st.st_mode & ~07777) | 01777;
	}
	if ((st.st_mode & 0022) && !(st.st_mode & S_ISVTX)) {
		close(fd);
		return mlv_error_set(MLV_EINVALID, "the GPU lock directory '%s' is writable by "
				     "others without the sticky bit (chmod +t it)", dir);
	}
	*out = fd;
	return 0;
}

/*
 * Open `name` in the lock directory, never through a symlink and never
 * blocking on a FIFO.  For writing when allowed (O_RDONLY is enough for
 * flock, and for a file another user made without write permission).
 * With `create`, make it (mode `mode`).  0 and *out = -1 when it does
 * not exist and `create` is off.
 */
int lease_open_file(int *out, int dirfd, const char *dir, const char *name, int create,
		     mode_t mode, int *writable)
{
	struct stat st;
	int fd, flags = O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;

	*out = -1;
	for (int tries = 0;; tries++) {
		*writable = 1;
		fd = openat(dirfd, name, flags | O_RDWR);
		if (fd < 0 && errno == EACCES) {
			*writable = 0;
			fd = openat(dirfd, name, flags | O_RDONLY);
		}
		if (fd >= 0 || errno != ENOENT || !create || tries > 100)
			break;
		/* never O_CREAT on an existing file: fs.protected_regular refuses another user's */
		*writable = 1;
		fd = openat(dirfd, name, flags | O_RDWR | O_CREAT | O_EXCL, mode);
		if (fd >= 0) {
			if (fchmod(fd, mode) < 0) {
				close(fd);
				return mlv_error_set_errno(MLV_EIO, "cannot chmod '%s/%s'", dir, name);
			}
			break;
		}
		if (errno != EEXIST)
			break;
	}
	if (fd < 0) {
		if (errno == ENOENT && !create)
			return 0;
		if (errno == ELOOP)
			return mlv_error_set(MLV_EINVALID, "'%s/%s' is a symbolic link", dir, name);
		return mlv_error_set_errno(MLV_EIO, "cannot open '%s/%s'", dir, name);
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		return mlv_error_set_errno(MLV_EIO, "cannot stat '%s/%s'", dir, name);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return mlv_error_set(MLV_EINVALID, "'%s/%s' is not a regular file", dir, name);
	}
	if (st.st_nlink != 1) {
		close(fd);
		return mlv_error_set(MLV_EINVALID, "'%s/%s' has %lu links (a lock file has one)",
				     dir, name, (unsigned long)st.st_nlink);
	}
	*out = fd;
	return 0;
}

/* flock() that retries on EINTR unless `opts` says to stop. */
int lease_flock(int fd, int op, const struct mlv_lease_options *opts)
{
	for (;;) {
		if (!flock(fd, op))
			return 0;
		if (errno != EINTR || (opts && opts->interrupted && opts->interrupted(opts->payload)))
			return -1;
	}
}

/*
 * "gpu.<uuid>.<slot>", the UUID made safe for a file name; a device
 * whose UUID NVML did not give is named by its index.
 */
void lease_slot_name(char *buf, size_t size, const struct mlv_gpu *g, unsigned slot)
{
	size_t n;

	if (!*g->uuid) {
		snprintf(buf, size, LEASE_SLOT_PREFIX "index-%u.%u", g->index, slot);
		return;
	}
	n = (size_t)snprintf(buf, size, LEASE_SLOT_PREFIX);
	for (const char *p = g->uuid; *p && n + 1 < size; p++)
		buf[n++] = ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') ? *p : '_';
	buf[n] = '\0';
	snprintf(buf + n, size - n, ".%u", slot);
}

/* ---- holder records ------------------------------------------------- */

void lease_self_fill(struct lease_self *s, time_t now)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	struct tm tm;

	memset(s, 0, sizeof(*s));
	s->pid = (long)getpid();
	if (!getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) && res)
		snprintf(s->user, sizeof(s->user), "%s", pw.pw_name);
	else
		snprintf(s->user, sizeof(s->user), "%lu", (unsigned long)geteuid());
	if (gethostname(s->host, sizeof(s->host)) < 0)
		s->host[0] = '\0';
	s->host[sizeof(s->host) - 1] = '\0';
	if (gmtime_r(&now, &tm))
		strftime(s->since, sizeof(s->since), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int lease_record_write(int fd, const struct lease_self *s, const char *run_id, const char *request,
			const char *what)
{
	json_t *o = json_object();
	char *text;
	size_t len;
	int ret = 0;

	json_object_set_new(o, "run", run_id ? json_string(run_id) : json_null());
	json_object_set_new(o, "pid", json_integer(s->pid));
	json_object_set_new(o, "user", json_string(s->user));
	json_object_set_new(o, "host", json_string(s->host));
	json_object_set_new(o, "since", json_string(s->since));
	json_object_set_new(o, "request", json_string(request ? request : ""));
	text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(o);
	if (!text)
		return mlv_error_set(MLV_ERROR, "cannot make the holder record of '%s'", what);
	len = strlen(text);
	if (len > LEASE_RECORD_MAX - 1)
		len = 0;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, len, 0) != (ssize_t)len ||
	    pwrite(fd, "\n", 1, (off_t)len) != 1)
		ret = mlv_error_set_errno(MLV_EIO, "cannot write the holder record to '%s'", what);
	free(text);
	return ret;
}

static void copy_field(char *dst, size_t size, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	size_t n = 0;

	/* a record may be written by anyone: keep it printable */
	for (; *s && n + 1 < size; s++)
		dst[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	dst[n] = '\0';
}

/* What the holder of `fd` wrote; an unreadable record leaves the fields empty. */
void lease_record_read(int fd, struct mlv_lease_holder *h)
{
	char buf[LEASE_RECORD_MAX];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	json_t *o, *pid;

	memset(h, 0, sizeof(*h));
	if (n <= 0 || n == (ssize_t)sizeof(buf))
		return;
	if (!(o = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL)))
		return;
	if (json_is_object(o)) {
		copy_field(h->run_id, sizeof(h->run_id), o, "run");
		copy_field(h->user, sizeof(h->user), o, "user");
		copy_field(h->host, sizeof(h->host), o, "host");
		copy_field(h->since, sizeof(h->since), o, "since");
		copy_field(h->request, sizeof(h->request), o, "request");
		pid = json_object_get(o, "pid");
		if (json_is_integer(pid) && json_integer_value(pid) > 0 &&
		    json_integer_value(pid) < (1LL << 31))
			h->pid = (long)json_integer_value(pid);
	}
	json_decref(o);
}

/*
 * Whether someone holds `name` (1, with its record in *h), or not (0),
 * tested with a lock of our own on a new open file description.  A
 * missing file is free.
 */
int lease_probe(int dirfd, const char *dir, const char *name, struct mlv_lease_holder *h)
{
	int fd, writable, ret;

	if ((ret = lease_open_file(&fd, dirfd, dir, name, 0, 0, &writable)) < 0 || fd < 0)
		return ret;
	if (!flock(fd, LOCK_SH | LOCK_NB)) {
		ret = 0;
	} else if (errno == EWOULDBLOCK) {
		lease_record_read(fd, h);
		ret = 1;
	} else {
		ret = mlv_error_set_errno(MLV_EIO, "cannot lock '%s/%s'", dir, name);
	}
	close(fd);
	return ret;
}

void lease_holder_describe(struct mlv_buf *b, const struct mlv_lease_holder *h)
{
	if (*h->run_id)
		mlv_buf_addf(b, "run %s (", h->run_id);
	else
		mlv_buf_adds(b, "a process (");
	if (h->pid)
		mlv_buf_addf(b, "pid %ld, ", h->pid);
	mlv_buf_addf(b, "user %s", *h->user ? h->user : "unknown");
	if (*h->host)
		mlv_buf_addf(b, " on %s", h->host);
	if (*h->since)
		mlv_buf_addf(b, ", since %s", h->since);
	mlv_buf_addch(b, ')');
}

/* ---- the queue ------------------------------------------------------ */

static int ticket_cmp(const void *a, const void *b)
{
	const struct lease_ticket *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The tickets of the directory, oldest first. */
int lease_tickets_list(struct lease_ticket **out, size_t *nr, int dirfd, const char *dir)
{
	struct lease_ticket *t = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	DIR *d;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	*out = NULL;
	*nr = 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return mlv_error_set_errno(MLV_EIO, "cannot read '%s'", dir);
	}
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		uint64_t seq;

		if (strncmp(s, LEASE_TICKET_PREFIX, strlen(LEASE_TICKET_PREFIX)))
			continue;
		s += strlen(LEASE_TICKET_PREFIX);
		if (strlen(s) != LEASE_TICKET_DIGITS || !lease_all_digits(s, LEASE_TICKET_DIGITS))
			continue;
		while (*s == '0' && s[1])
			s++;
		if (mlv_parse_decimal(&seq, s, strlen(s)) < 0)
			continue;
		MLV_ALLOC_GROW(t, n + 1, alloc);
		t[n].seq = seq;
		memcpy(t[n].name, de->d_name, strlen(LEASE_TICKET_PREFIX) + LEASE_TICKET_DIGITS + 1);
		n++;
	}
	closedir(d);
	if (n)
		qsort(t, n, sizeof(*t), ticket_cmp);
	*out = t;
	*nr = n;
	return 0;
}
