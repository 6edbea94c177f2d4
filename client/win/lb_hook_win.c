/* lb_hook_win: the x64 inline hook (lb_hook_win.h). The decoder knows the
 * instructions Windows function prologues are made of and refuses the
 * rest: a wrong length would split an instruction, so "no hook" is the
 * only safe answer to anything else. */
#include <windows.h>

#include <string.h>

#include "lb_hook_win.h"

/* jmp [rip+0] followed by the 8-byte address. */
#define LB_ABS_JMP 14
#define LB_BLOCK 4096
#define LB_RELAY_AT 64

/* ModRM (and SIB, displacement) at P: its length; *RIP := offset of a
 * RIP-relative disp32 from P, or (size_t)-1. */
static int
lb_modrm(const uint8_t *p, size_t avail, size_t *len, size_t *rip)
{
	uint8_t mod, rm;
	size_t n = 1;

	if (avail < 1)
		return LB_E_SHORT;
	mod = (uint8_t)(p[0] >> 6);
	rm = (uint8_t)(p[0] & 7);
	*rip = (size_t)-1;
	if (mod == 3) {
		*len = 1;
		return LB_OK;
	}
	if (rm == 4) {   /* SIB */
		if (avail < 2)
			return LB_E_SHORT;
		n = 2;
		if (mod == 0 && (p[1] & 7) == 5)
			n += 4;   /* disp32, no base */
	} else if (mod == 0 && rm == 5) {
		*rip = 1;
		n += 4;
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	*len = n;
	return n <= avail ? LB_OK : LB_E_SHORT;
}

static int
lb_in(uint8_t op, const uint8_t *set, size_t n)
{
	return memchr(set, op, n) != NULL;
}

int
lb_insn_decode(const uint8_t *p, size_t avail, struct lb_insn *out)
{
	/* op r/m, r and op r, r/m of add, or, adc, sbb, and, sub, xor, cmp;
	 * test, xchg, mov, lea, movsxd */
	static const uint8_t modrm_only[] = {
		0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0A, 0x0B, 0x10, 0x11, 0x12, 0x13,
		0x18, 0x19, 0x1A, 0x1B, 0x20, 0x21, 0x22, 0x23, 0x28, 0x29, 0x2A, 0x2B,
		0x30, 0x31, 0x32, 0x33, 0x38, 0x39, 0x3A, 0x3B, 0x63, 0x84, 0x85, 0x86,
		0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8D,
	};
	static const uint8_t modrm_imm8[] = { 0x6B, 0x80, 0x83, 0xC0, 0xC1, 0xC6 };
	static const uint8_t modrm_imm32[] = { 0x69, 0x81, 0xC7 };
	static const uint8_t al_imm8[] = { 0x04, 0x0C, 0x14, 0x1C, 0x24, 0x2C, 0x34, 0x3C, 0xA8, 0x6A };
	static const uint8_t ax_imm32[] = { 0x05, 0x0D, 0x15, 0x1D, 0x25, 0x2D, 0x35, 0x3D, 0xA9, 0x68 };
	/* after 0x0F: cmovcc, movups/movaps and friends, nop r/m, movzx, movsx */
	static const uint8_t f_modrm[] = {
		0x10, 0x11, 0x1F, 0x28, 0x29, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
		0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F, 0xB6, 0xB7, 0xBE, 0xBF,
	};
	size_t i = 0, m, rip = (size_t)-1, imm = 0;
	int opsize16 = 0, rexw = 0, r;
	uint8_t op;

	memset(out, 0, sizeof(*out));
	while (i < avail && (p[i] == 0x66 || p[i] == 0xF2 || p[i] == 0xF3)) {
		opsize16 |= p[i] == 0x66;
		i++;
	}
	if (i < avail && (p[i] & 0xF0) == 0x40) {
		rexw = (p[i] & 0x08) != 0;
		i++;
	}
	if (i >= avail)
		return LB_E_SHORT;
	op = p[i++];
	if ((op >= 0x50 && op <= 0x5F) || op == 0x90) {
		m = 0;
	} else if (op >= 0xB0 && op <= 0xB7) {
		m = 0;
		imm = 1;
	} else if (op >= 0xB8 && op <= 0xBF) {
		m = 0;
		imm = rexw ? 8 : opsize16 ? 2 : 4;
	} else if (lb_in(op, al_imm8, sizeof(al_imm8))) {
		m = 0;
		imm = 1;
	} else if (lb_in(op, ax_imm32, sizeof(ax_imm32))) {
		m = 0;
		imm = opsize16 ? 2 : 4;
	} else if (lb_in(op, modrm_only, sizeof(modrm_only)) || lb_in(op, modrm_imm8, sizeof(modrm_imm8)) ||
	    lb_in(op, modrm_imm32, sizeof(modrm_imm32)) || op == 0xF6 || op == 0xF7 || op == 0xFF) {
		if ((r = lb_modrm(p + i, avail - i, &m, &rip)) != LB_OK)
			return r;
		if (op == 0xFF) {
			uint8_t reg = (uint8_t)((p[i] >> 3) & 7);

			/* inc, dec, push r/m only: an indirect call or jump is a branch */
			if (reg != 0 && reg != 1 && reg != 6)
				return LB_E_UNSUPPORTED;
		}
		if (lb_in(op, modrm_imm8, sizeof(modrm_imm8)))
			imm = 1;
		else if (lb_in(op, modrm_imm32, sizeof(modrm_imm32)))
			imm = opsize16 ? 2 : 4;
		else if ((op == 0xF6 || op == 0xF7) && ((p[i] >> 3) & 7) <= 1)   /* test r/m, imm */
			imm = op == 0xF6 ? 1 : opsize16 ? 2 : 4;
	} else if (op == 0x0F) {
		if (i >= avail)
			return LB_E_SHORT;
		op = p[i++];
		if (!lb_in(op, f_modrm, sizeof(f_modrm)))
			return LB_E_UNSUPPORTED;   /* jcc rel32, syscall, and the rest */
		if ((r = lb_modrm(p + i, avail - i, &m, &rip)) != LB_OK)
			return r;
	} else {
		/* ret, int3, call/jmp/jcc rel, loop, and everything not above */
		return LB_E_UNSUPPORTED;
	}
	if (rip != (size_t)-1)
		out->rip_disp_at = i + rip;
	i += m + imm;
	if (i > avail)
		return LB_E_SHORT;
	out->len = i;
	return LB_OK;
}

void *
lb_hook_follow(void *fn)
{
	const uint8_t *p = fn;
	int32_t d;
	int hops;

	for (hops = 0; hops < 4 && p != NULL; hops++) {
		size_t at = p[0] == 0x48 ? 1 : 0;   /* rex.w jmp [rip+d] */

		if (p[0] == 0xE9) {
			memcpy(&d, p + 1, 4);
			p = p + 5 + d;
		} else if (p[at] == 0xFF && p[at + 1] == 0x25) {
			const uint8_t *slot;

			memcpy(&d, p + at + 2, 4);
			slot = p + at + 6 + d;
			memcpy(&p, slot, sizeof(p));
		} else if (p[0] == 0xEB) {
			p = p + 2 + (int8_t)p[1];
		} else {
			break;
		}
	}
	return (void *)p;
}

int
lb_hook_relocate(const uint8_t *src, size_t avail, uint64_t src_ip, uint8_t *dst,
    size_t dst_cap, uint64_t dst_ip, size_t need, size_t *copied)
{
	struct lb_insn in;
	size_t off = 0;
	int64_t disp;
	int32_t d32;
	int r;

	*copied = 0;
	while (off < need) {
		if ((r = lb_insn_decode(src + off, avail - off, &in)) != LB_OK)
			return r;
		if (off + in.len > LB_HOOK_STOLEN_MAX || off + in.len > dst_cap)
			return LB_E_UNSUPPORTED;
		memcpy(dst + off, src + off, in.len);
		if (in.rip_disp_at != 0) {
			/* the operand's absolute address stays; the displacement
			 * is from the end of the instruction */
			memcpy(&d32, src + off + in.rip_disp_at, 4);
			disp = (int64_t)d32 + (int64_t)(src_ip - dst_ip);
			if (disp < INT32_MIN || disp > INT32_MAX)
				return LB_E_RANGE;
			d32 = (int32_t)disp;
			memcpy(dst + off + in.rip_disp_at, &d32, 4);
		}
		off += in.len;
	}
	*copied = off;
	return LB_OK;
}

/* P := jmp [rip+0]; dq TO. */
static void
lb_abs_jmp(uint8_t *p, const void *to)
{
	uint64_t a = (uint64_t)(uintptr_t)to;

	p[0] = 0xFF;
	p[1] = 0x25;
	memset(p + 2, 0, 4);
	memcpy(p + 6, &a, 8);
}

/* A block of LB_BLOCK executable bytes within 2 GB of AT (rel32 reach). */
static uint8_t *
lb_block_near(const uint8_t *at)
{
	const uintptr_t gran = 0x10000, reach = 0x7FF00000u;
	const uintptr_t base = (uintptr_t)at & ~(gran - 1);
	uintptr_t k;
	void *b;

	for (k = gran; k < reach; k += gran) {
		if (base > k && (b = VirtualAlloc((void *)(base - k), LB_BLOCK, MEM_RESERVE | MEM_COMMIT,
		    PAGE_EXECUTE_READWRITE)) != NULL)
			return b;
		if (base + k > base && (b = VirtualAlloc((void *)(base + k), LB_BLOCK, MEM_RESERVE | MEM_COMMIT,
		    PAGE_EXECUTE_READWRITE)) != NULL)
			return b;
	}
	return NULL;
}

int
lb_hook_install(void *target, void *detour, void **trampoline)
{
	uint8_t *fn = lb_hook_follow(target), *blk, patch[LB_HOOK_PATCH];
	size_t stolen = 0, i;
	int64_t rel;
	int32_t rel32;
	DWORD old, ignored;
	int r;

	*trampoline = NULL;
	if (fn == NULL || detour == NULL)
		return LB_E_INVAL;
	if ((blk = lb_block_near(fn)) == NULL)
		return LB_E_NOMEM;
	if ((r = lb_hook_relocate(fn, LB_HOOK_STOLEN_MAX, (uint64_t)(uintptr_t)fn, blk, LB_RELAY_AT - LB_ABS_JMP,
	    (uint64_t)(uintptr_t)blk, LB_HOOK_PATCH, &stolen)) != LB_OK) {
		VirtualFree(blk, 0, MEM_RELEASE);
		return r;
	}
	/* trampoline: the moved instructions, then back to the rest */
	lb_abs_jmp(blk + stolen, fn + stolen);
	/* relay: where the patch jumps (rel32 reaches it), on to the detour */
	lb_abs_jmp(blk + LB_RELAY_AT, detour);
	rel = (int64_t)(uintptr_t)(blk + LB_RELAY_AT) - (int64_t)(uintptr_t)(fn + LB_HOOK_PATCH);
	if (rel < INT32_MIN || rel > INT32_MAX) {
		VirtualFree(blk, 0, MEM_RELEASE);
		return LB_E_RANGE;
	}
	rel32 = (int32_t)rel;
	patch[0] = 0xE9;
	memcpy(patch + 1, &rel32, 4);
	if (!VirtualProtect(fn, stolen, PAGE_EXECUTE_READWRITE, &old)) {
		VirtualFree(blk, 0, MEM_RELEASE);
		return LB_E_IO;
	}
	memcpy(fn, patch, LB_HOOK_PATCH);
	for (i = LB_HOOK_PATCH; i < stolen; i++)
		fn[i] = 0xCC;
	(void)VirtualProtect(fn, stolen, old, &ignored);
	(void)FlushInstructionCache(GetCurrentProcess(), fn, stolen);
	(void)VirtualProtect(blk, LB_BLOCK, PAGE_EXECUTE_READ, &ignored);
	*trampoline = blk;
	return LB_OK;
}
