from __future__ import annotations

import pulumi

from .haproxy import HaproxyLoadBalancer
from .high_availability import HighAvailability
from .install import Elma365Install
from .join import NodeJoin
from .kubernetes import KubeconfigSource, KubernetesNodes
from .preflight import Preflight
from .scaling import Scaling
from .site import Site


class Elma365Cluster(pulumi.ComponentResource):
    """The whole site: install, serial joins, scaling, HA, load balancer.

    The site config (secrets left out) is recorded as the component's inputs, for policies."""

    def __init__(self, name: str, site: Site, opts: pulumi.ResourceOptions | None = None):
        super().__init__("elma365:cluster:Elma365Cluster", name, site.public_view(), opts)
        child = pulumi.ResourceOptions(parent=self)
        # nothing is installed or prepared before every node passed its checks
        self.preflight = Preflight("preflight", site, child) if site.preflight.enabled else None
        checked = self.preflight.done if self.preflight else []
        self.install = Elma365Install("install", site, child, after=checked)
        last: pulumi.Resource = self.install.done
        self.joins = []
        for node in site.joining:
            join = NodeJoin(f"join-{node.name}", site, node, after=last, opts=child, preflight=checked)
            self.joins.append(join)
            last = join.done
        self.scaling = Scaling("scaling", site, after=[last], opts=child)
        self.ha = None
        if site.ha.enabled:
            self.ha = HighAvailability("ha", site, after=self.scaling.done or [last], opts=child)
        self.haproxy = HaproxyLoadBalancer("haproxy", site, child) if site.haproxy else None
        # read-only, right after the last join (in parallel with scaling and HA); the node labels are
        # applied once the roll-out that restarts nodes is over
        self.kubeconfig_source = KubeconfigSource("kubeconfig", site, after=[last], opts=child)
        self.kubeconfig = self.kubeconfig_source.kubeconfig
        finished = [self.ha.restart] if self.ha else (self.scaling.done or [last])
        self.kubernetes = (KubernetesNodes("kubernetes", site, self.kubeconfig, after=finished, opts=child)
                           if site.kubernetes.enabled else None)
        self.kubernetes_nodes = self.kubernetes.labels if self.kubernetes else None

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
