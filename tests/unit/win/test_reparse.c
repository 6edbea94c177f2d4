/* Unit tests for lb_reparse: the REPARSE_DATA_BUFFER bytes handed to
 * FSCTL_SET_REPARSE_POINT for symbolic links and junctions, and NT path
 * names, compared byte for byte with buffers computed independently, and each
 * field read back at its documented offset (MS-FSCC 2.1.2.4 and 2.1.2.5).
 * Wine has no reparse points, so this is where the layout is proven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <uchar.h>

#include "lb_buf.h"
#include "lb_path.h"
#include "lb_reparse.h"

/*
 * Golden buffers. They were computed by this python3 script, an independent
 * model of the layout (struct.pack for the fields, str.encode('utf-16-le') for
 * the names), not by the code under test:
 *
 *   import struct
 *   def symlink(sub, prn, flags):     # CreateSymbolicLinkW: print, then sub
 *       s, p = sub.encode('utf-16-le'), prn.encode('utf-16-le')
 *       body = struct.pack('<HHHHI', len(p), len(s), 0, len(p), flags) + p + s
 *       return struct.pack('<IHH', 0xA000000C, len(body), 0) + body
 *   def junction(sub, prn):           # mklink /J: sub NUL print NUL
 *       s, p = sub.encode('utf-16-le'), prn.encode('utf-16-le')
 *       body = (struct.pack('<HHHH', 0, len(s), len(s) + 2, len(p))
 *               + s + b'\0\0' + p + b'\0\0')
 *       return struct.pack('<IHH', 0xA0000003, len(body), 0) + body
 *
 * e.g. junction('\\??\\C:\\dir', 'C:\\dir'). The field layout: tag u32 at 0,
 * ReparseDataLength u16 at 4 (bytes after the 8-byte header), Reserved u16 at
 * 6, SubstituteNameOffset/Length at 8/10, PrintNameOffset/Length at 12/14
 * (offsets relative to PathBuffer), symlink Flags u32 at 16; PathBuffer at 20
 * (symlink) or 16 (junction). All little-endian.
 */

/* Junction to C:\dir: sub "\??\C:\dir" (20 bytes) at 0, NUL, print "C:\dir"
 * (12 bytes) at 22, NUL; ReparseDataLength 8 + 20 + 2 + 12 + 2 = 44. */
static const uint8_t gold_junction_c_dir[52] = {
	0x03, 0x00, 0x00, 0xa0, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00,
	0x16, 0x00, 0x0c, 0x00, 0x5c, 0x00, 0x3f, 0x00, 0x3f, 0x00, 0x5c, 0x00,
	0x43, 0x00, 0x3a, 0x00, 0x5c, 0x00, 0x64, 0x00, 0x69, 0x00, 0x72, 0x00,
	0x00, 0x00, 0x43, 0x00, 0x3a, 0x00, 0x5c, 0x00, 0x64, 0x00, 0x69, 0x00,
	0x72, 0x00, 0x00, 0x00,
};

/* Symlink to C:\Users\a\x: print "C:\Users\a\x" (24 bytes) at 0, sub
 * "\??\C:\Users\a\x" (32 bytes) at 24, Flags 0; 12 + 24 + 32 = 68. */
static const uint8_t gold_symlink_abs[76] = {
	0x0c, 0x00, 0x00, 0xa0, 0x44, 0x00, 0x00, 0x00, 0x18, 0x00, 0x20, 0x00,
	0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x43, 0x00, 0x3a, 0x00,
	0x5c, 0x00, 0x55, 0x00, 0x73, 0x00, 0x65, 0x00, 0x72, 0x00, 0x73, 0x00,
	0x5c, 0x00, 0x61, 0x00, 0x5c, 0x00, 0x78, 0x00, 0x5c, 0x00, 0x3f, 0x00,
	0x3f, 0x00, 0x5c, 0x00, 0x43, 0x00, 0x3a, 0x00, 0x5c, 0x00, 0x55, 0x00,
	0x73, 0x00, 0x65, 0x00, 0x72, 0x00, 0x73, 0x00, 0x5c, 0x00, 0x61, 0x00,
	0x5c, 0x00, 0x78, 0x00,
};

/* Symlink to ..\lib\x.dll: print = sub = "..\lib\x.dll" (24 bytes), Flags 1. */
static const uint8_t gold_symlink_rel[68] = {
	0x0c, 0x00, 0x00, 0xa0, 0x3c, 0x00, 0x00, 0x00, 0x18, 0x00, 0x18, 0x00,
	0x00, 0x00, 0x18, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2e, 0x00, 0x2e, 0x00,
	0x5c, 0x00, 0x6c, 0x00, 0x69, 0x00, 0x62, 0x00, 0x5c, 0x00, 0x78, 0x00,
	0x2e, 0x00, 0x64, 0x00, 0x6c, 0x00, 0x6c, 0x00, 0x2e, 0x00, 0x2e, 0x00,
	0x5c, 0x00, 0x6c, 0x00, 0x69, 0x00, 0x62, 0x00, 0x5c, 0x00, 0x78, 0x00,
	0x2e, 0x00, 0x64, 0x00, 0x6c, 0x00, 0x6c, 0x00,
};

/* Symlink to \\srv\share\d: print "\\srv\share\d" (26 bytes), sub
 * "\??\UNC\srv\share\d" (38 bytes), Flags 0. */
static const uint8_t gold_symlink_unc[84] = {
	0x0c, 0x00, 0x00, 0xa0, 0x4c, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x26, 0x00,
	0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5c, 0x00, 0x5c, 0x00,
	0x73, 0x00, 0x72, 0x00, 0x76, 0x00, 0x5c, 0x00, 0x73, 0x00, 0x68, 0x00,
	0x61, 0x00, 0x72, 0x00, 0x65, 0x00, 0x5c, 0x00, 0x64, 0x00, 0x5c, 0x00,
	0x3f, 0x00, 0x3f, 0x00, 0x5c, 0x00, 0x55, 0x00, 0x4e, 0x00, 0x43, 0x00,
	0x5c, 0x00, 0x73, 0x00, 0x72, 0x00, 0x76, 0x00, 0x5c, 0x00, 0x73, 0x00,
	0x68, 0x00, 0x61, 0x00, 0x72, 0x00, 0x65, 0x00, 0x5c, 0x00, 0x64, 0x00,
};

/* Symlink to C:\é\日本\😀 (UTF-8 43 3a 5c c3a9 5c e697a5 e69cac 5c f09f9880):
 * é = U+00E9 -> e9 00; 日 U+65E5 -> e5 65; 本 U+672C -> 2c 67; 😀 U+1F600
 * -> surrogate pair D83D DE00 -> 3d d8 00 de. Print 20 bytes, sub 28. */
static const uint8_t gold_symlink_intl[68] = {
	0x0c, 0x00, 0x00, 0xa0, 0x3c, 0x00, 0x00, 0x00, 0x14, 0x00, 0x1c, 0x00,
	0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x43, 0x00, 0x3a, 0x00,
	0x5c, 0x00, 0xe9, 0x00, 0x5c, 0x00, 0xe5, 0x65, 0x2c, 0x67, 0x5c, 0x00,
	0x3d, 0xd8, 0x00, 0xde, 0x5c, 0x00, 0x3f, 0x00, 0x3f, 0x00, 0x5c, 0x00,
	0x43, 0x00, 0x3a, 0x00, 0x5c, 0x00, 0xe9, 0x00, 0x5c, 0x00, 0xe5, 0x65,
	0x2c, 0x67, 0x5c, 0x00, 0x3d, 0xd8, 0x00, 0xde,
};

/* Symlink to root-relative \x: written as is, Flags 1 (SYMLINK_FLAG_RELATIVE). */
static const uint8_t gold_symlink_rootrel[28] = {
	0x0c, 0x00, 0x00, 0xa0, 0x14, 0x00, 0x00, 0x00, 0x04, 0x00, 0x04, 0x00,
	0x00, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x5c, 0x00, 0x78, 0x00,
	0x5c, 0x00, 0x78, 0x00,
};

/* Not computed: the bytes `fsutil reparsepoint query` showed on Windows for a
 * link made with `mklink /D dot .` (github.com/winfsp/winfsp/issues/454). */
static const uint8_t mklink_dot[24] = {
	0x0C, 0x00, 0x00, 0xA0, 0x10, 0x00, 0x00, 0x00, 0x02, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2E, 0x00, 0x2E, 0x00,
};

/* Headers of the largest buffers (16384 bytes) for a 4089-unit drive path:
 * 28 + 4 * 4089 = 16384 for both layouts (symlink: 20 + print 8178 + sub
 * 8186; junction: 16 + sub 8186 + 2 + print 8178 + 2). */
static const uint8_t gold_symlink_max_hdr[20] = {
	0x0c, 0x00, 0x00, 0xa0, 0xf8, 0x3f, 0x00, 0x00, 0xf2, 0x1f, 0xfa, 0x1f,
	0x00, 0x00, 0xf2, 0x1f, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t gold_junction_max_hdr[16] = {
	0x03, 0x00, 0x00, 0xa0, 0xf8, 0x3f, 0x00, 0x00, 0x00, 0x00, 0xfa, 0x1f,
	0xfc, 0x1f, 0xf2, 0x1f,
};
#define MAX_UNITS 4089

/* ---- helpers ---------------------------------------------------------- */

static void
canon(const char *s, struct lb_path *p)
{
	assert_int_equal(lb_path_canon(LB_FLAVOR_WINDOWS, s, strlen(s), p), LB_OK);
}

static unsigned
rd16(const uint8_t *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static size_t
u16len(const char16_t *s)
{
	size_t n = 0;

	while (s[n] != 0)
		n++;
	return n;
}

/* The N units of S (the compiler's own UTF-16 encoding of a u"" literal)
 * equal the little-endian bytes at P. */
static void
assert_utf16le(const uint8_t *p, const char16_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(rd16(p + 2 * i), s[i]);
}

/* Read every symlink field back at its offset and check it against the
 * expected names and flags, and that everything is inside the buffer. */
static void
assert_symlink_fields(const struct lb_buf *b, const char16_t *sub,
    const char16_t *print, uint32_t flags)
{
	size_t sn = u16len(sub), pn = u16len(print);
	unsigned so, sl, po, pl;

	assert_true(b->len >= 20);
	assert_int_equal(rd32(b->data + 0), 0xA000000Cu);       /* ReparseTag */
	assert_int_equal(rd16(b->data + 4), b->len - 8);        /* ReparseDataLength */
	assert_int_equal(rd16(b->data + 6), 0);                 /* Reserved */
	so = rd16(b->data + 8);
	sl = rd16(b->data + 10);
	po = rd16(b->data + 12);
	pl = rd16(b->data + 14);
	assert_int_equal(rd32(b->data + 16), flags);            /* Flags */
	assert_int_equal(sl, 2 * sn);
	assert_int_equal(pl, 2 * pn);
	/* CreateSymbolicLinkW's order: print name first, then substitute. */
	assert_int_equal(po, 0);
	assert_int_equal(so, pl);
	assert_int_equal(20 + pl + sl, b->len);
	assert_utf16le(b->data + 20 + so, sub, sn);
	assert_utf16le(b->data + 20 + po, print, pn);
}

/* Same for a junction: no Flags, PathBuffer at 16, a NUL after each name. */
static void
assert_junction_fields(const struct lb_buf *b, const char16_t *sub,
    const char16_t *print)
{
	size_t sn = u16len(sub), pn = u16len(print);
	unsigned so, sl, po, pl;

	assert_true(b->len >= 16);
	assert_int_equal(rd32(b->data + 0), 0xA0000003u);
	assert_int_equal(rd16(b->data + 4), b->len - 8);
	assert_int_equal(rd16(b->data + 6), 0);
	so = rd16(b->data + 8);
	sl = rd16(b->data + 10);
	po = rd16(b->data + 12);
	pl = rd16(b->data + 14);
	assert_int_equal(so, 0);
	assert_int_equal(sl, 2 * sn);
	assert_int_equal(po, sl + 2);
	assert_int_equal(pl, 2 * pn);
	assert_int_equal(16 + po + pl + 2, b->len);
	assert_utf16le(b->data + 16 + so, sub, sn);
	assert_int_equal(rd16(b->data + 16 + so + sl), 0);      /* NUL */
	assert_utf16le(b->data + 16 + po, print, pn);
	assert_int_equal(rd16(b->data + 16 + po + pl), 0);      /* NUL */
}

/* A canonical path of exactly UNITS characters: PREFIX, then components
 * of 'a' (at most 200 each, never empty) separated by '\'. Caller frees. */
static char *
long_path(const char *prefix, size_t units)
{
	size_t at = strlen(prefix), left = units - at, k;
	char *s = malloc(units + 1);

	assert_non_null(s);
	memcpy(s, prefix, at);
	while (left > 0) {
		k = left < 200 ? left : 200;
		if (left - k == 1)
			k--;    /* never end with a separator */
		memset(s + at, 'a', k);
		at += k;
		left -= k;
		if (left > 0) {
			s[at++] = '\\';
			left--;
		}
	}
	s[at] = '\0';
	return s;
}

/* The ASCII string S as UTF-16LE equals the N*2 bytes at P. */
static void
assert_ascii_utf16le(const uint8_t *p, const char *prefix, const char *s)
{
	size_t i, k = strlen(prefix), n = strlen(s);

	for (i = 0; i < k; i++)
		assert_int_equal(rd16(p + 2 * i), (unsigned char)prefix[i]);
	for (i = 0; i < n; i++)
		assert_int_equal(rd16(p + 2 * (k + i)), (unsigned char)s[i]);
}

/* ---- golden buffers --------------------------------------------------- */

static void
test_junction_to_c_dir_is_mklink_layout_with_nuls(void **state)
{
	struct lb_path p;
	struct lb_buf b;

	(void)state;
	canon("C:\\dir", &p);
	lb_buf_init(&b, 65536);
	assert_int_equal(lb_reparse_junction(&p, &b), LB_OK);
	assert_int_equal(b.len, sizeof(gold_junction_c_dir));
	assert_memory_equal(b.data, gold_junction_c_dir, sizeof(gold_junction_c_dir));
	assert_junction_fields(&b, u"\\??\\C:\\dir", u"C:\\dir");
	lb_buf_free(&b);
	lb_path_free(&p);
}

static void
test_symlink_absolute_gets_nt_substitute_and_dos_print_name(void **state)
{
	struct lb_path p;
	struct lb_buf b;

	(void)state;
	canon("C:\\Users\\a\\x", &p);
	lb_buf_init(&b, 65536);
	assert_int_equal(lb_reparse_symlink(&p, &b), LB_OK);
	assert_int_equal(b.len, sizeof(gold_symlink_abs));
	assert_memory_equal(b.data, gold_symlink_abs, sizeof(gold_symlink_abs));
	assert_symlink_fields(&b, u"\\??\\C:\\Users\\a\\x", u"C:\\Users\\a\\x", 0);
	lb_buf_free(&b);
	lb_path_free(&p);
}

static void
test_symlink_relative_is_written_as_is_with_relative_flag(void **state)
{
	struct lb_path p;
	struct lb_buf b;

	(void)state;
	canon("..\\lib\\x.dll", &p);
	lb_buf_init(&b, 65536);
	assert_int_equal(lb_reparse_symlink(&p, &b), LB_OK);
	assert_int_equal(b.len, sizeof(gold_symlink_rel));
	assert_memory_equal(b.data, gold_symlink_rel, sizeof(gold_symlink_rel));
	assert_symlink_fields(&b, u"..\\lib\\x.dll", u"..\\lib\\x.dll",
	    LB_SYMLINK_FLAG_RELATIVE);
	lb_buf_free(&b);
	lb_path_free(&p);
}

static void
test_symlink_unc_gets_nt_unc_substitute(void **state)
{
	struct lb_path p;
	struct lb_buf b;

	(void)state;
	canon("\\\\srv\\share\\d", &p);
	lb_buf_init(&b, 65536);
	assert_int_equal(lb_reparse_symlink(&p, &b), LB_OK);
	assert_int_equal(b.len, sizeof(gold_symlink_unc));
	assert_memory_equal(b.data, gold_symlink_unc, sizeof(gold_symlink_unc));
	assert_symlink_fields(&b, u"\\??\\UNC\\srv\\share\\d",
	    u"\\\\srv\\share\\d", 0);
	lb_buf_free(&b);
	lb_path_free(&p);
}

static void
test_symlink_non_ascii_is_utf16le_with_surrogate_pair(void **state)
{
	struct lb_path p;
	struct lb_buf b;

	(void)state;
	canon("C:\\\xc3\xa9\\\xe6\x97\xa5\xe6\x9c\xac\\\xf0\x9f\x98\x80", &p);
	lb_buf_init(&b, 65536);
	assert_int_equal(lb_reparse_symlink(&p, &b), LB_OK);
	assert_int_equal(b.len, sizeof(gold_symlink_intl));
	assert_memory_equal(b.data, gold_symlink_intl, sizeof(gold_symlink_intl));
	assert_symlink_fields(&b, u"\\??\\C:\\\u00e9\\\u65e5\u672c\\\U0001F600",
	    u"C:\\\u00e9\\\u65e5\u672c\\\U0001F600", 0);
	/* The emoji is two units, high surrogate first. */
	assert_int_equal(rd16(b.data + 20 + 16), 0xD83D);
	assert_int_equal(rd16(b.data + 20 + 18), 0xDE00);
	lb_buf_free(&b);
	lb_path_free(&p);
}

static void
test_symlink_root_relative_is_relative_and_written_as_is(void **state)
{
	struct lb_path p;
	struct lb_buf b;

	(void)state;
	canon("\\x", &p);
	assert_int_equal(p.root, LB_ROOT_CURDRIVE);
	lb_buf_init(&b, 65536);
	assert_int_equal(lb_reparse_symlink(&p, &b), LB_OK);
	assert_int_equal(b.len, sizeof(gold_symlink_rootrel));
	assert_memory_equal(b.data, gold_symlink_rootrel, sizeof(gold_symlink_rootrel));
	assert_symlink_fields(&b, u"\\x", u"\\x", LB_SYMLINK_FLAG_RELATIVE);
	lb_buf_free(&b);
	lb_path_free(&p);
}

static void
test_symlink_dot_equals_what_mklink_wrote_on_windows(void **state)
{
	struct lb_path p;
	struct lb_buf b;

	(void)state;
	canon(".", &p);
	lb_buf_init(&b, 65536);
	assert_int_equal(lb_reparse_symlink(&p, &b), LB_OK);
	assert_int_equal(b.len, sizeof(mklink_dot));
	assert_memory_equal(b.data, mklink_dot, sizeof(mklink_dot));
	lb_buf_free(&b);
	lb_path_free(&p);
}

/* ---- size limit ------------------------------------------------------- */

static void
test_symlink_of_exactly_16_kib_fits_one_unit_more_is_toobig(void **state)
{
	struct lb_path p, q;
	struct lb_buf b;
	char *s = long_path("C:\\", MAX_UNITS), *t = long_path("C:\\", MAX_UNITS + 1);

	(void)state;
	canon(s, &p);
	canon(t, &q);
	lb_buf_init(&b, 65536);
	assert_int_equal(lb_reparse_symlink(&p, &b), LB_OK);
	assert_int_equal(b.len, LB_REPARSE_MAX);
	assert_memory_equal(b.data, gold_symlink_max_hdr, sizeof(gold_symlink_max_hdr));
	assert_ascii_utf16le(b.data + 20, "", s);                       /* print */
	assert_ascii_utf16le(b.data + 20 + 2 * MAX_UNITS, "\\??\\", s); /* sub */

	lb_buf_reset(&b);
	assert_int_equal(lb_reparse_symlink(&q, &b), LB_E_TOOBIG);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
	lb_path_free(&p);
	lb_path_free(&q);
	free(s);
	free(t);
}

static void
test_junction_of_exactly_16_kib_fits_one_unit_more_is_toobig(void **state)
{
	struct lb_path p, q;
	struct lb_buf b;
	char *s = long_path("C:\\", MAX_UNITS), *t = long_path("C:\\", MAX_UNITS + 1);

	(void)state;
	canon(s, &p);
	canon(t, &q);
	lb_buf_init(&b, 65536);
	assert_int_equal(lb_reparse_junction(&p, &b), LB_OK);
	assert_int_equal(b.len, LB_REPARSE_MAX);
	assert_memory_equal(b.data, gold_junction_max_hdr, sizeof(gold_junction_max_hdr));
	assert_ascii_utf16le(b.data + 16, "\\??\\", s);
	assert_int_equal(rd16(b.data + 16 + 2 * (MAX_UNITS + 4)), 0);
	assert_ascii_utf16le(b.data + 16 + 2 * (MAX_UNITS + 5), "", s);
	assert_int_equal(rd16(b.data + LB_REPARSE_MAX - 2), 0);

	lb_buf_reset(&b);
	assert_int_equal(lb_reparse_junction(&q, &b), LB_E_TOOBIG);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
	lb_path_free(&p);
	lb_path_free(&q);
	free(s);
	free(t);
}

/* ---- refusals --------------------------------------------------------- */

static void
test_junction_refuses_unc_relative_and_root_relative_targets(void **state)
{
	static const char *const bad[] = {
		"\\\\srv\\share\\d", "..\\d", "d", ".", "\\d",
	};
	struct lb_path p;
	struct lb_buf b;
	size_t i;

	(void)state;
	lb_buf_init(&b, 65536);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		canon(bad[i], &p);
		assert_int_equal(lb_reparse_junction(&p, &b), LB_E_INVAL);
		assert_int_equal(b.len, 0);
		lb_path_free(&p);
	}
	lb_buf_free(&b);
}

static void
test_posix_flavour_and_missing_arguments_are_refused(void **state)
{
	struct lb_path p, w;
	struct lb_buf b;

	(void)state;
	assert_int_equal(lb_path_canon(LB_FLAVOR_POSIX, "/tmp/x", 6, &p), LB_OK);
	canon("C:\\x", &w);
	lb_buf_init(&b, 65536);
	assert_int_equal(lb_reparse_symlink(&p, &b), LB_E_INVAL);
	assert_int_equal(lb_reparse_junction(&p, &b), LB_E_INVAL);
	assert_int_equal(lb_nt_path(&p, &b), LB_E_INVAL);
	assert_int_equal(lb_reparse_symlink(NULL, &b), LB_E_INVAL);
	assert_int_equal(lb_reparse_junction(NULL, &b), LB_E_INVAL);
	assert_int_equal(lb_nt_path(NULL, &b), LB_E_INVAL);
	assert_int_equal(lb_reparse_symlink(&w, NULL), LB_E_INVAL);
	assert_int_equal(lb_reparse_junction(&w, NULL), LB_E_INVAL);
	assert_int_equal(lb_nt_path(&w, NULL), LB_E_INVAL);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
	lb_path_free(&p);
	lb_path_free(&w);
}

/* A struct built by hand, not by lb_path_canon, must not get its string
 * onto the disk: the bytes written are the bytes the policy decided on. */
static void
test_hand_built_non_canonical_paths_are_refused(void **state)
{
	static const struct {
		const char *s;
		enum lb_path_root root;
		size_t root_len;
		int rc;
	} bad[] = {
		{ "C:/x", LB_ROOT_DRIVE, 3, LB_E_INVAL },         /* separator */
		{ "c:\\x", LB_ROOT_DRIVE, 3, LB_E_INVAL },        /* drive case */
		{ "C:\\a\\..\\x", LB_ROOT_DRIVE, 3, LB_E_INVAL }, /* ".." */
		{ "C:\\x", LB_ROOT_UNC, 3, LB_E_INVAL },          /* wrong root */
		{ "C:\\x", LB_ROOT_DRIVE, 2, LB_E_INVAL },        /* wrong root_len */
		{ "\\??\\C:\\x", LB_ROOT_CURDRIVE, 1, LB_E_PATH_PREFIX },
		{ "\\\\?\\C:\\x", LB_ROOT_UNC, 4, LB_E_PATH_PREFIX },
		{ "C:\\x:ads", LB_ROOT_DRIVE, 3, LB_E_PATH_ADS },
		{ "C:\\con", LB_ROOT_DRIVE, 3, LB_E_PATH_DEVICE },
		{ "C:\\x\xc0\xaf", LB_ROOT_DRIVE, 3, LB_E_PATH_UTF8 },
	};
	struct lb_path p;
	struct lb_buf b;
	char nul_inside[] = "C:\\a\0b";
	size_t i;

	(void)state;
	lb_buf_init(&b, 65536);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flavor = LB_FLAVOR_WINDOWS;
		p.root = bad[i].root;
		p.s = (char *)bad[i].s;
		p.len = strlen(bad[i].s);
		p.root_len = bad[i].root_len;
		assert_int_equal(lb_reparse_symlink(&p, &b), bad[i].rc);
		assert_int_equal(lb_reparse_junction(&p, &b), bad[i].rc);
		assert_int_equal(lb_nt_path(&p, &b), bad[i].rc);
		assert_int_equal(b.len, 0);
	}
	/* len says 6 bytes, a NUL hides in them. */
	p.root = LB_ROOT_DRIVE;
	p.s = nul_inside;
	p.len = 6;
	p.root_len = 3;
	assert_int_equal(lb_reparse_symlink(&p, &b), LB_E_PATH_CTRL);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
}

/* ---- NT names --------------------------------------------------------- */

static void
test_nt_path_prefixes_drive_and_unc_paths(void **state)
{
	struct lb_path p;
	struct lb_buf b;

	(void)state;
	lb_buf_init(&b, 65536);
	canon("C:\\dir\\\xc3\xa9", &p);
	assert_int_equal(lb_nt_path(&p, &b), LB_OK);
	assert_int_equal(b.len, 2 * u16len(u"\\??\\C:\\dir\\\u00e9"));
	assert_utf16le(b.data, u"\\??\\C:\\dir\\\u00e9", b.len / 2);
	lb_path_free(&p);

	lb_buf_reset(&b);
	canon("\\\\srv\\share\\a\\b", &p);
	assert_int_equal(lb_nt_path(&p, &b), LB_OK);
	assert_int_equal(b.len, 2 * u16len(u"\\??\\UNC\\srv\\share\\a\\b"));
	assert_utf16le(b.data, u"\\??\\UNC\\srv\\share\\a\\b", b.len / 2);
	lb_path_free(&p);

	/* A drive root and a share root. */
	lb_buf_reset(&b);
	canon("D:\\", &p);
	assert_int_equal(lb_nt_path(&p, &b), LB_OK);
	assert_int_equal(b.len, 2 * u16len(u"\\??\\D:\\"));
	assert_utf16le(b.data, u"\\??\\D:\\", b.len / 2);
	lb_path_free(&p);

	lb_buf_reset(&b);
	canon("\\\\srv\\share", &p);
	assert_int_equal(lb_nt_path(&p, &b), LB_OK);
	assert_int_equal(b.len, 2 * u16len(u"\\??\\UNC\\srv\\share"));
	assert_utf16le(b.data, u"\\??\\UNC\\srv\\share", b.len / 2);
	lb_path_free(&p);
	lb_buf_free(&b);
}

static void
test_nt_path_refuses_relative_and_root_relative_paths(void **state)
{
	static const char *const rel[] = { "a\\b", "..\\a", ".", "\\a" };
	struct lb_path p;
	struct lb_buf b;
	size_t i;

	(void)state;
	lb_buf_init(&b, 65536);
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		canon(rel[i], &p);
		assert_int_equal(lb_nt_path(&p, &b), LB_E_PATH_RELATIVE);
		assert_int_equal(b.len, 0);
		lb_path_free(&p);
	}
	lb_buf_free(&b);
}

/* "\??\" + 32763 units is 65534 bytes, the most a UNICODE_STRING counts;
 * one unit more is refused although the path itself is within Windows' 32767. */
static void
test_nt_path_longest_fits_a_unicode_string_one_more_is_refused(void **state)
{
	struct lb_path p, q;
	struct lb_buf b;
	char *s = long_path("C:\\", 32763), *t = long_path("C:\\", 32764);

	(void)state;
	canon(s, &p);
	canon(t, &q);
	lb_buf_init(&b, 1 << 20);
	assert_int_equal(lb_nt_path(&p, &b), LB_OK);
	assert_int_equal(b.len, LB_NT_PATH_MAX);
	assert_ascii_utf16le(b.data, "\\??\\", s);
	lb_buf_reset(&b);
	assert_int_equal(lb_nt_path(&q, &b), LB_E_PATH_LONG);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
	lb_path_free(&p);
	lb_path_free(&q);
	free(s);
	free(t);
}

/* ---- UTF-8 to UTF-16LE ------------------------------------------------ */

static void
test_utf8_to_utf16le_encodes_every_sequence_length(void **state)
{
	/* U+0041, U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF */
	static const char in[] = "A\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
	    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
	static const uint8_t want[] = {
		0x41, 0x00, 0x80, 0x00, 0xff, 0x07, 0x00, 0x08, 0xff, 0xff,
		0x00, 0xd8, 0x00, 0xdc, 0xff, 0xdb, 0xff, 0xdf,
	};
	struct lb_buf b;

	(void)state;
	lb_buf_init(&b, 256);
	assert_int_equal(lb_utf8_to_utf16le(in, sizeof(in) - 1, &b), LB_OK);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	/* Empty input appends nothing. */
	assert_int_equal(lb_utf8_to_utf16le("", 0, &b), LB_OK);
	assert_int_equal(b.len, sizeof(want));
	lb_buf_free(&b);
}

static void
test_utf8_to_utf16le_refuses_invalid_utf8_and_nul(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		int rc;
	} bad[] = {
		{ "a\x80", 2, LB_E_PATH_UTF8 },                 /* stray continuation */
		{ "\xc0\xaf", 2, LB_E_PATH_UTF8 },              /* overlong '/' */
		{ "\xc1\xbf", 2, LB_E_PATH_UTF8 },              /* overlong */
		{ "\xe0\x80\xaf", 3, LB_E_PATH_UTF8 },          /* overlong, 3 bytes */
		{ "\xf0\x80\x80\xaf", 4, LB_E_PATH_UTF8 },      /* overlong, 4 bytes */
		{ "\xed\xa0\x80", 3, LB_E_PATH_UTF8 },          /* surrogate U+D800 */
		{ "\xed\xbf\xbf", 3, LB_E_PATH_UTF8 },          /* surrogate U+DFFF */
		{ "\xf4\x90\x80\x80", 4, LB_E_PATH_UTF8 },      /* U+110000 */
		{ "\xf5\x80\x80\x80", 4, LB_E_PATH_UTF8 },      /* F5 lead */
		{ "\xff", 1, LB_E_PATH_UTF8 },
		{ "x\xe6\x97", 3, LB_E_PATH_UTF8 },             /* cut short */
		{ "\xe6\x97x", 3, LB_E_PATH_UTF8 },             /* ASCII inside */
		{ "a\0b", 3, LB_E_PATH_CTRL },                  /* NUL */
	};
	struct lb_buf b;
	size_t i;

	(void)state;
	lb_buf_init(&b, 256);
	assert_int_equal(lb_buf_put(&b, "XY", 2), LB_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lb_utf8_to_utf16le(bad[i].s, bad[i].n, &b), bad[i].rc);
		/* All or nothing: the good units before the bad byte are gone. */
		assert_int_equal(b.len, 2);
		assert_memory_equal(b.data, "XY", 2);
	}
	assert_int_equal(lb_utf8_to_utf16le(NULL, 1, &b), LB_E_INVAL);
	assert_int_equal(lb_utf8_to_utf16le("a", 1, NULL), LB_E_INVAL);
	lb_buf_free(&b);
}

/* ---- appending -------------------------------------------------------- */

static void
test_output_is_appended_and_left_as_it_was_on_failure(void **state)
{
	struct lb_path p, big;
	struct lb_buf b, small;
	char *s = long_path("C:\\", MAX_UNITS + 1);

	(void)state;
	canon("C:\\dir", &p);
	canon(s, &big);
	lb_buf_init(&b, 65536);
	assert_int_equal(lb_buf_put(&b, "hdr", 3), LB_OK);
	assert_int_equal(lb_reparse_junction(&p, &b), LB_OK);
	assert_int_equal(b.len, 3 + sizeof(gold_junction_c_dir));
	assert_memory_equal(b.data + 3, gold_junction_c_dir, sizeof(gold_junction_c_dir));
	assert_int_equal(lb_reparse_junction(&big, &b), LB_E_TOOBIG);
	assert_int_equal(lb_reparse_symlink(&big, &b), LB_E_TOOBIG);
	assert_int_equal(b.len, 3 + sizeof(gold_junction_c_dir));

	/* The caller's own maximum holds too, and a refusal writes nothing. */
	lb_buf_init(&small, sizeof(gold_junction_c_dir) - 1);
	assert_int_equal(lb_reparse_junction(&p, &small), LB_E_TOOBIG);
	assert_int_equal(small.len, 0);
	assert_int_equal(lb_nt_path(&big, &small), LB_E_TOOBIG);
	assert_int_equal(small.len, 0);
	lb_buf_free(&small);
	lb_buf_free(&b);
	lb_path_free(&p);
	lb_path_free(&big);
	free(s);
}

/* ---- final paths (GetFinalPathNameByHandleW) ---------------------------- */

static void
final_ok(const char *in, const char *want, enum lb_path_root root)
{
	struct lb_path p;

	assert_int_equal(lb_win_path_from_final(in, strlen(in), &p), LB_OK);
	assert_string_equal(p.s, want);
	assert_int_equal(p.root, root);
	lb_path_free(&p);
}

static void
final_bad(const char *in, int rc)
{
	struct lb_path p;

	memset(&p, 0x5A, sizeof(p));
	assert_int_equal(lb_win_path_from_final(in, strlen(in), &p), rc);
	assert_null(p.s);
	assert_int_equal(p.len, 0);
}

static void
test_final_path_drive_and_unc_lose_their_prefix(void **state)
{
	(void)state;
	final_ok("\\\\?\\C:\\a", "C:\\a", LB_ROOT_DRIVE);
	final_ok("\\\\?\\C:\\", "C:\\", LB_ROOT_DRIVE);
	final_ok("\\\\?\\C:\\a\\", "C:\\a", LB_ROOT_DRIVE);
	final_ok("\\\\?\\Z:\\tmp\\lb dir\\x", "Z:\\tmp\\lb dir\\x", LB_ROOT_DRIVE);
	final_ok("\\\\?\\UNC\\srv\\share\\a", "\\\\srv\\share\\a", LB_ROOT_UNC);
	final_ok("\\\\?\\UNC\\srv\\share\\", "\\\\srv\\share", LB_ROOT_UNC);
	final_ok("\\\\?\\UNC\\srv\\share", "\\\\srv\\share", LB_ROOT_UNC);
	/* Lower case: NT object names in \?? are case-insensitive. */
	final_ok("\\\\?\\c:\\a", "C:\\a", LB_ROOT_DRIVE);
	final_ok("\\\\?\\unc\\srv\\share\\a", "\\\\srv\\share\\a", LB_ROOT_UNC);
	/* Not ASCII: passed through as UTF-8. */
	final_ok("\\\\?\\C:\\\xc3\xa9t\xc3\xa9", "C:\\\xc3\xa9t\xc3\xa9", LB_ROOT_DRIVE);
}

static void
test_final_path_volume_globalroot_and_unprefixed_are_unsupported(void **state)
{
	(void)state;
	/* A volume mounted without a drive letter: no name a policy knows. */
	final_bad("\\\\?\\Volume{4c1b02c1-d990-11dc-99ae-806e6f6e6963}\\a",
	    LB_E_UNSUPPORTED);
	final_bad("\\\\?\\GLOBALROOT\\Device\\HarddiskVolume1\\a", LB_E_UNSUPPORTED);
	final_bad("\\\\?\\GLOBALROOT\\Device\\Mup\\srv\\share", LB_E_UNSUPPORTED);
	/* VOLUME_NAME_DOS always has the prefix: anything else is unexpected. */
	final_bad("C:\\a", LB_E_UNSUPPORTED);
	final_bad("\\\\srv\\share\\a", LB_E_UNSUPPORTED);
	final_bad("\\??\\C:\\a", LB_E_UNSUPPORTED);
	final_bad("\\\\.\\C:\\a", LB_E_UNSUPPORTED);
	final_bad("\\Device\\HarddiskVolume1\\a", LB_E_UNSUPPORTED);
	final_bad("", LB_E_UNSUPPORTED);
	final_bad("\\\\?\\", LB_E_UNSUPPORTED);
	final_bad("\\\\?\\C:", LB_E_UNSUPPORTED);
	final_bad("\\\\?\\UNC\\", LB_E_UNSUPPORTED);
	final_bad("\\\\?\\1:\\a", LB_E_UNSUPPORTED);
}

static void
test_final_path_must_already_be_canonical(void **state)
{
	(void)state;
	/* lb_path_canon would rewrite these: the OS never reports them, so
	 * they are refused rather than decided on under another spelling. */
	final_bad("\\\\?\\C:\\a\\..\\b", LB_E_UNSUPPORTED);
	final_bad("\\\\?\\C:\\a\\.\\b", LB_E_UNSUPPORTED);
	final_bad("\\\\?\\C:\\a/b", LB_E_UNSUPPORTED);
	final_bad("\\\\?\\C:\\a\\\\b", LB_E_UNSUPPORTED);
	/* What lb_path_canon refuses is refused with its own code. */
	final_bad("\\\\?\\C:\\con", LB_E_PATH_DEVICE);
	final_bad("\\\\?\\C:\\a.", LB_E_PATH_TRAILING);
	final_bad("\\\\?\\C:\\a:b", LB_E_PATH_ADS);
	final_bad("\\\\?\\UNC\\\\share\\a", LB_E_PATH_UNC);
}

static void
test_final_path_too_long_is_refused(void **state)
{
	struct lb_path p;
	char *ok = long_path("\\\\?\\C:\\", 4 + LB_PATH_WINDOWS_MAX);
	char *big = long_path("\\\\?\\C:\\", 4 + LB_PATH_WINDOWS_MAX + 1);

	(void)state;
	assert_int_equal(lb_win_path_from_final(ok, strlen(ok), &p), LB_OK);
	assert_int_equal(p.len, LB_PATH_WINDOWS_MAX);
	lb_path_free(&p);
	assert_int_equal(lb_win_path_from_final(big, strlen(big), &p), LB_E_PATH_LONG);
	assert_null(p.s);
	assert_int_equal(lb_win_path_from_final(big, LB_PATH_INPUT_MAX + 1, &p),
	    LB_E_PATH_LONG);
	assert_int_equal(lb_win_path_from_final(NULL, 0, &p), LB_E_INVAL);
	assert_int_equal(lb_win_path_from_final("\\\\?\\C:\\a", 8, NULL), LB_E_INVAL);
	free(ok);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_junction_to_c_dir_is_mklink_layout_with_nuls),
		cmocka_unit_test(test_symlink_absolute_gets_nt_substitute_and_dos_print_name),
		cmocka_unit_test(test_symlink_relative_is_written_as_is_with_relative_flag),
		cmocka_unit_test(test_symlink_unc_gets_nt_unc_substitute),
		cmocka_unit_test(test_symlink_non_ascii_is_utf16le_with_surrogate_pair),
		cmocka_unit_test(test_symlink_root_relative_is_relative_and_written_as_is),
		cmocka_unit_test(test_symlink_dot_equals_what_mklink_wrote_on_windows),
		cmocka_unit_test(test_symlink_of_exactly_16_kib_fits_one_unit_more_is_toobig),
		cmocka_unit_test(test_junction_of_exactly_16_kib_fits_one_unit_more_is_toobig),
		cmocka_unit_test(test_junction_refuses_unc_relative_and_root_relative_targets),
		cmocka_unit_test(test_posix_flavour_and_missing_arguments_are_refused),
		cmocka_unit_test(test_hand_built_non_canonical_paths_are_refused),
		cmocka_unit_test(test_nt_path_prefixes_drive_and_unc_paths),
		cmocka_unit_test(test_nt_path_refuses_relative_and_root_relative_paths),
		cmocka_unit_test(test_nt_path_longest_fits_a_unicode_string_one_more_is_refused),
		cmocka_unit_test(test_utf8_to_utf16le_encodes_every_sequence_length),
		cmocka_unit_test(test_utf8_to_utf16le_refuses_invalid_utf8_and_nul),
		cmocka_unit_test(test_output_is_appended_and_left_as_it_was_on_failure),
		cmocka_unit_test(test_final_path_drive_and_unc_lose_their_prefix),
		cmocka_unit_test(test_final_path_volume_globalroot_and_unprefixed_are_unsupported),
		cmocka_unit_test(test_final_path_must_already_be_canonical),
		cmocka_unit_test(test_final_path_too_long_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
