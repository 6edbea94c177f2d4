/* lb_fs_posix: the broker's file-system work, done with the client's
 * file-system credentials (setfsuid/setfsgid and a per-thread group list)
 * on directory handles, so the kernel checks the client's rights and the
 * links belong to the client. Root credentials are restored on every path. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lb_posix.h"
#include "lb_str.h"

/* 32-bit ABIs have a 16-bit setgroups; setgroups32 takes gid_t. */
#ifdef SYS_setgroups32
#define LB_SYS_SETGROUPS SYS_setgroups32
#else
#define LB_SYS_SETGROUPS SYS_setgroups
#endif

struct lb_posix_handle {
	int fd;
};

/* Our own credentials while we act as the client. */
struct lb_saved_cred {
	uid_t fsuid;
	gid_t fsgid;
	gid_t *groups;
	int n_groups;
	int held;           /* the thread holds the client's already: nothing to undo */
};

/* A batch's work holds one client's credentials on its thread from
 * lb_posix_hold to lb_posix_release (lb_fs_ops.hold): one switch for the
 * whole batch, and the calls in between, for that client, skip theirs. */
static __thread const struct lb_posix_cred *lb_held;
static __thread struct lb_saved_cred lb_held_saved;

int
lb_posix_errno(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
	case EROFS:     /* read-only file system (or ProtectSystem=) */
	case ETXTBSY:   /* hard link target being executed: cannot be opened for writing */
	case ELOOP:     /* a /proc magic link, or a symbolic link loop: not followed */
		return LB_E_PERM;
	case ENOENT:
		return LB_E_NOENT;
	case ENOTDIR:
		return LB_E_NOT_DIR;
	case EEXIST:
		return LB_E_EXISTS;
	case EXDEV:
	case EOPNOTSUPP:
	case EMLINK:
		return LB_E_UNSUPPORTED;
	case ENAMETOOLONG:
		return LB_E_PATH_LONG;
	case ENOMEM:
		return LB_E_NOMEM;
	default:
		return LB_E_IO;
	}
}

/* Losing track of our own credentials is not survivable: every later
 * request would run with the wrong rights. */
static void
lb_cred_fatal(const char *what)
{
	syslog(LOG_CRIT, "cannot restore the broker's credentials (%s): %s; exiting",
	    what, strerror(errno));
	_exit(70);
}

/* Switch this thread's file-system identity to the client's. setfsuid and
 * setfsgid are per thread; setgroups goes through the raw system call
 * because glibc's wrapper changes every thread of the process. */
static int
lb_cred_enter(const struct lb_posix_cred *c, struct lb_saved_cred *s)
{
	int n;

	memset(s, 0, sizeof(*s));
	if ((n = getgroups(0, NULL)) < 0)
		return LB_E_IO;
	if ((s->groups = malloc(((size_t)n + 1) * sizeof(gid_t))) == NULL)
		return LB_E_NOMEM;
	if ((s->n_groups = getgroups(n, s->groups)) < 0) {
		free(s->groups);
		s->groups = NULL;
		return LB_E_IO;
	}
	s->fsuid = (uid_t)setfsuid((uid_t)-1);   /* an invalid id only reports */
	s->fsgid = (gid_t)setfsgid((gid_t)-1);
	if (syscall(LB_SYS_SETGROUPS, c->n_gids, c->gids) != 0)
		goto fail;
	setfsgid(c->gid);
	if ((gid_t)setfsgid((gid_t)-1) != c->gid)
		goto fail;
	/* Last, since it drops the file-system capabilities. */
	setfsuid(c->uid);
	if ((uid_t)setfsuid((uid_t)-1) != c->uid)
		goto fail;
	return LB_OK;
fail:
	syslog(LOG_ERR, "cannot take the credentials of uid %lu: %s",
	    (unsigned long)c->uid, strerror(errno));
	return -1;
}

static void
lb_cred_leave(struct lb_saved_cred *s)
{
	int saved_errno = errno;

	if (s->held)
		return;
	/* fsuid first: back to 0 raises the file-system capabilities again. */
	setfsuid(s->fsuid);
	if ((uid_t)setfsuid((uid_t)-1) != s->fsuid)
		lb_cred_fatal("fsuid");
	setfsgid(s->fsgid);
	if ((gid_t)setfsgid((gid_t)-1) != s->fsgid)
		lb_cred_fatal("fsgid");
	if (syscall(LB_SYS_SETGROUPS, (size_t)s->n_groups, s->groups) != 0)
		lb_cred_fatal("groups");
	free(s->groups);
	s->groups = NULL;
	errno = saved_errno;
}

/* Enter; on failure restore whatever was changed. */
static int
lb_as_client(const struct lb_peer *peer, struct lb_saved_cred *s)
{
	const struct lb_posix_cred *c = peer != NULL ? peer->plat : NULL;
	int r;

	if (c == NULL)
		return LB_E_INVAL;
	if (lb_held != NULL && lb_held == c) {
		memset(s, 0, sizeof(*s));
		s->held = 1;
		return LB_OK;
	}
	if ((r = lb_cred_enter(c, s)) == -1) {
		lb_cred_leave(s);
		return LB_E_IO;
	}
	return r;
}

static int
lb_posix_hold(const struct lb_peer *peer)
{
	const struct lb_posix_cred *c = peer != NULL ? peer->plat : NULL;
	int r;

	if (c == NULL || lb_held != NULL)
		return LB_E_INVAL;
	if ((r = lb_as_client(peer, &lb_held_saved)) != LB_OK)
		return r;
	lb_held = c;
	return LB_OK;
}

static void
lb_posix_release(void)
{
	if (lb_held == NULL)
		return;
	lb_held = NULL;
	lb_cred_leave(&lb_held_saved);
}

/* The final path of FD, canonical. A directory or file that was removed
 * meanwhile is LB_E_NOENT. */
static int
lb_fd_path(int fd, struct lb_path *out)
{
	char proc[64], buf[LB_PATH_POSIX_MAX + 2];
	struct stat st;
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (fstat(fd, &st) != 0)
		return lb_posix_errno(errno);
	if (st.st_nlink == 0)
		return LB_E_NOENT;
	if ((n = readlink(proc, buf, sizeof(buf))) < 0)
		return lb_posix_errno(errno);
	if ((size_t)n >= sizeof(buf) - 1)
		return LB_E_PATH_LONG;
	if (n == 0 || buf[0] != '/')   /* not a path in our mount namespace */
		return LB_E_UNSUPPORTED;
	return lb_path_canon(LB_FLAVOR_POSIX, buf, (size_t)n, out);
}

/* openat() that never follows /proc magic links. No fallback to openat()
 * on kernels without openat2 (before 5.6): it would follow them for the
 * client; ENOSYS fails the request (LB_E_IO) instead. */
static int
lb_open_nomagic(int dir, const char *path, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)flags;
	how.resolve = RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
}

/* ---- paths walked as the kernel walks them, one component at a time ---- */

#define LB_WALK_LINKS_MAX 40                       /* the kernel's MAXSYMLINKS */
#define LB_WALK_PENDING_MAX (4 * (LB_PATH_POSIX_MAX + 1))

/* A walk's state: CUR is the directory (or file) reached so far, PENDING
 * what is left to walk (symbolic links' contents spliced in front). */
struct lb_walk {
	int cur;
	char *pending;
	size_t off;                 /* start of what is left in PENDING */
	unsigned links;
	uid_t client;               /* whose walk it is (fs.protected_symlinks) */
};

static int
lb_walk_splice(struct lb_walk *w, const char *front, size_t n)
{
	size_t rest = strlen(w->pending + w->off), len = n + 1 + rest;
	char *np;

	if (len + 1 > LB_WALK_PENDING_MAX)
		return LB_E_PATH_LONG;
	if ((np = malloc(len + 1)) == NULL)
		return LB_E_NOMEM;
	memcpy(np, front, n);
	np[n] = '/';
	memcpy(np + n + 1, w->pending + w->off, rest + 1);
	free(w->pending);
	w->pending = np;
	w->off = 0;
	return LB_OK;
}

static int
lb_walk_set(struct lb_walk *w, int fd)
{
	if (fd < 0)
		return lb_posix_errno(errno);
	if (w->cur >= 0)
		close(w->cur);
	w->cur = fd;
	return LB_OK;
}

/* fs.protected_symlinks, whatever the sysctl says: in a sticky directory
 * that everybody may write (/tmp), a symbolic link is followed only if it
 * belongs to the client or to the directory's owner; another user's link
 * there may have been planted to redirect the client. */
static int
lb_walk_link_trusted(const struct lb_walk *w, const struct stat *link)
{
	struct stat dir;

	if (fstat(w->cur, &dir) != 0)
		return lb_posix_errno(errno);
	if ((dir.st_mode & (S_ISVTX | S_IWOTH)) != (S_ISVTX | S_IWOTH))
		return LB_OK;
	if (link->st_uid == dir.st_uid || link->st_uid == w->client)
		return LB_OK;
	return LB_E_PERM;
}

/* LINK (opened O_PATH | O_NOFOLLOW, as ST) is the component COMP of the
 * walk's directory: its text replaces it, from the directory it is in (or
 * from / if absolute). In /proc the kernel follows it itself, never a
 * magic link (/proc/PID/root, .../fd/N: a root process keeps
 * CAP_SYS_PTRACE while acting as the client, and their text is not where
 * they lead). */
static int
lb_walk_follow(struct lb_walk *w, int link, const char *comp, const struct stat *st)
{
	char buf[LB_PATH_POSIX_MAX + 1];
	struct statfs sfs;
	ssize_t ln;
	int r;

	if (++w->links > LB_WALK_LINKS_MAX)
		return LB_E_PERM;   /* ELOOP, as the kernel */
	if (fstatfs(link, &sfs) != 0)
		return lb_posix_errno(errno);
	if (sfs.f_type == PROC_SUPER_MAGIC)
		return lb_walk_set(w, lb_open_nomagic(w->cur, comp, O_PATH | O_CLOEXEC));
	if ((r = lb_walk_link_trusted(w, st)) != LB_OK)
		return r;
	if ((ln = readlinkat(link, "", buf, sizeof(buf))) < 0)
		return lb_posix_errno(errno);
	if (ln == 0)
		return LB_E_NOENT;
	if ((size_t)ln >= sizeof(buf))
		return LB_E_PATH_LONG;
	if ((r = lb_walk_splice(w, buf, (size_t)ln)) != LB_OK)
		return r;
	return buf[0] == '/' ? lb_walk_set(w, open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) : LB_OK;
}

/* One step: the next component of PENDING. *DONE := 1 when nothing is
 * left, 2 when the component does not exist (the walk stops before it). */
static int
lb_walk_step(struct lb_walk *w, int *done)
{
	char comp[LB_PATH_COMPONENT_MAX + 1];
	const char *p = w->pending + w->off, *e;
	struct stat st;
	size_t n;
	int fd, r;

	*done = 0;
	while (*p == '/')
		p++;
	w->off = (size_t)(p - w->pending);
	if (*p == '\0') {
		*done = 1;
		return LB_OK;
	}
	e = strchr(p, '/');
	n = e != NULL ? (size_t)(e - p) : strlen(p);
	if (n > LB_PATH_COMPONENT_MAX)
		return LB_E_PATH_COMPONENT_LONG;
	memcpy(comp, p, n);
	comp[n] = '\0';
	if (strcmp(comp, ".") == 0) {
		w->off += n;
		return LB_OK;
	}
	/* The name itself, never followed: O_PATH opens a symbolic link as
	 * such, so what it is and what it says come from one inode. ".." is
	 * the physical parent, as for the kernel. */
	fd = openat(w->cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		*done = 2;
		return LB_OK;
	}
	if (fd < 0)
		return lb_posix_errno(errno);
	w->off += n;
	if (fstat(fd, &st) != 0) {
		r = lb_posix_errno(errno);
		close(fd);
		return r;
	}
	if (!S_ISLNK(st.st_mode))
		return lb_walk_set(w, fd);
	r = lb_walk_follow(w, fd, comp, &st);
	close(fd);
	return r;
}

/* Walk PATH as the client (the caller has taken the client's credentials)
 * from DIR (PATH relative) or from / (absolute), following symbolic links
 * as the kernel would, ".." after them included. LB_OK with *FD the
 * deepest existing component and *REST what could not be walked because
 * a component does not exist ("" if all did; malloc'd). */
static int
lb_walk(int dir, const char *path, uid_t client, int *fd, char **rest)
{
	struct lb_walk w;
	int r, done = 0;

	*fd = -1;
	*rest = NULL;
	memset(&w, 0, sizeof(w));
	w.client = client;
	w.cur = -1;
	if ((w.pending = lb_strdup(path)) == NULL)
		return LB_E_NOMEM;
	if (path[0] == '/' || dir < 0)
		r = lb_walk_set(&w, open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
	else
		r = lb_walk_set(&w, fcntl(dir, F_DUPFD_CLOEXEC, 0));
	while (r == LB_OK && done == 0)
		r = lb_walk_step(&w, &done);
	if (r != LB_OK)
		goto out;
	if ((*rest = lb_strdup(w.pending + w.off)) == NULL) {
		r = LB_E_NOMEM;
		goto out;
	}
	*fd = w.cur;
	w.cur = -1;
out:
	if (w.cur >= 0)
		close(w.cur);
	free(w.pending);
	return r;
}

/* The part of a path that does not exist yet, joined to where the walk
 * stopped: read as written, so it may not climb (no ".." in it: where a
 * ".." after a missing name leads depends on what that name becomes). */
static int
lb_walk_join(const struct lb_path *base, const char *rest, struct lb_path *out)
{
	struct lb_path rel = { 0 };
	const char *p = rest;
	int r;

	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return LB_E_PATH_DOTDOT_MISSING;
		p += n;
		while (*p == '/')
			p++;
	}
	if (rest[0] == '\0' || strspn(rest, "/.") == strlen(rest))
		return lb_path_copy(base, out);
	if ((r = lb_path_canon(LB_FLAVOR_POSIX, rest, strlen(rest), &rel)) != LB_OK)
		return r;
	r = lb_path_resolve(base, &rel, out);
	lb_path_free(&rel);
	return r;
}

/* Walk PATH as the client to an existing file or directory: *FD opened
 * with O_PATH, links followed as by lb_walk. Missing components are
 * LB_E_NOENT (or LB_E_NOT_DIR through a file). */
static int
lb_walk_existing(const char *path, uid_t client, int *fd)
{
	char *rest = NULL;
	int r, f = -1;

	*fd = -1;
	if ((r = lb_walk(-1, path, client, &f, &rest)) != LB_OK)
		goto out;
	if (rest[0] != '\0') {
		struct stat st;

		r = fstat(f, &st) == 0 && !S_ISDIR(st.st_mode) ? LB_E_NOT_DIR : LB_E_NOENT;
		goto out;
	}
	*fd = f;
	f = -1;
out:
	if (f >= 0)
		close(f);
	free(rest);
	return r;
}

static int
lb_handle_new(int fd, void **out)
{
	struct lb_posix_handle *h;

	if ((h = malloc(sizeof(*h))) == NULL)
		return LB_E_NOMEM;
	h->fd = fd;
	*out = h;
	return LB_OK;
}

static int
lb_posix_open_parent(const struct lb_peer *peer, const struct lb_path *link,
    void **dir, struct lb_path *resolved)
{
	const struct lb_posix_cred *c = peer != NULL ? peer->plat : NULL;
	struct lb_saved_cred s;
	struct lb_path parent = { 0 };
	const char *name;
	struct stat st;
	int fd = -1, r;

	*dir = NULL;
	memset(resolved, 0, sizeof(*resolved));
	if (c == NULL || link->flavor != LB_FLAVOR_POSIX || lb_path_require_absolute(link) != LB_OK)
		return LB_E_INVAL;
	if ((r = lb_path_parent(link, &parent)) != LB_OK)
		return r;
	if ((r = lb_as_client(peer, &s)) != LB_OK)
		goto out;
	/* O_PATH, one component at a time: the walk checks search
	 * permission on every directory as the client, and follows only the
	 * symbolic links the kernel's fs.protected_symlinks would; creating
	 * in it later checks write permission. */
	r = lb_walk_existing(parent.s, c->uid, &fd);
	/* The link's name looked up here, in the step the daemon times
	 * (docs/linux-daemon.md, "File work off the loop"): a folder whose
	 * lookups hang stalls this, which is answered "timed out", rather
	 * than the create, which must be waited for. What it finds does not
	 * matter: the create decides (never replacing anything). */
	if (r == LB_OK && (name = strrchr(link->s, '/')) != NULL && name[1] != '\0')
		(void)fstatat(fd, name + 1, &st, AT_SYMLINK_NOFOLLOW);
	lb_cred_leave(&s);
	if (r != LB_OK)
		goto out;
	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
		r = LB_E_NOT_DIR;
		goto out;
	}
	if ((r = lb_fd_path(fd, resolved)) != LB_OK)
		goto out;
	if ((r = lb_handle_new(fd, dir)) != LB_OK)
		goto out;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (r != LB_OK)
		lb_path_free(resolved);
	lb_path_free(&parent);
	return r;
}

static int
lb_posix_open_target(const struct lb_peer *peer, const struct lb_path *target,
    void **file, struct lb_path *resolved)
{
	const struct lb_posix_cred *c = peer != NULL ? peer->plat : NULL;
	struct lb_saved_cred s;
	struct stat st;
	char proc[64];
	int fd = -1, r;

	*file = NULL;
	memset(resolved, 0, sizeof(*resolved));
	if (c == NULL || target->flavor != LB_FLAVOR_POSIX || lb_path_require_absolute(target) != LB_OK)
		return LB_E_INVAL;
	if ((r = lb_as_client(peer, &s)) != LB_OK)
		return r;
	/* Pin the inode first without opening it (no device or FIFO side
	 * effects), check it is a regular file and not a set-id program, then
	 * check read and write permission on that very inode as the client. */
	if ((r = lb_walk_existing(target->s, c->uid, &fd)) != LB_OK)
		;   /* not reached: refused below */
	else if (fstat(fd, &st) != 0) {
		r = lb_posix_errno(errno);
	} else if (!S_ISREG(st.st_mode)) {
		r = LB_E_INVAL;
	} else if (((st.st_mode & S_ISUID) != 0 ||
	    (st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))) {
		/* as the kernel's protected_hardlinks: never a set-id program */
		r = LB_E_PERM;
	} else {
		/* Read and write permission, as protected_hardlinks asks of a
		 * non-owner, checked with the client's file-system ids on that
		 * very inode (AT_EACCESS: the current fsuid/fsgid/groups) and
		 * without opening it: a dry run has no side effects (leases,
		 * inotify), and neither does the real one. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (faccessat(AT_FDCWD, proc, R_OK | W_OK, AT_EACCESS) != 0) {
			r = lb_posix_errno(errno);
		}
	}
	lb_cred_leave(&s);
	if (r != LB_OK)
		goto out;
	if ((r = lb_fd_path(fd, resolved)) != LB_OK)
		goto out;
	if ((r = lb_handle_new(fd, file)) != LB_OK)
		goto out;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (r != LB_OK)
		lb_path_free(resolved);
	return r;
}

/* lb_fs_ops.resolve_target_at: where a symbolic link's target leads, as
 * the kernel will follow it for the client now: walked as the client from
 * the link's folder (DIR) or from /, links and ".." after them followed;
 * the part that does not exist yet appended as written (no ".." in it). */
static int
lb_posix_resolve_target_at(const struct lb_peer *peer, void *dir, const char *as_written,
    struct lb_path *resolved)
{
	const struct lb_posix_handle *d = dir;
	const struct lb_posix_cred *c = peer != NULL ? peer->plat : NULL;
	struct lb_saved_cred s;
	struct lb_path base = { 0 };
	char *rest = NULL;
	int fd = -1, r;

	memset(resolved, 0, sizeof(*resolved));
	if (d == NULL || c == NULL || as_written == NULL || as_written[0] == '\0')
		return LB_E_INVAL;
	if ((r = lb_as_client(peer, &s)) != LB_OK)
		return r;
	r = lb_walk(d->fd, as_written, c->uid, &fd, &rest);
	lb_cred_leave(&s);
	if (r != LB_OK)
		goto out;
	if ((r = lb_fd_path(fd, &base)) != LB_OK)
		goto out;
	r = lb_walk_join(&base, rest, resolved);
out:
	if (fd >= 0)
		close(fd);
	lb_path_free(&base);
	free(rest);
	return r;
}

/* NAME must be one component: the broker passes the link's last one. */
static int
lb_name_ok(const char *name)
{
	size_t n;

	if (name == NULL || (n = strlen(name)) == 0 || n > LB_PATH_COMPONENT_MAX)
		return 0;
	if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	return 1;
}

static int
lb_posix_create(const struct lb_peer *peer, void *dir, const char *name,
    enum lb_kind kind, const char *target, void *file)
{
	const struct lb_posix_handle *d = dir, *f = file;
	struct lb_saved_cred s;
	char proc[64];
	int r, rc = -1, e = 0;

	if (d == NULL || !lb_name_ok(name))
		return LB_E_INVAL;
	switch (kind) {
	case LB_KIND_SYMLINK:
	case LB_KIND_DIRSYMLINK:
		if (target == NULL || target[0] == '\0')
			return LB_E_INVAL;
		break;
	case LB_KIND_JUNCTION:
		if (target == NULL || target[0] != '/')
			return LB_E_INVAL;
		break;
	case LB_KIND_HARDLINK:
		if (f == NULL)
			return LB_E_INVAL;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
		break;
	default:
		return LB_E_INVAL;
	}
	if ((r = lb_as_client(peer, &s)) != LB_OK)
		return r;
	/* Both calls fail with EEXIST rather than replace anything. */
	if (kind == LB_KIND_HARDLINK)
		rc = linkat(AT_FDCWD, proc, d->fd, name, AT_SYMLINK_FOLLOW);
	else
		rc = symlinkat(target, d->fd, name);
	e = errno;
	lb_cred_leave(&s);
	return rc == 0 ? LB_OK : lb_posix_errno(e);
}

/* The link just made: its device and inode, not its target's
 * (AT_SYMLINK_NOFOLLOW). An fstatat on the open folder needs no search
 * permission of anyone, so it runs with the broker's own credentials. */
/* ST's identity as the made record writes it: "DEV:INO" in decimal. */
static void
lb_stat_id(const struct stat *st, char id[LB_FILE_ID_MAX])
{
	snprintf(id, LB_FILE_ID_MAX, "%llu:%llu", (unsigned long long)st->st_dev,
	    (unsigned long long)st->st_ino);
}

static int
lb_posix_identify(const struct lb_peer *peer, void *dir, const char *name,
    char id[LB_FILE_ID_MAX])
{
	const struct lb_posix_handle *d = dir;
	struct stat st;

	(void)peer;
	if (d == NULL || !lb_name_ok(name))
		return LB_E_INVAL;
	if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return lb_posix_errno(errno);
	lb_stat_id(&st, id);
	return LB_OK;
}

static int
lb_posix_remove(const struct lb_peer *peer, void *dir, const char *name)
{
	const struct lb_posix_handle *d = dir;
	struct lb_saved_cred s;
	int r, rc, e;

	if (d == NULL || !lb_name_ok(name))
		return LB_E_INVAL;
	if ((r = lb_as_client(peer, &s)) != LB_OK)
		return r;
	rc = unlinkat(d->fd, name, 0);
	e = errno;
	lb_cred_leave(&s);
	return rc == 0 ? LB_OK : lb_posix_errno(e);
}

/* lb_fs_ops.unlink_made, as the client: NAME's identity and type read
 * without following it, then NAME unlinked (a directory symbolic link as
 * the link: unlink never reaches its target). Between the look and the
 * unlink another file can only be put at NAME by someone who may write
 * DIR, and the unlink runs with the client's rights: it removes nothing
 * the client could not remove itself. */
static int
lb_posix_unlink_made(const struct lb_peer *peer, void *dir, const char *name,
    enum lb_kind kind, const char *file_id)
{
	const struct lb_posix_handle *d = dir;
	struct lb_saved_cred s;
	struct stat st;
	char id[LB_FILE_ID_MAX];
	int r, rc, e;

	if (d == NULL || !lb_name_ok(name) || file_id == NULL ||
	    !lb_file_id_ok(file_id, strnlen(file_id, LB_FILE_ID_MAX)))
		return LB_E_INVAL;
	/* a junction is made as a symbolic link here (lb_posix_create) */
	if (kind != LB_KIND_SYMLINK && kind != LB_KIND_DIRSYMLINK && kind != LB_KIND_JUNCTION &&
	    kind != LB_KIND_HARDLINK)
		return LB_E_INVAL;
	if ((r = lb_as_client(peer, &s)) != LB_OK)
		return r;
	if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		r = lb_posix_errno(errno);
		goto out;
	}
	lb_stat_id(&st, id);
	if (strcmp(id, file_id) != 0 ||
	    (kind == LB_KIND_HARDLINK ? !S_ISREG(st.st_mode) : !S_ISLNK(st.st_mode))) {
		r = LB_E_CHANGED;
		goto out;
	}
	if (kind == LB_KIND_HARDLINK && st.st_nlink < 2) {
		r = LB_E_LAST_NAME;   /* it would delete the file */
		goto out;
	}
	rc = unlinkat(d->fd, name, 0);
	e = errno;
	r = rc == 0 ? LB_OK : lb_posix_errno(e);
out:
	lb_cred_leave(&s);
	return r;
}

static void
lb_posix_close(void *handle)
{
	struct lb_posix_handle *h = handle;

	if (h == NULL)
		return;
	close(h->fd);
	free(h);
}

/* The rate limits' clock: monotonic, so that a clock step neither stalls
 * nor refills a bucket. */
static uint64_t
lb_posix_clock_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* lb_fs_ops.spawn: a detached thread (the index's start-up read). */
struct lb_spawned {
	void (*fn)(void *);
	void *arg;
};

static void *
lb_posix_spawned(void *p)
{
	struct lb_spawned sp = *(struct lb_spawned *)p;

	free(p);
	sp.fn(sp.arg);
	return NULL;
}

static int
lb_posix_spawn(void (*fn)(void *arg), void *arg)
{
	struct lb_spawned *sp;
	pthread_attr_t at;
	pthread_t t;
	int rc;

	if ((sp = malloc(sizeof(*sp))) == NULL)
		return LB_E_NOMEM;
	sp->fn = fn;
	sp->arg = arg;
	if (pthread_attr_init(&at) != 0) {
		free(sp);
		return LB_E_NOMEM;
	}
	rc = pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) == 0 &&
	    pthread_create(&t, &at, lb_posix_spawned, sp) == 0;
	pthread_attr_destroy(&at);
	if (!rc) {
		free(sp);
		return LB_E_NOMEM;
	}
	return LB_OK;
}

const struct lb_fs_ops lb_posix_fs_ops = {
	.open_parent = lb_posix_open_parent,
	.open_target = lb_posix_open_target,
	.create = lb_posix_create,
	.remove = lb_posix_remove,
	.close = lb_posix_close,
	.event = lb_posix_log_event,   /* journald or syslog (lb_log_posix.c) */
	.resolve_target_at = lb_posix_resolve_target_at,
	.clock_ms = lb_posix_clock_ms,
	.hold = lb_posix_hold,
	.release = lb_posix_release,
	.identify = lb_posix_identify,
	.unlink_made = lb_posix_unlink_made,
	.spawn = lb_posix_spawn,
};
