"""The HA step: `elma365ctl update-hamode` node by node, then one `elma365ctl restart`.

Each applies the HA settings, so each is guarded (shell.applied_guard): it runs its tool only when the
settings differ from what the node recorded after the step's last successful run (every node starts
with HA off)."""
from __future__ import annotations

from typing import Any

from .. import names
from ..site import Ha
from . import quorum
from .shell import applied_guard, digest, record_applied, remote
from .template import Raw, Text, fill  # Raw: the shared fragments rendered in shell.py

HA_OFF: dict[str, Any] = {"enabled": False}


def ha_settings(ha: Ha) -> dict[str, Any]:
    """What the HA roll-out applies; every node starts with HA off."""
    # exactly the settings the HA steps apply: a key `ha` gains is not here until a step applies it,
    # else every node's update-hamode would run again after an upgrade
    return {"enabled": True, "replicas": ha.replicas, "failoverSeconds": ha.failover_seconds} if ha.enabled \
        else dict(HA_OFF)


def update_hamode_command(node_name: str, datastore: str, ha: Ha, *, last: bool, sudo: bool) -> str:
    """The node restarts its services; wait until it is back before the next node may start.
    With HA switched off there is nothing to update on a node (the vendor's update-hamode applies
    HA mode; reconfigure and the restart switch it off): the node only records the new state.
    `last`: it is the node's last guarded step, as on every node but the main one (where the
    restart is). The tool runs behind the quorum gate: the node counts as away while it restarts
    (`datastore`: how the datastore lists it)."""
    gate = quorum.gate(quorum.Change(f"update-hamode on {node_name}", away=datastore, away_name=node_name),
                       node_name, datastore)
    apply = f"""
{gate}
elma365ctl update-hamode
microk8s status --wait-ready --timeout 600 >/dev/null
""" if ha.enabled else ""
    body = fill("update-hamode.sh", applied_guard=Raw(applied_guard(names.APPLIED_HAMODE, unset=digest(HA_OFF), last=last)),
                apply=Raw(apply), record_applied=Raw(record_applied(last)), node_text=Text(node_name))
    return remote(body, sudo=sudo)


def restart_command(main_name: str, datastore: str, *, sudo: bool) -> str:
    """One restart after the HA roll-out, whichever way HA was switched: the main node's last
    guarded step, behind the quorum gate (the main node counts as away while it restarts)."""
    gate = quorum.gate(quorum.Change("elma365ctl restart", away=datastore, away_name=main_name), main_name, datastore)
    body = fill("restart.sh", applied_guard=Raw(applied_guard(names.APPLIED_RESTART, unset=digest(HA_OFF), last=True)),
                quorum_gate=Raw(gate),  # Raw: rendered above
                record_applied=Raw(record_applied(last=True)))
    return remote(body, sudo=sudo)
