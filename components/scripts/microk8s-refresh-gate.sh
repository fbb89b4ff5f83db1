# no node is refreshed while another one is down, or while the datastore would lose its quorum
if ! nodes=$(timeout {{read_timeout}} microk8s kubectl get nodes --no-headers 2>&1); then
  echo "ERROR: the cluster's nodes cannot be read on {{node_text}} (microk8s kubectl get nodes: $nodes): {{nothing_text}}" >&2
  exit 1
fi
notready=$(printf '%s\n' "$nodes" | awk -v me={{node}} 'NF && $1 != me { split($2, s, ","); if (s[1] != "Ready") printf "%s%s", (n++ ? " " : ""), $1 }')
if [ -n "$notready" ]; then
  echo "ERROR: $notready NotReady: {{rule_text}}; bring it back (microk8s kubectl get nodes) and run pulumi up again" >&2
  exit 1
fi
{{voters_gate}}