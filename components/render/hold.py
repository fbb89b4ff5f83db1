"""Holding MicroK8s' automatic refreshes: snapd refreshes a snap within its channel on its own
schedule, on every node at once if it likes; a held MicroK8s is refreshed only when asked."""
from __future__ import annotations

from ..facts.node import HOLD_SINCE, SNAP_HELD, SNAPD_VERSION
from .shell import remote
from .template import Both, Raw, Text, fill


def hold_command(node_name: str, *, sudo: bool) -> str:
    """On every node once it runs MicroK8s (installed, joined or taken over): `snap refresh --hold
    microk8s` (indefinite; snapd 2.58+), or, with an older snapd, the system-wide refresh.hold the
    operator set (the preflight's refresh-hold check says so first)."""
    body = fill("microk8s-hold.sh", snapd_version=Raw(SNAPD_VERSION), snap_held=Raw(SNAP_HELD),  # reads
                hold_since=Both(HOLD_SINCE), node_text=Text(node_name))
    return remote(body, sudo=sudo)


def refresh_hold_check(node_name: str) -> str:
    """The preflight's refresh-hold check over the node's snapd facts (facts-read.sh's variables)."""
    return fill("preflight-refresh-hold.sh", hold_since=Both(HOLD_SINCE),
                node_text=Text(node_name))
