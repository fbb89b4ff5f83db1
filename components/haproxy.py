from __future__ import annotations

from dataclasses import dataclass

import pulumi

from .remote_step import connection, step
from .render.haproxy import apply_command, stdin_bundle, version_command
from .site import Site


@dataclass(frozen=True)
class HaproxyLoadBalancerArgs:
    site: Site


class HaproxyLoadBalancer(pulumi.ComponentResource):
    """HAProxy in front of every node. Independent of the cluster's steps: it runs at once, and its
    health checks keep a node out of rotation until that node answers.

    Two steps on the load balancer host: `haproxy-version` (installs HAProxy if missing, prints
    `haproxy -v`), whose output picks the config's dialect; then `haproxy-config`, which gets the
    config (and a TLS certificate, if any) on stdin, validates it and swaps it in."""

    def __init__(self, name: str, args: HaproxyLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("elma365:cluster:HaproxyLoadBalancer", name, None, opts)
        site = args.site
        haproxy = site.haproxy
        assert haproxy is not None
        conn = connection(site, haproxy.host, port=haproxy.port, user=haproxy.user, host_key=haproxy.host_key)
        self.version = step("haproxy-version", conn, version_command(site, haproxy), parent=self)
        # secret: it may hold the stats password and the TLS certificate's private key
        self.config = pulumi.Output.secret(
            self.version.stdout.apply(lambda out: stdin_bundle(haproxy, site.active, out)))
        self.apply = step("haproxy-config", conn, apply_command(site, haproxy), stdin=self.config,
                          parent=self, after=[self.version])
        port = haproxy.bind.rsplit(":", 1)[1]
        self.url = f"http://{haproxy.host}" + ("" if port == "80" else f":{port}") + "/"
        self.register_outputs({"url": self.url})
