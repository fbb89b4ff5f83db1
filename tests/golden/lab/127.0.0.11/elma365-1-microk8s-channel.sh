#!/bin/bash
# run as: bash -c <this script>
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/snap/bin"
set -euo pipefail
tracking=$(snap list microk8s 2>/dev/null | awk '$1 == "microk8s" { print $4 }')
if [ -z "$tracking" ]; then
  echo "ERROR: MicroK8s on elma365-1 is not a snap (snap list microk8s shows none); the joining nodes cannot be given its channel" >&2
  exit 1
fi
printf '%s\n' "$tracking"
