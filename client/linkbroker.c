/* linkbroker: the mklink-compatible client. Resolves the link against the
 * cwd, signs each request with the user's key, checks that the broker's
 * answer is signed by the service key and carries our nonce, and prints
 * what mklink prints (or one JSON object per result). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_buf.h"
#include "lb_json.h"
#include "lb_client.h"
#include "lb_client_args.h"
#include "lb_path.h"
#include "lb_sig.h"
#include "lb_wire.h"

#define LB_BATCH_INPUT_MAX (64u * 1024u * 1024u)
/* One output line: two wire strings, each escaped at most 4 bytes per byte. */
#define LB_OUT_MAX (8u * LB_FRAME_MAX + 4096u)
#define LB_WHY_MAX (4u * LB_PATH_BUF_MAX)
#define LB_SERVICE_KEY_FILE_MAX 256
/* batch pipelining: at most this many requests, and this many bytes of
 * them, in flight (one more whatever its size). Small enough that the
 * answers to them always fit in the socket or pipe buffers (64 KiB and
 * more) while we are still sending, so neither side waits on the other. */
#define LB_BATCH_WINDOW 32
#define LB_BATCH_WINDOW_BYTES (16u * 1024u)
/* The public half of a libsodium Ed25519 secret key is its last 32 bytes. */
#define LB_SK_PK_OFFSET (LB_SK_BYTES - LB_PK_BYTES)

static const char lb_synopsis[] =
    "usage: linkbroker [/D | /H | /J] Link Target        create a link (default: file symbolic link)\n"
    "       linkbroker check [/D | /H | /J] Link Target  dry run: would the broker allow it?\n"
    "       linkbroker keygen [--force]                  create your key, print its enrollment block\n"
    "       linkbroker status                            is the broker there and genuine, is my key enrolled?\n"
    "       linkbroker batch [FILE | -]                  one request per line: [/D|/H|/J] Link Target\n"
    "options: --json  --endpoint PATH  --service-key FILE  --help\n";

static const char lb_help_more[] =
    "\n"
    "kinds (one at most; /X in any case):\n"
    "  /D, -d, --dir        directory symbolic link\n"
    "  /H, -H, --hard       hard link (Target resolved against the current directory)\n"
    "  /J, -j, --junction   junction (Target resolved against the current directory)\n"
    "\n"
    "options:\n"
    "  --json               one JSON object per result instead of text\n"
    "  --endpoint PATH      the broker's socket (LINKBROKER_ENDPOINT; default %s)\n"
    "  --service-key FILE   the broker's public key (LINKBROKER_SERVICE_KEY; default %s)\n"
    "  --force              keygen: replace an existing key\n"
    "  --                   everything after it is Link and Target\n"
    "\n"
    "batch lines: fields separated by blanks; \"...\" quotes a field, with \\\" and \\\\\n"
    "inside quotes only; blank lines and lines starting with # are skipped.\n"
    "\n"
    "exit codes: 0 created/allowed, 1 denied, 2 usage or bad input,\n"
    "            3 broker unreachable or not genuine, 4 the operation failed.\n"
    "See docs/client.md.\n";

static int
lb_usage_error(const char *why, const char *bad)
{
	struct lb_buf b;
	const char *s;

	lb_buf_init(&b, LB_WHY_MAX);
	if (lb_buf_printf(&b, "linkbroker: %s", why) == LB_OK &&
	    (bad == NULL || (lb_buf_put_cstr(&b, ": ") == LB_OK &&
	    lb_buf_put_display(&b, bad, strlen(bad)) == LB_OK)) &&
	    lb_buf_cstr(&b, &s) == LB_OK)
		fprintf(stderr, "%s\n%s", s, lb_synopsis);
	else
		fprintf(stderr, "linkbroker: usage error\n%s", lb_synopsis);
	lb_buf_free(&b);
	return LB_EXIT_BAD_INPUT;
}

/* ---- output ---- */

/* Write B and a newline to F. A failed write to stdout is caught by the
 * ferror() check in main(); stderr has nowhere to report to. */
static void lb_progress_clear(void);

static void
lb_emit(struct lb_buf *b, FILE *f)
{
	lb_progress_clear();
	if (lb_buf_put_u8(b, '\n') != LB_OK) {
		fputs("linkbroker: (output too long to print)\n", f);
		return;
	}
	lb_client_write(f, b->data, b->len);
}

/* A problem that is not the result of a link request (keygen, status,
 * reading a batch file): "linkbroker: MSG" or {"status","exit","message"}.
 * MSG NULL: STATUS's own message. */
static int
lb_fail(int json, int status, const char *msg, size_t msg_len)
{
	struct lb_buf o;
	int r;

	if (msg == NULL) {
		msg = lb_strerror(status);
		msg_len = strlen(msg);
	}
	lb_buf_init(&o, LB_OUT_MAX);
	if (json)
		r = lb_buf_printf(&o, "{\"status\":%d,\"exit\":%d,\"message\":", status,
		    lb_exit_code(status)) == LB_OK &&
		    lb_json_put_str(&o, msg, msg_len) == LB_OK && lb_buf_put_u8(&o, '}') == LB_OK;
	else
		r = lb_buf_put_cstr(&o, "linkbroker: ") == LB_OK &&
		    lb_buf_put_display(&o, msg, msg_len) == LB_OK;
	if (!r)
		(void)LB_WHY(&o, 0, "linkbroker: %s", lb_strerror(status));
	lb_emit(&o, json ? stdout : stderr);
	lb_buf_free(&o);
	return lb_exit_code(status);
}

static int
lb_fail_buf(int json, int status, const struct lb_buf *why)
{
	return lb_fail(json, status, why->len > 0 ? (const char *)why->data : NULL, why->len);
}

/* The outcome of one link request, from the broker or from a check here. */
struct lb_result {
	size_t line;                  /* batch: line number; else 0 */
	uint8_t type;                 /* LB_MSG_CREATE or LB_MSG_CHECK */
	enum lb_kind kind;
	const char *link, *target;    /* as typed; NULL if the line had none */
	int status;                   /* LB_OK or LB_E_* */
	int allowed;                  /* the broker's verdict */
	const char *rule;
	size_t rule_len;
	const char *msg;
	size_t msg_len;
};

static int
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

static const char *
lb_mklink_phrase(enum lb_kind kind)
{
	switch (kind) {
	case LB_KIND_HARDLINK:
		return "Hardlink created for ";
	case LB_KIND_JUNCTION:
		return "Junction created for ";
	default:
		return "symbolic link created for ";
	}
}

static int
lb_result_json(struct lb_buf *o, const struct lb_result *r, int ex)
{
	static const char *const verdicts[] = { "allowed", "denied", "failed" };
	int rc;

	if ((rc = lb_buf_put_cstr(o, "{\"link\":")) != LB_OK ||
	    (rc = lb_json_put_cstr(o, r->link)) != LB_OK ||
	    (rc = lb_buf_put_cstr(o, ",\"target\":")) != LB_OK ||
	    (rc = lb_json_put_cstr(o, r->target)) != LB_OK ||
	    (rc = lb_buf_put_cstr(o, ",\"kind\":")) != LB_OK ||
	    (rc = lb_json_put_cstr(o, r->link != NULL ? lb_kind_name(r->kind) : NULL)) != LB_OK ||
	    (rc = lb_buf_printf(o, ",\"verdict\":\"%s\",\"status\":%d,\"exit\":%d,\"rule\":",
	    verdicts[ex < 2 ? ex : 2], r->status, ex)) != LB_OK ||
	    (rc = lb_json_put_str(o, r->rule_len > 0 ? r->rule : NULL, r->rule_len)) != LB_OK ||
	    (rc = lb_buf_put_cstr(o, ",\"message\":")) != LB_OK ||
	    (rc = lb_json_put_str(o, r->msg, r->msg_len)) != LB_OK)
		return rc;
	if (r->line > 0 && (rc = lb_buf_printf(o, ",\"line\":%zu", r->line)) != LB_OK)
		return rc;
	return lb_buf_put_u8(o, '}');
}

static int
lb_result_text(struct lb_buf *o, const struct lb_result *r, int ex)
{
	const char *msg = r->msg;
	size_t msg_len = r->msg_len;
	int rc;

	if (ex == LB_EXIT_OK && r->type == LB_MSG_CREATE) {
		if ((rc = lb_buf_put_cstr(o, lb_mklink_phrase(r->kind))) != LB_OK ||
		    (rc = lb_buf_put_display(o, r->link, strlen(r->link))) != LB_OK ||
		    (rc = lb_buf_put_cstr(o, " <<===>> ")) != LB_OK)
			return rc;
		return lb_buf_put_display(o, r->target, strlen(r->target));
	}
	if (ex == LB_EXIT_OK) {
		if ((rc = lb_buf_put_cstr(o, "allowed: ")) != LB_OK)
			return rc;
		return r->rule_len > 0 ? lb_buf_put_display(o, r->rule, r->rule_len) :
		    lb_buf_put_display(o, r->msg, r->msg_len);
	}
	if (msg_len == 0) {
		msg = lb_strerror(r->status != LB_OK ? r->status : LB_E_DENIED);
		msg_len = strlen(msg);
	}
	if ((rc = lb_buf_put_cstr(o, "linkbroker: ")) != LB_OK ||
	    (r->line > 0 && (rc = lb_buf_printf(o, "line %zu: ", r->line)) != LB_OK) ||
	    (ex == LB_EXIT_DENIED && (rc = lb_buf_put_cstr(o, "denied: ")) != LB_OK))
		return rc;
	return lb_buf_put_display(o, msg, msg_len);
}

/* Print R (stdout for results, stderr for denials and failures in text
 * mode) and return its exit code. */
static int
lb_report(const struct lb_result *r, int json)
{
	struct lb_buf o;
	int ex = lb_result_exit(r), rc;

	lb_buf_init(&o, LB_OUT_MAX);
	rc = json ? lb_result_json(&o, r, ex) : lb_result_text(&o, r, ex);
	if (rc != LB_OK)
		(void)LB_WHY(&o, 0, "linkbroker: result not printable: %s", lb_strerror(rc));
	lb_emit(&o, json || ex == LB_EXIT_OK ? stdout : stderr);
	lb_buf_free(&o);
	return ex;
}

/* ---- talking to the broker ---- */

struct lb_session {
	const char *endpoint;
	const char *service_key_file;
	int json;
	struct lb_path cwd;               /* on first use */
	uint8_t sk[LB_SK_BYTES];
	int have_sk;
	uint8_t service_pk[LB_PK_BYTES];
	struct lb_conn *conn;             /* on first use */
	struct lb_buf body, frame;        /* the request going out */
	uint8_t *in;                      /* answers coming in */
	size_t in_len;                    /* bytes received into IN */
	size_t in_used;                   /* of which the last answer taken */
	struct lb_buf why;                /* the last failure, for the user */
	uint32_t retry_ms;                /* the last busy answer's wait */
	/* batch: lines not reported yet, in line order (Q, from Q_HEAD), and
	 * those of them on the wire, in the order sent (W: indices into Q) */
	struct lb_inflight {
		struct lb_result res;
		uint8_t nonce[LB_NONCE_BYTES];
		size_t bytes;
		int state;                /* LB_IF_* */
		uint64_t busy_since;      /* its first busy answer (ms), 0: none */
		char *copy;               /* DONE: the answer's rule and message */
	} q[LB_BATCH_WINDOW];
	size_t q_head, q_n;
	size_t w[LB_BATCH_WINDOW], w_head, w_n, w_bytes;
	size_t n_busy;                    /* entries of Q to send again */
	uint64_t busy_until;              /* not before this (ms) */
	unsigned conn_busy;               /* "too many clients" answers in a row */
	size_t lines_total, lines_done;   /* for the progress line */
	uint64_t progress_at;
	size_t stop_line;                 /* the line a batch stopped at */
};

enum {
	LB_IF_SENT = 0,       /* on the wire, its answer to come */
	LB_IF_BUSY,           /* answered "busy": to send again */
	LB_IF_DONE,           /* its result known, to report in line order */
};

/* A progress line is on stderr (a terminal): cleared before any output. */
static int lb_progress_shown;

static void
lb_progress_clear(void)
{
	if (lb_progress_shown) {
		fputs("\r\033[K", stderr);
		lb_progress_shown = 0;
	}
}

static const char *
lb_setting(const char *option, const char *env, const char *dflt)
{
	const char *v;

	if (option != NULL)
		return option;
	if ((v = getenv(env)) != NULL && v[0] != '\0')
		return v;
	return dflt;
}

static void
lb_session_init(struct lb_session *s, const struct lb_cli_args *a)
{
	memset(s, 0, sizeof(*s));
	s->endpoint = lb_setting(a->endpoint, "LINKBROKER_ENDPOINT", lb_client_default_endpoint());
	s->service_key_file = lb_setting(a->service_key, "LINKBROKER_SERVICE_KEY",
	    lb_client_default_service_key());
	s->json = a->json;
	lb_buf_init(&s->body, LB_FRAME_MAX);
	lb_buf_init(&s->frame, LB_FRAME_HDR + LB_FRAME_MAX);
	lb_buf_init(&s->why, LB_WHY_MAX);
}

static void
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
static int
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
static int
lb_send(struct lb_session *s, struct lb_request *rq)
{
	struct lb_buf reason;
	int r;

	rq->version = LB_WIRE_VERSION;
	rq->timestamp = lb_client_time();
	lb_random(rq->nonce, sizeof(rq->nonce));
	memcpy(rq->key, s->sk + LB_SK_PK_OFFSET, LB_PK_BYTES);
	lb_buf_reset(&s->body);
	lb_buf_reset(&s->frame);
	if ((r = lb_request_sign_checked(rq, s->sk)) != LB_OK ||
	    (r = lb_request_encode(rq, &s->body)) != LB_OK ||
	    (r = lb_frame_put(&s->frame, s->body.data, s->body.len)) != LB_OK)
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
static int
lb_take_answer(struct lb_session *s, const uint8_t nonce[LB_NONCE_BYTES], int last,
    struct lb_response *resp)
{
	const size_t cap = LB_FRAME_HDR + LB_FRAME_MAX;
	struct lb_buf reason;
	const uint8_t *msg;
	size_t got, msg_len, consumed;
	uint64_t deadline;
	int r;

	memset(resp, 0, sizeof(*resp));
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
	if ((r = lb_response_decode(msg, msg_len, resp, NULL)) != LB_OK)
		goto malformed;
	if ((r = lb_response_verify(resp, s->service_pk)) != LB_OK) {
		r = r == LB_E_NOMEM ? r : LB_WHY(&s->why, LB_E_NOT_GENUINE,
		    "%s", "broker is not genuine: response signature does not verify");
		goto out;
	}
	if (!lb_ct_equal(resp->nonce, nonce, LB_NONCE_BYTES)) {
		r = LB_WHY(&s->why, LB_E_NOT_GENUINE, "%s", "broker is not genuine: response signature "
		    "does not verify for this request (it answers another request's nonce)");
		goto out;
	}
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

/* This process's current directory as a canonical path, once. */
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

/* Report RES with the broker's answer RESP. */
static int
lb_report_answer(const struct lb_session *s, struct lb_result *res, const struct lb_response *resp)
{
	res->status = resp->status;
	res->allowed = resp->verdict == LB_VERDICT_ALLOW;
	res->rule = resp->rule;
	res->rule_len = resp->rule_len;
	res->msg = resp->message;
	res->msg_len = resp->message_len;
	return lb_report(res, s->json);
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

/* One create or check request: resolve, ask, report. Returns the exit
 * code. */
static int
lb_do_request(struct lb_session *s, struct lb_result *res)
{
	struct lb_response resp;
	uint8_t nonce[LB_NONCE_BYTES];
	size_t bytes;
	int fatal, r;

	uint64_t first = 0;
	unsigned tries = 0;

	for (;;) {
		if ((r = lb_submit(s, res, nonce, &bytes, &fatal)) == LB_OK)
			r = lb_take_answer(s, nonce, 1, &resp);
		if (r == LB_OK)
			return lb_report_answer(s, res, &resp);
		if ((r != LB_E_RATE && r != LB_E_BUSY) || (r = lb_busy_wait(s, r, &first, &tries)) != LB_OK) {
			lb_result_set_why(res, r, s);
			return lb_report(res, s->json);
		}
	}
}

/* ---- batch: pipelined requests over one connection ---- */

/* The progress line on a terminal while the broker paces us: at most one
 * a second, on stderr, overwritten in place and cleared before any other
 * output. */
static void
lb_batch_progress(struct lb_session *s)
{
	const uint64_t now = lb_client_clock_ms();

	if (s->lines_total == 0 || now < s->progress_at || !lb_client_stderr_is_tty())
		return;
	s->progress_at = now + 1000;
	fprintf(stderr, "\rlinkbroker: %zu of %zu lines done; paced by the broker's rate limit\033[K",
	    s->lines_done, s->lines_total);
	fflush(stderr);
	lb_progress_shown = 1;
}

static struct lb_inflight *
lb_batch_at(struct lb_session *s, size_t k)
{
	return &s->q[(s->q_head + k) % LB_BATCH_WINDOW];
}

/* F's result is known: RESP (copied) or a failure (STATUS, s->why). */
static void
lb_batch_done(struct lb_session *s, struct lb_inflight *f, const struct lb_response *resp, int status)
{
	const char *msg = resp != NULL ? resp->message : (const char *)s->why.data;
	size_t msg_len = resp != NULL ? resp->message_len : s->why.len;
	size_t rule_len = resp != NULL ? resp->rule_len : 0;

	if (f->state == LB_IF_BUSY)
		s->n_busy--;
	f->state = LB_IF_DONE;
	free(f->copy);
	/* Out of memory: the result without its texts (exit codes stay). */
	if ((f->copy = malloc(rule_len + msg_len + 1)) != NULL) {
		if (rule_len > 0)
			memcpy(f->copy, resp->rule, rule_len);
		if (msg_len > 0)
			memcpy(f->copy + rule_len, msg, msg_len);
	}
	f->res.status = resp != NULL ? resp->status : status;
	f->res.allowed = resp != NULL && resp->verdict == LB_VERDICT_ALLOW;
	f->res.rule = f->copy;
	f->res.rule_len = f->copy != NULL ? rule_len : 0;
	f->res.msg = f->copy != NULL ? f->copy + rule_len : NULL;
	f->res.msg_len = f->copy != NULL ? msg_len : 0;
}

/* Report the lines whose results are known, in line order. */
static void
lb_batch_report(struct lb_session *s, int *worst)
{
	struct lb_inflight *f;
	int ex;

	while (s->q_n > 0 && (f = lb_batch_at(s, 0))->state == LB_IF_DONE) {
		if ((ex = lb_report(&f->res, s->json)) > *worst)
			*worst = ex;
		free(f->copy);
		f->copy = NULL;
		s->q_head = (s->q_head + 1) % LB_BATCH_WINDOW;
		s->q_n--;
		s->lines_done = f->res.line;
	}
}

/* Take the answer to the request sent first of those on the wire. A busy
 * one marks its line (too many clients: every line on the wire) to be
 * sent again; any other failure is *FATAL (the line's result says why,
 * s->stop_line is set): the connection is unusable. */
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
		lb_batch_done(s, f, &resp, LB_OK);
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
	*fatal = 1;
	s->stop_line = f->res.line;
	lb_batch_done(s, f, NULL, r);
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
		lb_batch_done(s, f, NULL, r);
		if (gone) {
			*fatal = 1;
			s->stop_line = f->res.line;
		}
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
			lb_batch_done(s, f, NULL, conn ? LB_E_BUSY : LB_E_RATE);
			if (conn) {
				*fatal = 1;
				s->stop_line = f->res.line;
			}
			continue;
		}
		if (s->w_n == LB_BATCH_WINDOW || s->w_bytes + f->bytes > LB_BATCH_WINDOW_BYTES)
			break;
		lb_batch_send(s, f, fatal);
		if (s->conn == NULL)
			break;   /* refused again: wait again */
	}
}

/* Take answers, report and resend until there is room for a request of
 * BYTES more (ALL: until every line is reported). */
static void
lb_batch_drain(struct lb_session *s, int all, size_t bytes, int *worst, int *fatal)
{
	for (;;) {
		lb_batch_report(s, worst);
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
			return;   /* nothing to wait for (cannot happen: Q's lines are on the wire) */
		lb_batch_take(s, fatal);
	}
}

/* One batch line's request: sent now, its answer taken later, so that up
 * to a window of requests is in flight; results still come out in the
 * order of the lines, however often the broker says "busy". *SENT := 1
 * when it went out. */
static void
lb_batch_one(struct lb_session *s, const struct lb_result *res, int *sent, int *worst, int *fatal)
{
	struct lb_inflight *f;

	*sent = 0;
	/* Room first, for a request of a typical size or more. */
	lb_batch_drain(s, 0, LB_BATCH_WINDOW_BYTES / 8, worst, fatal);
	if (*fatal)
		return;
	f = lb_batch_at(s, s->q_n);
	free(f->copy);
	memset(f, 0, sizeof(*f));
	f->res = *res;
	f->state = LB_IF_SENT;
	s->q_n++;
	lb_batch_send(s, f, fatal);
	*sent = 1;   /* on the wire, to be sent again, or its result known */
	lb_batch_report(s, worst);
}

/* ---- commands ---- */

static int
lb_cmd_link(const struct lb_cli_args *a)
{
	struct lb_session s;
	struct lb_result res;
	int ex;

	lb_session_init(&s, a);
	memset(&res, 0, sizeof(res));
	res.type = a->cmd == LB_CLI_CHECK ? LB_MSG_CHECK : LB_MSG_CREATE;
	res.kind = a->kind;
	res.link = a->link;
	res.target = a->target;
	ex = lb_do_request(&s, &res);
	lb_session_free(&s);
	return ex;
}

/* Where a batch stopped: the results known are reported first (the
 * line whose request could not be done among them), then which lines were
 * sent and never answered (they may have been made) and the first line
 * not sent (UNSENT; 0: none). */
static void
lb_batch_stopped(struct lb_session *s, size_t unsent, int *worst)
{
	size_t k, first = 0, last = 0;
	struct lb_inflight *f;
	int ex;

	for (k = 0; k < s->q_n; k++) {
		f = lb_batch_at(s, k);
		if (f->state == LB_IF_DONE) {
			if ((ex = lb_report(&f->res, s->json)) > *worst)
				*worst = ex;
		} else if (f->state == LB_IF_SENT) {
			if (first == 0)
				first = f->res.line;
			last = f->res.line;
		}
	}
	fprintf(stderr, "linkbroker: batch stopped at line %zu", s->stop_line);
	if (first != 0 && first == last)
		fprintf(stderr, "; line %zu was sent but not answered "
		    "(the broker may have made its link)", first);
	else if (first != 0)
		fprintf(stderr, "; lines %zu to %zu were sent but not answered "
		    "(the broker may have made their links)", first, last);
	if (unsent > 0)
		fprintf(stderr, "; lines from %zu on were not sent", unsent);
	fputc('\n', stderr);
}

static int
lb_cmd_batch(const struct lb_cli_args *a)
{
	static const char bom[] = "\xEF\xBB\xBF";
	const char *file = a->batch_file != NULL && strcmp(a->batch_file, "-") != 0 ?
	    a->batch_file : NULL;
	struct lb_session s;
	struct lb_buf input;
	struct lb_cli_line req;
	struct lb_result res;
	char *p, *end, *nl, *line;
	const char *why;
	size_t len = 0, line_no = 0, unsent = 0;
	int fatal = 0, sent = 0, ex, worst = LB_EXIT_OK, r;

	lb_session_init(&s, a);
	lb_buf_init(&input, LB_BATCH_INPUT_MAX + 1);
	if ((r = lb_client_read_file(file, &input, &s.why)) != LB_OK ||
	    (r = lb_buf_put_u8(&input, '\0')) != LB_OK) {
		struct lb_buf msg;

		lb_buf_init(&msg, LB_WHY_MAX);
		if (lb_buf_printf(&msg, "cannot read the batch input %s: %s",
		    file != NULL ? file : "(standard input)", lb_text(&s.why, lb_strerror(r))) != LB_OK)
			lb_buf_reset(&msg);
		worst = lb_fail_buf(a->json, r, &msg);
		lb_buf_free(&msg);
		goto out;
	}
	p = (char *)input.data;
	end = p + input.len - 1;   /* the NUL added above */
	for (nl = p; nl < end && (nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL; nl++)
		s.lines_total++;
	s.lines_total += end > p && end[-1] != '\n';
	for (; p < end; p += len + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		line = p;
		line[len] = '\0';
		line_no++;
		if (line_no == 1 && strncmp(line, bom, 3) == 0)
			line += 3;
		memset(&res, 0, sizeof(res));
		res.line = line_no;
		res.type = LB_MSG_CREATE;
		if (strlen(line) != len - (size_t)(line - p)) {
			why = "line contains a NUL byte";
			r = LB_E_USAGE;
		} else {
			r = lb_cli_parse_line(line, &req, &why);
		}
		sent = 0;
		if (r != LB_OK) {
			/* after the answers to the lines before it */
			lb_batch_drain(&s, 1, 0, &worst, &fatal);
			if (fatal)
				break;
			res.status = r;
			res.msg = why;
			res.msg_len = strlen(why);
			if ((ex = lb_report(&res, a->json)) > worst)
				worst = ex;
		} else if (req.link != NULL) {
			res.kind = req.kind;
			res.link = req.link;
			res.target = req.target;
			lb_batch_one(&s, &res, &sent, &worst, &fatal);
			if (fatal)
				break;
		}
	}
	if (!fatal)
		lb_batch_drain(&s, 1, 0, &worst, &fatal);
	else
		/* The line we stopped on went out or was reported, or neither. */
		unsent = sent || s.stop_line == line_no ? (p + len + 1 < end ? line_no + 1 : 0) : line_no;
	if (fatal)
		lb_batch_stopped(&s, unsent, &worst);
out:
	lb_buf_free(&input);
	lb_session_free(&s);
	return worst;
}

static int
lb_cmd_keygen(const struct lb_cli_args *a)
{
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES];
	char b64[LB_PK_B64_LEN];
	struct lb_buf name, where, why, o;
	const char *n;
	int r, ex;

	lb_buf_init(&name, 1024);
	lb_buf_init(&where, LB_PATH_INPUT_MAX);
	lb_buf_init(&why, LB_WHY_MAX);
	lb_buf_init(&o, LB_OUT_MAX);
	if ((r = lb_crypto_init()) != LB_OK ||
	    (r = lb_client_user_name(&name, &why)) != LB_OK ||
	    (r = lb_buf_cstr(&name, &n)) != LB_OK ||
	    (r = lb_sign_keypair(pk, sk)) != LB_OK ||
	    (r = lb_pk_to_b64(pk, b64)) != LB_OK ||
	    (r = lb_client_key_save(sk, a->force, &why)) != LB_OK) {
		ex = lb_fail_buf(a->json, r, &why);
		goto out;
	}
	if (lb_client_key_location(&where) != LB_OK)
		lb_buf_reset(&where);
	if (a->json) {
		r = lb_buf_put_cstr(&o, "{\"user\":") == LB_OK && lb_json_put_cstr(&o, n) == LB_OK &&
		    lb_buf_printf(&o, ",\"public_key\":\"%s\",\"key_file\":", b64) == LB_OK &&
		    lb_json_put_str(&o, (const char *)where.data, where.len) == LB_OK &&
		    lb_buf_put_u8(&o, '}') == LB_OK;
	} else {
		/* Exactly the block an administrator pastes into the policy. */
		r = lb_buf_put_cstr(&o, "[key:") == LB_OK &&
		    lb_buf_put_display(&o, n, strlen(n)) == LB_OK &&
		    lb_buf_put_cstr(&o, "]\nuser = ") == LB_OK &&
		    lb_buf_put_display(&o, n, strlen(n)) == LB_OK &&
		    lb_buf_printf(&o, "\npublic_key = %s", b64) == LB_OK;
	}
	if (!r) {
		ex = lb_fail(a->json, LB_E_NOMEM, NULL, 0);
		goto out;
	}
	lb_emit(&o, stdout);
	if (!a->json) {
		lb_buf_reset(&o);
		if (lb_buf_put_cstr(&o, "linkbroker: key saved in ") == LB_OK &&
		    lb_buf_put_display(&o, (const char *)where.data, where.len) == LB_OK &&
		    lb_buf_put_cstr(&o, "\nlinkbroker: send the block above to your administrator, "
		    "who adds it to the broker's policy to enroll your key") == LB_OK)
			lb_emit(&o, stderr);
	}
	ex = LB_EXIT_OK;
out:
	lb_wipe(sk, sizeof(sk));
	lb_buf_free(&o);
	lb_buf_free(&why);
	lb_buf_free(&where);
	lb_buf_free(&name);
	return ex;
}

static int
lb_status_print(const struct lb_session *s, const struct lb_response *resp,
    const char *key_file, const char *pk_b64)
{
	const int enrolled = resp->status == LB_OK ? 1 : resp->status == LB_E_KEY_UNKNOWN ? 0 : -1;
	static const char *const yn[] = { "no", "yes", "unknown" };
	struct lb_buf o;
	int ex = resp->status == LB_OK ? LB_EXIT_OK : lb_exit_code(resp->status), r;

	lb_buf_init(&o, LB_OUT_MAX);
	if (s->json) {
		r = lb_buf_put_cstr(&o, "{\"endpoint\":") == LB_OK &&
		    lb_json_put_cstr(&o, s->endpoint) == LB_OK &&
		    lb_buf_put_cstr(&o, ",\"genuine\":true,\"key_file\":") == LB_OK &&
		    lb_json_put_cstr(&o, key_file) == LB_OK &&
		    lb_buf_put_cstr(&o, ",\"public_key\":") == LB_OK &&
		    lb_json_put_cstr(&o, s->have_sk ? pk_b64 : NULL) == LB_OK &&
		    lb_buf_printf(&o, ",\"enrolled\":%s,\"status\":%d,\"exit\":%d,\"message\":",
		    enrolled < 0 ? "null" : enrolled ? "true" : "false", resp->status, ex) == LB_OK &&
		    lb_json_put_str(&o, resp->message, resp->message_len) == LB_OK &&
		    lb_buf_put_u8(&o, '}') == LB_OK;
	} else {
		if (key_file == NULL)     /* its location could not be worked out */
			key_file = "(unknown)";
		r = lb_buf_put_cstr(&o, "endpoint: ") == LB_OK &&
		    lb_buf_put_display(&o, s->endpoint, strlen(s->endpoint)) == LB_OK &&
		    lb_buf_put_cstr(&o, "\ngenuine:  yes, the answer is signed by the key in ") == LB_OK &&
		    lb_buf_put_display(&o, s->service_key_file, strlen(s->service_key_file)) == LB_OK &&
		    lb_buf_put_cstr(&o, "\nkey:      ") == LB_OK &&
		    (s->have_sk ?
		    lb_buf_put_display(&o, key_file, strlen(key_file)) == LB_OK &&
		    lb_buf_printf(&o, " (public key %s)", pk_b64) == LB_OK :
		    lb_buf_put_cstr(&o, "none; run 'linkbroker keygen'") == LB_OK) &&
		    lb_buf_printf(&o, "\nenrolled: %s\nbroker:   ", yn[enrolled < 0 ? 2 : enrolled]) == LB_OK &&
		    lb_buf_put_display(&o, resp->message, resp->message_len) == LB_OK;
	}
	if (r)
		lb_emit(&o, stdout);
	else
		ex = lb_fail(s->json, LB_E_NOMEM, NULL, 0);
	lb_buf_free(&o);
	return ex;
}

static int
lb_cmd_status(const struct lb_cli_args *a)
{
	struct lb_session s;
	struct lb_request rq;
	struct lb_response resp;
	struct lb_buf where;
	uint8_t pk[LB_PK_BYTES];
	char b64[LB_PK_B64_LEN] = "";
	const char *key_file = NULL;
	int r, ex;

	lb_session_init(&s, a);
	lb_buf_init(&where, LB_PATH_INPUT_MAX);
	if (lb_client_key_location(&where) != LB_OK || lb_buf_cstr(&where, &key_file) != LB_OK)
		key_file = NULL;
	r = lb_session_key(&s);
	if (r == LB_E_NOENT) {
		/* No key yet: a throwaway one still asks "are you there, are
		 * you genuine, who am I", and the broker says not enrolled. */
		if ((r = lb_sign_keypair(pk, s.sk)) != LB_OK) {
			ex = lb_fail(a->json, r, NULL, 0);
			goto out;
		}
	} else if (r != LB_OK) {
		ex = lb_fail_buf(a->json, r, &s.why);
		goto out;
	} else if (lb_pk_to_b64(s.sk + LB_SK_PK_OFFSET, b64) != LB_OK) {
		b64[0] = '\0';
	}
	if ((r = lb_session_connect(&s)) != LB_OK) {
		ex = lb_fail_buf(a->json, r, &s.why);
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.type = LB_MSG_STATUS;
	rq.kind = LB_KIND_NONE;
	if ((r = lb_exchange(&s, &rq, &resp)) != LB_OK) {
		ex = lb_fail_buf(a->json, r, &s.why);
		goto out;
	}
	ex = lb_status_print(&s, &resp, key_file, b64);
out:
	lb_buf_free(&where);
	lb_session_free(&s);
	return ex;
}

int
main(int argc, char **argv)
{
	struct lb_cli_args a;
	const char *why, *bad;
	char **args;
	int nargs, ex = LB_EXIT_OK;

	if (lb_client_init(argc, argv, &nargs, &args) != LB_OK) {
		fputs("linkbroker: cannot read the command line\n", stderr);
		return LB_EXIT_BAD_INPUT;
	}
	if (lb_cli_parse(nargs, args, &a, &why, &bad) != LB_OK)
		return lb_usage_error(why, bad);
	switch (a.cmd) {
	case LB_CLI_HELP:
		fputs(lb_synopsis, stdout);
		printf(lb_help_more, lb_client_default_endpoint(), lb_client_default_service_key());
		break;
	case LB_CLI_KEYGEN:
		ex = lb_cmd_keygen(&a);
		break;
	case LB_CLI_STATUS:
		ex = lb_cmd_status(&a);
		break;
	case LB_CLI_BATCH:
		ex = lb_cmd_batch(&a);
		break;
	case LB_CLI_CREATE:
	case LB_CLI_CHECK:
		ex = lb_cmd_link(&a);
		break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fputs("linkbroker: cannot write to standard output\n", stderr);
		if (ex == LB_EXIT_OK)
			ex = LB_EXIT_FAILED;
	}
	return ex;
}
