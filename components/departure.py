from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import Server, depends_on, step
from .render.departure import drain_command, leave_command, remove_node_command
from .render import keepalived
from .render.haproxy import removal_command
from .record import RecordedHaproxy, RecordedKeepalived
from .site import Node


@dataclass(frozen=True)
class NodeDepartureArgs:
    main: Server
    node: Server
    main_node: Node    # the cluster the node leaves, as its datastore lists it
    leaving: Node
    datastore_backups: int
    force: bool = False   # a dead node: removed on the main node, nothing runs on it


class NodeDeparture(pulumi.ComponentResource):
    """After `opts.depends_on`, a node on its way out: `nodes[i].decommission: true` (or its entry deleted, as the previous
    deployment's record tells): drained and, once it has left (`microk8s leave` on itself), removed
    on the main node; `decommission: force` (a dead node): removed on the main node, nothing runs
    on it. Each step runs once: later changes (a new key, new script text) never run it again."""

    def __init__(self, name: str, args: NodeDepartureArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.DEPARTURE), name, None, opts)
        main, node, leaving, force = args.main, args.node, args.leaving, args.force
        backups = args.datastore_backups
        after = depends_on(opts)
        if force:
            remove = step(names.remove_node(name), main.connection,
                          remove_node_command(leaving, args.main_node, backups, sudo=main.sudo, force=True),
                          after=after, once=True, parent=self)
        else:
            drain = step(names.drain(name), main.connection,
                         drain_command(leaving, main.name, backups, sudo=main.sudo), after=after, once=True,
                         parent=self)
            leave = step(names.leave(name), node.connection, leave_command(leaving, args.main_node, sudo=node.sudo),
                         after=[drain], once=True, parent=self)
            remove = step(names.remove_node(name), main.connection,
                          remove_node_command(leaving, args.main_node, backups, sudo=main.sudo),
                          after=[leave], once=True, parent=self)
        self.done: list[remote.Command] = [remove]
        self.register_outputs({"node": leaving.name, "force": force})


@dataclass(frozen=True)
class HaproxyRemovalArgs:
    balancer: Server
    # what the previous deployment's record says the host had and now gives up (components/record.py
    # balancers_left_behind); None: it keeps it
    keepalived: Optional[RecordedKeepalived] = None
    haproxy: Optional[RecordedHaproxy] = None


class HaproxyRemoval(pulumi.ComponentResource):
    """A balancer the previous deployment used that gives something up: its VRRP instance first
    (the virtual IP moves to a balancer that keeps it), then, if the config no longer names the
    host, this program's HAProxy config (components/render/haproxy.removal_command)."""

    def __init__(self, name: str, args: HaproxyRemovalArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.HAPROXY_REMOVAL), name, None, opts)
        balancer = args.balancer
        conn = balancer.connection
        keepalived_removal, haproxy_removal = names.removal_steps(name)
        steps: list[pulumi.Resource] = []
        if args.keepalived:
            steps.append(step(keepalived_removal, conn, keepalived.removal_command(args.keepalived, sudo=balancer.sudo),
                              once=True, parent=self, after=depends_on(opts)))
        if args.haproxy:
            steps.append(step(haproxy_removal, conn, removal_command(args.haproxy, sudo=balancer.sudo), once=True,
                              parent=self, after=steps[-1:] or depends_on(opts)))
        self.done: list[remote.Command] = steps[-1:]
        self.register_outputs({"host": balancer.name})
