#!/bin/bash
# run as: bash -c <this script>
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/snap/bin"
set -euo pipefail
IFS= read -r want || true
applied=/var/lib/elma365-cluster/applied/settings
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
installed() { [ -f /var/lib/elma365-cluster/installed ] && command -v elma365ctl >/dev/null 2>&1; }
if installed; then
  echo "ELMA365 is already installed on elma365-1; nothing to do"
  exit 0
fi
if waited_for_earlier installer && installed; then
  echo "ELMA365 was installed on elma365-1 by the run an earlier session started"
  exit 0
fi
# a lone MicroK8s lists only 127.0.0.1 as its datastore; a cluster member lists the members' addresses
if command -v microk8s >/dev/null 2>&1 \
   && microk8s status 2>/dev/null | grep -E 'datastore master nodes:' | grep -vE 'nodes: *127\.0\.0\.1:19001 *$' >/dev/null; then
  echo "ERROR: elma365-1 is already a member of a MicroK8s cluster; the installer never runs on a cluster member. If elma365-1 is not the node ELMA365 was installed on, put that node first in elma365:nodes" >&2
  exit 1
fi
umask 077
driver="$runs/installer.exp"
cat > "$driver"
if ! command -v expect >/dev/null 2>&1; then
  echo "installing expect (needed for expect)" >&2
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q expect >&2 || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q expect >&2; }
  elif command -v dnf >/dev/null 2>&1; then dnf install -y -q expect >&2
  elif command -v yum >/dev/null 2>&1; then yum install -y -q expect >&2
  else echo "ERROR: expect is missing and no known package manager is available to install expect" >&2; exit 1
  fi
fi
if ! command -v curl >/dev/null 2>&1; then
  echo "installing curl (needed for curl)" >&2
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl >&2 || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl >&2; }
  elif command -v dnf >/dev/null 2>&1; then dnf install -y -q curl >&2
  elif command -v yum >/dev/null 2>&1; then yum install -y -q curl >&2
  else echo "ERROR: curl is missing and no known package manager is available to install curl" >&2; exit 1
  fi
fi
mkdir -p /opt/elma365-cluster /var/lib/elma365-cluster/applied
curl -fsSL --retry 3 -o /opt/elma365-cluster/elma365-installer.sh.part https://dl.elma365.com/onPremise/master/latest/download
chmod 700 /opt/elma365-cluster/elma365-installer.sh.part
mv -f /opt/elma365-cluster/elma365-installer.sh.part /opt/elma365-cluster/elma365-installer.sh
# the answers (in the driver) are removed when the installer ends, however the step ends
# shellcheck disable=SC2016
run_detached installer bash -c 'trap "rm -f \"\$1\"" EXIT; expect -f "$1" -- "$2" -e "$3" && touch "$4" && printf "%s\n" "$5" > "$6"' \
  installer "$driver" /opt/elma365-cluster/elma365-installer.sh enterprise /var/lib/elma365-cluster/installed "$want" "$applied"
echo "ELMA365 (enterprise) installed on elma365-1"
