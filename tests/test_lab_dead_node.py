"""A dead node replaced in one change (docs/replace-dead-node.md), under the real CLI and real SSH: the
operator kills nothing, the lab does (lab/site.py stop_node: the server's sshd and everything in its
namespace, its dqlite too: lab/sim/datastore.py). The order is read from the lab's journal of vendor calls."""
from __future__ import annotations

import copy
from pathlib import Path

from tests.lab_support import needs_lab, preflight_failed
from tests.test_lab_day2 import members
from tests.test_lab_lost_quorum import address

pytestmark = needs_lab


def replaced(lab, dead: str = "elma365-3") -> dict:
    """The one-change config: the dead node's decommission "force", and a new server elma365-4."""
    values = copy.deepcopy(lab.values)
    values["nodes"] = lab.node_values(4)["nodes"]
    next(n for n in values["nodes"] if n["name"] == dead)["decommission"] = "force"
    return values


def one(entries, node: str, action: str):
    found = [e for e in entries if e.node == node and e.action == action]
    assert len(found) == 1, (node, action, entries)
    return found[0]


def test_a_dead_node_is_force_removed_before_its_replacement_joins_and_nothing_runs_on_it(new_lab):
    lab = new_lab(nodes=4)
    assert lab.up().ok
    lab.site.stop_node("elma365-3")   # the server is dead
    mark = lab.mark()
    report = lab.up(replaced(lab))
    assert report.ok, report.failures
    entries = lab.journal(mark)
    removal = one(entries, "elma365-1", "remove-node elma365-3 --force")
    assert removal.rc == 0
    # the removal completed before the replacement's token and join, and before anything else changed
    assert all(removal.end <= e.start for e in entries if e is not removal), entries
    join = one(entries, "elma365-4", "join")
    hamode = one(entries, "elma365-4", "update-hamode")
    assert removal.end <= one(entries, "elma365-1", "add-node").start and join.end <= hamode.start
    # nothing ran on the dead node, not even a read
    assert not [e for e in lab.journal(mark, with_checks=True) if e.node == "elma365-3"]
    assert members(lab) == ["elma365-1", "elma365-2", "elma365-4"]
    # HAProxy sends requests to the new set
    live = Path(lab.info["labDir"]) / "nodes" / "haproxy" / "etc" / "haproxy" / "haproxy.cfg"
    servers = [line.split()[1] for line in live.read_text().splitlines() if line.strip().startswith("server ")]
    assert servers == ["elma365-1", "elma365-2", "elma365-4"]


def test_a_replacement_while_a_second_voter_is_dead_is_refused_before_any_vendor_call(new_lab):
    lab = new_lab(nodes=4)
    assert lab.up().ok
    lab.site.stop_node("elma365-3")
    lab.site.stop_node("elma365-2")   # a second voter dead, still in the config: one voter of three answers
    mark = lab.mark()
    report = lab.up(replaced(lab))
    assert not report.ok
    failed = preflight_failed(report)
    assert ("elma365-1", "quorum") in failed, report.failures
    # a majority of the voters dead (real dqlite): once its leader steps down (raft's election timeout)
    # status says "not running" and the gate reads the voters from cluster.yaml; until then status still
    # lists them and the removal of elma365-3 has no majority. Either way: a lost quorum, and the runbook
    refusal = failed["elma365-1", "quorum"]
    assert "quorum lost" in refusal and "docs/lost-quorum.md" in refusal, refusal
    assert f"{address(lab, 'elma365-3')}:19001" in refusal, refusal
    # no vendor call that changes anything ran anywhere
    assert lab.journal(mark) == []
    assert members(lab) == ["elma365-1", "elma365-2", "elma365-3"]
