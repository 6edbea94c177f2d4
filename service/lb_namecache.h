/* lb_namecache: account names by SID, kept for a short time, so that the
 * Windows service asks LookupAccountSidW once per SID per TTL, not once per
 * group of every connection. Portable: the lookup and the clock are given. */
#ifndef LB_NAMECACHE_H
#define LB_NAMECACHE_H

#include <stddef.h>
#include <stdint.h>

#include "lb_err.h"

/* The service's bounds (docs/windows-identity.md, "Name lookups"): a name
 * is reused for 2 s at most, like the POSIX daemon's account cache
 * (LB_PEER_CACHE_MS); 2048 SIDs are two tokens of Windows' maximum of 1024
 * SIDs, or 64 users (the POSIX cache's 64 slots) of 32 groups each. */
#define LB_NAMECACHE_TTL_MS 2000
#define LB_NAMECACHE_CAP 2048

/* Look SID (a SID string) up. On LB_OK, *DOMAIN and *NAME are malloc'd
 * (the domain may be "", as for Everyone), or both NULL when no account has
 * that SID (or the domain that knows does not answer): not an error, and
 * not cached. A negative LB_E_* is passed on and not cached either. ARG is
 * lb_namecache_get's. */
typedef int (*lb_namecache_lookup_fn)(void *arg, const char *sid,
    char **domain, char **name);
/* A monotonic clock in milliseconds. */
typedef int64_t (*lb_namecache_clock_fn)(void *arg);

struct lb_namecache_stats {
	uint64_t hits, misses;         /* misses: lookups made */
	uint64_t unmapped, failed;     /* lookups that gave no name / an error */
	uint64_t expired, evicted;     /* entries dropped for age / for room */
};

struct lb_namecache;

/* A cache of at most CAP (>= 1) names, each kept for at most TTL_MS (>= 0;
 * 0 keeps nothing). CLOCK_ARG is passed to CLOCK. */
int lb_namecache_new(size_t cap, int64_t ttl_ms, lb_namecache_lookup_fn lookup,
    lb_namecache_clock_fn clock, void *clock_arg, struct lb_namecache **out) LB_WUR;
void lb_namecache_free(struct lb_namecache *c);

/* The account of SID: from the cache if it was looked up less than the TTL
 * ago, else through the lookup (with ARG), kept only if it found a name.
 * LB_OK with *DOMAIN and *NAME malloc'd copies (caller frees), or both
 * NULL when the SID has no name; else the lookup's error or LB_E_NOMEM
 * (both NULL). Not thread-safe: callers serialise. */
int lb_namecache_get(struct lb_namecache *c, const char *sid, void *arg,
    char **domain, char **name) LB_WUR;

/* Forget every name (e.g. before a policy reload; tests). */
void lb_namecache_clear(struct lb_namecache *c);
size_t lb_namecache_size(const struct lb_namecache *c);
void lb_namecache_get_stats(const struct lb_namecache *c, struct lb_namecache_stats *out);

#endif
