"""What a server runs, read from it (never assumed): the facts every node reports in its preflight,
and the rules over them that decide whether the installer may run anywhere.

The facts (one `FACT <node> <name> <value>` line each, read-only):

    marker      installed | joined | none   this program's own mark on the node
    elma365ctl  present | absent            the vendor's tool on PATH
    microk8s    <channel> | unknown | absent  `snap list microk8s`
    datastore   <addr>:19001 ... | none | unknown  voters and standbys (`microk8s status`); a lone
                                            MicroK8s lists only 127.0.0.1:19001
    workloads   <count> | unknown           ELMA365's pods in this node's MicroK8s
    elma365     present | absent | unknown  ELMA365 runs in this node's MicroK8s (workloads > 0)

The rules (a `site` check in each node's preflight, so a refusal stores nothing and the next run
reads the servers again): the installer runs only on nodes[0], and only where no configured node
runs ELMA365; ELMA365 found on the main node without `elma365:adopt` is refused, with it taken over;
ELMA365 on another node is allowed only as a member of the main node's cluster.
"""
from __future__ import annotations

import re
from typing import Iterator

from ..site import Node, Site
from .shell import INSTALLED_MARKER, JOINED_MARKER, remote
from .template import Raw, Text, fill

# The namespace the ELMA365 delivery runs its workloads in (its Helm charts and the MicroK8s
# installer's default); where it runs no pod, ELMA365 does not run.
NAMESPACE = "elma365"
LONE_DATASTORE = "127.0.0.1:19001"
READ_TIMEOUT_SECONDS = 120   # a MicroK8s that hangs is "unknown", not a stuck preflight
LINE = re.compile(r"^FACT (?P<node>\S+) (?P<name>[a-z0-9]+) (?P<value>.*)$")


def facts_script(node: Node) -> str:
    """The read-only fact lines of `node`, and the same facts as shell variables (for a script that
    runs as root on the node: the install step)."""
    return fill("facts.sh", node=node.name, installed_marker=INSTALLED_MARKER, joined_marker=JOINED_MARKER,
                timeout=READ_TIMEOUT_SECONDS, namespace=NAMESPACE, membership_lone=LONE_DATASTORE)


def read_facts(site: Site, node: Node) -> str:
    """For a script that runs as the login user (the preflight): facts_script as root (`sudo -n`
    with ssh.sudo), its lines echoed and read into the rules' variables."""
    return fill("facts-read.sh", read_facts=Raw(_as_root(site, node)))  # rendered here


def print_facts(site: Site, node: Node) -> str:
    """For a script that runs as the login user and only reports: the fact lines, or why not."""
    return f"{_as_root(site, node)} || echo \"what runs on {node.name} could not be read\""


def _as_root(site: Site, node: Node) -> str:
    return remote(facts_script(node), sudo=site.ssh.needs_sudo)


def live_elma365(site: Site) -> tuple[str, str]:
    """The main node's verdict when ELMA365 runs there and this program did not install it."""
    if site.adopt:
        return "ok", Text("elma365:adopt takes it over, the installer does not run")
    return "fail", Text("the installer never runs over a live ELMA365. To take this site over, set "
                        "elma365:adopt to true (README: Take over a site that already runs ELMA365)")


def site_rules(site: Site, node: Node) -> str:
    """The `site` check of `node`'s preflight (after facts_script; `report` as in preflight-report.sh)."""
    if node == site.main:
        status, detail = live_elma365(site)
        return fill("preflight-site-main.sh", node_text=Text(node.name), namespace=NAMESPACE,
                    live_status=status, live_detail=detail)
    return fill("preflight-site-joining.sh", node_text=Text(node.name), main_text=Text(site.main.name),
                main_datastore=f"{site.main.cluster_address}:19001", namespace=NAMESPACE)


def parse_facts(text: str) -> dict[str, dict[str, str]]:
    """{node: {name: value}} from the FACT lines of one or more outputs."""
    facts: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        match = LINE.match(line.strip())
        if match:
            facts.setdefault(match["node"], {})[match["name"]] = match["value"].strip()
    return facts


def report(facts: dict[str, dict[str, str]]) -> Iterator[str]:
    """One line per node: what it runs, for the operator (the stack output `facts`)."""
    for node, f in facts.items():
        yield (f"{node}: ELMA365 {f.get('elma365', '?')} ({f.get('workloads', '?')} workloads), "
               f"MicroK8s {f.get('microk8s', '?')}, datastore {f.get('datastore', '?')}, "
               f"elma365ctl {f.get('elma365ctl', '?')}, marked {f.get('marker', '?')}")
