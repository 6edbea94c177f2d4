/* lb_shim_win: linkbroker-shim.dll, loaded into the process tree that
 * `linkbroker run` starts. It hooks CreateSymbolicLinkW/A at the function
 * (lb_hook_win: every caller is caught, GetProcAddress users included):
 * a call that fails for want of the privilege is asked of the broker, and
 * the caller gets TRUE or the Windows error matching the answer. It hooks
 * CreateProcessW/A so that children are started with this DLL too. */
#include <windows.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "linkbroker.h"
#include "lb_hook_win.h"
#include "lb_inject_win.h"
#include "lb_shim_map_win.h"

typedef BOOLEAN (WINAPI *lb_symlink_w_fn)(LPCWSTR, LPCWSTR, DWORD);
typedef BOOLEAN (WINAPI *lb_symlink_a_fn)(LPCSTR, LPCSTR, DWORD);
typedef BOOL (WINAPI *lb_cp_w_fn)(LPCWSTR, LPWSTR, LPSECURITY_ATTRIBUTES, LPSECURITY_ATTRIBUTES, BOOL,
    DWORD, LPVOID, LPCWSTR, LPSTARTUPINFOW, LPPROCESS_INFORMATION);
typedef BOOL (WINAPI *lb_cp_a_fn)(LPCSTR, LPSTR, LPSECURITY_ATTRIBUTES, LPSECURITY_ATTRIBUTES, BOOL,
    DWORD, LPVOID, LPCSTR, LPSTARTUPINFOA, LPPROCESS_INFORMATION);

static lb_symlink_w_fn lb_real_symlink_w;
static lb_symlink_a_fn lb_real_symlink_a;
static lb_cp_w_fn lb_real_cp_w;
static lb_cp_a_fn lb_real_cp_a;
static int lb_hooks;                      /* how many are in place */
static wchar_t lb_self[MAX_PATH];         /* this DLL, for the children */

static SRWLOCK lb_h_lock = SRWLOCK_INIT;
static struct linkbroker *lb_h;

__declspec(dllexport) int lb_shim_installed(void);
BOOL WINAPI DllMain(HINSTANCE self, DWORD reason, LPVOID reserved);

/* How many of the four hooks are in place (tests, and `linkbroker run`
 * under LINKBROKER_DEBUG). */
int
lb_shim_installed(void)
{
	return lb_hooks;
}

static int
lb_env_is(const wchar_t *name, const wchar_t *value)
{
	wchar_t v[16];
	DWORD n = GetEnvironmentVariableW(name, v, 16);

	return n > 0 && n < 16 && wcscmp(v, value) == 0;
}

/* One line on standard error (LINKBROKER_DEBUG=1); nothing if there is
 * none. */
static void
lb_debug(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	HANDLE err;
	DWORD w;
	int n;

	if (!lb_env_is(L"LINKBROKER_DEBUG", L"1"))
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	err = GetStdHandle(STD_ERROR_HANDLE);
	if (err != NULL && err != INVALID_HANDLE_VALUE)
		(void)WriteFile(err, line, (DWORD)n, &w, NULL);
}

/* W as UTF-8 into OUT (CAP bytes); 0 on failure. */
static int
lb_utf8(const wchar_t *w, char *out, int cap)
{
	return WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, out, cap, NULL, NULL) > 0;
}

static struct linkbroker *
lb_handle(void)
{
	struct linkbroker *h;

	AcquireSRWLockExclusive(&lb_h_lock);
	if (lb_h == NULL && linkbroker_open(&h, NULL, NULL) == LINKBROKER_OK)
		lb_h = h;
	h = lb_h;
	ReleaseSRWLockExclusive(&lb_h_lock);
	return h;
}

/* Ask the broker for the link FN was called for: the Windows error of its
 * answer (ERROR_SUCCESS: made), or LB_SHIM_NO_ANSWER. */
static DWORD
lb_ask(const char *fn, const wchar_t *link, const wchar_t *target, DWORD flags)
{
	/* Static, behind a lock: the caller's thread may have a small stack,
	 * and these are 320 KiB. */
	static wchar_t full[32768];
	static char link8[4 * 32768], target8[4 * 32768];
	static SRWLOCK bufs = SRWLOCK_INIT;
	struct linkbroker_result res;
	struct linkbroker *h;
	DWORD n, e = LB_SHIM_NO_ANSWER;
	int rc;

	if (link == NULL || target == NULL || (h = lb_handle()) == NULL)
		return e;
	AcquireSRWLockExclusive(&bufs);
	n = GetFullPathNameW(link, 32768, full, NULL);
	if (n > 0 && n < 32768 && lb_utf8(full, link8, (int)sizeof(link8)) &&
	    lb_utf8(target, target8, (int)sizeof(target8))) {
		memset(&res, 0, sizeof(res));
		rc = linkbroker_create(h, (flags & SYMBOLIC_LINK_FLAG_DIRECTORY) ? LINKBROKER_DIRSYMLINK :
		    LINKBROKER_SYMLINK, link8, target8, &res);
		e = lb_shim_win_error(rc);
		lb_debug("linkbroker-shim: %s(\"%s\", \"%s\", 0x%lx) -> broker: %s%s%s", fn, link8, target8,
		    (unsigned long)flags, rc == LINKBROKER_OK ? "created" : linkbroker_strerror(rc),
		    res.message_len > 0 ? ": " : "", res.message_len > 0 ? res.message : "");
	}
	ReleaseSRWLockExclusive(&bufs);
	return e;
}

/* The broker's answer E as the call's result: 1 with *RET and the last
 * error set, or 0 when there is no final answer and ALWAYS skipped the
 * direct call (the caller makes it now). ERR: the direct call's error. */
static int
lb_settle(DWORD e, int always, DWORD err, BOOLEAN *ret)
{
	if (e == ERROR_SUCCESS) {
		SetLastError(ERROR_SUCCESS);
		*ret = TRUE;
		return 1;
	}
	if (e == LB_SHIM_NO_ANSWER && always)
		return 0;
	SetLastError(e != LB_SHIM_NO_ANSWER ? e : err);
	*ret = FALSE;
	return 1;
}

static BOOLEAN WINAPI
lb_symlink_w(LPCWSTR link, LPCWSTR target, DWORD flags)
{
	const int always = lb_env_is(L"LINKBROKER_SHIM_MODE", L"always");
	BOOLEAN ok = FALSE;
	DWORD err = 0, e;

	if (!always) {
		ok = lb_real_symlink_w(link, target, flags);
		err = ok ? 0 : GetLastError();
	}
	if (!lb_shim_should_ask(ok, err, flags, always)) {
		SetLastError(err);
		return ok;
	}
	e = lb_ask("CreateSymbolicLinkW", link, target, flags);
	if (lb_settle(e, always, err, &ok))
		return ok;
	return lb_real_symlink_w(link, target, flags);   /* no answer: what the direct call does */
}

/* A string in the ANSI code page, as the A functions take it, in wide. */
static wchar_t *
lb_wide(const char *s)
{
	wchar_t *w;
	int n;

	if (s == NULL || (n = MultiByteToWideChar(CP_ACP, 0, s, -1, NULL, 0)) <= 0 ||
	    (w = HeapAlloc(GetProcessHeap(), 0, (SIZE_T)n * sizeof(wchar_t))) == NULL)
		return NULL;
	if (MultiByteToWideChar(CP_ACP, 0, s, -1, w, n) <= 0) {
		HeapFree(GetProcessHeap(), 0, w);
		return NULL;
	}
	return w;
}

static BOOLEAN WINAPI
lb_symlink_a(LPCSTR link, LPCSTR target, DWORD flags)
{
	const int always = lb_env_is(L"LINKBROKER_SHIM_MODE", L"always");
	wchar_t *wl, *wt;
	BOOLEAN ok = FALSE;
	DWORD err = 0, e = LB_SHIM_NO_ANSWER;

	if (!always) {
		ok = lb_real_symlink_a(link, target, flags);
		err = ok ? 0 : GetLastError();
	}
	if (!lb_shim_should_ask(ok, err, flags, always)) {
		SetLastError(err);
		return ok;
	}
	wl = lb_wide(link);
	wt = lb_wide(target);
	if (wl != NULL && wt != NULL)
		e = lb_ask("CreateSymbolicLinkA", wl, wt, flags);
	if (wl != NULL)
		HeapFree(GetProcessHeap(), 0, wl);
	if (wt != NULL)
		HeapFree(GetProcessHeap(), 0, wt);
	if (lb_settle(e, always, err, &ok))
		return ok;
	return lb_real_symlink_a(link, target, flags);
}

/* The child PI (created suspended here) gets this DLL, then runs unless
 * the caller asked for it suspended. A child that cannot take it (32-bit)
 * runs without. */
static void
lb_child(const PROCESS_INFORMATION *pi, DWORD flags)
{
	DWORD err = 0;
	int r = lb_inject_dll(pi->hProcess, lb_self, &err);

	if (r != LB_OK)
		lb_debug("linkbroker-shim: child process %lu runs without the shim (%s, error %lu)",
		    (unsigned long)pi->dwProcessId, r == LB_E_UNSUPPORTED ? "32-bit" : "it did not load",
		    (unsigned long)err);
	if (!(flags & CREATE_SUSPENDED))
		(void)ResumeThread(pi->hThread);
}

static BOOL WINAPI
lb_cp_w(LPCWSTR app, LPWSTR cmd, LPSECURITY_ATTRIBUTES pa, LPSECURITY_ATTRIBUTES ta, BOOL inherit,
    DWORD flags, LPVOID env, LPCWSTR cwd, LPSTARTUPINFOW si, LPPROCESS_INFORMATION pi)
{
	BOOL ok = lb_real_cp_w(app, cmd, pa, ta, inherit, flags | CREATE_SUSPENDED, env, cwd, si, pi);
	DWORD err = GetLastError();

	if (ok)
		lb_child(pi, flags);
	SetLastError(err);
	return ok;
}

static BOOL WINAPI
lb_cp_a(LPCSTR app, LPSTR cmd, LPSECURITY_ATTRIBUTES pa, LPSECURITY_ATTRIBUTES ta, BOOL inherit,
    DWORD flags, LPVOID env, LPCSTR cwd, LPSTARTUPINFOA si, LPPROCESS_INFORMATION pi)
{
	BOOL ok = lb_real_cp_a(app, cmd, pa, ta, inherit, flags | CREATE_SUSPENDED, env, cwd, si, pi);
	DWORD err = GetLastError();

	if (ok)
		lb_child(pi, flags);
	SetLastError(err);
	return ok;
}

static void
lb_hook(HMODULE k32, const char *name, void *detour, void **real)
{
	void *fn = (void *)(void (*)(void))GetProcAddress(k32, name);
	int r;

	if (fn == NULL)
		return;
	if ((r = lb_hook_install(fn, detour, real)) == LB_OK)
		lb_hooks++;
	else
		lb_debug("linkbroker-shim: %s not hooked: %s", name, lb_strerror(r));
}

/* Only the hooks here: the loader lock is held, and the broker is asked
 * later, from the hooked calls. */
BOOL WINAPI
DllMain(HINSTANCE self, DWORD reason, LPVOID reserved)
{
	HMODULE k32;

	(void)reserved;
	if (reason != DLL_PROCESS_ATTACH)
		return TRUE;
	DisableThreadLibraryCalls(self);
	if (GetModuleFileNameW(self, lb_self, MAX_PATH) >= MAX_PATH)
		lb_self[0] = L'\0';
	if ((k32 = GetModuleHandleW(L"kernel32.dll")) == NULL)
		return TRUE;
	lb_hook(k32, "CreateSymbolicLinkW", (void *)lb_symlink_w, (void **)&lb_real_symlink_w);
	lb_hook(k32, "CreateSymbolicLinkA", (void *)lb_symlink_a, (void **)&lb_real_symlink_a);
	if (lb_self[0] != L'\0') {
		lb_hook(k32, "CreateProcessW", (void *)lb_cp_w, (void **)&lb_real_cp_w);
		lb_hook(k32, "CreateProcessA", (void *)lb_cp_a, (void **)&lb_real_cp_a);
	}
	return TRUE;
}
