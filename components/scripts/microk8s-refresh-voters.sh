voters=$(timeout {{read_timeout}} microk8s status 2>/dev/null | {{datastore_voters}}) || voters=""
others=0
for voter in $voters; do [ "$voter" = {{self_datastore}} ] || others=$((others + 1)); done
if [ "$others" -lt {{other_voters}} ]; then
  echo "ERROR: the datastore has ${voters:-no voters} on {{node_text}}: without {{node_text}} it would keep $others voter(s), fewer than {{other_voters}}; {{nothing_text}}. Bring the datastore back to 3 voters (microk8s status) and run pulumi up again" >&2
  exit 1
fi
