/* lb_wire: the broker protocol's frames and messages, encoded and decoded
 * field by field (never by copying structs); decoders reject short, long,
 * trailing and unknown bytes. Byte layout: docs/protocol.md. */
#ifndef LB_WIRE_H
#define LB_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "lb_buf.h"
#include "lb_err.h"
#include "lb_sig.h"

#define LB_WIRE_VERSION 1
#define LB_WIRE_VERSION_BATCH 2  /* the batch messages (docs/protocol.md, "Batches") */
#define LB_FRAME_HDR 4
#define LB_FRAME_MAX 65536       /* largest message after the length word */
#define LB_WIRE_STR_MAX 32767    /* largest string field, bytes */

enum lb_msg_type {
	LB_MSG_CREATE = 1,   /* create a link */
	LB_MSG_CHECK = 2,    /* dry run */
	LB_MSG_STATUS = 3,   /* who am I, is my key enrolled */
	LB_MSG_RESPONSE = 0x81,
	LB_MSG_BUSY = 0x82,  /* unsigned "busy, retry after N ms" (never a verdict) */
	LB_MSG_BATCH = 4,    /* version 2: many creates and checks, signed once */
	LB_MSG_BATCH_RESPONSE = 0x83,  /* version 2: every result, signed once */
	LB_MSG_REMOVE = 5,   /* remove a link the broker made for this user */
	LB_MSG_LIST = 6,     /* one page of the links the broker made for this user */
};
/* A list answer's message: at most this many bytes of JSON lines, one
 * per link (docs/protocol.md, "Lists"); its rule field is the cursor of
 * the next page, empty after the last. */
#define LB_LIST_PAGE_MAX 30000

enum lb_kind {
	LB_KIND_NONE = 0,    /* status requests only */
	LB_KIND_SYMLINK = 1,
	LB_KIND_DIRSYMLINK = 2,
	LB_KIND_HARDLINK = 3,
	LB_KIND_JUNCTION = 4,
};
#define LB_KIND_MAX LB_KIND_JUNCTION

/* "symlink", "dirsymlink", "hardlink", "junction" (NULL for others). */
const char *lb_kind_name(enum lb_kind k);
int lb_kind_parse(const char *s, enum lb_kind *out) LB_WUR;
/* What mklink calls KIND in its lines ("symbolic link created for ..."):
 * "Hardlink", "Junction", else "symbolic link". */
const char *lb_kind_mklink(enum lb_kind k);

/* A request. Strings point into caller storage (encode) or into the decoded
 * bytes (decode): the struct owns nothing. */
struct lb_request {
	uint8_t version;
	uint8_t type;                 /* enum lb_msg_type, not RESPONSE */
	uint8_t kind;                 /* enum lb_kind; NONE iff STATUS */
	uint64_t timestamp;           /* Unix seconds, UTC */
	uint8_t nonce[LB_NONCE_BYTES];
	uint8_t key[LB_PK_BYTES];     /* signer's public key */
	const char *link; size_t link_len;
	const char *target; size_t target_len;
	uint8_t sig[LB_SIG_BYTES];
};

enum lb_verdict {
	LB_VERDICT_DENY = 0,          /* zero denies */
	LB_VERDICT_ALLOW = 1,
};

struct lb_response {
	uint8_t version;
	uint8_t type;                 /* LB_MSG_RESPONSE */
	uint8_t nonce[LB_NONCE_BYTES];/* the request's nonce */
	int32_t status;               /* LB_OK or a negative LB_E_* */
	uint8_t verdict;              /* enum lb_verdict */
	const char *rule; size_t rule_len;       /* deciding rule, may be empty */
	const char *message; size_t message_len; /* human text, may be empty */
	uint8_t sig[LB_SIG_BYTES];
};

/* "Busy, try again in RETRY_MS": the broker's cheap refusal of a request
 * over its identity's rate or pre-authentication budget (STATUS LB_E_RATE,
 * NONCE the request's) or of a connection when it is full (LB_E_BUSY, NONCE
 * zero, then the connection is closed). Unsigned on purpose, so that a
 * flood costs no signature: anyone who can forge it can only make a client
 * wait and resend, never give it a verdict (docs/protocol.md). */
struct lb_busy {
	uint8_t version;
	uint8_t type;                 /* LB_MSG_BUSY */
	uint8_t nonce[LB_NONCE_BYTES];/* the request's, or zero: the whole connection */
	int32_t status;               /* LB_E_RATE or LB_E_BUSY */
	uint32_t retry_ms;            /* 1..LB_BUSY_RETRY_MAX_MS */
};
#define LB_BUSY_LEN (1 + 1 + LB_NONCE_BYTES + 4 + 4)
#define LB_BUSY_RETRY_MAX_MS 60000u

/* Frame: u32 BE length (1..LB_FRAME_MAX) then the message. Given the bytes
 * received so far, LB_OK with *msg and *msg_len set when a whole frame is there,
 * LB_E_SHORT when more bytes are needed, LB_E_FRAME_EMPTY or
 * LB_E_FRAME_TOO_LONG for a bad length. *consumed = header + message. */
int lb_frame_parse(const uint8_t *in, size_t len, const uint8_t **msg,
    size_t *msg_len, size_t *consumed) LB_WUR;
/* Append a frame holding MSG to OUT. */
int lb_frame_put(struct lb_buf *out, const uint8_t *msg, size_t len) LB_WUR;

/* The signed part of a request (everything but the signature), appended to OUT. */
int lb_request_encode_body(const struct lb_request *r, struct lb_buf *out) LB_WUR;
/* Whole request: body then signature. */
int lb_request_encode(const struct lb_request *r, struct lb_buf *out) LB_WUR;
/* Decode a whole request; *body_len = length of the signed part (the body
 * starts at IN). Rejects short, trailing, unknown version/type/kind, strings
 * over LB_WIRE_STR_MAX or with NUL bytes, STATUS with a kind or paths,
 * CREATE/CHECK without both paths, REMOVE with a kind or a target or
 * without a link, LIST with a kind (its link, a prefix, and its target,
 * a cursor, may be empty). */
int lb_request_decode(const uint8_t *in, size_t len, struct lb_request *r,
    size_t *body_len) LB_WUR;

/* Sign: fills r->sig over the encoded body with LB_CTX_REQUEST. */
int lb_request_sign(struct lb_request *r, const uint8_t sk[LB_SK_BYTES]) LB_WUR;
/* The same for an SK that passed lb_sk_check once (a client signing many). */
int lb_request_sign_checked(struct lb_request *r, const uint8_t sk[LB_SK_BYTES]) LB_WUR;
/* The bytes R's signature covers (context and body), appended to OUT, for
 * lb_sign_prepared / lb_verify_prepared (e.g. on a worker thread). */
int lb_request_signed_input(const struct lb_request *r, struct lb_buf *out) LB_WUR;
int lb_response_signed_input(const struct lb_response *r, struct lb_buf *out) LB_WUR;
/* Verify r->sig against PK over the encoded body. */
int lb_request_verify(const struct lb_request *r, const uint8_t pk[LB_PK_BYTES]) LB_WUR;

int lb_response_encode_body(const struct lb_response *r, struct lb_buf *out) LB_WUR;
int lb_response_encode(const struct lb_response *r, struct lb_buf *out) LB_WUR;
int lb_response_decode(const uint8_t *in, size_t len, struct lb_response *r,
    size_t *body_len) LB_WUR;
/* Busy messages (the whole message; there is no signature). The decoder
 * refuses any other status, a retry of 0 or over LB_BUSY_RETRY_MAX_MS, and
 * short or trailing bytes; the encoder the same before writing. */
int lb_busy_encode(const struct lb_busy *b, struct lb_buf *out) LB_WUR;
/* The whole frame of a busy answer (length word and message) appended to
 * OUT: STATUS LB_E_RATE or LB_E_BUSY, NONCE the request's (NULL: zero, the
 * whole connection), RETRY_MS clamped to 1..LB_BUSY_RETRY_MAX_MS. Nothing
 * appended on error. */
int lb_busy_frame(struct lb_buf *out, const uint8_t *nonce, int32_t status,
    uint32_t retry_ms) LB_WUR;
int lb_busy_decode(const uint8_t *in, size_t len, struct lb_busy *b) LB_WUR;
/* Whether the message MSG is a busy message (by its first two bytes only:
 * lb_busy_decode judges the rest). */
int lb_msg_is_busy(const uint8_t *msg, size_t len) LB_WUR;
int lb_response_sign(struct lb_response *r, const uint8_t sk[LB_SK_BYTES]) LB_WUR;
int lb_response_verify(const struct lb_response *r, const uint8_t pk[LB_PK_BYTES]) LB_WUR;

/* ---- batches (version 2): one signature over up to LB_BATCH_MAX link
 * requests, one signed answer carrying every result ---- */

#define LB_BATCH_MAX 256         /* entries per batch message */
/* Rule and message bytes of one result in a batch answer (cut to fit), and
 * of the answer's own message: 256 results always fit one frame. */
#define LB_BATCH_TEXT_MAX 240
/* version, type, timestamp, nonce, key, count */
#define LB_BATCH_FIXED (1 + 1 + 8 + LB_NONCE_BYTES + LB_PK_BYTES + 2)
/* one entry: type, kind, and the two length words */
#define LB_BATCH_ENTRY_FIXED (1 + 1 + 2 + 2)

struct lb_batch_entry {
	uint8_t type;                 /* LB_MSG_CREATE or LB_MSG_CHECK */
	uint8_t kind;                 /* 1..LB_KIND_MAX */
	const char *link; size_t link_len;
	const char *target; size_t target_len;
};

/* A batch request. Strings point into caller storage (encode) or into the
 * decoded bytes (decode). */
struct lb_batch {
	uint8_t version;              /* LB_WIRE_VERSION_BATCH */
	uint8_t type;                 /* LB_MSG_BATCH */
	uint64_t timestamp;
	uint8_t nonce[LB_NONCE_BYTES];
	uint8_t key[LB_PK_BYTES];
	size_t n;                     /* 1..LB_BATCH_MAX */
	struct lb_batch_entry e[LB_BATCH_MAX];
	uint8_t sig[LB_SIG_BYTES];
};

struct lb_batch_result {
	int32_t status;               /* LB_OK or a negative LB_E_* */
	uint8_t verdict;              /* enum lb_verdict */
	const char *rule; size_t rule_len;
	const char *message; size_t message_len;  /* rule + message <= LB_BATCH_TEXT_MAX */
};

/* The answer to a batch: STATUS LB_OK with one result per entry, in entry
 * order; or the whole batch refused (bad signature, key, clock, replay,
 * audit log), STATUS that refusal, MESSAGE why, and no results. */
struct lb_batch_response {
	uint8_t version;              /* LB_WIRE_VERSION_BATCH */
	uint8_t type;                 /* LB_MSG_BATCH_RESPONSE */
	uint8_t nonce[LB_NONCE_BYTES];/* the batch's */
	int32_t status;
	const char *message; size_t message_len;  /* <= LB_BATCH_TEXT_MAX */
	size_t n;                     /* 0 (refused whole) or the batch's count */
	struct lb_batch_result r[LB_BATCH_MAX];
	uint8_t sig[LB_SIG_BYTES];
};

/* Bytes entry E adds to a batch's body. */
size_t lb_batch_entry_size(size_t link_len, size_t target_len);
/* Whether MSG is a batch request or answer (by its version byte only). */
int lb_msg_is_batch(const uint8_t *msg, size_t len) LB_WUR;

/* The signed part (everything but the signature), appended to OUT; the
 * same rules as the decoder (1..LB_BATCH_MAX entries of create or check,
 * kinds 1..4, both paths non-empty, no NUL, the whole within one frame). */
int lb_batch_encode_body(const struct lb_batch *b, struct lb_buf *out) LB_WUR;
/* Decode a whole batch request; *BODY_LEN := the signed part's length. */
int lb_batch_decode(const uint8_t *in, size_t len, struct lb_batch *b,
    size_t *body_len) LB_WUR;
/* What a batch signature covers (u8 len(ctx), ctx LB_CTX_BATCH, BODY),
 * appended to OUT. Encoding is canonical: BODY is the decoded bytes. */
int lb_batch_signed_input(const uint8_t *body, size_t body_len, struct lb_buf *out) LB_WUR;
/* Encode B's body, sign it with SK (checked once by the caller, as
 * lb_request_sign_checked: B's key must be SK's), and append body and
 * signature to OUT; B->sig is set. */
int lb_batch_sign_encode(struct lb_batch *b, const uint8_t sk[LB_SK_BYTES],
    struct lb_buf *out) LB_WUR;
/* Verify B's signature (B decoded from BODY) against PK, which must be
 * B's key field. */
int lb_batch_verify(const struct lb_batch *b, const uint8_t *body, size_t body_len,
    const uint8_t pk[LB_PK_BYTES]) LB_WUR;

int lb_batch_response_encode_body(const struct lb_batch_response *r, struct lb_buf *out) LB_WUR;
int lb_batch_response_decode(const uint8_t *in, size_t len, struct lb_batch_response *r,
    size_t *body_len) LB_WUR;
int lb_batch_response_signed_input(const uint8_t *body, size_t body_len,
    struct lb_buf *out) LB_WUR;
/* Verify an answer decoded from IN (LEN bytes, BODY_LEN of them signed). */
int lb_batch_response_verify(const struct lb_batch_response *r, const uint8_t *in,
    size_t body_len, const uint8_t pk[LB_PK_BYTES]) LB_WUR;

#endif
