/* lb_util_win: strings, errors and environment for service/win/. */
#include <windows.h>
#include <shlobj.h>
#include <knownfolders.h>
#include <stdlib.h>
#include <string.h>

#include "lb_win.h"
#include "lb_str.h"

wchar_t *
lb_win_wide(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
	wchar_t *w;

	if (n <= 0 || (w = malloc((size_t)n * sizeof(wchar_t))) == NULL)
		return NULL;
	if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
		free(w);
		return NULL;
	}
	return w;
}

char *
lb_win_utf8(const wchar_t *w)
{
	int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, NULL, 0, NULL, NULL);
	char *s;

	if (n <= 0 || (s = malloc((size_t)n)) == NULL)
		return NULL;
	if (WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, s, n, NULL, NULL) != n) {
		free(s);
		return NULL;
	}
	return s;
}

int
lb_win_error(DWORD err)
{
	switch (err) {
	case ERROR_ACCESS_DENIED:
	case ERROR_PRIVILEGE_NOT_HELD:
	case ERROR_WRITE_PROTECT:
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
	case ERROR_CANT_ACCESS_FILE:
	case ERROR_BAD_IMPERSONATION_LEVEL:
		return LB_E_PERM;
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
	case ERROR_BAD_NETPATH:
	case ERROR_BAD_NET_NAME:
	case ERROR_INVALID_DRIVE:
		return LB_E_NOENT;
	case ERROR_DIRECTORY:
		return LB_E_NOT_DIR;
	case ERROR_ALREADY_EXISTS:
	case ERROR_FILE_EXISTS:
		return LB_E_EXISTS;
	case ERROR_NOT_SUPPORTED:
	case ERROR_INVALID_FUNCTION:
	case ERROR_NOT_SAME_DEVICE:
	case ERROR_TOO_MANY_LINKS:
	case ERROR_INVALID_REPARSE_DATA:
		return LB_E_UNSUPPORTED;
	case ERROR_FILENAME_EXCED_RANGE:
	case ERROR_BUFFER_OVERFLOW:
		return LB_E_PATH_LONG;
	case ERROR_INVALID_NAME:
	case ERROR_BAD_PATHNAME:
		return LB_E_INVAL;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return LB_E_NOMEM;
	default:
		return LB_E_IO;
	}
}

int
lb_win_is_wine(void)
{
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");

	return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

char *
lb_win_data_dir(void)
{
	PWSTR pd = NULL;
	char *base, *out = NULL;
	size_t n;

	if (SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &pd) != S_OK) {
		CoTaskMemFree(pd);
		return NULL;
	}
	base = lb_win_utf8(pd);
	CoTaskMemFree(pd);
	if (base == NULL)
		return NULL;
	n = strlen(base) + sizeof("\\LinkBroker");
	if ((out = malloc(n)) != NULL) {
		memcpy(out, base, strlen(base));
		memcpy(out + strlen(base), "\\LinkBroker", sizeof("\\LinkBroker"));
	}
	free(base);
	return out;
}
