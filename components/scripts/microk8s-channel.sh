tracking=$(snap list microk8s 2>/dev/null | awk '$1 == "microk8s" { print $4 }')
if [ -z "$tracking" ]; then
  echo "ERROR: MicroK8s on {{main_text}} is not a snap (snap list microk8s shows none); the joining nodes cannot be given its channel" >&2
  exit 1
fi
{{pin_check}}printf '%s\n' "$tracking"
