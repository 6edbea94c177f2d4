/* lb_namecache: a bounded, time-limited cache of SID -> DOMAIN, NAME. A
 * hash table over a fixed array of entries, with the entries also on a list
 * from oldest to newest: every entry lives for the same TTL, so the oldest
 * is both the first to expire and the one to evict when the cache is full.
 * Only names that were found are kept: a failed or empty lookup is asked
 * again next time. */
#include <stdlib.h>
#include <string.h>

#include "lb_namecache.h"
#include "lb_str.h"

#define LB_NC_NIL ((size_t)-1)
/* Longer than any SID string (S-1-, 15 sub-authorities of 10 digits). */
#define LB_NC_SID_MAX 256

struct lb_nc_entry {
	char *sid;                 /* NULL: on the free list */
	char *domain;
	char *name;
	int64_t born;
	uint32_t hash;
	size_t next;               /* bucket chain, or the free list */
	size_t older, newer;       /* the age list */
};

struct lb_namecache {
	struct lb_nc_entry *e;
	size_t cap, n;
	size_t *bucket;
	size_t n_buckets;          /* power of two, >= 2 * cap */
	size_t oldest, newest;
	size_t free_head;
	int64_t ttl_ms;
	lb_namecache_lookup_fn lookup;
	lb_namecache_clock_fn clock;
	void *clock_arg;
	struct lb_namecache_stats st;
};

int
lb_namecache_new(size_t cap, int64_t ttl_ms, lb_namecache_lookup_fn lookup,
    lb_namecache_clock_fn clock, void *clock_arg, struct lb_namecache **out)
{
	struct lb_namecache *c;
	size_t i;

	if (out == NULL)
		return LB_E_INVAL;
	*out = NULL;
	if (cap == 0 || cap > SIZE_MAX / 4 / sizeof(struct lb_nc_entry) || ttl_ms < 0 ||
	    lookup == NULL || clock == NULL)
		return LB_E_INVAL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return LB_E_NOMEM;
	for (c->n_buckets = 16; c->n_buckets < 2 * cap; c->n_buckets *= 2)
		;
	c->e = calloc(cap, sizeof(*c->e));
	c->bucket = malloc(c->n_buckets * sizeof(*c->bucket));
	if (c->e == NULL || c->bucket == NULL) {
		lb_namecache_free(c);
		return LB_E_NOMEM;
	}
	c->cap = cap;
	c->ttl_ms = ttl_ms;
	c->lookup = lookup;
	c->clock = clock;
	c->clock_arg = clock_arg;
	for (i = 0; i < c->n_buckets; i++)
		c->bucket[i] = LB_NC_NIL;
	for (i = 0; i < cap; i++)
		c->e[i].next = i + 1 < cap ? i + 1 : LB_NC_NIL;
	c->free_head = 0;
	c->oldest = c->newest = LB_NC_NIL;
	*out = c;
	return LB_OK;
}

/* Unlink entry I from its bucket and the age list, free its strings and
 * put it on the free list. */
static void
lb_nc_drop(struct lb_namecache *c, size_t i)
{
	struct lb_nc_entry *x = &c->e[i];
	size_t *link = &c->bucket[x->hash & (c->n_buckets - 1)];

	while (*link != i)
		link = &c->e[*link].next;
	*link = x->next;
	if (x->older != LB_NC_NIL)
		c->e[x->older].newer = x->newer;
	else
		c->oldest = x->newer;
	if (x->newer != LB_NC_NIL)
		c->e[x->newer].older = x->older;
	else
		c->newest = x->older;
	free(x->sid);
	free(x->domain);
	free(x->name);
	memset(x, 0, sizeof(*x));
	x->next = c->free_head;
	c->free_head = i;
	c->n--;
}

/* Older than the TTL, or born "after" NOW (a clock that went back): not
 * to be trusted either way. */
static int
lb_nc_expired(const struct lb_namecache *c, size_t i, int64_t now)
{
	int64_t born = c->e[i].born;

	return now < born || now - born >= c->ttl_ms;
}

void
lb_namecache_clear(struct lb_namecache *c)
{
	if (c == NULL)
		return;
	while (c->oldest != LB_NC_NIL)
		lb_nc_drop(c, c->oldest);
}

void
lb_namecache_free(struct lb_namecache *c)
{
	if (c == NULL)
		return;
	if (c->e != NULL && c->bucket != NULL)
		lb_namecache_clear(c);
	free(c->e);
	free(c->bucket);
	free(c);
}

size_t
lb_namecache_size(const struct lb_namecache *c)
{
	return c != NULL ? c->n : 0;
}

void
lb_namecache_get_stats(const struct lb_namecache *c, struct lb_namecache_stats *out)
{
	if (c != NULL)
		*out = c->st;
	else
		memset(out, 0, sizeof(*out));
}

static int
lb_nc_copy(const char *domain, const char *name, char **d_out, char **n_out)
{
	if ((*d_out = lb_strdup(domain)) == NULL || (*n_out = lb_strdup(name)) == NULL) {
		free(*d_out);
		*d_out = NULL;
		return LB_E_NOMEM;
	}
	return LB_OK;
}

/* Keep SID's name (copies): the oldest entry makes room when full. A
 * failure to copy just leaves it out; the caller has its answer. */
static void
lb_nc_insert(struct lb_namecache *c, const char *sid, uint32_t h,
    const char *domain, const char *name, int64_t now)
{
	struct lb_nc_entry *x;
	size_t i, b;

	if (c->free_head == LB_NC_NIL) {
		/* No free entry: all CAP are on the age list, so there is an
		 * oldest (said for the analyzer, which cannot know it). */
		if (c->oldest == LB_NC_NIL)
			return;
		lb_nc_drop(c, c->oldest);
		c->st.evicted++;
	}
	if ((i = c->free_head) >= c->cap)
		return;
	x = &c->e[i];
	x->sid = lb_strdup(sid);
	if (x->sid == NULL || lb_nc_copy(domain, name, &x->domain, &x->name) != LB_OK) {
		free(x->sid);
		x->sid = NULL;
		return;   /* still on the free list: next is untouched */
	}
	c->free_head = x->next;
	b = h & (c->n_buckets - 1);
	x->hash = h;
	x->born = now;
	x->next = c->bucket[b];
	c->bucket[b] = i;
	x->older = c->newest;
	x->newer = LB_NC_NIL;
	if (c->newest != LB_NC_NIL)
		c->e[c->newest].newer = i;
	else
		c->oldest = i;
	c->newest = i;
	c->n++;
}

int
lb_namecache_get(struct lb_namecache *c, const char *sid, void *arg,
    char **domain, char **name)
{
	char *d = NULL, *nm = NULL;
	int64_t now;
	uint32_t h;
	size_t i;
	int r;

	if (domain != NULL)
		*domain = NULL;
	if (name != NULL)
		*name = NULL;
	if (c == NULL || sid == NULL || domain == NULL || name == NULL ||
	    strlen(sid) > LB_NC_SID_MAX)
		return LB_E_INVAL;
	now = c->clock(c->clock_arg);
	/* Names past their time go first, oldest first. */
	while (c->oldest != LB_NC_NIL && lb_nc_expired(c, c->oldest, now)) {
		lb_nc_drop(c, c->oldest);
		c->st.expired++;
	}
	h = lb_str_hash(sid);
	for (i = c->bucket[h & (c->n_buckets - 1)]; i != LB_NC_NIL; i = c->e[i].next)
		if (c->e[i].hash == h && strcmp(c->e[i].sid, sid) == 0)
			break;
	if (i != LB_NC_NIL && lb_nc_expired(c, i, now)) {
		/* only after the clock went back */
		lb_nc_drop(c, i);
		c->st.expired++;
		i = LB_NC_NIL;
	}
	if (i != LB_NC_NIL) {
		c->st.hits++;
		return lb_nc_copy(c->e[i].domain, c->e[i].name, domain, name);
	}
	c->st.misses++;
	r = c->lookup(arg, sid, &d, &nm);
	if (r != LB_OK || d == NULL || nm == NULL) {
		if (r != LB_OK)
			c->st.failed++;
		else
			c->st.unmapped++;
		free(d);
		free(nm);
		return r;
	}
	if (c->ttl_ms > 0)
		lb_nc_insert(c, sid, h, d, nm, now);
	*domain = d;
	*name = nm;
	return LB_OK;
}
