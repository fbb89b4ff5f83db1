"""A rolling refresh of MicroK8s, what the program decides before any server is touched: when a refresh
is asked (components/record.py), what is refused with it, and the preflight's check of a pinned
channel against what a node tracks (components/scripts/preflight-microk8s-refresh.sh, run by bash)."""
from __future__ import annotations

import subprocess

import pytest

from components.record import Target, Record, refresh_asked
from components.render.refresh import preflight_check
from components.site import parse_site
from tests.sites import SECRET_KEYS, example
from tests.test_day2_program import deployed, four_nodes, refused


def site(**install):
    values = example()
    values["install"].update(install)
    return values


def record(values) -> Record:
    return Record.of(parse_site(values, SECRET_KEYS))


@pytest.mark.parametrize("before, now, asked", [
    ({}, {"microk8sChannel": "1.29/stable"}, True),                     # a pin set on a deployed site
    ({"microk8sChannel": "1.28/stable"}, {"microk8sChannel": "1.29/stable"}, True),
    ({"microk8sChannel": "1.29/stable"}, {"microk8sChannel": "1.29/stable"}, False),
    ({"microk8sRefresh": 1}, {"microk8sRefresh": 2}, True),
    ({"microk8sRefresh": 2}, {"microk8sRefresh": 2}, False),
    ({"microk8sChannel": "1.29/stable"}, {}, False),                    # a pin removed: follow the main node
])
def test_a_refresh_is_asked_when_the_pin_or_the_number_differs_from_the_record(before, now, asked):
    assert refresh_asked(record(site(**before)), parse_site(site(**now), SECRET_KEYS)) is asked


def test_no_refresh_is_asked_on_a_first_deployment_nor_after_an_upgrade_from_a_record_without_it():
    now = parse_site(site(microk8sChannel="1.29/stable"), SECRET_KEYS)
    assert not refresh_asked(None, now)
    legacy = record(site()).to_dict()
    del legacy["microk8s"]
    assert not refresh_asked(Record.from_dict(legacy), now)


def test_the_record_keeps_the_asked_refresh():
    assert record(site(microk8sChannel="1.29/stable", microk8sRefresh=3)).to_dict()["microk8s"] == {
        "microk8sChannel": "1.29/stable", "microk8sRefresh": 3}
    assert record(site()).microk8s == Target(None, None)


def test_a_refresh_beside_a_node_joining_or_leaving_is_refused_before_any_step():
    joining = four_nodes()
    joining["install"]["microk8sChannel"] = "1.29/stable"
    message = refused(joining, example())
    assert "asks for a rolling refresh of MicroK8s" in message and "(elma365-4)" in message
    leaving = four_nodes()
    leaving["nodes"][3]["decommission"] = True
    leaving["install"]["microk8sRefresh"] = 1
    assert "(elma365-4)" in refused(leaving, four_nodes())


def test_a_pinned_site_rolls_node_by_node_after_the_ha_roll_out_the_main_node_last():
    run = deployed(site(microk8sChannel="1.28/stable"), site(microk8sChannel="1.28/stable"))
    order = ["elma365-1-microk8s-backup"]
    for node in ("elma365-2", "elma365-3", "elma365-1"):
        order += [f"{node}-microk8s-check", f"{node}-haproxy-drain-192.168.1.50", f"{node}-microk8s-refresh",
                  f"{node}-haproxy-ready-192.168.1.50"]
    assert run.reaches("elma365-1-microk8s-backup", on="restart")
    for earlier, later in zip(order, order[1:]):
        assert run.reaches(later, on=earlier), (later, earlier)
    # the balancer's steps read the node's check: a node that is not due stays in service
    assert "refresh:" in run.command("elma365-2-haproxy-drain-192.168.1.50").inputs["create"]


def test_a_site_with_neither_pin_nor_number_has_no_roll_out():
    assert not [n for n in deployed(example(), example()).names if n.endswith(("-microk8s-check", "-microk8s-refresh"))]


def preflight(tracking: str, pin: str) -> tuple[str, str]:
    """(status, detail) of the microk8s-refresh check on a node whose facts say it tracks `tracking`."""
    script = "\n".join([
        f'facts="FACT n1 microk8s {tracking}"',
        'report() { shift; echo "$1|${*:2}"; }',
        preflight_check("n1", pin)])
    out = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], capture_output=True, text=True, check=True)
    status, detail = out.stdout.strip().split("|", 1)
    return status, detail


@pytest.mark.parametrize("tracking, pin, status, words", [
    ("1.28/stable", "1.28/stable", "ok", "tracks 1.28/stable"),
    ("1.28/stable", "1.29/stable", "ok", "a rolling refresh takes it to 1.29/stable"),
    ("1.28/candidate", "1.28/stable", "ok", "a rolling refresh takes it to 1.28/stable"),
    ("1.28/stable", "1.30/stable", "fail", "more than one minor version ahead"),
    ("1.29/stable", "1.28/stable", "fail", "never downgraded"),
    ("1.31/stable", "2.0/stable", "fail", "more than one minor version ahead"),
    ("latest/stable", "1.29/stable", "fail", "not MAJOR.MINOR"),
    ("absent", "1.29/stable", "ok", "no MicroK8s snap here yet"),
])
def test_the_preflight_lets_a_pin_one_minor_up_roll_and_refuses_a_jump_or_a_downgrade(tracking, pin, status, words):
    got = preflight(tracking, pin)
    assert got[0] == status and words in got[1], got


def test_verify_says_pulumi_up_for_a_pin_one_minor_ahead_and_follow_the_main_node_otherwise():
    from components.verify.repairs import Context, channel_pin_repair
    assert channel_pin_repair(Context(stack="prod"), "1.28/stable", "1.29/stable").text.startswith(
        "pulumi up --stack prod (a rolling refresh of MicroK8s to 1.29/stable is due")
    assert channel_pin_repair(Context(stack="prod"), "1.28/stable", "1.30/stable").text.startswith(
        "pulumi config set --stack prod --path elma365:install.microk8sChannel 1.28/stable")
