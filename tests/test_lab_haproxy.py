"""The lab: a node's web endpoint dies under steady load, then comes back; failed requests are
counted with the program's HAProxy config and with the manual's (minus the line 2.6 rejects).

    ELMA365_LAB_NET=4 .venv/bin/python -m pytest -q -s tests/test_lab_haproxy.py

prints both counts (docs/dev/measurements.md records them)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from components import rules
from components.render.haproxy import apply_command
from components.site import parse_site
from lab import ssh_exec
from tests.haproxy_support import manual_config
from tests.sites import SECRET_KEYS
from lab.harness import Lab
from lab.load import Sent, steady_load, wait_all_in_rotation
from tests.lab_support import needs_lab

pytestmark = needs_lab

FAST = {"install": 0.2, "join": 0.1, "update_hamode": 0.1, "token_ttl": 600}
RATE, SECONDS, TIMEOUT = 20, 12.0, 1.5         # 240 requests, each with a 1.5 s timeout
DOWN_AT, UP_AT = 2.0, 8.0                       # the victim's ELMA365 is down for 6 s
VICTIM = "elma365-2"


def victim_down_then_up(lab: Lab, url: str) -> list[Sent]:
    """RATE requests/s for SECONDS; the victim's web endpoint goes down at DOWN_AT and comes back at UP_AT."""
    return steady_load(url, RATE, SECONDS, [(DOWN_AT, lambda: lab.site.set_web(VICTIM, False)),
                                            (UP_AT, lambda: lab.site.set_web(VICTIM, True))], timeout=TIMEOUT)


def apply_over_ssh(lab: Lab, config: str) -> ssh_exec.Result:
    """The program's own apply script on the lab's HAProxy host, with `config` on stdin."""
    site = parse_site(values_for(lab), SECRET_KEYS)
    h = lab.info["haproxy"]
    conn = {"host": h["address"], "port": h["port"], "user": "root", "hostKey": h["hostKey"],
            "privateKey": Path(lab.info["privateKeyPath"]).read_text()}
    return ssh_exec.run(conn, apply_command(site.haproxy, sudo=site.ssh.needs_sudo), config, timeout=60)


def summary(results: list[Sent]) -> dict:
    window = [r for r in results if DOWN_AT <= r.at < UP_AT + 2.0]
    return {"requests": len(results), "failed": sum(not r.ok for r in results),
            "failed in window": sum(not r.ok for r in window),
            "slowest ok ms": round(1000 * max((r.seconds for r in results if r.ok), default=0)),
            "victim served after it came back": sum(r.ok and r.node == VICTIM for r in results if r.at >= UP_AT),
            "errors": sorted({r.error.split(":")[0] + ":" + r.error.split(":", 1)[-1][:60] for r in results if not r.ok})[:5]}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    site = Lab(tmp_path_factory.mktemp("haproxy-lab"), nodes=3, durations=FAST)
    yield site
    site.down()


def values_for(lab: Lab) -> dict:
    values = copy.deepcopy(lab.values)
    if "preflight" in rules.TOP_LEVEL_KEYS:  # host checks are not what this test is about
        values["preflight"] = {"enabled": False}
    return values


def test_a_dying_node_costs_no_request_with_our_config_and_some_with_the_manuals(lab):
    report = lab.up(values_for(lab))
    # the HAProxy steps must have run and succeeded; the cluster's own steps are other tests' business
    steps = {s.name: s for s in report.steps}
    for name in ("haproxy-version", "haproxy-config"):
        assert name in steps and steps[name].ok, (name, report.failures)
    for n in lab.info["nodes"]:  # every node's ELMA365 answering (as a finished deploy leaves them)
        lab.site.set_web(n["name"], True)
    h = lab.info["haproxy"]
    url = f"http://{h['address']}:80/"
    names = {n["name"] for n in lab.info["nodes"]}
    live = Path(lab.info["labDir"]) / "nodes" / "haproxy" / "etc" / "haproxy" / "haproxy.cfg"
    assert "http-check send meth HEAD uri /" in live.read_text()  # rendered for the lab's 2.6

    wait_all_in_rotation(url, names)
    ours = summary(victim_down_then_up(lab, url))

    manual = manual_config(lab.values["haproxy"]["bind"],
                           [(n["name"], n["address"]) for n in lab.values["nodes"]],
                           lab.values["haproxy"]["backendPort"])
    applied = apply_over_ssh(lab, manual)
    assert applied.exit_code == 0, applied.stderr
    assert live.read_text() == manual
    wait_all_in_rotation(url, names)
    theirs = summary(victim_down_then_up(lab, url))

    print("\nHAProxy under load, %s down %.0f..%.0f s of %.0f s at %d req/s:\n  ours:   %s\n  manual: %s"
          % (VICTIM, DOWN_AT, UP_AT, SECONDS, RATE, json.dumps(ours), json.dumps(theirs)))
    assert ours["failed"] == 0, ours
    assert ours["victim served after it came back"] > 0, ours   # it re-entered rotation
    assert theirs["failed"] > 0, theirs                          # why the defaults exist
