"""What the last successful `pulumi up` left behind, and which changes from it are allowed.

pulumi-command cannot read a host, and a delete runs whatever the state stored, on a server that
may be dead. So no step of this program has a `delete`: a node leaves, or HAProxy gives up a host,
only through steps that run because the config says so. For the changes the config can no longer
say (a node's entry deleted, the `haproxy` section removed), the program compares the config with
the record the previous deployment exported as the stack output `site` (read back through a
StackReference to this very stack), and runs the matching departure.

The record is plain data without secrets: the main node, the active nodes with what it takes to
reach them, the HAProxy host, and the ends of each node's certificates as read last (what the next
run decides their renewal with: components/certificates.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .site import BalancerHost, Node, Site
from .site_view import view

RECORD_OUTPUT = "site"
FORMAT = 2   # a record of another format is not read (a new stack, as far as departures go)


@dataclass(frozen=True)
class RecordedKeepalived:
    config_path: str
    reload_command: str


@dataclass(frozen=True)
class RecordedHaproxy:
    """What it takes to take this program's HAProxy (and keepalived) off the balancers again."""
    balancers: tuple[BalancerHost, ...]
    config_path: str
    reload_command: str
    shared: bool = False
    include_path: Optional[str] = None
    keepalived: Optional[RecordedKeepalived] = None


@dataclass(frozen=True)
class Target:
    """What the site asks MicroK8s to run: a channel (None: each node's own) and a refresh number."""
    channel: Optional[str] = None
    refresh: Optional[int] = None

    @property
    def asked(self) -> bool:
        return self.channel is not None or self.refresh is not None


@dataclass(frozen=True)
class RecordedCertificates:
    """A node's certificates as read last (components/facts/certificates.py): when they were read,
    each one's end by its file name (none: absent or unread, as a stack output drops a null), and
    the renewal token its renewal steps last ran with ("": none)."""
    read: str
    ends: Mapping[str, str] = field(default_factory=dict, hash=False)   # ca.crt, server.crt, ...
    renewal: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, **self.ends, "renewal": self.renewal}

    @classmethod
    def from_dict(cls, data: Any) -> Optional["RecordedCertificates"]:
        """None where the entry says no time it was read (nothing to decide a renewal with)."""
        if not isinstance(data, Mapping) or not data.get("read"):
            return None
        return cls(str(data["read"]), {k: v for k, v in data.items() if k not in ("read", "renewal") and v is not None},
                   str(data.get("renewal") or ""))


@dataclass(frozen=True)
class Record:
    """The stack output `site`: the main node, the active nodes with what it takes to reach them, the
    MicroK8s refresh asked (None: a record from before refreshes rolled), the HAProxy hosts and each
    active node's certificates as read last (none: a record from before they were read, or none read
    yet). Its dict form is the one earlier versions wrote (tests/records_f1f0e10.json): an upgrade
    reads it."""
    main: str
    active: tuple[str, ...]
    nodes: Mapping[str, Node]   # each active node: how to reach it = field(default_factory=dict, hash=False)
    microk8s: Optional[Target] = None
    haproxy: Optional[RecordedHaproxy] = None
    certificates: Mapping[str, RecordedCertificates] = field(default_factory=dict, hash=False)   # by node

    @classmethod
    def of(cls, site: Site) -> "Record":
        """What this run's record says (a selection of the model's projection, components/site_view.py)."""
        p = view(site)
        h = p["haproxy"]
        return cls(
            main=site.main.name, active=tuple(n.name for n in site.active),
            nodes={n.name: Node(n.name, n.address, n.cluster_address, n.port, n.host_key) for n in site.active},
            microk8s=Target(p["install"]["microk8sChannel"], p["install"]["microk8sRefresh"]),
            haproxy=None if h is None else RecordedHaproxy(
                balancers=tuple(_reach_of(b) for b in h["hosts"]),
                config_path=h["configPath"], reload_command=h["reloadCommand"], shared=h["shared"],
                include_path=h["includePath"],
                keepalived=RecordedKeepalived(h["keepalived"]["configPath"], h["keepalived"]["reloadCommand"])
                if h["keepalived"] else None))

    def to_dict(self) -> dict[str, Any]:
        h = self.haproxy
        return {
            "format": FORMAT,
            "main": self.main,
            "active": list(self.active),
            "nodes": {name: {"address": n.address, "clusterAddress": n.cluster_address, "port": n.port,
                             "hostKey": n.host_key} for name, n in self.nodes.items()},
            **({"microk8s": {"microk8sChannel": self.microk8s.channel, "microk8sRefresh": self.microk8s.refresh}}
               if self.microk8s else {}),
            "haproxy": None if h is None else {
                **_reach(h.balancers[0]), "configPath": h.config_path, "reloadCommand": h.reload_command,
                "shared": h.shared, "includePath": h.include_path,
                # only with several balancers or a virtual IP, so a single balancer's record stays as it was
                **({"hosts": [_reach(b) for b in h.balancers]} if len(h.balancers) > 1 else {}),
                **({"keepalived": {"configPath": h.keepalived.config_path,
                                   "reloadCommand": h.keepalived.reload_command}} if h.keepalived else {})},
            # only once read, so a record without them stays as earlier versions wrote it
            **({"certificates": {node: c.to_dict() for node, c in self.certificates.items()}}
               if self.certificates else {}),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Optional["Record"]:
        """The record an earlier run exported; None where there is none this version reads."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            return None
        nodes = data.get("nodes") or {}
        micro, h = data.get("microk8s"), data.get("haproxy")
        return cls(
            main=data.get("main"), active=tuple(data.get("active") or ()),
            nodes={name: Node(name, n["address"], n["clusterAddress"], n.get("port"), n.get("hostKey"))
                   for name, n in nodes.items()},
            # present but empty: both unset (a stack output drops a null in an object)
            microk8s=Target(micro.get("microk8sChannel"), micro.get("microk8sRefresh"))
            if isinstance(micro, Mapping) else None,
            haproxy=None if not h else RecordedHaproxy(
                balancers=tuple(_reach_of(b) for b in (h.get("hosts") or [h])),
                config_path=h["configPath"], reload_command=h["reloadCommand"], shared=bool(h.get("shared")),
                include_path=h.get("includePath"),
                keepalived=RecordedKeepalived(h["keepalived"]["configPath"], h["keepalived"]["reloadCommand"])
                if h.get("keepalived") else None),
            certificates={node: c for node, entry in (data.get("certificates") or {}).items()
                          if (c := RecordedCertificates.from_dict(entry))})


def _reach(b: BalancerHost) -> dict[str, Any]:
    return {"host": b.host, "port": b.port, "user": b.user, "hostKey": b.host_key}


def _reach_of(data: Mapping[str, Any]) -> BalancerHost:
    return BalancerHost(data["host"], data.get("port"), data.get("user"), data.get("hostKey"))


def from_outputs(outputs: dict[str, Any]) -> Optional[Record]:
    """The record among a stack's outputs (None for a new stack). What the servers run is read from
    them in the preflight (components/facts/node.py), whatever this record says or lacks."""
    return Record.from_dict(outputs.get(RECORD_OUTPUT))


def transition_problems(previous: Optional[Record], site: Site) -> list[str]:
    """What this config may not do to the cluster the previous deployment left: each problem says
    what to do instead. Checked before any step exists, so a refused change runs nothing anywhere."""
    if not previous:
        return []
    problems = []
    names = [n.name for n in site.nodes]
    main = previous.main
    if main and main != site.main.name:
        if main in names:
            where = f"it is nodes[{names.index(main)}] now"
        else:
            where = "it is missing from elma365:nodes"
        problems.append(
            f"elma365:nodes[0] is {site.main.name}, but the main node of this site is {main} (ELMA365 was "
            f"installed there and every other node joined it); {where}. Put {main} back first in elma365:nodes: "
            "the main node cannot change")
    before = set(previous.active)
    after = {n.name for n in site.active}
    leaving = sorted(before - after - ({main} if main else set()))
    changing = sorted(after - before) + leaving
    if refresh_asked(previous, site) and changing:
        problems.append(
            f"this change asks for a rolling refresh of MicroK8s (elma365:install.microk8sChannel or "
            f"install.microk8sRefresh) and changes the cluster's nodes ({', '.join(changing)}) in the same run; "
            "refresh in one pulumi up and add or take out nodes in another, so that no node joins or leaves a "
            "cluster whose nodes restart one by one")
    if len(leaving) > 1:
        problems.append(
            f"this change takes {len(leaving)} nodes out of the cluster in one run ({', '.join(leaving)}); take "
            "out one node per pulumi up, so that the datastore never loses more than one voter at a time (to "
            "replace a node: add the new one first, then decommission the old one in a later run)")
    return problems


def refresh_asked(previous: Optional[Record], site: Site) -> bool:
    """Whether this run asks for a rolling refresh of MicroK8s: the site's channel or refresh
    number differs from the one the previous deployment recorded. Never on a site's first
    deployment (an install or a take-over changes no MicroK8s: a pin must be what the main node
    runs), nor on the first run after an upgrade from a version that did not record them."""
    if not previous or previous.microk8s is None:
        return False
    target = Record.of(site).microk8s   # what this run's record will say
    return target is not None and target.asked and previous.microk8s != target


def departed(previous: Optional[Record], site: Site) -> list[Node]:
    """Nodes the previous deployment had active whose entry is gone from the config now: they
    leave in this run. (Entries kept with `decommission` are the config's own business.)"""
    if not previous:
        return []
    listed = {n.name for n in site.nodes}
    return [previous.nodes[name] for name in previous.active
            if name not in listed and name in previous.nodes and name != previous.main]


def first_balancer(previous: Optional[Record], site: Site) -> Optional[str]:
    """The balancer whose steps keep the unsuffixed names (`haproxy-config`): the first one the site
    had, as long as it stays; none once it is gone, so that no other balancer's steps move."""
    if site.haproxy is None:
        return None
    old = previous.haproxy if previous else None
    first = old.balancers[0].host if old else site.haproxy.host
    return first if first in {b.host for b in site.haproxy.balancers} else None


@dataclass(frozen=True)
class LeftBehind:
    """A balancer of the previous deployment that gives something up in this run: HAProxy, when the
    config no longer names the host (`haproxy`: its old settings), and the virtual IP, when the host
    had it and no longer has (`keepalived`: its old settings); None: it keeps that."""
    balancer: BalancerHost
    haproxy: Optional[RecordedHaproxy] = None
    keepalived: Optional[RecordedKeepalived] = None


def balancers_left_behind(previous: Optional[Record], site: Site) -> list[LeftBehind]:
    """The balancers of the previous deployment that give something up in this run, in the order
    the previous deployment had them."""
    old = previous.haproxy if previous else None
    if not old:
        return []
    now = site.haproxy
    hosts_now = {b.host for b in now.balancers} if now else set()
    vip_now = bool(now and now.keepalived)
    left = []
    for b in old.balancers:
        gone = b.host not in hosts_now
        vip_off = old.keepalived is not None and (gone or not vip_now)
        if gone or vip_off:
            left.append(LeftBehind(b, haproxy=old if gone else None, keepalived=old.keepalived if vip_off else None))
    return left
