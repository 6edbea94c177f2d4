/* lb_audit: the audit log. One JSON line per decision, chained by BLAKE2b
 * (docs/audit.md); writes go through the platform's lb_audit_io, reading
 * (open, verify) through stdio, so this file is the same on every platform. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "lb_audit.h"
#include "lb_json.h"

#define LB_AUDIT_TIME_LEN 20                  /* 2026-11-25T20:31:07Z */
typedef char lb_audit_time_buf_fits[LB_AUDIT_TIME_BUF == LB_AUDIT_TIME_LEN + 1 ? 1 : -1];
#define LB_AUDIT_TIME_MAX 253402300799ULL     /* 9999-12-31T23:59:59Z */
#define LB_AUDIT_HEX_LEN (2 * LB_HASH_BYTES)
/* Base64 text of the largest request (LB_FRAME_MAX bytes). */
#define LB_AUDIT_REQ_B64_MAX (4 * ((LB_FRAME_MAX + 2) / 3))
#define LB_AUDIT_READ_BLOCK 65536
/* Bytes appended since the last good sync that are kept to be written
 * again if a sync fails; past this, an append syncs first. */
#define LB_AUDIT_TAIL_MAX (2u * LB_AUDIT_LINE_MAX)
/* The records of one batch, written in one append. */
#define LB_AUDIT_MANY_MAX (16u * LB_AUDIT_LINE_MAX)

/* Start-up reads the log's tail: first the last MiB, then four times as
 * much each time until it reaches a record older than the window. */
#define LB_AUDIT_TAIL_MIN (1024u * 1024)

/* 64-bit file offsets: fseeko's off_t is 64-bit on 64-bit POSIX; the
 * build says when the C library has _fseeki64 instead (Windows' CRT). */
#ifdef LB_HAVE_FSEEKI64
#define LB_FSEEK64(f, o) _fseeki64((f), (long long)(o), SEEK_SET)
#define LB_FSIZE64(f) (_fseeki64((f), 0, SEEK_END) == 0 ? (long long)_ftelli64(f) : -1LL)
#else
#define LB_FSEEK64(f, o) fseeko((f), (off_t)(o), SEEK_SET)
#define LB_FSIZE64(f) (fseeko((f), 0, SEEK_END) == 0 ? (long long)ftello(f) : -1LL)
#endif

struct lb_audit {
	struct lb_audit_io io;
	uint64_t seq;                   /* last record written or found */
	uint8_t hash[LB_HASH_BYTES];    /* its hash; zeros before the first */
	/* A sync failed: what TAIL holds may not be on disk; refuse until
	 * lb_audit_repair has written it again and synced. */
	int unsure;
	uint64_t repair_at;             /* the second of the last repair tried */
	uint64_t durable;               /* records up to this seq are synced */
	uint64_t size;                  /* bytes in the file, as we wrote them */
	struct lb_buf tail;             /* appended since the last good sync */
	struct lb_buf line;
	struct lb_buf many;             /* lb_audit_append_n's records */
	/* The recovery record lb_audit_open wrote, if any. */
	int recovered;
	uint64_t rec_seq, rec_start, rec_len;
};

/* What a recovery record says, in its "reason": the bytes it seals. */
#define LB_AUDIT_SEALED "sealed a write torn by a crash: "
/* What a file's first record after a rotation says: where it continues
 * from ("... seq N hash HEX: why"). */
#define LB_AUDIT_CONTINUES "continues the log from seq "

/* Messages are best effort (their buffer may be full); verdicts are not. */
static void
lb_best_effort(int rc)
{
	(void)rc;
}

/* ---- time: Unix seconds <-> RFC 3339 UTC, no libc time functions ---- */

/* Days since 1970-01-01 -> civil date (H. Hinnant's algorithm, days >= 0). */
static void
lb_civil_from_days(uint64_t days, unsigned *y, unsigned *m, unsigned *d)
{
	uint64_t z = days + 719468;
	uint64_t era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (unsigned)(era * 400 + yoe) + (*m <= 2 ? 1u : 0u);
}

/* Civil date (year >= 1970, fields already in range) -> days since 1970. */
static uint64_t
lb_days_from_civil(unsigned y, unsigned m, unsigned d)
{
	unsigned era, yoe, doy, doe;

	y -= m <= 2 ? 1u : 0u;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (uint64_t)era * 146097 + doe - 719468;
}

static int
lb_audit_fmt_time(uint64_t t, char out[LB_AUDIT_TIME_LEN + 1])
{
	unsigned y, mo, d, s = (unsigned)(t % 86400);
	int n;

	if (t > LB_AUDIT_TIME_MAX)
		return LB_E_RANGE;
	lb_civil_from_days(t / 86400, &y, &mo, &d);
	if (y > 9999)
		return LB_E_RANGE;
	/* YYYY-MM-DDTHH:MM:SSZ, by hand: no printf per record */
	{
		const unsigned v[6] = { y, mo, d, s / 3600, s / 60 % 60, s % 60 };
		const char sep[6] = { '-', '-', 'T', ':', ':', 'Z' };
		char *o = out;

		*o++ = (char)('0' + v[0] / 1000);
		*o++ = (char)('0' + v[0] / 100 % 10);
		*o++ = (char)('0' + v[0] / 10 % 10);
		*o++ = (char)('0' + v[0] % 10);
		*o++ = sep[0];
		for (n = 1; n < 6; n++) {
			*o++ = (char)('0' + v[n] / 10 % 10);
			*o++ = (char)('0' + v[n] % 10);
			*o++ = sep[n];
		}
		*o = '\0';
		n = (int)(o - out);
	}
	return n == LB_AUDIT_TIME_LEN ? LB_OK : LB_E_RANGE;
}

/* Decimal digits S[0..N) -> *v; 0 if S holds anything else. */
static int
lb_digits(const char *s, size_t n, unsigned *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 1;
}

static int
lb_audit_parse_time(const char *s, size_t n, uint64_t *t)
{
	char again[LB_AUDIT_TIME_LEN + 1];
	unsigned y, mo, d, h, mi, se;

	if (n != LB_AUDIT_TIME_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z' ||
	    !lb_digits(s, 4, &y) || !lb_digits(s + 5, 2, &mo) || !lb_digits(s + 8, 2, &d) ||
	    !lb_digits(s + 11, 2, &h) || !lb_digits(s + 14, 2, &mi) || !lb_digits(s + 17, 2, &se))
		return LB_E_INVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
		return LB_E_INVAL;
	*t = lb_days_from_civil(y, mo, d) * 86400 + h * 3600u + mi * 60u + se;
	/* 31 February and friends: only a date that formats back is one. */
	if (lb_audit_fmt_time(*t, again) != LB_OK || memcmp(again, s, n) != 0)
		return LB_E_INVAL;
	return LB_OK;
}

/* ---- hex and base64 ---- */

static int
lb_put_hex(struct lb_buf *b, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char x[2 * LB_HASH_BYTES];
	size_t i, j = 0;
	int rc;

	/* in pieces of a hash's length: one append each */
	for (i = 0; i < n; i++) {
		x[j++] = hex[p[i] >> 4];
		x[j++] = hex[p[i] & 0xF];
		if (j == sizeof(x) || i + 1 == n) {
			if ((rc = lb_buf_put(b, x, j)) != LB_OK)
				return rc;
			j = 0;
		}
	}
	return LB_OK;
}

/* V in decimal, no leading zeros (the audit line's numbers; no printf on
 * the hot path: a batch formats hundreds of records at a time). */
static int
lb_put_dec(struct lb_buf *b, int64_t v)
{
	char d[24];
	size_t i = sizeof(d);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		d[--i] = '-';
	return lb_buf_put(b, d + i, sizeof(d) - i);
}

static int
lb_put_udec(struct lb_buf *b, uint64_t u)
{
	char d[24];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	return lb_buf_put(b, d + i, sizeof(d) - i);
}

/* Exactly 2*N lower-case hex digits. */
static int
lb_get_hex(const char *s, size_t len, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (len != 2 * n)
		return LB_E_INVAL;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return LB_E_INVAL;
	}
	for (i = 0; i < n; i++) {
		hi = s[2 * i] <= '9' ? s[2 * i] - '0' : s[2 * i] - 'a' + 10;
		lo = s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0' : s[2 * i + 1] - 'a' + 10;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return LB_OK;
}

static int
lb_put_b64(struct lb_buf *b, const uint8_t *p, size_t n)
{
	size_t elen = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *tmp;
	int rc;

	if ((tmp = malloc(elen)) == NULL)
		return LB_E_NOMEM;
	sodium_bin2base64(tmp, elen, p, n, sodium_base64_VARIANT_ORIGINAL);
	if ((rc = lb_buf_put_u8(b, '"')) == LB_OK &&
	    (rc = lb_buf_put(b, tmp, elen - 1)) == LB_OK)
		rc = lb_buf_put_u8(b, '"');
	free(tmp);
	return rc;
}

/* Strict base64 (original alphabet, padded, no spaces, zero pad bits: the
 * one text that encodes these bytes) of 1..MAX bytes, appended to OUT. */
static int
lb_get_b64(const char *s, size_t len, size_t max, struct lb_buf *out, size_t *n)
{
	size_t orig = out->len, cap, got = 0;
	const char *end = NULL;
	struct lb_buf again;
	uint8_t *tmp;
	int rc = LB_E_INVAL;

	*n = 0;
	if (len == 0 || len % 4 != 0 || len / 4 > (max + 2) / 3)
		return LB_E_INVAL;
	cap = len / 4 * 3;
	if ((tmp = malloc(cap)) == NULL)
		return LB_E_NOMEM;
	lb_buf_init(&again, len + 2);
	if (sodium_base642bin(tmp, cap, s, len, NULL, &got, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + len || got == 0 || got > max)
		goto out;
	if ((rc = lb_put_b64(&again, tmp, got)) != LB_OK)
		goto out;
	if (again.len != len + 2 || memcmp(again.data + 1, s, len) != 0) {
		rc = LB_E_INVAL;
		goto out;
	}
	if ((rc = lb_buf_put(out, tmp, got)) != LB_OK)
		goto out;
	*n = got;
out:
	if (rc != LB_OK)
		out->len = orig;
	lb_buf_free(&again);
	free(tmp);
	return rc;
}

/* ---- writing a line ---- */

static int
lb_put_field(struct lb_buf *b, const char *key, const char *s, size_t n)
{
	int rc;

	if ((rc = lb_buf_put(b, ",\"", 2)) != LB_OK || (rc = lb_buf_put_cstr(b, key)) != LB_OK ||
	    (rc = lb_buf_put(b, "\":", 2)) != LB_OK)
		return rc;
	return lb_json_put_str(b, s, n);
}

static int
lb_put_cfield(struct lb_buf *b, const char *key, const char *s)
{
	return lb_put_field(b, key, s, s != NULL ? strlen(s) : 0);
}

static int
lb_put_groups(struct lb_buf *b, const struct lb_group *g, size_t n)
{
	size_t i;
	int rc;

	if (n > LB_AUDIT_GROUPS_MAX || (n > 0 && g == NULL))
		return LB_E_INVAL;
	if ((rc = lb_buf_put_cstr(b, ",\"groups\":[")) != LB_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (i > 0 && (rc = lb_buf_put_u8(b, ',')) != LB_OK)
			return rc;
		rc = lb_json_put_cstr(b, g[i].name != NULL ? g[i].name : g[i].sid);
		if (rc != LB_OK)
			return rc;
	}
	return lb_buf_put_u8(b, ']');
}

int
lb_audit_format_line(struct lb_buf *out, const struct lb_audit_rec *rec,
    uint64_t seq, uint64_t now, const uint8_t prev[LB_HASH_BYTES],
    uint8_t hash[LB_HASH_BYTES])
{
	char tm[LB_AUDIT_TIME_LEN + 1];
	uint8_t h[LB_HASH_BYTES];
	const char *kind = NULL;
	size_t start = out->len;
	int rc;

	if (rec == NULL || prev == NULL || seq == 0) {
		rc = LB_E_INVAL;
		goto out;
	}
	if (rec->kind != LB_KIND_NONE && (kind = lb_kind_name(rec->kind)) == NULL) {
		rc = LB_E_INVAL;
		goto out;
	}
	if (rec->request != NULL && rec->request_len > LB_FRAME_MAX) {
		rc = LB_E_INVAL;
		goto out;
	}
	if ((rc = lb_audit_fmt_time(now, tm)) != LB_OK)
		goto out;
	if ((rc = lb_buf_put_cstr(out, "{\"seq\":")) != LB_OK ||
	    (rc = lb_put_udec(out, seq)) != LB_OK ||
	    (rc = lb_buf_put_cstr(out, ",\"time\":\"")) != LB_OK ||
	    (rc = lb_buf_put(out, tm, LB_AUDIT_TIME_LEN)) != LB_OK ||
	    (rc = lb_buf_put_u8(out, '"')) != LB_OK ||
	    (rc = lb_put_cfield(out, "event", rec->event)) != LB_OK ||
	    (rc = lb_put_cfield(out, "verdict", rec->verdict)) != LB_OK ||
	    (rc = lb_put_cfield(out, "user", rec->user)) != LB_OK ||
	    (rc = lb_put_cfield(out, "sid", rec->sid)) != LB_OK ||
	    (rc = lb_put_groups(out, rec->groups, rec->n_groups)) != LB_OK ||
	    (rc = lb_put_cfield(out, "kind", kind)) != LB_OK ||
	    (rc = lb_put_field(out, "link", rec->link, rec->link_len)) != LB_OK ||
	    (rc = lb_put_field(out, "target", rec->target, rec->target_len)) != LB_OK ||
	    (rc = lb_put_cfield(out, "link_resolved", rec->link_resolved)) != LB_OK ||
	    (rc = lb_put_cfield(out, "target_resolved", rec->target_resolved)) != LB_OK ||
	    (rc = lb_put_cfield(out, "rule", rec->rule)) != LB_OK ||
	    (rc = lb_put_cfield(out, "reason", rec->reason)) != LB_OK ||
	    (rc = lb_buf_put_cstr(out, ",\"error\":")) != LB_OK ||
	    (rc = lb_put_dec(out, rec->error)) != LB_OK ||
	    (rc = lb_put_cfield(out, "key", rec->key_name)) != LB_OK ||
	    (rc = lb_buf_put_cstr(out, ",\"request\":")) != LB_OK)
		goto out;
	if (rec->request != NULL && rec->request_len > 0)
		rc = lb_put_b64(out, rec->request, rec->request_len);
	else
		rc = lb_buf_put_cstr(out, "null");
	if (rc != LB_OK || (rc = lb_buf_put_cstr(out, ",\"sig\":")) != LB_OK)
		goto out;
	rc = rec->sig != NULL ? lb_put_b64(out, rec->sig, LB_SIG_BYTES) :
	    lb_buf_put_cstr(out, "null");
	if (rc == LB_OK && rec->batch != NULL &&
	    ((rc = lb_buf_put_cstr(out, ",\"batch\":\"")) != LB_OK ||
	    (rc = lb_put_hex(out, rec->batch, LB_HASH_BYTES)) != LB_OK ||
	    (rc = lb_buf_put_cstr(out, "\",\"index\":")) != LB_OK ||
	    (rc = lb_put_udec(out, rec->index)) != LB_OK))
		goto out;
	if (rc == LB_OK && rec->file != NULL) {
		rc = lb_file_id_ok(rec->file, strlen(rec->file)) ? lb_put_cfield(out, "file", rec->file) :
		    LB_E_INVAL;
	}
	if (rc != LB_OK ||
	    (rc = lb_buf_put_cstr(out, ",\"prev\":\"")) != LB_OK ||
	    (rc = lb_put_hex(out, prev, LB_HASH_BYTES)) != LB_OK ||
	    (rc = lb_buf_put_u8(out, '"')) != LB_OK)
		goto out;
	/* The hash covers everything before ,"hash": prev included. */
	if ((rc = lb_hash(h, out->data + start, out->len - start)) != LB_OK)
		goto out;
	if ((rc = lb_buf_put_cstr(out, ",\"hash\":\"")) != LB_OK ||
	    (rc = lb_put_hex(out, h, LB_HASH_BYTES)) != LB_OK ||
	    (rc = lb_buf_put_cstr(out, "\"}\n")) != LB_OK)
		goto out;
	if (out->len - start > LB_AUDIT_LINE_MAX) {
		rc = LB_E_TOOBIG;
		goto out;
	}
	if (hash != NULL)
		memcpy(hash, h, LB_HASH_BYTES);
out:
	if (rc != LB_OK && out != NULL)
		out->len = start;
	return rc;
}

/* ---- parsing a line ---- */

void
lb_audit_line_init(struct lb_audit_line *l)
{
	memset(l, 0, sizeof(*l));
	lb_buf_init(&l->bytes, LB_FRAME_MAX + LB_SIG_BYTES);
}

void
lb_audit_line_free(struct lb_audit_line *l)
{
	lb_buf_free(&l->bytes);
	free(l->groups);
	memset(l, 0, sizeof(*l));
}

/* Reset the parsed values, keep the storage. */
static void
lb_audit_line_clear(struct lb_audit_line *l)
{
	struct lb_buf bytes = l->bytes;
	struct lb_json_str *groups = l->groups;
	size_t cap = l->groups_cap;

	memset(l, 0, sizeof(*l));
	l->bytes = bytes;
	lb_buf_reset(&l->bytes);
	l->groups = groups;
	l->groups_cap = cap;
}

static int
lb_audit_line_add_group(struct lb_audit_line *l, const struct lb_json_str *s)
{
	struct lb_json_str *g;
	size_t cap;

	if (l->n_groups == LB_AUDIT_GROUPS_MAX)
		return LB_E_TOOBIG;
	if (l->n_groups == l->groups_cap) {
		cap = l->groups_cap == 0 ? 16 : 2 * l->groups_cap;
		if (cap > LB_AUDIT_GROUPS_MAX)
			cap = LB_AUDIT_GROUPS_MAX;
		if ((g = realloc(l->groups, cap * sizeof(*g))) == NULL)
			return LB_E_NOMEM;
		l->groups = g;
		l->groups_cap = cap;
	}
	l->groups[l->n_groups++] = *s;
	return LB_OK;
}

/* The state of one parse, for error messages. */
struct lb_audit_parse {
	struct lb_json_in in;
	const char *field;     /* the field being read */
	size_t at;             /* where its key or value starts */
	const char *why;       /* set when the problem is ours, not lb_json's */
};

/* `,"NAME":` (or `{"NAME":` for the first), remembering NAME for messages. */
static int
lb_p_key(struct lb_audit_parse *ps, const char *name, int first)
{
	char lit[32];
	int n;

	ps->field = name;
	ps->at = ps->in.off;
	n = snprintf(lit, sizeof(lit), "%s\"%s\":", first ? "{" : ",", name);
	if (n < 0 || (size_t)n >= sizeof(lit))
		return LB_E_INVAL;
	if (lb_json_lit(&ps->in, lit) != LB_OK) {
		ps->why = "expected this field here";
		return LB_E_INVAL;
	}
	ps->at = ps->in.off;
	return LB_OK;
}

static int
lb_p_str(struct lb_audit_parse *ps, const char *name, struct lb_json_str *s)
{
	int rc;

	if ((rc = lb_p_key(ps, name, 0)) != LB_OK)
		return rc;
	return lb_json_str(&ps->in, 1, s);
}

/* A base64 field or null: decoded bytes appended to L->bytes. */
static int
lb_p_b64(struct lb_audit_parse *ps, const char *name, struct lb_audit_line *l,
    size_t max, size_t exact, size_t *n)
{
	struct lb_json_str s;
	int rc;

	*n = 0;
	if ((rc = lb_p_str(ps, name, &s)) != LB_OK || s.null)
		return rc;
	if (lb_get_b64(s.raw, s.raw_len, max, &l->bytes, n) != LB_OK ||
	    (exact != 0 && *n != exact)) {
		ps->why = exact != 0 ? "not the base64 of a signature" :
		    "not base64 (original alphabet, padded, canonical) of a request";
		return LB_E_INVAL;
	}
	return LB_OK;
}

static int
lb_p_hash(struct lb_audit_parse *ps, const char *name, uint8_t out[LB_HASH_BYTES])
{
	struct lb_json_str s;
	int rc;

	if ((rc = lb_p_key(ps, name, 0)) != LB_OK ||
	    (rc = lb_json_str(&ps->in, 0, &s)) != LB_OK)
		return rc;
	if (lb_get_hex(s.raw, s.raw_len, out, LB_HASH_BYTES) != LB_OK) {
		ps->why = "not 64 lower-case hex digits";
		return LB_E_INVAL;
	}
	return LB_OK;
}

static int
lb_p_body(struct lb_audit_parse *ps, struct lb_audit_line *l)
{
	struct lb_json_in *in = &ps->in;
	struct lb_json_str s;
	size_t req_n, sig_n;
	int64_t err;
	int rc;
	enum lb_kind k;

	if ((rc = lb_p_key(ps, "seq", 1)) != LB_OK ||
	    (rc = lb_json_uint(in, UINT64_MAX, &l->seq)) != LB_OK)
		return rc;
	if (l->seq == 0) {
		ps->why = "sequence numbers start at 1";
		return LB_E_INVAL;
	}
	if ((rc = lb_p_key(ps, "time", 0)) != LB_OK ||
	    (rc = lb_json_str(in, 0, &s)) != LB_OK)
		return rc;
	if (lb_audit_parse_time(s.raw, s.raw_len, &l->time) != LB_OK) {
		ps->why = "not a UTC time like 2026-11-25T20:31:07Z";
		return LB_E_INVAL;
	}
	if ((rc = lb_p_str(ps, "event", &l->event)) != LB_OK ||
	    (rc = lb_p_str(ps, "verdict", &l->verdict)) != LB_OK ||
	    (rc = lb_p_str(ps, "user", &l->user)) != LB_OK ||
	    (rc = lb_p_str(ps, "sid", &l->sid)) != LB_OK ||
	    (rc = lb_p_key(ps, "groups", 0)) != LB_OK ||
	    (rc = lb_json_lit(in, "[")) != LB_OK)
		return rc;
	if (!lb_json_peek(in, "]")) {
		do {
			if ((rc = lb_json_str(in, 1, &s)) != LB_OK)
				return rc;
			if ((rc = lb_audit_line_add_group(l, &s)) != LB_OK) {
				ps->why = rc == LB_E_NOMEM ? "out of memory" : "too many groups";
				return rc;
			}
		} while (lb_json_lit(in, ",") == LB_OK);
	}
	if ((rc = lb_json_lit(in, "]")) != LB_OK)
		return rc;
	if ((rc = lb_p_str(ps, "kind", &s)) != LB_OK)
		return rc;
	l->kind = LB_KIND_NONE;
	if (!s.null) {
		for (k = LB_KIND_SYMLINK; k <= LB_KIND_MAX; k++)
			if (strlen(lb_kind_name(k)) == s.raw_len &&
			    memcmp(lb_kind_name(k), s.raw, s.raw_len) == 0)
				break;
		if (k > LB_KIND_MAX) {
			ps->why = "not a link kind";
			return LB_E_INVAL;
		}
		l->kind = k;
	}
	if ((rc = lb_p_str(ps, "link", &l->link)) != LB_OK ||
	    (rc = lb_p_str(ps, "target", &l->target)) != LB_OK ||
	    (rc = lb_p_str(ps, "link_resolved", &l->link_resolved)) != LB_OK ||
	    (rc = lb_p_str(ps, "target_resolved", &l->target_resolved)) != LB_OK ||
	    (rc = lb_p_str(ps, "rule", &l->rule)) != LB_OK ||
	    (rc = lb_p_str(ps, "reason", &l->reason)) != LB_OK ||
	    (rc = lb_p_key(ps, "error", 0)) != LB_OK ||
	    (rc = lb_json_int(in, INT32_MIN, INT32_MAX, &err)) != LB_OK)
		return rc;
	l->error = (int)err;
	if ((rc = lb_p_str(ps, "key", &l->key)) != LB_OK ||
	    (rc = lb_p_b64(ps, "request", l, LB_FRAME_MAX, 0, &req_n)) != LB_OK ||
	    (rc = lb_p_b64(ps, "sig", l, LB_SIG_BYTES, LB_SIG_BYTES, &sig_n)) != LB_OK)
		return rc;
	/* A batch's entry: which batch, which entry (only then are they there). */
	if (lb_json_peek(in, ",\"batch\":")) {
		uint64_t index;

		if ((rc = lb_p_hash(ps, "batch", l->batch)) != LB_OK ||
		    (rc = lb_p_key(ps, "index", 0)) != LB_OK ||
		    (rc = lb_json_uint(in, UINT32_MAX, &index)) != LB_OK)
			return rc;
		l->in_batch = 1;
		l->index = (uint32_t)index;
	}
	/* A "made" record: the link's identity. */
	if (lb_json_peek(in, ",\"file\":")) {
		struct lb_json_str f;

		if ((rc = lb_p_str(ps, "file", &f)) != LB_OK)
			return rc;
		if (f.null || !lb_file_id_ok(f.raw, f.raw_len)) {
			ps->why = "not a file identity";
			return LB_E_INVAL;
		}
		memcpy(l->file, f.raw, f.raw_len);
		l->file[f.raw_len] = '\0';
		l->has_file = 1;
	}
	if ((rc = lb_p_hash(ps, "prev", l->prev)) != LB_OK)
		return rc;
	l->hashed_len = in->off;
	if ((rc = lb_p_hash(ps, "hash", l->hash)) != LB_OK)
		return rc;
	ps->field = NULL;
	if ((rc = lb_json_lit(in, "}")) != LB_OK || (rc = lb_json_end(in)) != LB_OK)
		return rc;
	/* Request then signature, one after the other in BYTES: the whole
	 * wire message, as lb_request_decode wants it. */
	l->request = req_n > 0 ? l->bytes.data : NULL;
	l->request_len = req_n;
	l->sig = sig_n > 0 ? l->bytes.data + req_n : NULL;
	return LB_OK;
}

int
lb_audit_line_parse(struct lb_audit_line *l, const char *line, size_t len,
    struct lb_buf *why)
{
	struct lb_audit_parse ps;
	const char *text;
	uint64_t at;
	int rc;

	lb_audit_line_clear(l);
	memset(&ps, 0, sizeof(ps));
	lb_json_in_init(&ps.in, line, len, LB_AUDIT_LINE_MAX);
	rc = lb_p_body(&ps, l);
	if (rc != LB_OK) {
		text = ps.why != NULL ? ps.why : ps.in.why != NULL ? ps.in.why : lb_strerror(rc);
		/* lb_json leaves its position at the bad value; our own checks
		 * come after reading it whole. Bytes count from 1. */
		at = (uint64_t)(ps.why != NULL ? ps.at : ps.in.off) + 1;
		if (why != NULL && ps.field != NULL)
			lb_best_effort(lb_buf_printf(why, "at byte %" PRIu64 " (field \"%s\"): %s",
			    at, ps.field, text));
		else if (why != NULL)
			lb_best_effort(lb_buf_printf(why, "at byte %" PRIu64 ": %s", at, text));
		lb_audit_line_clear(l);
		rc = LB_E_AUDIT;
	}
	lb_json_in_free(&ps.in);
	return rc;
}

int
lb_audit_line_request(const struct lb_audit_line *l, struct lb_request *r)
{
	size_t body_len = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	if (l->request == NULL || l->sig == NULL)
		return LB_E_INVAL;
	rc = lb_request_decode(l->request, l->request_len + LB_SIG_BYTES, r, &body_len);
	if (rc == LB_OK && body_len != l->request_len) {
		memset(r, 0, sizeof(*r));
		rc = LB_E_BAD_FIELD;
	}
	return rc;
}

int
lb_audit_line_batch(const struct lb_audit_line *l, struct lb_batch *b)
{
	size_t body_len = 0;
	int rc;

	memset(b, 0, sizeof(*b));
	if (l->request == NULL || l->sig == NULL)
		return LB_E_INVAL;
	rc = lb_batch_decode(l->request, l->request_len + LB_SIG_BYTES, b, &body_len);
	if (rc == LB_OK && body_len != l->request_len) {
		memset(b, 0, sizeof(*b));
		rc = LB_E_BAD_FIELD;
	}
	return rc;
}

int
lb_audit_line_origin(const struct lb_audit_line *l, uint8_t key[LB_PK_BYTES],
    uint8_t nonce[LB_NONCE_BYTES], uint64_t *timestamp)
{
	struct lb_request r;
	struct lb_batch *b;
	int rc;

	if (l->request != NULL && lb_msg_is_batch(l->request, l->request_len)) {
		if ((b = malloc(sizeof(*b))) == NULL)
			return LB_E_NOMEM;
		if ((rc = lb_audit_line_batch(l, b)) == LB_OK) {
			memcpy(key, b->key, LB_PK_BYTES);
			memcpy(nonce, b->nonce, LB_NONCE_BYTES);
			*timestamp = b->timestamp;
		}
		free(b);
		return rc;
	}
	if ((rc = lb_audit_line_request(l, &r)) != LB_OK)
		return rc;
	memcpy(key, r.key, LB_PK_BYTES);
	memcpy(nonce, r.nonce, LB_NONCE_BYTES);
	*timestamp = r.timestamp;
	return LB_OK;
}

int
lb_file_id_ok(const char *s, size_t n)
{
	size_t i, colon = 0, at = 0;

	if (s == NULL || n == 0 || n >= LB_FILE_ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == ':') {
			colon++;
			at = i;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return 0;
		}
	}
	return colon == 1 && at > 0 && at < n - 1;
}

/* ---- reading the file line by line ---- */

struct lb_line_reader {
	FILE *f;
	uint8_t *blk;
	size_t len, off;
	uint64_t pos;        /* file offset of the next byte to hand out */
	int eof;
	int open_errno;      /* errno of a failed fopen */
};

enum { LB_LINE_END = 1 };

/*
 * The next line into LINE (reset first), without its newline: LB_OK with
 * *COMPLETE 1 if a newline ended it, 0 if the file did; LB_LINE_END when
 * nothing is left; LB_E_TOOBIG for a line longer than LINE may hold (the
 * reader is then unusable); LB_E_IO on a read error.
 */
static int
lb_line_next(struct lb_line_reader *rd, struct lb_buf *line, int *complete)
{
	const uint8_t *nl;
	size_t n;
	int rc;

	lb_buf_reset(line);
	*complete = 0;
	for (;;) {
		if (rd->off == rd->len) {
			if (rd->eof)
				return line->len > 0 ? LB_OK : LB_LINE_END;
			n = fread(rd->blk, 1, LB_AUDIT_READ_BLOCK, rd->f);
			if (n == 0) {
				if (ferror(rd->f))
					return LB_E_IO;
				rd->eof = 1;
			}
			rd->len = n;
			rd->off = 0;
			continue;
		}
		nl = memchr(rd->blk + rd->off, '\n', rd->len - rd->off);
		n = nl != NULL ? (size_t)(nl - (rd->blk + rd->off)) : rd->len - rd->off;
		/* LINE holds at most LB_AUDIT_LINE_MAX - 1: the newline is the last byte. */
		if ((rc = lb_buf_put(line, rd->blk + rd->off, n)) != LB_OK)
			return rc;
		rd->off += n;
		rd->pos += n;
		if (nl != NULL) {
			rd->off++;
			rd->pos++;
			*complete = 1;
			return LB_OK;
		}
	}
}

static int
lb_line_open(struct lb_line_reader *rd, const char *path)
{
	memset(rd, 0, sizeof(*rd));
	if ((rd->blk = malloc(LB_AUDIT_READ_BLOCK)) == NULL)
		return LB_E_NOMEM;
	errno = 0;
	if ((rd->f = fopen(path, "rb")) == NULL) {
		rd->open_errno = errno;
		free(rd->blk);
		rd->blk = NULL;
		return rd->open_errno == ENOENT ? LB_E_NOENT : LB_E_IO;
	}
	return LB_OK;
}

static void
lb_line_close(struct lb_line_reader *rd)
{
	if (rd->f != NULL)
		fclose(rd->f);
	free(rd->blk);
	memset(rd, 0, sizeof(*rd));
}

/* Open PATH for lines from the first line that starts at or after FROM
 * (the bytes of a line FROM cuts are skipped). */
static int
lb_line_open_at(struct lb_line_reader *rd, const char *path, uint64_t from)
{
	int rc, ch;

	if ((rc = lb_line_open(rd, path)) != LB_OK || from == 0)
		return rc;
	/* From the byte before FROM: if that is a newline, FROM starts a line. */
	if (LB_FSEEK64(rd->f, from - 1) != 0) {
		lb_line_close(rd);   /* the caller owes nothing on a failed open */
		return LB_E_IO;
	}
	rd->pos = from - 1;
	while ((ch = getc(rd->f)) != EOF) {
		rd->pos++;
		if (ch == '\n')
			return LB_OK;
	}
	if (ferror(rd->f)) {
		lb_line_close(rd);
		return LB_E_IO;
	}
	rd->eof = 1;
	return LB_OK;
}

/* ---- torn writes ---- */

static int
lb_field_is(const struct lb_json_str *s, const char *text)
{
	/* Compared on the escaped text: TEXT is plain ASCII, written as is. */
	return !s->null && s->raw_len == strlen(text) && memcmp(s->raw, text, s->raw_len) == 0;
}

/*
 * Bytes after the last record that are not a record (docs/audit.md,
 * "Start-up and torn lines"): one or more lines, the last perhaps without
 * its newline. LEN counts the newlines between them, not the one after the
 * last (which the seal may have added); ST hashes those same bytes.
 */
/* crypto_generichash_state asks for 64-byte alignment, which a struct on
 * a sanitizer's fake stack or in malloc'd memory does not always get (UBSan
 * caught it): the state lives at an aligned place inside raw bytes. */
struct lb_torn {
	int active;
	uint64_t lineno;        /* the first line's number */
	uint64_t start, len;    /* where the bytes start in the file, how many */
	unsigned char st_raw[sizeof(crypto_generichash_state) + 64];
};

static crypto_generichash_state *
lb_torn_state(const struct lb_torn *t)
{
	uintptr_t p = (uintptr_t)t->st_raw;

	return (crypto_generichash_state *)(void *)(p + ((64 - p % 64) % 64));
}

static int
lb_torn_add(struct lb_torn *t, uint64_t lineno, uint64_t start, const uint8_t *p, size_t n)
{
	static const uint8_t nl = '\n';

	if (!t->active) {
		memset(t, 0, sizeof(*t));
		if (crypto_generichash_init(lb_torn_state(t), NULL, 0, LB_HASH_BYTES) != 0)
			return LB_E_INVAL;
		t->active = 1;
		t->lineno = lineno;
		t->start = start;
	} else {
		if (crypto_generichash_update(lb_torn_state(t), &nl, 1) != 0)
			return LB_E_INVAL;
		t->len++;
	}
	if (n > 0 && crypto_generichash_update(lb_torn_state(t), p, n) != 0)
		return LB_E_INVAL;
	t->len += n;
	return LB_OK;
}

/* The reason a recovery record for T gives: LB_AUDIT_SEALED "LEN bytes at
 * byte START, blake2b HEX"; only the prefix up to "blake2b " if !WITH_HASH. */
static int
lb_torn_reason(const struct lb_torn *t, int with_hash, struct lb_buf *out)
{
	unsigned char st_raw[sizeof(crypto_generichash_state) + 64] = { 0 };
	crypto_generichash_state *st;
	uintptr_t a = (uintptr_t)st_raw;
	uint8_t h[LB_HASH_BYTES];
	int rc;

	lb_buf_reset(out);
	if ((rc = lb_buf_printf(out, LB_AUDIT_SEALED "%" PRIu64 " bytes at byte %" PRIu64
	    ", blake2b ", t->len, t->start)) != LB_OK || !with_hash)
		return rc;
	/* Finalising consumes the state; T may be asked again. */
	st = (crypto_generichash_state *)(void *)(a + ((64 - a % 64) % 64));
	memcpy(st, lb_torn_state(t), sizeof(*st));
	if (crypto_generichash_final(st, h, LB_HASH_BYTES) != 0)
		return LB_E_INVAL;
	return lb_put_hex(out, h, LB_HASH_BYTES);
}

/* Whether the recovery record L names exactly the bytes T. */
static int
lb_torn_sealed_by(const struct lb_torn *t, const struct lb_audit_line *l, struct lb_buf *tmp)
{
	if (!t->active || l->reason.null || lb_torn_reason(t, 1, tmp) != LB_OK)
		return 0;
	/* The reason is plain ASCII, written as is: compare the raw text. */
	return l->reason.raw_len == tmp->len && memcmp(l->reason.raw, tmp->data, tmp->len) == 0;
}

/*
 * Seal T: a newline if the file ends without one (TORN_TAIL), then the
 * recovery record, in one append, then a sync; before any client is
 * answered. A crash in between leaves the file as it was, or T and a part
 * of this (lines that do not parse, after the last record), which the next
 * start seals the same way, with one record for all of it.
 */
static int
lb_torn_seal(struct lb_audit *a, const struct lb_torn *t, int torn_tail, uint64_t now)
{
	struct lb_audit_rec rec;
	struct lb_buf reason;
	const char *text;
	uint8_t h[LB_HASH_BYTES];
	int rc;

	lb_buf_init(&reason, 256);
	memset(&rec, 0, sizeof(rec));
	if (a->seq == UINT64_MAX) {
		rc = LB_E_AUDIT;
		goto out;
	}
	if ((rc = lb_torn_reason(t, 1, &reason)) != LB_OK ||
	    (rc = lb_buf_cstr(&reason, &text)) != LB_OK)
		goto out;
	rec.event = "recovery";
	rec.verdict = "failed";
	rec.kind = LB_KIND_NONE;
	rec.reason = text;
	rec.error = LB_E_AUDIT;
	lb_buf_reset(&a->line);
	if (torn_tail && (rc = lb_buf_put_u8(&a->line, '\n')) != LB_OK)
		goto out;
	if ((rc = lb_audit_format_line(&a->line, &rec, a->seq + 1, now, a->hash, h)) != LB_OK)
		goto out;
	if (a->io.append(a->io.ctx, a->line.data, a->line.len) != LB_OK) {
		rc = LB_E_AUDIT;
		goto out;
	}
	a->seq++;
	a->size += a->line.len;
	memcpy(a->hash, h, LB_HASH_BYTES);
	if ((rc = lb_audit_sync(a)) != LB_OK)
		goto out;
	a->recovered = 1;
	a->rec_seq = a->seq;
	a->rec_start = t->start;
	a->rec_len = t->len;
out:
	lb_buf_free(&reason);
	return rc;
}

/* ---- the log ---- */

/* The wall clock for the one record not made for a request. */
static int
lb_audit_now(uint64_t *now)
{
	time_t t = time(NULL);

	if (t == (time_t)-1 || t < 0 || (uint64_t)t > LB_AUDIT_TIME_MAX)
		return LB_E_RANGE;
	*now = (uint64_t)t;
	return LB_OK;
}

/*
 * Where start-up begins reading PATH: the start of the last record decided
 * before BEFORE (no request it holds, nor any before it, can be in the
 * window), found by probing windows at the end that grow fourfold; 0 if
 * there is none or BEFORE is 0. Costs the window's records, not the file's.
 */
static int
lb_audit_tail_start(const char *path, uint64_t before, uint64_t *start)
{
	struct lb_line_reader rd;
	struct lb_audit_line l;
	struct lb_buf line;
	uint64_t size, w, at;
	int complete, rc = LB_OK;

	*start = 0;
	if (before == 0)
		return LB_OK;
	memset(&rd, 0, sizeof(rd));
	lb_audit_line_init(&l);
	lb_buf_init(&line, LB_AUDIT_LINE_MAX - 1);
	if ((rc = lb_line_open(&rd, path)) != LB_OK)
		goto out;
	{
		long long e = LB_FSIZE64(rd.f);

		if (e < 0) {
			rc = LB_E_IO;
			goto out;
		}
		size = (uint64_t)e;
	}
	lb_line_close(&rd);
	for (w = LB_AUDIT_TAIL_MIN; w < size; w = w > UINT64_MAX / 4 ? size : w * 4) {
		if ((rc = lb_line_open_at(&rd, path, size - w)) != LB_OK)
			goto out;
		for (;;) {
			at = rd.pos;
			if (lb_line_next(&rd, &line, &complete) != LB_OK)
				break;
			if (!complete || lb_audit_line_parse(&l, (const char *)line.data, line.len,
			    NULL) != LB_OK)
				continue;   /* not a record: the next line may be */
			if (l.time < before) {
				*start = at;
				goto out;
			}
			break;   /* the window holds only recent records: widen it */
		}
		lb_line_close(&rd);
	}
	*start = 0;
	rc = LB_OK;
out:
	lb_line_close(&rd);
	lb_audit_line_free(&l);
	lb_buf_free(&line);
	return rc == LB_E_NOENT ? LB_OK : rc;
}

/* What a read-only scan of a previous file found: its last record. */
struct lb_scan {
	int any;
	uint64_t seq;
	uint8_t hash[LB_HASH_BYTES];
};

/*
 * The previous file (rotated away while the broker was stopped): its
 * recent requests for ON_RECORD and its last record. Read only: what does
 * not parse is left for verify-audit (it belongs to that file, which the
 * broker no longer writes). LB_E_NOENT if it is not there.
 */
static int
lb_audit_scan_prev(const char *path, uint64_t since, uint64_t before,
    void (*on_record)(void *ctx, const uint8_t key[LB_PK_BYTES],
        const uint8_t nonce[LB_NONCE_BYTES], uint64_t timestamp),
    void *ctx, struct lb_scan *sc)
{
	struct lb_line_reader rd;
	struct lb_audit_line l;
	uint8_t key[LB_PK_BYTES], nonce[LB_NONCE_BYTES];
	struct lb_buf line;
	uint64_t start, ts;
	int complete, rc;

	memset(sc, 0, sizeof(*sc));
	memset(&rd, 0, sizeof(rd));
	lb_audit_line_init(&l);
	lb_buf_init(&line, LB_AUDIT_LINE_MAX - 1);
	if ((rc = lb_audit_tail_start(path, before, &start)) != LB_OK ||
	    (rc = lb_line_open_at(&rd, path, start)) != LB_OK)
		goto out;
	while ((rc = lb_line_next(&rd, &line, &complete)) == LB_OK) {
		if (!complete || lb_audit_line_parse(&l, (const char *)line.data, line.len,
		    NULL) != LB_OK)
			continue;
		sc->any = 1;
		sc->seq = l.seq;
		memcpy(sc->hash, l.hash, LB_HASH_BYTES);
		/* a batch's nonce as a request's: one stored request each */
		if (on_record != NULL && lb_audit_line_origin(&l, key, nonce, &ts) == LB_OK &&
		    ts >= since)
			on_record(ctx, key, nonce, ts);
	}
	rc = rc == LB_LINE_END ? LB_OK : rc == LB_E_NOMEM ? rc : LB_E_IO;
out:
	lb_line_close(&rd);
	lb_audit_line_free(&l);
	lb_buf_free(&line);
	return rc;
}

int
lb_audit_open(const char *path, struct lb_audit_io io, uint64_t since,
    void (*on_record)(void *ctx, const uint8_t key[LB_PK_BYTES],
        const uint8_t nonce[LB_NONCE_BYTES], uint64_t timestamp),
    void *ctx, struct lb_audit **out)
{
	struct lb_audit_start st;

	memset(&st, 0, sizeof(st));
	st.path = path;
	st.since = since;
	return lb_audit_open_tail(&st, io, on_record, ctx, out);
}

int
lb_audit_open_tail(const struct lb_audit_start *st, struct lb_audit_io io,
    void (*on_record)(void *ctx, const uint8_t key[LB_PK_BYTES],
        const uint8_t nonce[LB_NONCE_BYTES], uint64_t timestamp),
    void *ctx, struct lb_audit **out)
{
	struct lb_line_reader rd;
	struct lb_audit_line l;
	uint8_t key[LB_PK_BYTES], nonce[LB_NONCE_BYTES];
	struct lb_audit *a = NULL;
	struct lb_torn torn;
	struct lb_scan prev;
	struct lb_buf line, tmp;
	const char *path, *why;
	uint64_t size, start = 0, lineno = 0, now, before, since, first_time = 0, ts;
	int complete, torn_tail = 0, any = 0, first_reopen = 0, rc = LB_OK;

	memset(&rd, 0, sizeof(rd));
	memset(&torn, 0, sizeof(torn));
	lb_audit_line_init(&l);
	lb_buf_init(&line, LB_AUDIT_LINE_MAX - 1);
	lb_buf_init(&tmp, 256);
	if (out == NULL || io.append == NULL || st == NULL) {
		rc = LB_E_INVAL;
		goto out;
	}
	*out = NULL;
	path = st->path;
	since = st->since;
	before = st->window_s == 0 || since < st->window_s ? 0 : since - st->window_s;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		rc = LB_E_NOMEM;
		goto out;
	}
	a->io = io;
	lb_buf_init(&a->line, LB_AUDIT_LINE_MAX);
	lb_buf_init(&a->many, LB_AUDIT_MANY_MAX);
	lb_buf_init(&a->tail, LB_AUDIT_TAIL_MAX);
	if (path != NULL && ((rc = lb_audit_tail_start(path, before, &start)) != LB_OK ||
	    (rc = lb_line_open_at(&rd, path, start)) != LB_OK)) {
		/* Only a file that is not there starts a new chain; one we
		 * cannot read must not be continued blindly. */
		if (rc != LB_E_NOENT)
			goto out;
	}
	for (;;) {
		uint64_t at = rd.pos;

		if (rd.f == NULL || (rc = lb_line_next(&rd, &line, &complete)) != LB_OK)
			break;
		lineno++;
		if (lb_audit_line_parse(&l, (const char *)line.data, line.len, NULL) != LB_OK) {
			/* Not a record: evidence of a crash if only more such
			 * lines follow, or the recovery record sealing them. */
			if ((rc = lb_torn_add(&torn, lineno, at, line.data, line.len)) != LB_OK)
				goto out;
			torn_tail = !complete;
			continue;
		}
		/* A last line that parses lacks only its newline: the record
		 * is whole (the strict parser wants everything up to the
		 * closing brace after the hash). It counts; the newline is
		 * added below. */
		torn_tail = !complete;
		if (lb_field_is(&l.event, "recovery")) {
			/* Open checks only that it seals what is before it;
			 * the chain is verify-audit's. */
			if (torn.active && !lb_torn_sealed_by(&torn, &l, &tmp)) {
				rc = LB_E_AUDIT;
				goto out;
			}
			torn.active = 0;
		} else if (torn.active) {
			/* A line that does not parse in the middle of the log. */
			rc = LB_E_AUDIT;
			goto out;
		}
		if (!any) {
			any = 1;
			first_time = l.time;
			first_reopen = lb_field_is(&l.event, "reopen");
		}
		a->seq = l.seq;
		memcpy(a->hash, l.hash, LB_HASH_BYTES);
		/* a batch's nonce as a request's: one stored request each */
		if (on_record != NULL && lb_audit_line_origin(&l, key, nonce, &ts) == LB_OK &&
		    ts >= since)
			on_record(ctx, key, nonce, ts);
	}
	if (rd.f != NULL && rc != LB_LINE_END) {
		rc = rc == LB_E_TOOBIG ? LB_E_AUDIT : rc == LB_E_NOMEM ? rc : LB_E_IO;
		goto out;
	}
	if (io.size != NULL) {
		/* What we read is the file the platform appends to. */
		if (io.size(io.ctx, &size) != LB_OK || size != rd.pos) {
			rc = LB_E_AUDIT;
			goto out;
		}
	}
	a->size = rd.pos;
	memset(&prev, 0, sizeof(prev));
	/* The log was rotated (moved to PREV_PATH) while we were stopped, or
	 * just before: the requests of the window may be there, and with a
	 * new file so is the head the chain goes on from. */
	if (st->prev_path != NULL && start == 0 && !torn.active &&
	    (!any || (first_reopen && first_time >= before))) {
		rc = lb_audit_scan_prev(st->prev_path, since, before, on_record, ctx, &prev);
		if (rc != LB_OK && rc != LB_E_NOENT)
			goto out;
		if (!any && prev.any) {
			a->seq = prev.seq;
			memcpy(a->hash, prev.hash, LB_HASH_BYTES);
		}
	}
	if (torn.active) {
		if (lb_audit_now(&now) != LB_OK) {
			rc = LB_E_AUDIT;
			goto out;
		}
		if (lb_torn_seal(a, &torn, torn_tail, now) != LB_OK) {
			rc = LB_E_AUDIT;
			goto out;
		}
	} else if (torn_tail) {
		if (io.append(io.ctx, "\n", 1) != LB_OK) {
			rc = LB_E_AUDIT;
			goto out;
		}
		a->size++;
		if (lb_audit_sync(a) != LB_OK) {
			rc = LB_E_AUDIT;
			goto out;
		}
	} else if (!any && prev.any) {
		/* The new file's first record says where the chain was. */
		lb_buf_reset(&tmp);
		if (lb_buf_printf(&tmp, "the broker started on a new file; the log before it is in %s",
		    st->prev_path) != LB_OK || lb_buf_cstr(&tmp, &why) != LB_OK ||
		    lb_audit_now(&now) != LB_OK || lb_audit_begin_file(a, why, 0, now) != LB_OK) {
			rc = LB_E_AUDIT;
			goto out;
		}
	}
	*out = a;
	a = NULL;
	rc = LB_OK;
out:
	lb_line_close(&rd);
	lb_buf_free(&line);
	lb_buf_free(&tmp);
	lb_audit_line_free(&l);
	if (a != NULL)
		lb_audit_close(a);
	return rc;
}

/* A record of the log's own (no client, no request), synced at once. */
static int
lb_audit_own(struct lb_audit *a, const char *event, int failed, const char *reason,
    uint64_t now)
{
	struct lb_audit_rec rec;

	memset(&rec, 0, sizeof(rec));
	rec.event = event;
	rec.verdict = failed ? "failed" : "allowed";
	rec.kind = LB_KIND_NONE;
	rec.reason = reason;
	rec.error = failed ? LB_E_AUDIT : LB_OK;
	return lb_audit_append(a, &rec, now, 1);
}

int
lb_audit_end_file(struct lb_audit *a, const char *next, uint64_t now)
{
	struct lb_buf reason;
	const char *text;
	int rc;

	if (a == NULL || next == NULL)
		return LB_E_AUDIT;
	lb_buf_init(&reason, 64 * 1024);
	rc = lb_buf_printf(&reason, "rotated: this file ends here; the log continues in %s", next);
	if (rc == LB_OK)
		rc = lb_buf_cstr(&reason, &text);
	rc = rc == LB_OK ? lb_audit_own(a, "rotate", 0, text, now) : LB_E_AUDIT;
	lb_buf_free(&reason);
	return rc;
}

/* "continues the log from seq N hash HEX" for the record after SEQ/HASH. */
static int
lb_continues_text(struct lb_buf *out, uint64_t seq, const uint8_t hash[LB_HASH_BYTES])
{
	int rc;

	if ((rc = lb_buf_printf(out, LB_AUDIT_CONTINUES "%" PRIu64 " hash ", seq)) != LB_OK)
		return rc;
	return lb_put_hex(out, hash, LB_HASH_BYTES);
}

int
lb_audit_begin_file(struct lb_audit *a, const char *why, int failed, uint64_t now)
{
	struct lb_buf reason;
	const char *text;
	int rc;

	if (a == NULL || why == NULL)
		return LB_E_AUDIT;
	/* Another file (or this one cut short): what a repair would write
	 * again belonged to the old one, and appends start at its end. */
	lb_buf_reset(&a->tail);
	if (a->io.size == NULL || a->io.size(a->io.ctx, &a->size) != LB_OK)
		a->size = 0;
	lb_buf_init(&reason, 64 * 1024);
	rc = lb_continues_text(&reason, a->seq, a->hash);
	if (rc == LB_OK)
		rc = lb_buf_printf(&reason, ": %s", why);
	if (rc == LB_OK)
		rc = lb_buf_cstr(&reason, &text);
	rc = rc == LB_OK ? lb_audit_own(a, "reopen", failed, text, now) : LB_E_AUDIT;
	lb_buf_free(&reason);
	return rc;
}

int
lb_audit_append(struct lb_audit *a, const struct lb_audit_rec *rec,
    uint64_t now, int sync_now)
{
	uint8_t h[LB_HASH_BYTES];

	if (a == NULL || rec == NULL || a->seq == UINT64_MAX ||
	    lb_audit_repair(a, now) != LB_OK)
		return LB_E_AUDIT;
	lb_buf_reset(&a->line);
	if (lb_audit_format_line(&a->line, rec, a->seq + 1, now, a->hash, h) != LB_OK)
		return LB_E_AUDIT;
	/* The bytes since the last sync are kept for a repair: a sync first
	 * when they would not fit. */
	if (a->io.rewrite != NULL && a->tail.len + a->line.len > LB_AUDIT_TAIL_MAX &&
	    lb_audit_sync(a) != LB_OK)
		return LB_E_AUDIT;
	/* One call for the whole line: the platform's append is atomic for
	 * us (all or nothing), so a line is never interleaved or half there. */
	if (a->io.append(a->io.ctx, a->line.data, a->line.len) != LB_OK)
		return LB_E_AUDIT;
	a->seq++;
	a->size += a->line.len;
	memcpy(a->hash, h, LB_HASH_BYTES);
	if (a->io.rewrite != NULL && lb_buf_put(&a->tail, a->line.data, a->line.len) != LB_OK) {
		/* Cannot keep it for a repair: make it durable now instead. */
		return lb_audit_sync(a);
	}
	if (sync_now)
		return lb_audit_sync(a);
	return LB_OK;
}

int
lb_audit_append_n(struct lb_audit *a, const struct lb_audit_rec *recs, size_t n,
    uint64_t now, uint64_t *first)
{
	uint8_t h[LB_HASH_BYTES], prev[LB_HASH_BYTES];
	size_t i;

	if (a == NULL || recs == NULL || n == 0 || a->seq > UINT64_MAX - n ||
	    lb_audit_repair(a, now) != LB_OK)
		return LB_E_AUDIT;
	lb_buf_reset(&a->many);
	memcpy(prev, a->hash, LB_HASH_BYTES);
	for (i = 0; i < n; i++) {
		if (lb_audit_format_line(&a->many, &recs[i], a->seq + 1 + i, now, prev, h) != LB_OK)
			return LB_E_AUDIT;
		memcpy(prev, h, LB_HASH_BYTES);
	}
	if (a->io.rewrite != NULL && a->tail.len + a->many.len > LB_AUDIT_TAIL_MAX &&
	    lb_audit_sync(a) != LB_OK)
		return LB_E_AUDIT;
	/* One append: the batch's records are all there or none is. */
	if (a->io.append(a->io.ctx, a->many.data, a->many.len) != LB_OK)
		return LB_E_AUDIT;
	if (first != NULL)
		*first = a->seq + 1;
	a->seq += n;
	a->size += a->many.len;
	memcpy(a->hash, h, LB_HASH_BYTES);
	if (a->io.rewrite != NULL && lb_buf_put(&a->tail, a->many.data, a->many.len) != LB_OK)
		return lb_audit_sync(a);
	return LB_OK;
}

int
lb_audit_sync(struct lb_audit *a)
{
	if (a == NULL || a->unsure)
		return LB_E_AUDIT;
	/* Nothing appended since the last good sync: nothing to make
	 * durable (audit_sync = always syncs before answering, and the timer
	 * would only sync the same bytes again). */
	if (a->durable == a->seq)
		return LB_OK;
	if (a->io.sync != NULL && a->io.sync(a->io.ctx) != LB_OK) {
		/* After a failed fsync the kernel may have dropped the data and
		 * a later fsync may still succeed: nothing more is written
		 * until what is not known to be on disk is written again. */
		a->unsure = 1;
		a->repair_at = 0;
		return LB_E_AUDIT;
	}
	a->durable = a->seq;
	lb_buf_reset(&a->tail);
	return LB_OK;
}

int
lb_audit_repair(struct lb_audit *a, uint64_t now)
{
	if (a == NULL)
		return LB_E_AUDIT;
	if (!a->unsure)
		return LB_OK;
	/* A failing disk is slow to fail: once a second is enough. */
	if (a->io.rewrite == NULL || a->repair_at == now + 1)
		return LB_E_AUDIT;
	a->repair_at = now + 1;
	/* Writing the bytes again dirties their pages with what we know they
	 * hold, so a good sync after it puts exactly them on disk; the file is
	 * cut to their end (a part of a line that could not be cut back). */
	if (a->io.rewrite(a->io.ctx, a->size - a->tail.len, a->tail.data, a->tail.len) != LB_OK)
		return LB_E_AUDIT;
	a->unsure = 0;
	a->durable = a->seq;
	lb_buf_reset(&a->tail);
	return LB_OK;
}

uint64_t
lb_audit_bytes(const struct lb_audit *a)
{
	return a != NULL ? a->size : 0;
}

const char *
lb_audit_why(const struct lb_audit *a)
{
	const char *w = NULL;

	if (a != NULL && a->io.why != NULL)
		w = a->io.why(a->io.ctx);
	if (w == NULL || w[0] == '\0')
		w = a != NULL && a->unsure ? "a sync failed" : "the write failed";
	return w;
}

int
lb_audit_durable(const struct lb_audit *a, uint64_t seq)
{
	return a != NULL && !a->unsure && a->durable >= seq;
}

void
lb_audit_head(const struct lb_audit *a, uint64_t *seq, uint8_t hash[LB_HASH_BYTES])
{
	if (seq != NULL)
		*seq = a != NULL ? a->seq : 0;
	if (hash != NULL) {
		if (a != NULL)
			memcpy(hash, a->hash, LB_HASH_BYTES);
		else
			memset(hash, 0, LB_HASH_BYTES);
	}
}

int
lb_audit_recovered(const struct lb_audit *a, uint64_t *seq, uint64_t *offset, uint64_t *len)
{
	int yes = a != NULL && a->recovered;

	if (seq != NULL)
		*seq = yes ? a->rec_seq : 0;
	if (offset != NULL)
		*offset = yes ? a->rec_start : 0;
	if (len != NULL)
		*len = yes ? a->rec_len : 0;
	return yes;
}

void
lb_audit_close(struct lb_audit *a)
{
	if (a == NULL)
		return;
	lb_buf_free(&a->line);
	lb_buf_free(&a->many);
	lb_buf_free(&a->tail);
	free(a);
}

/* ---- verification ---- */

/* A JSON string field equals the bytes P[0..N) (null counts as empty). */
static int
lb_field_equals(const struct lb_json_str *s, const char *p, size_t n, struct lb_buf *tmp)
{
	lb_buf_reset(tmp);
	if (!s->null && lb_json_unescape(s->raw, s->raw_len, tmp, NULL) != LB_OK)
		return 0;
	return tmp->len == n && (n == 0 || memcmp(tmp->data, p, n) == 0);
}

/* The key that must have signed the stored request of L (its key field
 * RKEY): the one enrolled in POLICY, or, for a refusal of an unknown key
 * and a status question, the one it carries; NULL (with the message in
 * MSG) if neither. *SKIP := 1 for a refused forgery (nothing should
 * verify). */
static const uint8_t *
lb_verify_signer(const struct lb_audit_line *l, const struct lb_policy *policy,
    const uint8_t rkey[LB_PK_BYTES], uint64_t lineno, struct lb_buf *msg, int *skip)
{
	const struct lb_key_entry *k;

	*skip = 0;
	if (lb_field_is(&l->event, "reject") && l->error == LB_E_SIG &&
	    !lb_field_is(&l->verdict, "allowed")) {
		*skip = 1;
		return NULL;
	}
	if ((k = lb_policy_find_key(policy, rkey)) != NULL)
		return k->pk;
	if ((lb_field_is(&l->event, "reject") && l->error == LB_E_KEY_UNKNOWN &&
	    !lb_field_is(&l->verdict, "allowed")) || lb_field_is(&l->event, "status"))
		return rkey;
	lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": signed by a key not enrolled in the policy",
	    lineno));
	return NULL;
}

/* A record storing a batch (version 2): its own "batch" record, or the
 * refusal of a whole batch. It names no link itself (its entries' records
 * do), and with a policy its signature must verify as a request's. */
static int
lb_verify_batch_request(const struct lb_audit_line *l, const struct lb_policy *policy,
    uint64_t lineno, struct lb_buf *msg)
{
	struct lb_batch *b;
	const uint8_t *pk;
	int rc, skip;

	if (l->sig == NULL) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a request without its signature",
		    lineno));
		return LB_E_AUDIT;
	}
	if (!lb_field_is(&l->event, "batch") && !lb_field_is(&l->event, "reject")) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a batch stored in a \"%.*s\" record",
		    lineno, (int)(l->event.raw_len > 32 ? 32 : l->event.raw_len),
		    l->event.null ? "" : l->event.raw));
		return LB_E_AUDIT;
	}
	if ((b = malloc(sizeof(*b))) == NULL)
		return LB_E_NOMEM;
	if ((rc = lb_audit_line_batch(l, b)) != LB_OK) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": the stored batch does not decode: %s",
		    lineno, lb_strerror(rc)));
		rc = LB_E_AUDIT;
		goto out;
	}
	rc = LB_E_AUDIT;
	if (l->kind != LB_KIND_NONE || !l->link.null || !l->target.null) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a batch's record names a link: its "
		    "entries' records do", lineno));
		goto out;
	}
	rc = LB_OK;
	if (policy == NULL)
		goto out;
	pk = lb_verify_signer(l, policy, b->key, lineno, msg, &skip);
	if (skip)
		goto out;
	rc = LB_E_AUDIT;
	if (pk == NULL)
		goto out;
	if (lb_batch_verify(b, l->request, l->request_len, pk) != LB_OK) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": the batch's signature does not verify",
		    lineno));
		goto out;
	}
	rc = LB_OK;
out:
	free(b);
	return rc;
}

/* The batch whose entries' records are being read (verify-audit): a
 * "batch" record is followed, in the same append, by one record per
 * entry, in entry order, each naming the batch's hash and its index. */
struct lb_vbatch {
	struct lb_batch *b;       /* NULL: none open */
	struct lb_buf body;       /* its signed body (B points into it) */
	uint8_t hash[LB_HASH_BYTES];
	uint64_t lineno;          /* its "batch" record */
	size_t next;              /* entries recorded so far */
};

static void
lb_vbatch_close(struct lb_vbatch *vb)
{
	free(vb->b);
	vb->b = NULL;
	vb->next = 0;
}

/* Whether a batch is open with entries still to be recorded: then a
 * record that is not the next entry's means one is missing. */
static int
lb_vbatch_missing(const struct lb_vbatch *vb, uint64_t lineno, struct lb_buf *msg)
{
	if (vb->b == NULL)
		return 0;
	lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": the batch at line %" PRIu64 " has %zu "
	    "entries and %zu records of them: entry %zu is missing", lineno, vb->lineno, vb->b->n,
	    vb->next, vb->next));
	return 1;
}

/* L, a "batch" record at LINENO whose request verified: its entries' records come next. */
static int
lb_vbatch_open(struct lb_vbatch *vb, const struct lb_audit_line *l, uint64_t lineno)
{
	int rc;

	lb_vbatch_close(vb);
	lb_buf_reset(&vb->body);
	if ((vb->b = malloc(sizeof(*vb->b))) == NULL)
		return LB_E_NOMEM;
	if ((rc = lb_buf_put(&vb->body, l->request, l->request_len)) != LB_OK ||
	    (rc = lb_buf_put(&vb->body, l->sig, LB_SIG_BYTES)) != LB_OK ||
	    (rc = lb_hash(vb->hash, l->request, l->request_len)) != LB_OK ||
	    (rc = lb_batch_decode(vb->body.data, vb->body.len, vb->b, NULL)) != LB_OK) {
		lb_vbatch_close(vb);
		return rc == LB_E_NOMEM ? rc : LB_E_AUDIT;
	}
	vb->lineno = lineno;
	vb->next = 0;
	return LB_OK;
}

/* A record field F against the signed bytes P[0..N): equal, or, for a
 * record that is not "allowed", their first LB_AUDIT_PATH_KEEP bytes
 * when they are longer (the broker's compact records). */
static int
lb_entry_field_ok(const struct lb_audit_line *l, const struct lb_json_str *f, const char *p,
    size_t n, struct lb_buf *tmp)
{
	if (n > LB_AUDIT_PATH_KEEP && !lb_field_is(&l->verdict, "allowed"))
		n = LB_AUDIT_PATH_KEEP;
	return lb_field_equals(f, p, n, tmp);
}

/* L (at LINENO) names entry l->index of a batch: it must be the open
 * batch's next entry, and say what that entry asked. */
static int
lb_verify_entry(struct lb_vbatch *vb, const struct lb_audit_line *l, uint64_t lineno,
    struct lb_buf *msg, struct lb_buf *tmp)
{
	const struct lb_batch_entry *e;
	const char *what = NULL;

	if (vb->b == NULL) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a batch's entry whose batch record is "
		    "not before it (removed, or the entry moved)", lineno));
		return LB_E_AUDIT;
	}
	if (sodium_memcmp(l->batch, vb->hash, LB_HASH_BYTES) != 0) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a batch's entry that names another batch "
		    "than the one at line %" PRIu64 " (moved from another batch?)", lineno, vb->lineno));
		return LB_E_AUDIT;
	}
	if (l->index != vb->next) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": entry %" PRIu32 " of the batch at line "
		    "%" PRIu64 ", expected entry %zu: an entry is missing, repeated or out of order",
		    lineno, l->index, vb->lineno, vb->next));
		return LB_E_AUDIT;
	}
	e = &vb->b->e[vb->next];
	if (!lb_field_is(&l->event, e->type == LB_MSG_CREATE ? "create" : "check"))
		what = "\"event\"";
	else if ((enum lb_kind)e->kind != l->kind)
		what = "\"kind\"";
	else if (!lb_entry_field_ok(l, &l->link, e->link, e->link_len, tmp))
		what = "\"link\"";
	else if (!lb_entry_field_ok(l, &l->target, e->target, e->target_len, tmp))
		what = "\"target\"";
	if (what != NULL) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": %s differs from entry %zu of the signed "
		    "batch at line %" PRIu64, lineno, what, vb->next, vb->lineno));
		return LB_E_AUDIT;
	}
	if (++vb->next == vb->b->n)
		lb_vbatch_close(vb);
	return LB_OK;
}

/*
 * The stored request of a good-chain record: it must decode, say what the
 * record says, and (with a policy) be signed by an enrolled key. Appends the
 * problem to MSG and returns LB_E_AUDIT.
 */
static int
lb_verify_request(const struct lb_audit_line *l, const struct lb_policy *policy,
    uint64_t lineno, struct lb_buf *msg, struct lb_buf *tmp)
{
	const uint8_t *pk;
	struct lb_request r;
	int rc, skip;

	if (lb_field_is(&l->event, "made") || lb_field_is(&l->event, "removed")) {
		/* What an allowed create made, or an allowed remove removed
		 * (the decision and its signed request are in an earlier
		 * record): no request of its own. */
		if (l->request == NULL && l->sig == NULL && !l->in_batch && l->kind != LB_KIND_NONE &&
		    !l->link.null && lb_field_is(&l->verdict, "allowed"))
			return LB_OK;
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a made or removed record must be "
		    "allowed, name its kind and link, and carry no request", lineno));
		return LB_E_AUDIT;
	}
	if (l->has_file) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a file identity outside a made or "
		    "removed record", lineno));
		return LB_E_AUDIT;
	}
	if (lb_field_is(&l->event, "rotate") || lb_field_is(&l->event, "reopen")) {
		/* The log's own records: nothing was asked or decided. */
		if (l->request == NULL && l->sig == NULL && l->kind == LB_KIND_NONE)
			return LB_OK;
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a rotation record carries no request",
		    lineno));
		return LB_E_AUDIT;
	}
	if (l->in_batch) {
		/* lb_verify_entry holds it to its batch's signed request */
		if (l->request == NULL && l->sig == NULL)
			return LB_OK;
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a batch's entry with a request of "
		    "its own", lineno));
		return LB_E_AUDIT;
	}
	if (l->request != NULL && lb_msg_is_batch(l->request, l->request_len))
		return lb_verify_batch_request(l, policy, lineno, msg);
	if (lb_field_is(&l->event, "batch")) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a batch record without its signed "
		    "batch", lineno));
		return LB_E_AUDIT;
	}
	if (l->request == NULL && l->sig == NULL) {
		if (policy == NULL || !lb_field_is(&l->verdict, "allowed"))
			return LB_OK;
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": allowed without a signed request",
		    lineno));
		return LB_E_AUDIT;
	}
	if (l->request == NULL || l->sig == NULL) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": %s", lineno, l->request == NULL ?
		    "a signature without the request it signs" :
		    "a request without its signature"));
		return LB_E_AUDIT;
	}
	if ((rc = lb_audit_line_request(l, &r)) != LB_OK) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": the stored request does not decode: "
		    "%s", lineno, lb_strerror(rc)));
		return LB_E_AUDIT;
	}
	/* The request is the authoritative copy: the readable fields must not
	 * tell another story than what was signed. A remove names only its
	 * link; the kind and target of its record are what the broker made
	 * there (its made record's). */
	if (r.type != LB_MSG_REMOVE && (enum lb_kind)r.kind != l->kind) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": \"kind\" differs from the signed request",
		    lineno));
		return LB_E_AUDIT;
	}
	if (!lb_field_equals(&l->link, r.link, r.link_len, tmp)) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": \"link\" differs from the signed request",
		    lineno));
		return LB_E_AUDIT;
	}
	if (r.type != LB_MSG_REMOVE && !lb_field_equals(&l->target, r.target, r.target_len, tmp)) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": \"target\" differs from the signed request",
		    lineno));
		return LB_E_AUDIT;
	}
	if (policy == NULL)
		return LB_OK;
	/* A refused forgery: nothing should verify. A refused unknown key
	 * or a status question (any key may ask): signed by the key it
	 * carries. */
	pk = lb_verify_signer(l, policy, r.key, lineno, msg, &skip);
	if (skip)
		return LB_OK;
	if (pk == NULL)
		return LB_E_AUDIT;
	if (lb_request_verify(&r, pk) != LB_OK) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": the request's signature does not verify",
		    lineno));
		return LB_E_AUDIT;
	}
	return LB_OK;
}

/*
 * A recovery record L at LINENO: it carries no request, and it seals
 * exactly the bytes T before it (FIRST_BAD: the message about T's first
 * line). Appends the problem to MSG and returns LB_E_AUDIT; a changed byte
 * in the sealed bytes is reported at their first line.
 */
static int
lb_verify_recovery(const struct lb_audit_line *l, const struct lb_torn *t,
    const struct lb_buf *first_bad, uint64_t lineno, struct lb_buf *msg, struct lb_buf *tmp)
{
	if (!lb_field_is(&l->verdict, "failed") || l->request != NULL || l->sig != NULL) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": not a valid recovery record: it is "
		    "\"failed\" and carries no request", lineno));
		return LB_E_AUDIT;
	}
	if (!t->active) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a recovery record with nothing torn "
		    "before it", lineno));
		return LB_E_AUDIT;
	}
	if (lb_torn_sealed_by(t, l, tmp))
		return LB_OK;
	if (!l->reason.null && lb_torn_reason(t, 0, tmp) == LB_OK &&
	    l->reason.raw_len == tmp->len + LB_AUDIT_HEX_LEN &&
	    memcmp(l->reason.raw, tmp->data, tmp->len) == 0) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": the torn bytes that the recovery record "
		    "at line %" PRIu64 " seals were changed: their hash is not the one it names",
		    t->lineno, lineno));
		return LB_E_AUDIT;
	}
	/* It names other bytes: those before it are simply not a record. */
	lb_best_effort(lb_buf_put(msg, first_bad->data, first_bad->len));
	lb_best_effort(lb_buf_printf(msg, "; the recovery record at line %" PRIu64 " does not seal "
	    "the %" PRIu64 " bytes from byte %" PRIu64, lineno, t->len, t->start));
	return LB_E_AUDIT;
}

/* Whether the reopen record L names the record before it (its seq - 1
 * and prev) as "continues the log from seq N hash HEX: ...". */
static int
lb_reopen_names_prev(const struct lb_audit_line *l, struct lb_buf *tmp)
{
	lb_buf_reset(tmp);
	if (l->seq < 2 || l->reason.null || lb_continues_text(tmp, l->seq - 1, l->prev) != LB_OK)
		return 0;
	/* The reason is written by the broker as ASCII up to the path. */
	return l->reason.raw_len > tmp->len + 1 && memcmp(l->reason.raw, tmp->data, tmp->len) == 0 &&
	    l->reason.raw[tmp->len] == ':';
}

/* One file of a set, as verified: where its chain starts and ends. */
struct lb_span {
	const char *path;
	size_t records;
	uint64_t first_seq, last_seq;
	uint8_t first_prev[LB_HASH_BYTES], last_hash[LB_HASH_BYTES];
	int continued;      /* starts with a reopen that continues an earlier file */
	int ends_rotated;   /* its last record is a rotation to a next file */
	long rank;          /* PATH 0, PATH.N N; -1: not named so */
};

static int lb_verify_file(const char *path, const struct lb_policy *policy,
    struct lb_buf *msg, size_t *records, struct lb_span *sp);

int
lb_audit_verify(const char *path, const struct lb_policy *policy,
    struct lb_buf *msg, size_t *records)
{
	struct lb_span sp;

	return lb_verify_file(path, policy, msg, records, &sp);
}

/* The verifier between two lines: lb_verify_file feeds it the lines of a
 * file, `linkbrokerd audit --follow --verify` the lines a live log gains
 * (lb_audit_verifier_*), so both check with the very same rules. */
/* The allowed creates seen and not yet made (by seq modulo the size): a
 * made record must name one of them, of the same user, kind and link. A
 * decision further back than this is not checked (the broker writes the
 * made record within a round or two of its decision). */
#define LB_VERIFY_MADE_RING 16384
struct lb_made_slot {
	uint64_t seq;                 /* 0: empty */
	uint64_t what;                /* BLAKE2b-64 of user, kind and link as written */
};

struct lb_audit_verifier {
	const struct lb_policy *policy;
	struct lb_audit_line l;
	struct lb_torn torn;
	struct lb_vbatch vb;
	struct lb_buf why, tmp, notes, first_bad;
	uint8_t last[LB_HASH_BYTES];
	uint64_t seq, lineno;
	uint64_t start;               /* the first seq this verifier saw (0: none yet) */
	size_t good;
	struct lb_span sp;
	struct lb_made_slot *made;    /* LB_VERIFY_MADE_RING of them, from the first allowed create */
	int made_nomem;               /* calloc failed: made records are not checked */
};

static void
lb_verifier_init(struct lb_audit_verifier *v, const struct lb_policy *policy)
{
	memset(v, 0, sizeof(*v));
	v->policy = policy;
	lb_buf_init(&v->vb.body, LB_FRAME_MAX + LB_SIG_BYTES);
	lb_audit_line_init(&v->l);
	lb_buf_init(&v->why, 1024);
	lb_buf_init(&v->tmp, LB_AUDIT_LINE_MAX);
	lb_buf_init(&v->notes, 1024 * 1024);
	lb_buf_init(&v->first_bad, 4096);
}

static void
lb_verifier_fini(struct lb_audit_verifier *v)
{
	lb_vbatch_close(&v->vb);
	lb_buf_free(&v->vb.body);
	lb_audit_line_free(&v->l);
	lb_buf_free(&v->why);
	lb_buf_free(&v->tmp);
	lb_buf_free(&v->notes);
	lb_buf_free(&v->first_bad);
	free(v->made);
}

/* What a create decision and its made record share: user, kind, link
 * as written (the broker escapes the same bytes the same way). */
static int
lb_made_what(const struct lb_audit_line *l, uint8_t pair, uint64_t *what)
{
	crypto_generichash_state st;
	const uint8_t sep = pair, kind = (uint8_t)l->kind;
	uint8_t out[8];

	if (crypto_generichash_init(&st, NULL, 0, sizeof(out)) != 0 ||
	    crypto_generichash_update(&st, (const uint8_t *)l->user.raw, l->user.null ? 0 : l->user.raw_len) != 0 ||
	    crypto_generichash_update(&st, &sep, 1) != 0 ||
	    crypto_generichash_update(&st, &kind, 1) != 0 ||
	    crypto_generichash_update(&st, (const uint8_t *)l->link.raw, l->link.null ? 0 : l->link.raw_len) != 0 ||
	    crypto_generichash_final(&st, out, sizeof(out)) != 0)
		return LB_E_INVAL;
	memcpy(what, out, sizeof(out));
	return LB_OK;
}

/* An allowed create (a decision the broker may make a link for) is
 * remembered; a made record must name a remembered one, which it then
 * uses up. */
static int
lb_verify_made(struct lb_audit_verifier *v, const struct lb_audit_line *l, uint64_t lineno,
    struct lb_buf *msg)
{
	/* A decision and the record of what was done on it: pair 0 a create
	 * and its made record, pair 1 a remove and its removed record. */
	static const char *const decision[] = { "create", "remove" };
	static const char *const done[] = { "made", "removed" };
	static const char *const prefix[] = { "made as decided in record ",
	    "removed as decided in record " };
	struct lb_made_slot *slot;
	uint64_t n = 0, what;
	size_t pl;
	uint8_t pair;
	int rc;

	for (pair = 0; pair < 2; pair++) {
		if (lb_field_is(&l->event, decision[pair]) && lb_field_is(&l->verdict, "allowed")) {
			/* made on first need: most logs a test or a tool reads are small */
			if (v->made == NULL &&
			    (v->made = calloc(LB_VERIFY_MADE_RING, sizeof(*v->made))) == NULL) {
				v->made_nomem = 1;   /* unchecked, not broken */
				return LB_OK;
			}
			slot = &v->made[l->seq % LB_VERIFY_MADE_RING];
			slot->seq = l->seq;
			return lb_made_what(l, pair, &slot->what);
		}
		if (lb_field_is(&l->event, done[pair]))
			break;
	}
	if (pair == 2)
		return LB_OK;
	/* "made as decided in record N", N a canonical decimal before this one */
	pl = strlen(prefix[pair]);
	if (l->reason.null || l->reason.raw_len <= pl || memcmp(l->reason.raw, prefix[pair], pl) != 0 ||
	    lb_json_uint_text(l->reason.raw + pl, l->reason.raw_len - pl, UINT64_MAX, &n) != LB_OK ||
	    n == 0 || n >= l->seq)
		goto bad;
	/* Its decision is in an earlier file of the set, or too far back. */
	if (n < v->start || l->seq - n > LB_VERIFY_MADE_RING)
		return LB_OK;
	if (v->made == NULL && v->made_nomem)
		return LB_OK;
	if ((rc = lb_made_what(l, pair, &what)) != LB_OK)
		return rc;
	/* none at all (no allowed decision in this stream), or not this one */
	slot = v->made != NULL ? &v->made[n % LB_VERIFY_MADE_RING] : NULL;
	if (slot == NULL || slot->seq != n || slot->what != what) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a %s record whose record %" PRIu64
		    " is not an allowed %s of the same user, kind and link (or was %s already)",
		    lineno, done[pair], n, decision[pair], done[pair]));
		return LB_E_AUDIT;
	}
	slot->seq = 0;   /* one link per decision */
	return LB_OK;
bad:
	lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a %s record that does not name the "
	    "decision before it", lineno, done[pair]));
	return LB_E_AUDIT;
}

/*
 * One line: LINE (LEN bytes, without its newline; COMPLETE if a newline
 * ended it) starting at byte START of its file. LB_OK to go on; LB_E_AUDIT
 * with what is wrong in MSG; LB_E_NOMEM.
 */
static int
lb_verifier_step(struct lb_audit_verifier *v, const uint8_t *line, size_t len,
    int complete, uint64_t start, struct lb_buf *msg)
{
	struct lb_audit_line *l = &v->l;
	uint8_t h[LB_HASH_BYTES];
	const char *text;
	uint64_t lineno = ++v->lineno;
	int is_rec, rc;

	if (!complete && !v->torn.active) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": the last line has no newline: "
		    "a write torn by a crash; the %" PRIu64 " records before it end at byte %" PRIu64,
		    lineno, (uint64_t)v->good, start));
		return LB_E_AUDIT;
	}
	lb_buf_reset(&v->why);
	if (!complete || lb_audit_line_parse(l, (const char *)line, len, &v->why) != LB_OK) {
		/* Not a record: only a recovery record right after this (and
		 * any more such lines) may make it evidence of a crash; else
		 * this first one is the bad line. */
		if (!v->torn.active) {
			if (lb_buf_cstr(&v->why, &text) != LB_OK)
				text = "?";
			lb_buf_reset(&v->first_bad);
			lb_best_effort(lb_buf_printf(&v->first_bad, "%" PRIu64 ": not a valid audit "
			    "record: %s", lineno, text));
		}
		return lb_torn_add(&v->torn, lineno, start, line, len);
	}
	is_rec = lb_field_is(&l->event, "recovery");
	if (v->torn.active && !is_rec) {
		/* Damage in the middle of the log. */
		lb_best_effort(lb_buf_put(msg, v->first_bad.data, v->first_bad.len));
		return LB_E_AUDIT;
	}
	if ((rc = lb_hash(h, line, l->hashed_len)) != LB_OK)
		return rc;
	if (sodium_memcmp(h, l->hash, LB_HASH_BYTES) != 0) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": the hash does not match the record: "
		    "the line was changed", lineno));
		return LB_E_AUDIT;
	}
	if (is_rec && (rc = lb_verify_recovery(l, &v->torn, &v->first_bad, lineno, msg,
	    &v->tmp)) != LB_OK)
		return rc;
	if (lb_field_is(&l->event, "reopen")) {
		if (!lb_reopen_names_prev(l, &v->tmp)) {
			lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": a reopen record that does "
			    "not name the record before it", lineno));
			return LB_E_AUDIT;
		}
		if (v->good == 0 && v->seq == 0) {
			/* A rotated file: its chain starts in the file before,
			 * which the reason names. */
			v->seq = l->seq - 1;
			memcpy(v->last, l->prev, LB_HASH_BYTES);
			v->sp.continued = 1;
		}
	}
	if (l->seq != v->seq + 1) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": seq is %" PRIu64 ", expected %" PRIu64
		    ": a record is missing, repeated or out of order", lineno, l->seq, v->seq + 1));
		return LB_E_AUDIT;
	}
	if (sodium_memcmp(l->prev, v->last, LB_HASH_BYTES) != 0) {
		lb_best_effort(lb_buf_printf(msg, lineno == 1 && v->seq == 0 ?
		    "%" PRIu64 ": prev is not 64 zeros, as the first record's must be" :
		    "%" PRIu64 ": prev is not the hash of the record before it", lineno));
		return LB_E_AUDIT;
	}
	if ((rc = lb_verify_request(l, v->policy, lineno, msg, &v->tmp)) != LB_OK)
		return rc;
	if (v->start == 0)
		v->start = l->seq;
	if ((rc = lb_verify_made(v, l, lineno, msg)) != LB_OK)
		return rc;
	if (l->in_batch) {
		if ((rc = lb_verify_entry(&v->vb, l, lineno, msg, &v->tmp)) != LB_OK)
			return rc;
	} else if (is_rec) {
		/* a crash cut the batch's one append short: its client was
		 * never answered, and none of its links made */
		lb_vbatch_close(&v->vb);
	} else if (lb_vbatch_missing(&v->vb, lineno, msg)) {
		return LB_E_AUDIT;
	}
	if (lb_field_is(&l->event, "batch") && (rc = lb_vbatch_open(&v->vb, l, lineno)) != LB_OK)
		return rc;
	if (is_rec) {
		lb_best_effort(lb_buf_printf(&v->notes, "recovered crash at line %" PRIu64
		    " (%" PRIu64 " bytes kept as evidence)\n", v->torn.lineno, v->torn.len));
		v->torn.active = 0;
	}
	if (v->good == 0) {
		v->sp.first_seq = l->seq;
		memcpy(v->sp.first_prev, l->prev, LB_HASH_BYTES);
	}
	v->sp.last_seq = l->seq;
	memcpy(v->sp.last_hash, l->hash, LB_HASH_BYTES);
	v->sp.ends_rotated = lb_field_is(&l->event, "rotate");
	v->seq = l->seq;
	memcpy(v->last, l->hash, LB_HASH_BYTES);
	v->good++;
	return LB_OK;
}

/* The end of the file: a torn write nothing sealed, or a batch cut short. */
static int
lb_verifier_end(struct lb_audit_verifier *v, struct lb_buf *msg)
{
	if (v->torn.active) {
		/* Not sealed: at the log's end, a crash the broker seals when
		 * it starts again. */
		lb_best_effort(lb_buf_put(msg, v->first_bad.data, v->first_bad.len));
		lb_best_effort(lb_buf_printf(msg, "; the log ends here: a write torn by a crash, "
		    "sealed when the broker starts; the %" PRIu64 " records before it end at byte "
		    "%" PRIu64, (uint64_t)v->good, v->torn.start));
		return LB_E_AUDIT;
	}
	if (v->vb.b != NULL) {
		lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": the batch at line %" PRIu64 " has %zu "
		    "entries and the log ends after %zu records of them", v->lineno, v->vb.lineno,
		    v->vb.b->n, v->vb.next));
		return LB_E_AUDIT;
	}
	lb_best_effort(lb_buf_put(msg, v->notes.data, v->notes.len));
	return LB_OK;
}

static int
lb_verify_file(const char *path, const struct lb_policy *policy,
    struct lb_buf *msg, size_t *records, struct lb_span *sp)
{
	struct lb_audit_verifier v;
	struct lb_line_reader rd;
	struct lb_buf line, scratch;
	uint64_t line_start;
	int complete, rc;

	memset(&rd, 0, sizeof(rd));
	lb_verifier_init(&v, policy);
	lb_buf_init(&line, LB_AUDIT_LINE_MAX - 1);
	/* Callers may pass no MSG; messages then go to a scratch buffer. */
	lb_buf_init(&scratch, 4096);
	if (msg == NULL)
		msg = &scratch;
	if (path == NULL) {
		rc = LB_E_INVAL;
		goto out;
	}
	if ((rc = lb_line_open(&rd, path)) != LB_OK) {
		lb_best_effort(lb_buf_printf(msg, "cannot open the file: %s",
		    rc == LB_E_NOMEM ? lb_strerror(rc) :
		    rd.open_errno != 0 ? strerror(rd.open_errno) : "unknown reason"));
		rc = rc == LB_E_NOMEM ? rc : LB_E_IO;
		goto out;
	}
	for (;;) {
		line_start = rd.pos;
		rc = lb_line_next(&rd, &line, &complete);
		if (rc == LB_LINE_END) {
			rc = lb_verifier_end(&v, msg);
			break;
		}
		if (rc == LB_E_TOOBIG) {
			lb_best_effort(lb_buf_printf(msg, "%" PRIu64 ": line longer than %u bytes, "
			    "more than any record", v.lineno + 1, LB_AUDIT_LINE_MAX));
			rc = LB_E_AUDIT;
			break;
		}
		if (rc != LB_OK) {
			lb_best_effort(lb_buf_printf(msg, "cannot read the file at line %" PRIu64 ": %s",
			    v.lineno + 1, lb_strerror(rc)));
			rc = rc == LB_E_NOMEM ? rc : LB_E_IO;
			break;
		}
		if ((rc = lb_verifier_step(&v, line.data, line.len, complete, line_start,
		    msg)) != LB_OK)
			break;
	}
out:
	*sp = v.sp;
	sp->path = path;
	sp->records = v.good;
	if (records != NULL)
		*records = v.good;
	lb_verifier_fini(&v);
	lb_line_close(&rd);
	lb_buf_free(&line);
	lb_buf_free(&scratch);
	return rc;
}

int
lb_audit_verifier_new(const struct lb_policy *policy, uint64_t seq,
    const uint8_t hash[LB_HASH_BYTES], struct lb_audit_verifier **out)
{
	struct lb_audit_verifier *v;

	*out = NULL;
	if ((v = malloc(sizeof(*v))) == NULL)
		return LB_E_NOMEM;
	lb_verifier_init(v, policy);
	v->seq = seq;
	memcpy(v->last, hash, LB_HASH_BYTES);
	*out = v;
	return LB_OK;
}

int
lb_audit_verifier_feed(struct lb_audit_verifier *v, const char *line, size_t len,
    struct lb_buf *msg)
{
	if (v == NULL || line == NULL || msg == NULL)
		return LB_E_INVAL;
	return lb_verifier_step(v, (const uint8_t *)line, len, 1, 0, msg);
}

void
lb_audit_verifier_free(struct lb_audit_verifier *v)
{
	if (v == NULL)
		return;
	lb_verifier_fini(v);
	free(v);
}

/* ---- several files of one log ---- */

/* PATH.N -> N; PATH -> 0, with *BASE_LEN the length of PATH's base. */
static long
lb_span_rank(const char *p, size_t *base_len)
{
	size_t n = strlen(p), i = n;
	long v = 0;

	while (i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9')
		i--;
	if (i < n && i > 1 && p[i - 1] == '.' && n - i <= 6 && p[i] != '0') {
		*base_len = i - 1;
		for (; i < n; i++)
			v = v * 10 + (p[i] - '0');
		return v;
	}
	*base_len = n;
	return 0;
}

static int
lb_span_cmp(const void *x, const void *y)
{
	const struct lb_span *a = x, *b = y;

	return a->first_seq < b->first_seq ? -1 : a->first_seq > b->first_seq;
}

/* Whether all names are one base and its rotations (BASE, BASE.N). */
static int
lb_spans_numbered(struct lb_span *v, size_t n)
{
	size_t i, bl, bl0 = 0;

	for (i = 0; i < n; i++) {
		v[i].rank = lb_span_rank(v[i].path, &bl);
		if (i == 0)
			bl0 = bl;
		else if (bl != bl0 || strncmp(v[i].path, v[0].path, bl) != 0)
			return 0;
	}
	return 1;
}

int
lb_audit_verify_set(const char *const *paths, size_t n, const struct lb_policy *policy,
    struct lb_buf *msg, size_t *records, enum lb_audit_set_verdict *verdict)
{
	struct lb_span *v = NULL, *cur, *nx;
	struct lb_buf one, scratch;
	const char *text, *nl;
	size_t i, k, total = 0, nonempty = 0;
	int rc = LB_OK;

	lb_buf_init(&one, 1024 * 1024);
	lb_buf_init(&scratch, 4096);
	if (msg == NULL)
		msg = &scratch;
	if (records != NULL)
		*records = 0;
	*verdict = LB_AUDIT_SET_BROKEN;
	if (paths == NULL || n == 0 || n > LB_AUDIT_SET_MAX) {
		rc = LB_E_INVAL;
		goto out;
	}
	if ((v = calloc(n, sizeof(*v))) == NULL) {
		rc = LB_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		lb_buf_reset(&one);
		rc = lb_verify_file(paths[i], policy, &one, NULL, &v[i]);
		if (rc != LB_OK) {
			/* "FILE:LINE: what" (broken) or "FILE: why" (unreadable). */
			lb_best_effort(lb_buf_printf(msg, "%s:%s", paths[i], rc == LB_E_AUDIT ? "" : " "));
			lb_best_effort(lb_buf_put(msg, one.data, one.len));
			lb_best_effort(lb_buf_put_u8(msg, '\n'));
			if (rc == LB_E_AUDIT)
				rc = LB_OK;
			goto out;
		}
		/* One "recovered crash at ..." line each: keep them, named. */
		if (one.len > 0 && lb_buf_cstr(&one, &text) == LB_OK) {
			for (; (nl = strchr(text, '\n')) != NULL; text = nl + 1) {
				lb_best_effort(lb_buf_printf(msg, "%s: ", paths[i]));
				lb_best_effort(lb_buf_put(msg, text, (size_t)(nl - text) + 1));
			}
		}
		total += v[i].records;
	}
	/* Empty files (one logrotate has just made) hold no part of the chain. */
	for (i = 0, k = 0; i < n; i++)
		if (v[i].records > 0)
			v[k++] = v[i];
	nonempty = k;
	qsort(v, nonempty, sizeof(*v), lb_span_cmp);
	for (i = 0; i + 1 < nonempty; i++) {
		cur = &v[i];
		nx = &v[i + 1];
		if (nx->first_seq <= cur->last_seq) {
			lb_best_effort(lb_buf_printf(msg, "%s and %s both hold seq %" PRIu64 "..%" PRIu64
			    ": the same file twice, or two logs mixed\n", cur->path, nx->path,
			    nx->first_seq, nx->last_seq < cur->last_seq ? nx->last_seq : cur->last_seq));
			goto out;
		}
		if (nx->first_seq > cur->last_seq + 1) {
			lb_best_effort(lb_buf_printf(msg, "a file is missing between %s (ends at seq %" PRIu64
			    ") and %s (starts at seq %" PRIu64 "): seq %" PRIu64 "..%" PRIu64 " are in no file "
			    "given\n", cur->path, cur->last_seq, nx->path, nx->first_seq,
			    cur->last_seq + 1, nx->first_seq - 1));
			*verdict = LB_AUDIT_SET_MISSING;
			goto out;
		}
		if (sodium_memcmp(nx->first_prev, cur->last_hash, LB_HASH_BYTES) != 0) {
			lb_best_effort(lb_buf_printf(msg, "%s does not continue %s: its first record's prev "
			    "is not the hash of the last record before it (another log's file, or one "
			    "changed at its end)\n", nx->path, cur->path));
			goto out;
		}
	}
	/* One file alone is checked as a file: that it was rotated is said below. */
	if (n > 1 && nonempty > 0 && v[nonempty - 1].ends_rotated) {
		lb_best_effort(lb_buf_printf(msg, "%s ends with a rotation, and no file given continues "
		    "it: the newest file (seq %" PRIu64 " on) is missing\n", v[nonempty - 1].path,
		    v[nonempty - 1].last_seq + 1));
		*verdict = LB_AUDIT_SET_MISSING;
		goto out;
	}
	if (nonempty > 1 && lb_spans_numbered(v, nonempty)) {
		/* Oldest first: rotation numbers must fall (PATH.2, PATH.1, PATH). */
		for (i = 0; i + 1 < nonempty; i++) {
			if (v[i].rank <= v[i + 1].rank) {
				lb_best_effort(lb_buf_printf(msg, "the files are out of order: %s holds older "
				    "records (seq %" PRIu64 "..%" PRIu64 ") than %s (seq %" PRIu64 "..%" PRIu64
				    "), but its name says it is newer\n", v[i].path, v[i].first_seq,
				    v[i].last_seq, v[i + 1].path, v[i + 1].first_seq, v[i + 1].last_seq));
				*verdict = LB_AUDIT_SET_REORDERED;
				goto out;
			}
		}
	}
	for (i = 0; i < nonempty; i++) {
		if (n == 1) {
			lb_best_effort(lb_buf_printf(msg, "%s: intact, %zu record%s", v[i].path,
			    v[i].records, v[i].records == 1 ? "" : "s"));
			if (v[i].continued || v[i].ends_rotated)
				lb_best_effort(lb_buf_printf(msg, " (seq %" PRIu64 "..%" PRIu64 "%s%s)",
				    v[i].first_seq, v[i].last_seq, v[i].continued ?
				    ", continuing an earlier file not given" : "", v[i].ends_rotated ?
				    ", rotated: the log goes on in a later file" : ""));
			lb_best_effort(lb_buf_put_u8(msg, '\n'));
			continue;
		}
		lb_best_effort(lb_buf_printf(msg, "%s: intact, %zu record%s, seq %" PRIu64 "..%" PRIu64 "%s\n",
		    v[i].path, v[i].records, v[i].records == 1 ? "" : "s", v[i].first_seq, v[i].last_seq,
		    i == 0 && v[i].continued ? ", continuing an earlier file not given" : ""));
	}
	if (n == 1 && nonempty == 0)
		lb_best_effort(lb_buf_printf(msg, "%s: intact, 0 records\n", paths[0]));
	else if (n > 1)
		lb_best_effort(lb_buf_printf(msg, "%zu files: intact, one chain, %zu records%s\n", n, total,
		    n > nonempty ? " (empty files hold none)" : ""));
	*verdict = LB_AUDIT_SET_INTACT;
	rc = LB_OK;
out:
	if (records != NULL)
		*records = total;
	free(v);
	lb_buf_free(&one);
	lb_buf_free(&scratch);
	return rc;
}

/* ---- reading records, for queries ---- */

int
lb_audit_time_parse(const char *s, uint64_t *t)
{
	if (s == NULL || t == NULL)
		return LB_E_INVAL;
	return lb_audit_parse_time(s, strlen(s), t);
}

int
lb_audit_time_format(uint64_t t, char out[LB_AUDIT_TIME_BUF])
{
	return lb_audit_fmt_time(t, out);
}

int
lb_audit_each(const char *path, lb_audit_each_fn fn, void *ctx, size_t *skipped)
{
	return lb_audit_each_wanted(path, NULL, fn, ctx, skipped);
}

int
lb_audit_each_wanted(const char *path, lb_audit_want_fn want, lb_audit_each_fn fn, void *ctx,
    size_t *skipped)
{
	struct lb_line_reader rd;
	struct lb_audit_line l;
	struct lb_buf line;
	int complete = 0, rc, stop = 0;

	if (skipped != NULL)
		*skipped = 0;
	if (path == NULL || fn == NULL)
		return LB_E_INVAL;
	if ((rc = lb_line_open(&rd, path)) != LB_OK)
		return rc;
	lb_buf_init(&line, LB_AUDIT_LINE_MAX - 1);
	lb_audit_line_init(&l);
	while (!stop && (rc = lb_line_next(&rd, &line, &complete)) == LB_OK) {
		if (complete && want != NULL && !want((const char *)line.data, line.len))
			continue;
		/* A torn or foreign line is no record: verify-audit judges it. */
		if (!complete || lb_audit_line_parse(&l, (const char *)line.data, line.len, NULL) != LB_OK) {
			if (skipped != NULL)
				(*skipped)++;
			continue;
		}
		stop = fn(ctx, &l, (const char *)line.data, line.len);
	}
	if (rc == LB_LINE_END || rc == LB_OK)
		rc = stop < 0 ? LB_E_IO : LB_OK;
	lb_audit_line_free(&l);
	lb_buf_free(&line);
	lb_line_close(&rd);
	return rc;
}

/* A file's first record: what orders a rotated set, and what --follow
 * knows a file by. */
struct lb_first {
	uint64_t seq;                  /* 0: none */
	uint8_t hash[LB_HASH_BYTES];
};

static int
lb_first_rec(void *ctx, const struct lb_audit_line *l, const char *line, size_t len)
{
	struct lb_first *f = ctx;

	(void)line;
	(void)len;
	f->seq = l->seq;
	memcpy(f->hash, l->hash, LB_HASH_BYTES);
	return 1;
}

int
lb_audit_set_order(const char **paths, size_t n, size_t *bad)
{
	struct lb_span *v;
	size_t i;
	int rc = LB_OK;

	if (paths == NULL || n > LB_AUDIT_SET_MAX)
		return LB_E_INVAL;
	if (n == 0)
		return LB_OK;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return LB_E_NOMEM;
	for (i = 0; i < n && rc == LB_OK; i++) {
		struct lb_first first = { UINT64_MAX, { 0 } };   /* files without one last */

		v[i].path = paths[i];
		rc = lb_audit_each(paths[i], lb_first_rec, &first, NULL);
		v[i].first_seq = first.seq;
		if (rc != LB_OK && bad != NULL)
			*bad = i;
	}
	if (rc == LB_OK) {
		qsort(v, n, sizeof(*v), lb_span_cmp);
		for (i = 0; i < n; i++)
			paths[i] = v[i].path;
	}
	free(v);
	return rc;
}

/* ---- following a log as it is written ---- */

/* The first record of the file at PATH: its seq and hash (seq 0: none
 * yet, e.g. an empty file just made by logrotate). */
static int
lb_follow_first(const char *path, uint64_t *seq, uint8_t hash[LB_HASH_BYTES])
{
	struct lb_first first;
	int rc;

	memset(&first, 0, sizeof(first));
	rc = lb_audit_each(path, lb_first_rec, &first, NULL);
	*seq = first.seq;
	memcpy(hash, first.hash, LB_HASH_BYTES);
	return rc;
}

/* The complete lines of PATH from byte F->pos to FN; a record at or
 * before F->last_seq is not handed on again. Stops after a rotate record
 * or before a line still being written. */
static int
lb_follow_read(struct lb_audit_follow *f, const char *path, lb_audit_each_fn fn, void *ctx)
{
	struct lb_line_reader rd;
	struct lb_audit_line l;
	struct lb_buf line;
	int complete = 0, rc, stop = 0, is_rec;

	if ((rc = lb_line_open_at(&rd, path, f->pos)) != LB_OK)
		return rc;
	lb_buf_init(&line, LB_AUDIT_LINE_MAX - 1);
	lb_audit_line_init(&l);
	while (!stop && !f->rotated && (rc = lb_line_next(&rd, &line, &complete)) == LB_OK &&
	    complete) {
		f->pos = rd.pos;
		is_rec = lb_audit_line_parse(&l, (const char *)line.data, line.len, NULL) == LB_OK;
		if (is_rec && l.seq <= f->last_seq) {
			f->repeated++;
			continue;
		}
		if (is_rec) {
			f->last_seq = l.seq;
			f->rotated = lb_field_is(&l.event, "rotate");
		}
		stop = fn(ctx, is_rec ? &l : NULL, (const char *)line.data, line.len);
	}
	if (rc == LB_LINE_END || rc == LB_OK)
		rc = stop < 0 ? LB_E_IO : LB_OK;
	lb_audit_line_free(&l);
	lb_buf_free(&line);
	lb_line_close(&rd);
	return rc;
}

int
lb_audit_follow_poll(struct lb_audit_follow *f, lb_audit_each_fn fn, void *ctx,
    struct lb_buf *note)
{
	uint8_t hash[LB_HASH_BYTES];
	uint64_t seq;
	char *old = NULL;
	size_t n;
	int rc;

	if (f == NULL || f->path == NULL || fn == NULL || note == NULL)
		return LB_E_INVAL;
	if ((rc = lb_follow_first(f->path, &seq, hash)) == LB_E_NOENT)
		return LB_OK;   /* renamed away, its successor not made yet */
	if (rc != LB_OK)
		return rc;
	if (f->first_seq != 0 && (seq != f->first_seq ||
	    sodium_memcmp(hash, f->first_hash, LB_HASH_BYTES) != 0)) {
		/* Another file at PATH: rotated (the records after F->pos
		 * and the rotate record went on in the old file, which both
		 * logrotate and `linkbrokerd rotate` name PATH.1), or copied
		 * and truncated (the copy is PATH.1 too). */
		if (!f->rotated) {
			n = strlen(f->path) + 3;
			if ((old = malloc(n)) == NULL)
				return LB_E_NOMEM;
			snprintf(old, n, "%s.1", f->path);
			if (lb_follow_first(old, &seq, hash) == LB_OK && seq == f->first_seq &&
			    sodium_memcmp(hash, f->first_hash, LB_HASH_BYTES) == 0)
				rc = lb_follow_read(f, old, fn, ctx);
			else
				lb_best_effort(lb_buf_printf(note, "another file is at the path, and "
				    "the one read up to seq %" PRIu64 " is not at %s: records after "
				    "it may be missing", f->last_seq, old));
			free(old);
			if (rc != LB_OK)
				return rc;
		}
		f->first_seq = 0;
		f->pos = 0;
		f->rotated = 0;
		if ((rc = lb_follow_first(f->path, &seq, hash)) != LB_OK)
			return rc == LB_E_NOENT ? LB_OK : rc;
	}
	if (f->first_seq == 0) {
		if (seq == 0)
			return LB_OK;   /* nothing in it yet */
		f->first_seq = seq;
		memcpy(f->first_hash, hash, LB_HASH_BYTES);
	}
	return lb_follow_read(f, f->path, fn, ctx);
}
