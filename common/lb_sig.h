/* lb_sig: signatures, hashing, randomness and key encoding over libsodium:
 * Ed25519 with a domain-separation string, BLAKE2b, nonces, base64 keys. */
#ifndef LB_SIG_H
#define LB_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "lb_buf.h"
#include "lb_err.h"

#define LB_PK_BYTES 32
#define LB_SK_BYTES 64
#define LB_SIG_BYTES 64
#define LB_HASH_BYTES 32
#define LB_NONCE_BYTES 16
/* Base64 (original alphabet, padded) of a 32-byte key: 44 chars + NUL. */
#define LB_PK_B64_LEN 45

/* Domain-separation strings: a signature made for one purpose never verifies
 * for another. */
#define LB_CTX_REQUEST "LinkBroker request v1"
#define LB_CTX_RESPONSE "LinkBroker response v1"
#define LB_CTX_BATCH "LinkBroker batch v2"
#define LB_CTX_BATCH_RESPONSE "LinkBroker batch response v2"

/* sodium_init(); idempotent. */
int lb_crypto_init(void) LB_WUR;

int lb_sign_keypair(uint8_t pk[LB_PK_BYTES], uint8_t sk[LB_SK_BYTES]) LB_WUR;
/* Sign len(CTX) || CTX || MSG (len as one byte; CTX at most 255 bytes). */
int lb_sign(const uint8_t sk[LB_SK_BYTES], const char *ctx,
    const uint8_t *msg, size_t msg_len, uint8_t sig[LB_SIG_BYTES]) LB_WUR;
/* LB_OK or LB_E_SIG. */
int lb_verify(const uint8_t pk[LB_PK_BYTES], const char *ctx,
    const uint8_t *msg, size_t msg_len, const uint8_t sig[LB_SIG_BYTES]) LB_WUR;

/* The same in two parts, for hot paths and worker threads:
 * lb_sig_input appends the bytes actually signed (len(CTX) || CTX || MSG)
 * to OUT; lb_sign_prepared / lb_verify_prepared sign or check such bytes,
 * allocating nothing. lb_sign checks at every call that SK's public half
 * belongs to its seed (libsodium signs with that half: a wrong one would
 * leak the key, and the check costs a scalar multiplication, about as much
 * as the signature); lb_sign_prepared trusts SK to have passed lb_sk_check
 * once, when it was loaded. */
int lb_sig_input(struct lb_buf *out, const char *ctx, const uint8_t *msg,
    size_t msg_len) LB_WUR;
int lb_sk_check(const uint8_t sk[LB_SK_BYTES]) LB_WUR;
int lb_sign_prepared(const uint8_t sk[LB_SK_BYTES], const uint8_t *in, size_t len,
    uint8_t sig[LB_SIG_BYTES]) LB_WUR;
int lb_verify_prepared(const uint8_t pk[LB_PK_BYTES], const uint8_t *in, size_t len,
    const uint8_t sig[LB_SIG_BYTES]) LB_WUR;

/* BLAKE2b-256 of IN. */
int lb_hash(uint8_t out[LB_HASH_BYTES], const uint8_t *in, size_t len) LB_WUR;
void lb_random(uint8_t *out, size_t n);
void lb_wipe(void *p, size_t n);
/* Constant-time equality: 1 if equal. */
int lb_ct_equal(const uint8_t *a, const uint8_t *b, size_t n) LB_WUR;

/* SipHash-2-4 of IN under a secret KEY: for hash tables whose keys a
 * client chooses (nonces), so collisions cannot be aimed. */
#define LB_SHORTHASH_KEY_BYTES 16
uint64_t lb_keyed_hash64(const uint8_t key[LB_SHORTHASH_KEY_BYTES], const void *in, size_t n);

/* Public key <-> base64 text. Decoding is strict: exactly 44 characters of
 * the original padded alphabet, no spaces, decoding to exactly 32 bytes. */
int lb_pk_to_b64(const uint8_t pk[LB_PK_BYTES], char out[LB_PK_B64_LEN]) LB_WUR;
int lb_pk_from_b64(const char *s, uint8_t pk[LB_PK_BYTES]) LB_WUR;

/* Secret key (seed, then public key) <-> base64 text of 88 characters.
 * Decoding the N bytes at S is as strict as for public keys, and the key
 * must be whole: its seed derives the public half it carries (a mismatched
 * key would sign under a wrong public key). On error SK is wiped. */
#define LB_SK_B64_LEN 89            /* with the NUL */
int lb_sk_to_b64(const uint8_t sk[LB_SK_BYTES], char out[LB_SK_B64_LEN]) LB_WUR;
int lb_sk_from_b64(const char *s, size_t n, uint8_t sk[LB_SK_BYTES]) LB_WUR;

/* The service's key file: the key in base64 and a newline (optional when
 * reading). Format writes exactly LB_SK_B64_LEN bytes (no NUL). */
int lb_service_key_parse(const char *text, size_t len, uint8_t sk[LB_SK_BYTES]) LB_WUR;
int lb_service_key_format(const uint8_t sk[LB_SK_BYTES], char out[LB_SK_B64_LEN]) LB_WUR;

/* A user's key file: this header line, the key in base64, a newline
 * (optional when reading); nothing else. Format writes exactly
 * LB_USER_KEY_TEXT_LEN bytes (no NUL). */
#define LB_USER_KEY_HEADER "linkbroker-secret-key-v1"
#define LB_USER_KEY_TEXT_LEN (sizeof(LB_USER_KEY_HEADER) + LB_SK_B64_LEN)
int lb_user_key_parse(const char *text, size_t len, uint8_t sk[LB_SK_BYTES]) LB_WUR;
int lb_user_key_format(const uint8_t sk[LB_SK_BYTES], char out[LB_USER_KEY_TEXT_LEN]) LB_WUR;

#endif
