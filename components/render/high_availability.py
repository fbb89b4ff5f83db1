"""The HA step: `elma365ctl update-hamode` node by node, then one `elma365ctl restart`.

Each applies the HA settings, so each is guarded (shell.applied_guard): it runs its tool only when the
settings differ from what the node recorded after the step's last successful run (every node starts
with HA off)."""
from __future__ import annotations

from typing import Any

from ..site import Node, Site
from .shell import adopt_env, applied_guard, digest, record_applied, remote
from .template import Raw, Text, fill  # Raw: the shared fragments rendered in shell.py

HA_OFF: dict[str, Any] = {"enabled": False}


def ha_settings(site: Site) -> dict[str, Any]:
    """What the HA roll-out applies; every node starts with HA off."""
    if not site.ha.enabled:
        return dict(HA_OFF)
    return {"enabled": True, "replicas": site.ha.replicas, "failoverSeconds": site.ha.failover_seconds}


def update_hamode_command(site: Site, node: Node, adopt: bool = False) -> str:
    """The node restarts its services; wait until it is back before the next node may start.
    With HA switched off there is nothing to update on a node (the vendor's update-hamode applies
    HA mode; reconfigure and the restart switch it off): the node only records the new state."""
    apply = """
elma365ctl update-hamode
microk8s status --wait-ready --timeout 600 >/dev/null
""" if site.ha.enabled else ""
    body = fill("update-hamode.sh", applied_guard=Raw(applied_guard("hamode", unset=digest(HA_OFF))), apply=Raw(apply),
                record_applied=Raw(record_applied()), node_text=Text(node.name))
    return remote(body, sudo=site.ssh.needs_sudo, env=adopt_env(adopt))


def restart_command(site: Site, adopt: bool = False) -> str:
    """One restart after the HA roll-out, whichever way HA was switched."""
    body = fill("restart.sh", applied_guard=Raw(applied_guard("restart", unset=digest(HA_OFF))),
                record_applied=Raw(record_applied()))
    return remote(body, sudo=site.ssh.needs_sudo, env=adopt_env(adopt))
