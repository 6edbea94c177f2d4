/* lb_err: the project's error codes, one table mapping each to a message and
 * to the exit code the commands return (design: 0 ok, 1 denied, 2 bad input,
 * 3 broker unreachable or not genuine, 4 operation failed). */
#ifndef LB_ERR_H
#define LB_ERR_H

enum lb_err {
	LB_OK = 0,
	/* generic */
	LB_E_NOMEM = -1,
	LB_E_INVAL = -2,        /* bad argument or bad input, no better code */
	LB_E_RANGE = -3,        /* number out of range */
	LB_E_TOOBIG = -4,       /* buffer would exceed its maximum */
	/* wire */
	LB_E_SHORT = -10,       /* message ends before a field does */
	LB_E_TRAILING = -11,    /* bytes after the last field */
	LB_E_FRAME_EMPTY = -12,
	LB_E_FRAME_TOO_LONG = -13,
	LB_E_VERSION = -14,
	LB_E_MSG_TYPE = -15,
	LB_E_BAD_FIELD = -16,   /* a field holds a value the protocol does not define */
	/* crypto */
	LB_E_SIG = -20,
	LB_E_BASE64 = -21,
	LB_E_CRYPTO_INIT = -22,
	/* paths */
	LB_E_PATH_EMPTY = -30,
	LB_E_PATH_CTRL = -31,
	LB_E_PATH_UTF8 = -32,
	LB_E_PATH_PREFIX = -33,
	LB_E_PATH_ADS = -34,
	LB_E_PATH_DEVICE = -35,
	LB_E_PATH_TRAILING = -36,
	LB_E_PATH_COMPONENT_LONG = -37,
	LB_E_PATH_LONG = -38,
	LB_E_PATH_RELATIVE = -39,
	LB_E_PATH_DRIVE_RELATIVE = -40,
	LB_E_PATH_ESCAPE = -41,
	LB_E_PATH_CHAR = -42,
	LB_E_PATH_UNC = -43,
	LB_E_PATH_SHORT_NAME = -44, /* an 8.3 short name where the long name cannot be checked */
	LB_E_PATH_DOTDOT_MISSING = -45, /* '..' after a component that does not exist (yet) */
	/* policy */
	LB_E_CONFIG = -50,
	LB_E_DENIED = -51,
	LB_E_EXPAND = -52,
	/* operations and transport (used by the broker) */
	LB_E_IO = -60,
	LB_E_EXISTS = -61,
	LB_E_UNSUPPORTED = -62,
	LB_E_UNREACHABLE = -63,
	LB_E_NOT_GENUINE = -64,
	LB_E_USAGE = -65,
	LB_E_PERM = -66,        /* the client may not do this on the file system */
	LB_E_NOENT = -67,       /* a directory on the way does not exist */
	LB_E_TIMEOUT = -68,
	LB_E_BUSY = -69,        /* too many clients */
	/* request checks (used by the broker) */
	LB_E_KEY_UNKNOWN = -70,
	LB_E_REPLAY = -71,
	LB_E_STALE = -72,
	LB_E_RATE = -73,
	LB_E_AUDIT = -74,
	LB_E_NOT_DIR = -75,
	LB_E_FS_TIMEOUT = -76,      /* the file system did not answer before the deadline */
	LB_E_SHARING = -77,         /* sharing violation: another program has the file open */
	LB_E_OPLOCK = -78,          /* another program's oplock is being broken */
	LB_E_MOVED = -79,           /* the link's folder moved between decision and creation */
	LB_E_REMOTE = -88,          /* a remote file system where only local ones are allowed */
	LB_E_CHANGED = -89,         /* rm: the name is no longer the link the broker made */
	LB_E_LAST_NAME = -90,       /* rm: a hard link that is its file's last name */
	LB_E_NOT_MADE = -91,        /* rm: the broker made no link there for this user */
	/* pipe client identity (Windows token checks, service/lb_identity.c) */
	LB_E_ID_LEVEL = -80,        /* anonymous or identification-level token */
	LB_E_ID_ANONYMOUS = -81,
	LB_E_ID_NETWORK = -82,
	LB_E_ID_INTEGRITY = -83,
	LB_E_ID_APPCONTAINER = -84,
	LB_E_ID_RESTRICTED = -85,
	LB_E_ID_SID = -86,          /* a SID in the token is missing or malformed */
};

enum lb_exit {
	LB_EXIT_OK = 0,
	LB_EXIT_DENIED = 1,
	LB_EXIT_BAD_INPUT = 2,
	LB_EXIT_UNREACHABLE = 3,
	LB_EXIT_FAILED = 4,
};

/* Message for an error code; never NULL ("unknown error" for codes not in the table). */
const char *lb_strerror(int err);
/* Exit code for an error code (LB_OK -> 0, unknown codes -> LB_EXIT_FAILED). */
int lb_exit_code(int err);

#if defined(__GNUC__) || defined(__clang__)
#define LB_WUR __attribute__((warn_unused_result))
#else
#define LB_WUR
#endif

#endif
