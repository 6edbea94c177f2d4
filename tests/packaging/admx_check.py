#!/usr/bin/env python3
"""packaging.admx: the Group Policy template is well-formed and consistent.

packaging/admx/linkbroker.admx and en-US/linkbroker.adml parse as XML in
the PolicyDefinitions namespace; every $(string.X) and $(presentation.X)
the ADMX uses is defined in the ADML and every one the ADML defines is
used; each presentation has a control for each element of its policy and
none for others; categories and supportedOn references resolve. Against
the code: every policy writes to the key the service reads (LB_GPO_SUBKEY
in service/win/lb_win.h); the registry value names the service reads
(lb_gpo_values in service/win/lb_gpo_win.c) are exactly the ADMX's, each
of the type it reads (REG_DWORD: decimal; REG_SZ: text or string enum);
each decimal's range is the INI loader's for its [broker] key
(config/lb_policy_load.c), the dialogs' defaults are the loader's
defaults, the enum's strings are the values audit_sync accepts, and the
text's maxLength is LB_GPO_TEXT_MAX. Then the same checks must fail on
copies with one thing broken, so they cannot pass vacuously.

usage: admx_check.py SOURCE_DIR
"""
import copy
import re
import sys
import xml.etree.ElementTree as ET

NS = "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"
Q = "{%s}" % NS
REF = re.compile(r"^\$\((string|presentation)\.([A-Za-z0-9_.-]+)\)$")


def q(tag):
    return Q + tag


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def code_facts(src):
    """What the C code says: key, value table, ranges, defaults, limits."""
    win_h = read(src + "/service/win/lb_win.h")
    gpo_c = read(src + "/service/win/lb_gpo_win.c")
    load_c = read(src + "/config/lb_policy_load.c")
    facts = {}
    m = re.search(r'#define LB_GPO_SUBKEY L"((?:[^"\\]|\\.)*)"', win_h)
    facts["subkey"] = m.group(1).replace("\\\\", "\\") if m else None
    m = re.search(r"#define LB_GPO_TEXT_MAX (\d+)", win_h)
    facts["text_max"] = int(m.group(1)) if m else None
    values = {}
    for name, key, typ in re.findall(
            r'\[LB_GPO_\w+\]\s*=\s*\{\s*L"(\w+)",\s*(NULL|"\w+"),\s*(REG_\w+)\s*\}', gpo_c):
        values[name] = (None if key == "NULL" else key.strip('"'), typ)
    facts["values"] = values
    facts["ranges"] = {k: (int(lo), int(hi)) for lo, hi, k in re.findall(
        r"lb_parse_u32\(value, (\d+), (\d+), &b->(\w+)\)", load_c)}
    m = re.search(r"lb_broker_defaults\(struct lb_policy \*p\)\s*\{(.*?)\n\}", load_c, re.S)
    facts["defaults"] = {k: int(v) for k, v in re.findall(
        r"b->(\w+) = (\d+);", m.group(1))} if m else {}
    m = re.search(r'strcmp\(key, "audit_sync"\) == 0\) \{(.*?)return 1;', load_c, re.S)
    facts["audit_sync"] = set(re.findall(r'strcmp\(value, "(\w+)"\)', m.group(1))) if m else set()
    return facts


def check(admx, adml, facts):
    """Every problem found, as text (empty: consistent)."""
    bad = []
    if admx.tag != q("policyDefinitions"):
        bad.append("ADMX: root is %s, not policyDefinitions in %s" % (admx.tag, NS))
    if adml.tag != q("policyDefinitionResources"):
        bad.append("ADML: root is %s, not policyDefinitionResources in %s" % (adml.tag, NS))
    strings = {}
    for s in adml.iter(q("string")):
        sid = s.get("id")
        if sid in strings:
            bad.append("ADML: string %s defined twice" % sid)
        strings[sid] = (s.text or "").strip()
        if not strings[sid]:
            bad.append("ADML: string %s is empty" % sid)
    presentations = {}
    for p in adml.iter(q("presentation")):
        if p.get("id") in presentations:
            bad.append("ADML: presentation %s defined twice" % p.get("id"))
        presentations[p.get("id")] = p

    used = {"string": set(), "presentation": set()}
    for el in admx.iter():
        for attr, val in el.attrib.items():
            if "$(" not in val:
                continue
            m = REF.match(val)
            if not m:
                bad.append("ADMX: %s=%r is not a $(string.X) or $(presentation.X)" % (attr, val))
                continue
            kind, rid = m.groups()
            used[kind].add(rid)
            if kind == "string" and rid not in strings:
                bad.append("ADMX: $(string.%s) is not defined in the ADML" % rid)
            if kind == "presentation" and rid not in presentations:
                bad.append("ADMX: $(presentation.%s) is not defined in the ADML" % rid)
    for sid in sorted(set(strings) - used["string"]):
        bad.append("ADML: string %s is not used by the ADMX" % sid)
    for pid in sorted(set(presentations) - used["presentation"]):
        bad.append("ADML: presentation %s is not used by the ADMX" % pid)

    categories = {c.get("name") for c in admx.iter(q("category"))}
    supported = {d.get("name") for d in admx.iter(q("definition"))}
    policies = list(admx.iter(q("policy")))
    if not policies:
        bad.append("ADMX: no policies")
    names = set()
    admx_values = {}
    for pol in policies:
        name = pol.get("name")
        if name in names:
            bad.append("ADMX: policy %s defined twice" % name)
        names.add(name)
        if pol.get("class") != "Machine":
            bad.append("ADMX: policy %s is class %s: the service reads HKLM only" % (name, pol.get("class")))
        if pol.get("key") != facts["subkey"]:
            bad.append("ADMX: policy %s writes to %r, the service reads %r" % (name, pol.get("key"), facts["subkey"]))
        pc = pol.find(q("parentCategory"))
        if pc is None or pc.get("ref") not in categories:
            bad.append("ADMX: policy %s: parentCategory is not a category of this file" % name)
        so = pol.find(q("supportedOn"))
        if so is None or so.get("ref") not in supported:
            bad.append("ADMX: policy %s: supportedOn is not defined in this file" % name)
        if pol.get("valueName") is not None:
            bad.append("ADMX: policy %s has its own valueName, which the service does not read" % name)
        elements = pol.find(q("elements"))
        ids = []
        for el in (list(elements) if elements is not None else []):
            tag = el.tag[len(Q):] if el.tag.startswith(Q) else el.tag
            ids.append(el.get("id"))
            vn = el.get("valueName")
            if el.get("key") not in (None, facts["subkey"]):
                bad.append("ADMX: %s writes to its own key %r" % (vn, el.get("key")))
            if vn in admx_values:
                bad.append("ADMX: value %s is written by two elements" % vn)
            admx_values[vn] = (tag, el)
        pm = REF.match(pol.get("presentation") or "")
        pres = presentations.get(pm.group(2)) if pm else None
        if ids and pres is None:
            bad.append("ADMX: policy %s has elements but no presentation" % name)
        if pres is not None:
            refs = [c.get("refId") for c in pres if c.get("refId") is not None]
            for rid in sorted(set(ids) - set(refs)):
                bad.append("ADML: presentation of %s has no control for element %s" % (name, rid))
            for rid in sorted(set(refs) - set(ids)):
                bad.append("ADML: presentation of %s has a control for %s, not an element of it" % (name, rid))

    code_values = facts["values"]
    if not code_values:
        bad.append("code: no registry value table found in lb_gpo_win.c")
    for vn in sorted(set(code_values) - set(admx_values)):
        bad.append("ADMX: no element writes %s, which the service reads" % vn)
    for vn in sorted(set(admx_values) - set(code_values)):
        bad.append("ADMX: element writes %s, which the service does not read" % vn)
    for vn in sorted(set(code_values) & set(admx_values)):
        key, typ = code_values[vn]
        tag, el = admx_values[vn]
        if typ == "REG_DWORD":
            if tag != "decimal" or el.get("storeAsText") == "true":
                bad.append("ADMX: %s is read as REG_DWORD but is a %s element%s" % (
                    vn, tag, " stored as text" if el.get("storeAsText") == "true" else ""))
                continue
            lo_hi = facts["ranges"].get(key)
            if lo_hi is None:
                bad.append("code: no range for [broker] %s in config/lb_policy_load.c" % key)
                continue
            got = (int(el.get("minValue", "0")), int(el.get("maxValue", "9999")))
            if got != lo_hi:
                bad.append("ADMX: %s allows %d to %d, [broker] %s %d to %d" % ((vn,) + got + (key,) + lo_hi))
            box = [c for p in presentations.values() for c in p if c.get("refId") == el.get("id")]
            if box and key in facts["defaults"] and box[0].get("defaultValue") != str(facts["defaults"][key]):
                bad.append("ADML: %s's dialog starts at %s, the service's default is %d" % (
                    vn, box[0].get("defaultValue"), facts["defaults"][key]))
        elif typ == "REG_SZ":
            if tag == "text":
                if key is not None:
                    bad.append("ADMX: %s is free text; [broker] %s takes fixed words" % (vn, key))
                if el.get("maxLength") != str(facts["text_max"]):
                    bad.append("ADMX: %s maxLength %s, the service reads at most LB_GPO_TEXT_MAX %s" % (
                        vn, el.get("maxLength"), facts["text_max"]))
            elif tag == "enum":
                words = set()
                for item in el.iter(q("item")):
                    v = item.find(q("value"))
                    s = v.find(q("string")) if v is not None else None
                    if s is None:
                        bad.append("ADMX: %s: an item whose value is not a string" % vn)
                    else:
                        words.add(s.text)
                if key == "audit_sync" and words != facts["audit_sync"]:
                    bad.append("ADMX: %s offers %s, audit_sync accepts %s" % (
                        vn, sorted(words), sorted(facts["audit_sync"])))
            else:
                bad.append("ADMX: %s is read as a string but is a %s element" % (vn, tag))
        else:
            bad.append("code: %s has type %s, which this check does not know" % (vn, typ))
    return bad


def mutations(admx, adml):
    """Broken copies: (what, admx, adml, facts change)."""
    def first(root, tag, **attrs):
        for el in root.iter(q(tag)):
            if all(el.get(k) == v for k, v in attrs.items()):
                return el
        raise SystemExit("FAIL: mutation target %s %s not found (the template changed?)" % (tag, attrs))

    out = []

    def mut(what, fn, code=None):
        a, l = copy.deepcopy(admx), copy.deepcopy(adml)
        fn(a, l)
        out.append((what, a, l, code))

    def drop(root, tag, **attrs):
        el = first(root, tag, **attrs)
        for parent in root.iter():
            if el in list(parent):
                parent.remove(el)
                return
    mut("a string missing from the ADML", lambda a, l: drop(l, "string", id="MaxClients_Help"))
    mut("a presentation missing from the ADML", lambda a, l: drop(l, "presentation", id="RateLimit"))
    def unused(a, l):
        e = ET.Element(q("string"), id="Unused")
        e.text = "Not referenced"
        first(l, "stringTable").append(e)
    mut("an unused string in the ADML", unused)
    mut("a control for no element", lambda a, l: first(l, "decimalTextBox", refId="RequestsBurst").set(
        "refId", "RequestsBursts"))
    mut("a value name the service does not read", lambda a, l: first(a, "decimal", id="MaxClients").set(
        "valueName", "MaxClient"))
    mut("a range not the loader's", lambda a, l: first(a, "decimal", id="RequestsBurst").set(
        "maxValue", "999999"))
    mut("a decimal stored as text", lambda a, l: first(a, "decimal", id="MaxClients").set(
        "storeAsText", "true"))
    mut("another key", lambda a, l: first(a, "policy", name="AuditSync").set(
        "key", r"SOFTWARE\Policies\LinkBroker\Sub"))
    mut("a user policy", lambda a, l: first(a, "policy", name="MaxClients").set("class", "User"))
    mut("a dialog default not the service's", lambda a, l: first(l, "decimalTextBox", refId="MaxClients").set(
        "defaultValue", "63"))
    mut("an enum word audit_sync refuses", lambda a, l: first(a, "string").__setattr__("text", "Always"))
    mut("a text longer than the service reads", lambda a, l: first(a, "text", id="PolicyFile").set(
        "maxLength", "4096"))
    mut("a broken reference", lambda a, l: first(a, "policy", name="PolicyFile").set(
        "explainText", "$(string.PolicyFile_Help"))
    mut("the code reads a value the ADMX lacks", lambda a, l: None,
        lambda f: f["values"].__setitem__("AuditLog", (None, "REG_SZ")))
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1])
        return 2
    src = sys.argv[1]
    admx_path = src + "/packaging/admx/linkbroker.admx"
    adml_path = src + "/packaging/admx/en-US/linkbroker.adml"
    try:
        admx = ET.parse(admx_path).getroot()
        adml = ET.parse(adml_path).getroot()
    except (OSError, ET.ParseError) as e:
        print("FAIL: not well-formed XML: %s" % e)
        return 1
    facts = code_facts(src)
    problems = check(admx, adml, facts)
    if problems:
        print("FAIL: %s and %s:" % (admx_path, adml_path))
        for p in problems:
            print("  " + p)
        return 1
    print("ok: %d policies, %d registry values (%s) as the service reads them, %d strings" % (
        len(list(admx.iter(q("policy")))), len(facts["values"]), ", ".join(sorted(facts["values"])),
        len(list(adml.iter(q("string"))))))
    missed = 0
    muts = mutations(admx, adml)
    for what, a, l, code in muts:
        f = copy.deepcopy(facts)
        if code is not None:
            code(f)
        found = check(a, l, f)
        if found:
            print("ok: %s caught: %s" % (what, found[0]))
        else:
            print("FAIL: %s passed the checks" % what)
            missed += 1
    if missed:
        print("FAIL: %d of %d broken templates not caught" % (missed, len(muts)))
        return 1
    print("ok: all %d broken templates caught" % len(muts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
