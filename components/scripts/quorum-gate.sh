# the quorum gate before {{what_text}}: it goes on only while the datastore's answering voters
# are a majority, and stay one (components/render/quorum.py's verdict, the same rule in Python). Sets
# quorum_refused (why not) or quorum_ok; changes nothing. A voter answers when its datastore port takes
# a connection from here (this node's own entry: when its `microk8s status` answered).
quorum_refused=""
quorum_runbook={{runbook}}
quorum_ok=""
{{datastore_probe}}
quorum_in() {  # WORD LIST...: 0 when WORD is one of LIST
  local word=$1; shift
  local item
  for item in "$@"; do [ "$item" = "$word" ] && return 0; done
  return 1
}
quorum_list() { if [ "$#" -gt 0 ]; then printf '%s' "$*"; else printf none; fi; }
quorum_forced=({{forced}})
quorum_joining=({{joining}})
if ! command -v microk8s >/dev/null 2>&1; then
  quorum_ok="no datastore yet (MicroK8s is not installed on {{node_text}})"
elif ! quorum_status=$(timeout {{read_timeout}} microk8s status 2>&1); then
  quorum_refused="MicroK8s does not answer on {{node_text}} ($(printf '%s\n' "$quorum_status" | tail -n 1)), so the datastore's voters cannot be read"
  # without a datastore leader (lost quorum) the API server does not answer and status says "not
  # running"; dqlite's own configuration on this node still names the voters (Role 0)
  if [ -r {{cluster_yaml}} ]; then
    answering=(); silent=()
    while read -r voter; do
      if [ "$voter" = {{self_datastore}} ] || datastore_answers "$voter"; then answering+=("$voter"); else silent+=("$voter"); fi
    done < <(datastore_voters {{cluster_yaml}})
    quorum_refused="$quorum_refused; the voters in {{cluster_yaml}} that answer: $(quorum_list "${answering[@]}"), that do not: $(quorum_list "${silent[@]}") (a majority of them silent: quorum lost, nothing was changed; recover by hand: $quorum_runbook)"
  fi
else
  quorum_voters=$(printf '%s\n' "$quorum_status" | {{datastore_voters}})
  counted=(); answering=(); silent=(); removed=(); removed_answering=(); pending=()
  for voter in $quorum_voters; do
    up=no
    if [ "$voter" = {{self_datastore}} ] || [ "$voter" = {{lone_datastore}} ] || datastore_answers "$voter"; then up=yes; fi
    if quorum_in "$voter" "${quorum_forced[@]}"; then
      removed+=("$voter")
      if [ "$up" = yes ]; then removed_answering+=("$voter"); fi
      continue
    fi
    counted+=("$voter")
    if [ "$up" = yes ]; then answering+=("$voter"); else silent+=("$voter"); fi
  done
  for name in "${quorum_joining[@]}"; do
    if ! microk8s kubectl get node "$name" >/dev/null 2>&1; then pending+=("$name"); fi
  done
  n=${#counted[@]}; a=${#answering[@]}; need=$((n / 2 + 1))
  all_n=$((n + ${#removed[@]})); all_a=$((a + ${#removed_answering[@]}))
  voters_text="$a of the $n voters answer ($(quorum_list "${answering[@]}"); not answering: $(quorum_list "${silent[@]}"))"
  if [ "${#removed[@]}" -gt 0 ]; then voters_text="$voters_text with ${removed[*]} counted as removed"; fi
  away={{away}} leaves={{leaves}} whole={{whole}}
  after_n=$n
  if [ "$leaves" = yes ]; then after_n=$((n - 1)); fi
  others=$n
  if [ -n "$away" ] && quorum_in "$away" "${counted[@]}"; then others=$((n - 1)); fi
  if [ "$n" -eq 0 ]; then
    quorum_refused="the datastore lists no voters: quorum lost, nothing was changed; recover by hand: $quorum_runbook"
  elif [ "${#removed[@]}" -gt 0 ] && [ "$all_a" -lt $((all_n / 2 + 1)) ]; then
    quorum_refused="removing ${removed[*]} needs a majority of the $all_n voters answering, and $all_a answer: quorum lost, nothing was changed; recover by hand: $quorum_runbook"
  elif [ "$a" -lt "$need" ]; then
    quorum_refused="$voters_text, fewer than the $need a majority needs"
  elif [ "${#pending[@]}" -gt 0 ] && [ "${#silent[@]}" -gt 0 ]; then
    quorum_refused="${pending[*]} would join while ${silent[*]} do not answer (MicroK8s #2348): set a dead node's decommission to force, its removal runs first"
  elif [ -n "$away" ] && quorum_in "$away" "${answering[@]}" && { [ "$leaves" = yes ] || [ "$n" -ge 3 ]; } &&
       [ $((a - 1)) -lt $((after_n / 2 + 1)) ]; then
    quorum_refused="$voters_text: without {{away_text}} $((a - 1)) of $after_n would answer, fewer than the $((after_n / 2 + 1)) a majority needs"
  elif [ "$others" -lt $((whole - 1)) ]; then
    quorum_refused="$voters_text: without {{away_text}} the datastore would keep $others voters, fewer than $((whole - 1)); bring it back to $whole voters (microk8s status)"
  else
    quorum_ok="$voters_text"
  fi
fi
