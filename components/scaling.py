from __future__ import annotations

from dataclasses import dataclass

import pulumi

from . import names
from .remote_step import Server, depends_on, step
from .render.scaling import scale_command, scale_settings
from .site import Scaling as ScalingSection


@dataclass(frozen=True)
class ScalingArgs:
    main: Server
    scaling: ScalingSection


class Scaling(pulumi.ComponentResource):
    """Manual replica counts, after `opts.depends_on`: the settings (manual scaling is refused while autoscaling is on,
    so switching autoscaling off comes first). `scale all` first: a per-service count beside it wins."""

    def __init__(self, name: str, args: ScalingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.SCALING), name, None, opts)
        main, scaling = args.main, args.scaling
        self.commands = []
        scale_all = None
        for service, replicas in scaling.replicas.items():
            deps = [scale_all] if scale_all is not None else depends_on(opts)
            command = step(f"{name}-{service}", main.connection, scale_command(service, replicas, sudo=main.sudo),
                           applies=scale_settings(scaling, service, replicas), after=deps, parent=self)
            if service == "all":
                scale_all = command
            self.commands.append(command)
        # with no count to apply, what it waited for is what its followers wait for
        self.done: list[pulumi.Resource] = list(self.commands) or depends_on(opts)
        self.register_outputs({"replicas": dict(scaling.replicas)})
