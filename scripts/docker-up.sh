#!/usr/bin/env bash
# Make sure a Docker engine answers: install docker.io when dockerd is missing, start dockerd in the
# background when nothing answers, and wait for its socket. No image is pulled (no registry here).
source "$(dirname "$0")/lib.sh"

if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io >/dev/null
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  log "starting dockerd (log: /var/log/tcp-keepalive-dockerd.log)"
  # setsid: the engine must outlive this script but not hold the caller's terminal.
  setsid dockerd >/var/log/tcp-keepalive-dockerd.log 2>&1 < /dev/null &
fi
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 1
done
tail -20 /var/log/tcp-keepalive-dockerd.log >&2 || true
die "dockerd did not answer within 60 s"
