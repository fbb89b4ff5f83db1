# before anything runs: is a refresh due on the main node (the last one a roll-out refreshes), and may it start?
if ! command -v microk8s >/dev/null 2>&1; then
  echo "no MicroK8s here yet: nothing to refresh"
  exit 0
fi
{{due}}
if [ "$due" = no ]; then
  echo "MicroK8s $why: no refresh to roll out"
  exit 0
fi
{{gate}}
echo "every other node Ready: a rolling refresh may start ({{node_text}} $why)"
