/* lb_policy_int: what the policy loader and the evaluator share, not part of
 * the public interface. */
#ifndef LB_POLICY_INT_H
#define LB_POLICY_INT_H

#include "lb_policy.h"

/* Compile TEXT into PAT (absolute path, "*" or a %VARIABLE% template).
 * On error returns LB_E_CONFIG and sets *why to a static message. */
int lb_pattern_compile(enum lb_flavor flavor, const char *text,
    struct lb_pattern *pat, const char **why) LB_WUR;
void lb_pattern_free(struct lb_pattern *pat);

/* Expand a template for WHO and canonicalise it (must be absolute). */
int lb_pattern_expand(enum lb_flavor flavor, const char *text,
    const struct lb_principal *who, struct lb_path *out) LB_WUR;

/* 1 if S looks like a SID ("S-1-" then dash-separated decimal numbers). */
int lb_is_sid(const char *s);

/* Build the principal index and the built-in floors of a loaded policy. */
int lb_policy_finish(struct lb_policy *p) LB_WUR;

#endif
