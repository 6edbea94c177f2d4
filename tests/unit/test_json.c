/* Unit tests for lb_json: the escaping table (one encoding per byte string,
 * nothing that breaks a line or drives a terminal), exact decoding back,
 * refusal of every other spelling, and the strict reader's numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lb_json.h"
#include "lb_sig.h"

struct esc_case {
	const char *in;
	size_t len;          /* bytes of IN */
	const char *json;    /* exactly what is written */
};

#define ROW(in, json) { in, sizeof(in) - 1, json }

static const struct esc_case esc_table[] = {
	ROW("", "\"\""),
	ROW("abc", "\"abc\""),
	ROW("\"", "\"\\\"\""),
	ROW("\\", "\"\\\\\""),
	/* A Windows path's backslashes stay plain escaped backslashes: never
	 * confused with an escaped byte (the reason not to use "\\xNN"). */
	ROW("C:\\xc0", "\"C:\\\\xc0\""),
	ROW("/", "\"/\""),
	ROW("\n", "\"\\n\""),
	ROW("\r\t\b\f", "\"\\r\\t\\b\\f\""),
	ROW("\x01", "\"\\u0001\""),
	ROW("\x1b[31mred", "\"\\u001b[31mred\""),
	ROW("\x1f", "\"\\u001f\""),
	ROW("\x7f", "\"\\u007f\""),
	ROW("\0", "\"\\u0000\""),
	ROW("a\0b", "\"a\\u0000b\""),
	/* Well-formed UTF-8 is kept... */
	ROW("\xc3\xa9t\xc3\xa9", "\"\xc3\xa9t\xc3\xa9\""),
	ROW("\xc2\xa0", "\"\xc2\xa0\""),                         /* U+00A0 NBSP */
	ROW("\xe2\x82\xac", "\"\xe2\x82\xac\""),                 /* U+20AC */
	ROW("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""),         /* U+1F600 */
	ROW("\xef\xbf\xbd", "\"\xef\xbf\xbd\""),                 /* U+FFFD */
	/* ...except C1 controls and invisible / reordering characters. */
	ROW("\xc2\x80", "\"\\u0080\""),
	ROW("\xc2\x85", "\"\\u0085\""),                          /* NEL */
	ROW("\xc2\x9b" "31m", "\"\\u009b31m\""),                 /* CSI */
	ROW("\xc2\x9f", "\"\\u009f\""),
	ROW("\xd8\x9c", "\"\\u061c\""),
	ROW("\xe2\x80\x8b", "\"\\u200b\""),
	ROW("\xe2\x80\x8f", "\"\\u200f\""),
	ROW("\xe2\x80\xa8", "\"\\u2028\""),
	ROW("\xe2\x80\xa9", "\"\\u2029\""),
	ROW("\xe2\x80\xae" "gpj.exe", "\"\\u202egpj.exe\""),      /* RLO */
	ROW("\xe2\x81\xa6", "\"\\u2066\""),
	ROW("\xe2\x81\xaf", "\"\\u206f\""),
	ROW("\xef\xbb\xbf", "\"\\ufeff\""),
	ROW("\xef\xbf\xb9", "\"\\ufff9\""),
	/* Bytes that are not well-formed UTF-8: one \udcNN each. */
	ROW("\xc0", "\"\\udcc0\""),
	ROW("\xff", "\"\\udcff\""),
	ROW("\x80", "\"\\udc80\""),
	ROW("a\xc3", "\"a\\udcc3\""),
	ROW("\xc0\xaf", "\"\\udcc0\\udcaf\""),                  /* overlong '/' */
	ROW("\xe0\x80\xaf", "\"\\udce0\\udc80\\udcaf\""),        /* overlong */
	ROW("\xed\xa0\x80", "\"\\udced\\udca0\\udc80\""),        /* UTF-16 surrogate */
	ROW("\xe2\x82", "\"\\udce2\\udc82\""),                   /* truncated */
	ROW("\xe2\x82" "A", "\"\\udce2\\udc82A\""),
	ROW("\xf4\x90\x80\x80", "\"\\udcf4\\udc90\\udc80\\udc80\""), /* > U+10FFFF */
	ROW("\xf5\x80\x80\x80", "\"\\udcf5\\udc80\\udc80\\udc80\""),
	ROW("\xc3\xa9\xff\xc3\xa9", "\"\xc3\xa9\\udcff\xc3\xa9\""),
};

static void
test_escape_table(void **state)
{
	struct lb_buf b, d;
	size_t i;

	(void)state;
	lb_buf_init(&b, 1024);
	lb_buf_init(&d, 1024);
	for (i = 0; i < sizeof(esc_table) / sizeof(esc_table[0]); i++) {
		const struct esc_case *c = &esc_table[i];
		const char *why = NULL;

		lb_buf_reset(&b);
		assert_int_equal(lb_json_put_str(&b, c->in, c->len), LB_OK);
		if (b.len != strlen(c->json) || memcmp(b.data, c->json, b.len) != 0)
			fail_msg("row %zu: wrote %.*s, expected %s", i, (int)b.len,
			    (const char *)b.data, c->json);
		/* And back, exactly. */
		lb_buf_reset(&d);
		if (lb_json_unescape((const char *)b.data + 1, b.len - 2, &d, &why) != LB_OK)
			fail_msg("row %zu: does not decode back: %s", i, why);
		assert_int_equal(d.len, c->len);
		if (c->len > 0)
			assert_memory_equal(d.data, c->in, c->len);
	}
	lb_buf_free(&b);
	lb_buf_free(&d);
}

static void
test_null_is_written_as_null(void **state)
{
	struct lb_buf b;

	(void)state;
	lb_buf_init(&b, 64);
	assert_int_equal(lb_json_put_str(&b, NULL, 5), LB_OK);
	assert_int_equal(lb_json_put_cstr(&b, NULL), LB_OK);
	assert_int_equal(lb_json_put_cstr(&b, "x"), LB_OK);
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.data, "nullnull\"x\"", 11);
	lb_buf_free(&b);
}

static void
test_escape_is_all_or_nothing_at_the_limit(void **state)
{
	struct lb_buf b;

	(void)state;
	lb_buf_init(&b, 8);
	assert_int_equal(lb_buf_put(&b, "ab", 2), LB_OK);
	/* "\u001b" alone needs 6 bytes plus the quotes. */
	assert_int_equal(lb_json_put_str(&b, "\x1b", 1), LB_E_TOOBIG);
	assert_int_equal(b.len, 2);
	assert_int_equal(lb_json_put_str(&b, "x", 1), LB_OK);
	assert_int_equal(b.len, 5);
	lb_buf_free(&b);
}

/* Texts between quotes that lb_json_put_str never writes: each refused. */
static const char *const bad_raw[] = {
	"\\u0041",            /* plain ASCII needs no escape */
	"\\/",                /* JSON allows it; this log never writes it */
	"\\u001B",            /* upper-case hex */
	"\\u00e9",            /* a character kept as UTF-8 */
	"\\U0041",
	"\\x41",
	"\\",
	"\\u12",
	"\\u12g4",
	"\\ud800",            /* high surrogate */
	"\\ud83d\\ude00",     /* a pair: written as UTF-8 instead */
	"\\udc41",            /* stands for a byte below 0x80 */
	"\\udc7f",
	"\\udcc3\\udca9",     /* bytes that are well-formed UTF-8 together */
	"\x01",               /* raw control */
	"a\tb",               /* raw TAB */
	"\x7f",               /* raw DEL */
	"\xc0",               /* raw invalid UTF-8 */
	"\xc2\x9b",           /* raw CSI */
	"\xe2\x80\xae",       /* raw RLO */
	"a\"b",               /* unescaped quote */
};

static void
test_unescape_refuses_other_spellings(void **state)
{
	struct lb_buf d;
	size_t i;

	(void)state;
	lb_buf_init(&d, 1024);
	for (i = 0; i < sizeof(bad_raw) / sizeof(bad_raw[0]); i++) {
		const char *why = NULL;

		assert_int_equal(lb_buf_put(&d, "keep", 4), LB_OK);
		if (lb_json_unescape(bad_raw[i], strlen(bad_raw[i]), &d, &why) != LB_E_INVAL)
			fail_msg("row %zu accepted", i);
		assert_non_null(why);
		/* Nothing half-decoded is left behind. */
		assert_int_equal(d.len, 4);
		lb_buf_reset(&d);
	}
	lb_buf_free(&d);
}

/* Bytes a hostile path would hold, to draw random strings from. */
static const uint8_t nasty[] = {
	'a', '/', '\\', '"', '\n', '\r', 0x00, 0x1b, '[', 0x7f, 0x80, 0x9b,
	0xc0, 0xc2, 0xc3, 0xa9, 0xe2, 0x80, 0xae, 0xed, 0xa0, 0xef, 0xbb, 0xbf,
	0xf0, 0x9f, 0x98, 0xf4, 0x90, 0xff, 'u', 'd', 'c',
};

static void
test_random_bytes_round_trip_on_one_clean_line(void **state)
{
	uint8_t in[48], pick[48];
	struct lb_buf b, d;
	size_t i, k, n;

	(void)state;
	assert_int_equal(lb_crypto_init(), LB_OK);
	lb_buf_init(&b, 4096);
	lb_buf_init(&d, 4096);
	for (i = 0; i < 20000; i++) {
		lb_random(pick, sizeof(pick));
		n = pick[0] % sizeof(in);
		for (k = 0; k < n; k++)
			in[k] = nasty[pick[k] % sizeof(nasty)];
		lb_buf_reset(&b);
		lb_buf_reset(&d);
		assert_int_equal(lb_json_put_str(&b, (const char *)in, n), LB_OK);
		for (k = 0; k < b.len; k++) {
			/* No line break, no control, no DEL, no raw C1 (0xC2 0x80..0x9F). */
			assert_true(b.data[k] >= 0x20 && b.data[k] != 0x7f);
			if (b.data[k] == 0xc2 && k + 1 < b.len)
				assert_true(b.data[k + 1] >= 0xa0);
		}
		assert_int_equal(lb_json_unescape((const char *)b.data + 1, b.len - 2, &d, NULL), LB_OK);
		assert_int_equal(d.len, n);
		if (n > 0)
			assert_memory_equal(d.data, in, n);
	}
	lb_buf_free(&b);
	lb_buf_free(&d);
}

static void
test_reader_numbers_are_canonical(void **state)
{
	static const struct { const char *text; uint64_t max; int ok; uint64_t v; } u[] = {
		{ "0", 10, 1, 0 },
		{ "7", 10, 1, 7 },
		{ "10", 10, 1, 10 },
		{ "11", 10, 0, 0 },
		{ "01", 10, 0, 0 },
		{ "", 10, 0, 0 },
		{ "-1", 10, 0, 0 },
		{ "+1", 10, 0, 0 },
		{ "18446744073709551615", UINT64_MAX, 1, UINT64_MAX },
		{ "18446744073709551616", UINT64_MAX, 0, 0 },
		{ "99999999999999999999999", UINT64_MAX, 0, 0 },
	};
	static const struct { const char *text; int ok; int64_t v; } s[] = {
		{ "0", 1, 0 },
		{ "-51", 1, -51 },
		{ "-0", 0, 0 },
		{ "-", 0, 0 },
		{ "-01", 0, 0 },
		{ "2147483647", 1, INT32_MAX },
		{ "2147483648", 0, 0 },
		{ "-2147483648", 1, INT32_MIN },
		{ "-2147483649", 0, 0 },
	};
	struct lb_json_in in;
	uint64_t v;
	int64_t w;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		lb_json_in_init(&in, u[i].text, strlen(u[i].text), 64);
		if (u[i].ok) {
			assert_int_equal(lb_json_uint(&in, u[i].max, &v), LB_OK);
			assert_true(v == u[i].v);
			assert_int_equal(lb_json_end(&in), LB_OK);
		} else if (lb_json_uint(&in, u[i].max, &v) == LB_OK) {
			/* "01" reads "0" and leaves "1": still not the whole text. */
			assert_int_not_equal(lb_json_end(&in), LB_OK);
		}
		lb_json_in_free(&in);
	}
	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		lb_json_in_init(&in, s[i].text, strlen(s[i].text), 64);
		if (s[i].ok) {
			assert_int_equal(lb_json_int(&in, INT32_MIN, INT32_MAX, &w), LB_OK);
			assert_true(w == s[i].v);
			assert_int_equal(lb_json_end(&in), LB_OK);
		} else {
			assert_int_equal(lb_json_int(&in, INT32_MIN, INT32_MAX, &w), LB_E_INVAL);
			assert_non_null(in.why);
		}
		lb_json_in_free(&in);
	}
}

static void
test_reader_strings_and_literals(void **state)
{
	static const char text[] = "{\"a\":\"x\\ny\",\"b\":null,\"c\":\"\\u0041\"}";
	struct lb_json_in in;
	struct lb_json_str s;

	(void)state;
	lb_json_in_init(&in, text, sizeof(text) - 1, 1024);
	assert_int_equal(lb_json_lit(&in, "{\"a\":"), LB_OK);
	assert_int_equal(lb_json_str(&in, 0, &s), LB_OK);
	assert_int_equal(s.null, 0);
	assert_int_equal(s.raw_len, 4);
	assert_memory_equal(s.raw, "x\\ny", 4);
	/* No spaces are skipped: the text is exactly what is expected. */
	assert_int_equal(lb_json_lit(&in, ", \"b\":"), LB_E_INVAL);
	assert_int_equal(lb_json_lit(&in, ",\"b\":"), LB_OK);
	assert_int_equal(lb_json_str(&in, 0, &s), LB_E_INVAL);   /* null not allowed */
	assert_int_equal(lb_json_str(&in, 1, &s), LB_OK);
	assert_int_equal(s.null, 1);
	assert_int_equal(lb_json_lit(&in, ",\"c\":"), LB_OK);
	assert_int_equal(lb_json_str(&in, 1, &s), LB_E_INVAL);   /* not canonical */
	assert_non_null(in.why);
	lb_json_in_free(&in);

	/* A string that never closes, and text after the end. */
	lb_json_in_init(&in, "\"abc\\\"", 6, 64);
	assert_int_equal(lb_json_str(&in, 0, &s), LB_E_INVAL);
	lb_json_in_free(&in);
	lb_json_in_init(&in, "\"abc\" ", 6, 64);
	assert_int_equal(lb_json_str(&in, 0, &s), LB_OK);
	assert_int_equal(lb_json_end(&in), LB_E_TRAILING);
	lb_json_in_free(&in);
	/* MAX_STR bounds what one string may decode to. */
	lb_json_in_init(&in, "\"abcdef\"", 8, 5);
	assert_int_equal(lb_json_str(&in, 0, &s), LB_E_INVAL);
	lb_json_in_free(&in);
}

/* A whole text as one canonical number: as lb_json_uint, nothing around it. */
static void
test_uint_text(void **state)
{
	static const char *const bad[] = { "", "01", "00", "-1", "1 ", " 1", "1a", "+1",
	    "18446744073709551616", "99999999999999999999" };
	uint64_t v = 7;
	size_t i;

	(void)state;
	assert_int_equal(lb_json_uint_text("0", 1, UINT64_MAX, &v), LB_OK);
	assert_true(v == 0);
	assert_int_equal(lb_json_uint_text("18446744073709551615", 20, UINT64_MAX, &v), LB_OK);
	assert_true(v == UINT64_MAX);
	assert_int_equal(lb_json_uint_text("42", 2, 41, &v), LB_E_INVAL);
	assert_int_equal(lb_json_uint_text("42x", 2, 42, &v), LB_OK);   /* N bytes only */
	assert_true(v == 42);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(lb_json_uint_text(bad[i], strlen(bad[i]), UINT64_MAX, &v), LB_OK);
}

/* A string as a C string: its bytes and a NUL; null is ""; a NUL among
 * the bytes or a bad escape is refused. */
static void
test_str_as_cstr(void **state)
{
	struct lb_json_str s = { "a\xc3\xa9\\\"", 5, 0 };
	struct lb_buf out;

	(void)state;
	lb_buf_init(&out, 64);
	assert_int_equal(lb_json_str_cstr(&s, &out), LB_OK);
	assert_int_equal(out.len, 4);
	assert_string_equal((const char *)out.data, "a\xc3\xa9\"");
	s.null = 1;
	assert_int_equal(lb_json_str_cstr(&s, &out), LB_OK);
	assert_int_equal(out.len, 0);
	assert_string_equal((const char *)out.data, "");
	s.null = 0;
	s.raw = "a\\u0000b";
	s.raw_len = 8;
	assert_int_equal(lb_json_str_cstr(&s, &out), LB_E_INVAL);
	s.raw = "a\\x";
	s.raw_len = 3;
	assert_int_equal(lb_json_str_cstr(&s, &out), LB_E_INVAL);
	lb_buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_null_is_written_as_null),
		cmocka_unit_test(test_escape_is_all_or_nothing_at_the_limit),
		cmocka_unit_test(test_unescape_refuses_other_spellings),
		cmocka_unit_test(test_random_bytes_round_trip_on_one_clean_line),
		cmocka_unit_test(test_reader_numbers_are_canonical),
		cmocka_unit_test(test_reader_strings_and_literals),
		cmocka_unit_test(test_str_as_cstr),
		cmocka_unit_test(test_uint_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
