/* lb_shim_map_win: the shim DLL's decisions as pure functions (unit
 * tested under Wine): when a CreateSymbolicLink call goes to the broker,
 * which Windows error a broker answer becomes, and the command line
 * linkbroker run builds. */
#ifndef LB_SHIM_MAP_WIN_H
#define LB_SHIM_MAP_WIN_H

#include <windows.h>

#include <stddef.h>

#include "lb_err.h"

#ifndef SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE
#define SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE 0x2
#endif

/* Whether a CreateSymbolicLink call that returned OK (with ERR from
 * GetLastError if it failed) is asked of the broker. ALWAYS: every call
 * is (LINKBROKER_SHIM=always), the direct one is not even tried. */
int lb_shim_should_ask(int ok, DWORD err, DWORD flags, int always);

/* The Windows error for the broker's answer RC (LB_OK: ERROR_SUCCESS), or
 * 0xFFFFFFFF where the broker gave no final answer (unreachable, not
 * genuine, key not enrolled, timed out, busy): the caller then gets what
 * the direct call gave. */
#define LB_SHIM_NO_ANSWER 0xFFFFFFFFu
DWORD lb_shim_win_error(int rc);

/* Append ARG to the command line OUT (CAP wide characters, *LEN used, a
 * space first unless *LEN is 0), quoted so that CommandLineToArgvW and
 * the C runtime give ARG back exactly. LB_E_TOOBIG if it does not fit. */
int lb_cmdline_append(wchar_t *out, size_t cap, size_t *len, const wchar_t *arg) LB_WUR;

#endif
