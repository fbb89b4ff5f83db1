from __future__ import annotations

from dataclasses import dataclass

import pulumi

from . import names
from .remote_step import depends_on, node_connection, step
from .render.scaling import scale_command, scale_settings
from .site import Site


@dataclass(frozen=True)
class ScalingArgs:
    site: Site


class Scaling(pulumi.ComponentResource):
    """Manual replica counts, after `opts.depends_on`: the settings (manual scaling is refused while autoscaling is on,
    so switching autoscaling off comes first). `scale all` first: a per-service count beside it wins."""

    def __init__(self, name: str, args: ScalingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.SCALING), name, None, opts)
        site = args.site
        main = node_connection(site, site.main)
        self.commands = []
        scale_all = None
        for service, replicas in site.scaling.replicas.items():
            deps = [scale_all] if scale_all is not None else depends_on(opts)
            command = step(f"{name}-{service}", main, scale_command(site, service, replicas),
                           applies=scale_settings(site, service, replicas), after=deps, parent=self)
            if service == "all":
                scale_all = command
            self.commands.append(command)
        # with no count to apply, what it waited for is what its followers wait for
        self.done: list[pulumi.Resource] = list(self.commands) or depends_on(opts)
        self.register_outputs({"replicas": dict(site.scaling.replicas)})
