# microk8s-refresh: MicroK8s moves one minor version at a time, and never back
tracking=$(printf '%s\n' "$facts" | awk '$1 == "FACT" && $3 == "microk8s" { print $4 }')
minor_of() { printf '%s\n' "${1%%/*}" | awk -F. '/^[0-9]+\.[0-9]+$/ { print $1 * 1000 + $2 }'; }
have=$(minor_of "$tracking"); want=$(minor_of {{pin}})
case $tracking in
  "" | absent | unknown)
    report microk8s-refresh ok "no MicroK8s snap here yet: it gets {{pin_text}} from the main node" ;;
  {{pin}})
    report microk8s-refresh ok "tracks {{pin_text}}" ;;
  *)
    if [ -z "$have" ] || [ -z "$want" ]; then
      report microk8s-refresh fail "tracks $tracking; elma365:install.microk8sChannel is {{pin_text}}: a refresh between tracks that are not MAJOR.MINOR cannot be checked, so it is not made. Pin $tracking, or move {{node_text}} by hand"
    elif [ "$want" -lt "$have" ]; then
      report microk8s-refresh fail "tracks $tracking; elma365:install.microk8sChannel {{pin_text}} is older: MicroK8s is never downgraded. Pin $tracking"
    elif [ "$want" -gt $((have + 1)) ]; then
      report microk8s-refresh fail "tracks $tracking; elma365:install.microk8sChannel {{pin_text}} is more than one minor version ahead: MicroK8s upgrades one minor version at a time. Pin the next one first"
    else
      report microk8s-refresh ok "tracks $tracking: a rolling refresh takes it to {{pin_text}}"
    fi ;;
esac
