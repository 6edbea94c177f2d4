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
/* Where lb_win_log writes: FOREGROUND adds stderr. */
void lb_win_log_open(int foreground);
void lb_win_log_close(void);

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
/* The pipe: SYSTEM and Administrators full, Authenticated Users read and
 * write (not create instances: FILE_CREATE_PIPE_INSTANCE is left out). */
#define LB_SDDL_PIPE    L"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x0012019b;;;AU)"

/* PATH may be trusted as admin-written: a regular file whose owner is
 * SYSTEM, Administrators, TrustedInstaller or this process's own user, and
 * whose DACL lets nobody else write, append, delete, or change its owner
 * or DACL (same for its directory). */
int lb_win_check_admin_file(const char *path, char *err, size_t errlen) LB_WUR;
/* Create directory DIR (and missing parents up to an existing one) with
 * SDDL; an existing DIR gets SDDL applied. */
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

/* ---- the broker loop (lb_daemon_win.c) ---- */

struct lb_win_daemon;
/* Load the policy CONFIG, the service key and the audit log, and create
 * the pipe. Problems are logged; LB_OK or an LB_E_* code. */
int lb_win_daemon_start(const char *config, struct lb_win_daemon **out) LB_WUR;
/* Serve until stopped; returns the process exit code. */
int lb_win_daemon_loop(struct lb_win_daemon *d);
/* From any thread (service control handler, console handler). */
void lb_win_daemon_stop(struct lb_win_daemon *d);
void lb_win_daemon_reload(struct lb_win_daemon *d);
void lb_win_daemon_free(struct lb_win_daemon *d);

/* ---- commands (lb_svc_win.c) ---- */

int lb_win_cmd_run(int argc, char **argv);
int lb_win_cmd_install(int argc, char **argv);
int lb_win_cmd_uninstall(int argc, char **argv);
int lb_win_cmd_reload(int argc, char **argv);

#endif
