/* lb_session: the client side of the protocol, once: a connection to the
 * broker, the user's key, signed requests, genuine answers, busy retries
 * and pipelined batches. liblinkbroker's API and the CLI are built on it. */
#ifndef LB_SESSION_H
#define LB_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "lb_buf.h"
#include "lb_client.h"
#include "lb_path.h"
#include "lb_sig.h"
#include "lb_wire.h"

/* batch pipelining: at most this many requests, and this many bytes of
 * them, in flight (one more whatever its size). Small enough that the
 * answers to them always fit in the socket or pipe buffers (64 KiB and
 * more) while we are still sending, so neither side waits on the other. */
#define LB_BATCH_WINDOW 32
#define LB_BATCH_WINDOW_BYTES (16u * 1024u)
#define LB_WHY_MAX (4u * LB_PATH_BUF_MAX)
/* The public half of a libsodium Ed25519 secret key is its last 32 bytes. */
#define LB_SK_PK_OFFSET (LB_SK_BYTES - LB_PK_BYTES)

/* Where a request stands when its result is delivered (linkbroker.h's
 * enum linkbroker_state has the same values). */
enum lb_res_state {
	LB_RES_ANSWERED = 0,
	LB_RES_UNANSWERED = 1,
	LB_RES_NOT_SENT = 2,
};

/* One link request and, once known, its outcome. The strings of the
 * outcome point into the session (or the broker's answer) until the
 * result has been delivered. */
struct lb_result {
	size_t index;                 /* the caller's: batch position */
	uint8_t type;                 /* LB_MSG_CREATE or LB_MSG_CHECK */
	enum lb_kind kind;
	const char *link, *target;    /* as given */
	int status;                   /* LB_OK or LB_E_* */
	int allowed;                  /* the broker's verdict */
	int state;                    /* enum lb_res_state */
	int stopped;                  /* batch: this failure stopped it */
	const char *rule;
	size_t rule_len;
	const char *msg;
	size_t msg_len;
};

/* The exit code of R (a failure never reports success; a zeroed verdict
 * denies). */
int lb_result_exit(const struct lb_result *r);

/* Called with each result of a batch, in the order of the requests. */
typedef void lb_result_cb(void *arg, const struct lb_result *r);
/* Called at most once a second while the broker paces a batch. */
typedef void lb_pace_cb(void *arg, size_t delivered);

struct lb_session {
	const char *endpoint;
	const char *service_key_file;
	struct lb_path cwd;               /* on first use */
	uint8_t sk[LB_SK_BYTES];
	int have_sk;
	uint8_t service_pk[LB_PK_BYTES];
	struct lb_conn *conn;             /* on first use */
	struct lb_buf body, frame;        /* the request going out */
	uint8_t *in;                      /* answers coming in */
	size_t in_len;                    /* bytes received into IN */
	size_t in_used;                   /* of which the last answer taken */
	struct lb_buf why;                /* the last failure, for the user */
	uint32_t retry_ms;                /* the last busy answer's wait */
	lb_result_cb *on_result;
	void *on_result_arg;
	lb_pace_cb *on_pace;
	void *on_pace_arg;
	/* batch: requests not delivered yet, in request order (Q, from
	 * Q_HEAD), and those of them on the wire, in the order sent (W:
	 * indices into Q) */
	struct lb_inflight {
		struct lb_result res;
		uint8_t nonce[LB_NONCE_BYTES];
		size_t bytes;
		int state;                /* LB_IF_* */
		uint64_t busy_since;      /* its first busy answer (ms), 0: none */
		char *copy;               /* DONE: the answer's rule and message */
	} q[LB_BATCH_WINDOW];
	size_t q_head, q_n;
	size_t w[LB_BATCH_WINDOW], w_head, w_n, w_bytes;
	size_t n_busy;                    /* entries of Q to send again */
	uint64_t busy_until;              /* not before this (ms) */
	unsigned conn_busy;               /* "too many clients" answers in a row */
	int stop_status;                  /* what stopped the batch */
	size_t delivered;                 /* results delivered (progress) */
	uint64_t progress_at;
	int no_batch;                     /* the broker speaks protocol version 1 only */
};

/* ENDPOINT and SERVICE_KEY_FILE must outlive the session. */
void lb_session_init(struct lb_session *s, const char *endpoint, const char *service_key_file);
void lb_session_free(struct lb_session *s);

/* The user's key, loaded once (LB_E_NOENT: the user has none). */
int lb_session_key(struct lb_session *s) LB_WUR;
/* A throwaway key in place of the user's missing one (status asks "who
 * am I" with it and hears "not enrolled"). */
int lb_session_key_throwaway(struct lb_session *s) LB_WUR;

/* One create or check request (RES: type, kind, link, target): resolved,
 * signed, sent, answered (busy retried). RES's outcome is set; its strings
 * point into the session until the next call. Returns RES's status (the
 * broker's, or why it could not be asked). */
int lb_session_request(struct lb_session *s, struct lb_result *res);

/* A status request. LB_OK with RESP (pointing into the session until the
 * next call), or why it could not be asked (s->why says). */
int lb_session_status(struct lb_session *s, struct lb_response *resp) LB_WUR;

/* Remove LINK (relative: to the current directory), a link the broker
 * made for this user; list one page of them, under PREFIX (NULL: all)
 * after CURSOR (NULL: from the first). LB_OK with RESP (pointing into the
 * session until the next call), or why it could not be asked. */
int lb_session_remove(struct lb_session *s, const char *link, struct lb_response *resp) LB_WUR;
int lb_session_list(struct lb_session *s, const char *prefix, const char *cursor,
    struct lb_response *resp) LB_WUR;

/* Batch: the N requests at RQ (index, type, kind, link, target),
 * pipelined; each result goes to s->on_result in request order. LB_OK,
 * or the status that stopped the batch (the results after it are
 * UNANSWERED or NOT_SENT). */
int lb_session_batch(struct lb_session *s, const struct lb_result *rq, size_t n);

#endif
