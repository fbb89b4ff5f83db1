#!/bin/bash
# run as: bash -c <this script>
ADOPT=1
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/snap/bin"
set -euo pipefail
IFS= read -r want || true
[ -n "$want" ] || { echo "ERROR: hamode: no settings digest on stdin" >&2; exit 1; }
applied=/var/lib/elma365-cluster/applied/hamode
if [ -e "$applied" ]; then have=$(cat "$applied")
elif [ "${ADOPT:-0}" = 1 ]; then have=$want; echo "hamode: applied by an earlier version of elma365-cluster"
else have=5acf3ff77b4420677b5923071f303fac
fi
if [ "$have" = "$want" ]; then
  mkdir -p /var/lib/elma365-cluster/applied && chmod 700 /var/lib/elma365-cluster/applied && printf '%s\n' "$want" > "$applied.tmp" && mv -f "$applied.tmp" "$applied"
  echo "hamode: already applied here; nothing to do"
  exit 0
fi

elma365ctl update-hamode
microk8s status --wait-ready --timeout 600 >/dev/null

mkdir -p /var/lib/elma365-cluster/applied && chmod 700 /var/lib/elma365-cluster/applied && printf '%s\n' "$want" > "$applied.tmp" && mv -f "$applied.tmp" "$applied"
echo "HA settings applied on elma365-1"
