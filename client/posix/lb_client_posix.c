/* lb_client_posix: the POSIX side of the linkbroker CLI: Unix-socket
 * transport with deadlines, the user's key file, cwd, clocks. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lb_client.h"

/* Header line, base64 line, each with its newline. */
#define LB_READ_CHUNK 65536

enum lb_flavor
lb_client_flavor(void)
{
	return LB_FLAVOR_POSIX;
}

int
lb_client_init(int argc, char **argv, int *argc_out, char ***argv_out)
{
	*argc_out = argc;
	*argv_out = argv;
	return LB_OK;
}

const char *
lb_client_default_endpoint(void)
{
	return "/run/linkbroker/broker.sock";
}

const char *
lb_client_default_service_key(void)
{
	return "/etc/linkbroker/service.pub";
}

uint64_t
lb_client_time(void)
{
	time_t t = time(NULL);

	return t > 0 ? (uint64_t)t : 0;
}

uint64_t
lb_client_clock_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
lb_client_sleep_ms(uint32_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
lb_client_stderr_is_tty(void)
{
	return isatty(STDERR_FILENO);
}

/* WHY := [TEXT: ]strerror(ERR); returns RC. */
void
lb_client_write(FILE *f, const void *s, size_t n)
{
	(void)fwrite(s, 1, n, f);
}

static int
lb_why_errno(struct lb_buf *why, int rc, const char *text, int err)
{
	if (text != NULL)
		return LB_WHY(why, rc, "%s: %s", text, strerror(err));
	return LB_WHY(why, rc, "%s", strerror(err));
}

int
lb_client_cwd(struct lb_buf *out, struct lb_buf *why)
{
	char buf[LB_PATH_POSIX_MAX + 1];

	if (getcwd(buf, sizeof(buf)) == NULL)
		return lb_why_errno(why, LB_E_IO, "cannot find the current directory", errno);
	return lb_buf_put_cstr(out, buf);
}

int
lb_client_user_name(struct lb_buf *out, struct lb_buf *why)
{
	struct passwd *pw;

	if ((pw = getpwuid(getuid())) == NULL || pw->pw_name == NULL || pw->pw_name[0] == '\0')
		return LB_WHY(why, LB_E_IO, "cannot find the login name of uid %lu",
		    (unsigned long)getuid());
	return lb_buf_put_cstr(out, pw->pw_name);
}

/* Read FD to its end into OUT (bounded by out->max). */
static int
lb_read_fd(int fd, struct lb_buf *out, struct lb_buf *why)
{
	uint8_t chunk[LB_READ_CHUNK];
	ssize_t n;
	int r;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lb_why_errno(why, LB_E_IO, NULL, errno);
		if (n == 0)
			return LB_OK;
		if ((r = lb_buf_put(out, chunk, (size_t)n)) == LB_E_TOOBIG)
			return LB_WHY(why, r, "larger than %zu bytes", out->max);
		if (r != LB_OK)
			return LB_WHY(why, r, "%s", lb_strerror(r));
	}
}

int
lb_client_file_id(const char *path, char id[LB_CLIENT_FILE_ID_MAX], int *is_link)
{
	struct stat st;

	if (path == NULL || id == NULL || is_link == NULL)
		return LB_E_INVAL;
	if (lstat(path, &st) != 0)
		return errno == ENOENT || errno == ENOTDIR ? LB_E_NOENT :
		    errno == EACCES ? LB_E_PERM : LB_E_IO;
	/* as the broker's identify writes it (service/posix/lb_fs_posix.c) */
	snprintf(id, LB_CLIENT_FILE_ID_MAX, "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	*is_link = S_ISLNK(st.st_mode);
	return LB_OK;
}

int
lb_client_read_file(const char *path, struct lb_buf *out, struct lb_buf *why)
{
	struct stat st;
	int fd, r;

	if (path == NULL)
		return lb_read_fd(STDIN_FILENO, out, why);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return lb_why_errno(why, LB_E_IO, NULL, errno);
	if (fstat(fd, &st) != 0) {
		r = lb_why_errno(why, LB_E_IO, NULL, errno);
	} else if (S_ISDIR(st.st_mode)) {
		r = LB_WHY(why, LB_E_IO, "%s", strerror(EISDIR));
	} else {
		r = lb_read_fd(fd, out, why);
	}
	close(fd);
	return r;
}

/* ---- the key: ${XDG_CONFIG_HOME:-$HOME/.config}/linkbroker/key ---- */

/* The configuration base directory, appended to OUT. */
static int
lb_config_home(struct lb_buf *out)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct passwd *pw;

	/* The XDG spec: a relative value is invalid and ignored. */
	if (xdg != NULL && xdg[0] == '/')
		return lb_buf_put_cstr(out, xdg);
	if (home == NULL || home[0] != '/') {
		if ((pw = getpwuid(getuid())) == NULL || pw->pw_dir == NULL)
			return LB_E_NOENT;
		home = pw->pw_dir;
	}
	return lb_buf_printf(out, "%s/.config", home);
}

static int
lb_key_dir(struct lb_buf *out)
{
	int r;

	if ((r = lb_config_home(out)) != LB_OK)
		return r;
	return lb_buf_put_cstr(out, "/linkbroker");
}

int
lb_client_key_location(struct lb_buf *out)
{
	int r;

	if ((r = lb_key_dir(out)) != LB_OK)
		return r;
	return lb_buf_put_cstr(out, "/key");
}

int
lb_client_key_load(uint8_t sk[LB_SK_BYTES], struct lb_buf *why)
{
	struct lb_buf path, text;
	const char *p = NULL;
	struct stat st;
	int fd = -1, err, r;

	lb_buf_init(&path, LB_PATH_POSIX_MAX + 1);
	lb_buf_init(&text, LB_USER_KEY_TEXT_LEN + 1);
	if ((r = lb_client_key_location(&path)) != LB_OK || (r = lb_buf_cstr(&path, &p)) != LB_OK) {
		r = LB_WHY(why, r, "%s", "cannot find the home directory for the key");
		goto out;
	}
	if ((fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW)) < 0) {
		err = errno;
		if (err == ENOENT)
			r = LB_WHY(why, LB_E_NOENT, "no key at %s; run 'linkbroker keygen' first", p);
		else if (err == ELOOP)
			r = LB_WHY(why, LB_E_PERM, "refusing the key file %s: it is a symbolic link", p);
		else
			r = LB_WHY(why, LB_E_IO, "cannot open the key file %s: %s", p, strerror(err));
		goto out;
	}
	if (fstat(fd, &st) != 0)
		r = LB_WHY(why, LB_E_IO, "cannot stat the key file %s: %s", p, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		r = LB_WHY(why, LB_E_PERM, "refusing the key file %s: not a regular file", p);
	else if (st.st_uid != geteuid())
		r = LB_WHY(why, LB_E_PERM, "refusing the key file %s: it belongs to uid %lu, "
		    "not to you (uid %lu)", p, (unsigned long)st.st_uid, (unsigned long)geteuid());
	else if ((st.st_mode & 077) != 0)
		r = LB_WHY(why, LB_E_PERM, "refusing the key file %s: group or others may read "
		    "or write it (mode %04lo); run: chmod 600 %s",
		    p, (unsigned long)(st.st_mode & 07777), p);
	else if (lb_read_fd(fd, &text, why) != LB_OK ||
	    lb_user_key_parse((const char *)text.data, text.len, sk) != LB_OK)
		r = LB_WHY(why, LB_E_INVAL, "the key file %s is not a valid %s file", p, LB_USER_KEY_HEADER);
	else
		r = LB_OK;
out:
	if (fd >= 0)
		close(fd);
	lb_buf_free(&text);
	lb_buf_free(&path);
	return r;
}

/* DIR exists (made if missing), is a directory of ours, mode 0700. */
static int
lb_private_dir(const char *dir, struct lb_buf *why)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return LB_WHY(why, LB_E_IO, "cannot create %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return LB_WHY(why, LB_E_PERM, "%s is not a directory of yours", dir);
	/* Made by mkdir under a umask, or widened by hand: exactly 0700. */
	if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700) != 0)
		return LB_WHY(why, LB_E_PERM, "cannot make %s private: %s", dir, strerror(errno));
	return LB_OK;
}

/* Write all of P to FD. */
static int
lb_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int
lb_client_key_save(const uint8_t sk[LB_SK_BYTES], int replace, struct lb_buf *why)
{
	struct lb_buf dir, key, tmp;
	const char *d = NULL, *k = NULL, *t = NULL;
	char text[LB_USER_KEY_TEXT_LEN];
	int fd = -1, r, made = 0;

	lb_buf_init(&dir, LB_PATH_POSIX_MAX + 1);
	lb_buf_init(&key, LB_PATH_POSIX_MAX + 1);
	lb_buf_init(&tmp, LB_PATH_POSIX_MAX + 1);
	if ((r = lb_config_home(&dir)) != LB_OK || (r = lb_buf_cstr(&dir, &d)) != LB_OK) {
		r = LB_WHY(why, r, "%s", "cannot find the home directory for the key");
		goto out;
	}
	/* ~/.config may not exist yet on a fresh account; its parent must. */
	if (mkdir(d, 0700) != 0 && errno != EEXIST) {
		r = LB_WHY(why, LB_E_IO, "cannot create %s: %s", d, strerror(errno));
		goto out;
	}
	if ((r = lb_buf_put_cstr(&dir, "/linkbroker")) != LB_OK ||
	    (r = lb_buf_cstr(&dir, &d)) != LB_OK ||
	    (r = lb_buf_printf(&key, "%s/key", d)) != LB_OK ||
	    (r = lb_buf_cstr(&key, &k)) != LB_OK ||
	    (r = lb_buf_printf(&tmp, "%s/.key.XXXXXX", d)) != LB_OK ||
	    (r = lb_buf_cstr(&tmp, &t)) != LB_OK)
		goto out;
	if ((r = lb_private_dir(d, why)) != LB_OK)
		goto out;
	if (!replace && access(k, F_OK) == 0) {
		r = LB_WHY(why, LB_E_EXISTS, "a key already exists at %s; use --force to replace it", k);
		goto out;
	}
	/* Write a private temporary file, then move it into place in one step:
	 * no reader ever sees half a key, and link() refuses to replace. */
	if ((fd = mkostemp((char *)tmp.data, O_CLOEXEC)) < 0) {
		r = lb_why_errno(why, LB_E_IO, "cannot create a file in the key directory", errno);
		goto out;
	}
	made = 1;
	if (lb_user_key_format(sk, text) != LB_OK) {
		r = LB_E_INVAL;
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || lb_write_all(fd, text, sizeof(text)) != 0 ||
	    fsync(fd) != 0) {
		r = lb_why_errno(why, LB_E_IO, "cannot write the key", errno);
		goto out;
	}
	if (replace ? rename(t, k) != 0 : link(t, k) != 0) {
		if (errno == EEXIST)
			r = LB_WHY(why, LB_E_EXISTS, "a key already exists at %s; use --force to replace it", k);
		else
			r = LB_WHY(why, LB_E_IO, "cannot store the key as %s: %s", k, strerror(errno));
		goto out;
	}
	if (replace)
		made = 0;   /* renamed away */
	r = LB_OK;
out:
	lb_wipe(text, sizeof(text));
	if (fd >= 0)
		close(fd);
	if (made)
		(void)unlink(t);
	lb_buf_free(&tmp);
	lb_buf_free(&key);
	lb_buf_free(&dir);
	return r;
}

/* ---- transport: a Unix stream socket ---- */

struct lb_conn {
	int fd;
};

/* Milliseconds left until DEADLINE, at most INT_MAX-ish; 0 if passed. */
static int
lb_ms_left(uint64_t deadline_ms)
{
	uint64_t now = lb_client_clock_ms();

	if (now >= deadline_ms)
		return 0;
	return deadline_ms - now > 86400000u ? 86400000 : (int)(deadline_ms - now);
}

int
lb_conn_open(const char *endpoint, uint64_t deadline_ms, struct lb_conn **out,
    struct lb_buf *why)
{
	struct sockaddr_un sa;
	struct timeval tv;
	struct lb_conn *c;
	size_t n = strlen(endpoint);
	int fd, fl, ms, err;

	*out = NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(sa.sun_path))
		return LB_WHY(why, LB_E_UNREACHABLE, "socket path %s", n == 0 ? "empty" : "too long");
	memcpy(sa.sun_path, endpoint, n);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return lb_why_errno(why, LB_E_UNREACHABLE, NULL, errno);
	/* Linux bounds a blocking AF_UNIX connect (full backlog) by SO_SNDTIMEO. */
	if ((ms = lb_ms_left(deadline_ms)) == 0)
		ms = 1;   /* 0 would mean "no timeout" */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		err = errno;
		close(fd);
		if (err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS)
			return LB_WHY(why, LB_E_UNREACHABLE, "timed out after %d ms", LB_CLIENT_TIMEOUT_MS);
		return lb_why_errno(why, LB_E_UNREACHABLE, NULL, err);
	}
	/* From here on every wait is a poll() against the deadline. */
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		err = errno;
		close(fd);
		return lb_why_errno(why, LB_E_UNREACHABLE, NULL, err);
	}
	if ((c = malloc(sizeof(*c))) == NULL) {
		close(fd);
		return LB_E_NOMEM;
	}
	c->fd = fd;
	*out = c;
	return LB_OK;
}

/* Wait until FD is ready for EVENTS or the deadline passes. */
static int
lb_conn_wait(struct lb_conn *c, short events, uint64_t deadline_ms, struct lb_buf *why)
{
	struct pollfd pfd;
	int ms, n;

	for (;;) {
		if ((ms = lb_ms_left(deadline_ms)) == 0)
			return LB_WHY(why, LB_E_TIMEOUT, "no answer within %d ms", LB_CLIENT_TIMEOUT_MS);
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lb_why_errno(why, LB_E_UNREACHABLE, NULL, errno);
		if (n > 0)
			return LB_OK;
	}
}

int
lb_conn_send(struct lb_conn *c, const uint8_t *p, size_t n, uint64_t deadline_ms,
    struct lb_buf *why)
{
	ssize_t w;
	int r;

	while (n > 0) {
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = lb_conn_wait(c, POLLOUT, deadline_ms, why)) != LB_OK)
				return r;
			continue;
		}
		return lb_why_errno(why, LB_E_UNREACHABLE, "sending the request", w < 0 ? errno : EPIPE);
	}
	return LB_OK;
}

int
lb_conn_recv(struct lb_conn *c, uint8_t *p, size_t cap, size_t *got,
    uint64_t deadline_ms, struct lb_buf *why)
{
	ssize_t n;
	int r;

	*got = 0;
	for (;;) {
		n = recv(c->fd, p, cap, 0);
		if (n >= 0) {
			*got = (size_t)n;
			return LB_OK;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return lb_why_errno(why, LB_E_UNREACHABLE, "reading the answer", errno);
		if ((r = lb_conn_wait(c, POLLIN, deadline_ms, why)) != LB_OK)
			return r;
	}
}

void
lb_conn_close(struct lb_conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

struct lb_client_lock {
	pthread_mutex_t m;
};

int
lb_client_lock_new(struct lb_client_lock **out)
{
	struct lb_client_lock *l;

	*out = NULL;
	if ((l = malloc(sizeof(*l))) == NULL)
		return LB_E_NOMEM;
	if (pthread_mutex_init(&l->m, NULL) != 0) {
		free(l);
		return LB_E_NOMEM;
	}
	*out = l;
	return LB_OK;
}

void
lb_client_lock_take(struct lb_client_lock *l)
{
	(void)pthread_mutex_lock(&l->m);
}

void
lb_client_lock_give(struct lb_client_lock *l)
{
	(void)pthread_mutex_unlock(&l->m);
}

void
lb_client_lock_free(struct lb_client_lock *l)
{
	if (l == NULL)
		return;
	(void)pthread_mutex_destroy(&l->m);
	free(l);
}
