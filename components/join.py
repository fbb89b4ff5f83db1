from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import Server, depends_on, step
from .render.join import add_node_command, join_command, prepare_command, select_join_target
from .site import Node


@dataclass(frozen=True)
class NodeJoinArgs:
    main: Server
    node: Server
    main_node: Node    # its cluster address is what the joining node reaches it at
    joining: Node
    channel: remote.Command   # the main node's step that reads its MicroK8s channel (after the install)
    pin: Optional[str]        # install.microk8sChannel: the channel every node runs, when pinned
    ha_enabled: bool
    adopt: bool
    datastore_backups: int


class NodeJoin(pulumi.ComponentResource):
    """One additional node (the component's name): prepared once the main node's MicroK8s channel is
    known (after the install, so after every check); joined only after `opts.depends_on` (the
    previous join, or the install).

    add-node's output is a one-time token: a secret, never logged. Nothing here undoes a join:
    a node leaves only through NodeDeparture (components/departure.py)."""

    def __init__(self, name: str, args: NodeJoinArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.JOIN), name, None, opts)
        main, node, channel, main_node = args.main, args.node, args.channel, args.main_node
        # a pinned channel is what every node runs once a refresh rolled out (none rolls while a node
        # joins): the main node's channel step ran before that refresh
        self.prepare = step(names.prepare(name), node.connection,
                            prepare_command(node.name, main_node, args.ha_enabled, sudo=node.sudo),
                            stdin=args.pin or channel.stdout, after=[channel], parent=self)
        self.add_node = step(names.add_node(name), main.connection,
                             add_node_command(args.joining, main_node, args.datastore_backups, sudo=main.sudo),
                             secret_output=True, after=[*depends_on(opts), channel], parent=self)
        target = self.add_node.stdout.apply(lambda out: select_join_target(out, main_node))
        join = step(names.join(name), node.connection,
                    self.add_node.urn.apply(lambda urn: join_command(node.name, main_node, args.adopt, urn,
                                                                     sudo=node.sudo)),
                    stdin=target, after=[self.add_node, self.prepare], parent=self)
        self.done: list[remote.Command] = [join]
        self.register_outputs({"node": node.name})
