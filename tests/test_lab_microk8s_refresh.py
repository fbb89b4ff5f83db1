"""A rolling refresh of MicroK8s with the real Pulumi CLI, over real SSH, on the lab's simulated snapd,
kubectl and HAProxy (docs/microk8s-refresh.md). The operator's checklist:

- pin the next minor version (or set a new install.microk8sRefresh) and run `pulumi up`: node by node,
  the main node last, each drained in HAProxy and in Kubernetes, refreshed, Ready, uncordoned, UP;
- no request through HAProxy fails meanwhile (the lab's steady load);
- a refused refresh (two minor versions up, a downgrade, a node joining in the same run) runs nothing;
- a roll-out stopped by a failed node is finished by the next `up`, which leaves refreshed nodes alone;
- an `up` after a finished roll-out runs nothing.
"""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from lab import by_hand, refresh
from lab.harness import Lab
from tests.lab_support import FAST, needs_lab, preflight_failed, refused

pytestmark = needs_lab

MAIN, N2, N3 = "elma365-1", "elma365-2", "elma365-3"
ROLL_ORDER = [N2, N3, MAIN]        # the joining nodes in config order, the main node last
CHANGES = ("kubectl drain", "snap refresh --channel", "kubectl uncordon")


@pytest.fixture
def lab(new_lab):
    # snap refresh keeps a node's MicroK8s and web endpoint down for 1.5 s, long enough for HAProxy's
    # health checks (inter 1s, fall 2) to notice a node that would still get requests
    lab = new_lab(durations=dict(FAST, snap_refresh=1.5))
    report = lab.up()
    assert report.ok, report.failures
    return lab


def pinned(lab: Lab, channel: str | None = None, number: int | None = None) -> dict:
    values = copy.deepcopy(lab.values)
    if channel:
        values["install"]["microk8sChannel"] = channel
    if number is not None:
        values["install"]["microk8sRefresh"] = number
    return values


def tracking(lab: Lab, node: str) -> str:
    return by_hand.run(lab.site, node, "snap list microk8s").stdout.splitlines()[1].split()[3]


def revision(lab: Lab, node: str) -> str:
    return by_hand.run(lab.site, node, "snap list microk8s").stdout.splitlines()[1].split()[2]


def refresh_calls(lab: Lab, since: int) -> list[tuple[str, str]]:
    """(node, what) of every call that changes a node's MicroK8s or its scheduling, in order."""
    out = []
    for e in lab.journal(since):
        if e.action.startswith("kubectl drain"):
            out.append((e.node, "kubectl drain"))
        elif e.action.startswith("snap refresh") and "--hold" not in e.action:
            out.append((e.node, "snap refresh --channel" if "--channel" in e.action else "snap refresh"))
        elif e.action.startswith("kubectl uncordon"):
            out.append((e.node, "kubectl uncordon"))
    return out


def test_a_pin_one_minor_up_rolls_node_by_node_under_load_with_no_failed_request_then_up_runs_nothing(lab):
    # a pin equal to what runs asks for nothing: the roll-out's steps find every node current
    mark = lab.mark()
    same = lab.up(pinned(lab, "1.28/stable"))
    assert same.ok, same.failures
    assert refresh_calls(lab, mark) == []

    mark = lab.mark()
    values = pinned(lab, "1.29/stable")
    result = {}
    rolled = refresh.under_load(refresh.url(lab.site), [("pulumi up", lambda: result.update(report=lab.up(values)))])
    report = result["report"]
    assert report.ok, report.failures
    calls = refresh_calls(lab, mark)
    assert calls == [(node, what) for node in ROLL_ORDER for what in CHANGES], calls
    assert {node: tracking(lab, node) for node in ROLL_ORDER} == {node: "1.29/stable" for node in ROLL_ORDER}
    # each node was out of HAProxy's service while it refreshed, and is UP on it again
    balancer = lab.info["haproxy"]["address"]
    stdout = lab.step_stdout()
    for node in ROLL_ORDER:
        assert stdout[f"{node}-haproxy-drain-{balancer}"].startswith(f"{node} drained on HAProxy {balancer}"), stdout
        assert stdout[f"{node}-haproxy-ready-{balancer}"] == f"{node} UP on HAProxy {balancer}", stdout
    assert {node: refresh.server_states(lab.site, node) for node in ROLL_ORDER} == {
        node: {"haproxy": "UP"} for node in ROLL_ORDER}
    print(f"\nrolling refresh 1.28 -> 1.29 of 3 nodes through pulumi up: {rolled.summary()}")
    for node in ROLL_ORDER:
        spans = [e for e in lab.journal(mark) if e.node == node and e.action.startswith(("kubectl drain", "kubectl uncordon"))]
        print(f"  {node}: drain to uncordon {spans[-1].end - spans[0].start:.1f} s")
    assert rolled.error is None and rolled.failed == 0, rolled.summary()

    again = lab.up(values)
    assert again.ok and again.steps == [], again.ran()


def test_a_refresh_number_refreshes_within_the_channel_to_its_newest_revision(lab):
    before = {node: revision(lab, node) for node in ROLL_ORDER}
    mark = lab.mark()
    report = lab.up(pinned(lab, number=1))
    assert report.ok, report.failures
    assert refresh_calls(lab, mark) == [(n, w) for n in ROLL_ORDER for w in CHANGES]
    after = {node: revision(lab, node) for node in ROLL_ORDER}
    assert all(int(after[n]) > int(before[n]) for n in ROLL_ORDER), (before, after)
    assert {node: tracking(lab, node) for node in ROLL_ORDER} == {node: "1.28/stable" for node in ROLL_ORDER}
    assert lab.up(pinned(lab, number=1)).steps == []


def test_two_minor_versions_up_or_a_downgrade_is_refused_by_the_preflight_before_anything_runs(lab):
    for channel, words in (("1.30/stable", "more than one minor version ahead"), ("1.27/stable", "never downgraded")):
        mark = lab.mark()
        report = lab.up(pinned(lab, channel))
        assert not report.ok
        refusals = [detail for (_, check), detail in preflight_failed(report).items() if check == "microk8s-refresh"]
        assert refusals and all(words in detail for detail in refusals), report.failures
        assert lab.journal(mark) == [], lab.journal(mark)
    assert {node: tracking(lab, node) for node in ROLL_ORDER} == {node: "1.28/stable" for node in ROLL_ORDER}


def test_a_refresh_in_the_same_run_as_a_node_joining_is_refused_before_any_step(new_lab):
    lab = new_lab(nodes=4, durations=dict(FAST, snap_refresh=0.5))
    assert lab.up().ok
    values = pinned(lab, "1.29/stable")
    values["nodes"] = lab.node_values(4)["nodes"]
    mark = lab.mark()
    report = lab.up(values)
    text = refused(report)
    assert "rolling refresh of MicroK8s" in text and "elma365-4" in text, report.failures
    assert report.steps == [] and lab.journal(mark) == []


def test_a_roll_out_stopped_by_a_failed_refresh_is_finished_by_the_next_up(lab):
    lab.site.set_faults({"refresh_fail": N3})
    mark = lab.mark()
    values = pinned(lab, "1.29/stable")
    failed = lab.up(values)
    assert not failed.ok
    assert "snap refresh microk8s --channel=1.29/stable failed on elma365-3" in refused(failed), failed.failures
    assert tracking(lab, N2) == "1.29/stable" and tracking(lab, MAIN) == "1.28/stable"
    assert all(node != MAIN for node, _ in refresh_calls(lab, mark))   # the main node was left alone

    lab.site.set_faults({})
    mark = lab.mark()
    finished = lab.up(values)
    assert finished.ok, finished.failures
    # elma365-2 is not refreshed again; elma365-3 (cordoned since) and then the main node are
    assert refresh_calls(lab, mark) == [(node, w) for node in (N3, MAIN) for w in CHANGES], refresh_calls(lab, mark)
    assert {node: tracking(lab, node) for node in ROLL_ORDER} == {node: "1.29/stable" for node in ROLL_ORDER}
    assert lab.up(values).steps == []


def test_an_up_killed_while_a_node_refreshes_is_finished_by_the_next_up_without_refreshing_it_twice(new_lab):
    lab = new_lab(durations=dict(FAST, snap_refresh=3.0))
    assert lab.up().ok
    values = pinned(lab, "1.29/stable")
    cordoned = (Path(lab.info["labDir"]) / "nodes" / N3 / "var" / "lib" / "elma365-cluster"
                / "microk8s-refresh-cordoned")   # render/refresh.CORDON_MARK: between its drain and its uncordon
    mark = lab.mark()
    lab.stack.configure(values)
    killed = lab.stack.up(interrupt_when=cordoned.exists, kill_after=1.0)   # Ctrl-C, then SIGKILL
    assert not killed.ok
    assert lab.stack.cancel().returncode == 0                              # the runbook: the dead run's lock
    resumed = lab.up(values)
    assert resumed.ok, resumed.failures
    calls = refresh_calls(lab, mark)
    assert [c for c in calls if c[0] == N3].count((N3, "snap refresh --channel")) == 1, calls
    assert calls[-3:] == [(MAIN, w) for w in CHANGES], calls
    assert {node: tracking(lab, node) for node in ROLL_ORDER} == {node: "1.29/stable" for node in ROLL_ORDER}
    assert "SchedulingDisabled" not in by_hand.run(lab.site, MAIN, "microk8s kubectl get nodes --no-headers").stdout
    assert {node: refresh.server_states(lab.site, node) for node in ROLL_ORDER} == {
        node: {"haproxy": "UP"} for node in ROLL_ORDER}
    assert lab.up(values).steps == []


def test_a_refresh_while_a_node_is_down_is_refused_by_the_preflight_before_anything_runs(lab):
    by_hand.run(lab.site, N3, "microk8s stop")
    mark = lab.mark()
    report = lab.up(pinned(lab, "1.29/stable"))
    assert not report.ok
    assert "elma365-3 NotReady" in preflight_failed(report).get((MAIN, "microk8s-health"), ""), report.failures
    assert lab.journal(mark) == []
    by_hand.run(lab.site, N3, "microk8s start")
