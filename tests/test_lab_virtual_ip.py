"""Two balancers, one virtual IP (keepalived), in the lab: each balancer a network namespace on a
bridge with the nodes; real SSH, real HAProxy 2.6 and keepalived 2.2, real Pulumi CLI.

    ELMA365_LAB_NET=5 .venv/bin/python -m pytest -q -s tests/test_lab_virtual_ip.py

prints the failover figures (`make measure` records them in docs/dev/measurements.md). What is asserted holds
whatever the machine's speed: who holds the VIP, that the load is served again after a failover,
and that a balancer coming back costs no request."""
from __future__ import annotations

import copy
import io
import time
from pathlib import Path

from components.verify import checks, cli as verify, repairs
from lab.failover import FAULT_AT, SECONDS, bring_back, fail_live_balancer, wait_every_balancer_serves
from lab.load import one
from tests.lab_support import needs_lab

pytestmark = needs_lab
NODES = {"elma365-1", "elma365-2", "elma365-3"}


def wait_for_holder(site, name, deadline=15.0):
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if site.holder() == name:
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} does not hold the virtual IP after {deadline} s (holder: {site.holder()})")


def test_two_balancers_share_a_virtual_ip_through_failures_and_returns(new_lab):
    lab = new_lab(balancers=2)
    site, vip = lab.site, lab.info["virtualIp"]
    url = f"http://{vip}/"
    report = lab.up()
    assert report.ok, report.failures
    names = [name for name, _ in report.ran()]
    first, second = (b["address"] for b in lab.info["balancers"])
    # one balancer after the other: the second is only touched once the first serves with its VIP instance
    # the first balancer's steps have the names a single balancer's have; the second's carry its host
    assert names.index("haproxy-keepalived") < names.index(f"haproxy-config-{second}")

    # the first balancer (highest priority) holds the VIP; both have the same HAProxy config
    assert site.holder() == "haproxy-1"
    configs = [(Path(lab.info["labDir"]) / "nodes" / b["name"] / "etc" / "haproxy" / "haproxy.cfg").read_text()
               for b in lab.info["balancers"]]
    assert configs[0] == configs[1] and "server elma365-3 " in configs[0]
    wait_every_balancer_serves(lab.info["balancers"], NODES)

    # make verify reads both balancers and finds the VIP on the first; a health check that failed
    # on a loaded machine leaves a backend "UP 1/2" for a moment, so it is read until it settles
    deadline = time.monotonic() + 20
    while True:
        code, rows = verify.verify(copy.deepcopy(lab.values), set(lab.values), None, repairs.Context(stack="lab"),
                                   out=io.StringIO())
        drift = [(r.where, r.check, r.found) for r in rows if r.status == checks.DRIFT]
        if not drift or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert drift == [] and code == 0
    assert next(r.found for r in rows if r.check == f"virtual IP {vip}") == f"held by {first}"
    assert {r.where for r in rows if "keepalived.conf" in r.check} == {f"haproxy {first}", f"haproxy {second}"}

    for fault in ("host", "haproxy"):
        failed = fail_live_balancer(site, url, fault)
        other = "haproxy-2" if failed.victim == "haproxy-1" else "haproxy-1"
        print(f"\n{fault} fault on {failed.victim}: {failed.failed} of {len(failed.sent)} requests failed; "
              f"VIP on {failed.holder_after} {failed.vip_moved_after and round(failed.vip_moved_after, 2)} s after "
              f"the fault; longest time without an answer {failed.silence:.2f} s")
        assert failed.holder_after == other
        # the load is served again well before the end: nothing fails in its last 4 s
        assert failed.failed_in_last_seconds == 0
        assert all(s.ok for s in failed.sent if s.at < FAULT_AT - 0.5)   # all was well before the fault
        assert any(s.ok for s in failed.sent if s.at > SECONDS - 4.0)

        # it comes back: the VIP stays where it is (preempt: false) and no request fails meanwhile
        back = bring_back(site, url, failed)
        print(f"{failed.victim} back: {back.failed} of {len(back.sent)} requests failed; VIP on {back.holder_after}")
        assert back.holder_after == other
        assert back.failed == 0

    # preempt: true makes the first balancer take the VIP back once it is healthy; a re-run of
    # `up` changes only the keepalived configs
    values = copy.deepcopy(lab.values)
    values["haproxy"]["keepalived"]["preempt"] = True
    report = lab.up(values)
    assert report.ok, report.failures
    assert sorted(name for name, _ in report.ran()) == ["haproxy-keepalived", f"haproxy-keepalived-{second}"]
    wait_for_holder(site, "haproxy-1")
    assert lab.up(values).ran() == []

    # the VIP switched off: one balancer left, at its own address; keepalived is off both, and
    # HAProxy off the second (its config kept as a disabled file)
    values = copy.deepcopy(lab.values)
    h = values["haproxy"]
    h.update(h.pop("hosts")[0])
    del h["virtualIp"], h["keepalived"]
    report = lab.up(values)
    assert report.ok, report.failures
    assert sorted(name for name, _ in report.ran() if "removal" in name) == [
        f"haproxy-removal-{second}", "keepalived-removal", f"keepalived-removal-{second}"]
    assert site.holder() is None
    assert one(f"http://{first}/").ok
    gone = Path(lab.info["labDir"]) / "nodes" / "haproxy-2" / "etc"
    assert (gone / "haproxy" / "haproxy.cfg.disabled-by-elma365-cluster").exists()
    assert (gone / "keepalived" / "keepalived.conf.disabled-by-elma365-cluster").exists()
