# The datastore's quorum as this node sees it, read-only (docs/lost-quorum.md). MicroK8s' backend
# folder lists the datastore's members in cluster.yaml (Role 0: a voter); dqlite has a leader only
# while a majority of its voters answer, and `dqlite ... .leader` waits for one.
#   quorum   ok | lost | none | unknown   none: no dqlite datastore here (no MicroK8s, a worker)
#   voters   <addr>:19001=up|down ...     each voter, and whether its dqlite port answers
#   dqlite   up | down | none             this node's own dqlite (down: MicroK8s stopped here)
{{datastore_probe}}
backend={{backend}}
quorum=none; voters_seen=""; own=none
if [ -r "$backend/cluster.yaml" ] && [ -r "$backend/info.yaml" ]; then
  self=$(awk '$1 == "Address:" { print $2; exit }' "$backend/info.yaml")
  up=0; total=0
  while read -r voter; do
    total=$((total + 1))
    if datastore_answers "$voter"; then
      state=up; up=$((up + 1))
    else state=down
    fi
    voters_seen="${voters_seen:+$voters_seen }$voter=$state"
    if [ "$voter" = "$self" ]; then own=$state; fi
  done < <(datastore_voters "$backend/cluster.yaml")
  if [ "$own" = none ] && [ -n "$self" ]; then
    own=down   # a standby or a spare: whether its own port answers
    if datastore_answers "$self"; then own=up; fi
  fi
  tls=()
  if [ -r "$backend/cluster.crt" ] && [ -r "$backend/cluster.key" ]; then
    tls=(-c "$backend/cluster.crt" -k "$backend/cluster.key")
  fi
  if ! [ -x {{dqlite}} ]; then
    quorum=unknown
  elif leader=$(timeout {{leader_timeout}} {{dqlite}} -s "file://$backend/cluster.yaml" "${tls[@]}" k8s .leader 2>/dev/null) \
       && [ -n "$leader" ]; then
    quorum=ok
  elif [ "$own" = up ] || [ $((up * 2)) -le "$total" ]; then
    # this node's dqlite runs yet finds no leader (an election takes seconds), or a majority of
    # the voters it knows is down (cluster.yaml lags the membership by up to go-dqlite's refresh)
    quorum=lost
  else
    quorum=unknown   # a majority answers but no leader yet: an election
  fi
fi
fact quorum "$quorum"
fact voters "${voters_seen:-none}"
fact dqlite "$own"
