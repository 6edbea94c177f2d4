/* lb_reparse: the bytes FSCTL_SET_REPARSE_POINT takes for a symbolic link or a
 * junction (REPARSE_DATA_BUFFER, MS-FSCC 2.1.2), and NT path names, built from
 * canonical lb_path strings by plain C (no Windows API) so every byte is
 * unit-tested. Layout, choices and sources: docs/windows-reparse.md. */
#ifndef LB_REPARSE_H
#define LB_REPARSE_H

#include <stddef.h>

#include "lb_buf.h"
#include "lb_err.h"
#include "lb_path.h"

/* The documented values, with our prefix so they never clash with winnt.h. */
#define LB_IO_REPARSE_TAG_MOUNT_POINT 0xA0000003u
#define LB_IO_REPARSE_TAG_SYMLINK     0xA000000Cu
#define LB_SYMLINK_FLAG_RELATIVE      0x00000001u
/* ReparseTag, ReparseDataLength, Reserved: what ReparseDataLength leaves out. */
#define LB_REPARSE_HEADER_SIZE 8u
/* MAXIMUM_REPARSE_DATA_BUFFER_SIZE: the largest whole buffer, header included,
 * that FSCTL_SET_REPARSE_POINT accepts. */
#define LB_REPARSE_MAX 16384u
/* UNICODE_STRING.Length is a USHORT count of bytes of UTF-16. */
#define LB_NT_PATH_MAX 65534u

/* Append to OUT the REPARSE_DATA_BUFFER of a symbolic link to TARGET, laid
 * out as CreateSymbolicLinkW (mklink) does: PathBuffer holds the print name
 * then the substitute name, no NULs.
 *   "C:\x"            substitute "\??\C:\x", print "C:\x", Flags 0
 *   "\\srv\share\x"   substitute "\??\UNC\srv\share\x", print "\\srv\share\x", Flags 0
 *   "..\x", "x", "."  substitute = print = TARGET, SYMLINK_FLAG_RELATIVE
 *   "\x"              likewise relative: Windows resolves it against the root
 *                     of the volume that holds the link
 * TARGET must be Windows flavour and exactly what lb_path_canon makes
 * (LB_E_INVAL otherwise, or lb_path_canon's own error); LB_E_TOOBIG past
 * LB_REPARSE_MAX bytes. All or nothing: on error OUT is as it was. */
int lb_reparse_symlink(const struct lb_path *target_as_typed_canonical,
    struct lb_buf *out) LB_WUR;

/* Append to OUT the REPARSE_DATA_BUFFER of a junction (mount point) to the
 * local directory ABS_DIR, laid out as mklink /J does: substitute name
 * "\??\C:\dir" at offset 0 and print name "C:\dir", each followed by a UTF-16
 * NUL that the lengths leave out. ABS_DIR must be a canonical Windows
 * LB_ROOT_DRIVE path (LB_E_INVAL for UNC, relative and "\x" paths);
 * LB_E_TOOBIG past LB_REPARSE_MAX bytes. All or nothing. */
int lb_reparse_junction(const struct lb_path *abs_dir, struct lb_buf *out)
    LB_WUR;

/* Append to OUT the NT name of the absolute canonical Windows path ABS, in
 * UTF-16LE without a terminating NUL (for a UNICODE_STRING given to
 * NtCreateFile): "C:\a" -> "\??\C:\a", "\\srv\share\a" -> "\??\UNC\srv\share\a".
 * LB_E_PATH_RELATIVE for relative and "\x" paths, LB_E_INVAL for other
 * flavours or non-canonical structs, LB_E_PATH_LONG past LB_NT_PATH_MAX
 * bytes. All or nothing. */
int lb_nt_path(const struct lb_path *abs, struct lb_buf *utf16le_out) LB_WUR;

/* Append the UTF-16LE form of the N bytes of UTF-8 at S to OUT. Strict:
 * overlong forms, surrogates, values past U+10FFFF and cut sequences are
 * LB_E_PATH_UTF8; a NUL is LB_E_PATH_CTRL (every string converted here names
 * a file, and a NUL would cut it short in Win32 calls). All or nothing. */
int lb_utf8_to_utf16le(const char *s, size_t n, struct lb_buf *out) LB_WUR;

/* The canonical path of a handle from the UTF-8 form (N bytes at S) of what
 * GetFinalPathNameByHandleW(FILE_NAME_NORMALIZED | VOLUME_NAME_DOS) returns:
 *   "\\?\C:\a"            -> "C:\a" (LB_ROOT_DRIVE; a lower-case letter too)
 *   "\\?\UNC\srv\share\a" -> "\\srv\share\a" (LB_ROOT_UNC)
 * Anything else is LB_E_UNSUPPORTED: "\\?\Volume{GUID}\..." (a volume
 * without a drive letter), "\\?\GLOBALROOT\...", a missing prefix. The
 * rest must already be canonical (lb_path_canon may only upper-case the
 * drive letter and drop a trailing "\"), else LB_E_UNSUPPORTED; an
 * lb_path_canon refusal (too long, a device name that exists on disk...)
 * is returned as is. On error OUT is zeroed. */
int lb_win_path_from_final(const char *s, size_t n, struct lb_path *out) LB_WUR;

#endif
