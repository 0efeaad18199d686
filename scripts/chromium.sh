#!/usr/bin/env bash
# Install headless Chromium (Debian package) for the fleet page test, when it is missing.
# tests/integration/test_fleet_page_browser.py renders fleet.html in it and reads the DOM it built.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  printf '==> chromium present: %s\n' "$(chromium --version 2>/dev/null || echo unknown)" >&2
  exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
  printf 'ERROR: chromium is missing and installing it needs root (apt-get install chromium)\n' >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
printf '==> installed %s\n' "$(chromium --version)" >&2
