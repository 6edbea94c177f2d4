/* lb_plat_win: the Windows platform layer. */
#include <windows.h>
#include <shellapi.h>
#include <stdio.h>
#include <stdlib.h>

#include "lb_plat.h"
#include "lb_win.h"

void
lb_plat_sleep_ms(unsigned ms)
{
	Sleep(ms);
}

enum lb_flavor
lb_plat_flavor(void)
{
	return LB_FLAVOR_WINDOWS;
}

int
lb_plat_init(int argc, char **argv, int *argc_out, char ***argv_out)
{
	wchar_t **wargv;
	char **u8;
	int n, i;

	(void)argc;
	(void)argv;
	SetConsoleOutputCP(CP_UTF8);
	if ((wargv = CommandLineToArgvW(GetCommandLineW(), &n)) == NULL)
		return LB_E_NOMEM;
	if ((u8 = calloc((size_t)n + 1, sizeof(*u8))) == NULL) {
		LocalFree(wargv);
		return LB_E_NOMEM;
	}
	for (i = 0; i < n; i++) {
		if ((u8[i] = lb_win_utf8(wargv[i])) == NULL) {
			LocalFree(wargv);
			return LB_E_INVAL;   /* unpaired surrogate in an argument */
		}
	}
	LocalFree(wargv);
	*argc_out = n;
	*argv_out = u8;
	return LB_OK;
}

int
lb_plat_read_file(const char *path, size_t max, char **data, size_t *len,
    char *errbuf, size_t errlen)
{
	LARGE_INTEGER size;
	wchar_t *wpath;
	HANDLE h;
	char *buf = NULL;
	DWORD got;
	int r = LB_E_IO;

	*data = NULL;
	*len = 0;
	if ((wpath = lb_win_wide(path)) == NULL) {
		snprintf(errbuf, errlen, "invalid file name");
		return LB_E_IO;
	}
	h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
	    FILE_ATTRIBUTE_NORMAL, NULL);
	free(wpath);
	if (h == INVALID_HANDLE_VALUE) {
		snprintf(errbuf, errlen, "cannot open (Windows error %lu)", GetLastError());
		return LB_E_IO;
	}
	if (GetFileType(h) != FILE_TYPE_DISK || !GetFileSizeEx(h, &size)) {
		snprintf(errbuf, errlen, "not a regular file");
		goto out;
	}
	if (size.QuadPart < 0 || (unsigned long long)size.QuadPart > max) {
		snprintf(errbuf, errlen, "larger than %lu bytes", (unsigned long)max);
		r = LB_E_TOOBIG;
		goto out;
	}
	if ((buf = malloc((size_t)size.QuadPart + 1)) == NULL) {
		r = LB_E_NOMEM;
		goto out;
	}
	if (!ReadFile(h, buf, (DWORD)size.QuadPart, &got, NULL) || got != (DWORD)size.QuadPart) {
		snprintf(errbuf, errlen, "read error (Windows error %lu)", GetLastError());
		goto out;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	buf = NULL;
	r = LB_OK;
out:
	free(buf);
	CloseHandle(h);
	return r;
}

static const struct lb_command lb_win_commands[] = {
	{ "install", lb_win_cmd_install, "install [--config FILE]",
	  "Register the LinkBroker service (LocalSystem, automatic start), create\n"
	  "%ProgramData%\\LinkBroker, the service key, the Event Log source and, if\n"
	  "there is none, the example policy; administrators only. Exit 0, 2 a bad\n"
	  "policy, 4 a step failed.\n" },
	{ "uninstall", lb_win_cmd_uninstall, "uninstall",
	  "Stop and remove the service and its Event Log source; the policy, the keys\n"
	  "and the audit log stay.\n" },
	{ "reload", lb_win_cmd_reload, "reload                (the running service rereads its policy)",
	  "Ask the running service to reread its policy (and the fleet settings in\n"
	  "HKLM\\SOFTWARE\\Policies\\LinkBroker); a bad one is refused and the current\n"
	  "policy stays (see the Event Log). Exit 0, 3 the service is not running.\n" },
	{ "rotate", lb_win_cmd_rotate, "rotate                (the running service rotates its audit log)",
	  "Ask the running service to rename its audit log to audit.log.1 (never over\n"
	  "one), end it with a rotate record and go on in a new audit.log chained to\n"
	  "it. Exit 0, 3 the service is not running, 4 it did not rotate.\n" },
	{ "run", lb_win_cmd_run, "run [--config FILE] [--foreground]",
	  "Run the broker: as the service when the service manager starts it, else in\n"
	  "this console until Ctrl+C (--foreground: log lines on stderr too).\n" },
};

const struct lb_command *
lb_plat_commands(size_t *n)
{
	*n = sizeof(lb_win_commands) / sizeof(lb_win_commands[0]);
	return lb_win_commands;
}
