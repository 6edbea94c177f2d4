/* lb_audit_cmd: `linkbrokerd verify-audit`, the auditor's offline check of
 * an audit log's hash chain and (with a policy) its request signatures. */
#ifndef LB_AUDIT_CMD_H
#define LB_AUDIT_CMD_H

/* ARGV[0] is "verify-audit"; then FILE [--config FILE] [--flavor windows|posix].
 * Returns the exit code: 0 intact ("FILE: intact, N records" on stdout),
 * 1 broken ("FILE:LINE: what is wrong" on stderr), 2 usage, unreadable
 * log or bad policy. */
int lb_cmd_verify_audit(int argc, char **argv);

#endif
