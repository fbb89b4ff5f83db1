from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import Server, depends_on, step
from .render.settings import reconfigure_command, reconfigure_stdin, settings
from .site import Ha, Install, Scaling


@dataclass(frozen=True)
class SettingsArgs:
    main: Server
    install: Install   # the site's own answers, the external services, the backups and timeouts
    scaling: Scaling
    ha: Ha
    main_datastore: str   # how the datastore lists the main node (the quorum gate)


class Settings(pulumi.ComponentResource):
    """`elma365ctl reconfigure` on the main node after `opts.depends_on` (the last join): autoscaling, Linkerd, HA mode, the
    external services. It runs whenever one of them differs from what the node last applied (or
    was installed with), whichever way: switching autoscaling or HA off is a change like any other."""

    def __init__(self, name: str, args: SettingsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.SETTINGS), name, None, opts)
        main, install = args.main, args.install
        command = reconfigure_command(main.name, args.main_datastore, args.scaling, install.datastore_backups, sudo=main.sudo)
        self.reconfigure = step(name, main.connection, command,
                                stdin=reconfigure_stdin(install, args.scaling, args.ha),
                                applies=settings(install, args.scaling, args.ha), log="stderr",
                                after=depends_on(opts), parent=self)
        self.done: list[remote.Command] = [self.reconfigure]
        self.register_outputs({"settings": name})
