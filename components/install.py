from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import depends_on, node_connection, step
from .render.install import install_command, install_stdin, installed_settings, microk8s_channel_command
from .site import Site


@dataclass(frozen=True)
class Elma365InstallArgs:
    site: Site


class Elma365Install(pulumi.ComponentResource):
    """The vendor installer on the main node (the component's name), answered from the site config, after
    `opts.depends_on` (the preflight checks); then the MicroK8s channel every joining node gets."""

    def __init__(self, name: str, args: Elma365InstallArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.INSTALL), name, None, opts)
        site = args.site
        main = site.main
        install = step(names.install(name), node_connection(site, main), install_command(site),
                       stdin=install_stdin(site), applies=installed_settings(site), log="stderr",
                       after=depends_on(opts), parent=self)
        # the MicroK8s channel every joining node gets (read-only; refuses a pin that differs)
        self.microk8s_channel = step(names.microk8s_channel(name), node_connection(site, main),
                                     microk8s_channel_command(site),
                                     update=microk8s_channel_command(site, pin_check=False), after=[install],
                                     parent=self)
        self.done: list[remote.Command] = [install]
        self.register_outputs({"node": main.name, "microk8sChannel": self.microk8s_channel.stdout})
