from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi

from . import names
from .remote_step import Server, step
from .facts.node import parse_facts, report
from .render.preflight import node_facts, preflight_command, preflight_update_command, quorum_command
from .render.certificates import CertificateCheck
from .render.quorum import Change
from .render.refresh import RefreshPlan
from .site import Node, Preflight as PreflightSection


@dataclass(frozen=True)
class PreflightArgs:
    main: Node                  # what the others must reach, and where the installer may run
    nodes: tuple[Server, ...]   # every node to check, the main node among them
    preflight: PreflightSection
    adopt: bool
    refresh: Optional[RefreshPlan]   # with a pinned channel or a refresh number: what a refresh must find
    # each node's certificates check: its cluster address, install.certificates.renewDaysBefore
    certificates: Mapping[str, CertificateCheck] = field(default_factory=dict)
    # the run's membership changes not yet done (components/cluster.membership_plan); None: none
    plan: Optional[Change] = None


class Preflight(pulumi.ComponentResource):
    """One check command per node, all at once, before anything is installed: first what the node
    runs (components/facts/node.py) and the site rules over it, on every site; then, with
    `preflight.enabled`, the checks.

    Each node's command prints one `PREFLIGHT <node> <check> ok|warn|fail <detail>` line per check
    and fails listing every failed check of that node; as the commands have no dependencies, they
    all run and one `pulumi up` reports every failed check on every node. A failed check stores
    nothing, so the next run checks again; a passed one re-runs only when its node's entry (name,
    main node's cluster address, sudo) or the `elma365:preflight` thresholds change: exactly its
    `triggers`, and what its command text is made of besides `elma365:adopt` and `preflight.enabled`
    (which update it: a node that passed is not checked again for them)."""

    def __init__(self, name: str, args: PreflightArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.PREFLIGHT), name, None, opts)
        main, preflight = args.main, args.preflight
        self.checks: dict[str, pulumi.Resource] = {}
        thresholds = preflight.thresholds()
        for node in args.nodes:
            certificates = args.certificates.get(node.name)
            self.checks[node.name] = step(names.preflight(node.name), node.connection,
                                          preflight_command(node.name, main, args.adopt, preflight, refresh=args.refresh,
                                                            sudo=node.sudo, certificates=certificates),
                                          update=preflight_update_command(node.name, refresh=args.refresh, sudo=node.sudo,
                                                                          certificates=certificates),
                                          triggers=[node_facts(node.name, main, sudo=node.sudo), thresholds],
                                          parent=self)
        # in a run that changes the membership, the quorum gate over its whole plan on the main node, beside
        # the checks: a step of its own, so that the checks of a run without such a change run nothing new
        # (it exists only in the runs that need it, and has no delete)
        self.quorum = None
        if args.plan is not None:
            on_main = next(n for n in args.nodes if n.name == main.name)
            self.quorum = step(names.quorum(main.name), on_main.connection,
                               quorum_command(main, args.plan, sudo=on_main.sudo), parent=self)
        # what every node reported it runs, as last read (a node in service reads it only when
        # its preflight runs again)
        self.facts = pulumi.Output.all(*(c.stdout for c in self.checks.values())).apply(
            lambda outputs: list(report(parse_facts("\n".join(o or "" for o in outputs)))))
        self.register_outputs({"nodes": list(self.checks), "thresholds": thresholds, "facts": self.facts})

    @property
    def done(self) -> list[pulumi.Resource]:
        return [*self.checks.values(), *([self.quorum] if self.quorum else [])]
