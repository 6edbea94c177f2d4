/* lb_work_posix: threads for file-system work that must not hold up the
 * daemon's loop. A request's opens and creates, as the client, can sit in
 * the kernel for as long as the file system likes (a FUSE server that
 * never answers, a dead NFS server, a FIFO): each task runs on a worker,
 * the loop waits for it on an eventfd and answers "timed out" at the
 * request's deadline whatever the worker is doing. A worker stuck in the
 * kernel holds only itself: when the queue has waited LB_WORK_GROW_MS
 * with no idle worker, one more is started, up to the cap (docs/
 * linux-daemon.md, "File work off the loop"). Threads are never cancelled
 * (a thread killed inside a credential switch would leave the process
 * with the client's file-system ids); they end at lb_work_free. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lb_posix.h"

#define LB_WORK_STACK (1024 * 1024)
#define LB_WORK_FREE_WAIT_MS 2000

struct lb_work {
	pthread_mutex_t mu;
	pthread_cond_t cv;              /* a task queued, or stop */
	pthread_cond_t idle;            /* a task finished (lb_work_free waits) */
	struct lb_task *head, *tail;    /* queued, in order */
	struct lb_task *done;           /* finished, newest first */
	size_t n_queued, n_running, n_idle;
	int64_t last_start;             /* a worker last took a task (monotonic ms) */
	int efd;                        /* readable while DONE is not empty */
	int stop;
	size_t base, max, n_threads;
	pthread_t *th;
};

static void *
lb_work_main(void *arg)
{
	struct lb_work *w = arg;
	struct lb_task *t;
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && w->head == NULL)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		t = w->head;
		if ((w->head = t->next) == NULL)
			w->tail = NULL;
		w->n_queued--;
		w->n_idle--;
		w->n_running++;
		w->last_start = lb_work_now_ms();
		pthread_mutex_unlock(&w->mu);
		t->fn(t);
		pthread_mutex_lock(&w->mu);
		w->n_running--;
		w->n_idle++;
		t->next = w->done;
		w->done = t;
		pthread_cond_broadcast(&w->idle);
		/* Under the lock: lb_work_done reads the count with it. */
		if (write(w->efd, &one, sizeof(one)) < 0) {
			/* the counter is already non-zero: the loop will look */
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int64_t
lb_work_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One more worker. Called with MU held. */
static int
lb_work_spawn(struct lb_work *w)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int r;

	if (w->n_threads >= w->max)
		return LB_E_BUSY;
	if (pthread_attr_init(&attr) != 0)
		return LB_E_NOMEM;
	(void)pthread_attr_setstacksize(&attr, LB_WORK_STACK);
	/* Signals stay with the daemon's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&w->th[w->n_threads], &attr, lb_work_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r != 0)
		return LB_E_NOMEM;
	w->n_threads++;
	w->n_idle++;
	return LB_OK;
}

int
lb_work_new(size_t base, size_t max, struct lb_work **out)
{
	struct lb_work *w;

	*out = NULL;
	if (base == 0 || max < base)
		return LB_E_INVAL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return LB_E_NOMEM;
	if ((w->th = calloc(max, sizeof(*w->th))) == NULL) {
		free(w);
		return LB_E_NOMEM;
	}
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		free(w->th);
		free(w);
		return LB_E_IO;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_cond_init(&w->idle, NULL);
	w->base = base;
	w->max = max;
	*out = w;
	return LB_OK;
}

int
lb_work_fd(const struct lb_work *w)
{
	return w->efd;
}

int
lb_work_submit(struct lb_work *w, struct lb_task *t)
{
	int r = LB_OK;

	t->next = NULL;
	pthread_mutex_lock(&w->mu);
	/* Without a worker at all the task would never run: refuse it. */
	if (w->n_threads == 0 && (r = lb_work_spawn(w)) != LB_OK)
		goto out;
	if (w->tail != NULL)
		w->tail->next = t;
	else
		w->head = t;
	w->tail = t;
	if (w->n_queued++ == 0 && w->n_idle == 0)
		w->last_start = lb_work_now_ms();   /* the queue starts waiting now */
	/* Up to BASE workers as work comes; more only when they are stuck
	 * (lb_work_grow). */
	if (w->n_idle < w->n_queued && w->n_threads < w->base)
		(void)lb_work_spawn(w);   /* none: the task waits for a worker */
	pthread_cond_signal(&w->cv);
out:
	pthread_mutex_unlock(&w->mu);
	return r;
}

int
lb_work_grow(struct lb_work *w, int64_t now_ms, int64_t *next_ms)
{
	int grew = 0;

	pthread_mutex_lock(&w->mu);
	*next_ms = -1;
	if (w->n_queued > w->n_idle && w->n_threads < w->max) {
		if (now_ms - w->last_start >= LB_WORK_GROW_MS) {
			grew = lb_work_spawn(w) == LB_OK;
			w->last_start = now_ms;
			if (grew)
				pthread_cond_signal(&w->cv);
		}
		*next_ms = w->last_start + LB_WORK_GROW_MS;
	}
	pthread_mutex_unlock(&w->mu);
	return grew;
}

struct lb_task *
lb_work_done(struct lb_work *w)
{
	struct lb_task *t, *list, *out = NULL;
	uint64_t n;

	pthread_mutex_lock(&w->mu);
	list = w->done;
	w->done = NULL;
	if (read(w->efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing was signalled since the last call */
	}
	pthread_mutex_unlock(&w->mu);
	while ((t = list) != NULL) {   /* oldest first */
		list = t->next;
		t->next = out;
		out = t;
	}
	return out;
}

size_t
lb_work_threads(const struct lb_work *w)
{
	size_t n;

	pthread_mutex_lock((pthread_mutex_t *)&w->mu);
	n = w->n_threads;
	pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
	return n;
}

size_t
lb_work_busy(const struct lb_work *w)
{
	size_t n;

	pthread_mutex_lock((pthread_mutex_t *)&w->mu);
	n = w->n_running + w->n_queued;
	pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
	return n;
}

int
lb_work_free(struct lb_work *w)
{
	struct timespec until;
	size_t i;

	if (w == NULL)
		return LB_OK;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += LB_WORK_FREE_WAIT_MS / 1000;
	pthread_mutex_lock(&w->mu);
	/* Queued tasks are not run; running ones are waited for, a while. */
	w->head = w->tail = NULL;
	w->n_queued = 0;
	w->stop = 1;
	pthread_cond_broadcast(&w->cv);
	while (w->n_running > 0)
		if (pthread_cond_timedwait(&w->idle, &w->mu, &until) == ETIMEDOUT)
			break;
	if (w->n_running > 0) {
		/* Stuck in the kernel: left behind, with what they use. */
		pthread_mutex_unlock(&w->mu);
		return LB_E_BUSY;
	}
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->n_threads; i++)
		pthread_join(w->th[i], NULL);
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->idle);
	pthread_mutex_destroy(&w->mu);
	close(w->efd);
	free(w->th);
	free(w);
	return LB_OK;
}
