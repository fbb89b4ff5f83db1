"""Preflight: one check command per node, all at once, before anything is installed or prepared.

Under mocks: where the checks sit in the graph and what re-runs them. For real: the check script run
by bash on this machine, and in the lab, where a node with too little memory and a filtered port on
the main node fail one run that names every node and check."""
from __future__ import annotations

import shlex

import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from components.render.preflight import MICROK8S_PORTS, preflight_checks_script, failures, parse_report
from components.render.shell import remote
from components.site import Preflight, SiteConfigError, parse_site
from lab.harness import Lab
from tests.lab_support import failed_steps, needs_lab, said
from tests.mock_runtime import run_program
from tests.sites import SECRET_KEYS, cluster_outputs, example

NODES = ["elma365-1", "elma365-2", "elma365-3"]
PREFLIGHT_TYPE = "elma365:cluster:Preflight"


def deploy(values=None):
    return run_program(values or example(), SECRET_KEYS, mocks=cluster_outputs())


@pytest.fixture(scope="module")
def site():
    return deploy()


# ---------------------------------------------------------------- the graph


def test_every_node_gets_one_check_in_the_preflight_component_with_no_dependency(site):
    components = [r for r in site.registrations if r.type == PREFLIGHT_TYPE]
    assert len(components) == 1
    for node, address in zip(NODES, ("192.168.1.51", "192.168.1.52", "192.168.1.53")):
        check = site.command(f"{node}-preflight")
        assert check.parent == components[0].urn
        assert check.depends_on == set(), "the checks must all start at once"
        assert check.inputs["connection"]["host"] == address
        assert "PREFLIGHT $node" in check.inputs["create"] and f'node="{node}"' in check.inputs["create"]


def test_install_and_every_prepare_wait_for_every_nodes_checks(site):
    checks = {site.command(f"{n}-preflight").urn for n in NODES}
    assert checks <= site.command("elma365-1-install").depends_on
    for node in NODES[1:]:
        # through the main node's MicroK8s channel, read after the install
        assert all(site.reaches(f"{node}-prepare", on=f"{n}-preflight") for n in NODES)
        assert site.reaches(f"{node}-join", on=f"{node}-preflight")


def test_only_joining_nodes_probe_the_main_nodes_microk8s_ports(site):
    main = site.command("elma365-1-preflight").inputs["create"]
    assert "for port in" not in main and "probe 192.168.1.51" not in main
    for node in NODES[1:]:
        create = site.command(f"{node}-preflight").inputs["create"]
        assert f"for port in {' '.join(map(str, MICROK8S_PORTS))}; do" in create
        assert "probe 192.168.1.51" in create


def _preflight_inputs(deployment):
    return {c.name: c.inputs for c in deployment.commands if c.name.endswith("-preflight")}


def test_reruns_only_when_the_node_list_or_the_thresholds_change(site):
    before = _preflight_inputs(site)
    for node in NODES:
        triggers = before[f"{node}-preflight"]["triggers"]
        assert triggers[0] == {"name": node, "main": node == "elma365-1",
                               "mainClusterAddress": "192.168.1.51", "sudo": False}
        assert triggers[1] == Preflight().thresholds()

    # everything else in the site config leaves the checks alone
    values = example()
    values["scaling"] = {"replicas": {"all": 2}}
    values["ha"] = {"enabled": True, "replicas": 5, "failoverSeconds": 120}
    values["install"]["edition"] = "standard"
    values["haproxy"]["bind"] = "*:8080"
    assert _preflight_inputs(deploy(values)) == before

    # thresholds: every node re-runs (a changed trigger replaces the command)
    values = example(preflight={"minMemoryGiB": 32})
    after = _preflight_inputs(deploy(values))
    for name, inputs in after.items():
        assert inputs["triggers"][1]["minMemoryGiB"] == 32
        assert inputs["triggers"] != before[name]["triggers"]

    # a node added: only its own check is new, the others are untouched
    values = example()
    values["nodes"].append({"name": "elma365-4", "address": "192.168.1.54"})
    grown = _preflight_inputs(deploy(values))
    assert sorted(set(grown) - set(before)) == ["elma365-4-preflight"]
    assert {k: v for k, v in grown.items() if k in before} == before

    # a new main node changes what every node checks
    values = example()
    values["nodes"][0]["clusterAddress"] = "10.0.0.51"
    moved = _preflight_inputs(run_program(values, SECRET_KEYS, mocks=cluster_outputs("10.0.0.51")))
    assert all(moved[n]["triggers"] != before[n]["triggers"] for n in before)


def test_the_command_text_is_made_of_the_triggers_only():
    """So that the command's inputs cannot change without its triggers changing."""
    base = example()
    other = example()
    other["ssh"]["bastion"] = {"host": "jump.example.com"}
    other["install"]["answers"] = [{"prompt": "(?i)domain", "answer": "x.example"}]
    first, second = _preflight_inputs(deploy(base)), _preflight_inputs(deploy(other))
    for name in first:
        assert first[name]["create"] == second[name]["create"]
        assert first[name]["triggers"] == second[name]["triggers"]


def test_disabled_preflight_still_reads_what_every_node_runs_before_anything_is_installed():
    deployed = deploy(example(preflight={"enabled": False}))
    checks = {c.name: shlex.split(c.inputs["create"])[-1] for c in deployed.commands if c.name.endswith("-preflight")}
    assert sorted(checks) == ["elma365-1-preflight", "elma365-2-preflight", "elma365-3-preflight"]
    for script in checks.values():
        assert "report site" in script and "FACT" in script
        assert "report cpu" not in script and "port-" not in script and "in-service" not in script
    assert deployed.command("elma365-1-install").depends_on == {deployed.command(n).urn for n in checks}
    assert deployed.reaches("haproxy-config", "elma365-3-preflight")


@pytest.mark.parametrize("preflight, message", [
    ({"minCpuCores": 0}, "elma365:preflight.minCpuCores = 0: must be a whole number between 1 and 1024"),
    ({"minMemoryGiB": "16G"}, 'elma365:preflight.minMemoryGiB = "16G": must be a number between 0.5 and 65536'),
    ({"minFreeDiskGiB": -1}, "elma365:preflight.minFreeDiskGiB = -1: must be a number between 0 and 1048576"),
    ({"maxClockOffsetMs": 0}, "elma365:preflight.maxClockOffsetMs = 0: must be a whole number between 1 and 60000"),
    ({"portTimeoutSeconds": 60}, "elma365:preflight.portTimeoutSeconds = 60: must be a whole number between 1 and 30"),
    ({"diskPath": "var/snap"}, 'elma365:preflight.diskPath = "var/snap": must be an absolute path'),
    ({"supportedOs": []}, "elma365:preflight.supportedOs = []: must be a non-empty list"),
    ({"supportedOs": ["Ubuntu 22.04"]}, 'elma365:preflight.supportedOs[0] = "Ubuntu 22.04": must be ID or ID:VERSION_ID'),
    ({"enabled": "yes"}, 'elma365:preflight.enabled = "yes": must be true or false'),
    ({"minCPU": 4}, "elma365:preflight.minCPU = 4: unknown key (known: enabled, supportedOs, minCpuCores"),
])
def test_bad_preflight_settings_are_refused_naming_key_value_and_rule(preflight, message):
    with pytest.raises(SiteConfigError) as err:
        parse_site(example(preflight=preflight), SECRET_KEYS)
    assert message in str(err.value)


def test_preflight_must_be_an_object():
    with pytest.raises(SiteConfigError) as err:
        parse_site(example(preflight=True), SECRET_KEYS)
    assert "elma365:preflight = true: must be an object" in str(err.value)


# ---------------------------------------------------------------- the script, run for real


def _os_entry() -> str:
    values = dict(line.rstrip("\n").split("=", 1) for line in Path("/etc/os-release").read_text().splitlines()
                  if "=" in line)
    return f"{values['ID'].strip(chr(34))}:{values.get('VERSION_ID', '').strip(chr(34))}".rstrip(":")


def run_checks(name: str, *, is_main=False, sudo=False, env=None, **thresholds) -> subprocess.CompletedProcess:
    preflight = Preflight(**{"min_cpu_cores": 1, "min_memory_gib": 0.5, "min_free_disk_gib": 0,
                             "supported_os": (_os_entry(),), "port_timeout_seconds": 1, **thresholds})
    # 127.6.0.99: loopback, nothing listens there, so every probe is refused at once
    script = remote(preflight_checks_script(name, is_main=is_main, main_cluster_address="127.6.0.99", sudo=sudo,
                                 preflight=preflight), sudo=False)
    # the command exactly as it reaches the node's login shell
    return subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=30, env=env)


def test_a_healthy_node_prints_one_machine_readable_line_per_check_and_exits_0():
    here = socket.gethostname().lower()
    result = run_checks(here)
    assert result.returncode == 0, result.stderr
    report = list(parse_report(result.stdout))
    assert len(report) == len(result.stdout.strip().splitlines()), result.stdout  # every line parses
    checks = {r["check"]: r for r in report}
    expected = {"os", "arch", "cpu", "memory", "disk", "hostname", "hostname-resolves", "clock", "sudo", "all",
                *(f"port-{p}" for p in MICROK8S_PORTS)}
    assert set(checks) == expected
    assert all(r["node"] == here for r in report)
    assert all(checks[c]["status"] == "ok" for c in expected - {"clock", "hostname-resolves"}), result.stdout
    assert checks["clock"]["status"] in ("ok", "warn")
    assert "refused: nothing listens yet" in checks["port-16443"]["detail"]
    assert result.stderr == ""


def test_a_failing_node_reports_every_failed_check_at_once():
    result = run_checks("not-this-host", sudo=True, min_cpu_cores=1024, min_memory_gib=65536,
                        min_free_disk_gib=1048576, supported_os=("plan9:4",))
    assert result.returncode == 1
    failed = {r["check"] for r in parse_report(result.stdout) if r["status"] == "fail"}
    assert {"os", "cpu", "memory", "disk", "hostname"} <= failed
    assert failures(result.stdout) and all(f.startswith("not-this-host: ") for f in failures(result.stdout))
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("preflight failed on not-this-host: ")
    for check in ("os (", "cpu (", "memory (", "disk (", "hostname ("):
        assert check in summary
    assert "at least 1024 required (preflight.minCpuCores)" in summary
    if not any(os.access(os.path.join(d, "sudo"), os.X_OK) for d in os.environ["PATH"].split(":")):
        assert "sudo" in failed  # no sudo on this machine: `sudo -n true` cannot work


@pytest.mark.parametrize("offset, status", [("0.000120000 seconds fast", "ok"), ("0.750000000 seconds slow", "fail")])
def test_the_clock_check_reads_chronys_offset(tmp_path, offset, status):
    chronyc = tmp_path / "chronyc"
    chronyc.write_text("#!/bin/sh\ncat <<'EOF'\nReference ID    : C0A80101 (ntp)\n"
                       f"System time     : {offset} of NTP time\nLeap status     : Normal\nEOF\n")
    chronyc.chmod(chronyc.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    result = run_checks(socket.gethostname().lower(), env=env, max_clock_offset_ms=500)
    clock = next(r for r in parse_report(result.stdout) if r["check"] == "clock")
    assert clock["status"] == status, clock
    assert "chrony offset" in clock["detail"]


# ---------------------------------------------------------------- the lab


class FilteredPort:
    """A listener that accepts nothing, its accept queue full: the kernel drops further SYNs, so a
    connect times out, as through a firewall that drops packets."""

    def __init__(self, address: str, port: int):
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((address, port))
        self.server.listen(0)
        self.fillers = []
        for _ in range(8):
            filler = socket.socket()
            filler.settimeout(0.3)
            try:
                filler.connect((address, port))
            except OSError:
                filler.close()
                break
            self.fillers.append(filler)

    def close(self):
        for s in self.fillers + [self.server]:
            s.close()


@needs_lab
def test_lab_too_little_memory_and_a_filtered_port_fail_one_run_naming_node_and_check(tmp_path):
    lab = Lab(tmp_path / "lab", nodes=3, durations={"install": 0.3, "join": 0.2, "update_hamode": 0.2})
    blocked = None
    try:
        lab.site.fake_meminfo("elma365-2", 512)  # the lab stack asks for 1 GiB
        main = lab.info["nodes"][0]["address"]
        blocked = FilteredPort(main, 16443)
        first = lab.up()
        assert not first.ok
        text = said(first)
        assert "PREFLIGHT elma365-2 memory fail 512 MiB, at least 1 GiB required (preflight.minMemoryGiB)" in text
        for node in ("elma365-2", "elma365-3"):  # every joining node, in the same run
            assert f"PREFLIGHT {node} port-16443 fail {main}:16443 timed out" in text, text
            assert f"preflight failed on {node}: " in text
        # the open ports are not failures (the provider's error carries every line, the passed ones too)
        assert "PREFLIGHT elma365-2 port-25000 ok" in text and "PREFLIGHT elma365-2 port-25000 fail" not in text
        assert not [name for name in failed_steps(first) if name.startswith("elma365-1-")]
        # nothing was installed or prepared anywhere
        assert lab.journal() == [], lab.journal()

        # fixed: a plain re-run checks again (a failed check stored nothing) and deploys
        blocked.close()
        blocked = None
        lab.site.fake_meminfo("elma365-2", 4096)
        second = lab.up()
        assert second.ok, second.failures
        ran = {s.name for s in second.steps}
        assert {"elma365-2-preflight", "elma365-3-preflight"} <= ran
        assert "elma365-1-preflight" not in ran  # it had passed: unchanged, not run again
        assert [e.action for e in lab.journal() if e.action == "installer"] == ["installer"]

        # a third run with no change runs nothing, preflight included
        assert lab.up().steps == []
    finally:
        if blocked:
            blocked.close()
        lab.down()
