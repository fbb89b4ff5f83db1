# `make restore`: the backup checked on the main node (mode check prints "<bytes> <epoch> <path>";
# restore checks it again and hands it to `microk8s dbctl restore`)
{{backup_lib}}
file={{file}} mode={{mode}}
case "$file" in /*) ;; *) file={{backup_dir}}/$file ;; esac
if ! why=$(backup_check "$file"); then
  echo "ERROR: $file is no datastore backup: $why; nothing was restored" >&2
  exit 1
fi
if [ -f "$file.sha256" ] && ! why=$(backup_sum_check "$file"); then
  echo "ERROR: $file does not match its checksum: $why; nothing was restored" >&2
  exit 1
fi
if [ "$mode" = check ]; then
  echo "$(stat -c '%s %Y' "$file") $file"
  exit 0
fi
microk8s dbctl restore "$file"
