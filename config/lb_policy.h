/* lb_policy: the administrator's policy (broker settings, enrolled keys,
 * rules) and the decision on one request: default deny, deny overrides. */
#ifndef LB_POLICY_H
#define LB_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "lb_buf.h"
#include "lb_err.h"
#include "lb_path.h"
#include "lb_sig.h"
#include "lb_wire.h"

#define LB_POLICY_FILE_MAX (4 * 1024 * 1024)
#define LB_POLICY_LINE_MAX 4000    /* below inih's INI_MAX_LINE: never cut */
#define LB_POLICY_NAME_MAX 64      /* rule and key names */
#define LB_POLICY_PRINCIPAL_MAX 256   /* a user or group name (or DOMAIN\NAME) in the policy, in bytes */
#define LB_POLICY_WARN_BYTES 65536    /* warnings kept for check-config; more are only counted */

enum lb_action {
	LB_ACTION_DENY = 0,
	LB_ACTION_ALLOW = 1,
};

enum lb_audit_sync {
	LB_AUDIT_SYNC_BATCH = 0,
	LB_AUDIT_SYNC_ALWAYS = 1,
};

struct lb_broker_cfg {
	char *endpoint;
	char *audit_log;
	char *service_key;
	char *service_public_key;
	enum lb_audit_sync audit_sync;
	uint32_t max_clients;
	uint32_t io_timeout_ms;
	uint32_t max_clock_skew_s;
	uint32_t requests_per_sec;      /* per OS identity: a token bucket */
	uint32_t requests_burst;
};

struct lb_key_entry {
	char *name;
	char *user;            /* exactly one of user and sid */
	char *sid;
	uint8_t pk[LB_PK_BYTES];
	unsigned line;
};

/* A link_under / target_under entry: "*", a fixed canonical path, or a
 * template with %VARIABLES% expanded per request. */
struct lb_pattern {
	int any;
	int has_vars;
	char *text;            /* as written (templates) */
	size_t tmpl_id;        /* templates: equal texts share an id */
	struct lb_path path;   /* canonical, when fixed */
};

struct lb_rule {
	char *name;
	unsigned line;
	enum lb_action action;
	char **users;   size_t n_users;   int any_user;
	char **groups;  size_t n_groups;  int any_group;
	unsigned kinds;                   /* bit (1u << kind) */
	struct lb_pattern *link_under;    size_t n_link_under;
	struct lb_pattern *target_under;  size_t n_target_under;
};

/* A directory no link may be created in, whatever the rules say. */
struct lb_floor {
	struct lb_path dir;
	const char *why;       /* static text */
};

struct lb_policy_index;

struct lb_policy {
	enum lb_flavor flavor;
	struct lb_broker_cfg broker;
	struct lb_key_entry *keys;  size_t n_keys;
	struct lb_rule *rules;      size_t n_rules;
	struct lb_floor *floors;    size_t n_floors;
	size_t n_templates;         /* distinct %VARIABLE% templates */
	struct lb_policy_index *index;
	/* What a valid policy should still change, one "NAME:LINE: warning:
	 * message\n" line each (docs/policy.md, "Warnings"); at most
	 * LB_POLICY_WARN_BYTES, n_warnings counts them all. */
	struct lb_buf warnings;
	size_t n_warnings;
};

/* One group of the client, as the OS reports it. In the Windows flavour
 * NAME is the qualified name "DOMAIN\NAME" the OS gives (LookupAccountSidW;
 * just "NAME" for groups without a domain, such as Everyone): a policy's
 * "DOMAIN\NAME" matches it whole, a bare "NAME" matches the part after
 * the backslash. POSIX names are compared whole. */
struct lb_group {
	const char *name;      /* may be NULL */
	const char *sid;       /* may be NULL (POSIX) */
	int deny_only;         /* Windows deny-only group: matches deny rules only */
};

/* The client, as the OS reports it: never from the request. USER is the
 * bare account name (what %USERNAME% gives, as Windows' own %USERNAME%);
 * in the Windows flavour DOMAIN is its domain (the computer's name for a
 * local account) or NULL when unknown, and a policy's "DOMAIN\NAME"
 * matches only when both parts do. */
struct lb_principal {
	const char *user;
	const char *sid;       /* Windows SID, POSIX uid as decimal; may be NULL */
	const char *home;      /* profile / home directory; may be NULL */
	const struct lb_group *groups;
	size_t n_groups;
	const char *domain;    /* Windows: the user's domain; NULL if unknown (and on POSIX) */
};

enum lb_reason {
	LB_REASON_NONE = 0,
	LB_REASON_NO_RULE,         /* default deny */
	LB_REASON_RULE_DENY,       /* an explicit deny rule matched */
	LB_REASON_RULE_ALLOW,      /* an allow rule matched, no deny */
	LB_REASON_FLOOR,           /* a built-in floor */
};

struct lb_decision {
	enum lb_verdict verdict;   /* LB_VERDICT_DENY unless explicitly allowed */
	enum lb_reason reason;
	const struct lb_rule *rule;      /* deciding rule, for RULE_* */
	const struct lb_floor *floor;    /* for FLOOR with a directory */
	const char *floor_why;           /* for FLOOR */
};

/* Load a policy from DATA (LEN bytes). NAME is used in messages. On error,
 * returns LB_E_CONFIG (or LB_E_NOMEM) and, if ERR is not NULL, appends
 * "NAME:LINE: message" to it (LINE 0 for whole-file problems: "NAME: message"). */
int lb_policy_load_buffer(const char *name, const char *data, size_t len,
    enum lb_flavor flavor, struct lb_policy **out, struct lb_buf *err) LB_WUR;
/* Read FILE (at most LB_POLICY_FILE_MAX bytes) and load it. */
int lb_policy_load_file(const char *file, enum lb_flavor flavor,
    struct lb_policy **out, struct lb_buf *err) LB_WUR;
void lb_policy_free(struct lb_policy *p);
/* Set the [broker] setting KEY to VALUE (text, as the INI would write it)
 * in the loaded policy P, checked exactly as the loader checks that key
 * (same ranges, same messages): for settings from another source, such as
 * Windows Group Policy. Only keys that name no file (audit_sync,
 * max_clients, io_timeout_ms, max_clock_skew_s, requests_per_sec,
 * requests_burst): the floors made at load depend on the others. LB_OK,
 * or LB_E_CONFIG with "NAME: KEY: message" appended to ERR (if not NULL)
 * and P unchanged. */
int lb_policy_set_broker(struct lb_policy *p, const char *name, const char *key,
    const char *value, struct lb_buf *err) LB_WUR;

/* Add a floor directory (an absolute path in the policy's flavour), e.g. the
 * real %SystemRoot% or the directory the policy file was read from. */
int lb_policy_add_floor(struct lb_policy *p, const char *dir, const char *why) LB_WUR;

/* Decide on canonical absolute LINK and TARGET (TARGET already resolved
 * against the link's parent). Returns LB_OK with *d filled, or an error
 * (then d->verdict is DENY). */
int lb_policy_decide(const struct lb_policy *p, const struct lb_principal *who,
    enum lb_kind kind, const struct lb_path *link, const struct lb_path *target,
    struct lb_decision *d) LB_WUR;

/* Lexical front end: canonicalise LINK (must be absolute) and TARGET
 * (relative targets of symbolic links resolve against the link's parent;
 * hard link and junction targets must be absolute), then decide. On success
 * *link_out and *target_out hold the canonical paths (caller frees). An
 * input error returns its LB_E_PATH_* code and, in WHICH, "link" or "target". */
int lb_policy_decide_strings(const struct lb_policy *p,
    const struct lb_principal *who, enum lb_kind kind,
    const char *link, size_t link_len, const char *target, size_t target_len,
    struct lb_decision *d, struct lb_path *link_out, struct lb_path *target_out,
    const char **which) LB_WUR;

/* One line of text explaining D, e.g. `rule "dev" allows` or
 * `no rule allows this link`, appended to OUT. */
int lb_decision_describe(const struct lb_decision *d, struct lb_buf *out) LB_WUR;

/* 1 if ENTRY -- a user name, "DOMAIN\NAME" (Windows flavour) or a SID,
 * as in users = and [key:X] user = -- names WHO's user, else 0. Names
 * compare as lb_name_equal does (case-insensitive in the Windows flavour);
 * a bare name matches the bare user name whatever the domain. */
int lb_policy_names_user(const struct lb_policy *p, const char *entry,
    const struct lb_principal *who) LB_WUR;

const struct lb_key_entry *lb_policy_find_key(const struct lb_policy *p,
    const uint8_t pk[LB_PK_BYTES]);

#endif
