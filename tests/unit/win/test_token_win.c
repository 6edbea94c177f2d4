/* Tests for lb_token_win: the identity of a real named-pipe client, read
 * from its impersonation token. The client is this process itself (under
 * Wine every client is the same elevated user anyway; the refusals are
 * tested with fake tokens in tests/unit/test_identity.c). What varies
 * here is what the client asks for when it opens the pipe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <windows.h>
#include <sddl.h>
#include <userenv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_namecache.h"
#include "lb_win.h"

struct conn {
	HANDLE server;
	HANDLE client;
};

static void
conn_open(struct conn *c, DWORD sqos, int write_first)
{
	static LONG seq;
	wchar_t name[128];
	DWORD n = 0;
	char byte = 'x';

	swprintf(name, 128, L"\\\\.\\pipe\\lbtok-%lu-%ld",
	    (unsigned long)GetCurrentProcessId(), (long)InterlockedIncrement(&seq));
	c->server = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX,
	    PIPE_TYPE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 512, 512, 0, NULL);
	assert_true(c->server != INVALID_HANDLE_VALUE);
	c->client = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL,
	    OPEN_EXISTING, sqos, NULL);
	assert_true(c->client != INVALID_HANDLE_VALUE);
	assert_true(ConnectNamedPipe(c->server, NULL) || GetLastError() == ERROR_PIPE_CONNECTED);
	if (write_first) {
		/* Windows lets the server impersonate only after it has read
		 * something from the client. */
		assert_true(WriteFile(c->client, &byte, 1, &n, NULL));
		assert_true(ReadFile(c->server, &byte, 1, &n, NULL));
		assert_int_equal(n, 1);
	}
}

static void
conn_close(struct conn *c)
{
	CloseHandle(c->client);
	CloseHandle(c->server);
}

static char *
own_sid(void)
{
	HANDLE t;
	BYTE buf[512];
	DWORD n = 0;
	LPWSTR w = NULL;
	char *s;

	assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &t));
	assert_true(GetTokenInformation(t, TokenUser, buf, sizeof(buf), &n));
	assert_true(ConvertSidToStringSidW(((TOKEN_USER *)buf)->User.Sid, &w));
	s = lb_win_utf8(w);
	LocalFree(w);
	CloseHandle(t);
	assert_non_null(s);
	return s;
}

static void
test_impersonation_client_is_served_as_its_own_user(void **state)
{
	struct lb_win_peer *p = NULL;
	struct conn c;
	char why[256] = "unset", *sid = own_sid();
	wchar_t uname[256];
	DWORD un = 256;
	char *user;

	(void)state;
	conn_open(&c, SECURITY_SQOS_PRESENT | SECURITY_IMPERSONATION, 1);
	assert_int_equal(lb_win_peer_from_pipe(c.server, &p, why, sizeof(why)), LB_OK);
	assert_string_equal(why, "");
	assert_non_null(p);
	assert_ptr_equal(p->peer.plat, p);
	assert_non_null(p->token);
	assert_string_equal(p->peer.who.sid, sid);
	assert_string_equal(p->peer.id, sid);
	/* The bare account name, as GetUserNameW gives it (no domain). */
	assert_true(GetUserNameW(uname, &un));
	user = lb_win_utf8(uname);
	assert_non_null(p->peer.who.user);
	assert_string_equal(p->peer.who.user, user);
	assert_null(strchr(p->peer.who.user, '\\'));
	assert_true(p->peer.who.n_groups > 0);
	print_message("served as %s (%s), home %s, %lu groups\n", p->peer.who.user,
	    p->peer.who.sid, p->peer.who.home != NULL ? p->peer.who.home : "(none)",
	    (unsigned long)p->peer.who.n_groups);

	/* The kept token is usable for the file-system work. */
	assert_true(SetThreadToken(NULL, p->token));
	assert_true(RevertToSelf());

	/* The thread is itself again: no impersonation token left. */
	{
		HANDLE t = NULL;

		assert_false(OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &t));
		assert_int_equal(GetLastError(), ERROR_NO_TOKEN);
	}
	lb_win_peer_free(p);
	lb_win_peer_free(NULL);
	conn_close(&c);
	free(sid);
	free(user);
}

static void
test_identification_and_anonymous_clients_are_refused(void **state)
{
	static const DWORD levels[] = { SECURITY_IDENTIFICATION, SECURITY_ANONYMOUS };
	struct lb_win_peer *p;
	struct conn c;
	char why[256];
	size_t i;
	int rc, wine_ok = 0;

	(void)state;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		p = (struct lb_win_peer *)1;
		conn_open(&c, SECURITY_SQOS_PRESENT | levels[i], 1);
		rc = lb_win_peer_from_pipe(c.server, &p, why, sizeof(why));
		print_message("level %lu: %d (%s)\n", (unsigned long)levels[i] >> 16, rc, why);
		if (rc == LB_OK && lb_win_is_wine()) {
			/* Wine 8 ignores the level a client asks for. */
			lb_win_peer_free(p);
			wine_ok = 1;
		} else {
			assert_int_equal(rc, LB_E_ID_LEVEL);
			assert_null(p);
			assert_true(strlen(why) > 0);
		}
		conn_close(&c);
	}
	if (wine_ok) {
		print_message("SKIP reason: Wine serves every pipe client at "
		    "impersonation level whatever it asks for\n");
		skip();
	}
}

static void
test_impersonation_before_any_read_fails_cleanly(void **state)
{
	struct lb_win_peer *p = (struct lb_win_peer *)1;
	struct conn c;
	char why[256];
	int rc;

	(void)state;
	conn_open(&c, SECURITY_SQOS_PRESENT | SECURITY_IMPERSONATION, 0);
	rc = lb_win_peer_from_pipe(c.server, &p, why, sizeof(why));
	print_message("before a read: %d (%s)\n", rc, why);
	conn_close(&c);
	if (rc == LB_OK && lb_win_is_wine()) {
		lb_win_peer_free(p);
		print_message("SKIP reason: Wine lets a server impersonate before "
		    "it has read from the client\n");
		skip();
	}
	assert_int_equal(rc, LB_E_IO);
	assert_null(p);
	assert_non_null(strstr(why, "impersonate"));
}

static void
test_not_a_pipe_is_refused(void **state)
{
	struct lb_win_peer *p = (struct lb_win_peer *)1;
	char why[256];

	(void)state;
	assert_int_equal(lb_win_peer_from_pipe(INVALID_HANDLE_VALUE, &p, why,
	    sizeof(why)), LB_E_IO);
	assert_null(p);
	assert_int_equal(lb_win_peer_from_pipe(INVALID_HANDLE_VALUE, NULL, why,
	    sizeof(why)), LB_E_INVAL);
}


/* What LookupAccountSidW says of SID, as lb_token_win should report it:
 * "DOMAIN\NAME" (NAME alone for an empty domain) in *QUALIFIED, the domain
 * in *DOMAIN; NULLs when unmapped. */
static void
lookup_direct(const char *sid_str, char **qualified, char **domain)
{
	wchar_t *w = lb_win_wide(sid_str), name[257], dom[257];
	DWORD nn = 257, dn = 257;
	SID_NAME_USE use;
	PSID sid = NULL;
	char *n, *d;

	*qualified = *domain = NULL;
	assert_non_null(w);
	assert_true(ConvertStringSidToSidW(w, &sid));
	free(w);
	if (!LookupAccountSidW(NULL, sid, name, &nn, dom, &dn, &use)) {
		LocalFree(sid);
		return;
	}
	LocalFree(sid);
	n = lb_win_utf8(name);
	d = lb_win_utf8(dom);
	assert_non_null(n);
	assert_non_null(d);
	*qualified = malloc(strlen(n) + strlen(d) + 2);
	assert_non_null(*qualified);
	snprintf(*qualified, strlen(n) + strlen(d) + 2, "%s%s%s", d, d[0] != '\0' ? "\\" : "", n);
	free(n);
	*domain = d;
}

static void
test_user_domain_and_qualified_group_names_from_the_token(void **state)
{
	struct lb_win_peer *p = NULL;
	struct conn c;
	char why[256], *q, *d;
	size_t i, named = 0;

	(void)state;
	conn_open(&c, SECURITY_SQOS_PRESENT | SECURITY_IMPERSONATION, 1);
	assert_int_equal(lb_win_peer_from_pipe(c.server, &p, why, sizeof(why)), LB_OK);
	/* The user: bare name and its domain apart, as LookupAccountSidW says. */
	lookup_direct(p->peer.who.sid, &q, &d);
	assert_non_null(q);
	assert_non_null(p->peer.who.domain);
	assert_string_equal(p->peer.who.domain, d);
	assert_null(strchr(p->peer.who.user, '\\'));
	print_message("user %s\\%s\n", p->peer.who.domain, p->peer.who.user);
	free(q);
	free(d);
	/* Each group: the qualified name, logged as such by the audit. */
	for (i = 0; i < p->peer.who.n_groups; i++) {
		const struct lb_group *g = &p->peer.who.groups[i];

		lookup_direct(g->sid, &q, &d);
		if (q == NULL) {
			assert_null(g->name);
		} else {
			assert_non_null(g->name);
			assert_string_equal(g->name, q);
			named++;
		}
		print_message("group %s %s\n", g->sid, g->name != NULL ? g->name : "(no name)");
		free(q);
		free(d);
	}
	assert_true(named > 0);
	lb_win_peer_free(p);
	conn_close(&c);
}

static double
ms_since(LARGE_INTEGER t0)
{
	LARGE_INTEGER t1, f;

	QueryPerformanceCounter(&t1);
	QueryPerformanceFrequency(&f);
	return (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)f.QuadPart;
}

static void
test_second_connection_reuses_the_names(void **state)
{
	struct lb_namecache_stats st0, st1;
	struct lb_win_peer *p = NULL, *p2 = NULL;
	struct conn c;
	char why[256];
	size_t size, i;
	LARGE_INTEGER t0;
	double cold = 0, warm = 0;
	int k;

	(void)state;
	lb_win_names_clear();
	conn_open(&c, SECURITY_SQOS_PRESENT | SECURITY_IMPERSONATION, 1);
	lb_win_names_stats(&st0, &size);
	assert_int_equal(size, 0);
	assert_int_equal(lb_win_peer_from_pipe(c.server, &p, why, sizeof(why)), LB_OK);
	lb_win_names_stats(&st1, &size);
	/* One lookup for the user and one per named group, the first time... */
	assert_true(st1.misses - st0.misses >= 1);
	assert_true(st1.misses - st0.misses <= 1 + p->peer.who.n_groups);
	assert_true(size > 0);
	st0 = st1;
	assert_int_equal(lb_win_peer_from_pipe(c.server, &p2, why, sizeof(why)), LB_OK);
	lb_win_names_stats(&st1, &size);
	/* ...none the second time, with the same answers. */
	assert_int_equal(st1.misses, st0.misses);
	assert_true(st1.hits > st0.hits);
	assert_string_equal(p2->peer.who.user, p->peer.who.user);
	assert_string_equal(p2->peer.who.domain, p->peer.who.domain);
	assert_int_equal(p2->peer.who.n_groups, p->peer.who.n_groups);
	for (i = 0; i < p->peer.who.n_groups; i++) {
		assert_string_equal(p2->peer.who.groups[i].sid, p->peer.who.groups[i].sid);
		if (p->peer.who.groups[i].name == NULL)
			assert_null(p2->peer.who.groups[i].name);
		else
			assert_string_equal(p2->peer.who.groups[i].name, p->peer.who.groups[i].name);
	}
	lb_win_peer_free(p2);
	/* The cost of a connection's identity, names looked up or reused. */
	for (k = 0; k < 200; k++) {
		lb_win_names_clear();
		QueryPerformanceCounter(&t0);
		assert_int_equal(lb_win_peer_from_pipe(c.server, &p2, why, sizeof(why)), LB_OK);
		cold += ms_since(t0);
		lb_win_peer_free(p2);
		QueryPerformanceCounter(&t0);
		assert_int_equal(lb_win_peer_from_pipe(c.server, &p2, why, sizeof(why)), LB_OK);
		warm += ms_since(t0);
		lb_win_peer_free(p2);
	}
	print_message("identity of a connection (%lu groups): %.3f ms with lookups, %.3f ms with the names cached\n",
	    (unsigned long)p->peer.who.n_groups, cold / 200, warm / 200);
	lb_win_peer_free(p);
	conn_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_impersonation_client_is_served_as_its_own_user),
		cmocka_unit_test(test_identification_and_anonymous_clients_are_refused),
		cmocka_unit_test(test_impersonation_before_any_read_fails_cleanly),
		cmocka_unit_test(test_not_a_pipe_is_refused),
		cmocka_unit_test(test_user_domain_and_qualified_group_names_from_the_token),
		cmocka_unit_test(test_second_connection_reuses_the_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
