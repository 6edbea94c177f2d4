/* lb_index: the links the broker made and has not removed, per user, as
 * its audit log says ("made" and "removed" records): what `linkbroker
 * list` shows and what `linkbroker rm` may remove. Rebuilt at start from
 * the log, kept up to date after each record; bounded. */
#ifndef LB_INDEX_H
#define LB_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "lb_err.h"
#include "lb_path.h"
#include "lb_wire.h"

/* Links kept in all and per user. Past them the user's (or, in all, the
 * broker's) oldest link is forgotten: still on disk and in the log, no
 * longer listed or removable through the broker (docs/client.md). */
#define LB_INDEX_MAX 262144
#define LB_INDEX_USER_MAX 65536

struct lb_index_entry {
	uint64_t seq;                 /* its "made" record */
	uint64_t time;                /* Unix seconds */
	enum lb_kind kind;
	struct lb_path link;          /* the link, resolved (the record's link_resolved) */
	char *target;                 /* as written into the link (the record's target) */
	char *target_resolved;        /* as decided on */
	char *file;                   /* its identity (lb_file_id_ok), "" if none was recorded */
	size_t user;                  /* index into the users */
	int live;
};

struct lb_index;

int lb_index_new(enum lb_flavor flavor, struct lb_index **out) LB_WUR;
void lb_index_free(struct lb_index *ix);

/* The link LINK (canonical, resolved) of user SID was made, as record SEQ
 * says: added, or in place of what the index had there for that user.
 * LB_OK; LB_E_INVAL for a path that is not canonical; LB_E_NOMEM. */
int lb_index_made(struct lb_index *ix, const char *sid, uint64_t seq, uint64_t time,
    enum lb_kind kind, const char *link, const char *target, const char *target_resolved,
    const char *file) LB_WUR;
/* It was removed (nothing if the index has no such link). */
void lb_index_removed(struct lb_index *ix, const char *sid, const char *link);
/* What SID has at LINK (compared as the flavour compares paths), or NULL. */
const struct lb_index_entry *lb_index_find(const struct lb_index *ix, const char *sid,
    const char *link);
/* SID's next link after record AFTER (0: from the first), in the order
 * they were made, under PREFIX (NULL: anywhere), or NULL. */
const struct lb_index_entry *lb_index_next(const struct lb_index *ix, const char *sid,
    uint64_t after, const struct lb_path *prefix);
/* Every link of SRC (all made after DST's last one) made in DST too, in
 * order: LB_OK, or LB_E_NOMEM with DST holding those before. */
int lb_index_merge(struct lb_index *dst, const struct lb_index *src) LB_WUR;
/* Links held, and links forgotten for the bounds since start. */
size_t lb_index_count(const struct lb_index *ix);
uint64_t lb_index_forgotten(const struct lb_index *ix);

#endif
