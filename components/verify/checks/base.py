"""What every check of `make verify` shares: a row (expected from the config, found on the
servers), and what is read once and looked at by several checks (each node's MicroK8s, the
cluster's nodes as Kubernetes lists them, `elma365ctl status`), with the repairs that follow from
a node's state."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping, Optional

from ... import names
from ...facts import elma365, microk8s
from ...facts.haproxy import config_difference
from ...facts.node import datastore_address
from ...facts.sections import HostOutput, Section, last_line, sha256_of
from ...site import Node, Site
from ..repairs import Context, Repair, manual, rejoin_repair, ssh_line, ssh_repair, unreachable

OK, DRIFT, SKIP = "ok", "DRIFT", "skip"


@dataclass(frozen=True)
class Row:
    where: str        # a node, "cluster", or "haproxy"
    check: str
    expected: str     # from the config (or what the program renders from it)
    found: str
    status: str       # OK, DRIFT or SKIP
    repair: Optional[Repair] = None


class Checks:
    """The rows so far, and the facts read from the hosts that several checks look at."""

    def __init__(self, site: Site, hosts: Mapping[str, HostOutput], ctx: Context):
        self.site, self.hosts, self.ctx = site, hosts, ctx
        self.rows: list[Row] = []
        self.main = site.main
        self.active = site.active
        self.node_status = {n.name: self._status_of(n) for n in self.active}
        self.joined = {n.name: self._joined(n) for n in self.active}
        self.kube_nodes: Optional[dict[str, tuple[str, str]]] = None
        self.kube_error = "the main node is unreachable"
        self.ctl: Optional[dict[str, str]] = None
        self.ctl_error = "the main node is unreachable"
        main_out = hosts.get(self.main.name)
        if main_out and main_out.reachable:
            s = main_out.sections.get(names.READ_NODES)
            if s is not None and s.rc == 0:
                self.kube_nodes = microk8s.parse_kubectl_nodes(s.out)
                if not self.kube_nodes and s.out.strip():
                    self.kube_nodes, self.kube_error = None, f"unreadable output: {s.out.strip()[:80]!r}"
            else:
                self.kube_error = f"`microk8s kubectl get nodes` failed: {last_line(s)}"
            s = main_out.sections.get(names.READ_ELMA365CTL)
            if s is not None and s.rc == 0:
                self.ctl = elma365.parse_elma365ctl_status(s.out)
            else:
                self.ctl_error = f"`elma365ctl status` failed: {last_line(s)}"

    def add(self, where: str, check: str, expected: str, found: str, ok: Optional[bool],
            repair: Optional[Repair] = None) -> None:
        status = SKIP if ok is None else OK if ok else DRIFT
        self.rows.append(Row(where, check, expected, found, status, repair if status == DRIFT else None))

    def section(self, host: str, name: str) -> Optional[Section]:
        out = self.hosts.get(host)
        return out.sections.get(name) if out and out.reachable else None

    def _status_of(self, node: Node) -> Optional[microk8s.Microk8sStatus]:
        s = self.section(node.name, names.READ_STATUS)
        if s is None:
            return None
        voters, datastore = self.section(node.name, names.READ_VOTERS), self.section(node.name, names.READ_DATASTORE)
        return microk8s.parse_microk8s_status(s.out, voters.out if voters else "", datastore.out if datastore else "")

    def _joined(self, node: Node) -> Optional[bool]:
        """Whether the node's own MicroK8s is in the main node's cluster (its datastore lists the main
        node, as the preflight tells a member); None when it cannot tell (unreachable, not running)."""
        status = self.node_status.get(node.name)
        if node == self.main or status is None or not status.running:
            return None if node != self.main else True
        return datastore_address(self.main) in status.members

    def out_of_cluster(self, node: Node) -> bool:
        """A node other than the main one that is not in the cluster, by its datastore or Kubernetes."""
        return node != self.main and (self.joined.get(node.name) is False or
                                      (self.kube_nodes is not None and node.name not in self.kube_nodes))

    def rejoin(self, node: Node) -> Repair:
        return rejoin_repair(self.site, self.ctx, node, listed=bool(self.kube_nodes and node.name in self.kube_nodes))

    def unreachable(self, node: Node) -> Repair:
        return unreachable(self.site, node.name, node.name)

    def node_repair(self, node: Node) -> Repair:
        """What brings a node back into service, by what it says about itself."""
        out = self.hosts.get(node.name)
        if not out or not out.reachable:
            return self.unreachable(node)
        status = self.node_status.get(node.name)
        if status is not None and not status.running:
            return ssh_repair(self.site, node.name, "microk8s start")
        if self.out_of_cluster(node):
            return self.rejoin(node)
        return manual(f"{node.name} runs MicroK8s but is not in service: no one command repairs it; "
                      f"look at `{ssh_line(self.site, node.name, 'microk8s inspect')}`")

    def ctl_field(self, name: str, check: str, expected: str) -> Optional[str]:
        """One line of `elma365ctl status`, or None after a skipped row saying why."""
        if self.ctl is None:
            self.add("cluster", check, expected, f"not checked: {self.ctl_error}", None)
            return None
        if name not in self.ctl:
            self.add("cluster", check, expected, f"not checked: `elma365ctl status` printed no {name!r} line", None)
            return None
        return self.ctl[name]


def live_file(c: Checks, where: str, check: str, label: str, expected: str, config: Optional[Section],
              digest: Optional[Section], repair: Repair) -> None:
    """A file the program writes (the HAProxy config, keepalived.conf), as it is on its host: the
    same digest as the rendered text, or the first line that differs."""
    if config is None or config.rc != 0:
        c.add(where, check, label, f"not readable: {last_line(config)}", False, repair)
        return
    same = sha256_of(digest) == hashlib.sha256(expected.encode()).hexdigest()
    c.add(where, check, label, "identical" if same else config_difference(expected, config.out), same, repair)
