#!/bin/sh
# What "changes nothing" means, as text to compare before and after: every sysctl configuration file
# (content hash, mode, owner, size, mtime; symlinks with their target) and the three live values.
# Shared by the audit_only, settings_audit and verify_* scenarios: run in the container by their
# prepare/audit tasks and by their testinfra tests (host.run).
for path in /etc/sysctl.conf /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
  [ -e "$path" ] || [ -L "$path" ] || continue
  find "$path" -xdev \( -type f -o -type l -o -type d \) 2>/dev/null
done | sort -u | while read -r file; do
  if [ -L "$file" ]; then echo "link $file -> $(readlink "$file")"
  elif [ -d "$file" ]; then echo "dir $(stat -c '%n %a %U %Y' "$file")"
  else echo "file $(stat -c '%n %a %U %s %Y' "$file") $(sha256sum < "$file" | cut -d' ' -f1)"; fi
done
for key in time intvl probes; do echo "live net.ipv4.tcp_keepalive_$key=$(cat /proc/sys/net/ipv4/tcp_keepalive_$key)"; done
