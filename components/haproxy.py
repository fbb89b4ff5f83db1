from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from . import names
from .remote_step import Server, depends_on, step
from .render import keepalived
from .render.haproxy import apply_command, stdin_bundle, version_command
from .site import Haproxy, Node


@dataclass(frozen=True)
class HaproxyLoadBalancerArgs:
    haproxy: Haproxy
    balancers: tuple[Server, ...]   # haproxy.balancers' hosts, in their order (the VRRP priorities)
    backends: tuple[Node, ...]      # the nodes HAProxy sends traffic to
    # the balancer whose steps have the unsuffixed names (components/record.first_balancer)
    first: Optional[str] = None


class HaproxyLoadBalancer(pulumi.ComponentResource):
    """HAProxy in front of every node, after `opts.depends_on` (the preflight: nothing is put in
    front of a site the preflight refuses) and independent of the cluster's other steps: its
    health checks keep a node out of rotation until that node answers.

    Per balancer: `haproxy-version` (installs HAProxy if missing, prints `haproxy -v`), whose
    output picks the config's dialect; then `haproxy-config`, which gets the config (and a TLS
    certificate, if any) on stdin, validates it and swaps it in. With a virtual IP, then
    `haproxy-keepalived` (components/render/keepalived.py). Balancers are changed one after the
    other, so that one always serves."""

    def __init__(self, name: str, args: HaproxyLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.HAPROXY), name, None, opts)
        haproxy, backends = args.haproxy, args.backends
        self.versions, self.configs, self.keepalived = [], [], []
        checked = depends_on(opts)
        previous: list[pulumi.Resource] = []
        for index, balancer in enumerate(args.balancers):
            conn = balancer.connection
            first = balancer.name == args.first

            def named(what: str, first: bool = first, host: str = balancer.name) -> dict[str, Any]:
                # the first balancer of a site deployed before its names were kept had the suffixed ones
                return {"name": names.balancer(what, host, first),
                        "aliases": [pulumi.Alias(name=names.balancer(what, host, False))] if first else None}

            version = step(**named("version"), conn=conn, create=version_command(sudo=balancer.sudo), parent=self,
                           after=checked)
            # secret: it may hold the stats password and the TLS certificate's private key
            config = pulumi.Output.secret(version.stdout.apply(lambda out: stdin_bundle(haproxy, backends, out)))
            apply = step(**named("config"), conn=conn, create=apply_command(haproxy, sudo=balancer.sudo), stdin=config,
                         parent=self, after=[version, *previous])
            self.versions.append(version)
            self.configs.append(apply)
            previous = [apply]
            if haproxy.keepalived:
                vrrp = step(**named("keepalived"), conn=conn,
                            create=keepalived.apply_command(haproxy, index, sudo=balancer.sudo),
                            parent=self, after=[apply])
                self.keepalived.append(vrrp)
                previous = [vrrp]
        # the last balancer's last step: every balancer serves the new config
        self.done: list[pulumi.Resource] = previous
        port = haproxy.web_port
        self.url = f"http://{haproxy.public_address}" + ("" if port == 80 else f":{port}") + "/"
        self.register_outputs({"url": self.url})
