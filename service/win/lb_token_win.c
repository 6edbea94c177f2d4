/* lb_token_win: who the pipe client is. Its impersonation token is read
 * into a plain lb_token_desc (docs/windows-identity.md says how, field by
 * field) and lb_identity_from_token decides; the token is kept for the
 * file-system work done as the client. */
#include <windows.h>
#include <sddl.h>
#include <userenv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_identity.h"
#include "lb_namecache.h"
#include "lb_win.h"

/* A token with more groups than this is refused, not read: Windows puts at
 * most 1024 SIDs in a token (the LSA's limit; logons with more fail), so
 * more can only be a broken or hostile token, and every group costs a
 * LookupAccountSidW. Checked before anything is sized from the count. */
#define LB_WIN_MAX_GROUPS 1024u
/* Largest GetTokenInformation answer we accept: 1024 SID_AND_ATTRIBUTES
 * of at most 68-byte SIDs fit in well under this. */
#define LB_WIN_TOKEN_INFO_MAX (256u * 1024u)
/* Account, domain and profile names: UNLEN/DNLEN are far smaller, but a
 * profile path may be long. */
#define LB_WIN_NAME_MAX 32768u

/* Everything the peer's strings point into. */
struct lb_token_storage {
	char *user_sid;
	char *user_name;
	char *user_domain;
	char *profile_dir;
	char *integrity_sid;
	struct lb_token_group *tgroups;   /* n_groups, strings malloc'd */
	size_t n_groups;
	struct lb_group *groups;          /* lb_identity_from_token's output */
};

static void
lb_storage_free(struct lb_token_storage *st)
{
	size_t i;

	if (st == NULL)
		return;
	free(st->user_sid);
	free(st->user_name);
	free(st->user_domain);
	free(st->profile_dir);
	free(st->integrity_sid);
	for (i = 0; st->tgroups != NULL && i < st->n_groups; i++) {
		free((char *)st->tgroups[i].sid);
		free((char *)st->tgroups[i].name);
	}
	free(st->tgroups);
	free(st->groups);
	free(st);
}

static void
lb_why(char *why, size_t whylen, const char *what, DWORD err)
{
	if (why == NULL || whylen == 0)
		return;
	if (err != 0)
		snprintf(why, whylen, "%s (Windows error %lu)", what, (unsigned long)err);
	else
		snprintf(why, whylen, "%s", what);
}

/* GetTokenInformation into a malloc'd buffer of the size it asks for,
 * bounded. */
static int
lb_token_info(HANDLE tok, TOKEN_INFORMATION_CLASS cls, void **out, DWORD *err)
{
	DWORD need = 0, got = 0;
	void *buf;

	*out = NULL;
	*err = 0;
	if (GetTokenInformation(tok, cls, NULL, 0, &need)) {
		*err = ERROR_INVALID_DATA;     /* an empty answer is not one */
		return LB_E_IO;
	}
	if ((*err = GetLastError()) != ERROR_INSUFFICIENT_BUFFER &&
	    *err != ERROR_BAD_LENGTH)
		return *err == ERROR_NOT_ENOUGH_MEMORY ? LB_E_NOMEM : LB_E_IO;
	if (need == 0 || need > LB_WIN_TOKEN_INFO_MAX) {
		*err = ERROR_INVALID_DATA;
		return LB_E_TOOBIG;
	}
	if ((buf = malloc(need)) == NULL)
		return LB_E_NOMEM;
	if (!GetTokenInformation(tok, cls, buf, need, &got) || got > need) {
		*err = GetLastError();
		free(buf);
		return LB_E_IO;
	}
	*err = 0;
	*out = buf;
	return LB_OK;
}

/* Fixed-size answers (DWORD, enums). */
static int
lb_token_dword(HANDLE tok, TOKEN_INFORMATION_CLASS cls, DWORD *v, DWORD *err)
{
	DWORD got = 0;

	*v = 0;
	if (!GetTokenInformation(tok, cls, v, sizeof(*v), &got) ||
	    got != sizeof(*v)) {
		*err = GetLastError();
		return LB_E_IO;
	}
	*err = 0;
	return LB_OK;
}

/* The SID as ConvertSidToStringSidW prints it, in UTF-8. */
static int
lb_sid_string(PSID sid, char **out, DWORD *err)
{
	LPWSTR w = NULL;

	*out = NULL;
	if (sid == NULL || !IsValidSid(sid)) {
		*err = ERROR_INVALID_SID;
		return LB_E_ID_SID;
	}
	if (!ConvertSidToStringSidW(sid, &w)) {
		*err = GetLastError();
		return LB_E_IO;
	}
	*out = lb_win_utf8(w);
	LocalFree(w);
	if (*out == NULL) {
		*err = ERROR_NOT_ENOUGH_MEMORY;
		return LB_E_NOMEM;
	}
	return LB_OK;
}

/* ---- account names, through a cache ---- */

/* LookupAccountSidW of SID (the PSID in ARG): *DOMAIN and *NAME in UTF-8,
 * both NULL when no account has this SID (ERROR_NONE_MAPPED). The buffers
 * on the stack hold any name Windows makes (UNLEN 256, DNLEN 15; domain
 * names such as "NT AUTHORITY" or "Window Manager" are short), so a lookup
 * is one call, not a sizing call and a second one (docs/windows-identity.md,
 * "Name lookups"). */
static int
lb_lookup_sid(void *arg, const char *sid, char **domain, char **name)
{
	wchar_t nb[257], db[257], *n = nb, *d = db, *hn = NULL, *hd = NULL;
	DWORD nn = 257, dn = 257, err;
	SID_NAME_USE use;
	int rc = LB_OK;

	(void)sid;
	*domain = *name = NULL;
	if (!LookupAccountSidW(NULL, (PSID)arg, n, &nn, d, &dn, &use)) {
		if ((err = GetLastError()) == ERROR_NONE_MAPPED)
			return LB_OK;
		if (err == ERROR_NOT_ENOUGH_MEMORY)
			return LB_E_NOMEM;
		if (err != ERROR_INSUFFICIENT_BUFFER || nn == 0 || nn > LB_WIN_NAME_MAX ||
		    dn > LB_WIN_NAME_MAX)
			return LB_E_IO;
		hn = malloc((size_t)nn * sizeof(wchar_t));
		hd = malloc(((size_t)dn + 1) * sizeof(wchar_t));
		if (hn == NULL || hd == NULL) {
			rc = LB_E_NOMEM;
			goto out;
		}
		n = hn;
		d = hd;
		dn += 1;
		if (!LookupAccountSidW(NULL, (PSID)arg, n, &nn, d, &dn, &use)) {
			rc = GetLastError() == ERROR_NONE_MAPPED ? LB_OK : LB_E_IO;
			goto out;
		}
	}
	if (n[0] == L'\0')
		goto out;                  /* no name is no name */
	if ((*name = lb_win_utf8(n)) == NULL || (*domain = lb_win_utf8(d)) == NULL) {
		free(*name);
		*name = NULL;
		rc = LB_E_NOMEM;
	}
out:
	free(hn);
	free(hd);
	return rc;
}

static int64_t
lb_names_clock(void *arg)
{
	(void)arg;
	return (int64_t)GetTickCount64();
}

/* One cache for the process, made on first use. The broker's loop thread
 * is the only caller today; the lock keeps it right if that changes (a
 * slow lookup then holds the others back, as it did before the cache). */
static SRWLOCK lb_names_lock = SRWLOCK_INIT;
static struct lb_namecache *lb_names;

/* The account of SID (string SID_STR): LB_OK with *DOMAIN and *NAME, or
 * both NULL when it has no name this machine can find now (unmapped, a
 * domain that does not answer): the SID then names it
 * (docs/windows-identity.md). Only LB_E_NOMEM is an error. */
static int
lb_sid_name(PSID sid, const char *sid_str, char **domain, char **name)
{
	int rc;

	*domain = *name = NULL;
	AcquireSRWLockExclusive(&lb_names_lock);
	if (lb_names == NULL &&
	    (rc = lb_namecache_new(LB_NAMECACHE_CAP, LB_NAMECACHE_TTL_MS, lb_lookup_sid,
	    lb_names_clock, NULL, &lb_names)) != LB_OK) {
		ReleaseSRWLockExclusive(&lb_names_lock);
		return rc;
	}
	rc = lb_namecache_get(lb_names, sid_str, sid, domain, name);
	ReleaseSRWLockExclusive(&lb_names_lock);
	return rc == LB_E_NOMEM ? rc : LB_OK;
}

void
lb_win_names_stats(struct lb_namecache_stats *out, size_t *size)
{
	AcquireSRWLockExclusive(&lb_names_lock);
	lb_namecache_get_stats(lb_names, out);
	*size = lb_namecache_size(lb_names);
	ReleaseSRWLockExclusive(&lb_names_lock);
}

void
lb_win_names_clear(void)
{
	AcquireSRWLockExclusive(&lb_names_lock);
	lb_namecache_clear(lb_names);
	ReleaseSRWLockExclusive(&lb_names_lock);
}

/* "DOMAIN\NAME", or NAME when the domain is empty (Everyone, LOCAL). */
static char *
lb_qualified(const char *domain, const char *name)
{
	size_t dl = strlen(domain), nl = strlen(name);
	char *q;

	if ((q = malloc(dl + nl + 2)) == NULL)
		return NULL;
	if (dl > 0) {
		memcpy(q, domain, dl);
		q[dl++] = '\\';
	}
	memcpy(q + dl, name, nl + 1);
	return q;
}

/* The profile directory, or NULL when the token has none (services,
 * some batch logons). */
static int
lb_profile_dir(HANDLE tok, char **out)
{
	DWORD n = 0;
	wchar_t *w;

	*out = NULL;
	if (GetUserProfileDirectoryW(tok, NULL, &n) || n == 0 || n > LB_WIN_NAME_MAX)
		return LB_OK;
	if (GetLastError() != ERROR_INSUFFICIENT_BUFFER)
		return LB_OK;
	if ((w = malloc((size_t)n * sizeof(wchar_t))) == NULL)
		return LB_E_NOMEM;
	if (GetUserProfileDirectoryW(tok, w, &n) && w[0] != L'\0' &&
	    (*out = lb_win_utf8(w)) == NULL) {
		free(w);
		return LB_E_NOMEM;
	}
	free(w);
	return LB_OK;
}

static int
lb_read_user(HANDLE tok, struct lb_token_desc *d, struct lb_token_storage *st,
    char *why, size_t whylen)
{
	TOKEN_USER *tu = NULL;
	DWORD err = 0;
	int rc;

	if ((rc = lb_token_info(tok, TokenUser, (void **)&tu, &err)) != LB_OK) {
		lb_why(why, whylen, "cannot read the client's user SID", err);
		return rc;
	}
	if ((rc = lb_sid_string(tu->User.Sid, &st->user_sid, &err)) != LB_OK) {
		lb_why(why, whylen, "cannot convert the client's user SID", err);
		goto out;
	}
	if ((rc = lb_sid_name(tu->User.Sid, st->user_sid, &st->user_domain,
	    &st->user_name)) != LB_OK ||
	    (rc = lb_profile_dir(tok, &st->profile_dir)) != LB_OK) {
		lb_why(why, whylen, "out of memory reading the client's token", 0);
		goto out;
	}
	d->user_sid = st->user_sid;
	d->user_attributes = (uint32_t)tu->User.Attributes;
	d->user_name = st->user_name;
	d->user_domain = st->user_domain;
	d->profile_dir = st->profile_dir;
out:
	free(tu);
	return rc;
}

static void
lb_wine_restricted_note(void)
{
	static LONG said;

	if (InterlockedExchange(&said, 1) == 0)
		lb_win_log(LB_WIN_WARN, "Wine cannot report a token's restricting "
		    "SIDs (TokenRestrictedSids is not implemented): the "
		    "restricted-token check is not made under Wine");
}

static int
lb_read_facts(HANDLE tok, struct lb_token_desc *d, struct lb_token_storage *st,
    char *why, size_t whylen)
{
	TOKEN_MANDATORY_LABEL *ml = NULL;
	TOKEN_GROUPS *rs = NULL;
	DWORD v, err = 0;
	int rc;

	if ((rc = lb_token_dword(tok, TokenImpersonationLevel, &v, &err)) != LB_OK) {
		lb_why(why, whylen, "cannot read the client's impersonation level", err);
		return rc;
	}
	switch (v) {
	case SecurityAnonymous:      d->impersonation_level = LB_SECURITY_ANONYMOUS; break;
	case SecurityIdentification: d->impersonation_level = LB_SECURITY_IDENTIFICATION; break;
	case SecurityImpersonation:  d->impersonation_level = LB_SECURITY_IMPERSONATION; break;
	case SecurityDelegation:     d->impersonation_level = LB_SECURITY_DELEGATION; break;
	default:                     d->impersonation_level = -1; break;   /* refused */
	}
	if ((rc = lb_token_dword(tok, TokenIsAppContainer, &v, &err)) != LB_OK) {
		lb_why(why, whylen, "cannot tell whether the client is an AppContainer", err);
		return rc;
	}
	d->is_appcontainer = v != 0 ? LB_TOKEN_YES : LB_TOKEN_NO;

	if ((rc = lb_token_info(tok, TokenIntegrityLevel, (void **)&ml, &err)) != LB_OK) {
		lb_why(why, whylen, "cannot read the client's integrity level", err);
		goto out;
	}
	if ((rc = lb_sid_string(ml->Label.Sid, &st->integrity_sid, &err)) != LB_OK) {
		lb_why(why, whylen, "cannot convert the client's integrity label", err);
		goto out;
	}
	d->integrity_sid = st->integrity_sid;

	rc = lb_token_info(tok, TokenRestrictedSids, (void **)&rs, &err);
	if (rc != LB_OK && err == ERROR_INVALID_FUNCTION && lb_win_is_wine()) {
		/* Wine 8 implements neither TokenRestrictedSids nor
		 * TokenGroupsAndPrivileges (STATUS_NOT_IMPLEMENTED), nor
		 * restricting SIDs at all. Said in the log, never silent; on
		 * Windows the same failure refuses the client. */
		lb_wine_restricted_note();
		d->is_restricted = LB_TOKEN_NO;
		rc = LB_OK;
		goto out;
	}
	if (rc != LB_OK) {
		lb_why(why, whylen, "cannot read the client's restricting SIDs", err);
		goto out;
	}
	d->is_restricted = rs->GroupCount > 0 ? LB_TOKEN_YES : LB_TOKEN_NO;
out:
	free(ml);
	free(rs);
	return rc;
}

static int
lb_read_groups(HANDLE tok, struct lb_token_desc *d, struct lb_token_storage *st,
    char *why, size_t whylen)
{
	TOKEN_GROUPS *tg = NULL;
	DWORD err = 0, i;
	char *sid;
	int rc;

	if ((rc = lb_token_info(tok, TokenGroups, (void **)&tg, &err)) != LB_OK) {
		lb_why(why, whylen, "cannot read the client's groups", err);
		return rc;
	}
	if (tg->GroupCount > LB_WIN_MAX_GROUPS) {
		lb_why(why, whylen, "the client's token has too many groups", 0);
		rc = LB_E_TOOBIG;
		goto out;
	}
	/* +1: never malloc(0). lb_identity keeps at most n_groups. */
	st->tgroups = calloc((size_t)tg->GroupCount + 1, sizeof(*st->tgroups));
	st->groups = calloc((size_t)tg->GroupCount + 1, sizeof(*st->groups));
	if (st->tgroups == NULL || st->groups == NULL) {
		lb_why(why, whylen, "out of memory reading the client's groups", 0);
		rc = LB_E_NOMEM;
		goto out;
	}
	for (i = 0; i < tg->GroupCount; i++) {
		char *dom = NULL, *name = NULL;

		if ((rc = lb_sid_string(tg->Groups[i].Sid, &sid, &err)) != LB_OK) {
			lb_why(why, whylen, "cannot convert one of the client's group SIDs", err);
			goto out;
		}
		st->tgroups[st->n_groups].sid = sid;
		st->tgroups[st->n_groups].attributes = (uint32_t)tg->Groups[i].Attributes;
		st->n_groups++;
		/* The logon session's SID (new at every logon) and the label are
		 * not part of the principal: no name needed. */
		if (!lb_identity_group_is_named(sid))
			continue;
		if ((rc = lb_sid_name(tg->Groups[i].Sid, sid, &dom, &name)) == LB_OK && name != NULL &&
		    (st->tgroups[st->n_groups - 1].name = lb_qualified(dom, name)) == NULL)
			rc = LB_E_NOMEM;
		free(dom);
		free(name);
		if (rc != LB_OK) {
			lb_why(why, whylen, "out of memory reading the client's groups", 0);
			goto out;
		}
	}
	d->groups = st->tgroups;
	d->n_groups = st->n_groups;
out:
	free(tg);
	return rc;
}

/* Acting on as the client after a failed revert would serve every later
 * request with the client's rights (or none): stop here. */
static void
lb_revert_or_die(void)
{
	if (!RevertToSelf()) {
		lb_win_log(LB_WIN_ERR, "cannot stop impersonating a pipe client "
		    "(RevertToSelf: Windows error %lu); exiting",
		    (unsigned long)GetLastError());
		ExitProcess(70);
	}
}

/* The client's token, opened while impersonating it and closed to
 * anything but queries and impersonation. */
int
lb_win_client_token(HANDLE pipe, HANDLE *tok, char *why, size_t whylen)
{
	DWORD err;
	BOOL ok;

	*tok = NULL;
	if (!ImpersonateNamedPipeClient(pipe)) {
		err = GetLastError();
		lb_why(why, whylen, "cannot impersonate the pipe client", err);
		return LB_E_IO;
	}
	/* OpenAsSelf: the token's DACL is checked against the service, not
	 * against the client we are impersonating. */
	ok = OpenThreadToken(GetCurrentThread(),
	    TOKEN_QUERY | TOKEN_IMPERSONATE | TOKEN_DUPLICATE, TRUE, tok);
	err = ok ? 0 : GetLastError();
	lb_revert_or_die();
	if (!ok) {
		*tok = NULL;
		if (err == ERROR_CANT_OPEN_ANONYMOUS) {
			/* A client that connected at SecurityAnonymous. */
			lb_why(why, whylen, "the client connected anonymously", err);
			return LB_E_ID_LEVEL;
		}
		lb_why(why, whylen, "cannot open the pipe client's token", err);
		return LB_E_IO;
	}
	return LB_OK;
}

int
lb_win_peer_from_token(HANDLE tok, struct lb_win_peer **out, char *why, size_t whylen)
{
	struct lb_token_desc d;
	struct lb_token_storage *st = NULL;
	struct lb_win_peer *p = NULL;
	int rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (out == NULL) {
		CloseHandle(tok);
		return LB_E_INVAL;
	}
	*out = NULL;
	memset(&d, 0, sizeof(d));
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL) {
		lb_why(why, whylen, "out of memory reading the client's token", 0);
		rc = LB_E_NOMEM;
		goto out;
	}
	/* Any query that fails refuses the client: a field left at zero is
	 * refused by lb_identity, but one filled with a guess would not be. */
	if ((rc = lb_read_user(tok, &d, st, why, whylen)) != LB_OK ||
	    (rc = lb_read_facts(tok, &d, st, why, whylen)) != LB_OK ||
	    (rc = lb_read_groups(tok, &d, st, why, whylen)) != LB_OK)
		goto out;
	if ((rc = lb_identity_from_token(&d, &p->peer, st->groups, st->n_groups + 1,
	    why, whylen)) != LB_OK)
		goto out;
	p->token = tok;
	p->storage = st;
	p->peer.plat = p;
	*out = p;
	tok = NULL;
	st = NULL;
	p = NULL;
out:
	if (tok != NULL)
		CloseHandle(tok);
	lb_storage_free(st);
	free(p);
	return rc;
}

int
lb_win_peer_from_pipe(HANDLE pipe, struct lb_win_peer **out, char *why,
    size_t whylen)
{
	HANDLE tok = NULL;
	int rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (out == NULL)
		return LB_E_INVAL;
	*out = NULL;
	if ((rc = lb_win_client_token(pipe, &tok, why, whylen)) != LB_OK)
		return rc;
	return lb_win_peer_from_token(tok, out, why, whylen);
}

void
lb_win_peer_free(struct lb_win_peer *p)
{
	if (p == NULL)
		return;
	if (p->token != NULL)
		CloseHandle(p->token);
	lb_storage_free(p->storage);
	free(p);
}
