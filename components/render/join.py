"""Adding a node: prepare it, issue a one-time join token on the main node, join it."""
from __future__ import annotations

import re

from ..facts.node import SNAP_CHANNEL, datastore_address, in_kubernetes, lists_in_datastore
from ..site import Node
from . import quorum
from .backups import datastore_backup
from .shell import (APPLIED_DIR, DETACHED, JOINED_MARKER, STATE_DIR, ensure_package, q, remote,
                    take_over_mark)
from .template import Raw, Text, fill

ALREADY_MEMBER = "ELMA365_CLUSTER_NODE_ALREADY_MEMBER"
JOIN_LINE = re.compile(r"^\s*microk8s join (?P<host>\S+?):(?P<port>\d+)/(?P<token>[A-Za-z0-9]+)/(?P<hash>[A-Za-z0-9]+)(?P<worker>\s+--worker)?\s*$")
# "]" first in the bracket: the same text is a valid POSIX ERE (grep -E) and Python pattern.
CHANNEL = re.compile(r"^[0-9a-z.]+/[a-z]+$")  # a snap channel as `snap list` prints it: 1.28/stable
TARGET = re.compile(r"^[][A-Za-z0-9.:-]+:[0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+$")


class JoinLineError(ValueError):
    pass


def prepare_command(node_name: str, main: Node, ha_enabled: bool, *, sudo: bool) -> str:
    """On every joining node: MicroK8s from the main node's channel (on stdin: the main node's
    `microk8s-channel` step reads it there), before the join. A node not yet in the cluster that
    tracks another channel is moved to the main node's; a member is left alone."""
    body = fill("join-prepare.sh", channel_pattern=CHANNEL.pattern, main_text=Text(main.name),
                node_text=Text(node_name), joined_marker=JOINED_MARKER, snap_channel=Raw(SNAP_CHANNEL),
                member_here=Raw(lists_in_datastore(main)),
                ensure_snap=Raw(ensure_package("snap", "snapd"))) + "\n"  # Raw: commands rendered here
    if ha_enabled:
        body += "\n" + fill("join-prepare-ha.sh", node_text=Text(node_name))
    return remote(body, sudo=sudo)


def add_node_command(node: Node, main: Node, datastore_backups: int, *, sudo: bool) -> str:
    """On the main node: a fresh one-time token for `node`, unless it is already a member, and only
    while the datastore can take a join (the quorum gate)."""
    gate = quorum.gate(quorum.Change(f"{node.name} joins", joining=(node.name,)), main.name, datastore_address(main))
    body = fill("add-node.sh", member_on_main=Raw(in_kubernetes(node)), already_member=ALREADY_MEMBER,
                quorum_gate=Raw(gate),  # Raw: rendered above
                datastore_backup=Raw(datastore_backup(datastore_backups, f"{node.name} joins")))
    return remote(body, sudo=sudo)


def select_join_target(add_node_output: str, main: Node) -> str:
    """Pick the control-plane join line that uses the main node's node-reachable address.

    add-node prints several lines: one per interface of the main node, plus --worker variants.
    Returns "<host>:<port>/<token>/<hash>", or ALREADY_MEMBER. Errors never include a token."""
    if ALREADY_MEMBER in add_node_output:
        return ALREADY_MEMBER
    offered = []
    for line in add_node_output.splitlines():
        match = JOIN_LINE.match(line)
        if not match:
            continue
        offered.append(match.group("host") + (" --worker" if match.group("worker") else ""))
        if match.group("host").strip("[]") == main.cluster_address and not match.group("worker"):
            return f"{match.group('host')}:{match.group('port')}/{match.group('token')}/{match.group('hash')}"
    raise JoinLineError(
        f"elma365ctl add-node on {main.name} offered no join line for {main.cluster_address} "
        f"(offered: {', '.join(offered) or 'none'}); set nodes[0].clusterAddress to the address the other nodes reach")


def join_command(node_name: str, main: Node, adopt: bool, replace_hint: str, *, sudo: bool) -> str:
    """On the joining node; the target (with its one-time token) arrives on stdin."""
    take_over = fill("join-take-over.sh", joined_marker=JOINED_MARKER, take_over_mark=Raw(take_over_mark()),
                     node_text=Text(node_name)) if adopt else ""  # Raw: shell.py's fragment
    body = fill("join.sh", detached=Raw(DETACHED), member_here=Raw(lists_in_datastore(main)),  # Raw: rendered here
                take_over_member=Raw(take_over),
                already_member=ALREADY_MEMBER, applied_dir=APPLIED_DIR, state_dir=STATE_DIR,
                joined_marker=JOINED_MARKER, node_text=Text(node_name), main_address_text=Text(main.cluster_address),
                target_pattern=TARGET.pattern, fresh_token_hint="get a fresh one with: pulumi up --replace " + q(replace_hint))
    return remote(body, sudo=sudo)
