from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import depends_on, node_connection, step
from .render.settings import reconfigure_command, reconfigure_stdin, settings
from .site import Site


@dataclass(frozen=True)
class SettingsArgs:
    site: Site


class Settings(pulumi.ComponentResource):
    """`elma365ctl reconfigure` on the main node after `opts.depends_on` (the last join): autoscaling, Linkerd, HA mode, the
    external services. It runs whenever one of them differs from what the node last applied (or
    was installed with), whichever way: switching autoscaling or HA off is a change like any other."""

    def __init__(self, name: str, args: SettingsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.SETTINGS), name, None, opts)
        site = args.site
        conn = node_connection(site, site.main)
        self.reconfigure = step(name, conn, reconfigure_command(site), stdin=reconfigure_stdin(site),
                                applies=settings(site), log="stderr", after=depends_on(opts), parent=self)
        self.done: list[remote.Command] = [self.reconfigure]
        self.register_outputs({"settings": name})
