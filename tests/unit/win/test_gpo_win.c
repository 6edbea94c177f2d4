/* Fleet policy (lb_gpo_win): the values Group Policy writes under
 * HKLM\SOFTWARE\Policies\LinkBroker, read here from a key of the test's
 * own under HKCU (the same RegOpenKeyExW / RegGetValueW calls, a real
 * registry). Pinned: absent values set nothing; every wrong type, size,
 * length, embedded NUL, bad UTF-16, empty string, non-local or relative
 * PolicyFile and out-of-range number is refused with a message naming the
 * value; the registry's settings win over the policy file's [broker] and
 * its PolicyFile over --config; an invalid value never falls back to the
 * file. Then the real service loop: it serves the file the registry
 * names, keeps that policy when a reload meets an invalid value, and
 * notices a change of the key by itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "lb_sig.h"
#include "lb_win.h"
#include "lb_wire.h"
#include "../../lib/lb_tool_frame.h"

#define WHERE "TESTKEY"

static struct {
	wchar_t subkey[128];
	char dir[MAX_PATH], local[MAX_PATH + 64], fleet[MAX_PATH + 64], pipe[128];
	uint8_t sk[LB_SK_BYTES], pk[LB_PK_BYTES];
	char sid[256];
} g;

/* ---- the test's registry key --------------------------------------------- */

static HKEY
key_open(void)
{
	HKEY k = NULL;

	assert_int_equal(RegCreateKeyExW(HKEY_CURRENT_USER, g.subkey, 0, NULL, 0,
	    KEY_SET_VALUE | KEY_QUERY_VALUE | KEY_WOW64_64KEY, NULL, &k, NULL), ERROR_SUCCESS);
	return k;
}

static void
set_raw(const wchar_t *name, DWORD type, const void *data, DWORD cb)
{
	HKEY k = key_open();

	assert_int_equal(RegSetValueExW(k, name, 0, type, data, cb), ERROR_SUCCESS);
	RegCloseKey(k);
}

static void
set_sz(const wchar_t *name, DWORD type, const wchar_t *s)
{
	set_raw(name, type, s, (DWORD)((wcslen(s) + 1) * sizeof(wchar_t)));
}

static void
set_u8(const wchar_t *name, const char *s)
{
	wchar_t *w = lb_win_wide(s);

	assert_non_null(w);
	set_sz(name, REG_SZ, w);
	free(w);
}

static void
set_dword(const wchar_t *name, DWORD v)
{
	set_raw(name, REG_DWORD, &v, sizeof(v));
}

static void
del_value(const wchar_t *name)
{
	HKEY k = key_open();

	(void)RegDeleteValueW(k, name);
	RegCloseKey(k);
}

static void
key_delete(void)
{
	(void)RegDeleteTreeW(HKEY_CURRENT_USER, g.subkey);
	(void)RegDeleteKeyExW(HKEY_CURRENT_USER, g.subkey, KEY_WOW64_64KEY, 0);
}

/* Read the key: the code, and the message (or "") in MSG. */
static int
read_key(struct lb_win_gpo *gp, char *msg, size_t n)
{
	struct lb_buf err;
	const char *s;
	int r;

	lb_buf_init(&err, 4096);
	r = lb_win_gpo_read(HKEY_CURRENT_USER, g.subkey, WHERE, gp, &err);
	msg[0] = '\0';
	if (r != LB_OK) {
		assert_int_equal(r, LB_E_CONFIG);
		assert_int_equal(lb_buf_cstr(&err, &s), LB_OK);
		snprintf(msg, n, "%s", s);
	}
	lb_buf_free(&err);
	return r;
}

/* The key as it is now must be refused with a message starting WANT. */
static void
expect_refused(const char *want)
{
	struct lb_win_gpo gp;
	char msg[1024];
	size_t i;

	if (read_key(&gp, msg, sizeof(msg)) != LB_E_CONFIG)
		fail_msg("accepted; expected '%s'", want);
	for (i = 0; i < LB_GPO_N; i++)
		assert_null(gp.value[i]);
	if (strncmp(msg, want, strlen(want)) != 0)
		fail_msg("expected '%s', got '%s'", want, msg);
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

/* A policy: the common [broker] (this test's pipe and files), the test's
 * key enrolled, then EXTRA (broker settings first, then rules). */
static void
put_policy(const char *path, const char *broker_extra, const char *rules)
{
	char *text = calloc(1, 8192), b64[LB_PK_B64_LEN];

	assert_non_null(text);
	assert_int_equal(lb_pk_to_b64(g.pk, b64), LB_OK);
	snprintf(text, 8192,
	    "[broker]\r\nendpoint = %s\r\naudit_log = %s\\conf\\audit.log\r\n"
	    "service_key = %s\\conf\\service.key\r\nservice_public_key = %s\\conf\\service.pub\r\n%s\r\n"
	    "[key:me]\r\nsid = %s\r\npublic_key = %s\r\n\r\n%s",
	    g.pipe, g.dir, g.dir, g.dir, broker_extra, g.sid, b64, rules);
	put_file(path, text);
	free(text);
}

static const char *
allow_rule(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "[rule:%s]\r\nusers = *\r\nkinds = *\r\nlink_under = %s\\links\r\n"
	    "target_under = %s\\targets\r\naction = allow\r\n", name, g.dir, g.dir);
	return buf;
}

/* ---- setup --------------------------------------------------------------- */

static int
setup(void **state)
{
	char tmp[MAX_PATH], p[MAX_PATH + 64], rule[1024];
	HANDLE tok = NULL;
	union { TOKEN_USER tu; uint8_t room[512]; } u;
	DWORD n = 0;
	LPSTR sid = NULL;
	unsigned long id = GetCurrentProcessId(), t = GetTickCount();

	(void)state;
	memset(&g, 0, sizeof(g));
	if (lb_crypto_init() != LB_OK || GetTempPathA(MAX_PATH, tmp) == 0)
		return -1;
	swprintf(g.subkey, sizeof(g.subkey) / sizeof(g.subkey[0]),
	    L"Software\\LinkBrokerTest\\gpo-%lu-%lu", id, t);
	snprintf(g.dir, sizeof(g.dir), "%slbgpo-%lu-%lu", tmp, id, t);
	snprintf(g.pipe, sizeof(g.pipe), "\\\\.\\pipe\\lbgpo-%lu-%lu", id, t);
	if (!CreateDirectoryA(g.dir, NULL))
		return -1;
	snprintf(p, sizeof(p), "%s\\conf", g.dir);
	CreateDirectoryA(p, NULL);
	snprintf(p, sizeof(p), "%s\\fleet", g.dir);
	CreateDirectoryA(p, NULL);
	snprintf(p, sizeof(p), "%s\\links", g.dir);
	CreateDirectoryA(p, NULL);
	snprintf(p, sizeof(p), "%s\\targets", g.dir);
	CreateDirectoryA(p, NULL);
	snprintf(p, sizeof(p), "%s\\targets\\t.txt", g.dir);
	put_file(p, "data");
	if (lb_sign_keypair(g.pk, g.sk) != LB_OK)
		return -1;
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok) ||
	    !GetTokenInformation(tok, TokenUser, &u, sizeof(u), &n) ||
	    !ConvertSidToStringSidA(u.tu.User.Sid, &sid))
		return -1;
	snprintf(g.sid, sizeof(g.sid), "%s", sid);
	LocalFree(sid);
	CloseHandle(tok);
	/* --config: no rule (default deny); the fleet's file: one allow rule. */
	snprintf(g.local, sizeof(g.local), "%s\\conf\\policy.ini", g.dir);
	snprintf(g.fleet, sizeof(g.fleet), "%s\\fleet\\fleet.ini", g.dir);
	put_policy(g.local, "max_clients = 8\r\naudit_sync = batch\r\nrequests_per_sec = 7\r\n", "");
	put_policy(g.fleet, "max_clients = 16\r\nrequests_per_sec = 9\r\nrequests_burst = 90\r\n",
	    allow_rule(rule, sizeof(rule), "fleet"));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	key_delete();
	return 0;
}

/* Each test starts without the key. */
static int
fresh_key(void **state)
{
	(void)state;
	key_delete();
	return 0;
}

/* ---- reading ------------------------------------------------------------- */

static void
test_absent_key_sets_nothing(void **state)
{
	struct lb_win_gpo gp;
	struct lb_gpo_stamp st;
	char msg[256];
	size_t i;

	(void)state;
	assert_int_equal(read_key(&gp, msg, sizeof(msg)), LB_OK);
	assert_int_equal(gp.present, 0);
	for (i = 0; i < LB_GPO_N; i++)
		assert_null(gp.value[i]);
	assert_int_equal(lb_win_gpo_stamp(HKEY_CURRENT_USER, g.subkey, &st), LB_OK);
	assert_int_equal(st.present, 0);
}

static void
test_present_values_are_read_as_the_ini_would_write_them(void **state)
{
	struct lb_win_gpo gp;
	struct lb_buf d;
	const char *s;
	char msg[256];

	(void)state;
	RegCloseKey(key_open());   /* an empty key: present, nothing set */
	assert_int_equal(read_key(&gp, msg, sizeof(msg)), LB_OK);
	assert_int_equal(gp.present, 1);
	assert_null(gp.value[LB_GPO_MAX_CLIENTS]);

	set_sz(L"PolicyFile", REG_SZ, L"C:\\Fleet\\sub\\..\\policy.ini");
	set_sz(L"AuditSync", REG_SZ, L"always");
	set_dword(L"MaxClients", 4096);
	set_dword(L"RequestsPerSec", 0xFFFFFFFFu);   /* read as is: the range is apply's */
	set_dword(L"RequestsBurst", 0);
	set_dword(L"SomethingElse", 5);              /* not ours: ignored */
	assert_int_equal(read_key(&gp, msg, sizeof(msg)), LB_OK);
	assert_string_equal(gp.value[LB_GPO_POLICY_FILE], "C:\\Fleet\\policy.ini");   /* canonical */
	assert_string_equal(gp.value[LB_GPO_AUDIT_SYNC], "always");
	assert_string_equal(gp.value[LB_GPO_MAX_CLIENTS], "4096");
	assert_string_equal(gp.value[LB_GPO_REQUESTS_PER_SEC], "4294967295");
	assert_string_equal(gp.value[LB_GPO_REQUESTS_BURST], "0");
	lb_buf_init(&d, 4096);
	assert_int_equal(lb_win_gpo_describe(&gp, &d), LB_OK);
	assert_int_equal(lb_buf_cstr(&d, &s), LB_OK);
	assert_string_equal(s, "PolicyFile = C:\\Fleet\\policy.ini, AuditSync = always, MaxClients = 4096, "
	    "RequestsPerSec = 4294967295, RequestsBurst = 0");
	lb_buf_free(&d);
	lb_win_gpo_free(&gp);
}

static void
test_expandable_strings_are_expanded(void **state)
{
	struct lb_win_gpo gp;
	char msg[256];

	(void)state;
	assert_true(SetEnvironmentVariableW(L"LB_GPO_TEST_DIR", L"D:\\Central"));
	set_sz(L"PolicyFile", REG_EXPAND_SZ, L"%LB_GPO_TEST_DIR%\\LinkBroker\\policy.ini");
	assert_int_equal(read_key(&gp, msg, sizeof(msg)), LB_OK);
	assert_string_equal(gp.value[LB_GPO_POLICY_FILE], "D:\\Central\\LinkBroker\\policy.ini");
	lb_win_gpo_free(&gp);
	/* A variable the service does not have stays "%NAME%": not absolute. */
	set_sz(L"PolicyFile", REG_EXPAND_SZ, L"%LB_GPO_NO_SUCH_VARIABLE%\\policy.ini");
	expect_refused(WHERE "\\PolicyFile: '%LB_GPO_NO_SUCH_VARIABLE%\\policy.ini' is not an absolute path on a local drive");
}

static void
test_wrong_types_are_refused(void **state)
{
	static const BYTE four[4] = { 8, 0, 0, 0 };
	static const uint64_t q = 8;

	(void)state;
	set_sz(L"MaxClients", REG_SZ, L"8");
	expect_refused(WHERE "\\MaxClients: is REG_SZ, expected REG_DWORD");
	set_raw(L"MaxClients", REG_BINARY, four, sizeof(four));
	expect_refused(WHERE "\\MaxClients: is REG_BINARY, expected REG_DWORD");
	set_raw(L"MaxClients", REG_QWORD, &q, sizeof(q));
	expect_refused(WHERE "\\MaxClients: is REG_QWORD, expected REG_DWORD");
	set_raw(L"MaxClients", REG_DWORD_BIG_ENDIAN, four, sizeof(four));
	expect_refused(WHERE "\\MaxClients: is REG_DWORD_BIG_ENDIAN, expected REG_DWORD");
	del_value(L"MaxClients");
	set_dword(L"AuditSync", 1);
	expect_refused(WHERE "\\AuditSync: is REG_DWORD, expected REG_SZ or REG_EXPAND_SZ");
	del_value(L"AuditSync");
	set_raw(L"PolicyFile", REG_MULTI_SZ, L"C:\\a.ini\0C:\\b.ini\0", 18 * sizeof(wchar_t));
	expect_refused(WHERE "\\PolicyFile: is REG_MULTI_SZ, expected REG_SZ or REG_EXPAND_SZ");
}

static void
test_dwords_of_the_wrong_size_are_refused(void **state)
{
	static const BYTE two[2] = { 8, 0 }, eight[8] = { 8, 0, 0, 0, 0, 0, 0, 0 };
	static BYTE big[64];

	(void)state;
	set_raw(L"RequestsBurst", REG_DWORD, two, sizeof(two));
	expect_refused(WHERE "\\RequestsBurst: is a REG_DWORD without 4 bytes of data");
	set_raw(L"RequestsBurst", REG_DWORD, eight, sizeof(eight));
	expect_refused(WHERE "\\RequestsBurst: is a REG_DWORD without 4 bytes of data");
	set_raw(L"RequestsBurst", REG_DWORD, big, sizeof(big));
	expect_refused(WHERE "\\RequestsBurst: is not a REG_DWORD (too much data)");
}

static void
test_strings_over_the_limit_are_refused(void **state)
{
	wchar_t *w = calloc(8192, sizeof(wchar_t));
	struct lb_win_gpo gp;
	char msg[256];
	size_t i;

	(void)state;
	assert_non_null(w);
	/* 1023 characters: read (then refused by apply as a bad audit_sync). */
	for (i = 0; i < LB_GPO_TEXT_MAX; i++)
		w[i] = L'a';
	set_sz(L"AuditSync", REG_SZ, w);
	assert_int_equal(read_key(&gp, msg, sizeof(msg)), LB_OK);
	assert_int_equal(strlen(gp.value[LB_GPO_AUDIT_SYNC]), LB_GPO_TEXT_MAX);
	lb_win_gpo_free(&gp);
	w[LB_GPO_TEXT_MAX] = L'a';   /* 1024: one too many */
	set_sz(L"AuditSync", REG_SZ, w);
	expect_refused(WHERE "\\AuditSync: longer than 1023 characters");
	for (i = 0; i < 8000; i++)
		w[i] = L'a';
	set_sz(L"AuditSync", REG_SZ, w);
	expect_refused(WHERE "\\AuditSync: longer than 1023 characters");
	del_value(L"AuditSync");
	/* Short in the registry, too long once expanded. */
	for (i = 0; i < 1000; i++)
		w[i] = L'x';
	w[1000] = L'\0';
	assert_true(SetEnvironmentVariableW(L"LB_GPO_TEST_LONG", w));
	set_sz(L"PolicyFile", REG_EXPAND_SZ, L"C:\\%LB_GPO_TEST_LONG%\\%LB_GPO_TEST_LONG%");
	expect_refused(WHERE "\\PolicyFile: longer than 1023 characters once expanded");
	free(w);
}

static void
test_nul_odd_sizes_empty_and_bad_utf16_are_refused(void **state)
{
	static const wchar_t lone[] = { L'C', L':', L'\\', 0xD800, L'x', 0 };

	(void)state;
	set_raw(L"AuditSync", REG_SZ, L"batch\0always\0", 13 * sizeof(wchar_t));
	expect_refused(WHERE "\\AuditSync: has a NUL character inside");
	set_raw(L"AuditSync", REG_SZ, "abc", 3);
	expect_refused(WHERE "\\AuditSync: is not a whole UTF-16 string");
	set_sz(L"AuditSync", REG_SZ, L"");
	expect_refused(WHERE "\\AuditSync: is empty");
	del_value(L"AuditSync");
	set_raw(L"PolicyFile", REG_SZ, lone, sizeof(lone));
	expect_refused(WHERE "\\PolicyFile: is not valid UTF-16");
}

static void
test_policy_file_must_be_absolute_on_a_local_drive(void **state)
{
	static const struct { const char *value, *want; } bad[] = {
		{ "policy.ini", "' is not an absolute path on a local drive" },
		{ "\\LinkBroker\\policy.ini", "' is not an absolute path on a local drive" },
		{ "\\\\files\\fleet\\policy.ini", "' is not an absolute path on a local drive" },
		{ "\\\\?\\C:\\policy.ini", "'" },
		{ "\\\\.\\C:\\policy.ini", "'" },
		{ "C:\\LinkBroker\\policy.ini:hidden", "'" },
		{ "C:\\CON\\policy.ini", "'" },
		{ "C:\\policy.ini ", "'" },
	};
	char want[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_u8(L"PolicyFile", bad[i].value);
		snprintf(want, sizeof(want), WHERE "\\PolicyFile: '%s%s", bad[i].value, bad[i].want);
		expect_refused(want);
	}
}

/* ---- applied over the file ----------------------------------------------- */

static struct lb_policy *
load_text(const char *text)
{
	struct lb_policy *p = NULL;

	assert_int_equal(lb_policy_load_buffer("p.ini", text, strlen(text), LB_FLAVOR_WINDOWS, &p, NULL), LB_OK);
	return p;
}

static void
test_out_of_range_values_are_refused_with_the_loaders_message(void **state)
{
	static const struct { const wchar_t *name; DWORD v; const char *want; } bad[] = {
		{ L"MaxClients", 0, WHERE "\\MaxClients: max_clients: expected a whole number from 1 to 4096" },
		{ L"MaxClients", 4097, WHERE "\\MaxClients: max_clients: expected a whole number from 1 to 4096" },
		{ L"RequestsPerSec", 0, WHERE "\\RequestsPerSec: requests_per_sec: expected a whole number from 1 to 100000" },
		{ L"RequestsPerSec", 100001, WHERE "\\RequestsPerSec: requests_per_sec: expected a whole number from 1 to 100000" },
		{ L"RequestsBurst", 1000001, WHERE "\\RequestsBurst: requests_burst: expected a whole number from 1 to 1000000" },
		{ L"RequestsBurst", 0xFFFFFFFFu, WHERE "\\RequestsBurst: requests_burst: expected a whole number from 1 to 1000000" },
	};
	struct lb_win_gpo gp;
	struct lb_policy *p;
	struct lb_buf err;
	const char *s;
	char msg[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		key_delete();
		set_dword(bad[i].name, bad[i].v);
		assert_int_equal(read_key(&gp, msg, sizeof(msg)), LB_OK);
		p = load_text("[broker]\nmax_clients = 8\nrequests_per_sec = 7\nrequests_burst = 9\n");
		lb_buf_init(&err, 4096);
		assert_int_equal(lb_win_gpo_apply(&gp, p, &err), LB_E_CONFIG);
		assert_int_equal(lb_buf_cstr(&err, &s), LB_OK);
		assert_string_equal(s, bad[i].want);
		/* Refused, the file's settings are untouched (the caller drops p). */
		assert_int_equal(p->broker.max_clients, 8);
		assert_int_equal(p->broker.requests_per_sec, 7);
		assert_int_equal(p->broker.requests_burst, 9);
		lb_buf_free(&err);
		lb_policy_free(p);
		lb_win_gpo_free(&gp);
	}
	key_delete();
	set_sz(L"AuditSync", REG_SZ, L"Always");
	assert_int_equal(read_key(&gp, msg, sizeof(msg)), LB_OK);
	p = load_text("[broker]\n");
	lb_buf_init(&err, 4096);
	assert_int_equal(lb_win_gpo_apply(&gp, p, &err), LB_E_CONFIG);
	assert_int_equal(lb_buf_cstr(&err, &s), LB_OK);
	assert_string_equal(s, WHERE "\\AuditSync: audit_sync: expected batch or always, not 'Always'");
	lb_buf_free(&err);
	lb_policy_free(p);
	lb_win_gpo_free(&gp);
	/* The bounds themselves are taken. */
	key_delete();
	set_dword(L"MaxClients", 1);
	set_dword(L"RequestsPerSec", 100000);
	set_dword(L"RequestsBurst", 1000000);
	assert_int_equal(read_key(&gp, msg, sizeof(msg)), LB_OK);
	p = load_text("[broker]\n");
	assert_int_equal(lb_win_gpo_apply(&gp, p, NULL), LB_OK);
	assert_int_equal(p->broker.max_clients, 1);
	assert_int_equal(p->broker.requests_per_sec, 100000);
	assert_int_equal(p->broker.requests_burst, 1000000);
	lb_policy_free(p);
	lb_win_gpo_free(&gp);
}

/* lb_win_load_fleet_policy: code, policy, file chosen and note. */
static int
fleet(struct lb_policy **p, char **path, char *note, size_t notelen, char *msg, size_t msglen)
{
	struct lb_buf err, nb;
	const char *s;
	int r;

	lb_buf_init(&err, 8192);
	lb_buf_init(&nb, 4096);
	r = lb_win_load_fleet_policy(HKEY_CURRENT_USER, g.subkey, WHERE, g.local, p, path, &nb, &err);
	msg[0] = note[0] = '\0';
	if (lb_buf_cstr(&err, &s) == LB_OK)
		snprintf(msg, msglen, "%s", s);
	if (lb_buf_cstr(&nb, &s) == LB_OK)
		snprintf(note, notelen, "%s", s);
	lb_buf_free(&err);
	lb_buf_free(&nb);
	if (r != LB_OK)
		assert_null(*p);
	return r;
}

static void
test_registry_wins_over_the_files_broker_and_names_the_file(void **state)
{
	struct lb_policy *p = NULL;
	char *path = NULL, note[1024], msg[1024], want[1200];

	(void)state;
	/* No key: --config as it is. */
	assert_int_equal(fleet(&p, &path, note, sizeof(note), msg, sizeof(msg)), LB_OK);
	assert_string_equal(path, g.local);
	assert_string_equal(note, "");
	assert_int_equal(p->n_rules, 0);
	assert_int_equal(p->broker.max_clients, 8);
	assert_int_equal(p->broker.audit_sync, LB_AUDIT_SYNC_BATCH);
	assert_int_equal(p->broker.requests_per_sec, 7);
	lb_policy_free(p);
	free(path);

	/* Settings only: over --config's [broker]; the rest from the file. */
	set_dword(L"MaxClients", 32);
	set_sz(L"AuditSync", REG_SZ, L"always");
	assert_int_equal(fleet(&p, &path, note, sizeof(note), msg, sizeof(msg)), LB_OK);
	assert_string_equal(path, g.local);
	assert_int_equal(p->broker.max_clients, 32);
	assert_int_equal(p->broker.audit_sync, LB_AUDIT_SYNC_ALWAYS);
	assert_int_equal(p->broker.requests_per_sec, 7);
	assert_int_equal(p->broker.requests_burst, 10000);   /* the built-in default */
	assert_string_equal(note, "AuditSync = always, MaxClients = 32");
	lb_policy_free(p);
	free(path);

	/* PolicyFile: the fleet's file instead of --config, the settings over its own. */
	set_u8(L"PolicyFile", g.fleet);
	assert_int_equal(fleet(&p, &path, note, sizeof(note), msg, sizeof(msg)), LB_OK);
	assert_string_equal(path, g.fleet);
	assert_int_equal(p->n_rules, 1);
	assert_string_equal(p->rules[0].name, "fleet");
	assert_int_equal(p->broker.max_clients, 32);          /* registry over the file's 16 */
	assert_int_equal(p->broker.audit_sync, LB_AUDIT_SYNC_ALWAYS);
	assert_int_equal(p->broker.requests_per_sec, 9);      /* the fleet file's */
	assert_int_equal(p->broker.requests_burst, 90);
	snprintf(want, sizeof(want), "PolicyFile = %s, AuditSync = always, MaxClients = 32", g.fleet);
	assert_string_equal(note, want);
	lb_policy_free(p);
	free(path);
}

static void
test_an_invalid_value_fails_closed_never_falling_back(void **state)
{
	struct lb_policy *p = NULL;
	char *path = NULL, note[1024], msg[1024], want[1200];

	(void)state;
	/* A bad PolicyFile: nothing loaded, not even --config. */
	set_u8(L"PolicyFile", "fleet.ini");
	assert_int_equal(fleet(&p, &path, note, sizeof(note), msg, sizeof(msg)), LB_E_CONFIG);
	assert_null(path);
	assert_string_equal(msg, WHERE "\\PolicyFile: 'fleet.ini' is not an absolute path on a local drive "
	    "(C:\\...): a file share's policy could be changed by the file server's administrators");
	/* A PolicyFile that does not exist: refused, not replaced by --config. */
	snprintf(want, sizeof(want), "%s\\fleet\\missing.ini", g.dir);
	set_u8(L"PolicyFile", want);
	assert_int_equal(fleet(&p, &path, note, sizeof(note), msg, sizeof(msg)), LB_E_NOENT);
	assert_string_equal(path, want);   /* what the service then watches */
	assert_non_null(strstr(msg, "missing.ini: cannot open"));
	free(path);
	path = NULL;
	/* A good file with a setting out of range: no policy either. */
	set_u8(L"PolicyFile", g.fleet);
	set_dword(L"MaxClients", 0);
	assert_int_equal(fleet(&p, &path, note, sizeof(note), msg, sizeof(msg)), LB_E_CONFIG);
	assert_string_equal(msg, WHERE "\\MaxClients: max_clients: expected a whole number from 1 to 4096");
	free(path);
}

static void
test_the_named_file_passes_the_admin_file_checks(void **state)
{
	struct lb_policy *p = NULL;
	char *path = NULL, note[1024], msg[1024], open[MAX_PATH + 64], rule[1024];
	wchar_t *w;
	PSECURITY_DESCRIPTOR sd = NULL;
	PACL dacl = NULL;
	BOOL present = FALSE, defaulted = FALSE;
	int everyone_writes = 0;
	DWORD i;
	PSECURITY_DESCRIPTOR want = NULL;
	PACL wdacl = NULL;

	(void)state;
	snprintf(open, sizeof(open), "%s\\fleet\\open.ini", g.dir);
	put_policy(open, "", allow_rule(rule, sizeof(rule), "open"));
	/* Everyone may write it: the file the registry names must be refused.
	 * Set after the file exists: Wine creates with the umask, but
	 * SetSecurityInfo sets the Unix mode from the DACL (Everyone: o+w). */
	w = lb_win_wide(open);
	assert_non_null(w);
	assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorW(
	    L"D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;WD)", SDDL_REVISION_1, &want, NULL));
	assert_true(GetSecurityDescriptorDacl(want, &present, &wdacl, &defaulted));
	assert_int_equal(SetNamedSecurityInfoW(w, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION |
	    PROTECTED_DACL_SECURITY_INFORMATION, NULL, NULL, wdacl, NULL), ERROR_SUCCESS);
	LocalFree(want);
	{
		DWORD need = 0;

		(void)GetFileSecurityW(w, DACL_SECURITY_INFORMATION, NULL, 0, &need);
		assert_true(need > 0);
		sd = malloc(need);
		assert_non_null(sd);
		assert_true(GetFileSecurityW(w, DACL_SECURITY_INFORMATION, sd, need, &need));
		assert_true(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
		for (i = 0; present && dacl != NULL && i < dacl->AceCount; i++) {
			ACCESS_ALLOWED_ACE *ace = NULL;
			PSID everyone = NULL;

			assert_true(GetAce(dacl, i, (void **)&ace));
			assert_true(ConvertStringSidToSidW(L"S-1-1-0", &everyone));
			if (ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE &&
			    EqualSid((PSID)&ace->SidStart, everyone) && (ace->Mask & FILE_WRITE_DATA) != 0)
				everyone_writes = 1;
			LocalFree(everyone);
		}
		free(sd);
	}
	free(w);
	set_u8(L"PolicyFile", open);
	if (!everyone_writes) {
		print_message("skipped: the file system did not keep the Everyone-write ACE "
		    "(Wine derives security descriptors from Unix modes)\n");
		skip();
	}
	assert_int_equal(fleet(&p, &path, note, sizeof(note), msg, sizeof(msg)), LB_E_PERM);
	assert_non_null(strstr(msg, "Everyone"));
	assert_non_null(strstr(msg, "the broker refuses a policy file non-admins can write"));
	free(path);
}

static void
test_the_stamp_changes_with_the_keys_values(void **state)
{
	struct lb_gpo_stamp a, b, c;

	(void)state;
	assert_int_equal(lb_win_gpo_stamp(HKEY_CURRENT_USER, g.subkey, &a), LB_OK);
	assert_int_equal(a.present, 0);
	set_dword(L"MaxClients", 8);
	assert_int_equal(lb_win_gpo_stamp(HKEY_CURRENT_USER, g.subkey, &b), LB_OK);
	assert_int_equal(b.present, 1);
	Sleep(50);
	set_dword(L"MaxClients", 9);
	assert_int_equal(lb_win_gpo_stamp(HKEY_CURRENT_USER, g.subkey, &c), LB_OK);
	assert_int_equal(c.present, 1);
	if (c.write_time == b.write_time)
		fail_msg("setting a value did not change the key's last write time");
}

/* ---- the service --------------------------------------------------------- */

static DWORD WINAPI
loop_main(LPVOID arg)
{
	return (DWORD)lb_win_daemon_loop(arg);
}

/* A dry run of a hard link in links\ to targets\t.txt, on a connection
 * of its own: LB_OK (allowed) or the refusal's status. */
static int
check_link(void)
{
	char link[MAX_PATH + 64], target[MAX_PATH + 64];
	uint8_t nonce[LB_NONCE_BYTES], hdr[4], *body;
	struct lb_buf frame;
	struct lb_response rs;
	size_t len, body_len, got;
	HANDLE h = INVALID_HANDLE_VALUE;
	DWORD n = 0;
	int i, st;

	snprintf(link, sizeof(link), "%s\\links\\l.txt", g.dir);
	snprintf(target, sizeof(target), "%s\\targets\\t.txt", g.dir);
	for (i = 0; i < 200 && h == INVALID_HANDLE_VALUE; i++) {
		h = CreateFileA(g.pipe, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
		if (h == INVALID_HANDLE_VALUE)
			Sleep(20);
	}
	assert_true(h != INVALID_HANDLE_VALUE);
	lb_buf_init(&frame, LB_FRAME_HDR + LB_FRAME_MAX);
	assert_int_equal(lb_tool_request_frame(&frame, LB_MSG_CHECK, LB_KIND_HARDLINK, link, target,
	    g.sk, g.pk, nonce), LB_OK);
	assert_true(WriteFile(h, frame.data, (DWORD)frame.len, &n, NULL) && n == frame.len);
	lb_buf_free(&frame);
	for (got = 0; got < 4; got += n)
		assert_true(ReadFile(h, hdr + got, (DWORD)(4 - got), &n, NULL) && n > 0);
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	assert_true(len > 0 && len <= LB_FRAME_MAX);
	body = malloc(len);
	assert_non_null(body);
	for (got = 0; got < len; got += n)
		assert_true(ReadFile(h, body + got, (DWORD)(len - got), &n, NULL) && n > 0);
	assert_int_equal(lb_response_decode(body, len, &rs, &body_len), LB_OK);
	assert_memory_equal(rs.nonce, nonce, LB_NONCE_BYTES);
	st = rs.status;
	free(body);
	CloseHandle(h);
	return st;
}

static void
test_the_service_serves_reloads_and_watches_the_fleet_policy(void **state)
{
	struct lb_win_daemon *d = NULL;
	HANDLE loop;
	ULONGLONG until;
	int st;

	(void)state;
	set_u8(L"PolicyFile", g.fleet);
	assert_int_equal(lb_win_daemon_start_gpo(g.local, &lb_win_fs_ops, HKEY_CURRENT_USER, g.subkey,
	    WHERE, &d), LB_OK);
	assert_non_null(loop = CreateThread(NULL, 0, loop_main, d, 0, NULL));
	/* The fleet's file is in force, not --config's (which allows nothing). */
	assert_int_equal(check_link(), LB_OK);

	/* A reload that meets an invalid value keeps the policy in force.
	 * (The reload is queued on the loop's port before the connection's
	 * completions, which the port hands out in order.) */
	set_u8(L"PolicyFile", "relative\\fleet.ini");
	lb_win_daemon_reload(d);
	assert_int_equal(check_link(), LB_OK);
	set_u8(L"PolicyFile", g.fleet);
	set_dword(L"MaxClients", 5000);
	lb_win_daemon_reload(d);
	assert_int_equal(check_link(), LB_OK);

	/* The key's change is noticed without a reload being asked for: the
	 * value removed, --config's policy applies (it allows nothing). */
	del_value(L"MaxClients");
	del_value(L"PolicyFile");
	until = GetTickCount64() + 6000;
	while ((st = check_link()) == LB_OK && GetTickCount64() < until)
		Sleep(100);
	assert_int_equal(st, LB_E_DENIED);

	/* And back, by an explicit reload. */
	set_u8(L"PolicyFile", g.fleet);
	lb_win_daemon_reload(d);
	assert_int_equal(check_link(), LB_OK);

	lb_win_daemon_stop(d);
	assert_int_equal(WaitForSingleObject(loop, 10000), WAIT_OBJECT_0);
	CloseHandle(loop);
	lb_win_daemon_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_absent_key_sets_nothing, fresh_key),
		cmocka_unit_test_setup(test_present_values_are_read_as_the_ini_would_write_them, fresh_key),
		cmocka_unit_test_setup(test_expandable_strings_are_expanded, fresh_key),
		cmocka_unit_test_setup(test_wrong_types_are_refused, fresh_key),
		cmocka_unit_test_setup(test_dwords_of_the_wrong_size_are_refused, fresh_key),
		cmocka_unit_test_setup(test_strings_over_the_limit_are_refused, fresh_key),
		cmocka_unit_test_setup(test_nul_odd_sizes_empty_and_bad_utf16_are_refused, fresh_key),
		cmocka_unit_test_setup(test_policy_file_must_be_absolute_on_a_local_drive, fresh_key),
		cmocka_unit_test_setup(test_out_of_range_values_are_refused_with_the_loaders_message, fresh_key),
		cmocka_unit_test_setup(test_registry_wins_over_the_files_broker_and_names_the_file, fresh_key),
		cmocka_unit_test_setup(test_an_invalid_value_fails_closed_never_falling_back, fresh_key),
		cmocka_unit_test_setup(test_the_named_file_passes_the_admin_file_checks, fresh_key),
		cmocka_unit_test_setup(test_the_stamp_changes_with_the_keys_values, fresh_key),
		cmocka_unit_test_setup(test_the_service_serves_reloads_and_watches_the_fleet_policy, fresh_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
