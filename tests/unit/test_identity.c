/* Pipe client identity from a described token (fake tokens: under Wine every
 * client is the same elevated admin, so only fakes reach the refusals):
 * who is served, as whom, with which groups, and every refusal's code and
 * reason. Runs natively and, cross-built, under Wine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lb_identity.h"
#include "lb_policy.h"

#ifdef _WIN32
#include <windows.h>
#include <sddl.h>

/* The documented values copied into lb_identity.h are winnt.h's. */
_Static_assert(LB_SE_GROUP_MANDATORY == SE_GROUP_MANDATORY, "SE_GROUP_MANDATORY");
_Static_assert(LB_SE_GROUP_ENABLED_BY_DEFAULT == SE_GROUP_ENABLED_BY_DEFAULT, "SE_GROUP_ENABLED_BY_DEFAULT");
_Static_assert(LB_SE_GROUP_ENABLED == SE_GROUP_ENABLED, "SE_GROUP_ENABLED");
_Static_assert(LB_SE_GROUP_OWNER == SE_GROUP_OWNER, "SE_GROUP_OWNER");
_Static_assert(LB_SE_GROUP_USE_FOR_DENY_ONLY == SE_GROUP_USE_FOR_DENY_ONLY, "SE_GROUP_USE_FOR_DENY_ONLY");
_Static_assert(LB_SE_GROUP_INTEGRITY == SE_GROUP_INTEGRITY, "SE_GROUP_INTEGRITY");
_Static_assert(LB_SE_GROUP_INTEGRITY_ENABLED == SE_GROUP_INTEGRITY_ENABLED, "SE_GROUP_INTEGRITY_ENABLED");
_Static_assert(LB_SE_GROUP_RESOURCE == (uint32_t)SE_GROUP_RESOURCE, "SE_GROUP_RESOURCE");
_Static_assert(LB_SE_GROUP_LOGON_ID == (uint32_t)SE_GROUP_LOGON_ID, "SE_GROUP_LOGON_ID");
_Static_assert(LB_SECURITY_ANONYMOUS == SecurityAnonymous, "SecurityAnonymous");
_Static_assert(LB_SECURITY_IDENTIFICATION == SecurityIdentification, "SecurityIdentification");
_Static_assert(LB_SECURITY_IMPERSONATION == SecurityImpersonation, "SecurityImpersonation");
_Static_assert(LB_SECURITY_DELEGATION == SecurityDelegation, "SecurityDelegation");
_Static_assert(LB_INTEGRITY_UNTRUSTED == SECURITY_MANDATORY_UNTRUSTED_RID, "untrusted");
_Static_assert(LB_INTEGRITY_LOW == SECURITY_MANDATORY_LOW_RID, "low");
_Static_assert(LB_INTEGRITY_MEDIUM == SECURITY_MANDATORY_MEDIUM_RID, "medium");
_Static_assert(LB_INTEGRITY_HIGH == SECURITY_MANDATORY_HIGH_RID, "high");
_Static_assert(LB_INTEGRITY_SYSTEM == SECURITY_MANDATORY_SYSTEM_RID, "system");
_Static_assert(LB_SID_MAX_SUB_AUTHORITIES == SID_MAX_SUB_AUTHORITIES, "SID_MAX_SUB_AUTHORITIES");
#endif

#define ALICE_SID "S-1-5-21-1004336348-1177238915-682003330-1001"
#define DOMAIN_USERS_SID "S-1-5-21-1004336348-1177238915-682003330-513"
#define TESTERS_SID "S-1-5-21-1004336348-1177238915-682003330-1105"
#define ADMINS_SID "S-1-5-32-544"
#define LOGON_SID "S-1-5-5-0-431162"

#define EN (LB_SE_GROUP_MANDATORY | LB_SE_GROUP_ENABLED_BY_DEFAULT | LB_SE_GROUP_ENABLED)

/* What TokenGroups holds for a standard user's (or a non-elevated admin's)
 * interactive logon: Administrators deny-only (UAC's filtered token), one
 * optional group switched off, the logon SID and the integrity label. */
static const struct lb_token_group alice_groups[] = {
	{ DOMAIN_USERS_SID, "None", EN },
	{ "S-1-1-0", "Everyone", EN },
	{ ADMINS_SID, "Administrators", LB_SE_GROUP_USE_FOR_DENY_ONLY },
	{ "S-1-5-32-545", "Users", EN },
	{ "S-1-5-4", "INTERACTIVE", EN },
	{ "S-1-2-1", "CONSOLE LOGON", EN },
	{ "S-1-5-11", "Authenticated Users", EN },
	{ "S-1-5-15", "This Organization", EN },
	{ LOGON_SID, NULL, EN | LB_SE_GROUP_LOGON_ID },
	{ "S-1-2-0", "LOCAL", EN },
	{ TESTERS_SID, "testers", LB_SE_GROUP_ENABLED_BY_DEFAULT },   /* disabled */
	{ "S-1-16-8192", "Medium Mandatory Level", LB_SE_GROUP_INTEGRITY | LB_SE_GROUP_INTEGRITY_ENABLED },
};
#define ALICE_KEPT 10   /* all but the logon SID and the label */

static struct lb_token_desc
alice(void)
{
	struct lb_token_desc t = { 0 };

	t.user_sid = ALICE_SID;
	t.user_name = "alice";
	t.profile_dir = "C:\\Users\\alice";
	t.impersonation_level = LB_SECURITY_IMPERSONATION;
	t.integrity_sid = "S-1-16-8192";
	t.is_appcontainer = LB_TOKEN_NO;
	t.is_restricted = LB_TOKEN_NO;
	t.groups = alice_groups;
	t.n_groups = sizeof(alice_groups) / sizeof(alice_groups[0]);
	return t;
}

/* The outcome of one call, for the assertions. */
static struct lb_peer g_peer;
static struct lb_group g_groups[64];
static char g_why[256];

static int
identify(const struct lb_token_desc *t)
{
	memset(&g_peer, 0, sizeof(g_peer));
	memset(g_groups, 0, sizeof(g_groups));
	memset(g_why, 'x', sizeof(g_why) - 1);
	g_why[sizeof(g_why) - 1] = '\0';
	return lb_identity_from_token(t, &g_peer, g_groups,
	    sizeof(g_groups) / sizeof(g_groups[0]), g_why, sizeof(g_why));
}

/* A refusal: CODE, a reason naming WORD, and no identity left behind. */
#define assert_refused(t, code, word)                                        \
	do {                                                                 \
		assert_int_equal(identify(t), (code));                       \
		if (strstr(g_why, (word)) == NULL)                           \
			fail_msg("why \"%s\" does not mention \"%s\"", g_why, (word)); \
		assert_null(g_peer.who.user);                                \
		assert_null(g_peer.who.sid);                                 \
		assert_int_equal(g_peer.who.n_groups, 0);                    \
		assert_string_equal(g_peer.id, "");                          \
	} while (0)

static const struct lb_group *
find_group(const char *sid)
{
	size_t i;

	for (i = 0; i < g_peer.who.n_groups; i++)
		if (strcmp(g_peer.who.groups[i].sid, sid) == 0)
			return &g_peer.who.groups[i];
	return NULL;
}

/* The deny_only flag of group SID, which must be there. */
static int
deny_only_of(const char *sid)
{
	const struct lb_group *g = find_group(sid);

	if (g == NULL)
		fail_msg("group %s is missing", sid);
	return g->deny_only;
}

/* ---- who is served, as whom ---- */

static void
test_medium_interactive_user_is_served_with_exactly_the_right_groups(void **state)
{
	static const struct { const char *sid, *name; int deny_only; } want[ALICE_KEPT] = {
		{ DOMAIN_USERS_SID, "None", 0 },
		{ "S-1-1-0", "Everyone", 0 },
		{ ADMINS_SID, "Administrators", 1 },
		{ "S-1-5-32-545", "Users", 0 },
		{ "S-1-5-4", "INTERACTIVE", 0 },
		{ "S-1-2-1", "CONSOLE LOGON", 0 },
		{ "S-1-5-11", "Authenticated Users", 0 },
		{ "S-1-5-15", "This Organization", 0 },
		{ "S-1-2-0", "LOCAL", 0 },
		{ TESTERS_SID, "testers", 1 },   /* disabled: deny rules only */
	};
	struct lb_token_desc t = alice();
	size_t i;

	(void)state;
	assert_int_equal(identify(&t), LB_OK);
	assert_string_equal(g_why, "");
	assert_string_equal(g_peer.who.user, "alice");
	assert_string_equal(g_peer.who.sid, ALICE_SID);
	assert_string_equal(g_peer.who.home, "C:\\Users\\alice");
	assert_string_equal(g_peer.id, ALICE_SID);
	assert_ptr_equal(g_peer.who.groups, g_groups);
	assert_int_equal(g_peer.who.n_groups, ALICE_KEPT);
	for (i = 0; i < ALICE_KEPT; i++) {
		assert_string_equal(g_peer.who.groups[i].sid, want[i].sid);
		assert_string_equal(g_peer.who.groups[i].name, want[i].name);
		assert_int_equal(g_peer.who.groups[i].deny_only, want[i].deny_only);
	}
	/* Token order, nothing else: the logon SID and the integrity label are
	 * not memberships. */
	assert_null(find_group(LOGON_SID));
	assert_null(find_group("S-1-16-8192"));
}

static void
test_logon_and_label_sids_are_dropped_by_their_sid_whatever_the_attributes(void **state)
{
	struct lb_token_group groups[] = {
		{ "S-1-5-5-0-99", "LogonSessionId_0_99", EN },
		{ "S-1-16-8192", "Medium Mandatory Level", EN },
		{ "S-1-5-5-7", "not a logon id (two sub-authorities)", EN },
	};
	struct lb_token_desc t = alice();

	(void)state;
	t.groups = groups;
	t.n_groups = 3;
	assert_int_equal(identify(&t), LB_OK);
	assert_int_equal(g_peer.who.n_groups, 1);
	assert_string_equal(g_peer.who.groups[0].sid, "S-1-5-5-7");
}

static void
test_enabled_and_deny_only_bits_together_count_as_deny_only(void **state)
{
	struct lb_token_group groups[] = {
		{ ADMINS_SID, "Administrators", EN | LB_SE_GROUP_USE_FOR_DENY_ONLY },
	};
	struct lb_token_desc t = alice();

	(void)state;
	t.groups = groups;
	t.n_groups = 1;
	assert_int_equal(identify(&t), LB_OK);
	assert_int_equal(g_peer.who.n_groups, 1);
	assert_int_equal(g_peer.who.groups[0].deny_only, 1);
}

static void
test_groups_sharing_a_name_keep_both_sids(void **state)
{
	struct lb_token_group groups[] = {
		{ "S-1-5-21-1-2-3-1111", "developers", EN },
		{ "S-1-5-21-7-8-9-1111", "developers", LB_SE_GROUP_USE_FOR_DENY_ONLY },
		{ "S-1-5-21-7-8-9-2222", "", EN },
	};
	struct lb_token_desc t = alice();

	(void)state;
	t.groups = groups;
	t.n_groups = 3;
	assert_int_equal(identify(&t), LB_OK);
	assert_int_equal(g_peer.who.n_groups, 3);
	assert_string_equal(g_peer.who.groups[0].sid, "S-1-5-21-1-2-3-1111");
	assert_string_equal(g_peer.who.groups[0].name, "developers");
	assert_int_equal(g_peer.who.groups[0].deny_only, 0);
	assert_string_equal(g_peer.who.groups[1].sid, "S-1-5-21-7-8-9-1111");
	assert_string_equal(g_peer.who.groups[1].name, "developers");
	assert_int_equal(g_peer.who.groups[1].deny_only, 1);
	/* An empty name is no name: the SID alone names the group. */
	assert_null(g_peer.who.groups[2].name);
}

static void
test_local_system_is_served(void **state)
{
	static const struct lb_token_group groups[] = {
		{ ADMINS_SID, "Administrators", EN | LB_SE_GROUP_OWNER },
		{ "S-1-1-0", "Everyone", EN },
		{ "S-1-5-11", "Authenticated Users", EN },
		{ "S-1-16-16384", "System Mandatory Level", LB_SE_GROUP_INTEGRITY | LB_SE_GROUP_INTEGRITY_ENABLED },
	};
	struct lb_token_desc t = { 0 };

	(void)state;
	t.user_sid = "S-1-5-18";
	t.user_name = "SYSTEM";
	t.impersonation_level = LB_SECURITY_IMPERSONATION;
	t.integrity_sid = "S-1-16-16384";
	t.is_appcontainer = LB_TOKEN_NO;
	t.is_restricted = LB_TOKEN_NO;
	t.groups = groups;
	t.n_groups = 4;
	assert_int_equal(identify(&t), LB_OK);
	assert_string_equal(g_peer.who.user, "SYSTEM");
	assert_string_equal(g_peer.id, "S-1-5-18");
	assert_null(g_peer.who.home);
	assert_int_equal(g_peer.who.n_groups, 3);
	assert_int_equal(deny_only_of(ADMINS_SID), 0);
}

static void
test_unknown_user_name_is_served_as_the_sid(void **state)
{
	struct lb_token_desc t = alice();

	(void)state;
	t.user_name = NULL;
	t.profile_dir = "";
	assert_int_equal(identify(&t), LB_OK);
	assert_string_equal(g_peer.who.user, ALICE_SID);
	assert_null(g_peer.who.home);
	t.user_name = "";
	assert_int_equal(identify(&t), LB_OK);
	assert_string_equal(g_peer.who.user, ALICE_SID);
}

static void
test_no_interactive_group_is_still_served(void **state)
{
	/* Batch jobs and services carry BATCH or SERVICE, not INTERACTIVE. */
	static const struct lb_token_group groups[] = {
		{ "S-1-5-3", "BATCH", EN },
		{ "S-1-5-6", "SERVICE", EN },
		{ "S-1-5-11", "Authenticated Users", EN },
	};
	struct lb_token_desc t = alice();

	(void)state;
	t.groups = groups;
	t.n_groups = 3;
	assert_int_equal(identify(&t), LB_OK);
	assert_int_equal(g_peer.who.n_groups, 3);
	t.n_groups = 0;
	t.groups = NULL;
	assert_int_equal(identify(&t), LB_OK);
	assert_int_equal(g_peer.who.n_groups, 0);
	assert_null(g_peer.who.groups);
}

static void
test_delegation_level_is_served(void **state)
{
	struct lb_token_desc t = alice();

	(void)state;
	t.impersonation_level = LB_SECURITY_DELEGATION;
	assert_int_equal(identify(&t), LB_OK);
}

static void
test_medium_plus_high_and_system_integrity_are_served(void **state)
{
	static const char *const ok[] = { "S-1-16-8192", "S-1-16-8448", "S-1-16-12288", "S-1-16-16384" };
	struct lb_token_desc t = alice();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		t.integrity_sid = ok[i];
		if (identify(&t) != LB_OK)
			fail_msg("integrity %s refused: %s", ok[i], g_why);
	}
}

static void
test_canonical_sids_at_the_limits_are_served(void **state)
{
	static const char *const ok[] = {
		"S-1-5-21-0-0-0-500",
		"S-1-5-21-4294967295-4294967295-4294967295-4294967295",
		"S-1-0-0",
		"S-1-12-1-1-2-3-4",                          /* Azure AD authority 12 */
		"S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15", /* 15 sub-authorities */
	};
	struct lb_token_desc t = alice();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		t.user_sid = ok[i];
		if (identify(&t) != LB_OK)
			fail_msg("user SID %s refused: %s", ok[i], g_why);
		assert_string_equal(g_peer.id, ok[i]);
	}
}

/* ---- refusals ---- */

static void
test_anonymous_impersonation_level_is_refused(void **state)
{
	struct lb_token_desc t = alice();

	(void)state;
	t.impersonation_level = LB_SECURITY_ANONYMOUS;
	assert_refused(&t, LB_E_ID_LEVEL, "anonymous impersonation level");
}

static void
test_identification_level_is_refused(void **state)
{
	struct lb_token_desc t = alice();

	(void)state;
	t.impersonation_level = LB_SECURITY_IDENTIFICATION;
	assert_refused(&t, LB_E_ID_LEVEL, "identification impersonation level");
}

static void
test_unknown_impersonation_level_is_refused(void **state)
{
	struct lb_token_desc t = alice();

	(void)state;
	t.impersonation_level = -1;
	assert_refused(&t, LB_E_ID_LEVEL, "unknown impersonation level");
	t.impersonation_level = 4;
	assert_refused(&t, LB_E_ID_LEVEL, "unknown impersonation level");
}

static void
test_anonymous_logon_user_is_refused(void **state)
{
	static const struct lb_token_group groups[] = {
		{ "S-1-1-0", "Everyone", EN },
	};
	struct lb_token_desc t = alice();

	(void)state;
	t.user_sid = "S-1-5-7";
	t.user_name = "ANONYMOUS LOGON";
	t.groups = groups;
	t.n_groups = 1;
	assert_refused(&t, LB_E_ID_ANONYMOUS, "anonymous");
}

static void
test_anonymous_logon_group_is_refused(void **state)
{
	struct lb_token_group groups[] = {
		{ "S-1-5-11", "Authenticated Users", EN },
		{ "S-1-5-7", "ANONYMOUS LOGON", EN },
	};
	struct lb_token_desc t = alice();

	(void)state;
	t.groups = groups;
	t.n_groups = 2;
	assert_refused(&t, LB_E_ID_ANONYMOUS, "anonymous");
}

static void
test_network_logon_is_refused(void **state)
{
	/* However the NETWORK entry is flagged: it says how the user logged
	 * on, it is not a membership to switch off. */
	static const uint32_t attrs[] = { EN, 0, LB_SE_GROUP_USE_FOR_DENY_ONLY };
	struct lb_token_group groups[] = {
		{ "S-1-5-11", "Authenticated Users", EN },
		{ "S-1-5-2", "NETWORK", EN },
	};
	struct lb_token_desc t = alice();
	size_t i;

	(void)state;
	t.groups = groups;
	t.n_groups = 2;
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		groups[1].attributes = attrs[i];
		assert_refused(&t, LB_E_ID_NETWORK, "network logon");
	}
}

static void
test_low_integrity_is_refused(void **state)
{
	struct lb_token_desc t = alice();

	(void)state;
	t.integrity_sid = "S-1-16-4096";
	assert_refused(&t, LB_E_ID_INTEGRITY, "low integrity");
	t.integrity_sid = "S-1-16-8191";
	assert_refused(&t, LB_E_ID_INTEGRITY, "low integrity");
}

static void
test_untrusted_integrity_is_refused(void **state)
{
	struct lb_token_desc t = alice();

	(void)state;
	t.integrity_sid = "S-1-16-0";
	assert_refused(&t, LB_E_ID_INTEGRITY, "untrusted integrity");
}

static void
test_missing_integrity_is_refused(void **state)
{
	struct lb_token_desc t = alice();

	(void)state;
	t.integrity_sid = NULL;
	assert_refused(&t, LB_E_ID_INTEGRITY, "integrity level is missing");
}

static void
test_malformed_integrity_is_refused(void **state)
{
	static const char *const bad[] = {
		"", "Medium", "S-1-16", "S-1-16-8192-1", "S-1-5-8192", "S-1-16-08192",
		"s-1-16-8192", "S-1-16-8192 ",
	};
	struct lb_token_desc t = alice();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t.integrity_sid = bad[i];
		assert_refused(&t, LB_E_ID_INTEGRITY, "integrity level is malformed");
	}
}

static void
test_appcontainer_flag_is_refused(void **state)
{
	struct lb_token_desc t = alice();

	(void)state;
	t.is_appcontainer = LB_TOKEN_YES;
	assert_refused(&t, LB_E_ID_APPCONTAINER, "AppContainer");
}

static void
test_app_package_and_capability_groups_are_refused(void **state)
{
	static const char *const sids[] = {
		"S-1-15-2-3624051433-2125758914-1423191267-1740899205-1073925389-3782572162-737981194",
		"S-1-15-3-1024-1065365936-1281604716-3511738428-1654721687-432734479-3232135806-4053264122-3456934681",
		"S-1-15-2-1",
	};
	struct lb_token_group groups[] = {
		{ "S-1-5-11", "Authenticated Users", EN },
		{ NULL, NULL, EN },
	};
	struct lb_token_desc t = alice();
	size_t i;

	(void)state;
	t.groups = groups;
	t.n_groups = 2;
	for (i = 0; i < sizeof(sids) / sizeof(sids[0]); i++) {
		groups[1].sid = sids[i];
		assert_refused(&t, LB_E_ID_APPCONTAINER, "AppContainer");
		if (strstr(g_why, sids[i]) == NULL)
			fail_msg("why \"%s\" does not name %s", g_why, sids[i]);
	}
}

static void
test_unread_token_facts_are_refused(void **state)
{
	/* IsTokenRestricted returns FALSE on error too, and a forgotten field
	 * is zero: neither may read as "not restricted" or "not sandboxed". */
	struct lb_token_desc t = alice();

	(void)state;
	t.is_appcontainer = LB_TOKEN_UNREAD;
	assert_refused(&t, LB_E_ID_APPCONTAINER, "not checked for AppContainer");
	t = alice();
	t.is_restricted = LB_TOKEN_UNREAD;
	assert_refused(&t, LB_E_ID_RESTRICTED, "not checked for restricting SIDs");
	t = alice();
	t.is_appcontainer = (enum lb_token_fact)7;
	assert_refused(&t, LB_E_ID_APPCONTAINER, "AppContainer");
}

static void
test_zeroed_description_is_refused(void **state)
{
	struct lb_token_desc t = { 0 };

	(void)state;
	assert_refused(&t, LB_E_ID_LEVEL, "impersonation level");
	t.impersonation_level = LB_SECURITY_IMPERSONATION;
	assert_refused(&t, LB_E_ID_SID, "user SID is missing");
	t.user_sid = ALICE_SID;
	assert_refused(&t, LB_E_ID_RESTRICTED, "restricting SIDs");
	t.is_restricted = LB_TOKEN_NO;
	assert_refused(&t, LB_E_ID_APPCONTAINER, "AppContainer");
	t.is_appcontainer = LB_TOKEN_NO;
	assert_refused(&t, LB_E_ID_INTEGRITY, "integrity level is missing");
	t.integrity_sid = "S-1-16-8192";
	assert_int_equal(identify(&t), LB_OK);
}

static void
test_restricted_token_is_refused(void **state)
{
	struct lb_token_desc t = alice();

	(void)state;
	t.is_restricted = LB_TOKEN_YES;
	assert_refused(&t, LB_E_ID_RESTRICTED, "restricted");
}

static void
test_deny_only_user_sid_is_refused(void **state)
{
	/* CreateRestrictedToken can make the user SID itself deny-only without
	 * adding restricting SIDs; such a user must not match allow rules, and
	 * a principal has no way to say so. */
	struct lb_token_desc t = alice();

	(void)state;
	t.user_attributes = LB_SE_GROUP_USE_FOR_DENY_ONLY;
	assert_refused(&t, LB_E_ID_RESTRICTED, "deny-only");
}

static void
test_missing_or_malformed_user_sid_is_refused(void **state)
{
	static const char *const bad[] = {
		"", "alice", "S-1-5", "S-1-5-", "S-1", "S-", "s-1-5-21-1-2-3-1001",
		"S-2-5-18", "S-01-5-18", "S-1-05-18", "S-1-5-018", "S-1-5--18", "S-1-5-18-",
		"S-1-5-18 ", " S-1-5-18", "S-1-5-18\n", "S-1-5-4294967296", "S-1-4294967296-1",
		"S-1-5-99999999999", "S-1-0x000000000005-18", "S-1-5-+18", "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
	};
	struct lb_token_desc t = alice();
	size_t i;

	(void)state;
	t.user_sid = NULL;
	assert_refused(&t, LB_E_ID_SID, "user SID is missing");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t.user_sid = bad[i];
		assert_int_equal(identify(&t), LB_E_ID_SID);
		if (strstr(g_why, "user SID is malformed") == NULL)
			fail_msg("\"%s\": why \"%s\"", bad[i], g_why);
	}
}

static void
test_malformed_group_sid_is_refused_not_dropped(void **state)
{
	/* Dropping it could drop the group a deny rule names. */
	static const char *const bad[] = { NULL, "", "Administrators", "S-1-5-32-0544", "S-1-5-32-544-" };
	struct lb_token_group groups[] = {
		{ "S-1-5-11", "Authenticated Users", EN },
		{ NULL, "contractors", LB_SE_GROUP_USE_FOR_DENY_ONLY },
	};
	struct lb_token_desc t = alice();
	size_t i;

	(void)state;
	t.groups = groups;
	t.n_groups = 2;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		groups[1].sid = bad[i];
		assert_refused(&t, LB_E_ID_SID, "group #1");
	}
}

static void
test_group_overflow_is_an_error_not_a_truncation(void **state)
{
	struct lb_token_desc t = alice();
	struct lb_group storage[ALICE_KEPT];
	struct lb_peer peer;
	char why[200];

	(void)state;
	/* Room for exactly the groups kept is enough (the dropped ones take no
	 * room)... */
	assert_int_equal(lb_identity_from_token(&t, &peer, storage, ALICE_KEPT, why, sizeof(why)),
	    LB_OK);
	assert_int_equal(peer.who.n_groups, ALICE_KEPT);
	/* ...one less is an error, not a shorter list: the last kept group could
	 * be the one a deny rule names. */
	assert_int_equal(lb_identity_from_token(&t, &peer, storage, ALICE_KEPT - 1, why, sizeof(why)),
	    LB_E_TOOBIG);
	assert_non_null(strstr(why, "refused rather than truncated"));
	assert_null(peer.who.user);
	assert_null(peer.who.groups);
	assert_int_equal(peer.who.n_groups, 0);
	assert_string_equal(peer.id, "");
	assert_int_equal(lb_identity_from_token(&t, &peer, NULL, 0, why, sizeof(why)), LB_E_TOOBIG);
}

static void
test_user_sid_longer_than_the_peer_id_is_refused(void **state)
{
	/* A valid SID (15 sub-authorities of ten digits) that would not fit
	 * lb_peer.id: a cut identity could merge two users' rate limits. */
	static const char long_sid[] = "S-1-5-4000000001-4000000002-4000000003-4000000004-4000000005"
	    "-4000000006-4000000007-4000000008-4000000009-4000000010-4000000011"
	    "-4000000012-4000000013-4000000014-4000000015";
	struct lb_token_desc t = alice();

	(void)state;
	assert_true(sizeof(long_sid) > sizeof(g_peer.id));
	t.user_sid = long_sid;
	assert_refused(&t, LB_E_TOOBIG, "too long");
}

static void
test_refusal_leaves_no_previous_identity_behind(void **state)
{
	struct lb_token_desc t = alice();
	struct lb_group storage[16];
	struct lb_peer peer;
	int token = 42;
	char why[128];

	(void)state;
	peer.plat = &token;
	assert_int_equal(lb_identity_from_token(&t, &peer, storage, 16, why, sizeof(why)), LB_OK);
	assert_string_equal(peer.id, ALICE_SID);
	t.integrity_sid = "S-1-16-4096";
	assert_int_equal(lb_identity_from_token(&t, &peer, storage, 16, why, sizeof(why)),
	    LB_E_ID_INTEGRITY);
	assert_null(peer.who.user);
	assert_null(peer.who.sid);
	assert_null(peer.who.home);
	assert_int_equal(peer.who.n_groups, 0);
	assert_string_equal(peer.id, "");
	assert_ptr_equal(peer.plat, &token);   /* the platform's token stays the platform's */
}

static void
test_bad_arguments_are_invalid_and_why_is_optional(void **state)
{
	struct lb_token_desc t = alice();
	struct lb_group storage[16];
	struct lb_peer peer;
	char why[8];

	(void)state;
	assert_int_equal(lb_identity_from_token(NULL, &peer, storage, 16, NULL, 0), LB_E_INVAL);
	assert_int_equal(lb_identity_from_token(&t, NULL, storage, 16, NULL, 0), LB_E_INVAL);
	t.groups = NULL;
	assert_int_equal(lb_identity_from_token(&t, &peer, storage, 16, NULL, 0), LB_E_INVAL);
	t = alice();
	assert_int_equal(lb_identity_from_token(&t, &peer, storage, 16, NULL, 0), LB_OK);
	t.is_restricted = LB_TOKEN_YES;
	assert_int_equal(lb_identity_from_token(&t, &peer, storage, 16, NULL, 0), LB_E_ID_RESTRICTED);
	/* A short WHY is cut, not overrun. */
	assert_int_equal(lb_identity_from_token(&t, &peer, storage, 16, why, sizeof(why)), LB_E_ID_RESTRICTED);
	assert_int_equal(strlen(why), sizeof(why) - 1);
}

static void
test_refusal_codes_have_messages_and_exit_codes(void **state)
{
	static const int codes[] = {
		LB_E_ID_LEVEL, LB_E_ID_ANONYMOUS, LB_E_ID_NETWORK, LB_E_ID_INTEGRITY,
		LB_E_ID_APPCONTAINER, LB_E_ID_RESTRICTED,
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		assert_string_not_equal(lb_strerror(codes[i]), "unknown error");
		assert_int_equal(lb_exit_code(codes[i]), LB_EXIT_DENIED);
		for (j = 0; j < i; j++)
			assert_int_not_equal(codes[i], codes[j]);
	}
	assert_string_not_equal(lb_strerror(LB_E_ID_SID), "unknown error");
	assert_int_equal(lb_exit_code(LB_E_ID_SID), LB_EXIT_FAILED);
}

/* ---- through the policy ---- */

static const char deny_only_policy[] =
    "[rule:admins-link]\n"
    "groups = " ADMINS_SID "\n"
    "kinds = *\n"
    "link_under = C:\\admin\n"
    "target_under = *\n"
    "action = allow\n"
    "[rule:admins-by-name]\n"
    "groups = Administrators\n"
    "kinds = *\n"
    "link_under = C:\\tools\n"
    "target_under = *\n"
    "action = allow\n"
    "[rule:alice-work]\n"
    "users = alice\n"
    "kinds = *\n"
    "link_under = C:\\work\n"
    "target_under = *\n"
    "action = allow\n"
    "[rule:no-admins-in-locked]\n"
    "groups = " ADMINS_SID "\n"
    "kinds = *\n"
    "link_under = C:\\work\\locked\n"
    "action = deny\n";

static const char *
decide(const struct lb_policy *p, const struct lb_principal *who, const char *link)
{
	static char out[128];
	struct lb_decision d;
	struct lb_path l, tg;
	const char *which = NULL;
	const char *target = "C:\\work\\target";
	int r;

	r = lb_policy_decide_strings(p, who, LB_KIND_SYMLINK, link, strlen(link),
	    target, strlen(target), &d, &l, &tg, &which);
	if (r != LB_OK) {
		snprintf(out, sizeof(out), "error:%d", r);
		return out;
	}
	lb_path_free(&l);
	lb_path_free(&tg);
	if (d.reason == LB_REASON_RULE_ALLOW && d.verdict == LB_VERDICT_ALLOW)
		snprintf(out, sizeof(out), "allow:%s", d.rule->name);
	else if (d.reason == LB_REASON_RULE_DENY && d.verdict == LB_VERDICT_DENY)
		snprintf(out, sizeof(out), "deny:%s", d.rule->name);
	else if (d.reason == LB_REASON_NO_RULE && d.verdict == LB_VERDICT_DENY)
		snprintf(out, sizeof(out), "deny:no rule");
	else
		snprintf(out, sizeof(out), "other:%d:%d", (int)d.reason, (int)d.verdict);
	return out;
}

static void
test_deny_only_group_satisfies_deny_rules_but_not_allow_rules(void **state)
{
	struct lb_policy *p = NULL;
	struct lb_buf err;
	struct lb_token_desc t = alice();     /* Administrators deny-only */
	struct lb_token_group elevated[sizeof(alice_groups) / sizeof(alice_groups[0])];

	(void)state;
	lb_buf_init(&err, 4096);
	assert_int_equal(lb_policy_load_buffer("identity.ini", deny_only_policy,
	    strlen(deny_only_policy), LB_FLAVOR_WINDOWS, &p, &err), LB_OK);
	lb_buf_free(&err);

	assert_int_equal(identify(&t), LB_OK);
	assert_int_equal(deny_only_of(ADMINS_SID), 1);
	/* Not an allow, by SID or by name... */
	assert_string_equal(decide(p, &g_peer.who, "C:\\admin\\l"), "deny:no rule");
	assert_string_equal(decide(p, &g_peer.who, "C:\\tools\\l"), "deny:no rule");
	/* ...but a deny: alice may link in C:\work, not in C:\work\locked. */
	assert_string_equal(decide(p, &g_peer.who, "C:\\work\\l"), "allow:alice-work");
	assert_string_equal(decide(p, &g_peer.who, "C:\\work\\locked\\l"), "deny:no-admins-in-locked");

	/* The elevated token, with Administrators enabled, gets both. */
	memcpy(elevated, alice_groups, sizeof(elevated));
	elevated[2].attributes = EN | LB_SE_GROUP_OWNER;
	t.groups = elevated;
	t.integrity_sid = "S-1-16-12288";
	assert_int_equal(identify(&t), LB_OK);
	assert_int_equal(deny_only_of(ADMINS_SID), 0);
	assert_string_equal(decide(p, &g_peer.who, "C:\\admin\\l"), "allow:admins-link");
	assert_string_equal(decide(p, &g_peer.who, "C:\\tools\\l"), "allow:admins-by-name");
	assert_string_equal(decide(p, &g_peer.who, "C:\\work\\locked\\l"), "deny:no-admins-in-locked");

	/* Without Administrators at all, the deny rule does not apply. */
	t.groups = alice_groups;
	t.n_groups = 2;   /* None, Everyone */
	assert_int_equal(identify(&t), LB_OK);
	assert_string_equal(decide(p, &g_peer.who, "C:\\work\\locked\\l"), "allow:alice-work");
	lb_policy_free(p);
}


/* ---- names with their domain ---- */

/* Two tokens whose user and groups have the same bare names in different
 * domains, as LookupAccountSidW names them. */
static const struct lb_token_group corp_groups[] = {
	{ "S-1-5-21-1-2-3-513", "CORP\\Domain Users", EN },
	{ "S-1-1-0", "Everyone", EN },
	{ "S-1-5-21-1-2-3-1105", "CORP\\developers", EN },
	{ ADMINS_SID, "BUILTIN\\Administrators", LB_SE_GROUP_USE_FOR_DENY_ONLY },
	{ "S-1-5-4", "NT AUTHORITY\\INTERACTIVE", EN },
	{ LOGON_SID, "NT AUTHORITY\\LogonSessionId_0_431162", EN | LB_SE_GROUP_LOGON_ID },
	{ "S-1-16-8192", "Mandatory Label\\Medium Mandatory Level", LB_SE_GROUP_INTEGRITY | LB_SE_GROUP_INTEGRITY_ENABLED },
};
static const struct lb_token_group other_groups[] = {
	{ "S-1-5-21-7-8-9-513", "OTHER\\Domain Users", EN },
	{ "S-1-5-21-7-8-9-1105", "OTHER\\developers", EN },
	{ "S-1-5-4", "NT AUTHORITY\\INTERACTIVE", EN },
	{ "S-1-16-8192", "Mandatory Label\\Medium Mandatory Level", LB_SE_GROUP_INTEGRITY | LB_SE_GROUP_INTEGRITY_ENABLED },
};

static struct lb_token_desc
domain_user(const char *domain, const char *sid, const struct lb_token_group *g, size_t n)
{
	struct lb_token_desc t = alice();

	t.user_sid = sid;
	t.user_name = "alice";
	t.user_domain = domain;
	t.groups = g;
	t.n_groups = n;
	return t;
}

static void
test_user_domain_and_qualified_group_names_are_kept(void **state)
{
	struct lb_token_desc t = domain_user("CORP", "S-1-5-21-1-2-3-1001", corp_groups,
	    sizeof(corp_groups) / sizeof(corp_groups[0]));

	(void)state;
	assert_int_equal(identify(&t), LB_OK);
	/* The bare name (what %USERNAME% gives) and the domain apart. */
	assert_string_equal(g_peer.who.user, "alice");
	assert_string_equal(g_peer.who.domain, "CORP");
	/* Groups keep the qualified name the OS gave (and the audit logs). */
	assert_int_equal(g_peer.who.n_groups, 5);
	assert_string_equal(find_group("S-1-5-21-1-2-3-1105")->name, "CORP\\developers");
	assert_string_equal(find_group(ADMINS_SID)->name, "BUILTIN\\Administrators");
	assert_string_equal(find_group("S-1-1-0")->name, "Everyone");

	/* An empty domain is none; a domain without a name says nothing. */
	t.user_domain = "";
	assert_int_equal(identify(&t), LB_OK);
	assert_null(g_peer.who.domain);
	t.user_domain = "CORP";
	t.user_name = NULL;
	assert_int_equal(identify(&t), LB_OK);
	assert_string_equal(g_peer.who.user, "S-1-5-21-1-2-3-1001");
	assert_null(g_peer.who.domain);
}

static const char domain_policy[] =
    "[rule:corp-dev]\n"
    "groups = CORP\\developers\n"
    "kinds = *\nlink_under = D:\\work\\%USERNAME%\ntarget_under = *\naction = allow\n"
    "[rule:corp-alice]\n"
    "users = CORP\\alice\n"
    "kinds = *\nlink_under = E:\\%USERNAME%\ntarget_under = *\naction = allow\n"
    "[rule:any-dev]\n"
    "groups = developers\n"
    "kinds = *\nlink_under = F:\\\ntarget_under = *\naction = allow\n"
    "[rule:no-builtin-admins]\n"
    "groups = BUILTIN\\Administrators\n"
    "kinds = *\nlink_under = D:\\work\\alice\\locked\naction = deny\n";

static void
test_same_bare_names_in_another_domain_do_not_match_qualified_rules(void **state)
{
	struct lb_policy *p = NULL;
	struct lb_token_desc corp = domain_user("CORP", "S-1-5-21-1-2-3-1001", corp_groups,
	    sizeof(corp_groups) / sizeof(corp_groups[0]));
	struct lb_token_desc other = domain_user("OTHER", "S-1-5-21-7-8-9-1001", other_groups,
	    sizeof(other_groups) / sizeof(other_groups[0]));

	(void)state;
	assert_int_equal(lb_policy_load_buffer("identity.ini", domain_policy,
	    strlen(domain_policy), LB_FLAVOR_WINDOWS, &p, NULL), LB_OK);
	assert_int_equal(identify(&corp), LB_OK);
	/* %USERNAME% is alice, not CORP\alice. */
	assert_string_equal(decide(p, &g_peer.who, "D:\\work\\alice\\l"), "allow:corp-dev");
	assert_string_equal(decide(p, &g_peer.who, "E:\\alice\\l"), "allow:corp-alice");
	assert_string_equal(decide(p, &g_peer.who, "F:\\l"), "allow:any-dev");
	/* The deny-only BUILTIN\Administrators still meets the deny rule. */
	assert_string_equal(decide(p, &g_peer.who, "D:\\work\\alice\\locked\\l"), "deny:no-builtin-admins");

	assert_int_equal(identify(&other), LB_OK);
	assert_string_equal(decide(p, &g_peer.who, "D:\\work\\alice\\l"), "deny:no rule");
	assert_string_equal(decide(p, &g_peer.who, "E:\\alice\\l"), "deny:no rule");
	/* The bare name, as before, matches OTHER\developers too. */
	assert_string_equal(decide(p, &g_peer.who, "F:\\l"), "allow:any-dev");
	lb_policy_free(p);
}

static void
test_only_groups_of_the_principal_need_a_name(void **state)
{
	(void)state;
	assert_int_equal(lb_identity_group_is_named("S-1-5-21-1-2-3-1105"), 1);
	assert_int_equal(lb_identity_group_is_named("S-1-1-0"), 1);
	assert_int_equal(lb_identity_group_is_named(ADMINS_SID), 1);
	/* Left out of the principal: never matched, never logged. */
	assert_int_equal(lb_identity_group_is_named(LOGON_SID), 0);
	assert_int_equal(lb_identity_group_is_named("S-1-16-8192"), 0);
	/* Refusing the token anyway. */
	assert_int_equal(lb_identity_group_is_named("S-1-5-2"), 0);
	assert_int_equal(lb_identity_group_is_named("S-1-15-2-1"), 0);
	assert_int_equal(lb_identity_group_is_named("S-1-5-07"), 0);
	assert_int_equal(lb_identity_group_is_named(NULL), 0);
}

/* ---- the real Windows API agrees with our strings ---- */

#ifdef _WIN32
/* Built from winnt.h's authorities and RIDs (not CreateWellKnownSid: Wine 8
 * does not know every WELL_KNOWN_SID_TYPE) and printed by the converter
 * the Windows layer uses. */
static void
test_sid_strings_match_windows(void **state)
{
	static const struct {
		SID_IDENTIFIER_AUTHORITY auth;
		BYTE n;
		DWORD rid[3];
		const char *sid;
	} known[] = {
		{ { SECURITY_NT_AUTHORITY }, 1, { SECURITY_NETWORK_RID, 0, 0 }, "S-1-5-2" },
		{ { SECURITY_NT_AUTHORITY }, 1, { SECURITY_ANONYMOUS_LOGON_RID, 0, 0 }, "S-1-5-7" },
		{ { SECURITY_NT_AUTHORITY }, 1, { SECURITY_LOCAL_SYSTEM_RID, 0, 0 }, "S-1-5-18" },
		{ { SECURITY_NT_AUTHORITY }, 3, { SECURITY_LOGON_IDS_RID, 0, 431162 }, LOGON_SID },
		{ { SECURITY_NT_AUTHORITY }, 2, { SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS, 0 }, ADMINS_SID },
		{ { SECURITY_MANDATORY_LABEL_AUTHORITY }, 1, { SECURITY_MANDATORY_UNTRUSTED_RID, 0, 0 }, "S-1-16-0" },
		{ { SECURITY_MANDATORY_LABEL_AUTHORITY }, 1, { SECURITY_MANDATORY_LOW_RID, 0, 0 }, "S-1-16-4096" },
		{ { SECURITY_MANDATORY_LABEL_AUTHORITY }, 1, { SECURITY_MANDATORY_MEDIUM_RID, 0, 0 }, "S-1-16-8192" },
		{ { SECURITY_MANDATORY_LABEL_AUTHORITY }, 1, { SECURITY_MANDATORY_HIGH_RID, 0, 0 }, "S-1-16-12288" },
		{ { SECURITY_MANDATORY_LABEL_AUTHORITY }, 1, { SECURITY_MANDATORY_SYSTEM_RID, 0, 0 }, "S-1-16-16384" },
		{ { SECURITY_APP_PACKAGE_AUTHORITY }, 2, { SECURITY_APP_PACKAGE_BASE_RID, SECURITY_BUILTIN_PACKAGE_ANY_PACKAGE, 0 }, "S-1-15-2-1" },
	};
	PSID sid;
	LPSTR s;
	size_t i;

	(void)state;
	assert_int_equal(SECURITY_LOGON_IDS_RID_COUNT, 3);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		SID_IDENTIFIER_AUTHORITY auth = known[i].auth;

		if (!AllocateAndInitializeSid(&auth, known[i].n, known[i].rid[0], known[i].rid[1],
		    known[i].rid[2], 0, 0, 0, 0, 0, &sid))
			fail_msg("AllocateAndInitializeSid(%s): error %lu", known[i].sid, GetLastError());
		if (!ConvertSidToStringSidA(sid, &s))
			fail_msg("ConvertSidToStringSidA(%s): error %lu", known[i].sid, GetLastError());
		assert_string_equal(s, known[i].sid);
		LocalFree(s);
		FreeSid(sid);
	}
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_medium_interactive_user_is_served_with_exactly_the_right_groups),
		cmocka_unit_test(test_logon_and_label_sids_are_dropped_by_their_sid_whatever_the_attributes),
		cmocka_unit_test(test_enabled_and_deny_only_bits_together_count_as_deny_only),
		cmocka_unit_test(test_groups_sharing_a_name_keep_both_sids),
		cmocka_unit_test(test_local_system_is_served),
		cmocka_unit_test(test_unknown_user_name_is_served_as_the_sid),
		cmocka_unit_test(test_no_interactive_group_is_still_served),
		cmocka_unit_test(test_delegation_level_is_served),
		cmocka_unit_test(test_medium_plus_high_and_system_integrity_are_served),
		cmocka_unit_test(test_canonical_sids_at_the_limits_are_served),
		cmocka_unit_test(test_anonymous_impersonation_level_is_refused),
		cmocka_unit_test(test_identification_level_is_refused),
		cmocka_unit_test(test_unknown_impersonation_level_is_refused),
		cmocka_unit_test(test_anonymous_logon_user_is_refused),
		cmocka_unit_test(test_anonymous_logon_group_is_refused),
		cmocka_unit_test(test_network_logon_is_refused),
		cmocka_unit_test(test_low_integrity_is_refused),
		cmocka_unit_test(test_untrusted_integrity_is_refused),
		cmocka_unit_test(test_missing_integrity_is_refused),
		cmocka_unit_test(test_malformed_integrity_is_refused),
		cmocka_unit_test(test_appcontainer_flag_is_refused),
		cmocka_unit_test(test_app_package_and_capability_groups_are_refused),
		cmocka_unit_test(test_unread_token_facts_are_refused),
		cmocka_unit_test(test_zeroed_description_is_refused),
		cmocka_unit_test(test_restricted_token_is_refused),
		cmocka_unit_test(test_deny_only_user_sid_is_refused),
		cmocka_unit_test(test_missing_or_malformed_user_sid_is_refused),
		cmocka_unit_test(test_malformed_group_sid_is_refused_not_dropped),
		cmocka_unit_test(test_group_overflow_is_an_error_not_a_truncation),
		cmocka_unit_test(test_user_sid_longer_than_the_peer_id_is_refused),
		cmocka_unit_test(test_refusal_leaves_no_previous_identity_behind),
		cmocka_unit_test(test_bad_arguments_are_invalid_and_why_is_optional),
		cmocka_unit_test(test_refusal_codes_have_messages_and_exit_codes),
		cmocka_unit_test(test_deny_only_group_satisfies_deny_rules_but_not_allow_rules),
		cmocka_unit_test(test_user_domain_and_qualified_group_names_are_kept),
		cmocka_unit_test(test_same_bare_names_in_another_domain_do_not_match_qualified_rules),
		cmocka_unit_test(test_only_groups_of_the_principal_need_a_name),
#ifdef _WIN32
		cmocka_unit_test(test_sid_strings_match_windows),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
