if ! {{in_kubernetes}}; then
  echo "{{node_text}} is not in the cluster; nothing to drain"
  exit 0
fi
{{backup}}
if ! microk8s kubectl drain {{node}} --ignore-daemonsets --delete-emptydir-data --timeout={{timeout_seconds}}s; then
  echo "ERROR: {{node_text}} could not be drained within {{timeout_seconds}} s (a pod that cannot move, or a disruption budget); see 'microk8s kubectl get pods -A -o wide' on {{main_text}}, fix it and run pulumi up again" >&2
  exit 1
fi
echo "{{node_text}} drained"
