/* lb_inject_win: LoadLibraryW in a suspended child (lb_inject_win.h).
 * kernel32 is mapped at the same address in every process of a boot and
 * bitness, so its LoadLibraryW here is LoadLibraryW there. */
#include <windows.h>

#include <wchar.h>

#include "lb_inject_win.h"

#define LB_INJECT_WAIT_MS 10000

typedef BOOL (WINAPI *lb_iswow64_fn)(HANDLE, BOOL *);

/* Whether PROC runs under WOW64 (32-bit on this 64-bit system). */
static int
lb_is_wow64(HANDLE proc)
{
	lb_iswow64_fn f;
	BOOL wow = FALSE;

	f = (lb_iswow64_fn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "IsWow64Process");
	return f != NULL && f(proc, &wow) && wow;
}

int
lb_inject_dll(HANDLE proc, const wchar_t *dll, DWORD *win_err)
{
	const SIZE_T bytes = (wcslen(dll) + 1) * sizeof(wchar_t);
	FARPROC load;
	HANDLE t = NULL;
	void *remote = NULL;
	DWORD code = 0;
	int r = LB_E_IO;

	*win_err = 0;
	if (lb_is_wow64(proc))
		return LB_E_UNSUPPORTED;
	load = GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "LoadLibraryW");
	if (load == NULL ||
	    (remote = VirtualAllocEx(proc, NULL, bytes, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE)) == NULL ||
	    !WriteProcessMemory(proc, remote, dll, bytes, NULL) ||
	    (t = CreateRemoteThread(proc, NULL, 0, (LPTHREAD_START_ROUTINE)(void (*)(void))load, remote, 0,
	    NULL)) == NULL) {
		*win_err = GetLastError();
		goto out;
	}
	if (WaitForSingleObject(t, LB_INJECT_WAIT_MS) != WAIT_OBJECT_0) {
		*win_err = WAIT_TIMEOUT;
		goto out;
	}
	/* the thread's exit code: the low half of the module handle, 0 if
	 * LoadLibraryW failed */
	if (!GetExitCodeThread(t, &code) || code == 0)
		goto out;
	r = LB_OK;
out:
	if (t != NULL)
		CloseHandle(t);
	if (remote != NULL && r == LB_OK)
		(void)VirtualFreeEx(proc, remote, 0, MEM_RELEASE);
	return r;
}

int
lb_shim_dll_path(HMODULE beside, wchar_t *out, size_t cap)
{
	DWORD n;
	wchar_t *slash;

	if (cap < 2 || cap > 32768)
		return LB_E_NOENT;
	n = GetEnvironmentVariableW(L"LINKBROKER_SHIM", out, (DWORD)cap);
	if (n > 0 && n < cap)
		return GetFileAttributesW(out) != INVALID_FILE_ATTRIBUTES ? LB_OK : LB_E_NOENT;
	n = GetModuleFileNameW(beside, out, (DWORD)cap);
	if (n == 0 || n >= cap || (slash = wcsrchr(out, L'\\')) == NULL)
		return LB_E_NOENT;
	if ((size_t)(slash + 1 - out) + wcslen(L"linkbroker-shim.dll") + 1 > cap)
		return LB_E_NOENT;
	wcscpy_s(slash + 1, cap - (size_t)(slash + 1 - out), L"linkbroker-shim.dll");
	return GetFileAttributesW(out) != INVALID_FILE_ATTRIBUTES ? LB_OK : LB_E_NOENT;
}
