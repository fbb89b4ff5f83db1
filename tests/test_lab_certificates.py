"""Each node's MicroK8s certificates renewed before they end, with the real Pulumi CLI, over real SSH,
on the lab's simulated MicroK8s, whose certificates are real files made with openssl
(docs/certificates.md). The operator's checklist:

- certificates far from their end: `pulumi up` runs nothing;
- server.crt 20 days from its end on two nodes, under load through HAProxy: `pulumi up` renews it on
  those two only (`microk8s refresh-certs -e server.crt`), one node at a time, each out of HAProxy's
  service meanwhile, with no failed request; the next `up` runs nothing;
- an ended front-proxy-client.crt on the main node: renewed, and last;
- another node down: the renewal is refused by its gate, and no certificate is touched.
"""
from __future__ import annotations

import copy
import io

from components.verify import cli, repairs
from lab import by_hand, refresh
from lab.harness import Lab
from tests.lab_support import FAST, needs_lab, stopped_at

pytestmark = needs_lab

MAIN, N2, N3 = "elma365-1", "elma365-2", "elma365-3"


def installed(new_lab, days: dict) -> Lab:
    """A lab site installed by `pulumi up` whose MicroK8s signed its nodes' certificates for `days`
    ({node: {cert: days}}, 365 elsewhere): the install's renewal checks recorded their ends."""
    # refresh-certs keeps a node's API and web endpoint down for 1.5 s, long enough for HAProxy's
    # health checks (inter 1s, fall 2) to notice a node that would still get requests
    lab = new_lab(durations=dict(FAST, cert_restart=1.5))
    lab.site.set_certificate_days(days)
    report = lab.up()
    assert report.ok, report.failures
    return lab


def renewals(lab: Lab, since: int) -> list[tuple[str, str]]:
    """(node, certificate) of every `microk8s refresh-certs -e` since `since`, in order."""
    return [(e.node, e.action.split()[-1]) for e in lab.journal(since) if e.action.startswith("refresh-certs -e")]


def days_left(lab: Lab, node: str) -> dict[str, int]:
    """What `microk8s refresh-certs -c` prints on the node, by certificate."""
    out = by_hand.run(lab.site, node, "microk8s refresh-certs -c").stdout
    return {line.split(" certificate")[0].removeprefix("The "): int(line.split()[-2]) for line in out.splitlines()
            if line.startswith("The ")}


def verify(lab: Lab) -> tuple[int, dict[tuple[str, str], object]]:
    """`make verify` in-process, with the stack's values: its exit status and its certificate rows."""
    values = copy.deepcopy(lab.values)
    code, rows = cli.verify(values, set(values), None, repairs.Context(stack="lab"), out=io.StringIO())
    return code, {(r.where, r.check): r for r in rows if ".crt" in r.check}


def test_certificates_300_days_from_their_end_are_left_alone_and_up_runs_nothing(new_lab):
    lab = installed(new_lab, {n: {"server.crt": 300, "front-proxy-client.crt": 300} for n in (MAIN, N2, N3)})
    mark = lab.mark()
    again = lab.up()
    assert again.ok and again.steps == [], again.ran()
    assert renewals(lab, mark) == [] and lab.journal(mark) == []
    assert days_left(lab, N2) == {"CA": 3649, "server": 299, "front proxy client": 299}


def test_server_certificates_20_days_from_their_end_are_renewed_node_by_node_under_load_then_up_runs_nothing(new_lab):
    lab = installed(new_lab, {N2: {"server.crt": 20}, N3: {"server.crt": 20}})
    code, rows = verify(lab)
    assert code == 1
    due = rows[(N2, "server.crt days left")]
    assert due.status == "DRIFT" and due.found.startswith("19 (ends") and due.repair.text.startswith("pulumi up --stack lab")
    assert rows[(MAIN, "server.crt days left")].status == rows[(N2, "server.crt names the cluster address")].status == "ok"
    mark = lab.mark()
    result = {}
    rolled = refresh.under_load(refresh.url(lab.site), [("pulumi up", lambda: result.update(report=lab.up()))])
    report = result["report"]
    assert report.ok, report.failures
    assert renewals(lab, mark) == [(N2, "server.crt"), (N3, "server.crt")]
    calls = [e for e in lab.journal(mark) if e.action.startswith("refresh-certs -e")]
    assert calls[0].end <= calls[1].start          # one node at a time
    assert days_left(lab, N2)["server"] == 364 and days_left(lab, N3)["server"] == 364
    assert days_left(lab, MAIN)["server"] == 364   # signed at the install, not touched
    # each renewed node was out of HAProxy's service meanwhile (and only those), and is UP on it again
    balancer = lab.info["haproxy"]["address"]
    stdout = lab.step_stdout()
    for node in (N2, N3):
        assert stdout[f"{node}-certificates-drain-{balancer}"].startswith(f"{node} drained on HAProxy {balancer}"), stdout
        assert stdout[f"{node}-certificates-ready-{balancer}"] == f"{node} UP on HAProxy {balancer}", stdout
    assert f"{MAIN}-certificates-drain-{balancer}" not in stdout
    assert {node: refresh.server_states(lab.site, node) for node in (N2, N3)} == {
        node: {"haproxy": "UP"} for node in (N2, N3)}
    print(f"\nserver.crt renewed on 2 of 3 nodes through pulumi up: {rolled.summary()}")
    assert rolled.error is None and rolled.failed == 0, rolled.summary()

    mark = lab.mark()
    again = lab.up()
    assert again.ok and again.steps == [], again.ran()
    assert lab.journal(mark) == []
    code, rows = verify(lab)
    assert {r.status for r in rows.values()} == {"ok"} and rows[(N3, "server.crt days left")].found.startswith("364 ")


def test_an_ended_front_proxy_client_certificate_on_the_main_node_is_renewed_last(new_lab):
    lab = installed(new_lab, {MAIN: {"front-proxy-client.crt": -1}, N2: {"server.crt": 10}})
    assert days_left(lab, MAIN)["front proxy client"] < 0
    mark = lab.mark()
    report = lab.up()
    assert report.ok, report.failures
    assert renewals(lab, mark) == [(N2, "server.crt"), (MAIN, "front-proxy-client.crt")]
    assert days_left(lab, MAIN)["front proxy client"] == 364
    assert lab.up().steps == []


def test_a_renewal_while_another_node_is_down_is_refused_by_its_gate_and_touches_nothing(new_lab):
    lab = installed(new_lab, {N2: {"server.crt": 20}})
    by_hand.run(lab.site, N3, "microk8s stop")
    mark = lab.mark()
    # the due node's check runs the gate, and its own output says why it stopped
    stopped_at(lab.up(), f"{N2}-certificates-check",
               "elma365-3 NotReady: no node's certificates are renewed while another node is down")
    assert renewals(lab, mark) == [] and lab.journal(mark) == []
    assert refresh.server_states(lab.site, N2) == {"haproxy": "UP"}
    assert days_left(lab, N2)["server"] == 19

    by_hand.run(lab.site, N3, "microk8s start")
    mark = lab.mark()
    report = lab.up()
    assert report.ok, report.failures
    assert renewals(lab, mark) == [(N2, "server.crt")]


def test_a_failed_renewal_stops_the_run_there_and_the_next_up_finishes_it(new_lab):
    lab = installed(new_lab, {N2: {"server.crt": 20}, N3: {"server.crt": 20}})
    lab.site.set_faults({"refresh_certs_fail": N2})
    mark = lab.mark()
    stopped_at(lab.up(), f"{N2}-certificates-renew", "microk8s refresh-certs -e server.crt failed on elma365-2")
    assert renewals(lab, mark) == [(N2, "server.crt")]   # MicroK8s put its backup back; elma365-3 not touched
    assert days_left(lab, N2)["server"] == 19

    lab.site.set_faults({})
    mark = lab.mark()
    finished = lab.up()
    assert finished.ok, finished.failures
    assert renewals(lab, mark) == [(N2, "server.crt"), (N3, "server.crt")]
    assert {node: refresh.server_states(lab.site, node) for node in (N2, N3)} == {
        node: {"haproxy": "UP"} for node in (N2, N3)}
    assert lab.up().steps == []


def test_refresh_certs_u_undoes_the_last_renewal_by_hand(new_lab):
    lab = installed(new_lab, {N2: {"server.crt": 20}})
    assert lab.up().ok
    assert days_left(lab, N2)["server"] == 364
    undone = by_hand.run(lab.site, N2, "microk8s refresh-certs -u")
    assert undone.returncode == 0 and "Restarting, please wait." in undone.stdout
    assert days_left(lab, N2)["server"] == 19
