"""A node's lifecycle and the load balancer's, when things are not tidy: a dead node, a node whose
MicroK8s is stopped, two nodes out at once, HAProxy taken off its host. Real CLI, real SSH.

Each test gets a lab of its own (the lab's addresses are fixed, so one lab at a time)."""
from __future__ import annotations

import copy
from pathlib import Path


from tests.lab_support import needs_lab, refused, stopped_at
from tests.test_lab_day2 import calls, members

pytestmark = needs_lab


def test_a_dead_node_is_removed_on_the_main_node_without_ssh_to_it(new_lab):
    lab = new_lab(nodes=4, all_nodes=True)
    assert lab.up().ok
    lab.site.stop_node("elma365-4")  # the server is gone: no SSH
    values = copy.deepcopy(lab.values)
    values["nodes"][3]["decommission"] = "force"
    mark = lab.mark()
    report = lab.up(values)
    assert report.ok, report.failures
    assert calls(lab, mark) == [("elma365-1", "remove-node elma365-4")]
    assert "elma365-4" not in members(lab)
    # deleting the entry later needs no SSH to it and runs nothing
    values["nodes"] = values["nodes"][:3]
    mark = lab.mark()
    report = lab.up(values)
    assert report.ok, report.failures
    assert lab.journal(mark, with_checks=True) == []


def test_a_deleted_node_whose_microk8s_is_stopped_fails_loudly_and_is_not_forgotten(new_lab):
    lab = new_lab(nodes=4, all_nodes=True)
    assert lab.up().ok
    node4 = next(n for n in lab.info["nodes"] if n["name"] == "elma365-4")
    from lab import ssh_exec
    conn = {"host": node4["address"], "port": node4["port"], "user": "root", "hostKey": node4["hostKey"],
            "privateKey": Path(lab.info["privateKeyPath"]).read_text()}
    assert ssh_exec.run(conn, "microk8s stop").exit_code == 0
    values = copy.deepcopy(lab.values)
    values["nodes"] = values["nodes"][:3]
    stopped_at(lab.up(values), "elma365-4-leave", "MicroK8s is not running on elma365-4")
    assert "elma365-4" in members(lab)
    assert ("elma365-1", "remove-node elma365-4") not in calls(lab, 0)
    # started again, the next run finishes the departure (the record still names elma365-4)
    assert ssh_exec.run(conn, "microk8s start").exit_code == 0
    second = lab.up(values)
    assert second.ok, second.failures
    assert "elma365-4" not in members(lab)


def test_a_node_that_did_not_really_leave_is_not_removed_and_the_run_fails_naming_it(new_lab):
    lab = new_lab(nodes=4, all_nodes=True, faults={"leave_noop": "elma365-4"})
    assert lab.up().ok
    values = copy.deepcopy(lab.values)
    values["nodes"] = values["nodes"][:3]
    stopped_at(lab.up(values), "elma365-4-remove-node", "elma365-4 has not left the cluster")
    assert "elma365-4" in members(lab)
    assert not [e for e in lab.journal() if e.action.startswith("remove-node")]


def test_a_node_that_cannot_be_drained_fails_clearly_and_does_not_leave(new_lab):
    lab = new_lab(nodes=4, all_nodes=True, faults={"drain_stuck": "elma365-4"})
    assert lab.up().ok
    values = copy.deepcopy(lab.values)
    values["nodes"][3]["decommission"] = True
    stopped_at(lab.up(values), "elma365-4-drain", "elma365-4 could not be drained within 600 s")
    assert "elma365-4" in members(lab)
    assert not [e for e in lab.journal() if e.action in ("leave", "remove-node elma365-4")]


def test_two_nodes_out_in_one_run_is_refused_before_anything_runs(new_lab):
    lab = new_lab(nodes=5, all_nodes=True)
    assert lab.up().ok
    values = copy.deepcopy(lab.values)
    values["nodes"][3]["decommission"] = True
    values["nodes"] = values["nodes"][:4]   # elma365-5's entry deleted in the same run
    mark = lab.mark()
    report = lab.up(values)
    assert "takes 2 nodes out of the cluster in one run (elma365-4, elma365-5)" in refused(report), report.failures
    assert lab.journal(mark, with_checks=True) == []


def test_removing_haproxy_puts_the_hosts_own_config_back(new_lab):
    # the program requires HAProxy in front of 2 or more nodes: a one-node site may do without it
    lab = new_lab(nodes=1, all_nodes=True)
    lab.values["ha"] = {"enabled": False}
    live = Path(lab.info["labDir"]) / "nodes" / "haproxy" / "etc" / "haproxy" / "haproxy.cfg"
    address = lab.info["haproxy"]["address"]
    own = (f"# the host's own config, from before elma365-cluster\nglobal\n    maxconn 100\n\ndefaults\n"
           f"    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\n"
           f"listen other_site\n    bind {address}:8181\n    http-request return status 200 content-type text/plain string ok\n")
    live.parent.mkdir(parents=True, exist_ok=True)
    live.write_text(own)
    assert lab.up().ok
    assert "managed by elma365-cluster" in live.read_text()
    values = copy.deepcopy(lab.values)
    del values["haproxy"]
    report = lab.up(values)
    assert report.ok, report.failures
    assert ("haproxy-removal", "create") in report.ran()
    assert live.read_text() == own
    disabled = live.with_name("haproxy.cfg.disabled-by-elma365-cluster")
    assert "managed by elma365-cluster" in disabled.read_text()
    again = lab.up(values)  # nothing more to take off
    assert again.ok and [op for _, op in again.ran()] == ["delete"]
