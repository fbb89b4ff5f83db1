"""A node leaving the cluster: drained and removed on the main node, `microk8s leave` on itself.

Every script checks before it acts, so a re-run (or a run after an interrupted one) does only what
is left; and every one fails loudly, naming the node, when the node is not where it should be
(MicroK8s stopped, still a datastore member), instead of forgetting a node still in the cluster."""
from __future__ import annotations

from ..site import Node, Site
from .shell import APPLIED_DIR, JOINED_MARKER, datastore_backup, q, remote

DRAIN_TIMEOUT_SECONDS = 600


def _in_kubernetes(node: Node) -> str:
    return f"microk8s kubectl get node {q(node.name)} >/dev/null 2>&1"


def drain_command(site: Site, node: Node) -> str:
    """On the main node: move the node's workloads away (bounded), before it leaves."""
    body = f"""
if ! {_in_kubernetes(node)}; then
  echo "{node.name} is not in the cluster; nothing to drain"
  exit 0
fi
{datastore_backup(site.install.datastore_backups, f"{node.name} leaves")}
if ! microk8s kubectl drain {q(node.name)} --ignore-daemonsets --delete-emptydir-data --timeout={DRAIN_TIMEOUT_SECONDS}s; then
  echo "ERROR: {node.name} could not be drained within {DRAIN_TIMEOUT_SECONDS} s (a pod that cannot move, or a disruption budget); see 'microk8s kubectl get pods -A -o wide' on {site.main.name}, fix it and run pulumi up again" >&2
  exit 1
fi
echo "{node.name} drained"
"""
    return remote(body, sudo=site.ssh.needs_sudo)


def leave_command(site: Site, node: Node) -> str:
    """On the departing node. MicroK8s must be running there to tell whether it is a member."""
    main = site.main
    body = f"""
if ! command -v microk8s >/dev/null 2>&1; then
  echo "MicroK8s is not installed on {node.name}; nothing to leave"
  exit 0
fi
if ! status=$(microk8s status 2>&1); then
  echo "ERROR: MicroK8s is not running on {node.name}, so it can neither leave the cluster nor tell whether it is still a member. Start it (microk8s start) and run pulumi up again; if {node.name} is dead, set its decommission to \\"force\\"" >&2
  exit 1
fi
if printf '%s\\n' "$status" | grep -F {q(main.cluster_address + ':19001')} >/dev/null; then
  microk8s leave
  rm -rf {JOINED_MARKER} {APPLIED_DIR}
  echo "{node.name} left the cluster"
else
  rm -rf {JOINED_MARKER} {APPLIED_DIR}
  echo "{node.name} is not a member of the cluster at {main.cluster_address}; nothing to leave"
fi
"""
    return remote(body, sudo=site.ssh.needs_sudo)


def remove_node_command(site: Site, node: Node, *, force: bool = False) -> str:
    """On the main node, after the node left (or, with force, for a dead node that cannot leave)."""
    if force:
        act = f"""{datastore_backup(site.install.datastore_backups, f"{node.name} is removed")}
microk8s remove-node {q(node.name)} --force
echo "{node.name} removed from the cluster (forced: it was declared dead)\""""
    else:
        act = f"""if microk8s status 2>/dev/null | grep -F {q(node.cluster_address + ':19001')} >/dev/null; then
  echo "ERROR: {node.name} has not left the cluster (it is still a datastore member); it was not removed. Run pulumi up again once it can leave, or, if it is dead, set its decommission to \\"force\\"" >&2
  exit 1
fi
microk8s remove-node {q(node.name)}
echo "{node.name} removed from the cluster\""""
    body = f"""
if ! {_in_kubernetes(node)}; then
  echo "{node.name} is not in the cluster; nothing to remove"
  exit 0
fi
{act}
"""
    return remote(body, sudo=site.ssh.needs_sudo)
