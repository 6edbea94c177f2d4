/* lb_pool_posix: a few threads that run one function over the items of a
 * round, the calling thread taking part (fork-join). Only pure work goes
 * there - signatures to check and to make, each item touching only its own
 * memory; every decision, record and file-system call stays on the
 * daemon's one thread (whose fsuid/fsgid are the ones that matter). */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_posix.h"

#define LB_POOL_MAX 7

struct lb_pool {
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	void (*fn)(void *ctx, size_t i);
	void *ctx;
	size_t n, next, finished;   /* this round's items: taken, finished */
	unsigned long round;
	int stop;
	size_t n_threads;
	pthread_t th[LB_POOL_MAX];
};

/* Take items of the current round until none is left. Called with MU
 * held; returns with it held. */
static void
lb_pool_work(struct lb_pool *p)
{
	while (p->next < p->n) {
		size_t i = p->next++;

		pthread_mutex_unlock(&p->mu);
		p->fn(p->ctx, i);
		pthread_mutex_lock(&p->mu);
		if (++p->finished == p->n)
			pthread_cond_signal(&p->done);
	}
}

static void *
lb_pool_main(void *arg)
{
	struct lb_pool *p = arg;
	unsigned long seen = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->round == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->stop)
			break;
		seen = p->round;
		lb_pool_work(p);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
lb_pool_new(size_t threads, struct lb_pool **out)
{
	struct lb_pool *p;
	sigset_t all, old;
	size_t i;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return LB_E_NOMEM;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return LB_E_NOMEM;
	}
	if (pthread_cond_init(&p->go, NULL) != 0 || pthread_cond_init(&p->done, NULL) != 0) {
		pthread_mutex_destroy(&p->mu);
		free(p);
		return LB_E_NOMEM;
	}
	if (threads > LB_POOL_MAX)
		threads = LB_POOL_MAX;
	/* Signals stay with the daemon's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < threads; i++) {
		if (pthread_create(&p->th[i], NULL, lb_pool_main, p) != 0)
			break;   /* fewer helpers: the caller does the rest */
		p->n_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*out = p;
	return LB_OK;
}

size_t
lb_pool_threads(const struct lb_pool *p)
{
	return p != NULL ? p->n_threads : 0;
}

void
lb_pool_run(struct lb_pool *p, void (*fn)(void *ctx, size_t i), void *ctx, size_t n)
{
	size_t i;

	if (p == NULL || p->n_threads == 0 || n < 2) {
		for (i = 0; i < n; i++)
			fn(ctx, i);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->ctx = ctx;
	p->n = n;
	p->next = 0;
	p->finished = 0;
	p->round++;
	pthread_cond_broadcast(&p->go);
	lb_pool_work(p);
	while (p->finished < p->n)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void
lb_pool_free(struct lb_pool *p)
{
	size_t i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n_threads; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
