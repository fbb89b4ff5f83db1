#!/bin/bash
# Installs what the local ELMA365 lab needs (idempotent, non-interactive) and
# makes sure the packages' own system services are not left running: the lab
# starts its own sshd/haproxy instances (see lab/site.py).
set -euo pipefail
# go-dqlite: dqlite-demo and the dqlite shell, each lab node's real datastore (lab/sim/datastore.py)
PKGS="openssh-server openssh-client haproxy keepalived expect iproute2 curl util-linux shellcheck socat go-dqlite"

if [ "$(id -u)" != 0 ]; then
    echo "lab/setup.sh: must be run as root" >&2
    exit 1
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    echo "lab/setup.sh: installing:$missing"
    # keep maintainer scripts from starting services during the install
    policy_created=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        policy_created=1
    fi
    trap 'if [ -n "$policy_created" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends $missing
else
    echo "lab/setup.sh: all packages present"
fi

# stop system services if the install (or anything else) started them
stop_service() {   # <service> <pidfile>
    local svc=$1 pidfile=$2
    if [ -s "$pidfile" ] && kill -0 "$(head -n1 "$pidfile")" 2>/dev/null; then
        echo "lab/setup.sh: stopping system $svc"
        if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
            systemctl stop "$svc" || true
        else
            service "$svc" stop || invoke-rc.d "$svc" stop || true
        fi
        if [ -s "$pidfile" ] && kill -0 "$(head -n1 "$pidfile")" 2>/dev/null; then
            kill "$(head -n1 "$pidfile")" || true
        fi
    fi
}
stop_service ssh /run/sshd.pid
stop_service haproxy /run/haproxy.pid
stop_service keepalived /run/keepalived.pid
mkdir -p /run/sshd
echo "lab/setup.sh: done"
