if ! command -v microk8s >/dev/null 2>&1; then
  echo "MicroK8s is not installed on {{node_text}}; nothing to leave"
  exit 0
fi
if ! status=$(microk8s status 2>&1); then
  echo "ERROR: MicroK8s is not running on {{node_text}}, so it can neither leave the cluster nor tell whether it is still a member. Start it (microk8s start) and run pulumi up again; if {{node_text}} is dead, set its decommission to \"force\"" >&2
  exit 1
fi
if ! printf '%s\n' "$status" | grep -F {{main_datastore}} >/dev/null; then
  rm -rf {{joined_marker}} {{applied_dir}}
  echo "{{node_text}} is not a member of the cluster at {{main_address_text}}; nothing to leave"
  exit 0
fi
{{quorum_gate}}
microk8s leave
rm -rf {{joined_marker}} {{applied_dir}}
echo "{{node_text}} left the cluster"
