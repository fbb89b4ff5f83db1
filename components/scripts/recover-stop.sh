# recover: MicroK8s stopped (its datastore with it), so that nothing writes while the log is rewritten
if command -v microk8s >/dev/null 2>&1; then
  microk8s stop >/dev/null
fi
echo "MicroK8s stopped on {{node_text}}"
