/* The daemon's worker threads (lb_pool_posix.c): every item of a round is
 * done exactly once, the round is over when lb_pool_run returns, rounds
 * follow one another, the helpers really take part, and a pool without
 * helpers does everything inline. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../service/posix/lb_pool_posix.c"

#define ITEMS 1000

struct round {
	int done[ITEMS];            /* times item i was run */
	pthread_t by[ITEMS];        /* by which thread */
	int wait_for_help;          /* item 0 waits until another item started */
	int started;                /* items started (under MU) */
	pthread_mutex_t mu;
};

static void
item(void *ctx, size_t i)
{
	struct round *r = ctx;
	int k, others = 0;

	pthread_mutex_lock(&r->mu);
	r->started++;
	pthread_mutex_unlock(&r->mu);
	/* Item 0 holds its thread (up to 10 s): the others can then only be
	 * done by a helper. */
	for (k = 0; i == 0 && r->wait_for_help && k < 10000 && !others; k++) {
		pthread_mutex_lock(&r->mu);
		others = r->started > 1;
		pthread_mutex_unlock(&r->mu);
		if (!others)
			usleep(1000);
	}
	r->done[i]++;               /* one writer per item: no lock needed */
	r->by[i] = pthread_self();
}

static void
check_round(struct lb_pool *p, struct round *r, size_t n)
{
	size_t i;

	memset(r->done, 0, sizeof(r->done));
	r->started = 0;
	lb_pool_run(p, item, r, n);
	for (i = 0; i < n; i++)
		assert_int_equal(r->done[i], 1);
	for (; i < ITEMS; i++)
		assert_int_equal(r->done[i], 0);
}

static void
test_every_item_once_over_many_rounds(void **state)
{
	static struct round r;
	struct lb_pool *p;
	size_t n;
	int k;

	(void)state;
	pthread_mutex_init(&r.mu, NULL);
	assert_int_equal(lb_pool_new(3, &p), LB_OK);
	assert_int_equal(lb_pool_threads(p), 3);
	for (k = 0; k < 2000; k++) {
		n = (size_t)(k * 7919) % ITEMS;
		check_round(p, &r, n);
	}
	check_round(p, &r, 0);
	check_round(p, &r, 1);
	check_round(p, &r, ITEMS);
	lb_pool_free(p);
}

static void
test_helpers_take_part(void **state)
{
	static struct round r;
	struct lb_pool *p;
	pthread_t me = pthread_self();
	size_t i, others = 0;

	(void)state;
	pthread_mutex_init(&r.mu, NULL);
	assert_int_equal(lb_pool_new(1, &p), LB_OK);
	/* The caller takes item 0 first and holds it until another item has
	 * started: that one is the helper's. */
	r.wait_for_help = 1;
	check_round(p, &r, 8);
	r.wait_for_help = 0;
	assert_true(pthread_equal(r.by[0], me));
	for (i = 0; i < 8; i++)
		others += !pthread_equal(r.by[i], me);
	assert_true(others > 0);
	lb_pool_free(p);
}

static void
test_without_helpers_all_inline(void **state)
{
	static struct round r;
	struct lb_pool *p;
	size_t i;

	(void)state;
	pthread_mutex_init(&r.mu, NULL);
	assert_int_equal(lb_pool_new(0, &p), LB_OK);
	assert_int_equal(lb_pool_threads(p), 0);
	check_round(p, &r, 100);
	for (i = 0; i < 100; i++)
		assert_true(pthread_equal(r.by[i], pthread_self()));
	lb_pool_free(p);
	/* no pool at all: the same */
	check_round(NULL, &r, 10);
	assert_int_equal(lb_pool_threads(NULL), 0);
	lb_pool_free(NULL);
}

static void
test_helpers_capped(void **state)
{
	struct lb_pool *p;

	(void)state;
	assert_int_equal(lb_pool_new(1000, &p), LB_OK);
	assert_int_equal(lb_pool_threads(p), LB_POOL_MAX);
	lb_pool_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_item_once_over_many_rounds),
		cmocka_unit_test(test_helpers_take_part),
		cmocka_unit_test(test_without_helpers_all_inline),
		cmocka_unit_test(test_helpers_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
