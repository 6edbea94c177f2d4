/* lb_fs_win: the broker's file-system work on Windows. The link's parent
 * directory (and a hard link's target) is opened while impersonating the
 * client, so Windows checks the client's rights and follows reparse points
 * on the way once; the policy decides on the handle's final path; the link
 * is then made relative to that handle as the service (NtCreateFile with
 * RootDirectory + FSCTL_SET_REPARSE_POINT, or FileLinkInformation) and
 * given to the client as its owner. */
#define WIN32_NO_STATUS
#include <windows.h>
#undef WIN32_NO_STATUS
#include <ntstatus.h>
#include <winternl.h>
#include <winioctl.h>
#include <aclapi.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lb_reparse.h"
#include "lb_win.h"

/* A handle given to the broker (directory or hard link target). */
struct lb_win_fsh {
	HANDLE h;
};

/* A counted UTF-16 name for NtCreateFile / FileLinkInformation. */
struct lb_nt_name {
	UNICODE_STRING us;
	wchar_t *buf;
};

/* GetFinalPathNameByHandleW's longest answer: "\\?\UNC\" and a path of
 * LB_PATH_WINDOWS_MAX units, plus the NUL. */
#define LB_FINAL_PATH_MAX (LB_PATH_WINDOWS_MAX + 8 + 1)

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

	*h = NULL;
	memset(&io, 0, sizeof(io));
	/* Case-insensitive as Win32 opens are (CreateFileW without
	 * FILE_FLAG_POSIX_SEMANTICS). */
	InitializeObjectAttributes(&oa, &name->us, OBJ_CASE_INSENSITIVE, root, NULL);
	return NtCreateFile(h, access, &oa, &io, NULL, FILE_ATTRIBUTE_NORMAL,
	    share, disposition, options, NULL, 0);
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
	DWORD n, m, err;
	int rc;

	memset(out, 0, sizeof(*out));
	n = GetFinalPathNameByHandleW(h, NULL, 0, flags);
	if (n == 0) {
		err = GetLastError();
		/* "searching for a drive letter and one does not exist": a
		 * volume mounted only in a folder or by GUID. */
		if (err == ERROR_PATH_NOT_FOUND) {
			lb_win_log(LB_WIN_WARN, "refused a directory on a volume "
			    "without a drive letter (its final path has no DOS name)");
			return LB_E_UNSUPPORTED;
		}
		return lb_win_error(err);
	}
	if (n > LB_FINAL_PATH_MAX)
		return LB_E_PATH_LONG;
	if ((w = malloc((size_t)n * sizeof(wchar_t))) == NULL)
		return LB_E_NOMEM;
	m = GetFinalPathNameByHandleW(h, w, n, flags);
	if (m == 0 || m >= n) {        /* renamed longer in between */
		rc = m == 0 ? lb_win_error(GetLastError()) : LB_E_IO;
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
lb_fsh_new(HANDLE h, void **out)
{
	struct lb_win_fsh *f;

	if ((f = malloc(sizeof(*f))) == NULL)
		return LB_E_NOMEM;
	f->h = h;
	*out = f;
	return LB_OK;
}

/* Open the absolute path P as the client with ACCESS and OPTIONS, then
 * read its final path as the service. */
static int
lb_open_as_client(const struct lb_peer *peer, const struct lb_path *p,
    ACCESS_MASK access, ULONG options, void **out, struct lb_path *resolved)
{
	struct lb_nt_name nt = { 0 };
	HANDLE h = NULL;
	NTSTATUS st;
	int rc;

	if (p->flavor != LB_FLAVOR_WINDOWS)
		return LB_E_INVAL;
	if (p->root == LB_ROOT_NONE || p->root == LB_ROOT_CURDRIVE)
		return LB_E_PATH_RELATIVE;
	if (p->root != LB_ROOT_DRIVE && p->root != LB_ROOT_UNC)
		return LB_E_INVAL;
	if ((rc = lb_nt_name_abs(p, &nt)) != LB_OK)
		return rc;
	if ((rc = lb_as_client(peer)) != LB_OK)
		goto out;
	st = lb_nt_open(&h, access, NULL, &nt,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, FILE_OPEN,
	    options | FILE_SYNCHRONOUS_IO_NONALERT);
	lb_as_self();
	if (!NT_SUCCESS(st)) {
		h = NULL;
		rc = lb_nt_error(st);
		goto out;
	}
	if ((rc = lb_handle_path(h, resolved)) != LB_OK)
		goto out;
	if ((rc = lb_fsh_new(h, out)) != LB_OK) {
		lb_path_free(resolved);
		goto out;
	}
	h = NULL;
out:
	if (h != NULL)
		CloseHandle(h);
	lb_nt_name_free(&nt);
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
	rc = lb_open_as_client(peer, &parent,
	    FILE_ADD_FILE | FILE_ADD_SUBDIRECTORY | FILE_TRAVERSE | SYNCHRONIZE |
	    FILE_READ_ATTRIBUTES, FILE_DIRECTORY_FILE, dir, resolved);
	lb_path_free(&parent);
	return rc;
}

static int
lb_win_open_target(const struct lb_peer *peer, const struct lb_path *target,
    void **file, struct lb_path *resolved)
{
	if (file == NULL || resolved == NULL)
		return LB_E_INVAL;
	*file = NULL;
	memset(resolved, 0, sizeof(*resolved));
	if (target == NULL)
		return LB_E_INVAL;
	/* Read and write, checked by opening as the client: on NTFS an open
	 * for writing changes nothing (no truncation, no time stamps) until
	 * something is written. A directory fails (FILE_NON_DIRECTORY_FILE:
	 * STATUS_FILE_IS_A_DIRECTORY -> LB_E_PERM). */
	return lb_open_as_client(peer, target,
	    FILE_READ_DATA | FILE_WRITE_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
	    FILE_NON_DIRECTORY_FILE, file, resolved);
}

/* ---- the service's privileges ----------------------------------------- */

struct lb_priv_once {
	INIT_ONCE once;
	const wchar_t *name;
	const char *label;         /* the same, for the log */
	DWORD err;                 /* 0: enabled */
};

static struct lb_priv_once lb_priv_restore = {
	INIT_ONCE_STATIC_INIT, L"SeRestorePrivilege", "SeRestorePrivilege", 0,
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

/* The client's user SID, from its token (never from a string). */
static int
lb_client_user(const struct lb_peer *peer, TOKEN_USER **out)
{
	const struct lb_win_peer *wp = lb_win_peer_of(peer);
	DWORD need = 0;
	TOKEN_USER *tu;

	*out = NULL;
	if (wp == NULL)
		return LB_E_INVAL;
	if (GetTokenInformation(wp->token, TokenUser, NULL, 0, &need) ||
	    GetLastError() != ERROR_INSUFFICIENT_BUFFER || need == 0 || need > 4096)
		return LB_E_IO;
	if ((tu = malloc(need)) == NULL)
		return LB_E_NOMEM;
	if (!GetTokenInformation(wp->token, TokenUser, tu, need, &need) ||
	    !IsValidSid(tu->User.Sid)) {
		free(tu);
		return LB_E_IO;
	}
	*out = tu;
	return LB_OK;
}

/* Make NAME in DIR a reparse point with the buffer RB: a new empty file or
 * directory (FILE_CREATE: never replaces anything), owned by the client,
 * then FSCTL_SET_REPARSE_POINT. On any failure after the create the new
 * object is deleted again. */
static int
lb_make_reparse(const struct lb_peer *peer, HANDLE dir, const char *name,
    struct lb_nt_name *nt, int is_dir, const struct lb_buf *rb)
{
	TOKEN_USER *owner = NULL;
	IO_STATUS_BLOCK io;
	HANDLE h = NULL;
	NTSTATUS st;
	DWORD err;
	int rc;

	if ((rc = lb_priv_ready(&lb_priv_restore)) != LB_OK)
		return rc;
	if ((rc = lb_client_user(peer, &owner)) != LB_OK)
		return rc;
	/* Not shared: nobody opens the link before it is complete. WRITE_OWNER
	 * for the owner, FILE_WRITE_ATTRIBUTES for the FSCTL, DELETE to undo. */
	st = lb_nt_open(&h, FILE_WRITE_ATTRIBUTES | DELETE | WRITE_OWNER | SYNCHRONIZE,
	    dir, nt, 0, FILE_CREATE,
	    FILE_OPEN_REPARSE_POINT | FILE_SYNCHRONOUS_IO_NONALERT |
	    (is_dir ? FILE_DIRECTORY_FILE : FILE_NON_DIRECTORY_FILE));
	if (!NT_SUCCESS(st)) {
		h = NULL;
		rc = lb_nt_error(st);
		goto out;
	}
	/* Owner first: the client can then delete the link with del / rd.
	 * Another user as owner needs SeRestorePrivilege (enabled above). */
	err = SetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION,
	    owner->User.Sid, NULL, NULL, NULL);
	if (err != ERROR_SUCCESS) {
		lb_win_log(LB_WIN_ERR, "cannot give a new link to its client "
		    "(SetSecurityInfo: Windows error %lu)", (unsigned long)err);
		rc = lb_win_error(err);
		goto undo;
	}
	memset(&io, 0, sizeof(io));
	st = NtFsControlFile(h, NULL, NULL, NULL, &io, FSCTL_SET_REPARSE_POINT,
	    rb->data, (ULONG)rb->len, NULL, 0);
	if (!NT_SUCCESS(st)) {
		rc = lb_nt_error(st);
		goto undo;
	}
	rc = LB_OK;
	goto out;
undo:
	lb_delete_new(h, name);
out:
	if (h != NULL)
		CloseHandle(h);
	free(owner);
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

/* A hard link NAME in DIR to the file FILE the client opened for writing.
 * It keeps its own owner. */
static int
lb_make_hardlink(HANDLE dir, HANDLE file, const struct lb_nt_name *nt)
{
	FILE_LINK_INFORMATION *fli;
	IO_STATUS_BLOCK io;
	size_t size;
	NTSTATUS st;

	size = offsetof(FILE_LINK_INFORMATION, FileName) + nt->us.Length;
	if ((fli = calloc(1, size)) == NULL)
		return LB_E_NOMEM;
	fli->ReplaceIfExists = FALSE;  /* an existing name: STATUS_OBJECT_NAME_COLLISION */
	fli->RootDirectory = dir;
	fli->FileNameLength = nt->us.Length;
	memcpy(fli->FileName, nt->us.Buffer, nt->us.Length);
	memset(&io, 0, sizeof(io));
	st = NtSetInformationFile(file, &io, fli, (ULONG)size, FileLinkInformation);
	free(fli);
	return NT_SUCCESS(st) ? LB_OK : lb_nt_error(st);
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
		rc = f == NULL ? LB_E_INVAL : lb_make_hardlink(d->h, f->h, &nt);
		break;
	case LB_KIND_SYMLINK:
	case LB_KIND_DIRSYMLINK:
		/* NTFS checks this privilege on the FSCTL for symbolic links. */
		if ((rc = lb_reparse_for(kind, target, &rb)) != LB_OK ||
		    (rc = lb_priv_ready(&lb_priv_symlink)) != LB_OK)
			break;
		rc = lb_make_reparse(peer, d->h, name, &nt, kind == LB_KIND_DIRSYMLINK, &rb);
		break;
	case LB_KIND_JUNCTION:
		if ((rc = lb_reparse_for(kind, target, &rb)) != LB_OK)
			break;
		rc = lb_make_reparse(peer, d->h, name, &nt, 1, &rb);
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

static int
lb_win_remove(const struct lb_peer *peer, void *dir, const char *name)
{
	const struct lb_win_fsh *d = dir;
	struct lb_nt_name nt = { 0 };
	HANDLE h = NULL;
	NTSTATUS st;
	int rc;

	(void)peer;
	if (d == NULL)
		return LB_E_INVAL;
	if ((rc = lb_nt_name_component(name, &nt)) != LB_OK)
		return rc;
	/* FILE_OPEN_REPARSE_POINT: the link itself, never what it points at. */
	st = lb_nt_open(&h, DELETE | SYNCHRONIZE, d->h, &nt,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, FILE_OPEN,
	    FILE_OPEN_REPARSE_POINT | FILE_SYNCHRONOUS_IO_NONALERT);
	if (!NT_SUCCESS(st)) {
		rc = lb_nt_error(st);
		goto out;
	}
	st = lb_delete_handle(h);
	rc = NT_SUCCESS(st) ? LB_OK : lb_nt_error(st);
	CloseHandle(h);
out:
	lb_nt_name_free(&nt);
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
	free(f);
}

/* The broker's text may carry client bytes: control characters escaped. */
static void
lb_win_event(int allowed, const char *line)
{
	lb_log_path(allowed ? LB_WIN_INFO : LB_WIN_WARN, "", line, "");
}

const struct lb_fs_ops lb_win_fs_ops = {
	.open_parent = lb_win_open_parent,
	.open_target = lb_win_open_target,
	.create = lb_win_create,
	.remove = lb_win_remove,
	.close = lb_win_close,
	.event = lb_win_event,
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
