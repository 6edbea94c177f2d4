/* lb_hook_win: a minimal x64 inline hook for the shim DLL: the first
 * instructions of a function are moved to a trampoline and replaced by a
 * jump to a detour, so every caller is caught, however it found the
 * function (import table, GetProcAddress, another DLL's stub). */
#ifndef LB_HOOK_WIN_H
#define LB_HOOK_WIN_H

#include <stddef.h>
#include <stdint.h>

#include "lb_err.h"

/* Bytes the patch takes at the function: jmp rel32. */
#define LB_HOOK_PATCH 5
/* At most this many bytes of whole instructions are moved. */
#define LB_HOOK_STOLEN_MAX 32

/* One decoded instruction: its length, and where a RIP-relative disp32
 * sits in it (0: none). */
struct lb_insn {
	size_t len;
	size_t rip_disp_at;
};

/* Decode the instruction at P (AVAIL bytes readable). LB_OK, or
 * LB_E_UNSUPPORTED for anything outside the small set a function
 * prologue uses (relative branches and calls included: they are not
 * moved), LB_E_SHORT if it runs past AVAIL. */
int lb_insn_decode(const uint8_t *p, size_t avail, struct lb_insn *out) LB_WUR;

/* Where a jump stub at FN leads (jmp rel32, jmp [rip+disp32], as
 * kernel32's forwarders to KERNELBASE are), followed up to four times;
 * FN itself if it is not a stub. */
void *lb_hook_follow(void *fn);

/* Copy the whole instructions covering at least NEED bytes at SRC (the
 * function's code, as it runs at address SRC_IP) to DST (to run at
 * DST_IP), relocating RIP-relative operands; *COPIED := how many bytes.
 * LB_E_UNSUPPORTED if one cannot be moved, LB_E_RANGE if a relocated
 * displacement does not fit. */
int lb_hook_relocate(const uint8_t *src, size_t avail, uint64_t src_ip, uint8_t *dst,
    size_t dst_cap, uint64_t dst_ip, size_t need, size_t *copied) LB_WUR;

/* Hook TARGET (stubs followed): calls go to DETOUR; *TRAMPOLINE := a
 * function that runs the original. LB_OK, LB_E_UNSUPPORTED (a prologue
 * this cannot move), LB_E_NOMEM (no memory within 2 GB of it), LB_E_IO
 * (the code could not be made writable). */
int lb_hook_install(void *target, void *detour, void **trampoline) LB_WUR;

#endif
