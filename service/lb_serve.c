/* lb_serve: daemon chores shared by service/posix/ and service/win/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_serve.h"

struct lb_seen_rec {
	uint8_t key[LB_PK_BYTES];
	uint8_t nonce[LB_NONCE_BYTES];
	uint64_t ts;
};

void
lb_seen_collect(void *seen, const uint8_t key[LB_PK_BYTES],
    const uint8_t nonce[LB_NONCE_BYTES], uint64_t timestamp)
{
	struct lb_seen *s = seen;

	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 256;
		struct lb_seen_rec *nv;

		if (ncap > SIZE_MAX / sizeof(*nv) || (nv = realloc(s->v, ncap * sizeof(*nv))) == NULL) {
			s->nomem = 1;
			return;
		}
		s->v = nv;
		s->cap = ncap;
	}
	memcpy(s->v[s->n].key, key, LB_PK_BYTES);
	memcpy(s->v[s->n].nonce, nonce, LB_NONCE_BYTES);
	s->v[s->n].ts = timestamp;
	s->n++;
}

void
lb_seen_apply(const struct lb_seen *s, struct lb_broker *b)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		lb_broker_remember(b, s->v[i].key, s->v[i].nonce, s->v[i].ts);
}

void
lb_seen_free(struct lb_seen *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int
lb_serve_open(struct lb_policy *policy, const uint8_t sk[LB_SK_BYTES],
    struct lb_audit_io io, const struct lb_fs_ops *fs, uint64_t now,
    struct lb_audit **audit, struct lb_broker **broker, size_t *remembered,
    char *err, size_t errlen)
{
	const struct lb_broker_cfg *cfg = &policy->broker;
	struct lb_seen seen = { 0 };
	struct lb_audit_start st;
	uint64_t since = now > cfg->max_clock_skew_s ? now - cfg->max_clock_skew_s : 0;
	char *prev = NULL;
	size_t plen;
	int r;

	*audit = NULL;
	*broker = NULL;
	*remembered = 0;
	/* Rotation (logrotate, or the broker's own) moves the log to PATH.1:
	 * after a rotation while stopped, the chain and the recent requests
	 * are there (docs/audit.md, "Rotation"). */
	memset(&st, 0, sizeof(st));
	st.path = cfg->audit_log;
	st.since = since;
	st.window_s = cfg->max_clock_skew_s;
	if (cfg->audit_log != NULL) {
		plen = strlen(cfg->audit_log) + 3;
		if ((prev = malloc(plen)) == NULL) {
			r = LB_E_NOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		snprintf(prev, plen, "%s.1", cfg->audit_log);
		st.prev_path = prev;
	}
	if ((r = lb_audit_open_tail(&st, io, lb_seen_collect, &seen, audit)) != LB_OK) {
		snprintf(err, errlen, "audit log %s: %s (check it with 'linkbrokerd verify-audit'; "
		    "see docs/audit.md)", cfg->audit_log, lb_strerror(r));
		goto out;
	}
	if (seen.nomem) {
		r = LB_E_NOMEM;
		snprintf(err, errlen, "audit log %s: out of memory reading recent requests", cfg->audit_log);
		goto out;
	}
	if ((r = lb_broker_new(policy, sk, *audit, fs, broker)) != LB_OK) {
		snprintf(err, errlen, "cannot start the broker: %s", lb_strerror(r));
		goto out;
	}
	lb_seen_apply(&seen, *broker);
	*remembered = seen.n;
	/* the links made and not removed, for list and rm: read on a thread
	 * of their own, so that start-up does not wait for a long log */
	if ((r = lb_broker_index_start(*broker, cfg->audit_log)) != LB_OK) {
		snprintf(err, errlen, "audit log %s: cannot index the links it names: %s",
		    cfg->audit_log, lb_strerror(r));
		lb_broker_free(*broker);
		*broker = NULL;
		goto out;
	}
out:
	if (r != LB_OK) {
		lb_audit_close(*audit);
		*audit = NULL;
	}
	lb_seen_free(&seen);
	free(prev);
	return r;
}

static int
lb_str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* Add the directory holding FILE (a path in use) as a floor of P. */
static int
lb_floor_parent(struct lb_policy *p, const char *file)
{
	struct lb_path fp, parent;
	int r;

	if (file == NULL)
		return LB_OK;
	if ((r = lb_path_canon(p->flavor, file, strlen(file), &fp)) != LB_OK)
		return r;
	r = lb_path_parent(&fp, &parent);
	lb_path_free(&fp);
	if (r != LB_OK)
		return r;
	r = lb_policy_add_floor(p, parent.s, "links are never created in the broker's own directories");
	lb_path_free(&parent);
	return r;
}

int
lb_serve_keep_floors(struct lb_policy *np, const struct lb_broker_cfg *old, int *moved)
{
	int r;

	*moved = lb_str_differs(old->endpoint, np->broker.endpoint) ||
	    lb_str_differs(old->audit_log, np->broker.audit_log) ||
	    lb_str_differs(old->service_key, np->broker.service_key) ||
	    lb_str_differs(old->service_public_key, np->broker.service_public_key);
	if (!*moved)
		return LB_OK;
	/* A Windows endpoint is a pipe, not a file. */
	if ((np->flavor == LB_FLAVOR_POSIX && (r = lb_floor_parent(np, old->endpoint)) != LB_OK) ||
	    (r = lb_floor_parent(np, old->audit_log)) != LB_OK ||
	    (r = lb_floor_parent(np, old->service_key)) != LB_OK ||
	    (r = lb_floor_parent(np, old->service_public_key)) != LB_OK)
		return r;
	return LB_OK;
}

static size_t
lb_fp_set(uint8_t dst[LB_WATCH_FP_MAX], const void *fp, size_t n)
{
	if (fp == NULL || n == 0)
		return 0;
	if (n > LB_WATCH_FP_MAX)
		n = LB_WATCH_FP_MAX;
	memcpy(dst, fp, n);
	return n;
}

void
lb_watch_loaded(struct lb_watch *w, const void *fp, size_t n)
{
	w->loaded_n = lb_fp_set(w->loaded, fp, n);
	w->cand_n = 0;
}

int
lb_watch_present(const struct lb_watch *w)
{
	return w->loaded_n > 0;
}

int
lb_watch_seen(struct lb_watch *w, const void *fp, size_t n)
{
	if (n > LB_WATCH_FP_MAX)
		n = LB_WATCH_FP_MAX;
	if (fp == NULL || n == 0) {
		/* Missing: keep the policy in force; load the file once it is back. */
		w->loaded_n = 0;
		w->cand_n = 0;
		return 0;
	}
	if (w->loaded_n == n && memcmp(w->loaded, fp, n) == 0) {
		w->cand_n = 0;
		return 0;
	}
	if (w->cand_n == n && memcmp(w->cand, fp, n) == 0)
		return 1;   /* changed and held still for an interval */
	w->cand_n = lb_fp_set(w->cand, fp, n);
	return 0;
}

void
lb_serve_head(const struct lb_audit *a, char *out, size_t outlen)
{
	uint8_t hash[LB_HASH_BYTES];
	char hex[2 * LB_HASH_BYTES + 1];
	uint64_t seq;
	size_t i;

	lb_audit_head(a, &seq, hash);
	for (i = 0; i < LB_HASH_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	snprintf(out, outlen, "seq %llu hash %s", (unsigned long long)seq, hex);
}

int
lb_serve_frame(size_t *len, size_t *off, const uint8_t *in, const uint8_t **msg,
    size_t *mlen)
{
	size_t used;
	int r;

	r = lb_frame_parse(in + *off, *len - *off, msg, mlen, &used);
	if (r == LB_E_SHORT)
		return 0;
	if (r != LB_OK) {
		*len = 0;
		*off = 0;
		return -1;
	}
	*off += used;
	return 1;
}

void
lb_serve_frames_done(uint8_t *in, size_t *len, size_t off)
{
	if (off == 0)
		return;
	memmove(in, in + off, *len - off);
	*len -= off;
}
