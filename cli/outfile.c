// SPDX-License-Identifier: LGPL-2.1-or-later
/* Opening the files the CLI writes. rtprof often runs as root: with fs.protected_symlinks=0, a link
 * another user planted in /tmp would make root write wherever it points; with protected_regular=0 a file
 * planted there would receive the report; and a FIFO without a reader would block open() forever. The
 * kernel's rules are applied here, whatever the sysctls say (Documentation/admin-guide/sysctl/fs.rst). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "outfile.h"
#include "rtprof.h"

/* a planted file may win a race against O_EXCL a few times, not forever */
#define OPEN_ATTEMPTS 8

static bool stdout_closed;

void outfile__guard_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int nfd;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* read-only: a write to it fails with EBADF, as on the closed descriptor */
		nfd = open("/dev/null", O_RDONLY);
		if (nfd >= 0 && nfd != fd) {
			(void)dup2(nfd, fd);
			close(nfd);
		}
		if (fd == STDOUT_FILENO)
			stdout_closed = true;
	}
}

bool outfile__stdout_closed(void)
{
	return stdout_closed;
}

int outfile__check_stdout(const char *what)
{
	if (!stdout_closed)
		return 0;
	errorf("cannot write %s: stdout is closed", what);
	return -EBADF;
}

/* Names of descriptors this process already holds: opened as named, links and all. */
static bool names_own_fd(const char *path)
{
	const char *n = NULL;

	if (!strcmp(path, "/dev/stdout") || !strcmp(path, "/dev/stderr"))
		return true;
	if (!strncmp(path, "/dev/fd/", 8))
		n = path + 8;
	else if (!strncmp(path, "/proc/self/fd/", 14))
		n = path + 14;
	if (!n || !*n)
		return false;
	return strspn(n, "0123456789") == strlen(n);
}

/* A directory in which other users may plant names: sticky and world-writable, as /tmp. */
static bool shared_dir(const struct stat *dir)
{
	return (dir->st_mode & S_ISVTX) && (dir->st_mode & S_IWOTH);
}

/* The kernel's test (may_follow_link, may_create_in_sticky): the name belongs to this user or to the
 * directory's owner. */
static bool trusted_owner(const struct stat *dir, uid_t owner)
{
	return owner == geteuid() || owner == dir->st_uid;
}

/* Split path into its directory (opened O_PATH) and last component. */
static int open_parent(const char *path, const char **base, struct stat *dst)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int dfd;

	if (!slash) {
		*base = path;
		dir = strdup(".");
	} else {
		*base = slash + 1;
		dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	}
	if (!dir)
		return -ENOMEM;
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd < 0)
		return -errno;
	if (fstat(dfd, dst)) {
		int r = -errno;

		close(dfd);
		return r;
	}
	return dfd;
}

/* Open the last component: an existing object without following a link, else create it (O_EXCL, so that
 * nothing planted in between is opened); a link only when its owner may be trusted. O_NONBLOCK: a FIFO
 * without a reader fails with ENXIO instead of blocking. fd or -errno, said. */
static int open_in(int dfd, const struct stat *dst, const char *path, const char *base, const char *what,
		   bool *followed)
{
	const int wr = O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	struct stat st;
	int fd = -1, err;

	if (!*base) {
		errorf("cannot write %s to %s: it names a directory", what, path);
		return -EISDIR;
	}
	for (int attempt = 0; fd < 0 && attempt < OPEN_ATTEMPTS; attempt++) {
		fd = openat(dfd, base, wr | O_NOFOLLOW);
		if (fd >= 0 || (errno != ENOENT && errno != ELOOP))
			break;
		if (errno == ENOENT) {
			fd = openat(dfd, base, wr | O_CREAT | O_EXCL | O_NOFOLLOW, 0666);
			if (fd < 0 && errno != EEXIST)
				break;
			continue; /* created, or something appeared under the name meanwhile: look again */
		}
		/* ELOOP: the last component is a symbolic link */
		if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW))
			continue; /* gone meanwhile */
		if (S_ISLNK(st.st_mode) && shared_dir(dst) && !trusted_owner(dst, st.st_uid)) {
			errorf("refusing to write %s to %s: it is a symbolic link that uid %u made in a sticky "
			       "world-writable directory it does not own; following it could overwrite another file "
			       "(give the link's target instead)", what, path, (unsigned int)st.st_uid);
			return -EPERM;
		}
		/* trusted: in a sticky directory nobody else may replace it before this open */
		fd = openat(dfd, base, wr | O_CREAT, 0666);
		*followed = true;
		break;
	}
	if (fd >= 0)
		return fd;
	err = errno;
	if (err == ENXIO && fstatat(dfd, base, &st, 0) == 0 && S_ISFIFO(st.st_mode)) {
		errorf("cannot write %s to %s: it is a FIFO that no process reads (start its reader first)", what, path);
		return -ENXIO;
	}
	if (err == ELOOP || err == EEXIST)
		err = EAGAIN; /* the name kept changing under us */
	errorf("cannot write %s to %s: %s", what, path, strerror(err));
	return -err;
}

/* The object opened: one planted by another user in a sticky world-writable directory is refused (dst
 * NULL: not opened by its name in a directory). */
static int check_opened(int fd, const struct stat *dst, const char *path, const char *what, struct stat *st)
{
	if (fstat(fd, st)) {
		int err = errno;

		errorf("cannot write %s to %s: %s", what, path, strerror(err));
		return -err;
	}
	if (dst && shared_dir(dst) && (S_ISREG(st->st_mode) || S_ISFIFO(st->st_mode)) &&
	    !trusted_owner(dst, st->st_uid)) {
		errorf("refusing to write %s to %s: it is a %s that uid %u made in a sticky world-writable directory "
		       "it does not own (remove it, or choose another name)", what, path,
		       S_ISFIFO(st->st_mode) ? "FIFO" : "file", (unsigned int)st->st_uid);
		return -EPERM;
	}
	return 0;
}

int outfile__open(struct outfile *of, const char *path, const char *what)
{
	struct stat dst = {}, st;
	const char *base = path;
	bool followed = false;
	int dfd, fd, r;

	*of = (struct outfile){ .what = what, .fd = -1 };
	if (!path || !strcmp(path, "-")) {
		r = outfile__check_stdout(what);
		if (!r)
			of->fd = STDOUT_FILENO;
		return r;
	}
	of->path = path;
	if (names_own_fd(path)) {
		followed = true;
		if (stdout_closed && (!strcmp(path, "/dev/stdout") || !strcmp(path + strlen(path) - 5, "/fd/1")))
			return outfile__check_stdout(what);
		fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			errorf("cannot write %s to %s: %s", what, path,
			       r == -ENXIO ? "it is a FIFO that no process reads" : strerror(-r));
			return r;
		}
	} else {
		dfd = open_parent(path, &base, &dst);
		if (dfd < 0) {
			errorf("cannot write %s to %s: %s", what, path, strerror(-dfd));
			return dfd;
		}
		fd = open_in(dfd, &dst, path, base, what, &followed);
		close(dfd);
		if (fd < 0)
			return fd;
	}
	r = check_opened(fd, followed ? NULL : &dst, path, what, &st);
	/* blocking again, for the writes; truncated only now that it is known to be ours to write */
	if (!r && (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) ||
		   (S_ISREG(st.st_mode) && ftruncate(fd, 0)))) {
		r = -errno;
		errorf("cannot write %s to %s: %s", what, path, strerror(-r));
	}
	if (r) {
		close(fd);
		return r;
	}
	of->fd = fd;
	of->dev = st.st_dev;
	of->ino = st.st_ino;
	of->regular = S_ISREG(st.st_mode);
	return 0;
}

static ssize_t gz_write(void *gz, const char *buf, size_t n)
{
	int w = n ? gzwrite(gz, buf, (unsigned int)(n > (1u << 30) ? 1u << 30 : n)) : 0;

	return w > 0 || !n ? w : -1;
}

static int gz_close(void *gz)
{
	if (gzclose(gz) == Z_OK)
		return 0;
	errno = errno ?: EIO;
	return -1;
}

/* A stream that writes gzip to the file (level 6: a report is small). */
static FILE *gz_stream(struct outfile *of)
{
	cookie_io_functions_t io = { .write = gz_write, .close = gz_close };
	gzFile gz = gzdopen(of->fd, "wb6");
	FILE *f;

	if (!gz) {
		errno = ENOMEM;
		return NULL;
	}
	f = fopencookie(gz, "w", io);
	if (!f) {
		int e = errno;

		of->fd = dup(of->fd); /* gzclose closes the one it was given */
		(void)gzclose(gz);
		errno = e;
		return NULL;
	}
	return f;
}

void outfile__open_stderr(struct outfile *of, const char *what)
{
	*of = (struct outfile){ .what = what, .fd = STDERR_FILENO, .to_stderr = true };
}

FILE *outfile__stream(struct outfile *of)
{
	if (!of->f) {
		if (of->to_stderr)
			return of->f = stderr;
		if (of->fd == STDOUT_FILENO && !of->path)
			return of->f = stdout;
		of->f = of->gzip ? gz_stream(of) : fdopen(of->fd, "w");
		if (!of->f)
			return NULL;
		of->fd = -1; /* the stream owns it */
	}
	return of->f;
}

const char *outfile__name(const struct outfile *of)
{
	return of->path ? of->path : of->to_stderr ? "stderr" : "stdout";
}

int outfile__close(struct outfile *of)
{
	int r = 0;

	errno = 0;
	if (of->f == stdout || of->f == stderr) {
		if (fflush(of->f) || ferror(of->f))
			r = -(errno ?: EIO);
	} else if (of->f) {
		if (fclose(of->f))
			r = -(errno ?: EIO);
	} else if (of->fd >= 0 && of->path) {
		if (close(of->fd))
			r = -errno;
	}
	of->f = NULL;
	of->fd = -1;
	return r;
}

void outfile__discard(struct outfile *of)
{
	struct stat st;

	(void)outfile__close(of);
	if (of->regular && of->path && lstat(of->path, &st) == 0 && st.st_dev == of->dev && st.st_ino == of->ino)
		(void)unlink(of->path);
	of->regular = false;
}
