/* lb_err: the single code -> message -> exit code table. */
#include <stddef.h>

#include "lb_err.h"

struct lb_err_entry {
	int code;
	int exit_code;
	const char *msg;
};

static const struct lb_err_entry lb_err_table[] = {
	{ LB_OK, LB_EXIT_OK, "success" },
	{ LB_E_NOMEM, LB_EXIT_FAILED, "out of memory" },
	{ LB_E_INVAL, LB_EXIT_BAD_INPUT, "invalid input" },
	{ LB_E_RANGE, LB_EXIT_BAD_INPUT, "number out of range" },
	{ LB_E_TOOBIG, LB_EXIT_BAD_INPUT, "data exceeds its maximum size" },
	{ LB_E_SHORT, LB_EXIT_BAD_INPUT, "message is truncated" },
	{ LB_E_TRAILING, LB_EXIT_BAD_INPUT, "message has trailing bytes" },
	{ LB_E_FRAME_EMPTY, LB_EXIT_BAD_INPUT, "empty frame" },
	{ LB_E_FRAME_TOO_LONG, LB_EXIT_BAD_INPUT, "frame longer than 64 KiB" },
	{ LB_E_VERSION, LB_EXIT_BAD_INPUT, "unsupported protocol version" },
	{ LB_E_MSG_TYPE, LB_EXIT_BAD_INPUT, "unknown message type" },
	{ LB_E_BAD_FIELD, LB_EXIT_BAD_INPUT, "message field has an undefined value" },
	{ LB_E_SIG, LB_EXIT_BAD_INPUT, "signature does not verify" },
	{ LB_E_BASE64, LB_EXIT_BAD_INPUT, "invalid base64 key" },
	{ LB_E_CRYPTO_INIT, LB_EXIT_FAILED, "cannot initialise libsodium" },
	{ LB_E_PATH_EMPTY, LB_EXIT_BAD_INPUT, "path is empty" },
	{ LB_E_PATH_CTRL, LB_EXIT_BAD_INPUT, "path contains a NUL or control character" },
	{ LB_E_PATH_UTF8, LB_EXIT_BAD_INPUT, "path is not valid UTF-8" },
	{ LB_E_PATH_PREFIX, LB_EXIT_BAD_INPUT, "device and namespace prefixes (\\\\?\\, \\\\.\\, \\??\\) are not allowed" },
	{ LB_E_PATH_ADS, LB_EXIT_BAD_INPUT, "alternate data streams (name:stream) are not allowed" },
	{ LB_E_PATH_DEVICE, LB_EXIT_BAD_INPUT, "path names a DOS device (CON, NUL, AUX, PRN, COM1-9, LPT1-9)" },
	{ LB_E_PATH_TRAILING, LB_EXIT_BAD_INPUT, "path component ends with a dot or a space" },
	{ LB_E_PATH_COMPONENT_LONG, LB_EXIT_BAD_INPUT, "path component longer than 255 characters" },
	{ LB_E_PATH_LONG, LB_EXIT_BAD_INPUT, "path longer than the platform limit" },
	{ LB_E_PATH_RELATIVE, LB_EXIT_BAD_INPUT, "path must be absolute" },
	{ LB_E_PATH_DRIVE_RELATIVE, LB_EXIT_BAD_INPUT, "drive-relative paths (C:foo) are not allowed" },
	{ LB_E_PATH_ESCAPE, LB_EXIT_BAD_INPUT, "'..' climbs above the root" },
	{ LB_E_PATH_CHAR, LB_EXIT_BAD_INPUT, "path contains a character not allowed in Windows file names" },
	{ LB_E_PATH_UNC, LB_EXIT_BAD_INPUT, "malformed UNC path (expected \\\\server\\share)" },
	{ LB_E_PATH_SHORT_NAME, LB_EXIT_BAD_INPUT, "a path component looks like an 8.3 short name (PROGRA~1); write the long name" },
	{ LB_E_PATH_DOTDOT_MISSING, LB_EXIT_BAD_INPUT, "'..' after a component that does not exist: where it leads cannot be decided" },
	{ LB_E_CONFIG, LB_EXIT_BAD_INPUT, "invalid policy" },
	{ LB_E_DENIED, LB_EXIT_DENIED, "denied by policy" },
	{ LB_E_EXPAND, LB_EXIT_BAD_INPUT, "cannot expand a policy variable" },
	{ LB_E_IO, LB_EXIT_FAILED, "input/output error" },
	{ LB_E_EXISTS, LB_EXIT_FAILED, "a file already exists at the link path" },
	{ LB_E_UNSUPPORTED, LB_EXIT_FAILED, "not supported by this file system" },
	{ LB_E_UNREACHABLE, LB_EXIT_UNREACHABLE, "broker unreachable" },
	{ LB_E_NOT_GENUINE, LB_EXIT_UNREACHABLE, "broker is not genuine" },
	{ LB_E_USAGE, LB_EXIT_BAD_INPUT, "usage error" },
	{ LB_E_PERM, LB_EXIT_FAILED, "permission denied" },
	{ LB_E_NOENT, LB_EXIT_FAILED, "no such file or directory" },
	{ LB_E_TIMEOUT, LB_EXIT_UNREACHABLE, "timed out waiting for the broker" },
	{ LB_E_BUSY, LB_EXIT_UNREACHABLE, "broker busy: too many clients" },
	{ LB_E_KEY_UNKNOWN, LB_EXIT_DENIED, "the signing key is not enrolled for this user" },
	{ LB_E_REPLAY, LB_EXIT_BAD_INPUT, "replayed request (nonce already seen)" },
	{ LB_E_STALE, LB_EXIT_BAD_INPUT, "request timestamp outside the allowed clock skew" },
	{ LB_E_RATE, LB_EXIT_FAILED, "too many requests; try again later" },
	{ LB_E_AUDIT, LB_EXIT_FAILED, "the audit log cannot be written; the broker refuses requests" },
	{ LB_E_NOT_DIR, LB_EXIT_FAILED, "not a directory" },
	{ LB_E_FS_TIMEOUT, LB_EXIT_FAILED, "the file system did not answer in time (a slow or unresponsive folder, file or share); nothing was made" },
	{ LB_E_SHARING, LB_EXIT_FAILED, "the file is in use by another program (sharing violation)" },
	{ LB_E_OPLOCK, LB_EXIT_FAILED, "another program holds the file (its opportunistic lock is being broken); try again" },
	{ LB_E_MOVED, LB_EXIT_FAILED, "the link's folder was moved while the link was being made; nothing was left" },
	{ LB_E_CHANGED, LB_EXIT_FAILED, "it is not the link the broker made any more (changed or replaced since); nothing was removed" },
	{ LB_E_LAST_NAME, LB_EXIT_FAILED, "this hard link is the file's last name: removing it would delete the file; nothing was removed" },
	{ LB_E_NOT_MADE, LB_EXIT_DENIED, "the broker made no link there for you" },
	{ LB_E_REMOTE, LB_EXIT_DENIED, "links are created only on local drives (this folder is on a remote file system)" },
	{ LB_E_ID_LEVEL, LB_EXIT_DENIED, "the client allows only anonymous or identification-level impersonation; the broker needs impersonation level" },
	{ LB_E_ID_ANONYMOUS, LB_EXIT_DENIED, "anonymous clients are refused" },
	{ LB_E_ID_NETWORK, LB_EXIT_DENIED, "network logons are refused; run linkbroker in a local logon session" },
	{ LB_E_ID_INTEGRITY, LB_EXIT_DENIED, "the client runs below medium integrity" },
	{ LB_E_ID_APPCONTAINER, LB_EXIT_DENIED, "AppContainer (sandboxed) clients are refused" },
	{ LB_E_ID_RESTRICTED, LB_EXIT_DENIED, "restricted tokens are refused" },
	{ LB_E_ID_SID, LB_EXIT_FAILED, "the client's token holds a missing or malformed SID" },
};

static const struct lb_err_entry *
lb_err_find(int err)
{
	size_t i;

	for (i = 0; i < sizeof(lb_err_table) / sizeof(lb_err_table[0]); i++)
		if (lb_err_table[i].code == err)
			return &lb_err_table[i];
	return NULL;
}

const char *
lb_strerror(int err)
{
	const struct lb_err_entry *e = lb_err_find(err);

	return e != NULL ? e->msg : "unknown error";
}

int
lb_exit_code(int err)
{
	const struct lb_err_entry *e = lb_err_find(err);

	return e != NULL ? e->exit_code : LB_EXIT_FAILED;
}
