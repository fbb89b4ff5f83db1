# MicroK8s' automatic refreshes held, so that snapd never refreshes this node on its own schedule
snapd=$({{snapd_version}}) || snapd=""
if [ "$({{snap_held}})" = held ]; then
  echo "MicroK8s refreshes are held on {{node_text}} already"
elif printf '%s\n%s\n' {{hold_since}} "${snapd%%+*}" | sort -V -C; then
  snap refresh --hold microk8s
  echo "MicroK8s refreshes held on {{node_text}} (until snap refresh --unhold microk8s)"
elif systemhold=$(snap get system refresh.hold 2>/dev/null) && [ -n "$systemhold" ]; then
  echo "snapd $snapd on {{node_text}} has no snap refresh --hold: every snap's refreshes are held until $systemhold (refresh.hold); renew it before then" >&2
else
  echo "ERROR: snapd ${snapd:-(none)} on {{node_text}} is older than {{hold_since_text}} and cannot hold MicroK8s' refreshes: upgrade snapd, or run sudo snap set system refresh.hold=TIME (RFC 3339, at most 60 days ahead), then pulumi up again" >&2
  exit 1
fi
