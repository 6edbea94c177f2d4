/* linkbroker.h: the LinkBroker client library (liblinkbroker). Asks the
 * broker to create links where its policy allows, signed with the user's
 * key, and checks that each answer is the genuine broker's.
 *
 * One handle (struct linkbroker) holds a connection, the user's key and
 * the current directory it resolves relative paths against (taken on
 * first use). Calls on one handle are serialized by a lock inside it, so a
 * handle may be shared between threads; distinct handles are independent.
 * The library keeps no other state, never exits, prints nothing and
 * installs no signal handler. A handle must not be used in a child after
 * fork(): open a new one there.
 *
 * Every function that can fail returns LINKBROKER_OK (0) or a negative
 * LINKBROKER_E_* code; linkbroker_strerror() says what it means and
 * linkbroker_exit_code() maps it to the exit code of the linkbroker
 * command (0 ok, 1 denied, 2 bad input, 3 broker unreachable or not
 * genuine, 4 the operation failed). Codes not listed here may appear; treat
 * them by their exit code. ABI: soname liblinkbroker.so.1, symbols at
 * version LINKBROKER_1; linkbroker.dll on Windows. See linkbroker(3). */
#ifndef LINKBROKER_H
#define LINKBROKER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(LINKBROKER_BUILDING_DLL)
#define LINKBROKER_API __declspec(dllexport)
#elif defined(_WIN32) && defined(LINKBROKER_DLL)
#define LINKBROKER_API __declspec(dllimport)
#elif defined(__GNUC__)
#define LINKBROKER_API __attribute__((visibility("default")))
#else
#define LINKBROKER_API
#endif

#define LINKBROKER_VERSION_MAJOR 1
#define LINKBROKER_VERSION_MINOR 0

/* The kinds of link (mklink's default, /D, /H, /J). */
enum linkbroker_kind {
	LINKBROKER_SYMLINK = 1,      /* file symbolic link; the target is kept as given */
	LINKBROKER_DIRSYMLINK = 2,   /* directory symbolic link (Windows; a symlink elsewhere) */
	LINKBROKER_HARDLINK = 3,     /* the target is resolved against the current directory */
	LINKBROKER_JUNCTION = 4,     /* Windows only; the target is resolved likewise */
};

/* The codes a caller is most likely to act on (same values as the wire's
 * status codes, docs/protocol.md). */
enum linkbroker_code {
	LINKBROKER_OK = 0,
	LINKBROKER_E_NOMEM = -1,
	LINKBROKER_E_INVAL = -2,          /* a bad argument (a NULL path, an unknown kind) */
	LINKBROKER_E_DENIED = -51,        /* the policy does not allow it */
	LINKBROKER_E_IO = -60,
	LINKBROKER_E_EXISTS = -61,        /* something already exists at the link path */
	LINKBROKER_E_UNSUPPORTED = -62,   /* not on this file system or platform */
	LINKBROKER_E_UNREACHABLE = -63,   /* no broker at the endpoint */
	LINKBROKER_E_NOT_GENUINE = -64,   /* the answer is not signed by the service key */
	LINKBROKER_E_USAGE = -65,
	LINKBROKER_E_PERM = -66,          /* the user may not do this on the file system */
	LINKBROKER_E_NOENT = -67,         /* a directory on the way does not exist, or no key */
	LINKBROKER_E_TIMEOUT = -68,
	LINKBROKER_E_BUSY = -69,          /* the broker stayed full for the retry time */
	LINKBROKER_E_KEY_UNKNOWN = -70,   /* the user's key is not enrolled in the policy */
	LINKBROKER_E_RATE = -73,          /* over the rate limit for the retry time */
	LINKBROKER_E_NOT_DIR = -75,       /* a component of the link's folder is not a directory */
	LINKBROKER_E_FS_TIMEOUT = -76,    /* the file system did not answer the broker in time */
	LINKBROKER_E_CHANGED = -89,       /* remove: not the link the broker made any more */
	LINKBROKER_E_LAST_NAME = -90,     /* remove: a hard link that is its file's last name */
	LINKBROKER_E_NOT_MADE = -91,      /* remove: the broker made no link there for this user */
};

/* Where a batch request stands when its result is delivered. */
enum linkbroker_state {
	LINKBROKER_ANSWERED = 0,     /* STATUS/ALLOWED are the outcome */
	LINKBROKER_UNANSWERED = 1,   /* sent, and the batch stopped before its answer:
	                                the broker may have made the link */
	LINKBROKER_NOT_SENT = 2,     /* the batch stopped before it was sent (or resent) */
};

/* The outcome of one request. The strings are NUL-terminated (the
 * lengths exclude the NUL; they stop at an embedded NUL) and live until
 * the next call on the handle (batch: until the callback returns). They
 * may hold any bytes from paths: escape them before showing them. */
struct linkbroker_result {
	int status;             /* LINKBROKER_OK: the broker answered ALLOWED; else why not */
	int allowed;            /* 1: the policy allows it (create: and the link was made) */
	int exit_code;          /* what the linkbroker command exits with for this result */
	int state;              /* enum linkbroker_state */
	int stopped;            /* batch: this failure stopped the batch */
	const char *rule;       /* the rule that decided; "" if none */
	size_t rule_len;
	const char *message;    /* the broker's or the library's explanation; "" if none */
	size_t message_len;
};

/* One request of a batch. CHECK: only ask whether it would be allowed. */
struct linkbroker_request {
	int kind;               /* enum linkbroker_kind */
	int check;
	const char *link;       /* relative: to the handle's current directory */
	const char *target;
};

struct linkbroker;

/* A handle. ENDPOINT (NULL: $LINKBROKER_ENDPOINT, else the platform
 * default) is the broker's socket or pipe; SERVICE_KEY (NULL:
 * $LINKBROKER_SERVICE_KEY, else the platform default) the file holding the
 * service's public key. Nothing is connected or read until the first
 * request. */
LINKBROKER_API int linkbroker_open(struct linkbroker **out, const char *endpoint,
    const char *service_key);
/* Safe on NULL. */
LINKBROKER_API void linkbroker_close(struct linkbroker *h);

/* Ask the broker to create (linkbroker_create) or only judge
 * (linkbroker_check) a link of KIND at LINK pointing to TARGET, as the
 * linkbroker command does. Returns LINKBROKER_OK if it was made
 * (allowed), LINKBROKER_E_DENIED if the policy denies it, else the error;
 * RES (may be NULL) gets the details. Busy and rate-limit answers are
 * retried for up to 5 s. */
LINKBROKER_API int linkbroker_create(struct linkbroker *h, int kind, const char *link,
    const char *target, struct linkbroker_result *res);
LINKBROKER_API int linkbroker_check(struct linkbroker *h, int kind, const char *link,
    const char *target, struct linkbroker_result *res);

/* Is the broker there and genuine, and is this user's key enrolled:
 * LINKBROKER_OK (enrolled), LINKBROKER_E_KEY_UNKNOWN (genuine, not
 * enrolled; also when the user has no key yet), or why it could not tell.
 * RES->message is the broker's "who am I" text. */
LINKBROKER_API int linkbroker_status(struct linkbroker *h, struct linkbroker_result *res);

/* Remove LINK, a link the broker made for this user, if it is still the
 * one it made and the policy would let it make it now (as `linkbroker
 * rm`): LINKBROKER_OK removed, LINKBROKER_E_DENIED, else why not. RES->message
 * says what was removed. */
LINKBROKER_API int linkbroker_remove(struct linkbroker *h, const char *link,
    struct linkbroker_result *res);
/* One page of the links the broker made for this user and has not
 * removed (as `linkbroker list`), under PREFIX (NULL: all), after CURSOR
 * (NULL or "": from the first): LINKBROKER_OK with RES->message one JSON
 * object per line (docs/protocol.md, "Lists") and RES->rule the next
 * page's cursor ("" after the last). */
LINKBROKER_API int linkbroker_list_page(struct linkbroker *h, const char *prefix,
    const char *cursor, struct linkbroker_result *res);

/* Called with each request's result, in the order of the requests, once
 * for each: INDEX is its position in the array. */
typedef void linkbroker_result_fn(void *arg, size_t index, const struct linkbroker_result *res);

/* N requests pipelined over one connection (as linkbroker batch does).
 * Returns LINKBROKER_OK when every request got its result (each may be a
 * denial or a failure), else the error that stopped the batch: the results
 * of the requests after it then say UNANSWERED or NOT_SENT. */
LINKBROKER_API int linkbroker_batch(struct linkbroker *h, const struct linkbroker_request *rq,
    size_t n, linkbroker_result_fn *fn, void *arg);

/* While the broker paces a batch (rate limit), FN (NULL: none) is called
 * at most once a second with how many results were delivered. */
typedef void linkbroker_progress_fn(void *arg, size_t delivered);
LINKBROKER_API void linkbroker_set_progress(struct linkbroker *h, linkbroker_progress_fn *fn,
    void *arg);

/* The endpoint and service key file the handle uses. */
LINKBROKER_API const char *linkbroker_endpoint(const struct linkbroker *h);
LINKBROKER_API const char *linkbroker_service_key_file(const struct linkbroker *h);

/* The user's public key in base64 (44 characters and a NUL) into B64:
 * LINKBROKER_OK, LINKBROKER_E_NOENT if the user has no key yet, else why
 * it cannot be read (RES-less: linkbroker_strerror). */
LINKBROKER_API int linkbroker_public_key(struct linkbroker *h, char b64[45]);

/* Never NULL. */
LINKBROKER_API const char *linkbroker_strerror(int code);
LINKBROKER_API int linkbroker_exit_code(int code);
/* "1.0.0" */
LINKBROKER_API const char *linkbroker_version(void);

#ifdef __cplusplus
}
#endif

#endif
