/* lb_wire: frames, requests and responses; byte layout in docs/protocol.md.
 * Encoders and decoders share one set of field rules, so the encoder never
 * emits what the decoder refuses. */
#include <stdint.h>
#include <string.h>

#include "lb_wire.h"

/* Fixed-size parts, for the layout tables in docs/protocol.md. */
#define LB_REQ_FIXED (1 + 1 + 1 + 8 + LB_NONCE_BYTES + LB_PK_BYTES + 2 + 2)
#define LB_RESP_FIXED (1 + 1 + LB_NONCE_BYTES + 4 + 1 + 2 + 2)

_Static_assert(LB_REQ_FIXED == 63, "request fixed part");
_Static_assert(LB_RESP_FIXED == 27, "response fixed part");
_Static_assert(LB_WIRE_STR_MAX <= UINT16_MAX, "string length fits a u16");

static const char *const lb_kind_names[] = {
	[LB_KIND_SYMLINK] = "symlink",
	[LB_KIND_DIRSYMLINK] = "dirsymlink",
	[LB_KIND_HARDLINK] = "hardlink",
	[LB_KIND_JUNCTION] = "junction",
};

const char *
lb_kind_name(enum lb_kind k)
{
	switch (k) {
	case LB_KIND_SYMLINK:
	case LB_KIND_DIRSYMLINK:
	case LB_KIND_HARDLINK:
	case LB_KIND_JUNCTION:
		return lb_kind_names[k];
	case LB_KIND_NONE:
		break;
	}
	return NULL;
}

const char *
lb_kind_mklink(enum lb_kind k)
{
	return k == LB_KIND_HARDLINK ? "Hardlink" : k == LB_KIND_JUNCTION ? "Junction" : "symbolic link";
}

int
lb_kind_parse(const char *s, enum lb_kind *out)
{
	unsigned k;

	if (s == NULL || out == NULL)
		return LB_E_INVAL;
	for (k = LB_KIND_SYMLINK; k <= LB_KIND_MAX; k++) {
		if (strcmp(s, lb_kind_names[k]) == 0) {
			*out = (enum lb_kind)k;
			return LB_OK;
		}
	}
	return LB_E_INVAL;
}

/* ---- frames ---- */

int
lb_frame_parse(const uint8_t *in, size_t len, const uint8_t **msg,
    size_t *msg_len, size_t *consumed)
{
	struct lb_reader r;
	uint32_t n;
	int rc;

	*msg = NULL;
	*msg_len = 0;
	*consumed = 0;
	lb_reader_init(&r, in, len);
	if ((rc = lb_reader_get_u32(&r, &n)) != LB_OK)
		return rc;
	/* Judge the length before waiting for the body: a peer announcing
	 * 4 GiB is refused now, not after we buffered 64 KiB of it. */
	if (n == 0)
		return LB_E_FRAME_EMPTY;
	if (n > LB_FRAME_MAX)
		return LB_E_FRAME_TOO_LONG;
	if ((rc = lb_reader_get_view(&r, msg, n)) != LB_OK)
		return rc;
	*msg_len = n;
	*consumed = LB_FRAME_HDR + (size_t)n;
	return LB_OK;
}

int
lb_frame_put(struct lb_buf *out, const uint8_t *msg, size_t len)
{
	size_t orig = out->len;
	int rc;

	if (len == 0)
		return LB_E_FRAME_EMPTY;
	if (len > LB_FRAME_MAX)
		return LB_E_FRAME_TOO_LONG;
	if (msg == NULL)
		return LB_E_INVAL;
	if ((rc = lb_buf_put_u32(out, (uint32_t)len)) != LB_OK ||
	    (rc = lb_buf_put(out, msg, len)) != LB_OK)
		out->len = orig;
	return rc;
}

/* ---- shared field rules ---- */

/* A string field: at most LB_WIRE_STR_MAX bytes, no NUL (it would cut the
 * string short wherever it is later used as a C string). */
static int
lb_wire_str_ok(const char *s, size_t len)
{
	if (len > LB_WIRE_STR_MAX)
		return LB_E_BAD_FIELD;
	if (len == 0)
		return LB_OK;
	if (s == NULL)
		return LB_E_INVAL;
	if (memchr(s, 0, len) != NULL)
		return LB_E_BAD_FIELD;
	return LB_OK;
}

static int
lb_request_type_ok(uint8_t type)
{
	switch (type) {
	case LB_MSG_CREATE:
	case LB_MSG_CHECK:
	case LB_MSG_STATUS:
	case LB_MSG_REMOVE:
	case LB_MSG_LIST:
		return LB_OK;
	default:
		return LB_E_MSG_TYPE;
	}
}

/* Kind and paths against the type (the type is already known good). */
static int
lb_request_shape_ok(const struct lb_request *r)
{
	if (r->kind > LB_KIND_MAX)
		return LB_E_BAD_FIELD;
	if (r->type == LB_MSG_STATUS) {
		if (r->kind != LB_KIND_NONE || r->link_len != 0 ||
		    r->target_len != 0)
			return LB_E_BAD_FIELD;
	} else if (r->type == LB_MSG_REMOVE) {
		/* the broker knows what it made there */
		if (r->kind != LB_KIND_NONE || r->link_len == 0 || r->target_len != 0)
			return LB_E_BAD_FIELD;
	} else if (r->type == LB_MSG_LIST) {
		if (r->kind != LB_KIND_NONE)
			return LB_E_BAD_FIELD;
	} else {
		if (r->kind == LB_KIND_NONE || r->link_len == 0 ||
		    r->target_len == 0)
			return LB_E_BAD_FIELD;
	}
	return LB_OK;
}

/* Whole message size: body plus signature within one frame. */
static int
lb_wire_total_ok(size_t fixed, size_t a, size_t b)
{
	/* a, b <= LB_WIRE_STR_MAX each, so no overflow here. */
	if (fixed + a + b + LB_SIG_BYTES > LB_FRAME_MAX)
		return LB_E_TOOBIG;
	return LB_OK;
}

static int
lb_request_check(const struct lb_request *r)
{
	int rc;

	if (r->version != LB_WIRE_VERSION)
		return LB_E_VERSION;
	if ((rc = lb_request_type_ok(r->type)) != LB_OK)
		return rc;
	if ((rc = lb_wire_str_ok(r->link, r->link_len)) != LB_OK ||
	    (rc = lb_wire_str_ok(r->target, r->target_len)) != LB_OK)
		return rc;
	if ((rc = lb_request_shape_ok(r)) != LB_OK)
		return rc;
	return lb_wire_total_ok(LB_REQ_FIXED, r->link_len, r->target_len);
}

static int
lb_response_check(const struct lb_response *r)
{
	int rc;

	if (r->version != LB_WIRE_VERSION)
		return LB_E_VERSION;
	if (r->type != LB_MSG_RESPONSE)
		return LB_E_MSG_TYPE;
	/* LB_OK or a negative LB_E_* code; positive values mean nothing. */
	if (r->status > 0)
		return LB_E_BAD_FIELD;
	if (r->verdict != LB_VERDICT_DENY && r->verdict != LB_VERDICT_ALLOW)
		return LB_E_BAD_FIELD;
	if ((rc = lb_wire_str_ok(r->rule, r->rule_len)) != LB_OK ||
	    (rc = lb_wire_str_ok(r->message, r->message_len)) != LB_OK)
		return rc;
	return lb_wire_total_ok(LB_RESP_FIXED, r->rule_len, r->message_len);
}

/* u16 BE length then the bytes. */
static int
lb_wire_put_str(struct lb_buf *out, const char *s, size_t len)
{
	int rc;

	if ((rc = lb_buf_put_u16(out, (uint16_t)len)) != LB_OK)
		return rc;
	return lb_buf_put(out, s, len);
}

/* Peek the length, validate it, then consume length and bytes. */
static int
lb_wire_get_str(struct lb_reader *r, const char **s, size_t *len)
{
	const uint8_t *v;
	uint16_t n;
	int rc;

	if ((rc = lb_reader_get_u16(r, &n)) != LB_OK)
		return rc;
	if (n > LB_WIRE_STR_MAX)
		return LB_E_BAD_FIELD;
	if ((rc = lb_reader_get_view(r, &v, n)) != LB_OK)
		return rc;
	if ((rc = lb_wire_str_ok((const char *)v, n)) != LB_OK)
		return rc;
	*s = (const char *)v;
	*len = n;
	return LB_OK;
}

/* ---- requests ---- */

int
lb_request_encode_body(const struct lb_request *r, struct lb_buf *out)
{
	size_t orig = out->len;
	int rc;

	if ((rc = lb_request_check(r)) != LB_OK)
		return rc;
	if ((rc = lb_buf_put_u8(out, r->version)) != LB_OK ||
	    (rc = lb_buf_put_u8(out, r->type)) != LB_OK ||
	    (rc = lb_buf_put_u8(out, r->kind)) != LB_OK ||
	    (rc = lb_buf_put_u64(out, r->timestamp)) != LB_OK ||
	    (rc = lb_buf_put(out, r->nonce, LB_NONCE_BYTES)) != LB_OK ||
	    (rc = lb_buf_put(out, r->key, LB_PK_BYTES)) != LB_OK ||
	    (rc = lb_wire_put_str(out, r->link, r->link_len)) != LB_OK ||
	    (rc = lb_wire_put_str(out, r->target, r->target_len)) != LB_OK)
		out->len = orig;
	return rc;
}

int
lb_request_encode(const struct lb_request *r, struct lb_buf *out)
{
	size_t orig = out->len;
	int rc;

	if ((rc = lb_request_encode_body(r, out)) != LB_OK)
		return rc;
	if ((rc = lb_buf_put(out, r->sig, LB_SIG_BYTES)) != LB_OK)
		out->len = orig;
	return rc;
}

int
lb_request_decode(const uint8_t *in, size_t len, struct lb_request *r,
    size_t *body_len)
{
	struct lb_reader rd;
	size_t blen;
	int rc;

	memset(r, 0, sizeof(*r));
	if (body_len != NULL)
		*body_len = 0;
	lb_reader_init(&rd, in, len);

	if ((rc = lb_reader_get_u8(&rd, &r->version)) != LB_OK)
		goto out;
	if (r->version != LB_WIRE_VERSION) {
		rc = LB_E_VERSION;
		goto out;
	}
	if ((rc = lb_reader_get_u8(&rd, &r->type)) != LB_OK)
		goto out;
	if ((rc = lb_request_type_ok(r->type)) != LB_OK)
		goto out;
	if ((rc = lb_reader_get_u8(&rd, &r->kind)) != LB_OK)
		goto out;
	if (r->kind > LB_KIND_MAX) {
		rc = LB_E_BAD_FIELD;
		goto out;
	}
	if ((rc = lb_reader_get_u64(&rd, &r->timestamp)) != LB_OK ||
	    (rc = lb_reader_get_bytes(&rd, r->nonce, LB_NONCE_BYTES)) != LB_OK ||
	    (rc = lb_reader_get_bytes(&rd, r->key, LB_PK_BYTES)) != LB_OK ||
	    (rc = lb_wire_get_str(&rd, &r->link, &r->link_len)) != LB_OK ||
	    (rc = lb_wire_get_str(&rd, &r->target, &r->target_len)) != LB_OK)
		goto out;
	blen = rd.off;
	if ((rc = lb_reader_get_bytes(&rd, r->sig, LB_SIG_BYTES)) != LB_OK)
		goto out;
	if ((rc = lb_reader_end(&rd)) != LB_OK)
		goto out;
	/* Same rules as the encoder (kind vs type, paths, total size). */
	if ((rc = lb_request_check(r)) != LB_OK)
		goto out;
	if (body_len != NULL)
		*body_len = blen;
out:
	if (rc != LB_OK)
		memset(r, 0, sizeof(*r));
	return rc;
}

/* Encode R's body into a fresh buffer, to sign or verify it. */
static int
lb_request_body(const struct lb_request *r, struct lb_buf *body)
{
	lb_buf_init(body, LB_FRAME_MAX);
	return lb_request_encode_body(r, body);
}

int
lb_request_signed_input(const struct lb_request *r, struct lb_buf *out)
{
	struct lb_buf body;
	int rc;

	if (r == NULL)
		return LB_E_INVAL;
	if ((rc = lb_request_body(r, &body)) == LB_OK)
		rc = lb_sig_input(out, LB_CTX_REQUEST, body.data, body.len);
	lb_buf_free(&body);
	return rc;
}

int
lb_request_sign_checked(struct lb_request *r, const uint8_t sk[LB_SK_BYTES])
{
	struct lb_buf in;
	int rc;

	if (r == NULL || sk == NULL)
		return LB_E_INVAL;
	/* The key field names the signer; a request signed by another key
	 * would never verify, so refuse to produce one. */
	if (memcmp(r->key, sk + (LB_SK_BYTES - LB_PK_BYTES), LB_PK_BYTES) != 0)
		return LB_E_INVAL;
	lb_buf_init(&in, 0);
	if ((rc = lb_request_signed_input(r, &in)) == LB_OK)
		rc = lb_sign_prepared(sk, in.data, in.len, r->sig);
	lb_buf_free(&in);
	return rc;
}

int
lb_request_sign(struct lb_request *r, const uint8_t sk[LB_SK_BYTES])
{
	int rc;

	if (r == NULL || sk == NULL)
		return LB_E_INVAL;
	if ((rc = lb_sk_check(sk)) != LB_OK)
		return rc;
	return lb_request_sign_checked(r, sk);
}

int
lb_request_verify(const struct lb_request *r, const uint8_t pk[LB_PK_BYTES])
{
	struct lb_buf body;
	int rc;

	lb_buf_init(&body, 0);
	if (r == NULL || pk == NULL) {
		rc = LB_E_SIG;
		goto out;
	}
	/* The signed key field must be the key we verify with. */
	if (!lb_ct_equal(r->key, pk, LB_PK_BYTES)) {
		rc = LB_E_SIG;
		goto out;
	}
	/* Encoding is canonical (one byte string per request), so re-encoding
	 * a decoded request gives back exactly the bytes that were signed. */
	if ((rc = lb_request_body(r, &body)) != LB_OK)
		goto out;
	rc = lb_verify(pk, LB_CTX_REQUEST, body.data, body.len, r->sig);
out:
	lb_buf_free(&body);
	return rc;
}

/* ---- responses ---- */

int
lb_response_encode_body(const struct lb_response *r, struct lb_buf *out)
{
	size_t orig = out->len;
	int rc;

	if ((rc = lb_response_check(r)) != LB_OK)
		return rc;
	if ((rc = lb_buf_put_u8(out, r->version)) != LB_OK ||
	    (rc = lb_buf_put_u8(out, r->type)) != LB_OK ||
	    (rc = lb_buf_put(out, r->nonce, LB_NONCE_BYTES)) != LB_OK ||
	    (rc = lb_buf_put_u32(out, (uint32_t)r->status)) != LB_OK ||
	    (rc = lb_buf_put_u8(out, r->verdict)) != LB_OK ||
	    (rc = lb_wire_put_str(out, r->rule, r->rule_len)) != LB_OK ||
	    (rc = lb_wire_put_str(out, r->message, r->message_len)) != LB_OK)
		out->len = orig;
	return rc;
}

int
lb_response_encode(const struct lb_response *r, struct lb_buf *out)
{
	size_t orig = out->len;
	int rc;

	if ((rc = lb_response_encode_body(r, out)) != LB_OK)
		return rc;
	if ((rc = lb_buf_put(out, r->sig, LB_SIG_BYTES)) != LB_OK)
		out->len = orig;
	return rc;
}

/* Two's complement without implementation-defined conversions. */
static int32_t
lb_i32_from_u32(uint32_t u)
{
	if (u <= INT32_MAX)
		return (int32_t)u;
	return (int32_t)(u - 0x80000000u) + INT32_MIN;
}

int
lb_response_decode(const uint8_t *in, size_t len, struct lb_response *r,
    size_t *body_len)
{
	struct lb_reader rd;
	uint32_t status;
	size_t blen;
	int rc;

	memset(r, 0, sizeof(*r));
	if (body_len != NULL)
		*body_len = 0;
	lb_reader_init(&rd, in, len);

	if ((rc = lb_reader_get_u8(&rd, &r->version)) != LB_OK)
		goto out;
	if (r->version != LB_WIRE_VERSION) {
		rc = LB_E_VERSION;
		goto out;
	}
	if ((rc = lb_reader_get_u8(&rd, &r->type)) != LB_OK)
		goto out;
	if (r->type != LB_MSG_RESPONSE) {
		rc = LB_E_MSG_TYPE;
		goto out;
	}
	if ((rc = lb_reader_get_bytes(&rd, r->nonce, LB_NONCE_BYTES)) != LB_OK ||
	    (rc = lb_reader_get_u32(&rd, &status)) != LB_OK)
		goto out;
	r->status = lb_i32_from_u32(status);
	if (r->status > 0) {
		rc = LB_E_BAD_FIELD;
		goto out;
	}
	if ((rc = lb_reader_get_u8(&rd, &r->verdict)) != LB_OK)
		goto out;
	if (r->verdict != LB_VERDICT_DENY && r->verdict != LB_VERDICT_ALLOW) {
		rc = LB_E_BAD_FIELD;
		goto out;
	}
	if ((rc = lb_wire_get_str(&rd, &r->rule, &r->rule_len)) != LB_OK ||
	    (rc = lb_wire_get_str(&rd, &r->message, &r->message_len)) != LB_OK)
		goto out;
	blen = rd.off;
	if ((rc = lb_reader_get_bytes(&rd, r->sig, LB_SIG_BYTES)) != LB_OK)
		goto out;
	if ((rc = lb_reader_end(&rd)) != LB_OK)
		goto out;
	if ((rc = lb_response_check(r)) != LB_OK)
		goto out;
	if (body_len != NULL)
		*body_len = blen;
out:
	if (rc != LB_OK)
		memset(r, 0, sizeof(*r));
	return rc;
}

static int
lb_response_body(const struct lb_response *r, struct lb_buf *body)
{
	lb_buf_init(body, LB_FRAME_MAX);
	return lb_response_encode_body(r, body);
}

int
lb_response_signed_input(const struct lb_response *r, struct lb_buf *out)
{
	struct lb_buf body;
	int rc;

	if (r == NULL)
		return LB_E_INVAL;
	if ((rc = lb_response_body(r, &body)) == LB_OK)
		rc = lb_sig_input(out, LB_CTX_RESPONSE, body.data, body.len);
	lb_buf_free(&body);
	return rc;
}

int
lb_response_sign(struct lb_response *r, const uint8_t sk[LB_SK_BYTES])
{
	struct lb_buf body;
	int rc;

	lb_buf_init(&body, 0);
	if (r == NULL) {
		rc = LB_E_INVAL;
		goto out;
	}
	if ((rc = lb_response_body(r, &body)) != LB_OK)
		goto out;
	rc = lb_sign(sk, LB_CTX_RESPONSE, body.data, body.len, r->sig);
out:
	lb_buf_free(&body);
	return rc;
}

int
lb_response_verify(const struct lb_response *r, const uint8_t pk[LB_PK_BYTES])
{
	struct lb_buf body;
	int rc;

	lb_buf_init(&body, 0);
	if (r == NULL) {
		rc = LB_E_SIG;
		goto out;
	}
	if ((rc = lb_response_body(r, &body)) != LB_OK)
		goto out;
	rc = lb_verify(pk, LB_CTX_RESPONSE, body.data, body.len, r->sig);
out:
	lb_buf_free(&body);
	return rc;
}

/* ---- busy ---- */

static int
lb_busy_check(const struct lb_busy *b)
{
	if (b->version != LB_WIRE_VERSION)
		return LB_E_VERSION;
	if (b->type != LB_MSG_BUSY)
		return LB_E_MSG_TYPE;
	if ((b->status != LB_E_RATE && b->status != LB_E_BUSY) ||
	    b->retry_ms == 0 || b->retry_ms > LB_BUSY_RETRY_MAX_MS)
		return LB_E_BAD_FIELD;
	return LB_OK;
}

int
lb_busy_encode(const struct lb_busy *b, struct lb_buf *out)
{
	size_t start = out->len;
	int rc;

	if ((rc = lb_busy_check(b)) != LB_OK)
		return rc;
	if ((rc = lb_buf_put_u8(out, b->version)) != LB_OK ||
	    (rc = lb_buf_put_u8(out, b->type)) != LB_OK ||
	    (rc = lb_buf_put(out, b->nonce, LB_NONCE_BYTES)) != LB_OK ||
	    (rc = lb_buf_put_u32(out, (uint32_t)b->status)) != LB_OK ||
	    (rc = lb_buf_put_u32(out, b->retry_ms)) != LB_OK)
		out->len = start;
	return rc;
}

int
lb_busy_frame(struct lb_buf *out, const uint8_t *nonce, int32_t status, uint32_t retry_ms)
{
	struct lb_busy b;
	size_t start = out->len;
	int rc;

	memset(&b, 0, sizeof(b));
	b.version = LB_WIRE_VERSION;
	b.type = LB_MSG_BUSY;
	if (nonce != NULL)
		memcpy(b.nonce, nonce, LB_NONCE_BYTES);
	b.status = status;
	b.retry_ms = retry_ms == 0 ? 1 : retry_ms > LB_BUSY_RETRY_MAX_MS ? LB_BUSY_RETRY_MAX_MS : retry_ms;
	if ((rc = lb_buf_put_u32(out, LB_BUSY_LEN)) != LB_OK || (rc = lb_busy_encode(&b, out)) != LB_OK)
		out->len = start;
	return rc;
}

int
lb_busy_decode(const uint8_t *in, size_t len, struct lb_busy *b)
{
	struct lb_reader rd;
	uint32_t status;
	int rc;

	memset(b, 0, sizeof(*b));
	lb_reader_init(&rd, in, len);
	if ((rc = lb_reader_get_u8(&rd, &b->version)) != LB_OK ||
	    (rc = lb_reader_get_u8(&rd, &b->type)) != LB_OK)
		goto out;
	if (b->version != LB_WIRE_VERSION) {
		rc = LB_E_VERSION;
		goto out;
	}
	if (b->type != LB_MSG_BUSY) {
		rc = LB_E_MSG_TYPE;
		goto out;
	}
	if ((rc = lb_reader_get_bytes(&rd, b->nonce, LB_NONCE_BYTES)) != LB_OK ||
	    (rc = lb_reader_get_u32(&rd, &status)) != LB_OK ||
	    (rc = lb_reader_get_u32(&rd, &b->retry_ms)) != LB_OK ||
	    (rc = lb_reader_end(&rd)) != LB_OK)
		goto out;
	b->status = lb_i32_from_u32(status);
	rc = lb_busy_check(b);
out:
	if (rc != LB_OK)
		memset(b, 0, sizeof(*b));
	return rc;
}

int
lb_msg_is_busy(const uint8_t *msg, size_t len)
{
	return len >= 2 && msg[0] == LB_WIRE_VERSION && msg[1] == LB_MSG_BUSY;
}

/* ---- batches (version 2) ---- */

#define LB_BATCH_RESP_FIXED (1 + 1 + LB_NONCE_BYTES + 4 + 2 + 2)
#define LB_BATCH_RESULT_FIXED (4 + 1 + 2 + 2)
_Static_assert(LB_BATCH_FIXED == 60, "batch fixed part");
_Static_assert(LB_BATCH_RESP_FIXED + LB_BATCH_TEXT_MAX +
    LB_BATCH_MAX * (LB_BATCH_RESULT_FIXED + LB_BATCH_TEXT_MAX) + LB_SIG_BYTES <= LB_FRAME_MAX,
    "a batch answer with every text at its longest fits one frame");
_Static_assert(LB_BATCH_MAX <= UINT16_MAX, "batch count fits a u16");

size_t
lb_batch_entry_size(size_t link_len, size_t target_len)
{
	return LB_BATCH_ENTRY_FIXED + link_len + target_len;
}

int
lb_msg_is_batch(const uint8_t *msg, size_t len)
{
	return len >= 1 && msg[0] == LB_WIRE_VERSION_BATCH;
}

static int
lb_batch_entry_ok(const struct lb_batch_entry *e)
{
	int rc;

	if (e->type != LB_MSG_CREATE && e->type != LB_MSG_CHECK)
		return LB_E_MSG_TYPE;
	if (e->kind == LB_KIND_NONE || e->kind > LB_KIND_MAX)
		return LB_E_BAD_FIELD;
	if ((rc = lb_wire_str_ok(e->link, e->link_len)) != LB_OK ||
	    (rc = lb_wire_str_ok(e->target, e->target_len)) != LB_OK)
		return rc;
	if (e->link_len == 0 || e->target_len == 0)
		return LB_E_BAD_FIELD;
	return LB_OK;
}

static int
lb_batch_check(const struct lb_batch *b)
{
	size_t i, total = LB_BATCH_FIXED + LB_SIG_BYTES;
	int rc;

	if (b->version != LB_WIRE_VERSION_BATCH)
		return LB_E_VERSION;
	if (b->type != LB_MSG_BATCH)
		return LB_E_MSG_TYPE;
	if (b->n == 0 || b->n > LB_BATCH_MAX)
		return LB_E_BAD_FIELD;
	for (i = 0; i < b->n; i++) {
		if ((rc = lb_batch_entry_ok(&b->e[i])) != LB_OK)
			return rc;
		/* each entry <= 6 + 2 * LB_WIRE_STR_MAX: no overflow */
		total += lb_batch_entry_size(b->e[i].link_len, b->e[i].target_len);
		if (total > LB_FRAME_MAX)
			return LB_E_TOOBIG;
	}
	return LB_OK;
}

int
lb_batch_encode_body(const struct lb_batch *b, struct lb_buf *out)
{
	size_t i, orig = out->len;
	int rc;

	if ((rc = lb_batch_check(b)) != LB_OK)
		return rc;
	if ((rc = lb_buf_put_u8(out, b->version)) != LB_OK ||
	    (rc = lb_buf_put_u8(out, b->type)) != LB_OK ||
	    (rc = lb_buf_put_u64(out, b->timestamp)) != LB_OK ||
	    (rc = lb_buf_put(out, b->nonce, LB_NONCE_BYTES)) != LB_OK ||
	    (rc = lb_buf_put(out, b->key, LB_PK_BYTES)) != LB_OK ||
	    (rc = lb_buf_put_u16(out, (uint16_t)b->n)) != LB_OK)
		goto out;
	for (i = 0; i < b->n; i++) {
		const struct lb_batch_entry *e = &b->e[i];

		if ((rc = lb_buf_put_u8(out, e->type)) != LB_OK ||
		    (rc = lb_buf_put_u8(out, e->kind)) != LB_OK ||
		    (rc = lb_wire_put_str(out, e->link, e->link_len)) != LB_OK ||
		    (rc = lb_wire_put_str(out, e->target, e->target_len)) != LB_OK)
			goto out;
	}
out:
	if (rc != LB_OK)
		out->len = orig;
	return rc;
}

/* A version-2 message's first two bytes: VERSION and TYPE must be these. */
static int
lb_read_head(struct lb_reader *rd, uint8_t *version, uint8_t *type, uint8_t want_type)
{
	int rc;

	if ((rc = lb_reader_get_u8(rd, version)) != LB_OK)
		return rc;
	if (*version != LB_WIRE_VERSION_BATCH)
		return LB_E_VERSION;
	if ((rc = lb_reader_get_u8(rd, type)) != LB_OK)
		return rc;
	return *type == want_type ? LB_OK : LB_E_MSG_TYPE;
}

/* The signature that ends a message, and nothing after it; *BLEN := the
 * length of the signed part before it. */
static int
lb_read_sig(struct lb_reader *rd, uint8_t sig[LB_SIG_BYTES], size_t *blen)
{
	int rc;

	*blen = rd->off;
	if ((rc = lb_reader_get_bytes(rd, sig, LB_SIG_BYTES)) != LB_OK)
		return rc;
	return lb_reader_end(rd);
}

int
lb_batch_decode(const uint8_t *in, size_t len, struct lb_batch *b, size_t *body_len)
{
	struct lb_reader rd;
	uint16_t n;
	size_t i, blen;
	int rc;

	memset(b, 0, sizeof(*b));
	if (body_len != NULL)
		*body_len = 0;
	lb_reader_init(&rd, in, len);
	if ((rc = lb_read_head(&rd, &b->version, &b->type, LB_MSG_BATCH)) != LB_OK ||
	    (rc = lb_reader_get_u64(&rd, &b->timestamp)) != LB_OK ||
	    (rc = lb_reader_get_bytes(&rd, b->nonce, LB_NONCE_BYTES)) != LB_OK ||
	    (rc = lb_reader_get_bytes(&rd, b->key, LB_PK_BYTES)) != LB_OK ||
	    (rc = lb_reader_get_u16(&rd, &n)) != LB_OK)
		goto out;
	/* The count is judged before any entry is read. */
	if (n == 0 || n > LB_BATCH_MAX) {
		rc = LB_E_BAD_FIELD;
		goto out;
	}
	b->n = n;
	for (i = 0; i < b->n; i++) {
		struct lb_batch_entry *e = &b->e[i];

		if ((rc = lb_reader_get_u8(&rd, &e->type)) != LB_OK ||
		    (rc = lb_reader_get_u8(&rd, &e->kind)) != LB_OK ||
		    (rc = lb_wire_get_str(&rd, &e->link, &e->link_len)) != LB_OK ||
		    (rc = lb_wire_get_str(&rd, &e->target, &e->target_len)) != LB_OK)
			goto out;
		if ((rc = lb_batch_entry_ok(e)) != LB_OK)
			goto out;
	}
	if ((rc = lb_read_sig(&rd, b->sig, &blen)) != LB_OK || (rc = lb_batch_check(b)) != LB_OK)
		goto out;
	if (body_len != NULL)
		*body_len = blen;
out:
	if (rc != LB_OK)
		memset(b, 0, sizeof(*b));
	return rc;
}

int
lb_batch_signed_input(const uint8_t *body, size_t body_len, struct lb_buf *out)
{
	return lb_sig_input(out, LB_CTX_BATCH, body, body_len);
}

int
lb_batch_sign_encode(struct lb_batch *b, const uint8_t sk[LB_SK_BYTES], struct lb_buf *out)
{
	struct lb_buf in;
	size_t orig = out->len;
	int rc;

	if (b == NULL || sk == NULL)
		return LB_E_INVAL;
	if (memcmp(b->key, sk + (LB_SK_BYTES - LB_PK_BYTES), LB_PK_BYTES) != 0)
		return LB_E_INVAL;
	if ((rc = lb_batch_encode_body(b, out)) != LB_OK)
		return rc;
	lb_buf_init(&in, 0);
	if ((rc = lb_batch_signed_input(out->data + orig, out->len - orig, &in)) == LB_OK &&
	    (rc = lb_sign_prepared(sk, in.data, in.len, b->sig)) == LB_OK)
		rc = lb_buf_put(out, b->sig, LB_SIG_BYTES);
	lb_buf_free(&in);
	if (rc != LB_OK)
		out->len = orig;
	return rc;
}

int
lb_batch_verify(const struct lb_batch *b, const uint8_t *body, size_t body_len,
    const uint8_t pk[LB_PK_BYTES])
{
	if (b == NULL || body == NULL || pk == NULL || !lb_ct_equal(b->key, pk, LB_PK_BYTES))
		return LB_E_SIG;
	return lb_verify(pk, LB_CTX_BATCH, body, body_len, b->sig);
}

static int
lb_text_ok(const char *a, size_t a_len, const char *b, size_t b_len)
{
	int rc;

	if ((rc = lb_wire_str_ok(a, a_len)) != LB_OK || (rc = lb_wire_str_ok(b, b_len)) != LB_OK)
		return rc;
	return a_len + b_len > LB_BATCH_TEXT_MAX ? LB_E_BAD_FIELD : LB_OK;
}

static int
lb_batch_response_check(const struct lb_batch_response *r)
{
	size_t i;
	int rc;

	if (r->version != LB_WIRE_VERSION_BATCH)
		return LB_E_VERSION;
	if (r->type != LB_MSG_BATCH_RESPONSE)
		return LB_E_MSG_TYPE;
	if (r->status > 0 || r->n > LB_BATCH_MAX || (r->status != LB_OK && r->n != 0) ||
	    (r->status == LB_OK && r->n == 0))
		return LB_E_BAD_FIELD;
	if ((rc = lb_text_ok(r->message, r->message_len, NULL, 0)) != LB_OK)
		return rc;
	for (i = 0; i < r->n; i++) {
		const struct lb_batch_result *x = &r->r[i];

		if (x->status > 0 || (x->verdict != LB_VERDICT_DENY && x->verdict != LB_VERDICT_ALLOW))
			return LB_E_BAD_FIELD;
		if ((rc = lb_text_ok(x->rule, x->rule_len, x->message, x->message_len)) != LB_OK)
			return rc;
	}
	return LB_OK;   /* within one frame by the static assertion above */
}

int
lb_batch_response_encode_body(const struct lb_batch_response *r, struct lb_buf *out)
{
	size_t i, orig = out->len;
	int rc;

	if ((rc = lb_batch_response_check(r)) != LB_OK)
		return rc;
	if ((rc = lb_buf_put_u8(out, r->version)) != LB_OK ||
	    (rc = lb_buf_put_u8(out, r->type)) != LB_OK ||
	    (rc = lb_buf_put(out, r->nonce, LB_NONCE_BYTES)) != LB_OK ||
	    (rc = lb_buf_put_u32(out, (uint32_t)r->status)) != LB_OK ||
	    (rc = lb_wire_put_str(out, r->message, r->message_len)) != LB_OK ||
	    (rc = lb_buf_put_u16(out, (uint16_t)r->n)) != LB_OK)
		goto out;
	for (i = 0; i < r->n; i++) {
		const struct lb_batch_result *x = &r->r[i];

		if ((rc = lb_buf_put_u32(out, (uint32_t)x->status)) != LB_OK ||
		    (rc = lb_buf_put_u8(out, x->verdict)) != LB_OK ||
		    (rc = lb_wire_put_str(out, x->rule, x->rule_len)) != LB_OK ||
		    (rc = lb_wire_put_str(out, x->message, x->message_len)) != LB_OK)
			goto out;
	}
out:
	if (rc != LB_OK)
		out->len = orig;
	return rc;
}

int
lb_batch_response_decode(const uint8_t *in, size_t len, struct lb_batch_response *r,
    size_t *body_len)
{
	struct lb_reader rd;
	uint32_t u;
	uint16_t n;
	size_t i, blen;
	int rc;

	memset(r, 0, sizeof(*r));
	if (body_len != NULL)
		*body_len = 0;
	lb_reader_init(&rd, in, len);
	if ((rc = lb_read_head(&rd, &r->version, &r->type, LB_MSG_BATCH_RESPONSE)) != LB_OK ||
	    (rc = lb_reader_get_bytes(&rd, r->nonce, LB_NONCE_BYTES)) != LB_OK ||
	    (rc = lb_reader_get_u32(&rd, &u)) != LB_OK ||
	    (rc = lb_wire_get_str(&rd, &r->message, &r->message_len)) != LB_OK ||
	    (rc = lb_reader_get_u16(&rd, &n)) != LB_OK)
		goto out;
	r->status = lb_i32_from_u32(u);
	if (n > LB_BATCH_MAX) {
		rc = LB_E_BAD_FIELD;
		goto out;
	}
	r->n = n;
	for (i = 0; i < r->n; i++) {
		struct lb_batch_result *x = &r->r[i];

		if ((rc = lb_reader_get_u32(&rd, &u)) != LB_OK ||
		    (rc = lb_reader_get_u8(&rd, &x->verdict)) != LB_OK ||
		    (rc = lb_wire_get_str(&rd, &x->rule, &x->rule_len)) != LB_OK ||
		    (rc = lb_wire_get_str(&rd, &x->message, &x->message_len)) != LB_OK)
			goto out;
		x->status = lb_i32_from_u32(u);
	}
	if ((rc = lb_read_sig(&rd, r->sig, &blen)) != LB_OK ||
	    (rc = lb_batch_response_check(r)) != LB_OK)
		goto out;
	if (body_len != NULL)
		*body_len = blen;
out:
	if (rc != LB_OK)
		memset(r, 0, sizeof(*r));
	return rc;
}

int
lb_batch_response_signed_input(const uint8_t *body, size_t body_len, struct lb_buf *out)
{
	return lb_sig_input(out, LB_CTX_BATCH_RESPONSE, body, body_len);
}

int
lb_batch_response_verify(const struct lb_batch_response *r, const uint8_t *in,
    size_t body_len, const uint8_t pk[LB_PK_BYTES])
{
	if (r == NULL || in == NULL || pk == NULL)
		return LB_E_SIG;
	return lb_verify(pk, LB_CTX_BATCH_RESPONSE, in, body_len, r->sig);
}
