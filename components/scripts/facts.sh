# What this node runs, read-only: the marks of this program, ELMA365 (its tool, its workloads in
# the MicroK8s of this node), MicroK8s and its channel, and the members of its datastore.
fact() { echo "FACT {{node}} $*"; }
marker=none
if [ -f {{installed_marker}} ]; then marker=installed; elif [ -f {{joined_marker}} ]; then marker=joined; fi
ctl=absent
if command -v elma365ctl >/dev/null 2>&1; then ctl=present; fi
microk8s=absent; datastore=none; workloads=0
if command -v microk8s >/dev/null 2>&1; then
  channel=$({{snap_channel}}) || channel=""
  microk8s=${channel:-unknown}
  if status=$(timeout {{timeout}} microk8s status 2>&1); then
    # voters and standbys: a lone MicroK8s lists only 127.0.0.1:19001
    datastore=$(printf '%s\n' "$status" | {{datastore_members}})
    datastore=${datastore:-none}
    if pods=$(timeout {{timeout}} microk8s kubectl get pods -n {{namespace}} --no-headers 2>/dev/null); then
      workloads=$(printf '%s\n' "$pods" | awk 'NF { n++ } END { print n + 0 }')
    else workloads=unknown
    fi
  else datastore=unknown; workloads=unknown
  fi
fi
if [ "$workloads" = unknown ]; then elma365=unknown
elif [ "$workloads" -gt 0 ]; then elma365=present
else elma365=absent
fi
snapd=$({{snapd_version}}) || snapd=""
refreshes=absent
if [ "$microk8s" != absent ]; then refreshes=$({{snap_held}}) || refreshes=""; fi
systemhold=$(snap get system refresh.hold 2>/dev/null) || systemhold=""
case $datastore in
  {{membership_lone}}|none) membership=lone ;;
  unknown) membership=unknown ;;
  *) membership=member ;;
esac
fact marker "$marker"
fact elma365ctl "$ctl"
fact microk8s "$microk8s"
fact datastore "$datastore"
fact membership "$membership"
fact workloads "$workloads"
fact elma365 "$elma365"
fact snapd "${snapd:-absent}"
fact refreshes "${refreshes:-unknown}"
fact systemhold "${systemhold:-none}"
