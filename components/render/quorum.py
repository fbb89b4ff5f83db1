"""The quorum gate: no membership change and no restart of a node while the datastore could not take it.

dqlite commits a change (a member added or removed, a write) only while a majority of its voters
answer; MicroK8s keeps 3 voters (the rest standbys or spares). So before a step that changes the
membership or restarts a node, the gate reads on the node (its `microk8s status`: the voters) which
voters answer (each voter's datastore port takes a connection) and refuses, naming the voters:

- while the answering voters are not a majority (dead nodes force-removed in this run count as
  removed first, so a site that lost one voter of three may replace it);
- the force-removal of dead voters when the voters that answer are not a majority of all the listed
  ones (dqlite cannot commit the removal: that is a lost quorum, recovered by hand: docs/lost-quorum.md);
- a join while a voter that is not being removed does not answer (MicroK8s #2348: a join beside a
  dead voter took a whole cluster down; its force-removal goes first);
- a step that takes an answering voter away (a leave for good; a restart for a while, where the
  datastore has 3+ voters) when the others would not be a majority;
- with `whole` (the rolling refresh): a datastore that would keep fewer than `whole - 1` voters.

`verdict` is the rule over facts, in Python (the operator's table in docs/replace-dead-node.md, and
the tests); quorum-gate.sh is the same rule in bash, which runs on the node: in the main node's
`<main>-quorum` step beside the preflight checks, over the whole plan of a run that changes the
membership (before anything changes), and again right before each step (the cluster may change in
between). tests/test_quorum.py runs the bash over the same cases as the Python.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..facts.node import (BACKEND, LONE_DATASTORE, LOST_QUORUM_RUNBOOK, READ_TIMEOUT_SECONDS, datastore_members,
                          datastore_probe)
from .shell import remote
from .template import Raw, Text, fill

# dqlite's configuration on a node (MicroK8s: $SNAP_DATA/var/kubernetes/backend): readable without a quorum
CLUSTER_YAML = f"{BACKEND}/cluster.yaml"
# a lost quorum's refusal, in the preflight's datastore check's words (preflight-datastore.sh)
LOST = f"quorum lost, nothing was changed; recover by hand: {LOST_QUORUM_RUNBOOK}"


@dataclass(frozen=True)
class Change:
    """What a step (or a whole run, at the preflight) does to the datastore."""
    what: str                       # for the messages: "elma365-4 joins"
    forced: tuple[str, ...] = ()    # datastore addresses force-removed in this run: counted as removed first
    joining: tuple[str, ...] = ()   # node names that join (those Kubernetes does not list yet)
    away: str = ""                  # the datastore address the step takes away ("": none)
    away_name: str = ""             # its node's name, for the messages
    leaves: bool = False            # away for good (a leave, a removal) rather than for a while (a restart)
    whole: int = 0                  # voters the datastore must keep besides `away` + 1 (the refresh: 3)


@dataclass(frozen=True)
class Datastore:
    """What the gate reads: the voters `microk8s status` lists, and which of them answer."""
    voters: tuple[str, ...]
    answering: frozenset[str]
    members: frozenset[str] = frozenset()   # node names Kubernetes lists (a join of one of them is no join)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    why: str


def _listed(words) -> str:
    return " ".join(words) or "none"


def verdict(datastore: Datastore, change: Change) -> Verdict:
    """Whether `change` may go on over `datastore`, and why (the same words quorum-gate.sh says)."""
    removed = [v for v in datastore.voters if v in change.forced]
    counted = [v for v in datastore.voters if v not in change.forced]
    answering = [v for v in counted if v in datastore.answering]
    silent = [v for v in counted if v not in datastore.answering]
    pending = [n for n in change.joining if n not in datastore.members]
    n, a = len(counted), len(answering)
    need = n // 2 + 1
    all_n, all_a = n + len(removed), a + len([v for v in removed if v in datastore.answering])
    text = f"{a} of the {n} voters answer ({_listed(answering)}; not answering: {_listed(silent)})"
    if removed:
        text += f" with {' '.join(removed)} counted as removed"
    after_n = n - 1 if change.leaves else n
    others = n - 1 if change.away and change.away in counted else n
    away = change.away_name or "no node"
    if n == 0:
        return Verdict(False, f"the datastore lists no voters: {LOST}")
    if removed and all_a < all_n // 2 + 1:
        return Verdict(False, f"removing {' '.join(removed)} needs a majority of the {all_n} voters answering, "
                              f"and {all_a} answer: {LOST}")
    if a < need:
        return Verdict(False, f"{text}, fewer than the {need} a majority needs")
    if pending and silent:
        return Verdict(False, f"{' '.join(pending)} would join while {' '.join(silent)} do not answer "
                              "(MicroK8s #2348): set a dead node's decommission to force, its removal runs first")
    if change.away in answering and (change.leaves or n >= 3) and a - 1 < after_n // 2 + 1:
        return Verdict(False, f"{text}: without {away} {a - 1} of {after_n} would answer, "
                              f"fewer than the {after_n // 2 + 1} a majority needs")
    if others < change.whole - 1:
        return Verdict(False, f"{text}: without {away} the datastore would keep {others} voters, fewer than "
                              f"{change.whole - 1}; bring it back to {change.whole} voters (microk8s status)")
    return Verdict(True, text)


def _fragment(change: Change, node_name: str, self_datastore: str) -> str:
    """quorum-gate.sh filled: sets quorum_refused or quorum_ok on the node `node_name`."""
    return fill("quorum-gate.sh", what_text=Text(change.what), node_text=Text(node_name),
                datastore_probe=Raw(datastore_probe()), read_timeout=READ_TIMEOUT_SECONDS,  # rendered there
                forced=list(change.forced), joining=list(change.joining),
                datastore_voters=Raw(datastore_members("master")),  # Raw: the fact layer's filter
                self_datastore=self_datastore, lone_datastore=LONE_DATASTORE, away=change.away,
                away_text=Text(change.away_name or "no node"), leaves="yes" if change.leaves else "no",
                whole=change.whole, cluster_yaml=CLUSTER_YAML, runbook=LOST_QUORUM_RUNBOOK)


def gate(change: Change, node_name: str, self_datastore: str) -> str:
    """Right before a step: the step stops, changing nothing, when the datastore could not take it."""
    return fill("quorum-refuse.sh", gate=Raw(_fragment(change, node_name, self_datastore)),  # Raw: rendered above
                what_text=Text(change.what))


def preflight_check(change: Change, node_name: str, self_datastore: str, *, sudo: bool) -> str:
    """The main node's preflight check `quorum` over the run's whole plan (`report`, as in
    preflight-report.sh), the gate read as root: nothing of the run starts when it refuses."""
    return fill("preflight-as-root.sh", check="quorum",
                why_text=Text("no membership change or restart without a majority of voters"),
                as_root=Raw(remote(gate(change, node_name, self_datastore), sudo=sudo)))  # Raw: rendered here
