/* lb_identity: may a Windows pipe client be served, and as whom? Decided on a
 * plain description of its impersonation token; service/win/ only fills it. */
#ifndef LB_IDENTITY_H
#define LB_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "lb_broker.h"
#include "lb_err.h"
#include "lb_policy.h"

/* SID_AND_ATTRIBUTES.Attributes bits (SE_GROUP_*), values as documented for
 * TOKEN_GROUPS in winnt.h:
 * https://learn.microsoft.com/en-us/windows/win32/api/winnt/ns-winnt-token_groups
 * (the Windows build checks them against winnt.h in tests/unit/test_identity.c). */
#define LB_SE_GROUP_MANDATORY          UINT32_C(0x00000001)
#define LB_SE_GROUP_ENABLED_BY_DEFAULT UINT32_C(0x00000002)
#define LB_SE_GROUP_ENABLED            UINT32_C(0x00000004)
#define LB_SE_GROUP_OWNER              UINT32_C(0x00000008)
#define LB_SE_GROUP_USE_FOR_DENY_ONLY  UINT32_C(0x00000010)
#define LB_SE_GROUP_INTEGRITY          UINT32_C(0x00000020)
#define LB_SE_GROUP_INTEGRITY_ENABLED  UINT32_C(0x00000040)
#define LB_SE_GROUP_RESOURCE           UINT32_C(0x20000000)
#define LB_SE_GROUP_LOGON_ID           UINT32_C(0xC0000000)

/* SECURITY_IMPERSONATION_LEVEL (winnt.h; MS-LSAD 2.2.3.5):
 * https://learn.microsoft.com/en-us/windows/win32/api/winnt/ne-winnt-security_impersonation_level */
#define LB_SECURITY_ANONYMOUS      0
#define LB_SECURITY_IDENTIFICATION 1
#define LB_SECURITY_IMPERSONATION  2
#define LB_SECURITY_DELEGATION     3

/* Mandatory integrity levels: the RID of the label SID S-1-16-RID
 * (winnt.h SECURITY_MANDATORY_*_RID). Medium is the least served. */
#define LB_INTEGRITY_UNTRUSTED UINT32_C(0x0000)
#define LB_INTEGRITY_LOW       UINT32_C(0x1000)
#define LB_INTEGRITY_MEDIUM    UINT32_C(0x2000)
#define LB_INTEGRITY_HIGH      UINT32_C(0x3000)
#define LB_INTEGRITY_SYSTEM    UINT32_C(0x4000)

/* A SID has at most 15 sub-authorities (winnt.h SID_MAX_SUB_AUTHORITIES). */
#define LB_SID_MAX_SUB_AUTHORITIES 15

/* A yes/no fact read from the token. Zero means "not read" and is refused
 * like "yes": a description the Windows layer forgot to fill, or a query
 * that failed, never lets a client through. */
enum lb_token_fact {
	LB_TOKEN_UNREAD = 0,
	LB_TOKEN_NO = 1,
	LB_TOKEN_YES = 2,
};

/* One TOKEN_GROUPS entry. SID strings are as ConvertSidToStringSidW writes
 * them (converted to UTF-8): "S-1-", then decimal numbers without leading
 * zeros. NAME is LookupAccountSidW's qualified name "DOMAIN\NAME" (just
 * "NAME" when it gives an empty domain, as for Everyone), or NULL when
 * unknown or not looked up (lb_identity_group_is_named). */
struct lb_token_group {
	const char *sid;
	const char *name;
	uint32_t attributes;           /* LB_SE_GROUP_* */
};

/* What the Windows layer reads from the client's impersonation token with
 * GetTokenInformation. Zero-initialise it: every field left zero refuses
 * the client (no level, no SID, no integrity, facts unread) except
 * user_attributes, whose normal value is 0. */
struct lb_token_desc {
	const char *user_sid;          /* TokenUser */
	uint32_t user_attributes;      /* TokenUser's attributes (deny-only user SID: refused) */
	const char *user_name;         /* LookupAccountSidW's bare name; NULL or "" if unknown */
	const char *user_domain;       /* ...and its domain (the computer's name for a local
	                                  account); NULL or "" if unknown */
	const char *profile_dir;       /* GetUserProfileDirectoryW; may be NULL */
	int impersonation_level;       /* TokenImpersonationLevel: LB_SECURITY_* */
	const char *integrity_sid;     /* TokenIntegrityLevel, e.g. "S-1-16-8192" */
	enum lb_token_fact is_appcontainer;  /* TokenIsAppContainer */
	enum lb_token_fact is_restricted;    /* TokenRestrictedSids: GroupCount > 0 */
	const struct lb_token_group *groups;   /* TokenGroups */
	size_t n_groups;
};

/* Decide whether the client T describes may be served. On LB_OK, OUT->who
 * and OUT->id say who it is (OUT->plat is left alone):
 *   who.user = the bare user name, or the SID when the name is unknown;
 *   who.domain = the user's domain, or NULL when it or the name is unknown;
 *   who.sid = the user SID; who.home = the profile directory (may be NULL);
 *   who.groups = GROUPS_STORAGE[0..n): the enabled groups (deny_only = 0)
 *     and the deny-only groups (deny_only = 1), in token order; groups that
 *     are neither, logon-session SIDs (S-1-5-5-X-Y) and integrity labels
 *     (S-1-16-*) are left out; nothing is merged by name;
 *   id = the user SID.
 * OUT's strings point into T's strings, which must outlive OUT.
 * GROUPS_CAP >= T->n_groups always suffices.
 *
 * Refusals (checked in this order; WHY gets a sentence naming the reason):
 *   LB_E_INVAL            T or OUT is NULL, or T->groups is NULL with n_groups > 0
 *   LB_E_ID_LEVEL         impersonation level below SecurityImpersonation or unknown
 *   LB_E_ID_SID           user SID missing or not a canonical SID string
 *   LB_E_ID_ANONYMOUS     user is ANONYMOUS LOGON (S-1-5-7)
 *   LB_E_ID_RESTRICTED    restricted token (or not known not to be), or the
 *                         user SID is deny-only
 *   LB_E_ID_APPCONTAINER  AppContainer token (or not known not to be)
 *   LB_E_ID_INTEGRITY     integrity label missing, malformed or below medium
 *   LB_E_ID_SID           a group SID missing or malformed (fail closed: it
 *                         could be a deny group)
 *   LB_E_ID_ANONYMOUS     a group is ANONYMOUS LOGON (S-1-5-7)
 *   LB_E_ID_NETWORK       a group is NETWORK (S-1-5-2): a network logon
 *   LB_E_ID_APPCONTAINER  a group is an app package or capability SID (S-1-15-*)
 *   LB_E_TOOBIG           more groups to keep than GROUPS_CAP (never truncated:
 *                         a dropped group could be a deny group), or a user
 *                         SID longer than OUT->id holds
 * On any error OUT->who is zeroed and OUT->id is "". WHY may be NULL; on
 * success it is set to "". */
int lb_identity_from_token(const struct lb_token_desc *t, struct lb_peer *out,
    struct lb_group *groups_storage, size_t groups_cap, char *why, size_t whylen) LB_WUR;

/* 1 if a group of SID (a token group's SID string) is part of the
 * principal lb_identity_from_token builds, so its name may be needed by the
 * policy and the audit log; 0 for the groups it leaves out (logon session
 * S-1-5-5-X-Y, integrity labels S-1-16-*) and for SIDs it would refuse:
 * the Windows layer need not look those names up. */
int lb_identity_group_is_named(const char *sid);

#endif
