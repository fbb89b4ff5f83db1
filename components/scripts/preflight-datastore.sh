# datastore: the quorum of MicroK8s' dqlite as this node reads it (facts-datastore.sh). A lost quorum
# stops the run before anything changes; which voters answer tells a stopped MicroK8s and an
# unreachable node from a lost majority.
answering=""; silent=""
for voter in $voters; do
  case $voter in
    *=up) answering="${answering:+$answering }${voter%=*}" ;;
    *=down) silent="${silent:+$silent }${voter%=*}" ;;
  esac
done
found="voters answering: ${answering:-none}; not answering: ${silent:-none}"
runbook={{runbook}}
case "$quorum:$dqlite" in
  lost:down) verdict=fail
    detail="quorum lost: MicroK8s is stopped on {{node_text}} and the datastore has no leader ($found). Nothing was changed. Start MicroK8s on every voter that is only stopped (microk8s start); if voters are lost for good, recover by hand: $runbook" ;;
  lost:*) verdict=fail
    detail="quorum lost: the datastore has no leader, a majority of its voters is gone ($found). Nothing was changed. Recover by hand: $runbook" ;;
  ok:down) verdict=warn
    detail="MicroK8s is stopped on {{node_text}} (its datastore does not answer: microk8s start); the quorum holds ($found)" ;;
  ok:*) verdict=ok; detail="the quorum holds ($found)"
    if [ -n "$silent" ]; then verdict=warn; detail="the quorum holds, but not every voter answers: a node down or unreachable ($found)"; fi ;;
  unknown:*) verdict=warn
    detail="whether the datastore has a quorum cannot be told ($found; no leader answered, or no dqlite shell)" ;;
  *) verdict=ok; detail="no datastore on {{node_text}}" ;;
esac
report datastore "$verdict" "$detail"
