/* lb_work_win: threads for the service's work that must not hold up its
 * loop. File-system work (opens and creates as a client, which an oplock,
 * a slow device or a filter driver can hold in the kernel) runs on
 * workers of its own, each job on one thread so that the loop can cancel
 * that thread's synchronous I/O (CancelSynchronousIo) at the job's
 * deadline; a worker that stays stuck holds only its own thread, and
 * another is started for the next job, up to a cap. Pure computation
 * (signatures of a round) is spread over the system thread pool and
 * joined. */
#include <windows.h>

#include <stdlib.h>
#include <string.h>

#include "lb_win.h"

#define LB_JOB_QUEUED 1
#define LB_JOB_RUNNING 2
#define LB_JOB_DONE 3

struct lb_win_workers {
	CRITICAL_SECTION mu;
	CONDITION_VARIABLE cv;
	struct lb_win_job *head, *tail;
	HANDLE iocp;
	ULONG_PTR key;
	size_t max, n_threads, n_idle;
	HANDLE *threads;
	int stop;
};

struct lb_worker_arg {
	struct lb_win_workers *w;
	HANDLE self;
};

static DWORD WINAPI
lb_worker_main(LPVOID arg)
{
	struct lb_worker_arg *a = arg;
	struct lb_win_workers *w = a->w;
	struct lb_win_job *j;

	EnterCriticalSection(&w->mu);
	for (;;) {
		while (!w->stop && w->head == NULL)
			SleepConditionVariableCS(&w->cv, &w->mu, INFINITE);
		if (w->stop)
			break;
		j = w->head;
		if ((w->head = j->next) == NULL)
			w->tail = NULL;
		j->next = NULL;
		j->thread = a->self;
		j->state = LB_JOB_RUNNING;
		w->n_idle--;
		LeaveCriticalSection(&w->mu);
		j->fn(j);
		/* Whatever fn did with the thread's token, the next job starts
		 * as the service. */
		if (!RevertToSelf())
			ExitProcess(70);
		EnterCriticalSection(&w->mu);
		/* Under the lock: lb_win_workers_cancel never reaches a thread
		 * that has moved on to another job. */
		j->thread = NULL;
		j->state = LB_JOB_DONE;
		w->n_idle++;
		if (!PostQueuedCompletionStatus(w->iocp, 0, w->key, &j->ov)) {
			/* The loop would wait for this job for ever: nothing
			 * can be answered safely any more. */
			lb_win_log(LB_WIN_ERR, "worker: cannot hand a finished job back "
			    "(Windows error %lu); exiting", (unsigned long)GetLastError());
			ExitProcess(70);
		}
	}
	w->n_idle--;
	LeaveCriticalSection(&w->mu);
	free(a);
	return 0;
}

int
lb_win_workers_new(HANDLE iocp, ULONG_PTR key, size_t max_threads,
    struct lb_win_workers **out)
{
	struct lb_win_workers *w;

	*out = NULL;
	if (iocp == NULL || max_threads == 0)
		return LB_E_INVAL;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->threads = calloc(max_threads, sizeof(HANDLE))) == NULL) {
		free(w);
		return LB_E_NOMEM;
	}
	InitializeCriticalSection(&w->mu);
	InitializeConditionVariable(&w->cv);
	w->iocp = iocp;
	w->key = key;
	w->max = max_threads;
	*out = w;
	return LB_OK;
}

/* A new worker, with the lock held. */
static int
lb_worker_start(struct lb_win_workers *w)
{
	struct lb_worker_arg *a;
	HANDLE h;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return LB_E_NOMEM;
	a->w = w;
	/* Suspended until it knows its own handle (for the cancel). */
	h = CreateThread(NULL, 256 * 1024, lb_worker_main, a,
	    CREATE_SUSPENDED | STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
	if (h == NULL) {
		free(a);
		return LB_E_NOMEM;
	}
	a->self = h;
	w->threads[w->n_threads++] = h;
	w->n_idle++;
	ResumeThread(h);
	return LB_OK;
}

int
lb_win_workers_submit(struct lb_win_workers *w, struct lb_win_job *j)
{
	int r = LB_OK;

	if (w == NULL || j == NULL || j->fn == NULL)
		return LB_E_INVAL;
	EnterCriticalSection(&w->mu);
	/* Every worker busy (perhaps stuck): one more, up to the cap. */
	if (w->n_idle == 0 && w->n_threads < w->max)
		r = lb_worker_start(w);
	if (w->n_threads == 0) {
		LeaveCriticalSection(&w->mu);
		return r != LB_OK ? r : LB_E_NOMEM;
	}
	j->next = NULL;
	j->thread = NULL;
	j->state = LB_JOB_QUEUED;
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	WakeConditionVariable(&w->cv);
	LeaveCriticalSection(&w->mu);
	return LB_OK;
}

int
lb_win_workers_cancel(struct lb_win_workers *w, struct lb_win_job *j)
{
	int running;

	EnterCriticalSection(&w->mu);
	running = j->state == LB_JOB_RUNNING && j->thread != NULL;
	/* ERROR_NOT_FOUND: nothing pending right now (the job is between
	 * calls); the caller asks again later. */
	if (running)
		(void)CancelSynchronousIo(j->thread);
	LeaveCriticalSection(&w->mu);
	return running;
}

void
lb_win_workers_free(struct lb_win_workers *w, DWORD wait_ms)
{
	DWORD r = WAIT_OBJECT_0;
	size_t i, n;

	if (w == NULL)
		return;
	EnterCriticalSection(&w->mu);
	w->stop = 1;
	w->head = w->tail = NULL;     /* queued jobs are not started */
	WakeAllConditionVariable(&w->cv);
	n = w->n_threads;
	LeaveCriticalSection(&w->mu);
	for (i = 0; i < n && r != WAIT_TIMEOUT; i++)
		r = WaitForSingleObject(w->threads[i], wait_ms);
	if (r == WAIT_TIMEOUT) {
		/* A worker stuck in the kernel: leave it and its memory (the
		 * process is ending); freeing them under it would be worse. */
		lb_win_log(LB_WIN_WARN, "stopping with a worker still in a file-system call");
		return;
	}
	for (i = 0; i < n; i++)
		CloseHandle(w->threads[i]);
	DeleteCriticalSection(&w->mu);
	free(w->threads);
	free(w);
}

/* ---- fork-join over the system thread pool ---- */

struct lb_par {
	void (*fn)(void *ctx, size_t i);
	void *ctx;
	size_t n;
	volatile LONG next;
};

static void
lb_par_take(struct lb_par *p)
{
	LONG i;

	while ((i = InterlockedIncrement(&p->next) - 1) >= 0 && (size_t)i < p->n)
		p->fn(p->ctx, (size_t)i);
}

static VOID CALLBACK
lb_par_cb(PTP_CALLBACK_INSTANCE inst, PVOID ctx, PTP_WORK work)
{
	(void)inst;
	(void)work;
	lb_par_take(ctx);
}

void
lb_win_parallel(void (*fn)(void *ctx, size_t i), void *ctx, size_t n, size_t helpers)
{
	struct lb_par p = { fn, ctx, n, 0 };
	PTP_WORK work = NULL;
	size_t k;

	if (n > 1 && helpers > 0 && n <= 0x7fffffff)
		work = CreateThreadpoolWork(lb_par_cb, &p, NULL);
	if (work != NULL)
		for (k = 0; k < helpers && k + 1 < n; k++)
			SubmitThreadpoolWork(work);
	lb_par_take(&p);             /* this thread takes part, and alone without a pool */
	if (work != NULL) {
		WaitForThreadpoolWorkCallbacks(work, FALSE);
		CloseThreadpoolWork(work);
	}
}
