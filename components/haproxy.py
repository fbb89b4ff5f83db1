from __future__ import annotations

import pulumi

from .remote_step import connection, step
from .render.haproxy import apply_command, haproxy_config
from .site import Site


class HaproxyLoadBalancer(pulumi.ComponentResource):
    """HAProxy in front of every node. Independent of the cluster's steps: it runs at once, and its
    health checks keep a node out of rotation until that node answers."""

    def __init__(self, name: str, site: Site, opts: pulumi.ResourceOptions | None = None):
        super().__init__("elma365:cluster:HaproxyLoadBalancer", name, None, opts)
        haproxy = site.haproxy
        assert haproxy is not None
        self.config = haproxy_config(haproxy, site.nodes)
        conn = connection(site, haproxy.host, port=haproxy.port, user=haproxy.user, host_key=haproxy.host_key)
        self.apply = step("haproxy-config", conn, apply_command(site, haproxy), stdin=self.config, parent=self)
        port = haproxy.bind.rsplit(":", 1)[1]
        self.url = f"http://{haproxy.host}" + ("" if port == "80" else f":{port}") + "/"
        self.register_outputs({"url": self.url})
