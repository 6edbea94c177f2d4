/* lb_audit_cmd: `linkbrokerd verify-audit`, the auditor's offline check of
 * an audit log's hash chain and (with a policy) its request signatures,
 * and `linkbrokerd audit` (lb_audit_query.c), which reads the records. */
#ifndef LB_AUDIT_CMD_H
#define LB_AUDIT_CMD_H

#include <stddef.h>
#include <stdio.h>

#include "lb_path.h"

/* The path flavour policies default to, decided by the build (these
 * files are portable and do not ask the OS). */
#ifndef LB_NATIVE_FLAVOR
#define LB_NATIVE_FLAVOR LB_FLAVOR_POSIX
#endif

/* Exit codes: 0 intact, 1 broken, 2 (LB_EXIT_BAD_INPUT) cannot tell, 3 a
 * file of the set is missing, 4 the set's names contradict its chain. */
#define LB_VERIFY_BROKEN 1
#define LB_VERIFY_MISSING 3
#define LB_VERIFY_REORDERED 4

/* ARGV[0] is "verify-audit"; then FILE [--config FILE] [--flavor windows|posix].
 * Returns the exit code: 0 intact ("FILE: intact, N records" on stdout),
 * 1 broken ("FILE:LINE: what is wrong" on stderr), 2 usage, unreadable
 * log or bad policy. */
int lb_cmd_verify_audit(int argc, char **argv);

/* ARGV[0] is "audit": the records of a log (or rotated set) chosen by
 * filters, as a table or JSON lines (lb_audit_query.c, docs/audit.md). */
int lb_cmd_audit(int argc, char **argv);

/* The set FILES verified as verify-audit does, signatures too with the
 * policy CONFIG (may be NULL); returns verify-audit's exit code. What the
 * check says goes to OK_OUT when intact (NULL: nowhere), to stderr after
 * the line FAIL_INTRO (may be NULL) when not. KEEP (may be NULL): when
 * intact, the policy loaded from CONFIG (NULL without one), the caller's
 * to free. */
struct lb_policy;
int lb_verify_run(const char *const *files, size_t n, const char *config, enum lb_flavor flavor,
    FILE *ok_out, const char *fail_intro, struct lb_policy **keep);
void lb_put_display_cstr(FILE *f, const char *s);

#endif
