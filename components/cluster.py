from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from . import names
from .backups import BackupPlace, DatastoreBackups, DatastoreBackupsArgs
from .certificates import CertificateRenewal, CertificateRenewalArgs
from .departure import HaproxyRemoval, HaproxyRemovalArgs, NodeDeparture, NodeDepartureArgs
from .haproxy import HaproxyLoadBalancer, HaproxyLoadBalancerArgs
from .hold import MicroK8sHold, MicroK8sHoldArgs
from .high_availability import HighAvailability, HighAvailabilityArgs
from .install import Elma365Install, Elma365InstallArgs
from .join import NodeJoin, NodeJoinArgs
from .kubernetes import KubeconfigSource, KubeconfigSourceArgs, KubernetesNodes, KubernetesNodesArgs
from .preflight import Preflight, PreflightArgs
from .record import Record, balancers_left_behind, departed, first_balancer, refresh_asked
from .refresh import MicroK8sRefresh, MicroK8sRefreshArgs
from .remote_step import Server, balancer_of, connection, server_of
from .render.certificates import CertificateCheck
from .render.quorum import Change
from .render.refresh import RefreshPlan, RolloutNode, Target
from .render.shell import BACKUP_DIR
from .facts import certificates
from .facts.backups import backup_host_read
from .facts.node import datastore_address, parse_facts
from .scaling import Scaling, ScalingArgs
from .settings import Settings, SettingsArgs
from .site import Node, Site
from .site_view import configured, public_view


@dataclass(frozen=True)
class Elma365ClusterArgs:
    # the one whole site of the program: this component turns it into its children's narrow Args
    site: Site
    # the record the last successful deployment exported (components/record.py); None: a new stack
    previous: Optional[Record] = None


class Elma365Cluster(pulumi.ComponentResource):
    """The whole site: install, serial joins, settings, scaling, HA, load balancer, departures.

    Nodes whose entry is gone since the previous deployment leave the cluster in this run, and a
    load balancer host no longer named gets its own config back. The site config (secrets left out)
    is recorded as the component's inputs, for policies."""

    def __init__(self, name: str, args: Elma365ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        site, previous = args.site, args.previous
        super().__init__(names.type_of(names.CLUSTER), name, public_view(site), opts)

        def after(*deps: pulumi.Resource, was: Optional[str] = None) -> pulumi.ResourceOptions:
            # `was`: the component's name before it took the name of what it stands for (its steps'
            # URNs do not hold it; the alias keeps the component itself)
            return pulumi.ResourceOptions(parent=self, depends_on=list(deps),
                                          aliases=[pulumi.Alias(name=was)] if was else None)

        # each server's connection once, for every step on it; the children get what they read of the site
        main, install = site.main, site.install
        servers = {node.name: server_of(site, node) for node in site.nodes}
        on_main = servers[main.name]
        active = tuple(servers[node.name] for node in site.active)

        # what a rolling refresh of MicroK8s rolls (the main node last): the preflight checks it first
        target = Target(install.microk8s_channel, install.microk8s_refresh)
        rolled = [RolloutNode(n.name, datastore_address(n)) for n in (*site.joining, main)]
        want_voters = 3 if len(rolled) >= 3 else 0
        plan = RefreshPlan(target, rolled[-1], want_voters)

        # who leaves: a dead node (decommission "force") is removed first, a live one after the joins
        leaving = [(node, node.decommission == "force") for node in site.decommissioned]
        leaving += [(gone, False) for gone in departed(previous, site)]
        forced = [node for node, force in leaving if force]
        live = [node for node, force in leaving if not force]

        # nothing is installed, prepared or put in front of the nodes before every node reported what it
        # runs and passed its checks: a site that already runs ELMA365 is refused here, or taken over; and
        # the main node's datastore can take the run's membership changes (components/render/quorum.py)
        days_before = install.certificates.renew_days_before
        self.preflight = Preflight("preflight", PreflightArgs(
            main, active, site.preflight, site.adopt, plan if target != Target() else None,
            certificates={n.name: CertificateCheck(n.cluster_address, days_before) for n in site.active},
            plan=membership_plan(site, previous, forced, live)), after())
        checked = self.preflight.done

        # the datastore backups' places are ready before the first step that takes a backup (a dead
        # node's forced removal takes one): a key and what each place authorizes, no cluster change
        self.backups = (DatastoreBackups("backups", DatastoreBackupsArgs(on_main, backup_places(site, servers)),
                                         after(*checked)) if install.datastore_backups > 0 else None)
        backups_ready = self.backups.done if self.backups else []

        # A dead node's removal completes before anything else changes the cluster (MicroK8s #2348: a
        # join beside a dead voter took a whole cluster down; #2212: a rebuilt server is refused until
        # the dead entry is gone): it waits on the checks (and the backups' places) only, never on the
        # dead node, one at a time
        def departure(node: Node, force: bool, deps: list[pulumi.Resource]) -> NodeDeparture:
            return NodeDeparture(node.name, NodeDepartureArgs(
                main=on_main, node=server_of(site, node), main_node=main, leaving=node,
                datastore_backups=install.datastore_backups, force=force),
                after(*deps, was=f"departure-{node.name}"))

        self.departures = []
        removed: list[pulumi.Resource] = list(checked)
        for node in forced:
            self.departures.append(departure(node, True, [*removed, *backups_ready]))
            removed = self.departures[-1].done
        self.install = Elma365Install(main.name, Elma365InstallArgs(on_main, install, site.scaling, site.adopt),
                                      after(*checked, *removed, was="install"))
        last: list[pulumi.Resource] = [*self.install.done, *backups_ready]
        self.joins = []
        for node in site.joining:
            join = NodeJoin(node.name, NodeJoinArgs(
                main=on_main, node=servers[node.name], main_node=main, joining=node,
                channel=self.install.microk8s_channel, pin=install.microk8s_channel, ha_enabled=site.ha.enabled, adopt=site.adopt,
                datastore_backups=install.datastore_backups), after(*last, was=f"join-{node.name}"))
            self.joins.append(join)
            last = join.done
        # every node's MicroK8s refreshes held once it runs MicroK8s (installed, joined or taken over)
        self.holds = [MicroK8sHold(main.name, MicroK8sHoldArgs(on_main), after(*self.install.done))]
        self.holds += [MicroK8sHold(node.name, MicroK8sHoldArgs(servers[node.name]), after(*j.done))
                       for j, node in zip(self.joins, site.joining)]
        self.settings = Settings(names.RECONFIGURE, SettingsArgs(
            on_main, install, site.scaling, site.ha, datastore_address(main)), after(*last, was="settings"))
        self.scaling = Scaling("scale", ScalingArgs(on_main, site.scaling), after(*self.settings.done, was="scaling"))
        self.ha = HighAvailability("ha", HighAvailabilityArgs(
            active, site.ha, tuple(datastore_address(n) for n in site.active)), after(*self.scaling.done))
        balancers = tuple(balancer_of(site, b) for b in site.haproxy.balancers) if site.haproxy else ()
        # with a channel pinned or a refresh number set: MicroK8s refreshed node by node once HA is
        # rolled out, where the site asks for it (components/record.refresh_asked)
        self.refresh = (MicroK8sRefresh("microk8s-refresh", MicroK8sRefreshArgs(
            nodes=tuple((servers[n.name], n) for n in rolled),
            balancers=balancers, target=target, asked=refresh_asked(previous, site),
            want_voters=want_voters, backups=install.datastore_backups),
            after(*self.ha.done, *(h for hold in self.holds for h in hold.done)))
            if target != Target() else None)
        rolled_out = self.refresh.done if self.refresh else self.ha.done
        self.haproxy = None
        if site.haproxy:
            self.haproxy = HaproxyLoadBalancer("haproxy", HaproxyLoadBalancerArgs(
                site.haproxy, balancers, backends=site.active, first=first_balancer(previous, site)), after(*checked))
        # each node's server and front proxy client certificates renewed before they end, node by node
        # (the main node last), once MicroK8s runs everywhere, refreshed where asked, behind HAProxy
        # (which are due is decided now, from the ends the last deployment recorded and the clock)
        tokens = (certificates.renewal_tokens(previous.certificates if previous else {}, [n.name for n in rolled],
                                              dt.datetime.now(dt.timezone.utc), days_before)
                  if days_before > 0 else {})
        self.certificates = (CertificateRenewal("certificates", CertificateRenewalArgs(
            nodes=tuple((servers[n.name], n) for n in rolled), balancers=balancers, days_before=days_before,
            tokens=tokens, want_voters=want_voters),
            after(*rolled_out, *(h for hold in self.holds for h in hold.done),
                  *(self.haproxy.done if self.haproxy else []))) if days_before > 0 else None)
        rolled_out = self.certificates.done if self.certificates else rolled_out
        # a balancer gives up the VIP or HAProxy once the balancers that stay are configured
        self.haproxy_removals = [
            HaproxyRemoval(names.haproxy_removal(old.balancer.host, first=i == 0), HaproxyRemovalArgs(
                balancer_of(site, old.balancer), keepalived=old.keepalived, haproxy=old.haproxy),
                after(*(self.haproxy.done if self.haproxy else [])))
            for i, old in enumerate(balancers_left_behind(previous, site))]

        # a live node leaves after the joins (a replacement in first keeps the voters a majority while
        # it leaves) and once HAProxy no longer sends it traffic
        before_departure = last + (self.haproxy.done if self.haproxy else [])
        self.departures += [departure(node, False, before_departure) for node in live]

        # read-only, right after the last join (in parallel with settings, scaling and HA); the node
        # labels are applied once the roll-out that restarts nodes is over
        self.kubeconfig_source = KubeconfigSource(main.name, KubeconfigSourceArgs(on_main, api_address=main.address),
                                                  after(*last, was="kubeconfig"))
        self.kubeconfig = self.kubeconfig_source.kubeconfig
        self.kubernetes = (KubernetesNodes("kubernetes",
                                           KubernetesNodesArgs(site.active, site.kubernetes.labels, self.kubeconfig),
                                           after(*rolled_out)) if site.kubernetes.enabled else None)
        self.kubernetes_nodes = self.kubernetes.labels if self.kubernetes else None

        self.facts = self.preflight.facts
        self.node_names = [n.name for n in site.active]
        self.main_node = site.main.name
        self.haproxy_url = self.haproxy.url if self.haproxy else None
        self.configured = configured(site)
        # The record the next run compares with: it counts only once every departure (and the
        # HAProxy removal) has succeeded, so a failed one is tried again by the next run.
        finished = [step.stdout for d in [*self.departures, *self.haproxy_removals] for step in d.done]
        finished += [step.stdout for step in (self.refresh.done if self.refresh else [])]
        record = Record.of(site)
        # with the ends of each node's certificates as read last (the preflight, the renewal's steps, or
        # an earlier run), and each node's renewal token: what the next run decides the renewals with
        reads = [c.stdout for c in self.preflight.checks.values()] + (self.certificates.reads if self.certificates else [])
        recorded = previous.certificates if previous else {}
        active_names = {n.name for n in site.active}

        def with_certificates(outputs: list[Any]) -> dict[str, Any]:
            # each output apart: the one read last wins, whichever step ran in this run
            read = certificates.latest(recorded, *(certificates.reads_of(parse_facts(o or "")) for o in outputs[len(finished):]))
            return dataclasses.replace(record, certificates={
                node: dataclasses.replace(entry, renewal=tokens.get(node, ""))
                for node, entry in sorted(read.items()) if node in active_names}).to_dict()
        self.record = pulumi.Output.all(*finished, *reads).apply(with_certificates)
        self.register_outputs({"nodeNames": self.node_names, "mainNode": self.main_node,
                               "haproxyUrl": self.haproxy_url, "configured": self.configured})


def backup_places(site: Site, servers: dict[str, Server]) -> tuple[BackupPlace, ...]:
    """Every other active node (a copy goes there while it is a datastore voter), then the backup host;
    never a node that leaves or a dead one (not active)."""
    places = [BackupPlace(servers[n.name], n.address, n.port or site.ssh.port, site.ssh.user, datastore_address(n),
                          BACKUP_DIR) for n in site.active if n != site.main]
    backup_host = backup_host_read(site)
    if backup_host:
        b = backup_host
        places.append(BackupPlace(Server(b.host, connection(site, b.host, port=b.port, user=b.user, host_key=b.host_key),
                                         b.sudo), b.host, b.port, b.user, "-", b.folder))
    return tuple(places)


def membership_plan(site: Site, previous: Optional[Record], forced: list[Node],
                    live: list[Node]) -> Optional[Change]:
    """The run's membership changes not yet done, as the main node's quorum check weighs them before
    anything runs: the dead nodes removed first, the joins, the first live departure. Against the
    previous deployment's record (its active nodes); None where there is none to weigh, and on a new
    stack (an install makes the datastore; a take-over joins only its members, each `add-node`
    behind its own gate)."""
    if previous is None:
        return None
    was_active = set(previous.active)
    joining = tuple(n.name for n in site.joining if n.name not in was_active)
    forced = [n for n in forced if n.name in was_active]
    leaving = next((n for n in live if n.name in was_active), None)
    if not (joining or forced or leaving):
        return None
    return Change("the membership changes of this run", forced=tuple(datastore_address(n) for n in forced),
                  joining=joining, away=datastore_address(leaving) if leaving else "",
                  away_name=leaving.name if leaving else "", leaves=leaving is not None)
