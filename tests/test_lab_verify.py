"""`make verify` against the lab, after a real `pulumi up`: a site as deployed matches; each drift
injected by hand (a node stopped, a node unreachable, HA switched off with the vendor's own tool, the
HAProxy config edited on its host, another MicroK8s on one node) is reported with the one command
that repairs it, that command is run, and the site matches again. Every verify run makes only
read-only calls (the simulator's journal).

One 3-node HA lab serves the whole module, in order; each test leaves the site as it found it."""
from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components import names
from components.facts import haproxy as hf
from components.verify import checks, cli, repairs
from lab import ssh_exec
from lab.harness import Lab, is_check
from lab.stack import ROOT
from tests.behind_bastion import only_the_bastion
from tests.lab_support import FAST, needs_lab

pytestmark = needs_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    site = Lab(tmp_path_factory.mktemp("verify"), nodes=3, durations=FAST)
    report = site.up()
    assert report.ok, report.failures
    yield site
    site.down()


def host(lab: Lab, name: str) -> dict:
    return lab.info["haproxy"] if name == hf.HAPROXY else next(n for n in lab.info["nodes"] if n["name"] == name)


def on(lab: Lab, name: str, command: str) -> ssh_exec.Result:
    h = host(lab, name)
    conn = {"host": h["address"], "port": h["port"], "user": "root", "hostKey": h["hostKey"],
            "privateKey": Path(lab.info["privateKeyPath"]).read_text()}
    return ssh_exec.run(conn, command, timeout=60)


def live_haproxy_config(lab: Lab) -> bytes:
    return (Path(lab.info["labDir"]) / "nodes" / "haproxy" / "etc" / "haproxy" / "haproxy.cfg").read_bytes()


def read_only(lab: Lab, mark: int) -> list[dict]:
    """The simulator's journal since `mark`: there are calls, and every one is read-only."""
    calls = lab.site.journal()[mark:]
    assert calls, "verify called no tool"
    assert all(is_check(c["argv"]) for c in calls), [c["argv"] for c in calls if not is_check(c["argv"])]
    return calls


def verify(lab: Lab, values=None) -> tuple[int, list[checks.Row], str]:
    """The module in-process, with the stack's values (what `pulumi config --show-secrets` gives)."""
    mark, config = lab.mark(), live_haproxy_config(lab)
    values = copy.deepcopy(values or lab.values)
    out = io.StringIO()
    code, rows = cli.verify(values, set(values), None, repairs.Context(stack="lab"), out=out)
    read_only(lab, mark)
    assert live_haproxy_config(lab) == config
    return code, rows, out.getvalue()


def settle(lab: Lab, seconds: float = 15.0) -> tuple[int, list[checks.Row], str]:
    """verify until nothing drifts (a node back in service answers HAProxy after `rise` checks)."""
    deadline = time.monotonic() + seconds
    while True:
        code, rows, text = verify(lab)
        if code == 0 or time.monotonic() > deadline:
            assert code == 0, text
            return code, rows, text
        time.sleep(0.5)


def drifted(rows: list[checks.Row]) -> list[tuple[str, str]]:
    return [(r.where, r.check) for r in rows if r.status == checks.DRIFT]


def state_rows(rows: list[checks.Row]) -> dict[str, checks.Row]:
    """HAProxy's own view of each backend (from its admin socket or its stats page), by node."""
    return {r.check.split()[1]: r for r in rows if r.check.startswith("backend ") and " state (" in r.check}


def site_of(lab: Lab):
    return cli.parse_site(copy.deepcopy(lab.values), set(lab.values))


def repair(lab: Lab, fix: repairs.Repair) -> None:
    """Run a repair as printed: its commands over SSH, then `pulumi up --replace` of its URNs."""
    assert not fix.manual, fix.text
    for name, commands in fix.ssh:
        for command in commands:
            done = on(lab, name, command)
            assert done.exit_code == 0, (command, done.stdout, done.stderr)
    if fix.replace:
        report = lab.up(replace=list(fix.replace))
        assert report.ok, report.failures


def by_hand(lab: Lab, node: str, command: str, answers: dict[str, str], timeout: int = 30):
    """An operator at a terminal on `node`: `command` under `ssh -tt`, its questions answered by expect."""
    h = host(lab, node)
    ssh = ["ssh", "-tt", "-i", lab.info["privateKeyPath"], "-p", str(h["port"]),
           "-o", f"UserKnownHostsFile={lab.info['knownHostsPath']}", "-o", "StrictHostKeyChecking=yes",
           "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", f"root@{h['address']}", command]
    lines = [f"set timeout {timeout}", "spawn " + " ".join("{" + a + "}" for a in ssh), "expect {"]
    lines += [f"  -exact {{{prompt}}} {{ send -- {{{answer}\r}}; exp_continue }}" for prompt, answer in answers.items()]
    lines += ['  timeout { puts "\\nEXPECT-TIMEOUT"; exit 99 }', "  eof", "}", "set r [wait]", "exit [lindex $r 3]"]
    return subprocess.run(["expect", "-c", "\n".join(lines)], capture_output=True, text=True, timeout=timeout + 10)


# ---------------------------------------------------------------- no drift


def the_drift(lab, within: float = 0.0):
    """The one drift a verify run reports (it exits 1); `within` s for others to pass first (a node a
    refresh took down is back in HAProxy's rotation after its `rise` checks)."""
    deadline = time.monotonic() + within
    while True:
        code, rows, text = verify(lab)
        drifts = [r for r in rows if r.status == checks.DRIFT]
        if len(drifts) == 1 or time.monotonic() > deadline:
            assert code == 1, text
            [row] = drifts
            return row
        time.sleep(0.5)

def test_a_deployed_site_matches_read_through_pulumi_config(lab):
    """The `make verify STACK=lab` path: the config through `pulumi config --show-secrets --json`."""
    settle(lab)   # HAProxy may still be counting its first health checks
    mark = lab.mark()
    done = subprocess.run([sys.executable, "-m", "components.verify", "--pulumi-stack", "lab",
                           "--cwd", str(lab.stack.project)], cwd=ROOT, env={**os.environ, **lab.stack.env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = read_only(lab, mark)
    assert sorted({(c["node"], " ".join(c["argv"])) for c in calls}) == sorted(
        [(n, c) for n in ("elma365-1", "elma365-2", "elma365-3")
         for c in ("microk8s status", "microk8s version", "snap list microk8s")]
        + [("elma365-1", c) for c in ("microk8s kubectl get nodes", "elma365ctl status", "microk8s config")])
    # (that every host is read at once is tests/test_verify.py's: an overlap of sessions in the
    # journal would be a matter of timing on a loaded machine)
    out = done.stdout
    assert out.splitlines()[0].split() == ["NODE", "CHECK", "EXPECTED", "(config)", "FOUND"]
    # HAProxy's own view, through the admin socket the program's config declares
    assert "0 drift, 0 skipped (not verified: none)" in out
    assert all(f"backend elma365-{i} state (admin socket)" in out for i in (1, 2, 3))
    assert "identical" in out and "HA mode (elma365ctl status)" in out
    # no secret in what it prints: the SSH key, the kubeconfig's token
    key = Path(lab.info["privateKeyPath"]).read_text()
    assert key.splitlines()[1] not in out
    token = on(lab, "elma365-1", "microk8s config").stdout.split("token: ")[1].strip()
    assert token not in out


def test_the_key_file_form_reads_the_stack_file_and_the_operators_key(lab):
    mark = lab.mark()
    done = subprocess.run([sys.executable, "-m", "components.verify", "--stack", str(lab.stack.config_file),
                           "--key", lab.info["privateKeyPath"]], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    read_only(lab, mark)
    assert "secure:" in lab.stack.config_file.read_text()   # the key is in the stack file only encrypted


def test_every_urn_a_repair_names_is_a_step_in_the_state(lab):
    site = site_of(lab)
    ctx = repairs.Context(stack="lab")
    urns = set(repairs.settings_repair(site, ctx, ha=True, settings=True).replace) | set(repairs.haproxy_repair(site, ctx).replace)
    urns |= {u for n in site.joining for u in repairs.rejoin_repair(site, ctx, n, listed=True).replace}
    state = {r["urn"] for r in lab.stack.export()["deployment"]["resources"]}
    assert urns <= state, sorted(urns - state)
    assert len(urns) == 11
    # what `make verify STACK=...` reads from the stack is what the naming module gives
    from_stack = cli.urns_from_pulumi("lab", lab.stack.project, env={**os.environ, **lab.stack.env})
    assert len(from_stack) >= 20
    assert all(urn == names.urn("lab", "elma365-cluster", name) for name, urn in from_stack.items())


def test_through_a_bastion_where_only_the_bastion_answers(lab, tmp_path):
    """Run where the bastion (the HAProxy host) is the only host that answers (a network namespace
    of the test's own): without ssh.bastion every node is unreachable, with it the site matches."""
    jump = lab.info["haproxy"]
    values = copy.deepcopy(lab.values)
    del values["ssh"]["privateKey"]   # --key gives it
    given = tmp_path / "values.json"
    argv = [sys.executable, "-m", "components.verify", "--values-json", str(given), "--key", lab.info["privateKeyPath"],
            "--stack-name", "lab"]
    with only_the_bastion(jump["address"], jump["port"], tmp_path) as run:
        given.write_text(json.dumps(values))
        direct = run(argv, timeout=300)
        assert direct.returncode == 1, direct.stdout + direct.stderr
        assert all(f"DRIFT elma365-{i}: reachable over SSH" in direct.stdout for i in (1, 2, 3)), direct.stdout

        values["ssh"]["bastion"] = {"host": jump["address"], "port": jump["port"], "user": "root",
                                    "hostKey": jump["hostKey"]}
        given.write_text(json.dumps(values))
        mark = lab.mark()
        through = run(argv, timeout=300)
        assert through.returncode == 0, through.stdout + through.stderr
        assert "0 drift, 0 skipped" in through.stdout
        read_only(lab, mark)


# ---------------------------------------------------------------- drifts, each repaired

def test_a_stopped_node(lab):
    assert on(lab, "elma365-3", "microk8s stop").exit_code == 0
    code, rows, text = verify(lab)
    assert code == 1
    haproxy = f"haproxy {lab.info['haproxy']['address']}"
    # HAProxy's own view follows after `fall` failed checks: its row may or may not have turned yet
    assert [d for d in drifted(rows) if not d[1].startswith("backend elma365-3 state")] == [
        ("elma365-3", "MicroK8s running"), ("elma365-3", "in the cluster and Ready"),
        ("cluster", "ELMA365 nodes up (elma365ctl status)"), (haproxy, "backend elma365-3 health: HEAD / :8080")]
    address = host(lab, "elma365-3")["address"]
    fixes = {r.repair for r in rows if r.status == checks.DRIFT}
    assert {f.text for f in fixes} == {f"ssh -p 2222 root@{address} microk8s start"}
    assert f"DRIFT elma365-3: MicroK8s running: ssh -p 2222 root@{address} microk8s start" in text
    repair(lab, fixes.pop())
    settle(lab)


def test_an_unreachable_node(lab):
    lab.site.stop_node("elma365-2")
    try:
        code, rows, text = verify(lab)
        assert code == 1
        assert drifted(rows) == [("elma365-2", "reachable over SSH")]
        r = next(r for r in rows if r.status == checks.DRIFT)
        assert r.found.startswith("unreachable (") and "Connection refused" in r.found
        assert r.repair.manual and "bring elma365-2 back" in r.repair.text
        # what the other hosts say about it still counts
        assert next(r for r in rows if r.where == "elma365-2" and r.check == "in the cluster and Ready").status == checks.OK
    finally:
        lab.site.start_node("elma365-2")
    settle(lab)


def test_ha_switched_off_by_hand(lab):
    answers = {"Use custom connection string? [y/N]: ": "n", "Enable autoscaling? [y/N]: ": "n",
               "Enable Linkerd? [Y/n]: ": "y", "Enable high availability mode? [y/N]: ": "n"}
    done = by_hand(lab, "elma365-1", "elma365ctl reconfigure", answers)
    assert done.returncode == 0, done.stdout + done.stderr
    assert lab.site.state()["settings"]["ha"] is False
    code, rows, text = verify(lab)
    assert code == 1
    assert drifted(rows) == [("cluster", "HA mode (elma365ctl status)"),
                             ("cluster", "HA mode rolled out on (elma365ctl status)")]
    fix = next(r.repair for r in rows if r.status == checks.DRIFT)
    assert "truncate -s 0 /var/lib/elma365-cluster/applied/settings" in fix.text
    assert " && pulumi up --stack lab --replace " in fix.text
    # a plain `pulumi up` repairs nothing: no input changed, so no step runs
    mark = lab.mark()
    report = lab.up()
    assert report.ok and report.steps == [] and lab.journal(mark) == []
    assert verify(lab)[0] == 1
    mark = lab.mark()
    repair(lab, fix)
    ran = [(e.node, e.action) for e in lab.journal(mark)]
    assert ran == [("elma365-1", "reconfigure"), ("elma365-1", "update-hamode"), ("elma365-2", "update-hamode"),
                   ("elma365-3", "update-hamode"), ("elma365-1", "restart")]
    settle(lab)
    # and the program agrees: the next plain `up` runs nothing
    assert lab.up().steps == []


def test_the_haproxy_config_edited_on_its_host(lab):
    applied = live_haproxy_config(lab)
    assert on(lab, hf.HAPROXY, "sed -i 's/timeout server 10m/timeout server 20m/' /etc/haproxy/haproxy.cfg").exit_code == 0
    r = the_drift(lab)
    assert r.check == "live /etc/haproxy/haproxy.cfg = applied"
    line = applied.decode().splitlines().index("    timeout server 10m") + 1
    assert r.found == f"differs (+1/-1 lines); line {line} is 'timeout server 20m', applied 'timeout server 10m'"
    assert r.repair.text.startswith("pulumi up --stack lab --replace 'urn:pulumi:lab::elma365-cluster::")
    repair(lab, r.repair)
    assert live_haproxy_config(lab) == applied
    settle(lab)


def test_another_microk8s_version_on_one_node(lab):
    assert on(lab, "elma365-2", "snap refresh microk8s --channel=1.29/stable").exit_code == 0
    r = the_drift(lab, within=15)   # the refresh restarted its MicroK8s and web endpoint
    assert (r.where, r.check, r.found) == ("elma365-2", "MicroK8s version", "v1.29.9 (rev 7231, 1.29/stable)")
    assert r.expected == "v1.28.15 (as elma365-1, 1.28/stable)"
    address = host(lab, "elma365-2")["address"]
    assert r.repair.text == f"ssh -p 2222 root@{address} snap refresh microk8s --channel=1.28/stable"
    repair(lab, r.repair)
    settle(lab)


def test_a_replica_count_changed_by_hand(lab):
    assert on(lab, "elma365-1", "elma365ctl scale main 5").exit_code == 0
    r = the_drift(lab)
    assert (r.check, r.expected, r.found) == ("replicas: main (elma365ctl status)", "2", "5")
    address = host(lab, "elma365-1")["address"]
    assert r.repair.text == f"ssh -p 2222 root@{address} 'elma365ctl scale all 3 && elma365ctl scale main 2'"
    repair(lab, r.repair)
    settle(lab)


def test_autoscaling_switched_on_by_hand(lab):
    answers = {"Use custom connection string? [y/N]: ": "n", "Enable autoscaling? [y/N]: ": "y",
               "Minimum number of replicas: ": "1", "Maximum number of replicas: ": "4",
               "Enable high availability mode? [y/N]: ": "y", "Number of replicas for system services (minimum 3): ": "3",
               "Time of moving application services from failed nodes, seconds (10-300): ": "30"}
    done = by_hand(lab, "elma365-1", "elma365ctl reconfigure", answers)
    assert done.returncode == 0, done.stdout + done.stderr
    code, rows, text = verify(lab)
    assert code == 1
    assert drifted(rows) == [("cluster", "autoscaling (elma365ctl status)")]
    fix = next(r.repair for r in rows if r.status == checks.DRIFT)
    assert [u.rsplit("::", 1)[1] for u in fix.replace] == ["reconfigure", "scale-all", "scale-main"]
    mark = lab.mark()
    repair(lab, fix)
    assert [(e.node, e.action) for e in lab.journal(mark)] == [
        ("elma365-1", "reconfigure"), ("elma365-1", "scale all 3"), ("elma365-1", "scale main 2")]
    settle(lab)


def test_a_node_that_left_the_cluster_by_hand(lab):
    assert on(lab, "elma365-3", "microk8s leave").exit_code == 0
    assert "elma365-3" not in lab.site.state()["members"]
    code, rows, text = verify(lab)
    assert code == 1
    assert ("elma365-3", "in the cluster and Ready") in drifted(rows)
    assert ("cluster", "datastore voters (microk8s status)") in drifted(rows)
    fixes = {r.repair for r in rows if r.status == checks.DRIFT}
    assert len(fixes) == 1, [r.repair.text for r in rows if r.status == checks.DRIFT]
    fix = fixes.pop()
    assert fix.text.startswith(f"ssh -p 2222 root@{host(lab, 'elma365-1')['address']} "
                               "'microk8s remove-node elma365-3 && truncate -s 0 /var/lib/elma365-cluster/applied/restart'"
                               " && pulumi up --stack lab --replace ")
    mark = lab.mark()
    repair(lab, fix)
    assert [(e.node, e.action) for e in lab.journal(mark)] == [
        ("elma365-1", "remove-node elma365-3"), ("elma365-1", "add-node"), ("elma365-3", "join"),
        ("elma365-3", "update-hamode"), ("elma365-1", "restart")]
    settle(lab)


# ---------------------------------------------------------------- HAProxy's own view

def test_haproxys_own_view_of_its_backends(lab):
    """Through the admin socket the program's config declares."""
    _, rows, text = settle(lab)
    assert {name: r.check for name, r in state_rows(rows).items()} == {
        f"elma365-{i}": f"backend elma365-{i} state (admin socket)" for i in (1, 2, 3)}
    assert {name: r.found for name, r in state_rows(rows).items()} == {f"elma365-{i}": "UP" for i in (1, 2, 3)}
    assert on(lab, "elma365-3", "microk8s stop").exit_code == 0
    deadline = time.monotonic() + 15
    while True:   # HAProxy marks it DOWN after `fall` failed checks
        code, rows, text = verify(lab)
        state = state_rows(rows)["elma365-3"]
        if state.found == "DOWN" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert state.status == checks.DRIFT and state.found == "DOWN", text
    assert state.repair.text.endswith("microk8s start")
    repair(lab, state.repair)
    settle(lab)
