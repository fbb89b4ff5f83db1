# microk8s-health: no rolling refresh starts while a node is NotReady or the datastore lacks its voters
if health=$({{health}} 2>&1); then
  report microk8s-health ok "$(printf '%s\n' "$health" | tail -n 1)"
else
  report microk8s-health fail "$(printf '%s\n' "$health" | tail -n 1 | sed 's/^ERROR: //')"
fi
