/* lb_hook_win and lb_shim_map_win: the x64 decoder on fixed bytes (the
 * prologues Windows functions start with, and what must be refused),
 * RIP-relative relocation byte for byte, jump stubs followed, a hook on
 * code written here and on the real CreateSymbolicLinkW, the shim's
 * decisions and error mapping, and the command line linkbroker run
 * builds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <windows.h>
#include <shellapi.h>

#include <string.h>
#include <wchar.h>

#include "lb_hook_win.h"
#include "lb_shim_map_win.h"

struct decode_case {
	const char *what;
	uint8_t bytes[16];
	size_t n;
	int rc;
	size_t len, rip_at;
};

static const struct decode_case decode_cases[] = {
	{ "mov [rsp+8], rbx", { 0x48, 0x89, 0x5C, 0x24, 0x08 }, 5, LB_OK, 5, 0 },
	{ "push rdi", { 0x57 }, 1, LB_OK, 1, 0 },
	{ "push rbx (rex)", { 0x40, 0x53 }, 2, LB_OK, 2, 0 },
	{ "sub rsp, 0x60", { 0x48, 0x83, 0xEC, 0x60 }, 4, LB_OK, 4, 0 },
	{ "sub rsp, 0x100", { 0x48, 0x81, 0xEC, 0x00, 0x01, 0x00, 0x00 }, 7, LB_OK, 7, 0 },
	{ "mov r11, rsp", { 0x4C, 0x8B, 0xDC }, 3, LB_OK, 3, 0 },
	{ "mov rax, [rip+d]", { 0x48, 0x8B, 0x05, 0x10, 0x00, 0x00, 0x00 }, 7, LB_OK, 7, 3 },
	{ "lea rcx, [rip+d]", { 0x48, 0x8D, 0x0D, 0xF0, 0xFF, 0xFF, 0xFF }, 7, LB_OK, 7, 3 },
	{ "test byte [rip+d], 1", { 0xF6, 0x05, 0x01, 0x02, 0x03, 0x04, 0x01 }, 7, LB_OK, 7, 2 },
	{ "cmp dword [rip+d], 0", { 0x83, 0x3D, 0x01, 0x02, 0x03, 0x04, 0x00 }, 7, LB_OK, 7, 2 },
	{ "mov qword [rsp+0x28], imm32", { 0x48, 0xC7, 0x44, 0x24, 0x28, 1, 0, 0, 0 }, 9, LB_OK, 9, 0 },
	{ "mov eax, imm32", { 0xB8, 1, 2, 3, 4 }, 5, LB_OK, 5, 0 },
	{ "mov rax, imm64", { 0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, LB_OK, 10, 0 },
	{ "nop dword [rax+rax+0]", { 0x0F, 0x1F, 0x44, 0x00, 0x00 }, 5, LB_OK, 5, 0 },
	{ "nop word [rax+rax+0] (disp32)", { 0x66, 0x0F, 0x1F, 0x84, 0x00, 0, 0, 0, 0 }, 9, LB_OK, 9, 0 },
	{ "movaps [rsp+0x20], xmm6", { 0x0F, 0x29, 0x74, 0x24, 0x20 }, 5, LB_OK, 5, 0 },
	{ "xor eax, eax", { 0x33, 0xC0 }, 2, LB_OK, 2, 0 },
	{ "mov [rsp+disp32], rbp", { 0x48, 0x89, 0xAC, 0x24, 0x00, 0x01, 0x00, 0x00 }, 8, LB_OK, 8, 0 },
	{ "push [rip+d]", { 0xFF, 0x35, 1, 2, 3, 4 }, 6, LB_OK, 6, 2 },
	{ "call rel32", { 0xE8, 1, 2, 3, 4 }, 5, LB_E_UNSUPPORTED, 0, 0 },
	{ "jmp rel32", { 0xE9, 1, 2, 3, 4 }, 5, LB_E_UNSUPPORTED, 0, 0 },
	{ "jmp rel8", { 0xEB, 0x10 }, 2, LB_E_UNSUPPORTED, 0, 0 },
	{ "jne rel8", { 0x75, 0x10 }, 2, LB_E_UNSUPPORTED, 0, 0 },
	{ "je rel32", { 0x0F, 0x84, 1, 2, 3, 4 }, 6, LB_E_UNSUPPORTED, 0, 0 },
	{ "call [rip+d]", { 0xFF, 0x15, 1, 2, 3, 4 }, 6, LB_E_UNSUPPORTED, 0, 0 },
	{ "jmp [rip+d]", { 0xFF, 0x25, 1, 2, 3, 4 }, 6, LB_E_UNSUPPORTED, 0, 0 },
	{ "ret", { 0xC3 }, 1, LB_E_UNSUPPORTED, 0, 0 },
	{ "int3", { 0xCC }, 1, LB_E_UNSUPPORTED, 0, 0 },
	{ "syscall", { 0x0F, 0x05 }, 2, LB_E_UNSUPPORTED, 0, 0 },
	{ "cut short", { 0x48, 0x8B, 0x05, 0x10 }, 4, LB_E_SHORT, 0, 0 },
};

static void
test_decoder_table(void **state)
{
	struct lb_insn in;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		const struct decode_case *c = &decode_cases[i];

		print_message("%s\n", c->what);
		assert_int_equal(lb_insn_decode(c->bytes, c->n, &in), c->rc);
		if (c->rc != LB_OK)
			continue;
		assert_int_equal(in.len, c->len);
		assert_int_equal(in.rip_disp_at, c->rip_at);
	}
}

/* mov rax, [rip+0x10]; push rdi, moved from 0x1000 to 0x2000: the
 * operand still names 0x1017 (0x1007 + 0x10), so the displacement from
 * 0x2007 is 0x10 - 0x1000. */
static void
test_relocation_keeps_rip_relative_operands(void **state)
{
	static const uint8_t src[] = { 0x48, 0x8B, 0x05, 0x10, 0x00, 0x00, 0x00, 0x57, 0x90, 0x90 };
	static const uint8_t want[] = { 0x48, 0x8B, 0x05, 0x10, 0xF0, 0xFF, 0xFF, 0x57 };
	static const uint8_t stub[] = { 0xE9, 1, 2, 3, 4, 0x90 };
	uint8_t dst[32];
	size_t copied;

	(void)state;
	memset(dst, 0xAA, sizeof(dst));
	assert_int_equal(lb_hook_relocate(src, sizeof(src), 0x1000, dst, sizeof(dst), 0x2000, 5, &copied), LB_OK);
	assert_int_equal(copied, 7);   /* whole instructions covering 5 bytes */
	assert_int_equal(lb_hook_relocate(src, sizeof(src), 0x1000, dst, sizeof(dst), 0x2000, 8, &copied), LB_OK);
	assert_int_equal(copied, 8);
	assert_memory_equal(dst, want, sizeof(want));
	assert_int_equal(dst[8], 0xAA);   /* nothing past it */
	/* beyond rel32's reach */
	assert_int_equal(lb_hook_relocate(src, sizeof(src), 0x1000, dst, sizeof(dst), 0x1000 + 0x100000000ull, 5,
	    &copied), LB_E_RANGE);
	/* a function that starts with a branch is not moved */
	assert_int_equal(lb_hook_relocate(stub, sizeof(stub), 0x1000, dst, sizeof(dst), 0x2000, 5, &copied),
	    LB_E_UNSUPPORTED);
}

static void
test_jump_stubs_are_followed(void **state)
{
	/* [0] jmp [rip+2] -> the address stored at [8]; [16] rex.w jmp [rip+d]; [32] jmp rel32 */
	uint8_t code[64];
	void *to = code + 48, *slot_to = code + 32;
	int32_t d;

	(void)state;
	memset(code, 0x90, sizeof(code));
	code[0] = 0xFF;
	code[1] = 0x25;
	d = 2;
	memcpy(code + 2, &d, 4);
	memcpy(code + 8, &slot_to, 8);
	code[32] = 0xE9;
	d = 48 - 37;
	memcpy(code + 33, &d, 4);
	assert_ptr_equal(lb_hook_follow(code), to);
	code[16] = 0x48;
	code[17] = 0xFF;
	code[18] = 0x25;
	d = 8 - 23;   /* the same slot */
	memcpy(code + 19, &d, 4);
	assert_ptr_equal(lb_hook_follow(code + 16), to);
	assert_ptr_equal(lb_hook_follow(code + 48), code + 48);   /* not a stub */
}

typedef long long (*fn1)(long long);

static long long
times100(long long x)
{
	return x * 100;
}

/* sub rsp,0x28; lea rax,[rcx+1]; add rsp,0x28; ret: x + 1, written here
 * so that its bytes are known. */
static void
test_hook_on_known_code(void **state)
{
	static const uint8_t body[] = { 0x48, 0x83, 0xEC, 0x28, 0x48, 0x8D, 0x41, 0x01, 0x48, 0x83, 0xC4, 0x28, 0xC3 };
	uint8_t *code = VirtualAlloc(NULL, 4096, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE);
	void *tramp = NULL;
	fn1 f;

	(void)state;
	assert_non_null(code);
	memcpy(code, body, sizeof(body));
	f = (fn1)(void (*)(void))code;
	assert_int_equal(f(41), 42);
	assert_int_equal(lb_hook_install(code, (void *)times100, &tramp), LB_OK);
	assert_non_null(tramp);
	assert_int_equal(code[0], 0xE9);   /* the patch */
	assert_int_equal(code[5], 0xCC);   /* the rest of the moved lea */
	assert_int_equal(f(3), 300);       /* every caller reaches the detour */
	assert_int_equal(((fn1)(void (*)(void))tramp)(3), 4);   /* the original still runs */
}

typedef BOOLEAN (WINAPI *symlink_fn)(LPCWSTR, LPCWSTR, DWORD);
static symlink_fn real_symlink;
static int detour_calls;

static BOOLEAN WINAPI
symlink_detour(LPCWSTR link, LPCWSTR target, DWORD flags)
{
	detour_calls++;
	return real_symlink(link, target, flags);
}

/* kernel32's CreateSymbolicLinkW, found as git finds it: every call goes
 * through the detour, which reaches the implementation. */
static void
test_hook_on_create_symbolic_link(void **state)
{
	symlink_fn f = (symlink_fn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"kernel32.dll"),
	    "CreateSymbolicLinkW");
	const uint8_t *at;
	BOOLEAN before, after;
	DWORD e_before, e_after;
	wchar_t link[MAX_PATH];
	int r;

	(void)state;
	assert_non_null(f);
	at = lb_hook_follow((void *)f);
	print_message("CreateSymbolicLinkW at %p starts %02x %02x %02x %02x %02x %02x %02x %02x\n",
	    (const void *)at, at[0], at[1], at[2], at[3], at[4], at[5], at[6], at[7]);
	assert_true(GetTempPathW(MAX_PATH - 32, link) > 0);
	wcscat_s(link, MAX_PATH, L"lb-hook-test-link");
	SetLastError(0);
	before = f(link, L"C:\\no-such-target", 0);
	e_before = GetLastError();
	(void)DeleteFileW(link);
	r = lb_hook_install((void *)f, (void *)symlink_detour, (void **)&real_symlink);
	assert_int_equal(r, LB_OK);
	SetLastError(0);
	after = f(link, L"C:\\no-such-target", 0);
	e_after = GetLastError();
	(void)DeleteFileW(link);
	assert_int_equal(detour_calls, 1);
	assert_int_equal(after, before);
	assert_int_equal(e_after, e_before);
}

static void
test_shim_asks_only_for_the_missing_privilege(void **state)
{
	(void)state;
	assert_int_equal(lb_shim_should_ask(0, ERROR_PRIVILEGE_NOT_HELD, 0, 0), 1);
	assert_int_equal(lb_shim_should_ask(1, 0, 0, 0), 0);
	assert_int_equal(lb_shim_should_ask(0, ERROR_ALREADY_EXISTS, 0, 0), 0);
	assert_int_equal(lb_shim_should_ask(0, ERROR_PATH_NOT_FOUND, 0, 0), 0);
	assert_int_equal(lb_shim_should_ask(0, ERROR_ACCESS_DENIED, 0, 0), 0);
	/* the unprivileged flag refused by a Windows that predates it */
	assert_int_equal(lb_shim_should_ask(0, ERROR_INVALID_PARAMETER,
	    SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE, 0), 1);
	assert_int_equal(lb_shim_should_ask(0, ERROR_INVALID_PARAMETER, 0, 0), 0);
	/* LINKBROKER_SHIM_MODE=always */
	assert_int_equal(lb_shim_should_ask(1, 0, 0, 1), 1);
}

static void
test_shim_error_mapping(void **state)
{
	(void)state;
	assert_int_equal(lb_shim_win_error(LB_OK), ERROR_SUCCESS);
	assert_int_equal(lb_shim_win_error(LB_E_DENIED), ERROR_ACCESS_DENIED);
	assert_int_equal(lb_shim_win_error(LB_E_PERM), ERROR_ACCESS_DENIED);
	assert_int_equal(lb_shim_win_error(LB_E_EXISTS), ERROR_ALREADY_EXISTS);
	assert_int_equal(lb_shim_win_error(LB_E_NOENT), ERROR_PATH_NOT_FOUND);
	assert_int_equal(lb_shim_win_error(LB_E_NOT_DIR), ERROR_DIRECTORY);
	assert_int_equal(lb_shim_win_error(LB_E_UNSUPPORTED), ERROR_NOT_SUPPORTED);
	assert_int_equal(lb_shim_win_error(LB_E_PATH_LONG), ERROR_FILENAME_EXCED_RANGE);
	/* no final answer: the caller keeps the direct call's error */
	assert_int_equal(lb_shim_win_error(LB_E_UNREACHABLE), LB_SHIM_NO_ANSWER);
	assert_int_equal(lb_shim_win_error(LB_E_NOT_GENUINE), LB_SHIM_NO_ANSWER);
	assert_int_equal(lb_shim_win_error(LB_E_KEY_UNKNOWN), LB_SHIM_NO_ANSWER);
	assert_int_equal(lb_shim_win_error(LB_E_TIMEOUT), LB_SHIM_NO_ANSWER);
}

/* Each argument comes back exactly through CommandLineToArgvW. */
static void
test_command_line_round_trips(void **state)
{
	static const wchar_t *const args[] = {
		L"git", L"clone", L"", L"with space", L"tab\there", L"quote\"in", L"trail\\",
		L"C:\\Program Files\\x\\", L"back\\\\\"slash", L"\\\\server\\share", L"plain\\path",
	};
	const size_t n = sizeof(args) / sizeof(args[0]);
	wchar_t line[1024], tiny[8];
	wchar_t **argv;
	size_t len = 0, i;
	int argc;

	(void)state;
	line[0] = L'\0';
	for (i = 0; i < n; i++)
		assert_int_equal(lb_cmdline_append(line, 1024, &len, args[i]), LB_OK);
	assert_int_equal(wcslen(line), len);
	argv = CommandLineToArgvW(line, &argc);
	assert_non_null(argv);
	assert_int_equal(argc, (int)n);
	for (i = 1; i < n; i++)   /* argv[0] follows other rules: a plain name here */
		assert_true(wcscmp(argv[i], args[i]) == 0);
	LocalFree(argv);
	len = 0;
	assert_int_equal(lb_cmdline_append(tiny, 8, &len, L"longer than eight"), LB_E_TOOBIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decoder_table),
		cmocka_unit_test(test_relocation_keeps_rip_relative_operands),
		cmocka_unit_test(test_jump_stubs_are_followed),
		cmocka_unit_test(test_hook_on_known_code),
		cmocka_unit_test(test_hook_on_create_symbolic_link),
		cmocka_unit_test(test_shim_asks_only_for_the_missing_privilege),
		cmocka_unit_test(test_shim_error_mapping),
		cmocka_unit_test(test_command_line_round_trips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
