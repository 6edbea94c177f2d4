/* Unit tests for client/win/lb_client_win.c: the user's key sealed with
 * DPAPI under a private directory (round trip, no silent replace, refusal
 * of plain text, tampered or foreign blobs), output bytes to a file, the
 * clock, a pipe whose server is not the LinkBroker service refused
 * before a byte is sent, the pipe owner check (SYSTEM, as the service's
 * LB_SDDL_PIPE makes it, passes; the creator's default owner does not),
 * and a file's identity as `linkbroker list` compares it with the
 * broker's record.
 * Under Wine DPAPI and DACLs are not real protection; these pin the code
 * paths and the file format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <windows.h>
#include <sddl.h>
#include <wincrypt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <sodium.h>

#include "lb_buf.h"
#include "lb_client.h"
#include "lb_client_win.h"
#include "lb_sig.h"
#include "lb_win.h"   /* LB_SDDL_PIPE */

#define WHY_MAX 4096

/* A fresh, empty base directory (stands in for %LOCALAPPDATA%). */
static void
make_base(wchar_t *base, size_t cap)
{
	static unsigned seq;
	wchar_t tmp[MAX_PATH];
	DWORD n = GetTempPathW(MAX_PATH, tmp);

	assert_true(n > 0 && n < MAX_PATH);
	assert_true(swprintf(base, cap, L"%lslbtest-client-%lu-%u", tmp,
	    (unsigned long)GetCurrentProcessId(), seq++) > 0);
	assert_true(CreateDirectoryW(base, NULL));
}

static void
key_path(const wchar_t *base, wchar_t *out, size_t cap)
{
	assert_true(swprintf(out, cap, L"%ls\\LinkBroker\\key", base) > 0);
}

/* Everything under BASE, then BASE (two levels deep at most). */
static void
remove_base(const wchar_t *base)
{
	wchar_t dir[MAX_PATH], pat[MAX_PATH], f[MAX_PATH];
	WIN32_FIND_DATAW fd;
	HANDLE h;

	(void)swprintf(dir, MAX_PATH, L"%ls\\LinkBroker", base);
	(void)swprintf(pat, MAX_PATH, L"%ls\\*", dir);
	if ((h = FindFirstFileW(pat, &fd)) != INVALID_HANDLE_VALUE) {
		do {
			(void)swprintf(f, MAX_PATH, L"%ls\\%ls", dir, fd.cFileName);
			if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))
				(void)DeleteFileW(f);
		} while (FindNextFileW(h, &fd));
		FindClose(h);
	}
	(void)RemoveDirectoryW(dir);
	(void)RemoveDirectoryW(base);
}

static size_t
read_whole(const wchar_t *path, uint8_t *buf, size_t cap)
{
	HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
	DWORD got = 0;

	assert_true(h != INVALID_HANDLE_VALUE);
	assert_true(ReadFile(h, buf, (DWORD)cap, &got, NULL));
	CloseHandle(h);
	return got;
}

static void
write_whole(const wchar_t *path, const void *p, size_t n)
{
	HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
	DWORD put = 0;

	assert_true(h != INVALID_HANDLE_VALUE);
	assert_true(WriteFile(h, p, (DWORD)n, &put, NULL));
	assert_int_equal(put, n);
	CloseHandle(h);
}

static int
contains(const uint8_t *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return 1;
	return 0;
}

static const char *
text(struct lb_buf *b)
{
	const char *s = "";

	if (b->len > 0)
		assert_int_equal(lb_buf_cstr(b, &s), LB_OK);
	return s;
}

static void
new_key(uint8_t sk[LB_SK_BYTES])
{
	uint8_t pk[LB_PK_BYTES];

	assert_int_equal(lb_crypto_init(), LB_OK);
	assert_int_equal(lb_sign_keypair(pk, sk), LB_OK);
}

static void
test_key_round_trip_stores_a_dpapi_blob_not_the_text(void **state)
{
	wchar_t base[MAX_PATH], key[MAX_PATH];
	uint8_t sk[LB_SK_BYTES], back[LB_SK_BYTES], file[8192];
	struct lb_buf why;
	size_t n;

	(void)state;
	lb_buf_init(&why, WHY_MAX);
	make_base(base, MAX_PATH);
	key_path(base, key, MAX_PATH);
	new_key(sk);
	assert_int_equal(lb_client_win_key_save_in(base, sk, 0, &why), LB_OK);
	n = read_whole(key, file, sizeof(file));
	assert_true(n > 0);
	assert_false(contains(file, n, "linkbroker-secret-key-v1"));
	/* A DPAPI blob starts with dwVersion 1 (the provider GUID follows). */
	assert_memory_equal(file, "\x01\x00\x00\x00", 4);
	assert_int_equal(lb_client_win_key_load_from(base, back, &why), LB_OK);
	assert_memory_equal(back, sk, LB_SK_BYTES);
	remove_base(base);
	lb_buf_free(&why);
}

static void
test_key_save_replaces_only_when_asked(void **state)
{
	wchar_t base[MAX_PATH], pat[MAX_PATH];
	uint8_t a[LB_SK_BYTES], b[LB_SK_BYTES], back[LB_SK_BYTES];
	WIN32_FIND_DATAW fd;
	struct lb_buf why;
	HANDLE h;

	(void)state;
	lb_buf_init(&why, WHY_MAX);
	make_base(base, MAX_PATH);
	new_key(a);
	new_key(b);
	assert_int_equal(lb_client_win_key_save_in(base, a, 0, &why), LB_OK);
	assert_int_equal(lb_client_win_key_save_in(base, b, 0, &why), LB_E_EXISTS);
	assert_non_null(strstr(text(&why), "--force"));
	assert_int_equal(lb_client_win_key_load_from(base, back, &why), LB_OK);
	assert_memory_equal(back, a, LB_SK_BYTES);
	assert_int_equal(lb_client_win_key_save_in(base, b, 1, &why), LB_OK);
	assert_int_equal(lb_client_win_key_load_from(base, back, &why), LB_OK);
	assert_memory_equal(back, b, LB_SK_BYTES);
	/* No temporary file is left behind. */
	(void)swprintf(pat, MAX_PATH, L"%ls\\LinkBroker\\*.tmp", base);
	h = FindFirstFileW(pat, &fd);
	assert_true(h == INVALID_HANDLE_VALUE);
	remove_base(base);
	lb_buf_free(&why);
}

static void
test_key_load_without_a_key_is_noent(void **state)
{
	wchar_t base[MAX_PATH];
	uint8_t back[LB_SK_BYTES];
	struct lb_buf why;

	(void)state;
	lb_buf_init(&why, WHY_MAX);
	make_base(base, MAX_PATH);
	assert_int_equal(lb_client_win_key_load_from(base, back, &why), LB_E_NOENT);
	assert_non_null(strstr(text(&why), "linkbroker keygen"));
	remove_base(base);
	lb_buf_free(&why);
}

/* Overwrite the saved key file with N bytes at P, then load: LB_E_INVAL. */
static void
expect_invalid_key_file(const void *p, size_t n)
{
	wchar_t base[MAX_PATH], key[MAX_PATH];
	uint8_t sk[LB_SK_BYTES], back[LB_SK_BYTES];
	struct lb_buf why;

	lb_buf_init(&why, WHY_MAX);
	make_base(base, MAX_PATH);
	key_path(base, key, MAX_PATH);
	new_key(sk);
	assert_int_equal(lb_client_win_key_save_in(base, sk, 0, &why), LB_OK);
	write_whole(key, p, n);
	assert_int_equal(lb_client_win_key_load_from(base, back, &why), LB_E_INVAL);
	assert_non_null(strstr(text(&why), "LinkBroker\\key"));
	remove_base(base);
	lb_buf_free(&why);
}

static void
test_key_load_refuses_the_plain_text_format(void **state)
{
	char t[200], b64[100];
	uint8_t sk[LB_SK_BYTES];

	(void)state;
	new_key(sk);
	assert_non_null(sodium_bin2base64(b64, sizeof(b64), sk, LB_SK_BYTES,
	    sodium_base64_VARIANT_ORIGINAL));
	assert_true(snprintf(t, sizeof(t), "linkbroker-secret-key-v1\n%s\n", b64) > 0);
	expect_invalid_key_file(t, strlen(t));
}

static void
test_key_load_refuses_a_tampered_blob(void **state)
{
	wchar_t base[MAX_PATH], key[MAX_PATH];
	uint8_t sk[LB_SK_BYTES], file[8192];
	struct lb_buf why;
	size_t n;

	(void)state;
	lb_buf_init(&why, WHY_MAX);
	make_base(base, MAX_PATH);
	key_path(base, key, MAX_PATH);
	new_key(sk);
	assert_int_equal(lb_client_win_key_save_in(base, sk, 0, &why), LB_OK);
	n = read_whole(key, file, sizeof(file));
	remove_base(base);
	lb_buf_free(&why);
	file[n - 40] ^= 0x01;   /* in the cipher text or its MAC */
	expect_invalid_key_file(file, n);
	expect_invalid_key_file(file, n / 2);   /* cut short */
	expect_invalid_key_file("", 0);
}

/* A blob sealed for this user but without the key's entropy string is
 * not a LinkBroker key. */
static void
test_key_load_refuses_a_blob_sealed_without_the_entropy(void **state)
{
	char t[200], b64[100];
	uint8_t sk[LB_SK_BYTES];
	DATA_BLOB in, out;

	(void)state;
	new_key(sk);
	assert_non_null(sodium_bin2base64(b64, sizeof(b64), sk, LB_SK_BYTES,
	    sodium_base64_VARIANT_ORIGINAL));
	assert_true(snprintf(t, sizeof(t), "linkbroker-secret-key-v1\n%s\n", b64) > 0);
	in.cbData = (DWORD)strlen(t);
	in.pbData = (BYTE *)t;
	assert_true(CryptProtectData(&in, NULL, NULL, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN, &out));
	expect_invalid_key_file(out.pbData, out.cbData);
	LocalFree(out.pbData);
}

static void
test_write_to_a_file_is_the_utf8_bytes(void **state)
{
	static const char s[] = "C:\\tmp\\\xC3\x9Cn\xC3\xAF \xF0\x9F\x98\x80 \\x01\n";
	char back[64];
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(f);
	lb_client_write(f, s, sizeof(s) - 1);
	assert_int_equal(fflush(f), 0);
	rewind(f);
	assert_int_equal(fread(back, 1, sizeof(back), f), sizeof(s) - 1);
	assert_memory_equal(back, s, sizeof(s) - 1);
	fclose(f);
}

static void
test_time_is_unix_seconds_and_clock_is_monotonic(void **state)
{
	uint64_t t = lb_client_time(), c1 = lb_client_clock_ms(), c2;
	time_t now = time(NULL);

	(void)state;
	assert_true(t + 2 >= (uint64_t)now && t <= (uint64_t)now + 2);
	/* GetTickCount64 moves in steps of about 16 ms (coarser under load). */
	Sleep(100);
	c2 = lb_client_clock_ms();
	assert_true(c2 >= c1 + 50);
}

static void
test_cwd_and_user_name_are_utf8_text(void **state)
{
	struct lb_buf out, why;

	(void)state;
	lb_buf_init(&out, 65536);
	lb_buf_init(&why, WHY_MAX);
	assert_int_equal(lb_client_cwd(&out, &why), LB_OK);
	assert_true(out.len >= 3 && out.data[1] == ':');
	lb_buf_reset(&out);
	assert_int_equal(lb_client_user_name(&out, &why), LB_OK);
	assert_true(out.len > 0);
	assert_null(memchr(out.data, '\\', out.len));   /* bare name, no DOMAIN\ */
	lb_buf_free(&why);
	lb_buf_free(&out);
}

static void
test_missing_pipe_is_unreachable(void **state)
{
	char name[128];
	struct lb_conn *c = (struct lb_conn *)1;
	struct lb_buf why;

	(void)state;
	lb_buf_init(&why, WHY_MAX);
	assert_true(snprintf(name, sizeof(name), "\\\\.\\pipe\\lbtest-missing-%lu",
	    (unsigned long)GetCurrentProcessId()) > 0);
	assert_int_equal(lb_conn_open(name, lb_client_clock_ms() + 2000, &c, &why), LB_E_UNREACHABLE);
	assert_null(c);
	assert_non_null(strstr(text(&why), "the broker is not running (no pipe "));
	lb_conn_close(NULL);
	lb_buf_free(&why);
}

/* This process serves a pipe; it is not the LinkBroker service's
 * process, so the client refuses before writing anything. */
static void
test_pipe_not_served_by_the_service_is_refused_before_sending(void **state)
{
	wchar_t wname[128];
	char name[128];
	struct lb_conn *c = (struct lb_conn *)1;
	struct lb_buf why;
	OVERLAPPED ov;
	HANDLE srv, ev;
	DWORD avail = 0;

	(void)state;
	lb_buf_init(&why, WHY_MAX);
	assert_true(snprintf(name, sizeof(name), "\\\\.\\pipe\\lbtest-fake-%lu",
	    (unsigned long)GetCurrentProcessId()) > 0);
	assert_true(swprintf(wname, 128, L"\\\\.\\pipe\\lbtest-fake-%lu",
	    (unsigned long)GetCurrentProcessId()) > 0);
	srv = CreateNamedPipeW(wname, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
	    PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, 4096, 4096, 0, NULL);
	assert_true(srv != INVALID_HANDLE_VALUE);
	assert_non_null(ev = CreateEventW(NULL, TRUE, FALSE, NULL));
	memset(&ov, 0, sizeof(ov));
	ov.hEvent = ev;
	assert_false(ConnectNamedPipe(srv, &ov));
	assert_int_equal(GetLastError(), ERROR_IO_PENDING);

	assert_int_equal(lb_conn_open(name, lb_client_clock_ms() + 2000, &c, &why), LB_E_NOT_GENUINE);
	assert_null(c);
	assert_non_null(strstr(text(&why), "the pipe is not served by the LinkBroker service"));
	/* The client connected, then closed without a byte. */
	assert_int_equal(WaitForSingleObject(ev, 2000), WAIT_OBJECT_0);
	assert_true(!PeekNamedPipe(srv, NULL, 0, NULL, &avail, NULL) || avail == 0);
	CloseHandle(ev);
	CloseHandle(srv);
	lb_buf_free(&why);
}

/* A pipe named after this process and TAG, created with the security
 * descriptor SDDL (NULL: the creator's default), and a client handle to it
 * opened as linkbroker opens the broker's. INVALID_HANDLE_VALUE server if
 * creating it failed (*ERR says why). */
static void
pipe_pair(const wchar_t *tag, const wchar_t *sddl, HANDLE *srv, HANDLE *cli, DWORD *err)
{
	SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, FALSE };
	wchar_t wname[128];

	assert_true(swprintf(wname, 128, L"\\\\.\\pipe\\lbtest-%ls-%lu", tag,
	    (unsigned long)GetCurrentProcessId()) > 0);
	if (sddl != NULL)
		assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1,
		    &sa.lpSecurityDescriptor, NULL));
	*cli = INVALID_HANDLE_VALUE;
	*srv = CreateNamedPipeW(wname, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
	    PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 4096, 4096,
	    0, &sa);
	*err = GetLastError();
	LocalFree(sa.lpSecurityDescriptor);
	if (*srv == INVALID_HANDLE_VALUE)
		return;
	*cli = CreateFileW(wname, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
	    SECURITY_SQOS_PRESENT | SECURITY_IMPERSONATION, NULL);
	assert_true(*cli != INVALID_HANDLE_VALUE);
}

/* The service's pipe security descriptor makes SYSTEM the owner, which the
 * client accepts. Wine keeps the owner asked for whoever the creator is;
 * Windows lets only SYSTEM (or SeRestorePrivilege) give it, so elsewhere
 * than in a LocalSystem test run creating it fails with 1307. */
static void
test_pipe_owned_by_system_passes_the_owner_check(void **state)
{
	struct lb_buf why;
	HANDLE srv, cli;
	DWORD err;

	(void)state;
	lb_buf_init(&why, WHY_MAX);
	pipe_pair(L"sys", LB_SDDL_PIPE, &srv, &cli, &err);
	if (srv == INVALID_HANDLE_VALUE) {
		assert_int_equal(err, ERROR_INVALID_OWNER);
		print_message("skipped: this process may not make SYSTEM a pipe's owner (Windows error "
		    "1307: not LocalSystem, SeRestorePrivilege not enabled)\n");
		lb_buf_free(&why);
		skip();
	}
	if (lb_client_win_pipe_owner_check(cli, &why) != LB_OK)
		fail_msg("%s", text(&why));
	CloseHandle(cli);
	CloseHandle(srv);
	lb_buf_free(&why);
}

/* A pipe made by anyone else is refused, naming its owner: here with the
 * service's old descriptor (no owner: the creator's default applies) and
 * with none at all (Wine then keeps no owner; Windows uses the token's). */
static void
test_pipe_owned_by_another_account_fails_the_owner_check(void **state)
{
	static const wchar_t *const sddl[] = {
		L"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x0012019b;;;AU)", NULL,
	};
	static const wchar_t *const tag[] = { L"old-sd", L"no-sd" };
	struct lb_buf why;
	HANDLE srv, cli;
	DWORD err;
	size_t i;

	(void)state;
	lb_buf_init(&why, WHY_MAX);
	for (i = 0; i < 2; i++) {
		pipe_pair(tag[i], sddl[i], &srv, &cli, &err);
		assert_true(srv != INVALID_HANDLE_VALUE);
		assert_int_equal(lb_client_win_pipe_owner_check(cli, &why), LB_E_NOT_GENUINE);
		if ((strstr(text(&why), "the pipe was not created by LocalSystem (its owner is S-1-") == NULL &&
		    strcmp(text(&why), "the pipe was not created by LocalSystem (it has no owner)") != 0) ||
		    strstr(text(&why), "its owner is S-1-5-18,") != NULL)
			fail_msg("%ls: %s", tag[i], text(&why));
		print_message("%ls: %s\n", tag[i], text(&why));
		CloseHandle(cli);
		CloseHandle(srv);
	}
	lb_buf_free(&why);
}

/* ---- lb_client_file_id (linkbroker list) ---- */

/* BASE\NAME as a new string, UTF-16 in *W and UTF-8 returned. */
static char *
path_under(const wchar_t *base, const wchar_t *name, wchar_t *w, size_t cap)
{
	char *u;

	assert_true(swprintf(w, cap, L"%ls\\%ls", base, name) > 0);
	assert_non_null(u = lb_win_utf8(w));
	return u;
}

/* W's identity computed here, the way the broker's identify records it. */
static void
id_by_hand(const wchar_t *w, char id[LB_CLIENT_FILE_ID_MAX])
{
	BY_HANDLE_FILE_INFORMATION bi;
	HANDLE h = CreateFileW(w, FILE_READ_ATTRIBUTES,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
	    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);

	assert_true(h != INVALID_HANDLE_VALUE);
	assert_true(GetFileInformationByHandle(h, &bi));
	CloseHandle(h);
	assert_true(snprintf(id, LB_CLIENT_FILE_ID_MAX, "%08lx:%08lx%08lx",
	    (unsigned long)bi.dwVolumeSerialNumber, (unsigned long)bi.nFileIndexHigh,
	    (unsigned long)bi.nFileIndexLow) > 0);
}

static void
test_file_id_is_the_files_identity_shared_by_its_hard_links(void **state)
{
	wchar_t base[MAX_PATH], a[MAX_PATH], b[MAX_PATH], c[MAX_PATH], u[MAX_PATH];
	char ida[LB_CLIENT_FILE_ID_MAX], idb[LB_CLIENT_FILE_ID_MAX];
	char idc[LB_CLIENT_FILE_ID_MAX], idu[LB_CLIENT_FILE_ID_MAX];
	char idd[LB_CLIENT_FILE_ID_MAX], want[LB_CLIENT_FILE_ID_MAX];
	char *pa, *pb, *pc, *pu, *pd;
	int is_link;

	(void)state;
	make_base(base, MAX_PATH);
	pa = path_under(base, L"a.txt", a, MAX_PATH);
	pb = path_under(base, L"b.txt", b, MAX_PATH);
	pc = path_under(base, L"c.txt", c, MAX_PATH);
	pu = path_under(base, L"\u00fcber \U0001F600.txt", u, MAX_PATH);
	assert_non_null(pd = lb_win_utf8(base));
	write_whole(a, "one", 3);
	write_whole(c, "two", 3);
	write_whole(u, "three", 5);
	assert_true(CreateHardLinkW(b, a, NULL));

	is_link = -1;
	assert_int_equal(lb_client_file_id(pa, ida, &is_link), LB_OK);
	assert_int_equal(is_link, 0);
	id_by_hand(a, want);
	assert_string_equal(ida, want);
	assert_true(lb_file_id_ok(ida, strlen(ida)));
	/* Two names of one file: one identity. */
	is_link = -1;
	assert_int_equal(lb_client_file_id(pb, idb, &is_link), LB_OK);
	assert_int_equal(is_link, 0);
	assert_string_equal(idb, ida);
	/* Another file: another. */
	assert_int_equal(lb_client_file_id(pc, idc, &is_link), LB_OK);
	assert_string_not_equal(idc, ida);
	id_by_hand(c, want);
	assert_string_equal(idc, want);
	/* A UTF-8 path beyond ASCII names the same file as its UTF-16 form. */
	assert_int_equal(lb_client_file_id(pu, idu, &is_link), LB_OK);
	id_by_hand(u, want);
	assert_string_equal(idu, want);
	/* A directory has one too, and is not a link. */
	is_link = -1;
	assert_int_equal(lb_client_file_id(pd, idd, &is_link), LB_OK);
	assert_int_equal(is_link, 0);
	id_by_hand(base, want);
	assert_string_equal(idd, want);

	assert_true(DeleteFileW(a));
	assert_true(DeleteFileW(b));
	assert_true(DeleteFileW(c));
	assert_true(DeleteFileW(u));
	assert_true(RemoveDirectoryW(base));
	free(pa);
	free(pb);
	free(pc);
	free(pu);
	free(pd);
}

static void
test_file_id_of_a_missing_path_is_noent(void **state)
{
	wchar_t base[MAX_PATH], w[MAX_PATH];
	char id[LB_CLIENT_FILE_ID_MAX], *p;
	int is_link = 0;

	(void)state;
	make_base(base, MAX_PATH);
	p = path_under(base, L"none.txt", w, MAX_PATH);
	assert_int_equal(lb_client_file_id(p, id, &is_link), LB_E_NOENT);
	free(p);
	/* ERROR_PATH_NOT_FOUND: a folder on the way is missing. */
	p = path_under(base, L"none\\x.txt", w, MAX_PATH);
	assert_int_equal(lb_client_file_id(p, id, &is_link), LB_E_NOENT);
	free(p);
	/* Not UTF-8: refused, not converted lossily. */
	assert_int_equal(lb_client_file_id("C:\\\xff.txt", id, &is_link), LB_E_INVAL);
	assert_int_equal(lb_client_file_id(NULL, id, &is_link), LB_E_INVAL);
	assert_true(RemoveDirectoryW(base));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_round_trip_stores_a_dpapi_blob_not_the_text),
		cmocka_unit_test(test_key_save_replaces_only_when_asked),
		cmocka_unit_test(test_key_load_without_a_key_is_noent),
		cmocka_unit_test(test_key_load_refuses_the_plain_text_format),
		cmocka_unit_test(test_key_load_refuses_a_tampered_blob),
		cmocka_unit_test(test_key_load_refuses_a_blob_sealed_without_the_entropy),
		cmocka_unit_test(test_write_to_a_file_is_the_utf8_bytes),
		cmocka_unit_test(test_time_is_unix_seconds_and_clock_is_monotonic),
		cmocka_unit_test(test_cwd_and_user_name_are_utf8_text),
		cmocka_unit_test(test_missing_pipe_is_unreachable),
		cmocka_unit_test(test_pipe_not_served_by_the_service_is_refused_before_sending),
		cmocka_unit_test(test_pipe_owned_by_system_passes_the_owner_check),
		cmocka_unit_test(test_pipe_owned_by_another_account_fails_the_owner_check),
		cmocka_unit_test(test_file_id_is_the_files_identity_shared_by_its_hard_links),
		cmocka_unit_test(test_file_id_of_a_missing_path_is_noent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
