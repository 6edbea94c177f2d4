/* lb_fs_win: the broker's file-system work on Windows. The link's parent
 * directory (and a hard link's target, and where it exists a link's
 * target) is opened while impersonating the client, so Windows checks the
 * client's rights and follows reparse points on the way once; the policy
 * decides on the handles' final paths. The link is then made relative to
 * the parent's handle, as the client: the new object gets the client as
 * its owner and inherits as the client's own would (CREATOR OWNER), and a
 * junction is entirely the client's, so RedirectionGuard treats it as a
 * user's. Only the FSCTL that turns a new empty file into a symbolic link
 * runs as the service, which holds SeCreateSymbolicLinkPrivilege. Every
 * open completes at once if another program holds an oplock (refused, not
 * waited for); a caller can cancel a stuck call with CancelSynchronousIo. */
#define WIN32_NO_STATUS
#include <windows.h>
#undef WIN32_NO_STATUS
#include <ntstatus.h>
#include <winternl.h>
#include <winioctl.h>
#include <aclapi.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_reparse.h"
#include "lb_win.h"

/* A handle given to the broker (directory or hard link target) and the
 * final path it had when opened (what the policy decided on). */
struct lb_win_fsh {
	HANDLE h;
	struct lb_path path;
};

/* What NtCreateFile's STATUS_OPLOCK_BREAK_IN_PROGRESS (a success code: the
 * handle is open while another program's oplock is being broken) becomes
 * once lb_nt_open has closed that handle: a customer-defined error code. */
#define LB_STATUS_OPLOCKED ((NTSTATUS)0xE0000108)

/* A counted UTF-16 name for NtCreateFile / FileLinkInformation. */
struct lb_nt_name {
	UNICODE_STRING us;
	wchar_t *buf;
};

/* GetFinalPathNameByHandleW's longest answer: "\\?\UNC\" and a path of
 * LB_PATH_WINDOWS_MAX units, plus the NUL. */
#define LB_FINAL_PATH_MAX (LB_PATH_WINDOWS_MAX + 8 + 1)

/* FILE_REMOTE_DEVICE (wdm.h, not in the user-mode headers). */
#define LB_FILE_REMOTE_DEVICE 0x00000010u

/* ---- errors ----------------------------------------------------------- */

/* ERROR_UNTRUSTED_MOUNT_POINT (winerror.h, not in MinGW-w64 12's): what
 * RedirectionGuard answers when a path crosses a junction made by a
 * non-administrator. */
#define LB_ERROR_UNTRUSTED_MOUNT_POINT 448u

static int
lb_nt_error(NTSTATUS st)
{
	ULONG dos;

	switch (st) {
	case STATUS_OBJECT_NAME_COLLISION:
		return LB_E_EXISTS;
	case LB_STATUS_OPLOCKED:
		return LB_E_OPLOCK;
	case STATUS_SHARING_VIOLATION:
		return LB_E_SHARING;
	case STATUS_CANCELLED:               /* CancelSynchronousIo at the deadline */
		return LB_E_FS_TIMEOUT;
	case STATUS_NOT_SUPPORTED:           /* FSCTL_SET_REPARSE_POINT on FAT, Wine */
	case STATUS_INVALID_DEVICE_REQUEST:  /* a file system without reparse points */
	case STATUS_NOT_SAME_DEVICE:         /* hard link across volumes */
		return LB_E_UNSUPPORTED;
	case STATUS_FILE_IS_A_DIRECTORY:     /* a hard link to a directory */
		return LB_E_PERM;
	case STATUS_NOT_A_DIRECTORY:
		return LB_E_NOT_DIR;
	default:
		break;
	}
	dos = RtlNtStatusToDosError(st);
	if (dos == LB_ERROR_UNTRUSTED_MOUNT_POINT) {
		/* Refused, not followed: the broker runs with RedirectionGuard,
		 * which also covers opens made while impersonating. */
		lb_win_log(LB_WIN_WARN, "refused a path through a junction made by "
		    "a non-administrator (RedirectionGuard)");
		return LB_E_PERM;
	}
	return lb_win_error(dos);
}

/* ---- impersonation ---------------------------------------------------- */

/* Continuing as the client after a failed revert would do the service's
 * later work with the client's rights (or none): stop here. */
static void
lb_as_self(void)
{
	if (!RevertToSelf()) {
		lb_win_log(LB_WIN_ERR, "cannot stop acting as a client "
		    "(RevertToSelf: Windows error %lu); exiting",
		    (unsigned long)GetLastError());
		ExitProcess(70);
	}
}

static const struct lb_win_peer *
lb_win_peer_of(const struct lb_peer *peer)
{
	const struct lb_win_peer *wp;

	if (peer == NULL || (wp = peer->plat) == NULL || wp->token == NULL)
		return NULL;
	return wp;
}

/* Act as the client on this thread. The token was checked to be at least
 * SecurityImpersonation (lb_identity); if Windows still lowered it to
 * identification, every open below fails: closed, not open. */
static int
lb_as_client(const struct lb_peer *peer)
{
	const struct lb_win_peer *wp = lb_win_peer_of(peer);
	DWORD err;

	if (wp == NULL)
		return LB_E_INVAL;
	if (!SetThreadToken(NULL, wp->token)) {
		err = GetLastError();
		lb_win_log(LB_WIN_ERR, "cannot act as the client (SetThreadToken: "
		    "Windows error %lu)", (unsigned long)err);
		lb_as_self();          /* whatever state the thread is in */
		return LB_E_IO;
	}
	return LB_OK;
}

/* ---- names -------------------------------------------------------------- */

static void
lb_nt_name_free(struct lb_nt_name *n)
{
	free(n->buf);
	memset(n, 0, sizeof(*n));
}

/* UTF-16LE bytes in B (even length, at most LB_NT_PATH_MAX) -> N. */
static int
lb_nt_name_take(const struct lb_buf *b, struct lb_nt_name *n)
{
	memset(n, 0, sizeof(*n));
	if (b->len == 0 || b->len > LB_NT_PATH_MAX || b->len % 2 != 0)
		return LB_E_INVAL;
	/* A copy: a wchar_t buffer is aligned, lb_buf's bytes need not be. */
	if ((n->buf = malloc(b->len + sizeof(wchar_t))) == NULL)
		return LB_E_NOMEM;
	memcpy(n->buf, b->data, b->len);
	n->buf[b->len / 2] = L'\0';
	n->us.Buffer = n->buf;
	n->us.Length = (USHORT)b->len;
	n->us.MaximumLength = (USHORT)b->len;
	return LB_OK;
}

/* "\??\C:\dir" or "\??\UNC\srv\share\dir" for the absolute path P. */
static int
lb_nt_name_abs(const struct lb_path *p, struct lb_nt_name *n)
{
	struct lb_buf b;
	int rc;

	memset(n, 0, sizeof(*n));
	lb_buf_init(&b, LB_NT_PATH_MAX);
	if ((rc = lb_nt_path(p, &b)) == LB_OK)
		rc = lb_nt_name_take(&b, n);
	lb_buf_free(&b);
	return rc;
}

/* NAME as one canonical relative component: what the broker passes (the
 * link's last component). Anything that lb_path_canon would change or
 * that walks ("..", ".", a separator) is refused. */
static int
lb_nt_name_component(const char *name, struct lb_nt_name *n)
{
	struct lb_path c = { 0 };
	struct lb_buf b;
	size_t len;
	int rc;

	memset(n, 0, sizeof(*n));
	if (name == NULL || (len = strlen(name)) == 0)
		return LB_E_INVAL;
	if ((rc = lb_path_canon(LB_FLAVOR_WINDOWS, name, len, &c)) != LB_OK)
		return rc;
	if (c.root != LB_ROOT_NONE || c.len != len || memcmp(c.s, name, len) != 0 ||
	    strchr(c.s, '\\') != NULL || strcmp(c.s, ".") == 0 || strcmp(c.s, "..") == 0) {
		lb_path_free(&c);
		return LB_E_INVAL;
	}
	lb_path_free(&c);
	lb_buf_init(&b, LB_NT_PATH_MAX);
	if ((rc = lb_utf8_to_utf16le(name, len, &b)) == LB_OK)
		rc = lb_nt_name_take(&b, n);
	lb_buf_free(&b);
	return rc;
}

/* ---- opening and final paths ------------------------------------------ */

static NTSTATUS
lb_nt_open(HANDLE *h, ACCESS_MASK access, HANDLE root, struct lb_nt_name *name,
    ULONG share, ULONG disposition, ULONG options)
{
	OBJECT_ATTRIBUTES oa;
	IO_STATUS_BLOCK io;
	NTSTATUS st;

	*h = NULL;
	memset(&io, 0, sizeof(io));
	/* Case-insensitive as Win32 opens are (CreateFileW without
	 * FILE_FLAG_POSIX_SEMANTICS). */
	InitializeObjectAttributes(&oa, &name->us, OBJ_CASE_INSENSITIVE, root, NULL);
	/* Never wait for another program to give up its oplock (it may never
	 * acknowledge the break): complete at once and refuse. */
	st = NtCreateFile(h, access, &oa, &io, NULL, FILE_ATTRIBUTE_NORMAL,
	    share, disposition, options | FILE_COMPLETE_IF_OPLOCKED, NULL, 0);
	if (st == STATUS_OPLOCK_BREAK_IN_PROGRESS) {
		CloseHandle(*h);
		st = LB_STATUS_OPLOCKED;
	}
	if (!NT_SUCCESS(st))
		*h = NULL;
	return st;
}

/* Log a string from the OS or a client with control characters shown. */
static void
lb_log_path(enum lb_win_level level, const char *before, const char *s,
    const char *after)
{
	struct lb_buf b;
	const char *show;

	lb_buf_init(&b, 4 * LB_PATH_BUF_MAX);
	if (s == NULL || lb_buf_put_display(&b, s, strlen(s)) != LB_OK ||
	    lb_buf_cstr(&b, &show) != LB_OK)
		show = "(unprintable)";
	lb_win_log(level, "%s%s%s", before, show, after);
	lb_buf_free(&b);
}

/* The canonical DOS path of H (drive letter or UNC), as the service sees
 * it: GetFinalPathNameByHandleW reports the path after every reparse
 * point, so a junction planted on the way is decided on by its target. */
static int
lb_handle_path(HANDLE h, struct lb_path *out)
{
	const DWORD flags = FILE_NAME_NORMALIZED | VOLUME_NAME_DOS;
	wchar_t *w = NULL;
	char *u = NULL;
	DWORD m, err;
	int rc;

	memset(out, 0, sizeof(*out));
	/* One call with room for the longest answer: Wine 8 fails the size
	 * query (ERROR_MORE_DATA) for paths past MAX_PATH, and a path could
	 * grow between a size query and the call anyway. */
	if ((w = malloc(LB_FINAL_PATH_MAX * sizeof(wchar_t))) == NULL)
		return LB_E_NOMEM;
	m = GetFinalPathNameByHandleW(h, w, LB_FINAL_PATH_MAX, flags);
	if (m == 0) {
		err = GetLastError();
		/* "searching for a drive letter and one does not exist": a
		 * volume mounted only in a folder or by GUID. */
		if (err == ERROR_PATH_NOT_FOUND) {
			lb_win_log(LB_WIN_WARN, "refused a directory on a volume "
			    "without a drive letter (its final path has no DOS name)");
			rc = LB_E_UNSUPPORTED;
		} else {
			rc = lb_win_error(err);
		}
		goto out;
	}
	if (m >= LB_FINAL_PATH_MAX) {   /* the size it would need: too long */
		rc = LB_E_PATH_LONG;
		goto out;
	}
	if ((u = lb_win_utf8(w)) == NULL) {
		rc = LB_E_PATH_UTF8;     /* an unpaired surrogate in a name */
		goto out;
	}
	rc = lb_win_path_from_final(u, strlen(u), out);
	if (rc == LB_E_UNSUPPORTED)
		lb_log_path(LB_WIN_WARN, "refused ", u, ": only drive-letter and "
		    "UNC paths can be decided on");
out:
	free(w);
	free(u);
	return rc;
}

static int
lb_fsh_new(HANDLE h, const struct lb_path *path, void **out)
{
	struct lb_win_fsh *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return LB_E_NOMEM;
	if (lb_path_copy(path, &f->path) != LB_OK) {
		free(f);
		return LB_E_NOMEM;
	}
	f->h = h;
	*out = f;
	return LB_OK;
}


/* Open the absolute path P as the client with ACCESS, SHARE and OPTIONS;
 * *H the handle. */
static int
lb_open_path_as_client(const struct lb_peer *peer, const struct lb_path *p,
    ACCESS_MASK access, ULONG share, ULONG options, HANDLE *h)
{
	struct lb_nt_name nt = { 0 };
	NTSTATUS st;
	int rc;

	*h = NULL;
	if (p->flavor != LB_FLAVOR_WINDOWS)
		return LB_E_INVAL;
	if (p->root == LB_ROOT_NONE || p->root == LB_ROOT_CURDRIVE)
		return LB_E_PATH_RELATIVE;
	if (p->root != LB_ROOT_DRIVE && p->root != LB_ROOT_UNC)
		return LB_E_INVAL;
	if ((rc = lb_nt_name_abs(p, &nt)) != LB_OK)
		return rc;
	if ((rc = lb_as_client(peer)) == LB_OK) {
		st = lb_nt_open(h, access, NULL, &nt, share, FILE_OPEN,
		    options | FILE_SYNCHRONOUS_IO_NONALERT);
		lb_as_self();
		rc = NT_SUCCESS(st) ? LB_OK : lb_nt_error(st);
	}
	lb_nt_name_free(&nt);
	return rc;
}

/* The final path of H as the service reads it (lb_handle_path), where H is
 * on a local file system: LB_E_REMOTE if it is on a network redirector
 * (SMB, WebDAV, a loopback share, a mapped or subst'ed drive, a file
 * system that says it is remote), whose final path need not be a drive
 * letter the floors and rules know. */
static int
lb_local_path(HANDLE h, struct lb_path *out)
{
	FILE_FS_DEVICE_INFORMATION di;
	IO_STATUS_BLOCK io;
	NTSTATUS st;

	memset(out, 0, sizeof(*out));
	memset(&io, 0, sizeof(io));
	memset(&di, 0, sizeof(di));
	st = NtQueryVolumeInformationFile(h, &io, &di, sizeof(di), FileFsDeviceInformation);
	if (!NT_SUCCESS(st))
		return lb_nt_error(st);
	if ((di.Characteristics & LB_FILE_REMOTE_DEVICE) != 0 ||
	    di.DeviceType == FILE_DEVICE_NETWORK_FILE_SYSTEM)
		return LB_E_REMOTE;
	return lb_handle_path(h, out);
}

/* Open P as the client (lb_open_path_as_client) and read the handle's
 * final path as the service, on a local file system (lb_local_path). */
static int
lb_open_as_client(const struct lb_peer *peer, const struct lb_path *p,
    ACCESS_MASK access, ULONG share, ULONG options, void **out, struct lb_path *resolved)
{
	HANDLE h = NULL;
	int rc;

	if ((rc = lb_open_path_as_client(peer, p, access, share, options, &h)) != LB_OK)
		return rc;
	if ((rc = lb_local_path(h, resolved)) != LB_OK)
		goto out;
	if ((rc = lb_fsh_new(h, resolved, out)) != LB_OK) {
		lb_path_free(resolved);
		goto out;
	}
	h = NULL;
out:
	if (h != NULL)
		CloseHandle(h);
	return rc;
}

static int
lb_win_open_parent(const struct lb_peer *peer, const struct lb_path *link,
    void **dir, struct lb_path *resolved)
{
	struct lb_path parent = { 0 };
	int rc;

	if (dir == NULL || resolved == NULL)
		return LB_E_INVAL;
	*dir = NULL;
	memset(resolved, 0, sizeof(*resolved));
	if (link == NULL || link->flavor != LB_FLAVOR_WINDOWS)
		return LB_E_INVAL;
	if ((rc = lb_path_require_absolute(link)) != LB_OK)
		return rc;
	if ((rc = lb_path_parent(link, &parent)) != LB_OK)
		return rc;
	/* Add-file and add-subdirectory: the client's right to make the link
	 * there is what Windows checks now; traverse for the walk. */
	/* Not shared for delete: nobody can rename or remove the folder while
	 * the broker decides and creates in it (a move of a folder above it
	 * is caught after the create, lb_verify_new). */
	rc = lb_open_as_client(peer, &parent,
	    FILE_ADD_FILE | FILE_ADD_SUBDIRECTORY | FILE_TRAVERSE | SYNCHRONIZE |
	    FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE,
	    FILE_DIRECTORY_FILE, dir, resolved);
	lb_path_free(&parent);
	return rc;
}

static void lb_win_close(void *handle);

/* May the client write the file whose security descriptor SD is? Decided
 * by AccessCheck with the client's impersonation token, not by opening for
 * writing: a read-only attribute (git's objects), a running program or a
 * file another program holds without sharing writes must not refuse what
 * mklink /H allows, and an open for writing would break other programs'
 * oplocks. LB_OK, LB_E_PERM, or LB_E_IO. */
int
lb_win_client_may_write(HANDLE token, PSECURITY_DESCRIPTOR sd)
{
	GENERIC_MAPPING map = { FILE_GENERIC_READ, FILE_GENERIC_WRITE,
	    FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS };
	union {
		PRIVILEGE_SET ps;
		uint8_t room[sizeof(PRIVILEGE_SET) + 4 * sizeof(LUID_AND_ATTRIBUTES)];
	} priv;
	DWORD priv_len = sizeof(priv), granted = 0;
	BOOL ok = FALSE;

	if (token == NULL || sd == NULL || !IsValidSecurityDescriptor(sd))
		return LB_E_INVAL;
	memset(&priv, 0, sizeof(priv));
	if (!AccessCheck(sd, token, FILE_WRITE_DATA, &map, &priv.ps, &priv_len, &granted, &ok)) {
		lb_win_log(LB_WIN_ERR, "cannot check the client's access to a hard link's "
		    "target (AccessCheck: Windows error %lu)", (unsigned long)GetLastError());
		return LB_E_IO;
	}
	return ok && (granted & FILE_WRITE_DATA) != 0 ? LB_OK : LB_E_PERM;
}

static int
lb_win_open_target(const struct lb_peer *peer, const struct lb_path *target,
    void **file, struct lb_path *resolved)
{
	const struct lb_win_peer *wp = lb_win_peer_of(peer);
	PSECURITY_DESCRIPTOR sd = NULL;
	struct lb_win_fsh *f;
	DWORD err;
	int rc;

	if (file == NULL || resolved == NULL)
		return LB_E_INVAL;
	*file = NULL;
	memset(resolved, 0, sizeof(*resolved));
	if (target == NULL || wp == NULL)
		return LB_E_INVAL;
	/* As CreateHardLinkW opens it: attributes only, shared with every
	 * other opener, so no sharing violation and no oplock break; and
	 * READ_CONTROL for the access check. A directory fails
	 * (FILE_NON_DIRECTORY_FILE: STATUS_FILE_IS_A_DIRECTORY -> LB_E_PERM). */
	if ((rc = lb_open_as_client(peer, target,
	    READ_CONTROL | FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
	    FILE_NON_DIRECTORY_FILE, file, resolved)) != LB_OK)
		return rc;
	f = *file;
	err = GetSecurityInfo(f->h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION |
	    GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL, &sd);
	if (err != ERROR_SUCCESS)
		rc = lb_win_error(err);
	else
		rc = lb_win_client_may_write(wp->token, sd);
	LocalFree(sd);
	if (rc != LB_OK) {
		lb_win_close(*file);
		*file = NULL;
		lb_path_free(resolved);
	}
	return rc;
}

/* An 8.3 short name ("PROGRA~1", "SECRE~12.TXT"): a base of at most eight
 * characters with "~" and digits at its end, and an extension of at most
 * three. Such a name may stand for a long one that no rule sees; where it
 * exists the open resolves it, where it does not it is refused. */
static int
lb_looks_short_name(const char *c, size_t n)
{
	const char *dot = memchr(c, '.', n), *t;
	size_t base = dot != NULL ? (size_t)(dot - c) : n;
	size_t digits = 0;

	if (base == 0 || base > 8 || (dot != NULL && n - base - 1 > 3))
		return 0;
	for (t = c + base; t > c && t[-1] >= '0' && t[-1] <= '9'; t--)
		digits++;
	return digits > 0 && t > c + 1 && t[-1] == '~';
}

static int
lb_has_short_name(const struct lb_path *rel)
{
	const char *s = rel->s, *e;

	while (*s != '\0') {
		if ((e = strchr(s, '\\')) == NULL)
			e = s + strlen(s);
		if (lb_looks_short_name(s, (size_t)(e - s)))
			return 1;
		s = *e != '\0' ? e + 1 : e;
	}
	return 0;
}

/* lb_fs_ops.resolve_target: a local TARGET as the client's file system
 * has it. Opened as the client with attributes access only, following
 * every reparse point: where it exists its final path (long names, mount
 * points and the client's junctions resolved); where it or folders of it
 * do not exist (or the client may not open them), the deepest folder that
 * opens, with the rest appended, which must hold no 8.3 short names. A
 * UNC target is left as written: the policy allows one only where a rule
 * names it, and the broker does not reach out to other machines. */
static int
lb_win_resolve_target(const struct lb_peer *peer, const struct lb_path *target,
    struct lb_path *resolved)
{
	struct lb_path cur = { 0 }, up = { 0 }, rest = { 0 }, base = { 0 };
	HANDLE h = NULL;
	size_t skip;
	int rc;

	memset(resolved, 0, sizeof(*resolved));
	if (target == NULL || target->flavor != LB_FLAVOR_WINDOWS)
		return LB_E_INVAL;
	if (target->root != LB_ROOT_DRIVE)
		return lb_path_copy(target, resolved);
	if ((rc = lb_path_copy(target, &cur)) != LB_OK)
		return rc;
	for (;;) {
		rc = lb_open_path_as_client(peer, &cur, FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, 0, &h);
		if (rc == LB_OK)
			break;
		/* Only what is missing is walked past; a refusal (access, or
		 * RedirectionGuard's for a user's junction) fails closed. */
		if ((rc != LB_E_NOENT && rc != LB_E_NOT_DIR) ||
		    cur.len == cur.root_len)
			goto out;
		if ((rc = lb_path_parent(&cur, &up)) != LB_OK)
			goto out;
		lb_path_free(&cur);
		cur = up;
		memset(&up, 0, sizeof(up));
	}
	/* LB_E_REMOTE too for a drive letter that is a share */
	if ((rc = lb_local_path(h, &base)) != LB_OK)
		goto out;
	if (cur.len == target->len) {
		*resolved = base;
		memset(&base, 0, sizeof(base));
		goto out;
	}
	/* The part that does not exist, as written. */
	skip = cur.len + (cur.len > cur.root_len);
	if ((rc = lb_path_canon(LB_FLAVOR_WINDOWS, target->s + skip, target->len - skip, &rest)) != LB_OK)
		goto out;
	if (lb_has_short_name(&rest)) {
		rc = LB_E_PATH_SHORT_NAME;
		goto out;
	}
	rc = lb_path_resolve(&base, &rest, resolved);
out:
	if (h != NULL)
		CloseHandle(h);
	lb_path_free(&cur);
	lb_path_free(&up);
	lb_path_free(&rest);
	lb_path_free(&base);
	return rc;
}

/* ---- the service's privileges ----------------------------------------- */

struct lb_priv_once {
	INIT_ONCE once;
	const wchar_t *name;
	const char *label;         /* the same, for the log */
	DWORD err;                 /* 0: enabled */
};

static struct lb_priv_once lb_priv_symlink = {
	INIT_ONCE_STATIC_INIT, L"SeCreateSymbolicLinkPrivilege",
	"SeCreateSymbolicLinkPrivilege", 0,
};

static BOOL CALLBACK
lb_priv_enable(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
	struct lb_priv_once *p = param;
	TOKEN_PRIVILEGES tp;
	HANDLE tok = NULL;

	(void)once;
	(void)ctx;
	memset(&tp, 0, sizeof(tp));
	tp.PrivilegeCount = 1;
	tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
	if (!LookupPrivilegeValueW(NULL, p->name, &tp.Privileges[0].Luid) ||
	    !OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &tok)) {
		p->err = GetLastError();
	} else if (!AdjustTokenPrivileges(tok, FALSE, &tp, 0, NULL, NULL)) {
		p->err = GetLastError();
	} else {
		/* TRUE with ERROR_NOT_ALL_ASSIGNED: the token lacks it. */
		p->err = GetLastError() == ERROR_NOT_ALL_ASSIGNED ? ERROR_NOT_ALL_ASSIGNED : 0;
	}
	if (tok != NULL)
		CloseHandle(tok);
	if (p->err != 0)
		lb_win_log(LB_WIN_ERR, "cannot enable %s for the service (Windows "
		    "error %lu%s)", p->label, (unsigned long)p->err,
		    p->err == ERROR_NOT_ALL_ASSIGNED ? ": the service account does not hold it" : "");
	return TRUE;                   /* once, whatever the outcome */
}

/* Enable privilege P on the process token at first use (logged once if
 * that fails). LB_E_PERM if the service account lacks it; LB_E_UNSUPPORTED
 * if the system does not know it at all (ERROR_NO_SUCH_PRIVILEGE: Wine 8
 * has no SeCreateSymbolicLinkPrivilege, every Windows 10/11 has). */
static int
lb_priv_ready(struct lb_priv_once *p)
{
	if (!InitOnceExecuteOnce(&p->once, lb_priv_enable, p, NULL))
		return LB_E_IO;
	if (p->err == 0)
		return LB_OK;
	return p->err == ERROR_NO_SUCH_PRIVILEGE ? LB_E_UNSUPPORTED : LB_E_PERM;
}

/* ---- creating ------------------------------------------------------------- */

/* FILE_DISPOSITION_INFORMATION_EX and its class (ntifs.h / wdm.h, not in
 * MinGW-w64's winternl.h), Windows 10 1607 and later:
 * https://learn.microsoft.com/en-us/windows-hardware/drivers/ddi/ntddk/ns-ntddk-_file_disposition_information_ex */
#define LB_FILE_DISPOSITION_INFORMATION_EX 64
#define LB_FILE_DISPOSITION_DELETE 0x00000001u
#define LB_FILE_DISPOSITION_POSIX_SEMANTICS 0x00000002u
struct lb_file_disposition_information_ex {
	ULONG Flags;
};

/* Delete the name H was opened by (with DELETE). POSIX semantics first:
 * the name goes at once even if another handle has the file open (a hard
 * link's target often is); file systems without it (FAT, older Windows)
 * get the classic delete-on-last-close. */
static NTSTATUS
lb_delete_handle(HANDLE h)
{
	struct lb_file_disposition_information_ex dx;
	FILE_DISPOSITION_INFORMATION fdi;
	IO_STATUS_BLOCK io;
	NTSTATUS st;

	memset(&io, 0, sizeof(io));
	dx.Flags = LB_FILE_DISPOSITION_DELETE | LB_FILE_DISPOSITION_POSIX_SEMANTICS;
	st = NtSetInformationFile(h, &io, &dx, sizeof(dx),
	    (FILE_INFORMATION_CLASS)LB_FILE_DISPOSITION_INFORMATION_EX);
	if (st != STATUS_INVALID_INFO_CLASS && st != STATUS_INVALID_PARAMETER &&
	    st != STATUS_NOT_SUPPORTED && st != STATUS_NOT_IMPLEMENTED)
		return st;
	memset(&io, 0, sizeof(io));
	fdi.DoDeleteFile = TRUE;
	return NtSetInformationFile(h, &io, &fdi, sizeof(fdi), FileDispositionInformation);
}

/* Undo a create: nothing half-made stays. */
static void
lb_delete_new(HANDLE h, const char *name)
{
	if (!NT_SUCCESS(lb_delete_handle(h)))
		lb_log_path(LB_WIN_ERR, "could not remove the half-made link ",
		    name, " after a failure");
}

/* Who an open in a folder runs as. */
enum lb_open_as {
	LB_OPEN_AS_SERVICE,
	LB_OPEN_AS_CLIENT,           /* PEER's token: Windows checks its rights */
};

/* NT, one component, in DIR itself, opened for ACCESS with
 * FILE_OPEN_REPARSE_POINT: a link is opened as the link, never what it
 * points at (a directory link's or junction's target is not reached). */
static NTSTATUS
lb_open_in(const struct lb_peer *peer, enum lb_open_as as, const struct lb_win_fsh *dir,
    struct lb_nt_name *nt, ACCESS_MASK access, HANDLE *h)
{
	NTSTATUS st;

	*h = NULL;
	if (as == LB_OPEN_AS_CLIENT && lb_as_client(peer) != LB_OK)
		return STATUS_ACCESS_DENIED;
	st = lb_nt_open(h, access | SYNCHRONIZE, dir->h, nt,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, FILE_OPEN,
	    FILE_OPEN_REPARSE_POINT | FILE_SYNCHRONOUS_IO_NONALERT);
	if (as == LB_OPEN_AS_CLIENT)
		lb_as_self();
	return st;
}

/* After a create: the new object is NAME in DIR, so it is where the policy
 * decided if DIR still has the final path it had when it was opened. The
 * folder itself cannot move (opened without FILE_SHARE_DELETE), but a
 * folder above it could have: then the new object is deleted and the
 * request refused. (DIR's path, not the new object's: that one may be
 * longer than Wine's GetFinalPathNameByHandleW can say.) H is a handle to
 * the new object opened with DELETE, or NULL (a hard link: NAME is opened
 * with DELETE as the client only if it has to go). */
static int
lb_verify_new(const struct lb_peer *peer, const struct lb_win_fsh *dir,
    struct lb_nt_name *nt, const char *name, HANDLE h)
{
	struct lb_path now = { 0 };
	HANDLE del = NULL;
	int rc;

	if ((rc = lb_handle_path(dir->h, &now)) == LB_OK) {
		if (lb_path_is_under(&now, &dir->path) && lb_path_is_under(&dir->path, &now)) {
			lb_path_free(&now);
			return LB_OK;
		}
		lb_log_path(LB_WIN_WARN, "a folder above a new link moved before it was made; "
		    "removing it again from ", now.s, "");
		rc = LB_E_MOVED;
	}
	/* Whatever went wrong, a link whose place is unknown does not stay. */
	if (h == NULL) {
		if (!NT_SUCCESS(lb_open_in(peer, LB_OPEN_AS_CLIENT, dir, nt, DELETE, &del))) {
			lb_log_path(LB_WIN_ERR, "could not remove the new link ", name,
			    " after a failed check of where it is");
			goto out;
		}
		h = del;
	}
	lb_delete_new(h, name);
out:
	if (del != NULL)
		CloseHandle(del);
	lb_path_free(&now);
	return rc;
}

/* Make NAME in DIR a reparse point with the buffer RB: a new empty file or
 * directory made as the client (FILE_CREATE: never replaces anything; the
 * client's owner and inheritance), then FSCTL_SET_REPARSE_POINT: as the
 * client for a junction, as the service (its SeCreateSymbolicLinkPrivilege)
 * for a symbolic link. On any failure after the create the new object is
 * deleted again. */
static int
lb_make_reparse(const struct lb_peer *peer, const struct lb_win_fsh *dir, const char *name,
    struct lb_nt_name *nt, int is_dir, int fsctl_as_client, const struct lb_buf *rb)
{
	IO_STATUS_BLOCK io;
	HANDLE h = NULL;
	NTSTATUS st;
	int rc;

	if ((rc = lb_as_client(peer)) != LB_OK)
		return rc;
	/* Not shared: nobody opens the link before it is complete.
	 * FILE_WRITE_ATTRIBUTES for the FSCTL ([MS-FSA] 2.1.5.10.37), DELETE
	 * to undo, READ_ATTRIBUTES for its final path. The creator is
	 * granted what it asks for whatever the inherited DACL says. */
	st = lb_nt_open(&h, FILE_WRITE_ATTRIBUTES | FILE_READ_ATTRIBUTES | DELETE | SYNCHRONIZE,
	    dir->h, nt, 0, FILE_CREATE,
	    FILE_OPEN_REPARSE_POINT | FILE_SYNCHRONOUS_IO_NONALERT |
	    (is_dir ? FILE_DIRECTORY_FILE : FILE_NON_DIRECTORY_FILE));
	if (!NT_SUCCESS(st)) {
		lb_as_self();
		return lb_nt_error(st);
	}
	if (!fsctl_as_client)
		lb_as_self();
	memset(&io, 0, sizeof(io));
	st = NtFsControlFile(h, NULL, NULL, NULL, &io, FSCTL_SET_REPARSE_POINT,
	    rb->data, (ULONG)rb->len, NULL, 0);
	if (fsctl_as_client)
		lb_as_self();
	if (!NT_SUCCESS(st)) {
		rc = lb_nt_error(st);
		lb_delete_new(h, name);   /* DELETE was granted at the open */
		goto out;
	}
	rc = lb_verify_new(peer, dir, nt, name, h);
out:
	CloseHandle(h);
	return rc;
}

/* The reparse buffer for KIND: a symbolic link keeps TARGET as typed
 * (canonical; relative ones stay relative), a junction points at the
 * absolute local directory TARGET. */
static int
lb_reparse_for(enum lb_kind kind, const char *target, struct lb_buf *rb)
{
	struct lb_path t = { 0 };
	int rc;

	if (target == NULL || target[0] == '\0')
		return LB_E_INVAL;
	if ((rc = lb_path_canon(LB_FLAVOR_WINDOWS, target, strlen(target), &t)) != LB_OK)
		return rc;
	if (kind == LB_KIND_JUNCTION)
		rc = lb_reparse_junction(&t, rb);
	else
		rc = lb_reparse_symlink(&t, rb);
	lb_path_free(&t);
	return rc;
}

/* FILE_LINK_INFORMATION for the name NT relative to DIR: at least the
 * structure's own size (a one-character name fits in its padding, and a
 * shorter buffer is STATUS_INFO_LENGTH_MISMATCH), else the offset of the
 * name plus its length. *SIZE its size; NULL on no memory. */
struct _FILE_LINK_INFORMATION *
lb_link_info_new(HANDLE dir, const wchar_t *name, USHORT name_bytes, ULONG *size)
{
	FILE_LINK_INFORMATION *fli;
	size_t n = offsetof(FILE_LINK_INFORMATION, FileName) + name_bytes;

	if (n < sizeof(FILE_LINK_INFORMATION))
		n = sizeof(FILE_LINK_INFORMATION);
	if ((fli = calloc(1, n)) == NULL)
		return NULL;
	fli->ReplaceIfExists = FALSE;  /* an existing name: STATUS_OBJECT_NAME_COLLISION */
	fli->RootDirectory = dir;
	fli->FileNameLength = name_bytes;
	memcpy(fli->FileName, name, name_bytes);
	*size = (ULONG)n;
	return fli;
}

/* A hard link NAME in DIR to the file FILE the client opened, made as the
 * client (as mklink /H would: no privilege involved). It keeps the file's
 * own owner and security. */
static int
lb_make_hardlink(const struct lb_peer *peer, const struct lb_win_fsh *dir, HANDLE file,
    struct lb_nt_name *nt, const char *name)
{
	FILE_LINK_INFORMATION *fli;
	IO_STATUS_BLOCK io;
	ULONG size = 0;
	NTSTATUS st;
	int rc;

	if ((fli = lb_link_info_new(dir->h, nt->us.Buffer, nt->us.Length, &size)) == NULL)
		return LB_E_NOMEM;
	if ((rc = lb_as_client(peer)) == LB_OK) {
		memset(&io, 0, sizeof(io));
		st = NtSetInformationFile(file, &io, fli, size, FileLinkInformation);
		lb_as_self();
		rc = NT_SUCCESS(st) ? LB_OK : lb_nt_error(st);
	}
	free(fli);
	if (rc == LB_OK)
		rc = lb_verify_new(peer, dir, nt, name, NULL);
	return rc;
}

static int
lb_win_create(const struct lb_peer *peer, void *dir, const char *name,
    enum lb_kind kind, const char *target, void *file)
{
	const struct lb_win_fsh *d = dir, *f = file;
	struct lb_nt_name nt = { 0 };
	struct lb_buf rb;
	int rc;

	lb_buf_init(&rb, LB_REPARSE_MAX);
	if (d == NULL || lb_win_peer_of(peer) == NULL)
		return LB_E_INVAL;
	if ((rc = lb_nt_name_component(name, &nt)) != LB_OK)
		return rc;
	switch (kind) {
	case LB_KIND_HARDLINK:
		rc = f == NULL ? LB_E_INVAL : lb_make_hardlink(peer, d, f->h, &nt, name);
		break;
	case LB_KIND_SYMLINK:
	case LB_KIND_DIRSYMLINK:
		/* NTFS checks this privilege on the FSCTL for symbolic links. */
		if ((rc = lb_reparse_for(kind, target, &rb)) != LB_OK ||
		    (rc = lb_priv_ready(&lb_priv_symlink)) != LB_OK)
			break;
		rc = lb_make_reparse(peer, d, name, &nt, kind == LB_KIND_DIRSYMLINK, 0, &rb);
		break;
	case LB_KIND_JUNCTION:
		/* Needs no privilege, only write access on the new directory:
		 * made entirely as the client. */
		if ((rc = lb_reparse_for(kind, target, &rb)) != LB_OK)
			break;
		rc = lb_make_reparse(peer, d, name, &nt, 1, 1, &rb);
		break;
	default:
		rc = LB_E_INVAL;
		break;
	}
	lb_buf_free(&rb);
	lb_nt_name_free(&nt);
	return rc;
}

/* ---- removing, closing, events ------------------------------------------ */

/* NAME (one plain component) in the folder D opened for ACCESS as AS
 * (lb_open_in): the link itself, never what it points at. */
static int
lb_open_link(const struct lb_peer *peer, enum lb_open_as as, const struct lb_win_fsh *d,
    const char *name, ACCESS_MASK access, HANDLE *h)
{
	struct lb_nt_name nt = { 0 };
	NTSTATUS st;
	int rc;

	*h = NULL;
	if (d == NULL)
		return LB_E_INVAL;
	if ((rc = lb_nt_name_component(name, &nt)) != LB_OK)
		return rc;
	st = lb_open_in(peer, as, d, &nt, access, h);
	lb_nt_name_free(&nt);
	return NT_SUCCESS(st) ? LB_OK : lb_nt_error(st);
}

static int
lb_win_remove(const struct lb_peer *peer, void *dir, const char *name)
{
	NTSTATUS st;
	HANDLE h;
	int rc;

	if ((rc = lb_open_link(peer, LB_OPEN_AS_SERVICE, dir, name, DELETE, &h)) != LB_OK)
		return rc;
	st = lb_delete_handle(h);
	CloseHandle(h);
	return NT_SUCCESS(st) ? LB_OK : lb_nt_error(st);
}

/* H's identity in the "made" record's format: volume serial number and
 * file index, lower-case hex. BI what GetFileInformationByHandle said. */
static int
lb_handle_id(HANDLE h, BY_HANDLE_FILE_INFORMATION *bi, char id[LB_FILE_ID_MAX])
{
	if (!GetFileInformationByHandle(h, bi))
		return lb_win_error(GetLastError());
	snprintf(id, LB_FILE_ID_MAX, "%08lx:%08lx%08lx", (unsigned long)bi->dwVolumeSerialNumber,
	    (unsigned long)bi->nFileIndexHigh, (unsigned long)bi->nFileIndexLow);
	return LB_OK;
}

/* The link just made: its volume serial number and file index, opened
 * relative to the folder's handle with FILE_OPEN_REPARSE_POINT (the link
 * itself, not its target) and no access but its attributes. */
static int
lb_win_identify(const struct lb_peer *peer, void *dir, const char *name,
    char id[LB_FILE_ID_MAX])
{
	BY_HANDLE_FILE_INFORMATION bi;
	HANDLE h;
	int rc;

	if ((rc = lb_open_link(peer, LB_OPEN_AS_SERVICE, dir, name, FILE_READ_ATTRIBUTES,
	    &h)) != LB_OK)
		return rc;
	if (lb_handle_id(h, &bi, id) != LB_OK)
		rc = LB_E_IO;
	CloseHandle(h);
	return rc;
}

/* Is the object with attributes and tag TI of KIND, as the broker makes
 * it (lb_make_reparse: a directory symbolic link and a junction are made
 * as directories, a file symbolic link not)? A hard link is any plain
 * file. */
static int
lb_is_kind(const FILE_ATTRIBUTE_TAG_INFO *ti, enum lb_kind kind)
{
	int is_dir = (ti->FileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
	int is_rp = (ti->FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0;

	switch (kind) {
	case LB_KIND_SYMLINK:
		return is_rp && ti->ReparseTag == IO_REPARSE_TAG_SYMLINK && !is_dir;
	case LB_KIND_DIRSYMLINK:
		return is_rp && ti->ReparseTag == IO_REPARSE_TAG_SYMLINK && is_dir;
	case LB_KIND_JUNCTION:
		return is_rp && ti->ReparseTag == IO_REPARSE_TAG_MOUNT_POINT && is_dir;
	case LB_KIND_HARDLINK:
		return !is_rp && !is_dir;
	default:
		return 0;
	}
}

/* lb_fs_ops.unlink_made: NAME is opened once, as the client (Windows
 * decides whether the client may delete it: DELETE on it or
 * FILE_DELETE_CHILD on DIR), and its kind, tag, identity and link count
 * are checked and it is deleted through that one handle
 * (lb_delete_handle): what is deleted is the object that was checked,
 * never another one put at NAME meanwhile. Opened
 * with FILE_OPEN_REPARSE_POINT, a directory link or junction is deleted
 * as the (empty) link directory itself; its target and what is in it are
 * never opened. */
static int
lb_win_unlink_made(const struct lb_peer *peer, void *dir, const char *name,
    enum lb_kind kind, const char *file_id)
{
	BY_HANDLE_FILE_INFORMATION bi;
	FILE_ATTRIBUTE_TAG_INFO ti;
	char id[LB_FILE_ID_MAX];
	HANDLE h = NULL;
	NTSTATUS st;
	int rc;

	if (dir == NULL || lb_win_peer_of(peer) == NULL || file_id == NULL ||
	    !lb_file_id_ok(file_id, strnlen(file_id, LB_FILE_ID_MAX)))
		return LB_E_INVAL;
	if (kind != LB_KIND_SYMLINK && kind != LB_KIND_DIRSYMLINK &&
	    kind != LB_KIND_JUNCTION && kind != LB_KIND_HARDLINK)
		return LB_E_INVAL;
	if ((rc = lb_open_link(peer, LB_OPEN_AS_CLIENT, dir, name,
	    DELETE | FILE_READ_ATTRIBUTES, &h)) != LB_OK)
		return rc;
	memset(&ti, 0, sizeof(ti));
	if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &ti, sizeof(ti))) {
		rc = lb_win_error(GetLastError());
		goto out;
	}
	if (!lb_is_kind(&ti, kind)) {
		rc = LB_E_CHANGED;
		goto out;
	}
	if ((rc = lb_handle_id(h, &bi, id)) != LB_OK)
		goto out;
	if (strcmp(id, file_id) != 0) {
		rc = LB_E_CHANGED;
		goto out;
	}
	/* The file's only name: removing it would delete the file. */
	if (kind == LB_KIND_HARDLINK && bi.nNumberOfLinks < 2) {
		rc = LB_E_LAST_NAME;
		goto out;
	}
	/* The access was checked at the open, as the client: DELETE granted. */
	st = lb_delete_handle(h);
	rc = NT_SUCCESS(st) ? LB_OK : lb_nt_error(st);
out:
	CloseHandle(h);
	return rc;
}

static void
lb_win_close(void *handle)
{
	struct lb_win_fsh *f = handle;

	if (f == NULL)
		return;
	if (f->h != NULL)
		CloseHandle(f->h);
	lb_path_free(&f->path);
	free(f);
}

/* The Event Log level of each event. */
static enum lb_win_level
lb_win_event_level(enum lb_event_id id)
{
	switch (id) {
	case LB_EVENT_DENIED:
	case LB_EVENT_FAILED:
		return LB_WIN_WARN;
	case LB_EVENT_POLICY_REFUSED:
	case LB_EVENT_AUDIT_FAILED:
		return LB_WIN_ERR;
	default:
		return LB_WIN_INFO;
	}
}

/* EV as its own event ID: the text, then its fields as more insertion
 * strings (docs/audit.md, "In the system's logs"); all may carry client
 * bytes, so control characters are shown escaped. */
static void
lb_win_event(const struct lb_event *ev)
{
	const char *v[LB_WIN_EVENT_EXTRA + 1];
	size_t len[LB_WIN_EVENT_EXTRA + 1], off[LB_WIN_EVENT_EXTRA + 1], i, n = 0;
	char err[24], seq[24];
	struct lb_buf b;
	const char *extra[LB_WIN_EVENT_EXTRA];
	int rc = LB_OK;

	snprintf(err, sizeof(err), "%d", ev->error);
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)ev->seq);
	v[n] = ev->text; len[n++] = ev->text != NULL ? strlen(ev->text) : 0;
	v[n] = ev->event; len[n++] = ev->event != NULL ? strlen(ev->event) : 0;
	v[n] = ev->verdict; len[n++] = ev->verdict != NULL ? strlen(ev->verdict) : 0;
	v[n] = ev->user; len[n++] = ev->user != NULL ? strlen(ev->user) : 0;
	v[n] = ev->sid; len[n++] = ev->sid != NULL ? strlen(ev->sid) : 0;
	v[n] = ev->kind; len[n++] = ev->kind != NULL ? strlen(ev->kind) : 0;
	v[n] = ev->link; len[n++] = ev->link_len;
	v[n] = ev->target; len[n++] = ev->target_len;
	v[n] = ev->rule; len[n++] = ev->rule != NULL ? strlen(ev->rule) : 0;
	v[n] = ev->event != NULL ? err : NULL; len[n++] = strlen(err);
	v[n] = ev->seq != 0 ? seq : NULL; len[n++] = strlen(seq);
	lb_buf_init(&b, 8 * LB_PATH_BUF_MAX);
	for (i = 0; i < n && rc == LB_OK; i++) {
		off[i] = b.len;
		if (v[i] != NULL)
			rc = lb_buf_put_display(&b, v[i], len[i]);
		if (rc == LB_OK)
			rc = lb_buf_put_u8(&b, 0);
	}
	if (rc != LB_OK) {
		lb_win_log_id(lb_win_event_level(ev->id), (DWORD)ev->id, NULL, 0,
		    "(event text unavailable)");
	} else {
		for (i = 1; i < n; i++)
			extra[i - 1] = (const char *)b.data + off[i];
		lb_win_log_id(lb_win_event_level(ev->id), (DWORD)ev->id, extra, n - 1, "%s",
		    (const char *)b.data + off[0]);
	}
	lb_buf_free(&b);
}

/* The rate limits' clock: monotonic milliseconds. */
static uint64_t
lb_win_clock_ms(void)
{
	return (uint64_t)GetTickCount64();
}

/* lb_fs_ops.spawn: a thread of its own (the index's start-up read), its
 * handle closed at once: nobody waits for it. */
struct lb_spawned {
	void (*fn)(void *);
	void *arg;
};

static DWORD WINAPI
lb_win_spawned(LPVOID p)
{
	struct lb_spawned sp = *(struct lb_spawned *)p;

	free(p);
	sp.fn(sp.arg);
	return 0;
}

static int
lb_win_spawn(void (*fn)(void *arg), void *arg)
{
	struct lb_spawned *sp;
	HANDLE t;

	if ((sp = malloc(sizeof(*sp))) == NULL)
		return LB_E_NOMEM;
	sp->fn = fn;
	sp->arg = arg;
	if ((t = CreateThread(NULL, 0, lb_win_spawned, sp, 0, NULL)) == NULL) {
		free(sp);
		return LB_E_NOMEM;
	}
	CloseHandle(t);
	return LB_OK;
}

const struct lb_fs_ops lb_win_fs_ops = {
	.open_parent = lb_win_open_parent,
	.open_target = lb_win_open_target,
	.create = lb_win_create,
	.remove = lb_win_remove,
	.close = lb_win_close,
	.event = lb_win_event,
	.resolve_target = lb_win_resolve_target,
	.clock_ms = lb_win_clock_ms,
	.identify = lb_win_identify,
	.unlink_made = lb_win_unlink_made,
	.spawn = lb_win_spawn,
};

/* ---- RedirectionGuard ---------------------------------------------------- */

/* PROCESS_MITIGATION_REDIRECTION_TRUST_POLICY (winnt.h; MinGW-w64 has the
 * enum value but not the struct): one DWORD of flags, bit 0
 * EnforceRedirectionTrust, bit 1 AuditRedirectionTrust.
 * https://learn.microsoft.com/en-us/windows/win32/api/winnt/ns-winnt-process-mitigation-redirection-trust-policy */
struct lb_redirection_trust_policy {
	DWORD flags;
};
#define LB_ENFORCE_REDIRECTION_TRUST 0x1u
/* ProcessRedirectionTrustPolicy is 16 in PROCESS_MITIGATION_POLICY. */
_Static_assert(ProcessRedirectionTrustPolicy == 16, "PROCESS_MITIGATION_POLICY value");

int
lb_win_redirection_guard(void)
{
	struct lb_redirection_trust_policy pol = { LB_ENFORCE_REDIRECTION_TRUST };
	struct lb_redirection_trust_policy got = { 0 };
	DWORD err;

	if (!SetProcessMitigationPolicy(ProcessRedirectionTrustPolicy, &pol, sizeof(pol))) {
		err = GetLastError();
		/* Windows before the feature does not know the policy value. */
		if (err == ERROR_INVALID_PARAMETER || err == ERROR_NOT_SUPPORTED ||
		    err == ERROR_CALL_NOT_IMPLEMENTED)
			return LB_E_UNSUPPORTED;
		return lb_win_error(err);
	}
	/* Believe it only when Windows reports it back on. Wine 8 returns
	 * TRUE and then reports the flags as 0. */
	if (GetProcessMitigationPolicy(GetCurrentProcess(), ProcessRedirectionTrustPolicy,
	    &got, sizeof(got)) && (got.flags & LB_ENFORCE_REDIRECTION_TRUST) != 0)
		return LB_OK;
	return lb_win_is_wine() ? LB_E_UNSUPPORTED : LB_E_IO;
}
