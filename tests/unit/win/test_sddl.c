/* Unit tests for the security descriptors the Windows service puts on its
 * pipe and files (LB_SDDL_* in lb_win.h), checked byte by byte after
 * ConvertStringSecurityDescriptorToSecurityDescriptorW: owner, control
 * flags, and the exact ACE list (type, flags, mask, SID); the service's own
 * DACL as install extends it. Then lb_win_check_admin_file on files
 * lb_win_write_file made, and on files others may write, and
 * lb_win_ensure_dir on folders that exist already (checked, not re-ACL'd).
 * Wine keeps no security descriptor of its own: it maps the Unix owner and
 * mode to one (owner: our user or ANONYMOUS LOGON; "other" bits: an
 * Everyone ACE), so the negative cases check what Wine reports first and
 * skip, saying why, when the ACE they need is not there. */
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

#include "lb_win.h"

#define FILE_CREATE_PIPE_INSTANCE_BIT 0x00000004u   /* = FILE_APPEND_DATA */

struct ace_want {
	BYTE flags;
	ACCESS_MASK mask;
	const wchar_t *sid;
};

/* SDDL must convert to a self-relative SD with owner OWNER (NULL: none,
 * the creator's default applies) and no group, CONTROL set among the DACL
 * bits, and exactly the access-allowed ACEs in WANT, in order. */
static void
expect_sd(const wchar_t *sddl, const wchar_t *owner_sid, SECURITY_DESCRIPTOR_CONTROL control,
    const struct ace_want *want, size_t n)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	SECURITY_DESCRIPTOR_CONTROL ctl = 0;
	ACL_SIZE_INFORMATION ai;
	PSID owner = NULL, group = NULL;
	BOOL present = FALSE, defaulted = FALSE;
	PACL dacl = NULL;
	DWORD rev, i;

	assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL));
	assert_true(GetSecurityDescriptorControl(sd, &ctl, &rev));
	assert_int_equal(ctl & (SE_DACL_PRESENT | SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED |
	    SE_DACL_DEFAULTED), SE_DACL_PRESENT | control);
	assert_true(GetSecurityDescriptorOwner(sd, &owner, &defaulted));
	if (owner_sid == NULL) {
		assert_null(owner);
	} else {
		PSID want_owner = NULL;

		assert_non_null(owner);
		assert_false(defaulted);
		assert_true(ConvertStringSidToSidW(owner_sid, &want_owner));
		assert_true(EqualSid(owner, want_owner));
		LocalFree(want_owner);
	}
	assert_true(GetSecurityDescriptorGroup(sd, &group, &defaulted));
	assert_null(group);
	assert_true(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
	assert_true(present);
	assert_non_null(dacl);   /* a NULL DACL would let everyone in */
	assert_true(GetAclInformation(dacl, &ai, sizeof(ai), AclSizeInformation));
	assert_int_equal(ai.AceCount, n);
	for (i = 0; i < ai.AceCount; i++) {
		ACCESS_ALLOWED_ACE *ace = NULL;
		PSID sid = NULL;

		assert_true(GetAce(dacl, i, (void **)&ace));
		assert_int_equal(ace->Header.AceType, ACCESS_ALLOWED_ACE_TYPE);
		assert_int_equal(ace->Header.AceFlags, want[i].flags);
		assert_int_equal(ace->Mask, want[i].mask);
		assert_true(ConvertStringSidToSidW(want[i].sid, &sid));
		assert_true(EqualSid((PSID)&ace->SidStart, sid));
		LocalFree(sid);
	}
	LocalFree(sd);
}

static void
expect_dacl(const wchar_t *sddl, SECURITY_DESCRIPTOR_CONTROL control,
    const struct ace_want *want, size_t n)
{
	expect_sd(sddl, NULL, control, want, n);
}

/* No ACE of SDDL names SID. */
static void
expect_no_ace_for(const wchar_t *sddl, const wchar_t *sid_text)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	BOOL present, defaulted;
	PACL dacl = NULL;
	PSID sid = NULL;
	DWORD i;

	assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL));
	assert_true(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
	assert_true(ConvertStringSidToSidW(sid_text, &sid));
	for (i = 0; i < dacl->AceCount; i++) {
		ACCESS_ALLOWED_ACE *ace = NULL;

		assert_true(GetAce(dacl, i, (void **)&ace));
		assert_false(EqualSid((PSID)&ace->SidStart, sid));
	}
	LocalFree(sid);
	LocalFree(sd);
}

#define SID_SYSTEM L"S-1-5-18"
#define SID_ADMINS L"S-1-5-32-544"
#define SID_USERS L"S-1-5-32-545"
#define SID_AUTH_USERS L"S-1-5-11"
#define SID_EVERYONE L"S-1-1-0"
#define SID_ANONYMOUS L"S-1-5-7"
#define SID_INTERACTIVE L"S-1-5-4"

/* Owned by SYSTEM: the client refuses a pipe with any other owner. */
static void
test_pipe_sd_is_owned_by_system_and_gives_authenticated_users_read_write_but_not_new_instances(
    void **state)
{
	const struct ace_want want[] = {
		{ 0, GENERIC_ALL, SID_SYSTEM },
		{ 0, GENERIC_ALL, SID_ADMINS },
		{ 0, (FILE_GENERIC_READ | FILE_GENERIC_WRITE) & ~(ACCESS_MASK)FILE_CREATE_PIPE_INSTANCE_BIT,
		  SID_AUTH_USERS },
	};
	PSECURITY_DESCRIPTOR sd = NULL;
	BOOL present, defaulted;
	PACL dacl = NULL;
	ACCESS_ALLOWED_ACE *au = NULL;

	(void)state;
	assert_int_equal(want[2].mask, 0x0012019b);
	expect_sd(LB_SDDL_PIPE, SID_SYSTEM, SE_DACL_PROTECTED, want, 3);
	/* The bit that would let a user create a server instance of our pipe. */
	assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorW(LB_SDDL_PIPE, SDDL_REVISION_1,
	    &sd, NULL));
	assert_true(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
	assert_true(GetAce(dacl, 2, (void **)&au));
	assert_int_equal(au->Mask & FILE_CREATE_PIPE_INSTANCE_BIT, 0);
	assert_int_equal(au->Mask & (WRITE_DAC | WRITE_OWNER | DELETE | GENERIC_ALL), 0);
	LocalFree(sd);
	expect_no_ace_for(LB_SDDL_PIPE, SID_EVERYONE);
	expect_no_ace_for(LB_SDDL_PIPE, SID_ANONYMOUS);
	expect_no_ace_for(LB_SDDL_PIPE, SID_USERS);
}

static void
test_dir_sd_is_protected_admins_only_and_inherited_by_children(void **state)
{
	const struct ace_want want[] = {
		{ OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE, FILE_ALL_ACCESS, SID_SYSTEM },
		{ OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE, FILE_ALL_ACCESS, SID_ADMINS },
	};

	(void)state;
	assert_int_equal(FILE_ALL_ACCESS, 0x001f01ff);
	expect_dacl(LB_SDDL_DIR, SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED, want, 2);
	expect_no_ace_for(LB_SDDL_DIR, SID_USERS);
	expect_no_ace_for(LB_SDDL_DIR, SID_AUTH_USERS);
	expect_no_ace_for(LB_SDDL_DIR, SID_EVERYONE);
}

static void
test_private_sd_gives_users_nothing(void **state)
{
	const struct ace_want want[] = {
		{ 0, FILE_ALL_ACCESS, SID_SYSTEM },
		{ 0, FILE_ALL_ACCESS, SID_ADMINS },
	};

	(void)state;
	expect_dacl(LB_SDDL_PRIVATE, SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED, want, 2);
	expect_no_ace_for(LB_SDDL_PRIVATE, SID_USERS);
	expect_no_ace_for(LB_SDDL_PRIVATE, SID_AUTH_USERS);
	expect_no_ace_for(LB_SDDL_PRIVATE, SID_INTERACTIVE);
	expect_no_ace_for(LB_SDDL_PRIVATE, SID_EVERYONE);
}

static void
test_public_sd_gives_users_read_only(void **state)
{
	const struct ace_want want[] = {
		{ 0, FILE_ALL_ACCESS, SID_SYSTEM },
		{ 0, FILE_ALL_ACCESS, SID_ADMINS },
		{ 0, FILE_GENERIC_READ, SID_USERS },
	};

	(void)state;
	assert_int_equal(FILE_GENERIC_READ, 0x00120089);
	assert_int_equal(FILE_GENERIC_READ & (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA |
	    FILE_WRITE_ATTRIBUTES | DELETE | WRITE_DAC | WRITE_OWNER), 0);
	expect_dacl(LB_SDDL_PUBLIC, SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED, want, 3);
	expect_no_ace_for(LB_SDDL_PUBLIC, SID_EVERYONE);
	expect_no_ace_for(LB_SDDL_PUBLIC, SID_AUTH_USERS);
}

/* The DACL CreateService gives a new service (Windows 10/11, `sc sdshow`
 * of a fresh service; "Service Security and Access Rights": only
 * interactive and service logons get anything), which install extends. */
#define DEFAULT_SERVICE_SDDL L"D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)" \
    L"(A;;CCLCSWLOCRRC;;;IU)(A;;CCLCSWLOCRRC;;;SU)"

/* The ACEs of DACL, as SDDL ("D:(A;;...)..."), in BUF. */
static void
dacl_text(PACL dacl, wchar_t *buf, size_t cap)
{
	SECURITY_DESCRIPTOR sd;
	wchar_t *t = NULL;

	assert_true(InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION));
	assert_true(SetSecurityDescriptorDacl(&sd, TRUE, dacl, FALSE));
	assert_true(ConvertSecurityDescriptorToStringSecurityDescriptorW(&sd, SDDL_REVISION_1,
	    DACL_SECURITY_INFORMATION, &t, NULL));
	assert_true(swprintf(buf, cap, L"%ls", t) > 0);
	LocalFree(t);
}

static void
test_service_dacl_adds_query_status_for_authenticated_users_only(void **state)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	static const wchar_t *const old_aces[] = {
		L"(A;;CCLCSWRPWPDTLOCRRC;;;SY)", L"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)",
		L"(A;;CCLCSWLOCRRC;;;IU)", L"(A;;CCLCSWLOCRRC;;;SU)",
	};
	PACL in = NULL, once = NULL, twice = NULL;
	BOOL present, defaulted;
	wchar_t a[1024], b[1024], *au;
	size_t i;

	(void)state;
	assert_int_equal(SERVICE_QUERY_STATUS, 0x4);
	assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorW(DEFAULT_SERVICE_SDDL,
	    SDDL_REVISION_1, &sd, NULL));
	assert_true(GetSecurityDescriptorDacl(sd, &present, &in, &defaulted));
	assert_int_equal(lb_win_service_dacl_with_status(in, &once), ERROR_SUCCESS);
	/* Every old ACE kept, one new (SetEntriesInAcl picks the place):
	 * Authenticated Users, query status ("LC") and nothing else (no
	 * start, stop, config). */
	dacl_text(once, a, 1024);
	for (i = 0; i < sizeof(old_aces) / sizeof(old_aces[0]); i++)
		if (wcsstr(a, old_aces[i]) == NULL)
			fail_msg("%ls lost %ls", a, old_aces[i]);
	if (wcsstr(a, L"(A;;LC;;;AU)") == NULL || (au = wcsstr(a, L";AU)")) == NULL ||
	    wcsstr(au + 1, L";AU)") != NULL)
		fail_msg("want exactly one Authenticated Users ACE, (A;;LC;;;AU): %ls", a);
	assert_int_equal(once->AceCount, in->AceCount + 1);
	/* Install runs again on every update: nothing more to change. */
	assert_int_equal(lb_win_service_dacl_with_status(once, &twice), ERROR_SUCCESS);
	if (twice != NULL) {
		dacl_text(twice, b, 1024);
		fail_msg("changed again: %ls\nfirst: %ls", b, a);
	}
	LocalFree(once);
	LocalFree(sd);
}

static void
test_service_user_controls_are_for_administrators_only(void **state)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	PACL in = NULL;
	BOOL present, defaulted;
	wchar_t a[1024];

	(void)state;
	/* "CR": SERVICE_USER_DEFINED_CONTROL, what `linkbrokerd rotate` sends
	 * (LB_SVC_CONTROL_ROTATE); the default DACL grants it to INTERACTIVE
	 * and SERVICE logons. */
	assert_int_equal(SERVICE_USER_DEFINED_CONTROL, 0x100);
	assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorW(DEFAULT_SERVICE_SDDL
	    L"(A;;GA;;;AU)", SDDL_REVISION_1, &sd, NULL));
	assert_true(GetSecurityDescriptorDacl(sd, &present, &in, &defaulted));
	assert_int_equal(lb_win_service_dacl_admin_controls(in), ERROR_SUCCESS);
	dacl_text(in, a, 1024);
	/* SYSTEM and Administrators keep everything; the others lose CR (and
	 * a generic grant that would include it), nothing else. */
	if (wcsstr(a, L"(A;;CCLCSWRPWPDTLOCRRC;;;SY)") == NULL ||
	    wcsstr(a, L"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)") == NULL ||
	    wcsstr(a, L"(A;;CCLCSWLORC;;;IU)") == NULL || wcsstr(a, L"(A;;CCLCSWLORC;;;SU)") == NULL ||
	    wcsstr(a, L";;;AU)") == NULL || wcsstr(a, L"(A;;GA;;;AU)") != NULL)
		fail_msg("want CR for SY and BA only: %ls", a);
	assert_int_equal(lb_win_service_dacl_admin_controls(NULL), ERROR_INVALID_ACL);
	LocalFree(sd);
}

static void
test_service_dacl_refuses_a_null_dacl(void **state)
{
	PACL out = (PACL)1;

	(void)state;
	/* NULL is "everyone may do anything": it must not become "only
	 * Authenticated Users may query status" by accident. */
	assert_int_equal(lb_win_service_dacl_with_status(NULL, &out), ERROR_INVALID_ACL);
	assert_null(out);
}

/* ---- lb_win_check_admin_file on real files ---- */

static char test_dir[MAX_PATH * 3];
static wchar_t my_sddl_dir[512], my_sddl_file[512];

/* This process's user SID as text (the test may run unelevated on
 * Windows: the files must stay ours to write and remove). */
static void
my_sid(wchar_t *out, size_t n)
{
	BYTE tu[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
	wchar_t *s = NULL;
	HANDLE tok;
	DWORD len;

	assert_true(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok));
	assert_true(GetTokenInformation(tok, TokenUser, tu, sizeof(tu), &len));
	CloseHandle(tok);
	assert_true(ConvertSidToStringSidW(((TOKEN_USER *)(void *)tu)->User.Sid, &s));
	swprintf(out, n, L"%ls", s);
	LocalFree(s);
}

static int
setup_dir(void **state)
{
	wchar_t tmp[MAX_PATH + 1], sid[200];
	char *u8;
	char err[512];

	(void)state;
	my_sid(sid, sizeof(sid) / sizeof(sid[0]));
	swprintf(my_sddl_dir, sizeof(my_sddl_dir) / sizeof(my_sddl_dir[0]),
	    L"D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;%ls)", sid);
	swprintf(my_sddl_file, sizeof(my_sddl_file) / sizeof(my_sddl_file[0]),
	    L"D:PAI(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;%ls)", sid);
	if (GetTempPathW(MAX_PATH, tmp) == 0 || (u8 = lb_win_utf8(tmp)) == NULL)
		return -1;
	snprintf(test_dir, sizeof(test_dir), "%slb-test-sddl-%lu", u8, (unsigned long)GetCurrentProcessId());
	free(u8);
	if (lb_win_ensure_dir(test_dir, my_sddl_dir, err, sizeof(err)) != LB_OK) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	return 0;
}

static void
remove_tree(const char *dir)
{
	wchar_t *w = lb_win_wide(dir), pat[MAX_PATH * 2], f[MAX_PATH * 2];
	WIN32_FIND_DATAW fd;
	HANDLE h;

	if (w == NULL)
		return;
	swprintf(pat, MAX_PATH * 2, L"%ls\\*", w);
	if ((h = FindFirstFileW(pat, &fd)) != INVALID_HANDLE_VALUE) {
		do {
			if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
				continue;
			swprintf(f, MAX_PATH * 2, L"%ls\\%ls", w, fd.cFileName);
			if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
				char *u = lb_win_utf8(f);

				if (u != NULL)
					remove_tree(u);
				free(u);
			} else {
				DeleteFileW(f);
			}
		} while (FindNextFileW(h, &fd));
		FindClose(h);
	}
	RemoveDirectoryW(w);
	free(w);
}

static int
teardown_dir(void **state)
{
	(void)state;
	remove_tree(test_dir);
	return 0;
}

static void
path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s\\%s", test_dir, name);
}

/* Does the file system report an allowed ACE for Everyone with a write bit? */
static int
reports_everyone_write(const char *path)
{
	wchar_t *w = lb_win_wide(path);
	PSECURITY_DESCRIPTOR sd = NULL;
	PACL dacl = NULL;
	PSID everyone = NULL;
	DWORD i;
	int found = 0;

	assert_non_null(w);
	assert_int_equal(GetNamedSecurityInfoW(w, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL,
	    &dacl, NULL, &sd), ERROR_SUCCESS);
	assert_true(ConvertStringSidToSidW(SID_EVERYONE, &everyone));
	for (i = 0; dacl != NULL && i < dacl->AceCount; i++) {
		ACCESS_ALLOWED_ACE *ace = NULL;

		assert_true(GetAce(dacl, i, (void **)&ace));
		if (ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE && EqualSid((PSID)&ace->SidStart, everyone) &&
		    (ace->Mask & (FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_WRITE | GENERIC_ALL)) != 0)
			found = 1;
	}
	LocalFree(everyone);
	LocalFree(sd);
	free(w);
	return found;
}

static void
test_files_written_with_private_and_public_sd_pass_the_admin_check(void **state)
{
	static const char text[] = "[broker]\n";
	char p1[MAX_PATH * 3], p2[MAX_PATH * 3], err[512] = "";

	(void)state;
	path_in(p1, sizeof(p1), "private.txt");
	path_in(p2, sizeof(p2), "public.txt");
	assert_int_equal(lb_win_write_file(p1, text, sizeof(text) - 1, LB_SDDL_PRIVATE, err, sizeof(err)), LB_OK);
	assert_int_equal(lb_win_write_file(p2, text, sizeof(text) - 1, LB_SDDL_PUBLIC, err, sizeof(err)), LB_OK);
	/* Replacing an existing file goes through the same temporary + rename. */
	assert_int_equal(lb_win_write_file(p2, text, sizeof(text) - 1, LB_SDDL_PUBLIC, err, sizeof(err)), LB_OK);
	if (lb_win_check_admin_file(p1, err, sizeof(err)) != LB_OK)
		fail_msg("private: %s", err);
	if (lb_win_check_admin_file(p2, err, sizeof(err)) != LB_OK)
		fail_msg("public: %s", err);
}

static void
test_file_everyone_may_write_fails_the_admin_check(void **state)
{
	char p[MAX_PATH * 3], err[512] = "";
	wchar_t sddl[600];

	(void)state;
	path_in(p, sizeof(p), "everyone.txt");
	swprintf(sddl, sizeof(sddl) / sizeof(sddl[0]), L"%ls(A;;FA;;;WD)", my_sddl_file);
	assert_int_equal(lb_win_write_file(p, "x", 1, sddl, err, sizeof(err)), LB_OK);
	if (!reports_everyone_write(p)) {
		print_message("skipped: the file system did not keep the Everyone-write ACE "
		    "(Wine derives security descriptors from Unix modes)\n");
		skip();
	}
	assert_int_equal(lb_win_check_admin_file(p, err, sizeof(err)), LB_E_PERM);
	assert_non_null(strstr(err, "Everyone"));
	assert_non_null(strstr(err, "the broker refuses a policy file non-admins can write"));
}

static void
test_file_in_a_directory_everyone_may_write_fails_the_admin_check(void **state)
{
	char d[MAX_PATH * 3], p[MAX_PATH * 3], err[512] = "";
	wchar_t sddl[600];
	int r;

	(void)state;
	path_in(d, sizeof(d), "open-dir");
	swprintf(sddl, sizeof(sddl) / sizeof(sddl[0]), L"%ls(A;OICI;FA;;;WD)", my_sddl_dir);
	/* Made, then refused when its ACL is read back. */
	r = lb_win_ensure_dir(d, sddl, err, sizeof(err));
	snprintf(p, sizeof(p), "%s\\policy.ini", d);
	assert_int_equal(lb_win_write_file(p, "x", 1, my_sddl_file, err, sizeof(err)), LB_OK);
	if (!reports_everyone_write(d)) {
		print_message("skipped: the file system did not keep the Everyone ACE on the directory "
		    "(Wine derives security descriptors from Unix modes)\n");
		skip();
	}
	assert_int_equal(r, LB_E_PERM);
	assert_int_equal(lb_win_check_admin_file(p, err, sizeof(err)), LB_E_PERM);
	assert_non_null(strstr(err, "directory"));
	assert_non_null(strstr(err, "Everyone"));
}

/* PATH's owner and DACL as SDDL, in BUF. */
static void
path_sd_text(const char *path, wchar_t *buf, size_t cap)
{
	const SECURITY_INFORMATION si = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
	wchar_t *w = lb_win_wide(path), *t = NULL;
	PSECURITY_DESCRIPTOR sd = NULL;

	assert_non_null(w);
	assert_int_equal(GetNamedSecurityInfoW(w, SE_FILE_OBJECT, si, NULL, NULL, NULL, NULL, &sd),
	    ERROR_SUCCESS);
	assert_true(ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1, si, &t, NULL));
	assert_true(swprintf(buf, cap, L"%ls", t) > 0);
	LocalFree(t);
	LocalFree(sd);
	free(w);
}

/* A folder the policy names (audit_log = D:\logs\audit.log) that exists
 * already, admin-only but not with the broker's ACL: taken as it is. */
static void
test_existing_folder_outside_the_data_dir_keeps_its_acl_and_content(void **state)
{
	char d[MAX_PATH * 3], f[MAX_PATH * 3], err[512] = "";
	wchar_t d0[2048], f0[2048], d1[2048], f1[2048];

	(void)state;
	path_in(d, sizeof(d), "logs");
	snprintf(f, sizeof(f), "%s\\old.log", d);
	/* Made with the broker's own call, then given another admin-only
	 * ACL (ours plus this user) the way an admin would. */
	assert_int_equal(lb_win_ensure_dir(d, my_sddl_dir, err, sizeof(err)), LB_OK);
	assert_int_equal(lb_win_write_file(f, "x", 1, my_sddl_file, err, sizeof(err)), LB_OK);
	path_sd_text(d, d0, 2048);
	path_sd_text(f, f0, 2048);
	if (lb_win_ensure_dir(d, LB_SDDL_DIR, err, sizeof(err)) != LB_OK)
		fail_msg("%s", err);
	path_sd_text(d, d1, 2048);
	path_sd_text(f, f1, 2048);
	if (wcscmp(d0, d1) != 0)
		fail_msg("the folder was re-ACL'd: %ls -> %ls", d0, d1);
	if (wcscmp(f0, f1) != 0)
		fail_msg("a file in it was re-ACL'd: %ls -> %ls", f0, f1);
	assert_int_equal(lb_win_check_admin_file(f, err, sizeof(err)), LB_OK);
}

/* An existing folder everyone may write is refused, and left as it was
 * (the old code "fixed" it: a folder of someone else's, and its tree). */
static void
test_existing_folder_everyone_may_write_is_refused_not_fixed(void **state)
{
	char d[MAX_PATH * 3], err[512] = "";
	wchar_t sddl[600], *w;
	PSECURITY_DESCRIPTOR sd = NULL;
	PACL dacl = NULL;
	BOOL present, defaulted;
	DWORD e;

	(void)state;
	path_in(d, sizeof(d), "open-logs");
	assert_non_null(w = lb_win_wide(d));
	assert_true(CreateDirectoryW(w, NULL));
	/* Set afterwards: Wine creates with the umask, but SetSecurityInfo
	 * sets the Unix mode from the DACL (Everyone: o+w). */
	swprintf(sddl, sizeof(sddl) / sizeof(sddl[0]), L"%ls(A;OICI;FA;;;WD)", my_sddl_dir);
	assert_true(ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL));
	assert_true(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
	e = SetNamedSecurityInfoW(w, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION |
	    PROTECTED_DACL_SECURITY_INFORMATION, NULL, NULL, dacl, NULL);
	LocalFree(sd);
	free(w);
	assert_int_equal(e, ERROR_SUCCESS);
	if (!reports_everyone_write(d)) {
		print_message("skipped: the file system did not keep the Everyone ACE on the directory\n");
		skip();
	}
	assert_int_equal(lb_win_ensure_dir(d, LB_SDDL_DIR, err, sizeof(err)), LB_E_PERM);
	assert_non_null(strstr(err, "Everyone"));
	assert_non_null(strstr(err, "sets the ACL of no existing folder but %ProgramData%\\LinkBroker"));
	assert_true(reports_everyone_write(d));
}

static void
test_directory_is_not_an_admin_file(void **state)
{
	char err[512] = "";

	(void)state;
	assert_int_not_equal(lb_win_check_admin_file(test_dir, err, sizeof(err)), LB_OK);
	assert_non_null(strstr(err, "not a regular file"));
}

static void
test_missing_file_is_noent(void **state)
{
	char p[MAX_PATH * 3], err[512] = "";

	(void)state;
	path_in(p, sizeof(p), "missing.ini");
	assert_int_equal(lb_win_check_admin_file(p, err, sizeof(err)), LB_E_NOENT);
}

static void
test_policy_errors_are_file_colon_line(void **state)
{
	static const char bad[] = "[broker]\n[nonsense]\n";
	char p[MAX_PATH * 3], err[512] = "", want[MAX_PATH * 3 + 8];
	struct lb_policy *pol = NULL;
	struct lb_buf e;
	const char *msg = NULL;

	(void)state;
	path_in(p, sizeof(p), "bad.ini");
	assert_int_equal(lb_win_write_file(p, bad, sizeof(bad) - 1, LB_SDDL_PUBLIC, err, sizeof(err)), LB_OK);
	lb_buf_init(&e, 65536);
	assert_int_equal(lb_win_load_policy(p, &pol, &e), LB_E_CONFIG);
	assert_null(pol);
	assert_int_equal(lb_buf_cstr(&e, &msg), LB_OK);
	snprintf(want, sizeof(want), "%s:2: ", p);
	assert_memory_equal(msg, want, strlen(want));
	lb_buf_free(&e);
}

static void
test_policy_directory_becomes_a_floor(void **state)
{
	static const char good[] =
	    "[broker]\n"
	    "audit_log = C:\\ProgramData\\LinkBroker\\audit.log\n";
	char p[MAX_PATH * 3], err[512] = "";
	struct lb_policy *pol = NULL;
	struct lb_buf e;
	const char *msg = NULL;
	size_t i;
	int found = 0;

	(void)state;
	path_in(p, sizeof(p), "good.ini");
	assert_int_equal(lb_win_write_file(p, good, sizeof(good) - 1, LB_SDDL_PUBLIC, err, sizeof(err)), LB_OK);
	lb_buf_init(&e, 65536);
	if (lb_win_load_policy(p, &pol, &e) != LB_OK) {
		if (lb_buf_cstr(&e, &msg) != LB_OK)
			msg = "?";
		fail_msg("%s", msg);
	}
	for (i = 0; i < pol->n_floors; i++)
		if (_stricmp(pol->floors[i].dir.s, test_dir) == 0)
			found = 1;
	assert_true(found);
	lb_policy_free(pol);
	lb_buf_free(&e);
}

int
main(void)
{
	const struct CMUnitTest sddl[] = {
		cmocka_unit_test(
		    test_pipe_sd_is_owned_by_system_and_gives_authenticated_users_read_write_but_not_new_instances),
		cmocka_unit_test(test_service_dacl_adds_query_status_for_authenticated_users_only),
		cmocka_unit_test(test_service_dacl_refuses_a_null_dacl),
		cmocka_unit_test(test_service_user_controls_are_for_administrators_only),
		cmocka_unit_test(test_dir_sd_is_protected_admins_only_and_inherited_by_children),
		cmocka_unit_test(test_private_sd_gives_users_nothing),
		cmocka_unit_test(test_public_sd_gives_users_read_only),
	};
	const struct CMUnitTest files[] = {
		cmocka_unit_test(test_files_written_with_private_and_public_sd_pass_the_admin_check),
		cmocka_unit_test(test_file_everyone_may_write_fails_the_admin_check),
		cmocka_unit_test(test_file_in_a_directory_everyone_may_write_fails_the_admin_check),
		cmocka_unit_test(test_existing_folder_outside_the_data_dir_keeps_its_acl_and_content),
		cmocka_unit_test(test_existing_folder_everyone_may_write_is_refused_not_fixed),
		cmocka_unit_test(test_directory_is_not_an_admin_file),
		cmocka_unit_test(test_missing_file_is_noent),
		cmocka_unit_test(test_policy_errors_are_file_colon_line),
		cmocka_unit_test(test_policy_directory_becomes_a_floor),
	};
	int r = cmocka_run_group_tests(sddl, NULL, NULL);

	return r + cmocka_run_group_tests(files, setup_dir, teardown_dir);
}
