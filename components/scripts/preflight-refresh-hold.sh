# refresh-hold: snapd must hold MicroK8s' automatic refreshes on this node (README: "MicroK8s under control")
if [ -z "$snapd" ] || [ "$snapd" = absent ]; then
  report refresh-hold ok "no snapd yet: MicroK8s comes with it, then its refreshes are held"
elif printf '%s\n%s\n' {{hold_since}} "${snapd%%+*}" | sort -V -C; then
  report refresh-hold ok "snapd $snapd holds MicroK8s' refreshes (snap refresh --hold microk8s)"
elif [ -n "$systemhold" ] && [ "$systemhold" != none ]; then
  report refresh-hold warn "snapd $snapd is older than {{hold_since_text}} (no snap refresh --hold); every snap's refreshes are held until $systemhold (refresh.hold): renew it before then"
else
  report refresh-hold fail "snapd $snapd on {{node_text}} is older than {{hold_since_text}} and cannot hold one snap's refreshes (snap refresh --hold): upgrade snapd, or hold every snap's refreshes with sudo snap set system refresh.hold=TIME (RFC 3339, at most 60 days ahead) and renew it"
fi
