/* lb_serve's file watch: a change is reloaded only once it held still. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* A connection's input as both daemons take it: whole frames in order, a
 * partial one kept for later, a bad length word drops the rest (the
 * frames before it still taken). */
static void
test_frames_taken_in_order_and_a_bad_one_drops_the_rest(void **state)
{
	uint8_t in[64] = { 0, 0, 0, 2, 'a', 'b', 0, 0, 0, 1, 'c', 0, 0, 0, 3, 'd' };
	size_t len = 16, off = 0, mlen;
	const uint8_t *msg;

	(void)state;
	assert_int_equal(lb_serve_frame(&len, &off, in, &msg, &mlen), 1);
	assert_int_equal(mlen, 2);
	assert_memory_equal(msg, "ab", 2);
	assert_int_equal(lb_serve_frame(&len, &off, in, &msg, &mlen), 1);
	assert_int_equal(mlen, 1);
	assert_memory_equal(msg, "c", 1);
	assert_int_equal(lb_serve_frame(&len, &off, in, &msg, &mlen), 0);   /* "d" of 3 */
	assert_int_equal(off, 11);
	lb_serve_frames_done(in, &len, off);
	assert_int_equal(len, 5);
	assert_memory_equal(in, "\0\0\0\3d", 5);
	off = 0;
	lb_serve_frames_done(in, &len, off);                               /* nothing taken */
	assert_int_equal(len, 5);
	/* an empty frame: not our protocol */
	memcpy(in, "\0\0\0\1x\0\0\0\0", 9);
	len = 9;
	assert_int_equal(lb_serve_frame(&len, &off, in, &msg, &mlen), 1);
	assert_int_equal(lb_serve_frame(&len, &off, in, &msg, &mlen), -1);
	assert_int_equal(len, 0);
	assert_int_equal(off, 0);
	/* over-long: refused from its length word alone */
	memcpy(in, "\xff\xff\xff\xff", 4);
	len = 4;
	assert_int_equal(lb_serve_frame(&len, &off, in, &msg, &mlen), -1);
	assert_int_equal(len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_change_is_reloaded_once_it_holds_still),
		cmocka_unit_test(test_frames_taken_in_order_and_a_bad_one_drops_the_rest),
		cmocka_unit_test(test_a_missing_file_keeps_the_policy_and_is_loaded_when_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
