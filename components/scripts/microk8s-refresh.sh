# one node's MicroK8s refreshed as MicroK8s' guidance has it: drained, refreshed, Ready again (with the
# datastore's voters), uncordoned. Safe to re-run: a node already refreshed is only uncordoned.
# A run interrupted during `snap refresh` leaves snapd finishing it: its MicroK8s answers again first.
deadline=$((SECONDS + {{ready_timeout}}))
until timeout {{read_timeout}} microk8s kubectl get nodes >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "ERROR: MicroK8s on {{node_text}} does not answer (microk8s kubectl get nodes) after {{ready_timeout}} s, so it is not refreshed: see snap changes and microk8s inspect on {{node_text}}, then run pulumi up again" >&2
    exit 1
  fi
  sleep 2
done
{{due}}
if [ "$due" = no ]; then
  if [ -f {{cordon_mark}} ]; then
    microk8s kubectl uncordon {{node}}
    rm -f {{cordon_mark}}
  fi
  echo "{{node_text}}: MicroK8s $why: nothing to refresh"
  exit 0
fi
{{gate}}
mkdir -p {{state_dir}} && touch {{cordon_mark}}
if ! microk8s kubectl drain {{node}} --ignore-daemonsets --delete-emptydir-data --timeout={{drain_timeout}}s; then
  echo "ERROR: {{node_text}} could not be drained within {{drain_timeout}} s (a pod that cannot move, or a disruption budget), so its MicroK8s was not refreshed; it stays cordoned. See microk8s kubectl get pods -A -o wide, fix it and run pulumi up again (or microk8s kubectl uncordon {{node_text}} to leave it as it was)" >&2
  exit 1
fi
echo "{{node_text}} drained; snap refresh microk8s --channel=$want"
if ! snap refresh microk8s --channel="$want"; then
  echo "ERROR: snap refresh microk8s --channel=$want failed on {{node_text}} (snapd puts the previous revision back when it can); the node stays drained and cordoned. See snap changes and journalctl -u snap.microk8s.daemon-kubelite on {{node_text}}, then run pulumi up again" >&2
  exit 1
fi
{{ready_wait}}
microk8s kubectl uncordon {{node}}
rm -f {{cordon_mark}}
{{record_refresh}}echo "{{node_text}}: MicroK8s refreshed ($(snap list microk8s | awk '$1 == "microk8s" { print $2 " rev " $3 " " $4 }')), Ready, uncordoned"
