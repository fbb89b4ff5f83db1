"""What each node reports it runs, and the site rules over it, run for real by bash on this machine
against stand-in `microk8s`, `snap` and `elma365ctl` commands: the installer may run only on
nodes[0], and only where no configured node runs ELMA365."""
from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from components.facts import microk8s, node
from components.facts.node import parse_facts, report
from components.render import departure, install, join
from components.render.preflight import parse_report, preflight_command
from components.site import parse_site
from tests.sites import SECRET_KEYS, example

MAIN = "192.168.1.51"

FAKE_MICROK8S = """#!/bin/bash
# microk8s as the real one answers: status (datastore members), kubectl get pods (ELMA365's workloads)
[ -n "${FAKE_DOWN:-}" ] && { echo "microk8s is not running. Use microk8s inspect for a deeper inspection."; exit 1; }
case "$1" in
  status) echo "microk8s is running"; echo "high-availability: no"
          echo "  datastore master nodes: ${FAKE_MASTERS:-127.0.0.1:19001}"
          echo "  datastore standby nodes: ${FAKE_STANDBY:-none}" ;;
  kubectl) [ "${FAKE_PODS:-0}" -gt 0 ] || { echo "No resources found in elma365 namespace." >&2; exit 0; }
           for i in $(seq "$FAKE_PODS"); do echo "main-$i   1/1   Running   0   1h"; done ;;
  *) exit 2 ;;
esac
"""
FAKE_SNAP = """#!/bin/bash
# snap as snapd answers: list (Notes say held while held), version, get system refresh.hold
case "$1" in
  list) echo "Name      Version   Rev   Tracking       Publisher   Notes"
        echo "microk8s  v1.28.15  7449  1.28/stable    canonical** classic${FAKE_HELD:+,held}" ;;
  version) printf 'snap    %s\\nsnapd   %s\\nseries  16\\n' "${FAKE_SNAPD:-2.63}" "${FAKE_SNAPD:-2.63}" ;;
  get) [ -n "${FAKE_SYSTEM_HOLD:-}" ] || { echo 'error: snap "core" has no "refresh.hold" configuration option' >&2; exit 1; }
       echo "$FAKE_SYSTEM_HOLD" ;;
  *) exit 2 ;;
esac
"""


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    for name, text in (("microk8s", FAKE_MICROK8S), ("snap", FAKE_SNAP), ("elma365ctl", "#!/bin/sh\nexit 0\n")):
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    return tmp_path


def preflight(node: int, tools: Path, *, adopt: bool = False, microk8s: bool = True, **fake: str):
    """Node `node` (0: the main node) of the example site: its facts and site check, as it reports them."""
    site = parse_site(example(adopt=adopt, preflight={"enabled": False}), SECRET_KEYS)
    env = {"PATH": f"{tools}:/usr/bin:/bin", **fake}
    if not microk8s:
        env["PATH"] = "/usr/bin:/bin"
    command = preflight_command(site.nodes[node].name, site.main, site.adopt, site.preflight, refresh=None,
                                sudo=site.ssh.needs_sudo)
    done = subprocess.run(["/bin/sh", "-c", command], capture_output=True,
                          text=True, timeout=30, env=env)
    site_check = next(r for r in parse_report(done.stdout) if r["check"] == "site")
    name = site.nodes[node].name
    return done, site_check, parse_facts(done.stdout)[name]


def test_a_bare_server_reports_no_microk8s_and_may_get_the_installer(tools):
    done, site, facts = preflight(0, tools, microk8s=False)
    assert done.returncode == 0, done.stderr
    assert site["status"] == "ok" and "the installer may run" in site["detail"]
    assert facts["elma365"] == "absent" and facts["microk8s"] == "absent" and facts["membership"] == "lone"


def test_elma365_installed_by_hand_on_the_main_node_is_refused_without_adopt(tools):
    done, site, facts = preflight(0, tools, FAKE_PODS="4")
    assert done.returncode == 1
    certificates = {k: facts.pop(k) for k in list(facts) if k.startswith("cert")}
    assert facts == {"marker": "none", "elma365ctl": "present", "microk8s": "1.28/stable",
                     "datastore": "127.0.0.1:19001", "membership": "lone", "workloads": "4", "elma365": "present",
                     "snapd": "2.63", "refreshes": "not held", "systemhold": "none",
                     "quorum": "none", "voters": "none", "dqlite": "none"}   # no dqlite backend on this machine
    # this machine keeps no MicroK8s certificates in /var/snap/microk8s/current/certs
    assert {k: v for k, v in certificates.items() if k != "certsread"} == {
        "certca": "absent", "certserver": "absent", "certproxy": "absent", "certsans": "absent"}
    assert site["status"] == "fail"
    assert "ELMA365 runs on elma365-1 (4 workloads in namespace elma365" in site["detail"]
    assert "the installer never runs over a live ELMA365" in site["detail"] and "elma365:adopt to true" in site["detail"]
    assert "preflight failed on elma365-1: site (" in done.stderr


def test_with_adopt_the_main_node_running_elma365_is_taken_over(tools):
    done, site, _ = preflight(0, tools, adopt=True, FAKE_PODS="4")
    assert done.returncode == 0, done.stderr
    assert site["status"] == "ok" and "elma365:adopt takes it over" in site["detail"]


def test_elma365_on_another_node_outside_the_main_nodes_cluster_is_refused_even_with_adopt(tools):
    for adopt in (False, True):
        done, site, _ = preflight(1, tools, adopt=adopt, FAKE_PODS="4")
        assert done.returncode == 1
        assert site["detail"].startswith("ELMA365 runs on elma365-2 (4 workloads")
        assert "outside the cluster of elma365-1" in site["detail"]
        assert "put it first in elma365:nodes" in site["detail"]


def test_a_member_of_the_main_nodes_cluster_passes_whether_a_voter_or_a_standby(tools):
    for masters, standby in ((f"{MAIN}:19001 192.168.1.52:19001 192.168.1.53:19001", "none"),
                             ("192.168.1.52:19001 192.168.1.53:19001 192.168.1.54:19001", f"{MAIN}:19001")):
        done, site, facts = preflight(1, tools, FAKE_PODS="4", FAKE_MASTERS=masters, FAKE_STANDBY=standby)
        assert done.returncode == 0, done.stderr
        assert site["status"] == "ok" and "a member of the cluster of elma365-1" in site["detail"]
        assert facts["membership"] == "member" and f"{MAIN}:19001" in facts["datastore"]


def test_a_member_of_another_cluster_is_refused(tools):
    done, site, _ = preflight(2, tools, FAKE_MASTERS="10.9.9.1:19001 10.9.9.2:19001")
    assert done.returncode == 1
    assert "elma365-3 is a member of another MicroK8s cluster (datastore 10.9.9.1:19001 10.9.9.2:19001)" in site["detail"]


def test_the_main_node_in_a_cluster_without_elma365_is_refused(tools):
    done, site, _ = preflight(0, tools, adopt=True, FAKE_MASTERS=f"{MAIN}:19001 192.168.1.52:19001")
    assert done.returncode == 1
    assert "is a member of a MicroK8s cluster" in site["detail"] and "runs no ELMA365" in site["detail"]


def test_a_microk8s_that_does_not_answer_cannot_be_told_and_is_refused(tools):
    for index in (0, 1):
        done, site, facts = preflight(index, tools, FAKE_DOWN="1")
        assert done.returncode == 1
        assert facts["elma365"] == "unknown" and "does not answer" in site["detail"]


def test_the_facts_of_every_node_read_as_one_report(tools):
    outputs = [preflight(n, tools, FAKE_PODS="2")[0].stdout for n in (0, 1)]
    lines = list(report(parse_facts("\n".join(outputs))))
    assert lines == [
        "elma365-1: ELMA365 present (2 workloads), MicroK8s 1.28/stable, datastore 127.0.0.1:19001, "
        "elma365ctl present, marked none, refreshes not held (snapd 2.63)",
        "elma365-2: ELMA365 present (2 workloads), MicroK8s 1.28/stable, datastore 127.0.0.1:19001, "
        "elma365ctl present, marked none, refreshes not held (snapd 2.63)"]


def test_every_reader_of_a_fact_reads_it_with_the_same_text():
    """The snap channel, the datastore's members and a node's place in Kubernetes are read one way
    (components/facts/node.py): by the preflight's facts, by the steps that check before they act,
    and by `make verify`, which reads the channel and the members with the preflight's own filters."""
    site = parse_site(example(), SECRET_KEYS)
    main, other = site.nodes[0], site.nodes[1]

    def script(command: str) -> str:   # the body of `[sudo -n ]bash -c '<script>'`
        return shlex.split(command)[-1]
    sudo, backups = site.ssh.needs_sudo, site.install.datastore_backups
    assert node.SNAP_CHANNEL in node.facts_script(main.name)
    assert node.datastore_members() in node.facts_script(main.name)
    assert node.SNAP_CHANNEL in script(install.microk8s_channel_command(main.name, None, sudo=sudo))
    prepare = join.prepare_command(other.name, main, site.ha.enabled, sudo=sudo)
    assert node.SNAP_CHANNEL in script(prepare)
    for step in (prepare, join.join_command(other.name, main, site.adopt, "urn", sudo=sudo)):
        assert node.lists_in_datastore(main) in script(step)
    assert node.lists_in_datastore(other) in script(departure.remove_node_command(other, main, backups, sudo=sudo))
    for step in (join.add_node_command(other, main, backups, sudo=sudo), departure.drain_command(other, main.name, backups, sudo=sudo),
                 departure.remove_node_command(other, main, backups, sudo=sudo)):
        assert node.in_kubernetes(other) in script(step)
    derived = {name: (source, read) for name, source, read in microk8s.NODE_FACTS}
    assert derived["channel"] == ("snap", node.CHANNEL_OF) and node.SNAP_CHANNEL.endswith(node.CHANNEL_OF)
    assert derived["datastore"] == ("status", node.datastore_members())


def refresh_hold(node: int, tools: Path, **fake: str):
    done, _, facts = preflight(node, tools, **fake)
    return done, next(r for r in parse_report(done.stdout) if r["check"] == "refresh-hold"), facts


def test_snapd_that_can_hold_one_snap_passes_and_a_held_microk8s_is_reported(tools):
    done, check, facts = refresh_hold(1, tools, FAKE_HELD="1")
    assert done.returncode == 0, done.stderr
    assert check["status"] == "ok" and "snapd 2.63 holds MicroK8s' refreshes" in check["detail"]
    assert facts["refreshes"] == "held"


def test_an_old_snapd_is_refused_saying_its_version_and_what_to_set_instead(tools):
    done, check, _ = refresh_hold(1, tools, FAKE_SNAPD="2.57.6")
    assert done.returncode == 1 and check["status"] == "fail"
    assert check["detail"].startswith("snapd 2.57.6 on elma365-2 is older than 2.58")
    assert "sudo snap set system refresh.hold=TIME" in check["detail"]
    # with every snap's refreshes held system-wide, it only warns (the hold ends on its date)
    done, check, facts = refresh_hold(1, tools, FAKE_SNAPD="2.57.6", FAKE_SYSTEM_HOLD="2027-01-15T00:00:00Z")
    assert done.returncode == 0 and check["status"] == "warn" and "2027-01-15T00:00:00Z" in check["detail"]
    assert facts["systemhold"] == "2027-01-15T00:00:00Z"
