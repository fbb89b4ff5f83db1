"""MicroK8s' automatic refreshes held on every node, with the real Pulumi CLI and the lab's snapd
(lab/sim: `snap refresh --hold`, `snap list`'s `held`, snapd versions, refresh.hold)."""
from __future__ import annotations

import copy
import io
import time
from datetime import datetime, timedelta, timezone

import pytest

from components.verify import checks, cli as verify, repairs
from lab import by_hand
from lab.harness import Lab
from tests.lab_support import needs_lab, preflight_failed, printed

pytestmark = needs_lab

NODES = ["elma365-1", "elma365-2", "elma365-3"]
HELD_ROW = "MicroK8s refreshes held (snap list)"


def held_rows(lab: Lab, seconds: float = 20.0) -> dict[str, str]:
    """make verify's held row per node, once nothing else drifts (HAProxy counts its first checks)."""
    deadline = time.monotonic() + seconds
    while True:
        _, rows = verify.verify(copy.deepcopy(lab.values), set(lab.values), None, repairs.Context(stack="lab"),
                                out=io.StringIO())
        others = [r for r in rows if r.status == checks.DRIFT and r.check != HELD_ROW]
        if not others or time.monotonic() > deadline:
            return {r.where: (r.found, r.repair.text if r.repair else None)
                    for r in rows if r.check == HELD_ROW}
        time.sleep(1)


@pytest.fixture
def lab(new_lab):
    return new_lab()   # tests/conftest.py: a 3-node lab with HAProxy, taken down afterwards


def test_every_node_is_held_after_the_deploy_and_verify_reports_one_unheld_by_hand(lab):
    report = lab.up()
    assert report.ok, report.failures
    holds = [e for e in lab.journal() if e.action == "snap refresh --hold microk8s"]
    assert sorted(e.node for e in holds) == NODES
    for node in NODES:
        assert "held" in by_hand.run(lab.site, node, "snap list microk8s").stdout.split()[-1].split(",")
    assert {n: found for n, (found, _) in held_rows(lab).items()} == {n: "held" for n in NODES}

    by_hand.run(lab.site, "elma365-2", "snap refresh --unhold microk8s")
    rows = held_rows(lab)
    assert rows["elma365-2"][0] == "not held"
    repair = rows["elma365-2"][1]
    assert repair.startswith("ssh ") and f"root@{lab.info['nodes'][1]['address']}" in repair, repair
    assert repair.endswith(" snap refresh --hold microk8s"), repair
    by_hand.run(lab.site, "elma365-2", "snap refresh --hold microk8s")
    assert held_rows(lab)["elma365-2"][0] == "held"
    # a second up runs nothing: a held node stays as it is
    assert lab.up().steps == []


def test_an_old_snapd_is_refused_before_anything_is_installed_then_a_system_hold_lets_it_go(lab):
    lab.site.set_faults({"snapd_version": "2.57.6"})
    refused = lab.up()
    assert not refused.ok
    hold = preflight_failed(refused).get(("elma365-1", "refresh-hold"), "")
    assert hold.startswith("snapd 2.57.6 on elma365-1 is older than 2.58"), refused.failures
    assert "sudo snap set system refresh.hold=TIME" in hold
    assert [e for e in lab.journal() if e.action == "installer"] == []

    until = (datetime.now(timezone.utc) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for node in NODES:
        by_hand.run(lab.site, node, f"snap set system refresh.hold={until}")
    report = lab.up()
    assert report.ok, report.failures
    assert f"every snap's refreshes are held until {until}" in printed(report)
    assert [e for e in lab.journal() if e.action == "snap refresh --hold microk8s"] == []
