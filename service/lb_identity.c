/* lb_identity: the checks a pipe client's token must pass before the broker
 * serves it, and the principal it is served as. Portable C: the Windows
 * layer reads the token, this file decides. Every refusal is fail-closed. */
#include <stdio.h>
#include <string.h>

#include "lb_identity.h"

/* Identifier authorities (winnt.h SECURITY_*_AUTHORITY). */
#define LB_AUTH_NT          5u     /* S-1-5 */
#define LB_AUTH_APP_PACKAGE 15u    /* S-1-15: AppContainer and capability SIDs */
#define LB_AUTH_LABEL       16u    /* S-1-16: mandatory integrity labels */

/* RIDs under S-1-5 (winnt.h SECURITY_*_RID). */
#define LB_RID_NETWORK   2u        /* S-1-5-2 */
#define LB_RID_LOGON_IDS 5u        /* S-1-5-5-X-Y */
#define LB_RID_ANONYMOUS 7u        /* S-1-5-7 */

/* A SID string taken apart. */
struct lb_sid {
	uint32_t authority;
	uint32_t sub[LB_SID_MAX_SUB_AUTHORITIES];
	size_t n_sub;
};

/* One decimal number of a SID string at *S: no leading zeros (MS-DTYP
 * 2.4.2.1), at most 2^32 - 1. Advances *S past it. */
static int
lb_sid_number(const char **s, uint32_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return 0;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10u + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return 0;
	}
	*out = (uint32_t)v;
	*s = p;
	return 1;
}

/* Parse the canonical string form ConvertSidToStringSidW produces:
 * "S-1-" AUTHORITY ("-" SUBAUTHORITY){1,15}, all decimal. Anything else --
 * lower-case "s", leading zeros, spaces, hexadecimal authorities (which no
 * account SID uses) -- is refused, so two spellings of one SID never reach
 * the policy as different principals. */
static int
lb_sid_parse(const char *s, struct lb_sid *sid)
{
	if (s == NULL || strncmp(s, "S-1-", 4) != 0)
		return 0;
	s += 4;
	if (!lb_sid_number(&s, &sid->authority))
		return 0;
	sid->n_sub = 0;
	while (*s == '-') {
		if (sid->n_sub == LB_SID_MAX_SUB_AUTHORITIES)
			return 0;
		s++;
		if (!lb_sid_number(&s, &sid->sub[sid->n_sub]))
			return 0;
		sid->n_sub++;
	}
	return *s == '\0' && sid->n_sub >= 1;
}

static int
lb_sid_is(const struct lb_sid *sid, uint32_t authority, uint32_t rid)
{
	return sid->authority == authority && sid->n_sub == 1 && sid->sub[0] == rid;
}

/* WHY = A B C, cut to fit. */
static void
lb_why(char *why, size_t whylen, const char *a, const char *b, const char *c)
{
	if (why != NULL && whylen > 0)
		(void)snprintf(why, whylen, "%s%s%s", a, b, c);
}

/* The checks on one group SID: the token as a whole is refused for what
 * some of its groups say about the logon. */
static int
lb_check_group(const struct lb_token_group *g, size_t i, struct lb_sid *sid,
    char *why, size_t whylen)
{
	char idx[32];

	if (g->sid == NULL || !lb_sid_parse(g->sid, sid)) {
		(void)snprintf(idx, sizeof(idx), "%zu", i);
		lb_why(why, whylen, "group #", idx, g->sid == NULL ?
		    " has no SID" : " has a malformed SID: refused rather than dropped");
		return LB_E_ID_SID;
	}
	if (lb_sid_is(sid, LB_AUTH_NT, LB_RID_ANONYMOUS)) {
		lb_why(why, whylen, "the token holds the anonymous logon group ", g->sid,
		    ": anonymous clients are refused");
		return LB_E_ID_ANONYMOUS;
	}
	if (lb_sid_is(sid, LB_AUTH_NT, LB_RID_NETWORK)) {
		lb_why(why, whylen, "the token holds the NETWORK group ", g->sid,
		    ": network logons are refused");
		return LB_E_ID_NETWORK;
	}
	if (sid->authority == LB_AUTH_APP_PACKAGE) {
		lb_why(why, whylen, "the token holds the app package or capability SID ", g->sid,
		    ": AppContainer clients are refused");
		return LB_E_ID_APPCONTAINER;
	}
	return LB_OK;
}

/* Whether a group that passed the checks is part of the principal. */
static int
lb_group_kept(const struct lb_token_group *g, const struct lb_sid *sid)
{
	/* The logon session and the integrity label are not memberships a
	 * policy can name. */
	if (sid->authority == LB_AUTH_NT && sid->n_sub == 3 && sid->sub[0] == LB_RID_LOGON_IDS)
		return 0;
	if (sid->authority == LB_AUTH_LABEL)
		return 0;
	/* Every other group is kept: enabled ones are members; deny-only and
	 * disabled ones count for deny rules only (below), so a user cannot
	 * slip out of a deny rule by disabling a group with AdjustTokenGroups. */
	(void)g;
	return 1;
}

static int
lb_check_token(const struct lb_token_desc *t, size_t *n_kept, char *why, size_t whylen)
{
	struct lb_sid sid;
	size_t i;
	int r;

	if (t->impersonation_level != LB_SECURITY_IMPERSONATION &&
	    t->impersonation_level != LB_SECURITY_DELEGATION) {
		lb_why(why, whylen, "the client connected at ",
		    t->impersonation_level == LB_SECURITY_ANONYMOUS ? "anonymous" :
		    t->impersonation_level == LB_SECURITY_IDENTIFICATION ? "identification" :
		    "an unknown", " impersonation level; the broker needs impersonation level "
		    "to act as the client");
		return LB_E_ID_LEVEL;
	}
	if (t->user_sid == NULL || !lb_sid_parse(t->user_sid, &sid)) {
		lb_why(why, whylen, "the token's user SID is ",
		    t->user_sid == NULL ? "missing" : "malformed", "");
		return LB_E_ID_SID;
	}
	if (lb_sid_is(&sid, LB_AUTH_NT, LB_RID_ANONYMOUS)) {
		lb_why(why, whylen, "the client is the anonymous logon ", t->user_sid,
		    ": anonymous clients are refused");
		return LB_E_ID_ANONYMOUS;
	}
	if ((t->user_attributes & LB_SE_GROUP_USE_FOR_DENY_ONLY) != 0) {
		lb_why(why, whylen, "the token's user SID ", t->user_sid,
		    " is deny-only (a restricted token): refused");
		return LB_E_ID_RESTRICTED;
	}
	if (t->is_restricted != LB_TOKEN_NO) {
		lb_why(why, whylen, t->is_restricted == LB_TOKEN_YES ?
		    "the token is restricted (it has restricting SIDs)" :
		    "the token was not checked for restricting SIDs",
		    ": restricted tokens are refused", "");
		return LB_E_ID_RESTRICTED;
	}
	if (t->is_appcontainer != LB_TOKEN_NO) {
		lb_why(why, whylen, t->is_appcontainer == LB_TOKEN_YES ?
		    "the token is an AppContainer token" :
		    "the token was not checked for AppContainer",
		    ": AppContainer clients are refused", "");
		return LB_E_ID_APPCONTAINER;
	}
	if (t->integrity_sid == NULL || !lb_sid_parse(t->integrity_sid, &sid) ||
	    sid.authority != LB_AUTH_LABEL || sid.n_sub != 1) {
		lb_why(why, whylen, "the token's integrity level is ",
		    t->integrity_sid == NULL ? "missing" : "malformed",
		    ": only medium integrity or above is served");
		return LB_E_ID_INTEGRITY;
	}
	if (sid.sub[0] < LB_INTEGRITY_MEDIUM) {
		lb_why(why, whylen, "the client runs at ",
		    sid.sub[0] < LB_INTEGRITY_LOW ? "untrusted" : "low",
		    " integrity: only medium integrity or above is served");
		return LB_E_ID_INTEGRITY;
	}
	*n_kept = 0;
	for (i = 0; i < t->n_groups; i++) {
		if ((r = lb_check_group(&t->groups[i], i, &sid, why, whylen)) != LB_OK)
			return r;
		if (lb_group_kept(&t->groups[i], &sid))
			(*n_kept)++;
	}
	return LB_OK;
}

int
lb_identity_from_token(const struct lb_token_desc *t, struct lb_peer *out,
    struct lb_group *groups_storage, size_t groups_cap, char *why, size_t whylen)
{
	struct lb_sid sid;
	size_t n_kept = 0, i, k, len;
	int r;

	if (out == NULL) {
		lb_why(why, whylen, "no peer to fill", "", "");
		return LB_E_INVAL;
	}
	memset(&out->who, 0, sizeof(out->who));
	out->id[0] = '\0';
	if (t == NULL || (t->n_groups > 0 && t->groups == NULL)) {
		lb_why(why, whylen, "no token description", "", "");
		return LB_E_INVAL;
	}
	if ((r = lb_check_token(t, &n_kept, why, whylen)) != LB_OK)
		return r;
	if (n_kept > groups_cap || (n_kept > 0 && groups_storage == NULL)) {
		/* Never a shortened list: the group left out could be the one a
		 * deny rule names. */
		lb_why(why, whylen, "the token has more groups than the broker was "
		    "given room for: refused rather than truncated", "", "");
		return LB_E_TOOBIG;
	}
	len = strlen(t->user_sid);
	if (len >= sizeof(out->id)) {
		lb_why(why, whylen, "the token's user SID is too long for an identity: ",
		    t->user_sid, "");
		return LB_E_TOOBIG;
	}

	for (i = 0, k = 0; i < t->n_groups; i++) {
		const struct lb_token_group *g = &t->groups[i];

		if (!lb_sid_parse(g->sid, &sid) || !lb_group_kept(g, &sid))
			continue;
		groups_storage[k].sid = g->sid;
		groups_storage[k].name = g->name != NULL && g->name[0] != '\0' ? g->name : NULL;
		/* Deny-only wins over a (contradictory) enabled bit, and a
		 * disabled group is deny-only: fail closed. */
		groups_storage[k].deny_only = (g->attributes & LB_SE_GROUP_USE_FOR_DENY_ONLY) != 0 ||
		    (g->attributes & LB_SE_GROUP_ENABLED) == 0;
		k++;
	}
	if (t->user_name != NULL && t->user_name[0] != '\0') {
		out->who.user = t->user_name;
		out->who.domain = t->user_domain != NULL && t->user_domain[0] != '\0' ?
		    t->user_domain : NULL;
	} else {
		out->who.user = t->user_sid;   /* a domain without a name says nothing */
	}
	out->who.sid = t->user_sid;
	out->who.home = t->profile_dir != NULL && t->profile_dir[0] != '\0' ? t->profile_dir : NULL;
	out->who.groups = k > 0 ? groups_storage : NULL;
	out->who.n_groups = k;
	memcpy(out->id, t->user_sid, len + 1);
	lb_why(why, whylen, "", "", "");
	return LB_OK;
}

int
lb_identity_group_is_named(const char *sid)
{
	struct lb_token_group g = { sid, NULL, 0 };
	struct lb_sid parsed;

	if (sid == NULL || lb_check_group(&g, 0, &parsed, NULL, 0) != LB_OK)
		return 0;
	return lb_group_kept(&g, &parsed);
}
