{{due}}
# the first word tells this node's HAProxy steps whether to take it out of service; a renewal that
# is due waits for the rest of the cluster first
if [ -n "$due" ]; then
  {
{{gate}}
  } >&2   # what the gate found goes to the log: stdout's first word is the verdict
  echo "renew: {{node_text}} $due end within {{days}} days"
else
  echo "current: {{node_text}} no certificate ends within {{days}} days"
fi
{{facts}}
