if ! microk8s dbctl --help >/dev/null 2>&1; then
  echo "WARNING: this MicroK8s has no 'microk8s dbctl': no datastore backup before {{before}}" >&2
else
  mkdir -p {{backup_dir}} && chmod 700 {{backup_dir}}
  backup={{backup_dir}}/datastore-$(date -u +%Y%m%dT%H%M%SZ)
  rc=0; microk8s dbctl backup -o "$backup" >&2 || rc=$?
  if [ "$rc" = 10 ]; then
    echo "WARNING: microk8s dbctl cannot back up here (API server down, or no ha-cluster datastore): no datastore backup before {{before}}" >&2
  elif [ "$rc" != 0 ]; then
    echo "ERROR: the datastore backup before {{before}} failed (microk8s dbctl exited $rc); nothing was changed. Fix it, or set elma365:install.datastoreBackups to 0" >&2
    exit 1
  else
    echo "datastore backed up to $backup.tar.gz before {{before}}" >&2
    find {{backup_dir}} -maxdepth 1 -name 'datastore-*.tar.gz' | sort -r | tail -n +{{keep_from}} | xargs -r rm -f
  fi
fi
