from __future__ import annotations

from typing import Sequence

import pulumi

from .remote_step import node_connection, step
from .render.install import reconfigure_command, reconfigure_stdin
from .render.operations import scale_command
from .site import Site


class Scaling(pulumi.ComponentResource):
    """Autoscaling settings (through reconfigure) and/or manual replica counts, after all joins.

    Manual scaling is refused while autoscaling is on, so when the site sets autoscaling (on or
    off) the reconfigure runs first and the scale commands after it."""

    def __init__(self, name: str, site: Site, after: Sequence[pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("elma365:cluster:Scaling", name, None, opts)
        main = node_connection(site, site.main)
        self.settings = None
        if site.scaling.autoscaling is not None:
            self.settings = step("autoscaling-reconfigure", main,
                                 reconfigure_command(site, "autoscaling settings"),
                                 stdin=reconfigure_stdin(site), log="stderr", after=after, parent=self)
        first = [self.settings] if self.settings else list(after)
        self.commands = []
        scale_all = None
        for service, replicas in site.scaling.replicas.items():
            # `scale all` first: a per-service count beside it must win.
            deps = [scale_all] if scale_all is not None else first
            command = step(f"scale-{service}", main, scale_command(site, service, replicas),
                           after=deps, parent=self)
            if service == "all":
                scale_all = command
            self.commands.append(command)
        self.done: list[pulumi.Resource] = self.commands or ([self.settings] if self.settings else [])
        self.register_outputs({"replicas": dict(site.scaling.replicas)})
