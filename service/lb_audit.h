/* lb_audit: the tamper-evident audit log: one JSON line per decision, each
 * carrying the BLAKE2b hash of the previous line (prev) and of itself (hash),
 * written before the client is answered; and its offline verifier. */
#ifndef LB_AUDIT_H
#define LB_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "lb_buf.h"
#include "lb_err.h"
#include "lb_policy.h"
#include "lb_sig.h"
#include "lb_wire.h"

/* What the platform gives the log: an append-only file. */
struct lb_audit_io {
	void *ctx;
	/* Append all N bytes (LB_OK) or fail (LB_E_IO); never a partial line
	 * reported as success. */
	int (*append)(void *ctx, const void *p, size_t n);
	/* fdatasync / FlushFileBuffers. */
	int (*sync)(void *ctx);
};

/* One decision. Strings may be NULL (written as null); byte strings from
 * the request (link, target) are written JSON-escaped, invalid UTF-8 as
 * \u00XX escapes of each byte, so any line stays one valid JSON line. */
struct lb_audit_rec {
	const char *event;          /* "create" "check" "status" "reject" */
	const char *verdict;        /* "allowed" "denied" "failed" */
	const char *user;
	const char *sid;            /* SID, or the uid as decimal on POSIX */
	const struct lb_group *groups;  size_t n_groups;
	enum lb_kind kind;
	const char *link;   size_t link_len;     /* as asked */
	const char *target; size_t target_len;   /* as asked */
	const char *link_resolved;               /* as decided on (final path) */
	const char *target_resolved;
	const char *rule;           /* deciding rule name */
	const char *reason;         /* human text: why denied or failed */
	int error;                  /* LB_OK or LB_E_* */
	const char *key_name;       /* [key:NAME] that signed, if enrolled */
	const uint8_t *request;  size_t request_len;  /* signed body, for verify-audit */
	const uint8_t *sig;         /* LB_SIG_BYTES, or NULL */
};

struct lb_audit;

/* Open the log: read the existing file at PATH (if any) to find the last
 * sequence number and hash so the chain continues. For each existing record
 * whose request timestamp is >= SINCE, call ON_RECORD(ctx, key, nonce,
 * timestamp) so the broker can rebuild its replay cache after a restart.
 * IO is used for all later writes. */
int lb_audit_open(const char *path, struct lb_audit_io io, uint64_t since,
    void (*on_record)(void *ctx, const uint8_t key[LB_PK_BYTES],
        const uint8_t nonce[LB_NONCE_BYTES], uint64_t timestamp),
    void *ctx, struct lb_audit **out) LB_WUR;

/* Append one record (seq, UTC time, prev, hash added here). SYNC_NOW makes
 * it durable before returning (audit_sync = always). LB_OK only if the whole
 * line was written: the caller answers the client only then (fail closed). */
int lb_audit_append(struct lb_audit *a, const struct lb_audit_rec *rec,
    uint64_t now, int sync_now) LB_WUR;
/* Make everything appended so far durable (audit_sync = batch timer). */
int lb_audit_sync(struct lb_audit *a) LB_WUR;
void lb_audit_close(struct lb_audit *a);

/* Verify the log at PATH: the hash chain, sequence numbers and, if POLICY
 * is not NULL, each record's request signature against the key enrolled
 * there. LB_OK if intact; otherwise LB_E_* with "LINE: what is wrong" in MSG. */
int lb_audit_verify(const char *path, const struct lb_policy *policy,
    struct lb_buf *msg, size_t *records) LB_WUR;

#endif
