#!/usr/bin/env bash
# Build the local base images the Molecule scenarios use, only when a tag is missing.
# No registry is reachable: each image is a debootstrap minbase tree imported with `docker import`.
#   tcp-keepalive/debian:bullseye   Python 3.9
#   tcp-keepalive/debian:bookworm   Python 3.11
#   tcp-keepalive/debian:trixie     Python 3.13
#   tcp-keepalive/debian:minimal    bookworm without procps: no sysctl binary at all
source "$(dirname "$0")/lib.sh"

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# systemd brings the real systemd-sysctl loader (not run as PID 1); tcpdump and netcat serve dead_peer.
FULL_PACKAGES="python3,iproute2,procps,iptables,tcpdump,netcat-openbsd,systemd"
MINIMAL_PACKAGES="python3,iproute2,iptables"

command -v debootstrap >/dev/null 2>&1 || {
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

build() {  # build TAG SUITE PACKAGES
  local tag="$1" suite="$2" packages="$3" dir
  if docker image inspect "$tag" >/dev/null 2>&1; then return 0; fi
  dir="$(mktemp -d /var/tmp/tcp-keepalive-rootfs.XXXXXX)"
  log "debootstrap $suite -> $tag"
  if ! debootstrap --variant=minbase --include="$packages" "$suite" "$dir" "$MIRROR" \
      > "$dir.log" 2>&1; then
    tail -20 "$dir.log" >&2; rm -rf "$dir" "$dir.log"; return 1
  fi
  if [[ "$tag" == *:minimal ]]; then
    # minbase may still pull procps in as a dependency of something; the image must not have it.
    chroot "$dir" dpkg --purge --force-depends procps >/dev/null 2>&1 || true
    [[ ! -e "$dir/sbin/sysctl" && ! -e "$dir/usr/sbin/sysctl" ]] || { log "sysctl still in $tag"; return 1; }
  fi
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import -c 'CMD ["sleep", "infinity"]' - "$tag" >/dev/null
  rm -rf "$dir" "$dir.log"
  log "built $tag"
}

pids=()
build tcp-keepalive/debian:bullseye bullseye "$FULL_PACKAGES" & pids+=($!)
build tcp-keepalive/debian:bookworm bookworm "$FULL_PACKAGES" & pids+=($!)
build tcp-keepalive/debian:trixie   trixie   "$FULL_PACKAGES" & pids+=($!)
build tcp-keepalive/debian:minimal  bookworm "$MINIMAL_PACKAGES" & pids+=($!)
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
[[ $rc -eq 0 ]] || die "an image build failed"
