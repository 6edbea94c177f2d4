/* Unit tests for lb_wire: golden bytes, round trips, every class of malformed
 * frame and message, and signatures over the encoded bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "lb_wire.h"

#define TS 1700000000u   /* 2023-11-14T22:13:20Z */

/* RFC 8032 TEST 1 key: the client in these tests. */
static const uint8_t client_seed[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4,
	0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
	0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};

struct keys {
	uint8_t client_pk[LB_PK_BYTES], client_sk[LB_SK_BYTES];
	uint8_t service_pk[LB_PK_BYTES], service_sk[LB_SK_BYTES];
};
static struct keys K;

/*
 * Golden request, computed independently (Python struct + cryptography):
 * CREATE, SYMLINK, timestamp 1700000000, nonce 00..0f, key = RFC 8032
 * TEST 1 public key, link "C:\a\l", target "D:\t", signed with that key
 * over 0x15 "LinkBroker request v1" || body.
 */
static const char golden_request_hex[] =
	"01" "01" "01"                                  /* version type kind */
	"000000006553f100"                              /* timestamp */
	"000102030405060708090a0b0c0d0e0f"              /* nonce */
	"d75a980182b10ab7d54bfed3c964073a"              /* key */
	"0ee172f3daa62325af021a68f707511a"
	"0006" "433a5c615c6c"                           /* link */
	"0004" "443a5c74"                               /* target */
	"14ab0b0f00dc02170d08e96a5aa58aef13ebe5fe4f5358b27797e366e55f8dcf"
	"27e8b8ca24a1e42501bcc8492568670f9615c041d45cd94f4a74a134f0c61b0e";
#define GOLDEN_REQUEST_BODY_LEN 73

/* Golden response: nonce 00..0f, status -51 (LB_E_DENIED), deny, rule "r1",
 * message "no", signed with the same key over 0x16 "LinkBroker response v1". */
static const char golden_response_hex[] =
	"01" "81"
	"000102030405060708090a0b0c0d0e0f"
	"ffffffcd" "00"
	"0002" "7231"
	"0002" "6e6f"
	"b77dcab040a212820221d04e7f80634e5882835093b9f96c0cf834df5ac416b3"
	"071fc0ffae99acfc3e0917d412c0bb411919241f9af40f5d67dd4eb4297b8405";
#define GOLDEN_RESPONSE_BODY_LEN 31

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode HEX into OUT (at most CAP bytes); returns the byte count. */
static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (hex[0] != '\0') {
		int hi = hexval(hex[0]), lo = hexval(hex[1]);

		assert_true(hi >= 0 && lo >= 0 && n < cap);
		out[n++] = (uint8_t)(hi << 4 | lo);
		hex += 2;
	}
	return n;
}

static int
setup(void **state)
{
	static const uint8_t service_seed[32] = { [0] = 0x42, [31] = 0x24 };

	(void)state;
	if (lb_crypto_init() != LB_OK)
		return -1;
	if (crypto_sign_ed25519_seed_keypair(K.client_pk, K.client_sk, client_seed) != 0 ||
	    crypto_sign_ed25519_seed_keypair(K.service_pk, K.service_sk, service_seed) != 0)
		return -1;
	return 0;
}

static void
make_request(struct lb_request *r, uint8_t type, uint8_t kind,
    const char *link, const char *target)
{
	uint8_t i;

	memset(r, 0, sizeof(*r));
	r->version = LB_WIRE_VERSION;
	r->type = type;
	r->kind = kind;
	r->timestamp = TS;
	for (i = 0; i < LB_NONCE_BYTES; i++)
		r->nonce[i] = i;
	memcpy(r->key, K.client_pk, LB_PK_BYTES);
	r->link = link;
	r->link_len = link != NULL ? strlen(link) : 0;
	r->target = target;
	r->target_len = target != NULL ? strlen(target) : 0;
}

static void
make_response(struct lb_response *r, int32_t status, uint8_t verdict,
    const char *rule, const char *message)
{
	uint8_t i;

	memset(r, 0, sizeof(*r));
	r->version = LB_WIRE_VERSION;
	r->type = LB_MSG_RESPONSE;
	for (i = 0; i < LB_NONCE_BYTES; i++)
		r->nonce[i] = i;
	r->status = status;
	r->verdict = verdict;
	r->rule = rule;
	r->rule_len = strlen(rule);
	r->message = message;
	r->message_len = strlen(message);
}

/* Encode and sign a request into B (fresh, LB_FRAME_MAX). */
static void
signed_request(struct lb_buf *b, struct lb_request *r)
{
	lb_buf_init(b, LB_FRAME_MAX);
	assert_int_equal(lb_request_sign(r, K.client_sk), LB_OK);
	assert_int_equal(lb_request_encode(r, b), LB_OK);
}

static void
signed_response(struct lb_buf *b, struct lb_response *r)
{
	lb_buf_init(b, LB_FRAME_MAX);
	assert_int_equal(lb_response_sign(r, K.service_sk), LB_OK);
	assert_int_equal(lb_response_encode(r, b), LB_OK);
}

/*
 * Raw request bytes, bypassing the encoder's checks, with a dummy
 * signature: for feeding the decoder what a hostile peer could send.
 */
static void
raw_request(struct lb_buf *b, uint8_t version, uint8_t type, uint8_t kind,
    const void *link, size_t link_len, const void *target, size_t target_len)
{
	uint8_t fill[LB_PK_BYTES];

	memset(fill, 0x33, sizeof(fill));
	lb_buf_init(b, 3 * LB_FRAME_MAX);
	assert_int_equal(lb_buf_put_u8(b, version), LB_OK);
	assert_int_equal(lb_buf_put_u8(b, type), LB_OK);
	assert_int_equal(lb_buf_put_u8(b, kind), LB_OK);
	assert_int_equal(lb_buf_put_u64(b, TS), LB_OK);
	assert_int_equal(lb_buf_put(b, fill, LB_NONCE_BYTES), LB_OK);
	assert_int_equal(lb_buf_put(b, fill, LB_PK_BYTES), LB_OK);
	assert_int_equal(lb_buf_put_u16(b, (uint16_t)link_len), LB_OK);
	assert_int_equal(lb_buf_put(b, link, link_len), LB_OK);
	assert_int_equal(lb_buf_put_u16(b, (uint16_t)target_len), LB_OK);
	assert_int_equal(lb_buf_put(b, target, target_len), LB_OK);
	assert_int_equal(lb_buf_put(b, fill, LB_PK_BYTES), LB_OK);
	assert_int_equal(lb_buf_put(b, fill, LB_PK_BYTES), LB_OK);
}

static void
raw_response(struct lb_buf *b, uint8_t type, uint32_t status, uint8_t verdict,
    const void *rule, size_t rule_len, const void *msg, size_t msg_len)
{
	uint8_t fill[LB_SIG_BYTES];

	memset(fill, 0x44, sizeof(fill));
	lb_buf_init(b, 3 * LB_FRAME_MAX);
	assert_int_equal(lb_buf_put_u8(b, LB_WIRE_VERSION), LB_OK);
	assert_int_equal(lb_buf_put_u8(b, type), LB_OK);
	assert_int_equal(lb_buf_put(b, fill, LB_NONCE_BYTES), LB_OK);
	assert_int_equal(lb_buf_put_u32(b, status), LB_OK);
	assert_int_equal(lb_buf_put_u8(b, verdict), LB_OK);
	assert_int_equal(lb_buf_put_u16(b, (uint16_t)rule_len), LB_OK);
	assert_int_equal(lb_buf_put(b, rule, rule_len), LB_OK);
	assert_int_equal(lb_buf_put_u16(b, (uint16_t)msg_len), LB_OK);
	assert_int_equal(lb_buf_put(b, msg, msg_len), LB_OK);
	assert_int_equal(lb_buf_put(b, fill, LB_SIG_BYTES), LB_OK);
}

static int
decode_req(const struct lb_buf *b)
{
	struct lb_request r;
	size_t body_len = 99;
	int rc;

	rc = lb_request_decode(b->data, b->len, &r, &body_len);
	if (rc != LB_OK) {
		/* A refused message leaves nothing half-decoded behind. */
		assert_null(r.link);
		assert_int_equal(r.type, 0);
		assert_int_equal(body_len, 0);
	}
	return rc;
}

static int
decode_resp(const struct lb_buf *b)
{
	struct lb_response r;
	size_t body_len = 99;
	int rc;

	rc = lb_response_decode(b->data, b->len, &r, &body_len);
	if (rc != LB_OK) {
		assert_int_equal(r.verdict, LB_VERDICT_DENY);
		assert_int_equal(r.type, 0);
		assert_int_equal(body_len, 0);
	}
	return rc;
}

/* ---- golden bytes ---- */

static void
test_request_encodes_to_golden_bytes(void **state)
{
	uint8_t expect[256];
	struct lb_request r, d;
	struct lb_buf b;
	size_t n, body_len;

	(void)state;
	n = unhex(golden_request_hex, expect, sizeof(expect));
	make_request(&r, LB_MSG_CREATE, LB_KIND_SYMLINK, "C:\\a\\l", "D:\\t");
	signed_request(&b, &r);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, expect, n);

	lb_buf_reset(&b);
	assert_int_equal(lb_request_encode_body(&r, &b), LB_OK);
	assert_int_equal(b.len, GOLDEN_REQUEST_BODY_LEN);
	assert_memory_equal(b.data, expect, GOLDEN_REQUEST_BODY_LEN);

	/* And the golden bytes decode and verify. */
	assert_int_equal(lb_request_decode(expect, n, &d, &body_len), LB_OK);
	assert_int_equal(body_len, GOLDEN_REQUEST_BODY_LEN);
	assert_int_equal(lb_request_verify(&d, K.client_pk), LB_OK);
	lb_buf_free(&b);
}

static void
test_response_encodes_to_golden_bytes(void **state)
{
	uint8_t expect[256];
	struct lb_response r, d;
	struct lb_buf b;
	size_t n, body_len;

	(void)state;
	n = unhex(golden_response_hex, expect, sizeof(expect));
	make_response(&r, LB_E_DENIED, LB_VERDICT_DENY, "r1", "no");
	lb_buf_init(&b, LB_FRAME_MAX);
	/* Signed with the client (RFC) key here only to match the vector. */
	assert_int_equal(lb_response_sign(&r, K.client_sk), LB_OK);
	assert_int_equal(lb_response_encode(&r, &b), LB_OK);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, expect, n);

	assert_int_equal(lb_response_decode(expect, n, &d, &body_len), LB_OK);
	assert_int_equal(body_len, GOLDEN_RESPONSE_BODY_LEN);
	assert_int_equal(d.status, LB_E_DENIED);
	assert_int_equal(lb_response_verify(&d, K.client_pk), LB_OK);
	lb_buf_free(&b);
}

/* ---- round trips ---- */

static void
check_request_round_trip(uint8_t type, uint8_t kind, const char *link,
    const char *target)
{
	struct lb_request r, d;
	struct lb_buf b, b2;
	size_t body_len;

	make_request(&r, type, kind, link, target);
	r.timestamp = 0xFEDCBA9876543210ULL;
	signed_request(&b, &r);
	assert_int_equal(lb_request_decode(b.data, b.len, &d, &body_len), LB_OK);
	assert_int_equal(body_len, b.len - LB_SIG_BYTES);
	assert_int_equal(d.version, LB_WIRE_VERSION);
	assert_int_equal(d.type, type);
	assert_int_equal(d.kind, kind);
	assert_true(d.timestamp == 0xFEDCBA9876543210ULL);
	assert_memory_equal(d.nonce, r.nonce, LB_NONCE_BYTES);
	assert_memory_equal(d.key, K.client_pk, LB_PK_BYTES);
	assert_int_equal(d.link_len, r.link_len);
	assert_int_equal(d.target_len, r.target_len);
	if (r.link_len > 0) {
		assert_memory_equal(d.link, link, r.link_len);
		assert_memory_equal(d.target, target, r.target_len);
		/* Decoded strings point into the input, right after their length. */
		assert_ptr_equal(d.link, (const char *)b.data + 61);
		assert_ptr_equal(d.target, (const char *)b.data + 61 + r.link_len + 2);
	}
	assert_memory_equal(d.sig, r.sig, LB_SIG_BYTES);
	assert_int_equal(lb_request_verify(&d, K.client_pk), LB_OK);
	/* Canonical: decoding then encoding gives back the same bytes. */
	lb_buf_init(&b2, LB_FRAME_MAX);
	assert_int_equal(lb_request_encode(&d, &b2), LB_OK);
	assert_int_equal(b2.len, b.len);
	assert_memory_equal(b2.data, b.data, b.len);
	lb_buf_free(&b2);
	lb_buf_free(&b);
}

static void
test_request_round_trips_for_every_type_and_kind(void **state)
{
	uint8_t kind;

	(void)state;
	for (kind = LB_KIND_SYMLINK; kind <= LB_KIND_MAX; kind++) {
		check_request_round_trip(LB_MSG_CREATE, kind, "/home/a/l", "/srv/t");
		check_request_round_trip(LB_MSG_CHECK, kind, "C:\\src\\x", "D:\\shared");
	}
	check_request_round_trip(LB_MSG_STATUS, LB_KIND_NONE, NULL, NULL);
	/* UTF-8 paths travel as bytes. */
	check_request_round_trip(LB_MSG_CREATE, LB_KIND_JUNCTION,
	    "C:\\caf\xc3\xa9", "D:\\\xe2\x82\xac");
}

static void
test_response_round_trips(void **state)
{
	static const struct {
		int32_t status;
		uint8_t verdict;
		const char *rule, *message;
	} cases[] = {
		{ LB_OK, LB_VERDICT_ALLOW, "dev-links", "symbolic link created" },
		{ LB_E_DENIED, LB_VERDICT_DENY, "", "no rule allowed" },
		{ LB_E_EXISTS, LB_VERDICT_ALLOW, "dev-links", "" },
		{ LB_OK, LB_VERDICT_DENY, "", "" },
		{ INT32_MIN, LB_VERDICT_DENY, "x", "y" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lb_response r, d;
		struct lb_buf b;
		size_t body_len;

		make_response(&r, cases[i].status, cases[i].verdict,
		    cases[i].rule, cases[i].message);
		lb_random(r.nonce, sizeof(r.nonce));
		signed_response(&b, &r);
		assert_int_equal(lb_response_decode(b.data, b.len, &d, &body_len), LB_OK);
		assert_int_equal(body_len, b.len - LB_SIG_BYTES);
		assert_int_equal(d.type, LB_MSG_RESPONSE);
		assert_memory_equal(d.nonce, r.nonce, LB_NONCE_BYTES);
		assert_int_equal(d.status, cases[i].status);
		assert_int_equal(d.verdict, cases[i].verdict);
		assert_int_equal(d.rule_len, r.rule_len);
		assert_memory_equal(d.rule, r.rule, r.rule_len);
		assert_int_equal(d.message_len, r.message_len);
		assert_memory_equal(d.message, r.message, r.message_len);
		assert_ptr_equal(d.rule, (const char *)b.data + 25);
		assert_int_equal(lb_response_verify(&d, K.service_pk), LB_OK);
		assert_int_equal(lb_response_verify(&d, K.client_pk), LB_E_SIG);
		lb_buf_free(&b);
	}
}

static void
test_framed_request_survives_transport(void **state)
{
	struct lb_request r, d;
	struct lb_buf msg, wire;
	const uint8_t *m;
	size_t mlen, used, body_len, cut;

	(void)state;
	make_request(&r, LB_MSG_CHECK, LB_KIND_HARDLINK, "/a", "/b");
	signed_request(&msg, &r);
	lb_buf_init(&wire, 2 * (LB_FRAME_HDR + LB_FRAME_MAX));
	assert_int_equal(lb_frame_put(&wire, msg.data, msg.len), LB_OK);
	assert_int_equal(lb_frame_put(&wire, msg.data, msg.len), LB_OK);
	assert_int_equal(wire.len, 2 * (LB_FRAME_HDR + msg.len));
	/* Bytes arriving one at a time: incomplete until the last one. */
	for (cut = 0; cut < LB_FRAME_HDR + msg.len; cut++)
		assert_int_equal(lb_frame_parse(wire.data, cut, &m, &mlen, &used), LB_E_SHORT);
	assert_int_equal(lb_frame_parse(wire.data, wire.len, &m, &mlen, &used), LB_OK);
	assert_int_equal(used, LB_FRAME_HDR + msg.len);
	assert_ptr_equal(m, wire.data + LB_FRAME_HDR);
	assert_int_equal(mlen, msg.len);
	assert_int_equal(lb_request_decode(m, mlen, &d, &body_len), LB_OK);
	assert_int_equal(lb_request_verify(&d, K.client_pk), LB_OK);
	/* The second frame follows exactly where the first ended. */
	assert_int_equal(lb_frame_parse(wire.data + used, wire.len - used, &m, &mlen, &used),
	    LB_OK);
	assert_int_equal(mlen, msg.len);
	lb_buf_free(&wire);
	lb_buf_free(&msg);
}

/* ---- malformed messages ---- */

static void
test_request_truncated_anywhere_is_short(void **state)
{
	struct lb_request r, d;
	struct lb_buf b;
	size_t cut, body_len;

	(void)state;
	make_request(&r, LB_MSG_CREATE, LB_KIND_DIRSYMLINK, "/home/u/l", "/t");
	signed_request(&b, &r);
	/* Every prefix, including the ones that end inside the signature. */
	for (cut = 0; cut < b.len; cut++) {
		assert_int_equal(lb_request_decode(b.data, cut, &d, &body_len), LB_E_SHORT);
		assert_null(d.link);
	}
	assert_int_equal(lb_request_decode(b.data, b.len, &d, &body_len), LB_OK);
	lb_buf_free(&b);

	make_request(&r, LB_MSG_STATUS, LB_KIND_NONE, NULL, NULL);
	signed_request(&b, &r);
	assert_int_equal(b.len, 63 + LB_SIG_BYTES);
	for (cut = 0; cut < b.len; cut++)
		assert_int_equal(lb_request_decode(b.data, cut, &d, &body_len), LB_E_SHORT);
	assert_int_equal(lb_request_decode(NULL, 0, &d, &body_len), LB_E_SHORT);
	lb_buf_free(&b);
}

static void
test_response_truncated_anywhere_is_short(void **state)
{
	struct lb_response r, d;
	struct lb_buf b;
	size_t cut, body_len;

	(void)state;
	make_response(&r, LB_OK, LB_VERDICT_ALLOW, "rule", "message");
	signed_response(&b, &r);
	for (cut = 0; cut < b.len; cut++)
		assert_int_equal(lb_response_decode(b.data, cut, &d, &body_len), LB_E_SHORT);
	assert_int_equal(lb_response_decode(b.data, b.len, &d, &body_len), LB_OK);
	lb_buf_free(&b);
}

static void
test_one_trailing_byte_is_refused(void **state)
{
	struct lb_request rq;
	struct lb_response rs;
	struct lb_buf b;

	(void)state;
	make_request(&rq, LB_MSG_CREATE, LB_KIND_SYMLINK, "/l", "/t");
	signed_request(&b, &rq);
	assert_int_equal(lb_buf_put_u8(&b, 0), LB_OK);
	assert_int_equal(decode_req(&b), LB_E_TRAILING);
	lb_buf_free(&b);

	make_response(&rs, LB_OK, LB_VERDICT_ALLOW, "", "");
	signed_response(&b, &rs);
	assert_int_equal(lb_buf_put_u8(&b, 0), LB_OK);
	assert_int_equal(decode_resp(&b), LB_E_TRAILING);
	lb_buf_free(&b);
}

static void
test_unknown_version_is_refused(void **state)
{
	static const uint8_t versions[] = { 0, 2, 0x7F, 0xFF };
	struct lb_request rq;
	struct lb_response rs;
	struct lb_buf b1, b2;
	size_t i;

	(void)state;
	make_request(&rq, LB_MSG_CREATE, LB_KIND_SYMLINK, "/l", "/t");
	signed_request(&b1, &rq);
	make_response(&rs, LB_OK, LB_VERDICT_ALLOW, "", "");
	signed_response(&b2, &rs);
	for (i = 0; i < sizeof(versions); i++) {
		b1.data[0] = versions[i];
		b2.data[0] = versions[i];
		assert_int_equal(decode_req(&b1), LB_E_VERSION);
		assert_int_equal(decode_resp(&b2), LB_E_VERSION);
	}
	/* The encoder will not write them either. */
	rq.version = 2;
	lb_buf_reset(&b1);
	assert_int_equal(lb_request_encode(&rq, &b1), LB_E_VERSION);
	rs.version = 0;
	assert_int_equal(lb_response_encode(&rs, &b1), LB_E_VERSION);
	assert_int_equal(b1.len, 0);
	lb_buf_free(&b1);
	lb_buf_free(&b2);
}

static void
test_unknown_or_response_type_in_request_is_refused(void **state)
{
	static const uint8_t types[] = { 0, 4, 0x7F, 0x80, LB_MSG_RESPONSE, 0x82, 0xFF };
	struct lb_request rq;
	struct lb_buf b;
	size_t i;

	(void)state;
	make_request(&rq, LB_MSG_CREATE, LB_KIND_SYMLINK, "/l", "/t");
	signed_request(&b, &rq);
	for (i = 0; i < sizeof(types); i++) {
		b.data[1] = types[i];
		assert_int_equal(decode_req(&b), LB_E_MSG_TYPE);
	}
	lb_buf_reset(&b);
	rq.type = LB_MSG_RESPONSE;
	assert_int_equal(lb_request_encode(&rq, &b), LB_E_MSG_TYPE);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
}

static void
test_request_type_in_response_is_refused(void **state)
{
	static const uint8_t types[] = { 0, LB_MSG_CREATE, LB_MSG_CHECK, LB_MSG_STATUS,
	    0x80, 0x82, 0xFF };
	struct lb_response rs;
	struct lb_buf b;
	size_t i;

	(void)state;
	make_response(&rs, LB_OK, LB_VERDICT_ALLOW, "", "");
	signed_response(&b, &rs);
	for (i = 0; i < sizeof(types); i++) {
		b.data[1] = types[i];
		assert_int_equal(decode_resp(&b), LB_E_MSG_TYPE);
	}
	lb_buf_reset(&b);
	rs.type = LB_MSG_CREATE;
	assert_int_equal(lb_response_encode(&rs, &b), LB_E_MSG_TYPE);
	lb_buf_free(&b);
}

static void
test_undefined_kind_is_refused(void **state)
{
	static const uint8_t kinds[] = { LB_KIND_MAX + 1, 0x80, 0xFF };
	struct lb_request rq;
	struct lb_buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds); i++) {
		raw_request(&b, 1, LB_MSG_CREATE, kinds[i], "/l", 2, "/t", 2);
		assert_int_equal(decode_req(&b), LB_E_BAD_FIELD);
		lb_buf_free(&b);
		make_request(&rq, LB_MSG_CREATE, kinds[i], "/l", "/t");
		lb_buf_init(&b, LB_FRAME_MAX);
		assert_int_equal(lb_request_encode(&rq, &b), LB_E_BAD_FIELD);
		lb_buf_free(&b);
	}
}

/* remove: a link, no kind (the broker knows what it made), no target;
 * list: no kind, an optional prefix and cursor. */
static void
test_remove_and_list_shapes(void **state)
{
	static const struct {
		uint8_t type, kind;
		const char *link, *target;
		int rc;
	} c[] = {
		{ LB_MSG_REMOVE, LB_KIND_NONE, "/l", "", LB_OK },
		{ LB_MSG_REMOVE, LB_KIND_SYMLINK, "/l", "", LB_E_BAD_FIELD },
		{ LB_MSG_REMOVE, LB_KIND_NONE, "", "", LB_E_BAD_FIELD },
		{ LB_MSG_REMOVE, LB_KIND_NONE, "/l", "/t", LB_E_BAD_FIELD },
		{ LB_MSG_LIST, LB_KIND_NONE, "", "", LB_OK },
		{ LB_MSG_LIST, LB_KIND_NONE, "/home/a", "42", LB_OK },
		{ LB_MSG_LIST, LB_KIND_HARDLINK, "", "", LB_E_BAD_FIELD },
	};
	struct lb_request rq;
	struct lb_buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		raw_request(&b, 1, c[i].type, c[i].kind, c[i].link, strlen(c[i].link), c[i].target,
		    strlen(c[i].target));
		assert_int_equal(decode_req(&b), c[i].rc);
		lb_buf_free(&b);
		make_request(&rq, c[i].type, c[i].kind, c[i].link[0] ? c[i].link : NULL,
		    c[i].target[0] ? c[i].target : NULL);
		lb_buf_init(&b, LB_FRAME_MAX);
		assert_int_equal(lb_request_encode(&rq, &b), c[i].rc);
		lb_buf_free(&b);
	}
	check_request_round_trip(LB_MSG_REMOVE, LB_KIND_NONE, "/home/a/l", NULL);
	check_request_round_trip(LB_MSG_LIST, LB_KIND_NONE, "/home/a", "17");
}

static void
test_status_with_kind_or_paths_is_refused(void **state)
{
	struct lb_request rq;
	struct lb_buf b;

	(void)state;
	raw_request(&b, 1, LB_MSG_STATUS, LB_KIND_SYMLINK, "", 0, "", 0);
	assert_int_equal(decode_req(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);
	raw_request(&b, 1, LB_MSG_STATUS, LB_KIND_NONE, "/l", 2, "", 0);
	assert_int_equal(decode_req(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);
	raw_request(&b, 1, LB_MSG_STATUS, LB_KIND_NONE, "", 0, "/t", 2);
	assert_int_equal(decode_req(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);
	/* The well-formed status request, for contrast. */
	raw_request(&b, 1, LB_MSG_STATUS, LB_KIND_NONE, "", 0, "", 0);
	assert_int_equal(decode_req(&b), LB_OK);
	lb_buf_free(&b);

	lb_buf_init(&b, LB_FRAME_MAX);
	make_request(&rq, LB_MSG_STATUS, LB_KIND_JUNCTION, NULL, NULL);
	assert_int_equal(lb_request_encode(&rq, &b), LB_E_BAD_FIELD);
	make_request(&rq, LB_MSG_STATUS, LB_KIND_NONE, "/l", NULL);
	assert_int_equal(lb_request_encode(&rq, &b), LB_E_BAD_FIELD);
	make_request(&rq, LB_MSG_STATUS, LB_KIND_NONE, NULL, "/t");
	assert_int_equal(lb_request_encode_body(&rq, &b), LB_E_BAD_FIELD);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
}

static void
test_create_or_check_without_both_paths_or_kind_is_refused(void **state)
{
	static const uint8_t types[] = { LB_MSG_CREATE, LB_MSG_CHECK };
	struct lb_request rq;
	struct lb_buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types); i++) {
		raw_request(&b, 1, types[i], LB_KIND_SYMLINK, "", 0, "/t", 2);
		assert_int_equal(decode_req(&b), LB_E_BAD_FIELD);
		lb_buf_free(&b);
		raw_request(&b, 1, types[i], LB_KIND_SYMLINK, "/l", 2, "", 0);
		assert_int_equal(decode_req(&b), LB_E_BAD_FIELD);
		lb_buf_free(&b);
		raw_request(&b, 1, types[i], LB_KIND_NONE, "/l", 2, "/t", 2);
		assert_int_equal(decode_req(&b), LB_E_BAD_FIELD);
		lb_buf_free(&b);

		lb_buf_init(&b, LB_FRAME_MAX);
		make_request(&rq, types[i], LB_KIND_SYMLINK, "", "/t");
		assert_int_equal(lb_request_encode(&rq, &b), LB_E_BAD_FIELD);
		make_request(&rq, types[i], LB_KIND_SYMLINK, "/l", NULL);
		assert_int_equal(lb_request_encode(&rq, &b), LB_E_BAD_FIELD);
		make_request(&rq, types[i], LB_KIND_NONE, "/l", "/t");
		assert_int_equal(lb_request_encode(&rq, &b), LB_E_BAD_FIELD);
		assert_int_equal(b.len, 0);
		lb_buf_free(&b);
	}
}

static void
test_string_over_max_is_refused(void **state)
{
	const size_t over = LB_WIRE_STR_MAX + 1;
	struct lb_request rq;
	struct lb_response rs;
	struct lb_buf b;
	char *big;

	(void)state;
	big = malloc(over + 1);
	assert_non_null(big);
	memset(big, 'a', over);
	big[over] = '\0';

	raw_request(&b, 1, LB_MSG_CREATE, LB_KIND_SYMLINK, big, over, "/t", 2);
	assert_int_equal(decode_req(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);
	raw_request(&b, 1, LB_MSG_CREATE, LB_KIND_SYMLINK, "/l", 2, big, over);
	assert_int_equal(decode_req(&b), LB_E_BAD_FIELD);
	/* The length is judged before waiting for the bytes it announces. */
	b.len = 59 + 2 + 2 + 2;   /* fixed part, link, target length: no bytes */
	assert_int_equal(decode_req(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);
	raw_response(&b, LB_MSG_RESPONSE, 0, 1, big, over, "", 0);
	assert_int_equal(decode_resp(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);
	raw_response(&b, LB_MSG_RESPONSE, 0, 1, "", 0, big, over);
	assert_int_equal(decode_resp(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);

	lb_buf_init(&b, 3 * LB_FRAME_MAX);
	make_request(&rq, LB_MSG_CREATE, LB_KIND_SYMLINK, big, "/t");
	assert_int_equal(lb_request_encode(&rq, &b), LB_E_BAD_FIELD);
	make_response(&rs, LB_OK, LB_VERDICT_DENY, "", big);
	assert_int_equal(lb_response_encode(&rs, &b), LB_E_BAD_FIELD);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);

	/* One less is a legal string. */
	big[LB_WIRE_STR_MAX] = '\0';
	make_request(&rq, LB_MSG_CREATE, LB_KIND_SYMLINK, big, "/t");
	signed_request(&b, &rq);
	assert_int_equal(decode_req(&b), LB_OK);
	lb_buf_free(&b);
	free(big);
}

static void
test_message_over_frame_max_is_refused(void **state)
{
	/* Two legal strings can still make a message too big for one frame:
	 * 63 fixed + 64 signature leave 65409 bytes for link + target. */
	const size_t room = LB_FRAME_MAX - 63 - LB_SIG_BYTES;
	const size_t link_len = LB_WIRE_STR_MAX;
	struct lb_request rq, d;
	struct lb_buf b;
	size_t body_len;
	char *big;

	(void)state;
	big = malloc(LB_WIRE_STR_MAX + 1);
	assert_non_null(big);
	memset(big, 'p', LB_WIRE_STR_MAX);
	big[LB_WIRE_STR_MAX] = '\0';

	make_request(&rq, LB_MSG_CREATE, LB_KIND_SYMLINK, big, big);
	rq.target_len = room - link_len;
	signed_request(&b, &rq);
	assert_int_equal(b.len, LB_FRAME_MAX);
	assert_int_equal(lb_request_decode(b.data, b.len, &d, &body_len), LB_OK);
	assert_int_equal(lb_request_verify(&d, K.client_pk), LB_OK);
	lb_buf_free(&b);

	rq.target_len = room - link_len + 1;
	lb_buf_init(&b, 3 * LB_FRAME_MAX);
	assert_int_equal(lb_request_encode(&rq, &b), LB_E_TOOBIG);
	assert_int_equal(lb_request_sign(&rq, K.client_sk), LB_E_TOOBIG);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
	raw_request(&b, 1, LB_MSG_CREATE, LB_KIND_SYMLINK, big, link_len,
	    big, room - link_len + 1);
	assert_int_equal(b.len, LB_FRAME_MAX + 1);
	assert_int_equal(decode_req(&b), LB_E_TOOBIG);
	lb_buf_free(&b);
	free(big);
}

static void
test_nul_inside_a_string_is_refused(void **state)
{
	struct lb_request rq;
	struct lb_response rs;
	struct lb_buf b;

	(void)state;
	raw_request(&b, 1, LB_MSG_CREATE, LB_KIND_SYMLINK, "/l\0x", 4, "/t", 2);
	assert_int_equal(decode_req(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);
	raw_request(&b, 1, LB_MSG_CREATE, LB_KIND_SYMLINK, "/l", 2, "/t\0", 3);
	assert_int_equal(decode_req(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);
	raw_response(&b, LB_MSG_RESPONSE, 0, 0, "\0", 1, "", 0);
	assert_int_equal(decode_resp(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);
	raw_response(&b, LB_MSG_RESPONSE, 0, 0, "", 0, "ok\0evil", 7);
	assert_int_equal(decode_resp(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);

	lb_buf_init(&b, LB_FRAME_MAX);
	make_request(&rq, LB_MSG_CREATE, LB_KIND_SYMLINK, "/l", "/t");
	rq.link = "/l\0x";
	rq.link_len = 4;
	assert_int_equal(lb_request_encode(&rq, &b), LB_E_BAD_FIELD);
	make_response(&rs, LB_OK, LB_VERDICT_ALLOW, "", "");
	rs.rule = "a\0";
	rs.rule_len = 2;
	assert_int_equal(lb_response_encode(&rs, &b), LB_E_BAD_FIELD);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
}

static void
test_undefined_verdict_or_positive_status_is_refused(void **state)
{
	static const uint8_t verdicts[] = { 2, 0x80, 0xFF };
	struct lb_response rs;
	struct lb_buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(verdicts); i++) {
		raw_response(&b, LB_MSG_RESPONSE, 0, verdicts[i], "", 0, "", 0);
		assert_int_equal(decode_resp(&b), LB_E_BAD_FIELD);
		lb_buf_free(&b);
	}
	raw_response(&b, LB_MSG_RESPONSE, 1, LB_VERDICT_ALLOW, "", 0, "", 0);
	assert_int_equal(decode_resp(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);
	raw_response(&b, LB_MSG_RESPONSE, 0x7FFFFFFF, LB_VERDICT_DENY, "", 0, "", 0);
	assert_int_equal(decode_resp(&b), LB_E_BAD_FIELD);
	lb_buf_free(&b);
	/* Negative codes are fine, including the most negative. */
	raw_response(&b, LB_MSG_RESPONSE, 0x80000000u, LB_VERDICT_DENY, "", 0, "", 0);
	assert_int_equal(decode_resp(&b), LB_OK);
	lb_buf_free(&b);

	lb_buf_init(&b, LB_FRAME_MAX);
	make_response(&rs, LB_OK, 2, "", "");
	assert_int_equal(lb_response_encode(&rs, &b), LB_E_BAD_FIELD);
	make_response(&rs, 5, LB_VERDICT_DENY, "", "");
	assert_int_equal(lb_response_encode(&rs, &b), LB_E_BAD_FIELD);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
}

static void
test_encoder_failure_appends_nothing(void **state)
{
	struct lb_request rq;
	struct lb_buf b;

	(void)state;
	/* A buffer already holding a frame header stays exactly as it was. */
	lb_buf_init(&b, 4 + 67 + 10);
	assert_int_equal(lb_buf_put_u32(&b, 0xA1B2C3D4), LB_OK);
	make_request(&rq, LB_MSG_CREATE, LB_KIND_SYMLINK, "/l", "/t");
	/* The 67-byte body fits, the signature after it does not: the body
	 * already written is taken back. */
	assert_int_equal(lb_request_encode(&rq, &b), LB_E_TOOBIG);
	assert_int_equal(b.len, 4);
	rq.link = NULL;
	assert_int_equal(lb_request_encode(&rq, &b), LB_E_INVAL);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "\xa1\xb2\xc3\xd4", 4);
	lb_buf_free(&b);
}

/* ---- frames ---- */

static int
parse_frame_hdr(uint32_t n, size_t have_body)
{
	uint8_t buf[LB_FRAME_HDR + 16];
	const uint8_t *m = (const uint8_t *)"x";
	size_t mlen = 7, used = 7;
	int rc;

	buf[0] = (uint8_t)(n >> 24);
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	memset(buf + LB_FRAME_HDR, 0x55, 16);
	rc = lb_frame_parse(buf, LB_FRAME_HDR + have_body, &m, &mlen, &used);
	if (rc != LB_OK) {
		assert_null(m);
		assert_int_equal(mlen, 0);
		assert_int_equal(used, 0);
	}
	return rc;
}

static void
test_frame_of_length_zero_is_refused(void **state)
{
	struct lb_buf b;

	(void)state;
	assert_int_equal(parse_frame_hdr(0, 0), LB_E_FRAME_EMPTY);
	assert_int_equal(parse_frame_hdr(0, 16), LB_E_FRAME_EMPTY);
	lb_buf_init(&b, 64);
	assert_int_equal(lb_frame_put(&b, (const uint8_t *)"", 0), LB_E_FRAME_EMPTY);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
}

static void
test_frame_longer_than_64k_is_refused(void **state)
{
	struct lb_buf b;
	uint8_t *big;

	(void)state;
	/* Refused from the header alone: no waiting for 4 GiB. */
	assert_int_equal(parse_frame_hdr(LB_FRAME_MAX + 1, 0), LB_E_FRAME_TOO_LONG);
	assert_int_equal(parse_frame_hdr(0x00010001u, 16), LB_E_FRAME_TOO_LONG);
	assert_int_equal(parse_frame_hdr(0x80000000u, 0), LB_E_FRAME_TOO_LONG);
	assert_int_equal(parse_frame_hdr(0xFFFFFFFFu, 0), LB_E_FRAME_TOO_LONG);

	big = calloc(1, LB_FRAME_MAX + 1);
	assert_non_null(big);
	lb_buf_init(&b, 2 * LB_FRAME_MAX);
	assert_int_equal(lb_frame_put(&b, big, LB_FRAME_MAX + 1), LB_E_FRAME_TOO_LONG);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
	free(big);
}

static void
test_partial_frame_header_or_body_is_short(void **state)
{
	static const uint8_t hdr[4] = { 0, 0, 0, 5 };
	const uint8_t *m;
	size_t mlen, used, cut;

	(void)state;
	for (cut = 0; cut < LB_FRAME_HDR; cut++)
		assert_int_equal(lb_frame_parse(hdr, cut, &m, &mlen, &used), LB_E_SHORT);
	assert_int_equal(lb_frame_parse(NULL, 0, &m, &mlen, &used), LB_E_SHORT);
	assert_int_equal(parse_frame_hdr(5, 0), LB_E_SHORT);
	assert_int_equal(parse_frame_hdr(5, 4), LB_E_SHORT);
	assert_int_equal(parse_frame_hdr(5, 5), LB_OK);
	assert_int_equal(parse_frame_hdr(LB_FRAME_MAX, 16), LB_E_SHORT);
}

static void
test_frame_of_exactly_64k_is_accepted(void **state)
{
	struct lb_buf b;
	uint8_t *body;
	const uint8_t *m;
	size_t mlen, used;

	(void)state;
	body = malloc(LB_FRAME_MAX);
	assert_non_null(body);
	memset(body, 0xC3, LB_FRAME_MAX);
	lb_buf_init(&b, LB_FRAME_HDR + LB_FRAME_MAX);
	assert_int_equal(lb_frame_put(&b, body, LB_FRAME_MAX), LB_OK);
	assert_int_equal(b.len, LB_FRAME_HDR + LB_FRAME_MAX);
	assert_memory_equal(b.data, "\x00\x01\x00\x00", 4);
	assert_int_equal(lb_frame_parse(b.data, b.len - 1, &m, &mlen, &used), LB_E_SHORT);
	assert_int_equal(lb_frame_parse(b.data, b.len, &m, &mlen, &used), LB_OK);
	assert_int_equal(mlen, LB_FRAME_MAX);
	assert_int_equal(used, LB_FRAME_HDR + LB_FRAME_MAX);
	assert_memory_equal(m, body, LB_FRAME_MAX);
	/* A buffer one byte too small takes none of it. */
	lb_buf_free(&b);
	lb_buf_init(&b, LB_FRAME_HDR + LB_FRAME_MAX - 1);
	assert_int_equal(lb_frame_put(&b, body, LB_FRAME_MAX), LB_E_TOOBIG);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
	free(body);
}

/* ---- signatures over the wire bytes ---- */

static void
test_any_change_to_a_signed_request_fails_verification(void **state)
{
	static const uint8_t flips[] = { 0x01, 0x80, 0xFF };
	struct lb_request r, d;
	struct lb_buf b;
	size_t off, f, body_len, reached_verify = 0;
	uint8_t *mod;

	(void)state;
	make_request(&r, LB_MSG_CREATE, LB_KIND_SYMLINK, "C:\\a\\l", "D:\\t");
	signed_request(&b, &r);
	body_len = b.len - LB_SIG_BYTES;
	mod = malloc(b.len);
	assert_non_null(mod);
	for (off = 0; off < b.len; off++) {
		for (f = 0; f < sizeof(flips); f++) {
			memcpy(mod, b.data, b.len);
			mod[off] ^= flips[f];
			/* The raw bytes never verify ... */
			assert_int_equal(lb_verify(K.client_pk, LB_CTX_REQUEST, mod,
			    body_len, mod + body_len), LB_E_SIG);
			/* ... and a decodable variant fails lb_request_verify. */
			if (lb_request_decode(mod, b.len, &d, NULL) != LB_OK)
				continue;
			assert_int_equal(lb_request_verify(&d, K.client_pk), LB_E_SIG);
			reached_verify++;
		}
	}
	/* Most flips (timestamp, nonce, key, path bytes, signature) decode
	 * fine, so the loop really exercised the signature check. */
	assert_true(reached_verify > 2 * b.len);
	assert_int_equal(lb_request_decode(b.data, b.len, &d, NULL), LB_OK);
	assert_int_equal(lb_request_verify(&d, K.client_pk), LB_OK);
	free(mod);
	lb_buf_free(&b);
}

static void
test_any_change_to_a_signed_response_fails_verification(void **state)
{
	struct lb_response r, d;
	struct lb_buf b;
	size_t off, reached_verify = 0;
	uint8_t *mod;

	(void)state;
	make_response(&r, LB_OK, LB_VERDICT_DENY, "deny-all", "no");
	signed_response(&b, &r);
	mod = malloc(b.len);
	assert_non_null(mod);
	for (off = 0; off < b.len; off++) {
		memcpy(mod, b.data, b.len);
		mod[off] ^= 0x01;
		if (lb_response_decode(mod, b.len, &d, NULL) != LB_OK)
			continue;
		assert_int_equal(lb_response_verify(&d, K.service_pk), LB_E_SIG);
		reached_verify++;
	}
	assert_true(reached_verify > b.len / 2);
	free(mod);
	lb_buf_free(&b);
}

static void
test_request_verifies_only_with_the_key_it_names(void **state)
{
	struct lb_request r;
	struct lb_buf b;

	(void)state;
	make_request(&r, LB_MSG_CHECK, LB_KIND_SYMLINK, "/l", "/t");
	signed_request(&b, &r);
	assert_int_equal(lb_request_verify(&r, K.client_pk), LB_OK);
	assert_int_equal(lb_request_verify(&r, K.service_pk), LB_E_SIG);
	/* Naming another key in the body breaks it even for the real signer. */
	memcpy(r.key, K.service_pk, LB_PK_BYTES);
	assert_int_equal(lb_request_verify(&r, K.client_pk), LB_E_SIG);
	assert_int_equal(lb_request_verify(&r, K.service_pk), LB_E_SIG);
	/* And lb_request_sign will not sign a body naming someone else. */
	assert_int_equal(lb_request_sign(&r, K.client_sk), LB_E_INVAL);
	assert_int_equal(lb_request_sign_checked(&r, K.client_sk), LB_E_INVAL);
	lb_buf_free(&b);
}

/* The pre-checked signing gives the same signature; the signed input is
 * what lb_request_verify and lb_response_verify check. */
static void
test_signed_inputs_and_checked_signing(void **state)
{
	struct lb_request r;
	struct lb_response resp;
	struct lb_buf in;
	uint8_t sig[LB_SIG_BYTES];

	(void)state;
	make_request(&r, LB_MSG_CREATE, LB_KIND_SYMLINK, "/l", "/t");
	assert_int_equal(lb_request_sign(&r, K.client_sk), LB_OK);
	memcpy(sig, r.sig, LB_SIG_BYTES);
	memset(r.sig, 0, LB_SIG_BYTES);
	assert_int_equal(lb_request_sign_checked(&r, K.client_sk), LB_OK);
	assert_memory_equal(sig, r.sig, LB_SIG_BYTES);
	lb_buf_init(&in, LB_FRAME_MAX + 256);
	assert_int_equal(lb_request_signed_input(&r, &in), LB_OK);
	assert_int_equal(lb_verify_prepared(K.client_pk, in.data, in.len, r.sig), LB_OK);
	assert_int_equal(in.data[0], strlen(LB_CTX_REQUEST));
	lb_buf_free(&in);

	memset(&resp, 0, sizeof(resp));
	resp.version = LB_WIRE_VERSION;
	resp.type = LB_MSG_RESPONSE;
	resp.rule = "dev";
	resp.rule_len = 3;
	resp.message = "ok";
	resp.message_len = 2;
	lb_buf_init(&in, LB_FRAME_MAX + 256);
	assert_int_equal(lb_response_signed_input(&resp, &in), LB_OK);
	assert_int_equal(lb_sign_prepared(K.service_sk, in.data, in.len, resp.sig), LB_OK);
	assert_int_equal(lb_response_verify(&resp, K.service_pk), LB_OK);
	resp.status = -1;                         /* another answer: does not verify */
	assert_int_equal(lb_response_verify(&resp, K.service_pk), LB_E_SIG);
	lb_buf_free(&in);
}

static void
test_request_signature_is_no_response_signature(void **state)
{
	struct lb_request r;
	struct lb_buf b;
	size_t body_len;

	(void)state;
	make_request(&r, LB_MSG_STATUS, LB_KIND_NONE, NULL, NULL);
	signed_request(&b, &r);
	body_len = b.len - LB_SIG_BYTES;
	assert_int_equal(lb_verify(K.client_pk, LB_CTX_REQUEST, b.data, body_len,
	    b.data + body_len), LB_OK);
	assert_int_equal(lb_verify(K.client_pk, LB_CTX_RESPONSE, b.data, body_len,
	    b.data + body_len), LB_E_SIG);
	lb_buf_free(&b);
}

/* ---- kinds ---- */

static void
test_kind_names_round_trip(void **state)
{
	static const struct {
		enum lb_kind k;
		const char *name;
	} kinds[] = {
		{ LB_KIND_SYMLINK, "symlink" },
		{ LB_KIND_DIRSYMLINK, "dirsymlink" },
		{ LB_KIND_HARDLINK, "hardlink" },
		{ LB_KIND_JUNCTION, "junction" },
	};
	enum lb_kind k;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		assert_string_equal(lb_kind_name(kinds[i].k), kinds[i].name);
		assert_int_equal(lb_kind_parse(kinds[i].name, &k), LB_OK);
		assert_int_equal(k, kinds[i].k);
	}
	assert_null(lb_kind_name(LB_KIND_NONE));
	assert_null(lb_kind_name((enum lb_kind)5));
}

static void
test_kind_parse_refuses_unknown_names(void **state)
{
	static const char *const bad[] = {
		"", "none", "Symlink", "SYMLINK", "symlink ", " junction", "sym",
		"hardlinks", "*",
	};
	enum lb_kind k = LB_KIND_HARDLINK;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(lb_kind_parse(bad[i], &k), LB_E_INVAL);
	assert_int_equal(lb_kind_parse(NULL, &k), LB_E_INVAL);
	assert_int_equal(k, LB_KIND_HARDLINK);
}

/* The unsigned busy answer: exactly the documented 26 bytes, decoded back;
 * refused when short, long, with another status or an out-of-range wait. */
static void
test_busy_encodes_to_its_layout_and_rejects_bad_fields(void **state)
{
	static const uint8_t want[LB_BUSY_LEN] = {
		0x01, 0x82,
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		0xff, 0xff, 0xff, 0xb7,        /* -73 LB_E_RATE */
		0x00, 0x00, 0x01, 0xf4,        /* 500 ms */
	};
	struct lb_busy b, d;
	struct lb_buf out;
	uint8_t bad[LB_BUSY_LEN + 1];
	size_t i;

	(void)state;
	memset(&b, 0, sizeof(b));
	b.version = LB_WIRE_VERSION;
	b.type = LB_MSG_BUSY;
	for (i = 0; i < LB_NONCE_BYTES; i++)
		b.nonce[i] = (uint8_t)i;
	b.status = LB_E_RATE;
	b.retry_ms = 500;
	lb_buf_init(&out, 64);
	assert_int_equal(lb_busy_encode(&b, &out), LB_OK);
	assert_int_equal(out.len, LB_BUSY_LEN);
	assert_memory_equal(out.data, want, LB_BUSY_LEN);
	assert_true(lb_msg_is_busy(out.data, out.len));
	assert_int_equal(lb_busy_decode(want, sizeof(want), &d), LB_OK);
	assert_int_equal(d.status, LB_E_RATE);
	assert_int_equal(d.retry_ms, 500);
	assert_memory_equal(d.nonce, b.nonce, LB_NONCE_BYTES);
	/* a response is not a busy answer, nor is a busy answer a response */
	assert_false(lb_msg_is_busy((const uint8_t *)"\x01\x81", 2));
	assert_int_equal(lb_response_decode(want, sizeof(want), &(struct lb_response){ 0 }, NULL),
	    LB_E_MSG_TYPE);
	/* short, trailing */
	assert_int_equal(lb_busy_decode(want, sizeof(want) - 1, &d), LB_E_SHORT);
	memcpy(bad, want, sizeof(want));
	bad[LB_BUSY_LEN] = 0;
	assert_int_equal(lb_busy_decode(bad, sizeof(bad), &d), LB_E_TRAILING);
	/* another status, no wait, too long a wait */
	memcpy(bad, want, sizeof(want));
	bad[21] = 0xcd;                  /* -51 LB_E_DENIED: a busy answer is never a verdict */
	assert_int_equal(lb_busy_decode(bad, LB_BUSY_LEN, &d), LB_E_BAD_FIELD);
	memcpy(bad, want, sizeof(want));
	memset(bad + 22, 0, 4);
	assert_int_equal(lb_busy_decode(bad, LB_BUSY_LEN, &d), LB_E_BAD_FIELD);
	memset(bad + 22, 0xff, 4);
	assert_int_equal(lb_busy_decode(bad, LB_BUSY_LEN, &d), LB_E_BAD_FIELD);
	b.status = LB_E_DENIED;
	lb_buf_reset(&out);
	assert_int_equal(lb_busy_encode(&b, &out), LB_E_BAD_FIELD);
	assert_int_equal(out.len, 0);
	lb_buf_free(&out);
}

/* lb_busy_frame: the framed busy answer the broker and both daemons send:
 * its length word, a zero nonce for a whole connection, the wait clamped
 * into what a client accepts; a bad status appends nothing. */
static void
test_busy_frame_is_framed_and_clamped(void **state)
{
	static const uint8_t zero[LB_NONCE_BYTES];
	uint8_t nonce[LB_NONCE_BYTES];
	const uint8_t *msg;
	size_t len, used;
	struct lb_busy d;
	struct lb_buf out;

	(void)state;
	memset(nonce, 0x5a, sizeof(nonce));
	lb_buf_init(&out, 256);
	assert_int_equal(lb_busy_frame(&out, NULL, LB_E_BUSY, 50), LB_OK);
	assert_int_equal(out.len, LB_FRAME_HDR + LB_BUSY_LEN);
	assert_int_equal(lb_frame_parse(out.data, out.len, &msg, &len, &used), LB_OK);
	assert_int_equal(len, LB_BUSY_LEN);
	assert_int_equal(lb_busy_decode(msg, len, &d), LB_OK);
	assert_int_equal(d.status, LB_E_BUSY);
	assert_int_equal(d.retry_ms, 50);
	assert_memory_equal(d.nonce, zero, LB_NONCE_BYTES);
	lb_buf_reset(&out);
	assert_int_equal(lb_busy_frame(&out, nonce, LB_E_RATE, 0), LB_OK);
	assert_int_equal(lb_busy_decode(out.data + LB_FRAME_HDR, LB_BUSY_LEN, &d), LB_OK);
	assert_int_equal(d.retry_ms, 1);
	assert_memory_equal(d.nonce, nonce, LB_NONCE_BYTES);
	lb_buf_reset(&out);
	assert_int_equal(lb_busy_frame(&out, nonce, LB_E_RATE, 999999999u), LB_OK);
	assert_int_equal(lb_busy_decode(out.data + LB_FRAME_HDR, LB_BUSY_LEN, &d), LB_OK);
	assert_int_equal(d.retry_ms, LB_BUSY_RETRY_MAX_MS);
	lb_buf_reset(&out);
	assert_int_equal(lb_busy_frame(&out, NULL, LB_E_DENIED, 50), LB_E_BAD_FIELD);
	assert_int_equal(out.len, 0);
	lb_buf_free(&out);
}

/* ---- batches (version 2) ---- */

/* Computed independently (Python struct + cryptography): a batch of two,
 * CREATE SYMLINK "C:\a\l" -> "D:\t" and CHECK HARDLINK "/h/x" -> "/h/y",
 * timestamp 1700000000, nonce 00..0f, the RFC 8032 TEST 1 key, signed
 * over 0x13 "LinkBroker batch v2" || body. */
static const char golden_batch_hex[] =
	"02" "04" "000000006553f100" "000102030405060708090a0b0c0d0e0f"
	"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
	"0002"                                           /* count */
	"0101" "0006433a5c615c6c" "0004443a5c74"         /* create symlink */
	"0203" "00042f682f78" "00042f682f79"             /* check hardlink */
	"637ebc14c74a0cd6f0a3ac4fc1e06645a483ffce3c26ddaea00e1fe660245c63"
	"a014cee9cad940328f64c2aed30cb54c8c392fcb23857525c757680c803ebe03";
#define GOLDEN_BATCH_BODY_LEN 90
/* Its answer's body: status 0, no message, two results (0, allow, "r1",
 * "ok") and (-51, deny, "", "no rule"). */
static const char golden_batch_resp_body_hex[] =
	"0283" "000102030405060708090a0b0c0d0e0f" "00000000" "0000" "0002"
	"00000000" "01" "00027231" "00026f6b"
	"ffffffcd" "00" "0000" "00076e6f2072756c65";

static void
make_batch(struct lb_batch *b)
{
	uint8_t i;

	memset(b, 0, sizeof(*b));
	b->version = LB_WIRE_VERSION_BATCH;
	b->type = LB_MSG_BATCH;
	b->timestamp = TS;
	for (i = 0; i < LB_NONCE_BYTES; i++)
		b->nonce[i] = i;
	memcpy(b->key, K.client_pk, LB_PK_BYTES);
	b->n = 2;
	b->e[0] = (struct lb_batch_entry){ LB_MSG_CREATE, LB_KIND_SYMLINK, "C:\\a\\l", 6, "D:\\t", 4 };
	b->e[1] = (struct lb_batch_entry){ LB_MSG_CHECK, LB_KIND_HARDLINK, "/h/x", 4, "/h/y", 4 };
}

static void
test_batch_encodes_to_golden_bytes(void **state)
{
	uint8_t expect[256];
	struct lb_batch *b = calloc(1, sizeof(*b)), *d = calloc(1, sizeof(*d));
	struct lb_buf out;
	size_t n, body_len;

	(void)state;
	assert_non_null(b);
	assert_non_null(d);
	n = unhex(golden_batch_hex, expect, sizeof(expect));
	make_batch(b);
	lb_buf_init(&out, LB_FRAME_MAX);
	assert_int_equal(lb_batch_sign_encode(b, K.client_sk, &out), LB_OK);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, expect, n);
	assert_int_equal(lb_batch_decode(expect, n, d, &body_len), LB_OK);
	assert_int_equal(body_len, GOLDEN_BATCH_BODY_LEN);
	assert_int_equal(d->n, 2);
	assert_int_equal(d->e[1].type, LB_MSG_CHECK);
	assert_int_equal(d->e[1].kind, LB_KIND_HARDLINK);
	assert_memory_equal(d->e[0].link, "C:\\a\\l", 6);
	assert_int_equal(lb_batch_verify(d, expect, body_len, K.client_pk), LB_OK);
	/* only with the key it names, and not as a single request */
	assert_int_equal(lb_batch_verify(d, expect, body_len, K.service_pk), LB_E_SIG);
	assert_int_equal(lb_request_decode(expect, n, &(struct lb_request){ 0 }, NULL), LB_E_VERSION);
	/* any changed byte, body or signature, fails */
	for (size_t i = 0; i < n; i++) {
		expect[i] ^= 0x01;
		assert_true(lb_batch_decode(expect, n, d, &body_len) != LB_OK ||
		    lb_batch_verify(d, expect, body_len, K.client_pk) != LB_OK);
		expect[i] ^= 0x01;
	}
	/* a request's signature over the same body is not a batch's */
	assert_int_equal(lb_batch_decode(expect, n, d, &body_len), LB_OK);
	assert_int_equal(lb_sign(K.client_sk, LB_CTX_REQUEST, expect, body_len, d->sig), LB_OK);
	assert_int_equal(lb_batch_verify(d, expect, body_len, K.client_pk), LB_E_SIG);
	/* signing with a key the batch does not name is refused */
	b->key[0] ^= 1;
	lb_buf_reset(&out);
	assert_int_equal(lb_batch_sign_encode(b, K.client_sk, &out), LB_E_INVAL);
	assert_int_equal(out.len, 0);
	lb_buf_free(&out);
	free(b);
	free(d);
}

static void
test_batch_response_encodes_to_golden_bytes(void **state)
{
	uint8_t expect[256];
	struct lb_batch_response *r = calloc(1, sizeof(*r)), *d = calloc(1, sizeof(*d));
	struct lb_buf out, in;
	uint8_t sig[LB_SIG_BYTES];
	size_t n, body_len;
	uint8_t i;

	(void)state;
	assert_non_null(r);
	assert_non_null(d);
	n = unhex(golden_batch_resp_body_hex, expect, sizeof(expect));
	r->version = LB_WIRE_VERSION_BATCH;
	r->type = LB_MSG_BATCH_RESPONSE;
	for (i = 0; i < LB_NONCE_BYTES; i++)
		r->nonce[i] = i;
	r->n = 2;
	r->r[0] = (struct lb_batch_result){ 0, LB_VERDICT_ALLOW, "r1", 2, "ok", 2 };
	r->r[1] = (struct lb_batch_result){ LB_E_DENIED, LB_VERDICT_DENY, "", 0, "no rule", 7 };
	lb_buf_init(&out, LB_FRAME_MAX);
	lb_buf_init(&in, 0);
	assert_int_equal(lb_batch_response_encode_body(r, &out), LB_OK);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, expect, n);
	assert_int_equal(lb_batch_response_signed_input(out.data, out.len, &in), LB_OK);
	assert_int_equal(lb_sign_prepared(K.service_sk, in.data, in.len, sig), LB_OK);
	assert_int_equal(lb_buf_put(&out, sig, sizeof(sig)), LB_OK);
	assert_int_equal(lb_batch_response_decode(out.data, out.len, d, &body_len), LB_OK);
	assert_int_equal(body_len, n);
	assert_int_equal(d->r[1].status, LB_E_DENIED);
	assert_int_equal(lb_batch_response_verify(d, out.data, body_len, K.service_pk), LB_OK);
	out.data[30] ^= 1;   /* a result's status */
	assert_true(lb_batch_response_decode(out.data, out.len, d, &body_len) != LB_OK ||
	    lb_batch_response_verify(d, out.data, body_len, K.service_pk) != LB_OK);
	lb_buf_free(&out);
	lb_buf_free(&in);
	free(r);
	free(d);
}

/* A hostile batch: every shape rule, judged before anything is used. */
static void
test_batch_decoder_refuses_what_the_encoder_would_not_make(void **state)
{
	uint8_t good[256], m[256];
	struct lb_batch *d = calloc(1, sizeof(*d)), *b = calloc(1, sizeof(*b));
	struct lb_buf out;
	size_t n, body_len;
	struct { size_t off; uint8_t v; int want; } edits[] = {
		{ 0, 0x03, LB_E_VERSION },      /* version 3 */
		{ 0, 0x01, LB_E_VERSION },      /* a request's version */
		{ 1, 0x01, LB_E_MSG_TYPE },     /* type create at the batch's level */
		{ 58, 0x00, LB_E_SHORT },       /* (special: count 3) */
		{ 59, 0x00, LB_E_BAD_FIELD },   /* count 0 */
		{ 60, 0x03, LB_E_MSG_TYPE },    /* an entry of type status */
		{ 60, 0x00, LB_E_MSG_TYPE },
		{ 61, 0x00, LB_E_BAD_FIELD },   /* kind none */
		{ 61, 0x05, LB_E_BAD_FIELD },   /* kind past junction */
		{ 64, 0x00, LB_E_BAD_FIELD },   /* a NUL inside the link */
	};
	size_t i;

	(void)state;
	assert_non_null(d);
	assert_non_null(b);
	n = unhex(golden_batch_hex, good, sizeof(good));
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		memcpy(m, good, n);
		if (edits[i].off == 58) {
			/* count 3: the third entry is read from the signature's
			 * bytes and refused (which field first depends on them) */
			m[59] = 0x03;
			assert_true(lb_batch_decode(m, n, d, &body_len) != LB_OK);
		} else {
			m[edits[i].off] = edits[i].v;
			assert_int_equal(lb_batch_decode(m, n, d, &body_len), edits[i].want);
		}
		assert_int_equal(d->n, 0);      /* nothing half-decoded */
		assert_int_equal(body_len, 0);
	}
	/* count over LB_BATCH_MAX: judged before any entry is read */
	memcpy(m, good, n);
	m[58] = (uint8_t)((LB_BATCH_MAX + 1) >> 8);
	m[59] = (uint8_t)(LB_BATCH_MAX + 1);
	assert_int_equal(lb_batch_decode(m, n, d, &body_len), LB_E_BAD_FIELD);
	/* an empty link or target */
	memcpy(m, good, n);
	m[62] = 0x00; m[63] = 0x00;     /* link length 0: the bytes then misparse */
	assert_true(lb_batch_decode(m, n, d, &body_len) != LB_OK);
	/* cut anywhere: short; one byte more: trailing */
	for (i = 0; i < n; i++)
		assert_int_equal(lb_batch_decode(good, i, d, &body_len), i == 0 ? LB_E_SHORT : LB_E_SHORT);
	memcpy(m, good, n);
	m[n] = 0;
	assert_int_equal(lb_batch_decode(m, n + 1, d, &body_len), LB_E_TRAILING);
	/* the encoder refuses the same: no entry, 257 entries, a frame's worth */
	make_batch(b);
	lb_buf_init(&out, LB_FRAME_MAX);
	b->n = 0;
	assert_int_equal(lb_batch_encode_body(b, &out), LB_E_BAD_FIELD);
	b->n = LB_BATCH_MAX + 1;
	assert_int_equal(lb_batch_encode_body(b, &out), LB_E_BAD_FIELD);
	b->n = LB_BATCH_MAX;
	for (i = 0; i < LB_BATCH_MAX; i++)
		b->e[i] = (struct lb_batch_entry){ LB_MSG_CREATE, LB_KIND_SYMLINK, "/l", 2, "t", 1 };
	assert_int_equal(lb_batch_encode_body(b, &out), LB_OK);
	{
		static char big[LB_WIRE_STR_MAX];

		memset(big, 'a', sizeof(big));
		b->n = 2;
		b->e[0].link = big;
		b->e[0].link_len = sizeof(big);
		b->e[1].link = big;
		b->e[1].link_len = sizeof(big);
		lb_buf_reset(&out);
		assert_int_equal(lb_batch_encode_body(b, &out), LB_E_TOOBIG);
		assert_int_equal(out.len, 0);
	}
	lb_buf_free(&out);
	free(d);
	free(b);
}

/* The broker's answer: texts past LB_BATCH_TEXT_MAX, a refusal with
 * results, results without a refusal, are all refused. */
static void
test_batch_response_rules(void **state)
{
	struct lb_batch_response *r = calloc(1, sizeof(*r));
	struct lb_buf out;
	static char text[LB_BATCH_TEXT_MAX + 1];
	size_t i;

	(void)state;
	assert_non_null(r);
	memset(text, 'x', sizeof(text));
	lb_buf_init(&out, LB_FRAME_MAX);
	r->version = LB_WIRE_VERSION_BATCH;
	r->type = LB_MSG_BATCH_RESPONSE;
	r->status = LB_E_STALE;
	r->n = 1;
	assert_int_equal(lb_batch_response_encode_body(r, &out), LB_E_BAD_FIELD);
	r->status = LB_OK;
	r->n = 0;
	assert_int_equal(lb_batch_response_encode_body(r, &out), LB_E_BAD_FIELD);
	r->n = LB_BATCH_MAX;
	for (i = 0; i < LB_BATCH_MAX; i++)
		r->r[i] = (struct lb_batch_result){ 0, LB_VERDICT_ALLOW, text, 100, text, LB_BATCH_TEXT_MAX - 100 };
	/* every text at its longest: still one frame */
	assert_int_equal(lb_batch_response_encode_body(r, &out), LB_OK);
	assert_true(out.len + LB_SIG_BYTES <= LB_FRAME_MAX);
	lb_buf_reset(&out);
	r->r[7].message_len++;
	assert_int_equal(lb_batch_response_encode_body(r, &out), LB_E_BAD_FIELD);
	r->r[7].message_len--;
	r->r[9].verdict = 2;
	assert_int_equal(lb_batch_response_encode_body(r, &out), LB_E_BAD_FIELD);
	r->r[9].verdict = 1;
	r->r[9].status = 1;
	assert_int_equal(lb_batch_response_encode_body(r, &out), LB_E_BAD_FIELD);
	assert_int_equal(out.len, 0);
	lb_buf_free(&out);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_encodes_to_golden_bytes),
		cmocka_unit_test(test_batch_encodes_to_golden_bytes),
		cmocka_unit_test(test_batch_response_encodes_to_golden_bytes),
		cmocka_unit_test(test_batch_decoder_refuses_what_the_encoder_would_not_make),
		cmocka_unit_test(test_batch_response_rules),
		cmocka_unit_test(test_busy_encodes_to_its_layout_and_rejects_bad_fields),
		cmocka_unit_test(test_busy_frame_is_framed_and_clamped),
		cmocka_unit_test(test_response_encodes_to_golden_bytes),
		cmocka_unit_test(test_request_round_trips_for_every_type_and_kind),
		cmocka_unit_test(test_response_round_trips),
		cmocka_unit_test(test_framed_request_survives_transport),
		cmocka_unit_test(test_request_truncated_anywhere_is_short),
		cmocka_unit_test(test_response_truncated_anywhere_is_short),
		cmocka_unit_test(test_one_trailing_byte_is_refused),
		cmocka_unit_test(test_unknown_version_is_refused),
		cmocka_unit_test(test_unknown_or_response_type_in_request_is_refused),
		cmocka_unit_test(test_request_type_in_response_is_refused),
		cmocka_unit_test(test_undefined_kind_is_refused),
		cmocka_unit_test(test_status_with_kind_or_paths_is_refused),
		cmocka_unit_test(test_remove_and_list_shapes),
		cmocka_unit_test(test_create_or_check_without_both_paths_or_kind_is_refused),
		cmocka_unit_test(test_string_over_max_is_refused),
		cmocka_unit_test(test_message_over_frame_max_is_refused),
		cmocka_unit_test(test_nul_inside_a_string_is_refused),
		cmocka_unit_test(test_undefined_verdict_or_positive_status_is_refused),
		cmocka_unit_test(test_encoder_failure_appends_nothing),
		cmocka_unit_test(test_frame_of_length_zero_is_refused),
		cmocka_unit_test(test_frame_longer_than_64k_is_refused),
		cmocka_unit_test(test_partial_frame_header_or_body_is_short),
		cmocka_unit_test(test_frame_of_exactly_64k_is_accepted),
		cmocka_unit_test(test_any_change_to_a_signed_request_fails_verification),
		cmocka_unit_test(test_any_change_to_a_signed_response_fails_verification),
		cmocka_unit_test(test_request_verifies_only_with_the_key_it_names),
		cmocka_unit_test(test_request_signature_is_no_response_signature),
		cmocka_unit_test(test_signed_inputs_and_checked_signing),
		cmocka_unit_test(test_kind_names_round_trip),
		cmocka_unit_test(test_kind_parse_refuses_unknown_names),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
