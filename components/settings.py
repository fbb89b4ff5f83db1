from __future__ import annotations

from dataclasses import dataclass

import pulumi

from .remote_step import depends_on, node_connection, step
from .render.settings import reconfigure_command, reconfigure_stdin, settings
from .site import Site


@dataclass(frozen=True)
class SettingsArgs:
    site: Site
    # the stack was deployed by an earlier version of this program, which kept no record of applied
    # settings on the nodes: a missing record means "applied by it", even for this new step
    adopt: bool = False


class Settings(pulumi.ComponentResource):
    """`elma365ctl reconfigure` on the main node after `opts.depends_on` (the last join): autoscaling, Linkerd, HA mode, the
    external services. It runs whenever one of them differs from what the node last applied (or
    was installed with), whichever way: switching autoscaling or HA off is a change like any other."""

    def __init__(self, name: str, args: SettingsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("elma365:cluster:Settings", name, None, opts)
        site = args.site
        conn = node_connection(site, site.main)
        # the step that was `ha-reconfigure` (HA only) before it took every setting
        old = pulumi.Alias(name="ha-reconfigure", parent=_old_parent("elma365:cluster:HighAvailability", "ha"))
        self.reconfigure = step("reconfigure", conn, reconfigure_command(site, adopt=args.adopt),
                                update=reconfigure_command(site, adopt=True), stdin=reconfigure_stdin(site),
                                applies=settings(site), log="stderr", after=depends_on(opts), parent=self,
                                aliases=[old])
        self.register_outputs({})


def _old_parent(type_: str, name: str) -> str:
    """The URN a component of the cluster had (for aliases of steps that moved out of it)."""
    stack, project = pulumi.get_stack(), pulumi.get_project()
    return f"urn:pulumi:{stack}::{project}::elma365:cluster:Elma365Cluster${type_}::{name}"
