# recover: the datastore answers (a leader among the survivors), then each lost node is removed
if ! microk8s status --wait-ready --timeout {{timeout}} >/dev/null; then
  echo "ERROR: MicroK8s on {{node_text}} is not ready within {{timeout}} s after the recovery" >&2
  exit 1
fi
lost_nodes=({{lost}})
for lost in "${lost_nodes[@]}"; do
  if out=$(microk8s remove-node "$lost" --force 2>&1); then
    echo "$lost removed"
  elif printf '%s\n' "$out" | grep -F 'does not exist' >/dev/null; then
    echo "$lost was removed before"
  else
    printf '%s\n' "$out" >&2
    exit 1
  fi
done
echo "the datastore answers on {{node_text}}"
