# What makes an archive a datastore backup, and the retention: shared by the main node, the
# places its backups are copied to, `make restore` and `make verify`.
# backup_check FILE: nothing when FILE is a backup; else why not, and status 1. An archive of an empty
# folder, which `microk8s dbctl backup` can write with exit 0 (MicroK8s #4308), is not one.
backup_check() {
  local size listing
  if [ ! -f "$1" ]; then echo "there is no such file"; return 1; fi
  size=$(stat -c %s "$1")
  if [ "$size" -lt {{floor}} ]; then echo "it has $size bytes, fewer than {{floor}}"; return 1; fi
  if ! listing=$(tar -tvzf "$1" 2>/dev/null); then echo "tar -tzf cannot read it"; return 1; fi
  if ! printf '%s\n' "$listing" | awk '$1 ~ /^-/ && $3 > 0 { found = 1 } END { exit !found }'; then
    echo "it holds no file with data (an empty datastore folder)"; return 1
  fi
}
# backup_sum_check FILE: nothing when FILE.sha256 names FILE's sha256; else why not, and status 1
backup_sum_check() {
  local want got
  want=$(cut -d' ' -f1 "$1.sha256" 2>/dev/null) || want=""
  if [ -z "$want" ]; then echo "no checksum file $1.sha256"; return 1; fi
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then echo "sha256 $got, not $want as $1.sha256 says"; return 1; fi
}
# backup_prune DIR KEEP: the newest KEEP backups of DIR kept, each with its checksum file
backup_prune() {
  find "$1" -maxdepth 1 -name 'datastore-*.tar.gz' | sort -r | tail -n +$(($2 + 1)) |
    while read -r old; do rm -f "$old" "$old.sha256"; done
}
