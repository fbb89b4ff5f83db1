# which of {{node_text}}'s certificates that pulumi up renews end within {{days}} days, or have ended
# (`openssl x509 -checkend`): `due`, their names
ssl=$(command -v openssl 2>/dev/null) || ssl={{snap_openssl}}
due=""
for cert in {{renewed}}; do
  if [ ! -f {{certs_dir}}/"$cert" ]; then
    echo "ERROR: {{node_text}} has no {{certs_dir_text}}/$cert: its MicroK8s is not the one this program installed or joined; see microk8s refresh-certs -c on {{node_text}}" >&2
    exit 1
  fi
  if ! "$ssl" x509 -checkend {{seconds}} -noout -in {{certs_dir}}/"$cert" >/dev/null 2>&1; then
    due="$due${due:+ }$cert"
  fi
done
