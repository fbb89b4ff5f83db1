"""Taking over sites that already run ELMA365, with the real Pulumi CLI: a server installed by hand, a
cluster built by hand from the manual (lab/by_hand.py, outside Pulumi), a first deploy that failed
and a reordered node list. What the servers run decides, never the program's own bookkeeping.
"Vendor calls" are the simulator's journal without read-only checks (lab/harness.py)."""
from __future__ import annotations

import copy
import subprocess
import sys
import time

import pytest

from lab import by_hand
from lab.harness import Lab
from lab.stack import ROOT
from tests.lab_support import failed_steps, needs_lab, preflight_failed, printed, with_rotated_key

pytestmark = needs_lab

NODES = ["elma365-1", "elma365-2", "elma365-3"]
HOLDS = [(n, "snap refresh") for n in NODES]   # `snap refresh --hold microk8s` (calls() cuts the flags)


def calls(lab: Lab, mark: int) -> list[tuple[str, str]]:
    return [(e.node, e.action.split(" --")[0]) for e in lab.journal(mark)]


def adopting(lab: Lab) -> dict:
    return {**copy.deepcopy(lab.values), "adopt": True}


def serial(lab: Lab, mark: int, action: str) -> list[str]:
    """The nodes `action` ran on, in order; asserts that no two runs overlapped."""
    runs = [e for e in lab.journal(mark) if e.action == action]
    for before, after in zip(runs, runs[1:]):
        assert before.end <= after.start, (before, after)
    return [e.node for e in runs]


def verify(lab: Lab, seconds: float = 20.0) -> int:
    """`make verify` with the stack file and the lab's key, until HAProxy has every node in (a
    backend rises after `rise` good checks); its last output is shown on failure."""
    deadline = time.monotonic() + seconds
    while True:
        done = subprocess.run(
            [sys.executable, "-m", "components.verify", "--stack", str(lab.stack.config_file),
             "--key", lab.info["privateKeyPath"], "--stack-name", "lab"], capture_output=True, text=True,
            timeout=300, cwd=ROOT)
        if done.returncode == 0 or time.monotonic() > deadline:
            assert done.returncode == 0, done.stdout + done.stderr
            return done.returncode
        time.sleep(1)


@pytest.fixture
def lab(new_lab):
    return new_lab()   # tests/conftest.py: a 3-node lab with HAProxy, taken down afterwards


def test_a_server_installed_by_hand_is_refused_then_taken_over_into_a_3_node_ha_site(lab):
    by_hand.install(lab.site, "elma365-1")
    mark = lab.mark()

    # without adopt: refused in the preflight, naming the node and adopt; no vendor call, no HAProxy
    refused = lab.up()
    assert not refused.ok
    site = preflight_failed(refused).get(("elma365-1", "site"), "")
    assert site.startswith("ELMA365 runs on elma365-1 ") and "installed without elma365-cluster" in site, refused.failures
    assert "set elma365:adopt to true" in site
    assert calls(lab, mark) == []
    assert "haproxy-config" not in dict(refused.ran())

    # with adopt: the installer never runs again; joins serial; HA on node by node; one restart
    mark = lab.mark()
    report = lab.up(adopting(lab))
    assert report.ok, report.failures
    assert "taken over (elma365:adopt) as one server" in printed(report)
    done = calls(lab, mark)
    assert ("elma365-1", "installer") not in done and not [c for c in done if c[1] == "installer"]
    assert serial(lab, mark, "join") == ["elma365-2", "elma365-3"]
    assert [c for c in done if c[1] == "reconfigure"] == [("elma365-1", "reconfigure")]
    assert serial(lab, mark, "update-hamode") == NODES
    assert [c for c in done if c[1] == "restart"] == [("elma365-1", "restart")]
    assert sorted(c for c in done if c[1].startswith("snap refresh")) == HOLDS
    state = lab.site.state()
    assert state["settings"]["ha"] and sorted(state["hamodeUpdated"]) == NODES and state["restarts"] == 1
    assert sorted(state["members"]) == NODES

    # a second up runs nothing
    mark = lab.mark()
    again = lab.up(adopting(lab))
    assert again.ok and again.steps == [], again.ran()
    assert calls(lab, mark) == []


def test_a_cluster_built_by_hand_is_taken_over_with_no_vendor_call_and_verifies_clean(lab):
    by_hand.build_cluster(lab.site, NODES, ha=True, haproxy=True, replicas=3, failover=30)
    by_hand.run(lab.site, "elma365-1", "elma365ctl scale all 3 && elma365ctl scale main 2")
    mark = lab.mark()
    values = adopting(lab)   # the lab stack states what was built: HA 3/30, all 3, main 2
    report = lab.up(values)
    assert report.ok, report.failures
    assert sorted(calls(lab, mark)) == HOLDS   # no vendor tool that changes anything, only the holds
    assert "taken over (elma365:adopt) as a cluster" in printed(report)
    for node in ("elma365-2", "elma365-3"):
        assert f"{node} was a member before elma365-cluster: taken over" in printed(report)
    assert "HAProxy config applied and reloaded" in printed(report)   # HAProxy gets the program's config
    # the take-over is over: no node keeps the mark
    for node in NODES:
        left = by_hand.run(lab.site, node, "ls /var/lib/elma365-cluster/applied/").stdout.split()
        assert "taken-over" not in left, (node, left)

    assert verify(lab) == 0

    mark = lab.mark()
    again = lab.up(values)
    assert again.ok and again.steps == [], again.ran()
    assert calls(lab, mark) == []


def test_a_first_deploy_failed_at_a_join_then_a_node_that_never_joined_put_first_is_refused(lab):
    lab.site.set_faults({"join_fail_once": "elma365-2"})
    first = lab.up()
    assert not first.ok and "elma365-2-join" in failed_steps(first), first.failures
    assert [c for c in calls(lab, 0) if c[1] == "installer"] == [("elma365-1", "installer")]

    values = copy.deepcopy(lab.values)
    values["nodes"] = [values["nodes"][1], values["nodes"][0], values["nodes"][2]]
    for adopt in (False, True):
        mark = lab.mark()
        report = lab.up({**values, "adopt": adopt})
        assert not report.ok
        site = preflight_failed(report).get(("elma365-1", "site"), "")
        assert site.startswith("ELMA365 runs on elma365-1 ") and "outside the cluster of elma365-2" in site, report.failures
        assert calls(lab, mark) == []               # no installer anywhere, no join, nothing
    assert lab.site.state()["main"]["name"] == "elma365-1"


def test_adopt_on_a_site_this_program_built_changes_nothing(lab):
    report = lab.up()
    assert report.ok, report.failures
    mark = lab.mark()
    adopted = lab.up(adopting(lab))
    assert adopted.ok, adopted.failures
    assert calls(lab, mark) == [] and "taken over" not in printed(adopted)
    for node in NODES:
        assert "taken-over" not in by_hand.run(lab.site, node, "ls /var/lib/elma365-cluster/applied/").stdout.split()


def test_a_rejoined_node_gets_update_hamode_when_a_key_rotation_updates_its_step(lab):
    report = lab.up()
    assert report.ok, report.failures
    # elma365-3 leaves and joins again by hand: what it applied as a member (HA mode) is gone
    by_hand.run(lab.site, "elma365-3", "microk8s leave")
    by_hand.run(lab.site, "elma365-1", "microk8s remove-node elma365-3")
    by_hand.join(lab.site, "elma365-1", "elma365-3")
    by_hand.run(lab.site, "elma365-3", "rm -rf /var/lib/elma365-cluster/applied")

    values = with_rotated_key(lab)
    mark = lab.mark()
    rotated = lab.up(values)
    assert rotated.ok, rotated.failures
    # every step is updated with the new key; only the node that forgot its HA mode applies it
    assert calls(lab, mark) == [("elma365-3", "update-hamode")]
    assert "elma365-3" in lab.site.state()["hamodeUpdated"]
