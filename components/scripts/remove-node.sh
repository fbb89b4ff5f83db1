if {{still_member}}; then
  echo "ERROR: {{node_text}} has not left the cluster (it is still a datastore member); it was not removed. Run pulumi up again once it can leave, or, if it is dead, set its decommission to \"force\"" >&2
  exit 1
fi
{{quorum_gate}}
microk8s remove-node {{node}}
echo "{{node_text}} removed from the cluster"
