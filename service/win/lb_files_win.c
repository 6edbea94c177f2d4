/* lb_files_win: the broker's own files on Windows: checks that only admins
 * can change them (owner and DACL of the file, its directory and every
 * directory above), directories and atomic writes with an explicit security
 * descriptor, the policy loaded the way the service trusts it, and the
 * service key pair (same file formats as service/posix/lb_key_posix.c). */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "lb_win.h"

#define LB_REFUSE_WRITABLE "the broker refuses a policy file non-admins can write"
#define LB_DIR_DEPTH_MAX 64

/* Rights nobody but the trusted owners may hold. FILE_WRITE_EA and
 * FILE_WRITE_ATTRIBUTES cannot change the text but no read-only ACL grants
 * them, so refusing them costs nothing. */
#define LB_BAD_FILE (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | \
    FILE_WRITE_ATTRIBUTES | DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_WRITE | GENERIC_ALL)
/* The directory holding the file: adding, deleting or renaming entries. */
#define LB_BAD_DIR (FILE_ADD_FILE | FILE_ADD_SUBDIRECTORY | FILE_DELETE_CHILD | \
    DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_WRITE | GENERIC_ALL)
/* Directories further up: renaming the next one away (DELETE on it needs
 * DELETE_CHILD here or DELETE on it) or taking the ACL over. Creating
 * entries is fine (Users may create folders in C:\ and C:\ProgramData). */
#define LB_BAD_ANCESTOR (FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_ALL)
/* The secret key: others may not even read it. */
#define LB_BAD_PRIVATE (~(ACCESS_MASK)(FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE))

/* ---- security identifiers ---- */

/* SIDs whose ACEs say nothing about other users: CREATOR OWNER/GROUP
 * match no token (they only matter when inherited, and inherit-only ACEs
 * are skipped), OWNER RIGHTS is the owner, checked separately. */
static int
lb_sid_is_placeholder(PSID sid)
{
	static const wchar_t *const ids[] = { L"S-1-3-0", L"S-1-3-1", L"S-1-3-4" };
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		PSID s = NULL;
		int eq;

		if (!ConvertStringSidToSidW(ids[i], &s))
			return 0;
		eq = EqualSid(sid, s) != 0;
		LocalFree(s);
		if (eq)
			return 1;
	}
	return 0;
}

/* SYSTEM, Administrators, TrustedInstaller, or this process's user. */
static int
lb_sid_trusted(PSID sid)
{
	static const WELL_KNOWN_SID_TYPE known[] = { WinLocalSystemSid, WinBuiltinAdministratorsSid };
	BYTE buf[SECURITY_MAX_SID_SIZE], tu[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
	HANDLE tok;
	PSID ti = NULL;
	DWORD n;
	size_t i;
	int ok = 0;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		n = sizeof(buf);
		if (CreateWellKnownSid(known[i], NULL, buf, &n) && EqualSid(sid, buf))
			return 1;
	}
	/* NT SERVICE\TrustedInstaller */
	if (ConvertStringSidToSidW(L"S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464", &ti)) {
		ok = EqualSid(sid, ti) != 0;
		LocalFree(ti);
		if (ok)
			return 1;
	}
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
		return 0;
	if (GetTokenInformation(tok, TokenUser, tu, sizeof(tu), &n))
		ok = EqualSid(sid, ((TOKEN_USER *)(void *)tu)->User.Sid) != 0;
	CloseHandle(tok);
	return ok;
}

/* A SID for messages: a well-known name or the S-1-... string. */
static void
lb_sid_text(PSID sid, char *out, size_t n)
{
	static const struct { const wchar_t *sid; const char *name; } names[] = {
		{ L"S-1-1-0", "Everyone" },
		{ L"S-1-5-7", "ANONYMOUS LOGON" },
		{ L"S-1-5-4", "INTERACTIVE" },
		{ L"S-1-5-11", "Authenticated Users" },
		{ L"S-1-5-32-545", "BUILTIN\\Users" },
		{ L"S-1-5-32-546", "BUILTIN\\Guests" },
	};
	wchar_t *ws = NULL;
	char *s;
	size_t i;

	snprintf(out, n, "an unreadable SID");
	if (!ConvertSidToStringSidW(sid, &ws))
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (wcscmp(ws, names[i].sid) == 0) {
			snprintf(out, n, "%s", names[i].name);
			LocalFree(ws);
			return;
		}
	}
	if ((s = lb_win_utf8(ws)) != NULL) {
		snprintf(out, n, "%s", s);
		free(s);
	}
	LocalFree(ws);
}

/* ---- security descriptors ---- */

/* Owner must be trusted; no allowed ACE that applies to the object may
 * grant BAD to anyone else. WHAT names the object in messages. */
static int
lb_sd_check(HANDLE h, const char *what, ACCESS_MASK bad, const char *why,
    char *err, size_t errlen)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID owner = NULL;
	PACL dacl = NULL;
	ACL_SIZE_INFORMATION ai;
	char who[200];
	DWORD e, i;
	int r = LB_E_PERM;

	e = GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
	    &owner, NULL, &dacl, NULL, &sd);
	if (e != ERROR_SUCCESS) {
		snprintf(err, errlen, "%s: cannot read its security descriptor (Windows error %lu)", what, e);
		return lb_win_error(e);
	}
	if (owner == NULL || !IsValidSid(owner)) {
		snprintf(err, errlen, "%s has no owner: %s", what, why);
		goto out;
	}
	if (!lb_sid_trusted(owner)) {
		lb_sid_text(owner, who, sizeof(who));
		snprintf(err, errlen, "%s is owned by %s (the owner may change its ACL): %s", what, who, why);
		goto out;
	}
	if (dacl == NULL) {
		snprintf(err, errlen, "%s has a NULL DACL (everyone has full control): %s", what, why);
		goto out;
	}
	if (!GetAclInformation(dacl, &ai, sizeof(ai), AclSizeInformation)) {
		snprintf(err, errlen, "%s: unreadable DACL: %s", what, why);
		goto out;
	}
	for (i = 0; i < ai.AceCount; i++) {
		ACE_HEADER *hdr;
		ACCESS_MASK mask;
		PSID sid;

		if (!GetAce(dacl, i, (void **)&hdr)) {
			snprintf(err, errlen, "%s: unreadable ACE %lu: %s", what, i, why);
			goto out;
		}
		if (hdr->AceFlags & INHERIT_ONLY_ACE)
			continue;
		switch (hdr->AceType) {
		case ACCESS_ALLOWED_ACE_TYPE:
		case ACCESS_ALLOWED_CALLBACK_ACE_TYPE:
			/* Same layout: header, mask, SID. */
			mask = ((ACCESS_ALLOWED_ACE *)(void *)hdr)->Mask;
			sid = (PSID)&((ACCESS_ALLOWED_ACE *)(void *)hdr)->SidStart;
			if ((mask & bad) == 0 || lb_sid_trusted(sid) || lb_sid_is_placeholder(sid))
				continue;
			lb_sid_text(sid, who, sizeof(who));
			snprintf(err, errlen, "%s: its ACL gives %s access 0x%08lx: %s", what, who,
			    (unsigned long)mask, why);
			goto out;
		case ACCESS_DENIED_ACE_TYPE:
		case ACCESS_DENIED_CALLBACK_ACE_TYPE:
		case ACCESS_DENIED_OBJECT_ACE_TYPE:
		case ACCESS_DENIED_CALLBACK_OBJECT_ACE_TYPE:
		case SYSTEM_AUDIT_ACE_TYPE:
		case SYSTEM_ALARM_ACE_TYPE:
		case SYSTEM_MANDATORY_LABEL_ACE_TYPE:
			continue;   /* they grant nothing */
		default:
			/* Object, compound or unknown allowed ACEs: we cannot tell
			 * whom they grant to, so any write right is refused. */
			mask = ((ACCESS_ALLOWED_ACE *)(void *)hdr)->Mask;
			if ((mask & bad) == 0)
				continue;
			snprintf(err, errlen, "%s: its ACL has an ACE of type %u granting 0x%08lx: %s",
			    what, (unsigned)hdr->AceType, (unsigned long)mask, why);
			goto out;
		}
	}
	r = LB_OK;
out:
	LocalFree(sd);
	return r;
}

/* "\\?\C:\x" -> "C:\x" (in place); UNC and volume GUID paths stay as they are. */
static wchar_t *
lb_strip_prefix(wchar_t *p)
{
	if (wcsncmp(p, L"\\\\?\\", 4) == 0 && p[4] != L'\0' && p[5] == L':')
		return p + 4;
	return p;
}

/* GetFinalPathNameByHandleW, malloc'd, "\\?\C:\..." form. */
static int
lb_final_path(HANDLE h, wchar_t **out)
{
	DWORD n, m;
	wchar_t *w;

	*out = NULL;
	n = GetFinalPathNameByHandleW(h, NULL, 0, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
	if (n == 0)
		return lb_win_error(GetLastError());
	if ((w = malloc((size_t)n * sizeof(wchar_t))) == NULL)
		return LB_E_NOMEM;
	m = GetFinalPathNameByHandleW(h, w, n, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
	if (m == 0 || m >= n) {
		free(w);
		return m == 0 ? lb_win_error(GetLastError()) : LB_E_IO;
	}
	*out = w;
	return LB_OK;
}

/* Open PATH itself (never what a reparse point points to) for its
 * attributes and security descriptor, plus EXTRA rights. */
static HANDLE
lb_open_nofollow(const wchar_t *path, DWORD extra)
{
	return CreateFileW(path, READ_CONTROL | FILE_READ_ATTRIBUTES | extra,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
	    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
}

/* 1 directory, 0 regular file, <0 error (reparse point, device...). */
static int
lb_handle_kind(HANDLE h, const char *what, char *err, size_t errlen)
{
	FILE_ATTRIBUTE_TAG_INFO ti;

	if (GetFileType(h) != FILE_TYPE_DISK) {
		snprintf(err, errlen, "%s: not a file on disk", what);
		return LB_E_IO;
	}
	if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &ti, sizeof(ti))) {
		snprintf(err, errlen, "%s: cannot read its attributes (Windows error %lu)",
		    what, GetLastError());
		return LB_E_IO;
	}
	if (ti.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
		snprintf(err, errlen, "%s is a reparse point (symbolic link or junction, tag 0x%08lx): "
		    "the broker's files must be plain files and directories", what,
		    (unsigned long)ti.ReparseTag);
		return LB_E_PERM;
	}
	return (ti.FileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
}

/* Check every directory above the file opened as H: the one holding it
 * against LB_BAD_DIR, the rest against LB_BAD_ANCESTOR. */
static int
lb_check_dirs(HANDLE h, const char *path, const char *why, char *err, size_t errlen)
{
	wchar_t *final = NULL, *p, *slash;
	char *u8 = NULL, what[1024];
	int r, depth = 0;

	if ((r = lb_final_path(h, &final)) != LB_OK) {
		snprintf(err, errlen, "%s: cannot read its final path: %s", path, lb_strerror(r));
		return r;
	}
	p = lb_strip_prefix(final);
	if (p == final) {
		/* \\?\UNC\... or a volume without a drive letter: an admin of
		 * another machine could change it. */
		snprintf(err, errlen, "%s is not on a local drive: %s", path, why);
		r = LB_E_PERM;
		goto out;
	}
	for (;;) {
		HANDLE d;
		wchar_t keep = 0;
		int kind;

		if ((slash = wcsrchr(p, L'\\')) == NULL)
			break;
		if (slash == p + 2) {
			/* "C:\name" -> the root "C:\" */
			if (slash[1] == L'\0')
				break;
			keep = slash[1];
			slash[1] = L'\0';
		} else {
			*slash = L'\0';
		}
		free(u8);
		if ((u8 = lb_win_utf8(p)) == NULL) {
			r = LB_E_NOMEM;
			goto out;
		}
		snprintf(what, sizeof(what), "directory %s", u8);
		if ((d = lb_open_nofollow(p, 0)) == INVALID_HANDLE_VALUE) {
			snprintf(err, errlen, "%s: cannot open (Windows error %lu)", what, GetLastError());
			r = LB_E_IO;
			goto out;
		}
		kind = lb_handle_kind(d, what, err, errlen);
		if (kind == 0) {
			snprintf(err, errlen, "%s: not a directory", what);
			kind = LB_E_NOT_DIR;
		}
		r = kind < 0 ? kind : lb_sd_check(d, what, depth == 0 ? LB_BAD_DIR : LB_BAD_ANCESTOR,
		    why, err, errlen);
		CloseHandle(d);
		if (r != LB_OK)
			goto out;
		if (keep != 0)
			break;   /* the root was the last one */
		if (++depth > LB_DIR_DEPTH_MAX) {
			snprintf(err, errlen, "%s: too deep", path);
			r = LB_E_PATH_LONG;
			goto out;
		}
	}
	r = LB_OK;
out:
	free(u8);
	free(final);
	return r;
}

/* The file opened as H (by PATH) is a regular file only admins can change
 * (BAD for the file itself), in directories only admins can change. */
static int
lb_check_open_file(HANDLE h, const char *path, ACCESS_MASK bad, const char *why,
    char *err, size_t errlen)
{
	int r;

	if ((r = lb_handle_kind(h, path, err, errlen)) < 0)
		return r;
	if (r == 1) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return LB_E_IO;
	}
	if ((r = lb_sd_check(h, path, bad, why, err, errlen)) != LB_OK)
		return r;
	return lb_check_dirs(h, path, why, err, errlen);
}

static HANDLE
lb_open_admin_file(const char *path, DWORD extra, char *err, size_t errlen, int *r)
{
	wchar_t *w;
	HANDLE h;
	DWORD e;

	if ((w = lb_win_wide(path)) == NULL) {
		snprintf(err, errlen, "%s: not a valid file name", path);
		*r = LB_E_INVAL;
		return INVALID_HANDLE_VALUE;
	}
	h = lb_open_nofollow(w, extra);
	e = GetLastError();
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		*r = lb_win_error(e);
		if (*r != LB_E_NOENT)
			*r = LB_E_IO;
		snprintf(err, errlen, "%s: cannot open (Windows error %lu)", path, e);
	}
	return h;
}

int
lb_win_check_admin_file(const char *path, char *err, size_t errlen)
{
	HANDLE h;
	int r;

	if ((h = lb_open_admin_file(path, 0, err, errlen, &r)) == INVALID_HANDLE_VALUE)
		return r;
	r = lb_check_open_file(h, path, LB_BAD_FILE, LB_REFUSE_WRITABLE, err, errlen);
	CloseHandle(h);
	return r;
}

/* Read all of the open file H (at most MAX bytes) into a malloc'd,
 * NUL-terminated buffer. */
static int
lb_read_handle(HANDLE h, const char *path, size_t max, char **data, size_t *len,
    char *err, size_t errlen)
{
	LARGE_INTEGER size;
	char *buf;
	size_t got = 0;

	*data = NULL;
	*len = 0;
	if (!GetFileSizeEx(h, &size) || size.QuadPart < 0) {
		snprintf(err, errlen, "%s: cannot read its size (Windows error %lu)", path, GetLastError());
		return LB_E_IO;
	}
	if ((unsigned long long)size.QuadPart > max) {
		snprintf(err, errlen, "%s: larger than %lu bytes", path, (unsigned long)max);
		return LB_E_TOOBIG;
	}
	if ((buf = malloc((size_t)size.QuadPart + 1)) == NULL)
		return LB_E_NOMEM;
	while (got < (size_t)size.QuadPart) {
		DWORD n = 0;

		if (!ReadFile(h, buf + got, (DWORD)((size_t)size.QuadPart - got), &n, NULL)) {
			snprintf(err, errlen, "%s: read error (Windows error %lu)", path, GetLastError());
			free(buf);
			return LB_E_IO;
		}
		if (n == 0)
			break;   /* shrank meanwhile: use what is there */
		got += n;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return LB_OK;
}

/* ---- directories and files ---- */

static int
lb_sd_from_sddl(const wchar_t *sddl, PSECURITY_DESCRIPTOR *sd, PACL *dacl)
{
	BOOL present = FALSE, defaulted = FALSE;

	*sd = NULL;
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, sd, NULL))
		return LB_E_INVAL;
	if (dacl != NULL && (!GetSecurityDescriptorDacl(*sd, &present, dacl, &defaulted) ||
	    !present || *dacl == NULL)) {
		LocalFree(*sd);
		*sd = NULL;
		return LB_E_INVAL;
	}
	return LB_OK;
}

/* CreateDirectoryW with SA, making missing parents the same way. */
static DWORD
lb_mkdir_parents(wchar_t *dir, SECURITY_ATTRIBUTES *sa, int depth)
{
	wchar_t *slash;
	DWORD e;

	if (CreateDirectoryW(dir, sa))
		return ERROR_SUCCESS;
	e = GetLastError();
	if (e != ERROR_PATH_NOT_FOUND || depth > LB_DIR_DEPTH_MAX)
		return e;
	if ((slash = wcsrchr(dir, L'\\')) == NULL || slash == dir || slash[-1] == L':')
		return e;
	*slash = L'\0';
	e = lb_mkdir_parents(dir, sa, depth + 1);
	*slash = L'\\';
	if (e != ERROR_SUCCESS && e != ERROR_ALREADY_EXISTS)
		return e;
	return CreateDirectoryW(dir, sa) ? ERROR_SUCCESS : GetLastError();
}

/* PATH itself, for its attributes and file id only: FILE_READ_ATTRIBUTES
 * is granted to whoever may list the parent, even where the object's own
 * DACL (a folder a user made first) denies us READ_CONTROL. */
static HANDLE
lb_open_attributes(const wchar_t *path)
{
	return CreateFileW(path, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE |
	    FILE_SHARE_DELETE, NULL, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT |
	    FILE_FLAG_BACKUP_SEMANTICS, NULL);
}

/* Is the directory open as H %ProgramData%\LinkBroker itself (same
 * volume and file id, whatever the spelling of either path)? */
static int
lb_is_data_dir(HANDLE h)
{
	BY_HANDLE_FILE_INFORMATION a, b;
	char *dd = lb_win_data_dir();
	wchar_t *w = dd != NULL ? lb_win_wide(dd) : NULL;
	HANDLE d = w != NULL ? lb_open_attributes(w) : INVALID_HANDLE_VALUE;
	int same = 0;

	if (d != INVALID_HANDLE_VALUE) {
		same = GetFileInformationByHandle(h, &a) && GetFileInformationByHandle(d, &b) &&
		    a.dwVolumeSerialNumber == b.dwVolumeSerialNumber &&
		    a.nFileIndexHigh == b.nFileIndexHigh && a.nFileIndexLow == b.nFileIndexLow;
		CloseHandle(d);
	}
	free(w);
	free(dd);
	return same;
}

/* H (DIR) must be a directory: LB_OK, else the error with ERR said. */
static int
lb_require_dir(HANDLE h, const char *dir, char *err, size_t errlen)
{
	int r;

	if ((r = lb_handle_kind(h, dir, err, errlen)) < 0)
		return r;
	if (r == 0) {
		snprintf(err, errlen, "%s exists and is not a directory", dir);
		return LB_E_NOT_DIR;
	}
	return LB_OK;
}

int
lb_win_ensure_dir(const char *dir, const wchar_t *sddl, char *err, size_t errlen)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	SECURITY_ATTRIBUTES sa;
	BYTE ba[SECURITY_MAX_SID_SIZE];
	PSID owner = NULL;
	PSECURITY_DESCRIPTOR cur = NULL;
	PACL dacl = NULL;
	wchar_t *w = NULL;
	HANDLE h = INVALID_HANDLE_VALUE;
	DWORD e, n = sizeof(ba);
	int r, made;

	if ((w = lb_win_wide(dir)) == NULL) {
		snprintf(err, errlen, "%s: not a valid directory name", dir);
		return LB_E_INVAL;
	}
	if ((r = lb_sd_from_sddl(sddl, &sd, &dacl)) != LB_OK) {
		snprintf(err, errlen, "%s: bad security descriptor", dir);
		goto out;
	}
	sa.nLength = sizeof(sa);
	sa.lpSecurityDescriptor = sd;
	sa.bInheritHandle = FALSE;
	e = lb_mkdir_parents(w, &sa, 0);
	if (e != ERROR_SUCCESS && e != ERROR_ALREADY_EXISTS) {
		snprintf(err, errlen, "cannot create directory %s (Windows error %lu)", dir, e);
		r = lb_win_error(e);
		goto out;
	}
	made = e == ERROR_SUCCESS;
	/* Without READ_CONTROL (denied to us by its DACL) a folder other than
	 * the data folder fails lb_sd_check below, as it should. */
	if ((h = lb_open_nofollow(w, 0)) == INVALID_HANDLE_VALUE && GetLastError() == ERROR_ACCESS_DENIED)
		h = lb_open_attributes(w);
	if (h == INVALID_HANDLE_VALUE) {
		e = GetLastError();
		snprintf(err, errlen, "%s: cannot open (Windows error %lu)", dir, e);
		r = lb_win_error(e);
		goto out;
	}
	if ((r = lb_require_dir(h, dir, err, errlen)) != LB_OK)
		goto out;
	if (!lb_is_data_dir(h)) {
		/* Made just now with SDDL, or a folder the policy merely names
		 * (audit_log = D:\logs\audit.log): never re-ACL it (that
		 * would change its whole tree at every start), only refuse it
		 * if it is not admin-only. */
		r = lb_sd_check(h, dir, LB_BAD_DIR, made ? "it must be writable by administrators only" :
		    "the broker sets the ACL of no existing folder but %ProgramData%\\LinkBroker: "
		    "make it writable by administrators only, or name another", err, errlen);
		goto out;
	}
	/* The data folder, new or old, is made exactly ours: one a user made
	 * first (Users may create folders in C:\ProgramData) must not stay
	 * theirs. An elevated admin holds SeRestorePrivilege, which (with
	 * backup semantics, enabled by the caller) opens for
	 * WRITE_OWNER/WRITE_DAC whatever the DACL says. */
	CloseHandle(h);
	if ((h = lb_open_nofollow(w, WRITE_DAC | WRITE_OWNER)) == INVALID_HANDLE_VALUE) {
		e = GetLastError();
		snprintf(err, errlen, "%s: cannot open to set its ACL (Windows error %lu)", dir, e);
		r = lb_win_error(e);
		goto out;
	}
	if ((r = lb_require_dir(h, dir, err, errlen)) != LB_OK)
		goto out;
	e = GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL, NULL, &cur);
	if (e == ERROR_SUCCESS && (owner == NULL || !lb_sid_trusted(owner))) {
		/* Wine: returns success and keeps the owner (the Unix owner). */
		if (!CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, ba, &n))
			e = GetLastError();
		else
			e = SetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, ba, NULL, NULL, NULL);
	}
	if (e != ERROR_SUCCESS) {
		snprintf(err, errlen, "%s: cannot make Administrators its owner (Windows error %lu)", dir, e);
		r = lb_win_error(e);
		goto out;
	}
	e = SetSecurityInfo(h, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION |
	    PROTECTED_DACL_SECURITY_INFORMATION, NULL, NULL, dacl, NULL);
	if (e != ERROR_SUCCESS) {
		snprintf(err, errlen, "%s: cannot set its ACL (Windows error %lu)", dir, e);
		r = lb_win_error(e);
		goto out;
	}
	/* Read back what the file system really keeps. */
	r = lb_sd_check(h, dir, LB_BAD_DIR, "it must be writable by administrators only", err, errlen);
out:
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	LocalFree(cur);
	LocalFree(sd);
	free(w);
	return r;
}

int
lb_win_write_file(const char *path, const void *data, size_t len, const wchar_t *sddl,
    char *err, size_t errlen)
{
	const unsigned char *p = data;
	PSECURITY_DESCRIPTOR sd = NULL;
	SECURITY_ATTRIBUTES sa;
	wchar_t *w = NULL, *tmp = NULL;
	HANDLE h = INVALID_HANDLE_VALUE;
	size_t wl, off = 0, tl;
	uint8_t rnd[8];
	DWORD e = ERROR_SUCCESS;
	int r = LB_E_IO, tries;

	if ((w = lb_win_wide(path)) == NULL) {
		snprintf(err, errlen, "%s: not a valid file name", path);
		return LB_E_INVAL;
	}
	if (lb_sd_from_sddl(sddl, &sd, NULL) != LB_OK) {
		snprintf(err, errlen, "%s: bad security descriptor", path);
		r = LB_E_INVAL;
		goto out;
	}
	sa.nLength = sizeof(sa);
	sa.lpSecurityDescriptor = sd;
	sa.bInheritHandle = FALSE;
	wl = wcslen(w);
	tl = wl + sizeof(".tmp0123456789abcdef");
	if ((tmp = malloc(tl * sizeof(wchar_t))) == NULL) {
		r = LB_E_NOMEM;
		goto out;
	}
	/* A fresh name (CREATE_NEW: never opens what is there) in the same
	 * directory, so the rename stays on the volume and keeps our SD. */
	for (tries = 0; tries < 16 && h == INVALID_HANDLE_VALUE; tries++) {
		lb_random(rnd, sizeof(rnd));
		swprintf(tmp, tl, L"%ls.tmp%02x%02x%02x%02x%02x%02x%02x%02x", w, rnd[0], rnd[1],
		    rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		h = CreateFileW(tmp, GENERIC_WRITE, 0, &sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
		if (h == INVALID_HANDLE_VALUE && (e = GetLastError()) != ERROR_FILE_EXISTS &&
		    e != ERROR_ALREADY_EXISTS)
			break;
	}
	if (h == INVALID_HANDLE_VALUE) {
		snprintf(err, errlen, "cannot create a file next to %s (Windows error %lu)", path, e);
		r = lb_win_error(e);
		goto out;
	}
	while (off < len) {
		DWORD chunk = len - off > 0x40000000u ? 0x40000000u : (DWORD)(len - off), n = 0;

		if (!WriteFile(h, p + off, chunk, &n, NULL) || n == 0) {
			e = GetLastError();
			goto fail;
		}
		off += n;
	}
	if (!FlushFileBuffers(h)) {
		e = GetLastError();
		goto fail;
	}
	CloseHandle(h);
	h = INVALID_HANDLE_VALUE;
	/* The renamed file keeps the temporary file's security descriptor
	 * (same volume; measured under Wine too), so it is ours already. */
	if (!MoveFileExW(tmp, w, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
		e = GetLastError();
		goto fail;
	}
	r = LB_OK;
	goto out;
fail:
	snprintf(err, errlen, "cannot write %s (Windows error %lu)", path, e);
	r = lb_win_error(e);
	if (r != LB_E_PERM && r != LB_E_NOMEM)
		r = LB_E_IO;
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	h = INVALID_HANDLE_VALUE;
	DeleteFileW(tmp);
out:
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	LocalFree(sd);
	free(tmp);
	free(w);
	return r;
}

/* ---- the policy ---- */

static void
lb_err_text(struct lb_buf *err, const char *a, const char *b)
{
	/* If even the message cannot be kept, the error code still says why. */
	if (lb_buf_put_cstr(err, a) != LB_OK || (b != NULL && lb_buf_put_cstr(err, b) != LB_OK))
		return;
}

/* lb_policy_add_floor unless DIR is a floor already (any case). */
static int
lb_floor_once(struct lb_policy *p, const char *dir, const char *why)
{
	size_t i;

	for (i = 0; i < p->n_floors; i++)
		if (_stricmp(p->floors[i].dir.s, dir) == 0)
			return LB_OK;
	return lb_policy_add_floor(p, dir, why);
}

/* Add the directory of the UTF-16 path W ("C:\a\f" -> "C:\a") as a floor. */
static int
lb_floor_dir_of(struct lb_policy *p, wchar_t *w, const char *why)
{
	wchar_t *slash = wcsrchr(w, L'\\'), keep;
	char *u8;
	int r;

	if (slash == NULL)
		return LB_OK;
	keep = slash[0];
	slash[0] = L'\0';
	u8 = lb_win_utf8(w);
	slash[0] = keep;
	if (u8 == NULL)
		return LB_E_NOMEM;
	r = lb_floor_once(p, u8, why);
	free(u8);
	return r;
}

/* DIR's final path (a junction on the way resolved), "C:\..." form, or NULL. */
static char *
lb_resolved_dir(const char *dir)
{
	wchar_t *w, *final = NULL;
	char *out = NULL;
	HANDLE h;

	if ((w = lb_win_wide(dir)) == NULL)
		return NULL;
	h = CreateFileW(w, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
	    NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE)
		return NULL;
	if (lb_final_path(h, &final) == LB_OK && lb_strip_prefix(final) != final)
		out = lb_win_utf8(lb_strip_prefix(final));
	CloseHandle(h);
	free(final);
	return out;
}

/* The floors only this machine knows: the policy's own directory (as
 * named and as resolved), the real %SystemRoot% and %ProgramData%\LinkBroker,
 * then every floor where it really is. */
static int
lb_win_floors(struct lb_policy *p, const wchar_t *wpath, HANDLE h)
{
	static const char why_broker[] = "links are never created in the broker's own directories";
	static const char why_system[] = "links are never created inside the system tree";
	wchar_t full[MAX_PATH * 4], sysdir[MAX_PATH + 1], *final = NULL;
	char *s;
	size_t i, n;
	DWORD m;
	int r = LB_OK;

	m = GetFullPathNameW(wpath, (DWORD)(sizeof(full) / sizeof(full[0])), full, NULL);
	if (m > 0 && m < sizeof(full) / sizeof(full[0]) && (r = lb_floor_dir_of(p, full, why_broker)) != LB_OK)
		return r;
	if (lb_final_path(h, &final) == LB_OK && lb_strip_prefix(final) != final)
		r = lb_floor_dir_of(p, lb_strip_prefix(final), why_broker);
	free(final);
	if (r != LB_OK)
		return r;
	m = GetSystemWindowsDirectoryW(sysdir, (DWORD)(sizeof(sysdir) / sizeof(sysdir[0])));
	if (m > 0 && m < sizeof(sysdir) / sizeof(sysdir[0])) {
		if ((s = lb_win_utf8(sysdir)) == NULL)
			return LB_E_NOMEM;
		r = lb_floor_once(p, s, why_system);
		free(s);
		if (r != LB_OK)
			return r;
	}
	if ((s = lb_win_data_dir()) != NULL) {
		r = lb_floor_once(p, s, why_broker);
		free(s);
		if (r != LB_OK)
			return r;
	}
	n = p->n_floors;
	for (i = 0; i < n; i++) {
		if ((s = lb_resolved_dir(p->floors[i].dir.s)) == NULL)
			continue;   /* missing: nothing to resolve */
		if (_stricmp(s, p->floors[i].dir.s) != 0)
			r = lb_floor_once(p, s, p->floors[i].why);
		free(s);
		if (r != LB_OK)
			return r;
	}
	return LB_OK;
}

int
lb_win_load_policy(const char *path, struct lb_policy **out, struct lb_buf *err)
{
	struct lb_policy *p = NULL;
	char msg[1024], *data = NULL;
	wchar_t *w = NULL;
	HANDLE h;
	size_t len;
	int r;

	*out = NULL;
	/* Checked and read through one handle: what is checked is what is read. */
	if ((h = lb_open_admin_file(path, GENERIC_READ, msg, sizeof(msg), &r)) == INVALID_HANDLE_VALUE) {
		lb_err_text(err, msg, NULL);
		return r;
	}
	if ((r = lb_check_open_file(h, path, LB_BAD_FILE, LB_REFUSE_WRITABLE, msg, sizeof(msg))) != LB_OK) {
		lb_err_text(err, msg, NULL);
		goto out;
	}
	if ((r = lb_read_handle(h, path, LB_POLICY_FILE_MAX, &data, &len, msg, sizeof(msg))) != LB_OK) {
		lb_err_text(err, r == LB_E_NOMEM ? "out of memory" : msg, NULL);
		goto out;
	}
	if ((r = lb_policy_load_buffer(path, data, len, LB_FLAVOR_WINDOWS, &p, err)) != LB_OK)
		goto out;
	if ((w = lb_win_wide(path)) == NULL) {
		r = LB_E_NOMEM;
		goto out;
	}
	if ((r = lb_win_floors(p, w, h)) != LB_OK) {
		lb_err_text(err, path, ": cannot add the floors of this machine: ");
		lb_err_text(err, lb_strerror(r), NULL);
		goto out;
	}
	*out = p;
	p = NULL;
out:
	CloseHandle(h);
	lb_policy_free(p);
	free(data);
	free(w);
	return r;
}

/* ---- the service key ---- */

static int
lb_sk_create(const char *path, uint8_t sk[LB_SK_BYTES], char *err, size_t errlen)
{
	uint8_t pk[LB_PK_BYTES];
	char text[LB_SK_B64_LEN];
	int r;

	if ((r = lb_sign_keypair(pk, sk)) != LB_OK) {
		snprintf(err, errlen, "cannot make a key pair: %s", lb_strerror(r));
		return r;
	}
	if ((r = lb_service_key_format(sk, text)) != LB_OK)
		goto out;
	r = lb_win_write_file(path, text, LB_SK_B64_LEN, LB_SDDL_PRIVATE, err, errlen);
out:
	lb_wipe(text, sizeof(text));
	return r;
}

/* The directory holding FILE: made with LB_SDDL_DIR if missing; if it
 * exists it must already be admin-only (never re-ACL a folder the policy
 * merely names). */
static int
lb_key_parent(const char *file, char *err, size_t errlen)
{
	wchar_t *w, *slash;
	char *dir = NULL;
	HANDLE h;
	int r;

	if ((w = lb_win_wide(file)) == NULL) {
		snprintf(err, errlen, "%s: not a valid file name", file);
		return LB_E_INVAL;
	}
	if ((slash = wcsrchr(w, L'\\')) == NULL || slash == w || slash[-1] == L':') {
		snprintf(err, errlen, "%s: the broker's files need a directory of their own", file);
		free(w);
		return LB_E_INVAL;
	}
	*slash = L'\0';
	if ((dir = lb_win_utf8(w)) == NULL) {
		free(w);
		return LB_E_NOMEM;
	}
	h = lb_open_nofollow(w, 0);
	if (h == INVALID_HANDLE_VALUE) {
		if (GetLastError() == ERROR_FILE_NOT_FOUND || GetLastError() == ERROR_PATH_NOT_FOUND)
			r = lb_win_ensure_dir(dir, LB_SDDL_DIR, err, errlen);
		else {
			snprintf(err, errlen, "%s: cannot open (Windows error %lu)", dir, GetLastError());
			r = LB_E_IO;
		}
	} else {
		char what[1024];

		snprintf(what, sizeof(what), "directory %s", dir);
		r = lb_handle_kind(h, what, err, errlen);
		if (r == 0) {
			snprintf(err, errlen, "%s is not a directory", dir);
			r = LB_E_NOT_DIR;
		} else if (r == 1) {
			r = lb_sd_check(h, what, LB_BAD_DIR,
			    "the service key's directory must be writable by administrators only", err, errlen);
		}
		CloseHandle(h);
	}
	free(dir);
	free(w);
	return r;
}

/* Read the small key file PATH (not following a reparse point) into BUF
 * after checking it: LB_E_NOENT if missing. */
static int
lb_read_key_file(const char *path, ACCESS_MASK bad, const char *why, char *buf, size_t max,
    size_t *len, char *err, size_t errlen)
{
	char *data = NULL;
	HANDLE h;
	int r;

	if ((h = lb_open_admin_file(path, GENERIC_READ, err, errlen, &r)) == INVALID_HANDLE_VALUE)
		return r;
	if ((r = lb_check_open_file(h, path, bad, why, err, errlen)) == LB_OK &&
	    (r = lb_read_handle(h, path, max - 1, &data, len, err, errlen)) == LB_OK) {
		memcpy(buf, data, *len + 1);
		lb_wipe(data, *len);
	}
	if (r == LB_E_TOOBIG)
		snprintf(err, errlen, "%s: larger than a key file", path);
	free(data);
	CloseHandle(h);
	return r;
}

int
lb_win_service_key(const char *sk_path, const char *pk_path, uint8_t sk[LB_SK_BYTES],
    char *err, size_t errlen)
{
	char text[256], pub[LB_PK_B64_LEN + 1], ignored[512];
	size_t len = 0;
	int r;

	if ((r = lb_key_parent(sk_path, err, errlen)) != LB_OK)
		return r;
	r = lb_read_key_file(sk_path, LB_BAD_PRIVATE,
	    "the service key must be readable and writable by SYSTEM and Administrators only",
	    text, sizeof(text), &len, err, errlen);
	if (r == LB_E_NOENT) {
		if ((r = lb_sk_create(sk_path, sk, err, errlen)) != LB_OK)
			goto out;
	} else if (r != LB_OK) {
		goto out;
	} else if ((r = lb_service_key_parse(text, len, sk)) != LB_OK) {
		snprintf(err, errlen, "%s: not a service key (one line of base64 of a 64-byte "
		    "Ed25519 secret key)", sk_path);
		goto out;
	}

	/* The public half, for clients: rewrite it unless it is exactly right. */
	if ((r = lb_pk_to_b64(sk + LB_SK_BYTES - LB_PK_BYTES, pub)) != LB_OK)
		goto out;
	pub[LB_PK_B64_LEN - 1] = '\n';
	pub[LB_PK_B64_LEN] = '\0';
	if ((r = lb_key_parent(pk_path, err, errlen)) != LB_OK)
		goto out;
	r = lb_read_key_file(pk_path, LB_BAD_FILE, "", text, sizeof(text), &len,
	    ignored, sizeof(ignored));
	if (r == LB_OK && len == LB_PK_B64_LEN && memcmp(text, pub, len) == 0)
		goto out;
	/* Missing, different, a reparse point or writable by others: replace it. */
	r = lb_win_write_file(pk_path, pub, LB_PK_B64_LEN, LB_SDDL_PUBLIC, err, errlen);
out:
	lb_wipe(text, sizeof(text));
	if (r != LB_OK)
		lb_wipe(sk, LB_SK_BYTES);
	return r;
}
