"""Cluster-wide operations after the joins: manual scaling, HA roll-out, restart."""
from __future__ import annotations

from ..site import Node, Site
from .shell import q, remote


def scale_command(site: Site, service: str, replicas: int) -> str:
    """`elma365ctl scale` sets a desired count: repeating it is harmless."""
    body = f"""
elma365ctl scale {q(service)} {int(replicas)}
echo "{service} scaled to {int(replicas)} replica(s)"
"""
    return remote(body, sudo=site.ssh.needs_sudo)


def update_hamode_command(site: Site, node: Node) -> str:
    """The node restarts its services; wait until it is back before the next node may start."""
    body = f"""
elma365ctl update-hamode
microk8s status --wait-ready --timeout 600 >/dev/null
echo "HA settings applied on {node.name}"
"""
    return remote(body, sudo=site.ssh.needs_sudo)


def restart_command(site: Site) -> str:
    body = """
elma365ctl restart
echo "ELMA365 services restarted"
"""
    return remote(body, sudo=site.ssh.needs_sudo)
