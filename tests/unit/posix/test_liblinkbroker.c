/* liblinkbroker's API (include/linkbroker.h) against a fake broker on a
 * Unix socket in this process: what each call returns and hands out,
 * what reaches the broker (resolved paths, one pipelined connection per
 * batch), answers that are not genuine, busy retries, a handle shared by
 * threads, and a batch that stops. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "linkbroker.h"
#include "lb_buf.h"
#include "lb_client.h"
#include "lb_sig.h"
#include "lb_wire.h"

#define SEEN_MAX 2048

/* What the fake broker received. */
struct seen {
	unsigned conn;
	uint8_t type, kind;
	char link[512], target[512];
};

static struct fake {
	char dir[32], sock[64], pub[64], cfg[64];
	int lfd;
	pthread_t thread;
	uint8_t pk[LB_PK_BYTES], sk[LB_SK_BYTES];   /* the service's */
	uint8_t user_pk[LB_PK_BYTES];               /* the enrolled user's */
	pthread_mutex_t mu;
	struct seen seen[SEEN_MAX];
	size_t n_seen;
	unsigned conns;
	unsigned rate_left;                         /* "rate*" links: busy answers still to give */
	int v1_only;                                /* answer batches as an older broker does */
	int no_list;                                /* answer list and remove as one without them */
	unsigned batches;                           /* batch messages received */
	unsigned batches_refused;                   /* of them answered "unknown version" */
} fk;

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s != NULL ? s + 1 : p;
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Whether a "rate*" request gets a busy answer (one fewer left). */
static int
take_rate(void)
{
	int yes;

	pthread_mutex_lock(&fk.mu);
	if ((yes = fk.rate_left > 0))
		fk.rate_left--;
	pthread_mutex_unlock(&fk.mu);
	return yes;
}

static void
seen_add(unsigned conn, uint8_t type, uint8_t kind, const char *link, size_t link_len,
    const char *target, size_t target_len)
{
	pthread_mutex_lock(&fk.mu);
	if (fk.n_seen < SEEN_MAX) {
		struct seen *s = &fk.seen[fk.n_seen++];

		s->conn = conn;
		s->type = type;
		s->kind = kind;
		snprintf(s->link, sizeof(s->link), "%.*s", (int)link_len, link != NULL ? link : "");
		snprintf(s->target, sizeof(s->target), "%.*s", (int)target_len,
		    target != NULL ? target : "");
	}
	pthread_mutex_unlock(&fk.mu);
}

/* The frame of a signed version-1 answer, as an older broker sends for a
 * message it cannot read (no nonce: it is bound to no request). */
static int
fake_unknown(int fd, int status, const char *why)
{
	struct lb_response resp;
	struct lb_buf body, frame;
	int r;

	memset(&resp, 0, sizeof(resp));
	resp.version = LB_WIRE_VERSION;
	resp.type = LB_MSG_RESPONSE;
	resp.status = status;
	resp.message = why;
	resp.message_len = strlen(resp.message);
	lb_buf_init(&body, LB_FRAME_MAX);
	lb_buf_init(&frame, LB_FRAME_HDR + LB_FRAME_MAX);
	r = lb_response_sign(&resp, fk.sk) == LB_OK && lb_response_encode(&resp, &body) == LB_OK &&
	    lb_frame_put(&frame, body.data, body.len) == LB_OK &&
	    write_all(fd, frame.data, frame.len) == 0 ? 0 : -1;
	lb_buf_free(&body);
	lb_buf_free(&frame);
	return r;
}

/* Answer one batch message, by the same rules per link as fake_answer
 * ("rate*": the whole batch busy; "badsig" / "nonce": the answer forged). */
static int
fake_batch(int fd, unsigned conn, const uint8_t *msg, size_t len)
{
	struct lb_batch *bt = calloc(1, sizeof(*bt));
	struct lb_batch_response *rs = calloc(1, sizeof(*rs));
	struct lb_buf frame, in;
	uint8_t sig[LB_SIG_BYTES];
	size_t i, body_len, n;
	int r = -1, forge = 0, rate = 0;

	lb_buf_init(&frame, LB_FRAME_HDR + LB_FRAME_MAX);
	lb_buf_init(&in, 0);
	pthread_mutex_lock(&fk.mu);
	fk.batches++;
	if (fk.v1_only)
		fk.batches_refused++;
	pthread_mutex_unlock(&fk.mu);
	if (fk.v1_only) {
		r = fake_unknown(fd, LB_E_VERSION, "malformed request: unknown protocol version");
		goto out;
	}
	if (bt == NULL || rs == NULL || lb_batch_decode(msg, len, bt, &body_len) != LB_OK ||
	    lb_batch_verify(bt, msg, body_len, fk.user_pk) != LB_OK)
		goto out;
	for (i = 0; i < bt->n; i++)
		rate |= starts(base_name(bt->e[i].link), "rate");
	if (rate && take_rate()) {
		r = lb_busy_frame(&frame, bt->nonce, LB_E_RATE, 20) == LB_OK &&
		    write_all(fd, frame.data, frame.len) == 0 ? 0 : -1;
		goto out;
	}
	rs->version = LB_WIRE_VERSION_BATCH;
	rs->type = LB_MSG_BATCH_RESPONSE;
	memcpy(rs->nonce, bt->nonce, LB_NONCE_BYTES);
	rs->n = bt->n;
	for (i = 0; i < bt->n; i++) {
		const struct lb_batch_entry *e = &bt->e[i];
		struct lb_batch_result *x = &rs->r[i];
		char link[512];

		snprintf(link, sizeof(link), "%.*s", (int)e->link_len, e->link);
		seen_add(conn, e->type, e->kind, e->link, e->link_len, e->target, e->target_len);
		if (starts(base_name(link), "close"))
			goto out;
		if (starts(base_name(link), "deny")) {
			x->status = LB_E_DENIED;
			x->rule = "no-x";
			x->message = "denied by rule \"no-x\"";
		} else if (starts(base_name(link), "exists")) {
			x->status = LB_E_EXISTS;
			x->rule = "";
			x->message = "a file already exists at the link path";
		} else {
			x->verdict = LB_VERDICT_ALLOW;
			x->rule = "r1";
			x->message = e->type == LB_MSG_CHECK ? "would be allowed" : "created";
			forge |= starts(base_name(link), "badsig") ? 1 : starts(base_name(link), "nonce") ? 2 : 0;
		}
		x->rule_len = strlen(x->rule);
		x->message_len = strlen(x->message);
	}
	if (forge & 2)
		rs->nonce[0] ^= 1;
	if (lb_buf_put_u32(&frame, 0) != LB_OK || lb_batch_response_encode_body(rs, &frame) != LB_OK ||
	    lb_batch_response_signed_input(frame.data + 4, frame.len - 4, &in) != LB_OK ||
	    lb_sign_prepared(fk.sk, in.data, in.len, sig) != LB_OK)
		goto out;
	if (forge & 1)
		sig[0] ^= 1;
	if (lb_buf_put(&frame, sig, sizeof(sig)) != LB_OK)
		goto out;
	n = frame.len - 4;
	frame.data[0] = (uint8_t)(n >> 24);
	frame.data[1] = (uint8_t)(n >> 16);
	frame.data[2] = (uint8_t)(n >> 8);
	frame.data[3] = (uint8_t)n;
	r = write_all(fd, frame.data, frame.len) == 0 ? 0 : -1;
out:
	lb_buf_free(&frame);
	lb_buf_free(&in);
	free(bt);
	free(rs);
	return r;
}

/* Answer one request; -1: close the connection. */
static int
fake_answer(int fd, unsigned conn, const uint8_t *msg, size_t len)
{
	struct lb_request rq;
	struct lb_response resp;
	struct lb_buf body, frame;
	const char *b = "";
	size_t body_len;
	int forge = 0, r = 0;

	if (lb_msg_is_batch(msg, len))
		return fake_batch(fd, conn, msg, len);
	if (lb_request_decode(msg, len, &rq, &body_len) != LB_OK)
		return -1;
	seen_add(conn, rq.type, rq.kind, rq.link, rq.link_len, rq.target, rq.target_len);
	b = base_name(rq.link != NULL ? rq.link : "");
	memset(&resp, 0, sizeof(resp));
	resp.version = LB_WIRE_VERSION;
	resp.type = LB_MSG_RESPONSE;
	memcpy(resp.nonce, rq.nonce, LB_NONCE_BYTES);
	lb_buf_init(&body, LB_FRAME_MAX);
	lb_buf_init(&frame, LB_FRAME_HDR + LB_FRAME_MAX);
	if ((rq.type == LB_MSG_LIST || rq.type == LB_MSG_REMOVE) && fk.no_list) {
		r = fake_unknown(fd, LB_E_MSG_TYPE, "malformed request: unknown message type");
		goto out;
	} else if (rq.type == LB_MSG_LIST) {
		resp.status = LB_OK;
		resp.verdict = LB_VERDICT_ALLOW;
		resp.rule = rq.target_len == 0 ? "5" : "";   /* two pages */
		resp.message = "{\"seq\":5,\"time\":\"2026-12-04T21:10:15Z\",\"kind\":\"symlink\","
		    "\"link\":\"/x/l\",\"target\":\"t\",\"file\":\"1:2\"}\n";
	} else if (rq.type == LB_MSG_REMOVE && starts(b, "notmine")) {
		resp.status = LB_E_NOT_MADE;
		resp.message = "the broker made no link there for you";
	} else if (rq.type == LB_MSG_REMOVE) {
		resp.status = LB_OK;
		resp.verdict = LB_VERDICT_ALLOW;
		resp.rule = "r1";
		resp.message = "symbolic link removed for /x/l <<===>> t";
	} else if (rq.type == LB_MSG_STATUS) {
		int known = memcmp(rq.key, fk.user_pk, LB_PK_BYTES) == 0;

		resp.status = known ? LB_OK : LB_E_KEY_UNKNOWN;
		resp.message = known ? "you are the test user" : "your key is not enrolled";
	} else if (starts(b, "close")) {
		r = -1;
		goto out;
	} else if (starts(b, "rate") && take_rate()) {
		r = lb_busy_frame(&frame, rq.nonce, LB_E_RATE, 20) == LB_OK &&
		    write_all(fd, frame.data, frame.len) == 0 ? 0 : -1;
		goto out;
	} else if (starts(b, "deny")) {
		resp.status = LB_E_DENIED;
		resp.rule = "no-x";
		resp.message = "denied by rule \"no-x\"";
	} else if (starts(b, "exists")) {
		resp.status = LB_E_EXISTS;
		resp.message = "a file already exists at the link path";
	} else {
		resp.status = LB_OK;
		resp.verdict = LB_VERDICT_ALLOW;
		resp.rule = "r1";
		resp.message = rq.type == LB_MSG_CHECK ? "would be allowed" : "created";
		forge = starts(b, "badsig") ? 1 : starts(b, "nonce") ? 2 : 0;
	}
	resp.rule_len = resp.rule != NULL ? strlen(resp.rule) : 0;
	resp.message_len = strlen(resp.message);
	if (forge == 2)
		resp.nonce[0] ^= 1;
	if (lb_response_sign(&resp, fk.sk) != LB_OK) {
		r = -1;
		goto out;
	}
	if (forge == 1)
		resp.sig[0] ^= 1;
	r = lb_response_encode(&resp, &body) == LB_OK && lb_frame_put(&frame, body.data, body.len) == LB_OK &&
	    write_all(fd, frame.data, frame.len) == 0 ? 0 : -1;
out:
	lb_buf_free(&body);
	lb_buf_free(&frame);
	return r;
}

struct fake_conn {
	int fd;
	unsigned conn;
	uint8_t in[LB_FRAME_HDR + LB_FRAME_MAX];
};

/* One connection, on a thread of its own (a client that keeps one open
 * never holds up the others). */
static void *
fake_serve(void *arg)
{
	struct fake_conn *c = arg;
	const uint8_t *msg;
	size_t len = 0, mlen, used;
	ssize_t n;
	int r;

	for (;;) {
		while ((r = lb_frame_parse(c->in, len, &msg, &mlen, &used)) == LB_OK) {
			if (fake_answer(c->fd, c->conn, msg, mlen) != 0)
				goto out;
			memmove(c->in, c->in + used, len - used);
			len -= used;
		}
		if (r != LB_E_SHORT || (n = read(c->fd, c->in + len, sizeof(c->in) - len)) <= 0)
			goto out;
		len += (size_t)n;
	}
out:
	close(c->fd);
	free(c);
	return NULL;
}

static void *
fake_main(void *arg)
{
	struct fake_conn *c;
	pthread_t t;
	int fd;

	(void)arg;
	while ((fd = accept(fk.lfd, NULL, NULL)) >= 0) {
		if ((c = malloc(sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		pthread_mutex_lock(&fk.mu);
		c->conn = ++fk.conns;
		pthread_mutex_unlock(&fk.mu);
		if (pthread_create(&t, NULL, fake_serve, c) != 0) {
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int
setup(void **state)
{
	struct sockaddr_un sa;
	struct lb_buf why;
	char b64[LB_PK_B64_LEN], text[LB_PK_B64_LEN + 2];
	uint8_t usk[LB_SK_BYTES];

	(void)state;
	memset(&fk, 0, sizeof(fk));
	pthread_mutex_init(&fk.mu, NULL);
	snprintf(fk.dir, sizeof(fk.dir), "/tmp/lb-libtest.XXXXXX");
	assert_non_null(mkdtemp(fk.dir));
	snprintf(fk.sock, sizeof(fk.sock), "%s/b.sock", fk.dir);
	snprintf(fk.pub, sizeof(fk.pub), "%s/service.pub", fk.dir);
	snprintf(fk.cfg, sizeof(fk.cfg), "%s/cfg", fk.dir);
	assert_int_equal(lb_crypto_init(), LB_OK);
	assert_int_equal(lb_sign_keypair(fk.pk, fk.sk), LB_OK);
	assert_int_equal(lb_pk_to_b64(fk.pk, b64), LB_OK);
	snprintf(text, sizeof(text), "%s\n", b64);
	write_text(fk.pub, text);
	/* The user's key where the library looks for it. */
	assert_int_equal(setenv("XDG_CONFIG_HOME", fk.cfg, 1), 0);
	unsetenv("LINKBROKER_ENDPOINT");
	unsetenv("LINKBROKER_SERVICE_KEY");
	assert_int_equal(lb_sign_keypair(fk.user_pk, usk), LB_OK);
	lb_buf_init(&why, 4096);
	assert_int_equal(lb_client_key_save(usk, 0, &why), LB_OK);
	lb_buf_free(&why);
	fk.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fk.lfd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fk.sock);
	assert_int_equal(bind(fk.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fk.lfd, 16), 0);
	assert_int_equal(pthread_create(&fk.thread, NULL, fake_main, NULL), 0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[256];

	(void)state;
	shutdown(fk.lfd, SHUT_RDWR);
	pthread_join(fk.thread, NULL);
	close(fk.lfd);
	/* the key, its folders, the socket, the service key */
	snprintf(cmd, sizeof(cmd), "%s/cfg/linkbroker/key", fk.dir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/cfg/linkbroker", fk.dir);
	rmdir(cmd);
	rmdir(fk.cfg);
	unlink(fk.sock);
	unlink(fk.pub);
	rmdir(fk.dir);
	return 0;
}

static struct linkbroker *
open_handle(void)
{
	struct linkbroker *h = NULL;

	assert_int_equal(linkbroker_open(&h, fk.sock, fk.pub), LINKBROKER_OK);
	assert_non_null(h);
	return h;
}

static size_t
seen_count(void)
{
	size_t n;

	pthread_mutex_lock(&fk.mu);
	n = fk.n_seen;
	pthread_mutex_unlock(&fk.mu);
	return n;
}

static const struct seen *
seen_last(void)
{
	assert_true(seen_count() > 0);
	return &fk.seen[seen_count() - 1];
}

static void
test_create_allowed_is_made_with_absolute_paths(void **state)
{
	struct linkbroker *h = open_handle();
	struct linkbroker_result res;
	char cwd[PATH_MAX], want[PATH_MAX + 16];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "ok1", "../t", &res), LINKBROKER_OK);
	assert_int_equal(res.status, LINKBROKER_OK);
	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(res.state, LINKBROKER_ANSWERED);
	assert_string_equal(res.rule, "r1");
	assert_string_equal(res.message, "created");
	assert_int_equal(res.message_len, 7);
	snprintf(want, sizeof(want), "%s/ok1", cwd);
	assert_string_equal(seen_last()->link, want);
	assert_string_equal(seen_last()->target, "../t");   /* a symbolic link's target as given */
	assert_int_equal(seen_last()->kind, LINKBROKER_SYMLINK);
	assert_int_equal(seen_last()->type, LB_MSG_CREATE);
	/* a hard link's target is resolved here */
	assert_int_equal(linkbroker_create(h, LINKBROKER_HARDLINK, "/x/ok2", "t", NULL), LINKBROKER_OK);
	snprintf(want, sizeof(want), "%s/t", cwd);
	assert_string_equal(seen_last()->target, want);
	assert_int_equal(linkbroker_check(h, LINKBROKER_DIRSYMLINK, "/x/ok3", "/y", &res), LINKBROKER_OK);
	assert_int_equal(seen_last()->type, LB_MSG_CHECK);
	assert_string_equal(res.message, "would be allowed");
	linkbroker_close(h);
}

/* The cwd is the process's at each call, not at the first. */
static void
test_relative_paths_follow_chdir(void **state)
{
	struct linkbroker *h = open_handle();
	char old[PATH_MAX], want[PATH_MAX + 16];

	(void)state;
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "a", "t", NULL), LINKBROKER_OK);
	assert_int_equal(chdir(fk.dir), 0);
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "b", "t", NULL), LINKBROKER_OK);
	snprintf(want, sizeof(want), "%s/b", fk.dir);
	assert_string_equal(seen_last()->link, want);
	assert_int_equal(chdir(old), 0);
	linkbroker_close(h);
}

static void
test_denied_and_failed_answers(void **state)
{
	struct linkbroker *h = open_handle();
	struct linkbroker_result res;

	(void)state;
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "/x/deny1", "t", &res), LINKBROKER_E_DENIED);
	assert_int_equal(res.allowed, 0);
	assert_int_equal(res.exit_code, 1);
	assert_string_equal(res.rule, "no-x");
	assert_string_equal(res.message, "denied by rule \"no-x\"");
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "/x/exists1", "t", &res), LINKBROKER_E_EXISTS);
	assert_int_equal(res.exit_code, 4);
	assert_string_equal(res.rule, "");
	assert_int_equal(res.rule_len, 0);
	assert_int_equal(linkbroker_exit_code(LINKBROKER_E_EXISTS), 4);
	assert_string_equal(linkbroker_strerror(LINKBROKER_E_EXISTS), "a file already exists at the link path");
	linkbroker_close(h);
}

static void
test_answers_that_are_not_genuine(void **state)
{
	struct linkbroker *h = open_handle();
	struct linkbroker_result res;

	(void)state;
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "/x/badsig", "t", &res),
	    LINKBROKER_E_NOT_GENUINE);
	assert_int_equal(res.exit_code, 3);
	assert_int_equal(res.allowed, 0);
	assert_int_equal(res.state, LINKBROKER_UNANSWERED);
	assert_non_null(strstr(res.message, "response signature does not verify"));
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "/x/nonce", "t", &res),
	    LINKBROKER_E_NOT_GENUINE);
	assert_non_null(strstr(res.message, "another request's nonce"));
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "/x/close", "t", &res),
	    LINKBROKER_E_UNREACHABLE);
	assert_non_null(strstr(res.message, "closed the connection without answering"));
	/* the handle reconnects for the next request */
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "/x/after", "t", &res), LINKBROKER_OK);
	linkbroker_close(h);
}

static void
test_unreachable_and_bad_arguments(void **state)
{
	struct linkbroker *h = NULL;
	struct linkbroker_result res;
	char nosock[96];

	(void)state;
	snprintf(nosock, sizeof(nosock), "%s/none.sock", fk.dir);
	assert_int_equal(linkbroker_open(&h, nosock, fk.pub), LINKBROKER_OK);
	assert_string_equal(linkbroker_endpoint(h), nosock);
	assert_string_equal(linkbroker_service_key_file(h), fk.pub);
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "/x/a", "t", &res), LINKBROKER_E_UNREACHABLE);
	assert_int_equal(res.exit_code, 3);
	assert_int_equal(res.state, LINKBROKER_NOT_SENT);
	assert_non_null(strstr(res.message, nosock));
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, NULL, "t", &res), LINKBROKER_E_INVAL);
	assert_int_equal(res.exit_code, 2);
	assert_int_equal(linkbroker_create(h, 0, "/x/a", "t", &res), LINKBROKER_E_INVAL);
	assert_int_equal(linkbroker_create(h, 5, "/x/a", "t", NULL), LINKBROKER_E_INVAL);
	assert_int_equal(linkbroker_create(NULL, LINKBROKER_SYMLINK, "/x/a", "t", NULL), LINKBROKER_E_INVAL);
	assert_int_equal(linkbroker_batch(h, NULL, 1, NULL, NULL), LINKBROKER_E_INVAL);
	assert_int_equal(linkbroker_open(NULL, NULL, NULL), LINKBROKER_E_INVAL);
	linkbroker_close(h);
	linkbroker_close(NULL);
	/* the environment, then the default */
	assert_int_equal(setenv("LINKBROKER_ENDPOINT", "/from/env.sock", 1), 0);
	assert_int_equal(linkbroker_open(&h, NULL, NULL), LINKBROKER_OK);
	assert_string_equal(linkbroker_endpoint(h), "/from/env.sock");
	linkbroker_close(h);
	unsetenv("LINKBROKER_ENDPOINT");
	assert_int_equal(linkbroker_open(&h, NULL, NULL), LINKBROKER_OK);
	assert_string_equal(linkbroker_endpoint(h), "/run/linkbroker/broker.sock");
	linkbroker_close(h);
}

static void
test_rate_limited_request_is_resent(void **state)
{
	struct linkbroker *h = open_handle();
	struct linkbroker_result res;
	size_t before = seen_count();

	(void)state;
	fk.rate_left = 2;
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "/x/rate1", "t", &res), LINKBROKER_OK);
	assert_int_equal(seen_count() - before, 3);   /* two busy answers, then made */
	linkbroker_close(h);
}

struct collected {
	size_t n;
	size_t index[64];
	int status[64], state[64], stopped[64];
	char msg[64][96], rule[64][32];
};

static void
collect(void *arg, size_t index, const struct linkbroker_result *r)
{
	struct collected *c = arg;

	if (c->n < 64) {
		c->index[c->n] = index;
		c->status[c->n] = r->status;
		c->state[c->n] = r->state;
		c->stopped[c->n] = r->stopped;
		snprintf(c->msg[c->n], sizeof(c->msg[0]), "%s", r->message);
		snprintf(c->rule[c->n], sizeof(c->rule[0]), "%s", r->rule);
	}
	c->n++;
}

/* 50 requests, one of them "rate" (busy once), some denied, one a dry
 * run: results in request order over one connection. The broker of
 * today takes them as one batch message (answered busy once, then sent
 * again whole); an older one (V1_ONLY) refuses the batch as an unknown
 * version and gets them one by one, pipelined. */
static void
batch_in_order(int v1_only)
{
	struct linkbroker *h = open_handle();
	struct linkbroker_request rq[50];
	char names[50][32];
	struct collected c;
	unsigned conn, batches = fk.batches, refused = fk.batches_refused;
	size_t i, before = seen_count();

	memset(&c, 0, sizeof(c));
	for (i = 0; i < 50; i++) {
		snprintf(names[i], sizeof(names[i]), "/x/%s%zu", i % 7 == 3 ? "deny" : i == 11 ? "rate" : "ok", i);
		rq[i].kind = LINKBROKER_SYMLINK;
		rq[i].check = i == 5;
		rq[i].link = names[i];
		rq[i].target = "t";
	}
	fk.rate_left = 1;
	fk.v1_only = v1_only;
	assert_int_equal(linkbroker_batch(h, rq, 50, collect, &c), LINKBROKER_OK);
	fk.v1_only = 0;
	assert_int_equal(c.n, 50);
	for (i = 0; i < 50; i++) {
		assert_int_equal(c.index[i], i);
		assert_int_equal(c.status[i], i % 7 == 3 ? LINKBROKER_E_DENIED : LINKBROKER_OK);
		assert_int_equal(c.state[i], LINKBROKER_ANSWERED);
		assert_int_equal(c.stopped[i], 0);
	}
	assert_string_equal(c.msg[5], "would be allowed");
	assert_string_equal(c.msg[3], "denied by rule \"no-x\"");
	assert_string_equal(c.rule[3], "no-x");
	if (v1_only) {
		assert_int_equal(fk.batches - batches, 1);
		assert_int_equal(fk.batches_refused - refused, 1);
		assert_int_equal(seen_count() - before, 51);   /* one resent after "busy" */
	} else {
		assert_int_equal(fk.batches - batches, 2);     /* busy once, then again */
		assert_int_equal(fk.batches_refused - refused, 0);
		assert_int_equal(seen_count() - before, 50);
		assert_int_equal(fk.seen[before + 5].type, LB_MSG_CHECK);
		assert_string_equal(fk.seen[before + 49].link, "/x/ok49");
	}
	conn = fk.seen[before].conn;
	for (i = before; i < seen_count(); i++)
		assert_int_equal(fk.seen[i].conn, conn);
	linkbroker_close(h);
}

static void
test_batch_results_in_order_over_one_connection(void **state)
{
	(void)state;
	batch_in_order(0);
}

static void
test_batch_to_an_older_broker_goes_one_by_one(void **state)
{
	(void)state;
	batch_in_order(1);
}

/* Line 2's answer is forged. One by one (an older broker): requests
 * 3..33 were on the wire (UNANSWERED), 34.. never went (NOT_SENT). In
 * one batch message: the whole answer is forged, so every line of it is
 * UNANSWERED. Either way the handle still works. */
static void
batch_forged(int v1_only)
{
	struct linkbroker *h = open_handle();
	struct linkbroker_request rq[40];
	char names[40][32];
	struct collected c;
	size_t i;

	memset(&c, 0, sizeof(c));
	for (i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "/x/%s%zu", i == 1 ? "badsig" : "ok", i);
		rq[i].kind = LINKBROKER_SYMLINK;
		rq[i].check = 0;
		rq[i].link = names[i];
		rq[i].target = "t";
	}
	fk.v1_only = v1_only;
	assert_int_equal(linkbroker_batch(h, rq, 40, collect, &c), LINKBROKER_E_NOT_GENUINE);
	fk.v1_only = 0;
	assert_int_equal(c.n, 40);
	if (v1_only) {
		assert_int_equal(c.status[0], LINKBROKER_OK);
		assert_int_equal(c.stopped[0], 0);
		assert_int_equal(c.status[1], LINKBROKER_E_NOT_GENUINE);
		assert_int_equal(c.stopped[1], 1);
	} else {
		assert_int_equal(c.status[0], LINKBROKER_E_NOT_GENUINE);
		assert_int_equal(c.stopped[0], 1);
		assert_int_equal(c.state[0], LINKBROKER_UNANSWERED);
		assert_non_null(strstr(c.msg[0], "signature does not verify"));
	}
	for (i = v1_only ? 2 : 1; i < 40; i++) {
		assert_int_equal(c.index[i], i);
		assert_int_equal(c.stopped[i], 2);
		assert_int_equal(c.state[i], !v1_only || i < 33 ? LINKBROKER_UNANSWERED : LINKBROKER_NOT_SENT);
		assert_int_equal(c.status[i], LINKBROKER_E_NOT_GENUINE);
	}
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "/x/later", "t", NULL), LINKBROKER_OK);
	linkbroker_close(h);
}

static void
test_batch_stops_at_a_forged_answer(void **state)
{
	(void)state;
	batch_forged(0);
}

static void
test_batch_one_by_one_stops_at_a_forged_answer(void **state)
{
	(void)state;
	batch_forged(1);
}

/* Results in order, counted. */
struct tally {
	size_t n, out_of_order, bad;
};

static void
tally(void *arg, size_t index, const struct linkbroker_result *r)
{
	struct tally *t = arg;

	if (index != t->n)
		t->out_of_order++;
	if (r->state != LINKBROKER_ANSWERED || (r->status != LINKBROKER_OK && r->status != LINKBROKER_E_DENIED))
		t->bad++;
	t->n++;
}

/* 700 lines: three batch messages, two of them in flight at a time; the
 * second answered "busy" once while the third is on the wire: every
 * result once, in order, none lost or doubled. */
static void
test_batch_pipeline_with_a_busy_message(void **state)
{
	struct linkbroker *h = open_handle();
	static struct linkbroker_request rq[700];
	static char names[700][32];
	struct tally t = { 0 };
	unsigned batches = fk.batches;
	size_t i, before = seen_count();

	(void)state;
	for (i = 0; i < 700; i++) {
		snprintf(names[i], sizeof(names[i]), "/x/%s%zu", i == 400 ? "rate" : i % 50 == 7 ? "deny" : "p", i);
		rq[i].kind = LINKBROKER_SYMLINK;
		rq[i].check = 0;
		rq[i].link = names[i];
		rq[i].target = "t";
	}
	fk.rate_left = 1;
	assert_int_equal(linkbroker_batch(h, rq, 700, tally, &t), LINKBROKER_OK);
	assert_int_equal(t.n, 700);
	assert_int_equal(t.out_of_order, 0);
	assert_int_equal(t.bad, 0);
	assert_int_equal(fk.batches - batches, 4);          /* 256 + 256 + 188, one again */
	assert_int_equal(seen_count() - before, 700);       /* each line decided once */
	/* the first message in order; the third was decided before the busy
	 * second was sent again (it needs nothing of it), then the second */
	for (i = 0; i < 256; i++)
		assert_string_equal(fk.seen[before + i].link, names[i]);
	for (i = 0; i < 188; i++)
		assert_string_equal(fk.seen[before + 256 + i].link, names[512 + i]);
	for (i = 0; i < 256; i++)
		assert_string_equal(fk.seen[before + 444 + i].link, names[256 + i]);
	linkbroker_close(h);
}

/* A line inside a link made earlier in the same batch starts the next
 * message (decided after that link exists, as one by one). */
static void
test_batch_splits_where_a_line_needs_an_earlier_link(void **state)
{
	struct linkbroker *h = open_handle();
	struct linkbroker_request rq[4] = {
		{ LINKBROKER_DIRSYMLINK, 0, "/x/pd", "/x/real" },
		{ LINKBROKER_SYMLINK, 0, "/x/p1", "t" },
		{ LINKBROKER_SYMLINK, 0, "/x/pd/inside", "t" },   /* needs /x/pd */
		{ LINKBROKER_SYMLINK, 0, "/x/p2", "/x/pd/f" },    /* its target does too */
	};
	struct tally t = { 0 };
	unsigned batches = fk.batches;

	(void)state;
	assert_int_equal(linkbroker_batch(h, rq, 4, tally, &t), LINKBROKER_OK);
	assert_int_equal(t.n, 4);
	assert_int_equal(t.out_of_order, 0);
	assert_int_equal(fk.batches - batches, 2);   /* [pd, p1] then [pd/inside, p2] */
	linkbroker_close(h);
}

static void
test_status_and_public_key(void **state)
{
	struct linkbroker *h = open_handle();
	struct linkbroker_result res;
	char b64[45], want[LB_PK_B64_LEN], keyfile[192], moved[192];

	(void)state;
	assert_int_equal(linkbroker_status(h, &res), LINKBROKER_OK);
	assert_int_equal(res.state, LINKBROKER_ANSWERED);
	assert_string_equal(res.message, "you are the test user");
	assert_int_equal(linkbroker_public_key(h, b64), LINKBROKER_OK);
	assert_int_equal(lb_pk_to_b64(fk.user_pk, want), LB_OK);
	assert_string_equal(b64, want);
	linkbroker_close(h);
	/* no key yet: a throwaway one asks, the broker says not enrolled */
	snprintf(keyfile, sizeof(keyfile), "%s/cfg/linkbroker/key", fk.dir);
	snprintf(moved, sizeof(moved), "%s/key.moved", fk.dir);
	assert_int_equal(rename(keyfile, moved), 0);
	h = open_handle();
	assert_int_equal(linkbroker_status(h, &res), LINKBROKER_E_KEY_UNKNOWN);
	assert_int_equal(res.state, LINKBROKER_ANSWERED);
	assert_string_equal(res.message, "your key is not enrolled");
	assert_int_equal(linkbroker_public_key(h, b64), LINKBROKER_E_NOENT);
	assert_string_equal(b64, "");
	assert_int_equal(linkbroker_create(h, LINKBROKER_SYMLINK, "/x/nokey", "t", &res), LINKBROKER_E_NOENT);
	assert_int_equal(res.state, LINKBROKER_NOT_SENT);
	linkbroker_close(h);
	assert_int_equal(rename(moved, keyfile), 0);
}

struct worker {
	struct linkbroker *h;
	int id, failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct linkbroker_result res;
	char link[64];
	int i;

	for (i = 0; i < 25; i++) {
		snprintf(link, sizeof(link), "/x/t%d-%d", w->id, i);
		if (linkbroker_create(w->h, LINKBROKER_SYMLINK, link, "t", &res) != LINKBROKER_OK ||
		    strcmp(res.message, "created") != 0)
			w->failures++;
	}
	return NULL;
}

/* Four threads, one handle: every call answered, none mixed up. */
static void
test_one_handle_shared_by_threads(void **state)
{
	struct linkbroker *h = open_handle();
	struct worker w[4];
	pthread_t t[4];
	size_t before = seen_count();
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		w[i].h = h;
		w[i].id = i;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(seen_count() - before, 100);
	linkbroker_close(h);
}

static void
test_version(void **state)
{
	(void)state;
	assert_string_equal(linkbroker_version(), "1.0.0");
	assert_int_equal(LINKBROKER_VERSION_MAJOR, 1);
}

/* linkbroker_remove and linkbroker_list_page: what reaches the broker
 * (absolute paths, no kind, no target / the cursor), what comes back, and
 * a broker older than them: a clear "update the broker", not "not
 * genuine" (its answer is bound to no request). */
static void
test_remove_and_list(void **state)
{
	struct linkbroker *h = open_handle();
	struct linkbroker_result res;
	char cwd[PATH_MAX], want[PATH_MAX + 16];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(linkbroker_remove(h, "l", &res), LINKBROKER_OK);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(res.message, "symbolic link removed for /x/l <<===>> t");
	snprintf(want, sizeof(want), "%s/l", cwd);
	assert_string_equal(seen_last()->link, want);
	assert_int_equal(seen_last()->type, LB_MSG_REMOVE);
	assert_int_equal(seen_last()->kind, 0);
	assert_string_equal(seen_last()->target, "");
	assert_int_equal(linkbroker_remove(h, "/x/notmine", &res), LINKBROKER_E_NOT_MADE);
	assert_int_equal(res.exit_code, 1);
	assert_int_equal(linkbroker_remove(h, "/", &res), LINKBROKER_E_INVAL);
	assert_int_equal(linkbroker_list_page(h, NULL, NULL, &res), LINKBROKER_OK);
	assert_int_equal(seen_last()->type, LB_MSG_LIST);
	assert_string_equal(seen_last()->link, "");
	assert_string_equal(seen_last()->target, "");
	assert_string_equal(res.rule, "5");
	assert_non_null(strstr(res.message, "\"link\":\"/x/l\""));
	assert_int_equal(linkbroker_list_page(h, "sub", "5", &res), LINKBROKER_OK);
	snprintf(want, sizeof(want), "%s/sub", cwd);
	assert_string_equal(seen_last()->link, want);
	assert_string_equal(seen_last()->target, "5");
	assert_string_equal(res.rule, "");
	fk.no_list = 1;
	assert_int_equal(linkbroker_remove(h, "l", &res), LINKBROKER_E_UNSUPPORTED);
	assert_int_equal(res.exit_code, 4);
	assert_non_null(strstr(res.message, "older than this client"));
	assert_int_equal(linkbroker_list_page(h, NULL, NULL, &res), LINKBROKER_E_UNSUPPORTED);
	assert_non_null(strstr(res.message, "older than this client"));
	fk.no_list = 0;
	linkbroker_close(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_allowed_is_made_with_absolute_paths),
		cmocka_unit_test(test_relative_paths_follow_chdir),
		cmocka_unit_test(test_denied_and_failed_answers),
		cmocka_unit_test(test_answers_that_are_not_genuine),
		cmocka_unit_test(test_unreachable_and_bad_arguments),
		cmocka_unit_test(test_rate_limited_request_is_resent),
		cmocka_unit_test(test_batch_results_in_order_over_one_connection),
		cmocka_unit_test(test_batch_stops_at_a_forged_answer),
		cmocka_unit_test(test_batch_to_an_older_broker_goes_one_by_one),
		cmocka_unit_test(test_batch_one_by_one_stops_at_a_forged_answer),
		cmocka_unit_test(test_batch_pipeline_with_a_busy_message),
		cmocka_unit_test(test_batch_splits_where_a_line_needs_an_earlier_link),
		cmocka_unit_test(test_status_and_public_key),
		cmocka_unit_test(test_one_handle_shared_by_threads),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_remove_and_list),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
