/* lb_broker: the request handling both platforms share: decode, key
 * enrolled for the OS identity, signature, clock window and replay,
 * rate limit, policy on resolved paths, creation, audit, signed answer. */
#ifndef LB_BROKER_H
#define LB_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "lb_audit.h"
#include "lb_buf.h"
#include "lb_err.h"
#include "lb_path.h"
#include "lb_policy.h"
#include "lb_sig.h"
#include "lb_wire.h"

/* The client on the other end, as the operating system reports it. */
struct lb_peer {
	struct lb_principal who;     /* user, sid (POSIX: uid as decimal), home, groups */
	char id[128];                /* stable identity for rate limits ("uid:1000", a SID) */
	void *plat;                  /* platform data: credentials / impersonation token */
};

/* What the broker reports to the system's log beside its audit log:
 * syslog or journald, the Windows Event Log (docs/audit.md, "In the
 * system's logs"). The numbers are the Windows Event IDs and journald's
 * LINKBROKER_EVENT_ID; they never change meaning. */
enum lb_event_id {
	LB_EVENT_CREATED = 1000,        /* a create allowed: the link is made next
	                                 * (a FAILED with the same user and link follows if not) */
	LB_EVENT_ANSWERED = 1001,       /* a dry run or status question answered yes */
	LB_EVENT_BATCH = 1002,          /* a batch decided: one event per batch */
	LB_EVENT_REMOVED = 1003,        /* a remove allowed: the link is removed next
	                                 * (a FAILED with the same user and link follows if not) */
	LB_EVENT_DENIED = 2000,         /* a request refused (policy, key, signature, clock, replay, ...) */
	LB_EVENT_FAILED = 3000,         /* allowed, but not made: the file system said no */
	LB_EVENT_POLICY_RELOADED = 4000,
	LB_EVENT_POLICY_REFUSED = 4001, /* a reload refused: the previous policy stays */
	LB_EVENT_AUDIT_FAILED = 5000,   /* the audit log cannot be written: every request refused */
	LB_EVENT_AUDIT_RESTORED = 5001, /* it can again */
};

/* One event: TEXT the line for people (may hold client bytes: the
 * platform shows control characters escaped); for an audit record's
 * event, its fields (NULL where the record has none) and SEQ (0: none). */
struct lb_event {
	enum lb_event_id id;
	const char *text;
	const char *event, *verdict, *user, *sid, *kind, *rule;
	const char *link; size_t link_len;       /* as asked (may be cut, as in the record) */
	const char *target; size_t target_len;
	int error;
	uint64_t seq;
};

/* File-system work, done by the platform on behalf of the client. Handles
 * are opaque. Every call returns LB_OK or an LB_E_* code. */
struct lb_fs_ops {
	/* Open the directory that will hold LINK (canonical, absolute) with the
	 * client's rights, following links once; *resolved = its final path
	 * (POSIX: the dirfd's path; Windows: GetFinalPathNameByHandleW). */
	int (*open_parent)(const struct lb_peer *peer, const struct lb_path *link,
	    void **dir, struct lb_path *resolved);
	/* Hard links: pin TARGET and check the client may read and write it,
	 * with no side effect on a dry run (POSIX: an access check on the
	 * pinned inode, nothing opened for writing; Windows: opened as the
	 * client for read and write access, which changes nothing on NTFS);
	 * *resolved = its final path. */
	int (*open_target)(const struct lb_peer *peer, const struct lb_path *target,
	    void **file, struct lb_path *resolved);
	/* Create NAME in DIR, never replacing anything (LB_E_EXISTS). TARGET
	 * is as the client typed it (symbolic links) or the resolved absolute
	 * path (junctions); FILE is the open_target handle for hard links. */
	int (*create)(const struct lb_peer *peer, void *dir, const char *name,
	    enum lb_kind kind, const char *target, void *file);
	/* Remove NAME from DIR (not called by the broker any more: a create's
	 * decision is recorded before the link is made; kept for the fs tests
	 * and tools). */
	int (*remove)(const struct lb_peer *peer, void *dir, const char *name);
	void (*close)(void *handle);
	/* To syslog or journald / the Event Log (may be NULL). */
	void (*event)(const struct lb_event *ev);
	/* Symbolic links and junctions (may be NULL: the target is then
	 * decided as written): TARGET (canonical, absolute) as the client's
	 * file system has it: where it exists, the final path of TARGET
	 * opened as the client, reparse points followed; where it does not,
	 * the final path of its deepest existing folder with the rest
	 * appended. LB_OK with *resolved, or an LB_E_* code (the request
	 * fails). */
	int (*resolve_target)(const struct lb_peer *peer, const struct lb_path *target,
	    struct lb_path *resolved);
	/* The same where the kernel follows a symbolic link's text itself
	 * (POSIX; may be NULL, and is preferred to resolve_target when set):
	 * AS_WRITTEN, the target as the client typed it (no NUL), walked as
	 * the client from DIR (the open_parent handle) when relative, every
	 * ".." taken after the links before it, as the kernel does. */
	int (*resolve_target_at)(const struct lb_peer *peer, void *dir, const char *as_written,
	    struct lb_path *resolved);
	/* Milliseconds of a monotonic clock, for the rate limits' pacing
	 * (may be NULL: the request's time in whole seconds). */
	uint64_t (*clock_ms)(void);
	/* A batch's work (both may be NULL): HOLD takes the client's
	 * credentials on this thread until RELEASE, and the calls above made
	 * meanwhile for PEER skip their own switch (one switch per batch
	 * instead of one per call). LB_OK, or the calls switch as usual. */
	int (*hold)(const struct lb_peer *peer);
	void (*release)(void);
	/* After a create that worked (may be NULL): the identity of NAME in
	 * DIR, the link itself and not what it points at, as lb_file_id_ok
	 * wants it (POSIX "DEV:INO", Windows "VOLUME:FILEINDEX"); it goes in
	 * the "made" record (docs/audit.md). LB_OK, or the record has none. */
	int (*identify)(const struct lb_peer *peer, void *dir, const char *name,
	    char id[LB_FILE_ID_MAX]);
	/* `linkbroker rm` (may be NULL: removal unsupported): remove NAME
	 * from DIR as the client, only if it is still the link the broker
	 * made, that is of KIND (symlink, dirsymlink: a symbolic link;
	 * junction: a mount point; hardlink: a file that is not a directory
	 * nor a reparse point) and with the identity FILE_ID (as identify
	 * gives it). The link itself, never what it points at. LB_OK removed;
	 * LB_E_NOENT nothing by that name; LB_E_CHANGED something else now;
	 * LB_E_LAST_NAME a hard link that is its file's only name left (it
	 * would delete the file); else the file system's refusal. */
	int (*unlink_made)(const struct lb_peer *peer, void *dir, const char *name,
	    enum lb_kind kind, const char *file_id);
	/* Run FN(ARG) on a thread of its own, detached (may be NULL, or fail:
	 * the broker then runs it in place). For the index's start-up read. */
	int (*spawn)(void (*fn)(void *arg), void *arg);
};

/* Requests per identity: a token bucket of the policy's requests_per_sec
 * and requests_burst ([broker], docs/policy.md). */
/* Requests refused before the client is authenticated (malformed, bad
 * signature, key not enrolled) have a much smaller budget of their own, and
 * are logged in a bounded form: an unenrolled user cannot fill the audit
 * disk (which would make the broker refuse everyone). */
#define LB_REJECT_PER_SEC 5
#define LB_REJECT_BURST 20
#define LB_REJECT_PATH_LOG 256   /* bytes of each path kept in such a record */
/* Refused requests of one OS identity (peer id) may take at most
 * LB_AUDIT_BUDGET_BYTES of audit records per LB_AUDIT_BUDGET_WINDOW_S
 * (checked before each record, so one record more may be written); past
 * it they are still answered, counted, and summarized in one "summary"
 * record when the window ends (docs/audit.md, "Bounded volume"): one user
 * cannot fill the audit file system, which would refuse everyone. */
#define LB_AUDIT_BUDGET_BYTES (256u * 1024)
#define LB_AUDIT_BUDGET_WINDOW_S 60u
#define LB_AUDIT_BUDGET_IDS 1024     /* identities tracked at once */
/* While the audit log cannot be written, the event log says so when it
 * starts, then at most once per this many seconds with a count, and when
 * it ends. */
#define LB_AUDIT_DOWN_REPORT_S 60

struct lb_broker;

/* POLICY becomes the broker's (freed by it); AUDIT is borrowed. */
int lb_broker_new(struct lb_policy *policy, const uint8_t sk[LB_SK_BYTES],
    struct lb_audit *audit, const struct lb_fs_ops *fs, struct lb_broker **out) LB_WUR;
/* Hot reload: POLICY (loaded cleanly) becomes the broker's and decides
 * every request prepared from now on; those prepared before are decided
 * and answered under the policy they started with, which is freed with
 * the last of them. LB_E_NOMEM: nothing changed, POLICY is the caller's. */
int lb_broker_set_policy(struct lb_broker *b, struct lb_policy *policy) LB_WUR;
const struct lb_policy *lb_broker_policy(const struct lb_broker *b);
/* Earlier policies still deciding requests in flight (tests, statistics). */
size_t lb_broker_policies_kept(const struct lb_broker *b);

/* Replay cache entry from the audit log at start-up (lb_audit_open callback). */
void lb_broker_remember(void *broker, const uint8_t key[LB_PK_BYTES],
    const uint8_t nonce[LB_NONCE_BYTES], uint64_t timestamp);

/* Handle one request message MSG (the frame's payload) from PEER at time
 * NOW (Unix seconds) and append the response frame to OUT. LB_OK when a
 * response is in OUT (allowed or not); an error means no answer can be
 * given and the connection should be dropped. When the audit log cannot
 * be written the answer is a refusal, LB_E_AUDIT, with nothing made (fail
 * closed): the only answer that has no record of its own (the event log
 * counts them, docs/audit.md). */
int lb_broker_handle(struct lb_broker *b, const struct lb_peer *peer,
    const uint8_t *msg, size_t len, uint64_t now, struct lb_buf *out) LB_WUR;

/* The same in steps, so that a daemon can make one sync serve the
 * requests of a whole round (group commit with audit_sync = always) and
 * spread the signature work over threads:
 *   lb_broker_prepare  P for the message MSG_IN (copied) from PEER (which
 *                      must outlive P).
 *   lb_broker_precheck (optional, any thread, one P per thread) verifies
 *                      P's signature ahead; skipped when PEER is over its
 *                      rate limit (refused without any crypto).
 *   lb_broker_start    every check and the decision; its audit record
 *                      appended (not yet durable). An error: no answer can
 *                      be given (fail closed), nothing was made.
 *   lb_broker_flush    (optional) audit_sync = always: one sync for every
 *                      record so far.
 *   lb_broker_make     an allowed create made, once its decision is
 *                      durable (always); a failure recorded as well.
 *   lb_broker_flush    (optional) for the failures' records.
 *   lb_broker_seal     makes P's records durable if nobody did (always)
 *                      and fixes its answer (lb_broker_make first if it
 *                      was not called).
 *   lb_broker_sign     (any thread, one P per thread) signs the answer.
 *   lb_broker_deliver  appends the signed answer's frame to OUT.
 * lb_broker_begin = prepare + start (P freed on error); lb_broker_answer =
 * seal + sign + deliver. Steps left out only cost syncs or speed: no link
 * is made before its decision is durable and no answer goes out before
 * its records are (always). Steps out of order are LB_E_INVAL. Free P
 * with lb_broker_pending_free whatever happened. */
struct lb_pending;
/* A request's file-system work (opening the link's folder and its target
 * as the client, resolving them), apart so that a daemon can run it on a
 * worker thread with a deadline: lb_broker_start = lb_broker_admit, then
 * lb_fswork_run, then lb_broker_decide.
 *   lb_broker_admit   every check before the file system (rate, signature,
 *                     key, clock, replay); *W the work to do, or NULL if
 *                     there is none (refused, or a status request).
 *   lb_fswork_run     (any thread, W only; nothing of the broker's) the
 *                     opens and resolutions, as the client.
 *   lb_broker_decide  W's results into P (W freed), the decision, and its
 *                     audit record, as lb_broker_start.
 *   lb_broker_timeout instead of lb_broker_decide when W did not finish by
 *                     its deadline: P fails with LB_E_FS_TIMEOUT (recorded);
 *                     W is the running thread's, to be freed by
 *                     lb_fswork_free once it returns (no side effect is
 *                     lost: the work only opens and reads). */
struct lb_fswork;
int lb_broker_admit(struct lb_broker *b, struct lb_pending *p, struct lb_fswork **w) LB_WUR;
void lb_fswork_run(struct lb_fswork *w);
int lb_broker_decide(struct lb_broker *b, struct lb_pending *p, struct lb_fswork *w) LB_WUR;
int lb_broker_timeout(struct lb_broker *b, struct lb_pending *p) LB_WUR;
void lb_fswork_free(struct lb_fswork *w);
/* lb_broker_make in two parts, so that the create can run on a worker:
 * lb_broker_make_begin: 1 if P has a link to make (its decision made
 * durable first), 0 if not, <0 an error as lb_broker_make's; then
 * lb_broker_make_run (any thread, P only) makes it and lb_broker_make_end
 * (the broker's thread) records a failure. */
int lb_broker_make_begin(struct lb_broker *b, struct lb_pending *p) LB_WUR;
void lb_broker_make_run(struct lb_pending *p);
int lb_broker_make_end(struct lb_broker *b, struct lb_pending *p) LB_WUR;
/* Instead of lb_broker_make_run when the create could not even start in
 * time (no worker free before the request's deadline): lb_broker_make_end
 * then records the failure RC, and nothing is made. */
void lb_broker_make_cancel(struct lb_pending *p, int rc);
int lb_broker_prepare(struct lb_broker *b, const struct lb_peer *peer,
    const uint8_t *msg_in, size_t len, uint64_t now, struct lb_pending **p) LB_WUR;
void lb_broker_precheck(struct lb_pending *p);
int lb_broker_start(struct lb_broker *b, struct lb_pending *p) LB_WUR;
int lb_broker_begin(struct lb_broker *b, const struct lb_peer *peer,
    const uint8_t *msg_in, size_t len, uint64_t now, struct lb_pending **p) LB_WUR;
int lb_broker_flush(struct lb_broker *b) LB_WUR;
int lb_broker_make(struct lb_broker *b, struct lb_pending *p) LB_WUR;
int lb_broker_seal(struct lb_broker *b, struct lb_pending *p) LB_WUR;
int lb_broker_sign(const struct lb_broker *b, struct lb_pending *p) LB_WUR;
int lb_broker_deliver(struct lb_pending *p, struct lb_buf *out) LB_WUR;
int lb_broker_answer(struct lb_broker *b, struct lb_pending *p, struct lb_buf *out) LB_WUR;
void lb_broker_pending_free(struct lb_broker *b, struct lb_pending *p);

/* The audit_sync = batch timer's sync: LB_OK, or LB_E_AUDIT (requests
 * are then refused until lb_audit_repair succeeds; said once a minute). */
int lb_broker_sync(struct lb_broker *b) LB_WUR;
/* Once a second or so (NOW Unix seconds): retry a failed audit log
 * (lb_audit_repair), the once-a-minute report of requests refused for it,
 * and the summary records of identities over their audit budget whose
 * window has ended. */
void lb_broker_tick(struct lb_broker *b, uint64_t now);
/* At stop: every identity's summary record now, windows ended or not
 * (NOW Unix seconds), so no count of requests it held is lost. */
void lb_broker_summarize(struct lb_broker *b, uint64_t now);

/* The links made and not removed, from the log at PATH and its rotated
 * files PATH.1, PATH.2, ... (read in the order of their chain; records
 * only, nothing verified), for `linkbroker list` and `rm`. LB_OK, also
 * when there is no log; *LINKS (may be NULL) the links indexed. */
int lb_broker_load_index(struct lb_broker *b, const char *path, size_t *links) LB_WUR;
/* The same without stalling start-up (reading a log of a million links
 * takes seconds): lb_broker_index_begin notes the records so far and the
 * files to read; lb_index_job_run (any thread, nothing of the broker's)
 * reads them; the next lb_broker_tick after it takes the result in, with
 * the links made meanwhile. Until then list and remove requests are
 * answered busy (the client waits and asks again). A job begun must be
 * run once (it is freed by the last of the run and the broker).
 * lb_broker_index_start is begin, then run on a thread of its own
 * (lb_fs_ops.spawn) or in place. */
struct lb_index_job;
int lb_broker_index_begin(struct lb_broker *b, const char *path, struct lb_index_job **job) LB_WUR;
void lb_index_job_run(struct lb_index_job *j);
int lb_broker_index_start(struct lb_broker *b, const char *path) LB_WUR;
/* Whether the index is complete (no start-up read in progress). */
int lb_broker_index_ready(const struct lb_broker *b) LB_WUR;

void lb_broker_free(struct lb_broker *b);

#endif
