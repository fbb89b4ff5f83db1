"""The main node's install step: download the vendor installer, run it with the site's answers."""
from __future__ import annotations

import dataclasses
from typing import Any

from ..site import Ha, Site
from .answers import expect_driver, install_replies, settings_replies
from .shell import (APPLIED_DIR, DETACHED, INSTALLED_MARKER, WORK_DIR, applied_guard, datastore_backup, ensure_package, q,
                    record_applied, remote, stdin_to_private_file)

INSTALLER = f"{WORK_DIR}/elma365-installer.sh"


def settings(site: Site) -> list[Any]:
    """What `elma365ctl reconfigure` applies: every answer it is given."""
    return [[r.pattern, r.text] for r in settings_replies(site)]


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


def reconfigure_command(site: Site, adopt: bool = False) -> str:
    """`elma365ctl reconfigure` asks every setting again (autoscaling, Linkerd, HA, the external
    services): it runs when any of them differs from what the node last applied (or installed).
    Autoscaling switched on moves the replica counts: the manual counts applied before no longer
    hold, so their records go, and the scale steps run again when the site returns to them."""
    auto = site.scaling.autoscaling
    forget_counts = f"rm -f {APPLIED_DIR}/scale-*\n" if auto is not None and auto.enabled else ""
    body = f"""
{applied_guard("settings")}
{stdin_to_private_file("driver", "reconfigure.exp")}
{ensure_package("expect", "expect")}
{datastore_backup(site.install.datastore_backups, "the settings (HA mode) change")}
echo "reconfiguring ELMA365 on {site.main.name}"
expect -f "$driver" -- elma365ctl reconfigure
{record_applied()}
{forget_counts}"""
    return remote(body, sudo=site.ssh.needs_sudo, env="ADOPT=1" if adopt else "")


def reconfigure_stdin(site: Site) -> str:
    return expect_driver(settings_replies(site), tool="elma365ctl reconfigure", transcript="reconfigure",
                         question_timeout=site.install.question_timeout_seconds,
                         timeout_minutes=site.install.timeout_minutes)
