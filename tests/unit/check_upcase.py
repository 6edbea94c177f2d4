#!/usr/bin/env python3
"""Test: the Windows flavour's case fold (lb_path_upcase, through the C
code) against this Python's Unicode data, for every code point.
usage: check_upcase.py UPCASE_DUMP common/lb_upcase_table.h

Expected, written out here again rather than imported from
scripts/gen-upcase, so a slip in either shows: a BMP code point's simple
uppercase when it is one BMP code point whose simple lowercase is the code
point again (a case pair, what NTFS's $UpCase holds), U+03C2 -> U+03A3
(Windows XP's table), nothing else. Exit 0 same, 1 different, 77 (skip)
when this Python's Unicode version is not the table's.
"""
import re
import subprocess
import sys
import unicodedata


def one(s, fallback):
    return s if len(s) == 1 else fallback


def expected(cp):
    if cp == 0x03C2:
        return 0x03A3
    if cp > 0xFFFF or 0xD800 <= cp <= 0xDFFF:
        return cp
    ch = chr(cp)
    # str.upper is the full mapping; where that is several characters the
    # simple one is the single-character titlecase (U+1F80 -> U+1F88) or none.
    up = one(ch.upper(), one(ch.title(), ch))
    if up == ch or ord(up) > 0xFFFF or one(up.lower(), up) != ch:
        return cp
    return ord(up)


def main():
    dump, table = sys.argv[1], sys.argv[2]
    m = re.search(r'#define LB_UPCASE_UNICODE "([^"]+)"', open(table, encoding="ascii").read())
    if m is None:
        print("no LB_UPCASE_UNICODE in", table)
        return 1
    if m.group(1) != unicodedata.unidata_version:
        print("SKIP: the table is Unicode %s, this Python's data %s (regenerate with scripts/gen-upcase)"
              % (m.group(1), unicodedata.unidata_version))
        return 77
    out = subprocess.run([dump], check=True, stdout=subprocess.PIPE, text=True).stdout
    got = {}
    for line in out.splitlines():
        a, b = (int(x, 16) for x in line.split())
        got[a] = b
    want = {cp: expected(cp) for cp in range(0x110000) if expected(cp) != cp}
    bad = sorted(set(got) | set(want))
    bad = [cp for cp in bad if got.get(cp, cp) != want.get(cp, cp)]
    for cp in bad[:40]:
        print("U+%04X %s: C gives U+%04X, expected U+%04X" % (
            cp, unicodedata.name(chr(cp), "?"), got.get(cp, cp), want.get(cp, cp)))
    print("%d code points differ; %d mapped by the C code, %d expected (Unicode %s)"
          % (len(bad), len(got), len(want), unicodedata.unidata_version))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
