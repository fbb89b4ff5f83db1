from __future__ import annotations

from dataclasses import dataclass

import pulumi

from .remote_step import connection, depends_on, step
from .render import keepalived
from .render.haproxy import apply_command, balancer_step, stdin_bundle, version_command
from .site import Site


@dataclass(frozen=True)
class HaproxyLoadBalancerArgs:
    site: Site


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
        super().__init__("elma365:cluster:HaproxyLoadBalancer", name, None, opts)
        site = args.site
        haproxy = site.haproxy
        assert haproxy is not None
        self.versions, self.configs, self.keepalived = [], [], []
        checked = depends_on(opts)
        previous: list[pulumi.Resource] = []
        for index, balancer in enumerate(haproxy.balancers):
            conn = connection(site, balancer.host, port=balancer.port, user=balancer.user, host_key=balancer.host_key)
            version = step(balancer_step(haproxy, balancer, "version"), conn, version_command(site, haproxy), parent=self,
                           after=checked)
            # secret: it may hold the stats password and the TLS certificate's private key
            config = pulumi.Output.secret(version.stdout.apply(lambda out: stdin_bundle(haproxy, site.active, out)))
            apply = step(balancer_step(haproxy, balancer, "config"), conn, apply_command(site, haproxy), stdin=config,
                         parent=self, after=[version, *previous])
            self.versions.append(version)
            self.configs.append(apply)
            previous = [apply]
            if haproxy.keepalived:
                vrrp = step(balancer_step(haproxy, balancer, "keepalived"), conn,
                            keepalived.apply_command(site, haproxy, index), parent=self, after=[apply])
                self.keepalived.append(vrrp)
                previous = [vrrp]
        self.done = previous[0]   # the last balancer's last step: every balancer serves the new config
        port = haproxy.web_port
        self.url = f"http://{haproxy.public_address}" + ("" if port == 80 else f":{port}") + "/"
        self.register_outputs({"url": self.url})
