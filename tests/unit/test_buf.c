/* Unit tests for lb_buf: bounded growth, big-endian writers and readers,
 * C-string views, and display escaping of hostile strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lb_buf.h"

/* Display S (N bytes) into a fresh buffer and compare with EXPECT. */
static void
assert_display(const char *s, size_t n, const char *expect)
{
	struct lb_buf b;
	const char *out;

	lb_buf_init(&b, 4096);
	assert_int_equal(lb_buf_put_display(&b, s, n), LB_OK);
	assert_int_equal(lb_buf_cstr(&b, &out), LB_OK);
	assert_string_equal(out, expect);
	lb_buf_free(&b);
}

static void
test_growth_doubles_and_is_capped_at_max(void **state)
{
	struct lb_buf b;
	uint8_t chunk[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)i;
	lb_buf_init(&b, 200);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);

	assert_int_equal(lb_buf_put(&b, chunk, 1), LB_OK);
	assert_int_equal(b.cap, 64);
	assert_int_equal(lb_buf_put(&b, chunk + 1, 64), LB_OK);
	assert_int_equal(b.len, 65);
	assert_int_equal(b.cap, 128);
	/* The next doubling (256) would pass max: capped at exactly max. */
	assert_int_equal(lb_buf_put(&b, chunk + 65, 135), LB_OK);
	assert_int_equal(b.len, 200);
	assert_int_equal(b.cap, 200);
	assert_memory_equal(b.data, chunk, 200);
	lb_buf_free(&b);
}

static void
test_put_beyond_max_is_refused_and_changes_nothing(void **state)
{
	struct lb_buf b;
	uint8_t chunk[16];

	(void)state;
	memset(chunk, 0x5A, sizeof(chunk));
	lb_buf_init(&b, 16);
	assert_int_equal(lb_buf_put(&b, chunk, 16), LB_OK);
	assert_int_equal(lb_buf_put_u8(&b, 1), LB_E_TOOBIG);
	assert_int_equal(lb_buf_put(&b, chunk, 1), LB_E_TOOBIG);
	assert_int_equal(lb_buf_put(&b, chunk, SIZE_MAX), LB_E_TOOBIG);
	assert_int_equal(b.len, 16);
	assert_memory_equal(b.data, chunk, 16);
	/* Nothing to add always fits. */
	assert_int_equal(lb_buf_put(&b, NULL, 0), LB_OK);
	assert_int_equal(b.len, 16);
	lb_buf_free(&b);

	/* A u32 that only partly fits is not half-written. */
	lb_buf_init(&b, 3);
	assert_int_equal(lb_buf_put_u32(&b, 0x01020304), LB_E_TOOBIG);
	assert_int_equal(b.len, 0);
	assert_int_equal(lb_buf_put_u16(&b, 0x0102), LB_OK);
	assert_int_equal(lb_buf_put_u16(&b, 0x0304), LB_E_TOOBIG);
	assert_int_equal(b.len, 2);
	lb_buf_free(&b);
}

static void
test_zero_max_buffer_takes_nothing(void **state)
{
	struct lb_buf b;

	(void)state;
	lb_buf_init(&b, 0);
	assert_int_equal(lb_buf_put_u8(&b, 0), LB_E_TOOBIG);
	assert_int_equal(b.len, 0);
	lb_buf_free(&b);
}

static void
test_integers_are_written_big_endian(void **state)
{
	static const uint8_t expect[] = {
		0xAB,
		0x01, 0x02,
		0x03, 0x04, 0x05, 0x06,
		0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
		0xFF, 0xFF,
		0x80, 0x00, 0x00, 0x00,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
	};
	struct lb_buf b;

	(void)state;
	lb_buf_init(&b, 1024);
	assert_int_equal(lb_buf_put_u8(&b, 0xAB), LB_OK);
	assert_int_equal(lb_buf_put_u16(&b, 0x0102), LB_OK);
	assert_int_equal(lb_buf_put_u32(&b, 0x03040506), LB_OK);
	assert_int_equal(lb_buf_put_u64(&b, 0x0708090A0B0C0D0EULL), LB_OK);
	assert_int_equal(lb_buf_put_u16(&b, 0xFFFF), LB_OK);
	assert_int_equal(lb_buf_put_u32(&b, 0x80000000u), LB_OK);
	assert_int_equal(lb_buf_put_u64(&b, 0xFFFFFFFFFFFFFFFEULL), LB_OK);
	assert_int_equal(b.len, sizeof(expect));
	assert_memory_equal(b.data, expect, sizeof(expect));
	lb_buf_free(&b);
}

static void
test_put_cstr_appends_without_nul(void **state)
{
	struct lb_buf b;

	(void)state;
	lb_buf_init(&b, 64);
	assert_int_equal(lb_buf_put_cstr(&b, "ab"), LB_OK);
	assert_int_equal(lb_buf_put_cstr(&b, ""), LB_OK);
	assert_int_equal(lb_buf_put_cstr(&b, "c"), LB_OK);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "abc", 3);
	assert_int_equal(lb_buf_put_cstr(&b, NULL), LB_E_INVAL);
	lb_buf_free(&b);
}

static void
test_printf_formats_and_respects_max(void **state)
{
	struct lb_buf b;
	const char *s;

	(void)state;
	lb_buf_init(&b, 10);
	assert_int_equal(lb_buf_printf(&b, "%s=%d", "ab", 42), LB_OK);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "ab=42", 5);
	/* 6 more would make 11 > 10: refused, nothing appended. */
	assert_int_equal(lb_buf_printf(&b, "%06d", 7), LB_E_TOOBIG);
	assert_int_equal(b.len, 5);
	/* Exactly up to max is fine, and still makes a C string. */
	assert_int_equal(lb_buf_printf(&b, "%05u", 12u), LB_OK);
	assert_int_equal(b.len, 10);
	assert_int_equal(lb_buf_cstr(&b, &s), LB_OK);
	assert_string_equal(s, "ab=4200012");
	assert_int_equal(lb_buf_printf(&b, "%s", ""), LB_OK);
	assert_int_equal(lb_buf_printf(&b, "x"), LB_E_TOOBIG);
	assert_int_equal(b.len, 10);
	lb_buf_free(&b);
}

static void
test_cstr_terminates_and_refuses_embedded_nul(void **state)
{
	struct lb_buf b;
	const char *s;

	(void)state;
	lb_buf_init(&b, 8);
	assert_int_equal(lb_buf_cstr(&b, &s), LB_OK);
	assert_string_equal(s, "");
	assert_int_equal(lb_buf_put(&b, "12345678", 8), LB_OK);
	/* len == max: the NUL still fits and is not counted. */
	assert_int_equal(lb_buf_cstr(&b, &s), LB_OK);
	assert_string_equal(s, "12345678");
	assert_int_equal(b.len, 8);
	lb_buf_free(&b);

	lb_buf_init(&b, 8);
	assert_int_equal(lb_buf_put(&b, "ab\0cd", 5), LB_OK);
	assert_int_equal(lb_buf_cstr(&b, &s), LB_E_INVAL);
	assert_null(s);
	lb_buf_free(&b);
}

static void
test_reset_wipes_contents_and_keeps_storage(void **state)
{
	static const uint8_t zero[6];
	struct lb_buf b;
	uint8_t *storage;

	(void)state;
	lb_buf_init(&b, 64);
	assert_int_equal(lb_buf_put(&b, "secret", 6), LB_OK);
	storage = b.data;
	lb_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, storage);
	assert_memory_equal(b.data, zero, sizeof(zero));
	assert_int_equal(lb_buf_put(&b, "x", 1), LB_OK);
	assert_ptr_equal(b.data, storage);
	lb_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 0);
	/* Freeing twice is harmless. */
	lb_buf_free(&b);
}

static void
test_appending_own_contents_survives_regrowth(void **state)
{
	struct lb_buf b;
	uint8_t expect[128];

	(void)state;
	memset(expect, 'q', sizeof(expect));
	lb_buf_init(&b, 1024);
	assert_int_equal(lb_buf_put(&b, expect, 64), LB_OK);
	assert_int_equal(b.cap, 64);
	assert_int_equal(lb_buf_put(&b, b.data, b.len), LB_OK);
	assert_int_equal(b.len, 128);
	assert_memory_equal(b.data, expect, 128);
	lb_buf_free(&b);
}

static void
test_reader_reads_big_endian_fields(void **state)
{
	static const uint8_t in[] = {
		0xAB, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
		0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
		'h', 'i', 'x', 'y',
	};
	struct lb_reader r;
	const uint8_t *view;
	uint8_t u8, two[2];
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	(void)state;
	lb_reader_init(&r, in, sizeof(in));
	assert_int_equal(lb_reader_left(&r), sizeof(in));
	assert_int_equal(lb_reader_get_u8(&r, &u8), LB_OK);
	assert_int_equal(u8, 0xAB);
	assert_int_equal(lb_reader_get_u16(&r, &u16), LB_OK);
	assert_int_equal(u16, 0x0102);
	assert_int_equal(lb_reader_get_u32(&r, &u32), LB_OK);
	assert_int_equal(u32, 0x03040506);
	assert_int_equal(lb_reader_get_u64(&r, &u64), LB_OK);
	assert_true(u64 == 0x0708090A0B0C0D0EULL);
	assert_int_equal(lb_reader_end(&r), LB_E_TRAILING);
	assert_int_equal(lb_reader_get_view(&r, &view, 2), LB_OK);
	/* A view points into the input, not a copy. */
	assert_ptr_equal(view, in + 15);
	assert_int_equal(lb_reader_get_bytes(&r, two, 2), LB_OK);
	assert_memory_equal(two, "xy", 2);
	assert_int_equal(lb_reader_left(&r), 0);
	assert_int_equal(lb_reader_end(&r), LB_OK);
}

static void
test_reader_short_reads_consume_nothing(void **state)
{
	static const uint8_t in[] = { 0x11, 0x22, 0x33 };
	struct lb_reader r;
	const uint8_t *view = NULL;
	uint8_t u8, bytes[4] = { 0 };
	uint16_t u16;
	uint32_t u32 = 0xDEADBEEF;
	uint64_t u64 = 7;

	(void)state;
	lb_reader_init(&r, in, sizeof(in));
	assert_int_equal(lb_reader_get_u32(&r, &u32), LB_E_SHORT);
	assert_int_equal(lb_reader_get_u64(&r, &u64), LB_E_SHORT);
	assert_int_equal(lb_reader_get_bytes(&r, bytes, 4), LB_E_SHORT);
	assert_int_equal(lb_reader_get_view(&r, &view, 4), LB_E_SHORT);
	assert_int_equal(r.off, 0);
	assert_int_equal(lb_reader_left(&r), 3);
	assert_true(u32 == 0xDEADBEEF);
	assert_true(u64 == 7);
	assert_null(view);

	/* What is there can still be read, in full, afterwards. */
	assert_int_equal(lb_reader_get_u16(&r, &u16), LB_OK);
	assert_int_equal(u16, 0x1122);
	assert_int_equal(lb_reader_get_u16(&r, &u16), LB_E_SHORT);
	assert_int_equal(r.off, 2);
	assert_int_equal(lb_reader_get_u8(&r, &u8), LB_OK);
	assert_int_equal(u8, 0x33);
	assert_int_equal(lb_reader_get_u8(&r, &u8), LB_E_SHORT);
	assert_int_equal(r.off, 3);
	assert_int_equal(lb_reader_end(&r), LB_OK);
}

static void
test_reader_over_null_input_is_empty(void **state)
{
	struct lb_reader r;
	const uint8_t *view = NULL;
	uint8_t u8;

	(void)state;
	lb_reader_init(&r, NULL, 100);
	assert_int_equal(lb_reader_left(&r), 0);
	assert_int_equal(lb_reader_get_u8(&r, &u8), LB_E_SHORT);
	assert_int_equal(lb_reader_get_view(&r, &view, 0), LB_OK);
	assert_non_null(view);
	assert_int_equal(lb_reader_end(&r), LB_OK);
}

static void
test_display_copies_printable_ascii_and_backslash(void **state)
{
	(void)state;
	assert_display("C:\\Users\\a b~", 13, "C:\\Users\\a b~");
	assert_display("", 0, "");
}

static void
test_display_escapes_control_characters_and_del(void **state)
{
	(void)state;
	assert_display("a\nb\r\t", 5, "a\\x0ab\\x0d\\x09");
	assert_display("\0x", 2, "\\x00x");
	assert_display("\x1f\x7f", 2, "\\x1f\\x7f");
}

static void
test_display_escapes_terminal_escape_sequences(void **state)
{
	(void)state;
	/* ESC [ 31 m and an OSC title change: ESC defused, rest harmless. */
	assert_display("\x1b[31mred", 8, "\\x1b[31mred");
	assert_display("\x1b]0;pwn\x07", 8, "\\x1b]0;pwn\\x07");
	/* C1 CSI (U+009B), well-formed UTF-8 but a terminal control. */
	assert_display("\xc2\x9b" "2J", 4, "\\xc2\\x9b2J");
	assert_display("\xc2\x80\xc2\x9f", 4, "\\xc2\\x80\\xc2\\x9f");
}

static void
test_display_escapes_invalid_utf8(void **state)
{
	(void)state;
	/* Stray continuation bytes. */
	assert_display("\x80", 1, "\\x80");
	assert_display("a\xbf" "b", 3, "a\\xbfb");
	/* Overlong encodings of '/' and of U+0000. */
	assert_display("\xc0\xaf", 2, "\\xc0\\xaf");
	assert_display("\xc1\xbf", 2, "\\xc1\\xbf");
	assert_display("\xe0\x80\xaf", 3, "\\xe0\\x80\\xaf");
	assert_display("\xf0\x80\x80\xaf", 4, "\\xf0\\x80\\x80\\xaf");
	/* UTF-16 surrogates D800 and DFFF. */
	assert_display("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
	assert_display("\xed\xbf\xbf", 3, "\\xed\\xbf\\xbf");
	/* Above U+10FFFF, and bytes that never occur. */
	assert_display("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80");
	assert_display("\xf5\xfe\xff", 3, "\\xf5\\xfe\\xff");
	/* Truncated: at the end, and cut short by ASCII or a new lead. */
	assert_display("\xe2\x82", 2, "\\xe2\\x82");
	assert_display("\xe2\x82" "A", 3, "\\xe2\\x82A");
	assert_display("\xf0\x9f\x98", 3, "\\xf0\\x9f\\x98");
	assert_display("\xe2\xe2\x82\xac", 4, "\\xe2\xe2\x82\xac");
	/* The length bounds the sequence, even when the bytes just past it
	 * would complete it. */
	assert_display("\xc3\xa9", 1, "\\xc3");
	assert_display("\xe2\x82\xac", 2, "\\xe2\\x82");
	assert_display("\xf0\x9d\x84\x9e", 3, "\\xf0\\x9d\\x84");
}

static void
test_display_copies_valid_multibyte_utf8(void **state)
{
	(void)state;
	assert_display("caf\xc3\xa9", 5, "caf\xc3\xa9");                /* é */
	assert_display("\xc2\xa0", 2, "\xc2\xa0");                      /* NBSP, first after C1 */
	assert_display("\xe2\x82\xac", 3, "\xe2\x82\xac");              /* € */
	assert_display("\xed\x9f\xbf", 3, "\xed\x9f\xbf");              /* U+D7FF */
	assert_display("\xee\x80\x80", 3, "\xee\x80\x80");              /* U+E000 */
	assert_display("\xf0\x9d\x84\x9e", 4, "\xf0\x9d\x84\x9e");      /* U+1D11E */
	assert_display("\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf");      /* U+10FFFF */
}

static void
test_display_that_does_not_fit_appends_nothing(void **state)
{
	struct lb_buf b;

	(void)state;
	lb_buf_init(&b, 8);
	assert_int_equal(lb_buf_put(&b, "ok:", 3), LB_OK);
	/* "ab" fits, the escape for \n would pass max. */
	assert_int_equal(lb_buf_put_display(&b, "ab\n", 3), LB_E_TOOBIG);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "ok:", 3);
	lb_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_growth_doubles_and_is_capped_at_max),
		cmocka_unit_test(test_put_beyond_max_is_refused_and_changes_nothing),
		cmocka_unit_test(test_zero_max_buffer_takes_nothing),
		cmocka_unit_test(test_integers_are_written_big_endian),
		cmocka_unit_test(test_put_cstr_appends_without_nul),
		cmocka_unit_test(test_printf_formats_and_respects_max),
		cmocka_unit_test(test_cstr_terminates_and_refuses_embedded_nul),
		cmocka_unit_test(test_reset_wipes_contents_and_keeps_storage),
		cmocka_unit_test(test_appending_own_contents_survives_regrowth),
		cmocka_unit_test(test_reader_reads_big_endian_fields),
		cmocka_unit_test(test_reader_short_reads_consume_nothing),
		cmocka_unit_test(test_reader_over_null_input_is_empty),
		cmocka_unit_test(test_display_copies_printable_ascii_and_backslash),
		cmocka_unit_test(test_display_escapes_control_characters_and_del),
		cmocka_unit_test(test_display_escapes_terminal_escape_sequences),
		cmocka_unit_test(test_display_escapes_invalid_utf8),
		cmocka_unit_test(test_display_copies_valid_multibyte_utf8),
		cmocka_unit_test(test_display_that_does_not_fit_appends_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
