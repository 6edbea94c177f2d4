/* Tests for lb_fs_win (lb_win_fs_ops) on a real file system: under Wine
 * and, unchanged, on Windows. The client is this process itself, through
 * an impersonation-level copy of its own token, as the service would hold
 * a pipe client's. Wine has no reparse points: there symbolic links and
 * junctions must fail cleanly and leave nothing behind; on Windows they
 * must exist with the right tag and owner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <windows.h>
#include <aclapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_path.h"
#include "lb_reparse.h"
#include "lb_win.h"

#define LB_TAG_SYMLINK 0xA000000Cu
#define LB_TAG_JUNCTION 0xA0000003u

struct fixture {
	struct lb_win_peer wp;
	wchar_t dirw[MAX_PATH];       /* the temporary directory, no trailing "\" */
	char *dir;                    /* the same, UTF-8 */
	char *final;                  /* its final path without "\\?\" */
	int wine;
};

static struct fixture fx;

/* ---- helpers ---------------------------------------------------------- */

static char *
u8(const wchar_t *w)
{
	char *s = lb_win_utf8(w);

	assert_non_null(s);
	return s;
}

static wchar_t *
wide(const char *s)
{
	wchar_t *w = lb_win_wide(s);

	assert_non_null(w);
	return w;
}

/* "DIR\REST" as a canonical Windows lb_path. */
static void
path_in(const char *rest, struct lb_path *p)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s\\%s", fx.dir, rest);
	assert_int_equal(lb_path_canon(LB_FLAVOR_WINDOWS, buf, strlen(buf), p), LB_OK);
}

static wchar_t *
wpath_in(const char *rest)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s\\%s", fx.dir, rest);
	return wide(buf);
}

static int
exists(const char *rest)
{
	wchar_t *w = wpath_in(rest);
	DWORD a = GetFileAttributesW(w);

	free(w);
	return a != INVALID_FILE_ATTRIBUTES;
}

static void
write_file(const char *rest, const char *content)
{
	wchar_t *w = wpath_in(rest);
	HANDLE h = CreateFileW(w, GENERIC_WRITE, 0, NULL, CREATE_NEW,
	    FILE_ATTRIBUTE_NORMAL, NULL);
	DWORD n = 0;

	free(w);
	assert_true(h != INVALID_HANDLE_VALUE);
	assert_true(WriteFile(h, content, (DWORD)strlen(content), &n, NULL));
	assert_int_equal(n, strlen(content));
	CloseHandle(h);
}

static DWORD
link_count(const char *rest)
{
	wchar_t *w = wpath_in(rest);
	BY_HANDLE_FILE_INFORMATION bi;
	HANDLE h = CreateFileW(w, FILE_READ_ATTRIBUTES,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
	    OPEN_EXISTING, 0, NULL);

	free(w);
	assert_true(h != INVALID_HANDLE_VALUE);
	assert_true(GetFileInformationByHandle(h, &bi));
	CloseHandle(h);
	return bi.nNumberOfLinks;
}

/* The final path of an existing file or directory, without "\\?\". */
static char *
final_of(const wchar_t *w)
{
	wchar_t buf[1024];
	HANDLE h = CreateFileW(w, FILE_READ_ATTRIBUTES,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
	    OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	DWORD n;

	assert_true(h != INVALID_HANDLE_VALUE);
	n = GetFinalPathNameByHandleW(h, buf, 1024, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
	CloseHandle(h);
	assert_true(n > 4 && n < 1024);
	assert_memory_equal(buf, L"\\\\?\\", 4 * sizeof(wchar_t));
	return u8(buf + 4);
}

/* Open DIR\LINKNAME's parent for the client (the fixture's peer). */
static void *
open_dir(const char *linkname)
{
	struct lb_path link = { 0 }, res = { 0 };
	void *d = NULL;

	path_in(linkname, &link);
	assert_int_equal(lb_win_fs_ops.open_parent(&fx.wp.peer, &link, &d, &res), LB_OK);
	assert_non_null(d);
	assert_string_equal(res.s, fx.final);
	lb_path_free(&link);
	lb_path_free(&res);
	return d;
}

/* ---- setup ---------------------------------------------------------------- */

static int
setup(void **state)
{
	wchar_t tmp[MAX_PATH];
	HANDLE proc = NULL;
	DWORD n;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	fx.wine = lb_win_is_wine();
	n = GetTempPathW(MAX_PATH, tmp);
	if (n == 0 || n >= MAX_PATH - 40)
		return -1;
	swprintf(fx.dirw, MAX_PATH, L"%lslbfs-%lu-%lu", tmp,
	    (unsigned long)GetCurrentProcessId(), (unsigned long)GetTickCount());
	if (!CreateDirectoryW(fx.dirw, NULL))
		return -1;
	fx.dir = lb_win_utf8(fx.dirw);
	fx.final = final_of(fx.dirw);
	/* The client: this process's own token as an impersonation token,
	 * what ImpersonateNamedPipeClient gives the service. */
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_DUPLICATE | TOKEN_QUERY, &proc) ||
	    !DuplicateTokenEx(proc, TOKEN_QUERY | TOKEN_IMPERSONATE | TOKEN_DUPLICATE,
	    NULL, SecurityImpersonation, TokenImpersonation, &fx.wp.token))
		return -1;
	CloseHandle(proc);
	fx.wp.peer.plat = &fx.wp;
	print_message("temporary directory %s, final path %s%s\n", fx.dir, fx.final,
	    fx.wine ? " (under Wine)" : "");
	return 0;
}

static void
rm_tree_entry(const wchar_t *name)
{
	wchar_t p[MAX_PATH];
	DWORD a;

	swprintf(p, MAX_PATH, L"%ls\\%ls", fx.dirw, name);
	a = GetFileAttributesW(p);
	if (a == INVALID_FILE_ATTRIBUTES)
		return;
	if (a & FILE_ATTRIBUTE_DIRECTORY)
		RemoveDirectoryW(p);        /* also a junction / directory link itself */
	else
		DeleteFileW(p);
}

static int
teardown(void **state)
{
	static const wchar_t *names[] = {
		L"hl", L"target.txt", L"t2.txt", L"t3.txt", L"sub", L"sl", L"dl",
		L"jn", L"bad",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		rm_tree_entry(names[i]);
	RemoveDirectoryW(fx.dirw);
	if (fx.wp.token != NULL)
		CloseHandle(fx.wp.token);
	free(fx.dir);
	free(fx.final);
	return 0;
}

/* ---- open_parent -------------------------------------------------------- */

static void
test_open_parent_resolves_to_the_directorys_final_path(void **state)
{
	void *d;

	(void)state;
	d = open_dir("x");            /* checks resolved == final path */
	lb_win_fs_ops.close(d);
}

static void
test_open_parent_of_a_missing_directory_is_noent(void **state)
{
	struct lb_path link = { 0 }, res = { 0 };
	void *d = (void *)1;

	(void)state;
	path_in("missing\\x", &link);
	assert_int_equal(lb_win_fs_ops.open_parent(&fx.wp.peer, &link, &d, &res), LB_E_NOENT);
	assert_null(d);
	assert_null(res.s);
	lb_path_free(&link);
}

static void
test_open_parent_of_a_file_is_not_a_directory(void **state)
{
	struct lb_path link = { 0 }, res = { 0 };
	void *d = NULL;

	(void)state;
	write_file("target.txt", "data");
	path_in("target.txt\\x", &link);
	assert_int_equal(lb_win_fs_ops.open_parent(&fx.wp.peer, &link, &d, &res), LB_E_NOT_DIR);
	assert_null(d);
	lb_path_free(&link);
	rm_tree_entry(L"target.txt");
}

static void
test_open_parent_refuses_relative_and_posix_paths(void **state)
{
	struct lb_path link = { 0 }, res = { 0 };
	void *d = NULL;

	(void)state;
	assert_int_equal(lb_path_canon(LB_FLAVOR_WINDOWS, "a\\b", 3, &link), LB_OK);
	assert_int_equal(lb_win_fs_ops.open_parent(&fx.wp.peer, &link, &d, &res),
	    LB_E_PATH_RELATIVE);
	lb_path_free(&link);
	assert_int_equal(lb_path_canon(LB_FLAVOR_WINDOWS, "\\a\\b", 4, &link), LB_OK);
	assert_int_equal(lb_win_fs_ops.open_parent(&fx.wp.peer, &link, &d, &res),
	    LB_E_PATH_RELATIVE);
	lb_path_free(&link);
	assert_int_equal(lb_path_canon(LB_FLAVOR_POSIX, "/tmp/x", 6, &link), LB_OK);
	assert_int_equal(lb_win_fs_ops.open_parent(&fx.wp.peer, &link, &d, &res), LB_E_INVAL);
	lb_path_free(&link);
	assert_null(d);
}

static void
test_open_parent_without_a_client_token_is_refused(void **state)
{
	struct lb_path link = { 0 }, res = { 0 };
	struct lb_peer nobody = { 0 };
	void *d = NULL;

	(void)state;
	path_in("x", &link);
	assert_int_equal(lb_win_fs_ops.open_parent(&nobody, &link, &d, &res), LB_E_INVAL);
	assert_null(d);
	lb_path_free(&link);
}

/* ---- hard links ---------------------------------------------------------- */

static void
test_hardlink_is_made_counted_refused_twice_and_removed(void **state)
{
	struct lb_path target = { 0 }, res = { 0 };
	void *d, *f = NULL;
	char *want;
	wchar_t *tw;

	(void)state;
	write_file("target.txt", "hello");
	path_in("target.txt", &target);
	assert_int_equal(lb_win_fs_ops.open_target(&fx.wp.peer, &target, &f, &res), LB_OK);
	tw = wpath_in("target.txt");
	want = final_of(tw);
	assert_string_equal(res.s, want);
	d = open_dir("hl");

	assert_int_equal(lb_win_fs_ops.create(&fx.wp.peer, d, "hl", LB_KIND_HARDLINK,
	    NULL, f), LB_OK);
	assert_true(exists("hl"));
	assert_int_equal(link_count("target.txt"), 2);
	assert_int_equal(link_count("hl"), 2);
	/* Never replaces anything. */
	assert_int_equal(lb_win_fs_ops.create(&fx.wp.peer, d, "hl", LB_KIND_HARDLINK,
	    NULL, f), LB_E_EXISTS);
	assert_int_equal(link_count("target.txt"), 2);
	assert_int_equal(lb_win_fs_ops.create(&fx.wp.peer, d, "target.txt",
	    LB_KIND_HARDLINK, NULL, f), LB_E_EXISTS);

	/* As the broker does: the target's handle is closed before a remove.
	 * (Windows 10 NTFS removes the name at once even with it open: POSIX
	 * delete semantics; Wine 8 accepts the flag but deletes on last close.) */
	lb_win_fs_ops.close(f);
	assert_int_equal(lb_win_fs_ops.remove(&fx.wp.peer, d, "hl"), LB_OK);
	assert_false(exists("hl"));
	assert_true(exists("target.txt"));
	assert_int_equal(link_count("target.txt"), 1);
	assert_int_equal(lb_win_fs_ops.remove(&fx.wp.peer, d, "hl"), LB_E_NOENT);

	lb_win_fs_ops.close(d);
	lb_path_free(&target);
	lb_path_free(&res);
	free(want);
	free(tw);
	rm_tree_entry(L"target.txt");
}

static void
test_open_target_refuses_a_directory_and_a_missing_file(void **state)
{
	struct lb_path target = { 0 }, res = { 0 };
	wchar_t *w = wpath_in("sub");
	void *f = NULL;

	(void)state;
	assert_true(CreateDirectoryW(w, NULL));
	path_in("sub", &target);
	assert_int_equal(lb_win_fs_ops.open_target(&fx.wp.peer, &target, &f, &res), LB_E_PERM);
	assert_null(f);
	assert_null(res.s);
	lb_path_free(&target);
	path_in("nothing.txt", &target);
	assert_int_equal(lb_win_fs_ops.open_target(&fx.wp.peer, &target, &f, &res), LB_E_NOENT);
	assert_null(f);
	lb_path_free(&target);
	assert_true(RemoveDirectoryW(w));
	free(w);
}

static void
test_create_refuses_names_that_are_not_one_plain_component(void **state)
{
	static const char *bad[] = {
		"", ".", "..", "a\\b", "a/b", "..\\bad", "con", "bad:stream",
		"bad.", "bad ", "C:\\bad",
	};
	struct lb_path target = { 0 }, res = { 0 };
	void *d, *f = NULL;
	size_t i;

	(void)state;
	write_file("t2.txt", "x");
	path_in("t2.txt", &target);
	assert_int_equal(lb_win_fs_ops.open_target(&fx.wp.peer, &target, &f, &res), LB_OK);
	d = open_dir("x");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(lb_win_fs_ops.create(&fx.wp.peer, d, bad[i],
		    LB_KIND_HARDLINK, NULL, f), LB_OK);
		assert_int_not_equal(lb_win_fs_ops.remove(&fx.wp.peer, d, bad[i]), LB_OK);
	}
	assert_false(exists("bad"));
	assert_int_equal(link_count("t2.txt"), 1);
	assert_int_equal(lb_win_fs_ops.create(&fx.wp.peer, d, NULL, LB_KIND_HARDLINK,
	    NULL, f), LB_E_INVAL);
	assert_int_equal(lb_win_fs_ops.create(&fx.wp.peer, d, "hl", LB_KIND_HARDLINK,
	    NULL, NULL), LB_E_INVAL);
	assert_false(exists("hl"));
	lb_win_fs_ops.close(f);
	lb_win_fs_ops.close(d);
	lb_path_free(&target);
	lb_path_free(&res);
	rm_tree_entry(L"t2.txt");
}

/* ---- reparse points -------------------------------------------------------- */

static DWORD
reparse_tag(const char *rest, DWORD *attrs)
{
	wchar_t *w = wpath_in(rest);
	WIN32_FIND_DATAW fd;
	HANDLE h = FindFirstFileW(w, &fd);

	free(w);
	assert_true(h != INVALID_HANDLE_VALUE);
	FindClose(h);
	*attrs = fd.dwFileAttributes;
	return (fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) ? fd.dwReserved0 : 0;
}

/* On Windows: the link's owner is the client (this process's user). */
static void
assert_owned_by_client(const char *rest)
{
	wchar_t *w = wpath_in(rest);
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID owner = NULL;
	TOKEN_USER *tu;
	DWORD need = 0;
	HANDLE h = CreateFileW(w, READ_CONTROL, FILE_SHARE_READ | FILE_SHARE_WRITE |
	    FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
	    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);

	free(w);
	assert_true(h != INVALID_HANDLE_VALUE);
	assert_int_equal(GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION,
	    &owner, NULL, NULL, NULL, &sd), ERROR_SUCCESS);
	CloseHandle(h);
	GetTokenInformation(fx.wp.token, TokenUser, NULL, 0, &need);
	assert_non_null(tu = malloc(need));
	assert_true(GetTokenInformation(fx.wp.token, TokenUser, tu, need, &need));
	assert_true(EqualSid(owner, tu->User.Sid));
	free(tu);
	LocalFree(sd);
}

struct reparse_case {
	const char *name;
	enum lb_kind kind;
	const char *target;           /* NULL: the temporary directory itself */
	DWORD tag;
	int is_dir;
};

static void
test_symlinks_and_junctions_are_made_or_fail_cleanly(void **state)
{
	const struct reparse_case cases[] = {
		{ "sl", LB_KIND_SYMLINK, "t3.txt", LB_TAG_SYMLINK, 0 },
		{ "dl", LB_KIND_DIRSYMLINK, "..", LB_TAG_SYMLINK, 1 },
		{ "jn", LB_KIND_JUNCTION, NULL, LB_TAG_JUNCTION, 1 },
	};
	DWORD attrs, tag;
	size_t i;
	void *d;
	int rc, skipped = 0;

	(void)state;
	write_file("t3.txt", "x");
	d = open_dir("x");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct reparse_case *c = &cases[i];

		rc = lb_win_fs_ops.create(&fx.wp.peer, d, c->name, c->kind,
		    c->target != NULL ? c->target : fx.final, NULL);
		if (fx.wine) {
			/* Wine 8: FSCTL_SET_REPARSE_POINT is not supported; the
			 * empty file or directory made first must be gone. */
			assert_int_equal(rc, LB_E_UNSUPPORTED);
			assert_false(exists(c->name));
			skipped = 1;
			continue;
		}
		if (rc == LB_E_PERM) {
			print_message("%s: the test process lacks SeCreateSymbolicLinkPrivilege "
			    "or SeRestorePrivilege (run it elevated)\n", c->name);
			assert_false(exists(c->name));
			skipped = 1;
			continue;
		}
		assert_int_equal(rc, LB_OK);
		tag = reparse_tag(c->name, &attrs);
		assert_int_equal(tag, c->tag);
		assert_int_equal((attrs & FILE_ATTRIBUTE_DIRECTORY) != 0, c->is_dir);
		assert_owned_by_client(c->name);
		assert_int_equal(lb_win_fs_ops.create(&fx.wp.peer, d, c->name, c->kind,
		    c->target != NULL ? c->target : fx.final, NULL), LB_E_EXISTS);
		assert_int_equal(lb_win_fs_ops.remove(&fx.wp.peer, d, c->name), LB_OK);
		assert_false(exists(c->name));
	}
	/* The target of the links was never touched. */
	assert_true(exists("t3.txt"));
	assert_int_equal(link_count("t3.txt"), 1);
	lb_win_fs_ops.close(d);
	rm_tree_entry(L"t3.txt");
	if (skipped && fx.wine) {
		print_message("SKIP reason: Wine 8 has no reparse points "
		    "(FSCTL_SET_REPARSE_POINT is not supported): only the clean "
		    "failure was checked, not the links, their tags or owners\n");
		skip();
	} else if (skipped) {
		print_message("SKIP reason: the links could not be made without the "
		    "privileges\n");
		skip();
	}
}

static void
test_bad_link_targets_are_refused_before_anything_is_made(void **state)
{
	void *d;

	(void)state;
	d = open_dir("x");
	/* A junction needs a local absolute directory. */
	assert_int_equal(lb_win_fs_ops.create(&fx.wp.peer, d, "bad", LB_KIND_JUNCTION,
	    "rel\\dir", NULL), LB_E_INVAL);
	assert_int_equal(lb_win_fs_ops.create(&fx.wp.peer, d, "bad", LB_KIND_JUNCTION,
	    "\\\\srv\\share\\d", NULL), LB_E_INVAL);
	assert_int_equal(lb_win_fs_ops.create(&fx.wp.peer, d, "bad", LB_KIND_SYMLINK,
	    "", NULL), LB_E_INVAL);
	assert_int_equal(lb_win_fs_ops.create(&fx.wp.peer, d, "bad", LB_KIND_SYMLINK,
	    "\\\\?\\C:\\x", NULL), LB_E_PATH_PREFIX);
	assert_int_equal(lb_win_fs_ops.create(&fx.wp.peer, d, "bad", LB_KIND_SYMLINK,
	    "nul", NULL), LB_E_PATH_DEVICE);
	assert_false(exists("bad"));
	lb_win_fs_ops.close(d);
}

/* ---- RedirectionGuard ------------------------------------------------------ */

static void
test_redirection_guard_is_on_or_reported_unavailable(void **state)
{
	int rc;

	(void)state;
	rc = lb_win_redirection_guard();
	print_message("RedirectionGuard: %d (%s)\n", rc, lb_strerror(rc));
	if (fx.wine) {
		/* Wine accepts the policy but reports it off: not available. */
		assert_int_equal(rc, LB_E_UNSUPPORTED);
		return;
	}
	/* Windows 10 before the feature: not available, said so. */
	assert_true(rc == LB_OK || rc == LB_E_UNSUPPORTED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_parent_resolves_to_the_directorys_final_path),
		cmocka_unit_test(test_open_parent_of_a_missing_directory_is_noent),
		cmocka_unit_test(test_open_parent_of_a_file_is_not_a_directory),
		cmocka_unit_test(test_open_parent_refuses_relative_and_posix_paths),
		cmocka_unit_test(test_open_parent_without_a_client_token_is_refused),
		cmocka_unit_test(test_hardlink_is_made_counted_refused_twice_and_removed),
		cmocka_unit_test(test_open_target_refuses_a_directory_and_a_missing_file),
		cmocka_unit_test(test_create_refuses_names_that_are_not_one_plain_component),
		cmocka_unit_test(test_symlinks_and_junctions_are_made_or_fail_cleanly),
		cmocka_unit_test(test_bad_link_targets_are_refused_before_anything_is_made),
		cmocka_unit_test(test_redirection_guard_is_on_or_reported_unavailable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
