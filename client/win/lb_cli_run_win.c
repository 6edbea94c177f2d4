/* lb_cli_run_win: linkbroker run on Windows: start the command suspended,
 * load linkbroker-shim.dll into it (lb_inject_win), let it run, wait, and
 * exit with its exit code. The shim passes itself on to the children. */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#include "lb_inject_win.h"
#include "lb_run.h"
#include "lb_shim_map_win.h"

#define LB_CMDLINE_MAX 32767

static wchar_t *
lb_wide_utf8(const char *s)
{
	wchar_t *w;
	int n;

	if ((n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0)) <= 0 ||
	    (w = malloc((size_t)n * sizeof(wchar_t))) == NULL)
		return NULL;
	if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) <= 0) {
		free(w);
		return NULL;
	}
	return w;
}

static int
lb_setenv_utf8(const wchar_t *name, const char *value)
{
	wchar_t *w;
	int ok;

	if (value == NULL)
		return 1;
	if ((w = lb_wide_utf8(value)) == NULL)
		return 0;
	ok = SetEnvironmentVariableW(name, w) != 0;
	free(w);
	return ok;
}

int
lb_run(int argc, char **argv, const char *endpoint, const char *service_key)
{
	static wchar_t cmd[LB_CMDLINE_MAX + 1];
	wchar_t shim[MAX_PATH];
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	size_t len = 0;
	DWORD err = 0, code = LB_RUN_EXIT_FAILED;
	wchar_t *w;
	int i, r;

	if (lb_shim_dll_path(NULL, shim, MAX_PATH) != LB_OK) {
		fputs("linkbroker: run: cannot find linkbroker-shim.dll next to linkbroker.exe; "
		    "set LINKBROKER_SHIM to its path\n", stderr);
		return LB_RUN_EXIT_FAILED;
	}
	for (i = 0; i < argc; i++) {
		if ((w = lb_wide_utf8(argv[i])) == NULL) {
			fputs("linkbroker: run: an argument is not valid text\n", stderr);
			return LB_RUN_EXIT_FAILED;
		}
		r = lb_cmdline_append(cmd, LB_CMDLINE_MAX + 1, &len, w);
		free(w);
		if (r != LB_OK) {
			fputs("linkbroker: run: the command line is too long\n", stderr);
			return LB_RUN_EXIT_FAILED;
		}
	}
	if (!lb_setenv_utf8(L"LINKBROKER_ENDPOINT", endpoint) ||
	    !lb_setenv_utf8(L"LINKBROKER_SERVICE_KEY", service_key)) {
		fputs("linkbroker: run: cannot set the environment\n", stderr);
		return LB_RUN_EXIT_FAILED;
	}
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	fflush(NULL);
	if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, NULL, &si, &pi)) {
		err = GetLastError();
		fprintf(stderr, "linkbroker: run: %s: cannot start it (error %lu)\n", argv[0], (unsigned long)err);
		return err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND ? LB_RUN_EXIT_NOTFOUND :
		    LB_RUN_EXIT_NOEXEC;
	}
	if ((r = lb_inject_dll(pi.hProcess, shim, &err)) != LB_OK) {
		fprintf(stderr, "linkbroker: run: %s: cannot load the shim into it (%s, error %lu)\n", argv[0],
		    r == LB_E_UNSUPPORTED ? "a 32-bit program" : "LoadLibraryW failed", (unsigned long)err);
		(void)TerminateProcess(pi.hProcess, LB_RUN_EXIT_FAILED);
		goto out;
	}
	/* Ctrl+C reaches the command; we wait for it to end. */
	(void)SetConsoleCtrlHandler(NULL, TRUE);
	(void)ResumeThread(pi.hThread);
	(void)WaitForSingleObject(pi.hProcess, INFINITE);
	if (!GetExitCodeProcess(pi.hProcess, &code))
		code = LB_RUN_EXIT_FAILED;
out:
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);
	return (int)code;
}
