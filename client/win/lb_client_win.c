/* lb_client_win: the Windows side of the linkbroker CLI: named-pipe
 * transport with deadlines that checks who serves the pipe before sending,
 * the user's key under DPAPI, UTF-8 argv and console output, cwd, clocks. */
#include <windows.h>
#include <aclapi.h>
#include <io.h>
#include <knownfolders.h>
#include <lmcons.h>
#include <sddl.h>
#include <shellapi.h>
#include <shlobj.h>
#include <wincrypt.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <sodium.h>

#include "lb_client.h"
#include "lb_client_win.h"

/* Header line, base64 line, each with its newline. */
/* A DPAPI blob of the ~115-byte key text is a few hundred bytes. */
#define LB_KEY_BLOB_MAX 8192
#define LB_READ_CHUNK 65536
#define LB_ERRTEXT_MAX 512
/* WriteConsoleW is given at most this many UTF-16 units at a time. */
#define LB_CONSOLE_CHUNK 8192
#define LB_SERVICE_NAME L"LinkBroker"
/* Seconds from 1601-01-01 (FILETIME) to 1970-01-01, in 100 ns units. */
#define LB_FILETIME_UNIX_EPOCH 116444736000000000ULL

/* CryptProtectData's optional entropy: ties the blob to this use. */
static char lb_key_entropy[] = "LinkBroker user key v1";

/* ---- text: UTF-8 <-> UTF-16, strict both ways ---- */

/* N bytes of UTF-8 at S as a new NUL-terminated UTF-16 string in *OUT.
 * LB_E_INVAL if S is not valid UTF-8 or holds a NUL. */
static int
lb_wide_from_utf8(const char *s, size_t n, wchar_t **out)
{
	wchar_t *w;
	int len;

	*out = NULL;
	if (n >= (size_t)INT_MAX || memchr(s, '\0', n) != NULL)
		return LB_E_INVAL;
	len = n == 0 ? 0 : MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n, NULL, 0);
	if (n != 0 && len <= 0)
		return LB_E_INVAL;
	if ((w = calloc((size_t)len + 1, sizeof(*w))) == NULL)
		return LB_E_NOMEM;
	if (n != 0 && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n, w, len) != len) {
		free(w);
		return LB_E_INVAL;
	}
	*out = w;
	return LB_OK;
}

static int
lb_wide_from_cstr(const char *s, wchar_t **out)
{
	return lb_wide_from_utf8(s, strlen(s), out);
}

/* N UTF-16 units at W as a new NUL-terminated UTF-8 string in *OUT
 * (its length in *LEN if LEN). LB_E_INVAL on unpaired surrogates. */
static int
lb_utf8_from_wide(const wchar_t *w, size_t n, char **out, size_t *len)
{
	char *s;
	int m;

	*out = NULL;
	if (n >= (size_t)INT_MAX / 4)
		return LB_E_TOOBIG;
	m = n == 0 ? 0 : WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, (int)n, NULL, 0,
	    NULL, NULL);
	if (n != 0 && m <= 0)
		return LB_E_INVAL;
	if ((s = malloc((size_t)m + 1)) == NULL)
		return LB_E_NOMEM;
	if (n != 0 && WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, (int)n, s, m,
	    NULL, NULL) != m) {
		free(s);
		return LB_E_INVAL;
	}
	s[m] = '\0';
	*out = s;
	if (len != NULL)
		*len = (size_t)m;
	return LB_OK;
}

/* W (NUL-terminated) appended to OUT as UTF-8. */
static int
lb_buf_put_wide(struct lb_buf *out, const wchar_t *w)
{
	char *s;
	size_t n;
	int r;

	if ((r = lb_utf8_from_wide(w, wcslen(w), &s, &n)) != LB_OK)
		return r;
	r = lb_buf_put(out, s, n);
	free(s);
	return r;
}

/* A new string A followed by B. */
static wchar_t *
lb_wide_cat(const wchar_t *a, const wchar_t *b)
{
	size_t na = wcslen(a), nb = wcslen(b);
	wchar_t *w;

	if (na > SIZE_MAX / sizeof(*w) - nb - 1 || (w = malloc((na + nb + 1) * sizeof(*w))) == NULL)
		return NULL;
	memcpy(w, a, na * sizeof(*w));
	memcpy(w + na, b, nb * sizeof(*w));
	w[na + nb] = L'\0';
	return w;
}

/* ---- errors ---- */

/* The system's text for ERR, "TEXT (error N)", into OUT. */
static void
lb_errtext(DWORD err, char *out, size_t cap)
{
	wchar_t w[256];
	char *s = NULL;
	DWORD n;

	n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err,
	    0, w, (DWORD)(sizeof(w) / sizeof(w[0])), NULL);
	while (n > 0 && (w[n - 1] == L'\r' || w[n - 1] == L'\n' || w[n - 1] == L' ' ||
	    w[n - 1] == L'.'))
		n--;
	if (n > 0 && lb_utf8_from_wide(w, n, &s, NULL) == LB_OK)
		(void)snprintf(out, cap, "%s (error %lu)", s, (unsigned long)err);
	else
		(void)snprintf(out, cap, "error %lu", (unsigned long)err);
	free(s);
}

/* WHY := [TEXT: ]the system's message for ERR; returns RC. */
static int
lb_why_win(struct lb_buf *why, int rc, const char *text, DWORD err)
{
	char msg[LB_ERRTEXT_MAX];

	lb_errtext(err, msg, sizeof(msg));
	if (text != NULL)
		return LB_WHY(why, rc, "%s: %s", text, msg);
	return LB_WHY(why, rc, "%s", msg);
}

/* ---- process set-up, defaults, clocks ---- */

enum lb_flavor
lb_client_flavor(void)
{
	return LB_FLAVOR_WINDOWS;
}

static void
lb_argv_free(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
lb_client_init(int argc, char **argv, int *argc_out, char ***argv_out)
{
	wchar_t **wargv;
	char **v;
	int n = 0, i;

	/* The CRT's argv is in the ANSI code page, which cannot hold every
	 * path: take the command line as the OS has it, in UTF-16. */
	(void)argc;
	(void)argv;
	*argc_out = 0;
	*argv_out = NULL;
	if ((wargv = CommandLineToArgvW(GetCommandLineW(), &n)) == NULL || n < 0)
		return LB_E_INVAL;
	if ((v = calloc((size_t)n + 1, sizeof(*v))) == NULL) {
		LocalFree(wargv);
		return LB_E_NOMEM;
	}
	for (i = 0; i < n; i++) {
		if (lb_utf8_from_wide(wargv[i], wcslen(wargv[i]), &v[i], NULL) != LB_OK) {
			lb_argv_free(v, i);
			LocalFree(wargv);
			return LB_E_INVAL;
		}
	}
	LocalFree(wargv);
	/* For what the CRT prints itself (usage, help). Fails without a
	 * console, where there is nothing to set. */
	(void)SetConsoleOutputCP(CP_UTF8);
	*argc_out = n;
	*argv_out = v;
	return LB_OK;
}

const char *
lb_client_default_endpoint(void)
{
	return "\\\\.\\pipe\\ProtectedPrefix\\Administrators\\LinkBroker";
}

const char *
lb_client_default_service_key(void)
{
	static char *path;
	struct lb_buf b;
	const char *s;
	PWSTR pd = NULL;

	if (path != NULL)
		return path;
	lb_buf_init(&b, LB_PATH_BUF_MAX);
	if (SUCCEEDED(SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &pd)) &&
	    lb_buf_put_wide(&b, pd) == LB_OK &&
	    lb_buf_put_cstr(&b, "\\LinkBroker\\service.pub") == LB_OK &&
	    lb_buf_cstr(&b, &s) == LB_OK)
		path = (char *)b.data;   /* kept for the life of the process */
	else
		lb_buf_free(&b);
	CoTaskMemFree(pd);
	/* ProgramData is machine-wide and cannot be redirected per user; its
	 * lookup does not fail on a working system. */
	return path != NULL ? path : "C:\\ProgramData\\LinkBroker\\service.pub";
}

uint64_t
lb_client_time(void)
{
	FILETIME ft;
	ULARGE_INTEGER u;

	GetSystemTimeAsFileTime(&ft);
	u.LowPart = ft.dwLowDateTime;
	u.HighPart = ft.dwHighDateTime;
	if (u.QuadPart < LB_FILETIME_UNIX_EPOCH)
		return 0;
	return (u.QuadPart - LB_FILETIME_UNIX_EPOCH) / 10000000u;
}

uint64_t
lb_client_clock_ms(void)
{
	return GetTickCount64();
}

void
lb_client_sleep_ms(uint32_t ms)
{
	Sleep(ms);
}

int
lb_client_stderr_is_tty(void)
{
	DWORD mode;

	return GetConsoleMode(GetStdHandle(STD_ERROR_HANDLE), &mode) != 0;
}

/* ---- output ---- */

/* The N bytes at S (UTF-8) to console H, as UTF-16. Fails only if nothing
 * was written, so the caller can fall back to the bytes. */
static int
lb_console_write(HANDLE h, const void *s, size_t n)
{
	wchar_t *w = NULL;
	size_t len, off = 0;
	DWORD chunk, done;
	int r;

	if ((r = lb_wide_from_utf8(s, n, &w)) != LB_OK)
		return r;
	len = wcslen(w);
	while (off < len) {
		chunk = (DWORD)(len - off > LB_CONSOLE_CHUNK ? LB_CONSOLE_CHUNK : len - off);
		/* Keep a surrogate pair in one call. */
		if (chunk > 1 && off + chunk < len && IS_HIGH_SURROGATE(w[off + chunk - 1]))
			chunk--;
		if (!WriteConsoleW(h, w + off, chunk, &done, NULL) || done == 0)
			break;
		off += done;
	}
	free(w);
	return off > 0 || len == 0 ? LB_OK : LB_E_IO;
}

void
lb_client_write(FILE *f, const void *s, size_t n)
{
	intptr_t osf;
	DWORD mode;
	int fd;

	if (n == 0)
		return;
	fd = _fileno(f);
	osf = fd >= 0 ? _get_osfhandle(fd) : -1;
	if (osf != -1 && GetConsoleMode((HANDLE)osf, &mode)) {
		/* What the CRT buffered for F goes out first. */
		(void)fflush(f);
		if (lb_console_write((HANDLE)osf, s, n) == LB_OK)
			return;
	}
	(void)fwrite(s, 1, n, f);
}

/* ---- the environment ---- */

int
lb_client_cwd(struct lb_buf *out, struct lb_buf *why)
{
	wchar_t *w;
	DWORD n, got;
	int tries, r;

	/* Another thread may change it between the two calls: try again. */
	for (tries = 0; tries < 3; tries++) {
		if ((n = GetCurrentDirectoryW(0, NULL)) == 0)
			return lb_why_win(why, LB_E_IO, "cannot find the current directory", GetLastError());
		if ((w = calloc(n, sizeof(*w))) == NULL)
			return LB_WHY(why, LB_E_NOMEM, "%s", lb_strerror(LB_E_NOMEM));
		got = GetCurrentDirectoryW(n, w);
		if (got == 0) {
			r = lb_why_win(why, LB_E_IO, "cannot find the current directory", GetLastError());
			free(w);
			return r;
		}
		if (got < n) {
			if ((r = lb_buf_put_wide(out, w)) != LB_OK)
				r = LB_WHY(why, r, "the current directory cannot be used: %s", lb_strerror(r));
			free(w);
			return r;
		}
		free(w);
	}
	return LB_WHY(why, LB_E_IO, "%s", "the current directory keeps changing");
}

int
lb_client_user_name(struct lb_buf *out, struct lb_buf *why)
{
	wchar_t small[UNLEN + 1], *w = small;
	DWORD n = UNLEN + 1;
	int r;

	/* The bare account name, as the service's LookupAccountSidW gives it. */
	if (!GetUserNameW(w, &n)) {
		if (GetLastError() != ERROR_INSUFFICIENT_BUFFER || n == 0 ||
		    (w = calloc(n, sizeof(*w))) == NULL)
			return lb_why_win(why, LB_E_IO, "cannot find the login name", GetLastError());
		if (!GetUserNameW(w, &n)) {
			r = lb_why_win(why, LB_E_IO, "cannot find the login name", GetLastError());
			free(w);
			return r;
		}
	}
	if (w[0] == L'\0')
		r = LB_WHY(why, LB_E_IO, "%s", "the login name is empty");
	else if ((r = lb_buf_put_wide(out, w)) != LB_OK)
		r = LB_WHY(why, r, "the login name cannot be used: %s", lb_strerror(r));
	if (w != small)
		free(w);
	return r;
}

/* Read H to its end into OUT (bounded by out->max). */
static int
lb_read_handle(HANDLE h, struct lb_buf *out, struct lb_buf *why)
{
	uint8_t chunk[LB_READ_CHUNK];
	DWORD got, err;
	int r;

	for (;;) {
		if (!ReadFile(h, chunk, (DWORD)sizeof(chunk), &got, NULL)) {
			/* The writer of a pipe closed it: that is the end. */
			if ((err = GetLastError()) == ERROR_BROKEN_PIPE)
				return LB_OK;
			return lb_why_win(why, LB_E_IO, NULL, err);
		}
		if (got == 0)
			return LB_OK;
		if ((r = lb_buf_put(out, chunk, got)) == LB_E_TOOBIG)
			return LB_WHY(why, r, "larger than %zu bytes", out->max);
		if (r != LB_OK)
			return LB_WHY(why, r, "%s", lb_strerror(r));
	}
}

int
lb_client_read_file(const char *path, struct lb_buf *out, struct lb_buf *why)
{
	BY_HANDLE_FILE_INFORMATION info;
	wchar_t *w = NULL;
	HANDLE h;
	int r;

	if (path == NULL) {
		/* The handle, not the CRT stream: binary, whatever the CRT mode. */
		h = GetStdHandle(STD_INPUT_HANDLE);
		if (h == INVALID_HANDLE_VALUE || h == NULL)
			return LB_WHY(why, LB_E_IO, "%s", "there is no standard input");
		return lb_read_handle(h, out, why);
	}
	if ((r = lb_wide_from_cstr(path, &w)) != LB_OK)
		return LB_WHY(why, LB_E_IO, "%s", "the file name is not valid UTF-8");
	/* BACKUP_SEMANTICS opens a directory too, so it can be named as one. */
	h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
	    NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE)
		return lb_why_win(why, LB_E_IO, NULL, GetLastError());
	if (!GetFileInformationByHandle(h, &info))
		r = lb_why_win(why, LB_E_IO, NULL, GetLastError());
	else if (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
		r = LB_WHY(why, LB_E_IO, "%s", "is a directory");
	else
		r = lb_read_handle(h, out, why);
	CloseHandle(h);
	return r;
}

int
lb_client_file_id(const char *path, char id[LB_CLIENT_FILE_ID_MAX], int *is_link)
{
	BY_HANDLE_FILE_INFORMATION info;
	FILE_ATTRIBUTE_TAG_INFO ti;
	wchar_t *w = NULL;
	HANDLE h;
	DWORD err;
	int r;

	if (path == NULL || id == NULL || is_link == NULL)
		return LB_E_INVAL;
	if ((r = lb_wide_from_cstr(path, &w)) != LB_OK)
		return r;
	/* OPEN_REPARSE_POINT: the link itself, not what it points at;
	 * BACKUP_SEMANTICS: a directory (a junction) opens too. Attributes
	 * only, shared with everyone: no sharing violation, no oplock break. */
	h = CreateFileW(w, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE |
	    FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
	    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		err = GetLastError();
		if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND)
			return LB_E_NOENT;
		return err == ERROR_ACCESS_DENIED ? LB_E_PERM : LB_E_IO;
	}
	memset(&ti, 0, sizeof(ti));
	if (!GetFileInformationByHandle(h, &info) ||
	    !GetFileInformationByHandleEx(h, FileAttributeTagInfo, &ti, sizeof(ti))) {
		r = LB_E_IO;
	} else {
		/* As the broker's identify writes it (service/win/lb_fs_win.c). */
		(void)snprintf(id, LB_CLIENT_FILE_ID_MAX, "%08lx:%08lx%08lx",
		    (unsigned long)info.dwVolumeSerialNumber,
		    (unsigned long)info.nFileIndexHigh, (unsigned long)info.nFileIndexLow);
		*is_link = (ti.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0 &&
		    (ti.ReparseTag == IO_REPARSE_TAG_SYMLINK ||
		    ti.ReparseTag == IO_REPARSE_TAG_MOUNT_POINT);
		r = LB_OK;
	}
	CloseHandle(h);
	return r;
}

/* ---- security helpers ---- */

/* This process's user (TOKEN_USER, malloc'd) in *OUT. */
static int
lb_current_user(TOKEN_USER **out)
{
	HANDLE tok;
	DWORD n = 0;
	TOKEN_USER *tu = NULL;
	int r = LB_E_IO;

	*out = NULL;
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
		return LB_E_IO;
	if (!GetTokenInformation(tok, TokenUser, NULL, 0, &n) &&
	    GetLastError() == ERROR_INSUFFICIENT_BUFFER && n > 0 &&
	    (tu = malloc(n)) != NULL && GetTokenInformation(tok, TokenUser, tu, n, &n)) {
		*out = tu;
		r = LB_OK;
	} else {
		free(tu);
	}
	CloseHandle(tok);
	return r;
}

/* SID as "S-1-..." into OUT (or "?"). */
static void
lb_sid_text(PSID sid, char *out, size_t cap)
{
	char *s = NULL;

	if (sid != NULL && ConvertSidToStringSidA(sid, &s)) {
		(void)snprintf(out, cap, "%s", s);
		LocalFree(s);
	} else {
		(void)snprintf(out, cap, "?");
	}
}

/* A security descriptor: owner USER, protected DACL giving full access to
 * USER and SYSTEM only (ACE flags INHERIT), nothing inherited from above. */
struct lb_private_sd {
	SECURITY_DESCRIPTOR sd;
	SECURITY_ATTRIBUTES sa;
	ACL *acl;
	BYTE system[SECURITY_MAX_SID_SIZE];
};

static int
lb_private_sd_init(struct lb_private_sd *p, PSID user, BYTE inherit)
{
	DWORD sys_len = sizeof(p->system), acl_len;

	memset(p, 0, sizeof(*p));
	if (!CreateWellKnownSid(WinLocalSystemSid, NULL, p->system, &sys_len))
		return LB_E_IO;
	acl_len = (DWORD)sizeof(ACL) + 2 * (DWORD)(sizeof(ACCESS_ALLOWED_ACE) - sizeof(DWORD)) +
	    GetLengthSid(user) + GetLengthSid(p->system);
	if ((p->acl = calloc(1, acl_len)) == NULL)
		return LB_E_NOMEM;
	if (!InitializeAcl(p->acl, acl_len, ACL_REVISION) ||
	    !AddAccessAllowedAceEx(p->acl, ACL_REVISION, inherit, FILE_ALL_ACCESS, user) ||
	    !AddAccessAllowedAceEx(p->acl, ACL_REVISION, inherit, FILE_ALL_ACCESS, p->system) ||
	    !InitializeSecurityDescriptor(&p->sd, SECURITY_DESCRIPTOR_REVISION) ||
	    /* Explicit: an elevated token would otherwise make Administrators the owner. */
	    !SetSecurityDescriptorOwner(&p->sd, user, FALSE) ||
	    !SetSecurityDescriptorDacl(&p->sd, TRUE, p->acl, FALSE) ||
	    !SetSecurityDescriptorControl(&p->sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED)) {
		free(p->acl);
		p->acl = NULL;
		return LB_E_IO;
	}
	p->sa.nLength = sizeof(p->sa);
	p->sa.lpSecurityDescriptor = &p->sd;
	p->sa.bInheritHandle = FALSE;
	return LB_OK;
}

static void
lb_private_sd_free(struct lb_private_sd *p)
{
	free(p->acl);
	p->acl = NULL;
}

/* LB_OK if the owner of H is USER; else LB_E_PERM, the owner's SID in OWNER. */
static int
lb_owner_check(HANDLE h, PSID user, char *owner, size_t cap, DWORD *err)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID o = NULL;
	DWORD e;
	int r;

	owner[0] = '\0';
	*err = 0;
	if ((e = GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &o, NULL, NULL,
	    NULL, &sd)) != ERROR_SUCCESS) {
		*err = e;
		return LB_E_IO;
	}
	if (o != NULL && IsValidSid(o) && EqualSid(o, user)) {
		r = LB_OK;
	} else {
		lb_sid_text(o, owner, cap);
		r = LB_E_PERM;
	}
	LocalFree(sd);
	return r;
}

/* ---- the key: %LOCALAPPDATA%\LinkBroker\key, a DPAPI blob ---- */

static int
lb_local_app_data(wchar_t **out)
{
	PWSTR p = NULL;
	HRESULT hr;

	*out = NULL;
	hr = SHGetKnownFolderPath(&FOLDERID_LocalAppData, 0, NULL, &p);
	if (SUCCEEDED(hr) && p != NULL && (*out = _wcsdup(p)) == NULL)
		hr = E_OUTOFMEMORY;
	CoTaskMemFree(p);
	if (FAILED(hr))
		return hr == E_OUTOFMEMORY ? LB_E_NOMEM : LB_E_NOENT;
	return LB_OK;
}

int
lb_client_key_location(struct lb_buf *out)
{
	wchar_t *base;
	int r;

	if ((r = lb_local_app_data(&base)) != LB_OK)
		return r;
	if ((r = lb_buf_put_wide(out, base)) == LB_OK)
		r = lb_buf_put_cstr(out, "\\LinkBroker\\key");
	free(base);
	return r;
}

/* BASE\LinkBroker and BASE\LinkBroker\key, and the latter in UTF-8. */
struct lb_key_paths {
	wchar_t *dir, *key;
	char *key_u8;
};

static int
lb_key_paths_init(struct lb_key_paths *kp, const wchar_t *base)
{
	memset(kp, 0, sizeof(*kp));
	if ((kp->dir = lb_wide_cat(base, L"\\LinkBroker")) == NULL ||
	    (kp->key = lb_wide_cat(kp->dir, L"\\key")) == NULL)
		return LB_E_NOMEM;
	return lb_utf8_from_wide(kp->key, wcslen(kp->key), &kp->key_u8, NULL);
}

static void
lb_key_paths_free(struct lb_key_paths *kp)
{
	free(kp->dir);
	free(kp->key);
	free(kp->key_u8);
	memset(kp, 0, sizeof(*kp));
}

int
lb_client_win_key_load_from(const wchar_t *base, uint8_t sk[LB_SK_BYTES], struct lb_buf *why)
{
	BY_HANDLE_FILE_INFORMATION info;
	DATA_BLOB in, plain = { 0, NULL }, entropy;
	struct lb_key_paths kp;
	struct lb_buf blob, reason;
	TOKEN_USER *user = NULL;
	HANDLE h = INVALID_HANDLE_VALUE;
	char owner[SECURITY_MAX_SID_SIZE * 4], errtext[LB_ERRTEXT_MAX];
	const char *p;
	DWORD err;
	int r;

	lb_buf_init(&blob, LB_KEY_BLOB_MAX);
	lb_buf_init(&reason, LB_ERRTEXT_MAX);
	if ((r = lb_key_paths_init(&kp, base)) != LB_OK) {
		r = LB_WHY(why, r, "%s", "cannot name the key file");
		goto out;
	}
	p = kp.key_u8;
	if ((r = lb_current_user(&user)) != LB_OK) {
		r = lb_why_win(why, LB_E_IO, "cannot find who you are", GetLastError());
		goto out;
	}
	/* OPEN_REPARSE_POINT: a link (symbolic link, junction, mount point)
	 * is opened itself, and refused below, instead of being followed. */
	h = CreateFileW(kp.key, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
	    FILE_FLAG_OPEN_REPARSE_POINT, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		err = GetLastError();
		if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) {
			r = LB_WHY(why, LB_E_NOENT, "no key at %s; run 'linkbroker keygen' first", p);
		} else {
			lb_errtext(err, errtext, sizeof(errtext));
			r = LB_WHY(why, LB_E_IO, "cannot open the key file %s: %s", p, errtext);
		}
		goto out;
	}
	if (!GetFileInformationByHandle(h, &info)) {
		lb_errtext(GetLastError(), errtext, sizeof(errtext));
		r = LB_WHY(why, LB_E_IO, "cannot examine the key file %s: %s", p, errtext);
		goto out;
	}
	if (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
		r = LB_WHY(why, LB_E_PERM, "refusing the key file %s: it is a link (reparse point)", p);
		goto out;
	}
	if (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
		r = LB_WHY(why, LB_E_PERM, "refusing the key file %s: not a regular file", p);
		goto out;
	}
	if ((r = lb_owner_check(h, user->User.Sid, owner, sizeof(owner), &err)) == LB_E_IO) {
		lb_errtext(err, errtext, sizeof(errtext));
		r = LB_WHY(why, LB_E_IO, "cannot read the owner of the key file %s: %s", p, errtext);
		goto out;
	}
	if (r != LB_OK) {
		char me[SECURITY_MAX_SID_SIZE * 4];

		lb_sid_text(user->User.Sid, me, sizeof(me));
		r = LB_WHY(why, LB_E_PERM, "refusing the key file %s: it belongs to %s, not to you (%s)",
		    p, owner, me);
		goto out;
	}
	/* Who else may read the file does not matter as it does on POSIX:
	 * only this user's DPAPI master key opens the blob. */
	if (lb_read_handle(h, &blob, &reason) != LB_OK) {
		r = LB_WHY(why, LB_E_INVAL, "the key file %s is not a valid %s file (%s)", p,
		    LB_USER_KEY_HEADER, reason.len > 0 ? (const char *)reason.data : "unreadable");
		goto out;
	}
	in.cbData = (DWORD)blob.len;
	in.pbData = blob.data;
	entropy.cbData = (DWORD)(sizeof(lb_key_entropy) - 1);
	entropy.pbData = (BYTE *)lb_key_entropy;
	if (blob.len == 0 || !CryptUnprotectData(&in, NULL, &entropy, NULL, NULL,
	    CRYPTPROTECT_UI_FORBIDDEN, &plain)) {
		lb_errtext(blob.len == 0 ? ERROR_INVALID_DATA : GetLastError(), errtext, sizeof(errtext));
		plain.pbData = NULL;
		r = LB_WHY(why, LB_E_INVAL, "the key file %s cannot be decrypted: not a key protected "
		    "for you by 'linkbroker keygen' (%s)", p, errtext);
		goto out;
	}
	if (lb_user_key_parse((const char *)plain.pbData, plain.cbData, sk) != LB_OK) {
		r = LB_WHY(why, LB_E_INVAL, "the key file %s is not a valid %s file", p, LB_USER_KEY_HEADER);
		goto out;
	}
	r = LB_OK;
out:
	if (plain.pbData != NULL) {
		SecureZeroMemory(plain.pbData, plain.cbData);
		LocalFree(plain.pbData);
	}
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	free(user);
	lb_key_paths_free(&kp);
	lb_buf_free(&reason);
	lb_buf_free(&blob);
	return r;
}

int
lb_client_key_load(uint8_t sk[LB_SK_BYTES], struct lb_buf *why)
{
	wchar_t *base;
	int r;

	if ((r = lb_local_app_data(&base)) != LB_OK)
		return LB_WHY(why, r, "%s", "cannot find your local application data folder for the key");
	r = lb_client_win_key_load_from(base, sk, why);
	free(base);
	return r;
}

/* DIR exists (made if missing), is a real directory owned by USER, and
 * has the protected user-and-SYSTEM-only DACL of SD (re-applied: an
 * existing directory may have been widened). */
static int
lb_private_dir(const wchar_t *dir, PSID user, struct lb_private_sd *sd, struct lb_buf *why)
{
	BY_HANDLE_FILE_INFORMATION info;
	char *d = NULL, owner[SECURITY_MAX_SID_SIZE * 4], errtext[LB_ERRTEXT_MAX];
	HANDLE h;
	DWORD err;
	int r;

	if (lb_utf8_from_wide(dir, wcslen(dir), &d, NULL) != LB_OK)
		return LB_WHY(why, LB_E_IO, "%s", "the key directory has an unusable name");
	if (!CreateDirectoryW(dir, &sd->sa) && (err = GetLastError()) != ERROR_ALREADY_EXISTS) {
		lb_errtext(err, errtext, sizeof(errtext));
		r = LB_WHY(why, LB_E_IO, "cannot create %s: %s", d, errtext);
		goto out_name;
	}
	h = CreateFileW(dir, READ_CONTROL | WRITE_DAC | FILE_READ_ATTRIBUTES,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
	    FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		lb_errtext(GetLastError(), errtext, sizeof(errtext));
		r = LB_WHY(why, LB_E_PERM, "cannot open %s: %s", d, errtext);
		goto out_name;
	}
	if (!GetFileInformationByHandle(h, &info)) {
		lb_errtext(GetLastError(), errtext, sizeof(errtext));
		r = LB_WHY(why, LB_E_IO, "cannot examine %s: %s", d, errtext);
	} else if (!(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
	    (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
		r = LB_WHY(why, LB_E_PERM, "%s is not a directory of yours (%s)", d,
		    (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) ? "it is a link" :
		    "not a directory");
	} else if ((r = lb_owner_check(h, user, owner, sizeof(owner), &err)) != LB_OK) {
		if (r == LB_E_IO) {
			lb_errtext(err, errtext, sizeof(errtext));
			r = LB_WHY(why, LB_E_IO, "cannot read the owner of %s: %s", d, errtext);
		} else {
			r = LB_WHY(why, LB_E_PERM, "%s is not a directory of yours (it belongs to %s)",
			    d, owner);
		}
	} else if ((err = SetSecurityInfo(h, SE_FILE_OBJECT,
	    DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, NULL, NULL,
	    sd->acl, NULL)) != ERROR_SUCCESS) {
		lb_errtext(err, errtext, sizeof(errtext));
		r = LB_WHY(why, LB_E_PERM, "cannot make %s private: %s", d, errtext);
	} else {
		r = LB_OK;
	}
	CloseHandle(h);
out_name:
	free(d);
	return r;
}

/* Write all N bytes at P to H. */
static int
lb_write_all(HANDLE h, const void *p, size_t n)
{
	const uint8_t *b = p;
	DWORD w;

	while (n > 0) {
		if (!WriteFile(h, b, n > 65536 ? 65536u : (DWORD)n, &w, NULL) || w == 0)
			return -1;
		b += w;
		n -= w;
	}
	return 0;
}

int
lb_client_win_key_save_in(const wchar_t *base, const uint8_t sk[LB_SK_BYTES], int replace,
    struct lb_buf *why)
{
	static const char exists_fmt[] = "a key already exists at %s; use --force to replace it";
	char text[LB_USER_KEY_TEXT_LEN], errtext[LB_ERRTEXT_MAX];
	wchar_t suffix[32];
	uint8_t rnd[8];
	DATA_BLOB in, blob = { 0, NULL }, entropy;
	struct lb_key_paths kp;
	struct lb_private_sd dir_sd, file_sd;
	TOKEN_USER *user = NULL;
	wchar_t *tmp = NULL;
	HANDLE h = INVALID_HANDLE_VALUE;
	DWORD err;
	int r, made = 0;

	memset(&dir_sd, 0, sizeof(dir_sd));
	memset(&file_sd, 0, sizeof(file_sd));
	if ((r = lb_key_paths_init(&kp, base)) != LB_OK) {
		r = LB_WHY(why, r, "%s", "cannot name the key file");
		goto out;
	}
	if ((r = lb_current_user(&user)) != LB_OK) {
		r = lb_why_win(why, LB_E_IO, "cannot find who you are", GetLastError());
		goto out;
	}
	if ((r = lb_private_sd_init(&dir_sd, user->User.Sid,
	    OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE)) != LB_OK ||
	    (r = lb_private_sd_init(&file_sd, user->User.Sid, 0)) != LB_OK) {
		r = lb_why_win(why, r, "cannot make a private security descriptor", GetLastError());
		goto out;
	}
	if ((r = lb_private_dir(kp.dir, user->User.Sid, &dir_sd, why)) != LB_OK)
		goto out;
	if (!replace && GetFileAttributesW(kp.key) != INVALID_FILE_ATTRIBUTES) {
		r = LB_WHY(why, LB_E_EXISTS, exists_fmt, kp.key_u8);
		goto out;
	}

	/* The same text as the POSIX key file, then sealed for this user. */
	if (lb_user_key_format(sk, text) != LB_OK) {
		r = LB_WHY(why, LB_E_INVAL, "%s", "cannot encode the key");
		goto out;
	}
	in.cbData = (DWORD)sizeof(text);
	in.pbData = (BYTE *)text;
	entropy.cbData = (DWORD)(sizeof(lb_key_entropy) - 1);
	entropy.pbData = (BYTE *)lb_key_entropy;
	if (!CryptProtectData(&in, L"LinkBroker user key", &entropy, NULL, NULL,
	    CRYPTPROTECT_UI_FORBIDDEN, &blob)) {
		blob.pbData = NULL;
		r = lb_why_win(why, LB_E_IO, "cannot protect the key with DPAPI", GetLastError());
		goto out;
	}

	/* A private temporary file moved into place in one step: no reader
	 * sees half a key, and without REPLACE_EXISTING the move refuses to
	 * replace a key that appeared meanwhile. */
	lb_random(rnd, sizeof(rnd));
	(void)swprintf(suffix, sizeof(suffix) / sizeof(suffix[0]),
	    L"\\key.%02x%02x%02x%02x%02x%02x%02x%02x.tmp", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if ((tmp = lb_wide_cat(kp.dir, suffix)) == NULL) {
		r = LB_WHY(why, LB_E_NOMEM, "%s", lb_strerror(LB_E_NOMEM));
		goto out;
	}
	h = CreateFileW(tmp, GENERIC_WRITE, 0, &file_sd.sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		r = lb_why_win(why, LB_E_IO, "cannot create a file in the key directory", GetLastError());
		goto out;
	}
	made = 1;
	if (lb_write_all(h, blob.pbData, blob.cbData) != 0 || !FlushFileBuffers(h)) {
		r = lb_why_win(why, LB_E_IO, "cannot write the key", GetLastError());
		goto out;
	}
	CloseHandle(h);
	h = INVALID_HANDLE_VALUE;
	if (!MoveFileExW(tmp, kp.key,
	    MOVEFILE_WRITE_THROUGH | (replace ? MOVEFILE_REPLACE_EXISTING : 0))) {
		err = GetLastError();
		if (err == ERROR_ALREADY_EXISTS || err == ERROR_FILE_EXISTS) {
			r = LB_WHY(why, LB_E_EXISTS, exists_fmt, kp.key_u8);
		} else {
			lb_errtext(err, errtext, sizeof(errtext));
			r = LB_WHY(why, LB_E_IO, "cannot store the key as %s: %s", kp.key_u8, errtext);
		}
		goto out;
	}
	made = 0;   /* moved away */
	r = LB_OK;
out:
	SecureZeroMemory(text, sizeof(text));
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	if (made)
		(void)DeleteFileW(tmp);
	LocalFree(blob.pbData);
	free(tmp);
	free(user);
	lb_private_sd_free(&file_sd);
	lb_private_sd_free(&dir_sd);
	lb_key_paths_free(&kp);
	return r;
}

int
lb_client_key_save(const uint8_t sk[LB_SK_BYTES], int replace, struct lb_buf *why)
{
	wchar_t *base;
	int r;

	if ((r = lb_local_app_data(&base)) != LB_OK)
		return LB_WHY(why, r, "%s", "cannot find your local application data folder for the key");
	r = lb_client_win_key_save_in(base, sk, replace, why);
	free(base);
	return r;
}

/* ---- who serves the pipe ---- */

static int
lb_is_wine(void)
{
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");

	return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

int
lb_client_win_pipe_owner_check(HANDLE pipe, struct lb_buf *why)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID owner = NULL;
	char who[SECURITY_MAX_SID_SIZE * 4];
	DWORD e;
	int r;

	/* READ_CONTROL comes with the client's GENERIC_READ; the pipe's DACL
	 * grants it to Authenticated Users. */
	e = GetSecurityInfo(pipe, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL,
	    NULL, &sd);
	if (e != ERROR_SUCCESS)
		return lb_why_win(why, LB_E_NOT_GENUINE, "cannot read the owner of the pipe", e);
	if (owner != NULL && IsValidSid(owner) && IsWellKnownSid(owner, WinLocalSystemSid)) {
		r = LB_OK;
	} else if (owner == NULL) {
		r = LB_WHY(why, LB_E_NOT_GENUINE, "%s", "the pipe was not created by LocalSystem (it has "
		    "no owner)");
	} else {
		lb_sid_text(owner, who, sizeof(who));
		r = LB_WHY(why, LB_E_NOT_GENUINE, "the pipe was not created by LocalSystem (its owner "
		    "is %s, not S-1-5-18)", who);
	}
	LocalFree(sd);
	return r;
}

/* Check (3), where the token can be read: the process PID runs as
 * LocalSystem. A standard user usually may not open a LocalSystem
 * process's token (access denied): then check (2), the pipe's owner,
 * stands alone. */
static int
lb_server_token_is_system(DWORD pid, struct lb_buf *why)
{
	static int noted;
	HANDLE proc = NULL, tok = NULL;
	TOKEN_USER *tu = NULL;
	char who[SECURITY_MAX_SID_SIZE * 4];
	DWORD n = 0, err = 0;
	int r;

	if (lb_is_wine()) {
		/* Wine runs every service as the Unix user. Said, not hidden;
		 * checks (1) and (2) still tie the pipe to the service. */
		if (!noted)
			fputs("linkbroker: note: Wine cannot run services as LocalSystem; the LocalSystem "
			    "check of the pipe server's token is skipped\n", stderr);
		noted = 1;
		return LB_OK;
	}
	if ((proc = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid)) == NULL ||
	    !OpenProcessToken(proc, TOKEN_QUERY, &tok)) {
		err = GetLastError();
		tok = NULL;
	} else if (GetTokenInformation(tok, TokenUser, NULL, 0, &n) ||
	    GetLastError() != ERROR_INSUFFICIENT_BUFFER || n == 0 || (tu = malloc(n)) == NULL ||
	    !GetTokenInformation(tok, TokenUser, tu, n, &n)) {
		err = tu == NULL && n > 0 ? ERROR_NOT_ENOUGH_MEMORY : GetLastError();
		free(tu);
		tu = NULL;
		if (err == 0)
			err = ERROR_INVALID_DATA;
	}
	if (tu != NULL) {
		if (IsWellKnownSid(tu->User.Sid, WinLocalSystemSid)) {
			r = LB_OK;
		} else {
			lb_sid_text(tu->User.Sid, who, sizeof(who));
			r = LB_WHY(why, LB_E_NOT_GENUINE, "the pipe server (process %lu) is not LocalSystem "
			    "(it runs as %s)", (unsigned long)pid, who);
		}
	} else if (err == ERROR_ACCESS_DENIED) {
		r = LB_OK;
	} else {
		char errtext[LB_ERRTEXT_MAX];

		lb_errtext(err, errtext, sizeof(errtext));
		r = LB_WHY(why, LB_E_NOT_GENUINE, "cannot check that the pipe server (process %lu) is "
		    "LocalSystem: %s", (unsigned long)pid, errtext);
	}
	free(tu);
	if (tok != NULL)
		CloseHandle(tok);
	if (proc != NULL)
		CloseHandle(proc);
	return r;
}

/* Check (1): PID is the process of the running LinkBroker service. */
static int
lb_server_is_service(DWORD pid, SC_HANDLE svc, struct lb_buf *why)
{
	SERVICE_STATUS_PROCESS st;
	DWORD need = 0;

	if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof(st), &need))
		return lb_why_win(why, LB_E_NOT_GENUINE, "cannot query the LinkBroker service",
		    GetLastError());
	if (st.dwCurrentState != SERVICE_RUNNING)
		return LB_WHY(why, LB_E_NOT_GENUINE, "the pipe is not served by the LinkBroker service "
		    "(server process %lu; the service is not running)", (unsigned long)pid);
	if (st.dwProcessId == 0 || st.dwProcessId != pid)
		return LB_WHY(why, LB_E_NOT_GENUINE, "the pipe is not served by the LinkBroker service "
		    "(server process %lu, service process %lu)", (unsigned long)pid,
		    (unsigned long)st.dwProcessId);
	return LB_OK;
}

/* Before a byte is sent: the server of PIPE is the LinkBroker service's
 * process (1), the pipe was created by LocalSystem (2), and the server's
 * token, where readable, is LocalSystem (3). Any doubt is LB_E_NOT_GENUINE.
 * (1) needs SERVICE_QUERY_STATUS, which install grants to Authenticated
 * Users; (2) replaces reading the service's configured account
 * (QueryServiceConfigW), which batch logons may not do. */
static int
lb_server_verify(HANDLE pipe, struct lb_buf *why)
{
	SC_HANDLE scm = NULL, svc = NULL;
	ULONG pid = 0;
	DWORD err;
	int r;

	if (!GetNamedPipeServerProcessId(pipe, &pid))
		return lb_why_win(why, LB_E_NOT_GENUINE, "cannot identify the pipe server process",
		    GetLastError());
	if ((scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT)) == NULL)
		return lb_why_win(why, LB_E_NOT_GENUINE, "cannot ask the service manager who serves "
		    "the pipe", GetLastError());
	if ((svc = OpenServiceW(scm, LB_SERVICE_NAME, SERVICE_QUERY_STATUS)) == NULL) {
		err = GetLastError();
		if (err == ERROR_SERVICE_DOES_NOT_EXIST)
			r = LB_WHY(why, LB_E_NOT_GENUINE, "the pipe is not served by the LinkBroker service "
			    "(server process %lu; no LinkBroker service is installed)", (unsigned long)pid);
		else
			r = lb_why_win(why, LB_E_NOT_GENUINE, "cannot open the LinkBroker service", err);
		goto out;
	}
	if ((r = lb_server_is_service(pid, svc, why)) != LB_OK ||
	    (r = lb_client_win_pipe_owner_check(pipe, why)) != LB_OK)
		goto out;
	r = lb_server_token_is_system(pid, why);
out:
	if (svc != NULL)
		CloseServiceHandle(svc);
	CloseServiceHandle(scm);
	return r;
}

/* ---- transport: a named pipe, overlapped I/O against deadlines ---- */

struct lb_conn {
	HANDLE pipe;
	HANDLE event;
};

/* Milliseconds left until DEADLINE; 0 if passed. */
static DWORD
lb_ms_left(uint64_t deadline_ms)
{
	uint64_t now = lb_client_clock_ms();

	if (now >= deadline_ms)
		return 0;
	return deadline_ms - now > 86400000u ? 86400000u : (DWORD)(deadline_ms - now);
}

/* Open the pipe W, waiting while every instance is busy. */
static int
lb_pipe_open(const wchar_t *w, const char *endpoint, uint64_t deadline_ms, HANDLE *out,
    struct lb_buf *why)
{
	HANDLE h;
	DWORD err, ms;

	*out = INVALID_HANDLE_VALUE;
	for (;;) {
		/* SQOS: the server may impersonate us (it acts as the client on
		 * the file system), and no more than that. */
		h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
		    FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IMPERSONATION, NULL);
		if (h != INVALID_HANDLE_VALUE) {
			*out = h;
			return LB_OK;
		}
		err = GetLastError();
		if (err == ERROR_FILE_NOT_FOUND)
			return LB_WHY(why, LB_E_UNREACHABLE, "the broker is not running (no pipe %s)",
			    endpoint);
		if (err != ERROR_PIPE_BUSY)
			return lb_why_win(why, LB_E_UNREACHABLE, "cannot open the pipe", err);
		if ((ms = lb_ms_left(deadline_ms)) == 0)
			return LB_WHY(why, LB_E_TIMEOUT, "every instance of the pipe stayed busy for %d ms",
			    LB_CLIENT_TIMEOUT_MS);
		/* Timed out or gone: the next CreateFileW says which. */
		if (!WaitNamedPipeW(w, ms) && (err = GetLastError()) != ERROR_SEM_TIMEOUT &&
		    err != ERROR_FILE_NOT_FOUND)
			return lb_why_win(why, LB_E_UNREACHABLE, "cannot wait for the pipe", err);
	}
}

int
lb_conn_open(const char *endpoint, uint64_t deadline_ms, struct lb_conn **out,
    struct lb_buf *why)
{
	struct lb_conn *c = NULL;
	wchar_t *w = NULL;
	HANDLE h = INVALID_HANDLE_VALUE, ev = NULL;
	DWORD mode = PIPE_READMODE_BYTE;
	int r;

	*out = NULL;
	if ((r = lb_wide_from_cstr(endpoint, &w)) != LB_OK)
		return LB_WHY(why, r == LB_E_NOMEM ? r : LB_E_UNREACHABLE, "%s",
		    "the pipe name is not valid UTF-8");
	if ((r = lb_pipe_open(w, endpoint, deadline_ms, &h, why)) != LB_OK)
		goto out;
	if (!SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
		r = lb_why_win(why, LB_E_UNREACHABLE, "cannot set the pipe's read mode", GetLastError());
		goto out;
	}
	if ((r = lb_server_verify(h, why)) != LB_OK)
		goto out;
	if ((ev = CreateEventW(NULL, TRUE, FALSE, NULL)) == NULL) {
		r = lb_why_win(why, LB_E_UNREACHABLE, "cannot create an event", GetLastError());
		goto out;
	}
	if ((c = malloc(sizeof(*c))) == NULL) {
		r = LB_WHY(why, LB_E_NOMEM, "%s", lb_strerror(LB_E_NOMEM));
		goto out;
	}
	c->pipe = h;
	c->event = ev;
	*out = c;
	h = INVALID_HANDLE_VALUE;
	ev = NULL;
	r = LB_OK;
out:
	if (ev != NULL)
		CloseHandle(ev);
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	free(w);
	return r;
}

/* One overlapped read (WRITE 0) or write of up to N bytes, waited for
 * until DEADLINE. LB_OK with *DONE; LB_E_TIMEOUT (the I/O cancelled); or
 * LB_E_IO with the system error in *ERR. */
static int
lb_conn_io(struct lb_conn *c, int write, void *p, DWORD n, DWORD *done, uint64_t deadline_ms,
    DWORD *err)
{
	OVERLAPPED ov;
	BOOL ok;
	DWORD w;

	*done = 0;
	*err = 0;
	memset(&ov, 0, sizeof(ov));
	ov.hEvent = c->event;
	ok = write ? WriteFile(c->pipe, p, n, NULL, &ov) : ReadFile(c->pipe, p, n, NULL, &ov);
	if (!ok && (*err = GetLastError()) != ERROR_IO_PENDING)
		return *err == ERROR_MORE_DATA ? LB_OK : LB_E_IO;
	w = WaitForSingleObject(c->event, lb_ms_left(deadline_ms));
	if (w != WAIT_OBJECT_0) {
		/* OV and P belong to the I/O until it ends: cancel, then wait
		 * for it to be over, whichever way. */
		(void)CancelIoEx(c->pipe, &ov);
		if (GetOverlappedResult(c->pipe, &ov, done, TRUE)) {
			*err = 0;
			return LB_OK;   /* finished as it was cancelled */
		}
		*err = GetLastError();
		if (w == WAIT_TIMEOUT && *err == ERROR_OPERATION_ABORTED)
			return LB_E_TIMEOUT;
		if (w != WAIT_TIMEOUT)
			*err = ERROR_INVALID_HANDLE;
		return LB_E_IO;
	}
	if (!GetOverlappedResult(c->pipe, &ov, done, FALSE)) {
		/* Message-mode servers: a part of a message is still data. */
		if ((*err = GetLastError()) == ERROR_MORE_DATA)
			return LB_OK;
		return LB_E_IO;
	}
	*err = 0;
	return LB_OK;
}

static int
lb_pipe_gone(DWORD err)
{
	return err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED || err == ERROR_NO_DATA;
}

int
lb_conn_send(struct lb_conn *c, const uint8_t *p, size_t n, uint64_t deadline_ms,
    struct lb_buf *why)
{
	DWORD done, err, chunk;
	int r;

	while (n > 0) {
		chunk = n > 65536 ? 65536u : (DWORD)n;
		r = lb_conn_io(c, 1, (void *)(uintptr_t)p, chunk, &done, deadline_ms, &err);
		if (r == LB_E_TIMEOUT)
			return LB_WHY(why, r, "could not send within %d ms", LB_CLIENT_TIMEOUT_MS);
		if (r != LB_OK && lb_pipe_gone(err))
			return LB_WHY(why, LB_E_UNREACHABLE, "%s", "the broker closed the connection");
		if (r != LB_OK)
			return lb_why_win(why, LB_E_UNREACHABLE, "sending the request", err);
		if (done == 0 || done > chunk)
			return LB_WHY(why, LB_E_UNREACHABLE, "%s", "sending the request: nothing was written");
		p += done;
		n -= done;
	}
	return LB_OK;
}

int
lb_conn_recv(struct lb_conn *c, uint8_t *p, size_t cap, size_t *got,
    uint64_t deadline_ms, struct lb_buf *why)
{
	DWORD done, err, chunk = cap > 65536 ? 65536u : (DWORD)cap;
	int r;

	*got = 0;
	if (cap == 0)
		return LB_WHY(why, LB_E_INVAL, "%s", "no room for the answer");
	for (;;) {
		r = lb_conn_io(c, 0, p, chunk, &done, deadline_ms, &err);
		if (r == LB_E_TIMEOUT)
			return LB_WHY(why, r, "no answer within %d ms", LB_CLIENT_TIMEOUT_MS);
		if (r != LB_OK && (err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED))
			return LB_OK;   /* closed: *got stays 0 */
		if (r != LB_OK)
			return lb_why_win(why, LB_E_UNREACHABLE, "reading the answer", err);
		if (done > chunk)
			return LB_WHY(why, LB_E_UNREACHABLE, "%s", "reading the answer: bad length");
		if (done > 0) {
			*got = done;
			return LB_OK;
		}
		/* An empty message: not an end. Wait for more, within the deadline. */
		if (lb_ms_left(deadline_ms) == 0)
			return LB_WHY(why, LB_E_TIMEOUT, "no answer within %d ms", LB_CLIENT_TIMEOUT_MS);
	}
}

void
lb_conn_close(struct lb_conn *c)
{
	if (c == NULL)
		return;
	CloseHandle(c->pipe);
	CloseHandle(c->event);
	free(c);
}

/* An SRW lock needs no clean-up of its own. */
struct lb_client_lock {
	SRWLOCK l;
};

int
lb_client_lock_new(struct lb_client_lock **out)
{
	struct lb_client_lock *l;

	*out = NULL;
	if ((l = malloc(sizeof(*l))) == NULL)
		return LB_E_NOMEM;
	InitializeSRWLock(&l->l);
	*out = l;
	return LB_OK;
}

void
lb_client_lock_take(struct lb_client_lock *l)
{
	AcquireSRWLockExclusive(&l->l);
}

void
lb_client_lock_give(struct lb_client_lock *l)
{
	ReleaseSRWLockExclusive(&l->l);
}

void
lb_client_lock_free(struct lb_client_lock *l)
{
	free(l);
}
