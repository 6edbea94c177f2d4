/* lb_win: the Windows service's own modules (service/win/) behind one
 * header: strings and errors, the pipe client's identity, file-system work
 * as the client, admin files and keys, the service and its logging, and the
 * broker loop. Portable logic stays in service/ (lb_broker, lb_identity). */
#ifndef LB_WIN_H
#define LB_WIN_H

#include <windows.h>

#include <stddef.h>
#include <stdint.h>

/* Relative so that a unit test can compile these files without the
 * linkbrokerd target's include directories. */
#include "../lb_broker.h"

/* ---- strings, errors, environment (lb_util_win.c) ---- */

/* UTF-8 <-> UTF-16, malloc'd, strict both ways (invalid input is NULL,
 * never replaced: a path must not silently change). */
wchar_t *lb_win_wide(const char *utf8);
char *lb_win_utf8(const wchar_t *w);
/* A Win32 error (GetLastError) as an LB_E_* code. */
int lb_win_error(DWORD err);
/* Running under Wine (ntdll exports wine_get_version)? Used only to say
 * which checks Wine cannot satisfy, never to turn a check off silently. */
int lb_win_is_wine(void);
/* "%ProgramData%\LinkBroker" (from SHGetKnownFolderPath), malloc'd UTF-8. */
char *lb_win_data_dir(void);

/* ---- logging (lb_svc_win.c) ---- */

enum lb_win_level { LB_WIN_INFO, LB_WIN_WARN, LB_WIN_ERR };
/* To the Event Log (source "LinkBroker") and, when running in the
 * foreground or from the command line, to stderr. */
void lb_win_log(enum lb_win_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(gnu_printf, 2, 3)))   /* __USE_MINGW_ANSI_STDIO formats */
#endif
    ;
/* The same as event ID (enum lb_event_id, lb_events.mc) with up to
 * LB_WIN_EVENT_EXTRA more insertion strings EXTRA (N; NULL ones empty),
 * kept in the event's EventData after the text (docs/audit.md). */
#define LB_WIN_EVENT_EXTRA 10
void lb_win_log_id(enum lb_win_level level, DWORD id, const char *const *extra, size_t n,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(gnu_printf, 5, 6)))
#endif
    ;
/* Where lb_win_log writes: FOREGROUND adds stderr. */
void lb_win_log_open(int foreground);
void lb_win_log_close(void);
/* Make the UTF-16 text S safe as an Event Log insertion string, in place:
 * every '%' becomes U+FF05 (FULLWIDTH PERCENT SIGN). The viewer expands
 * %n, %%n and %{...} found in inserted text too, recursively, and there is
 * no escape for them (MS-EVEN 3.2.4.1.5); a look-alike cannot start one. */
void lb_win_event_escape(wchar_t *s);

/* ---- the service's own security descriptor (lb_svc_win.c) ---- */

/* A new DACL in *OUT (LocalFree it) that is IN plus SERVICE_QUERY_STATUS
 * for Authenticated Users, merged with what they already hold; *OUT NULL
 * if IN grants them that already. The default service DACL gives it only
 * to INTERACTIVE and SERVICE logons, so a scheduled task (BATCH) could not
 * check the service's process id. IN must not be NULL (a NULL DACL would
 * become this one ACE). 0 or a Windows error. */
DWORD lb_win_service_dacl_with_status(PACL in, PACL *out);
/* Take SERVICE_USER_DEFINED_CONTROL (service control codes 128..255, e.g.
 * LB_SVC_CONTROL_ROTATE) from every allow ACE of ACL but SYSTEM's and
 * Administrators' (the default DACL gives it to INTERACTIVE and SERVICE
 * logons), in place. 0 or a Windows error. */
DWORD lb_win_service_dacl_admin_controls(PACL acl);

/* ---- the pipe client's identity (lb_token_win.c) ---- */

/* A connected client: what the broker decides on (peer) and the
 * impersonation token the file-system code acts with (reached through
 * peer.plat, which points at this struct). Owns all its strings. */
struct lb_win_peer {
	struct lb_peer peer;
	HANDLE token;               /* impersonation token (TOKEN_QUERY | TOKEN_IMPERSONATE) */
	void *storage;              /* strings and groups behind peer.who (private) */
};

/* Impersonate the client of PIPE, read its token into an lb_token_desc,
 * revert, and decide with lb_identity_from_token. LB_OK with *OUT; else
 * the lb_identity code (or LB_E_IO / LB_E_NOMEM) with a reason in WHY. */
int lb_win_peer_from_pipe(HANDLE pipe, struct lb_win_peer **out, char *why,
    size_t whylen) LB_WUR;
void lb_win_peer_free(struct lb_win_peer *p);
/* The two halves of lb_win_peer_from_pipe, so that the account lookups
 * (which on a domain member may wait for a domain controller) can run off
 * the service's loop: the client's token, opened while impersonating it
 * (kernel only, fast); then the description and the decision from that
 * token, which lb_win_peer_from_token owns from then on (closed on error,
 * kept in *OUT on success). */
int lb_win_client_token(HANDLE pipe, HANDLE *tok, char *why, size_t whylen) LB_WUR;
int lb_win_peer_from_token(HANDLE tok, struct lb_win_peer **out, char *why,
    size_t whylen) LB_WUR;
/* The account names lb_win_peer_from_pipe looked up: the process's cache
 * of LookupAccountSidW answers (service/lb_namecache.h), its counters and
 * size; and forgetting them. */
struct lb_namecache_stats;
void lb_win_names_stats(struct lb_namecache_stats *out, size_t *size);
void lb_win_names_clear(void);

/* ---- file-system work as the client (lb_fs_win.c) ---- */

/* open_parent / open_target while impersonating, create relative to the
 * parent handle as the service (NtCreateFile + FSCTL_SET_REPARSE_POINT,
 * FileLinkInformation), owner set to the client, remove, close, event. */
extern const struct lb_fs_ops lb_win_fs_ops;
/* Whether the client whose impersonation TOKEN this is may write a file
 * with the security descriptor SD (AccessCheck for FILE_WRITE_DATA): the
 * hard-link floor, decided without opening the file for writing. LB_OK,
 * LB_E_PERM, or LB_E_INVAL / LB_E_IO. */
int lb_win_client_may_write(HANDLE token, PSECURITY_DESCRIPTOR sd) LB_WUR;
/* A FILE_LINK_INFORMATION (winternl.h) naming NAME (NAME_BYTES of UTF-16)
 * relative to DIR, never smaller than the structure; *SIZE its size. */
struct _FILE_LINK_INFORMATION *lb_link_info_new(HANDLE dir, const wchar_t *name,
    USHORT name_bytes, ULONG *size);
/* Turn on RedirectionGuard (ProcessRedirectionTrustPolicy, enforce) for
 * this process, so its own file work never follows a junction a non-admin
 * made. LB_OK when Windows reports it back on; LB_E_UNSUPPORTED when this
 * Windows version (ERROR_INVALID_PARAMETER) or Wine (accepts it, reports it
 * off) does not have it: not fatal, the caller logs it; another LB_E_*
 * code on a real failure. */
int lb_win_redirection_guard(void) LB_WUR;

/* ---- admin files and the service key (lb_files_win.c) ---- */

/* Security descriptors (SDDL) the service puts on its files. */
#define LB_SDDL_DIR     L"D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
#define LB_SDDL_PRIVATE L"D:PAI(A;;FA;;;SY)(A;;FA;;;BA)"
#define LB_SDDL_PUBLIC  L"D:PAI(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;BU)"
/* The pipe: owned by SYSTEM (the client checks the owner: only SYSTEM, or
 * a holder of SeRestorePrivilege, may create an object owned by SYSTEM),
 * SYSTEM and Administrators full, Authenticated Users read and write (not
 * create instances: FILE_CREATE_PIPE_INSTANCE is left out). */
#define LB_SDDL_PIPE    L"O:SYD:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x0012019b;;;AU)"

/* PATH may be trusted as admin-written: a regular file whose owner is
 * SYSTEM, Administrators, TrustedInstaller or this process's own user, and
 * whose DACL lets nobody else write, append, delete, or change its owner
 * or DACL (same for its directory). */
int lb_win_check_admin_file(const char *path, char *err, size_t errlen) LB_WUR;
/* Create directory DIR (and missing parents up to an existing one) with
 * SDDL. An existing DIR gets SDDL applied (owner Administrators if not
 * trusted) only if it is %ProgramData%\LinkBroker itself (same file id);
 * any other existing folder is only checked and refused (LB_E_PERM) if
 * others may add, delete or rename entries in it or change its ACL. */
int lb_win_ensure_dir(const char *dir, const wchar_t *sddl, char *err, size_t errlen) LB_WUR;
/* Write LEN bytes to PATH atomically (temporary file, flush, MoveFileEx
 * replace) with the security descriptor SDDL. */
int lb_win_write_file(const char *path, const void *data, size_t len,
    const wchar_t *sddl, char *err, size_t errlen) LB_WUR;
/* Read, check (lb_win_check_admin_file) and load the policy at PATH;
 * its directory becomes a floor. Errors appended to ERR. */
int lb_win_load_policy(const char *path, struct lb_policy **out, struct lb_buf *err) LB_WUR;
/* Load the service key from SK_PATH, making it on first run (private
 * SDDL), and make sure PK_PATH holds the public key (public SDDL). */
int lb_win_service_key(const char *sk_path, const char *pk_path,
    uint8_t sk[LB_SK_BYTES], char *err, size_t errlen) LB_WUR;

/* ---- fleet policy: Group Policy's values (lb_gpo_win.c) ---- */

/* Where Group Policy (packaging/admx/linkbroker.admx) and MDM write the
 * service's settings, in the 64-bit view of HKEY_LOCAL_MACHINE. */
#define LB_GPO_SUBKEY L"SOFTWARE\\Policies\\LinkBroker"
#define LB_GPO_WHERE "HKLM\\SOFTWARE\\Policies\\LinkBroker"
/* A string value's longest text, in UTF-16 units, before and after
 * expansion: the ADMX text element's limit. */
#define LB_GPO_TEXT_MAX 1023

enum lb_gpo_index {
	LB_GPO_POLICY_FILE = 0,    /* PolicyFile, REG_SZ / REG_EXPAND_SZ: the policy file */
	LB_GPO_AUDIT_SYNC,         /* AuditSync, REG_SZ: [broker] audit_sync */
	LB_GPO_MAX_CLIENTS,        /* MaxClients, REG_DWORD: max_clients */
	LB_GPO_REQUESTS_PER_SEC,   /* RequestsPerSec, REG_DWORD: requests_per_sec */
	LB_GPO_REQUESTS_BURST,     /* RequestsBurst, REG_DWORD: requests_burst */
	LB_GPO_N
};

/* What the key holds. Each value as text (a DWORD in decimal, as the INI
 * would write it; PolicyFile expanded and canonical), NULL when absent. */
struct lb_win_gpo {
	int present;                /* the key exists */
	char where[200];            /* the key, for messages */
	char *value[LB_GPO_N];
};

/* Read ROOT\SUBKEY (LB_GPO_SUBKEY under HKEY_LOCAL_MACHINE; tests: a key
 * of their own), named WHERE in messages. A missing key or value is not
 * set; a value of the wrong type or size, too long, with a NUL inside,
 * not valid UTF-16, empty, or a PolicyFile that is not an absolute path
 * on a local drive is LB_E_CONFIG with "WHERE\NAME: why" in ERR (ranges
 * are lb_win_gpo_apply's). *OUT is all NULL on error. */
int lb_win_gpo_read(HKEY root, const wchar_t *subkey, const char *where,
    struct lb_win_gpo *out, struct lb_buf *err) LB_WUR;
void lb_win_gpo_free(struct lb_win_gpo *g);
/* Set G's [broker] settings in P with the INI loader's checks
 * (lb_policy_set_broker): LB_E_CONFIG at the first one out of range. */
int lb_win_gpo_apply(const struct lb_win_gpo *g, struct lb_policy *p, struct lb_buf *err) LB_WUR;
/* "PolicyFile = C:\x, MaxClients = 8" for the values G sets ("" if none). */
int lb_win_gpo_describe(const struct lb_win_gpo *g, struct lb_buf *out) LB_WUR;
/* The policy the service runs by, at start and at every reload: ROOT\SUBKEY
 * read, then the file its PolicyFile names (else CONFIG) loaded as
 * lb_win_load_policy loads it (admin-file checks, floors), then its
 * settings over the file's [broker]. Any invalid value fails it all
 * (never a silent fall-back to the file or CONFIG). *PATH (malloc'd) is
 * the file chosen, set also when only its load failed; NOTE (optional)
 * gets lb_win_gpo_describe's text. */
int lb_win_load_fleet_policy(HKEY root, const wchar_t *subkey, const char *where,
    const char *config, struct lb_policy **out, char **path, struct lb_buf *note,
    struct lb_buf *err) LB_WUR;
/* What says the key changed: whether it exists and its last write time
 * (any value set or deleted changes it). For the service's reload watch. */
struct lb_gpo_stamp {
	uint64_t present, write_time;
};
int lb_win_gpo_stamp(HKEY root, const wchar_t *subkey, struct lb_gpo_stamp *out) LB_WUR;

/* ---- work off the loop (lb_work_win.c) ---- */

/* A job for the file-system workers: FN runs on a worker thread; when it
 * returns, OV is posted to the port given to lb_win_workers_new. The
 * caller owns the job and may not free it before that completion. */
struct lb_win_job {
	OVERLAPPED ov;                  /* first: the port hands back &ov */
	void (*fn)(struct lb_win_job *j);
	void *ctx;                      /* the caller's */
	struct lb_win_job *next;        /* the pool's, under its lock */
	HANDLE thread;
	int state;
};
struct lb_win_workers;
/* Up to MAX_THREADS workers, started as jobs find none idle. */
int lb_win_workers_new(HANDLE iocp, ULONG_PTR key, size_t max_threads,
    struct lb_win_workers **out) LB_WUR;
int lb_win_workers_submit(struct lb_win_workers *w, struct lb_win_job *j) LB_WUR;
/* CancelSynchronousIo on J's thread if J is running now: 1 if it was. */
int lb_win_workers_cancel(struct lb_win_workers *w, struct lb_win_job *j);
/* Stop the workers, waiting WAIT_MS for each to finish its job; jobs
 * still queued never run. */
void lb_win_workers_free(struct lb_win_workers *w, DWORD wait_ms);
/* FN(CTX, i) for i in [0, N), on this thread and up to HELPERS threads of
 * the system pool; returns when all are done. */
void lb_win_parallel(void (*fn)(void *ctx, size_t i), void *ctx, size_t n, size_t helpers);

/* ---- the broker loop (lb_daemon_win.c) ---- */

struct lb_win_daemon;
/* Load the policy (CONFIG, or the file Group Policy names, with Group
 * Policy's settings over its own: lb_win_load_fleet_policy), the service
 * key and the audit log, and create the pipe. Problems are logged; LB_OK or an LB_E_* code. */
int lb_win_daemon_start(const char *config, struct lb_win_daemon **out) LB_WUR;
/* The same with file-system operations FS (tests: a file system that
 * stalls where Wine cannot). */
int lb_win_daemon_start_fs(const char *config, const struct lb_fs_ops *fs,
    struct lb_win_daemon **out) LB_WUR;
/* The same with Group Policy's values read from GPO_ROOT\GPO_SUBKEY
 * (named GPO_WHERE in messages) instead of LB_GPO_SUBKEY under HKLM
 * (tests: a key of their own under HKCU). */
int lb_win_daemon_start_gpo(const char *config, const struct lb_fs_ops *fs, HKEY gpo_root,
    const wchar_t *gpo_subkey, const char *gpo_where, struct lb_win_daemon **out) LB_WUR;
/* Tests: the function that describes a new client from its token
 * (lb_win_peer_from_token unless set), before the loop runs. */
void lb_win_daemon_set_identify(struct lb_win_daemon *d,
    int (*fn)(HANDLE tok, struct lb_win_peer **out, char *why, size_t whylen));
/* Serve until stopped; returns the process exit code. */
int lb_win_daemon_loop(struct lb_win_daemon *d);
/* From any thread (service control handler, console handler). */
void lb_win_daemon_stop(struct lb_win_daemon *d);
void lb_win_daemon_reload(struct lb_win_daemon *d);
/* Rotate the audit log (to AUDIT_LOG.1), from any thread. */
void lb_win_daemon_rotate(struct lb_win_daemon *d);
/* The service control code that asks for it (`linkbrokerd rotate`): a
 * user-defined one (128..255), which the service's DACL lets only SYSTEM
 * and administrators send (lb_win_service_dacl_admin_controls). */
#define LB_SVC_CONTROL_ROTATE 128
void lb_win_daemon_free(struct lb_win_daemon *d);

/* ---- commands (lb_svc_win.c) ---- */

int lb_win_cmd_run(int argc, char **argv);
int lb_win_cmd_install(int argc, char **argv);
int lb_win_cmd_uninstall(int argc, char **argv);
int lb_win_cmd_reload(int argc, char **argv);
int lb_win_cmd_rotate(int argc, char **argv);

#endif
