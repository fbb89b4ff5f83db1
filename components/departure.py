from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import connection, depends_on, node_connection, step
from .render.departure import drain_command, leave_command, remove_node_command
from .render import keepalived
from .render.haproxy import removal_command
from .site import Node, Site


@dataclass(frozen=True)
class NodeDepartureArgs:
    site: Site
    node: Node
    force: bool = False   # a dead node: removed on the main node, nothing runs on it


class NodeDeparture(pulumi.ComponentResource):
    """After `opts.depends_on`, a node on its way out: `nodes[i].decommission: true` (or its entry deleted, as the previous
    deployment's record tells): drained and, once it has left (`microk8s leave` on itself), removed
    on the main node; `decommission: force` (a dead node): removed on the main node, nothing runs
    on it. Each step runs once: later changes (a new key, new script text) never run it again."""

    def __init__(self, name: str, args: NodeDepartureArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.DEPARTURE), name, None, opts)
        site, node, force = args.site, args.node, args.force
        after = depends_on(opts)
        main = node_connection(site, site.main)
        if force:
            remove = step(names.remove_node(name), main, remove_node_command(site, node, force=True),
                          after=after, once=True, parent=self)
        else:
            drain = step(names.drain(name), main, drain_command(site, node), after=after, once=True,
                         parent=self)
            leave = step(names.leave(name), node_connection(site, node), leave_command(site, node),
                         after=[drain], once=True, parent=self)
            remove = step(names.remove_node(name), main, remove_node_command(site, node),
                          after=[leave], once=True, parent=self)
        self.done: list[remote.Command] = [remove]
        self.register_outputs({"node": node.name, "force": force})


@dataclass(frozen=True)
class HaproxyRemovalArgs:
    site: Site
    old: dict[str, Any]   # a balancer as components/record.balancers_left_behind gives it


class HaproxyRemoval(pulumi.ComponentResource):
    """A balancer the previous deployment used that gives something up: its VRRP instance first
    (the virtual IP moves to a balancer that keeps it), then, if the config no longer names the
    host, this program's HAProxy config (components/render/haproxy.removal_command)."""

    def __init__(self, name: str, args: HaproxyRemovalArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.HAPROXY_REMOVAL), name, None, opts)
        site, old = args.site, args.old
        conn = connection(site, old["host"], port=old.get("port"), user=old.get("user"), host_key=old.get("hostKey"))
        keepalived_removal, haproxy_removal = names.removal_steps(name)
        steps: list[pulumi.Resource] = []
        if old.get("keepalived"):
            steps.append(step(keepalived_removal, conn, keepalived.removal_command(site, old["keepalived"]),
                              once=True, parent=self, after=depends_on(opts)))
        if old.get("haproxy"):
            steps.append(step(haproxy_removal, conn, removal_command(site, old["haproxy"]), once=True,
                              parent=self, after=steps[-1:] or depends_on(opts)))
        self.done: list[remote.Command] = steps[-1:]
        self.register_outputs({"host": old["host"]})
