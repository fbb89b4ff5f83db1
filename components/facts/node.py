"""What a node runs, read from it (never assumed): the reads every node's preflight reports as FACT
lines, the reads the steps check with before they act, and the filters `make verify` reads the same
facts with (components/facts/microk8s.py).

The facts (one `FACT <node> <name> <value>` line each, read-only; components/scripts/facts.sh):

    marker      installed | joined | none   this program's own mark on the node
    elma365ctl  present | absent            the vendor's tool on PATH
    microk8s    <channel> | unknown | absent  `snap list microk8s` (SNAP_CHANNEL)
    datastore   <addr>:19001 ... | none | unknown  voters and standbys (`microk8s status`, through
                                            datastore_members()); a lone MicroK8s lists only
                                            127.0.0.1:19001
    membership  lone | member | unknown     from datastore
    workloads   <count> | unknown           ELMA365's pods in this node's MicroK8s
    elma365     present | absent | unknown  ELMA365 runs in this node's MicroK8s (workloads > 0)
    snapd       <version> | absent          `snap version`
    refreshes   held | not held | absent    MicroK8s' automatic refreshes (`snap list`: Notes `held`)
    systemhold  <time> | forever | none     `snap get system refresh.hold` (every snap's refreshes)
    cert...     MicroK8s' certificates: days left and end of each (components/facts/certificates.py)
    quorum      ok | lost | none | unknown  whether the dqlite datastore has a leader (facts-datastore.sh:
                                            MicroK8s' backend folder, its voters probed, `.leader`)
    voters      <addr>:19001=up|down ... | none  each voter of cluster.yaml and whether it answers
    dqlite      up | down | none            this node's own dqlite (down: MicroK8s stopped here)

The rules over them (the preflight's `site` check, the install step's refusal) are
components/render/preflight.py's.
"""
from __future__ import annotations

import re
from typing import Iterator, Optional

from ..render.shell import INSTALLED_MARKER, JOINED_MARKER, q, remote
from ..render.template import Raw, fill
from ..site import Node
from . import certificates

# The namespace the ELMA365 delivery runs its workloads in (its Helm charts and the MicroK8s
# installer's default); where it runs no pod, ELMA365 does not run.
ELMA365_NAMESPACE = "elma365"
DATASTORE_PORT = 19001
LONE_DATASTORE = f"127.0.0.1:{DATASTORE_PORT}"   # the datastore of a MicroK8s nobody joined (alone, or the first node)
READ_TIMEOUT_SECONDS = 120   # a MicroK8s that hangs is "unknown", not a stuck preflight
# MicroK8s' datastore: its backend folder and the dqlite shell of the snap (microk8s.io/docs/restore-quorum)
BACKEND = "/var/snap/microk8s/current/var/kubernetes/backend"
DQLITE = "/snap/microk8s/current/bin/dqlite"
PROBE_TIMEOUT_SECONDS = 2    # a voter's dqlite port: it answers at once, or the voter is down
# where every refusal over a lost quorum sends the operator (the preflight's datastore check, the quorum gate)
LOST_QUORUM_RUNBOOK = "docs/lost-quorum.md (make recover STACK=<stack> SURVIVORS=<node>,...)"
LEADER_TIMEOUT_SECONDS = 10  # the dqlite shell waits for a leader forever; an election takes a few seconds
LINE = re.compile(r"^FACT (?P<node>\S+) (?P<name>[a-z0-9]+) (?P<value>.*)$")

# ------------------------------------------------------------------ reads: one text for every reader

# `snap list microk8s` -> the channel MicroK8s tracks (its Tracking column), nothing when it is no snap
CHANNEL_OF = "awk '$1 == \"microk8s\" { print $4 }'"
SNAP_CHANNEL = f"snap list microk8s 2>/dev/null | {CHANNEL_OF}"
# `snap list microk8s` -> held / not held: its Notes say `held` while `snap refresh --hold` holds it
HELD_OF = "awk '$1 == \"microk8s\" { print ($NF ~ /(^|,)held(,|$)/ ? \"held\" : \"not held\") }'"
SNAP_HELD = f"snap list microk8s 2>/dev/null | {HELD_OF}"
# the snapd version (`snap version`); `snap refresh --hold <snap>` came with snapd 2.58
SNAPD_VERSION = "snap version 2>/dev/null | awk '$1 == \"snapd\" { print $2 }'"
HOLD_SINCE = "2.58"


def datastore_members(roles: str = "master|standby") -> str:
    """An awk filter of `microk8s status`: the datastore's members (voters and standbys; with
    roles="master", the voters) as host:port words on one line, nothing for `none`."""
    return ("awk '/datastore (" + roles + ") nodes:/ { sub(/^.*nodes: */, \"\")\n"
            "      for (i = 1; i <= NF; i++) if ($i != \"none\") printf \"%s%s\", (n++ ? \" \" : \"\"), $i }"
            " END { print \"\" }'")


def datastore_address(node: Node) -> str:
    """How the datastore of the cluster lists `node`."""
    return f"{node.cluster_address}:{DATASTORE_PORT}"


def lists_in_datastore(node: Node) -> str:
    """True where this node's MicroK8s lists `node` among its datastore's members (a joined node
    lists the main node; a lone MicroK8s lists only itself). grep without -q reads to the end:
    under pipefail, `grep -q` leaving early would make the writer die of SIGPIPE and turn a match
    into a failure."""
    return f"microk8s status 2>/dev/null | grep -F {q(datastore_address(node))} >/dev/null"


def in_kubernetes(node: Node) -> str:
    """True on the main node while Kubernetes lists `node` (joined, or left but not removed)."""
    return f"microk8s kubectl get node {q(node.name)} >/dev/null 2>&1"


def members(text: str) -> tuple[str, ...]:
    """What datastore_members() printed."""
    return tuple(text.split())


# ------------------------------------------------------------------ the preflight's FACT lines

def facts_script(node_name: str) -> str:
    """The read-only fact lines of the node `node_name`, and the same facts as shell variables (for a
    script that runs as root on the node: the install step)."""
    return "\n".join([
        fill("facts.sh", node=node_name, installed_marker=INSTALLED_MARKER, joined_marker=JOINED_MARKER,
             snap_channel=Raw(SNAP_CHANNEL), datastore_members=Raw(datastore_members()),  # reads above
             snap_held=Raw(SNAP_HELD), snapd_version=Raw(SNAPD_VERSION),
             timeout=READ_TIMEOUT_SECONDS, namespace=ELMA365_NAMESPACE, membership_lone=LONE_DATASTORE),
        quorum_facts()])


def datastore_probe() -> str:
    """The shell functions that read the voters from cluster.yaml and probe one (datastore-probe.sh)."""
    return fill("datastore-probe.sh", probe_timeout=PROBE_TIMEOUT_SECONDS)


def quorum_facts() -> str:
    """The datastore's quorum facts (quorum, voters, dqlite), after facts.sh's (its `fact`)."""
    return fill("facts-datastore.sh", datastore_probe=Raw(datastore_probe()),  # rendered above
                backend=BACKEND, dqlite=DQLITE, leader_timeout=LEADER_TIMEOUT_SECONDS)


def read_facts(node_name: str, *, sudo: bool, address: Optional[str] = None) -> str:
    """For a script that runs as the login user (the preflight): facts_script as root (`sudo -n`
    with ssh.sudo), its lines echoed and read into the rules' variables."""
    return fill("facts-read.sh", read_facts=Raw(_as_root(node_name, sudo, address)))  # rendered here


def print_facts(node_name: str, *, sudo: bool, address: Optional[str] = None) -> str:
    """For a script that runs as the login user and only reports: the fact lines, or why not."""
    return f"{_as_root(node_name, sudo, address)} || echo \"what runs on {node_name} could not be read\""


def _as_root(node_name: str, sudo: bool, address: Optional[str]) -> str:
    # the certificates' lines only here: the install step reads facts_script's variables alone.
    # `address`: the node's cluster address, which its server certificate should name
    return remote(facts_script(node_name) + "\n" + certificates.facts_script(address), sudo=sudo)


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
               f"elma365ctl {f.get('elma365ctl', '?')}, marked {f.get('marker', '?')}, "
               f"refreshes {f.get('refreshes', '?')} (snapd {f.get('snapd', '?')})")
