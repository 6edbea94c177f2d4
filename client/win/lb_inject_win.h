/* lb_inject_win: start a process with the shim DLL loaded before its own
 * code runs (linkbroker run, and the shim's CreateProcess hooks for the
 * children), on the model of Detours' DetourCreateProcessWithDlls. */
#ifndef LB_INJECT_WIN_H
#define LB_INJECT_WIN_H

#include <windows.h>

#include "lb_err.h"

/* Load DLL (a full path) into the process PROC, created suspended and
 * not yet resumed: a thread of its own runs LoadLibraryW there, and is
 * waited for. LB_OK; LB_E_UNSUPPORTED for a process of another bitness
 * (a 32-bit child of this 64-bit one); LB_E_IO if it did not load
 * (*WIN_ERR: the Windows error, 0 if unknown). */
int lb_inject_dll(HANDLE proc, const wchar_t *dll, DWORD *win_err) LB_WUR;

/* The shim DLL next to this module (or $LINKBROKER_SHIM), into OUT (CAP
 * wide characters): LB_OK, or LB_E_NOENT. */
int lb_shim_dll_path(HMODULE beside, wchar_t *out, size_t cap) LB_WUR;

#endif
