"""The main node's install step: download the vendor installer, run it with the site's answers; then
read the MicroK8s channel every joining node gets."""
from __future__ import annotations

import dataclasses
from typing import Any

from ..site import Ha, Site
from .answers import expect_driver, install_replies
from .settings import settings
from .shell import (APPLIED_DIR, DETACHED, INSTALLED_MARKER, WORK_DIR, ensure_package, q, remote)

INSTALLER = f"{WORK_DIR}/elma365-installer.sh"


def installed_settings(site: Site) -> list[Any]:
    """The same settings as the installer leaves them: HA is never switched on by the installer."""
    return settings(dataclasses.replace(site, ha=Ha(enabled=False)))


def install_command(site: Site) -> str:
    """Idempotent and safe to interrupt: a node that finished the install before is left alone; an
    installer still running from an interrupted run is waited for, not started twice; and the
    installer never runs on a node that is already a member of a MicroK8s cluster. Records the
    settings it installed with (stdin's first line), for the reconfigure step."""
    main = site.main
    body = f"""
IFS= read -r want || true
applied={APPLIED_DIR}/settings
{DETACHED}
installed() {{ [ -f {INSTALLED_MARKER} ] && command -v elma365ctl >/dev/null 2>&1; }}
if installed; then
  echo "ELMA365 is already installed on {main.name}; nothing to do"
  exit 0
fi
if waited_for_earlier installer && installed; then
  echo "ELMA365 was installed on {main.name} by the run an earlier session started"
  exit 0
fi
# a lone MicroK8s lists only 127.0.0.1 as its datastore; a cluster member lists the members' addresses
if command -v microk8s >/dev/null 2>&1 \\
   && microk8s status 2>/dev/null | grep -E 'datastore master nodes:' | grep -vE 'nodes: *127\\.0\\.0\\.1:19001 *$' >/dev/null; then
  echo "ERROR: {main.name} is already a member of a MicroK8s cluster; the installer never runs on a cluster member. If {main.name} is not the node ELMA365 was installed on, put that node first in elma365:nodes" >&2
  exit 1
fi
umask 077
driver="$runs/installer.exp"
cat > "$driver"
{ensure_package("expect", "expect")}
{ensure_package("curl", "curl")}
mkdir -p {WORK_DIR} {APPLIED_DIR}
curl -fsSL --retry 3 -o {INSTALLER}.part {q(site.install.installer_url)}
chmod 700 {INSTALLER}.part
mv -f {INSTALLER}.part {INSTALLER}
# the answers (in the driver) are removed when the installer ends, however the step ends
# shellcheck disable=SC2016
run_detached installer bash -c 'trap "rm -f \\"\\$1\\"" EXIT; expect -f "$1" -- "$2" -e "$3" && touch "$4" && printf "%s\\n" "$5" > "$6"' \\
  installer "$driver" {INSTALLER} {q(site.install.edition)} {INSTALLED_MARKER} "$want" "$applied"
echo "ELMA365 ({q(site.install.edition)}) installed on {main.name}"
"""
    return remote(body, sudo=site.ssh.needs_sudo)


def install_stdin(site: Site) -> str:
    return expect_driver(install_replies(site), tool="the installer", transcript="installer",
                         question_timeout=site.install.question_timeout_seconds,
                         timeout_minutes=site.install.timeout_minutes)


def microk8s_channel_command(site: Site) -> str:
    """On the main node, after the install: the snap channel its MicroK8s tracks, which every joining
    node gets. A channel the site pins must be that one: a mismatch stops here, before any join."""
    pin = site.install.microk8s_channel
    check = f"""if [ "$tracking" != {q(pin)} ]; then
  echo "ERROR: MicroK8s on {site.main.name} tracks $tracking, but elma365:install.microk8sChannel pins {pin}: nodes of one cluster must run the same MicroK8s. Remove the pin to follow {site.main.name}, or pin $tracking" >&2
  exit 1
fi
""" if pin else ""
    body = f"""
tracking=$(snap list microk8s 2>/dev/null | awk '$1 == "microk8s" {{ print $4 }}')
if [ -z "$tracking" ]; then
  echo "ERROR: MicroK8s on {site.main.name} is not a snap (snap list microk8s shows none); the joining nodes cannot be given its channel" >&2
  exit 1
fi
{check}printf '%s\\n' "$tracking"
"""
    return remote(body, sudo=site.ssh.needs_sudo)
