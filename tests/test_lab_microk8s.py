"""MicroK8s on every node as the main node runs it, found wherever the server's PATH leaves it, and
its datastore backed up before the cluster's membership or HA mode changes. Real CLI, real SSH."""
from __future__ import annotations

import copy
from pathlib import Path

from lab import ssh_exec
from lab.harness import Lab
from tests.lab_support import needs_lab, printed, stopped_at

pytestmark = needs_lab


def on(lab: Lab, node: str, command: str) -> ssh_exec.Result:
    host = next(n for n in lab.info["nodes"] if n["name"] == node)
    conn = {"host": host["address"], "port": host["port"], "user": "root", "hostKey": host["hostKey"],
            "privateKey": Path(lab.info["privateKeyPath"]).read_text()}
    return ssh_exec.run(conn, command)


def backups(lab: Lab) -> list[str]:
    folder = Path(lab.info["labDir"]) / "nodes" / "elma365-1" / "var" / "lib" / "elma365-cluster" / "backups"
    return sorted(p.name for p in folder.glob("datastore-*.tar.gz")) if folder.exists() else []


def test_a_joining_node_with_another_microk8s_is_moved_to_the_main_nodes_channel(new_lab):
    lab = new_lab()
    assert on(lab, "elma365-3", "snap install microk8s --classic --channel=1.29/stable").exit_code == 0
    report = lab.up()
    assert report.ok, report.failures
    assert ("elma365-3", "snap refresh microk8s --channel=1.28/stable") in [(e.node, e.action) for e in lab.journal()]
    versions = on(lab, "elma365-1", "microk8s kubectl get nodes").stdout
    assert versions.count("v1.28.15") == 3 and "v1.29" not in versions


def test_a_pinned_channel_other_than_the_main_nodes_stops_before_any_join(new_lab):
    lab = new_lab()
    values = copy.deepcopy(lab.values)
    values["install"]["microk8sChannel"] = "1.29/stable"
    stopped_at(lab.up(values), "elma365-1-microk8s-channel",
               "MicroK8s on elma365-1 tracks 1.28/stable, but elma365:install.microk8sChannel pins 1.29/stable")
    assert not [e for e in lab.journal() if e.action in ("add-node", "join")]


def test_every_script_finds_its_tools_when_the_session_path_lacks_them(new_lab):
    # microk8s, snap and elma365ctl live in /usr/local/bin on the lab's hosts (/snap/bin on a real
    # server), haproxy in /usr/sbin: a session PATH of /usr/bin:/bin has none of them
    lab = new_lab(session_path="/usr/bin:/bin")
    assert "/usr/local/bin" not in on(lab, "elma365-2", "echo $PATH").stdout
    report = lab.up()
    assert report.ok, report.failures
    assert sorted(lab.site.state()["members"]) == ["elma365-1", "elma365-2", "elma365-3"]


def test_the_datastore_is_backed_up_before_joins_and_ha_changes_keeping_the_last_n(new_lab):
    lab = new_lab()
    values = copy.deepcopy(lab.values)
    values["install"]["datastoreBackups"] = 2
    report = lab.up(values)
    assert report.ok, report.failures
    # one before each of the two joins (in add-node's step, before it makes the join token), and
    # one before the reconfigure that switches HA on
    seen = sorted((e for e in lab.journal(with_checks=True)
                   if e.action.startswith("dbctl backup") or e.action in ("add-node", "reconfigure")),
                  key=lambda e: e.end)
    assert [("backup" if e.action.startswith("dbctl backup") else e.action) for e in seen] == [
        "backup", "add-node", "backup", "add-node", "backup", "reconfigure"], [(e.node, e.action) for e in seen]
    assert {e.node for e in seen} == {"elma365-1"}
    # each one done before what it protects: the token made (bash execs a script's last command, so
    # the journal's start of `elma365ctl add-node` is its script's own), the reconfigure started
    taken, made = seen[::2], sorted(t["created"] for t in lab.site.state()["tokens"].values())
    assert len(made) == 2
    assert taken[0].end <= made[0] <= taken[1].start and taken[1].end <= made[1] <= taken[2].start
    assert taken[2].end <= seen[-1].start
    assert len(backups(lab)) == 2   # the last 2 kept
    assert "datastore backed up to /var/lib/elma365-cluster/backups/datastore-" in printed(report)


def test_without_dbctl_the_backup_is_skipped_with_a_warning(new_lab):
    lab = new_lab(faults={"no_dbctl": True})
    report = lab.up()
    assert report.ok, report.failures
    # (add-node's output is a join token, never logged; the reconfigure's warnings are)
    assert "WARNING: this MicroK8s has no 'microk8s dbctl': no datastore backup before the settings (HA mode) " \
           "change" in printed(report)
    assert backups(lab) == []
