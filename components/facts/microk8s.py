"""What `make verify` reads on a node: its MicroK8s (`microk8s status`, `microk8s version`, `snap
list microk8s`) and, on the main node, the cluster (`kubectl get nodes`, `elma365ctl status`,
`microk8s config`). Every command is read-only.

The facts the preflight reads too are read the preflight's way, on the node, from the same outputs
(NODE_FACTS: components/facts/node.py's filters): the datastore's members and its voters from
`microk8s status`, the snap channel from `snap list microk8s`. What only verify reads (whether
MicroK8s runs, high-availability, versions, Kubernetes' nodes, the kubeconfig) is parsed here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from .. import names
from ..site import Site
from ..render.template import fill
from . import backups, certificates, elma365
from .node import CHANNEL_OF, HELD_OF, datastore_members, members, quorum_facts
from .sections import host_script

# `microk8s config` prints the admin credentials: only their kind leaves the node, never their value
KUBECONFIG_SUMMARY = ("$T microk8s config | awk '/^[[:space:]]*(apiVersion|kind|current-context|server):/ { print; next } "
                      "/^[[:space:]]*(token|client-certificate-data|client-key-data|password):/ "
                      "{ sub(/:.*/, \": <present>\"); print }'")
# read on the node from the sections' outputs, by the preflight's own filters
NODE_FACTS = ((names.READ_VOTERS, names.READ_STATUS, datastore_members("master")),
              (names.READ_DATASTORE, names.READ_STATUS, datastore_members()),
              (names.READ_CHANNEL, names.READ_SNAP, CHANNEL_OF), (names.READ_HELD, names.READ_SNAP, HELD_OF))


# the node's certificates as its preflight reads them (FACT lines of the node `-`)
CERTIFICATES = fill("facts-fact.sh", node="-") + "\n" + certificates.facts_script()
# the preflight's quorum facts (facts-datastore.sh), each as `<name> <value>`
QUORUM_READ = 'fact() { printf "%s %s\\n" "$1" "$2"; }\n' + quorum_facts()


def node_sections(main: bool) -> list[tuple[str, str]]:
    """What is read on a node; the main node also answers for the cluster."""
    sections = [(names.READ_STATUS, "$T microk8s status"), (names.READ_VERSION, "$T microk8s version"),
                (names.READ_SNAP, "$T snap list microk8s"), (names.READ_CERTIFICATES, CERTIFICATES),
                (names.READ_QUORUM, QUORUM_READ)]
    if main:
        sections += [(names.READ_NODES, "$T microk8s kubectl get nodes"), (names.READ_ELMA365CTL, elma365.STATUS),
                     (names.READ_KUBECONFIG, KUBECONFIG_SUMMARY)]
    return sections


def node_script(site: Site, main: bool) -> str:
    """The one session `make verify` runs on a node: the vendor tools' reads, and the datastore
    backups it keeps (no vendor tool: tar, sha256sum, stat)."""
    return host_script(site, [*node_sections(main), ("backups", backups.LIST)], NODE_FACTS)


@dataclass(frozen=True)
class Microk8sStatus:
    running: bool
    high_availability: Optional[str] = None     # "yes" / "no"
    masters: tuple[str, ...] = ()               # datastore voters, host:port
    standby: tuple[str, ...] = ()

    @property
    def members(self) -> tuple[str, ...]:
        """The preflight's `datastore` fact: voters and standbys."""
        return self.masters + self.standby


def parse_microk8s_status(text: str, voters: str = "", datastore: str = "") -> Microk8sStatus:
    """`microk8s status`, with its datastore as NODE_FACTS read it on the node: the voters, and
    the members (the preflight's `datastore` fact) of which the others are standbys."""
    running = bool(re.search(r"^microk8s is running\b", text, re.M))
    ha = re.search(r"^\s*high-availability:\s*(\S+)", text, re.M)
    masters = members(voters)
    return Microk8sStatus(running, ha.group(1) if ha else None, masters,
                          tuple(a for a in members(datastore) if a not in masters))


def parse_kubectl_nodes(text: str) -> dict[str, tuple[str, str]]:
    """`kubectl get nodes`: {name: (STATUS, VERSION)}."""
    rows: dict[str, tuple[str, str]] = {}
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0][:2] != ["NAME", "STATUS"]:
        return rows
    header = lines[0]
    at = header.index("VERSION") if "VERSION" in header else None
    for cells in lines[1:]:
        if len(cells) >= 2:
            rows[cells[0]] = (cells[1], cells[at] if at is not None and len(cells) > at else "")
    return rows


def parse_microk8s_version(text: str) -> Optional[tuple[str, str]]:
    """`microk8s version`: (version, revision), e.g. ("v1.28.15", "7449")."""
    m = re.search(r"MicroK8s\s+(v\S+)\s+revision\s+(\S+)", text)
    return (m.group(1), m.group(2)) if m else None


def parse_certificates(text: str) -> Optional[certificates.NodeCertificates]:
    """The `certificates` section: the node's certificate facts (components/facts/certificates.py)."""
    from .node import parse_facts
    return certificates.parse_node(parse_facts(text).get("-", {}))


def parse_channel(text: str) -> Optional[str]:
    """The channel the node's filter read from `snap list microk8s`; None where MicroK8s is no snap."""
    return text.strip() or None


def parse_kubeconfig_summary(text: str) -> dict[str, str]:
    """The lines KUBECONFIG_SUMMARY lets through: {apiVersion, kind, server, credentials}."""
    found: dict[str, str] = {}
    creds = []
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key in ("apiVersion", "kind", "server", "current-context"):
            found.setdefault(key, value.strip())
        elif value.strip() == "<present>":
            creds.append(key)
    if creds:
        found["credentials"] = ", ".join(creds)
    return found


@dataclass(frozen=True)
class Quorum:
    """The datastore's quorum as a node read it (facts-datastore.sh)."""
    state: str                      # ok | lost | none | unknown
    answering: tuple[str, ...] = ()  # voters whose dqlite port answers
    silent: tuple[str, ...] = ()     # voters whose does not
    own: str = "none"               # this node's own dqlite: up | down | none


def parse_quorum(text: str) -> Quorum:
    facts = dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
    voters = [v.rpartition("=") for v in facts.get("voters", "").split() if "=" in v]
    return Quorum(facts.get("quorum", "unknown").strip(), tuple(a for a, _, s in voters if s == "up"),
                  tuple(a for a, _, s in voters if s == "down"), facts.get("dqlite", "none").strip())
