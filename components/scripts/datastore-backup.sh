if ! microk8s dbctl --help >/dev/null 2>&1; then
  echo "WARNING: this MicroK8s has no 'microk8s dbctl': no datastore backup before {{before}}" >&2
else
  {{backup_lib}}
  mkdir -p {{backup_dir}} && chown root: {{backup_dir}} && chmod 700 {{backup_dir}}
  name=datastore-$(date -u +%Y%m%dT%H%M%SZ).tar.gz
  backup={{backup_dir}}/$name
  rc=0; (umask 077; microk8s dbctl backup -o "$backup") >&2 || rc=$?
  if [ "$rc" = 10 ]; then
    echo "WARNING: microk8s dbctl cannot back up here (API server down, or no ha-cluster datastore): no datastore backup before {{before}}" >&2
  elif [ "$rc" != 0 ]; then
    echo "ERROR: the datastore backup before {{before}} failed (microk8s dbctl exited $rc); nothing was changed. Fix it, or set elma365:install.datastoreBackups to 0" >&2
    exit 1
  elif ! why=$(backup_check "$backup"); then
    mv -f "$backup" "$backup.rejected" 2>/dev/null || true
    echo "ERROR: the datastore backup before {{before}}, $backup, is no backup: $why (MicroK8s #4308: microk8s dbctl backup can exit 0 and write an archive of an empty folder); it is kept as $backup.rejected. Nothing was changed. Take a backup that holds the datastore (sudo microk8s dbctl backup), or set elma365:install.datastoreBackups to 0 to go on without backups" >&2
    exit 1
  else
    chmod 600 "$backup"
    sum=$(sha256sum "$backup" | cut -d' ' -f1)
    printf '%s  %s\n' "$sum" "$name" > "$backup.sha256" && chmod 600 "$backup.sha256"
    echo "datastore backed up to $backup before {{before}} (checked: it opens and holds the datastore)" >&2
    backup_prune {{backup_dir}} {{keep}}
    {{copy}}
  fi
fi
