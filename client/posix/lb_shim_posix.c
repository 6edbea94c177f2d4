/* lb_shim_posix: liblinkbroker-shim.so, preloaded by `linkbroker run`.
 * Wraps symlink, symlinkat, link and linkat: the real call first; only
 * when it fails with EACCES or EPERM is the link asked of the broker, and
 * the caller gets 0 or the errno that matches the broker's answer. Paths
 * are made absolute here, in the calling process (its cwd, its dirfds
 * through /proc/self/fd), before the request goes out. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linkbroker.h"
#include "lb_err.h"

#define LB_SHIM_EXPORT __attribute__((visibility("default")))

LB_SHIM_EXPORT int symlink(const char *target, const char *linkpath);
LB_SHIM_EXPORT int symlinkat(const char *target, int newdirfd, const char *linkpath);
LB_SHIM_EXPORT int link(const char *oldpath, const char *newpath);
LB_SHIM_EXPORT int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
    int flags);

/* One handle per process: made on first use, made afresh in a child
 * after fork (the parent's connection and lock are not the child's; the
 * old handle is left alone rather than closed under another's feet). */
static pthread_mutex_t lb_shim_mu = PTHREAD_MUTEX_INITIALIZER;
static struct linkbroker *lb_shim_h;
static pid_t lb_shim_pid;
/* The broker's own calls never come back here (it makes none), but a
 * signal handler might: a thread inside the shim does not re-enter. */
static __thread int lb_shim_busy;

/* A child of fork() starts without the parent's handle, and with the
 * mutex free even if another of the parent's threads held it. */
static void
lb_shim_child(void)
{
	static const pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;

	memcpy(&lb_shim_mu, &fresh, sizeof(fresh));
	lb_shim_h = NULL;
}

__attribute__((constructor)) static void
lb_shim_init(void)
{
	(void)pthread_atfork(NULL, NULL, lb_shim_child);
}

static struct linkbroker *
lb_shim_handle(void)
{
	struct linkbroker *h;
	pid_t me = getpid();

	pthread_mutex_lock(&lb_shim_mu);
	if (lb_shim_h == NULL || lb_shim_pid != me) {
		lb_shim_h = NULL;
		if (linkbroker_open(&h, NULL, NULL) == LINKBROKER_OK) {
			lb_shim_h = h;
			lb_shim_pid = me;
		}
	}
	h = lb_shim_h;
	pthread_mutex_unlock(&lb_shim_mu);
	return h;
}

static void *
lb_next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static int
lb_shim_debug(void)
{
	const char *v = getenv("LINKBROKER_DEBUG");

	return v != NULL && strcmp(v, "1") == 0;
}

/* OUT := PATH made absolute against DIRFD (AT_FDCWD: the cwd), as the
 * kernel would resolve it. 0, or -1 with errno. */
static int
lb_abs(int dirfd, const char *path, char *out, size_t cap)
{
	char base[PATH_MAX], proc[64];
	ssize_t n;
	int w;

	if (path[0] == '/') {
		if (strlen(path) >= cap) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(out, path, strlen(path) + 1);
		return 0;
	}
	if (dirfd == AT_FDCWD) {
		if (getcwd(base, sizeof(base)) == NULL)
			return -1;
	} else {
		(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
		if ((n = readlink(proc, base, sizeof(base) - 1)) < 0)
			return -1;
		base[n] = '\0';
		if (base[0] != '/') {   /* not a directory on a path (a pipe, deleted) */
			errno = EBADF;
			return -1;
		}
	}
	w = snprintf(out, cap, "%s%s%s", base, strcmp(base, "/") == 0 ? "" : "/", path);
	if (w < 0 || (size_t)w >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The errno a caller of the libc function expects for the broker's
 * answer RC; ORIG (the real call's) where there is no better one, so
 * that without a broker (or with a key not enrolled) the tool fails as it
 * would have. */
static int
lb_errno_of(int rc, int orig)
{
	switch (rc) {
	case LINKBROKER_E_DENIED:
	case LINKBROKER_E_PERM:
		return EACCES;
	case LINKBROKER_E_EXISTS:
		return EEXIST;
	case LINKBROKER_E_NOENT:
		return ENOENT;
	case LINKBROKER_E_NOT_DIR:
		return ENOTDIR;
	case LB_E_PATH_LONG:
	case LB_E_PATH_COMPONENT_LONG:
		return ENAMETOOLONG;
	default:
		return orig;
	}
}

/* Ask the broker for a link of KIND at LINK (absolute) to TARGET; FN,
 * ORIG: for the debug line and the fallback errno. */
static int
lb_shim_ask(const char *fn, int kind, const char *link, const char *target, int orig)
{
	struct linkbroker_result res;
	struct linkbroker *h;
	int rc, e;

	if ((h = lb_shim_handle()) == NULL) {
		errno = orig;
		return -1;
	}
	memset(&res, 0, sizeof(res));
	rc = linkbroker_create(h, kind, link, target, &res);
	if (lb_shim_debug())
		fprintf(stderr, "linkbroker-shim: %s(\"%s\", \"%s\") -> broker: %s%s%s\n", fn, target, link,
		    rc == LINKBROKER_OK ? "created" : linkbroker_strerror(rc),
		    res.message_len > 0 ? ": " : "", res.message_len > 0 ? res.message : "");
	if (rc == LINKBROKER_OK)
		return 0;
	e = lb_errno_of(rc, orig);
	errno = e;
	return -1;
}

static int
lb_should_ask(int err)
{
	return err == EACCES || err == EPERM;
}

static int
lb_symlink_fallback(const char *fn, const char *target, int newdirfd, const char *linkpath, int orig)
{
	char link_abs[PATH_MAX];
	int r;

	if (target == NULL || linkpath == NULL || lb_abs(newdirfd, linkpath, link_abs, sizeof(link_abs)) != 0) {
		errno = orig;
		return -1;
	}
	lb_shim_busy = 1;
	r = lb_shim_ask(fn, LINKBROKER_SYMLINK, link_abs, target, orig);
	lb_shim_busy = 0;
	return r;
}

/* linkat(2) without AT_SYMLINK_FOLLOW links a symbolic link itself; the
 * broker links what a path resolves to. Only ask where both agree. */
static int
lb_link_fallback(const char *fn, int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
    int flags, int orig)
{
	char old_abs[PATH_MAX], new_abs[PATH_MAX];
	struct stat st;
	int r;

	if (oldpath == NULL || newpath == NULL || (flags & ~AT_SYMLINK_FOLLOW) != 0 ||
	    (!(flags & AT_SYMLINK_FOLLOW) &&
	    (fstatat(olddirfd, oldpath, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISLNK(st.st_mode))) ||
	    lb_abs(olddirfd, oldpath, old_abs, sizeof(old_abs)) != 0 ||
	    lb_abs(newdirfd, newpath, new_abs, sizeof(new_abs)) != 0) {
		errno = orig;
		return -1;
	}
	lb_shim_busy = 1;
	r = lb_shim_ask(fn, LINKBROKER_HARDLINK, new_abs, old_abs, orig);
	lb_shim_busy = 0;
	return r;
}

int
symlink(const char *target, const char *linkpath)
{
	int (*next)(const char *, const char *) = (int (*)(const char *, const char *))lb_next("symlink");
	int r;

	if (next == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if ((r = next(target, linkpath)) == 0 || lb_shim_busy || !lb_should_ask(errno))
		return r;
	return lb_symlink_fallback("symlink", target, AT_FDCWD, linkpath, errno);
}

int
symlinkat(const char *target, int newdirfd, const char *linkpath)
{
	int (*next)(const char *, int, const char *) =
	    (int (*)(const char *, int, const char *))lb_next("symlinkat");
	int r;

	if (next == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if ((r = next(target, newdirfd, linkpath)) == 0 || lb_shim_busy || !lb_should_ask(errno))
		return r;
	return lb_symlink_fallback("symlinkat", target, newdirfd, linkpath, errno);
}

int
link(const char *oldpath, const char *newpath)
{
	int (*next)(const char *, const char *) = (int (*)(const char *, const char *))lb_next("link");
	int r;

	if (next == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if ((r = next(oldpath, newpath)) == 0 || lb_shim_busy || !lb_should_ask(errno))
		return r;
	/* link(2) does not follow a symbolic link OLDPATH on Linux. */
	return lb_link_fallback("link", AT_FDCWD, oldpath, AT_FDCWD, newpath, 0, errno);
}

int
linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	int (*next)(int, const char *, int, const char *, int) =
	    (int (*)(int, const char *, int, const char *, int))lb_next("linkat");
	int r;

	if (next == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if ((r = next(olddirfd, oldpath, newdirfd, newpath, flags)) == 0 || lb_shim_busy ||
	    !lb_should_ask(errno))
		return r;
	return lb_link_fallback("linkat", olddirfd, oldpath, newdirfd, newpath, flags, errno);
}
