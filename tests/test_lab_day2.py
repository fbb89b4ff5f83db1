"""Day 2 in the lab, with the real Pulumi CLI: the routine changes of an operator's years with a
cluster must not disrupt it. "Vendor calls" are the simulator's journal without read-only checks:
installer, add-node, join, scale, reconfigure, update-hamode, restart, leave, remove-node, drain.

One 4-node HA lab serves the whole checklist, in order; each test leaves it as the next expects."""
from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest

from lab.harness import Lab
from lab.stack import ROOT
from tests.lab_support import FAST, needs_lab, refused, with_rotated_key

pytestmark = needs_lab



def calls(lab: Lab, mark: int) -> list[tuple[str, str]]:
    return [(e.node, e.action.split(" --")[0]) for e in lab.journal(mark)]


def members(lab: Lab) -> list[str]:
    return sorted(lab.site.state()["members"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    site = Lab(tmp_path_factory.mktemp("day2"), nodes=4, durations=FAST)
    site.values = site.node_values(4) | {k: v for k, v in site.values.items() if k != "nodes"}
    report = site.up()
    assert report.ok, report.failures
    yield site
    site.down()


def test_rotating_the_ssh_key_runs_no_vendor_tool(lab):
    values = with_rotated_key(lab)
    mark = lab.mark()
    report = lab.up(values)
    assert report.ok, report.failures
    assert {op for _, op in report.ran()} == {"update"}  # every step learns the new key...
    assert calls(lab, mark) == []                        # ...and no tool changes anything
    lab.values = values


def test_going_through_a_bastion_runs_no_vendor_tool(lab):
    values = copy.deepcopy(lab.values)
    jump = lab.info["haproxy"]
    # its host key pinned too (ssh.bastion.hostKey)
    values["ssh"]["bastion"] = {"host": jump["address"], "port": jump["port"], "user": "root", "hostKey": jump["hostKey"]}
    mark = lab.mark()
    report = lab.up(values)
    assert report.ok, report.failures
    assert report.steps and calls(lab, mark) == []
    lab.values = values


def test_an_upgrade_of_this_program_that_changes_script_text_runs_no_vendor_tool(lab):
    project = lab.stack.project / "components"
    project.unlink()
    shutil.copytree(ROOT / "components", project)
    shell = project / "render" / "shell.py"
    text = shell.read_text()
    shell.write_text(text.replace('set -euo pipefail\\n" + body.strip()',
                                  'set -euo pipefail\\n# the next release\\n" + body.strip()'))
    assert shell.read_text() != text
    try:
        mark = lab.mark()
        report = lab.up()
        assert report.ok, report.failures
        assert len(report.steps) >= 20 and {op for _, op in report.ran()} == {"update"}
        assert calls(lab, mark) == []
    finally:
        shutil.rmtree(project)
        project.symlink_to(ROOT / "components")
    assert lab.up().ok


def test_replacing_a_join_or_its_add_node_evicts_nobody(lab):
    before = members(lab)
    mark = lab.mark()
    report = lab.up(replace=["elma365-2-join", "elma365-3-add-node"])
    assert report.ok, report.failures
    assert ("elma365-2-join", "create-replacement") in report.ran()
    assert ("elma365-2-join", "delete-replaced") in report.ran()
    assert calls(lab, mark) == [] and members(lab) == before


def test_destroying_part_of_the_graph_evicts_nobody(lab):
    before = members(lab)
    mark = lab.mark()
    # a join and everything after it (the later joins, settings, scaling, HA) out of the state
    report = lab.stack.destroy(extra=[f"--target={lab.stack.urn('elma365-3-join')}", "--target-dependents"])
    assert report.ok, report.failures
    gone = {name for name, op in report.ran() if op == "delete"}
    assert {"elma365-3-join", "elma365-4-join", "reconfigure", "restart"} <= gone, gone
    again = lab.up()  # the next up puts them back: every node is a member, every setting applied
    assert again.ok and {name for name, op in again.ran() if op == "create"} == gone
    assert calls(lab, mark) == [] and members(lab) == before


def test_another_first_node_is_refused_before_anything_runs(lab):
    values = copy.deepcopy(lab.values)
    values["nodes"] = [values["nodes"][1], values["nodes"][0], *values["nodes"][2:]]
    mark = lab.mark()
    report = lab.up(values)
    assert not report.ok
    text = refused(report)
    assert "elma365:nodes[0] is elma365-2, but the main node of this site is elma365-1" in text, text
    assert "Put elma365-1 back first in elma365:nodes" in text
    assert report.steps == [] and lab.journal(mark, with_checks=True) == []


def test_switching_ha_off_reconfigures_and_restarts_once_and_on_again_rolls_out(lab):
    values = copy.deepcopy(lab.values)
    values["ha"] = {"enabled": False}
    mark = lab.mark()
    report = lab.up(values)
    assert report.ok, report.failures
    assert calls(lab, mark) == [("elma365-1", "reconfigure"), ("elma365-1", "restart")]
    assert lab.site.state()["settings"]["ha"] is False
    values["ha"] = copy.deepcopy(lab.values["ha"])
    mark = lab.mark()
    report = lab.up(values)
    assert report.ok, report.failures
    assert calls(lab, mark) == [("elma365-1", "reconfigure")] + [
        (f"elma365-{i}", "update-hamode") for i in (1, 2, 3, 4)] + [("elma365-1", "restart")]
    assert lab.site.state()["settings"]["ha"] is True


def test_autoscaling_on_and_back_to_fixed_replicas(lab):
    values = copy.deepcopy(lab.values)
    values["scaling"] = {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5}}
    mark = lab.mark()
    report = lab.up(values)
    assert report.ok, report.failures
    assert calls(lab, mark) == [("elma365-1", "reconfigure")]
    assert lab.site.state()["settings"]["autoscaling"] is True
    mark = lab.mark()
    report = lab.up()  # back to the lab's fixed counts: autoscaling off first, then the counts
    assert report.ok, report.failures
    assert calls(lab, mark) == [("elma365-1", "reconfigure"), ("elma365-1", "scale all 3"),
                                ("elma365-1", "scale main 2")]
    assert lab.site.state()["settings"]["autoscaling"] is False


def test_decommissioning_a_live_node_drains_it_it_leaves_and_haproxy_drops_it(lab):
    values = copy.deepcopy(lab.values)
    values["nodes"][3]["decommission"] = True
    mark = lab.mark()
    report = lab.up(values)
    assert report.ok, report.failures
    assert calls(lab, mark) == [("elma365-1", "kubectl drain elma365-4"), ("elma365-4", "leave"),
                                ("elma365-1", "remove-node elma365-4")]
    assert "elma365-4" not in members(lab)
    live = Path(lab.info["labDir"]) / "nodes" / "haproxy" / "etc" / "haproxy" / "haproxy.cfg"
    assert "server elma365-4 " not in live.read_text()
    # then the entry may go: nothing runs, on elma365-4 or anywhere
    lab.site.stop_node("elma365-4")
    values["nodes"] = values["nodes"][:3]
    mark = lab.mark()
    report = lab.up(values)
    assert report.ok, report.failures
    assert {op for _, op in report.ran()} == {"delete"}
    assert lab.journal(mark, with_checks=True) == []
    lab.values = values


def test_pulumi_destroy_forgets_the_site_and_leaves_the_cluster_running(lab):
    before = members(lab)
    mark = lab.mark()
    report = lab.stack.destroy()
    assert report.ok, report.failures
    assert report.steps and {op for _, op in report.ran()} == {"delete"}
    assert lab.journal(mark, with_checks=True) == []
    assert members(lab) == before and lab.site.state()["settings"]["ha"] is True


def test_make_hostkeys_pins_every_server_through_the_bastion(lab):
    values = copy.deepcopy(lab.values)
    for node in values["nodes"]:
        node.pop("hostKey", None)
    values["haproxy"].pop("hostKey", None)
    values["ssh"]["bastion"].pop("hostKey", None)
    lab.stack.configure(values)
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "tools" / "hostkeys.py"),
                           "--stack", "lab", "--project", str(lab.stack.project),
                           "--identity", lab.info["privateKeyPath"], "--yes"],
                          env=lab.stack.env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SHA256:" in done.stdout and "pinned 5 host keys" in done.stdout
    import yaml
    config = yaml.safe_load(lab.stack.config_file.read_text())["config"]
    by_name = {n["name"]: n["hostKey"] for n in lab.info["nodes"]}
    pinned = {n["name"]: n["hostKey"] for n in config["elma365:nodes"]}
    assert pinned == {name: by_name[name] for name in pinned} and len(pinned) == 3
    assert config["elma365:haproxy"]["hostKey"] == lab.info["haproxy"]["hostKey"]
    assert config["elma365:ssh"]["bastion"]["hostKey"] == lab.info["haproxy"]["hostKey"]  # the bastion is that host
