/* lb_daemon_win: the broker loop of the Windows service. One thread and one
 * I/O completion port serve the named pipe: a listening instance always
 * waits (so the name is never free for a squatter while we run), each
 * client has a deadline, a bounded input and output, and the clients of one
 * identity are capped. Requests are served in rounds, as by the POSIX
 * daemon: every request that has arrived on any connection is taken, its
 * signature checked on the system thread pool, admitted (rate, key, clock,
 * replay) on this thread; its file-system work (opening and resolving as
 * the client, then making the link) runs on worker threads with a
 * deadline, so that a client whose folder or file stalls in the kernel
 * (an oplock never acknowledged, a slow device) holds up nobody else: at
 * the deadline its I/O is cancelled and it is answered "timed out". The
 * decisions of a round are made durable by one FlushFileBuffers
 * (audit_sync = always) before any link is made, the failures by one more
 * before any answer; answers are signed on the thread pool and leave each
 * connection in the order of its requests. The policy is reloaded on
 * request (service PARAMCHANGE) or when its file changes, once no request
 * is between its admission and its answer, and a bad new policy is
 * refused with the old one kept. The shared request handling is
 * lb_broker. */
#include <windows.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lb_serve.h"
#include "lb_str.h"
#include "lb_win.h"

#define LB_CLIENTS_CAP 4096             /* max_clients' upper bound in the loader */
#define LB_IN_CAP (LB_FRAME_HDR + LB_FRAME_MAX)
#define LB_READ_CHUNK 16384
#define LB_OUT_HIGH (64 * 1024)         /* no new requests while this much output waits */
#define LB_OUT_MAX (1024 * 1024)
#define LB_PIPE_BUF 65536
#define LB_SYNC_MS 100
#define LB_STAT_MS 1000
#define LB_DRAIN_MS 2000
#define LB_BATCH 32                     /* completions taken per wait */
#define LB_QUEUE_MAX 64                 /* requests of one connection taken ahead */
#define LB_ROUND_MAX 1024               /* new requests per round, all connections */
#define LB_WORKERS_MAX 64               /* file-system worker threads, at most */
#define LB_FS_PER_ID 8                  /* an identity's file-system jobs at once */
#define LB_CANCEL_MS 100                /* a job past its deadline: cancelled again */

/* Completion keys: the pipe's I/O, and the two requests other threads post. */
#define LB_KEY_PIPE 1
#define LB_KEY_STOP 2
#define LB_KEY_RELOAD 3
#define LB_KEY_JOB 4
#define LB_KEY_ROTATE 5

enum lb_op_kind { LB_OP_READ, LB_OP_WRITE };

struct lb_op {
	OVERLAPPED ov;              /* first: the completion hands back &ov */
	enum lb_op_kind kind;
	struct lb_pconn *c;
	int pending;
};

/* One pipe instance: listening (waiting in ConnectNamedPipe on rop) or a
 * connected client. Input is read into RBUF (never moved while a read is
 * in flight) and copied to IN; answers are appended to OUT and sent from
 * WBUF (never appended to while a write is in flight). */
struct lb_pconn {
	HANDLE pipe;                /* NULL once closed */
	struct lb_op rop, wop;
	int listening;
	struct lb_win_peer *peer;   /* known after the first bytes (impersonation needs them) */
	uint8_t rbuf[LB_READ_CHUNK];
	uint8_t *in;
	size_t in_len;
	struct lb_buf out, wbuf;
	size_t wsent;
	uint64_t deadline;          /* GetTickCount64 ms */
	int eof;
	struct lb_req *q_head, *q_tail;   /* requests taken, in arrival order */
	size_t q_len;
	size_t jobs;                /* its jobs on workers, timed-out ones too */
	int fs_busy;                /* one of its requests is in file-system work */
	int identifying;            /* its token being read on a worker */
	int broken;                 /* an answer could not be made: no more */
	int refused;                /* answered "busy": closed once that is written */
};

/* Where a request is between its frame and its answer. */
enum lb_rs {
	LB_RS_NEW,                  /* prepared, not yet admitted */
	LB_RS_WAIT_FS,              /* admitted, waiting for its connection's turn */
	LB_RS_RESOLVING,            /* file-system work on a worker */
	LB_RS_DECIDED,              /* decision recorded */
	LB_RS_MAKING,               /* the link being made on a worker */
	LB_RS_MADE,
	LB_RS_SEALED,
	LB_RS_SIGNED,
	LB_RS_DEAD,                 /* no answer can be given */
};

struct lb_djob;

struct lb_req {
	struct lb_req *next;
	struct lb_pconn *c;
	struct lb_pending *p;
	enum lb_rs st;
	struct lb_fswork *w;        /* admitted, its file-system work to do */
	int fs;                     /* it took its connection's file-system turn */
	uint64_t deadline;          /* WAIT_FS, its connection's turn come: answered
	                               "timed out" if not started by then (0: not yet) */
	struct lb_djob *job;        /* while on a worker */
};

/* A request's file-system work on a worker: the opens (W) or the create
 * (P). R is NULL once the request went on without it (timed out): the
 * job then only frees what it holds when it comes back. */
struct lb_djob {
	struct lb_win_job j;        /* first: what the port hands back */
	int make;
	/* Reading a new client's token (its account names: on a domain
	 * member a domain controller may be slow or silent): */
	int identify, abandoned;
	int (*identify_fn)(HANDLE tok, struct lb_win_peer **out, char *why, size_t whylen);
	HANDLE tok;
	struct lb_win_peer *peer;
	int rc;
	char why[256];
	struct lb_fswork *w;
	struct lb_pending *p;
	struct lb_req *r;
	struct lb_pconn *c;
	char id[sizeof(((struct lb_peer *)0)->id)];
	uint64_t deadline, next_cancel;
	struct lb_djob *prev_live, *next_live;
};

/* WHY: the last failure, for the broker's message (said once a minute,
 * not once per request: a full disk must not fill the Event Log too). */
struct lb_audit_file {
	HANDLE h;
	int broken;                     /* a partial line to cut at CUT_TO first */
	LARGE_INTEGER cut_to;
	int dead;                       /* no file to write (a failed rotation): every append fails */
	char why[128];
	char *path;                     /* audit_log as opened at start */
};

struct lb_win_daemon {
	char *config;                   /* --config or the default policy.ini */
	char *policy;                   /* the file in force: Group Policy's PolicyFile or CONFIG */
	wchar_t *wpolicy;
	HKEY gpo_root;                  /* Group Policy's key: HKLM\SOFTWARE\Policies\LinkBroker */
	wchar_t *gpo_subkey;
	char *gpo_where;
	struct lb_watch gpo_watch;      /* the key: a change reloads as a file change does */
	wchar_t *pipe_name;
	PSECURITY_DESCRIPTOR pipe_sd;
	HANDLE iocp;
	struct lb_broker *b;
	struct lb_audit *audit;
	struct lb_audit_file audit_file;
	struct lb_pconn *listener;
	struct lb_pconn *conns[LB_CLIENTS_CAP];
	size_t n_conns;
	struct lb_watch watch;          /* the policy file: when to reload it */
	const struct lb_fs_ops *fs;
	int (*identify_fn)(HANDLE tok, struct lb_win_peer **out, char *why, size_t whylen);
	struct lb_win_workers *workers;
	size_t helpers;                 /* thread-pool helpers for a round's signatures */
	struct lb_djob *live;           /* jobs on workers */
	uint64_t next_wait_deadline;    /* the earliest WAIT_FS deadline (0: none) */
	struct lb_req **round;          /* scratch: the requests of one step */
	uint64_t next_stat, sync_due, listen_retry;
	int dirty;
	unsigned long refused_busy, refused_identity;
	unsigned long sync_failed;      /* audit syncs that failed (the broker says so) */
	char refused_why[256];
	int stop, exit_code;
};

static uint64_t
lb_now_ms(void)
{
	return GetTickCount64();
}

static const struct lb_broker_cfg *
lb_cfg(const struct lb_win_daemon *d)
{
	return &lb_broker_policy(d->b)->broker;
}

/* ---- the audit log file ---- */

static int
lb_audit_append_h(void *ctx, const void *p, size_t n)
{
	struct lb_audit_file *af = ctx;
	const unsigned char *s = p;
	LARGE_INTEGER start, zero;
	size_t off = 0;

	if (af->dead) {
		snprintf(af->why, sizeof(af->why), "no file to write: the rotation failed");
		return LB_E_IO;
	}
	if (af->broken) {
		/* The part of a line a failed append left: cut it now, or
		 * still nothing may follow it. */
		if (!SetFilePointerEx(af->h, af->cut_to, NULL, FILE_BEGIN) || !SetEndOfFile(af->h)) {
			snprintf(af->why, sizeof(af->why), "cannot cut a partial line: Windows error %lu",
			    GetLastError());
			return LB_E_IO;
		}
		af->broken = 0;
		lb_win_log(LB_WIN_INFO, "audit log: the partial line of a failed write is cut");
	}
	zero.QuadPart = 0;
	if (!SetFilePointerEx(af->h, zero, &start, FILE_END)) {
		snprintf(af->why, sizeof(af->why), "seek: Windows error %lu", GetLastError());
		return LB_E_IO;
	}
	while (off < n) {
		DWORD want = n - off > 1u << 20 ? 1u << 20 : (DWORD)(n - off), w = 0;

		if (!WriteFile(af->h, s + off, want, &w, NULL) || w == 0) {
			snprintf(af->why, sizeof(af->why), "write: Windows error %lu", GetLastError());
			/* Never leave part of a line: the next append writes the
			 * same record again. */
			if (off > 0 && (!SetFilePointerEx(af->h, start, NULL, FILE_BEGIN) ||
			    !SetEndOfFile(af->h))) {
				lb_win_log(LB_WIN_ERR, "audit log: cannot cut a partial line (Windows error %lu); "
				    "refusing all requests until it can", GetLastError());
				af->broken = 1;
				af->cut_to = start;
			}
			return LB_E_IO;
		}
		off += w;
	}
	return LB_OK;
}

static int
lb_audit_sync_h(void *ctx)
{
	struct lb_audit_file *af = ctx;

	/* Quiet: the broker says so once a minute, not once per request. */
	if (!FlushFileBuffers(af->h)) {
		snprintf(af->why, sizeof(af->why), "FlushFileBuffers: Windows error %lu", GetLastError());
		return LB_E_IO;
	}
	return LB_OK;
}

/* lb_audit_io.rewrite: after a failed FlushFileBuffers, P (what was
 * appended since the last good one) written again at OFF, the file cut to
 * its end, then flushed; the broker refuses requests until this succeeds
 * (docs/audit.md, "Failures"). */
static int
lb_audit_rewrite_h(void *ctx, uint64_t off, const void *p, size_t n)
{
	struct lb_audit_file *af = ctx;
	const unsigned char *s = p;
	LARGE_INTEGER pos, sz;
	size_t done = 0;

	if (af->dead)
		return LB_E_IO;
	if (off > (uint64_t)INT64_MAX / 2 || n > (size_t)INT32_MAX)
		return LB_E_RANGE;
	/* Shorter than what we know was there: not our file any more. */
	if (!GetFileSizeEx(af->h, &sz) || sz.QuadPart < 0 || (uint64_t)sz.QuadPart < off) {
		snprintf(af->why, sizeof(af->why), "the file is shorter than what was written to it");
		return LB_E_IO;
	}
	pos.QuadPart = (LONGLONG)off;
	if (!SetFilePointerEx(af->h, pos, NULL, FILE_BEGIN)) {
		snprintf(af->why, sizeof(af->why), "seek: Windows error %lu", GetLastError());
		return LB_E_IO;
	}
	while (done < n) {
		DWORD want = n - done > 1u << 20 ? 1u << 20 : (DWORD)(n - done), w = 0;

		if (!WriteFile(af->h, s + done, want, &w, NULL) || w == 0) {
			snprintf(af->why, sizeof(af->why), "write again: Windows error %lu", GetLastError());
			return LB_E_IO;
		}
		done += w;
	}
	if (!SetEndOfFile(af->h)) {
		snprintf(af->why, sizeof(af->why), "cut: Windows error %lu", GetLastError());
		return LB_E_IO;
	}
	if (!FlushFileBuffers(af->h)) {
		snprintf(af->why, sizeof(af->why), "FlushFileBuffers: Windows error %lu", GetLastError());
		return LB_E_IO;
	}
	af->broken = 0;   /* whatever was past the end is cut too */
	return LB_OK;
}

static const char *
lb_audit_why_h(void *ctx)
{
	const struct lb_audit_file *af = ctx;

	return af->why;
}

static int
lb_audit_size_h(void *ctx, uint64_t *size)
{
	struct lb_audit_file *af = ctx;
	LARGE_INTEGER sz;

	if (!GetFileSizeEx(af->h, &sz) || sz.QuadPart < 0)
		return LB_E_IO;
	*size = (uint64_t)sz.QuadPart;
	return LB_OK;
}

/* Make sure the directory holding FILE exists (SYSTEM and Administrators). */
static int
lb_ensure_parent(const char *file, char *err, size_t errlen)
{
	struct lb_path fp, parent;
	int r;

	if ((r = lb_path_canon(LB_FLAVOR_WINDOWS, file, strlen(file), &fp)) != LB_OK) {
		snprintf(err, errlen, "%s: %s", file, lb_strerror(r));
		return r;
	}
	r = lb_path_parent(&fp, &parent);
	lb_path_free(&fp);
	if (r != LB_OK) {
		snprintf(err, errlen, "%s: no parent directory", file);
		return r;
	}
	r = lb_win_ensure_dir(parent.s, LB_SDDL_DIR, err, errlen);
	lb_path_free(&parent);
	return r;
}

/* Open (or create, SYSTEM and Administrators only) the audit log: a plain
 * file, not a link, that only administrators can change. */
static int
lb_open_audit_file(const char *path, HANDLE *out)
{
	SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, FALSE };
	BY_HANDLE_FILE_INFORMATION fi;
	wchar_t *wpath = NULL;
	char err[512];
	HANDLE h = INVALID_HANDLE_VALUE;
	int r = LB_E_IO;

	if ((r = lb_ensure_parent(path, err, sizeof(err))) != LB_OK) {
		lb_win_log(LB_WIN_ERR, "audit log: %s", err);
		return r;
	}
	r = LB_E_IO;
	if ((wpath = lb_win_wide(path)) == NULL) {
		lb_win_log(LB_WIN_ERR, "audit log %s: not a valid file name", path);
		goto out;
	}
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(LB_SDDL_PRIVATE, SDDL_REVISION_1,
	    &sa.lpSecurityDescriptor, NULL)) {
		lb_win_log(LB_WIN_ERR, "audit log: security descriptor: Windows error %lu", GetLastError());
		goto out;
	}
	h = CreateFileW(wpath, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, &sa, OPEN_ALWAYS,
	    FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		lb_win_log(LB_WIN_ERR, "cannot open the audit log %s: Windows error %lu", path, GetLastError());
		goto out;
	}
	if (GetFileType(h) != FILE_TYPE_DISK || !GetFileInformationByHandle(h, &fi) ||
	    (fi.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) != 0) {
		lb_win_log(LB_WIN_ERR, "the audit log %s must be a regular file", path);
		r = LB_E_PERM;
		goto out;
	}
	if ((r = lb_win_check_admin_file(path, err, sizeof(err))) != LB_OK) {
		lb_win_log(LB_WIN_ERR, "audit log: %s", err);
		goto out;
	}
	*out = h;
	h = INVALID_HANDLE_VALUE;
	r = LB_OK;
out:
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	LocalFree(sa.lpSecurityDescriptor);
	free(wpath);
	return r;
}

/*
 * Rotate the audit log (service control LB_SVC_CONTROL_ROTATE: `linkbrokerd
 * rotate`; docs/audit.md, "Rotation"). The file is open without
 * FILE_SHARE_DELETE, so nobody renames or deletes it under us: the service
 * renames it itself, to PATH.1, never over one. Closed, renamed, opened
 * again for its "rotate" record; then a new PATH whose "reopen" record
 * chains to it. On the loop's thread, where every record is written. A
 * failure before the rename changes nothing; after it, if the chain cannot
 * go on, the service stops (fail closed).
 */
static void
lb_rotate(struct lb_win_daemon *d)
{
	struct lb_audit_file *af = &d->audit_file;
	wchar_t *wpath = NULL, *wold = NULL;
	char *old = NULL;
	HANDLE h = INVALID_HANDLE_VALUE;
	uint64_t now = (uint64_t)time(NULL);
	size_t n;
	int r = LB_OK;

	if (d->audit == NULL || af->broken || af->dead || af->path == NULL)
		return;
	n = strlen(af->path) + 3;
	if ((old = malloc(n)) == NULL)
		return;
	snprintf(old, n, "%s.1", af->path);
	if ((wpath = lb_win_wide(af->path)) == NULL || (wold = lb_win_wide(old)) == NULL)
		goto out;
	if (GetFileAttributesW(wold) != INVALID_FILE_ATTRIBUTES) {
		lb_win_log(LB_WIN_ERR, "audit log rotation: %s exists; the service never renames over it", old);
		goto out;
	}
	if (lb_audit_sync(d->audit) != LB_OK) {
		r = LB_E_AUDIT;
		goto done;
	}
	CloseHandle(af->h);
	af->h = INVALID_HANDLE_VALUE;
	if (!MoveFileExW(wpath, wold, MOVEFILE_WRITE_THROUGH)) {
		lb_win_log(LB_WIN_ERR, "audit log rotation: cannot rename %s to %s (Windows error %lu)",
		    af->path, old, GetLastError());
		/* Go on in the same file. */
		if (lb_open_audit_file(af->path, &af->h) != LB_OK)
			r = LB_E_AUDIT;
		goto done;
	}
	/* The old file's last record names the new one. */
	if (lb_open_audit_file(old, &af->h) != LB_OK || lb_audit_end_file(d->audit, af->path, now) != LB_OK) {
		r = LB_E_AUDIT;
		goto done;
	}
	CloseHandle(af->h);
	af->h = INVALID_HANDLE_VALUE;
	if (lb_open_audit_file(af->path, &h) != LB_OK) {
		r = LB_E_AUDIT;
		goto done;
	}
	af->h = h;
	if ((r = lb_audit_begin_file(d->audit, "rotated", 0, now)) == LB_OK)
		lb_win_log(LB_WIN_INFO, "audit log rotated: %s holds the old file, %s continues the chain",
		    old, af->path);
done:
	if (r != LB_OK) {
		lb_win_log(LB_WIN_ERR, "audit log %s: rotation failed and the chain cannot go on; "
		    "stopping (nothing is answered un-audited)", af->path);
		af->dead = 1;
		d->stop = 1;
		d->exit_code = LB_EXIT_FAILED;
	}
out:
	free(wpath);
	free(wold);
	free(old);
}

/* ---- pipe instances ---- */

static struct lb_pconn *
lb_pconn_new(void)
{
	struct lb_pconn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->in = malloc(LB_IN_CAP)) == NULL) {
		free(c);
		return NULL;
	}
	c->rop.kind = LB_OP_READ;
	c->rop.c = c;
	c->wop.kind = LB_OP_WRITE;
	c->wop.c = c;
	lb_buf_init(&c->out, LB_OUT_MAX);
	lb_buf_init(&c->wbuf, LB_OUT_MAX);
	return c;
}

/* Close the instance; its memory goes once no operation is in flight
 * (their cancellations still arrive at the port). */
static void
lb_pconn_close(struct lb_pconn *c)
{
	if (c->pipe == NULL)
		return;
	CancelIoEx(c->pipe, NULL);
	CloseHandle(c->pipe);
	c->pipe = NULL;
}

static int
lb_pconn_idle(const struct lb_pconn *c)
{
	return c->pipe == NULL && !c->rop.pending && !c->wop.pending &&
	    c->q_len == 0 && c->jobs == 0;
}

static void
lb_pconn_free(struct lb_pconn *c)
{
	if (c == NULL)
		return;
	lb_win_peer_free(c->peer);
	free(c->in);
	lb_buf_free(&c->out);
	lb_buf_free(&c->wbuf);
	free(c);
}

/* ReadFile/WriteFile/ConnectNamedPipe on a handle bound to the port: a
 * TRUE return or ERROR_IO_PENDING both mean a completion will arrive. */
static int
lb_io_started(BOOL ok)
{
	return ok || GetLastError() == ERROR_IO_PENDING;
}

static int
lb_pconn_read(struct lb_pconn *c)
{
	size_t room = LB_IN_CAP - c->in_len;
	DWORD want = room < LB_READ_CHUNK ? (DWORD)room : LB_READ_CHUNK;

	if (c->pipe == NULL || c->rop.pending || c->eof || want == 0)
		return 0;
	memset(&c->rop.ov, 0, sizeof(c->rop.ov));
	if (!lb_io_started(ReadFile(c->pipe, c->rbuf, want, NULL, &c->rop.ov)))
		return -1;   /* broken pipe: the client left */
	c->rop.pending = 1;
	return 0;
}

static int
lb_pconn_write(struct lb_pconn *c)
{
	struct lb_buf t;

	if (c->pipe == NULL || c->wop.pending)
		return 0;
	if (c->wsent == c->wbuf.len) {
		if (c->out.len == 0)
			return 0;
		/* Send what accumulated; OUT takes the emptied buffer. */
		lb_buf_reset(&c->wbuf);
		t = c->wbuf;
		c->wbuf = c->out;
		c->out = t;
		c->wsent = 0;
	}
	memset(&c->wop.ov, 0, sizeof(c->wop.ov));
	if (!lb_io_started(WriteFile(c->pipe, c->wbuf.data + c->wsent,
	    (DWORD)(c->wbuf.len - c->wsent), NULL, &c->wop.ov)))
		return -1;
	c->wop.pending = 1;
	return 0;
}

static size_t
lb_pconn_unsent(const struct lb_pconn *c)
{
	return c->out.len + (c->wbuf.len - c->wsent);
}

/* A new listening instance. The first one of the process is created with
 * FILE_FLAG_FIRST_PIPE_INSTANCE: if anyone else holds the name, we fail
 * loudly instead of sharing it (Wine ignores the flag). */
static int
lb_listen(struct lb_win_daemon *d, int first)
{
	SECURITY_ATTRIBUTES sa = { sizeof(sa), d->pipe_sd, FALSE };
	struct lb_pconn *c;
	DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
	HANDLE h;

	if (first)
		open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
	if ((c = lb_pconn_new()) == NULL)
		return LB_E_NOMEM;
	h = CreateNamedPipeW(d->pipe_name, open_mode,
	    PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
	    PIPE_UNLIMITED_INSTANCES, LB_PIPE_BUF, LB_PIPE_BUF, 0, &sa);
	if (h == INVALID_HANDLE_VALUE) {
		DWORD e = GetLastError();

		lb_pconn_free(c);
		if (first && (e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY))
			lb_win_log(LB_WIN_ERR, "pipe %s: another process already serves this name "
			    "(Windows error %lu); not starting", lb_cfg(d)->endpoint, e);
		else
			lb_win_log(LB_WIN_ERR, "pipe %s: CreateNamedPipe: Windows error %lu",
			    lb_cfg(d)->endpoint, e);
		return LB_E_IO;
	}
	c->pipe = h;
	c->listening = 1;
	if (CreateIoCompletionPort(h, d->iocp, LB_KEY_PIPE, 0) == NULL) {
		lb_win_log(LB_WIN_ERR, "pipe: completion port: Windows error %lu", GetLastError());
		lb_pconn_close(c);
		lb_pconn_free(c);
		return LB_E_IO;
	}
	memset(&c->rop.ov, 0, sizeof(c->rop.ov));
	if (lb_io_started(ConnectNamedPipe(h, &c->rop.ov))) {
		c->rop.pending = 1;
	} else if (GetLastError() == ERROR_PIPE_CONNECTED) {
		/* A client came between create and connect: no completion
		 * will be queued for it, so post one ourselves, as a success
		 * (the status ConnectNamedPipe left in the OVERLAPPED would
		 * read as a failed connect and close the client at once). */
		c->rop.ov.Internal = 0;
		c->rop.pending = 1;
		if (!PostQueuedCompletionStatus(d->iocp, 0, LB_KEY_PIPE, &c->rop.ov)) {
			c->rop.pending = 0;
			lb_pconn_close(c);
			lb_pconn_free(c);
			return LB_E_IO;
		}
	} else {
		lb_win_log(LB_WIN_ERR, "pipe: ConnectNamedPipe: Windows error %lu", GetLastError());
		lb_pconn_close(c);
		lb_pconn_free(c);
		return LB_E_IO;
	}
	d->listener = c;
	return LB_OK;
}

static size_t
lb_per_id_max(const struct lb_win_daemon *d)
{
	size_t m = lb_cfg(d)->max_clients / 4;

	return m < 2 ? 2 : m;
}

/* A client the service will not serve: "busy, try again in a moment"
 * (unsigned, zero nonce: docs/protocol.md) instead of silence, then the
 * pipe is closed once that is written (lb_after_round: nothing is read
 * from it any more). The client backs off and retries. */
static void
lb_pconn_refuse_busy(struct lb_pconn *c)
{
	lb_buf_reset(&c->out);
	if (lb_busy_frame(&c->out, NULL, LB_E_BUSY, 50) != LB_OK)
		lb_buf_reset(&c->out);   /* then only the close says it */
	c->eof = 1;
	c->refused = 1;
}

/* The listener has a client: it becomes a connection (if there is room;
 * else it is answered "busy" and closed), and a new listener takes its
 * place. */
static void
lb_connected(struct lb_win_daemon *d, struct lb_pconn *c, int ok)
{
	c->listening = 0;
	d->listener = NULL;
	if (ok && d->n_conns >= lb_cfg(d)->max_clients && d->n_conns < LB_CLIENTS_CAP) {
		d->refused_busy++;
		c->deadline = lb_now_ms() + lb_cfg(d)->io_timeout_ms;
		d->conns[d->n_conns++] = c;
		lb_pconn_refuse_busy(c);
	} else if (!ok || d->n_conns >= LB_CLIENTS_CAP) {
		if (ok)
			d->refused_busy++;
		lb_pconn_close(c);
		lb_pconn_free(c);   /* nothing pending: its connect just completed */
	} else {
		c->deadline = lb_now_ms() + lb_cfg(d)->io_timeout_ms;
		d->conns[d->n_conns++] = c;
		if (lb_pconn_read(c) != 0)
			lb_pconn_close(c);
	}
	if (lb_listen(d, 0) != LB_OK)
		d->listen_retry = lb_now_ms() + LB_STAT_MS;
}

static void lb_job_link(struct lb_win_daemon *d, struct lb_djob *dj);
static void lb_job_run(struct lb_win_job *j);

/* Who is it? Asked once, after the first bytes arrived (a pipe server can
 * impersonate only a client it has read from): the token is opened here
 * (kernel only), its account names are looked up on a worker, with the
 * connection's deadline (lb_identified). -1: refused now. */
static int
lb_identify(struct lb_win_daemon *d, struct lb_pconn *c)
{
	struct lb_djob *dj;
	char why[256];
	HANDLE tok = NULL;

	if (lb_win_client_token(c->pipe, &tok, why, sizeof(why)) != LB_OK) {
		d->refused_identity++;
		snprintf(d->refused_why, sizeof(d->refused_why), "%s", why);
		return -1;
	}
	if ((dj = calloc(1, sizeof(*dj))) == NULL) {
		CloseHandle(tok);
		return -1;
	}
	dj->j.fn = lb_job_run;
	dj->identify = 1;
	dj->identify_fn = d->identify_fn;
	dj->tok = tok;
	dj->c = c;
	dj->deadline = lb_now_ms() + lb_cfg(d)->io_timeout_ms;
	if (lb_win_workers_submit(d->workers, &dj->j) != LB_OK) {
		CloseHandle(tok);
		free(dj);
		return -1;
	}
	lb_job_link(d, dj);
	c->identifying = 1;
	return 0;
}

/* The client's identity came back from its worker (DJ). */
static void
lb_identified(struct lb_win_daemon *d, struct lb_djob *dj)
{
	struct lb_pconn *c = dj->c;
	size_t i, same = 0;

	c->identifying = 0;
	if (dj->abandoned || c->pipe == NULL) {
		lb_win_peer_free(dj->peer);   /* too late: already refused */
		return;
	}
	if (dj->rc != LB_OK) {
		d->refused_identity++;
		snprintf(d->refused_why, sizeof(d->refused_why), "%s", dj->why);
		lb_pconn_close(c);
		return;
	}
	for (i = 0; i < d->n_conns; i++)
		if (d->conns[i] != c && d->conns[i]->pipe != NULL && d->conns[i]->peer != NULL &&
		    strcmp(d->conns[i]->peer->peer.id, dj->peer->peer.id) == 0)
			same++;
	if (same >= lb_per_id_max(d)) {
		d->refused_busy++;
		lb_win_peer_free(dj->peer);
		lb_pconn_refuse_busy(c);
		return;
	}
	c->peer = dj->peer;
}

/* ---- requests: from frames to answers, in rounds ---- */

static void
lb_req_free(struct lb_win_daemon *d, struct lb_req *r)
{
	lb_fswork_free(r->w);
	lb_broker_pending_free(d->b, r->p);
	free(r);
}

/* Take the complete frames C has received into requests, while its queue
 * and output stay below their marks and the round has room. */
static void
lb_take(struct lb_win_daemon *d, struct lb_pconn *c, size_t *n_new)
{
	size_t off = 0, mlen;
	const uint8_t *msg;
	struct lb_req *r;
	int k;

	if (c->peer == NULL || c->broken)
		return;
	while (*n_new < LB_ROUND_MAX && c->q_len < LB_QUEUE_MAX &&
	    lb_pconn_unsent(c) < LB_OUT_HIGH &&
	    (k = lb_serve_frame(&c->in_len, &off, c->in, &msg, &mlen)) != 0) {
		if (k < 0) {
			/* Not our protocol: answer the requests before it
			 * (they may have made links), read no more, close once
			 * the answers are out. */
			c->eof = 1;
			break;
		}
		if ((r = calloc(1, sizeof(*r))) == NULL ||
		    lb_broker_prepare(d->b, &c->peer->peer, msg, mlen, (uint64_t)time(NULL), &r->p) != LB_OK) {
			free(r);
			lb_win_log(LB_WIN_ERR, "request from %s not taken: out of memory; connection closed",
			    c->peer->peer.id);
			c->broken = 1;
			break;
		}
		r->c = c;
		r->st = LB_RS_NEW;
		if (c->q_tail != NULL)
			c->q_tail->next = r;
		else
			c->q_head = r;
		c->q_tail = r;
		c->q_len++;
		d->round[(*n_new)++] = r;
	}
	lb_serve_frames_done(c->in, &c->in_len, off);
}

static void
lb_precheck_one(void *ctx, size_t i)
{
	lb_broker_precheck(((struct lb_req **)ctx)[i]->p);
}

struct lb_sign_ctx {
	const struct lb_broker *b;
	struct lb_req **v;
};

static void
lb_sign_one(void *ctx, size_t i)
{
	const struct lb_sign_ctx *sc = ctx;
	struct lb_req *r = sc->v[i];

	/* lb_broker_sign does not allocate: safe on any thread. */
	if (lb_broker_sign(sc->b, r->p) == LB_OK)
		r->st = LB_RS_SIGNED;
	else
		r->st = LB_RS_DEAD;   /* its connection is closed by lb_deliver */
}

/* An answer cannot be given (the audit log failed): the connection gets no
 * more, and what it still had queued is dropped once no worker holds it. */
static void
lb_req_dead(struct lb_req *r, int err, const char *step)
{
	lb_win_log(LB_WIN_ERR, "request from %s not answered (%s: %s); connection closed",
	    r->c->peer != NULL ? r->c->peer->peer.id : "?", step, lb_strerror(err));
	r->st = LB_RS_DEAD;
	r->c->broken = 1;
}

static void
lb_job_run(struct lb_win_job *j)
{
	struct lb_djob *dj = (struct lb_djob *)(void *)j;

	if (dj->identify) {
		dj->rc = dj->identify_fn(dj->tok, &dj->peer, dj->why, sizeof(dj->why));
		dj->tok = NULL;    /* the peer's now, or closed */
	} else if (dj->make) {
		lb_broker_make_run(dj->p);
	} else {
		lb_fswork_run(dj->w);
	}
}

static size_t
lb_jobs_of(const struct lb_win_daemon *d, const char *id)
{
	const struct lb_djob *j;
	size_t n = 0;

	for (j = d->live; j != NULL; j = j->next_live)
		n += strcmp(j->id, id) == 0;
	return n;
}

/* Put R's file-system work (W: the opens; else the create) on a worker. */
static int
lb_job_start(struct lb_win_daemon *d, struct lb_req *r, struct lb_fswork *w)
{
	struct lb_djob *dj;
	uint64_t now = lb_now_ms();

	if ((dj = calloc(1, sizeof(*dj))) == NULL)
		return LB_E_NOMEM;
	dj->j.fn = lb_job_run;
	dj->make = w == NULL;
	dj->w = w;
	dj->p = r->p;
	dj->r = r;
	dj->c = r->c;
	snprintf(dj->id, sizeof(dj->id), "%s", r->c->peer->peer.id);
	dj->deadline = now + lb_cfg(d)->io_timeout_ms;
	if (lb_win_workers_submit(d->workers, &dj->j) != LB_OK) {
		free(dj);
		return LB_E_NOMEM;
	}
	lb_job_link(d, dj);
	r->job = dj;
	return LB_OK;
}

/* DJ is on a worker: among the live jobs, its connection kept. */
static void
lb_job_link(struct lb_win_daemon *d, struct lb_djob *dj)
{
	if ((dj->next_live = d->live) != NULL)
		d->live->prev_live = dj;
	dj->prev_live = NULL;
	d->live = dj;
	dj->c->jobs++;
}

static void
lb_job_unlink(struct lb_win_daemon *d, struct lb_djob *dj)
{
	if (dj->prev_live != NULL)
		dj->prev_live->next_live = dj->next_live;
	else
		d->live = dj->next_live;
	if (dj->next_live != NULL)
		dj->next_live->prev_live = dj->prev_live;
	dj->c->jobs--;
}

/* A job came back from its worker. */
static void
lb_on_job(struct lb_win_daemon *d, struct lb_djob *dj)
{
	struct lb_req *r = dj->r;
	int e;

	lb_job_unlink(d, dj);
	if (dj->identify) {
		lb_identified(d, dj);
		free(dj);
		return;
	}
	if (r == NULL) {
		/* Its request was answered "timed out" already: only the
		 * handles and paths it opened are left to close. */
		lb_fswork_free(dj->w);
		free(dj);
		return;
	}
	r->job = NULL;
	if (dj->make) {
		if ((e = lb_broker_make_end(d->b, r->p)) != LB_OK)
			lb_req_dead(r, e, "recording a failed create");
		else
			r->st = LB_RS_MADE;
	} else if ((e = lb_broker_decide(d->b, r->p, dj->w)) != LB_OK) {
		lb_req_dead(r, e, "decision");
	} else {
		r->st = LB_RS_DECIDED;
	}
	free(dj);
}

/* R waited for the file system past its deadline (WHAT: how): answered
 * "timed out", audited, its connection's next request free to go. */
static void
lb_req_time_out(struct lb_win_daemon *d, struct lb_req *r, const char *what)
{
	int e;

	lb_win_log(LB_WIN_WARN, "request from %s: %s %lu ms; answered as timed out",
	    r->c->peer->peer.id, what, (unsigned long)lb_cfg(d)->io_timeout_ms);
	if ((e = lb_broker_timeout(d->b, r->p)) != LB_OK)
		lb_req_dead(r, e, "timeout record");
	else
		r->st = LB_RS_DECIDED;
}

/* Past their deadlines: a job's synchronous I/O is cancelled (and again
 * every LB_CANCEL_MS while it stays); opens that have not come back are
 * given up and their request answered "timed out" (they only open and
 * read, so nothing is lost); a create is waited for: its connection's
 * answers wait, nobody else's. */
static void
lb_jobs_deadlines(struct lb_win_daemon *d, uint64_t now)
{
	struct lb_djob *dj;

	for (dj = d->live; dj != NULL; dj = dj->next_live) {
		if (now < dj->deadline || now < dj->next_cancel)
			continue;
		dj->next_cancel = now + LB_CANCEL_MS;
		(void)lb_win_workers_cancel(d->workers, &dj->j);
		if (dj->identify && !dj->abandoned) {
			/* Refused; the lookups' late answer is dropped. */
			lb_win_log(LB_WIN_WARN, "a client's account names were not found within %lu ms "
			    "(a domain controller that does not answer?); connection refused",
			    (unsigned long)lb_cfg(d)->io_timeout_ms);
			d->refused_identity++;
			snprintf(d->refused_why, sizeof(d->refused_why), "account lookups timed out");
			dj->abandoned = 1;
			dj->c->identifying = 0;
			lb_pconn_close(dj->c);
			continue;
		}
		if (dj->make || dj->r == NULL)
			continue;
		lb_req_time_out(d, dj->r, "the file system did not answer within");
		dj->r->job = NULL;
		dj->r = NULL;
	}
}

/* Requests whose connection's turn has come but that still wait for one
 * of their identity's LB_FS_PER_ID jobs at their deadline (all of them
 * stuck): answered "timed out" without ever touching the file system. A
 * request queued behind its own connection's earlier one is not timed:
 * that one has a deadline of its own. */
static void
lb_waits_deadlines(struct lb_win_daemon *d, uint64_t now)
{
	struct lb_req *r;
	size_t i;

	d->next_wait_deadline = 0;
	for (i = 0; i < d->n_conns; i++) {
		for (r = d->conns[i]->q_head; r != NULL; r = r->next) {
			if (r->st != LB_RS_WAIT_FS || r->deadline == 0)
				continue;
			if (now < r->deadline) {
				if (d->next_wait_deadline == 0 || r->deadline < d->next_wait_deadline)
					d->next_wait_deadline = r->deadline;
				continue;
			}
			lb_fswork_free(r->w);
			r->w = NULL;
			lb_req_time_out(d, r, "no file-system worker of its identity came free within");
		}
	}
}

/* Every request in state ST, on every connection, into D->round. */
static size_t
lb_collect(struct lb_win_daemon *d, enum lb_rs st)
{
	struct lb_req *r;
	size_t i, n = 0;

	for (i = 0; i < d->n_conns; i++)
		for (r = d->conns[i]->q_head; r != NULL; r = r->next)
			if (r->st == st)
				d->round[n++] = r;
	return n;
}

/* The same, once their records are durable: one sync for all of them
 * (audit_sync = always; none with batch). If it fails, the broker refuses
 * each of them that needed it, nothing made, and answers so ("the audit
 * log cannot be written": lb_broker_make_begin and lb_broker_seal check
 * each record), until the log is repaired. */
static size_t
lb_collect_synced(struct lb_win_daemon *d, enum lb_rs st)
{
	size_t n = lb_collect(d, st);

	if (n > 0)
		if (lb_broker_flush(d->b) != LB_OK)
			d->sync_failed++;   /* the seals refuse what needed it */
	return n;
}

/* One round over every connection's requests, each as far as it can go. */
static void
lb_round(struct lb_win_daemon *d)
{
	struct lb_sign_ctx sc;
	struct lb_req *r;
	size_t i, n = 0, id_jobs;
	int e, step, any, touched = 0;

	/* 1. New requests from every connection; their signatures checked
	 * over the thread pool, then admitted here in arrival order. */
	for (i = 0; i < d->n_conns; i++)
		lb_take(d, d->conns[i], &n);
	lb_win_parallel(lb_precheck_one, d->round, n, n >= 4 ? d->helpers : 0);
	for (i = 0; i < n; i++) {
		struct lb_fswork *w = NULL;

		r = d->round[i];
		if ((e = lb_broker_admit(d->b, r->p, &w)) != LB_OK) {
			lb_req_dead(r, e, "admission");
			continue;
		}
		touched = 1;
		if (w != NULL) {
			r->w = w;
			r->st = LB_RS_WAIT_FS;
		} else if ((e = lb_broker_decide(d->b, r->p, NULL)) != LB_OK) {
			lb_req_dead(r, e, "decision");
		} else {
			r->st = LB_RS_DECIDED;
		}
	}
	/* 2..4: file-system turns, group commit, creates, seals, signatures:
	 * repeated while a step moved something on (a create needs its
	 * decision durable, an answer its records). */
	for (step = 0; step < 4; step++) {
		any = 0;
		/* A connection's file-system work one request at a time, in
		 * order (a later line of a batch may need an earlier link),
		 * and an identity's at most LB_FS_PER_ID at once. */
		for (i = 0; i < d->n_conns; i++) {
			struct lb_pconn *c = d->conns[i];

			if (c->fs_busy || c->broken)
				continue;
			for (r = c->q_head; r != NULL && r->st != LB_RS_WAIT_FS; r = r->next)
				;
			if (r == NULL)
				continue;
			/* Its turn on its connection: from now on it waits only
			 * for its identity's jobs, and not longer than a request
			 * may take. */
			if (r->deadline == 0)
				r->deadline = lb_now_ms() + lb_cfg(d)->io_timeout_ms;
			id_jobs = lb_jobs_of(d, c->peer->peer.id);
			if (id_jobs >= LB_FS_PER_ID)
				continue;
			if ((e = lb_job_start(d, r, r->w)) != LB_OK) {
				lb_req_dead(r, e, "file-system work");
				continue;
			}
			r->w = NULL;   /* the job's now */
			r->st = LB_RS_RESOLVING;
			r->fs = 1;
			c->fs_busy = 1;
		}
		/* Every decision so far durable with one sync (always), then
		 * the creates start. */
		n = lb_collect_synced(d, LB_RS_DECIDED);
		for (i = 0; i < n; i++) {
			r = d->round[i];
			any = 1;
			e = lb_broker_make_begin(d->b, r->p);
			if (e == 1 && (e = lb_job_start(d, r, NULL)) == LB_OK) {
				r->st = LB_RS_MAKING;
				continue;
			}
			if (e < 0) {
				lb_req_dead(r, e, "create");
				continue;
			}
			r->st = LB_RS_MADE;
		}
		/* Made (or nothing to make): its connection's next request may
		 * use the file system; the failures' records durable with one
		 * more sync, then sealed. */
		n = lb_collect_synced(d, LB_RS_MADE);
		for (i = 0; i < n; i++) {
			r = d->round[i];
			any = 1;
			if (r->fs) {
				r->c->fs_busy = 0;
				r->fs = 0;
			}
			if ((e = lb_broker_seal(d->b, r->p)) != LB_OK) {
				lb_req_dead(r, e, "seal");
				continue;
			}
			r->st = LB_RS_SEALED;
		}
		/* Signatures over the thread pool. */
		n = lb_collect(d, LB_RS_SEALED);
		sc.b = d->b;
		sc.v = d->round;
		lb_win_parallel(lb_sign_one, &sc, n, n >= 4 ? d->helpers : 0);
		touched |= any;
		if (!any)
			break;
	}
	if (!d->dirty && touched) {
		d->dirty = 1;
		d->sync_due = lb_now_ms() + LB_SYNC_MS;
	}
}

/* Answers leave each connection in the order of its requests; a
 * connection that can get no more loses what it still had queued, once no
 * worker holds any of it. */
static void
lb_deliver(struct lb_win_daemon *d, struct lb_pconn *c)
{
	struct lb_req *r;

	while ((r = c->q_head) != NULL && (r->st == LB_RS_SIGNED || r->st == LB_RS_DEAD ||
	    (c->broken && r->job == NULL && r->st != LB_RS_RESOLVING && r->st != LB_RS_MAKING))) {
		if (r->st == LB_RS_DEAD)
			c->broken = 1;
		if (r->st == LB_RS_SIGNED && !c->broken && c->pipe != NULL &&
		    lb_broker_deliver(r->p, &c->out) != LB_OK)
			c->broken = 1;
		if ((c->q_head = r->next) == NULL)
			c->q_tail = NULL;
		c->q_len--;
		if (r->st == LB_RS_SIGNED)
			c->deadline = lb_now_ms() + lb_cfg(d)->io_timeout_ms;
		lb_req_free(d, r);
	}
}

/* After a round: write what is queued, read more where there is room,
 * close what is finished. */
static void
lb_after_round(struct lb_win_daemon *d, struct lb_pconn *c)
{
	if (c->listening)
		return;
	lb_deliver(d, c);
	if (c->pipe == NULL)
		return;
	if (c->broken) {
		lb_pconn_close(c);
		return;
	}
	if (lb_pconn_write(c) != 0) {
		lb_pconn_close(c);
		return;
	}
	if (c->eof) {
		/* The client finished sending: answer what it sent, then
		 * close. Half a frame left over can never complete. */
		if (c->q_len == 0 && lb_pconn_unsent(c) == 0)
			lb_pconn_close(c);
		return;
	}
	if (c->peer != NULL && c->q_len < LB_QUEUE_MAX && lb_pconn_unsent(c) < LB_OUT_HIGH &&
	    lb_pconn_read(c) != 0)
		c->eof = 1;   /* the client is gone: finish what it sent, then close */
	if (c->eof && c->q_len == 0 && lb_pconn_unsent(c) == 0)
		lb_pconn_close(c);
}

static void
lb_on_read(struct lb_win_daemon *d, struct lb_pconn *c, DWORD n, int ok)
{
	if (c->pipe == NULL)
		return;
	if (!ok || n == 0 || c->eof) {
		c->eof = 1;   /* gone, or past a bad frame: whatever follows is dropped */
	} else {
		memcpy(c->in + c->in_len, c->rbuf, n);   /* n <= the room asked for */
		c->in_len += n;
		if (c->peer == NULL && !c->identifying && lb_identify(d, c) != 0) {
			lb_pconn_close(c);
			return;
		}
	}
	if (c->peer == NULL && !c->identifying)
		lb_pconn_close(c);
}

static void
lb_on_write(struct lb_win_daemon *d, struct lb_pconn *c, DWORD n, int ok)
{
	if (c->pipe == NULL)
		return;
	if (!ok || n == 0 || n > c->wbuf.len - c->wsent) {
		lb_pconn_close(c);
		return;
	}
	c->wsent += n;
	c->deadline = lb_now_ms() + lb_cfg(d)->io_timeout_ms;
}

static void
lb_on_completion(struct lb_win_daemon *d, const OVERLAPPED_ENTRY *e)
{
	struct lb_op *op = (struct lb_op *)(void *)e->lpOverlapped;
	struct lb_pconn *c = op->c;
	/* OVERLAPPED.Internal holds the NTSTATUS: 0 is success. */
	int ok = e->lpOverlapped->Internal == 0;

	op->pending = 0;
	if (c->listening) {
		if (c->pipe == NULL) {         /* closed while listening (stop) */
			if (d->listener == c)
				d->listener = NULL;
			lb_pconn_free(c);
			return;
		}
		lb_connected(d, c, ok);
		return;
	}
	if (op->kind == LB_OP_READ)
		lb_on_read(d, c, e->dwNumberOfBytesTransferred, ok);
	else
		lb_on_write(d, c, e->dwNumberOfBytesTransferred, ok);
}

static void
lb_conns_compact(struct lb_win_daemon *d)
{
	size_t i, j = 0;

	for (i = 0; i < d->n_conns; i++) {
		if (lb_pconn_idle(d->conns[i]))
			lb_pconn_free(d->conns[i]);
		else
			d->conns[j++] = d->conns[i];
	}
	d->n_conns = j;
}

/* ---- policy ---- */

/* The policy file's fingerprint for lb_watch: NULL if it cannot be seen. */
struct lb_fp {
	uint64_t size, write_time, creation_time;
};

static const struct lb_fp *
lb_policy_fp(const struct lb_win_daemon *d, struct lb_fp *fp)
{
	WIN32_FILE_ATTRIBUTE_DATA st;

	if (!GetFileAttributesExW(d->wpolicy, GetFileExInfoStandard, &st))
		return NULL;
	memset(fp, 0, sizeof(*fp));
	fp->size = (uint64_t)st.nFileSizeHigh << 32 | st.nFileSizeLow;
	fp->write_time = (uint64_t)st.ftLastWriteTime.dwHighDateTime << 32 | st.ftLastWriteTime.dwLowDateTime;
	fp->creation_time = (uint64_t)st.ftCreationTime.dwHighDateTime << 32 | st.ftCreationTime.dwLowDateTime;
	return fp;
}

/* Group Policy's key: always a fingerprint, so that its removal (the
 * policy no longer applies) reloads too. NULL only if it cannot be read. */
static const struct lb_gpo_stamp *
lb_gpo_fp(const struct lb_win_daemon *d, struct lb_gpo_stamp *st)
{
	return lb_win_gpo_stamp(d->gpo_root, d->gpo_subkey, st) == LB_OK ? st : NULL;
}

static void
lb_stat_policy(struct lb_win_daemon *d)
{
	struct lb_fp fp;
	struct lb_gpo_stamp st;

	lb_watch_loaded(&d->watch, lb_policy_fp(d, &fp), sizeof(fp));
	lb_watch_loaded(&d->gpo_watch, lb_gpo_fp(d, &st), sizeof(st));
}

/* Group Policy's values, then the file they name (or --config), checked
 * and loaded, their settings over the file's (lb_win_load_fleet_policy).
 * The file chosen is watched from now on, even when it failed to load,
 * so that fixing it is seen. NOTE gets what Group Policy set. */
static int
lb_load(struct lb_win_daemon *d, struct lb_policy **out, struct lb_buf *note, struct lb_buf *err)
{
	char *path = NULL;
	wchar_t *w;
	int r;

	r = lb_win_load_fleet_policy(d->gpo_root, d->gpo_subkey, d->gpo_where, d->config, out,
	    &path, note, err);
	if (path != NULL && (d->policy == NULL || strcmp(path, d->policy) != 0) &&
	    (w = lb_win_wide(path)) != NULL) {
		free(d->policy);
		free(d->wpolicy);
		d->policy = path;
		d->wpolicy = w;
		path = NULL;
	}
	free(path);
	lb_stat_policy(d);
	return r;
}

/* " (Group Policy: PolicyFile = ..., MaxClients = ...)" or "". */
static const char *
lb_gpo_note(struct lb_buf *note, char *out, size_t n)
{
	const char *s;

	if (lb_buf_cstr(note, &s) != LB_OK || s[0] == '\0')
		return "";
	snprintf(out, n, " (Group Policy: %s)", s);
	return out;
}

static void
lb_reload(struct lb_win_daemon *d, const char *why)
{
	struct lb_policy *np = NULL;
	struct lb_buf err, note;
	const char *msg;
	char gp[1200];
	int r, moved;

	/* At once: requests in flight keep the policy they were admitted
	 * under (the broker holds it for them until they are freed). */
	lb_buf_init(&err, 64 * 1024);
	lb_buf_init(&note, 1024);
	if ((r = lb_load(d, &np, &note, &err)) != LB_OK) {
		if (lb_buf_cstr(&err, &msg) != LB_OK || msg[0] == '\0')
			msg = lb_strerror(r);
		lb_win_log_id(LB_WIN_ERR, LB_EVENT_POLICY_REFUSED, NULL, 0,
		    "policy reload (%s) failed, the previous policy stays in force: %s",
		    why, msg);
		goto out;
	}
	if (lb_serve_keep_floors(np, lb_cfg(d), &moved) != LB_OK) {
		lb_win_log_id(LB_WIN_ERR, LB_EVENT_POLICY_REFUSED, NULL, 0,
		    "policy reload failed (cannot keep the floors of the files in use), "
		    "the previous policy stays in force");
		lb_policy_free(np);
		goto out;
	}
	if (moved)
		lb_win_log(LB_WIN_WARN, "policy reload: endpoint, audit_log and service keys change only at restart");
	if (lb_broker_set_policy(d->b, np) != LB_OK) {
		lb_win_log_id(LB_WIN_ERR, LB_EVENT_POLICY_REFUSED, NULL, 0,
		    "policy reload failed (out of memory), the previous policy stays in force");
		lb_policy_free(np);
		goto out;
	}
	lb_win_log_id(LB_WIN_INFO, LB_EVENT_POLICY_RELOADED, NULL, 0, "policy reloaded (%s): %s%s",
	    why, d->policy, lb_gpo_note(&note, gp, sizeof(gp)));
out:
	lb_buf_free(&err);
	lb_buf_free(&note);
}

static void
lb_watch_policy(struct lb_win_daemon *d)
{
	struct lb_fp fp;
	struct lb_gpo_stamp st;
	const struct lb_fp *now = lb_policy_fp(d, &fp);

	if (now == NULL && lb_watch_present(&d->watch))
		lb_win_log(LB_WIN_WARN, "policy file %s: Windows error %lu; the current policy stays in force",
		    d->policy, GetLastError());
	if (lb_watch_seen(&d->watch, now, sizeof(fp)))
		lb_reload(d, "file changed");
	else if (lb_watch_seen(&d->gpo_watch, lb_gpo_fp(d, &st), sizeof(st)))
		lb_reload(d, "Group Policy changed");
}

static void
lb_audit_anchor(struct lb_win_daemon *d, const char *when)
{
	char head[128];

	if (d->audit == NULL)
		return;
	lb_serve_head(d->audit, head, sizeof(head));
	lb_win_log(LB_WIN_INFO, "audit log head %s: %s", when, head);
}

/* ---- the loop ---- */

static void
lb_timers(struct lb_win_daemon *d, uint64_t now)
{
	size_t i;

	lb_jobs_deadlines(d, now);
	lb_waits_deadlines(d, now);
	/* Silent or slow: its slot goes to others. A connection waiting for
	 * the broker's own work is not the client's fault (that work has
	 * deadlines of its own). */
	for (i = 0; i < d->n_conns; i++)
		if (d->conns[i]->pipe != NULL && now >= d->conns[i]->deadline &&
		    (d->conns[i]->q_len == 0 || lb_pconn_unsent(d->conns[i]) > 0))
			lb_pconn_close(d->conns[i]);
	if (d->dirty && now >= d->sync_due) {
		d->dirty = 0;
		/* After a failed FlushFileBuffers what is on disk is unknown:
		 * the broker refuses every request that needs the log ("the
		 * audit log cannot be written") until what it appended since the
		 * last good flush is written again and flushed (lb_broker_tick,
		 * once a second), and says so once a minute. The service goes
		 * on: a full or failing disk must not stop it for good. */
		if (lb_broker_sync(d->b) != LB_OK)
			d->sync_failed++;
	}
	if (d->listener == NULL && now >= d->listen_retry && lb_listen(d, 0) != LB_OK)
		d->listen_retry = now + LB_STAT_MS;
	if (now >= d->next_stat) {
		d->next_stat = now + LB_STAT_MS;
		lb_broker_tick(d->b, (uint64_t)time(NULL));
		lb_watch_policy(d);
		if (d->refused_busy > 0)
			lb_win_log(LB_WIN_WARN, "refused %lu connections: too many clients (max_clients %lu, per user %zu)",
			    d->refused_busy, (unsigned long)lb_cfg(d)->max_clients, lb_per_id_max(d));
		if (d->refused_identity > 0)
			lb_win_log(LB_WIN_WARN, "refused %lu connections without a usable identity (last: %s)",
			    d->refused_identity, d->refused_why);
		d->refused_busy = 0;
		d->refused_identity = 0;
	}
}

static DWORD
lb_wait_ms(const struct lb_win_daemon *d, uint64_t now)
{
	uint64_t next = d->next_stat;
	size_t i;

	if (d->dirty && d->sync_due < next)
		next = d->sync_due;
	if (d->listener == NULL && d->listen_retry < next)
		next = d->listen_retry;
	const struct lb_djob *j;

	for (i = 0; i < d->n_conns; i++)
		if (d->conns[i]->pipe != NULL && d->conns[i]->deadline < next)
			next = d->conns[i]->deadline;
	if (d->next_wait_deadline != 0 && d->next_wait_deadline < next)
		next = d->next_wait_deadline;
	for (j = d->live; j != NULL; j = j->next_live) {
		uint64_t t = j->deadline > j->next_cancel ? j->deadline : j->next_cancel;

		if (t < next)
			next = t;
	}
	return next <= now ? 0 : (DWORD)(next - now);
}

int
lb_win_daemon_loop(struct lb_win_daemon *d)
{
	OVERLAPPED_ENTRY ev[LB_BATCH];
	ULONG n, i;
	size_t k;

	d->next_stat = lb_now_ms() + LB_STAT_MS;
	while (!d->stop) {
		if (!GetQueuedCompletionStatusEx(d->iocp, ev, LB_BATCH, &n, lb_wait_ms(d, lb_now_ms()), FALSE)) {
			if (GetLastError() != WAIT_TIMEOUT) {
				lb_win_log(LB_WIN_ERR, "completion port: Windows error %lu", GetLastError());
				d->exit_code = LB_EXIT_FAILED;
				break;
			}
			n = 0;
		}
		for (i = 0; i < n; i++) {
			if (ev[i].lpCompletionKey == LB_KEY_STOP) {
				lb_win_log(LB_WIN_INFO, "stopping on request");
				d->stop = 1;
			} else if (ev[i].lpCompletionKey == LB_KEY_RELOAD) {
				lb_reload(d, "service control");
			} else if (ev[i].lpCompletionKey == LB_KEY_ROTATE) {
				lb_win_log(LB_WIN_INFO, "rotating the audit log (service control)");
				lb_rotate(d);
			} else if (ev[i].lpCompletionKey == LB_KEY_JOB && ev[i].lpOverlapped != NULL) {
				lb_on_job(d, (struct lb_djob *)(void *)ev[i].lpOverlapped);
			} else if (ev[i].lpOverlapped != NULL) {
				lb_on_completion(d, &ev[i]);
			}
		}
		lb_timers(d, lb_now_ms());
		lb_round(d);
		for (k = 0; k < d->n_conns; k++)
			lb_after_round(d, d->conns[k]);
		lb_conns_compact(d);
	}
	lb_audit_anchor(d, "at stop");
	return d->exit_code;
}

void
lb_win_daemon_set_identify(struct lb_win_daemon *d,
    int (*fn)(HANDLE tok, struct lb_win_peer **out, char *why, size_t whylen))
{
	d->identify_fn = fn != NULL ? fn : lb_win_peer_from_token;
}

void
lb_win_daemon_stop(struct lb_win_daemon *d)
{
	if (d != NULL && d->iocp != NULL)
		PostQueuedCompletionStatus(d->iocp, 0, LB_KEY_STOP, NULL);
}

void
lb_win_daemon_reload(struct lb_win_daemon *d)
{
	if (d != NULL && d->iocp != NULL)
		PostQueuedCompletionStatus(d->iocp, 0, LB_KEY_RELOAD, NULL);
}

void
lb_win_daemon_rotate(struct lb_win_daemon *d)
{
	if (d != NULL && d->iocp != NULL)
		PostQueuedCompletionStatus(d->iocp, 0, LB_KEY_ROTATE, NULL);
}

/* ---- start and stop ---- */

int
lb_win_daemon_start(const char *config, struct lb_win_daemon **out)
{
	return lb_win_daemon_start_fs(config, &lb_win_fs_ops, out);
}

int
lb_win_daemon_start_fs(const char *config, const struct lb_fs_ops *fs,
    struct lb_win_daemon **out)
{
	return lb_win_daemon_start_gpo(config, fs, HKEY_LOCAL_MACHINE, LB_GPO_SUBKEY, LB_GPO_WHERE, out);
}

int
lb_win_daemon_start_gpo(const char *config, const struct lb_fs_ops *fs, HKEY gpo_root,
    const wchar_t *gpo_subkey, const char *gpo_where, struct lb_win_daemon **out)
{
	struct lb_win_daemon *d;
	SYSTEM_INFO si;
	struct lb_policy *p = NULL;
	size_t remembered = 0;
	struct lb_audit_io io;
	uint8_t sk[LB_SK_BYTES];
	struct lb_buf err, note;
	const char *msg;
	char ebuf[512], gp[1200];
	uint64_t now = (uint64_t)time(NULL);
	int r;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return LB_E_NOMEM;
	lb_buf_init(&note, 1024);
	d->audit_file.h = INVALID_HANDLE_VALUE;
	d->exit_code = LB_EXIT_OK;
	d->fs = fs;
	d->identify_fn = lb_win_peer_from_token;
	GetSystemInfo(&si);
	d->helpers = si.dwNumberOfProcessors > 1 ? si.dwNumberOfProcessors - 1 : 0;
	lb_buf_init(&err, 64 * 1024);
	if ((r = lb_crypto_init()) != LB_OK) {
		lb_win_log(LB_WIN_ERR, "%s", lb_strerror(r));
		goto out;
	}
	r = LB_E_NOMEM;
	d->gpo_root = gpo_root;
	if ((d->gpo_subkey = _wcsdup(gpo_subkey)) == NULL || (d->gpo_where = lb_strdup(gpo_where)) == NULL)
		goto out;
	if ((d->config = lb_strdup(config)) == NULL || (d->policy = lb_strdup(config)) == NULL ||
	    (d->wpolicy = lb_win_wide(config)) == NULL) {
		lb_win_log(LB_WIN_ERR, "%s: not a valid file name", config);
		goto out;
	}
	switch (lb_win_redirection_guard()) {
	case LB_OK:
		lb_win_log(LB_WIN_INFO, "RedirectionGuard on: junctions made by non-administrators are not followed");
		break;
	case LB_E_UNSUPPORTED:
		lb_win_log(LB_WIN_WARN, "RedirectionGuard is not available on this Windows%s",
		    lb_win_is_wine() ? " (Wine)" : "; the broker's own file work may follow user junctions");
		break;
	default:
		lb_win_log(LB_WIN_ERR, "cannot turn on RedirectionGuard");
		r = LB_E_IO;
		goto out;
	}
	if ((r = lb_load(d, &p, &note, &err)) != LB_OK) {
		if (lb_buf_cstr(&err, &msg) != LB_OK || msg[0] == '\0')
			msg = lb_strerror(r);
		lb_win_log(LB_WIN_ERR, "%s", msg);
		goto out;
	}
	if ((r = lb_win_service_key(p->broker.service_key, p->broker.service_public_key,
	    sk, ebuf, sizeof(ebuf))) != LB_OK) {
		lb_win_log(LB_WIN_ERR, "service key: %s", ebuf);
		goto out;
	}
	if ((d->audit_file.path = lb_strdup(p->broker.audit_log)) == NULL) {
		r = LB_E_NOMEM;
		goto out;
	}
	if ((r = lb_open_audit_file(p->broker.audit_log, &d->audit_file.h)) != LB_OK)
		goto out;
	memset(&io, 0, sizeof(io));
	io.ctx = &d->audit_file;
	io.append = lb_audit_append_h;
	io.sync = lb_audit_sync_h;
	io.size = lb_audit_size_h;
	io.rewrite = lb_audit_rewrite_h;
	io.why = lb_audit_why_h;
	if ((r = lb_serve_open(p, sk, io, d->fs, now, &d->audit, &d->b, &remembered,
	    ebuf, sizeof(ebuf))) != LB_OK) {
		lb_win_log(LB_WIN_ERR, "%s", ebuf);
		goto out;
	}
	p = NULL;   /* the broker's now */
	r = LB_E_IO;
	if ((d->pipe_name = lb_win_wide(lb_cfg(d)->endpoint)) == NULL) {
		lb_win_log(LB_WIN_ERR, "endpoint %s: not a valid pipe name", lb_cfg(d)->endpoint);
		goto out;
	}
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(LB_SDDL_PIPE, SDDL_REVISION_1,
	    &d->pipe_sd, NULL)) {
		lb_win_log(LB_WIN_ERR, "pipe security descriptor: Windows error %lu", GetLastError());
		goto out;
	}
	if ((d->iocp = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1)) == NULL) {
		lb_win_log(LB_WIN_ERR, "completion port: Windows error %lu", GetLastError());
		goto out;
	}
	if ((d->round = calloc((size_t)LB_CLIENTS_CAP * LB_QUEUE_MAX, sizeof(*d->round))) == NULL ||
	    lb_win_workers_new(d->iocp, LB_KEY_JOB, LB_WORKERS_MAX, &d->workers) != LB_OK) {
		lb_win_log(LB_WIN_ERR, "cannot set up the worker threads: out of memory");
		r = LB_E_NOMEM;
		goto out;
	}
	if ((r = lb_listen(d, 1)) != LB_OK)
		goto out;
	lb_win_log(LB_WIN_INFO, "started: policy %s%s, pipe %s, audit log %s (%zu recent requests remembered; "
	    "file-system work on up to %d worker threads, signatures on %zu more)",
	    d->policy, lb_gpo_note(&note, gp, sizeof(gp)), lb_cfg(d)->endpoint, lb_cfg(d)->audit_log,
	    remembered, LB_WORKERS_MAX, d->helpers);
	lb_audit_anchor(d, "at start");
	*out = d;
	d = NULL;
	r = LB_OK;
out:
	lb_wipe(sk, sizeof(sk));
	lb_policy_free(p);
	lb_buf_free(&err);
	lb_buf_free(&note);
	lb_win_daemon_free(d);
	return r;
}

/* Close every instance and wait (bounded) for their cancelled operations
 * to come back before the memory they point into is freed. */
static void
lb_drain(struct lb_win_daemon *d)
{
	OVERLAPPED_ENTRY ev[LB_BATCH];
	uint64_t until = lb_now_ms() + LB_DRAIN_MS;
	ULONG n, i;
	size_t k;
	int busy;

	if (d->listener != NULL)
		lb_pconn_close(d->listener);
	for (k = 0; k < d->n_conns; k++)
		lb_pconn_close(d->conns[k]);
	for (;;) {
		busy = d->listener != NULL;
		for (k = 0; k < d->n_conns; k++)
			busy |= !lb_pconn_idle(d->conns[k]);
		if (!busy || lb_now_ms() >= until)
			break;
		if (!GetQueuedCompletionStatusEx(d->iocp, ev, LB_BATCH, &n, 100, FALSE))
			continue;
		for (i = 0; i < n; i++) {
			struct lb_op *op;

			if (ev[i].lpOverlapped == NULL || ev[i].lpCompletionKey != LB_KEY_PIPE)
				continue;
			op = (struct lb_op *)(void *)ev[i].lpOverlapped;
			op->pending = 0;
			if (op->c == d->listener && !op->c->rop.pending) {
				lb_pconn_free(op->c);
				d->listener = NULL;
			}
		}
	}
	if (busy) {
		/* Cancellations that never came back: leak rather than free
		 * memory the system may still write to; the process is ending. */
		lb_win_log(LB_WIN_WARN, "stopping with pipe operations still pending");
		d->listener = NULL;
		d->n_conns = 0;
		return;
	}
	lb_conns_compact(d);
}

/* At stop: the workers end their jobs (a stuck one is left to the
 * process's end), then what no worker holds is freed. */
static void
lb_drop_requests(struct lb_win_daemon *d)
{
	struct lb_req *r;
	size_t i;

	if (d->workers != NULL)
		lb_win_workers_free(d->workers, LB_DRAIN_MS);
	d->workers = NULL;
	for (i = 0; i < d->n_conns; i++) {
		struct lb_pconn *c = d->conns[i];

		if (c->jobs > 0)
			continue;
		while ((r = c->q_head) != NULL) {
			c->q_head = r->next;
			lb_req_free(d, r);
		}
		c->q_tail = NULL;
		c->q_len = 0;
	}
}

void
lb_win_daemon_free(struct lb_win_daemon *d)
{
	if (d == NULL)
		return;
	lb_drop_requests(d);
	if (d->iocp != NULL)
		lb_drain(d);
	if (d->b != NULL)
		lb_broker_summarize(d->b, (uint64_t)time(NULL));
	if (d->audit != NULL && lb_audit_sync(d->audit) != LB_OK)
		lb_win_log(LB_WIN_ERR, "audit log: final flush failed");
	lb_audit_close(d->audit);
	lb_broker_free(d->b);
	if (d->audit_file.h != INVALID_HANDLE_VALUE)
		CloseHandle(d->audit_file.h);
	free(d->audit_file.path);
	if (d->iocp != NULL)
		CloseHandle(d->iocp);
	LocalFree(d->pipe_sd);
	free(d->round);
	free(d->pipe_name);
	free(d->wpolicy);
	free(d->policy);
	free(d->gpo_subkey);
	free(d->gpo_where);
	free(d->config);
	free(d);
}
