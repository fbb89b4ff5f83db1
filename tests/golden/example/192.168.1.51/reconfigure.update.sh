#!/bin/bash
# run as: bash -c <this script>
ADOPT=1
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/snap/bin"
set -euo pipefail
IFS= read -r want || true
[ -n "$want" ] || { echo "ERROR: settings: no settings digest on stdin" >&2; exit 1; }
applied=/var/lib/elma365-cluster/applied/settings
if [ -e "$applied" ]; then have=$(cat "$applied")
elif [ "${ADOPT:-0}" = 1 ]; then have=$want; echo "settings: applied by an earlier version of elma365-cluster"
else have=''
fi
if [ "$have" = "$want" ]; then
  mkdir -p /var/lib/elma365-cluster/applied && chmod 700 /var/lib/elma365-cluster/applied && printf '%s\n' "$want" > "$applied.tmp" && mv -f "$applied.tmp" "$applied"
  echo "settings: already applied here; nothing to do"
  exit 0
fi
umask 077
workdir=$(mktemp -d /tmp/elma365-cluster.XXXXXX)
trap 'rm -rf "$workdir"' EXIT
driver="$workdir/reconfigure.exp"
cat > "$driver"
if ! command -v expect >/dev/null 2>&1; then
  echo "installing expect (needed for expect)" >&2
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q expect >&2 || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q expect >&2; }
  elif command -v dnf >/dev/null 2>&1; then dnf install -y -q expect >&2
  elif command -v yum >/dev/null 2>&1; then yum install -y -q expect >&2
  else echo "ERROR: expect is missing and no known package manager is available to install expect" >&2; exit 1
  fi
fi
if ! microk8s dbctl --help >/dev/null 2>&1; then
  echo "WARNING: this MicroK8s has no 'microk8s dbctl': no datastore backup before the settings (HA mode) change" >&2
else
  mkdir -p /var/lib/elma365-cluster/backups && chmod 700 /var/lib/elma365-cluster/backups
  backup=/var/lib/elma365-cluster/backups/datastore-$(date -u +%Y%m%dT%H%M%SZ)
  rc=0; microk8s dbctl backup -o "$backup" >&2 || rc=$?
  if [ "$rc" = 10 ]; then
    echo "WARNING: microk8s dbctl cannot back up here (API server down, or no ha-cluster datastore): no datastore backup before the settings (HA mode) change" >&2
  elif [ "$rc" != 0 ]; then
    echo "ERROR: the datastore backup before the settings (HA mode) change failed (microk8s dbctl exited $rc); nothing was changed. Fix it, or set elma365:install.datastoreBackups to 0" >&2
    exit 1
  else
    echo "datastore backed up to $backup.tar.gz before the settings (HA mode) change" >&2
    find /var/lib/elma365-cluster/backups -maxdepth 1 -name 'datastore-*.tar.gz' | sort -r | tail -n +6 | xargs -r rm -f
  fi
fi
echo "reconfiguring ELMA365 on elma365-1"
expect -f "$driver" -- elma365ctl reconfigure
mkdir -p /var/lib/elma365-cluster/applied && chmod 700 /var/lib/elma365-cluster/applied && printf '%s\n' "$want" > "$applied.tmp" && mv -f "$applied.tmp" "$applied"
