from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import Server, depends_on, step
from .render.high_availability import ha_settings, restart_command, update_hamode_command
from .site import Ha


@dataclass(frozen=True)
class HighAvailabilityArgs:
    nodes: tuple[Server, ...]   # the cluster's nodes, the main node first (where the restart runs)
    ha: Ha
    datastores: tuple[str, ...]  # how the datastore lists each node, in the order of `nodes` (the quorum gate)


class HighAvailability(pulumi.ComponentResource):
    """After `opts.depends_on` (the settings and the scale commands): `elma365ctl update-hamode` node by node (each waits for the previous one:
    the nodes restart), then a single `elma365ctl restart`. Present on every site: each step runs
    its tool only when the HA settings differ from what its node last applied (every node starts
    with HA off), so switching HA on, changing it, or switching it off rolls out once."""

    def __init__(self, name: str, args: HighAvailabilityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.HA), name, None, opts)
        main = args.nodes[0]
        applies = ha_settings(args.ha)
        self.updates = []
        previous: Sequence[pulumi.Resource] = depends_on(opts)
        for index, (node, datastore) in enumerate(zip(args.nodes, args.datastores, strict=True)):
            # the main node's last guarded step is the restart
            command = update_hamode_command(node.name, datastore, args.ha, last=index > 0, sudo=node.sudo)
            update = step(names.update_hamode(node.name), node.connection, command,
                          applies=applies, after=previous, parent=self)
            self.updates.append(update)
            previous = [update]
        self.restart = step(names.RESTART, main.connection, restart_command(main.name, args.datastores[0], sudo=main.sudo),
                            applies=applies, after=previous, parent=self)
        self.done: list[remote.Command] = [self.restart]
        self.register_outputs({"ha": applies})
