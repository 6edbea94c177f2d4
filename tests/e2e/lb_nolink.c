/* lb_nolink: run a command where symlink(2), symlinkat(2), link(2) and
 * linkat(2) fail with EPERM (a seccomp filter), as creating a symbolic
 * link fails on Windows for a user without the privilege: every link the
 * command makes must then come through the broker (`linkbroker run`).
 * Test helper for tests/e2e/tools.sh.
 *   lb_nolink COMMAND [ARGS...]
 * Exit 77 with the reason where the filter cannot be installed. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#if defined(__x86_64__)
#define LB_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define LB_ARCH AUDIT_ARCH_AARCH64
#endif

#define LB_DENY(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

int
main(int argc, char **argv)
{
#ifdef LB_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		/* another ABI (x32, i386 through int 0x80): refused outright */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LB_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#ifdef __NR_symlink
		LB_DENY(__NR_symlink),
#endif
#ifdef __NR_link
		LB_DENY(__NR_link),
#endif
		LB_DENY(__NR_symlinkat),
		LB_DENY(__NR_linkat),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };

	if (argc < 2) {
		fputs("usage: lb_nolink COMMAND [ARGS...]\n", stderr);
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		printf("SKIP: cannot install a seccomp filter: %s\n", strerror(errno));
		return 77;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "lb_nolink: %s: %s\n", argv[1], strerror(errno));
	return 127;
#else
	(void)argc;
	(void)argv;
	puts("SKIP: lb_nolink knows the seccomp architecture of x86_64 and aarch64 only");
	return 77;
#endif
}
