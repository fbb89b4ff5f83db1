# {{node_text}} back in HAProxy's service on {{host_text}} after its {{operation_text}}, and UP (its health
# checks pass) before the next node goes
verdict=""; read -r verdict _ || true   # the check's stdout has no last newline
if [ "$verdict" != {{verdict}} ]; then
  echo "{{node_text}} {{skipped_text}}: HAProxy on {{host_text}} left as it is"
  exit 0
fi
{{admin}}
case $(server_stat status) in
  MAINT*)
    echo "WARNING: {{backend_text}}/{{node_text}} is in maintenance on HAProxy {{host_text}} (set by hand): left so" >&2
    exit 0 ;;
esac
# drained (UP or DOWN, as its checks saw the refresh): in service again
out=$(admin "set server {{backend}}/{{node}} state ready")
if [ -n "$out" ]; then
  echo "ERROR: HAProxy on {{host_text}} refused to put {{backend_text}}/{{node_text}} back in service: $out" >&2
  exit 1
fi
deadline=$((SECONDS + {{up_timeout}}))
until status=$(server_stat status) && [ "$status" = UP ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "ERROR: {{backend_text}}/{{node_text}} is $status on HAProxy {{host_text}} {{up_timeout}} s after its {{short_text}} (its health checks fail): the roll-out stops here; see curl on {{node_text}}'s ELMA365 port, then run pulumi up again" >&2
    exit 1
  fi
  sleep 1
done
echo "{{node_text}} UP on HAProxy {{host_text}}"
