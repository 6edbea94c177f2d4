/* lb_json: JSON string escaping with one encoding per byte string, and a
 * strict reader for lines this project writes (the audit log). */
#include <stdint.h>
#include <string.h>

#include "lb_json.h"

static const char lb_json_hex[] = "0123456789abcdef";

/*
 * Length of the well-formed UTF-8 sequence at S (at most N bytes) and its
 * code point, or 0 if the bytes there are not one (stray continuation,
 * overlong form, surrogate, past U+10FFFF, truncated). RFC 3629 table.
 */
static size_t
lb_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t c = s[0];
	uint8_t lo = 0x80, hi = 0xBF;
	uint32_t v;
	size_t len, i;

	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0Fu;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07u;
	} else {
		return 0;
	}
	if (c == 0xE0)
		lo = 0xA0;      /* overlong */
	else if (c == 0xED)
		hi = 0x9F;      /* surrogates */
	else if (c == 0xF0)
		lo = 0x90;      /* overlong */
	else if (c == 0xF4)
		hi = 0x8F;      /* > U+10FFFF */
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	for (i = 1; i < len; i++)
		v = v << 6 | (s[i] & 0x3Fu);
	*cp = v;
	return len;
}

/* Well-formed but written as \uXXXX: terminal controls (C1, whose U+009B is
 * CSI) and characters that are invisible or reorder text for a reader. */
static int
lb_json_cp_escaped(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9F) ||
	    cp == 0x061C ||
	    (cp >= 0x200B && cp <= 0x200F) ||
	    (cp >= 0x2028 && cp <= 0x202E) ||
	    (cp >= 0x2060 && cp <= 0x2064) ||
	    (cp >= 0x2066 && cp <= 0x206F) ||
	    cp == 0xFEFF ||
	    (cp >= 0xFFF9 && cp <= 0xFFFB);
}

static int
lb_json_put_u16esc(struct lb_buf *b, uint32_t v)
{
	char e[6];

	e[0] = '\\';
	e[1] = 'u';
	e[2] = lb_json_hex[(v >> 12) & 0xF];
	e[3] = lb_json_hex[(v >> 8) & 0xF];
	e[4] = lb_json_hex[(v >> 4) & 0xF];
	e[5] = lb_json_hex[v & 0xF];
	return lb_buf_put(b, e, sizeof(e));
}

/* The escape of an ASCII byte C, or NULL if C is written as is. */
static const char *
lb_json_ascii_escape(uint8_t c)
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	default: return NULL;
	}
}

int
lb_json_put_str(struct lb_buf *b, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t orig = b->len;
	size_t i = 0, start, seq;
	uint32_t cp = 0;
	const char *e;
	int rc;

	if (s == NULL)
		return lb_buf_put(b, "null", 4);
	if ((rc = lb_buf_put_u8(b, '"')) != LB_OK)
		goto out;
	while (i < n) {
		/* Runs of bytes written as they are go in one piece. */
		start = i;
		while (i < n && p[i] >= 0x20 && p[i] < 0x7F && p[i] != '"' && p[i] != '\\')
			i++;
		if (i > start && (rc = lb_buf_put(b, p + start, i - start)) != LB_OK)
			goto out;
		if (i == n)
			break;
		if (p[i] < 0x80) {
			e = lb_json_ascii_escape(p[i]);
			rc = e != NULL ? lb_buf_put(b, e, 2) : lb_json_put_u16esc(b, p[i]);
			i++;
		} else if ((seq = lb_utf8_decode(p + i, n - i, &cp)) == 0) {
			/* Only this byte: what follows a broken lead is judged
			 * on its own (continuation bytes are never leads). */
			rc = lb_json_put_u16esc(b, 0xDC00u | p[i]);
			i++;
		} else if (lb_json_cp_escaped(cp)) {
			rc = lb_json_put_u16esc(b, cp);
			i += seq;
		} else {
			rc = lb_buf_put(b, p + i, seq);
			i += seq;
		}
		if (rc != LB_OK)
			goto out;
	}
	rc = lb_buf_put_u8(b, '"');
out:
	if (rc != LB_OK)
		b->len = orig;
	return rc;
}

int
lb_json_put_cstr(struct lb_buf *b, const char *s)
{
	return lb_json_put_str(b, s, s != NULL ? strlen(s) : 0);
}

static int
lb_json_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
lb_json_put_utf8(struct lb_buf *out, uint32_t cp)
{
	uint8_t u[3];

	/* \u escapes reach U+FFFF at most; surrogates are handled by the caller. */
	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		return lb_buf_put(out, u, 1);
	}
	if (cp < 0x800) {
		u[0] = (uint8_t)(0xC0 | cp >> 6);
		u[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return lb_buf_put(out, u, 2);
	}
	u[0] = (uint8_t)(0xE0 | cp >> 12);
	u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
	u[2] = (uint8_t)(0x80 | (cp & 0x3F));
	return lb_buf_put(out, u, 3);
}

/* Decode RAW into OUT as JSON defines it, plus \udc80..\udcff as one byte;
 * no judgement yet on whether this is the canonical spelling. */
static int
lb_json_decode(const char *raw, size_t n, struct lb_buf *out, const char **why)
{
	const uint8_t *p = (const uint8_t *)raw;
	size_t i = 0, start;
	uint32_t v;
	int k, h, rc;

	while (i < n) {
		start = i;
		while (i < n && p[i] >= 0x20 && p[i] != '\\' && p[i] != '"')
			i++;
		if (i > start && (rc = lb_buf_put(out, p + start, i - start)) != LB_OK)
			return rc;
		if (i == n)
			break;
		if (p[i] != '\\') {
			*why = p[i] == '"' ? "unescaped quote in a string" :
			    "raw control character in a string";
			return LB_E_INVAL;
		}
		if (i + 1 >= n) {
			*why = "string ends inside an escape";
			return LB_E_INVAL;
		}
		switch (p[i + 1]) {
		case '"': rc = lb_buf_put_u8(out, '"'); break;
		case '\\': rc = lb_buf_put_u8(out, '\\'); break;
		case '/': rc = lb_buf_put_u8(out, '/'); break;
		case 'b': rc = lb_buf_put_u8(out, '\b'); break;
		case 'f': rc = lb_buf_put_u8(out, '\f'); break;
		case 'n': rc = lb_buf_put_u8(out, '\n'); break;
		case 'r': rc = lb_buf_put_u8(out, '\r'); break;
		case 't': rc = lb_buf_put_u8(out, '\t'); break;
		case 'u':
			if (n - i < 6) {
				*why = "string ends inside an escape";
				return LB_E_INVAL;
			}
			v = 0;
			for (k = 2; k < 6; k++) {
				if ((h = lb_json_hexval((char)p[i + (size_t)k])) < 0) {
					*why = "bad \\u escape";
					return LB_E_INVAL;
				}
				v = v << 4 | (uint32_t)h;
			}
			if (v >= 0xDC80 && v <= 0xDCFF) {
				rc = lb_buf_put_u8(out, (uint8_t)(v & 0xFF));
			} else if (v >= 0xD800 && v <= 0xDFFF) {
				*why = "surrogate escape that stands for no byte";
				return LB_E_INVAL;
			} else {
				rc = lb_json_put_utf8(out, v);
			}
			i += 4;
			break;
		default:
			*why = "unknown escape";
			return LB_E_INVAL;
		}
		if (rc != LB_OK)
			return rc;
		i += 2;
	}
	return LB_OK;
}

/* Decode RAW into OUT, then check it is the canonical spelling: exactly
 * what lb_json_put_str writes for the decoded bytes (ENC is scratch). */
static int
lb_json_unescape_into(const char *raw, size_t n, struct lb_buf *out,
    struct lb_buf *enc, const char **why)
{
	size_t orig = out->len;
	int rc;

	*why = NULL;
	if (n > 0 && raw == NULL)
		return LB_E_INVAL;
	if ((rc = lb_json_decode(raw, n, out, why)) != LB_OK)
		goto out;
	lb_buf_reset(enc);
	/* An empty result may have no storage yet: still a string, not null. */
	rc = lb_json_put_str(enc, out->len > orig ? (const char *)out->data + orig : "",
	    out->len - orig);
	if (rc == LB_OK && (enc->len != n + 2 || memcmp(enc->data + 1, raw, n) != 0)) {
		*why = "string not written the one way this log writes it";
		rc = LB_E_INVAL;
	}
out:
	if (rc != LB_OK) {
		if (*why == NULL)
			*why = rc == LB_E_TOOBIG ? "string too long" :
			    rc == LB_E_NOMEM ? "out of memory" : "bad string";
		out->len = orig;
	}
	return rc;
}

int
lb_json_unescape(const char *raw, size_t n, struct lb_buf *out, const char **why)
{
	struct lb_buf enc;
	const char *dummy;
	int rc;

	/* The encoding takes at most 6 bytes per byte, and never fewer than
	 * one: N bytes of text cannot stand for more than N bytes. */
	lb_buf_init(&enc, n <= (SIZE_MAX - 2) / 6 ? 6 * n + 2 : SIZE_MAX);
	rc = lb_json_unescape_into(raw, n, out, &enc, why != NULL ? why : &dummy);
	lb_buf_free(&enc);
	return rc;
}

/* ---- reader ---- */

void
lb_json_in_init(struct lb_json_in *in, const char *p, size_t len, size_t max_str)
{
	in->p = p != NULL ? p : "";
	in->len = p != NULL ? len : 0;
	in->off = 0;
	in->why = NULL;
	lb_buf_init(&in->dec, max_str);
	lb_buf_init(&in->enc, max_str <= (SIZE_MAX - 2) / 6 ? 6 * max_str + 2 : SIZE_MAX);
}

void
lb_json_in_free(struct lb_json_in *in)
{
	lb_buf_free(&in->dec);
	lb_buf_free(&in->enc);
}

static int
lb_json_fail(struct lb_json_in *in, const char *why)
{
	in->why = why;
	return LB_E_INVAL;
}

int
lb_json_peek(const struct lb_json_in *in, const char *lit)
{
	size_t n = strlen(lit);

	return n <= in->len - in->off && memcmp(in->p + in->off, lit, n) == 0;
}

int
lb_json_lit(struct lb_json_in *in, const char *lit)
{
	if (!lb_json_peek(in, lit))
		return lb_json_fail(in, "unexpected text");
	in->off += strlen(lit);
	return LB_OK;
}

int
lb_json_uint(struct lb_json_in *in, uint64_t max, uint64_t *v)
{
	size_t i = in->off;
	uint64_t acc = 0;
	unsigned d;

	if (i >= in->len || in->p[i] < '0' || in->p[i] > '9')
		return lb_json_fail(in, "expected a number");
	if (in->p[i] == '0' && i + 1 < in->len && in->p[i + 1] >= '0' && in->p[i + 1] <= '9')
		return lb_json_fail(in, "number with a leading zero");
	while (i < in->len && in->p[i] >= '0' && in->p[i] <= '9') {
		d = (unsigned)(in->p[i] - '0');
		if (acc > max / 10 || (acc == max / 10 && d > max % 10))
			return lb_json_fail(in, "number out of range");
		acc = acc * 10 + d;
		i++;
	}
	*v = acc;
	in->off = i;
	return LB_OK;
}

int
lb_json_uint_text(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	struct lb_json_in in;
	int r;

	lb_json_in_init(&in, s, n, 0);
	if ((r = lb_json_uint(&in, max, v)) == LB_OK)
		r = lb_json_end(&in);
	lb_json_in_free(&in);
	return r;
}

int
lb_json_int(struct lb_json_in *in, int64_t min, int64_t max, int64_t *v)
{
	size_t start = in->off;
	uint64_t u;
	int rc;

	if (min > max || max < 0)
		return lb_json_fail(in, "number out of range");
	if (lb_json_peek(in, "-")) {
		if (min >= 0)
			return lb_json_fail(in, "number out of range");
		in->off++;
		/* -(min) without overflow for INT64_MIN. */
		if ((rc = lb_json_uint(in, (uint64_t)(-(min + 1)) + 1, &u)) != LB_OK) {
			in->off = start;
			return rc;
		}
		if (u == 0) {
			in->off = start;
			return lb_json_fail(in, "negative zero");
		}
		*v = -(int64_t)(u - 1) - 1;
		return LB_OK;
	}
	if ((rc = lb_json_uint(in, (uint64_t)max, &u)) != LB_OK)
		return rc;
	if ((int64_t)u < min) {
		in->off = start;
		return lb_json_fail(in, "number out of range");
	}
	*v = (int64_t)u;
	return LB_OK;
}

int
lb_json_str(struct lb_json_in *in, int nullable, struct lb_json_str *s)
{
	size_t i, start;
	const char *why = NULL;
	int rc;

	s->raw = NULL;
	s->raw_len = 0;
	s->null = 0;
	if (nullable && lb_json_peek(in, "null")) {
		in->off += 4;
		s->null = 1;
		return LB_OK;
	}
	if (!lb_json_peek(in, "\""))
		return lb_json_fail(in, nullable ? "expected a string or null" : "expected a string");
	start = in->off + 1;
	for (i = start; i < in->len && in->p[i] != '"'; i++)
		if (in->p[i] == '\\')
			i++;   /* the escaped byte cannot end the string */
	if (i >= in->len)
		return lb_json_fail(in, "string without its closing quote");
	lb_buf_reset(&in->dec);
	rc = lb_json_unescape_into(in->p + start, i - start, &in->dec, &in->enc, &why);
	if (rc != LB_OK)
		return lb_json_fail(in, why);
	s->raw = in->p + start;
	s->raw_len = i - start;
	in->off = i + 1;
	return LB_OK;
}

int
lb_json_end(struct lb_json_in *in)
{
	if (in->off != in->len) {
		in->why = "text after the end of the record";
		return LB_E_TRAILING;
	}
	return LB_OK;
}

int
lb_json_str_cstr(const struct lb_json_str *s, struct lb_buf *out)
{
	const char *c;
	int r;

	lb_buf_reset(out);
	if (!s->null && (r = lb_json_unescape(s->raw, s->raw_len, out, NULL)) != LB_OK)
		return r;
	return lb_buf_cstr(out, &c);   /* refuses a NUL among the bytes */
}
