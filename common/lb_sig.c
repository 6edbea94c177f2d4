/* lb_sig: Ed25519 with a domain-separation prefix, BLAKE2b-256, randomness,
 * wiping, constant-time compare and strict base64 keys, all over libsodium. */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "lb_buf.h"
#include "lb_sig.h"

_Static_assert(LB_PK_BYTES == crypto_sign_ed25519_PUBLICKEYBYTES, "pk size");
_Static_assert(LB_SK_BYTES == crypto_sign_ed25519_SECRETKEYBYTES, "sk size");
_Static_assert(LB_SIG_BYTES == crypto_sign_ed25519_BYTES, "sig size");
_Static_assert(LB_HASH_BYTES >= crypto_generichash_BYTES_MIN &&
    LB_HASH_BYTES <= crypto_generichash_BYTES_MAX, "hash size");
_Static_assert(LB_PK_B64_LEN ==
    sodium_base64_ENCODED_LEN(LB_PK_BYTES, sodium_base64_VARIANT_ORIGINAL),
    "base64 key size");

/* Characters of a base64 key, without the NUL. */
#define LB_PK_B64_CHARS (LB_PK_B64_LEN - 1)
#define LB_CTX_MAX 255

int
lb_crypto_init(void)
{
	return sodium_init() < 0 ? LB_E_CRYPTO_INIT : LB_OK;
}

int
lb_sign_keypair(uint8_t pk[LB_PK_BYTES], uint8_t sk[LB_SK_BYTES])
{
	if (crypto_sign_ed25519_keypair(pk, sk) != 0)
		return LB_E_CRYPTO_INIT;
	return LB_OK;
}

/* len(CTX) as one byte || CTX || MSG, the bytes that are actually signed. */
int
lb_sig_input(struct lb_buf *out, const char *ctx, const uint8_t *msg,
    size_t msg_len)
{
	size_t ctx_len;
	int rc;

	if (ctx == NULL || (msg == NULL && msg_len > 0))
		return LB_E_INVAL;
	ctx_len = strlen(ctx);
	if (ctx_len > LB_CTX_MAX)
		return LB_E_INVAL;
	if (msg_len > SIZE_MAX - 1 - ctx_len)
		return LB_E_TOOBIG;
	lb_buf_init(out, 1 + ctx_len + msg_len);
	if ((rc = lb_buf_put_u8(out, (uint8_t)ctx_len)) != LB_OK ||
	    (rc = lb_buf_put(out, ctx, ctx_len)) != LB_OK ||
	    (rc = lb_buf_put(out, msg, msg_len)) != LB_OK)
		return rc;
	return LB_OK;
}

/*
 * libsodium signs with the public half stored in SK without checking it.
 * A secret key whose public half is wrong yields signatures that leak the
 * private scalar when compared with correct ones, so re-derive it from the seed.
 */
static int
lb_sk_consistent(const uint8_t sk[LB_SK_BYTES])
{
	uint8_t pk[LB_PK_BYTES];
	uint8_t sk2[LB_SK_BYTES];
	int ok = 0;

	if (crypto_sign_ed25519_seed_keypair(pk, sk2, sk) != 0)
		goto out;
	ok = sodium_memcmp(pk, sk + crypto_sign_ed25519_SEEDBYTES, LB_PK_BYTES) == 0;
out:
	sodium_memzero(sk2, sizeof(sk2));
	sodium_memzero(pk, sizeof(pk));
	return ok;
}

int
lb_sk_check(const uint8_t sk[LB_SK_BYTES])
{
	return sk != NULL && lb_sk_consistent(sk) ? LB_OK : LB_E_INVAL;
}

int
lb_sign_prepared(const uint8_t sk[LB_SK_BYTES], const uint8_t *in, size_t len,
    uint8_t sig[LB_SIG_BYTES])
{
	if (sk == NULL || sig == NULL || (in == NULL && len > 0))
		return LB_E_INVAL;
	if (crypto_sign_ed25519_detached(sig, NULL, in, len, sk) != 0) {
		sodium_memzero(sig, LB_SIG_BYTES);
		return LB_E_SIG;
	}
	return LB_OK;
}

int
lb_verify_prepared(const uint8_t pk[LB_PK_BYTES], const uint8_t *in, size_t len,
    const uint8_t sig[LB_SIG_BYTES])
{
	if (pk == NULL || sig == NULL || (in == NULL && len > 0))
		return LB_E_SIG;
	/* libsodium >= 1.0.16 also refuses small-order keys and
	 * non-canonical S, so a signature cannot be malleated. */
	if (crypto_sign_ed25519_verify_detached(sig, in, len, pk) != 0)
		return LB_E_SIG;
	return LB_OK;
}

int
lb_sign(const uint8_t sk[LB_SK_BYTES], const char *ctx,
    const uint8_t *msg, size_t msg_len, uint8_t sig[LB_SIG_BYTES])
{
	struct lb_buf in;
	int rc;

	lb_buf_init(&in, 0);
	if (sk == NULL || sig == NULL) {
		rc = LB_E_INVAL;
		goto out;
	}
	if ((rc = lb_sk_check(sk)) != LB_OK ||
	    (rc = lb_sig_input(&in, ctx, msg, msg_len)) != LB_OK)
		goto out;
	rc = lb_sign_prepared(sk, in.data, in.len, sig);
out:
	if (rc != LB_OK && sig != NULL)
		sodium_memzero(sig, LB_SIG_BYTES);
	lb_buf_free(&in);
	return rc;
}

int
lb_verify(const uint8_t pk[LB_PK_BYTES], const char *ctx,
    const uint8_t *msg, size_t msg_len, const uint8_t sig[LB_SIG_BYTES])
{
	struct lb_buf in;
	int rc;

	lb_buf_init(&in, 0);
	if (pk == NULL || sig == NULL) {
		rc = LB_E_SIG;
		goto out;
	}
	if ((rc = lb_sig_input(&in, ctx, msg, msg_len)) != LB_OK) {
		/* Only an allocation failure is not "does not verify". */
		if (rc != LB_E_NOMEM)
			rc = LB_E_SIG;
		goto out;
	}
	rc = lb_verify_prepared(pk, in.data, in.len, sig);
out:
	lb_buf_free(&in);
	return rc;
}

int
lb_hash(uint8_t out[LB_HASH_BYTES], const uint8_t *in, size_t len)
{
	static const uint8_t empty[1];

	if (out == NULL || (in == NULL && len > 0))
		return LB_E_INVAL;
	if (in == NULL)
		in = empty;
	if (crypto_generichash(out, LB_HASH_BYTES, in, len, NULL, 0) != 0)
		return LB_E_INVAL;
	return LB_OK;
}

void
lb_random(uint8_t *out, size_t n)
{
	if (n > 0)
		randombytes_buf(out, n);
}

void
lb_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		sodium_memzero(p, n);
}

int
lb_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (n == 0)
		return 1;
	return sodium_memcmp(a, b, n) == 0;
}

int
lb_pk_to_b64(const uint8_t pk[LB_PK_BYTES], char out[LB_PK_B64_LEN])
{
	if (pk == NULL || out == NULL)
		return LB_E_INVAL;
	if (sodium_bin2base64(out, LB_PK_B64_LEN, pk, LB_PK_BYTES,
	    sodium_base64_VARIANT_ORIGINAL) == NULL)
		return LB_E_BASE64;
	return LB_OK;
}

int
lb_pk_from_b64(const char *s, uint8_t pk[LB_PK_BYTES])
{
	uint8_t bin[LB_PK_BYTES];
	char canon[LB_PK_B64_LEN];
	const char *end = NULL;
	size_t n, bin_len = 0;
	int rc = LB_E_BASE64;

	if (s == NULL || pk == NULL)
		return LB_E_INVAL;
	/* Bounded length: never read further than one character past a key. */
	for (n = 0; n <= LB_PK_B64_CHARS && s[n] != '\0'; n++)
		;
	if (n != LB_PK_B64_CHARS)
		goto out;
	/* No ignore set: spaces, newlines and anything else are errors. */
	if (sodium_base642bin(bin, sizeof(bin), s, n, NULL, &bin_len, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	if (bin_len != LB_PK_BYTES || end != s + n)
		goto out;
	/* One text per key: re-encoding must give back exactly S, which also
	 * refuses non-zero padding bits whatever libsodium's version checks. */
	if (sodium_bin2base64(canon, sizeof(canon), bin, sizeof(bin),
	    sodium_base64_VARIANT_ORIGINAL) == NULL)
		goto out;
	if (memcmp(canon, s, LB_PK_B64_CHARS) != 0)
		goto out;
	memcpy(pk, bin, LB_PK_BYTES);
	rc = LB_OK;
out:
	sodium_memzero(bin, sizeof(bin));
	sodium_memzero(canon, sizeof(canon));
	return rc;
}

uint64_t
lb_keyed_hash64(const uint8_t key[LB_SHORTHASH_KEY_BYTES], const void *in, size_t n)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t v = 0;
	size_t i;

	(void)crypto_shorthash(out, in, n, key);
	for (i = 0; i < sizeof(out); i++)
		v = (v << 8) | out[i];
	return v;
}

int
lb_sk_to_b64(const uint8_t sk[LB_SK_BYTES], char out[LB_SK_B64_LEN])
{
	if (sodium_bin2base64(out, LB_SK_B64_LEN, sk, LB_SK_BYTES,
	    sodium_base64_VARIANT_ORIGINAL) == NULL)
		return LB_E_BASE64;
	return LB_OK;
}

int
lb_sk_from_b64(const char *s, size_t n, uint8_t sk[LB_SK_BYTES])
{
	uint8_t seed[crypto_sign_ed25519_SEEDBYTES], pk[LB_PK_BYTES], sk2[LB_SK_BYTES];
	char canon[LB_SK_B64_LEN];
	const char *end = NULL;
	size_t bin_len = 0;
	int rc = LB_E_BASE64;

	if (s == NULL || sk == NULL)
		return LB_E_INVAL;
	if (n != LB_SK_B64_LEN - 1)
		goto out;
	if (sodium_base642bin(sk, LB_SK_BYTES, s, n, NULL, &bin_len, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || bin_len != LB_SK_BYTES || end != s + n)
		goto out;
	/* One text per key (padding bits included). */
	if (lb_sk_to_b64(sk, canon) != LB_OK || memcmp(canon, s, n) != 0)
		goto out;
	if (crypto_sign_ed25519_sk_to_seed(seed, sk) != 0 ||
	    crypto_sign_ed25519_seed_keypair(pk, sk2, seed) != 0 ||
	    sodium_memcmp(pk, sk + crypto_sign_ed25519_SEEDBYTES, LB_PK_BYTES) != 0)
		goto out;
	rc = LB_OK;
out:
	lb_wipe(seed, sizeof(seed));
	lb_wipe(sk2, sizeof(sk2));
	lb_wipe(canon, sizeof(canon));
	if (rc != LB_OK)
		lb_wipe(sk, LB_SK_BYTES);
	return rc;
}

int
lb_service_key_parse(const char *text, size_t len, uint8_t sk[LB_SK_BYTES])
{
	if (text != NULL && len > 0 && text[len - 1] == '\n')
		len--;
	return lb_sk_from_b64(text, len, sk);
}

int
lb_service_key_format(const uint8_t sk[LB_SK_BYTES], char out[LB_SK_B64_LEN])
{
	if (lb_sk_to_b64(sk, out) != LB_OK) {
		lb_wipe(out, LB_SK_B64_LEN);
		return LB_E_BASE64;
	}
	out[LB_SK_B64_LEN - 1] = '\n';   /* over the NUL */
	return LB_OK;
}

int
lb_user_key_parse(const char *text, size_t len, uint8_t sk[LB_SK_BYTES])
{
	const size_t hdr = sizeof(LB_USER_KEY_HEADER);   /* with its newline */
	const size_t b64 = LB_SK_B64_LEN - 1;

	if (text == NULL || len < hdr + b64 || memcmp(text, LB_USER_KEY_HEADER "\n", hdr) != 0)
		return LB_E_INVAL;
	if (len != hdr + b64 && !(len == hdr + b64 + 1 && text[len - 1] == '\n'))
		return LB_E_INVAL;
	return lb_sk_from_b64(text + hdr, b64, sk) == LB_OK ? LB_OK : LB_E_INVAL;
}

int
lb_user_key_format(const uint8_t sk[LB_SK_BYTES], char out[LB_USER_KEY_TEXT_LEN])
{
	const size_t hdr = sizeof(LB_USER_KEY_HEADER);

	memcpy(out, LB_USER_KEY_HEADER "\n", hdr);
	if (lb_sk_to_b64(sk, out + hdr) != LB_OK) {
		lb_wipe(out, LB_USER_KEY_TEXT_LEN);
		return LB_E_BASE64;
	}
	out[LB_USER_KEY_TEXT_LEN - 1] = '\n';   /* over the NUL */
	return LB_OK;
}
