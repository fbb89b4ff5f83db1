deadline=$((SECONDS + {{ready_timeout}}))
until status=$(microk8s kubectl get node {{node}} --no-headers 2>/dev/null | awk '{ split($2, s, ","); print s[1] }') &&
      [ "$status" = Ready ] &&
      voters=$(microk8s status 2>/dev/null | {{datastore_voters}}) && [ "$(printf '%s\n' "$voters" | wc -w)" -ge {{want_voters}} ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "ERROR: {{node_text}} is not Ready with {{want_voters}} datastore voter(s) {{ready_timeout}} s after {{after}} (node: ${status:-no answer}; voters: ${voters:-none}); {{outcome_text}}. See microk8s inspect on {{node_text}}, then run pulumi up again" >&2
    exit 1
  fi
  sleep 2
done
