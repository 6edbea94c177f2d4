/* Unit tests for lb_sig: domain-separated Ed25519, BLAKE2b-256, strict
 * base64 keys, known-answer vectors (RFC 8032, BLAKE2b reference). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "lb_sig.h"

/* RFC 8032 section 7.1, TEST 1. */
static const uint8_t rfc_seed[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4,
	0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
	0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};
static const uint8_t rfc_pk[32] = {
	0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3,
	0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25,
	0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
};
static const uint8_t rfc_sig[64] = {
	0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2, 0xcc,
	0x80, 0x6e, 0x82, 0x8a, 0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5, 0xd9, 0x74,
	0xd8, 0x73, 0xe0, 0x65, 0x22, 0x49, 0x01, 0x55, 0x5f, 0xb8, 0x82, 0x15,
	0x90, 0xa3, 0x3b, 0xac, 0xc6, 0x1e, 0x39, 0x70, 0x1c, 0xf9, 0xb4, 0x6b,
	0xd2, 0x5b, 0xf5, 0xf0, 0x59, 0x5b, 0xbe, 0x24, 0x65, 0x51, 0x41, 0x43,
	0x8e, 0x7a, 0x10, 0x0b,
};
/* base64 of rfc_pk (Python: base64.b64encode). */
#define RFC_PK_B64 "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

static void
rfc_keypair(uint8_t pk[LB_PK_BYTES], uint8_t sk[LB_SK_BYTES])
{
	assert_int_equal(crypto_sign_ed25519_seed_keypair(pk, sk, rfc_seed), 0);
}

static int
setup(void **state)
{
	(void)state;
	return lb_crypto_init() == LB_OK ? 0 : -1;
}

static void
test_crypto_init_is_idempotent(void **state)
{
	(void)state;
	assert_int_equal(lb_crypto_init(), LB_OK);
	assert_int_equal(lb_crypto_init(), LB_OK);
}

static void
test_sign_verify_round_trip(void **state)
{
	static const uint8_t msg[] = "link C:\\a -> D:\\b";
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES], sig[LB_SIG_BYTES];

	(void)state;
	assert_int_equal(lb_sign_keypair(pk, sk), LB_OK);
	assert_int_equal(lb_sign(sk, LB_CTX_REQUEST, msg, sizeof(msg), sig), LB_OK);
	assert_int_equal(lb_verify(pk, LB_CTX_REQUEST, msg, sizeof(msg), sig), LB_OK);
	/* The empty message is a message too. */
	assert_int_equal(lb_sign(sk, LB_CTX_REQUEST, NULL, 0, sig), LB_OK);
	assert_int_equal(lb_verify(pk, LB_CTX_REQUEST, NULL, 0, sig), LB_OK);
	assert_int_equal(lb_verify(pk, LB_CTX_REQUEST, msg, 1, sig), LB_E_SIG);
	lb_wipe(sk, sizeof(sk));
}

static void
test_every_bit_flip_of_message_fails(void **state)
{
	uint8_t msg[40];
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES], sig[LB_SIG_BYTES];
	size_t bit;

	(void)state;
	lb_random(msg, sizeof(msg));
	assert_int_equal(lb_sign_keypair(pk, sk), LB_OK);
	assert_int_equal(lb_sign(sk, LB_CTX_REQUEST, msg, sizeof(msg), sig), LB_OK);
	for (bit = 0; bit < 8 * sizeof(msg); bit++) {
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(lb_verify(pk, LB_CTX_REQUEST, msg, sizeof(msg), sig),
		    LB_E_SIG);
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* And unflipped it still verifies: the loop restored every bit. */
	assert_int_equal(lb_verify(pk, LB_CTX_REQUEST, msg, sizeof(msg), sig), LB_OK);
}

static void
test_every_bit_flip_of_signature_fails(void **state)
{
	static const uint8_t msg[] = "status";
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES], sig[LB_SIG_BYTES];
	size_t bit;

	(void)state;
	assert_int_equal(lb_sign_keypair(pk, sk), LB_OK);
	assert_int_equal(lb_sign(sk, LB_CTX_RESPONSE, msg, sizeof(msg), sig), LB_OK);
	for (bit = 0; bit < 8 * sizeof(sig); bit++) {
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(lb_verify(pk, LB_CTX_RESPONSE, msg, sizeof(msg), sig),
		    LB_E_SIG);
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(lb_verify(pk, LB_CTX_RESPONSE, msg, sizeof(msg), sig), LB_OK);
}

static void
test_wrong_key_fails(void **state)
{
	static const uint8_t msg[] = "hello";
	uint8_t pk1[LB_PK_BYTES], sk1[LB_SK_BYTES];
	uint8_t pk2[LB_PK_BYTES], sk2[LB_SK_BYTES];
	uint8_t sig[LB_SIG_BYTES];

	(void)state;
	assert_int_equal(lb_sign_keypair(pk1, sk1), LB_OK);
	assert_int_equal(lb_sign_keypair(pk2, sk2), LB_OK);
	assert_false(lb_ct_equal(pk1, pk2, LB_PK_BYTES));
	assert_int_equal(lb_sign(sk1, LB_CTX_REQUEST, msg, sizeof(msg), sig), LB_OK);
	assert_int_equal(lb_verify(pk2, LB_CTX_REQUEST, msg, sizeof(msg), sig), LB_E_SIG);
	assert_int_equal(lb_verify(pk1, LB_CTX_REQUEST, msg, sizeof(msg), sig), LB_OK);
}

static void
test_request_signature_does_not_verify_as_response(void **state)
{
	static const uint8_t msg[] = "same bytes";
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES], sig[LB_SIG_BYTES];

	(void)state;
	assert_int_equal(lb_sign_keypair(pk, sk), LB_OK);
	assert_int_equal(lb_sign(sk, LB_CTX_REQUEST, msg, sizeof(msg), sig), LB_OK);
	assert_int_equal(lb_verify(pk, LB_CTX_RESPONSE, msg, sizeof(msg), sig), LB_E_SIG);
	assert_int_equal(lb_verify(pk, "", msg, sizeof(msg), sig), LB_E_SIG);
	assert_int_equal(lb_sign(sk, LB_CTX_RESPONSE, msg, sizeof(msg), sig), LB_OK);
	assert_int_equal(lb_verify(pk, LB_CTX_REQUEST, msg, sizeof(msg), sig), LB_E_SIG);
}

static void
test_length_prefix_separates_context_from_message(void **state)
{
	/* Without the length byte, ctx "ab" + msg "c" and ctx "a" + msg "bc"
	 * would sign the same bytes. */
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES], sig[LB_SIG_BYTES];

	(void)state;
	assert_int_equal(lb_sign_keypair(pk, sk), LB_OK);
	assert_int_equal(lb_sign(sk, "ab", (const uint8_t *)"c", 1, sig), LB_OK);
	assert_int_equal(lb_verify(pk, "a", (const uint8_t *)"bc", 2, sig), LB_E_SIG);
	assert_int_equal(lb_verify(pk, "ab", (const uint8_t *)"c", 1, sig), LB_OK);
}

static void
test_signed_bytes_are_ctx_length_ctx_then_message(void **state)
{
	/* lb_sign(ctx, msg) is exactly Ed25519 over len(ctx) || ctx || msg. */
	static const char ctx[] = LB_CTX_REQUEST;
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES];
	uint8_t sig[LB_SIG_BYTES], raw[LB_SIG_BYTES];
	uint8_t m[1 + sizeof(ctx) - 1 + 3];

	(void)state;
	rfc_keypair(pk, sk);
	m[0] = (uint8_t)(sizeof(ctx) - 1);
	memcpy(m + 1, ctx, sizeof(ctx) - 1);
	memcpy(m + sizeof(ctx), "abc", 3);
	assert_int_equal(crypto_sign_ed25519_detached(raw, NULL, m, sizeof(m), sk), 0);
	assert_int_equal(lb_sign(sk, ctx, (const uint8_t *)"abc", 3, sig), LB_OK);
	assert_memory_equal(sig, raw, sizeof(sig));
}

static void
test_lb_sign_known_answer_with_rfc8032_key(void **state)
{
	/* Computed independently with Python's cryptography package:
	 * Ed25519(rfc_seed).sign(b"\x15LinkBroker request v1abc"). */
	static const uint8_t expect[64] = {
		0x92, 0xdc, 0xc9, 0x7a, 0x88, 0x90, 0x7d, 0x17, 0x4d, 0xad, 0xc2, 0xc8,
		0x19, 0xfd, 0x21, 0xa1, 0x81, 0x9d, 0x4f, 0x6b, 0xf9, 0x19, 0x2f, 0x3d,
		0x77, 0x0d, 0x1f, 0x5f, 0xc5, 0x06, 0x64, 0x9d, 0xe0, 0xae, 0x6e, 0x3d,
		0x9a, 0x59, 0x0c, 0xa2, 0xc5, 0x5c, 0xaf, 0xee, 0x38, 0x29, 0xb7, 0x2c,
		0x74, 0xcb, 0xae, 0x93, 0xab, 0x7e, 0x96, 0x03, 0xe0, 0x7b, 0x3a, 0x0b,
		0x95, 0xac, 0xee, 0x0b,
	};
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES], sig[LB_SIG_BYTES];

	(void)state;
	rfc_keypair(pk, sk);
	assert_int_equal(lb_sign(sk, LB_CTX_REQUEST, (const uint8_t *)"abc", 3, sig), LB_OK);
	assert_memory_equal(sig, expect, sizeof(expect));
	assert_int_equal(lb_verify(rfc_pk, LB_CTX_REQUEST, (const uint8_t *)"abc", 3, expect),
	    LB_OK);
}

static void
test_ed25519_rfc8032_test1_raw_vector(void **state)
{
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES];
	uint8_t sig[LB_SIG_BYTES], ours[LB_SIG_BYTES];

	(void)state;
	rfc_keypair(pk, sk);
	assert_memory_equal(pk, rfc_pk, sizeof(rfc_pk));
	/* The raw primitive reproduces the RFC signature of the empty message. */
	assert_int_equal(crypto_sign_ed25519_detached(sig, NULL, NULL, 0, sk), 0);
	assert_memory_equal(sig, rfc_sig, sizeof(rfc_sig));
	assert_int_equal(crypto_sign_ed25519_verify_detached(rfc_sig, NULL, 0, rfc_pk), 0);
	/* lb_sign prefixes the context, so its signature differs, and the raw
	 * one is no signature for us under any context. */
	assert_int_equal(lb_sign(sk, LB_CTX_REQUEST, NULL, 0, ours), LB_OK);
	assert_memory_not_equal(ours, rfc_sig, sizeof(rfc_sig));
	assert_int_equal(lb_verify(rfc_pk, LB_CTX_REQUEST, NULL, 0, rfc_sig), LB_E_SIG);
	assert_int_equal(lb_verify(rfc_pk, "", NULL, 0, rfc_sig), LB_E_SIG);
}

static void
test_sign_refuses_secret_key_with_wrong_public_half(void **state)
{
	static const uint8_t msg[] = "m";
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES], sig[LB_SIG_BYTES];

	(void)state;
	rfc_keypair(pk, sk);
	sk[LB_SK_BYTES - 1] ^= 1;
	memset(sig, 0xAA, sizeof(sig));
	assert_int_equal(lb_sign(sk, LB_CTX_REQUEST, msg, sizeof(msg), sig), LB_E_INVAL);
	/* No half-made signature is left behind. */
	assert_true(sodium_is_zero(sig, sizeof(sig)));
}

/* The two-part signing (lb_sig_input + lb_sign_prepared / verify_prepared)
 * gives exactly lb_sign's signatures (Ed25519 is deterministic), checks
 * the same bytes, and lb_sk_check is the check lb_sign makes each time. */
static void
test_prepared_signing_matches_lb_sign(void **state)
{
	static const uint8_t msg[] = "prepared";
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES], a[LB_SIG_BYTES], b[LB_SIG_BYTES];
	struct lb_buf in;

	(void)state;
	rfc_keypair(pk, sk);
	assert_int_equal(lb_sk_check(sk), LB_OK);
	lb_buf_init(&in, 4096);
	assert_int_equal(lb_sig_input(&in, LB_CTX_RESPONSE, msg, sizeof(msg)), LB_OK);
	assert_int_equal(in.len, 1 + strlen(LB_CTX_RESPONSE) + sizeof(msg));
	assert_int_equal(lb_sign(sk, LB_CTX_RESPONSE, msg, sizeof(msg), a), LB_OK);
	assert_int_equal(lb_sign_prepared(sk, in.data, in.len, b), LB_OK);
	assert_memory_equal(a, b, LB_SIG_BYTES);
	assert_int_equal(lb_verify_prepared(pk, in.data, in.len, a), LB_OK);
	assert_int_equal(lb_verify(pk, LB_CTX_RESPONSE, msg, sizeof(msg), b), LB_OK);
	in.data[in.len - 1] ^= 1;
	assert_int_equal(lb_verify_prepared(pk, in.data, in.len, a), LB_E_SIG);
	assert_int_equal(lb_verify_prepared(NULL, in.data, in.len, a), LB_E_SIG);
	lb_buf_free(&in);
	sk[LB_SK_BYTES - 1] ^= 1;              /* a wrong public half */
	assert_int_equal(lb_sk_check(sk), LB_E_INVAL);
	assert_int_equal(lb_sk_check(NULL), LB_E_INVAL);
}

static void
test_sign_refuses_bad_context(void **state)
{
	char long_ctx[257];
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES], sig[LB_SIG_BYTES];

	(void)state;
	rfc_keypair(pk, sk);
	memset(long_ctx, 'c', 256);
	long_ctx[256] = '\0';
	assert_int_equal(lb_sign(sk, long_ctx, NULL, 0, sig), LB_E_INVAL);
	assert_int_equal(lb_verify(pk, long_ctx, NULL, 0, sig), LB_E_SIG);
	assert_int_equal(lb_sign(sk, NULL, NULL, 0, sig), LB_E_INVAL);
	/* 255 bytes is the longest context a length byte can carry. */
	long_ctx[255] = '\0';
	assert_int_equal(lb_sign(sk, long_ctx, NULL, 0, sig), LB_OK);
	assert_int_equal(lb_verify(pk, long_ctx, NULL, 0, sig), LB_OK);
}

static void
test_blake2b_256_known_answers(void **state)
{
	/* Python: hashlib.blake2b(b"abc", digest_size=32) and of b"". */
	static const uint8_t abc[32] = {
		0xbd, 0xdd, 0x81, 0x3c, 0x63, 0x42, 0x39, 0x72, 0x31, 0x71, 0xef, 0x3f,
		0xee, 0x98, 0x57, 0x9b, 0x94, 0x96, 0x4e, 0x3b, 0xb1, 0xcb, 0x3e, 0x42,
		0x72, 0x62, 0xc8, 0xc0, 0x68, 0xd5, 0x23, 0x19,
	};
	static const uint8_t empty[32] = {
		0x0e, 0x57, 0x51, 0xc0, 0x26, 0xe5, 0x43, 0xb2, 0xe8, 0xab, 0x2e, 0xb0,
		0x60, 0x99, 0xda, 0xa1, 0xd1, 0xe5, 0xdf, 0x47, 0x77, 0x8f, 0x77, 0x87,
		0xfa, 0xab, 0x45, 0xcd, 0xf1, 0x2f, 0xe3, 0xa8,
	};
	uint8_t h[LB_HASH_BYTES];

	(void)state;
	assert_int_equal(lb_hash(h, (const uint8_t *)"abc", 3), LB_OK);
	assert_memory_equal(h, abc, sizeof(abc));
	assert_int_equal(lb_hash(h, NULL, 0), LB_OK);
	assert_memory_equal(h, empty, sizeof(empty));
	assert_int_equal(lb_hash(h, NULL, 1), LB_E_INVAL);
}

static void
test_random_fills_and_differs(void **state)
{
	uint8_t a[LB_NONCE_BYTES], b[LB_NONCE_BYTES];

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	lb_random(a, sizeof(a));
	lb_random(b, sizeof(b));
	/* 2^-128 chance of a false failure each. */
	assert_false(sodium_is_zero(a, sizeof(a)));
	assert_memory_not_equal(a, b, sizeof(a));
}

static void
test_ct_equal_and_wipe(void **state)
{
	uint8_t a[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)state;
	assert_int_equal(lb_ct_equal(a, b, sizeof(a)), 1);
	b[7] = 9;
	assert_int_equal(lb_ct_equal(a, b, sizeof(a)), 0);
	b[7] = 8;
	b[0] = 0;
	assert_int_equal(lb_ct_equal(a, b, sizeof(a)), 0);
	assert_int_equal(lb_ct_equal(a, b, 0), 1);
	lb_wipe(a, sizeof(a));
	assert_true(sodium_is_zero(a, sizeof(a)));
}

static void
test_base64_round_trip_and_known_text(void **state)
{
	char text[LB_PK_B64_LEN];
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES], back[LB_PK_BYTES];

	(void)state;
	assert_int_equal(lb_pk_to_b64(rfc_pk, text), LB_OK);
	assert_string_equal(text, RFC_PK_B64);
	assert_int_equal(lb_pk_from_b64(RFC_PK_B64, back), LB_OK);
	assert_memory_equal(back, rfc_pk, sizeof(rfc_pk));

	assert_int_equal(lb_sign_keypair(pk, sk), LB_OK);
	assert_int_equal(lb_pk_to_b64(pk, text), LB_OK);
	assert_int_equal(strlen(text), 44);
	assert_int_equal(lb_pk_from_b64(text, back), LB_OK);
	assert_memory_equal(back, pk, sizeof(pk));
}

/* S must be refused, leaving the output untouched. */
static void
assert_b64_refused(const char *s)
{
	uint8_t out[LB_PK_BYTES];

	memset(out, 0xEE, sizeof(out));
	assert_int_equal(lb_pk_from_b64(s, out), LB_E_BASE64);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0xEE);
}

static void
test_base64_is_strict(void **state)
{
	char s[64];

	(void)state;
	/* Length: 43, 45, empty, and a whole extra key. */
	assert_b64_refused("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo");
	assert_b64_refused(RFC_PK_B64 "A");
	assert_b64_refused(RFC_PK_B64 "=");
	assert_b64_refused(RFC_PK_B64 RFC_PK_B64);
	assert_b64_refused("");
	/* Whitespace anywhere, including a trailing newline. */
	assert_b64_refused(" 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	assert_b64_refused("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n");
	assert_b64_refused("11qYAYKxCrfVS/7TyWQHOg7h vPapiMlrwIaaPcHURo=");
	/* URL-safe alphabet in place of '/' and '+'. */
	assert_b64_refused("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	assert_b64_refused("11qYAYKx-rfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	/* Missing padding (44 data characters = 33 bytes) and too much. */
	assert_b64_refused("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURoA");
	assert_b64_refused("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR==");
	assert_b64_refused("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcH====");
	/* Padding in the middle. */
	assert_b64_refused("11qYAYKx=rfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	/* Non-canonical: 'o' (40) with a padding bit set is 'p' (41); both
	 * decode to the same key, only one text is accepted. */
	assert_b64_refused("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURp=");
	assert_b64_refused("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURr=");
	/* A NUL ends the text early: 20 characters only. */
	memcpy(s, RFC_PK_B64, sizeof(RFC_PK_B64));
	s[20] = '\0';
	assert_b64_refused(s);
	assert_int_equal(lb_pk_from_b64(NULL, (uint8_t *)s), LB_E_INVAL);
}

/* Secret keys as text: a round trip, and every way the text can be wrong
 * is refused (with the key wiped), including a key whose public half is
 * not its seed's. */
static void
test_sk_text_round_trip_and_strict(void **state)
{
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES], back[LB_SK_BYTES];
	char b64[LB_SK_B64_LEN], bad[LB_SK_B64_LEN], file[LB_USER_KEY_TEXT_LEN + 2];
	const size_t hdr = sizeof(LB_USER_KEY_HEADER);
	size_t n = LB_SK_B64_LEN - 1;
	static const uint8_t zero[LB_SK_BYTES];

	(void)state;
	assert_int_equal(lb_sign_keypair(pk, sk), LB_OK);
	assert_int_equal(lb_sk_to_b64(sk, b64), LB_OK);
	assert_int_equal(strlen(b64), n);
	assert_int_equal(lb_sk_from_b64(b64, n, back), LB_OK);
	assert_memory_equal(back, sk, LB_SK_BYTES);

	assert_int_equal(lb_sk_from_b64(b64, n - 1, back), LB_E_BASE64);   /* short */
	assert_memory_equal(back, zero, LB_SK_BYTES);                      /* wiped */
	memcpy(bad, b64, sizeof(bad));
	bad[10] = '*';
	assert_int_equal(lb_sk_from_b64(bad, n, back), LB_E_BASE64);
	memcpy(bad, b64, sizeof(bad));
	bad[n - 3] = bad[n - 3] == 'A' ? 'B' : 'A';      /* the last bits */
	assert_int_equal(lb_sk_from_b64(bad, n, back), LB_E_BASE64);
	/* A whole, valid encoding of a key whose public half is another key's. */
	{
		uint8_t pk2[LB_PK_BYTES], sk2[LB_SK_BYTES], mixed[LB_SK_BYTES];
		char mixed64[LB_SK_B64_LEN];

		assert_int_equal(lb_sign_keypair(pk2, sk2), LB_OK);
		memcpy(mixed, sk, 32);
		memcpy(mixed + 32, pk2, LB_PK_BYTES);
		assert_int_equal(lb_sk_to_b64(mixed, mixed64), LB_OK);
		assert_int_equal(lb_sk_from_b64(mixed64, n, back), LB_E_BASE64);
	}

	assert_int_equal(lb_user_key_format(sk, file), LB_OK);
	assert_memory_equal(file, LB_USER_KEY_HEADER "\n", hdr);
	assert_int_equal(file[LB_USER_KEY_TEXT_LEN - 1], '\n');
	assert_int_equal(lb_user_key_parse(file, LB_USER_KEY_TEXT_LEN, back), LB_OK);
	assert_memory_equal(back, sk, LB_SK_BYTES);
	assert_int_equal(lb_user_key_parse(file, LB_USER_KEY_TEXT_LEN - 1, back), LB_OK);  /* no newline */
	file[LB_USER_KEY_TEXT_LEN] = '\n';                                                /* two */
	assert_int_equal(lb_user_key_parse(file, LB_USER_KEY_TEXT_LEN + 1, back), LB_E_INVAL);
	file[0] = 'L';
	assert_int_equal(lb_user_key_parse(file, LB_USER_KEY_TEXT_LEN, back), LB_E_INVAL);
	assert_int_equal(lb_user_key_parse(b64, n, back), LB_E_INVAL);   /* no header */

	/* the service key file: the base64 line, its newline optional */
	{
		char svc[LB_SK_B64_LEN + 1];

		assert_int_equal(lb_service_key_format(sk, svc), LB_OK);
		assert_int_equal(svc[LB_SK_B64_LEN - 1], '\n');
		assert_int_equal(lb_service_key_parse(svc, LB_SK_B64_LEN, back), LB_OK);
		assert_memory_equal(back, sk, LB_SK_BYTES);
		assert_int_equal(lb_service_key_parse(svc, LB_SK_B64_LEN - 1, back), LB_OK);
		svc[LB_SK_B64_LEN] = '\n';
		assert_int_equal(lb_service_key_parse(svc, LB_SK_B64_LEN + 1, back), LB_E_BASE64);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crypto_init_is_idempotent),
		cmocka_unit_test(test_sign_verify_round_trip),
		cmocka_unit_test(test_every_bit_flip_of_message_fails),
		cmocka_unit_test(test_every_bit_flip_of_signature_fails),
		cmocka_unit_test(test_wrong_key_fails),
		cmocka_unit_test(test_request_signature_does_not_verify_as_response),
		cmocka_unit_test(test_length_prefix_separates_context_from_message),
		cmocka_unit_test(test_signed_bytes_are_ctx_length_ctx_then_message),
		cmocka_unit_test(test_lb_sign_known_answer_with_rfc8032_key),
		cmocka_unit_test(test_ed25519_rfc8032_test1_raw_vector),
		cmocka_unit_test(test_sign_refuses_secret_key_with_wrong_public_half),
		cmocka_unit_test(test_prepared_signing_matches_lb_sign),
		cmocka_unit_test(test_sign_refuses_bad_context),
		cmocka_unit_test(test_blake2b_256_known_answers),
		cmocka_unit_test(test_random_fills_and_differs),
		cmocka_unit_test(test_ct_equal_and_wipe),
		cmocka_unit_test(test_base64_round_trip_and_known_text),
		cmocka_unit_test(test_base64_is_strict),
		cmocka_unit_test(test_sk_text_round_trip_and_strict),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
