/* lb_daemon_posix: `linkbrokerd run` on POSIX: policy, service key and audit
 * log set up as root, then one thread serving a Unix socket with poll():
 * bounded clients in total and per uid, a deadline per connection, hot
 * reload on SIGHUP or file change, audit fdatasync every 100 ms, audit
 * log rotation on SIGUSR1 (and a log renamed, deleted or truncated under
 * us noticed before each round). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lb_posix.h"
#include "lb_serve.h"
#include "lb_str.h"

#define LB_DEFAULT_CONFIG "/etc/linkbroker/policy.ini"
#define LB_CLIENTS_CAP 4096             /* max_clients' upper bound in the loader */
#define LB_IN_CAP (LB_FRAME_HDR + LB_FRAME_MAX)
#define LB_OUT_HIGH (64 * 1024)         /* no new requests while this much output waits */
#define LB_OUT_MAX (1024 * 1024)
#define LB_SYNC_MS 100
#define LB_STAT_MS 1000
#define LB_ACCEPT_BURST 16              /* accepts per turn: a connect flood keeps turns short */
#define LB_ACCEPT_PAUSE_MS 100

struct lb_job;
struct lb_ftask;

struct lb_conn {
	int fd;                     /* -1: closed; freed once nothing of it is in flight */
	uid_t uid;
	struct lb_posix_peer *peer;
	uint8_t *in;
	size_t in_len;
	struct lb_buf out;
	size_t out_off;
	int64_t deadline;           /* monotonic ms */
	int eof;
	struct lb_job *head, *tail; /* its requests not yet answered, in order */
	size_t n_jobs;
	struct lb_ftask *task;      /* its one file-system task on a worker */
};

/* A request from its frame to its answer, over as many turns of the loop
 * as its file-system work takes (docs/linux-daemon.md, "File work off the
 * loop"). Answers leave each connection in request order. */
enum lb_js {
	LB_JS_NEW,                  /* prepared in this turn: admitted at once */
	LB_JS_WAIT_FS,              /* admitted, its opens waiting for a worker */
	LB_JS_FS,                   /* its opens on a worker */
	LB_JS_DECIDED,              /* its decision recorded */
	LB_JS_WAIT_MAKE,            /* allowed and durable, its create waiting */
	LB_JS_MAKING,               /* its create on a worker: waited for */
	LB_JS_MADE,                 /* made, failed or nothing to make */
	LB_JS_SIGNED,               /* its answer ready */
	LB_JS_DEAD,                 /* no answer can be given: its connection closes */
};

struct lb_job {
	struct lb_job *next;        /* the connection's, in order */
	struct lb_conn *c;
	struct lb_posix_peer *peer; /* a reference: P's peer, for P's life */
	struct lb_pending *p;
	enum lb_js st;
	struct lb_fswork *w;        /* WAIT_FS: its opens, not on a worker yet */
	int64_t due;                /* monotonic ms: "timed out" past it, from admission */
	int fresh;                  /* a record of it appended in this turn */
};
#define LB_JOBS_MAX 4096            /* requests in flight, all connections */
#define LB_JOBS_PER_CONN 16         /* and per connection (bounds its output) */
#define LB_STEP_MAX 256             /* new requests per turn of the loop */
#define LB_TURN_PER_UID 16          /* and per uid: a few accounts flooding many
                                       connections do not make every turn long */

/* One connection's consecutive opens, or creates, run in order on one
 * worker. LIMIT (under MU) is how many the worker may start, DONE how many
 * it finished: at a deadline the loop lowers LIMIT, takes the finished
 * ones, answers the one in the kernel "timed out", gives the rest back to
 * their connection and goes on without the task, which is freed when it
 * comes back (its opens only read: nothing is lost). */
#define LB_TASK_JOBS LB_JOBS_PER_CONN
#define LB_TASKS_MAX 256            /* tasks at once, and so workers at most */
/* One uid's tasks: at most LB_TASKS_PER_UID that are slow (a worker in
 * one of its items for LB_TASK_SLOW_MS or more: a file system that may
 * hang; a task still queued for a worker, or done and not yet taken back
 * by the loop, waits for CPU, not for the file system), at most
 * LB_TASKS_PER_UID_MAX in all. A uid with many connections is served in
 * parallel while its file system answers (with 4 in all, 64 clients of one
 * uid offering 2,000 creates a second waited 48 ms at p99 for a turn);
 * once its tasks stall it gets no more than before. */
#define LB_TASKS_PER_UID 4
#define LB_TASKS_PER_UID_MAX 16
#define LB_TASK_SLOW_MS 20
struct lb_ftask {
	struct lb_task t;           /* first: what the pool hands back */
	struct lb_ftask *prev, *next;   /* the daemon's, until back */
	struct lb_conn *c;          /* NULL once its connection went on without it */
	uid_t uid;
	int64_t item_since;         /* monotonic ms: its worker began the running item; 0: none runs (MU) */
	int make;
	size_t n;
	struct lb_job *job[LB_TASK_JOBS];            /* the loop's; NULL: gone on */
	struct lb_fswork *w[LB_TASK_JOBS];           /* opens: the task's until back */
	struct lb_pending *p[LB_TASK_JOBS];          /* creates */
	struct lb_posix_peer *peer[LB_TASK_JOBS];    /* references: the work reads them */
	pthread_mutex_t mu;
	size_t limit, done;
};

/* The append-only file under the audit module. BROKEN: a failed append
 * could not be cut back to CUT_TO, so no later append may follow it
 * until that cut is made (each append tries it again). DEAD: there is
 * no safe file to write (the log was deleted and something else put in
 * its place, or the chain could not be continued in a new file): every
 * append fails until the next file is set up. WHY: the last failure, for
 * the broker's message (it says it once a minute: the file functions stay
 * quiet, or a full disk would write a line per request). PATH, DEV, INO
 * and SIZE (what we wrote) tell whether the file at PATH is still the one
 * we write, whole (rotated, deleted or truncated under us: lb_audit_watch). */
struct lb_audit_file {
	int fd;
	int broken;
	off_t cut_to;
	int dead;
	char why[128];
	char *path;
	dev_t dev;
	ino_t ino;
	uint64_t size;
	ino_t refused_ino;          /* a replacement we would not write into, logged once */
	char begin_why[256];        /* DEAD until this "reopen" record is written */
	int begin_failed;
	int end_failed;             /* moved, and its "rotate" record not written yet: said once */
	int open_failed;            /* moved or deleted, and no new file yet: said once */
};

static void
lb_audit_file_failed(struct lb_audit_file *af, const char *what, int err)
{
	snprintf(af->why, sizeof(af->why), "%s: %s", what, err != 0 ? strerror(err) : "no progress");
}

struct lb_daemon {
	char *config;               /* absolute */
	int foreground;
	struct lb_broker *b;
	struct lb_audit *audit;
	struct lb_audit_file audit_file;
	int lfd;
	char *sock_path;
	ino_t sock_ino;
	struct lb_conn *conns[LB_CLIENTS_CAP];
	size_t n_conns;
	struct pollfd pfd[3 + LB_CLIENTS_CAP];
	struct lb_watch watch;      /* the policy file: when to reload it */
	struct lb_posix_peer_cache peers;   /* recent account lookups */
	size_t n_jobs;              /* requests in flight */
	struct lb_job *fresh[LB_STEP_MAX];   /* prepared in this turn, in order */
	size_t n_fresh;
	struct { uid_t uid; size_t n; } turn[LB_STEP_MAX];   /* frames taken per uid */
	size_t n_turn;
	struct lb_job *sealed[LB_JOBS_MAX];  /* answers to sign in this turn */
	size_t next_first;          /* the connection served first rotates */
	struct lb_pool *pool;       /* signature work of a turn, over the cores */
	struct lb_work *work;       /* file-system work, off the loop */
	struct lb_ftask *tasks;     /* on workers, or back and not yet taken */
	size_t n_tasks;
	int64_t grow_next;          /* when the pool wants lb_work_grow again (-1: never) */
	int64_t next_stat, sync_due, accept_paused_until;
	int dirty;                  /* requests handled since the last sync */
	unsigned long sync_failed;  /* batch syncs that failed (the broker says so) */
	unsigned long refused_busy, refused_identity, evicted;
	char refused_why[256];      /* the last identity refusal, logged once a second */
	char reload_refused[512];   /* the last policy refusal: logged once while it stays */
	unsigned long reload_refused_n;   /* the same refusal again since */
	int stop, exit_code;
};

static int lb_sigpipe[2] = { -1, -1 };

static void lb_audit_watch(struct lb_daemon *d, int rotate);

static void
lb_on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int e = errno;

	if (write(lb_sigpipe[1], &c, 1) < 0) {
		/* full pipe: a signal is already pending */
	}
	errno = e;
}

static int64_t
lb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct lb_broker_cfg *
lb_cfg(const struct lb_daemon *d)
{
	return &lb_broker_policy(d->b)->broker;
}

/* ---- audit log file ---- */

static int
lb_audit_append_fd(void *ctx, const void *p, size_t n)
{
	struct lb_audit_file *af = ctx;
	const unsigned char *s = p;
	off_t start;
	size_t off = 0;

	if (af->dead) {
		snprintf(af->why, sizeof(af->why), "no file to write: the log was deleted or replaced "
		    "under the broker");
		return LB_E_IO;
	}
	if (af->broken) {
		/* The part of a line a failed append left: cut it now, or
		 * still nothing may follow it. */
		if (ftruncate(af->fd, af->cut_to) != 0) {
			lb_audit_file_failed(af, "cannot cut a partial line", errno);
			return LB_E_IO;
		}
		af->broken = 0;
		syslog(LOG_NOTICE, "audit log: the partial line of a failed write is cut");
	}
	if ((start = lseek(af->fd, 0, SEEK_END)) < 0) {
		lb_audit_file_failed(af, "lseek", errno);
		return LB_E_IO;
	}
	while (off < n) {
		ssize_t w = write(af->fd, s + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			lb_audit_file_failed(af, "write", w < 0 ? errno : 0);
			/* Never leave part of a line: the next append writes the
			 * same record again. */
			if (off > 0 && ftruncate(af->fd, start) != 0) {
				syslog(LOG_CRIT, "audit log: cannot cut a partial line: %s; "
				    "refusing all requests until it can", strerror(errno));
				af->broken = 1;
				af->cut_to = start;
			}
			return LB_E_IO;
		}
		off += (size_t)w;
	}
	af->size = (uint64_t)start + n;
	return LB_OK;
}

static int
lb_audit_sync_fd(void *ctx)
{
	struct lb_audit_file *af = ctx;

	if (fdatasync(af->fd) != 0) {
		lb_audit_file_failed(af, "fdatasync", errno);
		return LB_E_IO;
	}
	return LB_OK;
}

/* lb_audit_io.rewrite: after a failed fdatasync, P (what was appended
 * since the last good one) written again at OFF with pwrite, which needs
 * O_APPEND off for a moment (Linux appends a pwrite on an O_APPEND file),
 * the file cut to its end, then synced. */
static int
lb_audit_rewrite_fd(void *ctx, uint64_t off, const void *p, size_t n)
{
	struct lb_audit_file *af = ctx;
	const unsigned char *s = p;
	struct stat st;
	size_t done = 0;
	int fl, rc = LB_E_IO;

	/* off_t is 64 bits (_FILE_OFFSET_BITS or a 64-bit system): the log is
	 * far below its range. */
	if (off > (uint64_t)INT64_MAX / 2 || n > (size_t)INT32_MAX)
		return LB_E_RANGE;
	/* Shorter than what we know was there: not our file any more. */
	if (fstat(af->fd, &st) != 0 || (uint64_t)st.st_size < off) {
		lb_audit_file_failed(af, "the file is shorter than what was written to it", 0);
		return LB_E_IO;
	}
	if ((fl = fcntl(af->fd, F_GETFL)) < 0 || fcntl(af->fd, F_SETFL, fl & ~O_APPEND) != 0) {
		lb_audit_file_failed(af, "fcntl", errno);
		return LB_E_IO;
	}
	while (done < n) {
		ssize_t w = pwrite(af->fd, s + done, n - done, (off_t)(off + done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			lb_audit_file_failed(af, "write again", w < 0 ? errno : 0);
			goto out;
		}
		done += (size_t)w;
	}
	if (ftruncate(af->fd, (off_t)(off + n)) != 0) {
		lb_audit_file_failed(af, "cut", errno);
		goto out;
	}
	if (fdatasync(af->fd) != 0) {
		lb_audit_file_failed(af, "fdatasync", errno);
		goto out;
	}
	af->broken = 0;   /* whatever was past the end is cut too */
	rc = LB_OK;
out:
	if (fcntl(af->fd, F_SETFL, fl) != 0) {
		/* Without O_APPEND a later write could land elsewhere: fail. */
		lb_audit_file_failed(af, "fcntl O_APPEND", errno);
		af->broken = 1;
		af->cut_to = (off_t)(off + n);
		rc = LB_E_IO;
	}
	return rc;
}

static const char *
lb_audit_why_fd(void *ctx)
{
	const struct lb_audit_file *af = ctx;

	return af->why;
}

static int
lb_audit_size_fd(void *ctx, uint64_t *size)
{
	struct lb_audit_file *af = ctx;
	struct stat st;

	if (fstat(af->fd, &st) != 0)
		return LB_E_IO;
	*size = (uint64_t)st.st_size;
	return LB_OK;
}

static int
lb_open_audit_file(const char *path, int *out)
{
	char err[512];
	struct stat st;
	int fd, r;

	if ((r = lb_posix_ensure_parent(path, 0700, err, sizeof(err))) != LB_OK) {
		syslog(LOG_ERR, "audit log: %s", err);
		return r;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0) {
		syslog(LOG_ERR, "cannot open the audit log %s: %s", path, strerror(errno));
		return LB_E_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0) {
		syslog(LOG_ERR, "the audit log %s must be a regular file owned by root", path);
		close(fd);
		return LB_E_PERM;
	}
	if ((st.st_mode & 077) != 0 && fchmod(fd, 0600) != 0) {
		syslog(LOG_ERR, "audit log %s: chmod 0600: %s", path, strerror(errno));
		close(fd);
		return LB_E_IO;
	}
	*out = fd;
	return LB_OK;
}

/* Remember which file FD is, and how long, to notice it change under us. */
static int
lb_audit_file_set(struct lb_audit_file *af, int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return LB_E_IO;
	af->fd = fd;
	af->dev = st.st_dev;
	af->ino = st.st_ino;
	af->size = (uint64_t)st.st_size;
	return LB_OK;
}

enum lb_log_state { LB_LOG_SAME, LB_LOG_MOVED, LB_LOG_DELETED, LB_LOG_TRUNCATED };

/* What became of the file we append to: still at PATH and whole; moved
 * away from PATH (logrotate's rename, then maybe a new file there);
 * deleted (no name left); or shorter than we wrote (copytruncate). */
static enum lb_log_state
lb_audit_file_state(const struct lb_audit_file *af, uint64_t *size)
{
	struct stat fst, pst;

	*size = af->size;
	if (af->fd < 0 || fstat(af->fd, &fst) != 0)
		return LB_LOG_SAME;   /* cannot tell: the append says */
	*size = (uint64_t)fst.st_size;
	if (fst.st_nlink == 0)
		return LB_LOG_DELETED;
	if (stat(af->path, &pst) != 0 || pst.st_dev != fst.st_dev || pst.st_ino != fst.st_ino)
		return LB_LOG_MOVED;
	if ((uint64_t)fst.st_size < af->size)
		return LB_LOG_TRUNCATED;
	return LB_LOG_SAME;
}

/* Whether the file we write has lost its last name. */
static int
lb_audit_file_gone(const struct lb_audit_file *af)
{
	struct stat st;

	return af->fd >= 0 && fstat(af->fd, &st) == 0 && st.st_nlink == 0;
}

/* ---- the socket ---- */

static int
lb_listen(struct lb_daemon *d, const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	char err[512];
	int fd = -1, r;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		syslog(LOG_ERR, "endpoint %s: longer than a socket path may be", path);
		return LB_E_PATH_LONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((r = lb_posix_ensure_parent(path, 0755, err, sizeof(err))) != LB_OK) {
		syslog(LOG_ERR, "endpoint: %s", err);
		return r;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			syslog(LOG_ERR, "endpoint %s exists and is not a socket; not touching it", path);
			close(fd);
			return LB_E_EXISTS;
		}
		/* A live broker answers connect(); a stale socket refuses. */
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
			int live = connect(probe, (const struct sockaddr *)&sa, sizeof(sa)) == 0;

			close(probe);
			if (live) {
				syslog(LOG_ERR, "another broker is listening on %s", path);
				close(fd);
				return LB_E_EXISTS;
			}
		}
		if (unlink(path) != 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail;
	/* Any local user may connect; who they are comes from SO_PEERCRED. */
	if (chmod(path, 0666) != 0 || lstat(path, &st) != 0)
		goto fail;
	if (listen(fd, SOMAXCONN) != 0)
		goto fail;
	if ((d->sock_path = lb_strdup(path)) == NULL) {
		close(fd);
		return LB_E_NOMEM;
	}
	d->sock_ino = st.st_ino;
	d->lfd = fd;
	return LB_OK;
fail:
	syslog(LOG_ERR, "endpoint %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return LB_E_IO;
}

/* ---- connections ---- */

static void
lb_conn_close(struct lb_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void
lb_conn_free(struct lb_conn *c)
{
	if (c == NULL)
		return;
	lb_conn_close(c);
	lb_posix_peer_free(c->peer);
	free(c->in);
	lb_buf_free(&c->out);
	free(c);
}

static size_t
lb_per_uid_max(const struct lb_daemon *d)
{
	size_t m = lb_cfg(d)->max_clients / 4;

	return m < 2 ? 2 : m;
}

/* Slots kept for identities that hold no connection yet: a uid that has
 * some may not take these. */
static size_t
lb_reserve(const struct lb_daemon *d)
{
	size_t m = lb_cfg(d)->max_clients / 8;

	return m < 1 ? 1 : m;
}

/* The full broker's answer to a connection it will not serve: "busy, try
 * again in a moment" (unsigned, zero nonce: docs/protocol.md), written
 * without waiting (a new socket's buffer has room), then closed. Never
 * silence: the client backs off and retries instead of failing. */
static void
lb_refuse_busy(int fd)
{
	struct lb_buf out;

	lb_buf_init(&out, LB_FRAME_HDR + LB_BUSY_LEN);
	if (lb_busy_frame(&out, NULL, LB_E_BUSY, 50) == LB_OK &&
	    send(fd, out.data, out.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the client went away: nothing to tell */
	}
	lb_buf_free(&out);
}

/* Make room for a uid that holds no connection: close one idle
 * connection (nothing half read, nothing to send, no request in the
 * round) of the uid holding the most, if it holds more than one. Then no
 * set of accounts smaller than max_clients can keep a newcomer out. */
static int
lb_evict_for_newcomer(struct lb_daemon *d)
{
	size_t i, j, n, best_n = 1;
	struct lb_conn *victim = NULL;

	for (i = 0; i < d->n_conns; i++) {
		struct lb_conn *c = d->conns[i];

		if (c->fd < 0 || c->head != NULL || c->in_len > 0 || c->out.len > c->out_off)
			continue;
		for (n = 0, j = 0; j < d->n_conns; j++)
			n += d->conns[j]->fd >= 0 && d->conns[j]->uid == c->uid;
		if (n > best_n) {
			best_n = n;
			victim = c;
		}
	}
	if (victim == NULL)
		return 0;
	d->evicted++;
	lb_refuse_busy(victim->fd);
	lb_conn_close(victim);
	return 1;
}

static void
lb_accept_one(struct lb_daemon *d, int fd, int64_t now)
{
	struct lb_conn *c = NULL;
	char err[256];
	uid_t uid;
	size_t i, live = 0, same = 0;

	if (lb_posix_peer_uid(fd, &uid, err, sizeof(err)) != LB_OK) {
		d->refused_identity++;
		snprintf(d->refused_why, sizeof(d->refused_why), "%s", err);
		goto drop;
	}
	/* Limits before any account lookup: a flood costs us little. Only open
	 * connections count against max_clients: those closed in this round
	 * are still in the table until it is compacted, and counting them let
	 * a user who reconnects at once hold twice its share of the total. */
	for (i = 0; i < d->n_conns; i++) {
		if (d->conns[i]->fd < 0)
			continue;
		live++;
		if (d->conns[i]->uid == uid)
			same++;
	}
	/* A uid may hold up to a quarter of the slots, but not the last few
	 * (kept for uids with none); a uid with none gets a slot even when
	 * the table is full, from the uid holding the most. */
	if (same >= lb_per_uid_max(d) ||
	    (same > 0 && live + lb_reserve(d) >= lb_cfg(d)->max_clients) ||
	    (live >= lb_cfg(d)->max_clients && (same > 0 || !lb_evict_for_newcomer(d))) ||
	    d->n_conns >= LB_CLIENTS_CAP) {
		d->refused_busy++;
		lb_refuse_busy(fd);
		goto drop;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		d->refused_busy++;
		goto drop;
	}
	c->fd = -1;   /* FD is closed below until the connection is complete */
	lb_buf_init(&c->out, LB_OUT_MAX);
	if ((c->in = malloc(LB_IN_CAP)) == NULL)
		goto drop;
	if (lb_posix_peer_lookup(&d->peers, uid, now, &c->peer, err, sizeof(err)) != LB_OK) {
		d->refused_identity++;
		snprintf(d->refused_why, sizeof(d->refused_why), "%s", err);
		goto drop;
	}
	c->fd = fd;
	c->uid = uid;
	c->deadline = now + lb_cfg(d)->io_timeout_ms;
	d->conns[d->n_conns++] = c;
	return;
drop:
	lb_conn_free(c);
	close(fd);
}

static void
lb_accept(struct lb_daemon *d, int64_t now)
{
	int k, fd;

	for (k = 0; k < LB_ACCEPT_BURST; k++) {
		if ((fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			lb_accept_one(d, fd, now);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Out of descriptors: back off instead of spinning on POLLIN. */
			syslog(LOG_ERR, "accept: %s; pausing new connections", strerror(errno));
			d->accept_paused_until = now + LB_ACCEPT_PAUSE_MS;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			syslog(LOG_ERR, "accept: %s", strerror(errno));
		}
		break;
	}
}

/* Write what is buffered. -1: the connection is gone. */
static int
lb_conn_flush(struct lb_daemon *d, struct lb_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
	}
	if (c->out.len > 0) {
		/* A whole answer went out: that is progress. */
		lb_buf_reset(&c->out);
		c->out_off = 0;
		c->deadline = lb_now_ms() + lb_cfg(d)->io_timeout_ms;
	}
	return 0;
}

/* The account may have changed since the connection was made (renamed,
 * deleted, groups changed: docs/policy.md): a request is decided on what
 * the account database says when it is taken, through the cache, which
 * forgets everything once /etc/passwd or /etc/group change. Requests in
 * flight keep the identity they were taken with (each holds a reference).
 * -1: the uid has no account any more; the connection is closed. */
static int
lb_conn_refresh_peer(struct lb_daemon *d, struct lb_conn *c)
{
	struct lb_posix_peer *np = NULL;
	char err[256];

	if (lb_posix_peer_lookup(&d->peers, c->uid, lb_now_ms(), &np, err, sizeof(err)) != LB_OK) {
		syslog(LOG_WARNING, "%s: %s; connection closed", c->peer->peer.id, err);
		return -1;
	}
	lb_posix_peer_free(c->peer);
	c->peer = np;
	return 0;
}

static struct lb_posix_peer *
lb_peer_hold(struct lb_posix_peer *p)
{
	p->refs++;   /* the loop's thread only, as every reference */
	return p;
}

/* Prepare the requests whose frames are complete (lb_broker_prepare),
 * while the connection's output stays below the mark and there is room;
 * lb_jobs_step takes them on. -1: close the connection. */
static int
lb_conn_take(struct lb_daemon *d, struct lb_conn *c)
{
	size_t off = 0, mlen, t;
	const uint8_t *msg;
	struct lb_job *j;
	int r;

	/* This uid's intake in this turn (it has one once it took a frame:
	 * LB_STEP_MAX slots hold every uid that can). */
	t = 0;
	while (t < d->n_turn && d->turn[t].uid != c->uid)
		t++;
	if (t == d->n_turn) {
		if (t == LB_STEP_MAX)
			return 0;
		d->turn[t].uid = c->uid;
		d->turn[t].n = 0;
	}
	while (c->out.len - c->out_off < LB_OUT_HIGH && c->n_jobs < LB_JOBS_PER_CONN &&
	    d->n_jobs < LB_JOBS_MAX && d->n_fresh < LB_STEP_MAX && d->turn[t].n < LB_TURN_PER_UID &&
	    (r = lb_serve_frame(&c->in_len, &off, c->in, &msg, &mlen)) != 0) {
		if (r < 0) {
			/* Not our protocol: answer the requests before it
			 * (they may have made links), read no more, close once
			 * the answers are out. */
			c->eof = 1;
			break;
		}
		if (lb_conn_refresh_peer(d, c) != 0)
			return -1;
		if ((j = calloc(1, sizeof(*j))) == NULL) {
			syslog(LOG_ERR, "request from %s not answered: out of memory; connection closed",
			    c->peer->peer.id);
			return -1;
		}
		j->peer = lb_peer_hold(c->peer);
		if ((r = lb_broker_prepare(d->b, &j->peer->peer, msg, mlen, (uint64_t)time(NULL),
		    &j->p)) != LB_OK) {
			syslog(LOG_ERR, "request from %s not answered: %s; connection closed",
			    c->peer->peer.id, lb_strerror(r));
			lb_posix_peer_free(j->peer);
			free(j);
			return -1;
		}
		j->c = c;
		j->st = LB_JS_NEW;
		if (c->tail != NULL)
			c->tail->next = j;
		else
			c->head = j;
		c->tail = j;
		c->n_jobs++;
		d->n_jobs++;
		d->fresh[d->n_fresh++] = j;
		if (d->turn[t].n++ == 0)
			d->n_turn = t + 1 > d->n_turn ? t + 1 : d->n_turn;
		c->deadline = lb_now_ms() + lb_cfg(d)->io_timeout_ms;
	}
	lb_serve_frames_done(c->in, &c->in_len, off);
	return 0;
}

static void
lb_job_precheck(void *ctx, size_t i)
{
	struct lb_daemon *d = ctx;

	lb_broker_precheck(d->fresh[i]->p);
}

static void
lb_job_sign(void *ctx, size_t i)
{
	struct lb_daemon *d = ctx;
	struct lb_job *j = d->sealed[i];

	if (lb_broker_sign(d->b, j->p) == LB_OK)
		j->st = LB_JS_SIGNED;   /* else MADE still: dropped below */
}

/* A request that cannot be answered (the audit log cannot be written:
 * fail closed) ends its connection. Never one on a worker. */
static void
lb_job_drop(struct lb_job *j, int r)
{
	if (j->c->fd >= 0)
		syslog(LOG_ERR, "request from %s not answered: %s; connection closed",
		    j->c->peer->peer.id, lb_strerror(r));
	j->st = LB_JS_DEAD;
	lb_conn_close(j->c);
}

static void
lb_job_free(struct lb_daemon *d, struct lb_job *j)
{
	lb_fswork_free(j->w);
	lb_broker_pending_free(d->b, j->p);
	lb_posix_peer_free(j->peer);
	free(j);
	d->n_jobs--;
}

/* J's decision (W its opens' results, NULL: none), recorded. */
static void
lb_job_decide(struct lb_daemon *d, struct lb_job *j, struct lb_fswork *w)
{
	int r;

	j->fresh = 1;
	if ((r = lb_broker_decide(d->b, j->p, w)) != LB_OK)
		lb_job_drop(j, r);
	else
		j->st = LB_JS_DECIDED;
}

static void
lb_job_timeout(struct lb_daemon *d, struct lb_job *j)
{
	int r;

	j->fresh = 1;
	if ((r = lb_broker_timeout(d->b, j->p)) != LB_OK)
		lb_job_drop(j, r);
	else
		j->st = LB_JS_DECIDED;
}

static void
lb_job_made(struct lb_daemon *d, struct lb_job *j)
{
	int r;

	j->fresh = 1;
	if ((r = lb_broker_make_end(d->b, j->p)) != LB_OK)
		lb_job_drop(j, r);
	else
		j->st = LB_JS_MADE;
}

/* ---- file-system tasks ---- */

static void
lb_ftask_run(struct lb_task *tk)
{
	struct lb_ftask *t = (struct lb_ftask *)tk;
	size_t i;

	for (i = 0;; i++) {
		pthread_mutex_lock(&t->mu);
		if (i >= t->limit) {
			pthread_mutex_unlock(&t->mu);
			break;
		}
		t->item_since = lb_now_ms();
		pthread_mutex_unlock(&t->mu);
		if (t->make)
			lb_broker_make_run(t->p[i]);
		else
			lb_fswork_run(t->w[i]);
		pthread_mutex_lock(&t->mu);
		t->done = i + 1;
		t->item_since = 0;
		pthread_mutex_unlock(&t->mu);
	}
}

static void
lb_ftask_free(struct lb_daemon *d, struct lb_ftask *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		lb_fswork_free(t->w[i]);
		lb_posix_peer_free(t->peer[i]);
	}
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		d->tasks = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	d->n_tasks--;
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* Item I of T, not started and never to be: back to its connection. */
static void
lb_ftask_give_back(struct lb_ftask *t, size_t i)
{
	struct lb_job *j = t->job[i];

	t->job[i] = NULL;
	if (j == NULL)
		return;
	if (t->make) {
		j->st = LB_JS_WAIT_MAKE;
	} else {
		j->w = t->w[i];
		t->w[i] = NULL;
		j->st = LB_JS_WAIT_FS;
	}
}

/* T came back from its worker. */
static void
lb_ftask_back(struct lb_daemon *d, struct lb_ftask *t)
{
	struct lb_job *j;
	size_t i;

	if (t->c != NULL && t->c->task == t)
		t->c->task = NULL;
	for (i = 0; i < t->n; i++) {
		if ((j = t->job[i]) == NULL)
			continue;
		if (i >= t->done) {
			lb_ftask_give_back(t, i);   /* LIMIT lowered, then no timeout after all */
		} else if (t->make) {
			lb_job_made(d, j);
		} else {
			lb_job_decide(d, j, t->w[i]);
			t->w[i] = NULL;
		}
		t->job[i] = NULL;
	}
	lb_ftask_free(d, t);
}

/* An attached task of opens whose oldest unfinished request is past its
 * deadline: that one is answered "timed out" and left to the worker, the
 * finished ones decided, the rest given back (deadlines only grow along a
 * connection's requests: they are admitted in order). */
static void
lb_ftask_check(struct lb_daemon *d, struct lb_ftask *t, int64_t now)
{
	struct lb_job *j;
	size_t i, done;

	pthread_mutex_lock(&t->mu);
	done = t->done;
	pthread_mutex_unlock(&t->mu);
	if (done >= t->n || (j = t->job[done]) == NULL || j->due > now)
		return;
	pthread_mutex_lock(&t->mu);
	done = t->done;
	if (t->limit > done + 1)
		t->limit = done + 1;
	pthread_mutex_unlock(&t->mu);
	for (i = done + 1; i < t->n; i++)
		lb_ftask_give_back(t, i);
	if (done >= t->n || (j = t->job[done]) == NULL || j->due > now)
		return;   /* it finished meanwhile: the task comes back as usual */
	for (i = 0; i < done; i++) {
		if (t->job[i] != NULL)
			lb_job_decide(d, t->job[i], t->w[i]);
		t->job[i] = NULL;
		t->w[i] = NULL;
	}
	t->job[done] = NULL;
	lb_job_timeout(d, j);
	syslog(LOG_WARNING, "request from %s: the file system did not answer within %lu ms; "
	    "answered \"timed out\", its worker left to the kernel", j->peer->peer.id,
	    (unsigned long)lb_cfg(d)->io_timeout_ms);
	t->c->task = NULL;
	t->c = NULL;
}

/* Whether UID may have one more task at NOW (LB_TASKS_PER_UID*). */
static int
lb_uid_may_submit(const struct lb_daemon *d, uid_t uid, int64_t now)
{
	struct lb_ftask *t;
	size_t n = 0, slow = 0;
	int64_t since;

	for (t = d->tasks; t != NULL; t = t->next) {
		if (t->uid != uid)
			continue;
		n++;
		pthread_mutex_lock(&t->mu);
		since = t->item_since;
		pthread_mutex_unlock(&t->mu);
		slow += since != 0 && now - since >= LB_TASK_SLOW_MS;
	}
	return n < LB_TASKS_PER_UID_MAX && slow < LB_TASKS_PER_UID;
}

/* C's next file-system work, on a worker: its first requests waiting for
 * one, of one kind (opens or creates), in order. */
static void
lb_conn_submit(struct lb_daemon *d, struct lb_conn *c)
{
	struct lb_ftask *t;
	struct lb_job *j;
	enum lb_js want = LB_JS_DEAD;
	size_t i;

	if (c->task != NULL || d->n_tasks >= LB_TASKS_MAX)
		return;
	for (j = c->head; j != NULL && want == LB_JS_DEAD; j = j->next)
		if (j->st == LB_JS_WAIT_FS || j->st == LB_JS_WAIT_MAKE)
			want = j->st;
	if (want == LB_JS_DEAD || !lb_uid_may_submit(d, c->uid, lb_now_ms()))
		return;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return;   /* tried again next turn; the deadlines still hold */
	pthread_mutex_init(&t->mu, NULL);
	t->t.fn = lb_ftask_run;
	t->c = c;
	t->uid = c->uid;
	t->make = want == LB_JS_WAIT_MAKE;
	for (j = c->head; j != NULL && t->n < LB_TASK_JOBS; j = j->next) {
		if (j->st == LB_JS_WAIT_FS || j->st == LB_JS_WAIT_MAKE) {
			if (j->st != want)
				break;   /* the other kind waits for this task */
			t->job[t->n] = j;
			t->peer[t->n] = lb_peer_hold(j->peer);
			if (t->make) {
				t->p[t->n] = j->p;
				j->st = LB_JS_MAKING;
			} else {
				t->w[t->n] = j->w;
				j->w = NULL;
				j->st = LB_JS_FS;
			}
			t->n++;
		}
	}
	t->limit = t->n;
	if ((t->next = d->tasks) != NULL)
		t->next->prev = t;
	d->tasks = t;
	d->n_tasks++;
	if (lb_work_submit(d->work, &t->t) != LB_OK) {
		for (i = 0; i < t->n; i++)
			lb_ftask_give_back(t, i);
		lb_ftask_free(d, t);
		return;
	}
	c->task = t;
}

/* Requests past their deadline that no worker took: answered "timed
 * out" (opens), or not made (creates: recorded as failed). */
static void
lb_conn_timeouts(struct lb_daemon *d, struct lb_conn *c, int64_t now)
{
	struct lb_job *j;

	if (c->task != NULL && !c->task->make)
		lb_ftask_check(d, c->task, now);
	for (j = c->head; j != NULL; j = j->next) {
		if (j->due > now)
			continue;
		if (j->st == LB_JS_WAIT_FS) {
			lb_fswork_free(j->w);
			j->w = NULL;
			lb_job_timeout(d, j);
		} else if (j->st == LB_JS_WAIT_MAKE) {
			lb_broker_make_cancel(j->p, LB_E_FS_TIMEOUT);
			lb_job_made(d, j);
		}
	}
}

/* The decisions recorded since the last call go on: dropped if the log
 * they went to was deleted meanwhile (the next turn starts a new file),
 * made durable together (audit_sync = always: one fdatasync before any of
 * their links is made; if it fails, each request that needed it is
 * refused by the broker, nothing made, "the audit log cannot be written",
 * until the log is repaired: docs/audit.md), their creates handed to the
 * workers, each connection's next task started. */
static void
lb_jobs_advance(struct lb_daemon *d)
{
	size_t i, k, n = d->n_conns;
	struct lb_job *j;
	int r, decided = 0, gone = lb_audit_file_gone(&d->audit_file);

	for (i = 0; i < n; i++) {
		for (j = d->conns[i]->head; j != NULL; j = j->next) {
			if (j->fresh && j->st != LB_JS_DEAD && gone)
				lb_job_drop(j, LB_E_AUDIT);
			j->fresh = 0;
			decided |= j->st == LB_JS_DECIDED;
		}
	}
	if (decided && lb_broker_flush(d->b) != LB_OK)
		d->sync_failed++;
	for (i = 0; i < n; i++) {
		for (j = d->conns[i]->head; j != NULL; j = j->next) {
			if (j->st != LB_JS_DECIDED)
				continue;
			if ((r = lb_broker_make_begin(d->b, j->p)) < 0)
				lb_job_drop(j, r);
			else
				j->st = r > 0 ? LB_JS_WAIT_MAKE : LB_JS_MADE;
		}
	}
	for (k = 0; k < n; k++)
		lb_conn_submit(d, d->conns[(d->next_first + k) % n]);
}

/* Each turn of the loop: finished file-system work taken back and
 * deadlines enforced first (so that work already under way goes on before
 * this turn's new frames are looked at), then the requests taken in this
 * turn admitted (signatures checked ahead over the cores), then answers
 * sealed, signed over the cores and queued in each connection's order.
 * Nothing here waits for the file system. */
static void
lb_jobs_step(struct lb_daemon *d)
{
	int64_t now = lb_now_ms();
	struct lb_task *tk, *next;
	struct lb_fswork *w;
	struct lb_conn *c;
	struct lb_job *j;
	size_t i, n = d->n_conns, n_sealed = 0;
	int r, grow;

	if (d->n_jobs > 0) {
		/* The log's file as it is now: never this turn's records into
		 * a file that was deleted, rotated or truncated since the
		 * last. */
		lb_audit_watch(d, 0);
		if (!d->dirty) {
			d->dirty = 1;
			d->sync_due = now + LB_SYNC_MS;
		}
	}
	for (tk = lb_work_done(d->work); tk != NULL; tk = next) {
		next = tk->next;
		lb_ftask_back(d, (struct lb_ftask *)tk);
	}
	grow = lb_work_grow(d->work, now, &d->grow_next);
	if (grow)
		syslog(LOG_NOTICE, "file-system work: %zu workers (the others are busy or stuck)",
		    lb_work_threads(d->work));
	if (d->n_jobs == 0)
		return;
	for (i = 0; i < n; i++)
		lb_conn_timeouts(d, d->conns[i], now);
	lb_jobs_advance(d);
	lb_pool_run(d->pool, lb_job_precheck, d, d->n_fresh);
	for (i = 0; i < d->n_fresh; i++) {
		j = d->fresh[i];
		if (j->c->fd < 0) {
			j->st = LB_JS_DEAD;   /* nobody to answer: never admitted */
			continue;
		}
		w = NULL;
		if ((r = lb_broker_admit(d->b, j->p, &w)) != LB_OK) {
			lb_job_drop(j, r);
		} else if (w != NULL) {
			j->w = w;
			j->due = now + lb_cfg(d)->io_timeout_ms;
			j->st = LB_JS_WAIT_FS;
		} else {
			lb_job_decide(d, j, NULL);
		}
	}
	d->n_fresh = 0;
	lb_jobs_advance(d);
	/* Answers: sealed (one fdatasync for the records they need), signed
	 * over the cores, queued in order. */
	for (i = 0; i < n; i++) {
		for (j = d->conns[i]->head; j != NULL; j = j->next) {
			if (j->st != LB_JS_MADE)
				continue;
			if ((r = lb_broker_seal(d->b, j->p)) != LB_OK)
				lb_job_drop(j, r);
			else
				d->sealed[n_sealed++] = j;
		}
	}
	lb_pool_run(d->pool, lb_job_sign, d, n_sealed);
	for (i = 0; i < n; i++) {
		c = d->conns[i];
		while ((j = c->head) != NULL && j->st >= LB_JS_MADE) {
			if (j->st == LB_JS_MADE)
				lb_job_drop(j, LB_E_IO);   /* not signed */
			else if (j->st == LB_JS_SIGNED && c->fd >= 0 &&
			    lb_broker_deliver(j->p, &c->out) != LB_OK)
				lb_job_drop(j, LB_E_IO);   /* not queued */
			if ((c->head = j->next) == NULL)
				c->tail = NULL;
			c->n_jobs--;
			lb_job_free(d, j);
		}
	}
}

/* The earliest deadline of a request waiting for, or on, a worker; and
 * when the work pool wants to look at its queue again (lb_work_grow). */
static int64_t
lb_jobs_next(const struct lb_daemon *d, int64_t next)
{
	const struct lb_job *j;
	size_t i;

	for (i = 0; i < d->n_conns; i++)
		for (j = d->conns[i]->head; j != NULL; j = j->next)
			if ((j->st == LB_JS_WAIT_FS || j->st == LB_JS_FS || j->st == LB_JS_WAIT_MAKE) &&
			    j->due < next)
				next = j->due;
	/* Only while tasks wait for a worker: a stuck one alone wakes nobody. */
	if (d->grow_next >= 0 && d->grow_next < next)
		next = d->grow_next;
	return next;
}

/* Whether C has a request to take in the next turn without waiting for
 * any event: a whole frame (or a bad one) already read, and room for it
 * and its answer. */
static int
lb_conn_ready(const struct lb_daemon *d, const struct lb_conn *c)
{
	const uint8_t *msg;
	size_t mlen, used;

	return c->fd >= 0 && c->in_len > 0 && c->out.len - c->out_off < LB_OUT_HIGH &&
	    c->n_jobs < LB_JOBS_PER_CONN && d->n_jobs < LB_JOBS_MAX &&
	    lb_frame_parse(c->in, c->in_len, &msg, &mlen, &used) != LB_E_SHORT;
}

/* After the turn: write what is queued, and decide whether the
 * connection stays. -1: close it. */
static int
lb_conn_settle(struct lb_daemon *d, struct lb_conn *c)
{
	if (lb_conn_flush(d, c) != 0)
		return -1;
	if (c->eof && c->head == NULL && !lb_conn_ready(d, c)) {
		/* The peer finished sending: answer what it sent, then close.
		 * Half a frame left over can never complete. */
		if (c->in_len > 0 && c->out.len - c->out_off < LB_OUT_HIGH)
			return -1;
		if (c->out.len - c->out_off == 0)
			return -1;
	}
	return 0;
}

static int
lb_conn_recv(struct lb_conn *c)
{
	ssize_t n;

	if (!c->eof && c->in_len < LB_IN_CAP) {
		n = recv(c->fd, c->in + c->in_len, LB_IN_CAP - c->in_len, MSG_DONTWAIT);
		if (n > 0)
			c->in_len += (size_t)n;
		else if (n == 0)
			c->eof = 1;
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
	}
	return 0;
}

static short
lb_conn_events(const struct lb_conn *c)
{
	short ev = 0;
	size_t pending = c->out.len - c->out_off;

	if (!c->eof && pending < LB_OUT_HIGH && c->in_len < LB_IN_CAP)
		ev |= POLLIN;
	if (pending > 0)
		ev |= POLLOUT;
	return ev;
}

/* Closed connections go once nothing of theirs is in flight (a task's
 * work, a request waiting for its answer). */
static void
lb_conns_compact(struct lb_daemon *d)
{
	size_t i, j = 0;

	for (i = 0; i < d->n_conns; i++) {
		struct lb_conn *c = d->conns[i];

		if (c->fd < 0 && c->head == NULL && c->task == NULL)
			lb_conn_free(c);
		else
			d->conns[j++] = c;
	}
	d->n_conns = j;
}

/* ---- policy reload ---- */

/* The policy file's fingerprint for lb_watch: NULL if it cannot be seen. */
struct lb_fp {
	uint64_t dev, ino, size, mtime_s, mtime_ns, ctime_s, ctime_ns;
};

static const struct lb_fp *
lb_policy_fp(const char *path, struct lb_fp *fp)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return NULL;
	memset(fp, 0, sizeof(*fp));
	fp->dev = (uint64_t)st.st_dev;
	fp->ino = (uint64_t)st.st_ino;
	fp->size = (uint64_t)st.st_size;
	fp->mtime_s = (uint64_t)st.st_mtim.tv_sec;
	fp->mtime_ns = (uint64_t)st.st_mtim.tv_nsec;
	fp->ctime_s = (uint64_t)st.st_ctim.tv_sec;
	fp->ctime_ns = (uint64_t)st.st_ctim.tv_nsec;
	return fp;
}

static void
lb_reload(struct lb_daemon *d, const char *why)
{
	struct lb_fp fp;
	const struct lb_broker_cfg *old = lb_cfg(d);
	struct lb_policy *np = NULL;
	struct lb_buf err;
	const char *msg;
	int r, moved;

	lb_watch_loaded(&d->watch, lb_policy_fp(d->config, &fp), sizeof(fp));
	lb_buf_init(&err, 64 * 1024);
	if ((r = lb_posix_load_policy(d->config, &np, &err)) != LB_OK) {
		if (lb_buf_cstr(&err, &msg) != LB_OK || msg[0] == '\0')
			msg = lb_strerror(r);
		/* Once per reason: a SIGHUP storm on a refused file (or a
		 * user who keeps touching it) must not flood the log. */
		if (strncmp(msg, d->reload_refused, sizeof(d->reload_refused) - 1) == 0) {
			d->reload_refused_n++;
			goto out;
		}
		lb_posix_log(LB_EVENT_POLICY_REFUSED, "policy reload (%s) failed, the previous policy "
		    "stays in force: %s", why, msg);
		snprintf(d->reload_refused, sizeof(d->reload_refused), "%s", msg);
		d->reload_refused_n = 0;
		goto out;
	}
	if (d->reload_refused_n > 0)
		syslog(LOG_NOTICE, "policy reload: the last refusal was repeated %lu more times", d->reload_refused_n);
	d->reload_refused[0] = '\0';
	d->reload_refused_n = 0;
	if (lb_serve_keep_floors(np, old, &moved) != LB_OK) {
		lb_posix_log(LB_EVENT_POLICY_REFUSED, "policy reload failed (cannot keep the floors "
		    "of the files in use), the previous policy stays in force");
		lb_policy_free(np);
		goto out;
	}
	if (moved)
		syslog(LOG_WARNING, "policy reload: endpoint, audit_log and service keys change only at restart");
	if (lb_broker_set_policy(d->b, np) != LB_OK) {
		lb_posix_log(LB_EVENT_POLICY_REFUSED, "policy reload failed (out of memory), the "
		    "previous policy stays in force");
		lb_policy_free(np);
		goto out;
	}
	lb_posix_peer_cache_clear(&d->peers);   /* and account lookups afresh */
	lb_posix_log(LB_EVENT_POLICY_RELOADED, "policy reloaded (%s): %s", why, d->config);
out:
	lb_buf_free(&err);
}

static void
lb_watch_policy(struct lb_daemon *d)
{
	struct lb_fp fp;
	const struct lb_fp *now = lb_policy_fp(d->config, &fp);

	if (now == NULL && lb_watch_present(&d->watch))
		syslog(LOG_WARNING, "policy file %s: %s; the current policy stays in force",
		    d->config, strerror(errno));
	if (lb_watch_seen(&d->watch, now, sizeof(fp)))
		lb_reload(d, "file changed");
}

/* The audit log's head (last sequence number and hash) goes to syslog at
 * start and stop: a log cut short afterwards no longer reaches it. */
static void
lb_audit_anchor(struct lb_daemon *d, const char *when)
{
	char head[128];

	if (d->audit == NULL)
		return;
	lb_serve_head(d->audit, head, sizeof(head));
	syslog(LOG_NOTICE, "audit log head %s: %s", when, head);
}

/*
 * The audit log's file against what we think it is (docs/audit.md,
 * "Rotation"). Before each round's appends, each second, and on SIGHUP or
 * SIGUSR1 (ROTATE: `linkbrokerd rotate`, which also rotates a file nobody
 * renamed: to PATH.1, never over one):
 * - moved (logrotate's create: renamed, a new empty file at PATH): the old
 *   file gets a "rotate" record naming PATH, the new one a "reopen" record
 *   chained to it; a non-empty file at PATH is not written into, the old
 *   file (still on disk) is kept;
 * - deleted: a new file at PATH whose "reopen" record says so and chains
 *   to the last record written (which went with the old file);
 * - truncated (copytruncate): a "reopen" record saying so, appended where
 *   the file now ends; seq goes on, never from 1.
 * All loud (LOG_CRIT for damage). If the new records cannot be written
 * (a full disk) or the new file cannot be opened, each second tries again;
 * until a new file's first record is written it is DEAD (every request
 * refused: docs/audit.md, "Rotation").
 */
static void
lb_audit_watch(struct lb_daemon *d, int rotate)
{
	struct lb_audit_file *af = &d->audit_file;
	struct stat st;
	uint64_t size, now = (uint64_t)time(NULL), seq;
	enum lb_log_state state = lb_audit_file_state(af, &size);
	char *old = NULL, why[256];
	size_t n;
	int nfd = -1, r = LB_OK, failed = 0;

	if (d->audit == NULL)
		return;
	/* A new file whose first record could not be written yet (a full
	 * disk): nothing else goes in before it. */
	if (af->begin_why[0] != '\0') {
		af->dead = 0;
		if (lb_audit_begin_file(d->audit, af->begin_why, af->begin_failed, now) == LB_OK) {
			syslog(LOG_NOTICE, "audit log %s: the chain goes on in the new file", af->path);
			af->begin_why[0] = '\0';
		} else {
			af->dead = 1;
		}
		return;
	}
	if (af->dead || af->broken || (state == LB_LOG_SAME && !rotate))
		return;
	lb_audit_head(d->audit, &seq, NULL);
	if (state == LB_LOG_SAME) {
		/* Nobody renamed it: we do, to PATH.1, never over one. */
		n = strlen(af->path) + 3;
		if ((old = malloc(n)) == NULL)
			return;
		snprintf(old, n, "%s.1", af->path);
		if (link(af->path, old) != 0) {
			syslog(LOG_ERR, "audit log rotation: cannot name %s %s: %s (rotate with logrotate, "
			    "which numbers the old files)", af->path, old, strerror(errno));
			goto out;
		}
		if (unlink(af->path) != 0) {
			syslog(LOG_ERR, "audit log rotation: cannot remove %s: %s", af->path, strerror(errno));
			if (unlink(old) != 0)
				syslog(LOG_ERR, "audit log rotation: %s: %s", old, strerror(errno));
			goto out;
		}
		state = LB_LOG_MOVED;
	}
	if (state == LB_LOG_TRUNCATED) {
		syslog(LOG_CRIT, "audit log %s shrank under the broker from %llu to %llu bytes "
		    "(copytruncate?): the records that were not copied are lost; the chain goes on "
		    "from seq %llu (use logrotate's create mode, packaging/logrotate.d/linkbroker)",
		    af->path, (unsigned long long)af->size, (unsigned long long)size,
		    (unsigned long long)seq);
		snprintf(why, sizeof(why), "the file was truncated under the broker from %llu to %llu "
		    "bytes (copytruncate?); the records before this one are in its copy, if it has them",
		    (unsigned long long)af->size, (unsigned long long)size);
		af->size = size;
		/* Never after a cut line: a record starts a line. */
		if (size > 0 && lb_audit_append_fd(af, "\n", 1) != LB_OK)
			r = LB_E_AUDIT;
		if (r == LB_OK)
			r = lb_audit_begin_file(d->audit, why, 1, now);
		goto done;
	}
	/* A replacement we refused stays refused without opening it again. */
	if (state == LB_LOG_MOVED && af->refused_ino != 0 && stat(af->path, &st) == 0 &&
	    st.st_ino == af->refused_ino)
		goto out;
	if (lb_open_audit_file(af->path, &nfd) != LB_OK || fstat(nfd, &st) != 0) {
		/* Tried again each second; meanwhile a deleted file's records
		 * are refused (lb_jobs_step), a moved one's still land in it. */
		if (!af->open_failed)
			syslog(LOG_CRIT, "audit log %s: cannot open a new file after it was %s; "
			    "trying again each second", af->path,
			    state == LB_LOG_DELETED ? "deleted" : "moved");
		af->open_failed = 1;
		if (nfd >= 0)
			close(nfd);
		goto out;
	}
	af->open_failed = 0;
	if (st.st_size != 0) {
		if (state == LB_LOG_DELETED) {
			/* Nowhere safe to write: fail closed. */
			syslog(LOG_CRIT, "audit log %s was deleted under the broker and the file now there "
			    "is not empty: refusing every request until restarted", af->path);
			af->dead = 1;
		} else if (st.st_ino != af->refused_ino) {
			syslog(LOG_CRIT, "audit log %s was replaced by a file that is not empty: not "
			    "writing into it; the records go on in the old file, wherever it was moved",
			    af->path);
			af->refused_ino = st.st_ino;
		}
		close(nfd);
		goto out;
	}
	if (state == LB_LOG_MOVED) {
		/* Cannot be written now (a full disk): the old file goes on,
		 * wherever it was moved, and the next tick tries again. */
		if (lb_audit_end_file(d->audit, af->path, now) != LB_OK) {
			if (!af->end_failed)
				syslog(LOG_ERR, "audit log %s was moved but its last record cannot be "
				    "written (%s): still writing the moved file; trying again each second",
				    af->path, lb_audit_why(d->audit));
			af->end_failed = 1;
			close(nfd);
			goto out;
		}
		af->end_failed = 0;
		snprintf(why, sizeof(why), "rotated");
	} else {
		syslog(LOG_CRIT, "audit log %s was deleted under the broker: records up to seq %llu "
		    "went with it; a new file continues the chain", af->path, (unsigned long long)seq);
		snprintf(why, sizeof(why), "the file before this one was deleted under the broker "
		    "(its last record was seq %llu)", (unsigned long long)seq);
		failed = 1;
	}
	close(af->fd);
	if (lb_audit_file_set(af, nfd) != LB_OK) {
		af->fd = nfd;
		r = LB_E_AUDIT;
		goto done;
	}
	r = lb_audit_begin_file(d->audit, why, failed, now);
	if (r == LB_OK && !failed)
		syslog(LOG_NOTICE, "audit log rotated: the old file ends at seq %llu, %s continues the chain",
		    (unsigned long long)seq + 1, af->path);
done:
	if (r != LB_OK) {
		/* Fail closed, but not for ever: every request is refused until
		 * the new file's first record is written (tried each second). */
		syslog(LOG_CRIT, "audit log %s: cannot continue the chain in the new file (%s); "
		    "refusing every request until it can (tried again each second)", af->path,
		    lb_audit_why(d->audit));
		snprintf(af->begin_why, sizeof(af->begin_why), "%s", why);
		af->begin_failed = failed;
		af->dead = 1;
	}
out:
	free(old);
}

/* ---- the loop ---- */

static void
lb_signals(struct lb_daemon *d)
{
	unsigned char sig[16];
	ssize_t n, i;
	int hup = 0;

	while ((n = read(lb_sigpipe[0], sig, sizeof(sig))) > 0) {
		for (i = 0; i < n; i++) {
			if (sig[i] == SIGHUP) {
				hup = 1;   /* many at once are one reload */
			} else if (sig[i] == SIGUSR1) {
				syslog(LOG_NOTICE, "rotating the audit log (SIGUSR1)");
				lb_audit_watch(d, 1);
			} else if (sig[i] == SIGUSR2) {
				/* logrotate renamed it: a new file, never a rename */
				syslog(LOG_NOTICE, "reopening the audit log (SIGUSR2)");
				lb_audit_watch(d, 0);
			} else if (sig[i] == SIGTERM || sig[i] == SIGINT) {
				syslog(LOG_NOTICE, "stopping on %s", sig[i] == SIGTERM ? "SIGTERM" : "SIGINT");
				d->stop = 1;
			}
		}
	}
	if (hup) {
		lb_reload(d, "SIGHUP");
		lb_audit_watch(d, 0);   /* and a log renamed by logrotate */
	}
}

static void
lb_timers(struct lb_daemon *d, int64_t now)
{
	size_t i;

	/* Silent or slow: its slot goes to others. Not while a request of
	 * it is in flight: that has a deadline of its own. */
	for (i = 0; i < d->n_conns; i++)
		if (d->conns[i]->fd >= 0 && now >= d->conns[i]->deadline && d->conns[i]->head == NULL)
			lb_conn_close(d->conns[i]);
	if (d->dirty && now >= d->sync_due) {
		d->dirty = 0;
		/* After a failed fdatasync the kernel may have dropped the data:
		 * the broker refuses requests until what it appended since the
		 * last good one is written again and synced (lb_broker_tick,
		 * docs/audit.md); it says so once a minute. */
		if (lb_broker_sync(d->b) != LB_OK)
			d->sync_failed++;
	}
	if (now >= d->next_stat) {
		d->next_stat = now + LB_STAT_MS;
		lb_broker_tick(d->b, (uint64_t)time(NULL));
		lb_watch_policy(d);
		lb_audit_watch(d, 0);
		if (d->refused_busy > 0 || d->evicted > 0)
			syslog(LOG_WARNING, "refused %lu connections as busy: too many clients (max_clients %lu, "
			    "per user %zu, %zu kept for new users); closed %lu idle ones of the users "
			    "holding the most, for new users", d->refused_busy,
			    (unsigned long)lb_cfg(d)->max_clients, lb_per_uid_max(d), lb_reserve(d), d->evicted);
		if (d->refused_identity > 0)
			syslog(LOG_WARNING, "refused %lu connections without a usable identity (last: %s)",
			    d->refused_identity, d->refused_why);
		d->refused_busy = 0;
		d->refused_identity = 0;
		d->evicted = 0;
	}
}

static int
lb_poll_timeout(const struct lb_daemon *d, int64_t now)
{
	int64_t next = d->next_stat;
	size_t i;

	if (d->dirty && d->sync_due < next)
		next = d->sync_due;
	if (d->accept_paused_until > now && d->accept_paused_until < next)
		next = d->accept_paused_until;
	for (i = 0; i < d->n_conns; i++) {
		if (d->conns[i]->fd >= 0 && d->conns[i]->head == NULL && d->conns[i]->deadline < next)
			next = d->conns[i]->deadline;
		if (lb_conn_ready(d, d->conns[i]))   /* requests already here wait for no event */
			next = now;
	}
	next = lb_jobs_next(d, next);
	return next <= now ? 0 : (int)(next - now);
}

static void
lb_loop(struct lb_daemon *d)
{
	while (!d->stop) {
		int64_t now = lb_now_ms();
		size_t i, k, n = d->n_conns;
		nfds_t nfds = 0;

		d->pfd[nfds].fd = lb_sigpipe[0];
		d->pfd[nfds++].events = POLLIN;
		d->pfd[nfds].fd = now >= d->accept_paused_until ? d->lfd : -1;
		d->pfd[nfds++].events = POLLIN;
		d->pfd[nfds].fd = lb_work_fd(d->work);   /* file-system work finished */
		d->pfd[nfds++].events = POLLIN;
		for (i = 0; i < n; i++) {
			/* Nothing wanted (its peer done sending, its answers
			 * still in the making): not polled, or a hang-up would
			 * wake us at once, again and again. */
			d->pfd[nfds].events = lb_conn_events(d->conns[i]);
			d->pfd[nfds].fd = d->pfd[nfds].events != 0 ? d->conns[i]->fd : -1;
			d->pfd[nfds++].revents = 0;
		}
		if (poll(d->pfd, nfds, lb_poll_timeout(d, now)) < 0) {
			if (errno == EINTR)
				continue;
			syslog(LOG_ERR, "poll: %s", strerror(errno));
			d->exit_code = LB_EXIT_FAILED;
			break;
		}
		if (d->pfd[0].revents != 0)
			lb_signals(d);
		d->n_turn = 0;
		/* Read and start requests, the first connection taking turns
		 * (a round has room for LB_JOBS_MAX), then answer them all. */
		for (k = 0; k < n; k++) {
			struct lb_conn *c;
			short re;

			i = (d->next_first + k) % n;
			c = d->conns[i];
			re = d->pfd[3 + i].revents;

			if (c->fd < 0)
				continue;
			if ((re & (POLLIN | POLLHUP | POLLERR)) && lb_conn_recv(c) != 0) {
				lb_conn_close(c);
				continue;
			}
			if (c->in_len > 0 && lb_conn_take(d, c) != 0)
				lb_conn_close(c);
		}
		d->next_first = n > 0 ? (d->next_first + 1) % n : 0;
		lb_jobs_step(d);
		for (k = 0; k < n; k++)
			if (d->conns[k]->fd >= 0 && lb_conn_settle(d, d->conns[k]) != 0)
				lb_conn_close(d->conns[k]);
		if (d->pfd[1].fd >= 0 && d->pfd[1].revents != 0)
			lb_accept(d, lb_now_ms());
		lb_timers(d, lb_now_ms());
		lb_conns_compact(d);
	}
}

/* ---- start and stop ---- */

/* At stop: no request is answered any more. Creates on workers are waited
 * for (2 s at most) and their failures recorded; opens are dropped (no
 * decision is recorded for them). A task still in the kernel after that
 * is left behind with what it uses, and said so. */
static void
lb_jobs_drain(struct lb_daemon *d)
{
	int64_t until = lb_now_ms() + 2000;
	struct lb_task *tk, *next;
	struct lb_ftask *t;
	struct lb_job *j;
	size_t i, left = 0;
	int busy;

	for (i = 0; i < d->n_conns; i++)
		lb_conn_close(d->conns[i]);
	while (d->tasks != NULL && lb_now_ms() < until) {
		struct pollfd pfd = { .fd = d->work != NULL ? lb_work_fd(d->work) : -1, .events = POLLIN };

		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			break;
		for (tk = lb_work_done(d->work); tk != NULL; tk = next) {
			next = tk->next;
			t = (struct lb_ftask *)tk;
			if (t->make) {
				lb_ftask_back(d, t);
			} else {
				if (t->c != NULL && t->c->task == t)
					t->c->task = NULL;
				lb_ftask_free(d, t);
			}
		}
	}
	/* Left behind: a task's requests must outlive it (creates use them). */
	for (t = d->tasks; t != NULL; t = t->next) {
		left++;
		for (i = 0; i < t->n; i++)
			if (t->job[i] != NULL && t->make)
				t->job[i]->st = LB_JS_MAKING;
		if (t->c != NULL)
			t->c->task = NULL;
	}
	for (i = 0; i < d->n_conns; i++) {
		struct lb_conn *c = d->conns[i];
		struct lb_job **pp = &c->head;

		while ((j = *pp) != NULL) {
			if (j->st == LB_JS_MAKING) {
				pp = &j->next;   /* a worker still uses it */
				continue;
			}
			*pp = j->next;
			c->n_jobs--;
			lb_job_free(d, j);
		}
		c->tail = NULL;
		if (c->head != NULL) {
			/* kept, with its connection: never freed */
			d->conns[i] = NULL;
		}
	}
	for (i = 0; i < d->n_conns; i++)
		if (d->conns[i] == NULL)
			d->conns[i--] = d->conns[--d->n_conns];
	busy = lb_work_free(d->work) != LB_OK;
	d->work = NULL;
	if (left > 0 || busy)
		syslog(LOG_WARNING, "stopping with %zu file-system tasks still in the kernel: left behind",
		    left);
}

static int
lb_signals_setup(void)
{
	struct sigaction sa;

	if (pipe2(lb_sigpipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return LB_E_IO;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lb_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGHUP, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0 ||
	    sigaction(SIGUSR2, &sa, NULL) != 0)
		return LB_E_IO;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return LB_E_IO;
	return LB_OK;
}

/* Enough descriptors for every client plus our own files. */
static void
lb_raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = LB_CLIENTS_CAP + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

static char *
lb_absolute(const char *path)
{
	char cwd[4096];
	struct lb_buf b;
	const char *s;
	char *out = NULL;

	if (path[0] == '/')
		return lb_strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	lb_buf_init(&b, sizeof(cwd) + 4096);
	if (lb_buf_printf(&b, "%s/%s", cwd, path) == LB_OK && lb_buf_cstr(&b, &s) == LB_OK)
		out = lb_strdup(s);
	lb_buf_free(&b);
	return out;
}

static int
lb_start(struct lb_daemon *d)
{
	struct lb_fp fp;
	struct lb_policy *p = NULL;
	size_t remembered = 0;
	struct lb_audit_io io;
	uint8_t sk[LB_SK_BYTES];
	struct lb_buf err;
	const char *msg;
	char ebuf[512];
	uint64_t now = (uint64_t)time(NULL);
	long cores;
	int r;

	lb_buf_init(&err, 64 * 1024);
	if ((r = lb_crypto_init()) != LB_OK) {
		syslog(LOG_ERR, "%s", lb_strerror(r));
		goto out;
	}
	lb_watch_loaded(&d->watch, lb_policy_fp(d->config, &fp), sizeof(fp));
	if ((r = lb_posix_load_policy(d->config, &p, &err)) != LB_OK) {
		if (lb_buf_cstr(&err, &msg) != LB_OK || msg[0] == '\0')
			msg = lb_strerror(r);
		syslog(LOG_ERR, "%s", msg);
		goto out;
	}
	if ((r = lb_posix_service_key(p->broker.service_key, p->broker.service_public_key,
	    sk, ebuf, sizeof(ebuf))) != LB_OK) {
		syslog(LOG_ERR, "service key: %s", ebuf);
		goto out;
	}
	if ((d->audit_file.path = lb_strdup(p->broker.audit_log)) == NULL) {
		r = LB_E_NOMEM;
		goto out;
	}
	if ((r = lb_open_audit_file(p->broker.audit_log, &d->audit_file.fd)) != LB_OK)
		goto out;
	memset(&io, 0, sizeof(io));
	io.ctx = &d->audit_file;
	io.append = lb_audit_append_fd;
	io.sync = lb_audit_sync_fd;
	io.size = lb_audit_size_fd;
	io.rewrite = lb_audit_rewrite_fd;
	io.why = lb_audit_why_fd;
	if ((r = lb_serve_open(p, sk, io, &lb_posix_fs_ops, now, &d->audit, &d->b, &remembered,
	    ebuf, sizeof(ebuf))) != LB_OK) {
		syslog(LOG_ERR, "%s", ebuf);
		goto out;
	}
	p = NULL;   /* the broker's now */
	if ((r = lb_audit_file_set(&d->audit_file, d->audit_file.fd)) != LB_OK) {
		syslog(LOG_ERR, "audit log: fstat: %s", strerror(errno));
		goto out;
	}
	if ((r = lb_listen(d, lb_cfg(d)->endpoint)) != LB_OK)
		goto out;
	/* Signature work over the cores: a helper per core but ours. */
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (lb_pool_new(cores > 1 ? (size_t)cores - 1 : 0, &d->pool) != LB_OK)
		d->pool = NULL;   /* then all on this thread */
	/* File-system work: a worker per core as requests come, more only
	 * while those are stuck (lb_work_posix.c). */
	if ((r = lb_work_new(cores > 2 ? (size_t)cores : 2, LB_TASKS_MAX, &d->work)) != LB_OK) {
		syslog(LOG_ERR, "cannot set up the file-system workers: %s", lb_strerror(r));
		goto out;
	}
	syslog(LOG_NOTICE, "started: policy %s, socket %s, audit log %s (%zu recent requests remembered, "
	    "%zu signature threads besides this one)", d->config, lb_cfg(d)->endpoint,
	    lb_cfg(d)->audit_log, remembered, lb_pool_threads(d->pool));
	lb_audit_anchor(d, "at start");
out:
	lb_wipe(sk, sizeof(sk));
	lb_policy_free(p);
	lb_buf_free(&err);
	return r;
}

static void
lb_shutdown(struct lb_daemon *d)
{
	struct stat st;
	size_t i;

	lb_jobs_drain(d);
	for (i = 0; i < d->n_conns; i++)
		lb_conn_free(d->conns[i]);
	d->n_conns = 0;
	lb_posix_peer_cache_clear(&d->peers);
	lb_pool_free(d->pool);
	d->pool = NULL;
	if (d->lfd >= 0)
		close(d->lfd);
	/* Remove the socket only if it is still the one we made. */
	if (d->sock_path != NULL && lstat(d->sock_path, &st) == 0 && st.st_ino == d->sock_ino)
		unlink(d->sock_path);
	if (d->b != NULL)
		lb_broker_summarize(d->b, (uint64_t)time(NULL));
	if (d->audit != NULL && lb_audit_sync(d->audit) != LB_OK)
		syslog(LOG_ERR, "audit log: final sync failed");
	lb_audit_close(d->audit);
	lb_broker_free(d->b);
	if (d->audit_file.fd >= 0)
		close(d->audit_file.fd);
	free(d->audit_file.path);
	free(d->sock_path);
	free(d->config);
}

static int
lb_run_usage(void)
{
	fprintf(stderr, "usage: linkbrokerd run [--config FILE] [--foreground]\n");
	return LB_EXIT_BAD_INPUT;
}

int
lb_cmd_run(int argc, char **argv)
{
	static struct lb_daemon d;   /* large (poll array): not on the stack */
	const char *config = LB_DEFAULT_CONFIG;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--foreground") == 0)
			d.foreground = 1;
		else
			return lb_run_usage();
	}
	if (geteuid() != 0) {
		fprintf(stderr, "linkbrokerd run: must run as root (it creates links as other users)\n");
		return LB_EXIT_FAILED;
	}
	d.lfd = -1;
	d.grow_next = -1;
	d.audit_file.fd = -1;
	d.exit_code = LB_EXIT_OK;
	/* Start-up problems go to stderr as well, whoever started us. */
	lb_posix_log_open(1);
	umask(077);
	lb_raise_nofile();
	if ((d.config = lb_absolute(config)) == NULL) {
		syslog(LOG_ERR, "%s: cannot make the path absolute", config);
		return LB_EXIT_FAILED;
	}
	if (chdir("/") != 0 || lb_signals_setup() != LB_OK) {
		syslog(LOG_ERR, "cannot set up: %s", strerror(errno));
		return LB_EXIT_FAILED;
	}
	if ((r = lb_start(&d)) != LB_OK) {
		lb_shutdown(&d);
		syslog(LOG_ERR, "not started");
		return lb_exit_code(r) == LB_EXIT_OK ? LB_EXIT_FAILED : lb_exit_code(r);
	}
	if (!d.foreground) {
		/* systemd (Type=simple) keeps us in the foreground; log to syslog only. */
		closelog();
		lb_posix_log_open(0);
	}
	d.next_stat = lb_now_ms() + LB_STAT_MS;
	lb_loop(&d);
	lb_audit_anchor(&d, "at stop");
	lb_shutdown(&d);
	syslog(LOG_NOTICE, "stopped");
	closelog();
	return d.exit_code;
}
