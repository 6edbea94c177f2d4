/* lb_path: lexical path grammar for the two flavours the broker serves,
 * Windows and POSIX, as plain C that runs (and is tested) on any host. */
#ifndef LB_PATH_H
#define LB_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "lb_buf.h"
#include "lb_err.h"

enum lb_flavor {
	LB_FLAVOR_POSIX = 1,
	LB_FLAVOR_WINDOWS = 2,
};

/* Limits. Windows counts UTF-16 code units (as the OS does), POSIX counts bytes. */
#define LB_PATH_COMPONENT_MAX 255
#define LB_PATH_POSIX_MAX 4095          /* PATH_MAX 4096 minus the NUL */
#define LB_PATH_WINDOWS_MAX 32767       /* UNICODE_STRING limit in WCHARs */
/* Upper bound of a canonical path in UTF-8 bytes, either flavour; callers
 * size their buffers with it. */
#define LB_PATH_BUF_MAX (LB_PATH_WINDOWS_MAX * 3 + 1)
/* Raw input longer than this is refused (LB_E_PATH_LONG) before any parsing,
 * so megabyte inputs cost nothing; it leaves room for redundant "./" and "//". */
#define LB_PATH_INPUT_MAX (4 * LB_PATH_BUF_MAX)

enum lb_path_root {
	LB_ROOT_NONE = 0,  /* relative path */
	LB_ROOT_POSIX,     /* "/" */
	LB_ROOT_DRIVE,     /* "C:\" */
	LB_ROOT_UNC,       /* "\\server\share" */
	LB_ROOT_CURDRIVE,  /* "\foo": root of the current drive (Windows, targets only) */
};

/* A canonical path: UTF-8, NUL-terminated, heap-allocated.
 * POSIX: "/" or "/a/b" (no trailing slash, no empty, "." or ".." components).
 * Windows: "C:\" or "C:\a\b" (drive letter upper case, backslashes, no empty,
 * "." or ".." components) or "\\server\share\a"; relative paths are "a\b".
 * A relative path may start with ".." components (it is not resolved yet);
 * a relative path that cancels out ("a/..", "./") is ".".
 * Windows "\foo" (LB_ROOT_CURDRIVE) is "\" plus components, root_len 1. */
struct lb_path {
	enum lb_flavor flavor;
	enum lb_path_root root;
	char *s;
	size_t len;        /* strlen(s) */
	size_t root_len;   /* bytes of s that form the root ("/", "C:\", "\\srv\share") */
};

/* Canonicalise IN (len bytes, not NUL-terminated necessarily) lexically:
 * separators ('/' and '\' in Windows flavour), ".", ".." (never above the
 * root), and reject NUL/control characters, invalid UTF-8, \\?\ \\.\ \??\
 * prefixes, alternate data streams, DOS device names, trailing dots/spaces,
 * over-long components and paths (see lb_err.h for each code).
 * Also refused in both flavours: C1 control characters U+0080..U+009F
 * (LB_E_PATH_CTRL). Every component is checked, even one a later ".."
 * removes ("C:\con\..\x" is LB_E_PATH_DEVICE). A bad UNC server or share
 * name is LB_E_PATH_UNC whatever is wrong with it.
 * Accepts relative paths; use lb_path_require_absolute() where needed.
 * On success *out owns out->s; on error out is zeroed. */
int lb_path_canon(enum lb_flavor flavor, const char *in, size_t len,
    struct lb_path *out) LB_WUR;

/* LB_OK if P is absolute (POSIX "/..." or Windows drive or UNC), else
 * LB_E_PATH_RELATIVE (Windows "\foo" is not absolute: its drive is unknown). */
int lb_path_require_absolute(const struct lb_path *p) LB_WUR;

/* Resolve a link target against the directory that will hold the link:
 * an absolute TARGET is copied; a relative one is joined to LINK_PARENT and
 * "..", "." resolved (LB_E_PATH_ESCAPE above the root); a Windows "\foo"
 * takes LINK_PARENT's drive or UNC share. LINK_PARENT must be absolute
 * (LB_E_PATH_RELATIVE); flavours must match (LB_E_INVAL). The result is
 * canonicalised again, so all limits hold. OUT must not be an input. */
int lb_path_resolve(const struct lb_path *link_parent,
    const struct lb_path *target, struct lb_path *out) LB_WUR;

/* Parent directory of an absolute path (the root's parent is the root);
 * LB_E_PATH_RELATIVE for relative and "\foo" paths. OUT must not be P. */
int lb_path_parent(const struct lb_path *p, struct lb_path *out) LB_WUR;

/* 1 if P equals DIR or lies under it by whole components, else 0.
 * Windows flavour compares case-insensitively (code point by code point,
 * by lb_path_upcase); POSIX compares bytes. Flavours must match.
 * 0 for relative (and Windows "\foo") paths and for different roots. */
int lb_path_is_under(const struct lb_path *p, const struct lb_path *dir) LB_WUR;

/* Upper case of code point C as the Windows flavour compares names: its
 * Unicode simple uppercase mapping where C and that capital are a case pair
 * in the BMP (one UTF-16 unit to one, the form of NTFS's $UpCase), plus
 * U+03C2 final sigma -> U+03A3; anything else, surrogates and supplementary
 * code points included, is itself.
 * Never maps a non-ASCII code point to ASCII. The rule and its exceptions:
 * scripts/gen-upcase; what it means for policies: docs/policy.md. */
uint32_t lb_path_upcase(uint32_t c);

/* Compare two strings the way the flavour compares names (used for user and
 * group names too): 0 if equal, 1 if not (or either is NULL, or an
 * unequal Windows name is not valid UTF-8). */
int lb_name_equal(enum lb_flavor flavor, const char *a, const char *b) LB_WUR;

/* A key for S under the flavour's name comparison, appended to OUT: two
 * strings are lb_name_equal exactly when their keys are the same bytes
 * (POSIX: S itself; Windows: each code point's upper case, or, for S
 * that is not UTF-8, S's bytes after a 0xFF no key of UTF-8 starts with).
 * For hashing names and paths (the broker's index of links). */
int lb_name_key(enum lb_flavor flavor, const char *s, struct lb_buf *out) LB_WUR;

/* Free p->s and zero P. Safe on a zeroed struct. */
void lb_path_free(struct lb_path *p);

/* Copy SRC into DST (allocates; DST must not be SRC). */
int lb_path_copy(const struct lb_path *src, struct lb_path *dst) LB_WUR;

/* "posix"/"windows"; "unknown" for any other value, never NULL. */
const char *lb_flavor_name(enum lb_flavor f);
/* "windows"/"posix" -> flavour; LB_E_INVAL otherwise. */
int lb_flavor_parse(const char *s, enum lb_flavor *out) LB_WUR;

#endif
