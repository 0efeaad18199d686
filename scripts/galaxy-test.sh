#!/usr/bin/env bash
# Release test: build the collection tarball the way Galaxy users get it, check what is (and is not) in it,
# install it offline into an empty collections path, and use ONLY that installed copy to render
# `ansible-doc` for every module and role and to run the tcp.keepalive.audit playbook on this machine.
#
#   bash scripts/galaxy-test.sh            (needs root for the audit; KEEP=1 keeps the temp dir)
source "$(dirname "$0")/lib.sh"
[[ -x "$VENV/bin/ansible-galaxy" ]] || bash "$REPO/scripts/venv.sh"
shopt -s nullglob

WORK="$(mktemp -d /tmp/tcp-keepalive-galaxy.XXXXXX)"
cleanup() { if [[ "${KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok: %s\n' "$*"; }

CHECKS="$REPO/tools/release_checks.py"   # the checks below that are logic, tested by tests/unit/test_tools.py
version="$(python "$CHECKS" version "$REPO/galaxy.yml")"

# --- 1. build --------------------------------------------------------------------------------------------
mkdir -p "$WORK/build"
ansible-galaxy collection build "$REPO" --output-path "$WORK/build" >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log" >&2; fail "ansible-galaxy collection build failed"; }
tarball="$WORK/build/tcp-keepalive-$version.tar.gz"
[[ -f "$tarball" ]] || fail "expected $tarball; build said: $(cat "$WORK/build.log")"
ok "built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"

# --- 2. contents -----------------------------------------------------------------------------------------
tar -tzf "$tarball" | sed -e 's#^\./##' -e 's#/$##' | sort -u > "$WORK/contents.txt"
# Nothing a developer's checkout or a test run leaves behind.
forbidden='(^|/)(\.git|\.venv|venv|\.cache|\.pytest_cache|\.ruff_cache|\.mypy_cache|__pycache__|\.ansible|\.tox|\.molecule)(/|$)'
forbidden+='|\.py[co]$|\.log$|\.tar\.gz$|(^|/)\.coverage|(^|/)junit[^/]*\.xml$'
forbidden+='|^tests/output(/|$)|^reports(/|$)|^benchmarks(/|$)|^tools(/|$)|^build(/|$)|^scripts(/|$)'
forbidden+='|^(Makefile|requirements-dev\.txt|pyproject\.toml|\.gitignore)$'
if grep -E "$forbidden" "$WORK/contents.txt" > "$WORK/forbidden.txt"; then
  fail "tarball holds files that must not ship (add them to build_ignore in galaxy.yml):
$(head -30 "$WORK/forbidden.txt")"
fi
ok "no test output, virtualenv, caches, .git or logs in the tarball ($(wc -l < "$WORK/contents.txt") entries)"

need() {  # need DESCRIPTION GLOB-REGEX: at least one entry matches
  grep -Eq "$2" "$WORK/contents.txt" || fail "tarball has no $1 (pattern $2)"
}
need MANIFEST.json '^MANIFEST\.json$'
need FILES.json '^FILES\.json$'
need meta/runtime.yml '^meta/runtime\.yml$'
need README.md '^README\.md$'
need "module" '^plugins/modules/[^/_][^/]*\.py$'
need "role argument spec" '^roles/[^/]+/meta/argument_specs\.yml$'
need "playbook" '^playbooks/[^/]+\.ya?ml$'
need "docs" '^docs/[^/]+\.(md|rst)$'
need "changelog" '^changelogs/changelog\.yaml$'
# Every file git tracks in the shipped parts of the collection is in the tarball.
missing=()
while IFS= read -r path; do
  grep -qxF "$path" "$WORK/contents.txt" || missing+=("$path")
done < <(cd "$REPO" && git ls-files -- plugins roles playbooks meta docs changelogs/changelog.yaml \
           CHANGELOG.md README.md | grep -v -e '__pycache__' -e '\.pyc$')
((${#missing[@]} == 0)) || fail "tracked files missing from the tarball: ${missing[*]}"
ok "every tracked file under plugins/ roles/ playbooks/ meta/ docs/ is in the tarball"

# --- 3. install offline into an empty collections path ---------------------------------------------------
install_dir="$WORK/collections"
mkdir -p "$install_dir"
# From here on only the installed copy may be visible: not the repo symlink tree in .venv/collections
# (lib.sh put it on ANSIBLE_COLLECTIONS_PATH; with it, `install` would even say "already installed"), no
# config file from the repo, and a working directory outside the checkout. The sys path scan stays on for
# ansible.posix and community.docker from the `ansible` wheel (what a user of the `ansible` package has).
export ANSIBLE_COLLECTIONS_PATH="$install_dir"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=true
export ANSIBLE_CONFIG="$WORK/ansible.cfg"
printf '[defaults]\n' > "$ANSIBLE_CONFIG"
export ANSIBLE_LOCAL_TEMP="$WORK/tmp" ANSIBLE_REMOTE_TEMP="$WORK/remote-tmp"
mkdir -p "$WORK/cwd"
cd "$WORK/cwd" || fail "cannot enter $WORK/cwd"

ansible-galaxy collection install "$tarball" -p "$install_dir" --offline --no-deps >"$WORK/install.log" 2>&1 \
  || { cat "$WORK/install.log" >&2; fail "ansible-galaxy collection install failed"; }
installed="$install_dir/ansible_collections/tcp/keepalive"
[[ -f "$installed/MANIFEST.json" ]] || fail "installed copy not found at $installed: $(cat "$WORK/install.log")"
[[ ! -L "$installed" ]] || fail "$installed is a symlink, not an installed copy"
ok "installed into $install_dir"

# Negative control: with an empty collections path, tcp.keepalive must be unknown; otherwise something
# other than the installed copy (a leaked path, the repo symlink) would be answering.
mkdir -p "$WORK/empty"
if ANSIBLE_COLLECTIONS_PATH="$WORK/empty" ansible-doc -t role -l tcp.keepalive 2>/dev/null | grep -q 'tcp\.keepalive\.'; then
  fail "tcp.keepalive is visible even with an empty collections path: the test would not prove anything"
fi
locations="$(ansible-galaxy collection list tcp.keepalive 2>/dev/null | grep -E '^# /' || true)"
[[ "$locations" == "# $install_dir/ansible_collections" ]] \
  || fail "tcp.keepalive must be found only in $install_dir; ansible-galaxy collection list says: $locations"
ok "tcp.keepalive resolves only to the installed copy"

# --- 4. ansible-doc for every module and role ------------------------------------------------------------
modules=()
for file in "$installed"/plugins/modules/*.py; do
  name="$(basename "$file" .py)"
  [[ "$name" == _* || "$name" == __init__ ]] || modules+=("$name")
done
((${#modules[@]} > 0)) || fail "no modules in the installed copy"
listed="$(ansible-doc -t module -l tcp.keepalive 2>"$WORK/doc-list.err" | awk '{print $1}' | sort)"
for name in "${modules[@]}"; do
  grep -qxF "tcp.keepalive.$name" <<<"$listed" || fail "ansible-doc -l does not list tcp.keepalive.$name: $(cat "$WORK/doc-list.err")"
done
# tools/release_checks.py doc: what a complete page has; also proves the page came from the installed
# copy (its path).
check_doc() {  # check_doc TYPE NAME
  local type="$1" name="$2" json
  ansible-doc -t "$type" "tcp.keepalive.$name" > "$WORK/doc-$type-$name.txt" 2> "$WORK/doc-$type-$name.err" \
    || fail "ansible-doc -t $type tcp.keepalive.$name failed: $(cat "$WORK/doc-$type-$name.err")"
  if grep -Ei '^\[?(WARNING|ERROR)' "$WORK/doc-$type-$name.err"; then
    fail "ansible-doc -t $type tcp.keepalive.$name warned (above)"
  fi
  [[ -s "$WORK/doc-$type-$name.txt" ]] || fail "ansible-doc -t $type tcp.keepalive.$name printed nothing"
  json="$(ansible-doc -t "$type" --json "tcp.keepalive.$name" 2>/dev/null)"
  python "$CHECKS" doc "$type" "tcp.keepalive.$name" "$installed" <<<"$json" \
    || fail "ansible-doc --json -t $type tcp.keepalive.$name: incomplete docs (above)"
}
for name in "${modules[@]}"; do check_doc module "$name"; done
ok "ansible-doc renders ${#modules[@]} modules from the installed copy: ${modules[*]}"

# Other documented plugin types (filter, test, lookup, ...): every name ansible-doc lists must render.
for type in filter test lookup callback inventory connection; do
  [[ -d "$installed/plugins/$type" ]] || continue
  names="$(ansible-doc -t "$type" -l tcp.keepalive 2>/dev/null | awk '{print $1}' | sed 's/^tcp\.keepalive\.//')"
  [[ -n "$names" ]] || fail "plugins/$type exists but ansible-doc -t $type -l lists nothing"
  for name in $names; do check_doc "$type" "$name"; done
  ok "ansible-doc -t $type renders: $(tr '\n' ' ' <<<"$names")"
done

roles=()
for dir in "$installed"/roles/*/; do roles+=("$(basename "$dir")"); done
((${#roles[@]} > 0)) || fail "no roles in the installed copy"
for name in "${roles[@]}"; do check_doc role "$name"; done
ok "ansible-doc -t role renders ${#roles[@]} roles: ${roles[*]}"

# --- 5. the audit playbook from the installed copy only --------------------------------------------------
# This machine is not configured to the policy (and must not be changed by a test), so the audit runs with
# tcp_keepalive_verify_fail_on=[]: findings never fail the host, but a module or role that breaks still
# does (the role reports such checks as errors). The run must end with failed=0 and write every report,
# and the JUnit file must hold this host's checks with no <error>.
[[ -f "$installed/playbooks/audit.yml" ]] || fail "playbooks/audit.yml is not in the installed copy"
report_dir="$WORK/reports"
mkdir -p "$report_dir"
# The interpreter is pinned to the controller's own Python: interpreter discovery on machines with pyenv
# can pick a shim (python3.13) that fails outside its pyenv version.
if ! ansible-playbook tcp.keepalive.audit -i localhost, -c local \
     -e 'ansible_python_interpreter={{ ansible_playbook_python }}' \
     -e '{"tcp_keepalive_verify_fail_on": []}' \
     -e "tcp_keepalive_verify_report_dir=$report_dir" > "$WORK/audit.log" 2>&1; then
  tail -40 "$WORK/audit.log" >&2
  fail "ansible-playbook tcp.keepalive.audit failed from the installed copy"
fi
grep -Eq 'localhost +: ok=[1-9][0-9]* .*failed=0' "$WORK/audit.log" \
  || { tail -20 "$WORK/audit.log" >&2; fail "audit recap does not show ok tasks with failed=0"; }
for report in fleet.json fleet.md fleet.html junit.xml hosts/localhost.json; do
  [[ -s "$report_dir/$report" ]] || { tail -20 "$WORK/audit.log" >&2; fail "the audit did not write $report"; }
done
python "$CHECKS" reports "$report_dir" || fail "the audit's reports are not what the installed copy should write"
if grep -F "$REPO" "$WORK/audit.log" | grep -v "$WORK" | head -3 | grep -q .; then
  fail "the audit run mentions the repository checkout ($REPO): it did not run from the installed copy only"
fi
ok "tcp.keepalive.audit ran from the installed copy and wrote every report"
log "galaxy test passed"
