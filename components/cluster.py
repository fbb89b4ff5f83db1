from __future__ import annotations

from typing import Any, Optional

import pulumi

from .departure import HaproxyRemoval, NodeDeparture
from .haproxy import HaproxyLoadBalancer
from .high_availability import HighAvailability
from .install import Elma365Install
from .join import NodeJoin
from .kubernetes import KubeconfigSource, KubernetesNodes
from .preflight import Preflight
from .record import departed, haproxy_left_behind, record_of
from .scaling import Scaling, Settings
from .site import Node, Site


class Elma365Cluster(pulumi.ComponentResource):
    """The whole site: install, serial joins, settings, scaling, HA, load balancer, departures.

    `previous` is the record the last successful deployment exported (components/record.py): nodes
    whose entry is gone since leave the cluster in this run, and a load balancer host no longer
    named gets its own config back. The site config (secrets left out) is recorded as the
    component's inputs, for policies."""

    def __init__(self, name: str, site: Site, opts: pulumi.ResourceOptions | None = None,
                 previous: Optional[dict[str, Any]] = None):
        super().__init__("elma365:cluster:Elma365Cluster", name, site.public_view(), opts)
        child = pulumi.ResourceOptions(parent=self)
        # nothing is installed or prepared before every node passed its checks
        self.preflight = Preflight("preflight", site, child) if site.preflight.enabled else None
        checked = self.preflight.done if self.preflight else []
        self.install = Elma365Install("install", site, child, after=checked)
        last: pulumi.Resource = self.install.done
        self.joins = []
        for node in site.joining:
            join = NodeJoin(f"join-{node.name}", site, node, after=last, opts=child, preflight=checked,
                            channel=self.install.microk8s_channel)
            self.joins.append(join)
            last = join.done
        self.settings = Settings("settings", site, after=[last], opts=child)
        self.scaling = Scaling("scaling", site, after=[self.settings.reconfigure], opts=child)
        self.ha = HighAvailability("ha", site, after=self.scaling.done or [self.settings.reconfigure], opts=child)
        self.haproxy = HaproxyLoadBalancer("haproxy", site, child) if site.haproxy else None
        left_behind = haproxy_left_behind(previous, site)
        self.haproxy_removal = HaproxyRemoval("haproxy-removal", site, left_behind, child) if left_behind else None

        # a node leaves after the joins (a replacement is in first) and once HAProxy no longer sends it traffic
        before_departure = [last] + ([self.haproxy.apply] if self.haproxy else [])
        self.departures = []
        for node in site.decommissioned:
            self.departures.append(NodeDeparture(f"departure-{node.name}", site, node, node.decommission == "force",
                                                 after=before_departure, opts=child))
        for gone in departed(previous, site):
            node = Node(name=gone["name"], address=gone["address"], cluster_address=gone["clusterAddress"],
                        port=gone.get("port"), host_key=gone.get("hostKey"))
            self.departures.append(NodeDeparture(f"departure-{node.name}", site, node, False,
                                                 after=before_departure, opts=child))

        # read-only, right after the last join (in parallel with settings, scaling and HA); the node
        # labels are applied once the roll-out that restarts nodes is over
        self.kubeconfig_source = KubeconfigSource("kubeconfig", site, after=[last], opts=child)
        self.kubeconfig = self.kubeconfig_source.kubeconfig
        self.kubernetes = (KubernetesNodes("kubernetes", site, self.kubeconfig, after=[self.ha.restart], opts=child)
                           if site.kubernetes.enabled else None)
        self.kubernetes_nodes = self.kubernetes.labels if self.kubernetes else None

        self.node_names = [n.name for n in site.active]
        self.main_node = site.main.name
        self.haproxy_url = self.haproxy.url if self.haproxy else None
        self.configured = {
            "replicas": dict(site.scaling.replicas),
            "autoscaling": site.public_view()["scaling"]["autoscaling"],
            "ha": {"enabled": site.ha.enabled, "replicas": site.ha.replicas,
                   "failoverSeconds": site.ha.failover_seconds} if site.ha.enabled else {"enabled": False},
        }
        # The record the next run compares with: it counts only once every departure (and the
        # HAProxy removal) has succeeded, so a failed one is tried again by the next run.
        finished = [d.remove.stdout for d in self.departures]
        if self.haproxy_removal:
            finished.append(self.haproxy_removal.done.stdout)
        record = record_of(site)
        self.record = pulumi.Output.all(*finished).apply(lambda _: record) if finished else pulumi.Output.from_input(record)
        self.register_outputs({"nodeNames": self.node_names, "mainNode": self.main_node,
                               "haproxyUrl": self.haproxy_url, "configured": self.configured})
