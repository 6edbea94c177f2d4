/* Fuzz target: audit-line parsing. Whatever parses must format back to the
 * very same bytes (one canonical spelling per record), and every string
 * must unescape to bytes that escape back to its text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_audit.h"
#include "lb_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A decoded C-string field; 0 if it holds a NUL (cannot be a C string). */
static int
cstr_of(const struct lb_json_str *s, struct lb_buf *b, const char **out)
{
	*out = NULL;
	if (s->null)
		return 1;
	lb_buf_reset(b);
	if (lb_json_unescape(s->raw, s->raw_len, b, NULL) != LB_OK)
		abort();    /* the parser accepted it */
	if (b->len > 0 && memchr(b->data, 0, b->len) != NULL)
		return 0;
	if (lb_buf_cstr(b, out) != LB_OK)
		abort();
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Fields in struct order of lb_audit_rec's C strings. */
	enum { EV, VE, US, SI, LR, TR, RU, RE, KE, LI, TA, NF };
	struct lb_audit_line l;
	struct lb_audit_rec rec;
	struct lb_buf f[NF], out, tmp;
	struct lb_group *groups = NULL;
	struct lb_buf *gb = NULL;
	const char *c[NF];
	const struct lb_json_str *src[NF];
	uint8_t hash[LB_HASH_BYTES];
	struct lb_request r;
	size_t i, len = size;
	int ok = 1;

	/* The line as the reader hands it over: without its newline. */
	if (len > 0 && data[len - 1] == '\n')
		len--;
	lb_audit_line_init(&l);
	lb_buf_init(&out, LB_AUDIT_LINE_MAX);
	lb_buf_init(&tmp, LB_AUDIT_LINE_MAX);
	for (i = 0; i < NF; i++)
		lb_buf_init(&f[i], LB_AUDIT_LINE_MAX);
	if (lb_audit_line_parse(&l, (const char *)data, len, &tmp) != LB_OK)
		goto out;
	/* Must not crash either way; a request that decodes has its
	 * signature as the stored one. */
	if (lb_audit_line_request(&l, &r) == LB_OK &&
	    (l.sig == NULL || memcmp(r.sig, l.sig, LB_SIG_BYTES) != 0))
		abort();

	src[EV] = &l.event; src[VE] = &l.verdict; src[US] = &l.user; src[SI] = &l.sid;
	src[LR] = &l.link_resolved; src[TR] = &l.target_resolved; src[RU] = &l.rule;
	src[RE] = &l.reason; src[KE] = &l.key; src[LI] = &l.link; src[TA] = &l.target;
	for (i = 0; i < NF; i++)
		ok &= cstr_of(src[i], &f[i], &c[i]);
	if (l.n_groups > 0) {
		groups = calloc(l.n_groups, sizeof(*groups));
		gb = calloc(l.n_groups, sizeof(*gb));
		if (groups == NULL || gb == NULL)
			abort();
		for (i = 0; i < l.n_groups; i++) {
			lb_buf_init(&gb[i], LB_AUDIT_LINE_MAX);
			ok &= cstr_of(&l.groups[i], &gb[i], &groups[i].name);
		}
	}
	if (!ok)
		goto out;   /* a NUL inside: valid, but not from C strings */

	memset(&rec, 0, sizeof(rec));
	rec.event = c[EV]; rec.verdict = c[VE]; rec.user = c[US]; rec.sid = c[SI];
	rec.groups = groups; rec.n_groups = l.n_groups;
	rec.kind = l.kind;
	rec.link = l.link.null ? NULL : (const char *)f[LI].data;
	rec.link_len = l.link.null ? 0 : f[LI].len;
	rec.target = l.target.null ? NULL : (const char *)f[TA].data;
	rec.target_len = l.target.null ? 0 : f[TA].len;
	rec.link_resolved = c[LR]; rec.target_resolved = c[TR];
	rec.rule = c[RU]; rec.reason = c[RE]; rec.error = l.error; rec.key_name = c[KE];
	rec.request = l.request; rec.request_len = l.request_len; rec.sig = l.sig;
	if (l.in_batch) {
		rec.batch = l.batch;
		rec.index = l.index;
	}
	if (l.has_file)
		rec.file = l.file;
	/* An empty byte string has no data pointer to give. */
	if (rec.link == NULL && !l.link.null)
		rec.link = "";
	if (rec.target == NULL && !l.target.null)
		rec.target = "";
	if (lb_audit_format_line(&out, &rec, l.seq, l.time, l.prev, hash) != LB_OK)
		abort();
	/* Same bytes up to the hash; the hash itself is the one computed. */
	if (out.len < l.hashed_len || memcmp(out.data, data, l.hashed_len) != 0)
		abort();
	if (memcmp(hash, l.hash, LB_HASH_BYTES) == 0 &&
	    (out.len != len + 1 || memcmp(out.data, data, len) != 0))
		abort();
out:
	for (i = 0; gb != NULL && i < l.n_groups; i++)
		lb_buf_free(&gb[i]);
	free(gb);
	free(groups);
	for (i = 0; i < NF; i++)
		lb_buf_free(&f[i]);
	lb_buf_free(&out);
	lb_buf_free(&tmp);
	lb_audit_line_free(&l);
	return 0;
}
