from __future__ import annotations

import pulumi

from .haproxy import HaproxyLoadBalancer
from .high_availability import HighAvailability
from .install import Elma365Install
from .join import NodeJoin
from .scaling import Scaling
from .site import Site


class Elma365Cluster(pulumi.ComponentResource):
    """The whole site: install, serial joins, scaling, HA, load balancer.

    The site config (secrets left out) is recorded as the component's inputs, for policies."""

    def __init__(self, name: str, site: Site, opts: pulumi.ResourceOptions | None = None):
        super().__init__("elma365:cluster:Elma365Cluster", name, site.public_view(), opts)
        child = pulumi.ResourceOptions(parent=self)
        self.install = Elma365Install("install", site, child)
        last: pulumi.Resource = self.install.done
        self.joins = []
        for node in site.joining:
            join = NodeJoin(f"join-{node.name}", site, node, after=last, opts=child)
            self.joins.append(join)
            last = join.done
        self.scaling = Scaling("scaling", site, after=[last], opts=child)
        self.ha = None
        if site.ha.enabled:
            self.ha = HighAvailability("ha", site, after=self.scaling.done or [last], opts=child)
        self.haproxy = HaproxyLoadBalancer("haproxy", site, child) if site.haproxy else None

        self.node_names = [n.name for n in site.nodes]
        self.main_node = site.main.name
        self.haproxy_url = self.haproxy.url if self.haproxy else None
        self.configured = {
            "replicas": dict(site.scaling.replicas),
            "autoscaling": site.public_view()["scaling"]["autoscaling"],
            "ha": {"enabled": site.ha.enabled, "replicas": site.ha.replicas,
                   "failoverSeconds": site.ha.failover_seconds} if site.ha.enabled else {"enabled": False},
        }
        self.register_outputs({"nodeNames": self.node_names, "mainNode": self.main_node,
                               "haproxyUrl": self.haproxy_url, "configured": self.configured})
