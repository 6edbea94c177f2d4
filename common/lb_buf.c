/* lb_buf: growable byte buffer with a hard maximum, and a bounds-checked
 * big-endian reader. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lb_buf.h"

/* First allocation; small buffers (error messages, keys) fit without regrowth. */
#define LB_BUF_INITIAL_CAP 64

void
lb_buf_init(struct lb_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
lb_buf_free(struct lb_buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL) {
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = 0;
}

void
lb_buf_reset(struct lb_buf *b)
{
	/* The old contents may be secret; reuse must not leak them. */
	if (b->data != NULL && b->len > 0)
		sodium_memzero(b->data, b->len);
	b->len = 0;
}

/*
 * Make room for NEED bytes of storage, never more than LIMIT. Capacity
 * doubles (capped at LIMIT). The old block is wiped, not realloc'd, so no
 * stale copy of its contents stays behind in freed memory.
 */
static int
lb_buf_reserve(struct lb_buf *b, size_t need, size_t limit)
{
	size_t cap;
	uint8_t *p;

	if (need > limit)
		return LB_E_TOOBIG;
	/* No storage yet means no capacity, whatever cap says. */
	if (b->data != NULL && need <= b->cap)
		return LB_OK;
	cap = b->cap != 0 ? b->cap : LB_BUF_INITIAL_CAP;
	if (cap > limit)
		cap = limit;
	while (cap < need)
		cap = cap > limit / 2 ? limit : cap * 2;
	p = malloc(cap);
	if (p == NULL)
		return LB_E_NOMEM;
	if (b->data != NULL) {
		if (b->len > 0)
			memcpy(p, b->data, b->len);
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return LB_OK;
}

/* Room for N more bytes of contents. */
static int
lb_buf_grow(struct lb_buf *b, size_t n)
{
	if (n > b->max - b->len)
		return LB_E_TOOBIG;
	return lb_buf_reserve(b, b->len + n, b->max);
}

/* Storage limit when a NUL must follow len == max (cstr, printf). */
static size_t
lb_buf_cstr_limit(const struct lb_buf *b)
{
	return b->max == SIZE_MAX ? SIZE_MAX : b->max + 1;
}

int
lb_buf_put(struct lb_buf *b, const void *p, size_t n)
{
	uintptr_t src, lo;
	size_t alias_off = 0;
	int aliased = 0;
	int rc;

	if (n == 0)
		return LB_OK;
	if (p == NULL)
		return LB_E_INVAL;
	/* Appending part of B to itself: the source moves if B regrows. */
	src = (uintptr_t)p;
	lo = (uintptr_t)b->data;
	if (b->data != NULL && src >= lo && src - lo < b->cap) {
		aliased = 1;
		alias_off = (size_t)(src - lo);
	}
	if ((rc = lb_buf_grow(b, n)) != LB_OK)
		return rc;
	if (aliased)
		p = b->data + alias_off;
	memmove(b->data + b->len, p, n);
	b->len += n;
	return LB_OK;
}

int
lb_buf_put_u8(struct lb_buf *b, uint8_t v)
{
	return lb_buf_put(b, &v, 1);
}

int
lb_buf_put_u16(struct lb_buf *b, uint16_t v)
{
	uint8_t x[2];

	x[0] = (uint8_t)(v >> 8);
	x[1] = (uint8_t)v;
	return lb_buf_put(b, x, sizeof(x));
}

int
lb_buf_put_u32(struct lb_buf *b, uint32_t v)
{
	uint8_t x[4];

	x[0] = (uint8_t)(v >> 24);
	x[1] = (uint8_t)(v >> 16);
	x[2] = (uint8_t)(v >> 8);
	x[3] = (uint8_t)v;
	return lb_buf_put(b, x, sizeof(x));
}

int
lb_buf_put_u64(struct lb_buf *b, uint64_t v)
{
	uint8_t x[8];
	size_t i;

	for (i = 0; i < sizeof(x); i++)
		x[i] = (uint8_t)(v >> (56 - 8 * i));
	return lb_buf_put(b, x, sizeof(x));
}

int
lb_buf_put_cstr(struct lb_buf *b, const char *s)
{
	if (s == NULL)
		return LB_E_INVAL;
	return lb_buf_put(b, s, strlen(s));
}

int
lb_buf_printf(struct lb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, m;
	size_t need;
	int rc;

	if (fmt == NULL)
		return LB_E_INVAL;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return LB_E_INVAL;
	need = (size_t)n;
	if (need > b->max - b->len)
		return LB_E_TOOBIG;
	/* vsnprintf always writes a NUL: reserve one byte past the text. */
	if ((rc = lb_buf_reserve(b, b->len + need + 1, lb_buf_cstr_limit(b))) != LB_OK)
		return rc;
	va_start(ap, fmt);
	m = vsnprintf((char *)b->data + b->len, need + 1, fmt, ap);
	va_end(ap);
	/* Arguments changed between the two passes (e.g. a racing string). */
	if (m != n) {
		b->data[b->len] = 0;
		return LB_E_INVAL;
	}
	b->len += need;
	return LB_OK;
}

int
lb_buf_cstr(struct lb_buf *b, const char **out)
{
	int rc;

	*out = NULL;
	/* A C string view of bytes holding a NUL would silently truncate them. */
	if (b->len > 0 && memchr(b->data, 0, b->len) != NULL)
		return LB_E_INVAL;
	if ((rc = lb_buf_reserve(b, b->len + 1, lb_buf_cstr_limit(b))) != LB_OK)
		return rc;
	b->data[b->len] = 0;
	*out = (const char *)b->data;
	return LB_OK;
}

/*
 * Length of the well-formed UTF-8 sequence at S (at most N bytes), or 0 if
 * the bytes there are not one (stray continuation, overlong form, UTF-16
 * surrogate, value past U+10FFFF, truncated sequence). Per RFC 3629 table.
 */
static size_t
lb_utf8_seq_len(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	uint8_t lo = 0x80, hi = 0xBF;
	size_t len, i;

	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
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
	return len;
}

static int
lb_buf_put_hex_escape(struct lb_buf *b, uint8_t c)
{
	static const char hex[] = "0123456789abcdef";
	char e[4];

	e[0] = '\\';
	e[1] = 'x';
	e[2] = hex[c >> 4];
	e[3] = hex[c & 0x0F];
	return lb_buf_put(b, e, sizeof(e));
}

int
lb_buf_put_display(struct lb_buf *b, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t orig = b->len;
	size_t i = 0, k, seq;
	int rc = LB_OK;

	if (n > 0 && s == NULL)
		return LB_E_INVAL;
	while (i < n) {
		uint8_t c = p[i];

		if (c >= 0x20 && c < 0x7F) {
			rc = lb_buf_put_u8(b, c);
			i++;
		} else if (c < 0x80) {
			/* C0 controls and DEL. */
			rc = lb_buf_put_hex_escape(b, c);
			i++;
		} else if ((seq = lb_utf8_seq_len(p + i, n - i)) == 0) {
			/* Escape the lead byte only: the rest of a broken
			 * sequence are continuation bytes, which are never valid
			 * leads and so are escaped on the next turns. */
			rc = lb_buf_put_hex_escape(b, c);
			i++;
		} else if (c == 0xC2 && p[i + 1] < 0xA0) {
			/* U+0080..U+009F are the C1 controls (CSI is U+009B):
			 * well-formed, but still terminal controls. */
			for (k = 0; k < seq && rc == LB_OK; k++)
				rc = lb_buf_put_hex_escape(b, p[i + k]);
			i += seq;
		} else {
			rc = lb_buf_put(b, p + i, seq);
			i += seq;
		}
		if (rc != LB_OK)
			goto out;
	}
out:
	if (rc != LB_OK)
		b->len = orig;   /* all or nothing */
	return rc;
}

/* Stands in for a NULL input so the reader never does arithmetic on NULL. */
static const uint8_t lb_reader_empty[1];

void
lb_reader_init(struct lb_reader *r, const void *p, size_t len)
{
	r->p = p != NULL ? p : lb_reader_empty;
	r->len = p != NULL ? len : 0;
	r->off = 0;
}

size_t
lb_reader_left(const struct lb_reader *r)
{
	return r->len - r->off;
}

/* Peek: the next N bytes, or NULL (nothing consumed) if they are not all there. */
static const uint8_t *
lb_reader_peek(const struct lb_reader *r, size_t n)
{
	if (n > lb_reader_left(r))
		return NULL;
	return r->p + r->off;
}

int
lb_reader_get_u8(struct lb_reader *r, uint8_t *v)
{
	const uint8_t *x = lb_reader_peek(r, 1);

	if (x == NULL)
		return LB_E_SHORT;
	*v = x[0];
	r->off += 1;
	return LB_OK;
}

int
lb_reader_get_u16(struct lb_reader *r, uint16_t *v)
{
	const uint8_t *x = lb_reader_peek(r, 2);

	if (x == NULL)
		return LB_E_SHORT;
	*v = (uint16_t)((unsigned)x[0] << 8 | x[1]);
	r->off += 2;
	return LB_OK;
}

int
lb_reader_get_u32(struct lb_reader *r, uint32_t *v)
{
	const uint8_t *x = lb_reader_peek(r, 4);

	if (x == NULL)
		return LB_E_SHORT;
	*v = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 |
	    (uint32_t)x[2] << 8 | (uint32_t)x[3];
	r->off += 4;
	return LB_OK;
}

int
lb_reader_get_u64(struct lb_reader *r, uint64_t *v)
{
	const uint8_t *x = lb_reader_peek(r, 8);
	uint64_t acc = 0;
	size_t i;

	if (x == NULL)
		return LB_E_SHORT;
	for (i = 0; i < 8; i++)
		acc = acc << 8 | x[i];
	*v = acc;
	r->off += 8;
	return LB_OK;
}

int
lb_reader_get_bytes(struct lb_reader *r, void *out, size_t n)
{
	const uint8_t *x = lb_reader_peek(r, n);

	if (x == NULL)
		return LB_E_SHORT;
	if (n > 0)
		memcpy(out, x, n);
	r->off += n;
	return LB_OK;
}

int
lb_reader_get_view(struct lb_reader *r, const uint8_t **out, size_t n)
{
	const uint8_t *x = lb_reader_peek(r, n);

	if (x == NULL)
		return LB_E_SHORT;
	*out = x;
	r->off += n;
	return LB_OK;
}

int
lb_reader_end(const struct lb_reader *r)
{
	return lb_reader_left(r) == 0 ? LB_OK : LB_E_TRAILING;
}
