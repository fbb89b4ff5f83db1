tracking=$({{snap_channel}})
if [ -z "$tracking" ]; then
  echo "ERROR: MicroK8s on {{main_text}} is not a snap (snap list microk8s shows none); the joining nodes cannot be given its channel" >&2
  exit 1
fi
{{pin_check}}printf '%s\n' "$tracking"
