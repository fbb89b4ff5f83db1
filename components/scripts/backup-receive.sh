#!/bin/bash
# Installed by elma365-cluster: the forced command of the main node's backup key (authorized_keys).
# backup-receive DIR "put NAME SHA256 KEEP" (DIR: set in authorized_keys; the rest: what the main node
# asks) with the archive on stdin: it is written into DIR only if it arrives whole (sha256) and is a
# datastore backup, with its checksum file beside it; the last KEEP are kept.
set -euo pipefail
umask 077
{{backup_lib}}
dir=${1:?the folder}
read -r verb name sum keep extra <<< "${2:-}" || true
if [ "${verb:-}" != put ] || [ -n "${extra:-}" ] || ! [[ ${name:-} =~ ^datastore-[0-9]{8}T[0-9]{6}Z\.tar\.gz$ ]] ||
   ! [[ ${sum:-} =~ ^[0-9a-f]{64}$ ]] || ! [[ ${keep:-} =~ ^[0-9]{1,3}$ ]]; then
  echo "backup-receive: this key only copies a datastore backup in: put datastore-<time>.tar.gz <sha256> <keep>" >&2
  exit 2
fi
mkdir -p "$dir" && chown root: "$dir" && chmod 700 "$dir"
part="$dir/.$name.part"
trap 'rm -f "$part"' EXIT
cat > "$part"
got=$(sha256sum "$part" | cut -d' ' -f1)
if [ "$got" != "$sum" ]; then
  echo "ERROR: $name arrived on $(hostname) with sha256 $got, not $sum" >&2
  exit 1
fi
if ! why=$(backup_check "$part"); then
  echo "ERROR: $name arrived on $(hostname) but is no backup: $why" >&2
  exit 1
fi
printf '%s  %s\n' "$sum" "$name" > "$dir/$name.sha256"
mv -f "$part" "$dir/$name"
backup_prune "$dir" "$keep"
echo "$name copied to $(hostname):$dir, sha256 checked"
