if ! {{in_kubernetes}}; then
  echo "{{node_text}} is not in the cluster; nothing to remove"
  exit 0
fi
{{remove}}
