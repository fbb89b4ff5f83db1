# whether this node's MicroK8s is due for the refresh the site asks for (components/render/refresh.py):
# another channel than it tracks, or a refresh number it has not had yet
tracking=$({{snap_channel}}) || tracking=""
if [ -z "$tracking" ]; then
  echo "ERROR: MicroK8s on {{node_text}} is not a snap (snap list microk8s shows none): it cannot be refreshed" >&2
  exit 1
fi
want={{pin}}
want=${want:-$tracking}
asked={{refresh}}
refreshed=""
if [ -f {{refreshed_mark}} ]; then refreshed=$(cat {{refreshed_mark}}); fi
{{mark_current}}
due=no
if [ "$tracking" != "$want" ]; then
  due=yes; why="tracks $tracking, the site asks for $want"
elif [ -n "$asked" ] && [ "$refreshed" != "$asked" ]; then
  due=yes; why="runs $want; refresh $asked asked, the last one here: ${refreshed:-none}"
else
  why="runs $want (refresh ${refreshed:-none})"
fi
