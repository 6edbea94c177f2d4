/* liblinkbroker: the public API (include/linkbroker.h) over lb_session.
 * Each handle owns a session and a lock; results are handed out with
 * NUL-terminated copies of their texts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkbroker.h"
#include "lb_session.h"

/* The public codes are the project's own. */
#define LB_SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(LB_SAME(LINKBROKER_E_NOMEM, LB_E_NOMEM) && LB_SAME(LINKBROKER_E_INVAL, LB_E_INVAL) &&
    LB_SAME(LINKBROKER_E_DENIED, LB_E_DENIED) && LB_SAME(LINKBROKER_E_IO, LB_E_IO) &&
    LB_SAME(LINKBROKER_E_EXISTS, LB_E_EXISTS) && LB_SAME(LINKBROKER_E_UNSUPPORTED, LB_E_UNSUPPORTED) &&
    LB_SAME(LINKBROKER_E_UNREACHABLE, LB_E_UNREACHABLE) && LB_SAME(LINKBROKER_E_NOT_GENUINE, LB_E_NOT_GENUINE) &&
    LB_SAME(LINKBROKER_E_USAGE, LB_E_USAGE) && LB_SAME(LINKBROKER_E_PERM, LB_E_PERM) &&
    LB_SAME(LINKBROKER_E_NOENT, LB_E_NOENT) && LB_SAME(LINKBROKER_E_TIMEOUT, LB_E_TIMEOUT) &&
    LB_SAME(LINKBROKER_E_BUSY, LB_E_BUSY) && LB_SAME(LINKBROKER_E_KEY_UNKNOWN, LB_E_KEY_UNKNOWN) &&
    LB_SAME(LINKBROKER_E_RATE, LB_E_RATE) && LB_SAME(LINKBROKER_E_NOT_DIR, LB_E_NOT_DIR) &&
    LB_SAME(LINKBROKER_E_FS_TIMEOUT, LB_E_FS_TIMEOUT) && LB_SAME(LINKBROKER_E_CHANGED, LB_E_CHANGED) &&
    LB_SAME(LINKBROKER_E_LAST_NAME, LB_E_LAST_NAME) && LB_SAME(LINKBROKER_E_NOT_MADE, LB_E_NOT_MADE),
    "public codes match lb_err.h");
_Static_assert(LB_SAME(LINKBROKER_SYMLINK, LB_KIND_SYMLINK) && LB_SAME(LINKBROKER_DIRSYMLINK, LB_KIND_DIRSYMLINK) &&
    LB_SAME(LINKBROKER_HARDLINK, LB_KIND_HARDLINK) && LB_SAME(LINKBROKER_JUNCTION, LB_KIND_JUNCTION),
    "public kinds match the wire's");
_Static_assert(LB_SAME(LINKBROKER_ANSWERED, LB_RES_ANSWERED) && LB_SAME(LINKBROKER_UNANSWERED, LB_RES_UNANSWERED) &&
    LB_SAME(LINKBROKER_NOT_SENT, LB_RES_NOT_SENT), "public states match lb_session.h");

/* A text handed out: at most this much of a rule or message. */
#define LB_TEXT_MAX (LB_FRAME_MAX + 1u)

struct linkbroker {
	struct lb_client_lock *lock;
	char *endpoint, *service_key;
	struct lb_session s;
	struct lb_buf rule, msg;          /* the texts of the result handed out */
	linkbroker_result_fn *fn;         /* batch: the caller's */
	void *fn_arg;
	linkbroker_progress_fn *progress;
	void *progress_arg;
	int export_status;                /* batch: copying a text failed */
};

static char *
lb_setting_dup(const char *given, const char *env, const char *dflt)
{
	const char *v = given;
	size_t n;
	char *d;

	if (v == NULL && ((v = getenv(env)) == NULL || v[0] == '\0'))
		v = dflt;
	n = strlen(v) + 1;
	if ((d = malloc(n)) != NULL)
		memcpy(d, v, n);
	return d;
}

int
linkbroker_open(struct linkbroker **out, const char *endpoint, const char *service_key)
{
	struct linkbroker *h;

	if (out == NULL)
		return LB_E_INVAL;
	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return LB_E_NOMEM;
	h->endpoint = lb_setting_dup(endpoint, "LINKBROKER_ENDPOINT", lb_client_default_endpoint());
	h->service_key = lb_setting_dup(service_key, "LINKBROKER_SERVICE_KEY",
	    lb_client_default_service_key());
	if (h->endpoint == NULL || h->service_key == NULL || lb_client_lock_new(&h->lock) != LB_OK) {
		free(h->endpoint);
		free(h->service_key);
		free(h);
		return LB_E_NOMEM;
	}
	lb_session_init(&h->s, h->endpoint, h->service_key);
	lb_buf_init(&h->rule, LB_TEXT_MAX);
	lb_buf_init(&h->msg, LB_TEXT_MAX);
	*out = h;
	return LB_OK;
}

void
linkbroker_close(struct linkbroker *h)
{
	if (h == NULL)
		return;
	lb_session_free(&h->s);
	lb_buf_free(&h->rule);
	lb_buf_free(&h->msg);
	lb_client_lock_free(h->lock);
	free(h->endpoint);
	free(h->service_key);
	free(h);
}

/* B := the N bytes at P and a NUL (the NUL not counted in b->len). */
static int
lb_text_set(struct lb_buf *b, const char *p, size_t n)
{
	int r;

	lb_buf_reset(b);
	if ((n > 0 && (r = lb_buf_put(b, p, n)) != LB_OK) || (r = lb_buf_put_u8(b, '\0')) != LB_OK) {
		lb_buf_reset(b);
		return r;
	}
	b->len--;
	return LB_OK;
}

static const char *
lb_text_of(const struct lb_buf *b)
{
	return b->len > 0 ? (const char *)b->data : "";
}

/* OUT := R, its texts copied into H. A text that cannot be copied is
 * handed out empty (the codes stay). */
static int
lb_export(struct linkbroker *h, const struct lb_result *r, struct linkbroker_result *out)
{
	int rc, rc2;

	rc = lb_text_set(&h->rule, r->rule, r->rule != NULL ? r->rule_len : 0);
	rc2 = lb_text_set(&h->msg, r->msg, r->msg != NULL ? r->msg_len : 0);
	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		out->status = r->status;
		out->allowed = r->status == LB_OK && r->allowed;
		out->exit_code = lb_result_exit(r);
		out->state = r->state;
		out->stopped = r->stopped;
		out->rule = lb_text_of(&h->rule);
		out->rule_len = h->rule.len;
		out->message = lb_text_of(&h->msg);
		out->message_len = h->msg.len;
	}
	return rc != LB_OK ? rc : rc2;
}

/* What a create or check call returns. */
static int
lb_outcome(const struct lb_result *r)
{
	if (r->status != LB_OK)
		return r->status;
	return r->allowed ? LB_OK : LB_E_DENIED;
}

static int
lb_kind_ok(int kind)
{
	return kind >= LINKBROKER_SYMLINK && kind <= LINKBROKER_JUNCTION;
}

/* RES for a call refused before anything was sent. */
static int
lb_refuse(struct linkbroker *h, int status, const char *why, struct linkbroker_result *res)
{
	struct lb_result r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.state = LB_RES_NOT_SENT;
	r.msg = why;
	r.msg_len = strlen(why);
	if (h != NULL)
		(void)lb_export(h, &r, res);
	return status;
}

static int
lb_link_request(struct linkbroker *h, uint8_t type, int kind, const char *link, const char *target,
    struct linkbroker_result *res)
{
	struct lb_result r;

	if (h == NULL)
		return LB_E_INVAL;
	if (link == NULL || target == NULL || !lb_kind_ok(kind))
		return lb_refuse(h, LB_E_INVAL, link == NULL || target == NULL ?
		    "the link and the target are required" : "unknown kind of link", res);
	memset(&r, 0, sizeof(r));
	r.type = type;
	r.kind = (enum lb_kind)kind;
	r.link = link;
	r.target = target;
	lb_client_lock_take(h->lock);
	(void)lb_session_request(&h->s, &r);
	(void)lb_export(h, &r, res);
	lb_client_lock_give(h->lock);
	return lb_outcome(&r);
}

int
linkbroker_create(struct linkbroker *h, int kind, const char *link, const char *target,
    struct linkbroker_result *res)
{
	return lb_link_request(h, LB_MSG_CREATE, kind, link, target, res);
}

int
linkbroker_check(struct linkbroker *h, int kind, const char *link, const char *target,
    struct linkbroker_result *res)
{
	return lb_link_request(h, LB_MSG_CHECK, kind, link, target, res);
}

int
linkbroker_status(struct linkbroker *h, struct linkbroker_result *res)
{
	struct lb_response resp;
	struct lb_result r;
	int rc;

	if (h == NULL)
		return LB_E_INVAL;
	memset(&r, 0, sizeof(r));
	lb_client_lock_take(h->lock);
	rc = lb_session_key(&h->s);
	/* No key yet: a throwaway one still asks "are you there, are you
	 * genuine, who am I", and the broker says not enrolled. */
	if (rc == LB_E_NOENT)
		rc = lb_session_key_throwaway(&h->s);
	r.state = LB_RES_NOT_SENT;
	if (rc == LB_OK && (rc = lb_session_status(&h->s, &resp)) == LB_OK) {
		r.state = LB_RES_ANSWERED;
		r.status = rc = resp.status;
		r.allowed = resp.status == LB_OK;
		r.msg = resp.message;
		r.msg_len = resp.message_len;
	} else {
		r.status = rc;
		r.msg = (const char *)h->s.why.data;
		r.msg_len = h->s.why.len;
	}
	(void)lb_export(h, &r, res);
	lb_client_lock_give(h->lock);
	return rc;
}

/* A remove or list answer (or why there is none) into RES. */
static int
lb_simple_answer(struct linkbroker *h, int rc, const struct lb_response *resp,
    struct linkbroker_result *res)
{
	struct lb_result r;

	memset(&r, 0, sizeof(r));
	r.type = LB_MSG_REMOVE;
	r.state = LB_RES_NOT_SENT;
	if (rc == LB_OK) {
		r.state = LB_RES_ANSWERED;
		r.status = rc = resp->status;
		r.allowed = resp->status == LB_OK && resp->verdict == LB_VERDICT_ALLOW;
		r.rule = resp->rule;
		r.rule_len = resp->rule_len;
		r.msg = resp->message;
		r.msg_len = resp->message_len;
	} else {
		r.status = rc;
		r.msg = (const char *)h->s.why.data;
		r.msg_len = h->s.why.len;
	}
	(void)lb_export(h, &r, res);
	return rc;
}

int
linkbroker_remove(struct linkbroker *h, const char *link, struct linkbroker_result *res)
{
	struct lb_response resp;
	int rc;

	if (h == NULL || link == NULL)
		return LB_E_INVAL;
	lb_client_lock_take(h->lock);
	rc = lb_simple_answer(h, lb_session_remove(&h->s, link, &resp), &resp, res);
	lb_client_lock_give(h->lock);
	return rc;
}

int
linkbroker_list_page(struct linkbroker *h, const char *prefix, const char *cursor,
    struct linkbroker_result *res)
{
	struct lb_response resp;
	int rc;

	if (h == NULL)
		return LB_E_INVAL;
	lb_client_lock_take(h->lock);
	rc = lb_simple_answer(h, lb_session_list(&h->s, prefix, cursor, &resp), &resp, res);
	lb_client_lock_give(h->lock);
	return rc;
}

/* lb_session's result callback: the caller's, with public types. */
static void
lb_batch_result(void *arg, const struct lb_result *r)
{
	struct linkbroker *h = arg;
	struct linkbroker_result out;

	if (lb_export(h, r, &out) != LB_OK && h->export_status == LB_OK)
		h->export_status = LB_E_NOMEM;
	if (h->fn != NULL)
		h->fn(h->fn_arg, r->index, &out);
}

static void
lb_batch_pace(void *arg, size_t delivered)
{
	struct linkbroker *h = arg;

	if (h->progress != NULL)
		h->progress(h->progress_arg, delivered);
}

int
linkbroker_batch(struct linkbroker *h, const struct linkbroker_request *rq, size_t n,
    linkbroker_result_fn *fn, void *arg)
{
	struct lb_result *all;
	size_t i;
	int rc;

	if (h == NULL || (rq == NULL && n > 0))
		return LB_E_INVAL;
	for (i = 0; i < n; i++)
		if (rq[i].link == NULL || rq[i].target == NULL || !lb_kind_ok(rq[i].kind))
			return LB_E_INVAL;
	if (n == 0)
		return LB_OK;
	if (n > SIZE_MAX / sizeof(*all) || (all = calloc(n, sizeof(*all))) == NULL)
		return LB_E_NOMEM;
	for (i = 0; i < n; i++) {
		all[i].index = i;
		all[i].type = rq[i].check ? LB_MSG_CHECK : LB_MSG_CREATE;
		all[i].kind = (enum lb_kind)rq[i].kind;
		all[i].link = rq[i].link;
		all[i].target = rq[i].target;
	}
	lb_client_lock_take(h->lock);
	h->fn = fn;
	h->fn_arg = arg;
	h->export_status = LB_OK;
	h->s.on_result = lb_batch_result;
	h->s.on_result_arg = h;
	h->s.on_pace = lb_batch_pace;
	h->s.on_pace_arg = h;
	rc = lb_session_batch(&h->s, all, n);
	h->s.on_result = NULL;
	h->s.on_pace = NULL;
	h->fn = NULL;
	lb_client_lock_give(h->lock);
	free(all);
	return rc;
}

void
linkbroker_set_progress(struct linkbroker *h, linkbroker_progress_fn *fn, void *arg)
{
	if (h == NULL)
		return;
	lb_client_lock_take(h->lock);
	h->progress = fn;
	h->progress_arg = arg;
	lb_client_lock_give(h->lock);
}

const char *
linkbroker_endpoint(const struct linkbroker *h)
{
	return h != NULL ? h->endpoint : "";
}

const char *
linkbroker_service_key_file(const struct linkbroker *h)
{
	return h != NULL ? h->service_key : "";
}

int
linkbroker_public_key(struct linkbroker *h, char b64[45])
{
	int rc;

	if (h == NULL || b64 == NULL)
		return LB_E_INVAL;
	b64[0] = '\0';
	lb_client_lock_take(h->lock);
	if ((rc = lb_session_key(&h->s)) == LB_OK)
		rc = lb_pk_to_b64(h->s.sk + LB_SK_PK_OFFSET, b64);
	lb_client_lock_give(h->lock);
	return rc;
}

const char *
linkbroker_strerror(int code)
{
	return lb_strerror(code);
}

int
linkbroker_exit_code(int code)
{
	return lb_exit_code(code);
}

const char *
linkbroker_version(void)
{
	return "1.0.0";
}
