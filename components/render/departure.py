"""A node leaving the cluster: drained and removed on the main node, `microk8s leave` on itself.

Every script checks before it acts, so a re-run (or a run after an interrupted one) does only what
is left; and every one fails loudly, naming the node, when the node is not where it should be
(MicroK8s stopped, still a datastore member), instead of forgetting a node still in the cluster."""
from __future__ import annotations

from ..facts.node import datastore_address, in_kubernetes, lists_in_datastore
from ..site import Node
from . import quorum
from .backups import datastore_backup
from .shell import APPLIED_DIR, JOINED_MARKER, remote
from .template import Both, Raw, Text, fill

DRAIN_TIMEOUT_SECONDS = 600


def drain_command(node: Node, main_name: str, datastore_backups: int, *, sudo: bool) -> str:
    """On the main node: move the node's workloads away (bounded), before it leaves."""
    body = fill("drain.sh", in_kubernetes=Raw(in_kubernetes(node)),  # Raw: commands rendered here
                backup=Raw(datastore_backup(datastore_backups, f"{node.name} leaves", leaving=node.name)),
                node=Both(node.name), timeout_seconds=DRAIN_TIMEOUT_SECONDS,
                main_text=Text(main_name))
    return remote(body, sudo=sudo)


def leave_command(node: Node, main: Node, *, sudo: bool) -> str:
    """On the departing node. MicroK8s must be running there to tell whether it is a member; a
    member leaves only while the others stay a majority of the datastore's voters (the quorum gate)."""
    gate = quorum.gate(quorum.Change(f"{node.name} leaves", away=datastore_address(node), away_name=node.name,
                                     leaves=True), node.name, datastore_address(node))
    body = fill("leave.sh", node_text=Text(node.name), main_datastore=datastore_address(main),
                quorum_gate=Raw(gate),  # Raw: rendered above
                joined_marker=JOINED_MARKER, applied_dir=APPLIED_DIR, main_address_text=Text(main.cluster_address))
    return remote(body, sudo=sudo)


def remove_node_command(node: Node, main: Node, datastore_backups: int, *, sudo: bool, force: bool = False) -> str:
    """On the main node, after the node left (or, with force, for a dead node that cannot leave), while
    the datastore can take it (the quorum gate: a dead voter removed counts as removed)."""
    change = (quorum.Change(f"the forced removal of {node.name}", forced=(datastore_address(node),)) if force
              else quorum.Change(f"the removal of {node.name}"))
    gate = quorum.gate(change, main.name, datastore_address(main))
    if force:
        act = fill("remove-node-forced.sh", node=Both(node.name), quorum_gate=Raw(gate),  # Raw: rendered above
                   datastore_backup=Raw(datastore_backup(datastore_backups, f"{node.name} is removed", leaving=node.name)))
    else:
        act = fill("remove-node.sh", still_member=Raw(lists_in_datastore(node)),  # Raw: the fact layer's read
                   node=Both(node.name), quorum_gate=Raw(gate))  # Raw: rendered above
    body = fill("remove-node-if-member.sh", in_kubernetes=Raw(in_kubernetes(node)), node_text=Text(node.name),
                remove=Raw(act))
    return remote(body, sudo=sudo)
