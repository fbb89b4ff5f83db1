from __future__ import annotations

from typing import Optional, Sequence

import pulumi
from pulumi_command import remote

from .remote_step import node_connection, step
from .render.join import add_node_command, join_command, prepare_command, select_join_target
from .site import Node, Site


class NodeJoin(pulumi.ComponentResource):
    """One additional node: prepared at once, joined only after `after` (the previous join).

    add-node's output is a one-time token: a secret, never logged. Nothing here undoes a join:
    a node leaves only through NodeDeparture (components/departure.py)."""

    def __init__(self, name: str, site: Site, node: Node, after: pulumi.Resource,
                 opts: pulumi.ResourceOptions | None = None, preflight: Sequence[pulumi.Resource] = (),
                 channel: Optional[remote.Command] = None):
        super().__init__("elma365:cluster:NodeJoin", name, None, opts)
        main = site.main
        # MicroK8s from the main node's channel (`channel`: the step that reads it there)
        wanted = channel.stdout if channel is not None else pulumi.Output.from_input(site.install.microk8s_channel or "")
        self.prepare = step(f"{node.name}-prepare", node_connection(site, node), prepare_command(site, node),
                            stdin=wanted, after=[*preflight, *([channel] if channel is not None else [])],
                            parent=self)
        self.add_node = step(f"{node.name}-add-node", node_connection(site, main),
                             add_node_command(site, node), secret_output=True,
                             after=[after, *([channel] if channel is not None else [])], parent=self)
        target = self.add_node.stdout.apply(lambda out: select_join_target(out, main))
        self.done = step(f"{node.name}-join", node_connection(site, node),
                         self.add_node.urn.apply(lambda urn: join_command(site, node, urn)),
                         stdin=target, after=[self.add_node, self.prepare], parent=self)
        self.register_outputs({"node": node.name})
