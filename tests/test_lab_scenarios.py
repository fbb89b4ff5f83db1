"""The lab: the program's real commands over real SSH against simulated ELMA365 nodes.

Each `lab.up()` is one `pulumi up` of the unchanged program (lab/runner.py); the simulator's
journal says exactly what ran on which node, when, and how it ended."""
from __future__ import annotations

import copy
import urllib.request
from pathlib import Path

import pytest

from lab.harness import Lab
from lab.load import wait_all_in_rotation
from tests.lab_support import FAST, engine_order, needs_lab

pytestmark = needs_lab



def actions(entries, node=None):
    return [(e.node, e.action) for e in entries if node is None or e.node == node]


def no_overlap(entries):
    ordered = sorted(entries, key=lambda e: e.start)
    return all(a.end <= b.start for a, b in zip(ordered, ordered[1:]))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    site = Lab(tmp_path_factory.mktemp("lab"), nodes=4, durations=FAST)
    yield site
    site.down()


@pytest.fixture(scope="module")
def fresh(lab):
    return lab.up()


def test_1_fresh_deploy_installs_joins_scales_and_rolls_out_ha_in_order(lab, fresh):
    assert fresh.ok, fresh.failures
    steps = lab.journal()
    assert all(e.rc == 0 for e in steps), [(e.node, e.action, e.rc) for e in steps if e.rc]
    assert actions(steps, "elma365-1").count(("elma365-1", "installer")) == 1
    serial = [(e.node, e.action) for e in steps if e.action in ("add-node", "join")]
    assert serial == [("elma365-1", "add-node"), ("elma365-2", "join"),
                      ("elma365-1", "add-node"), ("elma365-3", "join")]
    joins = [e for e in steps if e.action == "join"]
    assert no_overlap(joins)
    installer = next(e for e in steps if e.action == "installer")
    assert all(e.start >= installer.end for e in steps if e.action in ("add-node", "join"))
    last_join = max(e.end for e in joins)
    # the settings (HA on) after the last join, then the manual counts, then HA node by node
    reconfigure = [e for e in steps if e.action == "reconfigure"]
    assert len(reconfigure) == 1 and reconfigure[0].start >= last_join
    scales = [e for e in steps if e.action.startswith("scale")]
    assert [e.action for e in scales] == ["scale all 3", "scale main 2"]
    assert all(e.start >= reconfigure[0].end for e in scales)
    updates = [e for e in steps if e.action == "update-hamode"]
    assert [e.node for e in updates] == ["elma365-1", "elma365-2", "elma365-3"]
    assert no_overlap(updates) and updates[0].start >= max(e.end for e in scales)
    restarts = [e for e in steps if e.action == "restart"]
    assert len(restarts) == 1 and restarts[0].start >= updates[-1].end
    assert restarts[0].start >= max(e.end for e in steps if e.action != "restart")


def test_1_haproxy_answers_through_to_the_nodes(lab, fresh):
    """HAProxy starts with the deploy and takes each node in after `rise` good checks (2 x 1 s), so
    every node is in rotation within a few seconds of the end of `up`; then every request succeeds."""
    url = f"http://{lab.info['haproxy']['address']}:80/"
    names = {f"elma365-{i}" for i in (1, 2, 3)}
    wait_all_in_rotation(url, names, deadline=10.0)
    for _ in range(12):
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200
            assert response.headers.get("X-Elma365-Node") in names
            assert "elma365-" in response.read().decode()


def test_2_a_second_up_with_no_change_runs_nothing_on_any_node(lab, fresh):
    mark = lab.mark()
    report = lab.up()
    assert report.ok and report.steps == [], report.ran()
    assert lab.journal(mark, with_checks=True) == []


def test_3_changing_one_replica_count_runs_only_that_scale_command(lab, fresh):
    values = copy.deepcopy(lab.values)
    values["scaling"]["replicas"]["main"] = 3
    mark = lab.mark()
    report = lab.up(values)
    assert report.ok
    assert report.ran() == [("scale-main", "update")]
    assert actions(lab.journal(mark)) == [("elma365-1", "scale main 3")]
    lab.values = values


def with_a_fourth_node(lab):
    """One `pulumi up` with elma365-4 in the config; returns its report and the journal mark before it."""
    values = copy.deepcopy(lab.values)
    values["nodes"] = lab.node_values(4)["nodes"]
    mark = lab.mark()
    report = lab.up(values)
    assert report.ok, report.failures
    lab.values = values
    return report, mark


def test_4_adding_a_fourth_node_joins_it_alone(lab, fresh):
    report, mark = with_a_fourth_node(lab)
    # (and the main node copies its datastore backups to it too, docs/backups.md), and the main node's
    # quorum check of the join (docs/replace-dead-node.md), read-only
    assert sorted(s.name for s in report.steps) == ["elma365-1-backup-places", "elma365-1-quorum",
                                                    "elma365-4-add-node", "elma365-4-backup-receiver",
                                                    "elma365-4-certificates-check", "elma365-4-join",
                                                    "elma365-4-microk8s-hold", "elma365-4-preflight",
                                                    "elma365-4-prepare", "elma365-4-update-hamode", "haproxy-config"]
    changes = lab.journal(mark)
    assert sorted(actions(changes)) == sorted([("elma365-4", "snap install microk8s --classic --channel=1.28/stable"),
                                               ("elma365-1", "add-node"), ("elma365-4", "join"),
                                               ("elma365-4", "snap refresh --hold microk8s"),
                                               ("elma365-4", "update-hamode")])
    # preparing the node overlaps add-node; the join waits for both
    join = next(e for e in changes if e.action == "join")
    assert all(e.end <= join.start for e in changes if e.action in ("add-node", "snap install microk8s --classic --channel=1.28/stable"))
    touched = {e.node for e in lab.journal(mark, with_checks=True)}
    assert not touched & {"elma365-2", "elma365-3"}


def test_5_deleting_the_fourth_nodes_entry_drains_it_it_leaves_and_is_removed(lab, fresh):
    values = copy.deepcopy(lab.values)
    values["nodes"] = values["nodes"][:3]
    mark = lab.mark()
    report = lab.up(values)
    assert report.ok, report.failures
    # the previous deployment's record says elma365-4 was a member: it departs, one step after another
    assert [name for name, op in report.ran() if op == "create"] == [
        "elma365-4-drain", "elma365-4-leave", "elma365-4-remove-node"]
    # its own steps are forgotten without running anything (no step has a delete)
    assert sorted(name for name, op in report.ran() if op == "delete") == sorted(
        f"elma365-4-{step}" for step in ("preflight", "prepare", "add-node", "join", "microk8s-hold", "update-hamode",
                                         "certificates-check", "backup-receiver"))
    # HAProxy stops sending it traffic first: its new config is applied before the drain starts
    assert ("haproxy-config", "update") in report.ran()
    order = engine_order(lab)
    assert order.index(("done", "haproxy-config")) < order.index(("start", "elma365-4-drain")), order
    assert "elma365-4" not in (Path(lab.info["labDir"]) / "nodes" / "haproxy" / "etc" / "haproxy" / "haproxy.cfg").read_text()
    assert [a[1].split(" --")[0] for a in actions(lab.journal(mark))] == [
        "kubectl drain elma365-4", "leave", "remove-node elma365-4"]
    assert [a[0] for a in actions(lab.journal(mark))] == ["elma365-1", "elma365-4", "elma365-1"]
    assert "elma365-4" not in lab.site.state()["members"]
    lab.values = values


def test_5_the_run_after_a_departure_runs_nothing(lab, fresh):
    mark = lab.mark()
    report = lab.up()
    assert report.ok, report.failures
    # the departure's steps and the quorum check of its run, forgotten
    assert sorted(report.ran()) == [(f"elma365-{step}", "delete") for step in ("1-quorum", "4-drain", "4-leave",
                                                                                "4-remove-node")]
    assert lab.journal(mark, with_checks=True) == []


def test_5_a_departed_node_added_again_joins_and_gets_ha_again(lab, fresh):
    _, mark = with_a_fourth_node(lab)
    # what it applied as a member before (HA mode) was forgotten when it left
    assert actions(lab.journal(mark)) == [("elma365-1", "add-node"), ("elma365-4", "join"),
                                          ("elma365-4", "update-hamode")]
    assert "elma365-4" in lab.site.state()["members"]
