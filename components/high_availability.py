from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import depends_on, node_connection, step
from .render.high_availability import ha_settings, restart_command, update_hamode_command
from .site import Site


@dataclass(frozen=True)
class HighAvailabilityArgs:
    site: Site


class HighAvailability(pulumi.ComponentResource):
    """After `opts.depends_on` (the settings and the scale commands): `elma365ctl update-hamode` node by node (each waits for the previous one:
    the nodes restart), then a single `elma365ctl restart`. Present on every site: each step runs
    its tool only when the HA settings differ from what its node last applied (every node starts
    with HA off), so switching HA on, changing it, or switching it off rolls out once."""

    def __init__(self, name: str, args: HighAvailabilityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.HA), name, None, opts)
        site = args.site
        applies = ha_settings(site)
        self.updates = []
        previous: Sequence[pulumi.Resource] = depends_on(opts)
        for node in site.active:
            update = step(names.update_hamode(node.name), node_connection(site, node), update_hamode_command(site, node),
                          applies=applies, after=previous, parent=self)
            self.updates.append(update)
            previous = [update]
        self.restart = step(names.RESTART, node_connection(site, site.main), restart_command(site), applies=applies,
                            after=previous, parent=self)
        self.done: list[remote.Command] = [self.restart]
        self.register_outputs({"ha": applies})
