/* lb_broker: request handling shared by the POSIX daemon and the Windows
 * service. One entry point, a handler per request type, and on every path
 * an audit record before the signed answer. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_broker.h"
#include "lb_index.h"
#include "lb_str.h"

/* ---- replay cache: (key, nonce) pairs seen within the clock window ----
 *
 * Each pair is kept as a 64-bit SipHash fingerprint under a per-process
 * secret salt (24 bytes a pair instead of 64): a client cannot aim
 * collisions, and a chance collision (about n / 2^64) refuses a fresh
 * request, never accepts a replay.
 *
 * Memory is capped per key and in all. Each enrolled key has its own
 * share (LB_REPLAY_KEY_MAX live pairs) and its own FLOOR: past its share,
 * its oldest seconds are dropped and its floor rises past them, so its
 * requests signed before the floor are refused as stale; other keys'
 * pairs are never touched by it. A floor never passes the current time:
 * requests stamped ahead of the clock (up to max_clock_skew_s) cannot push
 * it into the future, where every request signed now would be "stale"
 * (issue 13). A key whose share is full of pairs stamped now or later is
 * refused as busy (LB_E_RATE) until time passes. Past LB_REPLAY_MAX pairs
 * in all, the key holding the most is trimmed the same way, and past
 * LB_REPLAY_HARD new pairs are refused as busy: whoever fills the cache
 * pays for it first. */

#define LB_REPLAY_KEY_MAX 8192    /* live pairs per key */
#define LB_REPLAY_MAX 32768       /* live pairs in all before the biggest share is cut */
#define LB_REPLAY_HARD 65536      /* live pairs in all, never more (the table <= 6 MiB) */

struct lb_replay_slot {
	uint64_t fp;              /* 0: free (a zero fingerprint is stored as 1) */
	uint64_t ts;
	uint32_t owner;           /* index into lb_replay.owners */
};

struct lb_replay_owner {
	uint8_t key[LB_PK_BYTES];
	uint64_t floor;           /* this key's requests signed before it are stale */
	uint64_t full_until;      /* its share could not be cut: no new try before this second */
	size_t n;                 /* its live pairs */
};

struct lb_replay {
	struct lb_replay_slot *slots;
	size_t nslots, n;        /* nslots a power of two, n <= nslots / 2 */
	struct lb_replay_owner *owners;
	size_t n_owners, cap_owners;
	uint8_t salt[LB_SHORTHASH_KEY_BYTES];
};

static uint64_t
lb_replay_fp(const struct lb_replay *rp, const uint8_t key[LB_PK_BYTES],
    const uint8_t nonce[LB_NONCE_BYTES])
{
	uint8_t in[LB_PK_BYTES + LB_NONCE_BYTES];
	uint64_t fp;

	memcpy(in, key, LB_PK_BYTES);
	memcpy(in + LB_PK_BYTES, nonce, LB_NONCE_BYTES);
	fp = lb_keyed_hash64(rp->salt, in, sizeof(in));
	return fp != 0 ? fp : 1;
}

static struct lb_replay_slot *
lb_replay_find(const struct lb_replay *rp, uint64_t fp)
{
	size_t i;

	for (i = (size_t)(fp >> 7) & (rp->nslots - 1); rp->slots[i].fp != 0; i = (i + 1) & (rp->nslots - 1))
		if (rp->slots[i].fp == fp)
			return &rp->slots[i];
	return &rp->slots[i];
}

/* KEY's owner record, made if new. Only enrolled keys get here (status
 * requests from unenrolled keys are not remembered), so the list is as
 * long as the policy's [key:] sections at most. */
static int
lb_replay_owner_of(struct lb_replay *rp, const uint8_t key[LB_PK_BYTES], uint32_t *out)
{
	struct lb_replay_owner *no;
	size_t i;

	for (i = 0; i < rp->n_owners; i++)
		if (memcmp(rp->owners[i].key, key, LB_PK_BYTES) == 0) {
			*out = (uint32_t)i;
			return LB_OK;
		}
	if (rp->n_owners >= UINT32_MAX)
		return LB_E_NOMEM;
	if (rp->n_owners == rp->cap_owners) {
		size_t ncap = rp->cap_owners ? rp->cap_owners * 2 : 16;

		if ((no = realloc(rp->owners, ncap * sizeof(*no))) == NULL)
			return LB_E_NOMEM;
		rp->owners = no;
		rp->cap_owners = ncap;
	}
	no = &rp->owners[rp->n_owners];
	memset(no, 0, sizeof(*no));
	memcpy(no->key, key, LB_PK_BYTES);
	*out = (uint32_t)rp->n_owners++;
	return LB_OK;
}

static int
lb_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether slot E is still live: not older than OLDEST, nor than its
 * owner's floor. */
static int
lb_replay_live(const struct lb_replay *rp, const struct lb_replay_slot *e, uint64_t oldest)
{
	return e->fp != 0 && e->ts >= oldest && e->ts >= rp->owners[e->owner].floor;
}

/* Rebuild into a table big enough for the live entries, dropping those
 * older than OLDEST (they would be refused as stale anyway) or below
 * their owner's floor, and counting each owner's share afresh. */
static int
lb_replay_rehash(struct lb_replay *rp, uint64_t oldest)
{
	struct lb_replay nr = *rp;
	size_t i, live = 0;

	for (i = 0; i < rp->nslots; i++)
		live += (size_t)lb_replay_live(rp, &rp->slots[i], oldest);
	for (nr.nslots = 1024; nr.nslots < live * 4; nr.nslots *= 2)
		;
	if ((nr.slots = calloc(nr.nslots, sizeof(*nr.slots))) == NULL)
		return LB_E_NOMEM;
	nr.n = 0;
	for (i = 0; i < rp->n_owners; i++)
		rp->owners[i].n = 0;
	for (i = 0; i < rp->nslots; i++) {
		const struct lb_replay_slot *e = &rp->slots[i];

		if (lb_replay_live(rp, e, oldest)) {
			*lb_replay_find(&nr, e->fp) = *e;
			rp->owners[e->owner].n++;
			nr.n++;
		}
	}
	free(rp->slots);
	rp->slots = nr.slots;
	rp->nslots = nr.nslots;
	rp->n = nr.n;
	return LB_OK;
}

/* Cut owner O's share to half of LB_REPLAY_KEY_MAX or less: its floor
 * rises to the lowest timestamp that keeps that many (a whole second is
 * kept or dropped, so "signed before the floor is stale" holds exactly),
 * but never past NOW. *CUT := whether anything was dropped. */
static int
lb_replay_trim(struct lb_replay *rp, uint32_t o, uint64_t oldest, uint64_t now, int *cut)
{
	struct lb_replay_owner *ow = &rp->owners[o];
	const size_t keep = LB_REPLAY_KEY_MAX / 2;
	uint64_t *ts, floor;
	size_t i, k = 0, before = ow->n;
	int r;

	*cut = 0;
	if (ow->n <= keep)
		return LB_OK;
	if ((ts = malloc(ow->n * sizeof(*ts))) == NULL)
		return LB_E_NOMEM;
	for (i = 0; i < rp->nslots && k < ow->n; i++)
		if (rp->slots[i].owner == o && lb_replay_live(rp, &rp->slots[i], oldest))
			ts[k++] = rp->slots[i].ts;
	if (k <= keep) {
		free(ts);
		return LB_OK;
	}
	qsort(ts, k, sizeof(*ts), lb_u64_cmp);
	/* the newest KEEP, then up to the next whole second */
	floor = ts[k - keep];
	if (floor < UINT64_MAX)
		floor += ts[k - keep - 1] == floor;   /* that second is split: drop it all */
	free(ts);
	if (floor > now)
		floor = now;   /* never into the future */
	if (floor > ow->floor)
		ow->floor = floor;
	if ((r = lb_replay_rehash(rp, oldest)) != LB_OK)
		return r;
	*cut = rp->owners[o].n < before;
	return LB_OK;
}

/* The owner holding the most pairs. */
static uint32_t
lb_replay_biggest(const struct lb_replay *rp)
{
	size_t i, best = 0;

	for (i = 1; i < rp->n_owners; i++)
		if (rp->owners[i].n > rp->owners[best].n)
			best = i;
	return (uint32_t)best;
}

/* LB_OK and remember the pair; LB_E_REPLAY if it was seen; LB_E_STALE if
 * it was signed before its key's floor; LB_E_RATE (busy) if its key's
 * share, or the whole cache, is full of pairs that cannot be dropped yet. */
static int
lb_replay_check_add(struct lb_replay *rp, const uint8_t key[LB_PK_BYTES],
    const uint8_t nonce[LB_NONCE_BYTES], uint64_t ts, uint64_t oldest, uint64_t now)
{
	struct lb_replay_slot *e;
	uint64_t fp = lb_replay_fp(rp, key, nonce);
	uint32_t o, big;
	int r, cut;

	if ((r = lb_replay_owner_of(rp, key, &o)) != LB_OK)
		return r;
	if (ts < rp->owners[o].floor)
		return LB_E_STALE;
	e = lb_replay_find(rp, fp);
	if (e->fp != 0 && lb_replay_live(rp, e, oldest))
		return LB_E_REPLAY;
	if (rp->owners[o].n + 1 > LB_REPLAY_KEY_MAX) {
		/* One try a second: a share that cannot be cut stays full
		 * until time passes, and trying costs a sort. */
		if (rp->owners[o].full_until > now)
			return LB_E_RATE;
		if ((r = lb_replay_trim(rp, o, oldest, now, &cut)) != LB_OK)
			return r;
		if (rp->owners[o].n + 1 > LB_REPLAY_KEY_MAX) {
			rp->owners[o].full_until = now + 1;
			return LB_E_RATE;
		}
		if (ts < rp->owners[o].floor)
			return LB_E_STALE;
	}
	if (rp->n + 1 > rp->nslots / 2 && (r = lb_replay_rehash(rp, oldest)) != LB_OK)
		return r;
	if (rp->n + 1 > LB_REPLAY_MAX) {
		big = lb_replay_biggest(rp);
		if (rp->owners[big].full_until <= now) {
			if ((r = lb_replay_trim(rp, big, oldest, now, &cut)) != LB_OK)
				return r;
			if (!cut)
				rp->owners[big].full_until = now + 1;
		}
		if (ts < rp->owners[o].floor)
			return LB_E_STALE;
		if (rp->n + 1 > LB_REPLAY_HARD || (rp->n + 1 > LB_REPLAY_MAX && o == big))
			return LB_E_RATE;
	}
	e = lb_replay_find(rp, fp);   /* the table may have been rebuilt */
	if (e->fp != 0) {
		/* a dead pair (below a floor or the window) in its place: the
		 * shares count the slots each key holds in the table */
		if (rp->owners[e->owner].n > 0)
			rp->owners[e->owner].n--;
	} else {
		rp->n++;
	}
	e->fp = fp;
	e->ts = ts;
	e->owner = o;
	rp->owners[o].n++;
	return LB_OK;
}

/* ---- rate limit: a token bucket per OS identity ----
 *
 * Kept in thousandths of a token and milliseconds, so that a refusal can
 * say how long until the next token (the busy answer's retry time) and a
 * client that waits that long is served: pacing, not failing lines. */

struct lb_bucket {
	char id[sizeof(((struct lb_peer *)0)->id)];
	uint64_t last;      /* milliseconds */
	int64_t milli;      /* tokens x 1000; below 0: a batch's debt */
};

struct lb_rates {
	struct lb_bucket *v;
	size_t n, cap;
};

static struct lb_bucket *
lb_rate_find(const struct lb_rates *rt, const char *id)
{
	size_t i;

	for (i = 0; i < rt->n; i++)
		if (strcmp(rt->v[i].id, id) == 0)
			return &rt->v[i];
	return NULL;
}

/* B's tokens (x 1000) at NOW, refilled at PER_SEC up to BURST (a debt
 * is paid first). */
static int64_t
lb_rate_level(const struct lb_bucket *b, uint64_t now, uint32_t per_sec, uint32_t burst)
{
	const int64_t full = (int64_t)burst * 1000;
	int64_t m = b->milli > full ? full : b->milli;   /* a reload lowered the burst */
	uint64_t dt;

	if (now <= b->last)
		return m;
	dt = now - b->last;
	if (dt >= (uint64_t)(full - m) / per_sec + 1)
		return full;
	m += (int64_t)dt * per_sec;   /* PER_SEC tokens a second = PER_SEC thousandths a ms */
	return m > full ? full : m;
}

/* Milliseconds until a bucket at MILLI has a whole token. */
static uint32_t
lb_rate_wait(int64_t milli, uint32_t per_sec)
{
	uint64_t ms = milli >= 1000 ? 0 : ((uint64_t)(1000 - milli) + per_sec - 1) / per_sec;

	if (ms == 0)
		ms = 1;
	return ms > LB_BUSY_RETRY_MAX_MS ? LB_BUSY_RETRY_MAX_MS : (uint32_t)ms;
}

/* N tokens of ID's bucket at NOW (milliseconds), or LB_E_RATE with
 * *RETRY_MS the wait until there is one. A batch of N links is admitted
 * whole when the bucket holds one token, and owes the rest (at most
 * LB_BATCH_MAX - 1): every link counts, none is refused for the batch's
 * size, and the identity's next requests wait until the debt is paid. */
static int
lb_rate_take(struct lb_rates *rt, const char *id, uint64_t now, uint32_t per_sec,
    uint32_t burst, size_t n, uint32_t *retry_ms)
{
	struct lb_bucket *b, *nv;

	*retry_ms = 0;
	if ((b = lb_rate_find(rt, id)) == NULL) {
		if (rt->n == rt->cap) {
			size_t ncap = rt->cap ? rt->cap * 2 : 16;

			if ((nv = realloc(rt->v, ncap * sizeof(*nv))) == NULL)
				return LB_E_NOMEM;
			rt->v = nv;
			rt->cap = ncap;
		}
		b = &rt->v[rt->n++];
		memset(b, 0, sizeof(*b));
		snprintf(b->id, sizeof(b->id), "%s", id);
		b->last = now;
		b->milli = (int64_t)burst * 1000;
	}
	b->milli = lb_rate_level(b, now, per_sec, burst);
	b->last = now;   /* the clock went back: refill from here, never stall */
	if (b->milli < 1000) {
		*retry_ms = lb_rate_wait(b->milli, per_sec);
		return LB_E_RATE;
	}
	b->milli -= (int64_t)(n > LB_BATCH_MAX ? LB_BATCH_MAX : n) * 1000;
	return LB_OK;
}

/* Whether ID's bucket would give a token now (nothing taken); if not,
 * *RETRY_MS (may be NULL) the wait until it would. */
static int
lb_rate_room(const struct lb_rates *rt, const char *id, uint64_t now, uint32_t per_sec,
    uint32_t burst, uint32_t *retry_ms)
{
	const struct lb_bucket *b = lb_rate_find(rt, id);
	int64_t m;

	if (b == NULL)
		return 1;   /* a new identity starts with a full bucket */
	m = lb_rate_level(b, now, per_sec, burst);
	if (m >= 1000)
		return 1;
	if (retry_ms != NULL)
		*retry_ms = lb_rate_wait(m, per_sec);
	return 0;
}

/* ---- the broker ---- */

/* One identity's audit budget for refused requests (LB_AUDIT_BUDGET_*). */
struct lb_budget {
	char id[128];
	char *user, *sid;               /* for its summary record */
	uint64_t window;                /* when its window started */
	uint64_t used;                  /* bytes of records in it */
	uint64_t held;                  /* refused requests not recorded one by one */
};

/* The audit log cannot be written (docs/audit.md, "Failures"). */
struct lb_audit_down {
	int down;
	uint64_t since, reported;       /* when it started, when last said */
	uint64_t refused, total;        /* requests refused since then / in all */
};

/* A policy and the requests admitted under it: a reload switches the
 * broker at once, and the old policy is freed with the last request that
 * uses it (its key entry and rule are pointed into until the answer is
 * sealed; a request may wait on a slow file system meanwhile). */
struct lb_polref {
	struct lb_policy *policy;
	size_t refs;                    /* the broker's, if current, and requests' */
};

struct lb_broker {
	struct lb_polref *pol;          /* the current policy */
	size_t pols_kept;               /* earlier ones still in use */
	uint8_t sk[LB_SK_BYTES];
	struct lb_audit *audit;
	const struct lb_fs_ops *fs;
	struct lb_replay replay;
	struct lb_rates rates;
	struct lb_rates rejects;        /* pre-authentication refusals */
	struct lb_budget *budgets;      /* LB_AUDIT_BUDGET_IDS of them */
	size_t n_budgets;
	struct lb_audit_down down;
	/* The log's last records are "made" ones from MADE_FROM to MADE_TO
	 * (0: not so): lb_broker_flush need not sync for them. */
	uint64_t made_from, made_to;
	uint64_t last_now;              /* the latest request's time */
	struct lb_index *index;         /* the links made and not removed (list, rm) */
	struct lb_index_job *job;       /* its start-up read, while it runs */
	int index_ready;                /* no such read in progress */
	int index_rc;                   /* how the last one went */
};

int
lb_broker_new(struct lb_policy *policy, const uint8_t sk[LB_SK_BYTES],
    struct lb_audit *audit, const struct lb_fs_ops *fs, struct lb_broker **out)
{
	struct lb_broker *b;

	*out = NULL;
	if (policy == NULL || audit == NULL || fs == NULL)
		return LB_E_INVAL;
	/* Checked once here: the answers are signed with lb_sign_prepared. */
	if (lb_sk_check(sk) != LB_OK)
		return LB_E_INVAL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return LB_E_NOMEM;
	if ((b->budgets = calloc(LB_AUDIT_BUDGET_IDS, sizeof(*b->budgets))) == NULL) {
		free(b);
		return LB_E_NOMEM;
	}
	b->replay.nslots = 1024;
	if ((b->replay.slots = calloc(b->replay.nslots, sizeof(*b->replay.slots))) == NULL) {
		free(b->budgets);
		free(b);
		return LB_E_NOMEM;
	}
	lb_random(b->replay.salt, sizeof(b->replay.salt));
	if ((b->pol = calloc(1, sizeof(*b->pol))) == NULL) {
		free(b->replay.slots);
		free(b->budgets);
		free(b);
		return LB_E_NOMEM;
	}
	if (lb_index_new(policy->flavor, &b->index) != LB_OK) {
		free(b->pol);
		free(b->replay.slots);
		free(b->budgets);
		free(b);
		return LB_E_NOMEM;
	}
	b->pol->policy = policy;
	b->pol->refs = 1;
	b->index_ready = 1;
	memcpy(b->sk, sk, LB_SK_BYTES);
	b->audit = audit;
	b->fs = fs;
	*out = b;
	return LB_OK;
}

/* Drop a reference to R (NULL: none); the last one frees it. */
static void
lb_polref_drop(struct lb_broker *b, struct lb_polref *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	if (r != b->pol)
		b->pols_kept--;
	lb_policy_free(r->policy);
	free(r);
}

int
lb_broker_set_policy(struct lb_broker *b, struct lb_policy *policy)
{
	struct lb_polref *r, *old = b->pol;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return LB_E_NOMEM;   /* POLICY stays the caller's */
	r->policy = policy;
	r->refs = 1;
	b->pol = r;
	if (old->refs > 1)
		b->pols_kept++;
	lb_polref_drop(b, old);
	return LB_OK;
}

const struct lb_policy *
lb_broker_policy(const struct lb_broker *b)
{
	return b->pol->policy;
}

size_t
lb_broker_policies_kept(const struct lb_broker *b)
{
	return b->pols_kept;
}

void
lb_broker_remember(void *broker, const uint8_t key[LB_PK_BYTES],
    const uint8_t nonce[LB_NONCE_BYTES], uint64_t timestamp)
{
	struct lb_broker *b = broker;

	/* Best effort at start-up: an entry that does not fit is a request
	 * older than the window by the time it could be replayed. */
	(void)lb_replay_check_add(&b->replay, key, nonce, timestamp, 0, timestamp);
}

static void lb_index_job_drop(struct lb_index_job *j);

void
lb_broker_free(struct lb_broker *b)
{
	if (b == NULL)
		return;
	lb_polref_drop(b, b->pol);
	lb_wipe(b->sk, sizeof(b->sk));
	free(b->replay.slots);
	free(b->replay.owners);
	free(b->rates.v);
	free(b->rejects.v);
	for (size_t i = 0; i < b->n_budgets; i++) {
		free(b->budgets[i].user);
		free(b->budgets[i].sid);
	}
	free(b->budgets);
	lb_index_free(b->index);
	lb_index_job_drop(b->job);   /* a read still running frees it when done */
	free(b);
}

/* What one request turns into, filled step by step; one function writes
 * the audit record and the answer from it. */
struct lb_outcome {
	const char *event;                /* "create" "check" "status" "reject" */
	int status;                       /* LB_OK or LB_E_* */
	struct lb_decision d;
	const struct lb_key_entry *key;
	struct lb_path link_res, target_res;
	struct lb_buf msg;                /* text for the client and the log */
	void *dir;                        /* open parent, kept until created */
	int dir_borrowed;                 /* DIR is a batch's (lb_dircache), not closed here */
	/* An allowed create, made only once its decision is in the log. */
	int pending;
	char *name;                       /* link name in DIR */
	char *made;                       /* what the link points at */
	void *file;                       /* hard links: the open target */
	char file_id[LB_FILE_ID_MAX];     /* once made: its identity ("" unknown) */
	/* A remove: what the broker made there (kind and target go in its
	 * records in place of the request's, which has neither). */
	enum lb_kind rm_kind;             /* LB_KIND_NONE: not a remove decided on an entry */
	char *rm_target;
	/* A list: its page (the answer's message; the record says how many)
	 * and the cursor of the next page ("" after the last). */
	struct lb_buf *page;
	char cursor[24];
};

/* Messages are best effort: one that does not fit is cut; the status code
 * still says what happened. */
static void lb_say(struct lb_buf *b, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void
lb_say(struct lb_buf *b, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (lb_buf_put_cstr(b, tmp) != LB_OK)
		return;
}

static const char *
lb_event_of(uint8_t type)
{
	switch (type) {
	case LB_MSG_CREATE:
		return "create";
	case LB_MSG_CHECK:
		return "check";
	case LB_MSG_STATUS:
		return "status";
	case LB_MSG_BATCH:
		return "batch";
	case LB_MSG_REMOVE:
		return "remove";
	case LB_MSG_LIST:
		return "list";
	default:
		return "reject";
	}
}

/* Is KEY enrolled for the very identity the OS reports? */
static int
lb_key_matches_peer(const struct lb_policy *p, const struct lb_key_entry *k,
    const struct lb_peer *peer)
{
	if (k->user != NULL)
		return lb_policy_names_user(p, k->user, &peer->who);
	if (k->sid != NULL)
		return peer->who.sid != NULL && strlen(k->sid) == strlen(peer->who.sid) &&
		    lb_ascii_ncasecmp(k->sid, peer->who.sid, strlen(k->sid)) == 0;
	return 0;
}

/* A failure R as the client reads it in MSG, and its code in *STATUS: bad
 * input names the path WHAT ("link path: ..."), an operation is prefixed
 * with WHAT as it stands. */
static void
lb_failed(struct lb_buf *msg, int *status, int input, const char *what, int r)
{
	lb_buf_reset(msg);
	if (input)
		lb_say(msg, "%s: %s", what,
		    r == LB_E_INVAL ? "the link path must name a file below a root" : lb_strerror(r));
	else
		lb_say(msg, "%s%s", what, lb_strerror(r));
	*status = r;
}

static void
lb_fail_input(struct lb_outcome *o, const char *which, int r)
{
	lb_failed(&o->msg, &o->status, 1, which, r);
}

static void
lb_fail_op(struct lb_outcome *o, const char *what, int r)
{
	lb_failed(&o->msg, &o->status, 0, what, r);
}

/* The parent folders a batch opened, each once: its entries in one folder
 * share the handle (still decided on the handle's final path). */
struct lb_dirent {
	char *lex;                        /* the lexical parent, canonical */
	int rc;                           /* open_parent's result */
	void *dir;
	struct lb_path res;
};

/* A target a batch's entry resolved: the next entries with the same text
 * from the same folder get the same result (LB_TGT_RECENT of them kept:
 * batches repeat targets line after line). */
#define LB_TGT_RECENT 8
struct lb_tgtent {
	const void *dir;                  /* the folder handle it was resolved from */
	int at;                           /* resolve_target_at (else resolve_target) */
	char *text;
	int rc;
	struct lb_path res;
};

struct lb_dircache {
	const struct lb_fs_ops *fs;
	struct lb_dirent *v;
	size_t n, cap;
	struct lb_tgtent tgt[LB_TGT_RECENT];
	size_t tgt_next;
};

static void
lb_dircache_free(struct lb_dircache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		if (c->v[i].dir != NULL)
			c->fs->close(c->v[i].dir);
		lb_path_free(&c->v[i].res);
		free(c->v[i].lex);
	}
	for (i = 0; i < LB_TGT_RECENT; i++) {
		free(c->tgt[i].text);
		lb_path_free(&c->tgt[i].res);
	}
	free(c->v);
	free(c);
}

/* A link request's file-system work (lb_broker.h): inputs copied, so that
 * it can run on another thread and outlive nothing of the broker's. A
 * batch's is one per entry under one (SUB), run in order on one thread,
 * sharing CACHE. */
struct lb_fswork {
	struct lb_fswork **sub;           /* a batch's entries (N_SUB), or NULL */
	size_t n_sub;
	struct lb_dircache *cache;        /* a batch's folders (the batch's work owns it) */
	int dir_borrowed;                 /* DIR is CACHE's */
	const struct lb_fs_ops *fs;
	const struct lb_peer *peer;
	enum lb_flavor flavor;
	enum lb_kind kind;
	int remove;                       /* a remove: the link's folder only, no target */
	char *link, *target;              /* as received (may hold NULs: lengths rule) */
	size_t link_len, target_len;
	/* results */
	int status;                       /* LB_OK, or the failure with MSG */
	struct lb_buf msg;
	void *dir, *file;
	struct lb_path link_res, target_res;
	char *name;                       /* the link's last component */
};

void
lb_fswork_free(struct lb_fswork *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n_sub; i++)
		lb_fswork_free(w->sub[i]);
	free(w->sub);
	if (w->sub != NULL || w->n_sub > 0)
		lb_dircache_free(w->cache);
	if (w->file != NULL)
		w->fs->close(w->file);
	if (w->dir != NULL && !w->dir_borrowed)
		w->fs->close(w->dir);
	lb_path_free(&w->link_res);
	lb_path_free(&w->target_res);
	lb_buf_free(&w->msg);
	free(w->name);
	free(w->link);
	free(w->target);
	free(w);
}

static void
lb_work_fail_input(struct lb_fswork *w, const char *which, int r)
{
	lb_failed(&w->msg, &w->status, 1, which, r);
}

static void
lb_work_fail_op(struct lb_fswork *w, const char *what, int r)
{
	lb_failed(&w->msg, &w->status, 0, what, r);
}

/* LINK's folder (LEX its lexical path) opened as the client: *RES its
 * final path; W->dir the handle, a batch's shared one if an earlier entry
 * opened it (or failed to, with the same result). */
static int
lb_open_parent_via(struct lb_fswork *w, const struct lb_path *link, const struct lb_path *lex,
    struct lb_path *res)
{
	struct lb_dircache *c = w->cache;
	struct lb_dirent *e = NULL, *nv;
	size_t i;

	if (c == NULL)
		return w->fs->open_parent(w->peer, link, &w->dir, res);
	for (i = 0; i < c->n && e == NULL; i++)
		if (strcmp(c->v[i].lex, lex->s) == 0)
			e = &c->v[i];
	if (e == NULL) {
		if (c->n == c->cap) {
			size_t ncap = c->cap ? c->cap * 2 : 8;

			if ((nv = realloc(c->v, ncap * sizeof(*nv))) == NULL)
				return LB_E_NOMEM;
			c->v = nv;
			c->cap = ncap;
		}
		e = &c->v[c->n];
		memset(e, 0, sizeof(*e));
		if ((e->lex = lb_strdup(lex->s)) == NULL)
			return LB_E_NOMEM;
		c->n++;
		e->rc = w->fs->open_parent(w->peer, link, &e->dir, &e->res);
	}
	if (e->rc != LB_OK)
		return e->rc;
	w->dir = e->dir;
	w->dir_borrowed = 1;
	return lb_path_copy(&e->res, res);
}

/* W's target TEXT resolved as the client (AT: from W's folder, by
 * resolve_target_at; else TARGET by resolve_target), or a batch's earlier
 * entry's result for the same text from the same folder. */
static int
lb_resolve_via(struct lb_fswork *w, int at, const char *text, const struct lb_path *target,
    struct lb_path *res)
{
	struct lb_dircache *c = w->cache;
	struct lb_tgtent *e;
	size_t i;
	int r;

	if (c != NULL) {
		for (i = 0; i < LB_TGT_RECENT; i++) {
			e = &c->tgt[i];
			if (e->text != NULL && e->at == at && e->dir == (at ? w->dir : NULL) &&
			    strcmp(e->text, text) == 0)
				return e->rc == LB_OK ? lb_path_copy(&e->res, res) : e->rc;
		}
	}
	r = at ? w->fs->resolve_target_at(w->peer, w->dir, text, res) :
	    w->fs->resolve_target(w->peer, target, res);
	if (c != NULL) {
		e = &c->tgt[c->tgt_next];
		free(e->text);
		lb_path_free(&e->res);
		memset(e, 0, sizeof(*e));
		if ((e->text = lb_strdup(text)) != NULL) {
			e->dir = at ? w->dir : NULL;
			e->at = at;
			e->rc = r;
			if (r != LB_OK || lb_path_copy(res, &e->res) == LB_OK)
				c->tgt_next = (c->tgt_next + 1) % LB_TGT_RECENT;
			else {
				free(e->text);
				e->text = NULL;
			}
		}
	}
	return r;
}

static void lb_fswork_run_one(struct lb_fswork *w);

/* A request's paths, or a batch's entries in order, as the client for
 * all of them at once where the platform can hold its credentials: one
 * switch per task, not one per open. */
void
lb_fswork_run(struct lb_fswork *w)
{
	size_t i;
	int held;

	held = w->fs->hold != NULL && w->fs->hold(w->peer) == LB_OK;
	if (w->sub == NULL)
		lb_fswork_run_one(w);
	else
		for (i = 0; i < w->n_sub; i++)
			lb_fswork_run_one(w->sub[i]);
	if (held)
		w->fs->release();
}

/* The file-system half of a link request: canonical paths, the link's
 * folder and a hard link's target opened as the client, the paths to
 * decide on. Decide on what the paths are, not on what they say. */
static void
lb_fswork_run_one(struct lb_fswork *w)
{
	const enum lb_kind kind = w->kind;
	struct lb_path link = { 0 }, parent = { 0 }, name = { 0 }, target = { 0 }, lex = { 0 };
	struct lb_path lexp;
	size_t skip;
	int r;

	w->status = LB_OK;
	if ((r = lb_path_canon(w->flavor, w->link, w->link_len, &link)) != LB_OK ||
	    (r = lb_path_require_absolute(&link)) != LB_OK) {
		lb_work_fail_input(w, "link path", r);
		goto out;
	}
	if (link.len == link.root_len || lb_path_parent(&link, &parent) != LB_OK) {
		lb_work_fail_input(w, "link path", LB_E_INVAL);
		goto out;
	}
	/* A share is another machine's file system: never opened for a link
	 * (the policy's floor refuses it anyway; this spares the network). */
	if (link.root == LB_ROOT_UNC) {
		lb_work_fail_op(w, "", LB_E_REMOTE);
		goto out;
	}
	/* The last component, as a relative path, joins the resolved parent. */
	skip = parent.len + (parent.len > parent.root_len);
	if ((r = lb_path_canon(w->flavor, link.s + skip, link.len - skip, &name)) != LB_OK) {
		lb_work_fail_input(w, "link path", r);
		goto out;
	}
	if (!w->remove && ((r = lb_path_canon(w->flavor, w->target, w->target_len, &target)) != LB_OK ||
	    (kind == LB_KIND_HARDLINK && (r = lb_path_require_absolute(&target)) != LB_OK))) {
		lb_work_fail_input(w, "target path", r);
		goto out;
	}
	lexp = parent;
	memset(&parent, 0, sizeof(parent));
	r = lb_open_parent_via(w, &link, &lexp, &parent);
	lb_path_free(&lexp);
	if (r != LB_OK) {
		lb_work_fail_op(w, "cannot open the link's directory: ", r);
		goto out;
	}
	if ((r = lb_path_resolve(&parent, &name, &w->link_res)) != LB_OK) {
		lb_work_fail_input(w, "link path", r);
		goto out;
	}
	if (w->remove) {
		/* what is there is judged by the broker's index, then on removal */
	} else if (kind == LB_KIND_HARDLINK) {
		if ((r = w->fs->open_target(w->peer, &target, &w->file, &w->target_res)) != LB_OK) {
			lb_work_fail_op(w, "cannot open the target for writing: ", r);
			goto out;
		}
	} else {
		/* A junction's target is judged as given (absolute, or the
		 * policy refuses it); a symbolic link's relative target from
		 * the link's resolved folder. Then, where the platform can,
		 * what the client's file system makes of it. */
		r = kind == LB_KIND_JUNCTION ? lb_path_copy(&target, &lex) :
		    lb_path_resolve(&parent, &target, &lex);
		if (r == LB_OK && w->fs->resolve_target_at != NULL && lex.root != LB_ROOT_NONE) {
			/* a junction's ".." is lexical, as mklink /J reads it */
			r = lb_resolve_via(w, 1, kind == LB_KIND_JUNCTION ? lex.s : w->target, NULL,
			    &w->target_res);
		} else if (r == LB_OK && w->fs->resolve_target != NULL && lex.root != LB_ROOT_NONE) {
			r = lb_resolve_via(w, 0, lex.s, &lex, &w->target_res);
		} else if (r == LB_OK) {
			w->target_res = lex;   /* decided as it reads */
			memset(&lex, 0, sizeof(lex));
		}
		if (r != LB_OK && lb_exit_code(r) == LB_EXIT_BAD_INPUT) {
			lb_work_fail_input(w, "target path", r);
			goto out;
		} else if (r != LB_OK) {
			lb_work_fail_op(w, "cannot resolve the target: ", r);
			goto out;
		}
	}
	if ((w->name = lb_strdup(name.s)) == NULL)
		lb_work_fail_op(w, "", LB_E_NOMEM);
out:
	lb_path_free(&link);
	lb_path_free(&parent);
	lb_path_free(&name);
	lb_path_free(&target);
	lb_path_free(&lex);
}

/* W's handles and paths move into O; 0 if W failed (its failure then
 * O's). */
static int
lb_outcome_take(struct lb_fswork *w, struct lb_outcome *o)
{
	o->dir = w->dir;
	o->dir_borrowed = w->dir_borrowed;
	w->dir = NULL;
	o->link_res = w->link_res;
	o->target_res = w->target_res;
	memset(&w->link_res, 0, sizeof(w->link_res));
	memset(&w->target_res, 0, sizeof(w->target_res));
	if (w->status == LB_OK)
		return 1;
	lb_buf_reset(&o->msg);
	if (w->msg.len > 0 && lb_buf_put(&o->msg, w->msg.data, w->msg.len) != LB_OK)
		lb_buf_reset(&o->msg);
	o->status = w->status;
	return 0;
}

/* The policy on O's resolved paths for KIND, its decision described in
 * O's message: 1, or 0 with O's status saying why there is none. */
static int
lb_judge(const struct lb_policy *p, const struct lb_peer *peer, enum lb_kind kind,
    struct lb_outcome *o)
{
	int r;

	if ((r = lb_policy_decide(p, &peer->who, kind, &o->link_res, &o->target_res, &o->d)) != LB_OK) {
		lb_fail_input(o, "target path", r);
		return 0;
	}
	lb_buf_reset(&o->msg);
	if ((r = lb_decision_describe(&o->d, &o->msg)) != LB_OK) {
		o->status = r;
		return 0;
	}
	return 1;
}

/* Decide on W's results and, for CREATE, prepare the link; W's handles
 * and paths move into O. */
static void
lb_link_decide(const struct lb_policy *p, const struct lb_peer *peer,
    const struct lb_request *rq, struct lb_fswork *w, struct lb_outcome *o)
{
	const enum lb_kind kind = (enum lb_kind)rq->kind;
	char *made = NULL;

	if (!lb_outcome_take(w, o) || !lb_judge(p, peer, kind, o))
		goto out;
	if (o->d.verdict != LB_VERDICT_ALLOW) {
		o->status = LB_E_DENIED;
		goto out;
	}
	if (rq->type != LB_MSG_CREATE)
		goto out;
	/* Symbolic links keep the target as typed; a junction points at the
	 * absolute directory decided on; a hard link at the file opened.
	 * The link is made once this decision is in the log. */
	made = kind == LB_KIND_JUNCTION ? lb_strndup(o->target_res.s, o->target_res.len) :
	    lb_strndup(rq->target, rq->target_len);
	if (made == NULL) {
		lb_fail_op(o, "", LB_E_NOMEM);
		goto out;
	}
	o->name = w->name;
	w->name = NULL;
	o->made = made;
	o->file = w->file;
	w->file = NULL;
	made = NULL;
	o->pending = 1;
out:
	if (o->status != LB_OK)
		o->d.verdict = LB_VERDICT_DENY;
	free(made);
}

/* A remove (W its link's folder, opened as the client): allowed only for
 * a link the index says the broker made for this user at that resolved
 * path, and only where the policy would allow making it now (the same
 * kind and target, decided on the target as it was decided then). The
 * link is removed once this decision is in the log. */
static void
lb_remove_decide(const struct lb_broker *b, const struct lb_policy *p,
    const struct lb_peer *peer, struct lb_fswork *w, struct lb_outcome *o)
{
	const struct lb_index_entry *e;
	struct lb_path tres = { 0 };
	int r;

	if (!lb_outcome_take(w, o))
		goto out;
	e = lb_index_find(b->index, peer->who.sid, o->link_res.s);
	if (e == NULL || e->file[0] == '\0') {
		lb_buf_reset(&o->msg);
		lb_say(&o->msg, "%s%s", lb_strerror(LB_E_NOT_MADE), e == NULL ? "" :
		    " (its identity was not recorded when it was made, so it cannot be told apart)");
		o->status = LB_E_NOT_MADE;
		goto out;
	}
	if ((o->rm_target = lb_strdup(e->target)) == NULL) {
		lb_fail_op(o, "", LB_E_NOMEM);
		goto out;
	}
	o->rm_kind = e->kind;
	snprintf(o->file_id, sizeof(o->file_id), "%s", e->file);
	if ((r = lb_path_canon(p->flavor, e->target_resolved, strlen(e->target_resolved), &tres)) != LB_OK) {
		lb_fail_input(o, "target path", r);
		goto out;
	}
	lb_path_free(&o->target_res);
	o->target_res = tres;
	if (!lb_judge(p, peer, e->kind, o))
		goto out;
	lb_say(&o->msg, " (removing the %s made in record %llu)", lb_kind_name(e->kind),
	    (unsigned long long)e->seq);
	if (o->d.verdict != LB_VERDICT_ALLOW) {
		o->status = LB_E_DENIED;
		goto out;
	}
	o->name = w->name;
	w->name = NULL;
	o->pending = 1;
out:
	if (o->status != LB_OK)
		o->d.verdict = LB_VERDICT_DENY;
}

/* One link of a list page (docs/protocol.md, "Lists"), or with
 * TOO_LONG its seq, time and kind only. */
static int
lb_list_line(struct lb_buf *out, const struct lb_index_entry *e, int too_long)
{
	char t[LB_AUDIT_TIME_BUF];
	int r;

	if ((r = lb_audit_time_format(e->time, t)) != LB_OK ||
	    (r = lb_buf_printf(out, "{\"seq\":%llu,\"time\":\"%s\",\"kind\":\"%s\"",
	    (unsigned long long)e->seq, t, lb_kind_name(e->kind))) != LB_OK)
		return r;
	if (too_long)
		return lb_buf_put_cstr(out, ",\"too_long\":true}\n");
	if ((r = lb_buf_put_cstr(out, ",\"link\":")) != LB_OK ||
	    (r = lb_json_put_cstr(out, e->link.s)) != LB_OK ||
	    (r = lb_buf_put_cstr(out, ",\"target\":")) != LB_OK ||
	    (r = lb_json_put_cstr(out, e->target)) != LB_OK ||
	    (r = lb_buf_put_cstr(out, ",\"file\":")) != LB_OK ||
	    (r = lb_json_put_cstr(out, e->file[0] != '\0' ? e->file : NULL)) != LB_OK)
		return r;
	return lb_buf_put_cstr(out, "}\n");
}

/* A list request: one page of the links the broker made for this user,
 * from the index (no file-system work: the client looks at each link
 * itself, with its own rights). The page goes in the answer, a count in
 * the record. */
static void
lb_do_list(struct lb_broker *b, const struct lb_peer *peer, const struct lb_request *rq,
    struct lb_outcome *o)
{
	const struct lb_index_entry *e;
	struct lb_path prefix = { 0 };
	const struct lb_path *pfx = NULL;
	uint64_t after = 0, last;
	size_t n = 0, before;
	int r;

	if (rq->link_len > 0) {
		if ((r = lb_path_canon(b->pol->policy->flavor, rq->link, rq->link_len, &prefix)) != LB_OK ||
		    (r = lb_path_require_absolute(&prefix)) != LB_OK) {
			lb_fail_input(o, "list prefix", r);
			goto out;
		}
		pfx = &prefix;
	}
	/* a cursor: the seq of the last link of the page before */
	if (rq->target_len > 0 && lb_json_uint_text(rq->target, rq->target_len, UINT64_MAX,
	    &after) != LB_OK) {
		lb_fail_input(o, "list cursor", LB_E_BAD_FIELD);
		goto out;
	}
	if ((o->page = calloc(1, sizeof(*o->page))) == NULL) {
		lb_fail_op(o, "", LB_E_NOMEM);
		goto out;
	}
	lb_buf_init(o->page, LB_LIST_PAGE_MAX + 4096);
	last = after;
	for (e = lb_index_next(b->index, peer->who.sid, after, pfx); e != NULL;
	    e = lb_index_next(b->index, peer->who.sid, e->seq, pfx)) {
		before = o->page->len;
		if (lb_list_line(o->page, e, 0) == LB_OK && o->page->len <= LB_LIST_PAGE_MAX) {
			n++;
			last = e->seq;
			continue;
		}
		o->page->len = before;
		/* a link whose paths alone fill a page: listed without them */
		if (n == 0 && lb_list_line(o->page, e, 1) == LB_OK) {
			n++;
			last = e->seq;
			e = lb_index_next(b->index, peer->who.sid, e->seq, pfx);
		}
		break;
	}
	if (e != NULL && n == 0) {   /* never a page that does not move on */
		lb_fail_op(o, "", LB_E_NOMEM);
		goto out;
	}
	if (e != NULL)   /* more: the next page starts past the last one listed */
		snprintf(o->cursor, sizeof(o->cursor), "%llu", (unsigned long long)last);
	lb_buf_reset(&o->msg);
	lb_say(&o->msg, "listed %llu links%s", (unsigned long long)n, e != NULL ? "; more on the next page" : "");
	o->d.verdict = LB_VERDICT_ALLOW;
out:
	lb_path_free(&prefix);
}

static void
lb_do_status(struct lb_broker *b, const struct lb_peer *peer, struct lb_outcome *o)
{
	lb_buf_reset(&o->msg);
	lb_say(&o->msg, "you are %s (%s %s); ", peer->who.user != NULL ? peer->who.user : "?",
	    b->pol->policy->flavor == LB_FLAVOR_WINDOWS ? "SID" : "uid",
	    peer->who.sid != NULL ? peer->who.sid : "?");
	if (o->key != NULL) {
		lb_say(&o->msg, "your key is enrolled as [key:%s]", o->key->name);
		o->d.verdict = LB_VERDICT_ALLOW;
	} else {
		/* Answered (the client learns who it is) but not a yes. */
		lb_say(&o->msg, "your key is not enrolled for you in the policy");
		o->status = LB_E_KEY_UNKNOWN;
	}
}

/* Refused before the client was authenticated: nothing about the request
 * can be trusted, so it is logged in a bounded form on its own budget. */
static int
lb_preauth(const struct lb_outcome *o, int decoded)
{
	/* A status request from a key nobody enrolled counts here too: any
	 * local user can make up keys, and each such answer is an audit and a
	 * syslog line (issue 13: about 4,000 a second before). */
	return !decoded || o->status == LB_E_SIG ||
	    (o->status == LB_E_KEY_UNKNOWN && o->key == NULL);
}

/* One of the broker's own events (no record's fields). */
static void
lb_event(const struct lb_broker *b, enum lb_event_id id, const char *text)
{
	struct lb_event ev;

	if (b->fs->event == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.id = id;
	ev.text = text;
	b->fs->event(&ev);
}

static void lb_index_job_take(struct lb_broker *b);

/* ---- the audit log cannot be written: refuse, and say so rarely ---- */

/* A failed append or sync (REQUEST: 1 if a request is refused for it). */
static void
lb_down_note(struct lb_broker *b, uint64_t now, int request)
{
	struct lb_audit_down *dn = &b->down;
	char line[512];

	if (!dn->down) {
		memset(dn, 0, sizeof(*dn));
		dn->down = 1;
		dn->since = dn->reported = now;
		dn->refused = dn->total = (uint64_t)request;
		snprintf(line, sizeof(line), "audit log cannot be written (%s): refusing every request "
		    "until it can (said again once a minute)", lb_audit_why(b->audit));
		lb_event(b, LB_EVENT_AUDIT_FAILED, line);
		return;
	}
	dn->refused += (uint64_t)request;
	dn->total += (uint64_t)request;
	if (dn->refused > 0 && (now >= dn->reported + LB_AUDIT_DOWN_REPORT_S || now < dn->reported)) {
		snprintf(line, sizeof(line), "audit log still cannot be written (%s): %llu requests "
		    "refused in the last %llu s", lb_audit_why(b->audit), (unsigned long long)dn->refused,
		    (unsigned long long)(now > dn->reported ? now - dn->reported : 0));
		lb_event(b, LB_EVENT_AUDIT_FAILED, line);
		dn->reported = now;
		dn->refused = 0;
	}
}

/* An append worked: if the log had failed, say that it is over. */
static void
lb_down_over(struct lb_broker *b, uint64_t now)
{
	struct lb_audit_down *dn = &b->down;
	char line[256];

	if (!dn->down)
		return;
	snprintf(line, sizeof(line), "audit log can be written again after %llu s: %llu requests "
	    "were refused meanwhile", (unsigned long long)(now > dn->since ? now - dn->since : 0),
	    (unsigned long long)dn->total);
	lb_event(b, LB_EVENT_AUDIT_RESTORED, line);
	dn->down = 0;
}

static void lb_event_rec(const struct lb_broker *b, const char *id,
    const struct lb_audit_rec *rec, uint64_t seq, enum lb_event_id eid, const char *text);

/* ---- per-identity audit budget for refused requests ---- */

/* B's summary record for G (its held requests), if any. */
static void
lb_budget_report(struct lb_broker *b, struct lb_budget *g, uint64_t now)
{
	struct lb_audit_rec rec;
	uint64_t seq;
	char reason[512];

	if (g->held == 0)
		return;
	snprintf(reason, sizeof(reason), "%llu refused requests from %s in the %u s from Unix time %llu "
	    "were not recorded one by one: over the audit budget of %u bytes of records per identity "
	    "(%llu used)", (unsigned long long)g->held, g->id, LB_AUDIT_BUDGET_WINDOW_S,
	    (unsigned long long)g->window, LB_AUDIT_BUDGET_BYTES, (unsigned long long)g->used);
	memset(&rec, 0, sizeof(rec));
	rec.event = "summary";
	rec.verdict = "denied";
	rec.user = g->user;
	rec.sid = g->sid;
	rec.kind = LB_KIND_NONE;
	rec.reason = reason;
	rec.error = LB_E_RATE;
	if (lb_audit_append(b->audit, &rec, now, 0) != LB_OK)
		return;   /* kept: the next tick tries again */
	lb_down_over(b, now);
	lb_audit_head(b->audit, &seq, NULL);
	lb_event_rec(b, g->id, &rec, seq, LB_EVENT_DENIED, reason);
	g->held = 0;
}

/* PEER's budget at NOW, its window renewed (and the old one summarized)
 * if it ended; NULL if none can be had (the table full of live windows:
 * the record is then written, bounded by the rate limits only). */
static struct lb_budget *
lb_budget_get(struct lb_broker *b, const struct lb_peer *peer, uint64_t now)
{
	struct lb_budget *g = NULL;
	size_t i;

	for (i = 0; i < b->n_budgets && g == NULL; i++)
		if (strcmp(b->budgets[i].id, peer->id) == 0)
			g = &b->budgets[i];
	if (g == NULL) {
		if (b->n_budgets < LB_AUDIT_BUDGET_IDS) {
			g = &b->budgets[b->n_budgets++];
		} else {
			/* An ended window with nothing held, else one summarized. */
			for (i = 0; i < b->n_budgets && g == NULL; i++) {
				struct lb_budget *c = &b->budgets[i];

				if (now >= c->window + LB_AUDIT_BUDGET_WINDOW_S || now < c->window) {
					lb_budget_report(b, c, now);
					if (c->held == 0)
						g = c;
				}
			}
			if (g == NULL)
				return NULL;
		}
		free(g->user);
		free(g->sid);
		memset(g, 0, sizeof(*g));
		snprintf(g->id, sizeof(g->id), "%s", peer->id);
		g->user = peer->who.user != NULL ? lb_strdup(peer->who.user) : NULL;
		g->sid = peer->who.sid != NULL ? lb_strdup(peer->who.sid) : NULL;
		g->window = now;
		return g;
	}
	if (now >= g->window + LB_AUDIT_BUDGET_WINDOW_S || now < g->window) {
		lb_budget_report(b, g, now);
		if (g->held == 0) {
			g->window = now;
			g->used = 0;
		}
	}
	return g;
}

/* ---- records ---- */

static const char *
lb_text_of(struct lb_outcome *o)
{
	const char *text = "";

	if (o->msg.len > 0 && lb_buf_cstr(&o->msg, &text) != LB_OK)
		text = "";
	return text;
}

static const char *
lb_verdict_of(const struct lb_outcome *o)
{
	return o->status == LB_OK ? (o->d.verdict == LB_VERDICT_ALLOW ? "allowed" : "denied") :
	    o->status == LB_E_DENIED || o->status == LB_E_KEY_UNKNOWN ||
	    o->status == LB_E_REMOTE || o->status == LB_E_NOT_MADE ? "denied" : "failed";
}

/* What a record's cut fields are kept in until it is appended. */
struct lb_recmem {
	struct lb_buf note;
	char *lres, *tres;
};

static void
lb_recmem_init(struct lb_recmem *m)
{
	lb_buf_init(&m->note, 4096);
	m->lres = m->tres = NULL;
}

static void
lb_recmem_free(struct lb_recmem *m)
{
	lb_buf_free(&m->note);
	free(m->lres);
	free(m->tres);
	m->lres = m->tres = NULL;
}

/* REC := the audit record of O (WITH_REQUEST: the signed request BODY
 * stored too; it is stored once per request; SEQ: the record that holds
 * it, for a create's second record), its cut fields in M. LB_OK, or
 * LB_E_AUDIT: out of memory, so it cannot be recorded. */
static int
lb_rec_fill(const struct lb_peer *peer, const struct lb_request *rq, int decoded,
    const uint8_t *body, size_t body_len, struct lb_outcome *o, int with_request,
    uint64_t seq, struct lb_audit_rec *rec, struct lb_recmem *m)
{
	uint8_t h[LB_HASH_BYTES];
	const char *text = lb_text_of(o), *verdict = lb_verdict_of(o);
	size_t i;
	int r;

	memset(rec, 0, sizeof(*rec));
	rec->event = o->event;
	rec->verdict = verdict;
	rec->user = peer->who.user;
	rec->sid = peer->who.sid;
	rec->groups = peer->who.groups;
	rec->n_groups = peer->who.n_groups;
	if (decoded) {
		rec->kind = (enum lb_kind)rq->kind;
		rec->link = rq->link;
		rec->link_len = rq->link_len;
		rec->target = rq->target;
		rec->target_len = rq->target_len;
		if (with_request) {
			rec->request = body;
			rec->request_len = body_len;
			rec->sig = rq->sig;
		}
		if (lb_preauth(o, decoded)) {
			/* unauthenticated: the first bytes of each path only */
			rec->link_len = rec->link_len > LB_REJECT_PATH_LOG ? LB_REJECT_PATH_LOG : rec->link_len;
			rec->target_len = rec->target_len > LB_REJECT_PATH_LOG ? LB_REJECT_PATH_LOG : rec->target_len;
			rec->request = NULL;
			rec->request_len = 0;
			rec->sig = NULL;
		}
	}
	if (o->rm_kind != LB_KIND_NONE) {
		/* a remove's request names only the link: what is removed is
		 * what the broker made there */
		rec->kind = o->rm_kind;
		rec->target = o->rm_target;
		rec->target_len = strlen(o->rm_target);
	}
	rec->link_resolved = o->link_res.s;
	rec->target_resolved = o->target_res.s;
	rec->rule = o->d.rule != NULL ? o->d.rule->name : NULL;
	rec->reason = text;
	rec->error = o->status;
	rec->key_name = o->key != NULL ? o->key->name : NULL;
	/* Refused, or a create's second record, with long paths: only what
	 * an auditor needs (the allowed decision keeps the whole request,
	 * which verify-audit checks): the paths' first bytes and lengths, and
	 * the signed request's BLAKE2b, which the client's copy can match. */
	if (!decoded || strcmp(verdict, "allowed") == 0 ||
	    (rq->link_len <= LB_AUDIT_PATH_KEEP && rq->target_len <= LB_AUDIT_PATH_KEEP &&
	    (o->link_res.s == NULL || strlen(o->link_res.s) <= LB_AUDIT_PATH_KEEP) &&
	    (o->target_res.s == NULL || strlen(o->target_res.s) <= LB_AUDIT_PATH_KEEP)))
		return LB_OK;
	r = lb_buf_printf(&m->note, "%s [paths cut to their first %u bytes: link %zu bytes, "
	    "target %zu bytes", text, LB_AUDIT_PATH_KEEP, rq->link_len, rq->target_len);
	if (r == LB_OK && with_request && !lb_preauth(o, decoded) &&
	    lb_hash(h, body, body_len) == LB_OK) {
		r = lb_buf_printf(&m->note, "; the signed request: %zu bytes, blake2b ", body_len);
		for (i = 0; r == LB_OK && i < LB_HASH_BYTES; i++)
			r = lb_buf_printf(&m->note, "%02x", h[i]);
	} else if (r == LB_OK && !with_request && seq != 0) {
		r = lb_buf_printf(&m->note, "; the whole request is in record %llu",
		    (unsigned long long)seq);
	}
	if (r == LB_OK)
		r = lb_buf_put_u8(&m->note, ']');
	if (r != LB_OK || lb_buf_cstr(&m->note, &rec->reason) != LB_OK)
		rec->reason = text;
	rec->link_len = rec->link_len > LB_AUDIT_PATH_KEEP ? LB_AUDIT_PATH_KEEP : rec->link_len;
	rec->target_len = rec->target_len > LB_AUDIT_PATH_KEEP ? LB_AUDIT_PATH_KEEP : rec->target_len;
	rec->request = NULL;
	rec->request_len = 0;
	rec->sig = NULL;
	if (o->link_res.s != NULL && strlen(o->link_res.s) > LB_AUDIT_PATH_KEEP)
		rec->link_resolved = m->lres = lb_strndup(o->link_res.s, LB_AUDIT_PATH_KEEP);
	if (o->target_res.s != NULL && strlen(o->target_res.s) > LB_AUDIT_PATH_KEEP)
		rec->target_resolved = m->tres = lb_strndup(o->target_res.s, LB_AUDIT_PATH_KEEP);
	if ((o->link_res.s != NULL && rec->link_resolved == NULL) ||
	    (o->target_res.s != NULL && rec->target_resolved == NULL))
		return LB_E_AUDIT;   /* out of memory: not recorded, so refused */
	return LB_OK;
}

/* The event of record REC (SEQ, 0 if unknown) of the identity ID: ID,
 * the record's event and verdict, then TEXT, as one line for people. */
static void
lb_event_rec(const struct lb_broker *b, const char *id, const struct lb_audit_rec *rec,
    uint64_t seq, enum lb_event_id eid, const char *text)
{
	struct lb_event ev;
	struct lb_buf line;
	const char *l;

	if (b->fs->event == NULL)
		return;
	lb_buf_init(&line, 4096);
	if (lb_buf_printf(&line, "%s %s %s: %s", id, rec->event, rec->verdict, text) == LB_OK &&
	    lb_buf_cstr(&line, &l) == LB_OK) {
		memset(&ev, 0, sizeof(ev));
		ev.id = eid;
		ev.text = l;
		ev.event = rec->event;
		ev.verdict = rec->verdict;
		ev.user = rec->user;
		ev.sid = rec->sid;
		ev.kind = rec->kind != LB_KIND_NONE ? lb_kind_name(rec->kind) : NULL;
		ev.link = rec->link;
		ev.link_len = rec->link_len;
		ev.target = rec->target;
		ev.target_len = rec->target_len;
		ev.rule = rec->rule;
		ev.error = rec->error;
		ev.seq = seq;
		b->fs->event(&ev);
	}
	lb_buf_free(&line);
}

/* Which event a decision record is. */
static enum lb_event_id
lb_event_id_of(const struct lb_audit_rec *rec)
{
	if (strcmp(rec->verdict, "failed") == 0)
		return LB_EVENT_FAILED;
	if (strcmp(rec->verdict, "allowed") != 0)
		return LB_EVENT_DENIED;
	if (strcmp(rec->event, "remove") == 0)
		return LB_EVENT_REMOVED;
	return strcmp(rec->event, "create") == 0 ? LB_EVENT_CREATED : LB_EVENT_ANSWERED;
}

/* The audit record of O (WITH_REQUEST: the signed request stored too; it
 * is stored once per request), appended but not synced; *SEQ := its
 * sequence number (unchanged if nothing was logged). LB_OK, or
 * LB_E_AUDIT: nothing may be done or answered for this request (fail
 * closed). */
static int
lb_record(struct lb_broker *b, const struct lb_peer *peer, const struct lb_request *rq,
    int decoded, const uint8_t *body, size_t body_len, struct lb_outcome *o,
    int with_request, uint64_t now, uint64_t *seq)
{
	struct lb_audit_rec rec;
	struct lb_budget *g = NULL;
	struct lb_recmem m;
	uint64_t before;
	int r;

	/* Requests over the rate limit are not decisions and are not logged
	 * one by one, or a flood would fill the disk; the event log says so. */
	if (o->status == LB_E_RATE)
		return LB_OK;
	lb_recmem_init(&m);
	if ((r = lb_rec_fill(peer, rq, decoded, body, body_len, o, with_request, *seq, &rec,
	    &m)) != LB_OK)
		goto out;
	/* A request's refusal counts against its identity's budget; past it,
	 * it is answered and counted, not recorded (a create's second record
	 * always is: it says that an allowed link was not made). */
	if (with_request && strcmp(rec.verdict, "allowed") != 0 &&
	    (g = lb_budget_get(b, peer, now)) != NULL && g->used >= LB_AUDIT_BUDGET_BYTES) {
		g->held++;
		r = LB_OK;
		goto out;
	}
	before = lb_audit_bytes(b->audit);
	if (lb_audit_append(b->audit, &rec, now, 0) != LB_OK) {
		/* Fail closed: nothing is made or answered without its record. */
		r = LB_E_AUDIT;
		goto out;
	}
	lb_audit_head(b->audit, seq, NULL);
	lb_down_over(b, now);
	if (g != NULL)
		g->used += lb_audit_bytes(b->audit) - before;
	/* Nor are they sent to syslog / the Event Log one by one: a flood
	 * would drown the broker's other messages (journald rate limits). */
	lb_event_rec(b, peer->id, &rec, *seq, lb_event_id_of(&rec), lb_text_of(o));
	r = LB_OK;
out:
	lb_recmem_free(&m);
	return r;
}

/* One entry of a batch between its decision and its answer. */
struct lb_bentry {
	struct lb_outcome o;
	uint64_t seq;                     /* its decision record */
	int make_rc;
	int second;                       /* its create failed: a second record */
	int made_rec;                     /* made: its "made" record is due */
};

/* A batch (version 2) between its arrival and its answer. */
struct lb_bpend {
	struct lb_batch req;              /* decoded at prepare (into the message's copy) */
	struct lb_bentry *e;              /* REQ.n of them once admitted; NULL: refused whole */
	struct lb_dircache *dirs;         /* the folders its entries borrow */
	uint8_t hash[LB_HASH_BYTES];      /* BLAKE2b of the signed body */
	struct lb_batch_response resp;
};

/* A request between its arrival and its answer. */
struct lb_pending {
	struct lb_bpend *bt;              /* a batch, or NULL; its header is also in RQ */
	const struct lb_peer *peer;
	uint8_t *msg;                     /* a copy of the message: RQ points into it */
	size_t len, body_len;
	uint64_t now;
	uint64_t now_ms;                  /* the rate limits' clock (lb_fs_ops.clock_ms) */
	uint32_t retry_ms;                /* refused as busy (LB_E_RATE): when to try again */
	const struct lb_fs_ops *fs;       /* the broker's, for lb_broker_make_run */
	struct lb_polref *pol;            /* the policy it is decided under */
	int admitted;                     /* the rate limit had room at prepare */
	int sig;                          /* lb_broker_precheck: 1 valid, -1 not, 0 not run */
	int started, decided, made, sealed; /* the steps done */
	int make_rc;                      /* lb_broker_make_run's result */
	struct lb_request rq;             /* decoded once, at prepare */
	int decode_rc;                    /* that decoding's result */
	struct lb_outcome o;
	int decoded;                      /* RQ is in use: decoded, and past the rate limit */
	uint64_t seq;                     /* its last audit record (0: none) */
	int unaudited;                    /* refused: the audit log cannot be written */
	char *rule;                       /* the deciding rule's name, for the answer */
	struct lb_buf req_in;             /* precheck: what RQ's signature covers */
	/* sealed: the answer's frame with room for its signature at SIG_OFF,
	 * and what that signature covers; signed: the room filled */
	struct lb_response resp;
	struct lb_buf frame, resp_in;
	size_t sig_off;
	int signed_;
};

/* O's handles closed (a batch's shared folder is its batch's). */
static void
lb_outcome_close(const struct lb_fs_ops *fs, struct lb_outcome *o)
{
	if (o->file != NULL)
		fs->close(o->file);
	if (o->dir != NULL && !o->dir_borrowed)
		fs->close(o->dir);
	o->file = o->dir = NULL;
	o->pending = 0;
}

static void
lb_outcome_free(const struct lb_fs_ops *fs, struct lb_outcome *o)
{
	lb_outcome_close(fs, o);
	free(o->made);
	free(o->name);
	free(o->rm_target);
	if (o->page != NULL)
		lb_buf_free(o->page);
	free(o->page);
	lb_path_free(&o->link_res);
	lb_path_free(&o->target_res);
	lb_buf_free(&o->msg);
}

/* BT's entries and folders (the batch is then refused whole). */
static void
lb_bpend_drop(const struct lb_fs_ops *fs, struct lb_bpend *bt)
{
	size_t i;

	if (bt->e != NULL)
		for (i = 0; i < bt->req.n; i++)
			lb_outcome_free(fs, &bt->e[i].o);
	free(bt->e);
	bt->e = NULL;
	lb_dircache_free(bt->dirs);
	bt->dirs = NULL;
}

/* Entry I of BT as a request (type, kind and paths; the rest is the
 * batch's). */
static void
lb_bentry_request(const struct lb_bpend *bt, size_t i, struct lb_request *rq)
{
	const struct lb_batch_entry *e = &bt->req.e[i];

	memset(rq, 0, sizeof(*rq));
	rq->version = bt->req.version;
	rq->type = e->type;
	rq->kind = e->kind;
	rq->link = e->link;
	rq->link_len = e->link_len;
	rq->target = e->target;
	rq->target_len = e->target_len;
}

void
lb_broker_pending_free(struct lb_broker *b, struct lb_pending *p)
{
	if (p == NULL)
		return;
	if (p->bt != NULL) {
		lb_bpend_drop(b->fs, p->bt);
		free(p->bt);
	}
	lb_outcome_free(b->fs, &p->o);
	lb_buf_free(&p->frame);
	lb_buf_free(&p->req_in);
	lb_buf_free(&p->resp_in);
	free(p->rule);
	free(p->msg);
	lb_polref_drop(b, p->pol);
	free(p);
}

/* audit_sync = always: record SEQ must be on disk before anything follows
 * from it. One sync covers every record before it (group commit). */
static int
lb_durable(struct lb_broker *b, uint64_t seq)
{
	if (b->pol->policy->broker.audit_sync != LB_AUDIT_SYNC_ALWAYS || seq == 0 ||
	    lb_audit_durable(b->audit, seq))
		return LB_OK;
	if (lb_audit_sync(b->audit) != LB_OK) {
		lb_down_note(b, b->last_now, 0);
		return LB_E_AUDIT;
	}
	return LB_OK;
}

/* P cannot be recorded (the log cannot be written, or made durable with
 * audit_sync = always): refused, nothing made, and answered so (the only
 * answer without a record; the event log counts them). */
static void
lb_refuse_unaudited(struct lb_broker *b, struct lb_pending *p)
{
	struct lb_outcome *o = &p->o;

	if (p->unaudited)
		return;
	p->unaudited = 1;
	lb_down_note(b, p->now, 1);
	lb_outcome_close(b->fs, o);
	if (p->bt != NULL)
		lb_bpend_drop(b->fs, p->bt);   /* nothing of it was made */
	o->status = LB_E_AUDIT;
	o->d.verdict = LB_VERDICT_DENY;
	o->d.rule = NULL;
	lb_buf_reset(&o->msg);
	lb_say(&o->msg, "%s: nothing was made (ask again once it can)", lb_strerror(LB_E_AUDIT));
	p->seq = 0;
}

int
lb_broker_sync(struct lb_broker *b)
{
	if (lb_audit_sync(b->audit) != LB_OK) {
		lb_down_note(b, b->last_now, 0);
		return LB_E_AUDIT;
	}
	return LB_OK;
}

void
lb_broker_summarize(struct lb_broker *b, uint64_t now)
{
	size_t i;

	for (i = 0; i < b->n_budgets; i++)
		lb_budget_report(b, &b->budgets[i], now);
}

void
lb_broker_tick(struct lb_broker *b, uint64_t now)
{
	size_t i;

	lb_index_job_take(b);   /* the start-up read's result, once it is there */
	if (b->down.down) {
		/* Best effort: the next append tries again anyway. */
		if (lb_audit_repair(b->audit, now) != LB_OK)
			lb_down_note(b, now, 0);
	}
	for (i = 0; i < b->n_budgets; i++) {
		struct lb_budget *g = &b->budgets[i];

		if (g->held > 0 && (now >= g->window + LB_AUDIT_BUDGET_WINDOW_S || now < g->window)) {
			lb_budget_report(b, g, now);
			if (g->held == 0) {
				g->window = now;
				g->used = 0;
			}
		}
	}
}

/* "made" records FROM..TO were just appended at the log's head. */
static void
lb_made_tail(struct lb_broker *b, uint64_t from, uint64_t to)
{
	if (b->made_to == 0 || b->made_to + 1 != from)
		b->made_from = from;   /* else the run goes on */
	b->made_to = to;
}

int
lb_broker_flush(struct lb_broker *b)
{
	uint64_t seq;

	/* Up to the last record an answer waits for: not the "made" ones
	 * after it (one sync per round also with audit_sync = always). */
	lb_audit_head(b->audit, &seq, NULL);
	if (b->made_to != 0 && seq == b->made_to)
		seq = b->made_from - 1;
	return lb_durable(b, seq);
}

/* Whether P is refused unheard because its identity spent its
 * pre-authentication budget (malformed requests, bad signatures, keys not
 * enrolled for it); *RETRY_MS (if not NULL): until the budget refills.
 * Cheap (no crypto): a flood of junk then costs neither a verification
 * nor a signature per request (issue 13: one keyless user drove the
 * daemon to 145% CPU). Only the identity's own junk spends its budget,
 * so only its own requests wait: a client that waits as told is served. */
static int
lb_preauth_spent(const struct lb_broker *b, const struct lb_pending *p, uint32_t *retry_ms)
{
	uint32_t wait = 0;

	if (lb_rate_room(&b->rejects, p->peer->id, p->now_ms, LB_REJECT_PER_SEC, LB_REJECT_BURST, &wait))
		return 0;
	if (retry_ms != NULL)
		*retry_ms = wait;
	return 1;
}

int
lb_broker_prepare(struct lb_broker *b, const struct lb_peer *peer,
    const uint8_t *msg_in, size_t len, uint64_t now, struct lb_pending **p)
{
	struct lb_pending *pd;

	*p = NULL;
	if ((pd = calloc(1, sizeof(*pd))) == NULL ||
	    (pd->msg = malloc(len > 0 ? len : 1)) == NULL) {
		free(pd);
		return LB_E_NOMEM;
	}
	memcpy(pd->msg, msg_in, len);
	pd->len = len;
	pd->peer = peer;
	pd->now = now;
	pd->now_ms = b->fs->clock_ms != NULL ? b->fs->clock_ms() : now * 1000u;
	pd->fs = b->fs;
	b->last_now = now;
	lb_buf_init(&pd->o.msg, 8192);
	lb_buf_init(&pd->frame, LB_FRAME_HDR + LB_FRAME_MAX);
	lb_buf_init(&pd->req_in, 1 + 255 + LB_FRAME_MAX);
	lb_buf_init(&pd->resp_in, 1 + 255 + LB_FRAME_MAX);
	/* Decoded once, here; RQ points into our copy of the message. A
	 * batch's header goes into RQ too (type LB_MSG_BATCH, no kind or
	 * paths): the checks before its entries are a request's. */
	if (lb_msg_is_batch(pd->msg, pd->len)) {
		if ((pd->bt = calloc(1, sizeof(*pd->bt))) == NULL) {
			lb_broker_pending_free(b, pd);
			return LB_E_NOMEM;
		}
		pd->decode_rc = lb_batch_decode(pd->msg, pd->len, &pd->bt->req, &pd->body_len);
		if (pd->decode_rc == LB_OK) {
			pd->rq.version = pd->bt->req.version;
			pd->rq.type = LB_MSG_BATCH;
			pd->rq.timestamp = pd->bt->req.timestamp;
			memcpy(pd->rq.nonce, pd->bt->req.nonce, LB_NONCE_BYTES);
			memcpy(pd->rq.key, pd->bt->req.key, LB_PK_BYTES);
			memcpy(pd->rq.sig, pd->bt->req.sig, LB_SIG_BYTES);
		}
	} else {
		pd->decode_rc = lb_request_decode(pd->msg, pd->len, &pd->rq, &pd->body_len);
	}
	/* Worth checking the signature ahead only if no limit will refuse it
	 * first: over its limit, a request costs no crypto. */
	/* Decided under the policy in force now, whatever reloads come
	 * before its answer. */
	pd->pol = b->pol;
	pd->pol->refs++;
	pd->admitted = lb_rate_room(&b->rates, peer->id, pd->now_ms,
	    pd->pol->policy->broker.requests_per_sec, pd->pol->policy->broker.requests_burst, NULL) &&
	    !lb_preauth_spent(b, pd, NULL);
	/* What lb_broker_precheck verifies. */
	if (pd->admitted && pd->decode_rc == LB_OK &&
	    (pd->bt != NULL ? lb_batch_signed_input(pd->msg, pd->body_len, &pd->req_in) :
	    lb_request_signed_input(&pd->rq, &pd->req_in)) != LB_OK)
		lb_buf_reset(&pd->req_in);
	*p = pd;
	return LB_OK;
}

void
lb_broker_precheck(struct lb_pending *p)
{
	if (p->req_in.len == 0 || p->sig != 0)
		return;   /* over its rate limit, malformed, or done */
	p->sig = lb_verify_prepared(p->rq.key, p->req_in.data, p->req_in.len,
	    p->rq.sig) == LB_OK ? 1 : -1;
}

/* The file-system work of the link request RQ from P's peer. */
static int
lb_fswork_new(const struct lb_broker *b, const struct lb_pending *p,
    const struct lb_request *rq, struct lb_fswork **out)
{
	struct lb_fswork *w;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return LB_E_NOMEM;
	w->fs = b->fs;
	w->peer = p->peer;
	w->flavor = p->pol->policy->flavor;
	w->kind = (enum lb_kind)rq->kind;
	w->remove = rq->type == LB_MSG_REMOVE;
	lb_buf_init(&w->msg, 8192);
	w->link = lb_strndup(rq->link, rq->link_len);
	w->target = lb_strndup(rq->target, rq->target_len);
	w->link_len = rq->link_len;
	w->target_len = rq->target_len;
	if (w->link == NULL || w->target == NULL) {
		lb_fswork_free(w);
		return LB_E_NOMEM;
	}
	*out = w;
	return LB_OK;
}

/* An admitted batch: its entries, and one work for all of them (run in
 * order on one thread, each folder opened once). LB_E_NOMEM: refused. */
static int
lb_batch_admit(struct lb_broker *b, struct lb_pending *p, struct lb_fswork **out)
{
	struct lb_bpend *bt = p->bt;
	const size_t n = bt->req.n;
	struct lb_request rq;
	struct lb_fswork *w;
	size_t i;
	int r = LB_E_NOMEM;

	*out = NULL;
	if ((bt->e = calloc(n, sizeof(*bt->e))) == NULL)
		return LB_E_NOMEM;
	for (i = 0; i < n; i++) {
		lb_buf_init(&bt->e[i].o.msg, 8192);
		bt->e[i].o.event = lb_event_of(bt->req.e[i].type);
		bt->e[i].o.key = p->o.key;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto fail;
	w->fs = b->fs;
	w->peer = p->peer;
	lb_buf_init(&w->msg, 64);
	if ((w->sub = calloc(n, sizeof(*w->sub))) == NULL)
		goto fail;
	w->n_sub = n;
	if ((w->cache = calloc(1, sizeof(*w->cache))) == NULL)
		goto fail;
	w->cache->fs = b->fs;
	for (i = 0; i < n; i++) {
		lb_bentry_request(bt, i, &rq);
		if ((r = lb_fswork_new(b, p, &rq, &w->sub[i])) != LB_OK)
			goto fail;
		w->sub[i]->cache = w->cache;
	}
	if ((r = lb_hash(bt->hash, p->msg, p->body_len)) != LB_OK)
		goto fail;
	*out = w;
	return LB_OK;
fail:
	lb_fswork_free(w);
	lb_bpend_drop(b->fs, bt);
	return r;
}

int
lb_broker_admit(struct lb_broker *b, struct lb_pending *p, struct lb_fswork **w)
{
	const struct lb_policy *pol = p->pol->policy;
	const uint64_t skew = pol->broker.max_clock_skew_s;
	const struct lb_peer *peer = p->peer;
	const uint64_t now = p->now;
	struct lb_request *rq = &p->rq;
	struct lb_outcome *o = &p->o;
	const struct lb_key_entry *k;
	int r, sig_ok;

	*w = NULL;
	if (p->started)
		return LB_E_INVAL;
	p->started = 1;
	o->event = "reject";
	/* Per OS identity, before any expensive work. */
	if ((r = lb_rate_take(&b->rates, peer->id, p->now_ms, pol->broker.requests_per_sec,
	    pol->broker.requests_burst, p->bt != NULL && p->decode_rc == LB_OK ? p->bt->req.n : 1,
	    &p->retry_ms)) != LB_OK) {
		lb_fail_op(o, "", r);
		return LB_OK;
	}
	if (lb_preauth_spent(b, p, &p->retry_ms)) {
		lb_fail_op(o, "", LB_E_RATE);
		return LB_OK;
	}
	if (p->decode_rc != LB_OK) {
		lb_fail_op(o, "malformed request: ", p->decode_rc);
		return LB_OK;
	}
	p->decoded = 1;
	o->event = lb_event_of(rq->type);
	/* The signature first, against the key the request names: an
	 * unsigned or forged request is a forgery whatever key it claims. */
	sig_ok = p->sig != 0 ? p->sig > 0 : (p->bt != NULL ?
	    lb_batch_verify(&p->bt->req, p->msg, p->body_len, rq->key) :
	    lb_request_verify(rq, rq->key)) == LB_OK;
	if (!sig_ok) {
		o->event = "reject";
		lb_fail_op(o, "", LB_E_SIG);
		return LB_OK;
	}
	k = lb_policy_find_key(pol, rq->key);
	if (k != NULL && lb_key_matches_peer(pol, k, peer))
		o->key = k;
	/* A status request may ask about an unenrolled key; anything else
	 * needs a key enrolled for the very identity the OS reports. */
	if (o->key == NULL && rq->type != LB_MSG_STATUS) {
		o->event = "reject";
		lb_buf_reset(&o->msg);
		lb_say(&o->msg, "%s: the request's key is not enrolled for %s",
		    lb_strerror(LB_E_KEY_UNKNOWN), peer->who.user != NULL ? peer->who.user : peer->id);
		o->status = LB_E_KEY_UNKNOWN;
		return LB_OK;
	}
	if (rq->timestamp + skew < now || rq->timestamp > now + skew) {
		o->event = "reject";
		lb_fail_op(o, "", LB_E_STALE);
		return LB_OK;
	}
	/* A status request from an unenrolled key changes nothing and is not
	 * remembered: any key would do, so it could grow the cache at will. */
	if (o->key != NULL && (r = lb_replay_check_add(&b->replay, rq->key, rq->nonce, rq->timestamp,
	    now > skew ? now - skew : 0, now)) != LB_OK) {
		o->event = "reject";
		if (r == LB_E_RATE)
			p->retry_ms = 1000;   /* its share of the cache is full: a second */
		lb_fail_op(o, "", r);
		return LB_OK;
	}
	if (rq->type == LB_MSG_STATUS) {
		lb_do_status(b, peer, o);
		return LB_OK;
	}
	/* The index is still being read from the log (start-up): a list
	 * or remove now would miss links. Busy, not refused: the client
	 * waits and asks again. Not recorded (nothing was decided). */
	if ((rq->type == LB_MSG_LIST || rq->type == LB_MSG_REMOVE) && !b->index_ready) {
		lb_fail_op(o, "", LB_E_RATE);
		p->retry_ms = 250;
		return LB_OK;
	}
	if (rq->type == LB_MSG_LIST) {
		lb_do_list(b, peer, rq, o);
		return LB_OK;
	}
	if ((r = p->bt != NULL ? lb_batch_admit(b, p, w) : lb_fswork_new(b, p, rq, w)) != LB_OK)
		lb_fail_op(o, "", r);
	return LB_OK;
}

/* W's results into P's entries, each decided on its own; the folders
 * they share become the batch's. */
static void
lb_batch_decide(struct lb_pending *p, struct lb_fswork *w)
{
	struct lb_bpend *bt = p->bt;
	struct lb_request rq;
	size_t i;

	for (i = 0; i < bt->req.n && i < w->n_sub; i++) {
		lb_bentry_request(bt, i, &rq);
		lb_link_decide(p->pol->policy, p->peer, &rq, w->sub[i], &bt->e[i].o);
	}
	bt->dirs = w->cache;
	w->cache = NULL;
}

/* A decided batch's records, in one append: the "batch" record with the
 * signed batch (stored once), then one record per entry naming the
 * batch's hash and the entry's index (docs/audit.md, "Batches"). A
 * batch's records are never left out for the audit budget (verify-audit
 * proves each entry recorded); the refused ones' share of them counts
 * against it. LB_OK, or LB_E_AUDIT: nothing may be made or answered. */
static int
lb_batch_record(struct lb_broker *b, struct lb_pending *p)
{
	struct lb_bpend *bt = p->bt;
	const size_t n = bt->req.n;
	struct lb_audit_rec *recs = NULL;
	struct lb_recmem *mem = NULL;
	struct lb_budget *g;
	struct lb_request rq;
	struct lb_buf reason;
	const char *text = NULL;
	size_t i, allowed = 0, refused = 0;
	uint64_t first = 0, before;
	int r = LB_E_AUDIT;

	lb_buf_init(&reason, 512);
	if (n == 0 || (recs = calloc(n + 1, sizeof(*recs))) == NULL ||
	    (mem = calloc(n, sizeof(*mem))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		lb_recmem_init(&mem[i]);
	for (i = 0; i < n; i++) {
		lb_bentry_request(bt, i, &rq);
		if (lb_rec_fill(p->peer, &rq, 1, NULL, 0, &bt->e[i].o, 0, 0, &recs[i + 1],
		    &mem[i]) != LB_OK)
			goto out;
		recs[i + 1].batch = bt->hash;
		recs[i + 1].index = (uint32_t)i;
		if (strcmp(recs[i + 1].verdict, "allowed") == 0)
			allowed++;
		else
			refused++;
	}
	if (lb_buf_printf(&reason, "a batch of %zu requests: %zu allowed, %zu refused; "
	    "the next %zu records are its entries", n, allowed, refused, n) != LB_OK ||
	    lb_buf_cstr(&reason, &text) != LB_OK)
		goto out;
	recs[0].event = "batch";
	recs[0].verdict = "allowed";
	recs[0].user = p->peer->who.user;
	recs[0].sid = p->peer->who.sid;
	recs[0].groups = p->peer->who.groups;
	recs[0].n_groups = p->peer->who.n_groups;
	recs[0].kind = LB_KIND_NONE;
	recs[0].reason = text;
	recs[0].error = LB_OK;
	recs[0].key_name = p->o.key != NULL ? p->o.key->name : NULL;
	recs[0].request = p->msg;
	recs[0].request_len = p->body_len;
	recs[0].sig = bt->req.sig;
	before = lb_audit_bytes(b->audit);
	if (lb_audit_append_n(b->audit, recs, n + 1, p->now, &first) != LB_OK)
		goto out;
	lb_down_over(b, p->now);
	for (i = 0; i < n; i++)
		bt->e[i].seq = first + 1 + i;
	p->seq = first + n;
	if (refused > 0 && (g = lb_budget_get(b, p->peer, p->now)) != NULL)
		g->used += (lb_audit_bytes(b->audit) - before) * refused / (n + 1);
	/* one line for the batch in syslog / the Event Log, not one per link */
	lb_event_rec(b, p->peer->id, &recs[0], first, LB_EVENT_BATCH, text);
	r = LB_OK;
out:
	if (mem != NULL)
		for (i = 0; i < n; i++)
			lb_recmem_free(&mem[i]);
	free(mem);
	free(recs);
	lb_buf_free(&reason);
	return r;
}

/* The record first: a crash can leave an allowed decision without its
 * link, never a link without its record; and nothing is answered that
 * was not logged. */
static int
lb_broker_close_start(struct lb_broker *b, struct lb_pending *p)
{
	struct lb_outcome *o = &p->o;

	/* Refused for a limit already: not heard, so not a pre-authentication
	 * refusal (and it must not spend that budget, or the pacing of an
	 * enrolled user's batch would lock it out). */
	if (o->status != LB_E_RATE && lb_preauth(o, p->decoded) &&
	    lb_rate_take(&b->rejects, p->peer->id, p->now_ms, LB_REJECT_PER_SEC, LB_REJECT_BURST, 1,
	    &p->retry_ms) != LB_OK)
		lb_fail_op(o, "", LB_E_RATE);
	p->decided = 1;
	if (p->bt != NULL && p->bt->e != NULL && o->status == LB_OK) {
		if (lb_batch_record(b, p) != LB_OK)
			lb_refuse_unaudited(b, p);
	} else if (lb_record(b, p->peer, &p->rq, p->decoded, p->msg, p->body_len, o, 1, p->now,
	    &p->seq) != LB_OK) {
		lb_refuse_unaudited(b, p);
	}
	return LB_OK;
}

int
lb_broker_decide(struct lb_broker *b, struct lb_pending *p, struct lb_fswork *w)
{
	if (!p->started || p->decided) {
		lb_fswork_free(w);
		return LB_E_INVAL;
	}
	if (w != NULL && p->bt != NULL && p->bt->e != NULL)
		lb_batch_decide(p, w);
	else if (w != NULL && p->rq.type == LB_MSG_REMOVE)
		lb_remove_decide(b, p->pol->policy, p->peer, w, &p->o);
	else if (w != NULL)
		lb_link_decide(p->pol->policy, p->peer, &p->rq, w, &p->o);
	lb_fswork_free(w);
	return lb_broker_close_start(b, p);
}

int
lb_broker_timeout(struct lb_broker *b, struct lb_pending *p)
{
	if (!p->started || p->decided)
		return LB_E_INVAL;
	if (p->bt != NULL && p->bt->e != NULL) {
		/* every entry of the batch: its work is the worker's now */
		for (size_t i = 0; i < p->bt->req.n; i++) {
			lb_fail_op(&p->bt->e[i].o, "", LB_E_FS_TIMEOUT);
			p->bt->e[i].o.d.verdict = LB_VERDICT_DENY;
		}
		return lb_broker_close_start(b, p);
	}
	lb_fail_op(&p->o, "", LB_E_FS_TIMEOUT);
	p->o.d.verdict = LB_VERDICT_DENY;
	return lb_broker_close_start(b, p);
}

int
lb_broker_start(struct lb_broker *b, struct lb_pending *p)
{
	struct lb_fswork *w = NULL;
	int r;

	if ((r = lb_broker_admit(b, p, &w)) != LB_OK)
		return r;
	if (w != NULL)
		lb_fswork_run(w);
	return lb_broker_decide(b, p, w);
}

int
lb_broker_begin(struct lb_broker *b, const struct lb_peer *peer,
    const uint8_t *msg_in, size_t len, uint64_t now, struct lb_pending **p)
{
	int r;

	if ((r = lb_broker_prepare(b, peer, msg_in, len, now, p)) != LB_OK)
		return r;
	lb_broker_precheck(*p);   /* here, on this thread: prepare made its input */
	if ((r = lb_broker_start(b, *p)) != LB_OK) {
		lb_broker_pending_free(b, *p);
		*p = NULL;
	}
	return r;
}


/* The batch's allowed creates, to make once their decisions are durable. */
static int
lb_batch_make_begin(struct lb_broker *b, struct lb_pending *p)
{
	struct lb_bpend *bt = p->bt;
	size_t i, any = 0;

	if (bt->e == NULL)
		return 0;
	for (i = 0; i < bt->req.n; i++)
		any += (size_t)bt->e[i].o.pending;
	if (any == 0)
		return 0;
	if (lb_durable(b, p->seq) != LB_OK) {
		lb_refuse_unaudited(b, p);   /* nothing made: refused whole */
		return 0;
	}
	for (i = 0; i < bt->req.n; i++)
		bt->e[i].make_rc = LB_E_INVAL;   /* until made */
	return 1;
}

int
lb_broker_make_begin(struct lb_broker *b, struct lb_pending *p)
{
	if (!p->decided)
		return LB_E_INVAL;
	if (p->made)
		return 0;
	p->made = 1;
	if (p->bt != NULL)
		return lb_batch_make_begin(b, p);
	if (!p->o.pending)
		return 0;
	/* audit_sync = always: the decision is on disk before the link. */
	if (lb_durable(b, p->seq) != LB_OK) {
		lb_refuse_unaudited(b, p);
		return 0;
	}
	p->make_rc = LB_E_INVAL;   /* until lb_broker_make_run says otherwise */
	return 1;
}

/* O's link made: its identity for the "made" record. */
static void
lb_identify(struct lb_pending *p, struct lb_outcome *o)
{
	if (p->fs->identify == NULL ||
	    p->fs->identify(p->peer, o->dir, o->name, o->file_id) != LB_OK ||
	    !lb_file_id_ok(o->file_id, strnlen(o->file_id, LB_FILE_ID_MAX)))
		o->file_id[0] = '\0';
}

void
lb_broker_make_run(struct lb_pending *p)
{
	struct lb_outcome *o = &p->o;
	struct lb_bpend *bt = p->bt;
	size_t i;
	int held;

	if (bt != NULL) {
		if (bt->e == NULL)
			return;
		held = p->fs->hold != NULL && p->fs->hold(p->peer) == LB_OK;
		for (i = 0; i < bt->req.n; i++) {
			o = &bt->e[i].o;
			if (o->pending && (bt->e[i].make_rc = p->fs->create(p->peer, o->dir, o->name,
			    (enum lb_kind)bt->req.e[i].kind, o->made, o->file)) == LB_OK)
				lb_identify(p, o);
		}
		if (held)
			p->fs->release();
		return;
	}

	if (p->rq.type == LB_MSG_REMOVE) {
		p->make_rc = p->fs->unlink_made == NULL ? LB_E_UNSUPPORTED :
		    p->fs->unlink_made(p->peer, o->dir, o->name, o->rm_kind, o->file_id);
		return;
	}
	p->make_rc = p->fs->create(p->peer, o->dir, o->name, (enum lb_kind)p->rq.kind,
	    o->made, o->file);
	if (p->make_rc == LB_OK)
		lb_identify(p, o);
}

void
lb_broker_make_cancel(struct lb_pending *p, int rc)
{
	p->make_rc = rc;
	if (p->bt != NULL && p->bt->e != NULL)
		for (size_t i = 0; i < p->bt->req.n; i++)
			p->bt->e[i].make_rc = rc;
}

/* Entries of P whose failure could not be recorded (WHICH: their second
 * records): refused as the log's fault, which is true of them (their
 * links were not made); the others stand. */
static void
lb_batch_refuse_seconds(struct lb_broker *b, struct lb_pending *p)
{
	struct lb_bpend *bt = p->bt;
	size_t i;

	lb_down_note(b, p->now, 1);
	for (i = 0; i < bt->req.n; i++) {
		if (!bt->e[i].second)
			continue;
		bt->e[i].o.status = LB_E_AUDIT;
		bt->e[i].o.d.rule = NULL;
		lb_buf_reset(&bt->e[i].o.msg);
		lb_say(&bt->e[i].o.msg, "%s: nothing was made (ask again once it can)",
		    lb_strerror(LB_E_AUDIT));
	}
}

/* REC := the "made" record of O, the allowed create decided in record
 * SEQ (REQUEST its request): what was made and, if the file system said,
 * its identity. */
static int
lb_made_fill(const struct lb_peer *peer, const struct lb_request *rq, struct lb_outcome *o,
    uint64_t seq, struct lb_audit_rec *rec, struct lb_recmem *m)
{
	/* a remove's: "removed", with the identity of the link removed */
	const char *ev = rq->type == LB_MSG_REMOVE ? "removed" : "made";
	int r;

	if ((r = lb_rec_fill(peer, rq, 1, NULL, 0, o, 0, seq, rec, m)) != LB_OK)
		return r;
	rec->event = ev;
	rec->file = o->file_id[0] != '\0' ? o->file_id : NULL;
	lb_buf_reset(&m->note);
	if (lb_buf_printf(&m->note, "%s as decided in record %llu", ev, (unsigned long long)seq) != LB_OK ||
	    lb_buf_cstr(&m->note, &rec->reason) != LB_OK)
		rec->reason = ev;
	return LB_OK;
}

/* The index after record SEQ, REC, was written: a link made, or removed. */
static void
lb_index_note(struct lb_broker *b, const struct lb_audit_rec *rec, uint64_t seq, uint64_t now)
{
	char *target;

	if (rec->sid == NULL || rec->link_resolved == NULL)
		return;
	if (strcmp(rec->event, "removed") == 0) {
		lb_index_removed(b->index, rec->sid, rec->link_resolved);
		return;
	}
	/* Best effort: a link the index cannot hold is not listed (it is
	 * in the log all the same). */
	if ((target = lb_strndup(rec->target != NULL ? rec->target : "", rec->target_len)) == NULL)
		return;
	if (lb_index_made(b->index, rec->sid, seq, now, rec->kind, rec->link_resolved, target,
	    rec->target_resolved, rec->file) != LB_OK)
		target[0] = '\0';   /* nothing else to do: it is in the log */
	free(target);
}

/* The batch's creates that failed: their second records, in one append. */
static int
lb_batch_make_end(struct lb_broker *b, struct lb_pending *p)
{
	struct lb_bpend *bt = p->bt;
	const size_t n = bt->req.n;
	struct lb_audit_rec *recs;
	struct lb_recmem *mem;
	struct lb_request rq;
	size_t i, k = 0, last_fail = 0;
	uint64_t first = 0;

	if (bt->e == NULL)
		return LB_E_INVAL;
	/* One record per entry made or not: "made" (with its identity) or
	 * its failure, in entry order. */
	for (i = 0; i < n; i++) {
		struct lb_bentry *e = &bt->e[i];

		if (!e->o.pending)
			continue;
		e->o.pending = 0;
		e->made_rec = e->make_rc == LB_OK;
		k++;
		if (e->made_rec)
			continue;
		lb_fail_op(&e->o, "", e->make_rc);
		e->o.d.verdict = LB_VERDICT_DENY;
		e->second = 1;
	}
	if (k == 0)
		return LB_OK;
	recs = calloc(k, sizeof(*recs));
	mem = calloc(k, sizeof(*mem));
	for (i = 0, k = 0; recs != NULL && mem != NULL && i < n; i++) {
		if (!bt->e[i].second && !bt->e[i].made_rec)
			continue;
		lb_recmem_init(&mem[k]);
		lb_bentry_request(bt, i, &rq);
		if ((bt->e[i].made_rec ? lb_made_fill(p->peer, &rq, &bt->e[i].o, bt->e[i].seq, &recs[k],
		    &mem[k]) : lb_rec_fill(p->peer, &rq, 1, NULL, 0, &bt->e[i].o, 0, bt->e[i].seq,
		    &recs[k], &mem[k])) != LB_OK) {
			lb_recmem_free(&mem[k]);
			break;
		}
		k++;
		if (!bt->e[i].made_rec)
			last_fail = k;
	}
	/* A made record that cannot be written leaves its link made (its
	 * decision is durable): only the failures are refused for it. */
	if (recs == NULL || mem == NULL || i < n ||
	    lb_audit_append_n(b->audit, recs, k, p->now, &first) != LB_OK)
		lb_batch_refuse_seconds(b, p);
	else {
		if (last_fail > 0)
			p->seq = first + last_fail - 1;   /* the answer waits for the failures only */
		if (last_fail < k)
			lb_made_tail(b, last_fail > 0 ? first + last_fail : first, first + k - 1);
		for (i = 0; i < k; i++)
			if (strcmp(recs[i].event, "made") == 0)
				lb_index_note(b, &recs[i], first + i, p->now);
	}
	if (mem != NULL)
		for (i = 0; i < k; i++)
			lb_recmem_free(&mem[i]);
	free(mem);
	free(recs);
	return LB_OK;
}

/* P's link was made: its "made" record after its decision. If it cannot
 * be written the link still stands (its decision is durable): the answer
 * says created, the event log says the log failed. */
static int
lb_record_made(struct lb_broker *b, struct lb_pending *p)
{
	struct lb_audit_rec rec;
	struct lb_recmem m;

	lb_recmem_init(&m);
	if (lb_made_fill(p->peer, &p->rq, &p->o, p->seq, &rec, &m) != LB_OK ||
	    lb_audit_append(b->audit, &rec, p->now, 0) != LB_OK) {
		lb_down_note(b, p->now, 0);
	} else {
		/* Not waited for: P's answer needs no sync of its own for it
		 * (a crash now loses only the identity, not a decision). */
		uint64_t seq;

		lb_audit_head(b->audit, &seq, NULL);
		lb_made_tail(b, seq, seq);
		lb_down_over(b, p->now);
		lb_index_note(b, &rec, seq, p->now);
	}
	if (p->rq.type == LB_MSG_REMOVE) {
		/* removed whether or not its record could be written */
		lb_index_removed(b->index, p->peer->who.sid, p->o.link_res.s);
		lb_buf_reset(&p->o.msg);
		lb_say(&p->o.msg, "%s removed for %.*s <<===>> %s", lb_kind_mklink(p->o.rm_kind),
		    (int)p->rq.link_len, p->rq.link, p->o.rm_target);
	}
	lb_recmem_free(&m);
	return LB_OK;
}

int
lb_broker_make_end(struct lb_broker *b, struct lb_pending *p)
{
	struct lb_outcome *o = &p->o;

	if (p->made && p->bt != NULL)
		return lb_batch_make_end(b, p);
	if (!p->made || !o->pending)
		return LB_E_INVAL;
	o->pending = 0;
	if (p->make_rc == LB_OK)
		return lb_record_made(b, p);
	/* Allowed but not made: the outcome as a second record of the
	 * same request (stored once, in the first). */
	lb_fail_op(o, "", p->make_rc);
	o->d.verdict = LB_VERDICT_DENY;
	if (lb_record(b, p->peer, &p->rq, p->decoded, p->msg, p->body_len, o, 0,
	    p->now, &p->seq) != LB_OK)
		lb_refuse_unaudited(b, p);
	return LB_OK;
}

int
lb_broker_make(struct lb_broker *b, struct lb_pending *p)
{
	int r;

	if ((r = lb_broker_make_begin(b, p)) <= 0)
		return r;
	lb_broker_make_run(p);
	return lb_broker_make_end(b, p);
}

/* A request over a limit: the unsigned busy answer (lb_wire.h), with the
 * request's nonce when it could be read and how long to wait. Costs no
 * signature, so a flood of them costs the broker little; the client
 * treats it as "wait and resend", never as a verdict. */
static int
lb_broker_seal_busy(struct lb_pending *p)
{
	int r;

	lb_buf_reset(&p->frame);
	if ((r = lb_busy_frame(&p->frame, p->decode_rc == LB_OK ? p->rq.nonce : NULL, LB_E_RATE,
	    p->retry_ms)) != LB_OK)
		return r;
	p->sealed = 1;
	p->signed_ = 1;   /* nothing to sign */
	return LB_OK;
}

/* How many of the LEN bytes at S fit in MAX without cutting a UTF-8
 * sequence. */
static size_t
lb_cut_utf8(const char *s, size_t len, size_t max)
{
	size_t n = len;

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* P's frame (length word, then the body already in P->frame) with room
 * for the signature; P->resp_in already holds what it covers. */
static int
lb_frame_close(struct lb_pending *p)
{
	static const uint8_t no_sig[LB_SIG_BYTES];
	size_t n;
	int r;

	if (p->frame.len - LB_FRAME_HDR + LB_SIG_BYTES > LB_FRAME_MAX)
		return LB_E_FRAME_TOO_LONG;
	p->sig_off = p->frame.len;
	if ((r = lb_buf_put(&p->frame, no_sig, sizeof(no_sig))) != LB_OK)
		return r;
	n = p->frame.len - LB_FRAME_HDR;   /* the length word, big-endian */
	p->frame.data[0] = (uint8_t)(n >> 24);
	p->frame.data[1] = (uint8_t)(n >> 16);
	p->frame.data[2] = (uint8_t)(n >> 8);
	p->frame.data[3] = (uint8_t)n;
	p->sealed = 1;
	return LB_OK;
}

/* A batch's answer: every entry's result (its texts cut to
 * LB_BATCH_TEXT_MAX), or the refusal of the whole batch. */
static int
lb_batch_seal(struct lb_broker *b, struct lb_pending *p)
{
	struct lb_bpend *bt = p->bt;
	struct lb_batch_response *rs = &bt->resp;
	const char *text;
	size_t i;
	int r;

	if (bt->e != NULL && lb_durable(b, p->seq) != LB_OK)
		lb_batch_refuse_seconds(b, p);   /* only failures' records wait for it */
	memset(rs, 0, sizeof(*rs));
	rs->version = LB_WIRE_VERSION_BATCH;
	rs->type = LB_MSG_BATCH_RESPONSE;
	if (p->decode_rc == LB_OK)
		memcpy(rs->nonce, bt->req.nonce, LB_NONCE_BYTES);
	if (bt->e == NULL || p->o.status != LB_OK) {
		rs->status = p->o.status != LB_OK ? p->o.status : LB_E_INVAL;
		text = lb_text_of(&p->o);
		rs->message = text;
		rs->message_len = lb_cut_utf8(text, strlen(text), LB_BATCH_TEXT_MAX);
	} else {
		rs->n = bt->req.n;
		for (i = 0; i < rs->n; i++) {
			struct lb_outcome *o = &bt->e[i].o;
			struct lb_batch_result *x = &rs->r[i];

			x->status = o->status;
			x->verdict = (uint8_t)(o->status == LB_OK ? o->d.verdict : LB_VERDICT_DENY);
			x->rule = o->d.rule != NULL && o->status == LB_OK ? o->d.rule->name : "";
			x->rule_len = lb_cut_utf8(x->rule, strlen(x->rule), LB_BATCH_TEXT_MAX);
			text = lb_text_of(o);
			x->message = text;
			x->message_len = lb_cut_utf8(text, strlen(text), LB_BATCH_TEXT_MAX - x->rule_len);
		}
	}
	lb_buf_reset(&p->frame);
	lb_buf_reset(&p->resp_in);
	if ((r = lb_buf_put_u32(&p->frame, 0)) != LB_OK ||
	    (r = lb_batch_response_encode_body(rs, &p->frame)) != LB_OK ||
	    (r = lb_batch_response_signed_input(p->frame.data + LB_FRAME_HDR,
	    p->frame.len - LB_FRAME_HDR, &p->resp_in)) != LB_OK)
		return r;
	return lb_frame_close(p);
}

int
lb_broker_seal(struct lb_broker *b, struct lb_pending *p)
{
	struct lb_outcome *o = &p->o;
	const char *text;
	int r;

	if (!p->decided)
		return LB_E_INVAL;
	if (p->sealed)
		return LB_OK;
	if ((r = lb_broker_make(b, p)) != LB_OK)
		return r;
	if (o->status == LB_E_RATE)
		return lb_broker_seal_busy(p);
	if (p->bt != NULL)
		return lb_batch_seal(b, p);
	if (lb_durable(b, p->seq) != LB_OK)
		lb_refuse_unaudited(b, p);
	/* A list's answer: its page, and the next page's cursor in place of
	 * a rule (docs/protocol.md, "Lists"). */
	if ((p->rule = lb_strdup(o->page != NULL && o->status == LB_OK ? o->cursor :
	    o->d.rule != NULL ? o->d.rule->name : "")) == NULL)
		return LB_E_NOMEM;
	text = lb_text_of(o);
	if (o->page != NULL && o->status == LB_OK) {
		if (lb_buf_cstr(o->page, &text) != LB_OK)
			return LB_E_NOMEM;
	}
	memset(&p->resp, 0, sizeof(p->resp));
	p->resp.version = LB_WIRE_VERSION;
	p->resp.type = LB_MSG_RESPONSE;
	/* The request's nonce whenever it could be read, refused for its rate
	 * or not: a pipelining client matches answers by nonce, and a zero
	 * nonce read as another request's answer, i.e. a forged one. */
	if (p->decode_rc == LB_OK)
		memcpy(p->resp.nonce, p->rq.nonce, LB_NONCE_BYTES);
	p->resp.status = o->status;
	p->resp.verdict = (uint8_t)(o->status == LB_OK ? o->d.verdict : LB_VERDICT_DENY);
	p->resp.rule = p->rule;
	p->resp.rule_len = strlen(p->rule);
	p->resp.message = text;
	p->resp.message_len = strlen(text) > LB_WIRE_STR_MAX ? LB_WIRE_STR_MAX : strlen(text);
	/* The frame: length word, body, and room for the signature; and the
	 * bytes the signature covers, for lb_broker_sign on any thread. */
	lb_buf_reset(&p->frame);
	if ((r = lb_response_signed_input(&p->resp, &p->resp_in)) != LB_OK ||
	    (r = lb_buf_put_u32(&p->frame, 0)) != LB_OK ||
	    (r = lb_response_encode_body(&p->resp, &p->frame)) != LB_OK)
		return r;
	return lb_frame_close(p);
}

int
lb_broker_sign(const struct lb_broker *b, struct lb_pending *p)
{
	int r;

	if (!p->sealed)
		return LB_E_INVAL;
	if (p->signed_)
		return LB_OK;
	/* No allocation here: this runs on the daemon's worker threads. */
	if ((r = lb_sign_prepared(b->sk, p->resp_in.data, p->resp_in.len,
	    p->frame.data + p->sig_off)) != LB_OK)
		return r;
	p->signed_ = 1;
	return LB_OK;
}

int
lb_broker_deliver(struct lb_pending *p, struct lb_buf *out)
{
	if (!p->signed_)
		return LB_E_INVAL;
	return lb_buf_put(out, p->frame.data, p->frame.len);
}

int
lb_broker_answer(struct lb_broker *b, struct lb_pending *p, struct lb_buf *out)
{
	int r;

	if ((r = lb_broker_seal(b, p)) != LB_OK ||
	    (r = lb_broker_sign(b, p)) != LB_OK)
		return r;
	return lb_broker_deliver(p, out);
}

int
lb_broker_handle(struct lb_broker *b, const struct lb_peer *peer,
    const uint8_t *msg, size_t len, uint64_t now, struct lb_buf *out)
{
	struct lb_pending *pd;
	int r;

	if ((r = lb_broker_begin(b, peer, msg, len, now, &pd)) != LB_OK)
		return r;
	r = lb_broker_answer(b, pd, out);
	lb_broker_pending_free(b, pd);
	return r;
}

/* ---- the index from the log at start-up ---- */

/* Only made and removed records are parsed (a look at the event, which
 * every record has at the same place, early in its line). */
static int
lb_index_wants(const char *line, size_t len)
{
	static const char ev[] = "\"event\":\"";
	const size_t head = len < 96 ? len : 96;
	size_t i;

	for (i = 0; i + sizeof(ev) - 1 <= head; i++) {
		if (memcmp(line + i, ev, sizeof(ev) - 1) != 0)
			continue;
		i += sizeof(ev) - 1;
		return (len - i >= 5 && memcmp(line + i, "made\"", 5) == 0) ||
		    (len - i >= 8 && memcmp(line + i, "removed\"", 8) == 0);
	}
	return 0;
}

static int
lb_index_first(void *ctx, const struct lb_audit_line *l, const char *line, size_t len)
{
	(void)ctx;
	(void)l;
	(void)line;
	(void)len;
	return 1;   /* it is there: enough */
}

/* The start-up read of the index (lb_broker_index_begin): its files and
 * the last record it takes (those after it are the broker's, made while
 * it reads), and its own index, merged in by the broker thread once DONE.
 * Freed by whichever of the broker and the reading thread lets go last. */
struct lb_index_job {
	char *path;                       /* the log (NULL: none) */
	char **files;
	size_t n;
	uint64_t upto;
	struct lb_index *ix;
	int rc;
	atomic_int done;
	atomic_int refs;
};

static void
lb_index_job_free(struct lb_index_job *j)
{
	size_t i;

	for (i = 0; j->files != NULL && i < j->n; i++)
		free(j->files[i]);
	free(j->files);
	free(j->path);
	lb_index_free(j->ix);
	free(j);
}

static void
lb_index_job_drop(struct lb_index_job *j)
{
	if (j != NULL && atomic_fetch_sub(&j->refs, 1) == 1)
		lb_index_job_free(j);
}

struct lb_index_load {
	struct lb_index *ix;
	uint64_t upto;
	struct lb_buf sid, link, target, tres;
	int nomem;
};

static int
lb_index_load_rec(void *ctx, const struct lb_audit_line *l, const char *line, size_t len)
{
	struct lb_index_load *ld = ctx;
	int made;

	(void)line;
	(void)len;
	if (l->seq > ld->upto)
		return 1;   /* the broker's own since the read began: it has them */
	if (l->verdict.null || l->verdict.raw_len != 7 || memcmp(l->verdict.raw, "allowed", 7) != 0)
		return 0;
	made = l->event.raw_len == 4;   /* lb_index_wants let only made and removed through */
	if (lb_json_str_cstr(&l->sid, &ld->sid) != LB_OK ||
	    lb_json_str_cstr(&l->link_resolved, &ld->link) != LB_OK ||
	    lb_json_str_cstr(&l->target, &ld->target) != LB_OK ||
	    lb_json_str_cstr(&l->target_resolved, &ld->tres) != LB_OK)
		return 0;   /* not one the broker wrote: left out */
	if (!made) {
		lb_index_removed(ld->ix, (const char *)ld->sid.data, (const char *)ld->link.data);
		return 0;
	}
	if (lb_index_made(ld->ix, (const char *)ld->sid.data, l->seq, l->time, l->kind,
	    (const char *)ld->link.data, (const char *)ld->target.data, (const char *)ld->tres.data,
	    l->has_file ? l->file : NULL) == LB_E_NOMEM)
		ld->nomem = 1;
	return 0;
}

/* J's files: PATH, then PATH.1, PATH.2, ... up to the first that is not
 * there, in the order of their chain if their first records tell it,
 * else oldest (highest number) first. On the reader's thread: start-up
 * reads no file for the index. */
static int
lb_index_job_files(struct lb_index_job *j)
{
	const char **order;
	char *name;
	size_t i, plen;
	int there;

	if (j->path == NULL)
		return LB_OK;
	if ((j->files = calloc(LB_AUDIT_SET_MAX, sizeof(*j->files))) == NULL)
		return LB_E_NOMEM;
	plen = strlen(j->path) + 8;
	for (i = 0; i < LB_AUDIT_SET_MAX; i++) {
		if ((name = malloc(plen)) == NULL)
			return LB_E_NOMEM;
		if (i == 0)
			snprintf(name, plen, "%s", j->path);
		else
			snprintf(name, plen, "%s.%zu", j->path, i);
		there = lb_audit_each(name, lb_index_first, NULL, NULL) != LB_E_NOENT;
		if (there)
			j->files[j->n++] = name;   /* unreadable too: the read says so */
		else
			free(name);
		if (!there && i > 0)
			break;
	}
	if ((order = malloc((j->n > 0 ? j->n : 1) * sizeof(*order))) == NULL)
		return LB_E_NOMEM;
	for (i = 0; i < j->n; i++)
		order[i] = j->files[i];
	if (lb_audit_set_order(order, j->n, NULL) == LB_OK)
		for (i = 0; i < j->n; i++)
			j->files[i] = (char *)order[i];
	else
		for (i = 0; i < j->n / 2; i++) {
			char *t = j->files[i];

			j->files[i] = j->files[j->n - 1 - i];
			j->files[j->n - 1 - i] = t;
		}
	free(order);
	return LB_OK;
}

int
lb_broker_index_begin(struct lb_broker *b, const char *path, struct lb_index_job **job)
{
	struct lb_index_job *j;

	*job = NULL;
	if (b->job != NULL)
		return LB_E_INVAL;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return LB_E_NOMEM;
	atomic_init(&j->done, 0);
	atomic_init(&j->refs, 2);   /* the broker's and the reader's */
	lb_audit_head(b->audit, &j->upto, NULL);
	if (lb_index_new(b->pol->policy->flavor, &j->ix) != LB_OK ||
	    (path != NULL && (j->path = lb_strdup(path)) == NULL)) {
		lb_index_job_free(j);   /* never handed out: nobody holds it */
		return LB_E_NOMEM;
	}
	b->job = j;   /* the broker's reference, until the result is in */
	b->index_ready = 0;
	*job = j;
	return LB_OK;
}

/* J's files read into its index; DONE set (nothing of J is touched after
 * that by this call). */
static void
lb_index_job_read(struct lb_index_job *j)
{
	struct lb_index_load ld;
	size_t i;
	int r, r1, listed;

	memset(&ld, 0, sizeof(ld));
	ld.ix = j->ix;
	ld.upto = j->upto;
	lb_buf_init(&ld.sid, 4096);
	lb_buf_init(&ld.link, LB_PATH_BUF_MAX + 1);
	lb_buf_init(&ld.target, LB_PATH_BUF_MAX + 1);
	lb_buf_init(&ld.tres, LB_PATH_BUF_MAX + 1);
	r = lb_index_job_files(j);
	listed = r == LB_OK;
	for (i = 0; listed && i < j->n; i++) {
		r1 = lb_audit_each_wanted(j->files[i], lb_index_wants, lb_index_load_rec, &ld, NULL);
		if (r1 != LB_OK && r1 != LB_E_NOENT && r == LB_OK)
			r = r1;   /* a file that cannot be read: the rest still counts */
	}
	if (r == LB_OK && ld.nomem)
		r = LB_E_NOMEM;
	j->rc = r;
	lb_buf_free(&ld.sid);
	lb_buf_free(&ld.link);
	lb_buf_free(&ld.target);
	lb_buf_free(&ld.tres);
	atomic_store(&j->done, 1);
}

void
lb_index_job_run(struct lb_index_job *j)
{
	lb_index_job_read(j);
	lb_index_job_drop(j);   /* the reader's reference: nothing of J after this */
}

/* Begun J read here, on the broker's thread, and taken in: the reader's
 * reference is given up first, so the broker's is the last. */
static void
lb_index_job_in_place(struct lb_broker *b, struct lb_index_job *j)
{
	lb_index_job_read(j);
	atomic_store(&j->refs, 1);
	lb_index_job_take(b);
}

/* The broker thread: a finished job's index, with the links made since it
 * began, becomes the broker's. */
static void
lb_index_job_take(struct lb_broker *b)
{
	struct lb_index_job *j = b->job;

	if (j == NULL || !atomic_load(&j->done))
		return;
	if (lb_index_merge(j->ix, b->index) == LB_OK) {
		lb_index_free(b->index);
		b->index = j->ix;
		j->ix = NULL;
	}
	/* else: the links made since start only (the event log is told by
	 * the daemon's own start-up line; list shows fewer, rm refuses) */
	b->index_rc = j->rc;
	b->job = NULL;
	b->index_ready = 1;
	lb_index_job_drop(j);
}

int
lb_broker_index_ready(const struct lb_broker *b)
{
	return b->index_ready;
}

static void
lb_index_job_thread(void *arg)
{
	lb_index_job_run(arg);
}

int
lb_broker_index_start(struct lb_broker *b, const char *path)
{
	struct lb_index_job *j;
	int r;

	if ((r = lb_broker_index_begin(b, path, &j)) != LB_OK)
		return r;
	if (b->fs->spawn != NULL && b->fs->spawn(lb_index_job_thread, j) == LB_OK)
		return LB_OK;
	lb_index_job_in_place(b, j);
	return LB_OK;
}

int
lb_broker_load_index(struct lb_broker *b, const char *path, size_t *links)
{
	struct lb_index_job *j;
	int r;

	if (links != NULL)
		*links = 0;
	if ((r = lb_broker_index_begin(b, path, &j)) != LB_OK)
		return r;
	lb_index_job_in_place(b, j);
	if (links != NULL)
		*links = lb_index_count(b->index);
	return b->index_rc;
}
