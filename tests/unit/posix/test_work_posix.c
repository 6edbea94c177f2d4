/* File-system work off the loop (lb_work_posix.c): every task comes back
 * exactly once through lb_work_done, with the eventfd readable; a task
 * stuck "in the kernel" holds up nobody (lb_work_grow starts another
 * worker and later tasks finish); lb_work_free says LB_E_BUSY while a
 * task is stuck and frees everything once none is. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../service/posix/lb_work_posix.c"

#define TASKS 500

struct item {
	struct lb_task t;               /* first */
	int runs;
	int stuck;                      /* waits for RELEASE */
	int back;                       /* handed back by lb_work_done */
};

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int release;

static void
run_item(struct lb_task *t)
{
	struct item *it = (struct item *)t;

	it->runs++;
	if (it->stuck) {
		pthread_mutex_lock(&gate_mu);
		while (!release)
			pthread_cond_wait(&gate_cv, &gate_mu);
		pthread_mutex_unlock(&gate_mu);
	}
}

/* Wait up to MS for finished tasks; mark them back. Returns how many. */
static size_t
collect(struct lb_work *w, int ms)
{
	struct pollfd pfd = { .fd = lb_work_fd(w), .events = POLLIN };
	struct lb_task *t, *next;
	size_t n = 0;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	for (t = lb_work_done(w); t != NULL; t = next) {
		next = t->next;
		((struct item *)t)->back++;
		n++;
	}
	return n;
}

static void
test_every_task_back_once(void **state)
{
	static struct item it[TASKS];
	struct lb_work *w;
	size_t i, back = 0;
	int64_t next;
	int rounds = 0;

	(void)state;
	memset(it, 0, sizeof(it));
	assert_int_equal(lb_work_new(2, 8, &w), LB_OK);
	for (i = 0; i < TASKS; i++) {
		it[i].t.fn = run_item;
		assert_int_equal(lb_work_submit(w, &it[i].t), LB_OK);
	}
	while (back < TASKS && rounds++ < 2000) {
		(void)lb_work_grow(w, lb_work_now_ms(), &next);
		back += collect(w, 10);
	}
	assert_int_equal(back, TASKS);
	for (i = 0; i < TASKS; i++) {
		assert_int_equal(it[i].runs, 1);
		assert_int_equal(it[i].back, 1);
	}
	/* Nothing stuck: no more than the base workers were needed... at
	 * most the cap in any case. */
	assert_true(lb_work_threads(w) >= 1 && lb_work_threads(w) <= 8);
	assert_int_equal(lb_work_busy(w), 0);
	assert_int_equal(lb_work_free(w), LB_OK);
}

static void
test_stuck_task_holds_up_nobody(void **state)
{
	static struct item stuck[2], quick[10];
	struct lb_work *w;
	size_t i, back = 0;
	int64_t start = lb_work_now_ms(), next;

	(void)state;
	memset(stuck, 0, sizeof(stuck));
	memset(quick, 0, sizeof(quick));
	release = 0;
	/* Base 2: both stuck at once, so the quick ones need a third. */
	assert_int_equal(lb_work_new(2, 4, &w), LB_OK);
	for (i = 0; i < 2; i++) {
		stuck[i].t.fn = run_item;
		stuck[i].stuck = 1;
		assert_int_equal(lb_work_submit(w, &stuck[i].t), LB_OK);
	}
	for (i = 0; i < 10; i++) {
		quick[i].t.fn = run_item;
		assert_int_equal(lb_work_submit(w, &quick[i].t), LB_OK);
	}
	while (back < 10 && lb_work_now_ms() - start < 5000) {
		(void)lb_work_grow(w, lb_work_now_ms(), &next);
		back += collect(w, 5);
	}
	assert_int_equal(back, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(quick[i].back, 1);
	assert_int_equal(stuck[0].back + stuck[1].back, 0);
	/* One more (two if the third was slow to start), not one per task. */
	assert_true(lb_work_threads(w) >= 3 && lb_work_threads(w) <= 4);
	assert_int_equal(lb_work_busy(w), 2);
	/* Stuck: not freed (the threads use it), said so. */
	assert_int_equal(lb_work_free(w), LB_E_BUSY);
	pthread_mutex_lock(&gate_mu);
	release = 1;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	while (lb_work_busy(w) > 0)
		usleep(1000);
	assert_int_equal(lb_work_free(w), LB_OK);
	assert_int_equal(stuck[0].runs + stuck[1].runs, 2);
}

static void
test_grow_stops_at_the_cap(void **state)
{
	static struct item stuck[6];
	struct lb_work *w;
	int64_t now = lb_work_now_ms(), next;
	size_t i;

	(void)state;
	memset(stuck, 0, sizeof(stuck));
	release = 0;
	assert_int_equal(lb_work_new(1, 3, &w), LB_OK);
	for (i = 0; i < 6; i++) {
		stuck[i].t.fn = run_item;
		stuck[i].stuck = 1;
		assert_int_equal(lb_work_submit(w, &stuck[i].t), LB_OK);
	}
	for (i = 0; i < 10; i++) {
		now += LB_WORK_GROW_MS;
		(void)lb_work_grow(w, now, &next);
	}
	assert_int_equal(lb_work_threads(w), 3);
	assert_int_equal(next, -1);   /* at the cap: nothing to wait for */
	pthread_mutex_lock(&gate_mu);
	release = 1;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	while (lb_work_busy(w) > 0)
		usleep(1000);
	assert_int_equal(lb_work_free(w), LB_OK);
	for (i = 0; i < 6; i++)
		assert_int_equal(stuck[i].runs, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_task_back_once),
		cmocka_unit_test(test_stuck_task_holds_up_nobody),
		cmocka_unit_test(test_grow_stops_at_the_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
