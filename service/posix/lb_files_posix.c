/* lb_files_posix: the broker's own files: checks that only root can change
 * them, root-owned directories made on demand, atomic writes, and the
 * policy loaded the way the daemon trusts it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_plat.h"
#include "lb_posix.h"
#include "lb_str.h"

#define LB_REFUSE_WRITABLE "the broker refuses a policy file non-admins can write"

/* Root-owned and not writable by group or others (STICKY: a sticky
 * directory is fine as an ancestor: nobody else can rename root's entry). */
static int
lb_root_only(const struct stat *st, int allow_sticky)
{
	if (st->st_uid != 0)
		return 0;
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0)
		return 1;
	return allow_sticky && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) != 0;
}

/* The path as given, before realpath: every symbolic link on it must be
 * root's, in a directory only root can change, or whoever can change the
 * link can point the broker at another file (a root-owned one too). */
static int
lb_check_given_path(const char *path, char *err, size_t errlen)
{
	size_t i, n = strlen(path);
	int r = LB_OK;

	if (path[0] != '/')
		return LB_OK;   /* relative to the cwd: realpath's checks hold */
	for (i = 1; r == LB_OK && i <= n; i++) {
		struct stat st, ds;
		char *pre, *up, *sl;

		if (i < n && path[i] != '/')
			continue;
		if ((pre = lb_strndup(path, i)) == NULL || (up = lb_strdup(pre)) == NULL) {
			free(pre);
			return LB_E_NOMEM;
		}
		sl = strrchr(up, '/');
		if (sl == up)
			sl[1] = '\0';
		else
			*sl = '\0';
		if (lstat(pre, &st) == 0 && S_ISLNK(st.st_mode) &&
		    (st.st_uid != 0 || stat(up, &ds) != 0 || !lb_root_only(&ds, 1))) {
			snprintf(err, errlen, "%s is a symbolic link owned by uid %lu in %s: %s",
			    pre, (unsigned long)st.st_uid, up, LB_REFUSE_WRITABLE);
			r = LB_E_PERM;
		}
		free(up);
		free(pre);
	}
	return r;
}

int
lb_posix_check_admin_file(const char *path, char **real, char *err, size_t errlen)
{
	struct stat st;
	char *rp = NULL, *dir = NULL, *slash;
	int r = LB_E_PERM, first = 1;

	*real = NULL;
	if ((r = lb_check_given_path(path, err, errlen)) != LB_OK)
		return r;
	r = LB_E_PERM;
	if ((rp = realpath(path, NULL)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return LB_E_IO;
	}
	if (stat(rp, &st) != 0) {
		snprintf(err, errlen, "%s: %s", rp, strerror(errno));
		r = LB_E_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", rp);
		r = LB_E_IO;
		goto out;
	}
	if (!lb_root_only(&st, 0)) {
		snprintf(err, errlen, "%s is owned by uid %lu with mode %04o: %s",
		    rp, (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777), LB_REFUSE_WRITABLE);
		goto out;
	}
	/* The directory and every one above it: whoever can write one of
	 * them can swap the file. */
	if ((dir = lb_strdup(rp)) == NULL) {
		r = LB_E_NOMEM;
		goto out;
	}
	while ((slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(dir, &st) != 0) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			r = LB_E_IO;
			goto out;
		}
		if (!lb_root_only(&st, !first)) {
			snprintf(err, errlen, "directory %s is owned by uid %lu with mode %04o: %s",
			    dir, (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777), LB_REFUSE_WRITABLE);
			goto out;
		}
		first = 0;
		if (strcmp(dir, "/") == 0)
			break;
	}
	*real = rp;
	rp = NULL;
	r = LB_OK;
out:
	free(dir);
	free(rp);
	return r;
}

int
lb_posix_ensure_dir(const char *dir, mode_t mode, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, mode) == 0) {
		/* mkdir honours the umask; say exactly what we mean. */
		if (chown(dir, 0, 0) != 0 || chmod(dir, mode) != 0) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return LB_E_IO;
		}
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(errno));
		return LB_E_IO;
	}
	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return LB_E_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return LB_E_NOT_DIR;
	}
	if (!lb_root_only(&st, 0)) {
		snprintf(err, errlen, "directory %s is owned by uid %lu with mode %04o: "
		    "it must be owned by root and not writable by group or others",
		    dir, (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777));
		return LB_E_PERM;
	}
	return LB_OK;
}

int
lb_posix_ensure_parent(const char *file, mode_t mode, char *err, size_t errlen)
{
	char *dir, *slash;
	int r;

	if ((dir = lb_strdup(file)) == NULL)
		return LB_E_NOMEM;
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir) {
		snprintf(err, errlen, "%s: the broker's files need a directory of their own", file);
		free(dir);
		return LB_E_INVAL;
	}
	*slash = '\0';
	r = lb_posix_ensure_dir(dir, mode, err, errlen);
	free(dir);
	return r;
}

int
lb_posix_write_file(const char *path, const void *data, size_t len, mode_t mode,
    char *err, size_t errlen)
{
	const unsigned char *p = data;
	char tmp[PATH_MAX];
	int fd, r = LB_E_IO;
	size_t off = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return LB_E_PATH_LONG;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot create a file next to %s: %s", path, strerror(errno));
		return LB_E_IO;
	}
	if (fchown(fd, 0, 0) != 0 || fchmod(fd, mode) != 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return LB_OK;
fail:
	snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

/* Error text for the caller; if even that fails, its error code still says why. */
static void
lb_err_text(struct lb_buf *err, const char *a, const char *b)
{
	if (lb_buf_put_cstr(err, a) != LB_OK || (b != NULL && lb_buf_put_cstr(err, b) != LB_OK))
		return;
}

int
lb_posix_load_policy(const char *path, struct lb_policy **out, struct lb_buf *err)
{
	struct lb_policy *p = NULL;
	char msg[512], *real = NULL, *data = NULL, *slash;
	size_t len, n, i;
	int r;

	*out = NULL;
	if ((r = lb_posix_check_admin_file(path, &real, msg, sizeof(msg))) != LB_OK) {
		lb_err_text(err, msg, NULL);
		goto out;
	}
	if ((r = lb_plat_read_file(real, LB_POLICY_FILE_MAX, &data, &len, msg, sizeof(msg))) != LB_OK) {
		lb_err_text(err, path, ": ");
		lb_err_text(err, r == LB_E_NOMEM ? "out of memory" : msg, NULL);
		goto out;
	}
	if ((r = lb_policy_load_buffer(path, data, len, LB_FLAVOR_POSIX, &p, err)) != LB_OK)
		goto out;
	/* No link in the directory the policy itself lives in. */
	slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((r = lb_policy_add_floor(p, real,
	    "links are never created in the broker's own directories")) != LB_OK) {
		lb_err_text(err, path, ": cannot add its directory as a floor: ");
		lb_err_text(err, lb_strerror(r), NULL);
		goto out;
	}
	/* Links are decided on resolved paths: a floor written through a
	 * symlink (/var/run -> /run) must also stand where it really is. */
	n = p->n_floors;
	for (i = 0; i < n; i++) {
		char *rp = realpath(p->floors[i].dir.s, NULL);

		if (rp != NULL && strcmp(rp, p->floors[i].dir.s) != 0)
			r = lb_policy_add_floor(p, rp, p->floors[i].why);
		free(rp);
		if (r != LB_OK) {
			lb_err_text(err, path, ": cannot add a resolved floor: ");
			lb_err_text(err, lb_strerror(r), NULL);
			goto out;
		}
	}
	*out = p;
	p = NULL;
out:
	lb_policy_free(p);
	free(data);
	free(real);
	return r;
}
