# apt helpers for scripts/deps: install missing Debian packages, and fetch
# Debian *source* packages through a private apt source list kept in a cache
# folder, so the system's own apt lists and caches are never touched.
# Needs lib/common.sh.

# Install those of the given packages that dpkg does not list as installed.
# apt-get update runs only when something is missing.
lb_apt_install_missing() {
  local installed missing=() p
  # dpkg-query fails for names it has never seen: those are simply missing.
  installed="$( (dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null || true) \
    | awk '$1 == "ii" { print $2 }')"
  for p in "$@"; do
    grep -qxF "$p" <<<"$installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  lb_log "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    lb_die "missing packages (${missing[*]}); run as root or install them"
  fi
  local t0; t0="$(lb_now)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -q -o DPkg::Lock::Timeout=300 update >/dev/null
  apt-get -q -y -o DPkg::Lock::Timeout=300 install "${missing[@]}" </dev/null
  lb_log "apt-get install took $(lb_since "$t0") s"
}

# Write a deb822 file of deb-src entries for SUITES, made from the system's own
# Debian archive entry (the one for this release's codename with component
# main), in either deb822 (.sources) or one-line (.list) form.
# Usage: lb_apt_src_write_list OUT SUITE...
lb_apt_src_write_list() {
  local out="$1"; shift
  local codename list parts
  codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
  [ -n "$codename" ] || lb_die "no VERSION_CODENAME in /etc/os-release"
  eval "$(apt-config shell list Dir::Etc::sourcelist/f parts Dir::Etc::sourceparts/d)"
  python3 - "$out" "$codename" "${list:-/etc/apt/sources.list}" \
    "${parts:-/etc/apt/sources.list.d/}" "$@" <<'EOF'
import glob, os, re, sys

out, codename, main_list, parts_dir, suites = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]

# apt's one-line options and their deb822 field names (the ones that matter
# for fetching sources; architecture and language options do not).
ONE_LINE_OPTS = {
    "signed-by": "Signed-By", "trusted": "Trusted",
    "check-valid-until": "Check-Valid-Until", "allow-insecure": "Allow-Insecure",
    "allow-weak": "Allow-Weak", "allow-downgrade-to-insecure": "Allow-Downgrade-To-Insecure",
    "check-date": "Check-Date", "date-max-future": "Date-Max-Future",
}
DROP = {"types", "suites", "components", "enabled", "architectures", "languages", "targets"}

def entry(uri, extra):
    # extra: list of (field, [lines]) copied as they were
    lines = ["Types: deb-src", "URIs: " + uri, "Suites: " + " ".join(suites), "Components: main"]
    for name, vals in extra:
        lines.append(name + ": " + vals[0])
        lines.extend(vals[1:])
    return "\n".join(lines) + "\n"

def from_deb822(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    paras, cur = [], []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                paras.append(cur)
            cur = []
            continue
        cur.append(line)
    if cur:
        paras.append(cur)
    for para in paras:
        fields = []  # (name, [first value, continuation lines...])
        for line in para:
            if line[0] in " \t" and fields:
                fields[-1][1].append(line)
            elif ":" in line:
                name, val = line.split(":", 1)
                fields.append((name.strip(), [val.strip()]))
        get = {n.lower(): " ".join(v).split() for n, v in fields}
        if get.get("enabled", ["yes"])[0].lower() == "no":
            continue
        if "deb" not in get.get("types", []) or codename not in get.get("suites", []):
            continue
        if "main" not in get.get("components", []) or not get.get("uris"):
            continue
        extra = [(n, v) for n, v in fields if n.lower() not in DROP and n.lower() != "uris"]
        return entry(get["uris"][0], extra)
    return None

def from_one_line(path):
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.split("#", 1)[0].strip()
        m = re.match(r"^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line)
        if not m:
            continue
        opts, uri, suite, comps = m.group(1) or "", m.group(2), m.group(3), m.group(4).split()
        if suite != codename or "main" not in comps:
            continue
        extra = []
        for opt in opts.split():
            key, sep, val = opt.partition("=")
            if sep and key in ONE_LINE_OPTS:
                extra.append((ONE_LINE_OPTS[key], [val.replace(",", " ")]))
        return entry(uri, extra)
    return None

candidates = []
if os.path.isfile(main_list):
    candidates.append(main_list)
candidates += sorted(glob.glob(os.path.join(parts_dir, "*.list")) +
                     glob.glob(os.path.join(parts_dir, "*.sources")))
for path in candidates:
    got = from_deb822(path) if path.endswith(".sources") else from_one_line(path)
    if got:
        with open(out + ".tmp", "w") as f:
            f.write("# Made by scripts/deps from " + path + "\n" + got)
        os.replace(out + ".tmp", out)
        sys.exit(0)
sys.exit("no apt source entry for '%s' with component main in %s or %s" % (codename, main_list, parts_dir))
EOF
}

# Options that point apt at the private source list and lists folder in DIR,
# and keep it from writing the system's binary caches.
lb_apt_src_opts() {
  local dir="$1"
  printf '%s\n' \
    -o "Dir::Etc::sourcelist=$dir/deb-src.sources" \
    -o "Dir::Etc::sourceparts=/nonexistent" \
    -o "Dir::State::Lists=$dir/lists" \
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" \
    -o "APT::Sandbox::User=root"
}

# Make DIR/deb-src.sources for SUITES and download their Sources indexes.
# Usage: lb_apt_src_update DIR SUITE...
lb_apt_src_update() {
  local dir="$1"; shift
  mkdir -p "$dir/lists/partial"
  lb_apt_src_write_list "$dir/deb-src.sources" "$@"
  local -a opts; mapfile -t opts < <(lb_apt_src_opts "$dir")
  lb_quiet "$dir/update.log" apt-get -q "${opts[@]}" update
}

# Download the files of source package PKG/SUITE whose names match REGEX into
# DEST, each checked against the SHA256 from the signed Sources index. Files
# already there with the right hash are kept. Prints the names it fetched.
# Usage: lb_apt_src_fetch DIR PKG/SUITE DEST REGEX
lb_apt_src_fetch() {
  local dir="$1" spec="$2" dest="$3" regex="$4"
  local -a opts; mapfile -t opts < <(lb_apt_src_opts "$dir")
  local uris uri name size hash n=0
  uris="$(apt-get -q "${opts[@]}" --print-uris source "$spec" 2>"$dir/print-uris.log")" \
    || { cat "$dir/print-uris.log" >&2; lb_die "apt-get source --print-uris $spec failed"; }
  mkdir -p "$dest"
  while read -r uri name size hash; do
    uri="${uri#\'}"; uri="${uri%\'}"
    [[ "$name" =~ $regex ]] || continue
    n=$((n + 1))
    if [ -f "$dest/$name" ] && [ "${hash#SHA256:}" != "$hash" ] \
       && printf '%s  %s\n' "${hash#SHA256:}" "$dest/$name" | sha256sum -c --status; then
      printf '%s\n' "$name"
      continue
    fi
    rm -f "$dest/$name"
    lb_quiet "$dir/download.log" /usr/lib/apt/apt-helper "${opts[@]}" \
      download-file "$uri" "$dest/$name" "$hash" \
      || lb_die "could not download $name ($spec)"
    printf '%s\n' "$name"
  done < <(grep "^'" <<<"$uris")
  [ "$n" -gt 0 ] || lb_die "no file of $spec matches $regex"
}
