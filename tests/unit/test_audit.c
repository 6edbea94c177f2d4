/* Unit tests for lb_audit: the exact line an auditor reads, the hash chain
 * and what breaks it (every byte, removed, reordered and torn lines),
 * hostile strings, reopening, replay-cache rebuild, fail-closed writes,
 * and request signatures checked against a policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "lb_audit.h"
#include "lb_audit_cmd.h"
#include "lb_json.h"
#include "lb_sig.h"
#include "lb_wire.h"

#define T0 1795638667ULL   /* 2026-11-25T20:31:07Z */
#define ZEROS64 "0000000000000000000000000000000000000000000000000000000000000000"

/* ---- an in-memory log file ---- */

struct memio {
	struct lb_buf buf;
	int fail_appends;      /* fail this many appends from now on */
	int fail_syncs;
	unsigned appends, syncs;
};

static int
mem_append(void *ctx, const void *p, size_t n)
{
	struct memio *m = ctx;

	m->appends++;
	if (m->fail_appends > 0) {
		m->fail_appends--;
		return LB_E_IO;
	}
	return lb_buf_put(&m->buf, p, n) == LB_OK ? LB_OK : LB_E_IO;
}

static int
mem_sync(void *ctx)
{
	struct memio *m = ctx;

	m->syncs++;
	if (m->fail_syncs > 0) {
		m->fail_syncs--;
		return LB_E_IO;
	}
	return LB_OK;
}

static struct lb_audit_io
mem_io(struct memio *m)
{
	struct lb_audit_io io;

	memset(&io, 0, sizeof(io));
	io.ctx = m;
	io.append = mem_append;
	io.sync = mem_sync;
	return io;
}

static void
memio_init(struct memio *m)
{
	memset(m, 0, sizeof(*m));
	lb_buf_init(&m->buf, 64u * 1024 * 1024);
}

/* ---- files in the current (build) directory ---- */

/* A fresh name no other run or test uses. */
static const char *
tmp_path(char out[64])
{
	uint8_t r[8];

	lb_random(r, sizeof(r));
	snprintf(out, 64, "test_audit_%02x%02x%02x%02x%02x%02x%02x%02x.log",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
	return out;
}

static void
write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (n > 0)
		assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* The platform's side for a real file: append in binary mode. */
static int
file_append(void *ctx, const void *p, size_t n)
{
	FILE *f = fopen((const char *)ctx, "ab");
	int ok;

	if (f == NULL)
		return LB_E_IO;
	ok = fwrite(p, 1, n, f) == n;
	ok &= fclose(f) == 0;
	return ok ? LB_OK : LB_E_IO;
}

static int
file_size(void *ctx, uint64_t *size)
{
	FILE *f = fopen((const char *)ctx, "rb");
	long n;

	*size = 0;
	if (f == NULL)
		return LB_OK;     /* not made yet: empty */
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		fclose(f);
		return LB_E_IO;
	}
	fclose(f);
	*size = (uint64_t)n;
	return LB_OK;
}

static struct lb_audit_io
file_io(const char *path)
{
	struct lb_audit_io io;

	memset(&io, 0, sizeof(io));
	io.ctx = (void *)(uintptr_t)path;
	io.append = file_append;
	io.size = file_size;
	return io;
}

static void
read_file(const char *path, struct lb_buf *out)
{
	char blk[4096];
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	lb_buf_reset(out);
	while ((n = fread(blk, 1, sizeof(blk), f)) > 0)
		assert_int_equal(lb_buf_put(out, blk, n), LB_OK);
	fclose(f);
}

/* Verify the log bytes P[0..N): the result code; the message in MSG. */
static int
verify_bytes(const void *p, size_t n, const struct lb_policy *policy,
    char *msg, size_t msgcap, size_t *records)
{
	char path[64];
	struct lb_buf m;
	size_t got = 999;
	int rc;

	tmp_path(path);
	write_file(path, p, n);
	lb_buf_init(&m, 4096);
	rc = lb_audit_verify(path, policy, &m, &got);
	assert_int_equal(remove(path), 0);
	snprintf(msg, msgcap, "%.*s", (int)m.len, m.len > 0 ? (const char *)m.data : "");
	lb_buf_free(&m);
	if (rc == LB_OK) {
		/* Intact: at most a note per sealed crash. */
		const char *p2 = msg;

		while (*p2 != '\0') {
			assert_memory_equal(p2, "recovered crash at line ", 24);
			assert_non_null(p2 = strchr(p2, '\n'));
			p2++;
		}
	} else
		assert_true(msg[0] != '\0');    /* a failure always says what */
	if (records != NULL)
		*records = got;
	return rc;
}

static int
verify_buf(const struct lb_buf *b, const struct lb_policy *policy, char *msg,
    size_t msgcap, size_t *records)
{
	return verify_bytes(b->data, b->len, policy, msg, msgcap, records);
}

/* MSG starts with "LINE: ". */
static void
assert_names_line(const char *msg, size_t line)
{
	char want[32];

	snprintf(want, sizeof(want), "%zu: ", line);
	if (strncmp(msg, want, strlen(want)) != 0)
		fail_msg("expected a message about line %zu, got: %s", line, msg);
}

/* ---- records ---- */

static const struct lb_group sample_groups[] = {
	{ "developers", NULL, 0 },
	{ NULL, "S-1-5-32-545", 0 },
};

static void
sample_rec(struct lb_audit_rec *r, const char *link)
{
	memset(r, 0, sizeof(*r));
	r->event = "create";
	r->verdict = "allowed";
	r->user = "alice";
	r->sid = "1000";
	r->groups = sample_groups;
	r->n_groups = 2;
	r->kind = LB_KIND_SYMLINK;
	r->link = link;
	r->link_len = strlen(link);
	r->target = "/home/alice/t";
	r->target_len = strlen(r->target);
	r->link_resolved = link;
	r->target_resolved = "/home/alice/t";
	r->rule = "dev";
	r->reason = "";
	r->error = LB_OK;
	r->key_name = "alice";
}

/* A log of N records in M (opened fresh, closed). */
static void
make_log(struct memio *m, size_t n)
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;
	char link[64];
	size_t i;

	assert_int_equal(lb_audit_open(NULL, mem_io(m), 0, NULL, NULL, &a), LB_OK);
	for (i = 1; i <= n; i++) {
		snprintf(link, sizeof(link), "/home/alice/src/l%zu", i);
		sample_rec(&rec, link);
		assert_int_equal(lb_audit_append(a, &rec, T0 + i, 0), LB_OK);
	}
	lb_audit_close(a);
}

/* Offset of line K (1-based) in B, and its length with the newline. */
static size_t
line_at(const struct lb_buf *b, size_t k, size_t *len)
{
	size_t off = 0, i, line = 1;

	for (i = 0; i < b->len && line < k; i++)
		if (b->data[i] == '\n') {
			line++;
			off = i + 1;
		}
	assert_int_equal(line, k);
	for (i = off; i < b->len && b->data[i] != '\n'; i++)
		;
	*len = i - off + (i < b->len ? 1 : 0);
	return off;
}

static size_t
count_lines(const struct lb_buf *b)
{
	size_t i, n = 0;

	for (i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

static void
put_hex(uint8_t *dst, const uint8_t *h)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < LB_HASH_BYTES; i++) {
		dst[2 * i] = (uint8_t)hex[h[i] >> 4];
		dst[2 * i + 1] = (uint8_t)hex[h[i] & 0xF];
	}
}

/* Last occurrence of NEEDLE in P[0..N), or NULL. */
static uint8_t *
find_last(uint8_t *p, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = n >= k ? n - k + 1 : 0; i-- > 0;)
		if (memcmp(p + i, needle, k) == 0)
			return p + i;
	return NULL;
}

/* What someone with write access can do: recompute every prev and hash so
 * the chain is intact again after an edit. */
static void
rechain(struct lb_buf *b)
{
	uint8_t prev[LB_HASH_BYTES] = { 0 }, h[LB_HASH_BYTES];
	size_t off = 0, len;
	uint8_t *p, *q;

	while (off < b->len) {
		p = b->data + off;
		q = memchr(p, '\n', b->len - off);
		assert_non_null(q);
		len = (size_t)(q - p);
		q = find_last(p, len, ",\"prev\":\"");
		assert_non_null(q);
		put_hex(q + 9, prev);
		q = find_last(p, len, ",\"hash\":\"");
		assert_non_null(q);
		assert_int_equal(lb_hash(h, p, (size_t)(q - p)), LB_OK);
		put_hex(q + 9, h);
		memcpy(prev, h, LB_HASH_BYTES);
		off += len + 1;
	}
}

/* Replace the bytes [OFF, OFF+OLD) of B by NEW_[0..N). */
static void
splice(struct lb_buf *b, size_t off, size_t old, const void *new_, size_t n)
{
	struct lb_buf t;

	lb_buf_init(&t, b->max);
	assert_int_equal(lb_buf_put(&t, b->data, off), LB_OK);
	assert_int_equal(lb_buf_put(&t, new_, n), LB_OK);
	assert_int_equal(lb_buf_put(&t, b->data + off + old, b->len - off - old), LB_OK);
	lb_buf_reset(b);
	assert_int_equal(lb_buf_put(b, t.data, t.len), LB_OK);
	lb_buf_free(&t);
}

/* ---- signed requests ---- */

struct signer {
	uint8_t pk[LB_PK_BYTES];
	uint8_t sk[LB_SK_BYTES];
	char b64[LB_PK_B64_LEN];
};

static void
signer_new(struct signer *s)
{
	assert_int_equal(lb_sign_keypair(s->pk, s->sk), LB_OK);
	assert_int_equal(lb_pk_to_b64(s->pk, s->b64), LB_OK);
}

/* A signed request in MSG (body then signature); sets REC's request,
 * request_len, sig, kind, link and target from it. */
static void
signed_rec(struct lb_audit_rec *rec, struct lb_buf *msg, const struct signer *s,
    uint8_t type, const char *link, const char *target, uint64_t ts, uint8_t nonce)
{
	struct lb_request r;

	memset(&r, 0, sizeof(r));
	r.version = LB_WIRE_VERSION;
	r.type = type;
	r.kind = type == LB_MSG_STATUS ? LB_KIND_NONE : LB_KIND_SYMLINK;
	r.timestamp = ts;
	memset(r.nonce, nonce, LB_NONCE_BYTES);
	memcpy(r.key, s->pk, LB_PK_BYTES);
	r.link = link;
	r.link_len = link != NULL ? strlen(link) : 0;
	r.target = target;
	r.target_len = target != NULL ? strlen(target) : 0;
	assert_int_equal(lb_request_sign(&r, s->sk), LB_OK);
	lb_buf_init(msg, LB_FRAME_MAX);
	assert_int_equal(lb_request_encode(&r, msg), LB_OK);
	rec->kind = (enum lb_kind)r.kind;
	rec->link = link;
	rec->link_len = r.link_len;
	rec->target = target;
	rec->target_len = r.target_len;
	rec->request = msg->data;
	rec->request_len = msg->len - LB_SIG_BYTES;
	rec->sig = msg->data + rec->request_len;
}

static struct lb_policy *
policy_enrolling(const struct signer *s)
{
	struct lb_policy *p = NULL;
	struct lb_buf text, err;
	const char *msg = "";

	lb_buf_init(&text, 4096);
	lb_buf_init(&err, 4096);
	assert_int_equal(lb_buf_printf(&text,
	    "[key:alice]\nuser = alice\npublic_key = %s\n\n"
	    "[rule:dev]\nusers = alice\nkinds = symlink\n"
	    "link_under = /home/alice/src\ntarget_under = /home/alice\naction = allow\n",
	    s->b64), LB_OK);
	if (lb_policy_load_buffer("t.ini", (const char *)text.data, text.len,
	    LB_FLAVOR_POSIX, &p, &err) != LB_OK) {
		if (lb_buf_cstr(&err, &msg) != LB_OK)
			msg = "?";
		fail_msg("policy did not load: %s", msg);
	}
	lb_buf_free(&text);
	lb_buf_free(&err);
	return p;
}

static int
setup(void **state)
{
	(void)state;
	return lb_crypto_init() == LB_OK ? 0 : -1;
}

/* ---- the line ---- */

static void
test_line_is_exactly_the_documented_format(void **state)
{
	/* Hash: Python hashlib.blake2b(prefix, digest_size=32) of everything
	 * before ,"hash". */
	static const char expect[] =
	    "{\"seq\":1,\"time\":\"2026-11-25T20:31:07Z\",\"event\":\"create\","
	    "\"verdict\":\"allowed\",\"user\":\"alice\",\"sid\":\"1000\","
	    "\"groups\":[\"developers\",\"S-1-5-32-545\"],\"kind\":\"symlink\","
	    "\"link\":\"/home/alice/src/l\",\"target\":\"../t\\n\\u001b[31m\\udcc0\","
	    "\"link_resolved\":\"/home/alice/src/l\",\"target_resolved\":\"/home/alice/t\","
	    "\"rule\":\"dev\",\"reason\":\"\",\"error\":-51,\"key\":\"alice\","
	    "\"request\":\"AQID\",\"sig\":\"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6ur"
	    "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urqw==\","
	    "\"prev\":\"" ZEROS64 "\","
	    "\"hash\":\"5abc7839739c6e980f30e0461d33dcadbb68071d72f101207ec0ea5aedfe8ffc\"}\n";
	static const uint8_t req[] = { 1, 2, 3 };
	static const char target[] = "../t\n\x1b[31m\xc0";
	uint8_t sig[LB_SIG_BYTES], prev[LB_HASH_BYTES] = { 0 }, h[LB_HASH_BYTES];
	struct lb_audit_rec rec;
	struct lb_buf b;

	(void)state;
	memset(sig, 0xab, sizeof(sig));
	sample_rec(&rec, "/home/alice/src/l");
	rec.target = target;
	rec.target_len = sizeof(target) - 1;
	rec.error = LB_E_DENIED;
	rec.request = req;
	rec.request_len = sizeof(req);
	rec.sig = sig;
	lb_buf_init(&b, LB_AUDIT_LINE_MAX);
	assert_int_equal(lb_audit_format_line(&b, &rec, 1, T0, prev, h), LB_OK);
	assert_int_equal(b.len, sizeof(expect) - 1);
	assert_memory_equal(b.data, expect, b.len);
	lb_buf_free(&b);
}


static void
test_windows_groups_are_logged_with_their_domain(void **state)
{
	/* The names a Windows client's groups have (lb_token_win): DOMAIN\NAME,
	 * so that CORP\developers and OTHER\developers differ in the log. */
	static const struct lb_group groups[] = {
		{ "CORP\\developers", "S-1-5-21-1-2-3-1105", 0 },
		{ "BUILTIN\\Administrators", "S-1-5-32-544", 1 },
		{ "Everyone", "S-1-1-0", 0 },
		{ NULL, "S-1-5-21-1-2-3-2222", 0 },
	};
	uint8_t prev[LB_HASH_BYTES] = { 0 }, h[LB_HASH_BYTES];
	struct lb_audit_line l;
	struct lb_audit_rec rec;
	struct lb_buf b, d;
	const char *s, *why = NULL;

	(void)state;
	sample_rec(&rec, "C:\\work\\l");
	rec.user = "alice";
	rec.sid = "S-1-5-21-1-2-3-1001";
	rec.groups = groups;
	rec.n_groups = 4;
	lb_buf_init(&b, LB_AUDIT_LINE_MAX);
	lb_buf_init(&d, LB_AUDIT_LINE_MAX);
	lb_audit_line_init(&l);
	assert_int_equal(lb_audit_format_line(&b, &rec, 1, T0, prev, h), LB_OK);
	assert_int_equal(lb_buf_cstr(&b, &s), LB_OK);
	assert_non_null(strstr(s, "\"groups\":[\"CORP\\\\developers\",\"BUILTIN\\\\Administrators\","
	    "\"Everyone\",\"S-1-5-21-1-2-3-2222\"],"));
	assert_int_equal(lb_audit_line_parse(&l, s, b.len - 1, NULL), LB_OK);
	assert_int_equal(l.n_groups, 4);
	assert_int_equal(lb_json_unescape(l.groups[0].raw, l.groups[0].raw_len, &d, &why), LB_OK);
	assert_int_equal(d.len, strlen("CORP\\developers"));
	assert_memory_equal(d.data, "CORP\\developers", d.len);
	lb_audit_line_free(&l);
	lb_buf_free(&d);
	lb_buf_free(&b);
}

static void
test_nulls_and_empty_groups(void **state)
{
	static const char expect[] =
	    "{\"seq\":7,\"time\":\"1970-01-01T00:00:00Z\",\"event\":\"reject\","
	    "\"verdict\":\"failed\",\"user\":null,\"sid\":null,\"groups\":[],\"kind\":null,"
	    "\"link\":null,\"target\":null,\"link_resolved\":null,\"target_resolved\":null,"
	    "\"rule\":null,\"reason\":\"malformed request\",\"error\":-10,\"key\":null,"
	    "\"request\":null,\"sig\":null,\"prev\":\"" ZEROS64 "\",\"hash\":\"";
	uint8_t prev[LB_HASH_BYTES] = { 0 };
	struct lb_audit_rec rec;
	struct lb_buf b;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.event = "reject";
	rec.verdict = "failed";
	rec.reason = "malformed request";
	rec.error = LB_E_SHORT;
	lb_buf_init(&b, LB_AUDIT_LINE_MAX);
	assert_int_equal(lb_audit_format_line(&b, &rec, 7, 0, prev, NULL), LB_OK);
	assert_true(b.len > sizeof(expect) - 1);
	assert_memory_equal(b.data, expect, sizeof(expect) - 1);
	lb_buf_free(&b);
}

static void
test_time_is_utc_civil_date(void **state)
{
	static const struct { uint64_t t; const char *s; } cases[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ 946684799, "1999-12-31T23:59:59Z" },
		{ 951782400, "2000-02-29T00:00:00Z" },
		{ 1709208000, "2024-02-29T12:00:00Z" },
		{ T0, "2026-11-25T20:31:07Z" },
		{ 4107542399ULL, "2100-02-28T23:59:59Z" },
		{ 4107542400ULL, "2100-03-01T00:00:00Z" },
		{ 253402300799ULL, "9999-12-31T23:59:59Z" },
	};
	uint8_t prev[LB_HASH_BYTES] = { 0 };
	struct lb_audit_line l;
	struct lb_audit_rec rec;
	struct lb_buf b;
	size_t i;

	(void)state;
	lb_buf_init(&b, LB_AUDIT_LINE_MAX);
	lb_audit_line_init(&l);
	sample_rec(&rec, "/l");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lb_buf_reset(&b);
		assert_int_equal(lb_audit_format_line(&b, &rec, 1, cases[i].t, prev, NULL), LB_OK);
		assert_memory_equal(b.data + strlen("{\"seq\":1,\"time\":\""), cases[i].s, 20);
		/* And the parser reads the same second back. */
		assert_int_equal(lb_audit_line_parse(&l, (const char *)b.data, b.len - 1, NULL), LB_OK);
		assert_true(l.time == cases[i].t);
	}
	/* Past year 9999 there is no four-digit year: refused, not wrapped. */
	lb_buf_reset(&b);
	assert_int_equal(lb_audit_format_line(&b, &rec, 1, 253402300800ULL, prev, NULL), LB_E_RANGE);
	assert_int_equal(b.len, 0);
	lb_audit_line_free(&l);
	lb_buf_free(&b);
}

/* Lines that differ from what the writer makes in one way each. */
static void
test_parser_refuses_every_other_spelling(void **state)
{
	static const struct { const char *from, *to, *field; } edits[] = {
		{ "{\"seq\":1,", "{\"seq\": 1,", "seq" },
		{ "{\"seq\":1,", "{\"seq\":01,", "seq" },
		{ "{\"seq\":1,", "{\"seq\":0,", "seq" },
		{ "{\"seq\":1,", "{ \"seq\":1,", "seq" },
		{ "\"time\":\"2026-11-25T20:31:07Z\"", "\"time\":\"2026-02-30T20:31:07Z\"", "time" },
		{ "\"time\":\"2026-11-25T20:31:07Z\"", "\"time\":\"2026-11-25 20:31:07Z\"", "time" },
		{ "\"time\":\"2026-11-25T20:31:07Z\"", "\"time\":\"2026-11-25T20:31:60Z\"", "time" },
		{ "\"user\":\"alice\"", "\"user\":\"\\u0061lice\"", "user" },
		{ "\"user\":\"alice\",\"sid\":\"1000\"", "\"sid\":\"1000\",\"user\":\"alice\"", "user" },
		{ "\"groups\":[\"developers\",", "\"groups\":[\"developers\" ,", "groups" },
		{ "\"kind\":\"symlink\"", "\"kind\":\"softlink\"", "kind" },
		{ "\"error\":0", "\"error\":-0", "error" },
		{ "\"error\":0", "\"error\":2147483648", "error" },
		{ "\"error\":0", "\"error\":\"0\"", "error" },
		{ "\"key\":\"alice\"", "\"key\":alice", "key" },
		{ "\"request\":null", "\"request\":\"\"", "request" },
		{ "\"request\":null", "\"request\":\"AQI=\"", NULL },   /* decodes: fine */
		{ "\"request\":null", "\"request\":\"AQJ=\"", "request" },  /* pad bits set */
		{ "\"request\":null", "\"request\":\"AQ\"", "request" },
		{ "\"sig\":null", "\"sig\":\"AQID\"", "sig" },
		{ "\"prev\":\"0", "\"prev\":\"A", "prev" },
		{ "\"}", "\"} ", NULL },
		{ "\"}", "\"}\r", NULL },
		{ "\"}", "\",\"x\":1}", NULL },
	};
	uint8_t prev[LB_HASH_BYTES] = { 0 };
	struct lb_audit_line l;
	struct lb_audit_rec rec;
	struct lb_buf b, t, why;
	uint8_t *at;
	size_t i;
	int rc;

	(void)state;
	lb_buf_init(&b, LB_AUDIT_LINE_MAX);
	lb_buf_init(&t, LB_AUDIT_LINE_MAX);
	lb_buf_init(&why, 4096);
	lb_audit_line_init(&l);
	sample_rec(&rec, "/l");
	assert_int_equal(lb_audit_format_line(&b, &rec, 1, T0, prev, NULL), LB_OK);
	b.len--;    /* the parser takes the line without its newline */
	assert_int_equal(lb_audit_line_parse(&l, (const char *)b.data, b.len, NULL), LB_OK);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		const char *msg;

		lb_buf_reset(&t);
		assert_int_equal(lb_buf_put(&t, b.data, b.len), LB_OK);
		at = find_last(t.data, t.len, edits[i].from);
		assert_non_null(at);
		splice(&t, (size_t)(at - t.data), strlen(edits[i].from), edits[i].to,
		    strlen(edits[i].to));
		lb_buf_reset(&why);
		rc = lb_audit_line_parse(&l, (const char *)t.data, t.len, &why);
		if (strcmp(edits[i].to, "\"request\":\"AQI=\"") == 0) {
			assert_int_equal(rc, LB_OK);
			continue;
		}
		if (rc != LB_E_AUDIT)
			fail_msg("edit %zu accepted", i);
		assert_int_equal(lb_buf_cstr(&why, &msg), LB_OK);
		assert_memory_equal(msg, "at byte ", 8);
		if (edits[i].field != NULL) {
			char want[32];

			snprintf(want, sizeof(want), "(field \"%s\")", edits[i].field);
			if (strstr(msg, want) == NULL)
				fail_msg("edit %zu: message does not name %s: %s", i, want, msg);
		}
	}
	lb_audit_line_free(&l);
	lb_buf_free(&b);
	lb_buf_free(&t);
	lb_buf_free(&why);
}

/* ---- the chain ---- */

static void
test_round_trip_verifies(void **state)
{
	struct memio m;
	char msg[512];
	size_t records, off, len, k;

	(void)state;
	memio_init(&m);
	make_log(&m, 5);
	assert_int_equal(count_lines(&m.buf), 5);
	for (k = 1; k <= 5; k++) {
		char want[32];

		off = line_at(&m.buf, k, &len);
		snprintf(want, sizeof(want), "{\"seq\":%zu,", k);
		assert_memory_equal(m.buf.data + off, want, strlen(want));
	}
	/* The first record's prev is all zeros. */
	assert_non_null(find_last(m.buf.data, line_at(&m.buf, 2, &len), "\"prev\":\"" ZEROS64 "\""));
	assert_int_equal(verify_buf(&m.buf, NULL, msg, sizeof(msg), &records), LB_OK);
	assert_int_equal(records, 5);
	/* An empty log is intact, with nothing in it. */
	assert_int_equal(verify_bytes("", 0, NULL, msg, sizeof(msg), &records), LB_OK);
	assert_int_equal(records, 0);
	lb_buf_free(&m.buf);
}

static void
test_every_byte_change_names_its_line(void **state)
{
	struct memio m;
	struct lb_buf t;
	char msg[512];
	size_t i, v, line, records;
	uint8_t c, repl[3];

	(void)state;
	memio_init(&m);
	make_log(&m, 3);
	lb_buf_init(&t, m.buf.max);
	assert_int_equal(lb_buf_put(&t, m.buf.data, m.buf.len), LB_OK);
	line = 1;
	for (i = 0; i < m.buf.len; i++) {
		c = m.buf.data[i];
		repl[0] = (uint8_t)(c ^ 0x01);            /* 0->1, a->`, '\n'->VT */
		repl[1] = (uint8_t)(c ^ 0x20);            /* a->A, '"'->STX */
		repl[2] = c != '\n' ? '\n' : ' ';         /* split or join lines */
		for (v = 0; v < 3; v++) {
			t.data[i] = repl[v];
			if (verify_buf(&t, NULL, msg, sizeof(msg), &records) != LB_E_AUDIT)
				fail_msg("byte %zu changed to 0x%02x: still verifies", i, repl[v]);
			assert_names_line(msg, line);
			assert_int_equal(records, line - 1);
		}
		t.data[i] = c;
		if (c == '\n')
			line++;
	}
	lb_buf_free(&t);
	lb_buf_free(&m.buf);
}

static void
test_removed_middle_line_fails_at_the_next(void **state)
{
	struct memio m;
	char msg[512];
	size_t off, len, records;

	(void)state;
	memio_init(&m);
	make_log(&m, 3);
	off = line_at(&m.buf, 2, &len);
	splice(&m.buf, off, len, "", 0);
	assert_int_equal(verify_buf(&m.buf, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	assert_string_equal(msg, "2: seq is 3, expected 2: a record is missing, repeated or out of order");
	assert_int_equal(records, 1);
	lb_buf_free(&m.buf);
}

static void
test_removed_line_renumbered_breaks_prev(void **state)
{
	struct memio m;
	char msg[512];
	size_t off, len;
	uint8_t *p;

	(void)state;
	memio_init(&m);
	make_log(&m, 3);
	off = line_at(&m.buf, 2, &len);
	splice(&m.buf, off, len, "", 0);
	/* Renumber the old third record and fix its own hash: its prev still
	 * names the record that is gone. */
	off = line_at(&m.buf, 2, &len);
	p = m.buf.data + off;
	assert_memory_equal(p, "{\"seq\":3,", 9);
	p[7] = '2';
	{
		uint8_t h[LB_HASH_BYTES];
		uint8_t *q = find_last(p, len, ",\"hash\":\"");

		assert_non_null(q);
		assert_int_equal(lb_hash(h, p, (size_t)(q - p)), LB_OK);
		put_hex(q + 9, h);
	}
	assert_int_equal(verify_buf(&m.buf, NULL, msg, sizeof(msg), NULL), LB_E_AUDIT);
	assert_string_equal(msg, "2: prev is not the hash of the record before it");
	/* Someone who recomputes the whole chain gets past the hashes: that is
	 * what signatures and an anchor kept elsewhere are for. */
	rechain(&m.buf);
	assert_int_equal(verify_buf(&m.buf, NULL, msg, sizeof(msg), NULL), LB_OK);
	lb_buf_free(&m.buf);
}

static void
test_reordered_lines_fail(void **state)
{
	struct memio m;
	struct lb_buf t;
	char msg[512];
	size_t o2, l2, o3, l3;

	(void)state;
	memio_init(&m);
	make_log(&m, 3);
	o2 = line_at(&m.buf, 2, &l2);
	o3 = line_at(&m.buf, 3, &l3);
	lb_buf_init(&t, m.buf.max);
	assert_int_equal(lb_buf_put(&t, m.buf.data, o2), LB_OK);
	assert_int_equal(lb_buf_put(&t, m.buf.data + o3, l3), LB_OK);
	assert_int_equal(lb_buf_put(&t, m.buf.data + o2, l2), LB_OK);
	assert_int_equal(t.len, m.buf.len);
	assert_int_equal(verify_buf(&t, NULL, msg, sizeof(msg), NULL), LB_E_AUDIT);
	assert_string_equal(msg, "2: seq is 3, expected 2: a record is missing, repeated or out of order");
	/* A record written twice. */
	lb_buf_reset(&t);
	assert_int_equal(lb_buf_put(&t, m.buf.data, o3), LB_OK);
	assert_int_equal(lb_buf_put(&t, m.buf.data + o2, l2), LB_OK);
	assert_int_equal(verify_buf(&t, NULL, msg, sizeof(msg), NULL), LB_E_AUDIT);
	assert_names_line(msg, 3);
	lb_buf_free(&t);
	lb_buf_free(&m.buf);
}

static void
test_torn_last_line_is_reported_until_sealed(void **state)
{
	struct memio m;
	char msg[512], want[256];
	size_t off, len, records;

	(void)state;
	memio_init(&m);
	make_log(&m, 3);
	off = line_at(&m.buf, 3, &len);
	/* Cut in the middle of the last record, as a crash would: until the
	 * broker starts again and seals it, the log is not intact. */
	m.buf.len = off + len / 2;
	assert_int_equal(verify_buf(&m.buf, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	snprintf(want, sizeof(want), "3: the last line has no newline: a write torn by a crash; "
	    "the 2 records before it end at byte %zu", off);
	assert_string_equal(msg, want);
	assert_int_equal(records, 2);
	/* Only the newline missing is torn too. */
	m.buf.len = off + len - 1;
	assert_int_equal(verify_buf(&m.buf, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	assert_string_equal(msg, want);
	lb_buf_free(&m.buf);
}

/* ---- crash recovery: lb_audit_open seals a torn write ---- */

/* A real file with failures on demand, counting what the broker does. */
struct flaky {
	const char *path;
	int fail_appends, fail_syncs;
	unsigned appends, syncs;
};

static int
flaky_append(void *ctx, const void *p, size_t n)
{
	struct flaky *f = ctx;

	f->appends++;
	if (f->fail_appends > 0) {
		f->fail_appends--;
		return LB_E_IO;     /* as the platform does: nothing written */
	}
	return file_append((void *)(uintptr_t)f->path, p, n);
}

static int
flaky_sync(void *ctx)
{
	struct flaky *f = ctx;

	f->syncs++;
	if (f->fail_syncs > 0) {
		f->fail_syncs--;
		return LB_E_IO;
	}
	return LB_OK;
}

static int
flaky_size(void *ctx, uint64_t *size)
{
	return file_size((void *)(uintptr_t)((struct flaky *)ctx)->path, size);
}

static struct lb_audit_io
flaky_io(struct flaky *f)
{
	struct lb_audit_io io;

	memset(&io, 0, sizeof(io));
	io.ctx = f;
	io.append = flaky_append;
	io.sync = flaky_sync;
	io.size = flaky_size;
	return io;
}

/* Start the broker's log on a file holding P[0..N): lb_audit_open's
 * result; the file afterwards in AFTER (may be NULL); F counts. */
static int
start_on(const char *path, const void *p, size_t n, struct flaky *f, struct lb_buf *after)
{
	struct lb_audit *a = NULL;
	int rc;

	write_file(path, p, n);
	f->path = path;
	rc = lb_audit_open(path, flaky_io(f), 0, NULL, NULL, &a);
	if (rc == LB_OK)
		assert_non_null(a);
	else
		assert_null(a);
	lb_audit_close(a);
	if (after != NULL)
		read_file(path, after);
	return rc;
}

/* What a recovery record says it seals (docs/audit.md), computed here. */
static void
sealed_reason(char *out, size_t cap, const uint8_t *p, size_t len, size_t off)
{
	uint8_t h[LB_HASH_BYTES], hex[2 * LB_HASH_BYTES];

	assert_int_equal(lb_hash(h, p, len), LB_OK);
	put_hex(hex, h);
	snprintf(out, cap, "sealed a write torn by a crash: %zu bytes at byte %zu, blake2b %.64s",
	    len, off, (const char *)hex);
}

/* A recovery record as the broker writes it, with any seq, prev, reason
 * and verdict; appended to OUT. */
static void
put_recovery(struct lb_buf *out, uint64_t seq, const uint8_t prev[LB_HASH_BYTES],
    const char *reason, const char *verdict)
{
	struct lb_audit_rec rec;

	memset(&rec, 0, sizeof(rec));
	rec.event = "recovery";
	rec.verdict = verdict;
	rec.kind = LB_KIND_NONE;
	rec.reason = reason;
	rec.error = LB_E_AUDIT;
	assert_int_equal(lb_audit_format_line(out, &rec, seq, T0 + 100, prev, NULL), LB_OK);
}

/* The hash the record on line K of B carries. */
static void
hash_of_line(const struct lb_buf *b, size_t k, uint8_t h[LB_HASH_BYTES])
{
	struct lb_audit_line l;
	size_t off, len;

	lb_audit_line_init(&l);
	off = line_at(b, k, &len);
	assert_int_equal(lb_audit_line_parse(&l, (const char *)b->data + off, len - 1, NULL), LB_OK);
	memcpy(h, l.hash, LB_HASH_BYTES);
	lb_audit_line_free(&l);
}

/* A log of 3 records whose last write was torn after HALF its bytes: in B;
 * where the torn line starts and how long it is. */
static void
torn_log(struct lb_buf *b, size_t *off, size_t *torn_len)
{
	struct memio m;
	size_t len;

	memio_init(&m);
	make_log(&m, 3);
	*off = line_at(&m.buf, 3, &len);
	*torn_len = len / 2;
	lb_buf_init(b, m.buf.max);
	assert_int_equal(lb_buf_put(b, m.buf.data, *off + *torn_len), LB_OK);
	lb_buf_free(&m.buf);
}

static void
test_open_seals_a_torn_last_line(void **state)
{
	struct lb_audit *a = NULL;
	struct lb_audit_line l;
	struct lb_audit_rec rec;
	struct lb_buf b, file;
	struct flaky f;
	uint8_t h2[LB_HASH_BYTES], h4[LB_HASH_BYTES];
	char path[64], want[256], msg[512];
	size_t off, tl, records, loff, llen;
	uint64_t seq, o, n, t_before, t_after;

	(void)state;
	memset(&f, 0, sizeof(f));
	lb_audit_line_init(&l);
	lb_buf_init(&file, 64u * 1024 * 1024);
	torn_log(&b, &off, &tl);
	tmp_path(path);
	write_file(path, b.data, b.len);
	f.path = path;
	t_before = (uint64_t)time(NULL);
	assert_int_equal(lb_audit_open(path, flaky_io(&f), 0, NULL, NULL, &a), LB_OK);
	t_after = (uint64_t)time(NULL);
	/* One append (newline and record), synced before anyone is answered. */
	assert_int_equal(f.appends, 1);
	assert_int_equal(f.syncs, 1);
	assert_int_equal(lb_audit_recovered(a, &seq, &o, &n), 1);
	assert_true(seq == 3 && o == off && n == tl);
	lb_audit_head(a, &seq, NULL);
	assert_true(seq == 3);
	/* The chain goes on after it. */
	sample_rec(&rec, "/home/alice/src/after");
	assert_int_equal(lb_audit_append(a, &rec, T0 + 50, 1), LB_OK);
	lb_audit_close(a);

	read_file(path, &file);
	/* The torn bytes are kept as they were, ended by a newline. */
	assert_memory_equal(file.data, b.data, b.len);
	assert_int_equal(file.data[b.len], '\n');
	assert_int_equal(count_lines(&file), 5);
	/* Line 4: the recovery record, chained to record 2. */
	hash_of_line(&file, 2, h2);
	loff = line_at(&file, 4, &llen);
	assert_int_equal(loff, b.len + 1);
	assert_int_equal(lb_audit_line_parse(&l, (const char *)file.data + loff, llen - 1, NULL), LB_OK);
	assert_true(l.seq == 3);
	assert_memory_equal(l.prev, h2, LB_HASH_BYTES);
	assert_true(l.time >= t_before && l.time <= t_after);
	assert_int_equal(l.event.raw_len, 8);
	assert_memory_equal(l.event.raw, "recovery", 8);
	assert_memory_equal(l.verdict.raw, "failed", 6);
	assert_int_equal(l.error, LB_E_AUDIT);
	assert_true(l.user.null && l.kind == LB_KIND_NONE && l.link.null);
	assert_null(l.request);
	assert_null(l.sig);
	sealed_reason(want, sizeof(want), b.data + off, tl, off);
	assert_int_equal(l.reason.raw_len, strlen(want));
	assert_memory_equal(l.reason.raw, want, strlen(want));
	memcpy(h4, l.hash, LB_HASH_BYTES);
	/* Line 5: the next request's record, chained to the recovery. */
	loff = line_at(&file, 5, &llen);
	assert_int_equal(lb_audit_line_parse(&l, (const char *)file.data + loff, llen - 1, NULL), LB_OK);
	assert_true(l.seq == 4);
	assert_memory_equal(l.prev, h4, LB_HASH_BYTES);

	assert_int_equal(verify_buf(&file, NULL, msg, sizeof(msg), &records), LB_OK);
	snprintf(want, sizeof(want), "recovered crash at line 3 (%zu bytes kept as evidence)\n", tl);
	assert_string_equal(msg, want);
	assert_int_equal(records, 4);

	/* The next start finds a sealed log: nothing more to write. */
	memset(&f, 0, sizeof(f));
	f.path = path;
	assert_int_equal(lb_audit_open(path, flaky_io(&f), 0, NULL, NULL, &a), LB_OK);
	assert_int_equal(lb_audit_recovered(a, NULL, NULL, NULL), 0);
	lb_audit_head(a, &seq, NULL);
	assert_true(seq == 4);
	lb_audit_close(a);
	assert_int_equal(f.appends, 0);
	assert_int_equal(remove(path), 0);
	lb_audit_line_free(&l);
	lb_buf_free(&b);
	lb_buf_free(&file);
}

static void
test_open_ends_a_record_missing_only_its_newline(void **state)
{
	struct memio m;
	struct lb_buf file;
	struct flaky f;
	char path[64], msg[512];
	size_t records;

	(void)state;
	memset(&f, 0, sizeof(f));
	memio_init(&m);
	lb_buf_init(&file, 64u * 1024 * 1024);
	make_log(&m, 3);
	tmp_path(path);
	/* Every byte of record 3 is there but its newline: the record is
	 * whole (the parser wants the closing brace after the hash), so it
	 * counts, and the newline is all that is added. */
	assert_int_equal(start_on(path, m.buf.data, m.buf.len - 1, &f, &file), LB_OK);
	assert_int_equal(f.appends, 1);
	assert_int_equal(f.syncs, 1);
	assert_int_equal(file.len, m.buf.len);
	assert_memory_equal(file.data, m.buf.data, m.buf.len);
	assert_int_equal(verify_buf(&file, NULL, msg, sizeof(msg), &records), LB_OK);
	assert_string_equal(msg, "");
	assert_int_equal(records, 3);
	assert_int_equal(remove(path), 0);
	lb_buf_free(&m.buf);
	lb_buf_free(&file);
}

/* Start on BASE plus the first K bytes of what a start appended (SEAL):
 * it must come up, keep every byte, and the log must verify with one
 * recovered crash at line 3 of WANT_LEN bytes. The file after, in OUT. */
static void
start_after_cut(const char *path, const struct lb_buf *base, const uint8_t *seal, size_t k,
    size_t want_len, struct lb_buf *out)
{
	struct lb_buf in;
	struct flaky f;
	char msg[512], want[128];
	size_t records;

	memset(&f, 0, sizeof(f));
	lb_buf_init(&in, 64u * 1024 * 1024);
	assert_int_equal(lb_buf_put(&in, base->data, base->len), LB_OK);
	assert_int_equal(lb_buf_put(&in, seal, k), LB_OK);
	if (start_on(path, in.data, in.len, &f, out) != LB_OK)
		fail_msg("a crash after %zu bytes of the seal: the next start fails", k);
	assert_true(out->len >= in.len);
	assert_memory_equal(out->data, in.data, in.len);
	if (verify_buf(out, NULL, msg, sizeof(msg), &records) != LB_OK)
		fail_msg("a crash after %zu bytes of the seal: %s", k, msg);
	snprintf(want, sizeof(want), "recovered crash at line 3 (%zu bytes kept as evidence)\n",
	    want_len);
	if (strcmp(msg, want) != 0)
		fail_msg("a crash after %zu bytes of the seal: got \"%s\", want \"%s\"", k, msg, want);
	assert_int_equal(records, 3);
	lb_buf_free(&in);
}

static void
test_a_crash_at_any_byte_of_the_seal_is_recovered_next_start(void **state)
{
	struct lb_buf b, sealed, out, base2;
	struct flaky f;
	char path[64];
	size_t off, tl, seal_len, k, want;
	const uint8_t *seal;

	(void)state;
	memset(&f, 0, sizeof(f));
	lb_buf_init(&sealed, 64u * 1024 * 1024);
	lb_buf_init(&out, 64u * 1024 * 1024);
	lb_buf_init(&base2, 64u * 1024 * 1024);
	torn_log(&b, &off, &tl);
	tmp_path(path);
	assert_int_equal(start_on(path, b.data, b.len, &f, &sealed), LB_OK);
	seal = sealed.data + b.len;
	seal_len = sealed.len - b.len;     /* "\n" + the recovery record + "\n" */
	assert_true(seal_len > 100);
	for (k = 0; k <= seal_len; k++) {
		if (k <= 1 || k >= seal_len - 1)
			want = tl;     /* nothing yet, "T\n", or a whole record */
		else
			want = tl + 1 + (k - 1);   /* "T\n" and the torn record */
		start_after_cut(path, &b, seal, k, want, &out);
	}
	/* Crashing again while sealing that: a cut in the middle of the
	 * second seal too. */
	k = seal_len / 2;
	start_after_cut(path, &b, seal, k, tl + k, &out);
	assert_int_equal(lb_buf_put(&base2, b.data, b.len), LB_OK);
	assert_int_equal(lb_buf_put(&base2, seal, k), LB_OK);
	/* OUT = BASE2 + "\n" + record 2 + "\n": keep half of that. */
	assert_int_equal(lb_buf_put(&base2, out.data + base2.len, (out.len - base2.len) / 2), LB_OK);
	start_after_cut(path, &base2, NULL, 0, base2.len - off, &out);
	assert_int_equal(remove(path), 0);
	lb_buf_free(&b);
	lb_buf_free(&sealed);
	lb_buf_free(&out);
	lb_buf_free(&base2);
}

static void
test_a_failed_seal_stops_the_start_and_the_next_one_seals(void **state)
{
	struct lb_buf b, file;
	struct flaky f;
	char path[64], msg[512];
	size_t off, tl, records;

	(void)state;
	lb_buf_init(&file, 64u * 1024 * 1024);
	torn_log(&b, &off, &tl);
	tmp_path(path);
	/* The append fails: nothing written, no broker. */
	memset(&f, 0, sizeof(f));
	f.fail_appends = 1;
	assert_int_equal(start_on(path, b.data, b.len, &f, &file), LB_E_AUDIT);
	assert_int_equal(file.len, b.len);
	/* The sync fails: written, but maybe not on disk: no broker. */
	memset(&f, 0, sizeof(f));
	f.fail_syncs = 1;
	assert_int_equal(start_on(path, b.data, b.len, &f, &file), LB_E_AUDIT);
	assert_int_equal(f.appends, 1);
	assert_true(file.len > b.len);
	/* The next start finds it sealed and writes nothing. */
	memset(&f, 0, sizeof(f));
	assert_int_equal(start_on(path, file.data, file.len, &f, NULL), LB_OK);
	assert_int_equal(f.appends, 0);
	assert_int_equal(verify_buf(&file, NULL, msg, sizeof(msg), &records), LB_OK);
	assert_int_equal(records, 3);
	assert_int_equal(remove(path), 0);
	lb_buf_free(&b);
	lb_buf_free(&file);
}

static void
test_a_line_that_does_not_parse_elsewhere_still_stops_the_start(void **state)
{
	static const char junk[] = "{\"seq\":2,\"time\":\"2026-";
	struct memio m;
	struct lb_buf t, file;
	struct flaky f;
	char path[64], msg[512];
	size_t off, len, records;

	(void)state;
	memio_init(&m);
	lb_buf_init(&t, 64u * 1024 * 1024);
	lb_buf_init(&file, 64u * 1024 * 1024);
	make_log(&m, 3);
	tmp_path(path);
	/* Line 2 is not a record, and a record follows it. */
	off = line_at(&m.buf, 2, &len);
	assert_int_equal(lb_buf_put(&t, m.buf.data, off), LB_OK);
	assert_int_equal(lb_buf_put(&t, junk, sizeof(junk) - 1), LB_OK);
	assert_int_equal(lb_buf_put(&t, "\n", 1), LB_OK);
	assert_int_equal(lb_buf_put(&t, m.buf.data + off + len, m.buf.len - off - len), LB_OK);
	memset(&f, 0, sizeof(f));
	assert_int_equal(start_on(path, t.data, t.len, &f, &file), LB_E_AUDIT);
	assert_int_equal(f.appends, 0);
	assert_int_equal(file.len, t.len);
	assert_int_equal(verify_buf(&t, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	assert_memory_equal(msg, "2: not a valid audit record: ", 29);
	assert_null(strstr(msg, "torn"));
	assert_int_equal(records, 1);
	/* Two such lines, then a record: the same. */
	lb_buf_reset(&t);
	assert_int_equal(lb_buf_put(&t, m.buf.data, off), LB_OK);
	assert_int_equal(lb_buf_printf(&t, "%s\n%s\n", junk, junk), LB_OK);
	assert_int_equal(lb_buf_put(&t, m.buf.data + off + len, m.buf.len - off - len), LB_OK);
	memset(&f, 0, sizeof(f));
	assert_int_equal(start_on(path, t.data, t.len, &f, NULL), LB_E_AUDIT);
	assert_int_equal(f.appends, 0);
	assert_int_equal(verify_buf(&t, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	assert_names_line(msg, 2);
	assert_int_equal(remove(path), 0);
	lb_buf_free(&t);
	lb_buf_free(&file);
	lb_buf_free(&m.buf);
}

static void
test_an_unsealed_line_at_the_end_is_broken_until_the_broker_starts(void **state)
{
	struct lb_buf b, file;
	struct flaky f;
	char path[64], msg[512], want[256];
	size_t off, tl, records;

	(void)state;
	lb_buf_init(&file, 64u * 1024 * 1024);
	torn_log(&b, &off, &tl);
	/* The state after a crash between the seal's newline and its record
	 * (or a last line that was damaged): a complete line that is not a
	 * record. verify-audit says so; the next start seals it. */
	assert_int_equal(lb_buf_put(&b, "\n", 1), LB_OK);
	assert_int_equal(verify_buf(&b, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	assert_memory_equal(msg, "3: not a valid audit record: ", 29);
	snprintf(want, sizeof(want), "; the log ends here: a write torn by a crash, sealed when the "
	    "broker starts; the 2 records before it end at byte %zu", off);
	assert_non_null(strstr(msg, want));
	assert_int_equal(records, 2);
	tmp_path(path);
	memset(&f, 0, sizeof(f));
	assert_int_equal(start_on(path, b.data, b.len, &f, &file), LB_OK);
	/* No second newline: the line had its own. */
	assert_int_equal(file.data[b.len], '{');
	assert_int_equal(verify_buf(&file, NULL, msg, sizeof(msg), &records), LB_OK);
	snprintf(want, sizeof(want), "recovered crash at line 3 (%zu bytes kept as evidence)\n", tl);
	assert_string_equal(msg, want);
	assert_int_equal(remove(path), 0);
	lb_buf_free(&b);
	lb_buf_free(&file);
}

static void
test_verify_refuses_a_recovery_that_does_not_seal_what_is_before_it(void **state)
{
	struct lb_buf b, t;
	struct memio m;
	struct flaky f;
	uint8_t h1[LB_HASH_BYTES], h2[LB_HASH_BYTES];
	char path[64], msg[512], reason[256], want[256];
	size_t off, tl, records;

	(void)state;
	memio_init(&m);
	lb_buf_init(&t, 64u * 1024 * 1024);
	torn_log(&b, &off, &tl);
	make_log(&m, 2);
	hash_of_line(&m.buf, 1, h1);
	hash_of_line(&m.buf, 2, h2);
	tmp_path(path);
	sealed_reason(reason, sizeof(reason), b.data + off, tl, off);

	/* As the broker writes it, built here: intact. */
	lb_buf_reset(&t);
	assert_int_equal(lb_buf_printf(&t, "%.*s\n", (int)b.len, (const char *)b.data), LB_OK);
	put_recovery(&t, 3, h2, reason, "failed");
	assert_int_equal(verify_buf(&t, NULL, msg, sizeof(msg), &records), LB_OK);
	assert_int_equal(records, 3);

	/* A torn byte changed after it was sealed: found at its line, and
	 * the broker does not start on it. */
	t.data[off + 1] ^= 0x20;
	assert_int_equal(verify_buf(&t, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	assert_string_equal(msg, "3: the torn bytes that the recovery record at line 4 seals were "
	    "changed: their hash is not the one it names");
	assert_int_equal(records, 2);
	memset(&f, 0, sizeof(f));
	assert_int_equal(start_on(path, t.data, t.len, &f, NULL), LB_E_AUDIT);
	assert_int_equal(f.appends, 0);

	/* A recovery record naming other bytes (one more than torn). */
	lb_buf_reset(&t);
	assert_int_equal(lb_buf_printf(&t, "%.*s\n", (int)b.len, (const char *)b.data), LB_OK);
	/* t, not b: its newline is the byte after the torn ones. */
	sealed_reason(reason, sizeof(reason), t.data + off, tl + 1, off);
	put_recovery(&t, 3, h2, reason, "failed");
	assert_int_equal(verify_buf(&t, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	assert_memory_equal(msg, "3: not a valid audit record: ", 29);
	snprintf(want, sizeof(want), "; the recovery record at line 4 does not seal the %zu bytes "
	    "from byte %zu", tl, off);
	assert_non_null(strstr(msg, want));
	memset(&f, 0, sizeof(f));
	assert_int_equal(start_on(path, t.data, t.len, &f, NULL), LB_E_AUDIT);

	/* One that does not continue the chain: seq, then prev. */
	sealed_reason(reason, sizeof(reason), b.data + off, tl, off);
	lb_buf_reset(&t);
	assert_int_equal(lb_buf_printf(&t, "%.*s\n", (int)b.len, (const char *)b.data), LB_OK);
	put_recovery(&t, 4, h2, reason, "failed");
	assert_int_equal(verify_buf(&t, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	assert_string_equal(msg, "4: seq is 4, expected 3: a record is missing, repeated or out of order");
	lb_buf_reset(&t);
	assert_int_equal(lb_buf_printf(&t, "%.*s\n", (int)b.len, (const char *)b.data), LB_OK);
	put_recovery(&t, 3, h1, reason, "failed");
	assert_int_equal(verify_buf(&t, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	assert_string_equal(msg, "4: prev is not the hash of the record before it");

	/* One with nothing torn before it. */
	lb_buf_reset(&t);
	assert_int_equal(lb_buf_put(&t, m.buf.data, m.buf.len), LB_OK);
	sealed_reason(reason, sizeof(reason), m.buf.data, 0, m.buf.len);
	put_recovery(&t, 3, h2, reason, "failed");
	assert_int_equal(verify_buf(&t, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	assert_string_equal(msg, "3: a recovery record with nothing torn before it");
	assert_int_equal(records, 2);
	lb_buf_reset(&t);
	put_recovery(&t, 1, (const uint8_t *)ZEROS64 /* any */, reason, "failed");
	assert_int_equal(verify_buf(&t, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	assert_string_equal(msg, "1: a recovery record with nothing torn before it");

	/* One that claims to be something else. */
	sealed_reason(reason, sizeof(reason), b.data + off, tl, off);
	lb_buf_reset(&t);
	assert_int_equal(lb_buf_printf(&t, "%.*s\n", (int)b.len, (const char *)b.data), LB_OK);
	put_recovery(&t, 3, h2, reason, "allowed");
	assert_int_equal(verify_buf(&t, NULL, msg, sizeof(msg), &records), LB_E_AUDIT);
	assert_string_equal(msg, "4: not a valid recovery record: it is \"failed\" and carries no request");
	assert_int_equal(remove(path), 0);
	lb_buf_free(&b);
	lb_buf_free(&t);
	lb_buf_free(&m.buf);
}

static void
test_every_byte_change_in_a_sealed_log_is_found(void **state)
{
	struct lb_buf b, s, t;
	struct flaky f;
	char path[64], msg[512];
	size_t i, v, line, records;
	uint8_t c, repl[3];

	(void)state;
	memset(&f, 0, sizeof(f));
	lb_buf_init(&s, 64u * 1024 * 1024);
	lb_buf_init(&t, 64u * 1024 * 1024);
	torn_log(&b, &i, &v);
	tmp_path(path);
	assert_int_equal(start_on(path, b.data, b.len, &f, &s), LB_OK);
	assert_int_equal(remove(path), 0);
	assert_int_equal(count_lines(&s), 4);
	assert_int_equal(lb_buf_put(&t, s.data, s.len), LB_OK);
	line = 1;
	for (i = 0; i < s.len; i++) {
		c = s.data[i];
		repl[0] = (uint8_t)(c ^ 0x01);
		repl[1] = (uint8_t)(c ^ 0x20);
		repl[2] = c != '\n' ? '\n' : ' ';
		for (v = 0; v < 3; v++) {
			t.data[i] = repl[v];
			if (verify_buf(&t, NULL, msg, sizeof(msg), &records) != LB_E_AUDIT)
				fail_msg("byte %zu changed to 0x%02x: still verifies", i, repl[v]);
			/* At its line; a recovery record that no longer parses
			 * leaves its torn line unsealed: reported there. */
			if (line == 4 && strncmp(msg, "3: ", 3) == 0)
				continue;
			assert_names_line(msg, line);
		}
		t.data[i] = c;
		if (c == '\n')
			line++;
	}
	lb_buf_free(&b);
	lb_buf_free(&s);
	lb_buf_free(&t);
}

static void
test_verify_audit_command_accepts_a_sealed_crash(void **state)
{
	struct lb_buf b, s;
	struct flaky f;
	char path[64], log[64];
	size_t off, tl;

	(void)state;
	memset(&f, 0, sizeof(f));
	lb_buf_init(&s, 64u * 1024 * 1024);
	torn_log(&b, &off, &tl);
	tmp_path(path);
	tmp_path(log);
	assert_int_equal(start_on(path, b.data, b.len, &f, &s), LB_OK);
	assert_int_equal(remove(path), 0);
	{
		char *argv[] = { "verify-audit", log, NULL };

		write_file(log, s.data, s.len);
		assert_int_equal(lb_cmd_verify_audit(2, argv), 0);
		/* Not restarted yet: broken. */
		write_file(log, b.data, b.len);
		assert_int_equal(lb_cmd_verify_audit(2, argv), 1);
		/* A sealed byte changed: broken. */
		s.data[off] ^= 0x01;
		write_file(log, s.data, s.len);
		assert_int_equal(lb_cmd_verify_audit(2, argv), 1);
	}
	assert_int_equal(remove(log), 0);
	lb_buf_free(&b);
	lb_buf_free(&s);
}

static void
test_hostile_strings_stay_on_one_line_and_verify(void **state)
{
	static const char link[] = "/home/alice/src/a\nb\"c\\d\x1b[31mred\x1b[0m\xc0\xff"
	    "\x01\x02\x03\x07\x08\x0b\x0c\x0e\x1f\x7f\xc2\x9b" "2J\xe2\x80\xae" "fdp.exe";
	static const char user[] = "eve\r\n{\"seq\":99}";
	static const struct lb_group groups[] = {
		{ "g\n\x1b]0;owned\x07", NULL, 0 },
		{ NULL, NULL, 0 },
	};
	struct lb_audit *a = NULL;
	struct lb_audit_line l;
	struct lb_audit_rec rec;
	struct lb_buf d;
	struct memio m;
	char msg[512];
	size_t i, records;

	(void)state;
	memio_init(&m);
	lb_buf_init(&d, LB_AUDIT_LINE_MAX);
	lb_audit_line_init(&l);
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	sample_rec(&rec, "/home/alice/src/ok");
	assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);
	sample_rec(&rec, "x");
	rec.link = link;
	rec.link_len = sizeof(link) - 1;
	rec.target = link;
	rec.target_len = sizeof(link) - 1;
	rec.link_resolved = "/r\n";
	rec.user = user;
	rec.reason = "\x1b[2J\x1b[H you have been \xe2\x80\xae";
	rec.groups = groups;
	rec.n_groups = 2;
	assert_int_equal(lb_audit_append(a, &rec, T0 + 1, 0), LB_OK);
	sample_rec(&rec, "/home/alice/src/ok2");
	assert_int_equal(lb_audit_append(a, &rec, T0 + 2, 0), LB_OK);
	lb_audit_close(a);

	/* Three records, three lines; nothing a terminal would act on. */
	assert_int_equal(count_lines(&m.buf), 3);
	for (i = 0; i < m.buf.len; i++) {
		uint8_t c = m.buf.data[i];

		assert_true(c == '\n' || (c >= 0x20 && c != 0x7f));
		if (c == 0xc2 && i + 1 < m.buf.len)
			assert_true(m.buf.data[i + 1] >= 0xa0);
		if (c == 0xe2 && i + 2 < m.buf.len)
			assert_false(m.buf.data[i + 1] == 0x80 && m.buf.data[i + 2] == 0xae);
	}
	assert_int_equal(verify_buf(&m.buf, NULL, msg, sizeof(msg), &records), LB_OK);
	assert_int_equal(records, 3);

	/* The exact bytes come back, invalid UTF-8 included. */
	{
		size_t len, off = line_at(&m.buf, 2, &len);
		const char *why = NULL;

		assert_int_equal(lb_audit_line_parse(&l, (const char *)m.buf.data + off, len - 1, NULL),
		    LB_OK);
		assert_int_equal(lb_json_unescape(l.link.raw, l.link.raw_len, &d, &why), LB_OK);
		assert_int_equal(d.len, sizeof(link) - 1);
		assert_memory_equal(d.data, link, d.len);
		lb_buf_reset(&d);
		assert_int_equal(lb_json_unescape(l.user.raw, l.user.raw_len, &d, &why), LB_OK);
		assert_int_equal(d.len, sizeof(user) - 1);
		assert_memory_equal(d.data, user, d.len);
		assert_int_equal(l.n_groups, 2);
		assert_false(l.groups[0].null);
		assert_true(l.groups[1].null);
	}
	lb_audit_line_free(&l);
	lb_buf_free(&d);
	lb_buf_free(&m.buf);
}

static void
test_reopen_continues_the_chain(void **state)
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;
	uint8_t h1[LB_HASH_BYTES], h2[LB_HASH_BYTES];
	struct lb_audit_line l;
	struct lb_buf file;
	char path[64];
	size_t records, off, len;
	uint64_t seq;

	(void)state;
	tmp_path(path);
	lb_buf_init(&file, 64u * 1024 * 1024);
	lb_audit_line_init(&l);
	sample_rec(&rec, "/home/alice/src/x");

	/* First run: no file yet. */
	assert_int_equal(lb_audit_open(path, file_io(path), 0, NULL, NULL, &a), LB_OK);
	lb_audit_head(a, &seq, h1);
	assert_true(seq == 0);
	assert_int_equal(lb_audit_append(a, &rec, T0, 1), LB_OK);
	assert_int_equal(lb_audit_append(a, &rec, T0 + 1, 1), LB_OK);
	lb_audit_head(a, &seq, h1);
	assert_true(seq == 2);
	lb_audit_close(a);

	/* Second run: continues at 3, chained to record 2. */
	assert_int_equal(lb_audit_open(path, file_io(path), 0, NULL, NULL, &a), LB_OK);
	lb_audit_head(a, &seq, h2);
	assert_true(seq == 2);
	assert_memory_equal(h1, h2, LB_HASH_BYTES);
	assert_int_equal(lb_audit_append(a, &rec, T0 + 2, 0), LB_OK);
	lb_audit_close(a);

	/* Third run. */
	assert_int_equal(lb_audit_open(path, file_io(path), 0, NULL, NULL, &a), LB_OK);
	assert_int_equal(lb_audit_append(a, &rec, T0 + 3, 0), LB_OK);
	lb_audit_head(a, &seq, h2);
	assert_true(seq == 4);
	lb_audit_close(a);

	read_file(path, &file);
	assert_int_equal(count_lines(&file), 4);
	off = line_at(&file, 3, &len);
	assert_int_equal(lb_audit_line_parse(&l, (const char *)file.data + off, len - 1, NULL), LB_OK);
	assert_true(l.seq == 3);
	assert_memory_equal(l.prev, h1, LB_HASH_BYTES);
	assert_int_equal(lb_audit_verify(path, NULL, NULL, &records), LB_OK);
	assert_int_equal(records, 4);
	assert_int_equal(remove(path), 0);
	lb_audit_line_free(&l);
	lb_buf_free(&file);
}

static int wrong_size_called;

static int
wrong_size(void *ctx, uint64_t *size)
{
	(void)ctx;
	wrong_size_called++;
	*size = 12345;
	return LB_OK;
}

static void
test_open_refuses_a_file_that_is_not_the_one_appended_to(void **state)
{
	struct lb_audit *a = NULL;
	struct lb_audit_io io;
	struct memio m;
	char path[64];

	(void)state;
	memio_init(&m);
	make_log(&m, 2);
	tmp_path(path);
	write_file(path, m.buf.data, m.buf.len);
	io = mem_io(&m);
	io.size = wrong_size;
	assert_int_equal(lb_audit_open(path, io, 0, NULL, NULL, &a), LB_E_AUDIT);
	assert_null(a);
	assert_int_equal(wrong_size_called, 1);
	/* A missing file read as empty, while the platform's file is not. */
	assert_int_equal(remove(path), 0);
	assert_int_equal(lb_audit_open(path, io, 0, NULL, NULL, &a), LB_E_AUDIT);
	lb_buf_free(&m.buf);
}

struct seen {
	size_t n;
	uint8_t key[8][LB_PK_BYTES];
	uint8_t nonce[8][LB_NONCE_BYTES];
	uint64_t ts[8];
};

static void
on_record(void *ctx, const uint8_t key[LB_PK_BYTES], const uint8_t nonce[LB_NONCE_BYTES],
    uint64_t timestamp)
{
	struct seen *s = ctx;

	assert_true(s->n < 8);
	memcpy(s->key[s->n], key, LB_PK_BYTES);
	memcpy(s->nonce[s->n], nonce, LB_NONCE_BYTES);
	s->ts[s->n] = timestamp;
	s->n++;
}

static void
test_open_replays_nonces_since_a_timestamp(void **state)
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;
	struct lb_buf msg[4];
	struct signer alice, bob;
	struct memio m, m2;
	struct seen seen;
	char path[64];
	uint8_t n16[LB_NONCE_BYTES];
	size_t i;

	(void)state;
	memio_init(&m);
	memio_init(&m2);
	signer_new(&alice);
	signer_new(&bob);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	for (i = 0; i < 4; i++) {
		sample_rec(&rec, "x");
		signed_rec(&rec, &msg[i], i == 2 ? &bob : &alice, LB_MSG_CREATE,
		    "/home/alice/src/l", "/home/alice/t", 1000 + 100 * i, (uint8_t)(0xa0 + i));
		assert_int_equal(lb_audit_append(a, &rec, T0 + i, 0), LB_OK);
	}
	/* A record without a request (a malformed one) is skipped. */
	sample_rec(&rec, "x");
	rec.event = "reject";
	assert_int_equal(lb_audit_append(a, &rec, T0 + 9, 0), LB_OK);
	lb_audit_close(a);

	tmp_path(path);
	write_file(path, m.buf.data, m.buf.len);
	assert_int_equal(lb_audit_open(path, mem_io(&m2), 1200, on_record, &seen, &a), LB_OK);
	lb_audit_close(a);
	assert_int_equal(remove(path), 0);
	/* Timestamps 1200 and 1300 are >= 1200; 1000 and 1100 are not. */
	assert_int_equal(seen.n, 2);
	memset(n16, 0xa2, sizeof(n16));
	assert_memory_equal(seen.nonce[0], n16, LB_NONCE_BYTES);
	assert_memory_equal(seen.key[0], bob.pk, LB_PK_BYTES);
	assert_true(seen.ts[0] == 1200);
	memset(n16, 0xa3, sizeof(n16));
	assert_memory_equal(seen.nonce[1], n16, LB_NONCE_BYTES);
	assert_memory_equal(seen.key[1], alice.pk, LB_PK_BYTES);
	assert_true(seen.ts[1] == 1300);
	for (i = 0; i < 4; i++)
		lb_buf_free(&msg[i]);
	lb_buf_free(&m.buf);
	lb_buf_free(&m2.buf);
}

/* ---- failing writes: fail closed, then carry on correctly ---- */

static void
test_failed_append_keeps_seq_and_chain(void **state)
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;
	struct memio m;
	char msg[512];
	size_t records, off, len;
	uint64_t seq;

	(void)state;
	memio_init(&m);
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	sample_rec(&rec, "/home/alice/src/1");
	assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);

	m.fail_appends = 1;
	sample_rec(&rec, "/home/alice/src/2");
	assert_int_equal(lb_audit_append(a, &rec, T0 + 1, 0), LB_E_AUDIT);
	assert_int_equal(count_lines(&m.buf), 1);
	lb_audit_head(a, &seq, NULL);
	assert_true(seq == 1);
	/* A record that cannot be formatted fails the same way. */
	assert_int_equal(lb_audit_append(a, &rec, 253402300800ULL, 0), LB_E_AUDIT);
	rec.kind = (enum lb_kind)99;
	assert_int_equal(lb_audit_append(a, &rec, T0 + 1, 0), LB_E_AUDIT);
	rec.kind = LB_KIND_SYMLINK;

	assert_int_equal(lb_audit_append(a, &rec, T0 + 2, 1), LB_OK);
	assert_int_equal(m.syncs, 1);
	lb_audit_close(a);
	assert_int_equal(count_lines(&m.buf), 2);
	off = line_at(&m.buf, 2, &len);
	assert_memory_equal(m.buf.data + off, "{\"seq\":2,", 9);
	assert_int_equal(verify_buf(&m.buf, NULL, msg, sizeof(msg), &records), LB_OK);
	assert_int_equal(records, 2);
	lb_buf_free(&m.buf);
}

/* A sync with nothing appended since the last good one asks the disk
 * for nothing: audit_sync = always has synced before answering, and the
 * 100 ms timer's sync of the same bytes could only fail (a failing disk)
 * and refuse the next request before its decision is written. */
static void
test_sync_with_nothing_new_is_no_sync(void **state)
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;
	struct memio m;

	(void)state;
	memio_init(&m);
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	sample_rec(&rec, "/home/alice/src/1");
	assert_int_equal(lb_audit_append(a, &rec, T0, 1), LB_OK);
	assert_int_equal(m.syncs, 1);
	m.fail_syncs = 1;               /* the disk would fail the next sync */
	assert_int_equal(lb_audit_sync(a), LB_OK);
	assert_int_equal(m.syncs, 1);
	assert_true(lb_audit_durable(a, 1));
	/* The next record still gets its sync, and its failure is seen. */
	sample_rec(&rec, "/home/alice/src/2");
	assert_int_equal(lb_audit_append(a, &rec, T0 + 1, 1), LB_E_AUDIT);
	assert_int_equal(m.syncs, 2);
	assert_false(lb_audit_durable(a, 2));
	assert_int_equal(count_lines(&m.buf), 2);
	lb_audit_close(a);
	lb_buf_free(&m.buf);
}

/* lb_audit_io.rewrite for the in-memory file: the bytes at OFF must be
 * the ones given (they are what was appended there), the file is cut to
 * their end; fails while fail_rewrites > 0. */
struct rwio {
	struct memio m;
	int fail_rewrites;
	unsigned rewrites;
	uint64_t last_off;
	size_t last_n;
};

static int
rw_rewrite(void *ctx, uint64_t off, const void *p, size_t n)
{
	struct rwio *w = ctx;

	w->rewrites++;
	w->last_off = off;
	w->last_n = n;
	if (w->fail_rewrites > 0) {
		w->fail_rewrites--;
		return LB_E_IO;
	}
	assert_true(off + n <= w->m.buf.len);
	assert_memory_equal(w->m.buf.data + off, p, n);
	w->m.buf.len = (size_t)(off + n);
	return LB_OK;
}

static void
test_failed_sync_repaired_by_writing_again(void **state)
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;
	struct lb_audit_io io;
	struct rwio w;
	char msg[512];
	size_t records, len1, len2;

	(void)state;
	memset(&w, 0, sizeof(w));
	memio_init(&w.m);
	io = mem_io(&w.m);
	io.ctx = &w;   /* struct memio is rwio's first member */
	io.rewrite = rw_rewrite;
	assert_int_equal(lb_audit_open(NULL, io, 0, NULL, NULL, &a), LB_OK);
	sample_rec(&rec, "/home/alice/src/1");
	assert_int_equal(lb_audit_append(a, &rec, T0, 1), LB_OK);      /* durable */
	len1 = w.m.buf.len;
	sample_rec(&rec, "/home/alice/src/2");
	assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);      /* batch: not yet */
	len2 = w.m.buf.len - len1;
	/* The batch sync fails: what is on disk is unknown. */
	w.m.fail_syncs = 1;
	assert_int_equal(lb_audit_sync(a), LB_E_AUDIT);
	assert_false(lb_audit_durable(a, 2));
	assert_int_equal(lb_audit_sync(a), LB_E_AUDIT);   /* no retry from a sync */
	/* The repair fails too (the disk is still bad): the append is refused
	 * and nothing appended; again in the same second: not even tried. */
	w.fail_rewrites = 1;
	sample_rec(&rec, "/home/alice/src/3");
	assert_int_equal(lb_audit_append(a, &rec, T0 + 1, 0), LB_E_AUDIT);
	assert_int_equal(w.rewrites, 1);
	assert_int_equal(lb_audit_append(a, &rec, T0 + 1, 0), LB_E_AUDIT);
	assert_int_equal(w.rewrites, 1);
	assert_int_equal(w.m.buf.len, len1 + len2);
	/* A second later the disk is back: exactly the bytes appended since
	 * the last good sync are written again, then the append goes on. */
	assert_int_equal(lb_audit_append(a, &rec, T0 + 2, 0), LB_OK);
	assert_int_equal(w.rewrites, 2);
	assert_int_equal(w.last_off, len1);
	assert_int_equal(w.last_n, len2);
	assert_true(lb_audit_durable(a, 2));
	assert_int_equal(lb_audit_sync(a), LB_OK);
	assert_true(lb_audit_durable(a, 3));
	assert_int_equal(lb_audit_bytes(a), w.m.buf.len);
	lb_audit_close(a);
	assert_int_equal(count_lines(&w.m.buf), 3);
	assert_int_equal(verify_buf(&w.m.buf, NULL, msg, sizeof(msg), &records), LB_OK);
	assert_int_equal(records, 3);
	lb_buf_free(&w.m.buf);
}

static void
test_failed_sync_refuses_until_reopened(void **state)
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;
	struct memio m, m2;
	char path[64], msg[512];
	size_t records;

	(void)state;
	memio_init(&m);
	memio_init(&m2);
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	sample_rec(&rec, "/home/alice/src/1");
	m.fail_syncs = 1;
	/* Appended but not known to be durable: the caller refuses. */
	assert_int_equal(lb_audit_append(a, &rec, T0, 1), LB_E_AUDIT);
	assert_int_equal(count_lines(&m.buf), 1);
	/* And every later write fails too, sync or not. */
	assert_int_equal(lb_audit_append(a, &rec, T0 + 1, 0), LB_E_AUDIT);
	assert_int_equal(lb_audit_sync(a), LB_E_AUDIT);
	assert_int_equal(m.appends, 1);
	lb_audit_close(a);
	/* Reopened, the log goes on from what the file holds. */
	tmp_path(path);
	write_file(path, m.buf.data, m.buf.len);
	assert_int_equal(lb_audit_open(path, mem_io(&m2), 0, NULL, NULL, &a), LB_OK);
	assert_int_equal(lb_audit_append(a, &rec, T0 + 2, 0), LB_OK);
	assert_int_equal(lb_audit_sync(a), LB_OK);
	lb_audit_close(a);
	assert_int_equal(remove(path), 0);
	assert_int_equal(lb_buf_put(&m.buf, m2.buf.data, m2.buf.len), LB_OK);
	assert_int_equal(verify_buf(&m.buf, NULL, msg, sizeof(msg), &records), LB_OK);
	assert_int_equal(records, 2);
	lb_buf_free(&m.buf);
	lb_buf_free(&m2.buf);
}

/* ---- signatures ---- */

/* A log of signed records; which == 0 makes the usual mix. */
static void
signed_log(struct memio *m, const struct signer *alice, struct lb_buf msg[3])
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;

	assert_int_equal(lb_audit_open(NULL, mem_io(m), 0, NULL, NULL, &a), LB_OK);
	sample_rec(&rec, "x");
	signed_rec(&rec, &msg[0], alice, LB_MSG_CREATE, "/home/alice/src/a", "/home/alice/t", T0, 1);
	assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);
	sample_rec(&rec, "x");
	rec.event = "check";
	rec.verdict = "denied";
	rec.error = LB_E_DENIED;
	signed_rec(&rec, &msg[1], alice, LB_MSG_CHECK, "/etc/x", "/home/alice/t", T0, 2);
	assert_int_equal(lb_audit_append(a, &rec, T0 + 1, 0), LB_OK);
	sample_rec(&rec, "x");
	rec.event = "status";
	signed_rec(&rec, &msg[2], alice, LB_MSG_STATUS, NULL, NULL, T0, 3);
	assert_int_equal(lb_audit_append(a, &rec, T0 + 2, 0), LB_OK);
	lb_audit_close(a);
}

static void
test_signatures_verify_against_the_policy(void **state)
{
	struct signer alice;
	struct lb_policy *p;
	struct lb_buf msg[3];
	struct memio m;
	char text[512];
	size_t records, i;

	(void)state;
	memio_init(&m);
	signer_new(&alice);
	p = policy_enrolling(&alice);
	signed_log(&m, &alice, msg);
	assert_int_equal(verify_buf(&m.buf, p, text, sizeof(text), &records), LB_OK);
	assert_int_equal(records, 3);
	assert_int_equal(verify_buf(&m.buf, NULL, text, sizeof(text), &records), LB_OK);
	lb_policy_free(p);
	for (i = 0; i < 3; i++)
		lb_buf_free(&msg[i]);
	lb_buf_free(&m.buf);
}

static void
test_tampered_request_fails_on_the_signature(void **state)
{
	struct signer alice;
	struct lb_policy *p;
	struct lb_buf msg[3], b64;
	struct lb_audit_line l;
	struct memio m;
	char text[512];
	size_t off, len, records, i;
	uint8_t *q;

	(void)state;
	memio_init(&m);
	signer_new(&alice);
	p = policy_enrolling(&alice);
	signed_log(&m, &alice, msg);
	lb_audit_line_init(&l);
	lb_buf_init(&b64, 1024);

	/* Flip one byte of the timestamp inside record 1's request and
	 * re-encode it; then recompute the whole chain. */
	off = line_at(&m.buf, 1, &len);
	assert_int_equal(lb_audit_line_parse(&l, (const char *)m.buf.data + off, len - 1, NULL), LB_OK);
	{
		static uint8_t req[LB_FRAME_MAX];
		static char enc[4 * (LB_FRAME_MAX / 3 + 1) + 1];
		size_t n = l.request_len;

		memcpy(req, l.request, n);
		req[10] ^= 0x01;       /* the low byte of the timestamp */
		sodium_bin2base64(enc, sizeof(enc), req, n, sodium_base64_VARIANT_ORIGINAL);
		q = find_last(m.buf.data + off, len, "\"request\":\"");
		assert_non_null(q);
		splice(&m.buf, (size_t)(q - m.buf.data) + 11, strlen(enc), enc, strlen(enc));
	}
	rechain(&m.buf);
	/* The chain is intact, the request decodes and says what the record
	 * says: only the signature can tell. */
	assert_int_equal(verify_buf(&m.buf, NULL, text, sizeof(text), &records), LB_OK);
	assert_int_equal(verify_buf(&m.buf, p, text, sizeof(text), &records), LB_E_AUDIT);
	assert_string_equal(text, "1: the request's signature does not verify");
	assert_int_equal(records, 0);

	lb_audit_line_free(&l);
	lb_buf_free(&b64);
	lb_policy_free(p);
	for (i = 0; i < 3; i++)
		lb_buf_free(&msg[i]);
	lb_buf_free(&m.buf);
}

static void
test_readable_fields_must_match_the_signed_request(void **state)
{
	struct signer alice;
	struct lb_buf msg[3];
	struct memio m;
	char text[512];
	uint8_t *q;
	size_t i, off, len;

	(void)state;
	memio_init(&m);
	signer_new(&alice);
	signed_log(&m, &alice, msg);
	/* The log says another link than the one alice signed for. */
	off = line_at(&m.buf, 1, &len);
	q = find_last(m.buf.data + off, len, "\"link\":\"/home/alice/src/a\"");
	assert_non_null(q);
	q[strlen("\"link\":\"/home/alice/src/")] = 'b';
	rechain(&m.buf);
	assert_int_equal(verify_buf(&m.buf, NULL, text, sizeof(text), NULL), LB_E_AUDIT);
	assert_string_equal(text, "1: \"link\" differs from the signed request");
	for (i = 0; i < 3; i++)
		lb_buf_free(&msg[i]);
	lb_buf_free(&m.buf);
}

/* One record signed by MALLORY (not enrolled) with EVENT/VERDICT/ERROR. */
static int
verify_unenrolled(const struct lb_policy *p, const struct signer *mallory,
    const char *event, const char *verdict, int error, int garble, char *text, size_t cap)
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;
	struct lb_buf msg;
	struct memio m;
	uint8_t sig[LB_SIG_BYTES];
	int rc;

	memio_init(&m);
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	sample_rec(&rec, "x");
	rec.event = event;
	rec.verdict = verdict;
	rec.error = error;
	rec.key_name = NULL;
	if (strcmp(event, "status") == 0)
		signed_rec(&rec, &msg, mallory, LB_MSG_STATUS, NULL, NULL, T0, 9);
	else
		signed_rec(&rec, &msg, mallory, LB_MSG_CREATE, "/home/alice/src/a",
		    "/home/alice/t", T0, 9);
	if (garble) {
		memcpy(sig, rec.sig, LB_SIG_BYTES);
		sig[0] ^= 0x80;
		rec.sig = sig;
	}
	assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);
	lb_audit_close(a);
	rc = verify_buf(&m.buf, p, text, cap, NULL);
	lb_buf_free(&msg);
	lb_buf_free(&m.buf);
	return rc;
}

static void
test_unenrolled_keys(void **state)
{
	struct signer alice, mallory;
	struct lb_policy *p;
	char text[512];

	(void)state;
	signer_new(&alice);
	signer_new(&mallory);
	p = policy_enrolling(&alice);
	/* Something done for a key the policy does not know. */
	assert_int_equal(verify_unenrolled(p, &mallory, "create", "allowed", LB_OK, 0,
	    text, sizeof(text)), LB_E_AUDIT);
	assert_string_equal(text, "1: signed by a key not enrolled in the policy");
	assert_int_equal(verify_unenrolled(p, &mallory, "reject", "denied", LB_E_DENIED, 0,
	    text, sizeof(text)), LB_E_AUDIT);
	assert_string_equal(text, "1: signed by a key not enrolled in the policy");
	/* Refused for its unknown key: checked against the key it carries. */
	assert_int_equal(verify_unenrolled(p, &mallory, "reject", "denied", LB_E_KEY_UNKNOWN, 0,
	    text, sizeof(text)), LB_OK);
	assert_int_equal(verify_unenrolled(p, &mallory, "reject", "denied", LB_E_KEY_UNKNOWN, 1,
	    text, sizeof(text)), LB_E_AUDIT);
	assert_string_equal(text, "1: the request's signature does not verify");
	/* Any key may ask for its status. */
	assert_int_equal(verify_unenrolled(p, &mallory, "status", "allowed", LB_OK, 0,
	    text, sizeof(text)), LB_OK);
	/* A refused forgery is recorded as such: nothing to verify. */
	assert_int_equal(verify_unenrolled(p, &alice, "reject", "failed", LB_E_SIG, 1,
	    text, sizeof(text)), LB_OK);
	/* ...but a bad signature on anything else is tampering. */
	assert_int_equal(verify_unenrolled(p, &alice, "create", "allowed", LB_OK, 1,
	    text, sizeof(text)), LB_E_AUDIT);
	assert_string_equal(text, "1: the request's signature does not verify");
	lb_policy_free(p);
}

static void
test_allowed_without_a_request_fails_with_a_policy(void **state)
{
	struct signer alice;
	struct lb_policy *p;
	struct memio m;
	char text[512];

	(void)state;
	signer_new(&alice);
	p = policy_enrolling(&alice);
	memio_init(&m);
	make_log(&m, 2);
	assert_int_equal(verify_buf(&m.buf, NULL, text, sizeof(text), NULL), LB_OK);
	assert_int_equal(verify_buf(&m.buf, p, text, sizeof(text), NULL), LB_E_AUDIT);
	assert_string_equal(text, "1: allowed without a signed request");
	lb_policy_free(p);
	lb_buf_free(&m.buf);
}

/* A "made" record: the link's identity in "file" (after "sig"), no request
 * of its own; "file" anywhere else, or a made record with a request, is
 * refused; identities are checked character by character. */
static void
test_made_record_carries_the_file_identity(void **state)
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;
	struct lb_audit_line l;
	struct memio m;
	char text[512];
	size_t off, len;
	static const uint8_t fake[LB_SIG_BYTES] = { 1 };

	(void)state;
	assert_true(lb_file_id_ok("2049:1234567", 12));
	assert_true(lb_file_id_ok("a1b2c3d4:00000000000000ff", 25));
	assert_false(lb_file_id_ok(":1", 2));
	assert_false(lb_file_id_ok("1:", 2));
	assert_false(lb_file_id_ok("1:2:3", 5));
	assert_false(lb_file_id_ok("12", 2));
	assert_false(lb_file_id_ok("1:A", 3));            /* lower-case hex only */
	assert_false(lb_file_id_ok("1:\"", 3));
	assert_false(lb_file_id_ok("1:2", 0));
	assert_false(lb_file_id_ok("1111111111111111111111111:11111111111111111111111", 48));

	memio_init(&m);
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	sample_rec(&rec, "/home/alice/src/l1");
	assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);
	rec.event = "made";
	rec.reason = "made as decided in record 1";
	rec.file = "2049:1234567";
	assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);
	rec.file = "2049:x";                              /* not an identity: not written */
	assert_int_not_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);
	lb_audit_close(a);
	assert_int_equal(count_lines(&m.buf), 2);
	off = line_at(&m.buf, 2, &len);
	assert_non_null(find_last(m.buf.data + off, len,
	    "\"request\":null,\"sig\":null,\"file\":\"2049:1234567\",\"prev\":\""));
	lb_audit_line_init(&l);
	assert_int_equal(lb_audit_line_parse(&l, (const char *)m.buf.data + off, len - 1, NULL), LB_OK);
	assert_true(l.has_file);
	assert_string_equal(l.file, "2049:1234567");
	lb_audit_line_free(&l);
	assert_int_equal(verify_buf(&m.buf, NULL, text, sizeof(text), NULL), LB_OK);

	/* A made record must name an allowed create of the same user, kind
	 * and link that no other made record named. */
	{
		static const struct {
			const char *reason, *link, *want;
		} bad[] = {
			{ "made as decided in record 1", "/home/alice/src/l1",
			  "3: a made record whose record 1 is not an allowed create of the same user, kind and link (or was made already)" },
			{ "made as decided in record 2", "/home/alice/src/l1",
			  "3: a made record whose record 2 is not an allowed create of the same user, kind and link (or was made already)" },
			{ "made as decided in record 1", "/home/alice/src/other",
			  "3: a made record whose record 1 is not an allowed create of the same user, kind and link (or was made already)" },
			{ "made as decided in record 3", "/home/alice/src/l1",
			  "3: a made record that does not name the decision before it" },
			{ "made as decided in record 01", "/home/alice/src/l1",
			  "3: a made record that does not name the decision before it" },
			{ "made", "/home/alice/src/l1", "3: a made record that does not name the decision before it" },
		};
		size_t b;

		for (b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			struct memio m2;

			memio_init(&m2);
			assert_int_equal(lb_audit_open(NULL, mem_io(&m2), 0, NULL, NULL, &a), LB_OK);
			sample_rec(&rec, "/home/alice/src/l1");
			assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);   /* 1: allowed */
			/* 2: made of 1 (first case: 1 is then used up), or denied */
			if (b == 0) {
				rec.event = "made";
				rec.reason = "made as decided in record 1";
			} else {
				rec.verdict = "denied";
			}
			assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);
			sample_rec(&rec, bad[b].link);
			rec.event = "made";
			rec.reason = bad[b].reason;
			assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);    /* 3 */
			lb_audit_close(a);
			assert_int_equal(verify_buf(&m2.buf, NULL, text, sizeof(text), NULL), LB_E_AUDIT);
			assert_string_equal(text, bad[b].want);
			lb_buf_free(&m2.buf);
		}
	}

	/* "file" on a record that is not a made one */
	lb_buf_free(&m.buf);
	memio_init(&m);
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	sample_rec(&rec, "/home/alice/src/l1");
	rec.file = "2049:1";
	assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);
	lb_audit_close(a);
	assert_int_equal(verify_buf(&m.buf, NULL, text, sizeof(text), NULL), LB_E_AUDIT);
	assert_string_equal(text, "1: a file identity outside a made or removed record");

	/* a made record with a request of its own */
	lb_buf_free(&m.buf);
	memio_init(&m);
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	sample_rec(&rec, "/home/alice/src/l1");
	rec.event = "made";
	rec.sig = fake;
	assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);
	lb_audit_close(a);
	assert_int_equal(verify_buf(&m.buf, NULL, text, sizeof(text), NULL), LB_E_AUDIT);
	assert_string_equal(text, "1: a made or removed record must be allowed, name its kind and link, and carry no request");
	lb_buf_free(&m.buf);
}

/* ---- the command ---- */

static void
test_verify_audit_command_exit_codes(void **state)
{
	struct signer alice;
	struct lb_buf msg[3], pol;
	struct memio m;
	char log[64], ini[64], missing[64];
	size_t i;

	(void)state;
	memio_init(&m);
	signer_new(&alice);
	signed_log(&m, &alice, msg);
	tmp_path(log);
	tmp_path(ini);
	tmp_path(missing);
	write_file(log, m.buf.data, m.buf.len);
	lb_buf_init(&pol, 4096);
	assert_int_equal(lb_buf_printf(&pol, "[key:alice]\nuser = alice\npublic_key = %s\n",
	    alice.b64), LB_OK);
	write_file(ini, pol.data, pol.len);
	{
		char *intact[] = { "verify-audit", log, NULL };
		char *with_policy[] = { "verify-audit", log, "--config", ini, "--flavor", "posix", NULL };
		char *no_file[] = { "verify-audit", missing, NULL };
		char *bad_config[] = { "verify-audit", log, "--config", missing, NULL };
		char *usage[] = { "verify-audit", NULL };
		char *two[] = { "verify-audit", log, log, NULL };
		char *bad_flavor[] = { "verify-audit", log, "--flavor", "dos", NULL };

		assert_int_equal(lb_cmd_verify_audit(2, intact), 0);
		assert_int_equal(lb_cmd_verify_audit(6, with_policy), 0);
		assert_int_equal(lb_cmd_verify_audit(2, no_file), 2);
		assert_int_equal(lb_cmd_verify_audit(4, bad_config), 2);
		assert_int_equal(lb_cmd_verify_audit(1, usage), 2);
		/* The same file twice is a set whose files hold the same records. */
		assert_int_equal(lb_cmd_verify_audit(3, two), 1);
		assert_int_equal(lb_cmd_verify_audit(4, bad_flavor), 2);
		/* Broken: one byte changed. */
		m.buf.data[20] ^= 0x01;
		write_file(log, m.buf.data, m.buf.len);
		assert_int_equal(lb_cmd_verify_audit(2, intact), 1);
	}
	assert_int_equal(remove(log), 0);
	assert_int_equal(remove(ini), 0);
	lb_buf_free(&pol);
	for (i = 0; i < 3; i++)
		lb_buf_free(&msg[i]);
	lb_buf_free(&m.buf);
}

static void
test_unreadable_log_is_not_called_broken(void **state)
{
	struct lb_buf m;
	char path[64];
	size_t records = 7;

	(void)state;
	lb_buf_init(&m, 4096);
	tmp_path(path);
	assert_int_equal(lb_audit_verify(path, NULL, &m, &records), LB_E_IO);
	assert_true(m.len > 0);
	assert_memory_equal(m.data, "cannot open the file: ", 22);
	assert_int_equal(records, 0);
	lb_buf_free(&m);
}

/* ---- rotation: one chain over several files ---- */

/* NAMES[i] gets file i of a log rotated twice: 3 records and a "rotate";
 * a "reopen", 2 records and a "rotate"; a "reopen" and 2 records. */
static void
rotated_set(char names[3][64], const char *base)
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;
	struct memio m;
	uint64_t t = T0;
	size_t f, i;

	memio_init(&m);
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	for (f = 0; f < 3; f++) {
		if (f > 0)
			assert_int_equal(lb_audit_begin_file(a, "rotated", 0, t++), LB_OK);
		for (i = 0; i < (f == 0 ? 3u : 2u); i++) {
			sample_rec(&rec, "/home/alice/src/r");
			assert_int_equal(lb_audit_append(a, &rec, t++, 0), LB_OK);
		}
		if (f < 2)
			assert_int_equal(lb_audit_end_file(a, base, t++), LB_OK);
		/* oldest first: base.2, base.1, base */
		if (f < 2)
			snprintf(names[f], 64, "%s.%zu", base, 2 - f);
		else
			snprintf(names[f], 64, "%s", base);
		write_file(names[f], m.buf.data, m.buf.len);
		lb_buf_reset(&m.buf);   /* the platform's new, empty file */
	}
	lb_audit_close(a);
	lb_buf_free(&m.buf);
}

static enum lb_audit_set_verdict
verify_set(const char *const *p, size_t n, char *out, size_t cap, size_t *records)
{
	enum lb_audit_set_verdict v = LB_AUDIT_SET_BROKEN;
	struct lb_buf m;

	lb_buf_init(&m, 64 * 1024);
	assert_int_equal(lb_audit_verify_set(p, n, NULL, &m, records, &v), LB_OK);
	snprintf(out, cap, "%.*s", (int)m.len, (const char *)m.data);
	lb_buf_free(&m);
	return v;
}

static void
test_rotation_records_end_and_begin_a_file(void **state)
{
	char names[3][64], base[64], msg[4096], want[256];
	struct lb_buf b;
	struct lb_audit_line l;
	uint8_t h[LB_HASH_BYTES], hex[2 * LB_HASH_BYTES];
	size_t off, len, records = 0;

	(void)state;
	tmp_path(base);
	rotated_set(names, base);
	lb_buf_init(&b, 1024 * 1024);
	lb_audit_line_init(&l);
	/* The old file ends with a "rotate" naming the next file. */
	read_file(names[0], &b);
	assert_int_equal(count_lines(&b), 4);
	off = line_at(&b, 4, &len);
	assert_int_equal(lb_audit_line_parse(&l, (const char *)b.data + off, len - 1, NULL), LB_OK);
	assert_int_equal(l.seq, 4);
	assert_int_equal(l.event.raw_len, 6);
	assert_memory_equal(l.event.raw, "rotate", 6);
	snprintf(want, sizeof(want), "rotated: this file ends here; the log continues in %s", base);
	assert_int_equal(l.reason.raw_len, strlen(want));
	assert_memory_equal(l.reason.raw, want, strlen(want));
	hash_of_line(&b, 4, h);
	/* The new file's first record continues it: seq 5, prev its hash. */
	read_file(names[1], &b);
	off = line_at(&b, 1, &len);
	assert_int_equal(lb_audit_line_parse(&l, (const char *)b.data + off, len - 1, NULL), LB_OK);
	assert_int_equal(l.seq, 5);
	assert_memory_equal(l.event.raw, "reopen", 6);
	assert_memory_equal(l.prev, h, LB_HASH_BYTES);
	put_hex(hex, h);
	snprintf(want, sizeof(want), "continues the log from seq 4 hash %.64s: rotated", (const char *)hex);
	assert_int_equal(l.reason.raw_len, strlen(want));
	assert_memory_equal(l.reason.raw, want, strlen(want));
	/* Each file verifies alone, the later ones as continuing. */
	assert_int_equal(lb_audit_verify(names[0], NULL, NULL, &records), LB_OK);
	assert_int_equal(records, 4);
	assert_int_equal(lb_audit_verify(names[1], NULL, NULL, &records), LB_OK);
	assert_int_equal(records, 4);
	{
		const char *one[] = { names[1] };

		assert_int_equal(verify_set(one, 1, msg, sizeof(msg), &records), LB_AUDIT_SET_INTACT);
		assert_non_null(strstr(msg, "continuing an earlier file not given"));
	}
	lb_audit_line_free(&l);
	lb_buf_free(&b);
	for (off = 0; off < 3; off++)
		assert_int_equal(remove(names[off]), 0);
}

static void
test_verify_set_orders_by_chain_and_reports_gaps(void **state)
{
	char names[3][64], base[64], msg[4096], moved[3][80];
	size_t records = 0, i;

	(void)state;
	tmp_path(base);
	rotated_set(names, base);
	{
		/* Any argument order: checked in the chain's. */
		const char *all[] = { names[2], names[0], names[1] };
		const char *gap[] = { names[2], names[0] };
		const char *no_newest[] = { names[0], names[1] };
		const char *twice[] = { names[0], names[1], names[1], names[2] };

		assert_int_equal(verify_set(all, 3, msg, sizeof(msg), &records), LB_AUDIT_SET_INTACT);
		assert_int_equal(records, 11);
		assert_non_null(strstr(msg, "3 files: intact, one chain, 11 records"));
		assert_int_equal(verify_set(gap, 2, msg, sizeof(msg), &records), LB_AUDIT_SET_MISSING);
		assert_non_null(strstr(msg, "a file is missing between"));
		assert_non_null(strstr(msg, "seq 5..8 are in no file given"));
		assert_int_equal(verify_set(no_newest, 2, msg, sizeof(msg), &records),
		    LB_AUDIT_SET_MISSING);
		assert_non_null(strstr(msg, "the newest file (seq 9 on) is missing"));
		assert_int_equal(verify_set(twice, 4, msg, sizeof(msg), &records), LB_AUDIT_SET_BROKEN);
		assert_non_null(strstr(msg, "both hold seq"));
	}
	/* Renamed out of order: the numbers say .1 is newer than .2. */
	for (i = 0; i < 3; i++)
		snprintf(moved[i], sizeof(moved[i]), "%s%s", base, i == 0 ? ".1" : i == 1 ? ".2" : "");
	assert_int_equal(rename(names[0], "swap.tmp"), 0);
	assert_int_equal(rename(names[1], moved[1]), 0);
	assert_int_equal(rename("swap.tmp", moved[0]), 0);
	{
		const char *swapped[] = { moved[2], moved[1], moved[0] };

		assert_int_equal(verify_set(swapped, 3, msg, sizeof(msg), &records),
		    LB_AUDIT_SET_REORDERED);
		assert_non_null(strstr(msg, "out of order"));
	}
	for (i = 0; i < 3; i++)
		assert_int_equal(remove(moved[i]), 0);
}

static void
test_a_file_cut_at_its_start_is_not_a_rotated_one(void **state)
{
	struct memio m;
	struct lb_buf b;
	struct lb_audit_rec rec;
	uint8_t prev[LB_HASH_BYTES];
	char msg[512];
	size_t off, len;

	(void)state;
	memio_init(&m);
	make_log(&m, 5);
	/* Records 1 and 2 removed: seq 3 first, and no reopen says why. */
	off = line_at(&m.buf, 3, &len);
	assert_int_equal(verify_bytes(m.buf.data + off, m.buf.len - off, NULL, msg, sizeof(msg), NULL),
	    LB_E_AUDIT);
	assert_names_line(msg, 1);
	/* A reopen that names another record than its prev is refused. */
	lb_buf_init(&b, 64 * 1024);
	memset(prev, 0x11, sizeof(prev));
	memset(&rec, 0, sizeof(rec));
	rec.event = "reopen";
	rec.verdict = "allowed";
	rec.kind = LB_KIND_NONE;
	rec.reason = "continues the log from seq 6 hash " ZEROS64 ": rotated";
	assert_int_equal(lb_audit_format_line(&b, &rec, 7, T0, prev, NULL), LB_OK);
	assert_int_equal(verify_bytes(b.data, b.len, NULL, msg, sizeof(msg), NULL), LB_E_AUDIT);
	assert_non_null(strstr(msg, "a reopen record that does not name the record before it"));
	lb_buf_free(&b);
	lb_buf_free(&m.buf);
}

/* Start-up reads only the tail: a bad line long before the clock window
 * is not read (the whole-file read refuses it), and what is in the window
 * is remembered. */
static void
test_open_reads_only_the_tail(void **state)
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;
	struct lb_audit_start st;
	struct lb_buf msg[2];
	struct signer alice;
	struct memio m, m2;
	struct seen seen;
	char path[64], link[1100];
	uint64_t seq;
	size_t i, off, len;

	(void)state;
	memio_init(&m);
	memio_init(&m2);
	signer_new(&alice);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	memset(link, 'a', sizeof(link) - 1);
	link[sizeof(link) - 1] = '\0';
	/* 4 MiB of old records, then two recent signed ones. */
	for (i = 0; i < 3000; i++) {
		sample_rec(&rec, link);
		assert_int_equal(lb_audit_append(a, &rec, T0, 0), LB_OK);
	}
	for (i = 0; i < 2; i++) {
		sample_rec(&rec, "x");
		signed_rec(&rec, &msg[i], &alice, LB_MSG_CREATE, "/home/alice/src/l", "/home/alice/t",
		    T0 + 10000 + i, (uint8_t)(0xb0 + i));
		assert_int_equal(lb_audit_append(a, &rec, T0 + 10000 + i, 0), LB_OK);
	}
	lb_audit_close(a);
	/* Line 10 is damaged: only verify-audit (and a whole read) find it. */
	off = line_at(&m.buf, 10, &len);
	m.buf.data[off] = 'X';
	tmp_path(path);
	write_file(path, m.buf.data, m.buf.len);
	assert_int_equal(lb_audit_open(path, mem_io(&m2), 0, NULL, NULL, &a), LB_E_AUDIT);
	memset(&st, 0, sizeof(st));
	st.path = path;
	st.since = T0 + 10000 - 60;
	st.window_s = 60;
	assert_int_equal(lb_audit_open_tail(&st, mem_io(&m2), on_record, &seen, &a), LB_OK);
	lb_audit_head(a, &seq, NULL);
	assert_int_equal(seq, 3002);
	assert_int_equal(seen.n, 2);
	lb_audit_close(a);
	assert_int_equal(m2.buf.len, 0);   /* nothing to seal, nothing written */
	assert_int_equal(remove(path), 0);
	for (i = 0; i < 2; i++)
		lb_buf_free(&msg[i]);
	lb_buf_free(&m.buf);
	lb_buf_free(&m2.buf);
}

/* `mv audit.log audit.log.1` while stopped: the new file continues the
 * chain of the old one, and its recent requests are remembered. */
static void
test_open_on_a_new_file_continues_the_previous_one(void **state)
{
	struct lb_audit *a = NULL;
	struct lb_audit_rec rec;
	struct lb_audit_start st;
	struct lb_audit_line l;
	struct lb_buf msg;
	struct signer alice;
	struct memio m, m2;
	struct seen seen;
	char path[64], prev[64];
	uint8_t h[LB_HASH_BYTES];
	uint64_t seq;
	size_t len;

	(void)state;
	memio_init(&m);
	memio_init(&m2);
	signer_new(&alice);
	memset(&seen, 0, sizeof(seen));
	lb_audit_line_init(&l);
	make_log(&m, 3);
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	lb_audit_close(a);
	{
		/* A fourth, signed record after the three. */
		struct lb_audit *b = NULL;

		tmp_path(prev);
		write_file(prev, m.buf.data, m.buf.len);
		assert_int_equal(lb_audit_open(prev, mem_io(&m), 0, NULL, NULL, &b), LB_OK);
		sample_rec(&rec, "x");
		signed_rec(&rec, &msg, &alice, LB_MSG_CREATE, "/home/alice/src/l", "/home/alice/t",
		    T0 + 50, 0xc1);
		assert_int_equal(lb_audit_append(b, &rec, T0 + 50, 0), LB_OK);
		lb_audit_close(b);
		write_file(prev, m.buf.data, m.buf.len);
	}
	hash_of_line(&m.buf, 4, h);
	tmp_path(path);
	write_file(path, NULL, 0);
	memset(&st, 0, sizeof(st));
	st.path = path;
	st.since = T0;
	st.window_s = 60;
	/* Without the previous file: a new chain, nothing remembered. */
	assert_int_equal(lb_audit_open_tail(&st, mem_io(&m2), on_record, &seen, &a), LB_OK);
	lb_audit_head(a, &seq, NULL);
	assert_int_equal(seq, 0);
	assert_int_equal(seen.n, 0);
	lb_audit_close(a);
	st.prev_path = prev;
	assert_int_equal(lb_audit_open_tail(&st, mem_io(&m2), on_record, &seen, &a), LB_OK);
	lb_audit_head(a, &seq, NULL);
	assert_int_equal(seq, 5);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.ts[0], T0 + 50);
	lb_audit_close(a);
	/* Its first record: a reopen chained to the old file's last. */
	assert_int_equal(count_lines(&m2.buf), 1);
	len = m2.buf.len;
	assert_int_equal(lb_audit_line_parse(&l, (const char *)m2.buf.data, len - 1, NULL), LB_OK);
	assert_int_equal(l.seq, 5);
	assert_memory_equal(l.event.raw, "reopen", 6);
	assert_memory_equal(l.prev, h, LB_HASH_BYTES);
	write_file(path, m2.buf.data, m2.buf.len);
	{
		const char *set[] = { path, prev };
		char out[2048];
		size_t records = 0;

		assert_int_equal(verify_set(set, 2, out, sizeof(out), &records), LB_AUDIT_SET_INTACT);
		assert_int_equal(records, 5);
	}
	assert_int_equal(remove(path), 0);
	assert_int_equal(remove(prev), 0);
	lb_audit_line_free(&l);
	lb_buf_free(&msg);
	lb_buf_free(&m.buf);
	lb_buf_free(&m2.buf);
}

/* ---- batches: one "batch" record with the signed batch, then one record
 * per entry naming it (hash, index) ---- */

struct tbatch {
	struct lb_batch b;
	struct lb_buf msg;                   /* body then signature */
	uint8_t hash[LB_HASH_BYTES];
	char links[4][48];
};

/* A batch of N symlinks /home/alice/src/{TAG}{i} -> /home/alice/t, signed by S. */
static void
tbatch_make(struct tbatch *t, const struct signer *s, const char *tag, size_t n, uint8_t nonce)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->b.version = LB_WIRE_VERSION_BATCH;
	t->b.type = LB_MSG_BATCH;
	t->b.timestamp = T0;
	memset(t->b.nonce, nonce, LB_NONCE_BYTES);
	memcpy(t->b.key, s->pk, LB_PK_BYTES);
	t->b.n = n;
	for (i = 0; i < n; i++) {
		snprintf(t->links[i], sizeof(t->links[i]), "/home/alice/src/%.8s%u", tag, (unsigned)i);
		t->b.e[i] = (struct lb_batch_entry){ LB_MSG_CREATE, LB_KIND_SYMLINK, t->links[i],
		    strlen(t->links[i]), "/home/alice/t", 13 };
	}
	lb_buf_init(&t->msg, LB_FRAME_MAX);
	assert_int_equal(lb_batch_sign_encode(&t->b, s->sk, &t->msg), LB_OK);
	assert_int_equal(lb_hash(t->hash, t->msg.data, t->msg.len - LB_SIG_BYTES), LB_OK);
}

static void
tbatch_rec(struct lb_audit_rec *r, const struct tbatch *t)
{
	sample_rec(r, "x");
	r->event = "batch";
	r->kind = LB_KIND_NONE;
	r->link = r->target = NULL;
	r->link_len = r->target_len = 0;
	r->link_resolved = r->target_resolved = NULL;
	r->rule = NULL;
	r->reason = "a batch";
	r->request = t->msg.data;
	r->request_len = t->msg.len - LB_SIG_BYTES;
	r->sig = t->msg.data + r->request_len;
}

static void
tentry_rec(struct lb_audit_rec *r, const struct tbatch *t, uint32_t i)
{
	sample_rec(r, t->links[i]);
	r->batch = t->hash;
	r->index = i;
}

/* The log of RECS[0..N), chained as the broker would (or as someone who
 * rewrote it would: every hash is right). */
static void
log_of(struct lb_buf *out, const struct lb_audit_rec *recs, size_t n)
{
	uint8_t prev[LB_HASH_BYTES] = { 0 }, h[LB_HASH_BYTES];
	size_t i;

	lb_buf_init(out, 16 * LB_AUDIT_LINE_MAX);
	for (i = 0; i < n; i++) {
		assert_int_equal(lb_audit_format_line(out, &recs[i], i + 1, T0, prev, h), LB_OK);
		memcpy(prev, h, LB_HASH_BYTES);
	}
}

/* Verify RECS[0..N) rewritten into a log: the result, MSG the message. */
static int
verify_recs(const struct lb_audit_rec *recs, size_t n, const struct lb_policy *p, char *msg,
    size_t cap)
{
	struct lb_buf b;
	int rc;

	log_of(&b, recs, n);
	rc = verify_buf(&b, p, msg, cap, NULL);
	lb_buf_free(&b);
	return rc;
}

static void
expect_broken(const struct lb_audit_rec *recs, size_t n, const struct lb_policy *p,
    const char *want)
{
	char msg[1024];

	assert_int_equal(verify_recs(recs, n, p, msg, sizeof(msg)), LB_E_AUDIT);
	if (strstr(msg, want) == NULL)
		fail_msg("expected \"%s\", got: %s", want, msg);
}

static void
test_batch_records_prove_each_entry(void **state)
{
	struct signer s;
	struct tbatch *a = malloc(sizeof(*a)), *bb = malloc(sizeof(*bb));
	struct lb_audit_rec recs[9], t[9];
	struct lb_policy *pol;
	struct lb_buf line;
	struct lb_audit_line l;
	char msg[1024];
	uint8_t key[LB_PK_BYTES], nonce[LB_NONCE_BYTES];
	uint64_t ts;
	size_t n = 0;

	(void)state;
	assert_non_null(a);
	assert_non_null(bb);
	signer_new(&s);
	pol = policy_enrolling(&s);
	tbatch_make(a, &s, "a", 3, 0x11);
	tbatch_make(bb, &s, "b", 2, 0x22);
	tbatch_rec(&recs[n++], a);                /* line 1 */
	tentry_rec(&recs[n++], a, 0);             /* 2 */
	tentry_rec(&recs[n++], a, 1);             /* 3 */
	tentry_rec(&recs[n++], a, 2);             /* 4 */
	tbatch_rec(&recs[n++], bb);               /* 5 */
	tentry_rec(&recs[n++], bb, 0);            /* 6 */
	tentry_rec(&recs[n++], bb, 1);            /* 7 */
	sample_rec(&recs[n++], "/home/alice/src/single");   /* 8: not in a batch */
	recs[7].kind = LB_KIND_SYMLINK;
	{
		/* the single one with its own signed request */
		static struct lb_buf one;

		signed_rec(&recs[7], &one, &s, LB_MSG_CREATE, "/home/alice/src/single",
		    "/home/alice/t", T0, 0x33);
	}
	assert_int_equal(verify_recs(recs, n, pol, msg, sizeof(msg)), LB_OK);
	assert_int_equal(verify_recs(recs, n, NULL, msg, sizeof(msg)), LB_OK);

	/* the line carries the batch's hash and the entry's index, and parses back */
	log_of(&line, recs, 3);
	assert_non_null(strstr((const char *)line.data, ",\"request\":null,\"sig\":null,\"batch\":\""));
	assert_non_null(strstr((const char *)line.data, "\",\"index\":1,\"prev\":\""));
	lb_audit_line_init(&l);
	{
		size_t len, off = line_at(&line, 3, &len);

		assert_int_equal(lb_audit_line_parse(&l, (const char *)line.data + off, len - 1, NULL), LB_OK);
		assert_true(l.in_batch);
		assert_int_equal(l.index, 1);
		assert_memory_equal(l.batch, a->hash, LB_HASH_BYTES);
		off = line_at(&line, 1, &len);
		assert_int_equal(lb_audit_line_parse(&l, (const char *)line.data + off, len - 1, NULL), LB_OK);
		assert_false(l.in_batch);
		/* the batch's nonce is what start-up remembers against replay */
		assert_int_equal(lb_audit_line_origin(&l, key, nonce, &ts), LB_OK);
		assert_memory_equal(key, s.pk, LB_PK_BYTES);
		assert_int_equal(nonce[0], 0x11);
		assert_int_equal(ts, T0);
	}
	lb_audit_line_free(&l);
	lb_buf_free(&line);

	/* a changed entry (the chain rewritten around it) */
	memcpy(t, recs, sizeof(recs));
	t[2].link = "/home/alice/src/other";
	t[2].link_len = strlen(t[2].link);
	expect_broken(t, n, NULL, "3: \"link\" differs from entry 1 of the signed batch at line 1");
	memcpy(t, recs, sizeof(recs));
	t[2].event = "check";
	expect_broken(t, n, NULL, "3: \"event\" differs from entry 1");
	/* a dropped entry: in the middle, and the last of a batch */
	memcpy(t, recs, sizeof(recs));
	memmove(&t[2], &t[3], (n - 3) * sizeof(t[0]));
	expect_broken(t, n - 1, NULL, "3: entry 2 of the batch at line 1, expected entry 1");
	memcpy(t, recs, sizeof(recs));
	memmove(&t[3], &t[4], (n - 4) * sizeof(t[0]));
	expect_broken(t, n - 1, NULL, "4: the batch at line 1 has 3 entries and 2 records of them: "
	    "entry 2 is missing");
	/* the log ends inside a batch */
	expect_broken(recs, 6, NULL, "the batch at line 5 has 2 entries and the log ends after 1");
	/* the batch record removed */
	memcpy(t, recs, sizeof(recs));
	memmove(&t[4], &t[5], (n - 5) * sizeof(t[0]));
	expect_broken(t, n - 1, NULL, "5: a batch's entry whose batch record is not before it");
	expect_broken(&recs[1], n - 1, NULL, "1: a batch's entry whose batch record is not before it");
	/* an entry moved to another batch: B's first entry in A's last place */
	memcpy(t, recs, sizeof(recs));
	t[3] = recs[5];
	expect_broken(t, n, NULL, "4: a batch's entry that names another batch than the one at line 1");
	/* or renamed to claim A's entry 2 */
	memcpy(t, recs, sizeof(recs));
	t[3].batch = bb->hash;
	expect_broken(t, n, NULL, "4: a batch's entry that names another batch");
	/* a batch record whose signed batch was altered: the signature says so */
	{
		struct tbatch *c = malloc(sizeof(*c));

		assert_non_null(c);
		memcpy(c, a, sizeof(*c));
		lb_buf_init(&c->msg, LB_FRAME_MAX);
		assert_int_equal(lb_buf_put(&c->msg, a->msg.data, a->msg.len), LB_OK);
		c->msg.data[70] ^= 1;   /* a byte of entry 0's link */
		memcpy(t, recs, sizeof(recs));
		tbatch_rec(&t[0], c);
		expect_broken(t, n, pol, "1: the batch's signature does not verify");
		/* and without the policy: entry 0 no longer says what was signed */
		expect_broken(t, n, NULL, "2: a batch's entry that names another batch");
		lb_buf_free(&c->msg);
		free(c);
	}
	/* a batch record naming a link, or an entry with a request of its own */
	memcpy(t, recs, sizeof(recs));
	t[0].link = "/x";
	t[0].link_len = 2;
	expect_broken(t, n, NULL, "1: a batch's record names a link");
	memcpy(t, recs, sizeof(recs));
	t[1].request = recs[7].request;
	t[1].request_len = recs[7].request_len;
	t[1].sig = recs[7].sig;
	expect_broken(t, n, NULL, "2: a batch's entry with a request of its own");
	/* signed by a key the policy does not enroll */
	{
		struct signer other;
		struct tbatch *c = malloc(sizeof(*c));

		assert_non_null(c);
		signer_new(&other);
		tbatch_make(c, &other, "a", 3, 0x11);
		memcpy(t, recs, sizeof(recs));
		tbatch_rec(&t[0], c);
		t[1].batch = t[2].batch = t[3].batch = c->hash;
		assert_int_equal(verify_recs(t, n, NULL, msg, sizeof(msg)), LB_OK);
		expect_broken(t, n, pol, "1: signed by a key not enrolled in the policy");
		lb_buf_free(&c->msg);
		free(c);
	}
	lb_buf_free(&a->msg);
	lb_buf_free(&bb->msg);
	free(a);
	free(bb);
	lb_policy_free(pol);
}

/* lb_audit_append_n: all the records in one append, chained; none if it fails. */
static void
test_append_n_is_one_write(void **state)
{
	struct memio m;
	struct lb_audit *a = NULL;
	struct lb_audit_rec recs[3];
	char msg[512];
	uint64_t first = 0, seq;
	size_t i;

	(void)state;
	memio_init(&m);
	assert_int_equal(lb_audit_open(NULL, mem_io(&m), 0, NULL, NULL, &a), LB_OK);
	sample_rec(&recs[0], "/home/alice/src/l0");
	assert_int_equal(lb_audit_append(a, &recs[0], T0, 0), LB_OK);
	for (i = 0; i < 3; i++)
		sample_rec(&recs[i], i == 0 ? "/home/alice/src/a" : i == 1 ? "/home/alice/src/b" :
		    "/home/alice/src/c");
	m.appends = 0;
	assert_int_equal(lb_audit_append_n(a, recs, 3, T0, &first), LB_OK);
	assert_int_equal(m.appends, 1);
	assert_int_equal(first, 2);
	lb_audit_head(a, &seq, NULL);
	assert_int_equal(seq, 4);
	assert_int_equal(count_lines(&m.buf), 4);
	assert_int_equal(verify_buf(&m.buf, NULL, msg, sizeof(msg), NULL), LB_OK);
	/* a failed append: nothing changes, the next goes on from the same head */
	m.fail_appends = 1;
	assert_int_equal(lb_audit_append_n(a, recs, 3, T0, &first), LB_E_AUDIT);
	lb_audit_head(a, &seq, NULL);
	assert_int_equal(seq, 4);
	assert_int_equal(lb_audit_append(a, &recs[0], T0, 0), LB_OK);
	assert_int_equal(verify_buf(&m.buf, NULL, msg, sizeof(msg), NULL), LB_OK);
	assert_int_equal(count_lines(&m.buf), 5);
	lb_audit_close(a);
	lb_buf_free(&m.buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_is_exactly_the_documented_format),
		cmocka_unit_test(test_nulls_and_empty_groups),
		cmocka_unit_test(test_windows_groups_are_logged_with_their_domain),
		cmocka_unit_test(test_time_is_utc_civil_date),
		cmocka_unit_test(test_parser_refuses_every_other_spelling),
		cmocka_unit_test(test_round_trip_verifies),
		cmocka_unit_test(test_batch_records_prove_each_entry),
		cmocka_unit_test(test_append_n_is_one_write),
		cmocka_unit_test(test_sync_with_nothing_new_is_no_sync),
		cmocka_unit_test(test_every_byte_change_names_its_line),
		cmocka_unit_test(test_removed_middle_line_fails_at_the_next),
		cmocka_unit_test(test_removed_line_renumbered_breaks_prev),
		cmocka_unit_test(test_reordered_lines_fail),
		cmocka_unit_test(test_torn_last_line_is_reported_until_sealed),
		cmocka_unit_test(test_open_seals_a_torn_last_line),
		cmocka_unit_test(test_open_ends_a_record_missing_only_its_newline),
		cmocka_unit_test(test_a_crash_at_any_byte_of_the_seal_is_recovered_next_start),
		cmocka_unit_test(test_a_failed_seal_stops_the_start_and_the_next_one_seals),
		cmocka_unit_test(test_a_line_that_does_not_parse_elsewhere_still_stops_the_start),
		cmocka_unit_test(test_an_unsealed_line_at_the_end_is_broken_until_the_broker_starts),
		cmocka_unit_test(test_verify_refuses_a_recovery_that_does_not_seal_what_is_before_it),
		cmocka_unit_test(test_every_byte_change_in_a_sealed_log_is_found),
		cmocka_unit_test(test_verify_audit_command_accepts_a_sealed_crash),
		cmocka_unit_test(test_hostile_strings_stay_on_one_line_and_verify),
		cmocka_unit_test(test_reopen_continues_the_chain),
		cmocka_unit_test(test_open_refuses_a_file_that_is_not_the_one_appended_to),
		cmocka_unit_test(test_open_replays_nonces_since_a_timestamp),
		cmocka_unit_test(test_failed_append_keeps_seq_and_chain),
		cmocka_unit_test(test_failed_sync_refuses_until_reopened),
		cmocka_unit_test(test_failed_sync_repaired_by_writing_again),
		cmocka_unit_test(test_signatures_verify_against_the_policy),
		cmocka_unit_test(test_tampered_request_fails_on_the_signature),
		cmocka_unit_test(test_readable_fields_must_match_the_signed_request),
		cmocka_unit_test(test_unenrolled_keys),
		cmocka_unit_test(test_allowed_without_a_request_fails_with_a_policy),
		cmocka_unit_test(test_made_record_carries_the_file_identity),
		cmocka_unit_test(test_verify_audit_command_exit_codes),
		cmocka_unit_test(test_rotation_records_end_and_begin_a_file),
		cmocka_unit_test(test_verify_set_orders_by_chain_and_reports_gaps),
		cmocka_unit_test(test_a_file_cut_at_its_start_is_not_a_rotated_one),
		cmocka_unit_test(test_open_reads_only_the_tail),
		cmocka_unit_test(test_open_on_a_new_file_continues_the_previous_one),
		cmocka_unit_test(test_unreadable_log_is_not_called_broken),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
