# the backup off this node: to each place recorded by the backup-places step that is a datastore
# voter now (or a backup host), over SSH with this node's backup key and the places' pinned host
# keys; the place's forced command checks the sha256 and the archive, and keeps its own last {{keep}}
copied=""
places={{places}} leaving={{leaving}}
if [ -s "$places" ]; then
  voters=$(timeout 60 microk8s status 2>/dev/null | {{datastore_voters}}) || voters=""
  while read -r place address port user datastore; do
    if [ "$place" = "$leaving" ]; then continue; fi   # it leaves after this backup
    case "$datastore" in
      -) ;;
      *) case " $voters " in *" $datastore "*) ;; *) continue ;; esac ;;
    esac
    rc=0
    ssh -F /dev/null -i {{key}} -p "$port" -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
      -o UserKnownHostsFile={{known_hosts}} -o ConnectTimeout=15 -o LogLevel=ERROR \
      "$user@$address" "put $name $sum {{keep}}" < "$backup" >&2 || rc=$?
    if [ "$rc" != 0 ]; then
      echo "ERROR: the datastore backup $backup could not be copied to $place ($user@$address port $port; ssh exited $rc); nothing was changed. Bring $place back, or set elma365:install.datastoreBackups to 0 to go on without backups" >&2
      exit 1
    fi
    copied="$copied $place"
  done < "$places"
fi
echo "datastore backup $name copied to:${copied:- no other place (no other voter yet)}" >&2
