/* lb_serve's file watch: a change is reloaded only once it held still. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lb_serve.h"

static void
test_a_change_is_reloaded_once_it_holds_still(void **state)
{
	struct lb_watch w = { { 0 }, { 0 }, 0, 0 };
	const uint64_t a = 1, b = 2, c = 3;

	(void)state;
	lb_watch_loaded(&w, &a, sizeof(a));
	assert_true(lb_watch_present(&w));
	assert_int_equal(lb_watch_seen(&w, &a, sizeof(a)), 0);   /* unchanged */
	assert_int_equal(lb_watch_seen(&w, &b, sizeof(b)), 0);   /* truncated: wait */
	assert_int_equal(lb_watch_seen(&w, &c, sizeof(c)), 0);   /* written: wait */
	assert_int_equal(lb_watch_seen(&w, &c, sizeof(c)), 1);   /* held still: reload */
	lb_watch_loaded(&w, &c, sizeof(c));
	assert_int_equal(lb_watch_seen(&w, &c, sizeof(c)), 0);
	/* back to what was loaded before the change settled: nothing to do */
	assert_int_equal(lb_watch_seen(&w, &b, sizeof(b)), 0);
	assert_int_equal(lb_watch_seen(&w, &c, sizeof(c)), 0);
	assert_int_equal(lb_watch_seen(&w, &c, sizeof(c)), 0);
}

static void
test_a_missing_file_keeps_the_policy_and_is_loaded_when_back(void **state)
{
	struct lb_watch w = { { 0 }, { 0 }, 0, 0 };
	const uint64_t a = 1;

	(void)state;
	lb_watch_loaded(&w, &a, sizeof(a));
	assert_int_equal(lb_watch_seen(&w, NULL, 0), 0);
	assert_false(lb_watch_present(&w));
	assert_int_equal(lb_watch_seen(&w, NULL, 0), 0);
	assert_int_equal(lb_watch_seen(&w, &a, sizeof(a)), 0);   /* back: wait */
	assert_int_equal(lb_watch_seen(&w, &a, sizeof(a)), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_change_is_reloaded_once_it_holds_still),
		cmocka_unit_test(test_a_missing_file_keeps_the_policy_and_is_loaded_when_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
