"""Cluster-wide operations after the joins: settings, manual scaling, the HA roll-out, restart.

Each applies settings, so each is guarded (shell.applied_guard): it runs its tool only when the
settings it applies differ from what the node recorded after the step's last successful run."""
from __future__ import annotations

from typing import Any

from ..site import Node, Site
from .shell import applied_guard, digest, q, record_applied, remote

HA_OFF: dict[str, Any] = {"enabled": False}


def ha_settings(site: Site) -> dict[str, Any]:
    """What the HA roll-out applies; every node starts with HA off."""
    if not site.ha.enabled:
        return dict(HA_OFF)
    return {"enabled": True, "replicas": site.ha.replicas, "failoverSeconds": site.ha.failover_seconds}


def scale_settings(site: Site, service: str, replicas: int) -> dict[str, Any]:
    # a switch of autoscaling may have moved the counts: a scale command re-applies after one
    auto = site.scaling.autoscaling
    return {"service": service, "replicas": int(replicas),
            "autoscaling": None if auto is None else [auto.enabled, auto.min_replicas, auto.max_replicas]}


def _adopt(adopt: bool) -> str:
    return "ADOPT=1" if adopt else ""


def scale_command(site: Site, service: str, replicas: int, adopt: bool = False) -> str:
    """`elma365ctl scale` sets a desired count."""
    body = f"""
{applied_guard(f"scale-{service}")}
elma365ctl scale {q(service)} {int(replicas)}
{record_applied()}
echo "{service} scaled to {int(replicas)} replica(s)"
"""
    return remote(body, sudo=site.ssh.needs_sudo, env=_adopt(adopt))


def update_hamode_command(site: Site, node: Node, adopt: bool = False) -> str:
    """The node restarts its services; wait until it is back before the next node may start.
    With HA switched off there is nothing to update on a node (the vendor's update-hamode applies
    HA mode; reconfigure and the restart switch it off): the node only records the new state."""
    apply = """
elma365ctl update-hamode
microk8s status --wait-ready --timeout 600 >/dev/null
""" if site.ha.enabled else ""
    body = f"""
{applied_guard("hamode", unset=digest(HA_OFF))}
{apply}
{record_applied()}
echo "HA settings applied on {node.name}"
"""
    return remote(body, sudo=site.ssh.needs_sudo, env=_adopt(adopt))


def restart_command(site: Site, adopt: bool = False) -> str:
    """One restart after the HA roll-out, whichever way HA was switched."""
    body = f"""
{applied_guard("restart", unset=digest(HA_OFF))}
elma365ctl restart
{record_applied()}
echo "ELMA365 services restarted"
"""
    return remote(body, sudo=site.ssh.needs_sudo, env=_adopt(adopt))
