/* lb_serve: what both daemons (service/posix/, service/win/) do around the
 * broker the same way: remember recent requests from the audit log at
 * start, keep the floors of the files in use across a reload, and print the
 * audit log's head for the system log. */
#ifndef LB_SERVE_H
#define LB_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "lb_audit.h"
#include "lb_broker.h"
#include "lb_err.h"
#include "lb_policy.h"

/* Replay entries found while opening the log (lb_audit_open's callback
 * with a struct lb_seen as CTX), handed to the broker once it exists. */
struct lb_seen {
	struct lb_seen_rec *v;
	size_t n, cap;
	int nomem;                  /* an entry was lost: refuse to start */
};

void lb_seen_collect(void *seen, const uint8_t key[LB_PK_BYTES],
    const uint8_t nonce[LB_NONCE_BYTES], uint64_t timestamp);
void lb_seen_apply(const struct lb_seen *s, struct lb_broker *b);
void lb_seen_free(struct lb_seen *s);

/* Open the audit log at POLICY's audit_log through IO, remember the
 * requests it holds from the last max_clock_skew_s seconds before NOW (the
 * replay cache survives restarts), and make the broker. On LB_OK POLICY is
 * the broker's, *AUDIT and *BROKER are set and *REMEMBERED counts the
 * requests; on error nothing is left open, POLICY is still the caller's,
 * and ERR says what failed. */
int lb_serve_open(struct lb_policy *policy, const uint8_t sk[LB_SK_BYTES],
    struct lb_audit_io io, const struct lb_fs_ops *fs, uint64_t now,
    struct lb_audit **audit, struct lb_broker **broker, size_t *remembered,
    char *err, size_t errlen) LB_WUR;

/* A reload that moves the endpoint, audit log or service keys takes effect
 * at restart only; until then the directories of the files still in use
 * stay floors of the new policy NP. *MOVED says whether anything moved.
 * LB_OK, or an error (NP must then not be used). */
int lb_serve_keep_floors(struct lb_policy *np, const struct lb_broker_cfg *old,
    int *moved) LB_WUR;

/* When to reload a watched file. The platform reduces the file's state to
 * a fingerprint (identity, size, times; at most LB_WATCH_FP_MAX bytes, no
 * padding garbage) and says what it saw each interval; a change is loaded
 * only once it has held still for a whole interval (an editor that
 * truncates and then writes would otherwise have its empty file loaded). */
#define LB_WATCH_FP_MAX 64
struct lb_watch {
	uint8_t loaded[LB_WATCH_FP_MAX], cand[LB_WATCH_FP_MAX];
	size_t loaded_n, cand_n;      /* 0: none (missing / no change pending) */
};
/* The file as just (re)loaded; FP NULL if it was missing. */
void lb_watch_loaded(struct lb_watch *w, const void *fp, size_t n);
/* The file as seen now (FP NULL: missing). 1: reload it now. */
int lb_watch_seen(struct lb_watch *w, const void *fp, size_t n);
/* Whether the file was there when last loaded or seen. */
int lb_watch_present(const struct lb_watch *w);

/* "seq N hash HEX" of the log's last record, for the system log. */
void lb_serve_head(const struct lb_audit *a, char *out, size_t outlen);

/* A connection's input: IN[0..*LEN) read, frames taken up to *OFF.
 * lb_serve_frame: 1 and the next whole frame's message (*OFF moves past
 * it); 0 if it is not all there yet; -1 if it is not our protocol (empty
 * or over-long): *LEN and *OFF become 0, so the requests before it are
 * still answered and nothing after it is read (the caller reads no more).
 * lb_serve_frames_done drops the frames taken. */
int lb_serve_frame(size_t *len, size_t *off, const uint8_t *in, const uint8_t **msg,
    size_t *mlen) LB_WUR;
void lb_serve_frames_done(uint8_t *in, size_t *len, size_t off);

#endif
