# {{node_text}} out of HAProxy's service on {{host_text}} before its {{operation_text}}: no new request goes there,
# and the ones in progress end first
verdict=""; read -r verdict _ || true   # the check's stdout has no last newline
if [ "$verdict" != {{verdict}} ]; then
  echo "{{node_text}} {{skipped_text}}: HAProxy on {{host_text}} goes on sending it requests"
  exit 0
fi
{{admin}}
out=$(admin "set server {{backend}}/{{node}} state drain")
if [ -n "$out" ]; then
  echo "ERROR: HAProxy on {{host_text}} refused to drain {{backend_text}}/{{node_text}}: $out" >&2
  exit 1
fi
deadline=$((SECONDS + {{idle_timeout}}))
until [ "$(server_stat scur)" = 0 ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 1; done
echo "{{node_text}} drained on HAProxy {{host_text}} (requests in progress: $(server_stat scur))"
