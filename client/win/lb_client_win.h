/* lb_client_win: the parts of the Windows client that unit tests reach
 * directly: the user's key stored under any base directory (the real one is
 * %LOCALAPPDATA%, which SHGetKnownFolderPath does not let a test move), and
 * the check of the pipe's owner. */
#ifndef LB_CLIENT_WIN_H
#define LB_CLIENT_WIN_H

#include <windows.h>

#include <stdint.h>
#include <wchar.h>

#include "lb_buf.h"
#include "lb_sig.h"

/* lb_client_key_save / lb_client_key_load with BASE in place of
 * %LOCALAPPDATA%: the key is BASE\LinkBroker\key. */
int lb_client_win_key_save_in(const wchar_t *base, const uint8_t sk[LB_SK_BYTES], int replace,
    struct lb_buf *why) LB_WUR;
int lb_client_win_key_load_from(const wchar_t *base, uint8_t sk[LB_SK_BYTES],
    struct lb_buf *why) LB_WUR;

/* LB_OK if the named pipe PIPE (a client handle, opened with read access)
 * is owned by LocalSystem (S-1-5-18), as the service's LB_SDDL_PIPE makes
 * it; else LB_E_NOT_GENUINE with the owner in WHY. Only SYSTEM, or a
 * process with SeRestorePrivilege enabled, can create an object owned by
 * SYSTEM (wireguard-go's namedpipe ExpectedOwner makes the same check). */
int lb_client_win_pipe_owner_check(HANDLE pipe, struct lb_buf *why) LB_WUR;

#endif
