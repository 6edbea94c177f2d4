/* lb_session: the protocol's client side (lb_session.h). Resolves each
 * link against the cwd, signs each request with the user's key, checks
 * that the broker's answer is signed by the service key and carries our
 * nonce, retries busy answers, and pipelines batches. Prints nothing. */
#include <stdlib.h>
#include <string.h>

#include "lb_session.h"
#include "lb_str.h"

#define LB_SERVICE_KEY_FILE_MAX 256

int
lb_result_exit(const struct lb_result *r)
{
	int ex;

	if (r->status != LB_OK) {
		/* A failure never reports success, whatever the table says. */
		ex = lb_exit_code(r->status);
		return ex != LB_EXIT_OK ? ex : LB_EXIT_FAILED;
	}
	/* A zeroed or forgotten verdict denies. */
	return r->allowed ? LB_EXIT_OK : LB_EXIT_DENIED;
}

enum {
	LB_IF_SENT = 0,       /* on the wire, its answer to come */
	LB_IF_BUSY,           /* answered "busy": to send again */
	LB_IF_DONE,           /* its result known, to deliver in request order */
};

void
lb_session_init(struct lb_session *s, const char *endpoint, const char *service_key_file)
{
	memset(s, 0, sizeof(*s));
	s->endpoint = endpoint;
	s->service_key_file = service_key_file;
	lb_buf_init(&s->body, LB_FRAME_MAX);
	lb_buf_init(&s->frame, LB_FRAME_HDR + LB_FRAME_MAX);
	lb_buf_init(&s->why, LB_WHY_MAX);
}

void
lb_session_free(struct lb_session *s)
{
	size_t i;

	for (i = 0; i < LB_BATCH_WINDOW; i++)
		free(s->q[i].copy);
	lb_conn_close(s->conn);
	lb_wipe(s->sk, sizeof(s->sk));
	lb_path_free(&s->cwd);
	lb_buf_free(&s->body);
	lb_buf_free(&s->frame);
	lb_buf_free(&s->why);
	free(s->in);
}

/* B as a C string, or DFLT if it is empty (or holds a NUL). */
static const char *
lb_text(struct lb_buf *b, const char *dflt)
{
	const char *s;

	if (b->len == 0 || lb_buf_cstr(b, &s) != LB_OK)
		return dflt;
	return s;
}

/* The user's key, loaded once. */
int
lb_session_key(struct lb_session *s)
{
	int r;

	if (s->have_sk)
		return LB_OK;
	if ((r = lb_crypto_init()) != LB_OK)
		return LB_WHY(&s->why, r, "%s", lb_strerror(r));
	if ((r = lb_client_key_load(s->sk, &s->why)) != LB_OK)
		return r;
	/* Once here; each request is then signed without the check. */
	if ((r = lb_sk_check(s->sk)) != LB_OK)
		return LB_WHY(&s->why, r, "%s", "your key is damaged: its public half does not "
		    "belong to its secret half (make a new one with 'linkbroker keygen --force')");
	s->have_sk = 1;
	return LB_OK;
}

int
lb_session_key_throwaway(struct lb_session *s)
{
	uint8_t pk[LB_PK_BYTES];
	int r;

	if ((r = lb_crypto_init()) != LB_OK || (r = lb_sign_keypair(pk, s->sk)) != LB_OK)
		return LB_WHY(&s->why, r, "%s", lb_strerror(r));
	return LB_OK;
}

/* Read the service public key: 44 base64 characters and a newline (CRLF
 * or no newline pass too). */
static int
lb_service_key(struct lb_session *s)
{
	struct lb_buf file, reason;
	size_t n;
	int r;

	lb_buf_init(&file, LB_SERVICE_KEY_FILE_MAX);
	lb_buf_init(&reason, LB_WHY_MAX);
	if ((r = lb_client_read_file(s->service_key_file, &file, &reason)) == LB_OK) {
		n = file.len;
		if (n > 0 && file.data[n - 1] == '\n')
			n--;
		if (n > 0 && file.data[n - 1] == '\r')
			n--;
		file.len = n;
		if (lb_pk_from_b64(lb_text(&file, ""), s->service_pk) != LB_OK) {
			lb_buf_reset(&reason);
			if (lb_buf_put_cstr(&reason, "not a base64 Ed25519 public key (44 characters)") != LB_OK)
				lb_buf_reset(&reason);
			r = LB_E_BASE64;
		}
	}
	if (r != LB_OK)
		r = LB_WHY(&s->why, LB_E_NOT_GENUINE, "cannot read the service public key %s: %s",
		    s->service_key_file, lb_text(&reason, lb_strerror(r)));
	lb_buf_free(&reason);
	lb_buf_free(&file);
	return r;
}

/* Connect and read the service public key, once. */
static int
lb_session_connect(struct lb_session *s)
{
	struct lb_buf reason;
	int r;

	if (s->conn != NULL)
		return LB_OK;
	if (s->in == NULL && (s->in = malloc(LB_FRAME_HDR + LB_FRAME_MAX)) == NULL)
		return LB_WHY(&s->why, LB_E_NOMEM, "%s", lb_strerror(LB_E_NOMEM));
	lb_buf_init(&reason, LB_WHY_MAX);
	r = lb_conn_open(s->endpoint, lb_client_clock_ms() + LB_CLIENT_TIMEOUT_MS, &s->conn, &reason);
	if (r == LB_E_NOT_GENUINE)   /* Windows: the pipe server failed its identity checks */
		r = LB_WHY(&s->why, r, "broker is not genuine at %s: %s",
		    s->endpoint, lb_text(&reason, lb_strerror(r)));
	else if (r != LB_OK)
		r = LB_WHY(&s->why, r == LB_E_NOMEM ? r : LB_E_UNREACHABLE, "broker unreachable at %s: %s",
		    s->endpoint, lb_text(&reason, lb_strerror(r)));
	else if ((r = lb_service_key(s)) != LB_OK) {
		lb_conn_close(s->conn);
		s->conn = NULL;
	}
	lb_buf_free(&reason);
	return r;
}

/* The connection is gone (or never was): the next request connects
 * afresh. */
static void
lb_session_drop(struct lb_session *s)
{
	lb_conn_close(s->conn);
	s->conn = NULL;
	s->in_len = 0;
	s->in_used = 0;
	s->w_n = 0;
	s->w_bytes = 0;
}

/* Whether the next frame waiting on the connection is the broker's
 * "busy: too many clients" (LB_E_BUSY, zero nonce; s->retry_ms set): a
 * full broker answers that and closes, maybe before our request went out. */
static int
lb_conn_said_busy(struct lb_session *s)
{
	static const uint8_t zero[LB_NONCE_BYTES];
	const size_t cap = LB_FRAME_HDR + LB_FRAME_MAX;
	const uint64_t deadline = lb_client_clock_ms() + 200;
	struct lb_busy busy;
	struct lb_buf reason;
	const uint8_t *msg;
	size_t got, msg_len, used;
	int r, said = 0;

	if (s->conn == NULL || s->in == NULL)
		return 0;
	if (s->in_used > 0) {
		memmove(s->in, s->in + s->in_used, s->in_len - s->in_used);
		s->in_len -= s->in_used;
		s->in_used = 0;
	}
	lb_buf_init(&reason, LB_WHY_MAX);
	while ((r = lb_frame_parse(s->in, s->in_len, &msg, &msg_len, &used)) == LB_E_SHORT) {
		if (lb_conn_recv(s->conn, s->in + s->in_len, cap - s->in_len, &got, deadline, &reason) != LB_OK ||
		    got == 0)
			break;
		s->in_len += got;
	}
	if (r == LB_OK && lb_msg_is_busy(msg, msg_len) && lb_busy_decode(msg, msg_len, &busy) == LB_OK &&
	    busy.status == LB_E_BUSY && lb_ct_equal(busy.nonce, zero, LB_NONCE_BYTES)) {
		s->retry_ms = busy.retry_ms;
		said = 1;
	}
	lb_buf_free(&reason);
	return said;
}

/* Sign RQ (type, kind and paths set; its nonce is made here) and send it.
 * LB_E_UNREACHABLE, LB_E_TIMEOUT leave the connection unusable; LB_E_BUSY:
 * the broker is full (s->retry_ms: when to try again; reconnect). */
static int lb_send_body(struct lb_session *s);

static int
lb_send(struct lb_session *s, struct lb_request *rq)
{
	int r;

	rq->version = LB_WIRE_VERSION;
	rq->timestamp = lb_client_time();
	lb_random(rq->nonce, sizeof(rq->nonce));
	memcpy(rq->key, s->sk + LB_SK_PK_OFFSET, LB_PK_BYTES);
	lb_buf_reset(&s->body);
	if ((r = lb_request_sign_checked(rq, s->sk)) != LB_OK ||
	    (r = lb_request_encode(rq, &s->body)) != LB_OK)
		return LB_WHY(&s->why, r, "cannot make the request: %s", lb_strerror(r));
	return lb_send_body(s);
}

/* The message in s->body, framed and sent (lb_send's errors). */
static int
lb_send_body(struct lb_session *s)
{
	struct lb_buf reason;
	int r;

	lb_buf_reset(&s->frame);
	if ((r = lb_frame_put(&s->frame, s->body.data, s->body.len)) != LB_OK)
		return LB_WHY(&s->why, r, "cannot make the request: %s", lb_strerror(r));
	lb_buf_init(&reason, LB_WHY_MAX);
	r = lb_conn_send(s->conn, s->frame.data, s->frame.len,
	    lb_client_clock_ms() + LB_CLIENT_TIMEOUT_MS, &reason);
	if (r == LB_E_TIMEOUT)
		r = LB_WHY(&s->why, r, "timed out sending to the broker at %s: %s", s->endpoint,
		    lb_text(&reason, lb_strerror(r)));
	else if (r != LB_OK && r != LB_E_NOMEM && lb_conn_said_busy(s))
		r = LB_WHY(&s->why, LB_E_BUSY, "broker busy at %s: %s", s->endpoint, lb_strerror(LB_E_BUSY));
	else if (r != LB_OK && r != LB_E_NOMEM)
		r = LB_WHY(&s->why, LB_E_UNREACHABLE, "broker unreachable at %s: %s", s->endpoint,
		    lb_text(&reason, lb_strerror(r)));
	lb_buf_free(&reason);
	return r;
}

/* Take the next answer into RESP (pointing into s->in until the next
 * call) only if it is signed by the service key and answers the request
 * with NONCE. Answers come in the order of the requests. LAST: no other
 * request is in flight, so nothing may follow this answer. LB_E_RATE: the
 * broker's unsigned "busy" for this request (over the rate limit: send it
 * again after s->retry_ms; the connection stays usable); LB_E_BUSY: its
 * "too many clients" (reconnect after s->retry_ms). Unsigned, a busy
 * answer is never taken as a verdict: the worst a forger can do with one
 * is make us wait and resend, within LB_CLIENT_BUSY_MS. Any other error
 * leaves the connection unusable. */
static int lb_recv_frame(struct lb_session *s, const uint8_t nonce[LB_NONCE_BYTES], int last,
    const uint8_t **out, size_t *out_len);

static int
lb_take_answer(struct lb_session *s, const uint8_t nonce[LB_NONCE_BYTES], int last,
    struct lb_response *resp)
{
	const uint8_t *msg;
	size_t msg_len;
	int r;

	memset(resp, 0, sizeof(*resp));
	if ((r = lb_recv_frame(s, nonce, last, &msg, &msg_len)) != LB_OK)
		return r;
	if ((r = lb_response_decode(msg, msg_len, resp, NULL)) != LB_OK)
		return LB_WHY(&s->why, LB_E_NOT_GENUINE, "broker is not genuine: malformed answer (%s)",
		    lb_strerror(r));
	if ((r = lb_response_verify(resp, s->service_pk)) != LB_OK)
		return r == LB_E_NOMEM ? r : LB_WHY(&s->why, LB_E_NOT_GENUINE,
		    "%s", "broker is not genuine: response signature does not verify");
	if (!lb_ct_equal(resp->nonce, nonce, LB_NONCE_BYTES)) {
		static const uint8_t zero[LB_NONCE_BYTES];

		/* A genuine broker that cannot read a request's type (one older
		 * than this client: list, remove) answers it bound to no
		 * request. That can only ever be a refusal, so it is safe to
		 * say so instead of "not genuine". */
		if (lb_ct_equal(resp->nonce, zero, LB_NONCE_BYTES) && resp->status == LB_E_MSG_TYPE)
			return LB_WHY(&s->why, LB_E_UNSUPPORTED, "%s", "the broker does not know this "
			    "request: it is older than this client (update linkbrokerd)");
		return LB_WHY(&s->why, LB_E_NOT_GENUINE, "%s", "broker is not genuine: response signature "
		    "does not verify for this request (it answers another request's nonce)");
	}
	return LB_OK;
}

/* The next frame from the broker into *MSG (pointing into s->in until the
 * next call), the request with NONCE's; a busy answer for it is LB_E_RATE
 * or LB_E_BUSY (as lb_take_answer). LAST: nothing may follow it. */
static int
lb_recv_frame(struct lb_session *s, const uint8_t nonce[LB_NONCE_BYTES], int last,
    const uint8_t **out, size_t *out_len)
{
	const size_t cap = LB_FRAME_HDR + LB_FRAME_MAX;
	struct lb_buf reason;
	const uint8_t *msg;
	size_t got, msg_len, consumed;
	uint64_t deadline;
	int r;

	*out = NULL;
	*out_len = 0;
	if (s->in_used > 0) {
		memmove(s->in, s->in + s->in_used, s->in_len - s->in_used);
		s->in_len -= s->in_used;
		s->in_used = 0;
	}
	lb_buf_init(&reason, LB_WHY_MAX);
	deadline = lb_client_clock_ms() + LB_CLIENT_TIMEOUT_MS;
	while ((r = lb_frame_parse(s->in, s->in_len, &msg, &msg_len, &consumed)) == LB_E_SHORT) {
		if ((r = lb_conn_recv(s->conn, s->in + s->in_len, cap - s->in_len, &got, deadline,
		    &reason)) != LB_OK)
			goto io_error;
		if (got == 0) {
			r = LB_WHY(&s->why, LB_E_UNREACHABLE,
			    "the broker at %s closed the connection without answering", s->endpoint);
			goto out;
		}
		s->in_len += got;
	}
	if (r != LB_OK)
		goto malformed;
	s->in_used = consumed;
	/* One answer per request: anything past the last one was never
	 * asked for. */
	r = LB_E_TRAILING;
	if (last && consumed != s->in_len)
		goto malformed;
	if (lb_msg_is_busy(msg, msg_len)) {
		static const uint8_t zero[LB_NONCE_BYTES];
		struct lb_busy busy;

		if ((r = lb_busy_decode(msg, msg_len, &busy)) != LB_OK)
			goto malformed;
		s->retry_ms = busy.retry_ms;
		if (busy.status == LB_E_RATE && lb_ct_equal(busy.nonce, nonce, LB_NONCE_BYTES))
			r = LB_WHY(&s->why, LB_E_RATE, "%s", lb_strerror(LB_E_RATE));
		else if (busy.status == LB_E_BUSY && lb_ct_equal(busy.nonce, zero, LB_NONCE_BYTES))
			r = LB_WHY(&s->why, LB_E_BUSY, "broker busy at %s: %s", s->endpoint,
			    lb_strerror(LB_E_BUSY));
		else
			r = LB_WHY(&s->why, LB_E_NOT_GENUINE, "%s", "broker is not genuine: "
			    "a busy answer for another request");
		goto out;
	}
	*out = msg;
	*out_len = msg_len;
	r = LB_OK;
	goto out;

malformed:
	r = LB_WHY(&s->why, LB_E_NOT_GENUINE, "broker is not genuine: malformed answer (%s)",
	    lb_strerror(r));
	goto out;
io_error:
	if (r == LB_E_TIMEOUT)
		r = LB_WHY(&s->why, r, "timed out waiting for the broker at %s: %s", s->endpoint,
		    lb_text(&reason, lb_strerror(r)));
	else if (r != LB_E_NOMEM)
		r = LB_WHY(&s->why, LB_E_UNREACHABLE, "broker unreachable at %s: %s", s->endpoint,
		    lb_text(&reason, lb_strerror(r)));
out:
	lb_buf_free(&reason);
	return r;
}

/* The broker said busy (KIND: LB_E_RATE over the rate limit, LB_E_BUSY
 * too many clients): wait as it says (too many clients: backing off, with
 * jitter, so that many waiting clients do not come back at once) and
 * return LB_OK to send again, or give up once LB_CLIENT_BUSY_MS have
 * passed since *FIRST (0: this is the first) and say so: never sooner (a
 * long wait is cut to end at that time, and tried once more). */
static int
lb_busy_wait(struct lb_session *s, int kind, uint64_t *first, unsigned *tries)
{
	const uint64_t now = lb_client_clock_ms();
	uint64_t wait = s->retry_ms > 0 ? s->retry_ms : 1;
	uint8_t j;

	if (*first == 0)
		*first = now;
	if (kind == LB_E_BUSY) {
		lb_session_drop(s);
		wait <<= *tries < 5 ? *tries : 5;
		if (wait > 1000)
			wait = 1000;
		lb_random(&j, 1);
		wait += wait * j / 1024;
	}
	(*tries)++;
	/* The last try comes at the end of the time, not a wait before it. */
	if (now - *first < LB_CLIENT_BUSY_MS && now + wait - *first > LB_CLIENT_BUSY_MS)
		wait = *first + LB_CLIENT_BUSY_MS - now;
	if (now - *first >= LB_CLIENT_BUSY_MS) {
		if (kind == LB_E_BUSY)
			return LB_WHY(&s->why, LB_E_BUSY, "broker busy at %s: too many clients; "
			    "gave up after %d s of retries", s->endpoint, LB_CLIENT_BUSY_MS / 1000);
		return LB_WHY(&s->why, LB_E_RATE, "too many requests (the broker's rate limit); "
		    "gave up after %d s of retries", LB_CLIENT_BUSY_MS / 1000);
	}
	lb_client_sleep_ms((uint32_t)wait);
	return LB_OK;
}

/* One request, one answer, resent while the broker says busy. */
static int
lb_exchange(struct lb_session *s, struct lb_request *rq, struct lb_response *resp)
{
	uint64_t first = 0;
	unsigned tries = 0;
	int r;

	for (;;) {
		if ((r = lb_session_connect(s)) == LB_OK && (r = lb_send(s, rq)) == LB_OK)
			r = lb_take_answer(s, rq->nonce, 1, resp);
		if ((r != LB_E_RATE && r != LB_E_BUSY) || (r = lb_busy_wait(s, r, &first, &tries)) != LB_OK)
			return r;
	}
}

/* This process's current directory as a canonical path, once per call
 * of lb_session_request or lb_session_batch (lb_session_fresh_cwd). */
static int
lb_session_cwd(struct lb_session *s)
{
	struct lb_buf cwd;
	int r;

	if (s->cwd.s != NULL)
		return LB_OK;
	lb_buf_init(&cwd, LB_PATH_INPUT_MAX);
	lb_buf_reset(&s->why);
	r = lb_client_cwd(&cwd, &s->why);
	if (r == LB_OK && (r = lb_path_canon(lb_client_flavor(), (const char *)cwd.data, cwd.len,
	    &s->cwd)) == LB_OK)
		r = lb_path_require_absolute(&s->cwd);
	if (r != LB_OK) {
		lb_path_free(&s->cwd);
		if (s->why.len == 0)
			r = LB_WHY(&s->why, r, "the current directory: %s", lb_strerror(r));
	}
	lb_buf_free(&cwd);
	return r;
}

/* The link's canonical absolute path and, for hard links and junctions,
 * the target's (a symbolic link keeps its target exactly as typed, but a
 * malformed one is refused here rather than by the broker). */
static int
lb_resolve_paths(struct lb_session *s, const struct lb_result *res,
    struct lb_path *link, struct lb_path *target)
{
	const enum lb_flavor flavor = lb_client_flavor();
	struct lb_path raw = { 0 };
	const char *which = "link", *typed = res->link;
	int r;

	if ((r = lb_session_cwd(s)) != LB_OK)
		return r;
	if ((r = lb_path_canon(flavor, res->link, strlen(res->link), &raw)) != LB_OK ||
	    (r = lb_path_resolve(&s->cwd, &raw, link)) != LB_OK)
		goto bad;
	r = LB_E_INVAL;
	if (link->len == link->root_len)
		goto bad;
	lb_path_free(&raw);
	which = "target";
	typed = res->target;
	if ((r = lb_path_canon(flavor, res->target, strlen(res->target), &raw)) != LB_OK)
		goto bad;
	if ((res->kind == LB_KIND_HARDLINK || res->kind == LB_KIND_JUNCTION) &&
	    (r = lb_path_resolve(&s->cwd, &raw, target)) != LB_OK)
		goto bad;
	lb_path_free(&raw);
	return LB_OK;
bad:
	lb_path_free(&raw);
	lb_path_free(link);
	lb_path_free(target);
	/* TYPED may hold anything; it is escaped when printed. */
	return LB_WHY(&s->why, r, "%s \"%s\": %s", which, typed, r == LB_E_INVAL ?
	    "the link path must name a file below a root" : lb_strerror(r));
}

static void
lb_result_set_why(struct lb_result *res, int status, const struct lb_session *s)
{
	res->status = status;
	res->msg = (const char *)s->why.data;
	res->msg_len = s->why.len;
}

/* RES's outcome is the broker's answer RESP. */
static void
lb_result_set_answer(struct lb_result *res, const struct lb_response *resp)
{
	res->state = LB_RES_ANSWERED;
	res->status = resp->status;
	res->allowed = resp->verdict == LB_VERDICT_ALLOW;
	res->rule = resp->rule;
	res->rule_len = resp->rule_len;
	res->msg = resp->message;
	res->msg_len = resp->message_len;
}

/* Resolve the paths of RES (line, type, kind and the paths as typed) and
 * send its signed request; NONCE := the request's, *BYTES := its size.
 * On error s->why says why, and *FATAL when the session cannot serve
 * another request (no key, no broker, a broken connection). */
static int
lb_submit(struct lb_session *s, const struct lb_result *res, uint8_t nonce[LB_NONCE_BYTES],
    size_t *bytes, int *fatal)
{
	struct lb_path link = { 0 }, target = { 0 };
	struct lb_request rq;
	int r;

	*fatal = 0;
	if ((r = lb_resolve_paths(s, res, &link, &target)) != LB_OK)
		return r;
	if ((r = lb_session_key(s)) != LB_OK || (r = lb_session_connect(s)) != LB_OK) {
		*fatal = 1;
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.type = res->type;
	rq.kind = (uint8_t)res->kind;
	rq.link = link.s;
	rq.link_len = link.len;
	rq.target = target.s != NULL ? target.s : res->target;
	rq.target_len = target.s != NULL ? target.len : strlen(res->target);
	if ((r = lb_send(s, &rq)) != LB_OK) {
		/* A request that could not be made (too long for the wire)
		 * was not sent: the next one may still go. */
		*fatal = lb_exit_code(r) == LB_EXIT_UNREACHABLE || r == LB_E_NOMEM;
		goto out;
	}
	memcpy(nonce, rq.nonce, LB_NONCE_BYTES);
	*bytes = s->frame.len;
out:
	lb_path_free(&link);
	lb_path_free(&target);
	return r;
}

/* The process may have changed directory since the last call. */
static void
lb_session_fresh_cwd(struct lb_session *s)
{
	lb_path_free(&s->cwd);
}

int
lb_session_request(struct lb_session *s, struct lb_result *res)
{
	struct lb_response resp;
	uint8_t nonce[LB_NONCE_BYTES];
	uint64_t first = 0;
	unsigned tries = 0;
	size_t bytes;
	int fatal, sent, r;

	lb_session_fresh_cwd(s);
	for (;;) {
		sent = 0;
		if ((r = lb_submit(s, res, nonce, &bytes, &fatal)) == LB_OK) {
			sent = 1;
			r = lb_take_answer(s, nonce, 1, &resp);
		}
		if (r == LB_OK) {
			lb_result_set_answer(res, &resp);
			return res->status;
		}
		if ((r != LB_E_RATE && r != LB_E_BUSY) || (r = lb_busy_wait(s, r, &first, &tries)) != LB_OK) {
			lb_result_set_why(res, r, s);
			res->state = sent ? LB_RES_UNANSWERED : LB_RES_NOT_SENT;
			/* Whatever the connection still holds is not to be trusted:
			 * the next request connects afresh. */
			lb_session_drop(s);
			return r;
		}
	}
}

/* A request of TYPE without a kind (status, remove, list) with LINK and
 * TARGET as given, signed with the key loaded, and its answer. */
static int
lb_session_ask(struct lb_session *s, uint8_t type, const char *link, size_t link_len,
    const char *target, size_t target_len, struct lb_response *resp)
{
	struct lb_request rq;
	int r;

	if ((r = lb_session_connect(s)) != LB_OK)
		return r;
	memset(&rq, 0, sizeof(rq));
	rq.type = type;
	rq.kind = LB_KIND_NONE;
	rq.link = link;
	rq.link_len = link_len;
	rq.target = target;
	rq.target_len = target_len;
	if ((r = lb_exchange(s, &rq, resp)) != LB_OK)
		lb_session_drop(s);
	return r;
}

int
lb_session_status(struct lb_session *s, struct lb_response *resp)
{
	return lb_session_ask(s, LB_MSG_STATUS, NULL, 0, NULL, 0, resp);
}

/* The same with the user's own key (remove and list need it enrolled). */
static int
lb_session_ask_keyed(struct lb_session *s, uint8_t type, const char *link, size_t link_len,
    const char *target, size_t target_len, struct lb_response *resp)
{
	int r;

	if ((r = lb_session_key(s)) != LB_OK)
		return LB_WHY(&s->why, r, "%s", r == LB_E_NOENT ?
		    "you have no key yet: run 'linkbroker keygen' and have it enrolled" : lb_strerror(r));
	return lb_session_ask(s, type, link, link_len, target, target_len, resp);
}

/* PATH as an absolute canonical path (relative: to the current
 * directory), into OUT. */
static int
lb_session_abs(struct lb_session *s, const char *path, struct lb_path *out)
{
	struct lb_path raw = { 0 };
	int r;

	lb_session_fresh_cwd(s);
	if ((r = lb_session_cwd(s)) != LB_OK)
		return r;
	if ((r = lb_path_canon(lb_client_flavor(), path, strlen(path), &raw)) == LB_OK)
		r = lb_path_resolve(&s->cwd, &raw, out);
	lb_path_free(&raw);
	if (r != LB_OK)
		return LB_WHY(&s->why, r, "\"%s\": %s", path, lb_strerror(r));
	return LB_OK;
}

int
lb_session_remove(struct lb_session *s, const char *link, struct lb_response *resp)
{
	struct lb_path p = { 0 };
	int r;

	if ((r = lb_session_abs(s, link, &p)) != LB_OK)
		return r;
	if (p.len == p.root_len)
		r = LB_WHY(&s->why, LB_E_INVAL, "\"%s\": the link path must name a file below a root",
		    link);
	else
		r = lb_session_ask_keyed(s, LB_MSG_REMOVE, p.s, p.len, "", 0, resp);
	lb_path_free(&p);
	return r;
}

int
lb_session_list(struct lb_session *s, const char *prefix, const char *cursor,
    struct lb_response *resp)
{
	struct lb_path p = { 0 };
	int r;

	if (prefix != NULL && (r = lb_session_abs(s, prefix, &p)) != LB_OK)
		return r;
	r = lb_session_ask_keyed(s, LB_MSG_LIST, p.s != NULL ? p.s : "", p.len, cursor != NULL ? cursor : "",
	    cursor != NULL ? strlen(cursor) : 0, resp);
	lb_path_free(&p);
	return r;
}

/* ---- batch: pipelined requests over one connection ---- */

/* The broker paces us: tell the caller, at most once a second. */
static void
lb_batch_progress(struct lb_session *s)
{
	const uint64_t now = lb_client_clock_ms();

	if (s->on_pace == NULL || now < s->progress_at)
		return;
	s->progress_at = now + 1000;
	s->on_pace(s->on_pace_arg, s->delivered);
}

static struct lb_inflight *
lb_batch_at(struct lb_session *s, size_t k)
{
	return &s->q[(s->q_head + k) % LB_BATCH_WINDOW];
}

/* F's result is known: RESP (copied) or a failure (STATUS, s->why;
 * STATE: whether it was on the wire). */
static void
lb_batch_done(struct lb_session *s, struct lb_inflight *f, const struct lb_response *resp, int status,
    int state)
{
	const char *msg = resp != NULL ? resp->message : (const char *)s->why.data;
	size_t msg_len = resp != NULL ? resp->message_len : s->why.len;
	size_t rule_len = resp != NULL ? resp->rule_len : 0;

	if (f->state == LB_IF_BUSY)
		s->n_busy--;
	f->state = LB_IF_DONE;
	free(f->copy);
	/* RULE NUL MESSAGE NUL. Out of memory: the result without its texts
	 * (exit codes stay). */
	if ((f->copy = malloc(rule_len + msg_len + 2)) != NULL) {
		if (rule_len > 0)
			memcpy(f->copy, resp->rule, rule_len);
		f->copy[rule_len] = '\0';
		if (msg_len > 0)
			memcpy(f->copy + rule_len + 1, msg, msg_len);
		f->copy[rule_len + 1 + msg_len] = '\0';
	}
	f->res.state = resp != NULL ? LB_RES_ANSWERED : state;
	f->res.status = resp != NULL ? resp->status : status;
	f->res.allowed = resp != NULL && resp->verdict == LB_VERDICT_ALLOW;
	f->res.rule = f->copy;
	f->res.rule_len = f->copy != NULL ? rule_len : 0;
	f->res.msg = f->copy != NULL ? f->copy + rule_len + 1 : NULL;
	f->res.msg_len = f->copy != NULL ? msg_len : 0;
}

/* F's failure (STATUS) stops the batch. */
static void
lb_batch_stop(struct lb_session *s, struct lb_inflight *f, int status, int state, int *fatal)
{
	lb_batch_done(s, f, NULL, status, state);
	f->res.stopped = 1;
	s->stop_status = status;
	*fatal = 1;
}

static void
lb_deliver(struct lb_session *s, const struct lb_result *r)
{
	s->delivered++;
	if (s->on_result != NULL)
		s->on_result(s->on_result_arg, r);
}

/* Deliver the results that are known, in request order. */
static void
lb_batch_report(struct lb_session *s)
{
	struct lb_inflight *f;

	while (s->q_n > 0 && (f = lb_batch_at(s, 0))->state == LB_IF_DONE) {
		lb_deliver(s, &f->res);
		free(f->copy);
		f->copy = NULL;
		s->q_head = (s->q_head + 1) % LB_BATCH_WINDOW;
		s->q_n--;
	}
}

/* Take the answer to the request sent first of those on the wire. A busy
 * one marks its request (too many clients: every request on the wire) to
 * be sent again; any other failure is *FATAL (the request's result says
 * why and that it stopped the batch): the connection is unusable. */
static void
lb_batch_take(struct lb_session *s, int *fatal)
{
	struct lb_inflight *f = &s->q[s->w[s->w_head]];
	struct lb_response resp;
	const uint64_t now = lb_client_clock_ms();
	uint64_t until;
	size_t k;
	int r;

	s->w_head = (s->w_head + 1) % LB_BATCH_WINDOW;
	s->w_n--;
	s->w_bytes -= f->bytes;
	r = lb_take_answer(s, f->nonce, s->w_n == 0, &resp);
	if (r == LB_OK) {
		s->conn_busy = 0;
		lb_batch_done(s, f, &resp, LB_OK, LB_RES_ANSWERED);
		return;
	}
	if (r == LB_E_RATE || r == LB_E_BUSY) {
		if (r == LB_E_BUSY) {
			/* refused with the connection: the rest on the wire too */
			for (k = 0; k < s->w_n; k++) {
				struct lb_inflight *g = &s->q[s->w[(s->w_head + k) % LB_BATCH_WINDOW]];

				g->state = LB_IF_BUSY;
				g->busy_since = g->busy_since ? g->busy_since : now;
				s->n_busy++;
			}
			lb_session_drop(s);
			until = s->retry_ms << (s->conn_busy < 5 ? s->conn_busy : 5);
			s->conn_busy++;
		} else {
			until = s->retry_ms;
		}
		f->state = LB_IF_BUSY;
		f->busy_since = f->busy_since ? f->busy_since : now;
		s->n_busy++;
		until = now + (until > 1000 ? 1000 : until);
		if (until > s->busy_until)
			s->busy_until = until;
		return;
	}
	lb_batch_stop(s, f, r, LB_RES_UNANSWERED, fatal);
}

/* Send F's request (again): on the wire, or its failure as its result.
 * *FATAL when the session cannot go on. */
static void
lb_batch_send(struct lb_session *s, struct lb_inflight *f, int *fatal)
{
	uint8_t nonce[LB_NONCE_BYTES];
	size_t bytes = 0;
	int r, gone;

	r = lb_submit(s, &f->res, nonce, &bytes, &gone);
	if (r == LB_E_BUSY) {
		/* the broker is full and closed on us: wait, reconnect */
		lb_session_drop(s);
		if (f->state != LB_IF_BUSY) {
			f->state = LB_IF_BUSY;
			s->n_busy++;
		}
		f->busy_since = f->busy_since ? f->busy_since : lb_client_clock_ms();
		s->busy_until = lb_client_clock_ms() + (s->retry_ms > 0 ? s->retry_ms : 50);
		return;
	}
	if (r != LB_OK) {
		if (gone)
			lb_batch_stop(s, f, r, LB_RES_NOT_SENT, fatal);
		else
			lb_batch_done(s, f, NULL, r, LB_RES_NOT_SENT);
		return;
	}
	if (f->state == LB_IF_BUSY)
		s->n_busy--;
	f->state = LB_IF_SENT;
	memcpy(f->nonce, nonce, sizeof(nonce));
	f->bytes = bytes;
	s->w[(s->w_head + s->w_n) % LB_BATCH_WINDOW] = (size_t)(f - s->q);
	s->w_n++;
	s->w_bytes += bytes;
}

/* The broker said busy: with nothing left on the wire, wait until it said
 * to, then send the busy lines again, in line order, as many as the window
 * takes. A line refused as busy for LB_CLIENT_BUSY_MS fails (too many
 * clients: the whole batch stops, the broker is as good as unreachable). */
static void
lb_batch_resend(struct lb_session *s, int *fatal)
{
	uint64_t now = lb_client_clock_ms();
	struct lb_inflight *f;
	size_t k;

	if (s->busy_until > now) {
		lb_batch_progress(s);
		lb_client_sleep_ms((uint32_t)(s->busy_until - now));
		now = lb_client_clock_ms();
	}
	for (k = 0; k < s->q_n && !*fatal; k++) {
		f = lb_batch_at(s, k);
		if (f->state != LB_IF_BUSY)
			continue;
		if (now - f->busy_since > LB_CLIENT_BUSY_MS) {
			int conn = s->conn == NULL;

			(void)(conn ? LB_WHY(&s->why, LB_E_BUSY, "broker busy at %s: too many clients; "
			    "gave up after %d s of retries", s->endpoint, LB_CLIENT_BUSY_MS / 1000) :
			    LB_WHY(&s->why, LB_E_RATE, "too many requests (the broker's rate limit); "
			    "gave up after %d s of retries", LB_CLIENT_BUSY_MS / 1000));
			if (conn)
				lb_batch_stop(s, f, LB_E_BUSY, LB_RES_NOT_SENT, fatal);
			else
				lb_batch_done(s, f, NULL, LB_E_RATE, LB_RES_NOT_SENT);
			continue;
		}
		if (s->w_n == LB_BATCH_WINDOW || s->w_bytes + f->bytes > LB_BATCH_WINDOW_BYTES)
			break;
		lb_batch_send(s, f, fatal);
		if (s->conn == NULL)
			break;   /* refused again: wait again */
	}
}

/* Take answers, deliver and resend until there is room for a request of
 * BYTES more (ALL: until every result is delivered). */
static void
lb_batch_drain(struct lb_session *s, int all, size_t bytes, int *fatal)
{
	for (;;) {
		lb_batch_report(s);
		if (*fatal)
			return;
		if (s->n_busy > 0) {
			/* what is on the wire first: answers come in the order sent */
			if (s->w_n > 0)
				lb_batch_take(s, fatal);
			else
				lb_batch_resend(s, fatal);
			continue;
		}
		if (all ? s->q_n == 0 : s->q_n < LB_BATCH_WINDOW && s->w_n < LB_BATCH_WINDOW &&
		    s->w_bytes + bytes <= LB_BATCH_WINDOW_BYTES)
			return;
		if (s->w_n == 0)
			return;   /* nothing to wait for (cannot happen: Q's requests are on the wire) */
		lb_batch_take(s, fatal);
	}
}

/* One request of a batch: sent now, its answer taken later, so that up
 * to a window of requests is in flight; results still come out in the
 * order of the requests, however often the broker says "busy". *QUEUED :=
 * 1 when it went out (or its result is known). */
static void
lb_batch_one(struct lb_session *s, const struct lb_result *res, int *queued, int *fatal)
{
	struct lb_inflight *f;

	*queued = 0;
	/* Room first, for a request of a typical size or more. */
	lb_batch_drain(s, 0, LB_BATCH_WINDOW_BYTES / 8, fatal);
	if (*fatal)
		return;
	f = lb_batch_at(s, s->q_n);
	free(f->copy);
	memset(f, 0, sizeof(*f));
	f->res = *res;
	f->state = LB_IF_SENT;
	s->q_n++;
	lb_batch_send(s, f, fatal);
	*queued = 1;   /* on the wire, to be sent again, or its result known */
	lb_batch_report(s);
}

/* REQ, left over when the batch stopped (STOP), delivered as STATE. */
static void
lb_deliver_left(struct lb_session *s, const struct lb_result *req, int stop, int state)
{
	struct lb_result r = *req;

	r.status = stop;
	r.allowed = 0;
	r.state = state;
	r.stopped = 2;
	r.rule = r.msg = NULL;
	r.rule_len = r.msg_len = 0;
	lb_deliver(s, &r);
}

/* The batch stopped: deliver the rest, in request order. Those whose
 * result is known (the one that stopped it among them) as they are; those
 * on the wire as UNANSWERED (the broker may have made their links); those
 * to resend and REST[0..N) as NOT_SENT. STOP: the stopping status. */
static void
lb_batch_leftovers(struct lb_session *s, const struct lb_result *rest, size_t n, int stop)
{
	struct lb_inflight *f;
	size_t k;

	for (k = 0; k < s->q_n; k++) {
		f = lb_batch_at(s, k);
		if (f->state == LB_IF_DONE)
			lb_deliver(s, &f->res);
		else
			lb_deliver_left(s, &f->res, stop,
			    f->state == LB_IF_SENT ? LB_RES_UNANSWERED : LB_RES_NOT_SENT);
	}
	for (k = 0; k < n; k++)
		lb_deliver_left(s, &rest[k], stop, LB_RES_NOT_SENT);
}

/* The batch as pipelined single requests (a broker that speaks only
 * version 1 of the protocol). */
static int
lb_session_batch_v1(struct lb_session *s, const struct lb_result *rq, size_t n)
{
	size_t i = 0, k;
	int fatal = 0, queued = 0, stop = LB_OK;

	for (; i < n && !fatal; i += (size_t)queued)
		lb_batch_one(s, &rq[i], &queued, &fatal);
	if (!fatal)
		lb_batch_drain(s, 1, 0, &fatal);
	if (fatal) {
		stop = s->stop_status != LB_OK ? s->stop_status : LB_E_UNREACHABLE;
		lb_batch_leftovers(s, rq + i, n - i, stop);
		/* Answers may still be on their way: start afresh next time. */
		lb_session_drop(s);
	}
	for (k = 0; k < LB_BATCH_WINDOW; k++) {
		free(s->q[k].copy);
		s->q[k].copy = NULL;
	}
	s->q_head = s->q_n = s->n_busy = 0;
	s->busy_until = 0;
	s->conn_busy = 0;
	return stop;
}

/* ---- batch messages (protocol version 2): up to LB_BATCH_MAX links
 * signed once, one signed answer for all of them ---- */

/* The requests RQ[FIRST..FIRST+M) of one batch message: those whose paths
 * resolved are its entries (ENT[k] their entry, else -1 with the failure
 * in FAIL[k] / WHY[k]). */
enum {
	LB_CH_READY = 0,      /* built, to send */
	LB_CH_HELD,           /* needs a link of the message before it: sent once that is answered */
	LB_CH_SENT,           /* on the wire */
	LB_CH_BUSY,           /* answered "busy": to send again */
	LB_CH_DONE,           /* answered (or nothing of it to send) */
};

struct lb_chunk {
	struct lb_batch bt;
	struct lb_path link[LB_BATCH_MAX], target[LB_BATCH_MAX], parent[LB_BATCH_MAX];
	int ent[LB_BATCH_MAX];
	int fail[LB_BATCH_MAX];
	char *why[LB_BATCH_MAX];
	size_t first, m, bytes;
	int state;
	uint8_t ans[LB_FRAME_MAX];        /* its answer, which RESP points into */
	struct lb_batch_response resp;
};

static void
lb_chunk_clear(struct lb_chunk *c)
{
	size_t k;

	for (k = 0; k < c->bt.n; k++) {
		lb_path_free(&c->link[k]);
		lb_path_free(&c->target[k]);
		lb_path_free(&c->parent[k]);
	}
	for (k = 0; k < c->m; k++) {
		free(c->why[k]);
		c->why[k] = NULL;
	}
	c->bt.n = 0;
	c->m = 0;
}

/* Whether a link of C's lies at or above DEP: then the entry that needs
 * DEP waits for a later message, so that it is decided after that link
 * exists, as it would be if the requests were made one by one. */
static int
lb_chunk_needs(const struct lb_chunk *c, const struct lb_path *dep)
{
	size_t k;

	if (dep->s == NULL)
		return 0;
	for (k = 0; k < c->bt.n; k++)
		if (c->link[k].len <= dep->len && lb_path_is_under(dep, &c->link[k]))
			return 1;
	return 0;
}

/* The absolute path a symbolic link's target names (lexically, from the
 * link's folder), for lb_chunk_needs; empty if it cannot be told. */
static void
lb_chunk_target_of(const struct lb_result *res, const struct lb_path *parent,
    const struct lb_path *target, struct lb_path *out)
{
	struct lb_path raw = { 0 };

	memset(out, 0, sizeof(*out));
	if (target->s != NULL) {
		if (lb_path_copy(target, out) != LB_OK)
			memset(out, 0, sizeof(*out));
		return;
	}
	if (lb_path_canon(lb_client_flavor(), res->target, strlen(res->target), &raw) == LB_OK &&
	    lb_path_resolve(parent, &raw, out) != LB_OK)
		memset(out, 0, sizeof(*out));
	lb_path_free(&raw);
}

/* Whether an entry of C needs a link of P (the message before it). */
static int
lb_chunk_after(const struct lb_chunk *c, const struct lb_chunk *p, const struct lb_result *rq)
{
	struct lb_path dep;
	size_t k;
	int needs = 0;

	for (k = 0; k < c->m && !needs; k++) {
		const int e = c->ent[k];

		if (e < 0)
			continue;
		needs = lb_chunk_needs(p, &c->parent[e]);
		if (!needs) {
			lb_chunk_target_of(&rq[c->first + k], &c->parent[e], &c->target[e], &dep);
			needs = lb_chunk_needs(p, &dep);
			lb_path_free(&dep);
		}
	}
	return needs;
}

/* C := the next batch message from RQ[FROM..N): as many requests as fit
 * one frame and LB_BATCH_MAX, up to one that needs a link made by an
 * earlier one of them. */
static void
lb_chunk_build(struct lb_session *s, struct lb_chunk *c, const struct lb_result *rq,
    size_t from, size_t n)
{
	struct lb_path link, target, parent, dep;
	size_t esz, e, tlen;
	const char *t;
	int r, needs;

	c->first = from;
	c->m = 0;
	c->bt.n = 0;
	c->bytes = LB_BATCH_FIXED + LB_SIG_BYTES;
	while (from + c->m < n && c->m < LB_BATCH_MAX) {
		const struct lb_result *res = &rq[from + c->m];

		memset(&link, 0, sizeof(link));
		memset(&target, 0, sizeof(target));
		memset(&parent, 0, sizeof(parent));
		r = lb_resolve_paths(s, res, &link, &target);
		if (r == LB_OK && lb_path_parent(&link, &parent) != LB_OK)
			r = LB_WHY(&s->why, LB_E_NOMEM, "%s", lb_strerror(LB_E_NOMEM));
		t = target.s != NULL ? target.s : res->target;
		tlen = target.s != NULL ? target.len : strlen(res->target);
		esz = lb_batch_entry_size(link.len, tlen);
		if (r == LB_OK && (link.len > LB_WIRE_STR_MAX || tlen > LB_WIRE_STR_MAX ||
		    LB_BATCH_FIXED + LB_SIG_BYTES + esz > LB_FRAME_MAX))
			r = LB_WHY(&s->why, LB_E_TOOBIG, "cannot make the request: %s",
			    lb_strerror(LB_E_TOOBIG));
		if (r != LB_OK) {
			lb_path_free(&link);
			lb_path_free(&target);
			lb_path_free(&parent);
			c->ent[c->m] = -1;
			c->fail[c->m] = r;
			c->why[c->m] = lb_strndup((const char *)s->why.data, s->why.len);
			c->m++;
			continue;
		}
		lb_chunk_target_of(res, &parent, &target, &dep);
		needs = lb_chunk_needs(c, &parent) || lb_chunk_needs(c, &dep);
		lb_path_free(&dep);
		if (c->bytes + esz > LB_FRAME_MAX || needs) {
			lb_path_free(&link);
			lb_path_free(&target);
			lb_path_free(&parent);
			break;
		}
		e = c->bt.n++;
		c->link[e] = link;
		c->target[e] = target;
		c->parent[e] = parent;
		c->bt.e[e].type = res->type;
		c->bt.e[e].kind = (uint8_t)res->kind;
		c->bt.e[e].link = c->link[e].s;
		c->bt.e[e].link_len = c->link[e].len;
		c->bt.e[e].target = t;
		c->bt.e[e].target_len = tlen;
		c->bytes += esz;
		c->ent[c->m] = (int)e;
		c->why[c->m] = NULL;
		c->m++;
	}
}

/* The answer to the batch with NONCE into C->resp (pointing into s->in
 * until the next call): signed by the service key, for this batch.
 * LB_E_VERSION: the broker speaks only version 1 (its signed "unknown
 * version" answer, not bound to any request). Busy answers as for a
 * request. */
static int
lb_take_batch_answer(struct lb_session *s, struct lb_chunk *c, int last)
{
	static const uint8_t zero[LB_NONCE_BYTES];
	struct lb_batch_response *resp = &c->resp;
	const uint8_t *nonce = c->bt.nonce;
	struct lb_response old;
	const uint8_t *msg;
	size_t msg_len, body_len;
	int r;

	if ((r = lb_recv_frame(s, nonce, last, &msg, &msg_len)) != LB_OK)
		return r;
	if (!lb_msg_is_batch(msg, msg_len)) {
		if (lb_response_decode(msg, msg_len, &old, NULL) == LB_OK &&
		    lb_response_verify(&old, s->service_pk) == LB_OK &&
		    lb_ct_equal(old.nonce, zero, LB_NONCE_BYTES) &&
		    (old.status == LB_E_VERSION || old.status == LB_E_MSG_TYPE))
			return LB_E_VERSION;
		return LB_WHY(&s->why, LB_E_NOT_GENUINE, "%s",
		    "broker is not genuine: a batch answered with something else");
	}
	/* kept with its message: a later message's answer may come first */
	memcpy(c->ans, msg, msg_len);
	msg = c->ans;
	if ((r = lb_batch_response_decode(msg, msg_len, resp, &body_len)) != LB_OK)
		return LB_WHY(&s->why, LB_E_NOT_GENUINE, "broker is not genuine: malformed answer (%s)",
		    lb_strerror(r));
	if ((r = lb_batch_response_verify(resp, msg, body_len, s->service_pk)) != LB_OK)
		return r == LB_E_NOMEM ? r : LB_WHY(&s->why, LB_E_NOT_GENUINE,
		    "%s", "broker is not genuine: response signature does not verify");
	if (!lb_ct_equal(resp->nonce, nonce, LB_NONCE_BYTES) ||
	    (resp->status == LB_OK && resp->n != c->bt.n))
		return LB_WHY(&s->why, LB_E_NOT_GENUINE, "%s", "broker is not genuine: the answer "
		    "is not for this batch");
	return LB_OK;
}

/* C's batch signed (a fresh nonce and time each try) and sent. */
static int
lb_chunk_send(struct lb_session *s, struct lb_chunk *c)
{
	int r;

	if ((r = lb_session_connect(s)) != LB_OK)
		return r;
	c->bt.version = LB_WIRE_VERSION_BATCH;
	c->bt.type = LB_MSG_BATCH;
	c->bt.timestamp = lb_client_time();
	lb_random(c->bt.nonce, sizeof(c->bt.nonce));
	memcpy(c->bt.key, s->sk + LB_SK_PK_OFFSET, LB_PK_BYTES);
	lb_buf_reset(&s->body);
	if ((r = lb_batch_sign_encode(&c->bt, s->sk, &s->body)) != LB_OK)
		return LB_WHY(&s->why, r, "cannot make the request: %s", lb_strerror(r));
	if ((r = lb_send_body(s)) == LB_OK)
		c->state = LB_CH_SENT;
	return r;
}

/* C alone on the wire: sent and answered, again while the broker says
 * busy (within LB_CLIENT_BUSY_MS; AFTER: it just said so). */
static int
lb_chunk_exchange(struct lb_session *s, struct lb_chunk *c, int after)
{
	uint64_t first = 0;
	unsigned tries = 0;
	int r;

	/* AFTER: the busy answer (LB_E_RATE or LB_E_BUSY) just heard: its wait first */
	if (after != 0 && (r = lb_busy_wait(s, after, &first, &tries)) != LB_OK)
		return r;
	for (;;) {
		if ((r = lb_chunk_send(s, c)) == LB_OK)
			r = lb_take_batch_answer(s, c, 1);
		if (r == LB_OK)
			c->state = LB_CH_DONE;
		if (r != LB_E_RATE && r != LB_E_BUSY)
			return r;
		c->state = LB_CH_BUSY;   /* refused unheard: nothing of it was done */
		lb_batch_progress(s);
		if ((r = lb_busy_wait(s, r, &first, &tries)) != LB_OK)
			return r;
	}
}

/* C's results, in request order: the broker's answer (STOP LB_OK), or
 * STOP, which stopped the batch (SENT: the broker may have made them). */
static void
lb_chunk_deliver(struct lb_session *s, const struct lb_chunk *c, const struct lb_result *rq,
    int stop)
{
	const int sent = c->state == LB_CH_SENT;
	const struct lb_batch_response *rs = &c->resp;
	struct lb_result r;
	size_t k;
	int first = s->stop_status == LB_OK;   /* one result says what stopped the batch */

	for (k = 0; k < c->m; k++) {
		r = rq[c->first + k];
		r.stopped = 0;
		r.allowed = 0;
		r.rule = NULL;
		r.rule_len = 0;
		if (c->ent[k] < 0) {
			r.state = LB_RES_NOT_SENT;
			r.status = c->fail[k];
			r.msg = c->why[k];
			r.msg_len = c->why[k] != NULL ? strlen(c->why[k]) : 0;
		} else if (stop != LB_OK) {
			r.state = sent ? LB_RES_UNANSWERED : LB_RES_NOT_SENT;
			r.status = stop;
			r.stopped = first ? 1 : 2;
			r.msg = first ? (const char *)s->why.data : NULL;
			r.msg_len = first ? s->why.len : 0;
			first = 0;
			s->stop_status = stop;
		} else if (rs->status != LB_OK) {
			/* refused whole: each of its requests is */
			r.state = LB_RES_ANSWERED;
			r.status = rs->status;
			r.msg = rs->message;
			r.msg_len = rs->message_len;
		} else {
			const struct lb_batch_result *x = &rs->r[c->ent[k]];

			r.state = LB_RES_ANSWERED;
			r.status = x->status;
			r.allowed = x->verdict == LB_VERDICT_ALLOW;
			r.rule = x->rule;
			r.rule_len = x->rule_len;
			r.msg = x->message;
			r.msg_len = x->message_len;
		}
		lb_deliver(s, &r);
	}
}

/* The answered messages at the head of Q[0..QN), delivered in request
 * order and taken off; the new QN. */
static size_t
lb_queue_deliver(struct lb_session *s, struct lb_chunk *q[2], size_t qn,
    const struct lb_result *rq)
{
	while (qn > 0 && q[0]->state == LB_CH_DONE) {
		lb_chunk_deliver(s, q[0], rq, LB_OK);
		lb_chunk_clear(q[0]);
		q[0] = q[1];
		q[1] = NULL;
		qn--;
	}
	return qn;
}

/* Up to two batch messages in flight: the broker works on one while the
 * next is made and signed. The second goes out only if none of its lines
 * needs a link of the first (else once the first is answered); results
 * are delivered in request order. A busy answer empties the pipeline:
 * what is on the wire is answered, then each busy message is sent again
 * alone, in order. */
int
lb_session_batch(struct lb_session *s, const struct lb_result *rq, size_t n)
{
	struct lb_chunk *slot[2] = { NULL, NULL }, *q[2] = { NULL, NULL }, *c;
	size_t i = 0, qn = 0, k;
	int r = LB_OK, busy;

	lb_session_fresh_cwd(s);
	s->delivered = 0;
	s->stop_status = LB_OK;
	s->progress_at = lb_client_clock_ms() + 1000;
	if (s->no_batch || getenv("LINKBROKER_BATCH_V1") != NULL)
		return lb_session_batch_v1(s, rq, n);
	if ((slot[0] = calloc(1, sizeof(*slot[0]))) == NULL ||
	    (slot[1] = calloc(1, sizeof(*slot[1]))) == NULL) {
		free(slot[0]);
		return lb_session_batch_v1(s, rq, n);
	}
	if ((r = lb_session_key(s)) != LB_OK || (r = lb_session_connect(s)) != LB_OK) {
		/* nothing can be sent: the first says why */
		for (k = 0; k < n; k++)
			lb_deliver_left(s, &rq[k], r, LB_RES_NOT_SENT);
		goto out;
	}
	while (i < n || qn > 0) {
		/* a message held for the one before it, now first: it goes */
		if (qn > 0 && q[0]->state == LB_CH_HELD && (r = lb_chunk_send(s, q[0])) != LB_OK)
			goto stop;
		/* fill: build, and send what may go now */
		while (qn < 2 && i < n) {
			c = slot[0] == (qn > 0 ? q[0] : NULL) ? slot[1] : slot[0];
			lb_chunk_build(s, c, rq, i, n);
			i += c->m;
			c->state = c->bt.n == 0 ? LB_CH_DONE :
			    qn > 0 && q[0]->state != LB_CH_DONE && lb_chunk_after(c, q[0], rq) ? LB_CH_HELD :
			    LB_CH_READY;
			q[qn++] = c;
			if (c->state == LB_CH_READY && (r = lb_chunk_send(s, c)) != LB_OK)
				goto stop;
			if (c->state == LB_CH_HELD)
				break;
		}
		c = q[0];
		if (c->state == LB_CH_SENT) {
			r = lb_take_batch_answer(s, c, qn < 2 || q[1]->state != LB_CH_SENT);
			busy = r == LB_E_RATE || r == LB_E_BUSY ? r : 0;
			if (r == LB_OK)
				c->state = LB_CH_DONE;
			else if (busy) {
				c->state = LB_CH_BUSY;
				/* answer what is on the wire, then one at a time */
				if (r == LB_E_BUSY) {
					if (qn > 1 && q[1]->state == LB_CH_SENT)
						q[1]->state = LB_CH_BUSY;   /* the connection is closed */
				} else if (qn > 1 && q[1]->state == LB_CH_SENT) {
					r = lb_take_batch_answer(s, q[1], 1);
					if (r == LB_OK)
						q[1]->state = LB_CH_DONE;
					else if (r == LB_E_RATE || r == LB_E_BUSY)
						q[1]->state = LB_CH_BUSY;
					else
						goto stop;
				}
				lb_batch_progress(s);
				for (k = 0; k < qn; k++)
					if (q[k]->state == LB_CH_BUSY &&
					    (r = lb_chunk_exchange(s, q[k], busy)) != LB_OK)
						goto stop_at;
				r = LB_OK;
			} else if (r == LB_E_VERSION) {
				/* an older broker: the rest one by one, pipelined */
				s->no_batch = 1;
				/* the second message's refusal too, if it went: then the
				 * same connection goes on */
				if (qn > 1 && q[1]->state == LB_CH_SENT &&
				    lb_take_batch_answer(s, q[1], 1) != LB_E_VERSION)
					lb_session_drop(s);
				r = lb_session_batch_v1(s, rq + c->first, n - c->first);
				goto out;
			} else {
				goto stop;
			}
		}
		/* deliver in request order */
		qn = lb_queue_deliver(s, q, qn, rq);
	}
	goto out;
stop_at:
	/* Q[K] could not be asked; those before it are answered */
	qn = lb_queue_deliver(s, q, qn, rq);
stop:
	/* R stopped the batch: what is left in the queue, then the rest */
	for (k = 0; k < qn; k++) {
		lb_chunk_deliver(s, q[k], rq, q[k]->state == LB_CH_DONE ? LB_OK : r);
		lb_chunk_clear(q[k]);
	}
	for (; i < n; i++)
		lb_deliver_left(s, &rq[i], r, LB_RES_NOT_SENT);
	lb_session_drop(s);
out:
	for (k = 0; k < 2; k++) {
		if (slot[k] != NULL)
			lb_chunk_clear(slot[k]);
		free(slot[k]);
	}
	return r;
}
