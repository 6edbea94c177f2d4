/* The shared request handling, with a fake file system and an in-memory
 * audit log: authentication, replay, clock window, rate limit, decisions on
 * resolved paths, audit before answer, fail closed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lb_broker.h"

#define NOW 1764100000ull

/* ---- fake platform ---- */

struct mem_log {
	struct lb_buf buf;
	int fail;
	int fail_sync;
	int syncs;
	size_t synced_len;             /* bytes made durable by the last sync */
};

struct fake_fs {
	const char *parent_override;   /* resolved parent reported by open_parent */
	int opens;                     /* open_parent calls */
	int creates, removes;
	char last_name[256], last_target[256];
	enum lb_kind last_kind;
	int create_rc;
	/* unlink_made: calls, the last one's arguments, what it returns */
	int unlinks;
	char unlink_name[256], unlink_file[LB_FILE_ID_MAX];
	enum lb_kind unlink_kind;
	int unlink_rc;
};

static struct fake_fs fs_state;
static struct mem_log *g_log;
/* audit_sync = always: at the Nth create, N allowed decisions must be in
 * the durable part of the log (the decision is on disk before the link). */
static int g_create_calls, g_create_before_durable;

static int
fake_open_parent(const struct lb_peer *peer, const struct lb_path *link, void **dir,
    struct lb_path *resolved)
{
	(void)peer;
	*dir = &fs_state;
	fs_state.opens++;
	if (fs_state.parent_override != NULL)
		return lb_path_canon(link->flavor, fs_state.parent_override,
		    strlen(fs_state.parent_override), resolved);
	return lb_path_parent(link, resolved);
}

static int
fake_open_target(const struct lb_peer *peer, const struct lb_path *target, void **file,
    struct lb_path *resolved)
{
	(void)peer;
	*file = &fs_state;
	return lb_path_copy(target, resolved);
}

static int
fake_create(const struct lb_peer *peer, void *dir, const char *name, enum lb_kind kind,
    const char *target, void *file)
{
	(void)peer;
	(void)dir;
	(void)file;
	if (g_log != NULL) {
		static const char allowed[] = "\"verdict\":\"allowed\"";
		const size_t n = sizeof(allowed) - 1;
		size_t i;
		int durable = 0;

		for (i = 0; i + n <= g_log->synced_len; i++)
			durable += memcmp(g_log->buf.data + i, allowed, n) == 0;
		if (durable < ++g_create_calls)
			g_create_before_durable = 1;
	}
	if (fs_state.create_rc != LB_OK)
		return fs_state.create_rc;
	fs_state.creates++;
	fs_state.last_kind = kind;
	snprintf(fs_state.last_name, sizeof(fs_state.last_name), "%s", name);
	snprintf(fs_state.last_target, sizeof(fs_state.last_target), "%s", target);
	return LB_OK;
}

static int
fake_remove(const struct lb_peer *peer, void *dir, const char *name)
{
	(void)peer;
	(void)dir;
	(void)name;
	fs_state.removes++;
	return LB_OK;
}

static void
fake_close(void *h)
{
	(void)h;
}

/* The event log: lines about the audit log counted, the last kept. */
static int g_audit_events;
static char g_last_audit_event[512];

/* Every event's fields, copied (the strings are the broker's). */
struct ev_copy {
	enum lb_event_id id;
	char text[512], event[16], verdict[16], user[32], sid[16], kind[16];
	char link[128], target[128], rule[32];
	int error;
	unsigned long long seq;
};
#define EV_MAX 16
static struct ev_copy g_ev[EV_MAX];
static int g_n_ev;

static void
ev_str(char *dst, size_t cap, const char *s, size_t n)
{
	if (s == NULL) {
		snprintf(dst, cap, "(null)");
		return;
	}
	snprintf(dst, cap, "%.*s", (int)n, s);
}

static void
fake_event(const struct lb_event *ev)
{
	struct ev_copy *c = &g_ev[g_n_ev % EV_MAX];

	if (strstr(ev->text, "audit log") != NULL) {
		g_audit_events++;
		snprintf(g_last_audit_event, sizeof(g_last_audit_event), "%s", ev->text);
	}
	memset(c, 0, sizeof(*c));
	c->id = ev->id;
	ev_str(c->text, sizeof(c->text), ev->text, strlen(ev->text));
	ev_str(c->event, sizeof(c->event), ev->event, ev->event != NULL ? strlen(ev->event) : 0);
	ev_str(c->verdict, sizeof(c->verdict), ev->verdict, ev->verdict != NULL ? strlen(ev->verdict) : 0);
	ev_str(c->user, sizeof(c->user), ev->user, ev->user != NULL ? strlen(ev->user) : 0);
	ev_str(c->sid, sizeof(c->sid), ev->sid, ev->sid != NULL ? strlen(ev->sid) : 0);
	ev_str(c->kind, sizeof(c->kind), ev->kind, ev->kind != NULL ? strlen(ev->kind) : 0);
	ev_str(c->link, sizeof(c->link), ev->link, ev->link_len);
	ev_str(c->target, sizeof(c->target), ev->target, ev->target_len);
	ev_str(c->rule, sizeof(c->rule), ev->rule, ev->rule != NULL ? strlen(ev->rule) : 0);
	c->error = ev->error;
	c->seq = (unsigned long long)ev->seq;
	g_n_ev++;
}

/* Credential holds of a batch's work (lb_fs_ops.hold): counted. */
static int g_holds, g_held;

static int
fake_hold(const struct lb_peer *peer)
{
	(void)peer;
	g_holds++;
	g_held = 1;
	return LB_OK;
}

static void
fake_release(void)
{
	g_held = 0;
}

/* The made link's identity: "2049:N" for the Nth create. */
static int
fake_identify(const struct lb_peer *peer, void *dir, const char *name, char id[LB_FILE_ID_MAX])
{
	(void)peer;
	(void)dir;
	(void)name;
	snprintf(id, LB_FILE_ID_MAX, "2049:%d", fs_state.creates);
	return LB_OK;
}

/* `linkbroker rm`'s removal: its arguments kept, fs_state.unlink_rc returned. */
static int
fake_unlink_made(const struct lb_peer *peer, void *dir, const char *name, enum lb_kind kind,
    const char *file_id)
{
	(void)peer;
	(void)dir;
	fs_state.unlinks++;
	fs_state.unlink_kind = kind;
	snprintf(fs_state.unlink_name, sizeof(fs_state.unlink_name), "%s", name);
	snprintf(fs_state.unlink_file, sizeof(fs_state.unlink_file), "%s", file_id);
	return fs_state.unlink_rc;
}

static const struct lb_fs_ops fake_ops = {
	fake_open_parent, fake_open_target, fake_create, fake_remove, fake_close, fake_event, NULL, NULL,
	NULL, fake_hold, fake_release, fake_identify, fake_unlink_made, NULL,
};



static int
mem_append(void *ctx, const void *p, size_t n)
{
	struct mem_log *m = ctx;

	if (m->fail)
		return LB_E_IO;
	return lb_buf_put(&m->buf, p, n) == LB_OK ? LB_OK : LB_E_IO;
}

static int
mem_sync(void *ctx)
{
	struct mem_log *m = ctx;

	m->syncs++;
	if (m->fail_sync)
		return LB_E_IO;
	m->synced_len = m->buf.len;
	return LB_OK;
}

/* ---- fixture ---- */

struct fx {
	struct lb_broker *b;
	struct lb_audit *audit;
	struct mem_log log;
	uint8_t alice_pk[LB_PK_BYTES], alice_sk[LB_SK_BYTES];
	uint8_t bob_pk[LB_PK_BYTES], bob_sk[LB_SK_BYTES];
	uint8_t svc_pk[LB_PK_BYTES], svc_sk[LB_SK_BYTES];
	char logname[64];
};

static const struct lb_group alice_groups[] = { { "devs", NULL, 0 } };
static const struct lb_peer alice = {
	{ "alice", "1000", "/home/alice", alice_groups, 1, NULL }, "uid:1000", NULL,
};

static const struct lb_peer bob = {
	{ "bob", "1001", "/home/bob", NULL, 0, NULL }, "uid:1001", NULL,
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char a[LB_PK_B64_LEN], b64[LB_PK_B64_LEN], policy_text[2048];
	struct lb_policy *p = NULL;
	struct lb_audit_io io;
	FILE *empty;

	assert_non_null(f);
	assert_int_equal(lb_crypto_init(), LB_OK);
	assert_int_equal(lb_sign_keypair(f->alice_pk, f->alice_sk), LB_OK);
	assert_int_equal(lb_sign_keypair(f->bob_pk, f->bob_sk), LB_OK);
	assert_int_equal(lb_sign_keypair(f->svc_pk, f->svc_sk), LB_OK);
	assert_int_equal(lb_pk_to_b64(f->alice_pk, a), LB_OK);
	assert_int_equal(lb_pk_to_b64(f->bob_pk, b64), LB_OK);
	snprintf(policy_text, sizeof(policy_text),
	    "[broker]\naudit_sync = always\nrequests_per_sec = 200\nrequests_burst = 400\n"
	    "[key:alice]\nuser = alice\npublic_key = %s\n"
	    "[key:bob]\nuser = bob\npublic_key = %s\n"
	    "[rule:dev]\nusers = alice\nkinds = *\nlink_under = /srv/alice\n"
	    "target_under = /srv/alice, /opt\naction = allow\n", a, b64);
	assert_int_equal(lb_policy_load_buffer("t.ini", policy_text, strlen(policy_text),
	    LB_FLAVOR_POSIX, &p, NULL), LB_OK);

	lb_buf_init(&f->log.buf, 1 << 24);
	memset(&io, 0, sizeof(io));
	io.ctx = &f->log;
	io.append = mem_append;
	io.sync = mem_sync;
	/* lb_audit_open reads an existing file: give it an empty one. */
	snprintf(f->logname, sizeof(f->logname), "test_broker_%p.log", (void *)f);
	empty = fopen(f->logname, "wb");
	assert_non_null(empty);
	fclose(empty);
	assert_int_equal(lb_audit_open(f->logname, io, 0, NULL, NULL, &f->audit), LB_OK);
	assert_int_equal(lb_broker_new(p, f->svc_sk, f->audit, &fake_ops, &f->b), LB_OK);
	memset(&fs_state, 0, sizeof(fs_state));
	g_log = &f->log;
	g_create_calls = 0;
	g_create_before_durable = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	lb_broker_free(f->b);
	lb_audit_close(f->audit);
	lb_buf_free(&f->log.buf);
	remove(f->logname);
	free(f);
	return 0;
}

/* Build and sign a request; returns its encoded bytes in OUT. */
static void
make_req(struct lb_buf *out, uint8_t type, enum lb_kind kind, const char *link,
    const char *target, uint64_t ts, const uint8_t pk[LB_PK_BYTES], const uint8_t sk[LB_SK_BYTES],
    uint8_t nonce_out[LB_NONCE_BYTES])
{
	struct lb_request r;

	memset(&r, 0, sizeof(r));
	r.version = LB_WIRE_VERSION;
	r.type = type;
	r.kind = (uint8_t)kind;
	r.timestamp = ts;
	lb_random(r.nonce, sizeof(r.nonce));
	memcpy(r.key, pk, LB_PK_BYTES);
	r.link = link;
	r.link_len = strlen(link);
	r.target = target;
	r.target_len = strlen(target);
	assert_int_equal(lb_request_sign(&r, sk), LB_OK);
	lb_buf_init(out, LB_FRAME_MAX);
	assert_int_equal(lb_request_encode(&r, out), LB_OK);
	if (nonce_out != NULL)
		memcpy(nonce_out, r.nonce, LB_NONCE_BYTES);
}

struct answer {
	int status;
	int verdict;
	int busy;                  /* the unsigned busy answer */
	uint32_t retry_ms;         /* its retry time */
	char rule[128];
	char message[1024];
};

static void read_answer(const struct fx *f, const struct lb_buf *out,
    const uint8_t nonce[LB_NONCE_BYTES], struct answer *a);

/* Send REQ as PEER; decode and verify the answer with the service key. */
static uint64_t ask_now = NOW;

static int
ask(struct fx *f, const struct lb_peer *peer, const struct lb_buf *req,
    const uint8_t nonce[LB_NONCE_BYTES], struct answer *a)
{
	struct lb_buf out;
	int r;

	lb_buf_init(&out, LB_FRAME_MAX + 4);
	r = lb_broker_handle(f->b, peer, req->data, req->len, ask_now, &out);
	if (r != LB_OK) {
		assert_int_equal(out.len, 0);   /* nothing answered */
		lb_buf_free(&out);
		return r;
	}
	read_answer(f, &out, nonce, a);
	lb_buf_free(&out);
	return LB_OK;
}

/* The one answer in OUT: signed by the service, for NONCE (if given). */
static void
read_answer(const struct fx *f, const struct lb_buf *out, const uint8_t nonce[LB_NONCE_BYTES],
    struct answer *a)
{
	struct lb_response resp;
	const uint8_t *msg;
	size_t mlen, used, blen;

	assert_int_equal(lb_frame_parse(out->data, out->len, &msg, &mlen, &used), LB_OK);
	assert_int_equal(used, out->len);
	memset(a, 0, sizeof(*a));
	if (lb_msg_is_busy(msg, mlen)) {
		struct lb_busy busy;

		/* over a limit: the unsigned busy answer, for this request */
		assert_int_equal(lb_busy_decode(msg, mlen, &busy), LB_OK);
		if (nonce != NULL)
			assert_memory_equal(busy.nonce, nonce, LB_NONCE_BYTES);
		a->status = busy.status;
		a->busy = 1;
		a->retry_ms = busy.retry_ms;
		return;
	}
	assert_int_equal(lb_response_decode(msg, mlen, &resp, &blen), LB_OK);
	assert_int_equal(lb_response_verify(&resp, f->svc_pk), LB_OK);
	if (nonce != NULL)
		assert_memory_equal(resp.nonce, nonce, LB_NONCE_BYTES);
	a->status = resp.status;
	a->verdict = resp.verdict;
	snprintf(a->rule, sizeof(a->rule), "%.*s", (int)resp.rule_len, resp.rule);
	snprintf(a->message, sizeof(a->message), "%.*s", (int)resp.message_len, resp.message);
}

static int
log_lines(const struct fx *f)
{
	size_t i;
	int n = 0;

	for (i = 0; i < f->log.buf.len; i++)
		n += f->log.buf.data[i] == '\n';
	return n;
}

static int
log_has(const struct fx *f, const char *needle)
{
	struct lb_buf copy;
	const char *s;
	int hit;

	lb_buf_init(&copy, f->log.buf.len + 1);
	assert_int_equal(lb_buf_put(&copy, f->log.buf.data, f->log.buf.len), LB_OK);
	assert_int_equal(lb_buf_cstr(&copy, &s), LB_OK);
	hit = strstr(s, needle) != NULL;
	lb_buf_free(&copy);
	return hit;
}

static void assert_log_verifies(const struct fx *f);
static int count_in(const uint8_t *p, size_t n, const char *needle);
static int log_count(const struct fx *f, const char *needle);
static size_t durable_needed(const struct fx *f);

/* ---- tests ---- */

static void
test_allowed_create_makes_the_link_audits_and_answers(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	uint8_t nonce[LB_NONCE_BYTES];
	struct answer a;

	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/sub/l", "../t", NOW,
	    f->alice_pk, f->alice_sk, nonce);
	assert_int_equal(ask(f, &alice, &req, nonce, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	assert_int_equal(a.verdict, LB_VERDICT_ALLOW);
	assert_string_equal(a.rule, "dev");
	assert_int_equal(fs_state.creates, 1);
	assert_string_equal(fs_state.last_name, "l");
	assert_string_equal(fs_state.last_target, "../t");       /* as typed */
	/* the decision, then what was made: the link's identity */
	assert_int_equal(log_lines(f), 2);
	assert_true(log_has(f, "\"seq\":1,") && log_has(f, "\"verdict\":\"allowed\""));
	assert_true(log_has(f, "\"event\":\"made\",\"verdict\":\"allowed\""));
	assert_true(log_has(f, "\"reason\":\"made as decided in record 1\""));
	assert_true(log_has(f, "\"request\":null,\"sig\":null,\"file\":\"2049:1\",\"prev\":"));
	assert_int_equal(log_count(f, "\"request\":\""), 1);   /* stored once, in the decision */
	assert_log_verifies(f);
	assert_true(log_has(f, "\"target_resolved\":\"/srv/alice/t\""));
	assert_true(f->log.syncs >= 1);                         /* audit_sync = always */
	lb_buf_free(&req);
}

static void
test_relative_target_is_decided_where_it_leads(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	/* /srv/alice/l -> ../bob/x leads to /srv/bob/x: not under target_under */
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "../bob/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_DENIED);
	assert_int_equal(a.verdict, LB_VERDICT_DENY);
	assert_string_equal(a.message, "no rule allows this link");
	assert_int_equal(fs_state.creates, 0);
	assert_true(log_has(f, "\"verdict\":\"denied\""));
	lb_buf_free(&req);
}

static void
test_check_decides_without_creating(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	make_req(&req, LB_MSG_CHECK, LB_KIND_DIRSYMLINK, "/srv/alice/d", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	assert_int_equal(a.verdict, LB_VERDICT_ALLOW);
	assert_int_equal(fs_state.creates, 0);
	assert_true(log_has(f, "\"event\":\"check\""));
	lb_buf_free(&req);
}

static void
test_planted_parent_link_is_decided_on_its_final_path(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	/* /srv/alice/sub is really a symlink to /etc: the floor holds */
	fs_state.parent_override = "/etc";
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/sub/cron", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_DENIED);
	assert_non_null(strstr(a.message, "built-in floor"));
	assert_int_equal(fs_state.creates, 0);
	assert_true(log_has(f, "\"link_resolved\":\"/etc/cron\""));
	lb_buf_free(&req);
}

static void
test_key_enrolled_for_another_user_is_refused(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	/* alice's connection, bob's enrolled key */
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW,
	    f->bob_pk, f->bob_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_KEY_UNKNOWN);
	assert_non_null(strstr(a.message, "not enrolled for alice"));
	assert_int_equal(fs_state.creates, 0);
	assert_true(log_has(f, "\"event\":\"reject\""));
	lb_buf_free(&req);
}

/* A key enrolled for DOMAIN\\name is the key of that domain's account
 * only: the same bare name in another domain is not its owner. */
static void
test_key_enrolled_for_a_qualified_name_matches_only_that_domain(void **state)
{
	static const struct lb_peer corp = {
		{ "alice", "S-1-5-21-1-2-3-1001", NULL, NULL, 0, "CORP" }, "S-1-5-21-1-2-3-1001", NULL,
	};
	static const struct lb_peer other = {
		{ "alice", "S-1-5-21-9-9-9-1001", NULL, NULL, 0, "OTHER" }, "S-1-5-21-9-9-9-1001", NULL,
	};
	struct fx *f = *state;
	char a64[LB_PK_B64_LEN], text[1024];
	struct lb_policy *p = NULL;
	struct lb_buf req;
	struct answer a;

	assert_int_equal(lb_pk_to_b64(f->alice_pk, a64), LB_OK);
	snprintf(text, sizeof(text), "[key:corp-alice]\nuser = corp\\Alice\npublic_key = %s\n"
	    "[rule:r]\nusers = CORP\\alice\nkinds = *\nlink_under = C:\\w\ntarget_under = C:\\w\n"
	    "action = allow\n", a64);
	assert_int_equal(lb_policy_load_buffer("w.ini", text, strlen(text), LB_FLAVOR_WINDOWS, &p, NULL),
	    LB_OK);
	assert_int_equal(lb_broker_set_policy(f->b, p), LB_OK);
	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &corp, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	assert_non_null(strstr(a.message, "enrolled as [key:corp-alice]"));
	lb_buf_free(&req);
	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &other, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_KEY_UNKNOWN);
	lb_buf_free(&req);
}

static void
test_unknown_key_is_refused(void **state)
{
	struct fx *f = *state;
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES];
	struct lb_buf req;
	struct answer a;

	assert_int_equal(lb_sign_keypair(pk, sk), LB_OK);
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW, pk, sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_KEY_UNKNOWN);
	assert_int_equal(fs_state.creates, 0);
	lb_buf_free(&req);
}

static void
test_tampered_signature_is_refused(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	req.data[req.len - 1] ^= 0x01;
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_SIG);
	assert_int_equal(fs_state.creates, 0);
	assert_true(log_has(f, "\"verdict\":\"failed\""));
	lb_buf_free(&req);
}

static void
test_replayed_request_is_refused(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_REPLAY);
	assert_int_equal(fs_state.creates, 1);
	lb_buf_free(&req);
}

static void
test_replay_cache_survives_restart_through_remember(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	uint8_t nonce[LB_NONCE_BYTES];
	struct answer a;

	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, nonce);
	/* as if read back from the audit log at start-up */
	lb_broker_remember(f->b, f->alice_pk, nonce, NOW);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_REPLAY);
	assert_int_equal(fs_state.creates, 0);
	lb_buf_free(&req);
}

/* More live pairs than the cap: the oldest seconds go and the window
 * narrows (requests signed before them are stale), recent ones are still
 * caught as replays, and fresh requests are served. */
static void
test_replay_cache_is_capped_by_narrowing_the_window(void **state)
{
	struct fx *f = *state;
	struct lb_buf req, req2;
	uint8_t nonce[LB_NONCE_BYTES], recent[LB_NONCE_BYTES];
	struct answer a;
	uint32_t i;

	/* 50 seconds of 1,400 requests each, from NOW - 60 to NOW - 10: the
	 * cap is applied when the table next grows (at 65,536 pairs) */
	for (i = 0; i < 70000; i++) {
		memset(nonce, 0, sizeof(nonce));
		memcpy(nonce, &i, sizeof(i));
		lb_broker_remember(f->b, f->alice_pk, nonce, NOW - 60 + i / 1400);
	}
	memcpy(recent, nonce, sizeof(recent));   /* signed at NOW - 11 */
	/* signed 45 s ago: within max_clock_skew_s (60) but before the floor */
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/old", "/opt/x", NOW - 45,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_STALE);
	lb_buf_free(&req);
	/* a fresh request is served, once */
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/new", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_REPLAY);
	lb_buf_free(&req);
	/* a pair remembered in the newest second kept is still a replay */
	make_req(&req2, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/r", "/opt/x", NOW - 11,
	    f->alice_pk, f->alice_sk, nonce);
	lb_broker_remember(f->b, f->alice_pk, nonce, NOW - 11);
	assert_int_equal(ask(f, &alice, &req2, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_REPLAY);
	lb_buf_free(&req2);
	(void)recent;
	assert_int_equal(fs_state.creates, 1);
}

static void
test_timestamps_outside_the_window_are_refused(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW - 61,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_STALE);
	lb_buf_free(&req);
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW + 61,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_STALE);
	lb_buf_free(&req);
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW - 60,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	assert_int_equal(fs_state.creates, 1);
	lb_buf_free(&req);
}

static void
test_malformed_request_gets_an_answer_and_a_record(void **state)
{
	struct fx *f = *state;
	struct lb_buf junk;
	struct answer a;

	lb_buf_init(&junk, 64);
	assert_int_equal(lb_buf_put(&junk, "\x01\x01\x01garbage", 10), LB_OK);
	assert_int_equal(ask(f, &alice, &junk, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_SHORT);
	assert_non_null(strstr(a.message, "malformed request"));
	assert_int_equal(log_lines(f), 1);
	assert_true(log_has(f, "\"event\":\"reject\""));
	lb_buf_free(&junk);
}

/* Group commit (audit_sync = always): the decisions of a round are made
 * durable by one sync before any link, the failures' records by one more
 * before any answer; a daemon that leaves the flushes out still never
 * makes a link or answers before the records are durable. */
#define ROUND 3
static void
round_of_creates(struct fx *f, int flush, struct answer *a)
{
	struct lb_pending *p[ROUND];
	struct lb_buf req[ROUND], out[ROUND];
	uint8_t nonce[ROUND][LB_NONCE_BYTES];
	char link[64];
	int i;

	for (i = 0; i < ROUND; i++) {
		snprintf(link, sizeof(link), "/srv/alice/g%d", i);
		make_req(&req[i], LB_MSG_CREATE, LB_KIND_SYMLINK, link, "/opt/x", NOW,
		    f->alice_pk, f->alice_sk, nonce[i]);
		assert_int_equal(lb_broker_begin(f->b, &alice, req[i].data, req[i].len, NOW, &p[i]), LB_OK);
		lb_buf_free(&req[i]);   /* the message was copied */
	}
	assert_int_equal(f->log.syncs, 0);           /* appended, not yet durable */
	assert_int_equal(fs_state.creates, 0);
	if (flush)
		assert_int_equal(lb_broker_flush(f->b), LB_OK);
	for (i = 0; i < ROUND; i++)
		assert_int_equal(lb_broker_make(f->b, p[i]), LB_OK);
	if (flush)
		assert_int_equal(lb_broker_flush(f->b), LB_OK);
	for (i = 0; i < ROUND; i++) {
		lb_buf_init(&out[i], LB_FRAME_MAX + 4);
		assert_int_equal(lb_broker_answer(f->b, p[i], &out[i]), LB_OK);
		/* an answer only once every decision and failure so far is
		 * durable ("made" records after them need not be) */
		assert_true(f->log.synced_len >= durable_needed(f));
		read_answer(f, &out[i], nonce[i], &a[i]);
		lb_buf_free(&out[i]);
		lb_broker_pending_free(f->b, p[i]);
	}
	assert_int_equal(g_create_calls, ROUND);
	assert_false(g_create_before_durable);      /* decisions durable before links */
}

/* The end of the log's last record that is not a "made" one. */
static size_t
durable_needed(const struct fx *f)
{
	const char *d = (const char *)f->log.buf.data;
	size_t end = f->log.buf.len, start;

	while (end > 0) {
		start = end - 1;
		while (start > 0 && d[start - 1] != '\n')
			start--;
		if (count_in((const uint8_t *)d + start, end - start, "\"event\":\"made\"") == 0)
			return end;
		end = start;
	}
	return 0;
}

static void
test_group_commit_one_sync_per_round(void **state)
{
	struct fx *f = *state;
	struct answer a[ROUND];
	int i;

	round_of_creates(f, 1, a);
	assert_int_equal(fs_state.creates, ROUND);
	assert_int_equal(f->log.syncs, 1);
	assert_int_equal(log_lines(f), 2 * ROUND);   /* each decision and its "made" record */
	for (i = 0; i < ROUND; i++)
		assert_int_equal(a[i].status, LB_OK);
}

static void
test_group_commit_failures_synced_before_answers(void **state)
{
	struct fx *f = *state;
	struct answer a[ROUND];
	int i;

	fs_state.create_rc = LB_E_EXISTS;
	round_of_creates(f, 1, a);
	assert_int_equal(f->log.syncs, 2);           /* decisions, then outcomes */
	assert_int_equal(log_lines(f), 2 * ROUND);
	for (i = 0; i < ROUND; i++)
		assert_int_equal(a[i].status, LB_E_EXISTS);
}

static void
test_group_commit_without_flushes_is_still_durable_first(void **state)
{
	struct fx *f = *state;
	struct answer a[ROUND];

	/* The first make syncs (covering all three decisions); none after. */
	round_of_creates(f, 0, a);
	assert_int_equal(fs_state.creates, ROUND);
	assert_int_equal(f->log.syncs, 1);
}

/* The steps a daemon with worker threads takes: the signature checked
 * ahead (precheck) decides as the broker's own check would, the answer
 * signed apart (sign) verifies, and steps out of order are refused. */
static void
stepwise(struct fx *f, const struct lb_buf *req, const uint8_t *nonce, struct answer *a)
{
	struct lb_pending *p;
	struct lb_buf out;

	assert_int_equal(lb_broker_prepare(f->b, &alice, req->data, req->len, NOW, &p), LB_OK);
	lb_broker_precheck(p);
	assert_int_equal(lb_broker_start(f->b, p), LB_OK);
	assert_int_equal(lb_broker_seal(f->b, p), LB_OK);   /* makes the link too */
	assert_int_equal(lb_broker_sign(f->b, p), LB_OK);
	lb_buf_init(&out, LB_FRAME_MAX + 4);
	assert_int_equal(lb_broker_deliver(p, &out), LB_OK);
	read_answer(f, &out, nonce, a);
	lb_buf_free(&out);
	lb_broker_pending_free(f->b, p);
}

static void
test_stepwise_with_precheck(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	uint8_t nonce[LB_NONCE_BYTES];
	struct answer a;

	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/s1", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, nonce);
	stepwise(f, &req, nonce, &a);
	assert_int_equal(a.status, LB_OK);
	assert_int_equal(a.verdict, LB_VERDICT_ALLOW);
	assert_int_equal(fs_state.creates, 1);
	lb_buf_free(&req);
	/* a forged one, checked ahead: refused as a forgery, nothing made */
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/s2", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	req.data[req.len - 1] ^= 0x01;
	stepwise(f, &req, NULL, &a);
	assert_int_equal(a.status, LB_E_SIG);
	assert_int_equal(fs_state.creates, 1);
	lb_buf_free(&req);
}

/* A reload while a request waits for its file-system work (a slow file
 * system, the POSIX daemon's workers): the request is decided and answered
 * under the policy it was admitted with (its key entry and rule are that
 * policy's, kept alive until it is freed), the next one under the new. */
static void
test_reload_mid_request_keeps_its_policy(void **state)
{
	struct fx *f = *state;
	char a64[LB_PK_B64_LEN], text[1024];
	struct lb_policy *np = NULL;
	struct lb_pending *p;
	struct lb_fswork *w = NULL;
	struct lb_buf req, out;
	uint8_t nonce[LB_NONCE_BYTES];
	struct answer a;

	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/r1", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, nonce);
	assert_int_equal(lb_broker_prepare(f->b, &alice, req.data, req.len, NOW, &p), LB_OK);
	assert_int_equal(lb_broker_admit(f->b, p, &w), LB_OK);
	assert_non_null(w);
	/* The new policy enrolls alice's key under another name and denies. */
	assert_int_equal(lb_pk_to_b64(f->alice_pk, a64), LB_OK);
	snprintf(text, sizeof(text), "[key:alice2]\nuser = alice\npublic_key = %s\n"
	    "[rule:nothing]\nusers = alice\nkinds = *\nlink_under = /srv/alice\naction = deny\n", a64);
	assert_int_equal(lb_policy_load_buffer("n.ini", text, strlen(text), LB_FLAVOR_POSIX, &np, NULL),
	    LB_OK);
	assert_int_equal(lb_broker_set_policy(f->b, np), LB_OK);
	assert_int_equal(lb_broker_policies_kept(f->b), 1);
	lb_fswork_run(w);
	assert_int_equal(lb_broker_decide(f->b, p, w), LB_OK);
	assert_int_equal(lb_broker_seal(f->b, p), LB_OK);
	assert_int_equal(lb_broker_sign(f->b, p), LB_OK);
	lb_buf_init(&out, LB_FRAME_MAX + 4);
	assert_int_equal(lb_broker_deliver(p, &out), LB_OK);
	read_answer(f, &out, nonce, &a);
	lb_buf_free(&out);
	assert_int_equal(a.status, LB_OK);
	assert_string_equal(a.rule, "dev");
	assert_int_equal(fs_state.creates, 1);
	assert_true(log_has(f, "\"key\":\"alice\""));
	lb_broker_pending_free(f->b, p);
	assert_int_equal(lb_broker_policies_kept(f->b), 0);   /* freed with it */
	lb_buf_free(&req);
	/* The next request: the new policy's. */
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/r2", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, nonce);
	stepwise(f, &req, nonce, &a);
	assert_int_equal(a.status, LB_E_DENIED);
	assert_string_equal(a.rule, "nothing");
	assert_true(log_has(f, "\"key\":\"alice2\""));
	assert_int_equal(fs_state.creates, 1);
	lb_buf_free(&req);
}

static void
test_steps_out_of_order_are_refused(void **state)
{
	struct fx *f = *state;
	struct lb_pending *p;
	struct lb_buf req, out;

	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/o", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	lb_buf_init(&out, LB_FRAME_MAX + 4);
	assert_int_equal(lb_broker_prepare(f->b, &alice, req.data, req.len, NOW, &p), LB_OK);
	assert_int_equal(lb_broker_make(f->b, p), LB_E_INVAL);      /* before its decision */
	assert_int_equal(lb_broker_seal(f->b, p), LB_E_INVAL);
	assert_int_equal(lb_broker_sign(f->b, p), LB_E_INVAL);
	assert_int_equal(lb_broker_deliver(p, &out), LB_E_INVAL);
	assert_int_equal(fs_state.creates, 0);
	assert_int_equal(log_lines(f), 0);
	assert_int_equal(lb_broker_start(f->b, p), LB_OK);
	assert_int_equal(lb_broker_start(f->b, p), LB_E_INVAL);     /* once */
	assert_int_equal(lb_broker_sign(f->b, p), LB_E_INVAL);      /* not sealed */
	assert_int_equal(lb_broker_deliver(p, &out), LB_E_INVAL);
	assert_int_equal(out.len, 0);
	assert_int_equal(lb_broker_answer(f->b, p, &out), LB_OK);
	assert_int_equal(fs_state.creates, 1);
	assert_int_equal(log_lines(f), 2);   /* the decision and the "made" record */
	lb_broker_pending_free(f->b, p);
	lb_buf_free(&out);
	lb_buf_free(&req);
}

static void
test_audit_failure_refuses_and_makes_nothing(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	f->log.fail = 1;
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	/* Refused, and told why (not a connection closed unanswered). */
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_AUDIT);
	assert_int_equal(a.verdict, LB_VERDICT_DENY);
	assert_non_null(strstr(a.message, "audit log cannot be written"));
	assert_non_null(strstr(a.message, "nothing was made"));
	assert_int_equal(fs_state.creates, 0);   /* the record comes first: nothing made */
	assert_int_equal(fs_state.removes, 0);
	assert_int_equal(f->log.buf.len, 0);
	lb_buf_free(&req);
	/* the log works again: requests are served again */
	f->log.fail = 0;
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l2", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	lb_buf_free(&req);
}

static void
test_rate_limit_per_identity(void **state)
{
	struct fx *f = *state;
	const struct lb_peer other = { { "carol", "1002", "/home/carol", NULL, 0, NULL }, "uid:1002", NULL };
	uint8_t nonce[LB_NONCE_BYTES];
	struct lb_buf req;
	struct answer a;
	int i, limited = 0;

	for (i = 0; i < 400 + 5; i++) {
		make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->alice_pk, f->alice_sk, nonce);
		/* Refused or not, the answer is for this request (its nonce):
		 * a pipelining client must never take the genuine broker's
		 * refusal for a forged answer. */
		assert_int_equal(ask(f, &alice, &req, nonce, &a), LB_OK);
		limited += a.status == LB_E_RATE;
		lb_buf_free(&req);
	}
	assert_int_equal(limited, 5);
	/* another identity is not affected: answered on its merits (carol
	 * has no enrolled key), not rate limited */
	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &other, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_KEY_UNKNOWN);
	lb_buf_free(&req);
}

static void
test_unauthenticated_rejects_have_a_small_bounded_budget(void **state)
{
	struct fx *f = *state;
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES];
	char longpath[2048];
	struct lb_buf req;
	struct answer a;
	int i, rated = 0;

	/* a key enrolled for nobody, and long paths: what a disk-filler sends */
	assert_int_equal(lb_sign_keypair(pk, sk), LB_OK);
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	for (i = 0; i < LB_REJECT_BURST + 10; i++) {
		make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, longpath, longpath, NOW, pk, sk, NULL);
		assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
		rated += a.status == LB_E_RATE;
		lb_buf_free(&req);
	}
	assert_int_equal(rated, 10);
	assert_int_equal(log_lines(f), LB_REJECT_BURST);
	/* each record is bounded: no stored request, paths cut */
	assert_true(log_has(f, "\"request\":null"));
	assert_false(log_has(f, "\"request\":\"AQ"));
	assert_true(f->log.buf.len < (size_t)LB_REJECT_BURST * 2048);
	/* another user is not affected */
	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->bob_pk, f->bob_sk, NULL);
	assert_int_equal(ask(f, &bob, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	lb_buf_free(&req);
}

/* Status requests from keys nobody enrolled: answered (the user learns it
 * is not enrolled) within the small pre-authentication budget, and past
 * it refused without an audit record each. */
static void
test_status_from_unenrolled_keys_has_the_preauth_budget(void **state)
{
	struct fx *f = *state;
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES];
	struct lb_buf req;
	struct answer a;
	int i, unknown = 0, rated = 0;

	for (i = 0; i < LB_REJECT_BURST + 30; i++) {
		assert_int_equal(lb_sign_keypair(pk, sk), LB_OK);   /* a new key each time */
		make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, pk, sk, NULL);
		assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
		unknown += a.status == LB_E_KEY_UNKNOWN;
		rated += a.status == LB_E_RATE;
		lb_buf_free(&req);
	}
	assert_int_equal(unknown, LB_REJECT_BURST);
	assert_int_equal(rated, 30);
	assert_int_equal(log_lines(f), LB_REJECT_BURST);
	/* another user's enrolled key is not affected */
	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->bob_pk, f->bob_sk, NULL);
	assert_int_equal(ask(f, &bob, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	lb_buf_free(&req);
}

/* Swap in the fixture's policy with other rate limits (hot reload). */
static void
set_rates(struct fx *f, unsigned per_sec, unsigned burst)
{
	char a64[LB_PK_B64_LEN], b64[LB_PK_B64_LEN], text[2048];
	struct lb_policy *p = NULL;

	assert_int_equal(lb_pk_to_b64(f->alice_pk, a64), LB_OK);
	assert_int_equal(lb_pk_to_b64(f->bob_pk, b64), LB_OK);
	snprintf(text, sizeof(text),
	    "[broker]\naudit_sync = batch\nrequests_per_sec = %u\nrequests_burst = %u\n"
	    "[key:alice]\nuser = alice\npublic_key = %s\n"
	    "[key:bob]\nuser = bob\npublic_key = %s\n"
	    "[rule:dev]\nusers = alice\nkinds = *\nlink_under = /srv/alice\n"
	    "target_under = /srv/alice, /opt\naction = allow\n", per_sec, burst, a64, b64);
	assert_int_equal(lb_policy_load_buffer("t.ini", text, strlen(text), LB_FLAVOR_POSIX, &p, NULL),
	    LB_OK);
	assert_int_equal(lb_broker_set_policy(f->b, p), LB_OK);
}

/* Over the rate limit: the cheap unsigned busy answer, for this request,
 * saying how long until the next token (200 a second: 5 ms), and no
 * record; after that wait the request is served. */
static void
test_rate_refusal_is_an_unsigned_busy_with_its_wait(void **state)
{
	struct fx *f = *state;
	uint8_t nonce[LB_NONCE_BYTES];
	struct lb_buf req;
	struct answer a;
	int i, lines;

	for (i = 0; i < 400; i++) {
		make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->alice_pk, f->alice_sk, NULL);
		assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
		assert_int_equal(a.status, LB_OK);
		lb_buf_free(&req);
	}
	lines = log_lines(f);
	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->alice_pk, f->alice_sk, nonce);
	assert_int_equal(ask(f, &alice, &req, nonce, &a), LB_OK);
	assert_int_equal(a.status, LB_E_RATE);
	assert_true(a.busy);
	assert_int_equal(a.retry_ms, 5);
	assert_int_equal(log_lines(f), lines);
	lb_buf_free(&req);
	/* the fixture has no millisecond clock: a second later it refills */
	ask_now = NOW + 1;
	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW + 1, f->alice_pk, f->alice_sk, nonce);
	assert_int_equal(ask(f, &alice, &req, nonce, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	assert_false(a.busy);
	lb_buf_free(&req);
	ask_now = NOW;
}

/* An identity that spent its pre-authentication budget is refused unheard
 * (busy, no record, no crypto), its enrolled key too, until the budget
 * refills (200 ms a request); then it is heard again. */
static void
test_spent_preauth_budget_refuses_unheard_until_it_refills(void **state)
{
	struct fx *f = *state;
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES];
	struct lb_buf req;
	struct answer a;
	int i, busy = 0, lines;

	assert_int_equal(lb_sign_keypair(pk, sk), LB_OK);
	for (i = 0; i < LB_REJECT_BURST + 50; i++) {
		make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, pk, sk, NULL);
		assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
		busy += a.busy;
		if (a.busy)
			assert_int_equal(a.retry_ms, 1000 / LB_REJECT_PER_SEC);
		lb_buf_free(&req);
	}
	assert_int_equal(busy, 50);
	lines = log_lines(f);
	assert_int_equal(lines, LB_REJECT_BURST);
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_true(a.busy);
	lb_buf_free(&req);
	/* a second later (the fixture's clock is in seconds) it is heard */
	ask_now = NOW + 1;
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW + 1,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	lb_buf_free(&req);
	ask_now = NOW;
}

/* One enrolled user stamping requests near the end of the clock window
 * must not push the replay floor into the future (where every other
 * user's requests would be "outside the allowed clock skew"), nor evict
 * other users' pairs (issue 13). */
static void
test_replay_floor_never_passes_now_nor_evicts_others(void **state)
{
	struct fx *f = *state;
	uint8_t nonce[LB_NONCE_BYTES];
	struct lb_buf req, mine;
	struct answer a;
	int i, ok = 0, busy = 0;
	uint32_t n;

	set_rates(f, 100000, 1000000);
	f->log.buf.max = (size_t)1 << 28;   /* room for every record of the flood */
	make_req(&mine, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW - 30, f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &mine, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	/* bob: more requests than his share holds, all stamped 59 s ahead:
	 * paced (busy), never told "stale". His share filled cheaply first
	 * (as a restart reads pairs from the log: 9,000 signed requests took
	 * minutes under valgrind), then the last few slots by requests. */
	for (n = 0; n < 8192 - 10; n++) {
		memset(nonce, 0xa0, sizeof(nonce));
		memcpy(nonce, &n, sizeof(n));
		lb_broker_remember(f->b, f->bob_pk, nonce, NOW + 59);
	}
	for (i = 0; i < 30; i++) {
		make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW + 59, f->bob_pk, f->bob_sk, NULL);
		assert_int_equal(ask(f, &bob, &req, NULL, &a), LB_OK);
		ok += a.status == LB_OK;
		busy += a.busy;
		lb_buf_free(&req);
	}
	assert_true(ok >= 1 && ok <= 10);
	assert_true(busy > 0);
	assert_int_equal(ok + busy, 30);
	/* his share is full of pairs from the future: busy now, not stale */
	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->bob_pk, f->bob_sk, NULL);
	assert_int_equal(ask(f, &bob, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_RATE);
	lb_buf_free(&req);
	/* and more pairs of his than the whole cache holds (cheaply, as a
	 * restart reads them from the log) */
	for (n = 0; n < 70000; n++) {
		memset(nonce, 0xb0, sizeof(nonce));
		memcpy(nonce, &n, sizeof(n));
		lb_broker_remember(f->b, f->bob_pk, nonce, NOW + 59);
	}
	/* alice, now: served */
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/now", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	lb_buf_free(&req);
	/* and her request of 30 s ago is still remembered: a replay */
	assert_int_equal(ask(f, &alice, &mine, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_REPLAY);
	lb_buf_free(&mine);
}

static void
test_rate_limit_recovers_when_the_clock_goes_back(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;
	int i;

	for (i = 0; i < 400; i++) {
		make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->alice_pk, f->alice_sk, NULL);
		assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
		lb_buf_free(&req);
	}
	/* the clock jumps an hour back; a second later the bucket has refilled */
	ask_now = NOW - 3600;
	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW - 3600, f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_RATE);
	lb_buf_free(&req);
	ask_now = NOW - 3599;
	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW - 3599, f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	lb_buf_free(&req);
	ask_now = NOW;
}

static void
test_status_says_who_and_whether_enrolled(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	assert_string_equal(a.message, "you are alice (uid 1000); your key is enrolled as [key:alice]");
	lb_buf_free(&req);
	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &bob, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_KEY_UNKNOWN);
	assert_int_equal(a.verdict, LB_VERDICT_DENY);
	assert_string_equal(a.message, "you are bob (uid 1001); your key is not enrolled for you in the policy");
	lb_buf_free(&req);
}

/* Requests as ALICE, one a second from T for SECONDS seconds; each
 * answered with STATUS. */
static void
ask_each_second(struct fx *f, uint64_t t, int seconds, int status)
{
	struct lb_buf req;
	struct answer a;
	int i;

	for (i = 0; i < seconds; i++) {
		ask_now = t + (uint64_t)i;
		make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", ask_now,
		    f->alice_pk, f->alice_sk, NULL);
		assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
		assert_int_equal(a.status, status);
		lb_buf_free(&req);
	}
	ask_now = NOW;
}

static void
test_audit_failure_said_once_a_minute_with_a_count(void **state)
{
	struct fx *f = *state;

	g_audit_events = 0;
	f->log.fail = 1;
	/* 150 requests refused over 150 s: one line when it starts, then one
	 * a minute with that minute's count, not one per request. */
	ask_each_second(f, NOW, 150, LB_E_AUDIT);
	assert_int_equal(fs_state.creates, 0);
	assert_int_equal(g_audit_events, 3);
	assert_non_null(strstr(g_last_audit_event, "still cannot be written"));
	assert_non_null(strstr(g_last_audit_event, "60 requests refused in the last 60 s"));
	/* The log works again: the next request is served, and that is said. */
	f->log.fail = 0;
	ask_each_second(f, NOW + 150, 1, LB_OK);
	assert_int_equal(fs_state.creates, 1);
	assert_int_equal(g_audit_events, 4);
	assert_non_null(strstr(g_last_audit_event, "can be written again after 150 s: 150 requests"));
	assert_int_equal(log_lines(f), 2);   /* the decision and the "made" record */
}

static void
test_failed_sync_makes_nothing_and_answers_so(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	/* audit_sync = always: the decision is appended, its sync fails: the
	 * link is not made (it would have no durable record), and the client
	 * is told why. */
	f->log.fail_sync = 1;
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_AUDIT);
	assert_non_null(strstr(a.message, "nothing was made"));
	assert_int_equal(fs_state.creates, 0);
	lb_buf_free(&req);
	/* Without a way to write the bytes again (no rewrite here), the log
	 * stays refused: nothing is appended after the unsure record. */
	f->log.fail_sync = 0;
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l2", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_AUDIT);
	assert_int_equal(fs_state.creates, 0);
	assert_int_equal(log_lines(f), 1);
	lb_buf_free(&req);
}

/* PREFIX then N copies of C (a NUL-terminated path). */
static char *
long_path(const char *prefix, char c, size_t n)
{
	size_t k = strlen(prefix);
	char *p = malloc(k + n + 1);

	assert_non_null(p);
	memcpy(p, prefix, k);
	memset(p + k, c, n);
	p[k + n] = '\0';
	return p;
}

static void
test_refused_long_paths_are_recorded_compactly(void **state)
{
	struct fx *f = *state;
	struct lb_buf req, hex;
	struct lb_request r;
	struct answer a;
	uint8_t h[LB_HASH_BYTES];
	char *link = long_path("/srv/alice/", '\001', 32000);
	char *target = long_path("/opt/", '\001', 32000);
	size_t blen, i;

	/* The red team's request: 64 KiB of control bytes, which JSON
	 * escapes six-fold (470 KB a record before). */
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, link, target, NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_not_equal(a.status, LB_OK);
	assert_int_equal(log_lines(f), 1);
	assert_true(f->log.buf.len <= 4 * 1024);
	/* Its lengths and the signed request's hash are kept, not the request. */
	assert_true(log_has(f, "link 32011 bytes, target 32005 bytes"));
	assert_true(log_has(f, "\"request\":null,\"sig\":null"));
	assert_int_equal(lb_request_decode(req.data, req.len, &r, &blen), LB_OK);
	assert_int_equal(lb_hash(h, req.data, blen), LB_OK);
	lb_buf_init(&hex, 256);
	assert_int_equal(lb_buf_put_cstr(&hex, "blake2b "), LB_OK);
	for (i = 0; i < LB_HASH_BYTES; i++)
		assert_int_equal(lb_buf_printf(&hex, "%02x", h[i]), LB_OK);
	assert_int_equal(lb_buf_put_u8(&hex, 0), LB_OK);
	assert_true(log_has(f, (const char *)hex.data));
	lb_buf_free(&hex);
	lb_buf_free(&req);
	free(link);
	free(target);
	/* An allowed request with long paths keeps its whole signed request:
	 * verify-audit proves allowed records from it. */
	link = long_path("/srv/alice/", 'a', 200);
	target = long_path("/opt/", 'b', 200);
	for (i = 0; i < 3; i++) {
		char *l2 = malloc(strlen(link) + 202);

		assert_non_null(l2);
		snprintf(l2, strlen(link) + 202, "%s/%.200s", link, link + 11);
		free(link);
		link = l2;
	}
	f->log.buf.len = 0;
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, link, target, NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	/* the decision keeps its whole request; only the "made" record has none */
	assert_int_equal(log_count(f, "\"request\":null"), 1);
	assert_int_equal(log_count(f, "\"event\":\"made\""), 1);
	assert_false(log_has(f, "paths cut"));
	lb_buf_free(&req);
	free(link);
	free(target);
}

static void
test_refused_records_bounded_per_identity(void **state)
{
	static const struct lb_group bob_groups[] = { { "bob", NULL, 0 } };
	static const struct lb_peer bob_member = {
		{ "bob", "1001", "/home/bob", bob_groups, 1, NULL }, "uid:1001", NULL,
	};
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;
	size_t one, i, n, recorded;
	const char *p;
	char *link = long_path("/srv/elsewhere/", 'x', 200);

	/* Denied by policy (no rule for that folder), about 1 KB a record. */
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, link, "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_DENIED);
	lb_buf_free(&req);
	one = f->log.buf.len;
	n = 2 * LB_AUDIT_BUDGET_BYTES / one + 10;
	for (i = 1; i < n; i++) {
		/* within the rate limit (200/s) and the window (60 s) */
		ask_now = NOW + i / 150;
		make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, link, "/opt/x", ask_now,
		    f->alice_pk, f->alice_sk, NULL);
		assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
		assert_int_equal(a.status, LB_E_DENIED);   /* answered all the same */
		lb_buf_free(&req);
	}
	assert_true(ask_now < NOW + LB_AUDIT_BUDGET_WINDOW_S);
	/* Within the budget, plus the one record checked before it. */
	assert_true(f->log.buf.len <= LB_AUDIT_BUDGET_BYTES + one);
	recorded = (size_t)log_lines(f);
	assert_true(recorded < n);
	/* Another identity has its own budget. */
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/bob/l", "/opt/x", ask_now,
	    f->bob_pk, f->bob_sk, NULL);
	assert_int_equal(ask(f, &bob_member, &req, NULL, &a), LB_OK);
	assert_int_equal(log_lines(f), (int)recorded + 1);
	assert_true(log_has(f, "\"user\":\"bob\""));
	lb_buf_free(&req);
	/* The window ends: one summary record counts what was held. */
	lb_broker_tick(f->b, NOW + LB_AUDIT_BUDGET_WINDOW_S);
	assert_int_equal(log_lines(f), (int)recorded + 2);
	assert_true(log_has(f, "\"event\":\"summary\",\"verdict\":\"denied\",\"user\":\"alice\""));
	assert_int_equal(lb_buf_put_u8(&f->log.buf, 0), LB_OK);
	p = strstr((const char *)f->log.buf.data, "\"event\":\"summary\"");
	assert_non_null(p);
	p = strstr(p, "\"reason\":\"");
	assert_non_null(p);
	assert_int_equal(strtoul(p + 10, NULL, 10), n - recorded);
	f->log.buf.len--;
	/* A new window: alice's refusals are recorded again. */
	ask_now = NOW + LB_AUDIT_BUDGET_WINDOW_S + 1;
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, link, "/opt/x", ask_now,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(log_lines(f), (int)recorded + 3);
	ask_now = NOW;
	lb_buf_free(&req);
	free(link);
}

static void
test_bad_paths_are_input_errors(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "relative/l", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_PATH_RELATIVE);
	lb_buf_free(&req);
	make_req(&req, LB_MSG_CREATE, LB_KIND_HARDLINK, "/srv/alice/h", "rel", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_PATH_RELATIVE);
	lb_buf_free(&req);
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/\x1b[2J", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_PATH_CTRL);
	assert_int_equal(fs_state.creates, 0);
	lb_buf_free(&req);
}


static void
test_existing_file_is_reported_as_failed(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	fs_state.create_rc = LB_E_EXISTS;
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_EXISTS);
	assert_int_equal(lb_exit_code(a.status), LB_EXIT_FAILED);
	/* The decision was logged before the attempt, the outcome after it;
	 * the signed request is stored once, with the decision. */
	assert_int_equal(log_lines(f), 2);
	assert_true(log_has(f, "\"seq\":1,") && log_has(f, "\"verdict\":\"allowed\""));
	assert_true(log_has(f, "\"seq\":2,") && log_has(f, "\"verdict\":\"failed\""));
	assert_true(log_has(f, "\"error\":-61"));
	assert_int_equal(log_count(f, "\"request\":\""), 1);
	lb_buf_free(&req);
}

static void
test_junction_gets_absolute_target_and_relative_is_floored(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;

	make_req(&req, LB_MSG_CREATE, LB_KIND_JUNCTION, "/srv/alice/j", "/opt//x/.", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_OK);
	assert_string_equal(fs_state.last_target, "/opt/x");
	lb_buf_free(&req);
	make_req(&req, LB_MSG_CREATE, LB_KIND_JUNCTION, "/srv/alice/j2", "x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	assert_int_equal(a.status, LB_E_DENIED);
	assert_non_null(strstr(a.message, "junction target"));
	assert_int_equal(fs_state.creates, 1);
	lb_buf_free(&req);
}

/* ---- batches ---- */

struct bentry {
	uint8_t type;
	enum lb_kind kind;
	const char *link, *target;
};

/* A batch of the N entries E, signed by SK (its key PK), stamped TS. */
static void
make_batch(struct lb_buf *out, const struct bentry *e, size_t n, uint64_t ts,
    const uint8_t pk[LB_PK_BYTES], const uint8_t sk[LB_SK_BYTES], uint8_t nonce_out[LB_NONCE_BYTES])
{
	struct lb_batch *b = calloc(1, sizeof(*b));
	size_t i;

	assert_non_null(b);
	b->version = LB_WIRE_VERSION_BATCH;
	b->type = LB_MSG_BATCH;
	b->timestamp = ts;
	lb_random(b->nonce, sizeof(b->nonce));
	memcpy(b->key, pk, LB_PK_BYTES);
	b->n = n;
	for (i = 0; i < n; i++)
		b->e[i] = (struct lb_batch_entry){ e[i].type, (uint8_t)e[i].kind, e[i].link,
		    strlen(e[i].link), e[i].target, strlen(e[i].target) };
	lb_buf_init(out, LB_FRAME_MAX);
	assert_int_equal(lb_batch_sign_encode(b, sk, out), LB_OK);
	if (nonce_out != NULL)
		memcpy(nonce_out, b->nonce, LB_NONCE_BYTES);
	free(b);
}

struct banswer {
	int busy;
	int status;                 /* the whole batch's */
	size_t n;
	int st[LB_BATCH_MAX], verdict[LB_BATCH_MAX];
	char msg[LB_BATCH_MAX][64];
};

/* REQ (a batch) as PEER: the answer, signed by the service, for NONCE. */
static void
ask_batch(struct fx *f, const struct lb_peer *peer, const struct lb_buf *req,
    const uint8_t nonce[LB_NONCE_BYTES], struct banswer *a)
{
	struct lb_batch_response *rs = calloc(1, sizeof(*rs));
	struct lb_buf out;
	const uint8_t *msg;
	size_t mlen, used, blen, i;

	assert_non_null(rs);
	memset(a, 0, sizeof(*a));
	lb_buf_init(&out, LB_FRAME_MAX + 4);
	assert_int_equal(lb_broker_handle(f->b, peer, req->data, req->len, ask_now, &out), LB_OK);
	assert_int_equal(lb_frame_parse(out.data, out.len, &msg, &mlen, &used), LB_OK);
	assert_int_equal(used, out.len);
	if (lb_msg_is_busy(msg, mlen)) {
		struct lb_busy busy;

		assert_int_equal(lb_busy_decode(msg, mlen, &busy), LB_OK);
		assert_memory_equal(busy.nonce, nonce, LB_NONCE_BYTES);
		a->busy = 1;
		a->status = busy.status;
	} else {
		assert_true(lb_msg_is_batch(msg, mlen));
		assert_int_equal(lb_batch_response_decode(msg, mlen, rs, &blen), LB_OK);
		assert_int_equal(lb_batch_response_verify(rs, msg, blen, f->svc_pk), LB_OK);
		assert_memory_equal(rs->nonce, nonce, LB_NONCE_BYTES);
		a->status = rs->status;
		a->n = rs->n;
		for (i = 0; i < rs->n; i++) {
			a->st[i] = rs->r[i].status;
			a->verdict[i] = rs->r[i].verdict;
			snprintf(a->msg[i], sizeof(a->msg[i]), "%.*s", (int)rs->r[i].message_len,
			    rs->r[i].message);
		}
	}
	lb_buf_free(&out);
	free(rs);
}

static int
log_count(const struct fx *f, const char *needle)
{
	return count_in(f->log.buf.data, f->log.buf.len, needle);
}

/* Places NEEDLE starts in the N bytes at P (memmem is not in MinGW's C library). */
static int
count_in(const uint8_t *p, size_t n, const char *needle)
{
	size_t i, k = strlen(needle);
	int c = 0;

	for (i = 0; i + k <= n; i++)
		c += memcmp(p + i, needle, k) == 0;
	return c;
}

/* The in-memory log, verified as verify-audit would with the policy. */
static void
assert_log_verifies(const struct fx *f)
{
	char path[80];
	struct lb_buf msg;
	FILE *fp;
	int rc;

	snprintf(path, sizeof(path), "%s.v", f->logname);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(f->log.buf.data, 1, f->log.buf.len, fp), f->log.buf.len);
	assert_int_equal(fclose(fp), 0);
	lb_buf_init(&msg, 4096);
	rc = lb_audit_verify(path, lb_broker_policy(f->b), &msg, NULL);
	if (rc != LB_OK)
		fail_msg("the log does not verify: %.*s", (int)msg.len, (const char *)msg.data);
	lb_buf_free(&msg);
	remove(path);
}

static void
test_batch_decides_each_entry_signs_once_and_records_each(void **state)
{
	struct fx *f = *state;
	static const struct bentry e[] = {
		{ LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/a", "/srv/alice/t" },
		{ LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/b", "/etc/passwd" },   /* no rule */
		{ LB_MSG_CHECK, LB_KIND_SYMLINK, "/srv/alice/c", "/opt/x" },
		{ LB_MSG_CREATE, LB_KIND_DIRSYMLINK, "/srv/alice/d", "/srv/alice/t" },
		{ LB_MSG_CREATE, LB_KIND_SYMLINK, "rel", "/srv/alice/t" },           /* bad input */
	};
	uint8_t nonce[LB_NONCE_BYTES];
	struct banswer *a = malloc(sizeof(*a));
	struct lb_buf req;

	(void)state;
	assert_non_null(a);
	make_batch(&req, e, 5, NOW, f->alice_pk, f->alice_sk, nonce);
	g_holds = 0;
	ask_batch(f, &alice, &req, nonce, a);
	assert_int_equal(a->busy, 0);
	assert_int_equal(a->status, LB_OK);
	assert_int_equal(a->n, 5);
	assert_int_equal(a->st[0], LB_OK);
	assert_int_equal(a->verdict[0], LB_VERDICT_ALLOW);
	assert_int_equal(a->st[1], LB_E_DENIED);
	assert_int_equal(a->verdict[1], LB_VERDICT_DENY);
	assert_int_equal(a->st[2], LB_OK);
	assert_int_equal(a->st[3], LB_OK);
	assert_int_equal(lb_exit_code(a->st[4]), LB_EXIT_BAD_INPUT);   /* it spoils nothing else */
	assert_int_equal(fs_state.creates, 2);       /* the dry run made nothing */
	assert_int_equal(fs_state.opens, 1);         /* one folder, opened once */
	assert_int_equal(g_holds, 2);                /* one switch for the opens, one for the creates */
	assert_false(g_held);
	/* one "batch" record with the signed batch, one record per entry,
	 * then one "made" record per link made */
	assert_int_equal(log_lines(f), 8);
	assert_int_equal(log_count(f, "\"event\":\"made\""), 2);
	assert_int_equal(log_count(f, "\"file\":\"2049:1\""), 1);
	assert_int_equal(log_count(f, "\"file\":\"2049:2\""), 1);
	assert_int_equal(log_count(f, "\"event\":\"batch\""), 1);
	assert_int_equal(log_count(f, "\"batch\":\""), 5);
	assert_true(log_has(f, "\"index\":4,"));
	assert_true(log_has(f, "\"event\":\"check\""));
	assert_false(g_create_before_durable);       /* always: the decisions synced first */
	assert_log_verifies(f);
	/* the same batch again: a replay, refused whole, nothing made */
	ask_batch(f, &alice, &req, nonce, a);
	assert_int_equal(a->status, LB_E_REPLAY);
	assert_int_equal(a->n, 0);
	assert_int_equal(fs_state.creates, 2);
	assert_log_verifies(f);
	lb_buf_free(&req);
	free(a);
}

static void
test_batch_is_refused_whole_for_key_clock_signature_and_audit(void **state)
{
	struct fx *f = *state;
	static const struct bentry e[] = {
		{ LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/a", "/srv/alice/t" },
	};
	uint8_t nonce[LB_NONCE_BYTES];
	struct banswer *a = malloc(sizeof(*a));
	struct lb_buf req;

	(void)state;
	assert_non_null(a);
	/* bob's key, alice's connection */
	make_batch(&req, e, 1, NOW, f->bob_pk, f->bob_sk, nonce);
	ask_batch(f, &alice, &req, nonce, a);
	assert_int_equal(a->status, LB_E_KEY_UNKNOWN);
	assert_int_equal(a->n, 0);
	lb_buf_free(&req);
	/* stale */
	make_batch(&req, e, 1, NOW - 3600, f->alice_pk, f->alice_sk, nonce);
	ask_batch(f, &alice, &req, nonce, a);
	assert_int_equal(a->status, LB_E_STALE);
	lb_buf_free(&req);
	/* a flipped signature bit */
	make_batch(&req, e, 1, NOW, f->alice_pk, f->alice_sk, nonce);
	req.data[req.len - 1] ^= 1;
	ask_batch(f, &alice, &req, nonce, a);
	assert_int_equal(a->status, LB_E_SIG);
	lb_buf_free(&req);
	assert_int_equal(fs_state.creates, 0);
	assert_log_verifies(f);
	/* the log cannot be written: refused, nothing made */
	f->log.fail = 1;
	make_batch(&req, e, 1, NOW, f->alice_pk, f->alice_sk, nonce);
	ask_batch(f, &alice, &req, nonce, a);
	assert_int_equal(a->status, LB_E_AUDIT);
	assert_int_equal(a->n, 0);
	assert_int_equal(fs_state.creates, 0);
	f->log.fail = 0;
	lb_buf_free(&req);
	free(a);
}

/* requests_per_sec 200, burst 400: every link counts; a batch is
 * admitted whole while a token is left, and owes the rest. */
static void
test_batch_counts_every_link_against_the_rate(void **state)
{
	struct fx *f = *state;
	static struct bentry e[LB_BATCH_MAX];
	static char links[LB_BATCH_MAX][32];
	uint8_t nonce[LB_NONCE_BYTES];
	struct banswer *a = malloc(sizeof(*a));
	struct lb_buf req;
	struct answer one;
	size_t i;
	int k;

	(void)state;
	assert_non_null(a);
	for (k = 0; k < 3; k++) {
		for (i = 0; i < LB_BATCH_MAX; i++) {
			snprintf(links[i], sizeof(links[i]), "/srv/alice/r%d-%zu", k, i);
			e[i] = (struct bentry){ LB_MSG_CHECK, LB_KIND_SYMLINK, links[i], "/srv/alice/t" };
		}
		make_batch(&req, e, LB_BATCH_MAX, NOW, f->alice_pk, f->alice_sk, nonce);
		ask_batch(f, &alice, &req, nonce, a);
		if (k < 2) {
			/* 400 tokens: 256, then 144 left (256 taken, 112 owed) */
			assert_int_equal(a->busy, 0);
			assert_int_equal(a->n, LB_BATCH_MAX);
		} else {
			assert_int_equal(a->busy, 1);
			assert_int_equal(a->status, LB_E_RATE);
		}
		lb_buf_free(&req);
	}
	/* the debt holds the next single request back too */
	make_req(&req, LB_MSG_STATUS, LB_KIND_NONE, "", "", NOW, f->alice_pk, f->alice_sk, nonce);
	assert_int_equal(ask(f, &alice, &req, nonce, &one), LB_OK);
	assert_int_equal(one.status, LB_E_RATE);
	assert_true(one.retry_ms > 500);   /* 113 tokens at 200 a second */
	lb_buf_free(&req);
	free(a);
}

/* Creates that fail: their second records in one write, each answered
 * with its failure; the log proves the rest. */
static void
test_batch_failed_creates_are_recorded_and_answered(void **state)
{
	struct fx *f = *state;
	static const struct bentry e[] = {
		{ LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/x1", "/srv/alice/t" },
		{ LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/x2", "/srv/alice/t" },
	};
	uint8_t nonce[LB_NONCE_BYTES];
	struct banswer *a = malloc(sizeof(*a));
	struct lb_buf req;

	(void)state;
	assert_non_null(a);
	fs_state.create_rc = LB_E_EXISTS;
	make_batch(&req, e, 2, NOW, f->alice_pk, f->alice_sk, nonce);
	ask_batch(f, &alice, &req, nonce, a);
	assert_int_equal(a->status, LB_OK);
	assert_int_equal(a->st[0], LB_E_EXISTS);
	assert_int_equal(a->st[1], LB_E_EXISTS);
	assert_int_equal(a->verdict[0], LB_VERDICT_DENY);
	assert_int_equal(log_lines(f), 5);   /* batch, 2 decisions, 2 failures */
	assert_int_equal(log_count(f, "\"verdict\":\"failed\""), 2);
	assert_log_verifies(f);
	fs_state.create_rc = LB_OK;
	lb_buf_free(&req);
	free(a);
}

/* What syslog / journald / the Event Log get: one event per record, its
 * id from the verdict and event, the record's own fields and seq. */
static void
test_events_carry_each_records_id_and_fields(void **state)
{
	struct fx *f = *state;
	struct lb_buf req;
	struct answer a;
	const struct ev_copy *e;

	g_n_ev = 0;
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/sub/l", "../t", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	lb_buf_free(&req);
	assert_int_equal(g_n_ev, 1);
	e = &g_ev[0];
	assert_int_equal(e->id, LB_EVENT_CREATED);
	assert_int_equal(e->id, 1000);   /* the Windows Event ID: never renumbered */
	assert_string_equal(e->event, "create");
	assert_string_equal(e->verdict, "allowed");
	assert_string_equal(e->user, "alice");
	assert_string_equal(e->sid, "1000");
	assert_string_equal(e->kind, "symlink");
	assert_string_equal(e->link, "/srv/alice/sub/l");
	assert_string_equal(e->target, "../t");
	assert_string_equal(e->rule, "dev");
	assert_int_equal(e->error, 0);
	assert_int_equal(e->seq, 1);
	assert_non_null(strstr(e->text, "uid:1000 create allowed: "));

	/* Allowed, then the file system says no: CREATED, then FAILED. */
	fs_state.create_rc = LB_E_EXISTS;
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/alice/l2", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	lb_buf_free(&req);
	fs_state.create_rc = LB_OK;
	assert_int_equal(g_n_ev, 3);
	assert_int_equal(g_ev[1].id, LB_EVENT_CREATED);
	assert_int_equal(g_ev[1].seq, 3);   /* 2 is the first link's "made" record: no event */
	e = &g_ev[2];
	assert_int_equal(e->id, LB_EVENT_FAILED);
	assert_string_equal(e->verdict, "failed");
	assert_string_equal(e->link, "/srv/alice/l2");
	assert_int_equal(e->error, LB_E_EXISTS);
	assert_int_equal(e->seq, 4);

	/* Denied by the policy: no rule lets alice link there. */
	make_req(&req, LB_MSG_CREATE, LB_KIND_SYMLINK, "/srv/bob/l", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	lb_buf_free(&req);
	assert_int_equal(g_n_ev, 4);
	e = &g_ev[3];
	assert_int_equal(e->id, LB_EVENT_DENIED);
	assert_int_equal(e->id, 2000);
	assert_string_equal(e->verdict, "denied");
	assert_string_equal(e->link, "/srv/bob/l");
	assert_int_equal(e->error, LB_E_DENIED);
	assert_int_equal(e->seq, 5);

	/* A dry run answered yes. */
	make_req(&req, LB_MSG_CHECK, LB_KIND_SYMLINK, "/srv/alice/l3", "/opt/x", NOW,
	    f->alice_pk, f->alice_sk, NULL);
	assert_int_equal(ask(f, &alice, &req, NULL, &a), LB_OK);
	lb_buf_free(&req);
	assert_int_equal(g_n_ev, 5);
	assert_int_equal(g_ev[4].id, LB_EVENT_ANSWERED);
	assert_string_equal(g_ev[4].event, "check");
}

/* The broker's own events: the audit log failing and working again. */
static void
test_audit_failure_events_have_their_ids(void **state)
{
	struct fx *f = *state;

	g_n_ev = 0;
	f->log.fail = 1;
	ask_each_second(f, NOW, 1, LB_E_AUDIT);
	assert_int_equal(g_n_ev, 1);
	assert_int_equal(g_ev[0].id, LB_EVENT_AUDIT_FAILED);
	assert_int_equal(g_ev[0].id, 5000);
	assert_string_equal(g_ev[0].event, "(null)");   /* no record of its own */
	f->log.fail = 0;
	ask_each_second(f, NOW + 1, 1, LB_OK);
	assert_int_equal(g_ev[1].id, LB_EVENT_AUDIT_RESTORED);
	assert_int_equal(g_ev[2].id, LB_EVENT_CREATED);
}

/* ---- list and remove (linkbroker list / rm) ---- */

/* Line N (1-based) of the log, NUL-terminated in OUT (cut to CAP). */
static void
log_line(const struct fx *f, int n, char *out, size_t cap)
{
	size_t i = 0, j;

	for (; n > 1 && i < f->log.buf.len; i++)
		n -= f->log.buf.data[i] == '\n';
	for (j = 0; i < f->log.buf.len && f->log.buf.data[i] != '\n' && j + 1 < cap; i++, j++)
		out[j] = (char)f->log.buf.data[i];
	out[j] = '\0';
}

/* Line N of the log holds NEEDLE. */
static void
assert_line_has(const struct fx *f, int n, const char *needle)
{
	char line[8192];

	log_line(f, n, line, sizeof(line));
	if (strstr(line, needle) == NULL)
		fail_msg("record %d lacks %s: %s", n, needle, line);
}

/* A policy with the fixture's two keys and RULES. */
static struct lb_policy *
policy_with(const struct fx *f, const char *rules)
{
	char a[LB_PK_B64_LEN], b64[LB_PK_B64_LEN], text[2048];
	struct lb_policy *p = NULL;

	assert_int_equal(lb_pk_to_b64(f->alice_pk, a), LB_OK);
	assert_int_equal(lb_pk_to_b64(f->bob_pk, b64), LB_OK);
	snprintf(text, sizeof(text),
	    "[broker]\naudit_sync = always\nrequests_per_sec = 200\nrequests_burst = 400\n"
	    "[key:alice]\nuser = alice\npublic_key = %s\n"
	    "[key:bob]\nuser = bob\npublic_key = %s\n%s", a, b64, rules);
	assert_int_equal(lb_policy_load_buffer("r.ini", text, strlen(text), LB_FLAVOR_POSIX, &p, NULL),
	    LB_OK);
	return p;
}

static const char dev_rule[] = "[rule:dev]\nusers = alice\nkinds = *\nlink_under = /srv/alice\n"
    "target_under = /srv/alice, /opt\naction = allow\n";

/* A request of TYPE (kind KIND) from PEER (alice or bob, with their keys). */
static void
send_as(struct fx *f, const struct lb_peer *peer, uint8_t type, enum lb_kind kind,
    const char *link, const char *target, struct answer *a)
{
	const int is_bob = peer == &bob;
	uint8_t nonce[LB_NONCE_BYTES];
	struct lb_buf req;

	make_req(&req, type, kind, link, target, ask_now, is_bob ? f->bob_pk : f->alice_pk,
	    is_bob ? f->bob_sk : f->alice_sk, nonce);
	assert_int_equal(ask(f, peer, &req, nonce, a), LB_OK);
	lb_buf_free(&req);
}

static void
create_as_alice(struct fx *f, const char *link, const char *target)
{
	struct answer a;

	send_as(f, &alice, LB_MSG_CREATE, LB_KIND_SYMLINK, link, target, &a);
	assert_int_equal(a.status, LB_OK);
}

static void
remove_as(struct fx *f, const struct lb_peer *peer, const char *link, struct answer *a)
{
	send_as(f, peer, LB_MSG_REMOVE, LB_KIND_NONE, link, "", a);
}

/* A list answer: its whole page (the answer's message) and cursor. */
struct page {
	int status, verdict;
	char cursor[32];
	char text[LB_LIST_PAGE_MAX + 1];
	size_t len;
};

/* One list page of PEER's links under PREFIX ("" anywhere) after CURSOR ("" first). */
static void
list_as(struct fx *f, const struct lb_peer *peer, const char *prefix, const char *cursor,
    struct page *pg)
{
	const int is_bob = peer == &bob;
	uint8_t nonce[LB_NONCE_BYTES];
	struct lb_response resp;
	struct lb_buf req, out;
	const uint8_t *msg;
	size_t mlen, used, blen;

	make_req(&req, LB_MSG_LIST, LB_KIND_NONE, prefix, cursor, ask_now,
	    is_bob ? f->bob_pk : f->alice_pk, is_bob ? f->bob_sk : f->alice_sk, nonce);
	lb_buf_init(&out, LB_FRAME_MAX + 4);
	assert_int_equal(lb_broker_handle(f->b, peer, req.data, req.len, ask_now, &out), LB_OK);
	assert_int_equal(lb_frame_parse(out.data, out.len, &msg, &mlen, &used), LB_OK);
	assert_int_equal(used, out.len);
	assert_false(lb_msg_is_busy(msg, mlen));
	assert_int_equal(lb_response_decode(msg, mlen, &resp, &blen), LB_OK);
	assert_int_equal(lb_response_verify(&resp, f->svc_pk), LB_OK);
	assert_memory_equal(resp.nonce, nonce, LB_NONCE_BYTES);
	memset(pg, 0, sizeof(*pg));
	pg->status = resp.status;
	pg->verdict = resp.verdict;
	assert_true(resp.rule_len < sizeof(pg->cursor));
	memcpy(pg->cursor, resp.rule, resp.rule_len);
	assert_true(resp.message_len <= LB_LIST_PAGE_MAX || resp.status != LB_OK);
	pg->len = resp.message_len < LB_LIST_PAGE_MAX ? resp.message_len : LB_LIST_PAGE_MAX;
	memcpy(pg->text, resp.message, pg->len);
	lb_buf_free(&out);
	lb_buf_free(&req);
}

static void
test_list_shows_the_link_made_with_its_identity(void **state)
{
	struct fx *f = *state;
	struct page page, *pg = &page;

	create_as_alice(f, "/srv/alice/sub/l", "../t");
	list_as(f, &alice, "", "", pg);
	assert_int_equal(pg->status, LB_OK);
	assert_int_equal(pg->verdict, LB_VERDICT_ALLOW);
	assert_string_equal(pg->cursor, "");   /* the last page */
	/* seq: its "made" record (the decision is record 1) */
	assert_string_equal(pg->text, "{\"seq\":2,\"time\":\"2025-11-25T19:46:40Z\",\"kind\":\"symlink\","
	    "\"link\":\"/srv/alice/sub/l\",\"target\":\"../t\",\"file\":\"2049:1\"}\n");
	assert_int_equal(log_lines(f), 3);
	assert_line_has(f, 3, "\"event\":\"list\",\"verdict\":\"allowed\"");
	assert_line_has(f, 3, "\"reason\":\"listed 1 links\"");
	/* bob's list does not show alice's link */
	list_as(f, &bob, "", "", pg);
	assert_int_equal(pg->status, LB_OK);
	assert_int_equal(pg->len, 0);
	assert_string_equal(pg->cursor, "");
	assert_line_has(f, 4, "\"reason\":\"listed 0 links\"");
	assert_log_verifies(f);
}

static void
test_list_prefix_by_components_and_bad_cursors(void **state)
{
	static const char *const bad[] = { "01", "x", "-1", "1 ", "18446744073709551616" };
	struct fx *f = *state;
	struct page page, *pg = &page;
	size_t i;

	create_as_alice(f, "/srv/alice/a/l", "/opt/x");
	list_as(f, &alice, "/srv/alice/b", "", pg);
	assert_int_equal(pg->status, LB_OK);
	assert_int_equal(pg->len, 0);
	assert_string_equal(pg->cursor, "");
	list_as(f, &alice, "/srv/alic", "", pg);   /* whole components only */
	assert_int_equal(pg->status, LB_OK);
	assert_int_equal(pg->len, 0);
	list_as(f, &alice, "/srv/alice/a", "", pg);
	assert_int_equal(pg->status, LB_OK);
	assert_non_null(strstr(pg->text, "\"link\":\"/srv/alice/a/l\""));
	list_as(f, &alice, "/srv/alice/./a/", "0", pg);   /* canonicalised; "0" is a cursor */
	assert_int_equal(pg->status, LB_OK);
	assert_non_null(strstr(pg->text, "\"link\":\"/srv/alice/a/l\""));
	list_as(f, &alice, "", "2", pg);                    /* past its only link */
	assert_int_equal(pg->status, LB_OK);
	assert_int_equal(pg->len, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		list_as(f, &alice, "", bad[i], pg);
		assert_int_equal(lb_exit_code(pg->status), LB_EXIT_BAD_INPUT);
		assert_int_equal(pg->verdict, LB_VERDICT_DENY);
		assert_string_equal(pg->cursor, "");
	}
	/* a link's name is a JSON string in the line, escaped */
	create_as_alice(f, "/srv/alice/b/q\"\\\xc3\xa9", "/opt/x");
	list_as(f, &alice, "/srv/alice/b", "", pg);
	assert_int_equal(pg->status, LB_OK);
	assert_non_null(strstr(pg->text, "\"link\":\"/srv/alice/b/q\\\"\\\\\xc3\xa9\","));
	list_as(f, &alice, "srv/alice", "", pg);            /* a prefix must be absolute */
	assert_int_equal(lb_exit_code(pg->status), LB_EXIT_BAD_INPUT);
	assert_int_equal(pg->verdict, LB_VERDICT_DENY);
	assert_log_verifies(f);
}

/* 300 links with long names, made in two batches: their list takes
 * several pages, followed by cursor, each link once and in order. */
static void
test_list_pages_follow_the_cursor_to_the_end(void **state)
{
	enum { N = 300, PER = 150 };
	struct fx *f = *state;
	struct page *pg = malloc(sizeof(*pg));
	struct bentry *e = calloc(PER, sizeof(*e));
	char (*names)[200] = calloc(N, sizeof(*names));
	int *seen = calloc(N, sizeof(*seen));
	struct banswer *ba = malloc(sizeof(*ba));
	uint8_t nonce[LB_NONCE_BYTES];
	char cursor[32] = "";
	unsigned long long last = 0;
	struct lb_buf req;
	int pages = 0;
	size_t i, k;

	assert_true(pg != NULL && e != NULL && names != NULL && seen != NULL && ba != NULL);
	for (i = 0; i < N; i++)
		snprintf(names[i], sizeof(names[i]), "/srv/alice/%03zu-%0150d", i, 0);
	for (k = 0; k < N; k += PER) {
		for (i = 0; i < PER; i++)
			e[i] = (struct bentry){ LB_MSG_CREATE, LB_KIND_SYMLINK, names[k + i], "/opt/x" };
		make_batch(&req, e, PER, ask_now, f->alice_pk, f->alice_sk, nonce);
		ask_batch(f, &alice, &req, nonce, ba);
		assert_int_equal(ba->status, LB_OK);
		for (i = 0; i < PER; i++)
			assert_int_equal(ba->st[i], LB_OK);
		lb_buf_free(&req);
	}
	assert_int_equal(fs_state.creates, N);
	do {
		const char *l;

		list_as(f, &alice, "", cursor, pg);
		assert_int_equal(pg->status, LB_OK);
		assert_true(pg->len <= LB_LIST_PAGE_MAX);
		assert_true(pg->len > 0);
		pages++;
		for (l = pg->text; *l != '\0'; l = strchr(l, '\n') + 1) {
			unsigned long long seq;
			const char *link = strstr(l, "\"link\":\"/srv/alice/");

			assert_int_equal(sscanf(l, "{\"seq\":%llu,", &seq), 1);
			assert_true(seq > last);   /* in the order they were made */
			last = seq;
			assert_non_null(link);
			i = strtoul(link + strlen("\"link\":\"/srv/alice/"), NULL, 10);
			assert_true(i < N);
			assert_int_equal(strncmp(link + strlen("\"link\":\""), names[i], strlen(names[i])), 0);
			seen[i]++;
			assert_non_null(strchr(l, '\n'));
		}
		if (pg->cursor[0] != '\0')
			assert_int_equal(strtoull(pg->cursor, NULL, 10), last);   /* the page's last */
		snprintf(cursor, sizeof(cursor), "%s", pg->cursor);
		assert_true(pages < 100);
	} while (cursor[0] != '\0');
	assert_true(pages >= 2);
	for (i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(log_count(f, "\"event\":\"list\""), pages);
	assert_true(log_has(f, "; more on the next page\""));
	assert_log_verifies(f);
	free(ba);
	free(seen);
	free(names);
	free(e);
	free(pg);
}

static void
test_remove_of_a_link_made_removes_it_once(void **state)
{
	struct fx *f = *state;
	struct page page, *pg = &page;
	struct answer a;

	create_as_alice(f, "/srv/alice/l", "/opt/x");
	remove_as(f, &alice, "/srv/alice/l", &a);
	assert_int_equal(a.status, LB_OK);
	assert_int_equal(a.verdict, LB_VERDICT_ALLOW);
	assert_string_equal(a.message, "symbolic link removed for /srv/alice/l <<===>> /opt/x");
	assert_int_equal(fs_state.unlinks, 1);
	assert_string_equal(fs_state.unlink_name, "l");
	assert_int_equal(fs_state.unlink_kind, LB_KIND_SYMLINK);
	assert_string_equal(fs_state.unlink_file, "2049:1");
	/* create, made, then the remove decided on what was made, and done */
	assert_int_equal(log_lines(f), 4);
	assert_line_has(f, 3, "\"event\":\"remove\",\"verdict\":\"allowed\"");
	assert_line_has(f, 3, "\"kind\":\"symlink\",\"link\":\"/srv/alice/l\",\"target\":\"/opt/x\"");
	assert_line_has(f, 3, "\"rule\":\"dev\"");
	assert_line_has(f, 4, "\"event\":\"removed\",\"verdict\":\"allowed\"");
	assert_line_has(f, 4, "\"reason\":\"removed as decided in record 3\"");
	assert_line_has(f, 4, "\"file\":\"2049:1\"");
	list_as(f, &alice, "", "", pg);
	assert_int_equal(pg->status, LB_OK);
	assert_int_equal(pg->len, 0);
	/* again: nothing the broker made is there any more */
	remove_as(f, &alice, "/srv/alice/l", &a);
	assert_int_equal(a.status, LB_E_NOT_MADE);
	assert_int_equal(a.verdict, LB_VERDICT_DENY);
	assert_int_equal(fs_state.unlinks, 1);
	assert_line_has(f, 6, "\"event\":\"remove\",\"verdict\":\"denied\"");
	assert_line_has(f, 6, "\"error\":-91");
	assert_log_verifies(f);
}

static void
test_remove_of_another_users_link_is_not_made(void **state)
{
	struct fx *f = *state;
	struct page page, *pg = &page;
	struct answer a;

	create_as_alice(f, "/srv/alice/l", "/opt/x");
	remove_as(f, &bob, "/srv/alice/l", &a);
	assert_int_equal(a.status, LB_E_NOT_MADE);
	assert_int_equal(a.verdict, LB_VERDICT_DENY);
	assert_int_equal(fs_state.unlinks, 0);
	assert_line_has(f, 3, "\"event\":\"remove\",\"verdict\":\"denied\",\"user\":\"bob\"");
	list_as(f, &alice, "", "", pg);
	assert_non_null(strstr(pg->text, "\"link\":\"/srv/alice/l\""));
	assert_log_verifies(f);
}

static void
test_remove_the_policy_no_longer_allows_is_denied(void **state)
{
	struct fx *f = *state;
	struct page page, *pg = &page;
	struct answer a;

	create_as_alice(f, "/srv/alice/l", "/opt/x");
	create_as_alice(f, "/srv/alice/m", "/srv/alice/t");
	/* /opt is no longer a place alice may link to */
	assert_int_equal(lb_broker_set_policy(f->b, policy_with(f,
	    "[rule:dev]\nusers = alice\nkinds = *\nlink_under = /srv/alice\n"
	    "target_under = /srv/alice\naction = allow\n"
	    "[rule:no-opt]\nusers = alice\nkinds = *\nlink_under = /srv/alice\n"
	    "target_under = /opt\naction = deny\n")), LB_OK);
	remove_as(f, &alice, "/srv/alice/l", &a);
	assert_int_equal(a.status, LB_E_DENIED);
	assert_int_equal(a.verdict, LB_VERDICT_DENY);
	assert_string_equal(a.rule, "no-opt");
	assert_int_equal(fs_state.unlinks, 0);
	assert_line_has(f, 5, "\"event\":\"remove\",\"verdict\":\"denied\"");
	assert_line_has(f, 5, "\"kind\":\"symlink\",\"link\":\"/srv/alice/l\",\"target\":\"/opt/x\"");
	list_as(f, &alice, "", "", pg);
	assert_non_null(strstr(pg->text, "\"link\":\"/srv/alice/l\""));
	/* the other one the policy still allows */
	remove_as(f, &alice, "/srv/alice/m", &a);
	assert_int_equal(a.status, LB_OK);
	assert_int_equal(fs_state.unlinks, 1);
	/* no rule at all now */
	assert_int_equal(lb_broker_set_policy(f->b, policy_with(f, "")), LB_OK);
	remove_as(f, &alice, "/srv/alice/l", &a);
	assert_int_equal(a.status, LB_E_DENIED);
	assert_int_equal(fs_state.unlinks, 1);
	assert_log_verifies(f);
}

static void
test_remove_of_a_changed_link_fails_and_keeps_it(void **state)
{
	struct fx *f = *state;
	struct page page, *pg = &page;
	struct answer a;

	create_as_alice(f, "/srv/alice/l", "/opt/x");
	fs_state.unlink_rc = LB_E_CHANGED;
	remove_as(f, &alice, "/srv/alice/l", &a);
	assert_int_equal(a.status, LB_E_CHANGED);
	assert_int_equal(a.verdict, LB_VERDICT_DENY);
	assert_int_equal(fs_state.unlinks, 1);
	assert_int_equal(log_lines(f), 4);
	assert_line_has(f, 3, "\"event\":\"remove\",\"verdict\":\"allowed\"");
	assert_line_has(f, 4, "\"event\":\"remove\",\"verdict\":\"failed\"");
	assert_line_has(f, 4, "\"error\":-89");
	assert_false(log_has(f, "\"event\":\"removed\""));
	list_as(f, &alice, "", "", pg);
	assert_non_null(strstr(pg->text, "\"link\":\"/srv/alice/l\""));
	/* it can be tried again */
	fs_state.unlink_rc = LB_OK;
	remove_as(f, &alice, "/srv/alice/l", &a);
	assert_int_equal(a.status, LB_OK);
	assert_int_equal(fs_state.unlinks, 2);
	assert_log_verifies(f);
}

/* The log the broker wrote, at PATH. */
static void
write_log(const struct fx *f, const char *path, size_t from, size_t to)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(f->log.buf.data + from, 1, to - from, fp), to - from);
	assert_int_equal(fclose(fp), 0);
}

static void
test_index_is_rebuilt_from_the_log(void **state)
{
	struct fx *f = *state;
	struct page pages[2], *before = &pages[0], *after = &pages[1];
	struct lb_broker *b2, *mine = f->b;
	char path[96], rotated[104];
	struct answer a;
	size_t links, half = 0, i;
	int lines;

	create_as_alice(f, "/srv/alice/l1", "/opt/x");
	create_as_alice(f, "/srv/alice/l2", "/srv/alice/t");
	create_as_alice(f, "/srv/alice/l3", "t");
	remove_as(f, &alice, "/srv/alice/l2", &a);
	assert_int_equal(a.status, LB_OK);
	list_as(f, &alice, "", "", before);
	assert_int_equal(before->status, LB_OK);
	assert_null(strstr(before->text, "/srv/alice/l2"));
	snprintf(path, sizeof(path), "%s.idx", f->logname);
	write_log(f, path, 0, f->log.buf.len);
	assert_int_equal(lb_broker_new(policy_with(f, dev_rule), f->svc_sk, f->audit, &fake_ops, &b2),
	    LB_OK);
	assert_int_equal(lb_broker_load_index(b2, path, &links), LB_OK);
	assert_int_equal(links, 2);
	f->b = b2;
	list_as(f, &alice, "", "", after);
	f->b = mine;
	lb_broker_free(b2);
	assert_int_equal(after->status, LB_OK);
	assert_string_equal(after->text, before->text);
	/* the same from a rotated set: the older half in PATH.1 */
	for (i = 0, lines = 0; i < f->log.buf.len && lines < 4; i++)
		if (f->log.buf.data[i] == '\n' && ++lines == 4)
			half = i + 1;
	assert_true(half > 0);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	write_log(f, rotated, 0, half);
	write_log(f, path, half, f->log.buf.len);
	assert_int_equal(lb_broker_new(policy_with(f, dev_rule), f->svc_sk, f->audit, &fake_ops, &b2),
	    LB_OK);
	assert_int_equal(lb_broker_load_index(b2, path, &links), LB_OK);
	assert_int_equal(links, 2);
	f->b = b2;
	list_as(f, &alice, "", "", after);
	/* and what was loaded can be removed */
	remove_as(f, &alice, "/srv/alice/l3", &a);
	assert_int_equal(a.status, LB_OK);
	assert_string_equal(fs_state.unlink_file, "2049:3");
	f->b = mine;
	lb_broker_free(b2);
	assert_string_equal(after->text, before->text);
	/* no log at all: nothing, and not an error */
	remove(rotated);
	remove(path);
	assert_int_equal(lb_broker_new(policy_with(f, dev_rule), f->svc_sk, f->audit, &fake_ops, &b2),
	    LB_OK);
	assert_int_equal(lb_broker_load_index(b2, path, &links), LB_OK);
	assert_int_equal(links, 0);
	lb_broker_free(b2);
	assert_log_verifies(f);
}

/* Whether alice's list (TYPE LB_MSG_LIST) or remove of LINK is answered
 * busy. */
static int
answered_busy(struct fx *f, uint8_t type, const char *link)
{
	uint8_t nonce[LB_NONCE_BYTES];
	struct lb_buf req, out;
	const uint8_t *msg;
	size_t mlen, used;
	int busy;

	make_req(&req, type, LB_KIND_NONE, link, "", ask_now, f->alice_pk, f->alice_sk, nonce);
	lb_buf_init(&out, LB_FRAME_MAX + 4);
	assert_int_equal(lb_broker_handle(f->b, &alice, req.data, req.len, ask_now, &out), LB_OK);
	assert_int_equal(lb_frame_parse(out.data, out.len, &msg, &mlen, &used), LB_OK);
	busy = lb_msg_is_busy(msg, mlen);
	lb_buf_free(&out);
	lb_buf_free(&req);
	return busy;
}

/* Start-up reads the index on a thread while the broker serves: list and
 * remove are busy until the read is taken in (by a tick), and the links
 * made meanwhile are kept with those read. */
static void
test_index_read_in_the_background_keeps_links_made_meanwhile(void **state)
{
	struct fx *f = *state;
	struct page page, *pg = &page;
	struct lb_index_job *j;
	struct lb_broker *b2, *mine = f->b;
	char path[96];

	create_as_alice(f, "/srv/alice/old", "/opt/x");
	snprintf(path, sizeof(path), "%s.bg", f->logname);
	write_log(f, path, 0, f->log.buf.len);
	assert_int_equal(lb_broker_new(policy_with(f, dev_rule), f->svc_sk, f->audit, &fake_ops, &b2),
	    LB_OK);
	assert_int_equal(lb_broker_index_begin(b2, path, &j), LB_OK);
	assert_false(lb_broker_index_ready(b2));
	f->b = b2;
	assert_true(answered_busy(f, LB_MSG_LIST, ""));
	assert_true(answered_busy(f, LB_MSG_REMOVE, "/srv/alice/old"));
	assert_int_equal(fs_state.unlinks, 0);
	create_as_alice(f, "/srv/alice/new", "/opt/y");   /* made while the log is read */
	lb_index_job_run(j);
	assert_false(lb_broker_index_ready(b2));   /* taken in by the broker's thread only */
	lb_broker_tick(b2, NOW);
	assert_true(lb_broker_index_ready(b2));
	list_as(f, &alice, "", "", pg);
	assert_int_equal(pg->status, LB_OK);
	assert_non_null(strstr(pg->text, "\"link\":\"/srv/alice/old\""));
	assert_non_null(strstr(pg->text, "\"link\":\"/srv/alice/new\""));
	assert_true(strstr(pg->text, "/srv/alice/old") < strstr(pg->text, "/srv/alice/new"));
	f->b = mine;
	lb_broker_free(b2);
	remove(path);
	/* a broker freed while its read still runs: the read frees the job */
	assert_int_equal(lb_broker_new(policy_with(f, dev_rule), f->svc_sk, f->audit, &fake_ops, &b2),
	    LB_OK);
	write_log(f, path, 0, f->log.buf.len);
	assert_int_equal(lb_broker_index_begin(b2, path, &j), LB_OK);
	lb_broker_free(b2);
	lb_index_job_run(j);
	remove(path);
	assert_log_verifies(f);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_batch_decides_each_entry_signs_once_and_records_each),
		T(test_batch_is_refused_whole_for_key_clock_signature_and_audit),
		T(test_batch_counts_every_link_against_the_rate),
		T(test_batch_failed_creates_are_recorded_and_answered),
		T(test_events_carry_each_records_id_and_fields),
		T(test_audit_failure_events_have_their_ids),
		T(test_allowed_create_makes_the_link_audits_and_answers),
		T(test_relative_target_is_decided_where_it_leads),
		T(test_check_decides_without_creating),
		T(test_planted_parent_link_is_decided_on_its_final_path),
		T(test_key_enrolled_for_another_user_is_refused),
		T(test_key_enrolled_for_a_qualified_name_matches_only_that_domain),
		T(test_unknown_key_is_refused),
		T(test_tampered_signature_is_refused),
		T(test_replayed_request_is_refused),
		T(test_replay_cache_survives_restart_through_remember),
		T(test_replay_cache_is_capped_by_narrowing_the_window),
		T(test_timestamps_outside_the_window_are_refused),
		T(test_malformed_request_gets_an_answer_and_a_record),
		T(test_group_commit_one_sync_per_round),
		T(test_group_commit_failures_synced_before_answers),
		T(test_group_commit_without_flushes_is_still_durable_first),
		T(test_stepwise_with_precheck),
		T(test_reload_mid_request_keeps_its_policy),
		T(test_steps_out_of_order_are_refused),
		T(test_audit_failure_refuses_and_makes_nothing),
		T(test_audit_failure_said_once_a_minute_with_a_count),
		T(test_failed_sync_makes_nothing_and_answers_so),
		T(test_refused_long_paths_are_recorded_compactly),
		T(test_refused_records_bounded_per_identity),
		T(test_rate_limit_per_identity),
		T(test_unauthenticated_rejects_have_a_small_bounded_budget),
		T(test_status_from_unenrolled_keys_has_the_preauth_budget),
		T(test_rate_limit_recovers_when_the_clock_goes_back),
		T(test_rate_refusal_is_an_unsigned_busy_with_its_wait),
		T(test_spent_preauth_budget_refuses_unheard_until_it_refills),
		T(test_replay_floor_never_passes_now_nor_evicts_others),
		T(test_status_says_who_and_whether_enrolled),
		T(test_bad_paths_are_input_errors),
		T(test_existing_file_is_reported_as_failed),
		T(test_junction_gets_absolute_target_and_relative_is_floored),
		T(test_list_shows_the_link_made_with_its_identity),
		T(test_list_prefix_by_components_and_bad_cursors),
		T(test_list_pages_follow_the_cursor_to_the_end),
		T(test_remove_of_a_link_made_removes_it_once),
		T(test_remove_of_another_users_link_is_not_made),
		T(test_remove_the_policy_no_longer_allows_is_denied),
		T(test_remove_of_a_changed_link_fails_and_keeps_it),
		T(test_index_is_rebuilt_from_the_log),
		T(test_index_read_in_the_background_keeps_links_made_meanwhile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
