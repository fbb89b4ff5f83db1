#!/bin/bash
# run as: bash -c <this script>
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/snap/bin"
set -euo pipefail
IFS= read -r target || true
runs=/var/lib/elma365-cluster/runs
mkdir -p "$runs" && chmod 700 "$runs"
run_detached() {  # NAME CMD...: CMD in its own session; its output on stderr; its status returned
  local name=$1; shift
  local log="$runs/$name.log" rc=0
  : > "$log"
  setsid flock "$runs/$name.lock" "$@" < /dev/null > "$log" 2>&1 &
  local pid=$!
  tail -s 0.1 -n +1 -f --pid="$pid" "$log" >&2 &
  local tailer=$!
  wait "$pid" || rc=$?
  wait "$tailer" || true
  return "$rc"
}
waited_for_earlier() {  # NAME: 0 when an earlier session's run of NAME was still under way and has now ended
  [ -e "$runs/$1.lock" ] || return 1
  flock -n "$runs/$1.lock" true && return 1
  echo "$1: a run started by an earlier, interrupted session is still under way; waiting for it to end" >&2
  flock "$runs/$1.lock" true
}
mkdir -p /var/lib/elma365-cluster
if microk8s status 2>/dev/null | grep -F 127.0.0.11:19001 >/dev/null; then
  touch /var/lib/elma365-cluster/joined
  echo "elma365-2 is already a member of the cluster at 127.0.0.11"
  exit 0
fi
if waited_for_earlier join && microk8s status 2>/dev/null | grep -F 127.0.0.11:19001 >/dev/null; then
  touch /var/lib/elma365-cluster/joined
  echo "elma365-2 joined the cluster at 127.0.0.11 in the run an earlier session started"
  exit 0
fi
if [ "$target" = ELMA365_CLUSTER_NODE_ALREADY_MEMBER ]; then
  echo "ERROR: the main node lists elma365-2 as a member but elma365-2 is not joined to 127.0.0.11; remove it on the main node (microk8s remove-node elma365-2) and run again" >&2
  exit 1
fi
target_pattern='^[][A-Za-z0-9.:-]+:[0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+$'
if ! [[ "$target" =~ $target_pattern ]]; then
  echo "ERROR: no usable join line for elma365-2" >&2
  exit 1
fi
# A token is presented at most once: a re-run never retries a spent one.
spent=/var/lib/elma365-cluster/spent-join-tokens
mkdir -p /var/lib/elma365-cluster
token_id=$(printf '%s' "$target" | sha256sum | cut -c1-16)
fresh_token_hint='get a fresh one with: pulumi up --replace '"'"'urn:pulumi:test::elma365-cluster::elma365:cluster:NodeJoin$command:remote:Command::elma365-2-add-node'"'"''
if grep -qxF "$token_id" "$spent" 2>/dev/null; then
  echo "ERROR: the join token for elma365-2 was already used once; $fresh_token_hint" >&2
  exit 1
fi
echo "$token_id" >> "$spent"
# whatever this node applied as a member of an earlier cluster (HA mode) does not hold in this one
rm -rf /var/lib/elma365-cluster/applied
if ! run_detached join microk8s join "$target"; then
  echo "ERROR: elma365-2 could not join 127.0.0.11; its one-time token is spent now; $fresh_token_hint" >&2
  exit 1
fi
microk8s status --wait-ready --timeout 600 >/dev/null
touch /var/lib/elma365-cluster/joined
echo "elma365-2 joined the cluster at 127.0.0.11"
