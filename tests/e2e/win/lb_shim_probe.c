/* lb_shim_probe: a program as tools are: it finds CreateSymbolicLinkW with
 * GetProcAddress (as git does) and calls it, then, asked to, starts a copy
 * of itself with CreateProcessW that does the same, and prints what each
 * saw: whether linkbroker-shim.dll is in it (and its hooks), the call's
 * result and Windows error.
 *   lb_shim_probe NAME LINK TARGET [CHILD_LINK]   (exit 0 unless it could not run) */
#include <windows.h>

#include <stdio.h>
#include <wchar.h>

typedef BOOLEAN (WINAPI *symlink_fn)(LPCWSTR, LPCWSTR, DWORD);
typedef int (*installed_fn)(void);

int wmain(int argc, wchar_t **argv);

int
wmain(int argc, wchar_t **argv)
{
	HMODULE shim = GetModuleHandleW(L"linkbroker-shim.dll");
	installed_fn inst = shim != NULL ? (installed_fn)(void (*)(void))GetProcAddress(shim, "lb_shim_installed") : NULL;
	symlink_fn f = (symlink_fn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"kernel32.dll"),
	    "CreateSymbolicLinkW");
	wchar_t self[MAX_PATH], cmd[3 * MAX_PATH];
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	DWORD code = 0, err;
	BOOLEAN ok;

	if (argc < 4 || f == NULL) {
		fputs("usage: lb_shim_probe NAME LINK TARGET [CHILD_LINK]\n", stderr);
		return 2;
	}
	printf("%ls: shim %s, hooks %d\n", argv[1], shim != NULL ? "loaded" : "absent", inst != NULL ? inst() : 0);
	SetLastError(0);
	ok = f(argv[2], argv[3], 0);
	err = GetLastError();
	printf("%ls: CreateSymbolicLinkW -> %s, error %lu\n", argv[1], ok ? "TRUE" : "FALSE", (unsigned long)err);
	fflush(stdout);
	if (argc < 5)
		return 0;
	if (GetModuleFileNameW(NULL, self, MAX_PATH) >= MAX_PATH)
		return 1;
	_snwprintf(cmd, sizeof(cmd) / sizeof(cmd[0]) - 1, L"\"%ls\" child \"%ls\" \"%ls\"", self, argv[4], argv[3]);
	cmd[sizeof(cmd) / sizeof(cmd[0]) - 1] = L'\0';
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
		printf("%ls: CreateProcessW failed, error %lu\n", argv[1], (unsigned long)GetLastError());
		return 1;
	}
	WaitForSingleObject(pi.hProcess, 30000);
	GetExitCodeProcess(pi.hProcess, &code);
	printf("%ls: child exited %lu\n", argv[1], (unsigned long)code);
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);
	return (int)code;
}
