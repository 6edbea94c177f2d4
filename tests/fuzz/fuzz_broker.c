/* Fuzz target: the whole broker (issue 17, item 3; as sudo's
 * fuzz_policy.c), over a fake file system and an in-memory audit log.
 * The input is a program of steps: raw messages, requests signed with an
 * enrolled key (so they reach the policy, the file system and the
 * index: create, check, status, remove, list), clock steps, ticks, and
 * file-system failures. Invariants checked, any of them broken aborts:
 * - every answer is one frame: a busy message that decodes, or a response
 *   signed by the service key (and, for a signed request, for its nonce);
 * - no link is made or removed before an allowed decision for it is
 *   durable in the log (audit_sync = always);
 * - the log, line by line, passes verify-audit's checks with the policy.
 * Memory: ASan and LeakSanitizer see each run start and end empty. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_audit.h"
#include "lb_broker.h"
#include "lb_sig.h"
#include "lb_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW0 1764100000ull
#define MADE_MAX 64

static uint8_t alice_pk[LB_PK_BYTES], alice_sk[LB_SK_BYTES];
static uint8_t svc_pk[LB_PK_BYTES], svc_sk[LB_SK_BYTES];
static char policy_text[1024];

static const struct lb_group devs[] = { { "devs", NULL, 0 } };
static const struct lb_peer alice = {
	{ "alice", "1000", "/srv/alice", devs, 1, NULL }, "uid:1000", NULL,
};

/* ---- the in-memory log and the fake file system ---- */

static struct {
	struct lb_buf buf;
	size_t synced;
} g_log;

static struct {
	char made[MADE_MAX][64];     /* names made and not removed ("" free) */
	unsigned long serial;
	int create_rc, unlink_rc;
	size_t creates, unlinks;
} g_fs;

static int dummy_dir;

/* Allowed decisions of EVENT in the durable part of the log. */
static size_t
durable_allowed(const char *event)
{
	char needle[64];
	size_t n = 0, k, i;

	k = (size_t)snprintf(needle, sizeof(needle), "\"event\":\"%s\",\"verdict\":\"allowed\"", event);
	for (i = 0; i + k <= g_log.synced; i++)
		n += memcmp(g_log.buf.data + i, needle, k) == 0;
	return n;
}

static int
mem_append(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	return lb_buf_put(&g_log.buf, p, n) == LB_OK ? LB_OK : LB_E_IO;
}

static int
mem_sync(void *ctx)
{
	(void)ctx;
	g_log.synced = g_log.buf.len;
	return LB_OK;
}

static int
fs_open_parent(const struct lb_peer *peer, const struct lb_path *link, void **dir,
    struct lb_path *resolved)
{
	(void)peer;
	*dir = &dummy_dir;
	return lb_path_parent(link, resolved);
}

static int
fs_open_target(const struct lb_peer *peer, const struct lb_path *target, void **file,
    struct lb_path *resolved)
{
	(void)peer;
	*file = &dummy_dir;
	return lb_path_copy(target, resolved);
}

static int
fs_create(const struct lb_peer *peer, void *dir, const char *name, enum lb_kind kind,
    const char *target, void *file)
{
	size_t i;

	(void)peer;
	(void)dir;
	(void)kind;
	(void)target;
	(void)file;
	if (++g_fs.creates > durable_allowed("create"))
		abort();   /* a link before its durable decision */
	if (g_fs.create_rc != LB_OK)
		return g_fs.create_rc;
	for (i = 0; i < MADE_MAX; i++)
		if (g_fs.made[i][0] == '\0') {
			snprintf(g_fs.made[i], sizeof(g_fs.made[i]), "%.63s", name);
			return LB_OK;
		}
	return LB_E_IO;
}

static int
fs_remove(const struct lb_peer *peer, void *dir, const char *name)
{
	(void)peer;
	(void)dir;
	(void)name;
	return LB_OK;
}

static void
fs_close(void *h)
{
	(void)h;
}

static int
fs_identify(const struct lb_peer *peer, void *dir, const char *name, char id[LB_FILE_ID_MAX])
{
	(void)peer;
	(void)dir;
	(void)name;
	snprintf(id, LB_FILE_ID_MAX, "7:%lu", ++g_fs.serial);
	return LB_OK;
}

static int
fs_unlink_made(const struct lb_peer *peer, void *dir, const char *name, enum lb_kind kind,
    const char *file_id)
{
	size_t i;

	(void)peer;
	(void)dir;
	(void)kind;
	if (file_id == NULL || !lb_file_id_ok(file_id, strlen(file_id)))
		abort();   /* the broker passes only identities it recorded */
	if (++g_fs.unlinks > durable_allowed("remove"))
		abort();   /* removed before its durable decision */
	if (g_fs.unlink_rc != LB_OK)
		return g_fs.unlink_rc;
	for (i = 0; i < MADE_MAX; i++)
		if (strncmp(g_fs.made[i], name, sizeof(g_fs.made[i]) - 1) == 0 && g_fs.made[i][0] != '\0') {
			g_fs.made[i][0] = '\0';
			return LB_OK;
		}
	return LB_E_NOENT;
}

static const struct lb_fs_ops fake_ops = {
	.open_parent = fs_open_parent,
	.open_target = fs_open_target,
	.create = fs_create,
	.remove = fs_remove,
	.close = fs_close,
	.identify = fs_identify,
	.unlink_made = fs_unlink_made,
};

/* ---- the program ---- */

struct rd {
	const uint8_t *p;
	size_t n, at;
};

static int
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->at >= r->n)
		return 0;
	*v = r->p[r->at++];
	return 1;
}

/* Up to MAX bytes as a string field (its length byte first). */
static size_t
rd_str(struct rd *r, char *out, size_t max)
{
	uint8_t len;
	size_t n;

	if (!rd_u8(r, &len))
		return 0;
	n = len < max ? len : max;
	if (n > r->n - r->at)
		n = r->n - r->at;
	memcpy(out, r->p + r->at, n);
	r->at += n;
	return n;
}

/* OUT holds one answer: it must be well formed, and a response must be
 * the service's (for NONCE, when not NULL). */
static void
check_answer(const struct lb_buf *out, const uint8_t *nonce)
{
	struct lb_response resp;
	struct lb_busy busy;
	const uint8_t *msg;
	size_t mlen, used, blen;

	if (lb_frame_parse(out->data, out->len, &msg, &mlen, &used) != LB_OK || used != out->len)
		abort();
	if (lb_msg_is_busy(msg, mlen)) {
		if (lb_busy_decode(msg, mlen, &busy) != LB_OK)
			abort();
		return;
	}
	if (lb_msg_is_batch(msg, mlen))
		return;   /* raw batch messages: their answers are unit.broker's */
	if (lb_response_decode(msg, mlen, &resp, &blen) != LB_OK ||
	    lb_response_verify(&resp, svc_pk) != LB_OK)
		abort();
	if (nonce != NULL && memcmp(resp.nonce, nonce, LB_NONCE_BYTES) != 0)
		abort();
}

static void
step_signed(struct lb_broker *b, struct rd *r, uint64_t now, uint32_t *counter)
{
	static const uint8_t types[] = { LB_MSG_CREATE, LB_MSG_CHECK, LB_MSG_STATUS, LB_MSG_REMOVE,
	    LB_MSG_LIST };
	char link[160], target[160];
	struct lb_request rq;
	struct lb_buf body, out;
	uint8_t t = 0, k = 0;
	size_t ln, tn;

	(void)rd_u8(r, &t);
	(void)rd_u8(r, &k);
	memcpy(link, "/srv/alice/", 11);
	ln = 11 + rd_str(r, link + 11, sizeof(link) - 12);
	tn = rd_str(r, target, sizeof(target) - 1);
	memset(&rq, 0, sizeof(rq));
	rq.version = LB_WIRE_VERSION;
	rq.type = types[t % sizeof(types)];
	rq.kind = (uint8_t)(k % (LB_KIND_MAX + 1));
	rq.timestamp = now;
	memcpy(rq.nonce, counter, sizeof(*counter));
	(*counter)++;
	memcpy(rq.key, alice_pk, LB_PK_BYTES);
	/* the shapes the decoder wants, from the fuzzer's bytes */
	if (rq.type == LB_MSG_STATUS || rq.type == LB_MSG_REMOVE || rq.type == LB_MSG_LIST)
		rq.kind = LB_KIND_NONE;
	else if (rq.kind == LB_KIND_NONE)
		rq.kind = LB_KIND_SYMLINK;
	if (rq.type != LB_MSG_STATUS) {
		rq.link = link;
		rq.link_len = rq.type == LB_MSG_LIST ? (k & 1 ? ln : 0) : ln;
	}
	if (rq.type == LB_MSG_CREATE || rq.type == LB_MSG_CHECK || rq.type == LB_MSG_LIST) {
		rq.target = target;
		rq.target_len = tn;
	}
	if (rq.type != LB_MSG_LIST && rq.type != LB_MSG_STATUS && rq.type != LB_MSG_REMOVE &&
	    rq.target_len == 0) {
		rq.target = "/opt/t";
		rq.target_len = 6;
	}
	lb_buf_init(&body, LB_FRAME_MAX);
	lb_buf_init(&out, LB_FRAME_HDR + LB_FRAME_MAX);
	if (lb_request_sign(&rq, alice_sk) == LB_OK && lb_request_encode(&rq, &body) == LB_OK) {
		if (lb_broker_handle(b, &alice, body.data, body.len, now, &out) != LB_OK)
			abort();   /* a well-formed request is always answered */
		check_answer(&out, rq.nonce);
	}
	lb_buf_free(&body);
	lb_buf_free(&out);
}

static void
step_raw(struct lb_broker *b, struct rd *r, uint64_t now)
{
	struct lb_buf out;
	uint8_t hi = 0, lo = 0;
	size_t n;

	(void)rd_u8(r, &hi);
	(void)rd_u8(r, &lo);
	n = (size_t)hi << 8 | lo;
	if (n > r->n - r->at)
		n = r->n - r->at;
	lb_buf_init(&out, LB_FRAME_HDR + LB_FRAME_MAX);
	if (lb_broker_handle(b, &alice, r->p + r->at, n, now, &out) == LB_OK)
		check_answer(&out, NULL);
	r->at += n;
	lb_buf_free(&out);
}

static void
verify_log(const struct lb_policy *p)
{
	static const uint8_t zero[LB_HASH_BYTES];
	struct lb_audit_verifier *v;
	struct lb_buf msg;
	const uint8_t *s = g_log.buf.data, *end = s, *nl;

	if (g_log.buf.len > 0)
		end = s + g_log.buf.len;   /* nothing written: no buffer at all */
	lb_buf_init(&msg, 1 << 16);
	if (lb_audit_verifier_new(p, 0, zero, &v) != LB_OK)
		abort();
	for (; s < end; s = nl + 1) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			abort();   /* every record is a whole line */
		if (lb_audit_verifier_feed(v, (const char *)s, (size_t)(nl - s), &msg) != LB_OK) {
			fprintf(stderr, "fuzz_broker: the log does not verify: %.*s\n", (int)msg.len,
			    (const char *)msg.data);
			abort();
		}
	}
	lb_audit_verifier_free(v);
	lb_buf_free(&msg);
}

static int
init_once(void)
{
	static int done;
	char a[LB_PK_B64_LEN];

	if (done)
		return 0;
	if (lb_crypto_init() != LB_OK || lb_sign_keypair(alice_pk, alice_sk) != LB_OK ||
	    lb_sign_keypair(svc_pk, svc_sk) != LB_OK || lb_pk_to_b64(alice_pk, a) != LB_OK)
		return -1;
	snprintf(policy_text, sizeof(policy_text),
	    "[broker]\naudit_sync = always\nrequests_per_sec = 1000\nrequests_burst = 1000\n"
	    "[key:alice]\nuser = alice\npublic_key = %s\n"
	    "[rule:dev]\nusers = alice\nkinds = *\nlink_under = /srv/alice\n"
	    "target_under = /srv/alice, /opt\naction = allow\n"
	    "[rule:no-private]\nusers = alice\nkinds = *\nlink_under = /srv/alice/private\n"
	    "target_under = *\naction = deny\n", a);
	done = 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_policy *p = NULL, *vp = NULL;
	struct lb_audit *audit = NULL;
	struct lb_broker *b = NULL;
	struct lb_audit_io io;
	struct rd r = { data, size, 0 };
	uint64_t now = NOW0;
	uint32_t counter = 1;
	uint8_t op, v;
	int steps = 0;

	if (init_once() != 0)
		abort();
	memset(&g_fs, 0, sizeof(g_fs));
	memset(&io, 0, sizeof(io));
	lb_buf_init(&g_log.buf, 1 << 24);
	g_log.synced = 0;
	io.append = mem_append;
	io.sync = mem_sync;
	if (lb_policy_load_buffer("f.ini", policy_text, strlen(policy_text), LB_FLAVOR_POSIX, &p,
	    NULL) != LB_OK ||
	    lb_policy_load_buffer("f.ini", policy_text, strlen(policy_text), LB_FLAVOR_POSIX, &vp,
	    NULL) != LB_OK ||
	    lb_audit_open(NULL, io, 0, NULL, NULL, &audit) != LB_OK ||
	    lb_broker_new(p, svc_sk, audit, &fake_ops, &b) != LB_OK)
		abort();
	while (steps++ < 64 && rd_u8(&r, &op)) {
		switch (op % 6) {
		case 0:
			step_raw(b, &r, now);
			break;
		case 1:
		case 2:
			step_signed(b, &r, now, &counter);
			break;
		case 3:
			if (rd_u8(&r, &v))
				now += v % 8;   /* within the clock window, mostly */
			break;
		case 4:
			lb_broker_tick(b, now);
			break;
		case 5:
			if (rd_u8(&r, &v)) {
				g_fs.create_rc = v & 1 ? LB_E_EXISTS : LB_OK;
				g_fs.unlink_rc = v & 2 ? LB_E_CHANGED : LB_OK;
			}
			break;
		}
	}
	if (lb_broker_sync(b) != LB_OK)
		abort();
	verify_log(vp);
	lb_broker_free(b);
	lb_audit_close(audit);
	lb_policy_free(vp);
	lb_buf_free(&g_log.buf);
	return 0;
}
