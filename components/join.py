from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import depends_on, node_connection, step
from .render.join import add_node_command, join_command, prepare_command, select_join_target
from .site import Node, Site


@dataclass(frozen=True)
class NodeJoinArgs:
    site: Site
    node: Node
    channel: remote.Command   # the main node's step that reads its MicroK8s channel (after the install)


class NodeJoin(pulumi.ComponentResource):
    """One additional node (the component's name): prepared once the main node's MicroK8s channel is
    known (after the install, so after every check); joined only after `opts.depends_on` (the
    previous join, or the install).

    add-node's output is a one-time token: a secret, never logged. Nothing here undoes a join:
    a node leaves only through NodeDeparture (components/departure.py)."""

    def __init__(self, name: str, args: NodeJoinArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.JOIN), name, None, opts)
        site, node, channel = args.site, args.node, args.channel
        main = site.main
        # a pinned channel is what every node runs once a refresh rolled out (none rolls while a node
        # joins): the main node's channel step ran before that refresh
        self.prepare = step(names.prepare(name), node_connection(site, node), prepare_command(site, node),
                            stdin=site.install.microk8s_channel or channel.stdout, after=[channel], parent=self)
        self.add_node = step(names.add_node(name), node_connection(site, main),
                             add_node_command(site, node), secret_output=True,
                             after=[*depends_on(opts), channel], parent=self)
        target = self.add_node.stdout.apply(lambda out: select_join_target(out, main))
        join = step(names.join(name), node_connection(site, node),
                    self.add_node.urn.apply(lambda urn: join_command(site, node, urn)),
                    stdin=target, after=[self.add_node, self.prepare], parent=self)
        self.done: list[remote.Command] = [join]
        self.register_outputs({"node": node.name})
