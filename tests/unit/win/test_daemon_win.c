/* The Windows service's loop (lb_daemon_win) end to end in one process:
 * the real broker on a named pipe of its own, real pipe clients (this
 * process, as the service would see any client), real hard links, the real
 * audit log. The file system is lb_win_fs_ops but for one seam: a link
 * whose path names "stall" blocks in the kernel while its folder is
 * opened (a synchronous read of a pipe nobody writes), which is how an
 * oplock that is never acknowledged or a hung device looks to the service,
 * and what Wine cannot make otherwise. Pinned: another client's requests
 * are all answered at once while one is stuck; the stuck one is answered
 * "timed out" at its deadline and audited; answers on one connection leave
 * in the order of the requests, whatever each one's fate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <windows.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_sig.h"
#include "lb_win.h"
#include "lb_wire.h"
#include "../../lib/lb_tool_frame.h"

#define TIMEOUT_MS 1500

static struct {
	char dir[MAX_PATH], config[MAX_PATH + 32], pipe[128];
	uint8_t sk[LB_SK_BYTES], pk[LB_PK_BYTES];
	struct lb_win_daemon *d;
	HANDLE loop;
	HANDLE stall_rd, stall_wr;      /* the pipe a stalled open reads */
	HANDLE stall_entered;           /* set when an open starts to stall */
	volatile LONG stalls, cancelled;
	volatile LONG stall_next_identify;   /* 1: the next client's lookups stall */
} g;

/* ---- the seam ------------------------------------------------------------ */

static struct lb_fs_ops stall_ops;

static int
stall_open_parent(const struct lb_peer *peer, const struct lb_path *link,
    void **dir, struct lb_path *resolved)
{
	char buf[1];
	DWORD n = 0;

	if (strstr(link->s, "stall") != NULL) {
		InterlockedIncrement(&g.stalls);
		SetEvent(g.stall_entered);
		/* Blocks until the test writes (at its end) or the service
		 * cancels this thread's synchronous I/O at the deadline. */
		if (!ReadFile(g.stall_rd, buf, 1, &n, NULL) &&
		    GetLastError() == ERROR_OPERATION_ABORTED) {
			InterlockedIncrement(&g.cancelled);
			return LB_E_FS_TIMEOUT;
		}
		return LB_E_IO;
	}
	return lb_win_fs_ops.open_parent(peer, link, dir, resolved);
}

/* Account lookups that never answer (a domain controller gone silent),
 * for the one client that finds the seam armed. */
static int
stall_identify(HANDLE tok, struct lb_win_peer **out, char *why, size_t whylen)
{
	char buf[1];
	DWORD n = 0;

	if (InterlockedExchange(&g.stall_next_identify, 0) == 1) {
		SetEvent(g.stall_entered);
		(void)ReadFile(g.stall_rd, buf, 1, &n, NULL);   /* until cancelled */
		CloseHandle(tok);
		*out = NULL;
		snprintf(why, whylen, "lookups stalled (test)");
		return LB_E_IO;
	}
	return lb_win_peer_from_token(tok, out, why, whylen);
}

/* ---- files --------------------------------------------------------------- */

static void
put_file(const char *path, const char *text)
{
	HANDLE h = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
	DWORD n = 0;

	assert_true(h != INVALID_HANDLE_VALUE);
	assert_true(WriteFile(h, text, (DWORD)strlen(text), &n, NULL));
	CloseHandle(h);
}

static char *
read_all(const char *path)
{
	HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
	    OPEN_EXISTING, 0, NULL);
	DWORD size, n = 0;
	char *s;

	assert_true(h != INVALID_HANDLE_VALUE);
	size = GetFileSize(h, NULL);
	s = calloc(1, (size_t)size + 1);
	assert_non_null(s);
	assert_true(ReadFile(h, s, size, &n, NULL));
	CloseHandle(h);
	return s;
}

static void
in_dir(char *out, size_t n, const char *rest)
{
	snprintf(out, n, "%s\\%s", g.dir, rest);
}

/* ---- a client ------------------------------------------------------------ */


/* Append a signed request frame of TYPE for KIND LINK -> TARGET to OUT;
 * its nonce in NONCE (if not NULL). */
static int
put_req(struct lb_buf *out, uint8_t type, enum lb_kind kind, const char *link, const char *target,
    uint8_t nonce[LB_NONCE_BYTES])
{
	return lb_tool_request_frame(out, type, kind, link, target, g.sk, g.pk, nonce);
}

/* Send one request; 0, or -1 with nothing asserted (for the clients'
 * threads: cmocka's checks belong to the main thread). */
static int
send_req_quiet(HANDLE h, uint8_t type, enum lb_kind kind, const char *link, const char *target,
    uint8_t nonce[LB_NONCE_BYTES])
{
	struct lb_buf frame;
	DWORD n = 0;
	int ok;

	lb_buf_init(&frame, LB_FRAME_HDR + LB_FRAME_MAX);
	ok = put_req(&frame, type, kind, link, target, nonce) == LB_OK &&
	    WriteFile(h, frame.data, (DWORD)frame.len, &n, NULL) && n == frame.len;
	lb_buf_free(&frame);
	return ok ? 0 : -1;
}

/* One answer read without asserting: its status, or 1 if it could not be
 * read or is not for NONCE. */
static int
read_answer_quiet(HANDLE h, const uint8_t nonce[LB_NONCE_BYTES])
{
	uint8_t hdr[4], *body;
	struct lb_response rs;
	size_t len, body_len, got;
	DWORD n;
	int st = 1;

	for (got = 0; got < 4; got += n)
		if (!ReadFile(h, hdr + got, (DWORD)(4 - got), &n, NULL) || n == 0)
			return 1;
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > LB_FRAME_MAX || (body = malloc(len)) == NULL)
		return 1;
	for (got = 0; got < len; got += n)
		if (!ReadFile(h, body + got, (DWORD)(len - got), &n, NULL) || n == 0)
			goto out;
	if (lb_response_decode(body, len, &rs, &body_len) == LB_OK &&
	    memcmp(rs.nonce, nonce, LB_NONCE_BYTES) == 0)
		st = rs.status;
out:
	free(body);
	return st;
}

/* A pipe client without asserting: NULL if none could be had. */
static HANDLE
client_quiet(void)
{
	HANDLE h;
	int i;

	for (i = 0; i < 200; i++) {
		h = CreateFileA(g.pipe, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
		if (h != INVALID_HANDLE_VALUE)
			return h;
		if (GetLastError() == ERROR_PIPE_BUSY)
			WaitNamedPipeA(g.pipe, 100);
		else
			Sleep(20);
	}
	return NULL;
}

static HANDLE
client(void)
{
	HANDLE h = client_quiet();

	if (h == NULL)
		fail_msg("cannot connect to %s: Windows error %lu", g.pipe, GetLastError());
	return h;
}

static void
send_req(HANDLE h, uint8_t type, enum lb_kind kind, const char *link, const char *target,
    uint8_t nonce[LB_NONCE_BYTES])
{
	if (send_req_quiet(h, type, kind, link, target, nonce) != 0)
		fail_msg("sending a request: Windows error %lu", GetLastError());
}

static void
read_exact(HANDLE h, uint8_t *p, size_t len)
{
	DWORD n;

	while (len > 0) {
		n = 0;
		if (!ReadFile(h, p, (DWORD)len, &n, NULL) || n == 0)
			fail_msg("the broker closed the connection (Windows error %lu)", GetLastError());
		p += n;
		len -= n;
	}
}

/* Read one answer: its status, and its nonce must be NONCE. */
static int
read_answer(HANDLE h, const uint8_t nonce[LB_NONCE_BYTES])
{
	static uint8_t body[LB_FRAME_MAX];
	struct lb_response rs;
	uint8_t hdr[4];
	size_t len, body_len;

	read_exact(h, hdr, 4);
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	assert_true(len > 0 && len <= LB_FRAME_MAX);
	read_exact(h, body, len);
	assert_int_equal(lb_response_decode(body, len, &rs, &body_len), LB_OK);
	assert_memory_equal(rs.nonce, nonce, LB_NONCE_BYTES);
	return rs.status;
}

static size_t
available(HANDLE h)
{
	DWORD avail = 0;

	assert_true(PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL));
	return avail;
}

/* ---- setup ----------------------------------------------------------------- */

static DWORD WINAPI
loop_main(LPVOID arg)
{
	return (DWORD)lb_win_daemon_loop(arg);
}

static int
setup(void **state)
{
	char tmp[MAX_PATH], p[MAX_PATH + 64], sid_s[256] = "", b64[LB_PK_B64_LEN], *policy;
	HANDLE tok = NULL;
	union { TOKEN_USER tu; uint8_t room[512]; } u;
	DWORD n = 0;
	LPSTR sid = NULL;

	(void)state;
	memset(&g, 0, sizeof(g));
	if (lb_crypto_init() != LB_OK || GetTempPathA(MAX_PATH, tmp) == 0)
		return -1;
	snprintf(g.dir, sizeof(g.dir), "%slbd-%lu-%lu", tmp, (unsigned long)GetCurrentProcessId(),
	    (unsigned long)GetTickCount());
	snprintf(g.pipe, sizeof(g.pipe), "\\\\.\\pipe\\lbtest-%lu-%lu",
	    (unsigned long)GetCurrentProcessId(), (unsigned long)GetTickCount());
	if (!CreateDirectoryA(g.dir, NULL))
		return -1;
	in_dir(p, sizeof(p), "conf");
	CreateDirectoryA(p, NULL);
	in_dir(p, sizeof(p), "links");
	CreateDirectoryA(p, NULL);
	in_dir(p, sizeof(p), "targets");
	CreateDirectoryA(p, NULL);
	in_dir(p, sizeof(p), "elsewhere");
	CreateDirectoryA(p, NULL);
	in_dir(p, sizeof(p), "targets\\t.txt");
	put_file(p, "data");
	if (lb_sign_keypair(g.pk, g.sk) != LB_OK || lb_pk_to_b64(g.pk, b64) != LB_OK)
		return -1;
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok) ||
	    !GetTokenInformation(tok, TokenUser, &u, sizeof(u), &n) ||
	    !ConvertSidToStringSidA(u.tu.User.Sid, &sid))
		return -1;
	snprintf(sid_s, sizeof(sid_s), "%s", sid);
	LocalFree(sid);
	CloseHandle(tok);
	policy = calloc(1, 8192);
	snprintf(policy, 8192,
	    "[broker]\r\nendpoint = %s\r\naudit_log = %s\\conf\\audit.log\r\naudit_sync = always\r\n"
	    "service_key = %s\\conf\\service.key\r\nservice_public_key = %s\\conf\\service.pub\r\n"
	    "io_timeout_ms = %d\r\nmax_clients = 64\r\n\r\n"
	    "[key:me]\r\nsid = %s\r\npublic_key = %s\r\n\r\n"
	    "[rule:links]\r\nusers = *\r\nkinds = *\r\nlink_under = %s\\links\r\n"
	    "target_under = %s\\targets\r\naction = allow\r\n",
	    g.pipe, g.dir, g.dir, g.dir, TIMEOUT_MS, sid_s, b64, g.dir, g.dir);
	snprintf(g.config, sizeof(g.config), "%s\\conf\\policy.ini", g.dir);
	put_file(g.config, policy);
	free(policy);

	if (!CreatePipe(&g.stall_rd, &g.stall_wr, NULL, 0) ||
	    (g.stall_entered = CreateEventA(NULL, FALSE, FALSE, NULL)) == NULL)
		return -1;
	stall_ops = lb_win_fs_ops;
	stall_ops.open_parent = stall_open_parent;
	if (lb_win_daemon_start_fs(g.config, &stall_ops, &g.d) != LB_OK) {
		print_error("the broker did not start (its log above)\n");
		return -1;
	}
	lb_win_daemon_set_identify(g.d, stall_identify);
	if ((g.loop = CreateThread(NULL, 0, loop_main, g.d, 0, NULL)) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	DWORD n = 0;

	(void)state;
	/* Let a stalled open that was never cancelled go. */
	WriteFile(g.stall_wr, "x", 1, &n, NULL);
	lb_win_daemon_stop(g.d);
	WaitForSingleObject(g.loop, 10000);
	CloseHandle(g.loop);
	lb_win_daemon_free(g.d);
	CloseHandle(g.stall_rd);
	CloseHandle(g.stall_wr);
	CloseHandle(g.stall_entered);
	lb_wipe(g.sk, sizeof(g.sk));
	return 0;
}

/* ---- tests ----------------------------------------------------------------- */

static void
test_a_stalled_client_does_not_delay_another_and_times_out(void **state)
{
	char link[MAX_PATH + 64], target[MAX_PATH + 64], audit[MAX_PATH + 64], *log;
	uint8_t stall_nonce[LB_NONCE_BYTES], nonce[LB_NONCE_BYTES];
	HANDLE a, b;
	ULONGLONG t0, t1, t_send, worst = 0;
	int i, st;

	(void)state;
	in_dir(target, sizeof(target), "targets\\t.txt");
	a = client();
	b = client();
	in_dir(link, sizeof(link), "links\\stall\\h");
	t_send = GetTickCount64();
	send_req(a, LB_MSG_CREATE, LB_KIND_HARDLINK, link, target, stall_nonce);
	assert_int_equal(WaitForSingleObject(g.stall_entered, 5000), WAIT_OBJECT_0);

	/* While A's open is stuck in the kernel, B is served at once. */
	for (i = 0; i < 20; i++) {
		char name[64];

		snprintf(name, sizeof(name), "links\\b%d.txt", i);
		in_dir(link, sizeof(link), name);
		t0 = GetTickCount64();
		send_req(b, LB_MSG_CREATE, LB_KIND_HARDLINK, link, target, nonce);
		st = read_answer(b, nonce);
		t1 = GetTickCount64();
		if (st != LB_OK)
			fail_msg("B's hard link %d: %s", i, lb_strerror(st));
		assert_true(GetFileAttributesA(link) != INVALID_FILE_ATTRIBUTES);
		if (t1 - t0 > worst)
			worst = t1 - t0;
	}
	print_message("B: 20 hard links while A stalled, slowest answer %llu ms (deadline %d ms)\n",
	    (unsigned long long)worst, TIMEOUT_MS);
	assert_true(worst < TIMEOUT_MS / 2);
	if (GetTickCount64() - t_send < TIMEOUT_MS - 200)
		assert_int_equal(available(a), 0);   /* A still pending */

	/* A: "timed out" at its deadline, nothing made, audited. */
	st = read_answer(a, stall_nonce);
	t1 = GetTickCount64();
	assert_int_equal(st, LB_E_FS_TIMEOUT);
	print_message("A: answered '%s' after %llu ms; its stuck open %s\n", lb_strerror(st),
	    (unsigned long long)(t1 - t_send),
	    g.cancelled > 0 ? "was cancelled (CancelSynchronousIo)" :
	    "was not cancelled (this system's pipe read ignores CancelSynchronousIo); it was given up");
	assert_true(t1 - t_send >= TIMEOUT_MS - 50);
	assert_true(t1 - t_send < TIMEOUT_MS + 3000);
	in_dir(link, sizeof(link), "links\\stall");
	assert_true(GetFileAttributesA(link) == INVALID_FILE_ATTRIBUTES);
	/* The connection goes on: A's next request is answered. */
	in_dir(link, sizeof(link), "links\\a-after.txt");
	send_req(a, LB_MSG_CREATE, LB_KIND_HARDLINK, link, target, nonce);
	assert_int_equal(read_answer(a, nonce), LB_OK);

	in_dir(audit, sizeof(audit), "conf\\audit.log");
	log = read_all(audit);
	assert_non_null(strstr(log, "did not answer in time"));
	assert_non_null(strstr(log, "\"verdict\":\"failed\""));
	free(log);
	CloseHandle(a);
	CloseHandle(b);
}

/* Requests pipelined on one connection - allowed, denied by policy,
 * refused as a replay, a dry run, allowed again - are answered in their
 * order, each with its own nonce (read_answer checks it). */
static void
test_answers_on_one_connection_leave_in_request_order(void **state)
{
	static const struct { const char *link; uint8_t type; int want; } rq[] = {
		{ "links\\o1.txt", LB_MSG_CREATE, LB_OK },
		{ "elsewhere\\o2.txt", LB_MSG_CREATE, LB_E_DENIED },
		{ "links\\o3.txt", LB_MSG_CHECK, LB_OK },
		{ "links\\stall-not\\x", LB_MSG_CHECK, LB_E_FS_TIMEOUT },
		{ "links\\o4.txt", LB_MSG_CREATE, LB_OK },
	};
	uint8_t nonces[5][LB_NONCE_BYTES];
	char link[MAX_PATH + 64], target[MAX_PATH + 64];
	HANDLE h = client();
	size_t i;

	(void)state;
	in_dir(target, sizeof(target), "targets\\t.txt");
	for (i = 0; i < 5; i++) {
		in_dir(link, sizeof(link), rq[i].link);
		send_req(h, rq[i].type, LB_KIND_HARDLINK, link, target, nonces[i]);
	}
	for (i = 0; i < 5; i++) {
		int st = read_answer(h, nonces[i]);

		if (st != rq[i].want)
			fail_msg("answer %zu (%s): %s, want %s", i, rq[i].link, lb_strerror(st),
			    lb_strerror(rq[i].want));
	}
	CloseHandle(h);
}

/* A client whose account names do not come back is refused at its
 * deadline; another client is identified and answered meanwhile. */
static void
test_a_client_whose_lookups_stall_delays_nobody(void **state)
{
	uint8_t n1[LB_NONCE_BYTES], n2[LB_NONCE_BYTES];
	char link[MAX_PATH + 64], target[MAX_PATH + 64], buf[4];
	HANDLE c, e;
	ULONGLONG t0, t1;
	DWORD got = 0;
	BOOL ok;

	(void)state;
	in_dir(target, sizeof(target), "targets\\t.txt");
	InterlockedExchange(&g.stall_next_identify, 1);
	c = client();
	t0 = GetTickCount64();
	send_req(c, LB_MSG_STATUS, LB_KIND_NONE, "", "", n1);
	assert_int_equal(WaitForSingleObject(g.stall_entered, 5000), WAIT_OBJECT_0);
	e = client();
	in_dir(link, sizeof(link), "links\\id-e.txt");
	send_req(e, LB_MSG_CREATE, LB_KIND_HARDLINK, link, target, n2);
	assert_int_equal(read_answer(e, n2), LB_OK);
	t1 = GetTickCount64();
	print_message("E answered in %llu ms while C's lookups stalled\n", (unsigned long long)(t1 - t0));
	assert_true(t1 - t0 < TIMEOUT_MS / 2);
	/* C: refused (the connection closed, no answer) at its deadline. */
	ok = ReadFile(c, buf, sizeof(buf), &got, NULL);
	t1 = GetTickCount64();
	assert_false(ok && got > 0);
	print_message("C's connection closed after %llu ms\n", (unsigned long long)(t1 - t0));
	assert_true(t1 - t0 >= TIMEOUT_MS - 50);
	assert_true(t1 - t0 < TIMEOUT_MS + 3000);
	CloseHandle(c);
	CloseHandle(e);
}

/* Eight clients at once, each pipelining its hard links: every answer
 * is for its own request, every link is on disk. */
#define CONC 8
#define PER 40

static DWORD WINAPI
conc_client(LPVOID arg)
{
	uint8_t nonces[PER][LB_NONCE_BYTES];
	char link[MAX_PATH + 64], target[MAX_PATH + 64], name[64];
	size_t k = (size_t)(uintptr_t)arg, i;
	HANDLE h = client_quiet();
	DWORD bad = 0;

	if (h == NULL)
		return 1000;
	in_dir(target, sizeof(target), "targets\\t.txt");
	for (i = 0; i < PER; i++) {
		snprintf(name, sizeof(name), "links\\c%zu-%zu.txt", k, i);
		in_dir(link, sizeof(link), name);
		if (send_req_quiet(h, LB_MSG_CREATE, LB_KIND_HARDLINK, link, target, nonces[i]) != 0)
			bad += 100;
	}
	for (i = 0; i < PER; i++)
		bad += read_answer_quiet(h, nonces[i]) != LB_OK;
	CloseHandle(h);
	return bad;
}

static void
test_concurrent_clients_are_all_answered_in_order(void **state)
{
	HANDLE th[CONC];
	char link[MAX_PATH + 64], name[64];
	DWORD code;
	size_t k, i, on_disk = 0;

	(void)state;
	for (k = 0; k < CONC; k++)
		assert_non_null(th[k] = CreateThread(NULL, 0, conc_client, (LPVOID)(uintptr_t)k, 0, NULL));
	for (k = 0; k < CONC; k++) {
		assert_int_equal(WaitForSingleObject(th[k], 30000), WAIT_OBJECT_0);
		assert_true(GetExitCodeThread(th[k], &code));
		if (code != 0)
			fail_msg("client %zu: %lu bad answers (1000: no connection, 100s: sends failed)",
			    k, (unsigned long)code);
		CloseHandle(th[k]);
	}
	for (k = 0; k < CONC; k++)
		for (i = 0; i < PER; i++) {
			snprintf(name, sizeof(name), "links\\c%zu-%zu.txt", k, i);
			in_dir(link, sizeof(link), name);
			on_disk += GetFileAttributesA(link) != INVALID_FILE_ATTRIBUTES;
		}
	assert_int_equal(on_disk, CONC * PER);
}

/* A client that sends its requests and leaves at once: what it sent is
 * still made and audited (nothing half-done, no answer to anyone else),
 * and the service goes on serving. */
static void
test_a_client_that_leaves_mid_batch_is_finished_cleanly(void **state)
{
	uint8_t nonce[LB_NONCE_BYTES];
	char link[MAX_PATH + 64], target[MAX_PATH + 64], name[64];
	HANDLE h = client();
	struct lb_buf all;
	size_t i, on_disk = 0;
	DWORD n = 0;
	int tries;

	(void)state;
	in_dir(target, sizeof(target), "targets\\t.txt");
	/* One write: all of it in the pipe before the client goes (what a
	 * pipe keeps after its client closed is not the point here). */
	lb_buf_init(&all, 64 * 1024);
	for (i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "links\\gone%zu.txt", i);
		in_dir(link, sizeof(link), name);
		assert_int_equal(put_req(&all, LB_MSG_CREATE, LB_KIND_HARDLINK, link, target, NULL), LB_OK);
	}
	assert_true(all.len < 16384);   /* one read of the service's takes it all */
	assert_true(WriteFile(h, all.data, (DWORD)all.len, &n, NULL));
	assert_int_equal(n, all.len);
	lb_buf_free(&all);
	CloseHandle(h);
	for (tries = 0; tries < 100 && on_disk < 30; tries++) {
		Sleep(50);
		for (on_disk = 0, i = 0; i < 30; i++) {
			snprintf(name, sizeof(name), "links\\gone%zu.txt", i);
			in_dir(link, sizeof(link), name);
			on_disk += GetFileAttributesA(link) != INVALID_FILE_ATTRIBUTES;
		}
	}
	assert_int_equal(on_disk, 30);
	h = client();
	send_req(h, LB_MSG_STATUS, LB_KIND_NONE, "", "", nonce);
	assert_int_equal(read_answer(h, nonce), LB_OK);
	CloseHandle(h);
}

/* A client over its identity's share of the connections (a quarter of
 * max_clients) is answered "busy, try again" (unsigned, zero nonce) and
 * then closed, never left in silence: the client backs off and retries
 * instead of reporting a broker that does not answer. */
static void
test_a_client_over_its_share_is_answered_busy(void **state)
{
	static uint8_t body[LB_FRAME_MAX];
	HANDLE h[17];
	uint8_t nonce[LB_NONCE_BYTES], hdr[4], zero[LB_NONCE_BYTES] = { 0 }, c;
	struct lb_response rs;
	struct lb_busy busy;
	size_t i, k, len, body_len, busy_at = 0;
	DWORD n = 0;

	(void)state;
	/* 64 / 4 = 16 connections for this process's SID (fewer if earlier
	 * tests' are still being closed): the one past them is answered busy. */
	for (i = 0; i < 17 && busy_at == 0; i++) {
		h[i] = client();
		send_req(h[i], LB_MSG_STATUS, LB_KIND_NONE, "", "", nonce);
		read_exact(h[i], hdr, 4);
		len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
		assert_true(len > 0 && len <= LB_FRAME_MAX);
		read_exact(h[i], body, len);
		if (lb_msg_is_busy(body, len)) {
			assert_int_equal(lb_busy_decode(body, len, &busy), LB_OK);
			assert_int_equal(busy.status, LB_E_BUSY);
			assert_memory_equal(busy.nonce, zero, LB_NONCE_BYTES);
			assert_true(busy.retry_ms > 0);
			/* then closed: nothing more comes */
			assert_false(ReadFile(h[i], &c, 1, &n, NULL) && n > 0);
			busy_at = i + 1;
		} else {
			assert_int_equal(lb_response_decode(body, len, &rs, &body_len), LB_OK);
			assert_int_equal(rs.status, LB_OK);
		}
	}
	print_message("answered busy at connection %lu of this SID\n", (unsigned long)busy_at);
	assert_true(busy_at > 0);
	for (k = 0; k < i; k++)
		CloseHandle(h[k]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_stalled_client_does_not_delay_another_and_times_out),
		cmocka_unit_test(test_answers_on_one_connection_leave_in_request_order),
		cmocka_unit_test(test_a_client_whose_lookups_stall_delays_nobody),
		cmocka_unit_test(test_concurrent_clients_are_all_answered_in_order),
		cmocka_unit_test(test_a_client_that_leaves_mid_batch_is_finished_cleanly),
		cmocka_unit_test(test_a_client_over_its_share_is_answered_busy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
