"""A rolling refresh of MicroK8s, one node at a time (components/refresh.py wires the steps).

MicroK8s' guidance for a production cluster: hold snapd's automatic refreshes (components/hold.py)
and refresh one node at a time, drained first. A refresh is asked by the site: another channel
(`install.microk8sChannel`, one minor version up) or a new `install.microk8sRefresh` number (the
newest revision within the channel). Each node's step decides from what the node runs whether it is
due (its channel, and the refresh number it last had, in REFRESHED_MARK), so a node already refreshed
is skipped and an interrupted roll-out goes on where it stopped.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..facts.node import READ_TIMEOUT_SECONDS, SNAP_CHANNEL, datastore_members
from ..record import Target   # what the site asks of MicroK8s, as its record keeps it
from .haproxy import ADMIN_PY, ADMIN_SOCKET, BACKEND
from . import quorum
from .backups import datastore_backup
from .quorum import Change
from .shell import STATE_DIR, remote
from .template import Both, Raw, Text, fill

REFRESHED_MARK = f"{STATE_DIR}/microk8s-refreshed"   # the refresh number this node last had
CORDON_MARK = f"{STATE_DIR}/microk8s-refresh-cordoned"  # cordoned by a refresh that has not ended
DRAIN_TIMEOUT_SECONDS = 600
READY_TIMEOUT_SECONDS = 600
IDLE_TIMEOUT_SECONDS = 60     # the requests a drained server still serves
UP_TIMEOUT_SECONDS = 120      # HAProxy's `rise` checks on a node back from its refresh


@dataclass(frozen=True)
class RolloutNode:
    """A node as its refresh needs it: its name (the Kubernetes node's) and how the datastore lists it."""
    name: str
    datastore: str


@dataclass(frozen=True)
class RefreshPlan:
    """What the preflight checks of a site that pins a channel or numbers its refreshes."""
    target: Target
    main: RolloutNode
    want_voters: int   # datastore voters a refreshed node waits for: 3 with 3+ nodes, else 0


@dataclass(frozen=True)
class Operation:
    """What a node is taken out of HAProxy's service for: the first word of its check's stdout that
    says it goes (`verdict`), and how the balancer steps' messages name the operation."""
    verdict: str
    name: str           # "before its <name>"
    short: str          # "... s after its <short>"
    not_due: str        # "<node> <not_due>: HAProxy ... goes on sending it requests"
    was_not_due: str    # "<node> <was_not_due>: HAProxy ... left as it is"
    nothing: str        # what the gate's refusal says was left undone
    rule: str           # the gate's rule, as its refusal states it


REFRESH = Operation("refresh:", "MicroK8s refresh", "refresh", "is not refreshed", "was not refreshed",
                    "nothing was refreshed", "no node's MicroK8s is refreshed while another node is down")


def _due(node: RolloutNode, target: Target, *, mark: bool) -> str:
    """Sets `due` (yes/no), `why`, `tracking` and `want`. `mark`: where the roll-out's steps are new
    (not asked in this run), the node's refresh number is recorded as had."""
    refresh = "" if target.refresh is None else str(target.refresh)
    mark_current = (fill("microk8s-refresh-mark.sh", state_dir=STATE_DIR, refresh=refresh,
                         refreshed_mark=REFRESHED_MARK)) if mark and refresh else ""
    return fill("microk8s-refresh-due.sh", snap_channel=Raw(SNAP_CHANNEL), node_text=Text(node.name),
                pin=target.channel or "", refreshed_mark=REFRESHED_MARK, refresh=refresh,
                mark_current=Raw(mark_current))  # Raw: rendered above


def gate(node: RolloutNode, want_voters: int, operation: Operation = REFRESH) -> str:
    """Every other node Ready and a datastore that keeps its quorum (with 3+ nodes: its 3 voters)
    without this one: the quorum gate (components/render/quorum.py), what a node's restart for
    `operation` waits for."""
    change = Change(f"the {operation.name} of {node.name}", away=node.datastore, away_name=node.name,
                    whole=want_voters)
    return fill("microk8s-refresh-gate.sh", read_timeout=READ_TIMEOUT_SECONDS, node=Both(node.name),
                voters_gate=Raw(quorum.gate(change, node.name, node.datastore)), nothing_text=Text(operation.nothing),
                rule_text=Raw(operation.rule))  # Raw: rendered there, and the rule in this program's own words (an apostrophe)


def check_command(node: RolloutNode, target: Target, *, mark: bool, sudo: bool) -> str:
    """Read-only (but for `mark`): `refresh: ...` or `current: ...`, which the node's HAProxy steps read."""
    body = fill("microk8s-refresh-check.sh", due=Raw(_due(node, target, mark=mark)), node_text=Text(node.name))
    return remote(body, sudo=sudo)


def backup_command(main: RolloutNode, target: Target, *, mark: bool, want_voters: int, keep: int, sudo: bool) -> str:
    """On the main node before the first node goes: the cluster whole, then a datastore backup."""
    body = fill("microk8s-refresh-backup.sh", due=Raw(_due(main, target, mark=mark)), node_text=Text(main.name),
                gate=Raw(gate(main, want_voters)),
                backup=Raw(datastore_backup(keep, "the rolling refresh of MicroK8s")))  # Raw: rendered here
    return remote(body, sudo=sudo)


def refresh_command(node: RolloutNode, target: Target, *, want_voters: int, sudo: bool) -> str:
    """On the node: drain, `snap refresh microk8s --channel=<channel>`, Ready with `want_voters`
    voters (bounded), uncordon; its refresh number recorded."""
    record = (f"printf '%s\\n' {target.refresh} > {REFRESHED_MARK}\n" if target.refresh is not None else "")
    body = fill("microk8s-refresh.sh", due=Raw(_due(node, target, mark=False)), gate=Raw(gate(node, want_voters)),
                node=Both(node.name), state_dir=STATE_DIR, cordon_mark=CORDON_MARK,
                drain_timeout=DRAIN_TIMEOUT_SECONDS, ready_timeout=READY_TIMEOUT_SECONDS, read_timeout=READ_TIMEOUT_SECONDS,
                ready_wait=Raw(ready_wait(node, want_voters, after="its refresh to $want",
                                          outcome="it stays cordoned and the roll-out stops here")),
                record_refresh=Raw(record))  # Raw: rendered here
    return remote(body, sudo=sudo)


def ready_wait(node: RolloutNode, want_voters: int, *, after: str, outcome: str) -> str:
    """The node Ready with `want_voters` datastore voters (bounded) after what restarted it (`after`:
    this program's own words, a shell variable in it allowed), before the next node goes."""
    return fill("microk8s-ready-wait.sh", node=Both(node.name), ready_timeout=READY_TIMEOUT_SECONDS,
                want_voters=want_voters, datastore_voters=Raw(datastore_members("master")),  # Raw: the fact layer's filter
                after=Raw(after), outcome_text=Text(outcome))
    return remote(body, sudo=sudo)


def _admin(node: str, host: str) -> str:
    return fill("haproxy-admin.sh", admin_socket=Both(ADMIN_SOCKET), admin_py=ADMIN_PY,
                backend=Both(BACKEND), node=Both(node), host_text=Text(host))


def server_drain_command(node: str, host: str, *, sudo: bool, operation: Operation = REFRESH) -> str:
    """On a balancer, with the node's check on stdin: `set server elma365_web/<node> state drain`
    and its requests in progress ended (bounded), where the node is due."""
    body = fill("haproxy-server-drain.sh", admin=Raw(_admin(node, host)), backend=Both(BACKEND),
                node=Both(node), host_text=Text(host), idle_timeout=IDLE_TIMEOUT_SECONDS,
                verdict=operation.verdict, operation_text=Text(operation.name), skipped_text=Text(operation.not_due))
    return remote(body, sudo=sudo)


def server_ready_command(node: str, host: str, *, sudo: bool, operation: Operation = REFRESH) -> str:
    """On a balancer after the node's refresh: back in service, and UP before the next node goes."""
    body = fill("haproxy-server-ready.sh", admin=Raw(_admin(node, host)), backend=Both(BACKEND),
                node=Both(node), host_text=Text(host), up_timeout=UP_TIMEOUT_SECONDS,
                verdict=operation.verdict, operation_text=Text(operation.name), short_text=Text(operation.short),
                skipped_text=Text(operation.was_not_due))
    return remote(body, sudo=sudo)


def preflight_health(main: RolloutNode, target: Target, *, want_voters: int, sudo: bool) -> str:
    """The main node's microk8s-health check (`report`): where a refresh is due there (the main
    node is refreshed last, so while it is due the roll-out is not over), every other node Ready and
    the datastore's voters whole, read as root, before any step of the run."""
    health = fill("microk8s-refresh-health.sh", due=Raw(_due(main, target, mark=False)), gate=Raw(gate(main, want_voters)),
                  node_text=Text(main.name))  # Raw: rendered here
    return fill("preflight-as-root.sh", check="microk8s-health",
                why_text=Text("no rolling refresh starts while a node is NotReady or the datastore lacks its voters"),
                as_root=Raw(remote(health, sudo=sudo)))  # Raw: rendered above


def preflight_check(node_name: str, channel: str) -> str:
    """The preflight's microk8s-refresh check over the node's facts (`$facts`, `report`)."""
    return fill("preflight-microk8s-refresh.sh", pin=Both(channel), node_text=Text(node_name))
