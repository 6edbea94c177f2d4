/* lb_index: the links the broker made, per user (lb_index.h).
 *
 * The entries are kept in the order of their made records (a vector, so
 * a list's cursor is a binary search) and found by user and link through
 * an open-addressing table of SipHash values under a per-process key: a
 * user cannot aim collisions at it. A removed entry stays in the vector,
 * dead, until dead entries outnumber live ones; the vector and the table
 * are then rebuilt. */
#include <stdlib.h>
#include <string.h>

#include "lb_index.h"
#include "lb_sig.h"
#include "lb_str.h"

struct lb_ixuser {
	char *sid;
	size_t n;                     /* its live entries */
	size_t oldest;                /* no live entry of it before this index */
};

struct lb_index {
	enum lb_flavor flavor;
	struct lb_index_entry *v;     /* by seq */
	uint64_t *h;                  /* each entry's hash */
	size_t n, cap, live;
	size_t head;                  /* no live entry before this index */
	uint32_t *slots;              /* entry index + 1; 0 empty */
	size_t nslots;                /* a power of two, > 2 * n */
	struct lb_ixuser *users;
	size_t n_users, cap_users;
	uint8_t key[LB_SHORTHASH_KEY_BYTES];
	uint64_t forgotten;
};

int
lb_index_new(enum lb_flavor flavor, struct lb_index **out)
{
	struct lb_index *ix;

	*out = NULL;
	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return LB_E_NOMEM;
	ix->flavor = flavor;
	ix->nslots = 1024;
	if ((ix->slots = calloc(ix->nslots, sizeof(*ix->slots))) == NULL) {
		free(ix);
		return LB_E_NOMEM;
	}
	lb_random(ix->key, sizeof(ix->key));
	*out = ix;
	return LB_OK;
}

static void
lb_ixent_free(struct lb_index_entry *e)
{
	lb_path_free(&e->link);
	free(e->target);
	free(e->target_resolved);
	free(e->file);
	e->target = e->target_resolved = e->file = NULL;
	e->live = 0;
}

void
lb_index_free(struct lb_index *ix)
{
	size_t i;

	if (ix == NULL)
		return;
	for (i = 0; i < ix->n; i++)
		lb_ixent_free(&ix->v[i]);
	for (i = 0; i < ix->n_users; i++)
		free(ix->users[i].sid);
	free(ix->users);
	free(ix->v);
	free(ix->h);
	free(ix->slots);
	free(ix);
}

/* The hash of (USER, LINK), LINK by its lb_name_key: names Windows
 * compares as equal (any case) hash alike. */
static int
lb_ix_hash(const struct lb_index *ix, size_t user, const char *link, uint64_t *h)
{
	struct lb_buf key;
	int r;

	lb_buf_init(&key, sizeof(user) + 3 * LB_PATH_BUF_MAX + 1);
	if ((r = lb_buf_put(&key, &user, sizeof(user))) == LB_OK &&
	    (r = lb_name_key(ix->flavor, link, &key)) == LB_OK)
		*h = lb_keyed_hash64(ix->key, key.data, key.len);
	lb_buf_free(&key);
	return r;
}

static int
lb_ix_same(const struct lb_index *ix, const struct lb_index_entry *e, size_t user,
    const char *link)
{
	if (!e->live || e->user != user)
		return 0;
	return ix->flavor == LB_FLAVOR_WINDOWS ? lb_name_equal(ix->flavor, e->link.s, link) == 0 :
	    strcmp(e->link.s, link) == 0;
}

/* The live entry of USER at LINK (hash H), or NULL. */
static struct lb_index_entry *
lb_ix_lookup(const struct lb_index *ix, size_t user, const char *link, uint64_t h)
{
	size_t i, m = ix->nslots - 1;

	for (i = (size_t)h & m; ix->slots[i] != 0; i = (i + 1) & m) {
		struct lb_index_entry *e = &ix->v[ix->slots[i] - 1];

		if (ix->h[ix->slots[i] - 1] == h && lb_ix_same(ix, e, user, link))
			return e;
	}
	return NULL;
}

static void
lb_ix_slot_put(struct lb_index *ix, size_t k)
{
	size_t i, m = ix->nslots - 1;

	for (i = (size_t)ix->h[k] & m; ix->slots[i] != 0; i = (i + 1) & m)
		;
	ix->slots[i] = (uint32_t)(k + 1);
}

/* Drop the dead entries and rebuild the table for NEED entries. */
static int
lb_ix_rebuild(struct lb_index *ix, size_t need)
{
	uint32_t *slots;
	size_t nslots = 1024, i, k = 0;

	while (nslots <= 2 * need)
		nslots *= 2;
	if ((slots = calloc(nslots, sizeof(*slots))) == NULL)
		return LB_E_NOMEM;
	for (i = 0; i < ix->n; i++) {
		if (!ix->v[i].live)
			continue;
		ix->v[k] = ix->v[i];
		ix->h[k] = ix->h[i];
		k++;
	}
	ix->n = k;
	ix->head = 0;
	for (i = 0; i < ix->n_users; i++)
		ix->users[i].oldest = 0;
	free(ix->slots);
	ix->slots = slots;
	ix->nslots = nslots;
	for (i = 0; i < ix->n; i++)
		lb_ix_slot_put(ix, i);
	return LB_OK;
}

static void
lb_ix_kill(struct lb_index *ix, struct lb_index_entry *e)
{
	ix->users[e->user].n--;
	ix->live--;
	lb_ixent_free(e);
}

/* SID's user number, or SIZE_MAX if the index has none. */
static size_t
lb_ix_user_find(const struct lb_index *ix, const char *sid)
{
	size_t i;

	for (i = 0; i < ix->n_users; i++)
		if (strcmp(ix->users[i].sid, sid) == 0)
			return i;
	return SIZE_MAX;
}

/* The same, added if new (SIZE_MAX: out of memory). */
static size_t
lb_ix_user_add(struct lb_index *ix, const char *sid)
{
	struct lb_ixuser *nu;
	size_t i = lb_ix_user_find(ix, sid);

	if (i != SIZE_MAX)
		return i;
	if (ix->n_users == ix->cap_users) {
		size_t ncap = ix->cap_users ? ix->cap_users * 2 : 8;

		if ((nu = realloc(ix->users, ncap * sizeof(*nu))) == NULL)
			return SIZE_MAX;
		ix->users = nu;
		ix->cap_users = ncap;
	}
	nu = &ix->users[ix->n_users];
	memset(nu, 0, sizeof(*nu));
	if ((nu->sid = lb_strdup(sid)) == NULL)
		return SIZE_MAX;
	return ix->n_users++;
}

/* Forget USER's oldest live link (USER SIZE_MAX: anyone's). */
static void
lb_ix_forget_oldest(struct lb_index *ix, size_t user)
{
	size_t *from = user == SIZE_MAX ? &ix->head : &ix->users[user].oldest;
	size_t i;

	for (i = *from; i < ix->n; i++) {
		if (ix->v[i].live && (user == SIZE_MAX || ix->v[i].user == user)) {
			lb_ix_kill(ix, &ix->v[i]);
			ix->forgotten++;
			*from = i + 1;
			return;
		}
	}
	*from = ix->n;
}

static int
lb_ix_grow(struct lb_index *ix)
{
	struct lb_index_entry *nv;
	uint64_t *nh;
	size_t ncap;

	if (ix->n < ix->cap)
		return LB_OK;
	ncap = ix->cap ? ix->cap * 2 : 64;
	if ((nv = realloc(ix->v, ncap * sizeof(*nv))) == NULL)
		return LB_E_NOMEM;
	ix->v = nv;
	if ((nh = realloc(ix->h, ncap * sizeof(*nh))) == NULL)
		return LB_E_NOMEM;
	ix->h = nh;
	ix->cap = ncap;
	return LB_OK;
}

int
lb_index_made(struct lb_index *ix, const char *sid, uint64_t seq, uint64_t time,
    enum lb_kind kind, const char *link, const char *target, const char *target_resolved,
    const char *file)
{
	struct lb_index_entry e, *old;
	uint64_t h;
	size_t user;
	int r;

	if (sid == NULL || link == NULL || kind == LB_KIND_NONE || kind > LB_KIND_MAX ||
	    (ix->n > 0 && seq <= ix->v[ix->n - 1].seq))
		return LB_E_INVAL;
	memset(&e, 0, sizeof(e));
	if (lb_path_canon(ix->flavor, link, strlen(link), &e.link) != LB_OK ||
	    lb_path_require_absolute(&e.link) != LB_OK || strcmp(e.link.s, link) != 0) {
		lb_path_free(&e.link);
		return LB_E_INVAL;   /* the broker's resolved paths are canonical */
	}
	if ((user = lb_ix_user_add(ix, sid)) == SIZE_MAX) {
		lb_path_free(&e.link);
		return LB_E_NOMEM;
	}
	e.seq = seq;
	e.time = time;
	e.kind = kind;
	e.user = user;
	e.live = 1;
	e.target = lb_strdup(target != NULL ? target : "");
	e.target_resolved = lb_strdup(target_resolved != NULL ? target_resolved : "");
	e.file = lb_strdup(file != NULL ? file : "");
	r = LB_E_NOMEM;
	if (e.target == NULL || e.target_resolved == NULL || e.file == NULL ||
	    lb_ix_hash(ix, user, e.link.s, &h) != LB_OK)
		goto fail;
	if ((old = lb_ix_lookup(ix, user, e.link.s, h)) != NULL)
		lb_ix_kill(ix, old);
	if (ix->users[user].n >= LB_INDEX_USER_MAX)
		lb_ix_forget_oldest(ix, user);
	if (ix->live >= LB_INDEX_MAX)
		lb_ix_forget_oldest(ix, SIZE_MAX);
	if (ix->n - ix->live > ix->live || 2 * (ix->n + 1) >= ix->nslots) {
		if (lb_ix_rebuild(ix, ix->live + 1) != LB_OK)
			goto fail;
	}
	if (lb_ix_grow(ix) != LB_OK)
		goto fail;
	ix->v[ix->n] = e;
	ix->h[ix->n] = h;
	lb_ix_slot_put(ix, ix->n);
	ix->n++;
	ix->live++;
	ix->users[user].n++;
	return LB_OK;
fail:
	lb_ixent_free(&e);
	return r;
}

static struct lb_index_entry *
lb_ix_find(const struct lb_index *ix, const char *sid, const char *link)
{
	size_t user;
	uint64_t h;

	if (sid == NULL || link == NULL || (user = lb_ix_user_find(ix, sid)) == SIZE_MAX ||
	    lb_ix_hash(ix, user, link, &h) != LB_OK)
		return NULL;
	return lb_ix_lookup(ix, user, link, h);
}

void
lb_index_removed(struct lb_index *ix, const char *sid, const char *link)
{
	struct lb_index_entry *e = lb_ix_find(ix, sid, link);

	if (e != NULL)
		lb_ix_kill(ix, e);
}

const struct lb_index_entry *
lb_index_find(const struct lb_index *ix, const char *sid, const char *link)
{
	return lb_ix_find(ix, sid, link);
}

const struct lb_index_entry *
lb_index_next(const struct lb_index *ix, const char *sid, uint64_t after,
    const struct lb_path *prefix)
{
	size_t lo = 0, hi = ix->n, user;

	if (sid == NULL || (user = lb_ix_user_find(ix, sid)) == SIZE_MAX)
		return NULL;
	while (lo < hi) {   /* the first entry past AFTER */
		size_t mid = lo + (hi - lo) / 2;

		if (ix->v[mid].seq <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ix->n; lo++) {
		const struct lb_index_entry *e = &ix->v[lo];

		if (e->live && e->user == user && (prefix == NULL || lb_path_is_under(&e->link, prefix)))
			return e;
	}
	return NULL;
}

int
lb_index_merge(struct lb_index *dst, const struct lb_index *src)
{
	size_t i;
	int r;

	for (i = 0; i < src->n; i++) {
		const struct lb_index_entry *e = &src->v[i];

		if (!e->live)
			continue;
		r = lb_index_made(dst, src->users[e->user].sid, e->seq, e->time, e->kind, e->link.s,
		    e->target, e->target_resolved, e->file);
		if (r == LB_E_NOMEM)
			return r;
	}
	return LB_OK;
}

size_t
lb_index_count(const struct lb_index *ix)
{
	return ix->live;
}

uint64_t
lb_index_forgotten(const struct lb_index *ix)
{
	return ix->forgotten;
}
