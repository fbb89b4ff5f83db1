# {{node_text}}'s certificates that end within {{days}} days renewed by MicroK8s (`microk8s refresh-certs -e`:
# a backup in certs-backup/, a new certificate from the node's CA, its services restarted), one at a
# time, then the node Ready again. Safe to re-run: a certificate renewed already is no longer due.
{{due}}
if [ -z "$due" ]; then
  echo "{{node_text}}: no certificate ends within {{days}} days: nothing to renew"
else
{{gate}}
  for cert in $due; do
    echo "{{node_text}}: microk8s refresh-certs -e $cert"
    if ! microk8s refresh-certs -e "$cert"; then
      echo "ERROR: microk8s refresh-certs -e $cert failed on {{node_text}} (it puts the certificates it backed up back where it can); see microk8s refresh-certs -c on {{node_text}}, microk8s refresh-certs -u undoes the last refresh; then run pulumi up again" >&2
      exit 1
    fi
  done
{{ready_wait}}
  echo "{{node_text}}: $due renewed, Ready"
fi
{{facts}}
