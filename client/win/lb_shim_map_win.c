/* lb_shim_map_win: see lb_shim_map_win.h. */
#include <windows.h>

#include <wchar.h>

#include "lb_shim_map_win.h"

int
lb_shim_should_ask(int ok, DWORD err, DWORD flags, int always)
{
	if (always)
		return 1;
	if (ok)
		return 0;
	if (err == ERROR_PRIVILEGE_NOT_HELD)
		return 1;
	/* Asked for an unprivileged link without Developer Mode: Windows 10
	 * before 1703 rejects the flag itself. */
	return (flags & SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE) != 0 && err == ERROR_INVALID_PARAMETER;
}

DWORD
lb_shim_win_error(int rc)
{
	switch (rc) {
	case LB_OK:
		return ERROR_SUCCESS;
	case LB_E_DENIED:
	case LB_E_PERM:
		return ERROR_ACCESS_DENIED;
	case LB_E_EXISTS:
		return ERROR_ALREADY_EXISTS;
	case LB_E_NOENT:
		return ERROR_PATH_NOT_FOUND;
	case LB_E_NOT_DIR:
		return ERROR_DIRECTORY;
	case LB_E_UNSUPPORTED:
		return ERROR_NOT_SUPPORTED;
	case LB_E_PATH_LONG:
	case LB_E_PATH_COMPONENT_LONG:
		return ERROR_FILENAME_EXCED_RANGE;
	case LB_E_SHARING:
		return ERROR_SHARING_VIOLATION;
	default:
		return LB_SHIM_NO_ANSWER;
	}
}

static int
lb_put(wchar_t *out, size_t cap, size_t *len, wchar_t c, size_t times)
{
	if (times > cap || *len > cap - times - 1)
		return LB_E_TOOBIG;
	while (times-- > 0)
		out[(*len)++] = c;
	out[*len] = L'\0';
	return LB_OK;
}

int
lb_cmdline_append(wchar_t *out, size_t cap, size_t *len, const wchar_t *arg)
{
	size_t slashes = 0;
	int r;

	if (*len > 0 && (r = lb_put(out, cap, len, L' ', 1)) != LB_OK)
		return r;
	if (arg[0] != L'\0' && wcspbrk(arg, L" \t\n\v\"") == NULL) {
		for (; *arg != L'\0'; arg++)
			if ((r = lb_put(out, cap, len, *arg, 1)) != LB_OK)
				return r;
		return LB_OK;
	}
	/* Quoted: backslashes are literal unless they precede a quote; then
	 * each is doubled and the quote escaped. */
	if ((r = lb_put(out, cap, len, L'"', 1)) != LB_OK)
		return r;
	for (; *arg != L'\0'; arg++) {
		if (*arg == L'\\') {
			slashes++;
			continue;
		}
		if (*arg == L'"') {
			if ((r = lb_put(out, cap, len, L'\\', 2 * slashes + 1)) != LB_OK)
				return r;
		} else if (slashes > 0 && (r = lb_put(out, cap, len, L'\\', slashes)) != LB_OK) {
			return r;
		}
		slashes = 0;
		if ((r = lb_put(out, cap, len, *arg, 1)) != LB_OK)
			return r;
	}
	/* trailing backslashes before the closing quote: doubled */
	if ((r = lb_put(out, cap, len, L'\\', 2 * slashes)) != LB_OK)
		return r;
	return lb_put(out, cap, len, L'"', 1);
}
