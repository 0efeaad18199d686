#!/usr/bin/env bash
# Install the real servers and runtimes tests/integration/test_real_servers.py runs (Debian packages only),
# without starting any of them: Debian's policy-rc.d convention (exit 101) keeps postinst scripts from
# starting daemons on the host; the test starts each one itself inside a private network namespace.
# Idempotent: apt is called only when a package is missing (apt-get update once, then install).
set -euo pipefail

PACKAGES=(postgresql mariadb-server golang-go nodejs default-jdk-headless socat libkeepalive0 netcat-openbsd
          python3)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "real-servers: all installed (${PACKAGES[*]})"
  exit 0
fi

policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  made_policy=1
fi
cleanup() { if [[ $made_policy -eq 1 ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

echo "real-servers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
