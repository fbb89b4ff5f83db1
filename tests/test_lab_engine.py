"""The lab's engine stand-in keeps pulumi-command's semantics (checked here with fake servers;
the lab tests run the same engine over real SSH)."""
from __future__ import annotations

import shlex
import time

import pytest

from lab import engine as engine_module
from lab.runner import up
from lab.ssh_exec import DialError, Result
from tests.sites import HAPROXY_VERSION, PG_PASSWORD, PG_URL, add_node_output, example

TOKENS = iter(f"{i:032x}" for i in range(1, 1000))


def runs(script: str, needle: str) -> bool:
    """The script runs `needle` as a command (not merely mentions it)."""
    return any(line.strip().removeprefix("if ! ").startswith(needle) for line in script.splitlines())


class FakeServers:
    def __init__(self):
        self.calls: list[tuple[str, str]] = []
        self.failing: dict[str, int] = {}
        self.slow: dict[str, float] = {}
        self.down: set[str] = set()

    def run(self, conn, command, stdin=None, timeout=3600, mux_dir=None):
        host, script = conn["host"], shlex.split(command)[-1]
        if host in self.down:
            raise DialError(f"cannot connect to {host}:22 over SSH after 10 attempts: Connection refused")
        self.calls.append((host, script))
        for needle, seconds in self.slow.items():
            if runs(script, needle):
                time.sleep(seconds)
        for needle, code in self.failing.items():
            if runs(script, needle):
                return Result(code, "", f"simulated failure of {needle}", 0.0)
        if runs(script, "elma365ctl add-node"):
            return Result(0, add_node_output("192.168.1.51", next(TOKENS)), "", 0.0)
        if runs(script, "v=$(haproxy -v"):
            return Result(0, HAPROXY_VERSION, "", 0.0)
        return Result(0, "ok", "", 0.0)

    def ran(self, needle: str) -> list[str]:
        return [host for host, script in self.calls if runs(script, needle)]


@pytest.fixture
def servers(monkeypatch):
    fake = FakeServers()
    monkeypatch.setattr(engine_module.ssh_exec, "run", fake.run)
    return fake


def site(**changes):
    values = example(scaling={"replicas": {"all": 3, "main": 2}})
    values.update(changes)
    return values


def names(report):
    return [(s.name, s.op) for s in report.steps]


def test_a_fresh_run_creates_every_step_once(servers, tmp_path):
    report = up(site(), tmp_path / "state.json", log=lambda _: None)
    assert report.ok
    assert sorted(names(report)) == sorted((n, "create") for n in [
        "elma365-1-install", "elma365-2-prepare", "elma365-3-prepare", "haproxy-version", "haproxy-config",
        "elma365-2-add-node", "elma365-2-join", "elma365-3-add-node", "elma365-3-join",
        "scale-all", "scale-main", "ha-reconfigure", "elma365-1-update-hamode",
        "elma365-2-update-hamode", "elma365-3-update-hamode", "restart",
        "elma365-1-preflight", "elma365-2-preflight", "elma365-3-preflight", "elma365-1-kubeconfig"])


def test_a_second_run_with_no_change_runs_nothing(servers, tmp_path):
    up(site(), tmp_path / "state.json", log=lambda _: None)
    servers.calls.clear()
    report = up(site(), tmp_path / "state.json", log=lambda _: None)
    assert report.ok and report.steps == [] and servers.calls == []


def test_a_changed_input_runs_only_that_command(servers, tmp_path):
    up(site(), tmp_path / "state.json", log=lambda _: None)
    report = up(site(scaling={"replicas": {"all": 3, "main": 3}}), tmp_path / "state.json", log=lambda _: None)
    assert names(report) == [("scale-main", "update")]


def test_changed_triggers_replace_the_ha_roll_out(servers, tmp_path):
    up(site(), tmp_path / "state.json", log=lambda _: None)
    values = site()
    values["ha"]["failoverSeconds"] = 120
    report = up(values, tmp_path / "state.json", log=lambda _: None)
    assert [n for n in names(report)] == [("ha-reconfigure", "update"), ("elma365-1-update-hamode", "replace"),
                                         ("elma365-2-update-hamode", "replace"),
                                         ("elma365-3-update-hamode", "replace"), ("restart", "replace")]


def test_a_removed_node_leaves_then_is_removed_and_nothing_else_runs(servers, tmp_path):
    up(site(), tmp_path / "state.json", log=lambda _: None)
    values = site()
    values["nodes"].append({"name": "elma365-4", "address": "192.168.1.54"})
    up(values, tmp_path / "state.json", log=lambda _: None)
    report = up(site(), tmp_path / "state.json", log=lambda _: None)
    assert names(report) == [("haproxy-config", "update"), ("elma365-4-join", "delete"),
                             ("elma365-4-add-node", "delete")]
    assert servers.ran("microk8s leave") == ["192.168.1.54"]


def test_a_failed_step_stores_nothing_and_the_next_run_finishes_the_job(servers, tmp_path):
    servers.failing["elma365ctl update-hamode"] = 1
    report = up(site(), tmp_path / "state.json", log=lambda _: None)
    assert not report.ok
    assert report.failures[0].startswith("elma365-1: elma365-1-update-hamode exited with status 1")
    assert "restart" not in [n for n, _ in names(report)]
    del servers.failing["elma365ctl update-hamode"]
    report = up(site(), tmp_path / "state.json", log=lambda _: None)
    assert names(report) == [("elma365-1-update-hamode", "create"), ("elma365-2-update-hamode", "create"),
                             ("elma365-3-update-hamode", "create"), ("restart", "create")]


def test_an_unreachable_node_fails_the_run_naming_it(servers, tmp_path):
    servers.down.add("192.168.1.53")
    report = up(site(), tmp_path / "state.json", log=lambda _: None)
    assert not report.ok
    assert any(f.startswith("elma365-3: cannot connect to 192.168.1.53") for f in report.failures)
    assert servers.ran("elma365ctl add-node") == [] or servers.ran("microk8s join") == []


def test_replace_asks_for_a_fresh_token_and_the_join_gets_it(servers, tmp_path):
    servers.failing["microk8s join"] = 1
    report = up(site(), tmp_path / "state.json", log=lambda _: None)
    assert not report.ok
    del servers.failing["microk8s join"]
    report = up(site(), tmp_path / "state.json", replace=["elma365-2-add-node"], log=lambda _: None)
    assert report.ok
    node_2 = [n for n in names(report) if n[0] in ("elma365-2-add-node", "elma365-2-join")]
    # the old add-node's delete comes last, and only removes a node that has left
    assert node_2 == [("elma365-2-add-node", "replace"), ("elma365-2-join", "create"), ("elma365-2-add-node", "delete")]
    assert names(report)[-1] == ("elma365-2-add-node", "delete")


def test_the_state_file_holds_no_secret_in_plain_text(servers, tmp_path):
    values = site()
    values["install"]["externalServices"] = {"postgresql": PG_URL}
    up(values, tmp_path / "state.json", log=lambda _: None)
    text = (tmp_path / "state.json").read_text()
    assert "TESTKEYMATERIAL" not in text and PG_PASSWORD not in text
    assert "elma365.example.com" not in text  # answers travel in the (secret) stdin
    assert f"{1:032x}" not in text and "microk8s join 192.168.1.51" not in text  # the join token
    assert "ciphertext" in text


def test_steps_under_way_when_another_fails_run_to_their_end_and_are_kept(servers, tmp_path):
    servers.slow["expect -f"] = 1.0  # the install is still running ...
    servers.slow["snap install microk8s"] = 0.3  # (both start at once, with nothing before them)
    servers.failing["snap install microk8s"] = 1  # ... when a node's preparation fails
    values = site(preflight={"enabled": False})
    report = up(values, tmp_path / "state.json", log=lambda _: None)
    assert not report.ok
    assert ("elma365-1-install", "create") in [(s.name, s.op) for s in report.steps if s.ok]
    del servers.failing["snap install microk8s"]
    del servers.slow["expect -f"]
    servers.calls.clear()
    again = up(values, tmp_path / "state.json", log=lambda _: None)
    assert again.ok and "elma365-1-install" not in [s.name for s in again.steps]


def test_a_preview_lists_what_would_run_and_runs_nothing(servers, tmp_path):
    up(site(), tmp_path / "state.json", log=lambda _: None)
    before = (tmp_path / "state.json").read_text()
    servers.calls.clear()
    grown = site()
    grown["nodes"].append({"name": "elma365-4", "address": "192.168.1.54"})
    report = up(grown, tmp_path / "state.json", preview=True, log=lambda _: None)
    assert report.ok and servers.calls == []
    assert sorted(names(report)) == sorted([
        ("elma365-4-preflight", "create?"), ("elma365-4-prepare", "create?"), ("elma365-4-add-node", "create?"),
        ("elma365-4-join", "create?"), ("elma365-4-update-hamode", "create?"), ("haproxy-config", "update?")])
    assert (tmp_path / "state.json").read_text() == before
    shrunk = site()
    shrunk["nodes"] = shrunk["nodes"][:2]
    shrunk["ha"]["enabled"] = False
    report = up(shrunk, tmp_path / "state.json", preview=True, log=lambda _: None)
    assert ("elma365-3-join", "delete?") in names(report) and servers.calls == []


def test_a_preview_of_a_replace_lists_the_old_ones_delete_only(servers, tmp_path):
    up(site(), tmp_path / "state.json", log=lambda _: None)
    servers.calls.clear()
    report = up(site(), tmp_path / "state.json", replace=["elma365-2-add-node"], preview=True, log=lambda _: None)
    assert names(report) == [("elma365-2-add-node", "replace?"), ("elma365-2-join", "update?"),
                             ("elma365-2-add-node", "delete?")]
    assert servers.calls == []
