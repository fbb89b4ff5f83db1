from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import Server, depends_on, step
from .render.hold import hold_command


@dataclass(frozen=True)
class MicroK8sHoldArgs:
    node: Server


class MicroK8sHold(pulumi.ComponentResource):
    """A node's MicroK8s refreshes held (the component's name: the node), after `opts.depends_on`:
    the node's install or join, the moment it runs MicroK8s."""

    def __init__(self, name: str, args: MicroK8sHoldArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.HOLD), name, None, opts)
        node = args.node
        hold = step(names.microk8s_hold(name), node.connection, hold_command(node.name, sudo=node.sudo),
                    after=depends_on(opts), parent=self)
        self.done: list[remote.Command] = [hold]
        self.register_outputs({"node": name})
