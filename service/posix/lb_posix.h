/* lb_posix: the POSIX daemon's own modules (peer identity, file-system work
 * as the client, safe admin files, service key, commands) behind one header. */
#ifndef LB_POSIX_H
#define LB_POSIX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Relative so that a unit test can compile these files without the
 * linkbrokerd target's include directories. */
#include "../lb_broker.h"

/* ---- peer identity (lb_peer_posix.c) ---- */

/* The client's file-system credentials, from the account database. */
struct lb_posix_cred {
	uid_t uid;
	gid_t gid;             /* primary group (passwd) */
	gid_t *gids;           /* supplementary groups (getgrouplist, includes gid) */
	size_t n_gids;
};

/* A connected client: what the broker sees (peer) and what the file-system
 * code uses (cred, reached through peer.plat). Owns all its strings. */
struct lb_posix_peer {
	struct lb_peer peer;
	struct lb_posix_cred cred;
	char *user;
	char *home;
	char sid[24];          /* uid as decimal */
	struct lb_group *groups;
	char **group_names;
	size_t n_groups;
	unsigned refs;         /* the connections and the cache holding it */
};

/* The uid of the process that connected socket FD (SO_PEERCRED). A peer
 * whose uid or gid does not map into our user namespace (reported as the
 * overflow id) is LB_E_PERM. */
int lb_posix_peer_uid(int fd, uid_t *uid, char *err, size_t errlen) LB_WUR;
/* Identity of UID from the account database: name, home, groups. A uid
 * without a passwd entry is LB_E_PERM (identity must be a real account). */
int lb_posix_peer_from_uid(uid_t uid, struct lb_posix_peer **out,
    char *err, size_t errlen) LB_WUR;
/* Drop a reference (the last one frees it). Safe on NULL. */
void lb_posix_peer_free(struct lb_posix_peer *p);

/* Recent account lookups, by uid. The uid itself always comes from the
 * kernel at each connection; only what the account database says of it
 * (name, home, groups) is reused, for LB_PEER_CACHE_MS at most and never
 * once /etc/passwd or /etc/group changed. An account lookup costs ~0.2 ms
 * here (nss files + systemd), a third of a whole request. */
#define LB_PEER_CACHE_SLOTS 64
#define LB_PEER_CACHE_MS 2000
struct lb_posix_peer_cache {
	struct lb_posix_peer *peer[LB_PEER_CACHE_SLOTS];
	int64_t born[LB_PEER_CACHE_SLOTS];      /* monotonic ms */
	uint64_t files[2][6];                   /* /etc/passwd, /etc/group: stat fingerprint */
	const char *watch[2];                   /* other files instead of those (tests) */
};
/* lb_posix_peer_from_uid through the cache: *OUT is a reference to free
 * with lb_posix_peer_free. NOW_MS is a monotonic clock. Failed lookups are
 * not cached. */
int lb_posix_peer_lookup(struct lb_posix_peer_cache *pc, uid_t uid, int64_t now_ms,
    struct lb_posix_peer **out, char *err, size_t errlen) LB_WUR;
void lb_posix_peer_cache_clear(struct lb_posix_peer_cache *pc);

/* ---- file-system work as the client (lb_fs_posix.c) ---- */

/* open_parent, open_target, create, remove, close, event (syslog). */
extern const struct lb_fs_ops lb_posix_fs_ops;
/* errno -> LB_E_* as the fs ops report it (docs/linux-daemon.md). */
int lb_posix_errno(int e);

/* ---- the system's log (lb_log_posix.c) ---- */

/* openlog as linkbrokerd (LOG_AUTHPRIV); FOREGROUND: every line to stderr too. */
void lb_posix_log_open(int foreground);
/* EV to journald with its fields (built with libsystemd, journald there),
 * else to syslog; its priority from its id (docs/audit.md). */
void lb_posix_log_event(const struct lb_event *ev);
/* The daemon's own event ID, its text from FMT. */
void lb_posix_log(enum lb_event_id id, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- admin files (lb_files_posix.c) ---- */

/* PATH must be a regular file owned by root that only root can write, in a
 * directory owned by root that only root can write; every further ancestor
 * owned by root and not group/other-writable unless sticky. On success
 * *real is its malloc'd realpath. */
int lb_posix_check_admin_file(const char *path, char **real,
    char *err, size_t errlen) LB_WUR;
/* Make sure DIR exists as a root-owned directory not writable by group or
 * others; create it with MODE if missing (its parent must exist). */
int lb_posix_ensure_dir(const char *dir, mode_t mode, char *err, size_t errlen) LB_WUR;
/* Ensure the parent directory of FILE (see lb_posix_ensure_dir). */
int lb_posix_ensure_parent(const char *file, mode_t mode, char *err, size_t errlen) LB_WUR;
/* Write LEN bytes to PATH atomically (temporary file in the same
 * directory, fsync, rename), root-owned with MODE. */
int lb_posix_write_file(const char *path, const void *data, size_t len,
    mode_t mode, char *err, size_t errlen) LB_WUR;
/* Read and load the policy at PATH the way the daemon does: admin-file
 * checks, lb_policy_load_buffer, and its directory as a floor. Errors are
 * appended to ERR ("FILE:LINE: message" for policy errors). */
int lb_posix_load_policy(const char *path, struct lb_policy **out, struct lb_buf *err) LB_WUR;

/* ---- service key (lb_key_posix.c) ---- */

/* Load the service key from SK_PATH, making it on first run, and make sure
 * PK_PATH holds the matching public key (see docs/linux-daemon.md). */
int lb_posix_service_key(const char *sk_path, const char *pk_path,
    uint8_t sk[LB_SK_BYTES], char *err, size_t errlen) LB_WUR;

/* ---- commands ---- */

int lb_cmd_run(int argc, char **argv);        /* lb_daemon_posix.c */
int lb_cmd_install(int argc, char **argv);    /* lb_install_posix.c */
int lb_cmd_uninstall(int argc, char **argv);  /* lb_install_posix.c */
int lb_cmd_rotate(int argc, char **argv);     /* lb_rotate_posix.c */

/* ---- worker threads (lb_pool_posix.c) ---- */

/* THREADS helper threads (fewer if they cannot be made, at most 7). */
struct lb_pool;
int lb_pool_new(size_t threads, struct lb_pool **out) LB_WUR;
size_t lb_pool_threads(const struct lb_pool *p);
/* FN(CTX, i) for every i below N, spread over the helpers and the caller;
 * returns once all are done. Inline without helpers or for fewer than 2
 * items. FN must touch nothing shared without its own lock. */
void lb_pool_run(struct lb_pool *p, void (*fn)(void *ctx, size_t i), void *ctx, size_t n);
void lb_pool_free(struct lb_pool *p);

/* ---- file-system work off the loop (lb_work_posix.c) ---- */

/* A task: FN(T) runs on a worker; embed it first in what the task needs. */
struct lb_task {
	struct lb_task *next;                  /* the pool's */
	void (*fn)(struct lb_task *t);
};
struct lb_work;
/* The queue waits this long with no idle worker before one more starts. */
#define LB_WORK_GROW_MS 20
/* Up to BASE workers as tasks come, up to MAX when those are stuck. */
int lb_work_new(size_t base, size_t max, struct lb_work **out) LB_WUR;
/* Readable (poll) when tasks have finished: take them with lb_work_done. */
int lb_work_fd(const struct lb_work *w);
/* Queue T (the caller's until lb_work_done hands it back). LB_E_NOMEM:
 * no worker could be started at all, T is not queued. */
int lb_work_submit(struct lb_work *w, struct lb_task *t) LB_WUR;
/* Each turn of the loop: one more worker if the queue has waited
 * LB_WORK_GROW_MS with none idle (1 if started). *NEXT_MS: when to call
 * again (monotonic ms), -1 if nothing waits. */
int lb_work_grow(struct lb_work *w, int64_t now_ms, int64_t *next_ms);
/* The finished tasks, in the order they finished (NULL: none). */
struct lb_task *lb_work_done(struct lb_work *w);
size_t lb_work_threads(const struct lb_work *w);
size_t lb_work_busy(const struct lb_work *w);   /* queued or running */
int64_t lb_work_now_ms(void);
/* Stop: queued tasks are dropped (never run), running ones waited for
 * up to 2 s. LB_E_BUSY: some are still running (stuck in the kernel);
 * the pool and those tasks are left to them (the process is exiting). */
int lb_work_free(struct lb_work *w);

#endif
