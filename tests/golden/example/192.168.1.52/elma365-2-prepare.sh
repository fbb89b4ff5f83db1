#!/bin/bash
# run as: bash -c <this script>
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/snap/bin"
set -euo pipefail
IFS= read -r channel || true
channel_pattern='^[0-9a-z.]+/[a-z]+$'
if ! [[ "$channel" =~ $channel_pattern ]]; then
  echo "ERROR: no usable MicroK8s channel from elma365-1 for elma365-2: '$channel'" >&2
  exit 1
fi
if command -v microk8s >/dev/null 2>&1; then
  tracking=$(snap list microk8s 2>/dev/null | awk '$1 == "microk8s" { print $4 }')
  if [ "$tracking" = "$channel" ] || [ -f /var/lib/elma365-cluster/joined ]; then
    echo "MicroK8s ($tracking) is already installed on elma365-2"
  else
    echo "MicroK8s on elma365-2 tracks ${tracking:-an unknown channel}; moving it to $channel, as on elma365-1"
    snap refresh microk8s --channel="$channel"
  fi
else
  if ! command -v snap >/dev/null 2>&1; then
  echo "installing snapd (needed for snap)" >&2
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q snapd >&2 || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q snapd >&2; }
  elif command -v dnf >/dev/null 2>&1; then dnf install -y -q snapd >&2
  elif command -v yum >/dev/null 2>&1; then yum install -y -q snapd >&2
  else echo "ERROR: snap is missing and no known package manager is available to install snapd" >&2; exit 1
  fi
fi
  snap install microk8s --classic --channel="$channel"
fi

command -v elma365ctl >/dev/null 2>&1 || { echo "ERROR: elma365ctl is missing on elma365-2; HA mode runs 'elma365ctl update-hamode' on every node" >&2; exit 1; }
