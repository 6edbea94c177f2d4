/* lb_json: the small part of JSON the audit log needs: an escaper that keeps
 * any byte string on one line and off the terminal, and a strict reader. */
#ifndef LB_JSON_H
#define LB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "lb_buf.h"
#include "lb_err.h"

/*
 * Escaping (docs/audit.md, "Strings"). Every byte string has exactly one
 * encoding, and decoding it gives back the very same bytes:
 *
 * - `"` and `\` as `\"` and `\\`; BS FF LF CR TAB as `\b \f \n \r \t`; the
 *   other C0 controls and DEL as `\u00xx` (lower-case hex);
 * - well-formed UTF-8 as is, except the C1 controls U+0080..U+009F and the
 *   invisible or reordering format characters (U+061C, U+200B..U+200F,
 *   U+2028..U+202E, U+2060..U+2064, U+2066..U+206F, U+FEFF, U+FFF9..U+FFFB),
 *   which are written as `\uxxxx` of their code point;
 * - each byte 0xNN that is not part of well-formed UTF-8 as `\udcNN` (a lone
 *   low surrogate, as Python's "surrogateescape" does). No Unicode text can
 *   produce a surrogate, so this cannot be confused with a real character
 *   and, unlike a `\\xNN` text convention, not with a backslash in a path.
 *
 * Everything else in the output is printable ASCII or well-formed UTF-8.
 */

/* Append S (N bytes, any bytes) as a quoted JSON string, or `null` if S is
 * NULL. All or nothing: on error B is as it was. */
int lb_json_put_str(struct lb_buf *b, const char *s, size_t n) LB_WUR;
/* The same for a NUL-terminated string (or NULL). */
int lb_json_put_cstr(struct lb_buf *b, const char *s) LB_WUR;

/* Decode the text between the quotes of a string this module wrote (RAW,
 * N bytes) and append the bytes it stands for to OUT. Accepts only what
 * lb_json_put_str writes: LB_E_INVAL for anything else, *why then says
 * what (static text). */
int lb_json_unescape(const char *raw, size_t n, struct lb_buf *out,
    const char **why) LB_WUR;

/* A string as it appears in the input: RAW points at the text between the
 * quotes (still escaped), or NUL is 1 for the literal `null`. */
struct lb_json_str {
	const char *raw;
	size_t raw_len;
	int null;
};

/* OUT := the bytes S stands for ("" for null), NUL-terminated (the NUL
 * not counted in out->len), for use as a C string. LB_E_INVAL if S does
 * not decode or its bytes hold a NUL (a C string would silently cut
 * them). */
int lb_json_str_cstr(const struct lb_json_str *s, struct lb_buf *out) LB_WUR;

/*
 * Strict reader over one line. It knows no whitespace, no alternative
 * spellings and no key order: the caller states the exact text it expects
 * (lb_json_lit) and reads values in between. Numbers are canonical
 * decimals, strings are checked to be exactly what lb_json_put_str writes.
 * On error the functions return LB_E_INVAL, leave the position where the
 * bad value starts and set in->why to a static description.
 */
struct lb_json_in {
	const char *p;
	size_t len;
	size_t off;
	const char *why;
	struct lb_buf dec;   /* scratch for the canonical-string check */
	struct lb_buf enc;
};

/* MAX_STR bounds the decoded length of any one string (scratch memory). */
void lb_json_in_init(struct lb_json_in *in, const char *p, size_t len, size_t max_str);
void lb_json_in_free(struct lb_json_in *in);
/* Consume exactly the bytes of LIT. */
int lb_json_lit(struct lb_json_in *in, const char *lit) LB_WUR;
/* 1 (consuming nothing) if the next bytes are LIT. */
int lb_json_peek(const struct lb_json_in *in, const char *lit);
/* `0` or `[1-9][0-9]*`, at most MAX. */
int lb_json_uint(struct lb_json_in *in, uint64_t max, uint64_t *v) LB_WUR;
/* The whole of S (N bytes) as lb_json_uint reads a number: `0` or
 * `[1-9][0-9]*`, at most MAX, nothing before or after it. */
int lb_json_uint_text(const char *s, size_t n, uint64_t max, uint64_t *v) LB_WUR;
/* An optional `-` then as lb_json_uint (`-0` refused), within MIN..MAX. */
int lb_json_int(struct lb_json_in *in, int64_t min, int64_t max, int64_t *v) LB_WUR;
/* A string; `null` too if NULLABLE. */
int lb_json_str(struct lb_json_in *in, int nullable, struct lb_json_str *s) LB_WUR;
/* LB_E_TRAILING unless the whole input was consumed. */
int lb_json_end(struct lb_json_in *in) LB_WUR;

#endif
