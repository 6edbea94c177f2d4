/* lb_audit: the tamper-evident audit log: one JSON line per decision, each
 * carrying the BLAKE2b hash of the previous line (prev) and of itself (hash),
 * written before the client is answered; and its offline verifier. */
#ifndef LB_AUDIT_H
#define LB_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "lb_buf.h"
#include "lb_err.h"
#include "lb_json.h"
#include "lb_policy.h"
#include "lb_sig.h"
#include "lb_wire.h"

/* Longest line, its newline included. The largest record the broker can
 * make (two 32 KiB request paths and two resolved paths at up to 6 bytes
 * per escaped byte, a 64 KiB request in base64, a token's groups) fits. */
#define LB_AUDIT_LINE_MAX (4u * 1024 * 1024)
/* Most groups one record lists (Linux NGROUPS_MAX; Windows tokens hold
 * about 1000). */
#define LB_AUDIT_GROUPS_MAX 65536

/* A refused request whose paths are longer than this keeps only their
 * first LB_AUDIT_PATH_KEEP bytes, their lengths and the BLAKE2b of the
 * signed request (not the request itself): a 64 KiB request of control
 * bytes, six bytes each when escaped, made 470 KB of log. verify-audit
 * holds a refused batch entry's paths to the same rule. */
#define LB_AUDIT_PATH_KEEP 256

/* What the platform gives the log: an append-only file, opened in binary
 * mode (no CRLF translation). */
struct lb_audit_io {
	void *ctx;
	/* Append all N bytes (LB_OK) or fail (LB_E_IO); never a partial line
	 * reported as success. After a failure the file must hold no part of
	 * the line (the platform cuts it back to its old length), because the
	 * next append writes the same record again; a platform that cannot
	 * ensure that must fail every later append too. */
	int (*append)(void *ctx, const void *p, size_t n);
	/* fdatasync / FlushFileBuffers. May be NULL (nothing to make durable). */
	int (*sync)(void *ctx);
	/* Optional (may be NULL): the current length of the file that append
	 * writes to. lb_audit_open then checks it read exactly that many bytes
	 * from PATH, so the chain never continues from some other file (e.g. a
	 * non-ASCII PATH that stdio cannot open on Windows). */
	int (*size)(void *ctx, uint64_t *size);
	/* Optional (may be NULL): after a failed sync, write P[0..N) again at
	 * offset OFF (what this process appended since its last good sync),
	 * cut the file to OFF + N and sync (LB_OK only if all of that
	 * worked), so those bytes are known to be on disk again. Without it a
	 * failed sync refuses every later append until the log is reopened. */
	int (*rewrite)(void *ctx, uint64_t off, const void *p, size_t n);
	/* Optional (may be NULL): a short text saying why the last append,
	 * sync or rewrite failed (e.g. strerror), for the broker's message. */
	const char *(*why)(void *ctx);
};

/* One decision. Strings may be NULL (written as null); byte strings from
 * the request (link, target) are written JSON-escaped (lb_json.h: invalid
 * UTF-8 as \udcNN per byte, terminal and bidi controls as \uXXXX), so any
 * line stays one valid JSON line and the bytes can be recovered exactly;
 * the signed request itself is kept in base64 as the authoritative copy.
 * A group is written as its name, else its SID, else null. */
struct lb_audit_rec {
	const char *event;          /* "create" "check" "status" "reject"
	                               ("recovery": lb_audit_open's own) */
	const char *verdict;        /* "allowed" "denied" "failed" */
	const char *user;
	const char *sid;            /* SID, or the uid as decimal on POSIX */
	const struct lb_group *groups;  size_t n_groups;
	enum lb_kind kind;
	const char *link;   size_t link_len;     /* as asked */
	const char *target; size_t target_len;   /* as asked */
	const char *link_resolved;               /* as decided on (final path) */
	const char *target_resolved;
	const char *rule;           /* deciding rule name */
	const char *reason;         /* human text: why denied or failed */
	int error;                  /* LB_OK or LB_E_* */
	const char *key_name;       /* [key:NAME] that signed, if enrolled */
	const uint8_t *request;  size_t request_len;  /* signed body, for verify-audit */
	const uint8_t *sig;         /* LB_SIG_BYTES, or NULL */
	/* An entry of a batch: the BLAKE2b-256 of the batch's signed body
	 * (stored once, in its "batch" record) and the entry's index in it;
	 * written as "batch" and "index" after "sig". NULL: not in a batch. */
	const uint8_t *batch;       /* LB_HASH_BYTES, or NULL */
	uint32_t index;
	/* A "made" record: the identity of the link just made, as the file
	 * system reports it (lb_file_id_ok), written as "file" after "sig"
	 * (and "batch"/"index"). NULL: none, the key is left out. */
	const char *file;
};

/* A file's identity: POSIX "DEV:INO" in decimal, Windows
 * "VOLUME:FILEINDEX" in lower-case hex (the volume serial number and the
 * 64-bit file index of GetFileInformationByHandle). At most
 * LB_FILE_ID_MAX - 1 characters, digits, a-f and one ':' between two
 * non-empty parts. */
#define LB_FILE_ID_MAX 48
int lb_file_id_ok(const char *s, size_t n) LB_WUR;

struct lb_audit;

/* Open the log: read the existing file at PATH (if any) to find the last
 * sequence number and hash so the chain continues. For each existing record
 * whose request timestamp is >= SINCE, call ON_RECORD(ctx, key, nonce,
 * timestamp) so the broker can rebuild its replay cache after a restart.
 * IO is used for all later writes.
 * A missing file (or PATH NULL) starts a new chain at seq 1. Nothing is
 * verified here (verify-audit does that), but every line must parse, with
 * one exception, the bytes a crash left at the end (docs/audit.md,
 * "Start-up and torn lines"): a last line without its newline and complete
 * lines after the last record that do not parse. Those are kept as
 * evidence and sealed before this returns: a newline ends them and a
 * recovery record (event "recovery", naming their offset, length and
 * BLAKE2b) continues the chain from the last record, appended and synced
 * through IO. (A last line that parses lacks only its newline: that is
 * appended, and it counts as a record.) A line that does not parse
 * anywhere else, unless the recovery record right after it seals it, is
 * LB_E_AUDIT, as is a failed append or sync. LB_E_IO if the file cannot
 * be read. ON_RECORD may be NULL. */
int lb_audit_open(const char *path, struct lb_audit_io io, uint64_t since,
    void (*on_record)(void *ctx, const uint8_t key[LB_PK_BYTES],
        const uint8_t nonce[LB_NONCE_BYTES], uint64_t timestamp),
    void *ctx, struct lb_audit **out) LB_WUR;

/* lb_audit_open with what a daemon knows: PATH the log, PREV_PATH the
 * name rotation gives the file before it (PATH.1; may be NULL). Start-up
 * reads only the log's tail: the records from the last one stamped before
 * SINCE - WINDOW_S (a request stamped at SINCE or later was decided at
 * SINCE - WINDOW_S or later, the broker refusing any further off its clock)
 * to the end, so it takes the same time for a 1 GB log as for a small one;
 * a bad line further back is verify-audit's to find. If PATH holds no
 * record, or its first record continues from an earlier file and is
 * recent, PREV_PATH's tail is read too (read only): for recent requests,
 * and, if PATH holds none, for the head to continue from, which the first
 * record of PATH (event "reopen") then names. WINDOW_S 0: read it all. */
struct lb_audit_start {
	const char *path;
	const char *prev_path;
	uint64_t since;
	uint64_t window_s;
};
int lb_audit_open_tail(const struct lb_audit_start *st, struct lb_audit_io io,
    void (*on_record)(void *ctx, const uint8_t key[LB_PK_BYTES],
        const uint8_t nonce[LB_NONCE_BYTES], uint64_t timestamp),
    void *ctx, struct lb_audit **out) LB_WUR;

/* Rotation (docs/audit.md, "Rotation"). lb_audit_end_file appends and
 * syncs the last record of the current file (event "rotate", naming NEXT,
 * the file the log continues in); the platform then points IO's append at
 * the new, empty file, and lb_audit_begin_file appends and syncs that
 * file's first record (event "reopen"): seq continues, prev is the old
 * file's last hash, and its reason names both, "continues the log from seq
 * N hash HEX: WHY". FAILED: the reopen is not a rotation but damage the
 * broker noticed (the file deleted or truncated under it): verdict
 * "failed", error LB_E_AUDIT. LB_E_AUDIT on any failure (as
 * lb_audit_append; lb_audit_begin_file may be called again). The new
 * file's length is IO's size (0 without it): nothing of the old file is
 * kept for a repair. */
int lb_audit_end_file(struct lb_audit *a, const char *next, uint64_t now) LB_WUR;
int lb_audit_begin_file(struct lb_audit *a, const char *why, int failed,
    uint64_t now) LB_WUR;

/* Append one record (seq, UTC time, prev, hash added here). SYNC_NOW makes
 * it durable before returning (audit_sync = always). LB_OK only if the whole
 * line was written: the caller answers the client only then (fail closed).
 * Any failure is LB_E_AUDIT. If the line could not be formatted or
 * appended, nothing changed and the next append uses the same seq and prev.
 * If it was appended but the sync failed, what is on disk is unknown: the
 * log refuses every later append until lb_audit_repair has written again
 * and synced what is not known to be on disk (tried here first, at most
 * once per second), or, without lb_audit_io.rewrite, until it is closed
 * and opened again. */
int lb_audit_append(struct lb_audit *a, const struct lb_audit_rec *rec,
    uint64_t now, int sync_now) LB_WUR;
/* The N records at RECS, chained in order, in one append (a batch's
 * records: all of them or none); *FIRST := the first one's seq (may be
 * NULL). The same failure rules as lb_audit_append. */
int lb_audit_append_n(struct lb_audit *a, const struct lb_audit_rec *recs, size_t n,
    uint64_t now, uint64_t *first) LB_WUR;
/* Make everything appended so far durable (audit_sync = batch timer).
 * A failure (LB_E_AUDIT) also makes later appends fail, as above, until
 * lb_audit_repair succeeds; while so, this fails at once. */
int lb_audit_sync(struct lb_audit *a) LB_WUR;
/* After a failed sync: write again what was appended since the last good
 * sync and sync it (lb_audit_io.rewrite), at most once per second of NOW
 * (lb_audit_append tries it too). LB_OK if the log is sound (nothing to
 * repair, or repaired), else LB_E_AUDIT. docs/audit.md, "Failures". */
int lb_audit_repair(struct lb_audit *a, uint64_t now) LB_WUR;
/* Bytes this log's file holds as far as this process wrote them (read at
 * open, plus every append): the difference across an append is that
 * record's size. */
uint64_t lb_audit_bytes(const struct lb_audit *a);
/* Why the log last failed (lb_audit_io.why), or a generic text. */
const char *lb_audit_why(const struct lb_audit *a);
/* Whether record SEQ (and all before it) was made durable by a sync of
 * this process (records found at open count once synced again). */
int lb_audit_durable(const struct lb_audit *a, uint64_t seq) LB_WUR;
/* The last record written or found (seq 0 and a zero hash if none): e.g.
 * for the Event Log / syslog summary, an anchor kept outside the file. */
void lb_audit_head(const struct lb_audit *a, uint64_t *seq,
    uint8_t hash[LB_HASH_BYTES]);
/* Whether lb_audit_open sealed a torn write: 1 with the record it wrote
 * (its seq) and the evidence it names (offset and length in the file),
 * else 0. Any output may be NULL. */
int lb_audit_recovered(const struct lb_audit *a, uint64_t *seq, uint64_t *offset,
    uint64_t *len);
/* Frees A; does not sync (call lb_audit_sync first). */
void lb_audit_close(struct lb_audit *a);

/* Verify the log at PATH: the hash chain, sequence numbers, that a stored
 * request decodes and matches the record's kind, link and target and, if
 * POLICY is not NULL, each record's request signature against the key
 * enrolled there (docs/audit.md, "Verification"); bytes that are not a
 * record are accepted only where a recovery record right after them seals
 * them. LB_OK if intact, with one line "recovered crash at line N (M bytes
 * kept as evidence)\n" per sealed torn write in MSG (empty if none);
 * LB_E_AUDIT if not, with "LINE: what is wrong" (the first bad line) in
 * MSG; LB_E_IO if the file cannot be read, with the reason in MSG.
 * *RECORDS = the number of good records read (before the bad line). MSG
 * and RECORDS may be NULL. */
int lb_audit_verify(const char *path, const struct lb_policy *policy,
    struct lb_buf *msg, size_t *records) LB_WUR;

/* Several files of one log (rotated: audit.log.2 audit.log.1 audit.log,
 * in any order): each verified as lb_audit_verify does (a file whose first
 * record is a "reopen" may start past seq 1), then put in the order of
 * their chain (by first seq, whatever the order of PATHS) and checked to
 * join: each file's first record follows the last of the one before (seq
 * + 1, prev its hash). *VERDICT: LB_AUDIT_SET_INTACT; _BROKEN (a file is
 * broken, two hold the same records, or one does not continue the other);
 * _MISSING (a gap in seq between two files, or the newest ends with a
 * rotation no file continues); _REORDERED (the names say another order
 * than the chain: with names PATH, PATH.1, PATH.2, ... a higher number is
 * an older file). MSG gets one line per file and one for the set, or what
 * is wrong; *RECORDS the records in all. LB_OK when *VERDICT is set;
 * LB_E_IO if a file cannot be read (reason in MSG). */
enum lb_audit_set_verdict {
	LB_AUDIT_SET_INTACT = 0,
	LB_AUDIT_SET_BROKEN,
	LB_AUDIT_SET_MISSING,
	LB_AUDIT_SET_REORDERED,
};
#define LB_AUDIT_SET_MAX 4096
int lb_audit_verify_set(const char *const *paths, size_t n, const struct lb_policy *policy,
    struct lb_buf *msg, size_t *records, enum lb_audit_set_verdict *verdict) LB_WUR;

/* The same checks one line at a time, for a log still being written
 * (linkbrokerd audit --follow --verify): a verifier that continues the
 * chain after record SEQ whose hash is HASH (seq 0 and zeros: from the
 * start of a log), fed each complete line (without its newline) as it
 * comes. LB_OK; LB_E_AUDIT with "N: what is wrong" appended to MSG (N
 * counts the lines fed); LB_E_NOMEM. A line that is no record is accepted
 * only if a recovery record follows, as in a file. */
struct lb_audit_verifier;
int lb_audit_verifier_new(const struct lb_policy *policy, uint64_t seq,
    const uint8_t hash[LB_HASH_BYTES], struct lb_audit_verifier **out) LB_WUR;
int lb_audit_verifier_feed(struct lb_audit_verifier *v, const char *line, size_t len,
    struct lb_buf *msg) LB_WUR;
void lb_audit_verifier_free(struct lb_audit_verifier *v);

/* ---- one line, for the verifier, tests and the fuzzer ---- */

/* Append the whole line for REC (its newline included) to OUT, chained to
 * PREV, and its hash to HASH (may be NULL). NOW is Unix seconds (up to the
 * end of year 9999). */
int lb_audit_format_line(struct lb_buf *out, const struct lb_audit_rec *rec,
    uint64_t seq, uint64_t now, const uint8_t prev[LB_HASH_BYTES],
    uint8_t hash[LB_HASH_BYTES]) LB_WUR;

/* A parsed line. Strings point into the line given to the parser (still
 * escaped: lb_json_unescape gives their bytes); request and sig into
 * storage of the struct. Valid until the next parse or free. */
struct lb_audit_line {
	uint64_t seq;
	uint64_t time;                 /* Unix seconds */
	struct lb_json_str event, verdict, user, sid;
	struct lb_json_str *groups;
	size_t n_groups;
	enum lb_kind kind;             /* LB_KIND_NONE for null */
	struct lb_json_str link, target, link_resolved, target_resolved;
	struct lb_json_str rule, reason, key;
	int error;
	const uint8_t *request;        /* NULL for null */
	size_t request_len;
	const uint8_t *sig;            /* LB_SIG_BYTES, or NULL for null */
	int in_batch;                  /* "batch" and "index" are there */
	uint8_t batch[LB_HASH_BYTES];
	uint32_t index;
	int has_file;                  /* "file" is there (a "made" record) */
	char file[LB_FILE_ID_MAX];
	uint8_t prev[LB_HASH_BYTES];
	uint8_t hash[LB_HASH_BYTES];   /* as written, not recomputed */
	size_t hashed_len;             /* the hash covers the first hashed_len bytes */
	/* storage */
	struct lb_buf bytes;
	size_t groups_cap;
};

void lb_audit_line_init(struct lb_audit_line *l);
void lb_audit_line_free(struct lb_audit_line *l);
/* Parse LINE (LEN bytes, without its newline) strictly: the fixed key
 * order, no spaces, canonical numbers, strings, base64 and time. LB_OK, or
 * LB_E_AUDIT with "at byte N (field "NAME"): what" appended to WHY (may
 * be NULL). */
int lb_audit_line_parse(struct lb_audit_line *l, const char *line, size_t len,
    struct lb_buf *why) LB_WUR;
/* Decode the stored request (body and signature) of a parsed line:
 * LB_E_INVAL if the line has none, else lb_request_decode's result, also
 * refusing a signature that is not the request's last LB_SIG_BYTES. */
int lb_audit_line_request(const struct lb_audit_line *l, struct lb_request *r) LB_WUR;
/* The same for a stored batch request (version 2): lb_batch_decode's
 * result, LB_E_INVAL if the line has none. */
int lb_audit_line_batch(const struct lb_audit_line *l, struct lb_batch *b) LB_WUR;
/* Who signed the stored request (single or batch), its nonce and time:
 * LB_OK, or an error if there is none or it does not decode. */
int lb_audit_line_origin(const struct lb_audit_line *l, uint8_t key[LB_PK_BYTES],
    uint8_t nonce[LB_NONCE_BYTES], uint64_t *timestamp) LB_WUR;

/* ---- reading records, for queries (linkbrokerd audit) ---- */

/* "YYYY-MM-DDTHH:MM:SSZ" <-> Unix seconds, as records write it. */
#define LB_AUDIT_TIME_BUF 21
int lb_audit_time_parse(const char *s, uint64_t *t) LB_WUR;
int lb_audit_time_format(uint64_t t, char out[LB_AUDIT_TIME_BUF]) LB_WUR;
/* Called for each record of a file in order: L parsed, LINE its bytes
 * (LEN, no newline). Returns 0 to go on, 1 to stop, -1 to stop with an
 * error (lb_audit_each then returns LB_E_IO). */
typedef int (*lb_audit_each_fn)(void *ctx, const struct lb_audit_line *l,
    const char *line, size_t len);
/* Every record of PATH to FN, lines that are not records (a torn write,
 * a foreign line) counted in *SKIPPED (may be NULL) and left out: no
 * verification here (lb_audit_verify_set). LB_OK; LB_E_NOENT or LB_E_IO
 * for the file, LB_E_TOOBIG for a line longer than a record may be,
 * LB_E_NOMEM. */
int lb_audit_each(const char *path, lb_audit_each_fn fn, void *ctx, size_t *skipped) LB_WUR;
/* The same for the lines WANT (given a complete line's bytes) says yes
 * to; the others are neither parsed nor counted (a reader after a few
 * kinds of record skips the rest at the cost of a look). */
typedef int (*lb_audit_want_fn)(const char *line, size_t len);
int lb_audit_each_wanted(const char *path, lb_audit_want_fn want, lb_audit_each_fn fn,
    void *ctx, size_t *skipped) LB_WUR;
/* Following a log as the broker writes it (linkbrokerd audit --follow).
 * Start with everything zero but PATH. Each lb_audit_follow_poll hands the
 * complete lines the file at PATH gained since the last call to FN (L NULL
 * for a line that is no record; a line still being written waits for the
 * next call). A file is known by its first record: when another file is
 * at PATH (rotated by logrotate or linkbrokerd rotate, or copied and
 * truncated), the rest of the old one is read from PATH.1 first if it is
 * there, else NOTE says records may be missing; records at or before
 * LAST_SEQ are never handed on twice. The file is opened only for each
 * poll (on Windows an open handle would stop the service's rename). LB_OK
 * (also while PATH is missing), or an error of lb_audit_each's. */
struct lb_audit_follow {
	const char *path;
	uint64_t pos;                 /* where the next line starts */
	uint64_t first_seq;           /* the file's first record (0: none read yet) */
	uint8_t first_hash[LB_HASH_BYTES];
	uint64_t last_seq;            /* the last record handed on */
	int rotated;                  /* it was a rotate record: a new file comes */
	size_t repeated;              /* records at or before last_seq, not handed on */
};
int lb_audit_follow_poll(struct lb_audit_follow *f, lb_audit_each_fn fn, void *ctx,
    struct lb_buf *note) LB_WUR;
/* PATHS (a rotated set, any order) put in the order of their chain, as
 * lb_audit_verify_set orders them: by the seq of each file's first record
 * (files without one last). No verification. An error of lb_audit_each
 * for the file at *BAD (may be NULL); PATHS is then as it was. */
int lb_audit_set_order(const char **paths, size_t n, size_t *bad) LB_WUR;

#endif
