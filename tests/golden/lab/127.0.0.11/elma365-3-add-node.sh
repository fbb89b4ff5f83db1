#!/bin/bash
# run as: bash -c <this script>
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/snap/bin"
set -euo pipefail
if microk8s kubectl get node elma365-3 >/dev/null 2>&1; then
  echo ELMA365_CLUSTER_NODE_ALREADY_MEMBER
  exit 0
fi
if ! microk8s dbctl --help >/dev/null 2>&1; then
  echo "WARNING: this MicroK8s has no 'microk8s dbctl': no datastore backup before elma365-3 joins" >&2
else
  mkdir -p /var/lib/elma365-cluster/backups && chmod 700 /var/lib/elma365-cluster/backups
  backup=/var/lib/elma365-cluster/backups/datastore-$(date -u +%Y%m%dT%H%M%SZ)
  rc=0; microk8s dbctl backup -o "$backup" >&2 || rc=$?
  if [ "$rc" = 10 ]; then
    echo "WARNING: microk8s dbctl cannot back up here (API server down, or no ha-cluster datastore): no datastore backup before elma365-3 joins" >&2
  elif [ "$rc" != 0 ]; then
    echo "ERROR: the datastore backup before elma365-3 joins failed (microk8s dbctl exited $rc); nothing was changed. Fix it, or set elma365:install.datastoreBackups to 0" >&2
    exit 1
  else
    echo "datastore backed up to $backup.tar.gz before elma365-3 joins" >&2
    find /var/lib/elma365-cluster/backups -maxdepth 1 -name 'datastore-*.tar.gz' | sort -r | tail -n +6 | xargs -r rm -f
  fi
fi
elma365ctl add-node
