/* Unit tests for lb_win_event_escape (service/win/lb_svc_win.c): text that
 * reaches the Event Log as an insertion string carries no '%', so the
 * viewer, which expands %n, %%n and %{...} inside inserted text too and
 * has no escape for them (MS-EVEN 3.2.4.1.5), shows it as written. Wine's
 * ReportEventW records nothing, so the Event Log itself is not observable
 * here; this pins the text handed to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <windows.h>
#include <string.h>
#include <wchar.h>

#include "lb_win.h"

#define PCT 0xFF05   /* FULLWIDTH PERCENT SIGN */

/* Escape a copy of IN and compare with WANT. */
static void
expect_escaped(const wchar_t *in, const wchar_t *want)
{
	wchar_t buf[256];

	assert_true(wcslen(in) < 256);
	memcpy(buf, in, (wcslen(in) + 1) * sizeof(wchar_t));
	lb_win_event_escape(buf);
	if (wcscmp(buf, want) != 0)
		fail_msg("%ls -> %ls, want %ls", in, buf, want);
	assert_int_equal(wcslen(buf), wcslen(in));   /* in place, same length */
}

static void
test_parameter_references_are_not_left_for_the_viewer(void **state)
{
	(void)state;
	/* %%5 would read "Access is denied." (kernel32's message 5). */
	expect_escaped(L"C:\\x\\%%5\\y", L"C:\\x\\\xFF05\xFF05" L"5\\y");
	expect_escaped(L"%%1234", L"\xFF05\xFF05" L"1234");
}

static void
test_insertion_and_sid_references_are_not_left_for_the_viewer(void **state)
{
	(void)state;
	/* %1 would be replaced by the whole text again, recursively. */
	expect_escaped(L"alice: %1 denied", L"alice: \xFF05" L"1 denied");
	expect_escaped(L"%{S-1-5-18}", L"\xFF05{S-1-5-18}");
	expect_escaped(L"%0", L"\xFF05" L"0");
}

static void
test_every_percent_goes_even_where_harmless(void **state)
{
	(void)state;
	/* Doubling is no escape ("%%" + digit is a parameter reference),
	 * so none is left, harmless or not. */
	expect_escaped(L"100% sure", L"100\xFF05 sure");
	expect_escaped(L"%USERPROFILE%\\src", L"\xFF05USERPROFILE\xFF05\\src");
	expect_escaped(L"%", L"\xFF05");
	expect_escaped(L"%%", L"\xFF05\xFF05");
}

static void
test_text_without_percent_is_unchanged(void **state)
{
	(void)state;
	expect_escaped(L"", L"");
	expect_escaped(L"started: policy C:\\ProgramData\\LinkBroker\\policy.ini",
	    L"started: policy C:\\ProgramData\\LinkBroker\\policy.ini");
	/* Surrogate pairs and U+FFFD (a bad UTF-8 byte) pass through. */
	expect_escaped(L"\xD83D\xDE00 \xFFFD", L"\xD83D\xDE00 \xFFFD");
}

static void
test_no_percent_survives_any_mix(void **state)
{
	wchar_t buf[512];
	size_t i;
	unsigned x = 12345;

	(void)state;
	for (i = 0; i + 1 < 512; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (x >> 16) % 4 == 0 ? L'%' : (wchar_t)(L' ' + (x >> 8) % 90);
	}
	buf[511] = L'\0';
	lb_win_event_escape(buf);
	assert_null(wcschr(buf, L'%'));
	assert_int_equal(wcslen(buf), 511);
	assert_int_equal(PCT, 0xFF05);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parameter_references_are_not_left_for_the_viewer),
		cmocka_unit_test(test_insertion_and_sid_references_are_not_left_for_the_viewer),
		cmocka_unit_test(test_every_percent_goes_even_where_harmless),
		cmocka_unit_test(test_text_without_percent_is_unchanged),
		cmocka_unit_test(test_no_percent_survives_any_mix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
