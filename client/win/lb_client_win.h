/* lb_client_win: the parts of the Windows client that unit tests reach
 * directly: the user's key stored under any base directory (the real one is
 * %LOCALAPPDATA%, which SHGetKnownFolderPath does not let a test move). */
#ifndef LB_CLIENT_WIN_H
#define LB_CLIENT_WIN_H

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

#endif
