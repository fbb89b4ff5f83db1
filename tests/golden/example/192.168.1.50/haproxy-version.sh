#!/bin/bash
# run as: bash -c <this script>
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/snap/bin"
set -euo pipefail
if ! command -v haproxy >/dev/null 2>&1; then
  if ! command -v haproxy >/dev/null 2>&1; then
  echo "installing haproxy (needed for haproxy)" >&2
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy >&2 || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy >&2; }
  elif command -v dnf >/dev/null 2>&1; then dnf install -y -q haproxy >&2
  elif command -v yum >/dev/null 2>&1; then yum install -y -q haproxy >&2
  else echo "ERROR: haproxy is missing and no known package manager is available to install haproxy" >&2; exit 1
  fi
fi
  # a package install does not start HAProxy everywhere (dnf, yum): enable and start it
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl enable --now haproxy; fi
fi
v=$(haproxy -v 2>&1)
printf '%s\n' "${v%%$'\n'*}"
