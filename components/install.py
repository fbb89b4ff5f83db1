from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import Server, depends_on, step
from .render.install import install_command, install_stdin, installed_settings, microk8s_channel_command
from .site import Install, Scaling


@dataclass(frozen=True)
class Elma365InstallArgs:
    main: Server
    install: Install
    scaling: Scaling   # the installer asks autoscaling and Linkerd too
    adopt: bool = False


class Elma365Install(pulumi.ComponentResource):
    """The vendor installer on the main node (the component's name), answered from the site config, after
    `opts.depends_on` (the preflight checks); then the MicroK8s channel every joining node gets."""

    def __init__(self, name: str, args: Elma365InstallArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.INSTALL), name, None, opts)
        main = args.main
        install = step(names.install(name), main.connection,
                       install_command(main.name, args.install, args.adopt, sudo=main.sudo),
                       stdin=install_stdin(args.install, args.scaling),
                       applies=installed_settings(args.install, args.scaling), log="stderr",
                       after=depends_on(opts), parent=self)
        # the MicroK8s channel every joining node gets (read-only). On the first deployment a pin must
        # be it; a pin changed later asks for a rolling refresh (components/refresh.py), which the
        # preflight checked, so the step's update reads the channel without refusing it
        pin = args.install.microk8s_channel
        self.microk8s_channel = step(names.microk8s_channel(name), main.connection,
                                     microk8s_channel_command(main.name, pin, sudo=main.sudo),
                                     update=microk8s_channel_command(main.name, None, sudo=main.sudo),
                                     after=[install], parent=self)
        self.done: list[remote.Command] = [install]
        self.register_outputs({"node": main.name, "microk8sChannel": self.microk8s_channel.stdout})
