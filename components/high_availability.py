from __future__ import annotations

from typing import Sequence

import pulumi

from .remote_step import node_connection, step
from .render.install import reconfigure_command, reconfigure_stdin
from .render.operations import restart_command, update_hamode_command
from .site import Site


class HighAvailability(pulumi.ComponentResource):
    """reconfigure with HA on, then update-hamode node by node (each waits for the previous
    one: the nodes restart), then a single restart. A change of HA settings re-runs the roll-out."""

    def __init__(self, name: str, site: Site, after: Sequence[pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("elma365:cluster:HighAvailability", name, None, opts)
        settings = [site.ha.replicas, site.ha.failover_seconds]
        self.reconfigure = step("ha-reconfigure", node_connection(site, site.main),
                                reconfigure_command(site, "high availability mode"),
                                stdin=reconfigure_stdin(site), log="stderr", after=after, parent=self)
        self.updates = []
        previous: pulumi.Resource = self.reconfigure
        for node in site.nodes:
            previous = step(f"{node.name}-update-hamode", node_connection(site, node),
                            update_hamode_command(site, node), triggers=settings,
                            after=[previous], parent=self)
            self.updates.append(previous)
        self.restart = step("restart", node_connection(site, site.main), restart_command(site),
                            triggers=settings, after=[previous], parent=self)
        self.register_outputs({"replicas": site.ha.replicas, "failoverSeconds": site.ha.failover_seconds})
